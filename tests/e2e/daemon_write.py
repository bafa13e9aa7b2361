"""End-to-end tests of polysearchd add/delete (the writer thread).

Usage: daemon_write.py CASE [SECONDS]
  basic        add/search/replace/unchanged/delete, rejected documents,
               limits, --read-only, time-to-visible < 1 s
  concurrency  8 clients adding while 4 search: 0 failures, group commit
  kill9        kill -9 right after acknowledged adds (several points):
               every acknowledged document is there, xapian-check passes
  lock         a local polysearch-index holds the lock: add -> unavailable
               naming it; then add works; an idle daemon lets the indexer in
  enospc       the database on a 6 MiB tmpfs (unshare -rm) fills up: add
               gets io_error, nothing of it applied, searches go on, add
               works again once space is freed
  load [S]     RELIABILITY.md "Updates under load": clients search for S
               seconds (default 15) while a document is added every 100 ms:
               0 failed requests, each visible within 1 s of its ack
Every daemon and indexer started here is killed at the end; every wait is
bounded.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402


def ok(msg):
    print("ok - " + msg)


def call_ok(c, method, params):
    err, res = c.call(method, params)
    check(err is None, "%s %r failed: %r" % (method, params, err))
    return res


def hits(c, q):
    res = call_ok(c, "search", {"q": q, "limit": 50, "snippet": False})
    return [h["id"] for h in res["hits"]]


def visible_within(c, q, doc_id, timeout=1.0):
    """Seconds until a search for q returns doc_id, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if doc_id in hits(c, q):
            return time.monotonic() - t0
        time.sleep(0.002)
    return None


