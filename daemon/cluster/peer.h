/* daemon/cluster/peer.h: the peer protocol in shoald (client/wire.h is its
 * codec): the server every node runs on listen.peer, the pools of
 * connections a node keeps to the others, and the router's placement
 * answer (which owners to ask for a block).
 *
 * Every connection is authenticated both ways before anything else passes
 * (HMAC-SHA256 challenge-response under the cluster key: wire.h); a peer
 * that fails gets nothing and is counted. Connections live on the event
 * loop that accepted or opened them: the main thread hands accepted ones
 * to the loop of the CPU their packets arrive on (SO_INCOMING_CPU), as the
 * gateway's listeners are steered; pools are per loop and per peer. */
#ifndef SHOAL_DAEMON_CLUSTER_PEER_H
#define SHOAL_DAEMON_CLUSTER_PEER_H

#include "ring/ring.h"
#include "ring/swim.h"
#include "ufs/ufs.h"

#include <stddef.h>
#include <stdint.h>

struct shd_ctx;
struct shd_loop;
struct cluster;
struct store_block;
struct evbuffer;

#define PEER_TIMEOUT_MS 3000 /* no frame of an answer for this long: the owner is gone */

/* peer_start: the peer server and pools of CTX's loops over cluster C
 * (CTX->peers set). Before the loops run. 0, or SHD_ERR_IO. */
int peer_start(struct shd_ctx *ctx, struct cluster *c);
/* After the loops stopped: closes every connection, frees everything. */
void peer_stop(struct shd_ctx *ctx);

/* ---- the router's answer ---------------------------------------------------------------- */

/* Where a block comes from, for this node: */
struct peer_route {
    int primary;   /* fill it from S3 here: this node is the primary owner (or alone),
                    * or the filler of its run */
    int owner;     /* this node is one of the R owners: keep it */
    int local;     /* ask the peers with WIRE_F_LOCAL: they must not ask on */
    size_t npeers; /* the other owners to ask, primary first (primary 0), or, to
                    * push to once filled (primary 1) */
    struct ring_addr peers[RING_REPLICAS_MAX];
    uint8_t ids[RING_REPLICAS_MAX][RING_ID_LEN]; /* their node ids */
};
/* peer_route: the route of block ID in the current view (cluster.replication
 * owners). Any thread. */
void peer_route(struct shd_ctx *ctx, const uint8_t id[RING_ID_LEN], struct peer_route *out);

/* Cold blocks are filled from S3 in aligned runs of PEER_RUN_BLOCKS (blocks
 * 4k .. 4k+3 of an object), each run by one node, its filler: the primary
 * owner of the run's first block. One ranged GET then fills blocks that
 * have different owners, and the filler pushes each to its owners.
 * peer_filler: 1 when this node is the filler of the run whose first block
 * is RUN_ID (or there is no other node), else 0 and the filler's address. */
#define PEER_RUN_BLOCKS 4
int peer_filler(struct shd_ctx *ctx, const uint8_t run_id[RING_ID_LEN], struct ring_addr *out);
/* Whether the node with id NODE is the filler of the run whose first block
 * is RUN_ID. */
int peer_filler_is(struct shd_ctx *ctx, const uint8_t run_id[RING_ID_LEN],
                   const uint8_t node[RING_ID_LEN]);

/* ---- calls to other nodes ----------------------------------------------------------------- */

/* A block range to read from a peer: block INDEX of the object version
 * (bucket, key, etag, size), bytes [off, off + len) of the block. */
struct peer_block_ref {
    const char *bucket, *key, *etag;
    uint64_t size, index;
    uint32_t flags; /* WIRE_F_* */
};
struct peer_call;
/* peer_read: reads the range from the node at TO through loop L's pool,
 * like ufs_read: cbs->data gets the bytes in order (its return value is
 * ignored but UFS_READ_ABORT), cbs->done the end (0: every byte came and
 * the range's checksum matched; else a ufs_err: UFS_ENOENT, UFS_EPRECOND
 * the object changed, UFS_EUNAVAIL the node failed, timed out or could not
 * serve, UFS_EPROTO a bad answer). Never NULL; done always runs, from the
 * loop, unless peer_call_cancel() first. DST, when not NULL, is where the
 * range's LEN bytes are going: they are read from the socket straight into
 * it, and cbs->data is then called with pointers into DST (the bytes in
 * place already: copying them is not needed). */
