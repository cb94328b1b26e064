/* client/libshoal.c: libshoal's cluster client (shoal.h): opening from
 * seeds, the view (the ring over the members a node last sent, replaced
 * whenever an answer brings a newer one), object metadata from the key's
 * owner, and reads straight from each block's owners, in ring order, the
 * next owner going on from the last byte received when one fails. */
#include "client/libshoal_int.h"
#include "client/xxh.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define CL_DEFAULT_BLOCK (4u << 20)
#define CL_DEFAULT_TIMEOUT_MS 3000

/* ---- the view --------------------------------------------------------------------------- */

struct cl_view *cl_view_get(shoal *sh)
{
    pthread_mutex_lock(&sh->mu);
    struct cl_view *v = sh->view;
    if (v)
        atomic_fetch_add(&v->refs, 1);
    pthread_mutex_unlock(&sh->mu);
    return v;
}

void cl_view_put(struct cl_view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    ring_free(v->ring);
    free(v->addr);
    free(v);
}

void cl_view_set(shoal *sh, const struct wire_member *ms, size_t n)
{
    struct ring_member *rm = calloc(n ? n : 1, sizeof(*rm));
    struct cl_view *v = calloc(1, sizeof(*v));
    if (!rm || !v)
        goto out;
    for (size_t i = 0; i < n; i++) {
        memcpy(rm[i].id, ms[i].id, RING_ID_LEN);
        rm[i].weight = ms[i].weight;
        memcpy(rm[i].zone, ms[i].zone, sizeof(rm[i].zone));
        rm[i].state = (enum ring_state)ms[i].state;
    }
    if (ring_build(rm, n, &v->ring) != 0)
        goto out;
    v->epoch = ring_epoch(v->ring);
    size_t placed = ring_size(v->ring);
    v->addr = calloc(placed ? placed : 1, sizeof(*v->addr));
    if (!v->addr)
        goto out;
    for (size_t i = 0; i < placed; i++)
        for (size_t k = 0; k < n; k++)
            if (memcmp(ring_member_at(v->ring, i)->id, ms[k].id, RING_ID_LEN) == 0)
                v->addr[i] = ms[k].addr;
    atomic_init(&v->refs, 1);
    pthread_mutex_lock(&sh->mu);
    struct cl_view *old = sh->view;
    if (old && old->epoch == v->epoch) {
        pthread_mutex_unlock(&sh->mu);
        cl_view_put(v); /* the same placement */
        v = NULL;
    } else {
        sh->view = v;
        v = NULL;
        pthread_mutex_unlock(&sh->mu);
        cl_view_put(old);
    }
out:
    free(rm);
    if (v) {
        ring_free(v->ring);
        free(v->addr);
        free(v);
    }
}

SHOAL_API uint64_t shoal_epoch(shoal *sh)
{
    struct cl_view *v = cl_view_get(sh);
    uint64_t e = v ? v->epoch : 0;
    cl_view_put(v);
    return e;
}

SHOAL_API uint64_t shoal_block_size(const shoal *sh)
{
    return sh->block_size;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* Resolves the seed "host:port" (or "[v6]:port") into sh->seeds. */
static int seed_add(shoal *sh, const char *s, size_t len)
{
    char buf[300], *host = buf, *port;
    if (len == 0 || len >= sizeof(buf))
        return SHOAL_EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    port = strrchr(buf, ':');
    if (!port || port == buf)
        return SHOAL_EINVAL;
    *port++ = '\0';
    if (*host == '[' && port[-2] == ']') {
        host++;
        port[-2] = '\0';
    }
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return 0; /* a name that does not resolve now: the other seeds may */
    for (ai = res; ai && sh->nseeds < CL_SEEDS_MAX; ai = ai->ai_next) {
        struct ring_addr *a = &sh->seeds[sh->nseeds];
        memset(a, 0, sizeof(*a));
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)ai->ai_addr;
            a->family = 4;
            memcpy(a->ip, &s4->sin_addr, 4);
            a->port = ntohs(s4->sin_port);
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const void *)ai->ai_addr;
            a->family = 6;
            memcpy(a->ip, &s6->sin6_addr, 16);
            a->port = ntohs(s6->sin6_port);
        } else {
            continue;
        }
        sh->nseeds++;
    }
    freeaddrinfo(res);
    return 0;
}

