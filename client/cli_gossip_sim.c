/* client/cli_gossip_sim.c: `shoal ring simulate --gossip`: membership
 * figures for clusters no machine runs as processes, from the discrete-event
 * simulator of ring/swim_sim.h, which drives the nodes' own state machine
 * (ring/swim.c) and wire format with simulated time and a lossy network.
 * The one CLI file that uses ring/ directly: the simulator is a tool, not a
 * client feature, so it is not in libshoal's API.
 *
 * Phases, in simulated time: N nodes start within 2 s, each joining
 * through node 0 (time until all see all), or (--start known, the default
 * above 2,000 nodes) all start knowing each other; a steady minute once the
 * first round of push-pulls is past (bytes per node per second, datagrams
 * and push-pull, with 28 bytes of UDP/IP headers per datagram); an update (a node's new weight)
 * until every node has it; KILLS kill -9s one after another, each until every other node has it
 * dead (median and max); a voluntary leave, until every node has it left. False deaths (a running
 * node seen dead by another) are counted throughout. */
#include "client/cli.h"
#include "ring/swim_sim.h"
#include "ring/swim_wire.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char gossip_usage[] =
    "usage: shoal ring simulate --gossip --nodes N [--loss P] [--kills K] [--seed S]\n"
    "                           [--probe-interval MS] [--suspicion-mult A]\n"
    "                           [--start join|known] [--json]\n"
    "\n"
    "Simulates N nodes running shoald's own membership code (SWIM with\n"
    "Lifeguard, the same wire format) on a network that drops a fraction P of\n"
    "datagrams (0.2-0.5 ms one way), and reports: time for all to see all after\n"
    "they start within 2 s; gossip bytes per node per second over a steady\n"
    "minute (datagrams with 28 B UDP/IP headers, and push-pull); time for an\n"
    "update to reach every node; kill -9 detection by every node, median and\n"
    "max over K kills; time for a leave to be known to all; false deaths.\n"
    "Memory grows with N x N (each node knows every member): about 90 bytes\n"
    "per member per node, so 1,000 nodes take about 0.1 GB and 10,000 about\n"
    "9 GB; a 10,000-node run takes some minutes.\n"
    "\n"
    "  --nodes N            2..10000 (required)\n"
    "  --loss P             datagram loss, 0..0.5 (default 0)\n"
    "  --kills K            kills measured, 1..100 (default 10)\n"
    "  --seed S             seed (default 1)\n"
    "  --probe-interval MS  cluster.gossip_probe_interval (default 250)\n"
    "  --suspicion-mult A   cluster.gossip_suspicion_mult (default: shoald's)\n"
    "  --start join         each node joins through node 0 with a push-pull, as\n"
    "                       shoald does (default up to 2,000 nodes)\n"
    "  --start known        all nodes start knowing each other, as after the\n"
    "                       join's gossip (default above 2,000; no join time)\n"
    "  --json               one JSON object\n"
    "\n"
    "Exit codes: 0 ok, 1 the simulation failed (out of memory, or the cluster\n"
    "did not converge), 2 usage error.\n";

struct gres {
    long join_ms, update_ms, leave_ms;
    double steady_bps, steady_dgram_bps, steady_stream_bps, pp_bytes;
    long det_median, det_max;
    size_t kills_done;
    uint64_t false_deaths, dropped, datagrams;
    double wall_s;
};

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* runs until every running node has node V's incarnation >= INC; -1 after LIMIT */
static long wait_update(struct ring_sim *s, size_t n, size_t v, uint64_t inc, uint64_t limit)
{
    const uint8_t *id = ring_swim_self(ring_sim_node(s, v))->info->id;
    uint64_t t0 = ring_sim_now(s);
    for (uint64_t t = t0; t <= t0 + limit; t += 10) {
        int all = 1;
        ring_sim_run(s, t);
        for (size_t k = 0; k < n && all; k++) {
            if (k == v || !ring_sim_running(s, k))
                continue;
            const struct ring_swim_member *m = ring_swim_find(ring_sim_node(s, k), id);
            all = m && m->incarnation >= inc;
        }
        if (all)
            return (long)(t - t0);
    }
    return -1;
}

static long wait_gone(struct ring_sim *s, size_t v, uint64_t limit)
{
    uint64_t t0 = ring_sim_now(s);
    for (uint64_t t = t0; t <= t0 + limit; t += 10) {
        ring_sim_run(s, t);
        long d = ring_sim_detected(s, v);
        if (d >= 0)
            return d;
    }
    return -1;
}

