/* daemon/cluster/peer_probe.c: peers before S3. After the ring changes, a
 * block's new owner may lack it while a copy lives on a node that owned it
 * before (a join moved it), on another replica (a death made this node its
 * filler), or on a node that is leaving (a drain not finished yet). Before
 * a fill reads S3, it asks those nodes which of its blocks they hold (one
 * HOLDS each, in parallel, answered from their indexes) and takes the held
 * ones from them (fill.c).
 *
 * Who is asked, for each block: the owners of the next R + 2 places along
 * the ring that are alive (a join of up to two nodes leaves the previous
 * owners there), then every node that is leaving; this node and suspect
 * nodes never (a paused node would hold every cold read up). */
#include "daemon/cluster/peer_int.h"

#include "daemon/xalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct probe;

struct probe_ask {
    struct probe *p;
    size_t node; /* index into p->h */
};

struct probe {
    struct peer_holders h;
    struct probe_ask ask[PEER_PROBE_NODES];
    uint8_t ids[PEER_PROBE_BLOCKS * RING_ID_LEN];
    size_t n, pending;
    struct peer_set *ps;
    void (*cb)(void *arg, const struct peer_holders *h);
    void *arg;
};

int peer_probe_wanted(struct shd_ctx *ctx)
{
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    return v && v->nmembers > 1 && peer_now_ms() - v->changed_ms < PEER_HANDOFF_MS;
}

static const struct wire_member *member_of(const struct cluster_view *v, const uint8_t *id)
{
    for (size_t i = 0; i < v->nmembers; i++)
        if (memcmp(v->members[i].id, id, RING_ID_LEN) == 0)
            return &v->members[i];
    return NULL;
}

/* Adds member W to the nodes asked, once. */
static void add_node(struct peer_holders *h, const struct wire_member *w, const uint8_t *self)
{
    if (!w || memcmp(w->id, self, RING_ID_LEN) == 0 || h->nnodes == PEER_PROBE_NODES)
        return;
    for (size_t i = 0; i < h->nnodes; i++)
        if (memcmp(h->id[i], w->id, RING_ID_LEN) == 0)
            return;
    memcpy(h->id[h->nnodes], w->id, RING_ID_LEN);
    h->addr[h->nnodes++] = w->addr;
}

static void probe_end(struct probe *p)
{
    for (size_t k = 0; k < p->n; k++)
        if (p->h.held[k])
            atomic_fetch_add_explicit(&p->ps->st.probe_hits, 1, memory_order_relaxed);
    p->cb(p->arg, &p->h);
    free(p);
}

static void on_held(void *arg, int err, const uint8_t *bits, size_t n)
{
    struct probe_ask *a = arg;
    struct probe *p = a->p;
    if (err == UFS_ECANCELED)
        p->h.cancelled = 1;
    for (size_t k = 0; !err && k < n && k < p->n; k++)
        if (bits[k / 8] & (1u << (k % 8)))
            p->h.held[k] |= (uint8_t)(1u << a->node);
    if (--p->pending == 0)
        probe_end(p);
}

static void none_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_end(arg);
}

void peer_probe(struct shd_loop *l, const uint8_t (*ids)[RING_ID_LEN], size_t n,
                void (*cb)(void *arg, const struct peer_holders *h), void *arg)
{
    struct shd_ctx *ctx = l->ctx;
    struct probe *p = shd_xcalloc(1, sizeof(*p));
    const struct cluster_view *v = ctx->peers ? cluster_view(ctx->peers->cluster) : NULL;
    p->ps = ctx->peers;
    p->cb = cb;
    p->arg = arg;
    p->n = n < PEER_PROBE_BLOCKS ? n : PEER_PROBE_BLOCKS;
    memcpy(p->ids, ids, p->n * RING_ID_LEN);
    if (v && ring_size(v->ring) > 0) {
        size_t want = (size_t)ctx->cfg->cluster.replication + 2;
        uint32_t own[RING_REPLICAS_MAX];
        if (want > RING_REPLICAS_MAX)
            want = RING_REPLICAS_MAX;
        for (size_t k = 0; k < p->n; k++) {
            size_t no = ring_owners(v->ring, ids[k], want, own);
            for (size_t i = 0; i < no; i++) {
                const struct wire_member *w = member_of(v, ring_member_at(v->ring, own[i])->id);
                if (w && w->state == RING_ALIVE)
                    add_node(&p->h, w, ctx->node_id);
            }
        }
        for (size_t i = 0; i < v->nmembers; i++)
            if (v->members[i].state == RING_LEAVING)
                add_node(&p->h, &v->members[i], ctx->node_id);
    }
    if (!p->ps || p->h.nnodes == 0) {
        if (event_base_once(l->base, -1, EV_TIMEOUT, none_cb, p, NULL) != 0)
            shd_oom(sizeof(struct event *));
        return;
    }
    atomic_fetch_add_explicit(&p->ps->st.probes, 1, memory_order_relaxed);
    p->pending = p->h.nnodes;
    for (size_t c = 0; c < p->h.nnodes; c++) {
        p->ask[c].p = p;
        p->ask[c].node = c;
        peer_holds(l, &p->h.addr[c], p->ids, p->n, PEER_PROBE_MS, on_held, &p->ask[c]);
    }
}
