#!/usr/bin/env bash
# http_bench.sh: HTTP/JSON search against MessagePack-RPC and Sphinx
# (issue 16): wrk on polysearchd's GET /search, ps-loadgen on its
# MessagePack-RPC search and ps-loadgen --protocol sphinxql on Sphinx
# searchd, in the same run, on the same queries (bench/data/queries.txt),
# limit 10, at 8 and 64 connections: QPS, p50, p99, errors.  Targets: HTTP
# QPS at least 0.8x MessagePack-RPC's, and at least Sphinx's.
#
# Usage: bench/http_bench.sh [--rounds 2] [--duration 20s] [--size 100k|1m]
#                            [--db DIR] [--no-sphinx] [--no-results]
#   --rounds N     engines alternate HTTP, MessagePack-RPC, Sphinx, HTTP, ...
#                  N times at each connection count (default 2); the ratios
#                  are taken within each round, their median reported
#   --duration D   each timed run, e.g. 20s or 1m (default 20s)
#   --size S       100k (default) or 1m: the corpus of bench/build_corpus.sh
#   --db DIR       polysearchd's database (default bench/out/search/ps-SIZE.db,
#                  the one bench/search_bench.sh builds; built when missing)
#   --no-sphinx    leave Sphinx out
#   --no-results   print the section instead of writing the http section of
#                  bench/RESULTS.md
# polysearchd --read-only --workers 2 serves both protocols on 127.0.0.1
# (ports 0 + --port-file / --http-port-file); wrk -t2 sends
# GET /search?q=...&limit=10 (bench/http_bench.lua), ps-loadgen {q, limit:
# 10}: neither asks for snippets, so both get the search method's default
# (snippets on).  Sphinx: the per-language indexes of search_bench.sh, kept
# in bench/out/http/sphinx-SIZE and reindexed when the corpus changes.
# Needs wrk (apt-get install wrk: exit 69 when missing) and, unless
# --no-sphinx, sphinxsearch.  Env: PS_BIN_DIR (default build-bench-rel/,
# built here as Release), BENCH_OUT (default bench/out/http).  Bounded in
# time; every process started here is killed on exit.  Run it on a quiet
# machine: nice -n 10 bench/http_bench.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/http}
rounds=2
duration=20s
size=100k
dbarg=""
sphinx=1
write_results=1
usage_error() { echo "http_bench.sh: $* (--help)" >&2; exit 64; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 wants a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) need "$@"; rounds="$2"; shift 2 ;;
        --duration) need "$@"; duration="$2"; shift 2 ;;
        --size) need "$@"; size="$2"; shift 2 ;;
        --db) need "$@"; dbarg="$2"; shift 2 ;;
        --no-sphinx) sphinx=0; shift ;;
        --no-results) write_results=0; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) usage_error "unknown argument $1" ;;
    esac
done
case "$rounds" in ''|*[!0-9]*|0*) usage_error "--rounds wants a positive integer" ;; esac
[ "$rounds" -le 100 ] || usage_error "--rounds: at most 100"
[[ "$duration" =~ ^[1-9][0-9]{0,4}(s|m)$ ]] || usage_error "--duration wants seconds or minutes, e.g. 20s or 1m"
case "$size" in 100k|1m) ;; *) usage_error "--size wants 100k or 1m" ;; esac
case "$duration" in *m) secs=$(( ${duration%m} * 60 )) ;; *) secs=${duration%s} ;; esac
log() { echo "http_bench.sh: $*" >&2; }

wrk=$(command -v wrk || true)
[ -n "$wrk" ] || { log "wrk missing: apt-get install wrk"; exit 69; }
# sl_build, findbin, sl_data, sl_db, wait_file, sl_sphinx_*: shared with
# bench/search_bench.sh.
. "$here/search_lib.sh"
[ "$sphinx" = 0 ] || sl_sphinx_check
mkdir -p "$out"

# ---- binaries, data ------------------------------------------------------
sl_build polysearch-index polysearchd ps-loadgen
psindex=$(findbin polysearch-index)
psd=$(findbin polysearchd)
loadgen=$(findbin ps-loadgen)
case "$("$psd" --help 2>&1)" in *--http-port-file*) ;; *)
    log "$psd has no --http (rebuild it)"; exit 69 ;; esac
