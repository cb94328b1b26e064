/* client/wire.h: the peer protocol's codec, shared by shoald (node to node)
 * and libshoal (worker to node). Internal: not part of the public API.
 *
 * A connection starts with the 8 bytes WIRE_MAGIC from the side that
 * connects, then carries frames both ways:
 *
 *   length (4, big-endian) | body (length bytes, one msgpack array)
 *
 * and the body is [type, rid, ...] with the fields below. rid is the
 * request id the answer carries back (0 for the handshake). The length is
 * checked against WIRE_FRAME_MAX before any of the body is buffered, and
 * the body against each field's type and ceiling; a bad frame is rejected
 * whole (WIRE_EINVAL) and the connection closed.
 *
 * Handshake (mutual, by HMAC-SHA256 under the cluster key; docs/cluster.md):
 *   C -> S HELLO     [1, 0, version, cluster, node id|nil, epoch, nonce, block_size]
 *   S -> C CHALLENGE [2, 0, version, node id, epoch, nonce, mac]
 *   C -> S AUTH      [3, 0, mac]
 *   S -> C WELCOME   [4, 0]
 * A server answers nothing but CHALLENGE before it has checked AUTH.
 *
 * Requests, each with the sender's ring epoch; a server whose epoch differs
 * answers VIEW before its answer:
 *   VIEW      [5, rid, epoch, [[id, addr, weight, zone, state, name, s3_port,
 *              admin_port], ...]]
 *   GET       [6, rid, epoch, flags, bucket, key, etag, size, index, off, len]
 *             -> BLOCK, DATA..., END; or ERROR
 *   BLOCK     [7, rid, block_len, off, len]
 *   DATA      [8, rid, bytes]           at most WIRE_DATA_MAX bytes each
 *   END       [9, rid, xxh3]            XXH3-64 of the bytes of the DATA frames
 *   PUT       [10, rid, epoch, block id, len, xxh3] then DATA..., END -> DONE
 *   DONE      [11, rid]
 *   HOLDS     [12, rid, epoch, ids]     ids: n * 16 bytes (n <= WIRE_HOLDS_MAX)
 *             -> HELD
 *   HELD      [13, rid, bitmap]         bit i (LSB first) set: holds ids[i]
 *   META_GET  [14, rid, epoch, flags, bucket, key] -> META or ERROR
 *   META      [15, rid, size, etag, mtime, content_type, headers]
 *   META_PUT  [16, rid, epoch, flags, bucket, key, size, etag, mtime, content_type,
 *              headers] -> DONE
 *   META_DEL  [17, rid, epoch, flags, bucket, key] -> DONE
 *   ERROR     [18, rid, code, message]
 *   LIST      [19, rid, epoch, flags, bucket, prefix, delimiter, start_after, token, max]
 *             -> LISTING or ERROR (max: 1..WIRE_LIST_MAX keys and prefixes)
 *   LISTING   [20, rid, truncated, next_token, [[key, size, etag, mtime], ...],
 *              [prefix, ...]]   next_token "" unless truncated
 *   OPUT      [21, rid, epoch, flags, bucket, key, size, content_type] then
 *             DATA..., END (XXH3-64 of all the bytes) -> META (the new version)
 *             or ERROR: an object written through the node to S3
 *   MEMBERS   [22, rid, epoch]          -> VIEW (always, with this rid): every
 *             member that has not left, for a listing of the cluster
 *   DRAIN     [23, rid, epoch, node id] -> DONE (the node drains, then leaves),
 *             or ERROR inval when node id is not the node's own
 */
#ifndef SHOAL_CLIENT_WIRE_H
#define SHOAL_CLIENT_WIRE_H

