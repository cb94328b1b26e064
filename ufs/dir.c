/* ufs/dir.c: the local-directory backend ("file:///abs/dir" mounts): opening
 * and closing, the worker threads and their job queue, the life of a request
 * (see the states in ufs/dir_int.h), key checks, ETags and the file helpers
 * the other dir_*.c files share, and the small operations: stat, delete and
 * the bucket calls (UFS_ENOTSUP).
 *
 * Layout under the root:
 *   a/b/c                       the object "a/b/c"
 *   a/b/.shoal-tmp-<hex>        a write in progress, renamed over a/b/<name>
 *   .shoal-uploads/<id>/        a multipart upload (see dir_mpu.c)
 * Names starting with ".shoal-" are reserved: no key may have such a
 * component and listings skip them.
 *
 * ETag: "<16 hex digits>", a 64-bit hash of (st_ino, st_size, st_mtim in
 * ns): stable while the file is unchanged, new after any rewrite
 * through this backend (commits set the mtime to the current time in ns, so
 * even an immediate same-size rewrite reusing the inode gets a new ETag),
 * and the same on every node that mounts the same file system: not st_dev,
 * which each NFS client numbers its own way, while the inode number and
 * mtime are the server's.
 * Deliberately not 32 digits, so that clients never mistake it for an MD5.
 * Content-Type: kept in the user.shoal.content_type xattr when written with
 * one (silently not kept where the file system has no user xattrs). */
#include "ufs/dir_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define DIR_TMP_TRIES 16 /* temp names tried, and parent re-creations after a racing delete */

/* ---- requests ------------------------------------------------------------------------- */

/* dir_req_free: the end of R: no reference is left; any thread. */
static void dir_req_free(struct ufs_dir_req *r)
{
    if (r->kind->release)
        r->kind->release(r);
    free(r->path);
    free(r);
}

/* dir_queue_push: appends R to D's job queue and wakes a worker; under d->mu. */
static void dir_queue_push(struct ufs_dir *d, struct ufs_dir_req *r)
{
    r->q_next = NULL;
    if (d->q_tail)
        d->q_tail->q_next = r;
    else
        d->q_head = r;
    d->q_tail = r;
    pthread_cond_signal(&d->cv);
}

/* dir_req_unref: drops one reference; the last one frees R, on a worker when
 * R still holds files (a reap job) unless the caller is a worker already. */
static void dir_req_unref(struct ufs_dir_req *r, int on_worker)
{
    struct ufs_dir *d = r->d;
    int last;

    pthread_mutex_lock(&d->mu);
    last = --r->refs == 0;
    pthread_mutex_unlock(&d->mu);
    if (!last)
        return;
    if (on_worker || !r->kind->has_io || !r->kind->has_io(r)) {
        dir_req_free(r);
        return;
    }
    pthread_mutex_lock(&d->mu);
    r->reaping = 1;
    dir_queue_push(d, r);
    pthread_mutex_unlock(&d->mu);
}

/* dir_req_fire: R's event callback, on the loop thread. The fire ref keeps R
 * alive while user callbacks run, even if they cancel it. */
static void dir_req_fire(evutil_socket_t fd, short what, void *arg)
{
    struct ufs_dir_req *r = arg;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&r->d->mu);
    r->refs++;
    pthread_mutex_unlock(&r->d->mu);
    r->kind->fire(r);
    dir_req_unref(r, 0);
}

/* dir_req_close: no callback from now on: marks R closed (workers then leave
 * its event alone), frees the event and forgets R as live. Loop thread. */
static void dir_req_close(struct ufs_dir_req *r)
{
    struct ufs_dir *d = r->d;

    pthread_mutex_lock(&d->mu);
    r->closed = 1;
    pthread_mutex_unlock(&d->mu);
    event_free(r->ev); /* safe inside its own callback: libevent no longer uses it */
    r->ev = NULL;
    if (r->l_prev)
        r->l_prev->l_next = r->l_next;
    else
        d->live = r->l_next;
    if (r->l_next)
        r->l_next->l_prev = r->l_prev;
    r->l_prev = r->l_next = NULL;
}

