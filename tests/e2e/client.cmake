# End-to-end tests of the client module: the polysearch CLI and the Python
# client against a real polysearchd (index built by polysearch-index from
# corpus/), and the CLI against a scripted server.  cli_auth.py: the CLI and
# polysearch-index --server sending tokens to a daemon with
# --auth-token-file.  Skip (77) when a
# program they need is not built.
if(TARGET polysearch-index)
  set(_psc_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_psc_indexer "")
endif()
if(TARGET polysearchd)
  set(_psc_daemon $<TARGET_FILE:polysearchd>)
else()
  set(_psc_daemon "")
endif()
set(_psc_env "PS_CLI=$<TARGET_FILE:polysearch>;PS_DAEMON=${_psc_daemon};PS_INDEXER=${_psc_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_BUILD_DIR=${PROJECT_BINARY_DIR}")
foreach(_t search python_client fake_server install auth)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/cli_${_t}.py)
    add_test(NAME e2e_cli_${_t}
             COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/cli_${_t}.py)
    set_tests_properties(e2e_cli_${_t} PROPERTIES LABELS e2e TIMEOUT 180
                         SKIP_RETURN_CODE 77 ENVIRONMENT "${_psc_env}")
  endif()
endforeach()
# polysearch watch, the Python client's subscriptions, docs/examples.
foreach(_m print lagged restart resume usage python)
  add_test(NAME e2e_cli_watch_${_m}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/cli_watch.py ${_m})
  set_tests_properties(e2e_cli_watch_${_m} PROPERTIES LABELS e2e TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_psc_env}")
endforeach()
# Synonyms across languages through the indexer, the daemon (RPC, HTTP,
# live add), the CLI and the Python client (tests/e2e/synonyms.py).
add_test(NAME e2e_synonyms COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/synonyms.py)
set_tests_properties(e2e_synonyms PROPERTIES LABELS e2e TIMEOUT 180
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${_psc_env}")
