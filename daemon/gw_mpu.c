/* daemon/gw_mpu.c: a client's multipart upload through the gateway:
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, passed to the mount's S3 as they come (UploadPartCopy
 * is routed to gw_copy.c).
 *
 * Write-through: the parts' bytes are also kept (up to MPU_STAGE_MAX per
 * node, in memory) until the upload completes; then, with the final ETag
 * that S3 returns, they are cut into the object's blocks and put in the
 * store, so a read right after the upload is a hit. Uploads that do not
 * fit, and uploads with a part copied server-side (UploadPartCopy, done by
 * gw_copy.c: its bytes never pass through here), are simply not cached
 * (their metadata is dropped at Complete; reads fill them later). */
#include "daemon/gw_int.h"

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/meta.h"
#include "daemon/shd.h"
#include "daemon/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"

#include <expat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MPU_STAGE_MAX (512ULL << 20) /* bytes of parts kept for caching, per node */
#define MPU_BODY_MAX (1u << 20)      /* a CompleteMultipartUpload body */
#define MPU_PARTS_MAX 10000
#define MPU_PART_MAX (5ULL << 30)

/* ---- staged parts, for write-through ------------------------------------ */

struct staged_part {
    unsigned number;
    uint8_t *data;
    size_t len;
};

struct staged {
    struct staged *next;
    char *upload_id;
    struct staged_part *parts;
    size_t nparts, cap;
    int dropped; /* over the budget: not cached */
};

static pthread_mutex_t stage_lock = PTHREAD_MUTEX_INITIALIZER;
static struct staged *stage_list;
static uint64_t stage_bytes;

static struct staged *stage_find(const char *id, int create)
{
    struct staged *s;
    for (s = stage_list; s; s = s->next)
        if (strcmp(s->upload_id, id) == 0)
            return s;
    if (!create)
        return NULL;
    s = shd_xcalloc(1, sizeof(*s));
    s->upload_id = shd_xstrdup(id);
    s->next = stage_list;
    stage_list = s;
    return s;
}

static void stage_free_parts(struct staged *s)
{
    for (size_t i = 0; i < s->nparts; i++) {
        stage_bytes -= s->parts[i].len;
        free(s->parts[i].data);
    }
    free(s->parts);
    s->parts = NULL;
    s->nparts = s->cap = 0;
}

/* Removes an upload's staging and returns it (caller frees), or NULL. */
static struct staged *stage_take(const char *id)
{
    struct staged **pp = &stage_list, *s;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->upload_id, id) == 0)
            break;
    s = *pp;
    if (s)
        *pp = s->next;
    return s;
}

static void staged_free(struct staged *s)
{
    if (!s)
        return;
    stage_free_parts(s);
    free(s->upload_id);
    free(s);
}

/* Keeps a part's bytes (takes data) unless over the budget. */
static void stage_part(const char *id, unsigned number, uint8_t *data, size_t len)
{
    pthread_mutex_lock(&stage_lock);
    struct staged *s = stage_find(id, 1);
    if (s->dropped || stage_bytes + len > MPU_STAGE_MAX) {
        if (!s->dropped)
            shd_info("gateway", "multipart upload too large to cache on write upload=%s", id);
        s->dropped = 1;
        stage_free_parts(s);
        free(data);
        pthread_mutex_unlock(&stage_lock);
        return;
    }
    for (size_t i = 0; i < s->nparts; i++) { /* a part uploaded again replaces the old one */
        if (s->parts[i].number == number) {
            stage_bytes -= s->parts[i].len;
            free(s->parts[i].data);
            s->parts[i].data = data;
            s->parts[i].len = len;
            stage_bytes += len;
            pthread_mutex_unlock(&stage_lock);
            return;
        }
    }
    if (s->nparts == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->parts = shd_xrealloc(s->parts, s->cap * sizeof(*s->parts));
    }
    s->parts[s->nparts].number = number;
    s->parts[s->nparts].data = data;
    s->parts[s->nparts].len = len;
    s->nparts++;
    stage_bytes += len;
    pthread_mutex_unlock(&stage_lock);
}

/* Marks an upload not to be cached at Complete (its staged parts freed,
 * later ones dropped): the entry goes at Complete or Abort, as others do. */
void gw_mpu_uncached(const char *upload_id)
{
    pthread_mutex_lock(&stage_lock);
    struct staged *s = stage_find(upload_id, 1);
    s->dropped = 1;
    stage_free_parts(s);
    pthread_mutex_unlock(&stage_lock);
}

