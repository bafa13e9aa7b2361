#!/usr/bin/env bash
# index_bench.sh: indexing benchmark, polysearch-index vs Xapian's scriptindex,
# on (a) ../shared/corpus/sample.jsonl and (b) the 100k corpus
# (bench/build_corpus.sh), in the same run.  Writes the table between the
# indexing markers of bench/RESULTS.md.
#
# Per input and engine: wall time, docs/s, MB/s (input JSONL bytes / wall
# time), peak RSS and CPU% (/usr/bin/time -v), index size (du -sb).
# Rows:
#   polysearch-index        the JSONL as is (its `lang` field wins)
#   polysearch-index detect the JSONL without `lang`: language ID on every doc
#   scriptindex             one run per language into one database, with
#                           that language's stemmer (bench/scriptindex/);
#                           the JSONL -> dump conversion is timed apart.
#   polysearch-batch10k     100k only: --batch 10000 (Xapian's default
#                           flush threshold) instead of the default 1000
# Usage: bench/index_bench.sh [--only sample|100k] [--no-detect]
#                             [--no-batch-variant] [--no-results]
# Env: PS_BIN_DIR (default: build-bench-rel/, built here as Release),
#      BENCH_OUT (default bench/out/index).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/index}
only=""
detect=1
batch_variant=1
write_results=1
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --no-detect) detect=0; shift ;;
        --no-batch-variant) batch_variant=0; shift ;;
        --no-results) write_results=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "index_bench.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done

for tool in /usr/bin/time /usr/bin/scriptindex; do
    if [ ! -x "$tool" ]; then
        echo "index_bench.sh: $tool missing (apt-get install time xapian-omega)" >&2
        exit 69
    fi
done

if [ -z "${PS_BIN_DIR:-}" ]; then
    PS_BIN_DIR=$root/build-bench-rel
    cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    nice -n 10 cmake --build "$PS_BIN_DIR" --target polysearch-index -j2 >/dev/null
fi
psindex=$(find "$PS_BIN_DIR" -type f -name polysearch-index -perm -u+x | head -1)
if [ -z "$psindex" ]; then
    echo "index_bench.sh: polysearch-index not found under $PS_BIN_DIR" >&2
    exit 69
fi

mkdir -p "$out"
rows="$out/rows.tsv"
: > "$rows"