/* Asks the node at TO for its view (any request with epoch 0 brings it):
 * 0 once the client has one. */
static int view_from(shoal *sh, const struct ring_addr *to)
{
    struct cl_conn *c;
    struct wire_msg m;
    uint8_t none[RING_ID_LEN] = {0};
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HOLDS;
    m.u.holds.ids = none;
    m.u.holds.n = 1;
    err = cl_send(sh, c, &m);
    uint32_t rid = m.rid;
    if (!err)
        err = cl_recv(sh, c, rid, &m);
    if (!err) {
        err = m.type == WIRE_HELD ? 0 : SHOAL_EPROTO;
        wire_msg_clear(&m);
    }
    if (err) {
        cl_conn_close(c);
        return err;
    }
    cl_conn_put(sh, c);
    struct cl_view *v = cl_view_get(sh);
    err = v ? 0 : SHOAL_EPROTO;
    cl_view_put(v);
    return err;
}

SHOAL_API int shoal_open(const shoal_opts *o, shoal **out)
{
    uint8_t raw[CL_KEYS_MAX][WIRE_KEY_LEN];
    char why[256];
    int err = SHOAL_ENOSEEDS;
    if (!o || !out)
        return SHOAL_EINVAL;
    const char *seeds = o->seeds ? o->seeds : getenv("SHOAL_SEEDS");
    if (!seeds || !*seeds)
        return SHOAL_EINVAL;
    shoal *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return SHOAL_ENOMEM;
    pthread_mutex_init(&sh->mu, NULL);
    snprintf(sh->cluster, sizeof(sh->cluster), "%s", o->cluster ? o->cluster : "shoal");
    sh->block_size = o->block_size ? o->block_size : CL_DEFAULT_BLOCK;
    sh->replication = o->replication ? o->replication : 2;
    sh->timeout_ms = o->timeout_ms ? o->timeout_ms : CL_DEFAULT_TIMEOUT_MS;
    if (sh->replication > RING_REPLICAS_MAX || sh->block_size > WIRE_BLOCK_MAX) {
        err = SHOAL_EINVAL;
        goto fail;
    }
    if (o->key_file) {
        if (wire_keys_load(o->key_file, raw, CL_KEYS_MAX, &sh->nkeys, why, sizeof(why)) != 0) {
            err = SHOAL_EKEYFILE;
            goto fail;
        }
    } else {
        wire_insecure_key(sh->cluster, raw[0]);
        sh->nkeys = 1;
    }
    for (size_t i = 0; i < sh->nkeys; i++)
        wire_derive_key("shoal peer key/1", raw[i], sh->keys[i]);
    OPENSSL_cleanse(raw, sizeof(raw));
    for (const char *p = seeds; *p;) {
        size_t n = strcspn(p, ", ");
        if (n && seed_add(sh, p, n) != 0) {
            err = SHOAL_EINVAL;
            goto fail;
        }
        p += n;
        p += strspn(p, ", ");
    }
    for (size_t i = 0; i < sh->nseeds; i++) {
        int e = view_from(sh, &sh->seeds[i]);
        if (e == 0) {
            *out = sh;
            return 0;
        }
        if (e == SHOAL_EAUTH || e == SHOAL_EPROTO || err == SHOAL_ENOSEEDS)
            err = e == SHOAL_EAUTH || e == SHOAL_EPROTO ? e : SHOAL_ENOSEEDS;
    }
fail:
    shoal_close(sh);
    return err;
}

SHOAL_API void shoal_close(shoal *sh)
{
    if (!sh)
        return;
    while (sh->idle) {
        struct cl_conn *c = sh->idle;
        sh->idle = c->next;
        cl_conn_close(c);
    }
    cl_view_put(sh->view);
    OPENSSL_cleanse(sh->keys, sizeof(sh->keys));
    pthread_mutex_destroy(&sh->mu);
    free(sh);
}

/* ---- one request to the owners in turn ------------------------------------------------------ */

/* The owners of ID in the view (at most the replication), their addresses
 * into TO: how many. */
static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- slow nodes and hedging --------------------------------------------------------------- */

/* The node at A stalled (no frame within the hedge delay, or the timeout):
 * it is asked last for CL_SLOW_MS; with OK, it answered: forgotten. */
