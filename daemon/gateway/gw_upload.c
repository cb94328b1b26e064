/* daemon/gateway/gw_upload.c: the body of an upload (PutObject, UploadPart), pumped
 * from the client to the S3 writer; both operations share this one pump.
 *
 * What it checks, in order, as the bytes come:
 *   - the framing: aws-chunked bodies (the STREAMING-* payloads of newer
 *     SDKs) are decoded, their chunk signatures checked, and the decoded
 *     bytes held to exactly x-amz-decoded-content-length; plain bodies to
 *     Content-Length. A byte past the declared length is refused before it
 *     is written anywhere;
 *   - the payload hash the client signed (x-amz-content-sha256), at the end;
 *   - the length, at the end (fewer bytes than declared: IncompleteBody).
 * On any failure the S3 write is cancelled before S3 completes it and
 * nothing is cached: the object in S3 and the cache are as before.
 *
 * Memory comes out of the request budget (budget.h): the writer's buffers
 * (ufs_write_memory) are required, so an upload that cannot have them is
 * refused with 503 SlowDown before a byte is read; the bytes kept for the
 * cache (gw_blocks) are optional and taken only while half the budget is
 * free.
 *
 * Ownership: the pump is the request's op_state from gw_upload_new until
 * gw_upload_free; the operation's done callback runs once and frees it (or
 * hands the staged blocks on first: gw_blocks_move). */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "ufs/sigv4.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- staged blocks -------------------------------------------------------------- */

int gw_blocks_reserve(struct gw_blocks *s, struct shd_ctx *ctx, uint64_t size)
{
    memset(s, 0, sizeof(*s));
    if (size == UFS_SIZE_UNKNOWN || !ctx->store ||
        (size && shd_budget_take_spare(&ctx->reqmem, SHD_MEM_STAGE, size) != 0))
        return -1;
    s->ctx = ctx;
    s->cap = size; /* an empty body stages nothing, and takes nothing */
    s->bs = ctx->block_size;
    s->nblk = (size_t)((size + s->bs - 1) / s->bs);
    s->blk = shd_xcalloc(s->nblk ? s->nblk : 1, sizeof(*s->blk));
    return 0;
}

int gw_blocks_add(struct gw_blocks *s, const uint8_t *buf, size_t len)
{
    if (len > s->cap - s->len)
        return -1; /* never past what was reserved */
    while (len > 0) {
        size_t idx = (size_t)(s->len / s->bs), off = (size_t)(s->len % s->bs);
        size_t n = (size_t)s->bs - off;
        if (n > len)
            n = len;
        if (!s->blk[idx])
            s->blk[idx] = shd_xmalloc((size_t)s->bs);
        memcpy(s->blk[idx] + off, buf, n);
        buf += n;
        len -= n;
        s->len += n;
    }
    return 0;
}

void gw_blocks_read(const struct gw_blocks *s, uint64_t off, uint8_t *dst, size_t n)
{
    while (n > 0) {
        size_t idx = (size_t)(off / s->bs), o = (size_t)(off % s->bs);
        size_t k = (size_t)s->bs - o;
        if (k > n)
            k = n;
        memcpy(dst, s->blk[idx] + o, k);
        dst += k;
        off += k;
        n -= k;
    }
}

