/* daemon/gateway/gw.c: the S3 gateway's front: parses the request target, routes
 * to the operation, and owns the S3 error format and the end of every
 * request (metrics, latency, freeing).
 *
 * Routes (path style):
 *   GET /                         ListBuckets (the mounts)
 *   GET /BUCKET?list-type=2       ListObjectsV2 (passed to the mount's S3)
 *   HEAD /BUCKET                  HeadBucket
 *   GET|HEAD /BUCKET/KEY          GetObject, HeadObject (through the cache)
 *   PUT /BUCKET/KEY               PutObject (written through to S3 and the cache)
 *   PUT /BUCKET/KEY + x-amz-copy-source   CopyObject (server-side, gw_copy.c)
 *   POST|PUT|DELETE /BUCKET/KEY?uploads|uploadId=   multipart upload (gw_mpu.c), with
 *                                 x-amz-copy-source UploadPartCopy (gw_copy.c)
 *   /BUCKET/KEY?tagging, ?acl, ...   501 (object subresources are not implemented)
 *   DELETE /BUCKET/KEY            DeleteObject (S3 and the cache)
 *   POST /BUCKET?delete           DeleteObjects (gw_delete_multi.c, via gw_bucket.c) */
#include "daemon/gateway/gw_int.h"

#include "daemon/cluster/peer.h"
#include "daemon/store/store.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "ufs/sigv4.h"
#include "ufs/ufs_time.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t request_seq;

const char *gw_query(const struct gw_req *g, const char *name)
{
    for (size_t i = 0; i < g->nq; i++)
        if (strcmp(g->q[i].name, name) == 0)
            return g->q[i].value ? g->q[i].value : "";
    return NULL;
}

void gw_xml_escape(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            evbuffer_add(b, "&amp;", 5);
            break;
        case '<':
            evbuffer_add(b, "&lt;", 4);
            break;
        case '>':
            evbuffer_add(b, "&gt;", 4);
            break;
        case '"':
            evbuffer_add(b, "&quot;", 6);
            break;
        case '\'':
            evbuffer_add(b, "&apos;", 6);
            break;
        default:
            evbuffer_add(b, s, 1);
        }
    }
}

/* put_num: N as exactly WIDTH decimal digits (zero-padded) at P; returns the end. */
static char *put_num(char *p, int64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (char)('0' + n % 10);
    return p + width;
}

/* Both formats are written by hand: they go on every GET's response, and
 * gmtime_r plus strftime take glibc's time-zone lock on each call. Years
 * outside 0..9999 print as four digits modulo 10000 (S3 has none). */
