/* ufs/s3_int.h: what the files of the S3 backend share (s3.c: open, close,
 * operations in general; s3_ops.c: one-request operations; s3_read.c,
 * s3_write.c: streaming GET and PUT; s3_req.c: building and signing a
 * request; s3_loop.c: running it on curl's multi with retries; s3_xml.c:
 * the XML responses; s3_parse.c: response headers and dates). Not for use
 * outside ufs/.
 *
 * Layers:
 *   struct ufs_s3   the backend: one CURLM (connection cache) and one CURLSH
 *                   (DNS, TLS sessions) driven by the ufs's event_base through
 *                   curl's multi-socket API; a queue of transfers waiting for
 *                   a connection slot (max_connections); the live operations.
 *   struct s3_op    one operation handed to the user as its struct ufs_req
 *                   (stat, read, write, list, ...). It owns its transfers and
 *                   a zero-delay event for work that must run from the loop
 *                   (early errors, resume, drain, teardown).
 *   struct s3_xfer  one HTTP request and its retries: built, signed, queued,
 *                   run by curl, classified, retried with jittered backoff,
 *                   then reported once to its hooks' done().
 *
 * Re-entrancy rules (curl forbids most calls from inside its callbacks, and
 * the user may call us from inside ours): the public calls never call curl
 * directly; they queue transfers (started by u->kick), set pending bits on
 * the op (handled by op->ev) or move the op to u->dead (freed by u->reap).
 * Easy handles are removed and cleaned up only from those loop callbacks,
 * from the completion scan after curl_multi_socket_action() returned, or
 * from ufs_close(). */
#ifndef SHOAL_UFS_S3_INT_H
#define SHOAL_UFS_S3_INT_H

#include "ufs/sigv4.h"
#include "ufs/ufs_int.h"

#include <curl/curl.h>
#include <event2/event.h>

#include <stddef.h>
#include <stdint.h>

#define S3_XML_MAX (16u << 20) /* largest XML (or error) body kept */
#define S3_TEXT_MAX 8192       /* longest text of one XML element */
#define S3_LIST_MAX 100000     /* most entries plus prefixes in one page */
#define S3_PARTS_MAX 10000     /* S3's limit on parts of one upload */
#define S3_INFLIGHT_PARTS 4    /* parts uploaded at once by one writer */
#define S3_BACKOFF_BASE_MS 50  /* full jitter: rand(0, min(cap, base * 2^n)) */
#define S3_BACKOFF_CAP_MS 2000
#define S3_SMALL_BODY_HASH 65536 /* memory bodies up to this get a real sha256 */
#define S3_MAX_QUERY 8
#define S3_MAX_HEADERS 24
#define S3_HEADER_MAX 8192 /* longest request header value we send */
#define S3_CODE_MAX 64     /* longest S3 error code kept */
#define S3_MESSAGE_MAX 512 /* an S3 error message kept (cut to this) */
#define S3_TOKEN_MAX 4096  /* longest continuation token or upload id sent */

struct s3_op;
struct s3_xfer;

/* Socket registered with curl (CURLMOPT_SOCKETFUNCTION). */
struct s3_sock {
    struct s3_sock *next, *prev;
    struct ufs_s3 *u;
    curl_socket_t fd;
    struct event *ev;
};

struct ufs_s3 {
    struct ufs head; /* first: the generic part */
    CURLM *multi;
    CURLSH *share;
    struct event *timer; /* curl's timeout (CURLMOPT_TIMERFUNCTION) */
    struct event *kick;  /* zero-delay: move queued transfers into the multi */
    struct event *reap;  /* zero-delay: free cancelled operations */
    char *scheme;        /* "http" or "https" */
    char *hostport;      /* "host[:port]" as in the endpoint */
    char *region, *bucket, *prefix, *access_key, *secret_key, *session_token;
    size_t prefix_len;
    int path_style;
    unsigned max_retries, max_conns, timeout_ms;
    uint64_t threshold, part_size;
    unsigned n_active;                       /* transfers inside the multi */
    struct s3_xfer *queue_head, *queue_tail; /* waiting for a slot */
    struct s3_op *ops;                       /* live operations */
    struct s3_op *dead;                      /* cancelled, freed by reap */
    struct s3_sock *socks;
    char key_day[9]; /* the day signing_key is for, "" = none */
    unsigned char signing_key[UFS_SIGV4_KEY_LEN];
    uint64_t rng;
    int closing; /* in ufs_close: start nothing new */
};

/* ---- operations ------------------------------------------------------------ */

enum {
    S3_PEND_DONE = 1,
    S3_PEND_RESUME = 2,
    S3_PEND_DRAIN = 4,
    S3_PEND_UNPAUSE = 8,
    S3_PEND_FAIL = 16
};

