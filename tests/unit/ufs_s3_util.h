/* tests/unit/ufs_s3_util.h: what the tests of the S3 ufs backend share
 * (test_ufs_s3.c, the tests that need no server, and test_ufs_s3_live.c, the
 * tests against a real one): the event loop driven until a callback ran
 * (with a time limit, so a lost callback fails instead of hanging),
 * callback recorders, a reader with knobs to pause, abort or cancel, a
 * streaming writer that honours UFS_WRITE_FULL and drain(), and synchronous
 * wrappers of stat, read, write, delete and copy that check no callback ran
 * inside the call. Static inline, so each test uses what it needs. */
#ifndef SHOAL_TESTS_UFS_S3_UTIL_H
#define SHOAL_TESTS_UFS_S3_UTIL_H

#include "tests/unit/harness.h"
#include "ufs/ufs.h"

#include <event2/event.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)
#define WAIT_MS 60000

static struct event_base *base;
static char bucket[64]; /* the live tests' bucket; on_buckets() looks for it */

/* ---- loop helpers ----------------------------------------------------------- */

static int timed_out;

static inline void guard_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    timed_out = 1;
    event_base_loopbreak(base);
}

/* wait_for: runs the loop until *FLAG is set (callbacks break the loop) or
 * MS milliseconds passed. Returns *FLAG. */
static inline int wait_for(const int *flag, int ms)
{
    struct event *g = evtimer_new(base, guard_cb, NULL);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    timed_out = 0;
    evtimer_add(g, &tv);
    while (!*flag && !timed_out)
        if (event_base_loop(base, 0) != 0)
            break;
    event_free(g);
    return *flag;
}

/* run_for: runs the loop for MS milliseconds whatever happens. */
static inline void run_for(int ms)
{
    int never = 0;

    wait_for(&never, ms);
}

static inline double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- callback recorders ----------------------------------------------------- */

struct res {
    int called, err, has_st;
    struct ufs_stat st;
    char etag[UFS_ETAG_MAX];
    char *text; /* upload id */
    size_t n;   /* entries or buckets */
    int found;  /* ufs_list_buckets: the test bucket was listed */
};

static inline void on_stat(void *arg, int err, const struct ufs_stat *st)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    if (st) {
        r->st = *st;
        r->has_st = 1;
    }
    event_base_loopbreak(base);
}

static inline void on_done(void *arg, int err)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    event_base_loopbreak(base);
}

static inline void on_buckets(void *arg, int err, const struct ufs_bucket *b, size_t n)
{
    struct res *r = arg;
    size_t i;

    r->called++;
    r->err = err;
    r->n = n;
    for (i = 0; i < n; i++)
        if (strcmp(b[i].name, bucket) == 0 && b[i].created > 0)
            r->found = 1;
    event_base_loopbreak(base);
}

/* a read into memory, with knobs to pause, abort or cancel from data() */
struct reader {
    struct ufs_req *req;
    unsigned char *buf;
    size_t len, cap;
    int done, err, has_st, chunks;
    struct ufs_stat st;
    int pause_every, paused, pauses, data_while_paused, done_while_paused;
    int abort_at, cancel_at, canceled;
    struct event *resume_ev;
    int (*on_first)(struct reader *rd); /* runs at the first chunk: GO or PAUSE */
};

static inline void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reader *rd = arg;

    (void)fd;
    (void)what;
    rd->paused = 0;
    ufs_read_resume(rd->req);
}

static inline int rd_data(void *arg, const void *p, size_t n)
{
    struct reader *rd = arg;

    if (rd->paused)
        rd->data_while_paused++;
    if (rd->len + n > rd->cap) {
        rd->cap = (rd->len + n) * 2;
        rd->buf = realloc(rd->buf, rd->cap);
    }
    memcpy(rd->buf + rd->len, p, n);
    rd->len += n;
    rd->chunks++;
    if (rd->chunks == 1 && rd->on_first)
        return rd->on_first(rd); /* a PAUSE is resumed by whoever set the hook */
    if (rd->abort_at && rd->chunks == rd->abort_at)
        return UFS_READ_ABORT;
    if (rd->cancel_at && rd->chunks == rd->cancel_at) {
        ufs_cancel(rd->req);
        rd->canceled = 1;
        event_base_loopbreak(base);
        return UFS_READ_GO;
    }
    if (rd->pause_every && rd->chunks % rd->pause_every == 0) {
        struct timeval tv = {0, 1000};

        rd->paused = 1;
        rd->pauses++;
        if (!rd->resume_ev)
            rd->resume_ev = evtimer_new(base, resume_cb, rd);
        evtimer_add(rd->resume_ev, &tv);
        return UFS_READ_PAUSE;
    }
    return UFS_READ_GO;
}

