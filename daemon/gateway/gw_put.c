/* daemon/gateway/gw_put.c: PutObject, written through to S3 and into the cache, and
 * DeleteObject.
 *
 * The body streams from the client to S3 through the upload pump
 * (gw_upload.c: framing, lengths, payload hash, bounded memory). Objects up
 * to a staging limit are also kept in blocks as they pass, when the request
 * memory budget allows; once S3 returns the ETag the blocks get their ids
 * and go into the store, and the metadata cache learns the object, so a read
 * right after the write is a hit. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUT_MAX_SIZE (5ULL << 30) /* S3's single PutObject limit */
#define PUT_STAGE_MAX (256ULL << 20)

/* cache_blocks: the staged bytes become the object's blocks in the store. */
static void cache_blocks(struct gw_upload *up, const char *etag)
{
    struct gw_req *g = up->g;
    uint64_t bs = g->ctx->block_size;
    for (uint64_t i = 0; i * bs < up->size; i++) {
        uint8_t id[RING_ID_LEN];
        size_t len = (size_t)(up->size - i * bs < bs ? up->size - i * bs : bs);
        if (ring_block_id(g->mname, g->key, etag, bs, i, id) != 0)
            return;
        struct store_block *b = store_block_new(id, len);
        if (!b)
            return;
        gw_blocks_read(&up->stage, i * bs, store_block_data(b), len);
        gw_place_block(g, b);
        store_block_unref(b);
    }
}

static void put_answer(struct gw_req *g, void *arg)
{
    char *etag = arg;
    http_resp_header(g->r, "ETag", etag);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 200, 0);
    http_resp_end(g->r);
    free(etag);
    gw_done(g, 200);
}

static void put_done(struct gw_upload *up, int err, const char *etag)
{
    struct gw_req *g = up->g;
    if (err) {
        gw_upload_free(up);
        gw_error_ufs(g, err);
        return;
    }
    struct ufs_stat st;
    memset(&st, 0, sizeof(st));
    st.size = up->received;
    snprintf(st.etag, sizeof(st.etag), "%s", etag);
    st.mtime = (int64_t)time(NULL);
    snprintf(st.content_type, sizeof(st.content_type), "%s", up->content_type);
    st.headers = up->kept && *up->kept ? up->kept : NULL;
    if (up->stage.ctx && up->stage.len == up->size)
        cache_blocks(up, etag);
    meta_put(g->ctx->meta, g->mns, g->mkey, &st);
    char *tag = shd_xstrdup(etag);
    const char *key = g->key;
    /* the other nodes first: the answer says any node reads it */
    char *kept = up->kept;
    up->kept = NULL;
    gw_upload_free(up);
    st.headers = kept && *kept ? kept : NULL;
    gw_tell(g, &key, 1, &st, put_answer, free, tag);
    free(kept);
}

/* A Content-Encoding list without its aws-chunked member (malloc'd). */
static char *strip_aws_chunked(const char *v)
{
    char *out = shd_xcalloc(1, strlen(v) + 1), *copy = shd_xstrdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (strcmp(t, "aws-chunked") == 0 || !*t)
            continue;
        if (*out)
            strcat(out, ",");
        strcat(out, t);
    }
    free(copy);
    return out;
}

char **gw_kept_request_headers(struct gw_req *g, int chunked, char **block)
{
    size_t nh = 0, bl = 0;
    char **hdrs = shd_xcalloc(http_req_header_count(g->r) + 1, sizeof(*hdrs));
    if (block) {
        *block = shd_xmalloc(UFS_HEADERS_MAX);
        **block = '\0';
    }
    for (size_t i = 0; i < http_req_header_count(g->r); i++) {
        const char *n, *v;
        char *rest = NULL;
        http_req_header_at(g->r, i, &n, &v);
        if (!ufs_kept_header(n, strlen(n)))
            continue;
        if (chunked && strcmp(n, "content-encoding") == 0) {
            /* aws-chunked is how the body travelled, not how it is stored */
            rest = strip_aws_chunked(v);
            if (!*rest) {
                free(rest);
                continue;
            }
            v = rest;
        }
        hdrs[nh++] = shd_xasprintf("%s: %s", n, v);
        if (block)
            ufs_headers_add(*block, &bl, n, strlen(n), v, strlen(v));
        free(rest);
    }
    return hdrs;
}

void gw_headers_free(char **hdrs)
{
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        free(hdrs[i]);
    free(hdrs);
}

void gw_put_object(struct gw_req *g)
{
    const struct shd_mount *m = &g->ctx->cfg->mounts[g->mount];
    const char *ct = http_req_header(g->r, "content-type");
    struct gw_upload *up;

    if (!gw_allowed(g, g->mount, g->key, 1)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (m->write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    up = gw_upload_new(g, PUT_MAX_SIZE, 0, put_done);
    if (!up)
        return;
    snprintf(up->content_type, sizeof(up->content_type), "%s", ct ? ct : "");
    if (up->size <= PUT_STAGE_MAX)
        gw_blocks_reserve(&up->stage, g->ctx, up->size); /* or not cached on write */
    char **hdrs = gw_kept_request_headers(g, up->dec != NULL, &up->kept);
    struct ufs_put_opts opts = {ct, (const char *const *)hdrs,
                                http_req_header(g->r, "content-md5")};
    struct ufs_req *w = ufs_write_open(g->u, g->key, up->size, &opts, gw_upload_write_cbs(), up);
    gw_headers_free(hdrs);
    gw_upload_start(up, w);
}

/* ---- DeleteObject ------------------------------------------------------- */

static void delete_answer(struct gw_req *g, void *arg)
{
    (void)arg;
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 204, 0);
    http_resp_end(g->r);
    gw_done(g, 204);
}

static void on_deleted(void *arg, int err)
{
    struct gw_req *g = arg;
    struct ufs_stat st;
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err && err != UFS_ENOENT) {
        gw_error_ufs(g, err);
        return;
    }
    /* drop the cached blocks of the version we knew */
    if (meta_lookup(g->ctx->meta, g->mns, g->mkey, &st) == 0 && g->ctx->store) {
        uint64_t bs = g->ctx->block_size;
        for (uint64_t i = 0; i * bs < st.size; i++) {
            uint8_t id[RING_ID_LEN];
            if (ring_block_id(g->mname, g->key, st.etag, bs, i, id) == 0)
                store_remove(g->ctx->store, id);
        }
    }
    meta_invalidate(g->ctx->meta, g->mns, g->mkey);
    const char *key = g->key;
    gw_tell(g, &key, 1, NULL, delete_answer, NULL, NULL);
}

static void delete_abort(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

void gw_delete_object(struct gw_req *g)
{
    if (!gw_allowed(g, g->mount, g->key, 1)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (g->ctx->cfg->mounts[g->mount].write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    g->op_state = ufs_delete(g->u, g->key, on_deleted, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The object could not be deleted (invalid key).");
        return;
    }
    g->op_abort = delete_abort;
}
