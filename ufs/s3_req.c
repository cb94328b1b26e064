/* ufs/s3_req.c: building one S3 request (struct s3_xfer): the URL with
 * path-style or virtual-host addressing, the headers, the SigV4 signature
 * (signing key cached per day), the easy handle of each attempt and the curl
 * callbacks that read the response headers, take or stream the body and
 * feed the request body. Queueing, retries and the multi's glue to libevent
 * are in s3_loop.c. */
#include "ufs/strbuf.h"
#include "ufs/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ----------------------------------------------------------- */

/* dup_str: a copy of S, or NULL. */
static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);

    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* ---- transfers: setup ------------------------------------------------------------ */

/* xfer_alloc: an idle transfer of OP with no target yet, or NULL. */
static struct s3_xfer *xfer_alloc(struct s3_op *op, const struct s3_xfer_hooks *hooks,
                                  enum ufs_kind kind, const char *method)
{
    struct s3_xfer *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->u = op->u;
    x->op = op;
    x->hooks = hooks;
    x->kind = kind;
    x->method = method;
    x->state = S3_X_IDLE;
    return x;
}

/* ufs_s3_xfer_new: see s3_int.h. */
struct s3_xfer *ufs_s3_xfer_new(struct s3_op *op, const struct s3_xfer_hooks *hooks,
                                enum ufs_kind kind, const char *method, const char *bucket,
                                const char *key)
{
    struct ufs_s3 *u = op->u;
    struct s3_xfer *x = xfer_alloc(op, hooks, kind, method);

    if (!x)
        return NULL;
    x->bucket = dup_str(bucket ? bucket : u->bucket);
    if (!x->bucket)
        goto fail;
    if (key) {
        size_t kl = strlen(key);

        x->key = malloc(u->prefix_len + kl + 1);
        if (!x->key)
            goto fail;
        memcpy(x->key, u->prefix, u->prefix_len);
        memcpy(x->key + u->prefix_len, key, kl + 1);
    }
    return x;
fail:
    ufs_s3_xfer_free(x);
    return NULL;
}

/* ufs_s3_xfer_new_service: see s3_int.h. */
struct s3_xfer *ufs_s3_xfer_new_service(struct s3_op *op, const struct s3_xfer_hooks *hooks,
                                        enum ufs_kind kind, const char *method, const char *bucket)
{
    struct s3_xfer *x = xfer_alloc(op, hooks, kind, method);

    if (!x)
        return NULL;
    if (bucket && !(x->bucket = dup_str(bucket))) {
        ufs_s3_xfer_free(x);
        return NULL;
    }
    return x;
}

/* ufs_s3_xfer_query: adds a query parameter (decoded; encoded when sent).
 * Returns 0, UFS_EINVAL (too many) or UFS_ENOMEM. */
int ufs_s3_xfer_query(struct s3_xfer *x, const char *name, const char *value)
{
    if (x->nq >= S3_MAX_QUERY)
        return UFS_EINVAL;
    x->qname[x->nq] = dup_str(name);
    x->qval[x->nq] = dup_str(value ? value : "");
    if (!x->qname[x->nq] || !x->qval[x->nq]) {
        free(x->qname[x->nq]);
        free(x->qval[x->nq]);
        return UFS_ENOMEM;
    }
    x->nq++;
    return 0;
}

/* header_name_ok: an HTTP token. */
static int header_name_ok(const char *s)
{
    size_t i;

    if (!s[0] || strlen(s) > 128)
        return 0;
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
            return 0;
    }
    return 1;
}

/* ufs_s3_xfer_header: see s3_int.h. Names must be HTTP tokens and values
 * free of CR and LF and at most S3_HEADER_MAX bytes (no header injection).
 * Returns 0, UFS_EINVAL or UFS_ENOMEM. */
int ufs_s3_xfer_header(struct s3_xfer *x, const char *name, const char *value)
{
    unsigned i;
    char *v;

    if (!header_name_ok(name))
        return UFS_EINVAL;
    for (i = 0; i < x->nh; i++)
        if (ufs_s3_ci_eq(x->hname[i], strlen(x->hname[i]), name))
            break;
    if (!value) {
        if (i < x->nh) {
            free(x->hname[i]);
            free(x->hval[i]);
            x->nh--;
            x->hname[i] = x->hname[x->nh];
            x->hval[i] = x->hval[x->nh];
        }
        return 0;
    }
    if (strnlen(value, S3_HEADER_MAX + 1) > S3_HEADER_MAX || strpbrk(value, "\r\n"))
        return UFS_EINVAL;
    v = dup_str(value);
    if (!v)
        return UFS_ENOMEM;
    if (i < x->nh) {
        free(x->hval[i]);
        x->hval[i] = v;
        return 0;
    }
    if (x->nh >= S3_MAX_HEADERS) {
        free(v);
        return UFS_EINVAL;
    }
    x->hname[x->nh] = dup_str(name);
    if (!x->hname[x->nh]) {
        free(v);
        return UFS_ENOMEM;
    }
    x->hval[x->nh++] = v;
    return 0;
}

