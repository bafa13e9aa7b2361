# End-to-end tests of polysearch-index --watch and --server (live
# reindexing, issue 6).
add_test(NAME indexer_watch
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/indexer_watch.sh
                 $<TARGET_FILE:polysearch-index> ${PROJECT_SOURCE_DIR})
set_tests_properties(indexer_watch PROPERTIES LABELS e2e TIMEOUT 60)

# --server against a scripted MessagePack-RPC server, and against the real
# daemon (skips, 77, while polysearchd answers add with unknown_method).
foreach(_t remote remote_daemon)
  add_test(NAME indexer_${_t}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/indexer_${_t}.py)
  set_tests_properties(indexer_${_t} PROPERTIES LABELS e2e TIMEOUT 60
    SKIP_RETURN_CODE 77
    ENVIRONMENT "PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endforeach()
