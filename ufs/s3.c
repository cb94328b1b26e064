/* ufs/s3.c: the S3 backend of ufs: opening and closing, the operations
 * table, what every operation shares (its list, its deferred work,
 * cancellation) and the put options. The one-request operations are in
 * s3_ops.c, reads in s3_read.c, writes in s3_write.c, requests in s3_req.c
 * and s3_loop.c, XML in s3_xml.c.
 *
 * An operation's life: created and linked in u->ops; its transfers queued;
 * exactly one final callback, from a loop callback, then freed
 * (ufs_s3_op_finish, callback, destroy). ufs_cancel moves it to u->dead
 * and u->reap frees it from the loop, so nothing is freed inside a curl
 * callback and no callback follows a cancel. ufs_close frees everything at
 * once (it must not be called from a callback). */
#include "ufs/s3_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_DEFAULT_RETRIES 4
#define S3_DEFAULT_CONNS 64
#define S3_DEFAULT_THRESHOLD (64ULL << 20)
#define S3_DEFAULT_PART (8ULL << 20)
#define S3_DEFAULT_TIMEOUT_MS 30000
#define S3_PART_MAX (5ULL << 30) /* S3's largest part */

/* ---- operations: the generic part ------------------------------------------ */

static void op_link(struct s3_op **head, struct s3_op *op)
{
    op->prev = NULL;
    op->next = *head;
    if (*head)
        (*head)->prev = op;
    *head = op;
}

/* op_unlink: takes OP out of the list at HEAD. */
static void op_unlink(struct s3_op **head, struct s3_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else if (*head == op)
        *head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
}

/* op_ev_cb: runs the op's deferred work from the loop. */
static void op_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    struct s3_op *op = arg;
    unsigned pending = op->pending;

    (void)fd;
    (void)what;
    op->pending = 0;
    if (op->canceled || op->finished || !pending)
        return;
    op->type->deferred(op, pending);
}

/* ufs_s3_op_init: links a new op into u->ops with its zero-delay event.
 * Returns 0 or UFS_ENOMEM (nothing linked). */
int ufs_s3_op_init(struct ufs_s3 *u, struct s3_op *op, const struct s3_op_type *type)
{
    op->head.u = &u->head;
    op->u = u;
    op->type = type;
    op->ev = event_new(u->head.base, -1, 0, op_ev_cb, op);
    if (!op->ev)
        return UFS_ENOMEM;
    op_link(&u->ops, op);
    return 0;
}

void ufs_s3_op_defer(struct s3_op *op, unsigned bits)
{
    op->pending |= bits;
    event_active(op->ev, EV_TIMEOUT, 1);
}

void ufs_s3_op_finish(struct s3_op *op)
{
    op->finished = 1;
    op->pending = 0;
}

void ufs_s3_op_release(struct s3_op *op)
{
    if (op->ev) {
        op_unlink(op->canceled ? &op->u->dead : &op->u->ops, op);
        event_free(op->ev);
        op->ev = NULL;
    }
}

/* s3_cancel: no callback from now on; the op is freed from the loop. */
static void s3_cancel(struct ufs_req *req)
{
    struct s3_op *op = (struct s3_op *)req;
    struct ufs_s3 *u = op->u;

    if (op->finished || op->canceled)
        return;
    op_unlink(&u->ops, op);
    op->canceled = 1;
    op_link(&u->dead, op);
    event_del(op->ev);
    event_active(u->reap, EV_TIMEOUT, 1);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ufs_s3 *u = arg;

    (void)fd;
    (void)what;
    while (u->dead)
        u->dead->type->destroy(u->dead, 1);
}

/* ---- put options ---------------------------------------------------------------- */

/* dup_n: a NUL-terminated copy of N bytes of S, or NULL. */
static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* value_ok: fits in a request header: no CR or LF, not over the ceiling. */
static int value_ok(const char *v)
{
    return strnlen(v, S3_HEADER_MAX + 1) <= S3_HEADER_MAX && !strpbrk(v, "\r\n");
}

/* user_header_ok: the headers a writer may set (ufs.h's list), names made
 * of HTTP token characters. */
static int user_header_ok(const char *name, size_t n)
{
    static const char *const ok[] = {"cache-control", "content-disposition", "content-encoding",
                                     "content-language", "expires"};
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
            return 0;
    }

    if (n > 11 && strncasecmp(name, "x-amz-meta-", 11) == 0)
        return 1;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strlen(ok[i]) == n && strncasecmp(name, ok[i], n) == 0)
            return 1;
    return 0;
}

/* ufs_s3_putopts_free: frees what ufs_s3_putopts_copy made. */
void ufs_s3_putopts_free(struct s3_putopts *p)
{
    size_t i;

    for (i = 0; i < p->nh; i++) {
        free(p->hname[i]);
        free(p->hval[i]);
    }
    free(p->hname);
    free(p->hval);
    free(p->content_type);
    free(p->content_md5);
    memset(p, 0, sizeof(*p));
}

