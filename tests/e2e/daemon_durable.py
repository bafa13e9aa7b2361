"""Durable subscriptions and resume (docs/PROTOCOL.md, subscribe): a
subscription stored under its name outlives its connection and the daemon;
a client that comes back with {name, resume_from: <the last seq it got>}
gets what it missed, by seq, then live matches, with no gap and no
duplicate between the two; a local polysearch-index run is picked up.

Usage: daemon_durable.py MODE, MODE one of
  resume      durable subscription across a connection close; resume while
              a writer adds matching documents concurrently: the exact set,
              in seq order, nothing twice (log mode)
  nowal       the same with --no-wal, and across a restart: the seqs go on
              increasing (the counter is in the database)
  restart     kill -9 with changes only in the write-ahead log, restart,
              resume: every acknowledged matching document arrives
  lagged      --resume-max 3: three notes, a lagged note saying how many were
              dropped and where to resume, then the rest by resuming again
  hostile     resume_from of the wrong type, negative, huge; durable without
              a name; a name too long; the store full; another query under
              a durable name; an unknown name; unsubscribe removes it; a
              corrupt store stops the start (exit 65)
  owner       with --auth-token-file, a durable subscription belongs to the
              token that made it: another read token cannot attach it or
              remove it by name (forbidden), an admin token can, a token
              given with the call counts as auth's; the owner survives a
              restart; the store holds no token
  indexer     the daemon idle (lock released): a local polysearch-index run
              adds matching documents; a live subscriber gets them once the
              daemon notices (its idle check), and the daemon's next writes
              get higher seqs

No timing thresholds: every wait is bounded and ends on an event (a
sentinel document's notification, a state in stats)."""
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pstest
from pstest import check
from daemon_alerts import SubClient, Sentinel, add, stats, subscribe

MATCH = "lyonbiopole"


def doc(i, match=True, tag="d"):
    body = ("Le pôle Lyonbiopôle annonce le projet %s-%d." % (tag, i) if match
            else "Rien à voir, numéro %s-%d." % (tag, i))
    return {"id": "%s-%d" % (tag, i), "lang": "fr", "body": body}


def start(tmp, args=(), create=True):
    return pstest.Daemon(os.path.join(tmp, "db"), tmp,
                         args=(["--create"] if create else []) + list(args))


def matches(notes, sub=None):
    """The match notes' payloads (of subscription sub when given)."""
    out = []
    for m in notes:
        check(m[0] == 2, "note %r" % (m,))
        if m[1] != "match":
            continue
        n = m[2][0]
        if sub is None or n["subscription"] == sub:
            out.append(n)
    return out


def durable(c, name="watch", q=MATCH, **kw):
    a = {"q": q, "name": name, "durable": True}
    a.update(kw)
    r = subscribe(c, a)
    check(r.get("durable") is True and r["name"] == name, "durable subscribe %r" % (r,))
    return r["subscription"]


def last_seq_through(c, w, sub, doc_id):
    """Adds nothing; waits for sub's note of doc_id; returns its seq."""
    notes = c.until(lambda m: m[1] == "match" and m[2][0]["id"] == doc_id and
                    m[2][0]["subscription"] == sub)
    return notes[-1][2][0]["seq"]


