/* ring/swim_probe.c: the failure detector and the periodic rounds of the
 * membership state machine (the members and merge rules: swim.c).
 *
 * A probe, one per probe interval (both stretched by the local health
 * multiplier):
 *
 *   start --PING--> target (carrying the suspicion, if it is a suspect:
 *     Lifeguard's buddy system, so it hears and refutes at once)
 *     ACK by probe_timeout: done, health improves
 *   probe_timeout --PING_REQ--> k random live members, who PING the target
 *     and forward its ACK, or send NACK after their own probe_timeout
 *   interval end, no ACK: the target is suspected; health worsens by the
 *     NACKs that did not come (the peers that should have answered and did
 *     not point at this node's own trouble), or by one with nobody to ask
 *
 * Targets are taken round-robin from a shuffled list (reshuffled each pass,
 * new members put at a random place), so every member is probed within a
 * bounded time, as SWIM's analysis asks.
 *
 * Rounds: gossip (every gossip_interval while updates are queued, to
 * gossip_fanout members, the recently dead included so they can refute);
 * push-pull (a full-state exchange with a random live member every
 * pushpull_interval stretched by N/32, so its bytes per node stay flat as
 * the cluster grows); reconnect (a push-pull with a random dead member,
 * which is what heals a partition once the network does). */
#include "ring/swim_int.h"

#include <stdlib.h>
#include <string.h>

static int probeable(const struct member *mb)
{
    return mb->live == RING_ALIVE || mb->live == RING_SUSPECT;
}

void swim_order_add(struct ring_swim *sw, uint32_t idx)
{
    if (sw->norder % 64 == 0) {
        void *o = realloc(sw->order, (sw->norder + 64) * sizeof(*sw->order));
        if (!o)
            return; /* not probed until the next reshuffle */
        sw->order = o;
    }
    size_t j = swim_rand_below(sw, sw->norder + 1);
    sw->order[sw->norder] = sw->order[j < sw->norder ? j : sw->norder];
    sw->order[j] = idx;
    sw->norder++; /* the one moved from j to the end keeps a turn this pass */
}

/* Rebuilds the order from the member table and shuffles it. */
void swim_order_reset(struct ring_swim *sw)
{
    size_t cap = (sw->n + 63) / 64 * 64;
    uint32_t *o = realloc(sw->order, (cap ? cap : 64) * sizeof(*o));

    if (!o)
        return;
    sw->order = o;
    sw->norder = sw->n;
    for (size_t i = 0; i < sw->n; i++)
        o[i] = (uint32_t)i;
    for (size_t i = sw->n; i > 1; i--) { /* Fisher-Yates */
        size_t j = swim_rand_below(sw, i);
        uint32_t t = o[i - 1];
        o[i - 1] = o[j];
        o[j] = t;
    }
    sw->order_pos = 0;
}

/* The next member to probe, or NULL when there is none. */
static struct member *next_target(struct ring_swim *sw)
{
    for (size_t tries = 0; tries <= sw->norder; tries++) {
        if (sw->order_pos >= sw->norder)
            swim_order_reset(sw);
        if (sw->norder == 0)
            return NULL;
        uint32_t idx = sw->order[sw->order_pos++];
        if (idx != 0 && idx < sw->n && probeable(&sw->m[idx]))
            return &sw->m[idx];
    }
    return NULL;
}

/* A random member other than this node (and EXCEPT) for which OK holds,
 * or NULL: a few random draws, then a scan from a random start. */
static struct member *random_member(struct ring_swim *sw, uint64_t now, const uint8_t *except,
                                    int (*ok)(const struct ring_swim *, const struct member *,
                                              uint64_t))
{
    if (sw->n < 2)
        return NULL;
    for (int tries = 0; tries < 8; tries++) {
        struct member *mb = &sw->m[1 + swim_rand_below(sw, sw->n - 1)];
        if (ok(sw, mb, now) && (!except || memcmp(mb->pub.info->id, except, RING_ID_LEN) != 0))
            return mb;
    }
    size_t start = swim_rand_below(sw, sw->n - 1);
    for (size_t k = 0; k < sw->n - 1; k++) {
        struct member *mb = &sw->m[1 + (start + k) % (sw->n - 1)];
        if (ok(sw, mb, now) && (!except || memcmp(mb->pub.info->id, except, RING_ID_LEN) != 0))
            return mb;
    }
    return NULL;
}

static int ok_live(const struct ring_swim *sw, const struct member *mb, uint64_t now)
{
    (void)sw;
    (void)now;
    return probeable(mb);
}

static int ok_dead(const struct ring_swim *sw, const struct member *mb, uint64_t now)
{
    (void)sw;
    (void)now;
    return mb->live == RING_DEAD;
}

int swim_gossip_target(const struct ring_swim *sw, const struct member *mb, uint64_t now)
{
    return probeable(mb) ||
           (mb->live == RING_DEAD && now - mb->pub.since_ms < sw->conf.dead_gossip_ms);
}

/* ---- probes --------------------------------------------------------------------------- */

