/* ufs/s3_ops.c: the S3 operations that are one request each: HEAD (stat),
 * DELETE, CopyObject, ListObjectsV2, ListBuckets, CreateBucket,
 * DeleteBucket, and the client's CreateMultipartUpload, UploadPartCopy,
 * CompleteMultipartUpload and AbortMultipartUpload passed through (plus the
 * background abort a failed write starts). Each reports once, from the
 * loop, with what it parsed. */
#include "ufs/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum s3_what {
    S3_W_STAT,
    S3_W_DELETE,
    S3_W_LIST,
    S3_W_BUCKETS,
    S3_W_MKBUCKET,
    S3_W_RMBUCKET,
    S3_W_MPU_CREATE,
    S3_W_MPU_COMPLETE,
    S3_W_MPU_ABORT,
    S3_W_COPY,
    S3_W_PART_COPY,
    S3_W_BODY, /* a document passed on as it came (GetObjectTagging) */
    S3_W_PARTS,
    S3_W_UPLOADS,
    S3_W_INTERNAL, /* no callback: a background AbortMultipartUpload */
    S3_W_ADOPTED,  /* no callback: a cancelled write's CreateMultipartUpload */
};

struct s3_simple {
    struct s3_op op;
    struct s3_xfer *x;
    enum s3_what what;
    union {
        ufs_stat_cb stat;
        ufs_done_cb done;
        ufs_list_cb list;
        ufs_buckets_cb buckets;
        ufs_mpu_create_cb create;
        ufs_etag_cb etag;
        ufs_copy_cb copy;
        ufs_body_cb body;
        ufs_parts_cb parts;
        ufs_uploads_cb uploads;
    } cb;
    void *arg;
    int early_err;
    int probing; /* stat: asking whether the bucket exists after a 404 */
    char *body;  /* request body (owned) */
    char *key;   /* S3_W_ADOPTED: the key, relative */
};

/* simple_destroy: frees a one-request op and its transfer. */
static void simple_destroy(struct s3_op *op, int canceled)
{
    struct s3_simple *s = (struct s3_simple *)op;

    (void)canceled;
    ufs_s3_xfer_free(s->x);
    free(s->body);
    free(s->key);
    ufs_s3_op_release(op);
    free(s);
}

/* simple_deliver: parses what the callback needs, calls it once and frees
 * the op. */
