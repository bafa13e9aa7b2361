#!/usr/bin/env bash
# build_corpus.sh: builds the >= 100,000-document multilingual benchmark
# corpus bench/data/corpus-100k.jsonl ({"id","title","lang","body"} per line)
# from Debian's man pages in 8 languages (en fr de it pl es nl pt).
#
# Method (see bench/README.md): every page is rendered to plain text with
# man-db (MANWIDTH=100, col -bx), split into 1-3 KB chunks at paragraph
# boundaries (one document per chunk, id = lang/page#N), and, because the
# pages give far fewer than 100,000 chunks, the chunking is repeated with
# variation (other chunk target sizes and a shifted first paragraph, id =
# lang/page#rK-N) until the count is reached.  The `lang` field is the
# ground truth: the man-page tree the page came from.
#
# Cached: nothing is rebuilt when the corpus exists; rendered pages are
# kept in bench/data/rendered/ and reused.  Usage:
#   bench/build_corpus.sh [--docs N] [--force]
# Prints the corpus size (docs, MB) and the build time on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
data="$here/data"
out="$data/corpus-100k.jsonl"
rendered="$data/rendered"
ndocs=100000
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --docs) ndocs="$2"; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build_corpus.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done

if [ "$force" = 0 ] && [ -s "$out" ] && [ "$(wc -l < "$out")" -ge "$ndocs" ]; then
    echo "build_corpus.sh: $out exists ($(wc -l < "$out") docs, $(du -m "$out" | cut -f1) MB); use --force to rebuild" >&2
    exit 0
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
