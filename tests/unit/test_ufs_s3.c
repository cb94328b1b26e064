/* tests/unit/test_ufs_s3.c: the S3 backend of ufs (ufs/s3*.c) on a real
 * event loop.
 *
 * Without S3_ENDPOINT in the environment (the plain unit run, valgrind and
 * ASan included) it runs what needs no server: opening and argument checks,
 * callbacks never synchronous (the XML parsers, dates, status mapping and
 * fuzz corpus are in test_ufs_s3_xml.c), the backend pairs ufs_copy refuses, retries against a
 * closed loopback port (EUNAVAIL within a time bound, exact request and retry counts), cancel and
 * close with operations outstanding.
 *
 * With S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (set by
 * tests/integration/test_ufs_s3.sh, which starts tests/s3/s3-server) it also
 * drives every operation against that server in a fresh bucket, and through
 * a small fault-injecting TCP proxy (a thread of this program that resets a
 * connection after N response bytes) it checks that a read broken midway
 * resumes where it stopped, and fails with UFS_EPRECOND when the object
 * changed in between. UFS_S3_BENCH=1 adds a 64 MiB GET throughput figure. */
#include "ufs/s3_int.h"
#include "ufs/ufs.h"
#include "tests/unit/harness.h"

#include <event2/event.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define WAIT_MS 60000

static struct event_base *base;
static const char *endpoint, *access_key, *secret_key, *region;
static char bucket[64];

/* ---- loop helpers ----------------------------------------------------------- */

static int timed_out;

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    timed_out = 1;
    event_base_loopbreak(base);
}

/* wait_for: runs the loop until *FLAG is set (callbacks break the loop) or
 * MS milliseconds passed. Returns *FLAG. */
static int wait_for(const int *flag, int ms)
{
    struct event *g = evtimer_new(base, guard_cb, NULL);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    timed_out = 0;
    evtimer_add(g, &tv);
    while (!*flag && !timed_out)
        if (event_base_loop(base, 0) != 0)
            break;
    event_free(g);
    return *flag;
}

/* run_for: runs the loop for MS milliseconds whatever happens. */
static void run_for(int ms)
{
    int never = 0;

    wait_for(&never, ms);
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* fill: deterministic bytes for object bodies. */
static unsigned char *fill(size_t n, uint64_t seed)
{
    unsigned char *b = malloc(n ? n : 1);
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t i;

    for (i = 0; b && i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    return b;
}

/* ---- callback recorders ----------------------------------------------------- */

struct res {
    int called, err, has_st;
    struct ufs_stat st;
    char etag[UFS_ETAG_MAX];
    char *text; /* upload id */
    size_t n;   /* entries or buckets */
    int found;  /* ufs_list_buckets: the test bucket was listed */
};

static void on_stat(void *arg, int err, const struct ufs_stat *st)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    if (st) {
        r->st = *st;
        r->has_st = 1;
    }
    event_base_loopbreak(base);
}

static void on_done(void *arg, int err)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    event_base_loopbreak(base);
}

static void on_etag(void *arg, int err, const char *etag)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
    event_base_loopbreak(base);
}

static void on_create(void *arg, int err, const char *id)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    free(r->text);
    r->text = id ? strdup(id) : NULL;
    event_base_loopbreak(base);
}

static void on_buckets(void *arg, int err, const struct ufs_bucket *b, size_t n)
{
    struct res *r = arg;
    size_t i;

    r->called++;
    r->err = err;
    r->n = n;
    for (i = 0; i < n; i++)
        if (strcmp(b[i].name, bucket) == 0 && b[i].created > 0)
            r->found = 1;
    event_base_loopbreak(base);
}

/* a read into memory, with knobs to pause, abort or cancel from data() */
struct reader {
    struct ufs_req *req;
    unsigned char *buf;
    size_t len, cap;
    int done, err, has_st, chunks;
    struct ufs_stat st;
    int pause_every, paused, pauses, data_while_paused, done_while_paused;
    int abort_at, cancel_at, canceled;
    struct event *resume_ev;
    int (*on_first)(struct reader *rd); /* runs at the first chunk: GO or PAUSE */
};

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reader *rd = arg;

    (void)fd;
    (void)what;
    rd->paused = 0;
    ufs_read_resume(rd->req);
}

static int rd_data(void *arg, const void *p, size_t n)
{
    struct reader *rd = arg;

    if (rd->paused)
        rd->data_while_paused++;
    if (rd->len + n > rd->cap) {
        rd->cap = (rd->len + n) * 2;
        rd->buf = realloc(rd->buf, rd->cap);
    }
    memcpy(rd->buf + rd->len, p, n);
    rd->len += n;
    rd->chunks++;
    if (rd->chunks == 1 && rd->on_first)
        return rd->on_first(rd); /* a PAUSE is resumed by whoever set the hook */
    if (rd->abort_at && rd->chunks == rd->abort_at)
        return UFS_READ_ABORT;
    if (rd->cancel_at && rd->chunks == rd->cancel_at) {
        ufs_cancel(rd->req);
        rd->canceled = 1;
        event_base_loopbreak(base);
        return UFS_READ_GO;
    }
    if (rd->pause_every && rd->chunks % rd->pause_every == 0) {
        struct timeval tv = {0, 1000};

        rd->paused = 1;
        rd->pauses++;
        if (!rd->resume_ev)
            rd->resume_ev = evtimer_new(base, resume_cb, rd);
        evtimer_add(rd->resume_ev, &tv);
        return UFS_READ_PAUSE;
    }
    return UFS_READ_GO;
}

static void rd_done(void *arg, int err, const struct ufs_stat *st)
{
    struct reader *rd = arg;

    if (rd->paused)
        rd->done_while_paused++;
    rd->done++;
    rd->err = err;
    if (st) {
        rd->st = *st;
        rd->has_st = 1;
    }
    event_base_loopbreak(base);
}

static void reader_free(struct reader *rd)
{
    free(rd->buf);
    if (rd->resume_ev)
        event_free(rd->resume_ev);
}

static const struct ufs_read_cbs rd_cbs = {rd_data, rd_done};

/* a streaming writer honouring UFS_WRITE_FULL and drain() */
struct writer {
    struct ufs_req *w;
    const unsigned char *data;
    size_t len, pos, chunk;
    int fulls, drains, done, err, write_err, closed, close_rc;
    char etag[UFS_ETAG_MAX];
};

static void wr_pump(struct writer *wr)
{
    while (wr->pos < wr->len) {
        size_t n = wr->len - wr->pos < wr->chunk ? wr->len - wr->pos : wr->chunk;
        int rc = ufs_write(wr->w, wr->data + wr->pos, n);

        if (rc < 0) {
            wr->write_err = rc;
            return;
        }
        wr->pos += n;
        if (rc == UFS_WRITE_FULL) {
            wr->fulls++;
            return;
        }
    }
    if (!wr->closed) {
        wr->closed = 1;
        wr->close_rc = ufs_write_close(wr->w);
    }
}

static void wr_drain(void *arg)
{
    struct writer *wr = arg;

    wr->drains++;
    wr_pump(wr);
}

static void wr_done(void *arg, int err, const char *etag)
{
    struct writer *wr = arg;

    wr->done++;
    wr->err = err;
    wr->w = NULL;
    snprintf(wr->etag, sizeof(wr->etag), "%s", etag ? etag : "");
    event_base_loopbreak(base);
}

static const struct ufs_write_cbs wr_cbs = {wr_drain, wr_done};

/* ---- synchronous wrappers (each checks that no callback ran inside the call) -- */

static struct ufs *open_s3(const char *bkt, const char *prefix, const char *secret,
                           uint64_t threshold, uint64_t part)
{
    struct ufs_s3_config c;
    struct ufs *u = NULL;

    memset(&c, 0, sizeof(c));
    c.endpoint = endpoint;
    c.region = region;
    c.bucket = bkt;
    c.prefix = prefix;
    c.access_key = access_key;
    c.secret_key = secret ? secret : secret_key;
    c.path_style = 1;
    c.multipart_threshold = threshold;
    c.part_size = part;
    if (ufs_s3_open(base, &c, &u) != 0)
        return NULL;
    return u;
}

static int put_obj(struct ufs *u, const char *key, const void *data, size_t len, uint64_t size,
                   const struct ufs_put_opts *o, char etag[UFS_ETAG_MAX], struct writer *out)
{
    struct writer wr;

    memset(&wr, 0, sizeof(wr));
    wr.data = data;
    wr.len = len;
    wr.chunk = MIB;
    wr.w = ufs_write_open(u, key, size, o, &wr_cbs, &wr);
    if (!wr.w)
        return -100;
    wr_pump(&wr);
    if (wr.done)
        return -101; /* must not be synchronous */
    if (!wait_for(&wr.done, WAIT_MS))
        return -102;
    if (etag)
        memcpy(etag, wr.etag, UFS_ETAG_MAX);
    if (out)
        *out = wr;
    return wr.err;
}

static int get_obj(struct ufs *u, const char *key, uint64_t off, uint64_t len, const char *im,
                   struct reader *rd)
{
    rd->req = ufs_read(u, key, off, len, im, &rd_cbs, rd);
    if (!rd->req)
        return -100;
    if (rd->done)
        return -101;
    if (!wait_for(&rd->done, WAIT_MS))
        return -102;
    return rd->err;
}

static int stat_obj(struct ufs *u, const char *key, struct res *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_stat(u, key, on_stat, r))
        return -100;
    if (r->called)
        return -101;
    if (!wait_for(&r->called, WAIT_MS))
        return -102;
    return r->err;
}

static int del_obj(struct ufs *u, const char *key)
{
    struct res r;

    memset(&r, 0, sizeof(r));
    if (!ufs_delete(u, key, on_done, &r))
        return -100;
    if (r.called)
        return -101;
    if (!wait_for(&r.called, WAIT_MS))
        return -102;
    return r.err;
}

/* a copy's result */
struct cres {
    int called, err;
    char etag[UFS_ETAG_MAX];
    int64_t mtime;
};

static void on_copy(void *arg, int err, const char *etag, int64_t mtime)
{
    struct cres *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
    r->mtime = mtime;
    if (!err != (etag != NULL))
        r->err = 999; /* an ETag exactly on success */
    event_base_loopbreak(base);
}

