"""End-to-end tests of sharding, remote shards and replication (issue 8,
docs/SCALING.md).  Loopback only; every process started here is killed.

  compare      1500 generated documents indexed once unsharded and once
               into 3 shards; 50 queries through polysearchd give the same
               top 10 (ids and order; equal scores may swap), totals and
               language facets on: the unsharded database, the 3 local
               shards (--db DIR with SHARDS) and the 3 shards served by 3
               xapian-tcpsrv (--shard tcp:127.0.0.1:P x3)
  failover     3 remote shards; one xapian-tcpsrv killed mid-run: searches
               answer partial: true with the dead shard named, quickly (no
               hang); stats shows it down; with --no-partial they fail with
               unavailable; when it comes back, full results again
  write        add/delete through polysearchd on a local shard set (--db
               DIR with SHARDS: through its write-ahead log, DIR/wal) land
               in the shard FNV-1a-64(id) % 3 once checkpointed (checked
               with xapian-delve); the log over shards in detail:
               shards_wal.py
  remote_write 3 remote shards, each served by a read-only xapian-tcpsrv
               (searches) and a --writable one (--write-shard, the
               writer's), without --wal-dir (commit mode): add/delete through polysearchd land in shard
               FNV-1a-64(id) % 3 and are found by the next searches; the
               writer lets the --writable tcpsrv go when idle and takes it
               again; without --write-shard, add answers unavailable naming
               the flag; a --writable tcpsrv killed: add answers an error
               (no hang), and works again once it is back
  replication  xapian-replicate-server on the master, one xapian-replicate
               -o round into a replica; a second polysearchd on the replica
               sees a new commit after the next round

Skips (77) when xapian-tcpsrv / xapian-replicate are missing.
"""
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

NDOCS = 1500
NSHARDS = 3


def ok(msg):
    print("ok - " + msg, flush=True)


def tool(name):
    p = shutil.which(name)
    if not p:
        pstest.skip("%s not installed (package xapian-tools)" % name)
    return p


def fnv1a64(s):
    h = 14695981039346656037
    for b in s.encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def free_port():
    """A port free right now on 127.0.0.1 (xapian-tcpsrv needs a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail("server on port %d exited with %d" % (port, proc.returncode))
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        time.sleep(0.05)
    fail("nothing listens on port %d after %.0f s" % (port, timeout))


class Procs:
    """Processes killed at exit, whatever happens."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, log):
        # Own process group: xapian-tcpsrv forks a child per connection,
        # and "the server dies" means those children too.
        p = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        self.procs.append(p)
        return p

    @staticmethod
    def kill(p):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        for p in self.procs:
            self.kill(p)


def tcpsrv(procs, db, port, log, writable=False):
    cmd = [tool("xapian-tcpsrv"), "--interface", "127.0.0.1", "--port", str(port)]
    if writable:
        cmd.append("--writable")
    p = procs.start(cmd + [db], log)
    wait_port(port, p)
    return p


def vocabulary():
    """Words of the seed corpus (deterministic order)."""
    words = set()
    cdir = os.path.join(pstest.source_dir(), "corpus")
    for name in sorted(os.listdir(cdir)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(cdir, name), encoding="utf-8", errors="replace") as f:
            for w in f.read().split():
                w = "".join(ch for ch in w if ch.isalpha()).lower()
                if 3 <= len(w) <= 14:
                    words.add(w)
    words = sorted(words)
    check(len(words) > 200, "seed corpus vocabulary too small (%d)" % len(words))
    return words


def write_docs(path, words, rng):
    import json
    langs = ["en", "fr", "de", "es"]
    # Zipf-like choice so that some words are frequent, most rare.
    weights = [1.0 / (i + 1) for i in range(len(words))]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(NDOCS):
            n = rng.randint(20, 120)
            body = " ".join(rng.choices(words, weights, k=n))
            title = " ".join(rng.choices(words, weights, k=4))
            f.write(json.dumps({"id": "d%05d" % i, "title": title, "body": body,
                                "lang": langs[i % len(langs)],
                                "date": "2020-01-%02d" % (i % 28 + 1)}) + "\n")


def make_queries(words, rng):
    weights = [1.0 / (i + 1) for i in range(len(words))]
    qs = []
    for i in range(50):
        a, b = rng.choices(words[:300], weights[:300], k=2)
        qs.append(a if i < 25 else ("%s %s" % (a, b) if i < 38 else "%s OR %s" % (a, b)))
    return qs


