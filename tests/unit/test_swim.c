/* tests/unit/test_swim.c: the membership state machine, deterministically.
 * The merge rules and refutation, name and id conflicts, Lifeguard's
 * suspicion timeout and local health, the dissemination count, the probe
 * and indirect probe flow against scripted peers, the wire format (round
 * trips and rejects), and whole clusters in the simulation (join, kill -9,
 * leave, 10% loss, a partition that heals). */
#include "ring/swim.c"
#include "ring/swim_probe.c"
#include "ring/swim_queue.c"
#include "ring/swim_susp.c"
#include "ring/swim_sim.c"
#include "ring/swim_wire.h"

#include "tests/unit/harness.h"

#include <math.h>
#include <stdio.h>

/* ---- one machine and scripted peers ----------------------------------------------------- */

#define OUT_MAX 4096

struct sent {
    struct ring_addr to;
    struct ring_swim_msg m;
};

static struct sent *outbox;
static size_t nout;
static int nconflicts, npushpulls;

static void t_send(void *arg, const struct ring_addr *to, const struct ring_swim_msg *m)
{
    (void)arg;
    if (nout < OUT_MAX) {
        outbox[nout].to = *to;
        outbox[nout].m = *m;
        nout++;
    }
}

static void t_pushpull(void *arg, const struct ring_addr *to)
{
    (void)arg;
    (void)to;
    npushpulls++;
}

static void t_conflict(void *arg, const struct ring_swim_info *mine,
                       const struct ring_swim_info *who)
{
    (void)arg;
    (void)mine;
    (void)who;
    nconflicts++;
}

static const struct ring_swim_cbs tcbs = {t_send, t_pushpull, NULL, t_conflict};

static void info_of(int i, struct ring_swim_info *in)
{
    memset(in, 0, sizeof(*in));
    memset(in->id, 0, RING_ID_LEN);
    in->id[0] = (uint8_t)(i + 1);
    in->id[15] = 0xAB;
    snprintf(in->name, sizeof(in->name), "node%d", i);
    snprintf(in->zone, sizeof(in->zone), "z%d", i % 3);
    in->weight = 1;
    in->addr.family = 4;
    in->addr.ip[0] = 127;
    in->addr.ip[3] = (uint8_t)(i + 1);
    in->addr.port = 7000;
}

static struct ring_swim *me_new(uint64_t now)
{
    struct ring_swim_conf c;
    struct ring_swim_info in;
    struct ring_swim *sw = NULL;

    if (!outbox)
        outbox = calloc(OUT_MAX, sizeof(*outbox));
    nout = 0;
    nconflicts = npushpulls = 0;
    ring_swim_conf_default(&c);
    info_of(0, &in);
    if (ring_swim_new(&c, &in, 100, 42, &tcbs, NULL, now, &sw) != RING_OK)
        return NULL;
    return sw;
}

/* a GOSSIP message with one update */
static void gossip(struct ring_swim *sw, uint64_t now, enum ring_swim_kind kind, int who,
                   uint64_t inc, int from)
{
    struct ring_swim_msg m;
    struct ring_addr a;

    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_GOSSIP;
    m.nupdates = 1;
    m.updates[0].kind = kind;
    info_of(who, &m.updates[0].info);
    memcpy(m.updates[0].id, m.updates[0].info.id, RING_ID_LEN);
    m.updates[0].incarnation = inc;
    struct ring_swim_info f;
    info_of(from, &f);
    memcpy(m.updates[0].from, f.id, RING_ID_LEN);
    info_of(from, &f);
    a = f.addr;
    ring_swim_recv(sw, now, &a, &m);
}

static const struct ring_swim_member *member(struct ring_swim *sw, int who)
{
    struct ring_swim_info in;
    info_of(who, &in);
    return ring_swim_find(sw, in.id);
}

static enum ring_state state_of(struct ring_swim *sw, int who)
{
    const struct ring_swim_member *m = member(sw, who);
    return m ? m->state : (enum ring_state) - 1;
}

TEST(test_merge_alive_incarnations)
{
    struct ring_swim *sw = me_new(0);
    REQUIRE(sw);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 1, 5, 1);
    REQUIRE(member(sw, 1));
    CHECK(state_of(sw, 1) == RING_ALIVE && member(sw, 1)->incarnation == 5);
    CHECK(ring_swim_count(sw) == 2);
    gossip(sw, 2, RING_SWIM_U_ALIVE, 1, 4, 1); /* older: ignored */
    CHECK(member(sw, 1)->incarnation == 5);
    gossip(sw, 3, RING_SWIM_U_LEAVING, 1, 6, 1); /* newer, draining */
    CHECK(state_of(sw, 1) == RING_LEAVING && member(sw, 1)->incarnation == 6);
    ring_swim_free(sw);
}

