/* ring/swim_int.h: the membership state machine's insides, shared by
 * swim.c (members, merge rules, the dissemination queue, the view) and
 * swim_probe.c (probes, indirect probes, suspicion timers, gossip and
 * push-pull rounds). Not for other modules. */
#ifndef SHOAL_RING_SWIM_INT_H
#define SHOAL_RING_SWIM_INT_H

#include "ring/swim.h"

#define SWIM_NONE UINT64_MAX
#define SWIM_RELAYS_MAX 64 /* indirect probes served at once */
#define SWIM_QUEUE_MIN 256 /* dissemination queue: at least this many entries */

/* a suspicion of a member (while its live state is SUSPECT) */
struct suspicion {
    uint64_t start, deadline;
    uint64_t check_at; /* a ping to ask the suspect itself (SWIM_NONE: none due) */
    unsigned k;        /* confirmations that bring the timeout to its minimum */
    unsigned naccusers;
    uint8_t accusers[RING_SWIM_CONFIRM_MAX][RING_ID_LEN];
};

/* internal liveness; the public state folds in the leaving flag. Kept
 * small: a view of N members is N of these (80 bytes), N^2 in a simulation. */
struct member {
    struct ring_swim_member pub;
    uint8_t live; /* enum ring_state: ALIVE, SUSPECT, DEAD or LEFT */
    uint8_t leaving;
    uint32_t qslot;         /* its update in the dissemination queue + 1; 0: none */
    struct suspicion *susp; /* live == SUSPECT, else NULL */
};
_Static_assert(sizeof(struct member) <= 80, "a member record grows every view N-fold");

struct queued {
    struct ring_swim_update u;
    uint32_t transmits;
    size_t size; /* encoded */
};

/* the probe this node runs (one at a time) */
struct probe {
    int active, acked, indirect_sent;
    uint32_t seq;
    uint8_t target[RING_ID_LEN];
    uint64_t start, indirect_at, end_at;
    unsigned expected_nacks, nacks;
};

/* an indirect probe this node runs for another */
struct relay {
    int used;
    uint32_t seq, their_seq;
    struct ring_addr requester;
    uint64_t nack_at;
};

struct ring_swim {
    struct ring_swim_conf conf;
    struct ring_swim_cbs cbs;
    void *arg;
    uint64_t rng;
    /* members: [0] is this node */
    struct member *m;
    size_t n, cap;
    uint32_t *index; /* open addressing over ids: member index + 1, 0 empty */
    uint32_t *names; /* the same over names (several members may share one) */
    size_t index_cap;
    struct ring_swim_infos *infos, *own_infos; /* own_infos: freed with the machine */
    int quiet; /* updates about others are not queued (the simulator's preloaded start) */
    /* probe order: a shuffled list of member indexes, walked round-robin */
    uint32_t *order;
    size_t norder, order_pos;
    struct probe probe;
    uint64_t next_probe;
    uint32_t seq;
    struct relay relays[SWIM_RELAYS_MAX];
    unsigned health; /* 0..awareness_max-1 */
    /* dissemination */
    struct queued *q;
    size_t nq, qcap;
    uint64_t next_gossip, next_pushpull, next_reconnect, next_reclaim;
    uint64_t next_susp; /* earliest suspicion deadline or check, SWIM_NONE */
    uint64_t version;
    size_t nstate[RING_LEFT + 1]; /* members by public state (notify() keeps it) */
    struct ring_swim_stats st;
};

/* swim_info.c */
uint64_t swim_id_hash(const uint8_t id[RING_ID_LEN]);
uint64_t swim_name_hash(const char *name);
/* the interned copy of IN, counted (NULL: out of memory); put: uncounted */
const struct ring_swim_info *swim_info_get(struct ring_swim_infos *set,
                                           const struct ring_swim_info *in);
void swim_info_put(struct ring_swim_infos *set, const struct ring_swim_info *info);

/* swim.c */
uint64_t swim_splitmix(uint64_t *state);
uint64_t swim_rand(struct ring_swim *sw);
uint64_t swim_rand_below(struct ring_swim *sw, uint64_t n);
struct member *swim_lookup(struct ring_swim *sw, const uint8_t id[RING_ID_LEN]);
size_t swim_live_count(const struct ring_swim *sw);
uint64_t swim_scaled(const struct ring_swim *sw, uint32_t ms);
void swim_health_add(struct ring_swim *sw, int delta);
void swim_apply(struct ring_swim *sw, uint64_t now, const struct ring_swim_update *u);
void swim_make_alive(const struct ring_swim *sw, struct ring_swim_update *u);
void swim_declare_dead(struct ring_swim *sw, uint64_t now, struct member *mb);
void swim_reclaim(struct ring_swim *sw, uint64_t now);
int swim_gossip_target(const struct ring_swim *sw, const struct member *mb, uint64_t now);

/* swim_queue.c */
void swim_enqueue(struct ring_swim *sw, const struct ring_swim_update *u);
void swim_dequeue(struct ring_swim *sw, size_t i); /* drops queue entry I */
void swim_piggyback(struct ring_swim *sw, struct ring_swim_msg *m);
void swim_send(struct ring_swim *sw, const struct ring_addr *to, struct ring_swim_msg *m);

/* swim_susp.c */
void swim_susp_refresh(struct ring_swim *sw);
uint64_t swim_check_interval(const struct ring_swim *sw);
/* a new suspicion of MB by FROM; RING_ENOMEM leaves MB as it was */
int swim_susp_start(struct ring_swim *sw, uint64_t now, struct member *mb,
                    const uint8_t from[RING_ID_LEN]);
/* a confirmation from FROM; whether it was a new accuser */
int swim_susp_confirm(struct ring_swim *sw, struct suspicion *sp, const uint8_t from[RING_ID_LEN]);

/* swim_probe.c */
void swim_probe_tick(struct ring_swim *sw, uint64_t now);
void swim_check_suspect(struct ring_swim *sw, struct member *mb);
void swim_relay_tick(struct ring_swim *sw, uint64_t now);
void swim_rounds_tick(struct ring_swim *sw, uint64_t now);
void swim_order_add(struct ring_swim *sw, uint32_t idx);
void swim_order_reset(struct ring_swim *sw);
void swim_on_ack(struct ring_swim *sw, uint64_t now, uint32_t seq);
void swim_on_nack(struct ring_swim *sw, uint32_t seq);
void swim_on_ping(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                  const struct ring_swim_msg *m);
void swim_on_ping_req(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                      const struct ring_swim_msg *m);
uint64_t swim_probe_next(const struct ring_swim *sw);
uint64_t swim_pushpull_interval(const struct ring_swim *sw);

#endif
