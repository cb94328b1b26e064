#!/usr/bin/python3
"""S3 fidelity checks, run by test_s3_fidelity.sh: the gateway routes bucket
requests by method and subresource (docs/gateway.md's table, walked cell by
cell), never runs one as another (a bucket survives every DELETE ?x), and
answers listings, versions, locations and metadata as S3 does.

Env: GW (gateway URL), S3_ENDPOINT and the S3 server's keys, DOC (the path
of docs/gateway.md). Prints ok/FAIL lines and "N passed, N failed"."""
import http.client
import os
import re
import subprocess
import urllib.parse

import botocore

from s3check import check, client, code, finish
from s3check import request as _request

GW = os.environ["GW"]
HOST = urllib.parse.urlparse(GW).netloc


def request(method, path, body=b"", headers=None):
    return _request(HOST, method, path, body, headers)


def bucket_exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except botocore.exceptions.ClientError:
        return False


def doc_table():
    """The bucket subresource table of docs/gateway.md: {name: {method: status}}."""
    text = open(os.environ["DOC"]).read()
    sec = text[text.index("### Bucket subresources"):]
    rows = {}
    for ln in sec.splitlines():
        m = re.match(r"^\| `\?([A-Za-z-]+)` \|(.*)\|$", ln)
        if not m:
            continue
        cells = [c.strip() for c in m.group(2).split("|")]
        rows[m.group(1)] = {meth: int(cell.split()[0]) for meth, cell in zip(("GET", "PUT", "DELETE", "POST"), cells)}
    return rows


