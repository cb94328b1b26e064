#!/usr/bin/python3
"""tests/bench/gossip_bench.py: membership figures of N separate processes
on one network namespace's loopback, for shoald or for the reference,
hashicorp/memberlist (tests/bench/memberlist/main.go, DefaultLANConfig).
Run inside the namespace (bench_gossip.sh makes it and runs this there).

Both are measured the same way: node i runs on 127.0.0.i, port 7946, and
joins through node 1. Events come from each process's own log (shoald:
"member name=... state=..."; the driver: "EV ms kind name"), stamped with
the wall clock in ms.

  join    a node (re)started: until every other node logged it alive
  kill    SIGKILL: until every other node logged it dead
  leave   SIGTERM: until every other node logged it left
  traffic bytes of gossip on the wire (nftables counters on lo: every
          packet to port 7946, and TCP from it; IP and UDP/TCP headers
          included), per node per second over a steady minute

Prints one JSON object of figures; it is a benchmark, not a test."""
import argparse, json, os, re, signal, statistics, subprocess, sys, time

PORT = 7946
ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z info cluster: member "
                 r"name=(\S+) .*state=(\S+) was=(\S+)")


def iso_ms(m):
    import calendar
    y, mo, d, h, mi, s, ms = (int(m.group(i)) for i in range(1, 8))
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + ms


