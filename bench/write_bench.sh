#!/bin/bash
# write_bench.sh: polysearchd add throughput and time-to-visible while 8
# clients search (issue 6).  Writes the "write" section of bench/RESULTS.md.
#
# Usage: bench/write_bench.sh [SECONDS_PER_PHASE (10)] [BATCH (10)]
# Environment: BUILD (Release build dir, default build-writer-rel; built
# when missing), CORPUS (default ../shared/corpus/sample.jsonl),
# PYTHON (default /usr/bin/python3 with python3-msgpack).
# Everything runs on 127.0.0.1, bounded in time; the daemon is killed on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SECS=${1:-10}
BATCH=${2:-10}
BUILD=${BUILD:-$ROOT/build-writer-rel}
PY=${PYTHON:-/usr/bin/python3}
CORPUS=${CORPUS:-$ROOT/../shared/corpus/sample.jsonl}
[ -f "$CORPUS" ] || CORPUS=/work/shared/corpus/sample.jsonl
[ -f "$CORPUS" ] || { echo "write_bench: corpus $CORPUS not found" >&2; exit 66; }
if [ ! -x "$BUILD/searchd/polysearchd" ] || [ ! -x "$BUILD/indexer/polysearch-index" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" --target polysearchd polysearch-index -j2 >/dev/null
fi
T=$(mktemp -d /tmp/wbench.XXXXXX)
DPID=
cleanup() { [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

# The starting index: the first 1000 documents of the corpus.
head -n 1000 "$CORPUS" > "$T/base.jsonl"
"$BUILD/indexer/polysearch-index" --db "$T/db" "$T/base.jsonl" > /dev/null 2>&1
"$BUILD/searchd/polysearchd" --db "$T/db" --listen 127.0.0.1:0 --port-file "$T/port" \
    --workers 2 --quiet 2> "$T/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { echo "write_bench: daemon did not start" >&2; cat "$T/daemon.log" >&2; exit 70; }
PORT=$(cat "$T/port")

"$PY" "$HERE/write_bench.py" "$PORT" "$CORPUS" "$SECS" "$BATCH" "$T/table.md"
kill -TERM "$DPID"; wait "$DPID" || true; DPID=

# The group-commit delay: 8 writers of one document per call each.
for CD in 0 2ms 20ms 50ms; do
    rm -f "$T/port"
    "$BUILD/searchd/polysearchd" --db "$T/db" --listen 127.0.0.1:0 --port-file "$T/port" \
        --workers 2 --quiet --commit-delay "$CD" 2>> "$T/daemon.log" &
    DPID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    "$PY" "$HERE/write_bench.py" --delay-row "$CD" "$(cat "$T/port")" "$CORPUS" \
        "$(( (SECS + 1) / 2 ))" 1 "$T/delay.md"
    kill -TERM "$DPID"; wait "$DPID" || true; DPID=
done

{
    echo "## Live updates: add throughput and time-to-visible (bench/write_bench.sh)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$ROOT" rev-parse --short HEAD),"
    echo "$(nproc) cores (shared machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end),"
    echo "Release build, polysearchd --workers 2, default --commit-delay 20ms."
    echo "Index: the first 1000 documents of sample.jsonl; added documents are"
    echo "sample.jsonl articles under new ids, $BATCH per add call plus one sentinel."
    echo "Each phase runs ${SECS} s with 8 searching clients (one process each,"
    echo "one-word queries, limit 10); a writing client sends its next add as"
    echo "soon as the sentinel of the previous one is visible."
    echo
    cat "$T/table.md"
    echo
    echo "- visible = from the add acknowledgement to the first search (on a"
    echo "  second connection) that returns the batch's sentinel; includes one"
    echo "  search round trip."
    echo "- requests/commit > 1: group commit joined several clients' add calls"
    echo "  in one commit (from the daemon's stats writer figures)."
    echo
    echo "Group-commit delay (\`--commit-delay\`), 8 writing clients sending one"
    echo "document (plus the sentinel) per add, 8 searching clients, $(( (SECS + 1) / 2 )) s each:"
    echo
    cat "$T/delay.md"
    echo
    echo "- The machine is shared: docs/s vary by tens of percent between runs;"
    echo "  requests/commit (fewer commits, fewer fdatasync calls) is the stable figure."
    echo "- Rerun: \`bench/write_bench.sh [SECONDS] [BATCH]\`."
} > "$T/section.md"
"$PY" "$HERE/results_section.py" write "$T/section.md" "$HERE/RESULTS.md"
echo "write_bench: bench/RESULTS.md section 'write' updated"