void gw_blocks_move(struct gw_blocks *dst, struct gw_blocks *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

void gw_blocks_release(struct gw_blocks *s)
{
    if (!s->ctx)
        return;
    for (size_t i = 0; i < s->nblk; i++)
        free(s->blk[i]);
    free(s->blk);
    shd_budget_give(&s->ctx->reqmem, SHD_MEM_STAGE, s->cap);
    memset(s, 0, sizeof(*s));
}

/* ---- the pump ------------------------------------------------------------------ */

void gw_upload_free(struct gw_upload *up)
{
    gw_blocks_release(&up->stage);
    if (up->writer_mem)
        shd_budget_give(&up->g->ctx->reqmem, SHD_MEM_WRITER, up->writer_mem);
    EVP_MD_CTX_free(up->sha);
    gw_chunked_free(up->dec);
    free(up->kept);
    up->g->op_state = NULL;
    up->g->op_abort = NULL;
    free(up);
}

static void upload_abort(struct gw_req *g)
{
    struct gw_upload *up = g->op_state;
    if (up->w)
        ufs_cancel(up->w);
    gw_upload_free(up);
}

/* fail: cancels the S3 write (S3 never completes it), frees the pump and
 * answers the client. */
static void fail(struct gw_upload *up, int status, const char *code, const char *msg)
{
    struct gw_req *g = up->g;
    if (up->w)
        ufs_cancel(up->w);
    gw_upload_free(up);
    gw_error(g, status, code, msg);
}

static void on_write_done(void *arg, int err, const char *etag)
{
    struct gw_upload *up = arg;
    up->w = NULL;
    up->done(up, err, etag);
}

static void on_write_drain(void *arg)
{
    struct gw_upload *up = arg;
    if (up->paused) {
        up->paused = 0;
        http_req_body_resume(up->g->r);
    }
}

static const struct ufs_write_cbs write_cbs = {on_write_drain, on_write_done};

/* data: decoded body bytes, within the declared length (checked by the
 * caller): hashed, staged, written. 1 asks to pause the body. */
static int data(void *arg, const void *buf, size_t len)
{
    struct gw_upload *up = arg;
    if (up->sha)
        EVP_DigestUpdate(up->sha, buf, len);
    if (up->stage.ctx && gw_blocks_add(&up->stage, buf, len) != 0)
        gw_blocks_release(&up->stage); /* cannot happen: the length is checked */
    up->received += len;
    if (ufs_write(up->w, buf, len) == UFS_WRITE_FULL) {
        up->paused = 1;
        return 1;
    }
    return 0; /* an error reaches on_write_done */
}

static void too_long(struct gw_upload *up)
{
    fail(up, 400, "InvalidRequest",
         up->dec ? "The decoded body is longer than the x-amz-decoded-content-length header "
                   "says."
                 : "The body is longer than the Content-Length header says.");
}

static int on_body(void *arg, const void *buf, size_t len)
{
    struct gw_upload *up = arg;
    int pause = 0, rc;
    if (!up->dec) {
        if (up->size != UFS_SIZE_UNKNOWN && len > up->size - up->received) {
            too_long(up);
            return 0;
        }
        return data(up, buf, len);
    }
    rc = gw_chunked_feed(up->dec, buf, len, data, up, &pause);
    switch (rc) {
    case 0:
        if (pause)
            up->paused = 1;
        return pause;
    case GW_CHUNKED_ESIG:
        fail(up, 403, "SignatureDoesNotMatch",
             "The chunk signature we calculated does not match the one you provided.");
        break;
    case GW_CHUNKED_ELONG:
        too_long(up);
        break;
    case GW_CHUNKED_ESHORT:
        fail(up, 400, "IncompleteBody",
             "You did not provide the number of bytes specified by the "
             "x-amz-decoded-content-length HTTP header.");
        break;
    default:
        fail(up, 400, "IncompleteBody", "The aws-chunked body is malformed.");
        break;
    }
    return 0; /* answered: no more body */
}

static void on_body_end(void *arg, int err)
{
    struct gw_upload *up = arg;
    if (err)
        return; /* the client left: upload_abort cleans up */
    if (up->dec && !gw_chunked_done(up->dec)) {
        fail(up, 400, "IncompleteBody", "The aws-chunked body ended early.");
        return;
    }
    if (up->sha) {
        unsigned char d[32];
        unsigned int dl = 32;
        char hex[65];
        EVP_DigestFinal_ex(up->sha, d, &dl);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        if (strcmp(hex, up->g->payload_sha256) != 0) {
            fail(up, 400, "XAmzContentSHA256Mismatch",
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return;
        }
    }
    if (up->size != UFS_SIZE_UNKNOWN && up->received != up->size) {
        fail(up, 400, "IncompleteBody",
             "You did not provide the number of bytes specified by the Content-Length HTTP "
             "header.");
        return;
    }
    if (up->size == UFS_SIZE_UNKNOWN)
        up->size = up->received;
    ufs_write_close(up->w);
}

static const struct http_body_cbs body_cbs = {on_body, on_body_end};

struct gw_upload *gw_upload_new(struct gw_req *g, uint64_t max, int part, gw_upload_done_fn done)
{
    uint64_t size = http_req_body_length(g->r);
    struct gw_chunked *dec = NULL;
    struct gw_upload *up;
    uint64_t mem;

    if (size == 0 && !http_req_header(g->r, "content-length") &&
        !http_req_header(g->r, "transfer-encoding") && !g->streaming) {
        gw_error(g, 411, "MissingContentLength",
                 "You must provide the Content-Length HTTP header.");
        return NULL;
    }
    if (gw_body_decoder(g, &dec, &size) != 0)
        return NULL;
    if (size == HTTP_UNKNOWN_LENGTH && part) {
        gw_chunked_free(dec);
        gw_error(g, 411, "MissingContentLength",
                 "You must provide the Content-Length HTTP header.");
        return NULL;
    }
    if (size != HTTP_UNKNOWN_LENGTH && size > max) {
        gw_chunked_free(dec);
        gw_error(g, 400, "EntityTooLarge",
                 part ? "Your proposed upload exceeds the maximum part size."
                      : "Your proposed upload exceeds the maximum allowed object size.");
        return NULL;
    }
    up = shd_xcalloc(1, sizeof(*up));
    up->g = g;
    up->dec = dec;
    up->done = done;
    up->size = size == HTTP_UNKNOWN_LENGTH ? UFS_SIZE_UNKNOWN : size;
    g->op_state = up;
    g->op_abort = upload_abort;
    mem = ufs_write_memory(g->u, up->size, part);
    if (mem && shd_budget_take(&g->ctx->reqmem, SHD_MEM_WRITER, mem) != 0) {
        shd_warn("gateway",
                 "no request memory for an upload, refused with 503 (raise "
                 "cache.request_memory) bytes=%llu",
                 (unsigned long long)mem);
        gw_upload_free(up);
        gw_error(g, 503, "SlowDown", "Please reduce your request rate.");
        return NULL;
    }
    up->writer_mem = mem;
    if (!dec && g->payload_sha256[0] &&
        strcmp(g->payload_sha256, UFS_SIGV4_UNSIGNED_PAYLOAD) != 0) {
        up->sha = EVP_MD_CTX_new();
        if (!up->sha || EVP_DigestInit_ex(up->sha, EVP_sha256(), NULL) != 1)
            shd_oom(0);
    }
    return up;
}

void gw_upload_start(struct gw_upload *up, struct ufs_req *w)
{
    struct gw_req *g = up->g;
    if (!w) {
        gw_upload_free(up);
        gw_error(g, 400, "InvalidArgument", "The object could not be written (invalid key).");
        return;
    }
    up->w = w;
    http_req_read_body(g->r, &body_cbs, up);
}

const struct ufs_write_cbs *gw_upload_write_cbs(void)
{
    return &write_cbs;
}