static inline void rd_done(void *arg, int err, const struct ufs_stat *st)
{
    struct reader *rd = arg;

    if (rd->paused)
        rd->done_while_paused++;
    rd->done++;
    rd->err = err;
    if (st) {
        rd->st = *st;
        rd->has_st = 1;
    }
    event_base_loopbreak(base);
}

static inline void reader_free(struct reader *rd)
{
    free(rd->buf);
    if (rd->resume_ev)
        event_free(rd->resume_ev);
}

static const struct ufs_read_cbs rd_cbs = {rd_data, rd_done};

/* a streaming writer honouring UFS_WRITE_FULL and drain() */
struct writer {
    struct ufs_req *w;
    const unsigned char *data;
    size_t len, pos, chunk;
    int fulls, drains, done, err, write_err, closed, close_rc;
    char etag[UFS_ETAG_MAX];
};

static inline void wr_pump(struct writer *wr)
{
    while (wr->pos < wr->len) {
        size_t n = wr->len - wr->pos < wr->chunk ? wr->len - wr->pos : wr->chunk;
        int rc = ufs_write(wr->w, wr->data + wr->pos, n);

        if (rc < 0) {
            wr->write_err = rc;
            return;
        }
        wr->pos += n;
        if (rc == UFS_WRITE_FULL) {
            wr->fulls++;
            return;
        }
    }
    if (!wr->closed) {
        wr->closed = 1;
        wr->close_rc = ufs_write_close(wr->w);
    }
}

static inline void wr_drain(void *arg)
{
    struct writer *wr = arg;

    wr->drains++;
    wr_pump(wr);
}

static inline void wr_done(void *arg, int err, const char *etag)
{
    struct writer *wr = arg;

    wr->done++;
    wr->err = err;
    wr->w = NULL;
    snprintf(wr->etag, sizeof(wr->etag), "%s", etag ? etag : "");
    event_base_loopbreak(base);
}

static const struct ufs_write_cbs wr_cbs = {wr_drain, wr_done};

/* ---- synchronous wrappers (each checks that no callback ran inside the call) -- */

static inline int put_obj(struct ufs *u, const char *key, const void *data, size_t len,
                          uint64_t size, const struct ufs_put_opts *o, char etag[UFS_ETAG_MAX],
                          struct writer *out)
{
    struct writer wr;

    memset(&wr, 0, sizeof(wr));
    wr.data = data;
    wr.len = len;
    wr.chunk = MIB;
    wr.w = ufs_write_open(u, key, size, o, &wr_cbs, &wr);
    if (!wr.w)
        return -100;
    wr_pump(&wr);
    if (wr.done)
        return -101; /* must not be synchronous */
    if (!wait_for(&wr.done, WAIT_MS))
        return -102;
    if (etag)
        memcpy(etag, wr.etag, UFS_ETAG_MAX);
    if (out)
        *out = wr;
    return wr.err;
}

static inline int get_obj(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                          const char *im, struct reader *rd)
{
    rd->req = ufs_read(u, key, off, len, im, &rd_cbs, rd);
    if (!rd->req)
        return -100;
    if (rd->done)
        return -101;
    if (!wait_for(&rd->done, WAIT_MS))
        return -102;
    return rd->err;
}

static inline int stat_obj(struct ufs *u, const char *key, struct res *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_stat(u, key, on_stat, r))
        return -100;
    if (r->called)
        return -101;
    if (!wait_for(&r->called, WAIT_MS))
        return -102;
    return r->err;
}

static inline int del_obj(struct ufs *u, const char *key)
{
    struct res r;

    memset(&r, 0, sizeof(r));
    if (!ufs_delete(u, key, on_done, &r))
        return -100;
    if (r.called)
        return -101;
    if (!wait_for(&r.called, WAIT_MS))
        return -102;
    return r.err;
}

/* a copy's result */
struct cres {
    int called, err;
    char etag[UFS_ETAG_MAX];
    int64_t mtime;
};

static inline void on_copy(void *arg, int err, const char *etag, int64_t mtime)
{
    struct cres *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
    r->mtime = mtime;
    if (!err != (etag != NULL))
        r->err = 999; /* an ETag exactly on success */
    event_base_loopbreak(base);
}

static inline int copy_obj(struct ufs *u, const char *dst, const struct ufs *from, const char *src,
                           const struct ufs_copy_opts *o, struct cres *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_copy(u, dst, from, src, o, on_copy, r))
        return -100;
    if (r->called)
        return -101;
    if (!wait_for(&r->called, WAIT_MS))
        return -102;
    return r->err;
}

#endif
