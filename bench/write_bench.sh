#!/bin/bash
# write_bench.sh: add throughput, acknowledgement time and time-to-visible
# while 8 clients search (issues 6 and 14), for polysearchd and, in the same
# run, for Sphinx 2.2's real-time index as the reference.  Writes the
# "write" section of bench/RESULTS.md.
#
# Usage: bench/write_bench.sh [--rounds N] [--no-sphinx] [--no-delay]
#                             [--no-crash] [--no-results] [--sphinx-binlog-flush N]
#                             [SECONDS] [BATCH]
#   SECONDS  length of each phase (default 10)
#   BATCH    documents per add call / INSERT, plus one sentinel (default 10)
#   --rounds N   engines alternate in N rounds (polysearchd, Sphinx RT,
#                polysearchd, Sphinx RT, ...; default 2): the ratio lines
#                give every round's ratio and the median
#   --no-sphinx  polysearchd only (no Sphinx rows, no ratios)
#   --no-delay   skip the --commit-delay table (polysearchd only)
#   --no-crash   skip the kill -9 check (acknowledged documents kept after
#                a kill -9 and a restart, both engines)
#   --no-results print the section instead of writing bench/RESULTS.md
#   --sphinx-binlog-flush N  Sphinx's binlog_flush (default 1; 2 = write
#                at every commit, fsync every second; 0 = neither)
# Environment: BUILD (Release build dir, default build-writer-rel; built
# incrementally at each run), CORPUS (default ../shared/corpus/sample.jsonl),
# PYTHON (default /usr/bin/python3 with python3-msgpack, and
# python3-pymysql for Sphinx), PS_DAEMON_ARGS (extra polysearchd options,
# e.g. "--no-wal" for the commit-per-group path; split on spaces).
# Sphinx: Debian sphinxsearch 2.2.11, /usr/bin/searchd by full path, config
# from bench/sphinx/make_conf.py --rt (binlog_flush = 1 by default, binlog in the
# scratch dir).  Everything runs on 127.0.0.1, bounded in time; every
# server started here is killed on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=2
SPHINX=1
DELAY=1
CRASH=1
RESULTS=1
SFLUSH=1
POS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --no-sphinx) SPHINX=0; shift ;;
        --no-delay) DELAY=0; shift ;;
        --no-crash) CRASH=0; shift ;;
        --no-results) RESULTS=0; shift ;;
        --sphinx-binlog-flush) SFLUSH="$2"; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        -*) echo "write_bench: unknown option $1" >&2; exit 64 ;;
        *) POS+=("$1"); shift ;;
    esac
done
SECS=${POS[0]:-10}
BATCH=${POS[1]:-10}
case "$ROUNDS" in ''|*[!0-9]*|0) echo "write_bench: --rounds wants a positive integer" >&2; exit 64 ;; esac
case "$SFLUSH" in 0|1|2) ;; *) echo "write_bench: --sphinx-binlog-flush wants 0, 1 or 2" >&2; exit 64 ;; esac
BUILD=${BUILD:-$ROOT/build-writer-rel}
PY=${PYTHON:-/usr/bin/python3}
CORPUS=${CORPUS:-$ROOT/../shared/corpus/sample.jsonl}
[ -f "$CORPUS" ] || CORPUS=/work/shared/corpus/sample.jsonl
[ -f "$CORPUS" ] || { echo "write_bench: corpus $CORPUS not found" >&2; exit 66; }
"$PY" -c 'import msgpack' 2>/dev/null ||
    { echo "write_bench: $PY cannot import msgpack (apt-get install python3-msgpack)" >&2; exit 69; }
if [ "$SPHINX" = 1 ]; then
    [ -x /usr/bin/searchd ] ||
        { echo "write_bench: /usr/bin/searchd missing (apt-get install sphinxsearch, or --no-sphinx)" >&2; exit 69; }
    "$PY" -c 'import pymysql' 2>/dev/null ||
        { echo "write_bench: $PY cannot import pymysql (apt-get install python3-pymysql, or --no-sphinx)" >&2; exit 69; }
