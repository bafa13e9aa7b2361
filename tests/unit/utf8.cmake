# Unit tests of lib/wire/utf8.c: validation, decoding, repair and cutting
# of UTF-8 (tables, and every 1- to 3-byte input against an independent
# definition).
ps_unit_test(test_utf8 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_utf8.c LIBS ps_wire)
