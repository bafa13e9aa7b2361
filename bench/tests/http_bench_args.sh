#!/usr/bin/env bash
# http_bench_args.sh: checks bench/http_bench.sh's arguments without
# running a benchmark (no daemon, no build, a few seconds): --help exits 0
# and names every option, bad arguments exit 64 before anything is started
# (PS_BIN_DIR and BENCH_OUT point into an empty scratch directory, which
# must stay empty), and bench/http_bench.lua is where the script expects it.
# Env: PS_SOURCE_DIR (default: this checkout).  Exit 0 pass, 1 fail.
set -u
src=${PS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sh="$src/bench/http_bench.sh"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/http_bench_args.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fails=0
passes=0
check() {   # check NAME COMMAND...
    if "${@:2}"; then passes=$((passes + 1)); echo "ok - $1"
    else fails=$((fails + 1)); echo "not ok - $1"; fi
}
exits() {   # exits CODE ARGS...: http_bench.sh ARGS exits with CODE
    local want=$1; shift
    PS_BIN_DIR="$scratch/bin" BENCH_OUT="$scratch/out" timeout 10 bash "$sh" "$@" > /dev/null 2>&1
    [ $? = "$want" ]
}
help=$(timeout 10 bash "$sh" --help 2>&1); rc=$?
check "--help exits 0" [ "$rc" = 0 ]
for opt in --rounds --duration --size --db --no-sphinx --no-results; do
    check "--help names $opt" grep -q -- "$opt" <<< "$help"
done
check "-h exits 0" exits 0 -h
check "unknown option: 64" exits 64 --bogus
check "a bare word: 64" exits 64 100k
check "--rounds without a value: 64" exits 64 --rounds
check "--rounds 0: 64" exits 64 --rounds 0
check "--rounds x: 64" exits 64 --rounds x
check "--rounds -1: 64" exits 64 --rounds -1
check "--duration without a value: 64" exits 64 --duration
check "--duration 20: 64" exits 64 --duration 20
check "--duration 0s: 64" exits 64 --duration 0s
check "--duration 500ms: 64" exits 64 --duration 500ms
check "--duration 1h: 64" exits 64 --duration 1h
check "--size 10k: 64" exits 64 --size 10k
check "--size without a value: 64" exits 64 --size
check "--db without a value: 64" exits 64 --db
check "--db empty: 64" exits 64 --db ''
check "bad argument after good ones: 64" exits 64 --rounds 1 --duration 3s --no-sphinx --nope
check "nothing started or written" [ -z "$(ls -A "$scratch")" ]
check "http_bench.lua present" [ -f "$src/bench/http_bench.lua" ]
check "http_bench.sh parses" bash -n "$sh"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
