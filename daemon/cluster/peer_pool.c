/* daemon/cluster/peer_pool.c: asking other nodes. Each loop keeps up to
 * PEER_CONNS_PER_PEER authenticated connections to each node it talks to;
 * a call goes on the one with the fewest in flight, and a new connection
 * opens when all have PEER_CALLS_PER_CONN. Calls are told apart by their
 * request id; an answer for an id no call has (a cancelled one) is read and
 * dropped.
 *
 * A read call ends with done(0) once END came with the range's XXH3-64
 * matching the bytes; with UFS_EUNAVAIL when the connection fails, the node
 * answers UNAVAIL/NOMEM/IO, or no frame of the answer comes for
 * PEER_TIMEOUT_MS (a paused or partitioned node); UFS_EPRECOND and
 * UFS_ENOENT when the node says the object changed or is gone.
 *
 * Also here: the route of a block (which owners to ask) and replication
 * (PUT to the other owners after a fill). */
#include "daemon/cluster/peer_int.h"

#include "daemon/cluster/cluster_int.h"
#include "daemon/log.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "client/xxh.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

enum call_kind { CALL_READ, CALL_PUT, CALL_META, CALL_META_GET, CALL_HOLDS };

/* Calls that end together: a write told to the other nodes
 * (peer_meta_tell), a block's pushes to its owners (peer_replicate). */
struct peer_batch {
    size_t pending; /* calls not answered yet, + 1 while they are being made */
    void (*done)(void *arg);
    void *arg;
    struct peer_loop *pl;
};

struct peer_call {
    struct peer_loop *pl;
    struct peer_conn *c; /* NULL: failed before it was sent (done is due) */
    struct peer_call *next, **pprev;
    enum call_kind kind;
    uint32_t rid;
    const struct ufs_read_cbs *cbs;
    void *arg;
    struct event *timer;
    XXH3_state_t *xx;
    size_t want, got;
    uint8_t *dst; /* CALL_READ: where the bytes go, or NULL */
    int err, in_cb;
    struct store_block *put;            /* CALL_PUT: the block sent (a reference) */
    struct peer_batch *tell;            /* CALL_META, CALL_PUT: the batch it is one of */
    int counted;                        /* CALL_PUT: its bytes count in repl_bytes */
    void (*put_cb)(void *arg, int err); /* CALL_PUT by peer_push */
    peer_held_cb held_cb;               /* CALL_HOLDS */
    size_t nids;                        /* CALL_HOLDS: ids asked */
    unsigned timeout_ms;                /* 0: PEER_TIMEOUT_MS */
};

static void batch_unref(struct peer_batch *t);

static void call_free(struct peer_call *pc)
{
    if (pc->timer)
        event_free(pc->timer);
    if (pc->xx)
        XXH3_freeState(pc->xx);
    if (pc->put) {
        if (pc->counted)
            atomic_fetch_sub(&pc->pl->ps->repl_bytes, store_block_len(pc->put));
        store_block_unref(pc->put);
    }
    free(pc);
}

static void call_unlink(struct peer_call *pc)
{
    if (!pc->c)
        return;
    *pc->pprev = pc->next;
    if (pc->next)
        pc->next->pprev = pc->pprev;
    pc->c->ncalls--;
    pc->c = NULL;
}

/* The call is over with ERR: unlinked, done told, freed. */
static void call_end(struct peer_call *pc, int err)
{
    struct peer_stats *st = &pc->pl->ps->st;
    call_unlink(pc);
    if (pc->kind == CALL_PUT) {
        if (err)
            atomic_fetch_add_explicit(&st->puts_failed, 1, memory_order_relaxed);
        struct peer_batch *t = pc->tell;
        void (*cb)(void *, int) = pc->put_cb;
        void *arg = pc->arg;
        call_free(pc);
        if (t)
            batch_unref(t);
        if (cb)
            cb(arg, err);
        return;
    }
    if (pc->kind == CALL_HOLDS) {
        pc->held_cb(pc->arg, err, NULL, 0);
        call_free(pc);
        return;
    }
    if (pc->kind == CALL_META) {
        if (err)
            atomic_fetch_add_explicit(&st->tells_failed, 1, memory_order_relaxed);
        struct peer_batch *t = pc->tell;
        call_free(pc);
        batch_unref(t);
        return;
    }
    if (err && pc->kind == CALL_READ)
        atomic_fetch_add_explicit(&st->read_failures, 1, memory_order_relaxed);
    pc->cbs->done(pc->arg, err, NULL);
    call_free(pc);
}