static int copy_obj(struct ufs *u, const char *dst, const struct ufs *from, const char *src,
                    const struct ufs_copy_opts *o, struct cres *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_copy(u, dst, from, src, o, on_copy, r))
        return -100;
    if (r->called)
        return -101;
    if (!wait_for(&r->called, WAIT_MS))
        return -102;
    return r->err;
}

/* ---- tests that need no server ---------------------------------------------------- */

TEST(open_checks_arguments)
{
    struct ufs_s3_config c;
    struct ufs *u = (struct ufs *)&c; /* must stay untouched on failure */

    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    CHECK(ufs_s3_open(NULL, &c, &u) == UFS_EINVAL);
    CHECK(ufs_s3_open(base, NULL, &u) == UFS_EINVAL);
    CHECK(ufs_s3_open(base, &c, NULL) == UFS_EINVAL);
    c.endpoint = "ftp://h";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.endpoint = "http://";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.endpoint = "http://h/path";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.endpoint = "http://h:1";
    c.prefix = "no-slash";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.prefix = "ok/";
    c.region = "Bad Region";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.region = NULL;
    c.access_key = "ak";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL); /* no secret */
    c.secret_key = "sk\r\nX: y";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.secret_key = "sk";
    c.bucket = "bad/bucket";
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    c.bucket = "bkt";
    c.part_size = 6ULL << 30;
    CHECK(ufs_s3_open(base, &c, &u) == UFS_EINVAL);
    CHECK(u == (struct ufs *)&c);
    c.part_size = 0;
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    CHECK(u != (struct ufs *)&c);
    ufs_close(u);
    c.endpoint = NULL; /* AWS, virtual-host style */
    c.region = "eu-west-1";
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    ufs_close(u);
    c.bucket = NULL; /* service level */
    c.endpoint = "https://[::1]:9000/";
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    ufs_close(u);
}