struct s3_op_type {
    /* runs from op->ev with the pending bits, which are cleared before */
    void (*deferred)(struct s3_op *op, unsigned pending);
    /* frees what the op holds (its transfers included) and the op itself;
     * CANCELED when the user cancelled it or ufs_close runs (no callback) */
    void (*destroy)(struct s3_op *op, int canceled);
};

struct s3_op {
    struct ufs_req head; /* first: what the user holds */
    const struct s3_op_type *type;
    struct ufs_s3 *u;
    struct s3_op *next, *prev; /* in u->ops, or u->dead once cancelled */
    struct event *ev;
    unsigned pending;
    int canceled, finished;
};

/* Links OP into u->ops with its zero-delay event: 0 or UFS_ENOMEM. */
int ufs_s3_op_init(struct ufs_s3 *u, struct s3_op *op, const struct s3_op_type *type);
/* Asks for the type's deferred() with BITS, from the loop. */
void ufs_s3_op_defer(struct s3_op *op, unsigned bits);
/* Marks the op finished (cancel becomes a no-op, no deferred work runs);
 * call right before the user's final callback, then destroy the op. */
void ufs_s3_op_finish(struct s3_op *op);
/* Frees the op's generic part (its event); the type's destroy calls it. */
void ufs_s3_op_release(struct s3_op *op);

/* ---- transfers ----------------------------------------------------------- */

enum s3_body { S3_BODY_NONE, S3_BODY_MEM, S3_BODY_STREAM };
enum s3_xstate { S3_X_IDLE, S3_X_QUEUED, S3_X_ACTIVE, S3_X_BACKOFF };

struct s3_xfer_hooks {
    /* before each attempt (may change headers): 0 or an error; optional */
    int (*prepare)(struct s3_xfer *x);
    /* S3_BODY_STREAM: fills up to N bytes; returns the count (0 = end),
     * CURL_READFUNC_PAUSE or CURL_READFUNC_ABORT */
    size_t (*pull)(struct s3_xfer *x, char *dst, size_t n);
    /* S3_BODY_STREAM: make the body readable from its start again; 0 or -1 */
    int (*rewind)(struct s3_xfer *x);
    /* may this failed attempt be retried (beyond the generic rules)? optional */
    int (*can_retry)(struct s3_xfer *x);
    /* 2xx body bytes when x->sink_stream: returns N (taken),
     * CURL_WRITEFUNC_PAUSE, or 0 after setting x->abort_err */
    size_t (*sink)(struct s3_xfer *x, const char *p, size_t n);
    /* the final result (after retries); x is out of the multi */
    void (*done)(struct s3_xfer *x, int err);
};

struct s3_xfer {
    struct ufs_s3 *u;
    struct s3_op *op;
    const struct s3_xfer_hooks *hooks;
    void *ctx; /* the op's per-transfer data (e.g. a part) */
    struct s3_xfer *qnext;
    enum s3_xstate state;
    enum ufs_kind kind;
    const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    char *bucket;       /* NULL: service level */
    char *key;          /* full key (prefix included); NULL: the bucket itself */
    char *qname[S3_MAX_QUERY], *qval[S3_MAX_QUERY];
    unsigned nq;
    char *hname[S3_MAX_HEADERS], *hval[S3_MAX_HEADERS];
    unsigned nh;
    /* request body */
    enum s3_body body_kind;
    const char *body; /* S3_BODY_MEM: borrowed from the op */
    size_t body_len, body_pos;
    uint64_t stream_size; /* S3_BODY_STREAM: the Content-Length */
    uint64_t sent;        /* body bytes curl took in this attempt */
    int check_200_error;  /* a 200 may carry <Error> (CompleteMultipartUpload) */
    int sink_stream;      /* 2xx bodies go to hooks->sink */
    /* response */
    long status;
    char etag[UFS_ETAG_MAX];
    uint64_t clen, cr_first, cr_last, cr_total;
    int has_clen, has_cr, cr_total_known;
    int64_t mtime;
    char ctype[128];
    char keep[UFS_HEADERS_MAX]; /* the object's kept headers (ufs_stat.headers) */
    size_t keep_len;
    char code[S3_CODE_MAX];       /* S3 error code of a failed attempt */
    char message[S3_MESSAGE_MAX]; /* and its message */
    char *resp;
    size_t resp_len, resp_cap;
    int abort_err; /* set by a callback that stopped the transfer */
    unsigned attempt;
    struct event *backoff;
    CURL *easy;
    struct curl_slist *slist;
    char errbuf[CURL_ERROR_SIZE];
};

/* Allocates an idle transfer for OP. BUCKET NULL means u->bucket; KEY is
 * relative (u->prefix is added) or NULL for the bucket itself. NULL when
 * out of memory. */
