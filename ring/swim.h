/* ring/swim.h: the membership state machine. SWIM (Das, Gupta, Motivala,
 * 2002) with the Lifeguard refinements (Dadgar et al., 2018): who is in the
 * cluster and in which state, from probes, indirect probes, suspicion,
 * incarnation numbers and piggy-backed gossip.
 *
 * Pure code, like ring.c: no sockets, no clock reads, no threads. Time is an
 * argument (milliseconds on any monotonic clock); randomness comes from a
 * seeded generator; what the machine wants sent goes out through the send
 * callback as a struct, and the caller encodes it (ring/swim_wire.h), seals
 * and sends it. So the daemon's transport (daemon/cluster/) and the
 * discrete-event simulator (`shoal ring simulate --gossip`) drive the very
 * same code, and the unit tests drive it deterministically.
 *
 * The caller's duties: call ring_swim_tick() at ring_swim_next() (or later);
 * hand every decoded message to ring_swim_recv(); on the pushpull callback,
 * exchange full states over a stream (ring_swim_export() on one side,
 * ring_swim_merge() on the other, both ways). docs/cluster.md describes the
 * protocol and its parameters. */
#ifndef SHOAL_RING_SWIM_H
#define SHOAL_RING_SWIM_H

#include "ring/ring.h"

#include <stddef.h>
#include <stdint.h>

#define RING_NAME_MAX 64         /* node names, including the NUL */
#define RING_SWIM_UPDATES_MAX 32 /* updates piggy-backed on one message */
#define RING_SWIM_CONFIRM_MAX 8  /* accusers remembered per suspicion */

enum ring_swim_err {
    RING_SWIM_ECONFLICT = -10, /* another live node has this node's id or name */
};

/* A transport address: IPv4 or IPv6 and a port. Compared bytewise. */
struct ring_addr {
    uint8_t family; /* 4 or 6; 0: none */
    uint8_t ip[16]; /* IPv4 in the first 4 bytes */
    uint16_t port;
};

/* What a member says of itself (changed only with a new incarnation). */
struct ring_swim_info {
    uint8_t id[RING_ID_LEN];
    char name[RING_NAME_MAX];
    char zone[RING_ZONE_MAX];
    uint32_t weight;       /* 1..RING_WEIGHT_MAX */
    struct ring_addr addr; /* gossip: UDP and TCP push-pull, later the peer protocol */
    uint16_t s3_port;      /* on addr's host; 0: none */
    uint16_t admin_port;
};

/* Load a member reports (bytes and blocks held). Spread by push-pull only,
 * never by incarnation bumps: a newer seq wins. */
struct ring_swim_load {
    uint64_t seq; /* the member's own counter; 0: nothing reported */
    uint64_t bytes, blocks;
};

/* One member as this node sees it. INFO is interned (ring_swim_infos):
 * immutable, shared by every member record that says the same, and valid
 * while the member is in the view. */
struct ring_swim_member {
    const struct ring_swim_info *info;
    uint64_t incarnation;
    enum ring_state state;
    uint64_t since_ms; /* when it entered this state */
    uint64_t heard_ms; /* last message from it (an ack, a ping, push-pull) */
    struct ring_swim_load load;
};

/* Gossiped updates. ALIVE and LEAVING carry the member's info; SUSPECT and
 * DEAD name an accuser; LEFT is the member's own goodbye. */
enum ring_swim_kind {
    RING_SWIM_U_ALIVE = 0,
    RING_SWIM_U_LEAVING = 1,
    RING_SWIM_U_SUSPECT = 2,
    RING_SWIM_U_DEAD = 3,
    RING_SWIM_U_LEFT = 4,
};

struct ring_swim_update {
    enum ring_swim_kind kind;
    uint8_t id[RING_ID_LEN];
    uint64_t incarnation;
    uint8_t from[RING_ID_LEN];  /* SUSPECT, DEAD: who says so */
    struct ring_swim_info info; /* ALIVE, LEAVING (info.id == id) */
};

