/* ufs/ufs.h: under file systems behind one small asynchronous interface.
 *
 * A struct ufs is one backend (an S3 bucket and key prefix, an S3 endpoint
 * whose buckets pass through, or a local directory) bound to one libevent
 * event_base: every callback runs on that base's loop thread, and no call
 * blocks it (S3 runs on libcurl's multi-socket interface driven by the loop;
 * local-directory I/O runs on worker threads). A daemon with several loops
 * opens one struct ufs per loop per mount.
 *
 * Keys are object keys relative to the backend (its prefix is added). Every
 * operation returns a struct ufs_req * (or NULL when it could not even be
 * started: out of memory, invalid argument) and reports exactly once through
 * its callback, unless cancelled with ufs_cancel() first, in which case the
 * callback is never called. A callback never runs before the call that
 * started its operation has returned (errors found at once are reported from
 * the loop too). Callbacks may start new operations; they must not close the
 * ufs. Every backend implements every call; what it cannot do reports
 * UFS_ENOTSUP. */
#ifndef SHOAL_UFS_H
#define SHOAL_UFS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

enum ufs_err {
    UFS_OK = 0,
    UFS_ENOMEM = -1,     /* out of memory */
    UFS_EINVAL = -2,     /* invalid argument (bad key, range, option) */
    UFS_ENOENT = -3,     /* no such key (404 NoSuchKey, or no such file) */
    UFS_ENOBUCKET = -4,  /* no such bucket (404 NoSuchBucket) */
    UFS_EACCES = -5,     /* access denied, bad credentials or signature (403) */
    UFS_EPRECOND = -6,   /* If-Match failed (412): the object changed */
    UFS_ERANGE = -7,     /* range not satisfiable (416) */
    UFS_EUNAVAIL = -8,   /* unreachable, 5xx or SlowDown after the retries ran out */
    UFS_EPROTO = -9,     /* malformed or unexpected response */
    UFS_EIO = -10,       /* local I/O error (file backend) */
    UFS_ECONFLICT = -11, /* bucket not empty, already exists, upload gone (409/404) */
    UFS_ECANCELED = -12, /* the caller aborted a read or write from a callback */
    UFS_ENOTSUP = -13,   /* the backend cannot do this (e.g. buckets on file://) */
};

const char *ufs_strerror(int err);

#define UFS_ETAG_MAX 128 /* with the quotes */
#define UFS_KEY_MAX 1024 /* S3's limit, in bytes */
#define UFS_SIZE_UNKNOWN UINT64_MAX

#define UFS_HEADERS_MAX 4096 /* an object's kept headers, all lines together */

struct ufs_stat {
    uint64_t size;
    char etag[UFS_ETAG_MAX]; /* as the backend sends it, quotes included */
    int64_t mtime;           /* Last-Modified, seconds since the epoch */
    char content_type[128];  /* "" when none */
    /* The headers S3 keeps with an object (ufs_kept_header): "name: value\r\n"
     * lines, names in lower case, at most UFS_HEADERS_MAX bytes in all (a
     * line that does not fit is left out); NULL when none. Borrowed: valid
     * only while the call or callback that passed the stat runs. Listings
     * never carry them. */
    const char *headers;
};

/* The backend's own answer to the request whose failure a callback is being
 * told of: S3's status, error code and message (a 4xx S3 error document).
 * Valid only inside that callback, on its thread; NULL when the failure was
 * not such an answer (a timeout, a 5xx after the retries, a local error). */
struct ufs_error_detail {
    int status;
    const char *code;
    const char *message;
};
const struct ufs_error_detail *ufs_error_detail(void);

/* Whether S3 keeps a header of this (lower-case) name with an object and
 * returns it on GET and HEAD: x-amz-meta-*, Cache-Control,
 * Content-Disposition, Content-Encoding, Content-Language, Expires. */
int ufs_kept_header(const char *lname, size_t len);
/* Appends "name: value\r\n" (name lowered) to buf (len bytes used of
 * UFS_HEADERS_MAX); 0, or -1 (nothing appended) when it does not fit or the
 * value holds a control byte. */
int ufs_headers_add(char *buf, size_t *len, const char *name, size_t nl, const char *value,
                    size_t vl);

