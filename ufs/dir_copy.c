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
 * backend never do: they rename a new file over the key). */
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
    int replace;
    char etag[UFS_ETAG_MAX]; /* the result */
    int64_t mtime;
};

/* etag_eq: WANT (quoted or not) names the quoted ETag HAVE. */
static int etag_eq(const char *want, const char *have)
{
    size_t wl = strlen(want), hl = strlen(have);

    return strcmp(want, have) == 0 || (hl >= 2 && wl == hl - 2 && memcmp(want, have + 1, wl) == 0);
}

/* dir_cp_run: worker: open the source, check it, copy, commit. 0 or a ufs
 * error (UFS_ENOENT: no such source, UFS_EPRECOND: not the ETag asked
 * for); nothing is left behind on failure. */
static int dir_cp_run(struct dir_cp *c)
{
    struct ufs_dir *d = c->r.d;
    struct ufs_stat st;
    struct stat sb;
    char *tmp = NULL;
    int in, out = -1, rc;

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
    if ((rc = ufs_dir_tmp_create(d, c->r.path, 1, &out, &tmp)) != 0)
        goto out;
    rc = ufs_dir_copy_bytes(in, out, (uint64_t)sb.st_size);
    if (!rc)
        rc = ufs_dir_commit(out, tmp, c->r.path, c->replace ? c->ctype : st.content_type, c->etag);
    if (!rc && fstat(out, &sb) == 0)
        c->mtime = (int64_t)sb.st_mtim.tv_sec;
    if (rc) {
        unlink(tmp);
        ufs_dir_rmparents(d, tmp);
    }
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
}

static const struct ufs_dir_kind dir_cp_kind = {dir_cp_work, NULL, dir_cp_fire, NULL,
                                                dir_cp_release};

/* dir_cp_setup: checks and copies the arguments into C: 0 or the error to
 * report (UFS_ENOTSUP: SRC is not a directory backend). */
static int dir_cp_setup(struct dir_cp *c, const char *dst_key, const struct ufs *src,
                        const char *src_key, const struct ufs_copy_opts *opts)
{
    const struct ufs_dir *d = c->r.d;
    const char *ctype = opts && opts->replace && opts->put ? opts->put->content_type : NULL;

    if (src->ops != d->head.ops)
        return UFS_ENOTSUP;
    if (ufs_dir_key_check(dst_key) || ufs_dir_key_check(src_key) || ufs_dir_ctype_check(ctype) ||
        (opts && opts->if_match && strnlen(opts->if_match, UFS_ETAG_MAX) >= UFS_ETAG_MAX))
        return UFS_EINVAL;
    if (!(c->r.path = ufs_dir_path(d, dst_key)) ||
        !(c->src = ufs_dir_path((const struct ufs_dir *)src, src_key)))
        return UFS_ENOMEM;
    if (opts && opts->if_match)
        strcpy(c->if_match, opts->if_match);
    if (ctype)
        strcpy(c->ctype, ctype);
    c->replace = opts && opts->replace;
    return 0;
}

/* ufs_dir_copy: ufs_copy on a directory; every error is reported through
 * CB, from the loop. NULL only when the request cannot be made. */
struct ufs_req *ufs_dir_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                             const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                             void *arg)
{
    struct dir_cp *c;
    int rc;

    if (!cb || !(c = calloc(1, sizeof(*c))))
        return NULL;
    if (ufs_dir_req_init((struct ufs_dir *)u, &c->r, &dir_cp_kind, UFS_K_PUT) != 0) {
        free(c);
        return NULL;
    }
    c->cb = cb;
    c->arg = arg;
    rc = dir_cp_setup(c, dst_key, src, src_key, opts);
    if (rc)
        ufs_dir_req_fail_soon(&c->r, rc);
    else
        ufs_dir_req_kick(&c->r);
    return &c->r.head;
}
