/* daemon/cluster/cluster.c: the gossip transport's core: the membership
 * machine (ring/swim.h) on the main loop, its datagrams (encoded by
 * ring/swim_wire.h, sealed by seal.h, on a UDP socket bound to listen.peer),
 * its timer, and the ring rebuilt whenever the member set changes.
 *
 * Datagrams in: at most 64 per wakeup (the loop stays fair); each is opened
 * (dropped and counted by reason: short, version, key, auth, stale, replay),
 * decoded (decode), and handed to the machine. Nothing a datagram holds can
 * make this code allocate: the buffer is fixed, the decoder checks every
 * length against it. */
#include "daemon/cluster/cluster_int.h"
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/xalloc.h"
#include "ring/swim_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DGRAMS_PER_WAKEUP 64

uint64_t cluster_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t cluster_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- addresses ------------------------------------------------------------------------ */

int cluster_sockaddr(const struct ring_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        *len = sizeof(*s4);
        return 0;
    }
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->ip, 16);
        *len = sizeof(*s6);
        return 0;
    }
    return -1;
}

void cluster_ring_addr(const struct sockaddr *sa, struct ring_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        out->family = 4;
        memcpy(out->ip, &s4->sin_addr, 4);
        out->port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            out->family = 4;
            memcpy(out->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->ip, &s6->sin6_addr, 16);
        }
        out->port = ntohs(s6->sin6_port);
    }
}

int cluster_addr_loopback(const struct ring_addr *a)
{
    static const uint8_t v6_lo[16] = {[15] = 1};
    return (a->family == 4 && a->ip[0] == 127) || (a->family == 6 && memcmp(a->ip, v6_lo, 16) == 0);
}

/* ---- the ring ------------------------------------------------------------------------- */

static void view_free(struct cluster_view *v)
{
    if (!v)
        return;
    ring_free(v->ring);
    free(v->peer);
    free(v->members);
    free(v);
}

/* view_build: the ring over SW's members, each placed member's peer address
 * beside it, and every member as VIEW sends it; NULL when the ring cannot be
 * built (logged). */
static struct cluster_view *view_build(struct cluster *c)
{
    size_t n = ring_swim_count(c->sw);
    struct ring_member *ms = shd_xcalloc(n ? n : 1, sizeof(*ms));
    struct cluster_view *v = shd_xcalloc(1, sizeof(*v));
    n = ring_swim_members(c->sw, ms, n);
    int err = ring_build(ms, n, &v->ring);
    free(ms);
    if (err) {
        shd_error("cluster", "cannot build the ring err=\"%s\"", ring_strerror(err));
        free(v);
        return NULL;
    }
    v->epoch = ring_epoch(v->ring);
    v->self = -1;
    size_t placed = ring_size(v->ring);
    v->peer = shd_xcalloc(placed ? placed : 1, sizeof(*v->peer));
    for (size_t i = 0; i < placed; i++) {
        const struct ring_member *rm = ring_member_at(v->ring, i);
        const struct ring_swim_member *m = ring_swim_find(c->sw, rm->id);
        if (m)
            v->peer[i] = m->info->addr;
        if (memcmp(rm->id, c->self.id, RING_ID_LEN) == 0)
            v->self = (int)i;
    }
    n = ring_swim_count(c->sw);
    v->members = shd_xcalloc(n ? n : 1, sizeof(*v->members));
    for (size_t i = 0; i < n && v->nmembers < CLUSTER_VIEW_MEMBERS_MAX; i++) {
        const struct ring_swim_member *m = ring_swim_member_at(c->sw, i);
        struct wire_member *w = &v->members[v->nmembers];
        if (m->state == RING_LEFT)
            continue;
        memcpy(w->id, m->info->id, RING_ID_LEN);
        w->addr = m->info->addr;
        w->weight = m->info->weight;
        snprintf(w->zone, sizeof(w->zone), "%s", m->info->zone);
        snprintf(w->name, sizeof(w->name), "%s", m->info->name);
        w->state = (uint8_t)m->state;
        w->s3_port = m->info->s3_port;
        w->admin_port = m->info->admin_port;
        v->nmembers++;
    }
    return v;
}

