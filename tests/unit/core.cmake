# Unit tests of the core C API over Xapian (lib/core/*.cc, docfields.c,
# snippet.c) on temporary databases.
ps_unit_test(test_core_db SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_db.c LIBS ps_core)
ps_unit_test(test_core_search SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_search.c LIBS ps_core)
# Bulk builds (lib/core/bulk.cc): parts written by threads, merged and
# switched in; the same database as a serial build.
ps_unit_test(test_core_bulk SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_bulk.c
             LIBS ps_core Threads::Threads)
ps_unit_test(test_core_match SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_match.c LIBS ps_core)
# Synonyms (lib/core/synonyms.cc): the table, the query expansion, the
# members each hit matched through.
ps_unit_test(test_core_synonyms SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_synonyms.c LIBS ps_core)
