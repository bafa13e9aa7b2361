#!/usr/bin/python3
"""Writes the seed inputs of the scanner fuzzer to tests/fuzz/corpus/scanner.

Each seed is a byte stream as a client would send it: valid requests for
every method, responses the client decodes, and each hostile case of
RELIABILITY.md "Bad input (daemon)".  Run once; the files are committed.
Needs python3-msgpack.
"""
import os
import sys

import msgpack

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus", "scanner")
os.makedirs(out, exist_ok=True)


def p(obj):
    return msgpack.packb(obj, use_bin_type=True)


def req(msgid, method, params):
    return p([0, msgid, method, params])


HIT = {"id": "fr/lyonbiopole", "title": "Lyonbiopôle", "lang": "fr",
       "date": "2009-03-12", "url": "https://example.org/x",
       "score": 12.5, "rank": 1, "snippet": "Santé et innovation",
       "highlights": [[0, 6], [10, 9]]}
HIT2 = {"id": "ja/1", "title": "日本", "lang": "ja", "score": 0.5,
        "rank": 2, "snippet": "", "highlights": []}
RESULTS = {"total": 2, "hits": [HIT, HIT2],
           "facets": {"lang": {"fr": 1, "ja": 1}}, "suggestion": "santé",
           "took_us": 812}
DOC = {"id": "de/innovation", "title": "Innovationen", "body": "Text\n",
       "lang": "de", "date": "2020-01-01", "url": "https://x/y",
       "hash": "ab12"}
DOC_MIN = {"id": "x", "title": "", "body": "", "lang": "und", "hash": "00"}

seeds = {
    # Valid requests, one per method.
    "req_search": req(1, "search", [{"q": "lyonbiopole", "limit": 10}]),
    "req_search_full": req(2, "search", [{
        "q": "\"pôle de compétitivité\" OR santé -x title:innov*",
        "offset": 10, "limit": 1000, "lang": "fr", "sort": "date",
        "snippet": True, "facets": True}]),
    "req_get": req(3, "get", [{"id": "fr/lyonbiopole"}]),
    "req_stats": req(4, "stats", [{}]),
    "req_ping": req(5, "ping", []),
    "req_add": req(6, "add", [{"docs": [DOC, DOC_MIN]}]),
    "req_delete": req(7, "delete", [{"ids": ["a", "b"]}]),
    "notify_ping": p([2, "ping", []]),
    "pipeline_3": (req(10, "ping", []) + req(11, "search", [{"q": "a"}]) +
                   req(12, "get", [{"id": "b"}])),
    # Responses the client decodes.
    "resp_results": p([1, 1, None, RESULTS]),
    "resp_empty_results": p([1, 2, None, {"total": 0, "hits": [],
                                          "took_us": 3}]),
    "resp_document": p([1, 3, None, DOC]),
    "resp_error": p([1, 4, {"code": "not_found", "message": "no such id"},
                     None]),
    "resp_pong": p([1, 5, None, "pong"]),
    # Huge declared sizes.
    "huge_array32": bytes.fromhex("ddffffffff"),
    "huge_map32": bytes.fromhex("df10000000"),
    "huge_str32": bytes.fromhex("dbffffffff"),
    "huge_bin32": bytes.fromhex("c6ffffffff"),
    "huge_in_params": bytes.fromhex("940001a6736561726368") + bytes.fromhex(
        "91dfffffffff"),
    # Nesting.
    "nest_16": b"\x91" * 16 + b"\x01",
    "nest_17": b"\x91" * 17 + b"\x01",
    "nest_33": b"\x91" * 33 + b"\x01",
    # Bad bytes and ext types.
    "byte_c1": b"\xc1",
    "ext_fixext1": bytes.fromhex("940001a470696e6791d40101"),
    "ext8": bytes.fromhex("c70101ff"),
    # Garbage.
    "http_request": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "tls_client_hello": bytes.fromhex(
        "16030100a5010000a10303") + bytes(32) + bytes.fromhex("0000020035"),
    "truncated": req(9, "search", [{"q": "truncated"}])[:-3],
    # Wrong shapes.
    "not_array": p({"q": 1}),
    "lone_scalar": p(42),
    "bad_type_tag": p([3, 1, "ping", []]),
    "msgid_negative": p([0, -1, "ping", []]),
    "msgid_2p32": p([0, 2**32, "ping", []]),
    "method_int": p([0, 1, 7, []]),
    "unknown_method": req(1, "drop_database", []),
    "params_map": p([0, 1, "search", {"q": "x"}]),
    "q_integer": req(1, "search", [{"q": 5}]),
    "limit_negative": req(1, "search", [{"q": "x", "limit": -1}]),
    "limit_u64max": req(1, "search", [{"q": "x", "limit": 2**64 - 1}]),
    "nil_key": req(1, "search", [{None: "x"}]),
    "unknown_key": req(1, "search", [{"q": "x", "colour": "red"}]),
    "dup_key": (bytes.fromhex("940101a673656172636891") +
                bytes.fromhex("82a171a178a171a179")),
    "invalid_utf8_q": bytes.fromhex("940101a67365617263689181a171a3c0afff"),
    "invalid_utf8_method": bytes.fromhex("940101a3c0af0090"),
    "nul_in_q": bytes.fromhex("940101a67365617263689181a171a3610062"),
}

for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds written to {out}")
