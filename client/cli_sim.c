/* client/cli_sim.c: `shoal ring simulate`, placement figures for a
 * hypothetical cluster, computed with the same public placement API the
 * nodes and clients use.
 *
 * For B pseudo-random block ids (deterministic for a seed) it reports how
 * evenly the ring spreads blocks (peak-to-mean and min-to-mean, primary and
 * with replicas, each member's count compared with its weight's share), how
 * many blocks move when one member leaves and when one joins (and that
 * fraction over the ideal, the leaver's or joiner's share), whether any block
 * moved between two members that both stayed (it must not), replica sets
 * that miss zone spread, the build time and the time per lookup. */
#include "client/cli.h"
#include "client/shoal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_WEIGHTS_MAX 1024
#define SIM_TIMING_KEYS (1u << 20)
#define SIM_REPLICA_BLOCKS_MAX 10000000ULL

static const char sim_usage[] =
    "usage: shoal ring simulate --nodes N [--weights W,...] [--zones Z] [--replicas R]\n"
    "                           [--blocks B] [--seed S] [--json]\n"
    "       shoal ring simulate --gossip ...   (membership: see --gossip --help)\n"
    "\n"
    "Builds the ring for N hypothetical members and reports, for B pseudo-random\n"
    "block ids: peak-to-mean and min-to-mean blocks owned (primary, and with R\n"
    "replicas over at most 10,000,000 blocks), the fraction of blocks that move\n"
    "when one member leaves and when one joins (and over the ideal), blocks that\n"
    "moved between members that stayed, replica sets that miss zone spread, the\n"
    "build time and ns per owner lookup.\n"
    "\n"
    "  --nodes N        members, 1..65536 (required)\n"
    "  --weights W,...  member weights 1..256, repeated over the members (default 1)\n"
    "  --zones Z        members are spread round-robin over Z zones (default 1)\n"
    "  --replicas R     replicas per block, 1..16 (default 1)\n"
    "  --blocks B       block ids to place (default 100000 x N: sampling noise ~1%)\n"
    "  --seed S         seed for member and block ids (default 1)\n"
    "  --json           one JSON object with peak_to_mean, moved_leave_ratio,\n"
    "                   moved_join_ratio, lookup_ns, build_ms, zone_violations, ...\n";

struct sim {
    uint64_t nodes, zones, replicas, blocks, seed;
    uint32_t weights[SIM_WEIGHTS_MAX];
    size_t nweights;
};

struct sim_result {
    double peak, min, peak_rep, min_rep;
    double moved_leave, ideal_leave, moved_join, ideal_join;
    uint64_t stayed_moved, zone_violations, replica_blocks;
    double lookup_ns, lookup_rep_ns, build_ms;
    uint64_t epoch;
};

/* splitmix64: the ids and keys of the simulation, reproducible per seed. */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static void make_id(uint64_t seed, uint64_t domain, uint64_t i, uint8_t out[SHOAL_ID_LEN])
{
    uint64_t a = mix(seed ^ mix(domain ^ mix(2 * i))), b = mix(seed ^ mix(domain ^ mix(2 * i + 1)));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_weights(const char *s, struct sim *sim)
{
    char buf[4096], *save = NULL, *tok;
    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    sim->nweights = 0;
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        uint64_t w;
        if (sim->nweights == SIM_WEIGHTS_MAX || cli_parse_u64(tok, 1, SHOAL_WEIGHT_MAX, &w))
            return -1;
        sim->weights[sim->nweights++] = (uint32_t)w;
    }
    return sim->nweights ? 0 : -1;
}

static uint32_t weight_of(const struct sim *s, uint64_t i)
{
    return s->weights[i % s->nweights];
}

static void zone_of(const struct sim *s, uint64_t i, char out[SHOAL_ZONE_MAX])
{
    snprintf(out, SHOAL_ZONE_MAX, "zone-%" PRIu64, i % s->zones);
}

/* Builds a view of members [0, n) minus `skip` (or none when skip >= n). */
static int build_view(const struct sim *s, uint64_t n, uint64_t skip, shoal_ring **out)
{
    shoal_ring *r;
    int err = shoal_ring_new(&r);
    if (err)
        return err;
    for (uint64_t i = 0; i < n && !err; i++) {
        uint8_t id[SHOAL_ID_LEN];
        char zone[SHOAL_ZONE_MAX];
        if (i == skip)
            continue;
        make_id(s->seed, 1, i, id);
        zone_of(s, i, zone);
        err = shoal_ring_add(r, id, weight_of(s, i), zone);
    }
    if (!err)
        err = shoal_ring_build(r);
    if (err) {
        shoal_ring_free(r);
        return err;
    }
    *out = r;
    return 0;
}

