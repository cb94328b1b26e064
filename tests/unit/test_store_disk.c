/* tests/unit/test_store_disk.c: the block store's disk tier on real files
 * in a mkdtemp directory: byte-weighted capacity, persistence across
 * reopen, the O_DIRECT file layout, a flipped byte caught on load, truncated/garbage/oversized/temp
 * files dropped at open, unusable and locked disk directories, write
 * failures at run time (a blocked subdirectory; ENOSPC; EFBIG from
 * RLIMIT_FSIZE in a child) with memory serving on. */
#include "tests/unit/store_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

/* ---- disk tier ----------------------------------------------------------------------------- */

TEST(capacity_disk)
{
    char *d = new_dir();
    const uint64_t cap = 128 * 1024; /* 32 files of 4 KiB */
    struct store *s = open_store(0, d, cap, 8192, SHD_EVICT_S3FIFO);
    uint64_t fbytes;
    REQUIRE(s);
    for (uint64_t i = 0; i < 100; i++)
        put_n(s, i, 3000);
    store_flush(s);
    struct store_stats st = stats(s);
    CHECK(st.blocks_disk == 32 && st.bytes_disk == cap);
    CHECK(st.evictions_disk == 68 && st.blocks_mem == 0);
    CHECK(count_files(d, &fbytes) == 32 && fbytes <= cap);
    for (uint64_t i = 0; i < 100; i++) {
        char p[256];
        uint8_t id[STORE_ID_LEN];
        block_path(d, i, p, sizeof(p));
        mk_id(i, id);
        CHECK(file_exists(p) == store_on_disk(s, id));
    }
    store_close(s);
    free(d);
}

TEST(persistence)
{
    char *d = new_dir();
    struct store *s = open_store(4 << 20, d, 16 << 20, 65536, SHD_EVICT_S3FIFO);
    struct event_base *base = event_base_new();
    REQUIRE(s && base);
    for (uint64_t i = 0; i < 50; i++)
        put_n(s, i, 1 + i * 997 % 65536);
    store_close(s);
    s = open_store(4 << 20, d, 16 << 20, 65536, SHD_EVICT_S3FIFO);
    REQUIRE(s);
    struct store_stats st = stats(s);
    CHECK(st.scan_blocks == 50 && st.blocks_disk == 50 && st.blocks_mem == 0);
    CHECK(st.scan_dropped == 0);
    for (uint64_t i = 0; i < 50; i++) {
        struct store_block *b = NULL;
        CHECK(load_n(s, base, i, &b) == 0);
        CHECK(block_ok(b, i, 1 + i * 997 % 65536));
        store_block_unref(b);
        CHECK(has_n(s, i)); /* loaded into the memory tier */
    }
    st = stats(s);
    CHECK(st.hits_disk == 50 && st.misses_disk == 0);
    /* served from memory now: no disk read */
    struct store_block *b = NULL;
    CHECK(load_n(s, base, 3, &b) == 0 && block_ok(b, 3, 1 + 3 * 997 % 65536));
    store_block_unref(b);
    CHECK(stats(s).hits_disk == 50);
    /* not stored anywhere: no load */
    uint8_t id[STORE_ID_LEN];
    struct res r = {0, 0, NULL};
    mk_id(999, id);
    CHECK(store_load(s, base, id, res_cb, &r) == NULL);
    store_close(s);
    event_base_free(base);
    free(d);
}

