#!/bin/bash
# polysearch-index --watch DIR on a local database: the initial pass, then
# files added, modified, deleted, a new subdirectory (created empty, and one
# moved in with a file already inside), a file written slowly in two parts
# (indexed once, complete), editor temporary files ignored, a second writer
# told who holds the lock, SIGTERM -> exit 0 with everything committed.
# Each change must be visible through --query (read-only, works while the
# watcher holds the write lock) within 5 s; the settle delay is 300 ms.
source "$(dirname "$0")/indexer_lib.sh" "$@"

W=$T/w
mkdir -p "$W/sub"
printf 'Erster Artikel\n\nDie Gesundheitsforschung in Lyon wächst.\n' > "$W/a.txt"
printf 'Second article\n\nNotes about the biopole cluster.\n' > "$W/sub/b.md"

"$PSI" --db "$DB" --watch "$W" --settle 300 > "$T/bg.out" 2> "$T/bg.err" &
BG=$!
_pids+=("$BG")
for _ in $(seq 100); do
    grep -q "watching" "$T/bg.err" && break
    kill -0 "$BG" 2>/dev/null || break
    sleep 0.1
done
grep -q "watching" "$T/bg.err" || { cat "$T/bg.err" >&2; fail "watcher did not start"; finish; }
ok "watcher started"
expect_hits gesundheitsforschung a
expect_hits biopole sub/b

# wait_hits Q ID...: polls (every 50 ms, at most 5 s) until query Q returns
# exactly these ids; prints how long it took.
wait_hits() {
    local q=$1; shift
    local want got t0 t1
    want=""
    [ $# -gt 0 ] && want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    t0=$(date +%s%N)
    for _ in $(seq 100); do
        got=$(query_ids "$q" | tr '\n' ' ')
        [ "$got" = "$want" ] && break
        sleep 0.05
    done
    t1=$(date +%s%N)
    if [ "$got" = "$want" ]; then
        ok "[$q] -> [$got] after $(( (t1 - t0) / 1000000 )) ms"
    else
        fail "[$q] -> [$got], expected [$want] within 5 s"
        sed 's/^/    /' "$T/bg.err" >&2
    fi
}

# A second writer: exit 75, naming the watcher (pid, process name) and
# suggesting --server.
printf 'Some text about health.\n' > "$T/doc.txt"
run second --db "$DB" "$T/doc.txt"
expect_rc second 75
expect_err second "pid $BG"
expect_err second "polysearch-ind"      # /proc/PID/comm (15 characters)
expect_err second "--server ADDR"

# Add.
printf 'Neuer Artikel\n\nBiotechnologie und Impfstoffe aus Lyon.\n' > "$W/c.txt"
wait_hits biotechnologie c
# Modify: the old word goes, the new one comes.
printf 'Erster Artikel\n\nJetzt über Quantencomputer.\n' > "$W/a.txt"
wait_hits quantencomputer a
wait_hits gesundheitsforschung
# Delete.
rm "$W/c.txt"
wait_hits biotechnologie
grep -q "deleted c" "$T/bg.err" && ok "deletion logged" || fail "no 'deleted c' log"
# Rename: the document follows the file's id.
mv "$W/sub/b.md" "$W/sub/renamed.md"
wait_hits biopole sub/renamed

# A new subdirectory, then a file in it.
mkdir "$W/neu"
sleep 0.2
printf 'Nouvelles\n\nLa santé publique et la recherche.\n' > "$W/neu/d.txt"
wait_hits sante neu/d
# A directory moved in with files already inside, nested.
mkdir -p "$T/pre/deep"
printf 'Prepared\n\nA prepared zeppelin document.\n' > "$T/pre/deep/z.txt"
mv "$T/pre" "$W/pre"
wait_hits zeppelin pre/deep/z
# A file created in the new nested directory afterwards.
printf 'Later\n\nA later xylophone document.\n' > "$W/pre/deep/x.txt"
wait_hits xylophone pre/deep/x

# A directory moved out of the tree: its documents go.
mv "$W/pre" "$T/outside"
wait_hits zeppelin
wait_hits xylophone

# Editor temporary and hidden files are ignored.
printf 'lockfile jabberwocky\n' > "$W/.#a.txt"
printf 'backup jabberwocky\n' > "$W/a.txt~"
printf 'swap jabberwocky\n' > "$W/.a.txt.swp"
printf 'hidden jabberwocky\n' > "$W/.hidden.txt"

# Written slowly in two parts, open all along: nothing before the close,
# then indexed once, complete.
exec 4> "$W/slow.txt"
printf 'Slow article\n\nThe first part mentions aardvark.\n' >&4
sleep 1.2                      # four settle delays with the file open
expect_hits aardvark
printf 'The second part mentions wombat.\n' >&4
exec 4>&-
wait_hits wombat slow
expect_hits aardvark slow
n=$(grep -c "indexed slow.txt" "$T/bg.err")
[ "$n" -eq 1 ] && ok "slow file indexed once" || fail "slow file indexed $n times"
expect_hits jabberwocky

# SIGTERM: exit 0, the lock is released.
kill -TERM "$BG"
wait "$BG"
RC=$?
[ "$RC" -eq 0 ] && ok "SIGTERM: exit 0" || { fail "SIGTERM: exit $RC"; cat "$T/bg.err" >&2; }
grep -q "stopped" "$T/bg.err" && ok "stop logged" || fail "no stop log"
run third --db "$DB" "$T/doc.txt"
expect_rc third 0

# Restart: the initial pass is incremental (nothing changed meanwhile).
"$PSI" --db "$DB" --watch "$W" > "$T/bg2.out" 2> "$T/bg2.err" &
BG2=$!
_pids+=("$BG2")
for _ in $(seq 100); do
    grep -q "watching" "$T/bg2.err" && break
    sleep 0.1
done
grep -q "scanned .*: added 0, updated 0, unchanged 4," "$T/bg2.err" \
    && ok "restart: unchanged files skipped" \
    || fail "restart scan: $(grep scanned "$T/bg2.err")"
kill -INT "$BG2"
wait "$BG2"
RC=$?
[ "$RC" -eq 0 ] && ok "SIGINT: exit 0" || fail "SIGINT: exit $RC"

# Usage errors.
run u1 --watch "$W" "$T/doc.txt"
expect_rc u1 64
run u2 --settle 100 "$T/doc.txt"
expect_rc u2 64
run u3 --db "$DB" --watch "$T/missing"
expect_rc u3 66
finish