static void note_node(shoal *sh, const struct ring_addr *a, int ok)
{
    uint64_t now = now_us() / 1000;
    size_t free_i = CL_SLOW_MAX;
    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < CL_SLOW_MAX; i++) {
        if (sh->slow[i].until > now && ring_addr_eq(&sh->slow[i].addr, a)) {
            sh->slow[i].until = ok ? 0 : now + CL_SLOW_MS;
            pthread_mutex_unlock(&sh->mu);
            return;
        }
        if (sh->slow[i].until <= now && free_i == CL_SLOW_MAX)
            free_i = i;
    }
    if (!ok && free_i < CL_SLOW_MAX) {
        sh->slow[free_i].addr = *a;
        sh->slow[free_i].until = now + CL_SLOW_MS;
    }
    pthread_mutex_unlock(&sh->mu);
}

static int is_slow(shoal *sh, const struct ring_addr *a, uint64_t now)
{
    for (size_t i = 0; i < CL_SLOW_MAX; i++)
        if (sh->slow[i].until > now && ring_addr_eq(&sh->slow[i].addr, a))
            return 1;
    return 0;
}

/* A node's first frame came US after the request went. */
static void note_latency(shoal *sh, uint64_t us)
{
    pthread_mutex_lock(&sh->mu);
    double x = (double)us;
    if (sh->nsamples++ == 0) {
        sh->srtt_us = x;
        sh->rttvar_us = x / 2;
    } else {
        double d = x > sh->srtt_us ? x - sh->srtt_us : sh->srtt_us - x;
        sh->rttvar_us = 0.75 * sh->rttvar_us + 0.25 * d;
        sh->srtt_us = 0.875 * sh->srtt_us + 0.125 * x;
    }
    pthread_mutex_unlock(&sh->mu);
}

/* How long to wait for a first frame before asking another owner (ms). */
static int hedge_ms(shoal *sh)
{
    pthread_mutex_lock(&sh->mu);
    double us = sh->nsamples < 8 ? CL_HEDGE_START_US : sh->srtt_us + 4 * sh->rttvar_us;
    pthread_mutex_unlock(&sh->mu);
    if (us < CL_HEDGE_MIN_US)
        us = CL_HEDGE_MIN_US;
    if (us > sh->timeout_ms * 1000.0 / 2)
        us = sh->timeout_ms * 1000.0 / 2;
    return (int)((us + 999) / 1000);
}

/* The owners of ID in the view (at most the replication), their addresses
 * into TO, in ring order but for the nodes that stalled recently, last:
 * how many. */
size_t cl_owners_of(shoal *sh, const uint8_t id[RING_ID_LEN], struct ring_addr *to)
{
    struct cl_view *v = cl_view_get(sh);
    uint32_t own[RING_REPLICAS_MAX];
    struct ring_addr later[RING_REPLICAS_MAX];
    size_t n = v ? ring_owners(v->ring, id, sh->replication, own) : 0, k = 0, nl = 0;
    uint64_t now = now_us() / 1000;
    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < n; i++) {
        if (is_slow(sh, &v->addr[own[i]], now))
            later[nl++] = v->addr[own[i]];
        else
            to[k++] = v->addr[own[i]];
    }
    pthread_mutex_unlock(&sh->mu);
    memcpy(to + k, later, nl * sizeof(*later));
    cl_view_put(v);
    return n;
}

/* M as a request of TYPE about KEY in BUCKET. */
static void obj_req(struct wire_msg *m, enum wire_type type, const char *bucket, const char *key)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    snprintf(m->u.obj.bucket, sizeof(m->u.obj.bucket), "%s", bucket);
    snprintf(m->u.obj.key, sizeof(m->u.obj.key), "%s", key);
}

static int stat_from(shoal *sh, const struct ring_addr *to, const char *bucket, const char *key,
                     shoal_object *st)
{
    struct cl_conn *c;
    struct wire_msg m;
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    obj_req(&m, WIRE_META_GET, bucket, key);
    err = cl_send(sh, c, &m);
    if (!err)
        err = cl_recv(sh, c, m.rid, &m);
    return cl_meta_answer(sh, c, err, &m, st);
}