void peer_call_cancel(struct peer_call *pc)
{
    if (!pc)
        return;
    call_unlink(pc);
    call_free(pc);
}

static void arm(struct peer_call *pc)
{
    unsigned ms = pc->timeout_ms ? pc->timeout_ms : PEER_TIMEOUT_MS;
    struct timeval t = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(pc->timer, &t);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_call *pc = arg;
    (void)fd;
    (void)what;
    if (pc->c) {
        atomic_fetch_add_explicit(&pc->pl->ps->st.read_timeouts, 1, memory_order_relaxed);
        /* a node that does not answer in time is not trusted with the
         * connection's other calls either */
        peer_conn_close(pc->c);
        return; /* closing failed this call too */
    }
    call_end(pc, pc->err ? pc->err : UFS_EUNAVAIL);
}

/* ---- the pool ------------------------------------------------------------------------- */

static evutil_socket_t out_socket(const struct ring_addr *to, struct sockaddr_storage *ss,
                                  socklen_t *sl)
{
    if (cluster_sockaddr(to, ss, sl) != 0)
        return -1;
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* A connection to TO on PL for one more call: the least busy, or a new one. */
static struct peer_conn *conn_for(struct peer_loop *pl, const struct ring_addr *to)
{
    struct peer_conn *best = NULL;
    unsigned n = 0;
    for (struct peer_conn *c = pl->conns; c; c = c->next) {
        if (c->server || !ring_addr_eq(&c->addr, to))
            continue;
        n++;
        if (!best || c->ncalls < best->ncalls)
            best = c;
    }
    if (best && (best->ncalls < PEER_CALLS_PER_CONN || n >= PEER_CONNS_PER_PEER))
        return best;
    struct sockaddr_storage ss;
    socklen_t sl;
    evutil_socket_t fd = out_socket(to, &ss, &sl);
    if (fd < 0)
        return best;
    struct peer_conn *c = peer_conn_new(pl, fd, 0);
    if (!c)
        return best;
    c->addr = *to;
    if (bufferevent_socket_connect(c->raw ? c->raw : c->bev, (struct sockaddr *)&ss, (int)sl) !=
        0) {
        peer_conn_close(c);
        return best;
    }
    return c;
}

void peer_pool_ready(struct peer_conn *c)
{
    if (c->pending && evbuffer_get_length(c->pending))
        evbuffer_add_buffer(bufferevent_get_output(c->bev), c->pending);
}

void peer_pool_close(struct peer_conn *c)
{
    /* detach them all first: a done callback may start calls of its own */
    struct peer_call *list = c->calls;
    c->calls = NULL;
    for (struct peer_call *pc = list; pc; pc = pc->next) {
        pc->pprev = NULL;
        pc->c = NULL;
    }
    c->ncalls = 0;
    while (list) {
        struct peer_call *pc = list;
        list = pc->next;
        call_end(pc, c->pl->ps->stopping ? UFS_ECANCELED : pc->err ? pc->err : UFS_EUNAVAIL);
    }
}

static struct peer_call *call_find(struct peer_conn *c, uint32_t rid)
{
    for (struct peer_call *pc = c->calls; pc; pc = pc->next)
        if (pc->rid == rid)
            return pc;
    return NULL;
}

static int err_of(uint32_t code)
{
    switch (code) {
    case WIRE_C_NOENT:
        return UFS_ENOENT;
    case WIRE_C_PRECOND:
        return UFS_EPRECOND;
    case WIRE_C_DENIED:
        return UFS_EACCES;
    default:
        return UFS_EUNAVAIL; /* another owner, or S3, may do better */
    }
}

int peer_pool_frame(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_stats *st = &c->pl->ps->st;
    if (m->type == WIRE_WELCOME)
        return 0;
    if (m->type == WIRE_VIEW) { /* gossip brings the same news */
        atomic_fetch_add_explicit(&st->views_in, 1, memory_order_relaxed);
        return 0;
    }
    struct peer_call *pc = call_find(c, m->rid);
    if (!pc)
        return m->type == WIRE_BLOCK || m->type == WIRE_DATA || m->type == WIRE_END ||
                       m->type == WIRE_ERROR || m->type == WIRE_DONE || m->type == WIRE_HELD
                   ? 0
                   : -1; /* a cancelled call's answer */
    switch (m->type) {
    case WIRE_ERROR:
        call_end(pc, err_of(m->u.error.code));
        return 0;
    case WIRE_META: {
        if (pc->kind != CALL_META_GET)
            return -1;
        struct ufs_stat ms;
        peer_stat_of(m, &ms);
        call_unlink(pc);
        pc->cbs->done(pc->arg, 0, &ms);
        call_free(pc);
        return 0;
    }
    case WIRE_HELD:
        if (pc->kind != CALL_HOLDS || m->u.held.len != (pc->nids + 7) / 8)
            return -1;
        call_unlink(pc);
        pc->held_cb(pc->arg, 0, m->u.held.bits, pc->nids);
        call_free(pc);
        return 0;
    case WIRE_DONE:
        if (pc->kind == CALL_READ || pc->kind == CALL_META_GET || pc->kind == CALL_HOLDS)
            return -1;
        call_end(pc, 0);
        return 0;
    case WIRE_BLOCK:
        if (pc->kind != CALL_READ || m->u.block.len != pc->want)
            return -1;
        arm(pc);
        return 0;
    case WIRE_DATA: {
        struct iovec v = {(void *)m->u.data.p, m->u.data.len};
        return peer_pool_data(c, m->rid, &v, 1, m->u.data.len);
    }
    case WIRE_END:
        if (pc->kind != CALL_READ)
            return -1;
        if (pc->got != pc->want || XXH3_64bits_digest(pc->xx) != m->u.end.sum) {
            atomic_fetch_add_explicit(&st->checksum_failures, 1, memory_order_relaxed);
            call_end(pc, UFS_EPROTO);
            return -1;
        }
        call_end(pc, 0);
        return 0;
    default:
        return -1;
    }
}

int peer_pool_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n)
{
    struct peer_call *pc = call_find(c, rid);
    if (!pc)
        return 0; /* a cancelled call's bytes */
    if (pc->kind != CALL_READ || n > pc->want - pc->got)
        return -1;
    pc->got += n;
    arm(pc);
    for (int i = 0; i < nv; i++) {
        wire_xxh3_update(pc->xx, v[i].iov_base, v[i].iov_len);
        if (pc->cbs->data(pc->arg, v[i].iov_base, v[i].iov_len) == UFS_READ_ABORT) {
            call_end(pc, UFS_ECANCELED);
            return 0;
        }
    }
    return 0;
}

