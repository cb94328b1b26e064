/* tests/fuzz/fuzz_block_file.c: libFuzzer target for the store's block
 * files, which a corrupt or tampered cache disk makes untrusted input:
 * daemon/store/store_disk.c store_hdr_decode, store_disk_read (open, header,
 * length ceiling, size, id, O_DIRECT or buffered read, checksum) and the
 * startup scan's store_scan_file, on a file written from the fuzz bytes;
 * and store_disk_write followed by store_disk_read. Statics are reached
 * by #including store_disk.c; the files live in a private directory under
 * $TMPDIR (default /tmp), removed at exit.
 *
 * Input: 2 control bytes, then the file's bytes.
 *   c0 bit 0: set the header's checksum (bytes 56..63) right, bit 1: the
 *      data's (bytes 40..47, over the data the header's offset and length
 *      name), bit 2: the disk reads with O_DIRECT, bit 3: put the file
 *      name's id in the header, bit 4: set the length to what the file
 *      holds past the data offset, bits 5-6: the block size (4 KiB,
 *      64 KiB, 1 MiB, 4 MiB); with all of bits 0, 1, 3 and 4 the file is
 *      valid unless its magic, version or offset are not
 *   c1 the file name's id (its first byte; the rest is fixed)
 * Then the bytes are also written as a block by store_disk_write and read
 * back.
 *
 * Invariants (abort() when broken): store_hdr_decode takes exactly the
 * headers an independent reference decoder takes (magic, version 1,
 * offset 64 or 4096, checksum, length at most the block size), and what
 * it takes encodes back to the same bytes (but for the flags, which it
 * ignores); store_disk_read accepts the file exactly when the reference
 * says the header, id, size and data checksum are right, and then gives
 * the file's data; store_scan_file accepts exactly when all but the data
 * checksum are right; no other error than SHD_ERR_CORRUPT; a block written
 * reads back the same, and its file is one the reference accepts.
 *
 * fuzz-args: -max_len=140000
 * The seed corpus is tests/fuzz/corpus/block_file/; test_fuzz_block_file
 * replays it. */
#include "daemon/store/store_disk.c"

#include <ftw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];
static int dirfd_ = -1;

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_block_file: broken invariant: %s\n", what);
    abort();
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (dir[0] && nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "fuzz_block_file: could not remove %s\n", dir);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    char blocks[4200];
    snprintf(dir, sizeof(dir), "%s/fuzz_block_file.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        broken("mkdtemp");
    atexit(cleanup);
    snprintf(blocks, sizeof(blocks), "%s/blocks", dir);
    if (mkdir(blocks, 0755) != 0 || (dirfd_ = open(blocks, O_RDONLY | O_DIRECTORY)) < 0)
        broken("the blocks directory");
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ref_header: whether a 64-byte header is one to take, read the plain way;
 * its offset and length then. */
static int ref_header(const uint8_t *h, uint64_t bs, unsigned *off, uint64_t *len)
{
    unsigned o = (unsigned)h[10] | (unsigned)h[11] << 8;
    if (memcmp(h, "SHOALBLK", 8) != 0 || h[8] != 1 || h[9] != 0 || (o != 64 && o != 4096) ||
        rd64(h + 56) != XXH3_64bits(h, 56) || rd64(h + 32) > bs)
        return 0;
    *off = o;
    *len = rd64(h + 32);
    return 1;
}

/* ref_file: what the reference makes of a block file of ID: 2 valid, 1
 * all but the data checksum, 0 neither. */
static int ref_file(const uint8_t *f, size_t n, const uint8_t id[STORE_ID_LEN], uint64_t bs)
{
    unsigned off;
    uint64_t len;
    if (n < STORE_HDR_LEN || !ref_header(f, bs, &off, &len) || memcmp(f + 16, id, 16) != 0 ||
        n != off + len)
        return 0;
    return XXH3_64bits(f + off, len) == rd64(f + 40) ? 2 : 1;
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || store_write_all(fd, p, n) != 0 || close(fd) != 0)
        broken("writing the block file");
}

