#!/bin/bash
# run.sh PSI CLI DAEMON SRC: memcheck over the indexer, the CLI and a
# daemon session.
#   PSI    polysearch-index      CLI  polysearch (client)
#   DAEMON polysearchd           SRC  the source tree (corpus/)
# Every program runs under
#   valgrind --leak-check=full --error-exitcode=99
#            --errors-for-leak-kinds=definite,indirect
# with the suppressions of tests/valgrind/polysearch.supp:
#  1. polysearch-index over corpus/ with --jobs 1 and --jobs 2, a hostile
#     input set (empty, binary, invalid UTF-8, NUL bytes, malformed JSON
#     Lines, missing/long/duplicate ids), a --query with snippets and a
#     bad query;
#  2. polysearchd started under valgrind on port 0 (--port-file), then
#     polysearch CLI calls under valgrind: ping, stats, searches (facets,
#     lang, date sort, wildcard, odd syntax, a query over the size cap),
#     get (present, missing);
#     hostile frames (huge declared sizes, garbage, a truncated frame,
#     an HTTP line) sent with bash /dev/tcp; finally SIGTERM: exit 0.
# Passes when every run reports 0 errors (no exit 99, no "ERROR SUMMARY"
# other than 0).  Prints the number of runs and the time taken.
# Exit: 0 pass, 1 fail, 77 skipped (no valgrind, or a sanitizer build:
# ASan binaries cannot run under valgrind).
set -u
PSI=$(realpath "${1:?polysearch-index}")
CLI=$(realpath "${2:?polysearch}")
DAEMON=$(realpath "${3:?polysearchd}")
SRC=$(realpath "${4:?source dir}")
HERE=$(cd "$(dirname "$0")" && pwd)

command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed: skipped"; exit 77; }
if nm -D "$PSI" 2>/dev/null | grep -q '__asan_init\|__tsan_init' ||
   nm "$PSI" 2>/dev/null | grep -q '__asan_init\|__tsan_init'; then
    echo "sanitizer build: valgrind skipped"; exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/ps_valgrind.XXXXXX")
