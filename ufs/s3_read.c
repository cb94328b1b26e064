/* ufs/s3_read.c: ranged GET streamed to the reader (ufs_read on S3).
 *
 * One transfer, re-run on transient failures: each attempt asks for
 * Range: bytes=(off + delivered)-(off + len - 1) with If-Match on the
 * caller's ETag or, after the first response, on the ETag that response
 * carried, so the bytes handed to the reader never mix two versions.
 *
 * Flow control: when data() returns UFS_READ_PAUSE the bytes of that call
 * were taken; the next bytes curl offers are refused with
 * CURL_WRITEFUNC_PAUSE (curl keeps them and stops reading the socket) until
 * ufs_read_resume(), which unpauses from the loop. While paused nothing is
 * delivered, the final done() included: it waits for the resume.
 *
 * States: RUNNING (attempt queued, active or in backoff) -> data()* ->
 * done(); PAUSED is a flag on RUNNING; HELD = finished while paused. */
#include "ufs/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct s3_read {
    struct s3_op op;
    struct s3_xfer *x;
    struct ufs_read_cbs cbs;
    void *arg;
    uint64_t off, len; /* len UFS_SIZE_UNKNOWN: to the end */
    uint64_t delivered;
    uint64_t skip;               /* bytes to drop (a 200 to a ranged request) */
    char if_match[UFS_ETAG_MAX]; /* the caller's, "" = none */
    char etag[UFS_ETAG_MAX];     /* the first one seen */
    struct ufs_stat st;
    int have_st;
    int started;     /* this attempt's response was checked */
    int user_paused; /* data() said pause and no resume came yet */
    int curl_paused; /* curl holds bytes we refused */
    int held, held_err;
    int early_err;
    int head_only; /* len 0: a HEAD with the same checks */
};

static void read_destroy(struct s3_op *op, int canceled)
{
    struct s3_read *r = (struct s3_read *)op;

    (void)canceled;
    ufs_s3_xfer_free(r->x);
    ufs_s3_op_release(op);
    free(r);
}

static void read_deliver(struct s3_read *r, int err)
{
    ufs_s3_op_finish(&r->op);
    r->cbs.done(r->arg, err, r->have_st ? &r->st : NULL);
    read_destroy(&r->op, 0);
}

/* read_prepare: the Range and If-Match of the next attempt. */
static int read_prepare(struct s3_xfer *x)
{
    struct s3_read *r = (struct s3_read *)x->op;
    uint64_t start = r->off + r->delivered;
    const char *im = r->if_match[0] ? r->if_match : (r->etag[0] ? r->etag : NULL);
    char range[64];
    int rc;

    r->started = 0;
    r->skip = 0;
    if (r->head_only || (start == 0 && r->len == UFS_SIZE_UNKNOWN)) {
        rc = ufs_s3_xfer_header(x, "Range", NULL);
    } else {
        if (r->len == UFS_SIZE_UNKNOWN)
            snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)start);
        else
            snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)start,
                     (unsigned long long)(r->off + r->len - 1));
        rc = ufs_s3_xfer_header(x, "Range", range);
    }
    return rc ? rc : ufs_s3_xfer_header(x, "If-Match", im);
}

/* read_check: the response of this attempt is the part we asked for, of
 * the version we started with. Fills r->st. Returns 0 or an error. */
static int read_check(struct s3_read *r, struct s3_xfer *x)
{
    uint64_t start = r->off + r->delivered, size = 0;

    if (r->head_only) {
        size = x->clen;
    } else if (x->status == 206) {
        if (!x->has_cr || x->cr_first != start)
            return UFS_EPROTO;
        size = x->cr_total_known ? x->cr_total : r->st.size;
    } else if (x->status == 200) {
        r->skip = start; /* a whole object: the range was ignored */
        if (!x->has_clen)
            return UFS_EPROTO;
        size = x->clen;
    } else {
        return UFS_EPROTO;
    }
    if (r->etag[0] && strcmp(r->etag, x->etag) != 0)
        return UFS_EPRECOND;
    memcpy(r->etag, x->etag, sizeof(r->etag));
    r->st.size = size;
    memcpy(r->st.etag, x->etag, sizeof(r->st.etag));
    r->st.mtime = x->mtime;
    memcpy(r->st.content_type, x->ctype, sizeof(r->st.content_type));
    r->have_st = 1;
    r->started = 1;
    return 0;
}

/* read_complete: every byte asked for (or up to the object's end) has been
 * handed over, so a failure after that is no failure. */
static int read_complete(const struct s3_read *r)
{
    uint64_t end;

    if (!r->have_st || r->head_only)
        return 0;
    end = r->st.size;
    if (r->len != UFS_SIZE_UNKNOWN && r->off + r->len < end)
        end = r->off + r->len;
    return r->off + r->delivered >= end;
}

