/* daemon/cluster/peer_conn.c: peer protocol connections (see peer_int.h for
 * the states): starting the subsystem, taking accepted sockets from the
 * cluster's listener onto a loop, reading frames against their ceiling,
 * the mutual handshake, and writing frames.
 *
 * The handshake proves both sides hold a cluster key without sending it:
 * the server's CHALLENGE carries HMAC(key, "s", cluster, client nonce,
 * server nonce), the client's AUTH HMAC(key, "c", cluster, server nonce,
 * client nonce) (wire_mac). Fresh random nonces on both sides make each
 * proof good for one connection only, and the side label keeps one side's
 * proof from serving as the other's. The keys used are derived from the
 * cluster keys (SHA-256 of a label and the key), so the MAC key is never
 * the one that seals gossip. */
#include "daemon/cluster/peer_int.h"

#include "daemon/log.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

uint64_t peer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void peer_stat_of(const struct wire_msg *m, struct ufs_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->size = m->meta.size;
    snprintf(st->etag, sizeof(st->etag), "%s", m->meta.etag);
    st->mtime = m->meta.mtime;
    snprintf(st->content_type, sizeof(st->content_type), "%s", m->meta.content_type);
    st->headers = m->meta.headers[0] ? m->meta.headers : NULL;
}

void peer_meta_of(struct wire_msg *m, const struct ufs_stat *st)
{
    m->meta.size = st->size;
    snprintf(m->meta.etag, sizeof(m->meta.etag), "%s", st->etag);
    m->meta.mtime = st->mtime;
    snprintf(m->meta.content_type, sizeof(m->meta.content_type), "%s", st->content_type);
    snprintf(m->meta.headers, sizeof(m->meta.headers), "%s", st->headers ? st->headers : "");
}

/* ---- writing -------------------------------------------------------------------------- */

/* N bytes at P copied onto OUT, into space reserved for them: evbuffer_add
 * after a reference chain (a block's DATA) sizes its new chain like that
 * one, so a 14-byte END cost a 2 MiB allocation per block served (an mmap,
 * its page faults, and a munmap with its TLB shootdown); a reservation is
 * sized by what it is for. */
static int add_small(struct evbuffer *out, const void *p, size_t n)
{
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) != 1 || v.iov_len < n)
        return -1;
    memcpy(v.iov_base, p, n);
    v.iov_len = n;
    return evbuffer_commit_space(out, &v, 1);
}

/* M encoded onto OUT. */
static int send_to(struct peer_conn *c, struct evbuffer *out, const struct wire_msg *m)
{
    uint8_t small[1024], *buf = small;
    size_t len;
    int err = -1;
    if (c->state == PC_DEAD)
        return -1;
    if (wire_encode(m, small, sizeof(small), &len) == WIRE_ETOOBIG) {
        buf = shd_xmalloc(WIRE_FRAME_HEAD + WIRE_FRAME_MAX); /* a VIEW of many members */
        if (wire_encode(m, buf, WIRE_FRAME_HEAD + WIRE_FRAME_MAX, &len) != WIRE_OK)
            goto out;
    } else if (buf == small && wire_encode(m, small, sizeof(small), &len) != WIRE_OK) {
        goto out;
    }
    atomic_fetch_add_explicit(&c->pl->ps->st.bytes_out, len, memory_order_relaxed);
    err = add_small(out, buf, len);
out:
    if (buf != small)
        free(buf);
    return err;
}

int peer_send(struct peer_conn *c, const struct wire_msg *m)
{
    struct evbuffer *out =
        c->pending && c->state != PC_READY ? c->pending : bufferevent_get_output(c->bev);
    return send_to(c, out, m);
}

void peer_send_error(struct peer_conn *c, uint32_t rid, uint32_t code, const char *message)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_ERROR;
    m.rid = rid;
    m.u.error.code = code;
    snprintf(m.u.error.message, sizeof(m.u.error.message), "%s", message);
    atomic_fetch_add_explicit(&c->pl->ps->st.errors_out, 1, memory_order_relaxed);
    peer_send(c, &m);
}

static void block_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    store_block_unref(arg);
}

