"""e2e: the polysearch CLI (and so libpolysearch-client) against a scripted
MessagePack-RPC server, for the answers a healthy daemon rarely gives:
no reply (timeout, exit 75), busy (75), internal error (70), a reply with a
huge declared size or a garbage byte (76, rejected by the scanner before
unpacking), a closed connection (69), hostile text in results (no terminal
escapes reach a tty-less output), out-of-order replies.

Environment: PS_CLI.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import msgpack

CLI = os.environ.get("PS_CLI", "")
if not CLI or not os.access(CLI, os.X_OK):
    print("SKIP: PS_CLI not set", file=sys.stderr)
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


HOSTILE = {"total": 1, "took_us": 5, "hits": [{
    "id": "evil\x1b[2J", "title": "\x1b]0;owned\x07Title", "lang": "en", "score": 1.5,
    "rank": 1, "snippet": "safe \x1b[31mred\x1b[0m text", "highlights": [[0, 4]]}]}


ADDS = []


def answer(conn, msgid, method, args):
    """Sends the scripted reply for one request; returns False to close."""
    q = args.get("q", "") if isinstance(args, dict) else ""
    if method == "add":
        docs = args["docs"]
        ADDS.append(docs)
        rej = [{"index": i, "reason": "scripted rejection"} for i, d in enumerate(docs)
               if "REJECT" in d["body"]]
        conn.sendall(msgpack.packb([1, msgid, None, {
            "added": len(docs) - len(rej), "replaced": 0, "unchanged": 0, "rejected": rej}]))
    elif method == "delete":
        conn.sendall(msgpack.packb([1, msgid, None, {"deleted": len(args["ids"]) - 1,
                                                      "not_found": 1}]))
    elif method == "ping":
        conn.sendall(msgpack.packb([1, msgid, None, "pong"]))
    elif q == "slow":
        time.sleep(3)
    elif q in ("internal", "busy", "timeout", "whatever"):
        conn.sendall(msgpack.packb([1, msgid, {"code": q, "message": "scripted " + q}, None]))
    elif q == "huge":
        # [1, msgid, nil, str32 of 256 MiB]: only the header is sent.
        conn.sendall(b"\x94\x01" + msgpack.packb(msgid) + b"\xc0\xdb\x10\x00\x00\x00abc")
    elif q == "garbage":
        conn.sendall(b"\xc1\xc1\xc1")
    elif q == "close":
        return False
    elif q == "hostile":
        conn.sendall(msgpack.packb([1, msgid, None, HOSTILE]))
    elif q == "wrongid":
        conn.sendall(msgpack.packb([1, msgid + 1000, None, HOSTILE]))
    else:
        conn.sendall(msgpack.packb([1, msgid, {"code": "bad_request", "message": "unexpected"},
                                    None]))
    return True


def serve(srv, stop):
    srv.settimeout(0.1)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn, stop), daemon=True).start()


def handle(conn, stop):
    unp = msgpack.Unpacker(raw=False, max_buffer_size=1 << 20)
    conn.settimeout(0.2)
    try:
        while not stop.is_set():
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            unp.feed(data)
            for m in unp:
                args = m[3][0] if m[3] else {}
                if not answer(conn, m[1], m[2], args):
                    return
    except OSError:
        pass
    finally:
        conn.close()


def run(args, server, timeout=20, stdin=None):
    r = subprocess.run([CLI, "--server", server] + args, stdout=subprocess.PIPE, input=stdin,
                       stderr=subprocess.PIPE, timeout=timeout,
                       env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def test_add(addr):
    """polysearch add: JSON Lines, text files, stdin, batching, rejections."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pscadd", dir="/tmp") as tmp:
        txt = os.path.join(tmp, "note-one.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("Titre\n\nCorps du texte, sant\u00e9.\n")
        bad = os.path.join(tmp, "bin.txt")
        with open(bad, "wb") as f:
            f.write(b"abc\x00\xff")
        jl = os.path.join(tmp, "many.jsonl")
        with open(jl, "w", encoding="utf-8") as f:
            for i in range(1500):
                body = "REJECT me" if i == 1200 else "doc %d" % i
                f.write(json.dumps({"id": "d%d" % i, "body": body}) + "\n")
        del ADDS[:]
        rc, out, err = run(["add", txt, jl, bad, os.path.join(tmp, "missing.txt")], addr)
        check(rc == 65, "add with rejections/bad files: exit %d %r" % (rc, err))
        check(out == "added 1500, replaced 0, unchanged 0, rejected 1, invalid input 2\n",
              "add summary %r" % out)
        check("many.jsonl:1201: document 'd1200' rejected: scripted rejection" in err, err)
        check('bin.txt: "body" is not valid UTF-8' in err and "missing.txt: cannot open" in err, err)
        sizes = [len(b) for b in ADDS]
        check(sum(sizes) == 1501 and max(sizes) <= 1000 and len(sizes) >= 2, "batches %r" % sizes)
        check(ADDS[0][0] == {"id": "note-one", "body": "Titre\n\nCorps du texte, sant\u00e9.\n"},
              "text file document %r" % ADDS[0][0])
        rc, out, err = run(["--json", "add", "-"], addr,
                           stdin=b'{"id":"s1","body":"x","lang":"fr","date":"2024-01-02"}\n')
        res = json.loads(out)
        check(rc == 0 and res["added"] == 1 and res["rejected"] == [] and res["invalid"] == [],
              "stdin add %d %r" % (rc, out))
        check(ADDS[-1] == [{"id": "s1", "body": "x", "lang": "fr", "date": "2024-01-02"}],
              "stdin doc %r" % ADDS[-1])
        rc, out, err = run(["add", "-"], addr, stdin=b'{"body":"no id"}\n[1]\n')
        check(rc == 65 and "<stdin>:1: missing \"id\"" in err and "<stdin>:2: not a JSON object" in err,
              "stdin bad lines %d %r" % (rc, err))
        rc, out, err = run(["delete", "a", "b"], addr)
        check(rc == 0 and out == "deleted 1, not found 1\n", "delete %r" % out)


def main():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    addr = "127.0.0.1:%d" % srv.getsockname()[1]
    stop = threading.Event()
    t = threading.Thread(target=serve, args=(srv, stop), daemon=True)
    t.start()
    try:
        rc, out, err = run(["ping"], addr)
        check(rc == 0 and out.startswith("pong"), "ping: %d %r %r" % (rc, out, err))

        t0 = time.monotonic()
        rc, out, err = run(["--timeout", "300ms", "search", "slow"], addr)
        took = time.monotonic() - t0
        check(rc == 75, "no reply: exit %d (%s)" % (rc, err))
        check("within 300 ms" in err and took < 2.5, "timeout message %r after %.2f s" % (err, took))

        for q, code in (("busy", 75), ("timeout", 75), ("internal", 70), ("whatever", 70)):
            rc, out, err = run(["search", q], addr)
            check(rc == code, "%s: exit %d, expected %d (%s)" % (q, rc, code, err))
            check("scripted " + q in err and "(%s)" % q in err, "%s message %r" % (q, err))
            rc, out, err = run(["--json", "search", q], addr)
            check(json.loads(out)["error"]["code"] == q, "%s json %r" % (q, out))

        for q in ("huge", "garbage"):
            t0 = time.monotonic()
            rc, out, err = run(["search", q], addr)
            check(rc == 76, "%s reply: exit %d (%s)" % (q, rc, err))
            check(time.monotonic() - t0 < 5, "%s reply not rejected at once" % q)
            check("invalid reply" in err, "%s message %r" % (q, err))

        rc, out, err = run(["search", "close"], addr)
        check(rc == 69 and "closed the connection" in err, "closed: %d %r" % (rc, err))

        rc, out, err = run(["--timeout", "500ms", "search", "wrongid"], addr)
        check(rc == 75, "reply to another msgid must not be taken: exit %d %r" % (rc, err))

        rc, out, err = run(["search", "hostile"], addr)
        check(rc == 0, "hostile: exit %d %r" % (rc, err))
        check("\x1b" not in out and "\x07" not in out, "escape reached the output: %r" % out)
        check("Title" in out and "red" in out, "hostile text dropped entirely: %r" % out)
        rc, out, err = run(["--json", "search", "hostile"], addr)
        hit = json.loads(out)["hits"][0]
        check(hit["title"] == HOSTILE["hits"][0]["title"], "JSON keeps the exact text")

        test_add(addr)
    finally:
        stop.set()
        t.join(2)
        srv.close()
    print("cli_fake_server: OK")


if __name__ == "__main__":
    main()
