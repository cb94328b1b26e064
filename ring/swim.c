/* ring/swim.c: the membership state machine: members, the merge rules,
 * push-pull and the view (probes and timers: swim_probe.c; the
 * dissemination queue: swim_queue.c; suspicion: swim_susp.c; member infos:
 * swim_info.c).
 *
 * States of a member as this node sees it, and what moves it:
 *
 *   ALIVE --(our probe and the indirect ones fail; or SUSPECT gossip)--> SUSPECT
 *   SUSPECT --(ALIVE with a higher incarnation: the member refuted)--> ALIVE
 *   SUSPECT --(the suspicion timeout; or DEAD gossip)--> DEAD
 *   ALIVE|SUSPECT --(DEAD gossip)--> DEAD
 *   any --(LEFT from the member itself)--> LEFT
 *   DEAD|LEFT --(ALIVE with a higher incarnation: it came back)--> ALIVE
 *   DEAD|LEFT --(reclaim_ms later)--> forgotten
 *
 * LEAVING is ALIVE (or SUSPECT) with the member's own "I am draining" flag:
 * it is probed and answers like any member but places no blocks.
 *
 * Merge rules (as memberlist's, from SWIM): a higher incarnation wins; at
 * the same incarnation SUSPECT beats ALIVE and DEAD or LEFT beat both; only
 * the member itself raises its incarnation, so only it can refute a
 * suspicion or a death: it answers SUSPECT or DEAD about itself with ALIVE at
 * a higher incarnation, and counts that against its local health.
 *
 * Suspicion (Lifeguard): a suspect is declared dead after a timeout that
 * starts at max = beta * min and falls toward min = alpha * log10(N) probe
 * intervals as independent accusers confirm it (log-scaled, reaching min at
 * K confirmations), so a dead node is declared quickly in a big cluster and
 * a node wrongly suspected by one slow peer has time to refute. While it is
 * suspected, every node holding the suspicion also pings the suspect now and
 * then, so a refutation that gossip missed still arrives.
 *
 * Dissemination: each update this node learns or makes is queued and
 * piggy-backed on the next messages, least-sent first, lambda * log10(N+1)
 * times; a newer update about a member replaces the queued one. */
#include "ring/swim_int.h"
#include "ring/swim_wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ring_swim_conf_default(struct ring_swim_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->probe_interval_ms = 250;
    c->probe_timeout_ms = 100;
    c->indirect_probes = 5;
    c->suspicion_mult = 2;
    c->suspicion_max_mult = 6;
    c->suspicion_confirm = 2;
    c->retransmit_mult = 4;
    c->awareness_max = 8;
    c->gossip_interval_ms = 100;
    c->gossip_fanout = 3;
    c->pushpull_interval_ms = 30000;
    c->dead_gossip_ms = 30000;
    c->reconnect_interval_ms = 10000;
    c->reclaim_ms = 3600000;
    c->packet_max = 1400 - RING_SWIM_SEAL_OVERHEAD;
}

/* ---- small things -------------------------------------------------------------------- */

