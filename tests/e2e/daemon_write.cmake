# End-to-end tests of polysearchd add/delete (writer thread, group commit,
# kill -9 durability, lock policy, updates under load).  Need the indexer
# for the fixture index; skip (77) without it.
if(TARGET polysearch-index)
  set(_psw_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_psw_indexer "")
endif()
set(_psw_env "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_psw_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
foreach(_c basic concurrency kill9 lock enospc)
  add_test(NAME e2e_daemon_write_${_c}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_write.py ${_c})
  set_tests_properties(e2e_daemon_write_${_c} PROPERTIES LABELS e2e TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")
endforeach()
# RELIABILITY.md "Updates under load": a short run in the e2e label and the
# one-minute version in the slow label.
add_test(NAME e2e_daemon_write_load
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_write.py load 15)
set_tests_properties(e2e_daemon_write_load PROPERTIES LABELS e2e TIMEOUT 120
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")
add_test(NAME slow_daemon_write_load_60s
         COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_write.py load 60)
set_tests_properties(slow_daemon_write_load_60s PROPERTIES LABELS slow TIMEOUT 300
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")

# The write-ahead log (docs/WAL.md): replay after kill -9, torn and corrupt
# tails, read-your-writes across the delta and the database, the lock, and
# --no-wal.
add_test(NAME e2e_daemon_wal COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_wal.py)
set_tests_properties(e2e_daemon_wal PROPERTIES LABELS e2e TIMEOUT 300
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")

# Searches over the database and the log's in-memory delta together
# (Xapian 1.4.22 crashed pruning an in-memory database's postlists).
add_test(NAME e2e_daemon_delta_search COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_delta_search.py)
set_tests_properties(e2e_daemon_delta_search PROPERTIES LABELS e2e TIMEOUT 300
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")

# Alerts (subscribe): notifications of new matching documents, with the
# log and --no-wal, 1,000 subscriptions, a slow subscriber, hostile
# arguments, pynvim's session.
foreach(_m wal nowal many slow hostile stock)
  add_test(NAME e2e_daemon_alerts_${_m}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_alerts.py ${_m})
  set_tests_properties(e2e_daemon_alerts_${_m} PROPERTIES LABELS e2e TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")
endforeach()

# Durable subscriptions and resume_from: across a connection close (with
# concurrent writers), kill -9 with changes only in the log, --no-wal across
# a restart, --resume-max (lagged), hostile arguments and a corrupt store,
# a local polysearch-index run picked up (log mode and --no-wal), the
# token that owns a durable subscription (--auth-token-file).
foreach(_m resume nowal restart lagged hostile owner indexer indexer_nowal)
  add_test(NAME e2e_daemon_durable_${_m}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_durable.py ${_m})
  set_tests_properties(e2e_daemon_durable_${_m} PROPERTIES LABELS e2e TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_psw_env}")
endforeach()
