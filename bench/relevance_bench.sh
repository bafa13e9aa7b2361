#!/usr/bin/env bash
# relevance_bench.sh: the known-item relevance benchmark of issue 17, in one
# run: simulated known-item topics drawn from the 100k corpus
# (bench/relevance/make_topics.py), searched in three forms (as written,
# without diacritics, UPPER CASE) with polysearchd (features off and on),
# Sphinx (the bench/sphinx configuration) and scriptindex (searched as Omega
# does), top 10 (bench/relevance/run.py); MRR@10 and success@10 per engine,
# language and form (bench/relevance/report.py), written between the
# relevance markers of bench/RESULTS.md.
#
# Usage: bench/relevance_bench.sh [--per-lang 250] [--db DIR] [--synonyms FILE|none]
#                                 [--retopic] [--no-results]
#   --per-lang N     topics per language (default 250: 2,000 for 8 languages)
#   --db DIR         the polysearch database of the corpus (default
#                    bench/out/search/ps-100k.db, built with polysearch-index
#                    when missing); opened read-only, never written
#   --synonyms FILE  the synonym table of the "features on" runs (default
#                    corpus/synonyms.conf): DIR is copied to
#                    bench/out/relevance/ps-100k-syn.db and FILE loaded into
#                    the copy (polysearch-index --synonyms); `none`: DIR as
#                    it is (then on and off differ only if DIR has a table)
#   --retopic        draw the topics again (default: reuse
#                    bench/out/relevance/topics.jsonl while it is newer than
#                    the corpus and make_topics.py)
#   --no-results     print the section instead of writing RESULTS.md
# Env: PS_BIN_DIR (default: build-bench-rel/, built here as Release),
#      BENCH_CORPUS (default bench/data/corpus-100k.jsonl, built by
#      build_corpus.sh when missing), BENCH_OUT (default bench/out/relevance).
# Exit: 0, 64 usage, 69 a prerequisite missing, 70 a step failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${BENCH_OUT:-$here/out/relevance}
per_lang=250
dbarg=""
synonyms=$root/corpus/synonyms.conf
retopic=0
write_results=1
while [ $# -gt 0 ]; do
    case "$1" in
        --per-lang) per_lang="$2"; shift 2 ;;
        --db) dbarg="$2"; shift 2 ;;
        --synonyms) synonyms="$2"; shift 2 ;;
        --retopic) retopic=1; shift ;;
        --no-results) write_results=0; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "relevance_bench.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$per_lang" in ''|*[!0-9]*|0) echo "relevance_bench.sh: --per-lang wants a number >= 1" >&2; exit 64 ;; esac
log() { echo "relevance_bench.sh: $*" >&2; }
py=/usr/bin/python3
rel=$here/relevance

# ---- prerequisites -----------------------------------------------------------
missing=()
[ -x "$py" ] || missing+=(python3)
for m in msgpack:python3-msgpack pymysql:python3-pymysql xapian:python3-xapian; do
    "$py" -c "import ${m%%:*}" 2>/dev/null || missing+=("${m#*:}")
