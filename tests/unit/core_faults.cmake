# Forced Xapian exceptions and resource failures through the C API
# (lock held by another process, stale readers, version/create errors,
# interrupted creation, query errors, EMFILE, EFBIG, bad_alloc sweep).
ps_unit_test(test_core_faults SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_faults.c LIBS ps_core)
