/* ufs/ufs.c: the public ufs_* calls, dispatched to the backend's table. */
#include "ufs/ufs_int.h"

#include <string.h>
#include <strings.h>

const char *ufs_strerror(int err)
{
    switch (err) {
    case UFS_OK:
        return "ok";
    case UFS_ENOMEM:
        return "out of memory";
    case UFS_EINVAL:
        return "invalid argument";
    case UFS_ENOENT:
        return "no such key";
    case UFS_ENOBUCKET:
        return "no such bucket";
    case UFS_EACCES:
        return "access denied";
    case UFS_EPRECOND:
        return "precondition failed: the object changed";
    case UFS_ERANGE:
        return "range not satisfiable";
    case UFS_EUNAVAIL:
        return "storage unavailable";
    case UFS_EPROTO:
        return "malformed response from storage";
    case UFS_EIO:
        return "local I/O error";
    case UFS_ECONFLICT:
        return "conflict";
    case UFS_ECANCELED:
        return "canceled";
    case UFS_ENOTSUP:
        return "not supported by this backend";
    }
    return "unknown ufs error";
}

void ufs_close(struct ufs *u)
{
    if (u)
        u->ops->close(u);
}

void ufs_cancel(struct ufs_req *req)
{
    if (req)
        req->u->ops->cancel(req);
}

#define DISPATCH(op, u, ...) ((u) && (u)->ops->op ? (u)->ops->op((u), __VA_ARGS__) : NULL)

struct ufs_req *ufs_stat(struct ufs *u, const char *key, ufs_stat_cb cb, void *arg)
{
    return DISPATCH(stat, u, key, cb, arg);
}

struct ufs_req *ufs_read(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                         const char *if_match, const struct ufs_read_cbs *cbs, void *arg)
{
    return DISPATCH(read, u, key, off, len, if_match, cbs, arg);
}

void ufs_read_resume(struct ufs_req *req)
{
    if (req && req->u->ops->read_resume)
        req->u->ops->read_resume(req);
}

struct ufs_req *ufs_write_open(struct ufs *u, const char *key, uint64_t size,
                               const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                               void *arg)
{
    return DISPATCH(write_open, u, key, size, opts, cbs, arg);
}

struct ufs_req *ufs_get_tagging(struct ufs *u, const char *key, ufs_body_cb cb, void *arg)
{
    return DISPATCH(get_tagging, u, key, cb, arg);
}

struct ufs_req *ufs_list_parts(struct ufs *u, const char *key, const char *upload_id,
                               unsigned max_parts, unsigned marker, ufs_parts_cb cb, void *arg)
{
    return DISPATCH(list_parts, u, key, upload_id, max_parts, marker, cb, arg);
}

struct ufs_req *ufs_list_uploads(struct ufs *u, const struct ufs_uploads_opts *o, ufs_uploads_cb cb,
                                 void *arg)
{
    return DISPATCH(list_uploads, u, o, cb, arg);
}

uint64_t ufs_write_memory(const struct ufs *u, uint64_t size, int part)
{
    return u && u->ops->write_memory ? u->ops->write_memory(u, size, part) : 0;
}

int ufs_write(struct ufs_req *w, const void *buf, size_t len)
{
    return w ? w->u->ops->write(w, buf, len) : UFS_EINVAL;
}

int ufs_write_close(struct ufs_req *w)
{
    return w ? w->u->ops->write_close(w) : UFS_EINVAL;
}

struct ufs_req *ufs_mpu_create(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                               ufs_mpu_create_cb cb, void *arg)
{
    return DISPATCH(mpu_create, u, key, opts, cb, arg);
}

struct ufs_req *ufs_mpu_part(struct ufs *u, const char *key, const char *upload_id, unsigned part,
                             uint64_t size, const struct ufs_write_cbs *cbs, void *arg)
{
    return DISPATCH(mpu_part, u, key, upload_id, part, size, cbs, arg);
}

struct ufs_req *ufs_mpu_complete(struct ufs *u, const char *key, const char *upload_id,
                                 const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                 void *arg)
{
    return DISPATCH(mpu_complete, u, key, upload_id, parts, nparts, cb, arg);
}

struct ufs_req *ufs_mpu_abort(struct ufs *u, const char *key, const char *upload_id, ufs_done_cb cb,
                              void *arg)
{
    return DISPATCH(mpu_abort, u, key, upload_id, cb, arg);
}

struct ufs_req *ufs_delete(struct ufs *u, const char *key, ufs_done_cb cb, void *arg)
{
    return DISPATCH(del, u, key, cb, arg);
}

struct ufs_req *ufs_list(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb, void *arg)
{
    return DISPATCH(list, u, opts, cb, arg);
}

struct ufs_req *ufs_list_buckets(struct ufs *u, ufs_buckets_cb cb, void *arg)
{
    return u && u->ops->list_buckets ? u->ops->list_buckets(u, cb, arg) : NULL;
}

struct ufs_req *ufs_create_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg)
{
    return DISPATCH(create_bucket, u, bucket, cb, arg);
}

struct ufs_req *ufs_delete_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg)
{
    return DISPATCH(delete_bucket, u, bucket, cb, arg);
}

struct ufs_req *ufs_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                         const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                         void *arg)
{
    return src ? DISPATCH(copy, u, dst_key, src, src_key, opts, cb, arg) : NULL;
}

struct ufs_req *ufs_mpu_part_copy(struct ufs *u, const char *key, const char *upload_id,
                                  unsigned part, const struct ufs *src, const char *src_key,
                                  uint64_t first, uint64_t last,
                                  const struct ufs_part_copy_opts *opts, ufs_copy_cb cb, void *arg)
{
    return src ? DISPATCH(mpu_part_copy, u, key, upload_id, part, src, src_key, first, last, opts,
                          cb, arg)
               : NULL;
}

void ufs_counters_get(const struct ufs *u, struct ufs_counters *out)
{
    memcpy(out, &u->counters, sizeof(*out));
}

int ufs_kept_header(const char *lname, size_t len)
{
    static const char *const keep[] = {"cache-control", "content-disposition", "content-encoding",
                                       "content-language", "expires"};
    if (len > 11 && strncasecmp(lname, "x-amz-meta-", 11) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (len == strlen(keep[i]) && strncasecmp(lname, keep[i], len) == 0)
            return 1;
    return 0;
}

int ufs_headers_add(char *buf, size_t *len, const char *name, size_t nl, const char *value,
                    size_t vl)
{
    size_t need = nl + 2 + vl + 2;
    if (need > UFS_HEADERS_MAX - 1 - *len)
        return -1; /* the last byte stays for a NUL */
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
            return -1;
    for (size_t i = 0; i < nl; i++) /* all checked before a byte is appended */
        if ((unsigned char)name[i] <= 0x20 || name[i] == ':' || name[i] == 0x7f)
            return -1;
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)name[i];
        buf[(*len)++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    memcpy(buf + *len, ": ", 2);
    memcpy(buf + *len + 2, value, vl);
    memcpy(buf + *len + 2 + vl, "\r\n", 2);
    *len += 2 + vl + 2;
    buf[*len] = '\0';
    return 0;
}

static _Thread_local const struct ufs_error_detail *error_detail;

const struct ufs_error_detail *ufs_error_detail(void)
{
    return error_detail;
}

void ufs_error_detail_set(const struct ufs_error_detail *d)
{
    error_detail = d;
}