#include "ring/ring.h"
#include "ring/swim.h"

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC "SHOALP1\n"
#define WIRE_MAGIC_LEN 8
#define WIRE_VERSION 1
#define WIRE_DATA_MAX (1u << 20)              /* bytes in one DATA frame */
#define WIRE_FRAME_MAX (WIRE_DATA_MAX + 4096) /* a frame's body, at most */
#define WIRE_FRAME_HEAD 4                     /* the length */
#define WIRE_NONCE_LEN 32
#define WIRE_MAC_LEN 32
#define WIRE_CLUSTER_MAX 128       /* cluster names, with the NUL */
#define WIRE_BUCKET_MAX 256        /* with the NUL */
#define WIRE_KEY_MAX 1025          /* object keys (1024 bytes), with the NUL */
#define WIRE_ETAG_MAX 128          /* with the quotes and the NUL */
#define WIRE_CTYPE_MAX 128         /* Content-Type, with the NUL */
#define WIRE_HEADERS_MAX 4097      /* kept headers, with the NUL */
#define WIRE_MESSAGE_MAX 256       /* an ERROR's text, with the NUL */
#define WIRE_HOLDS_MAX 8192        /* ids in one HOLDS */
#define WIRE_VIEW_MAX 8192         /* members in one VIEW */
#define WIRE_BLOCK_MAX (64u << 20) /* the largest block (cluster.block_size) */
#define WIRE_DELIM_MAX 64          /* a listing's delimiter, with the NUL */
#define WIRE_TOKEN_MAX 2048        /* a listing's continuation token, with the NUL */
/* keys and prefixes in one LISTING: 700 of the longest keys with their
 * ETags still fit one frame */
#define WIRE_LIST_MAX 700
#define WIRE_OPUT_MAX (5ULL << 30) /* an object written in one OPUT (S3's PutObject limit) */

enum wire_err {
    WIRE_OK = 0,
    WIRE_EINVAL = -1,  /* malformed: bad type, field, length or trailing bytes */
    WIRE_ETOOBIG = -2, /* a frame over WIRE_FRAME_MAX, or a message that does not fit */
    WIRE_ENOMEM = -3,
};

enum wire_type {
    WIRE_HELLO = 1,
    WIRE_CHALLENGE,
    WIRE_AUTH,
    WIRE_WELCOME,
    WIRE_VIEW,
    WIRE_GET,
    WIRE_BLOCK,
    WIRE_DATA,
    WIRE_END,
    WIRE_PUT,
    WIRE_DONE,
    WIRE_HOLDS,
    WIRE_HELD,
    WIRE_META_GET,
    WIRE_META,
    WIRE_META_PUT,
    WIRE_META_DEL,
    WIRE_ERROR,
    WIRE_LIST,
    WIRE_LISTING,
    WIRE_OPUT,
    WIRE_MEMBERS,
    WIRE_DRAIN,
    WIRE_TYPE_LAST = WIRE_DRAIN
};

/* ERROR codes */
enum wire_code {
    WIRE_C_NOENT = 1,   /* no such object (or bucket) */
    WIRE_C_PRECOND = 2, /* the object changed: its ETag is not the one asked for */
    WIRE_C_UNAVAIL = 3, /* S3 cannot be reached, or the node is busy */
    WIRE_C_NOMEM = 4,   /* out of request memory: try another owner, or later */
    WIRE_C_INVAL = 5,   /* a request this node cannot serve (unknown bucket, bad range) */
    WIRE_C_AUTH = 6,    /* authentication failed */
    WIRE_C_PROTO = 7,   /* another protocol version, cluster or block size */
    WIRE_C_IO = 8,      /* a local failure */
    WIRE_C_DENIED = 9,  /* S3 refused the node's credentials */
    WIRE_C_RDONLY = 10, /* OPUT to a read-only mount */
    WIRE_C_LAST = WIRE_C_RDONLY
};

/* GET, META_* flags */
#define WIRE_F_LOCAL 1u /* serve from this node or S3, never from another node */
#define WIRE_F_OWN 2u   /* META_PUT: the metadata the mount's own S3 identity reads */
#define WIRE_F_HELD 4u  /* GET: serve only what this node holds (no fill): UNAVAIL otherwise */

