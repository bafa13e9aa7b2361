#!/usr/bin/env bash
# build_scriptindex.sh: the scriptindex reference database of the relevance
# benchmark, built the way bench/index_bench.sh builds it: the corpus
# converted to one scriptindex dump per language (bench/scriptindex/
# jsonl2dump.py), then /usr/bin/scriptindex once per language, with that
# language's stemmer (Polish: none), into ONE database with
# bench/scriptindex/polysearch.index.  Reused (nothing done) when DB/.complete
# is newer than the corpus and the two scriptindex files.
#
# Usage: build_scriptindex.sh CORPUS.jsonl DB
# Heavy (about 5 minutes on the 100k corpus): run under nice.  The dump
# files are written next to DB (DB.dump/) and removed once the build is done.
# Exit: 0 built or reused, 64 usage, 69 scriptindex missing, 70 build failed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "build_scriptindex.sh: $*" >&2; }
[ $# -eq 2 ] || { sed -n '2,14p' "$0" >&2; exit 64; }
corpus=$1 db=$2
if [ ! -x /usr/bin/scriptindex ]; then
    log "/usr/bin/scriptindex missing (apt-get install --no-install-recommends xapian-omega)"
    exit 69
fi
if [ -f "$db/.complete" ]; then
    fresh=1
    for f in "$corpus" "$here/scriptindex/polysearch.index" "$here/scriptindex/jsonl2dump.py"; do
        [ "$f" -nt "$db/.complete" ] && fresh=0
    done
    if [ "$fresh" = 1 ]; then log "reusing $db"; exit 0; fi
fi
rm -rf "$db" "$db.dump"
mkdir -p "$(dirname "$db")" "$db.dump"
log "converting $corpus to scriptindex dumps ..."
/usr/bin/python3 "$here/scriptindex/jsonl2dump.py" "$corpus" "$db.dump" > "$db.dump/list" ||
    { log "jsonl2dump.py failed"; exit 70; }
first=--overwrite
while read -r lang stemmer path; do
    log "scriptindex -s $stemmer ($lang) ..."
    # shellcheck disable=SC2086  # $first is empty or one option
    /usr/bin/scriptindex $first -s "$stemmer" "$db" "$here/scriptindex/polysearch.index" "$path" \
        > "$db.dump/scriptindex-$lang.log" 2>&1 ||
        { log "scriptindex failed for $lang: $(tail -3 "$db.dump/scriptindex-$lang.log")"; exit 70; }
    first=""
done < "$db.dump/list"
rm -rf "$db.dump"
touch "$db/.complete"
log "built $db"