uint64_t swim_splitmix(uint64_t *state)
{
    /* splitmix64: small, fast, and every seed gives a full-period stream */
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t swim_rand(struct ring_swim *sw)
{
    return swim_splitmix(&sw->rng);
}

uint64_t swim_rand_below(struct ring_swim *sw, uint64_t n)
{
    return n ? swim_rand(sw) % n : 0;
}

/* the public state: LEAVING folds over ALIVE and SUSPECT */
static enum ring_state pub_state(const struct member *mb)
{
    if (mb->leaving && (mb->live == RING_ALIVE || mb->live == RING_SUSPECT))
        return RING_LEAVING;
    return mb->live;
}

static int is_live(const struct member *mb)
{
    return mb->live == RING_ALIVE || mb->live == RING_SUSPECT;
}

size_t swim_live_count(const struct ring_swim *sw)
{
    return sw->nstate[RING_ALIVE] + sw->nstate[RING_SUSPECT] + sw->nstate[RING_LEAVING];
}

/* MS scaled by the local health multiplier (Lifeguard: a node that misses
 * acks slows its own probing before it accuses anyone). */
uint64_t swim_scaled(const struct ring_swim *sw, uint32_t ms)
{
    return (uint64_t)ms * (sw->health + 1);
}

void swim_health_add(struct ring_swim *sw, int delta)
{
    int h = (int)sw->health + delta, max = (int)sw->conf.awareness_max - 1;
    sw->health = (unsigned)(h < 0 ? 0 : h > max ? max : h);
}

/* ---- the member table ---------------------------------------------------------------- */

static void index_put(uint32_t *ix, size_t cap, uint64_t hash, size_t i)
{
    size_t h = hash & (cap - 1);
    while (ix[h])
        h = (h + 1) & (cap - 1);
    ix[h] = (uint32_t)i + 1;
}

/* Both indexes again, in place (after members moved or renamed). */
static void index_refill(struct ring_swim *sw)
{
    memset(sw->index, 0, sw->index_cap * sizeof(*sw->index));
    memset(sw->names, 0, sw->index_cap * sizeof(*sw->names));
    for (size_t i = 0; i < sw->n; i++) {
        index_put(sw->index, sw->index_cap, swim_id_hash(sw->m[i].pub.info->id), i);
        index_put(sw->names, sw->index_cap, swim_name_hash(sw->m[i].pub.info->name), i);
    }
}

/* Both indexes (ids and names) at CAP slots, from the member array. */
static int index_rebuild(struct ring_swim *sw, size_t cap)
{
    uint32_t *ix = calloc(cap, sizeof(*ix)), *nx = calloc(cap, sizeof(*nx));
    if (!ix || !nx) {
        free(ix);
        free(nx);
        return RING_ENOMEM;
    }
    for (size_t i = 0; i < sw->n; i++) {
        index_put(ix, cap, swim_id_hash(sw->m[i].pub.info->id), i);
        index_put(nx, cap, swim_name_hash(sw->m[i].pub.info->name), i);
    }
    free(sw->index);
    free(sw->names);
    sw->index = ix;
    sw->names = nx;
    sw->index_cap = cap;
    return RING_OK;
}

struct member *swim_lookup(struct ring_swim *sw, const uint8_t id[RING_ID_LEN])
{
    size_t h = swim_id_hash(id) & (sw->index_cap - 1);
    for (; sw->index[h]; h = (h + 1) & (sw->index_cap - 1)) {
        struct member *mb = &sw->m[sw->index[h] - 1];
        if (memcmp(mb->pub.info->id, id, RING_ID_LEN) == 0)
            return mb;
    }
    return NULL;
}

/* Room for N members in all: the array exactly (a full state's size is
 * known), the indexes at most 70% full. */
static int member_reserve(struct ring_swim *sw, size_t n)
{
    size_t ic = sw->index_cap;
    if (n > RING_MEMBERS_MAX)
        n = RING_MEMBERS_MAX;
    if (n > sw->cap) {
        void *m = realloc(sw->m, n * sizeof(*sw->m));
        if (!m)
            return RING_ENOMEM;
        sw->m = m;
        sw->cap = n;
    }
    while (n * 10 > ic * 7)
        ic *= 2;
    return ic == sw->index_cap ? RING_OK : index_rebuild(sw, ic);
}

/* Adds a member (its info interned); NULL when out of memory (the update
 * is dropped: a later one, or push-pull, brings it again). */
static struct member *member_add(struct ring_swim *sw, const struct ring_swim_info *info)
{
    struct member *mb;
    const struct ring_swim_info *in;

    if (sw->n >= RING_MEMBERS_MAX ||
        member_reserve(sw, sw->n < sw->cap ? sw->n + 1 : sw->cap * 2) != RING_OK)
        return NULL;
    in = swim_info_get(sw->infos, info);
    if (!in)
        return NULL;
    mb = &sw->m[sw->n];
    memset(mb, 0, sizeof(*mb));
    mb->pub.info = in;
    index_put(sw->index, sw->index_cap, swim_id_hash(in->id), sw->n);
    index_put(sw->names, sw->index_cap, swim_name_hash(in->name), sw->n);
    sw->n++;
    swim_order_add(sw, (uint32_t)(sw->n - 1));
    return mb;
}

/* MB says INFO now (the same id): interned, and the name index follows a
 * new name. 1 if it differs from what MB said, 0 if not, or RING_ENOMEM
 * (MB keeps its info). */
static int member_set_info(struct ring_swim *sw, struct member *mb,
                           const struct ring_swim_info *info)
{
    const struct ring_swim_info *in = swim_info_get(sw->infos, info), *old = mb->pub.info;
    if (!in)
        return RING_ENOMEM;
    int changed = in != old, renamed = strcmp(in->name, old->name) != 0;
    mb->pub.info = in;
    swim_info_put(sw->infos, old);
    if (renamed)
        index_refill(sw); /* rare */
    return changed;
}

static void notify(struct ring_swim *sw, struct member *mb, int old, int forgotten)
{
    mb->pub.state = pub_state(mb);
    if (old >= 0 && old <= RING_LEFT)
        sw->nstate[old]--;
    if (!forgotten)
        sw->nstate[mb->pub.state]++;
    sw->version++;
    if (sw->cbs.changed)
        sw->cbs.changed(sw->arg, &mb->pub, old, forgotten);
}

/* Sets MB's liveness (and leaving flag), with the callback if the public
 * state changed. */
static void set_live(struct ring_swim *sw, uint64_t now, struct member *mb, enum ring_state live,
                     int leaving)
{
    enum ring_state before = pub_state(mb);
    mb->live = live;
    mb->leaving = leaving;
    if (pub_state(mb) != before) {
        mb->pub.since_ms = now;
        notify(sw, mb, (int)before, 0);
    }
    if (live != RING_SUSPECT) {
        free(mb->susp);
        mb->susp = NULL;
    }
}

/* Forgets dead and left members reclaim_ms after they went. */
void swim_reclaim(struct ring_swim *sw, uint64_t now)
{
    size_t w = 1, removed = 0;

    for (size_t i = 1; i < sw->n; i++) { /* their queued news goes with them */
        struct member *mb = &sw->m[i];
        if ((mb->live == RING_DEAD || mb->live == RING_LEFT) &&
            now - mb->pub.since_ms >= sw->conf.reclaim_ms && mb->qslot)
            swim_dequeue(sw, mb->qslot - 1);
    }
    for (size_t i = 1; i < sw->n; i++) {
        struct member *mb = &sw->m[i];
        if ((mb->live == RING_DEAD || mb->live == RING_LEFT) &&
            now - mb->pub.since_ms >= sw->conf.reclaim_ms) {
            notify(sw, mb, (int)pub_state(mb), 1);
            swim_info_put(sw->infos, mb->pub.info);
            free(mb->susp);
            removed++;
            continue;
        }
        if (w != i)
            sw->m[w] = *mb;
        w++;
    }
    if (!removed)
        return;
    sw->n = w;
    index_refill(sw);
    swim_order_reset(sw);
    sw->probe.active = 0; /* its target may have moved; the next probe starts on time */
}

/* ---- the merge rules ------------------------------------------------------------------ */

void swim_make_alive(const struct ring_swim *sw, struct ring_swim_update *u)
{
    const struct member *self = &sw->m[0];
    memset(u, 0, sizeof(*u));
    u->kind = self->live == RING_LEFT ? RING_SWIM_U_LEFT
              : self->leaving         ? RING_SWIM_U_LEAVING
                                      : RING_SWIM_U_ALIVE;
    memcpy(u->id, self->pub.info->id, RING_ID_LEN);
    u->incarnation = self->pub.incarnation;
    u->info = *self->pub.info;
}

/* This node is accused (or an old incarnation of it is about): refute with
 * a higher incarnation, unless it has left. */
static void refute(struct ring_swim *sw, uint64_t inc)
{
    struct member *self = &sw->m[0];
    struct ring_swim_update u;

    if (self->live == RING_LEFT)
        return;
    if (inc >= self->pub.incarnation)
        self->pub.incarnation = inc + 1;
    sw->st.refutations++;
    swim_health_add(sw, 1);
    swim_make_alive(sw, &u);
    swim_enqueue(sw, &u);
}

/* A suspicion or death of this node at incarnation INC: refuted when it is
 * about this incarnation or a later one; an older one (whoever sent it has
 * not heard the refutation yet) gets the refutation sent again, without a
 * new incarnation, so the sender's next message from here brings it. */
static void about_me(struct ring_swim *sw, uint64_t inc)
{
    struct ring_swim_update u;

    if (inc >= sw->m[0].pub.incarnation) {
        refute(sw, inc);
        return;
    }
    if (sw->m[0].live == RING_LEFT)
        return;
    if (sw->m[0].qslot) {
        const struct queued *e = &sw->q[sw->m[0].qslot - 1];
        if (e->u.incarnation == sw->m[0].pub.incarnation && e->transmits == 0)
            return; /* queued and not yet sent */
    }
    swim_make_alive(sw, &u);
    swim_enqueue(sw, &u);
}

void swim_declare_dead(struct ring_swim *sw, uint64_t now, struct member *mb)
{
    struct ring_swim_update u;

    memset(&u, 0, sizeof(u));
    u.kind = RING_SWIM_U_DEAD;
    memcpy(u.id, mb->pub.info->id, RING_ID_LEN);
    u.incarnation = mb->pub.incarnation;
    memcpy(u.from, sw->m[0].pub.info->id, RING_ID_LEN);
    sw->st.deaths++;
    set_live(sw, now, mb, RING_DEAD, mb->leaving);
    swim_susp_refresh(sw);
    swim_enqueue(sw, &u);
}

/* A live member other than EXCEPT with this name? */
static struct member *name_holder(struct ring_swim *sw, const char *name, const uint8_t *except)
{
    size_t mask = sw->index_cap - 1;
    for (size_t h = swim_name_hash(name) & mask; sw->names[h]; h = (h + 1) & mask) {
        struct member *mb = &sw->m[sw->names[h] - 1];
        if (is_live(mb) && strcmp(mb->pub.info->name, name) == 0 &&
            memcmp(mb->pub.info->id, except, RING_ID_LEN) != 0)
            return mb;
    }
    return NULL;
}

static void conflict(struct ring_swim *sw, const struct ring_swim_info *mine,
                     const struct ring_swim_info *who)
{
    sw->st.conflicts++;
    if (sw->cbs.conflict)
        sw->cbs.conflict(sw->arg, mine, who);
}

static void apply_alive(struct ring_swim *sw, uint64_t now, const struct ring_swim_update *u)
{
    struct member *mb = swim_lookup(sw, u->id), *clash;
    int leaving = u->kind == RING_SWIM_U_LEAVING;

    if (mb == &sw->m[0]) {
        if (!ring_addr_eq(&u->info.addr, &mb->pub.info->addr)) {
            conflict(sw, mb->pub.info, &u->info); /* another node with this node's id */
            refute(sw, u->incarnation);
        } else if (u->incarnation > mb->pub.incarnation) {
            refute(sw, u->incarnation); /* a past life of this node, newer than this one */
        }
        return;
    }
    if (mb && u->incarnation <= mb->pub.incarnation)
        return;
    clash = name_holder(sw, u->info.name, u->id);
    if (clash) { /* a second live node with a name: the newcomer is refused */
        conflict(sw, clash->pub.info, &u->info);
        return;
    }
    if (!mb) {
        mb = member_add(sw, &u->info);
        if (!mb)
            return;
        mb->pub.incarnation = u->incarnation;
        mb->live = RING_ALIVE;
        mb->leaving = leaving;
        mb->pub.since_ms = now;
        mb->pub.heard_ms = now;
        notify(sw, mb, -1, 0);
    } else {
        int info_changed = member_set_info(sw, mb, &u->info);
        if (info_changed < 0)
            return; /* out of memory: this update is lost; a later one brings it */
        mb->pub.incarnation = u->incarnation;
        enum ring_state before = pub_state(mb);
        set_live(sw, now, mb, RING_ALIVE, leaving);
        if (info_changed && pub_state(mb) == before)
            notify(sw, mb, (int)before, 0);
        swim_susp_refresh(sw);
    }
    swim_enqueue(sw, u);
}

static void apply_suspect(struct ring_swim *sw, uint64_t now, const struct ring_swim_update *u)
{
    struct member *mb = swim_lookup(sw, u->id);

    if (!mb)
        return;
    if (mb == &sw->m[0]) {
        about_me(sw, u->incarnation);
        return;
    }
    if (u->incarnation < mb->pub.incarnation || mb->live == RING_DEAD || mb->live == RING_LEFT)
        return;
    if (mb->susp && u->incarnation == mb->pub.incarnation) {
        if (swim_susp_confirm(sw, mb->susp, u->from))
            swim_enqueue(sw, u);
        if (now >= mb->susp->deadline)
            swim_declare_dead(sw, now, mb);
        return;
    }
    if (swim_susp_start(sw, now, mb, u->from) != RING_OK)
        return; /* out of memory: not suspected now; the next probe or gossip tries again */
    mb->pub.incarnation = u->incarnation;
    sw->st.suspicions++;
    set_live(sw, now, mb, RING_SUSPECT, mb->leaving);
    swim_susp_refresh(sw);
    swim_enqueue(sw, u);
}

static void apply_dead(struct ring_swim *sw, uint64_t now, const struct ring_swim_update *u)
{
    struct member *mb = swim_lookup(sw, u->id);
    int left = u->kind == RING_SWIM_U_LEFT;

    if (!mb)
        return;
    if (mb == &sw->m[0]) {
        about_me(sw, u->incarnation);
        return;
    }
    if (u->incarnation < mb->pub.incarnation || mb->live == RING_LEFT ||
        (mb->live == RING_DEAD && !left))
        return;
    mb->pub.incarnation = u->incarnation;
    set_live(sw, now, mb, left ? RING_LEFT : RING_DEAD, mb->leaving);
    swim_susp_refresh(sw);
    swim_enqueue(sw, u);
}

void swim_apply(struct ring_swim *sw, uint64_t now, const struct ring_swim_update *u)
{
    sw->st.updates_in++;
    switch (u->kind) {
    case RING_SWIM_U_ALIVE:
    case RING_SWIM_U_LEAVING:
        if (memcmp(u->id, u->info.id, RING_ID_LEN) == 0)
            apply_alive(sw, now, u);
        break;
    case RING_SWIM_U_SUSPECT:
        apply_suspect(sw, now, u);
        break;
    case RING_SWIM_U_DEAD:
    case RING_SWIM_U_LEFT:
        apply_dead(sw, now, u);
        break;
    }
}

/* ---- the machine ---------------------------------------------------------------------- */

static int conf_ok(const struct ring_swim_conf *c)
{
    return c->probe_interval_ms >= 1 && c->probe_timeout_ms >= 1 &&
           c->probe_timeout_ms < c->probe_interval_ms && c->indirect_probes <= 16 &&
           c->suspicion_mult >= 1 && c->suspicion_max_mult >= 1 && c->retransmit_mult >= 1 &&
           c->awareness_max >= 1 && c->gossip_interval_ms >= 1 && c->gossip_fanout >= 1 &&
           c->pushpull_interval_ms >= 1 && c->reconnect_interval_ms >= 1 && c->packet_max >= 256;
}

static int info_ok(const struct ring_swim_info *in)
{
    return in->weight >= 1 && in->weight <= RING_WEIGHT_MAX &&
           memchr(in->name, '\0', RING_NAME_MAX) && memchr(in->zone, '\0', RING_ZONE_MAX) &&
           in->name[0] && (in->addr.family == 4 || in->addr.family == 6);
}

int ring_swim_new(const struct ring_swim_conf *c, const struct ring_swim_info *self, uint64_t inc,
                  uint64_t seed, const struct ring_swim_cbs *cbs, void *arg, uint64_t now,
                  struct ring_swim **out)
{
    struct ring_swim *sw;

    if (!conf_ok(c) || !info_ok(self))
        return RING_EINVAL;
    sw = calloc(1, sizeof(*sw));
    if (!sw)
        return RING_ENOMEM;
    sw->conf = *c;
    if (cbs)
        sw->cbs = *cbs;
    sw->arg = arg;
    sw->rng = seed;
    sw->infos = c->infos;
    if (!sw->infos) {
        sw->infos = sw->own_infos = ring_swim_infos_new();
        if (!sw->infos) {
            free(sw);
            return RING_ENOMEM;
        }
    }
    sw->conf.infos = NULL; /* the machine's own copy of the conf names no set */
    sw->cap = 16;
    sw->qcap = 64;
    sw->m = calloc(sw->cap, sizeof(*sw->m));
    sw->q = calloc(sw->qcap, sizeof(*sw->q));
    if (!sw->m || !sw->q || index_rebuild(sw, 64) != RING_OK) {
        ring_swim_free(sw);
        return RING_ENOMEM;
    }
    struct member *me = member_add(sw, self);
    if (!me) {
        ring_swim_free(sw);
        return RING_ENOMEM;
    }
    me->pub.incarnation = inc;
    me->live = RING_ALIVE;
    me->pub.state = RING_ALIVE;
    me->pub.since_ms = me->pub.heard_ms = now;
    sw->nstate[RING_ALIVE] = 1;
    sw->next_probe = now + swim_rand_below(sw, c->probe_interval_ms);
    sw->next_gossip = now + c->gossip_interval_ms;
    sw->next_pushpull = now + swim_pushpull_interval(sw);
    sw->next_reconnect = now + c->reconnect_interval_ms;
    sw->next_reclaim = now + 1000;
    sw->next_susp = SWIM_NONE;
    *out = sw;
    return RING_OK;
}

void ring_swim_free(struct ring_swim *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; i < sw->n; i++) {
        swim_info_put(sw->infos, sw->m[i].pub.info);
        free(sw->m[i].susp);
    }
    ring_swim_infos_free(sw->own_infos);
    free(sw->m);
    free(sw->names);
    free(sw->index);
    free(sw->order);
    free(sw->q);
    free(sw);
}

