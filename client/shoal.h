/* client/shoal.h: libshoal, the public C API of shoal.
 *
 * The only header a program needs to use shoal, and the only symbols the
 * library exports (all named shoal_*). Handles are opaque. Functions return
 * 0 or a negative SHOAL_E* code (see shoal_strerror()); out-parameters are
 * written only on success. The library never prints and never exits.
 *
 * This first version offers placement: the consistent-hash ring every node
 * and every client computes from the same membership view, and block ids.
 * Reading and writing through a cluster come with the cluster client. */
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

#ifdef __cplusplus
}
#endif
#endif
