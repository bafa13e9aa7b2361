#!/usr/bin/env bash
# index_profile.sh: where polysearch-index's time goes on the 100k corpus,
# written between the index-profile markers of bench/RESULTS.md.
#
# Runs, one after the other, each into a fresh database (under nice -n 10):
#   1. serial build (--parallel-build off): perf record -F 49 --call-graph
#      dwarf, samples classed by categorize.py (analysis, Xapian's inverter,
#      B-tree writes at commit, compression, system calls...);
#   2. the same build under strace -f -c -w --seccomp-bpf for fdatasync,
#      fsync, pwrite64 and pread64: the wall-clock time spent in them
#      (perf samples CPU only; an fdatasync mostly waits);
#   3. the first --detect-docs documents without their lang field (every
#      document through CLD2): the language ID share;
#   4. parallel build (--parallel-build 2): the same profile, by thread.
# --report-only writes the section again from the last run's outputs.
# Usage: bench/profile/index_profile.sh [--docs N] [--detect-docs N]
#                                       [--report-only] [--no-results]
# Env: PS_BIN_DIR (default build-bench-prof/, a Release build with -g made
#      here), BENCH_OUT (default bench/out/profile).  Needs perf
#      (linux-perf) and strace; perf must be allowed to record
#      (perf_event_paranoid <= 2 for one's own processes).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/.." && pwd)
root=$(cd "$bench/.." && pwd)
out=${BENCH_OUT:-$bench/out/profile}
docs=0
detect_docs=20000
write_results=1
report_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) docs="$2"; shift 2 ;;
        --detect-docs) detect_docs="$2"; shift 2 ;;
        --no-results) write_results=0; shift ;;
        --report-only) report_only=1; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "index_profile.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
wall_cpu() {    # wall_cpu TIMEFILE: "W s wall, C CPU-s (P %)"
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
        /User time/ {u=$2} /System time/ {s=$2} /Percent of CPU/ {p=$2}
        END {printf "%.0f s wall, %.0f CPU-s (%s)", w, u+s, p}' "$1"
}
log() { echo "index_profile.sh: $*" >&2; }
if [ "$report_only" = 0 ]; then
for tool in perf strace /usr/bin/time; do
    command -v "$tool" > /dev/null || { echo "index_profile.sh: $tool missing (apt-get install linux-perf strace time)" >&2; exit 69; }
done
if ! perf record -q -o /dev/null -- true 2> /dev/null; then
    echo "index_profile.sh: perf cannot record here (perf_event_paranoid $(cat /proc/sys/kernel/perf_event_paranoid))" >&2
    exit 69
fi
if [ -z "${PS_BIN_DIR:-}" ]; then
    PS_BIN_DIR=$root/build-bench-prof
    cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g \
        -DCMAKE_CXX_FLAGS=-g -DBUILD_TESTING=OFF > /dev/null
    nice -n 10 cmake --build "$PS_BIN_DIR" --target polysearch-index -j1 > /dev/null
fi
psindex=$(find "$PS_BIN_DIR" -type f -name polysearch-index -perm -u+x | head -1)
[ -n "$psindex" ] || { echo "index_profile.sh: no polysearch-index under $PS_BIN_DIR" >&2; exit 69; }

corpus=$bench/data/corpus-100k.jsonl
[ -s "$corpus" ] || "$bench/build_corpus.sh"
mkdir -p "$out"
input=$out/input.jsonl
if [ "$docs" -gt 0 ]; then head -n "$docs" "$corpus" > "$input"; else cp "$corpus" "$input"; fi
ndocs=$(grep -c . "$input")
head -n "$detect_docs" "$corpus" | python3 -c 'import json,sys
for l in sys.stdin:
    if l.strip():
        d=json.loads(l); d.pop("lang",None); print(json.dumps(d,ensure_ascii=False))' > "$out/nolang.jsonl"
db=$out/db