void ring_swim_tick(struct ring_swim *sw, uint64_t now)
{
    if (sw->next_susp <= now) {
        for (size_t i = 1; i < sw->n; i++) {
            struct member *mb = &sw->m[i];
            if (!mb->susp)
                continue;
            if (mb->susp->deadline <= now) {
                swim_declare_dead(sw, now, mb);
            } else if (mb->susp->check_at <= now) {
                mb->susp->check_at = now + swim_check_interval(sw);
                swim_check_suspect(sw, mb);
            }
        }
        swim_susp_refresh(sw);
    }
    swim_relay_tick(sw, now);
    swim_probe_tick(sw, now);
    swim_rounds_tick(sw, now);
    if (now >= sw->next_reclaim) {
        sw->next_reclaim = now + 1000;
        swim_reclaim(sw, now);
    }
}

uint64_t ring_swim_next(const struct ring_swim *sw)
{
    uint64_t t = swim_probe_next(sw);
    if (sw->next_susp < t)
        t = sw->next_susp;
    if (sw->nq && sw->next_gossip < t)
        t = sw->next_gossip;
    if (sw->next_pushpull < t)
        t = sw->next_pushpull;
    if (sw->next_reconnect < t)
        t = sw->next_reconnect;
    if (sw->next_reclaim < t)
        t = sw->next_reclaim;
    for (size_t i = 0; i < SWIM_RELAYS_MAX; i++)
        if (sw->relays[i].used && sw->relays[i].nack_at < t)
            t = sw->relays[i].nack_at;
    return t;
}

