/* daemon/serve.c: serve mode. Sets up the node (identity, event loops, the
 * admin HTTP endpoint), runs until SIGTERM or SIGINT, then shuts down
 * cleanly.
 *
 * Threads: the main thread runs the admin endpoint and signal handling on
 * its own event base; one worker loop per core (up to SHD_LOOPS_MAX) runs
 * client connections. When every listener is bound, the bound addresses are
 * written to DATA_DIR/shoald.ports ("admin=HOST:PORT" lines), which is how
 * tests and scripts find a node started on port 0. */
#include "daemon/serve.h"

#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/node.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHD_LOOPS_MAX 16

struct shd_loop {
    struct shd_server *srv;
    unsigned idx;
    struct event_base *base;
    struct event *stop_ev;
    pthread_t thread;
    int started;
};

struct shd_server {
    const struct shd_config *cfg;
    uint8_t node_id[SHD_NODE_ID_LEN];
    char node_hex[2 * SHD_NODE_ID_LEN + 1];
    struct event_base *main_base;
    struct evhttp *admin;
    struct event *sig_term, *sig_int;
    struct shd_loop loops[SHD_LOOPS_MAX];
    unsigned nloops;
    int ready;
    char admin_addr[128];
};

static void loop_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct shd_loop *l = arg;
    (void)fd;
    (void)what;
    event_base_loopexit(l->base, NULL);
}

static void *loop_main(void *arg)
{
    struct shd_loop *l = arg;
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int loops_start(struct shd_server *srv)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    srv->nloops = ncpu < 1 ? 1 : ncpu > SHD_LOOPS_MAX ? SHD_LOOPS_MAX : (unsigned)ncpu;
    for (unsigned i = 0; i < srv->nloops; i++) {
        struct shd_loop *l = &srv->loops[i];
        l->srv = srv;
        l->idx = i;
        l->base = event_base_new();
        if (!l->base)
            return SHD_ERR_IO;
        l->stop_ev = event_new(l->base, -1, 0, loop_stop_cb, l);
        if (!l->stop_ev)
            return SHD_ERR_IO;
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
            return SHD_ERR_IO;
        l->started = 1;
    }
    return SHD_OK;
}

static void loops_stop(struct shd_server *srv)
{
    for (unsigned i = 0; i < srv->nloops; i++) {
        struct shd_loop *l = &srv->loops[i];
        if (l->started) {
            event_active(l->stop_ev, 0, 0);
            pthread_join(l->thread, NULL);
        }
        if (l->stop_ev)
            event_free(l->stop_ev);
        if (l->base)
            event_base_free(l->base);
        memset(l, 0, sizeof(*l));
    }
}

/* ---- admin HTTP ------------------------------------------------------- */

static void admin_reply(struct evhttp_request *req, int code, const char *ctype,
                        struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code,
                      code == 200   ? "OK"
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

    if (!path) {
        admin_text(req, 404, "not found\n");
    } else if (strcmp(path, "/healthz") == 0) {
        admin_text(req, 200, "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        admin_text(req, srv->ready ? 200 : 503, srv->ready ? "ready\n" : "starting\n");
    } else if (strcmp(path, "/metrics") == 0) {
        struct evbuffer *b = evbuffer_new();
        if (!b)
            shd_oom(sizeof(struct evbuffer *));
        shd_metrics_render(b);
        admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
        evbuffer_free(b);
    } else {
        admin_text(req, 404, "not found: try /healthz /readyz /metrics\n");
    }
    if (u)
        evhttp_uri_free(u);
}

static const char *addr_host(const struct shd_addr *a)
{
    return a->host && *a->host ? a->host : "0.0.0.0";
}

/* Formats the address a bound socket has, "host:port" or "[v6]:port". */
static void sock_name(evutil_socket_t fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
            port = ntohs(s6->sin6_port);
            snprintf(out, len, "[%s]:%u", host, port);
            return;
        }
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        port = ntohs(s4->sin_port);
    }
    snprintf(out, len, "%s:%u", host, port);
}

