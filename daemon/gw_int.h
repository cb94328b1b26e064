/* daemon/gw_int.h: what the gateway's files share. Not for outside daemon/gw*.c. */
#ifndef SHOAL_DAEMON_GW_INT_H
#define SHOAL_DAEMON_GW_INT_H

#include "daemon/gw.h"
#include "daemon/metrics.h"
#include "ufs/ufs.h"

#include <event2/buffer.h>

#define GW_QUERY_MAX 64
#define GW_KEY_MAX 1024

struct gw_tenant_rt; /* gw_auth.c */

struct gw_param {
    char *name, *value; /* decoded */
};

/* One S3 request in progress. Freed by gw_req_free when its response ended
 * or the client left. */
struct gw_req {
    struct http_req *r;
    struct shd_loop *l;
    struct shd_ctx *ctx;
    enum shd_gw_op op;
    char *path;   /* decoded path, without the query */
    char *bucket; /* "" for the service (/) */
    char *key;    /* "" when none */
    struct gw_param q[GW_QUERY_MAX];
    size_t nq;
    int mount;         /* index, or -1 */
    struct ufs *u;     /* the backend serving bucket on this loop */
    const char *mname; /* the name block ids use: the mount, or the bucket for "*" */
    char *mkey;        /* the metadata cache key: key, or "bucket/key" for "*" */
    const struct gw_tenant_rt *tenant; /* NULL: anonymous (no tenants configured) */
    char payload_sha256[65];           /* the body hash the client signed, "" when unsigned */
    int streaming;                     /* aws-chunked body: 1 signed chunks, 2 unsigned */
    unsigned char chunk_key[32];
    char chunk_scope[160], chunk_date[17], seed_sig[65];
    char request_id[20];
    /* operation state (gw_get.c, gw_put.c) */
    void *op_state;
    void (*op_abort)(struct gw_req *g); /* the client left: cancel what runs */
};

/* gw.c */
const char *gw_query(const struct gw_req *g,
                     const char *name); /* value, "" if no value, NULL if absent */
void gw_error(struct gw_req *g, int status, const char *code, const char *message);
/* The S3 error a client should see for a ufs error: returns the status,
 * sets the code and message. */
int gw_ufs_error(int err, const char **code, const char **message);
/* Maps a ufs error to the S3 error a client should see, and sends it. */
void gw_error_ufs(struct gw_req *g, int err);
/* Whether a comma-separated list of ETags (or "*") holds etag (quotes and
 * W/ ignored), for If-Match, If-None-Match and their copy-source forms. */
int gw_etag_matches(const char *list, const char *etag);
/* An HTTP date (IMF-fixdate) as seconds since the epoch; -1 if malformed. */
int gw_parse_http_date(const char *s, int64_t *out);
/* Ends the request's life: metrics, latency, free. */
void gw_done(struct gw_req *g, int status);
void gw_xml_escape(struct evbuffer *b, const char *s);
void gw_http_date(int64_t t, char *buf, size_t len);
void gw_iso_date(int64_t t, char *buf, size_t len);

/* gw_put.c: LNAME (a lower-case header name) when S3 keeps that header
 * with an object (x-amz-meta-*, Cache-Control, ...), else NULL. */
const char *gw_kept_header(const char *lname);

/* gw_auth.c: 0 when the request may go on (g->tenant set); otherwise the
 * error response was sent and the caller returns. */
int gw_authenticate(struct gw_req *g);
/* Whether the tenant may read (write=0) or write (write=1) key in mount. */
int gw_allowed(const struct gw_req *g, int mount, const char *key, int write);
int gw_auth_init(struct shd_ctx *ctx);
void gw_auth_fini(struct shd_ctx *ctx);

/* gw_get.c */
void gw_get_object(struct gw_req *g); /* GET and HEAD */

/* gw_put.c */
void gw_put_object(struct gw_req *g);
void gw_delete_object(struct gw_req *g);

/* gw_mpu.c: CreateMultipartUpload, UploadPart (UploadPartCopy: gw_part_copy),
 * CompleteMultipartUpload, AbortMultipartUpload */
void gw_multipart(struct gw_req *g);

/* gw_chunked.c: aws-chunked bodies. gw_chunked_feed passes the decoded
 * bytes to out (setting *pause when out asks to pause) and returns 0 or a
 * GW_CHUNKED_E* code; after an error the decoder takes no more bytes. The
 * decoded body must be exactly `declared` bytes (x-amz-decoded-content-
 * length): a chunk that would pass it is refused before any of its bytes
 * reach out. */
enum {
    GW_CHUNKED_EMALFORMED = -1, /* framing: size line, CRLF, trailer */
    GW_CHUNKED_ESIG = -2,       /* a chunk signature does not match */
    GW_CHUNKED_ELONG = -3,      /* more decoded bytes than declared */
    GW_CHUNKED_ESHORT = -4,     /* the last chunk came before the declared bytes */
};
struct gw_chunked;
struct gw_chunked *gw_chunked_new(int sign, const unsigned char key[32], const char *amz_date,
                                  const char *scope, const char *seed_signature,
                                  uint64_t declared);
void gw_chunked_free(struct gw_chunked *c);
int gw_chunked_feed(struct gw_chunked *c, const uint8_t *p, size_t n,
                    int (*out)(void *arg, const void *buf, size_t len), void *arg, int *pause);
int gw_chunked_done(const struct gw_chunked *c);
uint64_t gw_chunked_decoded(const struct gw_chunked *c);
/* Starts the decoder a request's auth asked for (NULL when the body is
 * plain); sets *size to x-amz-decoded-content-length. Returns -1 after
 * sending an error. */
int gw_body_decoder(struct gw_req *g, struct gw_chunked **out, uint64_t *size);

/* gw_copy.c: CopyObject (PUT with x-amz-copy-source) */
void gw_copy_object(struct gw_req *g);

/* gw_copy.c: UploadPartCopy (PUT ?partNumber=N&uploadId=ID with
 * x-amz-copy-source); gw_multipart checked the write permission and the
 * part number. */
void gw_part_copy(struct gw_req *g, unsigned number);
/* gw_mpu.c: upload_id's parts are not all seen by this node (a copied part):
 * its object is not cached at Complete. gw_mpu_unstage forgets the upload
 * (gone: aborted, or unknown to the backend). */
void gw_mpu_uncached(const char *upload_id);
void gw_mpu_unstage(const char *upload_id);

/* gw_delete_multi.c: DeleteObjects (POST /BUCKET?delete) */
void gw_delete_objects(struct gw_req *g);

/* gw_bucket.c: HeadBucket, CreateBucket, DeleteBucket (and routes DeleteObjects) */
void gw_bucket_op(struct gw_req *g);

/* gw_list.c */
void gw_list_buckets(struct gw_req *g);
void gw_list_objects(struct gw_req *g);

#endif