static void ring_refresh(struct cluster *c)
{
    uint64_t v = ring_swim_version(c->sw), now = cluster_now_ms();
    struct cluster_view *nv;

    /* free views replaced long enough ago */
    for (size_t i = 0; i < CLUSTER_RETIRED_MAX; i++)
        if (c->retired[i] && now - c->retired_at[i] >= CLUSTER_RETIRE_MS) {
            view_free(c->retired[i]);
            c->retired[i] = NULL;
        }
    if (v == c->ring_version && atomic_load(&c->view))
        return;
    nv = view_build(c);
    if (!nv)
        return;
    const struct cluster_view *cur = atomic_load(&c->view);
    nv->changed_ms = cur && cur->epoch == nv->epoch ? cur->changed_ms : now;
    struct cluster_view *old = (struct cluster_view *)atomic_exchange(&c->view, nv);
    c->ring_version = v;
    c->st.ring_rebuilds++;
    if (!old || old->epoch != nv->epoch)
        shd_info("cluster", "ring epoch=%016llx members=%zu", (unsigned long long)nv->epoch,
                 ring_size(nv->ring));
    if (!old)
        return;
    size_t slot = 0;
    for (size_t i = 0; i < CLUSTER_RETIRED_MAX; i++) {
        if (!c->retired[i]) {
            slot = i;
            break;
        }
        if (c->retired_at[i] < c->retired_at[slot])
            slot = i;
    }
    if (c->retired[slot]) /* more than 16 changes a minute: the oldest goes early */
        view_free(c->retired[slot]);
    c->retired[slot] = old;
    c->retired_at[slot] = now;
}

const struct cluster_view *cluster_view(const struct cluster *c)
{
    return atomic_load(&((struct cluster *)c)->view);
}

const struct ring *cluster_ring(const struct cluster *c)
{
    const struct cluster_view *v = cluster_view(c);
    return v ? v->ring : NULL;
}

/* ---- the timer ------------------------------------------------------------------------ */

void cluster_after(struct cluster *c)
{
    uint64_t now = cluster_now_ms(), next = ring_swim_next(c->sw);
    uint64_t wait = next > now ? next - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};

    event_add(c->timer, &tv);
    ring_refresh(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *c = arg;
    (void)fd;
    (void)what;
    ring_swim_tick(c->sw, cluster_now_ms());
    cluster_after(c);
}

/* ---- datagrams ------------------------------------------------------------------------ */

static void on_send(void *arg, const struct ring_addr *to, const struct ring_swim_msg *m)
{
    struct cluster *c = arg;
    uint8_t plain[RING_SWIM_PACKET_MAX], sealed[RING_SWIM_PACKET_MAX];
    struct sockaddr_storage ss;
    socklen_t sl;
    size_t len, n;

    if (cluster_sockaddr(to, &ss, &sl) != 0 ||
        ring_swim_wire_encode(m, plain, RING_SWIM_PACKET_MAX - RING_SWIM_SEAL_OVERHEAD, &len) !=
            RING_OK) {
        c->st.send_errors++;
        return;
    }
    n = cluster_seal(c->seal, CLUSTER_SEAL_DGRAM, cluster_wall_us(), plain, len, sealed,
                     sizeof(sealed));
    if (!n || sendto(c->udp, sealed, n, 0, (struct sockaddr *)&ss, sl) < 0) {
        c->st.send_errors++; /* a lost datagram: SWIM is built for those */
        return;
    }
    c->st.dgrams_out++;
    c->st.dgram_bytes_out += n;
}

static void on_pushpull(void *arg, const struct ring_addr *to)
{
    cluster_pushpull(arg, to, 0, NULL);
}