sl_data "$size"
db=${dbarg:-$here/out/search/ps-$size.db}
mkdir -p "$(dirname "$db")"
sl_db "$db" 0 "$size" "$psindex" "$out/index.log"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# ---- servers -------------------------------------------------------------
sphinx_index_s=""
if [ "$sphinx" = 1 ]; then
    sdir=$out/sphinx-$size
    sport=$(sl_free_port)
    if sl_sphinx_reuse "$sdir" "$sport"; then
        log "Sphinx: reusing the indexes in $sdir"
    else
        sl_sphinx_index "$sdir" "$sport"
    fi
    sl_sphinx_start "$sdir" "$sport"
fi
log "polysearchd --read-only --workers 2 (MessagePack-RPC and HTTP) ..."
rm -f "$out/psd.port" "$out/http.port"
nice -n 10 "$psd" --db "$db" --read-only --workers 2 \
    --listen 127.0.0.1:0 --port-file "$out/psd.port" \
    --http 127.0.0.1:0 --http-port-file "$out/http.port" --quiet > "$out/polysearchd.log" 2>&1 &
psd_pid=$!
pids+=("$psd_pid")
wait_file "$out/psd.port" 60 "$psd_pid"
wait_file "$out/http.port" 60 "$psd_pid"
hport=$(cat "$out/http.port")
alive() {
    kill -0 "$psd_pid" 2>/dev/null || { log "polysearchd died: $(tail -3 "$out/polysearchd.log")"; exit 70; }
    [ "$sphinx" = 0 ] || kill -0 "$sph_pid" 2>/dev/null ||
        { log "Sphinx searchd died: $(tail -3 "$sdir/searchd.out")"; exit 70; }
}

results=$out/results.jsonl
warm=$out/warmup.jsonl
: > "$results"
: > "$warm"
: > "$out/loadgen.log"
start_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- warm-up: each query once per engine, untimed ------------------------
# Also the hits of each query (bench/out/http/hits-*.tsv): HTTP must find
# what MessagePack-RPC finds.
log "warm-up (each query once per engine) ..."
timeout 600 nice -n 10 python3 - "$hport" "$queries" "$out/hits-http.tsv" >> "$warm" <<'EOF'
import http.client, json, sys, time, urllib.parse
port, qfile, hits_out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
qs = [l.rstrip("\r\n") for l in open(qfile, encoding="utf-8")]
qs = [q for q in qs if q and not q.startswith("#")]
conn, non200, first, with_hits, t0 = None, 0, "", 0, time.monotonic()
with open(hits_out, "w", encoding="utf-8") as f:
    for q in qs:
        for attempt in (0, 1):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/search?q=" + urllib.parse.quote(q, safe="") + "&limit=10")
                r = conn.getresponse()
                body = r.read()
                if r.will_close:
                    conn.close(); conn = None
                break
            except (OSError, http.client.HTTPException):
                if conn: conn.close()
                conn = None
                if attempt: raise
        if r.status == 200:
            n = len(json.loads(body)["hits"])
            with_hits += n > 0
            f.write(f"{n}\t{q}\n")
        else:
            non200 += 1
            first = first or f"{r.status} {body[:200].decode('utf-8', 'replace')}"
            f.write(f"error\t{q}\n")
print(json.dumps({"engine": "HTTP", "queries": len(qs), "queries_with_hits": with_hits,
                  "errors": non200, "first_error": first,
                  "warmup_s": round(time.monotonic() - t0, 3)}))
EOF
timeout 600 nice -n 10 "$loadgen" --port-file "$out/psd.port" --queries "$queries" \
    --connections 1 --duration 1s --hits-out "$out/hits-msgpack.tsv" 2>> "$out/loadgen.log" \
    | sed 's/^{/{"engine":"MessagePack-RPC",/' >> "$warm" || true
