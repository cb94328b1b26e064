/* daemon/serve_int.h: what serve.c shares with the admin endpoint
 * (admin.c, admin_metrics.c): the running server. Not for other modules. */
#ifndef SHOAL_DAEMON_SERVE_INT_H
#define SHOAL_DAEMON_SERVE_INT_H

#include "daemon/config/config.h"
#include "daemon/http/http.h"
#include "daemon/node.h"
#include "daemon/shd.h"

#include <event2/event.h>
#include <event2/http.h>
#include <time.h>

#define SHD_JOIN_GRACE_S 10 /* /readyz waits this long for the join at most */

struct shd_server {
    const struct shd_config *cfg;
    struct shd_ctx ctx;
    char node_hex[2 * SHD_NODE_ID_LEN + 1];
    struct event_base *main_base;
    struct evhttp *admin;
    struct event *sig_term, *sig_int;
    struct event *tick; /* housekeeping, once a second */
    evutil_socket_t s3_fds[SHD_LOOPS_MAX];
    struct http_server *s3_servers[SHD_LOOPS_MAX]; /* the balancing group */
    struct cluster *cluster;
    struct shd_spot *spot; /* cluster.spot_notice_url's watcher, or NULL */
    int ready, stopping;
    time_t started; /* wall clock, for /readyz's join grace */
    char admin_addr[128], s3_addr[128];
};

/* shd_drain: the node leaves the cluster after handing its blocks over
 * (peer_drain, within cluster.drain_timeout), then stops: 0, or 1 when it
 * is draining or stopping already. WHY is logged. Main thread. */
int shd_drain(struct shd_server *srv, const char *why);

/* shd_sock_name: formats the address a bound socket has, "host:port" or
 * "[v6]:port", into OUT. */
void shd_sock_name(evutil_socket_t fd, char *out, size_t len);

/* shd_admin_start: binds listen.admin on SRV's main loop (/healthz, /readyz,
 * /metrics) and notes the bound address in srv->admin_addr. */
int shd_admin_start(struct shd_server *srv);

/* shd_admin_metrics_add: adds the /metrics renderers of CTX's store, S3
 * clients, metadata cache, loops and request memory. */
void shd_admin_metrics_add(struct shd_ctx *ctx);
/* shd_admin_blocks: /v1/blocks (admin_blocks.c) for the parsed URI U: 0 and
 * the JSON in B, or the HTTP status to answer with *WHY. */
struct evhttp_uri;
int shd_admin_blocks(struct shd_server *srv, const struct evhttp_uri *u, struct evbuffer *b,
                     const char **why);

#endif
