/* daemon/cluster/peer_int.h: the peer protocol's insides, shared by
 * peer_conn.c (connections, frames, the handshake), peer_srv.c (answering
 * requests) and peer_pool.c (asking other nodes, routes, replication). Not
 * for other modules.
 *
 * A connection's states (C: the side that connected, S: the one that
 * accepted):
 *
 *   S: MAGIC --8 bytes--> HELLO --HELLO ok / CHALLENGE--> AUTH --AUTH ok / WELCOME--> READY
 *   C: CHALLENGE --CHALLENGE ok / AUTH + queued requests--> READY
 *
 * Anything else in a state (a request before AUTH, a bad MAC, another
 * cluster, version or block size, a frame that does not decode) closes the
 * connection and is counted; the calls in flight on it fail with
 * UFS_EUNAVAIL. */
#ifndef SHOAL_DAEMON_CLUSTER_PEER_INT_H
#define SHOAL_DAEMON_CLUSTER_PEER_INT_H

#include "client/wire.h"
#include "daemon/cluster/cluster.h"
#include "daemon/cluster/peer.h"
#include "daemon/cluster/seal.h"
#include "daemon/shd.h"

#include <event2/bufferevent.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <xxhash.h>

#define PEER_CONNS_PER_PEER 4        /* connections a loop opens to one node, at most */
#define PEER_CALLS_PER_CONN 8        /* calls in flight before another connection opens */
#define PEER_SREQS_MAX 256           /* requests in progress on one served connection */
#define PEER_REPL_BYTES (256u << 20) /* block bytes being replicated at once, per node */
#define PEER_HANDSHAKE_MS 3000

enum peer_state { PC_MAGIC, PC_HELLO, PC_AUTH, PC_CHALLENGE, PC_READY, PC_DEAD };

struct peer_stats {
    _Atomic uint64_t conns_in, conns_out, auth_failures, bad_frames, handshake_failures;
    _Atomic uint64_t gets_in, puts_in, holds_in, errors_out, stale_epochs;
    _Atomic uint64_t reads, read_failures, read_timeouts, bytes_in, bytes_out;
    _Atomic uint64_t puts_out, puts_failed, repl_skipped, puts_dup, puts_unneeded,
        checksum_failures;
    _Atomic uint64_t views_in, tells, tells_failed, tells_in, meta_gets, meta_gets_in;
    _Atomic uint64_t probes, probe_hits;
    _Atomic uint64_t lists_in, oputs_in, oputs_failed;
};

struct peer_conn;
struct peer_set;

/* One event loop's share: its connections, both ways. */
struct peer_loop {
    struct peer_set *ps;
    struct shd_loop *l;
    struct peer_conn *conns;
    struct peer_conn *closing; /* closed, writing their last frames */
};

struct peer_set {
    struct shd_ctx *ctx;
    struct cluster *cluster;
    uint8_t keys[CLUSTER_KEYS_MAX][32]; /* the cluster keys, the first proves */
    size_t nkeys;
    char name[WIRE_CLUSTER_MAX];
    struct peer_loop loops[SHD_LOOPS_MAX];
    _Atomic uint64_t repl_bytes; /* being replicated now */
    _Atomic unsigned next_loop;
    int stopping;                          /* peer_stop: the loops no longer run */
    atomic_int draining;                   /* leaving: no new fills for peers */
    struct peer_repair *repair;            /* peer_repair.c */
    struct ssl_ctx_st *tls;                /* cluster.tls (peer_tls.c), or NULL */
    uint8_t tls_psk[CLUSTER_KEYS_MAX][32]; /* a PSK per cluster key */
    char tls_id[CLUSTER_KEYS_MAX][24];     /* and its public identity */
    struct peer_stats st;
};

struct peer_sreq;   /* peer_srv.c */
struct peer_mreq;   /* peer_srv.c */
struct peer_put_in; /* peer_srv.c */
struct peer_lreq;   /* peer_srv.c */
struct peer_oput;   /* peer_oput.c */

