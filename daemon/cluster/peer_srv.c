/* daemon/cluster/peer_srv.c: answering other nodes (and, later, libshoal)
 * on an authenticated connection.
 *
 * GET: the block of (bucket, key, etag) at index, the range asked: from
 * the memory tier, the disk tier, or a fill from S3 that this node runs
 * (joined when one is in flight, so however many nodes ask, S3 is read
 * once), streamed as its bytes come: BLOCK, DATA frames, END with the
 * range's XXH3-64. A node never forwards a GET: whoever is asked serves
 * from itself or S3 (no loops, whatever the views say). A request whose
 * epoch is not this node's first gets VIEW.
 *
 * PUT: a block pushed by its primary (replication) or a writer: DATA
 * frames, then END; checked against the announced length and checksum,
 * then stored. HOLDS: which of the ids the store holds. */
#include "daemon/cluster/peer_int.h"

#include "daemon/store/fill.h"
#include "daemon/store/meta.h"
#include "daemon/store/store.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/xalloc.h"
#include "client/xxh.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* One GET being answered. */
struct peer_sreq {
    struct peer_conn *c;
    struct peer_sreq *next, **pprev;
    uint32_t rid;
    uint8_t id[RING_ID_LEN];
    size_t off, len, sent; /* the range, and how much of it went out */
    struct fill_wait *fw;
    struct store_load *sl;
    int local;           /* WIRE_F_LOCAL: fill here, ask no one */
    int held;            /* WIRE_F_HELD, or draining: from the store only */
    struct fill_obj obj; /* strings point into the frame: only during on_get */
};

/* The PUT being received on a connection (one at a time: a sender writes
 * each PUT's frames together). */
struct peer_put_in {
    uint32_t rid;
    struct store_block *b; /* NULL: discarding (held already, or no memory) */
    size_t len, got;
    uint64_t sum;
    int answer; /* WIRE_C_* to answer at END instead of DONE; 0: DONE */
    int charged;
};

/* A META_GET waiting for the HEAD this node makes for it. */
struct peer_mreq {
    struct peer_conn *c;
    struct peer_mreq *next, **pprev;
    uint32_t rid;
    struct meta_wait *mw;
};

/* A LIST waiting for S3. */
struct peer_lreq {
    struct peer_conn *c;
    struct peer_lreq *next, **pprev;
    uint32_t rid;
    struct ufs_req *req;
};

static void lreq_free(struct peer_lreq *q)
{
    *q->pprev = q->next;
    if (q->next)
        q->next->pprev = q->pprev;
    free(q);
}

static void mreq_free(struct peer_mreq *q)
{
    *q->pprev = q->next;
    if (q->next)
        q->next->pprev = q->pprev;
    free(q);
}

static void sreq_free(struct peer_sreq *q)
{
    *q->pprev = q->next;
    if (q->next)
        q->next->pprev = q->pprev;
    q->c->nsreqs--;
    free(q);
}

void peer_srv_close(struct peer_conn *c)
{
    while (c->lreqs) {
        ufs_cancel(c->lreqs->req);
        lreq_free(c->lreqs);
    }
    peer_oput_close(c);
    while (c->mreqs) {
        meta_wait_cancel(c->mreqs->mw);
        mreq_free(c->mreqs);
    }
    while (c->sreqs) {
        struct peer_sreq *q = c->sreqs;
        fill_wait_cancel(q->fw);
        store_load_cancel(q->sl);
        sreq_free(q);
    }
    if (c->put) {
        if (c->put->charged)
            shd_budget_give(&c->pl->ps->ctx->reqmem, SHD_MEM_FILL, c->put->len);
        store_block_unref(c->put->b);
        free(c->put);
        c->put = NULL;
    }
}

