/* tests/unit/test_http.c: the gateway's HTTP/1.1 server over real loopback
 * sockets: keep-alive, pipelining, streamed bodies with pause and resume,
 * chunked bodies and responses, 100-continue, early answers with unread
 * bodies, malformed and oversized requests (and malformed bodies, whose
 * handler gets the abort callback), HEAD, and clients that leave. */
#include "daemon/http/http.h"

#include "tests/unit/harness.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event_base *base;
static int port;
static _Atomic int aborts;

/* ---- the server's handler -------------------------------------------------- */

struct echo {
    struct http_req *r;
    uint64_t n, sum;
    int calls;
    struct event *resume;
};

static void echo_resume(evutil_socket_t fd, short w, void *arg)
{
    struct echo *e = arg;
    (void)fd;
    (void)w;
    http_req_body_resume(e->r);
}

static int echo_data(void *arg, const void *buf, size_t len)
{
    struct echo *e = arg;
    for (size_t i = 0; i < len; i++)
        e->sum += ((const uint8_t *)buf)[i];
    e->n += len;
    if (++e->calls % 3 == 0) { /* pause now and then, resume from a timer */
        event_add(e->resume, &(struct timeval){0, 1000});
        return 1;
    }
    return 0;
}

static void echo_end(void *arg, int err)
{
    struct echo *e = arg;
    char body[128];
    int n = snprintf(body, sizeof(body), "len=%llu sum=%llu err=%d", (unsigned long long)e->n,
                     (unsigned long long)e->sum, err);
    if (err == 0)
        http_reply(e->r, 200, "text/plain", body, (size_t)n);
    event_free(e->resume);
    free(e);
}

static const struct http_body_cbs echo_cbs = {echo_data, echo_end};

static void slow_abort(void *arg)
{
    event_free(arg);
    aborts++;
}

static void slow_fire(evutil_socket_t fd, short w, void *arg)
{
    (void)fd;
    (void)w;
    (void)arg; /* never reached in the test: the client leaves first */
}

/* /malformed_body: reads the body; an error must be followed by the abort
 * callback (http.h), after which the request is not the handler's. */
static _Atomic int body_errors;

static void count_abort(void *arg)
{
    (void)arg;
    aborts++;
}

static int drop_data(void *arg, const void *buf, size_t len)
{
    (void)arg;
    (void)buf;
    (void)len;
    return 0;
}

static void drop_end(void *arg, int err)
{
    if (err)
        body_errors++; /* no answer: the abort callback follows */
    else
        http_reply(arg, 200, "text/plain", "read", 4);
}

static const struct http_body_cbs drop_cbs = {drop_data, drop_end};

static void on_request(struct http_req *r, void *arg)
{
    const char *t = http_req_target(r);
    (void)arg;
    if (strcmp(t, "/hello") == 0) {
        http_reply(r, 200, "text/plain", "hello", 5);
    } else if (strncmp(t, "/headers", 8) == 0) {
        char body[256];
        const char *x = http_req_header(r, "x-test");
        int n = snprintf(body, sizeof(body), "x-test=[%s] n=%zu method=%s target=%s",
                         x ? x : "(none)", http_req_header_count(r), http_req_method(r), t);
        http_reply(r, 200, "text/plain", body, (size_t)n);
    } else if (strcmp(t, "/echo") == 0) {
        struct echo *e = calloc(1, sizeof(*e));
        e->r = r;
        e->resume = evtimer_new(base, echo_resume, e);
        http_req_read_body(r, &echo_cbs, e);
    } else if (strcmp(t, "/chunked") == 0) {
        http_resp_start(r, 200, HTTP_UNKNOWN_LENGTH);
        http_resp_write(r, "abc", 3);
        http_resp_write_ref(r, "defgh", 5, NULL, NULL);
        http_resp_end(r);
    } else if (strcmp(t, "/malformed_body") == 0) {
        http_req_on_abort(r, count_abort, NULL);
        http_req_read_body(r, &drop_cbs, r);
    } else if (strcmp(t, "/early") == 0) {
        http_reply(r, 403, "application/xml", "<Error/>", 8);
    } else if (strcmp(t, "/slow") == 0) {
        struct event *ev = evtimer_new(base, slow_fire, NULL);
        event_add(ev, &(struct timeval){30, 0});
        http_req_on_abort(r, slow_abort, ev);
    } else {
        http_reply(r, 404, NULL, "", 0);
    }
}

