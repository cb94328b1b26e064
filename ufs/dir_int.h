/* ufs/dir_int.h: what the files of the local-directory backend share
 * (dir.c, dir_io.c, dir_list.c, dir_mpu.c, dir_copy.c). Not for use outside ufs/.
 *
 * A struct ufs_dir is one directory served through the ufs interface, bound
 * to one event_base. Every blocking call (open, read, write, rename, readdir,
 * unlink, fsync) runs on a small pool of worker threads owned by the ufs;
 * results come back to the loop through one event per request made active
 * from the worker (libevent threading must be enabled before the base is
 * created: evthread_use_pthreads()).
 *
 * A request (struct ufs_dir_req, embedded first in each kind's struct) is
 * kept alive by references, all counted under d->mu:
 *   owner   from creation until its final callback starts or ufs_cancel();
 *           dropping it sets `closed` and frees the event
 *   worker  while the request sits in the job queue or a worker runs it
 *   fire    while the loop runs its event callback (user callbacks inside
 *           may cancel it; the memory stays until they return)
 * The last reference frees it. A request that still holds an open file or a
 * temporary file is released on a worker (a "reap" job), so that close(2)
 * and unlink(2) never run on the loop.
 *
 * Per request, the states (under d->mu) and transitions:
 *   IDLE     --kick-->        QUEUED (worker ref taken)
 *   QUEUED   --worker pops--> RUNNING: kind->work() without the lock
 *   RUNNING  --work ends-->   QUEUED again if kind->again() says so; else
 *                             IDLE, and the event is made active when the
 *                             work asked for it (want_fire) and !closed
 *   any      --event runs-->  kind->fire() on the loop: user callbacks;
 *                             ufs_dir_req_finish() before the final one
 *   any      --cancel-->      closed: the event is freed, no callback ever;
 *                             a queued or running job finds `closed`, skips
 *                             its work and drops the worker ref
 * Workers never touch the event once `closed` is set (they check it under
 * d->mu before event_active), so cancel never races a late completion. */
#ifndef SHOAL_UFS_DIR_INT_H
#define SHOAL_UFS_DIR_INT_H

#include "ufs/ufs_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define UFS_DIR_WORKERS 2                /* worker threads per struct ufs_dir */
#define UFS_DIR_CHUNK (256u << 10)       /* read chunk handed to data(); write buffer unit */
#define UFS_DIR_HOLD (8u << 20)          /* a writer above this many unwritten bytes is FULL */
#define UFS_DIR_ROOT_MAX 2048            /* longest root path: root + key stays below PATH_MAX */
#define UFS_DIR_PATH_MAX 4096            /* root + '/' + key + temp suffix */
#define UFS_DIR_RESERVED ".shoal-"       /* names starting so are ours: never keys, never listed */
#define UFS_DIR_TMP ".shoal-tmp-"        /* temporary files, renamed over the key when complete */
#define UFS_DIR_UPLOADS ".shoal-uploads" /* multipart uploads, one directory each */
#define UFS_DIR_XATTR_CTYPE "user.shoal.content_type"
#define UFS_DIR_XATTR_HEADERS "user.shoal.headers" /* the kept headers (ufs_stat.headers) */
#define UFS_DIR_CTYPE_MAX 128                      /* sizeof(struct ufs_stat.content_type) */
#define UFS_DIR_PARTS_MAX 10000                    /* S3's limit on part numbers */
#define UFS_DIR_UPLOAD_ID_LEN 32                   /* lowercase hex */

struct ufs_dir_req;

/* What a kind of request does at each step. */
struct ufs_dir_kind {
    /* Worker thread, without d->mu: the blocking part. Sets r->want_fire
     * when the loop must run fire(). */
    void (*work)(struct ufs_dir_req *r);
    /* Under d->mu after work() (NULL: never): nonzero to run work() again
     * at once, e.g. a writer whose loop queued more bytes meanwhile. */
    int (*again)(struct ufs_dir_req *r);
    /* Loop thread: deliver what work() produced. */
    void (*fire)(struct ufs_dir_req *r);
    /* Nonzero when release() must run on a worker (an open fd, a temp file).
     * Called with no other reference left. NULL: never. */
    int (*has_io)(struct ufs_dir_req *r);
    /* Frees what the kind owns (not the request itself). NULL: nothing. */
    void (*release)(struct ufs_dir_req *r);
};