uint32_t peer_code_of(int ufs_err)
{
    switch (ufs_err) {
    case UFS_ENOENT:
    case UFS_ENOBUCKET:
        return WIRE_C_NOENT;
    case UFS_EPRECOND:
        return WIRE_C_PRECOND;
    case UFS_ENOMEM:
        return WIRE_C_NOMEM;
    case UFS_EACCES:
        return WIRE_C_DENIED;
    case UFS_EINVAL:
    case UFS_ERANGE:
        return WIRE_C_INVAL;
    case UFS_EIO:
        return WIRE_C_IO;
    default:
        return WIRE_C_UNAVAIL;
    }
}

/* Sends what of the range block B's first AVAIL bytes hold and has not
 * gone; with the whole range out, END, and the request is over (1). */
static int send_avail(struct peer_sreq *q, struct store_block *b, size_t avail)
{
    size_t end = q->off + q->len;
    if (avail > end)
        avail = end;
    if (avail > q->off + q->sent) {
        size_t from = q->off + q->sent;
        peer_send_data(q->c, q->rid, b, store_block_data(b) + from, avail - from);
        q->sent = avail - q->off;
    }
    if (q->sent < q->len)
        return 0;
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_END;
    m.rid = q->rid;
    m.u.end.sum = q->off == 0 && q->len == store_block_len(b)
                      ? store_block_sum(b) /* hashed once per block, not per request */
                      : wire_xxh3(store_block_data(b) + q->off, q->len);
    peer_send(q->c, &m);
    return 1;
}

static void on_fill(void *arg, struct store_block *b, size_t avail, int done, int err)
{
    struct peer_sreq *q = arg;
    if (err) {
        q->fw = NULL;
        peer_send_error(q->c, q->rid, peer_code_of(err), ufs_strerror(err));
        sreq_free(q);
        return;
    }
    if (b && send_avail(q, b, avail)) {
        if (!done)
            fill_wait_cancel(q->fw); /* everything went: no more calls */
        q->fw = NULL;
        sreq_free(q);
        return;
    }
    if (done) { /* complete, yet short of the range: cannot happen with a checked range */
        q->fw = NULL;
        peer_send_error(q->c, q->rid, WIRE_C_IO, "short block");
        sreq_free(q);
    }
}

static void start_fill(struct peer_sreq *q, const struct fill_req *fr)
{
    struct peer_conn *c = q->c;
    if (q->local) { /* asked as the filler: S3 here, the run when this node is its filler */
        struct shd_ctx *ctx = c->pl->ps->ctx;
        uint8_t id0[RING_ID_LEN];
        struct ring_addr f;
        uint64_t first = fr->index - fr->index % PEER_RUN_BLOCKS;
        if (ring_block_id(q->obj.mname, q->obj.key, q->obj.etag, ctx->block_size, first, id0) ==
                0 &&
            peer_filler(ctx, id0, &f))
            fill_cold_start(ctx->fills, c->pl->l, &q->obj, fr->index, first,
                            first + PEER_RUN_BLOCKS - 1);
    } else if (fr->route) { /* by the run's filler, wherever that is */
        struct shd_ctx *ctx = c->pl->ps->ctx;
        uint64_t first = fr->index - fr->index % PEER_RUN_BLOCKS;
        uint8_t id0[RING_ID_LEN];
        if (c->has_node &&
            ring_block_id(q->obj.mname, q->obj.key, q->obj.etag, ctx->block_size, first, id0) ==
                0 &&
            peer_filler_is(ctx, id0, c->node)) {
            /* the filler itself asks (it owns no copy): it waits on this */
            q->fw = fill_cold_here(ctx->fills, c->pl->l, &q->obj, fr->index, on_fill, q);
            return;
        }
        q->fw = fill_cold(c->pl->ps->ctx->fills, c->pl->l, &q->obj, fr->index, first,
                          first + PEER_RUN_BLOCKS - 1, on_fill, q);
        return;
    }
    q->fw = fill_block(c->pl->ps->ctx->fills, c->pl->l, fr, on_fill, q);
}

static void on_load(void *arg, int err, struct store_block *b);

/* A GET whose block is not in memory: from disk, or filled. FR valid for
 * the call. */
