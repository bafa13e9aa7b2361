# Unit tests of the client module: address parsing and CLI rendering.
ps_unit_test(test_client_addr
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_addr.c
          ${PROJECT_SOURCE_DIR}/client/addr.c)
target_include_directories(test_client_addr PRIVATE ${PROJECT_SOURCE_DIR}/client)

ps_unit_test(test_client_output
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_client_output.c
          ${PROJECT_SOURCE_DIR}/client/cli_output.c
  LIBS ps_wire PkgConfig::JANSSON PkgConfig::UTF8PROC)
target_include_directories(test_client_output PRIVATE ${PROJECT_SOURCE_DIR}/client)