TEST(test_merge_suspect_dead_left)
{
    struct ring_swim *sw = me_new(0);
    REQUIRE(sw);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 1, 5, 1);
    gossip(sw, 2, RING_SWIM_U_SUSPECT, 1, 4, 2); /* older incarnation */
    CHECK(state_of(sw, 1) == RING_ALIVE);
    gossip(sw, 3, RING_SWIM_U_SUSPECT, 1, 5, 2);
    CHECK(state_of(sw, 1) == RING_SUSPECT);
    gossip(sw, 4, RING_SWIM_U_ALIVE, 1, 5, 1); /* same incarnation: suspicion stands */
    CHECK(state_of(sw, 1) == RING_SUSPECT);
    gossip(sw, 5, RING_SWIM_U_ALIVE, 1, 6, 1); /* refuted */
    CHECK(state_of(sw, 1) == RING_ALIVE);
    gossip(sw, 6, RING_SWIM_U_DEAD, 1, 5, 2); /* older */
    CHECK(state_of(sw, 1) == RING_ALIVE);
    gossip(sw, 7, RING_SWIM_U_DEAD, 1, 6, 2);
    CHECK(state_of(sw, 1) == RING_DEAD);
    gossip(sw, 8, RING_SWIM_U_ALIVE, 1, 6, 1); /* a dead node needs a new incarnation */
    CHECK(state_of(sw, 1) == RING_DEAD);
    gossip(sw, 9, RING_SWIM_U_LEFT, 1, 6, 1); /* left beats dead at the same incarnation */
    CHECK(state_of(sw, 1) == RING_LEFT);
    gossip(sw, 10, RING_SWIM_U_SUSPECT, 1, 6, 2);
    CHECK(state_of(sw, 1) == RING_LEFT);
    gossip(sw, 11, RING_SWIM_U_ALIVE, 1, 7, 1); /* it came back */
    CHECK(state_of(sw, 1) == RING_ALIVE);
    gossip(sw, 12, RING_SWIM_U_SUSPECT, 9, 1, 2); /* unknown member: nothing */
    CHECK(ring_swim_count(sw) == 2);
    ring_swim_free(sw);
}

/* whether a message sent since index FROM carries KIND about WHO at INC */
static int sent_update(size_t from, enum ring_swim_kind kind, int who, uint64_t inc)
{
    struct ring_swim_info in;
    info_of(who, &in);
    for (size_t i = from; i < nout; i++)
        for (size_t u = 0; u < outbox[i].m.nupdates; u++) {
            const struct ring_swim_update *up = &outbox[i].m.updates[u];
            if (up->kind == kind && memcmp(up->id, in.id, RING_ID_LEN) == 0 &&
                up->incarnation == inc)
                return 1;
        }
    return 0;
}

TEST(test_refute)
{
    struct ring_swim *sw = me_new(0);
    struct ring_swim_stats st;
    REQUIRE(sw);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 1, 5, 1);
    gossip(sw, 2, RING_SWIM_U_SUSPECT, 0, 99, 1); /* older than this node: old news */
    CHECK(ring_swim_self(sw)->incarnation == 100);
    gossip(sw, 3, RING_SWIM_U_SUSPECT, 0, 100, 1);
    CHECK(ring_swim_self(sw)->incarnation == 101);
    CHECK(ring_swim_health(sw) == 1);
    gossip(sw, 4, RING_SWIM_U_DEAD, 0, 250, 1);
    CHECK(ring_swim_self(sw)->incarnation == 251);
    CHECK(ring_swim_self(sw)->state == RING_ALIVE);
    ring_swim_stats_get(sw, &st);
    CHECK(st.refutations == 2);
    nout = 0;
    ring_swim_tick(sw, 300); /* the gossip round carries the refutation */
    ring_swim_tick(sw, 600);
    CHECK(sent_update(0, RING_SWIM_U_ALIVE, 0, 251));
    ring_swim_free(sw);
}

TEST(test_stale_suspicion_reannounced)
{
    /* a suspicion of an older incarnation: its sender missed the
     * refutation; it is queued again (no new incarnation, no health cost)
     * and rides on the next message, here the ack to that sender's ping */
    struct ring_swim *sw = me_new(0);
    struct ring_swim_msg m;
    struct ring_swim_info me, p1;
    REQUIRE(sw);
    info_of(0, &me);
    info_of(1, &p1);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 1, 1, 1);
    while (sw->nq)
        swim_dequeue(sw, sw->nq - 1);
    nout = 0;
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_PING;
    m.seq = 9;
    memcpy(m.target, me.id, RING_ID_LEN);
    m.nupdates = 1;
    m.updates[0].kind = RING_SWIM_U_SUSPECT;
    memcpy(m.updates[0].id, me.id, RING_ID_LEN);
    m.updates[0].incarnation = 99; /* this node is at 100 */
    memcpy(m.updates[0].from, p1.id, RING_ID_LEN);
    ring_swim_recv(sw, 2, &p1.addr, &m);
    CHECK(ring_swim_self(sw)->incarnation == 100 && ring_swim_health(sw) == 0);
    REQUIRE(nout == 1 && outbox[0].m.type == RING_SWIM_ACK && outbox[0].m.seq == 9);
    int carried = 0;
    for (size_t u = 0; u < outbox[0].m.nupdates; u++)
        carried |= outbox[0].m.updates[u].kind == RING_SWIM_U_ALIVE &&
                   outbox[0].m.updates[u].incarnation == 100 &&
                   memcmp(outbox[0].m.updates[u].id, me.id, RING_ID_LEN) == 0;
    CHECK(carried);
    ring_swim_free(sw);
}

/* ALIVE for member WHO at INC under NAME, from WHO's address */
static void alive_named(struct ring_swim *sw, uint64_t now, int who, uint64_t inc, const char *name)
{
    struct ring_swim_msg m;
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_GOSSIP;
    m.nupdates = 1;
    m.updates[0].kind = RING_SWIM_U_ALIVE;
    info_of(who, &m.updates[0].info);
    snprintf(m.updates[0].info.name, RING_NAME_MAX, "%s", name);
    memcpy(m.updates[0].id, m.updates[0].info.id, RING_ID_LEN);
    m.updates[0].incarnation = inc;
    ring_swim_recv(sw, now, &m.updates[0].info.addr, &m);
}