DPID=
cleanup() {
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
export POLYSEARCH_DB=$T/unused-default.db
FAILS=0 RUNS=0
START=$(date +%s)
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

VG=(valgrind --quiet --leak-check=full --error-exitcode=99
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
    --num-callers=30 --suppressions="$HERE/polysearch.supp")

# vg NAME WANT_RC CMD...: runs CMD under valgrind (log $T/NAME.vg);
# fails when valgrind reports errors or the exit status is not WANT_RC.
vg() {
    local name=$1 want=$2; shift 2
    RUNS=$((RUNS + 1))
    timeout 300 "${VG[@]}" --log-file="$T/$name.vg" "$@" \
        > "$T/$name.out" 2> "$T/$name.err"
    local rc=$?
    vg_verdict "$name" "$rc" "$want"
}

# vg_verdict NAME RC WANT: checks a finished valgrind run.
vg_verdict() {
    local name=$1 rc=$2 want=$3
    if [ "$rc" -eq 99 ] || grep -q 'ERROR SUMMARY: [1-9]' "$T/$name.vg" ||
       grep -q 'definitely lost: [1-9]\|indirectly lost: [1-9]' "$T/$name.vg"; then
        fail "$name: valgrind reports errors:"
        sed 's/^/    /' "$T/$name.vg" | head -60 >&2
    elif [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$T/$name.err" | tail -5 >&2
    else
        echo "ok: $name (exit $rc, 0 valgrind errors)"
    fi
}

# ---- 1. indexer ----------------------------------------------------------
mkdir "$T/corpus"
cp "$SRC"/corpus/*.txt "$T/corpus/"
vg index_j1 0 "$PSI" --db "$T/db1" --jobs 1 "$T/corpus"
vg index_j2 0 "$PSI" --db "$T/db" --jobs 2 --batch 2 "$T/corpus"

H=$T/hostile
mkdir "$H"
: > "$H/empty.txt"
{ printf 'BIN\0\1\2'; head -c 2048 /dev/urandom; } > "$H/binary.txt"
printf 'Sant\xe9\n\nLa sant\xe9 publique en r\xe9gion ornithorynque.\n' > "$H/latin1.txt"
{ printf 'Titel\n\n'; head -c 3000 /dev/zero | tr '\0' 'a'; printf ' Nulbyte\0Zwischenraum ende\n'; } > "$H/nul.txt"
long_id=$(head -c 300 /dev/zero | tr '\0' 'x')
cat > "$T/bad.jsonl" <<J
{"id": "j1", "body": "first version of the duplicate"}
{"id": "j2", "body": "truncated
{"title": "no id", "body": "a document without id"}
{"id": "$long_id", "body": "an id of 300 bytes"}
{"id": "j1", "body": "second version of the duplicate wins", "date": "2024-02-30"}
{"id": "j3", "body": "nul\\u0000inside and Zwischenspeicher", "lang": "xx"}
{"id": "j4", "body": "after the bad lines: quokka", "date": "2023-05-01", "url": "https://example.org/q"}
[1, 2, 3]
J
vg index_hostile 65 "$PSI" --db "$T/db" "$H" "$T/bad.jsonl"
vg query 0 "$PSI" --db "$T/db" --query 'santé OR quokka OR innov*' --limit 20
vg query_bad 0 "$PSI" --db "$T/db" --query '"unbalanced ((( NOT'
vg query_lang 0 "$PSI" --db "$T/db" --lang fr --query 'région'

# ---- 2. daemon session ---------------------------------------------------
timeout 300 "${VG[@]}" --log-file="$T/daemon.vg" "$DAEMON" --db "$T/db" \
    --listen 127.0.0.1:0 --port-file "$T/port" --workers 2 \
    > "$T/daemon.out" 2> "$T/daemon.err" &
DPID=$!
for _ in $(seq 600); do       # up to 60 s: valgrind starts slowly
    [ -s "$T/port" ] && break
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$T/port" ]; then
    fail "daemon did not start under valgrind: $(tail -5 "$T/daemon.err")"
else
    PORT=$(cat "$T/port")
    S=(-s "127.0.0.1:$PORT" -t 60s)
    vg cli_ping 0 "$CLI" "${S[@]}" ping
    vg cli_stats 0 "$CLI" "${S[@]}" stats
    vg cli_search 0 "$CLI" "${S[@]}" --facets search santé région
    vg cli_search_json 0 "$CLI" "${S[@]}" -j -n 3 --sort date search 'innov*'
    vg cli_search_lang 0 "$CLI" "${S[@]}" -l en --date-from 2020-01-01 search quokka
    vg cli_get 0 "$CLI" "${S[@]}" get j4
    # Errors reported by the daemon: not found, syntax error, bad lang.
    "$CLI" "${S[@]}" get no-such-id > /dev/null 2>&1; want_nf=$?
    vg cli_get_missing "$want_nf" "$CLI" "${S[@]}" get no-such-id
    [ "$want_nf" -ne 0 ] || fail "get of a missing id exits 0"
    vg cli_search_odd 0 "$CLI" "${S[@]}" search '"((( AND'
    long_q=$(head -c 5000 /dev/zero | tr '\0' q)
    "$CLI" "${S[@]}" search "$long_q" > /dev/null 2>&1; want_q=$?
    vg cli_search_too_long "$want_q" "$CLI" "${S[@]}" search "$long_q"
    [ "$want_q" -ne 0 ] || fail "a 5000-byte query exits 0"
    # Hostile frames straight to the socket.
    hostile=('\xdd\xff\xff\xff\xff' '\xdf\x10\x00\x00\x00' '\xdb\xff\xff\xff\xff'
             '\xc6\xff\xff\xff\xff' '\xc1' 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
             '\x94\x00\x01\xa6search' '\x94\x00\x01\xa6search\x91\x81\xa1q\xa3\xff\xfe\xfd'
             '\x94\x00\xce\xff\xff\xff\xff\xa4ping\x90')
    for h in "${hostile[@]}"; do
        timeout 30 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "$2" >&3; sleep 0.2; exec 3>&-' \
            _ "$PORT" "$h" 2>/dev/null
    done
    vg cli_ping_after 0 "$CLI" "${S[@]}" ping
    kill -TERM "$DPID"
    for _ in $(seq 300); do
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    wait "$DPID"
    rc=$?
    DPID=
    RUNS=$((RUNS + 1))
    vg_verdict daemon "$rc" 0
fi

echo "valgrind: $RUNS runs in $(( $(date +%s) - START )) s, $FAILS failed"
[ "$FAILS" -eq 0 ] || exit 1
exit 0