static void on_changed(void *arg, const struct ring_swim_member *m, int old, int forgotten)
{
    struct cluster *c = arg;
    char addr[64], id[2 * RING_ID_LEN + 1];

    (void)c;
    ring_addr_format(&m->info->addr, addr, sizeof(addr));
    ring_id_hex(m->info->id, id);
    if (forgotten)
        shd_info("cluster", "member forgotten name=%s id=%s", m->info->name, id);
    else
        shd_info("cluster", "member name=%s id=%s addr=%s zone=%s state=%s was=%s inc=%llu",
                 m->info->name, id, addr, m->info->zone, ring_state_name(m->state),
                 old < 0 ? "new" : ring_state_name((enum ring_state)old),
                 (unsigned long long)m->incarnation);
}

static void on_conflict(void *arg, const struct ring_swim_info *mine,
                        const struct ring_swim_info *who)
{
    char a[64], b[64], ia[2 * RING_ID_LEN + 1], ib[2 * RING_ID_LEN + 1];

    (void)arg;
    ring_addr_format(&mine->addr, a, sizeof(a));
    ring_addr_format(&who->addr, b, sizeof(b));
    ring_id_hex(mine->id, ia);
    ring_id_hex(who->id, ib);
    shd_error("cluster",
              "conflict: two nodes claim one name or id name=%s id=%s addr=%s claimant_name=%s "
              "claimant_id=%s claimant_addr=%s what=\"node names must be unique, and each "
              "node needs its own data_dir (its id lives there); the newcomer is refused\"",
              mine->name, ia, a, who->name, ib, b);
}

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *c = arg;
    uint8_t buf[RING_SWIM_PACKET_MAX + 1], plain[RING_SWIM_PACKET_MAX];
    struct ring_swim_msg m;

    (void)what;
    for (int i = 0; i < DGRAMS_PER_WAKEUP; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct ring_addr from;
        size_t plen = 0;
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
        enum cluster_drop d;

        if (n < 0)
            break; /* EAGAIN, or an ICMP error of an earlier send: nothing to do */
        c->st.dgrams_in++;
        c->st.dgram_bytes_in += (uint64_t)n;
        if ((size_t)n > RING_SWIM_PACKET_MAX) {
            c->st.drops[CLUSTER_DROP_TOOBIG]++;
            continue;
        }
        d = cluster_seal_open(c->seal, CLUSTER_SEAL_DGRAM, cluster_wall_us(), buf, (size_t)n, plain,
                              sizeof(plain), &plen);
        if (d == CLUSTER_DROP_NONE && ring_swim_wire_decode(plain, plen, &m) != RING_OK)
            d = CLUSTER_DROP_DECODE;
        if (d != CLUSTER_DROP_NONE) {
            c->st.drops[d]++;
            continue;
        }
        cluster_ring_addr((struct sockaddr *)&ss, &from);
        ring_swim_recv(c->sw, cluster_now_ms(), &from, &m);
    }
    cluster_after(c);
}

/* ---- start and stop ------------------------------------------------------------------- */

