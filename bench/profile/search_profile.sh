#!/usr/bin/env bash
# search_profile.sh: where polysearchd's search time goes on a large
# database (issue 14: "profile the search path at 1M"), written between the
# search-profile markers of bench/RESULTS.md.
#
# One polysearchd (--workers N, default 2) on DB; ps-loadgen replays
# bench/data/queries.txt at CONNS connections (default 8) for SECONDS,
# after its untimed warm-up pass, while
#   - perf record --call-graph dwarf samples the daemon's CPU: the share of
#     its samples under each part of a search (inclusive), and
#   - /proc/PID/stat and /proc/PID/io give its CPU time and the bytes it
#     read from the disk during the run: CPU below workers x 100 % with a
#     queue of requests waiting means the workers wait (for the disk).
# Usage: bench/profile/search_profile.sh [--db DIR] [--workers N]
#          [--connections N] [--seconds N] [--snippet on|off] [--no-results]
# Env: PS_BIN_DIR (default build-writer-rel/, RelWithDebInfo, built here),
#      BENCH_OUT (default bench/out/search-profile).  Default DB:
#      bench/out/search/ps-1m.db (bench/index_bench.sh --only 1m --keep-db).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/.." && pwd)
root=$(cd "$bench/.." && pwd)
out=${BENCH_OUT:-$bench/out/search-profile}
db=$bench/out/search/ps-1m.db
workers=2
conns=8
secs=30
snippet=""
write_results=1
while [ $# -gt 0 ]; do
    case "$1" in
        --db) db="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --connections) conns="$2"; shift 2 ;;
        --seconds) secs="$2"; shift 2 ;;
        --snippet) snippet="$2"; shift 2 ;;
        --no-results) write_results=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "search_profile.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$workers$conns$secs" in *[!0-9]*) echo "search_profile.sh: --workers, --connections and --seconds want numbers" >&2; exit 64 ;; esac
case "$snippet" in ""|on|off) ;; *) echo "search_profile.sh: --snippet wants on or off" >&2; exit 64 ;; esac
[ -d "$db" ] || { echo "search_profile.sh: no database at $db (bench/index_bench.sh --only 1m --keep-db $db)" >&2; exit 66; }
command -v perf > /dev/null || { echo "search_profile.sh: perf missing (apt-get install linux-perf)" >&2; exit 69; }
log() { echo "search_profile.sh: $*" >&2; }

. "$here/lib.sh"
prof_build polysearchd ps-loadgen
loadgen=$(find "$PS_BIN_DIR" -type f -name ps-loadgen -perm -u+x | head -1)
queries=$bench/data/queries.txt
[ -s "$queries" ] || python3 "$bench/make_queries.py"

rm -rf "$out"; mkdir -p "$out"
prof_start --db "$db" --read-only --workers "$workers"
# The warm-up pass (each query once) first, unmeasured.
"$loadgen" --port-file "$out/port" --queries "$queries" --connections 1 \
    --duration 1s > /dev/null 2>&1 || true
ticks() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
rbytes() { awk '/^read_bytes/ {print $2}' "/proc/$dpid/io"; }
t0=$(ticks); r0=$(rbytes); load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "$conns connection(s), ${secs}s under perf record ..."
prof_record "$secs"
args=(); [ -n "$snippet" ] && args=(--snippet "$snippet")
"$loadgen" --port-file "$out/port" --queries "$queries" --connections "$conns" \
    --duration "${secs}s" --no-warmup "${args[@]}" > "$out/loadgen.json" 2> "$out/loadgen.log"
wait "$ppid" || true
t1=$(ticks); r1=$(rbytes); load1=$(cut -d' ' -f1-3 /proc/loadavg)
prof_report
hz=$(getconf CLK_TCK)

PYTHONPATH=$here python3 - "$out/children.txt" "$out/loadgen.json" "$db" "$workers" "$conns" "$secs" \
    "$((t1 - t0))" "$hz" "$((r1 - r0))" "$load0" "$load1" "${snippet:-default}" \
    > "$out/section.md" <<'EOF'
import json, os, subprocess, sys, time
import perf_rows
(children, lg, db, workers, conns, secs, ticks, hz, rbytes, l0, l1, snip) = sys.argv[1:13]
incl = perf_rows.load(children)
r = json.loads(open(lg).read().strip().splitlines()[-1])
size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(db) for f in fs)
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = int(ticks) / int(hz) / float(secs) * 100
print(f"### Search path profile ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"polysearchd --workers {workers} --read-only on {db} ({size / 1e9:.1f} GB), ps-loadgen at "
      f"{conns} connections for {secs} s after a warm-up pass (snippets: {snip}); perf record "
      f"-F 499 --call-graph dwarf on the daemon. Load average {l0} at start, {l1} at end. "
      f"Rerun: `bench/profile/search_profile.sh --workers {workers} --connections {conns}`.\n")
print(f"Figures of the profiled run: {r['qps']:,.0f} QPS, p50 {r['p50_us'] / 1e3:.1f} ms, "
      f"p99 {r['p99_us'] / 1e3:.1f} ms; daemon CPU {cpu:.0f} % of one core (of {int(workers) * 100} % "
      f"its workers could use); read from the disk during the run: {int(rbytes) / 1e6:,.0f} MB "
      f"({int(rbytes) / max(1, r['qps'] * float(secs)) / 1024:.0f} KiB per query).\n")
perf_rows.print_table(incl, [
    ("a search (ps_search)", ["ps_search"]),
    ("  matching: Xapian's get_mset (posting lists, weights)", ["Xapian::Enquire::Internal::get_mset"]),
    ("  query parsing (one parse per language)", ["Xapian::QueryParser::parse_query"]),
    ("  snippets (document text, highlighting)", ["ps_snippet_make_ex"]),
    ("  document data (get_data)", ["Xapian::Document::get_data"]),
    ("  spelling suggestions", ["Xapian::Database::get_spelling_suggestion"]),
    ("  decompression (zlib inflate)", ["inflate"]),
    ("  reading blocks (pread, kernel)", ["__libc_pread64", "pread64", "__pread64"]),
    ("I/O thread (libevent)", ["event_base_loop"]),
])
EOF
cat "$out/section.md"
if [ "$write_results" = 1 ]; then
    python3 "$bench/results_section.py" search-profile "$out/section.md"
    log "wrote bench/RESULTS.md (search-profile section)"
fi
