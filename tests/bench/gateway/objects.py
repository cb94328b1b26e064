#!/usr/bin/python3
"""tests/bench/gateway/objects.py: the S3 side of bench_gateway.sh.

  objects.py put BUCKET SPEC...      create BUCKET and upload objects; SPEC is
                                     KEY=SIZE (one object) or PREFIX%N=SIZE (N
                                     objects PREFIX000000 .. ), random bytes
  objects.py presign ENDPOINT AK SK BUCKET OUT:KEYS...
                                     for each OUT:KEYS, write one presigned GET
                                     URL (path?query, one a line) per key of
                                     KEYS (KEY or PREFIX%N) to OUT; 7 days' expiry
  objects.py warm BASE URLFILE [HDR] GET every URL once over one keep-alive
                                     connection; print "ok N" or the first
                                     failure; HDR: also print how many answers
                                     carried header HDR=HIT

S3 credentials come from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID, ...)
as tests/s3/s3-server prints them. Exit 1 on any failure."""
import http.client
import os
import sys
import urllib.parse

import boto3
from botocore.config import Config


def client(endpoint, ak=None, sk=None):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=ak or os.environ["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=sk or os.environ["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))


def keys_of(spec):
    name, size = spec.split("=")
    if "%" in name:
        prefix, n = name.split("%")
        return [("%s%06d" % (prefix, i), int(size)) for i in range(int(n))]
    return [(name, int(size))]


def put(bucket, specs):
    s3 = client(os.environ["S3_ENDPOINT"])
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for spec in specs:
        for key, size in keys_of(spec):
            s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size))


def presign(endpoint, ak, sk, bucket, outs):
    s3 = client(endpoint, ak, sk)
    for o in outs:
        out, spec = o.split(":", 1)
        with open(out, "w") as f:
            for key, _ in keys_of(spec + "=0"):
                u = urllib.parse.urlsplit(s3.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=604800))
                f.write(u.path + "?" + u.query + "\n")


def warm(base, urlfile, hdr):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    n = hits = 0
    for line in open(urlfile):
        path = line.strip()
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            print("GET %s: %d" % (path.split("?")[0], r.status))
            return 1
        n += 1
        if hdr and r.getheader(hdr) == "HIT":
            hits += 1
    print("ok %d" % n + (" hits %d" % hits if hdr else ""))
    return 0


def main(a):
    if len(a) >= 3 and a[0] == "put":
        put(a[1], a[2:])
        return 0
    if len(a) >= 6 and a[0] == "presign":
        presign(a[1], a[2], a[3], a[4], a[5:])
        return 0
    if len(a) in (3, 4) and a[0] == "warm":
        return warm(a[1], a[2], a[3] if len(a) == 4 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
