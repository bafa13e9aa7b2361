#!/usr/bin/env python3
"""make_topics.py: simulated known-item topics for the relevance benchmark.

Usage: make_topics.py [--per-lang 250] [--seed 17] [--kmin 2] [--kmax 4]
                      CORPUS.jsonl TOPICS.jsonl

Follows Azzopardi, de Rijke and Balog, "Building simulated queries for
known-item topics" (SIGIR 2007): pick a target document, then draw a query
from a model of it.

* Targets: --per-lang documents of each language of the corpus (`lang`
  field), drawn uniformly at random with a fixed seed (same corpus, same
  seed: same file).  A document is skipped (the next one drawn) when its
  body has fewer than MIN_CANDIDATES distinct usable words.
* Query length k: uniform in [--kmin, --kmax].
* Terms: k distinct words drawn without replacement from the target's
  BODY, never a word of its title (compared case- and diacritic-folded),
  with the "popular + discriminative" selection model of the paper:
  p(t | d) proportional to tf(t, d) * idf(t), idf(t) = ln(N / df(t)) over
  the whole corpus (N documents, df on lower-cased words).  No noise
  (lambda = 0): every word is in the document.
* Usable words: maximal runs of Unicode word characters (\\w+) made of
  letters only (no digit, no underscore: `file_name`, `x86` are skipped,
  not split), at least 3 letters; not a stop word; not a word that a query
  parser of the engines reads as an operator when upper-cased (AND, OR,
  NOT, XOR, NEAR, ADJ, MAYBE, SENTENCE, PARAGRAPH).  Stop words are
  derived from the corpus (no stop list ships for every language, e.g.
  Polish): a word in more than STOP_DF of the documents of the target's
  language, or of the whole corpus.
* Each word is written in its most frequent surface form in the body (so
  German nouns keep their capital), and each topic has three forms:
  `written` (as in the body), `plain` (diacritics removed: NFD, combining
  marks dropped, NFC; letters NFD does not decompose such as Polish `ł`
  stay), `upper` (str.upper(): `ß` becomes `SS`).

One JSON object per line: {"topic", "id", "lang", "page", "k", "terms",
"q": {"written", "plain", "upper"}}; `page` is the id without its `#...`
chunk suffix (lang/page), used by the "same page" measure.  Prints a
summary on stdout.  Standard library only.  Exit 64 on bad usage.
"""
import argparse
import collections
import json
import math
import random
import re
import sys
import unicodedata

MIN_CANDIDATES = 6
STOP_DF = 0.10
OPERATORS = {"and", "or", "not", "xor", "near", "adj", "maybe", "sentence", "paragraph"}
WORD = re.compile(r"\w+")
FORMS = ("written", "plain", "upper")


def strip_diacritics(s):
    """NFD, combining marks removed, NFC again."""
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", s)
                       if not unicodedata.combining(c)))


def fold(s):
    """Case- and diacritic-folded form used to compare with the title."""
    return strip_diacritics(s).casefold()


def tokens(text):
    """The usable-shape tokens of text: letters only, >= 3 of them."""
    return [t for t in WORD.findall(text) if len(t) >= 3 and t.isalpha()]


def page_of(doc_id):
    """lang/page of a chunk id lang/page#N or lang/page#rK-N."""
    return doc_id.rsplit("#", 1)[0]


def weighted_sample(rng, items, weights, k):
    """k distinct items drawn without replacement, each draw proportional
    to its weight (explicit loop: stable across Python versions)."""
    items, weights = list(items), list(weights)
    out = []
    for _ in range(min(k, len(items))):
        r = rng.random() * sum(weights)
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if r < acc:
                break
        out.append(items.pop(i))
        weights.pop(i)
    return out


class Stats:
    """Document frequencies over the corpus, overall and per language."""

    def __init__(self):
        self.n = 0
        self.df = collections.Counter()
        self.n_lang = collections.Counter()
        self.df_lang = collections.defaultdict(collections.Counter)

    def add(self, lang, body):
        words = {t.lower() for t in tokens(body)}
        self.n += 1
        self.n_lang[lang] += 1
        self.df.update(words)
        self.df_lang[lang].update(words)

    def idf(self, w):
        return math.log(self.n / max(1, self.df[w]))

    def is_stop(self, lang, w):
        return (self.df[w] > STOP_DF * self.n
                or self.df_lang[lang][w] > STOP_DF * max(1, self.n_lang[lang]))


