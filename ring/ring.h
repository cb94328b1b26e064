/* ring/ring.h: placement. The consistent-hash ring built from a membership
 * view, and block ids.
 *
 * Pure code: no sockets, no clock reads, no global state. The same view gives
 * the same placement on every machine and architecture: hashes, byte order and
 * the probe count are fixed and covered by golden vectors in the unit tests.
 * Changing any of them changes placement for every block, so RING_PLACEMENT
 * (mixed into the epoch) must be bumped with them. */
#ifndef SHOAL_RING_H
#define SHOAL_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_ID_LEN 16      /* node ids and block ids are 128-bit */
#define RING_ZONE_MAX 64    /* zone names, including the NUL */
#define RING_WEIGHT_MAX 256 /* weights are 1..256 */
#ifndef RING_POINTS_PER_WEIGHT
#define RING_POINTS_PER_WEIGHT 4 /* points per unit of weight */
#endif
#define RING_MEMBERS_MAX 65536
#define RING_REPLICAS_MAX 16
#ifndef RING_PROBES
#define RING_PROBES 40 /* probes per key: see docs/architecture.md */
#endif
#define RING_PLACEMENT 1 /* version of the placement function */

enum ring_err {
    RING_OK = 0,
    RING_ENOMEM = -1, /* out of memory */
    RING_EINVAL = -2, /* bad argument: weight 0 or too large, zone too long, too many members */
    RING_EDUP = -3,   /* two members with the same id */
};

/* Member states, as the membership state machine (ring/swim.h)
 * defines them. Only alive and suspect members own blocks: a suspect may be
 * alive, and moving its blocks on suspicion alone would thrash. */
enum ring_state {
    RING_ALIVE = 0,
    RING_SUSPECT = 1,
    RING_LEAVING = 2,
    RING_DEAD = 3,
    RING_LEFT = 4,
};

struct ring_member {
    uint8_t id[RING_ID_LEN];
    uint32_t weight;          /* 1..RING_WEIGHT_MAX */
    char zone[RING_ZONE_MAX]; /* "" counts as a zone of its own name */
    enum ring_state state;
};

struct ring;

const char *ring_strerror(int err);
const char *ring_state_name(enum ring_state st);

/* Builds a ring from a view of n members (any order; members that own
 * nothing, such as dead ones, are skipped). On success *out owns a new ring
 * (free with ring_free) and 0 is returned; an empty placed set is allowed
 * (lookups then return nothing). The view is copied. */
int ring_build(const struct ring_member *members, size_t n, struct ring **out);
void ring_free(struct ring *r);

/* The epoch: a hash of the placed member set (ids, weights, zones) and the
 * placement version. Equal epochs mean equal placement. */
uint64_t ring_epoch(const struct ring *r);

/* Placed members are indexed 0..ring_size()-1 in id order. */
size_t ring_size(const struct ring *r);
const struct ring_member *ring_member_at(const struct ring *r, size_t idx);
size_t ring_zone_count(const struct ring *r);

/* The primary owner of a key (a block id): the member index, or -1 when the
 * ring is empty. */
int ring_owner(const struct ring *r, const uint8_t key[RING_ID_LEN]);

/* Up to nrep distinct owners of a key, primary first, preferring members in
 * zones not yet used (replicas spread over min(nrep, zones) zones). Writes
 * member indexes to out[0..ret-1] and returns how many (fewer than nrep only
 * when the ring has fewer members). nrep is capped at RING_REPLICAS_MAX. */
size_t ring_owners(const struct ring *r, const uint8_t key[RING_ID_LEN], size_t nrep,
                   uint32_t *out);

/* The block id of block `index` of an object version: the first 16 bytes of
 * SHA-256 over a versioned, length-prefixed encoding of (mount, key, etag,
 * block_size, index). A new ETag gives new ids, so stale bytes never mix with
 * new ones. Returns 0, or RING_ENOMEM when OpenSSL cannot allocate. */
int ring_block_id(const char *mount, const char *key, const char *etag, uint64_t block_size,
                  uint64_t index, uint8_t out[RING_ID_LEN]);

/* Hex helpers for logs and tools: 32 hex digits + NUL. */
void ring_id_hex(const uint8_t id[RING_ID_LEN], char out[2 * RING_ID_LEN + 1]);
int ring_id_parse(const char *hex, uint8_t out[RING_ID_LEN]);

#endif
