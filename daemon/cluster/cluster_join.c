/* daemon/cluster/cluster_join.c: how a node gets into the cluster and out
 * of it: the address it advertises, joining through cluster.seeds, and the
 * goodbye.
 *
 * Joining: every seed is resolved (DNS names through libevent's
 * asynchronous resolver, never blocking the loop; a name with several
 * addresses, as a Kubernetes headless service has, gives several seeds),
 * and a push-pull is started with each address that is not this node's.
 * The first that completes with a member other than this node joins it.
 * When none does, the node tries again after 1 s, 2 s, 4 s ... up to 30 s
 * (each +-25%), forever: nodes may start in any order. Once in, it checks
 * every 10 s and joins again through the seeds if it finds itself alone
 * (everyone else dead: a partition, or the cluster restarted).
 *
 * The advertised address (what other members probe): cluster.advertise
 * when set; else listen.peer's host when it is not a wildcard; else the
 * local address of the route to the first seed that is an IP address; else
 * the first non-loopback IPv4 address of an interface that is up; else
 * 127.0.0.1. The port is listen.peer's bound port unless
 * cluster.advertise names one. */
#include "daemon/cluster/cluster_int.h"
#include "daemon/err.h"
#include "daemon/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOIN_BACKOFF_MIN_MS 1000
#define JOIN_BACKOFF_MAX_MS 30000
#define JOIN_CHECK_MS 10000
#define JOIN_PARALLEL 8 /* seeds tried at once */

/* ---- the advertised address ------------------------------------------------------------ */

static int wildcard(const char *host)
{
    return !host || !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static int numeric(const char *host, uint16_t port, struct ring_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, out->ip) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, host, out->ip) == 1)
        out->family = 6;
    else
        return -1;
    out->port = port;
    return 0;
}

/* the local address the kernel would use toward TO (no packet is sent) */
static int route_to(const struct ring_addr *to, struct ring_addr *out)
{
    struct sockaddr_storage ss, me;
    socklen_t sl, ml = sizeof(me);
    int fd, ok;

    if (cluster_sockaddr(to, &ss, &sl) != 0)
        return -1;
    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ok = connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
         getsockname(fd, (struct sockaddr *)&me, &ml) == 0;
    close(fd);
    if (!ok)
        return -1;
    cluster_ring_addr((struct sockaddr *)&me, out);
    return 0;
}

static int first_interface(struct ring_addr *out)
{
    struct ifaddrs *ifs, *i;
    int found = -1;

    if (getifaddrs(&ifs) != 0)
        return -1;
    for (i = ifs; i && found; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK)) {
            cluster_ring_addr(i->ifa_addr, out);
            found = 0;
        }
    freeifaddrs(ifs);
    return found;
}

int cluster_advertise(struct cluster *c, evutil_socket_t bound, struct ring_addr *out)
{
    const struct shd_config *cfg = c->cfg;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct ring_addr b, seed;
    const char *how;

    getsockname(bound, (struct sockaddr *)&ss, &sl);
    cluster_ring_addr((struct sockaddr *)&ss, &b);
    const struct shd_addr *adv = &cfg->cluster.advertise;
    if (adv->host && *adv->host) {
        if (numeric(adv->host, adv->port ? adv->port : b.port, out) != 0) {
            shd_error("cluster", "cluster.advertise is not an IP address host=%s", adv->host);
            return SHD_ERR_CONFIG;
        }
        how = "cluster.advertise";
    } else if (!wildcard(cfg->listen.peer.host)) {
        *out = b;
        how = "listen.peer";
    } else {
        int done = 0;
        for (size_t i = 0; i < cfg->cluster.n_seeds && !done; i++)
            done = numeric(cfg->cluster.seeds[i].host, cfg->cluster.seeds[i].port, &seed) == 0 &&
                   route_to(&seed, out) == 0;
        how = "the route to the first seed";
        if (!done) {
            done = first_interface(out) == 0;
            how = "the first interface";
        }
        if (!done) {
            numeric("127.0.0.1", 0, out);
            how = "loopback (nothing better)";
        }
        out->port = b.port;
    }
    char a[64];
    ring_addr_format(out, a, sizeof(a));
    shd_debug("cluster", "advertise addr=%s from=\"%s\"", a, how);
    return SHD_OK;
}

/* ---- joining -------------------------------------------------------------------------- */

static void join_schedule(struct cluster *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->join_ev, &tv);
}

