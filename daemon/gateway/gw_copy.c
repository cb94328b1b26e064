/* daemon/gateway/gw_copy.c: CopyObject (PUT /BUCKET/KEY with x-amz-copy-source) and
 * UploadPartCopy (the same with ?partNumber=N&uploadId=ID, routed here by
 * gw_mpu.c), done as server-side copies by the destination's backend
 * (ufs_copy, ufs_mpu_part_copy): within one S3 endpoint and credentials (one
 * mount, two mounts, or a bucket of the "*" mount), or between file://
 * mounts. Other pairs get 501: the bytes would have to pass through the
 * gateway, which this does not do.
 *
 * Steps: the tenant may write the destination and read the source; the
 * source's metadata comes from the metadata cache (fetched when missing);
 * x-amz-copy-source-if-* are evaluated against it (412); a CopyObject source
 * over 5 GiB is refused (S3 copies it as a multipart upload of UploadPartCopy
 * parts); then the copy, with the client's copy-source-if-match passed on so
 * that the backend checks it at copy time too. Afterwards the destination's
 * metadata is dropped from the cache: blocks are keyed by ETag, so the old
 * version's blocks are never served for the new object.
 *
 * UploadPartCopy: x-amz-copy-source-range (bytes=first-last only) is checked
 * against the source's size (400 InvalidArgument, as S3) and the part against
 * 5 GiB. Just before the backend copies, the upload is marked not to be
 * cached at Complete (gw_mpu_uncached): the part's bytes never pass through
 * the gateway, and a part staged earlier under the same number would be
 * stale (even if the client leaves and the copy's answer is lost); an
 * upload the backend does not know is forgotten again. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "ufs/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPY_MAX_SIZE (5ULL << 30) /* S3's limit on one CopyObject */

struct copy {
    struct gw_req *g;
    int smount;         /* the source's mount */
    int smns;           /* its metadata cache namespace (META_NS) */
    struct ufs *su;     /* its backend on this loop */
    char *sbucket;      /* as the client named it */
    char *skey;         /* relative to the source's backend */
    char *smkey;        /* its metadata cache key */
    const char *smname; /* the source's name in block ids: the mount, or the bucket for "*" */
    char *smname_own;   /* smname, when built for the tenant's own S3 identity */
    int replace;
    unsigned part;        /* UploadPartCopy: the part number; 0 for CopyObject */
    uint64_t first, last; /* its range; last UFS_SIZE_UNKNOWN: the whole source */
    struct meta_wait *mw;
    struct ufs_req *req;
};

static void copy_free(struct copy *c)
{
    free(c->sbucket);
    free(c->skey);
    free(c->smkey);
    free(c->smname_own);
    c->g->op_state = NULL;
    c->g->op_abort = NULL;
    free(c);
}

static void copy_abort(struct gw_req *g)
{
    struct copy *c = g->op_state;
    meta_wait_cancel(c->mw);
    ufs_cancel(c->req);
    copy_free(c);
}

static void copy_fail(struct copy *c, int status, const char *code, const char *msg)
{
    struct gw_req *g = c->g;
    copy_free(c);
    gw_error(g, status, code, msg);
}

/* Splits x-amz-copy-source ("[/]bucket/key[?versionId=..]", URL-encoded)
 * into its decoded bucket and key. Returns 0, -1 when malformed, or 1 when
 * it names a version. */
static int parse_source(const char *h, char **bucket, char **key)
{
    const char *q = strchr(h, '?');
    size_t n, dl;
    char *dec, *slash;
    if (*h == '/')
        h++;
    n = q ? (size_t)(q - h) : strlen(h);
    if (q && strncmp(q + 1, "versionId=", 10) == 0)
        return 1;
    if (q || ufs_sigv4_uri_decode(h, n, &dec, &dl) != 0)
        return -1;
    slash = strchr(dec, '/');
    if (strlen(dec) != dl || !slash || slash == dec || !slash[1] ||
        strlen(slash + 1) > GW_KEY_MAX) {
        free(dec);
        return -1;
    }
    *bucket = shd_xstrndup(dec, (size_t)(slash - dec));
    *key = shd_xstrdup(slash + 1);
    free(dec);
    return 0;
}

