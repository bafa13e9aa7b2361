#!/bin/bash
# A second writer gets exit 75 and a clear message while a first
# polysearch-index (reading a slow stdin) holds the lock; SIGTERM then makes
# the first one commit what it read, print its summary and exit 143.
source "$(dirname "$0")/indexer_lib.sh" "$@"

mkfifo "$T/in"
# Not under timeout(1), which would get the SIGTERM instead; cleanup kills
# it if the test fails, and ctest bounds the whole test.
"$PSI" --db "$DB" --verbose - < "$T/in" > "$T/bg.out" 2> "$T/bg.err" &
BG=$!
_pids+=("$BG")
exec 3> "$T/in"             # opening the writer end lets the reader start
printf '{"id":"held","body":"Ein Dokument über Gesundheitscluster."}\n' >&3

for _ in $(seq 100); do     # wait until the first writer has the database
    [ -e "$DB/iamglass" ] && break
    sleep 0.1
done
[ -e "$DB/iamglass" ] || fail "first writer did not create the database"

printf 'Some text about health.\n' > "$T/doc.txt"
run second --db "$DB" "$T/doc.txt"
expect_rc second 75
expect_err second "is locked"
expect_err second "another writer"
expect_err second "stop it"
expect_err second "polysearchd"
# Who holds it (pid and process name from /proc) and the --server way out.
expect_err second "pid $BG"
expect_err second "polysearch-ind"      # /proc/PID/comm (15 characters)
expect_err second "rerun with --server ADDR"
if [ -s "$T/second.out" ]; then fail "locked run printed a summary"; fi

# Give the first writer time to read the line, then stop it.
sleep 0.5
kill -TERM "$BG"
wait "$BG"
RC=$?
exec 3>&-
[ "$RC" -eq 143 ] && ok "SIGTERM: exit 143" || { fail "SIGTERM: exit $RC"; cat "$T/bg.err" >&2; }
grep -qF "added 1, updated 0, unchanged 0, deleted 0, skipped 0, failed 0" "$T/bg.out" \
    && ok "summary after SIGTERM" || fail "bg summary: $(cat "$T/bg.out")"
grep -qF "committed 1 documents" "$T/bg.err" && ok "committed on SIGTERM" \
    || fail "no commit log: $(cat "$T/bg.err")"
expect_hits gesundheitscluster held

# The lock is free again.
run third --db "$DB" "$T/doc.txt"
expect_rc third 0
expect_out third "added 1,"
finish
