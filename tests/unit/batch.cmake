# Unit tests of the add batcher (lib/wire/batch.c).
ps_unit_test(test_batch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_batch.c LIBS ps_wire)
