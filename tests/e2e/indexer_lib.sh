# indexer_lib.sh: helpers sourced by the indexer_*.sh end-to-end tests.
# Usage in a test: source "$(dirname "$0")/indexer_lib.sh" "$@"
# Arguments: $1 = path of polysearch-index, $2 = project source directory.
set -u
PSI=$(realpath "${1:?polysearch-index path}")
SRC=${2:?source dir}
T=$(mktemp -d "${TMPDIR:-/tmp}/ps_indexer_e2e.XXXXXX")
DB=$T/db
export POLYSEARCH_DB=$T/unused-default.db
_pids=()
cleanup() {
    for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# run OUT_PREFIX ARGS...: runs the indexer with a time bound; stdout in
# $T/OUT_PREFIX.out, stderr in $T/OUT_PREFIX.err, exit code in RC.
run() {
    local name=$1; shift
    timeout 60 "$PSI" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
}

# expect_rc NAME WANT
expect_rc() {
    if [ "$RC" -eq "$2" ]; then ok "$1: exit $RC"
    else fail "$1: exit $RC, expected $2"; sed 's/^/    /' "$T/$1.err" >&2; fi
}

# expect_out NAME TEXT: stdout of NAME contains TEXT
expect_out() {
    if grep -qF -- "$2" "$T/$1.out"; then ok "$1: stdout has '$2'"
    else fail "$1: stdout lacks '$2'"; sed 's/^/    /' "$T/$1.out" >&2; fi
}

# expect_err NAME TEXT: stderr of NAME contains TEXT
expect_err() {
    if grep -qF -- "$2" "$T/$1.err"; then ok "$1: stderr has '$2'"
    else fail "$1: stderr lacks '$2'"; sed 's/^/    /' "$T/$1.err" >&2; fi
}

# query_ids Q: prints the ids of the hits of query Q, one per line
query_ids() {
    timeout 30 "$PSI" --db "$DB" --query "$1" --limit 50 2>"$T/q.err" |
        sed -n 's/^   id=\([^ ]*\) lang=.*/\1/p' | sort
}

# expect_hits Q ID...: query Q returns exactly these ids
expect_hits() {
    local q=$1; shift
    local got want
    got=$(query_ids "$q" | tr '\n' ' ')
    want=""
    [ $# -gt 0 ] && want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    if [ "$got" = "$want" ]; then ok "query [$q] -> $got"
    else fail "query [$q] -> [$got], expected [$want]"; cat "$T/q.err" >&2; fi
}

# doc_count: number of documents (xapian-delve when present, else 0 hits)
doc_count() {
    xapian-delve "$DB" 2>/dev/null | sed -n 's/^number of documents = //p'
}

# db_digest: checksum of every database file except the lock file
db_digest() {
    [ -d "$DB" ] || { echo "no database"; return; }
    (cd "$DB" && find . -type f ! -name flintlock -print0 | sort -z |
        xargs -0 md5sum | md5sum)
}

finish() {
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
    echo "all checks passed"
    exit 0
}
