/* client/xxh.h: XXH3-64 (for shoald and libshoal) at the speed of the CPU's vector unit. Debian's
 * libxxhash is built for the x86-64 baseline (SSE2); xxhash.h's own code
 * built for AVX2 (xxh_avx2.c) hashes a 1 MiB block twice as fast (40 against
 * 20 GB/s here), and is used when the CPU has AVX2. The same hash and the
 * same state either way: a state from XXH3_createState and XXH3_64bits_reset
 * may take wire_xxh3_update and give XXH3_64bits_digest. */
#ifndef SHOAL_CLIENT_XXH_H
#define SHOAL_CLIENT_XXH_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

uint64_t wire_xxh3(const void *p, size_t n);
void wire_xxh3_update(XXH3_state_t *st, const void *p, size_t n);

#endif
