/* ring/swim_sim.h: a discrete-event simulation of a gossip cluster that
 * drives the real membership state machine (ring/swim.h) with simulated
 * time and a lossy network: every datagram is encoded with the real wire
 * format (ring/swim_wire.h), counted, maybe dropped, delayed and decoded;
 * push-pulls exchange encoded full states. Deterministic for a seed.
 *
 * Used by the unit tests (tests/unit/test_swim.c) and by
 * `shoal ring simulate --gossip` for figures at sizes no machine runs as
 * processes (1,000 and 10,000 nodes). All nodes share one set of interned
 * member infos, so memory is about 90 bytes per member per node: 10,000
 * nodes take about 9 GB. */
#ifndef SHOAL_RING_SWIM_SIM_H
#define SHOAL_RING_SWIM_SIM_H

#include "ring/swim.h"

struct ring_sim_conf {
    size_t nodes;
    struct ring_swim_conf swim;
    double loss;         /* probability a datagram is dropped (0..1) */
    uint32_t latency_us; /* one-way delay: latency_us + up to jitter_us */
    uint32_t jitter_us;
    uint64_t seed;
    size_t zones; /* nodes spread over this many zones (0: none) */
};

struct ring_sim_stats {
    uint64_t datagrams, dropped, bytes; /* sent by all nodes (sealed + 28 B UDP/IP) */
    uint64_t stream_bytes;              /* push-pull, both ways, sealed */
    uint64_t pushpulls;                 /* push-pulls completed */
    uint64_t decode_errors;
    uint64_t false_deaths; /* a node that was not killed seen DEAD */
};

struct ring_sim;

/* ring_sim_new: NODES nodes, none started. */
int ring_sim_new(const struct ring_sim_conf *c, struct ring_sim **out);
void ring_sim_free(struct ring_sim *s);

/* ring_sim_start: starts node I at the current time; it joins through a
 * push-pull with SEED (or starts alone when SEED is I or -1). */
int ring_sim_start(struct ring_sim *s, size_t i, long seed);
/* ring_sim_start_all: starts every node, each joining through node 0, at
 * random times within SPREAD_MS, then runs until all see all (or
 * LIMIT_MS): returns the time that took, or -1. */
long ring_sim_start_all(struct ring_sim *s, uint64_t spread_ms, uint64_t limit_ms);

/* ring_sim_start_known: starts every node not started yet, and gives each
 * the full member list as a joining node's push-pull with a seed would
 * (the same merge, not the stream), without queueing what it learns: a
 * cluster of N some time after its join, without N full-state exchanges of
 * N members and their gossip, for sizes where those cost too much to
 * simulate. 0, or RING_ENOMEM. */
int ring_sim_start_known(struct ring_sim *s);

/* ring_sim_kill: node I stops (SIGKILL: no goodbye). ring_sim_leave: it
 * announces LEFT, then stops after 1 s. */
void ring_sim_kill(struct ring_sim *s, size_t i);
void ring_sim_leave(struct ring_sim *s, size_t i);
/* ring_sim_partition: datagrams and push-pulls between nodes of different
 * GROUP numbers are dropped (GROUP NULL: healed). Copied. */
void ring_sim_partition(struct ring_sim *s, const int *group);
void ring_sim_set_loss(struct ring_sim *s, double loss);

/* ring_sim_run: advances simulated time to T_MS, running everything due. */
void ring_sim_run(struct ring_sim *s, uint64_t t_ms);
uint64_t ring_sim_now(const struct ring_sim *s);

/* The time since it was killed (or left) at which every running node saw
 * node I DEAD (or LEFT); -1 while some have not. */
long ring_sim_detected(const struct ring_sim *s, size_t i);
/* whether every running node sees every running node as a member (ALIVE,
 * or SUSPECT: under loss some suspicion is always being refuted) and the
 * killed or left ones not live */
int ring_sim_converged(const struct ring_sim *s);

struct ring_swim *ring_sim_node(struct ring_sim *s, size_t i);
int ring_sim_running(const struct ring_sim *s, size_t i);
void ring_sim_stats_get(const struct ring_sim *s, struct ring_sim_stats *out);

#endif