int ufs_dir_req_init(struct ufs_dir *d, struct ufs_dir_req *r, const struct ufs_dir_kind *kind,
                     enum ufs_kind k)
{
    r->ev = event_new(d->head.base, -1, 0, dir_req_fire, r);
    if (!r->ev)
        return UFS_ENOMEM;
    r->head.u = &d->head;
    r->d = d;
    r->kind = kind;
    r->refs = 1;
    r->l_next = d->live;
    if (d->live)
        d->live->l_prev = r;
    d->live = r;
    d->head.counters.requests[k]++;
    return 0;
}

void ufs_dir_req_kick(struct ufs_dir_req *r)
{
    struct ufs_dir *d = r->d;

    pthread_mutex_lock(&d->mu);
    if (!r->queued && !r->closed) {
        r->queued = 1;
        r->refs++;
        dir_queue_push(d, r);
    }
    pthread_mutex_unlock(&d->mu);
}

void ufs_dir_req_soon(struct ufs_dir_req *r)
{
    if (!r->closed)
        event_active(r->ev, EV_TIMEOUT, 1);
}

void ufs_dir_req_fail_soon(struct ufs_dir_req *r, int err)
{
    r->err = err;
    ufs_dir_req_soon(r);
}

void ufs_dir_req_finish(struct ufs_dir_req *r, int err)
{
    if (err && err != UFS_ECANCELED)
        r->d->head.counters.errors++;
    dir_req_close(r);
    dir_req_unref(r, 0); /* the owner's; fire's keeps R until fire() returns */
}

/* dir_cancel: ufs_cancel(): no callback after this. A worker busy with R
 * finds it closed and drops the last reference itself. */
static void dir_cancel(struct ufs_req *req)
{
    struct ufs_dir_req *r = (struct ufs_dir_req *)req;

    if (r->closed)
        return;
    dir_req_close(r);
    dir_req_unref(r, 0);
}

/* ---- workers -------------------------------------------------------------------------- */

/* dir_worker_main: runs queued work until the ufs closes and the queue is
 * empty. A request whose work asks to go on (kind->again) is queued again at
 * the tail, so one long writer does not starve the others. */
static void *dir_worker_main(void *arg)
{
    struct ufs_dir *d = arg;
    struct ufs_dir_req *r;
    int closed, last;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->q_head && !d->stopping)
            pthread_cond_wait(&d->cv, &d->mu);
        r = d->q_head;
        if (!r)
            break;
        d->q_head = r->q_next;
        if (!d->q_head)
            d->q_tail = NULL;
        if (r->reaping) {
            pthread_mutex_unlock(&d->mu);
            dir_req_free(r);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        closed = r->closed;
        pthread_mutex_unlock(&d->mu);
        r->want_fire = 0;
        if (!closed)
            r->kind->work(r);
        pthread_mutex_lock(&d->mu);
        if (!r->closed && r->want_fire)
            event_active(r->ev, EV_TIMEOUT, 1);
        if (!r->closed && r->kind->again && r->kind->again(r)) {
            dir_queue_push(d, r); /* still queued, still holding the worker ref */
            continue;
        }
        r->queued = 0;
        last = --r->refs == 0;
        if (last) {
            pthread_mutex_unlock(&d->mu);
            dir_req_free(r);
            pthread_mutex_lock(&d->mu);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* dir_workers_stop: lets the workers finish the queue, then joins them. */
static void dir_workers_stop(struct ufs_dir *d)
{
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    for (unsigned i = 0; i < d->n_workers; i++)
        pthread_join(d->workers[i], NULL);
    d->n_workers = 0;
}

/* dir_workers_start: 0, or UFS_ENOMEM when a thread could not be created
 * (those started are stopped again). Workers block every signal: signals
 * belong to the loops. */
static int dir_workers_start(struct ufs_dir *d)
{
    sigset_t all, old;
    int rc = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < UFS_DIR_WORKERS && !rc; i++) {
        rc = pthread_create(&d->workers[i], NULL, dir_worker_main, d);
        if (!rc)
            d->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        dir_workers_stop(d);
        return UFS_ENOMEM;
    }
    return 0;
}

/* ---- helpers shared by the dir files -------------------------------------------------- */

int ufs_dir_key_check(const char *key)
{
    size_t n, rl = strlen(UFS_DIR_RESERVED), seg;
    const char *s, *slash;

    if (!key)
        return UFS_EINVAL;
    n = strnlen(key, UFS_KEY_MAX + 1);
    if (n == 0 || n > UFS_KEY_MAX)
        return UFS_EINVAL;
    for (s = key;; s = slash + 1) {
        slash = strchr(s, '/');
        seg = slash ? (size_t)(slash - s) : strlen(s);
        if (seg == 0 || seg > NAME_MAX) /* leading '/', "//", trailing '/' */
            return UFS_EINVAL;
        if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.'))
            return UFS_EINVAL;
        if (seg >= rl && memcmp(s, UFS_DIR_RESERVED, rl) == 0)
            return UFS_EINVAL;
        if (!slash)
            return 0;
    }
}

char *ufs_dir_path(const struct ufs_dir *d, const char *key)
{
    size_t kl = strlen(key);
    char *p = malloc(d->root_len + kl + 2);

    if (!p)
        return NULL;
    memcpy(p, d->root, d->root_len);
    p[d->root_len] = '/';
    memcpy(p + d->root_len + 1, key, kl + 1);
    return p;
}

int ufs_dir_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return UFS_ENOENT;
    case EACCES:
    case EPERM:
    case EROFS:
        return UFS_EACCES;
    case ENOMEM:
        return UFS_ENOMEM;
    case ENAMETOOLONG:
        return UFS_EINVAL;
    default:
        return UFS_EIO;
    }
}