struct peer_conn {
    struct peer_loop *pl;
    struct peer_conn *next, **pprev;
    struct bufferevent *bev;
    struct bufferevent *raw; /* with TLS: the socket under bev, a filter; else NULL */
    uint32_t d_rid;          /* the DATA frame being received: its request, */
    size_t d_left;           /* and its bytes still to come (0: between frames) */
    struct event *hs_timer;  /* the handshake's deadline */
    struct event *rev;       /* reading: our own (sock_read_cb), not the bufferevent's */
    struct evbuffer *in;     /* what was read and not yet taken */
    int server;
    int flushing; /* closed, on pl->closing until its output is out */
    enum peer_state state;
    uint8_t nonce[WIRE_NONCE_LEN], their_nonce[WIRE_NONCE_LEN];
    struct ring_addr addr;     /* the client's: the node it calls */
    uint8_t node[RING_ID_LEN]; /* the server's: the client's node id (HELLO), if has_node */
    int has_node;
    int key; /* the client's: the key the server proved */
    /* server side (peer_srv.c) */
    struct peer_sreq *sreqs;
    unsigned nsreqs;
    struct peer_mreq *mreqs; /* META_GETs waiting for a HEAD */
    struct peer_put_in *put;
    struct peer_lreq *lreqs; /* LISTs waiting for S3 */
    struct peer_oput *oput;  /* the OPUT being received or finished */
    int paused;              /* reading stopped (peer_conn_pause) */
    struct event *resume_ev; /* frames taken again from the loop */
    /* client side (peer_pool.c) */
    struct peer_call *calls;
    unsigned ncalls;
    uint32_t next_rid;
    struct evbuffer *pending; /* requests written before the handshake ended */
};

/* peer_conn.c */
struct peer_conn *peer_conn_new(struct peer_loop *pl, evutil_socket_t fd, int server);
/* Closes C now (its calls fail, its served requests are cancelled). */
void peer_conn_close(struct peer_conn *c);
/* Queues the frame M on C (or on C's pending buffer before READY); 0 or -1. */
int peer_send(struct peer_conn *c, const struct wire_msg *m);
/* ERROR CODE for request RID. */
void peer_send_error(struct peer_conn *c, uint32_t rid, uint32_t code, const char *message);
/* Queues N bytes of block B from DATA as DATA frames for RID (zero-copy: the
 * frames hold references to B). */
void peer_send_data(struct peer_conn *c, uint32_t rid, struct store_block *b, const uint8_t *data,
                    size_t n);
uint64_t peer_now_ms(void);
/* peer_srv.c: the wire ERROR code for a ufs error */
uint32_t peer_code_of(int ufs_err);
/* peer_oput.c: OPUT's frames (see the file), and the connection closing */
int peer_oput_start(struct peer_conn *c, const struct wire_msg *m);
int peer_oput_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n);
int peer_oput_end(struct peer_conn *c, const struct wire_msg *m);
void peer_oput_close(struct peer_conn *c);

/* Stops reading C (an OPUT's S3 writer is full: the sender waits in its
 * socket), and starts again; what C holds already is taken from the loop. */
void peer_conn_pause(struct peer_conn *c);
void peer_conn_resume(struct peer_conn *c);
/* A META or META_PUT frame's metadata as a stat (headers point into M), and
 * the other way. */
void peer_stat_of(const struct wire_msg *m, struct ufs_stat *st);
void peer_meta_of(struct wire_msg *m, const struct ufs_stat *st);

/* peer_tls.c: the TLS context from the cluster keys (0, or -1 logged), its
 * end, and a connection's TLS filter over a socket bufferevent for FD (*RAW;
 * connect that one), or NULL. */
int peer_tls_start(struct peer_set *ps, const uint8_t keys[][32], size_t n);
void peer_tls_stop(struct peer_set *ps);
struct bufferevent *peer_tls_bev(struct peer_set *ps, struct event_base *base, evutil_socket_t fd,
                                 int server, struct bufferevent **raw);

/* peer_srv.c: a frame for the server side of a READY connection; 0, or -1
 * to close the connection. */
int peer_srv_frame(struct peer_conn *c, const struct wire_msg *m);
void peer_srv_close(struct peer_conn *c); /* cancels what C's requests run */
/* A DATA frame's N bytes for RID, in NV pieces where they lie (the input
 * buffer, not copied out first); 0, or -1 to close. Both sides. */
struct iovec;
int peer_srv_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n);
int peer_pool_data(struct peer_conn *c, uint32_t rid, const struct iovec *v, int nv, size_t n);
/* Where RID's next DATA bytes belong (*ROOM of them), for reading them
 * straight there; NULL when they have no such place. A piece then given to
 * peer_*_data at that address is already in place. */
uint8_t *peer_srv_room(struct peer_conn *c, uint32_t rid, size_t *room);
uint8_t *peer_pool_room(struct peer_conn *c, uint32_t rid, size_t *room);

/* peer_repair.c: the repair engine on loop 0 (0), and its end. */
int peer_repair_start(struct peer_set *ps);
void peer_repair_stop(struct peer_set *ps);

/* peer_pool.c: a frame for the client side; 0 or -1 to close. */
int peer_pool_frame(struct peer_conn *c, const struct wire_msg *m);
void peer_pool_close(struct peer_conn *c); /* fails C's calls */
void peer_pool_ready(struct peer_conn *c); /* the handshake ended: flush what waits */

#endif
