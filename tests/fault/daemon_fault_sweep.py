"""Fault injection into polysearchd's writer (strace -f -e inject=...).

Usage: daemon_fault_sweep.py kill|enospc|store [--full] [--syscall NAME] [--points LIST]
                              [--keep DIR] [--from-db DIR]
  kill    a client adds documents one by one and records every
          acknowledged id while the daemon runs under
          strace -e inject=SYSCALL:signal=SIGKILL:when=K, for K swept over
          the session's fdatasync and rename calls.  After each kill:
          xapian-check passes; a new daemon starts at once on the same
          (now stale) Unix socket path; every acknowledged document is
          there (get over that socket); a new add works at once (no
          stale lock).
  enospc  the same session under inject=SYSCALL:error=ENOSPC:when=N (one
          call) and when=N+ (every call from N on: the disk stays full),
          for pwrite64 and fdatasync: the add that hits it gets io_error,
          the daemon gets no signal and keeps serving searches and gets,
          every acknowledged document stays, adds work again when the
          injection stops (once), and after a restart everything
          acknowledged is there and xapian-check passes.
  store   durable subscribe and unsubscribe calls (each rewrites the store
          DB/subscriptions.msgpack: temporary file, fsync, rename, fsync of
          the directory) under inject=SYSCALL:signal=SIGKILL:when=K for the
          fsync and rename calls: after each kill the store holds exactly
          the acknowledged subscriptions, plus or minus the one change
          whose answer was lost (the old or the new store, never a broken
          one), and the daemon starts with it.
Fast subset by default (label fault); --full sweeps every call (fault;slow).
Investigation options: --syscall NAME runs only that part (kill: fdatasync
or rename; enospc: pwrite64 or fdatasync); --points LIST only those points
(comma-separated call numbers; for enospc "N" runs both modes, "N+" or "N="
only the staying or the one-call mode); --keep DIR copies the database
into DIR/TAG before each point (replay one with --from-db DIR/TAG
--points ...); --from-db DIR starts from a copy of DIR instead of a fresh
index of corpus/.
Xapian 1.4.22 calls std::terminate when a block write fails inside
commit's postings flush (tests/RELIABILITY.md): such a SIGABRT is counted
as KNOWN unless PS_FAULT_STRICT=1 ("without an active exception"; and,
with the disk staying full, "after throwing ... DatabaseError" when the
trace shows the failed block written twice: a Xapian destructor retrying
it during unwinding).  The free-space guard of ps_db_commit
prevents it on a real full disk (fault_tmpfs_enospc_sweep), but an
injected ENOSPC is invisible to statvfs.
Exit 77 without strace, ptrace permission or xapian-check.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import pstest  # noqa: E402

ADDS = 12          # adds per session (each one is a commit)
FAILS = []
FIGS = {"sessions": 0, "kills": 0, "acked": 0, "enospc_errors": 0, "known_aborts": 0,
        "start_refused": 0}


def bad(msg):
    print("FAIL: " + msg, file=sys.stderr)
    FAILS.append(msg)


def need_tools():
    for exe in ("strace", "xapian-check"):
        if not shutil.which(exe):
            pstest.skip(exe + " not installed")
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        pstest.skip("ptrace not permitted")


class Traced:
    """polysearchd under strace -f; port from --port-file."""

    def __init__(self, tmp, db, trace, inject, name, extra=()):
        self.sock = os.path.join(tmp, "sd.sock")
        if os.path.exists(self.sock):
            os.unlink(self.sock)  # a stale one from a kill: the verify
            # step already proved that the daemon handles it
        self.trace = os.path.join(tmp, name + ".trace")
        self.log = open(os.path.join(tmp, name + ".log"), "wb")
        cmd = ["strace", "-f", "-qq", "-o", self.trace, "-e", "trace=" + trace]
        if inject:
            cmd += ["-e", "inject=" + inject]
        # No --port-file: its rename would be the first rename of the main
        # thread; the clients use the Unix socket.
        # --checkpoint-docs 4: the session's 12 adds are log syncs on the
        # writer thread and three checkpoints (Xapian commits) on the
        # checkpointer thread, so both paths are swept.
        cmd += [pstest.daemon_path(), "--db", db, "--listen", "127.0.0.1:0",
                "--socket", self.sock, "--commit-delay", "0",
                "--checkpoint-docs", "4"] + list(extra)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        self.refused = False
        deadline = time.monotonic() + 20
        up = False
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                pstest.Client(self.sock, timeout=2).close()
                up = True
                break
            except OSError:
                pass
            time.sleep(0.02)
        if not up:
            # A kill injected into start-up (the write-ahead log's replay
            # syncs) is a point like any other: the verify step restarts.
            self.proc.wait(15)
            if "SIGKILL" in self.signals():
                return
            if self.refused_at_start():
                return
            self.stop()
            pstest.fail("traced polysearchd did not start: " + self.log_text())

    def refused_at_start(self):
        """ENOSPC injected into the start-up sync of the write-ahead log:
        the daemon must refuse to start (exit 74), saying why; nothing
        acknowledged is at stake and the verify step restarts without the
        fault.  Counted once per session."""
        if self.refused:
            return True
        log = self.log_text()
        # -15: the sweep's own SIGTERM raced the exit that followed the
        # refusal (the log says which).
        if (self.proc.returncode in (74, -signal.SIGTERM) and "write-ahead log" in log
                and "No space left on device" in log):
            FIGS["start_refused"] += 1
            self.refused = True
        return self.refused

    def log_text(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-600:]

    def client(self):
        return pstest.Client(self.sock, timeout=10)

    def daemon_pid(self):
        """The traced polysearchd (strace's child), None once it is gone."""
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def stop(self):
        """SIGTERM to the daemon itself (strace would detach on it); strace
        then exits with the daemon's status."""
        if self.proc.poll() is None:
            pid = self.daemon_pid()
            if pid:
                os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pid = self.daemon_pid()
                if pid:
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode

    def signals(self):
        """Signals that ended a traced process ('+++ killed by SIGX')."""
        with open(self.trace, errors="replace") as f:
            return re.findall(r"\+\+\+ killed by (SIG\w+)", f.read())


def count_session(tmp, db, trace, acked):
    """A session without faults; returns its trace (None when replaying a
    snapshot with --from-db and --points: the database must stay as kept)."""
    if OPTS["from_db"] and OPTS["points"]:
        return None
    d = Traced(tmp, db, trace, None, "count")
    session(d, "count", acked)
    d.stop()
    return d.trace


def count_calls(trace, syscall):
    if trace is None:
        return max(int(p.rstrip("+=")) for p in OPTS["points"])
    n = {}
    with open(trace, errors="replace") as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].startswith(syscall + "("):
                n[parts[0]] = n.get(parts[0], 0) + 1
    return max(n.values()) if n else 0


