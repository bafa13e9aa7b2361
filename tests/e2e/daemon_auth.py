"""e2e_daemon_auth: access control of polysearchd (--auth-token-file)
against the real daemon on 127.0.0.1:0 (port files), MessagePack-RPC over
TCP and the Unix socket (python3-msgpack on a raw socket) and HTTP (curl).

Checked:
  - start-up refusals, exit 78: a token file readable by group or others
    (the message says chmod 600), garbage in it, a non-loopback --listen
    or --http (0.0.0.0:0, [::]:0) with writes and no tokens (the message
    names --auth-token-file, --read-only and loopback); the same start with
    --read-only, or with tokens, serves (nothing is sent to a non-loopback
    address: only the start is checked);
  - every method: no token, a wrong token, the read, write and admin
    tokens, as a token argument and through auth on the connection;
    unauthorized / forbidden where docs/PROTOCOL.md says;
  - every HTTP route with curl: no token (401, WWW-Authenticate: Bearer),
    a wrong token (401 after the delay, connection closed), a read token
    on a write (403), the right token; a token in the URL refused (400,
    not used) even beside a good header;
  - a wrong token is answered after about 1 s while a bystander client is
    served at once; failed attempts counted in stats.auth and /metrics;
  - reload (admin) re-reads the file: a new token works, a removed one
    fails;
  - no token (good or wrong) ever appears in the daemon's stderr, which
    runs with --verbose.
"""
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time

import pshttp  # noqa: E402
import pstest
from pstest import check, fail

CURL = shutil.which("curl")
DELAY = 1.0                 # ACCESS_FAIL_DELAY_MS
TOK = {r: "%s-%s" % (r, secrets.token_urlsafe(24)) for r in ("read", "write", "admin")}
WRONG = ["wrong-" + secrets.token_urlsafe(24) for _ in range(4)]
SECRETS = list(TOK.values()) + WRONG


def write_tokens(path, tokens, mode=0o600):
    with open(path, "w") as f:
        f.write("# e2e tokens\n")
        for role, t in tokens.items():
            f.write("%s %s\n" % (role.split("#")[0], t))
    os.chmod(path, mode)


def start_fails(db, tmp, args, name):
    """Runs polysearchd with args; expects exit 78 within 20 s; returns stderr."""
    r = subprocess.run([pstest.daemon_path(), "--db", db] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 78, "%s: exit %d, want 78:\n%s" % (name, r.returncode, err))
    for s in SECRETS:
        check(s not in err, "%s: a token in stderr" % name)
    return err


def startup(db, tmp, tokfile):
    err = start_fails(db, tmp, ["--listen", "0.0.0.0:0"], "0.0.0.0 without tokens")
    for w in ("--listen 0.0.0.0:0", "--auth-token-file", "--read-only", "127.0.0.1"):
        check(w in err, "exposure message lacks %r: %s" % (w, err))
    err = start_fails(db, tmp, ["--listen", "127.0.0.1:0", "--http", "[::]:0"],
                      "--http [::] without tokens")
    check("--http [::]:0" in err, "message names the --http address: %s" % err)
    # Starts: --read-only, or tokens (bound to every address: only the
    # start is checked, nothing is sent there).
    for args, name in ((["--read-only"], "ro"), (["--auth-token-file", tokfile], "tok")):
        with pstest.Daemon(db, tmp, listen=("0.0.0.0:0",), args=args,
                           log_name="exp-%s.log" % name) as d:
            check(d.stop() == 0, "0.0.0.0 with %s: exit status" % name)
    bad = os.path.join(tmp, "bad-mode")
    write_tokens(bad, TOK, 0o644)
    err = start_fails(db, tmp, ["--listen", "127.0.0.1:0", "--auth-token-file", bad], "mode 0644")
    check("chmod 600" in err, "mode message: %s" % err)
    write_tokens(bad, TOK, 0o640)
    start_fails(db, tmp, ["--listen", "127.0.0.1:0", "--auth-token-file", bad], "mode 0640")
    # Written the wrong way round ("TOKEN ROLE"): refused, token not quoted.
    with open(bad, "w") as f:
        f.write("%s read\n" % TOK["read"])
    os.chmod(bad, 0o600)
    start_fails(db, tmp, ["--listen", "127.0.0.1:0", "--auth-token-file", bad], "garbage")
    with open(bad, "w") as f:
        f.write("read short\n")
    start_fails(db, tmp, ["--listen", "127.0.0.1:0", "--auth-token-file", bad], "short token")
    print("start-up: refusals exit 78, --read-only and tokens start on 0.0.0.0")