TEST(test_conflicts)
{
    struct ring_swim *sw = me_new(0);
    struct ring_swim_msg m;
    struct ring_addr a;
    REQUIRE(sw);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 1, 5, 1);
    /* a second live node named node1: refused */
    alive_named(sw, 2, 2, 1, "node1");
    CHECK(nconflicts == 1 && ring_swim_count(sw) == 2 && !member(sw, 2));
    /* once node1 is dead, a replacement with its name gets in */
    gossip(sw, 3, RING_SWIM_U_DEAD, 1, 5, 3);
    alive_named(sw, 4, 2, 1, "node1");
    CHECK(member(sw, 2) && state_of(sw, 2) == RING_ALIVE);
    /* another address claims this node's id: reported, and refuted */
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_GOSSIP;
    m.nupdates = 1;
    info_of(0, &m.updates[0].info);
    m.updates[0].info.addr.ip[3] = 77;
    memcpy(m.updates[0].id, m.updates[0].info.id, RING_ID_LEN);
    m.updates[0].incarnation = 500;
    a = m.updates[0].info.addr;
    ring_swim_recv(sw, 5, &a, &m);
    CHECK(nconflicts == 2 && ring_swim_self(sw)->incarnation == 501);
    CHECK(ring_swim_self(sw)->info->addr.ip[3] == 1);
    ring_swim_free(sw);
}

TEST(test_rename_moves_the_name)
{
    /* member 5 takes a new name at a new incarnation: its old name is free
     * for a newcomer, its new one is not */
    struct ring_swim *sw = me_new(0);
    REQUIRE(sw);
    gossip(sw, 1, RING_SWIM_U_ALIVE, 5, 1, 5);
    alive_named(sw, 2, 5, 2, "renamed");
    REQUIRE(member(sw, 5));
    CHECK_STR(member(sw, 5)->info->name, "renamed");
    alive_named(sw, 3, 6, 1, "node5"); /* the old name */
    CHECK(state_of(sw, 6) == RING_ALIVE && nconflicts == 0);
    alive_named(sw, 4, 7, 1, "renamed"); /* the new one */
    CHECK(member(sw, 7) == NULL && nconflicts == 1);
    ring_swim_free(sw);
}

TEST(test_join_conflict)
{
    struct ring_swim *sw = me_new(0);
    struct ring_swim_member remote[2];
    struct ring_swim_info ri[3];
    REQUIRE(sw);
    memset(remote, 0, sizeof(remote));
    memset(ri, 0, sizeof(ri));
    remote[0].info = &ri[0];
    remote[1].info = &ri[1];
    info_of(5, &ri[0]);
    remote[0].incarnation = 3;
    info_of(6, &ri[1]);
    snprintf(ri[1].name, RING_NAME_MAX, "node0"); /* this node's name */
    remote[1].incarnation = 3;
    CHECK(ring_swim_merge(sw, 1, remote, 2, 1) == RING_SWIM_ECONFLICT);
    CHECK(ring_swim_count(sw) == 1 && nconflicts == 1);
    remote[1].state = RING_DEAD; /* a dead holder of the name is no conflict */
    CHECK(ring_swim_merge(sw, 2, remote, 2, 1) == RING_OK);
    CHECK(state_of(sw, 5) == RING_ALIVE);
    CHECK(member(sw, 6) == NULL); /* never known, reported dead: not learned */
    remote[0].state = RING_DEAD;
    CHECK(ring_swim_merge(sw, 3, remote, 1, 0) == RING_OK);
    CHECK(state_of(sw, 5) == RING_ALIVE); /* the first record is the peer itself */
    remote[1] = remote[0];
    info_of(7, &ri[2]);
    remote[0].info = &ri[2];
    remote[0].state = RING_ALIVE;
    CHECK(ring_swim_merge(sw, 4, remote, 2, 0) == RING_OK);
    CHECK(state_of(sw, 5) == RING_SUSPECT); /* a remote death is only a suspicion here */
    /* the same id at another address, alive: this node is the newcomer */
    struct ring_swim *sw2 = me_new(0);
    info_of(0, &ri[1]);
    ri[1].addr.ip[3] = 99;
    remote[1].info = &ri[1];
    remote[1].state = RING_ALIVE;
    CHECK(ring_swim_merge(sw2, 1, remote, 2, 1) == RING_SWIM_ECONFLICT);
    ring_swim_free(sw2);
    ring_swim_free(sw);
}

/* N members known alive; returns the machine */
/* the default suspicion multiplier (alpha) */
static double alpha(void)
{
    struct ring_swim_conf c;
    ring_swim_conf_default(&c);
    return c.suspicion_mult;
}

static struct ring_swim *with_members(int n)
{
    struct ring_swim *sw = me_new(0);
    for (int i = 1; sw && i <= n; i++)
        gossip(sw, 0, RING_SWIM_U_ALIVE, i, 1, i);
    return sw;
}