int cl_answer(shoal *sh, struct cl_conn *c, int err, struct wire_msg *m, enum wire_type want)
{
    if (err) {
        cl_conn_close(c);
        return err;
    }
    if (m->type != want) {
        err = m->type == WIRE_ERROR ? cl_err_of(m->u.error.code) : SHOAL_EPROTO;
        wire_msg_clear(m);
    }
    if (err == SHOAL_EPROTO)
        cl_conn_close(c);
    else
        cl_conn_put(sh, c);
    return err;
}

int cl_meta_answer(shoal *sh, struct cl_conn *c, int err, struct wire_msg *m, shoal_object *st)
{
    if ((err = cl_answer(sh, c, err, m, WIRE_META)) != 0)
        return err;
    memset(st, 0, sizeof(*st));
    st->size = m->meta.size;
    snprintf(st->etag, sizeof(st->etag), "%s", m->meta.etag);
    st->mtime = m->meta.mtime;
    snprintf(st->content_type, sizeof(st->content_type), "%s", m->meta.content_type);
    wire_msg_clear(m);
    return 0;
}

SHOAL_API int shoal_stat(shoal *sh, const char *bucket, const char *key, shoal_object *out)
{
    uint8_t id[RING_ID_LEN];
    struct ring_addr to[RING_REPLICAS_MAX];
    shoal_object st;
    int err = SHOAL_EUNAVAIL;
    if (!sh || !bucket || !key || !out || strlen(bucket) >= WIRE_BUCKET_MAX ||
        strlen(key) >= WIRE_KEY_MAX)
        return SHOAL_EINVAL;
    if (ring_block_id(bucket, key, "", 0, 0, id) != 0)
        return SHOAL_ENOMEM;
    size_t n = cl_owners_of(sh, id, to);
    for (size_t i = 0; i < n; i++) {
        err = stat_from(sh, &to[i], bucket, key, &st);
        if (err == 0) {
            *out = st;
            return 0;
        }
        if (err == SHOAL_ENOENT || err == SHOAL_EINVAL || err == SHOAL_EAUTH)
            return err;
    }
    return err;
}

/* One block's range of a read, asked of its first owner. */
struct cl_part {
    uint64_t idx;
    uint32_t off, len;
    uint8_t *dst;
    size_t conn; /* index into the read's connections */
    uint32_t rid;
    size_t got;
    int done, err; /* err: failed there (asked of its owners in turn after) */
};

/* One frame M for part P of a read: 0, or a code for the part (the
 * connection's frames stay in step); sets P->done at its end. */
static int part_frame(struct cl_part *p, const struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_BLOCK:
        return m->u.block.len == p->len && m->u.block.off == p->off ? 0 : SHOAL_EPROTO;
    case WIRE_DATA:
        if (m->u.data.len > p->len - p->got)
            return SHOAL_EPROTO;
        if (m->u.data.p != p->dst + p->got) /* else read there already (part_room) */
            memcpy(p->dst + p->got, m->u.data.p, m->u.data.len);
        p->got += m->u.data.len;
        return 0;
    case WIRE_END:
        p->done = 1;
        return p->got == p->len && wire_xxh3(p->dst, p->len) == m->u.end.sum ? 0 : SHOAL_EPROTO;
    case WIRE_ERROR:
        p->done = 1;
        return cl_err_of(m->u.error.code);
    default:
        return SHOAL_EPROTO;
    }
}

/* cl_room_fn for one part (ARG): where its next bytes go. */
static uint8_t *part_room(void *arg, uint32_t rid, size_t *space)
{
    struct cl_part *p = arg;
    if (rid != p->rid || p->done)
        return NULL;
    *space = p->len - p->got;
    return p->dst + p->got;
}

/* get_send: GET bytes [off, off + len) of block IDX of ST on C: 0 and
 * P ready to take the answer into DST, or a code. */
static int get_send(shoal *sh, struct cl_conn *c, const char *bucket, const char *key,
                    const shoal_object *st, uint64_t idx, uint32_t off, uint32_t len, uint8_t *dst,
                    struct cl_part *p)
{
    struct wire_msg m;
    obj_req(&m, WIRE_GET, bucket, key);
    snprintf(m.u.obj.etag, sizeof(m.u.obj.etag), "%s", st->etag);
    m.u.obj.size = st->size;
    m.u.obj.index = idx;
    m.u.obj.off = off;
    m.u.obj.len = len;
    *p = (struct cl_part){idx, off, len, dst, 0, 0, 0, 0, 0};
    int err = cl_send(sh, c, &m);
    p->rid = m.rid;
    return err;
}