if [ "$sphinx" = 1 ]; then
    timeout 600 nice -n 10 "$loadgen" --protocol sphinxql --port "$sport" --queries "$queries" \
        --connections 1 --duration 1s --hits-out "$out/hits-sphinx.tsv" 2>> "$out/loadgen.log" \
        | sed 's/^{/{"engine":"Sphinx SphinxQL",/' >> "$warm" || true
fi
alive

# ---- timed runs: engines alternate in rounds -----------------------------
bound=$((secs + 60))
for c in 8 64; do
    for r in $(seq 1 "$rounds"); do
        log "  $c connections, round $r/$rounds: HTTP (wrk) ..."
        timeout "$bound" nice -n 10 "$wrk" -t2 -c"$c" -d"$duration" --timeout 10s \
            -s "$here/http_bench.lua" "http://127.0.0.1:$hport" -- "$queries" 10 \
            > "$out/wrk-$c-$r.out" 2>&1 || log "wrk exited $?"
        grep '^{' "$out/wrk-$c-$r.out" | tail -1 \
            | sed "s/^{/{\"engine\":\"HTTP\",\"round\":$r,\"connections\":$c,/" >> "$results" || true
        alive
        log "  $c connections, round $r/$rounds: MessagePack-RPC (ps-loadgen) ..."
        timeout "$bound" nice -n 10 "$loadgen" --port-file "$out/psd.port" --queries "$queries" \
            --connections "$c" --duration "$duration" --no-warmup --label "msgpack" \
            2>> "$out/loadgen.log" \
            | sed "s/^{/{\"engine\":\"MessagePack-RPC\",\"round\":$r,/" >> "$results" || true
        alive
        if [ "$sphinx" = 1 ]; then
            log "  $c connections, round $r/$rounds: Sphinx SphinxQL (ps-loadgen) ..."
            timeout "$bound" nice -n 10 "$loadgen" --protocol sphinxql --port "$sport" \
                --queries "$queries" --connections "$c" --duration "$duration" --no-warmup \
                --label "sphinx" 2>> "$out/loadgen.log" \
                | sed "s/^{/{\"engine\":\"Sphinx SphinxQL\",\"round\":$r,/" >> "$results" || true
            alive
        fi
    done
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup
pids=()

# ---- table ---------------------------------------------------------------
table=$out/http.md
python3 - "$results" "$warm" "$out" "$start_load" "$end_load" "$duration" "$rounds" \
    "$nq" "$size" "$sphinx" "${sphinx_index_s:-}" > "$table" <<'EOF'
import json, os, statistics, subprocess, sys, time
(path, warm_path, outdir, l0, l1, dur, rounds, nq, size, sphinx,
 sph_idx) = sys.argv[1:12]
rows = [json.loads(l) for l in open(path) if l.strip()]
warm = {w["engine"]: w for w in (json.loads(l) for l in open(warm_path) if l.strip())}
med = statistics.median
mem = int(open("/proc/meminfo").read().split()[1]) / 1048576
nproc = os.cpu_count()
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                     text=True).stdout.strip()
engines = ["HTTP", "MessagePack-RPC"] + (["Sphinx SphinxQL"] if sphinx == "1" else [])
conns = (8, 64)
get = {}
for r in rows:
    get.setdefault((r["engine"], r["connections"]), {})[r["round"]] = r
print(f"### HTTP/JSON search, {size} documents ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"Machine: {nproc} cores, {mem:.1f} GiB RAM, load average {l0} at start, {l1} at end "
      f"(shared machine: compare ratios within one run). polysearchd --read-only --workers 2 "
      f"serving MessagePack-RPC and HTTP on 127.0.0.1; {nq} queries (bench/data/queries.txt), "
      f"limit 10, snippets on for both protocols (the search method's default: neither request "
      f"names `snippet`), closed loop, {dur} per run, engines alternating in {rounds} round(s) "
      f"(HTTP, MessagePack-RPC" + (", Sphinx" if sphinx == "1" else "") + ", HTTP, ...) "
      f"after an untimed warm-up pass (each query once per engine).")
