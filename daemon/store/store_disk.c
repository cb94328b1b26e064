/* daemon/store/store_disk.c: the disk tier's files: the block file format, disk
 * setup at open, the placement of blocks over disks, the startup scan, and
 * the reads, writes and deletions the workers run, with the accounting and
 * logging of disk failures.
 *
 * Layout of a disk directory PATH:
 *   PATH/shoal.lock               flock()ed while a store uses the disk
 *   PATH/blocks/ab/<32 hex>.blk   one block: header (store_int.h) + data
 *   PATH/blocks/ab/<32 hex>.tmp   a write in progress, renamed into place
 * "ab" is the id's first byte. Writes do not fsync: after a crash a torn
 * file fails its size or checksum check and is dropped, never served. */
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/store/store_int.h"
#include "daemon/xalloc.h"
#include "client/xxh.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define STORE_MAGIC "SHOALBLK"
#define STORE_FORMAT 1
#define STORE_PATH_MAX 4000 /* room left for "/blocks/..." under PATH_MAX */
#define STORE_SUBDIRS 256

/* ---- the header ------------------------------------------------------------------------ */

static void store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t store_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t store_rd64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void store_hdr_encode(uint8_t buf[STORE_HDR_LEN], const struct store_hdr *h)
{
    memcpy(buf, STORE_MAGIC, 8);
    store_le16(buf + 8, STORE_FORMAT);
    store_le16(buf + 10, (uint16_t)h->data_off);
    memset(buf + 12, 0, 4);
    memcpy(buf + 16, h->id, STORE_ID_LEN);
    store_le64(buf + 32, h->len);
    store_le64(buf + 40, h->sum);
    store_le64(buf + 48, h->created_ms);
    store_le64(buf + 56, XXH3_64bits(buf, 56));
}

int store_hdr_decode(const uint8_t buf[STORE_HDR_LEN], uint64_t block_size, struct store_hdr *out)
{
    uint64_t len = store_rd64(buf + 32);
    unsigned off = store_rd16(buf + 10);

    if (memcmp(buf, STORE_MAGIC, 8) != 0 || store_rd16(buf + 8) != STORE_FORMAT ||
        (off != STORE_HDR_LEN && off != STORE_DATA_OFF_DIRECT) ||
        store_rd64(buf + 56) != XXH3_64bits(buf, 56) ||
        len > block_size) /* the ceiling: never trust a length read from disk */
        return SHD_ERR_CORRUPT;
    out->data_off = off;
    memcpy(out->id, buf + 16, STORE_ID_LEN);
    out->len = len;
    out->sum = store_rd64(buf + 40);
    out->created_ms = store_rd64(buf + 48);
    return 0;
}

unsigned store_disk_data_off(const struct store_disk *d, uint64_t len)
{
    return len >= STORE_DIRECT_MIN && atomic_load_explicit(&d->direct, memory_order_relaxed)
               ? STORE_DATA_OFF_DIRECT
               : STORE_HDR_LEN;
}

uint64_t store_disk_file_bytes(uint64_t len, unsigned data_off)
{
    return (data_off + len + STORE_FILE_ALIGN - 1) / STORE_FILE_ALIGN * STORE_FILE_ALIGN;
}

void store_disk_name(const uint8_t id[STORE_ID_LEN], int tmp, char out[STORE_NAME_LEN])
{
    char hex[2 * STORE_ID_LEN + 1];

    store_id_hex(id, hex);
    snprintf(out, STORE_NAME_LEN, "%.2s/%s.%s", hex, hex, tmp ? "tmp" : "blk");
}

static int store_hex_parse(const char *s, uint8_t id[STORE_ID_LEN])
{
    for (size_t i = 0; i < 2 * STORE_ID_LEN; i++) {
        int c = s[i], v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else
            return -1;
        id[i / 2] = (uint8_t)(i % 2 ? id[i / 2] | v : v << 4);
    }
    return 0;
}

static uint64_t store_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- failures ------------------------------------------------------------------------------ */

static enum store_cond store_cond_of(int err, int writing)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return STORE_COND_SPACE;
    case EACCES:
    case EPERM:
    case EROFS:
        return STORE_COND_PERM;
    default:
        return writing ? STORE_COND_IO : STORE_COND_READ;
    }
}