def resume_and_check(d, w, name, since, expect_ids, concurrent=0, tag="live"):
    """Reconnects, resumes name from since while a thread adds `concurrent`
    matching documents; ends with a final matching document.  Checks that
    the notes of the resumed subscription are exactly expect_ids + the
    concurrent ones + the final one, each once, by increasing seq."""
    c = SubClient(d.addr)
    errs = []
    live_ids = ["%s-%d" % (tag, i) for i in range(concurrent)]

    def writer():
        try:
            wc = SubClient(d.addr)
            for i in range(concurrent):
                add(wc, [doc(i, tag=tag)])
            wc.close()
        except Exception as e:          # reported by the main thread
            errs.append(e)

    t = threading.Thread(target=writer)
    t.start()
    r = subscribe(c, {"name": name, "resume_from": since})
    check(r.get("durable") is True, "attach %r" % (r,))
    sub = r["subscription"]
    t.join(60)
    check(not t.is_alive() and not errs, "concurrent writer: %r" % (errs,))
    final = "final-" + tag
    add(w, [dict(doc(0, tag="final-" + tag), id=final)])
    notes = c.until(lambda m: m[1] == "match" and m[2][0]["id"] == final)
    got = matches(notes, sub)
    ids = [n["id"] for n in got]
    seqs = [n["seq"] for n in got]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
          "seq order: %r" % (list(zip(ids, seqs)),))
    check(len(ids) == len(set(ids)), "a document twice: %r" % (ids,))
    want = set(expect_ids) | set(live_ids) | {final}
    check(set(ids) == want, "resumed set: extra %s, missing %s" % (
        sorted(set(ids) - want), sorted(want - set(ids))))
    check(all(s > since for s in seqs), "a seq at or below resume_from")
    check(not [m for m in notes if m[1] == "lagged"], "lagged %r" % (notes,))
    return c, sub, max(seqs)


def test_resume(args=(), restart_check=False):
    with pstest.workdir() as tmp:
        d = start(tmp, args)
        c, w = SubClient(d.addr), SubClient(d.addr)
        sub = durable(c)
        add(w, [doc(1), doc(2, match=False), doc(3)])
        since = last_seq_through(c, w, sub, "d-3")
        c.close()                       # the subscription stays stored
        # Missed: adds, a replace of a missed one, a delete of a missed one,
        # a replace of one seen before (pushed again, its latest version).
        add(w, [doc(4), doc(5, match=False), doc(6), doc(7)])
        add(w, [dict(doc(4), body="Lyonbiopôle, version deux du projet 4.")])
        err, res = w.call("delete", {"ids": ["d-6"]})
        check(err is None and res["deleted"] == 1, "delete %r" % (res,))
        add(w, [dict(doc(1), body="Lyonbiopôle : le projet 1 change.")])
        st = stats(w)["alerts"]
        check(st["durable"] == 1 and st["subscriptions"] == 0, "stats %r" % (st,))
        c, sub, top = resume_and_check(d, w, "watch", since, {"d-4", "d-7", "d-1"},
                                       concurrent=30)
        err, lst = c.call("subscriptions")
        check(err is None and len(lst) == 1 and lst[0]["durable"] is True and
              lst[0]["q"] == MATCH, "list %r" % (lst,))
        st = stats(w)["alerts"]
        check(st["resumes"] == 1 and st["catchup_docs"] >= 3, "stats %r" % (st,))
        c.close()
        w.close()
        if restart_check:
            check(d.stop() == 0, "exit status")
            d = start(tmp, args, create=False)
            w = SubClient(d.addr)
            add(w, [doc(8)])
            c, sub, top2 = resume_and_check(d, w, "watch", top, {"d-8"}, tag="after")
            check(top2 > top, "seqs go on increasing across a restart: %d then %d" %
                  (top, top2))
            c.close()
            w.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
    print("resume%s ok" % (" (--no-wal, restart)" if args else ""))


def test_restart():
    # Checkpoints far away: the changes stay in the log only.
    args = ["--checkpoint-interval", "30m", "--checkpoint-docs", "1000000",
            "--writer-idle", "30m"]
    with pstest.workdir() as tmp:
        d = start(tmp, args)
        c, w = SubClient(d.addr), SubClient(d.addr)
        sub = durable(c)
        add(w, [doc(1)])
        since = last_seq_through(c, w, sub, "d-1")
        c.close()
        add(w, [doc(2), doc(3, match=False)])
        add(w, [doc(4)])
        wal = stats(w)["wal"]
        check(wal["pending_ops"] >= 3, "changes only in the log: %r" % (wal,))
        d.kill()                        # kill -9
        d.log.close()
        d = start(tmp, args, create=False)
        w = SubClient(d.addr)
        st = stats(w)
        check(st["alerts"]["durable"] == 1, "stored across kill -9: %r" % (st["alerts"],))
        check(st["wal"]["replayed"] >= 2, "replayed %r" % (st["wal"],))
        c, sub, top = resume_and_check(d, w, "watch", since, {"d-2", "d-4"}, concurrent=10)
        c.close()
        w.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
    print("restart ok")


