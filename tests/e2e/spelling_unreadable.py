"""A database that already holds a spelling fragment list Xapian 1.4 cannot
read back ("Too few chunks of compressed data": written before the
commit_impl workaround, or by a remote writable shard) still answers
searches: the suggestion is lost, the search is not.  Before 426b476 every
zero-hit query (or spelling: true) whose words share that fragment failed
with PS_ERR_CORRUPT: polysearch-index --query exited 74, polysearchd
answered "unavailable" ("the database is corrupt: ... Too few chunks of
compressed data").

The database is made with Xapian's Python bindings (python3-xapian), the
way the old daemon did it: the soak's words soakwordNzq, N < 1,600 in one
commit, then one commit per word until Xapian trips over the list it wrote
(N = 1,643 with Xapian 1.4.22 and Debian's zlib; tests/RELIABILITY.md,
round 4).  Then it is searched through our own programs only:
polysearch-index --query and a polysearchd started on it.

Skips (77) when the xapian module is missing, and when this Xapian does not
write an unreadable list (nothing to check).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

try:
    import xapian
except ImportError as e:
    pstest.skip("Xapian's Python bindings are missing for %s (%s): install python3-xapian "
                "(scripts/install-deps)" % (sys.executable, e))

ZERO_HIT = "soakword1500zx"  # no such word; shares its fragments with the list
MATCHING = "soakword0zq"     # the one document's word


def word(n):
    return "soakword%dzq" % n


def make_unreadable_db(path):
    """Builds the database; returns the word whose commit failed (None when
    every commit succeeded) and whether its spelling table holds a fragment
    list that cannot be read back under the words of both queries.
    The one document is a Q term and a word, no stored fields: searches
    count it in their total, and leave it out of their hits ("not one of
    ours")."""
    w = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OPEN | xapian.DB_BACKEND_GLASS)
    d = xapian.Document()
    d.add_boolean_term("Qsoak/0")
    d.add_term(word(0))
    w.add_document(d)
    for n in range(1600):
        w.add_spelling(word(n))
    w.commit()
    failed_at = None
    for n in range(1600, 1800):
        try:
            w.add_spelling(word(n))
            w.commit()
        except xapian.DatabaseCorruptError:
            failed_at = word(n)
            break
    w.close()
    # Both queries' words must hit the unreadable list, or the search
    # below would not go through it.
    r = xapian.Database(path, xapian.DB_BACKEND_GLASS)
    unreadable = True
    for q in (ZERO_HIT, MATCHING):
        try:
            r.get_spelling_suggestion(q)
            unreadable = False
        except xapian.DatabaseCorruptError:
            pass
    r.close()
    return failed_at, unreadable


def index_query(db, q):
    """polysearch-index --db db --query q; returns (exit code, stdout, stderr)."""
    r = subprocess.run([pstest.indexer_path(), "--db", db, "--query", q],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def check_indexer(db):
    # The document counts in the total but is not listed (no stored
    # fields): "0 of about 1 matches".
    for q, want in ((ZERO_HIT, 0), (MATCHING, 1)):
        rc, out, err = index_query(db, q)
        check(rc == 0, "polysearch-index --query %s exited %d:\n%s" % (q, rc, err))
        last = out.strip().splitlines()[-1] if out.strip() else ""
        check(last.startswith("0 of about %d matches" % want),
              "polysearch-index --query %s: want about %d match(es), got %r" % (q, want, out))


def check_daemon(db, tmp):
    with pstest.Daemon(db, tmp) as d:
        with d.client() as c:
            # Zero hits: a suggestion is attempted and must not fail the search.
            err, res = c.call("search", {"q": ZERO_HIT})
            check(err is None, "zero-hit search %s: %r" % (ZERO_HIT, err))
            check(res["total"] == 0 and res["hits"] == [],
                  "zero-hit search %s: %r" % (ZERO_HIT, res))
            print("zero-hit search: total 0, suggestion %r" % res.get("suggestion"))
            # spelling: true on a query that matches.
            err, res = c.call("search", {"q": MATCHING, "spelling": True})
            check(err is None, "search %s with spelling: %r" % (MATCHING, err))
            check(res["total"] == 1, "search %s with spelling: %r" % (MATCHING, res))
            print("spelling search: total 1, suggestion %r" % res.get("suggestion"))
            # No error counted, and the daemon still answers.
            err, st = c.call("stats", {})
            check(err is None and st["documents"] == 1, "stats: %r / %r" % (err, st))
            check(not any(st["errors"].values()), "stats counts errors: %r" % st["errors"])
        status = d.stop()
        check(status == 0, "polysearchd exit status %d after SIGTERM:\n%s"
              % (status, d.log_text()))


def main():
    pstest.indexer_path()  # each skips (77) when not built
    pstest.daemon_path()
    with pstest.workdir() as tmp:
        db = os.path.join(tmp, "db")
        failed_at, unreadable = make_unreadable_db(db)
        if not unreadable:
            pstest.skip("Xapian %s did not write an unreadable spelling fragment list "
                        "(%s): nothing to check"
                        % (xapian.version_string(),
                           "every commit succeeded" if failed_at is None
                           else "the commit of %s failed, yet %s and %s read back"
                           % (failed_at, ZERO_HIT, MATCHING)))
        print("Xapian %s: commit of %s failed; the fragments of %s and %s are unreadable"
              % (xapian.version_string(), failed_at, ZERO_HIT, MATCHING))
        check_indexer(db)
        check_daemon(db, tmp)
    print("spelling_unreadable: searches answered on a database with an unreadable "
          "spelling fragment list")


if __name__ == "__main__":
    main()
