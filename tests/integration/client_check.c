/* tests/integration/client_check.c: drives libshoal's public API against a
 * real cluster for test_client.sh (it links only libshoal and includes
 * only shoal.h). The cluster comes from the environment: SHOAL_SEEDS,
 * SHOAL_KEY_FILE, SHOAL_CLUSTER, SHOAL_BLOCK_SIZE.
 *
 *   client_check open                         "ok EPOCH" or "err NAME"
 *   client_check stat BUCKET KEY              "SIZE ETAG" or "err NAME"
 *   client_check verify BUCKET KEY FILE N THREADS
 *        N random preads per thread (any offset and length, across blocks,
 *        past the end) compared with FILE: "ok READS BYTES MAX_MS" (the
 *        slowest read) or the first difference
 *   client_check stream BUCKET KEY FILE N READAHEAD
 *        a streaming reader (READAHEAD bytes, 0: the default) through N
 *        reads of random lengths, with a random seek now and then (behind,
 *        ahead, inside what was read ahead), to the end, compared with
 *        FILE: "ok READS BYTES" or the first difference
 *   client_check epochs BUCKET KEY FLAG       the epoch, then (once FLAG
 *        exists) a read and the epoch again: "EPOCH1 EPOCH2"
 *
 * Exit 0 when the output is "ok ..." or data, 1 otherwise. */
#include "client/shoal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int err)
{
    static const char *names[] = {"ok",       "ENOMEM",   "EINVAL",  "EDUP",
                                  "ENOENT",   "EEMPTY",   "EIO",     "EAUTH",
                                  "EUNAVAIL", "ECHANGED", "EPROTO",  "ETIMEDOUT",
                                  "ENOSEEDS", "EKEYFILE", "ERDONLY", "ETOOBIG"};
    return err <= 0 && -err < (int)(sizeof(names) / sizeof(names[0])) ? names[-err] : "?";
}

static int open_env(shoal **sh)
{
    shoal_opts o;
    memset(&o, 0, sizeof(o));
    o.key_file = getenv("SHOAL_KEY_FILE");
    o.cluster = getenv("SHOAL_CLUSTER");
    o.block_size = getenv("SHOAL_BLOCK_SIZE") ? strtoull(getenv("SHOAL_BLOCK_SIZE"), NULL, 10) : 0;
    o.timeout_ms = 2000;
    return shoal_open(&o, sh);
}