fi
# Always built (incremental): a binary older than the sources would be
# measured otherwise.
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
nice -n 10 cmake --build "$BUILD" --target polysearchd polysearch-index -j2 >/dev/null
# Bound every driver run: phases plus generous slack.
PYT=$(( SECS * 4 + 300 ))
T=$(mktemp -d /tmp/wbench.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do { wait "$p"; } 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "write_bench: $*" >&2; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- servers ---------------------------------------------------------------
# start_ps DB [EXTRA ARGS]: polysearchd on 127.0.0.1, port in $PORT, pid in $SPID.
start_ps() {
    local db=$1; shift
    rm -f "$T/port"
    "$BUILD/searchd/polysearchd" --db "$db" --listen 127.0.0.1:0 --port-file "$T/port" \
        --workers 2 --quiet "$@" ${PS_DAEMON_ARGS:-} 2>> "$T/daemon.log" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 200); do
        [ -s "$T/port" ] && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$T/port" ] || { log "polysearchd did not start"; cat "$T/daemon.log" >&2; exit 70; }
    PORT=$(cat "$T/port")
}
# start_sphinx DIR [keep]: Sphinx searchd with the RT index in DIR (a fresh
# DIR, or "keep" to restart on DIR's index and binlog), port in $PORT, pid in $SPID.
start_sphinx() {
    local dir=$1 keep=${2:-}
    if [ "$keep" != keep ]; then
        rm -rf "$dir"; mkdir -p "$dir/binlog"
        "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' > "$dir/port"
        "$PY" "$HERE/sphinx/make_conf.py" --rt --binlog-flush "$SFLUSH" "$CORPUS" "$dir" "$(cat "$dir/port")" > "$dir/sphinx.conf"
    fi
    PORT=$(cat "$dir/port")
    : > "$dir/searchd.out"
    /usr/bin/searchd --config "$dir/sphinx.conf" --nodetach >> "$dir/searchd.out" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 300); do
        grep -q 'accepting connections' "$dir/searchd.out" 2>/dev/null && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q 'accepting connections' "$dir/searchd.out" ||
        { log "Sphinx searchd did not start:"; tail -5 "$dir/searchd.out" >&2; exit 70; }
}
# stop_server SIGNAL: stops $SPID (TERM: clean shutdown, Sphinx saves its RAM chunk).
stop_server() {
    kill "-$1" "$SPID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$SPID" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
    SPID=
}
drive() { timeout "$PYT" "$PY" "$HERE/write_bench.py" "$@"; }

# The starting index: the first 1000 documents of the corpus, indexed once
# and copied for every polysearchd run; loaded into every fresh Sphinx RT
# index (ids = line numbers, untimed).
head -n 1000 "$CORPUS" > "$T/base.jsonl"
"$BUILD/indexer/polysearch-index" --db "$T/base.db" "$T/base.jsonl" > /dev/null 2>&1
fresh_db() { rm -rf "$T/db"; cp -a "$T/base.db" "$T/db"; }
fresh_sphinx() {
    start_sphinx "$T/sphinx"
    timeout 300 "$PY" "$HERE/write_bench.py" --sphinx-base "$PORT" "$T/base.jsonl"
}

# ---- rounds: polysearchd, Sphinx RT, polysearchd, Sphinx RT, ... ------------
: > "$T/rows.jsonl"
for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS: polysearchd"
    fresh_db
    start_ps "$T/db"
    drive --rows polysearchd "$r" "$PORT" "$CORPUS" "$SECS" "$BATCH" "$T/rows.jsonl"
    stop_server TERM
    if [ "$SPHINX" = 1 ]; then
        log "round $r/$ROUNDS: Sphinx RT"
        fresh_sphinx
        drive --rows sphinx "$r" "$PORT" "$CORPUS" "$SECS" "$BATCH" "$T/rows.jsonl"
        cp "$T/sphinx/searchd.log" "$T/sphinx-searchd-$r.log" 2>/dev/null || true
        stop_server TERM
    fi
done
"$PY" "$HERE/write_bench.py" --table "$T/rows.jsonl" "$T/table.md"