struct s3_xfer *ufs_s3_xfer_new(struct s3_op *op, const struct s3_xfer_hooks *hooks,
                                enum ufs_kind kind, const char *method, const char *bucket,
                                const char *key);
/* Service-level transfer (no bucket): ListBuckets, or a bucket by name. */
struct s3_xfer *ufs_s3_xfer_new_service(struct s3_op *op, const struct s3_xfer_hooks *hooks,
                                        enum ufs_kind kind, const char *method, const char *bucket);
int ufs_s3_xfer_query(struct s3_xfer *x, const char *name, const char *value);
/* Sets (or replaces, or with VALUE NULL removes) a request header. */
int ufs_s3_xfer_header(struct s3_xfer *x, const char *name, const char *value);
/* Builds, signs and adds the next attempt to the multi (s3_loop.c's kick).
 * Returns 0 or an error, with nothing left allocated. */
int ufs_s3_xfer_launch(struct s3_xfer *x);
/* Queues the transfer (attempt counter reset); it runs from the loop. */
void ufs_s3_xfer_submit(struct s3_xfer *x);
/* Forgets the last response so that the transfer can be submitted again. */
void ufs_s3_xfer_reset(struct s3_xfer *x);
/* Stops and frees the transfer; never from inside its own curl callback. */
void ufs_s3_xfer_free(struct s3_xfer *x);
/* Asks curl to go on with a transfer paused by CURL_*FUNC_PAUSE; only from
 * a loop callback (op->ev). */
void ufs_s3_xfer_unpause(struct s3_xfer *x);

/* Has u->kick move queued transfers into the multi, from the loop. */
void ufs_s3_kick(struct ufs_s3 *u);
int ufs_s3_multi_setup(struct ufs_s3 *u);
void ufs_s3_multi_teardown(struct ufs_s3 *u);

/* Maps an HTTP status and S3 error code to a ufs error; *RETRY says whether
 * the failure is transient. */
int ufs_s3_map_status(long status, const char *code, int *retry);

/* ---- put options copied for an operation ---------------------------------- */

struct s3_putopts {
    char *content_type, *content_md5;
    char **hname, **hval;
    size_t nh;
};
int ufs_s3_putopts_copy(struct s3_putopts *dst, const struct ufs_put_opts *src);
void ufs_s3_putopts_free(struct s3_putopts *p);
int ufs_s3_putopts_apply(struct s3_xfer *x, const struct s3_putopts *p, int with_md5);

int ufs_s3_key_ok(const struct ufs_s3 *u, const char *key);
/* A bucket name that fits a Host name and a path segment (S3 checks the
 * rest and answers InvalidBucketName). */
int ufs_s3_bucket_name_ok(const char *b);

/* The CompleteMultipartUpload XML for NPARTS parts: a malloc'd string, or
 * NULL when out of memory. */
char *ufs_s3_complete_body(const struct ufs_part *parts, size_t nparts);

/* A cancelled write's CreateMultipartUpload X, still under way, is taken
 * over by a background op that aborts the upload once its id is known (or
 * X is freed when that cannot be). KEY is relative. */
void ufs_s3_adopt_create(struct ufs_s3 *u, struct s3_xfer *x, const char *key);

/* Starts a background AbortMultipartUpload (no callback). */
void ufs_s3_abort_upload(struct ufs_s3 *u, const char *key, const char *upload_id);

/* ---- the entry points of s3_ops.c, s3_read.c and s3_write.c ---------------- */

struct ufs_req *ufs_s3_stat(struct ufs *u, const char *key, ufs_stat_cb cb, void *arg);
struct ufs_req *ufs_s3_delete(struct ufs *u, const char *key, ufs_done_cb cb, void *arg);
struct ufs_req *ufs_s3_list(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb,
                            void *arg);
struct ufs_req *ufs_s3_list_buckets(struct ufs *u, ufs_buckets_cb cb, void *arg);
struct ufs_req *ufs_s3_create_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);
struct ufs_req *ufs_s3_delete_bucket(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);
struct ufs_req *ufs_s3_mpu_create(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                                  ufs_mpu_create_cb cb, void *arg);
struct ufs_req *ufs_s3_mpu_complete(struct ufs *u, const char *key, const char *upload_id,
                                    const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                    void *arg);
struct ufs_req *ufs_s3_mpu_abort(struct ufs *u, const char *key, const char *upload_id,
                                 ufs_done_cb cb, void *arg);
struct ufs_req *ufs_s3_copy(struct ufs *u, const char *dst_key, const struct ufs *src,
                            const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                            void *arg);
