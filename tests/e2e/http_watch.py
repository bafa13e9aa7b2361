#!/usr/bin/env python3
"""e2e_http_watch: GET /watch, the Server-Sent Events stream of new
matches, against the real daemon on 127.0.0.1:0 over the seed corpus.

Checked:
  - the stream's head (200, text/event-stream, no-cache), its first
    comment naming the subscription, one subscription in stats;
  - a matching document added with POST /docs arrives as one event
    (event: match, id: its seq, data: the notification's JSON with the
    id, title and lang, HTML in the title kept as text); a non-matching
    one sent in between is not sent; a MessagePack subscriber of the same
    query gets the same seq;
  - lang= restricts the stream to that language;
  - keep-alive comments come more often than --idle-timeout (2 s here),
    and the stream outlives it;
  - curl -N (a third-party client) receives an event, and resumes with
    -H 'Last-Event-ID: <its id>' (the document added meanwhile first);
  - errors before the stream: 400 (query syntax, no q, unknown
    parameter, bad language), 413 (q over --max-query), 429 beyond
    --max-subscriptions, 503 with --read-only; HEAD subscribes nothing;
  - durable subscriptions and resume: ?name= attaches a stored one (the
    stream that held it ends), durable=true&name= stores one, and
    Last-Event-ID resumes after that seq (the matches missed come once
    each, in order, then live ones), also for a plain ?q= stream; 404 for
    an unknown name, 400 for another query under a stored name, durable
    without a name, a malformed Last-Event-ID;
  - closing the client's socket removes the subscription (stats), also
    when it closes right after sending the request (before or while the
    alert thread takes the query), 100 times over;
  - a client that does not read while 1,000 matches of about 3 KB come
    (--max-notify-queue 64k, a 4 KiB receive buffer) gets, once it reads
    again, the matches before the gap, then a "lagged" event whose id is
    the seq before the gap, then the end of the stream; reconnecting with
    that Last-Event-ID (as an EventSource does) gets the rest: every
    document once, in order;
  - SIGTERM with streams open: each ends, and the daemon exits 0;
  - with --auth-token-file: 401 without a token, a stream with a read
    token (Authorization: Bearer); a durable subscription stored by one
    read token is 403 for another, attached again by its own.
Bounded: every wait has a timeout.
"""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import pshttp
import pstest
from pstest import check

CURL = shutil.which("curl")


def post(port, docs):
    st, _, res = pshttp.jrequest(port, "POST", "/docs", docs)
    check(st == 200 and not res["rejected"], "POST /docs: %d %r" % (st, res))
    return res


def watch_path(q, **more):
    return "/watch?" + urllib.parse.urlencode(dict(q=q, **more))


