# Unit tests of the core C API over Xapian (lib/core/*.cc, docfields.c,
# snippet.c) on temporary databases.
ps_unit_test(test_core_db SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_db.c LIBS ps_core)
ps_unit_test(test_core_search SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_search.c LIBS ps_core)
