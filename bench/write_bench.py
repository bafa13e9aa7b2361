#!/usr/bin/env python3
"""write_bench.py: add throughput and time-to-visible of polysearchd while
searches run (issue 6).  Driver for bench/write_bench.sh.

Usage: write_bench.py PORT CORPUS.jsonl SECONDS BATCH OUT.md
       write_bench.py --delay-row LABEL PORT CORPUS.jsonl SECONDS BATCH OUT.md
         (only the 8-writer phase; appends one row of the --commit-delay
         comparison table to OUT.md)
       write_bench.py --phase LABEL PORT CORPUS.jsonl SECONDS BATCH WRITERS
                      SEARCHERS OUT.jsonl
         (one phase with WRITERS writing and SEARCHERS searching clients;
         appends its figures as one JSON line to OUT.jsonl: used by
         bench/shard_bench.sh --writes)

Phases (each SECONDS long, one process per client so the GIL does not
serialise them; everything on 127.0.0.1):
  1. 8 searching clients, no writes: search p50/p99 baseline.
  2. 8 searching clients + 1 writing client.
  3. 8 searching clients + 8 writing clients.
A writing client sends add calls of BATCH documents taken from the corpus
(ids made unique per phase and client) plus one sentinel document with a
unique word; after each ack it searches for the sentinel on a second
connection until it is found: that delay is the time-to-visible (it
includes one search round trip).  Writes a markdown table to OUT.md.
"""
import json
import multiprocessing as mp
import os
import socket
import sys
import time

import msgpack

QUERIES = ["innovation", "santé", "health", "gesundheit", "europa", "economia",
           "politique", "wasser", "school", "energía", "lyonbiopole", "climate"]


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.u = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.mid = 0

    def call(self, method, params):
        self.mid += 1
        self.s.sendall(msgpack.packb([0, self.mid, method, [params]]))
        while True:
            for m in self.u:
                return m[2], m[3]
            d = self.s.recv(1 << 20)
            if not d:
                raise ConnectionError("closed")
            self.u.feed(d)


def searcher(port, k, end, q):
    c = Conn(port)
    lat, errs, i, codes = [], 0, k, {}
    while time.monotonic() < end:
        t = time.monotonic()
        err, _ = c.call("search", {"q": QUERIES[i % len(QUERIES)], "limit": 10})
        lat.append(time.monotonic() - t)
        if err is not None:
            errs += 1
            note_error(codes, "search", err)
        i += 1
    q.put(("s", lat, errs, codes))


def writer(port, k, end, q, docs, batch, tag):
    c, r = Conn(port), Conn(port)
    n, errs, vis, ack, i, b, codes = 0, 0, [], [], k * 997, 0, {}
    while time.monotonic() < end:
        sentinel = "sntl%s%dx%dq" % (tag, k, b)
        out = []
        for _ in range(batch):
            d = dict(docs[i % len(docs)])
            d["id"] = "wb/%s/%d/%d" % (tag, k, i)
            out.append(d)
            i += 1
        out.append({"id": "wb/%s/%d/s%d" % (tag, k, b), "body": "Sentinel %s." % sentinel,
                    "lang": "en"})
        t_send = time.monotonic()
        err, res = c.call("add", {"docs": out})
        t_ack = time.monotonic()
        ack.append(t_ack - t_send)
        if err is not None or res["rejected"]:
            errs += 1
            note_error(codes, "add", err if err is not None else
                       {"code": "rejected", "message": str(res["rejected"][0])})
        else:
            n += len(out)
            while True:
                e2, res2 = r.call("search", {"q": sentinel, "snippet": False})
                if e2 is None and res2["total"] > 0:
                    vis.append(time.monotonic() - t_ack)
                    break
                if time.monotonic() - t_ack > 5:
                    vis.append(99.0)
                    break
        b += 1
    q.put(("w", n, errs, vis, ack, codes))


def note_error(codes, method, err):
    """Counts err under "method:code" in codes; the first message of each
    kind goes to stderr."""
    code = err.get("code", "?") if isinstance(err, dict) else str(err)
    key = "%s:%s" % (method, code)
    if key not in codes:
        print("write_bench: %s error: %r" % (method, err), file=sys.stderr)
    codes[key] = codes.get(key, 0) + 1


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


def stats(port):
    return Conn(port).call("stats", {})[1]


