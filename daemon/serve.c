/* daemon/serve.c: serve mode. Sets up the node (identity, event loops, the
 * admin HTTP endpoint), runs until SIGTERM or SIGINT, then shuts down
 * cleanly.
 *
 * Threads: the main thread runs the admin endpoint and signal handling on
 * its own event base; one worker loop per core (up to SHD_LOOPS_MAX) runs
 * S3 gateway connections, each with its own S3 clients. The loops share the
 * store, the metadata cache and the fill table. All loops accept on the same
 * gateway port (SO_REUSEPORT), and a socket filter has the kernel pick the
 * loop by the CPU the connection's packets arrive on (steer_by_cpu); http.c
 * evens out what that piles on one loop. When every
 * listener is bound, the bound addresses are written to
 * DATA_DIR/shoald.ports ("s3=HOST:PORT", "admin=HOST:PORT" lines), which is
 * how tests and scripts find a node started on port 0. The admin endpoint
 * is admin.c, its /metrics renderers admin_metrics.c. */
#include "daemon/serve.h"
#include "daemon/serve_int.h"

#include "daemon/config/creds.h"
#include "daemon/err.h"
#include "daemon/store/fill.h"
#include "daemon/gateway/gw.h"
#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/metrics.h"
#include "daemon/node.h"
#include "daemon/shd.h"
#include "daemon/spot.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "daemon/cluster/cluster.h"
#include "daemon/cluster/peer.h"
#include "ring/ring.h"
#include "ufs/ufs.h"

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

/* how long a stopping node waits for a peer to take its goodbye */
#define SHD_LEAVE_TIMEOUT_MS 2000
#include <linux/filter.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

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
    struct shd_ctx *ctx = &srv->ctx;
    cpu_set_t set;
    /* the CPUs this process may run on (a container's cpuset), not all */
    long ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                             : sysconf(_SC_NPROCESSORS_ONLN);
    ctx->nloops = ncpu < 1 ? 1 : ncpu > SHD_LOOPS_MAX ? SHD_LOOPS_MAX : (unsigned)ncpu;
    for (unsigned i = 0; i < ctx->nloops; i++) {
        struct shd_loop *l = &ctx->loops[i];
        l->ctx = ctx;
        l->idx = i;
        l->base = event_base_new();
        if (!l->base)
            return SHD_ERR_IO;
        l->stop_ev = event_new(l->base, -1, 0, loop_stop_cb, l);
        if (!l->stop_ev)
            return SHD_ERR_IO;
    }
    return SHD_OK;
}

static int loops_run(struct shd_server *srv)
{
    for (unsigned i = 0; i < srv->ctx.nloops; i++) {
        struct shd_loop *l = &srv->ctx.loops[i];
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
            return SHD_ERR_IO;
        l->started = 1;
    }
    return SHD_OK;
}

static void loops_stop(struct shd_server *srv)
{
    struct shd_ctx *ctx = &srv->ctx;
    for (unsigned i = 0; i < ctx->nloops; i++) {
        struct shd_loop *l = &ctx->loops[i];
        if (l->started) {
            event_active(l->stop_ev, 0, 0);
            pthread_join(l->thread, NULL);
            l->started = 0;
        }
    }
    /* the threads are gone: tear down what they ran, connections first */
    peer_stop(ctx);
    for (unsigned i = 0; i < ctx->nloops; i++) {
        struct shd_loop *l = &ctx->loops[i];
        if (l->gateway)
            http_server_free(l->gateway);
        for (size_t m = 0; l->ufs && m < srv->cfg->n_mounts; m++)
            ufs_close(l->ufs[m]);
        free(l->ufs);
        for (size_t b = 0; b < l->npt; b++) {
            ufs_close(l->pt[b].u);
            free(l->pt[b].bucket);
        }
        free(l->pt);
        for (size_t b = 0; l->tufs && b < ctx->ntb; b++)
            ufs_close(l->tufs[b]);
        free(l->tufs);
        ufs_close(l->svc);
        if (l->stop_ev)
            event_free(l->stop_ev);
        if (l->base)
            event_base_free(l->base);
        memset(l, 0, sizeof(*l));
        if (srv->s3_fds[i] > 0)
            evutil_closesocket(srv->s3_fds[i]);
        srv->s3_fds[i] = 0;
    }
}

