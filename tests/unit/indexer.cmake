# Unit tests of the indexer's input modules (no Xapian needed).
ps_unit_test(test_indexer_walk SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_indexer_walk.c
             LIBS ps_indexer_input)
ps_unit_test(test_indexer_jsonl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_indexer_jsonl.c
             LIBS ps_indexer_input)
# The terminal progress line (indexer/progress.c: pure C, over ps_wire's
# logger).
ps_unit_test(test_indexer_progress
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_indexer_progress.c
                     ${PROJECT_SOURCE_DIR}/indexer/progress.c
             LIBS ps_indexer_input Threads::Threads)
# The synonym file of polysearch-index --synonyms (indexer/synonyms.c;
# ps_core for ps_synonym_normalize).
ps_unit_test(test_indexer_synonyms
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_indexer_synonyms.c
                     ${PROJECT_SOURCE_DIR}/indexer/synonyms.c
             LIBS ps_indexer_input ps_core)
