#!/usr/bin/env bash
# build_corpus.sh: builds a multilingual benchmark corpus of N documents
# ({"id","title","lang","body"} per line) from Debian's man pages in 8
# languages (en fr de it pl es nl pt).  Each size has its own file:
#   bench/data/corpus-100k.jsonl    --docs 100000 (the default)
#   bench/data/corpus-1m.jsonl      --docs 1000000
#   bench/data/corpus-<N>.jsonl     other N: 250000 -> corpus-250k.jsonl,
#                                   2000000 -> corpus-2m.jsonl, 5000 ->
#                                   corpus-5k.jsonl, 12345 ->
#                                   corpus-12345.jsonl
# (a multiple of a million is written Km, else a multiple of a thousand
# Kk, else N).
#
# Method (see bench/README.md): every page is rendered to plain text with
# man-db (MANWIDTH=100, col -bx), split into 1-3 KB chunks at paragraph
# boundaries (one document per chunk, id = lang/page#N), and, because the
# pages give about 16,700 chunks, far fewer than 100,000, the chunking is
# repeated with variation by bench/chunk_corpus.py (other chunk target
# sizes and a shifted first paragraph, id = lang/page#rK-N) until N is
# reached: 7 passes for 100k, 63 for 1M (so the 1M corpus holds each
# page's text about 63 times, cut differently).  The `lang` field is the
# ground truth: the man-page tree the page came from.
#
# Cached: nothing is rebuilt when the file exists with N documents; a file
# with another count is rebuilt.  Rendered pages are kept in
# bench/data/rendered/ and reused by every size.  Usage:
#   bench/build_corpus.sh [--docs N] [--force]
# Prints the corpus path on stdout (corpus=$(bench/build_corpus.sh ...)),
# its size (docs, MB) and the build time on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
data="$here/data"
rendered="$data/rendered"
ndocs=100000
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --docs)
            [ $# -ge 2 ] || { echo "build_corpus.sh: --docs needs a number" >&2; exit 64; }
            ndocs="$2"; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0 ;;
        *) echo "build_corpus.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$ndocs" in
    ''|*[!0-9]*|0*) echo "build_corpus.sh: --docs: '$ndocs' is not a number >= 1" >&2; exit 64 ;;
esac

# corpus_name N: the file name of a corpus of N documents (see above).
corpus_name() {
    if [ $(($1 % 1000000)) -eq 0 ]; then echo "corpus-$(($1 / 1000000))m.jsonl"
    elif [ $(($1 % 1000)) -eq 0 ]; then echo "corpus-$(($1 / 1000))k.jsonl"
    else echo "corpus-$1.jsonl"
    fi
}
out="$data/$(corpus_name "$ndocs")"

if [ "$force" = 0 ] && [ -s "$out" ]; then
    have=$(wc -l < "$out")
    if [ "$have" -eq "$ndocs" ]; then
        echo "build_corpus.sh: $out exists ($have docs, $(du -m "$out" | cut -f1) MB); use --force to rebuild" >&2
        echo "$out"
        exit 0
    fi
    echo "build_corpus.sh: $out holds $have docs, not $ndocs: rebuilding it" >&2
fi

start=$(date +%s.%N)

# Debian packages: installed only when missing.
pkgs="man-db groff-base bsdextrautils manpages manpages-dev manpages-fr manpages-de manpages-it manpages-pl manpages-es manpages-nl manpages-pt-br"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "build_corpus.sh: installing$missing" >&2
    apt-get install -y -q $missing >&2
fi

mkdir -p "$rendered"
list="$data/pages.list"
: > "$list"
# English: only Debian's manpages and manpages-dev (the untranslated tree
# also holds every other package's pages, which would swamp the mix).
dpkg -L manpages manpages-dev | grep -E '^/usr/share/man/man[1-8]/[^/]+\.gz$' \
    | while read -r f; do [ -L "$f" ] || printf 'en\t%s\n' "$f"; done >> "$list"
for pair in fr:fr de:de it:it pl:pl es:es nl:nl pt:pt_BR; do
    lang=${pair%%:*}; dir=/usr/share/man/${pair#*:}
    find "$dir" -path "$dir/man[1-8]/*" -type f -name '*.gz' \
        | sort | while read -r f; do printf '%s\t%s\n' "$lang" "$f"; done >> "$list"
done
echo "build_corpus.sh: $(wc -l < "$list") pages to render" >&2

# Render in parallel (2 jobs, niced): lang/section-page.txt; skipped when
# already rendered.  Pages that only include another (.so) render to the
# included page, which duplicates it: they are dropped when tiny below.
render_one() {
    lang=$1; f=$2
    base=$(basename "$f" .gz)
    sec=$(basename "$(dirname "$f")")
    dst="$RENDERED/$lang/$sec-$base.txt"
    [ -s "$dst" ] && return 0
    mkdir -p "$RENDERED/$lang"
    if MANWIDTH=100 LC_ALL=C.UTF-8 man -l -E UTF-8 "$f" 2>/dev/null | col -bx > "$dst.tmp"; then
        mv "$dst.tmp" "$dst"
    else
        rm -f "$dst.tmp"
    fi
}
export -f render_one
export RENDERED="$rendered"
tr '\t' '\n' < "$list" | tr '\n' '\0' \
    | nice -n 10 xargs -0 -n 2 -P 2 bash -c 'render_one "$1" "$2"' _

rendered_at=$(date +%s.%N)
nice -n 10 python3 "$here/chunk_corpus.py" --rendered "$rendered" --docs "$ndocs" --out "$out.tmp"
mv "$out.tmp" "$out"
end=$(date +%s.%N)

python3 - "$out" "$start" "$rendered_at" "$end" <<'EOF' >&2
import collections, json, os, sys
path, t0, t1, t2 = sys.argv[1], *map(float, sys.argv[2:])
langs = collections.Counter()
text = 0
n = 0
for line in open(path, encoding="utf-8"):
    d = json.loads(line)
    langs[d["lang"]] += 1
    text += len(d["title"].encode()) + len(d["body"].encode())
    n += 1
print(f"build_corpus.sh: {n} docs, {os.path.getsize(path)/1e6:.1f} MB file, "
      f"{text/1e6:.1f} MB of title+body text; per language: "
      + " ".join(f"{k} {v}" for k, v in sorted(langs.items())))
print(f"build_corpus.sh: build time {t2-t0:.1f} s (render {t1-t0:.1f} s, chunk {t2-t1:.1f} s)")
EOF
echo "$out"
