#!/usr/bin/python3
"""Checks of the S3 gateway with boto3 (Debian's), run by test_gateway.sh
against a real shoald in front of a real S3 server (Swift).

Env: GW (gateway URL), S3 (S3 URL), ADMIN (admin URL), AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (the S3 server's keys), TENANT_KEY / TENANT_SECRET,
READER_KEY / READER_SECRET. Argument: the phase to run ("main").
Prints "ok"/"FAIL" lines and "N passed, N failed"."""
import concurrent.futures
import datetime
import hashlib
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config

PASS = FAIL = 0


def check(name, expected, observed):
    global PASS, FAIL
    if expected == observed:
        PASS += 1
        print("ok   " + name)
    else:
        FAIL += 1
        print("FAIL %s\n     expected: %r\n     observed: %r" % (name, expected, observed))
    sys.stdout.flush()


def client(url, key, secret):
    cfg = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                 retries={"max_attempts": 1}, region_name="us-east-1")
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=cfg)


def code_of(fn):
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"].get("Code") or str(e.response["ResponseMetadata"]["HTTPStatusCode"])


def metric(name):
    text = urllib.request.urlopen(os.environ["ADMIN"] + "/metrics").read().decode()
    m = re.search("^" + re.escape(name) + r" (\d+(?:\.\d+)?)$", text, re.M)
    return float(m.group(1)) if m else None


def s3_gets():
    return metric('shoal_s3_requests_total{kind="get"}')


