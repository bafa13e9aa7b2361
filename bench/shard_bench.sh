#!/usr/bin/env bash
# shard_bench.sh: search QPS and p99 of one database vs 3 local shards vs
# 3 remote shards (3 xapian-tcpsrv on 127.0.0.1) holding the same
# documents, polysearchd (--workers 2) driven by ps-loadgen; plus the cost
# per extra shard (1, 2, 3, 6 local shards).  Figures go to docs/SCALING.md
# by hand (this script prints a table; it writes nothing outside BENCH_OUT).
#
# --writes: instead of searches, add throughput and ack-to-visible time
# (bench/write_bench.py, 1 then 8 writing clients, --duration each, plus
# --searchers searching clients) for 1 database, 3 local shards and 3
# remote shards (3 read-only + 3 --writable xapian-tcpsrv, --write-shard).
#
# Usage: bench/shard_bench.sh [--docs N] [--duration 10s] [--connections 8]
#                             [--writes [--batch 10] [--searchers 0]]
# Env: PS_BIN_DIR (default build-shards-rel/, built here as Release),
#      BENCH_OUT (default bench/out/shards), PYTHON (default /usr/bin/python3,
#      with python3-msgpack, for --writes).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/shards}
docs=20000
duration=10s
conns=8
writes=0
batch=10
searchers=0
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --connections) conns="$2"; shift 2 ;;
        --writes) writes=1; shift ;;
        --batch) batch="$2"; shift 2 ;;
        --searchers) searchers="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
[ -f "$corpus" ] || { log "bench/data missing: run bench/build_corpus.sh"; exit 66; }
[ "$writes" = 1 ] || [ -f "$queries" ] || { log "$queries missing: run bench/make_queries.py"; exit 66; }

mkdir -p "$out"
rm -rf "$out/db"; mkdir -p "$out/db"
pids=()
psd_pid=
cleanup() {
    [ -n "$psd_pid" ] && kill -9 "$psd_pid" 2>/dev/null
    for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

head -n "$docs" "$corpus" > "$out/docs.jsonl"
counts="1 2 3 6"
[ "$writes" = 1 ] && counts="1 3"
for n in $counts; do
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
start_psd() {   # polysearchd args...: started in the background as $psd_pid
    rm -f "$out/psd.port"
    nice -n 10 "$psd" "$@" --listen 127.0.0.1:0 --port-file "$out/psd.port" \
        --workers 2 --quiet > "$out/psd.log" 2>&1 &
    psd_pid=$!
    for _ in $(seq 300); do [ -s "$out/psd.port" ] && break; sleep 0.1; done
    [ -s "$out/psd.port" ] || { log "polysearchd did not start:"; cat "$out/psd.log" >&2; exit 70; }
}
stop_psd() { kill "$psd_pid"; wait "$psd_pid" || true; psd_pid=; }
tcpsrv() {   # name, database dir, [--writable]: on a free loopback port, $tcp_port
    tcp_port=$(free_port)
    setsid xapian-tcpsrv --interface 127.0.0.1 --port "$tcp_port" "${@:3}" "$2" \
        > "$out/$1.log" 2>&1 &
    pids+=($!)
}

if [ "$writes" = 1 ]; then
    py=${PYTHON:-/usr/bin/python3}
    "$py" -c 'import msgpack' 2>/dev/null || { log "$py lacks msgpack (python3-msgpack)"; exit 69; }
    secs=${duration%s}
    # Documents to add: the 2000 corpus lines after the indexed ones (new ids
    # are given by write_bench.py anyway).
    sed -n "$((docs + 1)),$((docs + 2000))p" "$corpus" > "$out/add.jsonl"
    # The remote setup writes into its own copy of the 3 shards.
    rm -rf "$out/db/s3r"; cp -a "$out/db/s3" "$out/db/s3r"
    wrun() {   # label, polysearchd args...
        local label=$1; shift
        start_psd "$@"
        for w in 1 8; do
            log "  $label: $w writing + $searchers searching clients, $duration"
            "$py" "$here/write_bench.py" --phase "$label" "$(cat "$out/psd.port")" \
                "$out/add.jsonl" "$secs" "$batch" "$w" "$searchers" "$results" \
                >> "$out/write_bench.log" 2>&1 || log "  write_bench.py failed (see $out/write_bench.log)"
        done
        stop_psd
    }
    wrun "1 database" --db "$out/db/s1"
    wrun "3 local shards" --db "$out/db/s3"
    args=()
    for i in 0 1 2; do
        tcpsrv "tcpsrv-$i" "$out/db/s3r/shard-$i"
        args+=(--shard "tcp:127.0.0.1:$tcp_port")
        tcpsrv "tcpsrv-w$i" "$out/db/s3r/shard-$i" --writable
        args+=(--write-shard "tcp:127.0.0.1:$tcp_port")
    done
    sleep 1
    wrun "3 remote shards (tcpsrv)" --db "$out/db/s1" "${args[@]}"
    python3 - "$results" "$docs" "$batch" "$searchers" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| setup (%s docs, %s docs + 1 sentinel per add, %s searching clients) | writing clients "
      "| docs/s added | add ack p50 ms | add ack p99 ms | visible p50 ms | visible p99 ms "
      "| visible max ms | requests/commit | errors |" % (sys.argv[2], sys.argv[3], sys.argv[4]))
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    codes = ", ".join("%s %d" % kv for kv in sorted(r.get("error_codes", {}).items()))
    print("| %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %d%s |" % (
        r["label"], r["writers"], r["docs_s"], r["a_p50"], r["a_p99"], r["v_p50"],
        r["v_p99"], r["v_max"], r["wpc"], r["errors"], " (%s)" % codes if codes else ""))
PY
    exit 0
fi
run() {   # label, polysearchd args...
    local label=$1; shift
    start_psd "$@"
    log "  $label: $conns connections, $duration"
    nice -n 10 "$loadgen" --port-file "$out/psd.port" --queries "$queries" \
        --connections "$conns" --duration "$duration" --snippet off --pid "$psd_pid" \
        --label "$label" 2>> "$out/loadgen.log" >> "$results" || true
    stop_psd
}

run "1 database" --db "$out/db/s1"
run "2 local shards" --db "$out/db/s2"
run "3 local shards" --db "$out/db/s3"
run "6 local shards" --db "$out/db/s6"
args=()
for i in 0 1 2; do
    tcpsrv "tcpsrv-$i" "$out/db/s3/shard-$i"
    args+=(--shard "tcp:127.0.0.1:$tcp_port")
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