# ---- MessagePack-RPC --------------------------------------------------------

# method -> (params, role needed); params valid, so a call that passes
# access control succeeds or fails for its own reasons (never
# unauthorized/forbidden).
METHODS = {
    "ping": ({}, None),
    "search": ({"q": "innovation", "limit": 1}, "read"),
    "get": ({"id": "auth/doc"}, "read"),
    "stats": ({}, "read"),
    "subscribe": ({"q": "lyonbiopole"}, "read"),
    "unsubscribe": ({"subscription": 999999}, "read"),
    "subscriptions": ({}, "read"),
    "synonyms": ({}, "read"),
    "add": ({"docs": [{"id": "auth/doc", "body": "access control test document"}]}, "write"),
    "delete": ({"ids": ["auth/none"]}, "write"),
    "reload": ({}, "admin"),
}
RANK = {None: 0, "read": 1, "write": 2, "admin": 3}


def passed(err):
    return err is None or err.get("code") not in ("unauthorized", "forbidden")


def code(err):
    return err.get("code") if isinstance(err, dict) else None


def rpc_matrix(d, unix):
    where = "unix" if unix else "tcp"
    n = 0
    for role in (None, "read", "write", "admin"):
        for how in ("arg", "auth"):
            if role is None and how == "auth":
                continue
            with d.client(unix=unix) as c:
                if how == "auth" and role:
                    err, res = c.call("auth", {"token": TOK[role]})
                    check(err is None and res == role, "%s auth %s -> %r %r" % (where, role, err, res))
                for m, (params, need) in METHODS.items():
                    p = dict(params)
                    if how == "arg" and role:
                        p["token"] = TOK[role]
                    err, res = c.call(m, p)
                    label = "%s %s with %s (%s)" % (where, m, role or "no token", how)
                    if RANK[role] >= RANK[need]:
                        check(passed(err), "%s: refused %r" % (label, err))
                    elif role is None:
                        check(code(err) == "unauthorized" and res is None,
                              "%s: %r, want unauthorized" % (label, err))
                    else:
                        check(code(err) == "forbidden" and need in err["message"],
                              "%s: %r, want forbidden" % (label, err))
                    n += 1
    # auth without a token: bad_request; a ping needs none.
    with d.client(unix=unix) as c:
        err, _ = c.call("auth", {})
        check(code(err) == "bad_request", "auth {}: %r" % (err,))
        err, _ = c.call("auth", {"token": 12})
        check(code(err) == "bad_request", "auth {token: 12}: %r" % (err,))
    print("%s: %d method/role/way cases as documented" % (where, n))


def rpc_wrong(d, unix, m):
    """A wrong token on method m: unauthorized after the delay, then the
    connection closes.  Returns the measured delay."""
    params, _ = METHODS.get(m, ({}, None))
    p = dict(params)
    p["token"] = WRONG[0]
    with d.client(unix=unix) as c:
        t0 = time.monotonic()
        msgid = c.request("auth" if m == "auth" else m, p)
        msg = c.recv(10)
        dt = time.monotonic() - t0
        check(msg is not None and msg[1] == msgid and code(msg[2]) == "unauthorized",
              "wrong token on %s: %r" % (m, msg))
        check(c.closed_by_peer(5), "wrong token on %s: connection left open" % m)
    return dt