/* Opens every mount's backend on every loop. */
static int mounts_open(struct shd_server *srv)
{
    const struct shd_config *cfg = srv->cfg;
    struct shd_ctx *ctx = &srv->ctx;
    for (size_t m = 0; m < cfg->n_mounts; m++) {
        const struct shd_mount *mt = &cfg->mounts[m];
        struct shd_creds cr;
        int err;
        if (strcmp(mt->name, "*") == 0) { /* buckets open per loop on first use */
            if ((err = shd_creds_resolve(mt, &cr)) != 0)
                return err;
            ctx->star = (int)m;
            ctx->star_ak = cr.access_key;
            ctx->star_sk = cr.secret_key;
            ctx->star_token = cr.session_token;
            for (unsigned i = 0; i < ctx->nloops; i++) {
                struct shd_loop *l = &ctx->loops[i];
                if (!l->ufs)
                    l->ufs = shd_xcalloc(cfg->n_mounts, sizeof(*l->ufs));
                struct ufs_s3_config sc = {
                    .endpoint = mt->endpoint,
                    .region = mt->region,
                    .access_key = ctx->star_ak,
                    .secret_key = ctx->star_sk,
                    .session_token = ctx->star_token,
                    .path_style = mt->path_style,
                };
                if ((err = ufs_s3_open(l->base, &sc, &l->svc)) != 0) {
                    shd_error("serve", "cannot open mount mount=* err=\"%s\"", ufs_strerror(err));
                    return SHD_ERR_IO;
                }
            }
            continue;
        }
        if (mt->ufs.kind == SHD_UFS_S3 && (err = shd_creds_resolve(mt, &cr)) != 0)
            return err;
        for (unsigned i = 0; i < ctx->nloops; i++) {
            struct shd_loop *l = &ctx->loops[i];
            if (!l->ufs)
                l->ufs = shd_xcalloc(cfg->n_mounts, sizeof(*l->ufs));
            if (mt->ufs.kind == SHD_UFS_S3) {
                struct ufs_s3_config sc = {
                    .endpoint = mt->endpoint,
                    .region = mt->region,
                    .bucket = mt->ufs.bucket,
                    .prefix = mt->ufs.prefix,
                    .access_key = cr.access_key,
                    .secret_key = cr.secret_key,
                    .session_token = cr.session_token,
                    .path_style = mt->path_style,
                    .max_connections = cfg->cache.max_fills,
                };
                err = ufs_s3_open(l->base, &sc, &l->ufs[m]);
            } else {
                err = ufs_dir_open(l->base, mt->ufs.path, &l->ufs[m]);
            }
            if (err) {
                shd_error("serve", "cannot open mount mount=%s ufs=%s err=\"%s\"", mt->name,
                          mt->ufs.uri, ufs_strerror(err));
                if (mt->ufs.kind == SHD_UFS_S3)
                    shd_creds_free(&cr);
                return SHD_ERR_IO;
            }
        }
        if (mt->ufs.kind == SHD_UFS_S3)
            shd_creds_free(&cr);
    }
    return SHD_OK;
}

/* Opens every tenant's own S3 identity (tenants[].backend) on every loop:
 * for a named mount its backend, for "*" the service-level one (buckets
 * open on first use, as the mount's). */