void gw_mpu_unstage(const char *upload_id)
{
    pthread_mutex_lock(&stage_lock);
    struct staged *s = stage_take(upload_id);
    pthread_mutex_unlock(&stage_lock);
    staged_free(s);
}

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
    struct ufs_put_opts opts = {ct, NULL, NULL};
    g->op_state = ufs_mpu_create(g->u, g->key, &opts, on_created, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The upload could not be started (invalid key).");
        return;
    }
    g->op_abort = mpu_cancel;
}

/* ---- UploadPart --------------------------------------------------------- */

struct part {
    struct gw_req *g;
    struct ufs_req *w;
    struct gw_chunked *dec; /* aws-chunked body, or NULL */
    unsigned number;
    uint64_t size, received;
    uint8_t *data; /* kept for the cache, or NULL */
    int paused;
};

static void part_free(struct part *p)
{
    gw_chunked_free(p->dec);
    free(p->data);
    p->g->op_state = NULL;
    p->g->op_abort = NULL;
    free(p);
}

static void part_abort(struct gw_req *g)
{
    struct part *p = g->op_state;
    ufs_cancel(p->w);
    part_free(p);
}

static void part_done(void *arg, int err, const char *etag)
{
    struct part *p = arg;
    struct gw_req *g = p->g;
    p->w = NULL;
    if (err == UFS_ECONFLICT || err == UFS_ENOENT) {
        part_free(p);
        gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    if (err) {
        part_free(p);
        gw_error_ufs(g, err);
        return;
    }
    if (p->data && p->received == p->size) {
        stage_part(gw_query(g, "uploadId"), p->number, p->data, (size_t)p->size);
        p->data = NULL;
    }
    http_resp_header(g->r, "ETag", etag);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, 200, 0);
    http_resp_end(g->r);
    part_free(p);
    gw_done(g, 200);
}

static void part_drain(void *arg)
{
    struct part *p = arg;
    if (p->paused) {
        p->paused = 0;
        http_req_body_resume(p->g->r);
    }
}

static const struct ufs_write_cbs part_cbs = {part_drain, part_done};

static int part_data(void *arg, const void *buf, size_t len)
{
    struct part *p = arg;
    if (p->data && p->received + len <= p->size)
        memcpy(p->data + p->received, buf, len);
    p->received += len;
    if (ufs_write(p->w, buf, len) == UFS_WRITE_FULL) {
        p->paused = 1;
        return 1;
    }
    return 0;
}

static void part_fail(struct part *p, int status, const char *code, const char *msg)
{
    struct gw_req *g = p->g;
    ufs_cancel(p->w);
    part_free(p);
    gw_error(g, status, code, msg);
}

static int part_body(void *arg, const void *buf, size_t len)
{
    struct part *p = arg;
    int pause = 0, rc;
    if (!p->dec)
        return part_data(p, buf, len);
    rc = gw_chunked_feed(p->dec, buf, len, part_data, p, &pause);
    if (rc == -2)
        part_fail(p, 403, "SignatureDoesNotMatch",
                  "The chunk signature we calculated does not match the one you provided.");
    else if (rc < 0)
        part_fail(p, 400, "IncompleteBody", "The aws-chunked body is malformed.");
    else if (pause)
        p->paused = 1;
    return rc == 0 && pause;
}

static void part_body_end(void *arg, int err)
{
    struct part *p = arg;
    if (err)
        return;
    if (p->dec && !gw_chunked_done(p->dec)) {
        part_fail(p, 400, "IncompleteBody", "The aws-chunked body ended early.");
        return;
    }
    if (p->received != p->size) {
        struct gw_req *g = p->g;
        ufs_cancel(p->w);
        part_free(p);
        gw_error(g, 400, "IncompleteBody",
                 "You did not provide the number of bytes specified "
                 "by the Content-Length HTTP header.");
        return;
    }
    ufs_write_close(p->w);
}

static const struct http_body_cbs part_body_cbs = {part_body, part_body_end};

/* The request's partNumber: 0 after sending a 400 when it is not one. */
static unsigned part_number(struct gw_req *g)
{
    const char *pn = gw_query(g, "partNumber");
    char *end;
    long n = pn ? strtol(pn, &end, 10) : 0;
    if (!pn || *end || n < 1 || n > MPU_PARTS_MAX) {
        gw_error(g, 400, "InvalidArgument",
                 "Part number must be an integer between 1 and 10000, inclusive.");
        return 0;
    }
    return (unsigned)n;
}

