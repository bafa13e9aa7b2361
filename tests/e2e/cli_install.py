"""e2e: `cmake --install` into a temporary prefix installs the client
library (SONAME), its header, the pkg-config file, the CLI and the three
man pages; docs/examples builds against the installed files with its
Makefile and runs pipelined searches against a real daemon.

Environment: PS_BUILD_DIR, PS_SOURCE_DIR, PS_DAEMON, PS_INDEXER.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pstest  # noqa: E402
from pstest import check, fail  # noqa: E402

BUILD = os.environ.get("PS_BUILD_DIR", "")
SRC = pstest.source_dir()
if not BUILD or not shutil.which("cmake") or not shutil.which("make") or not shutil.which("cc"):
    pstest.skip("needs PS_BUILD_DIR, cmake, make and cc")


def run(cmd, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                       timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def main():
    with pstest.workdir() as tmp:
        prefix = os.path.join(tmp, "prefix")
        rc, out, err = run(["cmake", "--install", BUILD, "--prefix", prefix])
        check(rc == 0, "cmake --install failed:\n%s%s" % (out, err))
        for rel in ("bin/polysearch", "include/polysearch/polysearch-client.h",
                    "include/polysearch/ps_types.h", "share/man/man1/polysearch.1",
                    "share/man/man1/polysearch-index.1", "share/man/man8/polysearchd.8"):
            check(os.path.exists(os.path.join(prefix, rel)), "not installed: " + rel)
        libdirs = [d for d in ("lib", "lib64") if os.path.isdir(os.path.join(prefix, d))]
        pcs = [os.path.join(prefix, d, "pkgconfig") for d in libdirs]
        check(any(os.path.exists(os.path.join(p, "polysearch-client.pc")) for p in pcs),
              "polysearch-client.pc not installed")
        sonames = [f for d in libdirs for f in os.listdir(os.path.join(prefix, d))
                   if f.startswith("libpolysearch-client.so.")]
        check(sonames, "no versioned libpolysearch-client.so.N")
        rc, out, _ = run([os.path.join(prefix, "bin/polysearch"), "--version"])
        check(rc == 0 and out.startswith("polysearch "), "installed CLI does not run: %d" % rc)

        ex = os.path.join(tmp, "example")
        os.mkdir(ex)
        for f in ("client_example.c", "Makefile"):
            shutil.copy(os.path.join(SRC, "docs", "examples", f), ex)
        env = {"PKG_CONFIG_PATH": ":".join(pcs)}
        # A sanitized build's library needs the sanitizer runtime linked in
        # the program too.
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("POLYSEARCH_SANITIZE:") and line.split("=", 1)[1].strip():
                    env["CFLAGS"] = "-g -fsanitize=" + line.split("=", 1)[1].strip()
        rc, out, err = run(["make", "-C", ex], env=env)
        check(rc == 0, "example build failed:\n%s%s" % (out, err))

        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True) as d:
            exe = os.path.join(ex, "client_example")
            for addr in ("127.0.0.1:%d" % d.port, "unix:" + d.socket_path):
                rc, out, err = run([exe, addr, "santé", "lyonbiopole", "innovation"], timeout=30)
                check(rc == 0, "example failed (%d): %s%s" % (rc, out, err))
                lines = out.splitlines()
                check(len(lines) == 3, "example output %r" % out)
                # Replies collected in reverse order, each with its own query.
                check([l.split(":")[0] for l in lines] == ["innovation", "lyonbiopole", "santé"],
                      "pipelined replies mismatched: %r" % lines)
                check(all("best " in l for l in lines), "no best hit: %r" % lines)
            rc, out, err = run([exe, "127.0.0.1:%d" % d.port, "santé AND"], timeout=30)
            check(rc == 1 and "query_syntax" in out, "error reply through the library: %r" % out)
            check(d.stop() == 0, "daemon did not exit 0")
    print("cli_install: OK")


if __name__ == "__main__":
    main()