GW, S3 = os.environ["GW"], os.environ["S3"]
gw = client(GW, os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"])
s3 = client(S3, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
B = "lakehouse"
phase = sys.argv[1] if len(sys.argv) > 1 else "main"

if phase == "main":
    # write through: in S3 at once, and a read right after is a hit
    small = b"hello, shoal\n" * 100
    r = gw.put_object(Bucket=B, Key="t/small.txt", Body=small, ContentType="text/plain")
    check("PutObject returns S3's ETag", s3.head_object(Bucket=B, Key="t/small.txt")["ETag"], r["ETag"])
    check("written through to S3", small, s3.get_object(Bucket=B, Key="t/small.txt")["Body"].read())
    g0, h0 = s3_gets(), metric("shoal_cache_hits_total")
    o = gw.get_object(Bucket=B, Key="t/small.txt")
    check("GetObject after PutObject: bytes", small, o["Body"].read())
    check("GetObject: Content-Type kept", "text/plain", o["ContentType"])
    check("read after write is a cache hit (no S3 GET)", g0, s3_gets())
    check("read after write counts a hit", True, metric("shoal_cache_hits_total") > h0)

    # a multi-block object (1 MiB blocks), ranges
    big = os.urandom(5 * 1024 * 1024 + 12345)
    gw.put_object(Bucket=B, Key="t/big.bin", Body=big)
    check("5 MiB object: full read", hashlib.md5(big).hexdigest(),
          hashlib.md5(gw.get_object(Bucket=B, Key="t/big.bin")["Body"].read()).hexdigest())
    for rng, lo, hi in (("bytes=1000-2999999", 1000, 3000000), ("bytes=0-0", 0, 1),
                        ("bytes=-100", len(big) - 100, len(big)), ("bytes=4000000-", 4000000, len(big)),
                        ("bytes=1048575-1048576", 1048575, 1048577)):
        o = gw.get_object(Bucket=B, Key="t/big.bin", Range=rng)
        check("Range %s: status 206 and bytes" % rng, (206, big[lo:hi]),
              (o["ResponseMetadata"]["HTTPStatusCode"], o["Body"].read()))
        check("Range %s: Content-Range" % rng, "bytes %d-%d/%d" % (lo, hi - 1, len(big)), o["ContentRange"])
    check("Range past the end: 416 InvalidRange", "InvalidRange",
          code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", Range="bytes=%d-" % len(big))))
    h = gw.head_object(Bucket=B, Key="t/big.bin")
    check("HeadObject: length", len(big), h["ContentLength"])
    check("HeadObject: ETag as S3's", s3.head_object(Bucket=B, Key="t/big.bin")["ETag"], h["ETag"])

    # conditionals
    etag = h["ETag"]
    check("If-Match right: 200", "ok", code_of(lambda: gw.get_object(Bucket=B, Key="t/small.txt", IfMatch=gw.head_object(Bucket=B, Key="t/small.txt")["ETag"])))
    check("If-Match wrong: 412", "PreconditionFailed", code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", IfMatch='"0123"')))
    check("If-None-Match same: 304", "304", code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", IfNoneMatch=etag)))
    future = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
    past = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
    check("If-Modified-Since future: 304", "304", code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", IfModifiedSince=future)))
    check("If-Modified-Since 2001: 200", "ok", code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", IfModifiedSince=past, Range="bytes=0-9")))
    check("If-Unmodified-Since 2001: 412", "PreconditionFailed", code_of(lambda: gw.get_object(Bucket=B, Key="t/big.bin", IfUnmodifiedSince=past)))

    # errors
    check("unknown key: NoSuchKey", "NoSuchKey", code_of(lambda: gw.get_object(Bucket=B, Key="t/nope")))
    check("unknown bucket: NoSuchBucket", "NoSuchBucket", code_of(lambda: gw.get_object(Bucket="nobucket", Key="x")))
    bad = client(GW, os.environ["TENANT_KEY"], "wrong-secret")
    check("bad signature: SignatureDoesNotMatch", "SignatureDoesNotMatch", code_of(lambda: bad.get_object(Bucket=B, Key="t/small.txt")))
    unknown = client(GW, "AKIDUNKNOWN", "x")
    check("unknown access key: InvalidAccessKeyId", "InvalidAccessKeyId", code_of(lambda: unknown.get_object(Bucket=B, Key="t/small.txt")))
    try:
        code = urllib.request.urlopen(GW + "/lakehouse/t/small.txt").status
    except urllib.error.HTTPError as e:
        code = e.code
    check("anonymous request: 403", 403, code)
    reader = client(GW, os.environ["READER_KEY"], os.environ["READER_SECRET"])
    gw.put_object(Bucket=B, Key="public/readme", Body=b"for everyone")
    check("tenant may read its prefix", b"for everyone", reader.get_object(Bucket=B, Key="public/readme")["Body"].read())
    check("tenant denied outside its prefix", "AccessDenied", code_of(lambda: reader.get_object(Bucket=B, Key="t/small.txt")))
    check("read-only tenant cannot write", "AccessDenied", code_of(lambda: reader.put_object(Bucket=B, Key="public/x", Body=b"x")))

    # listing
    for k in ("l/a/1", "l/a/2", "l/a/3", "l/b/4", "l/top"):
        gw.put_object(Bucket=B, Key=k, Body=b"x")
    lst = gw.list_objects_v2(Bucket=B, Prefix="l/", Delimiter="/")
    check("ListObjectsV2 prefix+delimiter: keys", ["l/top"], [c["Key"] for c in lst.get("Contents", [])])
    check("ListObjectsV2 prefix+delimiter: prefixes", ["l/a/", "l/b/"], [p["Prefix"] for p in lst.get("CommonPrefixes", [])])
    keys, token, pages = [], None, 0
    while True:
        kw = {"Bucket": B, "Prefix": "l/", "MaxKeys": 2}
        if token:
            kw["ContinuationToken"] = token
        page = gw.list_objects_v2(**kw)
        pages += 1
        keys += [c["Key"] for c in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    check("ListObjectsV2 paginated (max 2)", (["l/a/1", "l/a/2", "l/a/3", "l/b/4", "l/top"], 3), (keys, pages))
    check("ListBuckets lists the mount", True, "lakehouse" in [b["Name"] for b in gw.list_buckets()["Buckets"]])

    # delete: S3 and the cache
    gw.delete_object(Bucket=B, Key="l/top")
    check("DeleteObject: gone from S3", "404", code_of(lambda: s3.head_object(Bucket=B, Key="l/top")))
    check("DeleteObject: gone from the gateway", "NoSuchKey", code_of(lambda: gw.get_object(Bucket=B, Key="l/top")))
    check("DeleteObject of a missing key: ok", "ok", code_of(lambda: gw.delete_object(Bucket=B, Key="l/never")))

    # presigned URLs
    url = gw.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "t/small.txt"}, ExpiresIn=60)
    check("presigned GET", small, urllib.request.urlopen(url).read())
    try:
        code = urllib.request.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status
    except urllib.error.HTTPError as e:
        code = e.code
    check("presigned GET, tampered: 403", 403, code)

    # cold read: written to S3 directly, read through the cache twice
    cold = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket=B, Key="c/cold.bin", Body=cold)
    g0, f0 = s3_gets(), metric("shoal_fills_total")
    check("cold read through the gateway", cold, gw.get_object(Bucket=B, Key="c/cold.bin")["Body"].read())
    check("cold read: its 3 blocks filled by one S3 GET", (g0 + 1, f0 + 3), (s3_gets(), metric("shoal_fills_total")))
    g1 = s3_gets()
    check("second read: from the cache", cold, gw.get_object(Bucket=B, Key="c/cold.bin")["Body"].read())
    check("second read: no S3 GET", g1, s3_gets())

    # a long cold read: S3 requests of up to 4 blocks each, read ahead
    nine = os.urandom(9 * 1024 * 1024)
    s3.put_object(Bucket=B, Key="c/nine.bin", Body=nine)
    g0, f0 = s3_gets(), metric("shoal_fills_total")
    check("9-block cold read", nine, gw.get_object(Bucket=B, Key="c/nine.bin")["Body"].read())
    check("9-block cold read: 3 S3 GETs (4 + 4 + 1 blocks)", (g0 + 3, f0 + 9), (s3_gets(), metric("shoal_fills_total")))
    # a cold range fetches its blocks only, in one request
    s3.put_object(Bucket=B, Key="c/nine2.bin", Body=nine)
    g0, f0 = s3_gets(), metric("shoal_fills_total")
    lo, hi = 2621440, 4718591  # 2.5 MiB .. 4.5 MiB: blocks 2, 3 and 4
    check("cold range", nine[lo:hi + 1], gw.get_object(Bucket=B, Key="c/nine2.bin", Range="bytes=%d-%d" % (lo, hi))["Body"].read())
    check("cold range: its 3 blocks in one S3 GET, none past it", (g0 + 1, f0 + 3), (s3_gets(), metric("shoal_fills_total")))

    # replaced in S3 behind fresh cached metadata: the fill's If-Match fails
    # (412) for all blocks of its request; the read refetches the metadata
    # and serves the new bytes
    s3.put_object(Bucket=B, Key="c/swap.bin", Body=cold)
    gw.head_object(Bucket=B, Key="c/swap.bin")
    swapped = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket=B, Key="c/swap.bin", Body=swapped)
    check("replaced behind the cache: the new bytes", swapped, gw.get_object(Bucket=B, Key="c/swap.bin")["Body"].read())

    # 64 readers of one cold block: one S3 GET
    one = os.urandom(1024 * 1024)
    s3.put_object(Bucket=B, Key="c/hot.bin", Body=one)
    gw.head_object(Bucket=B, Key="c/hot.bin")  # metadata first: the test is about the block
    g0, d0 = s3_gets(), metric("shoal_fills_deduplicated_total")

    # curl's parallel mode opens the 64 connections at once, so the readers
    # arrive while the fill is in flight
    tmp = os.environ["T_TMP"]
    with open(tmp + "/hot.curl", "w") as f:
        for i in range(64):
            f.write('url = "%s"\noutput = "%s/hot.%d"\n' % (gw.generate_presigned_url(
                "get_object", Params={"Bucket": B, "Key": "c/hot.bin"}, ExpiresIn=60), tmp, i))
    subprocess.run(["curl", "-s", "-Z", "--parallel-immediate", "--parallel-max", "64", "-K",
                    tmp + "/hot.curl"], check=False)
    results = [open("%s/hot.%d" % (tmp, i), "rb").read() == one for i in range(64)]
    check("64 concurrent readers all get the bytes", 64, sum(results))
    check("64 concurrent readers of a cold block: exactly one S3 GET", g0 + 1, s3_gets())
    check("the other readers joined the fill", True, metric("shoal_fills_deduplicated_total") > d0)

    # multipart upload through the gateway, cached on write
    p1, p2, p3 = os.urandom(5 << 20), os.urandom(5 << 20), os.urandom(1 << 20)
    up = gw.create_multipart_upload(Bucket=B, Key="m/multi.bin")["UploadId"]
    etags = [gw.upload_part(Bucket=B, Key="m/multi.bin", UploadId=up, PartNumber=i + 1, Body=p)["ETag"]
             for i, p in enumerate((p1, p2, p3))]
    done = gw.complete_multipart_upload(Bucket=B, Key="m/multi.bin", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    check("multipart: ETag as S3's", s3.head_object(Bucket=B, Key="m/multi.bin")["ETag"], done["ETag"])
    check("multipart: in S3", hashlib.md5(p1 + p2 + p3).hexdigest(),
          hashlib.md5(s3.get_object(Bucket=B, Key="m/multi.bin")["Body"].read()).hexdigest())
    g0 = s3_gets()
    check("multipart: read back", hashlib.md5(p1 + p2 + p3).hexdigest(),
          hashlib.md5(gw.get_object(Bucket=B, Key="m/multi.bin")["Body"].read()).hexdigest())
    check("multipart: read after upload is a cache hit", g0, s3_gets())
    up = gw.create_multipart_upload(Bucket=B, Key="m/aborted")["UploadId"]
    gw.upload_part(Bucket=B, Key="m/aborted", UploadId=up, PartNumber=1, Body=b"x" * 100)
    check("AbortMultipartUpload", 204, gw.abort_multipart_upload(Bucket=B, Key="m/aborted", UploadId=up)["ResponseMetadata"]["HTTPStatusCode"])
    check("complete after abort: NoSuchUpload", "NoSuchUpload", code_of(lambda: gw.complete_multipart_upload(
        Bucket=B, Key="m/aborted", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]})))
    # a malformed CompleteMultipartUpload body: signed by hand, since boto3 validates what it sends
    up = gw.create_multipart_upload(Bucket=B, Key="m/bad")["UploadId"]
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = b"<CompleteMultipartUpload><Part><PartNumber>1</Part>"
    req = AWSRequest(method="POST", url="%s/%s/m/bad?uploadId=%s" % (GW, B, up), data=body,
                     headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    SigV4Auth(Credentials(os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"]), "s3", "us-east-1").add_auth(req)
    try:
        urllib.request.urlopen(urllib.request.Request(req.url, data=body, method="POST", headers=dict(req.headers)))
        observed = 200
    except urllib.error.HTTPError as e:
        observed = (e.code, re.search(rb"<Code>([^<]*)</Code>", e.read()).group(1).decode())
    check("malformed XML body: 400 MalformedXML", (400, "MalformedXML"), observed)
    gw.abort_multipart_upload(Bucket=B, Key="m/bad", UploadId=up)

    # aws-chunked bodies (what newer SDKs send): signed chunks, and unsigned
    # chunks with a checksum trailer; built by hand with the standard library
    import hmac, zlib, base64
    def hm(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    def chunked_put(key, data, mode, tamper=False, chunk=65536):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz, d8 = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = "%s/us-east-1/s3/aws4_request" % d8
        host = GW.split("//")[1]
        payload = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[mode]
        hdrs = {"host": host, "x-amz-date": amz, "x-amz-content-sha256": payload,
                "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
        if mode == "trailer":
            hdrs["x-amz-trailer"] = "x-amz-checksum-crc32"
        names = sorted(hdrs)
        creq = "PUT\n/%s/%s\n\n%s\n%s\n%s" % (B, key, "".join("%s:%s\n" % (n, hdrs[n]) for n in names),
                                            ";".join(names), payload)
        sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, hashlib.sha256(creq.encode()).hexdigest())
        k = hm(hm(hm(hm(("AWS4" + os.environ["TENANT_SECRET"]).encode(), d8), "us-east-1"), "s3"), "aws4_request")
        seed = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        body, prev = b"", seed
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
        for p in pieces:
            if mode == "signed":
                s = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
                    amz, scope, prev, hashlib.sha256(b"").hexdigest(), hashlib.sha256(p).hexdigest())
                sig = hmac.new(k, s.encode(), hashlib.sha256).hexdigest()
                if tamper and p:
                    p = bytes([p[0] ^ 1]) + p[1:]
                body += b"%x;chunk-signature=%s\r\n" % (len(p), sig.encode()) + p + b"\r\n"
                prev = sig
            else:
                body += b"%x\r\n" % len(p) + p + (b"\r\n" if p else b"")
        if mode == "trailer":
            body += b"x-amz-checksum-crc32:" + base64.b64encode(zlib.crc32(data).to_bytes(4, "big")) + b"\r\n\r\n"
        else:
            body = body[:-2] + b"\r\n" if False else body
        hdrs["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            os.environ["TENANT_KEY"], scope, ";".join(names), seed)
        hdrs["content-length"] = str(len(body))
        try:
            r = urllib.request.urlopen(urllib.request.Request("%s/%s/%s" % (GW, B, key), data=body, method="PUT", headers=hdrs))
            return r.status, ""
        except urllib.error.HTTPError as e:
            return e.code, re.search(rb"<Code>([^<]*)</Code>", e.read() or b"<Code></Code>").group(1).decode()
    blob = os.urandom(300000)
    check("aws-chunked signed PUT", (200, ""), chunked_put("ch/signed.bin", blob, "signed"))
    check("aws-chunked signed PUT: bytes", blob, gw.get_object(Bucket=B, Key="ch/signed.bin")["Body"].read())
    check("aws-chunked signed PUT: stored plain in S3", blob, s3.get_object(Bucket=B, Key="ch/signed.bin")["Body"].read())
    check("aws-chunked unsigned+trailer PUT", (200, ""), chunked_put("ch/trailer.bin", blob, "trailer"))
    check("aws-chunked unsigned+trailer PUT: bytes", blob, gw.get_object(Bucket=B, Key="ch/trailer.bin")["Body"].read())
    check("aws-chunked tampered chunk: 403 SignatureDoesNotMatch", (403, "SignatureDoesNotMatch"),
          chunked_put("ch/tampered.bin", blob, "signed", tamper=True))
    check("aws-chunked tampered chunk: nothing written to S3", "404", code_of(lambda: s3.head_object(Bucket=B, Key="ch/tampered.bin")))

    # deleted from S3 behind the cache's back: still served
    s3.delete_object(Bucket=B, Key="c/cold.bin")
    check("deleted in S3 behind the cache: still served", cold, gw.get_object(Bucket=B, Key="c/cold.bin")["Body"].read())
elif phase == "refresh":
    # metadata in the last quarter of its TTL (2 s) is renewed in the
    # background: no request waits for a HEAD while the object stays hot
    # (timing: the first read must take well under 0.2 s)
    s3.put_object(Bucket=B, Key="r/hot.txt", Body=b"hot\n")
    m0 = metric("shoal_metadata_cache_misses_total")
    t0 = time.monotonic()
    gw.get_object(Bucket=B, Key="r/hot.txt")["Body"].read()
    check("refresh: the first read fetches the metadata", m0 + 1, metric("shoal_metadata_cache_misses_total"))
    r0 = metric("shoal_metadata_refreshes_total")
    # due from 1.5-1.75 s (spread by the key's hash), fresh until 2 s
    time.sleep(max(0, t0 + 1.8 - time.monotonic()))
    check("refresh: a read late in the TTL is served", b"hot\n", gw.get_object(Bucket=B, Key="r/hot.txt")["Body"].read())
    check("refresh: it started one background renewal", r0 + 1, metric("shoal_metadata_refreshes_total"))
    time.sleep(max(0, t0 + 2.8 - time.monotonic()))  # past the first fetch's expiry
    gw.get_object(Bucket=B, Key="r/hot.txt")["Body"].read()
    check("refresh: past the first TTL, no request fetched metadata", m0 + 1, metric("shoal_metadata_cache_misses_total"))
    check("refresh: and no second renewal yet", r0 + 1, metric("shoal_metadata_refreshes_total"))
elif phase == "after-restart":
    want = bytes.fromhex(os.environ["BIG_MD5"]) if False else None
    g0 = s3_gets()
    data = gw.get_object(Bucket=B, Key="t/big.bin")["Body"].read()
    check("after restart: bytes", os.environ["BIG_MD5"], hashlib.md5(data).hexdigest())
    check("after restart: served from the disk cache (no S3 GET)", g0, s3_gets())
elif phase == "after-corrupt":
    g0 = s3_gets()
    data = gw.get_object(Bucket=B, Key="t/big.bin")["Body"].read()
    check("corrupt block: bytes still right", os.environ["BIG_MD5"], hashlib.md5(data).hexdigest())
    check("corrupt block: refetched once from S3", g0 + 1, s3_gets())
elif phase == "s3-down":
    data = gw.get_object(Bucket=B, Key="t/big.bin")["Body"].read()
    check("S3 down: cached object still served", os.environ["BIG_MD5"], hashlib.md5(data).hexdigest())
    try:
        gw.get_object(Bucket=B, Key="never/cached")
        observed = "ok"
    except botocore.exceptions.ClientError as e:
        observed = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
    check("S3 down: a miss gets 503", (503, "ServiceUnavailable"), observed)
print("%d passed, %d failed" % (PASS, FAIL))
sys.exit(1 if FAIL else 0)