void peer_send_data(struct peer_conn *c, uint32_t rid, struct store_block *b, const uint8_t *data,
                    size_t n)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->state == PC_DEAD)
        return;
    while (n) {
        uint8_t head[WIRE_DATA_HEAD_MAX];
        size_t k = n < WIRE_DATA_MAX ? n : WIRE_DATA_MAX;
        size_t hl = wire_data_head(rid, k, head);
        add_small(out, head, hl);
        evbuffer_add_reference(out, data, k, block_unref_cb, store_block_ref(b));
        atomic_fetch_add_explicit(&c->pl->ps->st.bytes_out, hl + k, memory_order_relaxed);
        data += k;
        n -= k;
    }
}

/* ---- the handshake -------------------------------------------------------------------- */

static uint64_t my_epoch(struct peer_conn *c)
{
    const struct cluster_view *v = cluster_view(c->pl->ps->cluster);
    return v ? v->epoch : 0;
}

static void hello_out(struct peer_conn *c)
{
    struct peer_set *ps = c->pl->ps;
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELLO;
    m.epoch = my_epoch(c);
    m.u.hello.version = WIRE_VERSION;
    snprintf(m.u.hello.cluster, sizeof(m.u.hello.cluster), "%s", ps->name);
    m.u.hello.has_node = 1;
    memcpy(m.u.hello.node, ps->ctx->node_id, RING_ID_LEN);
    memcpy(m.u.hello.nonce, c->nonce, WIRE_NONCE_LEN);
    m.u.hello.block_size = ps->ctx->block_size;
    evbuffer_add(bufferevent_get_output(c->bev), WIRE_MAGIC, WIRE_MAGIC_LEN);
    send_to(c, bufferevent_get_output(c->bev), &m); /* ahead of what is pending */
}

/* Whether MAC proves one of our keys for SIDE over (verifier, prover)
 * nonces; the key's index into *which. */
static int mac_ok(struct peer_set *ps, char side, const uint8_t *verifier, const uint8_t *prover,
                  const uint8_t mac[WIRE_MAC_LEN], int *which)
{
    uint8_t want[WIRE_MAC_LEN];
    for (size_t i = 0; i < ps->nkeys; i++)
        if (wire_mac(ps->keys[i], side, ps->name, verifier, prover, want) == 0 &&
            CRYPTO_memcmp(want, mac, WIRE_MAC_LEN) == 0) {
            *which = (int)i;
            return 1;
        }
    return 0;
}

static int on_hello(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    struct wire_msg r;
    const char *why = NULL;
    if (m->type != WIRE_HELLO)
        why = "a request before the handshake";
    else if (m->u.hello.version != WIRE_VERSION)
        why = "another protocol version";
    else if (strcmp(m->u.hello.cluster, ps->name) != 0)
        why = "another cluster";
    else if (m->u.hello.block_size != ps->ctx->block_size)
        why = "another cluster.block_size";
    if (why) {
        char a[64] = "";
        shd_warn("peer", "connection refused why=\"%s\" cluster=\"%.64s\"", why,
                 m->type == WIRE_HELLO ? m->u.hello.cluster : a);
        atomic_fetch_add_explicit(&ps->st.handshake_failures, 1, memory_order_relaxed);
        if (m->type == WIRE_HELLO)
            peer_send_error(c, 0, WIRE_C_PROTO, why);
        return -1;
    }
    memcpy(c->their_nonce, m->u.hello.nonce, WIRE_NONCE_LEN);
    c->has_node = m->u.hello.has_node; /* trusted once AUTH proves the key */
    memcpy(c->node, m->u.hello.node, RING_ID_LEN);
    memset(&r, 0, sizeof(r));
    r.type = WIRE_CHALLENGE;
    r.epoch = my_epoch(c);
    r.u.challenge.version = WIRE_VERSION;
    memcpy(r.u.challenge.node, ps->ctx->node_id, RING_ID_LEN);
    memcpy(r.u.challenge.nonce, c->nonce, WIRE_NONCE_LEN);
    if (wire_mac(ps->keys[0], 's', ps->name, c->their_nonce, c->nonce, r.u.challenge.mac) != 0)
        return -1;
    c->state = PC_AUTH;
    return peer_send(c, &r);
}