TEST(test_suspicion_timeout)
{
    /* 20 members and this node: min = alpha * log10(21) * 250 ms, max = 6 * min;
     * K = 2 confirmations bring it to min */
    double n = 21, min = alpha() * log10(n) * 250, max = 6 * min;
    struct ring_swim *sw = with_members(20);
    struct member *mb;
    REQUIRE(sw);
    gossip(sw, 1000, RING_SWIM_U_SUSPECT, 7, 1, 3);
    mb = (struct member *)member(sw, 7);
    REQUIRE(mb && mb->live == RING_SUSPECT);
    CHECK(mb->susp->deadline == 1000 + (uint64_t)max);
    ring_swim_tick(sw, 1000 + (uint64_t)max - 1);
    CHECK(state_of(sw, 7) == RING_SUSPECT);
    ring_swim_tick(sw, 1000 + (uint64_t)max);
    CHECK(state_of(sw, 7) == RING_DEAD);

    /* with one confirmation: max - (max-min)*log(2)/log(3); two: min (node7
     * is dead now: 20 live) */
    min = alpha() * log10(20) * 250;
    max = 6 * min;
    gossip(sw, 20000, RING_SWIM_U_SUSPECT, 8, 1, 3);
    gossip(sw, 20001, RING_SWIM_U_SUSPECT, 8, 1, 3); /* the same accuser again: no */
    mb = (struct member *)member(sw, 8);
    CHECK(mb->susp->deadline == 20000 + (uint64_t)max);
    gossip(sw, 20002, RING_SWIM_U_SUSPECT, 8, 1, 4);
    CHECK(mb->susp->deadline == 20000 + (uint64_t)(max - (max - min) * log(2) / log(3)));
    gossip(sw, 20003, RING_SWIM_U_SUSPECT, 8, 1, 5);
    CHECK(mb->susp->deadline == 20000 + (uint64_t)min);
    ring_swim_tick(sw, 20000 + (uint64_t)min);
    CHECK(state_of(sw, 8) == RING_DEAD);
    ring_swim_free(sw);
}

/* ticks SW from T0 to T1 in 5 ms steps, every member but SILENT acking
 * this node's pings at once (SILENT -1: every member) */
static void tick_answering(struct ring_swim *sw, uint64_t t0, uint64_t t1, int silent)
{
    struct ring_swim_info q;
    info_of(silent, &q);
    for (uint64_t t = t0; t < t1; t += 5) {
        size_t seen = nout;
        ring_swim_tick(sw, t);
        for (size_t i = seen; i < nout; i++) {
            struct ring_swim_msg ack;
            if (outbox[i].m.type != RING_SWIM_PING || ring_addr_eq(&outbox[i].to, &q.addr))
                continue;
            memset(&ack, 0, sizeof(ack));
            ack.type = RING_SWIM_ACK;
            ack.seq = outbox[i].m.seq;
            ring_swim_recv(sw, t, &outbox[i].to, &ack);
        }
        if (nout > OUT_MAX / 2)
            nout = 0;
    }
}

TEST(test_suspect_checks)
{
    /* a suspicion still held after half the shortest timeout makes this node
     * ask the suspect itself (its answer carries the refutation gossip may
     * have missed), then every half of it: whoever accused, this node too */
    uint64_t half = (uint64_t)(alpha() * log10(21) * 250 / 2), t0 = 1000;
    for (int accuser = 0; accuser <= 3; accuser += 3) {
        struct ring_swim *sw = with_members(20);
        struct ring_swim_stats st;
        REQUIRE(sw);
        gossip(sw, t0, RING_SWIM_U_SUSPECT, 7, 1, accuser);
        REQUIRE(state_of(sw, 7) == RING_SUSPECT);
        nout = 0;
        tick_answering(sw, t0, t0 + half, 7);
        ring_swim_stats_get(sw, &st);
        CHECK(st.suspect_checks == 0); /* not early: most suspicions are refuted by then */
        tick_answering(sw, t0 + half, t0 + 2 * half + 1, 7);
        ring_swim_stats_get(sw, &st);
        CHECK(st.suspect_checks == 1);
        tick_answering(sw, t0 + 2 * half + 1, t0 + 4 * half + 2, 7);
        ring_swim_stats_get(sw, &st);
        CHECK(st.suspect_checks == 3);
        /* refuted, and answering now: no more checks */
        gossip(sw, t0 + 4 * half + 3, RING_SWIM_U_ALIVE, 7, 2, 7);
        CHECK(state_of(sw, 7) == RING_ALIVE);
        tick_answering(sw, t0 + 4 * half + 3, t0 + 8 * half, -1);
        ring_swim_stats_get(sw, &st);
        CHECK(st.suspect_checks == 3);
        ring_swim_free(sw);
    }
}

TEST(test_dissemination_count)
{
    /* 5 members: each update goes out 4 * ceil(log10(6 + 1)) = 4 times */
    struct ring_swim *sw = with_members(4);
    size_t carried = 0;
    REQUIRE(sw);
    nout = 0;
    while (sw->nq) /* forget the joins */
        swim_dequeue(sw, sw->nq - 1);
    gossip(sw, 10, RING_SWIM_U_SUSPECT, 2, 1, 3);
    for (uint64_t t = 100; t < 5000; t += 50)
        ring_swim_tick(sw, t);
    /* (this node's own probes of the unanswering peers make accusations of
     * their own, each sent as many times: count node3's) */
    struct ring_swim_info in, by;
    info_of(2, &in);
    info_of(3, &by);
    int checks = 0;
    for (size_t i = 0; i < nout; i++) {
        /* a ping to the suspect itself carries the suspicion first (a check,
         * or the buddy system); that copy is not dissemination */
        int buddy = ring_addr_eq(&outbox[i].to, &in.addr) && outbox[i].m.type == RING_SWIM_PING &&
                    outbox[i].m.nupdates > 0 && outbox[i].m.updates[0].kind == RING_SWIM_U_SUSPECT;
        checks += buddy;
        for (size_t u = buddy ? 1 : 0; u < outbox[i].m.nupdates; u++)
            carried += outbox[i].m.updates[u].kind == RING_SWIM_U_SUSPECT &&
                       memcmp(outbox[i].m.updates[u].id, in.id, RING_ID_LEN) == 0 &&
                       memcmp(outbox[i].m.updates[u].from, by.id, RING_ID_LEN) == 0;
    }
    CHECK(checks >= 1); /* node2 was asked itself, while suspect */
    CHECK(carried == 4);
    ring_swim_free(sw);
}

