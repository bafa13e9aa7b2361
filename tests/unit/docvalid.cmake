# Unit tests of the document rules (lib/wire/docvalid.c).
ps_unit_test(test_docvalid SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_docvalid.c LIBS ps_wire)