static int on_auth(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    int which;
    if (m->type != WIRE_AUTH || !mac_ok(ps, 'c', c->nonce, c->their_nonce, m->u.auth.mac, &which)) {
        atomic_fetch_add_explicit(&ps->st.auth_failures, 1, memory_order_relaxed);
        shd_warn("peer", "a peer failed authentication what=\"it does not hold the cluster key "
                         "(cluster.secret_file), or is not a shoal node\"");
        return -1; /* it gets nothing */
    }
    struct wire_msg r;
    memset(&r, 0, sizeof(r));
    r.type = WIRE_WELCOME;
    c->state = PC_READY;
    event_del(c->hs_timer);
    return peer_send(c, &r);
}

static int on_challenge(struct peer_conn *c, const struct wire_msg *m)
{
    struct peer_set *ps = c->pl->ps;
    struct wire_msg r;
    if (m->type == WIRE_ERROR) {
        char a[64];
        ring_addr_format(&c->addr, a, sizeof(a));
        shd_warn("peer", "a node refused this one peer=%s err=\"%s\"", a, m->u.error.message);
        atomic_fetch_add_explicit(&ps->st.handshake_failures, 1, memory_order_relaxed);
        return -1;
    }
    if (m->type != WIRE_CHALLENGE || m->u.challenge.version != WIRE_VERSION ||
        !mac_ok(ps, 's', c->nonce, m->u.challenge.nonce, m->u.challenge.mac, &c->key)) {
        char a[64];
        ring_addr_format(&c->addr, a, sizeof(a));
        atomic_fetch_add_explicit(&ps->st.auth_failures, 1, memory_order_relaxed);
        shd_warn("peer",
                 "a peer failed authentication peer=%s what=\"it does not hold the "
                 "cluster key (cluster.secret_file)\"",
                 a);
        return -1;
    }
    memcpy(c->their_nonce, m->u.challenge.nonce, WIRE_NONCE_LEN);
    memset(&r, 0, sizeof(r));
    r.type = WIRE_AUTH;
    if (wire_mac(ps->keys[c->key], 'c', ps->name, c->their_nonce, c->nonce, r.u.auth.mac) != 0)
        return -1;
    c->state = PC_READY;
    event_del(c->hs_timer);
    if (peer_send(c, &r) != 0)
        return -1;
    peer_pool_ready(c);
    return 0;
}

/* ---- reading -------------------------------------------------------------------------- */

static int on_frame(struct peer_conn *c, const struct wire_msg *m)
{
    switch (c->state) {
    case PC_HELLO:
        return on_hello(c, m);
    case PC_AUTH:
        return on_auth(c, m);
    case PC_CHALLENGE:
        return on_challenge(c, m);
    case PC_READY:
        return c->server ? peer_srv_frame(c, m) : peer_pool_frame(c, m);
    default:
        return -1;
    }
}

/* N bytes of the DATA frame being received, in NV pieces where they lie:
 * to the call (client side) or the PUT (server side); 0, or -1 to close. */
static int data_to(struct peer_conn *c, const struct iovec *v, int nv, size_t n)
{
    c->d_left -= n;
    return c->server ? peer_srv_data(c, c->d_rid, v, nv, n) : peer_pool_data(c, c->d_rid, v, nv, n);
}

/* Where the DATA frame being received may go straight from the socket (the
 * block it fills), and how much of it; NULL: into the input buffer. */
static uint8_t *data_room(struct peer_conn *c, size_t *room)
{
    uint8_t *p = c->server ? peer_srv_room(c, c->d_rid, room) : peer_pool_room(c, c->d_rid, room);
    if (p && *room > c->d_left)
        *room = c->d_left;
    return p && *room ? p : NULL;
}

/* The first K bytes of IN, all of the DATA frame being received: taken
 * where they lie, then drained. -1 when the connection closed. */
