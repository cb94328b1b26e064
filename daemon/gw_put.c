/* daemon/gw_put.c: PutObject, written through to S3 and into the cache, and
 * DeleteObject.
 *
 * The body streams from the client to S3 (ufs_write) with bounded memory:
 * when S3 falls behind, the client's body is paused. Objects up to a
 * staging limit are also cut into blocks as they pass; once S3 returns the
 * ETag the blocks get their ids and go into the store, and the metadata
 * cache learns the object, so a read right after the write is a hit. A body
 * signed with its SHA-256 is checked; on a mismatch the upload is cancelled
 * before S3 completes it. */
#include "daemon/gw_int.h"

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/meta.h"
#include "daemon/shd.h"
#include "daemon/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"
#include "ufs/sigv4.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUT_MAX_SIZE (5ULL << 30) /* S3's single PutObject limit */
#define PUT_STAGE_MAX (256ULL << 20)

struct put {
    struct gw_req *g;
    struct ufs_req *w;
    uint64_t size, received;
    uint8_t **stage; /* block buffers, or NULL when not caching */
    size_t nstage;
    EVP_MD_CTX *sha;
    struct gw_chunked *dec; /* aws-chunked body, or NULL */
    char content_type[128];
    int body_paused, body_done, replied;
};

static void put_free(struct put *p)
{
    for (size_t i = 0; i < p->nstage; i++)
        free(p->stage[i]);
    free(p->stage);
    EVP_MD_CTX_free(p->sha);
    gw_chunked_free(p->dec);
    p->g->op_state = NULL;
    p->g->op_abort = NULL;
    free(p);
}

static void put_abort(struct gw_req *g)
{
    struct put *p = g->op_state;
    ufs_cancel(p->w);
    put_free(p);
}

static void put_fail(struct put *p, int status, const char *code, const char *msg)
{
    struct gw_req *g = p->g;
    if (p->w)
        ufs_cancel(p->w);
    put_free(p);
    gw_error(g, status, code, msg);
}

/* Copies body bytes into the staged blocks. */
static void stage(struct put *p, const uint8_t *buf, size_t len)
{
    uint64_t bs = p->g->ctx->block_size;
    while (len > 0) {
        uint64_t off = p->received % bs;
        size_t idx = (size_t)(p->received / bs), n = (size_t)(bs - off);
        if (n > len)
            n = len;
        if (idx >= p->nstage) {
            p->stage[idx] = shd_xmalloc(bs);
            p->nstage = idx + 1;
        }
        memcpy(p->stage[idx] + off, buf, n);
        buf += n;
        len -= n;
        p->received += n;
    }
}

static void cache_blocks(struct put *p, const char *etag)
{
    struct gw_req *g = p->g;
    uint64_t bs = g->ctx->block_size;
    for (size_t i = 0; i < p->nstage; i++) {
        uint8_t id[RING_ID_LEN];
        size_t len = (size_t)(p->size - i * bs < bs ? p->size - i * bs : bs);
        if (ring_block_id(g->mname, g->key, etag, bs, i, id) != 0)
            return;
        struct store_block *b = store_block_new(id, len);
        if (!b)
            return;
        memcpy(store_block_data(b), p->stage[i], len);
        store_put(g->ctx->store, b);
        store_block_unref(b);
    }
}

static void on_write_done(void *arg, int err, const char *etag)
{
    struct put *p = arg;
    struct gw_req *g = p->g;
    p->w = NULL;
    if (err) {
        put_free(p);
        gw_error_ufs(g, err);
        return;
    }
    struct ufs_stat st;
    memset(&st, 0, sizeof(st));
    st.size = p->received;
    snprintf(st.etag, sizeof(st.etag), "%s", etag);
    st.mtime = (int64_t)time(NULL);
    snprintf(st.content_type, sizeof(st.content_type), "%s", p->content_type);
    if (p->stage && p->received == p->size)
        cache_blocks(p, etag);
    meta_put(g->ctx->meta, g->mount, g->mkey, &st);
    http_resp_header(g->r, "ETag", etag);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 200, 0);
    http_resp_end(g->r);
    put_free(p);
    gw_done(g, 200);
}

static void on_write_drain(void *arg)
{
    struct put *p = arg;
    if (p->body_paused) {
        p->body_paused = 0;
        http_req_body_resume(p->g->r);
    }
}

static const struct ufs_write_cbs write_cbs = {on_write_drain, on_write_done};

static int put_data(void *arg, const void *buf, size_t len)
{
    struct put *p = arg;
    int r;
    if (p->sha)
        EVP_DigestUpdate(p->sha, buf, len);
    if (p->stage)
        stage(p, buf, len);
    else
        p->received += len;
    r = ufs_write(p->w, buf, len);
    if (r == UFS_WRITE_FULL) {
        p->body_paused = 1;
        return 1;
    }
    return 0; /* an error reaches on_write_done */
}

static int on_body(void *arg, const void *buf, size_t len)
{
    struct put *p = arg;
    int pause = 0, rc;
    if (!p->dec)
        return put_data(p, buf, len);
    rc = gw_chunked_feed(p->dec, buf, len, put_data, p, &pause);
    if (rc == -2)
        put_fail(p, 403, "SignatureDoesNotMatch",
                 "The chunk signature we calculated does not match the one you provided.");
    else if (rc < 0)
        put_fail(p, 400, "IncompleteBody", "The aws-chunked body is malformed.");
    else if (pause)
        p->body_paused = 1;
    return rc == 0 && pause; /* after a failure the request is answered: no more body */
}