/* reset_attempt: a clean slate for the next attempt. */
static void reset_attempt(struct s3_xfer *x)
{
    ufs_s3_reset_response(x);
    x->abort_err = 0;
    x->sent = 0;
    x->body_pos = 0;
    x->errbuf[0] = '\0';
}

void ufs_s3_xfer_reset(struct s3_xfer *x)
{
    reset_attempt(x);
    x->attempt = 0;
}

/* ---- transfers: curl callbacks ------------------------------------------------- */

/* header_cb: one response header line (parsed by s3_parse.c). */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct s3_xfer *x = ud;
    size_t n = size * nitems;

    if (x->op->canceled || !ufs_s3_header_line(x, buf, n))
        return 0;
    return n;
}

/* write_cb: response body. 2xx bodies of streaming transfers go to the
 * op's sink; everything else is kept (up to S3_XML_MAX) for parsing. */
static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct s3_xfer *x = ud;
    size_t n = size * nmemb, r;

    if (x->op->canceled)
        return 0;
    if (x->sink_stream && x->status >= 200 && x->status < 300) {
        r = x->hooks->sink(x, p, n);
        if (r == n)
            x->u->head.counters.bytes_in += n;
        return r;
    }
    if (x->resp_len + n > S3_XML_MAX) {
        x->abort_err = UFS_EPROTO;
        return 0;
    }
    if (x->resp_len + n + 1 > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap : 4096;
        char *np;

        while (cap < x->resp_len + n + 1)
            cap *= 2;
        np = realloc(x->resp, cap);
        if (!np) {
            x->abort_err = UFS_ENOMEM;
            return 0;
        }
        x->resp = np;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, p, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    x->u->head.counters.bytes_in += n;
    return n;
}

/* read_cb: request body, from memory or from the op's stream. */
static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
    struct s3_xfer *x = ud;
    size_t n = size * nitems, r;

    if (x->op->canceled)
        return CURL_READFUNC_ABORT;
    if (x->body_kind == S3_BODY_MEM) {
        r = x->body_len - x->body_pos;
        if (r > n)
            r = n;
        memcpy(dst, x->body + x->body_pos, r);
        x->body_pos += r;
    } else if (x->body_kind == S3_BODY_STREAM) {
        r = x->hooks->pull(x, dst, n);
        if (r == CURL_READFUNC_PAUSE || r == CURL_READFUNC_ABORT)
            return r;
    } else {
        r = 0;
    }
    x->sent += r;
    x->u->head.counters.bytes_out += r;
    return r;
}

/* seek_cb: curl rewinds a body to resend it on a fresh connection. */
static int seek_cb(void *ud, curl_off_t off, int origin)
{
    struct s3_xfer *x = ud;

    if (off != 0 || origin != SEEK_SET || x->op->canceled)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->body_kind == S3_BODY_STREAM && (!x->hooks->rewind || x->hooks->rewind(x) != 0))
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = 0;
    x->sent = 0;
    return CURL_SEEKFUNC_OK;
}

/* ---- transfers: building and signing a request -------------------------------- */

/* add_header: appends "NAME: VALUE" to the curl list; an empty VALUE as
 * "NAME;", libcurl's way of sending a header with no value ("NAME:" alone
 * would remove the header, and the request's signature, which covers it,
 * would no longer match). */
static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    struct ufs_sb b = {0};
    struct curl_slist *n;

    ufs_sb_str(&b, name);
    if (*value) {
        ufs_sb_add(&b, ": ", 2);
        ufs_sb_str(&b, value);
    } else {
        ufs_sb_add(&b, ";", 1);
    }
    if (b.err) {
        free(b.p);
        return UFS_ENOMEM;
    }
    n = curl_slist_append(*l, b.p);
    free(b.p);
    if (!n)
        return UFS_ENOMEM;
    *l = n;
    return 0;
}

