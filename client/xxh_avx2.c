/* client/xxh_avx2.c: xxhash.h's own XXH3-64, inlined here and built with
 * -mavx2 (the Makefile), for xxh.c to call when the CPU has AVX2. Nothing
 * else in this file: none of it may run on a CPU without AVX2. */
#if defined(__x86_64__)
#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t wire_xxh3_avx2(const void *p, size_t n);
void wire_xxh3_avx2_update(void *st, const void *p, size_t n);

uint64_t wire_xxh3_avx2(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

/* ST: libxxhash's XXH3_state_t; the inlined header's is the same struct */
void wire_xxh3_avx2_update(void *st, const void *p, size_t n)
{
    (void)XXH3_64bits_update(st, p, n);
}
#else
typedef int wire_xxh_avx2_unused; /* an empty file is not ISO C */
#endif
