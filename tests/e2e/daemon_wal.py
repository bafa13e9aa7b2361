"""polysearchd's write-ahead log (docs/WAL.md) end to end, against the real
daemon on 127.0.0.1:0:

  replay     adds, replaces and deletes acknowledged and kill -9'd before
             any checkpoint come back at restart (search, get, stats),
             each id once; then a checkpoint puts them into the database
             (the log is emptied, xapian-check passes, polysearch-index
             --query sees them without the daemon)
  torn       a torn last record (the file cut inside it) and a corrupt one
             (a flipped payload byte) are reported and cut at start, never
             replayed half; every complete record before them comes back
  visible    read-your-writes on another connection right after each ack,
             across the delta and the database: a replaced document is
             found once with its new text, a deleted one never, and get,
             search and stats documents agree, before and after the
             checkpoint
  lock       while changes wait in the log the daemon keeps the database's
             writer lock (a local polysearch-index is refused); once they
             are checkpointed and writes pause for --writer-idle it is
             released
  nowal      --no-wal: every group is a Xapian commit, no wal/ directory
             is written, stats wal.enabled is 0; --no-wal and a local
             polysearch-index refuse a database whose log holds changes
             not yet checkpointed (kill -9), and work once a start with
             the log has applied them
Usage: daemon_wal.py [CASE...] (default: all).
"""
import glob
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check  # noqa: E402

# Nothing is checkpointed unless a test asks for it.
NO_CKPT = ["--checkpoint-interval", "60m", "--writer-idle", "60m",
           "--checkpoint-docs", "100000000"]


def ok(msg):
    print("ok - " + msg)


def call_ok(c, method, params):
    err, res = c.call(method, params)
    check(err is None, "%s: %r" % (method, err))
    return res


def hits(c, q, limit=50):
    return [h["id"] for h in call_ok(c, "search", {"q": q, "limit": limit})["hits"]]


def add(c, docs):
    return call_ok(c, "add", {"docs": docs})


def segments(db):
    return sorted(glob.glob(os.path.join(db, "wal", "*.log")))


def wal_stats(c):
    return call_ok(c, "stats", {})["wal"]