static const char *store_cond_what(enum store_cond c)
{
    switch (c) {
    case STORE_COND_SPACE:
        return "serving from memory meanwhile; when the file system is full the disk's capacity "
               "is lowered until restart: free space there or lower cache.disks[].size (a file "
               "too large: raise the file size limit, ulimit -f)";
    case STORE_COND_PERM:
        return "serving from memory meanwhile; remount the file system read-write or give "
               "shoald write access to the directory";
    case STORE_COND_IO:
        return "serving from memory meanwhile; check the device (dmesg, SMART) and replace it "
               "if errors continue";
    case STORE_COND_READ:
        return "the block is fetched again; check the device (dmesg, SMART) and replace it if "
               "errors continue";
    }
    return "";
}

void store_disk_failed(struct store *s, size_t d, const char *op, int err, int degrade)
{
    struct store_disk *disk = &s->disks[d];
    enum store_cond c = store_cond_of(err, degrade);
    char qp[512], qe[256], qw[512], ebuf[128];
    uint64_t cap;
    int log_it;

    pthread_mutex_lock(&s->mu);
    s->st.disk_errors++;
    if (degrade) {
        disk->degraded = 1;
        disk->retry_at_ms = store_now_ms() + s->retry_ms;
    }
    if (degrade && (err == ENOSPC || err == EDQUOT)) {
        /* the file system holds less than configured: count it full at 95%
         * of what is on it now, so evictions make room for later writes */
        uint64_t used = store_policy_bytes(&disk->policy);
        store_policy_set_cap(&disk->policy, used - used / 20);
        store_disk_make_room(s, d, 0);
    }
    cap = disk->policy.cap;
    log_it = !(disk->logged & (1u << c));
    disk->logged |= 1u << c;
    pthread_mutex_unlock(&s->mu);
    if (!log_it)
        return;
    shd_log(c == STORE_COND_READ ? SHD_LOG_WARN : SHD_LOG_ERROR, "store",
            "disk %s failed path=%s call=%s err=%s writes=%s retry_ms=%u capacity=%llu what=%s",
            degrade ? "write" : "access", shd_log_q(disk->path, qp, sizeof(qp)), op,
            shd_log_q(strerror_r(err, ebuf, sizeof(ebuf)), qe, sizeof(qe)),
            degrade ? "paused" : "on", degrade ? s->retry_ms : 0, (unsigned long long)cap,
            shd_log_q(store_cond_what(c), qw, sizeof(qw)));
}

void store_disk_recovered(struct store *s, size_t d)
{
    struct store_disk *disk = &s->disks[d];
    char qp[512];
    int was;

    pthread_mutex_lock(&s->mu);
    was = disk->degraded;
    disk->degraded = 0;
    if (was)
        disk->logged = 0;
    pthread_mutex_unlock(&s->mu);
    if (was)
        shd_info("store", "disk writes work again path=%s", shd_log_q(disk->path, qp, sizeof(qp)));
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* store_mkdir_p: create PATH and its missing parents. 0 or an errno value. */
static int store_mkdir_p(const char *path)
{
    char buf[STORE_PATH_MAX + 1];
    size_t n = strlen(path);

    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return errno;
        buf[i] = c;
    }
    return 0;
}

/* store_direct_probe: whether DIRFD's file system takes O_DIRECT writes of
 * STORE_IO_ALIGN-aligned buffers. */
static int store_direct_probe(int dirfd)
{
    _Alignas(STORE_IO_ALIGN) static const uint8_t page[STORE_IO_ALIGN];
    int fd = openat(dirfd, ".probe", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
    int ok = fd >= 0 && pwrite(fd, page, sizeof(page), 0) == (ssize_t)sizeof(page);

    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, ".probe", 0);
    return ok;
}

int store_disk_open(struct store_disk *d, const struct store_disk_conf *conf,
                    enum shd_eviction policy, store_pnode_key key, bool direct_io)
{
    char path[STORE_PATH_MAX + 32], qp[512], qe[256], ebuf[128];
    const char *op = "mkdir";
    int fd, rc = 0;