# ---- kill -9 check ---------------------------------------------------------
# One client, 20 acknowledged calls of BATCH documents + the sentinel, then
# kill -9 at once, restart on the same files, count the documents.
CRASH_CALLS=20
: > "$T/crash.md"
if [ "$CRASH" = 1 ]; then
    crash_row() {   # crash_row NAME ACKED BEFORE AFTER
        echo "| $1 | $2 | $3 | $4 | $(( $3 - $4 )) |" >> "$T/crash.md"
    }
    echo "| engine | documents acknowledged | documents before kill -9 | after restart | lost |" > "$T/crash.md"
    echo "|---|---:|---:|---:|---:|" >> "$T/crash.md"
    log "kill -9 check: polysearchd"
    fresh_db
    start_ps "$T/db"
    acked=$(drive --crash-add polysearchd "$PORT" "$CORPUS" "$CRASH_CALLS" "$BATCH")
    before=$(drive --count polysearchd "$PORT")
    stop_server KILL 2>/dev/null   # (no "Killed" job message)
    start_ps "$T/db"
    after=$(drive --count polysearchd "$PORT")
    stop_server TERM
    crash_row polysearchd "$acked" "$before" "$after"
    if [ "$SPHINX" = 1 ]; then
        log "kill -9 check: Sphinx RT"
        fresh_sphinx
        acked=$(drive --crash-add sphinx "$PORT" "$CORPUS" "$CRASH_CALLS" "$BATCH")
        before=$(drive --count sphinx "$PORT")
        stop_server KILL 2>/dev/null
        start_sphinx "$T/sphinx" keep
        after=$(drive --count sphinx "$PORT")
        replay=$(grep -m1 'replay stats' "$T/sphinx/searchd.out" | sed 's/^.*binlog: //' || true)
        stop_server TERM
        crash_row "Sphinx RT" "$acked" "$before" "$after"
    fi
fi