static void get_slow(struct peer_sreq *q, const struct fill_req *fr)
{
    struct shd_ctx *ctx = q->c->pl->ps->ctx;
    if (store_on_disk(ctx->store, q->id)) {
        q->sl = store_load(ctx->store, q->c->pl->l->base, q->id, on_load, q);
        if (q->sl)
            return;
    }
    if (q->held) {
        peer_send_error(q->c, q->rid, WIRE_C_UNAVAIL, "not held");
        sreq_free(q);
        return;
    }
    start_fill(q, fr);
    /* an owner reading it as it fills keeps it: no push to that one */
    for (size_t i = 0; q->c->has_node && fr->route && i < fr->route->npeers; i++)
        if (memcmp(fr->route->ids[i], q->c->node, RING_ID_LEN) == 0)
            fill_note_holder(ctx->fills, q->id, q->c->node);
}

/* The request the disk load was for cannot rebuild its fill_req: a disk
 * miss (the file went, or was corrupt) is answered UNAVAIL, and the caller
 * tries the next owner, which fills it. */
static void on_load(void *arg, int err, struct store_block *b)
{
    struct peer_sreq *q = arg;
    q->sl = NULL;
    if (err) {
        peer_send_error(q->c, q->rid, WIRE_C_UNAVAIL, "the block left the disk");
        sreq_free(q);
        return;
    }
    SHD_METRIC_INC(hits);
    send_avail(q, b, store_block_len(b));
    store_block_unref(b);
    sreq_free(q);
}

static int on_get(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    struct shd_ctx *ctx = ps->ctx;
    struct shd_loop *l = c->pl->l;
    const char *bucket = m->u.obj.bucket, *mname;
    struct ufs *u;
    int mount = shd_mount_find(ctx, bucket);

    atomic_fetch_add_explicit(&ps->st.gets_in, 1, memory_order_relaxed);
    if (c->nsreqs >= PEER_SREQS_MAX) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL, "too many requests on this connection");
        return 0;
    }
    if (mount < 0 && ctx->star >= 0) {
        mount = ctx->star;
        mname = bucket;
        u = shd_bucket_ufs(l, bucket);
    } else if (mount >= 0) {
        mname = ctx->cfg->mounts[mount].name;
        u = l->ufs[mount];
    } else {
        peer_send_error(c, m->rid, WIRE_C_INVAL, "no such bucket on this node");
        return 0;
    }
    uint64_t bs = ctx->block_size, idx = m->u.obj.index;
    if (!u || m->u.obj.size == 0 || idx >= (m->u.obj.size + bs - 1) / bs) {
        peer_send_error(c, m->rid, u ? WIRE_C_INVAL : WIRE_C_UNAVAIL,
                        u ? "no such block" : "no backend for the bucket");
        return 0;
    }
    uint64_t rest = m->u.obj.size - idx * bs;
    size_t blen = (size_t)(rest < bs ? rest : bs);
    if ((uint64_t)m->u.obj.off + m->u.obj.len > blen || m->u.obj.len == 0) {
        peer_send_error(c, m->rid, WIRE_C_INVAL, "range outside the block");
        return 0;
    }
    uint8_t id[RING_ID_LEN];
    if (ring_block_id(mname, m->u.obj.key, m->u.obj.etag, bs, idx, id) != 0)
        shd_oom(0);
    /* asked what it holds (a new owner looking for a copy), or draining
     * (a node that is leaving takes no new fills): what is not here is
     * somebody else's to fill */
    if (((m->flags & WIRE_F_HELD) || atomic_load(&ps->draining)) && !store_holds(ctx->store, id)) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL,
                        (m->flags & WIRE_F_HELD) ? "not held" : "draining");
        return 0;
    }
    struct peer_sreq *q = shd_xcalloc(1, sizeof(*q));
    q->c = c;
    q->rid = m->rid;
    q->off = m->u.obj.off;
    q->len = m->u.obj.len;
    q->held = (m->flags & WIRE_F_HELD) || atomic_load(&ps->draining);
    memcpy(q->id, id, RING_ID_LEN);
    q->next = c->sreqs;
    if (q->next)
        q->next->pprev = &q->next;
    q->pprev = &c->sreqs;
    c->sreqs = q;
    c->nsreqs++;

    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_BLOCK;
    r.rid = m->rid;
    r.u.block.block_len = blen;
    r.u.block.off = m->u.obj.off;
    r.u.block.len = m->u.obj.len;
    peer_send(c, &r);

    struct store_block *b = store_get(ctx->store, q->id);
    if (b) {
        SHD_METRIC_INC(hits);
        send_avail(q, b, store_block_len(b));
        store_block_unref(b);
        sreq_free(q);
        return 0;
    }
    /* filled from S3 by the run's filler (this node, or asked; never asked
     * on when the GET says WIRE_F_LOCAL) */
    struct peer_route rt;
    struct fill_obj o = {u, mount, mname, m->u.obj.key, m->u.obj.etag, bucket, m->u.obj.size};
    peer_route(ctx, q->id, &rt);
    rt.primary = 1;
    rt.owner = 1;
    struct fill_req fr = {u,    mount, m->u.obj.key, m->u.obj.etag, idx,
                          blen, q->id, &rt,          bucket,        m->u.obj.size};
    q->local = (m->flags & WIRE_F_LOCAL) != 0;
    q->obj = o;
    SHD_METRIC_INC(misses);
    get_slow(q, &fr);
    return 0;
}