    memset(d, 0, sizeof(*d));
    d->dirfd = d->lockfd = -1;
    if (strlen(conf->path) > STORE_PATH_MAX) {
        op = "strlen";
        rc = ENAMETOOLONG;
        goto out;
    }
    rc = store_mkdir_p(conf->path);
    snprintf(path, sizeof(path), "%s/blocks", conf->path);
    if (!rc && mkdir(path, 0755) != 0 && errno != EEXIST)
        rc = errno;
    if (rc)
        goto out;
    op = "open";
    snprintf(path, sizeof(path), "%s/shoal.lock", conf->path);
    d->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->lockfd < 0) {
        rc = errno;
        goto out;
    }
    op = "flock";
    if (flock(d->lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno;
        goto out;
    }
    op = "open";
    snprintf(path, sizeof(path), "%s/blocks", conf->path);
    d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        rc = errno;
        goto out;
    }
    op = "write"; /* probe: a directory can exist and still refuse files */
    fd = openat(d->dirfd, ".probe", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1)
        rc = errno;
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = errno;
    unlinkat(d->dirfd, ".probe", 0);
    if (rc)
        goto out;
    d->path = shd_xstrdup(conf->path);
    atomic_init(&d->direct, direct_io && store_direct_probe(d->dirfd));
    if (direct_io && !atomic_load(&d->direct))
        shd_info("store", "disk uses buffered I/O path=%s why=\"its file system refuses O_DIRECT\"",
                 shd_log_q(conf->path, qp, sizeof(qp)));
    d->seed = XXH3_64bits(conf->path, strlen(conf->path));
    d->weight = (double)conf->bytes;
    store_policy_init(&d->policy, policy, conf->bytes, key);
out:
    if (rc) {
        shd_error("store",
                  "disk left out path=%s call=%s err=%s what=\"the node runs without this disk; "
                  "%s, then restart shoald\"",
                  shd_log_q(conf->path, qp, sizeof(qp)), op,
                  shd_log_q(strerror_r(rc, ebuf, sizeof(ebuf)), qe, sizeof(qe)),
                  rc == EWOULDBLOCK ? "another shoald uses this directory: give each its own"
                                    : "make it a writable directory on a mounted file system");
        if (d->lockfd >= 0)
            close(d->lockfd);
        if (d->dirfd >= 0)
            close(d->dirfd);
        d->lockfd = d->dirfd = -1;
        return SHD_ERR_IO;
    }
    return 0;
}

void store_disk_close(struct store_disk *d)
{
    if (d->dirfd >= 0)
        close(d->dirfd);
    if (d->lockfd >= 0)
        close(d->lockfd); /* releases the flock */
    store_policy_fini(&d->policy);
    free(d->path);
}

size_t store_disk_pick(const struct store_disk *disks, size_t n, const uint8_t id[STORE_ID_LEN])
{
    size_t best = 0;
    double best_score = -1;

    for (size_t i = 0; n > 1 && i < n; i++) {
        uint64_t h = XXH3_64bits_withSeed(id, STORE_ID_LEN, disks[i].seed);
        double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
        double score = disks[i].weight / -log(u);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    return best;
}

/* ---- reads, writes, deletions (worker threads) --------------------------------------------- */

/* store_write_all: 0 or an errno value. */
static int store_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* store_write_direct: the O_DIRECT layout into FD: the header alone in the
 * first STORE_IO_ALIGN bytes, then B's data (aligned and zero-padded by
 * store_block_new) written whole and cut back to its length. 0 or an errno
 * value. */
static int store_write_direct(int fd, const uint8_t hdr[STORE_HDR_LEN], const struct store_block *b)
{
    _Alignas(STORE_IO_ALIGN) uint8_t page[STORE_IO_ALIGN];
    size_t len = store_io_round(b->len);
    ssize_t n;

    memset(page, 0, sizeof(page));
    memcpy(page, hdr, STORE_HDR_LEN);
    do
        n = pwrite(fd, page, sizeof(page), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(page))
        return n < 0 ? errno : ENOSPC;
    do
        n = pwrite(fd, b->data, len, STORE_DATA_OFF_DIRECT);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) /* a short write of a regular file: out of space */
        return n < 0 ? errno : ENOSPC;
    if (len != b->len && ftruncate(fd, STORE_DATA_OFF_DIRECT + (off_t)b->len) != 0)
        return errno;
    return 0;
}

