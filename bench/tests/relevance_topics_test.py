#!/usr/bin/env python3
"""relevance_topics_test.py: checks of the relevance benchmark's topic
generator (bench/relevance/make_topics.py) and scorer (report.py's rr) on
a small synthetic corpus made here: deterministic, well under a second,
standard library only.  Run by hand: /usr/bin/python3 bench/tests/relevance_topics_test.py
Prints "N passed, 0 failed" and exits 0, or exits 1 naming the failures.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "relevance"))
import make_topics as mt  # noqa: E402
import report  # noqa: E402


def corpus():
    """48 documents in 2 languages: a common word in all (a stop word by
    document frequency), rare words with and without diacritics (the first
    also in the title, upper-cased without diacritics: never drawn),
    numbers, short tokens and operators."""
    rng = random.Random(1)
    # 300 letter-only words, each in few documents (so none is a stop word).
    syll = ["ka", "lo", "mi", "ré", "tu", "gä", "vo", "ne", "pi", "zu"]
    rare = sorted({a + b + c for a in syll for b in syll for c in syll})[:300]
    docs = []
    for i in range(48):
        lang = "fr" if i % 2 else "de"
        words = rng.sample(rare, 8) + ["zebra"]
        body = (f"commonword titleword{i % 3} " * 5 + " ".join(words) * 2
                + " 12345 ab x86 file_name AND and NOT")
        docs.append({"id": f"{lang}/page{i // 7}.1#{i % 7}", "lang": lang,
                     "title": f"{mt.strip_diacritics(words[0]).upper()} - zebra", "body": body})
    return docs


def main():
    failures, passed = [], 0

    def check(name, cond):
        nonlocal passed
        if cond:
            passed += 1
        else:
            failures.append(name)

    docs = corpus()
    topics = mt.build(lambda: iter(docs), per_lang=5, seed=3, kmin=2, kmax=4)
    again = mt.build(lambda: iter(docs), per_lang=5, seed=3, kmin=2, kmax=4)
    check("deterministic", topics == again)
    check("per language", sorted(t["lang"] for t in topics) == ["de"] * 5 + ["fr"] * 5)
    by_id = {d["id"]: d for d in docs}
    for t in topics:
        d = by_id[t["id"]]
        title = {mt.fold(w) for w in mt.WORD.findall(d["title"])}
        body = set(mt.WORD.findall(d["body"]))
        check("k in range", 2 <= t["k"] <= 4 and len(t["terms"]) == t["k"])
        check("distinct terms", len({w.lower() for w in t["terms"]}) == t["k"])
        check("terms from the body", all(w in body for w in t["terms"]))
        check("no title word", not any(mt.fold(w) in title for w in t["terms"]))
        check("no stop/operator/short/number",
              not any(w.lower() in ("commonword", "and", "not", "ab") or not w.isalpha()
                      for w in t["terms"]))
        check("forms", t["q"]["upper"] == t["q"]["written"].upper()
              and t["q"]["plain"] == mt.strip_diacritics(t["q"]["written"]))
        check("page", t["page"] == t["id"].rsplit("#", 1)[0])
    check("strip_diacritics", mt.strip_diacritics("élève Gärtner łódź") == "eleve Gartner łodz")
    check("page_of", mt.page_of("pt/ls.1#r3-12") == "pt/ls.1" and mt.page_of("en/a#b.1#0") == "en/a#b.1")
    check("rr", report.rr(["a", "b", "c"], lambda h: h == "c") == 1 / 3
          and report.rr(["a"] * 10 + ["c"], lambda h: h == "c") == 0.0
          and report.rr([None, "c"], lambda h: h == "c") == 0.5)
    print(f"{passed} passed, {len(failures)} failed")
    if failures:
        print("failed: " + ", ".join(sorted(set(failures))), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
