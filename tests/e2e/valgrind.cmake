# valgrind memcheck over polysearch-index (corpus + hostile inputs), the
# polysearch CLI and a polysearchd session (tests/valgrind/run.sh; about
# 15 s; in the default suite).  Labels: valgrind;nosan (CI excludes nosan from the
# sanitizer build; run.sh also skips, exit 77, when the binaries are
# sanitized).
add_test(NAME valgrind_memcheck
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/valgrind/run.sh
                 $<TARGET_FILE:polysearch-index> $<TARGET_FILE:polysearch>
                 $<TARGET_FILE:polysearchd> ${PROJECT_SOURCE_DIR})
set_tests_properties(valgrind_memcheck PROPERTIES LABELS "valgrind;nosan"
                     TIMEOUT 600 SKIP_RETURN_CODE 77)
