/* tests/unit/ufs_dir_util.h: what the tests of the local-directory ufs
 * backend share (test_ufs_dir.c, test_ufs_dir_tree.c): a fresh mkdtemp root
 * per test, file helpers working beside the backend, a real event_base
 * driven until a callback ran (with a time limit, so a lost callback fails
 * instead of hanging), callback recorders, synchronous wrappers, and an
 * open(2)/fsync(2) interposer that holds both worker threads for as long as
 * a test needs (deterministic backpressure and cancels) or injects errors. */
#ifndef SHOAL_TESTS_UFS_DIR_UTIL_H
#define SHOAL_TESTS_UFS_DIR_UTIL_H

#include "tests/unit/harness.h"
#include "ufs/ufs.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define UTIL_WAIT_S 20 /* the longest a test waits for one callback */

static struct event_base *base;
static struct ufs *u;
static char root[64];

/* ---- the root directory and files in it ----------------------------------------------- */

static inline void fresh_root(void)
{
    snprintf(root, sizeof(root), "/tmp/shoal-ufsdir.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline int util_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    remove(p);
    return 0;
}

static inline void rm_root(void)
{
    nftw(root, util_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void open_fresh(void)
{
    fresh_root();
    if (ufs_dir_open(base, root, &u) != 0) {
        fprintf(stderr, "ufs_dir_open %s failed\n", root);
        exit(2);
    }
}

static inline void close_u(void)
{
    ufs_close(u);
    u = NULL;
}

static inline void close_rm(void)
{
    close_u();
    rm_root();
}

static inline void rel_path(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", root, rel);
}

static inline void mkdir_rel(const char *rel)
{
    char p[PATH_MAX];

    rel_path(rel, p, sizeof(p));
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

/* put_file: writes REL directly (parents made), as another program would. */
static inline void put_file(const char *rel, const void *data, size_t len)
{
    char p[PATH_MAX], *slash;
    FILE *f;

    rel_path(rel, p, sizeof(p));
    slash = strrchr(p, '/');
    *slash = '\0';
    if (strlen(p) > strlen(root))
        mkdir_rel(p + strlen(root) + 1);
    *slash = '/';
    f = fopen(p, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "put_file %s failed\n", p);
        exit(2);
    }
}

/* get_file: REL's bytes (malloc'd) and length, or NULL. */
static inline char *get_file(const char *rel, size_t *len)
{
    char p[PATH_MAX], *buf = NULL;
    struct stat sb;
    FILE *f;

    rel_path(rel, p, sizeof(p));
    if (stat(p, &sb) != 0 || !(f = fopen(p, "rb")))
        return NULL;
    buf = malloc((size_t)sb.st_size + 1);
    *len = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    return buf;
}

static inline int file_exists(const char *rel)
{
    char p[PATH_MAX];
    struct stat sb;

    rel_path(rel, p, sizeof(p));
    return lstat(p, &sb) == 0;
}

static inline int root_exists(void)
{
    struct stat sb;

    return stat(root, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int util_ntmp;

static inline int util_tmp_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    if (strncmp(p + f->base, ".shoal-tmp-", 11) == 0)
        util_ntmp++;
    return 0;
}

/* count_tmp: temporary files anywhere under the root. */
static inline int count_tmp(void)
{
    util_ntmp = 0;
    nftw(root, util_tmp_cb, 16, FTW_PHYS);
    return util_ntmp;
}

/* xattrs_work: whether the root's file system keeps user xattrs. */
static inline int xattrs_work(void)
{
    char p[PATH_MAX];
    int ok;

    rel_path(".probe", p, sizeof(p));
    put_file(".probe", "", 0);
    ok = setxattr(p, "user.probe", "1", 1, 0) == 0;
    unlink(p);
    return ok;
}

/* pattern: N bytes that depend on SEED and position (malloc'd). */
static inline char *pattern(size_t n, unsigned seed)
{
    char *p = malloc(n ? n : 1);

    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 2654435761u >> 13) ^ (seed * 40503u) ^ (i >> 17));
    return p;
}

/* ---- the loop ------------------------------------------------------------------------- */

static inline void util_flag_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(int *)arg = 1;
}

/* run_until: runs the loop until *FLAG is set (or UTIL_WAIT_S passed). */
static inline int run_until(const int *flag)
{
    struct timeval tv = {UTIL_WAIT_S, 0};
    int timed_out = 0;
    struct event *t = evtimer_new(base, util_flag_cb, &timed_out);

    evtimer_add(t, &tv);
    while (!*flag && !timed_out)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    if (!*flag)
        fprintf(stderr, "run_until: timed out\n");
    return *flag;
}

/* spin_us: runs the loop for US microseconds. */
static inline void spin_us(long us)
{
    struct timeval tv = {us / 1000000, us % 1000000};
    int done = 0;
    struct event *t = evtimer_new(base, util_flag_cb, &done);

    evtimer_add(t, &tv);
    while (!done)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
}

static inline void spin_ms(long ms)
{
    spin_us(ms * 1000);
}

/* ---- callback recorders --------------------------------------------------------------- */

struct res {
    int called, err, drained, n;
    struct ufs_stat st;
    char etag[UFS_ETAG_MAX];
    char id[128];
    struct ufs_req *cancel_in_drain;
};

/* run_until_drain: runs the loop until R->drained moves past BEFORE or R's
 * request ends (or UTIL_WAIT_S passed). The guard timer also keeps the loop
 * blocking in the kernel: with no event added, event_base_loop() returns at
 * once, and that spin starves the worker threads under valgrind. */
static inline int run_until_drain(const struct res *r, int before)
{
    struct timeval tv = {UTIL_WAIT_S, 0};
    int timed_out = 0;
    struct event *t = evtimer_new(base, util_flag_cb, &timed_out);

    evtimer_add(t, &tv);
    while (r->drained == before && !r->called && !timed_out)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    if (timed_out)
        fprintf(stderr, "run_until_drain: timed out\n");
    return !timed_out;
}

static inline void on_stat(void *arg, int err, const struct ufs_stat *st)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    if (st)
        r->st = *st;
    if (!err != (st != NULL))
        r->err = 999; /* a stat exactly on success */
}

