# A database whose spelling table holds a fragment list Xapian 1.4.22 cannot
# read back, made with python3-xapian (tests/RELIABILITY.md, round 4):
# polysearch-index --query and polysearchd still answer its searches, only
# the suggestion is lost.  Skips (77) without python3-xapian, or when this
# Xapian writes a readable list.
if(TARGET polysearch-index AND TARGET polysearchd)
  add_test(NAME e2e_spelling_unreadable
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/spelling_unreadable.py)
  set_tests_properties(e2e_spelling_unreadable PROPERTIES LABELS e2e TIMEOUT 120
    SKIP_RETURN_CODE 77
    ENVIRONMENT "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
endif()
