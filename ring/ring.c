/* ring/ring.c: the consistent-hash ring (multi-probe placement).
 *
 * Each placed member puts `weight` points on a 64-bit circle, at positions
 * hashed from its id alone. A key is hashed to RING_PROBES probe positions;
 * its primary owner is the member whose point follows some probe most
 * closely (the smallest clockwise distance over all probes). This is
 * multi-probe consistent hashing (Appleton & O'Reilly, 2015).
 *
 * Why: every member's rank for a key depends only on the key and that
 * member's own points, so a join only takes keys for the new member and a
 * leave only gives away the leaver's keys: nothing moves between members that
 * stayed. Where plain virtual nodes need thousands of points per member to
 * bring peak-to-mean near 1 (spread ~1/sqrt(points)), taking the minimum over
 * K probes caps every member's share at the same level and leaves only the
 * members with unusually short arcs a little below it: peak-to-mean falls as
 * ~1+1/K with a single point per member. docs/architecture.md has the figures.
 *
 * Lookup: a bucket table over the top bits of the circle gives the first
 * point at or after a probe in O(1) expected time; the points and the table
 * for 1000 members fit in L1/L2, so K probes cost a few ns each.
 *
 * Replicas: members ranked by their smallest distance over all probes
 * (a K-way merge of the clockwise walks from the probes); the first member of
 * each new zone is taken until min(R, zones) zones are used, then the rest in
 * rank order. */
#include "ring/ring.h"

#include <endian.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define RING_POINTS_MAX (1u << 20)
#define RING_BUCKETS_MAX (1u << 23)
#define GOLDEN64 0x9E3779B97F4A7C15ULL

struct ring {
    struct ring_member *members; /* placed members, sorted by id */
    uint32_t *zone_of;           /* members' zone numbers */
    size_t nmembers;
    size_t nzones;
    uint32_t *pos;   /* npoints positions on the 2^32 circle, sorted by (pos, member) */
    uint32_t *owner; /* npoints member indexes */
    uint32_t *first; /* nbuckets: index of the first point with pos >= bucket start
                      * (npoints when none) */
    uint32_t *succ;  /* 2 x nbuckets: positions of that point and the next one
                      * (wrapping to point 0 past the last point) */
    uint32_t npoints;
    uint32_t lap;   /* 2^32 - bucket width: a larger distance means a point lies
                     * in the probe's bucket before the probe */
    unsigned shift; /* bucket = pos >> shift */
    uint64_t epoch;
};

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

static void store_le64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

/* MurmurHash3's 64-bit finalizer: a fixed, well-studied bijective mixer. */
static inline uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    x ^= x >> 33;
    return x;
}

/* Point i of a member: the top 32 bits of a mix of its id and i. */
static uint32_t point_pos(const uint8_t id[RING_ID_LEN], uint32_t i)
{
    uint64_t h = fmix64(load_le64(id) + fmix64(load_le64(id + 8) ^ ((uint64_t)(i + 1) * GOLDEN64)));
    return (uint32_t)(h >> 32);
}

/* Probe j of a key: the top half of (k0 xor j*golden) * k1 mod 2^64, where
 * k0 and k1 are the key's two 64-bit halves (k1 made odd). One multiply per
 * probe; the top bits of the product depend on every bit of both factors.
 * Block ids are SHA-256 output, so k0 and k1 are uniform. */
static inline uint32_t probe_pos(uint64_t k0, uint64_t k1, uint32_t j)
{
    return (uint32_t)(((k0 ^ (j * GOLDEN64)) * k1) >> 32);
}

const char *ring_strerror(int err)
{
    switch (err) {
    case RING_OK:
        return "ok";
    case RING_ENOMEM:
        return "out of memory";
    case RING_EINVAL:
        return "invalid member (weight, zone or count out of range)";
    case RING_EDUP:
        return "duplicate member id";
    }
    return "unknown ring error";
}

const char *ring_state_name(enum ring_state st)
{
    switch (st) {
    case RING_ALIVE:
        return "alive";
    case RING_SUSPECT:
        return "suspect";
    case RING_LEAVING:
        return "leaving";
    case RING_DEAD:
        return "dead";
    case RING_LEFT:
        return "left";
    }
    return "unknown";
}

static int placed(enum ring_state st)
{
    return st == RING_ALIVE || st == RING_SUSPECT;
}

static int member_cmp(const void *a, const void *b)
{
    return memcmp(((const struct ring_member *)a)->id, ((const struct ring_member *)b)->id,
                  RING_ID_LEN);
}