void ring_swim_recv(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                    const struct ring_swim_msg *m)
{
    size_t n = m->nupdates < RING_SWIM_UPDATES_MAX ? m->nupdates : RING_SWIM_UPDATES_MAX;

    sw->st.msgs_in++;
    for (size_t i = 0; i < n; i++)
        swim_apply(sw, now, &m->updates[i]);
    switch (m->type) {
    case RING_SWIM_PING:
        swim_on_ping(sw, now, from, m);
        break;
    case RING_SWIM_PING_REQ:
        swim_on_ping_req(sw, now, from, m);
        break;
    case RING_SWIM_ACK:
        swim_on_ack(sw, now, m->seq);
        break;
    case RING_SWIM_NACK:
        swim_on_nack(sw, m->seq);
        break;
    case RING_SWIM_GOSSIP:
        break;
    }
}

/* ---- push-pull ------------------------------------------------------------------------ */

size_t ring_swim_export(const struct ring_swim *sw, uint64_t now,
                        void (*each)(void *arg, const struct ring_swim_member *m), void *arg)
{
    (void)now;
    for (size_t i = 0; i < sw->n; i++) {
        struct ring_swim_member pm = sw->m[i].pub;
        pm.state = pub_state(&sw->m[i]);
        each(arg, &pm);
    }
    return sw->n;
}

