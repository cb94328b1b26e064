/* tests/fuzz/http_pair.h: what the targets that go through the gateway's
 * HTTP server share (fuzz_http.c, fuzz_auth.c): one real connection of
 * daemon/http/http.c on one end of a socketpair, on a private event loop,
 * driven from the other end without threads or timers.
 *
 * pair_run() writes the client's bytes in pieces, after each piece runs
 * the loop until nothing more happens (no event active, no unread input,
 * no unsent output), then half-closes and runs until the server closed the
 * connection. So the server sees exactly the pieces given, in order, and
 * the run is deterministic. Everything the server sent is returned.
 *
 * A header of static functions, like tests/unit/harness.h: each target is
 * one program. */
#ifndef SHOAL_TESTS_FUZZ_HTTP_PAIR_H
#define SHOAL_TESTS_FUZZ_HTTP_PAIR_H

#include "daemon/http/http_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAIR_ROUNDS_MAX 100000 /* loop rounds of one run before it counts as stuck */

/* A growable byte buffer. */
struct pair_buf {
    char *p;
    size_t len, cap;
};

static void pair_buf_add(struct pair_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void pair_buf_printf(struct pair_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pair_buf_printf(struct pair_buf *b, const char *fmt, ...)
{
    char tmp[512], *big;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if ((size_t)n < sizeof(tmp)) {
        pair_buf_add(b, tmp, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (!big)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pair_buf_add(b, big, (size_t)n);
    free(big);
}

static void pair_buf_free(struct pair_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* The loop and a server without a listener: connections are made with
 * http_conn_new(), as http_server.c does for an accepted socket. */
static struct event_base *pair_base;
static struct http_server pair_srv;

static void pair_init(void (*on_request)(struct http_req *r, void *arg), void *arg)
{
    if (!pair_base) {
        signal(SIGPIPE, SIG_IGN); /* as shoald: a write to a closed peer is an error, not death */
        pair_base = event_base_new();
        if (!pair_base)
            abort();
    }
    pair_srv.base = pair_base;
    pair_srv.h.on_request = on_request;
    pair_srv.arg = arg;
    pair_srv.conns = NULL;
    atomic_store(&pair_srv.nconns, 0);
}

/* pair_drain_client: reads what the server sent so far; returns the bytes
 * read, and sets *eof when the server's end is closed. */
static size_t pair_drain_client(int fd, struct pair_buf *out, int *eof)
{
    char buf[65536];
    size_t got = 0;

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            pair_buf_add(out, buf, (size_t)n);
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            *eof = 1;
        else if (errno == EINTR)
            continue;
        return got;
    }
}

/* pair_busy: whether the server's connection still has something to do
 * that a loop round would do. */
static int pair_busy(int sfd)
{
    struct http_conn *c = pair_srv.conns;
    int unread = 0;

    if (event_base_get_num_events(pair_base, EVENT_BASE_COUNT_ACTIVE) > 0)
        return 1;
    if (!c)
        return 0;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return 1;
    if ((bufferevent_get_enabled(c->bev) & EV_READ) && ioctl(sfd, FIONREAD, &unread) == 0 &&
        unread > 0)
        return 1;
    return 0;
}

/* pair_settle: loop rounds until the server is idle (and, with GONE, has
 * closed the connection). Returns 0, or -1 when it never settles or, with
 * GONE, stays idle with the connection open. */
static int pair_settle(int cfd, int sfd, struct pair_buf *out, int gone, int *eof)
{
    int idle = 0;

    for (int round = 0; round < PAIR_ROUNDS_MAX; round++) {
        size_t got;

        event_base_loop(pair_base, EVLOOP_NONBLOCK);
        got = pair_drain_client(cfd, out, eof);
        if (got || pair_busy(sfd)) {
            idle = 0;
            continue;
        }
        if (!gone || !pair_srv.conns)
            return 0;
        if (++idle == 3)
            return -1;
    }
    return -1;
}

/* pair_run: one connection that receives IN[0..LEN) in pieces ending at the
 * offsets CUTS[0..NCUTS) (ascending; the last piece ends at LEN), then the
 * client's end-of-file. What the server sent goes to OUT. Returns 0, or -1
 * when the server did not settle or did not close the connection at the
 * end (the connection is then freed with http_conn_abort). */
static int pair_run(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                    struct pair_buf *out)
{
    int sv[2], eof = 0, rc = 0;
    size_t pos = 0;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    http_conn_new(&pair_srv, sv[1], "fuzz:1", 0);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end > len)
            end = len;
        while (pos < end) {
            ssize_t n = write(sv[0], in + pos, end - pos);
            if (n > 0)
                pos += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                pos = end = len; /* the server closed: the rest cannot go */
            else if (pair_settle(sv[0], sv[1], out, 0, &eof) != 0)
                goto stuck;
            if (!pair_srv.conns)
                break;
        }
        if (!pair_srv.conns)
            break;
        if (pair_settle(sv[0], sv[1], out, 0, &eof) != 0)
            goto stuck;
    }
    shutdown(sv[0], SHUT_WR);
    if (pair_settle(sv[0], sv[1], out, 1, &eof) != 0 || pair_srv.conns)
        goto stuck;
    while (!eof && pair_drain_client(sv[0], out, &eof) > 0)
        ;
    close(sv[0]);
    return 0;
stuck:
    rc = -1;
    while (pair_srv.conns)
        http_conn_abort(pair_srv.conns);
    event_base_loop(pair_base, EVLOOP_NONBLOCK);
    close(sv[0]);
    return rc;
}

#endif