struct ufs_req *ufs_s3_mpu_part_copy(struct ufs *u, const char *key, const char *upload_id,
                                     unsigned part, const struct ufs *src, const char *src_key,
                                     uint64_t first, uint64_t last,
                                     const struct ufs_part_copy_opts *opts, ufs_copy_cb cb,
                                     void *arg);
uint64_t ufs_s3_write_memory(const struct ufs *u, uint64_t size, int part);
struct ufs_req *ufs_s3_get_tagging(struct ufs *u, const char *key, ufs_body_cb cb, void *arg);
struct ufs_req *ufs_s3_list_parts(struct ufs *u, const char *key, const char *upload_id,
                                  unsigned max_parts, unsigned marker, ufs_parts_cb cb, void *arg);
struct ufs_req *ufs_s3_list_uploads(struct ufs *u, const struct ufs_uploads_opts *o,
                                    ufs_uploads_cb cb, void *arg);

struct ufs_req *ufs_s3_read(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                            const char *if_match, const struct ufs_read_cbs *cbs, void *arg);
void ufs_s3_read_resume(struct ufs_req *req);
struct ufs_req *ufs_s3_write_open(struct ufs *u, const char *key, uint64_t size,
                                  const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                  void *arg);
int ufs_s3_write(struct ufs_req *w, const void *buf, size_t len);
int ufs_s3_write_close(struct ufs_req *w);
struct ufs_req *ufs_s3_mpu_part(struct ufs *u, const char *key, const char *upload_id,
                                unsigned part, uint64_t size, const struct ufs_write_cbs *cbs,
                                void *arg);

/* ---- XML (s3_xml.c) ---------------------------------------------------------- */

/* <Error><Code>: 0 and CODE filled when the document is an S3 error,
 * UFS_ENOENT when it is some other document, UFS_EPROTO when malformed. */
int ufs_s3_xml_error_code(const char *xml, size_t len, char *code, size_t code_size);
/* ListPartsResult: 0 with *out (ufs_s3_parts_page_free), or UFS_EPROTO. */
int ufs_s3_xml_parts(const char *xml, size_t len, struct ufs_parts_page *out);
void ufs_s3_parts_page_free(struct ufs_parts_page *pg);
/* ListMultipartUploadsResult: keys, prefixes and markers that start with
 * STRIP, with it taken off (others dropped); 0 with *out
 * (ufs_s3_uploads_page_free), or UFS_EPROTO. */
int ufs_s3_xml_uploads(const char *xml, size_t len, const char *strip,
                       struct ufs_uploads_page *out);
void ufs_s3_uploads_page_free(struct ufs_uploads_page *pg);
/* The same, with <Error><Message> (cut to msg_size) into MSG too ("" when
 * there is none). */
int ufs_s3_xml_error(const char *xml, size_t len, char *code, size_t code_size, char *msg,
                     size_t msg_size);
/* ListBucketResult (V2). Keys and prefixes that do not start with STRIP
 * are left out; STRIP is removed from the others. */
int ufs_s3_xml_list(const char *xml, size_t len, const char *strip, struct ufs_list_page *out);
void ufs_s3_list_page_free(struct ufs_list_page *p);
int ufs_s3_xml_buckets(const char *xml, size_t len, struct ufs_bucket **out, size_t *n);
void ufs_s3_buckets_free(struct ufs_bucket *b, size_t n);
int ufs_s3_xml_upload_id(const char *xml, size_t len, char **out);
int ufs_s3_xml_complete_etag(const char *xml, size_t len, char etag[UFS_ETAG_MAX]);
/* CopyObjectResult (UploadPartCopy's CopyPartResult): its ETag (required)
 * and LastModified (0 when absent). */
int ufs_s3_xml_copy_result(const char *xml, size_t len, char etag[UFS_ETAG_MAX], int64_t *mtime);
int ufs_s3_xml_part_copy_result(const char *xml, size_t len, char etag[UFS_ETAG_MAX],
                                int64_t *mtime);
/* ---- response headers and dates (s3_parse.c) ------------------------------ */

/* "2009-10-12T17:50:30.000Z" and "Wed, 12 Oct 2009 17:50:30 GMT". */
int ufs_s3_parse_iso8601(const char *s, int64_t *out);
int ufs_s3_parse_http_date(const char *s, int64_t *out);
/* One response header line (N bytes, CRLF included) into X's response
 * fields. Returns 1, or 0 when the response must be refused (abort_err
 * set). */
int ufs_s3_header_line(struct s3_xfer *x, const char *buf, size_t n);
/* Forgets the response headers and body kept so far. */
void ufs_s3_reset_response(struct s3_xfer *x);
/* LEN bytes at A equal the string B, ignoring ASCII case. */
int ufs_s3_ci_eq(const char *a, size_t alen, const char *b);

#endif