/* The source's mount and backend, as gw_on_request resolves a bucket.
 * Returns 0, -1 (no such bucket) or -2 (the "*" mount cannot open more). */
static int resolve_source(struct copy *c)
{
    struct gw_req *g = c->g;
    int star = strcmp(c->sbucket, "*") == 0;
    int m = star ? -1 : shd_mount_find(g->ctx, c->sbucket), k;
    const char *t = gw_tenant_name(g);
    if (m >= 0) {
        /* read as the tenant's own S3 identity when it has one there */
        k = shd_tenant_backend(g->ctx, gw_tenant_cfg(g), m);
        c->smount = m;
        c->su = k >= 0 ? g->l->tufs[k] : g->l->ufs[m];
        c->smname = g->ctx->cfg->mounts[m].name;
        c->smkey = shd_xstrdup(c->skey);
    } else if (star || g->ctx->star < 0) {
        return -1;
    } else {
        k = shd_tenant_backend(g->ctx, gw_tenant_cfg(g), g->ctx->star);
        c->smount = g->ctx->star;
        c->smname = c->sbucket;
        c->smkey = shd_xasprintf("%s/%s", c->sbucket, c->skey);
        c->su = shd_bucket_ufs_as(g->l, c->sbucket, k);
        if (!c->su)
            return -2;
    }
    c->smns = META_NS(c->smount, k);
    if (k >= 0) {
        c->smname_own = shd_xasprintf("%s@%s", c->smname, t);
        c->smname = c->smname_own;
    }
    return c->su ? 0 : -1;
}

/* ---- x-amz-copy-source-if-* ------------------------------------------------ */

/* S3's rules: if-match true wins over if-unmodified-since, if-none-match
 * false over if-modified-since; any condition that fails is a 412. */
static int preconditions_hold(const struct gw_req *g, const struct ufs_stat *st)
{
    const char *im = http_req_header(g->r, "x-amz-copy-source-if-match");
    const char *ius = http_req_header(g->r, "x-amz-copy-source-if-unmodified-since");
    const char *inm = http_req_header(g->r, "x-amz-copy-source-if-none-match");
    const char *ims = http_req_header(g->r, "x-amz-copy-source-if-modified-since");
    int64_t t;
    if (im ? !gw_etag_matches(im, st->etag)
           : ius && gw_parse_http_date(ius, &t) == 0 && st->mtime > t)
        return 0;
    if (inm ? gw_etag_matches(inm, st->etag)
            : ims && gw_parse_http_date(ims, &t) == 0 && st->mtime <= t)
        return 0;
    return 1;
}

/* ---- the copy --------------------------------------------------------------- */

/* Why two backends cannot copy between them, for the 501. */
static const char *why_no_copy(const struct copy *c)
{
    const struct shd_mount *s = &c->g->ctx->cfg->mounts[c->smount];
    const struct shd_mount *d = &c->g->ctx->cfg->mounts[c->g->mount];
    if (s->ufs.kind != d->ufs.kind)
        return "Copying between a file:// mount and an S3 mount is not implemented: the "
               "gateway only copies within one backend (server-side).";
    if (s->ufs.kind == SHD_UFS_S3)
        return "Copying between mounts on different S3 endpoints or credentials is not "
               "implemented: the gateway only copies server-side within one endpoint.";
    return "Copying is not supported by the destination's storage.";
}