/* Runs SW from T0 to T1 in 10 ms steps; peers answer as scripted: PINGs
 * to DEAD_PEER go unanswered, others are acked; PING_REQs are nacked when
 * NACKS is set, else ignored. */
static void script(struct ring_swim *sw, uint64_t t0, uint64_t t1, int dead_peer, int nacks,
                   int stop_at_fail)
{
    struct ring_swim_info dead;
    info_of(dead_peer, &dead);
    for (uint64_t t = t0; t <= t1; t += 10) {
        size_t done = nout;
        ring_swim_tick(sw, t);
        if (stop_at_fail && sw->st.probes_failed)
            return;
        for (size_t i = done; i < nout; i++) {
            struct sent s = outbox[i];
            struct ring_swim_msg r;
            memset(&r, 0, sizeof(r));
            r.seq = s.m.seq;
            if (s.m.type == RING_SWIM_PING && !ring_addr_eq(&s.to, &dead.addr))
                r.type = RING_SWIM_ACK;
            else if (s.m.type == RING_SWIM_PING_REQ && nacks)
                r.type = RING_SWIM_NACK;
            else
                continue;
            ring_swim_recv(sw, t + 1, &s.to, &r);
        }
    }
}

TEST(test_probe_flow)
{
    struct ring_swim *sw = with_members(3);
    struct ring_swim_stats st;
    REQUIRE(sw);
    while (sw->nq)
        swim_dequeue(sw, sw->nq - 1);
    nout = 0;
    script(sw, 0, 3000, 2, 1, 0);
    /* node2 never answers: it is suspected after a failed probe, having been
     * asked about through the other two (who nacked: health is unharmed) */
    CHECK(state_of(sw, 2) == RING_SUSPECT || state_of(sw, 2) == RING_DEAD);
    CHECK(state_of(sw, 1) == RING_ALIVE && state_of(sw, 3) == RING_ALIVE);
    ring_swim_stats_get(sw, &st);
    CHECK(st.probes >= 10 && st.indirect_probes >= 2);
    CHECK(st.nacks_received >= 2);
    CHECK(ring_swim_health(sw) == 0);
    int reqs = 0;
    for (size_t i = 0; i < nout; i++)
        reqs += outbox[i].m.type == RING_SWIM_PING_REQ;
    CHECK(reqs >= 2);
    /* a ping to a suspect carries the suspicion (the buddy system) */
    struct ring_swim_info two;
    int buddy = 0;
    info_of(2, &two);
    for (size_t i = 0; i < nout; i++)
        if (outbox[i].m.type == RING_SWIM_PING && ring_addr_eq(&outbox[i].to, &two.addr))
            buddy = outbox[i].m.nupdates > 0 &&
                    outbox[i].m.updates[0].kind == RING_SWIM_U_SUSPECT &&
                    memcmp(outbox[i].m.updates[0].id, two.id, RING_ID_LEN) == 0;
    CHECK(buddy); /* the last ping to node2 */
    ring_swim_free(sw);

    /* the same, but the peers asked never nack: this node blames itself,
     * one step for each missing nack (acks later earn it back) */
    sw = with_members(3);
    REQUIRE(sw);
    script(sw, 0, 3000, 2, 0, 1);
    CHECK(sw->st.probes_failed == 1 && ring_swim_health(sw) == 2);
    CHECK(state_of(sw, 2) == RING_SUSPECT);
    ring_swim_free(sw);
}

TEST(test_ping_ack_and_relay)
{
    struct ring_swim *sw = with_members(2);
    struct ring_swim_msg m;
    struct ring_swim_info me, p1, p2;
    REQUIRE(sw);
    info_of(0, &me);
    info_of(1, &p1);
    info_of(2, &p2);
    nout = 0;
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_PING;
    m.seq = 77;
    memcpy(m.target, me.id, RING_ID_LEN);
    ring_swim_recv(sw, 10, &p1.addr, &m);
    REQUIRE(nout == 1);
    CHECK(outbox[0].m.type == RING_SWIM_ACK && outbox[0].m.seq == 77);
    CHECK(ring_addr_eq(&outbox[0].to, &p1.addr));
    memcpy(m.target, p1.id, RING_ID_LEN); /* meant for someone else */
    ring_swim_recv(sw, 11, &p2.addr, &m);
    CHECK(nout == 1);
    /* an indirect probe: ping the target, forward its ack */
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_PING_REQ;
    m.seq = 5;
    memcpy(m.target, p2.id, RING_ID_LEN);
    m.target_addr = p2.addr;
    ring_swim_recv(sw, 20, &p1.addr, &m);
    REQUIRE(nout == 2);
    CHECK(outbox[1].m.type == RING_SWIM_PING && ring_addr_eq(&outbox[1].to, &p2.addr));
    struct ring_swim_msg ack;
    memset(&ack, 0, sizeof(ack));
    ack.type = RING_SWIM_ACK;
    ack.seq = outbox[1].m.seq;
    ring_swim_recv(sw, 25, &p2.addr, &ack);
    REQUIRE(nout == 3);
    CHECK(outbox[2].m.type == RING_SWIM_ACK && outbox[2].m.seq == 5);
    CHECK(ring_addr_eq(&outbox[2].to, &p1.addr));
    /* and one that gets no answer is nacked after the probe timeout */
    m.seq = 6;
    ring_swim_recv(sw, 30, &p1.addr, &m);
    size_t before = nout;
    ring_swim_tick(sw, 30 + sw->conf.probe_timeout_ms);
    int nacked = 0;
    for (size_t i = before; i < nout; i++)
        nacked |= outbox[i].m.type == RING_SWIM_NACK && outbox[i].m.seq == 6;
    CHECK(nacked);
    ring_swim_free(sw);
}

