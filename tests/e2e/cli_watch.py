"""e2e: `polysearch watch` (and the subscription parts of the Python client
and docs/examples) against a real polysearchd on an empty database
(--create: no indexer needed), and against a scripted server for resuming.

Usage: cli_watch.py MODE, MODE one of
  print    human and --json watchers receive exactly the matching documents
           added by another client (accent-free upper-case query against
           accented text), in order, once each; SIGINT and SIGTERM stop
           them with exit 0
  lagged   stopped watchers (SIGSTOP) overflow the daemon's queue: once
           resumed, --json prints a lagged line (with resume_from) and the
           human one a warning on stderr; both subscribe again from there
           and print every match once, in order
  restart  watch --name --durable stopped (SIGSTOP), the daemon killed
           (-9) and restarted on the same fixed port, matches added: watch
           resumes and prints exactly the matches it missed (one
           acknowledged just before the kill, the ones added after the
           restart), once each, then the live ones
  resume   a scripted server closes the connection: watch --name
           reconnects with resume_from = the last seq it printed and does
           not print repeats; a server refusing resume_from (a daemon
           without durable subscriptions) gets a plain subscribe; then the
           real daemon: stopped while a local polysearch-index adds
           documents, restarted: watch resumes and prints exactly those
  usage    bad arguments (64), a refused subscription (65), no daemon (69)
  python   the Python client's subscribe/notifications (a notification
           interleaved with a call's reply is kept), docs/examples/watch.py
           and docs/examples/watch.c

"Exactly" without timing: each check ends with a last matching document;
notifications come in commit order, so once it is printed every earlier
one has been.  Environment: PS_CLI, PS_DAEMON, PS_BUILD_DIR, PS_SOURCE_DIR.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import msgpack  # noqa: E402

import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

CLI = os.environ.get("PS_CLI", "")
if not CLI or not os.access(CLI, os.X_OK):
    pstest.skip("PS_CLI not set")
ENV = {k: v for k, v in os.environ.items()
       if k not in ("POLYSEARCH_SERVER", "NO_COLOR", "COLUMNS")}

DOCS = [
    {"id": "fr-lyon", "lang": "fr", "date": "2024-03-01",
     "title": "Lyonbiopôle, un hub santé à l'échelle internationale",
     "body": "Le pôle Lyonbiopôle soutient les technologies de santé.",
     "url": "https://example.org/lyon"},
    {"id": "de-lyon", "lang": "de", "title": "Lyonbiopôle und Medizintechnik",
     "body": "Der Cluster fördert Innovationen in der Gesundheitswirtschaft."},
    {"id": "en-other", "lang": "en", "title": "Weather",
     "body": "Rain is expected in the north tomorrow afternoon."},
    {"id": "fr-euro", "lang": "fr", "title": "Eurobiomed",
     "body": "Eurobiomed fédère les acteurs de la SANTÉ du sud de la France."},
    {"id": "es-otro", "lang": "es", "title": "Tiempo",
     "body": "Se espera lluvia en el norte mañana por la tarde."},
]


def end_doc(n):
    """The last document of a check: it matches SANTE."""
    return {"id": "zz-end-%d" % n, "lang": "fr", "title": "Fin %d" % n,
            "body": "La santé, pour finir."}


class Watch:
    """A `polysearch watch` process with stdout and stderr in files."""

    def __init__(self, tmp, tag, args):
        self.out_path = os.path.join(tmp, tag + ".out")
        self.err_path = os.path.join(tmp, tag + ".err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([CLI] + list(args), stdout=self.out, stderr=self.err,
                                     env=ENV)

    def text(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8")

    def errtext(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8")

    def wait_err(self, needle, timeout=60):
        ok = pstest.wait_until(lambda: needle in self.errtext() or self.proc.poll() is not None,
                               timeout)
        check(ok and needle in self.errtext(),
              "watch stderr never said %r (exit %r):\n%s" % (needle, self.proc.poll(),
                                                            self.errtext()))

    def wait_out(self, needle, timeout=60):
        ok = pstest.wait_until(lambda: needle in self.text() or self.proc.poll() is not None,
                               timeout)
        check(ok and needle in self.text(),
              "watch never printed %r (exit %r)\nstdout:\n%s\nstderr:\n%s" % (
                  needle, self.proc.poll(), self.text()[-3000:], self.errtext()))

    def stop(self, sig=signal.SIGINT):
        """Sends sig; returns the exit code (fails if it does not exit)."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("watch did not exit after signal %d" % sig)
        self.out.close()
        self.err.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def add(d, docs):
    with d.client() as w:
        err, res = w.call("add", {"docs": docs}, timeout=60)
        check(err is None and not res["rejected"], "add: %r %r" % (err, res))


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


