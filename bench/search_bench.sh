#!/usr/bin/env bash
# search_bench.sh: search benchmark on the 100k corpus, in one run:
#   - ps-inproc-bench: the queries through the C API, 1 thread (the floor);
#   - polysearchd (--workers 2) driven by ps-loadgen at 1, 8 and 64
#     connections (depth 1), RSS sampled every second (8 connections: the
#     long run, default 60 s);
#   - Sphinx 2.2 searchd (Debian sphinxsearch, /usr/bin/indexer and
#     /usr/bin/searchd by full path) over SphinxQL with the same load
#     generator, the same queries and the same connection counts.
# Every run starts with an untimed warm-up pass (each query once; the
# queries with >= 1 hit are counted per engine), then the timed run.
# Writes the table between the search markers of bench/RESULTS.md.
#
# Usage: bench/search_bench.sh [--duration 20s] [--long 60s] [--no-sphinx]
#                              [--no-results] [--reindex] [--size 100k|1m]
#                              [--db DIR] [--workers N]
#   --size 1m    the 1M corpus (bench/build_corpus.sh --docs 1000000); its
#                table goes to the search-1m section
#   --db DIR     polysearchd's database (default: bench/out/search/ps-SIZE.db,
#                built here with polysearch-index when missing); e.g. the one
#                bench/index_bench.sh --only 1m --keep-db DIR left
#   --workers N  polysearchd --workers (default 2, the cores)
# Env: PS_BIN_DIR (default: build-bench-rel/, built here as Release),
#      BENCH_OUT (default bench/out/search).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/search}
duration=20s
long=60s
sphinx=1
write_results=1
reindex=0
size=100k
dbarg=""
workers=2
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --long) long="$2"; shift 2 ;;
        --no-sphinx) sphinx=0; shift ;;
        --no-results) write_results=0; shift ;;
        --reindex) reindex=1; shift ;;
        --size) size="$2"; shift 2 ;;
        --db) dbarg="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "search_bench.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$size" in 100k|1m) ;; *) echo "search_bench.sh: --size wants 100k or 1m" >&2; exit 64 ;; esac
mkdir -p "$out"
log() { echo "search_bench.sh: $*" >&2; }
# sl_build, findbin, sl_data, sl_db, wait_file, sl_sphinx_*: shared with
# bench/http_bench.sh.
. "$here/search_lib.sh"

# ---- binaries ------------------------------------------------------------
sl_build polysearch-index polysearchd ps-loadgen ps-inproc-bench
psindex=$(findbin polysearch-index)
psd=$(findbin polysearchd)
loadgen=$(findbin ps-loadgen)
inproc=$(findbin ps-inproc-bench)

# ---- data ----------------------------------------------------------------
sl_data "$size"
db=${dbarg:-$out/ps-$size.db}
sl_db "$db" "$reindex" "$size" "$psindex" "$out/index.log"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

results=$out/results.jsonl
: > "$results"
start_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- in-process floor ----------------------------------------------------
# With snippets (what polysearchd's search does by default) and without.
log "in-process floor (C API, 1 thread) ..."
nice -n 10 "$inproc" --db "$db" --queries "$queries" --duration "$duration" \
    --hits-out "$out/hits-inproc.tsv" | sed 's/^{/{"engine":"in-process",/' >> "$results" || true
nice -n 10 "$inproc" --db "$db" --queries "$queries" --duration "$duration" --no-snippets \
    | sed 's/^{/{"engine":"in-process, snippet off",/' >> "$results" || true

# ---- polysearchd ---------------------------------------------------------
log "polysearchd --workers $workers ..."
rm -f "$out/psd.port"
nice -n 10 "$psd" --db "$db" --listen 127.0.0.1:0 --port-file "$out/psd.port" \
    --workers "$workers" --quiet > "$out/polysearchd.log" 2>&1 &
psd_pid=$!
pids+=("$psd_pid")
wait_file "$out/psd.port" 30 "$psd_pid"
# Default requests ({q, limit}: snippets on, as a client gets them), then
# snippet:false, which is what Sphinx's SELECT returns (ids only).
for snip in default off; do
    for c in 1 8 64; do
        d=$duration; [ "$c" = 8 ] && [ "$snip" = default ] && d=$long
        name=polysearchd; args=()
        [ "$snip" = off ] && { name="polysearchd, snippet off"; args=(--snippet off); }
        log "  $name: $c connection(s), $d"
        nice -n 10 "$loadgen" --port-file "$out/psd.port" --queries "$queries" \
            --connections "$c" --duration "$d" --pid "$psd_pid" --label "$name" "${args[@]}" \
            --hits-out "$out/hits-polysearchd.tsv" 2>> "$out/loadgen.log" \
            | sed "s/^{/{\"engine\":\"$name\",/" >> "$results" || true
    done
done
kill "$psd_pid"; wait "$psd_pid" || log "polysearchd exited $?"

