#!/usr/bin/env bash
# index_bench.sh: indexing benchmark on (a) ../shared/corpus/sample.jsonl
# and (b) the 100k corpus (bench/build_corpus.sh): polysearch-index
# (serial and parallel), Xapian's scriptindex and Sphinx's indexer, in
# the same run, in rounds: every engine once per round, in the same order
# (A B C D A B C D...), so that a drift of the shared machine hits every
# engine alike; ratios are taken within each round and their median
# reported.  Writes the table between the indexing markers of
# bench/RESULTS.md.
#
# Per input, engine and round: wall time, docs/s, MB/s (input JSONL bytes
# / wall time), peak RSS and CPU% (/usr/bin/time -v), index size (du -sb).
# Engines:
#   polysearch-serial    --parallel-build off: one writer thread, a commit
#                        every --batch (how every build ran before)
#   polysearch-parallel  --parallel-build 2: two writers into two parts,
#                        merged by Xapian's compactor (what auto does for
#                        inputs of 32 MiB or more)
#   scriptindex          one run per language into one database, with that
#                        language's stemmer (bench/scriptindex/); the JSONL
#                        -> dump conversion is timed apart
#   sphinx-indexer       /usr/bin/indexer over bench/sphinx/index.sh's
#                        configuration (the one search_bench.sh serves)
# Once per input (first round): xapian-compact of the serial database (the
# size a parallel build must not exceed), and with --variants:
#   polysearch-detect    the parallel build of the JSONL without `lang`
#   polysearch-batch10k  the serial build with --batch 10000
# Usage: bench/index_bench.sh [--only sample|100k|1m] [--rounds N] [--variants]
#                             [--engines LIST] [--keep-db DIR]
#                             [--no-sphinx] [--no-results]
#   --only 1m     the 1M corpus (bench/build_corpus.sh --docs 1000000),
#                 alone; its table goes to the indexing-1m section
#   --engines L   only these engines (comma-separated names from the list
#                 above, e.g. polysearch-parallel,sphinx-indexer: a serial
#                 build and scriptindex take 40+ minutes each at 1M)
#   --keep-db DIR keep the last polysearch-parallel database at DIR (for
#                 bench/search_bench.sh --db DIR) instead of deleting it
# Env: PS_BIN_DIR (default: build-bench-rel/, built here as Release),
#      BENCH_OUT (default bench/out/index).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/index}
only=""
engines="polysearch-serial,polysearch-parallel,scriptindex,sphinx-indexer,xapian-compact"
keep_db=""
rounds=2
variants=0
sphinx=1
write_results=1
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --engines) engines="$2"; shift 2 ;;
        --keep-db) keep_db="$2"; shift 2 ;;
        --variants) variants=1; shift ;;
        --no-sphinx) sphinx=0; shift ;;
        --no-results) write_results=0; shift ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "index_bench.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$only" in ''|sample|100k|1m) ;; *) echo "index_bench.sh: --only wants sample, 100k or 1m" >&2; exit 64 ;; esac
for e in ${engines//,/ }; do
    case "$e" in polysearch-serial|polysearch-parallel|scriptindex|sphinx-indexer|xapian-compact) ;;
        *) echo "index_bench.sh: unknown engine $e" >&2; exit 64 ;; esac
done
want() { case ",$engines," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
want sphinx-indexer || sphinx=0
case "$rounds" in ''|*[!0-9]*|0) echo "index_bench.sh: --rounds wants a number >= 1" >&2; exit 64 ;; esac

for tool in /usr/bin/time /usr/bin/scriptindex /usr/bin/xapian-compact; do
    if [ ! -x "$tool" ]; then
        echo "index_bench.sh: $tool missing (apt-get install time xapian-omega xapian-tools)" >&2
        exit 69
    fi
done
if [ "$sphinx" = 1 ] && [ ! -x /usr/bin/indexer ]; then
    echo "index_bench.sh: /usr/bin/indexer missing (apt-get install sphinxsearch, or --no-sphinx)" >&2
    exit 69
fi

if [ -z "${PS_BIN_DIR:-}" ]; then
    PS_BIN_DIR=$root/build-bench-rel
    cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    nice -n 10 cmake --build "$PS_BIN_DIR" --target polysearch-index -j1 >/dev/null
