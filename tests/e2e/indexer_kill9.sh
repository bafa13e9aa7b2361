#!/bin/bash
# kill -9 in the middle of a run: every document of a reported commit is
# there, xapian-check passes and a new writer can start at once.
source "$(dirname "$0")/indexer_lib.sh" "$@"

mkfifo "$T/in"
"$PSI" --db "$DB" --batch 100 --verbose - < "$T/in" > "$T/bg.out" 2> "$T/bg.err" &
BG=$!
_pids+=("$BG")
exec 3> "$T/in"
for i in $(seq 1 250); do
    printf '{"id":"k%03d","lang":"en","body":"document number %d about kangaroos"}\n' "$i" "$i" >&3
done
for _ in $(seq 100); do     # until the second commit is reported
    grep -q "committed 100 documents (total 200)" "$T/bg.err" && break
    sleep 0.1
done
kill -KILL "$BG"
wait "$BG" 2>/dev/null
exec 3>&-
grep -q "(total 200)" "$T/bg.err" && ok "two commits reported" || fail "commits: $(cat "$T/bg.err")"
[ "$(doc_count)" = 200 ] && ok "200 documents after kill -9" || fail "count $(doc_count)"
xapian-check "$DB" > "$T/check.out" 2>&1 && ok "xapian-check passes" || { fail "xapian-check"; cat "$T/check.out" >&2; }
printf '{"id":"after","body":"a writer right after the crash"}\n' > "$T/after.jsonl"
run after --db "$DB" "$T/after.jsonl"
expect_rc after 0
expect_out after "added 1,"
finish
