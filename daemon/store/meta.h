/* daemon/store/meta.h: the object metadata cache: (mount, key) -> size, ETag,
 * Last-Modified, Content-Type and the headers S3 keeps with the object
 * (x-amz-meta-*, Cache-Control, ...), from HEAD requests.
 *
 * Entries are fresh for the mount's metadata_ttl; one used in the last
 * quarter of it is renewed in the background (meta_get). A miss is fetched once
 * however many requests on however many loops ask at the same time (single
 * flight). When S3 cannot be reached, a stale entry is served rather than
 * an error, so cached objects stay readable through an S3 outage.
 * Thread-safe. */
#ifndef SHOAL_DAEMON_META_H
#define SHOAL_DAEMON_META_H

#include "ufs/ufs.h"

struct shd_ctx;
struct shd_loop;
struct meta_cache;
struct meta_wait;

/* The mount argument of every call below is a namespace: the mount's index
 * for what its own S3 identity reads, META_NS(mount, who) for what tenant
 * backend identity `who` (ctx->tb) reads, so no entry is ever seen by
 * another identity. */
#define META_NS_SPAN 65536 /* more than the mounts a config may have */
#define META_NS(mount, who) ((who) < 0 ? (mount) : (mount) + ((who) + 1) * META_NS_SPAN)
#define META_MOUNT(ns) ((ns) % META_NS_SPAN)

/* A cache holding about max_bytes (entries, keys and values, with malloc's
 * overhead); the oldest entries go first when it is over. */
int meta_cache_new(struct shd_ctx *ctx, uint64_t max_bytes, struct meta_cache **out);
void meta_cache_free(struct meta_cache *mc);

/* A fresh entry: copies it to *out and returns 0; -1 when absent or stale.
 * out->headers is NULL: the headers are had with meta_headers. */
int meta_lookup(struct meta_cache *mc, int mount, const char *key, struct ufs_stat *out);
/* meta_lookup for a request on a loop: an entry in the last quarter of its
 * TTL is also refreshed in the background, with a HEAD of object_key on u
 * (a backend of the caller's loop), the request not waiting for it. */
int meta_get(struct meta_cache *mc, struct ufs *u, int mount, const char *key,
             const char *object_key, struct ufs_stat *out);

/* Fetches (or joins the fetch of) an entry, cached under (mount, key), with
 * a HEAD of object_key on u (a backend of loop l); cb runs on l's thread with
 * 0 and the stat, or a ufs_err (UFS_ENOENT, UFS_EUNAVAIL, ...). With BUCKET
 * (the mount's own identity only: the S3 bucket object_key is in), the
 * key's owner in the cluster is asked first (peer_meta_owner), when that is
 * another node: one HEAD per object for the cluster, not per node; S3 when
 * it cannot say. Returns a handle for meta_wait_cancel, valid until cb ran;
 * never NULL. */
typedef void (*meta_cb)(void *arg, int err, const struct ufs_stat *st);
struct meta_wait *meta_fetch(struct meta_cache *mc, struct shd_loop *l, struct ufs *u, int mount,
                             const char *key, const char *object_key, const char *bucket,
                             meta_cb cb, void *arg);
void meta_wait_cancel(struct meta_wait *w);

/* The kept headers (ufs_stat.headers) of the entry, when it is the version
 * etag: copied to buf (cap bytes) and their length returned; -1 when the
 * entry is gone, another version, or they do not fit. */
int meta_headers(struct meta_cache *mc, int mount, const char *key, const char *etag, char *buf,
                 size_t cap);
/* After a write through the gateway: the object's new metadata (st->headers
 * copied). */
void meta_put(struct meta_cache *mc, int mount, const char *key, const struct ufs_stat *st);
/* The bytes counted against the budget, and the entries. */
void meta_cache_usage(struct meta_cache *mc, uint64_t *bytes, uint64_t *entries);
/* After a delete, or when S3 says the object changed (412). */
void meta_invalidate(struct meta_cache *mc, int mount, const char *key);

#endif
