#!/usr/bin/env python3
"""chunk_corpus.py: turns rendered man pages into a JSON Lines corpus.

Reads RENDERED/<lang>/<section>-<page>.txt (man output, col -bx), and
writes {"id","title","lang","body"} lines, one per 1-3 KB chunk of a page
cut at paragraph boundaries.  Pass 0 cuts every page with a 1.5 KB target;
when that gives fewer than --docs documents, further passes cut the same
pages again with another target size and a shifted first paragraph (ids
lang/page#rK-N), so repeated text is split differently each time.  Output
is deterministic: pages are visited in sha1(id) order, identical rendered
pages (.so aliases) are kept once, and the output stops at --docs.
Standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import sys

MAX_CHUNK = 3000
MIN_DOC = 200
HEADER = re.compile(r"^\S.*\(\S+\)\s*$")


def parse_page(text):
    """Returns (name_line, [(heading, paragraph), ...]) of a rendered page."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    # Header "LS(1)  User Commands  LS(1)" and footer "GNU ... LS(1)".
    if lines and HEADER.match(lines[0]):
        lines = lines[1:]
    if lines and HEADER.match(lines[-1]):
        lines = lines[:-1]
    paras = []
    heading = ""
    cur = []

    def flush():
        if cur:
            paras.append((heading, " ".join(cur)))
            cur.clear()

    for line in lines:
        if not line.strip():
            flush()
            continue
        if not line[0].isspace():           # section heading at column 0
            flush()
            heading = line.strip()
            paras.append((heading, heading))
            continue
        cur.append(" ".join(line.split()))
    flush()
    name = ""
    for i, (_, p) in enumerate(paras):
        if i > 0 and p != paras[0][1]:
            name = p
            break
    return name[:200], paras


def split_long(p, limit):
    """Splits a paragraph longer than limit bytes at spaces."""
    out = []
    while len(p.encode()) > limit:
        cut = p.rfind(" ", 0, limit // 2)
        if cut <= 0:
            cut = limit // 2
        out.append(p[:cut])
        p = p[cut:].lstrip()
    out.append(p)
    return out


def chunks(paras, target, skip):
    """Yields (heading, body) chunks of about target bytes (<= MAX_CHUNK)."""
    items = []
    for h, p in paras[skip:]:
        for piece in split_long(p, 2500):
            items.append((h, piece))
    cur, size, head = [], 0, None
    result = []
    for h, p in items:
        n = len(p.encode()) + 2
        if cur and size + n > MAX_CHUNK:
            result.append((head, cur))
            cur, size, head = [], 0, None
        if head is None:
            head = h
        cur.append(p)
        size += n
        if size >= target:
            result.append((head, cur))
            cur, size, head = [], 0, None
    if cur:
        tail = sum(len(p.encode()) + 2 for p in cur)
        if result and sum(len(p.encode()) + 2 for p in result[-1][1]) + tail <= MAX_CHUNK:
            result[-1][1].extend(cur)
        else:
            result.append((head, cur))
    for h, body in result:
        text = "\n\n".join(body)
        if len(text.encode()) >= MIN_DOC:
            yield h, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    pages = []
    seen = set()
    for lang in sorted(os.listdir(args.rendered)):
        d = os.path.join(args.rendered, lang)
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".txt"):
                continue
            with open(os.path.join(d, fn), encoding="utf-8", errors="replace") as f:
                text = f.read()
            digest = hashlib.sha1(text.encode()).digest()
            if digest in seen:
                continue
            seen.add(digest)
            name, paras = parse_page(text)
            if sum(len(p) for _, p in paras) < MIN_DOC:
                continue
            page = fn[:-4].split("-", 1)[1]
            pid = f"{lang}/{page}"
            pages.append((hashlib.sha1(pid.encode()).hexdigest(), pid, lang, name or page, paras))
    pages.sort()
    if not pages:
        sys.exit("chunk_corpus.py: no rendered pages")

    n = 0
    k = 0
    with open(args.out, "w", encoding="utf-8") as out:
        while n < args.docs:
            target = 1500 if k == 0 else 1000 + (k * 617) % 1600
            skip = k % 3
            for _, pid, lang, name, paras in pages:
                for i, (heading, body) in enumerate(chunks(paras, target, skip)):
                    did = f"{pid}#{i}" if k == 0 else f"{pid}#r{k}-{i}"
                    title = name if i == 0 and skip == 0 else f"{name} — {heading}"
                    out.write(json.dumps({"id": did, "title": title, "lang": lang,
                                          "body": body}, ensure_ascii=False) + "\n")
                    n += 1
                    if n >= args.docs:
                        break
                if n >= args.docs:
                    break
            k += 1
            if k > 1000:
                sys.exit("chunk_corpus.py: pages too small to reach --docs")
    print(f"chunk_corpus.py: {len(pages)} distinct pages, {k} pass(es), {n} documents",
          file=sys.stderr)


if __name__ == "__main__":
    main()