/* Sort key of a point: position in the high half, member in the low half. */
static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct zone_idx {
    const char *zone;
    uint32_t member;
};

static int zone_idx_cmp(const void *a, const void *b)
{
    const struct zone_idx *x = a, *y = b;
    int c = strcmp(x->zone, y->zone);
    return c ? c : (x->member < y->member ? -1 : x->member > y->member);
}

/* Numbers the zones in name order; fills r->zone_of and r->nzones. */
static int number_zones(struct ring *r)
{
    size_t n = r->nmembers;
    struct zone_idx *z = malloc((n ? n : 1) * sizeof(*z));
    if (!z)
        return RING_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        z[i].zone = r->members[i].zone;
        z[i].member = (uint32_t)i;
    }
    qsort(z, n, sizeof(*z), zone_idx_cmp);
    r->nzones = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(z[i].zone, z[i - 1].zone) != 0)
            r->nzones++;
        r->zone_of[z[i].member] = (uint32_t)(r->nzones - 1);
    }
    free(z);
    return RING_OK;
}

/* A small SHA-256 stream over OpenSSL's EVP interface. */
struct sha {
    EVP_MD_CTX *ctx;
};

static int sha_begin(struct sha *s)
{
    s->ctx = EVP_MD_CTX_new();
    if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(s->ctx);
        return RING_ENOMEM;
    }
    return RING_OK;
}

static void sha_add(struct sha *s, const void *p, size_t n)
{
    EVP_DigestUpdate(s->ctx, p, n);
}

static void sha_add_u64(struct sha *s, uint64_t v)
{
    uint8_t b[8];
    store_le64(b, v);
    EVP_DigestUpdate(s->ctx, b, 8);
}

static void sha_add_str(struct sha *s, const char *str)
{
    size_t l = strlen(str);
    sha_add_u64(s, l);
    EVP_DigestUpdate(s->ctx, str, l);
}

static void sha_end(struct sha *s, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_DigestFinal_ex(s->ctx, out, &len);
    EVP_MD_CTX_free(s->ctx);
}

static int compute_epoch(struct ring *r)
{
    struct sha s;
    uint8_t d[32];
    if (sha_begin(&s))
        return RING_ENOMEM;
    sha_add(&s, "shoal-ring", 10);
    sha_add_u64(&s, RING_PLACEMENT);
    sha_add_u64(&s, RING_PROBES);
    sha_add_u64(&s, RING_POINTS_PER_WEIGHT);
    for (size_t i = 0; i < r->nmembers; i++) {
        const struct ring_member *m = &r->members[i];
        sha_add(&s, m->id, RING_ID_LEN);
        sha_add_u64(&s, m->weight);
        sha_add_str(&s, m->zone);
    }
    sha_end(&s, d);
    r->epoch = load_le64(d);
    return RING_OK;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    free(r->members);
    free(r->zone_of);
    free(r->pos);
    free(r->owner);
    free(r->first);
    free(r->succ);
    free(r);
}

/* Lays out the sorted points and the bucket tables. */
static int place_points(struct ring *r, size_t npts)
{
    uint64_t *keys = malloc((npts ? npts : 1) * sizeof(*keys));
    size_t nb, k = 0, p = 0;
    if (!keys)
        return RING_ENOMEM;
    for (nb = 2; nb < 8 * npts && nb < RING_BUCKETS_MAX; nb <<= 1)
        ;
    r->pos = malloc((npts ? npts : 1) * sizeof(*r->pos));
    r->owner = malloc((npts ? npts : 1) * sizeof(*r->owner));
    r->first = malloc(nb * sizeof(*r->first));
    r->succ = malloc(2 * nb * sizeof(*r->succ));
    if (!r->pos || !r->owner || !r->first || !r->succ) {
        free(keys);
        return RING_ENOMEM;
    }
    for (size_t i = 0; i < r->nmembers; i++)
        for (uint32_t j = 0; j < r->members[i].weight * RING_POINTS_PER_WEIGHT; j++)
            keys[k++] = (uint64_t)point_pos(r->members[i].id, j) << 32 | i;
    qsort(keys, npts, sizeof(*keys), u64_cmp);
    for (size_t i = 0; i < npts; i++) {
        r->pos[i] = (uint32_t)(keys[i] >> 32);
        r->owner[i] = (uint32_t)keys[i];
    }
    free(keys);
    r->npoints = (uint32_t)npts;
    r->shift = 32;
    for (size_t b = nb; b > 1; b >>= 1)
        r->shift--;
    for (size_t b = 0; b < nb; b++) {
        while (p < npts && (r->pos[p] >> r->shift) < b)
            p++;
        r->first[b] = (uint32_t)p;
        size_t p1 = p < npts ? p : 0, p2 = p1 + 1 < npts ? p1 + 1 : 0;
        r->succ[2 * b] = npts ? r->pos[p1] : 0;
        r->succ[2 * b + 1] = npts ? r->pos[p2] : 0;
    }
    r->lap = (uint32_t)(0x100000000ULL - (1ULL << r->shift));
    return RING_OK;
}