static uint64_t dir_mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void ufs_dir_etag(const struct stat *sb, char out[UFS_ETAG_MAX])
{
    uint64_t ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec;
    uint64_t h = dir_mix((uint64_t)sb->st_ino);

    h = dir_mix(h ^ (uint64_t)sb->st_size);
    h = dir_mix(h ^ ns);
    snprintf(out, UFS_ETAG_MAX, "\"%016" PRIx64 "\"", h);
}

void ufs_dir_stat_fill(const struct stat *sb, int fd, const char *path, struct ufs_stat *st)
{
    ssize_t n = -1;

    memset(st, 0, sizeof(*st));
    st->size = (uint64_t)sb->st_size;
    st->mtime = (int64_t)sb->st_mtim.tv_sec;
    ufs_dir_etag(sb, st->etag);
    if (fd >= 0)
        n = fgetxattr(fd, UFS_DIR_XATTR_CTYPE, st->content_type, sizeof(st->content_type) - 1);
    else if (path)
        n = getxattr(path, UFS_DIR_XATTR_CTYPE, st->content_type, sizeof(st->content_type) - 1);
    /* no xattr, no xattr support, or one too long for us: no content type */
    st->content_type[n > 0 ? (size_t)n : 0] = '\0';
    if (n > 0 && ufs_dir_ctype_check(st->content_type) != 0)
        st->content_type[0] = '\0';
}

void ufs_dir_headers_block(const char *const *hdrs, char *out)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; hdrs && hdrs[i]; i++) {
        const char *colon = strchr(hdrs[i], ':'), *v;
        if (!colon || !ufs_kept_header(hdrs[i], (size_t)(colon - hdrs[i])))
            continue;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        ufs_headers_add(out, &len, hdrs[i], (size_t)(colon - hdrs[i]), v, strlen(v));
    }
}

void ufs_dir_headers_read(int fd, const char *path, char *out)
{
    char raw[UFS_HEADERS_MAX];
    ssize_t n = fd >= 0 ? fgetxattr(fd, UFS_DIR_XATTR_HEADERS, raw, sizeof(raw) - 1)
                        : getxattr(path, UFS_DIR_XATTR_HEADERS, raw, sizeof(raw) - 1);
    size_t len = 0;
    out[0] = '\0';
    if (n <= 0)
        return; /* none, no xattr support, or one too long for us */
    raw[n] = '\0';
    /* written by us, but on a disk anyone may edit: taken line by line */
    for (char *p = raw, *eol; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2) {
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon[1] != ' ' || !ufs_kept_header(p, (size_t)(colon - p)) ||
            ufs_headers_add(out, &len, p, (size_t)(colon - p), colon + 2,
                            (size_t)(eol - colon - 2)) != 0) {
            out[0] = '\0';
            return;
        }
    }
}

int ufs_dir_ctype_check(const char *ctype)
{
    size_t n;

    if (!ctype)
        return 0;
    n = strnlen(ctype, UFS_DIR_CTYPE_MAX);
    if (n >= UFS_DIR_CTYPE_MAX)
        return UFS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ctype[i] < 0x20 || ctype[i] == 0x7f)
            return UFS_EINVAL;
    return 0;
}

