#!/usr/bin/env python3
"""write_bench.py: add throughput, acknowledgement time and time-to-visible
of polysearchd, and of Sphinx's real-time index as the reference, while
searches run (issues 6 and 14).  Driver for bench/write_bench.sh.

Usage: write_bench.py PORT CORPUS.jsonl SECONDS BATCH OUT.md
         (polysearchd only, one round: the three phases below, table to OUT.md)
       write_bench.py --rows ENGINE ROUND PORT CORPUS.jsonl SECONDS BATCH OUT.jsonl
         (ENGINE polysearchd or sphinx: the three phases below against the
         server on 127.0.0.1:PORT; appends one JSON line per phase)
       write_bench.py --table IN.jsonl OUT.md
         (the table of every --rows line, and the polysearchd / Sphinx RT
         ratio lines: per round and their median)
       write_bench.py --sphinx-base PORT BASE.jsonl
         (loads BASE.jsonl into Sphinx's RT index `rt`, ids = line numbers,
         untimed: the starting index)
       write_bench.py --crash-add ENGINE PORT CORPUS.jsonl BATCHES BATCH
         (one client adds BATCHES calls of BATCH documents + the sentinel,
         each acknowledged; prints the number of acknowledged documents)
       write_bench.py --count ENGINE PORT
         (prints the number of documents the server holds)
       write_bench.py --delay-row LABEL PORT CORPUS.jsonl SECONDS BATCH OUT.md
         (polysearchd, only the 8-writer phase; appends one row of the
         --commit-delay comparison table to OUT.md)
       write_bench.py --phase LABEL PORT CORPUS.jsonl SECONDS BATCH WRITERS
                      SEARCHERS OUT.jsonl
         (polysearchd, one phase with WRITERS writing and SEARCHERS
         searching clients; appends its figures as one JSON line to
         OUT.jsonl: used by bench/shard_bench.sh --writes)

Phases (each SECONDS long, one process per client so the GIL does not
serialise them, each client its own connection; everything on 127.0.0.1):
  1. 8 searching clients, no writes: search p50/p99 baseline.
  2. 8 searching clients + 1 writing client.
  3. 8 searching clients + 8 writing clients.
A writing client sends add calls of BATCH documents taken from the corpus
(ids made unique per phase and client) plus one sentinel document with a
unique word; after each ack it searches for the sentinel on a second
connection until it is found: that delay is the time-to-visible (it
includes one search round trip).  The ack time is from sending the call
to its answer.

polysearchd: MessagePack-RPC `add {docs}` and `search {q, limit: 10}`
(snippets on, the default) / `search {q: sentinel, snippet: false}`.
Sphinx (engine "sphinx", bench/sphinx/make_conf.py --rt, needs Debian's
python3-pymysql): one SphinxQL `INSERT INTO rt (id, title, body, lang)
VALUES (...), ...` per call (autocommit: one transaction each), `SELECT
id FROM rt WHERE MATCH(...) LIMIT 10` (ids only).  Sphinx ids are
integers: the document of polysearchd id "wb/TAG/K/N" gets
sphinx_id(phase, K, N) (the starting index uses the corpus line numbers).
"""
import json
import multiprocessing as mp
import os
import socket
import statistics
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


def sql_conn(port):
    """A SphinxQL (MySQL protocol) connection to Sphinx's searchd, one
    transaction per statement."""
    import pymysql  # Debian: python3-pymysql (only the Sphinx engine needs it)
    return pymysql.connect(host="127.0.0.1", port=port, user="", autocommit=True,
                           charset="utf8", connect_timeout=30, read_timeout=30,
                           write_timeout=30)


def sql_error(e):
    """A pymysql exception as a note_error() error map."""
    args = getattr(e, "args", ())
    if len(args) >= 2:
        return {"code": str(args[0]), "message": str(args[1])}
    return {"code": type(e).__name__, "message": str(e)}


def sphinx_id(phase_no, k, n):
    """The Sphinx document id of polysearchd id "wb/TAG/k/n" in phase
    phase_no (1-based; phase 0 is the starting index, ids = line numbers).
    The sentinel of batch b is n = 9,000,000 + b."""
    return phase_no * 1000000000 + k * 10000000 + n


