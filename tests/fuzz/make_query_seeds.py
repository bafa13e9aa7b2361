#!/usr/bin/env python3
"""make_query_seeds.py [DIR]: writes the seed corpus of fuzz_query.

Each file is OPT_BYTES option bytes followed by the query text (layout in
tests/fuzz/fuzz_query.c).  The queries are the hostile table of
RELIABILITY.md (unbalanced quotes, 500 nested parentheses, bare NOT, 10k
terms, NUL bytes, invalid UTF-8, wildcard expansions past a small limit)
plus ordinary ones (phrases, title:, lang:, accents, boolean operators),
each under a few option settings.  Files are named seed-NN-<label>.
Default DIR: tests/fuzz/corpus/query next to this script.
"""
import os
import sys

SNIP, FACET, SPELL, DATE_SORT, LANG, DFROM, DTO, SMALLSNIP = (
    1, 2, 4, 8, 16, 32, 64, 128)


def opts(flags=0, lang=0, offset=0, limit=0, maxw=0, snip=0):
    return bytes([flags, lang, offset, limit, maxw, snip])


ALL = SNIP | FACET | SPELL

SEEDS = [
    ("word", opts(ALL, limit=20), b"sante"),
    ("accents", opts(ALL), "santé économie".encode()),
    ("accent-caps", opts(SNIP), "SANTÉ Économie Straße".encode()),
    ("phrase", opts(SNIP, limit=5), b'"hub sante"'),
    ("phrase-unbalanced", opts(ALL), b'"hub sante'),
    ("quote-only", opts(ALL), b'"'),
    ("quotes-odd", opts(ALL), b'"a" "b" "c'),
    ("title", opts(SNIP | FACET), b"title:lyonbiopole"),
    ("title-empty", opts(ALL), b"title:"),
    ("lang-prefix", opts(FACET), b"lang:fr innovation"),
    ("lang-bad", opts(FACET), b"lang:zz lang:"),
    ("lang-filter-fr", opts(LANG | SNIP, lang=1), b"innovation"),
    ("lang-filter-bad", opts(LANG, lang=7), b"innovation"),
    ("lang-filter-und", opts(LANG | FACET, lang=4), "中文".encode()),
    ("bool", opts(ALL), b"sante AND (region OR lyon) NOT paris"),
    ("bare-not", opts(ALL), b"NOT"),
    ("not-not", opts(ALL), b"NOT NOT sante"),
    ("bare-and-or", opts(ALL), b"AND OR"),
    ("trailing-op", opts(ALL), b"sante AND"),
    ("parens-500", opts(SNIP), b"(" * 500 + b"sante" + b")" * 500),
    ("parens-open", opts(SNIP), b"(" * 60),
    ("parens-close", opts(SNIP), b")" * 60 + b"sante"),
    ("terms-10k", opts(SNIP), b"a " * 10000),
    ("terms-2k", opts(SNIP | SPELL), b" ".join(
        bytes([97 + i % 26, 97 + i // 26 % 26]) for i in range(1300))),
    ("nul-inside", opts(ALL), b"sante\x00region"),
    ("nul-first", opts(ALL), b"\x00sante"),
    ("invalid-utf8", opts(ALL), b"\xff\xfe sant\xc3 \xc3\xa9\xc3"),
    ("overlong", opts(ALL), b"\xc0\xaf \xe0\x80\x80 \xed\xa0\x80"),
    ("wildcard", opts(SNIP, maxw=0), b"innov*"),
    ("wildcard-small-limit", opts(SNIP, maxw=2), b"s*"),
    ("wildcard-a", opts(ALL, maxw=5), b"a*"),
    ("wildcard-star", opts(ALL), b"* ** *a"),
    ("wildcard-not", opts(ALL, maxw=3), b"bio* NOT bio*"),
    ("near", opts(SNIP), b"sante NEAR region"),
    ("near-huge", opts(SNIP), b"a NEAR/99999999999999999 b"),
    ("adj", opts(SNIP), b"hub ADJ/3 sante"),
    ("plus-minus", opts(ALL), b"+sante -paris +-+-"),
    ("cjk", opts(ALL), "中文检索 测试".encode()),
    ("ligatures", opts(ALL), "naïve ﬁle œuvre ǅ".encode()),
    ("date-sort", opts(DATE_SORT | SNIP, offset=2, limit=3), b"la"),
    ("date-range", opts(DFROM | DTO | FACET, lang=0x20), b"la"),
    ("date-bad", opts(DFROM, lang=0x10), b"la"),
    ("offset-big", opts(SNIP, offset=255, limit=63), b"la"),
    ("snippet-tiny", opts(SNIP | SMALLSNIP, snip=3), "santé région".encode()),
    ("apostrophe", opts(SNIP), "l'économie l’échelle d'aujourd'hui".encode()),
    ("controls", opts(ALL), b"\t\n\r\x01\x1f sante"),
    ("empty", opts(ALL), b""),
    ("colon", opts(ALL), b": :: title::x lang:::"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "corpus", "query")
    os.makedirs(out, exist_ok=True)
    for i, (label, o, q) in enumerate(SEEDS):
        with open(os.path.join(out, "seed-%02d-%s" % (i, label)), "wb") as f:
            f.write(o + q)
    print("%d seeds written to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
