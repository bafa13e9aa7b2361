#!/bin/bash
# Hostile inputs (RELIABILITY.md "Bad input (indexer and add)"): each gets
# a warning naming the file/line, the run goes on, exit 65 when something
# failed, and documents indexed earlier are still there.
source "$(dirname "$0")/indexer_lib.sh" "$@"

mkdir "$T/corpus"
cp "$SRC"/corpus/*.txt "$T/corpus/"
run seed --db "$DB" "$T/corpus"
expect_rc seed 0
expect_out seed "added 5,"

H=$T/hostile
mkdir "$H"
: > "$H/empty.txt"
{ printf 'BIN\0\1\2'; head -c 4096 /dev/urandom; } > "$H/binary.txt"
head -c 8192 /dev/urandom > "$H/noise.md"   # mostly invalid UTF-8
printf 'Santé\n\nLa sant\xe9 publique en r\xe9gion ornithorynque.\n' > "$H/latin1.txt"
truncate -s 100M "$H/huge.txt"              # sparse: no disk used
{ printf 'Titel\n\n'; head -c 9000 /dev/zero | tr '\0' 'a'; printf ' Nulbyte\0Zwischenraum ende\n'; } > "$H/nul.txt"
ln -s "$H" "$H/loop"                        # a symlink loop must not hang
long_id=$(head -c 300 /dev/zero | tr '\0' 'x')
mkdir -p "$H/$(head -c 200 /dev/zero | tr '\0' 'd')"
printf 'deep\n' > "$H/$(head -c 200 /dev/zero | tr '\0' 'd')/$(head -c 60 /dev/zero | tr '\0' 'f').txt"
cat > "$T/bad.jsonl" <<J
{"id": "j1", "body": "first version of the duplicate"}
{"id": "j2", "body": "truncated
{"title": "no id", "body": "a document without id"}
{"id": "$long_id", "body": "an id of 300 bytes"}
{"id": "j1", "body": "second version of the duplicate wins"}
{"id": "j3", "body": "nul\\u0000inside and Zwischenspeicher"}
{"id": "j4", "body": "after the bad lines: quokka"}
J

run hostile --db "$DB" "$H" "$T/bad.jsonl"
expect_rc hostile 65
expect_out hostile "added 5, updated 1, unchanged 0, deleted 0, skipped 4, failed 4"
expect_err hostile "empty.txt: empty file: skipped"
expect_err hostile "binary.txt: binary file"
expect_err hostile "noise.md: binary file"
expect_err hostile "huge.txt: 104857600 bytes, larger than --max-doc-bytes 10485760: skipped"
expect_err hostile "latin1.txt: 2 invalid UTF-8 bytes replaced by U+FFFD"
expect_err hostile "nul.txt: 1 NUL bytes replaced by spaces"
expect_err hostile '"id" is 261 bytes (at most 240 allowed): failed'
expect_err hostile "bad.jsonl:2: invalid JSON"
expect_err hostile "bad.jsonl:3: missing \"id\": failed"
expect_err hostile "bad.jsonl:4: \"id\" is 300 bytes (at most 240 allowed): failed"
expect_err hostile "bad.jsonl:5: duplicate id \"j1\""
expect_err hostile "bad.jsonl:6: 1 NUL bytes replaced by spaces"
expect_hits quokka j4
expect_hits '"second version"' j1
expect_hits '"first version"'
expect_hits zwischenraum nul
expect_hits zwischenspeicher j3
expect_hits ornithorynque latin1
# Everything indexed before is still there.
[ "$(doc_count)" = 10 ] && ok "10 documents" || fail "count $(doc_count)"
expect_hits lyonbiopôle 000_3d3df94667dbc618 001_10c8717af35b6bd6 \
    002_3a6c8b53a02b138e 003_653f2c5ef5783ed2 004_b8e695500c194ab7

# --max-doc-bytes applies to JSON lines too: a long line is skipped
# without stopping the run.
{ printf '{"id":"big","body":"'; head -c 5000 /dev/zero | tr '\0' 'b'; printf '"}\n{"id":"small","body":"wombat"}\n'; } > "$T/long.jsonl"
run long --db "$DB" --max-doc-bytes 1k "$T/long.jsonl"
expect_rc long 0
expect_out long "added 1, updated 0, unchanged 0, deleted 0, skipped 1, failed 0"
expect_err long "long.jsonl:1: line longer than --max-doc-bytes 1024: skipped"
expect_hits wombat small
# A failed input disables --prune: the file removed from the corpus is
# not deleted from the database then.
rm "$T/corpus/004_b8e695500c194ab7.txt"
run prune_failed --db "$DB" --prune "$T/corpus" "$T/bad.jsonl"
expect_rc prune_failed 65
expect_err prune_failed "--prune not done"
expect_out prune_failed "deleted 0"
finish
