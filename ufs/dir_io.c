/* ufs/dir_io.c: reads and writes of the local-directory backend: ranged
 * reads delivered in chunks (ufs_read, ufs_read_resume) and streaming
 * writes through a temporary file renamed over the key (ufs_write_open,
 * ufs_write, ufs_write_close), which also carry multipart parts
 * (ufs_mpu_part: the same write, to a part file of the upload).
 *
 * Read: the first job opens the file, checks If-Match and the range and
 * reads the first chunk (UFS_DIR_CHUNK bytes); the loop hands it to data(),
 * then (GO) queues the next chunk, (PAUSE) waits for ufs_read_resume(), or
 * (ABORT) reports UFS_ECANCELED. The file stays open from the first chunk to
 * the last, so a concurrent replace (a rename over the key) never mixes two
 * versions; a file shrunk in place is reported as UFS_EPRECOND.
 * Ownership: the chunk buffer and the fd belong to the worker while a job is
 * queued and to the loop otherwise; a read has one job at a time.
 *
 * Write: ufs_write copies the bytes into chunks; full chunks go to a queue
 * the worker writes out (the first job creates the temporary file and the
 * missing parent directories). Past UFS_DIR_HOLD bytes not yet written,
 * ufs_write returns UFS_WRITE_FULL; the worker makes the loop call drain()
 * once no more than half of that remains. ufs_write_close queues the last
 * partial chunk; after it the worker checks the MD5 (when given), commits
 * (mtime, content-type xattr, fsync, rename) and done() gets the ETag.
 * Fields marked "under mu" are shared by the loop and the worker; the
 * others belong to one side as marked. A failure is reported at once, even
 * before the close; the handle is gone after done() ran. Cancelling removes
 * the temporary file (on a worker). */
#include "ufs/dir_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- read ----------------------------------------------------------------------------- */

struct dir_read {
    struct ufs_dir_req r;
    struct ufs_read_cbs cbs;
    void *arg;
    uint64_t off, len;
    char if_match[UFS_ETAG_MAX]; /* "" when none */
    int head_only;               /* len 0: the stat only, as a HEAD */
    /* the job's side (see the header) */
    int opened, fd;
    struct ufs_stat st;
    int have_st;
    uint64_t pos, end; /* next byte to read; end of the range */
    char *buf;
    size_t buf_cap, buf_len; /* buf_len: bytes waiting for data() */
    /* loop only */
    int paused;
};

/* dir_etag_eq: ETags equal, quotes or not; "*" matches any. */
static int dir_etag_eq(const char *want, const char *have)
{
    size_t wl = strlen(want), hl = strlen(have);

    if (strcmp(want, "*") == 0)
        return 1;
    if (wl >= 2 && want[0] == '"' && want[wl - 1] == '"') {
        want++;
        wl -= 2;
    }
    if (hl >= 2 && have[0] == '"' && have[hl - 1] == '"') {
        have++;
        hl -= 2;
    }
    return wl == hl && memcmp(want, have, wl) == 0;
}

