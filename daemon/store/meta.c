/* daemon/store/meta.c: the object metadata cache (see meta.h).
 *
 * A chained hash table under one mutex (entries are small and operations
 * rare next to the bytes they describe), with a FIFO list to hold it to
 * its byte budget (cache.metadata_memory).
 * An in-flight HEAD hangs off its entry; waiters on other loops are woken
 * with an event on their own loop (event_active is thread-safe once
 * libevent threading is on). A use of an entry in the last quarter of its
 * TTL starts a HEAD with no waiters, so a hot object's metadata is renewed
 * before it expires and no request waits for it; the TTL still bounds how
 * long a value is trusted. */
#include "daemon/store/meta.h"

#include "daemon/cluster/peer.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct meta_fetch;

/* An entry keeps its strings packed: the key in the same allocation, the
 * ETag, Content-Type and the kept headers in one string triple (val)
 * replaced on update; a struct ufs_stat (over 260 bytes of fixed arrays) is
 * only built on use. */
struct meta_entry {
    struct meta_entry *hnext;         /* hash chain */
    struct meta_entry *older, *newer; /* FIFO, for the size bound */
    struct meta_fetch *fetch;         /* in flight, or NULL */
    uint64_t hash;
    uint64_t fetched_ms;
    uint64_t size; /* the object's */
    int64_t mtime;
    char *val;      /* "ETag\0Content-Type\0headers\0", or NULL while never valid */
    uint32_t bytes; /* what the entry is counted for */
    int mount;
    int valid; /* size, mtime and val hold a value (maybe stale) */
    char key[];
};

struct meta_wait {
    struct meta_wait *next;
    struct meta_fetch *f; /* NULL once the result is in */
    struct event *ev;     /* on the waiter's loop */
    meta_cb cb;
    void *arg;
    int err;
    struct ufs_stat st;
    char *headers; /* st's kept headers, own copy */
};

struct meta_fetch {
    struct meta_cache *mc;
    struct meta_entry *e; /* NULL if the entry was dropped meanwhile */
    struct meta_wait *waiters;
    struct ufs_req *req;
    struct ufs *u; /* for the HEAD (after the key's owner, if asked, could not say) */
    char *okey;
    int superseded; /* a write (meta_put, meta_invalidate) came after it began: its answer
                     * goes to its waiters but not into the cache */
};

struct meta_cache {
    struct shd_ctx *ctx;
    pthread_rwlock_t lock; /* read: lookups; write: everything else */
    struct meta_entry **table;
    size_t nbuckets, count;
    uint64_t bytes, max_bytes;
    struct meta_entry *oldest, *newest;
};

/* META_OVERHEAD: what malloc adds to each of an entry's two allocations,
 * counted so the budget tracks the process's real use. */
#define META_OVERHEAD 16

static uint32_t entry_bytes(size_t keylen, size_t vallen)
{
    return (uint32_t)(sizeof(struct meta_entry) + keylen + 1 + META_OVERHEAD +
                      (vallen ? vallen + META_OVERHEAD : 0));
}

/* entry_set: E takes ST's values. */
static void entry_set(struct meta_cache *mc, struct meta_entry *e, const struct ufs_stat *st)
{
    size_t el = strnlen(st->etag, sizeof(st->etag)),
           cl = strnlen(st->content_type, sizeof(st->content_type));
    size_t hl = st->headers ? strnlen(st->headers, UFS_HEADERS_MAX - 1) : 0;
    size_t vl = el + cl + hl + 3;
    uint32_t nb = entry_bytes(strlen(e->key), vl);

    e->val = shd_xrealloc(e->val, vl);
    memcpy(e->val, st->etag, el);
    e->val[el] = '\0';
    memcpy(e->val + el + 1, st->content_type, cl);
    e->val[el + 1 + cl] = '\0';
    if (hl)
        memcpy(e->val + el + cl + 2, st->headers, hl);
    e->val[el + cl + 2 + hl] = '\0';
    e->size = st->size;
    e->mtime = st->mtime;
    e->valid = 1;
    mc->bytes = mc->bytes - e->bytes + nb;
    e->bytes = nb;
}

/* entry_stat: E's values as a struct ufs_stat (both strings fit: entry_set
 * took them from one); the headers stay in the entry (meta_headers). Cheap:
 * it runs under the lock on every read. */