int ufs_dir_mkparents(const struct ufs_dir *d, const char *path)
{
    char buf[UFS_DIR_PATH_MAX];
    size_t n = strlen(path);
    const char *last = strrchr(path, '/');

    if (n >= sizeof(buf) || !last)
        return UFS_EINVAL;
    memcpy(buf, path, n + 1);
    for (size_t i = d->root_len + 1; i <= (size_t)(last - path); i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            int e = errno;

            return e == ENOTDIR ? UFS_ECONFLICT : ufs_dir_errno(e);
        }
        buf[i] = '/';
    }
    return 0;
}

void ufs_dir_rmparents(const struct ufs_dir *d, const char *path)
{
    char buf[UFS_DIR_PATH_MAX];
    size_t n = strlen(path);
    char *slash;

    if (n >= sizeof(buf))
        return;
    memcpy(buf, path, n + 1);
    while ((slash = strrchr(buf, '/')) != NULL && (size_t)(slash - buf) > d->root_len) {
        *slash = '\0';
        if (rmdir(buf) != 0)
            return; /* not empty (or gone, or in use): stop there */
    }
}

int ufs_dir_tmp_create(const struct ufs_dir *d, const char *path, int mkparents, int *fd_out,
                       char **tmp_out)
{
    static _Atomic uint64_t seq;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    size_t cap = dl + 1 + strlen(UFS_DIR_TMP) + 16 + 1;
    char *tmp = NULL;
    struct timespec ts;
    int rc = UFS_EIO, fd = -1;

    if (!slash)
        return UFS_EINVAL;
    tmp = malloc(cap);
    if (!tmp)
        return UFS_ENOMEM;
    for (int i = 0; i < DIR_TMP_TRIES; i++) {
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t h = dir_mix(atomic_fetch_add(&seq, 1) ^ dir_mix((uint64_t)getpid()) ^
                             dir_mix((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30));
        snprintf(tmp, cap, "%.*s/%s%016" PRIx64, (int)dl, path, UFS_DIR_TMP, h);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            rc = 0;
            goto out;
        }
        if (errno == EEXIST) {
            continue;
        } else if (errno == ENOENT && mkparents) {
            /* a missing parent, or one a concurrent delete just removed */
            if ((rc = ufs_dir_mkparents(d, path)) != 0)
                goto out;
            rc = UFS_EIO;
        } else if (errno == ENOTDIR) {
            rc = UFS_ECONFLICT; /* a file where a directory must be */
            goto out;
        } else {
            rc = ufs_dir_errno(errno);
            goto out;
        }
    }
out:
    if (rc) {
        free(tmp);
        return rc;
    }
    *fd_out = fd;
    *tmp_out = tmp;
    return 0;
}

int ufs_dir_commit(int fd, const char *tmp, const char *path, const char *ctype,
                   const char *headers, char etag[UFS_ETAG_MAX])
{
    struct timespec now[2];
    struct stat sb;

    if (ctype && ctype[0] && fsetxattr(fd, UFS_DIR_XATTR_CTYPE, ctype, strlen(ctype), 0) != 0 &&
        errno != ENOTSUP)
        return ufs_dir_errno(errno);
    if (headers && headers[0] &&
        fsetxattr(fd, UFS_DIR_XATTR_HEADERS, headers, strlen(headers), 0) != 0 && errno != ENOTSUP)
        return ufs_dir_errno(errno);
    clock_gettime(CLOCK_REALTIME, &now[0]);
    now[1] = now[0];
    if (futimens(fd, now) != 0 || fsync(fd) != 0 || fstat(fd, &sb) != 0)
        return ufs_dir_errno(errno);
    if (rename(tmp, path) != 0) {
        int e = errno;

        /* a directory (or a file where a directory must be) holds the name */
        if (e == EISDIR || e == ENOTEMPTY || e == EEXIST || e == ENOTDIR)
            return UFS_ECONFLICT;
        return ufs_dir_errno(e);
    }
    ufs_dir_etag(&sb, etag);
    return 0;
}

int ufs_dir_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ufs_dir_errno(errno);
        if (n == 0)
            return UFS_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- stat ----------------------------------------------------------------------------- */

struct dir_stat {
    struct ufs_dir_req r;
    ufs_stat_cb cb;
    void *arg;
    struct ufs_stat st;
    char headers[UFS_HEADERS_MAX]; /* st.headers points here */
};

