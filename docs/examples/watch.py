#!/usr/bin/env python3
"""watch.py: print each new document matching a query as polysearchd
indexes it (docs/ALERTS.md), with the repository's Python client
(clients/python/polysearch_client.py; its only dependency is msgpack,
Debian python3-msgpack).

    python3 docs/examples/watch.py [--server ADDR] [--count N] QUERY

Stops after N matches (--count), or on Ctrl-C.  The e2e test
e2e_cli_watch_python runs it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "clients", "python"))
from polysearch_client import Client, PolysearchError  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.environ.get("POLYSEARCH_SERVER", "127.0.0.1:7117"))
    ap.add_argument("--count", type=int, default=0, help="stop after N matches")
    ap.add_argument("query")
    args = ap.parse_args()
    seen = 0
    with Client(args.server) as c:
        try:
            sub = c.subscribe(args.query, name="watch.py")
        except PolysearchError as e:
            print("subscribe refused: %s" % e, file=sys.stderr)
            return 65
        print("subscription %d" % sub["subscription"], file=sys.stderr, flush=True)
        try:
            for n in c.notifications():
                if n["type"] == "lagged":
                    print("%d matches dropped" % n["dropped"], file=sys.stderr)
                    continue
                print("%s\t%s\t%s\t%s" % (n["seq"], n["lang"], n["id"], n["title"]),
                      flush=True)
                seen += 1
                if args.count and seen >= args.count:
                    break
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
