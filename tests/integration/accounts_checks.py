#!/usr/bin/python3
"""Two tenants of one gateway with their own S3 accounts (tenants[].backend),
run by test_s3_fidelity.sh: each acts on S3 as its own account, so S3's
account boundaries hold through a shared "*" mount: buckets, listings,
objects, copies, and the cache (an object one tenant read is not served to
the other, whose account cannot read it).

Env: GW, S3_ENDPOINT and the S3 server's keys (AWS_* for account test,
S3_USER2_* for account test2). Prints ok/FAIL lines and "N passed, N failed"."""
import os

from s3check import check, client, code, finish


def names(c):
    return sorted(b["Name"] for b in c.list_buckets()["Buckets"])


def main():
    gw = os.environ["GW"]
    alice = client(gw, "AKIDALICE", "alice-secret")
    bob = client(gw, "AKIDBOB", "bob-secret")
    s3a = client(os.environ["S3_ENDPOINT"], os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    s3b = client(os.environ["S3_ENDPOINT"], os.environ["S3_USER2_ACCESS_KEY_ID"], os.environ["S3_USER2_SECRET_ACCESS_KEY"])

    alice.create_bucket(Bucket="alice-data")
    bob.create_bucket(Bucket="bob-data")
    check("alice's bucket is account test's in S3", (True, False),
          ("alice-data" in names(s3a), "alice-data" in names(s3b)))
    check("bob's bucket is account test2's in S3", (False, True),
          ("bob-data" in names(s3a), "bob-data" in names(s3b)))
    check("ListBuckets through the gateway: alice sees hers, not bob's", (True, False),
          ("alice-data" in names(alice), "bob-data" in names(alice)))
    check("ListBuckets through the gateway: bob sees his, not alice's", (False, True),
          ("alice-data" in names(bob), "bob-data" in names(bob)))
    alice.put_object(Bucket="alice-data", Key="secret.txt", Body=b"alice only")
    check("alice reads her object (now cached)", b"alice only",
          alice.get_object(Bucket="alice-data", Key="secret.txt")["Body"].read())
    check("alice reads it again", b"alice only",
          alice.get_object(Bucket="alice-data", Key="secret.txt")["Body"].read())
    direct = code(lambda: s3b.get_object(Bucket="alice-data", Key="secret.txt"))
    check("bob cannot read it, as S3 refuses account test2 (%s), though it is cached" % direct, direct,
          code(lambda: bob.get_object(Bucket="alice-data", Key="secret.txt")))
    check("nor HEAD it", code(lambda: s3b.head_object(Bucket="alice-data", Key="secret.txt")),
          code(lambda: bob.head_object(Bucket="alice-data", Key="secret.txt")))
    check("nor list it", code(lambda: s3b.list_objects_v2(Bucket="alice-data")),
          code(lambda: bob.list_objects_v2(Bucket="alice-data")))
    direct = code(lambda: s3b.copy_object(Bucket="bob-data", Key="stolen.txt",
                                          CopySource={"Bucket": "alice-data", "Key": "secret.txt"}))
    check("bob cannot copy it into his bucket, as S3 refuses (%s)" % direct, direct,
          code(lambda: bob.copy_object(Bucket="bob-data", Key="stolen.txt",
                                       CopySource={"Bucket": "alice-data", "Key": "secret.txt"})))
    check("and nothing was copied", "404", code(lambda: s3b.head_object(Bucket="bob-data", Key="stolen.txt")))
    check("bob cannot write into alice's bucket", code(lambda: s3b.put_object(Bucket="alice-data", Key="x", Body=b"x")),
          code(lambda: bob.put_object(Bucket="alice-data", Key="x", Body=b"x")))
    check("bob cannot delete alice's bucket", code(lambda: s3b.delete_bucket(Bucket="alice-data")),
          code(lambda: bob.delete_bucket(Bucket="alice-data")))
    check("alice's bucket is still there", True, "alice-data" in names(s3a))
    # a named mount both use: alice with her own identity, bob with the
    # mount's (the same account here); their cache entries never meet, even
    # for a key that spells out another identity's namespace
    s3a.put_object(Bucket="lake", Key="secret", Body=b"alice's view", Metadata={"who": "alice"})
    check("alice reads shared/secret", b"alice's view", alice.get_object(Bucket="shared", Key="secret")["Body"].read())
    check("bob HEADs shared/@alice/secret: not alice's cached entry", "404",
          code(lambda: bob.head_object(Bucket="shared", Key="@alice/secret")))
    bob.put_object(Bucket="shared", Key="@alice/secret", Body=b"bob's object")
    h = alice.head_object(Bucket="shared", Key="secret")
    check("bob's PUT of @alice/secret leaves alice's view of secret alone", ({"who": "alice"}, 12),
          (h["Metadata"], h["ContentLength"]))
    check("and bob's object is his", b"bob's object",
          bob.get_object(Bucket="shared", Key="@alice/secret")["Body"].read())
    # within one account, copies still work server-side
    alice.copy_object(Bucket="alice-data", Key="copy.txt", CopySource={"Bucket": "alice-data", "Key": "secret.txt"})
    check("alice copies within her account", b"alice only", s3a.get_object(Bucket="alice-data", Key="copy.txt")["Body"].read())


main()
finish()
