/* ufs/dir_copy.c: ufs_copy on a directory. The source file (under this
 * backend's root or another directory backend's) is copied on the
 * destination's worker threads into a temporary file next to the
 * destination key, in the kernel when it can (copy_file_range), and
 * committed like a write: a new mtime, so a new ETag even for a copy onto
 * itself, and the content type xattr of the source (or, with replace, the
 * one given). Other put headers have nowhere to go on a directory and are
 * dropped, as in writes. The source's ETag is taken from the open file, so
 * an if_match check and the bytes copied are of the same version, unless
 * the file is rewritten in place while it is copied (writes through this
 * backend never do: they rename a new file over the key).
 *
 * ufs_mpu_part_copy is the same job with a byte range, into a part file of
 * an upload (written as dir_io.c writes parts: a temporary file renamed over
 * the part, whose file ETag is the part's ETag); the upload must exist and
 * be for the key, and the range must lie within the source. */
#include "ufs/dir_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dir_cp {
    struct ufs_dir_req r; /* r.path: the destination's file */
    ufs_copy_cb cb;
    void *arg;
    char *src;                   /* the source's file */
    char if_match[UFS_ETAG_MAX]; /* "" = none */
    char ctype[UFS_DIR_CTYPE_MAX];
    char headers[UFS_HEADERS_MAX]; /* REPLACE: the request's; else the source's, read */
    int replace;
    char etag[UFS_ETAG_MAX]; /* the result */
    int64_t mtime;
    /* a part copy: r.path is the part's file */
    char *key;                                 /* the upload's key */
    char upload_id[UFS_DIR_UPLOAD_ID_LEN + 1]; /* "" for ufs_copy */
    uint64_t first, last;                      /* last UFS_SIZE_UNKNOWN: the whole source */
};

/* etag_eq: WANT (quoted or not) names the quoted ETag HAVE. */
static int etag_eq(const char *want, const char *have)
{
    size_t wl = strlen(want), hl = strlen(have);

    return strcmp(want, have) == 0 || (hl >= 2 && wl == hl - 2 && memcmp(want, have + 1, wl) == 0);
}

/* dir_cp_part_range: worker, for a part copy: the upload exists, the range
 * fits the source of SIZE bytes; IN positioned at its start and *LEN set.
 * 0, UFS_ECONFLICT (no such upload), UFS_EINVAL (the range) or a ufs error. */
static int dir_cp_part_range(struct dir_cp *c, int in, uint64_t size, uint64_t *len)
{
    int rc = ufs_dir_upload_check(c->r.d, c->upload_id, c->key, NULL);

    if (rc)
        return rc;
    if (c->last == UFS_SIZE_UNKNOWN) {
        *len = size;
        return 0;
    }
    if (c->last >= size)
        return UFS_EINVAL; /* S3's "Range specified is not valid" */
    if (lseek(in, (off_t)c->first, SEEK_SET) < 0)
        return ufs_dir_errno(errno);
    *len = c->last - c->first + 1;
    return 0;
}

/* dir_cp_run: worker: open the source, check it, copy, commit. 0 or a ufs
 * error (UFS_ENOENT: no such source, UFS_EPRECOND: not the ETag asked
 * for, UFS_ECONFLICT: a part's upload is gone); nothing is left behind on
 * failure. */