int ring_build(const struct ring_member *members, size_t n, struct ring **out)
{
    struct ring *r = NULL;
    size_t npts = 0;
    int err = RING_OK;

    if (n > RING_MEMBERS_MAX)
        return RING_EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return RING_ENOMEM;
    r->members = malloc((n ? n : 1) * sizeof(*r->members));
    r->zone_of = malloc((n ? n : 1) * sizeof(*r->zone_of));
    if (!r->members || !r->zone_of) {
        err = RING_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ring_member *m = &members[i];
        if (m->weight < 1 || m->weight > RING_WEIGHT_MAX ||
            memchr(m->zone, '\0', RING_ZONE_MAX) == NULL || (unsigned)m->state > RING_LEFT) {
            err = RING_EINVAL;
            goto out;
        }
        if (!placed(m->state))
            continue;
        r->members[r->nmembers++] = *m;
        npts += (size_t)m->weight * RING_POINTS_PER_WEIGHT;
    }
    if (npts > RING_POINTS_MAX) {
        err = RING_EINVAL;
        goto out;
    }
    qsort(r->members, r->nmembers, sizeof(*r->members), member_cmp);
    for (size_t i = 1; i < r->nmembers; i++) {
        if (memcmp(r->members[i].id, r->members[i - 1].id, RING_ID_LEN) == 0) {
            err = RING_EDUP;
            goto out;
        }
    }
    err = number_zones(r);
    if (!err)
        err = place_points(r, npts);
    if (!err)
        err = compute_epoch(r);
    if (err)
        goto out;
    *out = r;
    r = NULL;
out:
    ring_free(r);
    return err;
}

uint64_t ring_epoch(const struct ring *r)
{
    return r->epoch;
}

size_t ring_size(const struct ring *r)
{
    return r->nmembers;
}

size_t ring_zone_count(const struct ring *r)
{
    return r->nzones;
}

const struct ring_member *ring_member_at(const struct ring *r, size_t idx)
{
    return idx < r->nmembers ? &r->members[idx] : NULL;
}

/* Index of the successor of x: the first point at or after x, or point 0
 * when x is past the last point. The ring must not be empty. */
static inline uint32_t successor(const struct ring *r, uint32_t x)
{
    uint32_t i = r->first[x >> r->shift];
    while (i < r->npoints && r->pos[i] < x)
        i++;
    return i < r->npoints ? i : 0;
}

/* Distance from x to its successor: one read of the bucket's pair of
 * successors, the exact search only when both lie before x in its bucket. */
static inline uint32_t probe_dist(const struct ring *r, uint32_t x)
{
    const uint32_t *s = r->succ + 2 * (x >> r->shift);
    uint32_t d1 = s[0] - x, d2 = s[1] - x;
    uint32_t d = d1 > r->lap ? d2 : d1; /* the first lies before x: the next one */
    if (__builtin_expect(d > r->lap, 0))
        d = r->pos[successor(r, x)] - x;
    return d;
}

/* The winning probe as (distance << 32 | probe): the minimum is the closest
 * successor, the lower probe on a tie. A branch-free min keeps it predictable. */
