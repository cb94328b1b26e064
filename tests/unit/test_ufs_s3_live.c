/* tests/unit/test_ufs_s3_live.c: the S3 backend of ufs (ufs/s3*.c) against
 * a real S3 server. With S3_ENDPOINT, AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY in the environment (set by
 * tests/integration/test_ufs_s3.sh, which starts tests/s3/s3-server) it
 * drives every operation against that server in a fresh bucket, and through
 * a small fault-injecting TCP proxy (a thread of this program that resets a
 * connection after N response bytes) it checks that a read broken midway
 * resumes where it stopped, and fails with UFS_EPRECOND when the object
 * changed in between. UFS_S3_BENCH=1 adds a 64 MiB GET throughput figure.
 * Without them (the plain unit run, valgrind and ASan included) it says so
 * and runs nothing. The tests that need no server are in test_ufs_s3.c; the
 * helpers both use are in ufs_s3_util.h. */
#include "ufs/s3_int.h"
#include "ufs/ufs.h"
#include "tests/unit/harness.h"
#include "tests/unit/ufs_s3_util.h"

#include <event2/event.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *endpoint, *access_key, *secret_key, *region;

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

/* ---- callback recorders only the live tests use ------------------------------ */

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

/* ---- opening the backend on the server -------------------------------------- */

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

/* pump: one read from FROM written to TO, at most up to LIMIT bytes in all
 * (0: no limit; *DONE counts them). Returns 0 to go on, -1 when the
 * connection ended or was reset at the limit. */
static int pump(struct pconn *c, int from, int to, long limit, long *done, char *buf, size_t len)
{
    ssize_t n;

    if (limit && (long)len > limit - *done)
        len = (size_t)(limit - *done);
    n = read(from, buf, len);
    if (n <= 0 || write_all(to, buf, (size_t)n) != 0)
        return -1;
    *done += n;
    if (limit && *done >= limit) {
        pconn_reset(c);
        return -1;
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
        int r = poll(p, 2, 50);

        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents && pump(c, c->cfd, c->ufd, c->cut_up, &up, buf, sizeof(buf)) != 0)
            break;
        if (p[1].revents && pump(c, c->ufd, c->cfd, c->cut, &down, buf, sizeof(buf)) != 0)
            break;
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
    if (endpoint && access_key && secret_key)
        run_live_tests();
    else
        printf("S3_ENDPOINT not set: the tests against a server were not run\n");
    event_base_free(base);
    return harness_done();
}