HEAD = re.compile(r"^\[\d\d:\d\d:\d\d\] (.+)$")
META = re.compile(r"^   id: (\S+) \| lang: ([a-z]{2,3})( \| date: \S+)? \| watch: (.+?)"
                  r"( \(replaced\))?$")


def human_matches(text):
    """[(id, lang, title, replaced)] from the human output."""
    lines = text.split("\n")
    check("\033" not in text, "ANSI escapes in piped output")
    got = []
    for i, l in enumerate(lines):
        m = HEAD.match(l)
        if m:
            meta = META.match(lines[i + 1])
            check(meta is not None, "line after %r: %r" % (l, lines[i + 1]))
            got.append((meta.group(1), meta.group(2), m.group(1), bool(meta.group(5))))
    return got


def test_print():
    with pstest.workdir() as tmp, pstest.Daemon(os.path.join(tmp, "db"), tmp,
                                                args=["--create"]) as d:
        srv = "127.0.0.1:%d" % d.port
        hw = Watch(tmp, "human", ["-s", srv, "watch", "SANTE"])
        jw = Watch(tmp, "json", ["-s", srv, "--json", "watch", "SANTE"])
        for w in (hw, jw):
            w.wait_err("(subscription ")
        add(d, DOCS[:3])
        add(d, DOCS[3:])
        # A replacement that still matches, one that does not change, a
        # delete: replaced, nothing, nothing.
        add(d, [dict(DOCS[0], body="Nouvelle version : la santé publique à Lyon."), DOCS[1]])
        with d.client() as c:
            err, _ = c.call("delete", {"ids": ["fr-euro"]})
            check(err is None, "delete %r" % (err,))
        add(d, [end_doc(1)])
        want = [("fr-lyon", False), ("fr-euro", False), ("fr-lyon", True), ("zz-end-1", False)]
        jw.wait_out('"zz-end-1"')
        hw.wait_out("id: zz-end-1")
        js = json_lines(jw.text())
        check([(n["id"], n.get("replaced", False)) for n in js] == want,
              "--json matches %r" % ([(n["id"], n.get("replaced")) for n in js],))
        first = js[0]
        check(first["type"] == "match" and first["name"] == "SANTE" and first["lang"] == "fr" and
              first["title"] == DOCS[0]["title"] and first["url"] == DOCS[0]["url"] and
              first["date"] == "2024-03-01" and "santé" in first["snippet"].lower() and
              isinstance(first["subscription"], int) and "time" in first, "fields %r" % first)
        seqs = [n["seq"] for n in js]
        check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seqs %r" % seqs)
        hm = human_matches(hw.text())
        check([(i, r) for i, _, _, r in hm] == want, "human matches %r" % hm)
        check(hm[0][1] == "fr" and hm[0][2] == DOCS[0]["title"], "human fields %r" % (hm[0],))
        check("url: https://example.org/lyon" in hw.text(), "human url")
        check(hw.stop(signal.SIGINT) == 0, "SIGINT: exit 0")
        check(jw.stop(signal.SIGTERM) == 0, "SIGTERM: exit 0")
        # Their subscriptions went with their connections.
        with d.client() as c:
            ok = pstest.wait_until(
                lambda: c.call("stats")[1]["alerts"]["subscriptions"] == 0, 30)
            check(ok, "subscriptions left after the watchers stopped")
        check(d.stop() == 0, "daemon exit status")
    print("human and --json: exactly the matches, in order, once; SIGINT/SIGTERM exit 0")


