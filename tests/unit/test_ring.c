/* tests/unit/test_ring.c: placement. Determinism (golden vectors), minimal
 * movement on leave and join, replica distinctness, zone spread, weights,
 * epochs, block ids, and the error paths of ring_build. */
#include "ring/ring.c"

#include "tests/unit/harness.h"

#include <stdio.h>

static uint64_t sm_state;

static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rand_id(uint8_t id[RING_ID_LEN])
{
    uint64_t a = sm_next(), b = sm_next();
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

/* n members with ids from seed, zones round-robin over nz, weight 1 */
static struct ring_member *make_members(size_t n, size_t nz, uint64_t seed)
{
    struct ring_member *m = calloc(n, sizeof(*m));
    sm_state = seed;
    for (size_t i = 0; i < n; i++) {
        rand_id(m[i].id);
        m[i].weight = 1;
        snprintf(m[i].zone, sizeof(m[i].zone), "z%zu", i % nz);
        m[i].state = RING_ALIVE;
    }
    return m;
}

static int index_of(const struct ring *r, const uint8_t id[RING_ID_LEN])
{
    for (size_t i = 0; i < ring_size(r); i++)
        if (memcmp(ring_member_at(r, i)->id, id, RING_ID_LEN) == 0)
            return (int)i;
    return -1;
}

TEST(golden_block_id)
{
    uint8_t id[RING_ID_LEN];
    char hex[2 * RING_ID_LEN + 1];
    REQUIRE(ring_block_id("lakehouse", "customer/part-0.orc",
                          "\"9b2cf535f27731c974343645a3985328\"", 4 << 20, 3, id) == RING_OK);
    ring_id_hex(id, hex);
    CHECK_STR(hex, "1830d61d568326d4a41eda4119a8e19e");
    /* every field matters */
    uint8_t other[RING_ID_LEN];
    ring_block_id("lakehouse", "customer/part-0.orc", "\"9b2cf535f27731c974343645a3985328\"",
                  4 << 20, 4, other);
    CHECK(memcmp(id, other, RING_ID_LEN) != 0);
    ring_block_id("lakehouse", "customer/part-0.orc", "\"other\"", 4 << 20, 3, other);
    CHECK(memcmp(id, other, RING_ID_LEN) != 0);
    ring_block_id("lakehouse", "customer/part-0.orc", "\"9b2cf535f27731c974343645a3985328\"",
                  8 << 20, 3, other);
    CHECK(memcmp(id, other, RING_ID_LEN) != 0);
    /* length prefixes: ("ab","c") and ("a","bc") differ */
    uint8_t x[RING_ID_LEN], y[RING_ID_LEN];
    ring_block_id("m", "ab", "c", 1, 0, x);
    ring_block_id("m", "a", "bc", 1, 0, y);
    CHECK(memcmp(x, y, RING_ID_LEN) != 0);
}

TEST(golden_placement)
{
    /* The same view must give the same placement on every machine and in
     * every version: a change here changes where every block lives. */
    struct ring_member *m = make_members(5, 2, 42);
    struct ring *r;
    char out[256] = "", hex[2 * RING_ID_LEN + 1];
    REQUIRE(ring_build(m, 5, &r) == RING_OK);
    char ep[32];
    snprintf(ep, sizeof(ep), "%016llx", (unsigned long long)ring_epoch(r));
    CHECK_STR(ep, "258f7745a8cf36ea");
    sm_state = 7;
    for (int k = 0; k < 8; k++) {
        uint8_t key[RING_ID_LEN];
        uint32_t own[3];
        rand_id(key);
        size_t n = ring_owners(r, key, 3, own);
        CHECK(n == 3);
        for (size_t i = 0; i < n; i++) {
            ring_id_hex(ring_member_at(r, own[i])->id, hex);
            hex[4] = '\0';
            strcat(out, hex);
            strcat(out, i + 1 < n ? "," : ";");
        }
    }
    CHECK_STR(out, "5d6d,956e,529f;d57d,529f,5d6d;529f,d57d,5d6d;529f,f223,d57d;"
                   "5d6d,956e,f223;529f,956e,5d6d;d57d,529f,956e;f223,529f,d57d;");
    ring_free(r);
    free(m);
}

TEST(determinism_order_independent)
{
    struct ring_member *m = make_members(64, 3, 1);
    struct ring *a, *b;
    REQUIRE(ring_build(m, 64, &a) == RING_OK);
    /* reverse the view: same members, same placement, same epoch */
    for (size_t i = 0; i < 32; i++) {
        struct ring_member t = m[i];
        m[i] = m[63 - i];
        m[63 - i] = t;
    }
    REQUIRE(ring_build(m, 64, &b) == RING_OK);
    CHECK(ring_epoch(a) == ring_epoch(b));
    sm_state = 99;
    for (int k = 0; k < 20000; k++) {
        uint8_t key[RING_ID_LEN];
        uint32_t oa[3], ob[3];
        rand_id(key);
        REQUIRE(ring_owner(a, key) == ring_owner(b, key));
        REQUIRE(ring_owners(a, key, 3, oa) == 3 && ring_owners(b, key, 3, ob) == 3);
        REQUIRE(memcmp(oa, ob, sizeof(oa)) == 0);
    }
    ring_free(a);
    ring_free(b);
    free(m);
}

/* Leave and join: every block that changes owner goes from the leaver or to
 * the joiner; nothing moves between members that stayed. */
TEST(minimal_movement)
{
    const size_t n = 40;
    struct ring_member *m = make_members(n + 1, 4, 5);
    struct ring *base, *left, *joined;
    size_t moved_leave = 0, moved_join = 0, keys = 100000;
    REQUIRE(ring_build(m, n, &base) == RING_OK);
    REQUIRE(ring_build(m + 1, n - 1, &left) == RING_OK); /* m[0] leaves */
    REQUIRE(ring_build(m, n + 1, &joined) == RING_OK);   /* m[n] joins */
    int leaver = index_of(base, m[0].id);
    int joiner = index_of(joined, m[n].id);
    REQUIRE(leaver >= 0 && joiner >= 0);
    sm_state = 1234;
    for (size_t k = 0; k < keys; k++) {
        uint8_t key[RING_ID_LEN];
        rand_id(key);
        const uint8_t *ob = ring_member_at(base, (size_t)ring_owner(base, key))->id;
        const uint8_t *ol = ring_member_at(left, (size_t)ring_owner(left, key))->id;
        int oj = ring_owner(joined, key);
        if (memcmp(ob, ol, RING_ID_LEN) != 0) {
            moved_leave++;
            REQUIRE(memcmp(ob, m[0].id, RING_ID_LEN) == 0);
        }
        if (memcmp(ob, ring_member_at(joined, (size_t)oj)->id, RING_ID_LEN) != 0) {
            moved_join++;
            REQUIRE(oj == joiner);
        }
    }
    /* about 1/n moves each way; well within 1.5x of ideal at these sizes */
    CHECK(moved_leave > keys / n / 2 && moved_leave < keys * 3 / n / 2);
    CHECK(moved_join > keys / (n + 1) / 2 && moved_join < keys * 3 / (n + 1) / 2);
    ring_free(base);
    ring_free(left);
    ring_free(joined);
    free(m);
}

TEST(balance)
{
    const size_t n = 10, keys = 1000000;
    struct ring_member *m = make_members(n, 1, 77);
    struct ring *r;
    size_t count[10] = {0}, mx = 0, mn = SIZE_MAX;
    REQUIRE(ring_build(m, n, &r) == RING_OK);
    sm_state = 4321;
    for (size_t k = 0; k < keys; k++) {
        uint8_t key[RING_ID_LEN];
        rand_id(key);
        count[ring_owner(r, key)]++;
    }
    for (size_t i = 0; i < n; i++) {
        mx = count[i] > mx ? count[i] : mx;
        mn = count[i] < mn ? count[i] : mn;
    }
    double mean = (double)keys / n;
    CHECK(mx / mean <= 1.05);
    CHECK(mn / mean >= 0.6);
    ring_free(r);
    free(m);
}

TEST(weights_proportional)
{
    const size_t n = 12, keys = 600000;
    struct ring_member *m = make_members(n, 1, 3);
    struct ring *r;
    double light = 0, heavy = 0;
    for (size_t i = 0; i < n; i++)
        m[i].weight = i % 2 ? 3 : 1; /* half weigh 3 */
    REQUIRE(ring_build(m, n, &r) == RING_OK);
    sm_state = 8;
    for (size_t k = 0; k < keys; k++) {
        uint8_t key[RING_ID_LEN];
        rand_id(key);
        int o = ring_owner(r, key);
        if (ring_member_at(r, (size_t)o)->weight == 3)
            heavy++;
        else
            light++;
    }
    /* total weight 6*1 + 6*3 = 24: heavy members should own 18/24 */
    CHECK(heavy / keys > 0.72 && heavy / keys < 0.78);
    CHECK(light / keys > 0.22 && light / keys < 0.28);
    ring_free(r);
    free(m);
}

TEST(replicas_distinct_and_zone_spread)
{
    struct ring_member *m = make_members(30, 3, 11);
    struct ring *r;
    REQUIRE(ring_build(m, 30, &r) == RING_OK);
    CHECK(ring_zone_count(r) == 3);
    sm_state = 5;
    for (int k = 0; k < 20000; k++) {
        uint8_t key[RING_ID_LEN];
        uint32_t own[5];
        rand_id(key);
        REQUIRE(ring_owners(r, key, 5, own) == 5);
        REQUIRE((int)own[0] == ring_owner(r, key));
        for (int i = 0; i < 5; i++)
            for (int j = i + 1; j < 5; j++)
                REQUIRE(own[i] != own[j]);
        /* R=3 over 3 zones: all three zones */
        uint32_t z3[3];
        REQUIRE(ring_owners(r, key, 3, z3) == 3);
        REQUIRE(r->zone_of[z3[0]] != r->zone_of[z3[1]] && r->zone_of[z3[0]] != r->zone_of[z3[2]] &&
                r->zone_of[z3[1]] != r->zone_of[z3[2]]);
        /* R=5 over 3 zones: the first three cover all zones */
        REQUIRE(r->zone_of[own[0]] != r->zone_of[own[1]] &&
                r->zone_of[own[0]] != r->zone_of[own[2]] &&
                r->zone_of[own[1]] != r->zone_of[own[2]]);
    }
    ring_free(r);
    free(m);
}

TEST(replicas_capped_by_members)
{
    struct ring_member *m = make_members(3, 1, 2);
    struct ring *r;
    uint32_t own[RING_REPLICAS_MAX];
    uint8_t key[RING_ID_LEN] = {1, 2, 3};
    REQUIRE(ring_build(m, 3, &r) == RING_OK);
    CHECK(ring_owners(r, key, 7, own) == 3);
    CHECK(own[0] != own[1] && own[1] != own[2] && own[0] != own[2]);
    CHECK(ring_owners(r, key, 0, own) == 0);
    ring_free(r);
    free(m);
}

TEST(states_placed)
{
    struct ring_member *m = make_members(6, 1, 9);
    struct ring *r, *r2;
    m[1].state = RING_DEAD;
    m[2].state = RING_LEAVING;
    m[3].state = RING_LEFT;
    m[4].state = RING_SUSPECT;
    REQUIRE(ring_build(m, 6, &r) == RING_OK);
    CHECK(ring_size(r) == 3); /* alive and suspect own blocks */
    REQUIRE(ring_build(m, 6, &r2) == RING_OK);
    CHECK(ring_epoch(r) == ring_epoch(r2));
    ring_free(r2);
    /* suspect -> alive changes nothing: same placement, same epoch */
    m[4].state = RING_ALIVE;
    REQUIRE(ring_build(m, 6, &r2) == RING_OK);
    CHECK(ring_epoch(r) == ring_epoch(r2));
    ring_free(r2);
    /* a weight or zone change changes the epoch */
    m[0].weight = 2;
    REQUIRE(ring_build(m, 6, &r2) == RING_OK);
    CHECK(ring_epoch(r) != ring_epoch(r2));
    ring_free(r2);
    m[0].weight = 1;
    strcpy(m[0].zone, "elsewhere");
    REQUIRE(ring_build(m, 6, &r2) == RING_OK);
    CHECK(ring_epoch(r) != ring_epoch(r2));
    ring_free(r2);
    ring_free(r);
    free(m);
}

TEST(empty_and_single)
{
    struct ring *r;
    uint8_t key[RING_ID_LEN] = {0};
    uint32_t own[2];
    REQUIRE(ring_build(NULL, 0, &r) == RING_OK);
    CHECK(ring_owner(r, key) == -1);
    CHECK(ring_owners(r, key, 2, own) == 0);
    ring_free(r);
    struct ring_member *m = make_members(1, 1, 4);
    REQUIRE(ring_build(m, 1, &r) == RING_OK);
    sm_state = 3;
    for (int k = 0; k < 1000; k++) {
        rand_id(key);
        REQUIRE(ring_owner(r, key) == 0);
    }
    ring_free(r);
    free(m);
}

TEST(build_errors)
{
    struct ring_member *m = make_members(3, 1, 6);
    struct ring *r = (struct ring *)0x1;
    m[1].weight = 0;
    CHECK(ring_build(m, 3, &r) == RING_EINVAL);
    m[1].weight = RING_WEIGHT_MAX + 1;
    CHECK(ring_build(m, 3, &r) == RING_EINVAL);
    m[1].weight = 1;
    memset(m[1].zone, 'z', sizeof(m[1].zone)); /* no terminator */
    CHECK(ring_build(m, 3, &r) == RING_EINVAL);
    strcpy(m[1].zone, "ok");
    m[1].state = (enum ring_state)17;
    CHECK(ring_build(m, 3, &r) == RING_EINVAL);
    m[1].state = RING_ALIVE;
    memcpy(m[2].id, m[0].id, RING_ID_LEN);
    CHECK(ring_build(m, 3, &r) == RING_EDUP);
    CHECK(r == (struct ring *)0x1); /* out-parameter untouched on failure */
    CHECK(strcmp(ring_strerror(RING_EDUP), "duplicate member id") == 0);
    free(m);
}

/* Points in the same bucket before a probe take the slow path; build a ring
 * dense enough that it happens and check against a plain linear scan. */
TEST(owner_matches_reference)
{
    struct ring_member *m = make_members(200, 1, 21);
    struct ring *r;
    for (size_t i = 0; i < 200; i++)
        m[i].weight = 1 + (uint32_t)(i % 7);
    REQUIRE(ring_build(m, 200, &r) == RING_OK);
    sm_state = 17;
    for (int k = 0; k < 3000; k++) {
        uint8_t key[RING_ID_LEN];
        rand_id(key);
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8) | 1;
        uint32_t bestd = UINT32_MAX, bestm = 0;
        for (uint32_t j = 0; j < RING_PROBES; j++) {
            uint32_t x = probe_pos(k0, k1, j), d = UINT32_MAX, mm = 0;
            for (uint32_t p = 0; p < r->npoints; p++) { /* successor by linear scan */
                uint32_t dd = r->pos[p] - x;
                if (dd < d) {
                    d = dd;
                    mm = r->owner[p];
                }
            }
            if (d < bestd) {
                bestd = d;
                bestm = mm;
            }
        }
        REQUIRE((uint32_t)ring_owner(r, key) == bestm);
    }
    ring_free(r);
    free(m);
}

