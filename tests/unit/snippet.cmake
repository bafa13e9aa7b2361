# Unit tests of the snippet highlighter (lib/analysis/snippet.c) and of the
# allocation-free folding helper it uses (ps_fold_into, lib/analysis/fold.c).
ps_unit_test(test_snippet SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_snippet.c
             LIBS ps_core PkgConfig::UTF8PROC Threads::Threads)
ps_unit_test(test_fold_into SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_fold_into.c
             LIBS ps_core PkgConfig::UTF8PROC)
