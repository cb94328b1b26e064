/* ufs/dir_mpu.c: a client's multipart upload on a directory
 * (ufs_mpu_create, ufs_mpu_complete, ufs_mpu_abort; the parts themselves
 * are writes, in dir_io.c).
 *
 * Layout: one directory per upload under the root's reserved uploads
 * directory, never listed:
 *   .shoal-uploads/<id>/info        content type, '\0', key
 *   .shoal-uploads/<id>/part-00001  each part, written through a temporary
 *                                   file like any object; its ETag is the
 *                                   part file's
 * The id is 32 random lowercase hex digits. Complete checks each listed
 * part's ETag (UFS_EINVAL for a missing or changed part, as S3's
 * InvalidPart), concatenates them in order into a temporary file next to the
 * key, commits it like a write (so its ETag is the file ETag of the result)
 * and removes the upload. An unknown id, or one for another key, is
 * UFS_ECONFLICT (S3's NoSuchUpload). S3's 5 MiB minimum part size is not
 * enforced. Uploads never completed nor aborted stay until removed by hand. */
#include "ufs/dir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DIR_INFO_MAX (UFS_DIR_CTYPE_MAX + UFS_KEY_MAX + 1) /* longest info file */
#define DIR_RMDIR_TRIES 4 /* a part finishing meanwhile may add a file */

/* ---- uploads on disk ------------------------------------------------------------------ */

int ufs_dir_upload_id_check(const char *upload_id)
{
    if (!upload_id || strnlen(upload_id, UFS_DIR_UPLOAD_ID_LEN + 1) != UFS_DIR_UPLOAD_ID_LEN)
        return UFS_ECONFLICT;
    for (size_t i = 0; i < UFS_DIR_UPLOAD_ID_LEN; i++)
        if (!((upload_id[i] >= '0' && upload_id[i] <= '9') ||
              (upload_id[i] >= 'a' && upload_id[i] <= 'f')))
            return UFS_ECONFLICT;
    return 0;
}

/* dir_upload_path: root/.shoal-uploads[/ID[/NAME]] (malloc'd), or NULL. */
static char *dir_upload_path(const struct ufs_dir *d, const char *id, const char *name)
{
    size_t cap = d->root_len + sizeof(UFS_DIR_UPLOADS) + UFS_DIR_UPLOAD_ID_LEN + 32;
    char *p = malloc(cap);

    if (!p)
        return NULL;
    snprintf(p, cap, "%s/%s%s%s%s%s", d->root, UFS_DIR_UPLOADS, id ? "/" : "", id ? id : "",
             name ? "/" : "", name ? name : "");
    return p;
}

char *ufs_dir_part_path(const struct ufs_dir *d, const char *upload_id, unsigned part)
{
    char name[16];

    snprintf(name, sizeof(name), "part-%05u", part);
    return dir_upload_path(d, upload_id, name);
}

int ufs_dir_upload_check(const struct ufs_dir *d, const char *upload_id, const char *key,
                         char ctype[UFS_DIR_CTYPE_MAX])
{
    char buf[DIR_INFO_MAX + 1], *path = dir_upload_path(d, upload_id, "info");
    size_t got = 0, cl;
    int fd = -1, rc = 0;
    ssize_t n;

    if (!path)
        return UFS_ENOMEM;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? UFS_ECONFLICT : ufs_dir_errno(errno);
        goto out;
    }
    while (got < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ufs_dir_errno(errno);
            goto out;
        }
        got += (size_t)n;
    }
    cl = strnlen(buf, got);
    /* a damaged info file (too long, no separator) is no upload */
    if (got > DIR_INFO_MAX || cl == got || cl >= UFS_DIR_CTYPE_MAX || got - cl - 1 != strlen(key) ||
        memcmp(buf + cl + 1, key, got - cl - 1) != 0) {
        rc = UFS_ECONFLICT;
        goto out;
    }
    if (ctype)
        memcpy(ctype, buf, cl + 1);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* dir_upload_remove: removes upload ID's directory and all in it. */
