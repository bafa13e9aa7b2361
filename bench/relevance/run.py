#!/usr/bin/env python3
"""run.py: runs every topic of the relevance benchmark, in every form,
against every engine, and writes the top 10 ids of each search.

Usage: run.py TOPICS.jsonl RUNS.jsonl [--polysearch ADDR] [--variant NAME=JSON]...
              [--sphinx PORT --corpus CORPUS.jsonl] [--scriptindex DB]
              [--limit 10]

Engines (each optional; at least one):
  --polysearch ADDR  polysearchd over MessagePack-RPC (clients/python).
                     The query goes as written, without its language (users
                     do not say it: polysearch matches each document with
                     its own language's analysis).  Each --variant NAME=JSON
                     is one column: the JSON object's keys are added to
                     every search request, so a feature switch is one more
                     variant, e.g. --variant 'features off={"synonyms":
                     false}' --variant 'features on={}' (the default: those
                     two; a future compound or plural switch of issue 17
                     goes into the same objects).
  --sphinx PORT      Sphinx searchd (bench/sphinx configuration) over
                     SphinxQL with python3-pymysql: SELECT id FROM ps WHERE
                     MATCH(q) LIMIT 10 on the distributed index `ps` over
                     the per-language indexes (each stems with its own
                     language).  Sphinx's ids are corpus line numbers
                     (bench/sphinx/xmlpipe.py): --corpus maps them back.
  --scriptindex DB   the scriptindex database (build_scriptindex.sh) with
                     python3-xapian, searched as Omega searches by default:
                     Xapian::QueryParser, default operator AND (Omega's
                     DEFAULTOP default since 1.3.0), stemming strategy
                     STEM_SOME (Omega's default), flags FLAG_DEFAULT
                     (phrase, boolean, love/hate: Omega's flag_default), with
                     the stemmer of the TOPIC's language (an advantage the
                     other engines do not get) and no stop list, BM25.

One JSON line per search on RUNS.jsonl: {"engine", "topic", "form",
"hits": [ids, best first], "error"?, "expanded"? (polysearch: the query was
expanded by synonyms)}.  Progress and errors on stderr, a summary on stdout.
Exit 64 usage, 69 a client module or an engine unavailable, 70 otherwise.
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FORMS = ("written", "plain", "upper")


def log(msg):
    print(f"run.py: {msg}", file=sys.stderr, flush=True)


class Polysearch:
    """polysearchd, one connection, one request per search."""

    def __init__(self, addr, name, extra):
        sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
        try:
            import polysearch_client  # noqa: E402 (needs python3-msgpack)
        except ImportError as e:
            log(f"cannot import the polysearch client ({e}): apt-get install python3-msgpack")
            sys.exit(69)
        self.mod = polysearch_client
        self.client = polysearch_client.Client(addr, timeout=30)
        self.name, self.extra = name, extra

    def search(self, q, lang, limit):
        res = self.client.search(q, limit=limit, snippet=False, **self.extra)
        out = {"hits": [h["id"] for h in res["hits"]]}
        if res.get("expanded"):
            out["expanded"] = True
        return out


class Sphinx:
    """Sphinx searchd over SphinxQL: the distributed index `ps`."""

    def __init__(self, port, corpus):
        try:
            import pymysql
        except ImportError:
            log("python3-pymysql missing: apt-get install python3-pymysql")
            sys.exit(69)
        self.conn = pymysql.connect(host="127.0.0.1", port=port, user="",
                                    autocommit=True, charset="utf8")
        self.name = "sphinx"
        # Sphinx document ids are the corpus's 1-based line numbers.
        idre = re.compile(r'"id":\s*"((?:[^"\\]|\\.)*)"')
        self.ids = [None]
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                m = idre.search(line, 0, 2000)
                self.ids.append(json.loads(f'"{m.group(1)}"') if m else None)

    def search(self, q, lang, limit):
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT id FROM ps WHERE MATCH(%s) LIMIT {int(limit)}", (q,))
            return {"hits": [self.ids[int(r[0])] for r in cur.fetchall()]}


class Scriptindex:
    """The scriptindex database, searched the way Omega does by default."""

    def __init__(self, db):
        try:
            import xapian
        except ImportError:
            log("python3-xapian missing: apt-get install python3-xapian")
            sys.exit(69)
        sys.path.insert(0, os.path.join(ROOT, "bench", "scriptindex"))
        from jsonl2dump import STEMMERS  # the stemmer each language was indexed with
        self.x, self.stemmers = xapian, STEMMERS
        self.db = xapian.Database(db)
        self.parsers = {}
        self.name = "scriptindex"

    def parser(self, lang):
        x = self.x
        if lang not in self.parsers:
            qp = x.QueryParser()
            qp.set_database(self.db)
            qp.set_stemmer(x.Stem(self.stemmers.get(lang, "none")))
            qp.set_stemming_strategy(x.QueryParser.STEM_SOME)
            qp.set_default_op(x.Query.OP_AND)
            self.parsers[lang] = qp
        return self.parsers[lang]

    def doc_id(self, doc):
        # The id is the unique boolean term Q<id> (polysearch.index: boolean=Q).
        for t in doc.termlist():          # sorted: stop past the Q terms
            if t.term.startswith(b"Q"):
                return t.term[1:].decode("utf-8")
            if t.term > b"Q":
                break
        return None

    def search(self, q, lang, limit):
        query = self.parser(lang).parse_query(q, self.x.QueryParser.FLAG_DEFAULT)
        enq = self.x.Enquire(self.db)
        enq.set_query(query)
        return {"hits": [self.doc_id(m.document) for m in enq.get_mset(0, limit)]}


def parse_variant(s):
    name, sep, js = s.partition("=")
    try:
        extra = json.loads(js) if sep else None
    except ValueError:
        extra = None
    if not name or not isinstance(extra, dict):
        log(f"--variant wants NAME=JSON-OBJECT, not {s!r}")
        sys.exit(64)
    return name, extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topics")
    ap.add_argument("runs")
    ap.add_argument("--polysearch")
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--sphinx", type=int)
    ap.add_argument("--corpus")
    ap.add_argument("--scriptindex")
    ap.add_argument("--limit", type=int, default=10)
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(64 if e.code else 0)
    if a.sphinx and not a.corpus:
        log("--sphinx needs --corpus (to map Sphinx ids back)")
        sys.exit(64)
    topics = [json.loads(l) for l in open(a.topics, encoding="utf-8") if l.strip()]

    engines = []
    try:
        if a.polysearch:
            variants = [parse_variant(v) for v in a.variant] or [
                ("features off", {"synonyms": False}), ("features on", {})]
            for name, extra in variants:
                engines.append(Polysearch(a.polysearch, f"polysearch, {name}", extra))
        if a.sphinx:
            engines.append(Sphinx(a.sphinx, a.corpus))
        if a.scriptindex:
            engines.append(Scriptindex(a.scriptindex))
    except (OSError, ConnectionError) as e:
        log(f"engine unavailable: {e}")
        sys.exit(69)
    if not engines:
        log("no engine given (--polysearch, --sphinx, --scriptindex)")
        sys.exit(64)

    summary = []
    with open(a.runs, "w", encoding="utf-8") as out:
        for eng in engines:
            t0, errors, found = time.monotonic(), 0, 0
            for t in topics:
                for form in FORMS:
                    row = {"engine": eng.name, "topic": t["topic"], "form": form}
                    try:
                        row.update(eng.search(t["q"][form], t["lang"], a.limit))
                    except Exception as e:  # a failed search counts as a miss
                        errors += 1
                        row.update(hits=[], error=f"{type(e).__name__}: {e}")
                        if errors <= 5:
                            log(f"{eng.name}: topic {t['topic']} {form}: {row['error']}")
                    found += t["id"] in row["hits"]
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            dt = time.monotonic() - t0
            n = len(topics) * len(FORMS)
            summary.append(f"{eng.name}: {n} searches in {dt:.0f} s, target in top {a.limit}: "
                           f"{found} ({100 * found / max(1, n):.1f} %), errors {errors}")
            log(summary[-1])
    print("\n".join(summary))


if __name__ == "__main__":
    main()