# measure NAME INPUT DB DOCS CMD...: runs CMD under /usr/bin/time -v (nice
# 10), appends one TSV row: name input docs bytes wall cpu% rss_kb size exit.
measure() {
    local name=$1 input=$2 db=$3 docs=$4; shift 4
    local tf="$out/time-$name-$(basename "$input").txt" rc=0
    local bytes; bytes=$(stat -c %s "$input")
    echo "index_bench.sh: $name on $(basename "$input") ..." >&2
    sync
    /usr/bin/time -v -o "$tf" nice -n 10 "$@" > "$out/log-$name-$(basename "$input").txt" 2>&1 || rc=$?
    local wall cpu rss size
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
    cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$tf")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
    size=$(du -sb "$db" 2>/dev/null | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(basename "$input")" \
        "$docs" "$bytes" "$wall" "$cpu" "$rss" "${size:-0}" "$rc" >> "$rows"
    [ "$rc" = 0 ] || echo "index_bench.sh: $name exited $rc (see $out/log-$name-$(basename "$input").txt)" >&2
}

run_input() {
    local input=$1 tag=$2
    local docs; docs=$(grep -c . "$input")
    local db="$out/db-$tag"

    rm -rf "$db-ps"
    measure polysearch-index "$input" "$db-ps" "$docs" "$psindex" --db "$db-ps" --jsonl "$input"
    rm -rf "$db-ps"

    # Same, committing every 10,000 documents (Xapian's default flush
    # threshold, which scriptindex uses) instead of the default 1,000.
    if [ "$batch_variant" = 1 ] && [ "$tag" = 100k ]; then
        rm -rf "$db-psb"
        measure polysearch-batch10k "$input" "$db-psb" "$docs" "$psindex" --db "$db-psb" \
            --batch 10000 --jsonl "$input"
        rm -rf "$db-psb"
    fi

    if [ "$detect" = 1 ]; then
        local nolang="$out/$tag-nolang.jsonl"
        python3 -c 'import json,sys
for l in sys.stdin:
    if l.strip():
        d=json.loads(l); d.pop("lang",None); print(json.dumps(d,ensure_ascii=False))' < "$input" > "$nolang"
        rm -rf "$db-psd"
        measure polysearch-detect "$nolang" "$db-psd" "$docs" "$psindex" --db "$db-psd" --jsonl "$nolang"
        rm -f "$nolang"
        rm -rf "$db-psd"
    fi

    local dumps="$out/dump-$tag"
    rm -rf "$dumps" "$db-si"
    local t0 t1
    t0=$(date +%s.%N)
    python3 "$here/scriptindex/jsonl2dump.py" "$input" "$dumps" > "$dumps.list"
    t1=$(date +%s.%N)
    echo "convert-$tag $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" >> "$out/convert.txt"
    # One scriptindex run per language into one database.
    local script="$out/scriptindex-$tag.sh"
    {
        echo 'set -e'
        first=--overwrite
        while read -r lang stemmer path; do
            echo "/usr/bin/scriptindex $first -s $stemmer '$db-si' '$here/scriptindex/polysearch.index' '$path'"
            first=""
        done < "$dumps.list"
    } > "$script"
    measure scriptindex "$input" "$db-si" "$docs" bash "$script"
    rm -rf "$dumps" "$db-si"
}

: > "$out/convert.txt"
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$only" != 100k ]; then
    run_input /work/shared/corpus/sample.jsonl sample
fi
if [ "$only" != sample ]; then
    corpus="$here/data/corpus-100k.jsonl"
    [ -s "$corpus" ] || "$here/build_corpus.sh"
    run_input "$corpus" 100k
fi
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# Table.
table="$out/indexing.md"
python3 - "$rows" "$out/convert.txt" "$start_load" "$end_load" "$only" > "$table" <<'EOF'
import subprocess, sys, time
rows_path, conv_path, l0, l1, only = sys.argv[1:6]
rows = [l.rstrip("\n").split("\t") for l in open(rows_path) if l.strip()]
conv = dict(l.split() for l in open(conv_path) if l.strip())
mem = int(open("/proc/meminfo").read().split()[1]) / 1048576
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"### Indexing ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"Machine: {nproc} cores, {mem:.1f} GiB RAM, load average {l0} at start, {l1} at end "
      "(the machine is shared: figures vary; compare the ratios within one run).")
print("Rerun: `bench/index_bench.sh" + (f" --only {only}" if only else "")
      + "` (Release build in build-bench-rel/; everything under `nice -n 10`).\n")
print("| input | engine | docs | wall s | docs/s | MB/s | CPU % | peak RSS MiB | index MB | exit |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
by = {}
for name, inp, docs, nbytes, wall, cpu, rss, size, rc in rows:
    w = float(wall or 0) or 1e-9
    by[(inp, name)] = w
    print(f"| {inp} | {name} | {int(docs):,} | {w:.1f} | {int(docs)/w:,.0f} | {int(nbytes)/1e6/w:.2f} "
          f"| {cpu} | {int(rss or 0)/1024:.0f} | {int(size)/1e6:.1f} | {rc} |")
print()
for inp in sorted({r[1] for r in rows}):
    if (inp, "scriptindex") in by and (inp, "polysearch-index") in by:
        print(f"- {inp}: polysearch-index / scriptindex wall-time ratio "
              f"{by[(inp, 'polysearch-index')] / by[(inp, 'scriptindex')]:.2f} (< 1 means polysearch is faster).")
for k, v in sorted(conv.items()):
    print(f"- scriptindex input conversion (JSONL -> dump files, python, not counted above): {k} {float(v):.1f} s.")
print("- polysearch-index gets the corpus's ground-truth `lang` (an input `lang` wins over detection); "
      "the `polysearch-detect` row strips it so every document goes through language ID. "
      "scriptindex cannot detect languages: it is run once per language with that language's stemmer "
      "(pl: none, Xapian has no Polish stemmer) and does no diacritic folding.")
print("- CPU % above 100 means both cores were used. Databases are deleted after each row "
      "(sizes are measured first), so the runs do not compete for page cache.")
EOF
cat "$table"
if [ "$write_results" = 1 ]; then
    python3 "$here/results_section.py" indexing "$table"
    echo "index_bench.sh: wrote bench/RESULTS.md (indexing section)" >&2
fi