static void on_body_end(void *arg, int err)
{
    struct put *p = arg;
    p->body_done = 1;
    if (err)
        return; /* the client left: put_abort cleans up */
    if (p->dec && !gw_chunked_done(p->dec)) {
        put_fail(p, 400, "IncompleteBody", "The aws-chunked body ended early.");
        return;
    }
    if (p->sha) {
        unsigned char d[32];
        unsigned int dl = 32;
        char hex[65];
        EVP_DigestFinal_ex(p->sha, d, &dl);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        if (strcmp(hex, p->g->payload_sha256) != 0) {
            put_fail(p, 400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was "
                     "computed.");
            return;
        }
    }
    if (p->size != UFS_SIZE_UNKNOWN && p->received != p->size) {
        put_fail(p, 400, "IncompleteBody",
                 "You did not provide the number of bytes specified by the Content-Length "
                 "HTTP header.");
        return;
    }
    if (p->size == UFS_SIZE_UNKNOWN)
        p->size = p->received;
    ufs_write_close(p->w);
}

static const struct http_body_cbs body_cbs = {on_body, on_body_end};

const char *gw_kept_header(const char *lname)
{
    static const char *keep[] = {"cache-control", "content-disposition", "content-encoding",
                                 "content-language", "expires"};
    if (strncmp(lname, "x-amz-meta-", 11) == 0)
        return lname;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (strcmp(lname, keep[i]) == 0)
            return lname;
    return NULL;
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

void gw_put_object(struct gw_req *g)
{
    const struct shd_mount *m = &g->ctx->cfg->mounts[g->mount];
    uint64_t size = http_req_body_length(g->r);
    const char *ct = http_req_header(g->r, "content-type");
    char *hdrs[HTTP_HEADERS_MAX + 1];
    const char *md5;
    size_t nh = 0;
    struct put *p;

    if (!gw_allowed(g, g->mount, g->key, 1)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (m->write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    if (size == 0 && !http_req_header(g->r, "content-length") &&
        !http_req_header(g->r, "transfer-encoding") && !g->streaming) {
        gw_error(g, 411, "MissingContentLength",
                 "You must provide the Content-Length HTTP header.");
        return;
    }
    if (size != HTTP_UNKNOWN_LENGTH && size > PUT_MAX_SIZE) {
        gw_error(g, 400, "EntityTooLarge",
                 "Your proposed upload exceeds the maximum allowed object size.");
        return;
    }
    struct gw_chunked *dec = NULL;
    if (gw_body_decoder(g, &dec, &size) != 0)
        return;
    p = shd_xcalloc(1, sizeof(*p));
    p->g = g;
    p->dec = dec;
    p->size = size == HTTP_UNKNOWN_LENGTH ? UFS_SIZE_UNKNOWN : size;
    snprintf(p->content_type, sizeof(p->content_type), "%s", ct ? ct : "");
    g->op_state = p;
    g->op_abort = put_abort;
    if (p->size != UFS_SIZE_UNKNOWN && p->size <= PUT_STAGE_MAX && g->ctx->store) {
        size_t n = (size_t)((p->size + g->ctx->block_size - 1) / g->ctx->block_size);
        p->stage = shd_xcalloc(n ? n : 1, sizeof(*p->stage));
    }
    if (g->payload_sha256[0] && strcmp(g->payload_sha256, UFS_SIGV4_UNSIGNED_PAYLOAD) != 0) {
        p->sha = EVP_MD_CTX_new();
        if (!p->sha || EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL) != 1)
            shd_oom(0);
    }
    for (size_t i = 0; i < http_req_header_count(g->r); i++) {
        const char *n, *v;
        http_req_header_at(g->r, i, &n, &v);
        if (!gw_kept_header(n))
            continue;
        if (dec && strcmp(n, "content-encoding") == 0) {
            /* aws-chunked is how the body travelled, not how it is stored */
            char *rest = strip_aws_chunked(v);
            if (*rest)
                hdrs[nh++] = shd_xasprintf("%s: %s", n, rest);
            free(rest);
            continue;
        }
        hdrs[nh++] = shd_xasprintf("%s: %s", n, v);
    }
    hdrs[nh] = NULL;
    md5 = http_req_header(g->r, "content-md5");
    struct ufs_put_opts opts = {ct, (const char *const *)hdrs, md5};
    p->w = ufs_write_open(g->u, g->key, p->size, &opts, &write_cbs, p);
    for (size_t i = 0; i < nh; i++)
        free(hdrs[i]);
    if (!p->w) {
        put_free(p);
        gw_error(g, 400, "InvalidArgument", "The object could not be written (invalid key).");
        return;
    }
    http_req_read_body(g->r, &body_cbs, p);
}

/* ---- DeleteObject ------------------------------------------------------- */

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
    if (meta_lookup(g->ctx->meta, g->mount, g->mkey, &st) == 0 && g->ctx->store) {
        uint64_t bs = g->ctx->block_size;
        for (uint64_t i = 0; i * bs < st.size; i++) {
            uint8_t id[RING_ID_LEN];
            if (ring_block_id(g->mname, g->key, st.etag, bs, i, id) == 0)
                store_remove(g->ctx->store, id);
        }
    }
    meta_invalidate(g->ctx->meta, g->mount, g->mkey);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 204, 0);
    http_resp_end(g->r);
    gw_done(g, 204);
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