struct wire_member {
    uint8_t id[RING_ID_LEN];
    struct ring_addr addr; /* its peer address */
    uint32_t weight;
    char zone[RING_ZONE_MAX];
    uint8_t state; /* enum ring_state */
    char name[RING_NAME_MAX];
    uint16_t s3_port, admin_port;
};

/* One key of a LISTING (key: NUL-terminated, in the message's arena). */
struct wire_entry {
    const char *key;
    uint64_t size;
    char etag[WIRE_ETAG_MAX];
    int64_t mtime;
};

/* A decoded frame. Strings are NUL-terminated copies; DATA's bytes, HOLDS'
 * ids and HELD's bitmap point into the decoded body (valid while it is);
 * VIEW's members and LISTING's entries and prefixes are malloc'd
 * (wire_msg_clear frees them; to encode, they may point anywhere). */
struct wire_msg {
    enum wire_type type;
    uint32_t rid;
    uint64_t epoch; /* HELLO, CHALLENGE, VIEW and the requests */
    uint32_t flags; /* GET, META_GET, META_PUT, META_DEL, LIST, OPUT */
    union {
        struct {
            uint32_t version;
            char cluster[WIRE_CLUSTER_MAX];
            int has_node;
            uint8_t node[RING_ID_LEN];
            uint8_t nonce[WIRE_NONCE_LEN];
            uint64_t block_size;
        } hello;
        struct {
            uint32_t version;
            uint8_t node[RING_ID_LEN];
            uint8_t nonce[WIRE_NONCE_LEN];
            uint8_t mac[WIRE_MAC_LEN];
        } challenge;
        struct {
            uint8_t mac[WIRE_MAC_LEN];
        } auth;
        struct {
            struct wire_member *members;
            size_t n;
        } view;
        struct { /* GET, META_GET, META_PUT, META_DEL, OPUT */
            char bucket[WIRE_BUCKET_MAX];
            char key[WIRE_KEY_MAX];
            /* GET */
            char etag[WIRE_ETAG_MAX];
            uint64_t size, index; /* size: OPUT's too */
            uint32_t off, len;
        } obj;
        struct {
            uint64_t block_len;
            uint32_t off, len;
        } block;
        struct {
            const uint8_t *p;
            size_t len;
        } data;
        struct {
            uint64_t sum;
        } end;
        struct {
            uint8_t id[RING_ID_LEN];
            uint64_t len, sum;
        } put;
        struct {
            const uint8_t *ids;
            size_t n;
        } holds;
        struct {
            const uint8_t *bits;
            size_t len; /* bytes */
        } held;
        struct {
            uint32_t code;
            char message[WIRE_MESSAGE_MAX];
        } error;
        struct {
            char bucket[WIRE_BUCKET_MAX];
            char prefix[WIRE_KEY_MAX];
            char delimiter[WIRE_DELIM_MAX];
            char after[WIRE_KEY_MAX];
            char token[WIRE_TOKEN_MAX];
            uint32_t max;
        } list;
        struct {
            int truncated;
            char next_token[WIRE_TOKEN_MAX];
            struct wire_entry *entries;
            size_t nentries;
            const char **prefixes;
            size_t nprefixes;
            char *arena; /* decoded: the strings the pointers point at */
        } listing;
        struct {
            uint8_t node[RING_ID_LEN]; /* the node to drain */
        } drain;
    } u;
    /* META, META_PUT: the object's metadata (obj holds bucket and key);
     * OPUT: its content_type */
    struct {
        uint64_t size;
        char etag[WIRE_ETAG_MAX];
        int64_t mtime;
        char content_type[WIRE_CTYPE_MAX];
        char headers[WIRE_HEADERS_MAX];
    } meta;
};