static void simple_deliver(struct s3_simple *s, int err)
{
    struct s3_xfer *x = s->x;
    void *arg = s->arg;

    ufs_s3_op_finish(&s->op);
    switch (s->what) {
    case S3_W_STAT: {
        struct ufs_stat st;

        memset(&st, 0, sizeof(st));
        if (!err) {
            st.size = x->clen;
            memcpy(st.etag, x->etag, sizeof(st.etag));
            st.mtime = x->mtime;
            memcpy(st.content_type, x->ctype, sizeof(st.content_type));
            st.headers = x->keep_len ? x->keep : NULL;
        }
        s->cb.stat(arg, err, err ? NULL : &st);
        break;
    }
    case S3_W_DELETE:
    case S3_W_MKBUCKET:
    case S3_W_RMBUCKET:
    case S3_W_MPU_ABORT:
        s->cb.done(arg, err);
        break;
    case S3_W_LIST: {
        struct ufs_list_page pg;

        memset(&pg, 0, sizeof(pg));
        if (!err)
            err = ufs_s3_xml_list(x->resp, x->resp_len, s->op.u->prefix, &pg);
        s->cb.list(arg, err, err ? NULL : &pg);
        ufs_s3_list_page_free(&pg);
        break;
    }
    case S3_W_BUCKETS: {
        struct ufs_bucket *b = NULL;
        size_t n = 0;

        if (!err)
            err = ufs_s3_xml_buckets(x->resp, x->resp_len, &b, &n);
        s->cb.buckets(arg, err, err ? NULL : b, err ? 0 : n);
        ufs_s3_buckets_free(b, n);
        break;
    }
    case S3_W_MPU_CREATE: {
        char *id = NULL;

        if (!err)
            err = ufs_s3_xml_upload_id(x->resp, x->resp_len, &id);
        s->cb.create(arg, err, err ? NULL : id);
        free(id);
        break;
    }
    case S3_W_MPU_COMPLETE: {
        char etag[UFS_ETAG_MAX];

        if (!err)
            err = ufs_s3_xml_complete_etag(x->resp, x->resp_len, etag);
        s->cb.etag(arg, err, err ? NULL : etag);
        break;
    }
    case S3_W_COPY:
    case S3_W_PART_COPY: {
        char etag[UFS_ETAG_MAX];
        int64_t mtime = 0;

        if (!err)
            err = (s->what == S3_W_COPY ? ufs_s3_xml_copy_result : ufs_s3_xml_part_copy_result)(
                x->resp, x->resp_len, etag, &mtime);
        s->cb.copy(arg, err, err ? NULL : etag, mtime);
        break;
    }
    case S3_W_BODY:
        if (!err && ufs_s3_xml_error_code(x->resp, x->resp_len, x->code, sizeof(x->code)) == 0)
            err = UFS_EPROTO; /* an error document in a 200 */
        s->cb.body(arg, err, err ? NULL : x->resp ? x->resp : "", err ? 0 : x->resp_len);
        break;
    case S3_W_PARTS: {
        struct ufs_parts_page pg;

        memset(&pg, 0, sizeof(pg));
        if (!err)
            err = ufs_s3_xml_parts(x->resp, x->resp_len, &pg);
        s->cb.parts(arg, err, err ? NULL : &pg);
        ufs_s3_parts_page_free(&pg);
        break;
    }
    case S3_W_UPLOADS: {
        struct ufs_uploads_page pg;

        memset(&pg, 0, sizeof(pg));
        if (!err)
            err = ufs_s3_xml_uploads(x->resp, x->resp_len, s->op.u->prefix, &pg);
        s->cb.uploads(arg, err, err ? NULL : &pg);
        ufs_s3_uploads_page_free(&pg);
        break;
    }
    case S3_W_INTERNAL:
        break;
    case S3_W_ADOPTED: {
        char *id = NULL;

        if (!err && ufs_s3_xml_upload_id(x->resp, x->resp_len, &id) == 0)
            ufs_s3_abort_upload(s->op.u, s->key, id);
        free(id);
        break;
    }
    }
    simple_destroy(&s->op, 0);
}

/* simple_done: the transfer's result. A stat's 404 first asks whether the
 * bucket exists (a HEAD answer has no body to say which is missing);
 * deleting a missing key is a success. */
static void simple_done(struct s3_xfer *x, int err)
{
    struct s3_simple *s = (struct s3_simple *)x->op;

    if (s->what == S3_W_STAT && err == UFS_ENOENT && !s->probing && x->key) {
        /* a HEAD's 404 has no body: ask whether the bucket is there */
        free(x->key);
        x->key = NULL;
        s->probing = 1;
        ufs_s3_xfer_submit(x);
        return;
    }
    if (s->probing)
        err = err == UFS_ENOENT ? UFS_ENOBUCKET : UFS_ENOENT;
    if (s->what == S3_W_DELETE && err == UFS_ENOENT)
        err = 0; /* deleting a missing key succeeds */
    simple_deliver(s, err);
}

static void simple_deferred(struct s3_op *op, unsigned pending)
{
    struct s3_simple *s = (struct s3_simple *)op;

    if (pending & S3_PEND_DONE)
        simple_deliver(s, s->early_err);
}

static const struct s3_op_type simple_type = {simple_deferred, simple_destroy};
static const struct s3_xfer_hooks simple_hooks = {NULL, NULL, NULL, NULL, NULL, simple_done};

/* simple_new: an operation of kind WHAT reporting to CB (a function
 * pointer of the kind's type, stored in the union). NULL when out of
 * memory. */
