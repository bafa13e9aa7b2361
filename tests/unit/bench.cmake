# Unit tests of the benchmark load generator's parts (bench/loadgen,
# bench/common): percentiles, query file, SphinxQL and MessagePack-RPC.
ps_unit_test(test_bench_loadgen
  SOURCES ${PROJECT_SOURCE_DIR}/bench/tests/test_loadgen.c
          ${PROJECT_SOURCE_DIR}/bench/loadgen/proto_sphinxql.c
          ${PROJECT_SOURCE_DIR}/bench/loadgen/proto_msgpack.c
          ${PROJECT_SOURCE_DIR}/bench/loadgen/lg_buf.c
          ${PROJECT_SOURCE_DIR}/bench/common/lg_latency.c
          ${PROJECT_SOURCE_DIR}/bench/common/lg_queries.c
  LIBS ps_wire m)
target_include_directories(test_bench_loadgen PRIVATE
  ${PROJECT_SOURCE_DIR}/bench/loadgen ${PROJECT_SOURCE_DIR}/bench/common)
