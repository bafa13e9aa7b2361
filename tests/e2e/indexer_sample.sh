#!/bin/bash
# Indexes ../shared/corpus/sample.jsonl (2005 documents) when present;
# exit 77 (skipped) otherwise.
source "$(dirname "$0")/indexer_lib.sh" "$@"
S=${PS_SHARED_DIR:-$SRC/../shared}/corpus/sample.jsonl
if [ ! -r "$S" ]; then echo "no $S: skipped"; trap - EXIT; rm -rf "$T"; exit 77; fi

run sample --db "$DB" --verbose "$S"
expect_rc sample 0
expect_out sample "added 2005, updated 0, unchanged 0, deleted 0, skipped 0, failed 0"
expect_err sample "committed 1000 documents (total 1000)"
expect_err sample "committed 5 documents (total 2005)"
cat "$T/sample.out"
run again --db "$DB" - < "$S"
expect_out again "added 0, updated 0, unchanged 2005"
finish
