/* tests/bench/bench_evict.c: figures for the block store (run by
 * bench_evict.sh; prints numbers, passes or fails nothing).
 *
 *   bench_evict trace               hit ratios of S3-FIFO and LRU through the
 *                                   real store (memory tier, same capacity):
 *                                   Zipf traces and scan pollution
 *   bench_evict populate DIR N LEN [CAP]
 *                                   write N blocks of LEN bytes into disk DIR
 *                                   (of CAP blocks: evictions fill the ghost)
 *   bench_evict scan DIR POLICY [T] open a store on DIR (startup scan; T io
 *                                   threads) and print one line: blocks,
 *                                   scan time, RSS
 *
 * Blocks are small (64 bytes in the traces) because only their number and
 * the policy matter here; capacities are byte-weighted in the store. */
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

#include <event2/thread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLEN 64 /* trace block length */

static uint64_t rng_state = 42;

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rnd(void)
{
    rng_state = mix(rng_state);
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static void mk_id(uint64_t n, uint8_t id[STORE_ID_LEN])
{
    uint64_t a = mix(n), b = mix(n ^ 0x5bd1e995);
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Zipf ------------------------------------------------------------------------------ */

struct zipf {
    double *cdf;
    size_t n;
};

static void zipf_init(struct zipf *z, size_t n, double alpha)
{
    double sum = 0;
    z->cdf = malloc(n * sizeof(double));
    z->n = n;
    for (size_t k = 0; k < n; k++)
        z->cdf[k] = (sum += 1.0 / pow((double)(k + 1), alpha));
    for (size_t k = 0; k < n; k++)
        z->cdf[k] /= sum;
}

/* a rank in 0..n-1, rank 0 the most popular */
static size_t zipf_next(const struct zipf *z)
{
    double u = rnd();
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- one cache ---------------------------------------------------------------------------- */

/* access block n: a hit, or a miss that puts it (as a fill would) */
static int access_n(struct store *s, uint64_t n)
{
    uint8_t id[STORE_ID_LEN];
    struct store_block *b;
    mk_id(n, id);
    b = store_get(s, id);
    if (b) {
        store_block_unref(b);
        return 1;
    }
    b = store_block_new(id, BLEN);
    memset(store_block_data(b), (int)n, BLEN);
    store_put(s, b);
    store_block_unref(b);
    return 0;
}

static struct store *mem_store(uint64_t blocks, enum shd_eviction pol)
{
    struct store_conf c = {.mem_bytes = blocks * BLEN, .block_size = BLEN, .policy = pol};
    struct store *s = NULL;
    if (store_open(&c, &s) != 0) {
        fprintf(stderr, "bench_evict: store_open failed\n");
        exit(1);
    }
    return s;
}

static double zipf_run(double alpha, size_t nblocks, size_t reqs, double frac,
                       enum shd_eviction pol)
{
    struct zipf z;
    struct store *s = mem_store((uint64_t)((double)nblocks * frac), pol);
    size_t hits = 0;
    rng_state = 1234; /* the same trace for both policies */
    zipf_init(&z, nblocks, alpha);
    for (size_t i = 0; i < reqs; i++)
        hits += (size_t)access_n(s, zipf_next(&z));
    free(z.cdf);
    store_close(s);
    return (double)hits / (double)reqs;
}

/* Scan pollution: a hot set of HOT blocks (Zipf 0.8) in a cache of CACHE
 * blocks; warm up; then SCANS one-pass scans of 5 x CACHE new blocks, one
 * scan block after each hot request; then hot requests only. Hot hit ratios
 * during and after the scans. */
static void scan_run(size_t cache, size_t hot, int scans, enum shd_eviction pol, double *during,
                     double *after)
{
    struct zipf z;
    struct store *s = mem_store(cache, pol);
    size_t hits = 0, reqs = 0;
    uint64_t scan_next = 1000000000;
    rng_state = 99;
    zipf_init(&z, hot, 0.8);
    for (size_t i = 0; i < 40 * hot; i++)
        access_n(s, zipf_next(&z));
    for (int k = 0; k < scans; k++) {
        for (size_t i = 0; i < 5 * cache; i++) {
            hits += (size_t)access_n(s, zipf_next(&z));
            reqs++;
            access_n(s, scan_next++);
        }
    }
    *during = (double)hits / (double)reqs;
    hits = reqs = 0;
    for (size_t i = 0; i < 5 * hot; i++, reqs++)
        hits += (size_t)access_n(s, zipf_next(&z));
    *after = (double)hits / (double)reqs;
    free(z.cdf);
    store_close(s);
}

static void row(const char *name, double lru, double s3)
{
    printf("%-44s %8.4f %8.4f %12.3f\n", name, lru, s3, lru > 0 ? s3 / lru : 0.0);
}

static int cmd_trace(void)
{
    const size_t nblocks = 100000, reqs = 1000000;
    const double alphas[] = {0.8, 1.0}, fracs[] = {0.10, 0.01};
    char name[128];
    double t0 = now_s();

    printf("%-44s %8s %8s %12s\n", "hit ratio", "LRU", "S3-FIFO", "S3-FIFO/LRU");
    for (int a = 0; a < 2; a++) {
        for (int f = 0; f < 2; f++) {
            snprintf(name, sizeof(name), "zipf a=%.1f, 1M req, 100k blocks, cache %g%%", alphas[a],
                     fracs[f] * 100);
            row(name, zipf_run(alphas[a], nblocks, reqs, fracs[f], SHD_EVICT_LRU),
                zipf_run(alphas[a], nblocks, reqs, fracs[f], SHD_EVICT_S3FIFO));
        }
    }
    const size_t cache = 10000, hot[] = {5000, 8000};
    for (int h = 0; h < 2; h++) {
        double ld, la, sd, sa;
        scan_run(cache, hot[h], 2, SHD_EVICT_LRU, &ld, &la);
        scan_run(cache, hot[h], 2, SHD_EVICT_S3FIFO, &sd, &sa);
        snprintf(name, sizeof(name), "hot %zu%% of cache, during 5x-cache scans", hot[h] / 100);
        row(name, ld, sd);
        snprintf(name, sizeof(name), "hot %zu%% of cache, after the scans", hot[h] / 100);
        row(name, la, sa);
    }
    printf("(trace runs took %.1f s)\n", now_s() - t0);
    return 0;
}

/* ---- the disk tier: populate, then scan in a fresh process ---------------------------------- */

static long rss_kib(void);

/* cmd_populate: put N blocks of LEN bytes into DIR, a disk of CAP blocks
 * (0: room for all); prints the blocks on disk and the RSS at the end,
 * which with CAP < N includes a full S3-FIFO ghost queue. */
static int cmd_populate(const char *dir, size_t n, size_t len, size_t cap)
{
    struct store_disk_conf dc = {.path = dir, .bytes = (cap ? cap : n + 1000) * 4096};
    struct store_conf c = {.disks = &dc, .ndisks = 1, .block_size = 4096, .io_threads = 4};
    struct store *s = NULL;
    struct store_stats st;
    double t0 = now_s();
    if (store_open(&c, &s) != 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t id[STORE_ID_LEN];
        mk_id(i, id);
        struct store_block *b = store_block_new(id, len);
        memset(store_block_data(b), (int)i, len);
        for (;;) { /* back-pressure: the write queue is bounded */
            store_stats_get(s, &st);
            if (st.disk_writes_pending < 200)
                break;
            usleep(200);
        }
        store_put(s, b);
        store_block_unref(b);
    }
    store_flush(s);
    store_stats_get(s, &st);
    long rss = rss_kib();
    store_close(s);
    printf("populate blocks=%llu puts=%zu skipped=%llu s=%.1f rss_kib=%ld\n",
           (unsigned long long)st.blocks_disk, n, (unsigned long long)st.disk_writes_skipped,
           now_s() - t0, rss);
    return 0;
}

static long rss_kib(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int cmd_scan(const char *dir, const char *policy, unsigned threads)
{
    struct store_disk_conf dc = {.path = dir, .bytes = 1ull << 40};
    struct store_conf c = {.mem_bytes = 1 << 20,
                           .disks = &dc,
                           .ndisks = 1,
                           .block_size = 4096,
                           .io_threads = threads,
                           .policy = strcmp(policy, "lru") ? SHD_EVICT_S3FIFO : SHD_EVICT_LRU};
    struct store *s = NULL;
    struct store_stats st;
    long before = rss_kib();
    double t0 = now_s();
    if (store_open(&c, &s) != 0)
        return 1;
    double ms = (now_s() - t0) * 1000;
    long after = rss_kib();
    store_stats_get(s, &st);
    printf("scan policy=%s blocks=%llu ms=%.0f rss_kib=%ld index_bytes_per_block=%.0f\n", policy,
           (unsigned long long)st.blocks_disk, ms, after,
           st.blocks_disk ? (double)(after - before) * 1024 / (double)st.blocks_disk : 0.0);
    store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    evthread_use_pthreads();
    shd_log_set_level(SHD_LOG_WARN);
    if (argc == 2 && strcmp(argv[1], "trace") == 0)
        return cmd_trace();
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "populate") == 0)
        return cmd_populate(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
                            argc == 6 ? strtoul(argv[5], NULL, 10) : 0);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "scan") == 0)
        return cmd_scan(argv[2], argv[3], argc == 5 ? (unsigned)atoi(argv[4]) : 0);
    fprintf(
        stderr,
        "usage: bench_evict trace | populate DIR N LEN [CAP] | scan DIR s3fifo|lru [THREADS]\n");
    return 2;
}