static int tenant_backends_open(struct shd_server *srv)
{
    const struct shd_config *cfg = srv->cfg;
    struct shd_ctx *ctx = &srv->ctx;
    size_t n = 0;
    for (size_t t = 0; t < cfg->n_tenants; t++)
        n += cfg->tenants[t].n_backend;
    if (!n)
        return SHD_OK;
    ctx->tb = shd_xcalloc(n, sizeof(*ctx->tb));
    for (unsigned i = 0; i < ctx->nloops; i++)
        ctx->loops[i].tufs = shd_xcalloc(n, sizeof(*ctx->loops[i].tufs));
    for (size_t t = 0; t < cfg->n_tenants; t++) {
        const struct shd_tenant *tn = &cfg->tenants[t];
        for (size_t j = 0; j < tn->n_backend; j++) {
            const struct shd_backend *be = &tn->backend[j];
            struct shd_tenant_backend *b = &ctx->tb[ctx->ntb];
            struct shd_creds cr;
            char who[160];
            int m = shd_mount_find(ctx, be->mount), err;
            if (m < 0)
                return SHD_ERR_CONFIG; /* the config check names these */
            const struct shd_mount *mt = &cfg->mounts[m];
            snprintf(who, sizeof(who), "%s (tenant %s)", mt->name, tn->name);
            if ((err = shd_creds_resolve_for(&be->credentials, who, 1, &cr)) != 0)
                return err;
            b->tenant = tn;
            b->mount = m;
            b->ak = cr.access_key;
            b->sk = cr.secret_key;
            b->token = cr.session_token;
            ctx->ntb++;
            for (unsigned i = 0; i < ctx->nloops; i++) {
                struct ufs_s3_config sc = {
                    .endpoint = mt->endpoint,
                    .region = mt->region,
                    .bucket = m == ctx->star ? NULL : mt->ufs.bucket,
                    .prefix = m == ctx->star ? NULL : mt->ufs.prefix,
                    .access_key = b->ak,
                    .secret_key = b->sk,
                    .session_token = b->token,
                    .path_style = mt->path_style,
                    .max_connections = cfg->cache.max_fills,
                };
                err = ufs_s3_open(ctx->loops[i].base, &sc, &ctx->loops[i].tufs[ctx->ntb - 1]);
                if (err) {
                    shd_error("serve",
                              "cannot open a tenant's backend mount=%s tenant=%s err=\"%s\"",
                              mt->name, tn->name, ufs_strerror(err));
                    return SHD_ERR_IO;
                }
            }
        }
    }
    return SHD_OK;
}

/* A listening socket on addr with SO_REUSEPORT, so every loop can listen
 * on the same port. Returns the fd or -1 (errno set). */
static evutil_socket_t listen_reuseport(const char *host, uint16_t port)
{
    struct evutil_addrinfo hints, *ai = NULL;
    char ps[8];
    evutil_socket_t fd = -1;
    int one = 1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICHOST;
    snprintf(ps, sizeof(ps), "%u", port);
    if (evutil_getaddrinfo(*host ? host : NULL, ps, &hints, &ai) != 0 || !ai) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
        bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) || listen(fd, 1024)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        evutil_freeaddrinfo(ai);
        errno = e;
        return -1;
    }
    evutil_freeaddrinfo(ai);
    return fd;
}

/* Formats the address a bound socket has, "host:port" or "[v6]:port". */
void shd_sock_name(evutil_socket_t fd, char *out, size_t len)
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

/* steer_by_cpu: has the kernel hand each new connection on the port of
 * listening socket FD to a loop chosen by the CPU that processes the
 * connection's first packet: the i-th CPU this process may run on goes to
 * loop i % N, any other CPU (interrupts handled outside a container's
 * cpuset) to CPU % N. The loops joined the SO_REUSEPORT group in index
 * order, which is what the filter's return value indexes. A loop then
 * serves connections whose packets its core already handles (with a
 * multi-queue NIC, spread by RSS; on loopback, the client's core), so
 * wake-ups and socket data stay on one core. bench_gateway case 1b (wrk,
 * 4 KiB GETs, 2-core machine): p99 2.88 ms with the kernel's hash of the
 * addresses, 0.89 ms steered (nginx: 2.18 ms), medians of 5 or more runs.
 * Where the filter is refused, the hash spreads connections as before. */
