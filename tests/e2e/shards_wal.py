"""End-to-end tests of the write-ahead log over shard sets (docs/SCALING.md,
"The write-ahead log and shards": one log at the daemon, checkpointed into
every shard).  Real polysearchd on 127.0.0.1:0, 3 shards of the generated
corpus of shards.py; loopback only, every process started here is killed.

  local   a local shard set (--db DIR with SHARDS, log in DIR/wal):
          adds searchable at once on another connection (every worker),
          a replaced main document of each shard found once by its old
          and new words and never by its old version alone, deleted ones
          (main and delta) never found, get and stats (documents, the
          languages adding up) agreeing; kill -9 after the acks, restart:
          the same state (replayed from the log); --no-wal refuses the set
          while its log holds changes (74); SIGTERM checkpoints: every
          document in its shard FNV-1a-64(id) % 3 (xapian-delve), every
          shard at the same polysearch.wal_seq (xapian-metadata), and the
          next start replays nothing; the same shards as a --shard list:
          without --wal-dir commit mode (the start-up line names the flag),
          with --wal-dir the log, a shard down at start refused (74)
  remote  the same session over 3 read-only + 3 --writable xapian-tcpsrv
          (--shard/--write-shard/--wal-dir); then a --writable tcpsrv
          killed: adds acknowledged before the checkpoint stay searchable,
          the checkpoint fails naming the shard and is retried, the log
          keeps them; once the tcpsrv is back the daemon checkpoints them
          by itself; killed again, kill -9 of the daemon, tcpsrv back,
          restart: replayed and checkpointed, each in its shard; a
          read-only tcpsrv killed: adds for its shard still acknowledged,
          found (partial results) and got from the delta

Skips (77) when xapian-tcpsrv / xapian-delve / xapian-metadata are missing.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
import shards  # noqa: E402
from pstest import check  # noqa: E402
from shards import NSHARDS, Procs, call_ok, fnv1a64, ok, tool  # noqa: E402

# Nothing is checkpointed unless the test asks for it.
NO_CKPT = ["--checkpoint-interval", "60m", "--writer-idle", "60m",
           "--checkpoint-docs", "100000000"]


def setup(tmp):
    """The 3-shard set of shards.py's generated corpus (no unsharded copy)."""
    import random
    src = os.path.join(tmp, "docs.jsonl")
    shards.write_docs(src, shards.vocabulary(), random.Random(12))
    three = os.path.join(tmp, "three")
    shards.index(three, src, NSHARDS)
    return three


def ids_of(res):
    got = [h["id"] for h in res["hits"]]
    check(len(got) == len(set(got)), "an id twice: %r" % got)
    return got


def search(c, q, limit=1000):
    return call_ok(c, "search", {"q": q, "limit": limit, "snippet": False, "facets": True})


def found(c, q):
    res = search(c, q)
    got = ids_of(res)
    check(res["total"] == len(got), "%r: total %d for %d hits" % (q, res["total"], len(got)))
    check(sum(res["facets"]["lang"].values()) == len(got), "%r: facets %r for %d hits" %
          (q, res["facets"], len(got)))
    return sorted(got)


def main_ids_by_shard(n):
    """n generated ids (d00000...) of each shard."""
    out = {k: [] for k in range(NSHARDS)}
    i = 0
    while any(len(v) < n for v in out.values()):
        s = "d%05d" % i
        k = fnv1a64(s) % NSHARDS
        if len(out[k]) < n:
            out[k].append(s)
        i += 1
    return out


class State:
    """What the session did, to check after a restart and in the shards."""

    def __init__(self, base_docs):
        self.base = base_docs
        self.added = []         # delta ids (present unless in deleted)
        self.replaced = {}      # main id -> its old words (5)
        self.deleted = []       # main and delta ids deleted
        self.old_words = {}     # deleted main id -> its words

    def present(self):
        return [i for i in self.added if i not in self.deleted] + sorted(self.replaced)

    def documents(self):
        gone_main = [i for i in self.deleted if i not in self.added]
        return self.base + len([i for i in self.added if i not in self.deleted]) - \
            len(gone_main)