static int put_end(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    struct peer_put_in *p = c->put;
    struct wire_msg r;
    int code = p->answer;
    if (m->rid != p->rid)
        return -1;
    if (!code && (p->got != p->len || m->u.end.sum != p->sum ||
                  (p->b && wire_xxh3(store_block_data(p->b), p->len) != p->sum))) {
        atomic_fetch_add_explicit(&ps->st.checksum_failures, 1, memory_order_relaxed);
        code = WIRE_C_IO;
    }
    if (!code && p->b)
        store_put(ps->ctx->store, p->b);
    if (p->charged)
        shd_budget_give(&ps->ctx->reqmem, SHD_MEM_FILL, p->len);
    store_block_unref(p->b);
    c->put = NULL;
    free(p);
    if (code) {
        peer_send_error(c, m->rid, (uint32_t)code, "block not stored");
        return 0;
    }
    memset(&r, 0, sizeof(r));
    r.type = WIRE_DONE;
    r.rid = m->rid;
    return peer_send(c, &r);
}

static int on_put(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    struct shd_ctx *ctx = ps->ctx;
    if (c->put)
        return -1; /* one at a time */
    atomic_fetch_add_explicit(&ps->st.puts_in, 1, memory_order_relaxed);
    struct peer_put_in *p = shd_xcalloc(1, sizeof(*p));
    p->rid = m->rid;
    p->len = (size_t)m->u.put.len;
    p->sum = m->u.put.sum;
    c->put = p;
    if (p->len > ctx->block_size) {
        p->answer = WIRE_C_INVAL;
    } else if (store_holds(ctx->store, m->u.put.id)) {
        atomic_fetch_add_explicit(&ps->st.puts_dup, 1, memory_order_relaxed);
    } else if (shd_budget_take(&ctx->reqmem, SHD_MEM_FILL, p->len) != 0) {
        p->answer = WIRE_C_NOMEM;
    } else {
        p->charged = 1;
        p->b = store_block_new(m->u.put.id, p->len);
        if (!p->b)
            shd_oom(p->len);
    }
    return 0;
}

int peer_srv_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n)
{
    struct peer_put_in *p = c->put;
    if (c->oput && !p)
        return peer_oput_data(c, rid, v, nv, n);
    if (!p || rid != p->rid || n > p->len - p->got)
        return -1;
    for (int i = 0; i < nv && p->b; i++) {
        uint8_t *to = store_block_data(p->b) + p->got;
        if (v[i].iov_base != to) /* else read there already (peer_srv_room) */
            memcpy(to, v[i].iov_base, v[i].iov_len);
        p->got += v[i].iov_len;
    }
    if (!p->b)
        p->got += n;
    return 0;
}

