"""e2e: polysearch-index --parallel-build (indexer/bulk.c, lib/core/bulk.cc).

The sample corpus (../shared/corpus/sample.jsonl, 2005 documents) plus a
file with a changed duplicate and a malformed line is indexed serially
(--parallel-build off) and in parallel (--parallel-build 2):
  - same summary line and exit status (65: the malformed line);
  - the same documents, compared with Xapian's Python bindings: for every
    id the stored data, the values, and every term with its wdf and
    positions; the same spelling words and frequencies; the same
    statistics (documents, lengths, term frequencies);
  - the same answers from polysearchd on each database for a set of
    queries with facets and spelling on: totals, hits (ids and weights;
    equal weights may come in another order), language facets, spelling
    suggestions, snippets;
  - the parallel database is compact (smaller than the serial one) and
    nothing of the build is left beside it;
  - a rerun on it is incremental and in place (2005 unchanged, no
    parallel build), and a changed document is updated;
  - auto (the default) builds a small input serially; usage errors.
Skips (77) without the sample corpus or python3-xapian.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check  # noqa: E402

try:
    import xapian
except ImportError as e:
    pstest.skip("Xapian's Python bindings are missing for %s (%s): install python3-xapian "
                "(scripts/install-deps)" % (sys.executable, e))

SHARED = os.environ.get("PS_SHARED_DIR") or os.path.join(pstest.source_dir(), "..", "shared")
SAMPLE = os.path.join(SHARED, "corpus", "sample.jsonl")
if not os.path.exists(SAMPLE):
    pstest.skip("no %s" % SAMPLE)

QUERIES = [
    "Maschinenarchitektur", "hardware", "fichier", "Datei OR file", "kernel module",
    "printf", "lang:de", "\"standard output\"", "option*", "title:manual",
    "mot NOT fichier", "Programm", "usuario", "configuration", "sytem", "konfigurasion",
    "fichieer", "reseau", "utente", "bestand", "plik", "arquivo", "directory -file",
]


def run(args, stdin=None):
    r = subprocess.run([pstest.indexer_path()] + args, stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def summary(out):
    m = re.search(r"added \d+, updated \d+, unchanged \d+, deleted \d+, skipped \d+, failed \d+",
                  out)
    check(m is not None, "no summary line in %r" % out)
    return m.group(0)


def doc_map(path):
    """id -> (data, values, terms with wdf and positions) of every document."""
    db = xapian.Database(path)
    docs = {}
    for pi in db.postlist(""):
        d = db.get_document(pi.docid)
        ident = None
        terms = []
        for t in d.termlist():
            term = t.term.decode("utf-8", "surrogateescape")
            if term.startswith("Q"):
                ident = term[1:]
            terms.append((term, t.wdf, tuple(db.positionlist(pi.docid, t.term))))
        # Slot 4 is the change seq, stamped by a serial run only (a bulk
        # build stamps none: polysearch.h, "Change sequence numbers").
        vals = sorted((v.num, v.value) for v in d.values() if v.num != 4)
        check(ident is not None, "%s: document %d has no id term" % (path, pi.docid))
        check(ident not in docs, "%s: id %s twice" % (path, ident))
        docs[ident] = (d.get_data(), vals, terms)
    return db, docs


def compare_databases(serial, par):
    sdb, sdocs = doc_map(serial)
    pdb, pdocs = doc_map(par)
    check(sorted(sdocs) == sorted(pdocs), "different ids: %d vs %d documents"
          % (len(sdocs), len(pdocs)))
    for ident, v in sdocs.items():
        check(pdocs[ident] == v, "document %s differs between the builds" % ident)
    check(sdb.get_doccount() == pdb.get_doccount(), "doccount")
    check(sdb.get_total_length() == pdb.get_total_length(), "total length")
    check(sdb.get_doclength_lower_bound() == pdb.get_doclength_lower_bound() and
          sdb.get_doclength_upper_bound() == pdb.get_doclength_upper_bound(), "length bounds")
    sterms = [(t.term, t.termfreq) for t in sdb.allterms()]
    pterms = [(t.term, t.termfreq) for t in pdb.allterms()]
    check(sterms == pterms, "different term lists (%d vs %d terms)" % (len(sterms), len(pterms)))
    for slot in (0, 1, 2):
        check(sdb.get_value_freq(slot) == pdb.get_value_freq(slot) and
              sdb.get_value_lower_bound(slot) == pdb.get_value_lower_bound(slot) and
              sdb.get_value_upper_bound(slot) == pdb.get_value_upper_bound(slot),
              "value slot %d statistics differ" % slot)
    sspell = [(t.term, t.termfreq) for t in sdb.spellings()]
    pspell = [(t.term, t.termfreq) for t in pdb.spellings()]
    check(len(sspell) > 1000, "serial build: only %d spelling words" % len(sspell))
    check(sspell == pspell, "different spelling tables (%d vs %d words)"
          % (len(sspell), len(pspell)))
    # ... and the counter of change seqs that goes with it.
    skeys = [k for k in sdb.metadata_keys() if k != b"polysearch.wal_seq"]
    check(skeys == list(pdb.metadata_keys()), "metadata keys differ: %r" % skeys)
    for k in skeys:
        check(sdb.get_metadata(k) == pdb.get_metadata(k), "metadata %r differs" % k)
    print("ok: same %d documents (data, values, terms, wdf, positions), %d terms, "
          "%d spelling words" % (len(sdocs), len(sterms), len(sspell)))


def by_weight(hits):
    """The hits as (weight rounded, sorted ids of that weight) groups."""
    groups = []
    for h in hits:
        w = round(h["score"], 9)
        if groups and groups[-1][0] == w:
            groups[-1][1].append(h["id"])
        else:
            groups.append((w, [h["id"]]))
    return [(w, sorted(ids)) for w, ids in groups]


def compare_searches(tmp, serial, par):
    answers = []
    for name, db in (("serial", serial), ("parallel", par)):
        with pstest.Daemon(db, tmp, log_name="daemon-%s.log" % name) as d:
            c = d.client()
            got = []
            for q in QUERIES:
                for lang in (None, "fr"):
                    params = {"q": q, "limit": 1000, "facets": True, "spelling": True}
                    if lang:
                        params["lang"] = lang
                    err, res = c.call("search", params)
                    check(err is None, "%s: search %r: %r" % (name, q, err))
                    got.append(res)
            err, stats = c.call("stats")
            check(err is None, "stats: %r" % (err,))
            got.append({"documents": stats.get("documents"), "languages": stats.get("languages")})
            c.close()
            answers.append(got)
    nsugg = nhits = 0
    for i, (s, p) in enumerate(zip(*answers)):
        if "documents" in s:
            check(s == p, "stats differ: %r vs %r" % (s, p))
            continue
        q = QUERIES[i // 2]
        check(s["total"] == p["total"], "[%s] total %d vs %d" % (q, s["total"], p["total"]))
        check(s.get("facets") == p.get("facets"), "[%s] facets %r vs %r"
              % (q, s.get("facets"), p.get("facets")))
        check(s.get("suggestion") == p.get("suggestion"), "[%s] suggestion %r vs %r"
              % (q, s.get("suggestion"), p.get("suggestion")))
        check(by_weight(s["hits"]) == by_weight(p["hits"]), "[%s] hits differ" % q)
        snip_s = {h["id"]: h.get("snippet") for h in s["hits"]}
        snip_p = {h["id"]: h.get("snippet") for h in p["hits"]}
        check(snip_s == snip_p, "[%s] snippets differ" % q)
        nsugg += 1 if s.get("suggestion") else 0
        nhits += len(s["hits"])
    check(nsugg >= 3, "only %d queries got a suggestion: the test lost its point" % nsugg)
    check(nhits >= 500, "only %d hits in all: the test lost its point" % nhits)
    print("ok: same answers to %d searches (%d hits, %d suggestions, facets, stats)"
          % (len(answers[0]) - 1, nhits, nsugg))


def main():
    with pstest.workdir() as tmp:
        extra = os.path.join(tmp, "extra.jsonl")
        with open(SAMPLE, encoding="utf-8") as f:
            first = json.loads(f.readline())
        first["body"] += "\n\nA later copy with another paragraph."
        with open(extra, "w", encoding="utf-8") as f:
            f.write(json.dumps(first, ensure_ascii=False) + "\n")
            f.write("{not json\n")
            f.write(json.dumps({"id": "extra-1", "lang": "en", "title": "Extra page",
                                "body": "An extra page about wombats."}) + "\n")
        serial = os.path.join(tmp, "serial")
        par = os.path.join(tmp, "par")
        rc_s, out_s, err_s = run(["--db", serial, "--parallel-build", "off", "-v",
                                  SAMPLE, extra])
        rc_p, out_p, err_p = run(["--db", par, "--parallel-build", "2", "-v", SAMPLE, extra])
        check(rc_s == 65 and rc_p == 65, "exit %d / %d (want 65: one malformed line)\n%s"
              % (rc_s, rc_p, err_p[-2000:]))
        check(summary(out_s) == summary(out_p), "summaries differ: %r vs %r"
              % (out_s, out_p))
        check("added 2006, updated 1, unchanged 0, deleted 0, skipped 0, failed 1" in out_p,
              "summary: %r" % out_p)
        check("parallel build of" in err_p and "committed 2007 documents (total 2006)" in err_p,
              "parallel run's log: %s" % err_p[-2000:])
        check("parallel build" not in err_s, "--parallel-build off built in parallel")
        print("ok: same summary: " + summary(out_p))
        compare_databases(serial, par)
        compare_searches(tmp, serial, par)

        def size(p):
            return sum(os.path.getsize(os.path.join(p, n)) for n in os.listdir(p))
        check(size(par) < size(serial), "parallel database %d bytes, serial %d"
              % (size(par), size(serial)))
        left = [n for n in os.listdir(tmp) if ".bulk-" in n]
        check(not left, "left beside the database: %r" % left)
        print("ok: compact (%d vs %d bytes), nothing left" % (size(par), size(serial)))

        # Incremental runs stay in place.
        rc, out, err = run(["--db", par, "--parallel-build", "2", "-v", SAMPLE])
        check(rc == 0 and "added 0, updated 1, unchanged 2004" in out,
              "rerun: exit %d: %s %s" % (rc, out, err[-500:]))
        check("parallel build" not in err, "a rerun built in parallel: %s" % err[-500:])
        changed = os.path.join(tmp, "changed.jsonl")
        with open(changed, "w", encoding="utf-8") as f:
            first["body"] += " Changed again."
            f.write(json.dumps(first, ensure_ascii=False) + "\n")
        rc, out, err = run(["--db", par, changed])
        check(rc == 0 and "added 0, updated 1, unchanged 0" in out, "update: %s %s" % (out, err))
        print("ok: reruns on the parallel database are incremental")

        # auto: a small input is indexed serially; 2005 documents, batch 1000.
        auto = os.path.join(tmp, "auto")
        rc, out, err = run(["--db", auto, "-v", SAMPLE])
        check(rc == 0 and "committed 1000 documents (total 1000)" in err and
              "parallel build" not in err, "auto on a small input: %s" % err[-500:])
        # From stdin (size known: a regular file) with --parallel-build.
        stdin_db = os.path.join(tmp, "stdin")
        with open(SAMPLE, "rb") as f:
            rc, out, err = run(["--db", stdin_db, "--parallel-build", "3", "-v", "-"], stdin=f)
        check(rc == 0 and "added 2005," in out and "committed 2005 documents (total 2005)" in err,
              "stdin: %s %s" % (out, err[-500:]))
        print("ok: auto builds small inputs serially; 3 writers from stdin")

        for args, what in ((["--parallel-build", "0"], "range"),
                           (["--parallel-build", "x"], "not a number"),
                           (["--parallel-build", "17"], "range"),
                           (["--parallel-build", "2", "--jobs", "1"], "--jobs"),
                           (["--parallel-build", "2", "--shards", "2"], "shard"),
                           (["--parallel-build", "2", "--server", "127.0.0.1:1"], "--server")):
            rc, out, err = run(["--db", os.path.join(tmp, "u")] + args + [SAMPLE])
            check(rc == 64 and "--parallel-build" in err, "%r: exit %d: %s" % (args, rc, err))
        check(not os.path.exists(os.path.join(tmp, "u")), "a usage error made a database")
        print("ok: usage errors")
    print("all checks passed")


if __name__ == "__main__":
    main()
