"""tests/integration/cluster_churn_checks.py: nodes come and go (run by
test_cluster_churn.sh, which starts, kills, pauses and drains the nodes).
Objects are written straight to S3; S3 GETs are counted from the S3
server's own proxy log, copies per block from each node's /v1/blocks.

Phases (argv[1]); ADMINS and GWS name the nodes that are up, NAMES theirs:
  warm     three objects read through every node: each block ends on its
           R owners (the state for the later phases is kept in STATE)
  copies   every block is held by each of its owners in the current ring
           (within WAIT seconds: repair, warming, or a drain did it), and
           every node reads every object, identical, with no S3 GET
  reads    every node reads the objects (ONLY: these), identical, with no S3
           GET (right after a change, before repair: from the copies left)
  fills    no node made an S3 fill since FILLS_FILE was written (pause)
  hot      a block a node that owns no copy of fetches 12 times in a row is
           kept there (a hot block's extra copy); one fetched 3 times is not
  reader   READERS (4) threads read random ranges of the objects through GWS
           until STOP_FILE exists, writing every read's time, latency and result to OUT
  report   the reader's OUT against the kill times in KILLS_FILE: no read
           failed; the p99 latency of reads in the 5 s after each kill
"""
import json
import os
import random
import sys
import threading
import time

from s3check import check, finish
from cluster_util import put, get, s3_get_bytes, copies, metric, blocks, wait_for