struct job {
    shoal *sh;
    const char *bucket, *key;
    const unsigned char *want;
    size_t size;
    long n;
    unsigned seed;
    long reads, bytes;
    double max_ms;
    char fail[256];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *verify_thread(void *arg)
{
    struct job *j = arg;
    shoal_object st;
    int err = shoal_stat(j->sh, j->bucket, j->key, &st);
    unsigned char *buf = malloc(j->size + 4096);
    if (err || !buf) {
        snprintf(j->fail, sizeof(j->fail), "stat: %s", err_name(err));
        free(buf);
        return NULL;
    }
    for (long i = 0; i < j->n; i++) {
        uint64_t off = (uint64_t)rand_r(&j->seed) % (j->size + 100);
        size_t len = (size_t)rand_r(&j->seed) % (i % 10 == 0 ? j->size + 1 : 3u << 20);
        size_t got = 0;
        double t0 = now_ms();
        err = shoal_pread(j->sh, j->bucket, j->key, i % 7 == 0 ? NULL : &st, buf, len, off, &got);
        if (now_ms() - t0 > j->max_ms)
            j->max_ms = now_ms() - t0;
        size_t want = off >= j->size ? 0 : (j->size - off < len ? j->size - off : len);
        if (err || got != want || (want && memcmp(buf, j->want + off, want) != 0)) {
            snprintf(j->fail, sizeof(j->fail), "pread off=%llu len=%zu: err=%s got=%zu want=%zu%s",
                     (unsigned long long)off, len, err_name(err), got, want,
                     !err && got == want ? " (bytes differ)" : "");
            break;
        }
        j->reads++;
        j->bytes += (long)got;
    }
    free(buf);
    return NULL;
}

static int verify(shoal *sh, char **argv)
{
    FILE *f = fopen(argv[2], "rb");
    long n = atol(argv[3]), nt = atol(argv[4]);
    if (!f || nt < 1 || nt > 64)
        return 1;
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    rewind(f);
    unsigned char *want = malloc(size ? size : 1);
    if (!want || fread(want, 1, size, f) != size)
        return 1;
    fclose(f);
    struct job jobs[64];
    pthread_t th[64];
    for (long t = 0; t < nt; t++) {
        jobs[t] = (struct job){sh, argv[0], argv[1], want, size, n, (unsigned)(t * 7919 + 1),
                               0,  0,       0,       ""};
        pthread_create(&th[t], NULL, verify_thread, &jobs[t]);
    }
    long reads = 0, bytes = 0;
    double max_ms = 0;
    const char *fail = NULL;
    for (long t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        reads += jobs[t].reads;
        bytes += jobs[t].bytes;
        if (jobs[t].max_ms > max_ms)
            max_ms = jobs[t].max_ms;
        if (jobs[t].fail[0] && !fail)
            fail = jobs[t].fail;
    }
    if (fail)
        printf("%s\n", fail);
    else
        printf("ok %ld %ld %.0f\n", reads, bytes, max_ms);
    free(want);
    return fail != NULL;
}

static int stream(shoal *sh, char **argv)
{
    FILE *f = fopen(argv[2], "rb");
    long n = atol(argv[3]);
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    rewind(f);
    unsigned char *want = malloc(size ? size : 1), *got = malloc(3 << 20);
    if (!want || !got || fread(want, 1, size, f) != size)
        return 1;
    fclose(f);
    shoal_reader *r;
    int err = shoal_reader_open(sh, argv[0], argv[1], (size_t)atol(argv[4]), &r);
    if (err) {
        printf("err %s\n", err_name(err));
        free(want);
        free(got);
        return 1;
    }
    unsigned seed = 12345;
    long reads = 0, bytes = 0;
    int rc = 1;
    if (shoal_reader_object(r)->size != size) {
        printf("size %llu, want %zu\n", (unsigned long long)shoal_reader_object(r)->size, size);
        goto out;
    }
    for (long i = 0; i < n; i++) {
        if (rand_r(&seed) % 5 == 0) {
            uint64_t to = size ? (uint64_t)rand_r(&seed) % (size + 1) : 0;
            if ((err = shoal_reader_seek(r, to)) != 0 || shoal_reader_tell(r) != to) {
                printf("seek to %llu: %s\n", (unsigned long long)to, err_name(err));
                goto out;
            }
        }
        uint64_t pos = shoal_reader_tell(r);
        size_t len = (size_t)(rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 16 + 1
                                                     : rand_r(&seed) % (3 << 20) + 1),
               nread;
        if ((err = shoal_reader_read(r, got, len, &nread)) != 0) {
            printf("read %zu at %llu: %s\n", len, (unsigned long long)pos, err_name(err));
            goto out;
        }
        size_t exp = pos >= size ? 0 : (size - pos < len ? size - pos : len);
        if (nread != exp || memcmp(got, want + pos, nread) != 0 ||
            shoal_reader_tell(r) != pos + nread) {
            printf("read %zu at %llu: %zu bytes, want %zu (or they differ)\n", len,
                   (unsigned long long)pos, nread, exp);
            goto out;
        }
        reads++;
        bytes += (long)nread;
    }
    /* and to the end from where it stands */
    for (;;) {
        uint64_t pos = shoal_reader_tell(r);
        size_t nread;
        if ((err = shoal_reader_read(r, got, 1 << 20, &nread)) != 0 ||
            memcmp(got, want + pos, nread) != 0) {
            printf("read to the end at %llu: %s\n", (unsigned long long)pos, err_name(err));
            goto out;
        }
        if (!nread)
            break;
        reads++;
        bytes += (long)nread;
    }
    if (shoal_reader_tell(r) != size) {
        printf("ended at %llu, want %zu\n", (unsigned long long)shoal_reader_tell(r), size);
        goto out;
    }
    printf("ok %ld %ld\n", reads, bytes);
    rc = 0;
out:
    shoal_reader_close(r);
    free(want);
    free(got);
    return rc;
}

int main(int argc, char **argv)
{
    shoal *sh;
    shoal_object st;
    if (argc < 2)
        return 2;
    int err = open_env(&sh);
    if (err) {
        printf("err %s\n", err_name(err));
        return 1;
    }
    int rc = 1;
    if (strcmp(argv[1], "open") == 0) {
        printf("ok %016llx\n", (unsigned long long)shoal_epoch(sh));
        rc = 0;
    } else if (strcmp(argv[1], "stat") == 0 && argc == 4) {
        err = shoal_stat(sh, argv[2], argv[3], &st);
        if (err)
            printf("err %s\n", err_name(err));
        else
            printf("%llu %s\n", (unsigned long long)st.size, st.etag);
        rc = err != 0;
    } else if (strcmp(argv[1], "verify") == 0 && argc == 7) {
        rc = verify(sh, argv + 2);
    } else if (strcmp(argv[1], "stream") == 0 && argc == 7) {
        rc = stream(sh, argv + 2);
    } else if (strcmp(argv[1], "epochs") == 0 && argc == 5) {
        unsigned long long e1 = (unsigned long long)shoal_epoch(sh);
        while (access(argv[4], F_OK) != 0)
            usleep(50000);
        char b[16];
        size_t got;
        err = shoal_pread(sh, argv[2], argv[3], NULL, b, sizeof(b), 0, &got);
        printf("%016llx %016llx %s\n", e1, (unsigned long long)shoal_epoch(sh), err_name(err));
        rc = err != 0;
    }
    shoal_close(sh);
    return rc;
}