static int run(size_t n, double loss, size_t kills, uint64_t seed, uint32_t probe_ms,
               uint32_t alpha, int known, struct gres *r)
{
    struct ring_sim_conf c;
    struct ring_sim *s;
    struct ring_sim_stats a, b;
    struct timespec w0, w1;

    memset(&c, 0, sizeof(c));
    memset(r, 0, sizeof(*r));
    c.nodes = n;
    ring_swim_conf_default(&c.swim);
    c.swim.probe_interval_ms = probe_ms;
    if (alpha)
        c.swim.suspicion_mult = alpha;
    if (c.swim.probe_timeout_ms >= probe_ms)
        c.swim.probe_timeout_ms = probe_ms * 2 / 5;
    c.loss = loss;
    c.latency_us = 200;
    c.jitter_us = 300;
    c.seed = seed;
    c.zones = 3;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    if (ring_sim_new(&c, &s) != RING_OK)
        return -1;
    if (known) {
        r->join_ms = -1;
        if (ring_sim_start_known(s) != RING_OK) {
            ring_sim_free(s);
            return -1;
        }
    } else {
        r->join_ms = ring_sim_start_all(s, 2000, 120000);
        if (r->join_ms < 0) {
            ring_sim_free(s);
            return -1;
        }
    }
    /* the join's own traffic dies down, and every node's first push-pull
     * (scheduled when it was alone, 30 s +-25% after its start) is past */
    ring_sim_run(s, ring_sim_now(s) + 5000 > 40000 ? ring_sim_now(s) + 5000 : 40000);
    ring_sim_stats_get(s, &a);
    ring_sim_run(s, ring_sim_now(s) + 60000);
    ring_sim_stats_get(s, &b);
    r->steady_dgram_bps = (double)(b.bytes - a.bytes) / (double)n / 60;
    /* push-pull: each node starts one per interval (30 s x ceil(N / 32)),
     * too rare in a big cluster for a minute to sample; so the bytes of one
     * exchange (a full state each way, sealed and framed) over that interval */
    double interval_s = 30.0 * (n <= 32 ? 1 : (double)((n + 31) / 32));
    size_t slen = 0;
    uint8_t *st = ring_swim_wire_state_of(ring_sim_node(s, 0), ring_sim_now(s), &slen);
    free(st);
    r->pp_bytes = 2.0 * (double)(slen + 5 + RING_SWIM_SEAL_OVERHEAD); /* both ways, framed */
    r->steady_stream_bps = r->pp_bytes / interval_s;
    r->steady_bps = r->steady_dgram_bps + r->steady_stream_bps;

    /* an update: node 1 changes its weight */
    struct ring_swim *u = ring_sim_node(s, 1);
    struct ring_swim_info in = *ring_swim_self(u)->info;
    in.weight = 2;
    ring_swim_self_update(u, ring_sim_now(s), &in);
    r->update_ms = wait_update(s, n, 1, ring_swim_self(u)->incarnation, 60000);

    long *det = calloc(kills, sizeof(*det));
    if (!det) {
        ring_sim_free(s);
        return -1;
    }
    for (size_t k = 0; k < kills && k + 3 < n; k++) {
        size_t v = 2 + k; /* nodes 0 and 1 stay */
        ring_sim_kill(s, v);
        det[k] = wait_gone(s, v, 60000);
        if (det[k] < 0)
            det[k] = 60000;
        r->kills_done++;
        ring_sim_run(s, ring_sim_now(s) + 2000);
    }
    if (r->kills_done) {
        qsort(det, r->kills_done, sizeof(*det), cmp_long);
        r->det_median = det[r->kills_done / 2];
        r->det_max = det[r->kills_done - 1];
    }
    free(det);
    ring_sim_leave(s, 1);
    r->leave_ms = wait_gone(s, 1, 30000);
    ring_sim_stats_get(s, &b);
    r->false_deaths = b.false_deaths;
    r->dropped = b.dropped;
    r->datagrams = b.datagrams;
    ring_sim_free(s);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    r->wall_s = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    return 0;
}

