# The in-memory delta of the write-ahead log (lib/core/delta.cc): put,
# delete, publish, discard and checkpoint against readers attached to it
# (search, get, count, ids, language counts), a failed checkpoint (EFBIG
# in a child), replay at start-up, and four threads (writer, checkpointer,
# two readers).
ps_unit_test(test_core_delta SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_delta.c LIBS ps_core)
