# Fuzzing of query parsing and searching through the C API (ps_search).
#
# fuzz_query_replay (any compiler) runs the harness over every file of
# corpus/query and is registered as the ctest fuzz_replay_query.  The
# libFuzzer binary fuzz_query is built only with clang and
# -DPOLYSEARCH_FUZZ=ON (option declared in fuzz.cmake, included first);
# it links ps_core_fuzz, a copy of ps_core compiled with coverage
# instrumentation and ASan+UBSan, so the fuzzer sees the library's edges.
# See docs/FUZZING.md and tests/fuzz/run-fuzzers.sh.
set(PS_FUZZQ_DIR ${CMAKE_CURRENT_LIST_DIR})

add_executable(fuzz_query_replay ${PS_FUZZQ_DIR}/fuzz_replay.c ${PS_FUZZQ_DIR}/fuzz_query.c)
target_compile_definitions(fuzz_query_replay PRIVATE
                           PS_FUZZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(fuzz_query_replay PRIVATE ps_core)
add_test(NAME fuzz_replay_query
         COMMAND fuzz_query_replay ${PS_FUZZQ_DIR}/corpus/query)
set_tests_properties(fuzz_replay_query PROPERTIES LABELS "unit;fuzz" TIMEOUT 120
  ENVIRONMENT "PS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

if(POLYSEARCH_FUZZ)
  get_target_property(_psq_src ps_core SOURCES)
  get_target_property(_psq_srcdir ps_core SOURCE_DIR)
  get_target_property(_psq_libs ps_core LINK_LIBRARIES)
  get_target_property(_psq_inc ps_core INCLUDE_DIRECTORIES)
  list(TRANSFORM _psq_src PREPEND ${_psq_srcdir}/)
  add_library(ps_core_fuzz STATIC ${_psq_src})
  # Same sources, include directories (lib/core, lib/analysis, CLD2's) and
  # libraries as ps_core.
  target_include_directories(ps_core_fuzz PUBLIC ${_psq_inc})
  target_link_libraries(ps_core_fuzz PUBLIC ${_psq_libs})
  target_compile_options(ps_core_fuzz PRIVATE -g -O1 -fno-omit-frame-pointer
                         -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=all)
  add_executable(fuzz_query ${PS_FUZZQ_DIR}/fuzz_query.c)
  target_compile_definitions(fuzz_query PRIVATE
                             PS_FUZZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_compile_options(fuzz_query PRIVATE -g -O1 -fno-omit-frame-pointer
                         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  # ps_core is C++: link with the C++ driver.
  set_target_properties(fuzz_query PROPERTIES LINKER_LANGUAGE CXX)
  target_link_options(fuzz_query PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_query PRIVATE ps_core_fuzz)
endif()
