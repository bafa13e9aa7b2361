"""e2e: polysearch-index's progress line on a terminal (issue 14).

polysearch-index runs with stderr on a pseudo-terminal (os.openpty) over
../shared/corpus/sample.jsonl (2005 documents) with malformed JSON lines
inserted, --batch 200 (about ten commits), and over a directory of 800
text files with dangling symbolic links among them.  What the terminal
shows is rebuilt from the bytes (\\r, ESC[K, \\n) and checked:

- without --verbose no "committed" line; with --verbose one per commit;
- a parallel build (--parallel-build 2) shows the phase "merging" last;
- the line shows the phase word, documents, docs/s, percent and ETA;
- every warning (from the run's own warnings and from the directory walk,
  which logs through ps_log directly) is a whole line of its own: each
  line left on the screen is a complete log line, never glued to a piece
  of the progress line, and the progress line is redrawn below it;
- the progress line is erased at the end;
- with stderr not a terminal (the directory again), no progress line at
  all, the same warnings, and still no "committed" lines without
  --verbose.

Environment: PS_INDEXER, PS_SHARED_DIR.  Exit 77 (skipped) without the
sample corpus.
"""
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

PSI = os.environ.get("PS_INDEXER", "")
SHARED = os.environ.get("PS_SHARED_DIR", "")
SAMPLE = os.path.join(SHARED, "corpus", "sample.jsonl")
if not PSI or not os.access(PSI, os.X_OK):
    print("SKIP: PS_INDEXER not set", file=sys.stderr)
    sys.exit(77)
if not os.access(SAMPLE, os.R_OK):
    print("SKIP: no %s" % SAMPLE, file=sys.stderr)
    sys.exit(77)

FAILS = []
LOG_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                    r"polysearch-index\[\d+\] (ERROR|WARN|INFO|DEBUG): ")
BAR_JSONL = re.compile(r"indexing: \d+ docs, \d+\.\d docs/s, \d+%, ETA \d+:\d\d")
BAR_DIR = re.compile(r"indexing: \d+/800 docs, \d+\.\d docs/s, \d+%, ETA \d+:\d\d")
CLEAR = "\r\x1b[K"


def check(cond, msg):
    if cond:
        print("ok: " + msg)
    else:
        print("FAIL: " + msg, file=sys.stderr)
        FAILS.append(msg)