TEST(corrupt_on_load)
{
    char *d = new_dir(), p[256];
    struct store *s = open_store(0, d, 1 << 20, 8192, SHD_EVICT_S3FIFO);
    struct event_base *base = event_base_new();
    struct store_block *b = NULL;
    uint8_t id[STORE_ID_LEN], c;
    REQUIRE(s && base);
    put_n(s, 5, 5000);
    put_n(s, 6, 5000);
    store_flush(s);
    block_path(d, 5, p, sizeof(p));
    int fd = open(p, O_RDWR);
    REQUIRE(fd >= 0);
    CHECK(pread(fd, &c, 1, STORE_HDR_LEN + 1234) == 1);
    c ^= 0x01;
    CHECK(pwrite(fd, &c, 1, STORE_HDR_LEN + 1234) == 1);
    close(fd);
    CHECK(load_n(s, base, 5, &b) == SHD_ERR_NOENT && b == NULL);
    CHECK(!file_exists(p));
    mk_id(5, id);
    CHECK(!store_on_disk(s, id));
    struct store_stats st = stats(s);
    CHECK(st.checksum_failures == 1 && st.misses_disk == 1 && st.blocks_disk == 1);
    CHECK(load_n(s, base, 6, &b) == 0 && block_ok(b, 6, 5000)); /* its neighbour is fine */
    store_block_unref(b);
    /* a file deleted behind the store's back: NOENT, not counted as corrupt */
    block_path(d, 6, p, sizeof(p));
    unlink(p);
    CHECK(load_n(s, base, 6, &b) == SHD_ERR_NOENT);
    CHECK(stats(s).checksum_failures == 1 && stats(s).blocks_disk == 0);
    store_close(s);
    event_base_free(base);
    free(d);
}

/* A block file that cannot be opened for a reason other than being gone
 * (here ENXIO: a UNIX socket where the file was) is a disk error with its
 * errno, not a missing block: ENXIO is 6, and when errno values travelled
 * as return codes -ENXIO read as SHD_ERR_NOENT (-6). */
TEST(read_error_is_not_a_missing_block)
{
    char *d = new_dir(), p[256];
    struct store *s = open_store(0, d, 1 << 20, 8192, SHD_EVICT_S3FIFO);
    struct event_base *base = event_base_new();
    struct store_syserr se = {NULL, 0};
    struct store_block *b = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t id[STORE_ID_LEN];
    REQUIRE(s && base);
    put_n(s, 7, 5000);
    store_flush(s);
    block_path(d, 7, p, sizeof(p));
    REQUIRE(strlen(p) < sizeof(sa.sun_path));
    unlink(p);
    memcpy(sa.sun_path, p, strlen(p) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    mk_id(7, id);
    CHECK(store_disk_read(&s->disks[0], id, 8192, &b, &se) == SHD_ERR_IO && b == NULL);
    CHECK(se.err == ENXIO && se.op && strcmp(se.op, "open") == 0);
    uint64_t errs = stats(s).disk_errors;
    CHECK(load_n(s, base, 7, &b) == SHD_ERR_NOENT && b == NULL); /* the reader refills it */
    CHECK(stats(s).disk_errors == errs + 1);                     /* and the disk error counts */
    CHECK(stats(s).checksum_failures == 0);
    close(fd);
    store_close(s);
    event_base_free(base);
    free(d);
}

/* file_layout: the data offset in block n's file header and the file's size */
static void file_layout(const char *d, uint64_t n, unsigned *off, off_t *size)
{
    char p[256];
    uint8_t hdr[STORE_HDR_LEN];
    struct stat st;
    int fd;

    block_path(d, n, p, sizeof(p));
    fd = open(p, O_RDONLY);
    *off = 0;
    *size = -1;
    if (fd < 0)
        return;
    if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && fstat(fd, &st) == 0) {
        *off = (unsigned)(hdr[10] | hdr[11] << 8);
        *size = st.st_size;
    }
    close(fd);
}

/* Blocks of 64 KiB and more go to disk with O_DIRECT when the file system
 * takes it: the data starts at 4096, the file is cut to its length, and a
 * restart (with or without O_DIRECT) reads it back and still checks it. */