def stream_basics(d):
    hp = d.hport
    with pshttp.SSE(hp, watch_path("lyonbiopole OR zqwatch")) as s:
        check(s.status == 200, "status %d" % s.status)
        check(s.headers.get("content-type", "").startswith("text/event-stream"),
              "content type %r" % s.headers)
        check(s.headers.get("cache-control") == "no-cache", "cache-control %r" % s.headers)
        s.wait_comment("subscription", 10)
        check(pshttp.subscriptions(hp) == 1, "one subscription expected")

        # The same query over MessagePack-RPC: same seq for the same match.
        c = d.client()
        err, sub = c.call("subscribe", {"q": "lyonbiopole OR zqwatch"})
        check(err is None, "msgpack subscribe: %r" % (err,))

        post(hp, {"id": "w/1", "title": "Lyonbiopôle <b>ouvre</b> <script>x()</script>",
                  "body": "LYONBIOPOLE ouvre un nouveau site à Lyon.", "lang": "fr",
                  "date": "2026-01-02"})
        ev = s.next_event(10)
        check(ev is not None and ev["event"] == "match", "match event expected: %r" % (ev,))
        m = json.loads(ev["data"])
        check(m["id"] == "w/1" and m["lang"] == "fr" and
              m["title"] == "Lyonbiopôle <b>ouvre</b> <script>x()</script>",
              "notification: %r" % m)
        check(ev["id"] == str(m["seq"]), "id: %r is not the seq %r" % (ev["id"], m["seq"]))
        note = c.recv(10)
        check(note[0] == 2 and note[1] == "match" and note[2][0]["seq"] == m["seq"] and
              note[2][0]["id"] == "w/1", "msgpack notification %r" % (note,))

        # Not matching, then matching: only the second comes.
        post(hp, {"id": "w/2", "body": "Rien à voir avec la question.", "lang": "fr"})
        post(hp, {"id": "w/3", "body": "The zqwatch marker, in English.", "lang": "en"})
        ev = s.next_event(10)
        m = json.loads(ev["data"])
        check(ev["event"] == "match" and m["id"] == "w/3",
              "the non-matching w/2 was sent, or w/3 missing: %r" % (m,))
        note = c.recv(10)
        check(note[2][0]["id"] == "w/3", "msgpack: %r" % (note,))
        c.close()

        # Keep-alive: --idle-timeout 2 s, a comment at least every second,
        # and the stream still delivers after 3 s of nothing.
        t0 = time.monotonic()
        n0 = sum(1 for x in s.comments if "keep-alive" in x)
        s.wait_comment("keep-alive", 5)
        s.wait_comment("keep-alive", 5)
        time.sleep(max(0, 3.0 - (time.monotonic() - t0)))
        post(hp, {"id": "w/4", "body": "zqwatch again", "lang": "en"})
        ev = s.next_event(10)
        check(ev is not None and json.loads(ev["data"])["id"] == "w/4",
              "stream dead after the idle timeout: %r" % (ev,))
        n1 = sum(1 for x in s.comments if "keep-alive" in x)
        check(n1 - n0 >= 2, "keep-alive comments: %d" % (n1 - n0))
    # Closed by the client: the subscription goes.
    ok = pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1)
    check(ok, "subscription still there after the client closed: %d" % pshttp.subscriptions(hp))


def lang_filter(d):
    hp = d.hport
    with pshttp.SSE(hp, watch_path("zqlang", lang="de")) as s:
        s.wait_comment("subscription", 10)
        post(hp, {"id": "l/fr", "body": "zqlang en français", "lang": "fr"})
        post(hp, {"id": "l/de", "body": "zqlang auf Deutsch", "lang": "de"})
        ev = s.next_event(10)
        check(json.loads(ev["data"])["id"] == "l/de", "lang=de stream got %r" % (ev,))
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "lang sub left")