/* Maps the member indexes of ring `from` to simulation member numbers. */
static int map_members(const struct sim *s, const shoal_ring *from, uint64_t nall, uint32_t *map)
{
    /* simulation members sorted by id would need a sort; nall is small
     * (<= 65537), so a hash-free linear merge over sorted ids is enough */
    size_t n = shoal_ring_size(from);
    for (size_t i = 0; i < n; i++) {
        uint8_t id[SHOAL_ID_LEN], cand[SHOAL_ID_LEN];
        if (shoal_ring_member(from, i, id, NULL, NULL))
            return -1;
        map[i] = UINT32_MAX;
        for (uint64_t j = 0; j < nall; j++) {
            make_id(s->seed, 1, j, cand);
            if (memcmp(id, cand, SHOAL_ID_LEN) == 0) {
                map[i] = (uint32_t)j;
                break;
            }
        }
        if (map[i] == UINT32_MAX)
            return -1;
    }
    return 0;
}

static void progress(const char *what, uint64_t done, uint64_t total)
{
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%s: %3.0f%%", what, 100.0 * (double)done / (double)total);
}

static void progress_end(void)
{
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
}

static int simulate(const struct sim *s, struct sim_result *res)
{
    shoal_ring *base = NULL, *left = NULL, *joined = NULL;
    uint32_t *map_base = NULL, *map_left = NULL, *map_join = NULL;
    uint64_t *count = NULL, *count_rep = NULL;
    uint8_t *keys = NULL;
    double times[7], wsum = 0;
    uint64_t n = s->nodes, leaver = mix(s->seed ^ 0x1eaeULL) % n, moved_l = 0, moved_j = 0;
    int err = 0;

    memset(res, 0, sizeof(*res));
    for (int t = 0; t < 7; t++) {
        double t0 = now_s();
        err = build_view(s, n, UINT64_MAX, &base);
        times[t] = (now_s() - t0) * 1e3;
        if (err)
            goto out;
        if (t < 6) {
            shoal_ring_free(base);
            base = NULL;
        }
    }
    res->build_ms = median(times, 7);
    res->epoch = shoal_ring_epoch(base);
    err = build_view(s, n, leaver, &left);
    if (!err)
        err = build_view(s, n + 1, UINT64_MAX, &joined);
    if (err)
        goto out;
    map_base = malloc(n * sizeof(*map_base));
    map_left = malloc(n * sizeof(*map_left));
    map_join = malloc((n + 1) * sizeof(*map_join));
    count = calloc(n, sizeof(*count));
    count_rep = calloc(n, sizeof(*count_rep));
    keys = malloc((size_t)SIM_TIMING_KEYS * SHOAL_ID_LEN);
    if (!map_base || !map_left || !map_join || !count || !count_rep || !keys) {
        err = SHOAL_ENOMEM;
        goto out;
    }
    if (map_members(s, base, n, map_base) || map_members(s, left, n, map_left) ||
        map_members(s, joined, n + 1, map_join)) {
        err = SHOAL_EINVAL;
        goto out;
    }

    /* primary placement, and movement on one leave and one join */
    for (uint64_t b = 0; b < s->blocks; b++) {
        uint8_t key[SHOAL_ID_LEN];
        make_id(s->seed, 2, b, key);
        uint32_t o = map_base[shoal_ring_owner(base, key)];
        uint32_t ol = map_left[shoal_ring_owner(left, key)];
        uint32_t oj = map_join[shoal_ring_owner(joined, key)];
        count[o]++;
        if (ol != o) {
            moved_l++;
            res->stayed_moved += o != leaver;
        }
        if (oj != o) {
            moved_j++;
            res->stayed_moved += oj != n;
        }
        if ((b & 0xFFFFF) == 0)
            progress("placing blocks", b, s->blocks);
    }
    for (uint64_t i = 0; i < n; i++)
        wsum += weight_of(s, i);
    res->peak = 0;
    res->min = 1e300;
    for (uint64_t i = 0; i < n; i++) {
        double share = (double)count[i] / ((double)s->blocks * weight_of(s, i) / wsum);
        res->peak = share > res->peak ? share : res->peak;
        res->min = share < res->min ? share : res->min;
    }
    res->moved_leave = (double)moved_l / (double)s->blocks;
    res->ideal_leave = weight_of(s, leaver) / wsum;
    res->moved_join = (double)moved_j / (double)s->blocks;
    res->ideal_join = weight_of(s, n) / (wsum + weight_of(s, n));

    /* replicas and zone spread */
    res->replica_blocks = s->blocks < SIM_REPLICA_BLOCKS_MAX ? s->blocks : SIM_REPLICA_BLOCKS_MAX;
    uint64_t want_zones = s->replicas < s->zones ? s->replicas : s->zones;
    if (want_zones > n)
        want_zones = n;
    for (uint64_t b = 0; b < res->replica_blocks; b++) {
        uint8_t key[SHOAL_ID_LEN];
        uint32_t own[SHOAL_REPLICAS_MAX];
        uint64_t zones_seen[SHOAL_REPLICAS_MAX];
        size_t nz = 0;
        make_id(s->seed, 2, b, key);
        size_t got = shoal_ring_owners(base, key, s->replicas, own);
        for (size_t k = 0; k < got; k++) {
            uint64_t m = map_base[own[k]], z = m % s->zones;
            size_t q;
            count_rep[m]++;
            for (q = 0; q < nz && zones_seen[q] != z; q++)
                ;
            if (q == nz)
                zones_seen[nz++] = z;
        }
        if (nz < want_zones)
            res->zone_violations++;
        if ((b & 0xFFFFF) == 0)
            progress("placing replicas", b, res->replica_blocks);
    }
    progress_end();
    uint64_t per = s->replicas < n ? s->replicas : n;
    res->peak_rep = 0;
    res->min_rep = 1e300;
    for (uint64_t i = 0; i < n; i++) {
        double share = (double)count_rep[i] /
                       ((double)res->replica_blocks * (double)per * weight_of(s, i) / wsum);
        res->peak_rep = share > res->peak_rep ? share : res->peak_rep;
        res->min_rep = share < res->min_rep ? share : res->min_rep;
    }

    /* lookup time: keys precomputed, so only hashing and placement count */
    for (uint32_t i = 0; i < SIM_TIMING_KEYS; i++)
        make_id(s->seed, 3, i, keys + (size_t)i * SHOAL_ID_LEN);
    volatile uint64_t sink = 0;
    for (int t = 0; t < 7; t++) {
        double t0 = now_s();
        for (uint32_t i = 0; i < SIM_TIMING_KEYS; i++)
            sink += (uint64_t)shoal_ring_owner(base, keys + (size_t)i * SHOAL_ID_LEN);
        times[t] = (now_s() - t0) * 1e9 / SIM_TIMING_KEYS;
    }
    res->lookup_ns = median(times, 7);
    for (int t = 0; t < 7; t++) {
        uint32_t own[SHOAL_REPLICAS_MAX];
        uint32_t nk = SIM_TIMING_KEYS / 8;
        double t0 = now_s();
        for (uint32_t i = 0; i < nk; i++)
            sink += shoal_ring_owners(base, keys + (size_t)i * SHOAL_ID_LEN, s->replicas, own);
        times[t] = (now_s() - t0) * 1e9 / nk;
    }
    res->lookup_rep_ns = median(times, 7);
    (void)sink;
out:
    shoal_ring_free(base);
    shoal_ring_free(left);
    shoal_ring_free(joined);
    free(map_base);
    free(map_left);
    free(map_join);
    free(count);
    free(count_rep);
    free(keys);
    return err;
}

