# End-to-end tests of polysearch-index (bash, each in its own temp dir).
foreach(_t basic query jsonl lock hostile cli sample enospc kill9)
  add_test(NAME indexer_${_t}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/indexer_${_t}.sh
                   $<TARGET_FILE:polysearch-index> ${PROJECT_SOURCE_DIR})
  set_tests_properties(indexer_${_t} PROPERTIES LABELS e2e TIMEOUT 180
    ENVIRONMENT "PS_SHARED_DIR=${PROJECT_SOURCE_DIR}/../shared")
endforeach()
set_tests_properties(indexer_sample indexer_enospc PROPERTIES SKIP_RETURN_CODE 77)