/* ufs_s3_putopts_copy: copies the caller's put options (SRC may be NULL),
 * splitting "Name: value" headers and refusing those ufs.h does not list.
 * Returns 0, UFS_EINVAL or UFS_ENOMEM; *DST is written only on success. */
int ufs_s3_putopts_copy(struct s3_putopts *dst, const struct ufs_put_opts *src)
{
    struct s3_putopts p;
    size_t n = 0, i;

    memset(&p, 0, sizeof(p));
    if (!src) {
        *dst = p;
        return 0;
    }
    if (src->headers)
        while (src->headers[n])
            n++;
    if (n > S3_MAX_HEADERS - 6 || (src->content_type && !value_ok(src->content_type)) ||
        (src->content_md5 && !value_ok(src->content_md5)))
        return UFS_EINVAL;
    if (src->content_type &&
        !(p.content_type = dup_n(src->content_type, strlen(src->content_type))))
        goto nomem;
    if (src->content_md5 && !(p.content_md5 = dup_n(src->content_md5, strlen(src->content_md5))))
        goto nomem;
    if (n) {
        p.hname = calloc(n, sizeof(char *));
        p.hval = calloc(n, sizeof(char *));
        if (!p.hname || !p.hval)
            goto nomem;
    }
    for (i = 0; i < n; i++) {
        const char *h = src->headers[i], *colon = strchr(h, ':'), *v;
        size_t nl, vl;

        if (!colon || !value_ok(h))
            goto inval;
        nl = (size_t)(colon - h);
        if (!user_header_ok(h, nl))
            goto inval;
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        p.hname[i] = dup_n(h, nl);
        p.hval[i] = dup_n(v, vl);
        p.nh = i + 1;
        if (!p.hname[i] || !p.hval[i])
            goto nomem;
    }
    *dst = p;
    return 0;
nomem:
    ufs_s3_putopts_free(&p);
    return UFS_ENOMEM;
inval:
    ufs_s3_putopts_free(&p);
    return UFS_EINVAL;
}

/* ufs_s3_putopts_apply: sets the options as request headers of X; the
 * Content-MD5 only WITH_MD5 (it belongs to a PUT of the whole body, not to
 * CreateMultipartUpload). */
int ufs_s3_putopts_apply(struct s3_xfer *x, const struct s3_putopts *p, int with_md5)
{
    size_t i;
    int rc = 0;

    if (p->content_type)
        rc = ufs_s3_xfer_header(x, "Content-Type", p->content_type);
    if (!rc && p->content_md5 && with_md5)
        rc = ufs_s3_xfer_header(x, "Content-MD5", p->content_md5);
    for (i = 0; !rc && i < p->nh; i++)
        rc = ufs_s3_xfer_header(x, p->hname[i], p->hval[i]);
    return rc;
}

int ufs_s3_key_ok(const struct ufs_s3 *u, const char *key)
{
    size_t n;

    if (!key)
        return 0;
    n = strnlen(key, UFS_KEY_MAX + 1);
    return n > 0 && u->prefix_len + n <= UFS_KEY_MAX;
}

/* bucket_name_ok: what may go into a Host name or a path segment; S3 says
 * the rest (InvalidBucketName). */