static void print_result(const struct sim *s, const struct sim_result *r, int json)
{
    if (json) {
        printf(
            "{\"nodes\":%" PRIu64 ",\"zones\":%" PRIu64 ",\"replicas\":%" PRIu64
            ",\"blocks\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"epoch\":\"%016" PRIx64 "\","
            "\"peak_to_mean\":%.4f,\"min_to_mean\":%.4f,"
            "\"peak_to_mean_replicas\":%.4f,\"min_to_mean_replicas\":%.4f,"
            "\"replica_blocks\":%" PRIu64 ","
            "\"moved_leave_fraction\":%.6f,\"moved_leave_ideal\":%.6f,\"moved_leave_ratio\":%.4f,"
            "\"moved_join_fraction\":%.6f,\"moved_join_ideal\":%.6f,\"moved_join_ratio\":%.4f,"
            "\"moved_between_stayed\":%" PRIu64 ",\"zone_violations\":%" PRIu64 ","
            "\"lookup_ns\":%.1f,\"lookup_replicas_ns\":%.1f,\"build_ms\":%.3f}\n",
            s->nodes, s->zones, s->replicas, s->blocks, s->seed, r->epoch, r->peak, r->min,
            r->peak_rep, r->min_rep, r->replica_blocks, r->moved_leave, r->ideal_leave,
            r->moved_leave / r->ideal_leave, r->moved_join, r->ideal_join,
            r->moved_join / r->ideal_join, r->stayed_moved, r->zone_violations, r->lookup_ns,
            r->lookup_rep_ns, r->build_ms);
        return;
    }
    printf("ring simulate: %" PRIu64 " members, %" PRIu64 " zones, R=%" PRIu64 ", %" PRIu64
           " blocks, seed %" PRIu64 ", epoch %016" PRIx64 "\n",
           s->nodes, s->zones, s->replicas, s->blocks, s->seed, r->epoch);
    printf("  balance (blocks owned / weight's share)\n");
    printf("    primary         peak-to-mean %.4f   min-to-mean %.4f\n", r->peak, r->min);
    printf("    with replicas   peak-to-mean %.4f   min-to-mean %.4f   (%" PRIu64 " blocks)\n",
           r->peak_rep, r->min_rep, r->replica_blocks);
    printf("  movement\n");
    printf("    one leaves      %.4f%% of blocks, ideal %.4f%%, ratio %.3f\n", 100 * r->moved_leave,
           100 * r->ideal_leave, r->moved_leave / r->ideal_leave);
    printf("    one joins       %.4f%% of blocks, ideal %.4f%%, ratio %.3f\n", 100 * r->moved_join,
           100 * r->ideal_join, r->moved_join / r->ideal_join);
    printf("    between members that stayed: %" PRIu64 "\n", r->stayed_moved);
    printf("  zone spread violations: %" PRIu64 "\n", r->zone_violations);
    printf("  build %.3f ms, lookup %.1f ns (owner), %.1f ns (R=%" PRIu64 " owners)\n", r->build_ms,
           r->lookup_ns, r->lookup_rep_ns, s->replicas);
}

