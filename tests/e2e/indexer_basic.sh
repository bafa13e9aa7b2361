#!/bin/bash
# polysearch-index on corpus/: add, unchanged rerun (nothing written),
# update of a modified file, --prune of a deleted file.
source "$(dirname "$0")/indexer_lib.sh" "$@"

mkdir "$T/corpus"
cp "$SRC"/corpus/*.txt "$T/corpus/"
# The real corpus/ also holds README.md: --exclude keeps it out.
run excl --db "$T/excl.db" --exclude README.md "$SRC/corpus"
expect_rc excl 0
expect_out excl "added 5, updated 0"

run add --db "$DB" --verbose "$T/corpus"
expect_rc add 0
expect_out add "added 5, updated 0, unchanged 0, deleted 0, skipped 0, failed 0 in "
expect_err add "committed 5 documents (total 5)"
[ "$(doc_count)" = 5 ] && ok "5 documents" || fail "doc count $(doc_count)"
before=$(db_digest)

run again --db "$DB" --verbose "$T/corpus"
expect_rc again 0
expect_out again "added 0, updated 0, unchanged 5, deleted 0, skipped 0, failed 0"
if grep -q committed "$T/again.err"; then fail "rerun committed something"; fi
[ "$(db_digest)" = "$before" ] && ok "rerun wrote nothing" \
    || fail "database files changed on an unchanged rerun"

# The default database path comes from $POLYSEARCH_DB.
POLYSEARCH_DB=$DB run env "$T/corpus"
expect_out env "unchanged 5"

echo "Une ligne ajoutée sur la santé." >> "$T/corpus/000_3d3df94667dbc618.txt"
run modify --db "$DB" --verbose "$T/corpus"
expect_rc modify 0
expect_out modify "added 0, updated 1, unchanged 4, deleted 0"
expect_err modify "committed 1 documents (total 5)"

rm "$T/corpus/004_b8e695500c194ab7.txt"
run noprune --db "$DB" "$T/corpus"
expect_out noprune "unchanged 4, deleted 0"
[ "$(doc_count)" = 5 ] && ok "no prune: still 5" || fail "count $(doc_count)"
run prune --db "$DB" --prune "$T/corpus"
expect_rc prune 0
expect_out prune "added 0, updated 0, unchanged 4, deleted 1, skipped 0, failed 0"
[ "$(doc_count)" = 4 ] && ok "pruned to 4" || fail "count $(doc_count)"
expect_hits bioxclusters

# Single files: id is the file name without extension; small batches.
printf 'Titre\n\nUn texte sur la santé publique.\n' > "$T/single.md"
run single --db "$DB" --batch 1 "$T/single.md" "$T/corpus/001_10c8717af35b6bd6.txt"
expect_rc single 0
expect_out single "added 1, updated 0, unchanged 1"
expect_hits '"santé publique"' single

# --prune with only an empty input set refuses to empty the database.
mkdir "$T/empty"
run prune_empty --db "$DB" --prune "$T/empty"
expect_rc prune_empty 0
expect_err prune_empty "--prune not done"
[ "$(doc_count)" = 5 ] && ok "empty run did not prune" || fail "count $(doc_count)"
finish