uint8_t *peer_pool_room(struct peer_conn *c, uint32_t rid, size_t *room)
{
    struct peer_call *pc = call_find(c, rid);
    if (!pc || pc->kind != CALL_READ || !pc->dst)
        return NULL;
    *room = pc->want - pc->got;
    return pc->dst + pc->got;
}

/* The call fails with ERR from the loop (its timer at once), never inside
 * the call that started it. */
static void call_fail_soon(struct peer_call *pc, int err)
{
    struct timeval now = {0, 0};
    call_unlink(pc);
    pc->err = err;
    evtimer_add(pc->timer, &now);
}

/* A new call on a connection to TO (or, when none can be had, one that
 * fails from the loop). The request frame M gets the call's rid. */
static struct peer_call *call_new(struct peer_loop *pl, const struct ring_addr *to,
                                  enum call_kind kind, struct wire_msg *m)
{
    struct peer_call *pc = shd_xcalloc(1, sizeof(*pc));
    pc->pl = pl;
    pc->kind = kind;
    pc->timer = evtimer_new(pl->l->base, timeout_cb, pc);
    if (!pc->timer)
        shd_oom(sizeof(struct event *));
    struct peer_conn *c = pl->ps->stopping ? NULL : conn_for(pl, to);
    if (!c) {
        call_fail_soon(pc, UFS_EUNAVAIL);
        return pc;
    }
    pc->rid = c->next_rid++;
    if (!c->next_rid)
        c->next_rid = 1;
    m->rid = pc->rid;
    const struct cluster_view *v = cluster_view(pl->ps->cluster);
    m->epoch = v ? v->epoch : 0;
    pc->c = c;
    pc->next = c->calls;
    if (pc->next)
        pc->next->pprev = &pc->next;
    pc->pprev = &c->calls;
    c->calls = pc;
    c->ncalls++;
    arm(pc);
    return pc;
}

