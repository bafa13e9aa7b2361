#!/bin/sh
# run-fuzzers.sh SECONDS: builds the libFuzzer harness with clang and runs
# it for SECONDS (default 40) over a scratch copy of the corpus.
#
# Exits 0 when no crash was found, 1 on a crash / invariant failure /
# leak / memory-limit hit (the crashing input is kept in $OUT/artifacts),
# 69 (EX_UNAVAILABLE) when clang or libFuzzer is missing, 64 on bad usage.
# Prints the number of executions and executions per second.
# Environment: BUILD_DIR (default <repo>/build-fuzz), OUT (default a
# temporary directory, kept only when something was found).
set -eu

secs=${1:-40}
case $secs in
    ''|*[!0-9]*) echo "usage: $0 SECONDS" >&2; exit 64 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build-fuzz}
corpus=$here/corpus/scanner

if ! command -v clang >/dev/null 2>&1; then
    echo "run-fuzzers: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 69
fi
cxx=clang++
command -v clang++ >/dev/null 2>&1 || cxx=c++

echo "run-fuzzers: building fuzz_scanner in $build" >&2
mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER="$cxx" \
    -DPOLYSEARCH_FUZZ=ON >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_scanner -j2 >&2

out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ps-fuzz.XXXXXX")}
mkdir -p "$out/work" "$out/artifacts"
log=$out/fuzz_scanner.log

echo "run-fuzzers: fuzz_scanner for ${secs}s (log: $log)" >&2
set +e
"$build/tests/fuzz_scanner" -max_total_time="$secs" \
    -malloc_limit_mb=64 -rss_limit_mb=512 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
    -dict="$here/scanner.dict" \
    "$out/work" "$corpus" >"$log" 2>&1
rc=$?
set -e

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
echo "fuzz_scanner: executions: ${execs:-unknown}, exec/s: ${rate:-unknown}, exit status: $rc"
if [ "$rc" -ne 0 ] || ls "$out/artifacts"/* >/dev/null 2>&1; then
    echo "run-fuzzers: FAILURE; last lines of the log:" >&2
    tail -n 40 "$log" >&2
    ls -l "$out/artifacts" >&2
    exit 1
fi
if [ -z "${OUT:-}" ]; then
    rm -rf "$out"
fi
exit 0