struct ufs;
struct ufs_req;

/* Opening. Strings are copied. */
struct ufs_s3_config {
    const char *endpoint;   /* "http(s)://host[:port]"; NULL = AWS for the region */
    const char *region;     /* "us-east-1" when NULL */
    const char *bucket;     /* NULL: a service-level backend, for the bucket calls
                             * (ufs_list_buckets, ufs_create_bucket,
                             * ufs_delete_bucket) only */
    const char *prefix;     /* "" or ending in '/' */
    const char *access_key; /* NULL: anonymous (unsigned) requests */
    const char *secret_key;
    const char *session_token;    /* NULL when none */
    int path_style;               /* 1: http://host/bucket/key, 0: virtual-host style */
    unsigned max_retries;         /* 0 = default (4) */
    unsigned max_connections;     /* 0 = default (64): concurrent requests to S3 */
    uint64_t multipart_threshold; /* 0 = default (64 MiB): larger writes use multipart */
    uint64_t part_size;           /* 0 = default (8 MiB) */
    unsigned timeout_ms;          /* 0 = default (30 s without progress) */
};

int ufs_s3_open(struct event_base *base, const struct ufs_s3_config *cfg, struct ufs **out);
int ufs_dir_open(struct event_base *base, const char *path, struct ufs **out);

/* Cancels what is outstanding (no callbacks), frees everything. */
void ufs_close(struct ufs *u);

/* Cancels one operation: its callback is never called. Only valid before
 * the callback ran. */
void ufs_cancel(struct ufs_req *req);

/* HEAD. */
typedef void (*ufs_stat_cb)(void *arg, int err, const struct ufs_stat *st);
struct ufs_req *ufs_stat(struct ufs *u, const char *key, ufs_stat_cb cb, void *arg);

/* Ranged GET of [off, off+len) (len UFS_SIZE_UNKNOWN: to the end), with
 * If-Match when if_match is not NULL. `data` receives the bytes in order as
 * they arrive (several calls); it returns UFS_READ_GO to go on,
 * UFS_READ_PAUSE to stop delivery until ufs_read_resume(), or UFS_READ_ABORT
 * to abort (done then gets UFS_ECANCELED). `done` reports the end, with the
 * object's stat (size is the whole object's) when known. A read that failed
 * after some bytes were delivered is retried from where it stopped, with
 * If-Match on the ETag seen first, so the bytes never mix two versions. */
enum { UFS_READ_GO = 0, UFS_READ_PAUSE = 1, UFS_READ_ABORT = 2 };
struct ufs_read_cbs {
    int (*data)(void *arg, const void *buf, size_t len);
    void (*done)(void *arg, int err, const struct ufs_stat *st);
};
struct ufs_req *ufs_read(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                         const char *if_match, const struct ufs_read_cbs *cbs, void *arg);
void ufs_read_resume(struct ufs_req *req);

/* Streaming PUT. Open, write bytes as they come, close. Memory is bounded:
 * ufs_write returns UFS_WRITE_FULL when the writer holds as much as it may
 * (the bytes were taken); stop and wait for the `drain` callback. Objects
 * larger than the multipart threshold (or of unknown size) are uploaded in
 * parts, a few at a time. `done` reports the new object's ETag. */
struct ufs_put_opts {
    const char *content_type;   /* NULL: none */
    const char *const *headers; /* NULL or "Name: value" strings, NULL-ended:
                                 * x-amz-meta-*, Cache-Control, Content-Disposition,
                                 * Content-Encoding, Content-Language, Expires */
    const char *content_md5;    /* base64, checked by the backend when set */
};
enum { UFS_WRITE_OK = 0, UFS_WRITE_FULL = 1 };
struct ufs_write_cbs {
    void (*drain)(void *arg); /* room again after UFS_WRITE_FULL */
    void (*done)(void *arg, int err, const char *etag);
};
struct ufs_req *ufs_write_open(struct ufs *u, const char *key, uint64_t size,
                               const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                               void *arg);
/* Returns UFS_WRITE_OK, UFS_WRITE_FULL, or a negative error (the write has
 * failed; done will report it). Writing more than the declared size fails. */
