# Unit tests of the MessagePack-RPC code of lib/wire/: frame scanner
# (scan.c), envelope decoder and named arguments (decode.c), result/document
# codec (pack.c, unpack.c).
ps_unit_test(test_rpc_scan SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rpc_scan.c LIBS ps_wire)
ps_unit_test(test_rpc_decode SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rpc_decode.c LIBS ps_wire)
ps_unit_test(test_rpc_codec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rpc_codec.c LIBS ps_wire)
