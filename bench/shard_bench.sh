#!/usr/bin/env bash
# shard_bench.sh: search QPS and p99 of one database vs 3 local shards vs
# 3 remote shards (3 xapian-tcpsrv on 127.0.0.1) holding the same
# documents, polysearchd (--workers 2) driven by ps-loadgen; plus the cost
# per extra shard (1, 2, 3, 6 local shards).  Figures go to docs/SCALING.md
# by hand (this script prints a table; it writes nothing outside BENCH_OUT).
#
# Usage: bench/shard_bench.sh [--docs N] [--duration 10s] [--connections 8]
# Env: PS_BIN_DIR (default build-shards-rel/, built here as Release),
#      BENCH_OUT (default bench/out/shards).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/shards}
docs=20000
duration=10s
conns=8
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --connections) conns="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "shard_bench.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
log() { echo "shard_bench.sh: $*" >&2; }
command -v xapian-tcpsrv >/dev/null || { log "xapian-tcpsrv missing (xapian-tools)"; exit 69; }

if [ -z "${PS_BIN_DIR:-}" ]; then
    PS_BIN_DIR=$root/build-shards-rel
    cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    nice -n 10 cmake --build "$PS_BIN_DIR" -j2 \
        --target polysearch-index polysearchd ps-loadgen >/dev/null
fi
findbin() {
    local p; p=$(find "$PS_BIN_DIR" -type f -name "$1" -perm -u+x | head -1)
    [ -n "$p" ] || { log "$1 not found under $PS_BIN_DIR"; exit 69; }
    echo "$p"
}
psindex=$(findbin polysearch-index)
psd=$(findbin polysearchd)
loadgen=$(findbin ps-loadgen)

corpus=$here/data/corpus-100k.jsonl
queries=$here/data/queries.txt
[ -f "$corpus" ] && [ -f "$queries" ] || { log "bench/data missing: run bench/build_corpus.sh"; exit 66; }

mkdir -p "$out"
rm -rf "$out/db"; mkdir -p "$out/db"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

head -n "$docs" "$corpus" > "$out/docs.jsonl"
for n in 1 2 3 6; do
    t0=$(date +%s.%N)
    if [ "$n" = 1 ]; then
        "$psindex" -q --db "$out/db/s1" "$out/docs.jsonl" >/dev/null
    else
        "$psindex" -q --shards "$n" --db "$out/db/s$n" "$out/docs.jsonl" >/dev/null
    fi
    log "indexed $docs docs into $n shard(s) in $(python3 -c "import time;print(round(time.time()-$t0,1))") s"
done

results=$out/results.jsonl
: > "$results"
run() {   # label, polysearchd args...
    local label=$1; shift
    rm -f "$out/psd.port"
    nice -n 10 "$psd" "$@" --listen 127.0.0.1:0 --port-file "$out/psd.port" \
        --workers 2 --quiet > "$out/psd.log" 2>&1 &
    local pid=$!
    for _ in $(seq 300); do [ -s "$out/psd.port" ] && break; sleep 0.1; done
    log "  $label: $conns connections, $duration"
    nice -n 10 "$loadgen" --port-file "$out/psd.port" --queries "$queries" \
        --connections "$conns" --duration "$duration" --snippet off --pid "$pid" \
        --label "$label" 2>> "$out/loadgen.log" >> "$results" || true
    kill "$pid"; wait "$pid" || true
}

run "1 database" --db "$out/db/s1"
run "2 local shards" --db "$out/db/s2"
run "3 local shards" --db "$out/db/s3"
run "6 local shards" --db "$out/db/s6"
args=()
for i in 0 1 2; do
    port=$(free_port)
    setsid xapian-tcpsrv --interface 127.0.0.1 --port "$port" "$out/db/s3/shard-$i" \
        > "$out/tcpsrv-$i.log" 2>&1 &
    pids+=($!)
    args+=(--shard "tcp:127.0.0.1:$port")
done
sleep 1
run "3 remote shards (tcpsrv)" --db "$out/db/s1" "${args[@]}"

python3 - "$results" "$docs" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| setup (%s docs, snippets off) | QPS | p50 ms | p99 ms |" % sys.argv[2])
print("|---|---:|---:|---:|")
for r in rows:
    def ms(k):
        v = r.get(k + "_us")
        return "%.2f" % (v / 1000.0) if isinstance(v, (int, float)) else "?"
    print("| %s | %.0f | %s | %s |" % (r.get("label", "?"), r.get("qps", 0), ms("p50"), ms("p99")))
PY
