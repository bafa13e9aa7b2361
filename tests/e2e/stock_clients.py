"""Stock MessagePack-RPC clients that nobody here wrote, unchanged, against
the real daemon:

- Neovim's Python client (Debian python3-pynvim): pynvim.msgpack_rpc's
  tcp_session and socket_session.  On connect they send a notification
  whose method name is packed as MessagePack bin (nvim_set_client_info);
  it must be ignored, not answered, and the connection must stay open.
- The npm package msgpack5rpc under node (tests/e2e/node, installed by
  scripts/install-deps); skipped with a message when node or the package
  is absent.

Each client does ping, add, search, get, stats and an unknown method
(error map with code unknown_method), and the connection survives it.
Also: broken notifications of every kind on a raw socket are never
answered and never close the connection; a request whose method is bin
is answered like str."""
import os
import shutil
import subprocess
import sys

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

HERE = os.path.dirname(os.path.abspath(__file__))


def pynvim_session(kind, d):
    try:
        from pynvim import msgpack_rpc
    except ImportError:
        pstest.fail("python3-pynvim is not installed (scripts/install-deps installs it)")
    if kind == "tcp":
        s = msgpack_rpc.tcp_session(d.addr[0], d.addr[1])
    else:
        s = msgpack_rpc.socket_session(d.socket_path)
    # pynvim's Nvim class sets this; a bare Session needs it to raise.
    s.error_wrapper = lambda e: RuntimeError(e)
    return s


def test_pynvim(d, kind):
    s = pynvim_session(kind, d)
    try:
        check(s.request("ping", {}) == "pong", "pynvim %s: ping" % kind)
        doc_id = "pynvim-%s" % kind
        r = s.request("add", {"docs": [{
            "id": doc_id, "title": "Pynvim %s client" % kind, "lang": "fr",
            "body": "Le pôle de compétitivité Lyonbiopôle, ajouté par pynvim."}]})
        check(r["added"] == 1 and r["rejected"] == [], "pynvim %s: add %r" % (kind, r))
        r = s.request("search", {"q": "lyonbiopole", "limit": 20})
        ids = [h["id"] for h in r["hits"]]
        check(r["total"] >= 1 and doc_id in ids, "pynvim %s: search %r" % (kind, ids))
        r = s.request("get", {"id": doc_id})
        check(r["lang"] == "fr" and r["title"] == "Pynvim %s client" % kind,
              "pynvim %s: get %r" % (kind, r))
        r = s.request("stats", {})
        check(r["documents"] >= 6, "pynvim %s: stats documents %r" % (kind, r["documents"]))
        try:
            s.request("no_such_method", {})
            pstest.fail("pynvim %s: unknown method did not raise" % kind)
        except RuntimeError as e:
            err = e.args[0]
            check(isinstance(err, dict) and err.get("code") == "unknown_method",
                  "pynvim %s: error %r" % (kind, err))
        # A notification the client sends later is not answered either.
        s.request("search", {"q": "x"}, async_=True)
        check(s.request("ping", {}) == "pong", "pynvim %s: ping after errors" % kind)
    finally:
        s.close()
    print("pynvim %s_session: ping, add, search, get, stats, error ok" % kind)


def test_node(d):
    node = shutil.which("node")
    mod = os.path.join(HERE, "node", "node_modules", "msgpack5rpc")
    if not node:
        print("SKIP node client: node is not installed")
        return
    if not os.path.isdir(mod):
        print("SKIP node client: %s missing (scripts/install-deps runs npm ci "
              "in tests/e2e/node)" % mod)
        return
    script = os.path.join(HERE, "node", "stock_client.js")
    for args in (["tcp", d.addr[0], str(d.addr[1])], ["unix", d.socket_path]):
        # Each run adds the same id: the second one replaces it.
        r = subprocess.run([node, script] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        out = r.stdout.decode(errors="replace")
        check(r.returncode == 0, "node msgpack5rpc %s: exit %d\n%s%s" %
              (args[0], r.returncode, out, r.stderr.decode(errors="replace")))
        print("node msgpack5rpc over %s: %d steps ok" % (args[0], out.count('"ok":true')))


def test_raw_notifications(d):
    bad = [
        [2, b"nvim_set_client_info", ["python", {}, "remote", {}, {}]],
        [2, "no_such_method", [{}]],
        [2, 7, [{}]],                       # method not a string
        [2, b"\xff\xfe", []],               # bin that is not UTF-8
        [2, "search", "not an array"],      # params not an array
        [2, "search", [{"q": 5}]],          # bad params of a real method
        [2, "add", [{"docs": [{"id": "ghost", "body": "never applied"}]}]],
        [2, "search"],                      # wrong element count
        [2, "a", [], "extra"],
    ]
    with d.client() as c:
        for i, m in enumerate(bad):
            c.send(msgpack.packb(m, use_bin_type=True))
            # The next request is answered first: nothing came for m.
            c.send(msgpack.packb([0, 100 + i, "ping", []]))
            r = c.recv(timeout=5)
            check(r == [1, 100 + i, None, "pong"],
                  "after notification %r: expected only the ping's answer, got %r" % (m, r))
        # A request whose method is bin is answered like str.
        c.send(msgpack.packb([0, 200, b"ping", []], use_bin_type=True))
        check(c.recv(timeout=5) == [1, 200, None, "pong"], "request with a bin method")
        c.send(msgpack.packb([0, 201, b"\xc3\x28", []], use_bin_type=True))
        r = c.recv(timeout=5)
        check(r[1] == 201 and r[2]["code"] == "bad_request", "bin method not UTF-8: %r" % (r,))
        err, res = c.call("get", {"id": "ghost"})
        check(err and err["code"] == "not_found", "an add sent as a notification was applied")
    print("broken notifications ignored, connection kept: %d cases" % len(bad))


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True) as d:
            test_raw_notifications(d)
            test_pynvim(d, "tcp")
            test_pynvim(d, "socket")
            test_node(d)
            check(d.stop() == 0, "exit status")
    print("ok")


if __name__ == "__main__":
    main()
