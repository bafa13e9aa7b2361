# Reliability part 2 (tests/fault/, tests/e2e/): a real full disk on a
# small tmpfs swept over a whole indexing run, the daemon writer under
# strace fault injection (kill -9 at each fdatasync/rename, ENOSPC on
# pwrite64/fdatasync), and the 64-connection load/soak with ps-loadgen.
# Skip (77) without strace/ptrace, xapian-tools, unshare -rm or the
# load generator.
add_test(NAME fault_tmpfs_enospc_sweep
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fault/tmpfs_enospc_sweep.sh
                 $<TARGET_FILE:polysearch-index> $<TARGET_FILE:ps_fault_check>)
set_tests_properties(fault_tmpfs_enospc_sweep PROPERTIES LABELS fault TIMEOUT 300
                     SKIP_RETURN_CODE 77)
add_test(NAME fault_tmpfs_enospc_sweep_full
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fault/tmpfs_enospc_sweep.sh
                 $<TARGET_FILE:polysearch-index> $<TARGET_FILE:ps_fault_check>)
set_tests_properties(fault_tmpfs_enospc_sweep_full PROPERTIES LABELS "fault;slow"
                     TIMEOUT 1200 SKIP_RETURN_CODE 77 ENVIRONMENT "PS_FAULT_FULL=1")
# The daemon writer under strace: kill -9 at each fdatasync/rename, ENOSPC
# on pwrite64/fdatasync, kill -9 at each fsync/rename of the store of
# durable subscriptions (python3-msgpack via PS_PYTHON).
if(TARGET polysearch-index)
  set(_pf_indexer $<TARGET_FILE:polysearch-index>)
else()
  set(_pf_indexer "")
endif()
set(_pf_env "PS_DAEMON=$<TARGET_FILE:polysearchd>;PS_INDEXER=${_pf_indexer};PS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PS_SANITIZE=${POLYSEARCH_SANITIZE}")
foreach(_m kill enospc store)
  add_test(NAME fault_daemon_${_m}_sweep
           COMMAND ${PS_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fault/daemon_fault_sweep.py ${_m})
  set_tests_properties(fault_daemon_${_m}_sweep PROPERTIES LABELS fault TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_pf_env}")
  add_test(NAME fault_daemon_${_m}_sweep_full
           COMMAND ${PS_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fault/daemon_fault_sweep.py ${_m} --full)
  set_tests_properties(fault_daemon_${_m}_sweep_full PROPERTIES LABELS "fault;slow" TIMEOUT 1800
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_pf_env}")
endforeach()
# Load and soak with the bench load generator (64 connections while adding
# every 100 ms): 15 s in the default suite, 60 s in `slow`; slow-loris with
# 300 connections and a connection flood under nofile 256.
# (bench/ is added after tests/: the target is resolved at generation time.)
set(_pf_soak_env "${_pf_env};PS_LOADGEN=$<TARGET_FILE:ps-loadgen>")
  add_test(NAME e2e_daemon_soak
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_soak.py soak 15)
  set_tests_properties(e2e_daemon_soak PROPERTIES LABELS e2e TIMEOUT 180
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_pf_soak_env}")
  add_test(NAME slow_daemon_soak_60s
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_soak.py soak 60)
  set_tests_properties(slow_daemon_soak_60s PROPERTIES LABELS slow TIMEOUT 300
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_pf_soak_env}")
foreach(_c slowloris flood)
  add_test(NAME e2e_daemon_${_c}
           COMMAND ${PS_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/daemon_soak.py ${_c})
  set_tests_properties(e2e_daemon_${_c} PROPERTIES LABELS e2e TIMEOUT 120
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${_pf_env}")
endforeach()
