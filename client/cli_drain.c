/* client/cli_drain.c: `shoal drain NODE` and `shoal ring` from the seeds
 * (the members through libshoal, the shares computed here with the same
 * ring every node builds), on the public API only. */
#include "client/cli.h"
#include "client/shoal.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 8192 /* keys placed to measure each member's share (as the nodes do) */
#define MEMBERS_MAX 4096

static const char drain_usage[] =
    "usage: shoal [GLOBAL OPTIONS] drain [--wait] [--timeout SECONDS] NODE\n"
    "\n"
    "Asks the member NODE (its name, or its id in hex) to drain, as SIGTERM\n"
    "does: it takes no new fills, hands every block it holds to the owners-to-be\n"
    "within its cluster.drain_timeout, then leaves the cluster and stops. The\n"
    "request goes over the peer protocol, authenticated with the cluster key.\n"
    "\n"
    "  --wait             follow the node until it has left (its state on each\n"
    "                     change); exit 1 when it dies instead, or on timeout\n"
    "  --timeout SECONDS  how long --wait follows it (default 300)\n"
    "\n"
    "Exit 0 when the node agreed (with --wait: once it left), 1 when there is\n"
    "no such live member or the cluster cannot be reached, 2 on bad usage.\n";

static void hex_id(const uint8_t id[SHOAL_ID_LEN], char out[2 * SHOAL_ID_LEN + 1])
{
    for (int i = 0; i < SHOAL_ID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

struct found {
    const char *want;
    char state[16];
    int seen;
};

static int find_one(void *arg, const shoal_member *m)
{
    struct found *f = arg;
    char hex[2 * SHOAL_ID_LEN + 1];
    hex_id(m->id, hex);
    if (strcmp(m->name, f->want) == 0 || strcmp(hex, f->want) == 0) {
        f->seen = 1;
        snprintf(f->state, sizeof(f->state), "%s", m->state);
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_drain(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {{"wait", no_argument, NULL, 'w'},
                                          {"timeout", required_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int wait = 0, c, rc;
    uint64_t timeout = 300;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(drain_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'w')
            wait = 1;
        else if (c == 't') {
            if (cli_parse_u64(optarg, 1, 86400, &timeout) != 0)
                return cli_usage_error("drain", "--timeout: '%s' is not 1..86400 seconds", optarg);
        } else {
            return cli_usage_error("drain", "unknown option");
        }
    }
    if (optind != argc - 1 || !argv[optind][0])
        return cli_usage_error("drain", "give one NODE (a member's name or id)");
    const char *node = argv[optind];
    shoal *sh;
    if ((rc = cli_open_cluster(o, "drain", &sh)) != 0)
        return rc;
    int err = shoal_drain(sh, node);
    if (err) {
        fprintf(stderr, "shoal drain: %s: %s\n", node,
                err == SHOAL_ENOENT ? "no such live member" : shoal_strerror(err));
        shoal_close(sh);
        return CLI_EXIT_FAIL;
    }
    printf("%s: draining\n", node);
    fflush(stdout);
    rc = CLI_EXIT_OK;
    if (wait) {
        double t0 = now_s();
        char last[16] = "";
        rc = CLI_EXIT_FAIL;
        while (now_s() - t0 < (double)timeout) {
            struct found f = {node, "", 0};
            err = shoal_members(sh, find_one, &f);
            if (!err && !f.seen) {
                printf("%s: left after %.1f s\n", node, now_s() - t0);
                rc = CLI_EXIT_OK;
                break;
            }
            if (!err && strcmp(f.state, last) != 0) {
                printf("%s: %s (%.1f s)\n", node, f.state, now_s() - t0);
                fflush(stdout);
                snprintf(last, sizeof(last), "%s", f.state);
            }
            if (!err && strcmp(f.state, "dead") == 0) {
                fprintf(stderr, "shoal drain: %s died before it left\n", node);
                break;
            }
            usleep(500 * 1000);
        }
        if (rc && now_s() - t0 >= (double)timeout)
            fprintf(stderr, "shoal drain: %s has not left after %" PRIu64 " s\n", node, timeout);
    }
    shoal_close(sh);
    return rc;
}

/* ---- `shoal ring` from the seeds ------------------------------------------------------------ */

struct row {
    shoal_member m;
    char name[64], addr[64], zone[64], state[16];
    double primary, replicas;
    int idx; /* in the ring, or -1 */
};

struct rows {
    struct row *r;
    size_t n;
};

static int add_row(void *arg, const shoal_member *m)
{
    struct rows *rs = arg;
    if (rs->n >= MEMBERS_MAX)
        return 0;
    struct row *r = &rs->r[rs->n++];
    memset(r, 0, sizeof(*r));
    r->m = *m;
    snprintf(r->name, sizeof(r->name), "%s", m->name);
    snprintf(r->addr, sizeof(r->addr), "%s", m->addr);
    snprintf(r->zone, sizeof(r->zone), "%s", m->zone);
    snprintf(r->state, sizeof(r->state), "%s", m->state);
    r->idx = -1;
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Each placed member's share of SAMPLES keys as primary and as one of R
 * owners, on the ring built from the members as the nodes build it. */
static int shares(struct rows *rs, unsigned rep)
{
    shoal_ring *ring;
    if (shoal_ring_new(&ring) != 0)
        return -1;
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].m.placed &&
            shoal_ring_add(ring, rs->r[i].m.id, rs->r[i].m.weight, rs->r[i].zone) != 0) {
            shoal_ring_free(ring);
            return -1;
        }
    if (shoal_ring_build(ring) != 0) {
        shoal_ring_free(ring);
        return -1;
    }
    size_t placed = shoal_ring_size(ring);
    for (size_t k = 0; k < placed; k++) {
        uint8_t id[SHOAL_ID_LEN];
        uint32_t w;
        const char *z;
        shoal_ring_member(ring, k, id, &w, &z);
        for (size_t i = 0; i < rs->n; i++)
            if (memcmp(rs->r[i].m.id, id, SHOAL_ID_LEN) == 0)
                rs->r[i].idx = (int)k;
    }
    double *pri = calloc(placed + 1, sizeof(double)), *any = calloc(placed + 1, sizeof(double));
    uint32_t own[SHOAL_REPLICAS_MAX];
    for (uint64_t s = 0; placed && pri && any && s < SAMPLES; s++) {
        uint8_t key[SHOAL_ID_LEN];
        uint64_t a = mix(2 * s), b = mix(2 * s + 1);
        memcpy(key, &a, 8);
        memcpy(key + 8, &b, 8);
        size_t n = shoal_ring_owners(ring, key, rep, own);
        for (size_t i = 0; i < n; i++) {
            any[own[i]] += 1.0 / SAMPLES;
            if (i == 0)
                pri[own[i]] += 1.0 / SAMPLES;
        }
    }
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].idx >= 0 && pri && any) {
            rs->r[i].primary = pri[rs->r[i].idx];
            rs->r[i].replicas = any[rs->r[i].idx];
        }
    free(pri);
    free(any);
    shoal_ring_free(ring);
    return 0;
}

int cli_ring_seeds(const struct cli_opts *o, int json)
{
    shoal *sh;
    int rc;
    if ((rc = cli_open_cluster(o, "ring", &sh)) != 0)
        return rc;
    struct rows rs = {calloc(MEMBERS_MAX, sizeof(struct row)), 0};
    int err = rs.r ? shoal_members(sh, add_row, &rs) : SHOAL_ENOMEM;
    uint64_t epoch = shoal_epoch(sh);
    shoal_close(sh);
    if (err) {
        fprintf(stderr, "shoal ring: the members: %s\n", shoal_strerror(err));
        free(rs.r);
        return CLI_EXIT_FAIL;
    }
    uint64_t rep = 2;
    if (o->replication)
        cli_parse_u64(o->replication, 1, SHOAL_REPLICAS_MAX, &rep);
    if (shares(&rs, (unsigned)rep) != 0) {
        fprintf(stderr, "shoal ring: the ring cannot be built from the members\n");
        free(rs.r);
        return CLI_EXIT_FAIL;
    }
    size_t counts[4] = {0}, placed = 0;
    static const char *const states[] = {"alive", "suspect", "leaving", "dead"};
    if (json)
        printf("{\"epoch\": \"%016" PRIx64 "\", \"replication\": %" PRIu64 ", \"members\": [",
               epoch, rep);
    else
        printf("%-8s %-16s %-10s %-22s %6s %7s %8s\n", "STATE", "NAME", "ZONE", "ADDRESS", "WEIGHT",
               "OWNS", "W/REPL");
    for (size_t i = 0; i < rs.n; i++) {
        struct row *r = &rs.r[i];
        for (int k = 0; k < 4; k++)
            counts[k] += strcmp(r->state, states[k]) == 0;
        placed += r->m.placed != 0;
        if (json) {
            char hex[2 * SHOAL_ID_LEN + 1];
            hex_id(r->m.id, hex);
            printf("%s\n  {\"name\": ", i ? "," : "");
            cli_json_str(r->name);
            printf(", \"id\": \"%s\", \"addr\": ", hex);
            cli_json_str(r->addr);
            printf(", \"zone\": ");
            cli_json_str(r->zone);
            printf(", \"state\": \"%s\", \"weight\": %u, \"s3_port\": %u, \"admin_port\": %u, "
                   "\"placed\": %s, \"share_primary\": %.4f, \"share_replicas\": %.4f}",
                   r->state, r->m.weight, r->m.s3_port, r->m.admin_port,
                   r->m.placed ? "true" : "false", r->primary, r->replicas);
        } else {
            printf("%-8s %-16s %-10s %-22s %6u %6.1f%% %7.1f%%\n", r->state, r->name,
                   r->zone[0] ? r->zone : "-", r->addr, r->m.weight, 100 * r->primary,
                   100 * r->replicas);
        }
    }
    if (json)
        printf("%s]}\n", rs.n ? "\n" : "");
    else
        printf("cluster: %zu members (%zu alive, %zu suspect, %zu leaving, %zu dead); %zu placed, "
               "replication %" PRIu64 ", epoch %016" PRIx64 "; from the seeds (libshoal)\n",
               rs.n, counts[0], counts[1], counts[2], counts[3], placed, rep, epoch);
    free(rs.r);
    return CLI_EXIT_OK;
}
