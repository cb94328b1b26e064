/* ring/swim_wire.h: the gossip wire format: membership messages and full
 * states as msgpack, before sealing (the daemon seals each with AES-256-GCM:
 * daemon/cluster/). The format is in docs/cluster.md.
 *
 * A message is an array [version, type, seq, target, target_addr, updates]:
 *   target       bin 16 or nil
 *   target_addr  bin 6 (IPv4 + port) or bin 18 (IPv6 + port), or nil
 *   updates      array of [kind, id, incarnation, ...]:
 *                ALIVE, LEAVING: ..., name, zone, weight, addr, s3_port, admin_port
 *                SUSPECT, DEAD:  ..., from (bin 16)
 *                LEFT:           nothing more
 * A full state is an array [version, members], each member
 *   [id, incarnation, state, name, zone, weight, addr, s3_port, admin_port,
 *    load_seq, bytes, blocks].
 *
 * The decoders take untrusted bytes: every length is checked against its
 * ceiling, every field against its type and range; a bad message is
 * rejected whole (RING_EINVAL), never half-applied. */
#ifndef SHOAL_RING_SWIM_WIRE_H
#define SHOAL_RING_SWIM_WIRE_H

#include "ring/swim.h"

#define RING_SWIM_WIRE_VERSION 1
#define RING_SWIM_PACKET_MAX 1400       /* a sealed datagram, at most */
#define RING_SWIM_SEAL_OVERHEAD 30      /* the daemon's seal: header 2, nonce 12, tag 16 */
#define RING_SWIM_STATE_MAX (64u << 20) /* a full state, encoded, at most */

/* Upper bounds of the encoded sizes: one update; a message without its
 * updates. */
size_t ring_swim_wire_update_size(const struct ring_swim_update *u);
size_t ring_swim_wire_base_size(const struct ring_swim_msg *m);

/* ring_swim_wire_encode: M into OUT (CAP bytes); 0 and *len, or
 * RING_EINVAL when it does not fit. */
int ring_swim_wire_encode(const struct ring_swim_msg *m, uint8_t *out, size_t cap, size_t *len);

/* ring_swim_wire_decode: LEN bytes into *M; 0, or RING_EINVAL (malformed,
 * another version, or trailing bytes). */
int ring_swim_wire_decode(const uint8_t *in, size_t len, struct ring_swim_msg *m);

/* A full state being encoded: begin, add each member, end. The buffer grows
 * (malloc); ring_swim_wire_state_take hands it over (free() it). */
struct ring_swim_wire_state;
int ring_swim_wire_state_begin(struct ring_swim_wire_state **out, size_t nmembers);
int ring_swim_wire_state_add(struct ring_swim_wire_state *s, const struct ring_swim_member *m);
uint8_t *ring_swim_wire_state_take(struct ring_swim_wire_state *s, size_t *len);
void ring_swim_wire_state_free(struct ring_swim_wire_state *s);

/* ring_swim_wire_state_of: SW's whole view (ring_swim_export) encoded as a
 * full state (malloc'd, *LEN bytes; free() it), or NULL out of memory. */
uint8_t *ring_swim_wire_state_of(const struct ring_swim *sw, uint64_t now, size_t *len);

/* ring_swim_wire_state_decode: a full state into *MS (malloc'd array of
 * *N, their infos in the same block; one free() frees both). 0,
 * RING_EINVAL, or RING_ENOMEM. */
int ring_swim_wire_state_decode(const uint8_t *in, size_t len, struct ring_swim_member **ms,
                                size_t *n);

#endif
