"""tests/integration/cluster_data_checks.py: one cache from three nodes (run
by test_cluster_data.sh). Objects are written straight to the S3 server and
read through the nodes' gateways; S3 GETs are counted from the S3 server's
own proxy log, copies per block from each node's /v1/blocks.

Phases (argv[1]):
  read     every node serves every object, identical to S3; 64 concurrent
           readers over 3 nodes read each cold block from S3 once; every block
           ends on exactly its R owners; a node that owns none of a block's
           copies serves it from the owners with no S3 GET, and keeps no copy
  kill     an owner killed with SIGKILL in the middle of a read: the read
           completes, identical, from the other owner
  write    one namespace: PUT, overwrite, CopyObject, CompleteMultipartUpload,
           DeleteObject and DeleteObjects through one node are seen by reads
           through the others at once (their metadata was warm, the TTL an
           hour); written blocks end on their owners, not on the writer
  auth     the peer port: a client without the key gets nothing; with it, a
           stale epoch is answered with the view, then the block
  tls      (cluster.tls: true) the peer port speaks TLS 1.3 with the PSK the
           cluster key gives: openssl s_client with it completes the
           handshake, with another key's it is refused (and counted), and a
           plaintext peer with the right key gets nothing
"""
import hashlib
import json
import subprocess
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from s3check import check, client, finish
from cluster_util import put, get, s3_get_bytes, s3_heads, metric, blocks, copies, wait_for
import peer_client