/* ---- the wire format ------------------------------------------------------------------ */

static void full_msg(struct ring_swim_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = RING_SWIM_PING_REQ;
    m->seq = 0xDEADBEEF;
    info_of(4, &m->updates[0].info);
    memcpy(m->target, m->updates[0].info.id, RING_ID_LEN);
    m->target_addr = m->updates[0].info.addr;
    m->nupdates = 5;
    for (int i = 0; i < 5; i++) {
        struct ring_swim_update *u = &m->updates[i];
        u->kind = (enum ring_swim_kind)i;
        info_of(i + 1, &u->info);
        if (u->kind != RING_SWIM_U_ALIVE && u->kind != RING_SWIM_U_LEAVING)
            memset(&u->info, 0, sizeof(u->info));
        info_of(i + 1, &(struct ring_swim_info){0});
        struct ring_swim_info t;
        info_of(i + 1, &t);
        memcpy(u->id, t.id, RING_ID_LEN);
        u->incarnation = 1000000000000ULL + (uint64_t)i;
        if (u->kind == RING_SWIM_U_SUSPECT || u->kind == RING_SWIM_U_DEAD)
            memcpy(u->from, m->target, RING_ID_LEN);
    }
    m->updates[0].info.addr.family = 6; /* one IPv6 address */
    m->updates[0].info.addr.ip[15] = 1;
}

TEST(test_wire_roundtrip)
{
    struct ring_swim_msg m, d;
    uint8_t buf[RING_SWIM_PACKET_MAX];
    size_t len, bound;

    full_msg(&m);
    REQUIRE(ring_swim_wire_encode(&m, buf, sizeof(buf), &len) == RING_OK);
    bound = ring_swim_wire_base_size(&m);
    for (size_t i = 0; i < m.nupdates; i++)
        bound += ring_swim_wire_update_size(&m.updates[i]);
    CHECK(len <= bound); /* the bounds the packer relies on hold */
    REQUIRE(ring_swim_wire_decode(buf, len, &d) == RING_OK);
    CHECK(d.type == m.type && d.seq == m.seq && d.nupdates == 5);
    CHECK(memcmp(d.target, m.target, RING_ID_LEN) == 0);
    CHECK(ring_addr_eq(&d.target_addr, &m.target_addr));
    for (size_t i = 0; i < 5; i++) {
        CHECK(d.updates[i].kind == m.updates[i].kind);
        CHECK(d.updates[i].incarnation == m.updates[i].incarnation);
        CHECK(memcmp(d.updates[i].id, m.updates[i].id, RING_ID_LEN) == 0);
        CHECK(memcmp(d.updates[i].from, m.updates[i].from, RING_ID_LEN) == 0);
        CHECK(memcmp(&d.updates[i].info, &m.updates[i].info, sizeof(m.updates[i].info)) == 0);
    }
    /* every truncation, and one byte more, is rejected */
    for (size_t cut = 0; cut < len; cut++)
        CHECK(ring_swim_wire_decode(buf, cut, &d) == RING_EINVAL);
    buf[len] = 0xc0;
    CHECK(ring_swim_wire_decode(buf, len + 1, &d) == RING_EINVAL);
    /* a message too big for its buffer does not encode */
    CHECK(ring_swim_wire_encode(&m, buf, 40, &len) == RING_EINVAL);
}

