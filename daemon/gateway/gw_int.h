/* daemon/gateway/gw_int.h: what the gateway's files share. Not for outside daemon/gw*.c. */
#ifndef SHOAL_DAEMON_GW_INT_H
#define SHOAL_DAEMON_GW_INT_H

#include "daemon/gateway/gw.h"
#include "daemon/gateway/gw_blocks.h"
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
    const char *mname; /* the name block ids use: the mount, or the bucket for "*";
                        * "NAME@TENANT" with the tenant's own S3 identity */
    char *mkey;        /* the metadata cache key: key, or "bucket/key" for "*" */
    int who;           /* ctx->tb index of the S3 identity used, -1: the mount's */
    int mns;           /* the metadata cache namespace: META_NS(mount, who) */
    char *mname_own;   /* mname, when it is built */
    struct ufs *svc;   /* for "*": the service-level backend (buckets) of that identity */
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
/* Maps a ufs error to the S3 error a client should see, and sends it; when
 * S3 answered the failed request with an error of its own (inside the ufs
 * callback: ufs_error_detail), that code and message go to the client. */
void gw_error_ufs(struct gw_req *g, int err);
/* Whether a comma-separated list of ETags (or "*") holds etag (quotes and
 * W/ ignored), for If-Match, If-None-Match and their copy-source forms. */
int gw_etag_matches(const char *list, const char *etag);
/* An HTTP date (IMF-fixdate) as seconds since the epoch; -1 if malformed. */
int gw_parse_http_date(const char *s, int64_t *out);
/* gw_place_block: a block written through this node (write-through PUT,
 * CompleteMultipartUpload) goes to its owners: stored here when this node
 * is one, pushed to the others. B stays the caller's. */
struct store_block;
void gw_place_block(struct gw_req *g, struct store_block *b);
/* gw_proxy.c: bytes [OFF, OFF+LEN) of REF's block (BLOCK_LEN long), which
 * this node does not own, from its owners in RT (primary first) to g's
 * client, sent on as they come; nothing is stored. START(ARG) runs before
 * the first byte is sent (it starts the response); DONE(ARG, err, sent)
 * once all went (err 0) or no owner could go on (SENT of them went, the
 * rest is the caller's). NULL when request memory is short (the caller
 * uses the fill path). REF's strings must outlive it. */
struct gw_proxy;
struct peer_route;
struct peer_block_ref;
struct gw_proxy *gw_proxy_start(struct gw_req *g, const struct peer_route *rt,
                                const struct peer_block_ref *ref, uint32_t off, uint32_t len,
                                size_t block_len, void (*start)(void *arg),
                                void (*done)(void *arg, int err, size_t sent), void *arg);
void gw_proxy_cancel(struct gw_proxy *x); /* the client left: no DONE */
/* gw_tell: a write of KEYS[0..n) in g's bucket went through (S3 and this
 * node's caches have it): tells the other nodes (peer_meta_tell: ST the new
 * metadata, or NULL: dropped), then calls THEN(g, ARG), which answers the
 * client; when the client leaves first, DROP(ARG) instead (if set). */
void gw_tell(struct gw_req *g, const char *const *keys, size_t n, const struct ufs_stat *st,
             void (*then)(struct gw_req *g, void *arg), void (*drop)(void *arg), void *arg);
/* gw_tell for dropped KEYS, then the XML answer B (taken) with STATUS. */
void gw_tell_xml(struct gw_req *g, const char *const *keys, size_t n, int status,
                 struct evbuffer *b);
/* Ends the request's life: metrics, latency, free. */
void gw_done(struct gw_req *g, int status);
void gw_xml_escape(struct evbuffer *b, const char *s);
void gw_http_date(int64_t t, char *buf, size_t len);
void gw_iso_date(int64_t t, char *buf, size_t len);

/* gw_put.c: the request's headers that S3 keeps with an object
 * (ufs_kept_header), as "name: value" strings for ufs_put_opts.headers
 * (NULL-ended; gw_headers_free); with chunked, aws-chunked is taken out of
 * Content-Encoding. block, when not NULL, gets the same as a ufs_stat.headers
 * string (malloc'd). */
char **gw_kept_request_headers(struct gw_req *g, int chunked, char **block);
void gw_headers_free(char **hdrs);

/* gw_auth.c: 0 when the request may go on (g->tenant set); otherwise the
 * error response was sent and the caller returns. */
int gw_authenticate(struct gw_req *g);
/* The tenant's configuration, or NULL when anonymous. */
const struct shd_tenant *gw_tenant_cfg(const struct gw_req *g);
/* gw.c: the metadata cache key of key in g's bucket (malloc'd), in the
 * namespace g->mns. */
char *gw_meta_key(const struct gw_req *g, const char *key);
/* The tenant's name, "shoal" when anonymous (owners in listings). */
const char *gw_tenant_name(const struct gw_req *g);
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
                                  const char *scope, const char *seed_signature, uint64_t declared);
void gw_chunked_free(struct gw_chunked *c);
int gw_chunked_feed(struct gw_chunked *c, const uint8_t *p, size_t n,
                    int (*out)(void *arg, const void *buf, size_t len), void *arg, int *pause);
int gw_chunked_done(const struct gw_chunked *c);
uint64_t gw_chunked_decoded(const struct gw_chunked *c);
/* Starts the decoder a request's auth asked for (NULL when the body is
 * plain); sets *size to x-amz-decoded-content-length. Returns -1 after
 * sending an error. */
int gw_body_decoder(struct gw_req *g, struct gw_chunked **out, uint64_t *size);