SPHINX_INSERT = "INSERT INTO rt (id, title, body, lang) VALUES "


def sphinx_insert(cur, rows):
    """One INSERT of rows [(id, title, body, lang)], one transaction."""
    cur.execute(SPHINX_INSERT + ",".join(["(%s,%s,%s,%s)"] * len(rows)),
                [x for r in rows for x in r])


def sphinx_searcher(port, k, end, q):
    c = sql_conn(port)
    cur = c.cursor()
    lat, errs, i, codes = [], 0, k, {}
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            cur.execute("SELECT id FROM rt WHERE MATCH(%s) LIMIT 10",
                        (QUERIES[i % len(QUERIES)],))
            cur.fetchall()
        except Exception as e:  # noqa: BLE001 - counted, first one printed
            errs += 1
            note_error(codes, "select", sql_error(e))
        lat.append(time.monotonic() - t)
        i += 1
    q.put(("s", lat, errs, codes))


def sphinx_writer(port, k, end, q, docs, batch, tag, phase_no):
    c, r = sql_conn(port), sql_conn(port)
    cur, rcur = c.cursor(), r.cursor()
    n, errs, vis, ack, i, b, codes = 0, 0, [], [], k * 997, 0, {}
    while time.monotonic() < end:
        sentinel = "sntl%s%dx%dq" % (tag, k, b)
        rows = []
        for _ in range(batch):
            d = docs[i % len(docs)]
            rows.append((sphinx_id(phase_no, k, i), d.get("title", ""), d.get("body", ""),
                         d.get("lang", "")))
            i += 1
        rows.append((sphinx_id(phase_no, k, 9000000 + b), "", "Sentinel %s." % sentinel, "en"))
        # The statement text is built before the clock starts (pymysql
        # escapes in Python; polysearchd's msgpack packing is C).
        stmt = cur.mogrify(SPHINX_INSERT + ",".join(["(%s,%s,%s,%s)"] * len(rows)),
                           [x for r in rows for x in r])
        t_send = time.monotonic()
        try:
            cur.execute(stmt)
            ok = True
        except Exception as e:  # noqa: BLE001
            ok = False
            errs += 1
            note_error(codes, "insert", sql_error(e))
        t_ack = time.monotonic()
        ack.append(t_ack - t_send)
        if ok:
            n += len(rows)
            while True:
                found = False
                try:
                    rcur.execute("SELECT id FROM rt WHERE MATCH(%s) LIMIT 1", (sentinel,))
                    found = bool(rcur.fetchall())
                except Exception as e:  # noqa: BLE001
                    note_error(codes, "select", sql_error(e))
                if found:
                    vis.append(time.monotonic() - t_ack)
                    break
                if time.monotonic() - t_ack > 5:
                    vis.append(99.0)
                    break
        b += 1
    q.put(("w", n, errs, vis, ack, codes))


def sphinx_status(port):
    """SHOW INDEX rt STATUS as a dict (ram_bytes, disk_chunks, ...)."""
    cur = sql_conn(port).cursor()
    cur.execute("SHOW INDEX rt STATUS")
    return {k: v for k, v in cur.fetchall()}


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


def phase(port, docs, seconds, batch, nwriters, tag, nsearchers=8, engine="polysearchd",
          phase_no=1):
    q = mp.Queue()
    end = time.monotonic() + seconds
    if engine == "sphinx":
        import pymysql  # noqa: F401 - imported once here, not in every forked client
        procs = [mp.Process(target=sphinx_searcher, args=(port, k, end, q))
                 for k in range(nsearchers)]
        procs += [mp.Process(target=sphinx_writer,
                             args=(port, k, end, q, docs, batch, tag, phase_no))
                  for k in range(nwriters)]
        st0 = None
    else:
        procs = [mp.Process(target=searcher, args=(port, k, end, q))
                 for k in range(nsearchers)]
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
    out = {
        "engine": engine, "writers": nwriters, "docs_s": ndocs / took,
        "searches_s": len(slat) / took,
        "s_p50": pct(slat, 50) * 1000, "s_p99": pct(slat, 99) * 1000,
        "v_p50": pct(vis, 50) * 1000, "v_p99": pct(vis, 99) * 1000,
        "v_max": (max(vis) * 1000) if vis else 0.0, "errors": serr + werr,
        "a_p50": pct(ack, 50) * 1000, "a_p99": pct(ack, 99) * 1000, "error_codes": codes,
        "batches": len(vis), "calls": len(ack),
    }
    if st0 is not None:
        st1 = stats(port)["writer"]
        commits = st1["commits"] - st0["commits"]
        writes = st1["writes"] - st0["writes"]
        out.update(commits=commits, wpc=writes / commits if commits else 0.0,
                   commit_ms=st1["last_commit_us"] / 1000.0)
    else:
        # Autocommit: every INSERT is one transaction (one binlog commit).
        out.update(commits=None, wpc=None, commit_ms=None, sphinx=sphinx_status(port))
    return out


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


