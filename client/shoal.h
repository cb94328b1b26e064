/* client/shoal.h: libshoal, the public C API of shoal.
 *
 * The only header a program needs to use shoal, and the only symbols the
 * library exports (all named shoal_*). Handles are opaque. Functions return
 * 0 or a negative SHOAL_E* code (see shoal_strerror()); out-parameters are
 * written only on success. The library never prints and never exits.
 *
 * Two parts: placement (the consistent-hash ring every node and every
 * client computes from the same membership view, and block ids), and the
 * cluster client (shoal_open: reads straight from each block's owners over
 * the peer protocol, failing over to the next owner and hedging slow
 * ones; a streaming reader with read-ahead; writes through the key's owner;
 * listings). docs/client.md has the whole story. */
#ifndef SHOAL_H
#define SHOAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHOAL_API __attribute__((visibility("default")))
#else
#define SHOAL_API
#endif

#define SHOAL_ID_LEN 16      /* node ids and block ids are 128-bit */
#define SHOAL_ZONE_MAX 64    /* zone names, including the NUL */
#define SHOAL_WEIGHT_MAX 256 /* member weights are 1..256 */
#define SHOAL_REPLICAS_MAX 16

enum shoal_err {
    SHOAL_OK = 0,
    SHOAL_ENOMEM = -1, /* out of memory */
    SHOAL_EINVAL = -2, /* invalid argument */
    SHOAL_EDUP = -3,   /* a member with this id is already in the view */
    SHOAL_ENOENT = -4, /* no such member */
    SHOAL_EEMPTY = -5, /* the ring has no members */
    /* the cluster client */
    SHOAL_EIO = -6,        /* a connection failed (reset, closed) */
    SHOAL_EAUTH = -7,      /* a node did not prove the cluster key, or refused ours */
    SHOAL_EUNAVAIL = -8,   /* no owner could serve (all down, busy, or S3 unreachable) */
    SHOAL_ECHANGED = -9,   /* the object changed during the read: stat again */
    SHOAL_EPROTO = -10,    /* a malformed answer, or another protocol version, cluster
                            * name or block size */
    SHOAL_ETIMEDOUT = -11, /* no answer in time */
    SHOAL_ENOSEEDS = -12,  /* no seed could be reached and authenticated */
    SHOAL_EKEYFILE = -13,  /* the key file does not load */
    SHOAL_ERDONLY = -14,   /* a write to a read-only mount */
    SHOAL_ETOOBIG = -15,   /* an object over SHOAL_PUT_MAX */
};

/* A static description of an error code. */
SHOAL_API const char *shoal_strerror(int err);

/* The block id of block `index` of an object version (mount, key, ETag) cut
 * into blocks of block_size bytes. Everyone computes the same id. */
SHOAL_API int shoal_block_id(const char *mount, const char *key, const char *etag,
                             uint64_t block_size, uint64_t index, uint8_t out[SHOAL_ID_LEN]);

/* A membership view and the ring built from it. Not thread-safe to modify;
 * a built ring may be read from many threads at once. */
typedef struct shoal_ring shoal_ring;

/* A new, empty view. *out must be freed with shoal_ring_free(). */
SHOAL_API int shoal_ring_new(shoal_ring **out);
SHOAL_API void shoal_ring_free(shoal_ring *ring);

/* Adds a member (weight 1..SHOAL_WEIGHT_MAX, zone NULL or "" for none) or
 * removes one. The placement changes only at the next shoal_ring_build(). */
SHOAL_API int shoal_ring_add(shoal_ring *ring, const uint8_t id[SHOAL_ID_LEN], uint32_t weight,
                             const char *zone);
SHOAL_API int shoal_ring_remove(shoal_ring *ring, const uint8_t id[SHOAL_ID_LEN]);

/* (Re)builds the placement from the current view. On failure the previous
 * placement stays in force. */
SHOAL_API int shoal_ring_build(shoal_ring *ring);

/* Members of the built ring, indexed 0..shoal_ring_size()-1 in id order. */
SHOAL_API size_t shoal_ring_size(const shoal_ring *ring);
SHOAL_API int shoal_ring_member(const shoal_ring *ring, size_t idx, uint8_t id[SHOAL_ID_LEN],
                                uint32_t *weight, const char **zone);
/* The ring epoch: equal epochs mean equal placement. */
SHOAL_API uint64_t shoal_ring_epoch(const shoal_ring *ring);