static void *loop_main(void *arg)
{
    (void)arg;
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- a small client ------------------------------------------------------ */

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads until `want` complete responses have arrived (Content-Length or
 * chunked framing), the peer closes, or 5 s pass. Returns bytes in buf. */
static size_t recv_responses(int fd, char *buf, size_t cap, int want, int *closed)
{
    size_t len = 0;
    *closed = 0;
    for (;;) {
        int got = 0;
        const char *p = buf;
        buf[len] = '\0';
        while (p < buf + len) {
            const char *end = strstr(p, "\r\n\r\n");
            if (!end)
                break;
            const char *cl = strstr(p, "Content-Length: ");
            size_t need;
            if (strncmp(p, "HTTP/1.1 100", 12) == 0) {
                p = end + 4;
                continue;
            }
            if (cl && cl < end) {
                need = (size_t)(end + 4 - p) + strtoul(cl + 16, NULL, 10);
            } else if (strstr(p, "chunked") && strstr(p, "chunked") < end) {
                const char *z = strstr(end, "\r\n0\r\n\r\n");
                if (!z)
                    break;
                need = (size_t)(z + 7 - p);
            } else {
                need = (size_t)(end + 4 - p);
            }
            if ((size_t)(buf + len - p) < need)
                break;
            got++;
            p += need;
        }
        if (got >= want)
            return len;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 5000) <= 0)
            return len;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0) {
            *closed = 1;
            return len;
        }
        len += (size_t)n;
    }
}

static int peer_closed(int fd)
{
    char c;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 3000) <= 0)
        return 0;
    return read(fd, &c, 1) == 0;
}

static char rbuf[4 << 20];

TEST(keep_alive_two_requests)
{
    int fd = dial(), closed;
    REQUIRE(fd >= 0);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t n = recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(n > 0 && strncmp(rbuf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(rbuf, "Content-Length: 5\r\n") != NULL);
    CHECK(strstr(rbuf, "\r\n\r\nhello") != NULL);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    n = recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(n > 0 && strstr(rbuf, "hello") != NULL && !closed);
    close(fd);
}

TEST(pipelined_in_order)
{
    int fd = dial(), closed;
    const char *req = "GET /headers?a=1 HTTP/1.1\r\nHost: x\r\nX-Test: one\r\n\r\n"
                      "GET /headers?a=2 HTTP/1.1\r\nHost: x\r\nX-Test:   two  \r\n\r\n"
                      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 3, &closed);
    char *a = strstr(rbuf, "x-test=[one] n=2 method=GET target=/headers?a=1");
    char *b = strstr(rbuf, "x-test=[two] n=2 method=GET target=/headers?a=2");
    char *c = strstr(rbuf, "hello");
    CHECK(a && b && c && a < b && b < c);
    close(fd);
}

TEST(body_streamed_with_pauses)
{
    int fd = dial(), closed;
    size_t len = 3 << 20;
    uint8_t *body = malloc(len);
    uint64_t sum = 0;
    char hdr[256], want[128];
    REQUIRE(fd >= 0);
    for (size_t i = 0; i < len; i++) {
        body[i] = (uint8_t)(i * 7 + 3);
        sum += body[i];
    }
    int h = snprintf(hdr, sizeof(hdr),
                     "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", len);
    send_all(fd, hdr, (size_t)h);
    send_all(fd, body, len);
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    snprintf(want, sizeof(want), "len=%zu sum=%llu err=0", len, (unsigned long long)sum);
    CHECK(strstr(rbuf, want) != NULL);
    /* the connection is still good */
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "hello") != NULL);
    free(body);
    close(fd);
}

