/* ufs/s3_write.c: streaming uploads (ufs_write_open, ufs_write,
 * ufs_write_close) and the client's UploadPart passed through (ufs_mpu_part).
 *
 * Modes, chosen at open:
 *   SINGLE  size known and <= multipart_threshold (and every passthrough
 *           part): one PUT started at once whose body curl pulls from a
 *           buffer of at most part_size bytes (CURL_READFUNC_PAUSE when it
 *           is empty, unpaused from the loop by the next write). When the
 *           whole object fits in the buffer it stays there, so the PUT can
 *           be retried; a larger one can be retried only before curl took
 *           a byte that has since been dropped.
 *   BUFFER  size unknown: the first part_size bytes are buffered; a close
 *           before they fill sends them as one PUT (retryable); once they
 *           fill, the write becomes MPU.
 *   MPU     CreateMultipartUpload, then parts of part_size bytes uploaded
 *           up to S3_INFLIGHT_PARTS at a time (each kept until it succeeds,
 *           so each is retried), then CompleteMultipartUpload at close. Any
 *           failure aborts the upload in the background.
 * Backpressure: ufs_write takes every byte it is given and returns
 * UFS_WRITE_FULL when the writer holds its share (a full SINGLE buffer, or
 * S3_INFLIGHT_PARTS parts waiting or uploading); drain() follows, from the
 * loop, once there is room again.
 * Content-MD5: sent with a PUT of the whole body (S3 checks it); for parts
 * the MD5 is computed here as the bytes come and checked at the close.
 * Results: done() runs once. Success is reported only after
 * ufs_write_close(); a failure is reported as soon as it is known, even
 * before the close, and the handle is gone after done() ran. */
#include "ufs/s3_int.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum w_mode { W_SINGLE, W_BUFFER, W_MPU };

struct s3_part {
    struct s3_part *next;
    unsigned number;
    char *data;
    size_t len;
    struct s3_xfer *x;
};

struct s3_write {
    struct s3_op op;
    struct ufs_write_cbs cbs;
    void *arg;
    char *key; /* relative to the backend's prefix */
    struct s3_putopts po;
    uint64_t size, written;
    enum w_mode mode;
    int closed, full, err, held, completed;
    int estatus; /* S3's answer to the failed transfer, when it gave one */
    char ecode[S3_CODE_MAX], emsg[S3_MESSAGE_MAX];
    char etag[UFS_ETAG_MAX];
    char *upload_id;      /* our upload, or the client's for a passthrough part */
    unsigned part_number; /* passthrough part: its number; 0 otherwise */
    /* SINGLE */
    struct s3_xfer *put;
    char *buf;
    size_t cap, alloc, len, rpos; /* bytes [rpos, len) wait for curl */
    int retained, discarded, send_paused;
    uint64_t pulled; /* body bytes curl took in this attempt */
    /* MPU */
    struct s3_xfer *create, *complete;
    char *complete_body;
    struct s3_part *filling, *ready, *ready_tail, *uploading;
    unsigned n_ready, n_uploading, next_number;
    char (*etags)[UFS_ETAG_MAX];
    unsigned etags_cap;
    char *spare;     /* a part buffer kept for the next part */
    EVP_MD_CTX *md5; /* BUFFER and MPU with a Content-MD5: checked here */
};

static void part_free(struct s3_write *w, struct s3_part *p)
{
    ufs_s3_xfer_free(p->x);
    if (!w->spare)
        w->spare = p->data;
    else
        free(p->data);
    free(p);
}

static void parts_free(struct s3_write *w, struct s3_part *p)
{
    while (p) {
        struct s3_part *next = p->next;

        part_free(w, p);
        p = next;
    }
}

/* teardown: stops every transfer; ABORT_UPLOAD also aborts our multipart
 * upload in the background. */
