/* daemon/store/store_evict.c: the eviction policies of the block store, one
 * instance per tier (memory, each disk), byte-weighted, over nodes embedded
 * in the index entries (no allocation per block). Callers hold s->mu.
 *
 * S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction",
 * SOSP'23): a small FIFO S (10% of the bytes), a main FIFO M (the rest) and
 * a ghost FIFO G of the ids recently evicted from S (as many bytes as M
 * holds; ids only). Each node has a 2-bit hit counter, bumped on a hit
 * without moving anything (lazy promotion).
 *   insert:   into M when its id is in G (it came back soon), else into S
 *   evict:    from S while S holds at least its share (or M is empty),
 *             else from M
 *   from S:   the oldest node; hit at least once -> M (counter cleared;
 *             when M is then over its share, evict from M), else -> G
 *             and it is the victim
 *   from M:   the oldest node; hit -> back to M's head with its counter
 *             minus one, else it is the victim
 * A one-pass scan thus cycles through S and G and never touches M.
 *
 * LRU: one list, a hit moves a node to the head, the tail is the victim. */
#include "daemon/store/store_int.h"
#include "daemon/xalloc.h"

#include <stdlib.h>

/* A ghost entry: 8-byte fingerprint, in a FIFO and a hash chain. */
struct store_ghost_node {
    uint64_t fp;
    struct store_ghost_node *newer, *older, *hnext;
    uint32_t bytes;
};

#define STORE_GHOST_BUCKETS_MIN 64

/* ---- intrusive lists ---------------------------------------------------------- */

static void store_list_init(struct store_list *l)
{
    l->head.next = l->head.prev = &l->head;
    l->bytes = l->count = 0;
}

static void store_list_push(struct store_list *l, struct store_pnode *n)
{
    n->prev = &l->head;
    n->next = l->head.next;
    l->head.next->prev = n;
    l->head.next = n;
    l->bytes += n->bytes;
    l->count++;
}

static void store_list_unlink(struct store_list *l, struct store_pnode *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    l->bytes -= n->bytes;
    l->count--;
}

static struct store_pnode *store_list_oldest(struct store_list *l)
{
    return l->count ? l->head.prev : NULL;
}

/* ---- the ghost queue -------------------------------------------------------------- */

static void store_ghost_init(struct store_ghost *g, uint64_t cap_bytes)
{
    g->buckets = NULL;
    g->nbuckets = 0;
    g->newest = g->oldest = NULL;
    g->bytes = g->count = 0;
    g->cap_bytes = cap_bytes;
}

static size_t store_ghost_slot(const struct store_ghost *g, uint64_t fp)
{
    return (size_t)(fp >> 20) & (g->nbuckets - 1);
}

/* store_ghost_unlink: take N out of the chain and the FIFO, and free it. */
static void store_ghost_unlink(struct store_ghost *g, struct store_ghost_node *n)
{
    struct store_ghost_node **pp = &g->buckets[store_ghost_slot(g, n->fp)];

    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    if (n->newer)
        n->newer->older = n->older;
    else
        g->newest = n->older;
    if (n->older)
        n->older->newer = n->newer;
    else
        g->oldest = n->newer;
    g->bytes -= n->bytes;
    g->count--;
    free(n);
}

static struct store_ghost_node *store_ghost_find(const struct store_ghost *g, uint64_t fp)
{
    struct store_ghost_node *n;

    if (!g->nbuckets)
        return NULL;
    for (n = g->buckets[store_ghost_slot(g, fp)]; n; n = n->hnext)
        if (n->fp == fp)
            return n;
    return NULL;
}

static void store_ghost_grow(struct store_ghost *g)
{
    size_t nb = g->nbuckets ? 2 * g->nbuckets : STORE_GHOST_BUCKETS_MIN;
    struct store_ghost_node **b = shd_xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < g->nbuckets; i++) {
        struct store_ghost_node *n = g->buckets[i], *next;
        for (; n; n = next) {
            next = n->hnext;
            size_t slot = (size_t)(n->fp >> 20) & (nb - 1);
            n->hnext = b[slot];
            b[slot] = n;
        }
    }
    free(g->buckets);
    g->buckets = b;
    g->nbuckets = nb;
}

/* store_ghost_add: remember FP (BYTES) as just evicted; forget the oldest
 * while the ghost holds more than its bytes. */
static void store_ghost_add(struct store_ghost *g, uint64_t fp, uint32_t bytes)
{
    struct store_ghost_node *n = store_ghost_find(g, fp);

    if (n)
        store_ghost_unlink(g, n);
    if (bytes > g->cap_bytes)
        return;
    if (g->count >= g->nbuckets)
        store_ghost_grow(g);
    n = shd_xmalloc(sizeof(*n));
    n->fp = fp;
    n->bytes = bytes;
    size_t slot = store_ghost_slot(g, fp);
    n->hnext = g->buckets[slot];
    g->buckets[slot] = n;
    n->newer = NULL;
    n->older = g->newest;
    if (g->newest)
        g->newest->newer = n;
    else
        g->oldest = n;
    g->newest = n;
    g->bytes += bytes;
    g->count++;
    while (g->bytes > g->cap_bytes)
        store_ghost_unlink(g, g->oldest);
}