static int dir_upload_remove(const struct ufs_dir *d, const char *id)
{
    char *path = dir_upload_path(d, id, NULL);
    struct dirent *de;
    DIR *ds;
    int rc = UFS_EIO, fd;

    if (!path)
        return UFS_ENOMEM;
    for (int i = 0; i < DIR_RMDIR_TRIES; i++) {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(ds = fdopendir(fd))) {
            rc = ufs_dir_errno(errno);
            if (fd >= 0)
                close(fd);
            goto out;
        }
        while ((de = readdir(ds)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                unlinkat(dirfd(ds), de->d_name, 0);
        closedir(ds);
        if (rmdir(path) == 0) {
            rc = 0;
            goto out;
        }
        rc = ufs_dir_errno(errno);
        if (errno != ENOTEMPTY && errno != EEXIST)
            goto out;
    }
out:
    free(path);
    return rc;
}

/* dir_upload_new: creates a new upload for KEY; its id into ID_OUT. */
static int dir_upload_new(const struct ufs_dir *d, const char *key, const char *ctype,
                          const char *headers, char id_out[UFS_DIR_UPLOAD_ID_LEN + 1])
{
    static _Atomic uint64_t seq;
    char *top = dir_upload_path(d, NULL, NULL), *dir = NULL, *info = NULL;
    char id[UFS_DIR_UPLOAD_ID_LEN + 1];
    unsigned char rnd[UFS_DIR_UPLOAD_ID_LEN / 2];
    int rc = 0, fd = -1;

    if (!top) {
        rc = UFS_ENOMEM;
        goto out;
    }
    if (mkdir(top, 0700) != 0 && errno != EEXIST) {
        rc = ufs_dir_errno(errno);
        goto out;
    }
    for (int tries = 0;; tries++) {
        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
            /* no entropy yet: unique enough from time, counter and pid */
            struct timespec ts;
            uint64_t a, b;

            clock_gettime(CLOCK_REALTIME, &ts);
            a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            b = atomic_fetch_add(&seq, 1) ^ ((uint64_t)getpid() << 32);
            memcpy(rnd, &a, 8);
            memcpy(rnd + 8, &b, 8);
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(id + 2 * i, 3, "%02x", rnd[i]);
        free(dir);
        if (!(dir = dir_upload_path(d, id, NULL))) {
            rc = UFS_ENOMEM;
            goto out;
        }
        if (mkdir(dir, 0700) == 0)
            break;
        if (errno != EEXIST || tries >= 8) {
            rc = ufs_dir_errno(errno);
            goto out;
        }
    }
    if (!(info = dir_upload_path(d, id, "info"))) {
        rc = UFS_ENOMEM;
    } else if ((fd = open(info, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = ufs_dir_errno(errno);
    } else if (!(rc = ufs_dir_write_all(fd, ctype, strlen(ctype) + 1))) {
        rc = ufs_dir_write_all(fd, key, strlen(key));
    }
    /* the headers to keep with the object, until Complete */
    if (!rc && headers[0] &&
        fsetxattr(fd, UFS_DIR_XATTR_HEADERS, headers, strlen(headers), 0) != 0 && errno != ENOTSUP)
        rc = ufs_dir_errno(errno);
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = ufs_dir_errno(errno);
    if (rc)
        dir_upload_remove(d, id);
    else
        memcpy(id_out, id, sizeof(id));
out:
    free(top);
    free(dir);
    free(info);
    return rc;
}

int ufs_dir_copy_bytes(int in, int out, uint64_t size)
{
    uint64_t done = 0;
    char *buf = NULL;
    int rc = 0;

    while (done < size) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, size - done, 0);

        if (n > 0) {
            done += (uint64_t)n;
            continue;
        }
        if (n == 0) /* shrunk since its ETag was checked */
            return UFS_EINVAL;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return ufs_dir_errno(errno);
        break; /* not here: copy through memory */
    }
    while (done < size) {
        ssize_t n;

        if (!buf && !(buf = malloc(UFS_DIR_CHUNK)))
            return UFS_ENOMEM;
        n = read(in, buf, UFS_DIR_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n == 0 ? UFS_EINVAL : ufs_dir_errno(errno);
            break;
        }
        if ((rc = ufs_dir_write_all(out, buf, (size_t)n)) != 0)
            break;
        done += (uint64_t)n;
    }
    free(buf);
    return rc;
}

/* ---- the requests --------------------------------------------------------------------- */

enum dir_mpu_what { DIR_MPU_CREATE, DIR_MPU_COMPLETE, DIR_MPU_ABORT };

struct dir_mpu_part {
    unsigned number;
    char etag[UFS_ETAG_MAX];
};

struct dir_mpu {
    struct ufs_dir_req r; /* r.path: the key's file */
    enum dir_mpu_what what;
    ufs_mpu_create_cb create_cb;
    ufs_etag_cb etag_cb;
    ufs_done_cb done_cb;
    void *arg;
    char *key;
    char id[UFS_DIR_UPLOAD_ID_LEN + 1];
    char ctype[UFS_DIR_CTYPE_MAX];
    char headers[UFS_HEADERS_MAX]; /* Create's, kept with the upload's info file */
    struct dir_mpu_part *parts;
    size_t nparts;
    char etag[UFS_ETAG_MAX]; /* complete's result */
};

/* dir_mpu_closed: cancelled meanwhile (checked between parts). */
static int dir_mpu_closed(struct dir_mpu *m)
{
    int closed;

    pthread_mutex_lock(&m->r.d->mu);
    closed = m->r.closed;
    pthread_mutex_unlock(&m->r.d->mu);
    return closed;
}

/* dir_mpu_complete_work: check, concatenate and commit, then drop the upload. */
static int dir_mpu_complete_work(struct dir_mpu *m)
{
    struct ufs_dir *d = m->r.d;
    char *tmp = NULL, *ppath = NULL, etag[UFS_ETAG_MAX];
    int rc, out = -1, in = -1;
    struct stat sb;

    if ((rc = ufs_dir_upload_check(d, m->id, m->key, m->ctype)) != 0)
        return rc;
    char *info = dir_upload_path(d, m->id, "info");
    if (!info)
        return UFS_ENOMEM;
    ufs_dir_headers_read(-1, info, m->headers);
    free(info);
    if ((rc = ufs_dir_tmp_create(d, m->r.path, 1, &out, &tmp)) != 0)
        return rc;
    for (size_t i = 0; i < m->nparts && !rc; i++) {
        if (dir_mpu_closed(m)) {
            rc = UFS_ECANCELED;
            break;
        }
        if (!(ppath = ufs_dir_part_path(d, m->id, m->parts[i].number))) {
            rc = UFS_ENOMEM;
            break;
        }
        in = open(ppath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        free(ppath);
        if (in < 0) {
            rc = errno == ENOENT ? UFS_EINVAL : ufs_dir_errno(errno); /* InvalidPart */
            break;
        }
        if (fstat(in, &sb) != 0) {
            rc = ufs_dir_errno(errno);
        } else if (!S_ISREG(sb.st_mode)) {
            rc = UFS_EINVAL; /* not a part we wrote */
        } else {
            const char *want = m->parts[i].etag;
            size_t wl = strlen(want);

            ufs_dir_etag(&sb, etag); /* quoted; the caller's may not be */
            if (!(strcmp(want, etag) == 0 ||
                  (wl == strlen(etag) - 2 && memcmp(want, etag + 1, wl) == 0)))
                rc = UFS_EINVAL;
            else
                rc = ufs_dir_copy_bytes(in, out, (uint64_t)sb.st_size);
        }
        close(in);
    }
    if (!rc)
        rc = ufs_dir_commit(out, tmp, m->r.path, m->ctype, m->headers, m->etag);
    close(out);
    if (rc) {
        unlink(tmp);
        ufs_dir_rmparents(d, tmp);
    } else {
        dir_upload_remove(d, m->id); /* the object is in place: a leftover is harmless */
    }
    free(tmp);
    return rc;
}

static void dir_mpu_work(struct ufs_dir_req *r)
{
    struct dir_mpu *m = (struct dir_mpu *)r;

    r->want_fire = 1;
    switch (m->what) {
    case DIR_MPU_CREATE:
        r->err = dir_upload_new(r->d, m->key, m->ctype, m->headers, m->id);
        break;
    case DIR_MPU_COMPLETE:
        r->err = dir_mpu_complete_work(m);
        break;
    case DIR_MPU_ABORT:
        r->err = ufs_dir_upload_check(r->d, m->id, m->key, NULL);
        if (!r->err)
            r->err = dir_upload_remove(r->d, m->id);
        break;
    }
}

static void dir_mpu_fire(struct ufs_dir_req *r)
{
    struct dir_mpu *m = (struct dir_mpu *)r;
    int err = r->err;

    ufs_dir_req_finish(r, err);
    switch (m->what) {
    case DIR_MPU_CREATE:
        m->create_cb(m->arg, err, err ? NULL : m->id);
        break;
    case DIR_MPU_COMPLETE:
        m->etag_cb(m->arg, err, err ? NULL : m->etag);
        break;
    case DIR_MPU_ABORT:
        m->done_cb(m->arg, err);
        break;
    }
}

static void dir_mpu_release(struct ufs_dir_req *r)
{
    struct dir_mpu *m = (struct dir_mpu *)r;

    free(m->key);
    free(m->parts);
}

static const struct ufs_dir_kind dir_mpu_kind = {dir_mpu_work, NULL, dir_mpu_fire, NULL,
                                                 dir_mpu_release};

/* dir_mpu_new: the request, its key checked and copied, its upload id (when
 * not NULL) checked and copied; r.err holds what failed. NULL: out of
 * memory before the request existed. */
static struct dir_mpu *dir_mpu_new(struct ufs *u, enum dir_mpu_what what, const char *key,
                                   const char *upload_id, void *arg)
{
    struct ufs_dir *d = (struct ufs_dir *)u;
    struct dir_mpu *m = calloc(1, sizeof(*m));
    int rc;

    if (!m)
        return NULL;
    if (ufs_dir_req_init(d, &m->r, &dir_mpu_kind, UFS_K_MPU) != 0) {
        free(m);
        return NULL;
    }
    m->what = what;
    m->arg = arg;
    rc = ufs_dir_key_check(key);
    if (!rc && what != DIR_MPU_CREATE && !(rc = ufs_dir_upload_id_check(upload_id)))
        memcpy(m->id, upload_id, UFS_DIR_UPLOAD_ID_LEN + 1);
    if (!rc && (!(m->key = strdup(key)) || !(m->r.path = ufs_dir_path(d, key))))
        rc = UFS_ENOMEM;
    m->r.err = rc;
    return m;
}

/* dir_mpu_start: fails M soon or hands it to a worker. */
static struct ufs_req *dir_mpu_start(struct dir_mpu *m)
{
    if (m->r.err)
        ufs_dir_req_fail_soon(&m->r, m->r.err);
    else
        ufs_dir_req_kick(&m->r);
    return &m->r.head;
}

struct ufs_req *ufs_dir_mpu_create(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                                   ufs_mpu_create_cb cb, void *arg)
{
    struct dir_mpu *m;

    if (!cb || !(m = dir_mpu_new(u, DIR_MPU_CREATE, key, NULL, arg)))
        return NULL;
    m->create_cb = cb;
    if (!m->r.err && opts && opts->content_type) {
        if (ufs_dir_ctype_check(opts->content_type) != 0)
            m->r.err = UFS_EINVAL;
        else
            strcpy(m->ctype, opts->content_type);
    }
    ufs_dir_headers_block(opts ? opts->headers : NULL, m->headers);
    return dir_mpu_start(m);
}

/* dir_parts_copy: checks PARTS (1..S3's limit, ascending, ETags given) and
 * copies them into M. 0 or UFS_EINVAL / UFS_ENOMEM. */
static int dir_parts_copy(struct dir_mpu *m, const struct ufs_part *parts, size_t nparts)
{
    if (!parts || nparts == 0 || nparts > UFS_DIR_PARTS_MAX)
        return UFS_EINVAL;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].number < 1 || parts[i].number > UFS_DIR_PARTS_MAX ||
            (i > 0 && parts[i].number <= parts[i - 1].number) || !parts[i].etag ||
            strnlen(parts[i].etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX)
            return UFS_EINVAL;
    }
    if (!(m->parts = calloc(nparts, sizeof(*m->parts))))
        return UFS_ENOMEM;
    for (size_t i = 0; i < nparts; i++) {
        m->parts[i].number = parts[i].number;
        strcpy(m->parts[i].etag, parts[i].etag);
    }
    m->nparts = nparts;
    return 0;
}

struct ufs_req *ufs_dir_mpu_complete(struct ufs *u, const char *key, const char *upload_id,
                                     const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                     void *arg)
{
    struct dir_mpu *m;

    if (!cb || !(m = dir_mpu_new(u, DIR_MPU_COMPLETE, key, upload_id, arg)))
        return NULL;
    m->etag_cb = cb;
    if (!m->r.err)
        m->r.err = dir_parts_copy(m, parts, nparts);
    return dir_mpu_start(m);
}

struct ufs_req *ufs_dir_mpu_abort(struct ufs *u, const char *key, const char *upload_id,
                                  ufs_done_cb cb, void *arg)
{
    struct dir_mpu *m;

    if (!cb || !(m = dir_mpu_new(u, DIR_MPU_ABORT, key, upload_id, arg)))
        return NULL;
    m->done_cb = cb;
    return dir_mpu_start(m);
}
