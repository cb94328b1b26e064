/* daemon/admin_metrics.c: the /metrics lines of the node's parts: the
 * store, the S3 clients (summed over loops), the metadata cache, the loops'
 * connections and the request memory budget. */
#include "daemon/budget.h"
#include "daemon/gateway/gw.h"
#include "daemon/store/meta.h"
#include "daemon/metrics.h"
#include "daemon/serve_int.h"
#include "daemon/store/store.h"
#include "ufs/ufs.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <string.h>

/* /metrics lines of the store and of the S3 clients (summed over loops).
 * The ufs counters are written by loop threads and read here without a
 * lock: aligned 64-bit loads, a figure at most a moment old. */
static void metrics_store(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    struct store_stats st;
    if (!ctx->store)
        return;
    store_stats_get(ctx->store, &st);
    evbuffer_add_printf(
        o,
        "# HELP shoal_store_bytes Bytes held per tier.\n# TYPE shoal_store_bytes gauge\n"
        "shoal_store_bytes{tier=\"memory\"} %llu\nshoal_store_bytes{tier=\"disk\"} %llu\n"
        "# HELP shoal_store_blocks Blocks held per tier.\n# TYPE shoal_store_blocks gauge\n"
        "shoal_store_blocks{tier=\"memory\"} %llu\nshoal_store_blocks{tier=\"disk\"} %llu\n"
        "# HELP shoal_store_evictions_total Blocks evicted per tier.\n"
        "# TYPE shoal_store_evictions_total counter\n"
        "shoal_store_evictions_total{tier=\"memory\"} %llu\n"
        "shoal_store_evictions_total{tier=\"disk\"} %llu\n"
        "# HELP shoal_store_checksum_failures_total Disk blocks found corrupt (dropped, "
        "refetched).\n# TYPE shoal_store_checksum_failures_total counter\n"
        "shoal_store_checksum_failures_total %llu\n"
        "# HELP shoal_store_disk_writes_skipped_total Blocks not written to disk (queue full "
        "or disk paused).\n# TYPE shoal_store_disk_writes_skipped_total counter\n"
        "shoal_store_disk_writes_skipped_total %llu\n"
        "# HELP shoal_store_disk_errors_total Disk write and read errors.\n"
        "# TYPE shoal_store_disk_errors_total counter\nshoal_store_disk_errors_total %llu\n",
        (unsigned long long)st.bytes_mem, (unsigned long long)st.bytes_disk,
        (unsigned long long)st.blocks_mem, (unsigned long long)st.blocks_disk,
        (unsigned long long)st.evictions_mem, (unsigned long long)st.evictions_disk,
        (unsigned long long)st.checksum_failures, (unsigned long long)st.disk_writes_skipped,
        (unsigned long long)st.disk_errors);
}

static void metrics_loops(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    evbuffer_add_printf(o, "# HELP shoal_gateway_loop_connections Client connections open per "
                           "event loop.\n# TYPE shoal_gateway_loop_connections gauge\n");
    for (unsigned i = 0; i < ctx->nloops; i++)
        if (ctx->loops[i].gateway)
            evbuffer_add_printf(o, "shoal_gateway_loop_connections{loop=\"%u\"} %zu\n", i,
                                http_server_connections(ctx->loops[i].gateway));
}

static void metrics_meta(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    uint64_t bytes, entries;
    if (!ctx->meta)
        return;
    meta_cache_usage(ctx->meta, &bytes, &entries);
    evbuffer_add_printf(o,
                        "# HELP shoal_metadata_cache_bytes Memory of the object metadata cache "
                        "(cache.metadata_memory).\n# TYPE shoal_metadata_cache_bytes gauge\n"
                        "shoal_metadata_cache_bytes %llu\n"
                        "# HELP shoal_metadata_cache_entries Objects in the metadata cache.\n"
                        "# TYPE shoal_metadata_cache_entries gauge\n"
                        "shoal_metadata_cache_entries %llu\n",
                        (unsigned long long)bytes, (unsigned long long)entries);
}