static void on_copied(void *arg, int err, const char *etag, int64_t mtime)
{
    struct copy *c = arg;
    struct gw_req *g = c->g;
    char date[40];
    c->req = NULL;
    if (err == UFS_ENOTSUP) {
        copy_fail(c, 501, "NotImplemented", why_no_copy(c));
        return;
    }
    if (err && err != UFS_ENOTSUP && ufs_error_detail()) { /* S3's own code and message */
        if (err == UFS_ECONFLICT && c->part)
            gw_mpu_unstage(g);
        copy_free(c);
        gw_error_ufs(g, err);
        return;
    }
    if (err == UFS_ECONFLICT && c->part) {
        gw_mpu_unstage(g); /* no such upload: nothing to keep */
        copy_fail(c, 404, "NoSuchUpload", "The specified upload does not exist.");
        return;
    }
    if (err == UFS_EINVAL && c->part) { /* e.g. the source shrank below the range meanwhile */
        copy_fail(c, 400, "InvalidArgument",
                  "S3 refused the part copy as invalid (is the range within the source?).");
        return;
    }
    if (err == UFS_EINVAL) { /* S3 refused it: e.g. the source grew past 5 GiB */
        copy_fail(c, 400, "InvalidRequest", "S3 refused the copy request as invalid.");
        return;
    }
    if (err) {
        copy_free(c);
        gw_error_ufs(g, err);
        return;
    }
    const char *root = c->part ? "CopyPartResult" : "CopyObjectResult";
    if (!c->part) /* a part changes nothing until Complete, which drops it */
        meta_invalidate(g->ctx->meta, g->mns, g->mkey);
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(0);
    gw_iso_date(mtime ? mtime : (int64_t)time(NULL), date, sizeof(date));
    evbuffer_add_printf(b,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>%s"
                        "</LastModified><ETag>",
                        root, date);
    gw_xml_escape(b, etag);
    evbuffer_add_printf(b, "</ETag></%s>\n", root);
    int part = c->part;
    copy_free(c);
    if (part) {
        size_t n = evbuffer_get_length(b);
        http_resp_header(g->r, "x-amz-request-id", g->request_id);
        http_reply(g->r, 200, "application/xml", evbuffer_pullup(b, -1), n);
        evbuffer_free(b);
        gw_done(g, 200);
        return;
    }
    const char *key = g->key; /* the new object: every node drops what it knew */
    gw_tell_xml(g, &key, 1, 200, b);
}

/* UploadPartCopy, the source's conditions held: the range and the size
 * checked, then the part copied. */
static void start_part_copy(struct copy *c, const struct ufs_stat *st)
{
    struct gw_req *g = c->g;
    char msg[96];
    if (c->last != UFS_SIZE_UNKNOWN && c->last >= st->size) {
        snprintf(msg, sizeof(msg), "Range specified is not valid for source object of size: %llu",
                 (unsigned long long)st->size);
        copy_fail(c, 400, "InvalidArgument", msg);
        return;
    }
    if ((c->last == UFS_SIZE_UNKNOWN ? st->size : c->last - c->first + 1) > COPY_MAX_SIZE) {
        copy_fail(c, 400, "InvalidRequest",
                  "The specified copy source is larger than the maximum allowable size for a "
                  "copy source: 5368709120 (copy it in ranges with x-amz-copy-source-range).");
        return;
    }
    struct ufs_part_copy_opts o = {http_req_header(g->r, "x-amz-copy-source-if-match")};
    gw_mpu_uncached(g); /* before the part can change */
    c->req = ufs_mpu_part_copy(g->u, g->key, gw_query(g, "uploadId"), c->part, c->su, c->skey,
                               c->first, c->last, &o, on_copied, c);
    if (!c->req)
        copy_fail(c, 400, "InvalidArgument",
                  "The part copy could not be started (invalid key, upload id or condition).");
}

static void start_copy(struct copy *c, const struct ufs_stat *st)
{
    struct gw_req *g = c->g;
    char **hdrs;
    if (!preconditions_hold(g, st)) {
        copy_fail(c, 412, "PreconditionFailed",
                  "At least one of the pre-conditions you specified did not hold.");
        return;
    }
    if (c->part) {
        start_part_copy(c, st);
        return;
    }
    if (st->size > COPY_MAX_SIZE) {
        copy_fail(c, 400, "InvalidRequest",
                  "The specified copy source is larger than the maximum allowable size for a "
                  "copy source: 5368709120 (copy it as a multipart upload with UploadPartCopy).");
        return;
    }
    hdrs = c->replace ? gw_kept_request_headers(g, 0, NULL) : shd_xcalloc(1, sizeof(*hdrs));
    struct ufs_put_opts put = {http_req_header(g->r, "content-type"), (const char *const *)hdrs,
                               NULL};
    struct ufs_copy_opts o = {http_req_header(g->r, "x-amz-copy-source-if-match"), c->replace,
                              &put};
    c->req = ufs_copy(g->u, g->key, c->su, c->skey, &o, on_copied, c);
    gw_headers_free(hdrs);
    if (!c->req)
        copy_fail(c, 400, "InvalidArgument",
                  "The copy could not be started (invalid key, header or condition).");
}