def xapian_check(db):
    r = subprocess.run(["xapian-check", db], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(r.returncode == 0, "xapian-check: %s" % r.stdout.decode(errors="replace")[-300:])


def indexer_query(db, q):
    r = subprocess.run([pstest.indexer_path(), "--db", db, "--query", q, "--limit", "50"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "indexer --query: %s" % r.stderr.decode(errors="replace"))
    return r.stdout.decode()


def case_replay(tmp):
    db = pstest.build_index(tmp)
    with pstest.Daemon(db, tmp, args=NO_CKPT) as d:
        c = d.client()
        base = call_ok(c, "stats", {})["documents"]
        for i in range(20):
            add(c, [{"id": "r/%d" % i, "lang": "fr", "body": "Ornithorynque numéro %d" % i}])
        add(c, [{"id": "r/3", "lang": "fr", "body": "Ornithorynque remplacé par un quokka"}])
        res = call_ok(c, "delete", {"ids": ["r/4", "r/never"]})
        check(res == {"deleted": 1, "not_found": 1}, "delete %r" % res)
        w = wal_stats(c)
        check(w["enabled"] == 1 and w["pending_ops"] >= 21 and w["checkpoints"] == 0 and
              w["bytes"] > 16, "stats before the kill %r" % w)
        d.stop(signal.SIGKILL)
    ok("22 groups acknowledged, kill -9 before any checkpoint")
    with pstest.Daemon(db, tmp, args=NO_CKPT, log_name="d2.log") as d:
        c = d.client()
        got = hits(c, "ornithorynque")
        check(sorted(got) == sorted("r/%d" % i for i in range(20) if i != 4),
              "after replay: %r" % got)
        check(hits(c, "quokka") == ["r/3"], "replaced text after replay")
        check(c.call("get", {"id": "r/4"})[0]["code"] == "not_found", "deleted doc is back")
        st = call_ok(c, "stats", {})
        check(st["documents"] == base + 19, "documents %d, want %d" % (st["documents"], base + 19))
        check(st["wal"]["replayed"] == 22, "replayed %r" % st["wal"])
        check("replayed 22 groups" in d.log_text() or "replayed 21 operations" in d.log_text()
              or "operations from the write-ahead log" in d.log_text(), "replay not logged")
        ok("replayed at restart: 19 documents, the replaced text, the deleted one absent")
        d.stop()  # SIGTERM: a last checkpoint
    log = open(os.path.join(tmp, "d2.log")).read()
    check("stopped" in log, "clean stop")
    xapian_check(db)
    out = indexer_query(db, "ornithorynque")
    check(out.count("r/") >= 19 and "r/4\t" not in out and "r/4 " not in out,
          "checkpointed database without the daemon: %s" % out[:300])
    with pstest.Daemon(db, tmp, args=NO_CKPT, log_name="d3.log") as d:
        c = d.client()
        w = wal_stats(c)
        check(w["replayed"] == 0 and w["pending_ops"] == 0, "log not emptied by the stop %r" % w)
        check(len(hits(c, "ornithorynque")) == 19, "19 after the checkpoint")
    ok("SIGTERM checkpoints: the database holds them, the log replays nothing")


def raw_records(path):
    """(offset, length) of each record of a segment."""
    data = open(path, "rb").read()
    out, off = [], 16
    while off + 16 <= len(data):
        n = int.from_bytes(data[off:off + 4], "little")
        if off + 16 + n > len(data):
            break
        out.append((off, 16 + n))
        off += 16 + n
    return out


def case_torn(tmp):
    db = pstest.build_index(tmp)
    for mode in ("torn", "corrupt"):
        with pstest.Daemon(db, tmp, args=NO_CKPT, log_name=mode + "1.log") as d:
            c = d.client()
            for i in range(6):
                add(c, [{"id": "%s/%d" % (mode, i), "body": "Wombat %s %d" % (mode, i)}])
            d.stop(signal.SIGKILL)
        seg = segments(db)[-1]
        recs = raw_records(seg)
        check(len(recs) >= 6, "%d records in %s" % (len(recs), seg))
        off, n = recs[-1]
        if mode == "torn":
            with open(seg, "r+b") as f:
                f.truncate(off + n // 2)
        else:
            with open(seg, "r+b") as f:
                f.seek(off + n - 3)
                b = f.read(1)
                f.seek(off + n - 3)
                f.write(bytes([b[0] ^ 0x20]))
        with pstest.Daemon(db, tmp, args=NO_CKPT, log_name=mode + "2.log") as d:
            c = d.client()
            got = sorted(h for h in hits(c, "wombat") if h.startswith(mode))
            want = ["%s/%d" % (mode, i) for i in range(5)]
            check(got == want, "%s: after restart %r, want %r" % (mode, got, want))
            log = d.log_text()
            check("WARN" in log and ("cut" in log or "torn" in log or "corrupt" in log),
                  "%s tail not reported: %s" % (mode, log[-600:]))
            add(c, [{"id": "%s/after" % mode, "body": "Wombat after the cut"}])
            d.stop(signal.SIGKILL)
        with pstest.Daemon(db, tmp, args=NO_CKPT, log_name=mode + "3.log") as d:
            c = d.client()
            check("%s/after" % mode in hits(c, "wombat"), "%s: add after the cut lost" % mode)
            d.stop()
        ok("%s last record: reported, cut, the 5 before it and a later add kept" % mode)


def case_visible(tmp):
    db = pstest.build_index(tmp)
    # A document in the database first, then changed through the log.
    with pstest.Daemon(db, tmp, args=["--no-wal"], log_name="pre.log") as d:
        add(d.client(), [{"id": "v/db", "body": "Kiwi stored in the database"},
                         {"id": "v/gone", "body": "Kiwi to be deleted"}])
    with pstest.Daemon(db, tmp, args=["--checkpoint-interval", "60m", "--writer-idle", "60m",
                                      "--checkpoint-docs", "100000000"]) as d:
        w, r = d.client(), d.client()
        docs0 = call_ok(r, "stats", {})["documents"]
        for i in range(30):
            add(w, [{"id": "v/%d" % i, "body": "Kiwi number %d" % i}])
            check("v/%d" % i in hits(r, "kiwi"), "v/%d not visible at once" % i)
        add(w, [{"id": "v/db", "body": "Kiwi replaced with a tuatara"}])
        call_ok(w, "delete", {"ids": ["v/gone"]})

        def state(extra=0):
            h = hits(r, "kiwi", 100)
            check(len(h) == len(set(h)), "an id twice: %r" % h)
            check("v/gone" not in h, "deleted doc found")
            check(hits(r, "tuatara") == ["v/db"], "replaced doc not found once by its new text")
            check(hits(r, "stored") == [], "old text of the replaced doc still found")
            err, doc = r.call("get", {"id": "v/db"})
            check(err is None and "tuatara" in doc["body"], "get of the replaced doc %r" % (doc,))
            check(r.call("get", {"id": "v/gone"})[0]["code"] == "not_found", "get deleted")
            st = call_ok(r, "stats", {})
            check(st["documents"] == docs0 + 29 + extra, "documents %d, want %d" %
                  (st["documents"], docs0 + 29 + extra))
            check(sum(st["languages"].values()) == st["documents"], "languages add up")
            return sorted(h)
        before = state()
        ok("read-your-writes on another connection; replace and delete across "
           "the delta and the database agree in search, get and stats")
        # A checkpoint now (SIGHUP does not checkpoint): restart with a
        # tiny threshold and one more add to trigger it.
        d.stop()
    with pstest.Daemon(db, tmp, args=["--checkpoint-docs", "1"], log_name="d2.log") as d:
        r = d.client()
        add(r, [{"id": "v/last", "body": "Kiwi last"}])
        check(pstest.wait_until(lambda: wal_stats(r)["pending_ops"] == 0, 10),
              "no checkpoint with --checkpoint-docs 1: %r" % wal_stats(r))
        after = sorted(x for x in state(1) if x != "v/last")
        check(after == before, "state changed across the checkpoint")
    ok("the same state after the checkpoint")


def case_visible_wait(tmp):
    """--visible-wait: an add is answered once every worker shows it."""
    db = pstest.build_index(tmp)
    args = ["--workers", "3", "--checkpoint-interval", "60m", "--writer-idle", "60m"]
    with pstest.Daemon(db, tmp, args=args + ["--visible-wait", "10s"], log_name="vw.log") as d:
        w, r = d.client(), d.client()
        before = wal_stats(r)
        for i in range(10):
            add(w, [{"id": "vw/%d" % i, "body": "Quokka number %d" % i}])
        st = wal_stats(r)
        check(st["visible_waits"] - before["visible_waits"] == 10,
              "visible_waits %r -> %r, want +10" % (before, st))
        check(st["visible_timeouts"] == 0, "a worker did not show a change within 10 s: %r" % st)
        # Every worker shows them: as many searches as workers, in
        # parallel on their own connections, all see the ten.
        cs = [d.client() for _ in range(6)]
        for c in cs:
            c.request("search", {"q": "quokka", "limit": 50})
        for c in cs:
            msg = c.recv()
            check(msg and msg[2] is None and len(msg[3]["hits"]) == 10,
                  "a worker misses changes: %r" % (msg,))
    ok("--visible-wait 10s: each add waited for every worker, none gave up")
    with pstest.Daemon(db, tmp, args=args + ["--visible-wait", "0"], log_name="vw0.log") as d:
        w, r = d.client(), d.client()
        for i in range(10, 15):
            add(w, [{"id": "vw/%d" % i, "body": "Quokka number %d" % i}])
            check("vw/%d" % i in hits(r, "quokka"), "vw/%d not visible at once" % i)
        check(wal_stats(r)["visible_waits"] == 0, "--visible-wait 0 still waits")
    ok("--visible-wait 0: answered at once, still read-your-writes")


def lock_held(db):
    r = subprocess.run([pstest.indexer_path(), "--db", db, "-"], input=b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode != 0 and b"lock" in r.stderr.lower()


def case_lock(tmp):
    db = pstest.build_index(tmp)
    with pstest.Daemon(db, tmp, args=["--checkpoint-interval", "60m", "--writer-idle", "300ms",
                                      "--checkpoint-docs", "100000000"]) as d:
        c = d.client()
        add(c, [{"id": "l/1", "body": "Axolotl pending in the log"}])
        check(lock_held(db), "a local indexer got the lock while changes wait in the log")
        check(pstest.wait_until(lambda: call_ok(c, "stats", {})["writer"]["state"] == "idle", 10),
              "lock not released after --writer-idle")
        w = wal_stats(c)
        check(w["pending_ops"] == 0 and w["checkpoints"] >= 1, "not checkpointed %r" % w)
        check(not lock_held(db), "lock still held after the idle checkpoint")
        check("l/1" in indexer_query(db, "axolotl"), "the database lacks the checkpointed doc")
        ok("lock held while changes wait in the log; checkpointed and released when idle")
        # A local indexer writes while the daemon is idle; the daemon's
        # next writes see its documents (replaced, deleted: not not_found).
        # First a write that changes nothing (the writer's view is then
        # current with the last checkpoint, so only the indexer's commit
        # can make it stale), and the lock released again.
        res = call_ok(c, "delete", {"ids": ["l/none"]})
        check(res == {"deleted": 0, "not_found": 1}, "delete of nothing %r" % res)
        check(pstest.wait_until(lambda: call_ok(c, "stats", {})["writer"]["state"] == "idle", 10),
              "lock not released after a write that changed nothing")
        r = subprocess.run([pstest.indexer_path(), "--db", db, "-"],
                           input=b'{"id":"l/idx","body":"Axolotl from the indexer"}\n'
                                 b'{"id":"l/idx2","body":"Axolotl two"}\n',
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check(r.returncode == 0, "local indexer: %s" % r.stderr.decode(errors="replace"))
        res = call_ok(c, "delete", {"ids": ["l/idx"]})
        check(res == {"deleted": 1, "not_found": 0}, "delete of the indexer's doc %r" % res)
        res = add(c, [{"id": "l/idx2", "body": "Axolotl two, replaced by the daemon"}])
        check(res["replaced"] == 1, "replace of the indexer's doc %r" % res)
        got = sorted(hits(c, "axolotl"))
        check(got == ["l/1", "l/idx2"], "after the indexer and the daemon: %r" % got)
    ok("a local indexer's commit between the daemon's writes: its documents are "
       "replaced and deleted through the log")


def case_nowal(tmp):
    db = pstest.build_index(tmp)
    with pstest.Daemon(db, tmp, args=["--no-wal"]) as d:
        c = d.client()
        add(c, [{"id": "n/1", "body": "Pangolin committed at once"}])
        check(hits(c, "pangolin") == ["n/1"], "not found")
        st = call_ok(c, "stats", {})
        check(st["wal"] == {"enabled": 0} and st["limits"]["wal"] == 0, "stats %r" % st["wal"])
        d.stop(signal.SIGKILL)
    check(not os.path.exists(os.path.join(db, "wal")), "--no-wal wrote a log")
    check("n/1" in indexer_query(db, "pangolin"), "--no-wal add not committed")
    ok("--no-wal: a commit per group, no log")
    # Changes only in the log (kill -9 before a checkpoint): --no-wal
    # refuses to start rather than skip them; a start with the log applies
    # them, and then --no-wal starts.
    with pstest.Daemon(db, tmp, args=NO_CKPT, log_name="w.log") as d:
        add(d.client(), [{"id": "n/2", "body": "Pangolin only in the log"}])
        d.stop(signal.SIGKILL)
    r = subprocess.run([pstest.daemon_path(), "--db", db, "--listen", "127.0.0.1:0",
                        "--no-wal"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 74 and "without --no-wal" in err, "--no-wal over a pending log: "
          "exit %d: %s" % (r.returncode, err[-300:]))
    # So does a local polysearch-index: its documents would be overwritten
    # by the older log records at the next start.
    r = subprocess.run([pstest.indexer_path(), "--db", db, "-"],
                       input=b'{"id":"n/2","body":"Pangolin from the indexer"}\n',
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 75 and "write-ahead log" in err and "start polysearchd" in err,
          "local indexer over a pending log: exit %d: %s" % (r.returncode, err[-300:]))
    check("n/2" not in indexer_query(db, "pangolin"), "the refused indexer wrote")
    with pstest.Daemon(db, tmp, log_name="w2.log") as d:
        d.stop()
    with pstest.Daemon(db, tmp, args=["--no-wal"], log_name="w3.log") as d:
        check(sorted(hits(d.client(), "pangolin")) == ["n/1", "n/2"], "after the log was applied")
    r = subprocess.run([pstest.indexer_path(), "--db", db, "-"],
                       input=b'{"id":"n/3","body":"Pangolin from the indexer"}\n',
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "local indexer after the log was applied: %s" % r.stderr[-300:])
    ok("--no-wal (exit 74) and a local polysearch-index (exit 75) refuse a database "
       "whose log holds changes; a start with the log applies them, then both work")


CASES = {"replay": case_replay, "torn": case_torn, "visible": case_visible,
         "visible_wait": case_visible_wait,
         "lock": case_lock, "nowal": case_nowal}


def main():
    if not pstest.indexer_path():
        pstest.skip("needs polysearch-index")
    names = sys.argv[1:] or list(CASES)
    for name in names:
        with pstest.workdir() as tmp:
            CASES[name](tmp)
    print("all checks passed")


if __name__ == "__main__":
    main()
