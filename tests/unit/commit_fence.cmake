# A commit whose fdatasync fails (seccomp: ENOSPC) leaves the database sound
# and at its last commit: lib/core/commit_fence.c (RELIABILITY.md, round 4).
ps_unit_test(test_commit_fence SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_commit_fence.c LIBS ps_core)
set_tests_properties(test_commit_fence PROPERTIES LABELS "unit;fault")
