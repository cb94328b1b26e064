/* client/libshoal_int.h: libshoal's cluster client insides, shared by
 * libshoal.c (the API: open, stat, pread) and libshoal_conn.c (connections:
 * the handshake, frames, the pool). Not installed. */
#ifndef SHOAL_CLIENT_LIBSHOAL_INT_H
#define SHOAL_CLIENT_LIBSHOAL_INT_H

#include "client/shoal.h"
#include "client/wire.h"
#include "ring/ring.h"
#include "ring/swim.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CL_SEEDS_MAX 64
#define CL_KEYS_MAX 8
#define CL_IDLE_PER_NODE 4      /* idle connections kept per node */
#define CL_REQ_MAX (16 << 10)   /* a request frame this client sends, at most */
#define CL_PAR_BLOCKS 8         /* blocks of one read in flight at once */
#define CL_SLOW_MAX 16          /* stalled nodes remembered */
#define CL_SLOW_MS 5000         /* a node that stalled is asked last this long */
#define CL_HEDGE_MIN_US 1000    /* a read is never hedged sooner */
#define CL_HEDGE_START_US 20000 /* before 8 samples */

/* One authenticated connection, used by one call at a time. */
struct cl_conn {
    struct cl_conn *next; /* in the idle list */
    int fd;
    struct ring_addr addr;
    uint32_t next_rid;
    uint32_t view_rid; /* a VIEW with this rid is the answer (MEMBERS); 0: none */
    uint8_t *body;     /* the last frame's body (WIRE_FRAME_MAX) */
};

/* A view: the ring over the members a node sent (VIEW), and each placed
 * member's peer address. Immutable, reference-counted. */
struct cl_view {
    atomic_uint refs;
    struct ring *ring;
    struct ring_addr *addr; /* addr[i]: ring member i's */
    uint64_t epoch;
};

struct shoal {
    char cluster[WIRE_CLUSTER_MAX];
    uint8_t keys[CL_KEYS_MAX][WIRE_KEY_LEN]; /* derived for the peer protocol */
    size_t nkeys;
    uint64_t block_size;
    unsigned replication, timeout_ms;
    struct ring_addr seeds[CL_SEEDS_MAX];
    size_t nseeds;
    pthread_mutex_t mu; /* the view pointer, the idle list, the slow nodes, the latency */
    struct cl_view *view;
    struct cl_conn *idle;
    size_t nidle;
    /* nodes that stalled recently: asked last until `until` (monotonic ms) */
    struct {
        struct ring_addr addr;
        uint64_t until;
    } slow[CL_SLOW_MAX];
    /* time to a node's first frame, smoothed as TCP smooths its RTT (us):
     * a read is hedged (a second owner asked) after srtt + 4 x rttvar */
    double srtt_us, rttvar_us;
    unsigned nsamples;
};

/* libshoal_conn.c */
/* cl_conn_get: an idle connection to TO, or a new one (connected and
 * authenticated): 0 and *OUT, or a SHOAL_E* code. */
int cl_conn_get(shoal *sh, const struct ring_addr *to, struct cl_conn **out);
/* Back to the idle list after a call that ended cleanly; or closed. */
void cl_conn_put(shoal *sh, struct cl_conn *c);
void cl_conn_close(struct cl_conn *c);
/* cl_send: M as a frame on C (rid and epoch set here); 0 or a code. */
int cl_send(shoal *sh, struct cl_conn *c, struct wire_msg *m);
/* cl_answer: the end of a request on C answered *M, which should be of type
 * WANT (kept for the caller) or ERROR (cleared): ERR is the send and
 * receive's; C goes back to the pool, or is closed after a transport or
 * protocol error. 0 or a code. cl_meta_answer: the same for META, into *ST
 * (*M cleared). */
int cl_answer(shoal *sh, struct cl_conn *c, int err, struct wire_msg *m, enum wire_type want);
int cl_meta_answer(shoal *sh, struct cl_conn *c, int err, struct wire_msg *m, shoal_object *st);
/* cl_send_data: N bytes at P as DATA frames of request RID on C; 0 or a code. */
int cl_send_data(shoal *sh, struct cl_conn *c, uint32_t rid, const uint8_t *p, size_t n);
/* cl_recv: the next frame on C for request RID into *M (VIEW frames taken
 * in passing: the view is updated; WELCOME skipped): 0 (clear M with
 * wire_msg_clear), or a code (the connection is then unusable). */
int cl_recv(shoal *sh, struct cl_conn *c, uint32_t rid, struct wire_msg *m);
/* cl_recv, for whichever request the frame answers (several in flight).
 * ROOM (NULL: none) tells where the next DATA bytes of request RID go
 * (*SPACE bytes there), or NULL: a DATA frame that fits is read straight
 * there, and *M points at it (the caller need not copy). */
typedef uint8_t *(*cl_room_fn)(void *arg, uint32_t rid, size_t *space);
int cl_recv_any(shoal *sh, struct cl_conn *c, struct wire_msg *m, cl_room_fn room, void *arg);
/* The error code for a wire ERROR code. */
int cl_err_of(uint32_t code);

/* libshoal.c */
struct cl_view *cl_view_get(shoal *sh); /* a reference, or NULL before any */
void cl_view_put(struct cl_view *v);
/* cl_view_set: a VIEW's members become the view (when their epoch is new). */
void cl_view_set(shoal *sh, const struct wire_member *ms, size_t n);
/* The owners of ID (at most the replication), nodes that stalled recently
 * last, into TO: how many. */
size_t cl_owners_of(shoal *sh, const uint8_t id[RING_ID_LEN], struct ring_addr *to);

#endif
