/* ring/swim_sim.c: the gossip simulation (see swim_sim.h).
 *
 * One heap of events drives it: the network's deliveries (datagrams,
 * push-pulls), node starts and stops, and the nodes' timers (each node's
 * ring_swim_next()); ties go by insertion order, so a seed always gives the
 * same run. */
#include "ring/swim_sim.h"
#include "ring/swim_int.h"
#include "ring/swim_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_PORT 7946
#define UDP_IP_HEADERS 28

enum ev_type { EV_DGRAM, EV_PUSHPULL, EV_START, EV_STOP, EV_TIMER };

struct ev {
    uint64_t t_us, order;
    enum ev_type type;
    uint32_t from, to;
    long seed;
    uint16_t len;
    uint8_t *bytes;
};

struct node {
    struct ring_sim *sim;
    uint32_t idx;
    struct ring_swim *sw;
    int running, started;
    int gone;          /* 1 killed, 2 left */
    uint64_t gone_us;  /* when */
    uint64_t seen_max; /* the latest time a node saw it dead or left (us) */
    uint64_t sched;    /* the timer queued for it, UINT64_MAX none */
};

struct ring_sim {
    struct ring_sim_conf conf;
    struct ring_swim_infos *infos; /* shared by all nodes: N infos, not N^2 */
    struct node *nodes;
    int *group;
    uint64_t now_us, order, rng;
    struct ev *evs;
    size_t nev, evcap;
    struct ring_sim_stats st;
};

static uint64_t sim_rand(struct ring_sim *s)
{
    return swim_splitmix(&s->rng);
}

static double sim_unit(struct ring_sim *s)
{
    return (double)(sim_rand(s) >> 11) / (double)(1ULL << 53);
}

/* ---- heaps ---------------------------------------------------------------------------- */

static int ev_less(const struct ev *a, const struct ev *b)
{
    return a->t_us < b->t_us || (a->t_us == b->t_us && a->order < b->order);
}

static int ev_push(struct ring_sim *s, struct ev e)
{
    if (s->nev == s->evcap) {
        size_t cap = s->evcap ? s->evcap * 2 : 1024;
        void *p = realloc(s->evs, cap * sizeof(*s->evs));
        if (!p)
            return RING_ENOMEM;
        s->evs = p;
        s->evcap = cap;
    }
    e.order = s->order++;
    size_t i = s->nev++;
    while (i > 0 && ev_less(&e, &s->evs[(i - 1) / 2])) {
        s->evs[i] = s->evs[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->evs[i] = e;
    return RING_OK;
}

static struct ev ev_pop(struct ring_sim *s)
{
    struct ev top = s->evs[0], last = s->evs[--s->nev];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nev)
            break;
        if (c + 1 < s->nev && ev_less(&s->evs[c + 1], &s->evs[c]))
            c++;
        if (!ev_less(&s->evs[c], &last))
            break;
        s->evs[i] = s->evs[c];
        i = c;
    }
    if (s->nev)
        s->evs[i] = last;
    return top;
}

/* ---- nodes and addresses -------------------------------------------------------------- */

static void node_addr(uint32_t i, struct ring_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 10;
    a->ip[1] = (uint8_t)(i >> 16);
    a->ip[2] = (uint8_t)(i >> 8);
    a->ip[3] = (uint8_t)i;
    a->port = SIM_PORT;
}

