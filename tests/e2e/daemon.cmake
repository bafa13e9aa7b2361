# End-to-end tests of polysearchd (python3 + python3-msgpack via PS_PYTHON).
# The fixture index is built by the real indexer; without it they skip (77).
if(TARGET polysearch-index)
  set(_ps_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_ps_indexer "")
endif()
foreach(_t methods pipeline hostile limits lifecycle create auth)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/daemon_${_t}.py)
    add_test(NAME e2e_daemon_${_t}
             COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_${_t}.py)
    set_tests_properties(e2e_daemon_${_t} PROPERTIES LABELS e2e TIMEOUT 300
      SKIP_RETURN_CODE 77
      ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
  endif()
endforeach()

# Stock third-party MessagePack-RPC clients (pynvim, npm msgpack5rpc).
add_test(NAME e2e_stock_clients
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/stock_clients.py)
set_tests_properties(e2e_stock_clients PROPERTIES LABELS e2e TIMEOUT 120
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")

# Error codes in --help and docs/PROTOCOL.md = the codes the daemon sends.
add_test(NAME e2e_error_codes
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/error_codes.py)
set_tests_properties(e2e_error_codes PROPERTIES LABELS e2e TIMEOUT 60
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
