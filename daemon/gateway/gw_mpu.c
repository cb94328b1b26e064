/* daemon/gateway/gw_mpu.c: a client's multipart upload through the gateway:
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, passed to the mount's S3 as they come (UploadPartCopy
 * is routed to gw_copy.c).
 *
 * Parts' bodies go through the upload pump (gw_upload.c), as PutObject's.
 *
 * Write-through: the parts' bytes are also kept (gw_mpu_stage.c, in memory,
 * under the request memory budget) until the upload completes; then, with
 * the final ETag that S3 returns, the parts Complete names are cut into the
 * object's blocks and put in the store, so a read right after the upload is
 * a hit. Uploads with a part not kept (over the budget, sent to another
 * node, or copied server-side by UploadPartCopy in gw_copy.c) are simply
 * not cached (their metadata is dropped at Complete; reads fill them
 * later). */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"
#include "ufs/sigv4.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MPU_PARTS_MAX GW_MPU_PARTS_MAX
#define MPU_PART_MAX (5ULL << 30)

/* ---- CreateMultipartUpload ------------------------------------------------ */

static void reply_xml(struct gw_req *g, int status, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, status, "application/xml", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
    gw_done(g, status);
}

static struct evbuffer *xml_start(const char *root)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                        root);
    return b;
}

static void xml_elem(struct evbuffer *b, const char *tag, const char *v)
{
    evbuffer_add_printf(b, "<%s>", tag);
    gw_xml_escape(b, v);
    evbuffer_add_printf(b, "</%s>", tag);
}

static void mpu_cancel(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

static void on_created(void *arg, int err, const char *upload_id)
{
    struct gw_req *g = arg;
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err) {
        gw_error_ufs(g, err);
        return;
    }
    struct evbuffer *b = xml_start("InitiateMultipartUploadResult");
    xml_elem(b, "Bucket", g->bucket);
    xml_elem(b, "Key", g->key);
    xml_elem(b, "UploadId", upload_id);
    evbuffer_add_printf(b, "</InitiateMultipartUploadResult>\n");
    reply_xml(g, 200, b);
}

static void mpu_create(struct gw_req *g)
{
    const char *ct = http_req_header(g->r, "content-type");
    char **hdrs = gw_kept_request_headers(g, 0, NULL); /* x-amz-meta-*, Cache-Control, ... */
    struct ufs_put_opts opts = {ct, (const char *const *)hdrs, NULL};
    g->op_state = ufs_mpu_create(g->u, g->key, &opts, on_created, g);
    gw_headers_free(hdrs);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The upload could not be started (invalid key).");
        return;
    }
    g->op_abort = mpu_cancel;
}

/* ---- UploadPart --------------------------------------------------------- */

static void part_done(struct gw_upload *up, int err, const char *etag)
{
    struct gw_req *g = up->g;
    if ((err == UFS_ECONFLICT || err == UFS_ENOENT) && !ufs_error_detail()) {
        gw_upload_free(up);
        gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    if (err) {
        gw_upload_free(up);
        gw_error_ufs(g, err);
        return;
    }
    if (g->ctx->store)
        gw_mpu_stage_part(g, up->part, etag, &up->stage);
    http_resp_header(g->r, "ETag", etag);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 200, 0);
    http_resp_end(g->r);
    gw_upload_free(up);
    gw_done(g, 200);
}

/* The request's partNumber: 0 after sending a 400 when it is not one. */
static unsigned part_number(struct gw_req *g)
{
    const char *pn = gw_query(g, "partNumber");
    char *end;
    long n = pn && *pn >= '0' && *pn <= '9' ? strtol(pn, &end, 10) : 0;
    if (!n || *end || n < 1 || n > MPU_PARTS_MAX) {
        gw_error(g, 400, "InvalidArgument",
                 "Part number must be an integer between 1 and 10000, inclusive.");
        return 0;
    }
    return (unsigned)n;
}

static void mpu_part(struct gw_req *g, unsigned n)
{
    struct gw_upload *up = gw_upload_new(g, MPU_PART_MAX, 1, part_done);
    if (!up)
        return;
    up->part = n;
    gw_blocks_reserve(&up->stage, g->ctx, up->size); /* or the upload is not cached */
    gw_upload_start(up, ufs_mpu_part(g->u, g->key, gw_query(g, "uploadId"), n, up->size,
                                     gw_upload_write_cbs(), up));
}