/* Datagram messages. */
enum ring_swim_type {
    RING_SWIM_PING = 1,     /* seq, target: answer ACK if you are target */
    RING_SWIM_PING_REQ = 2, /* seq, target, target_addr: probe it for me */
    RING_SWIM_ACK = 3,      /* seq */
    RING_SWIM_NACK = 4,     /* seq: I asked target for you and heard nothing */
    RING_SWIM_GOSSIP = 5,   /* updates only */
};

struct ring_swim_msg {
    enum ring_swim_type type;
    uint32_t seq;
    uint8_t target[RING_ID_LEN];
    struct ring_addr target_addr;
    size_t nupdates;
    struct ring_swim_update updates[RING_SWIM_UPDATES_MAX];
};

/* Parameters (the daemon's cluster.gossip_* keys; docs/config.md). */
struct ring_swim_conf {
    uint32_t probe_interval_ms;     /* one probe per interval (scaled by local health) */
    uint32_t probe_timeout_ms;      /* wait for a direct ack before indirect probes */
    uint32_t indirect_probes;       /* k: peers asked to probe for us */
    uint32_t suspicion_mult;        /* alpha: suspicion min = alpha*log10(N)*interval */
    uint32_t suspicion_max_mult;    /* beta: suspicion max = beta*min */
    uint32_t suspicion_confirm;     /* K: other accusers that bring it down to min */
    uint32_t retransmit_mult;       /* lambda: each update is sent lambda*log10(N+1) times */
    uint32_t awareness_max;         /* local health multiplier is 1..awareness_max */
    uint32_t gossip_interval_ms;    /* gossip-only messages while updates are queued */
    uint32_t gossip_fanout;         /* members per gossip round */
    uint32_t pushpull_interval_ms;  /* full-state exchange, stretched with N/32 */
    uint32_t dead_gossip_ms;        /* dead members still get gossip this long (to refute) */
    uint32_t reconnect_interval_ms; /* a push-pull with a dead member (heals partitions) */
    uint32_t reclaim_ms;            /* dead and left members are forgotten after this */
    size_t packet_max;              /* encoded bytes a message may take (updates are cut) */
    struct ring_swim_infos *infos;  /* shared info set; NULL: the machine's own */
};

/* A set of interned member infos (ring/swim_info.c). A machine keeps its
 * own unless its conf names one; machines sharing a set must run on one
 * thread, and the set is freed after the last of them. The simulator shares
 * one among all its nodes, so N views of N members hold N infos, not N^2. */
struct ring_swim_infos;
struct ring_swim_infos *ring_swim_infos_new(void);
void ring_swim_infos_free(struct ring_swim_infos *set);
size_t ring_swim_infos_count(const struct ring_swim_infos *set);

/* ring_swim_conf_default: the tested defaults (docs/config.md). */
void ring_swim_conf_default(struct ring_swim_conf *c);

/* The caller's side. All callbacks run inside the call that caused them. */
struct ring_swim_cbs {
    /* send M to TO (encode, seal, send; a failure is a lost datagram) */
    void (*send)(void *arg, const struct ring_addr *to, const struct ring_swim_msg *m);
    /* start a push-pull with TO (over a stream, off the caller's clock) */
    void (*pushpull)(void *arg, const struct ring_addr *to);
    /* member M changed state (from OLD) or was added (OLD == -1) or is
     * forgotten (M->state DEAD/LEFT and forgotten set) */
    void (*changed)(void *arg, const struct ring_swim_member *m, int old, int forgotten);
    /* another node claims this node's id, or a newcomer this node's name,
     * or a member's name (WHO is the claimant) */
    void (*conflict)(void *arg, const struct ring_swim_info *mine,
                     const struct ring_swim_info *who);
};

/* Counters (for /metrics and the simulator). */
struct ring_swim_stats {
    uint64_t probes, probes_failed, indirect_probes, indirect_served, nacks_sent, nacks_received;
    uint64_t suspicions, refutations, deaths, false_deaths_refuted;
    uint64_t msgs_out, msgs_in, updates_out, updates_in, updates_dropped, pushpulls;
    uint64_t conflicts, unknown_acks;
    uint64_t suspect_checks; /* pings to a suspect to hear its refutation */
};

struct ring_swim;