TEST(chunked_request_body)
{
    int fd = dial(), closed;
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    /* a..h: 97+98+...+104 = 804 */
    CHECK(strstr(rbuf, "len=8 sum=804 err=0") != NULL);
    close(fd);
}

TEST(expect_100_continue)
{
    int fd = dial(), closed;
    const char *hdr =
        "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, hdr, strlen(hdr));
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    REQUIRE(poll(&pf, 1, 3000) == 1);
    ssize_t n = read(fd, rbuf, 64);
    REQUIRE(n > 0);
    rbuf[n] = '\0';
    CHECK(strcmp(rbuf, "HTTP/1.1 100 Continue\r\n\r\n") == 0);
    send_str(fd, "abcd");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "len=4 sum=394 err=0") != NULL);
    close(fd);
}

TEST(early_answer_small_body_keeps_connection)
{
    int fd = dial(), closed;
    const char *req = "PUT /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
                      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 2, &closed);
    CHECK(strstr(rbuf, "HTTP/1.1 403 Forbidden") != NULL);
    CHECK(strstr(rbuf, "hello") != NULL);
    close(fd);
}

TEST(early_answer_large_body_closes)
{
    int fd = dial(), closed;
    const char *req = "PUT /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "HTTP/1.1 403") != NULL);
    CHECK(strstr(rbuf, "Connection: close") != NULL);
    CHECK(peer_closed(fd));
    close(fd);
}

TEST(malformed_request_400)
{
    int fd = dial(), closed;
    REQUIRE(fd >= 0);
    send_str(fd, "GARBAGE\x01\x02 / HTTP/1.1\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strncmp(rbuf, "HTTP/1.1 400 Bad Request", 24) == 0);
    CHECK(strstr(rbuf, "<Code>BadRequest</Code>") != NULL);
    CHECK(peer_closed(fd) || closed);
    close(fd);
}

TEST(oversized_headers_400)
{
    int fd = dial(), closed;
    size_t big = HTTP_HEADERS_MAX_BYTES + 100;
    char *h = malloc(big + 64);
    REQUIRE(fd >= 0);
    int n = snprintf(h, 64, "GET / HTTP/1.1\r\nX-Big: ");
    memset(h + n, 'a', big);
    memcpy(h + n + big, "\r\n\r\n", 4);
    send_all(fd, h, (size_t)n + big + 4);
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "RequestHeaderSectionTooLarge") != NULL);
    free(h);
    close(fd);
}

TEST(too_many_headers_400)
{
    int fd = dial(), closed;
    char *h = malloc(64 * 1024);
    size_t n = (size_t)sprintf(h, "GET / HTTP/1.1\r\n");
    REQUIRE(fd >= 0);
    for (int i = 0; i < HTTP_HEADERS_MAX + 5; i++)
        n += (size_t)sprintf(h + n, "X-H%d: v\r\n", i);
    n += (size_t)sprintf(h + n, "\r\n");
    send_all(fd, h, n);
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "HTTP/1.1 400") != NULL);
    free(h);
    close(fd);
}

TEST(chunked_response)
{
    int fd = dial(), closed;
    REQUIRE(fd >= 0);
    send_str(fd, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "Transfer-Encoding: chunked\r\n") != NULL);
    CHECK(strstr(rbuf, "\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n") != NULL);
    close(fd);
}

TEST(head_has_length_no_body)
{
    int fd = dial();
    size_t len = 0;
    REQUIRE(fd >= 0);
    send_str(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    /* read everything that arrives within 300 ms */
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 300) <= 0)
            break;
        ssize_t n = read(fd, rbuf + len, sizeof(rbuf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    rbuf[len] = '\0';
    CHECK(strstr(rbuf, "Content-Length: 5\r\n") != NULL);
    char *end = strstr(rbuf, "\r\n\r\n");
    CHECK(end != NULL && end + 4 == rbuf + len); /* no body */
    close(fd);
}

TEST(connection_close_honoured)
{
    int fd = dial(), closed;
    REQUIRE(fd >= 0);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "Connection: close\r\n") != NULL);
    CHECK(peer_closed(fd) || closed);
    close(fd);
}