def candidates(stats, doc):
    """{lower-cased word: (tf, most frequent surface form)} of the usable
    words of doc's body that are not in its title."""
    title = {fold(t) for t in WORD.findall(doc.get("title", ""))}
    forms = collections.defaultdict(collections.Counter)
    for t in tokens(doc.get("body", "")):
        forms[t.lower()][t] += 1
    out = {}
    for w, c in forms.items():
        if (w in OPERATORS or fold(w) in title or stats.is_stop(doc["lang"], w)):
            continue
        out[w] = (sum(c.values()), c.most_common(1)[0][0])
    return out


def make_topic(rng, stats, doc, kmin, kmax):
    """A topic for doc, or None when its body has too few usable words."""
    cand = candidates(stats, doc)
    if len(cand) < MIN_CANDIDATES:
        return None
    words = sorted(cand)                      # fixed order for the sampler
    weights = [cand[w][0] * stats.idf(w) for w in words]
    k = rng.randint(kmin, kmax)
    terms = [cand[w][1] for w in weighted_sample(rng, words, weights, k)]
    q = " ".join(terms)
    return {"id": doc["id"], "lang": doc["lang"], "page": page_of(doc["id"]),
            "k": len(terms), "terms": terms,
            "q": {"written": q, "plain": strip_diacritics(q), "upper": q.upper()}}


def read_docs(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                d["lang"] = d.get("lang") or "und"
                yield d


def build(docs, per_lang, seed, kmin, kmax):
    """Topics from an iterable factory `docs` (called twice: statistics,
    then the targets' text).  Returns the list of topics."""
    stats = Stats()
    by_lang = collections.defaultdict(list)          # lang -> line numbers
    for n, d in enumerate(docs()):
        stats.add(d["lang"], d.get("body", ""))
        by_lang[d["lang"]].append(n)
    rng = random.Random(seed)
    # Each language's documents in a seeded random order; twice the wanted
    # number is read back (a few lack usable words), the first --per-lang
    # eligible ones in that order become targets.
    order = {}
    for lang in sorted(by_lang):
        lines = by_lang[lang][:]
        rng.shuffle(lines)
        order[lang] = lines[:max(2 * per_lang, per_lang + 50)]
    wanted = {n for lines in order.values() for n in lines}
    text = {n: d for n, d in enumerate(docs()) if n in wanted}
    topics = []
    for lang in sorted(order):
        got = 0
        for n in order[lang]:
            if got == per_lang:
                break
            t = make_topic(rng, stats, text[n], kmin, kmax)
            if t is not None:
                topics.append(t)
                got += 1
        if got < per_lang:
            print(f"make_topics.py: only {got} topics for {lang}", file=sys.stderr)
    for i, t in enumerate(topics, 1):
        t["topic"] = i
    return topics


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("topics")
    ap.add_argument("--per-lang", type=int, default=250)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--kmin", type=int, default=2)
    ap.add_argument("--kmax", type=int, default=4)
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(64 if e.code else 0)
    if not 1 <= a.kmin <= a.kmax or a.per_lang < 1:
        print("make_topics.py: need 1 <= kmin <= kmax and per-lang >= 1", file=sys.stderr)
        sys.exit(64)
    topics = build(lambda: read_docs(a.corpus), a.per_lang, a.seed, a.kmin, a.kmax)
    with open(a.topics, "w", encoding="utf-8") as f:
        for t in topics:
            f.write(json.dumps(t, ensure_ascii=False, sort_keys=True) + "\n")
    langs = collections.Counter(t["lang"] for t in topics)
    ks = collections.Counter(t["k"] for t in topics)
    plain = sum(t["q"]["plain"] != t["q"]["written"] for t in topics)
    print(f"make_topics.py: {len(topics)} topics ({', '.join(f'{l} {n}' for l, n in sorted(langs.items()))}); "
          f"k: {', '.join(f'{k}: {n}' for k, n in sorted(ks.items()))}; "
          f"{plain} with diacritics (their plain form differs) -> {a.topics}")


if __name__ == "__main__":
    main()
