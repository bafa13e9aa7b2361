# Unit tests of lib/wire/ outside MessagePack-RPC (rpc.cmake):
# utf8.c (validation, decoding, repair and cutting of UTF-8: tables, and
# every 1- to 3-byte input against an independent definition) and addr.c
# (addresses under the client's and the daemon's rules).
ps_unit_test(test_utf8 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_utf8.c LIBS ps_wire)
ps_unit_test(test_wire_addr SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire_addr.c LIBS ps_wire)
# PSC_DEFAULT_PORT (polysearch-client.h) must equal PS_ADDR_DEFAULT_PORT.
target_include_directories(test_wire_addr PRIVATE ${PROJECT_SOURCE_DIR}/client)
# tokenfile.c: the access token of polysearch and polysearch-index --server
# (--token-file FILE, $POLYSEARCH_TOKEN): file rules, trimming, checks.
ps_unit_test(test_tokenfile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tokenfile.c LIBS ps_wire)
