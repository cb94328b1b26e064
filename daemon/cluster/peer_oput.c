/* daemon/cluster/peer_oput.c: OPUT, an object written through this node to
 * S3 by a worker (libshoal's shoal_put), over the peer protocol.
 *
 * OPUT names the bucket, key, size and Content-Type; DATA frames carry the
 * bytes, END their XXH3-64. The bytes stream to S3 as they come (the S3
 * writer's memory is taken from the request budget up front; when the
 * writer is full, the connection stops being read and the sender waits in
 * its socket). The object's last byte is held back until END's checksum
 * matched: a write whose bytes were damaged on the way is cancelled before
 * S3 can complete it, so it never becomes an object. Once S3 answers with
 * the ETag, the staged bytes (objects up to OPUT_STAGE_MAX, while the
 * budget allows) become the object's blocks, placed on their owners as a
 * gateway PUT places them; this node's metadata cache learns the new
 * version, every other node is told (peer_meta_tell), and only then the
 * answer, META, goes: a read through any node sees the write. */
#include "daemon/cluster/peer_int.h"

#include "client/xxh.h"
#include "daemon/gateway/gw_blocks.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPUT_STAGE_MAX (256ULL << 20) /* larger objects are not cached on write */

struct peer_oput {
    struct peer_conn *c; /* NULL: the connection closed while the write was told */
    uint32_t rid;
    struct peer_set *ps;
    struct shd_ctx *ctx;
    struct shd_loop *l;
    int mount;
    struct ufs_stat st; /* the new version, once S3 answered */
    char *bucket, *key, *mname, *mkey;
    struct ufs_req *w; /* the S3 write; NULL once it answered (or never opened) */
    uint64_t size, got, writer_mem;
    XXH3_state_t *xs;
    uint8_t last; /* the object's last byte, held until END's checksum matched */
    struct gw_blocks stage;
    char content_type[WIRE_CTYPE_MAX];
    uint32_t answer; /* WIRE_C_* to answer at END (the rest is discarded); 0: none */
    const char *why;
    int ended; /* END came and was good: the write is closing */
};

static void oput_free(struct peer_oput *o)
{
    if (o->w)
        ufs_cancel(o->w);
    if (o->writer_mem)
        shd_budget_give(&o->ctx->reqmem, SHD_MEM_WRITER, o->writer_mem);
    gw_blocks_release(&o->stage);
    XXH3_freeState(o->xs);
    free(o->bucket);
    free(o->key);
    free(o->mname);
    free(o->mkey);
    free(o);
}

/* The request is over on its connection (answered, or the connection
 * closed): it no longer holds the connection's OPUT slot. */
static void detach(struct peer_oput *o)
{
    if (o->c) {
        if (o->c->oput == o)
            o->c->oput = NULL;
        peer_conn_resume(o->c);
        o->c = NULL;
    }
}

static void fail(struct peer_oput *o, uint32_t code, const char *why)
{
    struct peer_conn *c = o->c;
    atomic_fetch_add_explicit(&o->ps->st.oputs_failed, 1, memory_order_relaxed);
    if (c)
        peer_send_error(c, o->rid, code, why);
    detach(o);
    oput_free(o);
}

static void told(void *arg)
{
    struct peer_oput *o = arg;
    struct peer_conn *c = o->c;
    if (c) {
        struct wire_msg r;
        memset(&r, 0, sizeof(r));
        r.type = WIRE_META;
        r.rid = o->rid;
        peer_meta_of(&r, &o->st);
        peer_send(c, &r);
    }
    detach(o);
    oput_free(o);
}

/* The staged bytes as the new version's blocks, each kept here when this
 * node owns it and pushed to its other owners. */
static void place_blocks(struct peer_oput *o, const char *etag)
{
    uint64_t bs = o->ctx->block_size;
    for (uint64_t i = 0; i * bs < o->size; i++) {
        uint8_t id[RING_ID_LEN];
        struct peer_route rt;
        size_t len = (size_t)(o->size - i * bs < bs ? o->size - i * bs : bs);
        if (ring_block_id(o->mname, o->key, etag, bs, i, id) != 0)
            return;
        struct store_block *b = store_block_new(id, len);
        if (!b)
            return;
        gw_blocks_read(&o->stage, i * bs, store_block_data(b), len);
        peer_route(o->ctx, id, &rt);
        if (rt.owner)
            store_put(o->ctx->store, b);
        peer_replicate(o->l, b, NULL, NULL);
        store_block_unref(b);
    }
}

static void on_written(void *arg, int err, const char *etag)
{
    struct peer_oput *o = arg;
    o->w = NULL;
    if (err) {
        if (!o->ended) { /* the rest of the bytes still come: answered at END */
            o->answer = peer_code_of(err);
            o->why = ufs_strerror(err);
            if (o->c)
                peer_conn_resume(o->c);
            return;
        }
        fail(o, peer_code_of(err), ufs_strerror(err));
        return;
    }
    struct ufs_stat *st = &o->st;
    st->size = o->size;
    snprintf(st->etag, sizeof(st->etag), "%s", etag);
    st->mtime = (int64_t)time(NULL);
    snprintf(st->content_type, sizeof(st->content_type), "%s", o->content_type);
    st->headers = NULL;
    if (o->stage.ctx && o->stage.len == o->size)
        place_blocks(o, etag);
    gw_blocks_release(&o->stage);
    meta_put(o->ctx->meta, o->mount, o->mkey, st);
    const char *key = o->key;
    /* the other nodes first: the answer says any node reads it */
    peer_meta_tell(o->l, o->bucket, &key, 1, st, 1, told, o);
}