def rewrite_abort(trace):
    """True when the thread that got SIGABRT ended with the same failing
    pwrite64 twice (same fd, offset, data): the variant of Xapian 1.4.22's
    commit abort seen with the disk staying full (gdb: WritableDatabase::
    commit() -> postings flush -> block write throws; during unwinding a
    Xapian destructor writes that block again, throws, and meets its
    implicit noexcept -> "terminate called after throwing an instance of
    'Xapian::DatabaseError'"; no polysearch frame in between)."""
    last = {}
    abrt = None
    with open(trace, errors="replace") as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) != 2:
                continue
            pid, rest = parts
            if rest.startswith("pwrite64("):
                last.setdefault(pid, []).append(rest.strip())
            elif rest.startswith("--- SIGABRT") and abrt is None:
                abrt = pid
    calls = last.get(abrt, [])[-2:]
    return (len(calls) == 2 and calls[0] == calls[1] and "ENOSPC" in calls[1] and
            "INJECTED" in calls[1])


def session(d, tag, acked, expect_error=False):
    """Adds ADDS documents one by one; returns (errors, died)."""
    errors = []
    try:
        with d.client() as c:
            for i in range(ADDS):
                doc_id = "%s/%d" % (tag, i)
                err, res = c.call("add", {"docs": [{"id": doc_id, "lang": "en",
                                                    "body": "Faulty wombat %s number %d" % (tag, i)}]})
                if err is None and res.get("added") == 1:
                    acked.append(doc_id)
                    continue
                errors.append(err)
                # The daemon must keep serving reads after a failed write.
                e2, r2 = c.call("search", {"q": "wombat", "limit": 3})
                if e2 is not None:
                    bad("%s: search after a failed add: %r" % (tag, e2))
                if acked:
                    e3, _ = c.call("get", {"id": acked[-1]})
                    if e3 is not None:
                        bad("%s: get of an acknowledged doc after a failed add: %r" % (tag, e3))
    except (ConnectionError, OSError, socket.timeout):
        return errors, True
    return errors, False


