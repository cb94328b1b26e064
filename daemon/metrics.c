/* daemon/metrics.c: the counters, histograms and their Prometheus text. */
#include "daemon/metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <pthread.h>

struct shd_metrics shd_metrics;

/* bucket bounds in microseconds: 0.5 ms .. 10 s */
static const uint64_t hist_le_us[SHD_HIST_BUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

#define SOURCES_MAX 16
static struct {
    shd_metrics_source fn;
    void *arg;
} sources[SOURCES_MAX];
static size_t nsources;
static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;

void shd_hist_observe(struct shd_hist *h, uint64_t us)
{
    size_t i = 0;
    while (i < SHD_HIST_BUCKETS && us > hist_le_us[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

const char *shd_gw_op_name(enum shd_gw_op op)
{
    static const char *names[SHD_OP_COUNT] = {"get",  "head",      "put",    "delete",
                                              "list", "multipart", "bucket", "other"};
    return (unsigned)op < SHD_OP_COUNT ? names[op] : "other";
}

void shd_metrics_add_source(shd_metrics_source fn, void *arg)
{
    pthread_mutex_lock(&sources_lock);
    if (nsources < SOURCES_MAX) {
        sources[nsources].fn = fn;
        sources[nsources].arg = arg;
        nsources++;
    }
    pthread_mutex_unlock(&sources_lock);
}

void shd_metrics_clear_sources(void)
{
    pthread_mutex_lock(&sources_lock);
    nsources = 0;
    pthread_mutex_unlock(&sources_lock);
}

static uint64_t get(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void counter(struct evbuffer *o, const char *name, const char *help, uint64_t v)
{
    evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name,
                        name, v);
}

void shd_metrics_render(struct evbuffer *o)
{
    struct shd_metrics *m = &shd_metrics;
    counter(o, "shoal_cache_hits_total", "Block lookups served from the cache.", get(&m->hits));
    counter(o, "shoal_cache_misses_total", "Block lookups that needed a fill from S3.",
            get(&m->misses));
    counter(o, "shoal_bytes_served_from_cache_total",
            "Object bytes sent to clients from the cache.", get(&m->bytes_from_cache));
    counter(o, "shoal_bytes_served_from_s3_total",
            "Object bytes sent to clients that were fetched from S3 for them.",
            get(&m->bytes_from_s3));
    counter(o, "shoal_fills_total", "Block fills from S3 started.", get(&m->fills));
    counter(o, "shoal_fills_after_peers_total",
            "Block fills from S3 made because every owner asked failed or timed out.",
            get(&m->fills_after_peers));
    counter(o, "shoal_fills_from_holders_total",
            "Blocks a fill took from a node that held them (a previous owner or another "
            "replica, after a ring change) instead of from S3.",
            get(&m->fills_from_holders));
    counter(o, "shoal_hot_copies_total",
            "Blocks this node kept though it owns no copy: it fetched them from their owners "
            "8 times within about 10 s (a hot block gets copies beyond its owners).",
            get(&m->hot_copies));
    counter(o, "shoal_fills_deduplicated_total",
            "Readers that joined a fill already in flight instead of starting one.",
            get(&m->fills_deduplicated));
    counter(o, "shoal_metadata_cache_hits_total", "Object metadata served from the cache.",
            get(&m->meta_hits));
    counter(o, "shoal_metadata_cache_misses_total", "Object metadata fetched with HEAD.",
            get(&m->meta_misses));
    counter(o, "shoal_metadata_refreshes_total",
            "Object metadata renewed in the background before it expired (HEAD).",
            get(&m->meta_refreshes));
    evbuffer_add_printf(o, "# HELP shoal_gateway_requests_total S3 gateway requests by operation.\n"
                           "# TYPE shoal_gateway_requests_total counter\n");
    for (int op = 0; op < SHD_OP_COUNT; op++)
        evbuffer_add_printf(o, "shoal_gateway_requests_total{op=\"%s\"} %" PRIu64 "\n",
                            shd_gw_op_name(op), get(&m->requests[op]));
    evbuffer_add_printf(o,
                        "# HELP shoal_gateway_errors_total S3 gateway error responses.\n"
                        "# TYPE shoal_gateway_errors_total counter\n"
                        "shoal_gateway_errors_total{class=\"4xx\"} %" PRIu64 "\n"
                        "shoal_gateway_errors_total{class=\"5xx\"} %" PRIu64 "\n",
                        get(&m->responses_4xx), get(&m->responses_5xx));
    counter(o, "shoal_gateway_auth_failures_total", "Requests refused for bad credentials.",
            get(&m->auth_failures));
    counter(o, "shoal_gateway_connections_total", "Client connections accepted.",
            get(&m->connections));
    counter(o, "shoal_gateway_connections_moved_total",
            "Client connections handed by the loop that accepted them to a less loaded loop.",
            get(&m->connections_moved));
    evbuffer_add_printf(o,
                        "# HELP shoal_gateway_connections_open Client connections open now.\n"
                        "# TYPE shoal_gateway_connections_open gauge\n"
                        "shoal_gateway_connections_open %" PRIu64 "\n",
                        get(&m->connections_open));
    evbuffer_add_printf(o, "# HELP shoal_gateway_request_seconds S3 gateway request latency.\n"
                           "# TYPE shoal_gateway_request_seconds histogram\n");
    for (int op = 0; op < SHD_OP_COUNT; op++) {
        struct shd_hist *h = &m->latency[op];
        uint64_t cum = 0;
        for (int i = 0; i <= SHD_HIST_BUCKETS; i++) {
            cum += get(&h->bucket[i]);
            if (i < SHD_HIST_BUCKETS)
                evbuffer_add_printf(o,
                                    "shoal_gateway_request_seconds_bucket{op=\"%s\",le=\"%g\"} "
                                    "%" PRIu64 "\n",
                                    shd_gw_op_name(op), (double)hist_le_us[i] / 1e6, cum);
            else
                evbuffer_add_printf(o,
                                    "shoal_gateway_request_seconds_bucket{op=\"%s\",le=\"+Inf\"} "
                                    "%" PRIu64 "\n",
                                    shd_gw_op_name(op), cum);
        }
        evbuffer_add_printf(o, "shoal_gateway_request_seconds_sum{op=\"%s\"} %.6f\n",
                            shd_gw_op_name(op), (double)get(&h->sum_us) / 1e6);
        evbuffer_add_printf(o, "shoal_gateway_request_seconds_count{op=\"%s\"} %" PRIu64 "\n",
                            shd_gw_op_name(op), get(&h->count));
    }
    pthread_mutex_lock(&sources_lock);
    for (size_t i = 0; i < nsources; i++)
        sources[i].fn(o, sources[i].arg);
    pthread_mutex_unlock(&sources_lock);
}
