# Unit tests of the two-step write API (ps_doc_prepare on any thread,
# ps_db_put_prepared on the owner thread), including 4 preparing threads.
ps_unit_test(test_core_prepare SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_prepare.c LIBS ps_core)