TEST(test_wire_rejects)
{
    struct ring_swim_msg d;
    /* an array32 header claiming 2^31 elements: refused before msgpack-c allocates */
    static const uint8_t huge[] = {0xdd, 0x80, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t huge_in[] = {0x96, 0x01, 0x01, 0x00, 0xc0, 0xc0,
                                      0xdd, 0x7f, 0xff, 0xff, 0xff};
    static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t version2[] = {0x96, 0x02, 0x01, 0x00, 0xc0, 0xc0, 0x90};
    static const uint8_t ok_min[] = {0x96, 0x01, 0x05, 0x00, 0xc0, 0xc0, 0x90};
    static const uint8_t bad_type[] = {0x96, 0x01, 0x09, 0x00, 0xc0, 0xc0, 0x90};
    static const uint8_t map[] = {0x81, 0x01, 0x02};
    CHECK(ring_swim_wire_decode(huge, sizeof(huge), &d) == RING_EINVAL);
    CHECK(ring_swim_wire_decode(huge_in, sizeof(huge_in), &d) == RING_EINVAL);
    CHECK(ring_swim_wire_decode(str32, sizeof(str32), &d) == RING_EINVAL);
    CHECK(ring_swim_wire_decode(version2, sizeof(version2), &d) == RING_EINVAL);
    CHECK(ring_swim_wire_decode(ok_min, sizeof(ok_min), &d) == RING_OK &&
          d.type == RING_SWIM_GOSSIP);
    CHECK(ring_swim_wire_decode(bad_type, sizeof(bad_type), &d) == RING_EINVAL);
    CHECK(ring_swim_wire_decode(map, sizeof(map), &d) == RING_EINVAL);

    /* field checks: weight 0, a name with a NUL, a short id */
    struct ring_swim_msg m;
    uint8_t buf[RING_SWIM_PACKET_MAX];
    size_t len;
    full_msg(&m);
    m.updates[0].info.weight = 0;
    REQUIRE(ring_swim_wire_encode(&m, buf, sizeof(buf), &len) == RING_OK);
    CHECK(ring_swim_wire_decode(buf, len, &d) == RING_EINVAL);
    full_msg(&m);
    m.updates[0].info.weight = RING_WEIGHT_MAX + 1;
    REQUIRE(ring_swim_wire_encode(&m, buf, sizeof(buf), &len) == RING_OK);
    CHECK(ring_swim_wire_decode(buf, len, &d) == RING_EINVAL);
    full_msg(&m);
    m.updates[0].info.name[0] = '\0';
    REQUIRE(ring_swim_wire_encode(&m, buf, sizeof(buf), &len) == RING_OK);
    CHECK(ring_swim_wire_decode(buf, len, &d) == RING_EINVAL);
}

TEST(test_wire_state)
{
    struct ring_swim *sw = with_members(6);
    struct ring_swim_wire_state *ws;
    struct ring_swim_member *ms = NULL;
    size_t len = 0, n = 0;
    REQUIRE(sw);
    ring_swim_set_load(sw, 12345, 67);
    REQUIRE(ring_swim_wire_state_begin(&ws, ring_swim_count(sw)) == RING_OK);
    for (size_t i = 0; i < ring_swim_count(sw); i++)
        CHECK(ring_swim_wire_state_add(ws, ring_swim_member_at(sw, i)) == RING_OK);
    uint8_t *buf = ring_swim_wire_state_take(ws, &len);
    REQUIRE(buf);
    REQUIRE(ring_swim_wire_state_decode(buf, len, &ms, &n) == RING_OK);
    CHECK(n == 7);
    CHECK(memcmp(ms[0].info->id, ring_swim_self(sw)->info->id, RING_ID_LEN) == 0);
    CHECK(ms[0].load.bytes == 12345 && ms[0].load.blocks == 67 && ms[0].load.seq == 1);
    CHECK(strcmp(ms[3].info->name, ring_swim_member_at(sw, 3)->info->name) == 0);
    for (size_t cut = 0; cut < len; cut += 7) {
        struct ring_swim_member *x = NULL;
        size_t xn;
        CHECK(ring_swim_wire_state_decode(buf, cut, &x, &xn) == RING_EINVAL);
        free(x);
    }
    free(ms);
    free(buf);
    ring_swim_free(sw);
}

/* ---- whole clusters, simulated -------------------------------------------------------- */

/* the per-state counts the machine keeps agree with a recount, on every node */
static int counts_ok(struct ring_sim *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ring_swim *sw = ring_sim_node(s, i);
        size_t want[RING_LEFT + 1] = {0};
        if (!sw)
            continue;
        for (size_t k = 0; k < sw->n; k++)
            want[pub_state(&sw->m[k])]++;
        if (memcmp(want, sw->nstate, sizeof(want)) != 0)
            return 0;
    }
    return 1;
}

static struct ring_sim *sim_new(size_t n, double loss, uint64_t seed)
{
    struct ring_sim_conf c;
    struct ring_sim *s = NULL;
    memset(&c, 0, sizeof(c));
    c.nodes = n;
    ring_swim_conf_default(&c.swim);
    c.loss = loss;
    c.latency_us = 200;
    c.jitter_us = 300;
    c.seed = seed;
    c.zones = 3;
    return ring_sim_new(&c, &s) == RING_OK ? s : NULL;
}

TEST(test_sim_join_converges)
{
    struct ring_sim *s = sim_new(16, 0, 1);
    struct ring_sim_stats st;
    REQUIRE(s);
    long t = ring_sim_start_all(s, 2000, 20000);
    CHECK(t >= 0 && t <= 5000);
    ring_sim_stats_get(s, &st);
    CHECK(st.false_deaths == 0 && st.decode_errors == 0);
    CHECK(counts_ok(s, 64)); /* (nodes past the cluster are NULL) */
    ring_sim_free(s);
}

TEST(test_sim_kill_detected)
{
    struct ring_sim *s = sim_new(32, 0, 2);
    REQUIRE(s);
    REQUIRE(ring_sim_start_all(s, 1000, 20000) >= 0);
    uint64_t t0 = ring_sim_now(s);
    ring_sim_kill(s, 7);
    long det = -1;
    for (uint64_t t = t0; t <= t0 + 10000 && det < 0; t += 10) {
        ring_sim_run(s, t);
        det = ring_sim_detected(s, 7);
    }
    CHECK(det > 0 && det <= 5000);
    struct ring_sim_stats st;
    ring_sim_stats_get(s, &st);
    CHECK(st.false_deaths == 0);
    ring_sim_run(s, ring_sim_now(s) + 2000);
    CHECK(ring_sim_converged(s));
    CHECK(counts_ok(s, 64)); /* (nodes past the cluster are NULL) */
    ring_sim_free(s);
}

