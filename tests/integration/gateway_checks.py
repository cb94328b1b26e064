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

    # deleted from S3 behind the cache's back: still served while the cached
    # metadata is fresh. Through "lakelong" (the same bucket, metadata_ttl
    # 1h, its own metadata and blocks), so that no timing decides it; then,
    # through "lakehouse" (metadata_ttl 2s), the delete shows once its TTL
    # has passed: all its reads of c/cold.bin came before the delete, so its
    # metadata is older than the delete and stale 2 s after it.
    check("read through the 1h-TTL mount", cold, gw.get_object(Bucket="lakelong", Key="c/cold.bin")["Body"].read())
    s3.delete_object(Bucket=B, Key="c/cold.bin")
    t_del = time.monotonic()
    check("deleted in S3 behind the cache: gone from S3", "404", code_of(lambda: s3.head_object(Bucket=B, Key="c/cold.bin")))
    g0 = s3_gets()
    check("deleted in S3 behind the cache: still served (metadata_ttl 1h)", cold,
          gw.get_object(Bucket="lakelong", Key="c/cold.bin")["Body"].read())
    check("deleted in S3 behind the cache: served from the cache (no S3 GET)", g0, s3_gets())
    time.sleep(max(0, t_del + 2.3 - time.monotonic()))
    check("deleted in S3, past the 2s metadata TTL: NoSuchKey", "NoSuchKey",
          code_of(lambda: gw.get_object(Bucket=B, Key="c/cold.bin")))
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
elif phase == "copy-delete":
    # DeleteObjects and CopyObject (what aws s3 rm/mv/cp and Trino renames use)
    import base64, hmac, zlib
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    reader = client(GW, os.environ["READER_KEY"], os.environ["READER_SECRET"])
    T = os.environ["T_TMP"]

    def signed(method, path, body, headers=None):
        """A request signed by hand (boto3 validates what it sends): (status, S3 code)."""
        h = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
        h.update(headers or {})
        req = AWSRequest(method=method, url=GW + path, data=body, headers=h)
        SigV4Auth(Credentials(os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"]), "s3", "us-east-1").add_auth(req)
        try:
            r = urllib.request.urlopen(urllib.request.Request(req.url, data=body, method=method, headers=dict(req.headers)))
            return r.status, ""
        except urllib.error.HTTPError as e:
            m = re.search(rb"<Code>([^<]*)</Code>", e.read())
            return e.code, m.group(1).decode() if m else ""

    def gone(bucket, key):
        return code_of(lambda: s3.head_object(Bucket=bucket, Key=key))

    def why(fn, words):
        """The S3 code of a failing call, and whether its message holds WORDS."""
        try:
            fn()
            return "ok"
        except botocore.exceptions.ClientError as e:
            return e.response["Error"].get("Code"), words in e.response["Error"].get("Message", "")

    def summary(r):
        return (sorted(d["Key"] for d in r.get("Deleted", [])),
                sorted((e["Key"], e["Code"]) for e in r.get("Errors", [])))

    # ---- DeleteObjects
    for k in ("d/1", "d/2", "d/3"):
        gw.put_object(Bucket=B, Key=k, Body=k.encode() * 1000)
    gw.get_object(Bucket=B, Key="d/1")["Body"].read()  # cached before the delete
    r = gw.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "d/1"}, {"Key": "d/2"}, {"Key": "d/3"}]})
    check("DeleteObjects of 3 keys: all Deleted, no Errors", (["d/1", "d/2", "d/3"], []), summary(r))
    check("DeleteObjects: gone from S3", ["404"] * 3, [gone(B, k) for k in ("d/1", "d/2", "d/3")])
    check("DeleteObjects: gone from the gateway (was cached)", "NoSuchKey", code_of(lambda: gw.get_object(Bucket=B, Key="d/1")))
    check("DeleteObjects: a missing key counts as deleted", (["d/never"], []),
          summary(gw.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "d/never"}]})))
    odd = "d/a&b<c>\"q'  é.txt"
    gw.put_object(Bucket=B, Key=odd, Body=b"odd")
    check("DeleteObjects: a key needing XML escapes comes back as sent", ([odd], []),
          summary(gw.delete_objects(Bucket=B, Delete={"Objects": [{"Key": odd}]})))
    check("DeleteObjects: that key is gone from S3", "404", gone(B, odd))
    for k in ("q/1", "q/2"):
        gw.put_object(Bucket=B, Key=k, Body=b"q")
    r = gw.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "q/1"}, {"Key": "q/2"}], "Quiet": True})
    check("DeleteObjects Quiet: no Deleted, no Errors entries", (False, False), ("Deleted" in r, "Errors" in r))
    check("DeleteObjects Quiet: the keys are gone", ["404", "404"], [gone(B, "q/1"), gone(B, "q/2")])
    for k in ("scratch/1", "scratch/2"):
        gw.put_object(Bucket=B, Key=k, Body=b"s")
    r = reader.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "scratch/1"}, {"Key": "t/small.txt"}, {"Key": "scratch/2"}]})
    check("DeleteObjects as reader: the denied key is an AccessDenied entry, the others Deleted",
          (["scratch/1", "scratch/2"], [("t/small.txt", "AccessDenied")]), summary(r))
    check("DeleteObjects as reader: the denied key is still in S3", "ok", gone(B, "t/small.txt"))
    check("DeleteObjects as reader: the allowed keys are gone", ["404", "404"], [gone(B, "scratch/1"), gone(B, "scratch/2")])
    r = reader.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "t/small.txt"}], "Quiet": True})
    check("DeleteObjects Quiet still lists errors", ([], [("t/small.txt", "AccessDenied")]), summary(r))
    gw.put_object(Bucket=B, Key="d/keep", Body=b"keep")
    body = b"<Delete><Object><Key>d/keep</Key></Delete>"
    check("DeleteObjects malformed XML: 400 MalformedXML", (400, "MalformedXML"), signed("POST", "/%s?delete" % B, body))
    body = b"<Delete><Object><Key>d/keep</Key></Object></Delete>"
    bad_md5 = base64.b64encode(hashlib.md5(body + b" ").digest()).decode()
    check("DeleteObjects bad Content-MD5: 400 BadDigest", (400, "BadDigest"),
          signed("POST", "/%s?delete" % B, body, {"Content-MD5": bad_md5}))
    check("DeleteObjects bad Content-MD5: nothing deleted", "ok", gone(B, "d/keep"))
    body = b"<Delete>" + b"".join(b"<Object><Key>d/k%d</Key></Object>" % i for i in range(1001)) + b"</Delete>"
    check("DeleteObjects of 1001 keys: 400 MalformedXML", (400, "MalformedXML"),
          signed("POST", "/%s?delete" % B, body, {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}))
    body = b"<Delete><Object><Key>d/keep</Key></Object></Delete>"
    check("DeleteObjects without Content-MD5: accepted", (200, ""), signed("POST", "/%s?delete" % B, body))
    check("DeleteObjects without Content-MD5: deleted", "404", gone(B, "d/keep"))
    # aws-chunked body (unsigned, with a checksum trailer), as newer SDKs may send
    def chunked_delete(xml, good=True):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz, d8 = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = "%s/us-east-1/s3/aws4_request" % d8
        payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        hdrs = {"host": GW.split("//")[1], "x-amz-date": amz, "x-amz-content-sha256": payload,
                "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(xml)),
                "x-amz-trailer": "x-amz-checksum-crc32"}
        names = sorted(hdrs)
        creq = "POST\n/%s\ndelete=\n%s\n%s\n%s" % (B, "".join("%s:%s\n" % (n, hdrs[n]) for n in names),
                                                ";".join(names), payload)
        sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, hashlib.sha256(creq.encode()).hexdigest())
        k = os.environ["TENANT_SECRET"].encode()
        k = hmac.new(b"AWS4" + k, d8.encode(), hashlib.sha256).digest()
        for part in ("us-east-1", "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        body = b"%x\r\n" % len(xml) + xml + b"\r\n0\r\n" if good else b"zz\r\n" + xml
        body += b"x-amz-checksum-crc32:" + base64.b64encode(zlib.crc32(xml).to_bytes(4, "big")) + b"\r\n\r\n"
        hdrs["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            os.environ["TENANT_KEY"], scope, ";".join(names), sig)
        try:
            r = urllib.request.urlopen(urllib.request.Request("%s/%s?delete" % (GW, B), data=body, method="POST", headers=hdrs))
            return r.status, re.findall(rb"<Deleted><Key>([^<]*)</Key>", r.read())
        except urllib.error.HTTPError as e:
            return e.code, re.search(rb"<Code>([^<]*)</Code>", e.read()).group(1).decode()
    gw.put_object(Bucket=B, Key="d/ch1", Body=b"1")
    gw.put_object(Bucket=B, Key="d/ch2", Body=b"2")
    xml = b"<Delete><Object><Key>d/ch1</Key></Object><Object><Key>d/ch2</Key></Object></Delete>"
    check("DeleteObjects with an aws-chunked body", (200, [b"d/ch1", b"d/ch2"]), chunked_delete(xml))
    check("DeleteObjects with an aws-chunked body: gone", ["404", "404"], [gone(B, "d/ch1"), gone(B, "d/ch2")])
    check("DeleteObjects with a malformed aws-chunked body: 400", (400, "IncompleteBody"), chunked_delete(xml, good=False))
    # a declared body over 2 MiB is refused before it is read
    import http.client
    req = AWSRequest(method="POST", url=GW + "/%s?delete" % B, data=b"", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"]), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(GW.split("//")[1], timeout=10)
    conn.putrequest("POST", "/%s?delete" % B, skip_accept_encoding=True)
    for name, value in req.headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(3 << 20))
    conn.endheaders()
    resp = conn.getresponse()
    check("DeleteObjects with a body over 2 MiB: 400 MalformedXML before reading it", (400, "MalformedXML"),
          (resp.status, re.search(r"<Code>([^<]*)</Code>", resp.read().decode()).group(1)))
    conn.close()
    check("DeleteObjects on a read-only mount: 403", "AccessDenied",
          code_of(lambda: gw.delete_objects(Bucket="lakero", Delete={"Objects": [{"Key": "t/small.txt"}]})))
    gw.put_object(Bucket="localfs", Key="dm/a", Body=b"a")
    gw.put_object(Bucket="localfs", Key="dm/b", Body=b"b")
    r = gw.delete_objects(Bucket="localfs", Delete={"Objects": [{"Key": "dm/a"}, {"Key": "dm/b"}]})
    check("DeleteObjects on the file:// mount", (["dm/a", "dm/b"], []), summary(r))
    check("DeleteObjects on the file:// mount: files gone", (False, False),
          (os.path.exists(T + "/node/localfs/dm/a"), os.path.exists(T + "/node/localfs/dm/b")))

    # ---- CopyObject
    src = os.urandom(1500000)
    gw.put_object(Bucket=B, Key="cp/src", Body=src, ContentType="text/x-src", Metadata={"a": "1"})
    src_etag = s3.head_object(Bucket=B, Key="cp/src")["ETag"]
    r = gw.copy_object(Bucket=B, Key="cp/dst", CopySource={"Bucket": B, "Key": "cp/src"})
    check("CopyObject same mount: ETag as S3's", s3.head_object(Bucket=B, Key="cp/dst")["ETag"], r["CopyObjectResult"]["ETag"])
    check("CopyObject same mount: bytes in S3", src, s3.get_object(Bucket=B, Key="cp/dst")["Body"].read())
    check("CopyObject same mount: read through the gateway", src, gw.get_object(Bucket=B, Key="cp/dst")["Body"].read())
    h = s3.head_object(Bucket=B, Key="cp/dst")
    check("CopyObject (COPY): content type and metadata kept", ("text/x-src", {"a": "1"}), (h["ContentType"], h["Metadata"]))
    old = os.urandom(700000)
    gw.put_object(Bucket=B, Key="cp/cached", Body=old)
    check("destination cached before the copy", old, gw.get_object(Bucket=B, Key="cp/cached")["Body"].read())
    gw.copy_object(Bucket=B, Key="cp/cached", CopySource={"Bucket": B, "Key": "cp/src"})
    check("CopyObject over a cached key: a read right after gives the new bytes", src,
          gw.get_object(Bucket=B, Key="cp/cached")["Body"].read())
    check("CopyObject over a cached key: HeadObject too", (len(src), src_etag),
          (gw.head_object(Bucket=B, Key="cp/cached")["ContentLength"], gw.head_object(Bucket=B, Key="cp/cached")["ETag"]))
    # a mount with a prefix (s3://lakehouse/pfx/) on the same endpoint
    gw.copy_object(Bucket="lakepre", Key="x/y", CopySource={"Bucket": B, "Key": "cp/src"})
    check("CopyObject into a prefixed mount: lands under the prefix in S3", src, s3.get_object(Bucket=B, Key="pfx/x/y")["Body"].read())
    gw.copy_object(Bucket=B, Key="cp/from-pre", CopySource="lakepre/x/y")
    check("CopyObject out of a prefixed mount (source as a string)", src, s3.get_object(Bucket=B, Key="cp/from-pre")["Body"].read())
    # the "*" mount: a bucket of the same endpoint passed through
    gw.create_bucket(Bucket="passcopy")
    gw.copy_object(Bucket="passcopy", Key="k/1", CopySource={"Bucket": B, "Key": "cp/src"})
    check("CopyObject named mount -> \"*\" bucket", src, s3.get_object(Bucket="passcopy", Key="k/1")["Body"].read())
    gw.copy_object(Bucket=B, Key="cp/from-pass", CopySource="/passcopy/k/1")
    check("CopyObject \"*\" bucket -> named mount", src, s3.get_object(Bucket=B, Key="cp/from-pass")["Body"].read())
    gw.copy_object(Bucket="passcopy", Key="k/2", CopySource={"Bucket": "passcopy", "Key": "k/1"})
    check("CopyObject within a \"*\" bucket: read through the gateway", src, gw.get_object(Bucket="passcopy", Key="k/2")["Body"].read())
    r = gw.delete_objects(Bucket="passcopy", Delete={"Objects": [{"Key": "k/1"}, {"Key": "k/2"}]})
    check("DeleteObjects on a \"*\" bucket", (["k/1", "k/2"], []), summary(r))
    check("DeleteObjects on a \"*\" bucket: not served from the cache after", "NoSuchKey", code_of(lambda: gw.get_object(Bucket="passcopy", Key="k/2")))
    gw.delete_bucket(Bucket="passcopy")
    # conditions on the source
    cs = {"Bucket": B, "Key": "cp/src"}
    check("copy-source-if-match wrong: 412", "PreconditionFailed",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c1", CopySource=cs, CopySourceIfMatch='"0123"')))
    check("copy-source-if-match wrong: nothing written", "404", gone(B, "cp/c1"))
    check("copy-source-if-match right: copied", "ok",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c1", CopySource=cs, CopySourceIfMatch=src_etag)))
    check("copy-source-if-none-match same ETag: 412", "PreconditionFailed",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c2", CopySource=cs, CopySourceIfNoneMatch=src_etag)))
    future = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
    past = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
    check("copy-source-if-modified-since future: 412", "PreconditionFailed",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c2", CopySource=cs, CopySourceIfModifiedSince=future)))
    check("copy-source-if-unmodified-since 2001: 412", "PreconditionFailed",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c2", CopySource=cs, CopySourceIfUnmodifiedSince=past)))
    check("copy-source-if-unmodified-since future: copied", "ok",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c2", CopySource=cs, CopySourceIfUnmodifiedSince=future)))
    # permissions
    check("CopyObject from a source the tenant may not read: 403", "AccessDenied",
          code_of(lambda: reader.copy_object(Bucket=B, Key="scratch/c", CopySource={"Bucket": B, "Key": "t/small.txt"})))
    check("CopyObject to a key the tenant may not write: 403", "AccessDenied",
          code_of(lambda: reader.copy_object(Bucket=B, Key="public/c", CopySource={"Bucket": B, "Key": "public/readme"})))
    check("CopyObject readable -> writable as reader: copied", "ok",
          code_of(lambda: reader.copy_object(Bucket=B, Key="scratch/readme", CopySource={"Bucket": B, "Key": "public/readme"})))
    check("... and in S3", b"for everyone", s3.get_object(Bucket=B, Key="scratch/readme")["Body"].read())
    # REPLACE, and onto itself
    gw.copy_object(Bucket=B, Key="cp/repl", CopySource=cs, MetadataDirective="REPLACE",
                   ContentType="application/x-new", Metadata={"b": "2"})
    h = s3.head_object(Bucket=B, Key="cp/repl")
    check("CopyObject REPLACE: new content type and metadata in S3", ("application/x-new", {"b": "2"}), (h["ContentType"], h["Metadata"]))
    check("CopyObject REPLACE: new content type in HeadObject", "application/x-new", gw.head_object(Bucket=B, Key="cp/repl")["ContentType"])
    check("CopyObject onto itself without REPLACE: 400 InvalidRequest", "InvalidRequest",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/src", CopySource=cs)))
    gw.head_object(Bucket=B, Key="cp/src")  # cached metadata, to be replaced
    check("CopyObject onto itself with REPLACE: ok", "ok",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/src", CopySource=cs, MetadataDirective="REPLACE", ContentType="text/x-changed")))
    check("... new content type visible at once", "text/x-changed", gw.head_object(Bucket=B, Key="cp/src")["ContentType"])
    check("... bytes unchanged", src, gw.get_object(Bucket=B, Key="cp/src")["Body"].read())
    # errors
    check("CopyObject into a read-only mount: 403", "AccessDenied",
          code_of(lambda: gw.copy_object(Bucket="lakero", Key="cp/ro", CopySource=cs)))
    check("CopyObject of a missing source: 404 NoSuchKey", "NoSuchKey",
          code_of(lambda: gw.copy_object(Bucket=B, Key="cp/c3", CopySource={"Bucket": B, "Key": "cp/none"})))
    check("CopyObject of a version: 501", ("NotImplemented", True),
          why(lambda: gw.copy_object(Bucket=B, Key="cp/c3", CopySource={"Bucket": B, "Key": "cp/src", "VersionId": "v1"}), "versionId"))
    check("CopyObject from another backend (S3 -> file://): 501", ("NotImplemented", True),
          why(lambda: gw.copy_object(Bucket="localfs", Key="x", CopySource=cs), "between a file:// mount and an S3 mount"))
    check("CopyObject to a mount with other credentials: 501", ("NotImplemented", True),
          why(lambda: gw.copy_object(Bucket="otheruser", Key="x", CopySource=cs), "different S3 endpoints or credentials"))
    check("CopyObject to a mount on another endpoint: 501", ("NotImplemented", True),
          why(lambda: gw.copy_object(Bucket="otherep", Key="x", CopySource=cs), "different S3 endpoints or credentials"))
    # the file:// mount
    fdata = os.urandom(300000)
    gw.put_object(Bucket="localfs", Key="f/a", Body=fdata, ContentType="text/x-file")
    gw.put_object(Bucket="localfs", Key="f/b", Body=b"old")
    check("file:// destination cached before the copy", b"old", gw.get_object(Bucket="localfs", Key="f/b")["Body"].read())
    r = gw.copy_object(Bucket="localfs", Key="f/b", CopySource={"Bucket": "localfs", "Key": "f/a"})
    check("CopyObject on file://: the file", fdata, open(T + "/node/localfs/f/b", "rb").read())
    check("CopyObject on file://: read right after, new bytes", fdata, gw.get_object(Bucket="localfs", Key="f/b")["Body"].read())
    h = gw.head_object(Bucket="localfs", Key="f/b")
    check("CopyObject on file://: ETag and content type", (r["CopyObjectResult"]["ETag"], "text/x-file"), (h["ETag"], h["ContentType"]))
    gw.copy_object(Bucket="localfs", Key="f/new/c", CopySource="localfs/f/a", MetadataDirective="REPLACE", ContentType="text/x-repl")
    check("CopyObject on file:// REPLACE, into a new directory", ("text/x-repl", fdata),
          (gw.head_object(Bucket="localfs", Key="f/new/c")["ContentType"], gw.get_object(Bucket="localfs", Key="f/new/c")["Body"].read()))
    check("CopyObject on file:// with copy-source-if-match wrong: 412", "PreconditionFailed",
          code_of(lambda: gw.copy_object(Bucket="localfs", Key="f/d", CopySource="localfs/f/a", CopySourceIfMatch='"00"')))
    check("CopyObject file:// -> S3: 501", ("NotImplemented", True),
          why(lambda: gw.copy_object(Bucket=B, Key="cp/x", CopySource="localfs/f/a"), "between a file:// mount and an S3 mount"))
    check("GetObjectTagging: S3's TagSet, not the object's bytes",
          s3.get_object_tagging(Bucket=B, Key="cp/src")["TagSet"],
          gw.get_object_tagging(Bucket=B, Key="cp/src")["TagSet"])
    check("PutObjectTagging: 501, the object not overwritten", ("NotImplemented", src),
          (code_of(lambda: gw.put_object_tagging(Bucket=B, Key="cp/src", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})),
           s3.get_object(Bucket=B, Key="cp/src")["Body"].read()))
    check("PutObjectAcl: 501, the object not overwritten", ("NotImplemented", src),
          (code_of(lambda: gw.put_object_acl(Bucket=B, Key="cp/src", ACL="private")), s3.get_object(Bucket=B, Key="cp/src")["Body"].read()))
    # ---- UploadPartCopy (S3 wants parts of 5 MiB at least, but the last)
    MB = 1 << 20
    psrc = os.urandom(7 * MB)
    gw.put_object(Bucket=B, Key="pc/src", Body=psrc)
    pcs = {"Bucket": B, "Key": "pc/src"}
    old = os.urandom(300000)
    gw.put_object(Bucket=B, Key="pc/dst", Body=old)
    check("UploadPartCopy: destination cached before", old, gw.get_object(Bucket=B, Key="pc/dst")["Body"].read())
    up = gw.create_multipart_upload(Bucket=B, Key="pc/dst")["UploadId"]
    gw.upload_part(Bucket=B, Key="pc/dst", UploadId=up, PartNumber=1, Body=os.urandom(5 * MB))  # replaced below
    r1 = gw.upload_part_copy(Bucket=B, Key="pc/dst", UploadId=up, PartNumber=1, CopySource=pcs,
                             CopySourceRange="bytes=0-%d" % (5 * MB - 1))["CopyPartResult"]
    r2 = gw.upload_part_copy(Bucket=B, Key="pc/dst", UploadId=up, PartNumber=2, CopySource=pcs,
                             CopySourceRange="bytes=%d-%d" % (MB, 7 * MB - 1))["CopyPartResult"]
    ptail = os.urandom(100000)
    r3 = gw.upload_part(Bucket=B, Key="pc/dst", UploadId=up, PartNumber=3, Body=ptail)
    check("UploadPartCopy: CopyPartResult with ETag and LastModified", (True, True, True),
          (r1["ETag"].startswith('"'), r2["ETag"] != r1["ETag"], isinstance(r1.get("LastModified"), datetime.datetime)))
    check("UploadPartCopy: the parts as S3 lists them", [r1["ETag"], r2["ETag"], r3["ETag"]],
          [p["ETag"] for p in s3.list_parts(Bucket=B, Key="pc/dst", UploadId=up)["Parts"]])
    done = gw.complete_multipart_upload(Bucket=B, Key="pc/dst", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": r1["ETag"]}, {"PartNumber": 2, "ETag": r2["ETag"]}, {"PartNumber": 3, "ETag": r3["ETag"]}]})
    want = psrc[:5 * MB] + psrc[MB:] + ptail
    check("UploadPartCopy: two copied ranges and an uploaded part, in S3", want, s3.get_object(Bucket=B, Key="pc/dst")["Body"].read())
    check("UploadPartCopy: read right after through the gateway (nothing stale cached)", want,
          gw.get_object(Bucket=B, Key="pc/dst")["Body"].read())
    check("UploadPartCopy: HeadObject has the new ETag and size", (done["ETag"], len(want)),
          (gw.head_object(Bucket=B, Key="pc/dst")["ETag"], gw.head_object(Bucket=B, Key="pc/dst")["ContentLength"]))
    up = gw.create_multipart_upload(Bucket=B, Key="pc/e")["UploadId"]
    check("UploadPartCopy: range past the end: 400 InvalidArgument", ("InvalidArgument", True),
          why(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1, CopySource=pcs,
                                          CopySourceRange="bytes=0-%d" % len(psrc)),
              "Range specified is not valid for source object of size: %d" % len(psrc)))
    check("UploadPartCopy: malformed range: 400 InvalidArgument", "InvalidArgument",
          code_of(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1, CopySource=pcs,
                                              CopySourceRange="bytes=5-")))
    check("UploadPartCopy: copy-source-if-match wrong: 412", "PreconditionFailed",
          code_of(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1, CopySource=pcs,
                                              CopySourceIfMatch='"0123"')))
    check("UploadPartCopy: copy-source-if-none-match same ETag: 412", "PreconditionFailed",
          code_of(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1, CopySource=pcs,
                                              CopySourceIfNoneMatch=gw.head_object(Bucket=B, Key="pc/src")["ETag"])))
    check("UploadPartCopy: missing source: 404 NoSuchKey", "NoSuchKey",
          code_of(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1,
                                              CopySource={"Bucket": B, "Key": "pc/none"})))
    check("UploadPartCopy: no part failed into the upload", [],
          s3.list_parts(Bucket=B, Key="pc/e", UploadId=up).get("Parts", []))
    check("UploadPartCopy from a file:// source into an S3 upload: 501", ("NotImplemented", True),
          why(lambda: gw.upload_part_copy(Bucket=B, Key="pc/e", UploadId=up, PartNumber=1, CopySource="localfs/f/a"),
              "between a file:// mount and an S3 mount"))
    gw.abort_multipart_upload(Bucket=B, Key="pc/e", UploadId=up)
    up = reader.create_multipart_upload(Bucket=B, Key="scratch/mp")["UploadId"]
    check("UploadPartCopy from a source the tenant may not read: 403", "AccessDenied",
          code_of(lambda: reader.upload_part_copy(Bucket=B, Key="scratch/mp", UploadId=up, PartNumber=1,
                                                  CopySource={"Bucket": B, "Key": "t/small.txt"})))
    check("UploadPartCopy to a key the tenant may not write: 403", "AccessDenied",
          code_of(lambda: reader.upload_part_copy(Bucket=B, Key="public/mp", UploadId=up, PartNumber=1,
                                                  CopySource={"Bucket": B, "Key": "public/readme"})))
    reader.abort_multipart_upload(Bucket=B, Key="scratch/mp", UploadId=up)
    # on the file:// mount (fdata at localfs/f/a), a whole-source copy too
    up = gw.create_multipart_upload(Bucket="localfs", Key="f/mp")["UploadId"]
    f1 = gw.upload_part_copy(Bucket="localfs", Key="f/mp", UploadId=up, PartNumber=1, CopySource="localfs/f/a",
                             CopySourceRange="bytes=1000-99999")["CopyPartResult"]
    f2 = gw.upload_part(Bucket="localfs", Key="f/mp", UploadId=up, PartNumber=2, Body=b"middle")
    f3 = gw.upload_part_copy(Bucket="localfs", Key="f/mp", UploadId=up, PartNumber=3, CopySource="localfs/f/a")["CopyPartResult"]
    check("UploadPartCopy on file:// past the end: 400 InvalidArgument", "InvalidArgument",
          code_of(lambda: gw.upload_part_copy(Bucket="localfs", Key="f/mp", UploadId=up, PartNumber=4, CopySource="localfs/f/a",
                                              CopySourceRange="bytes=0-%d" % len(fdata))))
    gw.complete_multipart_upload(Bucket="localfs", Key="f/mp", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": f1["ETag"]}, {"PartNumber": 2, "ETag": f2["ETag"]}, {"PartNumber": 3, "ETag": f3["ETag"]}]})
    want = fdata[1000:100000] + b"middle" + fdata
    check("UploadPartCopy on file://: the file", want, open(T + "/node/localfs/f/mp", "rb").read())
    check("UploadPartCopy on file://: read through the gateway", want, gw.get_object(Bucket="localfs", Key="f/mp")["Body"].read())
    check("UploadPartCopy on file://: unknown upload: 404 NoSuchUpload", "NoSuchUpload",
          code_of(lambda: gw.upload_part_copy(Bucket="localfs", Key="f/mp", UploadId="0" * 32, PartNumber=1, CopySource="localfs/f/a")))
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
    r = gw.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "down/1"}, {"Key": "down/2"}]})
    check("S3 down: DeleteObjects answers 200 with a ServiceUnavailable entry per key",
          ([], [("down/1", "ServiceUnavailable"), ("down/2", "ServiceUnavailable")]),
          (sorted(d["Key"] for d in r.get("Deleted", [])), sorted((e["Key"], e["Code"]) for e in r.get("Errors", []))))
    check("S3 down: CopyObject of an uncached source: 503", "ServiceUnavailable",
          code_of(lambda: gw.copy_object(Bucket=B, Key="down/c", CopySource={"Bucket": B, "Key": "never/cached"})))
print("%d passed, %d failed" % (PASS, FAIL))
sys.exit(1 if FAIL else 0)
