"""e2e: the polysearch CLI against a real polysearchd on a temporary index of
corpus/: human output (plain when piped), --json, every exit code, accents
and case, shell-special characters passed as one argv, Unix socket.

Environment: PS_CLI (polysearch), PS_DAEMON, PS_INDEXER, PS_SOURCE_DIR.
"""
import json
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

CLI = os.environ.get("PS_CLI", "")
if not CLI or not os.access(CLI, os.X_OK):
    pstest.skip("PS_CLI not set")

ENV = {k: v for k, v in os.environ.items()
       if k not in ("POLYSEARCH_SERVER", "NO_COLOR", "COLUMNS")}


def run(args, server=None, env=None, timeout=30):
    """Runs the CLI; returns (exit code, stdout text, stderr text)."""
    cmd = [CLI] + (["--server", server] if server else []) + list(args)
    e = dict(ENV)
    e.update(env or {})
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("%r did not finish within %d s" % (cmd, timeout))
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def expect(args, code, server, **kw):
    rc, out, err = run(args, server, **kw)
    check(rc == code, "%r: exit %d, expected %d\nstdout: %s\nstderr: %s"
          % (args, rc, code, out[:2000], err[:2000]))
    return out, err


def js(args, server, code=0):
    out, _ = expect(["--json"] + list(args), code, server)
    lines = out.splitlines()
    check(len(lines) == 1, "--json %r printed %d lines, expected one object" % (args, len(lines)))
    obj = json.loads(lines[0])
    check(isinstance(obj, dict), "--json output is not an object")
    return obj


HIT_KEYS = {"id", "title", "lang", "score", "rank", "snippet", "highlights"}
FIRST = re.compile(r"^(\d+) hits?, showing (\d+)-(\d+) \(\d+\.\d\d ms\)$")
RANK = re.compile(r"^(\d+)\. (.+)$")
META = re.compile(r"^   id: (\S+) \| lang: ([a-z]{2,3})( \| date: \S+)? \| score: \d+\.\d{3}$")


def parse_human(out):
    """Checks the plain human layout; returns [(rank, title, id, lang)]."""
    check("\033" not in out, "ANSI escapes in piped output:\n" + out)
    lines = out.split("\n")
    m = FIRST.match(lines[0])
    check(m is not None, "first line %r is not 'N hits, showing A-B (T ms)'" % lines[0])
    hits, i = [], 1
    while i < len(lines):
        r = RANK.match(lines[i])
        if r:
            meta = META.match(lines[i + 1]) if i + 1 < len(lines) else None
            check(meta is not None, "line after %r is not the id/lang/score line: %r"
                  % (lines[i], lines[i + 1] if i + 1 < len(lines) else None))
            hits.append((int(r.group(1)), r.group(2), meta.group(1), meta.group(2)))
            i += 2
            continue
        check(len(lines[i]) == 0 or lines[i].startswith("   ") or lines[i].startswith("languages:"),
              "unexpected line %r" % lines[i])
        width = len(lines[i])
        check(width <= 80, "line wider than 80 columns when piped: %r" % lines[i])
        i += 1
    check(int(m.group(3)) - int(m.group(2)) + 1 == len(hits),
          "first line announces %s-%s but %d hits printed" % (m.group(2), m.group(3), len(hits)))
    return hits


def ids(obj):
    return [h["id"] for h in obj["hits"]]