struct ufs_dir {
    struct ufs head; /* first: the generic part */
    char *root;      /* no trailing '/'; "" for "/" */
    size_t root_len;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ufs_dir_req *q_head, *q_tail; /* jobs waiting for a worker, under mu */
    int stopping;                        /* under mu: workers exit once the queue is empty */
    pthread_t workers[UFS_DIR_WORKERS];
    unsigned n_workers;
    struct ufs_dir_req *live; /* loop thread only: requests with an owner ref */
};

struct ufs_dir_req {
    struct ufs_req head; /* first: the generic part */
    struct ufs_dir *d;
    const struct ufs_dir_kind *kind;
    struct event *ev; /* NULL once closed */
    unsigned refs;    /* under d->mu */
    int queued;       /* under d->mu: in the queue or being worked on */
    int reaping;      /* in the queue only to be released */
    int closed;       /* written on the loop under d->mu: finished or cancelled */
    int want_fire;    /* worker-private during work() */
    int err;          /* the result (or an error found before any work) */
    struct ufs_dir_req *q_next;
    struct ufs_dir_req *l_prev, *l_next;
    char *path; /* root + '/' + key, or NULL */
};

/* ---- dir.c: requests, workers and helpers ---- */

/* Sets up R (zeroed by the caller) for D: one owner ref, an event on D's
 * base, counted as a request of kind K. Returns 0 or UFS_ENOMEM (R then
 * holds nothing; the caller frees it). */
int ufs_dir_req_init(struct ufs_dir *d, struct ufs_dir_req *r, const struct ufs_dir_kind *kind,
                     enum ufs_kind k);
/* Loop thread: hands R to a worker unless it is queued or running already. */
void ufs_dir_req_kick(struct ufs_dir_req *r);
/* Loop thread: runs kind->fire() from the loop soon (never from here). */
void ufs_dir_req_soon(struct ufs_dir_req *r);
/* Loop thread: reports ERR from the loop soon: sets r->err and fires. */
void ufs_dir_req_fail_soon(struct ufs_dir_req *r, int err);
/* Loop thread, inside fire(), just before the final user callback: drops the
 * owner ref (the fire ref keeps R until fire() returns), counts an error. */
void ufs_dir_req_finish(struct ufs_dir_req *r, int err);

/* Key checks: 0 when KEY may name a file under the root, else UFS_EINVAL.
 * ufs_dir_key_check also accepts NULL (UFS_EINVAL). */
int ufs_dir_key_check(const char *key);
/* D's root + '/' + KEY (malloc'd, KEY already checked), or NULL. */
char *ufs_dir_path(const struct ufs_dir *d, const char *key);
/* The ufs error for errno E from a file operation. */
int ufs_dir_errno(int e);
/* The quoted ETag of a file (device, inode, size, mtime in ns). */
void ufs_dir_etag(const struct stat *sb, char out[UFS_ETAG_MAX]);
/* A struct ufs_stat from SB; the content type from FD's xattr when FD >= 0,
 * else from PATH's when PATH is not NULL, else "". */
void ufs_dir_stat_fill(const struct stat *sb, int fd, const char *path, struct ufs_stat *st);
/* Checks an optional content type: 0, or UFS_EINVAL when too long for
 * struct ufs_stat or holding control characters. */
int ufs_dir_ctype_check(const char *ctype);
/* The kept headers among "Name: value" strings (NULL-ended; NULL: none) as a
 * ufs_stat.headers block into out (UFS_HEADERS_MAX bytes). */
void ufs_dir_headers_block(const char *const *hdrs, char *out);
/* The kept headers stored with the file open as fd (or at path when fd < 0)
 * into out (UFS_HEADERS_MAX bytes; "" when none, unreadable or malformed:
 * the xattr is checked line by line as a ufs_stat.headers block). */
void ufs_dir_headers_read(int fd, const char *path, char *out);
/* Worker: creates the directories of PATH's parent below the root (mkdir -p;
 * existing ones are fine). 0 or a ufs error (UFS_ECONFLICT: a file is in the
 * way). */