static int dir_cp_run(struct dir_cp *c)
{
    struct ufs_dir *d = c->r.d;
    struct ufs_stat st;
    struct stat sb;
    char *tmp = NULL;
    int in, out = -1, rc, part = c->upload_id[0] != '\0';
    uint64_t len;

    in = open(c->src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return ufs_dir_errno(errno);
    if (fstat(in, &sb) != 0) {
        rc = ufs_dir_errno(errno);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = UFS_ENOENT; /* directories are not objects */
        goto out;
    }
    ufs_dir_stat_fill(&sb, in, NULL, &st);
    if (c->if_match[0] && !etag_eq(c->if_match, st.etag)) {
        rc = UFS_EPRECOND;
        goto out;
    }
    len = (uint64_t)sb.st_size;
    if (part && (rc = dir_cp_part_range(c, in, len, &len)) != 0)
        goto out;
    rc = ufs_dir_tmp_create(d, c->r.path, !part, &out, &tmp);
    if (!rc)
        rc = ufs_dir_copy_bytes(in, out, len);
    if (!rc && !part && !c->replace) /* COPY: the source's headers go with it */
        ufs_dir_headers_read(in, NULL, c->headers);
    if (!rc) /* a part has no content type or headers of its own */
        rc = ufs_dir_commit(out, tmp, c->r.path, part || c->replace ? c->ctype : st.content_type,
                            part ? NULL : c->headers, c->etag);
    if (!rc && fstat(out, &sb) == 0)
        c->mtime = (int64_t)sb.st_mtim.tv_sec;
    if (rc && tmp) {
        unlink(tmp);
        if (!part)
            ufs_dir_rmparents(d, tmp);
    }
    if (part && rc == UFS_ENOENT)
        rc = UFS_ECONFLICT; /* the upload went away under the part */
out:
    if (out >= 0)
        close(out);
    close(in);
    free(tmp);
    return rc;
}

static void dir_cp_work(struct ufs_dir_req *r)
{
    r->want_fire = 1;
    r->err = dir_cp_run((struct dir_cp *)r);
}

static void dir_cp_fire(struct ufs_dir_req *r)
{
    struct dir_cp *c = (struct dir_cp *)r;

    ufs_dir_req_finish(r, r->err);
    c->cb(c->arg, r->err, r->err ? NULL : c->etag, r->err ? 0 : c->mtime);
}

static void dir_cp_release(struct ufs_dir_req *r)
{
    free(((struct dir_cp *)r)->src);
    free(((struct dir_cp *)r)->key);
}

static const struct ufs_dir_kind dir_cp_kind = {dir_cp_work, NULL, dir_cp_fire, NULL,
                                                dir_cp_release};

/* dir_cp_source: checks and copies the source and IF_MATCH into C: 0 or
 * the error to report (UFS_ENOTSUP: SRC is not a directory backend). */
static int dir_cp_source(struct dir_cp *c, const struct ufs *src, const char *src_key,
                         const char *if_match)
{
    if (src->ops != c->r.d->head.ops)
        return UFS_ENOTSUP;
    if (ufs_dir_key_check(src_key) || (if_match && strnlen(if_match, UFS_ETAG_MAX) >= UFS_ETAG_MAX))
        return UFS_EINVAL;
    if (!(c->src = ufs_dir_path((const struct ufs_dir *)src, src_key)))
        return UFS_ENOMEM;
    if (if_match)
        strcpy(c->if_match, if_match);
    return 0;
}

/* dir_cp_setup: checks and copies ufs_copy's arguments into C: 0 or the
 * error to report. */
static int dir_cp_setup(struct dir_cp *c, const char *dst_key, const struct ufs *src,
                        const char *src_key, const struct ufs_copy_opts *opts)
{
    const char *ctype = opts && opts->replace && opts->put ? opts->put->content_type : NULL;
    int rc = dir_cp_source(c, src, src_key, opts ? opts->if_match : NULL);

    if (rc)
        return rc;
    if (ufs_dir_key_check(dst_key) || ufs_dir_ctype_check(ctype))
        return UFS_EINVAL;
    if (!(c->r.path = ufs_dir_path(c->r.d, dst_key)))
        return UFS_ENOMEM;
    if (ctype)
        strcpy(c->ctype, ctype);
    c->replace = opts && opts->replace;
    if (c->replace && opts->put)
        ufs_dir_headers_block(opts->put->headers, c->headers);
    return 0;
}

/* dir_cp_go: a new request of kind K (NULL when it cannot be made), set up
 * by SETUP; its error, if any, reported from the loop. */
static struct ufs_req *dir_cp_go(struct ufs *u, enum ufs_kind k, ufs_copy_cb cb, void *arg,
                                 int (*setup)(struct dir_cp *c, const void *ctx), const void *ctx)
{
    struct dir_cp *c;
    int rc;

    if (!cb || !(c = calloc(1, sizeof(*c))))
        return NULL;
    if (ufs_dir_req_init((struct ufs_dir *)u, &c->r, &dir_cp_kind, k) != 0) {
        free(c);
        return NULL;
    }
    c->cb = cb;
    c->arg = arg;
    rc = setup(c, ctx);
    if (rc)
        ufs_dir_req_fail_soon(&c->r, rc);
    else
        ufs_dir_req_kick(&c->r);
    return &c->r.head;
}

struct dir_cp_args {
    const char *key, *upload_id, *src_key;
    const struct ufs *src;
    unsigned part;
    uint64_t first, last;
    const struct ufs_copy_opts *opts;
    const struct ufs_part_copy_opts *popts;
};

static int dir_cp_copy_setup(struct dir_cp *c, const void *ctx)
{
    const struct dir_cp_args *a = ctx;

    return dir_cp_setup(c, a->key, a->src, a->src_key, a->opts);
}

/* dir_cp_part_setup: checks and copies ufs_mpu_part_copy's arguments. */
static int dir_cp_part_setup(struct dir_cp *c, const void *ctx)
{
    const struct dir_cp_args *a = ctx;
    int rc = dir_cp_source(c, a->src, a->src_key, a->popts ? a->popts->if_match : NULL);

    if (rc)
        return rc;
    if (ufs_dir_key_check(a->key) || a->part < 1 || a->part > UFS_DIR_PARTS_MAX ||
        (a->last == UFS_SIZE_UNKNOWN ? a->first != 0 : a->first > a->last))
        return UFS_EINVAL;
    if ((rc = ufs_dir_upload_id_check(a->upload_id)) != 0)
        return rc;
    memcpy(c->upload_id, a->upload_id, UFS_DIR_UPLOAD_ID_LEN + 1);
    c->first = a->first;
    c->last = a->last;
    if (!(c->key = strdup(a->key)) ||
        !(c->r.path = ufs_dir_part_path(c->r.d, a->upload_id, a->part)))
        return UFS_ENOMEM;
    return 0;
}

/* ufs_dir_copy: ufs_copy on a directory; every error is reported through
 * CB, from the loop. NULL only when the request cannot be made. */
struct ufs_req *ufs_dir_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                             const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                             void *arg)
{
    struct dir_cp_args a = {.key = dst_key, .src = src, .src_key = src_key, .opts = opts};

    return dir_cp_go(u, UFS_K_PUT, cb, arg, dir_cp_copy_setup, &a);
}

/* ufs_dir_mpu_part_copy: ufs_mpu_part_copy on a directory; as ufs_dir_copy. */
struct ufs_req *ufs_dir_mpu_part_copy(struct ufs *u, const char *key, const char *upload_id,
                                      unsigned part, const struct ufs *src, const char *src_key,
                                      uint64_t first, uint64_t last,
                                      const struct ufs_part_copy_opts *opts, ufs_copy_cb cb,
                                      void *arg)
{
    struct dir_cp_args a = {key, upload_id, src_key, src, part, first, last, NULL, opts};

    return dir_cp_go(u, UFS_K_MPU, cb, arg, dir_cp_part_setup, &a);
}
