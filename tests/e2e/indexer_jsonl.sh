#!/bin/bash
# polysearch-index with JSON Lines: stdin, .jsonl files, --jsonl, optional
# fields, explicit lang, --prune from stdin.
source "$(dirname "$0")/indexer_lib.sh" "$@"

cat > "$T/docs.jsonl" <<'J'
{"id": "fr/1", "title": "La santé à Lyon", "body": "Lyonbiopôle est un pôle de compétitivité pour la santé.", "lang": "fr", "date": "2020-03-01", "url": "https://example.org/1"}
{"id": "de/1", "body": "Die Gesundheitscluster arbeiten zusammen an Innovationen in der Medizin.", "lang": "de"}

{"id": "en/1", "title": null, "body": "Health clusters across Europe share innovation programmes and funding."}
J
run stdin --db "$DB" - < "$T/docs.jsonl"
expect_rc stdin 0
expect_out stdin "added 3, updated 0, unchanged 0, deleted 0, skipped 0, failed 0"
expect_hits sante fr/1
expect_hits GESUNDHEITSCLUSTER de/1
expect_hits innovation de/1 en/1
timeout 30 "$PSI" --db "$DB" --query Lyonbiopole > "$T/title.out"
grep -q '^1\. La santé à Lyon$' "$T/title.out" && ok "title kept" || fail "title: $(head -1 "$T/title.out")"
timeout 30 "$PSI" --db "$DB" --query health > "$T/derived.out"
grep -q 'id=en/1 lang=en' "$T/derived.out" && ok "detected lang en" || fail "en/1: $(cat "$T/derived.out")"

# A file without the .jsonl extension needs --jsonl; rerun is unchanged.
cp "$T/docs.jsonl" "$T/docs.data"
run flag --db "$DB" --jsonl "$T/docs.data"
expect_rc flag 0
expect_out flag "added 0, updated 0, unchanged 3"
run file --db "$DB" "$T/docs.jsonl"
expect_out file "unchanged 3"

# --prune from stdin: the stream is the complete set.
head -1 "$T/docs.jsonl" | timeout 60 "$PSI" --db "$DB" --prune - > "$T/prune.out" 2> "$T/prune.err"
RC=$?
expect_rc prune 0
expect_out prune "unchanged 1, deleted 2"
[ "$(doc_count)" = 1 ] && ok "1 document left" || fail "count $(doc_count)"
# An empty stdin with --prune deletes nothing.
run prune_empty --db "$DB" --prune - < /dev/null
expect_rc prune_empty 0
expect_err prune_empty "--prune not done"
[ "$(doc_count)" = 1 ] && ok "still 1 document" || fail "count $(doc_count)"

# Files are read leniently (docs/PROTOCOL.md "Document rules"): unknown keys
# are skipped with one warning per file; a bad lang still fails.
cat > "$T/extra.jsonl" <<'J'
{"id": "x/1", "body": "Kangaroo marsupial one", "tags": ["a", "b"]}
{"id": "x/2", "body": "Kangaroo marsupial two", "author": "me"}
{"id": "x/3", "body": "Kangaroo marsupial three", "lang": "zz"}
J
run extra --db "$DB" "$T/extra.jsonl"
expect_rc extra 65
expect_out extra "added 2,"
expect_err extra "extra.jsonl:1: unknown key 'tags' ignored"
expect_err extra "extra.jsonl:3: unsupported language code 'zz': failed"
n=$(grep -c 'unknown key' "$T/extra.err")
[ "$n" = 1 ] && ok "one unknown-key warning per file" || fail "$n unknown-key warnings"
finish
