/* daemon/fill.c: single-flight block fills (see fill.h).
 *
 * A fill is shared by its readers and by the S3 read that feeds it; it is
 * freed when both are gone (refs). Everything about a fill's membership and
 * state is guarded by the table's mutex; the byte count `avail` is atomic so
 * a reader can read the bytes below it without the lock (the block's bytes
 * are written once, before avail moves past them).
 *
 * Fill states: QUEUED (over the cap) -> RUNNING (a ufs read in flight) ->
 * DONE or FAILED (removed from the table; readers get their last call). */
#include "daemon/fill.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/shd.h"
#include "daemon/store.h"
#include "daemon/xalloc.h"
#include "ufs/ufs.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FILL_BUCKETS 4096

struct fill_wait {
    struct fill_wait *next;
    struct fill *f; /* NULL once detached */
    struct event *ev;
    fill_cb cb;
    void *arg;
    int in_cb, cancelled;
};

struct fill {
    struct fill_table *ft;
    struct fill *hnext, *qnext;
    uint8_t id[STORE_ID_LEN];
    struct store_block *blk;
    _Atomic size_t avail;
    int done, err, queued;
    int refs; /* readers attached + 1 while the S3 read is pending */
    struct fill_wait *waiters;
    struct shd_loop *loop; /* where the S3 read runs */
    struct ufs *u;         /* its backend on that loop */
    struct event *start_ev;
    struct ufs_req *req;
    int mount;
    char *key, *etag;
    uint64_t off;
    size_t len;
};

struct fill_table {
    struct shd_ctx *ctx;
    pthread_mutex_t lock;
    struct fill *table[FILL_BUCKETS];
    struct fill *qhead, *qtail;
    size_t running, queued, max;
};

static unsigned bucket_of(const uint8_t id[STORE_ID_LEN])
{
    return ((unsigned)id[0] << 8 | id[1]) % FILL_BUCKETS;
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
    if (f->start_ev)
        event_free(f->start_ev);
    free(f->key);
    free(f->etag);
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
    b = store_block_ref(f->blk);
    if (last) { /* detach now: the final call is the last */
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

static void fill_start(struct fill *f);

/* The S3 read ended (err 0: complete). Runs on the fill's loop. */
static void fill_finish(struct fill *f, int err)
{
    struct fill_table *ft = f->ft;
    struct fill *next = NULL;
    if (!err && atomic_load(&f->avail) != f->len)
        err = UFS_EPROTO; /* the object is shorter than its metadata says */
    if (!err)
        store_put(ft->ctx->store, f->blk);
    pthread_mutex_lock(&ft->lock);
    unhash_locked(f);
    if (err)
        f->err = err;
    else
        f->done = 1;
    f->req = NULL;
    notify_locked(f);
    ft->running--;
    if (ft->qhead && ft->running < ft->max) {
        next = ft->qhead;
        ft->qhead = next->qnext;
        if (!ft->qhead)
            ft->qtail = NULL;
        ft->queued--;
        ft->running++;
        next->queued = 0;
    }
    fill_unref_locked(f);
    pthread_mutex_unlock(&ft->lock);
    if (err)
        shd_debug("fill", "block fill failed err=\"%s\"", ufs_strerror(err));
    if (next)
        event_active(next->start_ev, 0, 0); /* on its own loop */
}

static int read_data(void *arg, const void *buf, size_t len)
{
    struct fill *f = arg;
    size_t have = atomic_load_explicit(&f->avail, memory_order_relaxed);
    if (len > f->len - have)
        return UFS_READ_ABORT; /* more bytes than the block holds */
    memcpy(store_block_data(f->blk) + have, buf, len);
    atomic_store_explicit(&f->avail, have + len, memory_order_release);
    pthread_mutex_lock(&f->ft->lock);
    notify_locked(f);
    pthread_mutex_unlock(&f->ft->lock);
    return UFS_READ_GO;
}

static void read_done(void *arg, int err, const struct ufs_stat *st)
{
    struct fill *f = arg;
    (void)st;
    if (err == UFS_ECANCELED)
        err = UFS_EPROTO; /* we aborted: the object is longer than expected */
    fill_finish(f, err);
}

static const struct ufs_read_cbs read_cbs = {read_data, read_done};

static void fill_start(struct fill *f)
{
    SHD_METRIC_INC(fills);
    f->req = ufs_read(f->u, f->key, f->off, f->len, f->etag, &read_cbs, f);
    if (!f->req)
        fill_finish(f, UFS_EINVAL);
}

static void start_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fill_start(arg);
}

struct fill_wait *fill_block(struct fill_table *ft, struct shd_loop *l, const struct fill_req *req,
                             fill_cb cb, void *arg)
{
    struct fill_wait *w = shd_xcalloc(1, sizeof(*w));
    struct fill *f, *start = NULL;
    w->cb = cb;
    w->arg = arg;
    w->ev = event_new(l->base, -1, 0, wait_ev, w);
    if (!w->ev)
        shd_oom(sizeof(struct event *));
    pthread_mutex_lock(&ft->lock);
    for (f = ft->table[bucket_of(req->id)]; f; f = f->hnext)
        if (memcmp(f->id, req->id, STORE_ID_LEN) == 0)
            break;
    if (f) {
        SHD_METRIC_INC(fills_deduplicated);
        if (atomic_load(&f->avail) > 0)
            event_active(w->ev, 0, 0); /* bytes already in */
    } else {
        f = shd_xcalloc(1, sizeof(*f));
        f->ft = ft;
        memcpy(f->id, req->id, STORE_ID_LEN);
        f->blk = store_block_new(req->id, req->len);
        f->loop = l;
        f->u = req->u;
        f->mount = req->mount;
        f->key = shd_xstrdup(req->key);
        f->etag = shd_xstrdup(req->etag);
        f->off = req->index * ft->ctx->block_size;
        f->len = req->len;
        f->refs = 1; /* the S3 read */
        f->start_ev = event_new(l->base, -1, 0, start_ev_cb, f);
        if (!f->blk || !f->start_ev)
            shd_oom(req->len);
        f->hnext = ft->table[bucket_of(req->id)];
        ft->table[bucket_of(req->id)] = f;
        if (ft->running < ft->max) {
            ft->running++;
            start = f;
        } else {
            f->queued = 1;
            if (ft->qtail)
                ft->qtail->qnext = f;
            else
                ft->qhead = f;
            ft->qtail = f;
            ft->queued++;
        }
    }
    w->f = f;
    f->refs++;
    w->next = f->waiters;
    f->waiters = w;
    pthread_mutex_unlock(&ft->lock);
    if (start)
        event_active(start->start_ev, 0, 0); /* start from the loop, not from inside a caller */
    return w;
}
