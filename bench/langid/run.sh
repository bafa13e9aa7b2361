#!/bin/sh
# run.sh: builds ps-langid-bench, runs it on the sample corpus and writes
# its markdown report into bench/RESULTS.md between
# <!-- langid:begin --> and <!-- langid:end --> (other sections untouched).
#
# Usage: bench/langid/run.sh [FILE.jsonl]   (default ../shared/corpus/sample.jsonl)
# Environment: BUILD_DIR (default build-bench-langid under the source tree).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
corpus=${1:-$src/../shared/corpus/sample.jsonl}
build=${BUILD_DIR:-$src/build-bench-langid}

[ -r "$corpus" ] || { echo "run.sh: cannot read $corpus" >&2; exit 66; }
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target ps-langid-bench -j2 >/dev/null

out=$(mktemp)
trap 'rm -f "$out" "$out.body"' EXIT INT TERM
{
    echo "## Language identification (bench/langid)"
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs by \`bench/langid/run.sh\`."
    echo "Both detectors get the same bytes; answers outside polysearch's"
    echo "valid codes count as \`und\`."
    echo
    "$build/bench/langid/ps-langid-bench" --text title+body "$corpus"
    echo
    echo "Body only (no title):"
    echo
    "$build/bench/langid/ps-langid-bench" --text body "$corpus" > "$out.body"
    sed -n '/^| detector/,/^$/p' "$out.body"
} > "$out"
cat "$out"
/usr/bin/python3 "$src/bench/results_section.py" langid "$out" "$src/bench/RESULTS.md"