def test_lagged():
    with pstest.workdir() as tmp:
        d = start(tmp, ["--resume-max", "3"])
        c, w = SubClient(d.addr), SubClient(d.addr)
        sub = durable(c)
        add(w, [doc(0)])
        since = last_seq_through(c, w, sub, "d-0")
        c.close()
        add(w, [doc(i) for i in range(1, 6)])
        c = SubClient(d.addr)
        r = subscribe(c, {"name": "watch", "resume_from": since})
        notes = c.until(lambda m: m[1] == "lagged")
        got = matches(notes)
        check([n["id"] for n in got] == ["d-1", "d-2", "d-3"], "first three %r" % (got,))
        lag = notes[-1][2][0]
        check(lag["subscription"] == r["subscription"] and lag["dropped"] == 2 and
              lag["resume_from"] == got[-1]["seq"], "lagged %r" % (lag,))
        # Resuming from there (the same connection: it moves) gets the rest.
        r2 = subscribe(c, {"name": "watch", "resume_from": lag["resume_from"]})
        add(w, [doc(9)])
        notes = c.until(lambda m: m[1] == "match" and m[2][0]["id"] == "d-9")
        got = matches(notes, r2["subscription"])
        check([n["id"] for n in got] == ["d-4", "d-5", "d-9"], "the rest %r" % (got,))
        check(stats(w)["alerts"]["catchup_dropped"] == 2, "stats")
        check(d.stop() == 0, "exit status")
        d.log.close()
    print("lagged ok")


TOKENS = {"a": "read-token-of-alice-0123456789", "b": "read-token-of-bob-0123456789",
          "admin": "admin-token-of-the-operator-0123", "w": "write-token-of-the-feed-0123456"}


def test_owner():
    with pstest.workdir() as tmp:
        path = os.path.join(tmp, "tokens")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("read %s\nread %s\nadmin %s\nwrite %s\n" %
                    (TOKENS["a"], TOKENS["b"], TOKENS["admin"], TOKENS["w"]))
        args = ["--auth-token-file", path]

        def client(who):
            c = SubClient(d.addr)
            err, _ = c.call("auth", {"token": TOKENS[who]})
            check(err is None, "auth %s: %r" % (who, err))
            return c

        d = start(tmp, args)
        a, b, w = client("a"), client("b"), client("w")
        sub_a = durable(a, name="mine")
        durable(b, name="theirs", q="cluster")
        expect_err(b, {"name": "mine"}, "forbidden", "another token attaches")
        expect_err(b, {"name": "mine", "q": MATCH, "durable": True}, "forbidden",
                   "another token stores under the name")
        # Still a's, still attached to a: a gets the next match.
        add(w, [doc(1)])
        got = matches(a.until(lambda m: m[1] == "match"))
        check([n["id"] for n in got] == ["d-1"] and got[0]["subscription"] == sub_a,
              "a after b's refusals: %r" % (got,))
        # The token given with the call is a's: attaching moves it there.
        c = SubClient(d.addr)
        r = subscribe(c, {"name": "mine", "token": TOKENS["a"]})
        check(r["subscription"] != sub_a, "attached with the call's token")
        # An admin token may attach anyone's.
        adm = client("admin")
        r = subscribe(adm, {"name": "theirs"})
        check(r["name"] == "theirs", "admin attaches b's")
        for x in (a, b, c, adm, w):
            x.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
        with open(os.path.join(tmp, "db", "subscriptions.msgpack"), "rb") as f:
            store = f.read()
        for t in TOKENS.values():
            check(t.encode() not in store, "a token in the store")
        # Across a restart: the owners are kept.
        d = start(tmp, args, create=False)
        b = client("b")
        expect_err(b, {"name": "mine"}, "forbidden", "b after the restart")
        err, _ = b.call("unsubscribe", {"name": "mine"})
        check(err is not None and err["code"] == "forbidden", "b removes a's by name: %r" % (err,))
        a = client("a")
        r = subscribe(a, {"name": "mine"})
        err, _ = a.call("unsubscribe", {"subscription": r["subscription"]})
        check(err is None, "a removes its own: %r" % (err,))
        expect_err(b, {"name": "mine"}, "not_found", "removed")
        # By name, attached elsewhere or not: the admin removes b's.
        adm = client("admin")
        err, res = adm.call("unsubscribe", {"name": "theirs"})
        check(err is None and res == {"name": "theirs"}, "admin removes by name: %r %r" % (err, res))
        err, _ = adm.call("unsubscribe", {"name": "theirs"})
        check(err is not None and err["code"] == "not_found", "removed twice: %r" % (err,))
        adm.close()
        for x in (a, b):
            x.close()
        check(d.stop() == 0, "exit status after the restart")
        d.log.close()
    print("owner ok")