static void probe_start(struct ring_swim *sw, uint64_t now)
{
    struct probe *p = &sw->probe;
    struct member *t = next_target(sw);
    struct ring_swim_msg m;

    sw->next_probe = now + swim_scaled(sw, sw->conf.probe_interval_ms);
    if (!t)
        return;
    memset(p, 0, sizeof(*p));
    p->active = 1;
    p->seq = ++sw->seq;
    memcpy(p->target, t->pub.info->id, RING_ID_LEN);
    p->start = now;
    p->indirect_at = now + swim_scaled(sw, sw->conf.probe_timeout_ms);
    p->end_at = sw->next_probe;
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_PING;
    m.seq = p->seq;
    memcpy(m.target, p->target, RING_ID_LEN);
    if (t->live == RING_SUSPECT) { /* Lifeguard's buddy system: tell it, so it can refute */
        struct ring_swim_update *u = &m.updates[m.nupdates++];
        u->kind = RING_SWIM_U_SUSPECT;
        memcpy(u->id, t->pub.info->id, RING_ID_LEN);
        u->incarnation = t->pub.incarnation;
        memcpy(u->from, sw->m[0].pub.info->id, RING_ID_LEN);
    }
    sw->st.probes++;
    swim_send(sw, &t->pub.info->addr, &m);
}

static void probe_indirect(struct ring_swim *sw, uint64_t now)
{
    struct probe *p = &sw->probe;
    struct member *t = swim_lookup(sw, p->target), *asked[16];
    unsigned k = 0;

    p->indirect_sent = 1;
    if (!t)
        return;
    for (unsigned tries = 0; k < sw->conf.indirect_probes && tries < sw->conf.indirect_probes * 3;
         tries++) {
        struct member *mb = random_member(sw, now, p->target, ok_live);
        int dup = 0;
        if (!mb)
            break;
        for (unsigned i = 0; i < k; i++)
            dup |= asked[i] == mb;
        if (dup)
            continue;
        asked[k++] = mb;
    }
    for (unsigned i = 0; i < k; i++) {
        struct ring_swim_msg m;
        memset(&m, 0, sizeof(m));
        m.type = RING_SWIM_PING_REQ;
        m.seq = p->seq;
        memcpy(m.target, p->target, RING_ID_LEN);
        m.target_addr = t->pub.info->addr;
        sw->st.indirect_probes++;
        swim_send(sw, &asked[i]->pub.info->addr, &m);
    }
    p->expected_nacks = k;
}

static void probe_fail(struct ring_swim *sw, uint64_t now)
{
    struct probe *p = &sw->probe;
    struct member *t = swim_lookup(sw, p->target);

    p->active = 0;
    sw->st.probes_failed++;
    if (p->expected_nacks > 0)
        swim_health_add(sw, (int)(p->expected_nacks -
                                  (p->nacks < p->expected_nacks ? p->nacks : p->expected_nacks)));
    else
        swim_health_add(sw, 1);
    if (!t || !probeable(t))
        return;
    struct ring_swim_update u;
    memset(&u, 0, sizeof(u));
    u.kind = RING_SWIM_U_SUSPECT;
    memcpy(u.id, p->target, RING_ID_LEN);
    u.incarnation = t->pub.incarnation;
    memcpy(u.from, sw->m[0].pub.info->id, RING_ID_LEN);
    swim_apply(sw, now, &u);
}

/* A ping to suspect MB carrying the suspicion, outside the probe cycle: its
 * ack brings the refutation; a missing ack counts for nothing (the seq is
 * no probe's). */
void swim_check_suspect(struct ring_swim *sw, struct member *mb)
{
    struct ring_swim_msg m;
    struct ring_swim_update *u = &m.updates[0];

    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_PING;
    m.seq = ++sw->seq;
    memcpy(m.target, mb->pub.info->id, RING_ID_LEN);
    m.nupdates = 1;
    u->kind = RING_SWIM_U_SUSPECT;
    memcpy(u->id, mb->pub.info->id, RING_ID_LEN);
    u->incarnation = mb->pub.incarnation;
    memcpy(u->from, mb->susp->accusers[0], RING_ID_LEN);
    sw->st.suspect_checks++;
    swim_send(sw, &mb->pub.info->addr, &m);
}

void swim_probe_tick(struct ring_swim *sw, uint64_t now)
{
    struct probe *p = &sw->probe;

    if (p->active && !p->indirect_sent && now >= p->indirect_at)
        probe_indirect(sw, now);
    if (p->active && now >= p->end_at)
        probe_fail(sw, now);
    if (!p->active && now >= sw->next_probe) {
        if (sw->m[0].live != RING_LEFT)
            probe_start(sw, now);
        else /* gone: no probes, but the timer must still move on */
            sw->next_probe = now + sw->conf.probe_interval_ms;
    }
}

uint64_t swim_probe_next(const struct ring_swim *sw)
{
    const struct probe *p = &sw->probe;
    if (!p->active)
        return sw->next_probe;
    return !p->indirect_sent && p->indirect_at < p->end_at ? p->indirect_at : p->end_at;
}

