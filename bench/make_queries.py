#!/usr/bin/env python3
"""make_queries.py: builds the benchmark query set from the corpus.

Usage: make_queries.py [--corpus FILE] [--out FILE] [--count N] [--seed S]
Defaults: bench/data/corpus-100k.jsonl -> bench/data/queries.txt, 1200
queries, seed 20240917.  Deterministic: the same corpus and seed give the
same file.  One query per line, in the syntax every engine understands
(bare words are ANDed, "..." is a phrase), drawn from real documents:

  single   one word of a document (30 %)
  pair     two words of the same document (25 %)
  phrase   2-3 consecutive words of a paragraph, quoted (15 %)
  unaccent a word or pair with diacritics, written without them (10 %)
  accent   the same kind of word written with its diacritics (5 %)
  upper    a word in upper case (5 %)
  mixed    a word of a translated page with an English word of the same
           page, or two words of documents in two languages, OR'ed (10 %)

Words are 3-24 letters, neither too rare (>= 3 documents in the sample of
documents read) nor too common (<= 5 % of them), so queries select.
A summary by kind and language goes to stderr.  Standard library only.
"""
import argparse
import collections
import json
import os
import random
import re
import sys
import unicodedata

WORD = re.compile(r"(?<![\w./@-])[^\W\d_]{3,24}(?![\w/@-])")
KINDS = [("single", 30), ("pair", 25), ("phrase", 15), ("unaccent", 10),
         ("accent", 5), ("upper", 5), ("mixed", 10)]


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s)
                   if not unicodedata.combining(c))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="benchmark query set")
    ap.add_argument("--corpus", default=os.path.join(here, "data", "corpus-100k.jsonl"))
    ap.add_argument("--out", default=os.path.join(here, "data", "queries.txt"))
    ap.add_argument("--count", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("--sample-docs", type=int, default=20000)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    docs = []
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs.append((d["lang"], d["body"]))
    if not docs:
        sys.exit("make_queries.py: empty corpus")
    docs.sort(key=lambda x: x[1])  # independent of input order
    sample = rng.sample(docs, min(args.sample_docs, len(docs)))
    df = collections.Counter()
    by_lang = collections.defaultdict(list)
    for lang, body in sample:
        df.update({w.lower() for w in WORD.findall(body)})
        by_lang[lang].append(body)
    hi = max(3, len(sample) // 20)
    good = {w for w, n in df.items() if 3 <= n <= hi}
    english = {w for lang, body in sample if lang == "en"
               for w in WORD.findall(body.lower())} & good

    def words(body):
        return [w for w in WORD.findall(body) if w.lower() in good]

    def pick_doc(pred=None):
        for _ in range(200):
            lang, body = rng.choice(sample)
            ws = words(body)
            if ws and (pred is None or pred(lang, ws)):
                return lang, body, ws
        return None

    def accented(ws):
        return [w for w in ws if strip_accents(w) != w]

    def make(kind):
        if kind == "single":
            d = pick_doc()
            return d and (d[0], rng.choice(d[2]).lower())
        if kind == "pair":
            d = pick_doc(lambda lang, ws: len(set(ws)) >= 2)
            if not d:
                return None
            a, b = rng.sample(sorted(set(w.lower() for w in d[2])), 2)
            return d[0], f"{a} {b}"
        if kind == "phrase":
            d = pick_doc()
            if not d:
                return None
            paras = [p for p in d[1].split("\n\n") if len(p) > 40]
            if not paras:
                return None
            toks = re.findall(r"\S+", rng.choice(paras))
            n = rng.choice((2, 2, 3))
            for _ in range(20):
                if len(toks) < n:
                    return None
                i = rng.randrange(len(toks) - n + 1)
                seq = toks[i:i + n]
                if all(WORD.fullmatch(t) for t in seq) and any(t.lower() in good for t in seq):
                    return d[0], '"' + " ".join(t.lower() for t in seq) + '"'
            return None
        if kind in ("unaccent", "accent"):
            d = pick_doc(lambda lang, ws: bool(accented(ws)))
            if not d:
                return None
            w = rng.choice(accented(d[2])).lower()
            if rng.random() < 0.4:
                w = f"{w} {rng.choice(d[2]).lower()}"
            return d[0], strip_accents(w) if kind == "unaccent" else w
        if kind == "upper":
            d = pick_doc()
            return d and (d[0], rng.choice(d[2]).upper())
        if kind == "mixed":
            if rng.random() < 0.5:
                d = pick_doc(lambda lang, ws: lang != "en"
                             and any(w.lower() in english for w in ws)
                             and any(w.lower() not in english for w in ws))
                if not d:
                    return None
                en = rng.choice([w for w in d[2] if w.lower() in english]).lower()
                native = rng.choice([w for w in d[2] if w.lower() not in english]).lower()
                return d[0] + "+en", f"{native} {en}"
            a = pick_doc()
            b = pick_doc(lambda lang, ws: a is not None and lang != a[0])
            if not a or not b:
                return None
            return f"{a[0]}+{b[0]}", f"{rng.choice(a[2]).lower()} OR {rng.choice(b[2]).lower()}"
        raise ValueError(kind)

    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    seen = set()
    out = []
    stats = collections.Counter()
    tries = 0
    while len(out) < args.count and tries < args.count * 50:
        tries += 1
        kind = rng.choices(names, weights)[0]
        r = make(kind)
        if not r or r[1] in seen:
            continue
        seen.add(r[1])
        out.append(r[1])
        stats[kind] += 1
        stats["lang " + r[0]] += 1
    if len(out) < args.count:
        sys.exit(f"make_queries.py: only {len(out)} queries could be made")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, args.out)
    print(f"make_queries.py: {len(out)} queries -> {args.out}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
