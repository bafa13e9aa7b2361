# Unit tests of polysearchd's own modules (config, stats, method table).
ps_unit_test(test_searchd SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_searchd.c
             LIBS searchd_common)