static void teardown(struct s3_write *w, int abort_upload)
{
    ufs_s3_xfer_free(w->put);
    ufs_s3_xfer_free(w->create);
    ufs_s3_xfer_free(w->complete);
    w->put = w->create = w->complete = NULL;
    if (w->filling)
        part_free(w, w->filling);
    parts_free(w, w->ready);
    parts_free(w, w->uploading);
    w->filling = w->ready = w->ready_tail = w->uploading = NULL;
    w->n_ready = w->n_uploading = 0;
    if (abort_upload && w->upload_id && !w->part_number && !w->completed)
        ufs_s3_abort_upload(w->op.u, w->key, w->upload_id);
}

/* write_destroy: frees the write; a cancelled one aborts its upload. */
static void write_destroy(struct s3_op *op, int canceled)
{
    struct s3_write *w = (struct s3_write *)op;

    if (canceled && w->create && !w->upload_id && !w->err) { /* its upload must go too */
        ufs_s3_adopt_create(op->u, w->create, w->key);
        w->create = NULL;
    }
    teardown(w, canceled);
    ufs_s3_putopts_free(&w->po);
    free(w->key);
    free(w->upload_id);
    free(w->buf);
    free(w->complete_body);
    free(w->etags);
    free(w->spare);
    EVP_MD_CTX_free(w->md5);
    ufs_s3_op_release(op);
    free(w);
}

static void write_deliver(struct s3_write *w, int err)
{
    struct ufs_error_detail d = {w->estatus, w->ecode, w->emsg};
    ufs_s3_op_finish(&w->op);
    if (!err)
        w->completed = 1;
    teardown(w, err != 0);
    if (err && w->estatus)
        ufs_error_detail_set(&d); /* S3's own answer, kept from the failed transfer */
    w->cbs.done(w->arg, err, err ? NULL : w->etag);
    ufs_error_detail_set(NULL);
    write_destroy(&w->op, 0);
}

/* write_fail: the write has failed; done() follows from the loop. */
static void write_fail(struct s3_write *w, int err)
{
    const struct ufs_error_detail *d = ufs_error_detail();
    if (w->err)
        return;
    w->err = err;
    if (d) { /* a transfer's failure, S3 saying why: kept for done() */
        w->estatus = d->status;
        snprintf(w->ecode, sizeof(w->ecode), "%s", d->code);
        snprintf(w->emsg, sizeof(w->emsg), "%s", d->message);
    }
    ufs_s3_op_defer(&w->op, S3_PEND_FAIL);
}

/* ---- SINGLE: the streamed PUT ------------------------------------------------- */

/* single_pull: curl wants body bytes: what is buffered, CURL_READFUNC_PAUSE
 * when nothing is (the next write unpauses), the end after the close.
 * Drain is due when the buffer is back to half. The object's last byte is
 * held back until the close: with all of its bytes S3 completes the object,
 * and the caller may still refuse the body (a bad last chunk signature, a
 * payload hash that does not match) and cancel. */
static size_t single_pull(struct s3_xfer *x, char *dst, size_t n)
{
    struct s3_write *w = (struct s3_write *)x->op;
    size_t avail = w->len - w->rpos;

    if (w->err)
        return CURL_READFUNC_ABORT;
    if (!w->closed && w->size != UFS_SIZE_UNKNOWN && w->size > 0 && avail > w->size - 1 - w->pulled)
        avail = (size_t)(w->size - 1 - w->pulled); /* not the last byte yet */
    if (avail == 0) {
        if (w->closed)
            return 0;
        w->send_paused = 1;
        return CURL_READFUNC_PAUSE;
    }
    if (n > avail)
        n = avail;
    memcpy(dst, w->buf + w->rpos, n);
    w->rpos += n;
    w->pulled += n;
    if (!w->retained && w->rpos == w->len) {
        w->rpos = w->len = 0;
        w->discarded = 1;
    }
    if (w->full && w->len - w->rpos <= w->cap / 2) {
        w->full = 0;
        ufs_s3_op_defer(&w->op, S3_PEND_DRAIN);
    }
    return n;
}

static int single_rewind(struct s3_xfer *x)
{
    struct s3_write *w = (struct s3_write *)x->op;

    if (w->discarded)
        return -1;
    w->rpos = 0;
    w->pulled = 0;
    return 0;
}

