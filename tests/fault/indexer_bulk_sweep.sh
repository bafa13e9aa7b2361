#!/bin/bash
# A parallel build (--parallel-build 2) killed or failing at each step of
# its merge phase leaves no database or the whole one, never part of one:
#   kill -9 at every fdatasync, fsync, rename and renameat2 of the run
#   (strace -e inject=SYSCALL:signal=SIGKILL:when=K; the merge thread's
#   calls: the spelling database, the compactor, the sync of the merged
#   database, the switch; the writer threads' renames of their parts);
#   ENOSPC at every fdatasync and at pwrite64 calls of the merge thread
#   (a clear error, exit 74 or 73, no signal).
# After each fault: DIR holds no database (no iamglass; the path is
# missing or an empty directory), or it passes xapian-check and holds all
# N documents; a rerun (again a parallel build) completes with all N
# documents and leaves no scratch directory (.DIR.bulk-*) behind.
# Usage: indexer_bulk_sweep.sh POLYSEARCH-INDEX PS_FAULT_CHECK
# PS_FAULT_FULL=1 takes a larger input and every pwrite64 call.
source "$(dirname "$0")/fault_lib.sh" "$@"

N=60 PWSTEP=4
[ -n "${PS_FAULT_FULL:-}" ] && { N=200; PWSTEP=1; }
make_docs "$T/docs.jsonl" "$N"
ARGS=(--parallel-build 2 --batch 10 --verbose)
FAULTS=0 WHOLE=0 NONE=0

# check_all_or_nothing NAME: DIR holds no database or all N documents.
check_all_or_nothing() {
    local name=$1 db=$T/db
    if [ ! -e "$db/iamglass" ]; then
        if [ -e "$db" ] && [ -n "$(ls -A "$db" | grep -v '^flintlock$')" ]; then
            fail "$name: no database but files in $db: $(ls -A "$db" | tr '\n' ' ')"
        fi
        if grep -q "committed $N documents" "$T/$name.err"; then
            fail "$name: the build was reported complete but there is no database"
        fi
        NONE=$((NONE + 1))
        return
    fi
    WHOLE=$((WHOLE + 1))
    check_state "$name" "$db" "$N" "$N"
}

# check_rerun_clean NAME: a parallel rerun builds all N documents and
# removes every scratch directory.
check_rerun_clean() {
    local name=$1
    if [ -e "$T/db/iamglass" ]; then
        check_rerun "$name" "$T/db" "$T/docs.jsonl" "$N"
    else
        timeout 60 "$PSI" --db "$T/db" "${ARGS[@]}" "$T/docs.jsonl" \
            > "$T/$name.re.out" 2> "$T/$name.re.err" ||
            { fail "$name: rerun exit $?: $(grep -v DEBUG "$T/$name.re.err" | head -c 300)"; return; }
        "$CHECKER" "$T/db" d "$N" "$N" > "$T/$name.re.chk" 2>&1 ||
            fail "$name: after the rerun: $(cat "$T/$name.re.chk")"
    fi
    local left
    left=$(ls -A "$T" | grep '^\.db\.bulk-' || true)
    [ -z "$left" ] || fail "$name: left after the rerun: $left"
}

# The calls of an undisturbed run, per thread.
rm -rf "$T/db"
timeout 60 strace -f -qq -o "$T/count.trace" -e trace=fdatasync,fsync,rename,renameat2,pwrite64 \
    "$PSI" --db "$T/db" --parallel-build 2 --batch 10 -q "$T/docs.jsonl" > /dev/null 2> "$T/count.err" ||
    { fail "undisturbed run failed: $(cat "$T/count.err")"; finish; }
"$CHECKER" "$T/db" d "$N" "$N" > /dev/null || fail "undisturbed run: not all documents"

for sc in fdatasync fsync rename renameat2; do
    max=$(count_calls "$T/count.trace" "$sc")
    [ "$max" -gt 0 ] || { fail "no $sc call seen"; continue; }
    echo "$max $sc calls per thread: kill -9 at each"
    for k in $(sweep_list "$max" 1); do
        name=kill-$sc-$k
        rm -rf "$T/db" "$T"/.db.bulk-*
        fault_run "$name" "$sc:signal=SIGKILL:when=$k" "$PSI" --db "$T/db" "${ARGS[@]}" "$T/docs.jsonl"
        if [ "$KILLED" -ne 1 ]; then
            fail "$name: not killed (exit $RC)"
            continue
        fi
        FAULTS=$((FAULTS + 1))
        check_all_or_nothing "$name"
        check_rerun_clean "$name"
    done
done

# ENOSPC: every fdatasync (the merge thread's: the parts are written
# without), and pwrite64 calls (every PWSTEP-th).
XAPIAN_ABORTS=0
check_enospc_clean() {
    local name=$1
    # The known Xapian abort happens here in a part's commit; the
    # all-or-nothing check still applies.
    enospc_ended "$name" || return 0
    if [ "$RC" -eq 0 ]; then
        # An injected failure the run survived (e.g. a write Xapian retries).
        return
    fi
    [ "$RC" -eq 74 ] || [ "$RC" -eq 73 ] ||
        fail "$name: exit $RC (want 74): $(grep -v DEBUG "$T/$name.err" | head -c 300)"
    # Xapian's "Failed to create iamglass file" does not say why.
    grep -qi 'no space left on device\|ENOSPC\|cannot create the database' "$T/$name.err" ||
        fail "$name: error does not name ENOSPC: $(grep -v DEBUG "$T/$name.err" | head -c 300)"
}
for sc in fdatasync pwrite64; do
    max=$(count_calls "$T/count.trace" "$sc")
    step=1
    [ "$sc" = pwrite64 ] && step=$PWSTEP
    echo "$max $sc calls per thread: ENOSPC at every ${step}"
    for k in $(sweep_list "$max" "$step"); do
        name=enospc-$sc-$k
        rm -rf "$T/db" "$T"/.db.bulk-*
        fault_run "$name" "$sc:error=ENOSPC:when=$k" "$PSI" --db "$T/db" "${ARGS[@]}" "$T/docs.jsonl"
        FAULTS=$((FAULTS + 1))
        check_enospc_clean "$name"
        check_all_or_nothing "$name"
        if [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ]; then
            left=$(ls -A "$T" | grep '^\.db\.bulk-' || true)
            [ -z "$left" ] || fail "$name: a failed build left $left"
        fi
        check_rerun_clean "$name"
    done
done
echo "faults injected: $FAULTS (no database after $NONE, the whole one after $WHOLE;" \
     "known Xapian aborts: $XAPIAN_ABORTS)"
[ "$FAULTS" -gt 20 ] || fail "only $FAULTS faults injected"
[ "$NONE" -gt 0 ] && [ "$WHOLE" -gt 0 ] || fail "the sweep did not see both outcomes"
finish