static void dir_stat_work(struct ufs_dir_req *r)
{
    struct dir_stat *s = (struct dir_stat *)r;
    struct stat sb;

    r->want_fire = 1;
    if (stat(r->path, &sb) != 0)
        r->err = ufs_dir_errno(errno);
    else if (!S_ISREG(sb.st_mode))
        r->err = UFS_ENOENT; /* directories are not objects */
    else {
        ufs_dir_stat_fill(&sb, -1, r->path, &s->st);
        ufs_dir_headers_read(-1, r->path, s->headers);
        s->st.headers = s->headers[0] ? s->headers : NULL;
    }
}

static void dir_stat_fire(struct ufs_dir_req *r)
{
    struct dir_stat *s = (struct dir_stat *)r;

    ufs_dir_req_finish(r, r->err);
    s->cb(s->arg, r->err, r->err ? NULL : &s->st);
}

static const struct ufs_dir_kind dir_stat_kind = {dir_stat_work, NULL, dir_stat_fire, NULL, NULL};

/* dir_start_keyed: the common start of an operation on KEY: R is set up,
 * then either handed to a worker or (bad key, out of memory) failed soon.
 * Returns R's handle, or NULL when R could not be set up (R is freed). */
static struct ufs_req *dir_start_keyed(struct ufs_dir *d, struct ufs_dir_req *r,
                                       const struct ufs_dir_kind *kind, enum ufs_kind k,
                                       const char *key)
{
    int rc;

    if (ufs_dir_req_init(d, r, kind, k) != 0) {
        free(r);
        return NULL;
    }
    rc = ufs_dir_key_check(key);
    if (!rc && !(r->path = ufs_dir_path(d, key)))
        rc = UFS_ENOMEM;
    if (rc)
        ufs_dir_req_fail_soon(r, rc);
    else
        ufs_dir_req_kick(r);
    return &r->head;
}

static struct ufs_req *dir_stat(struct ufs *u, const char *key, ufs_stat_cb cb, void *arg)
{
    struct dir_stat *s;

    if (!cb || !(s = calloc(1, sizeof(*s))))
        return NULL;
    s->cb = cb;
    s->arg = arg;
    return dir_start_keyed((struct ufs_dir *)u, &s->r, &dir_stat_kind, UFS_K_HEAD, key);
}

/* ---- delete --------------------------------------------------------------------------- */

struct dir_del {
    struct ufs_dir_req r;
    ufs_done_cb cb;
    void *arg;
};

/* dir_del_work: unlink, then the parents left empty. A missing key, or a
 * name that is a directory (not an object), is deleted already. */
static void dir_del_work(struct ufs_dir_req *r)
{
    r->want_fire = 1;
    if (unlink(r->path) == 0)
        ufs_dir_rmparents(r->d, r->path);
    else if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
        r->err = ufs_dir_errno(errno);
}

static void dir_done_fire(struct ufs_dir_req *r)
{
    struct dir_del *x = (struct dir_del *)r;

    ufs_dir_req_finish(r, r->err);
    x->cb(x->arg, r->err);
}

static const struct ufs_dir_kind dir_del_kind = {dir_del_work, NULL, dir_done_fire, NULL, NULL};

static struct ufs_req *dir_del(struct ufs *u, const char *key, ufs_done_cb cb, void *arg)
{
    struct dir_del *x;

    if (!cb || !(x = calloc(1, sizeof(*x))))
        return NULL;
    x->cb = cb;
    x->arg = arg;
    return dir_start_keyed((struct ufs_dir *)u, &x->r, &dir_del_kind, UFS_K_DELETE, key);
}

/* ---- buckets: not on a directory ------------------------------------------------------ */

struct dir_bucket {
    struct ufs_dir_req r;
    ufs_buckets_cb list_cb; /* or: */
    ufs_done_cb done_cb;
    void *arg;
};

static void dir_bucket_work(struct ufs_dir_req *r)
{
    (void)r; /* never queued */
}

static void dir_bucket_fire(struct ufs_dir_req *r)
{
    struct dir_bucket *b = (struct dir_bucket *)r;

    ufs_dir_req_finish(r, r->err);
    if (b->list_cb)
        b->list_cb(b->arg, r->err, NULL, 0);
    else
        b->done_cb(b->arg, r->err);
}

static const struct ufs_dir_kind dir_bucket_kind = {dir_bucket_work, NULL, dir_bucket_fire, NULL,
                                                    NULL};

