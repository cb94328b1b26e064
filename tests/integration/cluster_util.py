"""tests/integration/cluster_util.py: what the cluster check scripts share:
objects written straight to S3, reads through a node's gateway, S3 GETs
and HEADs counted from the S3 server's own proxy log, /metrics values and
copies per block from each node's /v1/blocks.

Environment: S3_ENDPOINT and the AWS keys (the S3 server), PROXY_LOG, and
ADMINS (the nodes' admin addresses, n1 first; NAMES, when set, their names).
"""
import hashlib
import json
import os
import time
import urllib.parse
import urllib.request

from s3check import client

S3 = os.environ["S3_ENDPOINT"]
ADMINS = os.environ["ADMINS"].split()
NAMES = os.environ.get("NAMES", " ".join("n%d" % (i + 1) for i in range(len(ADMINS)))).split()
PROXY_LOG = os.environ["PROXY_LOG"]
B = "lakehouse"
s3 = client(S3, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])


def put(key, size, seed):
    data = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    data = bytes(b ^ (i * 7 & 0xFF) for i, b in enumerate(data[:size]))
    s3.put_object(Bucket=B, Key=key, Body=data)
    return data, s3.head_object(Bucket=B, Key=key)["ETag"]


def get(gw, key, rng=None, timeout=60):
    req = urllib.request.Request("http://%s/%s/%s" % (gw, B, key))
    if rng:
        req.add_header("Range", rng)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def s3_get_bytes(key):
    """(GET requests, bytes sent) for KEY in the S3 server's proxy log."""
    n = total = 0
    for line in open(PROXY_LOG, errors="replace"):
        f = line.split()
        if len(f) > 12 and f[0] == "proxy-server:" and f[4] == "GET" and f[5] == "/%s/%s" % (B, key):
            n += 1
            total += int(f[12]) if f[12].isdigit() else 0
    return n, total


def s3_heads(key):
    """HEAD requests for KEY in the S3 server's proxy log."""
    return sum(1 for line in open(PROXY_LOG, errors="replace")
               if len(line.split()) > 5 and line.split()[0] == "proxy-server:"
               and line.split()[4] == "HEAD" and line.split()[5] == "/%s/%s" % (B, key))


def metric(admin, name):
    with urllib.request.urlopen("http://%s/metrics" % admin, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.split(" ")[0] == name:
                return float(line.split(" ")[1])
    return 0.0


def blocks(admin, key, etag, size):
    q = urllib.parse.urlencode({"bucket": B, "key": key, "etag": etag, "size": size})
    with urllib.request.urlopen("http://%s/v1/blocks?%s" % (admin, q), timeout=5) as r:
        return json.load(r)["blocks"]


def copies(key, etag, size, admins=ADMINS, names=NAMES):
    """Per block: the set of nodes that hold it, and its owners (from the first node)."""
    views = [blocks(a, key, etag, size) for a in admins]
    held = [set(names[i] for i, v in enumerate(views) if v[b]["held"]) for b in range(len(views[0]))]
    owners = [set(b["owners"]) for b in views[0]]
    return held, owners


def wait_for(fn, secs):
    t0 = time.time()
    while True:
        v = fn()
        if v or time.time() - t0 > secs:
            return v
        time.sleep(0.1)
