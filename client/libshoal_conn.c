/* client/libshoal.conn.c: libshoal's connections to the nodes: TCP to a
 * node's peer port, the mutual handshake under the cluster key (wire.h:
 * HELLO, CHALLENGE checked, AUTH), frames read with a deadline (every
 * length checked against WIRE_FRAME_MAX before it is read), and a pool of
 * idle connections per node. Calls block the calling thread only; each
 * connection serves one call at a time. */
#include "client/libshoal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cl_err_of(uint32_t code)
{
    switch (code) {
    case WIRE_C_NOENT:
        return SHOAL_ENOENT;
    case WIRE_C_PRECOND:
        return SHOAL_ECHANGED;
    case WIRE_C_AUTH:
    case WIRE_C_DENIED:
        return SHOAL_EAUTH;
    case WIRE_C_PROTO:
        return SHOAL_EPROTO;
    case WIRE_C_INVAL:
        return SHOAL_EINVAL;
    case WIRE_C_RDONLY:
        return SHOAL_ERDONLY;
    default:
        return SHOAL_EUNAVAIL; /* another owner may do better */
    }
}

void cl_conn_close(struct cl_conn *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->body);
    free(c);
}

/* Waits until FD is readable (IN) or writable, at most until DEADLINE. */
static int wait_fd(int fd, int in, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return SHOAL_ETIMEDOUT;
        struct pollfd p = {fd, (short)(in ? POLLIN : POLLOUT), 0};
        int r = poll(&p, 1, (int)(deadline - now));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return SHOAL_EIO;
    }
}

/* The socket is blocking once connected, with SO_SNDTIMEO and SO_RCVTIMEO
 * at the timeout: a node that takes no byte, or sends none, for that long
 * is given up. MSG_WAITALL lets the kernel wake the thread once per frame
 * part, not once per segment. DEADLINE is not used then. */
static int write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
    (void)deadline;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        return w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? SHOAL_ETIMEDOUT : SHOAL_EIO;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
    (void)deadline;
    while (n) {
        ssize_t r = recv(fd, p, n, MSG_WAITALL);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return SHOAL_EIO; /* the node closed the connection */
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? SHOAL_ETIMEDOUT : SHOAL_EIO;
    }
    return 0;
}

static int sockaddr_of(const struct ring_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip, 4);
        s4->sin_port = htons(a->port);
        *len = sizeof(*s4);
        return 0;
    }
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip, 16);
        s6->sin6_port = htons(a->port);
        *len = sizeof(*s6);
        return 0;
    }
    return SHOAL_EINVAL;
}

int cl_send(shoal *sh, struct cl_conn *c, struct wire_msg *m)
{
    uint8_t *buf = malloc(CL_REQ_MAX);
    size_t len;
    int err;
    if (!buf)
        return SHOAL_ENOMEM;
    if (m->type != WIRE_HELLO && m->type != WIRE_AUTH) {
        m->rid = c->next_rid++;
        if (!c->next_rid)
            c->next_rid = 1;
        struct cl_view *v = cl_view_get(sh);
        m->epoch = v ? v->epoch : 0;
        cl_view_put(v);
    }
    err = wire_encode(m, buf, CL_REQ_MAX, &len) == 0 ? 0 : SHOAL_EINVAL;
    if (!err)
        err = write_all(c->fd, buf, len, now_ms() + sh->timeout_ms);
    free(buf);
    return err;
}

int cl_send_data(shoal *sh, struct cl_conn *c, uint32_t rid, const uint8_t *p, size_t n)
{
    (void)sh;
    while (n) {
        uint8_t head[WIRE_DATA_HEAD_MAX];
        size_t k = n < WIRE_DATA_MAX ? n : WIRE_DATA_MAX;
        size_t hl = wire_data_head(rid, k, head);
        int err = write_all(c->fd, head, hl, 0);
        if (!err)
            err = write_all(c->fd, p, k, 0);
        if (err)
            return err;
        p += k;
        n -= k;
    }
    return 0;
}

/* One frame into *M (its body in c->body). With ROOM set, a DATA frame
 * whose request ROOM gives a place for (at least its length) has its
 * bytes read straight there: *M is then that DATA frame, pointing there. */
static int recv_frame(shoal *sh, struct cl_conn *c, struct wire_msg *m, cl_room_fn room, void *arg)
{
    uint8_t head[WIRE_FRAME_HEAD];
    uint32_t len, rid;
    size_t hl, dl, have;
    uint64_t deadline = now_ms() + sh->timeout_ms;
    int err = read_all(c->fd, head, sizeof(head), deadline);
    if (err)
        return err;
    if (wire_frame_len(head, &len) != 0)
        return SHOAL_EPROTO; /* over WIRE_FRAME_MAX, or empty */
    have = len < 16 ? len : 16;
    err = read_all(c->fd, c->body, have, deadline);
    if (err)
        return err;
    uint8_t *dst = NULL;
    size_t space = 0;
    if (room && wire_data_peek(c->body, have, len, &rid, &hl, &dl) &&
        (dst = room(arg, rid, &space)) != NULL && dl <= space) {
        size_t early = have - hl; /* data bytes read with the head */
        memcpy(dst, c->body + hl, early);
        err = read_all(c->fd, dst + early, dl - early, deadline);
        if (err)
            return err;
        memset(m, 0, sizeof(*m));
        m->type = WIRE_DATA;
        m->rid = rid;
        m->u.data.p = dst;
        m->u.data.len = dl;
        return 0;
    }
    err = read_all(c->fd, c->body + have, len - have, deadline);
    if (err)
        return err;
    return wire_decode(c->body, len, m) == 0 ? 0 : SHOAL_EPROTO;
}