static struct s3_simple *simple_new(struct ufs_s3 *u, enum s3_what what, void *arg)
{
    struct s3_simple *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->what = what;
    s->arg = arg;
    if (ufs_s3_op_init(u, &s->op, &simple_type) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* simple_fail_soon: reports ERR from the loop. */
static struct ufs_req *simple_fail_soon(struct s3_simple *s, int err)
{
    s->early_err = err;
    ufs_s3_op_defer(&s->op, S3_PEND_DONE);
    return &s->op.head;
}

/* simple_go: creates the transfer (object KEY, or the bucket when KEY is
 * NULL; SERVICE: a service-level request naming BUCKET) and submits it
 * after SETUP (may be NULL) fills it in. Errors are reported from the loop. */
static struct ufs_req *simple_go(struct s3_simple *s, enum ufs_kind kind, const char *method,
                                 int service, const char *bucket, const char *key,
                                 int (*setup)(struct s3_xfer *x, const void *ctx), const void *ctx)
{
    int rc;

    if (service)
        s->x = ufs_s3_xfer_new_service(&s->op, &simple_hooks, kind, method, bucket);
    else
        s->x = ufs_s3_xfer_new(&s->op, &simple_hooks, kind, method, NULL, key);
    if (!s->x)
        return simple_fail_soon(s, UFS_ENOMEM);
    rc = setup ? setup(s->x, ctx) : 0;
    if (rc)
        return simple_fail_soon(s, rc);
    ufs_s3_xfer_submit(s->x);
    return &s->op.head;
}

/* ufs_s3_stat: ufs_stat on S3 (HEAD). NULL for a bad argument or out of
 * memory; the other errors come through CB, from the loop. */
struct ufs_req *ufs_s3_stat(struct ufs *uu, const char *key, ufs_stat_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok(u, key))
        return NULL;
    s = simple_new(u, S3_W_STAT, arg);
    if (!s)
        return NULL;
    s->cb.stat = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_HEAD, "HEAD", 0, NULL, key, NULL, NULL);
}

/* ufs_s3_delete: ufs_delete on S3 (DELETE). */
struct ufs_req *ufs_s3_delete(struct ufs *uu, const char *key, ufs_done_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok(u, key))
        return NULL;
    s = simple_new(u, S3_W_DELETE, arg);
    if (!s)
        return NULL;
    s->cb.done = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_DELETE, "DELETE", 0, NULL, key, NULL, NULL);
}

static int tagging_setup(struct s3_xfer *x, const void *ctx)
{
    (void)ctx;
    return ufs_s3_xfer_query(x, "tagging", "");
}

/* ufs_s3_get_tagging: GET ?tagging, its body passed on. */
struct ufs_req *ufs_s3_get_tagging(struct ufs *uu, const char *key, ufs_body_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok(u, key))
        return NULL;
    s = simple_new(u, S3_W_BODY, arg);
    if (!s)
        return NULL;
    s->cb.body = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_GET, "GET", 0, NULL, key, tagging_setup, NULL);
}

/* ---- ListParts, ListMultipartUploads --------------------------------------------- */

struct parts_args {
    const char *upload_id;
    unsigned max, marker;
};

static int parts_setup(struct s3_xfer *x, const void *ctx)
{
    const struct parts_args *a = ctx;
    char num[16];
    int rc = ufs_s3_xfer_query(x, "uploadId", a->upload_id);

    snprintf(num, sizeof(num), "%u", a->max ? (a->max > 1000 ? 1000 : a->max) : 1000);
    if (!rc)
        rc = ufs_s3_xfer_query(x, "max-parts", num);
    if (!rc && a->marker) {
        snprintf(num, sizeof(num), "%u", a->marker);
        rc = ufs_s3_xfer_query(x, "part-number-marker", num);
    }
    return rc;
}

static int upload_id_ok(const char *id);

/* ufs_s3_list_parts: GET KEY?uploadId=ID. */
struct ufs_req *ufs_s3_list_parts(struct ufs *uu, const char *key, const char *upload_id,
                                  unsigned max_parts, unsigned marker, ufs_parts_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct parts_args a = {upload_id, max_parts, marker};
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok(u, key) || !upload_id_ok(upload_id) || marker > 10000)
        return NULL;
    s = simple_new(u, S3_W_PARTS, arg);
    if (!s)
        return NULL;
    s->cb.parts = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_MPU, "GET", 0, NULL, key, parts_setup, &a);
}

/* with_prefix: the backend's prefix before V, as the query parameter NAME. */
static int with_prefix(struct s3_xfer *x, const char *name, const char *v)
{
    struct ufs_s3 *u = x->u;
    size_t vl = v ? strlen(v) : 0;
    char *p;
    int rc;

    if (!u->prefix_len && !vl)
        return 0;
    p = malloc(u->prefix_len + vl + 1);
    if (!p)
        return UFS_ENOMEM;
    memcpy(p, u->prefix, u->prefix_len);
    memcpy(p + u->prefix_len, v ? v : "", vl + 1);
    rc = ufs_s3_xfer_query(x, name, p);
    free(p);
    return rc;
}