S3 = os.environ["S3_ENDPOINT"]
GWS = os.environ["GWS"].split()
ADMINS = os.environ["ADMINS"].split()
PEERS = os.environ["PEERS"].split()
NAMES = ["n1", "n2", "n3"]
PROXY_LOG = os.environ["PROXY_LOG"]
BS = int(os.environ["BLOCK_SIZE"])
R = 2
B = "lakehouse"
s3 = client(S3, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
phase = sys.argv[1]


if phase == "read":
    # every node serves every object, identical to S3
    small, _ = put("t/small.bin", 1000, "small")
    multi, _ = put("t/multi.bin", 5 * BS + 12345, "multi")
    for i, gw in enumerate(GWS):
        check("n%d serves a 1000-byte object identical to S3" % (i + 1), small, get(gw, "t/small.bin"))
    for i, gw in enumerate(GWS):
        check("n%d serves a 6-block object identical to S3" % (i + 1), multi, get(gw, "t/multi.bin"))
    for i, gw in enumerate(GWS):
        a, b = BS - 100, 3 * BS + 50
        check("n%d serves a range across 4 blocks identical to S3" % (i + 1), multi[a:b + 1],
              get(gw, "t/multi.bin", "bytes=%d-%d" % (a, b)))

    # an object's metadata comes from its key's owner: one HEAD for the cluster
    meta, _ = put("t/meta.bin", 3000, "meta")
    heads0 = s3_heads("t/meta.bin")  # put()'s own HEAD for the ETag
    asked0 = sum(metric(a, "shoal_peer_meta_gets_total") for a in ADMINS)
    served0 = sum(metric(a, "shoal_peer_meta_gets_served_total") for a in ADMINS)
    same = [get(gw, "t/meta.bin") == meta for gw in GWS]
    check("a new object read through each of the 3 nodes in turn, identical", [True] * 3, same)
    check("... cost S3 one HEAD, not one per node (its proxy log)", 1, s3_heads("t/meta.bin") - heads0)
    asked = sum(metric(a, "shoal_peer_meta_gets_total") for a in ADMINS) - asked0
    served = sum(metric(a, "shoal_peer_meta_gets_served_total") for a in ADMINS) - served0
    check("... the two nodes that do not own the key asked the one that does", (2, 2), (asked, served))

    # 64 readers over 3 nodes, all at once, of a cold 8-block object
    size = 8 * BS
    cold, etag = put("t/cold.bin", size, "cold")
    n0 = s3_get_bytes("t/cold.bin")
    fills0 = sum(metric(a, "shoal_fills_total") for a in ADMINS)
    unneeded0 = sum(metric(a, "shoal_peer_puts_unneeded_total") for a in ADMINS)
    bodies = [None] * 64
    go = threading.Barrier(64)

    def reader(i):
        go.wait()
        try:
            bodies[i] = get(GWS[i % 3], "t/cold.bin", timeout=120)
        except Exception as e:
            bodies[i] = repr(e).encode()

    ts = [threading.Thread(target=reader, args=(i,)) for i in range(64)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check("64 concurrent readers over 3 nodes all get the object", 64, sum(1 for b in bodies if b == cold))
    n1, bytes1 = s3_get_bytes("t/cold.bin")
    check("S3 sent each byte of the cold object once (its proxy log)", size, bytes1 - n0[1])
    check("at most one S3 GET per cold block (its proxy log)", True, 1 <= n1 - n0[0] <= 8)
    fills = sum(metric(a, "shoal_fills_total") for a in ADMINS) - fills0
    check("the nodes filled each of the 8 blocks once", 8, fills)

    # every block ends on exactly its R owners
    def on_owners():
        held, owners = copies("t/cold.bin", etag, size)
        return all(h == o and len(o) == R for h, o in zip(held, owners))

    check("every block is held by exactly its %d owners (replication)" % R, True, wait_for(on_owners, 10))
    unneeded = sum(metric(a, "shoal_peer_puts_unneeded_total") for a in ADMINS) - unneeded0
    check("... and the pushes to owners that read their block from the filler were skipped (%d)" % unneeded,
          True, unneeded > 0)

    # a node that owns no copy of a block serves it from the owners: no S3 GET
    views = [blocks(a, "t/cold.bin", etag, size) for a in ADMINS]
    pick = None
    for i, v in enumerate(views):
        idx = [b["index"] for b in v if not b["owner"]]
        if idx:
            pick = (i, idx[0])
            break
    check("some node owns none of the copies of some block", True, pick is not None)
    if pick:
        i, idx = pick
        reads0 = metric(ADMINS[i], "shoal_peer_reads_total")
        n0 = s3_get_bytes("t/cold.bin")
        rng = "bytes=%d-%d" % (idx * BS, idx * BS + BS - 1)
        check("n%d (not an owner of block %d) serves it identical" % (i + 1, idx),
              cold[idx * BS:(idx + 1) * BS], get(GWS[i], "t/cold.bin", rng))
        check("... with no S3 GET", n0, s3_get_bytes("t/cold.bin"))
        check("... from an owner (its peer reads went up)", True,
              metric(ADMINS[i], "shoal_peer_reads_total") > reads0)
        check("... and keeps no copy of it", False, blocks(ADMINS[i], "t/cold.bin", etag, size)[idx]["held"])
        # a short range of it: only the bytes asked cross the hop
        a, b = idx * BS + BS - 100000, idx * BS + BS - 1
        in0 = metric(ADMINS[i], "shoal_peer_bytes_received_total")
        check("n%d serves the last 100,000 bytes of block %d identical" % (i + 1, idx), cold[a:b + 1],
              get(GWS[i], "t/cold.bin", "bytes=%d-%d" % (a, b)))
        got = metric(ADMINS[i], "shoal_peer_bytes_received_total") - in0
        check("... and only they crossed the peer protocol (%d bytes, not the block)" % got, True,
              100000 <= got < 100000 + 4096)
    # /v1/blocks: a bad or missing parameter is a 400 that says what it wants,
    # an unknown bucket a 404
    def admin_status(q):
        try:
            with urllib.request.urlopen("http://%s/v1/blocks?%s" % (ADMINS[0], q), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    st, body = admin_status("bucket=%s&key=t/cold.bin&etag=x" % B)
    check("/v1/blocks without size: 400 naming the parameters", (400, True), (st, "size=N" in body))
    st, body = admin_status("bucket=%s&key=t/cold.bin&etag=x&size=12z" % B)
    check("/v1/blocks with a size that is not a number: 400", 400, st)
    st, body = admin_status("bucket=nosuchbucket&key=k&etag=x&size=1")
    check("/v1/blocks of an unknown bucket: 404", 404, st)
    # warm reads through every node: no S3 GET at all
    n0 = s3_get_bytes("t/cold.bin")
    for gw in GWS:
        get(gw, "t/cold.bin")
    check("warm reads of the whole object through all 3 nodes: no S3 GET", n0, s3_get_bytes("t/cold.bin"))

elif phase == "kill":
    # a 48-block object, warm on its owners; a slow read through n1; its
    # blocks' other owner n3 killed half-way
    size = 48 * BS
    big, etag = put("t/big.bin", size, "big")
    get(GWS[0], "t/big.bin")
    held_ok = wait_for(lambda: all(h == o for h, o in zip(*copies("t/big.bin", etag, size))), 10)
    check("the 48 blocks are on their owners before the kill", True, held_ok)
    victim = int(os.environ["VICTIM_PID"])
    out = {}
    # the blocks n1 does not own: their owners are n2 and n3
    lone = [b["index"] for b in blocks(ADMINS[0], "t/big.bin", etag, size) if not b["owner"]]
    killed = threading.Event()

    def short_ranges():
        """Right after the kill, before gossip can call n3 dead: short ranges of
        those blocks through n1, from n2 whichever of the two is asked first."""
        n0 = s3_get_bytes("t/big.bin")[0]
        out["short"] = all(get(GWS[0], "t/big.bin", "bytes=%d-%d" % (k * BS + 1000, k * BS + 70999))
                           == big[k * BS + 1000:k * BS + 71000] for k in lone)
        out["short_gets"] = s3_get_bytes("t/big.bin")[0] - n0

    def slow():
        req = urllib.request.Request("http://%s/%s/t/big.bin" % (GWS[0], B))
        h = hashlib.sha256()
        n = 0
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                while True:
                    d = r.read(256 << 10)
                    if not d:
                        break
                    h.update(d)
                    n += len(d)
                    if n >= size // 3 and "killed" not in out:
                        os.kill(victim, signal.SIGKILL)
                        out["killed"] = n
                        killed.set()
                    time.sleep(0.01)
        except Exception as e:
            out["error"] = repr(e)
        out["n"], out["sha"] = n, h.hexdigest()

    t = threading.Thread(target=slow)
    t.start()
    if killed.wait(60):
        short_ranges()
    t.join()
    check("n3 was killed in the middle of the read", True, 0 < out.get("killed", 0) < size)
    check("the read completed without an error", None, out.get("error"))
    check("the read that lost an owner is identical to S3", hashlib.sha256(big).hexdigest(), out.get("sha"))
    check("n1 serves 70,000-byte ranges of the %d blocks it does not own, right after the kill"
          % len(lone), (True, True), (len(lone) > 0, out.get("short")))
    check("... with no S3 GET", 0, out.get("short_gets"))

elif phase == "write":
    gw = [client("http://" + g, unsigned=True) for g in GWS]

    def read(i, key):
        try:
            return gw[i].get_object(Bucket=B, Key=key)["Body"].read()
        except Exception as e:
            return getattr(e, "response", {}).get("Error", {}).get("Code", repr(e))

    v1 = os.urandom(3 * BS + 777)
    gw[0].put_object(Bucket=B, Key="w/obj", Body=v1)
    check("PUT through n1: n2 and n3 read it at once", [v1, v1], [read(1, "w/obj"), read(2, "w/obj")])
    etag = s3.head_object(Bucket=B, Key="w/obj")["ETag"]

    def placed():
        held, owners = copies("w/obj", etag, len(v1))
        return all(h == o for h, o in zip(held, owners))

    check("the written blocks are on their owners (and only there)", True, wait_for(placed, 10))
    for i in range(3):
        read(i, "w/obj")  # every node has the metadata now
    v2 = os.urandom(BS + 5)
    gw[1].put_object(Bucket=B, Key="w/obj", Body=v2)
    check("overwrite through n2: n1 and n3 read the new bytes at once", [v2, v2],
          [read(0, "w/obj"), read(2, "w/obj")])
    src = os.urandom(2000)
    gw[0].put_object(Bucket=B, Key="w/src", Body=src)
    for i in range(3):
        read(i, "w/obj")
    gw[0].copy_object(Bucket=B, Key="w/obj", CopySource={"Bucket": B, "Key": "w/src"})
    check("CopyObject through n1: n2 and n3 read the copy at once", [src, src],
          [read(1, "w/obj"), read(2, "w/obj")])
    for i in range(3):
        read(i, "w/obj")
    up = gw[1].create_multipart_upload(Bucket=B, Key="w/obj")["UploadId"]
    p1, p2 = os.urandom(5 << 20), os.urandom(1000)
    e1 = gw[1].upload_part(Bucket=B, Key="w/obj", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = gw[1].upload_part(Bucket=B, Key="w/obj", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    gw[1].complete_multipart_upload(Bucket=B, Key="w/obj", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    check("CompleteMultipartUpload through n2: n1 and n3 read the new object at once",
          [p1 + p2, p1 + p2], [read(0, "w/obj"), read(2, "w/obj")])
    for i in range(3):
        read(i, "w/obj")
    gw[2].delete_object(Bucket=B, Key="w/obj")
    check("DELETE through n3: n1 and n2 answer NoSuchKey at once", ["NoSuchKey", "NoSuchKey"],
          [read(0, "w/obj"), read(1, "w/obj")])
    gw[0].put_object(Bucket=B, Key="w/a", Body=b"a")
    gw[0].put_object(Bucket=B, Key="w/b", Body=b"b")
    for i in range(3):
        read(i, "w/a"), read(i, "w/b")
    gw[0].delete_objects(Bucket=B, Delete={"Objects": [{"Key": "w/a"}, {"Key": "w/b"}]})
    check("DeleteObjects through n1: n2 and n3 answer NoSuchKey for both at once",
          ["NoSuchKey"] * 4, [read(1, "w/a"), read(1, "w/b"), read(2, "w/a"), read(2, "w/b")])
    told = sum(metric(a, "shoal_peer_writes_heard_total") for a in ADMINS)
    check("the writes were told over the peer protocol", True, told >= 12)

elif phase == "auth":
    cluster = os.environ["CLUSTER_NAME"]
    good = peer_client.peer_key(peer_client.load_key(os.environ["KEY_FILE"]))
    bad = peer_client.peer_key(peer_client.load_key(os.environ["OTHER_KEY_FILE"]))
    data, etag = put("t/auth.bin", 3000, "auth")
    get(GWS[0], "t/auth.bin")
    f0 = metric(ADMINS[0], "shoal_peer_auth_failures_total")

    # the wrong key: the node's proof does not check out, and our AUTH is refused
    p = peer_client.Peer(PEERS[0], cluster, bad, BS)
    ch, proved = p.handshake()
    check("wrong key: the node's challenge does not prove our key", False, proved)
    p.get(1, 0, B, "t/auth.bin", etag, 3000, 0, 0, 3000)
    got = p.types_until_closed()
    check("wrong key: the node closes, answering nothing", [], got)
    p.close()
    check("wrong key: counted as an authentication failure", True,
          wait_for(lambda: metric(ADMINS[0], "shoal_peer_auth_failures_total") > f0, 3))

    # a request before the handshake: nothing
    p = peer_client.Peer(PEERS[0], cluster, good, BS)
    p.s.sendall(peer_client.MAGIC)
    p.get(1, 0, B, "t/auth.bin", etag, 3000, 0, 0, 3000)
    got = p.types_until_closed()
    check("a GET before the handshake: closed, nothing answered", [], got)
    p.close()

    # another cluster name: refused with a protocol error
    p = peer_client.Peer(PEERS[0], "not-" + cluster, good, BS)
    ch, proved = p.handshake()
    check("another cluster name: refused (ERROR proto)", [peer_client.ERROR, 7], ch[:3:2] if len(ch) > 2 else ch)
    p.close()

    # the right key, a stale epoch: VIEW first, then the block
    p = peer_client.Peer(PEERS[0], cluster, good, BS)
    ch, proved = p.handshake(epoch=12345)
    check("right key: the node proves it holds the key", True, proved)
    check("right key: WELCOME", peer_client.WELCOME, p.recv()[0])
    p.get(7, 12345, B, "t/auth.bin", etag, 3000, 0, 100, 2000)
    frames = []
    try:
        while not frames or frames[-1][0] not in (peer_client.END, peer_client.ERROR):
            frames.append(p.recv())
    except peer_client.Closed:
        pass
    kinds = [f[0] for f in frames]
    check("stale epoch: VIEW, then BLOCK, DATA..., END", [peer_client.VIEW, peer_client.BLOCK],
          kinds[:2])
    view = frames[0] if frames else [0, 0, 0, []]
    with urllib.request.urlopen("http://%s/v1/ring" % ADMINS[0], timeout=5) as r:
        ring = json.load(r)
    check("the VIEW carries the node's epoch", int(ring["epoch"], 16), view[2])
    check("the VIEW lists the 3 members by name", sorted(NAMES), sorted(m[5] for m in view[3]))
    body = b"".join(f[2] for f in frames if f[0] == peer_client.DATA)
    check("the range's bytes are the object's", data[100:2100], body)
    import xxhash  # noqa: E402  (Debian python3-xxhash)
    check("END carries the range's XXH3-64", xxhash.xxh3_64_intdigest(data[100:2100]),
          frames[-1][2] if frames else None)
    p.close()

elif phase == "tls":
    def tls_psk(path):
        psk = hashlib.sha256(b"shoal tls psk/1\n" + peer_client.load_key(path)).digest()
        return psk.hex(), "shoal1:" + hashlib.sha256(psk).hexdigest()[:16]

    def s_client(path):
        psk, ident = tls_psk(path)
        r = subprocess.run(["openssl", "s_client", "-connect", PEERS[0], "-tls1_3", "-brief",
                            "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-psk", psk,
                            "-psk_identity", ident], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout + r.stderr

    rc, out = s_client(os.environ["KEY_FILE"])
    check("openssl s_client with the cluster key's PSK: a TLS 1.3 handshake",
          (0, True), (rc, "TLSv1.3" in out and "TLS_AES_128_GCM_SHA256" in out))
    f0 = metric(ADMINS[0], "shoal_peer_auth_failures_total")
    rc, out = s_client(os.environ["OTHER_KEY_FILE"])
    check("... with another key's PSK: refused", (True, False), (rc != 0, "TLSv1.3" in out))
    check("... and counted as an authentication failure", True,
          wait_for(lambda: metric(ADMINS[0], "shoal_peer_auth_failures_total") > f0, 3))
    cluster = os.environ["CLUSTER_NAME"]
    good = peer_client.peer_key(peer_client.load_key(os.environ["KEY_FILE"]))
    p = peer_client.Peer(PEERS[0], cluster, good, BS)
    try:
        ch, proved = p.handshake()
        got = [ch[0]] + p.types_until_closed()
    except (peer_client.Closed, OSError):
        got = []
    p.close()
    check("a plaintext peer with the right key: nothing answered", [], got)

finish()
