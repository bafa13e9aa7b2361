# End-to-end test of the HTTP/JSON API (polysearchd --http): curl and
# Python's http.client against the real daemon on 127.0.0.1:0, with and
# without the write-ahead log; docs/openapi.yaml checked against what is
# served (python3-yaml).
if(TARGET polysearch-index)
  set(_ps_http_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_ps_http_indexer "")
endif()
add_test(NAME e2e_http_api
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/http_api.py)
set_tests_properties(e2e_http_api PROPERTIES LABELS e2e TIMEOUT 300
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_http_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")

# GET /watch (Server-Sent Events of new matches): Python over a raw socket
# and curl -N against the real daemon.
add_test(NAME e2e_http_watch
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/http_watch.py)
set_tests_properties(e2e_http_watch PROPERTIES LABELS e2e TIMEOUT 180
  SKIP_RETURN_CODE 77
  ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_http_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
