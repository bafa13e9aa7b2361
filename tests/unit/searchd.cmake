# Unit tests of polysearchd's own modules (config, stats, method table).
ps_unit_test(test_searchd SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_searchd.c
             LIBS searchd_common)
# The alert thread (searchd/alerts.c): order, a full queue, removal.
ps_unit_test(test_alerts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_alerts.c
             LIBS searchd_common)
# Access control: the token file (searchd/auth.c), token matching, the
# role table and the exposure check (searchd/access.c).
ps_unit_test(test_auth SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_auth.c
             LIBS searchd_common)
# The store of durable subscriptions (searchd/substore.c): round trip,
# bounds, a failed write, damaged files refused whole.
ps_unit_test(test_substore SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_substore.c
             LIBS searchd_common)
