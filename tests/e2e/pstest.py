"""pstest: shared helpers for polysearch end-to-end tests (python3-msgpack).

Environment (set by the ctest fragments):
  PS_DAEMON   path of polysearchd
  PS_INDEXER  path of polysearch-index (empty: tests needing an index skip)
  PS_SOURCE_DIR  the source tree (corpus/ lives there)

Typical use:
    import pstest
    with pstest.workdir() as tmp:
        db = pstest.build_index(tmp)
        with pstest.Daemon(db, tmp, socket=True) as d:
            c = d.client()
            err, res = c.call("search", {"q": "innovation"})
Every daemon started here is killed on exit (SIGKILL after the test's own
SIGTERM check), and every wait is bounded in time.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import msgpack

SKIP = 77


def fail(msg):
    """Prints the failure and exits 1."""
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    """Fails the test with msg unless cond holds."""
    if not cond:
        fail(msg)


def skip(msg):
    print("SKIP: " + msg, file=sys.stderr)
    sys.exit(SKIP)


def daemon_path():
    p = os.environ.get("PS_DAEMON", "")
    if not p or not os.access(p, os.X_OK):
        skip("PS_DAEMON not set or not executable")
    return p


def indexer_path():
    p = os.environ.get("PS_INDEXER", "")
    if not p or not os.access(p, os.X_OK):
        skip("polysearch-index not built (PS_INDEXER unset)")
    return p


def source_dir():
    return os.environ.get("PS_SOURCE_DIR",
                          os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


@contextlib.contextmanager
def workdir():
    """A temporary directory removed at the end (short path: Unix sockets);
    kept, and its path printed to stderr, when PS_KEEP_TMP=1 (to inspect
    the database and daemon.log of a failing run)."""
    d = tempfile.mkdtemp(prefix="pst", dir="/tmp")
    try:
        yield d
    finally:
        if os.environ.get("PS_KEEP_TMP") == "1":
            sys.stderr.write("PS_KEEP_TMP: kept %s\n" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def build_index(tmp, src=None, name="db"):
    """Indexes src (default: the seed corpus) into tmp/name; returns the path."""
    db = os.path.join(tmp, name)
    src = src or os.path.join(source_dir(), "corpus")
    r = subprocess.run([indexer_path(), "--db", db, src], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        fail("indexer failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
    return db


class Client:
    """A blocking MessagePack-RPC client over TCP or a Unix socket."""

    def __init__(self, addr, timeout=10.0):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET,
                                      socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.next_id = 1

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, params=None, msgid=None):
        """Sends a request without waiting; returns its msgid."""
        if msgid is None:
            msgid = self.next_id
            self.next_id += 1
        self.send(msgpack.packb([0, msgid, method, [params if params is not None else {}]]))
        return msgid

    def recv(self, timeout=10.0):
        """Returns the next message, or None on EOF.  Raises socket.timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.unpacker:
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no message within %.1f s" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                return None
            self.unpacker.feed(data)

    def call(self, method, params=None, timeout=10.0):
        """Sends a request and returns (error, result) of its response."""
        msgid = self.request(method, params)
        msg = self.recv(timeout)
        if msg is None:
            raise ConnectionError("connection closed before the reply to %s" % method)
        check(msg[0] == 1 and msg[1] == msgid, "unexpected reply %r" % (msg,))
        return msg[2], msg[3]

    def closed_by_peer(self, timeout=5.0):
        """True when the server closes the connection within timeout
        (replies received meanwhile are discarded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not data:
                return True
        return False


class Daemon:
    """polysearchd on 127.0.0.1:0 (port file), optionally a Unix socket."""

    def __init__(self, db, tmp, socket=False, args=(), listen=("127.0.0.1:0",),
                 log_name="daemon.log", preexec_fn=None):
        self.tmp = tmp
        self.port_file = os.path.join(tmp, "port")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port_file)
        self.socket_path = os.path.join(tmp, "sd.sock") if socket else None
        cmd = [daemon_path(), "--db", db, "--port-file", self.port_file]
        for l in listen:
            cmd += ["--listen", l]
        if self.socket_path:
            cmd += ["--socket", self.socket_path]
        cmd += list(args)
        self.cmd = cmd
        self.log_path = os.path.join(tmp, log_name)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=preexec_fn)
        self.pid = self.proc.pid
        self.port = self._wait_port()

    def _wait_port(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail("polysearchd exited with %d at start:\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
            try:
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    return int(txt)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.kill()
        fail("polysearchd did not write its port file within %.0f s" % timeout)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def client(self, unix=False, timeout=10.0):
        return Client(self.socket_path if unix else self.addr, timeout)

    def alive(self):
        return self.proc.poll() is None

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def socket_count(self):
        """The daemon's socket descriptors: what connections and listeners
        hold (Xapian opens some table files lazily, at a worker's first
        search or document fetch, so a count of every descriptor can grow
        without a leak)."""
        n = 0
        for fd in os.listdir("/proc/%d/fd" % self.pid):
            try:
                n += os.readlink("/proc/%d/fd/%s" % (self.pid, fd)).startswith("socket:")
            except OSError:
                pass
        return n

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """User + system CPU time consumed so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Sends sig and returns the exit status (fails after timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("polysearchd did not exit within %.1f s of signal %d" % (timeout, sig))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.kill()
        self.log.close()


def sanitized():
    """True when the daemon is a sanitizer build (RSS figures meaningless:
    shadow memory, allocator quarantine)."""
    return bool(os.environ.get("PS_SANITIZE"))


def wait_until(pred, timeout, step=0.02):
    """Polls pred() until it is true or timeout seconds passed; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)