int store_disk_write(struct store_disk *d, const struct store_block *b, struct store_syserr *se)
{
    char name[STORE_NAME_LEN], tmp[STORE_NAME_LEN], sub[3];
    uint8_t hdr[STORE_HDR_LEN];
    const char *call = "open";
    struct store_hdr h;
    int fd, rc = 0, flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;

    store_disk_name(b->id, 0, name);
    store_disk_name(b->id, 1, tmp);
    memcpy(h.id, b->id, STORE_ID_LEN);
    h.len = b->len;
    h.sum = store_block_sum(b);
    h.created_ms = store_wall_ms();
    h.data_off = store_disk_data_off(d, b->len);
again:
    store_hdr_encode(hdr, &h);
    if (h.data_off == STORE_DATA_OFF_DIRECT)
        flags |= O_DIRECT;
    fd = openat(d->dirfd, tmp, flags, 0644);
    if (fd < 0 && errno == ENOENT) { /* the subdirectory is made on first use */
        memcpy(sub, name, 2);
        sub[2] = '\0';
        if (mkdirat(d->dirfd, sub, 0755) != 0 && errno != EEXIST) {
            se->op = "mkdir";
            se->err = errno;
            return SHD_ERR_IO;
        }
        fd = openat(d->dirfd, tmp, flags, 0644);
    }
    if (fd < 0 && errno == EINVAL && (flags & O_DIRECT))
        goto buffered;
    if (fd < 0) {
        se->op = call;
        se->err = errno;
        return SHD_ERR_IO;
    }
    call = "write";
    if (flags & O_DIRECT) {
        rc = store_write_direct(fd, hdr, b);
        if (rc == EINVAL) { /* the file system took the open, not the write */
            close(fd);
            goto buffered;
        }
    } else {
        rc = store_write_all(fd, hdr, sizeof(hdr));
        if (!rc)
            rc = store_write_all(fd, b->data, b->len);
    }
    if (close(fd) != 0 && !rc) {
        call = "close";
        rc = errno;
    }
    if (!rc && renameat(d->dirfd, tmp, d->dirfd, name) != 0) {
        call = "rename";
        rc = errno;
    }
    if (rc) {
        unlinkat(d->dirfd, tmp, 0);
        se->op = call;
        se->err = rc;
        return SHD_ERR_IO;
    }
    return 0;
buffered: /* O_DIRECT refused after all: buffered I/O on this disk from now on */
    atomic_store(&d->direct, 0);
    flags &= ~O_DIRECT;
    h.data_off = STORE_HDR_LEN;
    goto again;
}

/* store_read_all: LEN bytes at OFF of FD into P; 0, SHD_ERR_CORRUPT when
 * the file ends first, or SHD_ERR_IO with *err the errno. */
static int store_read_all(int fd, uint8_t *p, size_t len, off_t off, int *err)
{
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            return SHD_ERR_IO;
        }
        if (n == 0) /* shrank since fstat */
            return SHD_ERR_CORRUPT;
        p += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

int store_disk_read(const struct store_disk *d, const uint8_t id[STORE_ID_LEN], uint64_t block_size,
                    struct store_block **out, struct store_syserr *se)
{
    char name[STORE_NAME_LEN];
    uint8_t hdr[STORE_HDR_LEN];
    struct store_block *b = NULL;
    struct store_hdr h;
    struct stat st;
    ssize_t n;
    size_t off = 0;
    int fd, rc = 0, err = 0;

    store_disk_name(id, 0, name);
    fd = openat(d->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return SHD_ERR_NOENT;
        se->op = "open";
        se->err = errno;
        return SHD_ERR_IO;
    }
    n = pread(fd, hdr, sizeof(hdr), 0);
    if (n < 0) {
        err = errno;
        rc = SHD_ERR_IO;
        goto out;
    }
    if (n != (ssize_t)sizeof(hdr) || store_hdr_decode(hdr, block_size, &h) != 0 ||
        memcmp(h.id, id, STORE_ID_LEN) != 0 || fstat(fd, &st) != 0 ||
        (uint64_t)st.st_size != h.data_off + h.len) {
        rc = SHD_ERR_CORRUPT;
        goto out;
    }
    b = store_block_new(id, (size_t)h.len);
    /* a file in the O_DIRECT layout is read past the page cache as well,
     * in one call (its end is cut short by EOF); buffered when that fails */
    if (h.data_off == STORE_DATA_OFF_DIRECT && h.len >= STORE_DIRECT_MIN &&
        atomic_load_explicit(&d->direct, memory_order_relaxed) &&
        fcntl(fd, F_SETFL, O_DIRECT) == 0) {
        do
            n = pread(fd, b->data, store_io_round(h.len), STORE_DATA_OFF_DIRECT);
        while (n < 0 && errno == EINTR);
        if (n > 0 && ((size_t)n == h.len || ((size_t)n < h.len && n % STORE_IO_ALIGN == 0)))
            off = (size_t)n; /* all of it, or an aligned part: the rest buffered */
        if (off < h.len)
            fcntl(fd, F_SETFL, 0);
    }
    rc = store_read_all(fd, b->data + off, h.len - off, (off_t)(h.data_off + off), &err);
    if (!rc && wire_xxh3(b->data, b->len) != h.sum)
        rc = SHD_ERR_CORRUPT;
    if (!rc)
        store_block_set_sum(b, h.sum);
    if (!rc) {
        *out = b;
        b = NULL;
    }
out:
    if (rc == SHD_ERR_IO) {
        se->op = "pread";
        se->err = err;
    }
    store_block_unref(b);
    close(fd);
    return rc;
}

