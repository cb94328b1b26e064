#!/usr/bin/python3
"""Checks of what the gateway does with bodies and names a client controls,
run by test_untrusted.sh against real shoald nodes in front of the real S3
server (Swift). Requests are built by hand (http.client) where the exact
bytes matter; boto3 talks to S3 directly to observe what S3 holds.

Env: GW (gateway URL), ADMIN (admin URL), S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (the S3 server's), LOCAL (the file:// mount's
directory), LOG (the node's log), TENANT_KEY/TENANT_SECRET (phase tenant),
PID, MEM_BOUND_MIB and SANITIZED (phase memory).
Argument: the phase (anon, tenant, memory). Prints ok/FAIL lines and
"N passed, N failed"."""
import concurrent.futures
import datetime
import hashlib
import hmac
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import boto3
import botocore
from botocore.config import Config

from s3check import check, finish
from s3check import client as _client
from s3check import request as _request

GW = os.environ["GW"]
HOST = urllib.parse.urlparse(GW).netloc
ADMIN = os.environ["ADMIN"]


def s3():
    return _client(os.environ["S3_ENDPOINT"])


def request(method, path, body=b"", headers=None, timeout=120):
    return _request(HOST, method, path, body, headers, timeout)


def metrics():
    return urllib.request.urlopen(ADMIN + "/metrics").read().decode()


def metric(name):
    m = re.search("^" + re.escape(name) + r" (\d+)$", metrics(), re.M)
    return int(m.group(1)) if m else None


def alive():
    try:
        return urllib.request.urlopen(ADMIN + "/healthz", timeout=5).status
    except Exception as e:  # noqa: BLE001 - any failure means not alive
        return repr(e)


def chunked(pieces, sigs=None, trailer=b""):
    """An aws-chunked body of the given chunk payloads (the last should be
    b"" for the final chunk); sigs: one signature per piece, or None."""
    out = b""
    for i, p in enumerate(pieces):
        ext = b";chunk-signature=" + sigs[i].encode() if sigs else b""
        out += b"%x" % len(p) + ext + b"\r\n" + p + (b"\r\n" if p or sigs else b"")
    return out + trailer + (b"\r\n" if not sigs else b"")


