/* daemon/cluster/cluster.h: this node's membership in the cluster: the
 * gossip transport around the state machine of ring/swim.h (UDP datagrams
 * and TCP push-pull on listen.peer, sealed by seal.h), joining through the
 * seeds, leaving, and the ring placed on the live members.
 *
 * Everything runs on the main thread's event loop, which also serves the
 * admin endpoint; the ring is handed to other threads by cluster_ring(). */
#ifndef SHOAL_DAEMON_CLUSTER_CLUSTER_H
#define SHOAL_DAEMON_CLUSTER_CLUSTER_H

#include "client/wire.h"
#include "daemon/config/config.h"
#include "ring/swim.h"

#include <event2/util.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct ring;
struct cluster;

/* cluster_start: binds listen.peer (UDP and TCP), loads the key file,
 * starts gossip as node ID with the given S3 and admin ports, and starts
 * joining through cluster.seeds (in the background, forever, with
 * backoff). Returns 0 and *OUT, SHD_ERR_CONFIG (logged: a key file that
 * does not load, or no key file on a network that is not loopback without
 * cluster.insecure) or SHD_ERR_IO (logged: the port). */
int cluster_start(struct event_base *base, const struct shd_config *cfg, const uint8_t id[16],
                  uint16_t s3_port, uint16_t admin_port, struct cluster **out);

/* cluster_leave: announces that this node has left and calls DONE(ARG) once
 * a peer has taken the news (a push-pull to it completed) or TIMEOUT_MS
 * passed; at once when this node is alone. */
void cluster_leave(struct cluster *c, uint64_t timeout_ms, void (*done)(void *), void *arg);

/* cluster_drain: announces that this node is leaving (draining: still
 * reachable, no longer placed on the ring, so its blocks have new owners);
 * cluster_leave() follows once they have them. */
void cluster_drain(struct cluster *c);
/* Whether this node has joined (through a seed), or needs not (no seeds). */
int cluster_joined(const struct cluster *c);
/* Members other than this node that are alive or suspect. */
size_t cluster_others(const struct cluster *c);
/* cluster_free: closes the sockets and frees everything (no goodbye: see
 * cluster_leave). NULL is a no-op. */
void cluster_free(struct cluster *c);

/* The address listen.peer is bound to, "host:port". */
const char *cluster_peer_addr(const struct cluster *c);

/* What the other threads see of the membership: the ring over the live
 * members, each placed member's peer address (peer[i] for ring member i),
 * this node's ring index (-1 when it is not placed), and every member that
 * has not left, as the peer protocol's VIEW sends them. Immutable; valid for
 * at least 60 s after a newer one replaces it (readers on other threads
 * hold it for one request). */
#define CLUSTER_VIEW_MEMBERS_MAX WIRE_VIEW_MAX
struct cluster_view {
    struct ring *ring;
    uint64_t epoch;
    struct ring_addr *peer;
    int self;
    struct wire_member *members;
    size_t nmembers;
    uint64_t changed_ms; /* monotonic: when the epoch became this one */
};
const struct cluster_view *cluster_view(const struct cluster *c);
/* The view's ring. */
const struct ring *cluster_ring(const struct cluster *c);
/* The cluster keys (the first one proves; the insecure key when there is no
 * key file) into KEYS; returns how many. */
size_t cluster_keys(const struct cluster *c, uint8_t keys[][32]);
/* Connections on listen.peer that are not push-pull (they start with
 * WIRE_MAGIC) go to FN(ARG, fd), which owns the socket from then on. Set
 * before any connection comes, on the main thread. */
void cluster_on_peer_conn(struct cluster *c, void (*fn)(void *arg, evutil_socket_t fd), void *arg);

/* /v1/ring: the view as JSON. */
void cluster_ring_json(struct cluster *c, struct evbuffer *out);

/* S as a JSON string onto O: quotes, backslashes, control and non-ASCII
 * bytes escaped. */
void cluster_json_str(struct evbuffer *o, const char *s);
/* a /metrics source (shd_metrics_add_source), ARG the cluster */
void cluster_metrics(struct evbuffer *out, void *arg);

#endif