uint8_t *peer_srv_room(struct peer_conn *c, uint32_t rid, size_t *room)
{
    struct peer_put_in *p = c->put;
    if (!p || rid != p->rid || !p->b)
        return NULL;
    *room = p->len - p->got;
    return store_block_data(p->b) + p->got;
}

static int on_holds(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    uint8_t bits[(WIRE_HOLDS_MAX + 7) / 8];
    size_t nb = (m->u.holds.n + 7) / 8;
    memset(bits, 0, nb);
    atomic_fetch_add_explicit(&c->pl->ps->st.holds_in, 1, memory_order_relaxed);
    for (size_t i = 0; i < m->u.holds.n; i++)
        if (store_holds(ctx->store, m->u.holds.ids + i * RING_ID_LEN))
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_HELD;
    r.rid = m->rid;
    r.u.held.bits = bits;
    r.u.held.len = nb;
    return peer_send(c, &r);
}

/* META for RID: ST's metadata. */
static void send_meta(struct peer_conn *c, uint32_t rid, const struct ufs_stat *st)
{
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_META;
    r.rid = rid;
    peer_meta_of(&r, st);
    peer_send(c, &r);
}

static void on_meta_fetched(void *arg, int err, const struct ufs_stat *st)
{
    struct peer_mreq *q = arg;
    if (err)
        peer_send_error(q->c, q->rid, peer_code_of(err), ufs_strerror(err));
    else
        send_meta(q->c, q->rid, st);
    mreq_free(q);
}

/* META_GET: the object's metadata as the mount's own S3 identity reads it,
 * from this node's cache, or a HEAD it makes itself (joined by its own
 * readers; never asking another node, whatever the views say). */
static int on_meta_get(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    struct shd_loop *l = c->pl->l;
    const char *bucket = m->u.obj.bucket, *key = m->u.obj.key;
    int mount = shd_mount_find(ctx, bucket);
    struct ufs *u;
    char *mkey;
    atomic_fetch_add_explicit(&c->pl->ps->st.meta_gets_in, 1, memory_order_relaxed);
    if (mount < 0 && ctx->star >= 0) {
        mount = ctx->star;
        u = shd_bucket_ufs(l, bucket);
        mkey = shd_xasprintf("%s/%s", bucket, key);
    } else if (mount >= 0) {
        u = l->ufs[mount];
        mkey = shd_xstrdup(key);
    } else {
        peer_send_error(c, m->rid, WIRE_C_INVAL, "no such bucket on this node");
        return 0;
    }
    struct ufs_stat st;
    if (!u) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL, "no backend for the bucket");
    } else if (meta_get(ctx->meta, u, mount, mkey, key, &st) == 0) {
        char h[UFS_HEADERS_MAX];
        st.headers = meta_headers(ctx->meta, mount, mkey, st.etag, h, sizeof(h)) > 0 ? h : NULL;
        send_meta(c, m->rid, &st);
    } else {
        struct peer_mreq *q = shd_xcalloc(1, sizeof(*q));
        q->c = c;
        q->rid = m->rid;
        q->next = c->mreqs;
        if (q->next)
            q->next->pprev = &q->next;
        q->pprev = &c->mreqs;
        c->mreqs = q;
        q->mw = meta_fetch(ctx->meta, l, u, mount, mkey, key, NULL, on_meta_fetched, q);
    }
    free(mkey);
    return 0;
}

/* A write through another node: this node's metadata for the key goes (every
 * identity's), and with META_PUT of the mount's own identity, the new one
 * comes in its place; DONE once it is so. */