static void mpu_part(struct gw_req *g, unsigned n)
{
    const char *id = gw_query(g, "uploadId");
    uint64_t size = http_req_body_length(g->r);
    struct gw_chunked *dec = NULL;
    if (size == HTTP_UNKNOWN_LENGTH) {
        gw_error(g, 411, "MissingContentLength",
                 "You must provide the Content-Length HTTP header.");
        return;
    }
    if (size > MPU_PART_MAX) {
        gw_chunked_free(dec);
        gw_error(g, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum part size.");
        return;
    }
    struct part *p = shd_xcalloc(1, sizeof(*p));
    p->g = g;
    p->dec = dec;
    p->number = n;
    p->size = size;
    if (g->ctx->store && size <= MPU_STAGE_MAX)
        p->data = malloc(size ? (size_t)size : 1); /* no cache on write if this fails */
    g->op_state = p;
    g->op_abort = part_abort;
    p->w = ufs_mpu_part(g->u, g->key, id, p->number, size, &part_cbs, p);
    if (!p->w) {
        part_free(p);
        gw_error(g, 400, "InvalidArgument", "The part could not be uploaded.");
        return;
    }
    http_req_read_body(g->r, &part_body_cbs, p);
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
    size_t len;
    /* parsed */
    struct ufs_part *parts;
    char **etags;
    size_t nparts;
    int in_part, depth, bad;
    char text[256];
    size_t tlen;
    unsigned cur_number;
    char cur_etag[UFS_ETAG_MAX];
};

static void complete_free(struct complete *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        free(c->etags[i]);
    free(c->etags);
    free(c->parts);
    free(c->body);
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

static void XMLCALL x_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct complete *c = ud;
    (void)attrs;
    c->depth++;
    c->tlen = 0;
    if (c->depth == 1 && strcmp(name, "CompleteMultipartUpload") != 0)
        c->bad = 1;
    if (c->depth == 2 && strcmp(name, "Part") == 0) {
        c->in_part = 1;
        c->cur_number = 0;
        c->cur_etag[0] = '\0';
    }
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int len)
{
    struct complete *c = ud;
    if (c->tlen + (size_t)len >= sizeof(c->text)) {
        c->bad = 1;
        return;
    }
    memcpy(c->text + c->tlen, s, (size_t)len);
    c->tlen += (size_t)len;
}

static void XMLCALL x_end(void *ud, const XML_Char *name)
{
    struct complete *c = ud;
    c->text[c->tlen] = '\0';
    if (c->in_part && c->depth == 3) {
        if (strcmp(name, "PartNumber") == 0) {
            char *end;
            long n = strtol(c->text, &end, 10);
            if (*end || n < 1 || n > MPU_PARTS_MAX)
                c->bad = 1;
            c->cur_number = (unsigned)n;
        } else if (strcmp(name, "ETag") == 0) {
            if (c->tlen >= sizeof(c->cur_etag))
                c->bad = 1;
            else
                memcpy(c->cur_etag, c->text, c->tlen + 1);
        }
    }
    if (c->depth == 2 && c->in_part) {
        c->in_part = 0;
        if (!c->cur_number || !c->cur_etag[0] || c->nparts == MPU_PARTS_MAX) {
            c->bad = 1;
        } else {
            c->parts = shd_xrealloc(c->parts, (c->nparts + 1) * sizeof(*c->parts));
            c->etags = shd_xrealloc(c->etags, (c->nparts + 1) * sizeof(*c->etags));
            c->etags[c->nparts] = shd_xstrdup(c->cur_etag);
            c->parts[c->nparts].number = c->cur_number;
            c->parts[c->nparts].etag = c->etags[c->nparts];
            c->nparts++;
        }
    }
    c->tlen = 0;
    c->depth--;
}

static int parse_complete(struct complete *c)
{
    XML_Parser x = XML_ParserCreate("UTF-8");
    int ok;
    if (!x)
        shd_oom(0);
    XML_SetUserData(x, c);
    XML_SetElementHandler(x, x_start, x_end);
    XML_SetCharacterDataHandler(x, x_text);
    ok = XML_Parse(x, c->body, (int)c->len, 1) == XML_STATUS_OK;
    XML_ParserFree(x);
    if (!ok || c->bad || c->nparts == 0)
        return -1;
    for (size_t i = 1; i < c->nparts; i++)
        if (c->parts[i].number <= c->parts[i - 1].number)
            return -2; /* S3 wants them in ascending order */
    return 0;
}

/* Cuts the staged parts (in the completed order) into the object's blocks. */
static void cache_completed(struct complete *c, struct staged *s, const char *etag,
                            uint64_t *size_out)
{
    struct gw_req *g = c->g;
    uint64_t bs = g->ctx->block_size, total = 0, off = 0;
    const struct staged_part **order = shd_xcalloc(c->nparts, sizeof(*order));
    *size_out = UINT64_MAX;
    for (size_t i = 0; i < c->nparts; i++) {
        for (size_t j = 0; j < s->nparts; j++)
            if (s->parts[j].number == c->parts[i].number)
                order[i] = &s->parts[j];
        if (!order[i]) { /* a part this node did not see */
            free(order);
            return;
        }
        total += order[i]->len;
    }
    *size_out = total;
    size_t pi = 0, po = 0;
    for (uint64_t idx = 0; off < total; idx++) {
        size_t len = (size_t)(total - off < bs ? total - off : bs), filled = 0;
        uint8_t id[RING_ID_LEN];
        ring_block_id(g->mname, g->key, etag, bs, idx, id);
        struct store_block *b = store_block_new(id, len);
        if (!b)
            break;
        while (filled < len) {
            size_t n = order[pi]->len - po;
            if (n > len - filled)
                n = len - filled;
            memcpy(store_block_data(b) + filled, order[pi]->data + po, n);
            filled += n;
            po += n;
            if (po == order[pi]->len) {
                pi++;
                po = 0;
            }
        }
        store_put(g->ctx->store, b);
        store_block_unref(b);
        off += len;
    }
    free(order);
}

static void on_completed(void *arg, int err, const char *etag)
{
    struct complete *c = arg;
    struct gw_req *g = c->g;
    const char *id = gw_query(g, "uploadId");
    c->req = NULL;
    pthread_mutex_lock(&stage_lock);
    struct staged *s = stage_take(id);
    pthread_mutex_unlock(&stage_lock);
    if (err) {
        staged_free(s);
        complete_free(c);
        if (err == UFS_EINVAL)
            gw_error(g, 400, "InvalidPart",
                     "One or more of the specified parts could not be "
                     "found, or their ETags did not match.");
        else if (err == UFS_ENOENT || err == UFS_ECONFLICT)
            gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        else
            gw_error_ufs(g, err);
        return;
    }
    uint64_t size = UINT64_MAX;
    if (s && !s->dropped && g->ctx->store)
        cache_completed(c, s, etag, &size);
    staged_free(s);
    if (size != UINT64_MAX) {
        struct ufs_stat st;
        memset(&st, 0, sizeof(st));
        st.size = size;
        snprintf(st.etag, sizeof(st.etag), "%s", etag);
        st.mtime = (int64_t)time(NULL);
        meta_put(g->ctx->meta, g->mount, g->mkey, &st);
    } else {
        meta_invalidate(g->ctx->meta, g->mount, g->mkey);
    }
    struct evbuffer *b = xml_start("CompleteMultipartUploadResult");
    char loc[512];
    snprintf(loc, sizeof(loc), "/%s/%s", g->bucket, g->key);
    xml_elem(b, "Location", loc);
    xml_elem(b, "Bucket", g->bucket);
    xml_elem(b, "Key", g->key);
    xml_elem(b, "ETag", etag);
    evbuffer_add_printf(b, "</CompleteMultipartUploadResult>\n");
    complete_free(c);
    reply_xml(g, 200, b);
}

static int complete_body(void *arg, const void *buf, size_t len)
{
    struct complete *c = arg;
    if (c->len + len > MPU_BODY_MAX) {
        c->bad = 2;
        return 0;
    }
    c->body = shd_xrealloc(c->body, c->len + len + 1);
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
    rc = c->bad == 2 ? -1 : parse_complete(c);
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
    c->req = ufs_mpu_complete(g->u, g->key, gw_query(g, "uploadId"), c->parts, c->nparts,
                              on_completed, c);
    if (!c->req) {
        complete_free(c);
        gw_error(g, 400, "InvalidArgument", "The upload could not be completed.");
    }
}

static const struct http_body_cbs complete_cbs = {complete_body, complete_body_end};

static void mpu_complete(struct gw_req *g)
{
    struct complete *c = shd_xcalloc(1, sizeof(*c));
    c->g = g;
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
    gw_mpu_unstage(gw_query(g, "uploadId"));
    if (err == UFS_ENOENT || err == UFS_ECONFLICT) {
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
        gw_error(g, 501, "NotImplemented",
                 "Listing multipart uploads and parts is not implemented by the gateway.");
}
