#!/bin/bash
# A real full disk (not an injected ENOSPC): the database lives on a small
# tmpfs in a private user+mount namespace (unshare -rm) and a filler file
# leaves F KiB free; F is swept so that the disk fills up at every stage of
# an indexing run (database creation, puts, every commit).  Each run must
# end with exit 0, 73 or 74 and never with a signal (Xapian 1.4.22 aborts
# when a block write fails inside commit's postings flush: the free-space
# guard of ps_db_commit must refuse such commits first); the last reported
# commit stays intact and a rerun after freeing space completes.
# Usage: tmpfs_enospc_sweep.sh POLYSEARCH-INDEX PS_FAULT_CHECK
# PS_FAULT_FULL=1 sweeps every 16 KiB instead of every 96 KiB.
# POLYSEARCH_MIN_FREE_MB=0 (guard off) shows what the guard prevents.
if [ "${PS_IN_NS:-}" != 1 ]; then
    command -v unshare >/dev/null 2>&1 || { echo "unshare not installed: skipped"; exit 77; }
    unshare -rm true 2>/dev/null || { echo "unshare -rm not permitted: skipped"; exit 77; }
    PS_IN_NS=1 exec unshare -rm bash "$0" "$@"
fi
source "$(dirname "$0")/fault_lib.sh" "$@"

N=200 STEP=96
[ -n "${PS_FAULT_FULL:-}" ] && STEP=16
SIZE_KB=4096
make_docs "$T/docs.jsonl" "$N"
mkdir "$T/fs"
mount -t tmpfs -o size=${SIZE_KB}k tmpfs "$T/fs" || { echo "cannot mount a tmpfs: skipped"; exit 77; }
trap 'umount "$T/fs" 2>/dev/null; cleanup' EXIT

# Size of the complete database: the sweep covers 0 .. that + 25 %.
"$PSI" --db "$T/fs/db" --batch 10 -q "$T/docs.jsonl" 2> "$T/size.err" ||
    { fail "undisturbed run on the tmpfs failed: $(head -c 300 "$T/size.err")"; finish; }
DB_KB=$(du -sk "$T/fs/db" | cut -f1)
rm -rf "$T/fs/db"
echo "database of $N documents: $DB_KB KiB; tmpfs $SIZE_KB KiB; free space swept every $STEP KiB"
SIGNALS=0 FULL=0 COMPLETE=0 GUARD=0
for ((free = 0; free <= DB_KB * 5 / 4 + 64; free += STEP)); do
    name=free$free
    rm -rf "$T/fs/db" "$T/fs/filler"
    avail=$(df -k --output=avail "$T/fs" | tail -n 1)
    fill=$((avail - free))
    [ "$fill" -gt 0 ] && { dd if=/dev/zero of="$T/fs/filler" bs=1k count="$fill" status=none 2>/dev/null || true; }
    RUNS=$((RUNS + 1))
    timeout 60 "$PSI" --db "$T/fs/db" --batch 10 --verbose "$T/docs.jsonl" > "$T/$name.out" 2> "$T/$name.err" &
    wait $! 2>/dev/null
    RC=$?
    case $RC in
        0) COMPLETE=$((COMPLETE + 1)) ;;
        73|74) FULL=$((FULL + 1))
               grep -q 'ENOSPC guard' "$T/$name.err" && GUARD=$((GUARD + 1))
               grep -qi 'no space left\|ENOSPC\|disk full\|cannot create the database' "$T/$name.err" ||
                   fail "$name: exit $RC without naming the cause: $(grep -v INFO "$T/$name.err" | head -c 300)" ;;
        *) SIGNALS=$((SIGNALS + 1))
           fail "$name: exit $RC: $(grep -v INFO "$T/$name.err" | tail -c 300)" ;;
    esac
    check_state "$name" "$T/fs/db" "$(reported "$name")" "$N"
    rm -f "$T/fs/filler"
    if [ -e "$T/fs/db/iamglass" ] || [ "$RC" -ne 0 ]; then
        check_rerun "$name" "$T/fs/db" "$T/docs.jsonl" "$N"
    fi
done
echo "free-space points: $RUNS (complete $COMPLETE, disk full $FULL of which $GUARD refused by the guard, signals $SIGNALS)"
[ "$FULL" -gt 3 ] || fail "the disk filled up in only $FULL runs"
finish
