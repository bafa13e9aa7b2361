# End-to-end tests of shards, remote shards (xapian-tcpsrv) and replication
# (xapian-replicate): tests/e2e/shards.py, docs/SCALING.md.  Skip (77) when
# xapian-tools or the indexer is missing.
if(TARGET polysearch-index AND TARGET polysearchd)
  set(_pss_env "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=$<TARGET_FILE:polysearch-index>;PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
  foreach(_c compare failover write remote_write replication)
    add_test(NAME e2e_shards_${_c}
             COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/shards.py ${_c})
    set_tests_properties(e2e_shards_${_c} PROPERTIES LABELS e2e TIMEOUT 300
                         SKIP_RETURN_CODE 77 ENVIRONMENT "${_pss_env}")
  endforeach()
endif()
# The write-ahead log over shard sets (tests/e2e/shards_wal.py): a local
# set and 3 remote shards, kill -9, a write shard down at checkpoint time.
if(TARGET polysearch-index AND TARGET polysearchd)
  foreach(_c local remote)
    add_test(NAME e2e_shards_wal_${_c}
             COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/shards_wal.py ${_c})
    set_tests_properties(e2e_shards_wal_${_c} PROPERTIES LABELS e2e TIMEOUT 300
                         SKIP_RETURN_CODE 77 ENVIRONMENT "${_pss_env}")
  endforeach()
endif()
