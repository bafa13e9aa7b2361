#!/usr/bin/env python3
"""delta_cost.py: what one document costs to add to a write-ahead-log delta
held (a) as a Xapian in-memory database (what each polysearchd worker does
today) and (b) as a glass database committed every GROUP documents without
fsync (one index every worker could open read-only).

Usage: delta_cost.py CORPUS [DOCS] [GROUP]   (defaults 2000, 10)
Prints one JSON object: docs, group, inmem_ms, glass_ms (per document,
commits included), commit_ms (median commit).  Needs python3-xapian.
"""
import json
import shutil
import sys
import tempfile
import time

import xapian


def main():
    corpus = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    group = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    tg = xapian.TermGenerator()
    tg.set_stemmer(xapian.Stem("english"))
    docs = []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            j = json.loads(line)
            d = xapian.Document()
            tg.set_document(d)
            tg.index_text(j.get("title", "") + " " + j["body"])
            d.add_boolean_term("Q%d" % i)
            d.set_data(line)
            docs.append(d.serialise())
    mem = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
    t = time.perf_counter()
    for i, s in enumerate(docs):
        mem.replace_document("Q%d" % i, xapian.Document.unserialise(s))
    inmem = time.perf_counter() - t
    tmp = tempfile.mkdtemp(prefix="delta-cost-")
    try:
        db = xapian.WritableDatabase(tmp + "/g", xapian.DB_CREATE_OR_OVERWRITE | xapian.DB_NO_SYNC)
        commits = []
        t = time.perf_counter()
        for i, s in enumerate(docs):
            db.replace_document("Q%d" % i, xapian.Document.unserialise(s))
            if i % group == group - 1:
                t0 = time.perf_counter()
                db.commit()
                commits.append(time.perf_counter() - t0)
        db.commit()
        glass = time.perf_counter() - t
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    commits.sort()
    print(json.dumps({"docs": len(docs), "group": group,
                      "inmem_ms": inmem * 1e3 / len(docs), "glass_ms": glass * 1e3 / len(docs),
                      "commit_ms": commits[len(commits) // 2] * 1e3 if commits else 0.0}))


if __name__ == "__main__":
    main()