def test_lagged():
    # Notifications of about 2 KB, far more than the Unix socket's buffers
    # and the daemon's 64 KiB queue hold: drops are certain whatever the
    # timing while the watchers are stopped.
    ndocs, batch = 1000, 100
    title = "Santé et clusters de la région. " * 50
    with pstest.workdir() as tmp, pstest.Daemon(
            os.path.join(tmp, "db"), tmp, socket=True,
            args=["--create", "--max-notify-queue", "64k"]) as d:
        srv = "unix:" + d.socket_path
        jw = Watch(tmp, "json", ["-s", srv, "--json", "watch", "sante"])
        hw = Watch(tmp, "human", ["-s", srv, "watch", "sante"])
        for w in (jw, hw):
            w.wait_err("(subscription ")
            w.proc.send_signal(signal.SIGSTOP)
        try:
            for b in range(0, ndocs, batch):
                add(d, [{"id": "d%05d" % i, "lang": "fr", "title": "Article %d : %s" % (i, title),
                         "body": "La santé publique."} for i in range(b, b + batch)])
        finally:
            for w in (jw, hw):
                w.proc.send_signal(signal.SIGCONT)

        # The daemon sends nothing after a gap but a lagged notification
        # naming the seq before it; watch subscribes again from there, so
        # every match is printed once, in order, the dropped ones late.
        want = ["d%05d" % i for i in range(ndocs)]

        def printed(w, parse):
            return len(parse(w.text())) >= ndocs

        check(pstest.wait_until(lambda: printed(jw, lambda t: [n for n in json_lines(t)
                                                             if n["type"] == "match"]), 120),
              "--json watcher: not every match printed:\n%s" % jw.text()[-2000:])
        check(pstest.wait_until(lambda: printed(hw, lambda t: [l for l in t.split("\n")
                                                               if HEAD.match(l)]), 120),
              "human watcher: not every match printed:\n%s" % hw.errtext()[-2000:])
        js = json_lines(jw.text())
        ids = [n["id"] for n in js if n["type"] == "match"]
        lag = [n for n in js if n["type"] == "lagged"]
        check(ids == want, "--json: not every match once, in order (%d printed, %d distinct)"
              % (len(ids), len(set(ids))))
        check(lag and all(n["dropped"] > 0 and "subscription" in n and "resume_from" in n
                          for n in lag), "lagged lines %r" % (lag,))
        hw.wait_err("asking for them again after seq")
        check(jw.stop() == 0 and hw.stop() == 0, "exit status")
        check([m[0] for m in human_matches(hw.text())] == want,
              "human: not every match once, in order")
        check(d.stop() == 0, "daemon exit status")
    print("lagged: %d lagged lines (%d dropped); both watchers asked again and printed all "
          "%d matches once, in order" % (len(lag), sum(n["dropped"] for n in lag), ndocs))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ids_once(js, want, what):
    """The match ids of json lines js are exactly want, seqs increasing."""
    got = [n["id"] for n in js if n["type"] == "match"]
    check(got == want, "%s: printed %r, want %r" % (what, got, want))
    seqs = [n["seq"] for n in js if n["type"] == "match"]
    check(seqs == sorted(set(seqs)), "%s: seqs %r" % (what, seqs))
    check(not [n for n in js if n["type"] != "match"], "%s: not only matches %r" % (what, js))


def test_restart():
    """kill -9 of the daemon while watch --name --durable is stopped
    (SIGSTOP): a match acknowledged just before the kill, and matches
    added after the restart while nobody is attached to the durable
    subscription, are printed once watch resumes, exactly once each."""
    with pstest.workdir() as tmp:
        db = os.path.join(tmp, "db")
        port = free_port()
        listen = ("127.0.0.1:%d" % port,)
        d = pstest.Daemon(db, tmp, args=["--create"], listen=listen)
        w = None
        try:
            srv = "127.0.0.1:%d" % port
            w = Watch(tmp, "json", ["-s", srv, "--json", "--name", "lyon", "--durable",
                                    "watch", "SANTE"])
            w.wait_err("(subscription ")
            add(d, [DOCS[0], DOCS[2]])
            w.wait_out('"fr-lyon"')
            w.proc.send_signal(signal.SIGSTOP)
            # Acknowledged, then the daemon dies: its notification may or
            # may not have reached watch's socket; either way once.
            add(d, [DOCS[3]])
            d.stop(signal.SIGKILL)
            d.__exit__()
            d = pstest.Daemon(db, tmp, args=[], listen=listen, log_name="daemon2.log")
            # Missed: nobody is attached to 'lyon' while these go in.
            add(d, [DOCS[1], DOCS[4], end_doc(2)])
            resumed(w, d, 2, ["fr-lyon", "fr-euro"], "across kill -9 and restart")
        finally:
            if w:
                w.proc.send_signal(signal.SIGCONT)
                w.kill()
            d.__exit__()
    print("restart: after kill -9 and restart watch resumed and printed the missed "
          "matches once each, then the live ones")