def rows_json(engine, rnd, port, corpus, seconds, batch, out):
    """The three phases (0, 1, 8 writing clients, 8 searching) against one
    engine; one JSON line per phase appended to out."""
    docs = load_docs(corpus)
    tag = "%x%s%d" % (int(time.time()), engine[0], rnd)
    with open(out, "a") as f:
        for no, (w, sfx) in enumerate(((0, "a"), (1, "b"), (8, "c")), 1):
            r = phase(port, docs, seconds, batch, w, tag + sfx, engine=engine, phase_no=no)
            r["round"] = rnd
            r["seconds"] = seconds
            r["batch"] = batch
            f.write(json.dumps(r) + "\n")
            f.flush()
            print("write_bench: round %d %s, %d writer(s): %.0f docs/s, ack p50 %.1f ms, "
                  "visible p99 %.1f ms, %.0f searches/s, %d errors" % (
                      rnd, engine, w, r["docs_s"], r["a_p50"], r["v_p99"], r["searches_s"],
                      r["errors"]), file=sys.stderr)


def fmt(v, spec, dash=False):
    return "-" if dash or v is None else spec % v


def ratio_text(vals):
    """'1.23x (rounds 1.20, 1.26)' from per-round ratios."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    rounds = ", ".join("%.2f" % v for v in vals)
    return "%.2fx (round%s %s)" % (statistics.median(vals), "s" if len(vals) > 1 else "",
                                   rounds)


def table(rows):
    """The markdown table of phase rows, then the ratio lines."""
    names = {"polysearchd": "polysearchd", "sphinx": "Sphinx RT"}
    out = ["| round | engine | writing clients | docs/s added | ack p50 ms | ack p99 ms | "
           "searches/s | search p50 ms | search p99 ms | visible p50 ms | visible p99 ms | "
           "visible max ms | batches | commits | requests/commit | errors |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        nw = r["writers"] == 0
        out.append("| %s | %s | %d | %.0f | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %d | "
                   "%s | %s | %d |" % (
                       r.get("round", 1), names.get(r.get("engine", "polysearchd")),
                       r["writers"], r["docs_s"], fmt(r["a_p50"], "%.1f", nw),
                       fmt(r["a_p99"], "%.1f", nw), r["searches_s"], r["s_p50"], r["s_p99"],
                       fmt(r["v_p50"], "%.1f", nw), fmt(r["v_p99"], "%.1f", nw),
                       fmt(r["v_max"], "%.1f", nw), r["batches"],
                       fmt(r.get("commits"), "%d"), fmt(r.get("wpc"), "%.2f"), r["errors"]))
    out.append("")
    get = {(r.get("round", 1), r.get("engine", "polysearchd"), r["writers"]): r for r in rows}
    rounds = sorted({r.get("round", 1) for r in rows})

    def ratios(w, key):
        v = []
        for rnd in rounds:
            a, b = get.get((rnd, "polysearchd", w)), get.get((rnd, "sphinx", w))
            if a and b and b[key]:
                v.append(a[key] / b[key])
        return v

    if any(r.get("engine") == "sphinx" for r in rows):
        for w in (1, 8):
            if not ratios(w, "docs_s"):
                continue
            out.append("- %d writing client%s, polysearchd / Sphinx RT (median over rounds): "
                       "docs/s %s (target >= 1); ack p50 %s (target <= 1); ack p99 %s; "
                       "visible p99 %s; searches/s while writing %s." % (
                           w, "s" if w > 1 else "", ratio_text(ratios(w, "docs_s")),
                           ratio_text(ratios(w, "a_p50")), ratio_text(ratios(w, "a_p99")),
                           ratio_text(ratios(w, "v_p99")), ratio_text(ratios(w, "searches_s"))))
        if ratios(0, "searches_s"):
            out.append("- No writes, polysearchd / Sphinx RT searches/s: %s (polysearchd "
                       "returns snippets, Sphinx ids only)." % ratio_text(ratios(0, "searches_s")))
    for w in (1, 8):
        v = [get[(rnd, "polysearchd", w)]["v_p99"] for rnd in rounds
             if (rnd, "polysearchd", w) in get]
        if v:
            out.append("- polysearchd visible p99 with %d writing client%s: median %.1f ms "
                       "(target < 10 ms)." % (w, "s" if w > 1 else "", statistics.median(v)))
    return "\n".join(out) + "\n"


def sphinx_base(port, base):
    """Loads base (JSON Lines) into the RT index, ids = line numbers, 100
    documents per INSERT."""
    cur = sql_conn(port).cursor()
    rows = []
    with open(base, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            rows.append((n, d.get("title", ""), d.get("body", ""), d.get("lang", "")))
            if len(rows) == 100:
                sphinx_insert(cur, rows)
                rows = []
    if rows:
        sphinx_insert(cur, rows)


def crash_add(engine, port, corpus, batches, batch):
    """One client, `batches` acknowledged calls of `batch` documents + the
    sentinel; returns the number of documents acknowledged."""
    docs = load_docs(corpus)
    tag = "k%x" % int(time.time())
    acked = 0
    if engine == "sphinx":
        cur = sql_conn(port).cursor()
        for b in range(batches):
            rows = []
            for j in range(batch):
                d = docs[(b * batch + j) % len(docs)]
                rows.append((sphinx_id(9, 0, b * batch + j), d.get("title", ""),
                             d.get("body", ""), d.get("lang", "")))
            rows.append((sphinx_id(9, 0, 9000000 + b), "", "Sentinel sntl%s%dq." % (tag, b),
                         "en"))
            sphinx_insert(cur, rows)
            acked += len(rows)
    else:
        c = Conn(port)
        for b in range(batches):
            out = []
            for j in range(batch):
                d = dict(docs[(b * batch + j) % len(docs)])
                d["id"] = "wb/%s/0/%d" % (tag, b * batch + j)
                out.append(d)
            out.append({"id": "wb/%s/0/s%d" % (tag, b), "body": "Sentinel sntl%s%dq." % (tag, b),
                        "lang": "en"})
            err, res = c.call("add", {"docs": out})
            if err is not None or res["rejected"]:
                raise SystemExit("write_bench: add failed: %r" % (err or res["rejected"],))
            acked += len(out)
    return acked


def count(engine, port):
    if engine == "sphinx":
        cur = sql_conn(port).cursor()
        cur.execute("SELECT COUNT(*) FROM rt")
        return int(cur.fetchall()[0][0])
    return int(stats(port)["documents"])


def main():
    if sys.argv[1] == "--rows":
        rows_json(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                  float(sys.argv[6]), int(sys.argv[7]), sys.argv[8])
        return
    if sys.argv[1] == "--table":
        with open(sys.argv[2]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        with open(sys.argv[3], "w") as f:
            f.write(table(rows))
        return
    if sys.argv[1] == "--sphinx-base":
        sphinx_base(int(sys.argv[2]), sys.argv[3])
        return
    if sys.argv[1] == "--crash-add":
        print(crash_add(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
                        int(sys.argv[6])))
        return
    if sys.argv[1] == "--count":
        print(count(sys.argv[2], int(sys.argv[3])))
        return
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
    tmp = out + ".jsonl"
    if os.path.exists(tmp):
        os.unlink(tmp)
    rows_json("polysearchd", 1, port, corpus, seconds, batch, tmp)
    with open(tmp) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    os.unlink(tmp)
    with open(out, "w") as f:
        f.write(table(rows))
    print(open(out).read())


if __name__ == "__main__":
    main()
