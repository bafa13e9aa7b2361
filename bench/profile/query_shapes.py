#!/usr/bin/env python3
"""query_shapes.py: what the shape of a multilingual query costs at scale.

Usage: /usr/bin/python3 bench/profile/query_shapes.py DB QUERIES VARIANTS
  DB        a polysearch database (e.g. bench/out/search/ps-1m.db)
  QUERIES   one query per line (bench/data/queries.txt)
  VARIANTS  comma-separated, the first is the reference:
    cur             polysearch's shape (lib/core/search.cc join_languages):
                    the exact parse OR one stemmed parse per group of
                    languages that parse alike, each FILTERed to them
    nofilter        the same without the language filters
    maybe           (stemmed branches OR exact filtered to the languages
                    without a stemmer) AND_MAYBE exact: same matches and
                    weights, the exact branch only scored
    unified         one tree: each term is an OP_SYNONYM of its exact and
                    stemmed forms (queries with phrases fall back to cur)
    unified_or      the same with OP_OR
    exact           the exact parse only (no stemming: the floor)
Two timed passes per variant over all queries (get_mset(0, 10), one
thread, python3-xapian); p50/p95 per query; then how many top-10 lists
are identical to the reference's and the mean overlap.  The parse is
polysearch's (same flags, prefixes, STEM_ALL_Z, AND as default) without
synonyms or snippets.  Results: bench/RESULTS.md, search-shapes.
"""
import sys, time, unicodedata, xapian
db = xapian.Database(sys.argv[1])
queries = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip()]
variants = sys.argv[3].split(",")
LANGS = {"de": "german", "en": "english", "es": "spanish", "fr": "french",
         "it": "italian", "nl": "dutch", "pt": "portuguese", "pl": None}
FLAGS = (xapian.QueryParser.FLAG_PHRASE | xapian.QueryParser.FLAG_BOOLEAN |
         xapian.QueryParser.FLAG_LOVEHATE | xapian.QueryParser.FLAG_WILDCARD)
def strip(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
def qp(stem=None):
    p = xapian.QueryParser(); p.set_database(db); p.set_default_op(xapian.Query.OP_AND)
    p.add_prefix("title", "S"); p.add_boolean_prefix("lang", "L")
    if stem:
        p.set_stemmer(xapian.Stem(stem)); p.set_stemming_strategy(xapian.QueryParser.STEM_ALL_Z)
    return p
P = {l: qp(s) for l, s in LANGS.items() if s}
E = qp()
def branches(q):
    ex = E.parse_query(q, FLAGS)
    groups = {}
    for l, p in P.items():
        sq = p.parse_query(q, FLAGS)
        k = sq.serialise()
        groups.setdefault(k, [sq, []])[1].append(l)
    return ex, list(groups.values())
def build(v, q):
    ex, groups = branches(q)
    filt = lambda ls: xapian.Query(xapian.Query.OP_OR, [xapian.Query("L" + l) for l in ls])
    if v == "cur":
        parts = [ex] + [xapian.Query(xapian.Query.OP_FILTER, sq, filt(ls)) for sq, ls in groups]
        return xapian.Query(xapian.Query.OP_OR, parts)
    if v == "nofilter":
        return xapian.Query(xapian.Query.OP_OR, [ex] + [sq for sq, ls in groups])
    if v == "maybe":
        nostem = [l for l in LANGS if not LANGS[l]] 
        parts = [xapian.Query(xapian.Query.OP_FILTER, sq, filt(ls)) for sq, ls in groups]
        parts.append(xapian.Query(xapian.Query.OP_FILTER, ex, filt(nostem)))
        return xapian.Query(xapian.Query.OP_AND_MAYBE, xapian.Query(xapian.Query.OP_OR, parts), ex)
    if v == "maybe_nofilter":
        return xapian.Query(xapian.Query.OP_AND_MAYBE,
                            xapian.Query(xapian.Query.OP_OR, [ex] + [sq for sq, ls in groups]), ex)
    if v in ("unified", "unified_or"):
        trees = [ex] + [sq for sq, ls in groups]
        op = xapian.Query.OP_SYNONYM if v == "unified" else xapian.Query.OP_OR
        def uni(ts):
            t = ts[0].get_type(); n = ts[0].get_num_subqueries()
            if any(x.get_type() != t or x.get_num_subqueries() != n for x in ts):
                raise ValueError
            if t == 100:
                terms = []
                for x in ts:
                    for term in x:
                        if term not in terms: terms.append(term)
                if len(terms) == 1: return xapian.Query(terms[0])
                return xapian.Query(op, [xapian.Query(tm) for tm in terms])
            if t not in (0, 1, 2, 4):   # AND OR AND_NOT AND_MAYBE
                raise ValueError
            return xapian.Query(t, [uni([x.get_subquery(i) for x in ts]) for i in range(n)])
        try:
            return uni(trees)
        except ValueError:
            FALLBACK[0] += 1
            return build("cur", q)
    if v == "exact":
        return ex
    raise SystemExit("variant?")
FALLBACK=[0]
enq = xapian.Enquire(db)
res = {}
for v in variants:
    FALLBACK[0] = 0
    for rnd in range(2):
        t0 = time.perf_counter(); tops = []; times = []
        for q in queries:
            s = strip(q).replace("'", " ")
            t1 = time.perf_counter()
            try:
                enq.set_query(build(v, s))
                m = enq.get_mset(0, 10)
                tops.append([x.docid for x in m])
            except xapian.Error as e:
                tops.append(None)
            times.append(time.perf_counter() - t1)
        times.sort()
        res[v] = tops
        print("%-15s round %d: total %.1f s  p50 %.2f ms  p95 %.1f ms" % (v, rnd, time.perf_counter() - t0,
              1000 * times[len(times)//2], 1000 * times[int(len(times)*.95)]), "fallbacks", FALLBACK[0], flush=True)
base = res[variants[0]]
for v in variants[1:]:
    same = sum(1 for a, b in zip(base, res[v]) if a == b)
    ov = sum(len(set(a or []) & set(b or [])) for a, b in zip(base, res[v])) / max(1, sum(len(a or []) for a in base))
    print("%s vs %s: identical top10 %d/%d, overlap %.3f" % (v, variants[0], same, len(base), ov))