# ---- Sphinx ----------------------------------------------------------------
sphinx_index_s=""
if [ "$sphinx" = 1 ]; then
    sl_sphinx_check
    sdir=$out/sphinx
    port=$(sl_free_port)
    sl_sphinx_index "$sdir" "$port"
    sl_sphinx_start "$sdir" "$port"
    for c in 1 8 64; do
        d=$duration; [ "$c" = 8 ] && d=$long
        log "  sphinx searchd: $c connection(s), $d"
        nice -n 10 "$loadgen" --protocol sphinxql --port "$port" --queries "$queries" \
            --connections "$c" --duration "$d" --pid "$sph_pid" --label "sphinx" \
            --hits-out "$out/hits-sphinx.tsv" 2>> "$out/loadgen.log" \
            | sed 's/^{/{"engine":"sphinx searchd",/' >> "$results" || true
    done
    kill "$sph_pid"; wait "$sph_pid" || true
fi
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- table ---------------------------------------------------------------
table=$out/search.md
python3 - "$results" "$start_load" "$end_load" "$duration" "$long" "$nq" \
    "${sphinx_index_s:-}" "$out" "$size" "$workers" > "$table" <<'EOF'
import json, os, subprocess, sys, time
path, l0, l1, dur, long_, nq, sph_idx, outdir, size, workers = sys.argv[1:11]
rows = [json.loads(l) for l in open(path) if l.strip()]
mem = int(open("/proc/meminfo").read().split()[1]) / 1048576
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"### Search, {size} documents ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"Machine: {nproc} cores, {mem:.1f} GiB RAM, load average {l0} at start, {l1} at end "
      f"(shared machine: compare ratios within one run). {size}-document corpus, polysearchd --workers {workers}, "
      f"{nq} queries (bench/data/queries.txt), limit 10, closed loop, pipelining depth 1, "
      f"{dur} per run ({long_} at 8 connections), after an untimed warm-up pass.")
print(f"Rerun: `bench/search_bench.sh --duration {dur} --long {long_}"
      + (f" --size {size}" if size != "100k" else "") + (f" --workers {workers}" if workers != "2" else "")
      + "`.\n")
print("| engine | conns | QPS | p50 ms | p95 ms | p99 ms | max ms | errors | queries with hits | RSS MiB first / max / last |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
def mb(k): return f"{k/1024:.0f}"
for r in rows:
    rss = (f"{mb(r['rss_kb_first'])} / {mb(r['rss_kb_max'])} / {mb(r['rss_kb_last'])}"
           if r.get("rss_kb_max") else "-")
    print(f"| {r['engine']} | {r['connections']} | {r['qps']:,.0f} | {r['p50_us']/1e3:.3f} | "
          f"{r['p95_us']/1e3:.3f} | {r['p99_us']/1e3:.3f} | {r['max_us']/1e3:.1f} | {r['errors']} | "
          f"{r['queries_with_hits']}/{r['queries']} | {rss} |")
print()
get = {(r["engine"], r["connections"]): r for r in rows}
for sfx in ("", ", snippet off"):
    ip, d1 = get.get(("in-process" + sfx, 1)), get.get(("polysearchd" + sfx, 1))
    if ip and d1 and ip["p50_us"]:
        print(f"- Daemon overhead{sfx}: p50 at 1 connection {d1['p50_us']/1e3:.3f} ms vs in-process "
              f"{ip['p50_us']/1e3:.3f} ms = {d1['p50_us']/ip['p50_us']:.2f}x (target <= 1.3x).")
for sfx in ("", ", snippet off"):
    for c in (8, 64):
        a, b = get.get(("polysearchd" + sfx, c)), get.get(("sphinx searchd", c))
        if a and b and b["qps"]:
            print(f"- QPS at {c} connections: polysearchd{sfx} {a['qps']:,.0f} vs Sphinx {b['qps']:,.0f} "
                  f"= {a['qps']/b['qps']:.2f}x (target >= 1; Sphinx returns ids without snippets).")
d8 = get.get(("polysearchd", 8))
if d8 and d8.get("rss_kb"):
    s = d8["rss_kb"]
    print(f"- polysearchd RSS over the {long_} run at 8 connections ({len(s)} samples): "
          f"{s[0]/1024:.1f} -> {s[-1]/1024:.1f} MiB (max {max(s)/1024:.1f}), "
          f"growth {(s[-1]-s[0])/1024:+.1f} MiB.")
if sph_idx:
    print(f"- Sphinx indexer on the same corpus: {float(sph_idx):.1f} s "
          "(one index per language, morphology stem_en / libstemmer_<lang>, none for pl; "
          "charset_table folds U+00C0..U+024F to base letters; index_exact_words = 1; "
          "distributed index over the languages; workers = threads, listen_backlog = 256).")
print("- Queries are sent to every engine as written in queries.txt; for Sphinx, a bare "
      "`OR` becomes `|` and operator characters are escaped (bench/loadgen/proto_sphinxql.c). "
      "Hit counts per query are in bench/out/search/hits-*.tsv.")
print("- The load generator runs on the same 2 cores as the server (one thread, epoll), for every engine alike.")
EOF
cat "$table"
if [ "$write_results" = 1 ]; then
    section=search; [ "$size" = 1m ] && section=search-1m
    python3 "$here/results_section.py" "$section" "$table"
    log "wrote bench/RESULTS.md ($section section)"
fi