static void steer_by_cpu(evutil_socket_t fd, unsigned n)
{
    cpu_set_t set;
    struct sock_filter *code;
    unsigned len = 0, i = 0;
    if (n < 2)
        return;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        CPU_ZERO(&set);
    code = shd_xcalloc(1 + 2 * CPU_SETSIZE + 2, sizeof(*code));
    code[len++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU));
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)cpu, 0, 1);
        code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, i++ % n);
    }
    code[len++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
    struct sock_fprog prog = {(unsigned short)len, code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
        shd_info("gateway", "connections not steered by CPU err=\"%s\"", strerror(errno));
    free(code);
}

static int gateway_start(struct shd_server *srv)
{
    const struct shd_addr *a = &srv->cfg->listen.s3;
    struct shd_ctx *ctx = &srv->ctx;
    static const struct http_handler h = {gw_on_request};
    uint16_t port = a->port;
    for (unsigned i = 0; i < ctx->nloops; i++) {
        evutil_socket_t fd = listen_reuseport(a->host ? a->host : "", port);
        if (fd < 0) {
            shd_error("gateway",
                      "cannot listen addr=%s:%u err=\"%s\" what=\"free the port or "
                      "change listen.s3\"",
                      a->host && *a->host ? a->host : "0.0.0.0", port, strerror(errno));
            return SHD_ERR_IO;
        }
        srv->s3_fds[i] = fd;
        if (i == 0) { /* port 0: the others join the port the first one got */
            shd_sock_name(fd, srv->s3_addr, sizeof(srv->s3_addr));
            const char *colon = strrchr(srv->s3_addr, ':');
            port = (uint16_t)atoi(colon ? colon + 1 : "0");
        }
        if (http_server_new(ctx->loops[i].base, fd, &h, &ctx->loops[i], &ctx->loops[i].gateway))
            return SHD_ERR_IO;
        srv->s3_servers[i] = ctx->loops[i].gateway;
    }
    steer_by_cpu(srv->s3_fds[0], ctx->nloops);
    http_server_group(srv->s3_servers, ctx->nloops);
    return SHD_OK;
}

int shd_tenant_backend(const struct shd_ctx *ctx, const struct shd_tenant *t, int m)
{
    for (size_t i = 0; t && i < ctx->ntb; i++)
        if (ctx->tb[i].tenant == t && ctx->tb[i].mount == m)
            return (int)i;
    return -1;
}

struct ufs *shd_bucket_ufs(struct shd_loop *l, const char *bucket)
{
    return shd_bucket_ufs_as(l, bucket, -1);
}

struct ufs *shd_bucket_ufs_as(struct shd_loop *l, const char *bucket, int who)
{
    const struct shd_ctx *ctx = l->ctx;
    const struct shd_mount *mt;
    struct ufs *u = NULL;
    for (size_t i = 0; i < l->npt; i++)
        if (l->pt[i].who == who && strcmp(l->pt[i].bucket, bucket) == 0)
            return l->pt[i].u;
    if (ctx->star < 0 || l->npt >= SHD_PASSTHROUGH_BUCKETS_MAX)
        return NULL;
    mt = &ctx->cfg->mounts[ctx->star];
    const struct shd_tenant_backend *b = who >= 0 ? &ctx->tb[who] : NULL;
    struct ufs_s3_config sc = {
        .endpoint = mt->endpoint,
        .region = mt->region,
        .bucket = bucket,
        .prefix = "",
        .access_key = b ? b->ak : ctx->star_ak,
        .secret_key = b ? b->sk : ctx->star_sk,
        .session_token = b ? b->token : ctx->star_token,
        .path_style = mt->path_style,
        .max_connections = ctx->cfg->cache.max_fills,
    };
    if (ufs_s3_open(l->base, &sc, &u) != 0)
        return NULL;
    if (!l->pt) /* allocated once: readers on other threads never see it move */
        l->pt = shd_xcalloc(SHD_PASSTHROUGH_BUCKETS_MAX, sizeof(*l->pt));
    size_t n = atomic_load_explicit(&l->npt, memory_order_relaxed);
    l->pt[n].bucket = shd_xstrdup(bucket);
    l->pt[n].who = who;
    l->pt[n].u = u;
    atomic_store_explicit(&l->npt, n + 1, memory_order_release);
    return u;
}

static int store_start(struct shd_server *srv)
{
    const struct shd_config *cfg = srv->cfg;
    struct store_disk_conf disks[64];
    size_t nd = cfg->cache.n_disks < 64 ? cfg->cache.n_disks : 64;
    for (size_t i = 0; i < nd; i++) {
        disks[i].path = cfg->cache.disks[i].path;
        disks[i].bytes = cfg->cache.disks[i].size;
    }
    struct store_conf sc = {
        .mem_bytes = cfg->cache.memory,
        .disks = disks,
        .ndisks = nd,
        .block_size = cfg->cluster.block_size,
        .policy = cfg->cache.eviction,
        .direct_io = cfg->cache.direct_io,
        .pinned_budget = &srv->ctx.reqmem,
    };
    return store_open(&sc, &srv->ctx.store);
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
    fprintf(f, "node=%s\ns3=%s\nadmin=%s\npeer=%s\npid=%ld\n", srv->node_hex, srv->s3_addr,
            srv->admin_addr, srv->cluster ? cluster_peer_addr(srv->cluster) : "", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, file) != 0)
        return SHD_ERR_IO;
    return SHD_OK;
}

