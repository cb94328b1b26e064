/* daemon/cluster/peer_repair.c: copies follow the ring (peer.h: repair,
 * warm joins, drain). Runs on loop 0, whose pool it uses.
 *
 * A scan, for one ring epoch:
 *
 *   IDLE --epoch changed, stable PEER_REPAIR_SETTLE_MS (or drain)--> LIST
 *   LIST: the store's blocks, hottest first (store_list)
 *   ASK:  a batch of PEER_REPAIR_BATCH blocks; their owners in the ring;
 *         one HOLDS to each owner other than this node
 *   PUSH: each missing copy this node is to give (the rule in peer.h):
 *         loaded from the store, paced to cluster.repair_rate (a drain is
 *         not paced), pushed; PEER_REPAIR_PUSHES at once
 *   then the next batch; after the last, IDLE with the epoch done.
 *
 * A new epoch in the middle restarts the scan (what went is found held). A
 * scan with failures (an owner that did not answer, a push that failed) is
 * run again after PEER_REPAIR_RETRY_MS. Draining: this node is no longer
 * placed, so every block it holds has owners elsewhere; it pushes to each
 * that lacks it, and the drain is over when a scan ends with nothing
 * failed, or at its deadline. */
#include "daemon/cluster/peer_int.h"

#include "daemon/log.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PEER_REPAIR_TICK_MS 250
#define PEER_REPAIR_RETRY_MS 5000
#define PEER_DRAIN_LOG_MS 5000

struct rp_node {
    uint8_t id[RING_ID_LEN];
    struct ring_addr addr;
    uint32_t *items; /* batch items asked about, in HOLDS order */
    size_t n, cap;
    uint8_t *bits; /* the answer */
    int answered;  /* 1: bits valid; -1: failed or not asked */
    int alive;     /* alive in the view (a suspect node is not asked) */
    struct peer_repair *rp;
    struct peer_call *pc;
};

struct rp_item {
    uint8_t nown;
    int8_t self_pos;                  /* this node's place among the owners, or -1 */
    uint32_t node[RING_REPLICAS_MAX]; /* rp_node of each owner (self: UINT32_MAX) */
    uint32_t pos[RING_REPLICAS_MAX];  /* its place in that node's HOLDS */
};

struct rp_push {
    struct peer_repair *rp;
    uint32_t item, node;
    struct store_load *sl;
    struct peer_call *pc;
    size_t len;
    int busy;
};

struct peer_repair {
    struct peer_set *ps;
    struct shd_loop *l;
    struct event *tick;
    struct event *pace_ev; /* the next paced push is due */
    uint64_t done_epoch, scan_epoch;
    int have_done, scanning, failed;
    uint64_t retry_at, pace_ms;
    /* the scan */
    struct store_held *list;
    size_t nlist, next; /* blocks listed, the first not yet in a batch */
    /* the batch */
    size_t b0, bn; /* list[b0 .. b0+bn) */
    struct rp_item *items;
    struct rp_node *nodes;
    size_t nnodes, asking;
    uint32_t (*queue)[2]; /* pushes to make: item, node */
    size_t nqueue, qnext, inflight;
    struct rp_push slots[PEER_REPAIR_PUSHES];
    /* drain */
    int draining;
    uint64_t deadline, drain_logged, handed;
    struct event_base *main_base;
    void (*drain_done)(void *arg, uint64_t handed, uint64_t left);
    void *drain_arg;
    /* counters (loop 0 writes, /metrics reads) */
    _Atomic uint64_t scans, checked, pushed, bytes, push_failures, holds_failures;
    _Atomic uint64_t pending, drain_state, drain_handed, drain_left;
};

static void step(struct peer_repair *rp);

static void batch_clear(struct peer_repair *rp)
{
    for (size_t i = 0; i < rp->nnodes; i++) {
        peer_call_cancel(rp->nodes[i].pc);
        free(rp->nodes[i].items);
        free(rp->nodes[i].bits);
    }
    free(rp->nodes);
    free(rp->items);
    free(rp->queue);
    rp->nodes = NULL;
    rp->items = NULL;
    rp->queue = NULL;
    rp->nnodes = rp->nqueue = rp->qnext = rp->bn = rp->asking = 0;
}

static void push_slot_clear(struct rp_push *p)
{
    if (p->sl)
        store_load_cancel(p->sl);
    peer_call_cancel(p->pc);
    p->sl = NULL;
    p->pc = NULL;
    p->busy = 0;
}