static int on_meta_write(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    const char *bucket = m->u.obj.bucket;
    int mount = shd_mount_find(ctx, bucket);
    char *mkey;
    atomic_fetch_add_explicit(&c->pl->ps->st.tells_in, 1, memory_order_relaxed);
    if (mount < 0 && ctx->star >= 0) {
        mount = ctx->star;
        mkey = shd_xasprintf("%s/%s", bucket, m->u.obj.key);
    } else if (mount >= 0) {
        mkey = shd_xstrdup(m->u.obj.key);
    } else {
        peer_send_error(c, m->rid, WIRE_C_INVAL, "no such bucket on this node");
        return 0;
    }
    meta_invalidate(ctx->meta, mount, mkey);
    for (size_t i = 0; i < ctx->ntb; i++)
        if (ctx->tb[i].mount == mount)
            meta_invalidate(ctx->meta, META_NS(mount, (int)i), mkey);
    if (m->type == WIRE_META_PUT && (m->flags & WIRE_F_OWN)) {
        struct ufs_stat st;
        peer_stat_of(m, &st);
        meta_put(ctx->meta, mount, mkey, &st);
    }
    free(mkey);
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_DONE;
    r.rid = m->rid;
    return peer_send(c, &r);
}

static void on_listed(void *arg, int err, const struct ufs_list_page *pg)
{
    struct peer_lreq *q = arg;
    struct peer_conn *c = q->c;
    if (err) {
        peer_send_error(c, q->rid, peer_code_of(err), ufs_strerror(err));
        lreq_free(q);
        return;
    }
    size_t ne = pg->n_entries, np = pg->n_prefixes;
    if (ne + np > WIRE_LIST_MAX) { /* more than asked: cannot be */
        peer_send_error(c, q->rid, WIRE_C_IO, "the backend listed more than asked");
        lreq_free(q);
        return;
    }
    struct wire_entry *es = shd_xcalloc(ne ? ne : 1, sizeof(*es));
    for (size_t i = 0; i < ne; i++) {
        es[i].key = pg->entries[i].key;
        es[i].size = pg->entries[i].st.size;
        snprintf(es[i].etag, sizeof(es[i].etag), "%s", pg->entries[i].st.etag);
        es[i].mtime = pg->entries[i].st.mtime;
    }
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_LISTING;
    r.rid = q->rid;
    r.u.listing.truncated = pg->truncated && pg->next_token;
    if (r.u.listing.truncated &&
        snprintf(r.u.listing.next_token, sizeof(r.u.listing.next_token), "%s", pg->next_token) >=
            (int)sizeof(r.u.listing.next_token)) {
        peer_send_error(c, q->rid, WIRE_C_IO, "the backend's continuation token is too long");
    } else {
        r.u.listing.entries = es;
        r.u.listing.nentries = ne;
        r.u.listing.prefixes = (const char **)pg->common_prefixes;
        r.u.listing.nprefixes = np;
        if (peer_send(c, &r) != 0)
            peer_send_error(c, q->rid, WIRE_C_IO, "the listing does not fit a frame");
    }
    free(es);
    lreq_free(q);
}

/* LIST: a page of the bucket's keys, as the mount's own S3 identity lists
 * them (asked of S3 each time: listings are not cached). */
static int on_list(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    struct shd_loop *l = c->pl->l;
    const char *bucket = m->u.list.bucket;
    int mount = shd_mount_find(ctx, bucket);
    struct ufs *u;
    atomic_fetch_add_explicit(&c->pl->ps->st.lists_in, 1, memory_order_relaxed);
    if (mount < 0 && ctx->star >= 0) {
        u = shd_bucket_ufs(l, bucket);
    } else if (mount >= 0) {
        u = l->ufs[mount];
    } else {
        peer_send_error(c, m->rid, WIRE_C_NOENT, "no such bucket on this node");
        return 0;
    }
    if (!u) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL, "no backend for the bucket");
        return 0;
    }
    struct peer_lreq *q = shd_xcalloc(1, sizeof(*q));
    q->c = c;
    q->rid = m->rid;
    struct ufs_list_opts o = {
        m->u.list.prefix,
        m->u.list.delimiter[0] ? m->u.list.delimiter : NULL,
        m->u.list.token[0] ? m->u.list.token : NULL,
        m->u.list.after[0] ? m->u.list.after : NULL,
        m->u.list.max,
    };
    q->req = ufs_list(u, &o, on_listed, q);
    if (!q->req) {
        free(q);
        peer_send_error(c, m->rid, WIRE_C_INVAL, "the listing parameters are invalid");
        return 0;
    }
    q->next = c->lreqs;
    if (q->next)
        q->next->pprev = &q->next;
    q->pprev = &c->lreqs;
    c->lreqs = q;
    return 0;
}

