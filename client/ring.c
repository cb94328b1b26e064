/* client/ring.c: the public placement API (shoal_ring_*, shoal_block_id)
 * over ring/. Keeps the view a caller edits apart from the ring last built
 * from it, so a failed rebuild leaves the old placement in force. */
#include "client/shoal.h"

#include "ring/ring.h"

#include <stdlib.h>
#include <string.h>

struct shoal_ring {
    struct ring_member *view; /* the members as edited */
    size_t nview, capview;
    struct ring *ring; /* built from the view at the last shoal_ring_build() */
};

_Static_assert(SHOAL_ID_LEN == RING_ID_LEN, "id sizes differ");
_Static_assert(SHOAL_ZONE_MAX == RING_ZONE_MAX, "zone sizes differ");
_Static_assert(SHOAL_WEIGHT_MAX == RING_WEIGHT_MAX, "weight limits differ");
_Static_assert(SHOAL_REPLICAS_MAX == RING_REPLICAS_MAX, "replica limits differ");

static int from_ring_err(int err)
{
    switch (err) {
    case RING_OK:
        return SHOAL_OK;
    case RING_ENOMEM:
        return SHOAL_ENOMEM;
    case RING_EDUP:
        return SHOAL_EDUP;
    default:
        return SHOAL_EINVAL;
    }
}

SHOAL_API const char *shoal_strerror(int err)
{
    switch (err) {
    case SHOAL_OK:
        return "ok";
    case SHOAL_ENOMEM:
        return "out of memory";
    case SHOAL_EINVAL:
        return "invalid argument";
    case SHOAL_EDUP:
        return "member already in the view";
    case SHOAL_ENOENT:
        return "no such member, or no such object";
    case SHOAL_EEMPTY:
        return "the ring has no members";
    case SHOAL_EIO:
        return "a connection to a node failed";
    case SHOAL_EAUTH:
        return "authentication failed (not the cluster's key)";
    case SHOAL_EUNAVAIL:
        return "no owner could serve the request";
    case SHOAL_ECHANGED:
        return "the object changed during the read";
    case SHOAL_EPROTO:
        return "protocol error (or another cluster name, version or block size)";
    case SHOAL_ETIMEDOUT:
        return "a node did not answer in time";
    case SHOAL_ENOSEEDS:
        return "no seed could be reached";
    case SHOAL_EKEYFILE:
        return "the key file does not load";
    case SHOAL_ERDONLY:
        return "the mount is read-only";
    case SHOAL_ETOOBIG:
        return "the object is too large for one write";
    }
    return "unknown error";
}

SHOAL_API int shoal_block_id(const char *mount, const char *key, const char *etag,
                             uint64_t block_size, uint64_t index, uint8_t out[SHOAL_ID_LEN])
{
    if (!mount || !key || !etag || !out || block_size == 0)
        return SHOAL_EINVAL;
    return from_ring_err(ring_block_id(mount, key, etag, block_size, index, out));
}

SHOAL_API int shoal_ring_new(shoal_ring **out)
{
    struct shoal_ring *r;
    int err;
    if (!out)
        return SHOAL_EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return SHOAL_ENOMEM;
    err = from_ring_err(ring_build(NULL, 0, &r->ring));
    if (err) {
        free(r);
        return err;
    }
    *out = r;
    return SHOAL_OK;
}

SHOAL_API void shoal_ring_free(shoal_ring *r)
{
    if (!r)
        return;
    ring_free(r->ring);
    free(r->view);
    free(r);
}

static ssize_t view_find(const shoal_ring *r, const uint8_t id[SHOAL_ID_LEN])
{
    for (size_t i = 0; i < r->nview; i++)
        if (memcmp(r->view[i].id, id, SHOAL_ID_LEN) == 0)
            return (ssize_t)i;
    return -1;
}

SHOAL_API int shoal_ring_add(shoal_ring *r, const uint8_t id[SHOAL_ID_LEN], uint32_t weight,
                             const char *zone)
{
    struct ring_member m;
    if (!r || !id || weight < 1 || weight > SHOAL_WEIGHT_MAX ||
        (zone && strlen(zone) >= SHOAL_ZONE_MAX))
        return SHOAL_EINVAL;
    if (view_find(r, id) >= 0)
        return SHOAL_EDUP;
    if (r->nview == r->capview) {
        size_t cap = r->capview ? 2 * r->capview : 16;
        struct ring_member *v = realloc(r->view, cap * sizeof(*v));
        if (!v)
            return SHOAL_ENOMEM;
        r->view = v;
        r->capview = cap;
    }
    memset(&m, 0, sizeof(m));
    memcpy(m.id, id, SHOAL_ID_LEN);
    m.weight = weight;
    if (zone)
        memcpy(m.zone, zone, strlen(zone) + 1);
    m.state = RING_ALIVE;
    r->view[r->nview++] = m;
    return SHOAL_OK;
}

SHOAL_API int shoal_ring_remove(shoal_ring *r, const uint8_t id[SHOAL_ID_LEN])
{
    ssize_t i;
    if (!r || !id)
        return SHOAL_EINVAL;
    i = view_find(r, id);
    if (i < 0)
        return SHOAL_ENOENT;
    r->view[i] = r->view[--r->nview];
    return SHOAL_OK;
}

SHOAL_API int shoal_ring_build(shoal_ring *r)
{
    struct ring *nr;
    int err;
    if (!r)
        return SHOAL_EINVAL;
    err = from_ring_err(ring_build(r->view, r->nview, &nr));
    if (err)
        return err;
    ring_free(r->ring);
    r->ring = nr;
    return SHOAL_OK;
}

SHOAL_API size_t shoal_ring_size(const shoal_ring *r)
{
    return r ? ring_size(r->ring) : 0;
}

SHOAL_API int shoal_ring_member(const shoal_ring *r, size_t idx, uint8_t id[SHOAL_ID_LEN],
                                uint32_t *weight, const char **zone)
{
    const struct ring_member *m = r ? ring_member_at(r->ring, idx) : NULL;
    if (!m)
        return SHOAL_ENOENT;
    if (id)
        memcpy(id, m->id, SHOAL_ID_LEN);
    if (weight)
        *weight = m->weight;
    if (zone)
        *zone = m->zone;
    return SHOAL_OK;
}

SHOAL_API uint64_t shoal_ring_epoch(const shoal_ring *r)
{
    return r ? ring_epoch(r->ring) : 0;
}

SHOAL_API int shoal_ring_owner(const shoal_ring *r, const uint8_t key[SHOAL_ID_LEN])
{
    int m;
    if (!r || !key)
        return SHOAL_EINVAL;
    m = ring_owner(r->ring, key);
    return m < 0 ? SHOAL_EEMPTY : m;
}

SHOAL_API size_t shoal_ring_owners(const shoal_ring *r, const uint8_t key[SHOAL_ID_LEN],
                                   size_t nrep, uint32_t *out)
{
    if (!r || !key || !out)
        return 0;
    return ring_owners(r->ring, key, nrep, out);
}