/* store_ghost_take: whether FP is in the ghost; it leaves it. */
static int store_ghost_take(struct store_ghost *g, uint64_t fp)
{
    struct store_ghost_node *n = store_ghost_find(g, fp);

    if (!n)
        return 0;
    store_ghost_unlink(g, n);
    return 1;
}

static void store_ghost_fini(struct store_ghost *g)
{
    struct store_ghost_node *n = g->oldest, *next;

    for (; n; n = next) {
        next = n->newer;
        free(n);
    }
    free(g->buckets);
    store_ghost_init(g, g->cap_bytes);
}

/* ---- policies ------------------------------------------------------------------------ */

void store_policy_init(struct store_policy *p, enum shd_eviction kind, uint64_t cap,
                       store_pnode_key key)
{
    p->kind = kind;
    p->cap = cap;
    p->small_cap = cap / 10;
    p->key = key;
    store_list_init(&p->small);
    store_list_init(&p->main);
    store_ghost_init(&p->ghost, cap - p->small_cap);
}

void store_policy_set_cap(struct store_policy *p, uint64_t cap)
{
    p->cap = cap;
    p->small_cap = cap / 10;
    p->ghost.cap_bytes = cap - p->small_cap;
    while (p->ghost.bytes > p->ghost.cap_bytes)
        store_ghost_unlink(&p->ghost, p->ghost.oldest);
}

void store_policy_fini(struct store_policy *p)
{
    store_ghost_fini(&p->ghost);
}

int store_policy_fits(const struct store_policy *p, uint64_t bytes)
{
    return p->cap && bytes <= p->cap && bytes <= UINT32_MAX;
}

uint64_t store_policy_bytes(const struct store_policy *p)
{
    return p->small.bytes + p->main.bytes;
}

uint64_t store_policy_count(const struct store_policy *p)
{
    return p->small.count + p->main.count;
}

/* store_s3_evict_main: the victim from M (M not empty): reinsert hit nodes
 * with one hit less until an unhit one is the oldest. Ends: each pass over a
 * node lowers its counter, which is at most 3. */
static struct store_pnode *store_s3_evict_main(struct store_policy *p)
{
    for (;;) {
        struct store_pnode *t = store_list_oldest(&p->main);
        store_list_unlink(&p->main, t);
        if (t->freq == 0) {
            t->queue = STORE_Q_NONE;
            return t;
        }
        t->freq--;
        store_list_push(&p->main, t);
    }
}

static struct store_pnode *store_s3_victim(struct store_policy *p)
{
    for (;;) {
        if (p->small.count && (p->small.bytes >= p->small_cap || !p->main.count)) {
            struct store_pnode *t = store_list_oldest(&p->small);
            store_list_unlink(&p->small, t);
            if (t->freq == 0) {
                store_ghost_add(&p->ghost, p->key(t), t->bytes);
                t->queue = STORE_Q_NONE;
                return t;
            }
            t->freq = 0;
            t->queue = STORE_Q_MAIN;
            store_list_push(&p->main, t);
            if (p->main.bytes > p->cap - p->small_cap)
                return store_s3_evict_main(p);
        } else if (p->main.count) {
            return store_s3_evict_main(p);
        } else {
            return NULL;
        }
    }
}

struct store_pnode *store_policy_victim(struct store_policy *p, uint64_t need)
{
    struct store_pnode *t;

    if (store_policy_bytes(p) + need <= p->cap || !store_policy_count(p))
        return NULL;
    if (p->kind == SHD_EVICT_S3FIFO)
        return store_s3_victim(p);
    t = store_list_oldest(&p->main);
    store_list_unlink(&p->main, t);
    t->queue = STORE_Q_NONE;
    return t;
}

void store_policy_insert(struct store_policy *p, struct store_pnode *n, uint32_t bytes, int warm)
{
    n->bytes = bytes;
    n->freq = 0;
    if (p->kind == SHD_EVICT_S3FIFO && !warm && !store_ghost_take(&p->ghost, p->key(n))) {
        n->queue = STORE_Q_SMALL;
        store_list_push(&p->small, n);
        return;
    }
    n->queue = STORE_Q_MAIN;
    store_list_push(&p->main, n);
}

void store_policy_hit(struct store_policy *p, struct store_pnode *n)
{
    if (p->kind == SHD_EVICT_S3FIFO) {
        if (n->freq < 3)
            n->freq++;
        return;
    }
    store_list_unlink(&p->main, n);
    store_list_push(&p->main, n);
}

void store_policy_remove(struct store_policy *p, struct store_pnode *n)
{
    if (n->queue == STORE_Q_SMALL)
        store_list_unlink(&p->small, n);
    else if (n->queue == STORE_Q_MAIN)
        store_list_unlink(&p->main, n);
    n->queue = STORE_Q_NONE;
}
