"""polysearch_client: a Python client of polysearchd (MessagePack-RPC).

One module; its only dependency is msgpack (Debian: python3-msgpack).

    from polysearch_client import Client, PolysearchError
    with Client("127.0.0.1:7117", timeout=10) as c:
        res = c.search("santé lyonbiopole", limit=5)
        for hit in res["hits"]:
            print(hit["rank"], hit["title"], hit["id"])

Addresses: "host:port", "host" (port 7117), "[v6addr]:port" or
"unix:/path".  Every call waits at most `timeout` seconds.  Results are the
daemon's maps as dicts (see docs/PROTOCOL.md).  A daemon error raises a
subclass of PolysearchError chosen by its code (QuerySyntaxError for
"query_syntax", NotFoundError for "not_found", ...); every one carries
.code and .message.  Local failures raise ConnectionError subclasses
(PolysearchConnectionError) or PolysearchTimeout.

Subscriptions (docs/ALERTS.md): subscribe() registers a query on the
connection; each new matching document is then pushed by the daemon, and
notifications() iterates over them (dicts with "type": "match" or
"lagged").  Notifications arriving while another call waits for its reply
are kept, in order, for notifications():

    with Client("127.0.0.1:7117") as c:
        c.subscribe("lyonbiopole OR santé", name="lyon")
        for n in c.notifications():
            if n["type"] == "match":
                print(n["seq"], n["id"], n["title"])

A Client is not thread-safe: use one per thread.
"""

import collections
import socket
import time

import msgpack

__all__ = [
    "Client", "PolysearchError", "QuerySyntaxError", "TooManyTermsError",
    "BadRequestError", "TooLargeError", "NotFoundError", "BusyError",
    "ServerTimeoutError", "UnknownMethodError", "InternalError",
    "UnavailableError", "PolysearchConnectionError", "PolysearchTimeout",
    "ProtocolError", "parse_address", "DEFAULT_ADDR",
]

DEFAULT_ADDR = "127.0.0.1:7117"
DEFAULT_PORT = 7117
# Largest reply accepted (bytes buffered for one message).
DEFAULT_MAX_REPLY = 64 * 1024 * 1024


class PolysearchError(Exception):
    """An error answered by the daemon: .code (a word such as
    "query_syntax") and .message (text for people)."""

    code = "internal"

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class QuerySyntaxError(PolysearchError):
    """The query could not be parsed."""


class TooManyTermsError(PolysearchError):
    """A wildcard expanded to too many terms."""


class BadRequestError(PolysearchError):
    """Malformed request or argument."""


class TooLargeError(PolysearchError):
    """Request or argument over a daemon limit."""


class NotFoundError(PolysearchError):
    """No document with that id."""


class BusyError(PolysearchError):
    """The daemon's work queue is full; retry later."""


class ServerTimeoutError(PolysearchError):
    """The daemon gave up on the request at its deadline."""


class UnknownMethodError(PolysearchError):
    """The daemon does not implement this method."""


class InternalError(PolysearchError):
    """An unexpected failure inside the daemon."""


class UnavailableError(PolysearchError):
    """The daemon cannot serve this now (e.g. no writable index)."""


class UnauthorizedError(PolysearchError):
    """The daemon needs a token (--auth-token-file), or this one is wrong
    (then the daemon closes the connection after a delay)."""


class ForbiddenError(PolysearchError):
    """The token's role (read, write, admin) is too low for the method."""


_BY_CODE = {
    "query_syntax": QuerySyntaxError,
    "too_many_terms": TooManyTermsError,
    "bad_request": BadRequestError,
    "too_large": TooLargeError,
    "not_found": NotFoundError,
    "busy": BusyError,
    "timeout": ServerTimeoutError,
    "unknown_method": UnknownMethodError,
    "internal": InternalError,
    "unavailable": UnavailableError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
}


class PolysearchConnectionError(ConnectionError):
    """Cannot connect, or the connection was lost."""