/* single_done: the PUT's result; a success waits for the close. */
static void single_done(struct s3_xfer *x, int err)
{
    struct s3_write *w = (struct s3_write *)x->op;

    if (w->err)
        return;
    if (!err && !x->etag[0])
        err = UFS_EPROTO; /* S3 always says the new ETag */
    if (err) {
        write_fail(w, err);
        return;
    }
    memcpy(w->etag, x->etag, sizeof(w->etag));
    if (!w->closed) {
        w->held = 1; /* success is reported after the close */
        return;
    }
    write_deliver(w, 0);
}

static const struct s3_xfer_hooks single_hooks = {NULL, single_pull, single_rewind,
                                                  NULL, NULL,        single_done};

/* single_write: N bytes into the SINGLE buffer (dropping what curl took
 * when the object is larger than the buffer). Returns UFS_WRITE_OK,
 * UFS_WRITE_FULL or UFS_ENOMEM. */
static int single_write(struct s3_write *w, const char *p, size_t n)
{
    if (!w->retained && w->rpos && w->len + n > w->cap) {
        memmove(w->buf, w->buf + w->rpos, w->len - w->rpos);
        w->len -= w->rpos;
        w->rpos = 0;
        w->discarded = 1;
    }
    if (w->len + n > w->alloc) { /* a write larger than the room: take it anyway */
        char *nb = realloc(w->buf, w->len + n);

        if (!nb) {
            write_fail(w, UFS_ENOMEM);
            return UFS_ENOMEM;
        }
        w->buf = nb;
        w->alloc = w->len + n;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    if (w->send_paused) {
        w->send_paused = 0;
        ufs_s3_op_defer(&w->op, S3_PEND_UNPAUSE);
    }
    if (w->len - w->rpos >= w->cap && w->written < w->size) {
        w->full = 1;
        return UFS_WRITE_FULL;
    }
    return UFS_WRITE_OK;
}

/* single_start: the PUT of a SINGLE write (or a passthrough part). */
static int single_start(struct s3_write *w, enum ufs_kind kind)
{
    struct ufs_s3 *u = w->op.u;
    char num[16];
    int rc;

    w->cap = w->size <= u->part_size ? (size_t)w->size : (size_t)u->part_size;
    w->retained = w->size <= u->part_size;
    w->alloc = w->cap ? w->cap : 1;
    w->buf = malloc(w->alloc);
    w->put = ufs_s3_xfer_new(&w->op, &single_hooks, kind, "PUT", NULL, w->key);
    if (!w->buf || !w->put)
        return UFS_ENOMEM;
    w->put->body_kind = S3_BODY_STREAM;
    w->put->stream_size = w->size;
    if (w->part_number) {
        snprintf(num, sizeof(num), "%u", w->part_number);
        rc = ufs_s3_xfer_query(w->put, "partNumber", num);
        if (!rc)
            rc = ufs_s3_xfer_query(w->put, "uploadId", w->upload_id);
    } else {
        rc = ufs_s3_putopts_apply(w->put, &w->po, 1);
    }
    if (rc)
        return rc;
    ufs_s3_xfer_submit(w->put);
    return 0;
}

/* ---- MPU: parts ------------------------------------------------------------------ */

static void mpu_dispatch(struct s3_write *w);

static void mpu_maybe_complete(struct s3_write *w);

/* part_done: a part is in (its ETag kept, its buffer freed or kept as the
 * spare) or failed for good (the write fails). */
static void part_done(struct s3_xfer *x, int err)
{
    struct s3_write *w = (struct s3_write *)x->op;
    struct s3_part *p = x->ctx, **pp;

    if (w->err)
        return;
    if (!err && !x->etag[0])
        err = UFS_EPROTO;
    if (err) {
        write_fail(w, err);
        return;
    }
    if (p->number > w->etags_cap) {
        unsigned cap = w->etags_cap ? w->etags_cap : 64;
        char(*e)[UFS_ETAG_MAX];

        while (cap < p->number)
            cap *= 2;
        e = realloc(w->etags, (size_t)cap * sizeof(*e));
        if (!e) {
            write_fail(w, UFS_ENOMEM);
            return;
        }
        w->etags = e;
        w->etags_cap = cap;
    }
    memcpy(w->etags[p->number - 1], x->etag, UFS_ETAG_MAX);
    for (pp = &w->uploading; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    w->n_uploading--;
    part_free(w, p); /* frees x: it is out of the multi */
    mpu_dispatch(w);
    if (w->full && w->n_ready + w->n_uploading < S3_INFLIGHT_PARTS) {
        w->full = 0;
        ufs_s3_op_defer(&w->op, S3_PEND_DRAIN);
    }
    mpu_maybe_complete(w);
}

static const struct s3_xfer_hooks part_hooks = {NULL, NULL, NULL, NULL, NULL, part_done};

/* mpu_dispatch: starts waiting parts while there are free slots. */
static void mpu_dispatch(struct s3_write *w)
{
    char num[16];

    while (!w->err && w->upload_id && w->ready && w->n_uploading < S3_INFLIGHT_PARTS) {
        struct s3_part *p = w->ready;
        int rc;

        w->ready = p->next;
        if (!w->ready)
            w->ready_tail = NULL;
        w->n_ready--;
        p->next = w->uploading;
        w->uploading = p;
        w->n_uploading++;
        p->x = ufs_s3_xfer_new(&w->op, &part_hooks, UFS_K_PUT, "PUT", NULL, w->key);
        if (!p->x) {
            write_fail(w, UFS_ENOMEM);
            return;
        }
        p->x->ctx = p;
        p->x->body_kind = S3_BODY_MEM;
        p->x->body = p->data;
        p->x->body_len = p->len;
        snprintf(num, sizeof(num), "%u", p->number);
        rc = ufs_s3_xfer_query(p->x, "partNumber", num);
        if (!rc)
            rc = ufs_s3_xfer_query(p->x, "uploadId", w->upload_id);
        if (rc) {
            write_fail(w, rc);
            return;
        }
        ufs_s3_xfer_submit(p->x);
    }
}

/* part_push_ready: a full (or the last) part waits for a slot. */
static void part_push_ready(struct s3_write *w, struct s3_part *p)
{
    p->next = NULL;
    if (w->ready_tail)
        w->ready_tail->next = p;
    else
        w->ready = p;
    w->ready_tail = p;
    w->n_ready++;
}

/* create_done: CreateMultipartUpload answered: the parts can go. */
static void create_done(struct s3_xfer *x, int err)
{
    struct s3_write *w = (struct s3_write *)x->op;

    if (w->err)
        return;
    if (!err)
        err = ufs_s3_xml_upload_id(x->resp, x->resp_len, &w->upload_id);
    if (err) {
        write_fail(w, err);
        return;
    }
    ufs_s3_xfer_free(w->create);
    w->create = NULL;
    mpu_dispatch(w);
    mpu_maybe_complete(w);
}

static const struct s3_xfer_hooks create_hooks = {NULL, NULL, NULL, NULL, NULL, create_done};

/* mpu_start_create: the write becomes MPU; CreateMultipartUpload goes out.
 * Returns 0 or an error. */
static int mpu_start_create(struct s3_write *w)
{
    int rc;

    w->mode = W_MPU;
    w->create = ufs_s3_xfer_new(&w->op, &create_hooks, UFS_K_MPU, "POST", NULL, w->key);
    if (!w->create)
        return UFS_ENOMEM;
    w->create->body_kind = S3_BODY_MEM;
    w->create->body = "";
    rc = ufs_s3_xfer_query(w->create, "uploads", "");
    if (!rc)
        rc = ufs_s3_putopts_apply(w->create, &w->po, 0);
    if (rc)
        return rc;
    ufs_s3_xfer_submit(w->create);
    return 0;
}

/* complete_done: CompleteMultipartUpload answered: the write is done. */
static void complete_done(struct s3_xfer *x, int err)
{
    struct s3_write *w = (struct s3_write *)x->op;

    if (w->err)
        return;
    if (!err)
        err = ufs_s3_xml_complete_etag(x->resp, x->resp_len, w->etag);
    if (err) {
        write_fail(w, err);
        return;
    }
    write_deliver(w, 0);
}

static const struct s3_xfer_hooks complete_hooks = {NULL, NULL, NULL, NULL, NULL, complete_done};

/* mpu_maybe_complete: after the close, once every part is in. */
static void mpu_maybe_complete(struct s3_write *w)
{
    struct ufs_part *parts;
    unsigned i;
    int rc;

    if (w->err || w->mode != W_MPU || !w->closed || !w->upload_id || w->filling || w->ready ||
        w->uploading || w->complete)
        return;
    parts = calloc(w->next_number, sizeof(*parts));
    if (!parts) {
        write_fail(w, UFS_ENOMEM);
        return;
    }
    for (i = 0; i < w->next_number; i++) {
        parts[i].number = i + 1;
        parts[i].etag = w->etags[i];
    }
    w->complete_body = ufs_s3_complete_body(parts, w->next_number);
    free(parts);
    w->complete = ufs_s3_xfer_new(&w->op, &complete_hooks, UFS_K_MPU, "POST", NULL, w->key);
    if (!w->complete_body || !w->complete) {
        write_fail(w, UFS_ENOMEM);
        return;
    }
    w->complete->body_kind = S3_BODY_MEM;
    w->complete->body = w->complete_body;
    w->complete->body_len = strlen(w->complete_body);
    w->complete->check_200_error = 1;
    rc = ufs_s3_xfer_query(w->complete, "uploadId", w->upload_id);
    if (!rc)
        rc = ufs_s3_xfer_header(w->complete, "Content-Type", "application/xml");
    if (rc) {
        write_fail(w, rc);
        return;
    }
    ufs_s3_xfer_submit(w->complete);
}

/* parts_write: N bytes into parts (BUFFER and MPU). */
static int parts_write(struct s3_write *w, const char *p, size_t n)
{
    struct ufs_s3 *u = w->op.u;

    if (w->md5 && !EVP_DigestUpdate(w->md5, p, n)) {
        write_fail(w, UFS_ENOMEM);
        return UFS_ENOMEM;
    }

    while (n) {
        size_t m;

        if (!w->filling) {
            if (w->next_number >= S3_PARTS_MAX) {
                write_fail(w, UFS_EINVAL); /* too large for part_size */
                return UFS_EINVAL;
            }
            w->filling = calloc(1, sizeof(*w->filling));
            if (w->filling) {
                w->filling->data = w->spare ? w->spare : malloc((size_t)u->part_size);
                w->spare = NULL;
            }
            if (!w->filling || !w->filling->data) {
                free(w->filling);
                w->filling = NULL;
                write_fail(w, UFS_ENOMEM);
                return UFS_ENOMEM;
            }
            w->filling->number = ++w->next_number;
        }
        m = (size_t)u->part_size - w->filling->len;
        if (m > n)
            m = n;
        memcpy(w->filling->data + w->filling->len, p, m);
        w->filling->len += m;
        p += m;
        n -= m;
        if (w->filling->len == u->part_size) {
            part_push_ready(w, w->filling);
            w->filling = NULL;
            if (w->mode == W_BUFFER) {
                int rc = mpu_start_create(w);

                if (rc) {
                    write_fail(w, rc);
                    return rc;
                }
            }
        }
    }
    mpu_dispatch(w);
    if (w->n_ready + w->n_uploading >= S3_INFLIGHT_PARTS &&
        (w->size == UFS_SIZE_UNKNOWN || w->written < w->size)) {
        w->full = 1;
        return UFS_WRITE_FULL;
    }
    return UFS_WRITE_OK;
}

/* md5_matches: the MD5 of what was written is the Content-MD5 given. */
static int md5_matches(struct s3_write *w)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char b64[64];
    unsigned int n = 0;

    if (!EVP_DigestFinal_ex(w->md5, md, &n) || n != 16)
        return 0;
    EVP_EncodeBlock((unsigned char *)b64, md, (int)n);
    return strcmp(b64, w->po.content_md5) == 0;
}

/* ---- the op --------------------------------------------------------------------- */

/* write_deferred: from the loop: the failure or the held success, then an
 * unpause of the PUT, then drain(). */
static void write_deferred(struct s3_op *op, unsigned pending)
{
    struct s3_write *w = (struct s3_write *)op;

    if (pending & S3_PEND_FAIL) {
        write_deliver(w, w->err);
        return;
    }
    if (pending & S3_PEND_DONE) {
        write_deliver(w, 0);
        return;
    }
    if ((pending & S3_PEND_UNPAUSE) && w->put)
        ufs_s3_xfer_unpause(w->put);
    if ((pending & S3_PEND_DRAIN) && !w->full && !w->err && !w->closed && w->cbs.drain)
        w->cbs.drain(w->arg);
}

static const struct s3_op_type write_type = {write_deferred, write_destroy};

/* ufs_s3_write: ufs_write on S3: takes every byte; UFS_WRITE_FULL when the
 * writer holds its share; a negative error once the write has failed. */
int ufs_s3_write(struct ufs_req *req, const void *buf, size_t len)
{
    struct s3_write *w = (struct s3_write *)req;

    if (w->op.type != &write_type || w->op.finished || w->op.canceled)
        return UFS_EINVAL;
    if (w->err)
        return w->err;
    if (w->closed || (len && !buf))
        return UFS_EINVAL;
    if (w->size != UFS_SIZE_UNKNOWN && w->written + len > w->size) {
        write_fail(w, UFS_EINVAL);
        return UFS_EINVAL;
    }
    w->written += len;
    if (len == 0)
        return w->full ? UFS_WRITE_FULL : UFS_WRITE_OK;
    if (w->mode == W_SINGLE)
        return single_write(w, buf, len);
    return parts_write(w, buf, len);
}

/* ufs_s3_write_close: ufs_write_close on S3: a SINGLE PUT gets its end, a
 * BUFFER write becomes one PUT, an MPU sends its last part and completes.
 * UFS_EINVAL when fewer bytes than declared came (the write fails). */
int ufs_s3_write_close(struct ufs_req *req)
{
    struct s3_write *w = (struct s3_write *)req;

    if (w->op.type != &write_type || w->op.finished || w->op.canceled || w->closed)
        return UFS_EINVAL;
    if (w->err)
        return w->err;
    w->closed = 1;
    if (w->size != UFS_SIZE_UNKNOWN && w->written != w->size) {
        write_fail(w, UFS_EINVAL);
        return UFS_EINVAL;
    }
    switch (w->mode) {
    case W_SINGLE:
        if (w->held)
            ufs_s3_op_defer(&w->op, S3_PEND_DONE);
        else if (w->send_paused) {
            w->send_paused = 0;
            ufs_s3_op_defer(&w->op, S3_PEND_UNPAUSE);
        }
        break;
    case W_BUFFER: {
        /* it all fitted in one part: one PUT of what is buffered */
        struct s3_part *p = w->filling;
        int rc;

        w->put = ufs_s3_xfer_new(&w->op, &single_hooks, UFS_K_PUT, "PUT", NULL, w->key);
        rc = w->put ? ufs_s3_putopts_apply(w->put, &w->po, 1) : UFS_ENOMEM;
        if (rc) {
            write_fail(w, rc);
            return rc;
        }
        w->put->body_kind = S3_BODY_MEM;
        w->put->body = p ? p->data : "";
        w->put->body_len = p ? p->len : 0;
        ufs_s3_xfer_submit(w->put);
        break;
    }
    case W_MPU:
        if (w->md5 && !md5_matches(w)) {
            write_fail(w, UFS_EINVAL); /* as S3's BadDigest would */
            return UFS_EINVAL;
        }
        if (w->filling && w->filling->len == 0) {
            part_free(w, w->filling);
            w->next_number--;
        } else if (w->filling) {
            part_push_ready(w, w->filling);
        }
        w->filling = NULL;
        mpu_dispatch(w);
        mpu_maybe_complete(w);
        break;
    }
    return 0;
}

/* write_new: the op, or NULL (out of memory, bad options). */
static struct s3_write *write_new(struct ufs_s3 *u, const char *key, uint64_t size,
                                  const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                  void *arg)
{
    struct s3_write *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    if (ufs_s3_putopts_copy(&w->po, opts) != 0) {
        free(w);
        return NULL;
    }
    w->key = malloc(strlen(key) + 1);
    if (!w->key || ufs_s3_op_init(u, &w->op, &write_type) != 0) {
        ufs_s3_putopts_free(&w->po);
        free(w->key);
        free(w);
        return NULL;
    }
    memcpy(w->key, key, strlen(key) + 1);
    w->cbs = *cbs;
    w->arg = arg;
    w->size = size;
    return w;
}

/* ufs_s3_write_memory: the buffers of the mode ufs_s3_write_open (or
 * ufs_s3_mpu_part) picks for size: SINGLE holds at most one part_size
 * buffer; BUFFER and MPU hold S3_INFLIGHT_PARTS parts plus the one filling
 * (and a spare kept for reuse). */
uint64_t ufs_s3_write_memory(const struct ufs *uu, uint64_t size, int part)
{
    const struct ufs_s3 *u = (const struct ufs_s3 *)uu;
    if (size != UFS_SIZE_UNKNOWN && (part || size <= u->threshold))
        return size < u->part_size ? size : u->part_size;
    return (uint64_t)(S3_INFLIGHT_PARTS + 2) * u->part_size;
}

/* ufs_s3_write_open: ufs_write_open on S3; picks the mode (see the top of
 * the file). NULL for a bad argument or out of memory. */
struct ufs_req *ufs_s3_write_open(struct ufs *uu, const char *key, uint64_t size,
                                  const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                  void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_write *w;
    int rc = 0;

    if (!cbs || !cbs->done || !ufs_s3_key_ok(u, key))
        return NULL;
    w = write_new(u, key, size, opts, cbs, arg);
    if (!w)
        return NULL;
    if (!u->bucket) {
        rc = UFS_ENOTSUP;
    } else if (size != UFS_SIZE_UNKNOWN && size <= u->threshold) {
        w->mode = W_SINGLE;
        rc = single_start(w, UFS_K_PUT);
    } else if (size != UFS_SIZE_UNKNOWN && size > (uint64_t)S3_PARTS_MAX * u->part_size) {
        rc = UFS_EINVAL;
    } else {
        /* parts: S3 cannot check a Content-MD5 of the whole, so it is done here */
        if (w->po.content_md5 &&
            (!(w->md5 = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(w->md5, EVP_md5(), NULL)))
            rc = UFS_ENOMEM;
        else if (size == UFS_SIZE_UNKNOWN)
            w->mode = W_BUFFER;
        else
            rc = mpu_start_create(w);
    }
    if (rc)
        write_fail(w, rc);
    return &w->op.head;
}

/* ufs_s3_mpu_part: the client's UploadPart, passed through as a SINGLE
 * write with partNumber and uploadId; its size must be known. */
struct ufs_req *ufs_s3_mpu_part(struct ufs *uu, const char *key, const char *upload_id,
                                unsigned part, uint64_t size, const struct ufs_write_cbs *cbs,
                                void *arg)
{
    struct ufs_s3 *u = (struct ufs_s3 *)uu;
    struct s3_write *w;
    size_t idl;
    int rc;

    if (!cbs || !cbs->done || !ufs_s3_key_ok(u, key) || !upload_id || part < 1 ||
        part > S3_PARTS_MAX || size == UFS_SIZE_UNKNOWN)
        return NULL;
    idl = strnlen(upload_id, 4097);
    if (idl == 0 || idl > 4096)
        return NULL;
    w = write_new(u, key, size, NULL, cbs, arg);
    if (!w)
        return NULL;
    w->mode = W_SINGLE;
    w->part_number = part;
    w->upload_id = malloc(idl + 1);
    if (w->upload_id)
        memcpy(w->upload_id, upload_id, idl + 1);
    if (!w->upload_id)
        rc = UFS_ENOMEM;
    else if (!u->bucket)
        rc = UFS_ENOTSUP;
    else
        rc = single_start(w, UFS_K_MPU);
    if (rc)
        write_fail(w, rc);
    return &w->op.head;
}
