/* daemon/gateway/gw.h: the S3-compatible gateway (listen.s3): what unmodified S3
 * clients (aws-cli, boto3, Trino, Spark) talk to.
 *
 * Path-style addressing: /BUCKET/KEY, where BUCKET is a mount name. Requests
 * are authenticated with SigV4 (header or presigned query) against the
 * configured tenants; with no tenants configured, anonymous access is
 * allowed. Errors are S3 XML errors with S3's codes. */
#ifndef SHOAL_DAEMON_GW_H
#define SHOAL_DAEMON_GW_H

#include <stddef.h>
#include <stdint.h>

struct shd_ctx;
struct shd_loop;
struct http_req;

/* The http handler of a loop's gateway: arg is the struct shd_loop. */
void gw_on_request(struct http_req *r, void *arg);

/* Resolves tenants' secrets (env, file) at start; logs and fails on a
 * secret that cannot be read. Returns 0 or a negative shd_err. */
int gw_init(struct shd_ctx *ctx);
void gw_fini(struct shd_ctx *ctx);
/* Housekeeping, about once a second, from any one thread: staged uploads
 * past cache.multipart_staging_ttl are dropped. */
void gw_tick(struct shd_ctx *ctx);
/* Multipart uploads and parts kept for write-through caching (/metrics). */
void gw_mpu_stage_usage(size_t *uploads, size_t *parts);

#endif
