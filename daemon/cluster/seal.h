/* daemon/cluster/seal.h: sealing gossip datagrams and push-pull frames with
 * AES-256-GCM (OpenSSL), the cluster's key file, and the replay guard.
 *
 * A sealed message (RING_SWIM_SEAL_OVERHEAD = 30 bytes more than its
 * payload):
 *
 *   version (1) | key hint (1) | nonce (12) | ciphertext | tag (16)
 *
 * The key hint is the first byte of SHA-256(key), so the receiver tries the
 * key that sealed it (and any other with the same hint). The associated data
 * is the version and hint bytes, the kind (datagram or stream frame), and
 * "shoal/<version>/<cluster name>": a packet of another cluster, another
 * protocol version, or sealed under a key this node does not hold fails
 * authentication. The nonce is the sender's 4-byte random salt (new at each
 * start) and an 8-byte counter that is the wall clock in microseconds, or
 * one more than the last when the clock has not moved; never reused under a
 * key.
 *
 * The replay guard, per salt: a message is taken if its counter is within
 * CLUSTER_SEAL_SKEW_US of this node's clock and it is newer than the newest
 * taken, or among the last CLUSTER_SEAL_WINDOW taken and not one of them
 * (datagrams reorder). Everything else is a replay (or too old to tell). A
 * salt whose newest message is older than the skew is forgotten: every
 * message it could carry is stale anyway.
 *
 * Without a key file (cluster.insecure, or loopback) the key is SHA-256 of
 * "shoal insecure key/" and the cluster name: it keeps clusters apart and
 * catches corruption and replays, and keeps nothing secret.
 *
 * Key file: one key per line, 32 bytes as base64 (44 characters, what
 * `shoal keygen` prints) or hex (64); blank lines and lines starting with
 * '#' are ignored. The first key seals; all open (rotation:
 * docs/cluster.md). */
#ifndef SHOAL_DAEMON_CLUSTER_SEAL_H
#define SHOAL_DAEMON_CLUSTER_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_KEY_LEN 32
#define CLUSTER_KEYS_MAX 8
#define CLUSTER_KEYFILE_MAX 4096 /* bytes a key file may have */
#define CLUSTER_SEAL_VERSION 1
#define CLUSTER_SEAL_SKEW_US (60ULL * 1000000) /* clocks may differ this much */
#define CLUSTER_SEAL_WINDOW 64                 /* counters remembered per sender */
#define CLUSTER_SEAL_SENDERS_MAX 8192          /* salts remembered */

enum cluster_seal_kind { CLUSTER_SEAL_DGRAM = 'D', CLUSTER_SEAL_STREAM = 'S' };

/* Why a message was dropped; also the index of its /metrics counter. */
enum cluster_drop {
    CLUSTER_DROP_NONE = 0,
    CLUSTER_DROP_SHORT,   /* shorter than the seal */
    CLUSTER_DROP_VERSION, /* another seal version */
    CLUSTER_DROP_KEY,     /* no key with its hint */
    CLUSTER_DROP_AUTH,    /* failed authentication: wrong key or cluster, or tampered */
    CLUSTER_DROP_STALE,   /* its clock is outside the skew */
    CLUSTER_DROP_REPLAY,  /* seen before, or too old to tell */
    CLUSTER_DROP_DECODE,  /* opened, but the message inside is malformed */
    CLUSTER_DROP_TOOBIG,  /* a stream frame over its ceiling */
    CLUSTER_DROP_COUNT
};

const char *cluster_drop_name(enum cluster_drop d);

struct cluster_seal;

/* cluster_keys_load: reads the key file PATH into KEYS (up to
 * CLUSTER_KEYS_MAX), *N of them. 0, or -1 with a message for a person in
 * WHY ("line 3: not a key: ..."). */
int cluster_keys_load(const char *path, uint8_t keys[][CLUSTER_KEY_LEN], size_t *n, char *why,
                      size_t why_len);

/* cluster_key_format: a new random key as the key file's line (base64),
 * NUL-terminated, into OUT (at least 45 bytes). 0 or -1. */
int cluster_key_new(char *out, size_t len);

/* cluster_seal_new: a sealer for CLUSTER under KEYS (N >= 1; the first
 * seals), or, with N == 0, the insecure key of CLUSTER. NULL when out of
 * memory or OpenSSL fails. */
struct cluster_seal *cluster_seal_new(const char *cluster, const uint8_t keys[][CLUSTER_KEY_LEN],
                                      size_t n);
void cluster_seal_free(struct cluster_seal *s);
/* The keys the sealer holds (the insecure key when made without one), the
 * first one the one that seals, into KEYS; returns how many. */
size_t cluster_seal_keys(const struct cluster_seal *s, uint8_t keys[][CLUSTER_KEY_LEN]);

/* cluster_seal: seals LEN bytes of IN into OUT (CAP >= LEN + 30); returns
 * the sealed length, or 0 when it does not fit or OpenSSL fails. NOW_US is
 * the wall clock. */
size_t cluster_seal(struct cluster_seal *s, enum cluster_seal_kind kind, uint64_t now_us,
                    const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* cluster_seal_open: opens LEN bytes of IN into OUT (CAP >= LEN - 30) and
 * checks the replay guard (which it then updates); returns CLUSTER_DROP_NONE
 * and *OUT_LEN, or why it was dropped. */
enum cluster_drop cluster_seal_open(struct cluster_seal *s, enum cluster_seal_kind kind,
                                    uint64_t now_us, const uint8_t *in, size_t len, uint8_t *out,
                                    size_t cap, size_t *out_len);

#endif
