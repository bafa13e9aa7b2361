#!/usr/bin/env bash
# loadgen_e2e.sh: end-to-end check of the benchmark tools (not a timed
# test): ps-loadgen refuses non-loopback addresses, drives a real
# polysearchd (index of corpus/ made by polysearch-index, port 0 + port
# file) over pipelined connections with 0 errors and hits for every query,
# samples the daemon's RSS, and ps-inproc-bench answers the same queries
# through the C API.  Env: PS_LOADGEN PS_INPROC PS_DAEMON PS_INDEXER
# PS_SOURCE_DIR PS_PYTHON.  Exit 0 pass, 1 fail, 77 skip.
set -u
for v in PS_LOADGEN PS_INPROC PS_DAEMON PS_INDEXER PS_SOURCE_DIR; do
    if [ -z "${!v:-}" ] || [ ! -e "${!v}" ]; then
        echo "SKIP: $v not set or missing"
        exit 77
    fi
done
py=${PS_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
dpid=""
cleanup() {
    if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
passes=0
check() {   # check NAME COMMAND...
    if "${@:2}"; then passes=$((passes + 1)); echo "ok - $1"
    else fails=$((fails + 1)); echo "not ok - $1"; fi
}

printf 'innovation\nsanté\nsante\nLYONBIOPOLE\n"pôle de compétitivité"\ninnovation OR santé\n# comment\n\n' > "$tmp/q.txt"

# 1. Only loopback.
for host in 10.1.2.3 0.0.0.0 example.org 127.0.0.2; do
    timeout 10 "$PS_LOADGEN" --host "$host" --port 9 --queries "$tmp/q.txt" --duration 1s \
        > /dev/null 2> "$tmp/err"
    check "refuses host $host (exit 64)" test $? -eq 64
done
timeout 10 "$PS_LOADGEN" --port 9 --queries "$tmp/nonexistent" > /dev/null 2>&1
check "missing query file (exit 66)" test $? -eq 66
timeout 10 "$PS_LOADGEN" --port 9 --queries "$tmp/q.txt" --protocol sphinxql --depth 2 > /dev/null 2>&1
check "sphinxql refuses pipelining (exit 64)" test $? -eq 64

# 2. Real daemon on the seed corpus.
"$PS_INDEXER" --db "$tmp/db" "$PS_SOURCE_DIR/corpus" > "$tmp/index.log" 2>&1
check "indexer built the fixture" test -d "$tmp/db"
timeout 10 "$PS_LOADGEN" --port 1 --queries "$tmp/q.txt" --duration 1s > /dev/null 2>&1
check "no server: exit 69" test $? -eq 69
"$PS_DAEMON" --db "$tmp/db" --listen 127.0.0.1:0 --port-file "$tmp/port" --workers 2 --quiet \
    2> "$tmp/daemon.log" &
dpid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
check "daemon wrote its port file" test -s "$tmp/port"

timeout 30 "$PS_LOADGEN" --port-file "$tmp/port" --queries "$tmp/q.txt" --connections 3 \
    --depth 4 --duration 1500ms --pid "$dpid" --hits-out "$tmp/hits.tsv" > "$tmp/run.json" 2> "$tmp/run.err"
rc=$?
check "loadgen run exit 0" test $rc -eq 0
check "loadgen JSON: requests, 0 errors, every query hits, RSS sampled" "$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests"] > 10, r
assert r["errors"] == 0 and r["connections_lost"] == 0, r
assert r["queries"] == 6 and r["queries_with_hits"] == 6, r
assert r["warmup_replies"] == 6, r
assert r["rss_kb_max"] > 0 and len(r["rss_kb"]) >= 2, r
assert 0 < r["p50_us"] <= r["p95_us"] <= r["p99_us"] <= r["max_us"], r
' "$tmp/run.json"
check "hits file lists every query with hits" "$py" -c '
import sys
rows = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1])]
assert len(rows) == 6 and all(int(h) > 0 for h, _ in rows), rows
' "$tmp/hits.tsv"
timeout 30 "$PS_LOADGEN" --host ::1 --port-file "$tmp/port" --queries "$tmp/q.txt" --duration 300ms \
    > /dev/null 2>&1
rc=$?
# The daemon listens on 127.0.0.1 only: ::1 is accepted by the loadgen
# but finds no server (69); the point is that it is not refused as 64.
check "::1 accepted as an address (exit $rc, not 64)" test $rc -ne 64
timeout 30 "$PS_LOADGEN" --port-file "$tmp/port" --queries "$tmp/q.txt" --snippet off \
    --no-warmup --duration 300ms > "$tmp/nosnip.json" 2>/dev/null
check "snippet off run exit 0" test $? -eq 0
kill "$dpid"; wait "$dpid"; drc=$?; dpid=""
check "daemon exited 0 on SIGTERM" test $drc -eq 0

# 3. In-process floor.
timeout 30 "$PS_INPROC" --db "$tmp/db" --queries "$tmp/q.txt" --duration 300ms > "$tmp/inproc.json" 2>/dev/null
check "inproc exit 0" test $? -eq 0
check "inproc JSON: every query hits, 0 errors" "$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["errors"] == 0 and r["queries_with_hits"] == 6 and r["requests"] > 0, r
' "$tmp/inproc.json"
timeout 30 "$PS_INPROC" --db "$tmp/nodb" --queries "$tmp/q.txt" --duration 300ms > /dev/null 2>&1
check "inproc on a missing database: exit 66" test $? -eq 66

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
