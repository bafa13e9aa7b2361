#!/usr/bin/env bash
# write_profile.sh: where polysearchd's CPU goes while clients write and
# search at once (the write-ahead-log path of issue 14), written between
# the write-profile markers of bench/RESULTS.md.
#
# One polysearchd (--workers 2, the write-ahead log on, default
# checkpoints) on a copy of the first 1000 documents of the sample corpus;
# bench/write_bench.py drives 8 writing clients (add of BATCH documents
# plus a sentinel, then a search on another connection until the sentinel
# is found) and 8 searching clients for SECONDS, while perf records the
# daemon (--call-graph dwarf).  The report gives the share of the daemon's
# samples under each part of the work (inclusive: a frame and everything
# it calls) and the phase's figures.
# Usage: bench/profile/write_profile.sh [--seconds N] [--batch N]
#                                       [--no-results]
# Env: PS_BIN_DIR (default build-writer-rel/, RelWithDebInfo, built here),
#      BENCH_OUT (default bench/out/write-profile), CORPUS (default
#      ../shared/corpus/sample.jsonl).  Needs perf (linux-perf) and
#      /usr/bin/python3 with python3-msgpack.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/.." && pwd)
root=$(cd "$bench/.." && pwd)
out=${BENCH_OUT:-$bench/out/write-profile}
corpus=${CORPUS:-$root/../shared/corpus/sample.jsonl}
secs=15
batch=10
write_results=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) secs="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --no-results) write_results=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "write_profile.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$secs$batch" in *[!0-9]*) echo "write_profile.sh: --seconds and --batch want numbers" >&2; exit 64 ;; esac
command -v perf > /dev/null || { echo "write_profile.sh: perf missing (apt-get install linux-perf)" >&2; exit 69; }
log() { echo "write_profile.sh: $*" >&2; }

. "$here/lib.sh"
prof_build polysearchd polysearch-index
psindex=$PS_BIN_DIR/indexer/polysearch-index

rm -rf "$out"; mkdir -p "$out"
head -n 1000 "$corpus" > "$out/base.jsonl"
"$psindex" --db "$out/db" "$out/base.jsonl" > /dev/null 2>&1
prof_start --db "$out/db" --workers 2
load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "8 writers + 8 searchers for ${secs}s under perf record ..."
prof_record "$((secs - 1))"
/usr/bin/python3 "$bench/write_bench.py" --phase w8 "$(cat "$out/port")" "$corpus" \
    "$secs" "$batch" 8 8 "$out/phase.jsonl"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
prof_report

alt=""
if /usr/bin/python3 -c 'import xapian' 2> /dev/null; then
    alt=$(/usr/bin/python3 "$here/delta_cost.py" "$corpus")
else
    log "python3-xapian missing: no delta-cost line"
fi
PYTHONPATH=$here python3 - "$out/children.txt" "$out/phase.jsonl" "$load0" "$load1" "$secs" "$batch" "$alt" \
    > "$out/section.md" <<'EOF'
import json, subprocess, sys, time
import perf_rows
children, phase, l0, l1, secs, batch = sys.argv[1:7]
incl = perf_rows.load(children)
ph = json.loads(open(phase).read().splitlines()[-1])
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"### Write path profile ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"polysearchd --workers 2 with the write-ahead log, 8 writing clients ({batch} documents "
      f"+ a sentinel per add, then a search until the sentinel is visible) and 8 searching "
      f"clients for {secs} s; perf record -F 499 --call-graph dwarf on the daemon. "
      f"Load average {l0} at start, {l1} at end. "
      "Rerun: `bench/profile/write_profile.sh`.\n")
print(f"Figures of the profiled phase: {ph['docs_s']:.0f} docs/s, {ph['searches_s']:.0f} searches/s, "
      f"ack p50 {ph['a_p50']:.0f} ms, visible p50 {ph['v_p50']:.0f} ms / p99 {ph['v_p99']:.0f} ms, "
      f"search p50 {ph['s_p50']:.1f} ms / p99 {ph['s_p99']:.0f} ms.\n")
perf_rows.print_table(incl, [
    ("workers: bringing their view of the delta up to date (psi::delta_sync)", ["psi::delta_sync"]),
    ("  of which adding documents to the worker's in-memory Xapian database",
     ["Xapian::Database::Internal::replace_document"]),
    ("  of which unserialising the documents", ["Xapian::Document::unserialise"]),
    ("workers: the search itself (match, snippets, spelling)", ["search_once (inlined)", "search_once"]),
    ("writer thread (analysis, the delta, the log)", ["writer_main"]),
    ("  of which analysis (ps_doc_prepare)", ["ps_doc_prepare"]),
    ("checkpointer: committing the delta to the database", ["ckpt_main"]),
    ("I/O thread (libevent: reading, decoding, answering)", ["event_base_loop"]),
])
print()
print("- Reading: every worker keeps its own in-memory Xapian database of the changes "
      "acknowledged since the last checkpoint and adds each new document to it before its "
      "next search, so each document is indexed once by the checkpoint and once per worker. "
      "Xapian objects cannot be shared between threads (reference counts are not atomic), "
      "so one shared in-memory database would serialise the searches; the alternative is one "
      "delta index built once per group and opened read-only by every worker (a scratch "
      "glass database committed without fsync, replaced at each checkpoint).")
alt = sys.argv[7] if len(sys.argv) > 7 else ""
if alt:
    a = json.loads(alt)
    print(f"- The two ways of holding the delta, measured here with python3-xapian on "
          f"{a['docs']:,} sample documents (bench/profile/delta_cost.py): "
          f"{a['inmem_ms']:.2f} ms per document into an in-memory database (paid by every "
          f"worker), {a['glass_ms']:.2f} ms into a glass database committed every "
          f"{a['group']} documents without sync ({a['commit_ms']:.1f} ms per commit; paid once).")
EOF
cat "$out/section.md"
if [ "$write_results" = 1 ]; then
    python3 "$bench/results_section.py" write-profile "$out/section.md"
    log "wrote bench/RESULTS.md (write-profile section)"
fi