def phase(port, docs, seconds, batch, nwriters, tag, nsearchers=8):
    q = mp.Queue()
    end = time.monotonic() + seconds
    procs = [mp.Process(target=searcher, args=(port, k, end, q)) for k in range(nsearchers)]
    procs += [mp.Process(target=writer, args=(port, k, end, q, docs, batch, tag))
              for k in range(nwriters)]
    st0 = stats(port)["writer"]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    res = [q.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    took = time.monotonic() - t0
    st1 = stats(port)["writer"]
    slat = [x for r in res if r[0] == "s" for x in r[1]]
    serr = sum(r[2] for r in res if r[0] == "s")
    ndocs = sum(r[1] for r in res if r[0] == "w")
    werr = sum(r[2] for r in res if r[0] == "w")
    vis = [x for r in res if r[0] == "w" for x in r[3]]
    ack = [x for r in res if r[0] == "w" for x in r[4]]
    codes = {}
    for r in res:
        for key, v in r[-1].items():
            codes[key] = codes.get(key, 0) + v
    commits = st1["commits"] - st0["commits"]
    writes = st1["writes"] - st0["writes"]
    return {
        "writers": nwriters, "docs_s": ndocs / took, "searches_s": len(slat) / took,
        "s_p50": pct(slat, 50) * 1000, "s_p99": pct(slat, 99) * 1000,
        "v_p50": pct(vis, 50) * 1000, "v_p99": pct(vis, 99) * 1000,
        "v_max": (max(vis) * 1000) if vis else 0.0, "errors": serr + werr,
        "a_p50": pct(ack, 50) * 1000, "a_p99": pct(ack, 99) * 1000, "error_codes": codes,
        "commits": commits, "wpc": writes / commits if commits else 0.0,
        "commit_ms": st1["last_commit_us"] / 1000.0, "batches": len(vis),
    }


def load_docs(corpus):
    docs = []
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs.append({k: d[k] for k in ("title", "body", "lang", "date", "url")
                         if d.get(k)})
    return docs


def delay_row(label, port, corpus, seconds, batch, out):
    r = phase(port, load_docs(corpus), seconds, batch, 8, "d%x%s" % (int(time.time()), label))
    new = not os.path.exists(out)
    with open(out, "a") as f:
        if new:
            f.write("| --commit-delay | docs/s added | requests/commit | visible p50 ms | "
                    "visible p99 ms | search p99 ms | errors |\n")
            f.write("|---|---:|---:|---:|---:|---:|---:|\n")
        f.write("| %s | %.0f | %.2f | %.1f | %.1f | %.2f | %d |\n" % (
            label, r["docs_s"], r["wpc"], r["v_p50"], r["v_p99"], r["s_p99"], r["errors"]))


def phase_json(label, port, corpus, seconds, batch, nwriters, nsearchers, out):
    r = phase(port, load_docs(corpus), seconds, batch, nwriters,
              "p%x%d" % (int(time.time()), nwriters), nsearchers)
    r["label"] = label
    r["searchers"] = nsearchers
    with open(out, "a") as f:
        f.write(json.dumps(r) + "\n")


def main():
    if sys.argv[1] == "--phase":
        phase_json(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]),
                   int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), sys.argv[9])
        return
    if sys.argv[1] == "--delay-row":
        delay_row(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]),
                  int(sys.argv[6]), sys.argv[7])
        return
    port, corpus, seconds, batch, out = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                         int(sys.argv[4]), sys.argv[5])
    docs = load_docs(corpus)
    tag = "%x" % int(time.time())
    rows = [phase(port, docs, seconds, batch, 0, tag + "a"),
            phase(port, docs, seconds, batch, 1, tag + "b"),
            phase(port, docs, seconds, batch, 8, tag + "c")]
    with open(out, "w") as f:
        f.write("| writing clients | docs/s added | searches/s | search p50 ms | "
                "search p99 ms | visible p50 ms | visible p99 ms | visible max ms | "
                "batches | commits | requests/commit | errors |\n")
        f.write("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write("| %d | %.0f | %.0f | %.2f | %.2f | %s | %s | %s | %d | %d | %.2f | %d |\n" % (
                r["writers"], r["docs_s"], r["searches_s"], r["s_p50"], r["s_p99"],
                "%.1f" % r["v_p50"] if r["writers"] else "-",
                "%.1f" % r["v_p99"] if r["writers"] else "-",
                "%.1f" % r["v_max"] if r["writers"] else "-",
                r["batches"], r["commits"], r["wpc"], r["errors"]))
    print(open(out).read())


if __name__ == "__main__":
    main()
