"""e2e: polysearch-index --server ADDR against a scripted MessagePack-RPC
server (the add/delete methods as docs/PROTOCOL.md will define them):
inputs parsed as in local mode, batches of at most --batch (capped at
1000), per-document rejections reported with FILE:LINE and counted failed
(exit 65), busy retried, a daemon without add (69), an unreachable daemon
(69 naming the address), usage errors (64), and --watch DIR --server ADDR
sending adds and deletes.

Environment: PS_INDEXER.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import msgpack

PSI = os.environ.get("PS_INDEXER", "")
if not PSI or not os.access(PSI, os.X_OK):
    print("SKIP: PS_INDEXER not set", file=sys.stderr)
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg)


class FakeDaemon:
    """Answers ping, add and delete like polysearchd; records every call.
    mode: "ok", "busy_once" (first add answered busy), "unknown" (add is
    unknown_method)."""

    def __init__(self, mode="ok"):
        self.mode = mode
        self.calls = []
        self.store = {}
        self.lock = threading.Lock()
        self.busy_sent = False
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.stopping = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def close(self):
        self.stopping = True
        self.srv.close()

    def accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        unp = msgpack.Unpacker(raw=False)
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                unp.feed(data)
                for msg in unp:
                    _, msgid, method, params = msg
                    args = params[0] if params else {}
                    ans = self.answer(method, args)
                    if ans is None:
                        return
                    conn.sendall(msgpack.packb([1, msgid] + ans))

    def answer(self, method, args):
        with self.lock:
            self.calls.append((method, args))
            if method == "ping":
                return [None, "pong"]
            if method == "add" and (self.mode == "drop_always" or
                                    (self.mode == "drop_once" and not self.busy_sent)):
                self.busy_sent = True
                return None             # close without answering
            if method == "add" and self.mode == "unknown":
                return [{"code": "unknown_method", "message": "no method add"}, None]
            if method == "add" and self.mode == "busy_once" and not self.busy_sent:
                self.busy_sent = True
                return [{"code": "busy", "message": "queue full"}, None]
            if method == "add":
                res = {"added": 0, "replaced": 0, "unchanged": 0, "rejected": []}
                for i, d in enumerate(args["docs"]):
                    if "REJECT" in d["body"]:
                        res["rejected"].append({"index": i, "id": d["id"],
                                                "reason": "scripted rejection"})
                    elif d["id"] not in self.store:
                        res["added"] += 1
                    elif self.store[d["id"]] == d["body"]:
                        res["unchanged"] += 1
                    else:
                        res["replaced"] += 1
                    if "REJECT" not in d["body"]:
                        self.store[d["id"]] = d["body"]
                return [None, res]
            if method == "delete":
                found = [i for i in args["ids"] if i in self.store]
                for i in found:
                    del self.store[i]
                return [None, {"deleted": len(found),
                               "not_found": len(args["ids"]) - len(found)}]
            return [{"code": "unknown_method", "message": method}, None]

    def adds(self):
        with self.lock:
            return [a["docs"] for m, a in self.calls if m == "add"]

    def deletes(self):
        with self.lock:
            return [a["ids"] for m, a in self.calls if m == "delete"]


def run(args, stdin=None, timeout=30):
    r = subprocess.run([PSI] + args, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main(tmp):
    d = os.path.join(tmp, "in")
    write(os.path.join(d, "a.txt"), "First article\n\nHealth research in Lyon.\n")
    write(os.path.join(d, "sub", "b.md"), "Zweiter Artikel\n\nForschung.\n")
    write(os.path.join(d, "empty.txt"), "")
    jl = os.path.join(tmp, "docs.jsonl")
    write(jl, '{"id":"j1","title":"T1","body":"one","lang":"en"}\n'
              '{"id":"j2","body":"two","url":"http://x/2"}\n'
              '{"id":"jrej","body":"REJECT me"}\n'
              '{"id": broken\n')

    fake = FakeDaemon()
    rc, out, err = run(["--server", fake.addr, "--batch", "2", "--verbose", d, jl])
    check(rc == 65, "rejected and malformed documents: exit 65 (got %d: %s)" % (rc, err))
    check("added 4, updated 0, unchanged 0, deleted 0, skipped 1, failed 2" in out,
          "summary counts the daemon's answers: " + out.strip())
    check("docs.jsonl:3: document \"jrej\" rejected by the daemon at " + fake.addr in err
          and "scripted rejection" in err, "rejection names FILE:LINE, id and reason")
    check("docs.jsonl:4" in err, "malformed line warned as in local mode")
    check("empty.txt: empty file: skipped" in err, "empty file skipped as in local mode")
    adds = fake.adds()
    check(adds and max(len(b) for b in adds) <= 2, "batches of at most --batch 2: %s"
          % [len(b) for b in adds])
    ids = sorted(x["id"] for b in adds for x in b)
    check(ids == ["a", "j1", "j2", "jrej", "sub/b"], "ids as in local mode: %s" % ids)
    docs = {x["id"]: x for b in adds for x in b}
    check(docs["a"].get("title") is None and docs["a"]["body"].startswith("First article"),
          "file title left to the daemon, body sent whole")
    check(docs["j1"].get("title") == "T1" and docs["j1"].get("lang") == "en"
          and docs["j2"].get("url") == "http://x/2", "JSON fields passed through")
    check(err.count("committed ") == len(adds), "one commit log per answered batch")

    # The same run again: the daemon says unchanged.
    rc, out, err = run(["--server", fake.addr, d, jl])
    check(rc == 65 and "added 0, updated 0, unchanged 4," in out,
          "rerun: unchanged as answered: " + out.strip())
    # stdin, and a replaced document.
    rc, out, err = run(["--server", fake.addr, "-"],
                       stdin=b'{"id":"j1","body":"one, edited"}\n')
    check(rc == 0 and "added 0, updated 1," in out, "stdin: replaced: " + out.strip())

    # A large batch is capped at 1000 documents per call.
    big = os.path.join(tmp, "big.jsonl")
    with open(big, "w") as f:
        for i in range(2500):
            f.write('{"id":"n%d","body":"number %d"}\n' % (i, i))
    n0 = len(fake.adds())
    rc, out, err = run(["--server", fake.addr, "--batch", "100000", big])
    sizes = [len(b) for b in fake.adds()[n0:]]
    check(rc == 0 and sum(sizes) == 2500 and max(sizes) <= 1000,
          "--batch capped at 1000 per call: %s" % sizes)
    fake.close()

    # busy once: retried.
    fake = FakeDaemon("busy_once")
    rc, out, err = run(["--server", fake.addr, d])
    check(rc == 0 and "added 2," in out and fake.busy_sent, "busy answer retried: " + out.strip())
    fake.close()

    # The connection drops before the answer: reconnect once and resend
    # (add replaces by id, so a repeat is harmless); twice: exit 69.
    fake = FakeDaemon("drop_once")
    rc, out, err = run(["--server", fake.addr, d])
    check(rc == 0 and "added 2," in out and len(fake.adds()) == 2,
          "dropped connection: batch resent once: " + out.strip())
    fake.close()
    fake = FakeDaemon("drop_always")
    rc, out, err = run(["--server", fake.addr, d])
    check(rc == 69 and "lost the connection to the daemon at " + fake.addr in err
          and "not confirmed" in err, "connection lost twice: exit 69 (%d)" % rc)
    fake.close()

    # A daemon without add.
    fake = FakeDaemon("unknown")
    rc, out, err = run(["--server", fake.addr, d])
    check(rc == 69 and "does not support adding" in err, "daemon without add: exit 69 (%d)" % rc)
    fake.close()

    # Unreachable: a port nobody listens on.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = run(["--server", "127.0.0.1:%d" % port, d])
    check(rc == 69 and "127.0.0.1:%d" % port in err and out == "",
          "unreachable daemon: exit 69 naming the address (%d: %s)" % (rc, err.strip()))

    # Usage errors.
    rc, out, err = run(["--server", "127.0.0.1:%d" % port, "--prune", d])
    check(rc == 64 and "--prune cannot be used with --server" in err, "--prune --server: 64")
    rc, out, err = run(["--server", "127.0.0.1:%d" % port, "--db", tmp, d])
    check(rc == 64, "--db --server: 64")
    rc, out, err = run(["--server", "127.0.0.1:%d" % port, "--query", "x"])
    check(rc == 64, "--query --server: 64")

    # --watch with --server: adds and deletes reach the daemon.
    fake = FakeDaemon()
    w = os.path.join(tmp, "w")
    write(os.path.join(w, "first.txt"), "First\n\nWatched text.\n")
    errf = open(os.path.join(tmp, "watch.err"), "w+")
    p = subprocess.Popen([PSI, "--server", fake.addr, "--watch", w, "--settle", "200"],
                         stdout=subprocess.DEVNULL, stderr=errf)
    try:
        def wait_for(cond, what):
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                if cond():
                    return time.monotonic() - t0
                time.sleep(0.05)
            errf.seek(0)
            fail("%s within 5 s; log:\n%s" % (what, errf.read()))

        wait_for(lambda: any(x["id"] == "first" for b in fake.adds() for x in b),
                 "initial pass sent first")
        write(os.path.join(w, "sub", "new.md"), "New\n\nA new watched file.\n")
        t = wait_for(lambda: any(x["id"] == "sub/new" for b in fake.adds() for x in b),
                     "new file sent")
        check(True, "watch --server: new file sent after %.0f ms" % (t * 1000))
        os.unlink(os.path.join(w, "first.txt"))
        t = wait_for(lambda: ["first"] in fake.deletes(), "delete sent")
        check(True, "watch --server: deletion sent after %.0f ms" % (t * 1000))
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
        check(rc == 0, "watch --server: SIGTERM -> exit 0 (%d)" % rc)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        fake.close()
        errf.close()


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="psremote")
    try:
        main(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("all checks passed")
