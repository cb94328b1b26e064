/* tests/bench/bench_lat.h: what the C load drivers share: a monotonic
 * clock, and the latency samples they sort for their percentiles. */
#ifndef SHOAL_BENCH_LAT_H
#define SHOAL_BENCH_LAT_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the N samples at LAT (us) into *P50 and *P99 (0 without any). */
static inline void bench_pcts(unsigned *lat, size_t n, unsigned *p50, unsigned *p99)
{
    qsort(lat, n, sizeof(*lat), bench_cmp_u);
    *p50 = n ? lat[n / 2] : 0;
    *p99 = n ? lat[n * 99 / 100] : 0;
}

#endif
