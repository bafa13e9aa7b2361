#!/usr/bin/env python3
"""alerts_bench.py: alerts (subscribe) under live adds, issue 15's benchmark.
Clients for bench/alerts_bench.sh (one process and connection per client,
like write_bench.py; run by Debian's /usr/bin/python3 with python3-msgpack).

Usage: alerts_bench.py --phase KIND ROUND WRITERS PORT PID CORPUS SUBS_FILE
                       NSUBS NCONNS SECONDS BATCH OUT.jsonl
         (one phase against polysearchd on 127.0.0.1:PORT, process PID:
         KIND "A" = no subscriptions, "B" = the first NSUBS lines of
         SUBS_FILE subscribed over NCONNS subscriber connections (one
         process each) before the writers start; then WRITERS writing
         clients add BATCH documents of CORPUS per call under new ids, as
         fast as the acks come back, for SECONDS; appends one JSON line)
       alerts_bench.py --rerun ROUND PORT PID LOADGEN SUBS_FILE NSUBS SECONDS
                       DBNOTE OUT.jsonl
         (the cost of re-running every subscription as a search: ps-loadgen,
         8 connections, limit 10, no snippets, over SUBS_FILE for SECONDS;
         the daemon's CPU seconds per query from /proc/PID/stat; DBNOTE says
         which database it ran on; exit 75 when the daemon died meanwhile)
       alerts_bench.py --section ROWS.jsonl NSUBS
         (the markdown table and the summary lines of the rows, on stdout)
       alerts_bench.py --alerts-map ROWS.jsonl
         (the `stats` alerts map of the last B phase, on stdout)
       alerts_bench.py --selftest
         (checks the percentile and latency pairing helpers; no daemon)

Clocks: every process stamps with time.monotonic() (CLOCK_MONOTONIC, one
clock for every process on Linux). A writer keeps the ack time of each add
call; a subscriber keeps, for each `match` notification, the time the
recv() that brought it returned and the document id. Notification latency
= arrival - ack of the call that carried the document (negative when the
notification overtook the answer: both leave the daemon after the group's
fdatasync; the answer may also wait for the workers, --visible-wait).
"""
import array
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time

try:
    import msgpack
except ImportError:  # --selftest and --section need no msgpack
    msgpack = None

CLK_TCK = os.sysconf("SC_CLK_TCK")
SUB_DEPTH = 16  # subscribe requests in flight per subscriber connection
KEY_MUL = 100000000  # key of document "ab/TAG/k/n" = k * KEY_MUL + n


class Conn:
    def __init__(self, port, timeout=60):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.u = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.mid = 0

    def call(self, method, params):
        self.mid += 1
        self.s.sendall(msgpack.packb([0, self.mid, method, [params]]))
        while True:
            for m in self.u:
                if m[0] == 1:
                    return m[2], m[3]
            d = self.s.recv(1 << 20)
            if not d:
                raise ConnectionError("closed")
            self.u.feed(d)


