/* daemon/cluster/cluster_int.h: the cluster module's insides, shared by
 * cluster.c (the machine, datagrams, the timer, the ring), cluster_stream.c
 * (push-pull over TCP), cluster_join.c (seeds, the advertised address,
 * leaving) and cluster_status.c (/v1/ring, /metrics). Not for other
 * modules. */
#ifndef SHOAL_DAEMON_CLUSTER_CLUSTER_INT_H
#define SHOAL_DAEMON_CLUSTER_CLUSTER_INT_H

#include "daemon/cluster/cluster.h"
#include "daemon/cluster/seal.h"
#include "ring/ring.h"
#include "ring/swim.h"

#include <event2/util.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define CLUSTER_STREAMS_IN_MAX 16 /* push-pulls served at once */
#define CLUSTER_STREAMS_OUT_MAX 8 /* push-pulls started at once */
#define CLUSTER_STREAM_TIMEOUT_S 5
#define CLUSTER_SNIFFS_MAX 256 /* accepted connections whose first byte is awaited */
#define CLUSTER_SEEDS_MAX 256  /* resolved seed addresses */
#define CLUSTER_RETIRED_MAX 16 /* replaced rings kept for readers */
#define CLUSTER_RETIRE_MS 60000

struct cluster_stats {
    uint64_t drops[CLUSTER_DROP_COUNT];
    uint64_t dgrams_in, dgrams_out, dgram_bytes_in, dgram_bytes_out, send_errors;
    uint64_t streams_in, streams_out, stream_bytes_in, stream_bytes_out, stream_failures;
    uint64_t streams_refused;                         /* over CLUSTER_STREAMS_IN_MAX */
    uint64_t peer_conns, sniff_refused, sniff_failed; /* peer protocol connections handed on */
    uint64_t conflicts, joins, ring_rebuilds;
};

struct cluster {
    struct event_base *base;
    const struct shd_config *cfg;
    struct ring_swim *sw;
    struct cluster_seal *seal;
    struct ring_swim_info self;
    int insecure_ok; /* no key file: only loopback peers */
    evutil_socket_t udp;
    struct event *udp_ev, *timer;
    struct evconnlistener *lis;
    char peer_addr[128];
    /* joining (cluster_join.c) */
    struct evdns_base *dns;
    struct event *join_ev;
    unsigned join_failures, resolving, join_pending;
    int joined;
    struct ring_addr seeds[CLUSTER_SEEDS_MAX];
    size_t nseeds;
    /* leaving */
    int left;
    void (*leave_done)(void *);
    void *leave_arg;
    struct event *leave_ev;
    /* push-pull streams in flight */
    struct cluster_stream *streams;
    unsigned streams_in, streams_out;
    /* the ring over the live members */
    const struct cluster_view *_Atomic view;
    uint64_t ring_version;
    struct cluster_view *retired[CLUSTER_RETIRED_MAX];
    uint64_t retired_at[CLUSTER_RETIRED_MAX];
    /* connections of the peer protocol (cluster_on_peer_conn), and the
     * accepted connections not yet told apart (cluster_stream.c) */
    void (*peer_conn)(void *arg, evutil_socket_t fd);
    void *peer_conn_arg;
    struct cluster_sniff *sniffs;
    unsigned nsniffs;
    struct cluster_stats st;
};

/* cluster.c */
uint64_t cluster_now_ms(void);
uint64_t cluster_wall_us(void);
void cluster_after(struct cluster *c); /* after anything ran the machine */
int cluster_sockaddr(const struct ring_addr *a, struct sockaddr_storage *ss, socklen_t *len);
void cluster_ring_addr(const struct sockaddr *sa, struct ring_addr *out);
int cluster_addr_loopback(const struct ring_addr *a);

/* cluster_stream.c */
struct cluster_stream;
int cluster_stream_listen(struct cluster *c, evutil_socket_t fd);
void cluster_streams_free(struct cluster *c);
void cluster_sniffs_free(struct cluster *c);
/* a push-pull with TO; JOIN: this node is joining through it. DONE, if
 * set, hears whether it completed. */
void cluster_pushpull(struct cluster *c, const struct ring_addr *to, int join,
                      void (*done)(struct cluster *c, int ok));

/* cluster_join.c */
int cluster_join_start(struct cluster *c);
void cluster_join_stop(struct cluster *c);
int cluster_advertise(struct cluster *c, evutil_socket_t bound, struct ring_addr *out);

#endif