static struct ufs_req *dir_bucket_new(struct ufs *u, ufs_buckets_cb list_cb, ufs_done_cb done_cb,
                                      void *arg)
{
    struct dir_bucket *b;

    if ((!list_cb && !done_cb) || !(b = calloc(1, sizeof(*b))))
        return NULL;
    if (ufs_dir_req_init((struct ufs_dir *)u, &b->r, &dir_bucket_kind, UFS_K_BUCKET) != 0) {
        free(b);
        return NULL;
    }
    b->list_cb = list_cb;
    b->done_cb = done_cb;
    b->arg = arg;
    ufs_dir_req_fail_soon(&b->r, UFS_ENOTSUP);
    return &b->r.head;
}

static struct ufs_req *dir_list_buckets(struct ufs *u, ufs_buckets_cb cb, void *arg)
{
    return dir_bucket_new(u, cb, NULL, arg);
}

static struct ufs_req *dir_create_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb,
                                         void *arg)
{
    (void)bucket;
    return dir_bucket_new(u, NULL, cb, arg);
}

static struct ufs_req *dir_delete_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb,
                                         void *arg)
{
    (void)bucket;
    return dir_bucket_new(u, NULL, cb, arg);
}

/* ---- open and close ------------------------------------------------------------------- */

/* dir_close: cancels every live request (no callbacks), lets the workers
 * finish the queue (jobs of cancelled requests skip their work; reap jobs
 * close and remove files), joins them and frees D. */
static void dir_close(struct ufs *u)
{
    struct ufs_dir *d = (struct ufs_dir *)u;

    while (d->live)
        dir_cancel(&d->live->head);
    dir_workers_stop(d);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->root);
    free(d);
}

static const struct ufs_ops dir_ops = {
    .name = "dir",
    .close = dir_close,
    .cancel = dir_cancel,
    .stat = dir_stat,
    .read = ufs_dir_read,
    .read_resume = ufs_dir_read_resume,
    .write_open = ufs_dir_write_open,
    .write = ufs_dir_write,
    .write_close = ufs_dir_write_close,
    .mpu_create = ufs_dir_mpu_create,
    .mpu_part = ufs_dir_mpu_part,
    .mpu_complete = ufs_dir_mpu_complete,
    .mpu_abort = ufs_dir_mpu_abort,
    .del = dir_del,
    .list = ufs_dir_list,
    .list_buckets = dir_list_buckets,
    .create_bucket = dir_create_bucket,
    .delete_bucket = dir_delete_bucket,
    .copy = ufs_dir_copy,
    .mpu_part_copy = ufs_dir_mpu_part_copy,
};

/* ufs_dir_open: PATH is an absolute directory path, optionally as a
 * "file://" URI. Returns 0 and *out, UFS_EINVAL (not absolute, too long, not
 * a directory), UFS_ENOENT, UFS_EACCES, or UFS_ENOMEM (also when the worker
 * threads cannot start). The one stat(2) of the root here is the only file
 * access on the caller's thread. */
int ufs_dir_open(struct event_base *base, const char *path, struct ufs **out)
{
    struct ufs_dir *d = NULL;
    struct stat sb;
    size_t n;
    int rc;

    if (!base || !path || !out)
        return UFS_EINVAL;
    if (strncmp(path, "file://", 7) == 0)
        path += 7;
    if (path[0] != '/')
        return UFS_EINVAL;
    n = strnlen(path, UFS_DIR_ROOT_MAX + 1);
    if (n > UFS_DIR_ROOT_MAX)
        return UFS_EINVAL;
    while (n > 0 && path[n - 1] == '/')
        n--;
    d = calloc(1, sizeof(*d));
    if (!d || !(d->root = strndup(path, n))) {
        rc = UFS_ENOMEM;
        goto out;
    }
    d->root_len = n;
    if (stat(n ? d->root : "/", &sb) != 0) {
        rc = errno == ENOTDIR ? UFS_EINVAL : ufs_dir_errno(errno);
        goto out;
    }
    if (!S_ISDIR(sb.st_mode)) {
        rc = UFS_EINVAL;
        goto out;
    }
    d->head.ops = &dir_ops;
    d->head.base = base;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if ((rc = dir_workers_start(d)) != 0) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
    }
out:
    if (rc) {
        if (d)
            free(d->root);
        free(d);
        return rc;
    }
    *out = &d->head;
    return 0;
}
