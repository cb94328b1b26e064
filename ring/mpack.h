/* ring/mpack.h: msgpack helpers shared by shoal's wire formats (gossip in
 * ring/swim_wire.c, the peer protocol in client/wire.c): a packer target
 * buffer, ids, strings and addresses, and bounded decoding of untrusted
 * bytes. Internal: not part of any public API. */
#ifndef SHOAL_RING_MPACK_H
#define SHOAL_RING_MPACK_H

#include "ring/ring.h"
#include "ring/swim.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define RING_MP_OUT_MAX (64u << 20) /* a growing buffer stops here */

/* A packer's target: CAP bytes at P (grow 0), or a malloc'd buffer that
 * grows up to RING_MP_OUT_MAX (grow 1; p NULL at first, the caller frees
 * it). FAILED is set once a write did not fit. */
struct ring_mp_out {
    uint8_t *p;
    size_t len, cap;
    int grow, failed;
};
/* msgpack_packer_init(&pk, &out, ring_mp_write) */
int ring_mp_write(void *data, const char *buf, size_t len);

void ring_mp_pack_id(msgpack_packer *pk, const uint8_t id[RING_ID_LEN]);
void ring_mp_pack_str(msgpack_packer *pk, const char *s);
/* bin 6 (IPv4 + port) or bin 18 (IPv6 + port); nil for no address */
void ring_mp_pack_addr(msgpack_packer *pk, const struct ring_addr *a);

/* Whether IN[0..LEN) is exactly one msgpack object whose every container
 * count and byte length fits in what is left of the input. */
int ring_mp_prescan(const uint8_t *in, size_t len);
/* Unpacks IN as one object into *R after the prescan; 1 on success. *R
 * must be destroyed (msgpack_unpacked_destroy) either way; strings and
 * bins point into IN. */
int ring_mp_unpack(const uint8_t *in, size_t len, msgpack_unpacked *r);

/* Typed field readers: 1 when O has the type and fits, 0 otherwise. */
int ring_mp_uint(const msgpack_object *o, uint64_t max, uint64_t *out);
int ring_mp_id(const msgpack_object *o, uint8_t out[RING_ID_LEN]);
/* a str without NUL bytes, shorter than CAP, copied with its NUL */
int ring_mp_str(const msgpack_object *o, char *out, size_t cap);
int ring_mp_addr(const msgpack_object *o, struct ring_addr *a, int nil_ok);

#endif