static void left_cb(void *arg)
{
    struct shd_server *srv = arg;
    struct timeval flush = {0, 100 * 1000}; /* an admin answer (POST /v1/drain) goes out */
    event_base_loopexit(srv->main_base, &flush);
}

/* The drain is over (every block handed over, or its deadline): leave. */
static void drained_cb(void *arg, uint64_t handed, uint64_t left)
{
    struct shd_server *srv = arg;
    shd_info("serve", "drained handed=%llu left=%llu, leaving", (unsigned long long)handed,
             (unsigned long long)left);
    cluster_leave(srv->cluster, SHD_LEAVE_TIMEOUT_MS, left_cb, srv);
}

int shd_drain(struct shd_server *srv, const char *why)
{
    if (srv->stopping)
        return 1;
    srv->stopping = 1;
    uint64_t ms = srv->cfg->cluster.drain_timeout_ms;
    shd_info("serve", "draining why=%s timeout_ms=%llu", why, (unsigned long long)ms);
    if (!srv->cluster)
        event_base_loopexit(srv->main_base, NULL);
    else if (!srv->ctx.peers || cluster_others(srv->cluster) == 0)
        cluster_leave(srv->cluster, SHD_LEAVE_TIMEOUT_MS, left_cb, srv); /* nobody to hand to */
    else {
        cluster_drain(srv->cluster);
        peer_drain(&srv->ctx, srv->main_base, ms, drained_cb, srv);
    }
    return 0;
}

static void spot_notice_cb(void *arg)
{
    shd_drain(arg, "spot-notice");
}

static void peer_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    shd_drain(arg, "peer");
}

/* ctx.drain: a DRAIN frame on a loop thread; the drain starts on the main
 * thread (libevent's threads are on: event_base_once is safe here). */
static void drain_from_peer(void *arg)
{
    struct shd_server *srv = arg;
    event_base_once(srv->main_base, -1, EV_TIMEOUT, peer_drain_cb, srv, NULL);
}

/* SIGTERM, SIGINT: drain (hand every block to its next owners, within
 * cluster.drain_timeout), say goodbye to the cluster, then stop; a second
 * signal stops at once. */