def chunked_headers(declared, body):
    return {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(declared),
            "Content-Length": str(len(body)),
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


def exists(path):
    return os.path.exists(path)


def phase_anon():
    local = os.environ["LOCAL"]
    cli = s3()
    # -- aws-chunked PutObject held to x-amz-decoded-content-length ------
    # the reported overflow: declared 64 KiB (one block), one 200,000-byte chunk
    data = os.urandom(200000)
    body = chunked([data, b""])
    st = request("PUT", "/local/ovf.bin", body, chunked_headers(65536, body))
    check("chunked PUT: 200,000 decoded bytes for 65,536 declared: 400 InvalidRequest",
          (400, "InvalidRequest"), st[:2])
    check("chunked PUT too long: nothing written", False, exists(local + "/ovf.bin"))
    check("chunked PUT too long: the node lives", 200, alive())
    # declared a multiple of the block size, one byte more sent
    data = os.urandom(131073)
    body = chunked([data[:65536], data[65536:], b""])
    st = request("PUT", "/local/plus1.bin", body, chunked_headers(131072, body))
    check("chunked PUT: one byte past two blocks: 400 InvalidRequest", (400, "InvalidRequest"), st[:2])
    check("chunked PUT one byte long: nothing written", False, exists(local + "/plus1.bin"))
    # fewer bytes than declared, then the last chunk
    body = chunked([data[:100000], b""])
    st = request("PUT", "/local/short.bin", body, chunked_headers(131072, body))
    check("chunked PUT: fewer bytes than declared: 400 IncompleteBody", (400, "IncompleteBody"), st[:2])
    check("chunked PUT short: nothing written", False, exists(local + "/short.bin"))
    # the same to S3: nothing reaches the bucket
    body = chunked([data, b""])
    st = request("PUT", "/lake/u/ovf.bin", body, chunked_headers(65536, body))
    check("chunked PUT to S3 too long: 400 InvalidRequest", (400, "InvalidRequest"), st[:2])
    try:
        cli.head_object(Bucket="lake", Key="u/ovf.bin")
        observed = "exists"
    except botocore.exceptions.ClientError as e:
        observed = e.response["Error"]["Code"]
    check("chunked PUT to S3 too long: not in S3", "404", observed)
    # many small chunks, exactly the declared length: stored as sent
    data = os.urandom(131072 + 5)
    pieces = [data[i:i + 1000] for i in range(0, len(data), 1000)] + [b""]
    body = chunked(pieces)
    st = request("PUT", "/local/small.bin", body, chunked_headers(len(data), body))
    check("chunked PUT of 132 small chunks: 200", 200, st[0])
    check("chunked PUT of small chunks: the file holds the decoded bytes", True,
          open(local + "/small.bin", "rb").read() == data if exists(local + "/small.bin") else False)
    check("chunked PUT of small chunks: read back", (200, data), (lambda r: (r[0], r[2]))(request("GET", "/local/small.bin")))
    # size lines that are not plain hex
    for bad in (b"-1\r\n", b"0x10\r\n", b" 10\r\n", b"10 \r\n", b"ffffffffffffffffff\r\n"):
        body = bad + b"x" * 16 + b"\r\n0\r\n\r\n"
        st = request("PUT", "/local/badsize.bin", body, chunked_headers(16, body))
        check("chunked PUT, size line %r: 400 IncompleteBody" % bad, (400, "IncompleteBody"), st[:2])
    check("bad size lines: nothing written", False, exists(local + "/badsize.bin"))
    for dl in ("-1", "12abc", "", "99999999999999999999999"):
        body = chunked([b"x" * 16, b""])
        h = chunked_headers(16, body)
        h["x-amz-decoded-content-length"] = dl
        st = request("PUT", "/local/baddl.bin", body, h)
        check("x-amz-decoded-content-length %r: refused" % dl, True, st[0] in (400, 411))
    check("after all that the node lives", 200, alive())

    # -- UploadPart decodes aws-chunked like PutObject --------------------
    up = cli.create_multipart_upload(Bucket="lake", Key="m/chunked.bin")["UploadId"]
    data = os.urandom(300000)
    body = chunked([data[:65536], data[65536:], b""], trailer=b"x-amz-checksum-crc32:AAAAAA==\r\n")
    st = request("PUT", "/lake/m/chunked.bin?partNumber=1&uploadId=" + up, body,
                 dict(chunked_headers(len(data), body), **{"x-amz-trailer": "x-amz-checksum-crc32"}))
    check("UploadPart with an aws-chunked body: 200", 200, st[0])
    parts = cli.list_parts(Bucket="lake", Key="m/chunked.bin", UploadId=up).get("Parts", [])
    check("UploadPart aws-chunked: S3 holds the decoded length", [len(data)], [p["Size"] for p in parts])
    etag = parts[0]["ETag"] if parts else "none"
    check("UploadPart aws-chunked: S3's ETag is the MD5 of the decoded bytes",
          '"%s"' % hashlib.md5(data).hexdigest(), etag)
    body = chunked([data, b""])
    st = request("PUT", "/lake/m/chunked.bin?partNumber=2&uploadId=" + up, body, chunked_headers(65536, body))
    check("UploadPart aws-chunked too long: 400 InvalidRequest", (400, "InvalidRequest"), st[:2])
    parts = cli.list_parts(Bucket="lake", Key="m/chunked.bin", UploadId=up).get("Parts", [])
    check("UploadPart too long: no part 2 in S3", [1], [p["PartNumber"] for p in parts])
    gets = metric('shoal_s3_requests_total{kind="get"}')
    xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
           "</CompleteMultipartUpload>" % etag).encode()
    st = request("POST", "/lake/m/chunked.bin?uploadId=" + up, xml, {"Content-Length": str(len(xml))})
    check("Complete of the aws-chunked part through the gateway: 200", 200, st[0])
    st = request("GET", "/lake/m/chunked.bin")
    check("completed from an aws-chunked part: read back", (200, data), (st[0], st[2]))
    check("completed from an aws-chunked part: cached on write (no GET to S3)", gets,
          metric('shoal_s3_requests_total{kind="get"}'))
    check("S3 holds the decoded bytes", True,
          cli.get_object(Bucket="lake", Key="m/chunked.bin")["Body"].read() == data)

    # -- write-through staging keyed by (part, ETag) ---------------------
    # part 1 through the gateway (staged), then again straight to S3 with
    # other bytes: S3 keeps the second; Complete names it; the gateway must
    # not cache the bytes it saw
    key = "m/reup.bin"
    up = s3().create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
    a, b = os.urandom(70000), os.urandom(70000)
    st = request("PUT", "/lake/%s?partNumber=1&uploadId=%s" % (key, up), a, {"Content-Length": str(len(a))})
    check("part 1 through the gateway", 200, st[0])
    eb = cli.upload_part(Bucket="lake", Key=key, UploadId=up, PartNumber=1, Body=b)["ETag"]
    xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
           "</CompleteMultipartUpload>" % eb).encode()
    st = request("POST", "/lake/%s?uploadId=%s" % (key, up), xml, {"Content-Length": str(len(xml))})
    check("Complete naming the part S3 kept: 200", 200, st[0])
    st = request("GET", "/lake/" + key)
    check("re-uploaded part behind the gateway: the gateway serves S3's bytes", True, st[2] == b)
    check("re-uploaded part behind the gateway: S3 holds them", True,
          cli.get_object(Bucket="lake", Key=key)["Body"].read() == b)
    # both uploads of the part through the gateway: the one named is cached
    key = "m/reup2.bin"
    up = cli.create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
    for body in (a, b):
        st = request("PUT", "/lake/%s?partNumber=1&uploadId=%s" % (key, up), body, {"Content-Length": str(len(body))})
    gets = metric('shoal_s3_requests_total{kind="get"}')
    xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"%s\"</ETag></Part>"
           "</CompleteMultipartUpload>" % hashlib.md5(b).hexdigest()).encode()
    st = request("POST", "/lake/%s?uploadId=%s" % (key, up), xml, {"Content-Length": str(len(xml))})
    check("Complete after a part sent twice through the gateway: 200", 200, st[0])
    st = request("GET", "/lake/" + key)
    check("part sent twice: the named bytes are served", True, st[2] == b)
    check("part sent twice: served from the cache (no GET to S3)", gets,
          metric('shoal_s3_requests_total{kind="get"}'))
    # a Complete that S3 refused (a wrong ETag), then the right one: still cached
    key = "m/retry.bin"
    up = cli.create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
    st = request("PUT", "/lake/%s?partNumber=1&uploadId=%s" % (key, up), a, {"Content-Length": str(len(a))})
    for etag, want in (('"00000000000000000000000000000000"', 400), ('"%s"' % hashlib.md5(a).hexdigest(), 200)):
        xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
               "</CompleteMultipartUpload>" % etag).encode()
        st = request("POST", "/lake/%s?uploadId=%s" % (key, up), xml, {"Content-Length": str(len(xml))})
        check("Complete with ETag %s: %d" % (etag[:9], want), want, st[0])
    gets = metric('shoal_s3_requests_total{kind="get"}')
    st = request("GET", "/lake/" + key)
    check("after a retried Complete: the bytes, from the cache", (True, gets),
          (st[2] == a, metric('shoal_s3_requests_total{kind="get"}')))
    # an upload of one empty part is cached too (nothing to stage)
    key = "m/empty.bin"
    up = cli.create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
    st = request("PUT", "/lake/%s?partNumber=1&uploadId=%s" % (key, up), b"", {"Content-Length": "0"})
    xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"%s\"</ETag></Part>"
           "</CompleteMultipartUpload>" % hashlib.md5(b"").hexdigest()).encode()
    st = request("POST", "/lake/%s?uploadId=%s" % (key, up), xml, {"Content-Length": str(len(xml))})
    check("Complete of one empty part: 200", 200, st[0])
    st = request("GET", "/lake/" + key)
    check("the empty object reads back", (200, b""), (st[0], st[2]))
    check("completed uploads leave no staging", 0, metric("shoal_gateway_multipart_staged_uploads"))
    check("completed uploads hold no staging memory", 0,
          metric('shoal_request_memory_bytes{use="stage"}'))

    # -- log injection -----------------------------------------------------
    # the mount "dead" points at a closed port: a read of an uncached key is
    # an S3 outage, which the gateway logs with the key the client chose
    st = request("GET", "/dead/a%0A2026-01-01T00:00:00.000Z%20error%20serve:%20forged%20line")
    check("key with %0A on an unreachable S3: 503", 503, st[0])
    log = open(os.environ["LOG"], errors="replace").read()
    check("the outage is logged with the key quoted and escaped", True,
          'key="a\\x0a2026-01-01T00:00:00.000Z error serve: forged line"' in log)
    check("no line of the log is the one the client forged", [],
          [ln for ln in log.splitlines() if ln.startswith("2026-01-01T00:00:00.000Z")])


