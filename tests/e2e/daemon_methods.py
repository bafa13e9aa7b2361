"""Every method over TCP and over the Unix socket (mode 0600), argument
checks and limits answered with their error codes, and the stats fields."""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

LIMIT_KEYS = {"max_frame", "max_depth", "deadline_ms", "idle_timeout_ms", "max_clients",
              "max_output", "queue", "max_limit", "max_window", "max_query", "max_wildcard",
              "read_only", "max_add_docs", "max_body", "write_queue", "commit_delay_ms", "visible_wait_ms",
              "writer_idle_ms", "wal", "checkpoint_docs", "checkpoint_bytes",
              "checkpoint_interval_ms", "max_delta", "max_subscriptions",
              "max_subscriptions_per_conn", "max_notify_queue", "max_request",
              "max_headers", "resume_max"}
ERROR_CODES = {"bad_request", "too_large", "query_syntax", "too_many_terms", "not_found",
               "busy", "timeout", "unknown_method", "internal", "unavailable", "io_error",
               "unauthorized", "forbidden"}


def expect_error(c, method, params, code):
    err, res = c.call(method, params)
    check(err is not None and err.get("code") == code and isinstance(err.get("message"), str)
          and err["message"], "%s %r: expected %s, got %r / %r" % (method, params, code, err, res))
    check(res is None, "error response with a result")


def exercise(c, label):
    err, res = c.call("ping", {})
    check(err is None and res == "pong", label + ": ping -> %r %r" % (err, res))
    err, res = c.call("search", {"q": "lyonbiopole"})
    check(err is None, label + ": search error %r" % (err,))
    for k in ("total", "hits", "took_us"):
        check(k in res, label + ": search result lacks %s: %r" % (k, res))
    check(res["total"] >= 1 and len(res["hits"]) >= 1, label + ": lyonbiopole not found")
    hit = res["hits"][0]
    for k in ("id", "title", "lang", "score", "snippet"):
        check(k in hit, label + ": hit lacks %s: %r" % (k, hit))
    # Accent folding: the same documents with and without diacritics.
    _, r2 = c.call("search", {"q": "Lyonbiopôle"})
    check(r2["total"] == res["total"], label + ": folding mismatch")
    # get the first hit, and a missing id.
    err, doc = c.call("get", {"id": hit["id"]})
    check(err is None and doc["id"] == hit["id"] and doc["body"], label + ": get %r" % (err,))
    expect_error(c, "get", {"id": "no/such/document"}, "not_found")
    # stats
    err, st = c.call("stats", {})
    check(err is None, label + ": stats error %r" % (err,))
    for k in ("documents", "languages", "revision", "uptime_s", "requests", "errors",
              "latency_us", "connections", "limits", "version", "alerts", "auth"):
        check(k in st, label + ": stats lacks " + k)
    check(st["documents"] >= 5, "stats documents %r" % st["documents"])
    check(sum(st["languages"].values()) == st["documents"], "language counts do not add up")
    check(set(st["limits"]) == LIMIT_KEYS, "limits %r" % sorted(st["limits"]))
    check(set(st["errors"]) == ERROR_CODES, "error codes %r" % sorted(st["errors"]))
    check({"p50", "p99"} <= set(st["latency_us"]), "latency %r" % st["latency_us"])
    check(st["connections"] >= 1 and st["requests"] >= 4, "counters %r" % st)
    return hit, st


def run_protocol_example(d):
    """Runs the Python example of docs/PROTOCOL.md as written."""
    import re
    import subprocess
    with open(os.path.join(pstest.source_dir(), "docs", "PROTOCOL.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    check(len(blocks) == 1, "PROTOCOL.md: expected one python block")
    env = dict(os.environ, POLYSEARCH_PORT=str(d.port))
    r = subprocess.run([sys.executable, "-c", blocks[0]], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    out = r.stdout.decode()
    check(r.returncode == 0, "PROTOCOL.md example failed: %s" % r.stderr.decode()[-500:])
    check(out.startswith("pong\n") and "error not_found" in out, "example output: %r" % out)


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True,
                           args=["--max-limit", "50", "--max-window", "100",
                                 "--max-query", "64", "--max-wildcard", "2",
                                 "--workers", "2"]) as d:
            mode = stat.S_IMODE(os.stat(d.socket_path).st_mode)
            check(stat.S_ISSOCK(os.stat(d.socket_path).st_mode), "not a socket")
            check(mode == 0o600, "socket mode %o, want 600" % mode)
            with d.client() as c:
                hit, st = exercise(c, "tcp")
                check(st["limits"]["max_limit"] == 50 and st["limits"]["max_query"] == 64,
                      "limits not reported as configured: %r" % st["limits"])
                # Options of search.
                err, r = c.call("search", {"q": "sante", "limit": 2, "offset": 0,
                                           "snippet": False, "facets": True,
                                           "spelling": True, "sort": "date"})
                check(err is None and len(r["hits"]) <= 2, "search options: %r" % (err,))
                check("facets" in r and "lang" in r["facets"], "facets missing: %r" % r.keys())
                check(all(h["snippet"] == "" for h in r["hits"]), "snippet:false ignored")
                err, r = c.call("search", {"q": "sante", "lang": hit["lang"]})
                check(err is None and all(h["lang"] == hit["lang"] for h in r["hits"]),
                      "lang filter")
                # Errors, one per rule.
                expect_error(c, "search", {"q": "x", "limit": 51}, "bad_request")
                expect_error(c, "search", {"q": "x", "limit": 0}, "bad_request")
                expect_error(c, "search", {"q": "x", "limit": 50, "offset": 51}, "bad_request")
                expect_error(c, "search", {"q": "x", "offset": 2**64 - 1}, "bad_request")
                expect_error(c, "search", {"q": "x", "limit": -1}, "bad_request")
                expect_error(c, "search", {"q": "x" * 65}, "too_large")
                expect_error(c, "search", {"q": "s*"}, "too_many_terms")
                expect_error(c, "search", {"q": 42}, "bad_request")
                expect_error(c, "search", {}, "bad_request")
                expect_error(c, "search", {"q": "x", "bogus": 1}, "bad_request")
                expect_error(c, "search", {"q": "x", "sort": "random"}, "bad_request")
                expect_error(c, "search", {"q": "x", "date_from": "yesterday"}, "bad_request")
                expect_error(c, "get", {}, "bad_request")
                expect_error(c, "get", {"id": "x" * 300}, "bad_request")
                expect_error(c, "ping", {"x": 1}, "bad_request")
                expect_error(c, "add", {"docs": []}, "bad_request")
                expect_error(c, "delete", {"id": "x"}, "bad_request")
                expect_error(c, "nosuchmethod", {}, "unknown_method")
                err, st2 = c.call("stats", {})
                check(st2["errors"]["bad_request"] >= 14 and st2["errors"]["too_large"] >= 1
                      and st2["errors"]["unknown_method"] >= 1
                      and st2["errors"]["not_found"] >= 1, "error counters %r" % st2["errors"])
            with d.client(unix=True) as c:
                exercise(c, "unix")
            run_protocol_example(d)
            rc = d.stop()
            check(rc == 0, "exit status %d after SIGTERM" % rc)
            check(not os.path.exists(d.socket_path), "socket file left behind")
    print("ok")


if __name__ == "__main__":
    main()