print("Rerun: `nice -n 10 bench/http_bench.sh"
      + (f" --rounds {rounds}" if rounds != "2" else "")
      + (f" --duration {dur}" if dur != "20s" else "")
      + (f" --size {size}" if size != "100k" else "")
      + (" --no-sphinx" if sphinx != "1" else "") + "`.\n")
print("| engine | client | conns | QPS | p50 ms | p99 ms | errors | QPS by round |")
print("|---|---|---:|---:|---:|---:|---:|---|")
client = {"HTTP": "wrk -t2, GET /search", "MessagePack-RPC": "ps-loadgen",
          "Sphinx SphinxQL": "ps-loadgen --protocol sphinxql"}
for c in conns:
    for e in engines:
        rs = [v for _, v in sorted(get.get((e, c), {}).items())]
        if not rs:
            print(f"| {e} | {client[e]} | {c} | - | - | - | no result | - |")
            continue
        print(f"| {e} | {client[e]} | {c} | {med(r['qps'] for r in rs):,.0f} | "
              f"{med(r['p50_us'] for r in rs)/1e3:.3f} | {med(r['p99_us'] for r in rs)/1e3:.3f} | "
              f"{sum(r['errors'] for r in rs)} | "
              + " / ".join(f"{r['qps']:,.0f}" for r in rs) + " |")
print()
print("QPS, p50 and p99 are medians over the rounds; errors are summed (HTTP: responses "
      "other than 200 plus wrk's socket errors and timeouts; ps-loadgen: error replies).\n")
def ratio_line(a, b, target, what):
    for c in conns:
        A, B = get.get((a, c), {}), get.get((b, c), {})
        per = [A[k]["qps"] / B[k]["qps"] for k in sorted(A) if k in B and B[k]["qps"]]
        if not per:
            continue
        m = med(per)
        print(f"- {what} at {c} connections: {m:.2f}x (median of "
              + ", ".join(f"{x:.2f}" for x in per) + f"; target >= {target}: "
              + ("met" if m >= target else "**not met**") + ").")
ratio_line("HTTP", "MessagePack-RPC", 0.8, "HTTP / MessagePack-RPC QPS")
if sphinx == "1":
    ratio_line("HTTP", "Sphinx SphinxQL", 1, "HTTP / Sphinx SphinxQL QPS")
def hits(name):
    p = os.path.join(outdir, f"hits-{name}.tsv")
    return [l.split("\t", 1)[0] for l in open(p)] if os.path.exists(p) else None
h, m = hits("http"), hits("msgpack")
if h is not None and m is not None and len(h) == len(m):
    diff = sum(1 for x, y in zip(h, m) if x != y)
    print(f"- Warm-up pass: queries with hits: HTTP {warm.get('HTTP', {}).get('queries_with_hits', '?')}"
          f"/{len(h)}, MessagePack-RPC {warm.get('MessagePack-RPC', {}).get('queries_with_hits', '?')}"
          f"/{len(m)}" + (f", Sphinx {warm['Sphinx SphinxQL']['queries_with_hits']}/{len(m)}"
                          if "Sphinx SphinxQL" in warm else "")
          + f"; queries whose number of hits differs between HTTP and MessagePack-RPC: {diff}"
          + (f"; HTTP errors: {warm['HTTP']['errors']} (first: {warm['HTTP']['first_error']})"
             if warm.get("HTTP", {}).get("errors") else "") + ".")
if sph_idx:
    print(f"- Sphinx indexes built in this run: {float(sph_idx):.1f} s (bench/sphinx/index.sh, "
          "the configuration of bench/search_bench.sh).")
print("- Sphinx returns ids only (`SELECT id FROM ps WHERE MATCH('…') LIMIT 10`; a bare `OR` "
      "becomes `|`), where polysearchd's answers carry titles and snippets. wrk and ps-loadgen "
      "run on the same 2 cores as the servers, at nice 10 like them; wrk uses 2 threads, "
      "ps-loadgen one epoll thread.")
EOF
cat "$table"
if [ "$write_results" = 1 ]; then
    python3 "$here/results_section.py" http "$table"
    log "wrote bench/RESULTS.md (http section)"
fi
