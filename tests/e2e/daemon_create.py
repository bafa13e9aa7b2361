"""polysearchd --create: a service fed only through add starts from nothing.

Without --create a missing database exits 66 naming the flag; with it an
empty database is made (searchable at once: 0 hits, 0 documents; writable
through add) and later starts, with or without the flag, open it as it is.
A path holding something else (a directory with other files, a file) is
never written into (exit 73), a missing parent is not made (73), --create
with --shard is a usage error (64), an existing shard set is left as it is
(but for its write-ahead log, DIR/wal), and `create` works in a --config
file."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check


def run(args, timeout=10):
    return subprocess.run([pstest.daemon_path()] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def tree(path):
    """{relative path: bytes} of every file under path (directories as None)."""
    out = {}
    for root, dirs, files in os.walk(path):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), path)] = None
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out


def call_ok(c, method, params=None):
    err, res = c.call(method, params)
    check(err is None, "%s %r: %r" % (method, params, err))
    return res


def check_empty(c, what):
    res = call_ok(c, "search", {"q": "wombat"})
    check(res["total"] == 0 and res["hits"] == [], "%s: search on an empty database: %r"
          % (what, res))
    st = call_ok(c, "stats")
    check(st["documents"] == 0, "%s: stats documents %r, want 0" % (what, st["documents"]))


def add_and_find(c, doc_id, what):
    res = call_ok(c, "add", {"docs": [{"id": doc_id, "title": "Wombat news",
                                       "body": "A wombat was seen near the river.",
                                       "lang": "en"}]})
    check(res["added"] == 1, "%s: add: %r" % (what, res))
    res = call_ok(c, "search", {"q": "wombat"})
    check(res["total"] >= 1 and doc_id in [h["id"] for h in res["hits"]],
          "%s: added document not found: %r" % (what, res))


def test_missing_without_create(tmp):
    db = os.path.join(tmp, "fresh")
    r = run(["--db", db, "--listen", "127.0.0.1:0"])
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 66, "missing db: exit %d, want 66: %s" % (r.returncode, err))
    check("no index at" in err and "polysearch-index" in err and "--create" in err,
          "missing db: message should name polysearch-index and --create: %s" % err)
    check(not os.path.exists(db), "missing db without --create: %s was made" % db)
    # An empty directory is no database either; --create would help there too.
    os.mkdir(db)
    r = run(["--db", db, "--listen", "127.0.0.1:0"])
    check(r.returncode == 66 and b"--create" in r.stderr,
          "empty dir: exit %d %r" % (r.returncode, r.stderr[-300:]))
    check(os.listdir(db) == [], "empty dir without --create was written to")
    os.rmdir(db)
    print("missing database without --create ok")


def test_create_then_add(tmp):
    db = os.path.join(tmp, "fresh")
    with pstest.Daemon(db, tmp, args=["--create", "--workers", "2"],
                       log_name="create.log") as d:
        check("created an empty database" in d.log_text(), "creation not logged:\n" +
              d.log_text())
        with d.client() as c:
            check_empty(c, "--create")
            add_and_find(c, "w/1", "--create")
            for _ in range(4):      # every worker sees it
                res = call_ok(c, "search", {"q": "wombat"})
                check(res["total"] == 1, "not visible on every worker: %r" % res)
            check(call_ok(c, "stats")["documents"] == 1, "stats after add")
            doc = call_ok(c, "get", {"id": "w/1"})
            check(doc["title"] == "Wombat news", "get: %r" % doc)
        check(d.stop() == 0, "exit status after --create")
    # Restart without --create: the database is there, with its document.
    with pstest.Daemon(db, tmp, log_name="restart.log") as d:
        with d.client() as c:
            res = call_ok(c, "search", {"q": "wombat"})
            check(res["total"] == 1 and res["hits"][0]["id"] == "w/1",
                  "after restart: %r" % res)
            add_and_find(c, "w/2", "restart")
        check(d.stop() == 0, "exit status after restart")
    # --create on an existing database opens it as it is.
    with pstest.Daemon(db, tmp, args=["--create"], log_name="again.log") as d:
        check("created" not in d.log_text(), "--create recreated an existing database:\n" +
              d.log_text())
        with d.client() as c:
            check(call_ok(c, "stats")["documents"] == 2, "documents after --create again")
        check(d.stop() == 0, "exit status")
    # An empty directory (as made by systemd's StateDirectory=) is fine too.
    empty = os.path.join(tmp, "emptydir")
    os.mkdir(empty)
    with pstest.Daemon(empty, tmp, args=["--create"], log_name="emptydir.log") as d:
        with d.client() as c:
            check_empty(c, "--create in an empty directory")
            add_and_find(c, "e/1", "--create in an empty directory")
        check(d.stop() == 0, "exit status")
    print("--create, add, restart ok")


def test_refusals(tmp):
    # A directory holding other files: refused, nothing written.
    other = os.path.join(tmp, "notadb")
    os.makedirs(os.path.join(other, "sub"))
    with open(os.path.join(other, "notes.txt"), "w") as f:
        f.write("precious\n")
    before = tree(other)
    r = run(["--db", other, "--create", "--listen", "127.0.0.1:0"])
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 73, "non-database dir with --create: exit %d, want 73: %s"
          % (r.returncode, err))
    check(other in err and "no database" in err, "refusal message: %s" % err)
    check(tree(other) == before, "non-database dir was changed: %r" % tree(other))
    # Without --create the advice does not suggest it (it would not help).
    r = run(["--db", other, "--listen", "127.0.0.1:0"])
    check(r.returncode == 66 and b"--create" not in r.stderr,
          "non-database dir without --create: exit %d %r" % (r.returncode, r.stderr[-300:]))
    check(tree(other) == before, "non-database dir was changed")
    # A regular file.
    path = os.path.join(other, "notes.txt")
    r = run(["--db", path, "--create", "--listen", "127.0.0.1:0"])
    check(r.returncode == 73 and b"not a directory" in r.stderr,
          "file with --create: exit %d %r" % (r.returncode, r.stderr[-300:]))
    check(tree(other) == before, "file was changed")
    # A missing parent is not made.
    deep = os.path.join(tmp, "no", "such", "db")
    r = run(["--db", deep, "--create", "--listen", "127.0.0.1:0"])
    check(r.returncode == 73 and b"does not exist" in r.stderr,
          "missing parent: exit %d %r" % (r.returncode, r.stderr[-300:]))
    check(not os.path.exists(os.path.join(tmp, "no")), "missing parent was made")
    # Shards: a usage error.
    r = run(["--create", "--shard", os.path.join(tmp, "s0"), "--listen", "127.0.0.1:0"])
    check(r.returncode == 64 and b"--shards" in r.stderr,
          "--create --shard: exit %d %r" % (r.returncode, r.stderr[-300:]))
    check(not os.path.exists(os.path.join(tmp, "s0")), "--create --shard made a shard")
    print("refusals ok")


def test_config_and_shard_set(tmp):
    # `create` in a settings file.
    db = os.path.join(tmp, "fromconf")
    conf = os.path.join(tmp, "create.conf")
    with open(conf, "w") as f:
        f.write("create\nworkers 1\n")
    with pstest.Daemon(db, tmp, args=["--config", conf], log_name="conf.log") as d:
        with d.client() as c:
            check_empty(c, "create in --config")
        check(d.stop() == 0, "exit status")
    # An empty shard set made by the indexer is opened as it is.
    sset = os.path.join(tmp, "set")
    r = subprocess.run([pstest.indexer_path(), "--db", sset, "--shards", "2", "-"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "empty shard set: %r" % r.stderr)
    before = sorted(os.listdir(sset))
    with pstest.Daemon(sset, tmp, args=["--create"], log_name="set.log") as d:
        check("--create: created" not in d.log_text(), "--create wrote into a shard set")
        with d.client() as c:
            check_empty(c, "shard set")
            add_and_find(c, "s/1", "shard set")
        check(d.stop() == 0, "exit status")
    # Only the shard set's write-ahead log was added (docs/SCALING.md).
    check(sorted(n for n in os.listdir(sset) if n != "wal") == before,
          "shard set layout changed: %r" % os.listdir(sset))
    check(os.path.isdir(os.path.join(sset, "wal")), "no write-ahead log in %s" % sset)
    print("config file and shard set ok")


def main():
    with pstest.workdir() as tmp:
        test_missing_without_create(tmp)
        test_create_then_add(tmp)
        test_refusals(tmp)
        test_config_and_shard_set(tmp)
    print("ok")


if __name__ == "__main__":
    main()
