"""e2e: synonyms across languages, on the seed corpus and
corpus/synonyms.conf, through every front end: polysearch-index
--synonyms (alone, with an indexing run, its errors and exit codes), the
MessagePack search (a French PME finds German KMU, a phrase member, the
matched members per hit, synonyms: false), a live add found through a
synonym, the synonyms method, the polysearch CLI (search, --no-synonyms,
--json, synonyms [WORD]), HTTP (/search?synonyms=false, /synonyms), the
Python client, and replacing the table while the daemon runs (old groups
gone).

Environment: PS_CLI, PS_DAEMON, PS_INDEXER, PS_SOURCE_DIR.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402
import polysearch_client as pc  # noqa: E402

CLI = os.environ.get("PS_CLI", "")
if not CLI or not os.access(CLI, os.X_OK):
    pstest.skip("PS_CLI not set")
CONF = os.path.join(pstest.source_dir(), "corpus", "synonyms.conf")
CORPUS = os.path.join(pstest.source_dir(), "corpus")
ENV = {k: v for k, v in os.environ.items()
       if k not in ("POLYSEARCH_SERVER", "POLYSEARCH_DB", "NO_COLOR", "COLUMNS")}


def run(cmd, timeout=60, stdin=None):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=ENV, timeout=timeout, input=stdin)
    except subprocess.TimeoutExpired:
        fail("%r did not finish within %d s" % (cmd, timeout))
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def index(args, code=0, what=""):
    rc, out, err = run([pstest.indexer_path()] + args)
    check(rc == code, "polysearch-index %r%s: exit %d, expected %d\n%s%s"
          % (args, what, rc, code, out, err))
    return out, err


def cli(server, args, code=0):
    rc, out, err = run([CLI, "--server", server] + args)
    check(rc == code, "polysearch %r: exit %d, expected %d\n%s%s"
          % (args, rc, code, out, err))
    return out, err


def hits(res):
    return {h["id"]: h for h in res["hits"]}


def indexer_errors(tmp):
    db = os.path.join(tmp, "errdb")
    bad = os.path.join(tmp, "bad.conf")
    cases = [
        ("PME = KMU\nsolo\n", "bad.conf:2: fewer than 2 members"),
        ("PME = \n", "bad.conf:1: member 2 is empty"),
        ("# ok\nPME = KMU\nPMÉ = SME\n",
         "bad.conf:3: 'pme' is already a member of the group of line 2"),
        (b"PME = K\xffMU\n", "bad.conf:1: invalid UTF-8"),
        ("a = " + "x" * 201 + "\n", "bad.conf:1: member 2 is 201 bytes"),
    ]
    for text, msg in cases:
        with open(bad, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode())
        _, err = index(["--db", db, "--synonyms", bad], 65, " (bad file)")
        check(msg in err, "want %r in stderr:\n%s" % (msg, err))
        check(not os.path.exists(db), "a bad file created the database")
    _, err = index(["--db", db, "--synonyms", os.path.join(tmp, "none.conf")], 66)
    check("none.conf" in err, "missing file not named:\n" + err)
    index(["--synonyms", CONF, "--server", "127.0.0.1:1", CORPUS], 64)
    index(["--db", db, "--synonyms", CONF, "--query", "x"], 64)
    # Alone, on a new database: no documents, the table only.
    out, err = index(["--db", db, "--synonyms", CONF])
    check("groups" in err, "no summary of the groups:\n" + err)


def main():
    with pstest.workdir() as tmp:
        indexer_errors(tmp)
        db = os.path.join(tmp, "db")
        out, _ = index(["--db", db, "--synonyms", CONF, CORPUS])
        check(out.startswith("added 5,"), "indexing run: " + out)
        hpf = os.path.join(tmp, "hport")
        d = pstest.Daemon(db, tmp, args=["--http", "127.0.0.1:0", "--http-port-file", hpf,
                                         "--writer-idle", "200ms"])
        try:
            check_daemon(d, hpf, db, tmp)
        finally:
            d.stop()


def check_daemon(d, hpf, db, tmp):
    srv = "127.0.0.1:%d" % d.port
    with d.client() as c:
        # A French query finds the German and English documents.
        err, res = c.call("search", {"q": "PME", "snippet": False})
        check(err is None, "search: %r" % (err,))
        h = hits(res)
        check(set(h) == {"001_10c8717af35b6bd6", "002_3a6c8b53a02b138e",
                         "003_653f2c5ef5783ed2", "004_b8e695500c194ab7"},
              "PME found %r" % sorted(h))
        check("synonyms" not in h["001_10c8717af35b6bd6"], "PME itself is no synonym")
        check("kmu" in h["003_653f2c5ef5783ed2"]["synonyms"], "de: %r" % h["003_653f2c5ef5783ed2"])
        check("sme" in h["004_b8e695500c194ab7"]["synonyms"], "en: %r" % h["004_b8e695500c194ab7"])
        ex = res["expanded"]
        check(len(ex) == 1 and ex[0]["from"] == "pme" and "kmu" in ex[0]["to"]
              and "pme" not in ex[0]["to"], "expanded %r" % ex)
        err, res = c.call("search", {"q": "PME", "synonyms": False})
        check(err is None and [x["id"] for x in res["hits"]] == ["001_10c8717af35b6bd6"]
              and "expanded" not in res, "synonyms false: %r" % res)
        # A phrase member: the French phrase finds German Kompetenzzentrum.
        err, res = c.call("search", {"q": "pôle de compétitivité", "snippet": False})
        h = hits(res)
        check("002_3a6c8b53a02b138e" in h and "kompetenzzentrum" in
              h["002_3a6c8b53a02b138e"].get("synonyms", []), "phrase: %r" % res)
        check(res["expanded"][0]["from"] == "pole de competitivite", "longest run")
        err, res = c.call("search", {"q": "\"pôle de compétitivité\""})
        check("expanded" not in res and "002_3a6c8b53a02b138e" not in hits(res),
              "a quoted phrase is not expanded: %r" % res)
        # A live add found through a synonym.
        err, res = c.call("add", {"docs": [{
            "id": "live-it", "lang": "it",
            "body": "Le piccole e medie imprese del Piemonte lavorano con Lyonbiopole."}]})
        check(err is None and res["added"] == 1, "add: %r %r" % (err, res))
        err, res = c.call("search", {"q": "KMU Lyonbiopole", "snippet": False})
        h = hits(res)
        check("live-it" in h and h["live-it"]["synonyms"] == ["piccole e medie imprese"],
              "live add through a synonym: %r" % res)
        # The synonyms method.
        err, res = c.call("synonyms", {"word": "Santé"})
        check(err is None and res["total"] == 1 and
              res["groups"] == [["gesundheit", "health", "salud", "salute", "sante"]],
              "synonyms word: %r %r" % (err, res))
        err, res = c.call("synonyms", {})
        check(err is None and res["total"] == 11 and len(res["groups"]) == 11, "all: %r" % res)
        err, page = c.call("synonyms", {"offset": 2, "limit": 3})
        check(page["total"] == 11 and page["groups"] == res["groups"][2:5], "page %r" % page)
        err, res = c.call("synonyms", {"word": 3})
        check(err and err["code"] == "bad_request", "word 3: %r" % (err,))
        err, res = c.call("synonyms", {"limit": 0})
        check(err and err["code"] == "bad_request", "limit 0: %r" % (err,))
        err, res = c.call("search", {"q": "x", "synonyms": "no"})
        check(err and err["code"] == "bad_request", "synonyms 'no': %r" % (err,))

    # The CLI.
    out, _ = cli(srv, ["search", "--no-snippet", "PME"])
    check("\nsynonyms: pme = kmu," in "\n" + out, "expansion line:\n" + out)
    check("   synonyms: kmu" in out, "hit line:\n" + out)
    out, _ = cli(srv, ["search", "--no-synonyms", "PME"])
    check(out.startswith("1 hit,") and "synonyms" not in out, "--no-synonyms:\n" + out)
    obj = json.loads(cli(srv, ["--json", "search", "PME"])[0])
    check(obj["expanded"][0]["from"] == "pme" and
          any("synonyms" in x for x in obj["hits"]), "--json: %r" % obj)
    out, _ = cli(srv, ["synonyms"])
    lines = out.splitlines()
    check(len(lines) == 11 and "gesundheit = health = salud = salute = sante" in lines,
          "synonyms:\n" + out)
    out, _ = cli(srv, ["synonyms", "Kompetenz", "zentrum"], 66)
    out, _ = cli(srv, ["synonyms", "pôle", "de", "compétitivité"])
    check(out.startswith("competitiveness cluster = ") and out.count("\n") == 1,
          "group of a phrase:\n" + out)
    obj = json.loads(cli(srv, ["--json", "synonyms", "KMU"])[0])
    check(obj["total"] == 1 and "pme" in obj["groups"][0], "--json synonyms %r" % obj)
    _, err = cli(srv, ["synonyms", "nothing"], 66)
    check("no group holds 'nothing'" in err, err)

    # HTTP.
    hp = int(open(hpf).read().strip())
    base = "http://127.0.0.1:%d" % hp

    def get(path, **q):
        url = base + path + "?" + urllib.parse.urlencode(q)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read().decode())
    res = get("/search", q="PME", synonyms="false")
    check(len(res["hits"]) == 1 and "expanded" not in res, "HTTP synonyms=false %r" % res)
    res = get("/search", q="PME")
    check(res["expanded"][0]["from"] == "pme", "HTTP expanded %r" % res)
    res = get("/synonyms", word="sme")
    check(res["total"] == 1 and "kmu" in res["groups"][0], "HTTP /synonyms %r" % res)

    # The Python client.
    with pc.Client(srv) as c:
        r = c.search("KMU", synonyms=False)
        check({x["id"] for x in r["hits"]} == {"002_3a6c8b53a02b138e", "003_653f2c5ef5783ed2"},
              "python synonyms=False %r" % r)
        check(c.synonyms("health")["groups"][0][0] == "gesundheit", "python synonyms()")

    # Subscriptions are expanded as searches are (synonyms: false not).
    with d.client() as s, d.client() as w:
        err, a = s.call("subscribe", {"q": "KMU", "name": "with"})
        check(err is None, "subscribe: %r" % (err,))
        err, b = s.call("subscribe", {"q": "KMU", "name": "without", "synonyms": False})
        check(err is None, "subscribe synonyms false: %r" % (err,))
        err, res = w.call("add", {"docs": [{"id": "live-it2", "lang": "it",
                                           "body": "Nuove piccole e medie imprese a Torino."}]})
        check(err is None, "add: %r" % (err,))
        got = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                msg = s.recv(0.5)
            except socket.timeout:
                msg = None
            if msg is not None and msg[0] == 2:
                got.append((msg[2][0]["name"], msg[2][0]["id"]))
                deadline = min(deadline, time.monotonic() + 1.0)
        check(got == [("with", "live-it2")], "match notifications: %r" % got)
        err, res = w.call("delete", {"ids": ["live-it2"]})

    # Replacing the table while the daemon runs (its write lock is
    # released after --writer-idle): the old groups are gone at once.
    new = os.path.join(tmp, "new.conf")
    with open(new, "w") as f:
        f.write("PME = Mittelstand\n")
    deadline = time.monotonic() + 30
    while True:
        rc, out, err = run([pstest.indexer_path(), "--db", db, "--synonyms", new])
        if rc == 0:
            break
        check(rc == 75 and time.monotonic() < deadline,
              "replacing: exit %d\n%s%s" % (rc, out, err))
        time.sleep(0.2)
    with d.client() as c:
        err, res = c.call("synonyms", {})
        check(res == {"total": 1, "groups": [["mittelstand", "pme"]]}, "replaced: %r" % res)
        err, res = c.call("search", {"q": "KMU"})
        check("expanded" not in res and len(res["hits"]) == 2, "old group gone: %r" % res)
        err, res = c.call("search", {"q": "PME"})
        check(res["expanded"] == [{"from": "pme", "to": ["mittelstand"]}], "new %r" % res)
    out, _ = cli(srv, ["synonyms"])
    check(out == "mittelstand = pme\n", "CLI after replace: %r" % out)


if __name__ == "__main__":
    main()
    print("ok")