int ufs_write(struct ufs_req *w, const void *buf, size_t len);
/* No more bytes: finishes the upload; done follows. */
int ufs_write_close(struct ufs_req *w);

/* The most memory a write of `size` bytes (UFS_SIZE_UNKNOWN: not known)
 * holds in its buffers at once, for ufs_write_open (part 0) or ufs_mpu_part
 * (part 1): what a caller with a memory budget reserves before it opens. */
uint64_t ufs_write_memory(const struct ufs *u, uint64_t size, int part);

/* A client's own multipart upload, passed through (S3 backends only). */
typedef void (*ufs_mpu_create_cb)(void *arg, int err, const char *upload_id);
struct ufs_req *ufs_mpu_create(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                               ufs_mpu_create_cb cb, void *arg);
/* A part is a streaming write like ufs_write_open (never split further). */
struct ufs_req *ufs_mpu_part(struct ufs *u, const char *key, const char *upload_id, unsigned part,
                             uint64_t size, const struct ufs_write_cbs *cbs, void *arg);
struct ufs_part {
    unsigned number;
    const char *etag;
};
typedef void (*ufs_done_cb)(void *arg, int err);
typedef void (*ufs_etag_cb)(void *arg, int err, const char *etag);
struct ufs_req *ufs_mpu_complete(struct ufs *u, const char *key, const char *upload_id,
                                 const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                 void *arg);
struct ufs_req *ufs_mpu_abort(struct ufs *u, const char *key, const char *upload_id, ufs_done_cb cb,
                              void *arg);

/* ListParts of a client's multipart upload (S3 backends; others
 * UFS_ENOTSUP): up to max_parts (0: 1000) parts after part number marker. */
struct ufs_part_entry {
    unsigned number;
    char etag[UFS_ETAG_MAX];
    uint64_t size;
    int64_t mtime;
};
struct ufs_parts_page {
    struct ufs_part_entry *parts;
    size_t n;
    int truncated;
    unsigned next_marker; /* when truncated */
};
typedef void (*ufs_parts_cb)(void *arg, int err, const struct ufs_parts_page *pg);
struct ufs_req *ufs_list_parts(struct ufs *u, const char *key, const char *upload_id,
                               unsigned max_parts, unsigned marker, ufs_parts_cb cb, void *arg);

/* ListMultipartUploads (S3 backends; others UFS_ENOTSUP): keys, markers and
 * prefixes relative to the backend's prefix. */
struct ufs_uploads_opts {
    const char *prefix, *delimiter, *key_marker, *upload_id_marker; /* NULL: none */
    unsigned max_uploads;                                           /* 0: 1000 */
};
struct ufs_upload_entry {
    char *key, *upload_id;
    int64_t initiated;
};
struct ufs_uploads_page {
    struct ufs_upload_entry *uploads;
    size_t n;
    char **prefixes;
    size_t n_prefixes;
    int truncated;
    char *next_key_marker, *next_upload_id_marker; /* when truncated, or NULL */
};
typedef void (*ufs_uploads_cb)(void *arg, int err, const struct ufs_uploads_page *pg);
struct ufs_req *ufs_list_uploads(struct ufs *u, const struct ufs_uploads_opts *o, ufs_uploads_cb cb,
                                 void *arg);

/* GetObjectTagging: the object's <Tagging> document as S3 sent it (it names
 * no bucket or key, so it passes through as is). UFS_ENOTSUP on backends
 * that keep no tags (file://: the caller answers an empty TagSet). */
typedef void (*ufs_body_cb)(void *arg, int err, const char *body, size_t len);
struct ufs_req *ufs_get_tagging(struct ufs *u, const char *key, ufs_body_cb cb, void *arg);

/* DELETE (deleting a missing key succeeds, as on S3). */
struct ufs_req *ufs_delete(struct ufs *u, const char *key, ufs_done_cb cb, void *arg);