static void on_drain(void *arg)
{
    struct peer_oput *o = arg;
    if (o->c)
        peer_conn_resume(o->c);
}

static const struct ufs_write_cbs write_cbs = {on_drain, on_written};

int peer_oput_start(struct peer_conn *c, const struct wire_msg *m)
{
    struct shd_ctx *ctx = c->pl->ps->ctx;
    struct shd_loop *l = c->pl->l;
    const char *bucket = m->u.obj.bucket, *key = m->u.obj.key;
    int mount = shd_mount_find(ctx, bucket);
    struct ufs *u = NULL;
    if (c->oput)
        return -1; /* one at a time: the sender writes an OPUT's frames together */
    atomic_fetch_add_explicit(&c->pl->ps->st.oputs_in, 1, memory_order_relaxed);
    struct peer_oput *o = shd_xcalloc(1, sizeof(*o));
    o->c = c;
    o->rid = m->rid;
    o->ps = c->pl->ps;
    o->ctx = ctx;
    o->l = l;
    o->size = m->u.obj.size;
    o->bucket = shd_xstrdup(bucket);
    o->key = shd_xstrdup(key);
    snprintf(o->content_type, sizeof(o->content_type), "%s", m->meta.content_type);
    o->xs = XXH3_createState();
    if (!o->xs || XXH3_64bits_reset(o->xs) != XXH_OK)
        shd_oom(0);
    c->oput = o;
    if (mount < 0 && ctx->star >= 0) {
        mount = ctx->star;
        u = shd_bucket_ufs(l, bucket);
        o->mname = shd_xstrdup(bucket);
        o->mkey = shd_xasprintf("%s/%s", bucket, key);
    } else if (mount >= 0) {
        u = l->ufs[mount];
        o->mname = shd_xstrdup(ctx->cfg->mounts[mount].name);
        o->mkey = shd_xstrdup(key);
    }
    o->mount = mount;
    if (mount < 0) {
        o->answer = WIRE_C_NOENT;
        o->why = "no such bucket on this node";
    } else if (ctx->cfg->mounts[mount].write_mode == SHD_WRITE_READ_ONLY) {
        o->answer = WIRE_C_RDONLY;
        o->why = "this mount is read-only (mounts[].write_mode)";
    } else if (!u) {
        o->answer = WIRE_C_UNAVAIL;
        o->why = "no backend for the bucket";
    }
    if (o->answer)
        return 0;
    uint64_t mem = ufs_write_memory(u, o->size, 0);
    if (mem && shd_budget_take(&ctx->reqmem, SHD_MEM_WRITER, mem) != 0) {
        shd_warn("peer",
                 "no request memory for an object write, refused (raise cache.request_memory) "
                 "bytes=%llu",
                 (unsigned long long)mem);
        o->answer = WIRE_C_NOMEM;
        o->why = "no request memory: try later";
        return 0;
    }
    o->writer_mem = mem;
    if (o->size <= OPUT_STAGE_MAX)
        gw_blocks_reserve(&o->stage, ctx, o->size); /* or not cached on write */
    struct ufs_put_opts opts = {o->content_type[0] ? o->content_type : NULL, NULL, NULL};
    o->w = ufs_write_open(u, key, o->size, &opts, &write_cbs, o);
    if (!o->w) {
        o->answer = WIRE_C_INVAL;
        o->why = "the object could not be written (invalid key)";
    }
    return 0;
}

int peer_oput_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n)
{
    struct peer_oput *o = c->oput;
    if (!o || o->ended || rid != o->rid || n > o->size - o->got)
        return -1;
    for (int i = 0; i < nv; i++) {
        const uint8_t *p = v[i].iov_base;
        size_t len = v[i].iov_len;
        wire_xxh3_update(o->xs, p, len);
        o->got += len;
        if (o->answer || !o->w)
            continue; /* discarding: the answer waits for END */
        if (o->stage.ctx && gw_blocks_add(&o->stage, p, len) != 0)
            gw_blocks_release(&o->stage);
        if (o->got == o->size && len) { /* the last byte waits for END */
            o->last = p[len - 1];
            len--;
        }
        if (len && ufs_write(o->w, p, len) == UFS_WRITE_FULL)
            peer_conn_pause(c); /* on_drain reads on; an error reaches on_written */
    }
    return 0;
}

int peer_oput_end(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_oput *o = c->oput;
    if (!o || o->ended || m->rid != o->rid)
        return -1;
    if (o->answer) {
        fail(o, o->answer, o->why);
        return 0;
    }
    if (o->got != o->size || XXH3_64bits_digest(o->xs) != m->u.end.sum) {
        atomic_fetch_add_explicit(&c->pl->ps->st.checksum_failures, 1, memory_order_relaxed);
        fail(o, WIRE_C_IO, o->got != o->size ? "short object" : "checksum mismatch");
        return 0;
    }
    o->ended = 1;
    if (!o->w) { /* answered already: cannot be (errors set answer) */
        fail(o, WIRE_C_IO, "the write ended early");
        return 0;
    }
    if (o->size && ufs_write(o->w, &o->last, 1) < 0)
        return 0; /* failed: on_written answers */
    ufs_write_close(o->w);
    return 0;
}

void peer_oput_close(struct peer_conn *c)
{
    struct peer_oput *o = c->oput;
    if (!o)
        return;
    c->oput = NULL;
    o->c = NULL;
    if (o->ended && !o->w)
        return;   /* being told: told() frees it */
    oput_free(o); /* cancels the S3 write: it never completes */
}
