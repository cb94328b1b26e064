/* daemon/store/fill.c: single-flight block fills (see fill.h).
 *
 * A fill is shared by its readers and by the S3 read that feeds it; it is
 * freed when both are gone (refs). Everything about a fill's membership and
 * state is guarded by the table's mutex; the byte count `avail` is atomic so
 * a reader can read the bytes below it without the lock (the block's bytes
 * are written once, before avail moves past them).
 *
 * A run is one ranged GET that fills one or more consecutive blocks of an
 * object, one after the other as the bytes arrive: fewer, larger requests
 * than one per block (S3 and its look-alikes spend much per request). The
 * cap counts runs. A run: QUEUED (over the cap) -> RUNNING (a ufs read in
 * flight) -> finished; each of its blocks ends DONE (stored, removed from
 * the table) the moment its last byte is in, or FAILED with the run.
 *
 * Memory: a run's block buffers are allocated when it starts, out of the
 * request memory budget (budget.h), and each block's share is given back
 * when the block ends (stored: the memory tier accounts for it from then on).
 * Queued runs hold no buffers. A run that cannot have its memory waits in
 * the queue while other runs are in flight (their ends give memory back);
 * with none in flight it fails with UFS_ENOMEM, which readers see as 503
 * SlowDown. */
#include "daemon/store/fill.h"

#include "client/wire.h"
#include "daemon/cluster/peer.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "ufs/ufs.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILL_BUCKETS 4096
#define FILL_COLD_MAX 8 /* blocks of one cold run from S3, at most */

struct fill_wait {
    struct fill_wait *next;
    struct fill *f; /* NULL once detached */
    struct event *ev;
    fill_cb cb;
    void *arg;
    int in_cb, cancelled;
};

struct fill_run;

/* One block being filled, and its readers. */
struct fill {
    struct fill_table *ft;
    struct fill *hnext;
    uint8_t id[STORE_ID_LEN];
    struct store_block *blk;
    _Atomic size_t avail;
    int done, err;
    int refs; /* readers attached + 1 until its run has finished the block */
    struct fill_wait *waiters;
    size_t len;
    int transient; /* not an owner: handed to its readers, not stored */
    int replicate; /* the primary owner: pushed to the other owners once stored */
    uint8_t holders[RING_REPLICAS_MAX][RING_ID_LEN]; /* owners that read it as it filled */
    size_t nholders;
};

/* One ranged GET that fills consecutive blocks of one object, in order. */
struct fill_run {
    struct fill_table *ft;
    struct fill_run *qnext;
    struct shd_loop *loop; /* where the S3 read runs */
    struct ufs *u;         /* its backend on that loop */
    struct event *start_ev;
    struct ufs_req *req;
    char *key, *etag;
    uint64_t off, len; /* the range of the object */
    struct fill **blocks;
    size_t n, cur; /* blocks, and the one being written */
    /* peers to ask before S3 (one block), the next one to ask */
    struct ring_addr peers[RING_REPLICAS_MAX];
    size_t npeers, pi;
    struct peer_call *pc;
    int peer_run;   /* began with a peer: outside the cap, even once it falls back to S3 */
    uint32_t flags; /* of the GETs to peers */
    char *bucket;
    uint64_t size, index; /* the object's size; the number of its first block */
    /* a run from S3 that asked first who holds its blocks (peer_probe):
     * block k comes from node hold[k] of h (-1: from S3); the S3 read in
     * flight ends before block seg_end */
    int probed;
    struct peer_holders h;
    int8_t hold[FILL_COLD_MAX];
    size_t seg_end;
};

/* Hot blocks get copies beyond their owners: a node that does not own a
 * block and has fetched it from the owners cluster.hot_copy_after times within
 * about FILL_HOT_AGE_MS keeps the next copy it fetches (in its store, as
 * any block, and evicted as any). Under a skewed load the few hottest
 * blocks are then served by every node that is asked for them, not by
 * their R owners alone. Counted in a small table of 4-bit counters by
 * block id hash, halved every FILL_HOT_AGE_MS (a count-min sketch of one
 * row: collisions can only make a block look hotter). */