static void on_source_meta(void *arg, int err, const struct ufs_stat *st)
{
    struct copy *c = arg;
    c->mw = NULL;
    if (err) {
        struct gw_req *g = c->g;
        copy_free(c);
        gw_error_ufs(g, err);
        return;
    }
    start_copy(c, st);
}

static void copy_begin(struct copy *c);

static struct copy *copy_new(struct gw_req *g)
{
    struct copy *c = shd_xcalloc(1, sizeof(*c));
    c->g = g;
    g->op_state = c;
    g->op_abort = copy_abort;
    return c;
}

void gw_copy_object(struct gw_req *g)
{
    const char *dir = http_req_header(g->r, "x-amz-metadata-directive");
    struct copy *c;
    if (!gw_allowed(g, g->mount, g->key, 1)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (g->ctx->cfg->mounts[g->mount].write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    if (dir && strcmp(dir, "COPY") != 0 && strcmp(dir, "REPLACE") != 0) {
        gw_error(g, 400, "InvalidArgument", "Unknown metadata directive.");
        return;
    }
    c = copy_new(g);
    c->replace = dir && strcmp(dir, "REPLACE") == 0;
    copy_begin(c);
}

/* The source of c (whose op_state and op_abort g holds): parsed, resolved,
 * readable by the tenant, not the destination itself (CopyObject without
 * REPLACE); then its metadata and the copy. */
static void copy_begin(struct copy *c)
{
    struct gw_req *g = c->g;
    struct ufs_stat st;
    int rc = parse_source(http_req_header(g->r, "x-amz-copy-source"), &c->sbucket, &c->skey);
    if (rc == 1) {
        copy_fail(c, 501, "NotImplemented",
                  "Copying a given version (versionId) is not implemented by the gateway.");
        return;
    }
    if (rc) {
        copy_fail(c, 400, "InvalidArgument",
                  "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.");
        return;
    }
    rc = resolve_source(c);
    if (rc == -2) {
        copy_fail(c, 503, "SlowDown", "Too many buckets in use through the pass-through mount.");
        return;
    }
    if (rc) {
        copy_fail(c, 404, "NoSuchBucket", "The specified source bucket does not exist.");
        return;
    }
    if (!gw_allowed(g, c->smount, c->skey, 0)) {
        copy_fail(c, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (!c->part && !c->replace && c->smount == g->mount && strcmp(c->smname, g->mname) == 0 &&
        strcmp(c->skey, g->key) == 0) {
        copy_fail(c, 400, "InvalidRequest",
                  "This copy request is illegal because it is trying to copy an object to itself "
                  "without changing the object's metadata, storage class, website redirect "
                  "location or encryption attributes.");
        return;
    }
    if (meta_get(g->ctx->meta, c->su, c->smns, c->smkey, c->skey, &st) == 0) {
        start_copy(c, &st);
        return;
    }
    c->mw =
        meta_fetch(g->ctx->meta, g->l, c->su, c->smns, c->smkey, c->skey, NULL, on_source_meta, c);
}

/* A decimal number of at most 19 digits (no sign, no space); 0 or -1. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* x-amz-copy-source-range: "bytes=first-last" (both given, first <= last)
 * into c; none: the whole source. 0 or -1. */
static int parse_copy_range(struct copy *c, const char *h)
{
    const char *dash;
    c->first = 0;
    c->last = UFS_SIZE_UNKNOWN;
    if (!h)
        return 0;
    if (strncmp(h, "bytes=", 6) != 0 || !(dash = strchr(h + 6, '-')))
        return -1;
    if (parse_u64(h + 6, (size_t)(dash - h - 6), &c->first) != 0 ||
        parse_u64(dash + 1, strlen(dash + 1), &c->last) != 0 || c->first > c->last)
        return -1;
    return 0;
}

void gw_part_copy(struct gw_req *g, unsigned number)
{
    struct copy *c = copy_new(g);
    c->part = number;
    if (parse_copy_range(c, http_req_header(g->r, "x-amz-copy-source-range")) != 0) {
        copy_fail(c, 400, "InvalidArgument",
                  "The x-amz-copy-source-range value must be of the form bytes=first-last "
                  "where first and last are the zero-based offsets of the first and last bytes "
                  "to copy");
        return;
    }
    copy_begin(c);
}
