/* tests/unit/test_ufs_s3.c: the S3 backend of ufs (ufs/s3*.c) on a real
 * event loop, without a server: opening and argument checks, callbacks never
 * synchronous (the XML parsers, dates, status mapping and fuzz corpus are in
 * test_ufs_s3_xml.c), the backend pairs ufs_copy refuses, the request a copy
 * sends to a canned loopback server, retries against a closed loopback port
 * (EUNAVAIL within a time bound, exact request and retry counts), cancel and
 * close with operations outstanding. It runs everywhere (the plain unit run,
 * valgrind and ASan included). The tests against a real S3 server are in
 * test_ufs_s3_live.c; the helpers both use are in ufs_s3_util.h. */
#include "ufs/ufs.h"
#include "tests/unit/harness.h"
#include "tests/unit/ufs_s3_util.h"

#include <event2/event.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as in test_ufs_s3_live.c: a peer may reset a socket */
    base = event_base_new();
    if (!base)
        return 1;
    RUN(open_checks_arguments);
    RUN(operations_check_arguments);
    RUN(wrong_level_reports_enotsup_from_the_loop);
    RUN(copy_pairs_and_arguments);
    RUN(copy_request_and_200_error);
    RUN(unreachable_endpoint_gives_eunavail_after_retries);
    RUN(cancel_means_no_callback);
    RUN(close_with_operations_outstanding);
    RUN(write_size_mismatch);
    event_base_free(base);
    return harness_done();
}
