# Browser tests of the search page (GET /, web/): headless Chromium driven
# by Selenium (Debian: chromium, chromium-driver, python3-selenium, from
# scripts/install-deps) against the real daemon on 127.0.0.1:0.  Label
# `browser`; one browser at a time (RESOURCE_LOCK).  Screenshots go to
# build/tests/browser/CASE/.
if(TARGET polysearch-index)
  set(_ps_browser_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_ps_browser_indexer "")
endif()
foreach(_case search escape narrow keyboard token)
  add_test(NAME browser_${_case}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/page.py ${_case})
  set_tests_properties(browser_${_case} PROPERTIES LABELS browser TIMEOUT 240
    SKIP_RETURN_CODE 77 RESOURCE_LOCK browser
    ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_ps_browser_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SCRATCH=${CMAKE_CURRENT_BINARY_DIR}/browser/${_case};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
endforeach()
