#!/usr/bin/env bash
# index.sh: the one way the benchmarks build Sphinx's indexes of a corpus
# (bench/search_bench.sh serves them, bench/index_bench.sh times them).
#
#   index.sh conf CORPUS.jsonl RUNDIR PORT   empties RUNDIR and writes
#                                            RUNDIR/sphinx.conf (make_conf.py)
#   index.sh build RUNDIR                    runs /usr/bin/indexer --all on it
#                                            (output in RUNDIR/indexer.log)
# The two steps are apart so that a caller times only the indexing (wrap
# "build" in /usr/bin/time and nice); the indexing includes xmlpipe.py, the
# Python xmlpipe2 source of each language's index, as Sphinx runs it.
# Exit 69 when Sphinx (Debian sphinxsearch) is missing; else build exits
# with the indexer's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/indexer ]; then
    echo "index.sh: /usr/bin/indexer missing (apt-get install sphinxsearch)" >&2
    exit 69
fi
case "${1:-}" in
    conf)
        [ $# -eq 4 ] || { echo "usage: index.sh conf CORPUS RUNDIR PORT" >&2; exit 64; }
        rm -rf "$3"; mkdir -p "$3"
        python3 "$here/make_conf.py" "$2" "$3" "$4" > "$3/sphinx.conf"
        ;;
    build)
        [ $# -eq 2 ] || { echo "usage: index.sh build RUNDIR" >&2; exit 64; }
        exec /usr/bin/indexer --config "$2/sphinx.conf" --all --quiet > "$2/indexer.log" 2>&1
        ;;
    *)
        sed -n '2,13p' "$0" >&2
        exit 64
        ;;
esac
