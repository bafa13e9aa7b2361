#!/bin/sh
# run-fuzzers.sh SECONDS: builds the libFuzzer harnesses with clang and
# runs them for SECONDS in total (default 40), split evenly: fuzz_scanner
# (MessagePack-RPC scanner/decoder) and fuzz_query (ps_search on a small
# database), each over a scratch copy of its corpus.
#
# Exits 0 when no crash was found, 1 on a crash / invariant failure /
# leak / memory-limit hit (the crashing input is kept in
# $OUT/<harness>/artifacts), 69 (EX_UNAVAILABLE) when clang or libFuzzer
# is missing, 64 on bad usage.  Prints the number of executions and
# executions per second of each harness.
# Environment: BUILD_DIR (default <repo>/build-fuzz), OUT (default a
# temporary directory, kept only when something was found), FUZZERS
# (default "fuzz_scanner fuzz_query").
set -eu

secs=${1:-40}
case $secs in
    ''|*[!0-9]*) echo "usage: $0 SECONDS" >&2; exit 64 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build-fuzz}
fuzzers=${FUZZERS:-fuzz_scanner fuzz_query}
nfuzz=$(echo $fuzzers | wc -w)
each=$((secs / nfuzz))
[ "$each" -ge 1 ] || each=1

if ! command -v clang >/dev/null 2>&1; then
    echo "run-fuzzers: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 69
fi
cxx=clang++
command -v clang++ >/dev/null 2>&1 || cxx=c++

echo "run-fuzzers: building $fuzzers in $build" >&2
mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER="$cxx" \
    -DPOLYSEARCH_FUZZ=ON >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2; exit 1; }
for f in $fuzzers; do
    cmake --build "$build" --target "$f" -j2 >&2
done

out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ps-fuzz.XXXXXX")}
failed=0
for f in $fuzzers; do
    case $f in
        fuzz_scanner) corpus=$here/corpus/scanner; dict=$here/scanner.dict ;;
        fuzz_query) corpus=$here/corpus/query; dict= ;;
        *) echo "run-fuzzers: unknown harness $f" >&2; exit 64 ;;
    esac
    mkdir -p "$out/$f/work" "$out/$f/artifacts"
    log=$out/$f/$f.log
    echo "run-fuzzers: $f for ${each}s (log: $log)" >&2
    set +e
    # A smaller ASan quarantine: fuzz_query's live heap stays ~30 MB,
    # but the default 256 MB quarantine alone hits -rss_limit_mb=512.
    ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64} \
    PS_SOURCE_DIR=$repo "$build/tests/$f" -max_total_time="$each" \
        -malloc_limit_mb=64 -rss_limit_mb=512 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/$f/artifacts/" \
        ${dict:+-dict="$dict"} \
        "$out/$f/work" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    echo "$f: executions: ${execs:-unknown}, exec/s: ${rate:-unknown}, exit status: $rc"
    if [ "$rc" -ne 0 ] || ls "$out/$f/artifacts"/* >/dev/null 2>&1; then
        echo "run-fuzzers: $f FAILURE; last lines of the log:" >&2
        tail -n 40 "$log" >&2
        ls -l "$out/$f/artifacts" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "run-fuzzers: inputs and logs kept in $out" >&2
    exit 1
fi
if [ -z "${OUT:-}" ]; then
    rm -rf "$out"
fi
exit 0
