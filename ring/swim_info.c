/* ring/swim_info.c: what members say of themselves, stored once.
 *
 * A machine's view holds a pointer to each member's info, not a copy: infos
 * are interned in a set (one entry per distinct info, counted by the members
 * holding it), so a view of N members costs N pointers plus the infos, and
 * machines that share a set (the simulator's thousands of nodes) share the
 * infos too. An info is immutable once interned: a member with new info
 * points at another entry. Also the address helpers of swim.h. */
#include "ring/swim_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define INFOS_MIN 64

struct info_ent {
    struct ring_swim_info info; /* normalized: see normalize() */
    uint64_t hash;
    uint64_t refs;
};

struct ring_swim_infos {
    struct info_ent **slot; /* open addressing, linear probing; NULL empty */
    size_t cap, n;
};

/* ---- addresses ------------------------------------------------------------------------ */

int ring_addr_eq(const struct ring_addr *a, const struct ring_addr *b)
{
    size_t n = a->family == 6 ? 16 : 4;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

int ring_addr_parse(const char *s, struct ring_addr *out)
{
    char host[64];
    const char *colon;
    struct ring_addr a;
    size_t hl;
    char *end;
    unsigned long port;

    memset(&a, 0, sizeof(a));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return RING_EINVAL;
        hl = (size_t)(rb - s - 1);
        if (hl >= sizeof(host))
            return RING_EINVAL;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        colon = rb + 1;
        a.family = 6;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return RING_EINVAL;
        hl = (size_t)(colon - s);
        if (hl >= sizeof(host))
            return RING_EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
        a.family = 4;
    }
    port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return RING_EINVAL;
    if (inet_pton(a.family == 6 ? AF_INET6 : AF_INET, host, a.ip) != 1)
        return RING_EINVAL;
    a.port = (uint16_t)port;
    *out = a;
    return RING_OK;
}

void ring_addr_format(const struct ring_addr *a, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (a->family == 6) {
        inet_ntop(AF_INET6, a->ip, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, a->port);
    } else if (a->family == 4) {
        inet_ntop(AF_INET, a->ip, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, a->port);
    } else {
        snprintf(out, len, "-");
    }
}

/* ---- hashes --------------------------------------------------------------------------- */

uint64_t swim_id_hash(const uint8_t id[RING_ID_LEN])
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    a ^= b * 0x9E3779B97F4A7C15ULL;
    a ^= a >> 31;
    return a * 0xBF58476D1CE4E5B9ULL;
}

uint64_t swim_name_hash(const char *name)
{
    return XXH3_64bits(name, strnlen(name, RING_NAME_MAX));
}

/* ---- the set -------------------------------------------------------------------------- */

struct ring_swim_infos *ring_swim_infos_new(void)
{
    struct ring_swim_infos *set = calloc(1, sizeof(*set));
    if (!set)
        return NULL;
    set->slot = calloc(INFOS_MIN, sizeof(*set->slot));
    if (!set->slot) {
        free(set);
        return NULL;
    }
    set->cap = INFOS_MIN;
    return set;
}

void ring_swim_infos_free(struct ring_swim_infos *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->cap; i++)
        free(set->slot[i]);
    free(set->slot);
    free(set);
}

size_t ring_swim_infos_count(const struct ring_swim_infos *set)
{
    return set->n;
}

/* Equal infos must be equal bytes: the strings' tails, the unused address
 * bytes and the padding are zeroed. */
static void normalize(const struct ring_swim_info *in, struct ring_swim_info *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, in->id, RING_ID_LEN);
    memcpy(out->name, in->name, strnlen(in->name, RING_NAME_MAX - 1));
    memcpy(out->zone, in->zone, strnlen(in->zone, RING_ZONE_MAX - 1));
    out->weight = in->weight;
    out->addr.family = in->addr.family;
    memcpy(out->addr.ip, in->addr.ip, in->addr.family == 6 ? 16 : 4);
    out->addr.port = in->addr.port;
    out->s3_port = in->s3_port;
    out->admin_port = in->admin_port;
}

static int grow(struct ring_swim_infos *set)
{
    size_t cap = set->cap * 2;
    struct info_ent **slot = calloc(cap, sizeof(*slot));
    if (!slot)
        return RING_ENOMEM;
    for (size_t i = 0; i < set->cap; i++) {
        struct info_ent *e = set->slot[i];
        if (!e)
            continue;
        size_t h = e->hash & (cap - 1);
        while (slot[h])
            h = (h + 1) & (cap - 1);
        slot[h] = e;
    }
    free(set->slot);
    set->slot = slot;
    set->cap = cap;
    return RING_OK;
}

const struct ring_swim_info *swim_info_get(struct ring_swim_infos *set,
                                           const struct ring_swim_info *in)
{
    struct ring_swim_info norm;
    struct info_ent *e;
    uint64_t hash;
    size_t h;

    normalize(in, &norm);
    hash = XXH3_64bits(&norm, sizeof(norm));
    for (h = hash & (set->cap - 1); set->slot[h]; h = (h + 1) & (set->cap - 1)) {
        e = set->slot[h];
        if (e->hash == hash && memcmp(&e->info, &norm, sizeof(norm)) == 0) {
            e->refs++;
            return &e->info;
        }
    }
    if ((set->n + 1) * 10 > set->cap * 7) {
        if (grow(set) != RING_OK)
            return NULL;
        for (h = hash & (set->cap - 1); set->slot[h]; h = (h + 1) & (set->cap - 1))
            ;
    }
    e = malloc(sizeof(*e));
    if (!e)
        return NULL;
    e->info = norm;
    e->hash = hash;
    e->refs = 1;
    set->slot[h] = e;
    set->n++;
    return &e->info;
}

void swim_info_put(struct ring_swim_infos *set, const struct ring_swim_info *info)
{
    struct info_ent *e;
    size_t h, mask = set->cap - 1;

    if (!info)
        return;
    e = (struct info_ent *)((char *)info - offsetof(struct info_ent, info));
    if (--e->refs)
        return;
    for (h = e->hash & mask; set->slot[h] != e; h = (h + 1) & mask)
        ;
    free(e);
    set->slot[h] = NULL;
    set->n--;
    /* backward-shift the run after the hole, so lookups need no tombstones */
    for (size_t j = (h + 1) & mask; set->slot[j]; j = (j + 1) & mask) {
        size_t home = set->slot[j]->hash & mask;
        /* the entry at j may move to h unless its home lies in (h, j] */
        int stays = h <= j ? (home > h && home <= j) : (home > h || home <= j);
        if (stays)
            continue;
        set->slot[h] = set->slot[j];
        set->slot[j] = NULL;
        h = j;
    }
}
