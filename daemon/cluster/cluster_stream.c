/* daemon/cluster/cluster_stream.c: push-pull, the full-state exchange over
 * TCP on listen.peer. The node that starts it sends its state, the other
 * merges it and answers with its own, which the first merges; then both
 * close. A joining node's first push-pull goes to a seed.
 *
 * A frame is a 4-byte big-endian length and that many sealed bytes (seal.h,
 * kind stream); inside, a flags byte (bit 0: the sender is joining) and the
 * state (ring/swim_wire.h). The length is checked against the ceiling
 * (RING_SWIM_STATE_MAX + 31) before anything is buffered past it; a stream
 * that does not finish in CLUSTER_STREAM_TIMEOUT_S is closed; at most
 * CLUSTER_STREAMS_IN_MAX are served at once. */
#include "daemon/cluster/cluster_int.h"
#include "daemon/log.h"
#include "daemon/xalloc.h"
#include "ring/swim_wire.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME_MAX (RING_SWIM_STATE_MAX + 1 + RING_SWIM_SEAL_OVERHEAD)
#define FLAG_JOIN 1

struct cluster_stream {
    struct cluster *c;
    struct cluster_stream *next, **pprev;
    struct bufferevent *bev;
    int outbound, join, closing;
    struct ring_addr peer;
    void (*done)(struct cluster *c, int ok);
};

static void stream_free(struct cluster_stream *s, int ok)
{
    struct cluster *c = s->c;

    if (!ok)
        c->st.stream_failures++;
    *s->pprev = s->next;
    if (s->next)
        s->next->pprev = s->pprev;
    if (s->outbound)
        c->streams_out--;
    else
        c->streams_in--;
    bufferevent_free(s->bev);
    void (*done)(struct cluster *, int) = s->done;
    free(s);
    if (done)
        done(c, ok);
}

void cluster_streams_free(struct cluster *c)
{
    while (c->streams) {
        c->streams->done = NULL;
        stream_free(c->streams, 1);
    }
}

/* Queues this node's state as a frame on S's output; 0 or -1. */
static int send_state(struct cluster_stream *s, int join)
{
    struct cluster *c = s->c;
    size_t slen = 0, n;
    uint8_t *state = ring_swim_wire_state_of(c->sw, cluster_now_ms(), &slen), *plain, *frame;

    if (!state || slen + 1 + RING_SWIM_SEAL_OVERHEAD > FRAME_MAX) {
        free(state);
        return -1;
    }
    plain = shd_xmalloc(slen + 1);
    plain[0] = join ? FLAG_JOIN : 0;
    memcpy(plain + 1, state, slen);
    free(state);
    frame = shd_xmalloc(4 + slen + 1 + RING_SWIM_SEAL_OVERHEAD);
    n = cluster_seal(c->seal, CLUSTER_SEAL_STREAM, cluster_wall_us(), plain, slen + 1, frame + 4,
                     slen + 1 + RING_SWIM_SEAL_OVERHEAD);
    free(plain);
    if (!n) {
        free(frame);
        return -1;
    }
    frame[0] = (uint8_t)(n >> 24);
    frame[1] = (uint8_t)(n >> 16);
    frame[2] = (uint8_t)(n >> 8);
    frame[3] = (uint8_t)n;
    int err = bufferevent_write(s->bev, frame, 4 + n);
    free(frame);
    c->st.stream_bytes_out += 4 + n;
    return err ? -1 : 0;
}