struct peer_call *peer_read(struct shd_loop *l, const struct ring_addr *to,
                            const struct peer_block_ref *ref, uint32_t off, uint32_t len,
                            uint8_t *dst, const struct ufs_read_cbs *cbs, void *arg)
{
    struct peer_set *ps = l->ctx->peers;
    struct peer_loop *pl = &ps->loops[l->idx];
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_GET;
    atomic_fetch_add_explicit(&ps->st.reads, 1, memory_order_relaxed);
    struct peer_call *pc = call_new(pl, to, CALL_READ, &m);
    pc->cbs = cbs;
    pc->arg = arg;
    pc->want = len;
    pc->dst = dst;
    pc->xx = XXH3_createState();
    if (!pc->xx)
        shd_oom(1024);
    XXH3_64bits_reset(pc->xx);
    if (!pc->c)
        return pc;
    snprintf(m.u.obj.bucket, sizeof(m.u.obj.bucket), "%s", ref->bucket);
    snprintf(m.u.obj.key, sizeof(m.u.obj.key), "%s", ref->key);
    snprintf(m.u.obj.etag, sizeof(m.u.obj.etag), "%s", ref->etag);
    m.u.obj.size = ref->size;
    m.u.obj.index = ref->index;
    m.u.obj.off = off;
    m.u.obj.len = len;
    m.flags = ref->flags;
    if (peer_send(pc->c, &m) != 0)
        call_fail_soon(pc, UFS_EINVAL);
    return pc;
}

int peer_meta_owner(struct shd_ctx *ctx, const char *bucket, const char *key, struct ring_addr *out)
{
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    uint8_t id[RING_ID_LEN];
    if (!v || ring_size(v->ring) < 2 || ring_block_id(bucket, key, "", 0, 0, id) != 0)
        return 0;
    int o = ring_owner(v->ring, id);
    if (o < 0 || o == v->self)
        return 0;
    *out = v->peer[o];
    return 1;
}

struct peer_call *peer_meta_get(struct shd_loop *l, const struct ring_addr *to, const char *bucket,
                                const char *key, const struct ufs_read_cbs *cbs, void *arg)
{
    struct peer_set *ps = l->ctx->peers;
    struct peer_loop *pl = &ps->loops[l->idx];
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_META_GET;
    atomic_fetch_add_explicit(&ps->st.meta_gets, 1, memory_order_relaxed);
    struct peer_call *pc = call_new(pl, to, CALL_META_GET, &m);
    pc->cbs = cbs;
    pc->arg = arg;
    if (!pc->c)
        return pc;
    snprintf(m.u.obj.bucket, sizeof(m.u.obj.bucket), "%s", bucket);
    snprintf(m.u.obj.key, sizeof(m.u.obj.key), "%s", key);
    if (peer_send(pc->c, &m) != 0)
        call_fail_soon(pc, UFS_EINVAL);
    return pc;
}

/* ---- replication ------------------------------------------------------------------------ */

/* put_send: a PUT of B to TO on PL, its frames queued: the call (its
 * ending set by the caller before the loop runs again). */