int cli_gossip_simulate(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"gossip", no_argument, NULL, 'g'},
        {"nodes", required_argument, NULL, 'n'},
        {"loss", required_argument, NULL, 'l'},
        {"kills", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"probe-interval", required_argument, NULL, 'p'},
        {"start", required_argument, NULL, 'S'},
        {"suspicion-mult", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "ring simulate --gossip";
    uint64_t nodes = 0, kills = 10, seed = 1, probe = 250, alpha = 0;
    double loss = 0;
    int json = o->json, c, known = -1;
    struct gres r;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'g':
            break;
        case 'n':
            if (cli_parse_u64(optarg, 2, 10000, &nodes))
                return cli_usage_error(cmd, "--nodes must be 2..10000, not '%s'", optarg);
            break;
        case 'l':
            loss = strtod(optarg, &end);
            if (*end || end == optarg || loss < 0 || loss > 0.5)
                return cli_usage_error(cmd, "--loss must be 0..0.5, not '%s'", optarg);
            break;
        case 'k':
            if (cli_parse_u64(optarg, 1, 100, &kills))
                return cli_usage_error(cmd, "--kills must be 1..100, not '%s'", optarg);
            break;
        case 's':
            if (cli_parse_u64(optarg, 0, UINT64_MAX, &seed))
                return cli_usage_error(cmd, "--seed must be a non-negative integer, not '%s'",
                                       optarg);
            break;
        case 'p':
            if (cli_parse_u64(optarg, 10, 60000, &probe))
                return cli_usage_error(cmd, "--probe-interval must be 10..60000 ms, not '%s'",
                                       optarg);
            break;
        case 'a':
            if (cli_parse_u64(optarg, 1, 100, &alpha))
                return cli_usage_error(cmd, "--suspicion-mult must be 1..100, not '%s'", optarg);
            break;
        case 'S':
            if (strcmp(optarg, "join") == 0)
                known = 0;
            else if (strcmp(optarg, "known") == 0)
                known = 1;
            else
                return cli_usage_error(cmd, "--start must be join or known, not '%s'", optarg);
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(gossip_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!nodes)
        return cli_usage_error(cmd, "--nodes is required");
    if (known < 0)
        known = nodes > 2000;
    if (run((size_t)nodes, loss, (size_t)kills, seed, (uint32_t)probe, (uint32_t)alpha, known,
            &r) != 0) {
        fprintf(stderr,
                "shoal %s: the simulation failed (out of memory, or %llu nodes did "
                "not converge within 120 s)\n",
                cmd, (unsigned long long)nodes);
        return CLI_EXIT_FAIL;
    }
    if (json) {
        printf("{\"nodes\":%llu,\"loss\":%g,\"probe_interval_ms\":%llu,\"start\":\"%s\","
               "\"join_ms\":%ld,"
               "\"bytes_per_node_s\":%.1f,\"datagram_bytes_per_node_s\":%.1f,"
               "\"pushpull_bytes_per_node_s\":%.1f,\"pushpull_bytes\":%.0f,\"update_ms\":%ld,"
               "\"kills\":%zu,"
               "\"detect_median_ms\":%ld,\"detect_max_ms\":%ld,\"leave_ms\":%ld,"
               "\"false_deaths\":%llu,\"datagrams\":%llu,\"dropped\":%llu,\"wall_s\":%.1f}\n",
               (unsigned long long)nodes, loss, (unsigned long long)probe, known ? "known" : "join",
               r.join_ms, r.steady_bps, r.steady_dgram_bps, r.steady_stream_bps, r.pp_bytes,
               r.update_ms, r.kills_done, r.det_median, r.det_max, r.leave_ms,
               (unsigned long long)r.false_deaths, (unsigned long long)r.datagrams,
               (unsigned long long)r.dropped, r.wall_s);
    } else {
        printf("nodes %llu, loss %.1f%%, probe interval %llu ms (simulated)\n",
               (unsigned long long)nodes, loss * 100, (unsigned long long)probe);
        if (known)
            printf("  join: not measured         (--start known: all start knowing each other)\n");
        else
            printf("  join: all see all          %ld ms after the first start (starts over 2 s)\n",
                   r.join_ms);
        printf("  gossip traffic per node    %.2f KB/s (datagrams %.2f, push-pull %.2f: %.0f KB "
               "an exchange)\n",
               r.steady_bps / 1000, r.steady_dgram_bps / 1000, r.steady_stream_bps / 1000,
               r.pp_bytes / 1000);
        printf("  an update reaches all      %ld ms\n", r.update_ms);
        printf("  kill -9 seen by all        median %ld ms, max %ld ms (%zu kills)\n", r.det_median,
               r.det_max, r.kills_done);
        printf("  a leave known to all       %ld ms\n", r.leave_ms);
        printf("  false deaths               %llu\n", (unsigned long long)r.false_deaths);
        printf("  (%llu datagrams, %llu dropped; %.1f s of wall time)\n",
               (unsigned long long)r.datagrams, (unsigned long long)r.dropped, r.wall_s);
    }
    return CLI_EXIT_OK;
}