static uint64_t best_probe_scalar(const struct ring *r, uint64_t k0, uint64_t k1)
{
    uint64_t best = UINT64_MAX;
    for (uint32_t j = 0; j < RING_PROBES; j++) {
        uint64_t v = (uint64_t)probe_dist(r, probe_pos(k0, k1, j)) << 32 | j;
        best = v < best ? v : best;
    }
    return best;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(SHOAL_NO_AVX2)
#include <immintrin.h>
#define RING_HAVE_AVX2 1

/* The same computation as best_probe_scalar, four probes at a time. AVX2 has
 * no 64-bit multiply: the top half of the low 64 bits of a*b is
 * hi32(alo*blo) + alo*bhi + ahi*blo (mod 2^32), from three 32x32 multiplies.
 * Unsigned 64-bit compares are signed compares with the sign bit flipped. */
__attribute__((target("avx2"))) static uint64_t best_probe_avx2(const struct ring *r, uint64_t k0,
                                                                uint64_t k1)
{
    const __m256i vk0 = _mm256_set1_epi64x((long long)k0);
    const __m256i blo = _mm256_set1_epi64x((long long)(k1 & 0xFFFFFFFFu));
    const __m256i bhi = _mm256_set1_epi64x((long long)(k1 >> 32));
    const __m256i m32 = _mm256_set1_epi64x(0xFFFFFFFFLL);
    const __m256i lap = _mm256_set1_epi64x(r->lap);
    const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    const __m256i step = _mm256_set1_epi64x((long long)(4 * GOLDEN64));
    const __m128i shift = _mm_cvtsi32_si128((int)r->shift);
    const long long *succ = (const long long *)(const void *)r->succ;
    __m256i jg = _mm256_set_epi64x((long long)(3 * GOLDEN64), (long long)(2 * GOLDEN64),
                                   (long long)GOLDEN64, 0);
    __m256i jv = _mm256_set_epi64x(3, 2, 1, 0);
    __m256i best = _mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL); /* UINT64_MAX, sign-flipped */
    for (uint32_t j = 0; j < RING_PROBES; j += 4) {
        __m256i a = _mm256_xor_si256(vk0, jg);
        __m256i p0 = _mm256_srli_epi64(_mm256_mul_epu32(a, blo), 32);
        __m256i p1 = _mm256_mul_epu32(a, bhi);
        __m256i p2 = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), blo);
        __m256i x = _mm256_and_si256(_mm256_add_epi64(_mm256_add_epi64(p0, p1), p2), m32);
        __m256i pair = _mm256_i64gather_epi64(succ, _mm256_srl_epi64(x, shift), 8);
        __m256i d1 = _mm256_and_si256(_mm256_sub_epi64(pair, x), m32);
        __m256i d2 = _mm256_and_si256(_mm256_sub_epi64(_mm256_srli_epi64(pair, 32), x), m32);
        __m256i d = _mm256_blendv_epi8(d1, d2, _mm256_cmpgt_epi64(d1, lap));
        __m256i slow = _mm256_cmpgt_epi64(d, lap);
        if (__builtin_expect(!_mm256_testz_si256(slow, slow), 0)) {
            uint64_t xs[4], ds[4];
            _mm256_storeu_si256((__m256i *)(void *)xs, x);
            _mm256_storeu_si256((__m256i *)(void *)ds, d);
            for (int l = 0; l < 4; l++)
                if (ds[l] > r->lap)
                    ds[l] = (uint32_t)(r->pos[successor(r, (uint32_t)xs[l])] - (uint32_t)xs[l]);
            d = _mm256_loadu_si256((const __m256i *)(const void *)ds);
        }
        __m256i v = _mm256_xor_si256(_mm256_or_si256(_mm256_slli_epi64(d, 32), jv), sign);
        best = _mm256_blendv_epi8(best, v, _mm256_cmpgt_epi64(best, v));
        jg = _mm256_add_epi64(jg, step);
        jv = _mm256_add_epi64(jv, _mm256_set1_epi64x(4));
    }
    uint64_t lanes[4], b = UINT64_MAX;
    _mm256_storeu_si256((__m256i *)(void *)lanes, best);
    for (int l = 0; l < 4; l++) {
        uint64_t v = lanes[l] ^ 0x8000000000000000ULL;
        b = v < b ? v : b;
    }
    return b;
}

_Static_assert(RING_PROBES % 4 == 0, "the AVX2 path takes probes four at a time");

static int have_avx2(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cached;
}
#endif

int ring_owner(const struct ring *r, const uint8_t key[RING_ID_LEN])
{
    if (r->npoints == 0)
        return -1;
    const uint64_t k0 = load_le64(key), k1 = load_le64(key + 8) | 1;
    uint64_t best;
#ifdef RING_HAVE_AVX2
    best = have_avx2() ? best_probe_avx2(r, k0, k1) : best_probe_scalar(r, k0, k1);
#else
    best = best_probe_scalar(r, k0, k1);
#endif
    return (int)r->owner[successor(r, probe_pos(k0, k1, (uint32_t)best))];
}

/* Walks members in rank order: a K-way merge of the clockwise walks that
 * start at the probes (distance first, then probe number). */
