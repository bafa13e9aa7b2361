#!/bin/bash
# kill -9 at each fdatasync and each rename of an indexing run (strace
# -e inject=SYSCALL:signal=SIGKILL:when=K, K = 1..all calls): after each
# kill xapian-check passes, the database opens, every document of a
# commit reported before the kill is there, and a new writer starts at
# once and completes the run.
# Usage: indexer_kill_sweep.sh POLYSEARCH-INDEX PS_FAULT_CHECK
# Sweeps --jobs 1 (one thread: every call of the run) fully and the
# threaded writer (--jobs 2) every 4th call; PS_FAULT_FULL=1 sweeps every
# call of both with a larger input.
source "$(dirname "$0")/fault_lib.sh" "$@"

N=60 STEP=4
[ -n "${PS_FAULT_FULL:-}" ] && { N=200; STEP=1; }
make_docs "$T/docs.jsonl" "$N"
KILLS=0

for jobs in 1 2; do
    # Discover the number of calls per thread of an undisturbed run.
    rm -rf "$T/db"
    timeout 60 strace -f -qq -o "$T/count.trace" -e trace=fdatasync,rename \
        "$PSI" --db "$T/db" --batch 10 --jobs "$jobs" -q "$T/docs.jsonl" \
        > /dev/null 2> "$T/count.err" || { fail "jobs $jobs: undisturbed run failed: $(cat "$T/count.err")"; continue; }
    for sc in fdatasync rename; do
        max=$(count_calls "$T/count.trace" "$sc")
        [ "$max" -gt 0 ] || { fail "jobs $jobs: no $sc call seen"; continue; }
        step=1
        [ "$jobs" -gt 1 ] && step=$STEP
        echo "jobs $jobs: $max $sc calls per thread, killing at every ${step}"
        for k in $(sweep_list "$max" "$step"); do
            name=j$jobs-$sc-$k
            rm -rf "$T/db"
            fault_run "$name" "$sc:signal=SIGKILL:when=$k" \
                "$PSI" --db "$T/db" --batch 10 --jobs "$jobs" --verbose "$T/docs.jsonl"
            if [ "$KILLED" -ne 1 ]; then
                fail "$name: not killed (exit $RC)"
                continue
            fi
            KILLS=$((KILLS + 1))
            rep=$(reported "$name")
            check_state "$name" "$T/db" "$rep" "$N"
            check_rerun "$name" "$T/db" "$T/docs.jsonl" "$N"
        done
    done
done
echo "kills survived: $KILLS"
[ "$KILLS" -gt 20 ] || fail "only $KILLS kills injected"
finish