static inline void on_done(void *arg, int err)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
}

static inline void on_wdone(void *arg, int err, const char *etag)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
    if (!err != (etag != NULL))
        r->err = 999;
}

static inline void on_drain(void *arg)
{
    struct res *r = arg;

    r->drained++;
    if (r->cancel_in_drain) {
        ufs_cancel(r->cancel_in_drain);
        r->cancel_in_drain = NULL;
    }
}

static inline void on_create(void *arg, int err, const char *id)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
    if (!err != (id != NULL))
        r->err = 999;
}

/* A read's recorder, with what its data() should do. */
struct rd {
    struct ufs_req *req;
    char *buf;
    size_t len, cap, max_chunk;
    int nchunks, done, err, have_st, paused, after_done;
    struct ufs_stat st;
    int pause_every; /* return PAUSE after each chunk */
    int abort_at;    /* return ABORT at this chunk (1-based) */
    int cancel_at;   /* ufs_cancel from inside data() at this chunk */
};

static inline int rd_data(void *arg, const void *buf, size_t len)
{
    struct rd *r = arg;

    if (r->done)
        r->after_done++;
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->buf = realloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    r->nchunks++;
    if (len > r->max_chunk)
        r->max_chunk = len;
    if (r->cancel_at == r->nchunks) {
        ufs_cancel(r->req);
        return UFS_READ_GO;
    }
    if (r->abort_at == r->nchunks)
        return UFS_READ_ABORT;
    if (r->pause_every) {
        r->paused = 1;
        return UFS_READ_PAUSE;
    }
    return UFS_READ_GO;
}

static inline void rd_done(void *arg, int err, const struct ufs_stat *st)
{
    struct rd *r = arg;

    r->done++;
    r->err = err;
    if (st) {
        r->st = *st;
        r->have_st = 1;
    }
}

static inline void rd_free(struct rd *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

static const struct ufs_read_cbs util_rd_cbs = {rd_data, rd_done};

/* start_read: a read recorded into R (its settings kept); R->req is set. */
static inline struct ufs_req *start_read(const char *key, uint64_t off, uint64_t len,
                                         const char *if_match, struct rd *r)
{
    r->req = ufs_read(u, key, off, len, if_match, &util_rd_cbs, r);
    if (r->req && (r->done || r->nchunks))
        r->err = 998; /* a callback ran inside ufs_read */
    return r->req;
}

/* do_read: a whole read into a zeroed R; returns its error. */
static inline int do_read(const char *key, uint64_t off, uint64_t len, const char *if_match,
                          struct rd *r)
{
    memset(r, 0, sizeof(*r));
    if (!start_read(key, off, len, if_match, r))
        return -1000;
    run_until(&r->done);
    if (r->done != 1 || r->after_done)
        return -1001;
    return r->err;
}

static inline int do_stat(const char *key, struct res *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_stat(u, key, on_stat, r) || r->called)
        return -1000;
    run_until(&r->called);
    return r->err;
}

static inline int do_delete(const char *key)
{
    struct res r = {0};

    if (!ufs_delete(u, key, on_done, &r) || r.called)
        return -1000;
    run_until(&r.called);
    return r.err;
}

/* util_put: writes DATA as KEY through the backend, declaring SIZE,
 * waiting for drain() after UFS_WRITE_FULL; the result and the ETag. */