/* UploadPart, or UploadPartCopy when the request names a copy source. */
static void mpu_put(struct gw_req *g)
{
    unsigned n = part_number(g);
    if (!n)
        return;
    if (http_req_header(g->r, "x-amz-copy-source"))
        gw_part_copy(g, n);
    else
        mpu_part(g, n);
}

/* ---- CompleteMultipartUpload ---------------------------------------------- */

struct complete {
    struct gw_req *g;
    struct ufs_req *req;
    char *body;
    size_t len, mem; /* bytes in, request memory held (the most the body may have) */
    int too_long;
    struct gw_part_list pl;
};

static void complete_free(struct complete *c)
{
    gw_part_list_free(&c->pl);
    free(c->body);
    if (c->mem)
        shd_budget_give(&c->g->ctx->reqmem, SHD_MEM_BODY, c->mem);
    c->g->op_state = NULL;
    c->g->op_abort = NULL;
    free(c);
}

static void complete_abort(struct gw_req *g)
{
    struct complete *c = g->op_state;
    ufs_cancel(c->req);
    complete_free(c);
}

/* cache_completed: cuts the staged parts, in the completed order, into the
 * object's blocks; nothing when a named part (number and ETag) was not kept
 * here. */
static void cache_completed(struct complete *c, const struct gw_staged *s, const char *etag)
{
    struct gw_req *g = c->g;
    uint64_t bs = g->ctx->block_size, total = 0, off = 0;
    const struct gw_blocks **order = shd_xcalloc(c->pl.n, sizeof(*order));
    for (size_t i = 0; i < c->pl.n; i++) {
        order[i] = gw_mpu_staged_part(s, c->pl.parts[i].number, c->pl.parts[i].etag);
        if (!order[i]) { /* a part this node did not keep */
            free(order);
            return;
        }
        total += order[i]->len;
    }
    size_t pi = 0;
    uint64_t po = 0;
    for (uint64_t idx = 0; off < total; idx++) {
        size_t len = (size_t)(total - off < bs ? total - off : bs), filled = 0;
        uint8_t id[RING_ID_LEN];
        ring_block_id(g->mname, g->key, etag, bs, idx, id);
        struct store_block *b = store_block_new(id, len);
        if (!b)
            break;
        while (filled < len) {
            uint64_t n = order[pi]->len - po;
            if (n > len - filled)
                n = len - filled;
            gw_blocks_read(order[pi], po, store_block_data(b) + filled, (size_t)n);
            filled += (size_t)n;
            po += n;
            if (po == order[pi]->len) {
                pi++;
                po = 0;
            }
        }
        gw_place_block(g, b);
        store_block_unref(b);
        off += len;
    }
    free(order);
}

static void on_completed(void *arg, int err, const char *etag)
{
    struct complete *c = arg;
    struct gw_req *g = c->g;
    struct gw_staged *s;
    c->req = NULL;
    if (err) {
        /* the upload is gone: so is its staging; else a retried Complete
         * may still cache it */
        if (err == UFS_ENOENT || err == UFS_ECONFLICT)
            gw_mpu_unstage(g);
        complete_free(c);
        if (ufs_error_detail()) /* S3's own code: EntityTooSmall, InvalidPart, ... */
            gw_error_ufs(g, err);
        else if (err == UFS_EINVAL)
            gw_error(g, 400, "InvalidPart",
                     "One or more of the specified parts could not be "
                     "found, or their ETags did not match.");
        else if (err == UFS_ENOENT || err == UFS_ECONFLICT)
            gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        else
            gw_error_ufs(g, err);
        return;
    }
    s = gw_mpu_stage_take(g);
    if (s && g->ctx->store)
        cache_completed(c, s, etag);
    gw_mpu_staged_free(s);
    /* the next read learns the object with one HEAD (its Content-Type and
     * headers were given at Create, to S3); its blocks, cached above under
     * the final ETag, are hits */
    meta_invalidate(g->ctx->meta, g->mns, g->mkey);
    struct evbuffer *b = xml_start("CompleteMultipartUploadResult");
    char loc[512];
    snprintf(loc, sizeof(loc), "/%s/%s", g->bucket, g->key);
    xml_elem(b, "Location", loc);
    xml_elem(b, "Bucket", g->bucket);
    xml_elem(b, "Key", g->key);
    xml_elem(b, "ETag", etag);
    evbuffer_add_printf(b, "</CompleteMultipartUploadResult>\n");
    complete_free(c);
    const char *key = g->key;
    gw_tell_xml(g, &key, 1, 200, b);
}