void swim_on_ack(struct ring_swim *sw, uint64_t now, uint32_t seq)
{
    struct probe *p = &sw->probe;

    if (p->active && seq == p->seq) {
        struct member *t = swim_lookup(sw, p->target);
        if (t)
            t->pub.heard_ms = now;
        p->active = 0;
        p->acked = 1;
        swim_health_add(sw, -1);
        return;
    }
    for (size_t i = 0; i < SWIM_RELAYS_MAX; i++) {
        struct relay *r = &sw->relays[i];
        if (r->used && r->seq == seq) {
            struct ring_swim_msg m;
            memset(&m, 0, sizeof(m));
            m.type = RING_SWIM_ACK;
            m.seq = r->their_seq;
            r->used = 0;
            swim_send(sw, &r->requester, &m);
            return;
        }
    }
    sw->st.unknown_acks++; /* late (after the probe ended) or not ours */
}

void swim_on_nack(struct ring_swim *sw, uint32_t seq)
{
    struct probe *p = &sw->probe;
    if (p->active && seq == p->seq && p->nacks < p->expected_nacks) {
        p->nacks++;
        sw->st.nacks_received++;
    }
}

void swim_on_ping(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                  const struct ring_swim_msg *m)
{
    struct ring_swim_msg a;

    (void)now;
    if (memcmp(m->target, sw->m[0].pub.info->id, RING_ID_LEN) != 0)
        return; /* meant for whoever had this address before */
    memset(&a, 0, sizeof(a));
    a.type = RING_SWIM_ACK;
    a.seq = m->seq;
    swim_send(sw, from, &a);
}

void swim_on_ping_req(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                      const struct ring_swim_msg *m)
{
    struct relay *r = NULL;
    struct ring_swim_msg p;

    if (m->target_addr.family != 4 && m->target_addr.family != 6)
        return;
    for (size_t i = 0; i < SWIM_RELAYS_MAX && !r; i++)
        if (!sw->relays[i].used)
            r = &sw->relays[i];
    if (!r)
        return; /* busy: the requester counts the missing nack against its own health */
    r->used = 1;
    r->seq = ++sw->seq;
    r->their_seq = m->seq;
    r->requester = *from;
    r->nack_at = now + sw->conf.probe_timeout_ms;
    memset(&p, 0, sizeof(p));
    p.type = RING_SWIM_PING;
    p.seq = r->seq;
    memcpy(p.target, m->target, RING_ID_LEN);
    sw->st.indirect_served++;
    swim_send(sw, &m->target_addr, &p);
}

void swim_relay_tick(struct ring_swim *sw, uint64_t now)
{
    for (size_t i = 0; i < SWIM_RELAYS_MAX; i++) {
        struct relay *r = &sw->relays[i];
        if (r->used && now >= r->nack_at) {
            struct ring_swim_msg m;
            memset(&m, 0, sizeof(m));
            m.type = RING_SWIM_NACK;
            m.seq = r->their_seq;
            r->used = 0;
            sw->st.nacks_sent++;
            swim_send(sw, &r->requester, &m);
        }
    }
}

/* ---- rounds --------------------------------------------------------------------------- */

uint64_t swim_pushpull_interval(const struct ring_swim *sw)
{
    size_t n = swim_live_count(sw);
    uint64_t scale = n <= 32 ? 1 : (n + 31) / 32;
    return (uint64_t)sw->conf.pushpull_interval_ms * scale;
}

/* INTERVAL with +-25% jitter, so rounds of nodes started together spread */
static uint64_t jittered(struct ring_swim *sw, uint64_t interval)
{
    return interval - interval / 4 + swim_rand_below(sw, interval / 2 + 1);
}

static int ok_gossip(const struct ring_swim *sw, const struct member *mb, uint64_t now)
{
    return swim_gossip_target(sw, mb, now);
}

void swim_rounds_tick(struct ring_swim *sw, uint64_t now)
{
    if (now >= sw->next_gossip) {
        sw->next_gossip = now + sw->conf.gossip_interval_ms;
        for (unsigned i = 0; i < sw->conf.gossip_fanout && sw->nq; i++) {
            struct member *mb = random_member(sw, now, NULL, ok_gossip);
            struct ring_swim_msg m;
            if (!mb)
                break;
            memset(&m, 0, sizeof(m));
            m.type = RING_SWIM_GOSSIP;
            swim_send(sw, &mb->pub.info->addr, &m);
        }
    }
    if (now >= sw->next_pushpull) {
        struct member *mb = random_member(sw, now, NULL, ok_live);
        sw->next_pushpull = now + jittered(sw, swim_pushpull_interval(sw));
        if (mb && sw->cbs.pushpull)
            sw->cbs.pushpull(sw->arg, &mb->pub.info->addr);
    }
    if (now >= sw->next_reconnect) {
        struct member *mb = random_member(sw, now, NULL, ok_dead);
        sw->next_reconnect = now + jittered(sw, sw->conf.reconnect_interval_ms);
        if (mb && sw->cbs.pushpull)
            sw->cbs.pushpull(sw->arg, &mb->pub.info->addr);
    }
}