TEST(direct_io_layout)
{
    char *d = new_dir(), p[256];
    const size_t lens[] = {STORE_DIRECT_MIN - 1, STORE_DIRECT_MIN, 100000, 256 << 10, 1};
    const size_t nlens = sizeof(lens) / sizeof(lens[0]);
    struct event_base *base = event_base_new();
    struct store *s = open_store_io(0, d, 16 << 20, 256 << 10, SHD_EVICT_S3FIFO, true);
    struct store_block *b = NULL;
    unsigned off;
    off_t size;
    REQUIRE(s && base);
    int direct = atomic_load(&s->disks[0].direct);
    if (!direct) /* the probe said no: buffered, and said so */
        fprintf(stderr, "  note: %s refuses O_DIRECT; checking the buffered layout\n", d);
    for (size_t i = 0; i < nlens; i++)
        put_n(s, i, lens[i]);
    store_flush(s);
    for (size_t i = 0; i < nlens; i++) {
        unsigned want = direct && lens[i] >= STORE_DIRECT_MIN ? 4096 : STORE_HDR_LEN;
        file_layout(d, i, &off, &size);
        CHECK(off == want);
        CHECK(size == (off_t)(want + lens[i]));
    }
    uint64_t fbytes;
    CHECK(count_files(d, &fbytes) == nlens && fbytes == stats(s).bytes_disk);
    store_close(s);
    /* read back after a restart, with O_DIRECT on and then off */
    for (int pass = 0; pass < 2; pass++) {
        s = open_store_io(0, d, 16 << 20, 256 << 10, SHD_EVICT_S3FIFO, pass == 0);
        REQUIRE(s);
        CHECK(stats(s).scan_blocks == nlens && stats(s).scan_dropped == 0);
        for (size_t i = 0; i < nlens; i++) {
            CHECK(load_n(s, base, i, &b) == 0 && block_ok(b, i, lens[i]));
            store_block_unref(b);
            b = NULL;
        }
        store_close(s);
    }
    /* a flipped byte in the last page of a 100000-byte block is caught */
    block_path(d, 2, p, sizeof(p));
    file_layout(d, 2, &off, &size);
    int fd = open(p, O_RDWR);
    uint8_t c;
    REQUIRE(fd >= 0);
    CHECK(pread(fd, &c, 1, size - 7) == 1);
    c ^= 0x80;
    CHECK(pwrite(fd, &c, 1, size - 7) == 1);
    close(fd);
    s = open_store_io(0, d, 16 << 20, 256 << 10, SHD_EVICT_S3FIFO, true);
    REQUIRE(s);
    CHECK(load_n(s, base, 2, &b) == SHD_ERR_NOENT && b == NULL);
    CHECK(stats(s).checksum_failures == 1 && !file_exists(p));
    CHECK(load_n(s, base, 3, &b) == 0 && block_ok(b, 3, lens[3]));
    store_block_unref(b);
    store_close(s);
    /* direct_io off: the small-header layout for every size */
    char *d2 = new_dir();
    s = open_store_io(0, d2, 16 << 20, 256 << 10, SHD_EVICT_S3FIFO, false);
    REQUIRE(s);
    put_n(s, 7, 100000);
    store_flush(s);
    file_layout(d2, 7, &off, &size);
    CHECK(off == STORE_HDR_LEN && size == STORE_HDR_LEN + 100000);
    store_close(s);
    event_base_free(base);
    free(d2);
    free(d);
}