struct walk {
    uint32_t x[RING_PROBES];
    uint32_t d[RING_PROBES];
    uint32_t cur[RING_PROBES];
    uint32_t steps[RING_PROBES];
};

static void walk_init(const struct ring *r, struct walk *w, const uint8_t key[RING_ID_LEN])
{
    const uint64_t k0 = load_le64(key), k1 = load_le64(key + 8) | 1;
    for (uint32_t j = 0; j < RING_PROBES; j++) {
        w->x[j] = probe_pos(k0, k1, j);
        w->cur[j] = successor(r, w->x[j]);
        w->d[j] = r->pos[w->cur[j]] - w->x[j];
        w->steps[j] = 0;
    }
}

/* Next point in rank order: returns its member, or -1 when every walk has
 * gone a full lap. */
static int walk_next(const struct ring *r, struct walk *w)
{
    uint32_t bj = RING_PROBES;
    for (uint32_t j = 0; j < RING_PROBES; j++)
        if (w->steps[j] < r->npoints && (bj == RING_PROBES || w->d[j] < w->d[bj]))
            bj = j;
    if (bj == RING_PROBES)
        return -1;
    uint32_t i = w->cur[bj];
    int m = (int)r->owner[i];
    i = i + 1 < r->npoints ? i + 1 : 0;
    w->cur[bj] = i;
    w->steps[bj]++;
    w->d[bj] = r->pos[i] - w->x[bj];
    return m;
}

static int contains(const uint32_t *a, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == v)
            return 1;
    return 0;
}

size_t ring_owners(const struct ring *r, const uint8_t key[RING_ID_LEN], size_t nrep, uint32_t *out)
{
    struct walk w;
    uint32_t zones[RING_REPLICAS_MAX], spare[RING_REPLICAS_MAX];
    size_t nout = 0, nzu = 0, nspare = 0, want_zones;

    if (nrep > RING_REPLICAS_MAX)
        nrep = RING_REPLICAS_MAX;
    if (nrep > r->nmembers)
        nrep = r->nmembers;
    if (nrep == 0)
        return 0;
    if (nrep == 1) {
        out[0] = (uint32_t)ring_owner(r, key);
        return 1;
    }
    want_zones = nrep < r->nzones ? nrep : r->nzones;
    walk_init(r, &w, key);
    while (nout < nrep) {
        if (nzu == want_zones && nspare > 0) {
            /* zones are spread: members passed over earlier rank next */
            out[nout++] = spare[0];
            memmove(spare, spare + 1, --nspare * sizeof(*spare));
            continue;
        }
        int m = walk_next(r, &w);
        if (m < 0)
            break;
        uint32_t um = (uint32_t)m;
        if (contains(out, nout, um) || contains(spare, nspare, um))
            continue;
        uint32_t z = r->zone_of[um];
        if (nzu < want_zones && !contains(zones, nzu, z)) {
            zones[nzu++] = z;
            out[nout++] = um;
        } else if (nzu < want_zones) {
            if (nspare < nrep)
                spare[nspare++] = um;
        } else {
            out[nout++] = um;
        }
    }
    while (nout < nrep && nspare > 0) {
        out[nout++] = spare[0];
        memmove(spare, spare + 1, --nspare * sizeof(*spare));
    }
    return nout;
}

int ring_block_id(const char *mount, const char *key, const char *etag, uint64_t block_size,
                  uint64_t index, uint8_t out[RING_ID_LEN])
{
    struct sha s;
    uint8_t d[32];
    if (sha_begin(&s))
        return RING_ENOMEM;
    sha_add(&s, "shoal-block-v1", 14);
    sha_add_str(&s, mount);
    sha_add_str(&s, key);
    sha_add_str(&s, etag);
    sha_add_u64(&s, block_size);
    sha_add_u64(&s, index);
    sha_end(&s, d);
    memcpy(out, d, RING_ID_LEN);
    return RING_OK;
}

void ring_id_hex(const uint8_t id[RING_ID_LEN], char out[2 * RING_ID_LEN + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < RING_ID_LEN; i++) {
        out[2 * i] = hx[id[i] >> 4];
        out[2 * i + 1] = hx[id[i] & 15];
    }
    out[2 * RING_ID_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ring_id_parse(const char *hex, uint8_t out[RING_ID_LEN])
{
    uint8_t tmp[RING_ID_LEN];
    for (int i = 0; i < RING_ID_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return RING_EINVAL;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[2 * RING_ID_LEN] != '\0')
        return RING_EINVAL;
    memcpy(out, tmp, RING_ID_LEN);
    return RING_OK;
}