static int uploads_setup(struct s3_xfer *x, const void *ctx)
{
    const struct ufs_uploads_opts *o = ctx;
    char num[16];
    unsigned max = o->max_uploads ? (o->max_uploads > 1000 ? 1000 : o->max_uploads) : 1000;
    int rc = ufs_s3_xfer_query(x, "uploads", "");

    snprintf(num, sizeof(num), "%u", max);
    if (!rc)
        rc = ufs_s3_xfer_query(x, "max-uploads", num);
    if (!rc)
        rc = with_prefix(x, "prefix", o->prefix);
    if (!rc && o->delimiter && *o->delimiter)
        rc = ufs_s3_xfer_query(x, "delimiter", o->delimiter);
    if (!rc && o->key_marker && *o->key_marker) {
        rc = with_prefix(x, "key-marker", o->key_marker);
        if (!rc && o->upload_id_marker && *o->upload_id_marker)
            rc = ufs_s3_xfer_query(x, "upload-id-marker", o->upload_id_marker);
    }
    return rc;
}

/* ufs_s3_list_uploads: GET ?uploads, within the backend's prefix. */
struct ufs_req *ufs_s3_list_uploads(struct ufs *uu, const struct ufs_uploads_opts *o,
                                    ufs_uploads_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !o ||
        (o->prefix && u->prefix_len + strnlen(o->prefix, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
        (o->key_marker && u->prefix_len + strnlen(o->key_marker, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
        (o->delimiter && strnlen(o->delimiter, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
        (o->upload_id_marker && strnlen(o->upload_id_marker, S3_TOKEN_MAX + 1) > S3_TOKEN_MAX))
        return NULL;
    s = simple_new(u, S3_W_UPLOADS, arg);
    if (!s)
        return NULL;
    s->cb.uploads = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_MPU, "GET", 0, NULL, NULL, uploads_setup, o);
}

/* ---- CopyObject and UploadPartCopy ------------------------------------------------ */

static int upload_id_ok(const char *id)
{
    size_t n;

    if (!id)
        return 0;
    n = strnlen(id, S3_TOKEN_MAX + 1);
    return n > 0 && n <= S3_TOKEN_MAX;
}

struct copy_args {
    char *source; /* x-amz-copy-source: "/bucket/key", encoded */
    const char *if_match;
    const struct ufs_copy_opts *opts; /* CopyObject */
    struct s3_putopts po;
    const char *upload_id; /* UploadPartCopy: not NULL */
    char part[16];
    char range[48]; /* x-amz-copy-source-range, "" = the whole source */
};

/* copy_setup: PUT with x-amz-copy-source and, for CopyObject, the
 * directive, for UploadPartCopy the part and the range; a 200 may still
 * carry an <Error> (a copy that failed after S3 began to answer). */
static int copy_setup(struct s3_xfer *x, const void *ctx)
{
    const struct copy_args *c = ctx;
    int replace = c->opts && c->opts->replace, rc;

    x->body_kind = S3_BODY_MEM;
    x->body = "";
    x->body_len = 0;
    x->check_200_error = 1;
    rc = ufs_s3_xfer_header(x, "x-amz-copy-source", c->source);
    if (!rc && c->upload_id) {
        rc = ufs_s3_xfer_query(x, "partNumber", c->part);
        if (!rc)
            rc = ufs_s3_xfer_query(x, "uploadId", c->upload_id);
        if (!rc && c->range[0])
            rc = ufs_s3_xfer_header(x, "x-amz-copy-source-range", c->range);
    } else if (!rc) {
        rc = ufs_s3_xfer_header(x, "x-amz-metadata-directive", replace ? "REPLACE" : "COPY");
    }
    if (!rc && c->if_match)
        rc = ufs_s3_xfer_header(x, "x-amz-copy-source-if-match", c->if_match);
    if (!rc && replace)
        rc = ufs_s3_putopts_apply(x, &c->po, 0);
    return rc;
}

/* same_str: both NULL, or equal strings. */
static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* copy_source: "/BUCKET/PREFIXKEY" URI-encoded, as x-amz-copy-source
 * wants it (malloc'd), or NULL. */
static char *copy_source(const struct ufs_s3 *src, const char *key)
{
    size_t pl = src->prefix_len, kl = strlen(key);
    char *full = malloc(pl + kl + 1), *eb = NULL, *ek = NULL, *out = NULL;

    if (!full)
        return NULL;
    memcpy(full, src->prefix, pl);
    memcpy(full + pl, key, kl + 1);
    eb = ufs_sigv4_uri_encode(src->bucket, strlen(src->bucket), 0);
    ek = ufs_sigv4_uri_encode(full, pl + kl, 1);
    if (eb && ek && (out = malloc(strlen(eb) + strlen(ek) + 3)))
        sprintf(out, "/%s/%s", eb, ek);
    free(full);
    free(eb);
    free(ek);
    return out;
}

/* copy_go: the copy request C (CopyObject, or UploadPartCopy when
 * c->upload_id is set) of SRC_KEY on SRCU to DST_KEY on UU, reporting to CB
 * with the op S (takes c->po). SRCU must be an S3 backend of the same
 * endpoint and credentials (UFS_ENOTSUP otherwise, from the loop). */
static struct ufs_req *copy_go(struct s3_simple *s, struct ufs *uu, const char *dst_key,
                               const struct ufs *srcu, const char *src_key, ufs_copy_cb cb,
                               struct copy_args *c)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    const struct ufs_s3 *src = (const struct ufs_s3 *)srcu;
    struct ufs_req *r;

    s->cb.copy = cb;
    if (srcu->ops != uu->ops || !u->bucket || !src->bucket || !same_str(u->scheme, src->scheme) ||
        !same_str(u->hostport, src->hostport) || !same_str(u->access_key, src->access_key) ||
        !same_str(u->secret_key, src->secret_key) ||
        !same_str(u->session_token, src->session_token))
        r = simple_fail_soon(s, UFS_ENOTSUP); /* no server-side copy between these two */
    else if (!ufs_s3_key_ok(src, src_key))
        r = simple_fail_soon(s, UFS_EINVAL);
    else if (!(c->source = copy_source(src, src_key)))
        r = simple_fail_soon(s, UFS_ENOMEM);
    else
        r = simple_go(s, c->upload_id ? UFS_K_MPU : UFS_K_PUT, "PUT", 0, NULL, dst_key, copy_setup,
                      c);
    free(c->source);
    ufs_s3_putopts_free(&c->po);
    return r;
}

/* if_match_ok: NULL, or an ETag that fits. */
static int if_match_ok(const char *m)
{
    return !m || strnlen(m, UFS_ETAG_MAX) < UFS_ETAG_MAX;
}

/* ufs_s3_copy: ufs_copy on S3 (PUT with x-amz-copy-source). NULL for a bad
 * key or option, or out of memory. */
struct ufs_req *ufs_s3_copy(struct ufs *uu, const char *dst_key, const struct ufs *srcu,
                            const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                            void *arg)
{
    struct copy_args c;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok((struct ufs_s3 *)uu, dst_key) || !src_key || !*src_key ||
        !if_match_ok(opts ? opts->if_match : NULL))
        return NULL;
    memset(&c, 0, sizeof(c));
    c.opts = opts;
    c.if_match = opts ? opts->if_match : NULL;
    if (opts && opts->replace && ufs_s3_putopts_copy(&c.po, opts->put) != 0)
        return NULL;
    s = simple_new((struct ufs_s3 *)uu, S3_W_COPY, arg);
    if (!s) {
        ufs_s3_putopts_free(&c.po);
        return NULL;
    }
    return copy_go(s, uu, dst_key, srcu, src_key, cb, &c);
}

/* ufs_s3_mpu_part_copy: ufs_mpu_part_copy on S3 (UploadPartCopy: PUT
 * ?partNumber&uploadId with x-amz-copy-source and its range). S3 answers a
 * range past the source's end with 400 InvalidArgument (UFS_EINVAL). NULL
 * for a bad key, part number, range or option, or out of memory. */
struct ufs_req *ufs_s3_mpu_part_copy(struct ufs *uu, const char *key, const char *upload_id,
                                     unsigned part, const struct ufs *srcu, const char *src_key,
                                     uint64_t first, uint64_t last,
                                     const struct ufs_part_copy_opts *opts, ufs_copy_cb cb,
                                     void *arg)
{
    struct copy_args c;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok((struct ufs_s3 *)uu, key) || !upload_id_ok(upload_id) || part < 1 ||
        part > S3_PARTS_MAX || !src_key || !*src_key ||
        (last == UFS_SIZE_UNKNOWN ? first != 0 : first > last) ||
        !if_match_ok(opts ? opts->if_match : NULL))
        return NULL;
    memset(&c, 0, sizeof(c));
    c.if_match = opts ? opts->if_match : NULL;
    c.upload_id = upload_id;
    snprintf(c.part, sizeof(c.part), "%u", part);
    if (last != UFS_SIZE_UNKNOWN)
        snprintf(c.range, sizeof(c.range), "bytes=%llu-%llu", (unsigned long long)first,
                 (unsigned long long)last);
    s = simple_new((struct ufs_s3 *)uu, S3_W_PART_COPY, arg);
    if (!s)
        return NULL;
    return copy_go(s, uu, key, srcu, src_key, cb, &c);
}

/* ---- listing -------------------------------------------------------------------- */

/* list_setup: the ListObjectsV2 query of the options in CTX. */
static int list_setup(struct s3_xfer *x, const void *ctx)
{
    const struct ufs_list_opts *o = ctx;
    struct ufs_s3 *u = x->u;
    char num[16], *p;
    size_t pl = o && o->prefix ? strlen(o->prefix) : 0;
    unsigned mk = o && o->max_keys ? o->max_keys : 1000;
    int rc;

    if (mk > 1000)
        mk = 1000;
    snprintf(num, sizeof(num), "%u", mk);
    rc = ufs_s3_xfer_query(x, "list-type", "2");
    if (!rc)
        rc = ufs_s3_xfer_query(x, "encoding-type", "url");
    if (!rc)
        rc = ufs_s3_xfer_query(x, "max-keys", num);
    if (rc)
        return rc;
    if (u->prefix_len || pl) {
        p = malloc(u->prefix_len + pl + 1);
        if (!p)
            return UFS_ENOMEM;
        memcpy(p, u->prefix, u->prefix_len);
        memcpy(p + u->prefix_len, o && o->prefix ? o->prefix : "", pl + 1);
        rc = ufs_s3_xfer_query(x, "prefix", p);
        free(p);
        if (rc)
            return rc;
    }
    if (o && o->delimiter && (rc = ufs_s3_xfer_query(x, "delimiter", o->delimiter)))
        return rc;
    if (o && o->continuation_token &&
        (rc = ufs_s3_xfer_query(x, "continuation-token", o->continuation_token)))
        return rc;
    if (o && o->start_after) {
        size_t sl = strlen(o->start_after);

        p = malloc(u->prefix_len + sl + 1);
        if (!p)
            return UFS_ENOMEM;
        memcpy(p, u->prefix, u->prefix_len);
        memcpy(p + u->prefix_len, o->start_after, sl + 1);
        rc = ufs_s3_xfer_query(x, "start-after", p);
        free(p);
    }
    return rc;
}

/* ufs_s3_list: ufs_list on S3 (ListObjectsV2 with encoding-type=url, keys
 * and prefixes handed back relative to the backend's prefix, max-keys at
 * most 1000). NULL for an over-long option. */
struct ufs_req *ufs_s3_list(struct ufs *uu, const struct ufs_list_opts *opts, ufs_list_cb cb,
                            void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb)
        return NULL;
    if (opts &&
        ((opts->prefix && u->prefix_len + strnlen(opts->prefix, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
         (opts->start_after &&
          u->prefix_len + strnlen(opts->start_after, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
         (opts->delimiter && strnlen(opts->delimiter, UFS_KEY_MAX + 1) > UFS_KEY_MAX) ||
         (opts->continuation_token &&
          strnlen(opts->continuation_token, S3_TOKEN_MAX + 1) > S3_TOKEN_MAX)))
        return NULL;
    s = simple_new(u, S3_W_LIST, arg);
    if (!s)
        return NULL;
    s->cb.list = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_LIST, "GET", 0, NULL, NULL, list_setup, opts);
}

/* ufs_s3_list_buckets: ufs_list_buckets on S3 (GET /); UFS_ENOTSUP on a
 * backend opened with a bucket. */
struct ufs_req *ufs_s3_list_buckets(struct ufs *uu, ufs_buckets_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb)
        return NULL;
    s = simple_new(u, S3_W_BUCKETS, arg);
    if (!s)
        return NULL;
    s->cb.buckets = cb;
    if (u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_BUCKET, "GET", 1, NULL, NULL, NULL, NULL);
}

/* mkbucket_setup: a LocationConstraint body outside us-east-1. */
static int mkbucket_setup(struct s3_xfer *x, const void *ctx)
{
    struct s3_simple *s = (struct s3_simple *)x->op;
    struct ufs_s3 *u = x->u;
    static const char fmt[] = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                              "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                              "</CreateBucketConfiguration>";
    size_t n;

    (void)ctx;
    if (strcmp(u->region, "us-east-1") == 0)
        return 0;
    n = sizeof(fmt) + strlen(u->region);
    s->body = malloc(n);
    if (!s->body)
        return UFS_ENOMEM;
    snprintf(s->body, n, fmt, u->region);
    x->body_kind = S3_BODY_MEM;
    x->body = s->body;
    x->body_len = strlen(s->body);
    return ufs_s3_xfer_header(x, "Content-Type", "application/xml");
}

/* bucket_op: CreateBucket (CREATE) or DeleteBucket of BUCKET on a
 * service-level backend. */
static struct ufs_req *bucket_op(struct ufs *uu, const char *bucket, ufs_done_cb cb, void *arg,
                                 int create)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !ufs_s3_bucket_name_ok(bucket))
        return NULL;
    s = simple_new(u, create ? S3_W_MKBUCKET : S3_W_RMBUCKET, arg);
    if (!s)
        return NULL;
    s->cb.done = cb;
    if (u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_BUCKET, create ? "PUT" : "DELETE", 1, bucket, NULL,
                     create ? mkbucket_setup : NULL, NULL);
}

struct ufs_req *ufs_s3_create_bucket(struct ufs *uu, const char *bucket, ufs_done_cb cb, void *arg)
{
    return bucket_op(uu, bucket, cb, arg, 1);
}

struct ufs_req *ufs_s3_delete_bucket(struct ufs *uu, const char *bucket, ufs_done_cb cb, void *arg)
{
    return bucket_op(uu, bucket, cb, arg, 0);
}

/* ---- the client's multipart upload, passed through -------------------------- */

/* mpu_create_setup: POST ?uploads with the put options in CTX. */
static int mpu_create_setup(struct s3_xfer *x, const void *ctx)
{
    const struct s3_putopts *po = ctx;
    int rc = ufs_s3_xfer_query(x, "uploads", "");

    x->body_kind = S3_BODY_MEM;
    x->body = "";
    x->body_len = 0;
    return rc ? rc : ufs_s3_putopts_apply(x, po, 0);
}

/* ufs_s3_mpu_create: the client's CreateMultipartUpload, passed through. */
struct ufs_req *ufs_s3_mpu_create(struct ufs *uu, const char *key, const struct ufs_put_opts *opts,
                                  ufs_mpu_create_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;
    struct s3_putopts po;
    struct ufs_req *r;

    if (!cb || !ufs_s3_key_ok(u, key) || ufs_s3_putopts_copy(&po, opts) != 0)
        return NULL;
    s = simple_new(u, S3_W_MPU_CREATE, arg);
    if (!s) {
        ufs_s3_putopts_free(&po);
        return NULL;
    }
    s->cb.create = cb;
    if (!u->bucket)
        r = simple_fail_soon(s, UFS_ENOTSUP);
    else
        r = simple_go(s, UFS_K_MPU, "POST", 0, NULL, key, mpu_create_setup, &po);
    ufs_s3_putopts_free(&po);
    return r;
}

static int upload_id_setup(struct s3_xfer *x, const void *ctx)
{
    return ufs_s3_xfer_query(x, "uploadId", ctx);
}

/* xml_escape_add: appends S with &, <, >, " and ' escaped. */
static size_t xml_escape(char *dst, const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        const char *rep = NULL;

        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        }
        if (rep) {
            if (dst)
                memcpy(dst + n, rep, strlen(rep));
            n += strlen(rep);
        } else {
            if (dst)
                dst[n] = *s;
            n++;
        }
    }
    return n;
}