def resumed(w, d, end, before, what):
    """Lets the stopped watcher w go on against the restarted daemon d and
    checks that it resumed: it prints zz-end-END (added while it was
    stopped), then the live zz-end-END+1, and exactly the ids before + those
    two, once each; then stops both."""
    w.proc.send_signal(signal.SIGCONT)
    w.wait_out('"zz-end-%d"' % end)
    err = w.errtext()
    check("resuming after seq" in err and "cannot resume" not in err,
          "watch did not resume:\n" + err)
    add(d, [end_doc(end + 1)])
    w.wait_out('"zz-end-%d"' % (end + 1))
    ids_once(json_lines(w.text()), before + ["zz-end-%d" % end, "zz-end-%d" % (end + 1)], what)
    check(w.stop() == 0, "exit status")
    check(d.stop() == 0, "daemon exit status")


def test_resume_indexer():
    """The daemon stopped while watch --name --durable is stopped, a local
    polysearch-index run adds documents, the daemon restarted: watch
    resumes and prints exactly the indexer's matches (seqs stamped by
    the other writer, docs/WAL.md)."""
    indexer = pstest.indexer_path()
    with pstest.workdir() as tmp:
        db = os.path.join(tmp, "db")
        port = free_port()
        listen = ("127.0.0.1:%d" % port,)
        d = pstest.Daemon(db, tmp, args=["--create"], listen=listen)
        w = None
        try:
            srv = "127.0.0.1:%d" % port
            w = Watch(tmp, "idx", ["-s", srv, "--json", "--name", "euro", "--durable",
                                   "watch", "SANTE"])
            w.wait_err("(subscription ")
            add(d, [DOCS[0]])
            w.wait_out('"fr-lyon"')
            w.proc.send_signal(signal.SIGSTOP)
            check(d.stop() == 0, "daemon exit status")
            d.__exit__()
            src = os.path.join(tmp, "in.jsonl")
            with open(src, "w") as f:
                for doc in (DOCS[2], DOCS[3], end_doc(4)):
                    f.write(json.dumps(doc) + "\n")
            p = subprocess.run([indexer, "--db", db, src], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
            check(p.returncode == 0, "indexer: %d %s" % (p.returncode, p.stdout[-600:]))
            d = pstest.Daemon(db, tmp, args=[], listen=listen, log_name="daemon2.log")
            resumed(w, d, 4, ["fr-lyon", "fr-euro"],
                    "a local indexer's run while the daemon was stopped")
        finally:
            if w:
                w.proc.send_signal(signal.SIGCONT)
                w.kill()
            d.__exit__()
    print("resume: a local indexer's matches added while the daemon was stopped "
          "printed once each")


# ---- resume, against a scripted server ------------------------------------

def match(sub, seq, doc_id):
    return [2, "match", [{"subscription": sub, "name": "lyon", "id": doc_id,
                          "title": "T " + doc_id, "lang": "fr", "snippet": "s",
                          "seq": seq}]]


class Scripted:
    """A server that runs one script per connection: script(conn, request
    args) is called on each subscribe."""

    def __init__(self, scripts):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.scripts = list(scripts)
        self.subscribes = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        for script in self.scripts:
            conn, _ = self.srv.accept()
            conn.settimeout(60)
            unp = msgpack.Unpacker(raw=False)
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    unp.feed(data)
                    done = False
                    for msg in unp:
                        if msg[2] == "subscribe":
                            self.subscribes.append(msg[3][0])
                            done = script(conn, msg[1], msg[3][0])
                        elif msg[2] == "ping":
                            conn.sendall(msgpack.packb([1, msg[1], None, "pong"]))
                    if done:
                        break
            except OSError:
                pass
            conn.close()


def ok_reply(conn, msgid, sub):
    conn.sendall(msgpack.packb([1, msgid, None, {"subscription": sub, "name": "lyon"}]))


def test_resume():
    def first(conn, msgid, args):
        ok_reply(conn, msgid, 1)
        conn.sendall(msgpack.packb(match(1, 41, "a")) + msgpack.packb(match(1, 42, "b")))
        time.sleep(0.2)
        return True     # close: watch reconnects

    def second(conn, msgid, args):
        if "resume_from" not in args:
            conn.sendall(msgpack.packb([1, msgid, {"code": "bad_request",
                                                   "message": "no resume"}, None]))
            return True
        ok_reply(conn, msgid, 2)
        # The daemon may send the last one again: not printed twice.
        conn.sendall(msgpack.packb(match(2, 42, "b")) + msgpack.packb(match(2, 43, "c")))
        return True

    def refuse(conn, msgid, args):
        if "resume_from" in args:
            conn.sendall(msgpack.packb([1, msgid, {"code": "bad_request",
                                                   "message": "unknown key resume_from"}, None]))
            return False
        ok_reply(conn, msgid, 3)
        conn.sendall(msgpack.packb(match(3, 44, "d")))
        return False

    with pstest.workdir() as tmp:
        s = Scripted([first, second, refuse])
        w = Watch(tmp, "json", ["-s", "127.0.0.1:%d" % s.port, "--json", "--name", "lyon",
                                "--lang", "fr", "watch", "lyon", "santé"])
        try:
            w.wait_out('"d"')
            js = json_lines(w.text())
            check([(n["id"], n["seq"]) for n in js] == [("a", 41), ("b", 42), ("c", 43),
                                                        ("d", 44)],
                  "resumed output %r" % (js,))
            a = s.subscribes
            check(a[0] == {"q": "lyon santé", "lang": "fr", "name": "lyon"}, "first %r" % a[0])
            check(a[1] == dict(a[0], resume_from=42), "resume %r" % a[1])
            check(a[2] == dict(a[0], resume_from=43) and a[3] == a[0],
                  "refused resume, then plain %r" % a[2:])
            check("cannot resume 'lyon'" in w.errtext(), "warning:\n" + w.errtext())
            check(w.stop() == 0, "exit status")
        finally:
            w.kill()
        # --resume-from and --durable are sent on the first subscribe.
        s = Scripted([lambda conn, msgid, args: (ok_reply(conn, msgid, 9), False)[1]])
        w = Watch(tmp, "json2", ["-s", "127.0.0.1:%d" % s.port, "--json", "--name", "n",
                                 "--durable", "--resume-from", "7", "watch", "x"])
        try:
            w.wait_err("(subscription 9)")
            check(s.subscribes == [{"q": "x", "name": "n", "durable": True, "resume_from": 7}],
                  "first subscribe %r" % s.subscribes)
            check(w.stop() == 0, "exit status")
        finally:
            w.kill()
    print("resume: resume_from = last seq printed, repeats skipped, refusal falls back")
    test_resume_indexer()


def run(args, timeout=60):
    try:
        r = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=ENV, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("%r did not finish" % (args,))
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_usage():
    for args in (["watch"], ["--durable", "watch", "x"], ["--resume-from", "5", "watch", "x"],
                 ["--name", "n", "--resume-from", "abc", "watch", "x"], ["--name", "", "watch", "x"],
                 ["--name", "n", "search", "x"], ["--bogus", "watch", "x"]):
        rc, out, err = run(args)
        check(rc == 64 and out == "" and "polysearch" in err, "%r: exit %d, %r" % (args, rc, err))
    rc, out, _ = run(["--help"])
    check(rc == 0 and "watch QUERY" in out and "--resume-from" in out, "--help")
    with pstest.workdir() as tmp, pstest.Daemon(os.path.join(tmp, "db"), tmp,
                                                args=["--create"]) as d:
        srv = "127.0.0.1:%d" % d.port
        for args, code in ((["watch", "NOT santé"], 65), (["--lang", "xx", "watch", "x"], 65)):
            rc, out, err = run(["-s", srv] + args)
            check(rc == code and "subscribe" in err, "%r: exit %d %r" % (args, rc, err))
        rc, out, err = run(["-s", srv, "--json", "watch", "NOT santé"])
        check(rc == 65 and json.loads(out)["error"]["code"] == "query_syntax", "--json error")
        d.stop()
    port = free_port()
    rc, _, err = run(["-s", "127.0.0.1:%d" % port, "watch", "x"])
    check(rc == 69 and "cannot connect" in err, "no daemon: %d %r" % (rc, err))
    print("usage errors 64, refused subscriptions 65, no daemon 69")


def test_python():
    import polysearch_client as pc
    build = os.environ.get("PS_BUILD_DIR", "")
    example_c = os.path.join(build, "client", "example_watch")
    with pstest.workdir() as tmp, pstest.Daemon(os.path.join(tmp, "db"), tmp,
                                                args=["--create"]) as d:
        srv = "127.0.0.1:%d" % d.port
        with pc.Client(srv, timeout=30) as c:
            r = c.subscribe("SANTE", name="py")
            check(r["name"] == "py", "subscribe %r" % r)
            check(c.next_notification(0) is None, "nothing yet")
            # The match arrives on this connection while add waits for its
            # reply: kept for notifications().
            res = c.add([DOCS[0], DOCS[2]])
            check(res["added"] == 2, "add %r" % res)
            c.add([end_doc(3)])
            got = []
            for n in c.notifications(timeout=60):
                check(n["type"] == "match", "python note %r" % n)
                got.append(n)
                if n["id"] == "zz-end-3":
                    break
            check([n["id"] for n in got] == ["fr-lyon", "zz-end-3"], "python notes %r" % got)
            check(c.next_notification(0) is None, "nothing more")
            check(c.last_seq == got[-1]["seq"], "last_seq")
            check(c.subscriptions()[0]["name"] == "py", "subscriptions")
            c.unsubscribe(r["subscription"])
            raises = False
            try:
                c.unsubscribe(r["subscription"])
            except pc.NotFoundError:
                raises = True
            check(raises, "second unsubscribe: NotFoundError")
        # docs/examples/watch.py and watch.c: each prints the next 2 matches.
        procs = []
        ex_py = os.path.join(pstest.source_dir(), "docs", "examples", "watch.py")
        check(os.access(example_c, os.X_OK), "example_watch not built at %s" % example_c)
        for name, cmd in (("watch.py", [sys.executable, ex_py, "--server", srv, "--count", "2",
                                        "santé"]),
                          ("watch.c", [example_c, srv, "santé", "2"])):
            errf = os.path.join(tmp, name + ".err")
            with open(errf, "wb") as ef:
                procs.append((name, errf, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                           stderr=ef)))
        for name, errf, p in procs:
            ok = pstest.wait_until(lambda: p.poll() is not None or
                                   b"subscription" in open(errf, "rb").read(), 30)
            check(ok and p.poll() is None, "%s did not subscribe: %r" % (
                name, open(errf, "rb").read()))
        add(d, [DOCS[3], DOCS[4], end_doc(4)])
        for name, errf, p in procs:
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                fail("%s did not stop after 2 matches" % name)
            lines = [l.split("\t") for l in out.decode().splitlines()]
            check(p.returncode == 0 and [l[2] for l in lines] == ["fr-euro", "zz-end-4"],
                  "%s: exit %d, %r %r" % (name, p.returncode, lines, err))
        d.stop()
    print("python client subscribe/notifications, docs/examples/watch.py and watch.c ok")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "print"
    {"print": test_print, "lagged": test_lagged, "restart": test_restart,
     "resume": test_resume, "usage": test_usage, "python": test_python}[mode]()
    print("ok")


if __name__ == "__main__":
    main()