/* read_sink: body bytes of an attempt: checked at the first call, then
 * handed to data() (those a 200 to a ranged request carries before the
 * offset, or past the asked length, are dropped). */
static size_t read_sink(struct s3_xfer *x, const char *p, size_t n)
{
    struct s3_read *r = (struct s3_read *)x->op;
    const char *q = p;
    size_t take = n;
    int err, v;

    if (!r->started && (err = read_check(r, x)) != 0) {
        x->abort_err = err;
        return 0;
    }
    if (r->user_paused) {
        r->curl_paused = 1;
        return CURL_WRITEFUNC_PAUSE; /* curl gives these bytes again after the resume */
    }
    if (r->skip) {
        size_t s = r->skip < take ? (size_t)r->skip : take;

        r->skip -= s;
        q += s;
        take -= s;
    }
    if (r->len != UFS_SIZE_UNKNOWN && take > r->len - r->delivered)
        take = (size_t)(r->len - r->delivered);
    if (take == 0)
        return n;
    v = r->cbs.data(r->arg, q, take);
    r->delivered += take;
    if (r->op.canceled)
        return 0;
    if (v == UFS_READ_ABORT) {
        x->abort_err = UFS_ECANCELED;
        return 0;
    }
    if (v == UFS_READ_PAUSE)
        r->user_paused = 1;
    return n;
}

static int read_can_retry(struct s3_xfer *x)
{
    return !read_complete((struct s3_read *)x->op);
}

/* read_done: the transfer's result; held while the reader is paused. */
static void read_done(struct s3_xfer *x, int err)
{
    struct s3_read *r = (struct s3_read *)x->op;

    if (!err && !r->started)
        err = read_check(r, x); /* an empty body: the sink never ran */
    if (err && err != UFS_ECANCELED && read_complete(r))
        err = 0;
    if (r->user_paused) {
        r->held = 1;
        r->held_err = err;
        return;
    }
    read_deliver(r, err);
}

/* read_deferred: an early error, or a resume: the held result, or curl
 * unpaused so it gives the refused bytes again. */
static void read_deferred(struct s3_op *op, unsigned pending)
{
    struct s3_read *r = (struct s3_read *)op;

    if (pending & S3_PEND_DONE) {
        read_deliver(r, r->early_err);
        return;
    }
    if ((pending & S3_PEND_RESUME) && !r->user_paused) {
        if (r->held) {
            read_deliver(r, r->held_err);
        } else if (r->curl_paused) {
            r->curl_paused = 0;
            ufs_s3_xfer_unpause(r->x); /* may deliver at once, from here */
        }
    }
}

static const struct s3_op_type read_type = {read_deferred, read_destroy};
static const struct s3_xfer_hooks read_hooks = {read_prepare,   NULL,      NULL,
                                                read_can_retry, read_sink, read_done};

/* ufs_s3_read: ufs_read on S3. LEN 0 is a HEAD with the same checks (the
 * stat comes with done()). NULL for a bad argument or out of memory. */
struct ufs_req *ufs_s3_read(struct ufs *uu, const char *key, uint64_t off, uint64_t len,
                            const char *if_match, const struct ufs_read_cbs *cbs, void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_read *r;

    if (!cbs || !cbs->data || !cbs->done || !ufs_s3_key_ok(u, key) ||
        (len != UFS_SIZE_UNKNOWN && off + len < off) ||
        (if_match && (strnlen(if_match, UFS_ETAG_MAX) >= UFS_ETAG_MAX || !if_match[0] ||
                      strpbrk(if_match, "\r\n"))))
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (ufs_s3_op_init(u, &r->op, &read_type) != 0) {
        free(r);
        return NULL;
    }
    r->cbs = *cbs;
    r->arg = arg;
    r->off = off;
    r->len = len;
    r->head_only = len == 0;
    if (if_match)
        memcpy(r->if_match, if_match, strlen(if_match) + 1);
    if (!u->bucket) {
        r->early_err = UFS_ENOTSUP;
        ufs_s3_op_defer(&r->op, S3_PEND_DONE);
        return &r->op.head;
    }
    r->x = ufs_s3_xfer_new(&r->op, &read_hooks, r->head_only ? UFS_K_HEAD : UFS_K_GET,
                           r->head_only ? "HEAD" : "GET", NULL, key);
    if (!r->x) {
        r->early_err = UFS_ENOMEM;
        ufs_s3_op_defer(&r->op, S3_PEND_DONE);
        return &r->op.head;
    }
    r->x->sink_stream = !r->head_only;
    ufs_s3_xfer_submit(r->x);
    return &r->op.head;
}

void ufs_s3_read_resume(struct ufs_req *req)
{
    struct s3_read *r = (struct s3_read *)req;

    if (r->op.finished || r->op.canceled || r->op.type != &read_type || !r->user_paused)
        return;
    r->user_paused = 0;
    ufs_s3_op_defer(&r->op, S3_PEND_RESUME);
}