static uint64_t backoff_ms(struct cluster *c)
{
    unsigned f = c->join_failures < 5 ? c->join_failures : 5;
    uint64_t ms = (uint64_t)JOIN_BACKOFF_MIN_MS << f, r = 0;
    if (ms > JOIN_BACKOFF_MAX_MS)
        ms = JOIN_BACKOFF_MAX_MS;
    if (RAND_bytes((uint8_t *)&r, sizeof(r)) != 1) /* nodes started together spread out */
        r = cluster_wall_us();
    r %= ms / 2 + 1;
    return ms - ms / 4 + r;
}

static size_t live_others(const struct cluster *c)
{
    return ring_swim_count_state(c->sw, RING_ALIVE) + ring_swim_count_state(c->sw, RING_SUSPECT) +
           ring_swim_count_state(c->sw, RING_LEAVING) - 1;
}

static void join_done(struct cluster *c, int ok)
{
    if (c->joined)
        return;
    if (ok && live_others(c) > 0) {
        c->joined = 1;
        c->join_failures = 0;
        c->st.joins++;
        shd_info("cluster", "joined members=%zu", ring_swim_count(c->sw));
        join_schedule(c, JOIN_CHECK_MS);
        return;
    }
    if (c->join_pending && --c->join_pending)
        return; /* others still in flight */
    c->join_failures++;
    uint64_t ms = backoff_ms(c);
    if (c->join_failures == 1 || c->join_failures % 10 == 0)
        shd_warn("cluster", "no seed answered seeds=%zu tries=%u retry_ms=%llu", c->nseeds,
                 c->join_failures, (unsigned long long)ms);
    join_schedule(c, ms);
}

static void join_try(struct cluster *c)
{
    size_t tried = 0;

    c->join_pending = 0;
    for (size_t i = 0; i < c->nseeds && tried < JOIN_PARALLEL; i++) {
        if (ring_addr_eq(&c->seeds[i], &c->self.addr))
            continue; /* this node: the seed list may name it */
        if (!c->cfg->cluster.secret_file && !c->insecure_ok &&
            !cluster_addr_loopback(&c->seeds[i])) {
            char a[64];
            ring_addr_format(&c->seeds[i], a, sizeof(a));
            shd_warn("cluster",
                     "seed skipped addr=%s what=\"without cluster.secret_file only "
                     "loopback peers are joined; set it or cluster.insecure\"",
                     a);
            continue;
        }
        tried++;
    }
    if (!tried) {
        join_done(c, 0);
        return;
    }
    c->join_pending = (unsigned)tried;
    tried = 0;
    for (size_t i = 0; i < c->nseeds && tried < JOIN_PARALLEL; i++) {
        if (ring_addr_eq(&c->seeds[i], &c->self.addr) ||
            (!c->cfg->cluster.secret_file && !c->insecure_ok &&
             !cluster_addr_loopback(&c->seeds[i])))
            continue;
        tried++;
        cluster_pushpull(c, &c->seeds[i], 1, join_done);
        if (c->joined)
            break;
    }
}

static void seed_add(struct cluster *c, const struct ring_addr *a)
{
    for (size_t i = 0; i < c->nseeds; i++)
        if (ring_addr_eq(&c->seeds[i], a))
            return;
    if (c->nseeds < CLUSTER_SEEDS_MAX)
        c->seeds[c->nseeds++] = *a;
}

static void resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    struct cluster *c = arg;

    if (result == 0)
        for (struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next) {
            struct ring_addr a;
            cluster_ring_addr(ai->ai_addr, &a);
            if (a.family)
                seed_add(c, &a);
        }
    else if (result != EVUTIL_EAI_CANCEL)
        shd_debug("cluster", "seed name not resolved err=\"%s\"", evutil_gai_strerror(result));
    if (res)
        evutil_freeaddrinfo(res);
    if (result == EVUTIL_EAI_CANCEL)
        return;
    if (c->resolving && --c->resolving == 0)
        join_try(c);
}

/* Resolves every seed afresh (names may move), then tries them. */
static void join_round(struct cluster *c)
{
    const struct shd_config *cfg = c->cfg;
    struct evutil_addrinfo hints;

    c->nseeds = 0;
    c->resolving = 1; /* held until every lookup is started */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    for (size_t i = 0; i < cfg->cluster.n_seeds; i++) {
        const struct shd_addr *s = &cfg->cluster.seeds[i];
        struct ring_addr a;
        char port[8];
        if (numeric(s->host, s->port, &a) == 0) {
            seed_add(c, &a);
            continue;
        }
        snprintf(port, sizeof(port), "%u", s->port);
        c->resolving++;
        evdns_getaddrinfo(c->dns, s->host, port, &hints, resolved_cb, c); /* may call back now */
    }
    if (--c->resolving == 0)
        join_try(c);
}