/* get_finish: the answer to P on C, to its end: 0 once every byte came
 * and matched the node's checksum, or a code. C goes back to the pool
 * (or is closed when it is out of step). */
static int get_finish(shoal *sh, struct cl_conn *c, struct cl_part *p)
{
    struct wire_msg m;
    int err = 0;
    while (!p->done) {
        err = cl_recv_any(sh, c, &m, part_room, p);
        if (err)
            break;
        err = m.rid == p->rid ? part_frame(p, &m) : SHOAL_EPROTO;
        wire_msg_clear(&m);
        if (err == SHOAL_EPROTO)
            break;
    }
    if (p->done && err != SHOAL_EPROTO)
        cl_conn_put(sh, c);
    else
        cl_conn_close(c);
    return err;
}

/* Whether C has a frame to read within MS. */
static int ready(struct cl_conn *c, int ms)
{
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int r;
    while ((r = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

/* Bytes [off, off + len) of block IDX from the node at TO into DST. */
static int block_from(shoal *sh, const struct ring_addr *to, const char *bucket, const char *key,
                      const shoal_object *st, uint64_t idx, uint32_t off, uint32_t len,
                      uint8_t *dst)
{
    struct cl_conn *c;
    struct cl_part p;
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    uint64_t t0 = now_us();
    err = get_send(sh, c, bucket, key, st, idx, off, len, dst, &p);
    if (err) {
        cl_conn_close(c);
        return err;
    }
    if (ready(c, (int)sh->timeout_ms))
        note_latency(sh, now_us() - t0);
    err = get_finish(sh, c, &p);
    note_node(sh, to, err != SHOAL_ETIMEDOUT && err != SHOAL_EIO);
    return err;
}

/* block_hedged: the first owner asked; when it sends nothing within the
 * hedge delay, the second too, and the one that answers first is read
 * (the other's connection dropped). 0 or a code. */
static int block_hedged(shoal *sh, const struct ring_addr *to, const char *bucket, const char *key,
                        const shoal_object *st, uint64_t idx, uint32_t off, uint32_t len,
                        uint8_t *dst)
{
    struct cl_conn *c[2] = {NULL, NULL};
    struct cl_part p[2];
    uint64_t t0 = now_us();
    int err = cl_conn_get(sh, &to[0], &c[0]);
    if (!err)
        err = get_send(sh, c[0], bucket, key, st, idx, off, len, dst, &p[0]);
    if (err) {
        cl_conn_close(c[0]);
        note_node(sh, &to[0], 0);
        return block_from(sh, &to[1], bucket, key, st, idx, off, len, dst);
    }
    if (ready(c[0], hedge_ms(sh))) {
        note_latency(sh, now_us() - t0);
        err = get_finish(sh, c[0], &p[0]);
        note_node(sh, &to[0], err != SHOAL_ETIMEDOUT && err != SHOAL_EIO);
        return err;
    }
    /* no frame in time: ask the second owner as well; the first to answer wins */
    if (cl_conn_get(sh, &to[1], &c[1]) != 0 ||
        get_send(sh, c[1], bucket, key, st, idx, off, len, dst, &p[1]) != 0) {
        cl_conn_close(c[1]);
        c[1] = NULL;
    }
    struct pollfd pfd[2] = {{c[0]->fd, POLLIN, 0}, {c[1] ? c[1]->fd : -1, POLLIN, 0}};
    int r;
    while ((r = poll(pfd, c[1] ? 2 : 1, (int)sh->timeout_ms)) < 0 && errno == EINTR)
        ;
    int w = r <= 0 ? -1 : (pfd[0].revents ? 0 : 1);
    if (w < 0) { /* neither said anything */
        note_node(sh, &to[0], 0);
        if (c[1])
            note_node(sh, &to[1], 0);
        cl_conn_close(c[0]);
        cl_conn_close(c[1]);
        return SHOAL_ETIMEDOUT;
    }
    if (w == 1)
        note_node(sh, &to[0], 0); /* the first stalled */
    cl_conn_close(c[1 - w]);      /* its answer is not wanted now */
    err = get_finish(sh, c[w], &p[w]);
    note_node(sh, &to[w], err != SHOAL_ETIMEDOUT && err != SHOAL_EIO);
    return err;
}

static int fatal(int err)
{
    return err == 0 || err == SHOAL_ENOENT || err == SHOAL_ECHANGED || err == SHOAL_EINVAL;
}

/* Bytes [off, off + len) of block IDX, from its owners: hedged between the
 * first two, then the others in turn. */
static int block_read(shoal *sh, const char *bucket, const char *key, const shoal_object *st,
                      uint64_t idx, uint32_t off, uint32_t len, uint8_t *dst)
{
    uint8_t id[RING_ID_LEN];
    struct ring_addr to[RING_REPLICAS_MAX];
    int err = SHOAL_EUNAVAIL;
    size_t i = 0;
    if (ring_block_id(bucket, key, st->etag, sh->block_size, idx, id) != 0)
        return SHOAL_ENOMEM;
    size_t n = cl_owners_of(sh, id, to);
    if (n >= 2) {
        err = block_hedged(sh, to, bucket, key, st, idx, off, len, dst);
        if (fatal(err))
            return err;
        i = 2;
    }
    for (; i < n; i++) {
        err = block_from(sh, &to[i], bucket, key, st, idx, off, len, dst);
        if (fatal(err))
            return err;
    }
    return err;
}

/* ---- several blocks at once ------------------------------------------------------------------ */

/* The parts of a read on one of its connections, for parts_room. */
struct parts_of {
    struct cl_part *parts;
    size_t n, conn;
};

static uint8_t *parts_room(void *arg, uint32_t rid, size_t *space)
{
    struct parts_of *po = arg;
    for (size_t i = 0; i < po->n; i++)
        if (po->parts[i].conn == po->conn && !po->parts[i].err)
            if (po->parts[i].rid == rid)
                return part_room(&po->parts[i], rid, space);
    return NULL;
}

/* parts_read: PARTS[0..n) at once: each GET sent to its block's first
 * owner (one connection a node, requests pipelined), the answers taken as
 * they come from whichever node sends; a part that fails there is read
 * from its owners in turn after. 0 or the first error that ends the read. */
static int parts_read(shoal *sh, const char *bucket, const char *key, const shoal_object *st,
                      struct cl_part *parts, size_t n)
{
    struct ring_addr addr[CL_PAR_BLOCKS];
    struct cl_conn *conns[CL_PAR_BLOCKS] = {0};
    size_t nconns = 0, open = 0;
    int err = 0;
    for (size_t i = 0; i < n; i++) {
        struct cl_part *p = &parts[i];
        uint8_t id[RING_ID_LEN];
        struct ring_addr to[RING_REPLICAS_MAX];
        if (ring_block_id(bucket, key, st->etag, sh->block_size, p->idx, id) != 0 ||
            cl_owners_of(sh, id, to) == 0) {
            p->err = SHOAL_EUNAVAIL;
            continue;
        }
        size_t k = 0;
        while (k < nconns && !ring_addr_eq(&addr[k], &to[0]))
            k++;
        if (k == nconns) {
            addr[nconns] = to[0];
            if (cl_conn_get(sh, &to[0], &conns[nconns]) != 0)
                conns[nconns] = NULL;
            nconns++;
        }
        p->conn = k;
        struct wire_msg m;
        obj_req(&m, WIRE_GET, bucket, key);
        snprintf(m.u.obj.etag, sizeof(m.u.obj.etag), "%s", st->etag);
        m.u.obj.size = st->size;
        m.u.obj.index = p->idx;
        m.u.obj.off = p->off;
        m.u.obj.len = p->len;
        if (!conns[k] || cl_send(sh, conns[k], &m) != 0) {
            p->err = SHOAL_EUNAVAIL;
            continue;
        }
        p->rid = m.rid;
        open++;
    }
    /* the answers, from whichever node has one; a node that sends nothing
     * within the hedge delay is left, its parts read from their owners in
     * turn (the stalled node last) */
    int first_wait = hedge_ms(sh), heard[CL_PAR_BLOCKS] = {0};
    while (open) {
        struct pollfd pfd[CL_PAR_BLOCKS];
        size_t which[CL_PAR_BLOCKS], np = 0;
        for (size_t k = 0; k < nconns; k++)
            if (conns[k]) {
                pfd[np].fd = conns[k]->fd;
                pfd[np].events = POLLIN;
                which[np++] = k;
            }
        int wait = (int)sh->timeout_ms;
        for (size_t j = 0; j < np; j++)
            if (!heard[which[j]])
                wait = first_wait;
        int r = np ? poll(pfd, (nfds_t)np, wait) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        for (size_t j = 0; j < np; j++) {
            size_t k = which[j];
            if (r > 0 && !(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (r == 0 && heard[k] && wait != (int)sh->timeout_ms)
                continue; /* only the ones not heard from are given up at the hedge delay */
            if (r == 0)
                note_node(sh, &addr[k], 0);
            heard[k] = 1;
            struct wire_msg m;
            struct parts_of po = {parts, n, k};
            int e = r > 0 ? cl_recv_any(sh, conns[k], &m, parts_room, &po) : SHOAL_ETIMEDOUT;
            struct cl_part *p = NULL;
            for (size_t i = 0; !e && i < n && !p; i++)
                if (parts[i].conn == k && !parts[i].done && !parts[i].err && parts[i].rid == m.rid)
                    p = &parts[i];
            if (!e) {
                e = p ? part_frame(p, &m) : SHOAL_EPROTO;
                wire_msg_clear(&m);
                if (p && p->done) {
                    open--;
                    if (e == SHOAL_ENOENT || e == SHOAL_ECHANGED || e == SHOAL_EINVAL)
                        err = err ? err : e;
                    else if (e)
                        p->err = e;
                    e = e == SHOAL_EPROTO ? e : 0;
                }
            }
            if (e) { /* the connection is out of step, or gone: its parts go elsewhere */
                for (size_t i = 0; i < n; i++)
                    if (parts[i].conn == k && !parts[i].done && !parts[i].err) {
                        parts[i].err = e;
                        open--;
                    }
                cl_conn_close(conns[k]);
                conns[k] = NULL;
            }
        }
    }
    for (size_t k = 0; k < nconns; k++)
        if (conns[k])
            cl_conn_put(sh, conns[k]);
    for (size_t i = 0; !err && i < n; i++)
        if (parts[i].err)
            err = block_read(sh, bucket, key, st, parts[i].idx, parts[i].off, parts[i].len,
                             parts[i].dst);
    return err;
}

SHOAL_API int shoal_pread(shoal *sh, const char *bucket, const char *key, const shoal_object *st,
                          void *buf, size_t len, uint64_t off, size_t *nread)
{
    shoal_object mine;
    int err;
    if (!sh || !bucket || !key || (!buf && len) || !nread || strlen(bucket) >= WIRE_BUCKET_MAX ||
        strlen(key) >= WIRE_KEY_MAX)
        return SHOAL_EINVAL;
    if (!st) {
        err = shoal_stat(sh, bucket, key, &mine);
        if (err)
            return err;
        st = &mine;
    }
    if (off >= st->size || len == 0) {
        *nread = 0;
        return 0;
    }
    uint64_t end = st->size - off < len ? st->size : off + len, bs = sh->block_size;
    uint8_t *p = buf;
    if (off / bs == (end - 1) / bs) { /* one block: one request */
        err = block_read(sh, bucket, key, st, off / bs, (uint32_t)(off % bs), (uint32_t)(end - off),
                         p);
        if (err)
            return err;
        *nread = (size_t)(end - off);
        return 0;
    }
    for (uint64_t pos = off; pos < end;) { /* CL_PAR_BLOCKS blocks at a time */
        struct cl_part parts[CL_PAR_BLOCKS];
        size_t n = 0;
        memset(parts, 0, sizeof(parts));
        for (; pos < end && n < CL_PAR_BLOCKS; n++) {
            uint64_t idx = pos / bs, bend = (idx + 1) * bs < end ? (idx + 1) * bs : end;
            parts[n].idx = idx;
            parts[n].off = (uint32_t)(pos - idx * bs);
            parts[n].len = (uint32_t)(bend - pos);
            parts[n].dst = p + (pos - off);
            pos = bend;
        }
        err = parts_read(sh, bucket, key, st, parts, n);
        if (err)
            return err;
    }
    *nread = (size_t)(end - off);
    return 0;
}