static struct peer_call *put_send(struct peer_loop *pl, const struct ring_addr *to,
                                  struct store_block *b)
{
    struct peer_set *ps = pl->ps;
    size_t len = store_block_len(b);
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_PUT;
    memcpy(m.u.put.id, store_block_id(b), RING_ID_LEN);
    m.u.put.len = len;
    m.u.put.sum = store_block_sum(b);
    struct peer_call *pc = call_new(pl, to, CALL_PUT, &m);
    pc->put = store_block_ref(b);
    atomic_fetch_add_explicit(&ps->st.puts_out, 1, memory_order_relaxed);
    if (!pc->c)
        return pc;
    struct wire_msg e;
    memset(&e, 0, sizeof(e));
    e.type = WIRE_END;
    e.rid = m.rid;
    e.u.end.sum = m.u.put.sum;
    /* the PUT's frames go together: the receiver takes one PUT at a time */
    if (pc->c->state == PC_READY) {
        peer_send(pc->c, &m);
        peer_send_data(pc->c, m.rid, b, store_block_data(b), len);
        peer_send(pc->c, &e);
    } else {
        /* before the handshake: the pending buffer takes copies */
        peer_send(pc->c, &m);
        struct evbuffer *out = pc->c->pending;
        for (size_t off = 0; off < len;) {
            uint8_t head[WIRE_DATA_HEAD_MAX];
            size_t k = len - off < WIRE_DATA_MAX ? len - off : WIRE_DATA_MAX;
            evbuffer_add(out, head, wire_data_head(m.rid, k, head));
            evbuffer_add(out, store_block_data(b) + off, k);
            off += k;
        }
        peer_send(pc->c, &e);
    }
    return pc;
}

static void put_to(struct peer_loop *pl, const struct ring_addr *to, struct store_block *b,
                   struct peer_batch *t)
{
    struct peer_set *ps = pl->ps;
    size_t len = store_block_len(b);
    if (atomic_fetch_add(&ps->repl_bytes, len) + len > PEER_REPL_BYTES) {
        atomic_fetch_sub(&ps->repl_bytes, len);
        atomic_fetch_add_explicit(&ps->st.repl_skipped, 1, memory_order_relaxed);
        return;
    }
    struct peer_call *pc = put_send(pl, to, b);
    pc->counted = 1; /* gives repl_bytes back when freed */
    pc->tell = t;
    t->pending++;
}

struct peer_call *peer_push(struct shd_loop *l, const struct ring_addr *to, struct store_block *b,
                            void (*done)(void *arg, int err), void *arg)
{
    struct peer_call *pc = put_send(&l->ctx->peers->loops[l->idx], to, b);
    pc->put_cb = done;
    pc->arg = arg;
    return pc;
}

struct peer_call *peer_holds(struct shd_loop *l, const struct ring_addr *to, const uint8_t *ids,
                             size_t n, unsigned timeout_ms, peer_held_cb cb, void *arg)
{
    struct peer_set *ps = l->ctx->peers;
    struct peer_loop *pl = &ps->loops[l->idx];
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HOLDS;
    m.u.holds.ids = ids;
    m.u.holds.n = n;
    struct peer_call *pc = call_new(pl, to, CALL_HOLDS, &m);
    pc->held_cb = cb;
    pc->arg = arg;
    pc->nids = n;
    pc->timeout_ms = timeout_ms;
    if (pc->c) {
        arm(pc);
        if (n == 0 || n > WIRE_HOLDS_MAX || peer_send(pc->c, &m) != 0)
            call_fail_soon(pc, UFS_EINVAL);
    }
    return pc;
}

static void no_done(void *arg)
{
    (void)arg;
}

void peer_replicate(struct shd_loop *l, struct store_block *b, void (*done)(void *arg), void *arg)
{
    peer_replicate_but(l, b, NULL, 0, done, arg);
}

void peer_replicate_but(struct shd_loop *l, struct store_block *b,
                        const uint8_t (*skip)[RING_ID_LEN], size_t nskip, void (*done)(void *arg),
                        void *arg)
{
    struct shd_ctx *ctx = l->ctx;
    struct peer_route rt;
    if (!ctx->peers) { /* no cluster: nothing to push */
        if (done)
            done(arg);
        return;
    }
    struct peer_batch *t = shd_xcalloc(1, sizeof(*t));
    t->done = done ? done : no_done;
    t->arg = arg;
    t->pending = 1;
    t->pl = &ctx->peers->loops[l->idx];
    peer_route(ctx, store_block_id(b), &rt);
    for (size_t i = 0; i < rt.npeers; i++) {
        size_t k = 0;
        while (k < nskip && memcmp(skip[k], rt.ids[i], RING_ID_LEN) != 0)
            k++;
        if (k < nskip) {
            atomic_fetch_add_explicit(&ctx->peers->st.puts_unneeded, 1, memory_order_relaxed);
            continue;
        }
        put_to(t->pl, &rt.peers[i], b, t);
    }
    batch_unref(t);
}

