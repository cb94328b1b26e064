/* client/xxh.c: XXH3-64 through xxh_avx2.c's code when the CPU has AVX2,
 * else through libxxhash (see xxh.h). */
#include "client/xxh.h"

#if defined(__x86_64__)
uint64_t wire_xxh3_avx2(const void *p, size_t n);
void wire_xxh3_avx2_update(void *st, const void *p, size_t n);
#define HAVE_AVX2() __builtin_cpu_supports("avx2")
#else
#define HAVE_AVX2() 0
#define wire_xxh3_avx2(p, n) XXH3_64bits(p, n)
#define wire_xxh3_avx2_update(st, p, n) XXH3_64bits_update(st, p, n)
#endif

uint64_t wire_xxh3(const void *p, size_t n)
{
    return HAVE_AVX2() ? wire_xxh3_avx2(p, n) : XXH3_64bits(p, n);
}

void wire_xxh3_update(XXH3_state_t *st, const void *p, size_t n)
{
    if (HAVE_AVX2())
        wire_xxh3_avx2_update(st, p, n);
    else
        XXH3_64bits_update(st, p, n);
}
