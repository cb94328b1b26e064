#!/usr/bin/python3
"""tests/bench/churn/copies.py: copies per block, from the nodes' /v1/blocks.

  copies.py SECS ADMINS OBJECTS   waits until every block of the objects is
                                  held by each of its owners (the first
                                  admin's view), at most SECS: prints "ok
                                  SECONDS" or "timeout N" (N: blocks short)

ADMINS: admin addresses joined by commas; OBJECTS: a file of
"KEY ETAG SIZE" lines (bucket "bench"). Exit 1 on a timeout."""
import json
import sys
import time
import urllib.parse
import urllib.request


def blocks(admin, key, etag, size):
    q = urllib.parse.urlencode({"bucket": "bench", "key": key, "etag": etag, "size": size})
    with urllib.request.urlopen("http://%s/v1/blocks?%s" % (admin, q), timeout=10) as r:
        return json.load(r)


def short(admins, objs):
    n = 0
    for key, etag, size in objs:
        views = [blocks(a, key, etag, size) for a in admins]
        names = [v["node"] for v in views]
        for b in range(len(views[0]["blocks"])):
            owners = set(views[0]["blocks"][b]["owners"])
            held = set(names[i] for i, v in enumerate(views) if v["blocks"][b]["held"])
            n += not owners <= held
    return n


def main():
    secs, admins, objfile = sys.argv[1:4]
    admins = admins.split(",")
    objs = [line.split() for line in open(objfile) if line.strip()]
    t0 = time.time()
    while True:
        n = short(admins, objs)
        if n == 0:
            print("ok %.2f" % (time.time() - t0))
            return 0
        if time.time() - t0 > float(secs):
            print("timeout %d" % n)
            return 1
        time.sleep(0.2)


sys.exit(main())
