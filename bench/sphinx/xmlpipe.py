#!/usr/bin/env python3
"""xmlpipe.py: streams one language of a polysearch JSON Lines corpus as
Sphinx xmlpipe2 (the source of bench/sphinx/make_conf.py's indexes).

Usage: xmlpipe.py CORPUS.jsonl LANG
Document ids are the 1-based line numbers of the corpus, so they are unique
across the per-language indexes; fields title and body, string attribute
lang.  Characters XML 1.0 cannot carry are dropped.  Standard library only.
"""
import json
import re
import sys
from xml.sax.saxutils import escape

BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, lang = sys.argv[1], sys.argv[2]
    out = sys.stdout
    out.write('<?xml version="1.0" encoding="utf-8"?>\n<sphinx:docset>\n'
              '<sphinx:schema>\n<sphinx:field name="title"/>\n<sphinx:field name="body"/>\n'
              '<sphinx:attr name="lang" type="string"/>\n</sphinx:schema>\n')
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            if (d.get("lang") or "und") != lang:
                continue
            t = escape(BAD.sub("", d.get("title", "")))
            b = escape(BAD.sub("", d.get("body", "")))
            out.write(f'<sphinx:document id="{n}"><title>{t}</title><body>{b}</body>'
                      f'<lang>{lang}</lang></sphinx:document>\n')
    out.write("</sphinx:docset>\n")


if __name__ == "__main__":
    main()
