/* daemon/metrics.h: shoald's counters and histograms, rendered in the
 * Prometheus text format at /metrics.
 *
 * One global, process-wide set: subsystems bump them with relaxed atomics
 * from any thread. Latency histograms have fixed buckets in seconds. */
#ifndef SHOAL_DAEMON_METRICS_H
#define SHOAL_DAEMON_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

struct evbuffer;

#define SHD_HIST_BUCKETS 14

struct shd_hist {
    _Atomic uint64_t bucket[SHD_HIST_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
};

enum shd_gw_op {
    SHD_OP_GET,
    SHD_OP_HEAD,
    SHD_OP_PUT,
    SHD_OP_DELETE,
    SHD_OP_LIST,
    SHD_OP_MPU,
    SHD_OP_BUCKET,
    SHD_OP_OTHER,
    SHD_OP_COUNT
};

struct shd_metrics {
    /* cache */
    _Atomic uint64_t hits, misses;                    /* block lookups by the fill path */
    _Atomic uint64_t bytes_from_cache, bytes_from_s3; /* bytes served to clients */
    _Atomic uint64_t fills, fills_deduplicated;       /* S3 block fills started; joined waiters */
    _Atomic uint64_t fills_after_peers;               /* S3 fills after every owner failed */
    _Atomic uint64_t fills_from_holders;              /* blocks a fill took from a holder */
    _Atomic uint64_t hot_copies;                      /* hot blocks kept by a non-owner */
    _Atomic uint64_t meta_hits, meta_misses;          /* object metadata cache */
    _Atomic uint64_t meta_refreshes;                  /* background renewals of it */
    /* gateway */
    _Atomic uint64_t requests[SHD_OP_COUNT];
    _Atomic uint64_t responses_4xx, responses_5xx;
    _Atomic uint64_t auth_failures;
    _Atomic uint64_t connections, connections_open;
    _Atomic uint64_t connections_moved; /* handed to a less loaded loop */
    struct shd_hist latency[SHD_OP_COUNT];
};

extern struct shd_metrics shd_metrics;

#define SHD_METRIC_ADD(field, n)                                                                   \
    atomic_fetch_add_explicit(&shd_metrics.field, (n), memory_order_relaxed)
#define SHD_METRIC_INC(field) SHD_METRIC_ADD(field, 1)

/* Records one observation of `us` microseconds. */
void shd_hist_observe(struct shd_hist *h, uint64_t us);

const char *shd_gw_op_name(enum shd_gw_op op);

/* Sources of gauges and counters owned by other subsystems (the store, the
 * ufs backends) that /metrics also renders: each appends its own lines. */
typedef void (*shd_metrics_source)(struct evbuffer *out, void *arg);
void shd_metrics_add_source(shd_metrics_source fn, void *arg);
void shd_metrics_clear_sources(void);

/* Appends the whole Prometheus text exposition to out. */
void shd_metrics_render(struct evbuffer *out);

#endif
