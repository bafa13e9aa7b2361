# The in-memory delta of the write-ahead log (lib/core/delta.cc): put,
# delete, publish, discard and checkpoint against readers attached to it
# (search, get, count, ids, language counts), a failed checkpoint (EFBIG
# in a child), replay at start-up, and four threads (writer, checkpointer,
# two readers).
ps_unit_test(test_core_delta SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_delta.c LIBS ps_core)
# The same over a shard set: colliding docids, outcomes, a checkpoint into
# every shard, a replay from the least advanced shard, a shard down.
ps_unit_test(test_core_delta_shards
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_delta_shards.c LIBS ps_core)
# Change seqs (lib/core/seq.cc, catchup.cc): stamping from the shared
# counter, the delta's seqs, ps_db_catchup by seq range over main + delta.
ps_unit_test(test_core_seq SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_core_seq.c LIBS ps_core)