static void metrics_reqmem(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    struct shd_budget *b = &ctx->reqmem;
    evbuffer_add_printf(o,
                        "# HELP shoal_request_memory_limit_bytes The request memory budget "
                        "(cache.request_memory).\n# TYPE shoal_request_memory_limit_bytes gauge\n"
                        "shoal_request_memory_limit_bytes %llu\n"
                        "# HELP shoal_request_memory_bytes Request memory held, by use.\n"
                        "# TYPE shoal_request_memory_bytes gauge\n",
                        (unsigned long long)b->limit);
    for (int i = 0; i < SHD_MEM_USES; i++)
        evbuffer_add_printf(o, "shoal_request_memory_bytes{use=\"%s\"} %llu\n",
                            shd_mem_use_name((enum shd_mem_use)i),
                            (unsigned long long)atomic_load(&b->held[i]));
    evbuffer_add_printf(o, "# HELP shoal_request_memory_refused_total Requests for request "
                           "memory refused (503 SlowDown, a fill waiting, or an upload not "
                           "cached on write).\n# TYPE shoal_request_memory_refused_total "
                           "counter\n");
    for (int i = 0; i < SHD_MEM_USES; i++)
        evbuffer_add_printf(o, "shoal_request_memory_refused_total{use=\"%s\"} %llu\n",
                            shd_mem_use_name((enum shd_mem_use)i),
                            (unsigned long long)atomic_load(&b->refused[i]));
    size_t uploads, parts;
    gw_mpu_stage_usage(&uploads, &parts);
    evbuffer_add_printf(o,
                        "# HELP shoal_gateway_multipart_staged_uploads Multipart uploads whose "
                        "parts are kept to cache the object at Complete.\n"
                        "# TYPE shoal_gateway_multipart_staged_uploads gauge\n"
                        "shoal_gateway_multipart_staged_uploads %zu\n"
                        "# HELP shoal_gateway_multipart_staged_parts Parts kept for them.\n"
                        "# TYPE shoal_gateway_multipart_staged_parts gauge\n"
                        "shoal_gateway_multipart_staged_parts %zu\n",
                        uploads, parts);
}

static void counters_add(struct ufs_counters *sum, const struct ufs_counters *one)
{
    for (int k = 0; k < UFS_K_COUNT; k++)
        sum->requests[k] += one->requests[k];
    sum->retries += one->retries;
    sum->errors += one->errors;
    sum->bytes_in += one->bytes_in;
    sum->bytes_out += one->bytes_out;
}

static void metrics_ufs(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    static const char *kinds[UFS_K_COUNT] = {"head", "get",       "put",   "delete",
                                             "list", "multipart", "bucket"};
    struct ufs_counters sum, one;
    memset(&sum, 0, sizeof(sum));
    for (unsigned i = 0; i < ctx->nloops; i++)
        for (size_t m = 0; ctx->loops[i].ufs && m < ctx->cfg->n_mounts; m++) {
            if (!ctx->loops[i].ufs[m])
                continue;
            ufs_counters_get(ctx->loops[i].ufs[m], &one);
            counters_add(&sum, &one);
        }
    for (unsigned i = 0; i < ctx->nloops; i++) { /* the pass-through mount's backends */
        size_t npt = atomic_load_explicit(&ctx->loops[i].npt, memory_order_acquire);
        for (size_t b = 0; b < npt; b++) {
            ufs_counters_get(ctx->loops[i].pt[b].u, &one);
            counters_add(&sum, &one);
        }
        if (ctx->loops[i].svc) {
            ufs_counters_get(ctx->loops[i].svc, &one);
            counters_add(&sum, &one);
        }
    }
    evbuffer_add_printf(o, "# HELP shoal_s3_requests_total Requests to S3 (and other UFS) by "
                           "kind.\n# TYPE shoal_s3_requests_total counter\n");
    for (int k = 0; k < UFS_K_COUNT; k++)
        evbuffer_add_printf(o, "shoal_s3_requests_total{kind=\"%s\"} %llu\n", kinds[k],
                            (unsigned long long)sum.requests[k]);
    evbuffer_add_printf(o,
                        "# HELP shoal_s3_retries_total Requests to S3 retried.\n"
                        "# TYPE shoal_s3_retries_total counter\nshoal_s3_retries_total %llu\n"
                        "# HELP shoal_s3_errors_total Requests to S3 that failed.\n"
                        "# TYPE shoal_s3_errors_total counter\nshoal_s3_errors_total %llu\n"
                        "# HELP shoal_s3_bytes_in_total Bytes read from S3.\n"
                        "# TYPE shoal_s3_bytes_in_total counter\nshoal_s3_bytes_in_total %llu\n"
                        "# HELP shoal_s3_bytes_out_total Bytes written to S3.\n"
                        "# TYPE shoal_s3_bytes_out_total counter\nshoal_s3_bytes_out_total %llu\n",
                        (unsigned long long)sum.retries, (unsigned long long)sum.errors,
                        (unsigned long long)sum.bytes_in, (unsigned long long)sum.bytes_out);
}

void shd_admin_metrics_add(struct shd_ctx *ctx)
{
    shd_metrics_add_source(metrics_store, ctx);
    shd_metrics_add_source(metrics_ufs, ctx);
    shd_metrics_add_source(metrics_meta, ctx);
    shd_metrics_add_source(metrics_loops, ctx);
    shd_metrics_add_source(metrics_reqmem, ctx);
}