int store_disk_unlink(const struct store_disk *d, const uint8_t id[STORE_ID_LEN],
                      struct store_syserr *se)
{
    char name[STORE_NAME_LEN];

    store_disk_name(id, 0, name);
    if (unlinkat(d->dirfd, name, 0) != 0 && errno != ENOENT) {
        se->op = "unlink";
        se->err = errno;
        return SHD_ERR_IO;
    }
    return 0;
}

/* ---- the startup scan ----------------------------------------------------------------------- */

struct store_scan_rec {
    uint8_t id[STORE_ID_LEN];
    uint64_t created_ms;
    uint32_t fbytes;
    uint8_t disk;
};

struct store_scan_out {
    struct store_scan_rec *recs;
    size_t n, cap;
    uint64_t dropped;
};

struct store_scan {
    struct store *s;
    atomic_size_t next; /* the next (disk, subdirectory) to claim */
};

struct store_scan_arg {
    struct store_scan *sc;
    struct store_scan_out out;
};

/* store_scan_file: check the header and size of block file NAME (id ID) in
 * directory DFD. Returns 0 with *h set, SHD_ERR_CORRUPT, or SHD_ERR_IO when
 * the file cannot be read (it is left alone then). */
static int store_scan_file(int dfd, const char *name, const uint8_t id[STORE_ID_LEN],
                           uint64_t block_size, struct store_hdr *h)
{
    uint8_t hdr[STORE_HDR_LEN];
    struct store_hdr got;
    struct stat st;
    ssize_t n;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = 0;

    if (fd < 0)
        return errno == ELOOP ? SHD_ERR_CORRUPT : SHD_ERR_IO;
    n = pread(fd, hdr, sizeof(hdr), 0);
    if (n < 0 || fstat(fd, &st) != 0)
        rc = SHD_ERR_IO;
    else if (n != (ssize_t)sizeof(hdr) || !S_ISREG(st.st_mode) ||
             store_hdr_decode(hdr, block_size, &got) != 0 ||
             memcmp(got.id, id, STORE_ID_LEN) != 0 ||
             (uint64_t)st.st_size != got.data_off + got.len)
        rc = SHD_ERR_CORRUPT;
    close(fd);
    if (!rc)
        *h = got;
    return rc;
}

static void store_scan_add(struct store_scan_out *o, const struct store_scan_rec *r)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 1024;
        o->recs = shd_xrealloc(o->recs, o->cap * sizeof(*o->recs));
    }
    o->recs[o->n++] = *r;
}