def xapian_check(db):
    exe = shutil.which("xapian-check")
    if not exe:
        print("note: xapian-check not installed, structure check skipped")
        return
    r = subprocess.run([exe, db], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    check(r.returncode == 0, "xapian-check failed:\n" + r.stdout.decode(errors="replace"))


# ---- basic ---------------------------------------------------------------

def case_basic(tmp, db):
    with pstest.Daemon(db, tmp, args=["--max-body", "4k"]) as d:
        c = d.client()
        # add then search: visible on the next query, well within 1 s.
        t_ack = time.monotonic()
        res = call_ok(c, "add", {"docs": [{"id": "live/1", "title": "Quokka news",
                                           "body": "The quokka xylophonist played in Lyon.",
                                           "lang": "en", "date": "2026-11-20",
                                           "url": "https://example.org/q"}]})
        t_ack = time.monotonic() - t_ack
        check(res == {"added": 1, "replaced": 0, "unchanged": 0, "rejected": []},
              "add result %r" % res)
        vis = visible_within(c, "xylophonist", "live/1")
        check(vis is not None and vis < 1.0, "added document not visible within 1 s")
        ok("add acknowledged in %.1f ms, visible %.1f ms after the ack" %
           (t_ack * 1000, vis * 1000))
        doc = call_ok(c, "get", {"id": "live/1"})
        check(doc["title"] == "Quokka news" and doc["lang"] == "en" and
              doc.get("url") == "https://example.org/q", "stored fields %r" % doc)

        # unchanged re-add, then replace with new words.
        res = call_ok(c, "add", {"docs": [{"id": "live/1", "title": "Quokka news",
                                           "body": "The quokka xylophonist played in Lyon.",
                                           "lang": "en", "date": "2026-11-20",
                                           "url": "https://example.org/q"}]})
        check(res["unchanged"] == 1 and res["added"] == 0 and res["replaced"] == 0,
              "re-add result %r" % res)
        res = call_ok(c, "add", {"docs": [{"id": "live/1",
                                           "body": "Now about a wombat harpsichordist."}]})
        check(res["replaced"] == 1 and res["added"] == 0, "replace result %r" % res)
        check("live/1" in hits(c, "harpsichordist"), "new words not found")
        check("live/1" not in hits(c, "xylophonist"), "old words still found")
        ok("unchanged re-add, replace (old words gone)")

        # delete: counts, gone from search and get.
        res = call_ok(c, "delete", {"ids": ["live/1", "no/such/doc"]})
        check(res == {"deleted": 1, "not_found": 1}, "delete result %r" % res)
        check(hits(c, "harpsichordist") == [], "deleted document still found")
        err, _ = c.call("get", {"id": "live/1"})
        check(err and err["code"] == "not_found", "get after delete: %r" % err)
        ok("delete: deleted 1, not_found 1, gone from search and get")

        # A mixed batch: each bad document rejected with index and reason.
        batch = [
            {"id": "mix/ok1", "body": "Ocelot marmalade first valid one."},
            {"body": "no id here"},                                 # 1
            {"id": "mix/nobody"},                                   # 2
            {"id": "x" * 241, "body": "id too long"},               # 3
            {"id": "mix/lang", "body": "bad lang", "lang": "zz"},   # 4
            {"id": "mix/date", "body": "bad date", "date": "yesterday"},  # 5
            {"id": "mix/type", "body": 42},                         # 6
            {"id": "mix/key", "body": "unknown key", "colour": "red"},    # 7
            "not a map",                                            # 8
            {"id": "mix/big", "body": "y" * 5000},                  # 9 (max-body 4k)
            {"id": "mix/ok2", "body": "Ocelot marmalade second valid one."},
        ]
        res = call_ok(c, "add", {"docs": batch})
        check(res["added"] == 2, "mixed batch added %r" % res)
        rej = {r["index"]: r for r in res["rejected"]}
        check(sorted(rej) == [1, 2, 3, 4, 5, 6, 7, 8, 9], "rejected indexes %r" % res)
        want = {1: 'missing "id"', 2: 'missing "body"', 3: "240", 4: "language",
                5: "date", 6: "must be a string", 7: "unknown key 'colour'",
                8: "must be a map", 9: "max_body"}
        for i, word in want.items():
            check(word in rej[i]["reason"], "reason of %d: %r" % (i, rej[i]))
        check(rej[4].get("id") == "mix/lang" and "id" not in rej[1],
              "rejection ids %r" % res["rejected"])
        check(sorted(hits(c, "ocelot marmalade")) == ["mix/ok1", "mix/ok2"],
              "valid documents of the mixed batch not searchable")
        ok("mixed batch: 9 rejected with index and reason, 2 valid ones searchable")

        # Whole-request errors.
        big = [{"id": "lim/%d" % i, "body": "b"} for i in range(1001)]
        err, _ = c.call("add", {"docs": big})
        check(err and err["code"] == "too_large" and "1000" in err["message"],
              "1001 docs: %r" % err)
        err, _ = c.call("delete", {"ids": ["i%d" % i for i in range(1001)]})
        check(err and err["code"] == "too_large", "1001 ids: %r" % err)
        check(call_ok(c, "get", {"id": "mix/ok1"})["id"] == "mix/ok1", "lost a doc")
        err, _ = c.call("get", {"id": "lim/0"})
        check(err and err["code"] == "not_found", "part of a refused add applied")
        for params in ({"docs": "nope"}, {"docs": []}, {}, {"docs": [], "x": 1},
                       {"ids": [1]}, {"ids": []}):
            method = "delete" if "ids" in params else "add"
            err, _ = c.call(method, params)
            check(err and err["code"] == "bad_request", "%s %r: %r" % (method, params, err))
        res = call_ok(c, "add", {"docs": big[:1000]})
        check(res["added"] == 1000, "1000 docs: %r" % res)
        ok("limits: 1001 docs/ids too_large, malformed requests bad_request, 1000 docs ok")

        st = call_ok(c, "stats", {})
        lim = st["limits"]
        check(lim["max_add_docs"] == 1000 and lim["max_body"] == 4096 and
              lim["read_only"] == 0, "limits %r" % lim)
        w = st["writer"]
        check(w["state"] == "open" and w["commits"] >= 6 and w["queued"] == 0 and
              w["failed_commits"] == 0, "writer stats %r" % w)
        ok("stats: writer %s, %d commits, last commit %d us" %
           (w["state"], w["commits"], w["last_commit_us"]))
        check(d.stop() == 0, "exit status after SIGTERM")

    # SIGTERM with writes queued: every one is committed and answered.
    with pstest.Daemon(db, tmp, log_name="term.log") as d:
        c = d.client()
        ids = [c.request("add", {"docs": [{"id": "term/%d" % i, "body": "Terminal tapir %d" % i}]})
               for i in range(20)]
        # ping is answered by the I/O thread once it has read every frame
        # before it: the 20 adds are then received (requests not yet read
        # at SIGTERM are not served), most of them still queued.
        ping = c.request("ping", {})
        got = {}
        while True:
            msg = c.recv(10)
            check(msg is not None, "closed before the ping answer")
            if msg[1] == ping:
                break
            got[msg[1]] = msg
        d.proc.send_signal(signal.SIGTERM)
        before = len(got)
        while len(got) < len(ids):
            msg = c.recv(10)
            check(msg is not None, "connection closed with %d of 20 answers" % len(got))
            got[msg[1]] = msg
        check(sorted(got) == sorted(ids), "answers to %r" % sorted(got))
        check(all(m[2] is None and m[3]["added"] == 1 for m in got.values()),
              "failed adds at SIGTERM: %r" % [m[2] for m in got.values() if m[2]])
        check(d.stop() == 0, "exit status after SIGTERM with writes queued")
        ok("SIGTERM with 20 adds received (%d still unanswered at the signal): all "
           "committed and answered, exit 0" % (len(ids) - before))

    with pstest.Daemon(db, tmp, args=["--read-only"], log_name="ro.log") as d:
        c = d.client()
        for i in range(20):
            call_ok(c, "get", {"id": "term/%d" % i})
        for method, params in (("add", {"docs": [{"id": "r", "body": "x"}]}),
                               ("delete", {"ids": ["mix/ok1"]})):
            err, _ = c.call(method, params)
            check(err and err["code"] == "unavailable" and "--read-only" in err["message"],
                  "read-only %s: %r" % (method, err))
        check(call_ok(c, "stats", {})["writer"]["state"] == "read_only", "ro state")
        check(call_ok(c, "get", {"id": "mix/ok1"})["id"] == "mix/ok1", "ro get")
        check(d.stop() == 0, "read-only exit status")
        ok("--read-only refuses add/delete with unavailable")


# ---- concurrency ---------------------------------------------------------

def case_concurrency(tmp, db):
    with pstest.Daemon(db, tmp) as d:
        failures = []
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def adder(k):
            try:
                with d.client() as c:
                    for i in range(25):
                        doc_id = "conc/%d/%d" % (k, i)
                        err, res = c.call("add", {"docs": [{
                            "id": doc_id, "body": "Concurrent capybara %d %d" % (k, i)}]})
                        if err is not None or res["added"] != 1:
                            failures.append(("add", err, res))
                        else:
                            with lock:
                                acked.append(doc_id)
            except Exception as e:  # noqa: BLE001
                failures.append(("adder", repr(e)))

        searches = [0]

        def searcher():
            try:
                with d.client() as c:
                    while not stop.is_set():
                        err, _ = c.call("search", {"q": "capybara", "limit": 5})
                        if err is not None:
                            failures.append(("search", err))
                        searches[0] += 1
            except Exception as e:  # noqa: BLE001
                failures.append(("searcher", repr(e)))

        ss = [threading.Thread(target=searcher) for _ in range(4)]
        ws = [threading.Thread(target=adder, args=(k,)) for k in range(8)]
        t0 = time.monotonic()
        for t in ss + ws:
            t.start()
        for t in ws:
            t.join(120)
        took = time.monotonic() - t0
        stop.set()
        for t in ss:
            t.join(30)
        check(not failures, "failed requests: %r" % failures[:5])
        check(len(acked) == 200, "acked %d of 200" % len(acked))
        with d.client() as c:
            for doc_id in acked:
                call_ok(c, "get", {"id": doc_id})
            w = call_ok(c, "stats", {})["writer"]
        check(w["max_writes_per_commit"] > 1 and w["writes_per_commit"] > 1.0,
              "no group commit happened: %r" % w)
        ok("8 adders x 25 + 4 searchers (%d searches): 0 failures, %.0f adds/s, "
           "%d commits, %.2f writes/commit (max %d)" %
           (searches[0], 200 / took, w["commits"], w["writes_per_commit"],
            w["max_writes_per_commit"]))
        check(d.stop() == 0, "exit status")


# ---- kill -9 -------------------------------------------------------------

def case_kill9(tmp, db):
    rnd = random.Random(6)
    acked = []
    for rnd_no in range(5):
        with pstest.Daemon(db, tmp, log_name="k%d.log" % rnd_no) as d:
            c = d.client()
            n = [1, 2, 5, 9, 14][rnd_no]
            for i in range(n):
                doc_id = "k9/%d/%d" % (rnd_no, i)
                res = call_ok(c, "add", {"docs": [{"id": doc_id,
                                                   "body": "Survivor pangolin %d %d" % (rnd_no, i)}]})
                check(res["added"] == 1, "add %r" % res)
                acked.append(doc_id)
            # Vary the point of the kill: right after the ack; with another
            # add in flight; with a delete in flight; after a short pause.
            mode = rnd_no % 4
            if mode == 1:
                c.request("add", {"docs": [{"id": "k9/inflight/%d" % rnd_no,
                                            "body": "maybe there"}]})
            elif mode == 2:
                c.request("delete", {"ids": [acked[0]]})
            elif mode == 3:
                time.sleep(rnd.uniform(0.0, 0.05))
            d.kill()
        # A delete in flight may or may not have been applied.
        if rnd_no == 2:
            victim = acked.pop(0)
        else:
            victim = None
        xapian_check(db)
        with pstest.Daemon(db, tmp, log_name="k%dr.log" % rnd_no) as d:
            c = d.client()
            for doc_id in acked:
                err, _ = c.call("get", {"id": doc_id})
                check(err is None, "acknowledged %s lost after kill -9: %r" % (doc_id, err))
            check(len(hits(c, "pangolin")) >= min(len(acked) - rnd_no, 50),
                  "search after restart")
            # A new write works at once (no stale lock).
            call_ok(c, "add", {"docs": [{"id": "k9/after/%d" % rnd_no, "body": "after"}]})
            acked.append("k9/after/%d" % rnd_no)
            if victim:
                print("note: delete in flight at the kill: %s" %
                      ("applied" if c.call("get", {"id": victim})[0] else "not applied"))
            check(d.stop() == 0, "exit status after restart")
    ok("5 kill -9 rounds: all %d acknowledged documents present, xapian-check passes"
       % len(acked))


# ---- lock ----------------------------------------------------------------

def lock_held(db):
    """True when some process holds a POSIX lock on db/flintlock."""
    try:
        ino = os.stat(os.path.join(db, "flintlock")).st_ino
    except FileNotFoundError:
        return False
    with open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 5 and parts[5].endswith(":%d" % ino):
                return True
    return False


def case_lock(tmp, db):
    indexer = pstest.indexer_path()
    with pstest.Daemon(db, tmp, args=["--writer-idle", "300ms"]) as d:
        c = d.client()
        # The indexer reads JSON Lines from a pipe we keep open: it holds
        # the lock until we close it.
        proc = subprocess.Popen([indexer, "--db", db, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            proc.stdin.write(b'{"id":"held/1","body":"Held by the indexer: okapi."}\n')
            proc.stdin.flush()
            check(pstest.wait_until(lambda: lock_held(db), 10), "indexer never took the lock")
            err, _ = c.call("add", {"docs": [{"id": "lk/1", "body": "Blocked aardvark"}]})
            check(err and err["code"] == "unavailable", "add under lock: %r" % (err,))
            msg = err["message"]
            for word in ("locked", "pid %d" % proc.pid, "polysearch-ind", "--server"):
                check(word in msg, "lock message lacks %r: %s" % (word, msg))
            w = call_ok(c, "stats", {})["writer"]
            check(w["state"] == "locked" and "pid %d" % proc.pid in w["lock_holder"] and
                  w["lock_conflicts"] >= 1, "stats while locked %r" % w)
            ok("add while polysearch-index holds the lock: unavailable: " + msg[:120] + "...")
            err, _ = c.call("search", {"q": "okapi"})
            check(err is None, "search while locked: %r" % err)
        finally:
            out, errout = proc.communicate(timeout=60)
        check(proc.returncode == 0, "indexer failed: %s" % errout.decode(errors="replace"))
        res = call_ok(c, "add", {"docs": [{"id": "lk/1", "body": "Unblocked aardvark"}]})
        check(res["added"] == 1, "add after the indexer: %r" % res)
        check("lk/1" in hits(c, "aardvark") and "held/1" in hits(c, "okapi"),
              "documents of both writers searchable")
        ok("after the indexer finished, add succeeds")

        # Idle daemon: the lock is released, a local indexer can run.
        check(pstest.wait_until(lambda: call_ok(c, "stats", {})["writer"]["state"] == "idle",
                                5), "writer did not release the lock when idle")
        check(not lock_held(db), "lock still held after --writer-idle")
        src = os.path.join(tmp, "local.txt")
        with open(src, "w") as f:
            f.write("Local numbat report.\n\nThe numbat indexed locally.\n")
        r = subprocess.run([indexer, "--db", db, src], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        check(r.returncode == 0, "local indexer while daemon idle: %s" % r.stderr.decode())
        check("local" in hits(c, "numbat"), "locally indexed document not visible")
        res = call_ok(c, "add", {"docs": [{"id": "lk/2", "body": "again"}]})
        check(res["added"] == 1, "add after local index %r" % res)
        ok("idle daemon released the lock: local polysearch-index ran, daemon saw it")
        check(d.stop() == 0, "exit status")


# ---- updates under load --------------------------------------------------

def case_load(tmp, db, seconds):
    with pstest.Daemon(db, tmp) as d:
        stop = threading.Event()
        failures = []
        counts = [0]

        def searcher(k):
            words = ["innovation", "santé", "lyonbiopole", "health", "marmot*"]
            try:
                with d.client() as c:
                    i = 0
                    while not stop.is_set():
                        err, _ = c.call("search", {"q": words[(i + k) % len(words)],
                                                   "limit": 10})
                        if err is not None:
                            failures.append(err)
                        counts[0] += 1
                        i += 1
            except Exception as e:  # noqa: BLE001
                failures.append(repr(e))

        ths = [threading.Thread(target=searcher, args=(k,)) for k in range(6)]
        for t in ths:
            t.start()
        lat = []
        n = 0
        try:
            with d.client() as wc, d.client() as rc:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    t_next = time.monotonic() + 0.1
                    word = "marmot%dzq" % n
                    err, res = wc.call("add", {"docs": [{"id": "load/%d" % n,
                                                         "body": "Load test %s." % word}]})
                    if err is not None:
                        failures.append(err)
                    else:
                        v = visible_within(rc, word, "load/%d" % n, timeout=2.0)
                        lat.append(v if v is not None else 99.0)
                    n += 1
                    time.sleep(max(0.0, t_next - time.monotonic()))
        finally:
            stop.set()
            for t in ths:
                t.join(30)
        with d.client() as c:
            st = call_ok(c, "stats", {})
        check(not failures, "failed requests: %r" % failures[:5])
        lat.sort()
        mx = lat[-1]
        check(mx < 1.0, "a document took %.3f s to become visible" % mx)
        check(st["reopens"] > 0, "no reopen counted")
        ok("updates under load, %d s: %d adds, %d searches by 6 clients, 0 failed; "
           "visible after ack p50 %.1f ms, max %.1f ms; reopens %d, retries %d" %
           (seconds, n, counts[0], lat[len(lat) // 2] * 1000, mx * 1000,
            st["reopens"], st["retries"]))
        check(d.stop() == 0, "exit status")


# ---- disk full -----------------------------------------------------------

def case_enospc(tmp):
    """Runs inside a private mount namespace (unshare -rm, see main): the
    database lives on a small tmpfs, a filler file takes part of it."""
    small = os.path.join(tmp, "small")
    os.mkdir(small)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", small],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        pstest.skip("cannot mount a tmpfs: " + r.stderr.decode(errors="replace"))
    db = pstest.build_index(small)
    filler = os.path.join(small, "filler")
    with open(filler, "wb") as f:
        f.write(b"\0" * (1 << 20))
    rnd = random.Random(7)
    with pstest.Daemon(db, tmp) as d:
        c = d.client()
        failed_at = None
        acked = []
        for i in range(400):
            words = " ".join("w%x" % rnd.getrandbits(40) for _ in range(4000))
            err, res = c.call("add", {"docs": [{"id": "full/%d" % i, "body": words}]})
            if err is not None:
                check(err["code"] == "io_error" and "nothing of this request" in err["message"],
                      "error when the disk is full: %r" % err)
                failed_at = i
                break
            acked.append("full/%d" % i)
        check(failed_at is not None, "the disk never filled up")
        ok("disk full after %d adds: io_error: %s" % (len(acked), err["message"][:100]))
        err, _ = c.call("get", {"id": "full/%d" % failed_at})
        check(err and err["code"] == "not_found", "the failed add is visible: %r" % err)
        res = call_ok(c, "search", {"q": "innovation"})
        check(res["total"] > 0, "searches stopped after the failed commit")
        for doc_id in acked:
            call_ok(c, "get", {"id": doc_id})
        w = call_ok(c, "stats", {})["writer"]
        check(w["failed_commits"] >= 1, "failed commit not counted: %r" % w)
        os.unlink(filler)
        res = call_ok(c, "add", {"docs": [{"id": "full/after", "body": "space again"}]})
        check(res["added"] == 1, "add after freeing space: %r" % res)
        ok("searches served, acknowledged documents intact, add works after freeing space")
        # SIGTERM makes a last checkpoint of the log's delta (about 400
        # documents of 4,000 distinct words each): seconds under ASan on
        # a loaded machine, hence more than the usual 5 s.
        check(d.stop(timeout=60 if pstest.sanitized() else 20) == 0, "exit status")
    subprocess.run(["umount", small])


def main():
    if len(sys.argv) < 2:
        fail("usage: daemon_write.py basic|concurrency|kill9|lock|load [S]")
    case = sys.argv[1]
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp) if case != "enospc" else None
        if case == "basic":
            case_basic(tmp, db)
        elif case == "concurrency":
            case_concurrency(tmp, db)
        elif case == "kill9":
            case_kill9(tmp, db)
        elif case == "lock":
            case_lock(tmp, db)
        elif case == "enospc":
            if os.environ.get("PS_IN_NS") != "1":
                if not shutil.which("unshare"):
                    pstest.skip("unshare not installed")
                env = dict(os.environ, PS_IN_NS="1")
                r = subprocess.run(["unshare", "-rm", sys.executable, __file__, "enospc"],
                                   env=env, timeout=240)
                sys.exit(r.returncode)
            case_enospc(tmp)
        elif case == "load":
            case_load(tmp, db, int(sys.argv[2]) if len(sys.argv) > 2 else 15)
        else:
            fail("unknown case " + case)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