int cli_ring_simulate(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"nodes", required_argument, NULL, 'n'},
        {"weights", required_argument, NULL, 'w'},
        {"zones", required_argument, NULL, 'z'},
        {"replicas", required_argument, NULL, 'r'},
        {"blocks", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "ring simulate";
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--gossip") == 0)
            return cli_gossip_simulate(o, argc, argv);
    struct sim s = {.zones = 1, .replicas = 1, .seed = 1, .nweights = 1};
    struct sim_result res;
    int json = o->json, c, have_blocks = 0, err;

    s.weights[0] = 1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_u64(optarg, 1, 65536, &s.nodes))
                return cli_usage_error(cmd, "--nodes must be 1..65536, not '%s'", optarg);
            break;
        case 'w':
            if (parse_weights(optarg, &s))
                return cli_usage_error(cmd,
                                       "--weights must be integers 1..256 separated by "
                                       "commas, not '%s'",
                                       optarg);
            break;
        case 'z':
            if (cli_parse_u64(optarg, 1, 65536, &s.zones))
                return cli_usage_error(cmd, "--zones must be 1..65536, not '%s'", optarg);
            break;
        case 'r':
            if (cli_parse_u64(optarg, 1, SHOAL_REPLICAS_MAX, &s.replicas))
                return cli_usage_error(cmd, "--replicas must be 1..16, not '%s'", optarg);
            break;
        case 'b':
            if (cli_parse_u64(optarg, 1, 10000000000ULL, &s.blocks))
                return cli_usage_error(cmd, "--blocks must be 1..10000000000, not '%s'", optarg);
            have_blocks = 1;
            break;
        case 's':
            if (cli_parse_u64(optarg, 0, UINT64_MAX, &s.seed))
                return cli_usage_error(cmd, "--seed must be a non-negative integer, not '%s'",
                                       optarg);
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(sim_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (s.nodes == 0)
        return cli_usage_error(cmd, "--nodes is required");
    if (!have_blocks)
        s.blocks = 100000 * s.nodes;
    if (s.nodes * 4 * 256 > (1u << 20)) {
        uint64_t pts = 0;
        for (uint64_t i = 0; i <= s.nodes; i++)
            pts += 4 * weight_of(&s, i);
        if (pts > (1u << 20))
            return cli_usage_error(cmd, "too many ring points (members x weights x 4 > 1048576)");
    }
    err = simulate(&s, &res);
    if (err) {
        fprintf(stderr, "shoal ring simulate: %s\n", shoal_strerror(err));
        return CLI_EXIT_FAIL;
    }
    print_result(&s, &res, json);
    return CLI_EXIT_OK;
}
