/* tests/bench/bench_memc.c: memcached's gets/s of 4 KiB values, the
 * reference for libshoal's 4 KiB reads in bench_client.sh: THREADS threads,
 * one connection each, `get` of random keys among KEYS (set first) over the
 * text protocol for SECONDS.
 *
 *   bench_memc PORT KEYS THREADS SECONDS
 *
 * prints "memc gets=N seconds=S bytes=B p50_us=.. p99_us=.. errors=N" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "tests/bench/bench_lat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define VAL 4096
#define LAT_MAX 4000000

static int port, nkeys;
static double stop_at;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long gets, errors;
static unsigned *lat;
static size_t nlat;

static int conn(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Reads until the answer ends with END (or STORED): its length, or -1. */
static long answer(int fd, char *buf, size_t cap, const char *end)
{
    size_t n = 0, el = strlen(end);
    while (n < cap) {
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        if (n >= el && memcmp(buf + n - el, end, el) == 0)
            return (long)n;
    }
    return -1;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 7;
    char req[64], *buf = malloc(VAL + 256);
    int fd = conn();
    while (fd >= 0 && buf && bench_now() < stop_at) {
        int n = snprintf(req, sizeof(req), "get k%d\r\n", rand_r(&seed) % nkeys);
        double t0 = bench_now();
        long got = send(fd, req, (size_t)n, 0) == n ? answer(fd, buf, VAL + 256, "END\r\n") : -1;
        unsigned us = (unsigned)((bench_now() - t0) * 1e6);
        pthread_mutex_lock(&mu);
        if (got < VAL)
            errors++;
        else {
            gets++;
            if (nlat < LAT_MAX)
                lat[nlat++] = us;
        }
        pthread_mutex_unlock(&mu);
        if (got < 0)
            break;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_memc PORT KEYS THREADS SECONDS\n");
        return 2;
    }
    port = atoi(argv[1]);
    nkeys = atoi(argv[2]);
    int nt = atoi(argv[3]);
    double secs = atof(argv[4]);
    char *val = malloc(VAL), *buf = malloc(256), hdr[64];
    lat = malloc(LAT_MAX * sizeof(*lat));
    int fd = conn();
    if (fd < 0 || !val || !buf || !lat || nkeys < 1 || nt < 1 || nt > 256) {
        fprintf(stderr, "bench_memc: cannot reach memcached on port %d\n", port);
        return 1;
    }
    memset(val, 'v', VAL);
    for (int k = 0; k < nkeys; k++) {
        int n = snprintf(hdr, sizeof(hdr), "set k%d 0 0 %d\r\n", k, VAL);
        if (send(fd, hdr, (size_t)n, 0) != n || send(fd, val, VAL, 0) != VAL ||
            send(fd, "\r\n", 2, 0) != 2 || answer(fd, buf, 256, "STORED\r\n") < 0) {
            fprintf(stderr, "bench_memc: set failed\n");
            return 1;
        }
    }
    close(fd);
    pthread_t th[256];
    double t0 = bench_now();
    stop_at = t0 + secs;
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    double took = bench_now() - t0;
    unsigned p50, p99;
    bench_pcts(lat, nlat, &p50, &p99);
    printf("memc gets=%ld seconds=%.3f bytes=%lld p50_us=%u p99_us=%u errors=%ld\n", gets, took,
           (long long)gets * VAL, p50, p99, errors);
    free(val);
    free(buf);
    free(lat);
    return 0;
}