done
[ -x /usr/bin/scriptindex ] || missing+=(xapian-omega)
{ [ -x /usr/bin/indexer ] && [ -x /usr/bin/searchd ]; } || missing+=(sphinxsearch)
if [ ${#missing[@]} -gt 0 ]; then
    log "missing: apt-get install -y --no-install-recommends ${missing[*]}"
    exit 69
fi
if [ "$synonyms" != none ] && [ ! -f "$synonyms" ]; then
    log "synonym file $synonyms missing"; exit 64
fi
mkdir -p "$out"
# sl_build, findbin, sl_db, wait_file, sl_free_port, sl_sphinx_*: shared
# with the search and HTTP benchmarks.
. "$here/search_lib.sh"

sl_build polysearch-index polysearchd
psindex=$(findbin polysearch-index)
psd=$(findbin polysearchd)
corpus=${BENCH_CORPUS:-$here/data/corpus-100k.jsonl}
if [ ! -s "$corpus" ]; then
    "$here/build_corpus.sh" >/dev/null
    corpus=$here/data/corpus-100k.jsonl
fi
db=${dbarg:-$here/out/search/ps-100k.db}
[ -n "$dbarg" ] || sl_db "$db" 0 100k "$psindex" "$out/index.log"
[ -d "$db" ] || { log "no database at $db"; exit 69; }

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
start_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- topics ------------------------------------------------------------------------
topics=$out/topics.jsonl
# Drawn again when asked, or when the corpus, the script or the arguments
# (kept in topics.args) changed.
targs="--per-lang $per_lang $corpus"
if [ "$retopic" = 1 ] || [ ! -s "$topics" ] || [ "$corpus" -nt "$topics" ] ||
   [ "$rel/make_topics.py" -nt "$topics" ] || [ "$(cat "$topics.args" 2>/dev/null)" != "$targs" ]; then
    log "drawing topics ($per_lang per language) ..."
    nice -n 10 "$py" "$rel/make_topics.py" --per-lang "$per_lang" "$corpus" "$topics.new" >&2 ||
        { log "make_topics.py failed"; exit 70; }
    mv "$topics.new" "$topics"
    echo "$targs" > "$topics.args"
fi

# ---- reference indexes (one heavy job at a time) ---------------------------------
nice -n 10 "$rel/build_scriptindex.sh" "$corpus" "$out/scriptindex-100k.db"
sdir=$out/sphinx-100k
sport=$(sl_free_port)
if ! sl_sphinx_reuse "$sdir" "$sport"; then
    sl_sphinx_index "$sdir" "$sport"
fi

# ---- the polysearch database of the "features on" runs -----------------------------
syn_note="The polysearch database has no synonym table (--synonyms none): features on and off run the same search."
psdb=$db
if [ "$synonyms" != none ]; then
    psdb=$out/ps-100k-syn.db
    if [ ! -f "$psdb/.complete" ] || [ "$db" -nt "$psdb/.complete" ] ||
       [ "$db/.complete" -nt "$psdb/.complete" ] || [ "$synonyms" -nt "$psdb/.complete" ]; then
        log "copying $db and loading $synonyms into the copy ..."
        rm -rf "$psdb"
        nice -n 10 cp -r "$db" "$psdb"
        rm -f "$psdb/.complete"
        nice -n 10 "$psindex" --db "$psdb" --synonyms "$synonyms" > "$out/synonyms.log" 2>&1 ||
            { log "polysearch-index --synonyms failed: $(tail -3 "$out/synonyms.log")"; exit 70; }
        touch "$psdb/.complete"
    fi
    ngroups=$(grep -c '=' <(grep -v '^[[:space:]]*#' "$synonyms") || true)
    syn_note="Features on = the synonym table of \`${synonyms#"$root"/}\` ($ngroups groups, the project's starter file for the seed articles' domain, news on health clusters: few man-page words belong to it), loaded into a copy of the database; features off = \`synonyms: false\` on that copy."
fi

# ---- daemons -------------------------------------------------------------------------
log "starting polysearchd (read-only) and Sphinx searchd ..."
rm -f "$out/psd.port"
nice -n 10 "$psd" --db "$psdb" --read-only --listen 127.0.0.1:0 --port-file "$out/psd.port" \
    --workers 2 --quiet > "$out/polysearchd.log" 2>&1 &
psd_pid=$!
pids+=("$psd_pid")
wait_file "$out/psd.port" 60 "$psd_pid" || exit 70
sl_sphinx_start "$sdir" "$sport"

# ---- run -----------------------------------------------------------------------------
runs=$out/runs.jsonl
log "searching ($(grep -c . "$topics") topics x 3 forms per engine) ..."
nice -n 10 "$py" "$rel/run.py" "$topics" "$runs" \
    --polysearch "127.0.0.1:$(cat "$out/psd.port")" \
    --sphinx "$sport" --corpus "$corpus" \
    --scriptindex "$out/scriptindex-100k.db" > "$out/run.txt" || { log "run.py failed"; exit 70; }
cat "$out/run.txt"                          # the summary (run.py logged it too)
psd_version="$("$psd" --version 2>&1 | head -1) ($psd, built $(date -u -r "$psd" '+%Y-%m-%d %H:%M UTC'))"
cleanup
pids=()
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------
rerun="bench/relevance_bench.sh"
[ "$per_lang" = 250 ] || rerun="$rerun --per-lang $per_lang"
[ -z "$dbarg" ] || rerun="$rerun --db $dbarg"
section=$out/relevance.md
"$py" "$rel/report.py" "$topics" "$runs" \
    --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --meta "commit=$(git -C "$root" rev-parse --short HEAD)" \
    --meta "machine=$(nproc) cores, $psd_version" \
    --meta "load_start=$start_load" --meta "load_end=$end_load" \
    --meta "rerun=$rerun" --meta "synonyms=$syn_note" > "$section" ||
    { log "report.py failed"; exit 70; }
if [ "$write_results" = 1 ]; then
    "$py" "$here/results_section.py" relevance "$section"
    log "written to bench/RESULTS.md (relevance section); figures in $section"
    # The summary: the overall table and the targets.
    awk '/^\*\*Overall/ {on=1} /^\*\*as written/ {on=0} /^\*\*Targets/ {on=1} /^\*\*Caveats/ {on=0} on' "$section"
else
    cat "$section"
fi
