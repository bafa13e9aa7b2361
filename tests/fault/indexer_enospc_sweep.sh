#!/bin/bash
# ENOSPC injected into the N-th pwrite64 and the N-th fdatasync of an
# indexing run (strace -e inject=SYSCALL:error=ENOSPC:when=N), swept over
# the run's calls: a clear error naming the cause, a non-zero exit (74
# once the database exists; 73 when the database cannot even be
# created), no signal, the last reported commit intact (xapian-check,
# every reported document present), and a rerun without injection
# completes.  Also ENOSPC on every call from N on (a disk that stays
# full).
# Usage: indexer_enospc_sweep.sh POLYSEARCH-INDEX PS_FAULT_CHECK
# Sweeps every 3rd call with --jobs 1 and every 6th with --jobs 2;
# PS_FAULT_FULL=1 takes a larger input and sweeps every fdatasync and
# about 300 evenly spaced pwrite64 calls (of ~1300) per job setting.
source "$(dirname "$0")/fault_lib.sh" "$@"

N=60 STEP1=3 STEP2=6
[ -n "${PS_FAULT_FULL:-}" ] && { N=200; STEP1=1; STEP2=1; }
make_docs "$T/docs.jsonl" "$N"
FAULTS=0
XAPIAN_ABORTS=0

# check_enospc NAME: the run failed cleanly with a message naming ENOSPC.
check_enospc() {
    local name=$1
    enospc_ended "$name" || return 0
    if grep -q 'cannot create or open database' "$T/$name.err"; then
        # The very first writes create the database: EX_CANTCREAT.
        [ "$RC" -eq 73 ] || fail "$name: create failure, exit $RC (want 73)"
        grep -qi 'no space left on device\|ENOSPC\|cannot create the database' "$T/$name.err" ||
            fail "$name: no cause in: $(head -c 300 "$T/$name.err")"
        return
    fi
    [ "$RC" -eq 74 ] || fail "$name: exit $RC (want 74): $(grep -v INFO "$T/$name.err" | head -c 300)"
    grep -q 'no space left on device (ENOSPC)' "$T/$name.err" ||
        fail "$name: error does not name ENOSPC: $(grep -v INFO "$T/$name.err" | head -c 300)"
}

for jobs in 1 2; do
    rm -rf "$T/db"
    timeout 60 strace -f -qq -o "$T/count.trace" -e trace=pwrite64,fdatasync \
        "$PSI" --db "$T/db" --batch 10 --jobs "$jobs" -q "$T/docs.jsonl" \
        > /dev/null 2> "$T/count.err" || { fail "jobs $jobs: undisturbed run failed"; continue; }
    step=$STEP1
    [ "$jobs" -gt 1 ] && step=$STEP2
    for sc in pwrite64 fdatasync; do
        max=$(count_calls "$T/count.trace" "$sc")
        [ "$max" -gt 0 ] || { fail "jobs $jobs: no $sc call seen"; continue; }
        if [ -n "${PS_FAULT_FULL:-}" ]; then
            step=$(( (max + 299) / 300 ))
        fi
        echo "jobs $jobs: $max $sc calls per thread, ENOSPC at every ${step}"
        # "once": only call k fails; "stays": every call from k on fails
        # (the disk stays full), swept half as densely.
        for w in $(sweep_list "$max" "$step") $(sweep_list "$max" $((step * 2)) | sed 's/$/+/'); do
            name=j$jobs-$sc-$w
            rm -rf "$T/db"
            fault_run "$name" "$sc:error=ENOSPC:when=$w" \
                "$PSI" --db "$T/db" --batch 10 --jobs "$jobs" --verbose "$T/docs.jsonl"
            FAULTS=$((FAULTS + 1))
            check_enospc "$name"
            check_state "$name" "$T/db" "$(reported "$name")" "$N"
            check_rerun "$name" "$T/db" "$T/docs.jsonl" "$N"
        done
    done
done
echo "ENOSPC faults injected: $FAULTS, known Xapian aborts: $XAPIAN_ABORTS"
[ "$FAULTS" -gt 20 ] || fail "only $FAULTS faults injected"
finish