def main():
    s3 = client(os.environ["S3_ENDPOINT"])
    gw = client(GW, unsigned=True)
    table = doc_table()
    check("docs/gateway.md lists the bucket subresources (at least 25)", True, len(table) >= 25)
    # walk the table on a bucket of the "*" mount (passed to S3) and on a
    # named mount; the bucket and its objects must survive every cell
    s3.create_bucket(Bucket="walk")
    s3.put_object(Bucket="walk", Key="keep.txt", Body=b"kept")
    for bucket in ("walk", "lake"):
        wrong = []
        for name, methods in sorted(table.items()):
            for meth, want in methods.items():
                body = b""
                if meth == "POST" and name == "delete":
                    body = b"<Delete><Object><Key>nothing-here</Key></Object></Delete>"
                st = request(meth, "/%s?%s" % (bucket, name), body, {"Content-Length": str(len(body))})
                ecode = st[1] if st[0] >= 300 else ""
                if st[0] != want or (want == 501 and ecode != "NotImplemented"):
                    wrong.append("%s ?%s: %d %s (doc: %d)" % (meth, name, st[0], ecode, want))
        check("every cell of the table holds on %s" % bucket, [], wrong)
    check("the bucket survived DELETE of every subresource (in S3)", True, bucket_exists(s3, "walk"))
    check("and its object", b"kept", s3.get_object(Bucket="walk", Key="keep.txt")["Body"].read())
    # the destructive one, by name: DeleteBucketTagging must not delete the bucket
    st = request("DELETE", "/walk?tagging")
    check("DELETE /bucket?tagging: 501 NotImplemented", (501, "NotImplemented"), st[:2])
    check("DELETE /bucket?tagging: the bucket is still in S3", True, bucket_exists(s3, "walk"))
    # a parameter nobody knows, on a method that changes things
    st = request("DELETE", "/walk?somethingNew")
    check("DELETE /bucket?unknown-parameter: 501", 501, st[0])
    check("DELETE /bucket?unknown-parameter: the bucket is still in S3", True, bucket_exists(s3, "walk"))
    st = request("PUT", "/walk?acl", b"", {"x-amz-acl": "public-read"})
    check("PUT /bucket?acl is not CreateBucket (was 409 BucketAlreadyExists)", (501, "NotImplemented"), st[:2])
    # a plain GET with a parameter S3 ignores still lists
    st = request("GET", "/lake?list-type=2&x-id=ListObjectsV2")
    check("GET with x-id (newer SDKs): a listing", (200, True), (st[0], b"<ListBucketResult" in st[2]))

    # implemented subresources, with boto3
    loc = gw.get_bucket_location(Bucket="lake")
    check("GetBucketLocation: us-east-1 is the empty constraint", None, loc.get("LocationConstraint"))
    ver = gw.get_bucket_versioning(Bucket="lake")
    check("GetBucketVersioning: not versioned (no Status)", None, ver.get("Status"))
    for k in ("v/a", "v/b", "v/c"):
        s3.put_object(Bucket="lake", Key=k, Body=k.encode())
    page = gw.list_object_versions(Bucket="lake", Prefix="v/", MaxKeys=2)
    check("ListObjectVersions: each object once, version null, latest",
          [("v/a", "null", True), ("v/b", "null", True)],
          [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])])
    check("ListObjectVersions: truncated with a key marker", (True, "v/b"),
          (page["IsTruncated"], page.get("NextKeyMarker")))
    page = gw.list_object_versions(Bucket="lake", Prefix="v/", KeyMarker="v/b")
    check("ListObjectVersions: the next page", ["v/c"], [v["Key"] for v in page.get("Versions", [])])
    head = s3.head_object(Bucket="lake", Key="v/a")
    v = gw.list_object_versions(Bucket="lake", Prefix="v/a").get("Versions", [{}])[0]
    check("ListObjectVersions: ETag and size as S3's", (head["ETag"], 3), (v.get("ETag"), v.get("Size")))

    # listings
    st = request("GET", "/lake?list-type=2&prefix=v/&delimiter=")
    check("empty Delimiter: no <Delimiter> element", (200, False), (st[0], b"<Delimiter" in st[2]))
    check("empty Delimiter: all keys listed", 3, st[2].count(b"<Contents>"))
    r = gw.list_objects_v2(Bucket="lake", Prefix="v/", FetchOwner=True)
    check("FetchOwner=true: each object names its owner", [True] * 3,
          ["Owner" in o and "ID" in o["Owner"] for o in r["Contents"]])
    r = gw.list_objects_v2(Bucket="lake", Prefix="v/")
    check("without FetchOwner: no owner", [False] * 3, ["Owner" in o for o in r["Contents"]])
    r = gw.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "v/a", "VersionId": "null"}]})
    check("DeleteObjects with VersionId null: deleted", (["v/a"], []),
          ([d["Key"] for d in r.get("Deleted", [])], r.get("Errors", [])))
    try:
        s3.head_object(Bucket="lake", Key="v/a")
        gone = "still there"
    except botocore.exceptions.ClientError as e:
        gone = e.response["Error"]["Code"]
    check("DeleteObjects with VersionId null: gone from S3", "404", gone)
    r = gw.delete_objects(Bucket="lake", Delete={"Objects": [{"Key": "v/b", "VersionId": "3HL4kqtJlcpXroDTDmJ"}]})
    check("DeleteObjects with a real VersionId: NotImplemented, not deleted", ["NotImplemented"],
          [e["Code"] for e in r.get("Errors", [])])

    # object requests that are not what they look like without their query
    s3.put_object(Bucket="lake", Key="o/keep.bin", Body=b"original")
    for meth, q in (("GET", "versionId=3HL4kqtJlcpXroDTDmJ"), ("HEAD", "versionId=3HL4kqtJlcpXroDTDmJ"),
                    ("GET", "partNumber=1"), ("DELETE", "versionId=3HL4kqtJlcpXroDTDmJ"),
                    ("PUT", "somethingNew"), ("DELETE", "somethingNew"), ("PUT", "renameObject"),
                    ("PUT", "tagging"), ("DELETE", "tagging"), ("GET", "acl"), ("PUT", "acl"), ("POST", "restore"), ("POST", "select&select-type=2")):
        st = request(meth, "/lake/o/keep.bin?" + q, b"changed" if meth == "PUT" else b"")
        check("%s /object?%s: 501" % (meth, q), 501, st[0])
    check("and the object is as it was", b"original", s3.get_object(Bucket="lake", Key="o/keep.bin")["Body"].read())
    c = http.client.HTTPConnection(HOST, timeout=30)
    c.request("GET", "/lake/o/keep.bin?response-content-type=text/html%0D%0ASet-Cookie:%20x=1")
    r = c.getresponse()
    body = r.read()
    c.close()
    check("response-* with CR LF: 400 InvalidArgument, no header injected",
          (400, b"InvalidArgument", None), (r.status, re.search(rb"<Code>([^<]*)</Code>", body).group(1), r.getheader("Set-Cookie")))
    st = request("GET", "/lake/o/keep.bin?versionId=null")
    check("GET ?versionId=null: the object (its one version)", (200, b"original"), (st[0], st[2]))
    st = request("GET", "/lake/o/keep.bin?x-id=GetObject&response-content-type=text/x-test")
    check("GET with x-id and response-content-type: the object", (200, b"original"), (st[0], st[2]))

    # the headers S3 keeps with an object come back on GET and HEAD
    kept = dict(Metadata={"owner": "etl", "run": "42"}, CacheControl="max-age=60",
                ContentDisposition='attachment; filename="r.csv"', ContentEncoding="identity",
                ContentLanguage="de", ContentType="text/csv")

    def seen(r):
        return (r.get("Metadata"), r.get("CacheControl"), r.get("ContentDisposition"),
                r.get("ContentEncoding"), r.get("ContentLanguage"), r.get("ContentType"))
    want = ({"owner": "etl", "run": "42"}, "max-age=60", 'attachment; filename="r.csv"', "identity", "de",
            "text/csv")
    gw.put_object(Bucket="lake", Key="h/put.csv", Body=b"a,b\n", **kept)
    check("PutObject's headers: HEAD right after (from the cache)", want, seen(gw.head_object(Bucket="lake", Key="h/put.csv")))
    check("PutObject's headers: GET", want, seen(gw.get_object(Bucket="lake", Key="h/put.csv")))
    check("PutObject's headers: in S3", want, seen(s3.head_object(Bucket="lake", Key="h/put.csv")))
    s3.put_object(Bucket="lake", Key="h/direct.csv", Body=b"x", **kept)
    check("headers of an object written behind the gateway: HEAD", want, seen(gw.head_object(Bucket="lake", Key="h/direct.csv")))
    check("and GET (the metadata cache kept them)", want, seen(gw.get_object(Bucket="lake", Key="h/direct.csv")))
    r = gw.get_object(Bucket="lake", Key="h/direct.csv", ResponseContentDisposition="inline", ResponseCacheControl="no-cache")
    check("response-* overrides win over kept headers", ("inline", "no-cache", {"owner": "etl", "run": "42"}),
          (r.get("ContentDisposition"), r.get("CacheControl"), r.get("Metadata")))
    gw.copy_object(Bucket="lake", Key="h/copy.csv", CopySource={"Bucket": "lake", "Key": "h/direct.csv"})
    check("CopyObject with the COPY directive: the copy's headers through the gateway", want,
          seen(gw.head_object(Bucket="lake", Key="h/copy.csv")))
    up = gw.create_multipart_upload(Bucket="lake", Key="h/mpu.csv", **kept)["UploadId"]
    e1 = gw.upload_part(Bucket="lake", Key="h/mpu.csv", UploadId=up, PartNumber=1, Body=b"m" * 1000)["ETag"]
    gw.complete_multipart_upload(Bucket="lake", Key="h/mpu.csv", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    check("CreateMultipartUpload's headers reach S3", want, seen(s3.head_object(Bucket="lake", Key="h/mpu.csv")))
    check("and the gateway serves them after Complete", want, seen(gw.get_object(Bucket="lake", Key="h/mpu.csv")))

    # S3's own error codes come through, as S3 answers the same request directly
    for bad in ("ab", "Bad_Name"):
        direct = code(lambda: s3.create_bucket(Bucket=bad))
        check("CreateBucket %r through the gateway: S3's code (%s)" % (bad, direct), direct,
              code(lambda: gw.create_bucket(Bucket=bad)))

    def small_parts(cli, key):
        up = cli.create_multipart_upload(Bucket="lake", Key=key)["UploadId"]
        parts = [{"PartNumber": n, "ETag": cli.upload_part(Bucket="lake", Key=key, UploadId=up, PartNumber=n,
                                                           Body=b"p" * 1000)["ETag"]} for n in (1, 2)]
        try:
            return code(lambda: cli.complete_multipart_upload(Bucket="lake", Key=key, UploadId=up,
                                                              MultipartUpload={"Parts": parts}))
        finally:
            code(lambda: cli.abort_multipart_upload(Bucket="lake", Key=key, UploadId=up))
    direct = small_parts(s3, "e/small-direct")
    check("a part under 5 MiB but the last: S3 says EntityTooSmall", "EntityTooSmall", direct)
    check("and so does the gateway (was InvalidPart)", direct, small_parts(gw, "e/small-gw"))
    up = s3.create_multipart_upload(Bucket="lake", Key="e/wrong")["UploadId"]
    s3.upload_part(Bucket="lake", Key="e/wrong", UploadId=up, PartNumber=1, Body=b"x")
    wrong = {"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]}
    direct = code(lambda: s3.complete_multipart_upload(Bucket="lake", Key="e/wrong", UploadId=up, MultipartUpload=wrong))
    check("Complete with a wrong ETag: the gateway answers S3's code (%s)" % direct, direct,
          code(lambda: gw.complete_multipart_upload(Bucket="lake", Key="e/wrong", UploadId=up, MultipartUpload=wrong)))
    st = request("DELETE", "/lake/e/wrong?uploadId=" + up)
    st = request("DELETE", "/lake/e/wrong?uploadId=" + up)
    check("AbortMultipartUpload of an upload gone: 404 NoSuchUpload", (404, "NoSuchUpload"), st[:2])

    # GetObjectTagging passes through; file:// objects have none
    # (the test server, Swift, keeps no tags: it answers an empty TagSet,
    # even for a missing key; the gateway must answer what S3 answers)
    s3.put_object(Bucket="lake", Key="t/tagged.bin", Body=b"t")

    def tags(cli, key):
        try:
            return sorted((t["Key"], t["Value"]) for t in cli.get_object_tagging(Bucket="lake", Key=key)["TagSet"])
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]
    check("GetObjectTagging: what S3 answers", tags(s3, "t/tagged.bin"), tags(gw, "t/tagged.bin"))
    check("GetObjectTagging of a missing key: what S3 answers", tags(s3, "t/missing"), tags(gw, "t/missing"))
    gw.put_object(Bucket="local", Key="t/f.bin", Body=b"f")
    check("GetObjectTagging on file://: an empty TagSet", [], gw.get_object_tagging(Bucket="local", Key="t/f.bin")["TagSet"])
    check("GetObjectTagging on file://, missing key: NoSuchKey", "NoSuchKey",
          code(lambda: gw.get_object_tagging(Bucket="local", Key="t/none")))
    # so aws-cli's default copy of an object above its 8 MiB multipart
    # threshold works (it reads the source's tags first)
    big = os.urandom(9 << 20)
    s3.put_object(Bucket="lake", Key="t/big.bin", Body=big)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="", AWS_DEFAULT_REGION="us-east-1")
    rc = subprocess.run(["/usr/bin/aws", "--no-sign-request", "--endpoint-url", GW, "s3", "cp",
                         "s3://lake/t/big.bin", "s3://lake/t/big-copy.bin"], env=env,
                        capture_output=True, text=True)
    check("aws s3 cp of 9 MiB between keys, default options: exit 0", (0, ""), (rc.returncode, rc.stderr.strip()))
    check("and the copy holds the bytes", True,
          s3.get_object(Bucket="lake", Key="t/big-copy.bin")["Body"].read() == big)

    # ListMultipartUploads and ListParts, passed through, keys relative to the mount
    ups = {}
    for key in ("u/a.bin", "u/b.bin", "u/sub/c.bin"):
        ups[key] = gw.create_multipart_upload(Bucket="pre", Key=key)["UploadId"]
    etags = [gw.upload_part(Bucket="pre", Key="u/a.bin", UploadId=ups["u/a.bin"], PartNumber=n,
                            Body=bytes([n]) * (1000 * n))["ETag"] for n in (1, 2, 3)]
    r = gw.list_multipart_uploads(Bucket="pre", Prefix="u/")
    check("ListMultipartUploads: the mount's uploads, its prefix taken off",
          sorted(ups.items()), sorted((u["Key"], u["UploadId"]) for u in r.get("Uploads", [])))
    direct = s3.list_multipart_uploads(Bucket="lake", Prefix="pre/u/")
    check("the same uploads S3 lists under the mount's prefix",
          sorted((u["Key"], u["UploadId"]) for u in direct.get("Uploads", [])),
          sorted(("pre/" + u["Key"], u["UploadId"]) for u in r.get("Uploads", [])))
    r = gw.list_multipart_uploads(Bucket="pre", Prefix="u/", Delimiter="/")
    check("ListMultipartUploads with a delimiter: common prefixes", (["u/sub/"], ["u/a.bin", "u/b.bin"]),
          ([p["Prefix"] for p in r.get("CommonPrefixes", [])], sorted(u["Key"] for u in r.get("Uploads", []))))
    r = gw.list_multipart_uploads(Bucket="pre", Prefix="u/", MaxUploads=1)
    check("ListMultipartUploads, one at a time: truncated, with a next key marker", (True, 1, "u/a.bin"),
          (r["IsTruncated"], len(r.get("Uploads", [])), r.get("NextKeyMarker")))
    seen_keys, km, im = [], None, None
    for _ in range(5):  # the pages, one upload each, by the markers
        kw = {"KeyMarker": km, "UploadIdMarker": im} if km else {}
        r = gw.list_multipart_uploads(Bucket="pre", Prefix="u/", MaxUploads=1, **kw)
        seen_keys += [u["Key"] for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        km, im = r["NextKeyMarker"], r["NextUploadIdMarker"]
    check("ListMultipartUploads paged by its markers: each upload once", sorted(ups), seen_keys)
    r = gw.list_parts(Bucket="pre", Key="u/a.bin", UploadId=ups["u/a.bin"])
    d = s3.list_parts(Bucket="lake", Key="pre/u/a.bin", UploadId=ups["u/a.bin"])
    check("ListParts: S3's parts", [(p["PartNumber"], p["ETag"], p["Size"]) for p in d["Parts"]],
          [(p["PartNumber"], p["ETag"], p["Size"]) for p in r.get("Parts", [])])
    check("ListParts: the ETags UploadPart returned", etags, [p["ETag"] for p in r.get("Parts", [])])
    r = gw.list_parts(Bucket="pre", Key="u/a.bin", UploadId=ups["u/a.bin"], MaxParts=2)
    check("ListParts, two at a time: truncated at 2", (True, [1, 2], 2),
          (r["IsTruncated"], [p["PartNumber"] for p in r["Parts"]], r.get("NextPartNumberMarker")))
    r = gw.list_parts(Bucket="pre", Key="u/a.bin", UploadId=ups["u/a.bin"], PartNumberMarker=2)
    check("ListParts after marker 2", [3], [p["PartNumber"] for p in r.get("Parts", [])])
    check("ListParts of an upload that is not: NoSuchUpload",
          code(lambda: s3.list_parts(Bucket="lake", Key="pre/u/a.bin", UploadId="nope")),
          code(lambda: gw.list_parts(Bucket="pre", Key="u/a.bin", UploadId="nope")))
    for key, up in ups.items():
        gw.abort_multipart_upload(Bucket="pre", Key=key, UploadId=up)
    check("after the aborts: none listed", [], gw.list_multipart_uploads(Bucket="pre", Prefix="u/").get("Uploads", []))
    st = request("GET", "/local?uploads")
    check("ListMultipartUploads on file://: 501", (501, "NotImplemented"), st[:2])

    # file:// mounts keep the headers too (xattrs), through a HEAD of the file
    gw.put_object(Bucket="local", Key="h/put.csv", Body=b"a,b\n", **kept)
    check("file://: PutObject's headers", want, seen(gw.head_object(Bucket="local", Key="h/put.csv")))
    gw.copy_object(Bucket="local", Key="h/copy.csv", CopySource={"Bucket": "local", "Key": "h/put.csv"})
    check("file://: CopyObject (COPY) carries them, read back from the file", want,
          seen(gw.head_object(Bucket="local", Key="h/copy.csv")))
    gw.copy_object(Bucket="local", Key="h/repl.csv", CopySource={"Bucket": "local", "Key": "h/put.csv"},
                   MetadataDirective="REPLACE", Metadata={"new": "1"}, ContentType="text/x-r")
    check("file://: CopyObject (REPLACE) has the request's", ({"new": "1"}, None, "text/x-r"),
          (lambda r: (r.get("Metadata"), r.get("CacheControl"), r.get("ContentType")))(
              gw.head_object(Bucket="local", Key="h/repl.csv")))
    up = gw.create_multipart_upload(Bucket="local", Key="h/mpu.csv", **kept)["UploadId"]
    e1 = gw.upload_part(Bucket="local", Key="h/mpu.csv", UploadId=up, PartNumber=1, Body=b"m" * 100)["ETag"]
    gw.complete_multipart_upload(Bucket="local", Key="h/mpu.csv", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    check("file://: CreateMultipartUpload's headers, after Complete", want,
          seen(gw.get_object(Bucket="local", Key="h/mpu.csv")))

    # an empty metadata value is sent to S3 as it came (the signature covers it)
    r = gw.put_object(Bucket="lake", Key="meta/empty.txt", Body=b"x", Metadata={"a": "", "b": "2"})
    check("PUT with an empty x-amz-meta value: 200", 200, r["ResponseMetadata"]["HTTPStatusCode"])
    check("S3 holds the empty value", {"a": "", "b": "2"},
          s3.head_object(Bucket="lake", Key="meta/empty.txt")["Metadata"])


main()
finish()
