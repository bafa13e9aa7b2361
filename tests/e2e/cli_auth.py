"""e2e_cli_auth: the C side of access control against the real polysearchd
with --auth-token-file (127.0.0.1:0, port file, and the Unix socket): the
polysearch CLI and polysearch-index --server sending a token
(libpolysearch-client's psc_auth).

Checked:
  - polysearch search/get/stats with a read token from --token-file and
    from $POLYSEARCH_TOKEN (TCP and unix:); --token-file wins over the
    variable;
  - no token: exit 77 and a message naming --token-file and
    POLYSEARCH_TOKEN (ping needs no token: 0); a wrong token: 77 after the
    daemon's delay; a read token on add/delete: 77, forbidden; a write
    token adds;
  - a token file readable by group or others (0644, 0640): 78 with the
    chmod to run, before connecting; --token VALUE: 64, the value never
    echoed; garbage in the file or the variable: 78;
  - polysearch-index --server: a read token (file or variable) 77 and
    nothing added; no token 77; a wrong token 77; a write token adds the
    documents (searchable after); a 0644 token file 78; --token-file
    without --server 64;
  - polysearch watch with a read token gets the match of a document added
    with the write token, and after the daemon is restarted on the same
    port it authenticates again and gets the next one; without a token:
    77 at once; docs/examples/watch.c (psc_auth with $POLYSEARCH_TOKEN)
    gets a match;
  - no token (good or wrong) ever appears in the stdout or stderr of the
    CLI or the indexer, nor in the daemon's log (--verbose).

Environment: PS_CLI, PS_DAEMON, PS_INDEXER, PS_SOURCE_DIR, PS_BUILD_DIR.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

CLI = os.environ.get("PS_CLI", "")
if not CLI or not os.access(CLI, os.X_OK):
    pstest.skip("PS_CLI not set")
INDEXER = pstest.indexer_path()

ENV = {k: v for k, v in os.environ.items()
       if k not in ("POLYSEARCH_SERVER", "POLYSEARCH_TOKEN", "NO_COLOR", "COLUMNS")}
TOK = {r: "%s-%s" % (r, secrets.token_urlsafe(24)) for r in ("read", "write", "admin")}
WRONG = "wrong-" + secrets.token_urlsafe(24)
SECRETS = list(TOK.values()) + [WRONG]
WORD = "zorglubtoken"           # in no corpus document
RUNS = []                       # every (what, stdout, stderr) to scan for tokens


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def run(prog, args, env=None, timeout=60):
    """Runs prog; returns (exit code, stdout, stderr, seconds)."""
    e = dict(ENV)
    e.update(env or {})
    cmd = [prog] + list(args)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("%r did not finish within %d s" % (cmd, timeout))
    dt = time.monotonic() - t0
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    RUNS.append((" ".join(os.path.basename(a) for a in cmd), out, err))
    return r.returncode, out, err, dt


def expect(prog, args, code, env=None, needles=()):
    rc, out, err, dt = run(prog, args, env)
    check(rc == code, "%s %r: exit %d, expected %d\nstdout: %s\nstderr: %s"
          % (os.path.basename(prog), args, rc, code, out[:2000], err[:2000]))
    for n in needles:
        check(n in err, "%s %r: stderr lacks %r:\n%s" % (os.path.basename(prog), args, n, err))
    return out, err, dt


def hits(srv, tokfile, q):
    out, _, _ = expect(CLI, ["-s", srv, "--token-file", tokfile, "--json", "search", q], 0)
    return json.loads(out)["total"]


def cli(d, tmp, tf):
    srv = "127.0.0.1:%d" % d.port
    unix = "unix:" + d.socket_path
    # A read token, from the file and from the variable, TCP and unix:.
    for s in (srv, unix):
        out, _, _ = expect(CLI, ["-s", s, "--token-file", tf["read"], "search", "innovation"], 0)
        check(" hits, showing " in out.splitlines()[0], "search output: %r" % out[:300])
        out, _, _ = expect(CLI, ["-s", s, "--json", "search", "innovation"], 0,
                           env={"POLYSEARCH_TOKEN": TOK["read"]})
        check(json.loads(out)["total"] >= 1, "search via POLYSEARCH_TOKEN: %r" % out[:300])
    doc_id = json.loads(out)["hits"][0]["id"]
    expect(CLI, ["-s", srv, "--token-file", tf["read"], "get", doc_id], 0)
    out, _, _ = expect(CLI, ["-s", srv, "--json", "stats"], 0,
                       env={"POLYSEARCH_TOKEN": "  %s \r\n" % TOK["read"]})
    check("auth" in json.loads(out), "stats has no auth section: %r" % out[:300])
    # --token-file wins over the variable (a wrong one there is not used).
    expect(CLI, ["-s", srv, "--token-file", tf["read"], "stats"], 0,
           env={"POLYSEARCH_TOKEN": WRONG})
    print("cli: read token via --token-file and POLYSEARCH_TOKEN, tcp and unix")

    # No token: 77 and what to give; ping needs none.
    for args in (["search", "innovation"], ["get", doc_id], ["stats"]):
        expect(CLI, ["-s", srv] + args, 77,
               needles=("--token-file", "POLYSEARCH_TOKEN", "unauthorized"))
    out, _, _ = expect(CLI, ["-s", srv, "--json", "search", "innovation"], 77)
    check(json.loads(out)["error"]["code"] == "unauthorized", "--json error: %r" % out)
    expect(CLI, ["-s", srv, "ping"], 0)
    # A wrong token: 77, after the daemon's delay.
    _, _, dt = expect(CLI, ["-s", srv, "--token-file", tf["wrong"], "search", "innovation"], 77,
                      needles=("refused the token", "unauthorized"))
    check(dt >= 0.9, "a wrong token was refused after %.2f s, before the delay" % dt)
    expect(CLI, ["-s", srv, "stats"], 77, env={"POLYSEARCH_TOKEN": WRONG},
           needles=("$POLYSEARCH_TOKEN", "unauthorized"))
    # Roles: a read token cannot add or delete; a write token can.
    jl = write(os.path.join(tmp, "docs.jsonl"),
               json.dumps({"id": "cli-auth/1", "lang": "fr",
                           "body": "Le %s est un document ajouté avec un jeton." % WORD}) + "\n")
    expect(CLI, ["-s", srv, "--token-file", tf["read"], "add", jl], 77,
           needles=("forbidden", "write role"))
    expect(CLI, ["-s", srv, "delete", "cli-auth/none"], 77,
           env={"POLYSEARCH_TOKEN": TOK["read"]}, needles=("forbidden",))
    check(hits(srv, tf["read"], WORD) == 0, "a read token's add went through")
    expect(CLI, ["-s", srv, "--token-file", tf["write"], "add", jl], 0)
    check(hits(srv, tf["read"], WORD) == 1, "the write token's add is not searchable")
    out, _, _ = expect(CLI, ["-s", unix, "--json", "delete", "cli-auth/1"], 0,
                       env={"POLYSEARCH_TOKEN": TOK["write"]})
    check(json.loads(out)["deleted"] == 1, "delete with a write token: %r" % out)
    print("cli: no token / wrong token 77, read token forbidden on add/delete, write adds")

    # Token files open to others: 78 before connecting (no daemon needed).
    for mode in (0o644, 0o640, 0o604):
        loose = write(os.path.join(tmp, "loose.tok"), TOK["read"] + "\n", mode)
        expect(CLI, ["-s", "127.0.0.1:1", "--token-file", loose, "search", "x"], 78,
               needles=("chmod 600", "group or others"))
    expect(CLI, ["-s", srv, "--token-file", os.path.join(tmp, "missing.tok"), "stats"], 66,
           needles=("cannot open",))
    bad = write(os.path.join(tmp, "bad.tok"), "read %s\n" % TOK["read"])
    expect(CLI, ["-s", srv, "--token-file", bad, "stats"], 78, needles=("not a token",))
    expect(CLI, ["-s", srv, "stats"], 78, env={"POLYSEARCH_TOKEN": "too-short"},
           needles=("$POLYSEARCH_TOKEN",))
    # --token VALUE: refused, the value never echoed.
    for args in (["--token", TOK["read"], "stats"], ["--token=" + TOK["read"], "stats"]):
        expect(CLI, ["-s", srv] + args, 64, needles=("--token-file", "POLYSEARCH_TOKEN", "ps"))
    out, _, _ = expect(CLI, ["--help"], 0)
    for w in ("--token-file", "POLYSEARCH_TOKEN", "77", "78"):
        check(w in out, "--help lacks %r" % w)
    print("cli: token files open to others 78, bad tokens 78, --token 64")


def indexer(d, tmp, tf):
    srv = "127.0.0.1:%d" % d.port
    src = os.path.join(tmp, "incoming")
    os.mkdir(src)
    for i in range(3):
        write(os.path.join(src, "art%d.txt" % i),
              "Article %d\n\nLe %s numéro %d arrive par le démon.\n" % (i, WORD, i), 0o644)
    base = ["--server", srv]
    expect(INDEXER, base + ["--token-file", tf["read"], src], 77,
           needles=("forbidden", "write role"))
    expect(INDEXER, base + [src], 77, env={"POLYSEARCH_TOKEN": TOK["read"]},
           needles=("forbidden",))
    expect(INDEXER, base + [src], 77, needles=("--token-file", "POLYSEARCH_TOKEN",
                                                "unauthorized"))
    expect(INDEXER, base + ["--token-file", tf["wrong"], src], 77,
           needles=("refused the token", "unauthorized"))
    check(hits(srv, tf["read"], WORD) == 0, "documents added without a write token")
    loose = write(os.path.join(tmp, "loose.tok"), TOK["write"] + "\n", 0o644)
    expect(INDEXER, base + ["--token-file", loose, src], 78, needles=("chmod 600",))
    expect(INDEXER, ["--token-file", tf["write"], src], 64, needles=("--server",))
    expect(INDEXER, base + ["--token", TOK["write"], src], 64, needles=("--token-file",))
    out, _, _ = expect(INDEXER, base + ["--token-file", tf["write"], src], 0)
    check("added 3," in out, "indexer summary: %r" % out)
    check(hits(srv, tf["read"], WORD) == 3, "the write token's documents are not searchable")
    write(os.path.join(src, "art3.txt"), "Article 3\n\nEncore un %s.\n" % WORD, 0o644)
    out, _, _ = expect(INDEXER, base + [src], 0, env={"POLYSEARCH_TOKEN": TOK["write"]})
    check("added 1," in out and "unchanged 3" in out, "indexer summary via env: %r" % out)
    check(hits(srv, tf["read"], WORD) == 4, "documents added via POLYSEARCH_TOKEN missing")
    out, _, _ = expect(INDEXER, ["--help"], 0)
    for w in ("--token-file", "POLYSEARCH_TOKEN", "77", "78"):
        check(w in out, "polysearch-index --help lacks %r" % w)
    print("indexer --server: read/no/wrong token 77 (nothing added), 0644 78, write adds")


class Watch:
    def __init__(self, tmp, tag, args, env=None):
        self.out_path = os.path.join(tmp, tag + ".out")
        self.err_path = os.path.join(tmp, tag + ".err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        e = dict(ENV)
        e.update(env or {})
        self.proc = subprocess.Popen([CLI] + list(args), stdout=self.out, stderr=self.err, env=e)

    def read(self, p):
        with open(p, "rb") as f:
            return f.read().decode(errors="replace")

    def wait(self, path, needle, timeout=60):
        ok = pstest.wait_until(lambda: needle in self.read(path) or self.proc.poll() is not None,
                               timeout)
        check(ok and needle in self.read(path),
              "watch never printed %r (exit %r)\nstdout:\n%s\nstderr:\n%s"
              % (needle, self.proc.poll(), self.read(self.out_path)[-2000:],
                 self.read(self.err_path)))

    def finish(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            fail("watch did not exit after signal %d" % sig)
        self.out.close()
        self.err.close()
        RUNS.append(("watch", self.read(self.out_path), self.read(self.err_path)))
        return rc


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def add(srv, tmp, tf, doc_id, text):
    jl = write(os.path.join(tmp, "w.jsonl"),
               json.dumps({"id": doc_id, "lang": "fr", "body": text}) + "\n")
    expect(CLI, ["-s", srv, "--token-file", tf["write"], "add", jl], 0)


def example_c(srv, tmp, tf):
    """docs/examples/watch.c: psc_auth with $POLYSEARCH_TOKEN, then a match."""
    exe = os.path.join(os.environ.get("PS_BUILD_DIR", ""), "client", "example_watch")
    check(os.access(exe, os.X_OK), "example_watch not built at %s" % exe)
    errf = os.path.join(tmp, "example.err")
    e = dict(ENV)
    e["POLYSEARCH_TOKEN"] = TOK["read"]
    with open(errf, "wb") as ef:
        p = subprocess.Popen([exe, srv, "wombatfeed", "1"], stdout=subprocess.PIPE, stderr=ef,
                             env=e)
    try:
        ok = pstest.wait_until(lambda: p.poll() is not None or
                               b"subscription" in open(errf, "rb").read(), 30)
        check(ok and p.poll() is None, "example_watch did not subscribe (exit %r): %r"
              % (p.poll(), open(errf, "rb").read()))
        add(srv, tmp, tf, "watch/3", "Un troisième wombatfeed.")
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    err = open(errf, "rb").read().decode(errors="replace")
    RUNS.append(("example_watch", out.decode(errors="replace"), err))
    check(p.returncode == 0 and b"\twatch/3\t" in out,
          "example_watch: exit %r, stdout %r, stderr %r" % (p.returncode, out, err))


def watch(db, tmp, tf, dargs):
    port = free_port()
    listen = ("127.0.0.1:%d" % port,)
    srv = "127.0.0.1:%d" % port
    d = pstest.Daemon(db, tmp, args=dargs, listen=listen, log_name="daemon-w1.log")
    w = None
    try:
        expect(CLI, ["-s", srv, "watch", "lyonbiopole"], 77,
               needles=("--token-file", "unauthorized"))
        w = Watch(tmp, "watch", ["-s", srv, "--json", "watch", "wombatfeed"],
                  env={"POLYSEARCH_TOKEN": TOK["read"]})
        w.wait(w.err_path, "(subscription ")
        add(srv, tmp, tf, "watch/1", "Un wombatfeed pour la veille.")
        w.wait(w.out_path, '"watch/1"')
        # The daemon restarts on the same port: watch connects again and
        # must send its token again before it can subscribe.
        check(d.stop() == 0, "daemon exit status")
        d.__exit__()
        w.wait(w.err_path, "reconnecting")
        d = pstest.Daemon(db, tmp, args=dargs, listen=listen, log_name="daemon-w2.log")
        w.wait(w.err_path, "reconnected to")
        add(srv, tmp, tf, "watch/2", "Encore un wombatfeed.")
        w.wait(w.out_path, '"watch/2"')
        ids = [json.loads(ln)["id"] for ln in w.read(w.out_path).splitlines()
               if json.loads(ln).get("type") == "match"]
        check(ids == ["watch/1", "watch/2"], "watch matches %r" % ids)
        check(w.finish() == 0, "watch exit status")
        w = None
        example_c(srv, tmp, tf)
        log = d.log_text()
    finally:
        if w:
            w.finish(signal.SIGKILL)
        d.__exit__()
    print("watch: a read token gets matches, and again after a reconnect; no token 77; "
          "docs/examples/watch.c authenticates with psc_auth")
    return log


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        toks = write(os.path.join(tmp, "tokens"),
                     "".join("%s %s\n" % (r, t) for r, t in TOK.items()))
        tf = {r: write(os.path.join(tmp, "%s.tok" % r), TOK[r] + "\n") for r in TOK}
        tf["wrong"] = write(os.path.join(tmp, "wrong.tok"), WRONG + "\n")
        dargs = ["--auth-token-file", toks, "--verbose"]
        with pstest.Daemon(db, tmp, socket=True, args=dargs) as d:
            cli(d, tmp, tf)
            indexer(d, tmp, tf)
            check(d.stop() == 0, "daemon exit status")
            logs = [d.log_text()]
        logs.append(watch(db, tmp, tf, dargs))
        for name in ("daemon-w1.log", "daemon-w2.log"):
            with open(os.path.join(tmp, name), "rb") as f:
                logs.append(f.read().decode(errors="replace"))
        n = 0
        for what, out, err in RUNS:
            for s in SECRETS:
                check(s not in out and s not in err,
                      "a token appears in the output of %s:\n%s\n%s" % (what, out, err))
            n += 1
        for log in logs:
            for s in SECRETS:
                check(s not in log, "a token appears in the daemon's log")
        print("no token in the output of %d runs nor in the daemon's logs" % n)
    print("OK")


if __name__ == "__main__":
    main()
