#!/usr/bin/env bash
# alerts_bench_args.sh: checks bench/alerts_bench.sh's arguments and
# bench/alerts_bench.py's helpers without running a benchmark (no daemon,
# no build, a few seconds): --help exits 0 and names every option, bad
# arguments exit 64 before anything is started, and alerts_bench.py
# --selftest (percentiles, the pairing of notifications with add acks, the
# section's ratio line).  Env: PS_SOURCE_DIR (default: this checkout),
# PS_PYTHON (default /usr/bin/python3).  Exit 0 pass, 1 fail.
set -u
src=${PS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=${PS_PYTHON:-/usr/bin/python3}
sh="$src/bench/alerts_bench.sh"
fails=0
passes=0
check() {   # check NAME COMMAND...
    if "${@:2}"; then passes=$((passes + 1)); echo "ok - $1"
    else fails=$((fails + 1)); echo "not ok - $1"; fi
}
exits() {   # exits CODE ARGS...: alerts_bench.sh ARGS exits with CODE
    local want=$1; shift
    timeout 10 bash "$sh" "$@" > /dev/null 2>&1
    [ $? = "$want" ]
}
help=$(timeout 10 bash "$sh" --help 2>&1); rc=$?
check "--help exits 0" [ "$rc" = 0 ]
for opt in --rounds --subs --seconds --writers --batch --no-results; do
    check "--help names $opt" grep -q -- "$opt" <<< "$help"
done
check "unknown option: 64" exits 64 --bogus
check "--subs without a value: 64" exits 64 --subs
check "--subs 0: 64" exits 64 --subs 0
check "--rounds x: 64" exits 64 --rounds x
check "--seconds -1: 64" exits 64 --seconds -1
check "--writers 1,0: 64" exits 64 --writers 1,0
check "--writers empty: 64" exits 64 --writers ,
check "alerts_bench.py --selftest" "$py" "$src/bench/alerts_bench.py" --selftest
check "alerts_bench.py bad mode: 64" bash -c "'$py' '$src/bench/alerts_bench.py' --nope >/dev/null 2>&1; [ \$? = 64 ]"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