static void scan_clear(struct peer_repair *rp)
{
    for (size_t i = 0; i < PEER_REPAIR_PUSHES; i++)
        push_slot_clear(&rp->slots[i]);
    rp->inflight = 0;
    batch_clear(rp);
    free(rp->list);
    rp->list = NULL;
    rp->nlist = rp->next = 0;
    rp->scanning = 0;
    atomic_store(&rp->pending, 0);
}

static const struct cluster_view *view_of(struct peer_repair *rp)
{
    return cluster_view(rp->ps->cluster);
}

/* The drain is over: tell the main loop. */
static void drain_end_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_repair *rp = arg;
    (void)fd;
    (void)what;
    rp->drain_done(rp->drain_arg, atomic_load(&rp->drain_handed), atomic_load(&rp->drain_left));
}

static void drain_finish(struct peer_repair *rp, uint64_t left)
{
    atomic_store(&rp->drain_left, left);
    atomic_store(&rp->drain_state, 2);
    rp->draining = 0;
    if (left)
        shd_warn("drain",
                 "deadline reached: blocks not handed over, their next owners will "
                 "read them from S3 handed=%" PRIu64 " left=%" PRIu64,
                 rp->handed, left);
    else
        shd_info("drain", "every block handed over handed=%" PRIu64, rp->handed);
    if (event_base_once(rp->main_base, -1, EV_TIMEOUT, drain_end_cb, rp, NULL) != 0)
        shd_oom(sizeof(struct event *));
}

static void scan_end(struct peer_repair *rp)
{
    uint64_t epoch = rp->scan_epoch;
    int failed = rp->failed;
    shd_info("repair", "scan done epoch=%016" PRIx64 " blocks=%zu pushed=%" PRIu64 " failed=%d%s",
             epoch, rp->nlist, atomic_load(&rp->pushed), failed, rp->draining ? " draining=1" : "");
    scan_clear(rp);
    if (failed) {
        rp->retry_at = peer_now_ms() + (rp->draining ? 1000 : PEER_REPAIR_RETRY_MS);
        return;
    }
    rp->done_epoch = epoch;
    rp->have_done = 1;
    if (rp->draining)
        drain_finish(rp, 0);
}

static uint32_t node_index(struct peer_repair *rp, const struct cluster_view *v,
                           const struct ring_member *m, const struct ring_addr *addr)
{
    for (size_t i = 0; i < rp->nnodes; i++)
        if (memcmp(rp->nodes[i].id, m->id, RING_ID_LEN) == 0)
            return (uint32_t)i;
    if (rp->nnodes % 16 == 0)
        rp->nodes = shd_xrealloc(rp->nodes, (rp->nnodes + 16) * sizeof(*rp->nodes));
    struct rp_node *n = &rp->nodes[rp->nnodes];
    memset(n, 0, sizeof(*n));
    memcpy(n->id, m->id, RING_ID_LEN);
    n->addr = *addr;
    n->rp = rp;
    for (size_t i = 0; i < v->nmembers; i++)
        if (memcmp(v->members[i].id, m->id, RING_ID_LEN) == 0)
            n->alive = v->members[i].state == RING_ALIVE;
    return (uint32_t)rp->nnodes++;
}

static int held_by(const struct peer_repair *rp, const struct rp_item *it, size_t k)
{
    const struct rp_node *n = &rp->nodes[it->node[k]];
    return n->answered == 1 && (n->bits[it->pos[k] / 8] & (1u << (it->pos[k] % 8)));
}

/* Every HOLDS of the batch answered: the pushes this node is to make. */
static void plan(struct peer_repair *rp)
{
    rp->queue = shd_xcalloc(rp->bn * RING_REPLICAS_MAX + 1, sizeof(*rp->queue));
    for (size_t i = 0; i < rp->bn; i++) {
        const struct rp_item *it = &rp->items[i];
        int unknown = 0, before = 0, any = 0;
        for (size_t k = 0; k < it->nown; k++) {
            if ((int)k == it->self_pos)
                continue;
            if (rp->nodes[it->node[k]].answered != 1)
                unknown = 1;
            else if (held_by(rp, it, k)) {
                any = 1;
                if (it->self_pos < 0 || (int)k < it->self_pos)
                    before = 1;
            }
        }
        if (unknown)
            rp->failed = 1; /* decided on the next scan */
        /* the first owner that holds it gives it; a holder that owns it no
         * more, only when no owner has it; a drain gives everything */
        if (!rp->draining && (it->self_pos >= 0 ? before : any))
            continue;
        for (size_t k = 0; k < it->nown; k++)
            if ((int)k != it->self_pos && rp->nodes[it->node[k]].answered == 1 &&
                !held_by(rp, it, k)) {
                rp->queue[rp->nqueue][0] = (uint32_t)i;
                rp->queue[rp->nqueue++][1] = it->node[k];
            }
    }
}