/* gw_upload.c: the body pump of PutObject and UploadPart (see the file). */
struct gw_upload;
/* S3 answered the upload: err 0 with its ETag, or a ufs error. The
 * operation replies and frees up (gw_upload_free). */
typedef void (*gw_upload_done_fn)(struct gw_upload *up, int err, const char *etag);
struct gw_upload {
    struct gw_req *g;
    struct ufs_req *w;
    struct gw_chunked *dec; /* aws-chunked body, or NULL */
    struct evp_md_ctx_st *sha;
    uint64_t size, received; /* declared (decoded) length, or UFS_SIZE_UNKNOWN */
    uint64_t writer_mem;     /* request memory held for the writer's buffers */
    struct gw_blocks stage;  /* bytes kept for the cache (stage.ctx NULL: none) */
    int paused;
    gw_upload_done_fn done;
    /* the operation's own */
    unsigned part;
    char content_type[128];
    char *kept; /* the kept headers (ufs_stat.headers form), or NULL */
};
/* Checks the request's framing and lengths (max: the largest body allowed;
 * part: an UploadPart, whose length must be known) and takes the writer's
 * memory: the pump, as g's op_state, or NULL after an error was sent. The
 * caller then may stage (gw_blocks_reserve(&up->stage, ...)), opens its
 * writer with gw_upload_write_cbs() and up as the argument, and calls
 * gw_upload_start. */
struct gw_upload *gw_upload_new(struct gw_req *g, uint64_t max, int part, gw_upload_done_fn done);
const struct ufs_write_cbs *gw_upload_write_cbs(void);
/* Reads the body into w (NULL: the open failed; a 400 is sent). */
void gw_upload_start(struct gw_upload *up, struct ufs_req *w);
void gw_upload_free(struct gw_upload *up);

/* gw_copy.c: CopyObject (PUT with x-amz-copy-source) */
void gw_copy_object(struct gw_req *g);

/* gw_copy.c: UploadPartCopy (PUT ?partNumber=N&uploadId=ID with
 * x-amz-copy-source); gw_multipart checked the write permission and the
 * part number. */
void gw_part_copy(struct gw_req *g, unsigned number);
/* gw_mpu_list.c: ListParts (GET ?uploadId) and ListMultipartUploads (GET
 * ?uploads), passed to S3 */
void gw_list_parts(struct gw_req *g);
void gw_list_uploads(struct gw_req *g);

/* gw_mpu_xml.c: the CompleteMultipartUpload body. 0 with the parts in out
 * (gw_part_list_free), -1 malformed (nothing in out), -2 parts out of
 * order. */
#define GW_MPU_PARTS_MAX 10000
#define GW_MPU_BODY_MAX (1u << 20)
struct gw_part_list {
    struct ufs_part *parts; /* etag pointers into etags */
    char **etags;
    size_t n;
};
int gw_mpu_parse_complete(const char *xml, size_t len, struct gw_part_list *out);
void gw_part_list_free(struct gw_part_list *l);

/* gw_mpu_stage.c: parts kept for write-through caching (see the file), for
 * the upload g names (mount, key, uploadId). */
struct gw_staged;
/* Keeps a part's bytes (moved out of data) under (number, etag); an
 * incomplete or unreserved data marks the upload not to be cached. */
void gw_mpu_stage_part(const struct gw_req *g, unsigned number, const char *etag,
                       struct gw_blocks *data);
/* The upload's parts are not all seen by this node (a copied part): its
 * object is not cached at Complete. */
void gw_mpu_uncached(const struct gw_req *g);
/* Forgets the upload (gone: aborted, or unknown to the backend). */
void gw_mpu_unstage(const struct gw_req *g);
/* Removes the upload's staging and returns it (gw_mpu_staged_free), or NULL
 * when there is none or it is not to be cached. */
struct gw_staged *gw_mpu_stage_take(const struct gw_req *g);
void gw_mpu_staged_free(struct gw_staged *s);
/* The bytes of part (number, etag), or NULL when not kept. */
const struct gw_blocks *gw_mpu_staged_part(const struct gw_staged *s, unsigned number,
                                           const char *etag);
/* Drops the uploads idle past cache.multipart_staging_ttl. */
void gw_mpu_stage_expire(struct shd_ctx *ctx);
/* Drops every staged upload (the node stops). */
void gw_mpu_stage_clear(void);

/* gw_delete_multi.c: DeleteObjects (POST /BUCKET?delete) */
void gw_delete_objects(struct gw_req *g);

/* gw_bucket.c: HeadBucket, CreateBucket, DeleteBucket (and routes DeleteObjects) */
void gw_bucket_op(struct gw_req *g);

/* gw_list.c */
void gw_list_buckets(struct gw_req *g);
void gw_list_objects(struct gw_req *g);
/* ListObjectVersions (GET ?versions): the listing with each object as its
 * one, "null", version. */
void gw_list_versions(struct gw_req *g);

/* gw_subres.c: a bucket request naming a subresource (?acl, ?location,
 * ?versions, ...) is answered or handed on here (1); 0: a plain bucket
 * request (listing, HeadBucket, CreateBucket, DeleteBucket). */
int gw_bucket_route(struct gw_req *g);
/* An object request the gateway must not serve as GetObject, PutObject,
 * ...: an object subresource (?tagging, ?acl, ...), a given versionId, a
 * GET of one part (?partNumber), or an unknown parameter on PUT, POST or
 * DELETE. 1 after sending 501 NotImplemented, or after taking the request
 * (GET ?tagging: GetObjectTagging); 0: go on. */
int gw_object_refused(struct gw_req *g);

#endif
