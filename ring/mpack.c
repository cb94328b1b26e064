/* ring/mpack.c: the msgpack helpers every wire format of shoal shares (see
 * mpack.h): gossip (swim_wire.c) and the peer protocol (client/wire.c).
 *
 * msgpack-c allocates a container's elements when it reads the container's
 * header, before the elements: a five-byte array32 header could make it
 * allocate up to 96 GiB. So before msgpack_unpack_next sees untrusted bytes,
 * ring_mp_prescan() walks their structure and checks that no object can need
 * more elements or bytes than the input has left. */
#include "ring/mpack.h"

#include <stdlib.h>
#include <string.h>

int ring_mp_write(void *data, const char *buf, size_t len)
{
    struct ring_mp_out *o = data;
    if (o->failed)
        return -1;
    if (len > o->cap - o->len) {
        size_t cap = o->cap ? o->cap : 4096;
        while (o->grow && cap - o->len < len && cap <= RING_MP_OUT_MAX)
            cap *= 2;
        void *np = o->grow && cap - o->len >= len && cap <= RING_MP_OUT_MAX * 2 ? realloc(o->p, cap)
                                                                                : NULL;
        if (!np) {
            o->failed = 1;
            return -1;
        }
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, buf, len);
    o->len += len;
    return 0;
}

void ring_mp_pack_id(msgpack_packer *pk, const uint8_t id[RING_ID_LEN])
{
    msgpack_pack_bin(pk, RING_ID_LEN);
    msgpack_pack_bin_body(pk, id, RING_ID_LEN);
}

void ring_mp_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void ring_mp_pack_addr(msgpack_packer *pk, const struct ring_addr *a)
{
    uint8_t b[18];
    size_t n = a->family == 6 ? 16 : 4;
    if (a->family != 4 && a->family != 6) {
        msgpack_pack_nil(pk);
        return;
    }
    memcpy(b, a->ip, n);
    b[n] = (uint8_t)(a->port >> 8);
    b[n + 1] = (uint8_t)a->port;
    msgpack_pack_bin(pk, n + 2);
    msgpack_pack_bin_body(pk, b, n + 2);
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* ring_mp_prescan: whether IN[0..LEN) is exactly one msgpack object whose every
 * container count and byte length fits in what is left of the input. */
int ring_mp_prescan(const uint8_t *in, size_t len)
{
    size_t off = 0, pending = 1; /* objects still to read */

    while (pending) {
        if (off >= len)
            return 0;
        uint8_t t = in[off++];
        uint64_t n = 0, skip = 0; /* n: elements it holds; skip: payload bytes */
        pending--;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            /* fixint, nil, bool */
        } else if (t >= 0x80 && t <= 0x8f) {
            n = 2u * (t & 0x0f);
        } else if (t >= 0x90 && t <= 0x9f) {
            n = t & 0x0f;
        } else if (t >= 0xa0 && t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            static const uint8_t width[32] = {
                /* c0..df: the size of the length or value that follows */
                0, 0, 0, 0, 1, 2, 4, 1, 2,  4, 4, 8, 1, 2, 4, 8,
                1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4,
            };
            size_t w = width[t - 0xc0];
            if (t == 0xc1 || len - off < w)
                return 0;
            switch (t) {
            case 0xc4:
            case 0xc5:
            case 0xc6: /* bin */
            case 0xd9:
            case 0xda:
            case 0xdb: /* str */
                skip = be(in + off, w);
                break;
            case 0xc7:
            case 0xc8:
            case 0xc9: /* ext: length, then a type byte */
                skip = be(in + off, w) + 1;
                break;
            case 0xdc:
            case 0xdd: /* array */
                n = be(in + off, w);
                break;
            case 0xde:
            case 0xdf: /* map */
                n = 2 * be(in + off, w);
                break;
            default: /* numbers and fixext: the width is the whole payload */
                break;
            }
            off += w;
        }
        if (skip > len - off)
            return 0;
        off += (size_t)skip;
        if (n > len - off || pending + n > len - off) /* each needs a byte at least */
            return 0;
        pending += (size_t)n;
    }
    return off == len;
}

int ring_mp_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return 0;
    *out = o->via.u64;
    return 1;
}

int ring_mp_id(const msgpack_object *o, uint8_t out[RING_ID_LEN])
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != RING_ID_LEN)
        return 0;
    memcpy(out, o->via.bin.ptr, RING_ID_LEN);
    return 1;
}

int ring_mp_str(const msgpack_object *o, char *out, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return 0;
    if (o->via.str.size == 0) { /* msgpack-c may leave ptr NULL then */
        out[0] = '\0';
        return 1;
    }
    if (memchr(o->via.str.ptr, '\0', o->via.str.size))
        return 0;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return 1;
}

int ring_mp_addr(const msgpack_object *o, struct ring_addr *a, int nil_ok)
{
    memset(a, 0, sizeof(*a));
    if (o->type == MSGPACK_OBJECT_NIL)
        return nil_ok;
    if (o->type != MSGPACK_OBJECT_BIN || (o->via.bin.size != 6 && o->via.bin.size != 18))
        return 0;
    size_t n = o->via.bin.size - 2;
    const uint8_t *p = (const uint8_t *)o->via.bin.ptr;
    a->family = n == 16 ? 6 : 4;
    memcpy(a->ip, p, n);
    a->port = (uint16_t)(p[n] << 8 | p[n + 1]);
    return 1;
}

/* Unpacks IN as one object into *R (after the ring_mp_prescan); 1 on success. */
int ring_mp_unpack(const uint8_t *in, size_t len, msgpack_unpacked *r)
{
    size_t off = 0;
    msgpack_unpacked_init(r);
    if (!ring_mp_prescan(in, len))
        return 0;
    if (msgpack_unpack_next(r, (const char *)in, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        return 0;
    return 1;
}