/* ufs_s3_complete_body: see s3_int.h. Each part takes at most 80 bytes
 * besides its escaped ETag. */
char *ufs_s3_complete_body(const struct ufs_part *parts, size_t nparts)
{
    static const char head[] = "<CompleteMultipartUpload>";
    static const char tail[] = "</CompleteMultipartUpload>";
    size_t i, n = sizeof(head) + sizeof(tail);
    char *b, *p;

    for (i = 0; i < nparts; i++)
        n += 80 + xml_escape(NULL, parts[i].etag);
    b = malloc(n);
    if (!b)
        return NULL;
    p = b + sprintf(b, "%s", head);
    for (i = 0; i < nparts; i++) {
        p += sprintf(p, "<Part><PartNumber>%u</PartNumber><ETag>", parts[i].number);
        p += xml_escape(p, parts[i].etag);
        p += sprintf(p, "</ETag></Part>");
    }
    sprintf(p, "%s", tail);
    return b;
}

/* mpu_complete_setup: POST ?uploadId=CTX with the XML body in s->body; a
 * 200 may still carry an <Error>. */
static int mpu_complete_setup(struct s3_xfer *x, const void *ctx)
{
    struct s3_simple *s = (struct s3_simple *)x->op;
    int rc = ufs_s3_xfer_query(x, "uploadId", ctx);

    x->body_kind = S3_BODY_MEM;
    x->body = s->body;
    x->body_len = strlen(s->body);
    x->check_200_error = 1;
    return rc ? rc : ufs_s3_xfer_header(x, "Content-Type", "application/xml");
}