static void update_of(const struct ring_swim_member *rm, const uint8_t *from,
                      struct ring_swim_update *u)
{
    memset(u, 0, sizeof(*u));
    memcpy(u->id, rm->info->id, RING_ID_LEN);
    u->incarnation = rm->incarnation;
    u->info = *rm->info;
    memcpy(u->from, from, RING_ID_LEN);
    switch (rm->state) {
    case RING_ALIVE:
        u->kind = RING_SWIM_U_ALIVE;
        break;
    case RING_LEAVING:
        u->kind = RING_SWIM_U_LEAVING;
        break;
    case RING_SUSPECT:
    case RING_DEAD: /* a remote verdict of death is only a suspicion here */
        u->kind = RING_SWIM_U_SUSPECT;
        break;
    case RING_LEFT:
        u->kind = RING_SWIM_U_LEFT;
        break;
    }
}

int ring_swim_merge(struct ring_swim *sw, uint64_t now, const struct ring_swim_member *ms, size_t n,
                    int join)
{
    const struct ring_swim_info *me = sw->m[0].pub.info;
    const uint8_t *from;
    struct ring_swim_update u;

    for (size_t i = 0; i < n; i++)
        if (!ms[i].info)
            return RING_EINVAL;
    from = n ? ms[0].info->id : me->id;
    if (join)
        for (size_t i = 0; i < n; i++) {
            int live = ms[i].state != RING_DEAD && ms[i].state != RING_LEFT;
            int same_id = memcmp(ms[i].info->id, me->id, RING_ID_LEN) == 0;
            if (live && ((same_id && !ring_addr_eq(&ms[i].info->addr, &me->addr)) ||
                         (!same_id && strncmp(ms[i].info->name, me->name, RING_NAME_MAX) == 0))) {
                conflict(sw, me, ms[i].info);
                return RING_SWIM_ECONFLICT;
            }
        }
    sw->st.pushpulls++;
    member_reserve(sw, sw->n + n); /* best effort: member_add grows as it must */
    for (size_t i = 0; i < n; i++) {
        const struct ring_swim_member *rm = &ms[i];
        struct member *mb;

        if (!info_ok(rm->info) || rm->state > RING_LEFT)
            continue;
        /* the member itself says it is alive (the first record is the peer's own) */
        update_of(rm, from, &u);
        if (i == 0 && u.kind == RING_SWIM_U_SUSPECT)
            continue;
        if (!swim_lookup(sw, u.id)) {
            struct ring_swim_update a = u;
            /* a member this node never knew, reported dead or gone: nothing
             * to learn (it would only be reported dead again) */
            if (rm->state == RING_DEAD || rm->state == RING_LEFT)
                continue;
            a.kind = RING_SWIM_U_ALIVE; /* to suspect it, it must be known first */
            if (u.kind == RING_SWIM_U_SUSPECT)
                swim_apply(sw, now, &a);
        }
        swim_apply(sw, now, &u);
        mb = swim_lookup(sw, rm->info->id);
        if (mb && rm->load.seq > mb->pub.load.seq)
            mb->pub.load = rm->load;
        if (mb && i == 0)
            mb->pub.heard_ms = now;
    }
    return RING_OK;
}

