# End-to-end tests of polysearch-index (bash, each in its own temp dir).
foreach(_t basic query jsonl lock hostile cli sample enospc kill9)
  add_test(NAME indexer_${_t}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/indexer_${_t}.sh
                   $<TARGET_FILE:polysearch-index> ${PROJECT_SOURCE_DIR})
  set_tests_properties(indexer_${_t} PROPERTIES LABELS e2e TIMEOUT 180
    ENVIRONMENT "PS_SHARED_DIR=${PROJECT_SOURCE_DIR}/../shared")
endforeach()
set_tests_properties(indexer_sample indexer_enospc PROPERTIES SKIP_RETURN_CODE 77)

# The progress line on a terminal (a pseudo-terminal from Python's pty):
# phase, docs/s, percent, ETA; log lines above it; commits with --verbose.
add_test(NAME indexer_progress
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/indexer_progress.py)
set_tests_properties(indexer_progress PROPERTIES LABELS e2e TIMEOUT 300
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_SHARED_DIR=${PROJECT_SOURCE_DIR}/../shared")

# --parallel-build: the same database and the same answers as a serial
# build of the sample corpus (python3-xapian, python3-msgpack, polysearchd).
add_test(NAME indexer_parallel
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/indexer_parallel.py)
set_tests_properties(indexer_parallel PROPERTIES LABELS e2e TIMEOUT 600
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SHARED_DIR=${PROJECT_SOURCE_DIR}/../shared")
