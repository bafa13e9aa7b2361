# Unit tests of the client module: CLI rendering.  (Address parsing is
# lib/wire/addr.c: test_wire_addr in wire.cmake.)
ps_unit_test(test_client_output
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_output.c
          ${PROJECT_SOURCE_DIR}/client/cli_output.c
  LIBS ps_wire PkgConfig::JANSSON PkgConfig::UTF8PROC)
target_include_directories(test_client_output PRIVATE ${PROJECT_SOURCE_DIR}/client)
# Notifications in libpolysearch-client: the entry decoder (lib/wire) and
# the client's queue against a scripted server on a Unix socket (a
# notification interleaved with a call's reply is kept, not lost).
ps_unit_test(test_client_notify
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_notify.c
  LIBS polysearch-client ps_wire PkgConfig::MSGPACK Threads::Threads)
# psc_auth (auth {token}) against a scripted server: the request, each
# role, refusals, an answer that is no role, bad arguments.
ps_unit_test(test_client_auth
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_auth.c
  LIBS polysearch-client PkgConfig::MSGPACK)