/* store_scan_dir: index subdirectory SUB of disk D into O. */
static void store_scan_dir(struct store *s, size_t d, unsigned sub, struct store_scan_out *o)
{
    char subname[3], qp[512], qe[256], ebuf[128];
    struct store_scan_rec r;
    struct store_hdr h = {.len = 0};
    struct dirent *de;
    DIR *dir;
    int fd;

    snprintf(subname, sizeof(subname), "%02x", sub);
    fd = openat(s->disks[d].dirfd, subname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !(dir = fdopendir(fd))) {
        int err = errno;
        if (err != ENOENT)
            shd_warn("store",
                     "cannot scan directory path=%s dir=blocks/%s err=%s what=\"its blocks are "
                     "not used; check the directory\"",
                     shd_log_q(s->disks[d].path, qp, sizeof(qp)), subname,
                     shd_log_q(strerror_r(err, ebuf, sizeof(ebuf)), qe, sizeof(qe)));
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((de = readdir(dir))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        /* names not ours are left alone */
        if (len != 2 * STORE_ID_LEN + 4 || store_hex_parse(n, r.id) != 0)
            continue;
        if (strcmp(n + 2 * STORE_ID_LEN, ".tmp") == 0) { /* an interrupted write */
            unlinkat(dirfd(dir), n, 0);
            o->dropped++;
            continue;
        }
        if (strcmp(n + 2 * STORE_ID_LEN, ".blk") != 0)
            continue;
        int rc = r.id[0] == sub ? store_scan_file(dirfd(dir), n, r.id, s->block_size, &h)
                                : SHD_ERR_CORRUPT;
        if (rc == SHD_ERR_CORRUPT) {
            unlinkat(dirfd(dir), n, 0);
            o->dropped++;
        } else if (rc == 0) {
            r.created_ms = h.created_ms;
            r.fbytes = (uint32_t)store_disk_file_bytes(h.len, h.data_off);
            r.disk = (uint8_t)d;
            store_scan_add(o, &r);
        }
    }
    closedir(dir);
}

static void *store_scan_main(void *arg)
{
    struct store_scan_arg *a = arg;
    size_t total = a->sc->s->ndisks * STORE_SUBDIRS, i;

    while ((i = atomic_fetch_add(&a->sc->next, 1)) < total)
        store_scan_dir(a->sc->s, i / STORE_SUBDIRS, (unsigned)(i % STORE_SUBDIRS), &a->out);
    return NULL;
}

static int store_scan_cmp(const void *a, const void *b)
{
    const struct store_scan_rec *x = a, *y = b;

    return x->created_ms < y->created_ms ? -1 : x->created_ms > y->created_ms;
}

/* store_scan_index: put the found blocks into the index, oldest first, so
 * that the disk policies' FIFO order follows the files' age. */
static void store_scan_index(struct store *s, struct store_scan_rec *recs, size_t n)
{
    qsort(recs, n, sizeof(*recs), store_scan_cmp);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        struct store_scan_rec *r = &recs[i];
        struct store_policy *p = &s->disks[r->disk].policy;
        struct store_entry *e = store_index_find(s, r->id);
        if (e || !store_policy_fits(p, r->fbytes)) { /* a copy on another disk; too big */
            store_io_queue(s, store_job_new(STORE_JOB_UNLINK, r->id, r->disk, 0));
            s->st.scan_dropped++;
            continue;
        }
        store_disk_make_room(s, r->disk, r->fbytes);
        e = store_index_get(s, r->id);
        e->disk = (uint8_t)(r->disk + 1);
        e->gen = ++s->next_gen;
        store_policy_insert(p, &e->pdisk, r->fbytes, 1);
        s->st.scan_blocks++;
    }
    pthread_mutex_unlock(&s->mu);
}

void store_disk_scan(struct store *s, unsigned nthreads)
{
    struct store_scan sc = {.s = s};
    struct store_scan_arg *args;
    pthread_t *th;
    unsigned started = 0;
    uint64_t t0 = store_now_ms();
    struct store_scan_rec *all;
    size_t n = 0;
    sigset_t set, old;

    if (nthreads > s->ndisks * STORE_SUBDIRS)
        nthreads = (unsigned)(s->ndisks * STORE_SUBDIRS);
    atomic_init(&sc.next, 0);
    th = shd_xcalloc(nthreads, sizeof(*th));
    args = shd_xcalloc(nthreads, sizeof(*args));
    sigfillset(&set);
    pthread_sigmask(SIG_SETMASK, &set, &old);
    for (unsigned i = 0; i < nthreads; i++) {
        args[i].sc = &sc;
        if (pthread_create(&th[started], NULL, store_scan_main, &args[i]) == 0)
            started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) /* no threads: scan here */
        store_scan_main(&args[0]);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (unsigned i = 0; i < nthreads; i++)
        n += args[i].out.n;
    all = shd_xmalloc((n ? n : 1) * sizeof(*all));
    n = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        if (args[i].out.n)
            memcpy(all + n, args[i].out.recs, args[i].out.n * sizeof(*all));
        n += args[i].out.n;
        s->st.scan_dropped += args[i].out.dropped;
        free(args[i].out.recs);
    }
    store_scan_index(s, all, n);
    free(all);
    free(th);
    free(args);
    s->st.scan_ms = store_now_ms() - t0;
    shd_info("store", "disk tier indexed disks=%zu blocks=%llu dropped=%llu ms=%llu", s->ndisks,
             (unsigned long long)s->st.scan_blocks, (unsigned long long)s->st.scan_dropped,
             (unsigned long long)s->st.scan_ms);
}