/* The AVX2 path must place exactly as the portable one. */
TEST(simd_matches_scalar)
{
#ifdef RING_HAVE_AVX2
    if (!have_avx2())
        return;
    struct ring_member *m = make_members(300, 1, 31);
    struct ring *r;
    for (size_t i = 0; i < 300; i++)
        m[i].weight = 1 + (uint32_t)(i % 13); /* dense: the slow path runs too */
    REQUIRE(ring_build(m, 300, &r) == RING_OK);
    sm_state = 41;
    for (int k = 0; k < 200000; k++) {
        uint64_t k0 = sm_next(), k1 = sm_next() | 1;
        REQUIRE(best_probe_avx2(r, k0, k1) == best_probe_scalar(r, k0, k1));
    }
    ring_free(r);
    free(m);
#endif
}

TEST(id_hex_roundtrip)
{
    uint8_t id[RING_ID_LEN], back[RING_ID_LEN];
    char hex[2 * RING_ID_LEN + 1];
    sm_state = 1;
    rand_id(id);
    ring_id_hex(id, hex);
    CHECK(strlen(hex) == 32);
    CHECK(ring_id_parse(hex, back) == RING_OK && memcmp(id, back, RING_ID_LEN) == 0);
    CHECK(ring_id_parse("00", back) == RING_EINVAL);
    CHECK(ring_id_parse("zz112233445566778899aabbccddeeff", back) == RING_EINVAL);
    CHECK(ring_id_parse("00112233445566778899aabbccddeeff0", back) == RING_EINVAL);
}

int main(void)
{
    RUN(golden_block_id);
    RUN(golden_placement);
    RUN(determinism_order_independent);
    RUN(minimal_movement);
    RUN(balance);
    RUN(weights_proportional);
    RUN(replicas_distinct_and_zone_spread);
    RUN(replicas_capped_by_members);
    RUN(states_placed);
    RUN(empty_and_single);
    RUN(build_errors);
    RUN(owner_matches_reference);
    RUN(simd_matches_scalar);
    RUN(id_hex_roundtrip);
    return harness_done();
}