TEST(scan_drops_invalid)
{
    char *d = new_dir(), p[256], q[300];
    struct store *s = open_store(0, d, 1 << 20, 8192, SHD_EVICT_LRU);
    uint8_t buf[STORE_HDR_LEN + 8192];
    REQUIRE(s);
    for (uint64_t i = 0; i < 8; i++)
        put_n(s, i, 1000 + i * 1000);
    store_close(s);
    block_path(d, 0, p, sizeof(p)); /* 0: truncated by one byte */
    CHECK(truncate(p, STORE_HDR_LEN + 999) == 0);
    block_path(d, 1, p, sizeof(p)); /* 1: garbage header */
    memset(buf, 0x77, sizeof(buf));
    write_file(p, buf, STORE_HDR_LEN + 2000);
    block_path(d, 2, p, sizeof(p)); /* 2: a header that lies about the length */
    struct store_hdr h = {.len = 8193, .sum = 1, .created_ms = 1, .data_off = STORE_HDR_LEN};
    mk_id(2, h.id);
    store_hdr_encode(buf, &h);
    write_file(p, buf, STORE_HDR_LEN + 8193 > sizeof(buf) ? sizeof(buf) : STORE_HDR_LEN + 8193);
    block_path(d, 3, p, sizeof(p)); /* 3: the id in the header is another's */
    mk_id(4, h.id);
    h.len = 10;
    store_hdr_encode(buf, &h);
    write_file(p, buf, STORE_HDR_LEN + 10);
    block_path(d, 100, p, sizeof(p)); /* a leftover temp file */
    snprintf(q, sizeof(q), "%.*s.tmp", (int)(strlen(p) - 4), p);
    mkdir_parent(q);
    write_file(q, buf, 100);
    snprintf(p, sizeof(p), "%s/blocks/README", d); /* not ours: left alone */
    write_file(p, "x", 1);
    s = open_store(0, d, 1 << 20, 8192, SHD_EVICT_LRU);
    REQUIRE(s);
    struct store_stats st = stats(s);
    CHECK(st.scan_blocks == 4 && st.scan_dropped == 5);
    CHECK(count_files(d, NULL) == 4 && !file_exists(q) && file_exists(p));
    for (uint64_t i = 0; i < 8; i++) {
        uint8_t id[STORE_ID_LEN];
        mk_id(i, id);
        CHECK(store_on_disk(s, id) == (i >= 4));
    }
    store_close(s);
    /* a smaller block size: files longer than it are dropped (the ceiling) */
    s = open_store(0, d, 1 << 20, 6000, SHD_EVICT_LRU);
    REQUIRE(s);
    CHECK(stats(s).scan_blocks == 2 && stats(s).scan_dropped == 2);
    store_close(s);
    free(d);
}

TEST(disk_unusable_at_open)
{
    char *d = new_dir(), file[200], bad[256];
    struct store_disk_conf dc[3];
    struct store_conf c = {.mem_bytes = 1 << 20, .disks = dc, .ndisks = 2, .block_size = 4096};
    struct store *s = NULL;
    REQUIRE(mkdir(d, 0755) == 0);
    snprintf(file, sizeof(file), "%s/plain", d);
    write_file(file, "x", 1);
    snprintf(bad, sizeof(bad), "%s/plain/disk", d); /* parent is a regular file */
    dc[0] = (struct store_disk_conf){.path = bad, .bytes = 1 << 20};
    dc[1] = (struct store_disk_conf){.path = "/proc/shoal-no-such-disk", .bytes = 1 << 20};
    CHECK(store_open(&c, &s) == 0);
    REQUIRE(s);
    CHECK(stats(s).disks == 0);
    put_n(s, 1, 1000);
    CHECK(has_n(s, 1)); /* memory serves */
    uint8_t id[STORE_ID_LEN];
    mk_id(1, id);
    CHECK(!store_on_disk(s, id));
    store_close(s);
    s = NULL;
    c.mem_bytes = 0; /* no tier at all */
    CHECK(store_open(&c, &s) == SHD_ERR_IO && s == NULL);
    char *good = new_dir();
    dc[2] = (struct store_disk_conf){.path = good, .bytes = 1 << 20};
    c.disks = dc + 1;
    c.ndisks = 2;
    CHECK(store_open(&c, &s) == 0 && s && stats(s).disks == 1);
    /* the same directory cannot serve two stores at once (flock) */
    struct store *s2 = open_store(1 << 20, good, 1 << 20, 4096, SHD_EVICT_S3FIFO);
    CHECK(s2 && stats(s2).disks == 0);
    store_close(s2);
    store_close(s);
    c.block_size = 0;
    CHECK(store_open(&c, &s) == SHD_ERR_INVAL);
    free(good);
    free(d);
}