static int data_bytes(struct peer_conn *c, struct evbuffer *in, size_t k)
{
    struct evbuffer_iovec v[64];
    struct iovec iv[64];
    int nv = evbuffer_peek(in, (ev_ssize_t)k, NULL, v, 64);
    if (nv < 0 || nv > 64) { /* more pieces than we take at once: one copy then */
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)k);
        v[0].iov_base = (void *)p;
        v[0].iov_len = k;
        nv = p ? 1 : 0;
    }
    size_t left = k;
    for (int i = 0; i < nv; i++) { /* the last piece may hold the next frame too */
        iv[i].iov_base = v[i].iov_base;
        iv[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
        left -= iv[i].iov_len;
    }
    int err = left ? -1 : data_to(c, iv, nv, k);
    if (c->state == PC_DEAD)
        return -1;
    evbuffer_drain(in, k);
    if (err) {
        peer_conn_close(c);
        return -1;
    }
    return 0;
}

/* A frame of LEN bytes starts IN, its first 16 bytes (or all of it) there:
 * when it is DATA, its head is drained and its bytes are taken as they
 * come, without waiting for the whole frame (1); 0 when it is another
 * frame (nothing drained). */
static int data_head(struct peer_conn *c, struct evbuffer *in, uint32_t len)
{
    uint8_t head[WIRE_FRAME_HEAD + 16];
    uint32_t rid;
    size_t hl, n;
    evbuffer_copyout(in, head, sizeof(head));
    if (!wire_data_peek(head + WIRE_FRAME_HEAD, 16, len, &rid, &hl, &n))
        return 0;
    atomic_fetch_add_explicit(&c->pl->ps->st.bytes_in, WIRE_FRAME_HEAD + len, memory_order_relaxed);
    evbuffer_drain(in, WIRE_FRAME_HEAD + hl);
    c->d_rid = rid;
    c->d_left = n;
    return 1;
}

/* The frames in C's input buffer, as many as are whole. */
static void frames(struct peer_conn *c)
{
    struct peer_set *ps = c->pl->ps;
    struct evbuffer *in = c->in;

    while (c->state != PC_DEAD && !c->paused) {
        size_t have = evbuffer_get_length(in);
        if (c->d_left) { /* inside a DATA frame's bytes */
            if (!have || data_bytes(c, in, have < c->d_left ? have : c->d_left) != 0)
                return;
            continue;
        }
        if (c->state == PC_MAGIC) {
            uint8_t magic[WIRE_MAGIC_LEN];
            if (have < WIRE_MAGIC_LEN)
                return;
            evbuffer_remove(in, magic, WIRE_MAGIC_LEN);
            if (memcmp(magic, WIRE_MAGIC, WIRE_MAGIC_LEN) != 0) {
                atomic_fetch_add_explicit(&ps->st.bad_frames, 1, memory_order_relaxed);
                peer_conn_close(c);
                return;
            }
            c->state = PC_HELLO;
            continue;
        }
        uint8_t head[WIRE_FRAME_HEAD];
        uint32_t len;
        if (have < WIRE_FRAME_HEAD)
            break;
        evbuffer_copyout(in, head, WIRE_FRAME_HEAD);
        if (wire_frame_len(head, &len) != WIRE_OK) {
            atomic_fetch_add_explicit(&ps->st.bad_frames, 1, memory_order_relaxed);
            peer_conn_close(c);
            return;
        }
        if (c->state == PC_READY && len > 64 && have >= WIRE_FRAME_HEAD + 16 &&
            data_head(c, in, len))
            continue; /* DATA: its bytes are taken as they come */
        if (have < WIRE_FRAME_HEAD + (size_t)len)
            return; /* the rest of it comes */
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(WIRE_FRAME_HEAD + len));
        struct wire_msg m;
        int err = p ? wire_decode(p + WIRE_FRAME_HEAD, len, &m) : WIRE_ENOMEM;
        if (err) {
            atomic_fetch_add_explicit(&ps->st.bad_frames, 1, memory_order_relaxed);
            peer_conn_close(c);
            return;
        }
        atomic_fetch_add_explicit(&ps->st.bytes_in, WIRE_FRAME_HEAD + len, memory_order_relaxed);
        err = on_frame(c, &m);
        wire_msg_clear(&m);
        if (c->state == PC_DEAD)
            return; /* closed inside: the connection is gone */
        evbuffer_drain(in, WIRE_FRAME_HEAD + len);
        if (err) {
            peer_conn_close(c);
            return;
        }
    }
}