/* ---- this node ------------------------------------------------------------------------ */

void ring_swim_leave(struct ring_swim *sw, uint64_t now, int left)
{
    struct member *self = &sw->m[0];
    struct ring_swim_update u;
    struct ring_swim_msg m;
    size_t sent = 0;

    if (self->live == RING_LEFT)
        return;
    self->pub.incarnation++;
    set_live(sw, now, self, left ? RING_LEFT : RING_ALIVE, 1);
    swim_make_alive(sw, &u);
    swim_enqueue(sw, &u);
    /* tell some members now rather than at the next rounds */
    for (size_t tries = 0; tries < sw->n * 2 && sent < 2 * sw->conf.gossip_fanout; tries++) {
        struct member *mb = &sw->m[1 + swim_rand_below(sw, sw->n > 1 ? sw->n - 1 : 1)];
        if (sw->n < 2 || !is_live(mb))
            continue;
        memset(&m, 0, sizeof(m));
        m.type = RING_SWIM_GOSSIP;
        swim_send(sw, &mb->pub.info->addr, &m);
        if (sent++ == 0 && left && sw->cbs.pushpull)
            sw->cbs.pushpull(sw->arg, &mb->pub.info->addr); /* one that surely has it */
    }
}

void ring_swim_set_load(struct ring_swim *sw, uint64_t bytes, uint64_t blocks)
{
    struct ring_swim_load *l = &sw->m[0].pub.load;
    l->seq++;
    l->bytes = bytes;
    l->blocks = blocks;
}