def index(db, src, shards=None):
    cmd = [pstest.indexer_path(), "-q", "--db", db, src]
    if shards:
        cmd[2:2] = ["--shards", str(shards)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        fail("indexer failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))


def call_ok(c, method, params):
    err, res = c.call(method, params)
    check(err is None, "%s %r failed: %r" % (method, params, err))
    return res


def search(c, q, limit=10):
    return call_ok(c, "search", {"q": q, "limit": limit, "snippet": False, "facets": True})


def same_top(ref_full, got, q, what):
    """got's top hits equal ref's: same scores; ids equal per score, the
    last (possibly cut) score group a subset of ref's ids with that score."""
    ref = ref_full["hits"][:len(got["hits"])]
    check(len(ref) == len(got["hits"]), "%s: %r: %d hits, want %d" %
          (what, q, len(got["hits"]), len(ref)))
    rs = [round(h["score"], 6) for h in ref]
    gs = [round(h["score"], 6) for h in got["hits"]]
    check(rs == gs, "%s: %r: scores %r, want %r" % (what, q, gs, rs))
    groups = {}
    for h in ref_full["hits"]:
        groups.setdefault(round(h["score"], 6), set()).add(h["id"])
    last = gs[-1] if gs else None
    for s in set(gs):
        g_ids = {h["id"] for h in got["hits"] if round(h["score"], 6) == s}
        r_ids = {h["id"] for h in ref if round(h["score"], 6) == s}
        if s == last:
            check(g_ids <= groups[s], "%s: %r: ids %r not among %r" % (what, q, g_ids, groups[s]))
        else:
            check(g_ids == r_ids, "%s: %r: ids %r, want %r" % (what, q, g_ids, r_ids))
    check(got["total"] == ref_full["total"], "%s: %r: total %d, want %d" %
          (what, q, got["total"], ref_full["total"]))
    check(got["facets"] == ref_full["facets"], "%s: %r: facets %r, want %r" %
          (what, q, got["facets"], ref_full["facets"]))
    check(not got.get("partial"), "%s: %r: partial results" % (what, q))


def setup_shards(tmp, rng):
    words = vocabulary()
    src = os.path.join(tmp, "docs.jsonl")
    write_docs(src, words, rng)
    one = os.path.join(tmp, "one")
    three = os.path.join(tmp, "three")
    index(one, src)
    index(three, src, NSHARDS)
    return words, one, three


def remote_specs(procs, three, log):
    ports = [free_port() for _ in range(NSHARDS)]
    servers = [tcpsrv(procs, os.path.join(three, "shard-%d" % i), ports[i], log)
               for i in range(NSHARDS)]
    return ports, servers, ["tcp:127.0.0.1:%d" % p for p in ports]


def shard_args(specs, extra=()):
    a = []
    for s in specs:
        a += ["--shard", s]
    return a + ["--workers", "2", "--shard-timeout", "2s"] + list(extra)


def case_compare(tmp):
    rng = random.Random(8)
    tool("xapian-tcpsrv")
    words, one, three = setup_shards(tmp, rng)
    queries = make_queries(words, rng)
    log = open(os.path.join(tmp, "servers.log"), "ab")
    with Procs() as procs, log:
        _, _, specs = remote_specs(procs, three, log)
        with pstest.Daemon(one, tmp, log_name="one.log") as d1, \
                pstest.Daemon(three, tmp, log_name="local.log") as d3, \
                pstest.Daemon(one, tmp, log_name="remote.log", args=shard_args(specs)) as dr:
            c1, c3, cr = d1.client(), d3.client(), dr.client()
            nonempty = 0
            for q in queries:
                ref = search(c1, q, 200)
                nonempty += ref["total"] > 0
                same_top(ref, search(c3, q), q, "3 local shards")
                same_top(ref, search(cr, q), q, "3 remote shards")
            check(nonempty >= 40, "only %d of 50 queries match anything" % nonempty)
            st = call_ok(cr, "stats", {})
            check(st["documents"] == NDOCS, "remote stats documents %r" % st["documents"])
            check([s["state"] for s in st["shards"]] == ["up"] * 3, "stats shards %r" % st["shards"])
            for i in (0, 7, 1499):
                doc = call_ok(cr, "get", {"id": "d%05d" % i})
                check(doc["id"] == "d%05d" % i, "get d%05d via remote shards" % i)
    ok("50 queries (%d with hits): top 10, scores, totals and facets equal on 1 db, "
       "3 local shards, 3 remote shards" % nonempty)
    # A mismatched shard count is refused.
    r = subprocess.run([pstest.indexer_path(), "-q", "--shards", "2", "--db", three,
                        os.path.join(tmp, "docs.jsonl")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 64 and b"holds 3 shards" in r.stderr,
          "--shards 2 on a 3-shard dir: rc %d %r" % (r.returncode, r.stderr))
    ok("--shards 2 on a 3-shard directory refused (64)")


def case_failover(tmp):
    rng = random.Random(9)
    tool("xapian-tcpsrv")
    words, one, three = setup_shards(tmp, rng)
    q = make_queries(words, rng)[0]
    log = open(os.path.join(tmp, "servers.log"), "ab")
    with Procs() as procs, log:
        ports, servers, specs = remote_specs(procs, three, log)
        with pstest.Daemon(one, tmp, log_name="remote.log", args=shard_args(specs)) as d, \
                pstest.Daemon(one, tmp, log_name="strict.log",
                              args=shard_args(specs, ["--no-partial"])) as ds:
            c, cs = d.client(), ds.client()
            full = search(c, q)
            check(not full.get("partial") and full["total"] > 0, "before: %r" % full)
            call_ok(cs, "search", {"q": q})
            Procs.kill(servers[1])
            worst = 0.0
            partial = None
            for _ in range(20):
                t0 = time.monotonic()
                res = search(c, q)
                worst = max(worst, time.monotonic() - t0)
                partial = res
            check(partial.get("partial") is True and partial.get("failed_shards") == [specs[1]],
                  "after kill: partial %r failed %r" % (partial.get("partial"),
                                                        partial.get("failed_shards")))
            check(partial["total"] < full["total"], "partial total %d not below %d" %
                  (partial["total"], full["total"]))
            check(worst < 3.0, "a search took %.2f s with a shard down" % worst)
            st = call_ok(c, "stats", {})
            states = [s["state"] for s in st["shards"]]
            check(states.count("down") == 1, "stats shards %r" % st["shards"])
            t0 = time.monotonic()
            err, _ = cs.call("search", {"q": q})
            check(err is not None and err["code"] == "unavailable" and specs[1] in str(err),
                  "--no-partial: %r" % (err,))
            check(time.monotonic() - t0 < 3.0, "--no-partial answer took too long")
            ok("shard killed: partial: true, failed_shards [%s], slowest of 20 searches "
               "%.0f ms; --no-partial: unavailable" % (specs[1], worst * 1000))
            servers[1] = tcpsrv(procs, os.path.join(three, "shard-1"), ports[1], log)
            t0 = time.monotonic()
            # Every worker retries on its own: wait until several searches
            # in a row (spread over the workers) are whole.
            back = pstest.wait_until(
                lambda: not any(search(c, q).get("partial") for _ in range(6)), 15.0, 0.1)
            check(back, "still partial 15 s after the shard came back")
            again = search(c, q)
            check(again["total"] == full["total"] and
                  [h["id"] for h in again["hits"]] == [h["id"] for h in full["hits"]],
                  "after recovery: results differ: %r vs %r" % (again, full))
            check(pstest.wait_until(lambda: cs.call("search", {"q": q})[0] is None, 15.0, 0.1),
                  "--no-partial daemon did not recover")
            ok("shard back: full results again after %.1f s" % (time.monotonic() - t0))


def delve_has(db, term):
    r = subprocess.run([tool("xapian-delve"), "-t", term, db], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return r.returncode == 0 and b"Posting List for term" in r.stdout and b"1" in r.stdout


def case_write(tmp):
    rng = random.Random(10)
    tool("xapian-delve")
    _, _, three = setup_shards(tmp, rng)
    ids = ["w-%d-%s" % (i, "x" * (i % 5)) for i in range(12)]
    with pstest.Daemon(three, tmp, args=["--writer-idle", "100ms"]) as d:
        c = d.client()
        for k in range(0, len(ids), 4):
            res = call_ok(c, "add", {"docs": [{"id": i, "body": "zebrafish capybara %s" % i,
                                               "lang": "en"} for i in ids[k:k + 4]]})
            check(res.get("added") == len(ids[k:k + 4]), "add: %r" % res)
            for _ in range(4):     # at once, on every worker
                check(found(c, "capybara") == sorted(ids[:k + 4]),
                      "right after add %d: %r" % (k, found(c, "capybara")))
        res = call_ok(c, "delete", {"ids": ids[:4]})
        check(res.get("deleted") == 4, "delete: %r" % res)
        st = call_ok(c, "stats", {})
        check(st["documents"] == NDOCS + len(ids) - 4, "documents %r" % st["documents"])
        check(st["wal"]["enabled"] == 1, "a shard set directory has a log: %r" % st["wal"])
        # Writer idle: the log checkpointed into the shards, lock released.
        check(pstest.wait_until(lambda: call_ok(c, "stats", {})["writer"]["state"] == "idle",
                                15), "not checkpointed: %r" % call_ok(c, "stats", {})["wal"])
    for i in ids:
        want = fnv1a64(i) % NSHARDS
        for k in range(NSHARDS):
            has = delve_has(os.path.join(three, "shard-%d" % k), "Q" + i)
            expect = (k == want) and i not in ids[:4]
            check(has == expect, "id %s in shard-%d: %r, want %r" % (i, k, has, expect))
    ok("add/delete through polysearchd went to shard FNV-1a-64(id) %% %d" % NSHARDS)


def shard_of_docs(three, ids, deleted):
    for i in ids:
        want = fnv1a64(i) % NSHARDS
        for k in range(NSHARDS):
            has = delve_has(os.path.join(three, "shard-%d" % k), "Q" + i)
            expect = (k == want) and i not in deleted
            check(has == expect, "id %s in shard-%d: %r, want %r" % (i, k, has, expect))


def found(c, word):
    return sorted(h["id"] for h in call_ok(c, "search", {"q": word, "limit": 100,
                                                         "snippet": False})["hits"])


def case_remote_write(tmp):
    rng = random.Random(11)
    tool("xapian-tcpsrv")
    tool("xapian-delve")
    _, one, three = setup_shards(tmp, rng)
    log = open(os.path.join(tmp, "servers.log"), "ab")
    ids = ["rw-%d-%s" % (i, "y" * (i % 7)) for i in range(15)]
    with Procs() as procs, log:
        ports, _, specs = remote_specs(procs, three, log)
        wports = [free_port() for _ in range(NSHARDS)]
        writers = [tcpsrv(procs, os.path.join(three, "shard-%d" % i), wports[i], log,
                          writable=True) for i in range(NSHARDS)]
        wspecs = ["tcp:127.0.0.1:%d" % p for p in wports]
        # Without --write-shard: remote shards are read-only, said clearly.
        with pstest.Daemon(one, tmp, log_name="ro.log", args=shard_args(specs)) as d:
            err, _ = d.client().call("add", {"docs": [{"id": "x", "body": "okapi"}]})
            check(err is not None and err["code"] == "unavailable" and
                  "--write-shard" in str(err), "add without --write-shard: %r" % (err,))
        ok("remote shards without --write-shard: add answers unavailable naming the flag")
        wargs = []
        for w in wspecs:
            wargs += ["--write-shard", w]
        args = shard_args(specs, wargs + ["--writer-idle", "300ms"])
        with pstest.Daemon(one, tmp, log_name="rw.log", args=args) as d:
            c = d.client()
            # Read-your-writes: every search sent after an add's answer
            # sees it (the workers reopen after an acknowledged write), on
            # whichever worker it lands.
            for k in range(0, len(ids), 3):
                res = call_ok(c, "add", {"docs": [{"id": i, "body": "okapi narwhal %s" % i,
                                                   "lang": "en"} for i in ids[k:k + 3]]})
                check(res.get("added") == len(ids[k:k + 3]), "add: %r" % res)
                for _ in range(4):
                    check(found(c, "narwhal") == sorted(ids[:k + 3]),
                          "right after add %d: %r" % (k, found(c, "narwhal")))
            ok("add of %d docs through 3 --writable tcpsrv, 5 rounds: each found by the "
               "very next searches" % len(ids))
            time.sleep(0.6)  # the writer goes idle and lets the tcpsrv go
            res = call_ok(c, "delete", {"ids": ids[:5]})
            check(res.get("deleted") == 5, "delete: %r" % res)
            for _ in range(4):
                check(found(c, "narwhal") == sorted(ids[5:]),
                      "deleted docs still found: %r" % found(c, "narwhal"))
            st = call_ok(c, "stats", {})
            check(st["documents"] == NDOCS + len(ids) - 5, "documents %r" % st["documents"])
            check(st["writer"]["lock_taken"] >= 2, "writer %r: the idle release did "
                  "not happen" % st["writer"])
            ok("delete after the writer's idle release: writer reopened the tcpsrv "
               "(taken %d times)" % st["writer"]["lock_taken"])
            # A --writable tcpsrv dies: an error, no hang; back: writes work.
            Procs.kill(writers[1])
            one_id = next(i for i in ("dead-%d" % k for k in range(100))
                          if fnv1a64(i) % NSHARDS == 1)
            t0 = time.monotonic()
            err, _ = c.call("add", {"docs": [{"id": one_id, "body": "okapi"}]})
            took = time.monotonic() - t0
            check(err is not None and err["code"] in ("unavailable", "io_error"),
                  "add with a dead write shard: %r" % (err,))
            check(took < 10.0, "add with a dead write shard took %.1f s" % took)
            writers[1] = tcpsrv(procs, os.path.join(three, "shard-1"), wports[1], log,
                                writable=True)
            check(pstest.wait_until(
                lambda: c.call("add", {"docs": [{"id": one_id, "body": "okapi narwhal"}]})[0]
                is None, 15.0, 0.2), "add still failing after the write shard came back")
            ok("write shard killed: add answered %s in %.0f ms; works again once back" %
               (err["code"], took * 1000))
            time.sleep(0.6)
    shard_of_docs(three, ids + [one_id], ids[:5])
    ok("add/delete through remote write shards went to shard FNV-1a-64(id) %% %d" % NSHARDS)


def case_replication(tmp):
    srv = tool("xapian-replicate-server")
    rep = tool("xapian-replicate")
    master_root = os.path.join(tmp, "masters")
    os.mkdir(master_root)
    master = os.path.join(master_root, "db")
    # Writers keep changesets, so a round sends the changes only.
    os.environ["XAPIAN_MAX_CHANGESETS"] = "10"
    env = dict(os.environ)
    src = os.path.join(pstest.source_dir(), "corpus")
    r = subprocess.run([pstest.indexer_path(), "-q", "--db", master, src], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    check(r.returncode == 0, "index master: %r" % r.stderr)
    replica = os.path.join(tmp, "replica")
    log = open(os.path.join(tmp, "repl.log"), "ab")
    port = free_port()

    def round_():
        r2 = subprocess.run([rep, "-h", "127.0.0.1", "-p", str(port), "-m", "db", "-o",
                             replica], stdout=log, stderr=log, timeout=60)
        check(r2.returncode == 0, "xapian-replicate round failed (%d)" % r2.returncode)

    with Procs() as procs, log:
        p = procs.start([srv, "-I", "127.0.0.1", "-p", str(port), master_root], log)
        wait_port(port, p)
        round_()
        with pstest.Daemon(replica, tmp, log_name="replica.log") as dr:
            cr = dr.client()
            n0 = call_ok(cr, "stats", {})["documents"]
            check(n0 > 0, "replica has no documents")
            check(not call_ok(cr, "search", {"q": "quokkaroo"})["hits"], "sentinel already there")
            # A new commit on the master (through polysearchd, with changesets).
            dm_proc = pstest.Daemon(master, tmp, log_name="master2.log",
                                    args=["--writer-idle", "100ms"])
            try:
                cm = dm_proc.client()
                call_ok(cm, "add", {"docs": [{"id": "sentinel", "body": "quokkaroo marsupial",
                                              "lang": "en"}]})
            finally:
                dm_proc.stop()
                dm_proc.kill()
            round_()
            seen = pstest.wait_until(
                lambda: [h["id"] for h in call_ok(cr, "search", {"q": "quokkaroo"})["hits"]]
                == ["sentinel"], 5.0, 0.05)
            check(seen, "replica daemon does not see the new commit after the round")
            check(call_ok(cr, "stats", {})["documents"] == n0 + 1, "replica count")
    ok("replica: polysearchd on the replica sees the new commit after the next round")


def main():
    cases = {"compare": case_compare, "failover": case_failover, "write": case_write,
             "remote_write": case_remote_write, "replication": case_replication}
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        fail("usage: shards.py %s" % "|".join(cases))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    with pstest.workdir() as tmp:
        cases[sys.argv[1]](tmp)


if __name__ == "__main__":
    main()
