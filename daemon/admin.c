/* daemon/admin.c: the admin HTTP endpoint on listen.admin, served by the
 * main thread's loop: /healthz (the process is up), /readyz (every listener
 * is bound and the loops run), /metrics (Prometheus text format, from
 * every source added with shd_metrics_add_source), /v1/ring (the
 * cluster view as JSON, daemon/cluster/cluster_status.c), /v1/blocks
 * (where an object's blocks live: admin_blocks.c) and POST /v1/drain (the
 * node hands its blocks over and leaves: serve.c's shd_drain). */
#include "daemon/cluster/cluster.h"
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/serve_int.h"
#include "daemon/xalloc.h"

#include <errno.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

static void admin_reply(struct evhttp_request *req, int code, const char *ctype,
                        struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code,
                      code == 200   ? "OK"
                      : code == 400 ? "Bad Request"
                      : code == 404 ? "Not Found"
                                    : "Unavailable",
                      body);
}

static void admin_text(struct evhttp_request *req, int code, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(sizeof(struct evbuffer *));
    evbuffer_add(b, text, strlen(text));
    admin_reply(req, code, "text/plain; charset=utf-8", b);
    evbuffer_free(b);
}

static void admin_cb(struct evhttp_request *req, void *arg)
{
    struct shd_server *srv = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evhttp_uri *u = evhttp_uri_parse(uri);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;

    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    if (!path) {
        admin_text(req, 404, "not found\n");
    } else if (post != (strcmp(path, "/v1/drain") == 0)) {
        admin_text(req, 405,
                   post ? "only /v1/drain takes POST\n" : "POST /v1/drain starts a drain\n");
    } else if (strcmp(path, "/healthz") == 0) {
        admin_text(req, 200, "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        /* a node that has not joined yet would serve with a view of one: not
         * ready until it has, or SHD_JOIN_GRACE_S passed (the first node of a
         * cluster whose seeds are not up yet must become ready, or ordered
         * starts would wait on each other for ever) */
        int joined = !srv->cluster || cluster_joined(srv->cluster) ||
                     time(NULL) - srv->started >= SHD_JOIN_GRACE_S;
        int ok = srv->ready && joined;
        admin_text(req, ok ? 200 : 503, ok ? "ready\n" : srv->ready ? "joining\n" : "starting\n");
    } else if (strcmp(path, "/metrics") == 0) {
        struct evbuffer *b = evbuffer_new();
        if (!b)
            shd_oom(sizeof(struct evbuffer *));
        shd_metrics_render(b);
        admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
        evbuffer_free(b);
    } else if (strcmp(path, "/v1/ring") == 0 && srv->cluster) {
        struct evbuffer *b = evbuffer_new();
        if (!b)
            shd_oom(sizeof(struct evbuffer *));
        cluster_ring_json(srv->cluster, b);
        admin_reply(req, 200, "application/json", b);
        evbuffer_free(b);
    } else if (strcmp(path, "/v1/drain") == 0) {
        int already = shd_drain(srv, "admin");
        admin_text(req, 202, already ? "draining or stopping already\n" : "draining\n");
    } else if (strcmp(path, "/v1/blocks") == 0) {
        struct evbuffer *b = evbuffer_new();
        const char *why;
        if (!b)
            shd_oom(sizeof(struct evbuffer *));
        int st = shd_admin_blocks(srv, u, b, &why);
        if (st)
            admin_text(req, st, why);
        else
            admin_reply(req, 200, "application/json", b);
        evbuffer_free(b);
    } else {
        admin_text(
            req, 404,
            "not found: try /healthz /readyz /metrics /v1/ring /v1/blocks, POST /v1/drain\n");
    }
    if (u)
        evhttp_uri_free(u);
}

static const char *addr_host(const struct shd_addr *a)
{
    return a->host && *a->host ? a->host : "0.0.0.0";
}

int shd_admin_start(struct shd_server *srv)
{
    const struct shd_addr *a = &srv->cfg->listen.admin;
    struct evhttp_bound_socket *bs;
    srv->admin = evhttp_new(srv->main_base);
    if (!srv->admin)
        return SHD_ERR_IO;
    evhttp_set_gencb(srv->admin, admin_cb, srv);
    evhttp_set_allowed_methods(srv->admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    bs = evhttp_bind_socket_with_handle(srv->admin, addr_host(a), a->port);
    if (!bs) {
        shd_error("admin",
                  "cannot listen addr=%s:%u err=\"%s\" what=\"free the port or change "
                  "listen.admin\"",
                  addr_host(a), a->port, strerror(errno));
        return SHD_ERR_IO;
    }
    shd_sock_name(evhttp_bound_socket_get_fd(bs), srv->admin_addr, sizeof(srv->admin_addr));
    return SHD_OK;
}
