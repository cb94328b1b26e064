/* ring/swim_susp.c: suspicion (Lifeguard): the timeout that falls from
 * max = beta * min toward min = alpha * log10(N) probe intervals as
 * independent accusers confirm, and the late checks that ask the suspect
 * itself (docs/cluster.md, "The failure detector"). */
#include "ring/swim_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double susp_timeout(const struct ring_swim *sw, const struct suspicion *sp)
{
    double n = (double)swim_live_count(sw);
    double min = sw->conf.suspicion_mult * (n > 10 ? log10(n) : 1.0) * sw->conf.probe_interval_ms;
    double max = sw->conf.suspicion_max_mult * min, t;
    unsigned c = sp->naccusers ? sp->naccusers - 1 : 0;

    if (sp->k < 1)
        return min;
    t = max - (max - min) * log((double)c + 1) / log((double)sp->k + 1);
    return t < min ? min : t;
}

void swim_susp_refresh(struct ring_swim *sw)
{
    sw->next_susp = SWIM_NONE;
    for (size_t i = 1; i < sw->n; i++) {
        const struct suspicion *sp = sw->m[i].susp;
        if (!sp)
            continue;
        if (sp->deadline < sw->next_susp)
            sw->next_susp = sp->deadline;
        if (sp->check_at < sw->next_susp)
            sw->next_susp = sp->check_at;
    }
}

/* half the shortest suspicion timeout: how often a suspect is asked */
uint64_t swim_check_interval(const struct ring_swim *sw)
{
    double n = (double)swim_live_count(sw);
    return (uint64_t)(sw->conf.suspicion_mult * (n > 10 ? log10(n) : 1.0) *
                      sw->conf.probe_interval_ms / 2);
}

int swim_susp_start(struct ring_swim *sw, uint64_t now, struct member *mb,
                    const uint8_t from[RING_ID_LEN])
{
    size_t n = swim_live_count(sw);
    unsigned k = sw->conf.suspicion_confirm;
    struct suspicion *sp = calloc(1, sizeof(*sp));

    if (!sp)
        return RING_ENOMEM;
    free(mb->susp);
    mb->susp = sp;
    sp->start = now;
    sp->k = n < 2 || n - 2 < k ? 0 : k;
    sp->naccusers = 1;
    memcpy(sp->accusers[0], from, RING_ID_LEN);
    sp->deadline = now + (uint64_t)susp_timeout(sw, sp);
    /* ask the suspect itself if the suspicion is still held after half the
     * shortest timeout (at a random time in the next half), then every half
     * of it until it is refuted or dead. Its answer carries its refutation,
     * which gossip alone misses a node now and then under loss: each update
     * is sent a fixed number of times, so a given node gets none of them
     * with a probability near e^-sends (about 1 in 1,000 at 64 nodes and
     * 10% loss). Late, so that only the few the refutation missed ask, not
     * every node in the cluster; the accuser too, which holds the suspicion
     * longest. No answer accuses no one. */
    uint64_t half = swim_check_interval(sw);
    sp->check_at = now + half + swim_rand_below(sw, half + 1);
    return RING_OK;
}

int swim_susp_confirm(struct ring_swim *sw, struct suspicion *sp, const uint8_t from[RING_ID_LEN])
{
    for (unsigned i = 0; i < sp->naccusers; i++)
        if (memcmp(sp->accusers[i], from, RING_ID_LEN) == 0)
            return 0;
    if (sp->naccusers >= RING_SWIM_CONFIRM_MAX)
        return 0;
    memcpy(sp->accusers[sp->naccusers++], from, RING_ID_LEN);
    sp->deadline = sp->start + (uint64_t)susp_timeout(sw, sp);
    swim_susp_refresh(sw);
    return 1;
}
