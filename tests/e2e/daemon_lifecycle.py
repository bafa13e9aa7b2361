"""Start-up and shutdown of polysearchd: options and exit codes, missing
database, stale/live/foreign socket files, IPv6 loopback, SIGHUP, commit
visibility while running, SIGTERM with requests in flight."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

LIMIT_FLAGS = ["--max-frame", "--max-depth", "--deadline", "--idle-timeout", "--max-clients",
               "--max-output", "--queue", "--max-limit", "--max-window", "--max-query",
               "--max-wildcard"]


def run(args, timeout=10):
    return subprocess.run([pstest.daemon_path()] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def test_options(tmp, db):
    r = run(["--help"])
    out = r.stdout.decode()
    check(r.returncode == 0 and all(f in out for f in LIMIT_FLAGS), "--help: %d" % r.returncode)
    r = run(["--version"])
    check(r.returncode == 0 and r.stdout.startswith(b"polysearchd "), "--version")
    for bad in (["--bogus"], ["--workers", "0"], ["--max-frame", "12x"], ["--deadline", "-1"],
                ["--listen", "localhost"], ["--visible-wait", "11s"], ["--visible-wait", "5x"], ["--listen", "127.0.0.1:70000"], ["extra"]):
        r = run(["--db", db] + bad)
        check(r.returncode == 64 and r.stderr, "%r: exit %d, want 64" % (bad, r.returncode))
    r = run(["--db", os.path.join(tmp, "missing"), "--listen", "127.0.0.1:0"])
    check(r.returncode == 66 and b"no index at" in r.stderr and b"polysearch-index" in r.stderr,
          "missing db: exit %d %r" % (r.returncode, r.stderr[-200:]))
    print("options ok")


def test_config_file(tmp, db):
    conf = os.path.join(tmp, "polysearchd.conf")
    with open(conf, "w") as f:
        f.write("# test\nmax-limit 5\nmax-window = 50\nread-only\nworkers 1\n")
    # The file's settings apply; the command line (after) overrides one.
    with pstest.Daemon(db, tmp, args=["--config", conf, "--max-window", "60"]) as d:
        with d.client() as c:
            err, st = c.call("stats")
            check(err is None, "stats: %r" % (err,))
            lim = st["limits"]
            check(lim["max_limit"] == 5 and lim["max_window"] == 60 and lim["read_only"] == 1,
                  "limits from --config: %r" % lim)
            err, _ = c.call("search", {"q": "sante", "limit": 6})
            check(err is not None and err["code"] == "bad_request", "limit 6: %r" % (err,))
            err, _ = c.call("add", {"docs": [{"id": "x", "body": "y"}]})
            check(err is not None and err["code"] == "unavailable", "read-only add: %r" % (err,))
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:0\nmax-frame 12x\n")
    r = run(["--db", db, "--config", conf])
    check(r.returncode == 78 and (conf + ":2").encode() in r.stderr,
          "bad value in --config: exit %d %r" % (r.returncode, r.stderr[-300:]))
    example = os.path.join(pstest.source_dir(), "docs", "examples", "polysearchd.conf")
    r = run(["--config", example, "--help"])
    check(r.returncode == 0, "docs/examples/polysearchd.conf: exit %d %r" %
          (r.returncode, r.stderr[-300:]))
    r = run(["--db", db, "--config", os.path.join(tmp, "nope.conf")])
    check(r.returncode == 66, "missing --config file: exit %d" % r.returncode)
    print("config file ok")


def test_sockets(tmp, db):
    path = os.path.join(tmp, "sd.sock")
    # Stale socket (as left by kill -9): removed and replaced.
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()
    check(os.path.exists(path), "stale socket not created")
    with pstest.Daemon(db, tmp, socket=True) as d:
        check("stale" in d.log_text(), "stale socket not reported")
        with d.client(unix=True) as c:
            check(c.call("ping")[1] == "pong", "ping over replaced socket")
        # A live socket: a second daemon refuses to start and leaves it.
        r = run(["--db", db, "--listen", "127.0.0.1:0", "--socket", path])
        check(r.returncode == 69, "live socket: exit %d, want 69" % r.returncode)
        check(os.path.exists(path), "second daemon removed the live socket")
        with d.client(unix=True) as c:
            check(c.call("ping")[1] == "pong", "first daemon still serves")
        check(d.stop() == 0, "exit status")
        check(not os.path.exists(path), "socket not removed on exit")
    # After kill -9 the file stays, and the next start handles it.
    with pstest.Daemon(db, tmp, socket=True) as d:
        d.stop(signal.SIGKILL)
    check(os.path.exists(path), "kill -9 should leave the socket file")
    with pstest.Daemon(db, tmp, socket=True) as d:
        with d.client(unix=True) as c:
            check(c.call("ping")[1] == "pong", "ping after kill -9 restart")
        check(d.stop() == 0, "exit status")
    # A regular file in the way is never deleted.
    with open(path, "w") as f:
        f.write("precious\n")
    r = run(["--db", db, "--listen", "127.0.0.1:0", "--socket", path])
    check(r.returncode == 73 and open(path).read() == "precious\n", "regular file: exit %d"
          % r.returncode)
    os.unlink(path)
    # TCP port in use.
    with pstest.Daemon(db, tmp) as d:
        r = run(["--db", db, "--listen", "127.0.0.1:%d" % d.port])
        check(r.returncode == 69, "port in use: exit %d, want 69" % r.returncode)
    print("sockets ok")


def test_ipv6(tmp, db):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        print("ipv6 loopback unavailable: skipped")
        return
    with pstest.Daemon(db, tmp, listen=("[::1]:0",)) as d:
        with pstest.Client(("::1", d.port)) as c:
            check(c.call("ping")[1] == "pong", "ping over ::1")
        check(d.stop() == 0, "exit status")
    print("ipv6 ok")


def test_commit_visibility_and_hup(tmp, db):
    extra = os.path.join(tmp, "extra")
    os.mkdir(extra)
    with pstest.Daemon(db, tmp, args=["--workers", "2"]) as d:
        with d.client() as c:
            err, st = c.call("stats")
            n0, rev0 = st["documents"], st["revision"]
            err, r = c.call("search", {"q": "zyxwvutsrq"})
            check(err is None and r["total"] == 0, "marker word already present")
            with open(os.path.join(extra, "marker.txt"), "w") as f:
                f.write("Quokka zyxwvutsrq\n\nA new document about the zyxwvutsrq quokka, "
                        "indexed while the daemon runs.\n")
            # The daemon holds no write lock: the indexer can commit now.
            pstest.build_index(tmp, src=extra)
            t0 = time.monotonic()
            err, r = c.call("search", {"q": "zyxwvutsrq"})
            check(err is None and r["total"] >= 1, "new document not visible: %r %r" % (err, r))
            for _ in range(4):   # every worker sees it
                err, r = c.call("search", {"q": "zyxwvutsrq"})
                check(err is None and r["total"] >= 1, "new document not visible on every worker")
            err, st = c.call("stats")
            check(st["documents"] > n0 and st["revision"] > rev0, "stats after commit: %r" % st)
            print("commit visible after %.1f ms" % ((time.monotonic() - t0) * 1000))
            os.kill(d.pid, signal.SIGHUP)
            time.sleep(0.2)
            for _ in range(4):
                err, r = c.call("search", {"q": "zyxwvutsrq"})
                check(err is None and r["total"] >= 1, "search after SIGHUP: %r" % (err,))
            check(pstest.wait_until(lambda: "SIGHUP" in d.log_text(), 10), "SIGHUP not logged")
        check(d.stop() == 0, "exit status")
    print("commit visibility and SIGHUP ok")


def test_sigterm_in_flight(tmp, db):
    with pstest.Daemon(db, tmp, socket=True, args=["--workers", "2", "--queue", "1000"]) as d:
        clients = [d.client() for _ in range(3)] + [d.client(unix=True)]
        n = 50
        for c in clients:
            c.send(b"".join(msgpack.packb([0, i, "search", [{"q": "sante OR innovation",
                                                               "limit": 50}]])
                            for i in range(n)))
        time.sleep(0.01)
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        answered = 0
        for c in clients:
            seen = set()
            while True:
                m = c.recv(timeout=6)
                if m is None:
                    break
                check(m[2] is None, "in-flight request answered with %r" % (m[2],))
                seen.add(m[1])
            answered += len(seen)
            # Every request that reached the daemon before SIGTERM is
            # answered; the rest were still in the kernel.
            check(seen == set(range(len(seen))), "answers are not a prefix of the requests")
        rc = d.proc.wait(6)
        dt = time.monotonic() - t0
        check(rc == 0, "exit status %d after SIGTERM" % rc)
        check(dt < 5.0, "exit took %.2f s" % dt)
        check(answered > 0, "nothing was answered")
        check(not os.path.exists(d.socket_path), "socket file left after SIGTERM")
        print("SIGTERM: %d in-flight requests answered, exit 0 after %.2f s" % (answered, dt))
        for c in clients:
            c.close()
        with socket.socket() as s:
            check(s.connect_ex(d.addr) != 0, "still accepting after exit")


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        test_options(tmp, db)
        test_config_file(tmp, db)
        test_sockets(tmp, db)
        test_ipv6(tmp, db)
        test_commit_visibility_and_hup(tmp, db)
        test_sigterm_in_flight(tmp, db)
    print("ok")


if __name__ == "__main__":
    main()