static uint8_t *read_whole(const char *name, size_t *n)
{
    int fd = openat(dirfd_, name, O_RDONLY);
    struct stat st;
    uint8_t *p;
    if (fd < 0 || fstat(fd, &st) != 0)
        broken("reading the written block file");
    p = malloc((size_t)st.st_size + 1);
    int err = 0;
    if (!p || store_read_all(fd, p, (size_t)st.st_size, 0, &err) != 0)
        broken("reading the written block file");
    close(fd);
    *n = (size_t)st.st_size;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {4096, 64 << 10, 1 << 20, 4 << 20};
    uint8_t id[STORE_ID_LEN] = {0,    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    char name[STORE_NAME_LEN], sub[3];
    struct store_disk d;
    struct store_block *b = NULL;
    struct store_hdr h;
    struct store_syserr se = {NULL, 0};
    uint64_t bs;
    uint8_t *f;
    size_t n;
    int rc, ref;

    if (size < 2)
        return 0;
    if (dirfd_ < 0)
        setup();
    memset(&d, 0, sizeof(d));
    d.dirfd = dirfd_;
    atomic_init(&d.direct, (data[0] >> 2) & 1);
    bs = sizes[(data[0] >> 5) & 3];
    id[0] = data[1];
    n = size - 2;
    f = malloc(n + 1);
    if (!f)
        abort();
    memcpy(f, data + 2, n);

    /* the fix-ups that get the fuzzer past each check */
    if (n >= STORE_HDR_LEN) {
        unsigned off = (unsigned)f[10] | (unsigned)f[11] << 8;
        if (data[0] & 8)
            memcpy(f + 16, id, STORE_ID_LEN);
        if ((data[0] & 16) && n >= off)
            wr64(f + 32, n - off);
        if ((data[0] & 2) && n >= off && n - off >= rd64(f + 32))
            wr64(f + 40, XXH3_64bits(f + off, rd64(f + 32)));
        if (data[0] & 1)
            wr64(f + 56, XXH3_64bits(f, 56));
    }

    /* the header alone */
    if (n >= STORE_HDR_LEN) {
        unsigned off;
        uint64_t len;
        uint8_t again[STORE_HDR_LEN];
        rc = store_hdr_decode(f, bs, &h);
        if (rc != 0 && rc != SHD_ERR_CORRUPT)
            broken("store_hdr_decode answered something else than 0 or SHD_ERR_CORRUPT");
        if ((rc == 0) != ref_header(f, bs, &off, &len))
            broken("store_hdr_decode differs from the reference");
        if (rc == 0) {
            if (h.len != len || h.data_off != off || h.len > bs)
                broken("store_hdr_decode's length or offset");
            store_hdr_encode(again, &h);
            if (memcmp(again, f, 12) != 0 || memcmp(again + 16, f + 16, 48 - 16) != 0 ||
                memcmp(again + 48, f + 48, 8) != 0)
                broken("a decoded header does not encode back");
        }
    }

    /* the file: read and verified, and scanned */
    store_disk_name(id, 0, name);
    memcpy(sub, name, 2);
    sub[2] = '\0';
    if (mkdirat(dirfd_, sub, 0755) != 0 && errno != EEXIST)
        broken("mkdirat");
    write_file(name, f, n);
    ref = ref_file(f, n, id, bs);
    rc = store_disk_read(&d, id, bs, &b, &se);
    if (rc != 0 && rc != SHD_ERR_CORRUPT) {
        fprintf(stderr, "store_disk_read: %d (%s, errno %d)\n", rc, se.op ? se.op : "-", se.err);
        broken("store_disk_read failed with an I/O error on a readable file");
    }
    if (getenv("FUZZ_VERBOSE")) /* what a seed does */
        fprintf(stderr, "store_disk_read: %d, reference: %s\n", rc,
                ref == 2 ? "valid"
                : ref    ? "data checksum wrong"
                         : "refused");
    if ((rc == 0) != (ref == 2))
        broken("store_disk_read differs from the reference");
    if (rc == 0) {
        unsigned off = (unsigned)f[10] | (unsigned)f[11] << 8;
        if (b->len != n - off || b->len > bs || memcmp(b->id, id, STORE_ID_LEN) != 0 ||
            memcmp(store_block_data(b), f + off, b->len) != 0)
            broken("store_disk_read gave other bytes than the file's");
        store_block_unref(b);
        b = NULL;
    }
    {
        int sfd = openat(dirfd_, sub, O_RDONLY | O_DIRECTORY);
        if (sfd < 0)
            broken("opening the subdirectory");
        rc = store_scan_file(sfd, name + 3, id, bs, &h);
        close(sfd);
        if (rc != 0 && rc != SHD_ERR_CORRUPT)
            broken("store_scan_file failed with an I/O error on a readable file");
        if ((rc == 0) != (ref >= 1))
            broken("store_scan_file differs from the reference");
    }

    /* the bytes as a block: written, read back */
    if (n <= bs) {
        struct store_block *w = store_block_new(id, n), *r = NULL;
        uint8_t *back;
        size_t bn;
        memcpy(store_block_data(w), f, n);
        if (store_disk_write(&d, w, &se) != 0)
            broken("store_disk_write failed");
        back = read_whole(name, &bn);
        if (ref_file(back, bn, id, bs) != 2)
            broken("store_disk_write wrote a file the reference refuses");
        if (store_disk_read(&d, id, bs, &r, &se) != 0 || r->len != n ||
            memcmp(store_block_data(r), f, n) != 0)
            broken("a written block did not read back the same");
        free(back);
        store_block_unref(r);
        store_block_unref(w);
    }
    unlinkat(dirfd_, name, 0);
    free(f);
    return 0;
}