int ufs_dir_mkparents(const struct ufs_dir *d, const char *path);
/* Worker: removes PATH's parent directories while empty, up to the root. */
void ufs_dir_rmparents(const struct ufs_dir *d, const char *path);
/* Worker: creates a temporary file next to PATH (same directory) with
 * O_EXCL; *fd and *tmp (malloc'd) on success. MKPARENTS: create missing
 * parent directories first (retried if a delete removes them meanwhile).
 * 0 or a ufs error. */
int ufs_dir_tmp_create(const struct ufs_dir *d, const char *path, int mkparents, int *fd,
                       char **tmp);
/* Worker: makes the file behind FD durable and final: sets its mtime to now
 * (ns precision, so a rewrite always gets a new ETag), the content type
 * xattr (CTYPE may be "" or NULL) and the kept headers' (HEADERS, a
 * ufs_stat.headers block, likewise), fsync, then renames TMP over PATH and
 * reports its ETag. 0 or a ufs error (TMP is left for the caller). */
int ufs_dir_commit(int fd, const char *tmp, const char *path, const char *ctype,
                   const char *headers, char etag[UFS_ETAG_MAX]);
/* Worker: write(2) all of BUF at the file position, retrying short writes.
 * 0 or a ufs error. */
int ufs_dir_write_all(int fd, const void *buf, size_t len);
/* Worker (dir_mpu.c): appends SIZE bytes of IN (from its position) to OUT,
 * in the kernel when it can. 0, UFS_EINVAL when IN has fewer bytes, or a
 * ufs error. */
int ufs_dir_copy_bytes(int in, int out, uint64_t size);

/* ---- the kinds, one entry point per ufs op ---- */

struct ufs_req *ufs_dir_read(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                             const char *if_match, const struct ufs_read_cbs *cbs, void *arg);
void ufs_dir_read_resume(struct ufs_req *req);
struct ufs_req *ufs_dir_write_open(struct ufs *u, const char *key, uint64_t size,
                                   const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                   void *arg);
int ufs_dir_write(struct ufs_req *w, const void *buf, size_t len);
int ufs_dir_write_close(struct ufs_req *w);
struct ufs_req *ufs_dir_mpu_part(struct ufs *u, const char *key, const char *upload_id,
                                 unsigned part, uint64_t size, const struct ufs_write_cbs *cbs,
                                 void *arg);
struct ufs_req *ufs_dir_list(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb,
                             void *arg);
struct ufs_req *ufs_dir_mpu_create(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                                   ufs_mpu_create_cb cb, void *arg);
struct ufs_req *ufs_dir_mpu_complete(struct ufs *u, const char *key, const char *upload_id,
                                     const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                     void *arg);
struct ufs_req *ufs_dir_mpu_abort(struct ufs *u, const char *key, const char *upload_id,
                                  ufs_done_cb cb, void *arg);
struct ufs_req *ufs_dir_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                             const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                             void *arg);
struct ufs_req *ufs_dir_mpu_part_copy(struct ufs *u, const char *key, const char *upload_id,
                                      unsigned part, const struct ufs *src, const char *src_key,
                                      uint64_t first, uint64_t last,
                                      const struct ufs_part_copy_opts *opts, ufs_copy_cb cb,
                                      void *arg);

/* dir_mpu.c, for parts written by dir_io.c: 0 when UPLOAD_ID is well formed
 * (else UFS_ECONFLICT, as S3's NoSuchUpload). */
int ufs_dir_upload_id_check(const char *upload_id);
/* Worker: 0 when upload UPLOAD_ID exists and is for KEY, else UFS_ECONFLICT
 * (or another ufs error). CTYPE (may be NULL) receives its content type. */
int ufs_dir_upload_check(const struct ufs_dir *d, const char *upload_id, const char *key,
                         char ctype[UFS_DIR_CTYPE_MAX]);
/* The path of part PART of upload UPLOAD_ID (malloc'd), or NULL. */
char *ufs_dir_part_path(const struct ufs_dir *d, const char *upload_id, unsigned part);

#endif