static void never_stat(void *arg, int err, const struct ufs_stat *st)
{
    (void)err;
    (void)st;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static void never_done(void *arg, int err)
{
    (void)err;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static int never_data(void *arg, const void *p, size_t n)
{
    (void)p;
    (void)n;
    (*(int *)arg)++;
    return UFS_READ_GO;
}

static void never_rdone(void *arg, int err, const struct ufs_stat *st)
{
    (void)err;
    (void)st;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static void never_wdone(void *arg, int err, const char *etag)
{
    (void)err;
    (void)etag;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static void never_list(void *arg, int err, const struct ufs_list_page *pg)
{
    (void)err;
    (void)pg;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static void never_create(void *arg, int err, const char *id)
{
    (void)err;
    (void)id;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

static void never_buckets(void *arg, int err, const struct ufs_bucket *b, size_t n)
{
    (void)err;
    (void)b;
    (void)n;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

TEST(operations_check_arguments)
{
    struct ufs_s3_config c;
    struct ufs *u = NULL;
    struct ufs_read_cbs rc = {never_data, never_rdone};
    struct ufs_write_cbs wc = {NULL, never_wdone};
    struct ufs_part part = {1, "\"e\""};
    const char *bad_hdr[] = {"Authorization: x", NULL};
    const char *no_colon[] = {"x-amz-meta-a", NULL};
    const char *crlf[] = {"x-amz-meta-a: b\r\nAuthorization: x", NULL};
    const char *bad_name[] = {"x-amz-meta-a b: c", NULL};
    struct ufs_put_opts po = {NULL, bad_hdr, NULL};
    char longkey[UFS_KEY_MAX + 2];
    int calls = 0;

    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    c.prefix = "pre/";
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    memset(longkey, 'k', sizeof(longkey));
    longkey[UFS_KEY_MAX - 4 + 1] = '\0'; /* with "pre/": one over */
    CHECK(ufs_stat(u, NULL, never_stat, &calls) == NULL);
    CHECK(ufs_stat(u, "", never_stat, &calls) == NULL);
    CHECK(ufs_stat(u, longkey, never_stat, &calls) == NULL);
    CHECK(ufs_stat(u, "k", NULL, &calls) == NULL);
    CHECK(ufs_read(u, "k", 0, 1, NULL, NULL, &calls) == NULL);
    CHECK(ufs_read(u, "k", UINT64_MAX - 1, 5, NULL, &rc, &calls) == NULL);
    CHECK(ufs_read(u, "k", 0, 1, "\"a\r\nb\"", &rc, &calls) == NULL);
    CHECK(ufs_write_open(u, "k", 1, &po, &wc, &calls) == NULL);
    po.headers = no_colon;
    CHECK(ufs_write_open(u, "k", 1, &po, &wc, &calls) == NULL);
    po.headers = crlf;
    CHECK(ufs_write_open(u, "k", 1, &po, &wc, &calls) == NULL);
    po.headers = bad_name;
    CHECK(ufs_write_open(u, "k", 1, &po, &wc, &calls) == NULL);
    CHECK(ufs_mpu_create(u, "k", &po, never_create, &calls) == NULL);
    po.headers = NULL;
    po.content_type = "text/plain\r\nX-Evil: 1";
    CHECK(ufs_write_open(u, "k", 1, &po, &wc, &calls) == NULL);
    po.content_type = NULL;
    CHECK(ufs_write_open(u, longkey, 1, NULL, &wc, &calls) == NULL);
    CHECK(ufs_mpu_part(u, "k", "id", 0, 1, &wc, &calls) == NULL);
    CHECK(ufs_mpu_part(u, "k", "id", 10001, 1, &wc, &calls) == NULL);
    CHECK(ufs_mpu_part(u, "k", "id", 1, UFS_SIZE_UNKNOWN, &wc, &calls) == NULL);
    CHECK(ufs_mpu_part(u, "k", "", 1, 1, &wc, &calls) == NULL);
    CHECK(ufs_mpu_complete(u, "k", "id", &part, 0, never_wdone, &calls) == NULL);
    part.number = 0;
    CHECK(ufs_mpu_complete(u, "k", "id", &part, 1, never_wdone, &calls) == NULL);
    CHECK(ufs_mpu_abort(u, "k", NULL, never_done, &calls) == NULL);
    CHECK(ufs_delete(u, "", never_done, &calls) == NULL);
    CHECK(ufs_create_bucket(u, "bad/name", never_done, &calls) == NULL);
    CHECK(ufs_delete_bucket(u, "", never_done, &calls) == NULL);
    CHECK(ufs_list(u, NULL, NULL, &calls) == NULL);
    CHECK(ufs_write(NULL, "x", 1) == UFS_EINVAL);
    run_for(20);
    CHECK(calls == 0);
    ufs_close(u);
}

TEST(wrong_level_reports_enotsup_from_the_loop)
{
    struct ufs_s3_config c;
    struct ufs *u = NULL, *svc = NULL;
    struct res r1, r2, r3, r4;
    struct reader rd;
    struct writer wr;

    memset(&c, 0, sizeof(c));
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&r3, 0, sizeof(r3));
    memset(&r4, 0, sizeof(r4));
    memset(&rd, 0, sizeof(rd));
    memset(&wr, 0, sizeof(wr));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    c.bucket = NULL;
    REQUIRE(ufs_s3_open(base, &c, &svc) == 0);
    CHECK(ufs_list_buckets(u, on_buckets, &r1) != NULL);
    CHECK(ufs_create_bucket(u, "abc", on_done, &r2) != NULL);
    CHECK(ufs_stat(svc, "k", on_stat, &r3) != NULL);
    CHECK(ufs_list(svc, NULL, never_list, &r4.called) != NULL);
    rd.req = ufs_read(svc, "k", 0, 10, NULL, &rd_cbs, &rd);
    wr.w = ufs_write_open(svc, "k", 1, NULL, &wr_cbs, &wr);
    CHECK(rd.req && wr.w);
    CHECK(r1.called == 0 && r2.called == 0 && r3.called == 0 && rd.done == 0 && wr.done == 0);
    run_for(30);
    CHECK(r1.called == 1 && r1.err == UFS_ENOTSUP);
    CHECK(r2.called == 1 && r2.err == UFS_ENOTSUP);
    CHECK(r3.called == 1 && r3.err == UFS_ENOTSUP && !r3.has_st);
    CHECK(r4.called == 1);
    CHECK(rd.done == 1 && rd.err == UFS_ENOTSUP && !rd.has_st);
    CHECK(wr.done == 1 && wr.err == UFS_ENOTSUP);
    reader_free(&rd);
    ufs_close(u);
    ufs_close(svc);
}

static void never_copy(void *arg, int err, const char *etag, int64_t mtime)
{
    (void)err;
    (void)etag;
    (void)mtime;
    (*(int *)arg)++;
    event_base_loopbreak(base);
}

/* copy_pairs_and_arguments: what ufs_copy refuses at once (NULL), and
 * the pairs of backends with no server-side copy between them (UFS_ENOTSUP,
 * from the loop): another endpoint, other credentials, a directory, a
 * service-level backend. */
TEST(copy_pairs_and_arguments)
{
    struct ufs_s3_config c;
    struct ufs *a = NULL, *ep2 = NULL, *key2 = NULL, *svc = NULL, *dir = NULL;
    const char *bad_hdr[] = {"Authorization: x", NULL};
    struct ufs_put_opts po = {NULL, bad_hdr, NULL};
    struct ufs_copy_opts o = {NULL, 1, &po};
    struct cres r[6];
    char longkey[UFS_KEY_MAX + 2], long_etag[UFS_ETAG_MAX + 1];
    int calls = 0, i;

    memset(&c, 0, sizeof(c));
    memset(r, 0, sizeof(r));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    c.prefix = "pre/";
    c.access_key = "ak";
    c.secret_key = "sk";
    REQUIRE(ufs_s3_open(base, &c, &a) == 0);
    c.endpoint = "http://127.0.0.2:1";
    REQUIRE(ufs_s3_open(base, &c, &ep2) == 0);
    c.endpoint = "http://127.0.0.1:1";
    c.secret_key = "sk2";
    REQUIRE(ufs_s3_open(base, &c, &key2) == 0);
    c.secret_key = "sk";
    c.bucket = NULL;
    REQUIRE(ufs_s3_open(base, &c, &svc) == 0);
    REQUIRE(ufs_dir_open(base, "/tmp", &dir) == 0);
    memset(longkey, 'k', sizeof(longkey));
    longkey[UFS_KEY_MAX - 4 + 1] = '\0'; /* with "pre/": one over */
    memset(long_etag, 'e', sizeof(long_etag));
    long_etag[UFS_ETAG_MAX] = '\0';
    CHECK(ufs_copy(a, "k", a, "s", NULL, NULL, &calls) == NULL);
    CHECK(ufs_copy(a, "", a, "s", NULL, never_copy, &calls) == NULL);
    CHECK(ufs_copy(a, longkey, a, "s", NULL, never_copy, &calls) == NULL);
    CHECK(ufs_copy(a, "k", NULL, "s", NULL, never_copy, &calls) == NULL);
    CHECK(ufs_copy(a, "k", a, "", NULL, never_copy, &calls) == NULL);
    CHECK(ufs_copy(a, "k", a, "s", &o, never_copy, &calls) == NULL); /* header */
    o.put = NULL;
    o.if_match = long_etag;
    CHECK(ufs_copy(a, "k", a, "s", &o, never_copy, &calls) == NULL);
    o.if_match = "\"a\r\nb\"";
    CHECK(ufs_copy(a, "k", a, "s", &o, on_copy, &r[0]) != NULL); /* EINVAL from the loop */
    CHECK(ufs_copy(a, "k", ep2, "s", NULL, on_copy, &r[1]) != NULL);
    CHECK(ufs_copy(a, "k", key2, "s", NULL, on_copy, &r[2]) != NULL);
    CHECK(ufs_copy(a, "k", dir, "s", NULL, on_copy, &r[3]) != NULL);
    CHECK(ufs_copy(svc, "k", a, "s", NULL, on_copy, &r[4]) != NULL);
    CHECK(ufs_copy(a, "k", a, longkey, NULL, on_copy, &r[5]) != NULL); /* too long with "pre/" */
    for (i = 0; i < 6; i++)
        CHECK(r[i].called == 0);
    run_for(30);
    CHECK(calls == 0);
    CHECK(r[0].called == 1 && r[0].err == UFS_EINVAL);
    for (i = 1; i < 5; i++)
        CHECK(r[i].called == 1 && r[i].err == UFS_ENOTSUP && r[i].etag[0] == '\0');
    CHECK(r[5].called == 1 && r[5].err == UFS_EINVAL);
    ufs_close(a);
    ufs_close(ep2);
    ufs_close(key2);
    ufs_close(svc);
    ufs_close(dir);
}

/* A canned HTTP server on a loopback port (a thread): every connection gets
 * the response in `resp`; the head of the last request is kept. */
struct canned {
    int lfd, port;
    atomic_int nreq;
    const char *resp;
    char req[8192];
    pthread_t th;
};

static void *canned_main(void *arg)
{
    struct canned *cs = arg;
    int fd;

    while ((fd = accept(cs->lfd, NULL, NULL)) >= 0) {
        size_t got = 0;
        ssize_t k;

        while (got < sizeof(cs->req) - 1 &&
               (k = recv(fd, cs->req + got, sizeof(cs->req) - 1 - got, 0)) > 0) {
            got += (size_t)k;
            cs->req[got] = '\0';
            if (strstr(cs->req, "\r\n\r\n"))
                break;
        }
        atomic_fetch_add(&cs->nreq, 1); /* before the client can see the answer */
        if (send(fd, cs->resp, strlen(cs->resp), MSG_NOSIGNAL) < 0)
            perror("canned send");
        close(fd);
    }
    return NULL;
}

static int canned_start(struct canned *cs)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cs->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cs->lfd < 0 || bind(cs->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(cs->lfd, 8) != 0 || getsockname(cs->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    cs->port = ntohs(a.sin_port);
    return pthread_create(&cs->th, NULL, canned_main, cs) == 0 ? 0 : -1;
}

static void canned_stop(struct canned *cs)
{
    shutdown(cs->lfd, SHUT_RDWR); /* accept() fails: the thread ends */
    pthread_join(cs->th, NULL);
    close(cs->lfd);
}

/* copy_request_and_200_error: the request ufs_copy sends (PUT of the
 * destination with the source's bucket and prefixed key encoded in
 * x-amz-copy-source, the directive, REPLACE's headers, if-match), its
 * CopyObjectResult parsed, and a 200 whose body is an <Error>, which S3
 * sends when a copy fails after it began to answer: an error, not a copy. */
TEST(copy_request_and_200_error)
{
    static struct canned cs;
    static const char ok[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 143\r\nConnection: close\r\n\r\n"
        "<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
        "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>      ";
    static const char err200[] = "HTTP/1.1 200 OK\r\nContent-Length: 88\r\nConnection: close"
                                 "\r\n\r\n\n  <Error><Code>AccessDenied</Code><Message>no</Message>"
                                 "<RequestId>1</RequestId></Error>";
    const char *meta[] = {"x-amz-meta-k: v", NULL};
    struct ufs_put_opts po = {"text/x-new", meta, NULL};
    struct ufs_copy_opts o = {NULL, 0, NULL};
    struct ufs_s3_config c;
    struct ufs *dst = NULL, *src = NULL;
    char ep[64];
    struct cres r;

    memset(&cs, 0, sizeof(cs));
    REQUIRE(canned_start(&cs) == 0);
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", cs.port);
    memset(&c, 0, sizeof(c));
    c.endpoint = ep;
    c.bucket = "dbkt";
    c.prefix = "dp/";
    c.access_key = "ak";
    c.secret_key = "sk";
    c.path_style = 1;
    c.max_retries = 1;
    REQUIRE(ufs_s3_open(base, &c, &dst) == 0);
    c.bucket = "sbkt";
    c.prefix = "sp/";
    REQUIRE(ufs_s3_open(base, &c, &src) == 0);
    cs.resp = ok;
    CHECK(copy_obj(dst, "d k", src, "s k+x/\xc3\xbc", &o, &r) == 0);
    CHECK_STR(r.etag, "\"9b2cf535f27731c974343645a3985328\"");
    CHECK(r.mtime == 1255369830);
    CHECK(strncmp(cs.req, "PUT /dbkt/dp/d%20k HTTP/1.1\r\n", 29) == 0);
    CHECK(strstr(cs.req, "\r\nx-amz-copy-source: /sbkt/sp/s%20k%2Bx/%C3%BC\r\n") != NULL);
    CHECK(strstr(cs.req, "\r\nx-amz-metadata-directive: COPY\r\n") != NULL);
    CHECK(strstr(cs.req, "x-amz-meta-k") == NULL && strstr(cs.req, "if-match") == NULL);
    CHECK(strstr(cs.req, "Authorization: AWS4-HMAC-SHA256 Credential=ak/") != NULL);
    o.replace = 1;
    o.put = &po;
    o.if_match = "\"abc\"";
    CHECK(copy_obj(dst, "d", src, "s", &o, &r) == 0);
    CHECK(strstr(cs.req, "\r\nx-amz-metadata-directive: REPLACE\r\n") != NULL);
    CHECK(strstr(cs.req, "\r\nContent-Type: text/x-new\r\n") != NULL);
    CHECK(strstr(cs.req, "\r\nx-amz-meta-k: v\r\n") != NULL);
    CHECK(strstr(cs.req, "\r\nx-amz-copy-source-if-match: \"abc\"\r\n") != NULL);
    cs.resp = err200;
    atomic_store(&cs.nreq, 0);
    CHECK(copy_obj(dst, "d", src, "s", &o, &r) == UFS_EACCES);
    CHECK(r.etag[0] == '\0' && atomic_load(&cs.nreq) == 1);
    ufs_close(dst);
    ufs_close(src);
    canned_stop(&cs);
}

/* closed_port: a loopback port nobody listens on. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static struct ufs *open_closed(unsigned retries)
{
    static char ep[64];
    struct ufs_s3_config c;
    struct ufs *u = NULL;

    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", closed_port());
    memset(&c, 0, sizeof(c));
    c.endpoint = ep;
    c.bucket = "bkt";
    c.access_key = "ak";
    c.secret_key = "sk";
    c.path_style = 1;
    c.max_retries = retries;
    if (ufs_s3_open(base, &c, &u) != 0)
        return NULL;
    return u;
}

TEST(unreachable_endpoint_gives_eunavail_after_retries)
{
    struct ufs *u = open_closed(4);
    struct ufs_counters k;
    struct res r;
    struct reader rd;
    struct writer wr;
    double t0, dt;
    static const unsigned char byte = 'x';

    REQUIRE(u);
    memset(&rd, 0, sizeof(rd));
    t0 = now_s();
    CHECK(stat_obj(u, "k", &r) == UFS_EUNAVAIL);
    dt = now_s() - t0;
    /* 4 backoffs of at most 50, 100, 200 and 400 ms: about 0.3 s here, 0.9 s
     * under valgrind, 1.8 s with four valgrinds on two cores. The bound
     * leaves room for that and is still far below a 10 s connect timeout */
    CHECK(dt < 5.0);
    CHECK(!r.has_st);
    ufs_counters_get(u, &k);
    CHECK(k.requests[UFS_K_HEAD] == 5);
    CHECK(k.retries == 4);
    CHECK(k.errors == 1);
    CHECK(get_obj(u, "k", 0, 100, NULL, &rd) == UFS_EUNAVAIL);
    CHECK(rd.len == 0 && !rd.has_st);
    CHECK(put_obj(u, "k", &byte, 1, 1, NULL, NULL, &wr) == UFS_EUNAVAIL);
    CHECK(del_obj(u, "k") == UFS_EUNAVAIL);
    ufs_counters_get(u, &k);
    CHECK(k.requests[UFS_K_GET] == 5 && k.requests[UFS_K_PUT] == 5 &&
          k.requests[UFS_K_DELETE] == 5);
    CHECK(k.retries == 16 && k.errors == 4);
    reader_free(&rd);
    ufs_close(u);
}

TEST(cancel_means_no_callback)
{
    struct ufs *u = open_closed(8);
    int calls = 0;
    struct ufs_read_cbs rc = {never_data, never_rdone};
    struct ufs_write_cbs wc = {NULL, never_wdone};
    struct ufs_req *a, *b, *c, *d, *e;

    REQUIRE(u);
    /* cancelled at once */
    a = ufs_stat(u, "k", never_stat, &calls);
    b = ufs_read(u, "k", 0, 10, NULL, &rc, &calls);
    c = ufs_write_open(u, "k", UFS_SIZE_UNKNOWN, NULL, &wc, &calls);
    d = ufs_list(u, NULL, never_list, &calls);
    REQUIRE(a && b && c && d);
    CHECK(ufs_write(c, "abc", 3) == UFS_WRITE_OK);
    ufs_cancel(a);
    ufs_cancel(b);
    ufs_cancel(c);
    ufs_cancel(d);
    ufs_cancel(a); /* twice: harmless before it is freed */
    run_for(50);
    /* cancelled while backing off between retries */
    e = ufs_stat(u, "k", never_stat, &calls);
    REQUIRE(e);
    run_for(60);
    ufs_cancel(e);
    run_for(300);
    CHECK(calls == 0);
    /* an early error cancelled before it was reported */
    a = ufs_list_buckets(u, never_buckets, &calls);
    REQUIRE(a);
    ufs_cancel(a);
    run_for(20);
    CHECK(calls == 0);
    ufs_close(u);
}

TEST(close_with_operations_outstanding)
{
    struct ufs *u = open_closed(8);
    int calls = 0, i;
    struct ufs_read_cbs rc = {never_data, never_rdone};
    struct ufs_write_cbs wc = {NULL, never_wdone};
    struct ufs_req *w;

    REQUIRE(u);
    for (i = 0; i < 10; i++)
        CHECK(ufs_stat(u, "k", never_stat, &calls) != NULL);
    CHECK(ufs_read(u, "k", 5, UFS_SIZE_UNKNOWN, "\"e\"", &rc, &calls) != NULL);
    w = ufs_write_open(u, "k", 3, NULL, &wc, &calls);
    REQUIRE(w);
    CHECK(ufs_write(w, "abc", 3) == UFS_WRITE_OK);
    CHECK(ufs_write(w, "d", 1) == UFS_EINVAL); /* more than declared */
    CHECK(ufs_write(w, "d", 1) == UFS_EINVAL); /* stays failed */
    CHECK(ufs_delete(u, "k", never_done, &calls) != NULL);
    run_for(30); /* some in flight, some backing off, the write's failure pending */
    ufs_close(u);
    run_for(20);
    CHECK(calls == 1); /* only the failed write reported (before the close) */
}

TEST(write_size_mismatch)
{
    struct ufs *u = open_closed(0);
    struct writer wr;
    static const unsigned char data[4] = "abcd";

    REQUIRE(u);
    memset(&wr, 0, sizeof(wr));
    wr.w = ufs_write_open(u, "k", 5, NULL, &wr_cbs, &wr);
    REQUIRE(wr.w);
    CHECK(ufs_write(wr.w, data, 4) == UFS_WRITE_OK);
    CHECK(ufs_write_close(wr.w) == UFS_EINVAL);
    CHECK(wr.done == 0);
    CHECK(wait_for(&wr.done, 2000));
    CHECK(wr.err == UFS_EINVAL);
    ufs_close(u);
}

/* ---- against a real server ------------------------------------------------------ */

static struct ufs *svc, *ub; /* service level; the test bucket with prefix "t/" */

/* md5_etag: the ETag S3 gives a single PUT of DATA: "\"<hex md5>\"". */
static void md5_etag(const void *data, size_t len, char out[UFS_ETAG_MAX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *p = out;

    EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
    *p++ = '"';
    for (i = 0; i < n; i++)
        p += sprintf(p, "%02x", md[i]);
    *p++ = '"';
    *p = '\0';
}

/* A fault-injecting TCP proxy in front of the server: connection number i
 * is reset (RST to the client) after cut[i] response bytes or cut_up[i]
 * request bytes went through; 0 = never. */
struct proxy;
struct pconn {
    struct proxy *px;
    int cfd, ufd;
    long cut, cut_up;
    pthread_t th;
};

struct proxy {
    int lfd, port, nconn;
    struct sockaddr_in up;
    pthread_t th;
    volatile int stop;
    long cut[8], cut_up[8];
    struct pconn *conns[64];
};

/* pconn_reset: drops the client's connection with a RST. */
static void pconn_reset(struct pconn *c)
{
    struct linger lg = {1, 0};

    setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *pconn_main(void *arg)
{
    struct pconn *c = arg;
    static __thread char buf[65536];
    long down = 0, up = 0;

    while (!c->px->stop) {
        struct pollfd p[2] = {{c->cfd, POLLIN, 0}, {c->ufd, POLLIN, 0}};
        ssize_t n;
        int r = poll(p, 2, 50);

        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents) {
            size_t want = sizeof(buf);

            if (c->cut_up && (long)want > c->cut_up - up)
                want = (size_t)(c->cut_up - up);
            n = read(c->cfd, buf, want);
            if (n <= 0 || write_all(c->ufd, buf, (size_t)n) != 0)
                break;
            up += n;
            if (c->cut_up && up >= c->cut_up) {
                pconn_reset(c);
                break;
            }
        }
        if (p[1].revents) {
            size_t want = sizeof(buf);

            if (c->cut && (long)want > c->cut - down)
                want = (size_t)(c->cut - down);
            n = read(c->ufd, buf, want);
            if (n <= 0 || write_all(c->cfd, buf, (size_t)n) != 0)
                break;
            down += n;
            if (c->cut && down >= c->cut) {
                pconn_reset(c);
                break;
            }
        }
    }
    close(c->cfd);
    close(c->ufd);
    c->cfd = c->ufd = -1;
    return NULL;
}

static void *proxy_main(void *arg)
{
    struct proxy *px = arg;

    while (!px->stop) {
        struct pollfd p = {px->lfd, POLLIN, 0};
        struct pconn *c;
        int fd;

        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(px->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        c = calloc(1, sizeof(*c));
        c->px = px;
        c->cfd = fd;
        c->cut = px->nconn < 8 ? px->cut[px->nconn] : 0;
        c->cut_up = px->nconn < 8 ? px->cut_up[px->nconn] : 0;
        c->ufd = socket(AF_INET, SOCK_STREAM, 0);
        if (px->nconn >= 64 || connect(c->ufd, (struct sockaddr *)&px->up, sizeof(px->up)) != 0) {
            close(c->cfd);
            close(c->ufd);
            free(c);
            continue;
        }
        px->conns[px->nconn++] = c;
        pthread_create(&c->th, NULL, pconn_main, c);
    }
    return NULL;
}

static int proxy_start(struct proxy *px)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int port = 0;

    memset(&px->up, 0, sizeof(px->up));
    if (sscanf(endpoint, "http://127.0.0.1:%d", &port) != 1)
        return -1;
    px->up.sin_family = AF_INET;
    px->up.sin_port = htons((uint16_t)port);
    px->up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(px->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(px->lfd, 16) != 0 ||
        getsockname(px->lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    px->port = ntohs(a.sin_port);
    return pthread_create(&px->th, NULL, proxy_main, px);
}

static void proxy_stop(struct proxy *px)
{
    int i;

    px->stop = 1;
    pthread_join(px->th, NULL);
    for (i = 0; i < px->nconn; i++) {
        pthread_join(px->conns[i]->th, NULL);
        free(px->conns[i]);
    }
    close(px->lfd);
}

static struct ufs *open_via_proxy(const struct proxy *px, uint64_t threshold, uint64_t part)
{
    static char ep[64];
    struct ufs_s3_config c;
    struct ufs *u = NULL;

    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", px->port);
    memset(&c, 0, sizeof(c));
    c.endpoint = ep;
    c.region = region;
    c.bucket = bucket;
    c.prefix = "t/";
    c.access_key = access_key;
    c.secret_key = secret_key;
    c.path_style = 1;
    c.multipart_threshold = threshold;
    c.part_size = part;
    if (ufs_s3_open(base, &c, &u) != 0)
        return NULL;
    return u;
}

/* a listing walked page by page */
struct lister {
    int called, err, pages, truncated_pages;
    char keys[16][64];
    uint64_t sizes[16];
    char etags[16][UFS_ETAG_MAX];
    int nkeys;
    char prefixes[8][64];
    int nprefixes;
    char token[512];
    int has_token;
};

static void on_list(void *arg, int err, const struct ufs_list_page *pg)
{
    struct lister *l = arg;
    size_t i;

    l->called++;
    l->err = err;
    if (!err) {
        l->pages++;
        l->truncated_pages += pg->truncated;
        for (i = 0; i < pg->n_entries && l->nkeys < 16; i++) {
            snprintf(l->keys[l->nkeys], 64, "%s", pg->entries[i].key);
            l->sizes[l->nkeys] = pg->entries[i].st.size;
            snprintf(l->etags[l->nkeys], UFS_ETAG_MAX, "%s", pg->entries[i].st.etag);
            l->nkeys++;
        }
        for (i = 0; i < pg->n_prefixes && l->nprefixes < 8; i++)
            snprintf(l->prefixes[l->nprefixes++], 64, "%s", pg->common_prefixes[i]);
        l->has_token = pg->next_token != NULL;
        snprintf(l->token, sizeof(l->token), "%s", pg->next_token ? pg->next_token : "");
    }
    event_base_loopbreak(base);
}

/* list_all: walks every page of O; returns the number of pages, or -1. */
static int list_all(struct ufs *u, struct ufs_list_opts *o, struct lister *l)
{
    memset(l, 0, sizeof(*l));
    do {
        o->continuation_token = l->has_token ? l->token : NULL;
        l->called = 0;
        if (!ufs_list(u, o, on_list, l) || l->called)
            return -1;
        if (!wait_for(&l->called, WAIT_MS) || l->err || l->pages > 10)
            return -1;
    } while (l->has_token);
    o->continuation_token = NULL;
    return l->pages;
}

TEST(live_buckets)
{
    struct res r;
    char other[80];
    struct ufs *uo;
    static const unsigned char one = '1';

    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_create_bucket(svc, bucket, on_done, &r));
    CHECK(r.called == 0);
    REQUIRE(wait_for(&r.called, WAIT_MS));
    REQUIRE(r.err == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_list_buckets(svc, on_buckets, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0 && r.n >= 1 && r.found == 1);
    /* a second bucket: exists twice, not empty, gone */
    snprintf(other, sizeof(other), "%s-x", bucket);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_create_bucket(svc, other, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_create_bucket(svc, other, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == UFS_ECONFLICT);
    uo = open_s3(other, NULL, NULL, 0, 0);
    REQUIRE(uo);
    CHECK(put_obj(uo, "k", &one, 1, 1, NULL, NULL, NULL) == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_delete_bucket(svc, other, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == UFS_ECONFLICT);
    CHECK(del_obj(uo, "k") == 0);
    ufs_close(uo);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_delete_bucket(svc, other, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_delete_bucket(svc, other, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == UFS_ENOBUCKET);
}

TEST(live_put_stat_read)
{
    size_t n = 3 * MIB + 17;
    unsigned char *d = fill(n, 1);
    const char *hdrs[] = {"x-amz-meta-color: blue", "Cache-Control: no-cache", NULL};
    struct ufs_put_opts po = {"application/x-test", hdrs, NULL};
    char etag[UFS_ETAG_MAX], want[UFS_ETAG_MAX];
    struct reader rd;
    struct res r;

    REQUIRE(d);
    md5_etag(d, n, want);
    REQUIRE(put_obj(ub, "obj", d, n, n, &po, etag, NULL) == 0);
    CHECK_STR(etag, want);
    REQUIRE(stat_obj(ub, "obj", &r) == 0);
    CHECK(r.has_st && r.st.size == n);
    CHECK_STR(r.st.etag, want);
    CHECK(r.st.mtime > time(NULL) - 120 && r.st.mtime < time(NULL) + 120);
    CHECK_STR(r.st.content_type, "application/x-test");
    /* whole */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    CHECK(rd.has_st && rd.st.size == n && strcmp(rd.st.etag, want) == 0);
    reader_free(&rd);
    /* a range, and If-Match right */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", 1000, 5000, want, &rd) == 0);
    CHECK(rd.len == 5000 && memcmp(rd.buf, d + 1000, 5000) == 0);
    CHECK(rd.st.size == n);
    reader_free(&rd);
    /* to the end, and past it */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", n - 10, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == 10 && memcmp(rd.buf, d + n - 10, 10) == 0);
    reader_free(&rd);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", n - 10, 100, NULL, &rd) == 0);
    CHECK(rd.len == 10 && memcmp(rd.buf, d + n - 10, 10) == 0);
    reader_free(&rd);
    /* If-Match wrong, range not satisfiable, missing key */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", 0, 10, "\"00000000000000000000000000000000\"", &rd) == UFS_EPRECOND);
    CHECK(rd.len == 0 && !rd.has_st);
    reader_free(&rd);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", n, 10, NULL, &rd) == UFS_ERANGE);
    CHECK(rd.len == 0);
    reader_free(&rd);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "no-such-key", 0, 10, NULL, &rd) == UFS_ENOENT);
    reader_free(&rd);
    CHECK(stat_obj(ub, "no-such-key", &r) == UFS_ENOENT && !r.has_st);
    /* len 0: just the metadata, with the same checks */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "obj", 0, 0, want, &rd) == 0);
    CHECK(rd.len == 0 && rd.has_st && rd.st.size == n);
    reader_free(&rd);
    free(d);
}

/* md5_b64: the Content-MD5 value of DATA. */
static void md5_b64(const void *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

TEST(live_content_md5)
{
    size_t n = 12 * MIB;
    unsigned char *d = fill(n, 12);
    struct ufs *um = open_s3(bucket, "t/", NULL, 8 * MIB, 5 * MIB);
    struct ufs_put_opts po = {NULL, NULL, NULL};
    char right[32], wrong[32], big[32];
    struct res r;

    REQUIRE(d && um);
    md5_b64(d, MIB, right);
    md5_b64(d, MIB - 1, wrong);
    md5_b64(d, n, big);
    po.content_md5 = right;
    CHECK(put_obj(um, "md5", d, MIB, MIB, &po, NULL, NULL) == 0);
    po.content_md5 = wrong; /* checked by S3 (BadDigest) */
    CHECK(put_obj(um, "md5-bad", d, MIB, MIB, &po, NULL, NULL) == UFS_EINVAL);
    CHECK(put_obj(um, "md5-bad", d, MIB, UFS_SIZE_UNKNOWN, &po, NULL, NULL) == UFS_EINVAL);
    CHECK(stat_obj(um, "md5-bad", &r) == UFS_ENOENT);
    /* in parts: checked here before the upload completes */
    po.content_md5 = big;
    CHECK(put_obj(um, "md5-big", d, n, n, &po, NULL, NULL) == 0);
    CHECK(put_obj(um, "md5-big2", d, n, UFS_SIZE_UNKNOWN, &po, NULL, NULL) == 0);
    po.content_md5 = right;
    CHECK(put_obj(um, "md5-big-bad", d, n, n, &po, NULL, NULL) == UFS_EINVAL);
    CHECK(stat_obj(um, "md5-big-bad", &r) == UFS_ENOENT);
    ufs_close(um);
    free(d);
}

/* virtual-host addressing: http://BUCKET.localhost:PORT/KEY (the server's
 * storage domain is localhost; curl resolves *.localhost itself) */
TEST(live_virtual_host_style)
{
    char ep[128], etag[UFS_ETAG_MAX];
    struct ufs_s3_config c;
    struct ufs *u = NULL;
    struct reader rd;
    struct lister l;
    struct ufs_list_opts o;
    struct res r;
    int port = 0;

    REQUIRE(sscanf(endpoint, "http://127.0.0.1:%d", &port) == 1);
    snprintf(ep, sizeof(ep), "http://localhost:%d", port);
    memset(&c, 0, sizeof(c));
    c.endpoint = ep;
    c.region = region;
    c.bucket = bucket;
    c.prefix = "vh/";
    c.access_key = access_key;
    c.secret_key = secret_key;
    c.path_style = 0;
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    CHECK(put_obj(u, "a b", "virtual", 7, 7, NULL, etag, NULL) == 0);
    CHECK(stat_obj(u, "a b", &r) == 0 && r.st.size == 7 && strcmp(r.st.etag, etag) == 0);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(u, "a b", 1, 3, etag, &rd) == 0);
    CHECK(rd.len == 3 && memcmp(rd.buf, "irt", 3) == 0);
    reader_free(&rd);
    memset(&o, 0, sizeof(o));
    CHECK(list_all(u, &o, &l) == 1 && l.nkeys == 1 && strcmp(l.keys[0], "a b") == 0);
    CHECK(del_obj(u, "a b") == 0);
    ufs_close(u);
}

TEST(live_missing_bucket_and_wrong_secret)
{
    char missing[80];
    struct ufs *um, *uw, *ua = NULL;
    struct ufs_s3_config c;
    struct reader rd;
    struct lister l;
    struct res r;

    snprintf(missing, sizeof(missing), "%s-missing", bucket);
    um = open_s3(missing, NULL, NULL, 0, 0);
    uw = open_s3(bucket, "t/", "wrong-secret", 0, 0);
    REQUIRE(um && uw);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(um, "k", 0, 10, NULL, &rd) == UFS_ENOBUCKET);
    reader_free(&rd);
    CHECK(stat_obj(um, "k", &r) == UFS_ENOBUCKET);
    CHECK(del_obj(um, "k") == UFS_ENOBUCKET);
    memset(&l, 0, sizeof(l));
    REQUIRE(ufs_list(um, NULL, on_list, &l));
    CHECK(wait_for(&l.called, WAIT_MS) && l.err == UFS_ENOBUCKET);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(uw, "obj", 0, 10, NULL, &rd) == UFS_EACCES);
    reader_free(&rd);
    CHECK(stat_obj(uw, "obj", &r) == UFS_EACCES);
    /* anonymous: unsigned requests, refused as AWS refuses them */
    memset(&c, 0, sizeof(c));
    c.endpoint = endpoint;
    c.bucket = bucket;
    c.prefix = "t/";
    c.path_style = 1;
    REQUIRE(ufs_s3_open(base, &c, &ua) == 0);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ua, "obj", 0, 10, NULL, &rd) == UFS_EACCES);
    reader_free(&rd);
    ufs_close(ua);
    ufs_close(um);
    ufs_close(uw);
}

TEST(live_pause_resume)
{
    size_t n = 4 * MIB;
    unsigned char *d = fill(n, 2);
    struct reader rd;

    REQUIRE(d);
    REQUIRE(put_obj(ub, "pause", d, n, n, NULL, NULL, NULL) == 0);
    memset(&rd, 0, sizeof(rd));
    rd.pause_every = 3;
    CHECK(get_obj(ub, "pause", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    CHECK(rd.pauses > 3);
    CHECK(rd.data_while_paused == 0 && rd.done_while_paused == 0);
    reader_free(&rd);
    free(d);
}

TEST(live_abort_and_cancel)
{
    struct reader rd;

    memset(&rd, 0, sizeof(rd));
    rd.abort_at = 2;
    CHECK(get_obj(ub, "pause", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == UFS_ECANCELED);
    CHECK(rd.chunks == 2 && rd.done == 1);
    run_for(50);
    CHECK(rd.chunks == 2 && rd.done == 1);
    reader_free(&rd);
    /* cancelled from data(): nothing more */
    memset(&rd, 0, sizeof(rd));
    rd.cancel_at = 2;
    rd.req = ufs_read(ub, "pause", 0, UFS_SIZE_UNKNOWN, NULL, &rd_cbs, &rd);
    REQUIRE(rd.req);
    CHECK(wait_for(&rd.canceled, WAIT_MS));
    run_for(200);
    CHECK(rd.chunks == 2 && rd.done == 0);
    reader_free(&rd);
    /* cancelled at once */
    memset(&rd, 0, sizeof(rd));
    rd.req = ufs_read(ub, "pause", 0, UFS_SIZE_UNKNOWN, NULL, &rd_cbs, &rd);
    REQUIRE(rd.req);
    ufs_cancel(rd.req);
    run_for(200);
    CHECK(rd.chunks == 0 && rd.done == 0);
    reader_free(&rd);
}

TEST(live_multipart_streaming_write)
{
    size_t n = 20 * MIB;
    unsigned char *d = fill(n, 3);
    struct ufs *um = open_s3(bucket, "t/", NULL, 8 * MIB, 5 * MIB);
    struct ufs_counters k;
    struct writer wr;
    struct reader rd;
    char etag[UFS_ETAG_MAX];

    REQUIRE(d && um);
    REQUIRE(put_obj(um, "big", d, n, n, NULL, etag, &wr) == 0);
    CHECK(strlen(etag) > 4 && strcmp(etag + strlen(etag) - 3, "-4\"") == 0);
    CHECK(wr.drains == wr.fulls);
    ufs_counters_get(um, &k);
    CHECK(k.requests[UFS_K_PUT] == 4 && k.requests[UFS_K_MPU] == 2);
    CHECK(k.bytes_out >= n);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(um, "big", 0, UFS_SIZE_UNKNOWN, etag, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    CHECK_STR(rd.st.etag, etag);
    reader_free(&rd);
    /* a range across the parts */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(um, "big", 5 * MIB - 7, MIB, NULL, &rd) == 0);
    CHECK(rd.len == MIB && memcmp(rd.buf, d + 5 * MIB - 7, MIB) == 0);
    reader_free(&rd);
    /* twice as large: the writer must stop at 4 parts held, and go on at drain() */
    free(d);
    n = 40 * MIB;
    d = fill(n, 33);
    REQUIRE(d);
    REQUIRE(put_obj(um, "bigger", d, n, n, NULL, etag, &wr) == 0);
    CHECK(strcmp(etag + strlen(etag) - 3, "-8\"") == 0);
    CHECK(wr.fulls >= 1 && wr.drains == wr.fulls);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(um, "bigger", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    ufs_close(um);
    free(d);
}

/* cancel_write: starts a multipart write of D, cancels it when PARTS_FIRST
 * part uploads have started (0: at once, the create not even sent), then
 * waits for the background abort. Returns the requests made. */
static struct ufs_counters cancel_write(const unsigned char *d, size_t n, unsigned parts_first,
                                        int *callbacks)
{
    struct ufs *um = open_s3(bucket, "t/", NULL, 8 * MIB, 5 * MIB);
    struct ufs_counters k;
    struct writer wr;
    int i;

    memset(&k, 0, sizeof(k));
    memset(&wr, 0, sizeof(wr));
    if (!um)
        return k;
    wr.data = d;
    wr.len = n;
    wr.chunk = MIB;
    wr.w = ufs_write_open(um, "cancelled", UFS_SIZE_UNKNOWN, NULL, &wr_cbs, &wr);
    if (wr.w) {
        wr_pump(&wr); /* 4 parts held: FULL */
        for (i = 0; parts_first && i < 1000; i++) {
            ufs_counters_get(um, &k);
            if (k.requests[UFS_K_PUT] >= parts_first)
                break;
            run_for(5);
        }
        ufs_cancel(wr.w);
        for (i = 0; i < 100; i++) { /* the create (or the abort) still runs */
            run_for(50);
            if (((struct ufs_s3 *)um)->ops == NULL)
                break;
        }
        CHECK(((struct ufs_s3 *)um)->ops == NULL && ((struct ufs_s3 *)um)->dead == NULL);
    }
    ufs_counters_get(um, &k);
    *callbacks = wr.done;
    ufs_close(um);
    return k;
}

/* a multipart write cancelled midway: no callback, the upload is aborted
 * in the background (also when the create had not been answered), no
 * object appears */
TEST(live_cancel_multipart_write)
{
    size_t n = 20 * MIB;
    unsigned char *d = fill(n, 13);
    struct ufs_counters k;
    struct res r;
    int calls = 0;

    REQUIRE(d);
    k = cancel_write(d, n, 0, &calls);
    CHECK(calls == 0);
    CHECK(k.requests[UFS_K_MPU] == 2 && k.requests[UFS_K_PUT] == 0 && k.errors == 0);
    k = cancel_write(d, n, 1, &calls);
    CHECK(calls == 0);
    CHECK(k.requests[UFS_K_MPU] == 2 && k.requests[UFS_K_PUT] >= 1);
    CHECK(stat_obj(ub, "cancelled", &r) == UFS_ENOENT);
    free(d);
}

TEST(live_unknown_size_writes)
{
    size_t n = 12 * MIB;
    unsigned char *d = fill(n, 4);
    struct ufs *um = open_s3(bucket, "t/", NULL, 8 * MIB, 5 * MIB);
    char etag[UFS_ETAG_MAX], want[UFS_ETAG_MAX];
    struct reader rd;

    REQUIRE(d && um);
    REQUIRE(put_obj(um, "unknown-big", d, n, UFS_SIZE_UNKNOWN, NULL, etag, NULL) == 0);
    CHECK(strlen(etag) > 4 && strcmp(etag + strlen(etag) - 3, "-3\"") == 0);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(um, "unknown-big", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    /* small: one plain PUT */
    md5_etag(d, 100 * 1024, want);
    REQUIRE(put_obj(um, "unknown-small", d, 100 * 1024, UFS_SIZE_UNKNOWN, NULL, etag, NULL) == 0);
    CHECK_STR(etag, want);
    /* exactly one part */
    REQUIRE(put_obj(um, "unknown-one", d, 5 * MIB, UFS_SIZE_UNKNOWN, NULL, etag, NULL) == 0);
    CHECK(strcmp(etag + strlen(etag) - 3, "-1\"") == 0);
    /* nothing */
    REQUIRE(put_obj(um, "unknown-empty", d, 0, UFS_SIZE_UNKNOWN, NULL, etag, NULL) == 0);
    CHECK_STR(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    ufs_close(um);
    free(d);
}

TEST(live_single_put_backpressure)
{
    size_t n = 20 * MIB;
    unsigned char *d = fill(n, 5);
    char etag[UFS_ETAG_MAX], want[UFS_ETAG_MAX];
    struct writer wr;
    struct reader rd;

    REQUIRE(d);
    md5_etag(d, n, want);
    /* ub: threshold 64 MiB, part 5 MiB: one PUT through a 5 MiB buffer */
    REQUIRE(put_obj(ub, "single", d, n, n, NULL, etag, &wr) == 0);
    CHECK_STR(etag, want);
    CHECK(wr.fulls >= 3 && wr.drains == wr.fulls);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "single", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    free(d);
}

/* list_key_is: listing "dir a/" gives exactly KEY. */
static int list_key_is(const char *key)
{
    struct ufs_list_opts o;
    struct lister l;

    memset(&o, 0, sizeof(o));
    o.prefix = "dir a/";
    return list_all(ub, &o, &l) == 1 && l.nkeys == 1 && strcmp(l.keys[0], key) == 0;
}

TEST(live_empty_object_and_odd_keys)
{
    const char *key = "dir a/\xc3\xbc+%?#&=~.txt";
    char etag[UFS_ETAG_MAX];
    struct reader rd;
    struct res r;

    REQUIRE(put_obj(ub, "empty", "", 0, 0, NULL, etag, NULL) == 0);
    CHECK_STR(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "empty", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == 0 && rd.has_st && rd.st.size == 0);
    reader_free(&rd);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "empty", 0, 10, NULL, &rd) == UFS_ERANGE);
    reader_free(&rd);
    REQUIRE(put_obj(ub, key, "odd", 3, 3, NULL, NULL, NULL) == 0);
    CHECK(stat_obj(ub, key, &r) == 0 && r.st.size == 3);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, key, 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == 3 && memcmp(rd.buf, "odd", 3) == 0);
    reader_free(&rd);
    CHECK(list_key_is(key));
    CHECK(del_obj(ub, key) == 0);
    CHECK(stat_obj(ub, key, &r) == UFS_ENOENT);
}

TEST(live_delete_twice)
{
    struct res r;

    REQUIRE(put_obj(ub, "del", "x", 1, 1, NULL, NULL, NULL) == 0);
    CHECK(del_obj(ub, "del") == 0);
    CHECK(del_obj(ub, "del") == 0);
    CHECK(stat_obj(ub, "del", &r) == UFS_ENOENT);
}

TEST(live_listing)
{
    static const char *const keys[] = {"ls/a", "ls/b",     "ls/c",     "ls/d",
                                       "ls/e", "ls/sub/x", "ls/sub2/y"};
    char etags[7][UFS_ETAG_MAX];
    struct ufs_list_opts o;
    struct lister l;
    int i;

    for (i = 0; i < 7; i++)
        REQUIRE(put_obj(ub, keys[i], "0123456789", (size_t)i + 1, (uint64_t)i + 1, NULL, etags[i],
                        NULL) == 0);
    memset(&o, 0, sizeof(o));
    o.prefix = "ls/";
    o.delimiter = "/";
    o.max_keys = 2;
    CHECK(list_all(ub, &o, &l) == 4);
    CHECK(l.truncated_pages == 3);
    REQUIRE(l.nkeys == 5);
    for (i = 0; i < 5; i++) {
        CHECK_STR(l.keys[i], keys[i]);
        CHECK(l.sizes[i] == (uint64_t)i + 1);
        CHECK_STR(l.etags[i], etags[i]);
    }
    REQUIRE(l.nprefixes == 2);
    CHECK_STR(l.prefixes[0], "ls/sub/");
    CHECK_STR(l.prefixes[1], "ls/sub2/");
    /* start-after, no delimiter, one page */
    memset(&o, 0, sizeof(o));
    o.prefix = "ls/";
    o.start_after = "ls/c";
    CHECK(list_all(ub, &o, &l) == 1);
    REQUIRE(l.nkeys == 4);
    CHECK_STR(l.keys[0], "ls/d");
    CHECK_STR(l.keys[3], "ls/sub2/y");
    for (i = 0; i < 7; i++)
        CHECK(del_obj(ub, keys[i]) == 0);
    memset(&o, 0, sizeof(o));
    o.prefix = "ls/";
    CHECK(list_all(ub, &o, &l) == 1);
    CHECK(l.nkeys == 0 && l.nprefixes == 0 && l.truncated_pages == 0);
}

TEST(live_passthrough_multipart)
{
    size_t n = 6 * MIB;
    unsigned char *d = fill(n, 6);
    struct ufs_part parts[2];
    char e1[UFS_ETAG_MAX], e2[UFS_ETAG_MAX], id[256];
    struct writer wr;
    struct reader rd;
    struct res r;

    REQUIRE(d);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_create(ub, "mpu", NULL, on_create, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS) && r.err == 0 && r.text);
    snprintf(id, sizeof(id), "%s", r.text);
    free(r.text);
    /* two parts, each a streaming write */
    memset(&wr, 0, sizeof(wr));
    wr.data = d;
    wr.len = 5 * MIB;
    wr.chunk = MIB;
    wr.w = ufs_mpu_part(ub, "mpu", id, 1, 5 * MIB, &wr_cbs, &wr);
    REQUIRE(wr.w);
    wr_pump(&wr);
    REQUIRE(wait_for(&wr.done, WAIT_MS) && wr.err == 0);
    snprintf(e1, sizeof(e1), "%s", wr.etag);
    memset(&wr, 0, sizeof(wr));
    wr.data = d + 5 * MIB;
    wr.len = MIB;
    wr.chunk = MIB;
    wr.w = ufs_mpu_part(ub, "mpu", id, 2, MIB, &wr_cbs, &wr);
    REQUIRE(wr.w);
    wr_pump(&wr);
    REQUIRE(wait_for(&wr.done, WAIT_MS) && wr.err == 0);
    snprintf(e2, sizeof(e2), "%s", wr.etag);
    /* a wrong part ETag is refused */
    parts[0].number = 1;
    parts[0].etag = "\"00000000000000000000000000000000\"";
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_complete(ub, "mpu", id, parts, 1, on_etag, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == UFS_EINVAL);
    parts[0].etag = e1;
    parts[1].number = 2;
    parts[1].etag = e2;
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_complete(ub, "mpu", id, parts, 2, on_etag, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0 && strcmp(r.etag + strlen(r.etag) - 3, "-2\"") == 0);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "mpu", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    /* abort: once fine, twice the upload is gone */
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_create(ub, "mpu2", NULL, on_create, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS) && r.err == 0 && r.text);
    snprintf(id, sizeof(id), "%s", r.text);
    free(r.text);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_abort(ub, "mpu2", id, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0);
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_mpu_abort(ub, "mpu2", id, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == UFS_ECONFLICT);
    free(d);
}

TEST(live_read_resumes_after_reset)
{
    size_t n = 8 * MIB;
    unsigned char *d = fill(n, 7);
    struct proxy px;
    struct ufs *up;
    struct ufs_counters k;
    struct reader rd;

    REQUIRE(d);
    REQUIRE(put_obj(ub, "reset", d, n, n, NULL, NULL, NULL) == 0);
    memset(&px, 0, sizeof(px));
    px.cut[0] = MIB + 333; /* the first connection dies after that many bytes */
    REQUIRE(proxy_start(&px) == 0);
    up = open_via_proxy(&px, 0, 0);
    REQUIRE(up);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(up, "reset", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    ufs_counters_get(up, &k);
    CHECK(k.retries == 1 && k.requests[UFS_K_GET] == 2 && k.errors == 0);
    CHECK(px.nconn == 2);
    reader_free(&rd);
    ufs_close(up);
    proxy_stop(&px);
    free(d);
}

/* the object is overwritten while the read is paused, then the read's
 * connection dies: the retry's If-Match must refuse the new version */
struct change {
    struct reader rd;
    struct writer wr;
    const unsigned char *newdata;
    size_t n;
};

static void change_wdone(void *arg, int err, const char *etag)
{
    struct change *c = arg;

    c->wr.done = 1;
    c->wr.err = err;
    (void)etag;
    c->rd.paused = 0;
    ufs_read_resume(c->rd.req);
}

static const struct ufs_write_cbs change_cbs = {NULL, change_wdone};

static int change_first(struct reader *rd)
{
    struct change *c = (struct change *)rd;

    c->wr.w = ufs_write_open(ub, "change", c->n, NULL, &change_cbs, c);
    if (c->wr.w) {
        ufs_write(c->wr.w, c->newdata, c->n);
        ufs_write_close(c->wr.w);
    }
    rd->paused = 1;
    return UFS_READ_PAUSE;
}

TEST(live_read_fails_when_object_changes_midway)
{
    size_t n = 4 * MIB;
    unsigned char *d = fill(n, 8), *d2 = fill(n, 9);
    struct proxy px;
    struct ufs *up;
    struct change c;

    REQUIRE(d && d2);
    REQUIRE(put_obj(ub, "change", d, n, n, NULL, NULL, NULL) == 0);
    memset(&px, 0, sizeof(px));
    px.cut[0] = 2 * MIB;
    REQUIRE(proxy_start(&px) == 0);
    up = open_via_proxy(&px, 0, 0);
    REQUIRE(up);
    memset(&c, 0, sizeof(c));
    c.newdata = d2;
    c.n = n;
    c.rd.on_first = change_first;
    CHECK(get_obj(up, "change", 0, UFS_SIZE_UNKNOWN, NULL, &c.rd) == UFS_EPRECOND);
    CHECK(c.wr.done == 1 && c.wr.err == 0);
    CHECK(c.rd.len > 0 && c.rd.len < n && memcmp(c.rd.buf, d, c.rd.len) == 0);
    reader_free(&c.rd);
    ufs_close(up);
    proxy_stop(&px);
    free(d);
    free(d2);
}

/* writes whose connection dies while the body goes up: a body that is
 * all in memory is sent again, a streamed one that was partly dropped
 * cannot be, each multipart part is */
TEST(live_write_retries_after_reset)
{
    size_t n = 20 * MIB;
    unsigned char *d = fill(n, 11);
    char etag[UFS_ETAG_MAX], want[UFS_ETAG_MAX];
    struct ufs_counters k;
    struct writer wr;
    struct reader rd;
    struct proxy px;
    struct ufs *up;

    REQUIRE(d);
    /* 1 MiB, known size: kept whole, so retried */
    memset(&px, 0, sizeof(px));
    px.cut_up[0] = 300 * 1024;
    REQUIRE(proxy_start(&px) == 0);
    up = open_via_proxy(&px, 0, 0);
    REQUIRE(up);
    md5_etag(d, MIB, want);
    CHECK(put_obj(up, "wreset", d, MIB, MIB, NULL, etag, NULL) == 0);
    CHECK_STR(etag, want);
    ufs_counters_get(up, &k);
    CHECK(k.retries == 1 && k.requests[UFS_K_PUT] == 2);
    ufs_close(up);
    proxy_stop(&px);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "wreset", 0, UFS_SIZE_UNKNOWN, want, &rd) == 0);
    CHECK(rd.len == MIB && memcmp(rd.buf, d, MIB) == 0);
    reader_free(&rd);
    /* 20 MiB in one streamed PUT through a 5 MiB buffer: not retried */
    memset(&px, 0, sizeof(px));
    px.cut_up[0] = 12 * MIB;
    REQUIRE(proxy_start(&px) == 0);
    up = open_via_proxy(&px, 0, 5 * MIB);
    REQUIRE(up);
    CHECK(put_obj(up, "wreset2", d, n, n, NULL, etag, &wr) == UFS_EUNAVAIL);
    ufs_counters_get(up, &k);
    CHECK(k.retries == 0 && k.requests[UFS_K_PUT] == 1);
    ufs_close(up);
    proxy_stop(&px);
    /* multipart: the part whose connection died is sent again. The first
     * connection carries the create, then a part; the second is a new one
     * for another part (curl itself resends a request on a reused
     * connection that died before any answer, so that is not cut here) */
    memset(&px, 0, sizeof(px));
    px.cut_up[1] = 2 * MIB;
    REQUIRE(proxy_start(&px) == 0);
    up = open_via_proxy(&px, 8 * MIB, 5 * MIB);
    REQUIRE(up);
    CHECK(put_obj(up, "wreset3", d, n, n, NULL, etag, &wr) == 0);
    CHECK(strcmp(etag + strlen(etag) - 3, "-4\"") == 0);
    ufs_counters_get(up, &k);
    CHECK(k.retries == 1 && k.requests[UFS_K_PUT] == 5);
    ufs_close(up);
    proxy_stop(&px);
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "wreset3", 0, UFS_SIZE_UNKNOWN, etag, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    free(d);
}

/* max_connections: with 2, only 2 transfers are in curl's hands, the rest
 * wait in the queue; all of them finish */
static int hold_first, held_count, held_two;

static int hold_first_chunk(struct reader *rd)
{
    if (!hold_first)
        return UFS_READ_GO;
    rd->paused = 1;
    held_two = ++held_count >= 2;
    event_base_loopbreak(base);
    return UFS_READ_PAUSE;
}

TEST(live_max_connections)
{
    struct ufs_s3_config c;
    struct ufs *u = NULL;
    struct reader rds[8];
    unsigned queued = 0;
    int i, all = 0;
    const struct s3_xfer *x;

    memset(&c, 0, sizeof(c));
    c.endpoint = endpoint;
    c.region = region;
    c.bucket = bucket;
    c.prefix = "t/";
    c.access_key = access_key;
    c.secret_key = secret_key;
    c.path_style = 1;
    c.max_connections = 2;
    REQUIRE(ufs_s3_open(base, &c, &u) == 0);
    memset(rds, 0, sizeof(rds));
    hold_first = 1;
    held_count = held_two = 0;
    for (i = 0; i < 8; i++) {
        rds[i].on_first = hold_first_chunk;
        rds[i].req = ufs_read(u, "pause", 0, UFS_SIZE_UNKNOWN, NULL, &rd_cbs, &rds[i]);
        REQUIRE(rds[i].req);
    }
    CHECK(wait_for(&held_two, WAIT_MS));
    run_for(200);
    CHECK(held_count == 2);
    CHECK(((struct ufs_s3 *)u)->n_active == 2);
    for (x = ((struct ufs_s3 *)u)->queue_head; x; x = x->qnext)
        queued++;
    CHECK(queued == 6);
    hold_first = 0;
    for (i = 0; i < 8; i++)
        if (rds[i].paused) {
            rds[i].paused = 0;
            ufs_read_resume(rds[i].req);
        }
    for (i = 0; i < 8; i++) {
        CHECK(wait_for(&rds[i].done, WAIT_MS));
        all += rds[i].done == 1 && rds[i].err == 0 && rds[i].len == 4 * MIB;
    }
    CHECK(all == 8);
    for (i = 0; i < 8; i++)
        reader_free(&rds[i]);
    ufs_close(u);
}

static int bench_data(void *arg, const void *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return UFS_READ_GO;
}

static void bench_done(void *arg, int err, const struct ufs_stat *st)
{
    (void)st;
    ((size_t *)arg)[1] = 1;
    ((size_t *)arg)[2] = (size_t)(err == 0);
    event_base_loopbreak(base);
}

/* bench: GET throughput of a 64 MiB object through ufs (best of 5). */
static void bench(void)
{
    size_t n = 64 * MIB, st[3];
    unsigned char *d = fill(n, 10);
    struct ufs_read_cbs cbs = {bench_data, bench_done};
    double best = 1e9, t0, dt;
    int i, done;

    struct ufs *um = open_s3(bucket, "t/", NULL, 8 * MIB, 8 * MIB);

    t0 = now_s();
    if (!um || put_obj(um, "bench-mpu", d, n, n, NULL, NULL, NULL) != 0)
        printf("bench: multipart put failed\n");
    else
        printf("bench: PUT 64 MiB through ufs, 8 MiB parts: %.0f MiB/s\n", 64 / (now_s() - t0));
    if (um)
        ufs_close(um);
    t0 = now_s();
    if (put_obj(ub, "bench", d, n, n, NULL, NULL, NULL) != 0) {
        printf("bench: put failed\n");
        free(d);
        return;
    }
    printf("bench: PUT 64 MiB through ufs, one streamed PUT: %.0f MiB/s\n", 64 / (now_s() - t0));
    free(d);
    for (i = 0; i < 5; i++) {
        memset(st, 0, sizeof(st));
        t0 = now_s();
        if (!ufs_read(ub, "bench", 0, UFS_SIZE_UNKNOWN, NULL, &cbs, st))
            break;
        done = 0;
        while (!st[1] && !done)
            done = event_base_loop(base, 0) != 0;
        dt = now_s() - t0;
        if (st[2] && st[0] == n && dt < best)
            best = dt;
    }
    printf("bench: GET 64 MiB through ufs: %.0f MiB/s (best of 5, %.3f s)\n", 64 / best, best);
}

/* live_copy: server-side copies within the test prefix, between two
 * prefixes of the bucket (each side's prefix applies), with if_match, with
 * REPLACE onto itself, and the errors S3 gives. */
TEST(live_copy)
{
    size_t n = 300000;
    unsigned char *d = fill(n, 31);
    const char *meta[] = {"x-amz-meta-color: blue", NULL};
    struct ufs_put_opts po = {"application/x-src", meta, NULL};
    struct ufs_put_opts npo = {"application/x-new", NULL, NULL};
    struct ufs_copy_opts o = {NULL, 0, NULL};
    struct ufs *other = open_s3(bucket, "u/", NULL, 0, 0), *all = open_s3(bucket, NULL, NULL, 0, 0);
    struct ufs *wrong = open_s3(bucket, "t/", "wrong-secret", 0, 0);
    const char *odd = "odd key+plus%25/\xc3\xbc&amp";
    char want[UFS_ETAG_MAX];
    struct reader rd;
    struct cres c;
    struct res r;

    REQUIRE(d && other && all && wrong);
    md5_etag(d, n, want);
    REQUIRE(put_obj(ub, "cp-src", d, n, n, &po, NULL, NULL) == 0);
    CHECK(copy_obj(ub, "cp-dst", ub, "cp-src", &o, &c) == 0);
    CHECK_STR(c.etag, want);
    CHECK(c.mtime > time(NULL) - 300 && c.mtime < time(NULL) + 300);
    REQUIRE(stat_obj(all, "t/cp-dst", &r) == 0);
    CHECK(r.st.size == n);
    CHECK_STR(r.st.etag, want);
    CHECK_STR(r.st.content_type, "application/x-src"); /* COPY keeps it */
    memset(&rd, 0, sizeof(rd));
    CHECK(get_obj(ub, "cp-dst", 0, UFS_SIZE_UNKNOWN, NULL, &rd) == 0);
    CHECK(rd.len == n && memcmp(rd.buf, d, n) == 0);
    reader_free(&rd);
    /* prefix u/ <- prefix t/, and back */
    CHECK(copy_obj(other, "x/y", ub, "cp-src", &o, &c) == 0);
    CHECK(stat_obj(all, "u/x/y", &r) == 0 && r.st.size == n);
    CHECK(copy_obj(ub, "back", other, "x/y", &o, &c) == 0);
    CHECK(stat_obj(all, "t/back", &r) == 0 && strcmp(r.st.etag, want) == 0);
    /* keys that need encoding in x-amz-copy-source */
    REQUIRE(put_obj(ub, odd, d, 1000, 1000, NULL, NULL, NULL) == 0);
    CHECK(copy_obj(ub, "odd-copy", ub, odd, &o, &c) == 0);
    CHECK(stat_obj(ub, "odd-copy", &r) == 0 && r.st.size == 1000);
    /* if_match */
    o.if_match = want;
    CHECK(copy_obj(ub, "cp-im", ub, "cp-src", &o, &c) == 0);
    o.if_match = "\"00000000000000000000000000000000\"";
    CHECK(copy_obj(ub, "cp-im2", ub, "cp-src", &o, &c) == UFS_EPRECOND);
    CHECK(stat_obj(ub, "cp-im2", &r) == UFS_ENOENT);
    o.if_match = NULL;
    /* REPLACE onto itself: a new content type, the same bytes */
    o.replace = 1;
    o.put = &npo;
    CHECK(copy_obj(ub, "cp-src", ub, "cp-src", &o, &c) == 0);
    CHECK(stat_obj(ub, "cp-src", &r) == 0);
    CHECK_STR(r.st.content_type, "application/x-new");
    CHECK(r.st.size == n && strcmp(r.st.etag, want) == 0);
    o.replace = 0;
    o.put = NULL;
    /* errors */
    CHECK(copy_obj(ub, "cp-src", ub, "cp-src", &o, &c) == UFS_EINVAL); /* onto itself */
    CHECK(copy_obj(ub, "cp-x", ub, "no-such-key", &o, &c) == UFS_ENOENT);
    CHECK(copy_obj(ub, "cp-x", wrong, "cp-src", &o, &c) == UFS_ENOTSUP);
    CHECK(stat_obj(ub, "cp-x", &r) == UFS_ENOENT);
    ufs_close(other);
    ufs_close(all);
    ufs_close(wrong);
    free(d);
}

/* empty_bucket: deletes what the tests left, so the bucket can go. */
static void empty_bucket(void)
{
    struct ufs *all = open_s3(bucket, NULL, NULL, 0, 0);
    struct ufs_list_opts o;
    struct lister l;
    int i, rounds;

    if (!all)
        return;
    memset(&o, 0, sizeof(o));
    for (rounds = 0; rounds < 50 && list_all(all, &o, &l) > 0 && l.nkeys > 0; rounds++)
        for (i = 0; i < l.nkeys; i++)
            del_obj(all, l.keys[i]);
    ufs_close(all);
}

TEST(live_delete_test_bucket)
{
    struct res r;

    empty_bucket();
    memset(&r, 0, sizeof(r));
    REQUIRE(ufs_delete_bucket(svc, bucket, on_done, &r));
    REQUIRE(wait_for(&r.called, WAIT_MS));
    CHECK(r.err == 0);
}

/* UFS_S3_ONLY=word runs only the live tests whose name holds it (the bucket
 * tests always run: they make and remove the bucket). */
#define LIVE_RUN(name)                                                                             \
    do {                                                                                           \
        const char *only_ = getenv("UFS_S3_ONLY");                                                 \
        if (!only_ || strstr(#name, only_) || strstr(#name, "bucket"))                             \
            RUN(name);                                                                             \
    } while (0)

static void run_live_tests(void)
{
    snprintf(bucket, sizeof(bucket), "ufs-test-%d-%ld", (int)getpid(), (long)(time(NULL) % 100000));
    svc = open_s3(NULL, NULL, NULL, 0, 0);
    ub = open_s3(bucket, "t/", NULL, 0, 5 * MIB);
    if (!svc || !ub) {
        printf("cannot open the S3 backend for %s\n", endpoint);
        harness_failed++;
        return;
    }
    LIVE_RUN(live_buckets);
    LIVE_RUN(live_put_stat_read);
    LIVE_RUN(live_content_md5);
    LIVE_RUN(live_virtual_host_style);
    LIVE_RUN(live_missing_bucket_and_wrong_secret);
    LIVE_RUN(live_pause_resume);
    LIVE_RUN(live_abort_and_cancel);
    LIVE_RUN(live_max_connections);
    LIVE_RUN(live_multipart_streaming_write);
    LIVE_RUN(live_cancel_multipart_write);
    LIVE_RUN(live_unknown_size_writes);
    LIVE_RUN(live_single_put_backpressure);
    LIVE_RUN(live_empty_object_and_odd_keys);
    LIVE_RUN(live_delete_twice);
    LIVE_RUN(live_copy);
    LIVE_RUN(live_listing);
    LIVE_RUN(live_passthrough_multipart);
    LIVE_RUN(live_read_resumes_after_reset);
    LIVE_RUN(live_read_fails_when_object_changes_midway);
    LIVE_RUN(live_write_retries_after_reset);
    if (getenv("UFS_S3_BENCH"))
        bench();
    LIVE_RUN(live_delete_test_bucket);
    ufs_close(ub);
    ufs_close(svc);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the proxy writes to sockets the client reset */
    base = event_base_new();
    if (!base)
        return 1;
    endpoint = getenv("S3_ENDPOINT");
    access_key = getenv("AWS_ACCESS_KEY_ID");
    secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1";
    RUN(open_checks_arguments);
    RUN(operations_check_arguments);
    RUN(wrong_level_reports_enotsup_from_the_loop);
    RUN(copy_pairs_and_arguments);
    RUN(copy_request_and_200_error);
    RUN(unreachable_endpoint_gives_eunavail_after_retries);
    RUN(cancel_means_no_callback);
    RUN(close_with_operations_outstanding);
    RUN(write_size_mismatch);
    if (endpoint && access_key && secret_key)
        run_live_tests();
    else
        printf("S3_ENDPOINT not set: the tests against a server were not run\n");
    event_base_free(base);
    return harness_done();
}
