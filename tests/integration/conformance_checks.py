#!/usr/bin/python3
"""A conformance run, by test_s3_fidelity.sh: each scenario below runs twice
with Debian's boto3, once straight against the S3 server and once through
the gateway (a named mount of the same bucket, so bucket and keys are the
same), each under its own key prefix; what the client observes (status and
error codes, headers a client reads, bytes, listings relative to the
prefix) must be the same. A difference is a behaviour of the backend the
gateway loses.

Env: GW, S3_ENDPOINT and the S3 server's keys. Prints ok/FAIL lines and
"N passed, N failed"."""
import base64
import hashlib
import os

from s3check import check, client, code as err, finish


B = "lake"
BLOB = os.urandom(300000)


def s_put_get(c, p):
    c.put_object(Bucket=B, Key=p + "a.bin", Body=BLOB, ContentType="application/x-test", Metadata={"k": "v"})
    r = c.get_object(Bucket=B, Key=p + "a.bin")
    return (r["Body"].read() == BLOB, r["ContentType"], r["Metadata"], r["ContentLength"],
            r["ETag"] == '"%s"' % hashlib.md5(BLOB).hexdigest())


def s_head_missing(c, p):
    return err(lambda: c.head_object(Bucket=B, Key=p + "missing")), err(lambda: c.get_object(Bucket=B, Key=p + "missing"))


def s_ranges(c, p):
    c.put_object(Bucket=B, Key=p + "r.bin", Body=BLOB)
    out = []
    for rng in ("bytes=10-19", "bytes=-5", "bytes=299990-", "bytes=299995-400000"):
        r = c.get_object(Bucket=B, Key=p + "r.bin", Range=rng)
        out.append((r["ResponseMetadata"]["HTTPStatusCode"], r["ContentRange"], r["Body"].read()))
    out.append(err(lambda: c.get_object(Bucket=B, Key=p + "r.bin", Range="bytes=400000-")))
    return out


def s_conditionals(c, p):
    c.put_object(Bucket=B, Key=p + "c.bin", Body=b"cond")
    etag = c.head_object(Bucket=B, Key=p + "c.bin")["ETag"]
    return (err(lambda: c.get_object(Bucket=B, Key=p + "c.bin", IfMatch='"0000"')),
            err(lambda: c.get_object(Bucket=B, Key=p + "c.bin", IfNoneMatch=etag)),
            c.get_object(Bucket=B, Key=p + "c.bin", IfMatch=etag)["Body"].read())


def s_delete(c, p):
    c.put_object(Bucket=B, Key=p + "d.bin", Body=b"d")
    a = c.delete_object(Bucket=B, Key=p + "d.bin")["ResponseMetadata"]["HTTPStatusCode"]
    b = c.delete_object(Bucket=B, Key=p + "never")["ResponseMetadata"]["HTTPStatusCode"]
    return a, b, err(lambda: c.head_object(Bucket=B, Key=p + "d.bin"))


def rel(p, keys):
    return [k[len(p):] for k in keys]


def s_list_v2(c, p):
    for k in ("l/a", "l/b/1", "l/b/2", "l/c", "l/d e", "l/ü"):
        c.put_object(Bucket=B, Key=p + k, Body=b"x")
    r = c.list_objects_v2(Bucket=B, Prefix=p + "l/", Delimiter="/")
    first = (rel(p, [o["Key"] for o in r.get("Contents", [])]), rel(p, [x["Prefix"] for x in r.get("CommonPrefixes", [])]),
             r["KeyCount"], r["IsTruncated"])
    pages, token, keys = 0, None, []
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = c.list_objects_v2(Bucket=B, Prefix=p + "l/", MaxKeys=2, **kw)
        keys += rel(p, [o["Key"] for o in r.get("Contents", [])])
        pages += 1
        if not r["IsTruncated"] or pages > 10:
            break
        token = r["NextContinuationToken"]
    r = c.list_objects_v2(Bucket=B, Prefix=p + "l/", StartAfter=p + "l/b/2")
    return first, keys, pages, rel(p, [o["Key"] for o in r.get("Contents", [])])


def s_list_v1(c, p):
    for k in ("m/a", "m/b", "m/c"):
        c.put_object(Bucket=B, Key=p + k, Body=b"x")
    r = c.list_objects(Bucket=B, Prefix=p + "m/", MaxKeys=2)
    r2 = c.list_objects(Bucket=B, Prefix=p + "m/", Marker=p + "m/b")
    return (rel(p, [o["Key"] for o in r.get("Contents", [])]), r["IsTruncated"],
            rel(p, [o["Key"] for o in r2.get("Contents", [])]))


