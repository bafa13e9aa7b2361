#!/bin/bash
# Disk full during indexing (an 8 MiB tmpfs in a private mount namespace):
# a clear error naming the cause, exit 74, and every document of a
# reported commit is still there; the database opens and checks clean.
# Exit 77 (skipped) when unprivileged mount namespaces are unavailable.
source "$(dirname "$0")/indexer_lib.sh" "$@"
if ! unshare -rm true 2>/dev/null; then
    echo "unshare -rm not permitted: skipped"; exit 77
fi
# 3000 documents of ~1.5 KB of pseudo-random words.
awk 'BEGIN { srand(42);
  for (d = 0; d < 3000; d++) {
    printf "{\"id\":\"doc%05d\",\"lang\":\"en\",\"body\":\"", d;
    for (w = 0; w < 200; w++) {
      n = 3 + int(rand() * 6); s = "";
      for (c = 0; c < n; c++) s = s sprintf("%c", 97 + int(rand() * 26));
      printf "%s ", s;
    }
    printf "\"}\n";
  } }' > "$T/docs.jsonl"

mkdir "$T/mnt"
cat > "$T/inner.sh" <<'IN'
set -u
mount -t tmpfs -o size=8m tmpfs "$T/mnt" || exit 99
DB=$T/mnt/db
timeout 120 "$PSI" --db "$DB" --batch 50 --verbose "$T/docs.jsonl" > "$T/full.out" 2> "$T/full.err"
echo $? > "$T/full.rc"
# Documents of the last reported commit:
last=$(sed -n 's/.*committed [0-9]* documents (total \([0-9]*\)).*/\1/p' "$T/full.err" | tail -1)
echo "${last:-0}" > "$T/last"
xapian-delve "$DB" 2>&1 | sed -n 's/^number of documents = //p' > "$T/count"
xapian-check "$DB" > "$T/check.out" 2>&1; echo $? > "$T/check.rc"
"$PSI" --db "$DB" --query doc --limit 1 > /dev/null 2> "$T/q.err"; echo $? > "$T/q.rc"
IN
T=$T PSI=$PSI timeout 150 unshare -rm bash "$T/inner.sh"
[ "$?" -eq 99 ] && { echo "tmpfs mount not permitted: skipped"; exit 77; }

RC=$(cat "$T/full.rc")
expect_rc full 74
expect_err full "No space left on device"
expect_err full "everything committed before is intact"
expect_out full "added "
last=$(cat "$T/last") count=$(cat "$T/count")
[ "$last" -gt 0 ] && ok "some commits were reported ($last)" || fail "no commit reported before the disk filled"
[ "$count" = "$last" ] && ok "database holds the $last reported documents" \
    || fail "database holds '$count' documents, last reported commit $last"
[ "$(cat "$T/check.rc")" = 0 ] && ok "xapian-check passes" || { fail "xapian-check"; cat "$T/check.out" >&2; }
[ "$(cat "$T/q.rc")" = 0 ] && ok "database still opens for queries" || fail "query after ENOSPC: $(cat "$T/q.err")"
finish