class Node:
    def __init__(self, b, i):
        self.b, self.i, self.name = b, i, "n%d" % i
        self.log = os.path.join(b.tmp, "n%d.log" % i)
        self.proc = None
        self.pos = 0
        self.events = []  # (ms, kind, name)

    def start(self):
        b = self.b
        out = open(self.log, "ab")
        if b.impl == "memberlist":
            cmd = [b.driver, "-name", self.name, "-bind", "127.0.0.%d" % self.i, "-port", str(PORT)]
            if self.i != 1:
                cmd += ["-join", "127.0.0.1:%d" % PORT]
        else:
            cfg = os.path.join(b.tmp, "n%d.yaml" % self.i)
            d = os.path.join(b.tmp, "n%d" % self.i)
            os.makedirs(os.path.join(d, "ufs"), exist_ok=True)
            with open(cfg, "w") as f:
                f.write("node:\n  name: %s\n  data_dir: %s/data\n"
                        "listen:\n  admin: 127.0.0.%d:7490\n  s3: 127.0.0.%d:7480\n"
                        "  peer: 127.0.0.%d:%d\n"
                        "cluster:\n  seeds: [127.0.0.1:%d]\n  secret_file: %s\n"
                        "cache:\n  memory: 16MiB\n"
                        "mounts:\n  - name: bench\n    ufs: file://%s/ufs\n"
                        % (self.name, d, self.i, self.i, self.i, PORT, PORT, b.key, d))
            cmd = [os.path.join(b.build, "shoald"), "-c", cfg]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def signal(self, sig):
        self.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def read(self):
        with open(self.log, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.pos += cut
        for line in data[:cut].decode("utf-8", "replace").splitlines():
            if self.b.impl == "memberlist":
                p = line.split()
                if len(p) == 4 and p[0] == "EV":
                    # memberlist reports deaths and goodbyes alike: both are
                    # "dead" and "left" here; what this run caused tells them apart
                    if p[2] == "gone":
                        self.events.append((int(p[1]), "dead", p[3]))
                        self.events.append((int(p[1]), "left", p[3]))
                    else:
                        self.events.append((int(p[1]), p[2], p[3]))
            else:
                m = ISO.match(line)
                if m:
                    st = m.group(9)
                    kind = {"alive": "join", "dead": "dead", "left": "left"}.get(st)
                    if kind == "join" and m.group(10) not in ("new", "dead", "left"):
                        kind = None  # alive again after a suspicion: not a join
                    if kind:
                        self.events.append((iso_ms(m), kind, m.group(8)))


class Bench:
    def __init__(self, a):
        self.impl, self.n, self.build, self.tmp = a.impl, a.nodes, a.build, a.tmp
        self.driver, self.key = a.driver, os.path.join(a.tmp, "key")
        if self.impl == "shoal":
            with open(self.key, "w") as f:
                f.write(subprocess.check_output([os.path.join(a.build, "shoal"), "keygen"], text=True))
        self.nodes = [Node(self, i) for i in range(1, self.n + 1)]

    def running(self):
        return [x for x in self.nodes if x.proc]

    def wait_all(self, who, kind, since, limit=90):
        """ms from SINCE until every other running node logged KIND of WHO
        (None on timeout)"""
        end = time.time() + limit
        while time.time() < end:
            worst = 0
            for x in self.running():
                if x is who:
                    continue
                x.read()
                t = [ms for ms, k, nm in x.events if k == kind and nm == who.name and ms >= since]
                if not t:
                    worst = None
                    break
                worst = max(worst, min(t) - since)
            if worst is not None:
                return worst
            time.sleep(0.05)
        return None

    def converge(self, limit=120):
        end = time.time() + limit
        while time.time() < end:
            ok = True
            up = self.running()
            names = {x.name for x in up}
            for x in up:
                x.read()
                seen = {nm for _, k, nm in x.events if k == "join"}
                if not (names - {x.name}) <= seen:
                    ok = False
                    break
            if ok:
                return True
            time.sleep(0.2)
        return False


def nft(*args):
    return subprocess.run(["nft"] + list(args), capture_output=True, text=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=["shoal", "memberlist"], required=True)
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--leaves", type=int, default=10)
    ap.add_argument("--traffic-seconds", type=int, default=60)
    ap.add_argument("--build", default="build")
    ap.add_argument("--driver", default="")
    ap.add_argument("--tmp", required=True)
    a = ap.parse_args()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    b = Bench(a)
    res = {"impl": a.impl, "nodes": a.nodes}
    try:
        for x in b.nodes[:-1]:
            x.start()
            time.sleep(0.02)
        if not b.converge():
            res["error"] = "%d nodes did not converge" % (a.nodes - 1)
            return res
        last = b.nodes[-1]
        t0 = int(time.time() * 1000)
        last.start()
        res["join_ms"] = b.wait_all(last, "join", t0)
        b.converge()
        time.sleep(5)
        # traffic over a steady minute
        nft("add", "table", "inet", "gb")
        nft("add", "chain", "inet", "gb", "out", "{ type filter hook output priority 0; }")
        nft("add", "rule", "inet", "gb", "out", "meta", "l4proto", "{ udp, tcp }", "th", "dport", str(PORT), "counter")
        nft("add", "rule", "inet", "gb", "out", "meta", "l4proto", "tcp", "th", "sport", str(PORT), "counter")
        nft("add", "rule", "inet", "gb", "out", "meta", "l4proto", "udp", "th", "dport", str(PORT), "counter")
        time.sleep(a.traffic_seconds)
        out = nft("list", "chain", "inet", "gb", "out")
        nft("delete", "table", "inet", "gb")
        cnt = [(int(p), int(by)) for p, by in re.findall(r"counter packets (\d+) bytes (\d+)", out)]
        total = cnt[0][1] + cnt[1][1]
        res["bytes_per_node_s"] = round(total / a.traffic_seconds / a.nodes, 1)
        res["udp_bytes_per_node_s"] = round(cnt[2][1] / a.traffic_seconds / a.nodes, 1)
        # kills, each followed by a restart (a join)
        det, joins = [], []
        victims = b.nodes[1:]
        away = []  # (name, from ms, to ms): a node this run stopped
        for k in range(a.kills):
            v = victims[(k * 7) % len(victims)]
            t = int(time.time() * 1000)
            v.signal(signal.SIGKILL)
            d = b.wait_all(v, "dead", t)
            det.append(d if d is not None else 90000)
            time.sleep(1)
            t2 = int(time.time() * 1000)
            v.start()
            j = b.wait_all(v, "join", t2)
            away.append((v.name, t, int(time.time() * 1000)))
            if j is not None:
                joins.append(j)
            time.sleep(1)
        res["kills"] = len(det)
        res["kill_detect_median_ms"] = statistics.median(det)
        res["kill_detect_max_ms"] = max(det)
        res["rejoin_median_ms"] = statistics.median(joins) if joins else None
        lv = []
        for k in range(a.leaves):
            v = victims[(k * 11 + 3) % len(victims)]
            t = int(time.time() * 1000)
            v.signal(signal.SIGTERM)
            d = b.wait_all(v, "left", t)
            lv.append(d if d is not None else 90000)
            time.sleep(0.5)
            t2 = int(time.time() * 1000)
            v.start()
            b.wait_all(v, "join", t2)
            away.append((v.name, t, int(time.time() * 1000)))
            time.sleep(1)
        res["leaves"] = len(lv)
        res["leave_median_ms"] = statistics.median(lv)
        res["leave_max_ms"] = max(lv)
        # false deaths: a node logged dead while it was running
        fd = 0
        for x in b.nodes:
            x.read()
            for ms, k, nm in x.events:
                if k == "dead" and not any(n == nm and t0 <= ms <= t1 for n, t0, t1 in away):
                    fd += 1
        res["false_deaths"] = fd
        return res
    finally:
        for x in b.nodes:
            if x.proc:
                x.proc.kill()
                x.proc.wait()


if __name__ == "__main__":
    print(json.dumps(main()))