void ring_swim_self_update(struct ring_swim *sw, uint64_t now, const struct ring_swim_info *info)
{
    struct member *self = &sw->m[0];
    struct ring_swim_update u;

    (void)now;
    if (!info_ok(info) || memcmp(info->id, self->pub.info->id, RING_ID_LEN) != 0 ||
        member_set_info(sw, self, info) < 0)
        return;
    self->pub.incarnation++;
    sw->version++;
    swim_make_alive(sw, &u);
    swim_enqueue(sw, &u);
}

/* ---- the view ------------------------------------------------------------------------- */

size_t ring_swim_count(const struct ring_swim *sw)
{
    return sw->n;
}

const struct ring_swim_member *ring_swim_member_at(const struct ring_swim *sw, size_t i)
{
    if (i >= sw->n)
        return NULL;
    sw->m[i].pub.state = pub_state(&sw->m[i]);
    return &sw->m[i].pub;
}

const struct ring_swim_member *ring_swim_find(const struct ring_swim *sw,
                                              const uint8_t id[RING_ID_LEN])
{
    struct member *mb = swim_lookup((struct ring_swim *)sw, id);
    return mb ? &mb->pub : NULL;
}

const struct ring_swim_member *ring_swim_self(const struct ring_swim *sw)
{
    return &sw->m[0].pub;
}

size_t ring_swim_count_state(const struct ring_swim *sw, enum ring_state st)
{
    return (unsigned)st <= RING_LEFT ? sw->nstate[st] : 0;
}

unsigned ring_swim_health(const struct ring_swim *sw)
{
    return sw->health;
}

void ring_swim_stats_get(const struct ring_swim *sw, struct ring_swim_stats *out)
{
    *out = sw->st;
}

uint64_t ring_swim_version(const struct ring_swim *sw)
{
    return sw->version;
}

size_t ring_swim_members(const struct ring_swim *sw, struct ring_member *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < sw->n && k < max; i++, k++) {
        const struct member *mb = &sw->m[i];
        memcpy(out[k].id, mb->pub.info->id, RING_ID_LEN);
        out[k].weight = mb->pub.info->weight;
        memcpy(out[k].zone, mb->pub.info->zone, RING_ZONE_MAX);
        out[k].state = pub_state(mb);
    }
    return k;
}