TEST(http10_closes)
{
    int fd = dial(), closed;
    REQUIRE(fd >= 0);
    send_str(fd, "GET /hello HTTP/1.0\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strstr(rbuf, "hello") != NULL);
    CHECK(peer_closed(fd) || closed);
    close(fd);
}

TEST(client_leaves_abort_callback)
{
    int fd = dial();
    int before = aborts;
    REQUIRE(fd >= 0);
    send_str(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(100000);
    close(fd);
    for (int i = 0; i < 100 && aborts == before; i++)
        usleep(10000);
    CHECK(aborts == before + 1);
}

TEST(malformed_body_runs_abort_callback)
{
    int fd = dial(), before = aborts, errors = body_errors;
    const char *req = "POST /malformed_body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "\r\n4\r\nabcd\r\nZZ\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    for (int i = 0; i < 100 && aborts == before; i++)
        usleep(10000);
    CHECK(body_errors == errors + 1);
    CHECK(aborts == before + 1);
    CHECK(peer_closed(fd));
    close(fd);
}

TEST(transfer_encoding_not_chunked_400)
{
    int fd = dial(), closed;
    const char *req = "POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strncmp(rbuf, "HTTP/1.1 400 Bad Request", 24) == 0);
    CHECK(strstr(rbuf, "hello") == NULL); /* the handler never saw it */
    CHECK(peer_closed(fd) || closed);
    close(fd);
    /* http-parser takes any name that starts so for Transfer-Encoding */
    fd = dial();
    REQUIRE(fd >= 0);
    send_str(fd, "POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encodingx: chunked\r\n\r\n0\r\n\r\n");
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strncmp(rbuf, "HTTP/1.1 400 Bad Request", 24) == 0);
    CHECK(strstr(rbuf, "hello") == NULL);
    close(fd);
}

TEST(blank_before_colon_400)
{
    int fd = dial(), closed;
    /* "Transfer-Encoding : chunked" is what it is for; any name shows it */
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Test : one\r\n\r\n";
    REQUIRE(fd >= 0);
    send_all(fd, req, strlen(req));
    recv_responses(fd, rbuf, sizeof(rbuf), 1, &closed);
    CHECK(strncmp(rbuf, "HTTP/1.1 400 Bad Request", 24) == 0);
    CHECK(strstr(rbuf, "hello") == NULL);
    CHECK(peer_closed(fd) || closed);
    close(fd);
}

int main(void)
{
    struct http_server *srv;
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    pthread_t th;
    int lfd, one = 1;
    evthread_use_pthreads();
    base = event_base_new();
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&a, &al))
        return 2;
    port = ntohs(a.sin_port);
    static const struct http_handler h = {on_request};
    if (http_server_new(base, lfd, &h, NULL, &srv))
        return 2;
    pthread_create(&th, NULL, loop_main, NULL);
    RUN(keep_alive_two_requests);
    RUN(pipelined_in_order);
    RUN(body_streamed_with_pauses);
    RUN(chunked_request_body);
    RUN(expect_100_continue);
    RUN(early_answer_small_body_keeps_connection);
    RUN(early_answer_large_body_closes);
    RUN(malformed_request_400);
    RUN(oversized_headers_400);
    RUN(too_many_headers_400);
    RUN(chunked_response);
    RUN(head_has_length_no_body);
    RUN(connection_close_honoured);
    RUN(http10_closes);
    RUN(client_leaves_abort_callback);
    RUN(malformed_body_runs_abort_callback);
    RUN(transfer_encoding_not_chunked_400);
    RUN(blank_before_colon_400);
    event_base_loopbreak(base);
    pthread_join(th, NULL);
    http_server_free(srv);
    close(lfd);
    event_base_free(base);
    libevent_global_shutdown();
    return harness_done();
}