struct peer_call *peer_read(struct shd_loop *l, const struct ring_addr *to,
                            const struct peer_block_ref *ref, uint32_t off, uint32_t len,
                            uint8_t *dst, const struct ufs_read_cbs *cbs, void *arg);
void peer_call_cancel(struct peer_call *pc);

/* peer_push: pushes block B (complete, immutable) to the node at TO from
 * loop L, outside the replication budget (the caller bounds what it has
 * in flight): DONE(ARG, 0) once stored there (or held already), else a
 * ufs_err. Never NULL; done always runs, from the loop, unless
 * peer_call_cancel() first. */
struct peer_call *peer_push(struct shd_loop *l, const struct ring_addr *to, struct store_block *b,
                            void (*done)(void *arg, int err), void *arg);
/* peer_holds: which of the N block ids at IDS (n * RING_ID_LEN bytes,
 * 1..WIRE_HOLDS_MAX) the node at TO holds: CB(ARG, 0, bits, n) with bit i
 * (LSB first) set when it holds ids[i] (bits borrowed for the call), or
 * CB(ARG, err, NULL, 0) when it failed or gave no answer in TIMEOUT_MS
 * (0: PEER_TIMEOUT_MS). Never NULL; cb always runs, from the loop, unless
 * peer_call_cancel() first. */
typedef void (*peer_held_cb)(void *arg, int err, const uint8_t *bits, size_t n);
struct peer_call *peer_holds(struct shd_loop *l, const struct ring_addr *to, const uint8_t *ids,
                             size_t n, unsigned timeout_ms, peer_held_cb cb, void *arg);

/* ---- peers before S3 (peer_probe.c) ------------------------------------------------------- */

/* For PEER_HANDOFF_MS after the ring changes, a node about to fill blocks
 * from S3 first asks the nodes that may hold them (the previous owners
 * and the other replicas: the next owners along the ring, and the nodes
 * that are leaving) which they hold, and takes those from them. */
#define PEER_HANDOFF_MS (10 * 60 * 1000)
#define PEER_PROBE_NODES 8  /* nodes asked, at most */
#define PEER_PROBE_MS 500   /* a node that does not answer in this long is left out */
#define PEER_PROBE_BLOCKS 8 /* blocks in one probe, at most */
/* What a probe found: the nodes asked, and for each block a bit per node
 * that holds it (bit c: node c). */
struct peer_holders {
    size_t nnodes;
    struct ring_addr addr[PEER_PROBE_NODES];
    uint8_t id[PEER_PROBE_NODES][RING_ID_LEN];
    uint8_t held[PEER_PROBE_BLOCKS];
    int cancelled; /* the node is stopping: no fill should go on */
};
/* peer_probe_wanted: whether fills from S3 should ask first (the ring
 * changed less than PEER_HANDOFF_MS ago). Any thread. */
int peer_probe_wanted(struct shd_ctx *ctx);
/* peer_probe: asks the nodes that may hold blocks IDS[0..n) (n <=
 * PEER_PROBE_BLOCKS) which they hold, from loop L: CB(ARG, H) from the
 * loop once every node answered or timed out (H borrowed for the call;
 * nothing held when nobody could be asked). Never inside the call. */
void peer_probe(struct shd_loop *l, const uint8_t (*ids)[RING_ID_LEN], size_t n,
                void (*cb)(void *arg, const struct peer_holders *h), void *arg);

/* ---- repair, warm joins, drain (peer_repair.c) --------------------------------------------- */