def expect_err(c, args, code, what):
    err, res = c.call("subscribe", args)
    check(err is not None and err["code"] == code, "%s: %r %r" % (what, err, res))


def test_hostile():
    with pstest.workdir() as tmp:
        d = start(tmp, ["--max-subscriptions", "3"])
        c = SubClient(d.addr)
        expect_err(c, {"q": "x", "resume_from": "12"}, "bad_request", "resume_from str")
        expect_err(c, {"q": "x", "resume_from": -1}, "bad_request", "resume_from < 0")
        expect_err(c, {"q": "x", "resume_from": 1.5}, "bad_request", "resume_from float")
        expect_err(c, {"q": "x", "durable": True}, "bad_request", "durable without name")
        expect_err(c, {"q": "x", "durable": 1, "name": "n"}, "bad_request", "durable int")
        expect_err(c, {"q": "x", "durable": True, "name": ""}, "bad_request", "empty name")
        expect_err(c, {"q": "x", "durable": True, "name": "n" * 300}, "too_large",
                   "name too long")
        expect_err(c, {"name": "nobody"}, "not_found", "unknown name")
        expect_err(c, {}, "bad_request", "neither q nor name")
        for args, code in [({}, "bad_request"), ({"subscription": 1, "name": "n"}, "bad_request"),
                           ({"name": 5}, "bad_request"), ({"name": "nobody"}, "not_found")]:
            err, _ = c.call("unsubscribe", args)
            check(err is not None and err["code"] == code, "unsubscribe %r: %r" % (args, err))
        r = subscribe(c, {"q": "x", "resume_from": 2 ** 64 - 1})
        check(r["subscription"] > 0, "huge resume_from accepted")
        err, _ = c.call("unsubscribe", {"subscription": r["subscription"]})
        check(err is None, "unsubscribe")
        for i in range(3):
            durable(c, name="n%d" % i, q="word%d" % i)
        c.close()                       # live 0, stored 3 (the bound)
        c = SubClient(d.addr)
        w = SubClient(d.addr)
        err, _ = w.call("subscribe", {"q": "y", "durable": True, "name": "n3"})
        check(err and err["code"] == "busy" and "durable" in err["message"],
              "store full: %r" % (err,))
        expect_err(w, {"q": "other", "name": "n0"}, "bad_request", "another query")
        durable(c, name="n0", q="word0")
        expect_err(w, {"q": "(", "durable": True, "name": "n0"}, "bad_request",
                   "another (bad) query")
        err, lst = c.call("subscriptions")
        n0 = [s for s in lst if s["name"] == "n0"][0]["subscription"]
        err, res = c.call("unsubscribe", {"subscription": n0})
        check(err is None, "unsubscribe durable %r" % (err,))
        expect_err(w, {"name": "n0"}, "not_found", "unsubscribed durable")
        # A query the matcher refuses is not stored.
        expect_err(w, {"q": "NOT santé", "durable": True, "name": "bad"}, "query_syntax",
                   "bad query")
        expect_err(w, {"name": "bad"}, "not_found", "refused query not stored")
        c.close()
        st = stats(w)["alerts"]
        check(st["durable"] == 2, "store after close %r" % (st,))
        w.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
        # The store survives the stop; a corrupt store stops the start.
        path = os.path.join(tmp, "db", "subscriptions.msgpack")
        check(os.path.getsize(path) > 0, "store written")
        d = start(tmp, create=False)
        check(stats(SubClient(d.addr))["alerts"]["durable"] == 2, "reloaded")
        check(d.stop() == 0, "exit status")
        d.log.close()
        with open(path, "wb") as f:
            f.write(b"\x81\xa7version\x02")
        p = subprocess.run([pstest.daemon_path(), "--db", os.path.join(tmp, "db"),
                            "--listen", "127.0.0.1:0", "--port-file",
                            os.path.join(tmp, "port2")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        check(p.returncode == 65 and b"subscriptions.msgpack" in p.stderr,
              "corrupt store: exit %d %r" % (p.returncode, p.stderr[-400:]))
    print("hostile ok")


def test_indexer(args=()):
    args = ["--writer-idle", "200ms", "--checkpoint-interval", "100ms"] + list(args)
    with pstest.workdir() as tmp:
        d = start(tmp, args)
        c, w = SubClient(d.addr), SubClient(d.addr)
        sent = Sentinel(c)
        sub = subscribe(c, {"q": MATCH})["subscription"]
        add(w, [doc(1)])
        before = last_seq_through(c, w, sub, "d-1")
        # Wait (bounded) until the daemon released the write lock.
        pstest.wait_until(lambda: stats(w)["writer"]["state"] == "idle", 30)
        check(stats(w)["writer"]["state"] == "idle", "daemon idle")
        src = os.path.join(tmp, "in.jsonl")
        with open(src, "w") as f:
            for i in (2, 3, 4):
                f.write(json.dumps(doc(i, match=(i != 3), tag="ix")) + "\n")
        p = subprocess.run([pstest.indexer_path(), "--db", os.path.join(tmp, "db"), src],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        check(p.returncode == 0, "indexer: %d %s" % (p.returncode, p.stdout[-600:]))
        # The daemon notices on its own (each idle second): no write needed.
        notes = c.until(lambda m: m[1] == "match" and m[2][0]["id"] == "ix-4", 60)
        got = matches(notes, sub)
        check([n["id"] for n in got] == ["ix-2", "ix-4"], "indexer docs %r" % (got,))
        seqs = [n["seq"] for n in got]
        check(seqs[0] > before and seqs == sorted(seqs), "seqs %r after %d" % (seqs, before))
        # The daemon writes again: its seqs go on above the indexer's, and
        # nothing of the indexer's is pushed twice.
        add(w, [doc(5)])
        notes = sent.flush(w)
        got = matches(notes, sub)
        check([n["id"] for n in got] == ["d-5"] and got[0]["seq"] > seqs[-1],
              "after the indexer %r" % (got,))
        check(stats(w)["alerts"]["catchups"] >= 1, "catchups counted")
        c.close()
        w.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
        # Restart after the indexer's run: the log goes on above its seqs.
        d = start(tmp, args, create=False)
        c, w = SubClient(d.addr), SubClient(d.addr)
        sub = subscribe(c, {"q": MATCH})["subscription"]
        add(w, [doc(6)])
        s6 = last_seq_through(c, w, sub, "d-6")
        check(s6 > got[0]["seq"], "seq after restart %d > %d" % (s6, got[0]["seq"]))
        err, res = w.call("search", {"q": MATCH, "limit": 50})
        check(err is None and res["total"] == 5, "all there %r" % (res,))
        c.close()
        w.close()
        check(d.stop() == 0, "exit status")
        d.log.close()
    print("indexer%s ok" % (" " + " ".join(args[4:]) if len(args) > 4 else ""))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "resume"
    {"resume": lambda: test_resume(),
     "nowal": lambda: test_resume(["--no-wal"], restart_check=True),
     "restart": test_restart, "lagged": test_lagged, "hostile": test_hostile,
     "owner": test_owner,
     "indexer": lambda: test_indexer(),
     "indexer_nowal": lambda: test_indexer(["--no-wal"])}[mode]()
    print("ok")


if __name__ == "__main__":
    main()