static int admin_start(struct shd_server *srv)
{
    const struct shd_addr *a = &srv->cfg->listen.admin;
    struct evhttp_bound_socket *bs;
    srv->admin = evhttp_new(srv->main_base);
    if (!srv->admin)
        return SHD_ERR_IO;
    evhttp_set_gencb(srv->admin, admin_cb, srv);
    evhttp_set_allowed_methods(srv->admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    bs = evhttp_bind_socket_with_handle(srv->admin, addr_host(a), a->port);
    if (!bs) {
        shd_error("admin",
                  "cannot listen addr=%s:%u err=\"%s\" what=\"free the port or change "
                  "listen.admin\"",
                  addr_host(a), a->port, strerror(errno));
        return SHD_ERR_IO;
    }
    sock_name(evhttp_bound_socket_get_fd(bs), srv->admin_addr, sizeof(srv->admin_addr));
    return SHD_OK;
}

/* Writes DATA_DIR/shoald.ports atomically. */
static int write_ports(struct shd_server *srv)
{
    char file[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f;
    snprintf(file, sizeof(file), "%s/shoald.ports", srv->cfg->node.data_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    f = fopen(tmp, "w");
    if (!f)
        return SHD_ERR_IO;
    fprintf(f, "node=%s\nadmin=%s\npid=%ld\n", srv->node_hex, srv->admin_addr, (long)getpid());
    if (fclose(f) != 0 || rename(tmp, file) != 0)
        return SHD_ERR_IO;
    return SHD_OK;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct shd_server *srv = arg;
    (void)what;
    shd_info("serve", "stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
    event_base_loopexit(srv->main_base, NULL);
}

int shd_serve(const struct shd_config *cfg)
{
    struct shd_server *srv = shd_xcalloc(1, sizeof(*srv));
    char ports[PATH_MAX];
    int err;

    srv->cfg = cfg;
    shd_log_set_level(cfg->node.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        shd_error("serve", "libevent threading is unavailable");
        err = SHD_ERR_IO;
        goto out;
    }
    err = shd_node_id_load(cfg->node.data_dir, srv->node_id);
    if (err)
        goto out;
    ring_id_hex(srv->node_id, srv->node_hex);
    srv->main_base = event_base_new();
    if (!srv->main_base) {
        err = SHD_ERR_IO;
        goto out;
    }
    srv->sig_term = evsignal_new(srv->main_base, SIGTERM, signal_cb, srv);
    srv->sig_int = evsignal_new(srv->main_base, SIGINT, signal_cb, srv);
    if (!srv->sig_term || !srv->sig_int || evsignal_add(srv->sig_term, NULL) ||
        evsignal_add(srv->sig_int, NULL)) {
        err = SHD_ERR_IO;
        goto out;
    }
    err = loops_start(srv);
    if (!err)
        err = admin_start(srv);
    if (!err)
        err = write_ports(srv);
    if (err)
        goto out;
    srv->ready = 1;
    snprintf(ports, sizeof(ports), "%s/shoald.ports", cfg->node.data_dir);
    shd_info("serve", "ready node=%s name=%s admin=%s loops=%u ports_file=%s", srv->node_hex,
             cfg->node.name, srv->admin_addr, srv->nloops, ports);
    event_base_dispatch(srv->main_base);
    srv->ready = 0;
out:
    if (err)
        shd_error("serve", "cannot start err=\"%s\"", shd_strerror(err));
    loops_stop(srv);
    if (srv->admin)
        evhttp_free(srv->admin);
    if (srv->sig_term)
        event_free(srv->sig_term);
    if (srv->sig_int)
        event_free(srv->sig_int);
    if (srv->main_base)
        event_base_free(srv->main_base);
    free(srv);
    if (!err)
        shd_info("serve", "stopped");
    return err;
}
