"""Alerts (subscribe, docs/PROTOCOL.md): every document made searchable by
`add` that matches a subscription is pushed once, in commit order, as a
[2, "match", [...]] notification on the subscriber's connection.

Usage: daemon_alerts.py MODE, MODE one of
  wal, nowal  matching and non-matching documents in several languages,
              exactly the right notifications once and in order; replace
              (replaced: true) and delete (nothing); unsubscribe; the list;
              close cleans up (stats) -- with the write-ahead log / --no-wal
  many        1,000 subscriptions on one connection; the per-connection and
              total limits (busy)
  slow        a subscriber that never reads while two others receive and a
              writer goes on: the others get everything; the slow one, once
              it reads, gets the matches before its gap, then one lagged
              notification (nothing after the gap before it: what it was
              not sent was dropped, not buffered) whose resume_from is the
              seq of its last match; subscribing again from there gets
              exactly the dropped ones, in order
  hostile     bad subscribe/unsubscribe arguments, unknown ids, another
              connection's id, query syntax, --read-only, a shard set
  stock       pynvim's msgpack_rpc session receives the notifications

"Exactly" without timing: each check adds a last document that matches a
sentinel subscription of the same connection; notifications come in commit
order, so when the sentinel's arrives every earlier one has arrived.
The daemon runs on an empty database (--create): no indexer needed."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msgpack

import pstest
from pstest import check

DOCS = {
    "fr-lyon": {"id": "fr-lyon", "lang": "fr", "date": "2024-03-01",
                "title": "Lyonbiopôle, un hub santé à l'échelle internationale",
                "body": "Le pôle de compétitivité Lyonbiopôle soutient les technologies "
                        "de santé et l'innovation en Auvergne-Rhône-Alpes.",
                "url": "https://example.org/lyon"},
    "de-lyon": {"id": "de-lyon", "lang": "de", "date": "2023-01-15",
                "title": "Lyonbiopôle und Medizintechnik",
                "body": "Der Cluster Lyonbiopôle fördert Innovationen in der "
                        "Gesundheitswirtschaft und die Technologie."},
    "en-medicen": {"id": "en-medicen", "lang": "en", "title": "Biotech cluster news",
                   "body": "The health cluster Medicen Paris Region announced new partners."},
    "fr-euro": {"id": "fr-euro", "lang": "fr", "date": "2024-06-01", "title": "Eurobiomed",
                "body": "Eurobiomed fédère les acteurs de la santé du sud de la France."},
    "en-other": {"id": "en-other", "lang": "en", "title": "Weather",
                 "body": "Rain is expected in the north tomorrow afternoon."},
    "es-otro": {"id": "es-otro", "lang": "es", "title": "Tiempo",
                "body": "Se espera lluvia en el norte mañana por la tarde."},
}

# name -> (subscribe arguments, ids of DOCS it matches)
SUBS = {
    "accents": ({"q": "SANTE"}, {"fr-lyon", "fr-euro"}),
    "german": ({"q": "Technologie", "name": "german"}, {"fr-lyon", "de-lyon"}),
    "lang": ({"q": "lyonbiopole", "lang": "de", "name": "lang"}, {"de-lyon"}),
    "phrase": ({"q": "\"hub santé\"", "name": "phrase"}, {"fr-lyon"}),
    "not": ({"q": "lyonbiopole NOT medizintechnik", "name": "not"}, {"fr-lyon"}),
    "date": ({"q": "santé", "date_from": "2024-05-01", "name": "date"}, {"fr-euro"}),
    "langq": ({"q": "lang:en cluster", "name": "langq"}, {"en-medicen"}),
    "none": ({"q": "zzzqqq", "name": "none"}, set()),
}


class SubClient(pstest.Client):
    """A client that keeps the notifications arriving between replies."""

    def __init__(self, addr, timeout=30.0, rcvbuf=None):
        if rcvbuf:
            # Set before connect so the window stays small: a client that
            # never reads fills up quickly.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect(addr)
            self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
            self.next_id = 1
        else:
            super().__init__(addr, timeout)
        self.notes = []

    def call(self, method, params=None, timeout=30.0):
        msgid = self.request(method, params)
        while True:
            msg = self.recv(timeout)
            if msg is None:
                raise ConnectionError("closed before the reply to %s" % method)
            if msg[0] == 2:
                self.notes.append(msg)
                continue
            check(msg[0] == 1 and msg[1] == msgid, "unexpected reply %r" % (msg,))
            return msg[2], msg[3]

    def until(self, pred, timeout=60.0):
        """Reads notifications until pred(note) holds for one; returns the
        notes read so far (the list is emptied)."""
        for i, m in enumerate(self.notes):
            if pred(m):
                out, self.notes = self.notes[:i + 1], self.notes[i + 1:]
                return out
        while True:
            msg = self.recv(timeout)
            check(msg is not None, "connection closed while waiting for a notification")
            check(msg[0] == 2, "unexpected message %r" % (msg,))
            self.notes.append(msg)
            if pred(msg):
                out, self.notes = self.notes, []
                return out


def subscribe(c, args):
    err, res = c.call("subscribe", args)
    check(err is None, "subscribe %r: %r" % (args, err))
    return res


def add(w, docs):
    err, res = w.call("add", {"docs": docs})
    check(err is None and not res["rejected"], "add: %r %r" % (err, res))
    return res


class Sentinel:
    """A subscription that matches only the sentinel documents, and the
    documents to end each check with."""

    def __init__(self, c):
        self.c = c
        self.sub = subscribe(c, {"q": "sentinelword", "name": "sentinel"})["subscription"]
        self.n = 0

    def flush(self, w):
        """Adds a sentinel document; returns every notification of c before
        the sentinel's (in arrival order)."""
        self.n += 1
        sid = "sentinel-%d" % self.n
        add(w, [{"id": sid, "lang": "en", "body": "sentinelword number %d" % self.n}])
        notes = self.c.until(lambda m: m[1] == "match" and m[2][0]["id"] == sid)
        last = notes.pop()
        check(last[2][0]["subscription"] == self.sub, "sentinel note %r" % (last,))
        return notes


