/* tests/unit/test_xxh.c: client/xxh.c's XXH3-64 (xxhash.h's AVX2 code when
 * the CPU has it) gives libxxhash's hash at every length around its internal
 * boundaries, one-shot and streamed in uneven pieces into a libxxhash
 * state. */
#include "client/xxh.h"

#include "tests/unit/harness.h"

#include <stdlib.h>

static unsigned char *buf_of(size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    for (size_t i = 0; b && i < n; i++)
        b[i] = (unsigned char)(i * 131 + (i >> 7));
    return b;
}

TEST(test_one_shot_equals_libxxhash)
{
    static const size_t lens[] = {0,   1,   3,   4,   8,    9,    16,   17,    128,     129,
                                  240, 241, 255, 256, 1023, 1024, 1025, 65536, 1 << 20, 1048577};
    unsigned char *b = buf_of(1048577);
    REQUIRE(b);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        CHECK(wire_xxh3(b, lens[i]) == XXH3_64bits(b, lens[i]));
    CHECK(wire_xxh3(b + 3, 100000) == XXH3_64bits(b + 3, 100000)); /* unaligned */
    free(b);
}

TEST(test_streamed_equals_one_shot)
{
    size_t n = (1 << 20) + 12345;
    unsigned char *b = buf_of(n);
    XXH3_state_t *st = XXH3_createState();
    REQUIRE(b && st);
    XXH3_64bits_reset(st);
    for (size_t off = 0, k = 1; off < n; k = k * 3 + 7) {
        size_t piece = k % 70000 + 1;
        if (piece > n - off)
            piece = n - off;
        wire_xxh3_update(st, b + off, piece);
        off += piece;
    }
    CHECK(XXH3_64bits_digest(st) == XXH3_64bits(b, n));
    XXH3_freeState(st);
    free(b);
}

int main(void)
{
    RUN(test_one_shot_equals_libxxhash);
    RUN(test_streamed_equals_one_shot);
    return harness_done();
}
