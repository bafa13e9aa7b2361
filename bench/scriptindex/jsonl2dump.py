#!/usr/bin/env python3
"""jsonl2dump.py: converts polysearch JSON Lines into scriptindex dump files.

Usage: jsonl2dump.py INPUT.jsonl OUTDIR
Writes OUTDIR/<lang>.dump (one per `lang` value, which is the corpus's
ground truth: scriptindex cannot detect languages) in scriptindex's input
format: records of name=value lines separated by a blank line, a newline
inside a value escaped as newline + '='.  Prints "<lang> <stemmer> <path>"
per file on stdout for bench/index_bench.sh.  Standard library only.
"""
import json
import os
import sys

# ISO 639-1 -> scriptindex --stemmer name ('none' where Xapian has none).
STEMMERS = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan",
    "da": "danish", "nl": "dutch", "en": "english", "fi": "finnish",
    "fr": "french", "de": "german", "hu": "hungarian", "id": "indonesian",
    "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish",
}


def esc(s):
    return str(s).replace("\r", "").replace("\n", "\n=")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    files = {}
    with open(src, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            lang = d.get("lang") or "und"
            if lang not in files:
                files[lang] = open(os.path.join(outdir, lang + ".dump"), "w",
                                   encoding="utf-8")
            out = files[lang]
            for k in ("id", "title", "lang", "body"):
                out.write(f"{k}={esc(d.get(k, '') if k != 'lang' else lang)}\n")
            out.write("\n")
    for lang, out in sorted(files.items()):
        out.close()
        print(lang, STEMMERS.get(lang, "none"), out.name)


if __name__ == "__main__":
    main()