def stats(c):
    err, st = c.call("stats")
    check(err is None, "stats: %r" % (err,))
    return st


def start(tmp, args=()):
    return pstest.Daemon(os.path.join(tmp, "db"), tmp, args=["--create"] + list(args))


def check_matches(notes, ids_by_name, what):
    """notes hold exactly one match per (name, id) of ids_by_name."""
    got = {}
    for m in notes:
        check(m[0] == 2 and m[1] == "match" and len(m[2]) == 1, "%s: note %r" % (what, m))
        n = m[2][0]
        key = (n["name"], n["id"])
        check(key not in got, "%s: %r pushed twice" % (what, key))
        got[key] = n
    want = {(name, i) for name, ids in ids_by_name.items() for i in ids}
    check(set(got) == want, "%s: got %s, want %s (extra %s, missing %s)" % (
        what, sorted(got), sorted(want), sorted(set(got) - want), sorted(want - set(got))))
    return got


def test_basic(wal):
    args = [] if wal else ["--no-wal"]
    with pstest.workdir() as tmp, start(tmp, args) as d:
        c = SubClient(d.addr)
        w = SubClient(d.addr)
        ids = {}
        for name, (a, _) in SUBS.items():
            r = subscribe(c, a)
            check(r["name"] == (a.get("name") or a["q"]), "name %r" % (r,))
            ids[name] = r["subscription"]
        check(len(set(ids.values())) == len(ids), "ids unique")
        sent = Sentinel(c)
        err, lst = c.call("subscriptions")
        check(err is None and [s["subscription"] for s in lst] ==
              list(ids.values()) + [sent.sub], "subscriptions list %r" % (lst,))
        check(lst[2]["lang"] == "de" and lst[5]["date_from"] == "2024-05-01" and
              lst[0]["q"] == "SANTE" and "lang" not in lst[0], "list fields %r" % (lst,))

        # Several adds, several languages, matching and not.
        order = ["en-other", "fr-lyon", "de-lyon", "es-otro", "en-medicen", "fr-euro"]
        add(w, [DOCS[i] for i in order[:3]])
        add(w, [DOCS[i] for i in order[3:]])
        notes = sent.flush(w)
        want = {(a.get("name") or a["q"]): i for a, i in SUBS.values()}
        got = check_matches(notes, want, "first adds")
        seqs = [m[2][0]["seq"] for m in notes]
        check(seqs == sorted(seqs), "commit order: seqs %r" % (seqs,))
        pos = {i: n for n, i in enumerate(order)}
        docs_in_order = [m[2][0]["id"] for m in notes]
        check([pos[i] for i in docs_in_order] == sorted(pos[i] for i in docs_in_order),
              "notes not in add order: %r" % (docs_in_order,))
        n = got[("SANTE", "fr-lyon")]
        check(n["subscription"] == ids["accents"] and n["lang"] == "fr" and
              n["title"] == DOCS["fr-lyon"]["title"] and n["url"] == DOCS["fr-lyon"]["url"] and
              n["date"] == "2024-03-01" and "replaced" not in n and
              "santé" in n["snippet"].lower(), "note fields %r" % (n,))
        check("url" not in got[("german", "de-lyon")], "no url when none")

        # Replace (still matching: replaced), replace with the same content
        # (unchanged: nothing), delete (nothing).
        new = dict(DOCS["fr-lyon"], body="Nouvelle version : la santé publique à Lyon.")
        add(w, [new, DOCS["en-medicen"]])
        err, res = w.call("delete", {"ids": ["fr-euro"]})
        check(err is None and res["deleted"] == 1, "delete %r" % (res,))
        notes = sent.flush(w)
        got = check_matches(notes, {"SANTE": {"fr-lyon"}, "phrase": {"fr-lyon"},
                                    "not": {"fr-lyon"}},
                            "replace and delete")
        check(got[("SANTE", "fr-lyon")].get("replaced") is True, "replaced flag")

        # Unsubscribe: nothing after its answer.
        err, res = c.call("unsubscribe", {"subscription": ids["accents"]})
        check(err is None and res == {"subscription": ids["accents"]}, "unsubscribe %r" % (res,))
        add(w, [dict(DOCS["fr-euro"], id="fr-euro-2")])
        notes = sent.flush(w)
        check_matches(notes, {"date": {"fr-euro-2"}}, "after unsubscribe")
        err, _ = c.call("unsubscribe", {"subscription": ids["accents"]})
        check(err and err["code"] == "not_found", "second unsubscribe %r" % (err,))

        st = stats(w)["alerts"]
        check(st["subscriptions"] == len(SUBS) and st["enabled"] == 1 and
              st["pushed"] >= 12 and st["dropped"] == 0 and st["groups"] >= 4,
              "stats %r" % (st,))
        check(stats(w)["limits"]["max_subscriptions"] == 100000, "limits")
        # Close: its subscriptions go.
        c.close()
        for _ in range(500):
            if stats(w)["alerts"]["subscriptions"] == 0:
                break
            w.call("ping")
        check(stats(w)["alerts"]["subscriptions"] == 0, "subscriptions left after close")
        add(w, [dict(DOCS["fr-lyon"], id="after-close")])
        check(d.alive(), "daemon died")
        w.close()
        check(d.stop() == 0, "exit status")
    print("%s: exact notifications, replace, delete, unsubscribe, close ok" %
          ("wal" if wal else "no-wal"))