def sign_v4(method, path, query, headers, payload, key, secret, now):
    """SigV4 for a hand-built request: returns (authorization, seed sig, signing key, scope)."""
    amz, d8 = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = "%s/us-east-1/s3/aws4_request" % d8
    names = sorted(headers)
    creq = "%s\n%s\n%s\n%s\n%s\n%s" % (method, path, query, "".join("%s:%s\n" % (n, headers[n]) for n in names),
                                       ";".join(names), payload)
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz, scope, hashlib.sha256(creq.encode()).hexdigest())

    def hm(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = hm(hm(hm(hm(("AWS4" + secret).encode(), d8), "us-east-1"), "s3"), "aws4_request")
    seed = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (key, scope, ";".join(names), seed)
    return auth, seed, k, scope


def signed_chunked_part(key, up, number, data, tamper=False, chunk=65536):
    """UploadPart with STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed chunks."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    hdrs = {"host": HOST, "x-amz-date": amz, "x-amz-content-sha256": payload,
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    query = "partNumber=%d&uploadId=%s" % (number, urllib.parse.quote(up, safe=""))
    auth, prev, k, scope = sign_v4("PUT", "/lake/" + key, query, hdrs, payload,
                                   os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"], now)
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    sigs = []
    for p in pieces:
        sts = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
            amz, scope, prev, hashlib.sha256(b"").hexdigest(), hashlib.sha256(p).hexdigest())
        prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        sigs.append(prev)
    if tamper:
        pieces[0] = bytes([pieces[0][0] ^ 1]) + pieces[0][1:]
    body = chunked(pieces, sigs)
    hdrs["authorization"] = auth
    hdrs["content-length"] = str(len(body))
    del hdrs["host"]
    return request("PUT", "/lake/%s?%s" % (key, query), body, hdrs)


def signed_chunked_put_two_steps(key, data):
    """PutObject with signed chunks whose data arrives first and whose last
    (zero-size) chunk, with a wrong signature, half a second later: (status,
    code)."""
    import socket
    now = datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    hdrs = {"host": HOST, "x-amz-date": amz, "x-amz-content-sha256": payload,
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    auth, prev, k, scope = sign_v4("PUT", "/lake/" + key, "", hdrs, payload,
                                   os.environ["TENANT_KEY"], os.environ["TENANT_SECRET"], now)
    sts = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
        amz, scope, prev, hashlib.sha256(b"").hexdigest(), hashlib.sha256(data).hexdigest())
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    first = b"%x;chunk-signature=%s\r\n" % (len(data), sig.encode()) + data + b"\r\n"
    last = b"0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    hdrs["authorization"] = auth
    hdrs["content-length"] = str(len(first) + len(last))
    head = "PUT /lake/%s HTTP/1.1\r\n" % key + "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    host, port = HOST.rsplit(":", 1)
    sk = socket.create_connection((host, int(port)), timeout=30)
    sk.sendall(head.encode() + first)
    time.sleep(0.5)  # the data is with the gateway, and on its way to S3
    sk.sendall(last)
    resp = b""
    while b"\r\n\r\n" not in resp or (b"</Error>" not in resp and b" 200 " not in resp.split(b"\r\n")[0]):
        chunk = sk.recv(65536)
        if not chunk:
            break
        resp += chunk
    sk.close()
    status = int(resp.split(b" ")[1]) if resp else 0
    m = re.search(rb"<Code>([^<]*)</Code>", resp)
    return status, m.group(1).decode() if m else ""


def phase_tenant():
    cli = s3()
    # the last chunk's signature is checked before S3 may complete the object
    st = signed_chunked_put_two_steps("t/late-bad-sig.bin", os.urandom(100000))
    check("signed chunks, a bad last chunk arriving late: 403 SignatureDoesNotMatch",
          (403, "SignatureDoesNotMatch"), st)
    time.sleep(0.5)
    try:
        cli.head_object(Bucket="lake", Key="t/late-bad-sig.bin")
        observed = "stored in S3"
    except botocore.exceptions.ClientError as e:
        observed = e.response["Error"]["Code"]
    check("and S3 did not complete the object", "404", observed)
    key = "t/signed.bin"
    up = cli.create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
    data = os.urandom(200000)
    st = signed_chunked_part(key, up, 1, data, tamper=True)
    check("UploadPart, signed chunks, one tampered: 403 SignatureDoesNotMatch", (403, "SignatureDoesNotMatch"), st[:2])
    parts = cli.list_parts(Bucket="lake", Key=key, UploadId=up).get("Parts", [])
    check("tampered part: nothing in S3", [], parts)
    st = signed_chunked_part(key, up, 1, data)
    check("UploadPart, signed chunks: 200", 200, st[0])
    parts = cli.list_parts(Bucket="lake", Key=key, UploadId=up).get("Parts", [])
    check("signed chunked part: S3 holds the decoded bytes' ETag",
          ['"%s"' % hashlib.md5(data).hexdigest()], [p["ETag"] for p in parts])
    check("the part is staged", 1, metric("shoal_gateway_multipart_staged_parts"))
    check("its bytes hold staging memory", len(data), metric('shoal_request_memory_bytes{use="stage"}'))
    # abandoned: dropped after cache.multipart_staging_ttl (2 s here)
    t0 = time.monotonic()
    while metric("shoal_gateway_multipart_staged_parts") != 0 and time.monotonic() - t0 < 15:
        time.sleep(0.2)
    waited = time.monotonic() - t0
    check("abandoned staging dropped after the TTL", 0, metric("shoal_gateway_multipart_staged_parts"))
    check("not before the TTL (2 s, measured from here: > 1 s)", True, waited > 1.0)
    check("its memory is given back", 0, metric('shoal_request_memory_bytes{use="stage"}'))
    # the upload itself still completes (S3's), and is read through
    cli.complete_multipart_upload(Bucket="lake", Key=key, UploadId=up,
                                  MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]})
    check("the expired upload completes and reads back from S3", True,
          cli.get_object(Bucket="lake", Key=key)["Body"].read() == data)


def vm_hwm_mib(pid):
    for ln in open("/proc/%s/status" % pid):
        if ln.startswith("VmHWM:"):
            return int(ln.split()[1]) / 1024.0
    return None


def phase_memory():
    """32 concurrent 64 MiB PUTs, then 256 concurrent cold GETs: the node's
    peak RSS stays under memory tier + request budget + 64 MiB, every
    answer is the right bytes or 503 SlowDown (retried, as S3 clients do)."""
    cli = s3()
    pid = os.environ["PID"]
    blob = os.urandom(64 << 20)
    digest = hashlib.md5(blob).hexdigest()
    # boto3 as a worker would use it (anonymous here), with the retries of
    # its standard mode: SlowDown is retried, Expect: 100-continue is sent
    gw = boto3.client("s3", endpoint_url=GW, region_name="us-east-1",
                      config=Config(signature_version=botocore.UNSIGNED, s3={"addressing_style": "path"},
                                    retries={"mode": "standard", "max_attempts": 40},
                                    max_pool_connections=32, read_timeout=300))
    refused0 = metric('shoal_request_memory_refused_total{use="writer"}')

    def put(i):
        return gw.put_object(Bucket="lake", Key="big/%02d.bin" % i, Body=blob)["ResponseMetadata"]["HTTPStatusCode"]
    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        statuses = list(ex.map(put, range(32)))
    check("32 concurrent 64 MiB PUTs: all stored (SlowDown retried by boto3)", [200] * 32, statuses)
    etags = set(cli.head_object(Bucket="lake", Key="big/%02d.bin" % i)["ETag"] for i in range(32))
    check("S3 holds the 32 objects' bytes", {'"%s"' % digest}, etags)
    print("     (PUTs refused with 503 SlowDown for want of writer memory: %d)"
          % (metric('shoal_request_memory_refused_total{use="writer"}') - refused0))
    print("     (peak RSS after the PUTs: %.1f MiB)" % vm_hwm_mib(pid))
    slowdowns = [0]
    # 256 cold readers: 16 objects written behind the cache, 16 readers each,
    # ranges of 8 MiB at staggered offsets
    small = os.urandom(32 << 20)
    for i in range(16):
        cli.put_object(Bucket="lake", Key="cold/%02d.bin" % i, Body=small)

    def get(i):
        off = (i % 4) * (8 << 20)
        for attempt in range(60):
            st = request("GET", "/lake/cold/%02d.bin" % (i % 16), b"",
                         {"Range": "bytes=%d-%d" % (off, off + (8 << 20) - 1)}, timeout=300)
            if st[:2] == (503, "SlowDown"):
                slowdowns[0] += 1
                time.sleep(0.2 + 0.1 * attempt)
                continue
            return st[0], st[2] == small[off:off + (8 << 20)]
        return "gave up"
    with concurrent.futures.ThreadPoolExecutor(256) as ex:
        results = list(ex.map(get, range(256)))
    check("256 concurrent cold GETs: all the right bytes", [(206, True)] * 256, results)
    hwm = vm_hwm_mib(pid)
    bound = float(os.environ["MEM_BOUND_MIB"])
    print("     (peak RSS %.1f MiB; bound %.0f MiB = memory tier + request budget + 64 MiB)" % (hwm, bound))
    if os.environ.get("SANITIZED") == "1":
        # ASan keeps freed memory in quarantine and adds shadow memory: the
        # RSS figure means nothing there; the bytes and the budget do
        check("request memory within its budget at the end", True,
              metric("shoal_request_memory_limit_bytes") >= sum(
                  int(v) for v in re.findall(r'^shoal_request_memory_bytes\{use="[a-z]+"\} (\d+)$', metrics(), re.M)))
    else:
        check("peak RSS under memory tier + request budget + 64 MiB", True, hwm is not None and hwm < bound)
    check("all request memory given back", 0, sum(
        int(v) for v in re.findall(r'^shoal_request_memory_bytes\{use="[a-z]+"\} (\d+)$', metrics(), re.M)))


{"anon": phase_anon, "tenant": phase_tenant, "memory": phase_memory}[sys.argv[1]]()
finish()