TEST(write_failure_runtime)
{
    char *d = new_dir(), p[256];
    struct store *s = open_store(1 << 20, d, 1 << 20, 4096, SHD_EVICT_S3FIFO);
    uint8_t ida[STORE_ID_LEN], idc[STORE_ID_LEN];
    uint64_t a = id_in_sub(0, 0x42), b = id_in_sub(a + 1, 0x42), c = id_in_sub(0, 0x43);
    REQUIRE(s);
    mk_id(a, ida);
    mk_id(c, idc);
    snprintf(p, sizeof(p), "%s/blocks/42", d); /* a file where a directory must go */
    write_file(p, "x", 1);
    log_capture();
    put_n(s, a, 1000);
    store_flush(s);
    struct store_stats st = stats(s);
    CHECK(st.disk_errors == 1 && st.disks_degraded == 1 && st.blocks_disk == 0);
    CHECK(!store_on_disk(s, ida) && has_n(s, a)); /* memory still serves */
    put_n(s, c, 1000);                            /* paused: not even tried */
    store_flush(s);
    CHECK(!store_on_disk(s, idc) && stats(s).disk_writes_skipped == 1);
    usleep(TEST_RETRY_MS * 1000 + 50000); /* past the back-off: tried, fails again */
    put_n(s, b, 1000);
    store_flush(s);
    CHECK(stats(s).disk_errors == 2 && has_n(s, b));
    unlink(p);
    usleep(TEST_RETRY_MS * 1000 + 50000);
    store_remove(s, idc);
    put_n(s, c, 1000);
    store_flush(s);
    st = stats(s);
    CHECK(store_on_disk(s, idc) && st.disks_degraded == 0 && st.blocks_disk == 1);
    CHECK(log_count("disk write failed") == 1); /* once per condition */
    store_close(s);
    free(d);
}

/* ENOSPC (injected where the worker reports it: no mount needed): the
 * disk pauses and its capacity drops to 95% of its use, evicting. */
TEST(enospc_lowers_capacity)
{
    char *d = new_dir();
    struct store *s = open_store(0, d, 128 * 1024, 4096, SHD_EVICT_S3FIFO);
    REQUIRE(s);
    for (uint64_t i = 0; i < 20; i++)
        put_n(s, i, 3000);
    store_flush(s);
    log_capture();
    store_disk_failed(s, 0, "write", ENOSPC, 1);
    store_disk_failed(s, 0, "write", ENOSPC, 1);
    store_flush(s);
    struct store_stats st = stats(s);
    CHECK(st.capacity_disk == 76 * 1024 - 76 * 1024 / 20 && st.disks_degraded == 1);
    CHECK(st.blocks_disk == 18 && count_files(d, NULL) == 18 && st.disk_errors == 2);
    CHECK(log_count("err=\"No space left on device\"") == 1);
    store_close(s);
    free(d);
}

/* EFBIG from RLIMIT_FSIZE, in a child so the limit does not leak: the
 * write fails, the disk pauses, memory serves. Returns the failures. */
static int efbig_child(const char *d)
{
    struct rlimit rl;
    uint8_t id[STORE_ID_LEN];
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = 1 << 20;
    setrlimit(RLIMIT_FSIZE, &rl);
    struct store *s = open_store(8 << 20, d, 16 << 20, 4 << 20, SHD_EVICT_S3FIFO);
    if (!s)
        return 1;
    log_capture();
    put_n(s, 1, 2 << 20);
    store_flush(s);
    struct store_stats st = stats(s);
    mk_id(1, id);
    CHECK(st.disk_errors == 1 && st.disks_degraded == 1 && !store_on_disk(s, id));
    CHECK(has_n(s, 1));
    CHECK(log_count("err=\"File too large\"") == 1);
    CHECK(count_files(d, NULL) == 0);
    store_close(s);
    return harness_cur_failed;
}

TEST(efbig_fault)
{
    char *d = new_dir();
    int status = -1;
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(efbig_child(d));
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(d);
}

int main(void)
{
    if (util_begin() != 0)
        return 1;
    RUN(capacity_disk);
    RUN(persistence);
    RUN(corrupt_on_load);
    RUN(read_error_is_not_a_missing_block);
    RUN(direct_io_layout);
    RUN(scan_drops_invalid);
    RUN(disk_unusable_at_open);
    RUN(write_failure_runtime);
    RUN(enospc_lowers_capacity);
    RUN(efbig_fault);
    return util_end();
}