/* Binds listen.peer for UDP and TCP (the TCP one listening). */
static int bind_peer(struct cluster *c, evutil_socket_t *udp, evutil_socket_t *tcp)
{
    const struct shd_addr *a = &c->cfg->listen.peer;
    struct evutil_addrinfo hints, *ai = NULL;
    char ps[8];
    int one = 1;
    uint16_t port = a->port;

    *udp = *tcp = -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICHOST;
    /* port 0: the kernel picks the UDP port, then TCP takes the same one */
    for (int tries = 0; tries < 16; tries++) {
        snprintf(ps, sizeof(ps), "%u", port);
        hints.ai_socktype = SOCK_DGRAM;
        if (evutil_getaddrinfo(a->host && *a->host ? a->host : "0.0.0.0", ps, &hints, &ai) != 0 ||
            !ai)
            return SHD_ERR_IO;
        *udp = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (*udp < 0 || bind(*udp, ai->ai_addr, (socklen_t)ai->ai_addrlen) != 0)
            goto fail;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(*udp, (struct sockaddr *)&ss, &sl);
        *tcp = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (*tcp < 0 || setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
            bind(*tcp, (struct sockaddr *)&ss, sl) != 0 || listen(*tcp, 128) != 0) {
            if (a->port == 0 && errno == EADDRINUSE) { /* that port is taken for TCP: again */
                close(*tcp);
                close(*udp);
                *tcp = *udp = -1;
                evutil_freeaddrinfo(ai);
                ai = NULL;
                continue;
            }
            goto fail;
        }
        evutil_freeaddrinfo(ai);
        return SHD_OK;
    }
fail:;
    int e = errno;
    if (ai)
        evutil_freeaddrinfo(ai);
    if (*udp >= 0)
        close(*udp);
    if (*tcp >= 0)
        close(*tcp);
    *udp = *tcp = -1;
    shd_error("cluster",
              "cannot listen addr=%s:%u err=\"%s\" what=\"free the port or change listen.peer\"",
              a->host && *a->host ? a->host : "0.0.0.0", a->port, strerror(e));
    return SHD_ERR_IO;
}

static int load_seal(struct cluster *c)
{
    const struct shd_config *cfg = c->cfg;
    uint8_t keys[CLUSTER_KEYS_MAX][CLUSTER_KEY_LEN];
    size_t n = 0;
    char why[256];

    if (cfg->cluster.secret_file) {
        if (cluster_keys_load(cfg->cluster.secret_file, keys, &n, why, sizeof(why)) != 0) {
            shd_error("cluster", "cannot load the cluster key file=%s err=\"%s\"",
                      cfg->cluster.secret_file, why);
            return SHD_ERR_CONFIG;
        }
    } else {
        c->insecure_ok = cfg->cluster.insecure;
    }
    c->seal = cluster_seal_new(cfg->cluster.name, keys, n);
    memset(keys, 0, sizeof(keys));
    if (!c->seal) {
        shd_error("cluster", "cannot set up AES-256-GCM (OpenSSL)");
        return SHD_ERR_IO;
    }
    return SHD_OK;
}

static void swim_conf(const struct shd_config *cfg, struct ring_swim_conf *sc)
{
    ring_swim_conf_default(sc);
    sc->probe_interval_ms = (uint32_t)cfg->cluster.gossip.probe_interval_ms;
    sc->probe_timeout_ms = (uint32_t)cfg->cluster.gossip.probe_timeout_ms;
    sc->indirect_probes = cfg->cluster.gossip.indirect_probes;
    sc->suspicion_mult = cfg->cluster.gossip.suspicion_mult;
    sc->gossip_interval_ms = (uint32_t)cfg->cluster.gossip.interval_ms;
    sc->gossip_fanout = cfg->cluster.gossip.fanout;
    sc->pushpull_interval_ms = (uint32_t)cfg->cluster.gossip.pushpull_interval_ms;
}