int ufs_s3_bucket_name_ok(const char *b)
{
    size_t i, n;

    if (!b)
        return 0;
    n = strnlen(b, 256);
    if (n == 0 || n > 255)
        return 0;
    for (i = 0; i < n; i++) {
        char c = b[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

/* ---- opening and closing ------------------------------------------------------------ */

/* s3_close: ufs_close on S3: every op is freed without a callback (no
 * background abort is started), then the multi, the events and the
 * strings (the secret wiped). Also undoes a half-done ufs_s3_open. */
static void s3_close(struct ufs *uu)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;

    u->closing = 1;
    while (u->ops)
        u->ops->type->destroy(u->ops, 1);
    while (u->dead)
        u->dead->type->destroy(u->dead, 1);
    ufs_s3_multi_teardown(u);
    if (u->reap)
        event_free(u->reap);
    free(u->scheme);
    free(u->hostport);
    free(u->region);
    free(u->bucket);
    free(u->prefix);
    free(u->access_key);
    if (u->secret_key) {
        memset(u->secret_key, 0, strlen(u->secret_key));
        free(u->secret_key);
    }
    free(u->session_token);
    memset(u->signing_key, 0, sizeof(u->signing_key));
    free(u);
}

static const struct ufs_ops s3_ops = {
    "s3",
    s3_close,
    s3_cancel,
    ufs_s3_stat,
    ufs_s3_read,
    ufs_s3_read_resume,
    ufs_s3_write_open,
    ufs_s3_write,
    ufs_s3_write_close,
    ufs_s3_mpu_create,
    ufs_s3_mpu_part,
    ufs_s3_mpu_complete,
    ufs_s3_mpu_abort,
    ufs_s3_delete,
    ufs_s3_list,
    ufs_s3_list_buckets,
    ufs_s3_create_bucket,
    ufs_s3_delete_bucket,
    ufs_s3_copy,
    ufs_s3_mpu_part_copy,
    ufs_s3_write_memory,
    ufs_s3_get_tagging,
    ufs_s3_list_parts,
    ufs_s3_list_uploads,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : UFS_ENOMEM;
}

/* parse_endpoint: "http(s)://host[:port][/]" into scheme and host:port. */
static int parse_endpoint(struct ufs_s3 *u, const char *ep)
{
    const char *rest;
    size_t n, i;

    if (strncmp(ep, "http://", 7) == 0) {
        u->scheme = dup_n("http", 4);
        rest = ep + 7;
    } else if (strncmp(ep, "https://", 8) == 0) {
        u->scheme = dup_n("https", 5);
        rest = ep + 8;
    } else {
        return UFS_EINVAL;
    }
    n = strnlen(rest, 256);
    if (n && rest[n - 1] == '/')
        n--;
    if (n == 0 || n > 255)
        return UFS_EINVAL;
    for (i = 0; i < n; i++) {
        char c = rest[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_'))
            return UFS_EINVAL;
    }
    u->hostport = dup_n(rest, n);
    return u->scheme && u->hostport ? 0 : UFS_ENOMEM;
}

/* region_ok: a region name that can go into a scope and a host name. */
static int region_ok(const char *r)
{
    size_t i, n = strnlen(r, 65);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

/* cred_ok: a credential that fits in a header. */
static int cred_ok(const char *s)
{
    size_t n = s ? strnlen(s, 1025) : 0;

    return n > 0 && n <= 1024 && !strpbrk(s, "\r\n");
}

/* ufs_s3_open: checks the configuration, applies the defaults of ufs.h and
 * sets up the multi on BASE. Returns 0, UFS_EINVAL or UFS_ENOMEM; *OUT is
 * written only on success. */
int ufs_s3_open(struct event_base *base, const struct ufs_s3_config *cfg, struct ufs **out)
{
    struct ufs_s3 *u = NULL;
    const char *region, *prefix;
    char ep[300];
    int rc = UFS_EINVAL;

    if (!base || !cfg || !out)
        return UFS_EINVAL;
    region = cfg->region ? cfg->region : "us-east-1";
    prefix = cfg->prefix ? cfg->prefix : "";
    if (!region_ok(region) || (cfg->bucket && !ufs_s3_bucket_name_ok(cfg->bucket)) ||
        strnlen(prefix, UFS_KEY_MAX) >= UFS_KEY_MAX ||
        (prefix[0] && prefix[strlen(prefix) - 1] != '/') ||
        (cfg->access_key && (!cred_ok(cfg->access_key) || !cred_ok(cfg->secret_key))) ||
        (cfg->session_token && (strnlen(cfg->session_token, S3_HEADER_MAX + 1) > S3_HEADER_MAX ||
                                strpbrk(cfg->session_token, "\r\n"))) ||
        cfg->part_size > S3_PART_MAX)
        return UFS_EINVAL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc)
        return curl_init_rc;
    u = calloc(1, sizeof(*u));
    if (!u)
        return UFS_ENOMEM;
    u->head.ops = &s3_ops;
    u->head.base = base;
    if (cfg->endpoint) {
        rc = parse_endpoint(u, cfg->endpoint);
    } else {
        snprintf(ep, sizeof(ep), "https://s3.%s.amazonaws.com", region);
        rc = parse_endpoint(u, ep);
    }
    if (rc)
        goto fail;
    rc = UFS_ENOMEM;
    u->region = dup_n(region, strlen(region));
    u->prefix = dup_n(prefix, strlen(prefix));
    if (!u->region || !u->prefix)
        goto fail;
    u->prefix_len = strlen(prefix);
    if (cfg->bucket && !(u->bucket = dup_n(cfg->bucket, strlen(cfg->bucket))))
        goto fail;
    if (cfg->access_key && (!(u->access_key = dup_n(cfg->access_key, strlen(cfg->access_key))) ||
                            !(u->secret_key = dup_n(cfg->secret_key, strlen(cfg->secret_key)))))
        goto fail;
    if (cfg->access_key && cfg->session_token &&
        !(u->session_token = dup_n(cfg->session_token, strlen(cfg->session_token))))
        goto fail;
    u->path_style = cfg->path_style;
    u->max_retries = cfg->max_retries ? cfg->max_retries : S3_DEFAULT_RETRIES;
    u->max_conns = cfg->max_connections ? cfg->max_connections : S3_DEFAULT_CONNS;
    u->threshold = cfg->multipart_threshold ? cfg->multipart_threshold : S3_DEFAULT_THRESHOLD;
    u->part_size = cfg->part_size ? cfg->part_size : S3_DEFAULT_PART;
    u->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : S3_DEFAULT_TIMEOUT_MS;
    u->reap = event_new(base, -1, 0, reap_cb, u);
    if (!u->reap)
        goto fail;
    rc = ufs_s3_multi_setup(u);
    if (rc)
        goto fail;
    *out = &u->head;
    return 0;
fail:
    s3_close(&u->head);
    return rc;
}