const char *wire_type_name(int type);
const char *wire_code_name(int code);

/* The length a frame header announces: 0 and *len, or WIRE_ETOOBIG when it
 * is over WIRE_FRAME_MAX, WIRE_EINVAL when it is 0. */
int wire_frame_len(const uint8_t head[WIRE_FRAME_HEAD], uint32_t *len);

/* wire_encode: M as a whole frame (head and body) into OUT (CAP bytes);
 * 0 and *len, or WIRE_ETOOBIG when it does not fit, WIRE_EINVAL for a
 * message that cannot be sent (DATA: see wire_data_head; a string too long
 * for its field). */
int wire_encode(const struct wire_msg *m, uint8_t *out, size_t cap, size_t *len);

/* The head of a DATA frame of N bytes (N <= WIRE_DATA_MAX) for request RID
 * into OUT: returns its length (at most WIRE_DATA_HEAD_MAX); the N bytes
 * follow it on the wire. */
#define WIRE_DATA_HEAD_MAX 16
size_t wire_data_head(uint32_t rid, size_t n, uint8_t out[WIRE_DATA_HEAD_MAX]);

/* wire_data_peek: whether a frame body of BODY_LEN bytes whose first N
 * bytes are P is a well-formed DATA frame, so that its bytes can be taken
 * from where they lie instead of decoded whole: 1 with *RID, *HEAD_LEN (the
 * bytes of the body before the data) and *DATA_LEN (= BODY_LEN - *HEAD_LEN,
 * 1..WIRE_DATA_MAX); 0 otherwise (then wire_decode it). N >= 16 unless the
 * body is shorter. What it takes, wire_decode decodes as the same DATA
 * frame; it takes every DATA frame wire_data_head makes. */
int wire_data_peek(const uint8_t *p, size_t n, size_t body_len, uint32_t *rid, size_t *head_len,
                   size_t *data_len);

/* wire_decode: a frame's body (LEN bytes, without the head) into *M: 0, or
 * WIRE_EINVAL / WIRE_ENOMEM (nothing to clear then). On success M may own
 * memory: wire_msg_clear(M). */
int wire_decode(const uint8_t *body, size_t len, struct wire_msg *m);
void wire_msg_clear(struct wire_msg *m);

/* The handshake's MACs: HMAC-SHA256 under KEY (32 bytes) over a label for
 * the side that proves ("s": the server, "c": the client), the cluster
 * name, and the two nonces, the verifier's first. 0, or -1 when OpenSSL
 * fails. */
int wire_mac(const uint8_t key[32], char side, const char *cluster,
             const uint8_t verifier_nonce[WIRE_NONCE_LEN],
             const uint8_t prover_nonce[WIRE_NONCE_LEN], uint8_t out[WIRE_MAC_LEN]);

/* ---- keys (keys.c) -------------------------------------------------------------------- */

#define WIRE_KEY_LEN 32
#define WIRE_KEYFILE_MAX 4096 /* bytes a key file may have */
/* wire_keys_load: reads the key file PATH into KEYS (up to MAX), *N of
 * them, the first the one that proves. 0, or -1 with a message for a
 * person in WHY ("line 3: not a key ..."). */
int wire_keys_load(const char *path, uint8_t keys[][WIRE_KEY_LEN], size_t max, size_t *n, char *why,
                   size_t why_len);
/* The key of a cluster without a key file: SHA-256 of "shoal insecure
 * key/" and its name (keeps clusters apart; keeps nothing secret). */
void wire_insecure_key(const char *cluster, uint8_t out[WIRE_KEY_LEN]);
/* OUT = SHA-256(LABEL (16 bytes, no NUL), KEY): a key for one use. The
 * peer protocol's MACs use "shoal peer key/1". */
void wire_derive_key(const char label[16], const uint8_t key[WIRE_KEY_LEN],
                     uint8_t out[WIRE_KEY_LEN]);

#endif