int cl_recv_any(shoal *sh, struct cl_conn *c, struct wire_msg *m, cl_room_fn room, void *arg)
{
    for (;;) {
        int err = recv_frame(sh, c, m, room, arg);
        if (err)
            return err;
        if (m->type == WIRE_WELCOME) {
            wire_msg_clear(m);
            continue;
        }
        if (m->type == WIRE_VIEW && (!c->view_rid || m->rid != c->view_rid)) {
            /* our epoch was not the node's: the news first */
            cl_view_set(sh, m->u.view.members, m->u.view.n);
            wire_msg_clear(m);
            continue;
        }
        return 0;
    }
}

int cl_recv(shoal *sh, struct cl_conn *c, uint32_t rid, struct wire_msg *m)
{
    int err = cl_recv_any(sh, c, m, NULL, NULL);
    if (!err && m->rid != rid) { /* not ours: a protocol error on a one-call connection */
        wire_msg_clear(m);
        return SHOAL_EPROTO;
    }
    return err;
}

/* The handshake on a connected C: 0 or a code. */
static int handshake(shoal *sh, struct cl_conn *c)
{
    uint8_t nonce[WIRE_NONCE_LEN];
    struct wire_msg m;
    int err;
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return SHOAL_ENOMEM;
    err = write_all(c->fd, (const uint8_t *)WIRE_MAGIC, WIRE_MAGIC_LEN, now_ms() + sh->timeout_ms);
    if (err)
        return err;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELLO;
    m.u.hello.version = WIRE_VERSION;
    snprintf(m.u.hello.cluster, sizeof(m.u.hello.cluster), "%s", sh->cluster);
    memcpy(m.u.hello.nonce, nonce, sizeof(nonce));
    m.u.hello.block_size = sh->block_size;
    err = cl_send(sh, c, &m);
    if (err)
        return err;
    err = recv_frame(sh, c, &m, NULL, NULL);
    if (err)
        return err;
    if (m.type == WIRE_ERROR) {
        err = m.u.error.code == WIRE_C_PROTO ? SHOAL_EPROTO : SHOAL_EAUTH;
        wire_msg_clear(&m);
        return err;
    }
    if (m.type != WIRE_CHALLENGE || m.u.challenge.version != WIRE_VERSION) {
        wire_msg_clear(&m);
        return SHOAL_EPROTO;
    }
    /* the node proves one of our keys before we prove anything */
    uint8_t want[WIRE_MAC_LEN], theirs[WIRE_NONCE_LEN];
    size_t k;
    memcpy(theirs, m.u.challenge.nonce, sizeof(theirs));
    for (k = 0; k < sh->nkeys; k++)
        if (wire_mac(sh->keys[k], 's', sh->cluster, nonce, theirs, want) == 0 &&
            CRYPTO_memcmp(want, m.u.challenge.mac, WIRE_MAC_LEN) == 0)
            break;
    wire_msg_clear(&m);
    if (k == sh->nkeys)
        return SHOAL_EAUTH;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_AUTH;
    if (wire_mac(sh->keys[k], 'c', sh->cluster, theirs, nonce, m.u.auth.mac) != 0)
        return SHOAL_ENOMEM;
    return cl_send(sh, c, &m); /* WELCOME comes before the first answer (cl_recv) */
}

static int conn_new(shoal *sh, const struct ring_addr *to, struct cl_conn **out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int err = sockaddr_of(to, &ss, &sl);
    if (err)
        return err;
    struct cl_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return SHOAL_ENOMEM;
    c->addr = *to;
    c->next_rid = 1;
    c->body = malloc(WIRE_FRAME_MAX);
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (!c->body || c->fd < 0) {
        err = c->body ? SHOAL_EIO : SHOAL_ENOMEM;
        goto fail;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&ss, sl) != 0) {
        if (errno != EINPROGRESS) {
            err = SHOAL_EUNAVAIL;
            goto fail;
        }
        int so = 0;
        socklen_t len = sizeof(so);
        err = wait_fd(c->fd, 0, now_ms() + sh->timeout_ms);
        if (!err && (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &len) != 0 || so != 0))
            err = SHOAL_EUNAVAIL;
        if (err)
            goto fail;
    }
    /* blocking from now on, with the timeout on each send and receive */
    int fl = fcntl(c->fd, F_GETFL);
    struct timeval tv = {(time_t)(sh->timeout_ms / 1000),
                         (suseconds_t)(sh->timeout_ms % 1000) * 1000};
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        err = SHOAL_EIO;
        goto fail;
    }
    err = handshake(sh, c);
    if (err)
        goto fail;
    *out = c;
    return 0;
fail:
    cl_conn_close(c);
    return err;
}

int cl_conn_get(shoal *sh, const struct ring_addr *to, struct cl_conn **out)
{
    pthread_mutex_lock(&sh->mu);
    for (struct cl_conn **pp = &sh->idle; *pp; pp = &(*pp)->next)
        if (ring_addr_eq(&(*pp)->addr, to)) {
            struct cl_conn *c = *pp;
            *pp = c->next;
            sh->nidle--;
            pthread_mutex_unlock(&sh->mu);
            c->next = NULL;
            *out = c;
            return 0;
        }
    pthread_mutex_unlock(&sh->mu);
    return conn_new(sh, to, out);
}

void cl_conn_put(shoal *sh, struct cl_conn *c)
{
    size_t same = 0;
    pthread_mutex_lock(&sh->mu);
    for (struct cl_conn *i = sh->idle; i; i = i->next)
        same += ring_addr_eq(&i->addr, &c->addr);
    if (same < CL_IDLE_PER_NODE) {
        c->next = sh->idle;
        sh->idle = c;
        sh->nidle++;
        c = NULL;
    }
    pthread_mutex_unlock(&sh->mu);
    cl_conn_close(c); /* enough of those idle */
}