static inline int util_put(const char *key, const void *data, size_t len, uint64_t size,
                           const struct ufs_put_opts *opts, char etag[UFS_ETAG_MAX])
{
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res r = {0};
    struct ufs_req *w = ufs_write_open(u, key, size, opts, &cbs, &r);
    size_t off = 0, step = 1u << 20;
    int rc = 0;

    if (!w)
        return -1000;
    while (off < len && !r.called) {
        size_t n = len - off < step ? len - off : step;

        rc = ufs_write(w, (const char *)data + off, n);
        if (rc < 0)
            break;
        off += n;
        if (rc == UFS_WRITE_FULL) {
            if (!run_until_drain(&r, r.drained))
                break;
        }
    }
    if (rc >= 0 && !r.called)
        rc = ufs_write_close(w);
    run_until(&r.called);
    if (r.called != 1)
        return -1001;
    if (etag)
        snprintf(etag, UFS_ETAG_MAX, "%s", r.etag);
    return r.err;
}

static inline int put(const char *key, const void *data, size_t len,
                      const struct ufs_put_opts *opts, char etag[UFS_ETAG_MAX])
{
    return util_put(key, data, len, len, opts, etag);
}

static inline int put_unknown(const char *key, const void *data, size_t len)
{
    return util_put(key, data, len, UFS_SIZE_UNKNOWN, NULL, NULL);
}

/* ---- holding the workers, injecting faults -------------------------------------------- */

/* The test binary defines open(2) and fsync(2): calls from the backend (linked
 * into this executable) come here first. By default they pass straight to
 * the kernel. A path containing "/hold-" waits while holding is on (so a
 * read of key "hold-N" keeps a worker busy for as long as a test needs); a
 * path containing util_fail_path fails with util_fail_errno; fsync fails
 * with util_fail_fsync when that is set. */
static pthread_mutex_t util_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t util_cv = PTHREAD_COND_INITIALIZER;
static int util_holding, util_nheld;
static const char *util_fail_path;
static int util_fail_errno, util_fail_fsync;

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;

        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    pthread_mutex_lock(&util_mu);
    if (util_holding && strstr(path, "/hold-")) {
        util_nheld++;
        pthread_cond_broadcast(&util_cv);
        while (util_holding)
            pthread_cond_wait(&util_cv, &util_mu);
        util_nheld--;
    }
    if (util_fail_path && strstr(path, util_fail_path)) {
        pthread_mutex_unlock(&util_mu);
        errno = util_fail_errno;
        return -1;
    }
    pthread_mutex_unlock(&util_mu);
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int fsync(int fd)
{
    if (util_fail_fsync) {
        errno = util_fail_fsync;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

/* fail_open: opens of paths containing PART fail with E (PART NULL: none). */
static inline void fail_open(const char *part, int e)
{
    pthread_mutex_lock(&util_mu);
    util_fail_path = part;
    util_fail_errno = e;
    pthread_mutex_unlock(&util_mu);
}

static struct rd util_hold[2];

/* hold_workers: two reads that wait in open(2) until release_workers();
 * everything queued after them waits. Returns once both workers wait. */
static inline void hold_workers(void)
{
    struct timespec until;

    pthread_mutex_lock(&util_mu);
    util_holding = 1;
    pthread_mutex_unlock(&util_mu);
    for (int i = 0; i < 2; i++) {
        char name[] = "hold-0";

        name[5] = (char)('0' + i);
        memset(&util_hold[i], 0, sizeof(util_hold[i]));
        start_read(name, 0, UFS_SIZE_UNKNOWN, NULL, &util_hold[i]);
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += UTIL_WAIT_S;
    pthread_mutex_lock(&util_mu);
    while (util_nheld < 2 && pthread_cond_timedwait(&util_cv, &util_mu, &until) == 0)
        ;
    if (util_nheld < 2) {
        fprintf(stderr, "hold_workers: the workers never reached open\n");
        exit(2);
    }
    pthread_mutex_unlock(&util_mu);
}

/* release_workers: lets the held opens go on and waits for both reads (no
 * such key), except those the test cancelled (and marked so by setting req
 * to NULL). */
static inline int release_workers(void)
{
    int ok = 1;

    pthread_mutex_lock(&util_mu);
    util_holding = 0;
    pthread_cond_broadcast(&util_cv);
    pthread_mutex_unlock(&util_mu);
    for (int i = 0; i < 2; i++) {
        if (util_hold[i].req)
            run_until(&util_hold[i].done);
        ok = ok && util_hold[i].done == !!util_hold[i].req &&
             (!util_hold[i].req || util_hold[i].err == UFS_ENOENT);
        rd_free(&util_hold[i]);
    }
    return ok;
}

#endif
