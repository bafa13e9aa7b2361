# A failed commit (EFBIG) leaves nothing behind: cancel + close, close
# alone, and reuse of the handle after cancel (issue 7, soak/fault round).
ps_unit_test(test_commit_discard SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_commit_discard.c LIBS ps_core)