def check_hits(obj, offset=0):
    check(isinstance(obj.get("total"), int) and isinstance(obj.get("took_us"), int),
          "total/took_us missing: %r" % obj)
    for n, h in enumerate(obj["hits"]):
        missing = HIT_KEYS - set(h)
        check(not missing, "hit lacks %s: %r" % (missing, h))
        check(h["rank"] == offset + n + 1, "rank %r at position %d" % (h["rank"], n))
        snip = h["snippet"].encode("utf-8")
        for off, ln in h["highlights"]:
            check(0 <= off and off + ln <= len(snip), "highlight %r outside snippet" % ([off, ln],))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True) as d:
            srv = "127.0.0.1:%d" % d.port

            out, _ = expect(["ping"], 0, srv)
            check(out.startswith("pong from %s in " % srv), "ping output %r" % out)
            check(js(["ping"], srv)["result"] == "pong", "ping --json")

            # Human output, plain when piped.
            out, _ = expect(["search", "santé", "lyonbiopole"], 0, srv)
            hits = parse_human(out)
            check(len(hits) >= 2, "expected >= 2 hits for 'santé lyonbiopole':\n" + out)
            check([h[0] for h in hits] == list(range(1, len(hits) + 1)), "ranks %r" % hits)
            obj = js(["search", "santé", "lyonbiopole"], srv)
            check_hits(obj)
            check([h[2] for h in hits] == ids(obj), "human ids %r != json ids %r" % (hits, ids(obj)))
            check([h[3] for h in hits] == [h["lang"] for h in obj["hits"]], "langs differ")
            check("000_3d3df94667dbc618" in ids(obj), "French Lyonbiopôle article missing")
            # NO_COLOR and COLUMNS honoured (still plain: not a tty).
            out2, _ = expect(["search", "santé", "lyonbiopole"], 0, srv,
                             env={"NO_COLOR": "1", "COLUMNS": "40"})
            check("\033" not in out2, "escapes with NO_COLOR")
            check(all(len(l) <= 40 for l in out2.split("\n") if l.startswith("   ") and "|" not in l),
                  "snippet lines wider than COLUMNS=40:\n" + out2)

            # Accents and case fold the same way.
            base = set(ids(js(["search", "santé"], srv)))
            check(base, "no hits for santé")
            for q in ("SANTÉ", "sante", "Santé"):
                check(set(ids(js(["search", q], srv))) == base, "%s differs from santé" % q)
            lyon = set(ids(js(["search", "Lyonbiopôle"], srv)))
            check("000_3d3df94667dbc618" in lyon and "002_3a6c8b53a02b138e" in lyon,
                  "Lyonbiopôle should find the French and German articles: %r" % lyon)
            for q in ("lyonbiopole", "LYONBIOPOLE", "LYONBIOPÔLE"):
                check(set(ids(js(["search", q], srv))) == lyon, "%s differs from Lyonbiopôle" % q)

            # Options.
            two = js(["--limit", "2", "search", "lyonbiopole"], srv)
            check(len(two["hits"]) == 2, "--limit 2 gave %d hits" % len(two["hits"]))
            second = js(["--offset", "1", "--limit", "1", "search", "lyonbiopole"], srv)
            check_hits(second, offset=1)
            check(ids(second) == ids(two)[1:2], "--offset 1 --limit 1 %r vs %r" % (ids(second), ids(two)))
            out, _ = expect(["--offset", "1", "--limit", "1", "search", "lyonbiopole"], 0, srv)
            check(parse_human(out)[0][0] == 2, "human rank with --offset 1")
            de = js(["--lang", "de", "search", "lyonbiopole"], srv)
            check(de["hits"] and all(h["lang"] == "de" for h in de["hits"]), "--lang de: %r" % de)
            fac = js(["--facets", "search", "lyonbiopole"], srv)
            check(isinstance(fac.get("facets", {}).get("lang"), dict) and fac["facets"]["lang"],
                  "--facets: %r" % fac.get("facets"))
            out, _ = expect(["--facets", "search", "lyonbiopole"], 0, srv)
            check("\nlanguages: " in out, "human facets line missing")
            ns = js(["--no-snippet", "search", "lyonbiopole"], srv)
            check(all(h["snippet"] == "" for h in ns["hits"]), "--no-snippet still has snippets")
            js(["--sort", "date", "search", "lyonbiopole"], srv)
            js(["--sort", "relevance", "--timeout", "5s", "search", "lyonbiopole"], srv)

            # Zero hits: exit 0; spelling suggestion when there is one.
            out, _ = expect(["search", "zzqxwvvq"], 0, srv)
            check(out.startswith("0 hits ("), "zero-hit output %r" % out)
            z = js(["search", "zzqxwvvq"], srv)
            check(z["total"] == 0 and z["hits"] == [], "zero hits json %r" % z)
            sug = js(["search", "lyonbiopoel"], srv)
            if sug.get("suggestion"):
                out, _ = expect(["search", "lyonbiopoel"], 0, srv)
                check("did you mean: %s\n" % sug["suggestion"] in out, "no 'did you mean' in %r" % out)
            else:
                print("note: daemon gave no suggestion for 'lyonbiopoel'", file=sys.stderr)

            # Query syntax error: the daemon's message, exit 65.
            out, err = expect(["search", "santé", "NOT"], 65, srv)
            check(out == "" and len(err.strip().split("\n")) == 1 and "query_syntax" in err,
                  "syntax error output: %r %r" % (out, err))
            e = js(["search", "santé", "NOT"], srv, code=65)
            check(e["error"]["code"] == "query_syntax" and e["error"]["message"], "json error %r" % e)

            # Shell-special characters reach the daemon as one argv word.
            for q in ['"santé"', "'santé", "santé $HOME", "$(id)", "*", "san*", "santé; rm -rf /",
                      "santé && echo pwned", "a|b", "`id`", "back\\slash", "santé > /tmp/x",
                      "(santé)", "100%", "#hash", "~user", "santé\tlyon", "é" * 50]:
                rc, out, err = run(["--json", "search", q], srv)
                check(rc in (0, 65), "query %r: exit %d %s" % (q, rc, err))
                obj = json.loads(out)
                check(("hits" in obj) if rc == 0 else ("error" in obj), "query %r: %r" % (q, obj))
                check("pwned" not in out + err or "pwned" in q, "shell ran something for %r" % q)

            # get / stats / delete.
            out, _ = expect(["get", "000_3d3df94667dbc618"], 0, srv)
            check(out.startswith("Lyonbiopôle") and "\nid: 000_3d3df94667dbc618 | lang: fr" in out,
                  "get output:\n" + out[:500])
            doc = js(["get", "000_3d3df94667dbc618"], srv)
            check(doc["id"] == "000_3d3df94667dbc618" and "Kimelfeld" in doc["body"] and doc["lang"] == "fr",
                  "get json %r" % {k: doc[k] for k in doc if k != "body"})
            _, err = expect(["get", "no-such-document"], 66, srv)
            check("not_found" in err, "get missing: %r" % err)
            st = js(["stats"], srv)
            check(len(st) > 0, "stats json empty")
            out, _ = expect(["stats"], 0, srv)
            check(re.search(r"^\S+: \S", out, re.M), "stats human output %r" % out[:300])

            # add / delete.
            jl = os.path.join(tmp, "docs.jsonl")
            with open(jl, "w", encoding="utf-8") as f:
                f.write('{"id": "cli-1", "title": "Quokka", "body": "quokkaphant unique", "lang": "en"}\n')
                f.write('not json\n\n')
                f.write('{"id": "cli-2", "body": "zweiter quokkaphant", "color": "red"}\n')
                f.write('{"id": "cli-3", "body": "dritter quokkaphant"}\n')
            rc, out, err = run(["--json", "add", jl], srv)
            check(rc == 65, "add with 2 bad lines: exit %d %r" % (rc, err))
            res = json.loads(out)
            check(res["added"] + res["replaced"] + res["unchanged"] == 2, "add counts %r" % res)
            srcs = sorted(i["source"] for i in res["invalid"])
            check(srcs == [jl + ":2", jl + ":4"], "invalid sources %r" % srcs)
            check(jl + ":2" in err and "unknown key 'color'" in err, "add messages %r" % err)
            found = pstest.wait_until(
                lambda: js(["search", "quokkaphant"], srv)["total"] == 2, 5.0)
            check(found, "added documents not searchable")
            out, _ = expect(["delete", "cli-1", "cli-3", "nope"], 0, srv)
            check(out == "deleted 2, not found 1\n", "delete output %r" % out)

            # Unix socket address.
            out, _ = expect(["search", "innovation"], 0, "unix:" + d.socket_path)
            check(parse_human(out), "no hits over the Unix socket")

            # Usage errors: 64.
            for args in ([], ["frobnicate"], ["search"], ["get"], ["get", "a", "b"],
                         ["--limit", "abc", "search", "x"], ["--limit", "0", "search", "x"],
                         ["--offset", "-1", "search", "x"], ["--sort", "size", "search", "x"],
                         ["--timeout", "soon", "ping"], ["--no-such-option", "ping"],
                         ["--server", "::1", "ping"], ["--server", "host:0", "ping"],
                         ["stats", "extra"]):
                rc, out, err = run(args, srv)
                check(rc == 64, "usage %r: exit %d (%s)" % (args, rc, err))
                check(err.startswith("polysearch: ") or "Try 'polysearch --help'" in err,
                      "usage message for %r: %r" % (args, err))
            out, _ = expect(["--help"], 0, None)
            check("search QUERY" in out and "--server" in out, "--help text")
            out, _ = expect(["--version"], 0, None)
            check(re.match(r"^polysearch \d+\.\d+\.\d+\n$", out), "--version %r" % out)

            # Unreachable daemon: one line naming the address, exit 69.
            port = free_port()
            dead = "127.0.0.1:%d" % port
            for how in ("flag", "env"):
                if how == "flag":
                    rc, out, err = run(["search", "santé"], dead)
                else:
                    rc, out, err = run(["search", "santé"], None, env={"POLYSEARCH_SERVER": dead})
                check(rc == 69, "unreachable (%s): exit %d" % (how, rc))
                want = ("polysearch: cannot connect to %s: Connection refused (is polysearchd "
                        "running? start it with: polysearchd --db DIR)\n" % dead)
                check(err == want and out == "", "unreachable (%s) stderr %r" % (how, err))
            rc, out, err = run(["--json", "ping"], dead)
            check(rc == 69 and json.loads(out)["error"]["code"] == "connect", "unreachable --json")
            rc, out, err = run(["ping"], "unix:" + os.path.join(tmp, "none.sock"))
            check(rc == 69 and "No such file" in err, "missing socket: %d %r" % (rc, err))

            check(d.alive(), "daemon died during the CLI tests")
            check(d.stop() == 0, "daemon did not exit 0 on SIGTERM")
    print("cli_search: OK")


if __name__ == "__main__":
    main()
