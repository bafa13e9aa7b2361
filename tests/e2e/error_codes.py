"""The error codes named in `polysearchd --help` and docs/PROTOCOL.md are
exactly the codes the daemon can send.

The daemon's own list is the keys of `stats.errors`, which has one counter
per code it can answer with.  Checked:
- the Error codes table of docs/PROTOCOL.md holds exactly those codes;
- every code word named in PROTOCOL.md (after "Errors:" in a method's
  section and in the "when exceeded" column of the limits table) is one;
- every code word named in --help is one (snake_case words anywhere, and
  the word after ';' or ':' inside parentheses, as in "(10s; timeout)")."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest
from pstest import check

SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
NOT_CODES = set()   # words in code positions that are not codes: none yet


def protocol_sections(text):
    table, named = set(), {}
    m = re.search(r"^## Error codes\n(.*?)^## ", text, re.S | re.M)
    check(m, "docs/PROTOCOL.md has no '## Error codes' section")
    for line in m.group(1).splitlines():
        c = re.match(r"\| `([a-z_]+)` \|", line)
        if c:
            table.add(c.group(1))
    # "Errors: `a`, `b` (...), `c`." paragraphs: every backquoted word up
    # to the blank line that ends the paragraph.
    for para in re.findall(r"Errors:(.*?)(?:\n\n|\Z)", text, re.S):
        for w in re.findall(r"`([a-z_]+)`", para):
            named.setdefault(w, "an Errors: paragraph")
    m = re.search(r"^## Limits\n(.*?)^## ", text, re.S | re.M)
    check(m, "docs/PROTOCOL.md has no '## Limits' section")
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].startswith("`"):
            for w in re.findall(r"`([a-z_]+)`", cells[4]):
                named.setdefault(w, "the limits table (%s)" % cells[1])
    return table, named


def help_codes(text):
    named = {}
    for w in SNAKE.findall(text):
        named.setdefault(w, "a snake_case word")
    for group in re.findall(r"\(([^()]*)\)", text):
        last = re.split(r"[;:]", group)[-1].strip() if re.search(r"[;:]", group) else ""
        if re.fullmatch(r"[a-z_]+", last):
            named.setdefault(last, "(%s)" % group)
    return named


def main():
    src = pstest.source_dir()
    with open(os.path.join(src, "docs", "PROTOCOL.md"), encoding="utf-8") as f:
        proto = f.read()
    helptext = subprocess.run([pstest.daemon_path(), "--help"], stdout=subprocess.PIPE,
                              timeout=10, check=True).stdout.decode()
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp) as d:
            with d.client() as c:
                err, st = c.call("stats")
                check(err is None, "stats failed: %r" % (err,))
            daemon = set(st["errors"])
            check(d.stop() == 0, "exit status")
    print("daemon codes: %s" % ", ".join(sorted(daemon)))
    table, named = protocol_sections(proto)
    check(table == daemon, "PROTOCOL.md error table %s != daemon codes %s (only in doc: %s; "
          "only in daemon: %s)" % (sorted(table), sorted(daemon), sorted(table - daemon),
                                   sorted(daemon - table)))
    # Method names and limit names (`write_queue`, `deadline`) stand in
    # those places too; they are not codes.
    methods = set(re.findall(r"^### `([a-z_]+)", proto, re.M))
    methods |= set(re.findall(r"^\| `([a-z_]+)`[^|]*\| `--", proto, re.M))
    methods |= {f.replace("-", "_") for f in re.findall(r"^\| `[a-z_]+` \| `--([a-z-]+)", proto, re.M)}
    for w, where in sorted(named.items()):
        if w in NOT_CODES or w in daemon or w in methods:
            continue
        pstest.fail("PROTOCOL.md names %r in %s: not a code the daemon sends" % (w, where))
    for w, where in sorted(help_codes(helptext).items()):
        check(w in daemon, "--help names %r in %s: not a code the daemon sends" % (w, where))
    print("PROTOCOL.md table (%d codes), its Errors: paragraphs and limits table, "
          "and --help agree with the daemon" % len(table))
    print("ok")


if __name__ == "__main__":
    main()