/* The current view as VIEW for request RID. */
static void send_view(struct peer_conn *c, const struct cluster_view *v, uint32_t rid)
{
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_VIEW;
    r.rid = rid;
    r.epoch = v->epoch;
    r.u.view.members = v->members;
    r.u.view.n = v->nmembers;
    peer_send(c, &r);
}

/* MEMBERS: the view, whatever the sender's epoch (a listing of the
 * cluster: `shoal ring` through libshoal). */
static int on_members(struct peer_conn *c, const struct wire_msg *m)
{
    const struct cluster_view *v = cluster_view(c->pl->ps->cluster);
    if (!v) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL, "no view yet");
        return 0;
    }
    send_view(c, v, m->rid);
    return 0;
}

/* DRAIN: this node drains (as on SIGTERM or POST /v1/drain), then leaves.
 * The id guards against an address that is no longer the node meant. */
static int on_drain(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    if (memcmp(m->u.drain.node, ctx->node_id, RING_ID_LEN) != 0) {
        peer_send_error(c, m->rid, WIRE_C_INVAL, "not this node: its id differs");
        return 0;
    }
    if (!ctx->drain) {
        peer_send_error(c, m->rid, WIRE_C_UNAVAIL, "this node cannot drain");
        return 0;
    }
    char who[INET6_ADDRSTRLEN] = "?";
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &sl) == 0)
        inet_ntop(ss.ss_family,
                  ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                           : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
                  who, sizeof(who));
    shd_info("peer", "drain asked over the peer protocol from=%s", who);
    ctx->drain(ctx->drain_arg);
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_DONE;
    r.rid = m->rid;
    return peer_send(c, &r);
}

/* A stale epoch gets the current view first. */
static void maybe_view(struct peer_conn *c, const struct wire_msg *m)
{
    const struct cluster_view *v = cluster_view(c->pl->ps->cluster);
    if (!v || v->epoch == m->epoch)
        return;
    atomic_fetch_add_explicit(&c->pl->ps->st.stale_epochs, 1, memory_order_relaxed);
    send_view(c, v, m->rid);
}

int peer_srv_frame(struct peer_conn *c, const struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_GET:
        maybe_view(c, m);
        return on_get(c, m);
    case WIRE_PUT:
        return on_put(c, m);
    case WIRE_DATA: {
        struct iovec v = {(void *)m->u.data.p, m->u.data.len};
        return peer_srv_data(c, m->rid, &v, 1, m->u.data.len);
    }
    case WIRE_END:
        return c->put ? put_end(c, m) : c->oput ? peer_oput_end(c, m) : -1;
    case WIRE_LIST:
        maybe_view(c, m);
        return on_list(c, m);
    case WIRE_OPUT:
        if (c->put)
            return -1;
        maybe_view(c, m);
        return peer_oput_start(c, m);
    case WIRE_HOLDS:
        maybe_view(c, m);
        return on_holds(c, m);
    case WIRE_MEMBERS:
        return on_members(c, m);
    case WIRE_DRAIN:
        return on_drain(c, m);
    case WIRE_META_PUT:
    case WIRE_META_DEL:
        return on_meta_write(c, m);
    case WIRE_META_GET:
        return on_meta_get(c, m);
    default:
        return -1; /* answers, or a handshake frame again: not from a client */
    }
}