/* The socket is readable: up to 96 KiB in one readv into the input buffer
 * (libevent's own reads take 4 KiB at a time, EVBUFFER_MAX_READ: 256
 * system calls and loop turns for a 1 MiB block); inside a DATA frame,
 * with the input buffer empty, its bytes first, straight into the block
 * they fill (no copy out of the input buffer). */
static void sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_conn *c = arg;
    struct evbuffer *in = c->in;
    struct evbuffer_iovec v[2];
    struct iovec iv[3];
    /* 96 KiB at most a read: the input buffer's chunks then stay under the
     * mmap threshold (main.c) and are reused from the heap, not faulted in */
    size_t want = 96u << 10, room = 0;
    (void)what;
    uint8_t *dst = c->d_left && evbuffer_get_length(in) == 0 ? data_room(c, &room) : NULL;
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2), k = 0;
    if (nv <= 0) {
        peer_conn_close(c);
        return;
    }
    if (dst)
        iv[k++] = (struct iovec){dst, room};
    for (int i = 0; i < nv; i++)
        iv[k++] = (struct iovec){v[i].iov_base, v[i].iov_len};
    ssize_t n = readv(fd, iv, k);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        evbuffer_commit_space(in, v, 0);
        return;
    }
    if (n <= 0) { /* EOF, or an error (a refused connect too) */
        evbuffer_commit_space(in, v, 0);
        peer_conn_close(c);
        return;
    }
    if (dst) {
        size_t got = (size_t)n < room ? (size_t)n : room;
        struct iovec d = {dst, got};
        n -= (ssize_t)got;
        int err = data_to(c, &d, 1, got); /* before any byte after them */
        if (c->state == PC_DEAD || err) {
            evbuffer_commit_space(in, v, 0);
            if (c->state != PC_DEAD)
                peer_conn_close(c);
            return;
        }
    }
    for (int i = 0; i < nv; i++) {
        size_t t = (size_t)n < v[i].iov_len ? (size_t)n : v[i].iov_len;
        v[i].iov_len = t;
        n -= (ssize_t)t;
    }
    evbuffer_commit_space(in, v, nv);
    frames(c);
}

/* TLS: what the filter decrypted, moved (not copied) to the input buffer. */
static void tls_read_cb(struct bufferevent *bev, void *arg)
{
    struct peer_conn *c = arg;
    if (evbuffer_add_buffer(c->in, bufferevent_get_input(bev)) != 0) {
        peer_conn_close(c);
        return;
    }
    frames(c);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state != PC_DEAD && !c->paused)
        frames(c);
}

void peer_conn_pause(struct peer_conn *c)
{
    if (c->paused || c->state == PC_DEAD)
        return;
    c->paused = 1;
    if (c->rev)
        event_del(c->rev);
    else
        bufferevent_disable(c->bev, EV_READ);
}

void peer_conn_resume(struct peer_conn *c)
{
    if (!c->paused || c->state == PC_DEAD)
        return;
    c->paused = 0;
    if (c->rev)
        event_add(c->rev, NULL);
    else
        bufferevent_enable(c->bev, EV_READ);
    if (!c->resume_ev)
        c->resume_ev = event_new(c->pl->l->base, -1, 0, resume_cb, c);
    if (!c->resume_ev)
        shd_oom(sizeof(struct event *));
    event_active(c->resume_ev, EV_TIMEOUT, 0); /* not inside the caller's callback */
}

static void free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct peer_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->flushing) { /* off the list of those still writing */
        *c->pprev = c->next;
        if (c->next)
            c->next->pprev = c->pprev;
    }
    if (c->rev)
        event_free(c->rev);
    if (c->resume_ev)
        event_free(c->resume_ev);
    if (c->in)
        evbuffer_free(c->in);
    bufferevent_free(c->bev);
    event_free(c->hs_timer);
    if (c->pending)
        evbuffer_free(c->pending);
    free(c);
}