int cluster_start(struct event_base *base, const struct shd_config *cfg, const uint8_t id[16],
                  uint16_t s3_port, uint16_t admin_port, struct cluster **out)
{
    struct cluster *c = shd_xcalloc(1, sizeof(*c));
    static const struct ring_swim_cbs cbs = {on_send, on_pushpull, on_changed, on_conflict};
    struct ring_swim_conf sc;
    evutil_socket_t tcp = -1;
    uint64_t seed;
    int err;

    c->base = base;
    c->cfg = cfg;
    c->udp = -1;
    err = load_seal(c);
    if (!err)
        err = bind_peer(c, &c->udp, &tcp);
    if (err)
        goto fail;
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct ring_addr bound;
        getsockname(c->udp, (struct sockaddr *)&ss, &sl);
        cluster_ring_addr((struct sockaddr *)&ss, &bound);
        ring_addr_format(&bound, c->peer_addr, sizeof(c->peer_addr));
    }
    memcpy(c->self.id, id, RING_ID_LEN);
    snprintf(c->self.name, sizeof(c->self.name), "%s", cfg->node.name);
    snprintf(c->self.zone, sizeof(c->self.zone), "%s", cfg->node.zone ? cfg->node.zone : "");
    c->self.weight = cfg->node.weight;
    c->self.s3_port = s3_port;
    c->self.admin_port = admin_port;
    err = cluster_advertise(c, c->udp, &c->self.addr);
    if (err)
        goto fail;
    if (!cfg->cluster.secret_file && !c->insecure_ok && !cluster_addr_loopback(&c->self.addr)) {
        char a[64];
        ring_addr_format(&c->self.addr, a, sizeof(a));
        shd_error("cluster",
                  "refusing to gossip unauthenticated on a network addr=%s what=\"set "
                  "cluster.secret_file (make a key with `shoal keygen`), or cluster.insecure: "
                  "true on a network you trust\"",
                  a);
        err = SHD_ERR_CONFIG;
        goto fail;
    }
    swim_conf(cfg, &sc);
    if (RAND_bytes((uint8_t *)&seed, sizeof(seed)) != 1)
        seed = cluster_wall_us() ^ (uint64_t)getpid();
    /* the wall clock in ms: higher than any incarnation an earlier run of
     * this node (same id, same data_dir) used, without a file to keep */
    if (ring_swim_new(&sc, &c->self, cluster_wall_us() / 1000, seed, &cbs, c, cluster_now_ms(),
                      &c->sw) != RING_OK) {
        shd_error("cluster", "bad gossip parameters or node identity");
        err = SHD_ERR_CONFIG;
        goto fail;
    }
    c->timer = evtimer_new(base, timer_cb, c);
    c->udp_ev = event_new(base, c->udp, EV_READ | EV_PERSIST, udp_cb, c);
    if (!c->timer || !c->udp_ev || event_add(c->udp_ev, NULL) != 0 ||
        cluster_stream_listen(c, tcp) != 0) {
        err = SHD_ERR_IO;
        goto fail;
    }
    tcp = -1; /* the listener owns it */
    err = cluster_join_start(c);
    if (err)
        goto fail;
    cluster_after(c);
    char a[64];
    ring_addr_format(&c->self.addr, a, sizeof(a));
    shd_info("cluster", "gossip listening=%s advertise=%s cluster=%s seeds=%zu auth=%s",
             c->peer_addr, a, cfg->cluster.name, cfg->cluster.n_seeds,
             cfg->cluster.secret_file ? "key-file" : "none (loopback or cluster.insecure)");
    *out = c;
    return SHD_OK;
fail:
    if (tcp >= 0)
        close(tcp);
    cluster_free(c);
    return err;
}

void cluster_free(struct cluster *c)
{
    if (!c)
        return;
    cluster_join_stop(c);
    cluster_streams_free(c);
    cluster_sniffs_free(c);
    if (c->lis)
        evconnlistener_free(c->lis);
    if (c->udp_ev)
        event_free(c->udp_ev);
    if (c->timer)
        event_free(c->timer);
    if (c->leave_ev)
        event_free(c->leave_ev);
    if (c->udp >= 0)
        close(c->udp);
    ring_swim_free(c->sw);
    cluster_seal_free(c->seal);
    view_free((struct cluster_view *)atomic_load(&c->view));
    for (size_t i = 0; i < CLUSTER_RETIRED_MAX; i++)
        view_free(c->retired[i]);
    free(c);
}

size_t cluster_keys(const struct cluster *c, uint8_t keys[][32])
{
    return cluster_seal_keys(c->seal, keys);
}

void cluster_on_peer_conn(struct cluster *c, void (*fn)(void *arg, evutil_socket_t fd), void *arg)
{
    c->peer_conn = fn;
    c->peer_conn_arg = arg;
}

const char *cluster_peer_addr(const struct cluster *c)
{
    return c->peer_addr;
}
