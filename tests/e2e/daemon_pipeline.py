"""100 pipelined requests answered with matching msgids; a request sent one
byte per write at 1 ms intervals; notifications get no reply."""
import os
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

QUERIES = ["lyonbiopole", "sante", "innovation", "Santé", "\"pôles de compétitivité\"",
           "Lyonbiopole OR Eurobiomed", "sante NOT lyon", "title:sante", "medic*", "France"]


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, args=["--workers", "2"]) as d:
            with d.client() as c:
                # Reference answers, one at a time.
                ref = {}
                for q in QUERIES:
                    err, r = c.call("search", {"q": q, "snippet": False})
                    check(err is None, "search %r: %r" % (q, err))
                    ref[q] = [h["id"] for h in r["hits"]]
                # 100 pipelined requests in one write, mixed methods.
                blob = b""
                want = {}
                for i in range(100):
                    msgid = 1000 + i
                    if i % 10 == 9:
                        blob += msgpack.packb([0, msgid, "ping", [{}]])
                        want[msgid] = "pong"
                    else:
                        q = QUERIES[i % len(QUERIES)]
                        blob += msgpack.packb([0, msgid, "search", [{"q": q, "snippet": False}]])
                        want[msgid] = q
                    if i == 50:   # a notification in the middle: no reply
                        blob += msgpack.packb([2, "ping", [{}]])
                        blob += msgpack.packb([2, "nosuch", [{}]])
                c.send(blob)
                got = {}
                while len(got) < 100:
                    msg = c.recv(timeout=20)
                    check(msg is not None, "EOF after %d answers" % len(got))
                    check(msg[0] == 1 and msg[1] in want and msg[1] not in got,
                          "unexpected message %r" % (msg[:2],))
                    got[msg[1]] = msg
                for msgid, m in got.items():
                    check(m[2] is None, "msgid %d: error %r" % (msgid, m[2]))
                    if want[msgid] == "pong":
                        check(m[3] == "pong", "ping answer %r" % (m[3],))
                    else:
                        ids = [h["id"] for h in m[3]["hits"]]
                        check(ids == ref[want[msgid]], "msgid %d: different hits" % msgid)
                # Nothing more (the notifications were not answered).
                c.send(msgpack.packb([0, 7, "ping", [{}]]))
                m = c.recv()
                check(m == [1, 7, None, "pong"], "extra message after pipeline: %r" % (m,))
            # One byte per write at 1 ms.
            with d.client() as c:
                c.sock.setsockopt(__import__("socket").IPPROTO_TCP,
                                  __import__("socket").TCP_NODELAY, 1)
                req = msgpack.packb([0, 4242, "search", [{"q": "lyonbiopole", "snippet": False}]])
                t0 = time.monotonic()
                for b in req:
                    c.send(bytes([b]))
                    time.sleep(0.001)
                m = c.recv()
                check(m[0] == 1 and m[1] == 4242 and m[2] is None, "byte-wise request: %r" % (m,))
                check([h["id"] for h in m[3]["hits"]] == ref["lyonbiopole"],
                      "byte-wise request: different hits")
                print("one byte per write: %d bytes in %.2f s" % (len(req), time.monotonic() - t0))
            check(d.stop() == 0, "exit status after SIGTERM")
    print("ok")


if __name__ == "__main__":
    main()
