# Fuzzing of the MessagePack-RPC scanner and decoders (lib/wire/scan.c,
# decode.c, unpack.c).
#
# fuzz_replay (any compiler) runs the harness over every corpus file and is
# registered as the ctest fuzz_replay_scanner.  The libFuzzer binary
# fuzz_scanner is built only with clang and -DPOLYSEARCH_FUZZ=ON; it
# compiles the ps_wire sources it needs (PS_FUZZ_WIRE_SOURCES) itself with
# -fsanitize=fuzzer so ps_wire needs no special flags.  See docs/FUZZING.md
# and tests/fuzz/run-fuzzers.sh.
option(POLYSEARCH_FUZZ "Build the libFuzzer harnesses (needs clang)" OFF)

set(PS_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

add_executable(fuzz_replay ${PS_FUZZ_DIR}/fuzz_replay.c ${PS_FUZZ_DIR}/fuzz_scanner.c)
target_link_libraries(fuzz_replay PRIVATE ps_wire)
add_test(NAME fuzz_replay_scanner
         COMMAND fuzz_replay ${PS_FUZZ_DIR}/corpus/scanner)
set_tests_properties(fuzz_replay_scanner PROPERTIES LABELS "unit;fuzz" TIMEOUT 120)

if(POLYSEARCH_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "POLYSEARCH_FUZZ needs clang: -DCMAKE_C_COMPILER=clang")
  endif()
  set(PS_FUZZ_WIRE_SOURCES scan.c decode.c pack.c unpack.c utf8.c results.c)
  list(TRANSFORM PS_FUZZ_WIRE_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/lib/wire/)
  add_executable(fuzz_scanner ${PS_FUZZ_DIR}/fuzz_scanner.c ${PS_FUZZ_WIRE_SOURCES})
  target_include_directories(fuzz_scanner PRIVATE ${PROJECT_SOURCE_DIR}/lib/wire)
  target_compile_options(fuzz_scanner PRIVATE -g -O1 -fno-omit-frame-pointer
                         -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(fuzz_scanner PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_scanner PRIVATE PkgConfig::MSGPACK)
endif()