def wrong_tokens(d):
    """Every method with a wrong token, several at once, while a bystander
    searches: each refusal comes after the delay, the bystander at once."""
    stop = threading.Event()
    lat = []
    errors = []

    def bystander():
        with d.client() as c:
            c.call("auth", {"token": TOK["read"]})
            while not stop.is_set():
                t0 = time.monotonic()
                err, _ = c.call("search", {"q": "innovation", "limit": 1})
                lat.append(time.monotonic() - t0)
                if err is not None:
                    errors.append(err)
                time.sleep(0.02)

    th = threading.Thread(target=bystander)
    th.start()
    delays = {}
    lock = threading.Lock()

    def one(m, unix):
        dt = rpc_wrong(d, unix, m)
        with lock:
            delays[(m, unix)] = dt

    try:
        ths = [threading.Thread(target=one, args=(m, u))
               for m in list(METHODS) + ["auth"] for u in (False, True)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(30)
    finally:
        stop.set()
        th.join(10)
    check(len(delays) == 2 * (len(METHODS) + 1), "some wrong-token calls did not finish")
    lo, hi = min(delays.values()), max(delays.values())
    check(lo >= DELAY * 0.9, "a wrong token answered after %.3f s, before the delay" % lo)
    check(hi < DELAY + 5, "a wrong token answered after %.3f s" % hi)
    check(not errors, "bystander errors: %r" % errors[:3])
    check(len(lat) >= 10, "bystander made only %d searches" % len(lat))
    check(max(lat) < 0.8, "bystander waited %.3f s during the refusals" % max(lat))
    print("wrong tokens: %d refusals after %.2f-%.2f s; bystander %d searches, max %.3f s"
          % (len(delays), lo, hi, len(lat), max(lat)))
    return len(delays)


# ---- HTTP (curl) -------------------------------------------------------------

def curl(port, method, path, token=None, data=None, extra=()):
    """(status, headers dict lower-case, body bytes, seconds)."""
    cmd = [CURL, "-sS", "--max-time", "10", "-X", method, "-D", "-", "-o", "-"]
    if token is not None:
        cmd += ["-H", "Authorization: Bearer " + token]
    if data is not None:
        cmd += ["--data-binary", "@-", "-H", "Content-Type: application/json"]
    cmd += list(extra)
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    t0 = time.monotonic()
    r = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    dt = time.monotonic() - t0
    check(r.returncode == 0, "curl %s %s: %s" % (method, path, r.stderr.decode()))
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body, dt


ROUTES = [  # method, path, body, role needed
    ("GET", "/search?q=innovation&limit=1", None, "read"),
    ("GET", "/docs/auth%2Fdoc", None, "read"),
    ("GET", "/stats", None, "read"),
    ("GET", "/synonyms", None, "read"),
    ("GET", "/readyz", None, "read"),
    ("GET", "/metrics", None, "read"),
    ("GET", "/healthz", None, None),
    ("POST", "/docs", b'{"id": "auth/http", "body": "posted with a token"}', "write"),
    ("DELETE", "/docs/auth%2Fhttp", None, "write"),
]


def http_matrix(hp):
    n = 0
    for role in (None, "read", "write", "admin"):
        for method, path, body, need in ROUTES:
            st, hdrs, out, _ = curl(hp, method, path, TOK[role] if role else None, body)
            label = "%s %s with %s" % (method, path, role or "no token")
            if RANK[role] >= RANK[need]:
                check(st not in (401, 403), "%s: %d %r" % (label, st, out[:200]))
                check(st in (200, 404), "%s: %d %r" % (label, st, out[:200]))
            elif role is None:
                check(st == 401 and b'"unauthorized"' in out and
                      hdrs.get("www-authenticate", "").startswith("Bearer"),
                      "%s: %d %r %r" % (label, st, hdrs, out[:200]))
            else:
                check(st == 403 and b'"forbidden"' in out and
                      "insufficient_scope" in hdrs.get("www-authenticate", ""),
                      "%s: %d %r" % (label, st, out[:200]))
            n += 1
    # Another scheme than Bearer: 401 (no delay).
    st, hdrs, _, dt = curl(hp, "GET", "/stats", extra=["-H", "Authorization: Basic Zm9vOmJhcg=="])
    check(st == 401 and "Bearer" in hdrs.get("www-authenticate", "") and dt < DELAY * 0.9,
          "Basic: %d %r %.2f" % (st, hdrs, dt))
    print("http: %d route/role cases as documented" % n)


def http_wrong(hp):
    """A wrong token on every route: 401 invalid_token after the delay,
    Connection: close.  Returns the number of attempts."""
    res = {}

    def one(method, path, body):
        res[(method, path)] = curl(hp, method, path, WRONG[1], body)

    ths = [threading.Thread(target=one, args=(m, p, b)) for m, p, b, _ in ROUTES]
    for t in ths:
        t.start()
    for t in ths:
        t.join(30)
    check(len(res) == len(ROUTES), "some wrong-token requests did not finish")
    for (m, p), (st, hdrs, out, dt) in res.items():
        check(st == 401 and 'error="invalid_token"' in hdrs.get("www-authenticate", "")
              and hdrs.get("connection", "").lower() == "close",
              "wrong token %s %s: %d %r" % (m, p, st, hdrs))
        check(dt >= DELAY * 0.9, "wrong token %s %s answered after %.3f s" % (m, p, dt))
    return len(res)


def http_url_token(hp):
    for path in ("/search?q=innovation&token=%s" % TOK["read"],
                 "/stats?access_token=%s" % TOK["read"],
                 "/stats?TOKEN=%s" % WRONG[2],
                 "/docs/auth%%2Fdoc?api_key=%s" % TOK["admin"]):
        for hdr in (None, TOK["read"]):
            st, _, out, _ = curl(hp, "GET", path, hdr)
            check(st == 400 and b"in the URL is refused" in out,
                  "token in the URL %s (header %s): %d %r" % (path.split("?")[1][:14], bool(hdr),
                                                              st, out[:200]))
    # Refused before anything: a POST with the token in the URL changed nothing.
    st, _, out, _ = curl(hp, "POST", "/docs?token=%s" % TOK["write"], None,
                         b'{"id": "auth/url", "body": "must not be added"}')
    check(st == 400, "POST with a URL token: %d" % st)
    st, _, _, _ = curl(hp, "GET", "/docs/auth%2Furl", TOK["read"])
    check(st == 404, "the document posted with a URL token was added (%d)" % st)
    print("http: tokens in the URL refused (400), never used")


def metric(hp, name):
    st, _, out, _ = curl(hp, "GET", "/metrics", TOK["read"])
    check(st == 200, "metrics: %d" % st)
    for line in out.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    fail("metric %s missing" % name)


def reload_tokens(d, tokfile):
    new = "read-new-" + secrets.token_urlsafe(20)
    SECRETS.append(new)
    toks = dict(TOK)
    toks["read"] = new
    write_tokens(tokfile, toks)
    with d.client() as c:
        err, res = c.call("reload", {"token": TOK["admin"]})
        check(err is None and res == {"tokens": 3}, "reload: %r %r" % (err, res))
        err, res = c.call("auth", {"token": new})
        check(err is None and res == "read", "new token after reload: %r" % (err,))
    with d.client() as c:     # the replaced read token: a wrong one now
        msgid = c.request("stats", {"token": TOK["read"]})
        msg = c.recv(10)
        check(code(msg[2]) == "unauthorized", "removed token still accepted: %r" % (msg,))
    write_tokens(tokfile, TOK)
    n = d.log_text().count("reloaded from")
    d.proc.send_signal(signal.SIGHUP)   # re-reads the file too
    check(pstest.wait_until(lambda: d.log_text().count("reloaded from") > n, 5, 0.05),
          "SIGHUP did not reload the token file")
    with d.client() as c:
        err, _ = c.call("stats", {"token": TOK["read"]})
        check(err is None, "token back after SIGHUP: %r" % (err,))
    print("reload: a new token works, a removed one fails; SIGHUP reloads")
    return 1   # wrong attempts made here


def python_client(d):
    """clients/python/polysearch_client.py: token= authenticates, the error
    classes by code."""
    import sys
    sys.path.insert(0, os.path.join(pstest.source_dir(), "clients", "python"))
    import polysearch_client as pc
    addr = "127.0.0.1:%d" % d.port
    with pc.Client(addr) as c:
        try:
            c.search("innovation")
            fail("python client: search without a token answered")
        except pc.UnauthorizedError:
            pass
    with pc.Client(addr, token=TOK["read"]) as c:
        check(c.search("innovation", limit=1)["total"] >= 1, "python client search")
        try:
            c.delete(["auth/none"])
            fail("python client: delete with a read token answered")
        except pc.ForbiddenError as e:
            check(e.code == "forbidden", "code %r" % e.code)
    with pc.Client("unix:" + d.socket_path, token=TOK["write"]) as c:
        check(c.delete(["auth/none"])["not_found"] == 1, "python client delete")
    print("python client: token=, UnauthorizedError, ForbiddenError")


def no_tokens(db, tmp):
    """Without a token file: as before on loopback and the Unix socket."""
    with pstest.Daemon(db, tmp, socket=True, log_name="open.log",
                       args=["--http", "127.0.0.1:0", "--http-port-file",
                             os.path.join(tmp, "open.hport")]) as d:
        for unix in (False, True):
            with d.client(unix=unix) as c:
                for m, (params, _) in METHODS.items():
                    err, _ = c.call(m, params)
                    check(passed(err), "no tokens: %s refused %r" % (m, err))
                err, res = c.call("auth", {"token": "anything-at-all-here"})
                check(err is None and res == "admin", "no tokens: auth -> %r %r" % (err, res))
        hp = pshttp.http_port(os.path.join(tmp, "open.hport"))
        for method, path, body, _ in ROUTES:
            st, _, _, _ = curl(hp, method, path, None, body)
            check(st in (200, 404), "no tokens: %s %s -> %d" % (method, path, st))
        st, _, _, _ = curl(hp, "GET", "/stats?token=x")
        check(st == 400, "no tokens: a URL token still refused (%d)" % st)
        err, st_ = d.client().call("stats")
        check(st_["auth"] == {"enabled": 0, "tokens": 0, "failed_attempts": 0}, "stats.auth %r" % st_["auth"])
        check(d.stop() == 0, "exit status")
    print("no token file: every method and route open as before")


def main():
    if not CURL:
        pstest.skip("curl is missing (scripts/install-deps)")
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        tokfile = os.path.join(tmp, "tokens")
        write_tokens(tokfile, TOK)
        startup(db, tmp, tokfile)
        no_tokens(db, tmp)
        hpf = os.path.join(tmp, "hport")
        with pstest.Daemon(db, tmp, socket=True, log_name="auth.log",
                           args=["--auth-token-file", tokfile, "--verbose", "--workers", "2",
                                 "--http", "127.0.0.1:0", "--http-port-file", hpf]) as d:
            hp = pshttp.http_port(hpf)
            # The document get/delete name.
            err, _ = d.client().call("add", {"token": TOK["write"], "docs": [
                {"id": "auth/doc", "body": "access control test document"}]})
            check(err is None, "add: %r" % (err,))
            rpc_matrix(d, False)
            rpc_matrix(d, True)
            python_client(d)
            http_matrix(hp)
            http_url_token(hp)
            before = d.client().call("stats", {"token": TOK["read"]})[1]["auth"]
            check(before["enabled"] == 1 and before["tokens"] == 3 and
                  before["failed_attempts"] == 0, "stats.auth %r" % before)
            fails = wrong_tokens(d)
            fails += http_wrong(hp)
            st = d.client().call("stats", {"token": TOK["read"]})[1]
            check(st["auth"]["failed_attempts"] == fails,
                  "failed_attempts %d, want %d" % (st["auth"]["failed_attempts"], fails))
            check(st["errors"]["unauthorized"] >= fails and st["errors"]["forbidden"] > 0,
                  "errors %r" % st["errors"])
            check(metric(hp, "polysearch_auth_failures_total") == fails, "metrics counter")
            check(metric(hp, 'polysearch_errors_total{code="forbidden"}') > 0,
                  "errors_total{forbidden}")
            for c in ("401", "403"):
                check(metric(hp, 'polysearch_http_requests_total{method="POST",route="/docs",'
                          'code="%s"}' % c) > 0, "http_requests_total code %s" % c)
            fails += reload_tokens(d, tokfile)
            st = d.client().call("stats", {"token": TOK["read"]})[1]
            check(st["auth"]["failed_attempts"] == fails, "failed_attempts after reload")
            print("failed attempts counted: stats.auth %d, /metrics %d"
                  % (st["auth"]["failed_attempts"], metric(hp, "polysearch_auth_failures_total")))
            check(d.stop() == 0, "exit status")
            log = d.log_text()
        check("wrong token" in log, "failed attempts not logged")
        for s in SECRETS:
            check(s not in log, "a token appears in the daemon's stderr")
        print("stderr (--verbose, %d lines): no token in it" % log.count("\n"))
    print("ok")


if __name__ == "__main__":
    main()