GWS = os.environ.get("GWS", "").split()
ADMINS = os.environ["ADMINS"].split()
NAMES = os.environ["NAMES"].split()
BS = int(os.environ["BLOCK_SIZE"])
STATE = os.environ["STATE"]
R = 2
KEYS = [("t/a.bin", 9 * BS + 4321), ("t/b.bin", 6 * BS), ("t/c.bin", BS // 3)]
phase = sys.argv[1]


def load():
    with open(STATE) as f:
        st = json.load(f)
    return {k: (bytes.fromhex(v["data"]), v["etag"]) for k, v in st.items()}


def s3_gets():
    return sum(s3_get_bytes(k)[0] for k, _ in KEYS)


def all_on_owners(objs):
    """Whether every block is held by each of its owners (views of ADMINS)."""
    for key, (data, etag) in objs.items():
        held, owners = copies(key, etag, len(data), ADMINS, NAMES)
        if any(not o <= h for h, o in zip(held, owners)):
            return False
    return True


def read_all(objs, what):
    g0 = s3_gets()
    same = all(get(gw, key) == data for gw in GWS for key, (data, _) in objs.items())
    check("every object through each of %s, identical to S3 (%s)" % (" ".join(NAMES), what),
          True, same)
    check("... with no S3 GET (%s)" % what, 0, s3_gets() - g0)


if phase == "warm":
    objs = {}
    for key, size in KEYS:
        data, etag = put(key, size, key)
        objs[key] = (data, etag)
    for gw in GWS:
        for key, (data, _) in objs.items():
            get(gw, key)
    ok = wait_for(lambda: all_on_owners(objs), 10)
    check("warm: every block on its %d owners" % R, True, ok)
    with open(STATE, "w") as f:
        json.dump({k: {"data": d.hex(), "etag": e} for k, (d, e) in objs.items()}, f)

elif phase == "copies":
    objs = load()
    wait = float(os.environ.get("WAIT", "30"))
    t0 = time.time()
    ok = wait_for(lambda: all_on_owners(objs), wait)
    took = time.time() - t0
    check("%s: every block held by each of its owners in the new ring" % os.environ["WHAT"],
          True, ok)
    print("     (%.1f s until every block had its copies)" % took)
    read_all(objs, os.environ["WHAT"])

elif phase == "reads":
    objs = load()
    only = os.environ.get("ONLY", "").split()
    read_all({k: v for k, v in objs.items() if not only or k in only}, os.environ["WHAT"])

elif phase == "fills":
    with open(os.environ["FILLS_FILE"]) as f:
        before = json.load(f)
    now = {a: metric(a, "shoal_fills_total") for a in ADMINS}
    if os.environ.get("SAVE"):
        with open(os.environ["FILLS_FILE"], "w") as f:
            json.dump(now, f)
    else:
        check("%s: no node filled a block from S3" % os.environ["WHAT"], before, now)

elif phase == "hot":
    # a block a non-owner fetches from its owners again and again gets a copy there
    hot, etag = put("t/hot.bin", BS // 2, "hot")
    cool, cetag = put("t/cool.bin", BS // 2, "cool")
    views = [blocks(a, "t/hot.bin", etag, len(hot))[0] for a in ADMINS]
    i = next(k for k, v in enumerate(views) if not v["owner"])
    c = next(k for k, v in enumerate(blocks(a, "t/cool.bin", cetag, len(cool))[0] for a in ADMINS)
             if not v["owner"])
    kept0 = metric(ADMINS[i], "shoal_hot_copies_total")
    for _ in range(3):
        get(GWS[c], "t/cool.bin")
    check("3 reads through a node that owns no copy: it keeps none",
          False, blocks(ADMINS[c], "t/cool.bin", cetag, len(cool))[0]["held"])
    same = all(get(GWS[i], "t/hot.bin") == hot for _ in range(12))
    check("12 reads through a node that owns no copy, identical", True, same)
    check("... after 8 fetches from the owners it keeps a copy (a hot block)",
          True, blocks(ADMINS[i], "t/hot.bin", etag, len(hot))[0]["held"])
    check("... counted", True, metric(ADMINS[i], "shoal_hot_copies_total") > kept0)

elif phase == "reader":
    objs = load()
    items = list(objs.items())
    out = open(os.environ["OUT"], "w")
    lock = threading.Lock()

    def reader(seed):
        rnd = random.Random(seed)
        while not os.path.exists(os.environ["STOP_FILE"]):
            key, (data, _) = rnd.choice(items)
            a = rnd.randrange(len(data))
            b = min(len(data) - 1, a + rnd.randrange(1, 2 * BS))
            gw = rnd.choice(GWS)
            t0 = time.time()
            try:
                ok = get(gw, key, "bytes=%d-%d" % (a, b), timeout=30) == data[a:b + 1]
                err = "" if ok else "bytes differ"
            except Exception as e:  # a failed read is what this counts
                ok, err = False, str(e)
            with lock:
                out.write(json.dumps([t0, time.time() - t0, ok, gw, key, a, b, err]) + "\n")
                out.flush()

    ts = [threading.Thread(target=reader, args=(i,)) for i in range(int(os.environ.get("READERS", "4")))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

elif phase == "report":
    reads = [json.loads(line) for line in open(os.environ["OUT"])]
    kills = [float(line.split()[0]) for line in open(os.environ["KILLS_FILE"])]
    failed = [r for r in reads if not r[2]]
    check("%d kill -9 events under %d reads: no read failed" % (len(kills), len(reads)),
          [], failed[:5])
    check("... and reads went on through the kills", True, len(reads) > 10 * len(kills))
    after = sorted(r[1] for r in reads if any(k <= r[0] < k + 5 for k in kills))
    p99 = after[min(len(after) - 1, int(len(after) * 0.99))] if after else 0
    p50 = after[len(after) // 2] if after else 0
    print("     (reads in the 5 s after each kill: %d, p50 %.3f s, p99 %.3f s)" %
          (len(after), p50, p99))
    if os.environ.get("FIGURES"):
        with open(os.environ["FIGURES"], "a") as f:
            f.write("kills=%d reads=%d failed=%d after_kill_reads=%d p50_s=%.3f p99_s=%.3f\n" %
                    (len(kills), len(reads), len(failed), len(after), p50, p99))

else:
    sys.exit("unknown phase " + phase)
finish()
