# End-to-end check of the benchmark tools (bench/tests/loadgen_e2e.sh):
# ps-loadgen against a real polysearchd on the seed corpus and
# ps-inproc-bench through the C API.  Functional only, never timed.
add_test(NAME e2e_bench_loadgen
         COMMAND bash ${PROJECT_SOURCE_DIR}/bench/tests/loadgen_e2e.sh)
set_tests_properties(e2e_bench_loadgen PROPERTIES LABELS e2e TIMEOUT 120
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_LOADGEN=$<TARGET_FILE:ps-loadgen>;PS_INPROC=$<TARGET_FILE:ps-inproc-bench>;PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_PYTHON=${PS_PYTHON}")

# bench/alerts_bench.sh's argument checks and its driver's self-test
# (bench/tests/alerts_bench_args.sh): nothing is started, never timed.
add_test(NAME e2e_bench_alerts_args
         COMMAND bash ${PROJECT_SOURCE_DIR}/bench/tests/alerts_bench_args.sh)
set_tests_properties(e2e_bench_alerts_args PROPERTIES LABELS e2e TIMEOUT 60
  SKIP_RETURN_CODE 77)

# bench/http_bench.sh's argument checks (bench/tests/http_bench_args.sh):
# nothing is started, never timed.
add_test(NAME e2e_bench_http_args
         COMMAND bash ${PROJECT_SOURCE_DIR}/bench/tests/http_bench_args.sh)
set_tests_properties(e2e_bench_http_args PROPERTIES LABELS e2e TIMEOUT 60
  SKIP_RETURN_CODE 77)