def test_many():
    with pstest.workdir() as tmp, start(tmp, ["--max-subscriptions-per-conn", "1000",
                                              "--max-subscriptions", "1500"]) as d:
        c = SubClient(d.addr)
        w = SubClient(d.addr)
        sent = Sentinel(c)
        names = {}
        for i in range(999):
            r = subscribe(c, {"q": "w%dx" % i, "name": "n%d" % i})
            names[r["subscription"]] = i
        err, _ = c.call("subscribe", {"q": "one too many"})
        check(err and err["code"] == "busy", "1001st subscription: %r" % (err,))
        body = " ".join("w%dx" % i for i in range(0, 999, 100)) + " and more"
        add(w, [{"id": "many", "lang": "en", "body": body}])
        notes = sent.flush(w)
        check(sorted(names[m[2][0]["subscription"]] for m in notes) ==
              list(range(0, 999, 100)), "1,000 subscriptions: %r" % (
                  [m[2][0]["name"] for m in notes],))
        # The total limit: 1000 on c, 500 more on another connection.
        c2 = SubClient(d.addr)
        for i in range(500):
            subscribe(c2, {"q": "y%d" % i})
        err, _ = c2.call("subscribe", {"q": "over the total"})
        check(err and err["code"] == "busy", "subscription over the total: %r" % (err,))
        c2.close()
        for _ in range(500):
            if stats(w)["alerts"]["subscriptions"] == 1000:
                break
        err, res = w.call("subscribe", {"q": "room again"})
        check(err is None, "room after a close: %r" % (err,))
        check(stats(w)["alerts"]["subscriptions"] == 1001, "count")
        check(d.stop() == 0, "exit status")
    print("1,000 subscriptions on one connection, limits ok")