/* dir_read_open: the first job's checks. 0 or a ufs error. */
static int dir_read_open(struct dir_read *rd)
{
    struct stat sb;

    rd->opened = 1;
    /* O_NONBLOCK: a FIFO at the key must not hold the worker (no effect on files) */
    rd->fd = open(rd->r.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (rd->fd < 0)
        return ufs_dir_errno(errno);
    if (fstat(rd->fd, &sb) != 0)
        return ufs_dir_errno(errno);
    if (!S_ISREG(sb.st_mode))
        return UFS_ENOENT; /* directories are not objects */
    ufs_dir_stat_fill(&sb, rd->fd, NULL, &rd->st);
    rd->have_st = 1;
    if (rd->if_match[0] && !dir_etag_eq(rd->if_match, rd->st.etag))
        return UFS_EPRECOND;
    if (rd->head_only)
        return 0;
    /* as S3: only a whole-object read of an empty object is satisfiable */
    if (rd->off >= rd->st.size && !(rd->off == 0 && rd->len == UFS_SIZE_UNKNOWN))
        return UFS_ERANGE;
    rd->pos = rd->off;
    rd->end = rd->st.size;
    if (rd->len != UFS_SIZE_UNKNOWN && rd->off + rd->len < rd->end)
        rd->end = rd->off + rd->len;
    if (rd->end > rd->pos) {
        rd->buf_cap =
            rd->end - rd->pos < UFS_DIR_CHUNK ? (size_t)(rd->end - rd->pos) : UFS_DIR_CHUNK;
        if (!(rd->buf = malloc(rd->buf_cap)))
            return UFS_ENOMEM;
    }
    return 0;
}

/* dir_read_chunk: reads the next chunk into buf. 0 or a ufs error. */
static int dir_read_chunk(struct dir_read *rd)
{
    size_t want = rd->end - rd->pos < rd->buf_cap ? (size_t)(rd->end - rd->pos) : rd->buf_cap;
    size_t got = 0;

    while (got < want) {
        ssize_t n = pread(rd->fd, rd->buf + got, want - got, (off_t)(rd->pos + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ufs_dir_errno(errno);
        if (n == 0)
            return UFS_EPRECOND; /* shrunk in place since the open: it changed */
        got += (size_t)n;
    }
    rd->buf_len = got;
    rd->pos += got;
    return 0;
}

static void dir_read_work(struct ufs_dir_req *r)
{
    struct dir_read *rd = (struct dir_read *)r;
    int rc = 0;

    r->want_fire = 1;
    if (!rd->opened)
        rc = dir_read_open(rd);
    if (!rc && rd->pos < rd->end)
        rc = dir_read_chunk(rd);
    if ((rc || rd->pos >= rd->end) && rd->fd >= 0) {
        close(rd->fd); /* nothing more to read: the loop need not reap it */
        rd->fd = -1;
    }
    r->err = rc;
}

static void dir_read_fire(struct ufs_dir_req *r)
{
    struct dir_read *rd = (struct dir_read *)r;
    size_t n = rd->buf_len;
    int v;

    if (r->err) {
        ufs_dir_req_finish(r, r->err);
        rd->cbs.done(rd->arg, r->err, rd->have_st ? &rd->st : NULL);
        return;
    }
    if (n) {
        rd->buf_len = 0;
        r->d->head.counters.bytes_in += n;
        v = rd->cbs.data(rd->arg, rd->buf, n);
        if (r->closed)
            return; /* cancelled from data() */
        if (v == UFS_READ_ABORT) {
            ufs_dir_req_finish(r, UFS_ECANCELED);
            rd->cbs.done(rd->arg, UFS_ECANCELED, &rd->st);
            return;
        }
        if (v == UFS_READ_PAUSE)
            rd->paused = 1;
    }
    if (rd->paused)
        return;
    if (rd->pos >= rd->end) {
        ufs_dir_req_finish(r, 0);
        rd->cbs.done(rd->arg, 0, &rd->st);
        return;
    }
    ufs_dir_req_kick(r);
}

static int dir_read_has_io(struct ufs_dir_req *r)
{
    return ((struct dir_read *)r)->fd >= 0;
}

static void dir_read_release(struct ufs_dir_req *r)
{
    struct dir_read *rd = (struct dir_read *)r;

    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->buf);
}

static const struct ufs_dir_kind dir_read_kind = {dir_read_work, NULL, dir_read_fire,
                                                  dir_read_has_io, dir_read_release};

struct ufs_req *ufs_dir_read(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                             const char *if_match, const struct ufs_read_cbs *cbs, void *arg)
{
    struct ufs_dir *d = (struct ufs_dir *)u;
    struct dir_read *rd;
    int rc;

    if (!cbs || !cbs->data || !cbs->done || !(rd = calloc(1, sizeof(*rd))))
        return NULL;
    rd->fd = -1;
    if (ufs_dir_req_init(d, &rd->r, &dir_read_kind, len == 0 ? UFS_K_HEAD : UFS_K_GET) != 0) {
        free(rd);
        return NULL;
    }
    rd->cbs = *cbs;
    rd->arg = arg;
    rd->off = off;
    rd->len = len;
    rd->head_only = len == 0;
    rc = ufs_dir_key_check(key);
    if (!rc && len != UFS_SIZE_UNKNOWN && off + len < off)
        rc = UFS_EINVAL;
    if (!rc && if_match) {
        size_t n = strnlen(if_match, UFS_ETAG_MAX);

        if (n == 0 || n >= UFS_ETAG_MAX)
            rc = UFS_EINVAL;
        else
            memcpy(rd->if_match, if_match, n + 1);
    }
    if (!rc && !(rd->r.path = ufs_dir_path(d, key)))
        rc = UFS_ENOMEM;
    if (rc)
        ufs_dir_req_fail_soon(&rd->r, rc);
    else
        ufs_dir_req_kick(&rd->r);
    return &rd->r.head;
}

void ufs_dir_read_resume(struct ufs_req *req)
{
    struct dir_read *rd = (struct dir_read *)req;

    if (rd->r.kind != &dir_read_kind || rd->r.closed || !rd->paused)
        return;
    rd->paused = 0;
    ufs_dir_req_soon(&rd->r); /* never deliver from inside this call */
}

/* ---- write ---------------------------------------------------------------------------- */

struct dir_chunk {
    struct dir_chunk *next;
    size_t len;
    char data[];
};

struct dir_write {
    struct ufs_dir_req r; /* r.err: a failure found on the loop */
    struct ufs_write_cbs cbs;
    void *arg;
    uint64_t size; /* declared, or UFS_SIZE_UNKNOWN */
    char ctype[UFS_DIR_CTYPE_MAX];
    char headers[UFS_HEADERS_MAX]; /* kept with the file (ufs_stat.headers) */
    int mkparents;
    char *key, *upload_id; /* a part: the upload it belongs to */
    int check_md5;
    unsigned char md5_want[16];
    EVP_MD_CTX *md5;
    /* worker only */
    int opened, fd;
    char *tmp; /* the temporary file while it exists */
    char etag[UFS_ETAG_MAX];
    /* loop only */
    uint64_t taken; /* bytes ufs_write took */
    struct dir_chunk *fill;
    int user_closed;
    /* under mu */
    struct dir_chunk *q_head, *q_tail; /* full chunks for the worker */
    uint64_t held;                     /* bytes taken and not yet written */
    int full, drain_due, closing, committed;
    int io_err; /* a failure on the worker */
};

static void dir_chunks_free(struct dir_chunk *c)
{
    while (c) {
        struct dir_chunk *next = c->next;

        free(c);
        c = next;
    }
}

/* dir_write_push: hands the chunk being filled to the worker; under mu. */
static void dir_write_push(struct dir_write *w)
{
    if (!w->fill)
        return;
    w->fill->next = NULL;
    if (w->q_tail)
        w->q_tail->next = w->fill;
    else
        w->q_head = w->fill;
    w->q_tail = w->fill;
    w->fill = NULL;
}

/* dir_write_fail_io: a worker failure, reported by fire(). */
static void dir_write_fail_io(struct dir_write *w, int err)
{
    struct ufs_dir *d = w->r.d;

    if (w->upload_id && err == UFS_ENOENT)
        err = UFS_ECONFLICT; /* the upload went away under the part */
    pthread_mutex_lock(&d->mu);
    if (!w->io_err)
        w->io_err = err;
    pthread_mutex_unlock(&d->mu);
    w->r.want_fire = 1;
}

/* dir_write_commit: every byte is written: check, make durable, rename. */
static void dir_write_commit(struct dir_write *w)
{
    struct ufs_dir *d = w->r.d;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc;

    if (w->check_md5 && (EVP_DigestFinal_ex(w->md5, md, &mdlen) != 1 || mdlen != 16 ||
                         memcmp(md, w->md5_want, 16) != 0)) {
        dir_write_fail_io(w, UFS_EINVAL); /* as S3's BadDigest */
        return;
    }
    rc = ufs_dir_commit(w->fd, w->tmp, w->r.path, w->ctype, w->headers, w->etag);
    if (rc) {
        dir_write_fail_io(w, rc);
        return;
    }
    close(w->fd);
    w->fd = -1;
    free(w->tmp);
    w->tmp = NULL;
    pthread_mutex_lock(&d->mu);
    w->committed = 1;
    pthread_mutex_unlock(&d->mu);
    w->r.want_fire = 1;
}

static void dir_write_work(struct ufs_dir_req *r)
{
    struct dir_write *w = (struct dir_write *)r;
    struct ufs_dir *d = r->d;
    struct dir_chunk *c;
    int rc, closing;

    if (!w->opened) {
        w->opened = 1;
        rc = w->upload_id ? ufs_dir_upload_check(d, w->upload_id, w->key, NULL) : 0;
        if (!rc)
            rc = ufs_dir_tmp_create(d, r->path, w->mkparents, &w->fd, &w->tmp);
        if (rc) {
            dir_write_fail_io(w, rc);
            return;
        }
    }
    for (;;) {
        pthread_mutex_lock(&d->mu);
        if (r->closed || w->io_err) {
            pthread_mutex_unlock(&d->mu);
            return;
        }
        c = w->q_head;
        if (c && !(w->q_head = c->next))
            w->q_tail = NULL;
        closing = w->closing;
        pthread_mutex_unlock(&d->mu);
        if (!c) {
            if (closing && !w->committed)
                dir_write_commit(w);
            return;
        }
        rc = ufs_dir_write_all(w->fd, c->data, c->len);
        if (!rc && w->check_md5 && EVP_DigestUpdate(w->md5, c->data, c->len) != 1)
            rc = UFS_ENOMEM;
        pthread_mutex_lock(&d->mu);
        w->held -= c->len;
        if (w->full && w->held <= UFS_DIR_HOLD / 2) {
            w->full = 0;
            w->drain_due = 1;
            r->want_fire = 1;
        }
        pthread_mutex_unlock(&d->mu);
        free(c);
        if (rc) {
            dir_write_fail_io(w, rc);
            return;
        }
    }
}

/* dir_write_again: more to do that the loop queued while work() ran. */
static int dir_write_again(struct ufs_dir_req *r)
{
    struct dir_write *w = (struct dir_write *)r;

    return !w->io_err && (w->q_head || (w->closing && !w->committed));
}

static void dir_write_fire(struct ufs_dir_req *r)
{
    struct dir_write *w = (struct dir_write *)r;
    struct ufs_dir *d = r->d;
    int err, drain, committed;

    pthread_mutex_lock(&d->mu);
    err = r->err ? r->err : w->io_err;
    drain = w->drain_due;
    w->drain_due = 0;
    committed = w->committed;
    pthread_mutex_unlock(&d->mu);
    if (err || committed) {
        ufs_dir_req_finish(r, err);
        w->cbs.done(w->arg, err, err ? NULL : w->etag);
        return;
    }
    if (drain && !w->user_closed && w->cbs.drain)
        w->cbs.drain(w->arg);
}

static int dir_write_has_io(struct ufs_dir_req *r)
{
    struct dir_write *w = (struct dir_write *)r;

    return w->fd >= 0 || w->tmp != NULL;
}

static void dir_write_release(struct ufs_dir_req *r)
{
    struct dir_write *w = (struct dir_write *)r;

    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp) {
        unlink(w->tmp);
        if (w->mkparents)
            ufs_dir_rmparents(r->d, w->tmp); /* those this write may have made */
    }
    free(w->tmp);
    dir_chunks_free(w->fill);
    dir_chunks_free(w->q_head);
    EVP_MD_CTX_free(w->md5);
    free(w->key);
    free(w->upload_id);
}

static const struct ufs_dir_kind dir_write_kind = {dir_write_work, dir_write_again, dir_write_fire,
                                                   dir_write_has_io, dir_write_release};

/* dir_md5_parse: a Content-MD5 value (base64 of 16 bytes) into OUT. */
static int dir_md5_parse(const char *b64, unsigned char out[16])
{
    unsigned char buf[18];

    if (strnlen(b64, 25) != 24 || b64[22] != '=' || b64[23] != '=' ||
        EVP_DecodeBlock(buf, (const unsigned char *)b64, 24) != 18)
        return UFS_EINVAL;
    memcpy(out, buf, 16);
    return 0;
}

/* dir_write_new: a write request (or NULL: no callbacks, out of memory),
 * already failing soon when the options are bad. */
static struct dir_write *dir_write_new(struct ufs_dir *d, enum ufs_kind k, uint64_t size,
                                       const struct ufs_put_opts *opts,
                                       const struct ufs_write_cbs *cbs, void *arg)
{
    struct dir_write *w;

    if (!cbs || !cbs->done || !(w = calloc(1, sizeof(*w))))
        return NULL;
    w->fd = -1;
    if (ufs_dir_req_init(d, &w->r, &dir_write_kind, k) != 0) {
        free(w);
        return NULL;
    }
    w->cbs = *cbs;
    w->arg = arg;
    w->size = size;
    if (opts && opts->content_type) {
        if (ufs_dir_ctype_check(opts->content_type) != 0)
            w->r.err = UFS_EINVAL;
        else
            strcpy(w->ctype, opts->content_type);
    }
    ufs_dir_headers_block(opts ? opts->headers : NULL, w->headers);
    if (!w->r.err && opts && opts->content_md5) {
        w->check_md5 = 1;
        if (dir_md5_parse(opts->content_md5, w->md5_want) != 0)
            w->r.err = UFS_EINVAL;
        else if (!(w->md5 = EVP_MD_CTX_new()) || EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1)
            w->r.err = UFS_ENOMEM;
    }
    return w;
}

/* dir_write_start: fails W soon if anything went wrong so far, else hands it
 * to a worker (which creates the temporary file at once). */
static struct ufs_req *dir_write_start(struct dir_write *w)
{
    if (w->r.err)
        ufs_dir_req_fail_soon(&w->r, w->r.err);
    else
        ufs_dir_req_kick(&w->r);
    return &w->r.head;
}

struct ufs_req *ufs_dir_write_open(struct ufs *u, const char *key, uint64_t size,
                                   const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                   void *arg)
{
    struct ufs_dir *d = (struct ufs_dir *)u;
    struct dir_write *w = dir_write_new(d, UFS_K_PUT, size, opts, cbs, arg);

    if (!w)
        return NULL;
    w->mkparents = 1;
    if (!w->r.err)
        w->r.err = ufs_dir_key_check(key);
    if (!w->r.err && !(w->r.path = ufs_dir_path(d, key)))
        w->r.err = UFS_ENOMEM;
    return dir_write_start(w);
}

struct ufs_req *ufs_dir_mpu_part(struct ufs *u, const char *key, const char *upload_id,
                                 unsigned part, uint64_t size, const struct ufs_write_cbs *cbs,
                                 void *arg)
{
    struct ufs_dir *d = (struct ufs_dir *)u;
    struct dir_write *w = dir_write_new(d, UFS_K_MPU, size, NULL, cbs, arg);
    int rc;

    if (!w)
        return NULL;
    rc = ufs_dir_key_check(key);
    if (!rc && (part < 1 || part > UFS_DIR_PARTS_MAX || size == UFS_SIZE_UNKNOWN))
        rc = UFS_EINVAL;
    if (!rc)
        rc = ufs_dir_upload_id_check(upload_id);
    if (!rc && (!(w->key = strdup(key)) || !(w->upload_id = strdup(upload_id)) ||
                !(w->r.path = ufs_dir_part_path(d, upload_id, part))))
        rc = UFS_ENOMEM;
    w->r.err = rc;
    return dir_write_start(w);
}

/* dir_write_usable: 0 when W may take more calls, else the error to return. */
static int dir_write_usable(struct dir_write *w)
{
    int err;

    if (w->r.kind != &dir_write_kind || w->r.closed)
        return UFS_EINVAL;
    if (w->r.err)
        return w->r.err;
    pthread_mutex_lock(&w->r.d->mu);
    err = w->io_err;
    pthread_mutex_unlock(&w->r.d->mu);
    if (err)
        return err;
    return w->user_closed ? UFS_EINVAL : 0;
}

int ufs_dir_write(struct ufs_req *req, const void *buf, size_t len)
{
    struct dir_write *w = (struct dir_write *)req;
    struct ufs_dir *d = w->r.d;
    const char *p = buf;
    size_t left = len;
    int rc = dir_write_usable(w), pushed = 0, full;

    if (rc)
        return rc;
    if (len && !buf)
        return UFS_EINVAL;
    if (w->size != UFS_SIZE_UNKNOWN && len > w->size - w->taken) {
        ufs_dir_req_fail_soon(&w->r, UFS_EINVAL); /* more than declared */
        return UFS_EINVAL;
    }
    while (left) {
        size_t n;

        if (!w->fill) {
            if (!(w->fill = malloc(sizeof(*w->fill) + UFS_DIR_CHUNK))) {
                ufs_dir_req_fail_soon(&w->r, UFS_ENOMEM);
                return UFS_ENOMEM;
            }
            w->fill->next = NULL;
            w->fill->len = 0;
        }
        n = UFS_DIR_CHUNK - w->fill->len < left ? UFS_DIR_CHUNK - w->fill->len : left;
        memcpy(w->fill->data + w->fill->len, p, n);
        w->fill->len += n;
        p += n;
        left -= n;
        w->taken += n;
        d->head.counters.bytes_out += n;
        pthread_mutex_lock(&d->mu);
        w->held += n;
        if (w->fill->len == UFS_DIR_CHUNK) {
            dir_write_push(w);
            pushed = 1;
        }
        pthread_mutex_unlock(&d->mu);
    }
    pthread_mutex_lock(&d->mu);
    full = w->held > UFS_DIR_HOLD;
    if (full)
        w->full = 1;
    pthread_mutex_unlock(&d->mu);
    if (pushed)
        ufs_dir_req_kick(&w->r);
    return full ? UFS_WRITE_FULL : UFS_WRITE_OK;
}

int ufs_dir_write_close(struct ufs_req *req)
{
    struct dir_write *w = (struct dir_write *)req;
    struct ufs_dir *d = w->r.d;
    int rc = dir_write_usable(w);

    if (rc)
        return rc;
    w->user_closed = 1;
    if (w->size != UFS_SIZE_UNKNOWN && w->taken != w->size) {
        ufs_dir_req_fail_soon(&w->r, UFS_EINVAL); /* fewer bytes than declared */
        return UFS_EINVAL;
    }
    pthread_mutex_lock(&d->mu);
    dir_write_push(w);
    w->closing = 1;
    pthread_mutex_unlock(&d->mu);
    ufs_dir_req_kick(&w->r);
    return 0;
}