/* After every change of the ring (once it has been stable for
 * PEER_REPAIR_SETTLE_MS), each node walks the blocks it holds, hottest
 * first, asks their owners in the new ring which they hold (HOLDS) and
 * pushes the missing copies, within cluster.repair_rate bytes a second:
 * a lost node's blocks get back to R copies from the survivors, and a new
 * owner (a node that joined) gets its blocks from the previous ones. Of
 * several holders, the first owner in ring order that holds a block pushes
 * it; a holder that is no owner pushes only when no owner holds it. */
#define PEER_REPAIR_SETTLE_MS 1000
#define PEER_REPAIR_BATCH 1024 /* blocks asked about in one HOLDS */
#define PEER_REPAIR_PUSHES 4   /* pushes in flight, at most */
/* peer_drain: this node is leaving (its state gossiped as leaving): it
 * takes no new fills for peers, and pushes every block it holds to each of
 * its owners in the ring without it that lacks it, at full speed. DONE(ARG,
 * handed, left) runs on MAIN_BASE once every block went (left 0), or at
 * TIMEOUT_MS with what is left. Main thread,
 * once. */
struct event_base;
void peer_drain(struct shd_ctx *ctx, struct event_base *main_base, uint64_t timeout_ms,
                void (*done)(void *arg, uint64_t handed, uint64_t left), void *arg);
/* /metrics source: repair and drain progress (ARG the ctx) */
void peer_repair_metrics(struct evbuffer *out, void *arg);

/* peer_meta_owner: the node that holds the metadata of KEY in BUCKET for
 * the cluster (the primary owner of the key's place on the ring, the id
 * ring_block_id(BUCKET, KEY, "", 0, 0)): 1 and *OUT when it is another
 * node, 0 when it is this one or there is no cluster. Any thread. */
int peer_meta_owner(struct shd_ctx *ctx, const char *bucket, const char *key,
                    struct ring_addr *out);
/* peer_meta_get: asks the node at TO for the metadata of KEY in BUCKET as
 * the mount's own S3 identity reads it (from its cache, or a HEAD it makes
 * itself, never asking on): cbs->done(arg, 0, st) (st->headers borrowed
 * for the call), or an error (UFS_ENOENT: no such object; UFS_EUNAVAIL:
 * the node failed, timed out or could not say: ask S3). cbs->data is not
 * used. Never NULL; done always runs, from the loop, unless
 * peer_call_cancel() first. */
struct peer_call *peer_meta_get(struct shd_loop *l, const struct ring_addr *to, const char *bucket,
                                const char *key, const struct ufs_read_cbs *cbs, void *arg);

/* peer_replicate: pushes block B (complete, immutable) to the owners of its
 * id other than this node, in the background from loop L, within the
 * replication budget (what does not fit is skipped and counted). DONE(ARG),
 * if set, runs on L once every push was answered, failed or skipped (never
 * inside the call, but when there is no cluster). */
void peer_replicate(struct shd_loop *l, struct store_block *b, void (*done)(void *arg), void *arg);
/* peer_replicate, but for the owners among the NSKIP node ids in SKIP: they
 * have the block already (they read it from this node as its owners). */
void peer_replicate_but(struct shd_loop *l, struct store_block *b,
                        const uint8_t (*skip)[RING_ID_LEN], size_t nskip, void (*done)(void *arg),
                        void *arg);

/* peer_meta_tell: after a write through this node of KEYS[0..n) in
 * BUCKET (S3 has it, this node's metadata cache too): tells every other
 * node in the view that is alive, suspect or leaving, with META_PUT of ST
 * (n == 1; OWN: ST is what the mount's own identity reads) or, with ST
 * NULL, META_DEL of each key, so a read through any node sees the write.
 * DONE(ARG) runs on loop L once every node answered, failed or timed out
 * (never inside the call). */
void peer_meta_tell(struct shd_loop *l, const char *bucket, const char *const *keys, size_t n,
                    const struct ufs_stat *st, int own, void (*done)(void *arg), void *arg);

/* /metrics source (shd_metrics_add_source), ARG the ctx */
void peer_metrics(struct evbuffer *out, void *arg);

#endif