class PolysearchTimeout(TimeoutError):
    """No reply within the client's timeout (the connection is closed)."""


class ProtocolError(Exception):
    """The daemon's reply was malformed or too large."""


def parse_address(addr):
    """Returns (family, sockaddr) for an address string.  Raises
    ValueError for a malformed one."""
    if not isinstance(addr, str) or not addr:
        raise ValueError("empty address")
    if addr.startswith("unix:"):
        path = addr[5:]
        if not path:
            raise ValueError("empty Unix socket path in %r" % addr)
        return socket.AF_UNIX, path
    port = DEFAULT_PORT
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise ValueError("missing ']' in %r" % addr)
        host, rest = addr[1:end], addr[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("expected ':PORT' after ']' in %r" % addr)
            port = _port(rest[1:], addr)
        return socket.AF_INET6, (host, port)
    if addr.count(":") > 1:
        raise ValueError("IPv6 address needs brackets: [ADDR]:PORT")
    host, sep, p = addr.partition(":")
    if sep:
        port = _port(p, addr)
    if not host:
        raise ValueError("empty host in %r" % addr)
    return socket.AF_UNSPEC, (host, port)


def _port(text, addr):
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("invalid port in %r (1-65535)" % addr)
    return int(text)


class Client:
    """A connection to polysearchd.  Methods send one request and wait for
    its reply; replies to other msgids (none in this synchronous use) are
    kept.  Use as a context manager or call close()."""

    def __init__(self, addr=DEFAULT_ADDR, timeout=10, max_reply=DEFAULT_MAX_REPLY,
                 token=None):
        """token: a token of the daemon's --auth-token-file; when given,
        the connection is authenticated with auth() at once (raising
        UnauthorizedError, connection closed, for a wrong one)."""
        self.addr = addr
        self.timeout = float(timeout)
        family, sa = parse_address(addr)
        self._sock = None
        try:
            if family == socket.AF_UNIX:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(self.timeout)
                try:
                    s.connect(sa)
                except BaseException:
                    s.close()
                    raise
                self._sock = s
            else:
                self._sock = socket.create_connection(sa, timeout=self.timeout)
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except socket.timeout as e:
            raise PolysearchConnectionError(
                "cannot connect to %s: timed out" % addr) from e
        except OSError as e:
            raise PolysearchConnectionError(
                "cannot connect to %s: %s" % (addr, e.strerror or e)) from e
        self._unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max_reply,
                                          strict_map_key=False)
        self._next_id = 1
        self._pending = {}
        self._notes = collections.deque()
        # The highest "seq" of the matches handed out by notifications():
        # what a durable subscription resumes from (subscribe(name=...,
        # resume_from=c.last_seq) on a new connection).  None before any.
        self.last_seq = None
        if token is not None:
            try:
                self.auth(token)
            except BaseException:
                self.close()
                raise

    # -- context manager --------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes the connection (idempotent)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    # -- transport --------------------------------------------------------
    def _send(self, method, args):
        if self._sock is None:
            raise PolysearchConnectionError("client is closed")
        msgid = self._next_id
        self._next_id = self._next_id + 1 if self._next_id < 0xFFFFFFFF else 1
        data = msgpack.packb([0, msgid, method, [args]], use_bin_type=True)
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except socket.timeout as e:
            self.close()
            raise PolysearchTimeout("timed out sending %s" % method) from e
        except OSError as e:
            self.close()
            raise PolysearchConnectionError("sending to %s: %s" % (self.addr, e)) from e
        return msgid

    def _recv(self, msgid):
        if msgid in self._pending:
            return self._pending.pop(msgid)
        deadline = time.monotonic() + self.timeout
        while True:
            if self._read_some(deadline, msgid):
                return self._pending.pop(msgid)

    def _read_some(self, deadline, msgid=None):
        """Reads what has arrived (waiting until deadline, None: no limit):
        replies go to _pending, notifications to _notes.  Returns True once
        the reply to msgid is pending; False when something else arrived.
        Raises PolysearchTimeout at the deadline when msgid is set (and
        closes); returns False at the deadline otherwise."""
        got, found = self._drain(msgid)
        if got:
            return found
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            if msgid is not None:
                self.close()
                raise PolysearchTimeout("no reply from %s within %.1f s"
                                        % (self.addr, self.timeout))
            left = 0.0          # only what the socket holds already
        if self._sock is None:
            raise PolysearchConnectionError("client is closed")
        try:
            self._sock.settimeout(left)
            data = self._sock.recv(65536)
        except (socket.timeout, BlockingIOError) as e:
            if msgid is None:
                return False
            self.close()
            raise PolysearchTimeout("no reply from %s within %.1f s"
                                    % (self.addr, self.timeout)) from e
        except OSError as e:
            self.close()
            raise PolysearchConnectionError("receiving from %s: %s"
                                            % (self.addr, e)) from e
        if not data:
            self.close()
            raise PolysearchConnectionError("%s closed the connection" % self.addr)
        try:
            self._unpacker.feed(data)
        except msgpack.exceptions.BufferFull as e:
            self.close()
            raise ProtocolError("reply larger than max_reply") from e
        return self._drain(msgid)[1]

    def _drain(self, msgid):
        """Takes every complete message buffered: returns (any taken, the
        reply to msgid is pending)."""
        got = False
        try:
            for msg in self._unpacker:
                got = True
                if isinstance(msg, list) and len(msg) == 3 and msg[0] == 2:
                    self._keep_note(msg)
                    continue
                if (not isinstance(msg, list) or len(msg) != 4 or msg[0] != 1
                        or not isinstance(msg[1], int)):
                    self.close()
                    raise ProtocolError("unexpected message %r" % (msg,))
                self._pending[msg[1]] = msg
                if msg[1] == msgid:
                    return True, True
        except msgpack.exceptions.BufferFull as e:
            self.close()
            raise ProtocolError("reply larger than max_reply") from e
        except (msgpack.exceptions.ExtraData, ValueError) as e:
            self.close()
            raise ProtocolError("malformed reply: %s" % e) from e
        return got, False

    def _keep_note(self, msg):
        """Queues the entries of a match or lagged notification (others are
        skipped)."""
        kind, params = msg[1], msg[2]
        if kind not in ("match", "lagged"):
            return
        if not isinstance(params, list):
            self.close()
            raise ProtocolError("malformed notification %r" % (msg,))
        for entry in params:
            if not isinstance(entry, dict) or not isinstance(entry.get("subscription"), int):
                self.close()
                raise ProtocolError("malformed notification %r" % (msg,))
            note = dict(entry)
            note["type"] = kind
            self._notes.append(note)

    def call(self, method, **args):
        """Calls any method with named arguments; returns its result or
        raises PolysearchError (subclass by code)."""
        if self._sock is None:
            raise PolysearchConnectionError("client is closed")
        msg = self._recv(self._send(method, args))
        err, result = msg[2], msg[3]
        if err is not None:
            if isinstance(err, dict):
                code = str(err.get("code", "internal"))
                message = str(err.get("message", ""))
            else:
                code, message = "internal", repr(err)
            raise _BY_CODE.get(code, PolysearchError)(code, message)
        return result

    # -- methods ----------------------------------------------------------
    def search(self, q, offset=None, limit=None, lang=None, sort=None,
               date_from=None, date_to=None, snippet=None, facets=None,
               spelling=None, synonyms=None):
        """Runs a search; returns {total, hits:[...], facets?, suggestion?,
        expanded?, took_us}; a hit found through a synonym has
        synonyms: [...].  synonyms=False: no synonym expansion.  Arguments
        left as None are not sent."""
        args = {"q": q}
        for k, v in (("offset", offset), ("limit", limit), ("lang", lang),
                     ("sort", sort), ("date_from", date_from),
                     ("date_to", date_to), ("snippet", snippet),
                     ("facets", facets), ("spelling", spelling),
                     ("synonyms", synonyms)):
            if v is not None:
                args[k] = v
        return self.call("search", **args)

    def synonyms(self, word=None, offset=None, limit=None):
        """Returns the synonym groups {total, groups: [[member, ...], ...]}:
        all of them (at most the daemon's max_limit per call: page with
        offset), or the group of word."""
        args = {}
        for k, v in (("word", word), ("offset", offset), ("limit", limit)):
            if v is not None:
                args[k] = v
        return self.call("synonyms", **args)

    def get(self, id):
        """Returns the stored document {id, title, body, lang, date?, url?,
        hash}; raises NotFoundError for an unknown id."""
        return self.call("get", id=id)

    def stats(self):
        """Returns the daemon's statistics and limits (a dict)."""
        return self.call("stats")

    def auth(self, token):
        """Gives this connection the role of token (docs/PROTOCOL.md,
        "Access control"); returns the role ("read", "write", "admin")."""
        return self.call("auth", token=token)

    def ping(self):
        """Returns True when the daemon answers "pong"."""
        r = self.call("ping")
        if r != "pong":
            raise ProtocolError("ping answered %r" % (r,))
        return True

    def add(self, docs):
        """Adds or replaces documents (dicts with id, body and optional
        title, lang, date, url); returns {added, replaced, unchanged,
        rejected:[{index, reason}]}."""
        return self.call("add", docs=list(docs))

    def subscribe(self, q=None, lang=None, date_from=None, name=None,
                  durable=None, resume_from=None):
        """Registers a subscription on this connection; returns
        {subscription, durable?, name}.  From then on each new matching
        document is pushed: read them with notifications().  durable and
        resume_from are sent only when given (resume_from: the matching
        documents changed after that seq are pushed first; an older daemon
        without them answers BadRequestError); q may be None only to attach
        a durable subscription by name."""
        args = {}
        for k, v in (("q", q), ("lang", lang), ("date_from", date_from),
                     ("name", name), ("durable", durable),
                     ("resume_from", resume_from)):
            if v is not None:
                args[k] = v
        return self.call("subscribe", **args)

    def unsubscribe(self, subscription):
        """Removes one of this connection's subscriptions; raises
        NotFoundError for an unknown id."""
        return self.call("unsubscribe", subscription=subscription)

    def subscriptions(self):
        """This connection's subscriptions, oldest first:
        [{subscription, name, q, lang?, date_from?}]."""
        return self.call("subscriptions")

    def next_notification(self, timeout=None):
        """Returns the oldest notification received, waiting up to timeout
        seconds (None: no limit, 0: only what has arrived); None when none
        came in time.  A match is {"type": "match", subscription, name, id,
        title, lang, date?, url?, snippet, seq, replaced?}; a lagged one
        {"type": "lagged", subscription, dropped, resume_from?}
        (subscribe again with resume_from to get the dropped ones).  Raises
        PolysearchConnectionError when the connection is lost."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._notes:
            if self._sock is None:
                raise PolysearchConnectionError("client is closed")
            self._read_some(deadline)
            if not self._notes and deadline is not None and time.monotonic() >= deadline:
                return None
        note = self._notes.popleft()
        if note["type"] == "match" and isinstance(note.get("seq"), int):
            if self.last_seq is None or note["seq"] > self.last_seq:
                self.last_seq = note["seq"]
        return note

    def notifications(self, timeout=None):
        """Iterates over the notifications as they arrive (see
        next_notification); ends when none arrives within timeout seconds
        (None: never)."""
        while True:
            note = self.next_notification(timeout)
            if note is None:
                return
            yield note

    def delete(self, ids):
        """Deletes documents by id; returns {deleted, not_found}."""
        if isinstance(ids, str):
            ids = [ids]
        return self.call("delete", ids=list(ids))