/* ---- one namespace: writes told to every node ------------------------------------------ */

static void batch_fire(evutil_socket_t fd, short what, void *arg)
{
    struct peer_batch *t = arg;
    (void)fd;
    (void)what;
    t->done(t->arg);
    free(t);
}

static void batch_unref(struct peer_batch *t)
{
    if (--t->pending)
        return;
    if (t->pl->ps->stopping ||
        event_base_once(t->pl->l->base, -1, EV_TIMEOUT, batch_fire, t, NULL) != 0)
        batch_fire(-1, 0, t);
}

static void tell_one(struct peer_loop *pl, struct peer_batch *t, const struct ring_addr *to,
                     const char *bucket, const char *key, const struct ufs_stat *st, int own)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = st ? WIRE_META_PUT : WIRE_META_DEL;
    m.flags = own ? WIRE_F_OWN : 0;
    snprintf(m.u.obj.bucket, sizeof(m.u.obj.bucket), "%s", bucket);
    snprintf(m.u.obj.key, sizeof(m.u.obj.key), "%s", key);
    if (st)
        peer_meta_of(&m, st);
    t->pending++;
    struct peer_call *pc = call_new(pl, to, CALL_META, &m);
    pc->tell = t;
    atomic_fetch_add_explicit(&pl->ps->st.tells, 1, memory_order_relaxed);
    if (pc->c && peer_send(pc->c, &m) != 0)
        call_fail_soon(pc, UFS_EINVAL);
}

void peer_meta_tell(struct shd_loop *l, const char *bucket, const char *const *keys, size_t n,
                    const struct ufs_stat *st, int own, void (*done)(void *arg), void *arg)
{
    struct shd_ctx *ctx = l->ctx;
    struct peer_batch *t = shd_xcalloc(1, sizeof(*t));
    t->done = done;
    t->arg = arg;
    t->pending = 1;
    t->pl = ctx->peers ? &ctx->peers->loops[l->idx] : NULL;
    const struct cluster_view *v = t->pl ? cluster_view(ctx->peers->cluster) : NULL;
    if (!t->pl) {
        if (event_base_once(l->base, -1, EV_TIMEOUT, batch_fire, t, NULL) != 0)
            batch_fire(-1, 0, t);
        return;
    }
    for (size_t i = 0; v && i < v->nmembers; i++) {
        const struct wire_member *w = &v->members[i];
        if (memcmp(w->id, ctx->node_id, RING_ID_LEN) == 0 ||
            (w->state != RING_ALIVE && w->state != RING_SUSPECT && w->state != RING_LEAVING))
            continue;
        for (size_t k = 0; k < n; k++)
            tell_one(t->pl, t, &w->addr, bucket, keys[k], st, own);
    }
    batch_unref(t);
}

/* ---- routes --------------------------------------------------------------------------- */

void peer_route(struct shd_ctx *ctx, const uint8_t id[RING_ID_LEN], struct peer_route *out)
{
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    uint32_t own[RING_REPLICAS_MAX];
    size_t n;
    memset(out, 0, sizeof(*out));
    out->primary = out->owner = 1;
    if (!v || ring_size(v->ring) < 2)
        return;
    n = ring_owners(v->ring, id, ctx->cfg->cluster.replication, own);
    out->primary = out->owner = 0;
    for (size_t i = 0; i < n; i++) {
        if ((int)own[i] == v->self) {
            out->owner = 1;
            out->primary = i == 0;
            continue;
        }
        memcpy(out->ids[out->npeers], ring_member_at(v->ring, own[i])->id, RING_ID_LEN);
        out->peers[out->npeers++] = v->peer[own[i]];
    }
}

int peer_filler(struct shd_ctx *ctx, const uint8_t run_id[RING_ID_LEN], struct ring_addr *out)
{
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    if (!v || ring_size(v->ring) < 2)
        return 1;
    int o = ring_owner(v->ring, run_id);
    if (o < 0 || o == v->self)
        return 1;
    *out = v->peer[o];
    return 0;
}

