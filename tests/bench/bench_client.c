/* tests/bench/bench_client.c: libshoal's read throughput for
 * bench_client.sh, on the public API only (shoal.h). The cluster comes
 * from the environment as for the CLI (SHOAL_SEEDS, SHOAL_KEY_FILE,
 * SHOAL_CLUSTER, SHOAL_BLOCK_SIZE).
 *
 *   bench_client BUCKET KEY LEN THREADS SECONDS
 *
 * THREADS threads read LEN bytes at random LEN-aligned offsets of the
 * object for SECONDS, and it prints one line:
 *   "client reads=N seconds=S bytes=B p50_us=.. p99_us=.. errors=N" */
#include "client/shoal.h"

#include "tests/bench/bench_lat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAT_MAX 2000000

static shoal *sh;
static const char *bucket, *key;
static shoal_object st;
static size_t len;
static double stop_at;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long reads, errors;
static unsigned long long bytes;
static unsigned *lat;
static size_t nlat;

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    uint8_t *buf = malloc(len);
    uint64_t slots = st.size / len;
    while (buf && slots && bench_now() < stop_at) {
        uint64_t off = (uint64_t)(rand_r(&seed) % slots) * len;
        size_t got;
        double t0 = bench_now();
        int err = shoal_pread(sh, bucket, key, &st, buf, len, off, &got);
        unsigned us = (unsigned)((bench_now() - t0) * 1e6);
        pthread_mutex_lock(&mu);
        if (err || got != len) {
            errors++;
        } else {
            reads++;
            bytes += got;
            if (nlat < LAT_MAX)
                lat[nlat++] = us;
        }
        pthread_mutex_unlock(&mu);
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_client BUCKET KEY LEN THREADS SECONDS\n");
        return 2;
    }
    bucket = argv[1];
    key = argv[2];
    len = strtoul(argv[3], NULL, 10);
    int nt = atoi(argv[4]);
    double secs = atof(argv[5]);
    shoal_opts o;
    memset(&o, 0, sizeof(o));
    o.key_file = getenv("SHOAL_KEY_FILE");
    o.cluster = getenv("SHOAL_CLUSTER");
    o.block_size = getenv("SHOAL_BLOCK_SIZE") ? strtoull(getenv("SHOAL_BLOCK_SIZE"), NULL, 10) : 0;
    int err = shoal_open(&o, &sh);
    if (!err)
        err = shoal_stat(sh, bucket, key, &st);
    lat = malloc(LAT_MAX * sizeof(*lat));
    if (err || !lat || len == 0 || nt < 1 || nt > 256) {
        fprintf(stderr, "bench_client: %s\n", err ? shoal_strerror(err) : "bad arguments");
        return 1;
    }
    pthread_t th[256];
    double t0 = bench_now();
    stop_at = t0 + secs;
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)i);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    double took = bench_now() - t0;
    unsigned p50, p99;
    bench_pcts(lat, nlat, &p50, &p99);
    printf("client reads=%ld seconds=%.3f bytes=%llu p50_us=%u p99_us=%u errors=%ld\n", reads, took,
           bytes, p50, p99, errors);
    shoal_close(sh);
    free(lat);
    return 0;
}