/* A closed connection's last frames (an ERROR saying why) went out, or
 * could not in time: freed. */
static void flushed_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    free_cb(-1, 0, arg);
}

static void flush_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    free_cb(-1, 0, arg);
}

void peer_conn_close(struct peer_conn *c)
{
    if (c->state == PC_DEAD)
        return;
    c->state = PC_DEAD;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    if (c->rev)
        event_del(c->rev);
    else
        bufferevent_disable(c->bev, EV_READ);
    if (c->resume_ev)
        event_del(c->resume_ev);
    event_del(c->hs_timer);
    if (c->server)
        peer_srv_close(c);
    else
        peer_pool_close(c);
    if (!c->pl->ps->stopping && evbuffer_get_length(bufferevent_get_output(c->bev))) {
        /* what is queued goes first (at most PEER_HANDSHAKE_MS) */
        struct timeval t = {PEER_HANDSHAKE_MS / 1000, (PEER_HANDSHAKE_MS % 1000) * 1000};
        bufferevent_setcb(c->bev, NULL, flushed_cb, flush_event_cb, c);
        c->flushing = 1;
        c->next = c->pl->closing;
        if (c->next)
            c->next->pprev = &c->next;
        c->pprev = &c->pl->closing;
        c->pl->closing = c;
        bufferevent_set_timeouts(c->bev, NULL, &t);
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    bufferevent_disable(c->bev, EV_WRITE);
    /* freed from the loop, never inside a callback that still uses it;
     * when stopping, no callback runs */
    if (c->pl->ps->stopping || event_base_once(c->pl->l->base, -1, EV_TIMEOUT, free_cb, c, NULL))
        free_cb(-1, 0, c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct peer_conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) { /* connected; with TLS, its handshake done */
        if (!c->server)
            hello_out(c);
        return;
    }
    peer_conn_close(c); /* EOF or error */
}

static void hs_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct peer_conn *c = arg;
    (void)fd;
    (void)what;
    atomic_fetch_add_explicit(&c->pl->ps->st.handshake_failures, 1, memory_order_relaxed);
    peer_conn_close(c);
}