fi
psindex=$(find "$PS_BIN_DIR" -type f -name polysearch-index -perm -u+x | head -1)
if [ -z "$psindex" ]; then
    echo "index_bench.sh: polysearch-index not found under $PS_BIN_DIR" >&2
    exit 69
fi

mkdir -p "$out"
rows="$out/rows.tsv"
: > "$rows"
ROUND=1

# measure NAME INPUT DB DOCS CMD...: runs CMD under /usr/bin/time -v (nice
# 10), appends one TSV row: round name input docs bytes wall cpu% rss_kb
# size exit.
measure() {
    local name=$1 input=$2 db=$3 docs=$4; shift 4
    local tag; tag="$name-$(basename "$input")-r$ROUND"
    local tf="$out/time-$tag.txt" rc=0
    local bytes; bytes=$(stat -c %s "$input")
    echo "index_bench.sh: round $ROUND: $name on $(basename "$input") ..." >&2
    sync
    /usr/bin/time -v -o "$tf" nice -n 10 "$@" > "$out/log-$tag.txt" 2>&1 || rc=$?
    local wall cpu rss size
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
    cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$tf")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
    size=$(du -sb "$db" 2>/dev/null | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$name" "$(basename "$input")" \
        "$docs" "$bytes" "$wall" "$cpu" "$rss" "${size:-0}" "$rc" >> "$rows"
    [ "$rc" = 0 ] || echo "index_bench.sh: $name exited $rc (see $out/log-$tag.txt)" >&2
}

# prepare_input INPUT TAG: the scriptindex dump files (timed apart) and,
# for Sphinx, the configuration; once per input.
prepare_input() {
    local input=$1 tag=$2
    local dumps="$out/dump-$tag" t0 t1
    rm -rf "$dumps"
    if ! want scriptindex; then
        [ "$sphinx" = 1 ] && "$here/sphinx/index.sh" conf "$input" "$out/sphinx-$tag" 9312
        return 0
    fi
    t0=$(date +%s.%N)
    python3 "$here/scriptindex/jsonl2dump.py" "$input" "$dumps" > "$dumps.list"
    t1=$(date +%s.%N)
    echo "convert-$tag $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" >> "$out/convert.txt"
    # One scriptindex run per language into one database.
    local first=--overwrite
    {
        echo 'set -e'
        while read -r lang stemmer path; do
            echo "/usr/bin/scriptindex $first -s $stemmer \"\$1\" '$here/scriptindex/polysearch.index' '$path'"
            first=""
        done < "$dumps.list"
    } > "$out/scriptindex-$tag.sh"
    if [ "$sphinx" = 1 ]; then
        "$here/sphinx/index.sh" conf "$input" "$out/sphinx-$tag" 9312
    fi
}

# one_round INPUT TAG: every engine once on INPUT.
one_round() {
    local input=$1 tag=$2
    local docs; docs=$(grep -c . "$input")
    local db="$out/db-$tag"

    rm -rf "$db-ps"
    if want polysearch-serial; then
    measure polysearch-serial "$input" "$db-ps" "$docs" "$psindex" --db "$db-ps" \
        --parallel-build off --jsonl "$input"
    fi
    if [ "$ROUND" = 1 ] && want polysearch-serial && want xapian-compact; then
        # The size a parallel build must not exceed: the serial build
        # compacted by Xapian's own tool.
        rm -rf "$db-compact"
        measure xapian-compact "$input" "$db-compact" "$docs" /usr/bin/xapian-compact "$db-ps" "$db-compact"
        rm -rf "$db-compact"
    fi
    rm -rf "$db-ps"

    rm -rf "$db-pp"
    if want polysearch-parallel; then
        measure polysearch-parallel "$input" "$db-pp" "$docs" "$psindex" --db "$db-pp" \
            --parallel-build 2 --jsonl "$input"
        if [ -n "$keep_db" ]; then
            rm -rf "$keep_db"; mv "$db-pp" "$keep_db"; touch "$keep_db/.complete"
        fi
    fi
    rm -rf "$db-pp"

    rm -rf "$db-si"
    if want scriptindex; then
        measure scriptindex "$input" "$db-si" "$docs" bash "$out/scriptindex-$tag.sh" "$db-si"
    fi
    rm -rf "$db-si"

    if [ "$sphinx" = 1 ]; then
        local sdir="$out/sphinx-$tag"
        rm -f "$sdir"/idx_*
        measure sphinx-indexer "$input" "$sdir" "$docs" "$here/sphinx/index.sh" build "$sdir"
        rm -f "$sdir"/idx_*
    fi

    if [ "$variants" = 1 ] && [ "$ROUND" = 1 ]; then
        local nolang="$out/$tag-nolang.jsonl"
        python3 -c 'import json,sys
for l in sys.stdin:
    if l.strip():
        d=json.loads(l); d.pop("lang",None); print(json.dumps(d,ensure_ascii=False))' < "$input" > "$nolang"
        rm -rf "$db-psd"
        measure polysearch-detect "$nolang" "$db-psd" "$docs" "$psindex" --db "$db-psd" \
            --parallel-build 2 --jsonl "$nolang"
        rm -f "$nolang"
        rm -rf "$db-psd" "$db-psb"
        measure polysearch-batch10k "$input" "$db-psb" "$docs" "$psindex" --db "$db-psb" \
            --parallel-build off --batch 10000 --jsonl "$input"
        rm -rf "$db-psb"
    fi
}

: > "$out/convert.txt"
inputs=()
if [ "$only" = "" ] || [ "$only" = sample ]; then
    inputs+=("/work/shared/corpus/sample.jsonl:sample")
fi
if [ "$only" = 1m ]; then
    corpus="$here/data/corpus-1m.jsonl"
    [ -s "$corpus" ] || "$here/build_corpus.sh" --docs 1000000 >/dev/null
    inputs+=("$corpus:1m")
fi
if [ "$only" = "" ] || [ "$only" = 100k ]; then
    corpus="$here/data/corpus-100k.jsonl"
    [ -s "$corpus" ] || "$here/build_corpus.sh"
    inputs+=("$corpus:100k")
fi
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
for it in "${inputs[@]}"; do
    prepare_input "${it%:*}" "${it##*:}"
done
for ((ROUND = 1; ROUND <= rounds; ROUND++)); do
    for it in "${inputs[@]}"; do
        one_round "${it%:*}" "${it##*:}"
    done
done
for it in "${inputs[@]}"; do
    rm -rf "$out/dump-${it##*:}" "$out/sphinx-${it##*:}"
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# Table.
table="$out/indexing.md"
python3 - "$rows" "$out/convert.txt" "$start_load" "$end_load" "$only" "$rounds" \
    "$variants" "$engines" > "$table" <<'EOF'
import statistics, subprocess, sys, time
rows_path, conv_path, l0, l1, only, rounds, variants, engines = sys.argv[1:9]
ALL = "polysearch-serial,polysearch-parallel,scriptindex,sphinx-indexer,xapian-compact"
rows = [l.rstrip("\n").split("\t") for l in open(rows_path) if l.strip()]
conv = dict(l.split() for l in open(conv_path) if l.strip())
mem = int(open("/proc/meminfo").read().split()[1]) / 1048576
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
med = statistics.median
ORDER = ["polysearch-serial", "polysearch-parallel", "scriptindex", "sphinx-indexer",
         "xapian-compact", "polysearch-detect", "polysearch-batch10k"]
by = {}     # (input, name) -> list of row dicts
for rnd, name, inp, docs, nbytes, wall, cpu, rss, size, rc in rows:
    by.setdefault((inp, name), []).append(dict(
        round=int(rnd), docs=int(docs), bytes=int(nbytes), wall=float(wall or 0) or 1e-9,
        cpu=int(cpu.rstrip("%") or 0), rss=int(rss or 0), size=int(size or 0), rc=int(rc)))
inputs = []
for r in rows:
    if r[2] not in inputs:
        inputs.append(r[2])
print(f"### Indexing ({time.strftime('%Y-%m-%d %H:%M %Z')}, commit {rev})\n")
print(f"Machine: {nproc} cores, {mem:.1f} GiB RAM, load average {l0} at start, {l1} at end "
      "(the machine is shared: figures vary; compare the ratios within one round).")
print("Rerun: `bench/index_bench.sh" + (f" --only {only}" if only else "")
      + (f" --rounds {rounds}" if rounds != "2" else "") + (" --variants" if variants == "1" else "")
    + (f" --engines {engines}" if engines != ALL else "")
      + f"` (Release build in build-bench-rel/; everything under `nice -n 10`; {rounds} round(s), "
      "every engine once per round in the order of the table; medians over the rounds, "
      "peak RSS the largest).\n")
print("| input | engine | rounds | wall s | docs/s | MB/s | CPU % | peak RSS MiB | index MB | exit |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for inp in inputs:
    for name in ORDER:
        rs = by.get((inp, name))
        if not rs:
            continue
        w = med([r["wall"] for r in rs])
        d, b = rs[0]["docs"], rs[0]["bytes"]
        rate = "-" if name == "xapian-compact" else f"{d / w:,.0f}"
        mbs = "-" if name == "xapian-compact" else f"{b / 1e6 / w:.2f}"
        print(f"| {inp} | {name} | {len(rs)} | {w:.1f} | {rate} | {mbs} | {med([r['cpu'] for r in rs]):.0f}% "
              f"| {max(r['rss'] for r in rs) / 1024:.0f} | {med([r['size'] for r in rs]) / 1e6:.1f} "
              f"| {','.join(sorted({str(r['rc']) for r in rs}))} |")
print()


def ratio(inp, a, b_):
    """Per-round docs/s ratios a / b_ (= wall b_ / wall a) and their median."""
    ra = {r["round"]: r["wall"] for r in by.get((inp, a), [])}
    rb = {r["round"]: r["wall"] for r in by.get((inp, b_), [])}
    vals = [rb[k] / ra[k] for k in sorted(ra) if k in rb]
    return vals


for inp in inputs:
    for a, b_, what in (("polysearch-parallel", "scriptindex", "target >= 2"),
                        ("polysearch-serial", "scriptindex", "before"),
                        ("polysearch-parallel", "polysearch-serial", "speed-up of the parallel build"),
                        ("polysearch-parallel", "sphinx-indexer", "Sphinx's indexer as reference")):
        v = ratio(inp, a, b_)
        if v:
            print(f"- {inp}: docs/s {a} / {b_} per round {', '.join(f'{x:.2f}' for x in v)}: "
                  f"**median {med(v):.2f}** ({what}).")
    pp, sc = by.get((inp, "polysearch-parallel")), by.get((inp, "xapian-compact"))
    ser = by.get((inp, "polysearch-serial"))
    if pp and sc and ser:
        print(f"- {inp}: database size: parallel build {med([r['size'] for r in pp]) / 1e6:.1f} MB, "
              f"xapian-compact of the serial build {sc[0]['size'] / 1e6:.1f} MB "
              f"(ratio {med([r['size'] for r in pp]) / sc[0]['size']:.3f}; target <= 1), serial "
              f"{med([r['size'] for r in ser]) / 1e6:.1f} MB; xapian-compact itself took "
              f"{sc[0]['wall']:.1f} s.")
    if pp:
        print(f"- {inp}: peak RSS of the parallel build {max(r['rss'] for r in pp) / 1024:.0f} MiB "
              "(target < 512).")
for k, v in sorted(conv.items()):
    print(f"- scriptindex input conversion (JSONL -> dump files, python, not counted above): {k} {float(v):.1f} s.")
print("- polysearch-index gets the corpus's ground-truth `lang` (an input `lang` wins over detection). "
      "scriptindex cannot detect languages: it is run once per language with that language's stemmer "
      "(pl: none, Xapian has no Polish stemmer) and does no diacritic folding. "
      "Sphinx's indexer builds one index per language (bench/sphinx/make_conf.py), its time includes "
      "xmlpipe.py, the Python source that converts the JSONL to xmlpipe2 once per language.")
print("- polysearch-parallel's time includes the merge (Xapian's compactor), the sync of the merged "
      "database and the switch; its database is compacted, the serial one is not.")
print("- CPU % above 100 means both cores were used. Databases are deleted after each row "
      "(sizes are measured first), so the runs do not compete for page cache.")
EOF
cat "$table"
if [ "$write_results" = 1 ]; then
    section=indexing; [ "$only" = 1m ] && section=indexing-1m
    python3 "$here/results_section.py" "$section" "$table"
    echo "index_bench.sh: wrote bench/RESULTS.md ($section section)" >&2
fi
