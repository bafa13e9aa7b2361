# Unit tests of polysearchd's job queue and done list (searchd/queue.c).
ps_unit_test(test_queue SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_queue.c
             LIBS searchd_common)