# profile NAME INPUT ARGS...: perf record of one build; leaves
# $out/NAME.{time,txt,md}.
profile() {
    local name=$1 in=$2; shift 2
    rm -rf "$db"
    log "$name: perf record ($(grep -c . "$in") documents) ..."
    /usr/bin/time -v -o "$out/$name.time" nice -n 10 perf record -q -F 49 --call-graph dwarf \
        -o "$out/$name.data" -- "$psindex" --db "$db" -q "$@" --jsonl "$in" > "$out/$name.log" 2>&1
    rm -rf "$db"
    perf script -i "$out/$name.data" -F tid,ip,sym,dso 2> /dev/null > "$out/$name.txt"
    python3 "$here/categorize.py" --markdown < "$out/$name.txt" > "$out/$name.md"
    rm -f "$out/$name.data"
}

start_load=$(cut -d' ' -f1-3 /proc/loadavg)
profile serial "$input" --parallel-build off
log "serial: strace -c -w (time in fdatasync, fsync, pwrite64, pread64) ..."
rm -rf "$db"
/usr/bin/time -v -o "$out/strace.time" nice -n 10 strace -f -c -w --seccomp-bpf -o "$out/strace.txt" \
    -e trace=fdatasync,fsync,pwrite64,pread64 \
    "$psindex" --db "$db" -q --parallel-build off --jsonl "$input" > /dev/null 2>&1
rm -rf "$db"
profile detect "$out/nolang.jsonl" --parallel-build off
profile parallel "$input" --parallel-build 2
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "ndocs=$ndocs"
    echo "detect_docs=$detect_docs"
    echo "start_load='$start_load'"
    echo "end_load='$end_load'"
    echo "rev=$(git -C "$root" rev-parse --short HEAD)"
} > "$out/run.txt"
fi  # report_only
# shellcheck source=/dev/null
source "$out/run.txt"
for name in serial detect parallel; do
    python3 "$here/categorize.py" --markdown < "$out/$name.txt" > "$out/$name.md"
done
section=$out/index-profile.md
{
    echo "### Where indexing time goes ($(date -u -r "$out/run.txt" '+%Y-%m-%d %H:%M UTC'), commit $rev)"
    echo
    echo "Rerun: \`bench/profile/index_profile.sh\` ($ndocs documents of corpus-100k.jsonl; Release build with -g; perf record -F 49 --call-graph dwarf; load average $start_load at start, $end_load at end: the machine is shared, so CPU-seconds are inflated alike for every part)."
    echo "Each sample is classed by the first frame naming a category (bench/profile/categorize.py); libxapian is stripped, so its time is classed by the polysearch call above it."
    echo
    echo "Serial build (\`--parallel-build off\`, how every build ran before): $(wall_cpu "$out/serial.time")."
    echo
    echo "Reading: Xapian's side (the inverter in add_document, the B-tree flush at each commit, zlib, the"
    echo "system calls) is about 70 % of the CPU and runs on the one writer thread (thread table),"
    echo "so a serial build is bounded by that thread while the analysis threads idle; fdatasync costs"
    echo "little CPU but its waits add wall time (strace below).  Hence the parallel build: the writes split"
    echo "over two part writers without fsync, and the merge (Xapian's compactor) costs a few percent."
    echo
    cat "$out/serial.md"
    echo
    echo "Time inside the system calls of the same serial build (strace -c -w, wall clock, all threads):"
    echo
    echo '```'
    sed -n '1,12p' "$out/strace.txt"
    echo '```'
    echo "Whole run under strace: $(wall_cpu "$out/strace.time")."
    echo
    echo "Language ID: the first $detect_docs documents without their \`lang\` (every document through CLD2), serial: $(wall_cpu "$out/detect.time")."
    echo
    echo "| where | share of CPU samples |"
    echo "|---|---:|"
    grep '^| analysis: language ID' "$out/detect.md" || echo "| analysis: language ID (CLD2) | 0 % |"
    echo
    echo "Parallel build (\`--parallel-build 2\`): $(wall_cpu "$out/parallel.time")."
    echo
    cat "$out/parallel.md"
} > "$section"
cat "$section"
if [ "$write_results" = 1 ]; then
    python3 "$bench/results_section.py" index-profile "$section"
    log "wrote bench/RESULTS.md (index-profile section)"
fi