/* CopyObject: a copy of src_key on src made as dst_key on u (the
 * destination's backend), without the bytes passing through this process
 * on S3. Possible between two S3 backends on the same endpoint with the
 * same credentials (any buckets and prefixes: src's bucket and prefix name
 * the source), and between two local-directory backends (the file is copied
 * on u's worker threads); any other pair reports UFS_ENOTSUP. src is only
 * read during the call. S3 copies at most 5 GiB in one request (larger
 * objects need a multipart upload of ufs_mpu_part_copy parts): S3 answers
 * UFS_EINVAL. `done` reports the new object's ETag and Last-Modified. */
struct ufs_copy_opts {
    const char *if_match;           /* NULL, or copy only while the source has this ETag
                                     * (UFS_EPRECOND otherwise) */
    int replace;                    /* 0: the source's content type and metadata go with
                                     * the copy; 1: those of `put` replace them */
    const struct ufs_put_opts *put; /* with replace: content type and headers (its
                                     * content_md5 is not used); NULL = none */
};
typedef void (*ufs_copy_cb)(void *arg, int err, const char *etag, int64_t mtime);
struct ufs_req *ufs_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                         const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                         void *arg);

/* UploadPartCopy: part PART of the client's upload UPLOAD_ID of KEY on u
 * becomes bytes [first, last] (inclusive) of src_key on src, or the whole
 * source when last is UFS_SIZE_UNKNOWN (first must then be 0). The same
 * pairs as ufs_copy can do it (UFS_ENOTSUP otherwise), without the bytes
 * passing through this process on S3; src is only read during the call.
 * first > last is an invalid argument (NULL, or UFS_EINVAL); a range past
 * the source's end is UFS_EINVAL (S3's 400 InvalidArgument); an unknown
 * upload UFS_ECONFLICT; a source without the ETag opts->if_match
 * UFS_EPRECOND. `done` reports the part's ETag (for CompleteMultipartUpload)
 * and its Last-Modified (0 when unknown). */
struct ufs_part_copy_opts {
    const char *if_match; /* NULL, or copy only while the source has this ETag */
};
struct ufs_req *ufs_mpu_part_copy(struct ufs *u, const char *key, const char *upload_id,
                                  unsigned part, const struct ufs *src, const char *src_key,
                                  uint64_t first, uint64_t last,
                                  const struct ufs_part_copy_opts *opts, ufs_copy_cb cb, void *arg);

/* ListObjectsV2, one page. */
struct ufs_list_opts {
    const char *prefix;             /* relative to the backend's prefix; NULL = "" */
    const char *delimiter;          /* NULL = none */
    const char *continuation_token; /* NULL = first page */
    const char *start_after;        /* NULL = none */
    unsigned max_keys;              /* 0 = 1000 */
};
struct ufs_list_entry {
    char *key; /* relative to the backend's prefix */
    struct ufs_stat st;
};
struct ufs_list_page {
    struct ufs_list_entry *entries;
    size_t n_entries;
    char **common_prefixes;
    size_t n_prefixes;
    int truncated;
    char *next_token; /* NULL when not truncated */
};
/* The page is valid during the callback only. */
typedef void (*ufs_list_cb)(void *arg, int err, const struct ufs_list_page *page);
struct ufs_req *ufs_list(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb,
                         void *arg);

/* Buckets (S3 backends opened with bucket NULL; others get UFS_ENOTSUP). */
struct ufs_bucket {
    char *name;
    int64_t created; /* seconds since the epoch */
};
typedef void (*ufs_buckets_cb)(void *arg, int err, const struct ufs_bucket *b, size_t n);
struct ufs_req *ufs_list_buckets(struct ufs *u, ufs_buckets_cb cb, void *arg);
struct ufs_req *ufs_create_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);
struct ufs_req *ufs_delete_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);

/* Counters, for /metrics: requests started by kind and retries. */
enum ufs_kind {
    UFS_K_HEAD,
    UFS_K_GET,
    UFS_K_PUT,
    UFS_K_DELETE,
    UFS_K_LIST,
    UFS_K_MPU,
    UFS_K_BUCKET,
    UFS_K_COUNT
};
struct ufs_counters {
    uint64_t requests[UFS_K_COUNT];
    uint64_t retries;
    uint64_t errors;
    uint64_t bytes_in, bytes_out;
};
void ufs_counters_get(const struct ufs *u, struct ufs_counters *out);

#endif
