/* daemon/shd.h: the running node's shared context, seen by the gateway, the
 * fill path and (later) the peer server: configuration, store, mounts and
 * the event loops with their per-loop S3 clients.
 *
 * Ownership: serve.c creates and frees everything here. Fields are set
 * before the loops start and read-only afterwards, except where a comment
 * says otherwise. */
#ifndef SHOAL_DAEMON_SHD_H
#define SHOAL_DAEMON_SHD_H

#include "daemon/config.h"

#include <pthread.h>
#include <stdint.h>

struct event_base;
struct event;
struct store;
struct ufs;
struct meta_cache;
struct fill_table;
struct http_server;

#define SHD_LOOPS_MAX 16

struct shd_ctx;

/* One event loop thread. Its ufs handles serve only requests on this loop. */
struct shd_loop {
    struct shd_ctx *ctx;
    unsigned idx;
    struct event_base *base;
    struct event *stop_ev;
    pthread_t thread;
    int started;
    struct ufs **ufs;            /* per mount; NULL for pass-through mounts */
    struct http_server *gateway; /* S3 gateway connections of this loop */
    struct event *fill_kick;     /* starts queued fills (fill.c) */
};

struct shd_ctx {
    const struct shd_config *cfg;
    uint8_t node_id[16];
    uint64_t block_size;
    struct store *store;
    struct meta_cache *meta;
    struct fill_table *fills;
    struct shd_loop loops[SHD_LOOPS_MAX];
    unsigned nloops;
};

/* The index of the mount that serves bucket `name`, or -1. */
int shd_mount_find(const struct shd_ctx *ctx, const char *name);

#endif