/* The primary owner of a key (block id), as a member index, or SHOAL_EEMPTY. */
SHOAL_API int shoal_ring_owner(const shoal_ring *ring, const uint8_t key[SHOAL_ID_LEN]);

/* Up to nrep distinct owners of a key, primary first, spread over as many
 * zones as possible. Writes member indexes to out and returns how many
 * (fewer than nrep only when the ring has fewer members). */
SHOAL_API size_t shoal_ring_owners(const shoal_ring *ring, const uint8_t key[SHOAL_ID_LEN],
                                   size_t nrep, uint32_t *out);

/* ---- the cluster client ------------------------------------------------------------------ */

/* A client of one cluster. Thread-safe: any number of threads may call
 * it at once (each call uses connections of its own from a shared pool). */
typedef struct shoal shoal;

/* How to reach the cluster. The cluster name, block size and replication
 * must be the nodes' (cluster.name, cluster.block_size,
 * cluster.replication): a node refuses a client of another name or block
 * size. */
typedef struct shoal_opts {
    const char *seeds;    /* "host:port,host:port": the nodes' listen.peer;
                           * NULL: the SHOAL_SEEDS environment variable */
    const char *cluster;  /* NULL: "shoal" */
    const char *key_file; /* the cluster key file (cluster.secret_file); NULL:
                           * the insecure key of a cluster without one */
    uint64_t block_size;  /* 0: 4 MiB */
    unsigned replication; /* 0: 2 */
    unsigned timeout_ms;  /* a node that does not answer in this long is
                           * given up for the next owner; 0: 3000 */
} shoal_opts;

/* shoal_open: reaches a seed, authenticates both ways with the cluster key
 * and takes its view of the membership. 0 and *OUT (free with
 * shoal_close()), or SHOAL_EINVAL, SHOAL_EKEYFILE, SHOAL_ENOSEEDS,
 * SHOAL_EAUTH, SHOAL_EPROTO. */
SHOAL_API int shoal_open(const shoal_opts *opts, shoal **out);
SHOAL_API void shoal_close(shoal *sh);
/* The ring epoch of the client's view. Every answer of a node whose epoch
 * differs brings the node's view first: the client follows the cluster. */
SHOAL_API uint64_t shoal_epoch(shoal *sh);
/* The block size objects are cut into (shoal_opts.block_size): a read of
 * one byte at a multiple of it makes the block's owner hold that block. */
SHOAL_API uint64_t shoal_block_size(const shoal *sh);

/* An object version's metadata. */
typedef struct shoal_object {
    uint64_t size;
    char etag[128];
    int64_t mtime; /* Unix seconds */
    char content_type[128];
} shoal_object;

/* shoal_stat: the metadata of KEY in BUCKET, from the node that owns the
 * key's metadata (which asks S3 when it does not know): 0 and *ST, or
 * SHOAL_ENOENT (no such object), SHOAL_EUNAVAIL, ... */
SHOAL_API int shoal_stat(shoal *sh, const char *bucket, const char *key, shoal_object *st);

/* shoal_pread: up to LEN bytes of KEY in BUCKET from offset OFF into BUF,
 * each block straight from its owners (the first that answers; a read
 * that fails part way goes on from the next owner), checked against the
 * blocks' XXH3-64. The version read is ST's (from shoal_stat; NULL: stat
 * first). 0 and *NREAD (less than LEN only at the object's end; 0 at or
 * past it), or SHOAL_ENOENT, SHOAL_ECHANGED (the object is no longer ST's
 * version), SHOAL_EUNAVAIL, ... */
SHOAL_API int shoal_pread(shoal *sh, const char *bucket, const char *key, const shoal_object *st,
                          void *buf, size_t len, uint64_t off, size_t *nread);

/* ---- the members, and draining one ----------------------------------------------------- */

/* A member of the cluster as a node sees it. Valid during the callback. */
typedef struct shoal_member {
    uint8_t id[SHOAL_ID_LEN];
    const char *name;
    const char *addr;  /* its peer address, "host:port" */
    const char *zone;  /* "" when it has none */
    const char *state; /* "alive", "suspect", "leaving", "dead" */
    unsigned weight;
    unsigned s3_port, admin_port; /* on the peer address's host; 0: none */
    int placed;                   /* on the ring (alive or suspect): owns blocks */
} shoal_member;
typedef int (*shoal_member_fn)(void *arg, const shoal_member *m);