def run_pty(args, timeout=150):
    """Runs the indexer with stderr on a pseudo-terminal; returns (exit
    code, stdout, the raw bytes the terminal received as text)."""
    master, slave = os.openpty()
    p = subprocess.Popen([PSI] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    raw = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            p.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:         # EIO: the last writer closed the terminal
            break
        if not data:
            break
        raw += data
    os.close(master)
    out = p.stdout.read().decode()
    p.stdout.close()
    return p.wait(), out, raw.decode(errors="replace")


def render(raw):
    """What a terminal shows after raw: (complete lines, the last line)."""
    lines, cur, col, i = [], [], 0, 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            del cur[col:]
            i += 3
            continue
        c = raw[i]
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = c
            else:
                cur.append(c)
            col += 1
        i += 1
    return lines, "".join(cur)


def check_screen(name, raw, bar_re, want_warn):
    """The checks common to every terminal run; returns the screen lines."""
    lines, last = render(raw)
    check(bar_re.search(raw) is not None,
          "%s: progress line with phase, docs, docs/s, %%, ETA (%r)"
          % (name, raw[:120]))
    bad = [ln for ln in lines if not LOG_RE.match(ln) or "docs/s" in ln]
    check(not bad, "%s: every line left on screen is a whole log line "
          "(not glued to the progress line): %r" % (name, bad[:3]))
    check(last == "", "%s: progress line erased at the end (left: %r)"
          % (name, last))
    warns = [ln for ln in lines if " WARN: " in ln]
    check(len(warns) == want_warn, "%s: %d warnings on lines of their own "
          "(got %d: %r)" % (name, want_warn, len(warns), warns))
    # At least one warning came while the line was shown: it was erased
    # just before the warning and redrawn just after it.
    redrawn = re.search(re.escape(CLEAR) + r"\d{4}-[^\n]* WARN: [^\n]*\r?\nindexing: ",
                        raw)
    check(redrawn is not None, "%s: a warning printed over the shown line "
          "erased it first and redrew it below" % name)
    return lines


def main(tmp):
    # JSON Lines: the sample with a malformed line after every 500.
    jl = os.path.join(tmp, "docs.jsonl")
    with open(SAMPLE, encoding="utf-8") as f, \
            open(jl, "w", encoding="utf-8") as g:
        for n, line in enumerate(f, 1):
            g.write(line)
            if n % 500 == 0:
                g.write('{"id": "broken-%d", "body": \n' % n)
    nbad = 2005 // 500

    rc, out, raw = run_pty(["--db", os.path.join(tmp, "db1"), "--batch",
                            "200", jl])
    check(rc == 65, "jsonl: exit 65 for the malformed lines (got %d)" % rc)
    check("added 2005, updated 0, unchanged 0, deleted 0, skipped 0, "
          "failed %d" % nbad in out, "jsonl: summary on stdout: " + out.strip())
    lines = check_screen("jsonl", raw, BAR_JSONL, nbad)
    check(not [ln for ln in lines if "committed" in ln],
          "jsonl: no 'committed' line without --verbose")
    check(all(re.search(r"docs\.jsonl:\d+: ", ln) for ln in lines
              if " WARN: " in ln), "jsonl: warnings name FILE:LINE")

    rc, out, raw = run_pty(["--db", os.path.join(tmp, "db2"), "--batch",
                            "200", "--verbose", jl])
    check(rc == 65, "jsonl --verbose: exit 65 (got %d)" % rc)
    lines = check_screen("jsonl --verbose", raw, BAR_JSONL, nbad)
    commits = [ln for ln in lines if "committed" in ln]
    check(len(commits) == 11 and "committed 200 documents (total 200)"
          in commits[0] and "committed 5 documents (total 2005)"
          in commits[-1], "jsonl --verbose: one 'committed' line per "
          "commit (%d: %r ... %r)" % (len(commits), commits[:1],
                                      commits[-1:]))

    # A parallel build: the phase turns to "merging" at the end.
    rc, out, raw = run_pty(["--db", os.path.join(tmp, "db5"),
                            "--parallel-build", "2", jl])
    check(rc == 65, "jsonl --parallel-build 2: exit 65 (got %d)" % rc)
    check("added 2005, updated 0, unchanged 0, deleted 0, skipped 0, "
          "failed %d" % nbad in out, "jsonl --parallel-build 2: summary: "
          + out.strip())
    check_screen("jsonl --parallel-build 2", raw, BAR_JSONL, nbad)
    check(re.search(r"merging: \d+ docs, \d+\.\d docs/s", raw) is not None,
          "jsonl --parallel-build 2: the line shows the phase 'merging'")

    # A directory: 800 files and two dangling symbolic links, which the
    # walk warns about (ps_log, not the run's own warning helper).
    d = os.path.join(tmp, "dir")
    os.mkdir(d)
    with open(SAMPLE, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n == 800:
                break
            doc = json.loads(line)
            with open(os.path.join(d, "d%04d.txt" % n), "w",
                      encoding="utf-8") as g:
                g.write((doc.get("title") or "") + "\n\n" + doc["body"])
    os.symlink("nowhere", os.path.join(d, "d0400x.txt"))
    os.symlink("nowhere", os.path.join(d, "zz.txt"))
    rc, out, raw = run_pty(["--db", os.path.join(tmp, "db3"), "--batch",
                            "200", d])
    check(rc in (0, 65), "dir: exit %d" % rc)
    check("added 800," in out, "dir: summary on stdout: " + out.strip())
    lines = check_screen("dir", raw, BAR_DIR, 2)
    check(not [ln for ln in lines if "committed" in ln],
          "dir: no 'committed' line without --verbose")
    check(sum("dangling symbolic link skipped" in ln for ln in lines) == 2,
          "dir: the walk's warnings are on lines of their own")

    # Not a terminal: no progress line, same warnings, no commit lines.
    r = subprocess.run([PSI, "--db", os.path.join(tmp, "db4"), "--batch",
                        "200", d], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=150)
    err = r.stderr.decode(errors="replace")
    check(r.returncode in (0, 65) and b"added 800," in r.stdout,
          "pipe: exit %d, %s" % (r.returncode, r.stdout.decode().strip()))
    check("\r" not in err and "\x1b" not in err and "docs/s" not in err,
          "pipe: no progress line when stderr is not a terminal")
    elines = err.splitlines()
    check(all(LOG_RE.match(ln) for ln in elines),
          "pipe: stderr holds log lines only")
    check(sum("dangling symbolic link skipped" in ln for ln in elines) == 2,
          "pipe: the 2 warnings")
    check(not [ln for ln in elines if "committed" in ln],
          "pipe: no 'committed' line without --verbose")


def run():
    tmp = tempfile.mkdtemp(prefix="ps_progress_e2e.")
    try:
        main(tmp)
    finally:
        if os.environ.get("KEEP"):
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    run()