def curl_first_event(hp, path, headers=(), then=None):
    """curl -sN on path (with -H for each header); calls then() once its
    subscription is registered; returns the first event's (id, data map)."""
    cmd = [CURL, "-sN", "--max-time", "15"]
    for h in headers:
        cmd += ["-H", h]
    p = subprocess.Popen(cmd + ["http://127.0.0.1:%d%s" % (hp, path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ok = pstest.wait_until(lambda: pshttp.subscriptions(hp) == 1, 10, 0.05)
        check(ok, "curl's subscription not registered")
        if then:
            then()
        out = b""
        deadline = time.monotonic() + 10
        os.set_blocking(p.stdout.fileno(), False)
        while b"event: match" not in out or b"\n\n" not in out.split(b"event: match", 1)[1]:
            check(time.monotonic() < deadline, "curl -N received no event: %r" % out)
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            else:
                time.sleep(0.05)
        ev = out.split(b"event: match", 1)[0].decode().split("\n") + \
            out.split(b"event: match", 1)[1].decode().split("\n")
        ids = [l[4:] for l in ev if l.startswith("id: ")]
        data = [l for l in ev if l.startswith("data: ")]
        check(ids and data, "curl event without id or data: %r" % out)
        return ids[-1], json.loads(data[0][6:])
    finally:
        p.kill()
        p.wait(5)
        check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1),
              "curl sub left")


def with_curl(d):
    """curl -N receives an event; a second curl with -H 'Last-Event-ID:'
    first gets what was added after that event while none was open."""
    if not CURL:
        print("curl missing: curl -N case skipped")
        return
    hp = d.hport
    eid, m = curl_first_event(hp, watch_path("zqcurl"), then=lambda: post(
        hp, {"id": "c/1", "body": "zqcurl document", "lang": "en"}))
    check(m["id"] == "c/1" and eid == str(m["seq"]), "curl event %r %r" % (eid, m))
    post(hp, {"id": "c/2", "body": "zqcurl missed meanwhile", "lang": "en"})
    eid2, m = curl_first_event(hp, watch_path("zqcurl"), ["Last-Event-ID: " + eid])
    check(m["id"] == "c/2" and int(eid2) > int(eid), "curl resume got %r %r" % (eid2, m))


def errors(d):
    hp = d.hport
    for path, st_want, code, why in (
            (watch_path("NOT santé"), 400, "query_syntax", ""),
            ("/watch", 400, "bad_request", "missing"),
            ("/watch?q=a&limit=3", 400, "bad_request", "limit"),
            (watch_path("a", lang="zz"), 400, "bad_request", "language"),
            ("/watch?q=a%FF", 400, "bad_request", "UTF-8"),
            (watch_path("a" * 300), 413, "too_large", "max_query")):
        st, hdrs, res = pshttp.jrequest(hp, "GET", path)
        check(st == st_want and res["error"]["code"] == code and why in res["error"]["message"],
              "%s: %d %r" % (path, st, res))
        check(hdrs["content-type"].startswith("application/json"), "%s: %r" % (path, hdrs))
    st, hdrs, body = pshttp.request(hp, "HEAD", watch_path("zqhead"))
    check(st == 200 and hdrs["content-type"].startswith("text/event-stream") and body == b"",
          "HEAD /watch: %d %r" % (st, hdrs))
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 5, 0.05), "HEAD subscribed")
    # --max-subscriptions 3: the fourth stream is refused with 429 busy.
    streams = [pshttp.SSE(hp, watch_path("zqlimit%d" % i)) for i in range(3)]
    try:
        for s in streams:
            check(s.status == 200, "stream under the limit: %d" % s.status)
            s.wait_comment("subscription", 10)
        s4 = pshttp.SSE(hp, watch_path("zqlimit4"))
        res = s4.read_json_error()
        s4.close()
        check(s4.status == 429 and res["error"]["code"] == "busy" and
              "max_subscriptions" in res["error"]["message"], "over the limit: %d %r" % (s4.status, res))
    finally:
        for s in streams:
            s.close()
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "limit subs left")


def no_more_events(s, within=1.0):
    """True when no event comes within the given seconds."""
    try:
        ev = s.next_event(within)
    except socket.timeout:
        return True
    return ev is None


