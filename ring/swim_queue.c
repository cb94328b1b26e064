/* ring/swim_queue.c: the dissemination queue: each update this node learns
 * or makes is queued and piggy-backed on the next messages, least-sent
 * first, lambda * log10(N+1) times (news about this node itself twice as
 * often); a newer update about a member replaces the queued one. */
#include "ring/swim_int.h"
#include "ring/swim_wire.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t retransmit_limit(const struct ring_swim *sw)
{
    double n = (double)swim_live_count(sw) + 1;
    return sw->conf.retransmit_mult * (uint32_t)ceil(log10(n));
}

/* Each member knows its queued update (qslot), so finding it is a lookup,
 * not a scan: under churn a queue holds thousands of updates. */
void swim_dequeue(struct ring_swim *sw, size_t i)
{
    struct member *mb = swim_lookup(sw, sw->q[i].u.id);
    if (mb && mb->qslot == i + 1)
        mb->qslot = 0;
    if (i != --sw->nq) {
        sw->q[i] = sw->q[sw->nq];
        mb = swim_lookup(sw, sw->q[i].u.id);
        if (mb && mb->qslot == sw->nq + 1)
            mb->qslot = (uint32_t)i + 1;
    }
}

void swim_enqueue(struct ring_swim *sw, const struct ring_swim_update *u)
{
    struct member *mb = swim_lookup(sw, u->id);
    struct queued *e = NULL;

    if (!mb) /* updates are about known members (the machine adds before it queues) */
        return;
    if (sw->quiet && mb != &sw->m[0])
        return;
    if (mb->qslot)
        e = &sw->q[mb->qslot - 1]; /* a newer update about the member: the old one is moot */
    if (!e && sw->nq == sw->qcap) {
        size_t cap = sw->qcap * 2, lim = sw->n * 2 > SWIM_QUEUE_MIN ? sw->n * 2 : SWIM_QUEUE_MIN;
        void *q = cap <= lim ? realloc(sw->q, cap * sizeof(*sw->q)) : NULL;
        if (q) {
            sw->q = q;
            sw->qcap = cap;
        } else { /* full: drop the most-sent entry */
            size_t worst = 0;
            for (size_t i = 1; i < sw->nq; i++)
                if (sw->q[i].transmits > sw->q[worst].transmits)
                    worst = i;
            swim_dequeue(sw, worst);
            sw->st.updates_dropped++;
        }
    }
    if (!e) {
        e = &sw->q[sw->nq++];
        mb->qslot = (uint32_t)sw->nq;
    }
    e->u = *u;
    e->transmits = 0;
    e->size = ring_swim_wire_update_size(u);
}

/* (transmits, index) order: least sent first, then oldest slot */
static int before(const struct ring_swim *sw, size_t a, size_t b)
{
    return sw->q[a].transmits < sw->q[b].transmits ||
           (sw->q[a].transmits == sw->q[b].transmits && a < b);
}

/* Fills M's updates from the queue, least-sent first, within packet_max:
 * one pass keeps the RING_SWIM_UPDATES_MAX least-sent entries that fit at
 * all (most entries are rejected by one comparison with the worst kept),
 * then they go in in that order while they fit. */
void swim_piggyback(struct ring_swim *sw, struct ring_swim_msg *m)
{
    size_t room = sw->conf.packet_max, base = ring_swim_wire_base_size(m);
    uint32_t limit = retransmit_limit(sw);
    size_t cand[RING_SWIM_UPDATES_MAX], ncand = 0, want, taken[RING_SWIM_UPDATES_MAX], ntaken = 0;

    for (size_t i = 0; i < m->nupdates; i++) /* already there (a probe's buddy update) */
        base += ring_swim_wire_update_size(&m->updates[i]);
    if (base >= room || m->nupdates >= RING_SWIM_UPDATES_MAX)
        return;
    room -= base;
    want = RING_SWIM_UPDATES_MAX - m->nupdates;
    for (size_t i = 0; i < sw->nq; i++) {
        if (sw->q[i].size > room || (ncand == want && !before(sw, i, cand[ncand - 1])))
            continue;
        size_t k = ncand < want ? ncand++ : ncand - 1; /* the worst kept makes way */
        for (; k > 0 && before(sw, i, cand[k - 1]); k--)
            cand[k] = cand[k - 1];
        cand[k] = i;
    }
    for (size_t c = 0; c < ncand; c++) {
        struct queued *e = &sw->q[cand[c]];
        if (e->size > room)
            continue;
        m->updates[m->nupdates++] = e->u;
        room -= e->size;
        e->transmits++;
        taken[ntaken++] = cand[c];
    }
    /* drop what has been sent enough (only what was just sent changed),
     * highest slot first so the lower ones stay put; news about this node
     * itself (a refutation above all) goes out twice as often: it starts at
     * one node, while the suspicion it answers is already everywhere, and a
     * node it misses declares a live node dead */
    for (size_t a = 1; a < ntaken; a++)
        for (size_t b = a; b > 0 && taken[b] > taken[b - 1]; b--) {
            size_t t = taken[b];
            taken[b] = taken[b - 1];
            taken[b - 1] = t;
        }
    for (size_t t = 0; t < ntaken; t++) {
        size_t i = taken[t];
        int mine = memcmp(sw->q[i].u.id, sw->m[0].pub.info->id, RING_ID_LEN) == 0;
        if (sw->q[i].transmits >= (mine ? 2 * limit : limit))
            swim_dequeue(sw, i);
    }
    sw->st.updates_out += m->nupdates;
}

void swim_send(struct ring_swim *sw, const struct ring_addr *to, struct ring_swim_msg *m)
{
    swim_piggyback(sw, m);
    sw->st.msgs_out++;
    if (sw->cbs.send)
        sw->cbs.send(sw->arg, to, m);
}
