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

void swim_enqueue(struct ring_swim *sw, const struct ring_swim_update *u)
{
    struct queued *e = NULL;

    if (sw->quiet && memcmp(u->id, sw->m[0].pub.info->id, RING_ID_LEN) != 0)
        return;
    for (size_t i = 0; i < sw->nq; i++)
        if (memcmp(sw->q[i].u.id, u->id, RING_ID_LEN) == 0) {
            e = &sw->q[i]; /* a newer update about the member: the old one is moot */
            break;
        }
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
            sw->q[worst] = sw->q[--sw->nq];
            sw->st.updates_dropped++;
        }
    }
    if (!e)
        e = &sw->q[sw->nq++];
    e->u = *u;
    e->transmits = 0;
    e->size = ring_swim_wire_update_size(u);
}

/* Fills M's updates from the queue, least-sent first, within packet_max. */
void swim_piggyback(struct ring_swim *sw, struct ring_swim_msg *m)
{
    size_t room = sw->conf.packet_max, base = ring_swim_wire_base_size(m);
    uint32_t limit = retransmit_limit(sw);
    size_t taken[RING_SWIM_UPDATES_MAX];
    size_t ntaken = 0;

    for (size_t i = 0; i < m->nupdates; i++) /* already there (a probe's buddy update) */
        base += ring_swim_wire_update_size(&m->updates[i]);
    if (base >= room)
        return;
    room -= base;
    while (m->nupdates < RING_SWIM_UPDATES_MAX) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < sw->nq; i++) {
            int dup = 0;
            for (size_t t = 0; t < ntaken; t++)
                dup |= taken[t] == i;
            if (dup || sw->q[i].size > room)
                continue;
            if (best == SIZE_MAX || sw->q[i].transmits < sw->q[best].transmits)
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        m->updates[m->nupdates++] = sw->q[best].u;
        room -= sw->q[best].size;
        taken[ntaken++] = best;
        sw->q[best].transmits++;
    }
    /* drop what has been sent enough, from the back so indexes hold; news
     * about this node itself (a refutation above all) goes out twice as
     * often: it starts at one node, while the suspicion it answers is
     * already everywhere, and a node it misses declares a live node dead */
    for (size_t i = sw->nq; i-- > 0;) {
        int mine = memcmp(sw->q[i].u.id, sw->m[0].pub.info->id, RING_ID_LEN) == 0;
        if (sw->q[i].transmits >= (mine ? 2 * limit : limit))
            sw->q[i] = sw->q[--sw->nq];
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