static void on_held(void *arg, int err, const uint8_t *bits, size_t n)
{
    struct rp_node *nd = arg;
    struct peer_repair *rp = nd->rp;
    nd->pc = NULL;
    if (err) {
        nd->answered = -1;
        atomic_fetch_add_explicit(&rp->holds_failures, 1, memory_order_relaxed);
    } else {
        nd->bits = shd_xmalloc((n + 7) / 8);
        memcpy(nd->bits, bits, (n + 7) / 8);
        nd->answered = 1;
    }
    if (--rp->asking == 0) {
        plan(rp);
        step(rp);
    }
}

/* The next batch: owners of each block, one HOLDS per owner. */
static void batch_start(struct peer_repair *rp, const struct cluster_view *v)
{
    size_t rep = (size_t)rp->ps->ctx->cfg->cluster.replication;
    batch_clear(rp);
    rp->b0 = rp->next;
    rp->bn = rp->nlist - rp->next < PEER_REPAIR_BATCH ? rp->nlist - rp->next : PEER_REPAIR_BATCH;
    rp->next += rp->bn;
    rp->items = shd_xcalloc(rp->bn ? rp->bn : 1, sizeof(*rp->items));
    atomic_fetch_add_explicit(&rp->checked, rp->bn, memory_order_relaxed);
    for (size_t i = 0; i < rp->bn; i++) {
        struct rp_item *it = &rp->items[i];
        uint32_t own[RING_REPLICAS_MAX];
        size_t no = ring_owners(v->ring, rp->list[rp->b0 + i].id, rep, own);
        it->self_pos = -1;
        it->nown = (uint8_t)no;
        for (size_t k = 0; k < no; k++) {
            if ((int)own[k] == v->self) {
                it->self_pos = (int8_t)k;
                it->node[k] = UINT32_MAX;
                continue;
            }
            uint32_t ni = node_index(rp, v, ring_member_at(v->ring, own[k]), &v->peer[own[k]]);
            struct rp_node *nd = &rp->nodes[ni];
            if (nd->n == nd->cap) {
                nd->cap = nd->cap ? nd->cap * 2 : 64;
                nd->items = shd_xrealloc(nd->items, nd->cap * sizeof(*nd->items));
            }
            it->node[k] = ni;
            it->pos[k] = (uint32_t)nd->n;
            nd->items[nd->n++] = (uint32_t)i;
        }
    }
    rp->asking = 1;
    for (size_t i = 0; i < rp->nnodes; i++) {
        struct rp_node *nd = &rp->nodes[i];
        if (!nd->alive) { /* suspect: likely gone; decided once the view settles */
            nd->answered = -1;
            continue;
        }
        rp->asking++;
        uint8_t *ids = shd_xmalloc(nd->n * RING_ID_LEN);
        for (size_t k = 0; k < nd->n; k++)
            memcpy(ids + k * RING_ID_LEN, rp->list[rp->b0 + nd->items[k]].id, RING_ID_LEN);
        nd->pc = peer_holds(rp->l, &nd->addr, ids, nd->n, 0, on_held, nd);
        free(ids); /* encoded by now */
    }
    if (--rp->asking == 0) { /* no other owner: nothing to ask */
        plan(rp);
        step(rp);
    }
}

static void push_done(void *arg, int err)
{
    struct rp_push *p = arg;
    struct peer_repair *rp = p->rp;
    p->pc = NULL;
    if (err) {
        rp->failed = 1;
        atomic_fetch_add_explicit(&rp->push_failures, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&rp->pushed, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&rp->bytes, p->len, memory_order_relaxed);
        if (rp->draining) {
            rp->handed++;
            atomic_store(&rp->drain_handed, rp->handed);
        }
    }
    p->busy = 0;
    rp->inflight--;
    step(rp);
}