#define FILL_HOT_SLOTS 65536
#define FILL_HOT_AGE_MS 10000

struct fill_table {
    struct shd_ctx *ctx;
    pthread_mutex_t lock;
    uint8_t hot[FILL_HOT_SLOTS]; /* fetches from owners by non-owners, aged */
    uint64_t hot_aged_ms;
    struct fill *table[FILL_BUCKETS];
    struct fill_run *qhead, *qtail;
    size_t running, queued, max;
    size_t peer_runs; /* runs that ask peers first: not capped */
};

static unsigned bucket_of(const uint8_t id[STORE_ID_LEN])
{
    return ((unsigned)id[0] << 8 | id[1]) % FILL_BUCKETS;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One more fetch of block ID from its owners by this node, which owns no
 * copy: whether it is hot enough to keep (cluster.hot_copy_after; 0:
 * never). Lock held. */
static int hot_locked(struct fill_table *ft, const uint8_t id[STORE_ID_LEN])
{
    unsigned keep = ft->ctx->cfg->cluster.hot_copy_after;
    if (!keep)
        return 0;
    uint64_t now = now_ms();
    if (now - ft->hot_aged_ms >= FILL_HOT_AGE_MS) {
        for (size_t i = 0; i < FILL_HOT_SLOTS; i++)
            ft->hot[i] >>= 1;
        ft->hot_aged_ms = now;
    }
    uint8_t *c = &ft->hot[((unsigned)id[2] << 8 | id[3]) % FILL_HOT_SLOTS];
    if (*c < 15)
        (*c)++;
    return *c >= keep;
}

int fill_table_new(struct shd_ctx *ctx, struct fill_table **out)
{
    struct fill_table *ft = shd_xcalloc(1, sizeof(*ft));
    ft->ctx = ctx;
    ft->max = ctx->cfg->cache.max_fills ? ctx->cfg->cache.max_fills : 64;
    pthread_mutex_init(&ft->lock, NULL);
    *out = ft;
    return 0;
}

void fill_table_free(struct fill_table *ft)
{
    if (!ft)
        return;
    pthread_mutex_destroy(&ft->lock);
    free(ft);
}

void fill_counts(struct fill_table *ft, size_t *running, size_t *queued)
{
    pthread_mutex_lock(&ft->lock);
    *running = ft->running;
    *queued = ft->queued;
    pthread_mutex_unlock(&ft->lock);
}

/* Drops a reference; frees the fill when none is left. Lock held. */
static void fill_unref_locked(struct fill *f)
{
    if (--f->refs > 0)
        return;
    store_block_unref(f->blk);
    free(f);
}

static void unhash_locked(struct fill *f)
{
    struct fill **pp = &f->ft->table[bucket_of(f->id)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
}

static struct fill *find_locked(struct fill_table *ft, const uint8_t id[STORE_ID_LEN])
{
    struct fill *f;
    for (f = ft->table[bucket_of(id)]; f; f = f->hnext)
        if (memcmp(f->id, id, STORE_ID_LEN) == 0)
            break;
    return f;
}

static void notify_locked(struct fill *f)
{
    for (struct fill_wait *w = f->waiters; w; w = w->next)
        event_active(w->ev, 0, 0);
}

static void wait_ev(evutil_socket_t fd, short what, void *arg)
{
    struct fill_wait *w = arg;
    struct fill *f = w->f;
    struct fill_table *ft;
    struct store_block *b;
    size_t avail;
    int done, err, last;
    (void)fd;
    (void)what;
    if (!f)
        return;
    ft = f->ft;
    pthread_mutex_lock(&ft->lock);
    avail = atomic_load_explicit(&f->avail, memory_order_acquire);
    done = f->done;
    err = f->err;
    last = done || err;
    b = f->blk ? store_block_ref(f->blk) : NULL; /* NULL: failed before it started */
    if (last) {                                  /* detach now: the final call is the last */
        struct fill_wait **pp = &f->waiters;
        while (*pp != w)
            pp = &(*pp)->next;
        *pp = w->next;
        w->f = NULL;
        fill_unref_locked(f);
    }
    pthread_mutex_unlock(&ft->lock);
    w->in_cb = 1;
    w->cb(w->arg, b, avail, done, err);
    w->in_cb = 0;
    store_block_unref(b);
    if (last || w->cancelled) {
        if (w->cancelled && w->f) {
            /* cancelled inside a progress call: detach now */
            pthread_mutex_lock(&ft->lock);
            struct fill_wait **pp = &w->f->waiters;
            while (*pp != w)
                pp = &(*pp)->next;
            *pp = w->next;
            fill_unref_locked(w->f);
            pthread_mutex_unlock(&ft->lock);
        }
        event_free(w->ev);
        free(w);
    }
}

void fill_wait_cancel(struct fill_wait *w)
{
    struct fill *f;
    if (!w)
        return;
    if (w->in_cb) {
        w->cancelled = 1;
        return;
    }
    f = w->f;
    if (f) {
        struct fill_table *ft = f->ft;
        pthread_mutex_lock(&ft->lock);
        struct fill_wait **pp = &f->waiters;
        while (*pp != w)
            pp = &(*pp)->next;
        *pp = w->next;
        fill_unref_locked(f);
        pthread_mutex_unlock(&ft->lock);
    }
    event_free(w->ev);
    free(w);
}

/* The pushes of a filled block to its owners ended: it leaves the table. */
static void pushed(void *arg)
{
    struct fill *f = arg;
    struct fill_table *ft = f->ft;
    pthread_mutex_lock(&ft->lock);
    unhash_locked(f);
    fill_unref_locked(f);
    pthread_mutex_unlock(&ft->lock);
}

/* block_end: the run is done with F: complete (err 0, the block goes into
 * the store) or failed. A block being pushed to its owners stays in the
 * table, complete, until they have it: an owner asking for it meanwhile
 * joins it rather than having it filled again. Runs on the run's loop, lock
 * not held. */
static void block_end(struct fill_run *r, struct fill *f, int err)
{
    struct fill_table *ft = f->ft;
    int push;
    if (!err && atomic_load(&f->avail) != f->len)
        err = UFS_EPROTO; /* the object is shorter than its metadata says */
    if (!err && !f->transient)
        store_put(ft->ctx->store, f->blk);
    push = !err && f->replicate;
    if (f->blk)
        shd_budget_give(&ft->ctx->reqmem, SHD_MEM_FILL, f->len);
    uint8_t holders[RING_REPLICAS_MAX][RING_ID_LEN];
    size_t nholders;
    pthread_mutex_lock(&ft->lock);
    if (push)
        f->refs++; /* the pushes' */
    else
        unhash_locked(f);
    if (err)
        f->err = err;
    else
        f->done = 1;
    nholders = f->nholders; /* no more come: it is done */
    memcpy(holders, f->holders, nholders * RING_ID_LEN);
    notify_locked(f);
    fill_unref_locked(f);
    pthread_mutex_unlock(&ft->lock);
    if (push)
        peer_replicate_but(r->loop, f->blk, (const uint8_t(*)[RING_ID_LEN])holders, nholders,
                           pushed, f);
}

void fill_note_holder(struct fill_table *ft, const uint8_t *id, const uint8_t *node)
{
    pthread_mutex_lock(&ft->lock);
    struct fill *f = find_locked(ft, id);
    if (f && !f->done && !f->err && f->nholders < RING_REPLICAS_MAX)
        memcpy(f->holders[f->nholders++], node, RING_ID_LEN);
    pthread_mutex_unlock(&ft->lock);
}

static void run_free(struct fill_run *r)
{
    if (r->start_ev)
        event_free(r->start_ev);
    free(r->blocks);
    free(r->key);
    free(r->etag);
    free(r->bucket);
    free(r);
}

/* The S3 read ended (err 0: complete). Runs on the run's loop: the blocks
 * not finished yet fail, the next queued run starts. */
static void run_finish(struct fill_run *r, int err)
{
    struct fill_table *ft = r->ft;
    struct fill_run *next = NULL;
    for (; r->cur < r->n; r->cur++)
        block_end(r, r->blocks[r->cur], err ? err : UFS_EPROTO);
    pthread_mutex_lock(&ft->lock);
    if (r->peer_run)
        ft->peer_runs--;
    else
        ft->running--;
    if (ft->qhead && ft->running < ft->max) {
        next = ft->qhead;
        ft->qhead = next->qnext;
        if (!ft->qhead)
            ft->qtail = NULL;
        ft->queued--;
        if (next->peer_run)
            ft->peer_runs++;
        else
            ft->running++;
    }
    pthread_mutex_unlock(&ft->lock);
    if (err)
        shd_debug("fill", "block fill failed err=\"%s\"", ufs_strerror(err));
    run_free(r);
    if (next)
        event_active(next->start_ev, 0, 0); /* on its own loop */
}

/* Bytes of the run's range, in order: into the current block, which ends
 * (is stored and its readers told) as soon as it is whole. */
static int read_data(void *arg, const void *buf, size_t len)
{
    struct fill_run *r = arg;
    const uint8_t *p = buf;
    while (len) {
        if (r->cur == r->seg_end)
            return UFS_READ_ABORT; /* more bytes than the range holds */
        struct fill *f = r->blocks[r->cur];
        size_t have = atomic_load_explicit(&f->avail, memory_order_relaxed);
        size_t n = len < f->len - have ? len : f->len - have;
        uint8_t *to = store_block_data(f->blk) + have;
        if (to != p) /* else a peer read put them there (peer_read's DST) */
            memcpy(to, p, n);
        atomic_store_explicit(&f->avail, have + n, memory_order_release);
        p += n;
        len -= n;
        if (have + n == f->len) {
            r->cur++;
            block_end(r, f, 0);
        } else {
            pthread_mutex_lock(&r->ft->lock);
            notify_locked(f);
            pthread_mutex_unlock(&r->ft->lock);
        }
    }
    return UFS_READ_GO;
}

static void run_next(struct fill_run *r);

static void read_done(void *arg, int err, const struct ufs_stat *st)
{
    struct fill_run *r = arg;
    (void)st;
    if (err == UFS_ECANCELED)
        err = UFS_EPROTO; /* we aborted: the object is longer than expected */
    r->req = NULL;
    if (!err && r->probed && r->cur < r->n && r->cur == r->seg_end)
        run_next(r); /* the blocks after this segment come from their holders */
    else
        run_finish(r, err);
}

static const struct ufs_read_cbs read_cbs = {read_data, read_done};

/* run_memory: takes the run's memory and allocates its blocks: 0; or
 * puts the run back at the head of the queue when other runs are in
 * flight (1); or UFS_ENOMEM with none. */
static int run_memory(struct fill_run *r)
{
    struct fill_table *ft = r->ft;
    pthread_mutex_lock(&ft->lock);
    if (shd_budget_take(&ft->ctx->reqmem, SHD_MEM_FILL, r->len) != 0) {
        int wait = ft->running + ft->peer_runs > 1;
        if (wait) {
            if (r->peer_run)
                ft->peer_runs--;
            else
                ft->running--;
            r->qnext = ft->qhead;
            ft->qhead = r;
            if (!ft->qtail)
                ft->qtail = r;
            ft->queued++;
        }
        pthread_mutex_unlock(&ft->lock);
        return wait ? 1 : UFS_ENOMEM;
    }
    for (size_t k = 0; k < r->n; k++) {
        struct fill *f = r->blocks[k];
        f->blk = store_block_new(f->id, f->len);
        if (!f->blk)
            shd_oom(f->len);
    }
    pthread_mutex_unlock(&ft->lock);
    return 0;
}

/* The bytes still missing from the run's one block, from S3. */
static void run_s3(struct fill_run *r)
{
    size_t have = atomic_load(&r->blocks[0]->avail);
    if (!r->u) {
        run_finish(r, UFS_EUNAVAIL);
        return;
    }
    SHD_METRIC_ADD(fills, r->n - r->cur);
    if (r->npeers)
        SHD_METRIC_INC(fills_after_peers);
    r->req = ufs_read(r->u, r->key, r->off + have, r->len - have, r->etag, &read_cbs, r);
    if (!r->req)
        run_finish(r, UFS_EINVAL);
}

static void run_peer(struct fill_run *r);

static void peer_done(void *arg, int err, const struct ufs_stat *st)
{
    struct fill_run *r = arg;
    (void)st;
    r->pc = NULL;
    if (!err || err == UFS_EPRECOND || err == UFS_ENOENT || err == UFS_ECANCELED ||
        r->cur == r->n) {
        run_finish(r, err); /* the object changed or is gone: S3 would say so too */
        return;
    }
    r->pi++;
    if (r->pi < r->npeers)
        run_peer(r);
    else
        run_s3(r);
}

static const struct ufs_read_cbs peer_cbs = {read_data, peer_done};

/* The bytes still missing from the run's one block, from peer r->pi. */
static void run_peer(struct fill_run *r)
{
    struct fill *f = r->blocks[0];
    size_t have = atomic_load(&f->avail);
    struct peer_block_ref ref = {r->bucket, r->key, r->etag, r->size, r->index, r->flags};
    r->pc = peer_read(r->loop, &r->peers[r->pi], &ref, (uint32_t)have, (uint32_t)(f->len - have),
                      store_block_data(f->blk) + have, &peer_cbs, r);
}

/* ---- a probed run: each block from a node that holds it, the rest from S3 ---- */

static void held_done(void *arg, int err, const struct ufs_stat *st)
{
    struct fill_run *r = arg;
    (void)st;
    r->pc = NULL;
    if (err == UFS_EPRECOND || err == UFS_ENOENT || err == UFS_ECANCELED) {
        run_finish(r, err);
        return;
    }
    if (err) {
        r->hold[r->cur] = -1; /* gone from there: the rest of it from S3 */
    } else {
        SHD_METRIC_INC(fills_from_holders);
    }
    run_next(r);
}

static const struct ufs_read_cbs held_cbs = {read_data, held_done};

/* The next block of a probed run: from its holder, or, with the blocks
 * after it that nobody holds, from S3. */
static void run_next(struct fill_run *r)
{
    if (r->cur == r->n) {
        run_finish(r, 0);
        return;
    }
    struct fill *f = r->blocks[r->cur];
    size_t have = atomic_load(&f->avail);
    uint64_t bs = r->ft->ctx->block_size;
    if (r->hold[r->cur] >= 0) {
        struct peer_block_ref ref = {r->bucket,         r->key,     r->etag, r->size,
                                     r->index + r->cur, WIRE_F_HELD};
        r->seg_end = r->cur + 1;
        r->pc = peer_read(r->loop, &r->h.addr[r->hold[r->cur]], &ref, (uint32_t)have,
                          (uint32_t)(f->len - have), store_block_data(f->blk) + have, &held_cbs, r);
        return;
    }
    size_t e = r->cur + 1;
    while (e < r->n && r->hold[e] < 0)
        e++;
    r->seg_end = e;
    uint64_t from = r->off + r->cur * bs + have, to = r->off + e * bs;
    if (to > r->off + r->len)
        to = r->off + r->len;
    SHD_METRIC_ADD(fills, e - r->cur);
    r->req = ufs_read(r->u, r->key, from, to - from, r->etag, &read_cbs, r);
    if (!r->req)
        run_finish(r, UFS_EINVAL);
}

static void on_probe(void *arg, const struct peer_holders *h)
{
    struct fill_run *r = arg;
    r->h = *h;
    for (size_t k = 0; k < r->n; k++) {
        r->hold[k] = -1;
        for (size_t c = 0; c < h->nnodes; c++) {
            if (!(h->held[k] & (1u << c)))
                continue;
            if (r->hold[k] < 0)
                r->hold[k] = (int8_t)c;
            /* an owner that holds it needs no push */
            struct fill *f = r->blocks[k];
            pthread_mutex_lock(&r->ft->lock);
            if (f->nholders < RING_REPLICAS_MAX)
                memcpy(f->holders[f->nholders++], h->id[c], RING_ID_LEN);
            pthread_mutex_unlock(&r->ft->lock);
        }
    }
    if (h->cancelled) { /* shutting down */
        run_finish(r, UFS_ECANCELED);
        return;
    }
    run_next(r);
}

static void run_start(struct fill_run *r)
{
    int rc = run_memory(r);
    if (rc == 1)
        return; /* queued again: a run that ends starts it */
    if (rc) {
        shd_warn("fill",
                 "no request memory for a fill, refused (raise cache.request_memory) "
                 "bytes=%llu",
                 (unsigned long long)r->len);
        run_finish(r, rc);
        return;
    }
    if (r->npeers) {
        run_peer(r);
        return;
    }
    if (r->bucket && r->n <= PEER_PROBE_BLOCKS && peer_probe_wanted(r->ft->ctx)) {
        uint8_t ids[PEER_PROBE_BLOCKS][RING_ID_LEN];
        for (size_t k = 0; k < r->n; k++)
            memcpy(ids[k], r->blocks[k]->id, RING_ID_LEN);
        r->probed = 1;
        peer_probe(r->loop, (const uint8_t(*)[RING_ID_LEN])ids, r->n, on_probe, r);
        return;
    }
    SHD_METRIC_ADD(fills, r->n);
    r->req = ufs_read(r->u, r->key, r->off, r->len, r->etag, &read_cbs, r);
    if (!r->req)
        run_finish(r, UFS_EINVAL);
}

static void start_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_start(arg);
}

/* run_new_locked: a run over the REQS[0..n) blocks (none of them in the
 * table), their fills hashed, queued or marked to start; returns it, and
 * whether it starts now in *start. */
static struct fill_run *run_new_locked(struct fill_table *ft, struct shd_loop *l,
                                       const struct fill_req *reqs, size_t n, int *start)
{
    struct fill_run *r = shd_xcalloc(1, sizeof(*r));
    uint64_t bs = ft->ctx->block_size;
    r->ft = ft;
    r->loop = l;
    r->u = reqs[0].u;
    r->key = shd_xstrdup(reqs[0].key);
    r->etag = shd_xstrdup(reqs[0].etag);
    r->off = reqs[0].index * bs;
    r->index = reqs[0].index;
    r->size = reqs[0].size;
    if (reqs[0].bucket)
        r->bucket = shd_xstrdup(reqs[0].bucket);
    const struct peer_route *rt = reqs[0].route;
    if (rt && !rt->primary && rt->npeers) {
        n = 1; /* a peer serves one block per request */
        r->npeers = rt->npeers;
        r->peer_run = 1;
        r->flags = rt->local ? WIRE_F_LOCAL : 0;
        memcpy(r->peers, rt->peers, rt->npeers * sizeof(r->peers[0]));
        if (!r->bucket)
            r->bucket = shd_xstrdup("");
    }
    r->blocks = shd_xcalloc(n, sizeof(*r->blocks));
    r->n = n;
    r->seg_end = n;
    r->start_ev = event_new(l->base, -1, 0, start_ev_cb, r);
    if (!r->start_ev)
        shd_oom(sizeof(struct event *));
    for (size_t k = 0; k < n; k++) {
        struct fill *f = shd_xcalloc(1, sizeof(*f));
        f->ft = ft;
        memcpy(f->id, reqs[k].id, STORE_ID_LEN);
        f->len = reqs[k].len; /* f->blk: when the run starts */
        f->refs = 1;          /* the run */
        /* each block of a run from S3 has its own owners: kept here when
         * this node is one, pushed to the others */
        const struct peer_route *bt = reqs[k].route;
        f->transient = bt && !bt->owner;
        if (f->transient && hot_locked(ft, f->id)) {
            f->transient = 0; /* a hot block: this node keeps a copy too */
            SHD_METRIC_INC(hot_copies);
        }
        f->replicate = bt && bt->primary && bt->npeers;
        f->hnext = ft->table[bucket_of(f->id)];
        ft->table[bucket_of(f->id)] = f;
        r->blocks[k] = f;
        r->len += f->len;
    }
    /* the cap is for S3: a run that asks peers first starts at once (its
     * memory is bounded by the budget), or nodes waiting on each other's
     * capped queues could wait for ever */
    *start = r->npeers || ft->running < ft->max;
    if (r->npeers) {
        ft->peer_runs++;
    } else if (*start) {
        ft->running++;
    } else {
        if (ft->qtail)
            ft->qtail->qnext = r;
        else
            ft->qhead = r;
        ft->qtail = r;
        ft->queued++;
    }
    return r;
}

size_t fill_run(struct fill_table *ft, struct shd_loop *l, const struct fill_req *reqs, size_t n)
{
    struct fill_run *r = NULL;
    size_t k;
    int start = 0;
    pthread_mutex_lock(&ft->lock);
    for (k = 0; k < n && !find_locked(ft, reqs[k].id); k++)
        ;
    if (k > 1 && reqs[0].route && !reqs[0].route->primary && reqs[0].route->npeers)
        k = 1;
    if (k)
        r = run_new_locked(ft, l, reqs, k, &start);
    pthread_mutex_unlock(&ft->lock);
    if (start)
        event_active(r->start_ev, 0, 0); /* start from the loop, not from inside a caller */
    return k;
}

/* The request of block IDX of O for a cold fill, its route in *RT, its id in
 * ID: filled here (primary) and pushed to the other owners when this node
 * is the filler of its run (FILLER 1), else asked of the filler. */
static void cold_req(struct fill_table *ft, const struct fill_obj *o, uint64_t idx, int filler,
                     const struct ring_addr *faddr, uint8_t id[STORE_ID_LEN], struct peer_route *rt,
                     struct fill_req *out)
{
    uint64_t bs = ft->ctx->block_size, rest = o->size - idx * bs;
    if (ring_block_id(o->mname, o->key, o->etag, bs, idx, id) != 0)
        shd_oom(0);
    peer_route(ft->ctx, id, rt);
    if (filler) {
        rt->primary = 1;
    } else {
        rt->primary = 0;
        rt->owner = 1; /* asked as an owner, or it is the primary */
        rt->local = 1; /* the filler must fill, not ask on */
        rt->npeers = 1;
        rt->peers[0] = *faddr;
    }
    *out =
        (struct fill_req){o->u, o->mount, o->key,    o->etag, idx, (size_t)(rest < bs ? rest : bs),
                          id,   rt,       o->bucket, o->size};
}

void fill_cold_start(struct fill_table *ft, struct shd_loop *l, const struct fill_obj *o,
                     uint64_t idx, uint64_t lo, uint64_t hi)
{
    uint64_t bs = ft->ctx->block_size, nb = (o->size + bs - 1) / bs;
    uint64_t first = idx - idx % PEER_RUN_BLOCKS;
    uint8_t ids[FILL_COLD_MAX][STORE_ID_LEN], id0[STORE_ID_LEN];
    struct peer_route rts[FILL_COLD_MAX];
    struct fill_req reqs[FILL_COLD_MAX];
    struct ring_addr faddr;
    if (idx >= nb || lo > idx || hi < idx)
        return;
    if (hi >= nb)
        hi = nb - 1;
    if (ring_block_id(o->mname, o->key, o->etag, bs, first, id0) != 0)
        shd_oom(0);
    if (!peer_filler(ft->ctx, id0, &faddr)) {
        cold_req(ft, o, idx, 0, &faddr, ids[0], &rts[0], &reqs[0]);
        fill_run(ft, l, reqs, 1);
        return;
    }
    /* the missing blocks around IDX, within [lo, hi], in runs this node fills */
    if (lo < first)
        lo = first;
    uint64_t a = idx;
    while (a > lo) {
        uint8_t id[STORE_ID_LEN];
        if (ring_block_id(o->mname, o->key, o->etag, bs, a - 1, id) != 0)
            shd_oom(0);
        if (store_holds(ft->ctx->store, id))
            break;
        a--;
    }
    size_t n = 0;
    for (uint64_t i = a; i <= hi && n < FILL_COLD_MAX; i++) {
        cold_req(ft, o, i, 1, NULL, ids[n], &rts[n], &reqs[n]);
        if (i > idx && (store_holds(ft->ctx->store, ids[n]) ||
                        (i % PEER_RUN_BLOCKS == 0 && !peer_filler(ft->ctx, ids[n], &faddr))))
            break; /* held, or the next run is another node's */
        n++;
    }
    fill_run(ft, l, reqs, n);
}

struct fill_wait *fill_cold(struct fill_table *ft, struct shd_loop *l, const struct fill_obj *o,
                            uint64_t idx, uint64_t lo, uint64_t hi, fill_cb cb, void *arg)
{
    uint8_t id[STORE_ID_LEN], id0[STORE_ID_LEN];
    uint64_t bs = ft->ctx->block_size;
    struct peer_route rt;
    struct fill_req fr;
    struct ring_addr faddr;
    fill_cold_start(ft, l, o, idx, lo, hi);
    if (ring_block_id(o->mname, o->key, o->etag, bs, idx - idx % PEER_RUN_BLOCKS, id0) != 0)
        shd_oom(0);
    int filler = peer_filler(ft->ctx, id0, &faddr);
    cold_req(ft, o, idx, filler, &faddr, id, &rt, &fr);
    return fill_block(ft, l, &fr, cb, arg); /* joins the fill just started */
}

struct fill_wait *fill_cold_here(struct fill_table *ft, struct shd_loop *l,
                                 const struct fill_obj *o, uint64_t idx, fill_cb cb, void *arg)
{
    uint8_t id[STORE_ID_LEN];
    struct peer_route rt;
    struct fill_req fr;
    cold_req(ft, o, idx, 1, NULL, id, &rt, &fr);
    return fill_block(ft, l, &fr, cb, arg);
}

struct fill_wait *fill_block(struct fill_table *ft, struct shd_loop *l, const struct fill_req *req,
                             fill_cb cb, void *arg)
{
    struct fill_wait *w = shd_xcalloc(1, sizeof(*w));
    struct fill_run *r = NULL;
    struct fill *f;
    int start = 0;
    w->cb = cb;
    w->arg = arg;
    w->ev = event_new(l->base, -1, 0, wait_ev, w);
    if (!w->ev)
        shd_oom(sizeof(struct event *));
    pthread_mutex_lock(&ft->lock);
    f = find_locked(ft, req->id);
    if (f) {
        SHD_METRIC_INC(fills_deduplicated);
        if (atomic_load(&f->avail) > 0)
            event_active(w->ev, 0, 0); /* bytes already in */
    } else {
        r = run_new_locked(ft, l, req, 1, &start);
        f = r->blocks[0];
    }
    w->f = f;
    f->refs++;
    w->next = f->waiters;
    f->waiters = w;
    pthread_mutex_unlock(&ft->lock);
    if (start)
        event_active(r->start_ev, 0, 0); /* start from the loop, not from inside a caller */
    return w;
}