def words(body, n=5):
    out = []
    for w in body.split():
        if w not in out:
            out.append(w)
        if len(out) == n:
            break
    return out


def session(c, r, tag, st):
    """Adds, replaces and deletes through c, each checked at once on r."""
    for k in range(0, 12, 3):
        new = ["%s-%d-%s" % (tag, i, "x" * (i % 4)) for i in range(k, k + 3)]
        res = call_ok(c, "add", {"docs": [{"id": i, "body": "capybara %s" % i, "lang": "en"}
                                          for i in new]})
        check(res.get("added") == 3, "add %r" % res)
        st.added += new
        for _ in range(4):     # on every worker
            check(found(r, "capybara") == sorted(st.added),
                  "right after add %d: %r" % (k, found(r, "capybara")))
    # Replace two main documents of each shard: found once, by the old
    # words and the new one; never by the old version alone.
    picks = main_ids_by_shard(3)
    for k in range(NSHARDS):
        for mid in picks[k][:2]:
            if mid in st.replaced:
                continue
            doc = call_ok(r, "get", {"id": mid})
            st.replaced[mid] = words(doc["body"])
            res = call_ok(c, "add", {"docs": [{"id": mid, "body": doc["body"] + " quokka",
                                               "lang": doc["lang"]}]})
            check(res.get("replaced") == 1, "replace %s: %r" % (mid, res))
    # Delete one main document per shard and one added document.
    for k in range(NSHARDS):
        mid = picks[k][2]
        if mid in st.deleted:
            continue
        st.old_words[mid] = words(call_ok(r, "get", {"id": mid})["body"])
        check(call_ok(c, "delete", {"ids": [mid]}) == {"deleted": 1, "not_found": 0},
              "delete %s" % mid)
        st.deleted.append(mid)
    gone = st.added[1]
    check(call_ok(c, "delete", {"ids": [gone, "never-there"]}) ==
          {"deleted": 1, "not_found": 1}, "delete of an added doc")
    st.deleted.append(gone)
    verify(r, st, "right after the writes")


def verify(c, st, when):
    for _ in range(2):
        check(found(c, "capybara") == sorted(i for i in st.added if i not in st.deleted),
              "%s: added docs %r" % (when, found(c, "capybara")))
        check(found(c, "quokka") == sorted(st.replaced), "%s: replaced docs by the new "
              "word: %r" % (when, found(c, "quokka")))
    for mid, ws in st.replaced.items():
        q = " ".join(ws)
        check(found(c, q).count(mid) == 1, "%s: %s not found once by its old words" %
              (when, mid))
        check(mid not in found(c, q + " NOT quokka"), "%s: the old version of %s "
              "found" % (when, mid))
        check(call_ok(c, "get", {"id": mid})["body"].endswith(" quokka"),
              "%s: get %s: the old version" % (when, mid))
    for i in st.deleted:
        err, _ = c.call("get", {"id": i})
        check(err is not None and err["code"] == "not_found", "%s: get of deleted %s: %r" %
              (when, i, err))
        if i in st.old_words:
            check(i not in found(c, " ".join(st.old_words[i])), "%s: deleted %s found" %
                  (when, i))
    s = call_ok(c, "stats", {})
    check(s["documents"] == st.documents(), "%s: documents %d, want %d" %
          (when, s["documents"], st.documents()))
    check(sum(s["languages"].values()) == s["documents"], "%s: languages %r do not add "
          "up to %d" % (when, s["languages"], s["documents"]))
    # Every document once: a match-all search counts exactly (facets on)
    # what stats counts, so nothing else is hidden with the superseded.
    res = search(c, "", 1)
    check(res["total"] == s["documents"] and
          sum(res["facets"]["lang"].values()) == s["documents"],
          "%s: match-all total %d, facets %r, documents %d" %
          (when, res["total"], res["facets"], s["documents"]))
    return s


