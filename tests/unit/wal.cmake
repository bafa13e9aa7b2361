# Unit tests of polysearchd's write-ahead log (searchd/wal.c, wal_open.c):
# replay, checkpoints, torn and corrupt tails, rotation, limits, open
# errors.  The log's writev, fdatasync, fsync and ftruncate go through the
# test's __wrap_ functions (ld --wrap), which inject failures on demand.
ps_unit_test(test_wal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal.c
             LIBS searchd_wal Threads::Threads)
target_link_options(test_wal PRIVATE
  "LINKER:--wrap=writev,--wrap=fdatasync,--wrap=fsync,--wrap=ftruncate")

# The operations of a record (searchd/walops.c): round trip and malformed
# payloads.
ps_unit_test(test_walops SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_walops.c
             LIBS searchd_wal)