/* Opens and merges a whole frame of LEN bytes at P; 0 or -1. */
static int take_frame(struct cluster_stream *s, const uint8_t *p, size_t len)
{
    struct cluster *c = s->c;
    uint8_t *plain = shd_xmalloc(len);
    size_t plen = 0, n = 0;
    struct ring_swim_member *ms = NULL;
    enum cluster_drop d;
    int err = -1;

    d = cluster_seal_open(c->seal, CLUSTER_SEAL_STREAM, cluster_wall_us(), p, len, plain, len,
                          &plen);
    if (d == CLUSTER_DROP_NONE &&
        (plen < 1 || ring_swim_wire_state_decode(plain + 1, plen - 1, &ms, &n) != RING_OK))
        d = CLUSTER_DROP_DECODE;
    if (d != CLUSTER_DROP_NONE) {
        c->st.drops[d]++;
    } else {
        /* the side that is joining checks the other's view for its name */
        int join = s->outbound && s->join;
        int r = ring_swim_merge(c->sw, cluster_now_ms(), ms, n, join);
        if (r == RING_SWIM_ECONFLICT) {
            char a[64];
            ring_addr_format(&s->peer, a, sizeof(a));
            shd_error("cluster",
                      "join refused seed=%s name=%s what=\"a live member of the cluster has "
                      "this node's name or id: rename this node (node.name) or give it its own "
                      "data_dir; retrying\"",
                      a, c->self.name);
        } else {
            err = 0;
        }
        cluster_after(c);
    }
    free(ms);
    free(plain);
    return err;
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct cluster_stream *s = arg;
    (void)bev;
    if (s->closing)
        stream_free(s, 1); /* the answer is out */
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct cluster_stream *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t hdr[4];
    size_t len;

    if (s->closing || evbuffer_get_length(in) < 4)
        return;
    evbuffer_copyout(in, hdr, 4);
    len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (len < RING_SWIM_SEAL_OVERHEAD + 1 || len > FRAME_MAX) {
        s->c->st.drops[len > FRAME_MAX ? CLUSTER_DROP_TOOBIG : CLUSTER_DROP_SHORT]++;
        stream_free(s, 0);
        return;
    }
    if (evbuffer_get_length(in) < 4 + len) {
        bufferevent_setwatermark(bev, EV_READ, 4 + len, 0); /* wake when it is all here */
        return;
    }
    s->c->st.stream_bytes_in += 4 + len;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(4 + len));
    int err = p ? take_frame(s, p + 4, len) : -1;
    evbuffer_drain(in, 4 + len);
    if (err || s->outbound) {
        stream_free(s, !err);
        return;
    }
    /* served: answer with this node's state, then close */
    if (send_state(s, 0) != 0) {
        stream_free(s, 0);
        return;
    }
    s->closing = 1;
    bufferevent_disable(bev, EV_READ);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct cluster_stream *s = arg;

    if (what & BEV_EVENT_CONNECTED) {
        if (send_state(s, s->join) != 0)
            stream_free(s, 0);
        else
            bufferevent_enable(bev, EV_READ);
        return;
    }
    /* EOF, error, timeout: done, unless the answer was fully sent */
    stream_free(s, 0);
}

static struct cluster_stream *stream_new(struct cluster *c, evutil_socket_t fd, int outbound)
{
    struct cluster_stream *s = shd_xcalloc(1, sizeof(*s));
    struct timeval t = {CLUSTER_STREAM_TIMEOUT_S, 0};

    s->c = c;
    s->outbound = outbound;
    s->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!s->bev) {
        if (fd >= 0)
            close(fd);
        free(s);
        return NULL;
    }
    bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
    bufferevent_set_timeouts(s->bev, &t, &t);
    s->next = c->streams;
    if (s->next)
        s->next->pprev = &s->next;
    s->pprev = &c->streams;
    c->streams = s;
    if (outbound) {
        c->streams_out++;
        c->st.streams_out++;
    } else {
        c->streams_in++;
        c->st.streams_in++;
    }
    return s;
}

/* A socket for a push-pull to TO, from this node's advertised address when
 * it is one of this host's (so the peer, and any firewall between, sees the
 * same source as for its datagrams); else from wherever the route says. */