static void on_load(void *arg, int err, struct store_block *b)
{
    struct rp_push *p = arg;
    struct peer_repair *rp = p->rp;
    p->sl = NULL;
    if (err || !b) { /* evicted since it was listed: nothing to give */
        p->busy = 0;
        rp->inflight--;
        step(rp);
        return;
    }
    p->len = store_block_len(b);
    uint64_t rate = rp->ps->ctx->cfg->cluster.repair_rate;
    if (rate && !rp->draining) { /* paced: the next push waits its share */
        uint64_t now = peer_now_ms();
        if (rp->pace_ms < now)
            rp->pace_ms = now;
        rp->pace_ms += p->len * 1000 / rate;
    }
    p->pc = peer_push(rp->l, &rp->nodes[p->node].addr, b, push_done, p);
    store_block_unref(b);
}

/* Starts what can start: pushes, up to the pace; then the next batch. */
static void step(struct peer_repair *rp)
{
    if (!rp->scanning || rp->asking)
        return;
    const struct cluster_view *v = view_of(rp);
    if (!v || v->epoch != rp->scan_epoch) { /* the ring moved: scan again */
        rp->failed = 1;
        scan_clear(rp);
        rp->retry_at = 0;
        return;
    }
    uint64_t now = peer_now_ms();
    while (rp->qnext < rp->nqueue && rp->inflight < PEER_REPAIR_PUSHES && rp->pace_ms <= now) {
        struct rp_push *p = NULL;
        for (size_t i = 0; i < PEER_REPAIR_PUSHES && !p; i++)
            if (!rp->slots[i].busy)
                p = &rp->slots[i];
        uint32_t item = rp->queue[rp->qnext][0], node = rp->queue[rp->qnext][1];
        rp->qnext++;
        p->rp = rp;
        p->item = item;
        p->node = node;
        p->busy = 1;
        rp->inflight++;
        p->sl = store_load(rp->ps->ctx->store, rp->l->base, rp->list[rp->b0 + item].id, on_load, p);
        if (!p->sl) { /* gone from the store, or too many loads: skip */
            p->busy = 0;
            rp->inflight--;
        }
    }
    atomic_store(&rp->pending, (rp->nlist - rp->next) + (rp->nqueue - rp->qnext) + rp->inflight);
    if (rp->qnext < rp->nqueue && rp->inflight < PEER_REPAIR_PUSHES) {
        uint64_t wait = rp->pace_ms - now; /* > 0: the loop stopped on the pace */
        struct timeval t = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
        evtimer_add(rp->pace_ev, &t);
    }
    if (rp->qnext < rp->nqueue || rp->inflight)
        return; /* the pace timer or a push's end goes on */
    if (rp->next < rp->nlist) {
        batch_start(rp, v);
        return;
    }
    scan_end(rp);
}

static void scan_start(struct peer_repair *rp, const struct cluster_view *v)
{
    scan_clear(rp);
    rp->scanning = 1;
    rp->failed = 0;
    rp->scan_epoch = v->epoch;
    atomic_fetch_add_explicit(&rp->scans, 1, memory_order_relaxed);
    store_list(rp->ps->ctx->store, &rp->list, &rp->nlist);
    shd_debug("repair", "scan epoch=%016" PRIx64 " blocks=%zu", v->epoch, rp->nlist);
    batch_start(rp, v);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_repair *rp = arg;
    (void)fd;
    (void)what;
    uint64_t now = peer_now_ms();
    if (rp->draining) {
        uint64_t left = atomic_load(&rp->pending);
        if (now >= rp->deadline) {
            scan_clear(rp);
            drain_finish(rp, left ? left : 1);
            return;
        }
        if (now - rp->drain_logged >= PEER_DRAIN_LOG_MS) {
            rp->drain_logged = now;
            shd_info("drain",
                     "handing blocks over handed=%" PRIu64 " pending=%" PRIu64
                     " seconds_left=%" PRIu64,
                     rp->handed, left, (rp->deadline - now) / 1000);
        }
    }
    if (rp->scanning) {
        step(rp); /* a paced push may be due */
        return;
    }
    const struct cluster_view *v = view_of(rp);
    if (!v || rp->ps->stopping || now < rp->retry_at)
        return;
    if (rp->have_done && v->epoch == rp->done_epoch && !rp->draining)
        return;
    if (!rp->draining && now - v->changed_ms < PEER_REPAIR_SETTLE_MS)
        return;
    if (rp->draining && v->self >= 0)
        return; /* our leaving is not in the view yet */
    scan_start(rp, v);
}

