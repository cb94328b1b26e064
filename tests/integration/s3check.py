"""What the integration tests' Python checks share (Debian's /usr/bin/python3
with boto3): the ok/FAIL lines and the closing "N passed, N failed", S3
clients for the gateway or the S3 server, the error code of a call, and raw
HTTP requests where the exact bytes matter."""
import http.client
import re
import sys

import boto3
import botocore
from botocore.config import Config

_counts = {"passed": 0, "failed": 0}


def check(name, expected, observed, labels=("expected", "observed")):
    """Prints "ok   NAME", or "FAIL NAME" with both values, and counts it."""
    if expected == observed:
        _counts["passed"] += 1
        print("ok   " + name)
    else:
        _counts["failed"] += 1
        print("FAIL %s\n     %s: %r\n     %s: %r" % (name, labels[0], expected, labels[1], observed))
    sys.stdout.flush()


def finish():
    """Prints the summary line and exits: 1 when a check failed."""
    print("%d passed, %d failed" % (_counts["passed"], _counts["failed"]))
    sys.exit(1 if _counts["failed"] else 0)


def client(url, key=None, secret=None, unsigned=False, **cfg):
    """An S3 client on url, path-style, no retries unless cfg says so."""
    conf = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, region_name="us-east-1",
                signature_version=botocore.UNSIGNED if unsigned else "s3v4")
    conf.update(cfg)
    kw = {"aws_access_key_id": key, "aws_secret_access_key": secret} if key else {}
    return boto3.client("s3", endpoint_url=url, config=Config(**conf), **kw)


def code(fn):
    """"ok", or the error code of fn()'s failure (the HTTP status when the
    answer had no body, as for HEAD)."""
    try:
        fn()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"].get("Code") or str(e.response["ResponseMetadata"]["HTTPStatusCode"])


def request(host, method, path, body=b"", headers=None, timeout=120):
    """One request on a fresh connection: (status, S3 error code or "", body)."""
    c = http.client.HTTPConnection(host, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    m = re.search(rb"<Code>([^<]*)</Code>", data) if r.status >= 300 else None
    return r.status, m.group(1).decode() if m else "", data