/* build_target: the URL and the canonical URI of X. */
static int build_target(struct s3_xfer *x, char **url, char **curi, char **cquery)
{
    struct ufs_s3 *u = x->u;
    struct ufs_sigv4_pair q[S3_MAX_QUERY];
    struct ufs_sb path = {0}, ub = {0};
    char *enc = NULL, *cq = NULL;
    unsigned i;
    int vhost = !u->path_style && x->bucket, rc = UFS_ENOMEM;

    ufs_sb_add(&path, "/", 1);
    if (x->bucket && !vhost) {
        enc = ufs_sigv4_uri_encode(x->bucket, strlen(x->bucket), 0);
        if (!enc)
            goto out;
        ufs_sb_str(&path, enc);
        free(enc);
        enc = NULL;
        if (x->key)
            ufs_sb_add(&path, "/", 1);
    }
    if (x->key) {
        enc = ufs_sigv4_uri_encode(x->key, strlen(x->key), 1);
        if (!enc)
            goto out;
        ufs_sb_str(&path, enc);
    }
    for (i = 0; i < x->nq; i++) {
        q[i].name = x->qname[i];
        q[i].value = x->qval[i];
    }
    rc = ufs_sigv4_canonical_query(q, x->nq, &cq);
    if (rc)
        goto out;
    rc = UFS_ENOMEM;
    ufs_sb_str(&ub, u->scheme);
    ufs_sb_str(&ub, "://");
    if (vhost) {
        ufs_sb_str(&ub, x->bucket);
        ufs_sb_add(&ub, ".", 1);
    }
    ufs_sb_str(&ub, u->hostport);
    if (path.p)
        ufs_sb_str(&ub, path.p);
    if (cq[0]) {
        ufs_sb_add(&ub, "?", 1);
        ufs_sb_str(&ub, cq);
    }
    if (path.err || ub.err)
        goto out;
    *url = ub.p;
    *curi = path.p;
    *cquery = cq;
    ub.p = path.p = cq = NULL;
    rc = 0;
out:
    free(enc);
    free(cq);
    free(path.p);
    free(ub.p);
    return rc;
}

/* build_headers: the request headers of X, signed when there are
 * credentials. Sets x->slist. */
static int build_headers(struct s3_xfer *x, const char *curi)
{
    struct ufs_s3 *u = x->u;
    struct ufs_sigv4_pair h[S3_MAX_HEADERS + 4];
    struct curl_slist *l = NULL;
    char amz_date[UFS_SIGV4_DATE_LEN + 1], payload[UFS_SIGV4_HEX_LEN + 1];
    char sig[UFS_SIGV4_HEX_LEN + 1], *host = NULL, *auth = NULL;
    size_t n = 0;
    unsigned i;
    int rc = UFS_ENOMEM, have_ctype = 0;

    if (!u->path_style && x->bucket) {
        host = malloc(strlen(x->bucket) + strlen(u->hostport) + 2);
        if (!host)
            goto out;
        sprintf(host, "%s.%s", x->bucket, u->hostport);
    } else {
        host = dup_str(u->hostport);
        if (!host)
            goto out;
    }
    rc = ufs_sigv4_amz_date((int64_t)time(NULL), amz_date);
    if (rc)
        goto out;
    if (x->body_kind == S3_BODY_STREAM ||
        (x->body_kind == S3_BODY_MEM && x->body_len > S3_SMALL_BODY_HASH))
        snprintf(payload, sizeof(payload), "%s", UFS_SIGV4_UNSIGNED_PAYLOAD);
    else if (x->body_kind == S3_BODY_MEM)
        ufs_sigv4_sha256_hex(x->body, x->body_len, payload);
    else
        snprintf(payload, sizeof(payload), "%s", UFS_SIGV4_EMPTY_SHA256);
    h[n].name = "Host";
    h[n++].value = host;
    if (u->access_key) {
        h[n].name = "x-amz-content-sha256";
        h[n++].value = payload;
        h[n].name = "x-amz-date";
        h[n++].value = amz_date;
        if (u->session_token) {
            h[n].name = "x-amz-security-token";
            h[n++].value = u->session_token;
        }
    }
    for (i = 0; i < x->nh; i++) {
        h[n].name = x->hname[i];
        h[n++].value = x->hval[i];
        if (ufs_s3_ci_eq(x->hname[i], strlen(x->hname[i]), "content-type"))
            have_ctype = 1;
    }
    rc = UFS_ENOMEM;
    for (i = 0; i < n; i++)
        if (add_header(&l, h[i].name, h[i].value))
            goto out;
    if (u->access_key) {
        struct ufs_sigv4_request r;
        struct ufs_sigv4_pair q[S3_MAX_QUERY];

        if (memcmp(u->key_day, amz_date, 8) != 0) {
            rc = ufs_sigv4_signing_key(u->secret_key, amz_date, u->region, "s3", u->signing_key);
            if (rc)
                goto out;
            memcpy(u->key_day, amz_date, 8);
            u->key_day[8] = '\0';
        }
        for (i = 0; i < x->nq; i++) {
            q[i].name = x->qname[i];
            q[i].value = x->qval[i];
        }
        memset(&r, 0, sizeof(r));
        r.method = x->method;
        r.canonical_uri = curi;
        r.query = q;
        r.n_query = x->nq;
        r.headers = h;
        r.n_headers = n;
        r.payload_hash = payload;
        r.amz_date = amz_date;
        r.region = u->region;
        r.service = "s3";
        rc = ufs_sigv4_sign(&r, u->access_key, u->signing_key, sig, &auth);
        if (rc)
            goto out;
        rc = UFS_ENOMEM;
        if (add_header(&l, "Authorization", auth))
            goto out;
    }
    /* no 100-continue round trip, no Accept, no form content type on POST */
    if (!(l = curl_slist_append(l, "Expect:")) || !(l = curl_slist_append(l, "Accept:")))
        goto out;
    if (!have_ctype && !(l = curl_slist_append(l, "Content-Type:")))
        goto out;
    x->slist = l;
    l = NULL;
    rc = 0;
out:
    curl_slist_free_all(l);
    free(host);
    free(auth);
    return rc;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(e, opt, val) != CURLE_OK)                                             \
            goto out;                                                                              \
    } while (0)