# ---- the group-commit delay (polysearchd): 8 writers of one document per call
rm -f "$T/delay.md"   # --delay-row writes the header into a new file
if [ "$DELAY" = 1 ]; then
    fresh_db
    for CD in 0 2ms 20ms 50ms; do
        log "--commit-delay $CD"
        start_ps "$T/db" --commit-delay "$CD"
        drive --delay-row "$CD" "$PORT" "$CORPUS" "$(( (SECS + 1) / 2 ))" 1 "$T/delay.md"
        stop_server TERM
    done
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the section -----------------------------------------------------------
ncpu=$(nproc)
loaded=$(awk -v l="${load0%% *}" -v n="$ncpu" 'BEGIN { print (l >= n / 2) ? 1 : 0 }')
{
    echo "## Live updates: add throughput, acknowledgement and time-to-visible (bench/write_bench.sh)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$ROOT" rev-parse --short HEAD),"
    echo "$ncpu cores, load average $load0 at the start and $load1 at the end."
    if [ "$loaded" = 1 ]; then
        echo "**The machine was loaded** (other work running during the run): absolute"
        echo "figures are noisy; compare the ratios within the run."
    fi
    echo "Release build, polysearchd --workers 2, default --commit-delay 20ms."
    [ "$SPHINX" = 1 ] &&
        echo "Reference: Sphinx $(/usr/bin/searchd --help 2>/dev/null | sed -n '1s/^Sphinx //p') real-time index (see below)."
    echo "Index: the first 1000 documents of sample.jsonl; added documents are"
    echo "sample.jsonl articles under new ids, $BATCH per add call (Sphinx: per INSERT)"
    echo "plus one sentinel. Each phase runs ${SECS} s with 8 searching clients (one"
    echo "process and connection each, one-word queries, limit 10); a writing client"
    echo "(its own connections) sends its next call as soon as the sentinel of the"
    echo "previous one is visible. Engines alternate in $ROUNDS round(s)"
    echo "(polysearchd then Sphinx RT in each), each round on a fresh copy of the"
    echo "starting index."
    echo
    cat "$T/table.md"
    echo
    echo "- ack = from sending the add call (Sphinx: the INSERT, its text built"
    echo "  before the clock starts) to its answer."
    echo "- The clients are Python processes on the same 2 cores as the server"
    echo "  (16 of them in the 8-writer phases), for both engines alike."
    echo "- visible = from the acknowledgement to the first search (on a"
    echo "  second connection) that returns the batch's sentinel; includes one"
    echo "  search round trip."
    echo "- requests/commit > 1: group commit joined several clients' add calls"
    echo "  in one commit (from the daemon's stats writer figures). Sphinx: every"
    echo "  INSERT is its own transaction (autocommit); no group commit."
    if [ "$SPHINX" = 1 ]; then
        echo "- Sphinx RT: \`bench/sphinx/make_conf.py --rt\`: \`type = rt\`, \`rt_field\`"
        echo "  title and body, \`rt_attr_string = lang\`, \`rt_mem_limit = 128M\`; the"
        echo "  charset_table of the search benchmark (U+00C0..U+024F folded to base"
        echo "  letters), \`index_exact_words = 1\`, \`min_word_len = 1\`, and since an RT"
        echo "  transaction touches one index, one index with the chain of the"
        echo "  corpus languages' stemmers (\`morphology = stem_en, libstemmer_de, ...\`)"
        echo "  instead of one index per language; \`binlog_flush = $SFLUSH\`, binlog in the"
        echo "  scratch dir, \`workers = threads\`, SphinxQL (mysql41) on 127.0.0.1;"
        echo "  clients: python3-pymysql, ids mapped to integers. Sphinx's SELECT"
        echo "  returns ids only; polysearchd's searches return snippets."
    fi
    if [ "$SPHINX" = 1 ] && [ "$SFLUSH" = 1 ]; then
        echo "- **Sphinx 2.2.11's \`binlog_flush = 1\` does not fsync at every"
        echo "  transaction**: \`RtBinlog_c::CheckDoFlush\` tests \"unsynced data\""
        echo "  (last write position != last fsync position) before writing the"
        echo "  buffer, so a commit leaves its record in the 256 KB user-space"
        echo "  binlog buffer; the buffer is written and fsynced only when it fills"
        echo "  (strace: 13 write+fsync pairs of ~256 KB for 100 INSERTs of 10"
        echo "  documents), and no timer flushes it in this mode. An acknowledged"
        echo "  INSERT is therefore not durable, not even across a kill -9 (below)."
        echo "  Its ack times are those of an in-memory commit plus an fsync"
        echo "  every few transactions, not a per-transaction durable commit."
    elif [ "$SPHINX" = 1 ] && [ "$SFLUSH" = 2 ]; then
        echo "- Sphinx \`binlog_flush = 2\`: the binlog is written at every commit and"
        echo "  fsynced once a second: an acknowledged INSERT survives a kill -9, not"
        echo "  a power loss."
    elif [ "$SPHINX" = 1 ]; then
        echo "- Sphinx \`binlog_flush = 0\`: the binlog is written and fsynced once a"
        echo "  second: acknowledged INSERTs of the last second are lost on a kill -9."
    fi
    if [ -s "$T/crash.md" ]; then
        echo
        echo "kill -9 check: one client, $CRASH_CALLS acknowledged calls of $BATCH documents +"
        echo "the sentinel onto the starting index, kill -9 at once, restart on the same"
        echo "files (Sphinx replays its binlog), count the documents:"
        echo
        cat "$T/crash.md"
        [ -n "${replay:-}" ] && { echo; echo "Sphinx's replay after the restart: \`$replay\`."; }
        echo
        echo "- A kill -9 tests what reached the kernel, not fsync (power loss)."
    fi
    if [ -s "$T/delay.md" ]; then
        echo
        echo "Group-commit delay (\`--commit-delay\`, polysearchd), 8 writing clients sending one"
        echo "document (plus the sentinel) per add, 8 searching clients, $(( (SECS + 1) / 2 )) s each:"
        echo
        cat "$T/delay.md"
    fi
    echo
    echo "- The machine is shared: docs/s vary by tens of percent between runs;"
    echo "  compare ratios within one run; requests/commit (fewer commits, fewer"
    echo "  fdatasync calls) is the stable figure."
    fl=""; [ "$SFLUSH" = 1 ] || fl=" --sphinx-binlog-flush $SFLUSH"
    echo "- Rerun: \`nice -n 10 bench/write_bench.sh --rounds $ROUNDS$fl $SECS $BATCH\`."
} > "$T/section.md"
if [ "$RESULTS" = 1 ]; then
    "$PY" "$HERE/results_section.py" write "$T/section.md" "$HERE/RESULTS.md"
    log "bench/RESULTS.md section 'write' updated"
else
    cat "$T/section.md"
fi
