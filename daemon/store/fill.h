/* daemon/store/fill.h: filling blocks from S3, once per block however many
 * readers ask (single flight), bytes streamed to the readers as they arrive.
 *
 * A reader asks for block `index` of an object version (mount, key, ETag);
 * the first request starts one ranged GET with If-Match (fill_run: one GET
 * for several consecutive blocks); later readers, on any loop, join it. Readers are told on their
 * own loop each time more bytes are in. When the block is complete it goes into the store. A
 * per-node cap (cache.max_fills) bounds concurrent S3 requests; fills beyond it queue in order. A
 * fill whose readers all left still completes and is cached. */
#ifndef SHOAL_DAEMON_FILL_H
#define SHOAL_DAEMON_FILL_H

#include <stddef.h>
#include <stdint.h>

struct shd_ctx;
struct shd_loop;
struct store_block;
struct fill_table;
struct fill_wait;

int fill_table_new(struct shd_ctx *ctx, struct fill_table **out);
void fill_table_free(struct fill_table *ft);

/* Progress for one reader, on its loop: the block (borrowed for the call:
 * take a reference to keep it), how many bytes from its start are in, and
 * whether it is complete (done) or failed (err, a ufs_err, bytes stay as
 * they are). A call without done can already carry every byte of the
 * block; the final call (done) then brings none. After a call with done or
 * err set, the wait is over and its handle gone. */
typedef void (*fill_cb)(void *arg, struct store_block *b, size_t avail, int done, int err);

struct peer_route;
/* A block to fill. Its source: with ROUTE NULL or primary, S3 (the block is
 * then kept, and with a route replicated to the other owners); otherwise
 * the route's peers in order, each asked for the bytes still missing when
 * the one before failed, then S3 as the last resort (u, when set); the
 * block is kept only when this node is one of its owners. */
struct fill_req {
    struct ufs *u; /* the backend, on the calling loop */
    int mount;
    const char *key;
    const char *etag;
    uint64_t index; /* block number in the object */
    size_t len;     /* this block's length */
    const uint8_t *id;
    const struct peer_route *route; /* copied: may be gone after the call */
    const char *bucket;             /* for peers: the gateway bucket */
    uint64_t size;                  /* for peers: the object's size */
};

struct fill_wait *fill_block(struct fill_table *ft, struct shd_loop *l, const struct fill_req *req,
                             fill_cb cb, void *arg);
/* Starts the fills of consecutive blocks reqs[0..n) (indexes following each
 * other, one object version, none in the store, the same route) with one
 * ranged GET, up to the first block already being filled; from peers, one
 * block only (reqs[0]). Readers join them with fill_block. Returns how many
 * blocks it started. */
size_t fill_run(struct fill_table *ft, struct shd_loop *l, const struct fill_req *reqs, size_t n);
/* An object version, for the fills of its cold blocks. */
struct fill_obj {
    struct ufs *u; /* the backend, on the calling loop */
    int mount;
    const char *mname; /* the name block ids use */
    const char *key, *etag, *bucket;
    uint64_t size;
};
/* fill_cold_start: block IDX of O is in neither tier and this node is to
 * have it filled from S3 (it is the block's primary owner, or a peer asked
 * it as one). The fill goes by aligned runs (peer.h, PEER_RUN_BLOCKS): at
 * the run's filler, when that is this node, one ranged GET for the missing
 * blocks around IDX within [LO, HI] (up to 8, none past a held block or
 * into a run another node fills), each block kept here if this node owns
 * it and pushed to its other owners; else a GET to the filler
 * (WIRE_F_LOCAL), then S3 if it fails. Nothing happens for blocks already
 * being filled. */
void fill_cold_start(struct fill_table *ft, struct shd_loop *l, const struct fill_obj *o,
                     uint64_t idx, uint64_t lo, uint64_t hi);
/* fill_cold_start, then waits for block IDX as fill_block does. */
struct fill_wait *fill_cold(struct fill_table *ft, struct shd_loop *l, const struct fill_obj *o,
                            uint64_t idx, uint64_t lo, uint64_t hi, fill_cb cb, void *arg);

/* fill_cold_here: block IDX of O filled from S3 by this node, as its run's
 * filler would (kept when this node owns it, pushed to its other owners),
 * and waited for as fill_block does: for an owner asked for a block by the
 * run's filler itself, which waits on it (asking the filler back would
 * wait on that wait). */
struct fill_wait *fill_cold_here(struct fill_table *ft, struct shd_loop *l, const struct fill_obj *o,
                                 uint64_t idx, fill_cb cb, void *arg);

/* The reader leaves: no more callbacks. Allowed inside a progress callback
 * (not after the final one). */
void fill_wait_cancel(struct fill_wait *w);
/* Owner NODE (a node id) reads block ID as its fill here goes (and keeps it): the push
 * of the block to its owners, once filled, leaves NODE out. */
void fill_note_holder(struct fill_table *ft, const uint8_t *id, const uint8_t *node);

/* Fills in flight and queued, for tests and /metrics. */
void fill_counts(struct fill_table *ft, size_t *running, size_t *queued);

#endif