/* ufs_s3_xfer_launch: see s3_int.h. Options: HTTP/1.1, no signals, the
 * path as it is (keys may hold "..", "//"), http and https only, the
 * backend's timeout as a connect timeout (at most 10 s) and as the time
 * without a byte after which a transfer fails. */
int ufs_s3_xfer_launch(struct s3_xfer *x)
{
    struct ufs_s3 *u = x->u;
    char *url = NULL, *curi = NULL, *cq = NULL;
    long low_time = u->timeout_ms / 1000 ? (long)(u->timeout_ms / 1000) : 1;
    long conn_ms = u->timeout_ms < 10000 ? (long)u->timeout_ms : 10000;
    CURL *e = NULL;
    int rc;

    reset_attempt(x);
    rc = x->hooks->prepare ? x->hooks->prepare(x) : 0;
    if (rc)
        goto out;
    rc = build_target(x, &url, &curi, &cq);
    if (rc)
        goto out;
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    rc = build_headers(x, curi);
    if (rc)
        goto out;
    rc = UFS_ENOMEM;
    e = curl_easy_init();
    if (!e)
        goto out;
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_PRIVATE, (void *)x);
    SETOPT(CURLOPT_SHARE, u->share);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PATH_AS_IS, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SETOPT(CURLOPT_LOW_SPEED_TIME, low_time);
    SETOPT(CURLOPT_BUFFERSIZE, 128L * 1024);
    SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
    SETOPT(CURLOPT_HEADERDATA, (void *)x);
    SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(CURLOPT_WRITEDATA, (void *)x);
    SETOPT(CURLOPT_READFUNCTION, read_cb);
    SETOPT(CURLOPT_READDATA, (void *)x);
    SETOPT(CURLOPT_SEEKFUNCTION, seek_cb);
    SETOPT(CURLOPT_SEEKDATA, (void *)x);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_HTTPHEADER, x->slist);
    if (strcmp(x->method, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(x->method, "PUT") == 0) {
        curl_off_t len =
            x->body_kind == S3_BODY_STREAM ? (curl_off_t)x->stream_size : (curl_off_t)x->body_len;
        SETOPT(CURLOPT_UPLOAD, 1L);
        SETOPT(CURLOPT_INFILESIZE_LARGE, len);
    } else if (strcmp(x->method, "POST") == 0) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    } else if (strcmp(x->method, "GET") != 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, x->method);
    }
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK)
        goto out;
    x->easy = e;
    e = NULL;
    x->state = S3_X_ACTIVE;
    u->n_active++;
    u->head.counters.requests[x->kind]++;
    rc = 0;
out:
    if (e)
        curl_easy_cleanup(e);
    if (rc) {
        curl_slist_free_all(x->slist);
        x->slist = NULL;
    }
    free(url);
    free(curi);
    free(cq);
    return rc;
}
