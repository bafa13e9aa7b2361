"""polysearch-index under ENOSPC on fdatasync while a free list moves on.

Usage: indexer_freelist_sweep.py POLYSEARCH-INDEX [--full]
The indexer's commits take the same path as the daemon's (ps_db_commit),
so it had the same corruption (tests/RELIABILITY.md, round 4: Xapian's
rollback after a failed commit rewrote the last free-list block of the
good revision; lib/core/commit_fence.c).  indexer_enospc_sweep.sh starts every
run from an empty database, where free lists never span a block, so it
cannot see it.  Here a database of 2000 documents is indexed, then each
cycle reindexes 300 of them (new content) three times: under fdatasync
ENOSPC once (when=1) and from the first call on (when=1+), where the run
must exit 74 naming ENOSPC and xapian-check must pass, then without a
fault, which must exit 0.  The three runs free the same blocks, so the
failed ones move a free list on to a new block exactly when the good one
does (seen in the table files, as in daemon_fault_sweep.py); the sweep
stops after the first such cycle (--full: 6).  With the old library the first
such cycle left the database corrupt ("Ran off end of freelist").
Exit 77 without strace, ptrace permission or xapian-check.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import daemon_fault_sweep as dfs  # noqa: E402  (churn documents, free-list scan)
import pstest  # noqa: E402


def write_jsonl(path, docs):
    with open(path, "w") as f:
        for d in docs:
            f.write(json.dumps({"id": d["id"], "lang": d["lang"], "body": d["body"]}) + "\n")


def main():
    args = sys.argv[1:]
    full = "--full" in args or os.environ.get("PS_FAULT_FULL") == "1"
    args = [a for a in args if a != "--full"]
    if len(args) != 1:
        pstest.fail("usage: indexer_freelist_sweep.py POLYSEARCH-INDEX [--full]")
    psi = args[0]
    dfs.need_tools()
    want = dfs.CHURN_MOVES_FULL if full else 1
    fails = []

    def bad(msg):
        print("FAIL: " + msg, file=sys.stderr)
        fails.append(msg)

    with pstest.workdir() as tmp:
        db = os.path.join(tmp, "db")

        def run(name, inject, path):
            cmd = ["strace", "-f", "-qq", "-o", os.path.join(tmp, name + ".trace"),
                   "-e", "trace=fdatasync"]
            if inject:
                cmd += ["-e", "inject=" + inject]
            cmd += [psi, "--db", db, "--batch", "1000", "-q", path]
            env = dict(os.environ)  # LeakSanitizer does not work under ptrace
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
            r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=120, env=env)
            return r.returncode, r.stderr.decode(errors="replace")

        def check(name):
            r = subprocess.run(["xapian-check", db], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            if r.returncode != 0:
                bad("%s: xapian-check: %s" % (name, r.stdout.decode(errors="replace")[-300:]))

        t0 = time.monotonic()
        fill = os.path.join(tmp, "fill.jsonl")
        write_jsonl(fill, [dfs.churn_doc(k, 0) for k in range(dfs.CHURN_DOCS)])
        rc, err = run("fill", None, fill)
        if rc != 0:
            pstest.fail("indexing %d documents failed (%d): %s" % (dfs.CHURN_DOCS, rc, err[-300:]))
        fl = dfs.FreeListBlocks(db)
        moves, cycles, faults = [], 0, 0
        while len(moves) < want and cycles < dfs.CHURN_MAX_CYCLES and not fails:
            c = cycles
            cycles += 1
            path = os.path.join(tmp, "batch.jsonl")
            write_jsonl(path, dfs.churn_batch(c * 131, dfs.CHURN_BATCH, c + 1))
            for mode in ("1", "1+"):
                name = "c%d-when%s" % (c, mode)
                rc, err = run(name, "fdatasync:error=ENOSPC:when=" + mode, path)
                faults += 1
                if rc != 74 or "no space left on device (ENOSPC)" not in err:
                    last = err.strip().splitlines()[-1] if err.strip() else ""
                    bad("%s: exit %d (want 74 naming ENOSPC): %s" % (name, rc, last[:300]))
                check(name)
            rc, err = run("c%d-ok" % c, None, path)
            if rc != 0:
                bad("c%d-ok: exit %d without a fault: %s" % (c, rc, err[-300:]))
            check("c%d-ok" % c)
            moved = fl.moved()
            if moved:
                moves.append("%d (%s)" % (c, ", ".join(moved)))
        print("%d cycles of %d reindexed documents, %d failed runs (ENOSPC on fdatasync once "
              "and from the first call on); a free list moved on to a new block in cycles %s; "
              "%.0f s" % (cycles, dfs.CHURN_BATCH, faults, ", ".join(moves) or "none",
                          time.monotonic() - t0))
        if len(moves) < want and not fails:
            bad("only %d of %d cycles moved a free list on to a new block" % (len(moves), want))
    if fails:
        print("%d check(s) failed" % len(fails), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