TEST(test_sim_start_known)
{
    /* 300 nodes that start knowing each other: converged at once, one set
     * of 300 infos for 90,000 member records, a kill seen by all */
    struct ring_sim *s = sim_new(300, 0, 5);
    REQUIRE(s);
    REQUIRE(ring_sim_start_known(s) == RING_OK);
    CHECK(ring_sim_converged(s));
    CHECK(ring_swim_infos_count(s->infos) == 300);
    for (size_t i = 0; i < 300; i++)
        CHECK(ring_sim_node(s, i)->nq == 0); /* nothing queued: quiet */
    ring_sim_run(s, 2000);
    ring_sim_kill(s, 9);
    long det = -1;
    for (uint64_t t = 2000; t <= 20000 && det < 0; t += 10) {
        ring_sim_run(s, t);
        det = ring_sim_detected(s, 9);
    }
    CHECK(det > 0 && det < 10000);
    struct ring_sim_stats st;
    ring_sim_stats_get(s, &st);
    CHECK(st.false_deaths == 0 && st.decode_errors == 0);
    ring_sim_free(s);
}

TEST(test_sim_leave_known_fast)
{
    struct ring_sim *s = sim_new(16, 0, 3);
    REQUIRE(s);
    REQUIRE(ring_sim_start_all(s, 1000, 20000) >= 0);
    uint64_t t0 = ring_sim_now(s);
    ring_sim_leave(s, 5);
    ring_sim_run(s, t0 + 500);
    CHECK(ring_sim_detected(s, 5) >= 0 && ring_sim_detected(s, 5) <= 500);
    for (size_t i = 0; i < 16; i++) {
        struct ring_swim_info in;
        memset(&in, 0, sizeof(in));
        if (i == 5 || !ring_sim_running(s, i))
            continue;
        const struct ring_swim_member *me = ring_swim_self(ring_sim_node(s, 5));
        const struct ring_swim_member *m = ring_swim_find(ring_sim_node(s, i), me->info->id);
        CHECK(m && m->state == RING_LEFT);
    }
    CHECK(counts_ok(s, 64)); /* (nodes past the cluster are NULL) */
    ring_sim_free(s);
}

/* every queued update is its member's qslot, and every qslot its update */
static int queue_consistent(struct ring_swim *sw)
{
    for (size_t i = 0; i < sw->nq; i++) {
        struct member *mb = swim_lookup(sw, sw->q[i].u.id);
        if (!mb || mb->qslot != i + 1)
            return 0;
    }
    for (size_t i = 0; i < sw->n; i++) {
        uint32_t q = sw->m[i].qslot;
        if (q && (q > sw->nq || memcmp(sw->q[q - 1].u.id, sw->m[i].pub.info->id, RING_ID_LEN)))
            return 0;
    }
    return 1;
}

TEST(test_sim_loss_no_false_deaths)
{
    struct ring_sim *s = sim_new(16, 0, 4);
    struct ring_sim_stats st;
    REQUIRE(s);
    REQUIRE(ring_sim_start_all(s, 1000, 20000) >= 0);
    ring_sim_set_loss(s, 0.10);
    int consistent = 1;
    for (int k = 0; k < 60; k++) { /* the queues under churn, every second */
        ring_sim_run(s, ring_sim_now(s) + 1000);
        for (size_t i = 0; i < 16; i++)
            consistent &= queue_consistent(ring_sim_node(s, i));
    }
    CHECK(consistent);
    ring_sim_stats_get(s, &st);
    CHECK(st.false_deaths == 0);
    CHECK(st.dropped > st.datagrams / 20);
    CHECK(counts_ok(s, 64)); /* (nodes past the cluster are NULL) */
    ring_sim_free(s);
}

TEST(test_sim_partition_heals)
{
    struct ring_sim *s = sim_new(6, 0, 5);
    int group[6] = {0, 0, 0, 1, 1, 1};
    REQUIRE(s);
    REQUIRE(ring_sim_start_all(s, 500, 20000) >= 0);
    ring_sim_partition(s, group);
    ring_sim_run(s, ring_sim_now(s) + 30000);
    /* each side sees the other dead */
    CHECK(ring_swim_count_state(ring_sim_node(s, 0), RING_ALIVE) == 3);
    CHECK(ring_swim_count_state(ring_sim_node(s, 0), RING_DEAD) == 3);
    ring_sim_partition(s, NULL);
    long healed = -1;
    uint64_t t0 = ring_sim_now(s);
    for (uint64_t t = t0; t <= t0 + 60000 && healed < 0; t += 100) {
        ring_sim_run(s, t);
        if (ring_sim_converged(s))
            healed = (long)(t - t0);
    }
    CHECK(healed >= 0);
    CHECK(counts_ok(s, 64)); /* (nodes past the cluster are NULL) */
    ring_sim_free(s);
}

int main(void)
{
    RUN(test_merge_alive_incarnations);
    RUN(test_merge_suspect_dead_left);
    RUN(test_refute);
    RUN(test_stale_suspicion_reannounced);
    RUN(test_conflicts);
    RUN(test_rename_moves_the_name);
    RUN(test_join_conflict);
    RUN(test_suspicion_timeout);
    RUN(test_suspect_checks);
    RUN(test_dissemination_count);
    RUN(test_probe_flow);
    RUN(test_ping_ack_and_relay);
    RUN(test_wire_roundtrip);
    RUN(test_wire_rejects);
    RUN(test_wire_state);
    RUN(test_sim_join_converges);
    RUN(test_sim_kill_detected);
    RUN(test_sim_start_known);
    RUN(test_sim_leave_known_fast);
    RUN(test_sim_loss_no_false_deaths);
    RUN(test_sim_partition_heals);
    free(outbox);
    return harness_done();
}
