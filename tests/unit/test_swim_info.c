/* tests/unit/test_swim_info.c: the interned member infos (ring/swim_info.c):
 * equal infos share one entry whatever their unused bytes, counts free an
 * entry with its last holder, removals keep every other entry findable, and
 * the address helpers. */
#include "ring/swim_int.h"

#include "tests/unit/harness.h"

#include <stdio.h>
#include <string.h>

static void info_of(unsigned i, struct ring_swim_info *in)
{
    memset(in, 0, sizeof(*in));
    memcpy(in->id, &i, sizeof(i));
    in->id[15] = 0x5A;
    snprintf(in->name, sizeof(in->name), "node%u", i);
    snprintf(in->zone, sizeof(in->zone), "z%u", i % 3);
    in->weight = 1;
    in->addr.family = 4;
    in->addr.ip[0] = 10;
    in->addr.ip[3] = (uint8_t)i;
    in->addr.port = 7946;
}

TEST(test_equal_infos_share)
{
    struct ring_swim_infos *set = ring_swim_infos_new();
    struct ring_swim_info a, b;
    REQUIRE(set);
    info_of(1, &a);
    info_of(1, &b);
    memset(b.name + 8, 'x', sizeof(b.name) - 8); /* junk after the NUL */
    b.addr.ip[9] = 7;                            /* unused by IPv4 */
    const struct ring_swim_info *pa = swim_info_get(set, &a), *pb = swim_info_get(set, &b);
    REQUIRE(pa && pb);
    CHECK(pa == pb);
    CHECK(ring_swim_infos_count(set) == 1);
    CHECK_STR(pa->name, "node1");
    CHECK(pa->addr.ip[9] == 0);
    b.weight = 2; /* a real difference */
    const struct ring_swim_info *pc = swim_info_get(set, &b);
    REQUIRE(pc);
    CHECK(pc != pa && pc->weight == 2);
    CHECK(ring_swim_infos_count(set) == 2);
    swim_info_put(set, pa);
    CHECK(ring_swim_infos_count(set) == 2); /* one holder left */
    swim_info_put(set, pb);
    CHECK(ring_swim_infos_count(set) == 1);
    swim_info_put(set, pc);
    CHECK(ring_swim_infos_count(set) == 0);
    swim_info_put(set, NULL); /* nothing */
    ring_swim_infos_free(set);
}

TEST(test_many_in_and_out)
{
    enum { N = 5000 };
    struct ring_swim_infos *set = ring_swim_infos_new();
    static const struct ring_swim_info *p[N];
    struct ring_swim_info in;
    REQUIRE(set);
    for (unsigned i = 0; i < N; i++) {
        info_of(i, &in);
        p[i] = swim_info_get(set, &in);
        REQUIRE(p[i]);
    }
    CHECK(ring_swim_infos_count(set) == N);
    /* drop every third: the rest are still found, at the same entries */
    for (unsigned i = 0; i < N; i += 3)
        swim_info_put(set, p[i]);
    CHECK(ring_swim_infos_count(set) == N - (N + 2) / 3);
    int same = 1;
    for (unsigned i = 0; i < N; i++) {
        if (i % 3 == 0)
            continue;
        info_of(i, &in);
        const struct ring_swim_info *q = swim_info_get(set, &in);
        same &= q == p[i];
        swim_info_put(set, q);
    }
    CHECK(same);
    CHECK(ring_swim_infos_count(set) == N - (N + 2) / 3);
    ring_swim_infos_free(set); /* frees the entries still held */
}

TEST(test_addr_helpers)
{
    struct ring_addr a, b;
    char s[64];
    CHECK(ring_addr_parse("10.1.2.3:7946", &a) == RING_OK);
    ring_addr_format(&a, s, sizeof(s));
    CHECK_STR(s, "10.1.2.3:7946");
    CHECK(ring_addr_parse("[::1]:80", &b) == RING_OK && b.family == 6);
    ring_addr_format(&b, s, sizeof(s));
    CHECK_STR(s, "[::1]:80");
    CHECK(!ring_addr_eq(&a, &b));
    CHECK(ring_addr_parse("10.1.2.3", &a) == RING_EINVAL);
    CHECK(ring_addr_parse("10.1.2.3:65536", &a) == RING_EINVAL);
    CHECK(ring_addr_parse("[::1]80", &a) == RING_EINVAL);
    CHECK(swim_name_hash("a") == swim_name_hash("a") && swim_name_hash("a") != swim_name_hash("b"));
}

int main(void)
{
    RUN(test_equal_infos_share);
    RUN(test_many_in_and_out);
    RUN(test_addr_helpers);
    return harness_done();
}