def proc_cpu(pid):
    """utime + stime of PID in seconds (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_mem(pid):
    """(VmRSS, VmHWM) of PID in KiB."""
    rss = hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def stats(port):
    return Conn(port).call("stats", {})[1]


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


def doc_key(doc_id):
    """The key of "ab/TAG/k/n", or -1 for another id."""
    parts = doc_id.rsplit("/", 2)
    try:
        return int(parts[1]) * KEY_MUL + int(parts[2])
    except (IndexError, ValueError):
        return -1


def latencies(keys, arrivals, acks, batch):
    """Notification latencies (seconds): for each notification of document
    key keys[i] arrived at arrivals[i], minus the ack time of the call of
    writer k that carried it (acks[k][n // batch]). Notifications of
    unknown documents or unanswered calls are left out (counted apart)."""
    out, unknown = [], 0
    for key, t in zip(keys, arrivals):
        k, n = divmod(key, KEY_MUL) if key >= 0 else (-1, 0)
        a = acks.get(k)
        c = n // batch
        if a is None or c >= len(a) or a[c] is None:
            unknown += 1
            continue
        out.append(t - a[c])
    return out, unknown


# ---- clients ---------------------------------------------------------------
def subscriber(port, k, queries, stop, q):
    """Subscribes `queries` on one connection (pipelined, 100 requests in
    flight), reports ready, then records every notification until `stop`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    u = msgpack.Unpacker(raw=False, strict_map_key=False)
    keys, arr = array.array("q"), array.array("d")
    pairs = set()
    dups = lagged = dropped = other = 0
    sub_errs = {}
    retries = 0
    t0 = time.monotonic()

    def handle(m, t):
        nonlocal dups, lagged, dropped, other
        if m[1] == "match":
            p = m[2][0]
            key = doc_key(p["id"])
            pair = p["subscription"] * (1 << 40) + key
            if pair in pairs:
                dups += 1
            else:
                pairs.add(pair)
            keys.append(key)
            arr.append(t)
        elif m[1] == "lagged":
            lagged += 1
            dropped += m[2][0].get("dropped", 0)
        else:
            other += 1

    # Pipelined, DEPTH requests in flight; a `busy` answer (the alert
    # thread's queue is full) is sent again after a short pause.
    pending = list(enumerate(queries))
    inflight = {}
    mid = 0
    while pending or inflight:
        while pending and len(inflight) < SUB_DEPTH:
            idx, qq = pending.pop()
            mid += 1
            inflight[mid] = (idx, qq)
            s.sendall(msgpack.packb([0, mid, "subscribe", [{"q": qq}]]))
        d = s.recv(1 << 20)
        if not d:
            raise ConnectionError("closed while subscribing")
        u.feed(d)
        busy = False
        for m in u:
            if m[0] == 1:
                item = inflight.pop(m[1], None)
                if m[2] is None or item is None:
                    continue
                code = m[2].get("code", "?") if isinstance(m[2], dict) else str(m[2])
                if code == "busy" and retries < 100000:
                    retries += 1
                    pending.append(item)
                    busy = True
                else:
                    sub_errs[code] = sub_errs.get(code, 0) + 1
            elif m[0] == 2:
                handle(m, time.monotonic())
        if busy:
            time.sleep(0.005)
    q.put(("ready", k, len(queries) - sum(sub_errs.values()), sub_errs,
           time.monotonic() - t0, retries))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            continue
        t = time.monotonic()
        if not d:
            break
        u.feed(d)
        for m in u:
            if m[0] == 2:
                handle(m, t)
    q.put(("sub", k, keys.tobytes(), arr.tobytes(), dups, lagged, dropped, other))
    s.close()


def writer(port, k, start, end, q, docs, batch, tag):
    """Adds `batch` documents per call until `end`; the ack time of call c
    (documents n = c*batch .. c*batch+batch-1 of this writer) is acks[c]."""
    c = Conn(port)
    i, n, errs, codes = k * 997, 0, 0, {}
    acks, durs = [], []
    while time.monotonic() < start:
        time.sleep(0.001)
    call = 0
    while time.monotonic() < end:
        out = []
        for j in range(batch):
            d = dict(docs[(i + j) % len(docs)])
            d["id"] = "ab/%s/%d/%d" % (tag, k, call * batch + j)
            out.append(d)
        i += batch
        t_send = time.monotonic()
        err, res = c.call("add", {"docs": out})
        t_ack = time.monotonic()
        durs.append(t_ack - t_send)
        if err is not None or res["rejected"]:
            errs += 1
            code = (err.get("code", "?") if isinstance(err, dict) else str(err)) \
                if err is not None else "rejected"
            if code not in codes:
                print("alerts_bench: add error: %r" % (err or res["rejected"][0],),
                      file=sys.stderr)
            codes[code] = codes.get(code, 0) + 1
            acks.append(None)
        else:
            n += len(out) - len(res["rejected"])
            acks.append(t_ack)
        call += 1
    q.put(("w", k, n, errs, acks, durs, codes))


def load_docs(corpus):
    docs = []
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs.append({key: d[key] for key in ("title", "body", "lang", "date", "url")
                             if d.get(key)})
    return docs


def read_subs(path, nsubs):
    with open(path, encoding="utf-8") as f:
        qs = [line.rstrip("\n") for line in f if line.strip()]
    return [qs[i % len(qs)] for i in range(nsubs)]


def wait_drained(port, limit=60.0):
    """Waits until the alert thread has nothing queued and `pushed` stays
    the same over 0.6 s (at most `limit` seconds); returns the wait."""
    t0 = time.monotonic()
    last, same = None, 0
    while time.monotonic() - t0 < limit:
        a = stats(port).get("alerts", {})
        cur = (a.get("pushed"), a.get("dropped"), a.get("matches"))
        if a.get("queued", 0) == 0 and cur == last:
            same += 1
            if same >= 3:
                break
        else:
            same = 0
        last = cur
        time.sleep(0.2)
    return time.monotonic() - t0


def phase(kind, rnd, nwriters, port, pid, corpus, subs_file, nsubs, nconns, seconds, batch):
    docs = load_docs(corpus)
    tag = "%s%d%x" % (kind, nwriters, int(time.time()) & 0xffffff)
    q = mp.Queue()
    stop = mp.Event()
    subs, sub_ok, sub_errs, sub_s, sub_retries = [], 0, {}, 0.0, 0
    if kind == "B" and nsubs > 0:
        allq = read_subs(subs_file, nsubs)
        subs = [mp.Process(target=subscriber,
                           args=(port, k, allq[k::nconns], stop, q))
                for k in range(nconns)]
        t_s = time.monotonic()
        for p in subs:
            p.start()
        for _ in subs:
            r = q.get(timeout=600)
            if r[0] != "ready":
                raise SystemExit("alerts_bench: unexpected %r" % (r[0],))
            sub_ok += r[2]
            sub_retries += r[5]
            for c, v in r[3].items():
                sub_errs[c] = sub_errs.get(c, 0) + v
        sub_s = time.monotonic() - t_s
        for c, v in sub_errs.items():
            print("alerts_bench: %d subscribe errors %s" % (v, c), file=sys.stderr)
    st0 = stats(port)
    cpu0 = proc_cpu(pid)
    start = time.monotonic() + 0.3  # every writer begins at the same instant
    end = start + seconds
    ws = [mp.Process(target=writer, args=(port, k, start, end, q, docs, batch, tag))
          for k in range(nwriters)]
    for p in ws:
        p.start()
    wres = [q.get(timeout=seconds + 300) for _ in ws]
    took = max(time.monotonic(), end) - start
    cpu_w = proc_cpu(pid)
    st_w = stats(port)
    drain_s = wait_drained(port) if subs else 0.0
    t_done = time.monotonic()
    cpu1 = proc_cpu(pid)
    rss, hwm = proc_mem(pid)
    st1 = stats(port)
    stop.set()
    sres = [q.get(timeout=120) for _ in subs]
    for p in ws + subs:
        p.join(30)

    acks = {r[1]: r[4] for r in wres}
    ndocs = sum(r[2] for r in wres)
    errs = sum(r[3] for r in wres)
    durs = [x for r in wres for x in r[5]]
    codes = {}
    for r in wres:
        for c, v in r[6].items():
            codes[c] = codes.get(c, 0) + v
    keys, arrivals = array.array("q"), array.array("d")
    dups = lagged = dropped = other = 0
    for r in sres:
        keys.frombytes(r[2])
        arrivals.frombytes(r[3])
        dups += r[4]
        lagged += r[5]
        dropped += r[6]
        other += r[7]
    lat, unknown = latencies(keys, arrivals, acks, batch)
    w0, w1 = st0.get("writer", {}), st_w.get("writer", {})
    commits = w1.get("commits", 0) - w0.get("commits", 0)
    a0, a1 = st0.get("alerts", {}), st1.get("alerts", {})

    def ad(name):
        return a1.get(name, 0) - a0.get(name, 0)

    return {
        "kind": kind, "round": rnd, "writers": nwriters, "seconds": seconds, "batch": batch,
        "subs_asked": nsubs if kind == "B" else 0, "subs_ok": sub_ok, "sub_errors": sub_errs,
        "subscribe_s": sub_s, "subscribe_busy_retries": sub_retries,
        "docs": ndocs, "docs_s": ndocs / took, "calls": len(durs),
        "errors": errs, "error_codes": codes, "commits": commits,
        "ack_p50": pct(durs, 50), "ack_p99": pct(durs, 99),
        "notifications": len(keys), "dups": dups, "unknown": unknown,
        "lagged": lagged, "lagged_dropped": dropped, "other_notifications": other,
        "lat_p50": pct(lat, 50), "lat_p99": pct(lat, 99), "lat_max": max(lat) if lat else None,
        "lat_neg": sum(1 for x in lat if x < 0),
        "cpu_write_s": cpu_w - cpu0, "cpu_s": cpu1 - cpu0, "wall_s": t_done - start,
        "drain_s": drain_s, "rss_kb": rss, "hwm_kb": hwm,
        "a_matches": ad("matches"), "a_pushed": ad("pushed"), "a_dropped": ad("dropped"),
        "a_lagged": ad("lagged"), "a_groups": ad("groups"), "a_docs": ad("docs"),
        "a_overflow_docs": ad("overflow_docs"), "alerts": a1,
    }


def phase_main(argv):
    kind, rnd, nw, port, pid, corpus, subs_file, nsubs, nconns, secs, batch, out = argv
    r = phase(kind, int(rnd), int(nw), int(port), int(pid), corpus, subs_file, int(nsubs),
              int(nconns), float(secs), int(batch))
    with open(out, "a") as f:
        f.write(json.dumps(r) + "\n")
    ms = lambda v: "-" if v is None else "%.1f" % (v * 1000)  # noqa: E731
    print("alerts_bench: round %s %s, %s writer(s): %.0f docs/s, ack p50 %s ms, notification "
          "p50/p99 %s/%s ms, %d notifications, %d lagged, daemon CPU %.1f s, RSS %.0f MiB, "
          "%d errors" % (rnd, kind, nw, r["docs_s"], ms(r["ack_p50"]), ms(r["lat_p50"]),
                         ms(r["lat_p99"]), r["notifications"], r["lagged"], r["cpu_s"],
                         r["rss_kb"] / 1024.0, r["errors"]), file=sys.stderr)


def rerun_main(argv):
    rnd, port, pid, loadgen, subs_file, nsubs, secs, dbnote, out = argv
    port, pid, nsubs = int(port), int(pid), int(nsubs)
    cpu0 = proc_cpu(pid)
    p = subprocess.run([loadgen, "--port", str(port), "--queries", subs_file,
                        "--connections", "8", "--duration", "%ss" % secs, "--limit", "10",
                        "--snippet", "off", "--no-warmup"],
                       stdout=subprocess.PIPE, timeout=float(secs) + 120)
    if not os.path.exists("/proc/%d/stat" % pid):
        print("alerts_bench: polysearchd (pid %d) died during the re-run (ps-loadgen exit %d)"
              % (pid, p.returncode), file=sys.stderr)
        sys.exit(75)
    cpu1 = proc_cpu(pid)
    lines = [x for x in p.stdout.decode().splitlines() if x.startswith("{")]
    if not lines:
        raise SystemExit("alerts_bench: ps-loadgen printed no result (exit %d)" % p.returncode)
    j = json.loads(lines[-1])
    req = max(1, j["requests"])
    r = {"kind": "rerun", "round": int(rnd), "subs": nsubs, "qps": j["qps"],
         "requests": j["requests"], "errors": j["errors"], "p50_us": j["p50_us"],
         "cpu_s": cpu1 - cpu0, "cpu_per_query_s": (cpu1 - cpu0) / req,
         "duration_s": j["duration_s"], "documents": stats(port).get("documents"),
         "database": dbnote}
    with open(out, "a") as f:
        f.write(json.dumps(r) + "\n")
    print("alerts_bench: re-run: %.0f searches/s at 8 connections, %.3f ms daemon CPU per "
          "search, %d errors" % (r["qps"], r["cpu_per_query_s"] * 1000, r["errors"]),
          file=sys.stderr)


# ---- the section -------------------------------------------------------------
def f(v, spec="%.1f", scale=1.0):
    return "-" if v is None else spec % (v * scale)


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def section(rows, nsubs):
    ph = [r for r in rows if r["kind"] in ("A", "B")]
    rr = [r for r in rows if r["kind"] == "rerun"]
    out = ["| round | phase | writing clients | subscriptions | docs/s added | add calls | "
           "commits | ack p50 ms | ack p99 ms | notification p50 ms | p99 ms | max ms | "
           "notifications received | daemon matches / pushed / dropped | lagged (dropped) | "
           "daemon CPU s (while adding) | CPU % | RSS / HWM MiB | errors |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|"
           "---|---:|"]
    for r in ph:
        b = r["kind"] == "B"
        out.append("| %d | %s | %d | %d | %.0f | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s "
                   "| %.1f (%.1f) | %.0f | %.0f / %.0f | %d |" % (
                       r["round"], r["kind"], r["writers"], r["subs_ok"], r["docs_s"],
                       r["calls"], r["commits"], f(r["ack_p50"], scale=1000),
                       f(r["ack_p99"], scale=1000), f(r["lat_p50"], scale=1000),
                       f(r["lat_p99"], scale=1000), f(r["lat_max"], scale=1000),
                       r["notifications"] if b else "-",
                       ("%d / %d / %d" % (r["a_matches"], r["a_pushed"], r["a_dropped"]))
                       if b else "-",
                       ("%d (%d)" % (r["lagged"], r["lagged_dropped"])) if b else "-",
                       r["cpu_s"], r["cpu_write_s"], 100.0 * r["cpu_s"] / max(r["wall_s"], 1e-9),
                       r["rss_kb"] / 1024.0, r["hwm_kb"] / 1024.0, r["errors"]))
    out.append("")
    get = {(r["round"], r["kind"], r["writers"]): r for r in ph}
    rounds = sorted({r["round"] for r in ph})
    writers = sorted({r["writers"] for r in ph})
    extra_group = []
    for w in writers:
        ratios = []
        for rnd in rounds:
            a, b = get.get((rnd, "A", w)), get.get((rnd, "B", w))
            if a and b and a["docs_s"]:
                ratios.append(b["docs_s"] / a["docs_s"])
                # The matcher's CPU per write group: B's daemon CPU per
                # document minus A's, times B's documents per group.
                if a["docs"] and b["docs"] and b["a_groups"]:
                    per_doc = b["cpu_s"] / b["docs"] - a["cpu_s"] / a["docs"]
                    extra_group.append((w, per_doc * b["docs"] / b["a_groups"],
                                        b["docs"] / b["a_groups"], per_doc))
        if ratios:
            m = statistics.median(ratios)
            out.append("- %d writing client%s: docs/s with %d subscriptions / without (B/A), "
                       "median over rounds: **%.2f** (round%s %s; target >= 0.90: %s)." % (
                           w, "s" if w > 1 else "", nsubs, m, "s" if len(ratios) > 1 else "",
                           ", ".join("%.2f" % x for x in ratios),
                           "met" if m >= 0.9 else "**not met**"))
    bs = [r for r in ph if r["kind"] == "B"]
    if bs:
        for w in writers:
            bw = [r for r in bs if r["writers"] == w]
            if not bw:
                continue
            out.append("- Notification latency (arrival - ack of the add call that carried the "
                       "document), %d writing client%s, median over rounds: p50 %s ms, p99 %s "
                       "ms, max %s ms; %d of %d notifications arrived before the add's answer "
                       "(negative latency)." % (
                           w, "s" if w > 1 else "",
                           f(med([r["lat_p50"] for r in bw]), scale=1000),
                           f(med([r["lat_p99"] for r in bw]), scale=1000),
                           f(med([r["lat_max"] for r in bw]), scale=1000),
                           sum(r["lat_neg"] for r in bw), sum(r["notifications"] for r in bw)))
        out.append("- Received vs the daemon's count: %d notifications received, the daemon "
                   "pushed %d, dropped %d (max_notify_queue) and found %d matches; %d "
                   "`lagged` notifications (%d matches dropped), %d repeated (subscription, "
                   "document) pairs, %d documents of groups the alert thread could not queue "
                   "(overflow). Subscribe errors: %s." % (
                       sum(r["notifications"] for r in bs), sum(r["a_pushed"] for r in bs),
                       sum(r["a_dropped"] for r in bs), sum(r["a_matches"] for r in bs),
                       sum(r["lagged"] for r in bs), sum(r["lagged_dropped"] for r in bs),
                       sum(r["dups"] for r in bs), sum(r["a_overflow_docs"] for r in bs),
                       json.dumps(bs[-1]["sub_errors"]) if bs[-1]["sub_errors"] else "none"))
        out.append("- Subscribing %d queries over 10 connections took %s s (median)." % (
            nsubs, f(med([r["subscribe_s"] for r in bs]), "%.2f")))
    if extra_group:
        per_group = med([x[1] for x in extra_group])
        docs_group = med([x[2] for x in extra_group])
        per_doc = med([x[3] for x in extra_group])
        bs_us = med([r["alerts"].get("avg_group_us") for r in bs])
        out.append("- Matcher cost: the daemon's CPU per added document in B minus A: %s ms; "
                   "per write group (%.1f documents per group in B): %s ms of CPU (median over "
                   "rounds and writer counts). The alert thread's own time per group (stats "
                   "`alerts.avg_group_us`): %s ms." % (
                       f(per_doc, "%.3f", 1000), docs_group, f(per_group, "%.2f", 1000),
                       f(bs_us, "%.2f", 0.001)))
        if rr:
            cq = med([r["cpu_per_query_s"] for r in rr])
            qps = med([r["qps"] for r in rr])
            rerun_cpu = cq * nsubs
            out.append("- Re-running every subscription as a search instead (`search`, limit "
                       "10, no snippets, ps-loadgen at 8 connections, %s, %s documents): "
                       "%.0f searches/s, %s ms of daemon CPU "
                       "per search, so **%.2f CPU s and %.2f s of wall time per commit** for "
                       "%d subscriptions, against %s ms of CPU per group for the matcher: "
                       "the matcher is %s cheaper per commit. Put as a matching rate: the "
                       "matcher checks %s (document, subscription) pairs per CPU second; "
                       "re-running all searches after each group of %.1f documents checks %s." % (
                           rr[-1].get("database", "?"), rr[-1].get("documents"), qps,
                           f(cq, "%.3f", 1000), rerun_cpu,
                           nsubs / qps if qps else 0.0, nsubs, f(per_group, "%.2f", 1000),
                           ("%.0fx" % (rerun_cpu / per_group)) if per_group and per_group > 0
                           else "(matcher cost not measurable above noise)",
                           ("%.3g" % (nsubs / per_doc)) if per_doc and per_doc > 0 else "-",
                           docs_group, "%.3g" % (nsubs * docs_group / rerun_cpu)
                           if rerun_cpu else "-"))
    for r in rows:
        if r["kind"] == "rerun_crash":
            out.append("- **The re-run failed** (%s) while the subscription queries ran as "
                       "searches %s; the re-run figures above come from a fresh daemon on "
                       "the starting database." % (r.get("how", "?"), r.get("where", "")))
    return "\n".join(out) + "\n"


def alerts_map(rows):
    """The stats alerts map at the end of the last B phase, as a block."""
    bs = [r for r in rows if r["kind"] == "B"]
    if not bs:
        return ""
    return ("`stats` alerts map at the end of the last B phase (%d writing client%s):\n\n"
            "```\n%s\n```\n" % (bs[-1]["writers"], "s" if bs[-1]["writers"] > 1 else "",
                                  json.dumps(bs[-1]["alerts"], sort_keys=True)))


def selftest():
    assert pct([], 50) is None
    assert pct([3, 1, 2], 50) == 2
    assert pct(list(range(100)), 99) == 99
    assert doc_key("ab/B1x/2/35") == 2 * KEY_MUL + 35
    assert doc_key("fr/123") == -1
    acks = {0: [10.0, 11.0, None], 2: [20.0]}
    keys = [0 * KEY_MUL + 3, 0 * KEY_MUL + 12, 2 * KEY_MUL + 9, 0 * KEY_MUL + 25, -1,
            5 * KEY_MUL]
    lat, unknown = latencies(keys, [10.5, 10.9, 20.25, 12.0, 1.0, 1.0], acks, 10)
    assert [round(x, 3) for x in lat] == [0.5, -0.1, 0.25], lat
    assert unknown == 3, unknown
    row = {"kind": "A", "round": 1, "writers": 1, "subs_ok": 0, "docs_s": 100.0, "calls": 10,
           "commits": 10, "ack_p50": 0.01, "ack_p99": 0.02, "lat_p50": None, "lat_p99": None,
           "lat_max": None, "notifications": 0, "a_matches": 0, "a_pushed": 0, "a_dropped": 0,
           "lagged": 0, "lagged_dropped": 0, "cpu_s": 1.0, "cpu_write_s": 1.0, "wall_s": 2.0,
           "rss_kb": 10240, "hwm_kb": 20480, "errors": 0, "docs": 100}
    rowb = dict(row, kind="B", docs_s=95.0, docs=95, cpu_s=1.5, subs_ok=10, notifications=7,
                a_groups=10, lat_p50=0.005, lat_p99=0.01, lat_max=0.02, lat_neg=0, dups=0,
                a_overflow_docs=0, sub_errors={}, subscribe_s=0.1,
                alerts={"avg_group_us": 300})
    rr = {"kind": "rerun", "round": 1, "cpu_per_query_s": 0.001, "qps": 1000.0,
          "documents": 1100, "database": "test"}
    text = section([row, rowb, rr], 10)
    assert "**0.95**" in text and "met" in text, text
    assert "| 1 | B | 1 | 10 | 95 |" in text, text
    assert "p50 5.0 ms, p99 10.0 ms" in text, text
    assert '"avg_group_us": 300' in alerts_map([row, rowb]), alerts_map([row, rowb])
    print("alerts_bench: selftest ok")


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "--selftest":
        selftest()
    elif mode == "--phase" and len(argv) == 12:
        phase_main(argv)
    elif mode == "--rerun" and len(argv) == 9:
        rerun_main(argv)
    elif mode == "--section" and len(argv) == 2:
        with open(argv[0]) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        sys.stdout.write(section(rows, int(argv[1])))
    elif mode == "--alerts-map" and len(argv) == 1:
        with open(argv[0]) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        sys.stdout.write(alerts_map(rows))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)


if __name__ == "__main__":
    main()
