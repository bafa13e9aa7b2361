"""pshttp: helpers for tests of polysearchd's HTTP face (--http): a daemon
with an HTTP port file, JSON requests, and a Server-Sent Events reader
for GET /watch.  Everything talks to 127.0.0.1 only and every wait is
bounded.
"""
import http.client
import json
import os
import socket
import time

import pstest
from pstest import check


def http_port(hpf, d=None):
    """The port in --http-port-file hpf, waited for up to 10 s: the daemon
    writes it after --port-file (http_open follows listeners_open), so a
    started pstest.Daemon does not mean it is there yet.  d: its log is
    shown when it never comes."""
    txt = ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not txt:
        try:
            with open(hpf) as f:
                txt = f.read().strip()
        except FileNotFoundError:
            pass
        if not txt:
            time.sleep(0.02)
    check(txt, "no --http-port-file written" + (":\n" + d.log_text() if d else ""))
    return int(txt)


def http_daemon(db, tmp, args=(), name="d", workers=2):
    """pstest.Daemon with --http 127.0.0.1:0; its HTTP port is d.hport."""
    hpf = os.path.join(tmp, name + ".hport")
    d = pstest.Daemon(db, tmp, args=["--http", "127.0.0.1:0", "--http-port-file", hpf,
                                     "--workers", str(workers)] + list(args),
                      log_name=name + ".log")
    d.hport = http_port(hpf, d)
    return d


def request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on a new connection: (status, {lower-case headers}, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def jrequest(port, method, path, body=None, headers=None):
    """request() with the body parsed as JSON (None when empty)."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    st, hdrs, data = request(port, method, path, body, headers)
    try:
        return st, hdrs, json.loads(data.decode()) if data else None
    except ValueError:
        pstest.fail("%s %s: %d with a body that is not JSON: %r" % (method, path, st, data[:200]))


def subscriptions(port):
    """stats.alerts.subscriptions over GET /stats."""
    st, _, s = jrequest(port, "GET", "/stats")
    check(st == 200, "GET /stats: %d" % st)
    return s["alerts"]["subscriptions"]


class SSE:
    """GET path as an event stream over a raw socket (chunked decoding
    here: what a browser's EventSource does, without one).  status and
    headers after the constructor; next_event() parses events and
    comments per the HTML Server-Sent Events rules."""

    def __init__(self, port, path, timeout=10.0, method="GET", rcvbuf=None, headers=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:      # before connect: a small window, a slow reader
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           "%s\r\n" % (method, path, extra)).encode())
        self.raw = b""          # bytes received, not yet de-chunked
        self.body = b""         # de-chunked body, not yet parsed
        self.eof = False
        head = self._until(b"\r\n\r\n", timeout)
        check(head is not None, "%s: no response head" % path)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self.comments = []
        self.pending = {"event": "message", "id": None, "data": None}

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no data in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
        self.raw += data
        return bool(data)

    def _until(self, sep, timeout):
        deadline = time.monotonic() + timeout
        while sep not in self.raw:
            if not self._recv(deadline):
                return None
        head, _, self.raw = self.raw.partition(sep)
        return head

    def _dechunk(self):
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, _, rest = self.raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            if size == 0:
                self.eof = True
            self.body += rest[:size]
            self.raw = rest[size + 2:]

    def read_json_error(self, timeout=10.0):
        """The whole body of a non-stream answer, as JSON."""
        deadline = time.monotonic() + timeout
        n = int(self.headers.get("content-length", "-1"))
        while True:
            self._dechunk()
            if (n >= 0 and len(self.body) >= n) or self.eof:
                break
            self._recv(deadline)
        return json.loads(self.body.decode())

    def next_item(self, timeout=10.0):
        """The next comment as ("comment", text) or event as ("event",
        {"event", "id", "data"}); None at the end of the stream.  Raises
        socket.timeout when nothing comes within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self._dechunk()
            while b"\n" in self.body:
                line, _, self.body = self.body.partition(b"\n")
                line = line.rstrip(b"\r").decode()
                if line == "":
                    ev, self.pending = self.pending, {"event": "message", "id": None, "data": None}
                    if ev["data"] is not None:
                        return ("event", ev)
                    continue
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    return ("comment", line[1:].strip())
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    d = self.pending["data"]
                    self.pending["data"] = value if d is None else d + "\n" + value
                elif field in ("event", "id"):
                    self.pending[field] = value
            if self.eof:
                return None
            self._recv(deadline)

    def next_event(self, timeout=10.0):
        """The next event (comments skipped, kept in self.comments), None at
        the end of the stream; socket.timeout when none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            it = self.next_item(max(0.001, deadline - time.monotonic()))
            if it is None or it[0] == "event":
                return it and it[1]

    def wait_comment(self, text, timeout=10.0):
        """Reads until a comment containing text arrives; returns the events
        met on the way."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                it = self.next_item(max(0.001, deadline - time.monotonic()))
            except socket.timeout:
                pstest.fail("no comment %r within %.0f s (comments %r)" % (text, timeout,
                                                                         self.comments))
            if it is None:
                pstest.fail("stream ended before a comment %r" % text)
            if it[0] == "comment" and text in it[1]:
                return seen
            if it[0] == "event":
                seen.append(it[1])

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