static evutil_socket_t out_socket(struct cluster *c, const struct ring_addr *to)
{
    struct ring_addr me = c->self.addr;
    struct sockaddr_storage ss;
    socklen_t sl;
    evutil_socket_t fd;

    if (me.family != to->family)
        return -1;
    fd =
        socket(to->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    me.port = 0;
    if (cluster_sockaddr(&me, &ss, &sl) != 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        close(fd);
        return -1; /* bufferevent makes an unbound one */
    }
    return fd;
}

void cluster_pushpull(struct cluster *c, const struct ring_addr *to, int join,
                      void (*done)(struct cluster *c, int ok))
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct cluster_stream *s;

    if (c->streams_out >= CLUSTER_STREAMS_OUT_MAX || cluster_sockaddr(to, &ss, &sl) != 0 ||
        !(s = stream_new(c, out_socket(c, to), 1))) {
        if (done)
            done(c, 0);
        return;
    }
    s->join = join;
    s->peer = *to;
    s->done = done;
    if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss, (int)sl) != 0)
        stream_free(s, 0);
}

/* An accepted connection whose first byte tells what it is: WIRE_MAGIC's
 * first byte starts the peer protocol, a push-pull frame starts with its
 * length's high byte, 0. The byte is only peeked: whoever takes the socket
 * reads it again. */
struct cluster_sniff {
    struct cluster *c;
    struct cluster_sniff *next, **pprev;
    evutil_socket_t fd;
    struct event *ev;
    struct ring_addr peer;
};

static void sniff_free(struct cluster_sniff *k, int close_fd)
{
    *k->pprev = k->next;
    if (k->next)
        k->next->pprev = k->pprev;
    k->c->nsniffs--;
    event_free(k->ev);
    if (close_fd)
        close(k->fd);
    free(k);
}

void cluster_sniffs_free(struct cluster *c)
{
    while (c->sniffs)
        sniff_free(c->sniffs, 1);
}

static void push_pull_in(struct cluster *c, evutil_socket_t fd, const struct ring_addr *peer)
{
    struct cluster_stream *s;
    if (c->streams_in >= CLUSTER_STREAMS_IN_MAX) {
        c->st.streams_refused++;
        close(fd);
        return;
    }
    s = stream_new(c, fd, 0);
    if (!s)
        return;
    s->peer = *peer;
    bufferevent_enable(s->bev, EV_READ);
}

static void sniff_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cluster_sniff *k = arg;
    struct cluster *c = k->c;
    uint8_t b;
    ssize_t n = (what & EV_READ) ? recv(fd, &b, 1, MSG_PEEK) : -1;

    if (n != 1) { /* closed, failed or timed out before its first byte */
        c->st.sniff_failed++;
        sniff_free(k, 1);
        return;
    }
    struct ring_addr peer = k->peer;
    sniff_free(k, 0);
    if ((b == (uint8_t)WIRE_MAGIC[0] || b == 0x16) && c->peer_conn) { /* 0x16: a TLS ClientHello */
        c->st.peer_conns++;
        c->peer_conn(c->peer_conn_arg, fd);
    } else {
        push_pull_in(c, fd, &peer);
    }
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct cluster *c = arg;
    struct timeval t = {CLUSTER_STREAM_TIMEOUT_S, 0};
    struct cluster_sniff *k;

    (void)lis;
    (void)salen;
    if (c->nsniffs >= CLUSTER_SNIFFS_MAX) {
        c->st.sniff_refused++;
        close(fd);
        return;
    }
    k = shd_xcalloc(1, sizeof(*k));
    k->c = c;
    k->fd = fd;
    cluster_ring_addr(sa, &k->peer);
    k->ev = event_new(c->base, fd, EV_READ, sniff_cb, k);
    if (!k->ev || event_add(k->ev, &t) != 0) {
        if (k->ev)
            event_free(k->ev);
        close(fd);
        free(k);
        return;
    }
    k->next = c->sniffs;
    if (k->next)
        k->next->pprev = &k->next;
    k->pprev = &c->sniffs;
    c->sniffs = k;
    c->nsniffs++;
}

int cluster_stream_listen(struct cluster *c, evutil_socket_t fd)
{
    c->lis = evconnlistener_new(c->base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    return c->lis ? 0 : -1;
}