/* ring_swim_new: a machine for the node SELF, alone, with incarnation INC
 * (the caller makes it higher than any this node used before: e.g. the
 * wall clock in ms, or one more than a persisted value). SEED seeds its
 * random choices. Returns 0 and *out, RING_EINVAL for a bad conf or info,
 * RING_ENOMEM. */
int ring_swim_new(const struct ring_swim_conf *c, const struct ring_swim_info *self, uint64_t inc,
                  uint64_t seed, const struct ring_swim_cbs *cbs, void *arg, uint64_t now,
                  struct ring_swim **out);
void ring_swim_free(struct ring_swim *sw);

/* ring_swim_tick: runs the timers due at NOW (probes, their timeouts,
 * suspicion, gossip, push-pull, reclaim). ring_swim_next: when the next is
 * due (NOW or later; the caller may call tick late, never early harm). */
void ring_swim_tick(struct ring_swim *sw, uint64_t now);
uint64_t ring_swim_next(const struct ring_swim *sw);

/* ring_swim_recv: a decoded message M from FROM. */
void ring_swim_recv(struct ring_swim *sw, uint64_t now, const struct ring_addr *from,
                    const struct ring_swim_msg *m);

/* Push-pull. ring_swim_export: this node's full view, one member at a time
 * (self first; dead and left members included until reclaimed), to EACH;
 * returns how many. ring_swim_merge: a remote full view, as N members (each
 * INFO non-NULL; the first is the peer itself); JOIN says this node is
 * joining: then another live node with this node's id or name makes it
 * RING_SWIM_ECONFLICT and nothing is merged. Remote DEAD members are taken
 * as SUSPECT (heals a partition without trusting either side's verdict). */
size_t ring_swim_export(const struct ring_swim *sw, uint64_t now,
                        void (*each)(void *arg, const struct ring_swim_member *m), void *arg);
int ring_swim_merge(struct ring_swim *sw, uint64_t now, const struct ring_swim_member *ms, size_t n,
                    int join);

/* ring_swim_leave: announce LEAVING (draining; still reachable, places no
 * blocks) or, with LEFT set, LEFT: gossiped at once to up to fanout*2
 * members and queued for the rest. */
void ring_swim_leave(struct ring_swim *sw, uint64_t now, int left);

/* ring_swim_set_load: this node's load, exported in push-pull. */
void ring_swim_set_load(struct ring_swim *sw, uint64_t bytes, uint64_t blocks);

/* ring_swim_self_update: new info for this node (weight, ports): a new
 * incarnation, gossiped. */
void ring_swim_self_update(struct ring_swim *sw, uint64_t now, const struct ring_swim_info *info);

/* The view. Members (self included) in no fixed order, index < count; the
 * pointer is valid until the next call that changes the machine. */
size_t ring_swim_count(const struct ring_swim *sw);
const struct ring_swim_member *ring_swim_member_at(const struct ring_swim *sw, size_t i);
const struct ring_swim_member *ring_swim_find(const struct ring_swim *sw,
                                              const uint8_t id[RING_ID_LEN]);
const struct ring_swim_member *ring_swim_self(const struct ring_swim *sw);
/* members in STATE (self included) */
size_t ring_swim_count_state(const struct ring_swim *sw, enum ring_state st);
/* the local health multiplier's score, 0..awareness_max-1 (0: healthy) */
unsigned ring_swim_health(const struct ring_swim *sw);
void ring_swim_stats_get(const struct ring_swim *sw, struct ring_swim_stats *out);
/* a bumped counter whenever the placed set or its info changes */
uint64_t ring_swim_version(const struct ring_swim *sw);

/* ring_swim_members: the view as ring members (for ring_build): writes up to
 * max into OUT, returns the count (all members, any state). */
size_t ring_swim_members(const struct ring_swim *sw, struct ring_member *out, size_t max);

/* Address helpers: "1.2.3.4:5", "[::1]:5". */
int ring_addr_parse(const char *s, struct ring_addr *out);
void ring_addr_format(const struct ring_addr *a, char *out, size_t len);
int ring_addr_eq(const struct ring_addr *a, const struct ring_addr *b);

#endif