def kernel_send_max():
    """The most a TCP socket's send buffer grows to (tcp_wmem's max)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 << 20


def test_slow():
    # Notifications of about 2.3 KB; far more of them than the kernel's
    # buffers (the daemon's send buffer at its largest, the client's small
    # receive buffer) and the daemon's queue can hold, so drops are certain
    # whatever the timing.
    cap = 512 << 10
    batch = 100
    title = "Common health clusters of the region. " * 52
    ndocs = max(6000, (3 * (kernel_send_max() + cap) // 2000) // batch * batch + batch)
    # --deadline 120s: nothing searches while the 6,000+ documents go in,
    # so the first stats call makes a worker apply them all to its copy of
    # the write-ahead log's delta (seconds on a loaded machine, more under
    # ASan; bench/RESULTS.md, write-profile), which the default 10 s
    # deadline does not always cover.
    with pstest.workdir() as tmp, start(tmp, ["--max-notify-queue", str(cap),
                                              "--deadline", "120s"]) as d:
        slow = SubClient(d.addr, rcvbuf=4096)
        r = subscribe(slow, {"q": "common", "name": "slow"})
        slow_id = r["subscription"]
        others = []
        for k in range(2):
            o = SubClient(d.addr)
            subscribe(o, {"q": "common", "name": "fast%d" % k})
            others.append((o, Sentinel(o)))
        w = SubClient(d.addr)
        text = "A common word in a long enough article about health clusters. " * 3
        for b in range(0, ndocs, batch):
            add(w, [{"id": "d%05d" % i, "lang": "en",
                     "title": "Article %d: %s" % (i, title),
                     "body": text} for i in range(b, b + batch)])
            # The others keep receiving while the slow one reads nothing.
            for o, _ in others:
                o.until(lambda m: m[2][0]["id"] == "d%05d" % (b + batch - 1))
        for o, s in others:
            notes = s.flush(w)
            check(notes == [], "fast subscriber: unexpected %r" % (notes[:2],))
            o.close()
        st = stats(w)["alerts"]
        check(st["dropped"] > 0, "nothing dropped for the slow subscriber: %r" % (st,))
        # Now the slow one reads: its matches up to the gap, then one lagged
        # notification for everything after it (nothing after a gap comes
        # before its lagged notification), naming the seq before the gap.
        got, seqs = [], []
        while True:
            m = slow.recv(60)
            check(m is not None and m[0] == 2, "slow subscriber: %r" % (m,))
            n = m[2][0]
            check(n["subscription"] == slow_id, "slow: %r" % (n,))
            if m[1] != "match":
                break
            got.append(n["id"])
            seqs.append(n["seq"])
        check(m[1] == "lagged" and n["dropped"] > 0 and "resume_from" in n, "slow: %r" % (m,))
        dropped, resume_from = n["dropped"], n["resume_from"]
        want = ["d%05d" % i for i in range(ndocs)]
        check(got == want[:len(got)] and len(got) + dropped == ndocs,
              "received %d + dropped %d != %d, or not the first ones in order" %
              (len(got), dropped, ndocs))
        check(not seqs or seqs[-1] == resume_from,
              "resume_from %d is not the seq of the last match sent (%r)" % (resume_from,
                                                                            seqs[-1:]))
        st = stats(w)["alerts"]
        check(st["lagged"] >= 1 and st["dropped"] == dropped, "stats %r" % (st,))
        # Resuming from there gets exactly the dropped ones, in order.
        r = subscribe(slow, {"q": "common", "name": "slow", "resume_from": resume_from})
        err, _ = slow.call("unsubscribe", {"subscription": slow_id})
        check(err is None, "unsubscribe the lagging one: %r" % (err,))
        rest = [m for m in slow.notes if m[2][0]["subscription"] == r["subscription"]]
        slow.notes = []
        while len(rest) < dropped:
            m = slow.recv(60)
            check(m is not None and m[0] == 2, "resumed: %r" % (m,))
            if m[2][0]["subscription"] == r["subscription"]:
                rest.append(m)
        check(all(m[1] == "match" for m in rest) and
              got + [m[2][0]["id"] for m in rest] == want,
              "after the resume: not every match once, in order")
        check(d.stop() == 0, "exit status")
    print("slow subscriber: %d received, then a lagged notification for %d (resume_from "
          "%d); the resume sent those %d in order; others got all %d" %
          (len(got), dropped, resume_from, dropped, ndocs))


def test_hostile():
    with pstest.workdir() as tmp, start(tmp, ["--max-query", "64"]) as d:
        c = SubClient(d.addr)
        bad = [
            ({}, "bad_request"),
            ({"q": 5}, "bad_request"),
            ({"q": "x", "lang": 3}, "bad_request"),
            ({"q": "x", "name": ["a"]}, "bad_request"),
            ({"q": "x", "durable": True}, "bad_request"),
            ({"q": "x", "lang": "xx"}, "bad_request"),
            ({"q": "x", "date_from": "yesterday"}, "bad_request"),
            ({"q": "x" * 65}, "too_large"),
            ({"q": "x", "name": "n" * 65}, "too_large"),
            ({"q": "NOT santé"}, "query_syntax"),
        ]
        for args, code in bad:
            err, res = c.call("subscribe", args)
            check(err and err["code"] == code, "subscribe %r: %r (want %s)" % (args, err, code))
        c.send(msgpack.packb([0, 900, "subscribe", "not an array"]))
        check(c.recv(5)[2]["code"] == "bad_request", "params not an array")
        for args, code in [({}, "bad_request"), ({"subscription": "1"}, "bad_request"),
                           ({"subscription": -1}, "bad_request"),
                           ({"subscription": 12345}, "not_found")]:
            err, _ = c.call("unsubscribe", args)
            check(err and err["code"] == code, "unsubscribe %r: %r" % (args, err))
        # Another connection's subscription is not ours to remove.
        other = SubClient(d.addr)
        sid = subscribe(other, {"q": "santé"})["subscription"]
        err, _ = c.call("unsubscribe", {"subscription": sid})
        check(err and err["code"] == "not_found", "foreign unsubscribe: %r" % (err,))
        # As a notification: ignored, nothing registered.
        c.send(msgpack.packb([2, "subscribe", [{"q": "santé"}]]))
        err, lst = c.call("subscriptions")
        check(err is None and lst == [], "subscriptions after errors: %r" % (lst,))
        check(stats(c)["alerts"]["subscriptions"] == 1, "only the other's")
        err, res = c.call("subscriptions", {"x": 1})
        check(err and err["code"] == "bad_request", "subscriptions with an argument")
        check(d.stop() == 0, "exit status")
    with pstest.workdir() as tmp:
        with start(tmp) as d:
            d.stop()
        with pstest.Daemon(os.path.join(tmp, "db"), tmp, args=["--read-only"]) as d:
            c = SubClient(d.addr)
            err, _ = c.call("subscribe", {"q": "santé"})
            check(err and err["code"] == "unavailable", "read-only: %r" % (err,))
            check(stats(c)["alerts"]["enabled"] == 0, "read-only: alerts disabled")
            d.stop()
    # A shard set (a SHARDS file and shard-0, shard-1): unavailable too.
    with pstest.workdir() as tmp:
        top = os.path.join(tmp, "set")
        os.mkdir(top)
        for i in range(2):
            with pstest.Daemon(os.path.join(top, "shard-%d" % i), tmp,
                               args=["--create"]) as d:
                check(d.stop() == 0, "creating shard %d" % i)
        with open(os.path.join(top, "SHARDS"), "w") as f:
            f.write("2\n")
        with pstest.Daemon(top, tmp) as d:
            c = SubClient(d.addr)
            err, _ = c.call("subscribe", {"q": "santé"})
            check(err and err["code"] == "unavailable" and "shard" in err["message"],
                  "shard set: %r" % (err,))
            check(stats(c)["alerts"]["enabled"] == 0, "shard set: alerts disabled")
            d.stop()
    print("hostile subscribe/unsubscribe arguments refused with their codes; "
          "--read-only and a shard set answer unavailable")


def test_stock():
    try:
        from pynvim import msgpack_rpc
    except ImportError:
        pstest.fail("python3-pynvim is not installed (scripts/install-deps installs it)")
    import signal
    signal.alarm(120)   # pynvim's next_message has no timeout
    with pstest.workdir() as tmp, start(tmp) as d:
        s = msgpack_rpc.tcp_session(d.addr[0], d.addr[1])
        s.error_wrapper = lambda e: RuntimeError(e)
        try:
            r = s.request("subscribe", {"q": "Lyonbiopôle", "name": "pynvim"})
            check(r["name"] == "pynvim", "pynvim subscribe %r" % (r,))
            w = SubClient(d.addr)
            add(w, [DOCS["en-other"], DOCS["fr-lyon"]])
            msg = s.next_message()
            check(msg[0] == "notification" and msg[1] == "match", "pynvim got %r" % (msg,))
            n = msg[2][0]
            check(n["id"] == "fr-lyon" and n["subscription"] == r["subscription"] and
                  n["name"] == "pynvim", "pynvim notification %r" % (n,))
            check(s.request("unsubscribe", {"subscription": r["subscription"]}) ==
                  {"subscription": r["subscription"]}, "pynvim unsubscribe")
            check(s.request("subscriptions", {}) == [], "pynvim list")
        finally:
            s.close()
        check(d.stop() == 0, "exit status")
    signal.alarm(0)
    print("pynvim msgpack_rpc session: subscribe, match notification, unsubscribe ok")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "wal"
    {"wal": lambda: test_basic(True), "nowal": lambda: test_basic(False),
     "many": test_many, "slow": test_slow, "hostile": test_hostile,
     "stock": test_stock}[mode]()
    print("ok")


if __name__ == "__main__":
    main()