static void entry_stat(const struct meta_entry *e, struct ufs_stat *out)
{
    size_t el = strlen(e->val);
    const char *ct = e->val + el + 1;
    size_t cl = strlen(ct);

    out->size = e->size;
    out->mtime = e->mtime;
    memcpy(out->etag, e->val, el + 1);
    memcpy(out->content_type, ct, cl + 1);
    out->headers = NULL;
}

/* entry_headers: E's kept headers (inside its val), "" when none. */
static const char *entry_headers(const struct meta_entry *e)
{
    const char *ct = e->val + strlen(e->val) + 1;
    return ct + strlen(ct) + 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* FNV-1a over the mount number and the key. */
static uint64_t hash_key(int mount, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)(unsigned)mount;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

int meta_cache_new(struct shd_ctx *ctx, uint64_t max_bytes, struct meta_cache **out)
{
    struct meta_cache *mc = shd_xcalloc(1, sizeof(*mc));
    mc->ctx = ctx;
    mc->max_bytes = max_bytes;
    mc->nbuckets = 1u << 16;
    mc->table = shd_xcalloc(mc->nbuckets, sizeof(*mc->table));
    pthread_rwlock_init(&mc->lock, NULL);
    *out = mc;
    return 0;
}

static void entry_unlink(struct meta_cache *mc, struct meta_entry *e)
{
    struct meta_entry **pp = &mc->table[e->hash & (mc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        mc->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        mc->newest = e->older;
    mc->count--;
    mc->bytes -= e->bytes;
    if (e->fetch)
        e->fetch->e = NULL; /* the fetch finishes without an entry */
    free(e->val);
    free(e);
}

void meta_cache_free(struct meta_cache *mc)
{
    if (!mc)
        return;
    while (mc->oldest)
        entry_unlink(mc, mc->oldest);
    pthread_rwlock_destroy(&mc->lock);
    free(mc->table);
    free(mc);
}

static struct meta_entry *entry_find(struct meta_cache *mc, int mount, const char *key, uint64_t h)
{
    for (struct meta_entry *e = mc->table[h & (mc->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->mount == mount && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static struct meta_entry *entry_get(struct meta_cache *mc, int mount, const char *key)
{
    uint64_t h = hash_key(mount, key);
    struct meta_entry *e = entry_find(mc, mount, key, h);
    if (e)
        return e;
    size_t kl = strlen(key);
    e = shd_xcalloc(1, sizeof(*e) + kl + 1);
    e->mount = mount;
    memcpy(e->key, key, kl + 1);
    e->hash = h;
    e->bytes = entry_bytes(kl, 0);
    mc->bytes += e->bytes;
    e->hnext = mc->table[h & (mc->nbuckets - 1)];
    mc->table[h & (mc->nbuckets - 1)] = e;
    e->older = mc->newest;
    if (mc->newest)
        mc->newest->newer = e;
    else
        mc->oldest = e;
    mc->newest = e;
    mc->count++;
    return e;
}

/* trim: drop the oldest entries (never KEEP, nor one with a fetch in
 * flight) while over the byte budget. */
static void trim(struct meta_cache *mc, const struct meta_entry *keep)
{
    struct meta_entry *e = mc->oldest;

    while (mc->bytes > mc->max_bytes && e) {
        struct meta_entry *next = e->newer;
        if (e != keep && !e->fetch)
            entry_unlink(mc, e);
        e = next;
    }
}

static int fresh(const struct meta_cache *mc, const struct meta_entry *e, uint64_t now)
{
    uint64_t ttl = mc->ctx->cfg->mounts[META_MOUNT(e->mount)].metadata_ttl_ms;
    return e->valid && now - e->fetched_ms < ttl;
}

/* due: whether fresh entry E is in the last quarter of its TTL, when a use
 * refreshes it in the background. Where in the first half of that quarter
 * the renewal becomes due depends on the key's hash, so objects read
 * together do not all send their HEADs at the same moment. */
static int due(const struct meta_cache *mc, const struct meta_entry *e, uint64_t now)
{
    uint64_t ttl = mc->ctx->cfg->mounts[META_MOUNT(e->mount)].metadata_ttl_ms;
    uint64_t spread = ttl / 8;
    return now - e->fetched_ms >= ttl - ttl / 4 + (spread ? (e->hash >> 32) % spread : 0);
}

static void head_done(void *arg, int err, const struct ufs_stat *st);

int meta_headers(struct meta_cache *mc, int mount, const char *key, const char *etag, char *buf,
                 size_t cap)
{
    int r = -1;
    pthread_rwlock_rdlock(&mc->lock);
    struct meta_entry *e = entry_find(mc, mount, key, hash_key(mount, key));
    if (e && e->valid && strcmp(e->val, etag) == 0) {
        const char *h = entry_headers(e);
        size_t hl = strlen(h);
        if (hl < cap) {
            memcpy(buf, h, hl + 1);
            r = (int)hl;
        }
    }
    pthread_rwlock_unlock(&mc->lock);
    return r;
}

int meta_lookup(struct meta_cache *mc, int mount, const char *key, struct ufs_stat *out)
{
    return meta_get(mc, NULL, mount, key, NULL, out);
}

int meta_get(struct meta_cache *mc, struct ufs *u, int mount, const char *key,
             const char *object_key, struct ufs_stat *out)
{
    struct meta_fetch *start = NULL;
    uint64_t now = now_ms(), h = hash_key(mount, key);
    int r = -1, renew = 0;

    pthread_rwlock_rdlock(&mc->lock); /* every read of a hot object: readers share it */
    struct meta_entry *e = entry_find(mc, mount, key, h);
    if (e && fresh(mc, e, now)) {
        entry_stat(e, out);
        r = 0;
        renew = u && !e->fetch && due(mc, e, now);
    }
    pthread_rwlock_unlock(&mc->lock);
    if (renew) { /* a fetch without waiters, unless another reader started one */
        pthread_rwlock_wrlock(&mc->lock);
        e = entry_find(mc, mount, key, h);
        if (e && e->valid && !e->fetch) {
            start = shd_xcalloc(1, sizeof(*start));
            start->mc = mc;
            start->e = e;
            e->fetch = start;
        }
        pthread_rwlock_unlock(&mc->lock);
    }
    if (r == 0)
        SHD_METRIC_INC(meta_hits);
    if (start) {
        SHD_METRIC_INC(meta_refreshes);
        start->req = ufs_stat(u, object_key, head_done, start);
        if (!start->req)
            head_done(start, UFS_EINVAL, NULL);
    }
    return r;
}

static void wait_fire(evutil_socket_t fd, short what, void *arg)
{
    struct meta_wait *w = arg;
    (void)fd;
    (void)what;
    event_free(w->ev);
    w->st.headers = w->headers; /* borrowed by the callback, as ufs's are */
    w->cb(w->arg, w->err, w->err ? NULL : &w->st);
    free(w->headers);
    free(w);
}

/* Hands the result to every waiter (under the lock) and frees the fetch. */
static void fetch_finish(struct meta_fetch *f, int err, const struct ufs_stat *st)
{
    struct meta_wait *w = f->waiters;
    while (w) {
        struct meta_wait *next = w->next;
        w->f = NULL;
        w->err = err;
        if (!err) {
            w->st = *st;
            w->st.headers = NULL;
            w->headers = st->headers ? shd_xstrdup(st->headers) : NULL;
        }
        event_active(w->ev, 0, 0);
        w = next;
    }
    free(f->okey);
    free(f);
}

static void head_done(void *arg, int err, const struct ufs_stat *st)
{
    struct meta_fetch *f = arg;
    struct meta_cache *mc = f->mc;
    struct ufs_stat stale;
    int use_stale = 0;
    pthread_rwlock_wrlock(&mc->lock);
    struct meta_entry *e = f->e;
    if (e && f->superseded) {
        e->fetch = NULL;
    } else if (e) {
        e->fetch = NULL;
        if (err == 0) {
            entry_set(mc, e, st);
            e->fetched_ms = now_ms();
            trim(mc, e);
        } else if (err == UFS_EUNAVAIL && e->valid) {
            entry_stat(e, &stale);            /* S3 is down: the last known metadata still serves */
            stale.headers = entry_headers(e); /* copied by fetch_finish, under the lock */
            use_stale = 1;
        } else if (err == UFS_ENOENT) {
            e->valid = 0;
        }
    }
    if (use_stale)
        fetch_finish(f, 0, &stale);
    else
        fetch_finish(f, err, st);
    pthread_rwlock_unlock(&mc->lock);
    if (use_stale)
        shd_warn("meta", "S3 unreachable, serving cached metadata err=\"%s\"", ufs_strerror(err));
}

/* The HEAD of the fetch's object, from S3. */
static void head_start(struct meta_fetch *f)
{
    f->req = ufs_stat(f->u, f->okey, head_done, f);
    if (!f->req) /* could not even start (a key S3 cannot take) */
        head_done(f, UFS_EINVAL, NULL);
}

static void owner_done(void *arg, int err, const struct ufs_stat *st)
{
    struct meta_fetch *f = arg;
    if (err && err != UFS_ENOENT && err != UFS_ECANCELED) {
        head_start(f); /* the owner could not say: S3 */
        return;
    }
    head_done(f, err, st);
}

static const struct ufs_read_cbs owner_cbs = {NULL, owner_done};

struct meta_wait *meta_fetch(struct meta_cache *mc, struct shd_loop *l, struct ufs *u, int mount,
                             const char *key, const char *object_key, const char *bucket,
                             meta_cb cb, void *arg)
{
    struct meta_wait *w = shd_xcalloc(1, sizeof(*w));
    struct meta_fetch *start = NULL;
    w->cb = cb;
    w->arg = arg;
    w->ev = event_new(l->base, -1, 0, wait_fire, w);
    if (!w->ev)
        shd_oom(sizeof(struct event *));
    pthread_rwlock_wrlock(&mc->lock);
    struct meta_entry *e = entry_get(mc, mount, key);
    if (fresh(mc, e, now_ms())) { /* filled since the caller looked */
        entry_stat(e, &w->st);
        if (*entry_headers(e))
            w->headers = shd_xstrdup(entry_headers(e));
        event_active(w->ev, 0, 0);
        pthread_rwlock_unlock(&mc->lock);
        SHD_METRIC_INC(meta_hits);
        return w;
    }
    if (!e->fetch) {
        start = shd_xcalloc(1, sizeof(*start));
        start->mc = mc;
        start->e = e;
        e->fetch = start;
    }
    w->f = e->fetch;
    w->next = e->fetch->waiters;
    e->fetch->waiters = w;
    pthread_rwlock_unlock(&mc->lock);
    SHD_METRIC_INC(meta_misses);
    if (start) {
        /* the lock is not held here: a completion reported from the loop
         * cannot run before this returns, and takes the lock itself */
        struct ring_addr owner;
        start->u = u;
        start->okey = shd_xstrdup(object_key);
        if (bucket && peer_meta_owner(mc->ctx, bucket, object_key, &owner))
            peer_meta_get(l, &owner, bucket, object_key, &owner_cbs, start); /* never cancelled */
        else
            head_start(start);
    }
    return w;
}

void meta_wait_cancel(struct meta_wait *w)
{
    struct meta_cache *mc;
    if (!w)
        return;
    if (w->f) {
        mc = w->f->mc;
        pthread_rwlock_wrlock(&mc->lock);
        if (w->f) { /* still waiting: unhook; the fetch goes on for others */
            struct meta_wait **pp = &w->f->waiters;
            while (*pp != w)
                pp = &(*pp)->next;
            *pp = w->next;
            pthread_rwlock_unlock(&mc->lock);
            event_free(w->ev);
            free(w);
            return;
        }
        pthread_rwlock_unlock(&mc->lock);
    }
    /* the result is in and its event is active on this (the waiter's) loop */
    event_free(w->ev);
    free(w->headers);
    free(w);
}

void meta_put(struct meta_cache *mc, int mount, const char *key, const struct ufs_stat *st)
{
    pthread_rwlock_wrlock(&mc->lock);
    struct meta_entry *e = entry_get(mc, mount, key);
    if (e->fetch)
        e->fetch->superseded = 1;
    entry_set(mc, e, st);
    e->fetched_ms = now_ms();
    trim(mc, e);
    pthread_rwlock_unlock(&mc->lock);
}

void meta_cache_usage(struct meta_cache *mc, uint64_t *bytes, uint64_t *entries)
{
    pthread_rwlock_wrlock(&mc->lock);
    *bytes = mc->bytes;
    *entries = mc->count;
    pthread_rwlock_unlock(&mc->lock);
}

void meta_invalidate(struct meta_cache *mc, int mount, const char *key)
{
    pthread_rwlock_wrlock(&mc->lock);
    struct meta_entry *e = entry_find(mc, mount, key, hash_key(mount, key));
    if (e) {
        e->valid = 0;
        if (e->fetch)
            e->fetch->superseded = 1;
    }
    pthread_rwlock_unlock(&mc->lock);
}