void gw_http_date(int64_t t, char *buf, size_t len)
{
    static const char wday[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mon[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct ufs_civil c = ufs_utc_civil(t);
    char out[32], *p = out;
    memcpy(p, wday[c.weekday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_num(p, c.day, 2);
    *p++ = ' ';
    memcpy(p, mon[c.month - 1], 3);
    p += 3;
    *p++ = ' ';
    p = put_num(p, (c.year % 10000 + 10000) % 10000, 4);
    *p++ = ' ';
    p = put_num(p, c.hour, 2);
    *p++ = ':';
    p = put_num(p, c.minute, 2);
    *p++ = ':';
    p = put_num(p, c.second, 2);
    memcpy(p, " GMT", 5);
    snprintf(buf, len, "%s", out);
}

void gw_iso_date(int64_t t, char *buf, size_t len)
{
    struct ufs_civil c = ufs_utc_civil(t);
    char out[32], *p = out;
    p = put_num(p, (c.year % 10000 + 10000) % 10000, 4);
    *p++ = '-';
    p = put_num(p, c.month, 2);
    *p++ = '-';
    p = put_num(p, c.day, 2);
    *p++ = 'T';
    p = put_num(p, c.hour, 2);
    *p++ = ':';
    p = put_num(p, c.minute, 2);
    *p++ = ':';
    p = put_num(p, c.second, 2);
    memcpy(p, ".000Z", 6);
    snprintf(buf, len, "%s", out);
}

/* An ETag without quotes or a W/ prefix. */
static void etag_norm(const char *in, char *out, size_t len)
{
    size_t n;
    while (*in == ' ')
        in++;
    if (strncmp(in, "W/", 2) == 0)
        in += 2;
    if (*in == '"')
        in++;
    n = strcspn(in, "\",");
    if (n >= len)
        n = len - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

int gw_etag_matches(const char *list, const char *etag)
{
    char want[UFS_ETAG_MAX], have[UFS_ETAG_MAX];
    etag_norm(etag, have, sizeof(have));
    while (list && *list) {
        while (*list == ' ' || *list == ',')
            list++;
        if (*list == '*')
            return 1;
        etag_norm(list, want, sizeof(want));
        if (*want && strcmp(want, have) == 0)
            return 1;
        list = strchr(list, ',');
    }
    return 0;
}

int gw_parse_http_date(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return -1;
    *out = ufs_utc_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec);
    return 0;
}

static void gw_free(struct gw_req *g)
{
    for (size_t i = 0; i < g->nq; i++) {
        free(g->q[i].name);
        free(g->q[i].value);
    }
    free(g->path);
    free(g->bucket);
    free(g->key);
    free(g->mkey);
    free(g->mname_own);
    free(g);
}

char *gw_meta_key(const struct gw_req *g, const char *key)
{
    int star = g->mount == g->ctx->star && g->ctx->star >= 0;
    return star ? shd_xasprintf("%s/%s", g->bucket, key) : shd_xstrdup(key);
}

/* use_identity: after authentication, a tenant with its own S3 identity for
 * the mount (tenants[].backend) gets that identity's backend, and the cache
 * keeps what it reads apart from what others read. 0, or -1 after an error
 * was sent. */
static int use_identity(struct gw_req *g)
{
    int k = g->mount >= 0 ? shd_tenant_backend(g->ctx, gw_tenant_cfg(g), g->mount) : -1;
    if (k < 0)
        return 0;
    g->who = k;
    if (g->mount == g->ctx->star) {
        g->svc = g->l->tufs[k];
        g->u = *g->bucket ? shd_bucket_ufs_as(g->l, g->bucket, k) : NULL;
        if (*g->bucket && !g->u) {
            gw_error(g, 503, "SlowDown", "Too many buckets in use through the pass-through mount.");
            return -1;
        }
    } else {
        g->u = g->l->tufs[k];
    }
    /* its own cache: blocks under "NAME@TENANT" (no mount or bucket name
     * holds an '@'), metadata in its own namespace */
    g->mname_own = shd_xasprintf("%s@%s", g->mname, gw_tenant_name(g));
    g->mname = g->mname_own;
    g->mns = META_NS(g->mount, k);
    return 0;
}

/* ---- writes told to the other nodes ------------------------------------------------ */

struct gw_tell {
    struct gw_req *g; /* NULL: the client left */
    void (*then)(struct gw_req *g, void *arg);
    void (*drop)(void *arg);
    void *arg;
};

static void tell_abort(struct gw_req *g)
{
    struct gw_tell *t = g->op_state;
    t->g = NULL; /* the tell goes on; its end frees only this */
    g->op_state = NULL;
    g->op_abort = NULL;
}

static void tell_done(void *arg)
{
    struct gw_tell *t = arg;
    if (t->g) {
        t->g->op_state = NULL;
        t->g->op_abort = NULL;
        t->then(t->g, t->arg);
    } else if (t->drop) {
        t->drop(t->arg);
    }
    free(t);
}

void gw_place_block(struct gw_req *g, struct store_block *b)
{
    struct peer_route rt;
    if (g->who >= 0) { /* a tenant's own identity: read here only (gw_get.c) */
        store_put(g->ctx->store, b);
        return;
    }
    peer_route(g->ctx, store_block_id(b), &rt);
    if (rt.owner)
        store_put(g->ctx->store, b);
    peer_replicate(g->l, b, NULL, NULL);
}

void gw_tell(struct gw_req *g, const char *const *keys, size_t n, const struct ufs_stat *st,
             void (*then)(struct gw_req *g, void *arg), void (*drop)(void *arg), void *arg)
{
    struct gw_tell *t = shd_xcalloc(1, sizeof(*t));
    t->g = g;
    t->then = then;
    t->drop = drop;
    t->arg = arg;
    g->op_state = t;
    g->op_abort = tell_abort;
    peer_meta_tell(g->l, g->bucket, keys, n, st, g->who < 0, tell_done, t);
}

struct xml_answer {
    int status;
    struct evbuffer *b;
};

static void xml_answer(struct gw_req *g, void *arg)
{
    struct xml_answer *a = arg;
    size_t n = evbuffer_get_length(a->b);
    int status = a->status;
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, status, "application/xml", evbuffer_pullup(a->b, -1), n);
    evbuffer_free(a->b);
    free(a);
    gw_done(g, status);
}

static void xml_drop(void *arg)
{
    struct xml_answer *a = arg;
    evbuffer_free(a->b);
    free(a);
}

void gw_tell_xml(struct gw_req *g, const char *const *keys, size_t n, int status,
                 struct evbuffer *b)
{
    struct xml_answer *a = shd_xcalloc(1, sizeof(*a));
    a->status = status;
    a->b = b;
    gw_tell(g, keys, n, NULL, xml_answer, xml_drop, a);
}

void gw_done(struct gw_req *g, int status)
{
    uint64_t us = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - http_req_start_us(g->r);
    SHD_METRIC_INC(requests[g->op]);
    if (status >= 500)
        SHD_METRIC_INC(responses_5xx);
    else if (status >= 400)
        SHD_METRIC_INC(responses_4xx);
    shd_hist_observe(&shd_metrics.latency[g->op], us);
    gw_free(g);
}

void gw_error(struct gw_req *g, int status, const char *code, const char *message)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    gw_xml_escape(b, code); /* it may be S3's own (gw_error_ufs) */
    evbuffer_add_printf(b, "</Code><Message>");
    gw_xml_escape(b, message);
    evbuffer_add_printf(b, "</Message><Resource>");
    gw_xml_escape(b, g->path ? g->path : "/");
    evbuffer_add_printf(b, "</Resource><RequestId>%s</RequestId></Error>\n", g->request_id);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    size_t n = evbuffer_get_length(b);
    http_reply(g->r, status, "application/xml", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
    gw_done(g, status);
}

int gw_ufs_error(int err, const char **code, const char **message)
{
    switch (err) {
    case UFS_ENOENT:
        *code = "NoSuchKey";
        *message = "The specified key does not exist.";
        return 404;
    case UFS_ENOBUCKET:
        *code = "NoSuchBucket";
        *message = "The bucket behind this mount does not exist in S3.";
        return 404;
    case UFS_EACCES:
        *code = "AccessDenied";
        *message = "S3 refused the node's credentials for this mount (check the mount's "
                   "credentials).";
        return 403;
    case UFS_EPRECOND:
        *code = "PreconditionFailed";
        *message = "At least one of the pre-conditions you specified did not hold.";
        return 412;
    case UFS_ERANGE:
        *code = "InvalidRange";
        *message = "The requested range is not satisfiable.";
        return 416;
    case UFS_EUNAVAIL:
        *code = "ServiceUnavailable";
        *message = "The object is not in the cache and S3 cannot be reached; retry later.";
        return 503;
    case UFS_ENOMEM:
        *code = "SlowDown";
        *message = "Please reduce your request rate.";
        return 503;
    case UFS_EINVAL:
        *code = "InvalidArgument";
        *message = "S3 refused the request as invalid.";
        return 400;
    default:
        *code = "InternalError";
        *message = ufs_strerror(err);
        return 500;
    }
}

void gw_error_ufs(struct gw_req *g, int err)
{
    const char *code, *message;
    const struct ufs_error_detail *d = ufs_error_detail();
    if (d && d->status >= 400 && d->status < 500) {
        /* S3 answered with an error of its own: its code and message, our
         * request id */
        gw_error(g, d->status, d->code, d->message[0] ? d->message : d->code);
        return;
    }
    int status = gw_ufs_error(err, &code, &message);
    if (err == UFS_EUNAVAIL) {
        static _Atomic int64_t last_log;
        int64_t now = (int64_t)time(NULL), prev = atomic_load(&last_log);
        if (now - prev >= 10 && atomic_compare_exchange_strong(&last_log, &prev, now)) {
            char qm[2 * GW_KEY_MAX + 64], qk[4 * GW_KEY_MAX + 3];
            shd_warn("gateway",
                     "S3 unreachable: uncached reads get 503 mount=%s key=%s "
                     "what=\"check the mount's endpoint and the network; cached objects are still "
                     "served\"",
                     shd_log_q(g->mname ? g->mname : "-", qm, sizeof(qm)),
                     shd_log_q(g->key ? g->key : "-", qk, sizeof(qk)));
        }
    }
    gw_error(g, status, code, message);
}

/* Splits "name=value&name" into decoded parameters. */
static int parse_query(struct gw_req *g, const char *q)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        size_t dl;
        if (len > 0) {
            if (g->nq == GW_QUERY_MAX)
                return -1;
            if (ufs_sigv4_uri_decode(q, nlen, &g->q[g->nq].name, &dl) != 0)
                return -1;
            if (eq && ufs_sigv4_uri_decode(eq + 1, len - nlen - 1, &g->q[g->nq].value, &dl) != 0) {
                free(g->q[g->nq].name);
                return -1;
            }
            g->nq++;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* Fills path, bucket, key and the query from the request target. */
static int parse_target(struct gw_req *g)
{
    const char *t = http_req_target(g->r), *qm = strchr(t, '?');
    size_t plen = qm ? (size_t)(qm - t) : strlen(t), dl;
    if (plen == 0 || t[0] != '/')
        return -1;
    if (ufs_sigv4_uri_decode(t, plen, &g->path, &dl) != 0 || strlen(g->path) != dl)
        return -1; /* malformed escape, or a NUL byte in the path */
    const char *b = g->path + 1, *slash = strchr(b, '/');
    g->bucket = slash ? shd_xstrndup(b, (size_t)(slash - b)) : shd_xstrdup(b);
    g->key = shd_xstrdup(slash ? slash + 1 : "");
    if (strlen(g->key) > GW_KEY_MAX)
        return -2;
    return parse_query(g, qm ? qm + 1 : NULL);
}

static void on_client_gone(void *arg)
{
    struct gw_req *g = arg;
    if (g->op_abort)
        g->op_abort(g);
    gw_free(g);
}

void gw_on_request(struct http_req *r, void *arg)
{
    struct shd_loop *l = arg;
    struct gw_req *g = shd_xcalloc(1, sizeof(*g));
    const char *m = http_req_method(r);
    int rc;
    g->r = r;
    g->l = l;
    g->ctx = l->ctx;
    g->mount = -1;
    g->who = -1;
    g->op = SHD_OP_OTHER;
    snprintf(g->request_id, sizeof(g->request_id), "%016llX",
             (unsigned long long)atomic_fetch_add(&request_seq, 1) ^ 0x5b0a1ULL);
    http_req_on_abort(r, on_client_gone, g);
    rc = parse_target(g);
    if (rc == -2) {
        gw_error(g, 400, "KeyTooLongError", "Your key is too long.");
        return;
    }
    if (rc != 0) {
        gw_error(g, 400, "InvalidURI", "Couldn't parse the specified URI.");
        return;
    }
    int is_get = strcmp(m, "GET") == 0, is_head = strcmp(m, "HEAD") == 0;
    if (*g->bucket == '\0') {
        g->op = SHD_OP_BUCKET;
        if (gw_authenticate(g))
            return;
        if (is_get)
            gw_list_buckets(g);
        else
            gw_error(g, 405, "MethodNotAllowed",
                     "The specified method is not allowed against this resource.");
        return;
    }
    g->mount = strcmp(g->bucket, "*") == 0 ? -1 : shd_mount_find(g->ctx, g->bucket);
    if (g->mount < 0 && g->ctx->star >= 0 && strcmp(g->bucket, "*") != 0) {
        /* the "*" mount passes this bucket through under its own name */
        g->mount = g->ctx->star;
        g->mname = g->bucket;
        g->mkey = shd_xasprintf("%s/%s", g->bucket, g->key);
        g->u = shd_bucket_ufs(l, g->bucket);
        if (!g->u) {
            g->op = SHD_OP_OTHER;
            gw_error(g, 503, "SlowDown", "Too many buckets in use through the pass-through mount.");
            return;
        }
    } else if (g->mount >= 0) {
        g->mname = g->ctx->cfg->mounts[g->mount].name;
        g->mkey = shd_xstrdup(g->key);
        g->u = l->ufs[g->mount];
    }
    g->mns = g->mount;
    if (*g->key == '\0') {
        g->op = is_get ? SHD_OP_LIST : SHD_OP_BUCKET;
        if (gw_authenticate(g) || use_identity(g))
            return;
        if (g->mount < 0) {
            gw_error(g, 404, "NoSuchBucket", "The specified bucket does not exist.");
            return;
        }
        if (gw_bucket_route(g)) /* a subresource: ?location, ?versions, ?tagging, ... */
            return;
        if (is_get)
            gw_list_objects(g);
        else
            gw_bucket_op(g);
        return;
    }
    g->op = is_get                     ? SHD_OP_GET
            : is_head                  ? SHD_OP_HEAD
            : strcmp(m, "PUT") == 0    ? SHD_OP_PUT
            : strcmp(m, "DELETE") == 0 ? SHD_OP_DELETE
                                       : SHD_OP_OTHER;
    if (gw_query(g, "uploads") || gw_query(g, "uploadId"))
        g->op = SHD_OP_MPU;
    if (gw_authenticate(g) || use_identity(g))
        return;
    if (g->mount < 0) {
        gw_error(g, 404, "NoSuchBucket", "The specified bucket does not exist.");
        return;
    }
    if (gw_object_refused(g)) /* never the object's bytes, nor a write over it */
        return;
    switch (g->op) {
    case SHD_OP_GET:
    case SHD_OP_HEAD:
        gw_get_object(g);
        break;
    case SHD_OP_PUT:
        if (http_req_header(r, "x-amz-copy-source"))
            gw_copy_object(g);
        else
            gw_put_object(g);
        break;
    case SHD_OP_DELETE:
        gw_delete_object(g);
        break;
    case SHD_OP_MPU:
        gw_multipart(g);
        break;
    default:
        gw_error(g, 405, "MethodNotAllowed",
                 "The specified method is not allowed against this resource.");
    }
}

int shd_mount_find(const struct shd_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->cfg->n_mounts; i++)
        if (strcmp(ctx->cfg->mounts[i].name, name) == 0)
            return (int)i;
    return -1;
}

int gw_init(struct shd_ctx *ctx)
{
    return gw_auth_init(ctx);
}

void gw_fini(struct shd_ctx *ctx)
{
    gw_mpu_stage_clear();
    gw_auth_fini(ctx);
}

void gw_tick(struct shd_ctx *ctx)
{
    gw_mpu_stage_expire(ctx);
}