static int complete_body(void *arg, const void *buf, size_t len)
{
    struct complete *c = arg;
    if (c->too_long || len > c->mem - c->len) {
        c->too_long = 1;
        return 0;
    }
    if (!c->body)
        c->body = shd_xmalloc(c->mem + 1);
    memcpy(c->body + c->len, buf, len);
    c->len += len;
    return 0;
}

static void complete_body_end(void *arg, int err)
{
    struct complete *c = arg;
    struct gw_req *g = c->g;
    int rc;
    if (err)
        return;
    if (g->payload_sha256[0] && strcmp(g->payload_sha256, UFS_SIGV4_UNSIGNED_PAYLOAD) != 0) {
        unsigned char d[32];
        unsigned int dl = 32;
        char hex[65];
        EVP_Digest(c->body ? c->body : "", c->len, d, &dl, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        if (strcmp(hex, g->payload_sha256) != 0) {
            complete_free(c);
            gw_error(g, 400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was "
                     "computed.");
            return;
        }
    }
    rc = c->too_long ? -1 : gw_mpu_parse_complete(c->body ? c->body : "", c->len, &c->pl);
    if (rc) {
        complete_free(c);
        if (rc == -2)
            gw_error(g, 400, "InvalidPartOrder",
                     "The list of parts was not in ascending order. Parts must be ordered by "
                     "part number.");
        else
            gw_error(g, 400, "MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our "
                     "published schema.");
        return;
    }
    c->req = ufs_mpu_complete(g->u, g->key, gw_query(g, "uploadId"), c->pl.parts, c->pl.n,
                              on_completed, c);
    if (!c->req) {
        complete_free(c);
        gw_error(g, 400, "InvalidArgument", "The upload could not be completed.");
    }
}

static const struct http_body_cbs complete_cbs = {complete_body, complete_body_end};

static void mpu_complete(struct gw_req *g)
{
    uint64_t cl = http_req_body_length(g->r);
    size_t mem = cl != HTTP_UNKNOWN_LENGTH && cl < GW_MPU_BODY_MAX ? (size_t)cl : GW_MPU_BODY_MAX;
    if (shd_budget_take(&g->ctx->reqmem, SHD_MEM_BODY, mem) != 0) {
        gw_error(g, 503, "SlowDown", "Please reduce your request rate.");
        return;
    }
    struct complete *c = shd_xcalloc(1, sizeof(*c));
    c->g = g;
    c->mem = mem;
    g->op_state = c;
    g->op_abort = complete_abort;
    http_req_read_body(g->r, &complete_cbs, c);
}

/* ---- AbortMultipartUpload --------------------------------------------------- */

static void on_aborted(void *arg, int err)
{
    struct gw_req *g = arg;
    g->op_state = NULL;
    g->op_abort = NULL;
    gw_mpu_unstage(g);
    if ((err == UFS_ENOENT || err == UFS_ECONFLICT) && !ufs_error_detail()) {
        gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    if (err) {
        gw_error_ufs(g, err);
        return;
    }
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 204, 0);
    http_resp_end(g->r);
    gw_done(g, 204);
}

static void mpu_abort(struct gw_req *g)
{
    g->op_state = ufs_mpu_abort(g->u, g->key, gw_query(g, "uploadId"), on_aborted, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The upload could not be aborted.");
        return;
    }
    g->op_abort = mpu_cancel;
}

void gw_multipart(struct gw_req *g)
{
    const char *m = http_req_method(g->r);
    int post = strcmp(m, "POST") == 0;
    if (strcmp(m, "GET") == 0 && gw_query(g, "uploadId")) {
        gw_list_parts(g); /* a read: gw_mpu_list.c checks it */
        return;
    }
    if (!gw_allowed(g, g->mount, g->key, 1)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (g->ctx->cfg->mounts[g->mount].write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    if (post && gw_query(g, "uploads"))
        mpu_create(g);
    else if (strcmp(m, "PUT") == 0 && gw_query(g, "uploadId"))
        mpu_put(g);
    else if (post && gw_query(g, "uploadId"))
        mpu_complete(g);
    else if (strcmp(m, "DELETE") == 0 && gw_query(g, "uploadId"))
        mpu_abort(g);
    else
        gw_error(g, 405, "MethodNotAllowed",
                 "The specified method is not allowed against this resource.");
}
