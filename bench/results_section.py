#!/usr/bin/env python3
"""results_section.py: replaces one marked section of bench/RESULTS.md.

Usage: results_section.py NAME CONTENT_FILE [RESULTS_MD]
Replaces the text between "<!-- NAME:begin -->" and "<!-- NAME:end -->"
with CONTENT_FILE's text, leaving every other section untouched; when the
markers are missing they are appended at the end of the file (created if
absent).  The file is rewritten through a temporary file and rename().
"""
import os
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    name, content_file = sys.argv[1], sys.argv[2]
    path = sys.argv[3] if len(sys.argv) == 4 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    with open(content_file, encoding="utf-8") as f:
        content = f.read().rstrip("\n") + "\n"
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = "# polysearch benchmark results\n"
    i, j = text.find(begin), text.find(end)
    if i >= 0 and j > i:
        text = text[:i + len(begin)] + "\n" + content + text[j:]
    else:
        text = text.rstrip("\n") + f"\n\n{begin}\n{content}{end}\n"
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