static void join_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *c = arg;
    (void)fd;
    (void)what;
    if (c->left)
        return;
    if (c->joined) {
        if (live_others(c) == 0 && c->cfg->cluster.n_seeds) {
            shd_warn("cluster", "alone: every other member is gone; joining through the seeds");
            c->joined = 0;
            join_round(c);
        } else {
            join_schedule(c, JOIN_CHECK_MS);
        }
        return;
    }
    join_round(c);
}

int cluster_join_start(struct cluster *c)
{
    c->join_ev = evtimer_new(c->base, join_cb, c);
    if (!c->join_ev)
        return SHD_ERR_IO;
    if (!c->cfg->cluster.n_seeds) {
        c->joined = 1; /* the first node: a cluster of one */
        shd_info("cluster", "no seeds: starting a cluster of one");
        join_schedule(c, JOIN_CHECK_MS);
        return SHD_OK;
    }
    c->dns = evdns_base_new(c->base,
                            EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!c->dns) /* no resolv.conf: numeric seeds still work */
        c->dns = evdns_base_new(c->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!c->dns)
        return SHD_ERR_IO;
    join_schedule(c, 0);
    return SHD_OK;
}

void cluster_join_stop(struct cluster *c)
{
    if (c->join_ev) {
        event_free(c->join_ev);
        c->join_ev = NULL;
    }
    if (c->dns) {
        evdns_base_free(c->dns, 1); /* pending lookups are cancelled */
        c->dns = NULL;
    }
}

/* ---- leaving -------------------------------------------------------------------------- */

static void leave_finish(struct cluster *c, const char *how)
{
    void (*done)(void *) = c->leave_done;
    if (!done)
        return;
    c->leave_done = NULL;
    shd_info("cluster", "left how=\"%s\"", how);
    done(c->leave_arg);
}

static void leave_pp_done(struct cluster *c, int ok)
{
    if (ok)
        leave_finish(c, "a peer has it");
}

static void leave_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    leave_finish(arg, "timed out; the others will find out by probing");
}

void cluster_drain(struct cluster *c)
{
    size_t asked = 0;
    if (c->left)
        return;
    ring_swim_leave(c->sw, cluster_now_ms(), 0);
    /* tell a couple at once: gossip brings it to the rest */
    for (size_t i = 1; i < ring_swim_count(c->sw) && asked < 2; i++) {
        const struct ring_swim_member *m = ring_swim_member_at(c->sw, i);
        if (m->state != RING_ALIVE)
            continue;
        asked++;
        cluster_pushpull(c, &m->info->addr, 0, NULL);
    }
    cluster_after(c);
}

int cluster_joined(const struct cluster *c)
{
    return c->joined;
}

size_t cluster_others(const struct cluster *c)
{
    size_t n = 0;
    for (size_t i = 1; i < ring_swim_count(c->sw); i++) {
        const struct ring_swim_member *m = ring_swim_member_at(c->sw, i);
        n += m->state == RING_ALIVE || m->state == RING_SUSPECT;
    }
    return n;
}

void cluster_leave(struct cluster *c, uint64_t timeout_ms, void (*done)(void *), void *arg)
{
    uint64_t now = cluster_now_ms();
    size_t asked = 0;

    if (c->left)
        return;
    c->left = 1;
    c->leave_done = done;
    c->leave_arg = arg;
    ring_swim_leave(c->sw, now, 1);
    for (size_t i = 0; i < ring_swim_count(c->sw) && asked < 2; i++) {
        const struct ring_swim_member *m = ring_swim_member_at(c->sw, i);
        if (i == 0 || (m->state != RING_ALIVE && m->state != RING_LEAVING))
            continue;
        asked++;
        cluster_pushpull(c, &m->info->addr, 0, leave_pp_done);
    }
    cluster_after(c);
    if (!asked) {
        leave_finish(c, "alone");
        return;
    }
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    c->leave_ev = evtimer_new(c->base, leave_timeout_cb, c);
    if (!c->leave_ev || evtimer_add(c->leave_ev, &tv) != 0)
        leave_finish(c, "no timer");
}