def s_copy(c, p):
    c.put_object(Bucket=B, Key=p + "src", Body=b"copy me", Metadata={"a": "1"}, ContentType="text/x-a")
    c.copy_object(Bucket=B, Key=p + "dst1", CopySource={"Bucket": B, "Key": p + "src"})
    c.copy_object(Bucket=B, Key=p + "dst2", CopySource={"Bucket": B, "Key": p + "src"},
                  MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/x-b")
    h1, h2 = c.head_object(Bucket=B, Key=p + "dst1"), c.head_object(Bucket=B, Key=p + "dst2")
    return (h1["Metadata"], h1["ContentType"], h2["Metadata"], h2["ContentType"],
            c.get_object(Bucket=B, Key=p + "dst2")["Body"].read(),
            err(lambda: c.copy_object(Bucket=B, Key=p + "dst3", CopySource={"Bucket": B, "Key": p + "nope"})))


def s_multipart(c, p):
    k = p + "mp.bin"
    up = c.create_multipart_upload(Bucket=B, Key=k, ContentType="application/x-mp", Metadata={"m": "1"})["UploadId"]
    a, b = os.urandom(5 << 20), os.urandom(1000)
    e1 = c.upload_part(Bucket=B, Key=k, UploadId=up, PartNumber=1, Body=a)["ETag"]
    e2 = c.upload_part(Bucket=B, Key=k, UploadId=up, PartNumber=2, Body=b)["ETag"]
    parts = [p_["PartNumber"] for p_ in c.list_parts(Bucket=B, Key=k, UploadId=up)["Parts"]]
    r = c.complete_multipart_upload(Bucket=B, Key=k, UploadId=up,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    g = c.get_object(Bucket=B, Key=k)
    up2 = c.create_multipart_upload(Bucket=B, Key=k + "2")["UploadId"]
    c.abort_multipart_upload(Bucket=B, Key=k + "2", UploadId=up2)
    return (parts, r["ETag"].endswith('-2"'), g["Body"].read() == a + b, g["ContentType"], g["Metadata"],
            err(lambda: c.list_parts(Bucket=B, Key=k + "2", UploadId=up2)),
            err(lambda: c.upload_part(Bucket=B, Key=k + "2", UploadId=up2, PartNumber=1, Body=b"x")))


def s_delete_objects(c, p):
    for k in ("x/1", "x/2"):
        c.put_object(Bucket=B, Key=p + k, Body=b"x")
    objs = [{"Key": p + "x/1"}, {"Key": p + "x/2"}, {"Key": p + "x/none"}]
    r = c.delete_objects(Bucket=B, Delete={"Objects": objs})
    q = c.delete_objects(Bucket=B, Delete={"Objects": objs, "Quiet": True})
    return sorted(rel(p, [d["Key"] for d in r.get("Deleted", [])])), r.get("Errors", []), q.get("Deleted", []), q.get("Errors", [])


def s_digests(c, p):
    good = base64.b64encode(hashlib.md5(b"body").digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    return (c.put_object(Bucket=B, Key=p + "md5", Body=b"body", ContentMD5=good)["ResponseMetadata"]["HTTPStatusCode"],
            err(lambda: c.put_object(Bucket=B, Key=p + "md5bad", Body=b"body", ContentMD5=bad)),
            err(lambda: c.head_object(Bucket=B, Key=p + "md5bad")))


def s_empty_and_names(c, p):
    c.put_object(Bucket=B, Key=p + "empty", Body=b"")
    r = c.get_object(Bucket=B, Key=p + "empty")
    names = ["sp ace", "per%cent", "uni-ç-日本", "plus+sign", "semi;colon", "q?mark", "a#hash", "dots/../x"]
    got = []
    for n in names:
        c.put_object(Bucket=B, Key=p + "n/" + n, Body=n.encode())
        got.append(c.get_object(Bucket=B, Key=p + "n/" + n)["Body"].read().decode())
    listed = rel(p, [o["Key"] for o in c.list_objects_v2(Bucket=B, Prefix=p + "n/")["Contents"]])
    return r["ContentLength"], r["Body"].read(), got, sorted(listed)


def s_response_overrides(c, p):
    c.put_object(Bucket=B, Key=p + "o", Body=b"o", ContentType="text/plain")
    r = c.get_object(Bucket=B, Key=p + "o", ResponseContentType="application/x-o",
                     ResponseContentDisposition="attachment", ResponseCacheControl="no-store")
    return r["ContentType"], r["ContentDisposition"], r["CacheControl"]


def s_buckets(c, p):
    return (err(lambda: c.head_bucket(Bucket=B)), err(lambda: c.head_bucket(Bucket="no-such-bucket-here")),
            err(lambda: c.list_objects_v2(Bucket="no-such-bucket-here")),
            c.get_bucket_location(Bucket=B).get("LocationConstraint"))


SCENARIOS = [s_put_get, s_head_missing, s_ranges, s_conditionals, s_delete, s_list_v2, s_list_v1, s_copy,
             s_multipart, s_delete_objects, s_digests, s_empty_and_names, s_response_overrides, s_buckets]


def main():
    s3 = client(os.environ["S3_ENDPOINT"])
    gw = client(os.environ["GW"], unsigned=True)
    for fn in SCENARIOS:
        name = fn.__name__[2:]
        try:
            direct = fn(s3, "conf/s3/%s/" % name)
        except Exception as e:  # noqa: BLE001 - the observation is the failure
            direct = "raised %s" % type(e).__name__
        try:
            through = fn(gw, "conf/gw/%s/" % name)
        except Exception as e:  # noqa: BLE001
            through = "raised %s: %s" % (type(e).__name__, e)
        check("conformance: %s as S3 does it" % name, direct, through, ("S3 directly", "through shoal"))


main()
finish()
