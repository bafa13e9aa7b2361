# fault_lib.sh: helpers sourced by the strace fault-injection tests.
# Usage: source "$(dirname "$0")/fault_lib.sh" PSI CHECKER
#   PSI     = path of polysearch-index
#   CHECKER = path of ps_fault_check (tests/fault/ps_fault_check.c)
# Exits 77 (skipped) when strace, ptrace or xapian-check is unavailable.
# Environment: PS_FAULT_FULL=1 sweeps every invocation and a larger
# input; KEEP=1 keeps the scratch directory.
#
# The helpers are written for any writer process: a test for another
# writer (e.g. the daemon's add) provides its own run command and a
# "reported" count, and reuses fault_run / check_state.
set -u
PSI=$(realpath "${1:?polysearch-index path}")
CHECKER=$(realpath "${2:?ps_fault_check path}")
T=$(mktemp -d "${TMPDIR:-/tmp}/ps_fault.XXXXXX")
cleanup() {
    [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
FAILS=0
RUNS=0
# LeakSanitizer cannot run under ptrace: in an ASan build the traced
# programs run without leak checking (the other tests check leaks).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { [ -n "${VERBOSE:-}" ] && echo "ok: $*"; return 0; }

command -v strace >/dev/null 2>&1 || { echo "strace not installed: skipped"; exit 77; }
command -v xapian-check >/dev/null 2>&1 || { echo "xapian-check not installed (xapian-tools): skipped"; exit 77; }
strace -f -qq -o /dev/null true 2>/dev/null || { echo "ptrace not permitted: skipped"; exit 77; }

# make_docs FILE N: N JSON Lines documents with ids d0001..dNNNN, every
# body containing "wombats" and a unique token.
make_docs() {
    awk -v n="$2" 'BEGIN { srand(7);
      for (i = 1; i <= n; i++) {
        printf "{\"id\":\"d%04d\",\"lang\":\"en\",\"body\":\"document %d about wombats, token%d", i, i, i;
        for (w = 0; w < 40; w++) printf " w%d", int(rand() * 5000);
        printf "\"}\n";
      } }' > "$1"
}

# count_calls TRACE SYSCALL: the largest number of SYSCALL calls made by
# one thread in an strace -f -o TRACE log (strace counts injections per
# syscall and per thread).
count_calls() {
    awk -v s="$2(" 'index($2, s) == 1 { n[$1]++ } END { m = 0; for (t in n) if (n[t] > m) m = n[t]; print m }' "$1"
}

# sweep_list MAX STEP: 1..MAX with the given step, always ending at MAX.
sweep_list() {
    local k
    for ((k = 1; k <= $1; k += $2)); do echo "$k"; done
    [ $(( ($1 - 1) % $2 )) -ne 0 ] && echo "$1"
    return 0
}

# fault_run NAME INJECT CMD...: runs CMD under strace -f with the given
# -e inject= expression; the traced syscall is the one named in INJECT.
# Sets RC (exit status of strace, i.e. of CMD, 128+signal when killed)
# and KILLED (1 when strace saw the tracee killed by SIGKILL).  stdout,
# stderr and the trace are $T/NAME.{out,err,trace}.
fault_run() {
    local name=$1 inj=$2; shift 2
    local sc=${inj%%:*}
    RUNS=$((RUNS + 1))
    # In the background, so bash prints no "Killed" line for it.
    timeout 60 strace -f -qq -o "$T/$name.trace" -e trace="$sc" \
        -e inject="$inj" "$@" > "$T/$name.out" 2> "$T/$name.err" &
    wait $! 2>/dev/null
    RC=$?
    KILLED=0
    grep -q '+++ killed by SIGKILL' "$T/$name.trace" && KILLED=1
    return 0
}

# reported NAME: the "total" of the last commit the indexer reported on
# stderr with --verbose ("committed N documents (total M)"), 0 when none.
reported() {
    local m
    m=$(sed -n 's/.*committed [0-9]* documents (total \([0-9]*\)).*/\1/p' "$T/$1.err" | tail -n 1)
    echo "${m:-0}"
}

# enospc_ended NAME: classifies how run NAME ($RC, $KILLED, its trace and
# stderr) ended after an injected ENOSPC.  Returns 0 when it ended by
# itself and its exit status and message are for the caller to check;
# 1 when there is nothing more to check: the known Xapian 1.4.22 abort
# (counted in XAPIAN_ABORTS: ENOSPC on one particular block write inside
# WritableDatabase::commit() ends in std::terminate within libxapian, an
# exception meeting a noexcept frame there, which no caller can catch;
# the data checks still apply; PS_FAULT_STRICT=1 fails it), or a signal
# (failed).
enospc_ended() {
    local name=$1
    if [ "$RC" -eq 134 ] && grep -q '^terminate called without an active exception' "$T/$name.err" &&
       [ -z "${PS_FAULT_STRICT:-}" ]; then
        XAPIAN_ABORTS=$((XAPIAN_ABORTS + 1))
        echo "KNOWN: $name: SIGABRT inside Xapian's commit (std::terminate)"
        return 1
    fi
    if [ "$RC" -ge 128 ] || [ "$KILLED" -ne 0 ] || grep -q '+++ killed by' "$T/$name.trace"; then
        fail "$name: ended by a signal (exit $RC)"
        return 1
    fi
    return 0
}

# check_state NAME DB REPORTED TOTAL: after a fault, the database passes
# xapian-check, opens, holds documents d0001..d<REPORTED> and at most
# TOTAL documents, and answers a search.  A database that was never
# created (no commit reported and no iamglass yet) is accepted.
# Adds the number of missing reported documents to LOST.
LOST=0
check_state() {
    local name=$1 db=$2 rep=$3 total=$4
    if [ "$rep" -eq 0 ] && [ ! -e "$db/iamglass" ]; then
        ok "$name: database not created yet"
        return 0
    fi
    if ! xapian-check "$db" > "$T/$name.check" 2>&1; then
        fail "$name: xapian-check fails"; sed 's/^/    /' "$T/$name.check" | tail -5 >&2
    fi
    local out rc
    out=$("$CHECKER" "$db" d "$rep" "$total" 2> "$T/$name.chk.err")
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "$name: $out"
    else
        fail "$name: checker exit $rc: $out $(head -3 "$T/$name.chk.err")"
        local miss
        miss=$(echo "$out" | sed -n 's/.*missing=\([0-9]*\).*/\1/p')
        LOST=$((LOST + ${miss:-$rep}))
    fi
}

# check_rerun NAME DB DOCS TOTAL: a new writer starts at once (no stale
# lock) and indexes DOCS completely; afterwards all TOTAL documents are
# there.
check_rerun() {
    local name=$1 db=$2 docs=$3 total=$4
    timeout 30 "$PSI" --db "$db" --batch 10 -q "$docs" > "$T/$name.re.out" 2> "$T/$name.re.err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "$name: rerun exit $rc: $(head -c 300 "$T/$name.re.err")"
        return
    fi
    "$CHECKER" "$db" d "$total" "$total" > "$T/$name.re.chk" 2>&1 ||
        fail "$name: after the rerun: $(cat "$T/$name.re.chk")"
}

finish() {
    echo "runs: $RUNS, documents lost: $LOST, failed checks: $FAILS"
    if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
    echo "all checks passed"
    exit 0
}