/* shoal_members: every member that has not left, as a node sees it now
 * (an owner of the ring's start, else a seed), in the node's order; the
 * client's own view follows it. 0 once each was given to FN, FN's nonzero
 * value, or a code. */
SHOAL_API int shoal_members(shoal *sh, shoal_member_fn fn, void *arg);

/* shoal_drain: asks the member NODE (its name, or its id as 32 hex digits)
 * to drain, as SIGTERM does: it takes no new fills, hands every block to
 * the owners-to-be within its cluster.drain_timeout, then leaves. Returns
 * once the node has agreed: 0, SHOAL_ENOENT (no such member, or it is dead
 * or gone), SHOAL_EINVAL, or a code of the connection. */
SHOAL_API int shoal_drain(shoal *sh, const char *node);

/* ---- streaming reads ------------------------------------------------------------------- */

/* A sequential reader of one object version, reading ahead: each refill
 * asks for the next `readahead` bytes at once (their blocks from their
 * owners in parallel), so a reader that consumes as it goes waits only for
 * the first. Not thread-safe (one reader, one thread); many readers may
 * share one shoal. */
typedef struct shoal_reader shoal_reader;

/* shoal_reader_open: KEY in BUCKET (stat'd here: the reader keeps that
 * version), READAHEAD bytes per refill (0: 8 blocks). 0 and *OUT, or the
 * codes of shoal_stat. */
SHOAL_API int shoal_reader_open(shoal *sh, const char *bucket, const char *key, size_t readahead,
                                shoal_reader **out);
/* shoal_reader_read: up to LEN bytes into BUF from the reader's position:
 * 0 and *NREAD (0 at the end), or a code of shoal_pread (the position is
 * then unchanged). */
SHOAL_API int shoal_reader_read(shoal_reader *r, void *buf, size_t len, size_t *nread);
/* The version read, and the position (shoal_reader_seek: the next read
 * starts at OFF; what was read ahead is kept when it holds OFF). */
SHOAL_API const shoal_object *shoal_reader_object(const shoal_reader *r);
SHOAL_API int shoal_reader_seek(shoal_reader *r, uint64_t off);
SHOAL_API uint64_t shoal_reader_tell(const shoal_reader *r);
SHOAL_API void shoal_reader_close(shoal_reader *r);

/* ---- writes and listings ------------------------------------------------------------------ */

#define SHOAL_PUT_MAX (5ULL << 30) /* the largest object one shoal_put writes */

/* shoal_put: LEN bytes at BUF as KEY in BUCKET, written through the node
 * that owns the key's metadata (its next owner when that one fails) to S3
 * at once (write-through), the blocks placed on their owners, every node
 * told: a read through any node or client sees the new version as soon as
 * this returns. CONTENT_TYPE may be NULL. The bytes travel with their
 * XXH3-64; a write damaged on the way never becomes an object. 0 and *ST
 * (NULL: not wanted) the new version, or SHOAL_ERDONLY, SHOAL_ETOOBIG,
 * SHOAL_EAUTH (S3 refused the node), SHOAL_EUNAVAIL, ... */
SHOAL_API int shoal_put(shoal *sh, const char *bucket, const char *key, const void *buf, size_t len,
                        const char *content_type, shoal_object *st);

/* One listed key (is_prefix 0) or, with a delimiter, common prefix
 * (is_prefix 1: only key is set). Valid during the callback. */
typedef struct shoal_entry {
    const char *key;
    int is_prefix;
    uint64_t size;
    const char *etag;
    int64_t mtime;
} shoal_entry;
/* Called for each entry in key order; nonzero stops the listing (and is
 * what shoal_list returns). */
typedef int (*shoal_list_fn)(void *arg, const shoal_entry *e);

/* shoal_list: the keys of BUCKET that start with PREFIX (NULL: all), after
 * START_AFTER (NULL: from the first), rolled up at DELIMITER (NULL: none)
 * into common prefixes, page by page from S3 through a node (the next one
 * when it fails): 0 once every entry was given to FN, FN's nonzero value,
 * or a code. */
SHOAL_API int shoal_list(shoal *sh, const char *bucket, const char *prefix, const char *delimiter,
                         const char *start_after, shoal_list_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
