/* tests/unit/store_util.h: helpers shared by the block store's unit tests
 * (test_store.c, test_store_disk.c): deterministic blocks, stores on
 * directories under one mkdtemp root, loads run on an event loop, file
 * counting and log capture. Static inline, so each test uses what it needs. */
#ifndef SHOAL_TESTS_UNIT_STORE_UTIL_H
#define SHOAL_TESTS_UNIT_STORE_UTIL_H

#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/store/store.h"
#include "daemon/store/store_int.h"
#include "tests/unit/harness.h"

#include <dirent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEST_RETRY_MS 200

static char tmp_root[64];
static int tmp_seq;

/* ---- helpers ------------------------------------------------------------------------ */

static inline uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline void mk_id(uint64_t n, uint8_t id[STORE_ID_LEN])
{
    uint64_t a = mix(n), b = mix(n ^ 0xabcdef);
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

/* block n: id mk_id(n), len bytes of a pattern that depends on n */
static inline struct store_block *mk_block(uint64_t n, size_t len)
{
    uint8_t id[STORE_ID_LEN];
    mk_id(n, id);
    struct store_block *b = store_block_new(id, len);
    for (size_t i = 0; i < len; i++)
        store_block_data(b)[i] = (uint8_t)(mix(n) >> (i % 8 * 8)) ^ (uint8_t)i;
    return b;
}

static inline int block_ok(struct store_block *b, uint64_t n, size_t len)
{
    struct store_block *want = mk_block(n, len);
    int ok = b && store_block_len(b) == len &&
             memcmp(store_block_data(b), store_block_data(want), len) == 0 &&
             memcmp(store_block_id(b), store_block_id(want), STORE_ID_LEN) == 0;
    store_block_unref(want);
    return ok;
}

/* put block n of len bytes; the caller's reference is dropped */
static inline void put_n(struct store *s, uint64_t n, size_t len)
{
    struct store_block *b = mk_block(n, len);
    store_put(s, b);
    store_block_unref(b);
}

static inline int has_n(struct store *s, uint64_t n)
{
    uint8_t id[STORE_ID_LEN];
    mk_id(n, id);
    struct store_block *b = store_get(s, id);
    store_block_unref(b);
    return b != NULL;
}

static inline char *new_dir(void)
{
    char *p = malloc(128);
    snprintf(p, 128, "%s/d%d", tmp_root, ++tmp_seq);
    return p;
}

/* path of block n's file under disk directory dir */
static inline void block_path(const char *dir, uint64_t n, char *out, size_t len)
{
    uint8_t id[STORE_ID_LEN];
    char name[STORE_NAME_LEN];
    mk_id(n, id);
    store_disk_name(id, 0, name);
    snprintf(out, len, "%s/blocks/%s", dir, name);
}

static inline int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* number of *.blk files under dir/blocks, and their bytes rounded to 4 KiB */
static inline size_t count_files(const char *dir, uint64_t *bytes)
{
    char p[256];
    size_t n = 0;
    if (bytes)
        *bytes = 0;
    for (int i = 0; i < 256; i++) {
        snprintf(p, sizeof(p), "%s/blocks/%02x", dir, i);
        DIR *d = opendir(p);
        struct dirent *de;
        if (!d)
            continue;
        while ((de = readdir(d))) {
            size_t l = strlen(de->d_name);
            struct stat st;
            char f[512];
            if (l < 4 || strcmp(de->d_name + l - 4, ".blk") != 0)
                continue;
            snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
            if (stat(f, &st) == 0 && bytes) /* what store_disk_file_bytes counts */
                *bytes += ((uint64_t)st.st_size + STORE_FILE_ALIGN - 1) / STORE_FILE_ALIGN *
                          STORE_FILE_ALIGN;
            n++;
        }
        closedir(d);
    }
    return n;
}

/* open a store with one disk d1 (or none), O_DIRECT as DIRECT_IO says */
static inline struct store *open_store_io(uint64_t mem, const char *d1, uint64_t d1_bytes,
                                          uint64_t bs, enum shd_eviction pol, bool direct_io)
{
    struct store_disk_conf dc = {.path = d1, .bytes = d1_bytes};
    struct store_conf c = {.mem_bytes = mem,
                           .disks = &dc,
                           .ndisks = d1 ? 1 : 0,
                           .block_size = bs,
                           .policy = pol,
                           .disk_retry_ms = TEST_RETRY_MS,
                           .direct_io = direct_io};
    struct store *s = NULL;
    return store_open(&c, &s) == 0 ? s : NULL;
}

static inline struct store *open_store(uint64_t mem, const char *d1, uint64_t d1_bytes, uint64_t bs,
                                       enum shd_eviction pol)
{
    return open_store_io(mem, d1, d1_bytes, bs, pol, false);
}

static inline struct store_stats stats(struct store *s)
{
    struct store_stats st;
    store_stats_get(s, &st);
    return st;
}

/* ---- loads on an event loop ---------------------------------------------------------- */

struct res {
    int done, err;
    struct store_block *b;
};

static inline void res_cb(void *arg, int err, struct store_block *b)
{
    struct res *r = arg;
    r->done++;
    r->err = err;
    r->b = b;
}

static inline void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

/* run base until *flag >= want or 20 s pass (a deadline, not a count of
 * turns: on a loaded machine under valgrind a load can take seconds); returns
 * whether it got there. The 2 ms tick keeps each turn blocking in the kernel. */
static inline int run_until(struct event_base *base, const int *flag, int want)
{
    struct timeval tv = {0, 2000};
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    time_t until = time(NULL) + 20;

    event_add(tick, &tv);
    while (*flag < want && time(NULL) < until)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return *flag >= want;
}

/* load block n synchronously (on base); returns err, *out the block */
static inline int load_n(struct store *s, struct event_base *base, uint64_t n,
                         struct store_block **out)
{
    uint8_t id[STORE_ID_LEN];
    struct res r = {0, 0, NULL};
    mk_id(n, id);
    struct store_load *l = store_load(s, base, id, res_cb, &r);
    if (!l)
        return SHD_ERR_INVAL;
    if (r.done) /* never inside store_load */
        return SHD_ERR_IO;
    if (!run_until(base, &r.done, 1))
        return SHD_ERR_IO;
    *out = r.b;
    return r.err;
}

static inline void mkdir_parent(const char *p)
{
    char d[300];
    snprintf(d, sizeof(d), "%s", p);
    *strrchr(d, '/') = '\0';
    mkdir(d, 0755);
}

static inline void write_file(const char *p, const void *buf, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
    close(fd);
}

static int log_fd = -1;
static char log_path[128];

static inline void log_capture(void)
{
    snprintf(log_path, sizeof(log_path), "%s/log%d", tmp_root, ++tmp_seq);
    log_fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
    shd_log_set_fd(log_fd);
}

/* lines of the captured log holding needle; stops capturing */
static inline int log_count(const char *needle)
{
    char buf[16384];
    int n = 0;
    ssize_t len = pread(log_fd, buf, sizeof(buf) - 1, 0);
    shd_log_set_fd(2);
    close(log_fd);
    buf[len > 0 ? len : 0] = '\0';
    for (char *p = buf; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* block numbers >= from whose file lives in subdirectory sub */
static inline uint64_t id_in_sub(uint64_t from, uint8_t sub)
{
    uint8_t id[STORE_ID_LEN];
    for (;; from++) {
        mk_id(from, id);
        if (id[0] == sub)
            return from;
    }
}

static inline int util_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

/* util_begin: libevent threads, a temp root, quiet logs; 0 or -1 */
static inline int util_begin(void)
{
    evthread_use_pthreads();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/shoal-store-XXXXXX");
    shd_log_set_level(SHD_LOG_WARN);
    return mkdtemp(tmp_root) ? 0 : -1;
}

static inline int util_end(void)
{
    nftw(tmp_root, util_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    libevent_global_shutdown();
    return harness_done();
}

#endif