static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct shd_server *srv = arg;
    (void)what;
    shd_info("serve", "stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
    if (!srv->stopping) {
        shd_drain(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
    event_base_loopexit(srv->main_base, NULL);
}

static uint16_t port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon ? (uint16_t)strtoul(colon + 1, NULL, 10) : 0;
}

/* tick_cb: housekeeping on the main loop, once a second. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_tick(arg);
}

int shd_serve(const struct shd_config *cfg)
{
    struct shd_server *srv = shd_xcalloc(1, sizeof(*srv));
    struct shd_ctx *ctx = &srv->ctx;
    char ports[PATH_MAX];
    int err, gw_inited = 0;

    srv->cfg = cfg;
    srv->started = time(NULL);
    ctx->cfg = cfg;
    ctx->star = -1;
    ctx->block_size = cfg->cluster.block_size;
    shd_budget_init(&ctx->reqmem, cfg->cache.request_memory);
    shd_log_set_level(cfg->node.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        shd_error("serve", "libevent threading is unavailable");
        err = SHD_ERR_IO;
        goto out;
    }
    err = shd_node_id_load(cfg->node.data_dir, ctx->node_id);
    if (err)
        goto out;
    ring_id_hex(ctx->node_id, srv->node_hex);
    srv->main_base = event_base_new();
    if (!srv->main_base) {
        err = SHD_ERR_IO;
        goto out;
    }
    struct timeval second = {1, 0};
    srv->tick = event_new(srv->main_base, -1, EV_PERSIST, tick_cb, ctx);
    if (!srv->tick || event_add(srv->tick, &second) != 0) {
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
    err = store_start(srv);
    if (err)
        goto out;
    meta_cache_new(ctx, cfg->cache.metadata_memory, &ctx->meta);
    fill_table_new(ctx, &ctx->fills);
    err = gw_init(ctx);
    if (err)
        goto out;
    gw_inited = 1;
    err = loops_start(srv);
    if (!err)
        err = mounts_open(srv);
    if (!err)
        err = tenant_backends_open(srv);
    if (!err)
        err = gateway_start(srv);
    if (!err)
        err = shd_admin_start(srv);
    if (!err)
        err = cluster_start(srv->main_base, cfg, ctx->node_id, port_of(srv->s3_addr),
                            port_of(srv->admin_addr), &srv->cluster);
    ctx->drain = drain_from_peer;
    ctx->drain_arg = srv;
    if (!err)
        err = peer_start(ctx, srv->cluster);
    if (!err)
        err = loops_run(srv);
    if (!err)
        err = write_ports(srv);
    if (!err && cfg->cluster.spot_notice_url &&
        shd_spot_start(cfg->cluster.spot_notice_url, srv->main_base, spot_notice_cb, srv,
                       &srv->spot) != 0)
        err = SHD_ERR_CONFIG;
    if (err)
        goto out;
    shd_admin_metrics_add(ctx);
    shd_metrics_add_source(cluster_metrics, srv->cluster);
    shd_metrics_add_source(peer_metrics, ctx);
    shd_metrics_add_source(peer_repair_metrics, ctx);
    srv->ready = 1;
    snprintf(ports, sizeof(ports), "%s/shoald.ports", cfg->node.data_dir);
    shd_info("serve", "ready node=%s name=%s s3=%s admin=%s peer=%s loops=%u ports_file=%s",
             srv->node_hex, cfg->node.name, srv->s3_addr, srv->admin_addr,
             cluster_peer_addr(srv->cluster), ctx->nloops, ports);
    event_base_dispatch(srv->main_base);
    srv->ready = 0;
    shd_metrics_clear_sources();
out:
    if (err)
        shd_error("serve", "cannot start err=\"%s\"", shd_strerror(err));
    shd_spot_stop(srv->spot);
    loops_stop(srv);
    cluster_free(srv->cluster);
    srv->cluster = NULL;
    if (gw_inited)
        gw_fini(ctx);
    fill_table_free(ctx->fills);
    meta_cache_free(ctx->meta);
    free(ctx->star_ak);
    free(ctx->star_sk);
    free(ctx->star_token);
    for (size_t b = 0; b < ctx->ntb; b++) {
        free(ctx->tb[b].ak);
        free(ctx->tb[b].sk);
        free(ctx->tb[b].token);
    }
    free(ctx->tb);
    if (ctx->store)
        store_close(ctx->store);
    if (srv->admin)
        evhttp_free(srv->admin);
    if (srv->tick)
        event_free(srv->tick);
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
