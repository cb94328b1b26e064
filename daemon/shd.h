/* daemon/shd.h: the running node's shared context, seen by the gateway, the
 * fill path and (later) the peer server: configuration, store, mounts and
 * the event loops with their per-loop S3 clients.
 *
 * Ownership: serve.c creates and frees everything here. Fields are set
 * before the loops start and read-only afterwards, except where a comment
 * says otherwise. */
#ifndef SHOAL_DAEMON_SHD_H
#define SHOAL_DAEMON_SHD_H

#include "daemon/budget.h"
#include "daemon/config/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct event_base;
struct event;
struct store;
struct ufs;
struct meta_cache;
struct fill_table;
struct http_server;
struct peer_set;

#define SHD_LOOPS_MAX 16
#define SHD_PASSTHROUGH_BUCKETS_MAX 1024 /* buckets a "*" mount opens per loop */

struct shd_ctx;

/* One event loop thread. Its ufs handles serve only requests on this loop. */
struct shd_loop {
    struct shd_ctx *ctx;
    unsigned idx;
    struct event_base *base;
    struct event *stop_ev;
    pthread_t thread;
    int started;
    struct ufs **ufs; /* per mount; NULL for the pass-through mount */
    struct ufs *svc;  /* the "*" mount's service-level backend (buckets) */
    struct {
        char *bucket;
        int who; /* -1: the mount's credentials; else ctx->tb[who]'s */
        struct ufs *u;
    } * pt;                      /* the "*" mount's backends, opened per bucket on demand */
    struct ufs **tufs;           /* per ctx->tb: that mount's backend with the tenant's
                                  * identity; for "*" the service-level one (buckets) */
    _Atomic size_t npt;          /* entries of pt in use: published after the entry is
                                  * filled, so /metrics may read them from another thread */
    struct http_server *gateway; /* S3 gateway connections of this loop */
    struct event *fill_kick;     /* starts queued fills (fill.c) */
};

/* A tenant's own S3 identity for one mount (tenants[].backend). */
struct shd_tenant_backend {
    const struct shd_tenant *tenant;
    int mount;
    char *ak, *sk, *token;
};

struct shd_ctx {
    const struct shd_config *cfg;
    uint8_t node_id[16];
    uint64_t block_size;
    struct store *store;
    struct meta_cache *meta;
    struct fill_table *fills;
    struct shd_budget reqmem;             /* cache.request_memory; atomic, any thread */
    int star;                             /* the pass-through mount "*", or -1 */
    char *star_ak, *star_sk, *star_token; /* its credentials */
    struct shd_tenant_backend *tb;        /* every tenant's backend identities */
    size_t ntb;
    struct shd_loop loops[SHD_LOOPS_MAX];
    unsigned nloops;
    struct peer_set *peers; /* the peer protocol (daemon/cluster/peer.h); NULL before it starts */
    /* asks the main thread to drain the node (a DRAIN frame); any thread;
     * NULL: not offered */
    void (*drain)(void *arg);
    void *drain_arg;
};

/* The index of the mount that serves bucket `name`, or -1. */
int shd_mount_find(const struct shd_ctx *ctx, const char *name);

/* The "*" mount's backend for bucket on loop l (opened the first time), or
 * NULL when the loop already has SHD_PASSTHROUGH_BUCKETS_MAX open or the
 * open failed. Loop thread only. */
struct ufs *shd_bucket_ufs(struct shd_loop *l, const char *bucket);
/* The same with the identity of ctx->tb[who] (who -1: the mount's own). */
struct ufs *shd_bucket_ufs_as(struct shd_loop *l, const char *bucket, int who);
/* The index in ctx->tb of tenant t's identity for mount m, or -1. */
int shd_tenant_backend(const struct shd_ctx *ctx, const struct shd_tenant *t, int m);

#endif