def durable_resume(d):
    """A stream's subscription follows subscribe's rules: ?name= alone
    attaches a durable subscription (taking it over: the stream that held
    it ends), durable=true&name= stores one, and Last-Event-ID (what an
    EventSource sends when it reconnects) resumes after that seq: the
    matches added while no stream was open come once each, in order, then
    the live ones. A plain ?q= stream resumes the same way."""
    hp = d.hport
    c = d.client()
    err, res = c.call("subscribe", {"q": "zqdurable", "name": "dur1", "durable": True})
    check(err is None and res.get("durable") is True, "durable subscribe: %r %r" % (err, res))
    c.close()
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "dur1 attached")
    for path, hdrs, want, code, why in (
            ("/watch?name=nosuch", None, 404, "not_found", "nosuch"),
            (watch_path("zqother", name="dur1"), None, 400, "bad_request", "another query"),
            (watch_path("zqother", durable="true"), None, 400, "bad_request", "name"),
            (watch_path("zqother"), {"Last-Event-ID": "x1"}, 400, "bad_request",
             "Last-Event-ID"),
            (watch_path("zqother"), {"Last-Event-ID": "-1"}, 400, "bad_request",
             "Last-Event-ID")):
        st, _, res = pshttp.jrequest(hp, "GET", path, headers=hdrs)
        check(st == want and res["error"]["code"] == code and why in res["error"]["message"],
              "%s %r: %d %r" % (path, hdrs, st, res))

    with pshttp.SSE(hp, "/watch?name=dur1") as s:
        check(s.status == 200, "attach by name: %d" % s.status)
        s.wait_comment("subscription", 10)
        post(hp, {"id": "nd/1", "body": "zqdurable first", "lang": "en"})
        ev = s.next_event(10)
        m = json.loads(ev["data"])
        check(m["id"] == "nd/1" and m["name"] == "dur1" and ev["id"] == str(m["seq"]),
              "durable stream got %r %r" % (ev, m))
        last = ev["id"]
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "stream sub left")
    # Added while nobody is attached: kept for the resume.
    post(hp, {"id": "nd/2", "body": "zqdurable second", "lang": "en"})
    post(hp, {"id": "nd/x", "body": "nothing to see", "lang": "en"})
    post(hp, {"id": "nd/3", "body": "zqdurable third", "lang": "en"})
    with pshttp.SSE(hp, "/watch?name=dur1", headers={"Last-Event-ID": last}) as s:
        check(s.status == 200, "resume: %d" % s.status)
        evs = [s.next_event(10) for _ in range(2)]
        got = [json.loads(e["data"])["id"] for e in evs]
        check(got == ["nd/2", "nd/3"], "resumed %r, want nd/2 nd/3" % (got,))
        seqs = [int(e["id"]) for e in evs]
        check(int(last) < seqs[0] < seqs[1], "seqs %r after %s" % (seqs, last))
        post(hp, {"id": "nd/4", "body": "zqdurable fourth", "lang": "en"})
        ev = s.next_event(10)
        check(json.loads(ev["data"])["id"] == "nd/4", "live after the resume: %r" % (ev,))
        check(no_more_events(s), "an event came twice")
        # Another client attaches dur1: this stream says so and ends.
        c = d.client()
        err, res = c.call("subscribe", {"name": "dur1"})
        check(err is None and res.get("durable") is True, "take over: %r %r" % (err, res))
        s.wait_comment("taken by another client", 10)
        check(s.next_event(10) is None, "the stream went on after its subscription moved")
    err, _ = c.call("unsubscribe", {"subscription": res["subscription"]})
    check(err is None, "unsubscribe: %r" % (err,))
    c.close()

    # durable=true over HTTP stores one; MessagePack attaches it by name.
    with pshttp.SSE(hp, watch_path("zqstored", name="dur2", durable="true")) as s:
        check(s.status == 200, "durable=true: %d" % s.status)
        s.wait_comment("subscription", 10)
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "dur2 stream left")
    c = d.client()
    err, res = c.call("subscribe", {"name": "dur2"})
    check(err is None and res.get("durable") is True, "dur2 not stored: %r %r" % (err, res))
    err, _ = c.call("unsubscribe", {"subscription": res["subscription"]})
    check(err is None, "unsubscribe dur2: %r" % (err,))
    c.close()

    # A plain query stream resumes too.
    with pshttp.SSE(hp, watch_path("zqplain")) as s:
        s.wait_comment("subscription", 10)
        post(hp, {"id": "pl/1", "body": "zqplain one", "lang": "en"})
        last = s.next_event(10)["id"]
    post(hp, {"id": "pl/2", "body": "zqplain two", "lang": "en"})
    with pshttp.SSE(hp, watch_path("zqplain"), headers={"Last-Event-ID": last}) as s:
        ev = s.next_event(10)
        check(json.loads(ev["data"])["id"] == "pl/2", "plain resume: %r" % (ev,))
        check(no_more_events(s), "plain resume sent more")
    check(pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 10, 0.1), "subs left")