static long addr_node(const struct ring_sim *s, const struct ring_addr *a)
{
    if (a->family != 4 || a->ip[0] != 10 || a->port != SIM_PORT)
        return -1;
    uint32_t i = (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
    return i < s->conf.nodes ? (long)i : -1;
}

static void node_id(uint32_t i, uint8_t id[RING_ID_LEN])
{
    uint64_t a = (uint64_t)i * 0x9E3779B97F4A7C15ULL + 1, b = a ^ 0xD1B54A32D192ED03ULL;
    a ^= a >> 29;
    b *= 0xBF58476D1CE4E5B9ULL;
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

static long id_node(const struct ring_sim *s, const uint8_t id[RING_ID_LEN],
                    const struct ring_addr *addr)
{
    long i = addr_node(s, addr);
    uint8_t want[RING_ID_LEN];
    if (i < 0)
        return -1;
    node_id((uint32_t)i, want);
    return memcmp(want, id, RING_ID_LEN) == 0 ? i : -1;
}

static void schedule(struct ring_sim *s, struct node *n)
{
    if (!n->running)
        return;
    uint64_t t = ring_swim_next(n->sw);
    if (t < n->sched) {
        struct ev e = {.t_us = t * 1000, .type = EV_TIMER, .to = n->idx};
        n->sched = t;
        ev_push(s, e); /* out of memory: the node's timers run at its next message */
    }
}

static int connected(const struct ring_sim *s, uint32_t a, uint32_t b)
{
    return !s->group || s->group[a] == s->group[b];
}

static uint64_t delay_us(struct ring_sim *s)
{
    return s->conf.latency_us + (s->conf.jitter_us ? sim_rand(s) % (s->conf.jitter_us + 1) : 0);
}

/* ---- the state machine's callbacks ----------------------------------------------------- */

static void cb_send(void *arg, const struct ring_addr *to, const struct ring_swim_msg *m)
{
    struct node *n = arg;
    struct ring_sim *s = n->sim;
    uint8_t buf[RING_SWIM_PACKET_MAX];
    size_t len;
    long dst = addr_node(s, to);

    if (ring_swim_wire_encode(m, buf, sizeof(buf) - RING_SWIM_SEAL_OVERHEAD, &len) != RING_OK) {
        s->st.decode_errors++;
        return;
    }
    s->st.datagrams++;
    s->st.bytes += len + RING_SWIM_SEAL_OVERHEAD + UDP_IP_HEADERS;
    if (dst < 0 || !connected(s, n->idx, (uint32_t)dst) || sim_unit(s) < s->conf.loss) {
        s->st.dropped++;
        return;
    }
    struct ev e = {.t_us = s->now_us + delay_us(s),
                   .type = EV_DGRAM,
                   .from = n->idx,
                   .to = (uint32_t)dst,
                   .len = (uint16_t)len,
                   .bytes = malloc(len)};
    if (!e.bytes)
        return;
    memcpy(e.bytes, buf, len);
    if (ev_push(s, e) != RING_OK)
        free(e.bytes);
}

static void cb_pushpull(void *arg, const struct ring_addr *to)
{
    struct node *n = arg;
    struct ring_sim *s = n->sim;
    long dst = addr_node(s, to);
    if (dst < 0)
        return;
    struct ev e = {.t_us = s->now_us + 2 * delay_us(s),
                   .type = EV_PUSHPULL,
                   .from = n->idx,
                   .to = (uint32_t)dst};
    ev_push(s, e);
}

static void cb_changed(void *arg, const struct ring_swim_member *m, int old, int forgotten)
{
    struct node *n = arg;
    struct ring_sim *s = n->sim;
    long who = id_node(s, m->info->id, &m->info->addr);

    (void)old;
    if (who < 0 || forgotten || (m->state != RING_DEAD && m->state != RING_LEFT))
        return;
    struct node *v = &s->nodes[who];
    if (!v->gone && m->state == RING_DEAD)
        s->st.false_deaths++;
    if (v->gone && s->now_us > v->seen_max)
        v->seen_max = s->now_us;
}

/* ---- state exchange ------------------------------------------------------------------- */

/* Sends A's state to B (encoded and decoded, as over the stream). */
static void push_state(struct ring_sim *s, struct node *a, struct node *b, int join)
{
    struct ring_swim_member *ms = NULL;
    size_t len = 0, n = 0;
    uint64_t now = s->now_us / 1000;
    uint8_t *buf = ring_swim_wire_state_of(a->sw, now, &len);

    if (!buf) {
        s->st.decode_errors++;
        return;
    }
    s->st.stream_bytes += len + RING_SWIM_SEAL_OVERHEAD;
    if (ring_swim_wire_state_decode(buf, len, &ms, &n) == RING_OK)
        ring_swim_merge(b->sw, now, ms, n, join);
    else
        s->st.decode_errors++;
    free(ms);
    free(buf);
}

static void do_pushpull(struct ring_sim *s, struct node *a, struct node *b)
{
    if (!a->running || !b->running || !connected(s, a->idx, b->idx) || a == b)
        return;
    int joining = ring_swim_count(a->sw) == 1;
    s->st.pushpulls++;
    push_state(s, a, b, 0);
    push_state(s, b, a, joining);
    schedule(s, a);
    schedule(s, b);
}

/* ---- public --------------------------------------------------------------------------- */

int ring_sim_new(const struct ring_sim_conf *c, struct ring_sim **out)
{
    struct ring_sim *s;

    if (c->nodes < 1 || c->nodes > (1u << 24) || c->loss < 0 || c->loss > 1)
        return RING_EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return RING_ENOMEM;
    s->conf = *c;
    s->rng = c->seed ^ 0x5EED5EED5EED5EEDULL;
    s->nodes = calloc(c->nodes, sizeof(*s->nodes));
    s->infos = ring_swim_infos_new();
    if (!s->nodes || !s->infos) {
        free(s->nodes);
        ring_swim_infos_free(s->infos);
        free(s);
        return RING_ENOMEM;
    }
    s->conf.swim.infos = s->infos;
    for (size_t i = 0; i < c->nodes; i++) {
        s->nodes[i].sim = s;
        s->nodes[i].idx = (uint32_t)i;
        s->nodes[i].sched = UINT64_MAX;
    }
    *out = s;
    return RING_OK;
}

void ring_sim_free(struct ring_sim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->conf.nodes; i++)
        ring_swim_free(s->nodes[i].sw);
    for (size_t i = 0; i < s->nev; i++)
        free(s->evs[i].bytes);
    free(s->evs);
    free(s->group);
    free(s->nodes);
    ring_swim_infos_free(s->infos);
    free(s);
}

int ring_sim_start(struct ring_sim *s, size_t i, long seed)
{
    struct node *n;
    struct ring_swim_info info;
    static const struct ring_swim_cbs cbs = {cb_send, cb_pushpull, cb_changed, NULL};
    uint64_t now = s->now_us / 1000;
    int err;

    if (i >= s->conf.nodes || s->nodes[i].started)
        return RING_EINVAL;
    n = &s->nodes[i];
    memset(&info, 0, sizeof(info));
    node_id((uint32_t)i, info.id);
    snprintf(info.name, sizeof(info.name), "n%zu", i);
    if (s->conf.zones)
        snprintf(info.zone, sizeof(info.zone), "z%zu", i % s->conf.zones);
    info.weight = 1;
    node_addr((uint32_t)i, &info.addr);
    err = ring_swim_new(&s->conf.swim, &info, now + 1, sim_rand(s), &cbs, n, now, &n->sw);
    if (err)
        return err;
    n->started = n->running = 1;
    schedule(s, n);
    if (seed >= 0 && (size_t)seed != i && (size_t)seed < s->conf.nodes) {
        struct ev e = {.t_us = s->now_us + 2 * delay_us(s),
                       .type = EV_PUSHPULL,
                       .from = (uint32_t)i,
                       .to = (uint32_t)seed};
        ev_push(s, e);
    }
    return RING_OK;
}

static void stop(struct ring_sim *s, struct node *n, int how)
{
    if (!n->running)
        return;
    n->running = 0;
    if (!n->gone) {
        n->gone = how;
        n->gone_us = s->now_us;
    }
}

void ring_sim_kill(struct ring_sim *s, size_t i)
{
    if (i < s->conf.nodes)
        stop(s, &s->nodes[i], 1);
}

void ring_sim_leave(struct ring_sim *s, size_t i)
{
    struct node *n;
    if (i >= s->conf.nodes || !s->nodes[i].running)
        return;
    n = &s->nodes[i];
    n->gone = 2;
    n->gone_us = s->now_us;
    ring_swim_leave(n->sw, s->now_us / 1000, 1);
    schedule(s, n);
    struct ev e = {.t_us = s->now_us + 1000000, .type = EV_STOP, .from = (uint32_t)i};
    ev_push(s, e);
}

void ring_sim_partition(struct ring_sim *s, const int *group)
{
    free(s->group);
    s->group = NULL;
    if (!group)
        return;
    s->group = malloc(s->conf.nodes * sizeof(*s->group));
    if (s->group)
        memcpy(s->group, group, s->conf.nodes * sizeof(*s->group));
}

void ring_sim_set_loss(struct ring_sim *s, double loss)
{
    s->conf.loss = loss < 0 ? 0 : loss > 1 ? 1 : loss;
}

static void run_ev(struct ring_sim *s, struct ev *e)
{
    struct node *to = &s->nodes[e->to], *from = &s->nodes[e->from];
    uint64_t now = s->now_us / 1000;

    switch (e->type) {
    case EV_DGRAM:
        if (to->running) {
            struct ring_swim_msg m;
            struct ring_addr fa;
            node_addr(e->from, &fa);
            if (ring_swim_wire_decode(e->bytes, e->len, &m) == RING_OK) {
                ring_swim_recv(to->sw, now, &fa, &m);
                schedule(s, to);
            } else {
                s->st.decode_errors++;
            }
        }
        break;
    case EV_PUSHPULL:
        do_pushpull(s, from, to);
        break;
    case EV_START:
        ring_sim_start(s, e->from, e->seed);
        break;
    case EV_STOP:
        stop(s, from, 2);
        break;
    case EV_TIMER:
        if (e->t_us / 1000 != to->sched)
            break; /* superseded by an earlier one */
        to->sched = UINT64_MAX;
        if (to->running) {
            ring_swim_tick(to->sw, now);
            schedule(s, to);
        }
        break;
    }
    free(e->bytes);
}

void ring_sim_run(struct ring_sim *s, uint64_t t_ms)
{
    uint64_t end_us = t_ms * 1000;

    while (s->nev && s->evs[0].t_us <= end_us) {
        struct ev e = ev_pop(s);
        if (e.t_us > s->now_us)
            s->now_us = e.t_us;
        run_ev(s, &e);
    }
    if (end_us > s->now_us)
        s->now_us = end_us;
}

uint64_t ring_sim_now(const struct ring_sim *s)
{
    return s->now_us / 1000;
}

long ring_sim_start_all(struct ring_sim *s, uint64_t spread_ms, uint64_t limit_ms)
{
    uint64_t t0 = s->now_us;

    if (!s->nodes[0].started && ring_sim_start(s, 0, -1) != RING_OK)
        return -1;
    for (size_t i = 1; i < s->conf.nodes; i++) {
        struct ev e = {.t_us = s->now_us + (spread_ms ? sim_rand(s) % (spread_ms * 1000) : 0),
                       .type = EV_START,
                       .from = (uint32_t)i,
                       .seed = 0};
        ev_push(s, e);
    }
    for (uint64_t t = s->now_us / 1000; t <= t0 / 1000 + limit_ms; t += 50) {
        ring_sim_run(s, t);
        if (t >= t0 / 1000 + spread_ms && ring_sim_converged(s))
            return (long)(t - t0 / 1000);
    }
    return -1;
}

int ring_sim_start_known(struct ring_sim *s)
{
    uint64_t now = s->now_us / 1000;
    struct ring_swim_member *ms = calloc(s->conf.nodes, sizeof(*ms));
    int err = RING_OK;

    if (!ms)
        return RING_ENOMEM;
    for (size_t i = 0; i < s->conf.nodes && !err; i++)
        if (!s->nodes[i].started)
            err = ring_sim_start(s, i, -1);
    for (size_t i = 0; i < s->conf.nodes && !err; i++)
        ms[i] = *ring_swim_self(s->nodes[i].sw);
    for (size_t i = 0; i < s->conf.nodes && !err; i++) {
        struct ring_swim *sw = s->nodes[i].sw;
        /* quiet: as long after the join, when its gossip has died down (and
         * N nodes do not queue N updates each) */
        sw->quiet = 1;
        err = ring_swim_merge(sw, now, ms, s->conf.nodes, 1);
        sw->quiet = 0;
        schedule(s, &s->nodes[i]);
    }
    free(ms);
    return err;
}

long ring_sim_detected(const struct ring_sim *s, size_t i)
{
    const struct node *v = &s->nodes[i];
    uint8_t id[RING_ID_LEN];

    if (i >= s->conf.nodes || !v->gone)
        return -1;
    node_id((uint32_t)i, id);
    for (size_t k = 0; k < s->conf.nodes; k++) {
        const struct node *o = &s->nodes[k];
        if (!o->running || k == i)
            continue;
        const struct ring_swim_member *m = ring_swim_find(o->sw, id);
        if (m && m->state != RING_DEAD && m->state != RING_LEFT)
            return -1;
    }
    return v->seen_max > v->gone_us ? (long)((v->seen_max - v->gone_us) / 1000) : 0;
}

int ring_sim_converged(const struct ring_sim *s)
{
    size_t running = 0;
    for (size_t k = 0; k < s->conf.nodes; k++)
        running += s->nodes[k].running;
    for (size_t k = 0; k < s->conf.nodes; k++) {
        const struct node *o = &s->nodes[k];
        if (!o->running)
            continue;
        if (ring_swim_count_state(o->sw, RING_ALIVE) + ring_swim_count_state(o->sw, RING_SUSPECT) !=
            running)
            return 0;
    }
    return 1;
}

struct ring_swim *ring_sim_node(struct ring_sim *s, size_t i)
{
    return i < s->conf.nodes ? s->nodes[i].sw : NULL;
}

int ring_sim_running(const struct ring_sim *s, size_t i)
{
    return i < s->conf.nodes && s->nodes[i].running;
}

void ring_sim_stats_get(const struct ring_sim *s, struct ring_sim_stats *out)
{
    *out = s->st;
}
