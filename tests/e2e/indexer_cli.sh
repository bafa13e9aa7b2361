#!/bin/bash
# polysearch-index command line: --help, --version, usage errors and the
# exit codes for missing inputs and databases.
source "$(dirname "$0")/indexer_lib.sh" "$@"

run help --help
expect_rc help 0
for opt in --db --lang --prune --jsonl --batch --max-doc-bytes --boilerplate \
           --quiet --verbose --query --limit --help --version POLYSEARCH_DB \
           "default 1000" "default: \$POLYSEARCH_DB, else" "default 10m" \
           "Exit status" 64 65 66 70 73 74 75 130 143; do
    expect_out help "$opt"
done
run version --version
expect_rc version 0
expect_out version "polysearch-index 0."

run noargs
expect_rc noargs 64
run badopt --frobnicate x
expect_rc badopt 64
expect_err badopt "unknown option"
run noarg --db
expect_rc noarg 64
run badbatch --batch 0 x
expect_rc badbatch 64
run badbatch2 --batch 12x x
expect_rc badbatch2 64
run badlang --lang xx "$SRC/corpus"
expect_rc badlang 64
run badlimit --query x --limit 0
expect_rc badlimit 64
run qpaths --query x "$SRC/corpus"
expect_rc qpaths 64
run twostdin --db "$DB" - -
expect_rc twostdin 64
run quietverbose -q -v --db "$DB" "$SRC/corpus"
expect_rc quietverbose 64
expect_err quietverbose "--quiet and --verbose exclude each other"

run missing --db "$DB" "$T/nope" "$SRC/corpus"
expect_rc missing 66
expect_err missing "nope"
[ -e "$DB" ] && fail "database created although an input was missing" || ok "no database created"
run missingbp --db "$DB" --boilerplate "$T/nope.txt" "$SRC/corpus"
expect_rc missingbp 66
run nodb --db "$T/nodb" --query santé
expect_rc nodb 66

touch "$T/file"
run cantcreate --db "$T/file/db" "$SRC/corpus/000_3d3df94667dbc618.txt"
expect_rc cantcreate 73
expect_err cantcreate "cannot create or open database"

# A user boilerplate list is accepted.
printf '# comment\nzorglub widget line\n' > "$T/bp.txt"
printf 'Titre\n\nzorglub widget line\nLe corps du texte.\n' > "$T/bp_doc.txt"
run bp --db "$DB" --boilerplate "$T/bp.txt" "$T/bp_doc.txt"
expect_rc bp 0
expect_hits zorglub
expect_hits corps bp_doc

# Bad query syntax in --query is a data error, not a crash.
run badq --db "$DB" --query 'title:('
if [ "$RC" -eq 0 ] || [ "$RC" -eq 65 ]; then ok "odd query: exit $RC"
else fail "odd query: exit $RC"; fi
finish