def vanishing(d):
    """Clients that send GET /watch and close at once, with or without
    reading the head: no subscription is left, nothing leaks (ASan) and
    the daemon still streams."""
    hp = d.hport
    for i in range(100):
        sk = socket.create_connection(("127.0.0.1", hp), timeout=5)
        sk.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % watch_path("zqgone%d" % i)).encode())
        if i % 3 == 1:
            sk.recv(100)                    # the head came: the stream had started
        elif i % 3 == 2:
            sk.shutdown(socket.SHUT_WR)     # half-close first
        sk.close()
    ok = pstest.wait_until(lambda: pshttp.subscriptions(hp) == 0, 15, 0.1)
    check(ok, "subscriptions left by vanished clients: %d" % pshttp.subscriptions(hp))
    with pshttp.SSE(hp, watch_path("zqafter")) as s:
        s.wait_comment("subscription", 10)
        post(hp, {"id": "g/1", "body": "zqafter", "lang": "en"})
        ev = s.next_event(10)
        check(json.loads(ev["data"])["id"] == "g/1", "after the vanished clients: %r" % (ev,))


def sigterm(d):
    hp = d.hport
    streams = [pshttp.SSE(hp, watch_path("zqterm%d" % i)) for i in range(2)]
    for s in streams:
        s.wait_comment("subscription", 10)
    t0 = time.monotonic()
    rc = d.stop(timeout=10)
    check(rc == 0, "exit status %d with streams open:\n%s" % (rc, d.log_text()))
    check(time.monotonic() - t0 < 4, "the streams held the daemon %.1f s" % (time.monotonic() - t0))
    for s in streams:
        try:
            end = s.next_event(5)
        except socket.timeout:
            pstest.fail("stream not ended at SIGTERM")
        check(end is None, "an event after SIGTERM: %r" % (end,))
        s.close()


def lagged(tmp):
    ndocs, batch = 1000, 100
    title = "Santé et clusters de la région. " * 90
    with pshttp.http_daemon(os.path.join(tmp, "lag"), tmp,
                            ["--create", "--max-notify-queue", "64k"], "lag") as d:
        s = pshttp.SSE(d.hport, watch_path("sante"), rcvbuf=4096)
        s.wait_comment("subscription", 10)
        for b in range(0, ndocs, batch):      # s is not read meanwhile
            post(d.hport, [{"id": "d%05d" % i, "lang": "fr", "body": "La santé publique.",
                            "title": "Article %d : %s" % (i, title)}
                           for i in range(b, b + batch)])
        # As an EventSource does: read; at the end of a stream reconnect
        # with Last-Event-ID, the id of the last event (the lagged one's is
        # the seq before the first match dropped).
        ids, seqs, dropped, nlag, last_id = [], [], 0, 0, None
        while len(ids) < ndocs:
            try:
                ev = s.next_event(30)
            except socket.timeout:
                pstest.fail("stuck at %d matches of %d (%d dropped)" % (len(ids), ndocs, dropped))
            if ev is None:
                check(nlag > 0 and last_id is not None, "stream ended without a lagged event")
                s.close()
                s = pshttp.SSE(d.hport, watch_path("sante"), rcvbuf=4096,
                               headers={"Last-Event-ID": last_id})
                s.wait_comment("subscription", 10)
                continue
            m = json.loads(ev["data"])
            last_id = ev["id"]
            if ev["event"] == "match":
                ids.append(m["id"])
                seqs.append(m["seq"])
                check(ev["id"] == str(m["seq"]), "id != seq")
            else:
                check(ev["event"] == "lagged" and m["dropped"] > 0 and
                      ev["id"] == str(m.get("resume_from")), "lagged event %r" % (ev,))
                # Nothing after the gap came before the lagged event.
                check(not seqs or seqs[-1] <= m["resume_from"],
                      "a match after the gap before the lagged event: %d > %d" %
                      (seqs[-1], m["resume_from"]))
                dropped += m["dropped"]
                nlag += 1
                check(s.next_event(10) is None, "the stream goes on after a lagged event")
                s.close()
                s = pshttp.SSE(d.hport, watch_path("sante"), rcvbuf=4096,
                               headers={"Last-Event-ID": last_id})
                s.wait_comment("subscription", 10)
        s.close()
        check(nlag > 0, "no lagged event (%d matches received)" % len(ids))
        check(ids == ["d%05d" % i for i in range(ndocs)] and seqs == sorted(seqs),
              "after resuming: not every match once, in order: %d matches, %d distinct" %
              (len(ids), len(set(ids))))
        print("lagged: %d lagged events (%d dropped), each followed by the end of the "
              "stream; reconnected with Last-Event-ID: all %d matches once, in order" %
              (nlag, dropped, ndocs))
        check(d.stop() == 0, "lag daemon exit status")