struct peer_conn *peer_conn_new(struct peer_loop *pl, evutil_socket_t fd, int server)
{
    struct peer_conn *c = shd_xcalloc(1, sizeof(*c));
    struct timeval hs = {PEER_HANDSHAKE_MS / 1000, (PEER_HANDSHAKE_MS % 1000) * 1000};
    c->pl = pl;
    c->server = server;
    c->state = server ? PC_MAGIC : PC_CHALLENGE;
    c->next_rid = 1;
    if (RAND_bytes(c->nonce, WIRE_NONCE_LEN) != 1) {
        if (fd >= 0)
            close(fd);
        free(c);
        return NULL;
    }
    c->bev = pl->ps->tls ? peer_tls_bev(pl->ps, pl->l->base, fd, server, &c->raw)
                         : bufferevent_socket_new(pl->l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->hs_timer = evtimer_new(pl->l->base, hs_timeout, c);
    if (!c->bev || !c->hs_timer) {
        if (c->bev)
            bufferevent_free(c->bev);
        else if (fd >= 0)
            close(fd);
        if (c->hs_timer)
            event_free(c->hs_timer);
        free(c);
        return NULL;
    }
    if (!server)
        c->pending = evbuffer_new();
    else if (fd >= 0) {
        int one = 1; /* frames go out whole: no waiting for the peer's delayed ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    /* whole frames per read and write, not libevent's 16 KiB */
    bufferevent_set_max_single_read(c->bev, WIRE_FRAME_HEAD + WIRE_FRAME_MAX);
    bufferevent_set_max_single_write(c->bev, 4 * (WIRE_FRAME_HEAD + WIRE_FRAME_MAX));
    c->in = evbuffer_new(); /* a bufferevent's own input takes only what it reads */
    if (c->raw) {           /* TLS: the filter reads and decrypts, tls_read_cb takes it */
        bufferevent_setcb(c->bev, tls_read_cb, NULL, event_cb, c);
        if (!c->in || bufferevent_enable(c->bev, EV_READ) != 0)
            shd_oom(sizeof(struct event *));
    } else {
        bufferevent_setcb(c->bev, NULL, NULL, event_cb, c);
        c->rev = event_new(pl->l->base, fd, EV_READ | EV_PERSIST, sock_read_cb, c);
        if (!c->in || !c->rev || event_add(c->rev, NULL) != 0)
            shd_oom(sizeof(struct event *));
    }
    evtimer_add(c->hs_timer, &hs);
    c->next = pl->conns;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &pl->conns;
    pl->conns = c;
    atomic_fetch_add_explicit(server ? &pl->ps->st.conns_in : &pl->ps->st.conns_out, 1,
                              memory_order_relaxed);
    return c;
}

/* ---- accepted sockets onto loops ---------------------------------------------------------- */

struct adopt {
    struct peer_loop *pl;
    evutil_socket_t fd;
};

static void adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct adopt *a = arg;
    (void)fd;
    (void)what;
    peer_conn_new(a->pl, a->fd, 1);
    free(a);
}

/* From the cluster's listener (main thread): the socket goes to the loop of
 * the CPU its packets arrive on, else round robin. */
static void on_peer_conn(void *arg, evutil_socket_t fd)
{
    struct peer_set *ps = arg;
    unsigned n = ps->ctx->nloops, i;
    int cpu = -1;
    socklen_t sl = sizeof(cpu);
    if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &sl) == 0 && cpu >= 0)
        i = (unsigned)cpu % n;
    else
        i = atomic_fetch_add(&ps->next_loop, 1) % n;
    evutil_make_socket_nonblocking(fd);
    struct adopt *a = shd_xcalloc(1, sizeof(*a));
    a->pl = &ps->loops[i];
    a->fd = fd;
    if (event_base_once(ps->ctx->loops[i].base, -1, EV_TIMEOUT, adopt_cb, a, NULL) != 0) {
        close(fd);
        free(a);
    }
}

int peer_start(struct shd_ctx *ctx, struct cluster *c)
{
    struct peer_set *ps = shd_xcalloc(1, sizeof(*ps));
    uint8_t keys[CLUSTER_KEYS_MAX][32];
    ps->ctx = ctx;
    ps->cluster = c;
    snprintf(ps->name, sizeof(ps->name), "%s", ctx->cfg->cluster.name);
    ps->nkeys = cluster_keys(c, keys);
    for (size_t i = 0; i < ps->nkeys; i++)
        wire_derive_key("shoal peer key/1", keys[i], ps->keys[i]);
    if (ctx->cfg->cluster.tls && peer_tls_start(ps, (const uint8_t(*)[32])keys, ps->nkeys) != 0) {
        OPENSSL_cleanse(keys, sizeof(keys));
        OPENSSL_cleanse(ps, sizeof(*ps)); /* the derived keys */
        free(ps);
        return -1;
    }
    OPENSSL_cleanse(keys, sizeof(keys));
    for (unsigned i = 0; i < ctx->nloops; i++) {
        ps->loops[i].ps = ps;
        ps->loops[i].l = &ctx->loops[i];
    }
    ctx->peers = ps;
    peer_repair_start(ps);
    cluster_on_peer_conn(c, on_peer_conn, ps);
    return 0;
}

void peer_stop(struct shd_ctx *ctx)
{
    struct peer_set *ps = ctx->peers;
    if (!ps)
        return;
    ps->stopping = 1; /* calls end with UFS_ECANCELED, nothing new starts */
    peer_repair_stop(ps);
    for (unsigned i = 0; i < ctx->nloops; i++) {
        while (ps->loops[i].conns)
            peer_conn_close(ps->loops[i].conns);
        while (ps->loops[i].closing)
            free_cb(-1, 0, ps->loops[i].closing);
    }
    OPENSSL_cleanse(ps->keys, sizeof(ps->keys));
    peer_tls_stop(ps);
    ctx->peers = NULL;
    free(ps);
}