static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    step(arg);
}

int peer_repair_start(struct peer_set *ps)
{
    struct peer_repair *rp = shd_xcalloc(1, sizeof(*rp));
    rp->ps = ps;
    rp->l = &ps->ctx->loops[0];
    rp->tick = event_new(rp->l->base, -1, EV_PERSIST, tick_cb, rp);
    rp->pace_ev = evtimer_new(rp->l->base, pace_cb, rp);
    if (!rp->tick || !rp->pace_ev)
        shd_oom(sizeof(struct event *));
    struct timeval t = {0, PEER_REPAIR_TICK_MS * 1000};
    event_add(rp->tick, &t);
    ps->repair = rp;
    return 0;
}

void peer_repair_stop(struct peer_set *ps)
{
    struct peer_repair *rp = ps->repair;
    if (!rp)
        return;
    scan_clear(rp);
    event_free(rp->tick);
    event_free(rp->pace_ev);
    free(rp);
    ps->repair = NULL;
}

/* Runs on loop 0: the drain begins (the next tick scans once the view has
 * this node leaving). */
static void drain_begin_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_repair *rp = arg;
    (void)fd;
    (void)what;
    rp->draining = 1;
    rp->retry_at = 0;
    rp->have_done = 0;
    if (rp->scanning) /* a scan of the old ring: start over */
        scan_clear(rp);
}

void peer_drain(struct shd_ctx *ctx, struct event_base *main_base, uint64_t timeout_ms,
                void (*done)(void *arg, uint64_t handed, uint64_t left), void *arg)
{
    struct peer_repair *rp = ctx->peers->repair;
    atomic_store(&ctx->peers->draining, 1);
    rp->deadline = peer_now_ms() + timeout_ms;
    rp->main_base = main_base;
    rp->drain_done = done;
    rp->drain_arg = arg;
    rp->drain_logged = peer_now_ms();
    atomic_store(&rp->drain_state, 1);
    shd_info("drain", "draining: handing every block to its next owners seconds=%" PRIu64,
             timeout_ms / 1000);
    if (event_base_once(rp->l->base, -1, EV_TIMEOUT, drain_begin_cb, rp, NULL) != 0)
        shd_oom(sizeof(struct event *));
}

void peer_repair_metrics(struct evbuffer *o, void *arg)
{
    struct shd_ctx *ctx = arg;
    struct peer_repair *rp = ctx->peers ? ctx->peers->repair : NULL;
    if (!rp)
        return;
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } cs[] = {
#define C(f, n, t, h) {n, t, h, offsetof(struct peer_repair, f)}
        C(scans, "shoal_repair_scans_total", "counter",
          "Walks of this node's blocks after a ring change (or a drain)."),
        C(checked, "shoal_repair_blocks_checked_total", "counter",
          "Blocks whose owners were asked whether they hold them."),
        C(pushed, "shoal_repair_blocks_pushed_total", "counter",
          "Missing copies this node gave to a block's owners (repair, warming a new owner, "
          "drain)."),
        C(bytes, "shoal_repair_bytes_pushed_total", "counter", "Bytes of those copies."),
        C(push_failures, "shoal_repair_push_failures_total", "counter",
          "Copies that could not be given (retried by the next scan)."),
        C(holds_failures, "shoal_repair_holds_failures_total", "counter",
          "Owners that did not say which blocks they hold (retried by the next scan)."),
        C(pending, "shoal_repair_pending_blocks", "gauge",
          "Blocks of the current scan not yet checked or given."),
        C(drain_state, "shoal_drain_state", "gauge",
          "0: not draining; 1: handing blocks over; 2: drain over (the node leaves)."),
        C(drain_handed, "shoal_drain_blocks_handed", "gauge",
          "Copies this draining node has handed to the next owners."),
        C(drain_left, "shoal_drain_blocks_left", "gauge",
          "Blocks the drain could not hand over before its deadline."),
#undef C
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        const _Atomic uint64_t *p = (const _Atomic uint64_t *)((const char *)rp + cs[i].off);
        evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", cs[i].name,
                            cs[i].help, cs[i].name, cs[i].type, cs[i].name, atomic_load(p));
    }
}