def tokens(tmp, db):
    path = os.path.join(tmp, "tokens")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("read r3ad-token-for-the-watch-test-0123\n"
                "read other-r3ad-token-for-the-watch-test\n")
    with pshttp.http_daemon(db, tmp, ["--auth-token-file", path], "tok") as d:
        st, hdrs, res = pshttp.jrequest(d.hport, "GET", watch_path("a"))
        check(st == 401 and res["error"]["code"] == "unauthorized" and
              "www-authenticate" in hdrs, "no token: %d %r" % (st, res))
        s = pshttp.SSE(d.hport, watch_path("zqtok"),
                       headers={"Authorization": "Bearer r3ad-token-for-the-watch-test-0123"})
        with s:
            check(s.status == 200, "read token: %d" % s.status)
            s.wait_comment("subscription", 10)
        # A durable subscription belongs to the token that stored it.
        mine = {"Authorization": "Bearer r3ad-token-for-the-watch-test-0123"}
        other = {"Authorization": "Bearer other-r3ad-token-for-the-watch-test"}
        with pshttp.SSE(d.hport, watch_path("zqown", name="mine", durable="true"),
                        headers=mine) as s:
            check(s.status == 200, "durable stream: %d" % s.status)
            s.wait_comment("subscription", 10)
        st, _, res = pshttp.jrequest(d.hport, "GET", "/watch?name=mine", headers=other)
        check(st == 403 and res["error"]["code"] == "forbidden",
              "another token's durable subscription: %d %r" % (st, res))
        with pshttp.SSE(d.hport, "/watch?name=mine", headers=mine) as s:
            check(s.status == 200, "its own token attaches it: %d" % s.status)
            s.wait_comment("subscription", 10)
        check(d.stop() == 0, "token daemon exit status")


def read_only(tmp):
    db = os.path.join(tmp, "ro")
    pstest.Daemon(db, tmp, args=["--create"], log_name="mk.log").stop()
    with pshttp.http_daemon(db, tmp, ["--read-only"], "ro") as d:
        st, _, res = pshttp.jrequest(d.hport, "GET", watch_path("a"))
        check(st == 503 and res["error"]["code"] == "unavailable", "read-only: %d %r" % (st, res))
        check(d.stop() == 0, "read-only exit status")


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        args = ["--idle-timeout", "2s", "--max-subscriptions", "3", "--max-query", "256"]
        with pshttp.http_daemon(db, tmp, args, "w") as d:
            stream_basics(d)
            lang_filter(d)
            with_curl(d)
            errors(d)
            durable_resume(d)
            vanishing(d)
            sigterm(d)
        lagged(tmp)
        tokens(tmp, db)
        read_only(tmp)
    print("ok")


if __name__ == "__main__":
    main()