/* ufs_s3_mpu_complete: the client's CompleteMultipartUpload, passed
 * through. NULL for no parts, too many, or a bad part number or ETag. */
struct ufs_req *ufs_s3_mpu_complete(struct ufs *uu, const char *key, const char *upload_id,
                                    const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                    void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;
    size_t i;

    if (!cb || !ufs_s3_key_ok(u, key) || !upload_id_ok(upload_id) || !parts || nparts == 0 ||
        nparts > S3_PARTS_MAX)
        return NULL;
    for (i = 0; i < nparts; i++)
        if (!parts[i].etag || strnlen(parts[i].etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX ||
            parts[i].number < 1 || parts[i].number > S3_PARTS_MAX)
            return NULL;
    s = simple_new(u, S3_W_MPU_COMPLETE, arg);
    if (!s)
        return NULL;
    s->cb.etag = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    s->body = ufs_s3_complete_body(parts, nparts);
    if (!s->body)
        return simple_fail_soon(s, UFS_ENOMEM);
    return simple_go(s, UFS_K_MPU, "POST", 0, NULL, key, mpu_complete_setup, upload_id);
}

/* ufs_s3_mpu_abort: the client's AbortMultipartUpload, passed through; an
 * upload already gone gives UFS_ECONFLICT. */
struct ufs_req *ufs_s3_mpu_abort(struct ufs *uu, const char *key, const char *upload_id,
                                 ufs_done_cb cb, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_simple *s;

    if (!cb || !ufs_s3_key_ok(u, key) || !upload_id_ok(upload_id))
        return NULL;
    s = simple_new(u, S3_W_MPU_ABORT, arg);
    if (!s)
        return NULL;
    s->cb.done = cb;
    if (!u->bucket)
        return simple_fail_soon(s, UFS_ENOTSUP);
    return simple_go(s, UFS_K_MPU, "DELETE", 0, NULL, key, upload_id_setup, upload_id);
}

/* ufs_s3_abort_upload: see s3_int.h; nothing while ufs_close runs. */
void ufs_s3_abort_upload(struct ufs_s3 *u, const char *key, const char *upload_id)
{
    struct s3_simple *s;

    if (u->closing)
        return;
    s = simple_new(u, S3_W_INTERNAL, NULL);
    if (s)
        simple_go(s, UFS_K_MPU, "DELETE", 0, NULL, key, upload_id_setup, upload_id);
}

/* ufs_s3_adopt_create: see s3_int.h. */
void ufs_s3_adopt_create(struct ufs_s3 *u, struct s3_xfer *x, const char *key)
{
    struct s3_simple *s = u->closing ? NULL : simple_new(u, S3_W_ADOPTED, NULL);
    size_t n = strlen(key);

    if (s)
        s->key = malloc(n + 1);
    if (!s || !s->key) {
        if (s)
            simple_destroy(&s->op, 1);
        ufs_s3_xfer_free(x);
        return;
    }
    memcpy(s->key, key, n + 1);
    x->op = &s->op;
    x->hooks = &simple_hooks;
    s->x = x;
    if (x->state == S3_X_IDLE) /* the kick passed it over as cancelled */
        ufs_s3_xfer_submit(x);
}
