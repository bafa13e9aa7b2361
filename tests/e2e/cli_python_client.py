"""e2e: clients/python/polysearch_client.py against a real polysearchd:
every method over TCP and the Unix socket, typed errors, timeouts, address
parsing, add/delete (the daemon implements them: unknown_method fails).

Environment: PS_DAEMON, PS_INDEXER, PS_SOURCE_DIR.
"""
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402
import polysearch_client as pc  # noqa: E402


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    fail("%s%r did not raise %s" % (fn.__name__, a, exc.__name__))


def test_addresses():
    check(pc.parse_address("unix:/x/s.sock") == (socket.AF_UNIX, "/x/s.sock"), "unix")
    check(pc.parse_address("[::1]:8") == (socket.AF_INET6, ("::1", 8)), "v6")
    check(pc.parse_address("localhost") == (socket.AF_UNSPEC, ("localhost", 7117)), "default port")
    for bad in ("", "unix:", "::1", "[::1", "h:0", "h:70000", "h:x", ":80"):
        raises(ValueError, pc.parse_address, bad)


def test_methods(c):
    check(c.ping() is True, "ping")
    r = c.search("santé lyonbiopole", limit=3)
    check(1 <= len(r["hits"]) <= 3 and r["total"] >= len(r["hits"]), "search %r" % r)
    for n, h in enumerate(r["hits"]):
        for k in ("id", "title", "lang", "score", "rank", "snippet", "highlights"):
            check(k in h, "hit lacks %s" % k)
        check(h["rank"] == n + 1, "rank")
    same = {h["id"] for h in c.search("SANTE LYONBIOPOLE", limit=3)["hits"]}
    check(same == {h["id"] for h in r["hits"]}, "accent/case folding differs")
    f = c.search("lyonbiopole", facets=True, lang="de", snippet=False)
    check(all(h["lang"] == "de" for h in f["hits"]) and f["hits"], "lang filter")
    check(all(h["snippet"] == "" for h in f["hits"]), "snippet=False")
    check("lang" in f.get("facets", {}), "facets")
    check(c.search("zzqxwvvq")["total"] == 0, "zero hits")
    doc = c.get("000_3d3df94667dbc618")
    check(doc["id"] == "000_3d3df94667dbc618" and doc["lang"] == "fr" and "Kimelfeld" in doc["body"],
          "get")
    e = raises(pc.NotFoundError, c.get, "no-such-doc")
    check(e.code == "not_found" and e.message, "NotFoundError fields")
    e = raises(pc.QuerySyntaxError, c.search, "santé NOT")
    check(isinstance(e, pc.PolysearchError) and e.code == "query_syntax", "QuerySyntaxError")
    e = raises(pc.PolysearchError, c.search, "x", limit=10 ** 9)
    check(e.code in ("bad_request", "too_large"), "huge limit: %s" % e.code)
    e = raises(pc.PolysearchError, c.call, "frobnicate")
    check(isinstance(e, pc.UnknownMethodError), "unknown method class")
    st = c.stats()
    check(isinstance(st, dict) and st, "stats")
    check(c.ping(), "connection usable after errors")

    r = c.add([{"id": "py-test-1", "title": "Pytest", "body": "Quokkasaurus unique wording",
                "lang": "en"},
               {"id": "py-test-2", "body": "second quokkasaurus"},
               {"id": "", "body": "no id"}])
    check(r["added"] + r["replaced"] + r["unchanged"] == 2, "add counts %r" % r)
    check(len(r["rejected"]) == 1 and r["rejected"][0]["index"] == 2, "rejected %r" % r)
    found = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not found:
        found = c.search("quokkasaurus")["total"] == 2
        time.sleep(0.05)
    check(found, "added documents not searchable within 5 s")
    check(c.add([{"id": "py-test-1", "title": "Pytest", "body": "Quokkasaurus unique wording",
                  "lang": "en"}])["unchanged"] in (0, 1), "re-add")
    d = c.delete(["py-test-1", "py-test-2", "never-there"])
    check(d == {"deleted": 2, "not_found": 1}, "delete %r" % d)
    raises(pc.NotFoundError, c.get, "py-test-1")


def test_timeout_and_closed():
    # A listener that accepts but never answers: PolysearchTimeout.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except socket.timeout:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        c = pc.Client("127.0.0.1:%d" % port, timeout=0.3)
        t0 = time.monotonic()
        raises(pc.PolysearchTimeout, c.ping)
        check(time.monotonic() - t0 < 2.0, "timeout took too long")
        raises(pc.PolysearchConnectionError, c.ping)
        # Peer closes: a connection error, not a hang.
        c = pc.Client("127.0.0.1:%d" % port, timeout=5)
        time.sleep(0.2)
        for s in conns:
            s.close()
        t0 = time.monotonic()
        raises(pc.PolysearchConnectionError, c.ping)
        check(time.monotonic() - t0 < 2.0, "closed peer took too long")
    finally:
        stop.set()
        t.join(2)
        srv.close()
        for s in conns:
            s.close()
    # Nobody listening.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    e = raises(pc.PolysearchConnectionError, pc.Client, "127.0.0.1:%d" % dead, 2)
    check("cannot connect to 127.0.0.1:%d" % dead in str(e), "message %s" % e)


def main():
    test_addresses()
    test_timeout_and_closed()
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True) as d:
            with pc.Client("127.0.0.1:%d" % d.port, timeout=10) as c:
                r = c.delete(["probe-does-not-exist"])
                check(r == {"deleted": 0, "not_found": 1}, "delete probe %r" % r)
                test_methods(c)
            with pc.Client("unix:" + d.socket_path, timeout=10) as c:
                check(c.ping(), "ping over the Unix socket")
                check(c.search("innovation")["hits"], "search over the Unix socket")
            check(d.stop() == 0, "daemon did not exit 0 on SIGTERM")
    print("cli_python_client: OK")


if __name__ == "__main__":
    main()