def check_placed(three, st):
    """After a checkpoint: each document in its own shard only, the
    deleted ones in none, every shard at the same wal_seq."""
    shards.shard_of_docs(three, st.present() + st.deleted, st.deleted)
    seqs = set()
    for k in range(NSHARDS):
        r = subprocess.run([tool("xapian-metadata"), "get", os.path.join(three, "shard-%d" % k),
                            "polysearch.wal_seq"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        check(r.returncode == 0, "xapian-metadata: %r" % r.stderr)
        seqs.add(r.stdout.strip())
    check(len(seqs) == 1 and b"" not in seqs, "shards at different checkpoints: %r" % seqs)
    return int(seqs.pop())


def wal_stats(c):
    return call_ok(c, "stats", {})["wal"]


def case_local(tmp):
    tool("xapian-delve")
    tool("xapian-metadata")
    three = setup(tmp)
    with pstest.Daemon(three, tmp, args=NO_CKPT + ["--workers", "2"]) as d:
        c, r = d.client(), d.client()
        w = wal_stats(c)
        check(w["enabled"] == 1 and os.path.isdir(os.path.join(three, "wal")),
              "no log for a shard set directory: %r" % w)
        st = State(call_ok(c, "stats", {})["documents"])
        session(c, r, "l", st)
        check(wal_stats(c)["pending_ops"] > 0, "checkpointed already")
        d.stop(signal.SIGKILL)
    ok("local shard set: adds, replaces and deletes searchable at once, get and "
       "stats agree; kill -9 before any checkpoint")
    rr = subprocess.run([pstest.daemon_path(), "--db", three, "--listen", "127.0.0.1:0",
                         "--no-wal"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=30)
    check(rr.returncode == 74 and b"without --no-wal" in rr.stderr,
          "--no-wal over a pending log: %d %r" % (rr.returncode, rr.stderr[-300:]))
    rr = subprocess.run([pstest.indexer_path(), "--db", three, "-"],
                        input=b'{"id":"l/indexer","body":"written under the log"}\n',
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(rr.returncode == 75 and b"write-ahead log" in rr.stderr,
          "local indexer over a pending log: %d %r" % (rr.returncode, rr.stderr[-300:]))
    with pstest.Daemon(three, tmp, args=NO_CKPT + ["--workers", "2"],
                       log_name="d2.log") as d:
        c = d.client()
        verify(c, st, "after kill -9 and replay")
        check(wal_stats(c)["replayed"] > 0, "nothing replayed")
        check(d.stop() == 0, "SIGTERM exit status")
    seq = check_placed(three, st)
    ok("replayed after kill -9 (--no-wal refused meanwhile, 74, and a local "
       "polysearch-index, 75); SIGTERM checkpointed "
       "every document into its shard, all shards at wal_seq %d" % seq)
    with pstest.Daemon(three, tmp, args=NO_CKPT, log_name="d3.log") as d:
        c = d.client()
        check(wal_stats(c)["replayed"] == 0, "replayed after a checkpoint: %r" % wal_stats(c))
        verify(c, st, "after the checkpoint")
    # The same shards as a --shard list: commit mode unless --wal-dir.
    specs = ["--shard=" + os.path.join(three, "shard-%d" % k) for k in range(NSHARDS)]
    with pstest.Daemon(three, tmp, args=specs, log_name="list.log") as d:
        c = d.client()
        s = call_ok(c, "stats", {})
        check(s["wal"] == {"enabled": 0} and s["limits"]["wal"] == 0, "stats %r" % s["wal"])
        check("--wal-dir" in d.log_text(), "the start-up line does not name --wal-dir")
    waldir = os.path.join(tmp, "listwal")
    with pstest.Daemon(three, tmp, args=specs + ["--wal-dir", waldir] + NO_CKPT,
                       log_name="list2.log") as d:
        c = d.client()
        s = call_ok(c, "stats", {})
        check(s["wal"]["enabled"] == 1 and s["limits"]["wal"] == 1, "stats %r" % s["wal"])
        call_ok(c, "add", {"docs": [{"id": "list-1", "body": "capybara list", "lang": "en"}]})
        st.added.append("list-1")
        verify(c, st, "--shard list with --wal-dir")
        d.stop(signal.SIGKILL)
    check(any(n.endswith(".log") for n in os.listdir(waldir)), "no segment in --wal-dir")
    with pstest.Daemon(three, tmp, args=specs + ["--wal-dir", waldir], log_name="list3.log") as d:
        verify(d.client(), st, "--shard list after kill -9")
        check(d.stop() == 0, "SIGTERM exit status")
    check_placed(three, st)
    # With the log every shard must answer at start (its checkpoint).
    gone = specs[:2] + ["--shard=" + os.path.join(tmp, "no-such-shard")]
    rr = subprocess.run([pstest.daemon_path(), "--db", three, "--listen", "127.0.0.1:0",
                         "--wal-dir", waldir] + gone, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=30)
    check(rr.returncode == 74 and b"no-such-shard" in rr.stderr,
          "a shard down at start with the log: %d %r" % (rr.returncode, rr.stderr[-300:]))
    ok("--shard list: commit mode without --wal-dir (named at start), the log with it; "
       "a shard down at start with the log: exit 74 naming it")


def case_remote(tmp):
    tool("xapian-tcpsrv")
    tool("xapian-delve")
    tool("xapian-metadata")
    three = setup(tmp)
    log = open(os.path.join(tmp, "servers.log"), "ab")
    waldir = os.path.join(tmp, "wal")
    with Procs() as procs, log:
        rports, readers, specs = shards.remote_specs(procs, three, log)
        wports = [shards.free_port() for _ in range(NSHARDS)]

        def writable(k):
            return shards.tcpsrv(procs, os.path.join(three, "shard-%d" % k), wports[k], log,
                                 writable=True)
        writers = [writable(k) for k in range(NSHARDS)]
        args = []
        for s, p in zip(specs, wports):
            args += ["--shard", s, "--write-shard", "tcp:127.0.0.1:%d" % p]
        args += ["--workers", "2", "--shard-timeout", "2s", "--wal-dir", waldir]

        with pstest.Daemon(three, tmp, args=args + NO_CKPT, log_name="r1.log") as d:
            c, r = d.client(), d.client()
            check(wal_stats(c)["enabled"] == 1, "no log with --wal-dir")
            st = State(call_ok(c, "stats", {})["documents"])
            session(c, r, "r", st)
            d.stop(signal.SIGKILL)
        with pstest.Daemon(three, tmp, args=args + NO_CKPT, log_name="r2.log") as d:
            c = d.client()
            verify(c, st, "remote, after kill -9 and replay")
            check(d.stop() == 0, "SIGTERM exit status")
        seq = check_placed(three, st)
        ok("3 remote shards (--write-shard, --wal-dir): read-your-writes, replace and "
           "delete through the log; kill -9, replay; checkpointed into each shard "
           "(wal_seq %d on all)" % seq)

        # A --writable tcpsrv dies while changes wait: acks stay safe.
        fast = ["--checkpoint-interval", "300ms", "--writer-idle", "60m",
                "--checkpoint-docs", "100000000"]
        with pstest.Daemon(three, tmp, args=args + fast, log_name="r3.log") as d:
            c = d.client()
            call_ok(c, "add", {"docs": [{"id": "f-warm", "body": "capybara warm", "lang": "en"}]})
            st.added.append("f-warm")
            check(pstest.wait_until(lambda: wal_stats(c)["pending_ops"] == 0, 15),
                  "not checkpointed: %r" % wal_stats(c))
            Procs.kill(writers[1])
            t0 = time.monotonic()
            batch = ["f-%d" % i for i in range(9)]
            call_ok(c, "add", {"docs": [{"id": i, "body": "capybara %s" % i, "lang": "en"}
                                        for i in batch]})
            st.added += batch
            check(pstest.wait_until(lambda: wal_stats(c)["failed_checkpoints"] >= 1, 15),
                  "the checkpoint did not fail: %r" % wal_stats(c))
            w = wal_stats(c)
            check("tcp:127.0.0.1:%d" % wports[1] in w["last_checkpoint_error"],
                  "the failure does not name the shard: %r" % w)
            check(w["pending_ops"] >= len(batch), "operations lost: %r" % w)
            verify(c, st, "with a write shard down")
            err, _ = c.call("add", {"docs": [{"id": "f-refused", "body": "x"}]})
            check(err is not None and err["code"] in ("unavailable", "io_error"),
                  "add while a write shard is down: %r" % (err,))
            check(time.monotonic() - t0 < 20, "too slow with a write shard down")
            ok("write shard killed: the checkpoint fails naming it (%s), acknowledged "
               "adds stay searchable and in the log" % w["last_checkpoint_error"][:60])
            writers[1] = writable(1)
            check(pstest.wait_until(lambda: wal_stats(c)["pending_ops"] == 0, 20),
                  "no checkpoint once the shard is back: %r" % wal_stats(c))
            check(wal_stats(c)["last_checkpoint_error"] == "", "error kept")
            check(pstest.wait_until(
                lambda: c.call("add", {"docs": [{"id": "f-back", "body": "capybara back",
                                                 "lang": "en"}]})[0] is None, 15, 0.2),
                "add still failing after the write shard came back")
            st.added.append("f-back")
            verify(c, st, "write shard back")
            check(pstest.wait_until(lambda: wal_stats(c)["pending_ops"] == 0, 15),
                  "not checkpointed: %r" % wal_stats(c))
            # Down again, an ack, then kill -9 of the daemon.
            Procs.kill(writers[2])
            call_ok(c, "add", {"docs": [{"id": "g-%d" % i, "body": "capybara g%d" % i,
                                         "lang": "en"} for i in range(6)]})
            st.added += ["g-%d" % i for i in range(6)]
            check(pstest.wait_until(lambda: wal_stats(c)["failed_checkpoints"] >= 2, 15),
                  "the second checkpoint did not fail: %r" % wal_stats(c))
            d.stop(signal.SIGKILL)
        ok("write shard back: the daemon checkpointed by itself and takes writes again")
        writers[2] = writable(2)
        with pstest.Daemon(three, tmp, args=args + fast, log_name="r4.log") as d:
            c = d.client()
            verify(c, st, "after kill -9 with a write shard down")
            check(pstest.wait_until(lambda: wal_stats(c)["pending_ops"] == 0, 15),
                  "not checkpointed after the restart: %r" % wal_stats(c))
            # A read-only tcpsrv down: writes for its shard are still
            # acknowledged (the log), searchable and got from the delta.
            Procs.kill(readers[0])
            new = [i for i in ("h-%d" % k for k in range(40)) if fnv1a64(i) % NSHARDS == 0][:3]
            res = call_ok(c, "add", {"docs": [{"id": i, "body": "capybara %s" % i,
                                               "lang": "en"} for i in new]})
            check(res.get("added") == 3, "add with a read shard down: %r" % res)
            st.added += new
            for _ in range(4):
                res = search(c, "capybara")
                got = ids_of(res)
                check(res.get("partial") is True and all(i in got for i in new),
                      "read shard down: %r partial %r" % (got, res.get("partial")))
                check(call_ok(c, "get", {"id": new[0]})["body"] == "capybara %s" % new[0],
                      "get from the delta with its shard down")
            readers[0] = shards.tcpsrv(procs, os.path.join(three, "shard-0"), rports[0], log)
            check(pstest.wait_until(
                lambda: not any(search(c, "capybara").get("partial") for _ in range(4)),
                15, 0.1), "still partial once the read shard is back")
            verify(c, st, "read shard back")
            ok("read-only tcpsrv killed: adds for its shard acknowledged, found (partial) "
               "and got from the delta; full results once it is back")
            check(d.stop() == 0, "SIGTERM exit status")
        check_placed(three, st)
        ok("kill -9 while a write shard was down, shard back, restart: replayed and "
           "checkpointed, each document in its shard")


def main():
    cases = {"local": case_local, "remote": case_remote}
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        pstest.fail("usage: shards_wal.py %s" % "|".join(cases))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    with pstest.workdir() as tmp:
        cases[sys.argv[1]](tmp)


if __name__ == "__main__":
    main()