def verify(tmp, db, acked, tag):
    """xapian-check, restart on the stale socket, every acked doc, new add."""
    r = subprocess.run(["xapian-check", db], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        bad("%s: xapian-check: %s" % (tag, r.stdout.decode(errors="replace")[-300:]))
    t0 = time.monotonic()
    with pstest.Daemon(db, tmp, socket=True, log_name="verify.log") as d:
        start = time.monotonic() - t0
        with d.client(unix=True) as c:
            lost = [i for i in acked if c.call("get", {"id": i})[0] is not None]
            if lost:
                bad("%s: %d acknowledged documents lost, e.g. %s" % (tag, len(lost), lost[:3]))
            err, res = c.call("add", {"docs": [{"id": tag + "/after", "body": "after the fault"}]})
            if err is not None:
                bad("%s: add after restart: %r" % (tag, err))
            else:
                acked.append(tag + "/after")
        if d.stop() != 0:
            bad("%s: verify daemon exit status" % tag)
    return start


# The free-list phase fails the first fdatasync of a Xapian commit that
# answers an add: the commit-per-group mode (--no-wal).  With the log, a
# failed checkpoint answers nothing (it is retried; the main sweep covers
# it), and the first fdatasync of the main thread is the log's start-up
# sync.
FREELIST_ARGS = ("--no-wal",)

OPTS = {"syscall": None, "points": None, "keep": None, "from_db": None}


def snapshot(db, tag):
    """--keep: the database as it is before the point tag."""
    if OPTS["keep"]:
        dst = os.path.join(OPTS["keep"], tag)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(db, dst)


def syscalls(default):
    return [s for s in default if OPTS["syscall"] in (None, s)]


def wanted_modes(n):
    """Enospc modes (False: once, True: from n on) selected for point n."""
    if OPTS["points"] is None:
        return [False, True]
    modes = []
    for p in OPTS["points"]:
        num = p.rstrip("+=")
        if num == str(n):
            if p.endswith("+"):
                modes.append(True)
            elif p.endswith("="):
                modes.append(False)
            else:
                modes += [False, True]
    return sorted(set(modes))


def sweep_points(mx, full, fast_n):
    if mx <= 0:
        return []
    if OPTS["points"] is not None:
        return sorted({int(p.rstrip("+=")) for p in OPTS["points"]})
    if full:
        return list(range(1, mx + 1))
    step = max(1, mx // fast_n)
    pts = list(range(1, mx + 1, step))
    if pts[-1] != mx:
        pts.append(mx)
    return pts


def case_kill(tmp, db, full):
    acked = []
    count_trace = count_session(tmp, db, "fdatasync,rename", acked)
    starts = []
    for sc in syscalls(("fdatasync", "rename")):
        mx = count_calls(count_trace, sc)
        if mx == 0:
            bad("no %s call in a writer session" % sc)
            continue
        pts = sweep_points(mx, full, 8)
        print("%s: %d calls per session (%d adds); killing at %s" % (sc, mx, ADDS, pts))
        for k in pts:
            tag = "k-%s-%d" % (sc, k)
            snapshot(db, tag)
            d = Traced(tmp, db, sc, "%s:signal=SIGKILL:when=%d" % (sc, k), tag)
            FIGS["sessions"] += 1
            _, died = session(d, tag, acked)
            try:
                d.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            sigs = d.signals()
            rc = d.stop()
            if "SIGKILL" in sigs:
                FIGS["kills"] += 1
            elif died:
                bad("%s: connection lost without a kill (exit %r, %s)" % (tag, rc, d.log_text()))
            starts.append(verify(tmp, db, acked, tag))
    FIGS["acked"] = len(acked)
    print("kill sweep: %d sessions, %d kills, %d acknowledged documents, 0 lost unless "
          "reported above; restart on the stale socket max %.0f ms" %
          (FIGS["sessions"], FIGS["kills"], len(acked), 1000 * max(starts or [0])))
    if FIGS["kills"] < 3:
        bad("only %d kills happened" % FIGS["kills"])


def store_names(db):
    """The names in the store file (a set), or None when it is unreadable."""
    import msgpack
    try:
        with open(os.path.join(db, "subscriptions.msgpack"), "rb") as f:
            st = msgpack.unpackb(f.read(), raw=False)
        return {e["name"] for e in st["subs"]}
    except FileNotFoundError:
        return set()
    except Exception:
        return None


def store_session(d, tag, stored):
    """Durable subscribes and unsubscribes, one store rewrite each; stored
    (a set) follows the acknowledged ones.  Returns the change in flight
    when the connection died (("add"|"del", name)), else None."""
    ops = [("add", "a"), ("add", "b"), ("add", "c"), ("del", "a"), ("add", "d"),
           ("del", "b")]
    ids = {}
    inflight = None
    try:
        with d.client() as c:
            for op, n in ops:
                name = "%s-%s" % (tag, n)
                inflight = (op, name)
                if op == "add":
                    err, res = c.call("subscribe", {"q": "wombat " + n, "name": name,
                                                    "durable": True})
                    if err is None:
                        ids[name] = res["subscription"]
                        stored.add(name)
                else:
                    err, res = c.call("unsubscribe", {"subscription": ids[name]})
                    if err is None:
                        stored.discard(name)
                if err is not None:
                    bad("%s: %s %s: %r" % (tag, op, name, err))
                inflight = None
    except (ConnectionError, OSError, socket.timeout):
        return inflight
    return None


def verify_store(tmp, db, stored, inflight, tag):
    """The store is the acknowledged one, or that with the change in
    flight; the daemon starts with it (and takes it as the truth)."""
    names = store_names(db)
    allowed = [set(stored)]
    if inflight:
        alt = set(stored)
        if inflight[0] == "add":
            alt.add(inflight[1])
        else:
            alt.discard(inflight[1])
        allowed.append(alt)
    if names is None:
        bad("%s: the store is unreadable after the kill" % tag)
        return
    if names not in allowed:
        bad("%s: store holds %s, expected %s" % (tag, sorted(names),
                                                   " or ".join(str(sorted(a)) for a in allowed)))
    with pstest.Daemon(db, tmp, socket=True, log_name="verify.log") as d:
        with d.client(unix=True) as c:
            err, st = c.call("stats")
            if err is not None or st["alerts"]["durable"] != len(names):
                bad("%s: after restart: %r %r" % (tag, err, st and st.get("alerts")))
        if d.stop() != 0:
            bad("%s: verify daemon exit status" % tag)
    stored.clear()
    stored.update(names)


def case_store(tmp, db, full):
    stored = set()
    d = Traced(tmp, db, "fsync,rename", None, "count")
    store_session(d, "count", stored)
    d.stop()
    kills = 0
    for sc in syscalls(("fsync", "rename")):
        mx = count_calls(d.trace, sc)
        if mx == 0:
            bad("no %s call in a store session" % sc)
            continue
        pts = sweep_points(mx, full, 8)
        print("%s: %d calls per session; killing at %s" % (sc, mx, pts))
        for k in pts:
            tag = "s-%s-%d" % (sc, k)
            t = Traced(tmp, db, sc, "%s:signal=SIGKILL:when=%d" % (sc, k), tag)
            FIGS["sessions"] += 1
            inflight = store_session(t, tag, stored) if t.proc.poll() is None else None
            try:
                t.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            if "SIGKILL" in t.signals():
                kills += 1
            t.stop()
            verify_store(tmp, db, stored, inflight, tag)
    print("store sweep: %d sessions, %d kills, %d subscriptions stored at the end" %
          (FIGS["sessions"], kills, len(stored)))
    if kills < 3:
        bad("only %d kills happened" % kills)


def end_enospc_session(d, tag, stays, errors, died):
    """Stops an ENOSPC session; checks signals, exit status and errors."""
    strict = os.environ.get("PS_FAULT_STRICT") == "1"
    sigs = d.signals()
    rc = d.stop()
    if d.refused_at_start():
        return
    if died or sigs:
        log = d.log_text()
        # strace's "+++ killed by" line is sometimes missing
        # under load: the exit status tells SIGABRT too.
        if rc == -signal.SIGABRT and "SIGABRT" not in sigs:
            sigs.append("SIGABRT")
        if (not strict and "SIGABRT" in sigs and
                "terminate called without an active exception" in log):
            FIGS["known_aborts"] += 1
            print("KNOWN: %s: SIGABRT inside Xapian's commit (std::terminate)" % tag)
        elif (not strict and stays and "SIGABRT" in sigs and
              "terminate called after throwing an instance of 'Xapian::DatabaseError'"
              in log and rewrite_abort(d.trace)):
            FIGS["known_aborts"] += 1
            print("KNOWN: %s: SIGABRT inside Xapian's commit (a destructor rewrote "
                  "the failed block during unwinding)" % tag)
        else:
            bad("%s: daemon died (signals %s, exit %r): %s" % (tag, sigs, rc, log[-300:]))
    elif rc != 0:
        bad("%s: exit status %r after SIGTERM" % (tag, rc))
    for e in errors:
        if not (isinstance(e, dict) and e.get("code") == "io_error"):
            bad("%s: add error is not io_error: %r" % (tag, e))
        elif "No space left on device" not in e.get("message", "") and \
                "ENOSPC" not in e.get("message", ""):
            bad("%s: io_error does not name ENOSPC: %r" % (tag, e["message"][:200]))
    FIGS["enospc_errors"] += len(errors)


def xapian_check(db, tag):
    r = subprocess.run(["xapian-check", db], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        bad("%s: xapian-check: %s" % (tag, r.stdout.decode(errors="replace")[-300:]))
    return r.returncode == 0


# The free-list phase (ENOSPC on fdatasync, round 4): Xapian 1.4.22 answers
# a failed commit by committing an empty revision from free lists that
# still hold the failed attempt's blocks; when that attempt had moved a
# table's free list on to a new block, the last one of the good revision
# is overwritten ("Ran off end of freelist"; lib/core/commit_fence.c).  The
# sweep points above reach that only by chance (first at e-fdatasync-59 of
# the full sweep), so each cycle here replaces CHURN_BATCH documents three
# times: under fdatasync ENOSPC once (when=1: Xapian's rollback commit
# succeeds) and from the first call on (when=1+), both of which must fail
# with io_error and leave xapian-check clean, then without a fault.  The
# three runs free the same blocks, so the failed ones move a free list on
# to a new block exactly when the good one does (a new block with the
# free-list level byte in the table files); the phase runs until that
# happened CHURN_MOVES times (quick) or CHURN_MOVES_FULL times (--full).
CHURN_DOCS, CHURN_BATCH, CHURN_WORDS = 2000, 300, 20
CHURN_MOVES, CHURN_MOVES_FULL, CHURN_MAX_CYCLES = 2, 6, 60


def churn_doc(k, v):
    x = ((k * 2654435761) ^ (v * 40503 + 1)) & 0xffffffff
    words = []
    for _ in range(CHURN_WORDS):
        x = (x * 1103515245 + 12345) & 0xffffffff
        words.append("w%03x" % ((x >> 12) & 0xfff))
    return {"id": "churn/%04d" % k, "lang": "en", "body": " ".join(words)}


def churn_batch(first, n, v):
    return [churn_doc((first + i * 7) % CHURN_DOCS, v) for i in range(n)]


class FreeListBlocks:
    """Free-list blocks of the glass tables (8 KiB blocks, level byte 254
    at offset 4); moved() tells which tables got a new one since the last
    call, among those that had one then."""

    TABLES = ("postlist", "termlist", "position", "docdata", "spelling")

    def __init__(self, db):
        self.db = db
        self.seen = self.scan()

    def scan(self):
        out = {}
        for t in self.TABLES:
            blocks = set()
            try:
                with open(os.path.join(self.db, t + ".glass"), "rb") as f:
                    n = 0
                    while True:
                        b = f.read(8192)
                        if len(b) < 8192:
                            break
                        if b[4] == 254:
                            blocks.add(n)
                        n += 1
            except OSError:
                pass
            out[t] = blocks
        return out

    def moved(self):
        now = self.scan()
        tables = [t for t in self.TABLES if self.seen[t] and now[t] - self.seen[t]]
        self.seen = now
        return tables


def add_batch(d, tag, batch):
    """One add of batch over the Unix socket; returns (error, died)."""
    try:
        with d.client() as c:
            err, res = c.call("add", {"docs": batch}, timeout=60)
            if err is None and res.get("added", 0) + res.get("replaced", 0) + \
                    res.get("unchanged", 0) != len(batch):
                bad("%s: add answered %r for %d documents" % (tag, res, len(batch)))
            if err is not None:
                e2, _ = c.call("search", {"q": "w001", "limit": 3})
                if e2 is not None:
                    bad("%s: search after a failed add: %r" % (tag, e2))
            return err, False
    except (ConnectionError, OSError, socket.timeout):
        return None, True


def case_enospc_freelist(tmp, db, acked, full):
    want = CHURN_MOVES_FULL if full else CHURN_MOVES
    # Changes a failed checkpoint of the sweep above left in the log are
    # applied first (a start and stop with the log): --no-wal refuses a
    # database whose log holds some.
    d = Traced(tmp, db, "fdatasync", None, "fl-apply-log")
    d.stop()
    d = Traced(tmp, db, "fdatasync", None, "churn-fill", FREELIST_ARGS)
    for first in range(0, CHURN_DOCS, 1000):
        err, died = add_batch(d, "churn-fill", [churn_doc(k, 0) for k in range(first, first + 1000)])
        if err is not None or died:
            bad("churn-fill: add failed: %r" % (err,))
    d.stop()
    fl = FreeListBlocks(db)
    moves, cycles = [], 0
    fails_before = len(FAILS)
    while len(moves) < want and cycles < CHURN_MAX_CYCLES:
        if cycles and len(FAILS) > fails_before:
            print("free-list phase: stopped after the first cycle with a failure")
            break
        c = cycles
        cycles += 1
        batch = churn_batch(c * 131, CHURN_BATCH, c + 1)
        for stays in (False, True):
            tag = "e-fl-%d%s" % (c, "+" if stays else "")
            snapshot(db, tag)
            d = Traced(tmp, db, "fdatasync", "fdatasync:error=ENOSPC:when=1%s" %
                       ("+" if stays else ""), tag, FREELIST_ARGS)
            FIGS["sessions"] += 1
            err, died = add_batch(d, tag, batch)
            if err is None and not died:
                bad("%s: the add succeeded although its commit's fdatasync failed" % tag)
            end_enospc_session(d, tag, stays, [err] if err is not None else [], died)
            xapian_check(db, tag)
        tag = "e-fl-%d-ok" % c
        d = Traced(tmp, db, "fdatasync", None, tag, FREELIST_ARGS)
        err, died = add_batch(d, tag, batch)
        if err is not None or died:
            bad("%s: add without a fault failed: %r" % (tag, err))
        d.stop()
        xapian_check(db, tag)
        moved = fl.moved()
        if moved:
            moves.append("%d (%s)" % (c, ", ".join(moved)))
    FIGS["freelist_cycles"] = cycles
    FIGS["freelist_moves"] = len(moves)
    acked += ["churn/%04d" % k for k in range(CHURN_DOCS)]
    print("free-list phase: %d cycles of %d replaced documents (ENOSPC on fdatasync once "
          "and from the first call on, then without a fault); a free list moved on to a "
          "new block in cycles %s" % (cycles, CHURN_BATCH, ", ".join(moves) or "none"))
    if len(moves) < want and len(FAILS) == fails_before:
        bad("free-list phase: only %d of %d cycles moved a free list on to a new block"
            % (len(moves), want))
    verify(tmp, db, acked, "e-fl-end")


def case_enospc(tmp, db, full):
    acked = []
    count_trace = count_session(tmp, db, "pwrite64,fdatasync", acked)
    for sc in syscalls(("pwrite64", "fdatasync")):
        mx = count_calls(count_trace, sc)
        if mx == 0:
            bad("no %s call in a writer session" % sc)
            continue
        pts = sweep_points(mx, full, 10 if sc == "pwrite64" else 6)
        print("%s: %d calls per session; ENOSPC at %s (once, and from there on)" % (sc, mx, pts))
        for n in pts:
            for stays in wanted_modes(n):
                tag = "e-%s-%d%s" % (sc, n, "+" if stays else "")
                snapshot(db, tag)
                d = Traced(tmp, db, sc, "%s:error=ENOSPC:when=%d%s" % (sc, n, "+" if stays else ""),
                           tag)
                FIGS["sessions"] += 1
                n_before = len(acked)
                errors, died = session(d, tag, acked)
                end_enospc_session(d, tag, stays, errors, died)
                if errors and not stays and not died and len(acked) == n_before:
                    bad("%s: no add worked again after a single injected ENOSPC" % tag)
                verify(tmp, db, acked, tag)
    if OPTS["syscall"] in (None, "fdatasync") and OPTS["points"] is None:
        case_enospc_freelist(tmp, db, acked, full)
    FIGS["acked"] = len(acked)
    print("ENOSPC sweep: %d sessions, %d io_error replies, %d acknowledged documents, "
          "%d known Xapian aborts, %d starts refused (the log's start-up sync)" %
          (FIGS["sessions"], FIGS["enospc_errors"], len(acked), FIGS["known_aborts"],
           FIGS["start_refused"]))
    if FIGS["enospc_errors"] < 3:
        bad("only %d adds failed with ENOSPC" % FIGS["enospc_errors"])


def parse_args(argv):
    """Returns full; fills OPTS.  Fails (exit 1) on a bad argument."""
    usage = ("usage: daemon_fault_sweep.py kill|enospc|store [--full] [--syscall NAME] "
             "[--points N[+|=],...] [--keep DIR] [--from-db DIR]")
    if len(argv) < 2 or argv[1] not in ("kill", "enospc", "store"):
        pstest.fail(usage)
    full = os.environ.get("PS_FAULT_FULL") == "1"
    names = {"kill": ("fdatasync", "rename"), "store": ("fsync", "rename")}.get(
        argv[1], ("pwrite64", "fdatasync"))
    args = argv[2:]
    while args:
        a = args.pop(0)
        if a == "--full":
            full = True
            continue
        if a not in ("--syscall", "--points", "--keep", "--from-db") or not args:
            pstest.fail(usage)
        v = args.pop(0)
        if a == "--syscall":
            if v not in names:
                pstest.fail("--syscall: one of %s for %s" % (", ".join(names), argv[1]))
            OPTS["syscall"] = v
        elif a == "--points":
            pts = [p for p in v.split(",") if p]
            if not pts or not all(re.fullmatch(r"[1-9][0-9]*[+=]?", p) for p in pts):
                pstest.fail("--points: comma-separated call numbers, each optionally "
                            "followed by + or =")
            OPTS["points"] = pts
        elif a == "--keep":
            os.makedirs(v, exist_ok=True)
            OPTS["keep"] = os.path.abspath(v)
        else:
            if not os.path.isfile(os.path.join(v, "iamglass")):
                pstest.fail("--from-db: %s is not a glass database" % v)
            OPTS["from_db"] = os.path.abspath(v)
    return full


def main():
    full = parse_args(sys.argv)
    need_tools()
    with pstest.workdir() as tmp:
        if OPTS["from_db"]:
            db = os.path.join(tmp, "db")
            shutil.copytree(OPTS["from_db"], db)
        else:
            db = pstest.build_index(tmp)
        t0 = time.monotonic()
        if sys.argv[1] == "kill":
            case_kill(tmp, db, full)
        elif sys.argv[1] == "store":
            case_store(tmp, db, full)
        else:
            case_enospc(tmp, db, full)
        print("%.0f s" % (time.monotonic() - t0))
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    main()
