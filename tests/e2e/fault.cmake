# Fault-injection tests (tests/fault/): kill -9 and ENOSPC injected with
# strace into polysearch-index at each fdatasync / rename / pwrite64,
# checked with ps_fault_check (a small C program over the C API) and
# xapian-check.  Label `fault`; the full sweeps also carry `slow`.  Skip
# (77) without strace, ptrace permission or xapian-tools.
add_executable(ps_fault_check ${PROJECT_SOURCE_DIR}/tests/fault/ps_fault_check.c)
target_link_libraries(ps_fault_check PRIVATE ps_core)

foreach(_t kill_sweep enospc_sweep bulk_sweep)
  add_test(NAME fault_indexer_${_t}
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fault/indexer_${_t}.sh
                   $<TARGET_FILE:polysearch-index> $<TARGET_FILE:ps_fault_check>)
  set_tests_properties(fault_indexer_${_t} PROPERTIES LABELS fault TIMEOUT 240
                       SKIP_RETURN_CODE 77)
  add_test(NAME fault_indexer_${_t}_full
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fault/indexer_${_t}.sh
                   $<TARGET_FILE:polysearch-index> $<TARGET_FILE:ps_fault_check>)
  set_tests_properties(fault_indexer_${_t}_full PROPERTIES LABELS "fault;slow"
                       TIMEOUT 1800 SKIP_RETURN_CODE 77 ENVIRONMENT "PS_FAULT_FULL=1")
endforeach()
# ENOSPC on fdatasync while a free list moves on to a new block (the
# Xapian rollback bug, lib/core/commit_fence.c): a 2000-document database
# reindexed in batches of 300 (python3-msgpack via PS_PYTHON).
add_test(NAME fault_indexer_freelist_sweep
         COMMAND ${PS_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fault/indexer_freelist_sweep.py
                 $<TARGET_FILE:polysearch-index>)
set_tests_properties(fault_indexer_freelist_sweep PROPERTIES LABELS fault TIMEOUT 300
                     SKIP_RETURN_CODE 77)
add_test(NAME fault_indexer_freelist_sweep_full
         COMMAND ${PS_PYTHON} ${PROJECT_SOURCE_DIR}/tests/fault/indexer_freelist_sweep.py
                 $<TARGET_FILE:polysearch-index> --full)
set_tests_properties(fault_indexer_freelist_sweep_full PROPERTIES LABELS "fault;slow"
                     TIMEOUT 1200 SKIP_RETURN_CODE 77)