int peer_filler_is(struct shd_ctx *ctx, const uint8_t run_id[RING_ID_LEN],
                   const uint8_t node[RING_ID_LEN])
{
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    int o = v && ring_size(v->ring) >= 2 ? ring_owner(v->ring, run_id) : -1;
    return o >= 0 && memcmp(ring_member_at(v->ring, o)->id, node, RING_ID_LEN) == 0;
}

/* ---- metrics -------------------------------------------------------------------------- */

void peer_metrics(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    struct peer_set *ps = ctx->peers;
    if (!ps)
        return;
    struct peer_stats *s = &ps->st;
    static const struct {
        const char *name, *help;
        size_t off;
    } cs[] = {
#define C(f, n, h) {"shoal_peer_" n, h, offsetof(struct peer_stats, f)}
        C(conns_in, "connections_accepted_total", "Peer connections accepted."),
        C(conns_out, "connections_opened_total", "Peer connections opened to other nodes."),
        C(auth_failures, "auth_failures_total",
          "Peer connections that failed authentication (wrong or no cluster key)."),
        C(handshake_failures, "handshake_failures_total",
          "Peer handshakes refused or timed out (another cluster, version or block size)."),
        C(bad_frames, "bad_frames_total", "Peer frames dropped as malformed or over the ceiling."),
        C(gets_in, "gets_served_total", "Block ranges asked of this node by peers."),
        C(puts_in, "puts_received_total", "Blocks pushed to this node by peers."),
        C(puts_dup, "puts_already_held_total", "Pushed blocks this node already held."),
        C(holds_in, "holds_served_total", "Which-blocks-do-you-hold requests answered."),
        C(errors_out, "errors_sent_total", "Peer requests answered with an error."),
        C(stale_epochs, "stale_epochs_total",
          "Peer requests from another ring epoch (answered with the view)."),
        C(reads, "reads_total", "Block ranges this node asked of peers."),
        C(read_failures, "read_failures_total",
          "Peer reads that failed (the next owner or S3 was asked)."),
        C(read_timeouts, "read_timeouts_total", "Peer reads that timed out."),
        C(puts_out, "puts_sent_total", "Blocks this node pushed to other owners."),
        C(puts_failed, "puts_failed_total", "Block pushes that failed."),
        C(puts_unneeded, "puts_unneeded_total",
          "Block pushes not made: the owner read the block from this node as it was filled."),
        C(repl_skipped, "replications_skipped_total",
          "Block pushes skipped: over the replication budget."),
        C(checksum_failures, "checksum_failures_total",
          "Peer block bytes whose checksum did not match (dropped)."),
        C(views_in, "views_received_total", "Views received for a stale epoch."),
        C(tells, "writes_told_total", "Writes told to another node (metadata put or dropped)."),
        C(tells_failed, "writes_told_failed_total",
          "Writes another node did not acknowledge (it may serve stale metadata up to the "
          "mount's metadata_ttl)."),
        C(tells_in, "writes_heard_total", "Writes through other nodes this node was told of."),
        C(meta_gets, "meta_gets_total",
          "Object metadata this node asked of the key's owner instead of sending S3 a HEAD."),
        C(meta_gets_in, "meta_gets_served_total", "Object metadata requests answered for peers."),
        C(probes, "probes_total",
          "Fills that asked the nodes that may hold their blocks before S3 (after a ring "
          "change)."),
        C(probe_hits, "probe_hits_total",
          "Blocks such a probe found on another node (taken from it, not from S3)."),
        C(lists_in, "lists_served_total", "Listings answered for workers (LIST)."),
        C(oputs_in, "object_writes_served_total",
          "Objects workers wrote to S3 through this node (OPUT)."),
        C(oputs_failed, "object_writes_failed_total",
          "Object writes through this node that failed (refused, S3 errors, damaged bytes)."),
        C(bytes_in, "bytes_received_total", "Peer protocol bytes received."),
        C(bytes_out, "bytes_sent_total", "Peer protocol bytes sent."),
#undef C
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        const _Atomic uint64_t *p = (const _Atomic uint64_t *)((const char *)s + cs[i].off);
        evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", cs[i].name,
                            cs[i].help, cs[i].name, cs[i].name, atomic_load(p));
    }
}
