/* client/wire.c: the peer protocol's codec (see wire.h), on msgpack-c and the
 * bounded decoding of ring/mpack.h. */
#include "client/wire.h"

#include "ring/mpack.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    "?",        "hello",    "challenge", "auth", "welcome", "view", "get",      "block",
    "data",     "end",      "put",       "done", "holds",   "held", "meta_get", "meta",
    "meta_put", "meta_del", "error",     "list", "listing", "oput", "members",  "drain",
};

const char *wire_type_name(int type)
{
    return type >= WIRE_HELLO && type <= WIRE_TYPE_LAST ? type_names[type] : "?";
}

const char *wire_code_name(int code)
{
    static const char *const names[] = {"?",    "noent", "precond", "unavail", "nomem", "inval",
                                        "auth", "proto", "io",      "denied",  "rdonly"};
    return code >= 1 && code <= WIRE_C_LAST ? names[code] : "?";
}

int wire_frame_len(const uint8_t head[WIRE_FRAME_HEAD], uint32_t *len)
{
    uint32_t n =
        (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
    if (n == 0)
        return WIRE_EINVAL;
    if (n > WIRE_FRAME_MAX)
        return WIRE_ETOOBIG;
    *len = n;
    return WIRE_OK;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- encoding ------------------------------------------------------------------------- */

static void pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

/* A string that must fit in a field of CAP bytes with its NUL. */
static int pack_str_max(msgpack_packer *pk, const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        return -1;
    ring_mp_pack_str(pk, s);
    return 0;
}

static int pack_obj(msgpack_packer *pk, const struct wire_msg *m)
{
    return pack_str_max(pk, m->u.obj.bucket, WIRE_BUCKET_MAX) ||
           pack_str_max(pk, m->u.obj.key, WIRE_KEY_MAX);
}

static int pack_meta(msgpack_packer *pk, const struct wire_msg *m)
{
    msgpack_pack_uint64(pk, m->meta.size);
    if (pack_str_max(pk, m->meta.etag, WIRE_ETAG_MAX))
        return -1;
    msgpack_pack_int64(pk, m->meta.mtime);
    return pack_str_max(pk, m->meta.content_type, WIRE_CTYPE_MAX) ||
           pack_str_max(pk, m->meta.headers, WIRE_HEADERS_MAX);
}

static int pack_member(msgpack_packer *pk, const struct wire_member *w)
{
    msgpack_pack_array(pk, 8);
    ring_mp_pack_id(pk, w->id);
    ring_mp_pack_addr(pk, &w->addr);
    msgpack_pack_uint32(pk, w->weight);
    if (pack_str_max(pk, w->zone, RING_ZONE_MAX))
        return -1;
    msgpack_pack_uint8(pk, w->state);
    if (pack_str_max(pk, w->name, RING_NAME_MAX))
        return -1;
    msgpack_pack_uint16(pk, w->s3_port);
    msgpack_pack_uint16(pk, w->admin_port);
    return 0;
}

static int pack_listing(msgpack_packer *pk, const struct wire_msg *m)
{
    if (m->u.listing.truncated)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (pack_str_max(pk, m->u.listing.next_token, WIRE_TOKEN_MAX))
        return -1;
    msgpack_pack_array(pk, m->u.listing.nentries);
    for (size_t i = 0; i < m->u.listing.nentries; i++) {
        const struct wire_entry *e = &m->u.listing.entries[i];
        msgpack_pack_array(pk, 4);
        if (pack_str_max(pk, e->key, WIRE_KEY_MAX))
            return -1;
        msgpack_pack_uint64(pk, e->size);
        if (pack_str_max(pk, e->etag, WIRE_ETAG_MAX))
            return -1;
        msgpack_pack_int64(pk, e->mtime);
    }
    msgpack_pack_array(pk, m->u.listing.nprefixes);
    for (size_t i = 0; i < m->u.listing.nprefixes; i++)
        if (pack_str_max(pk, m->u.listing.prefixes[i], WIRE_KEY_MAX))
            return -1;
    return 0;
}

/* The fields after [type, rid]; the array's size in *N. -1: cannot send. */
static int pack_body(msgpack_packer *pk, const struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        msgpack_pack_array(pk, 8);
        break;
    case WIRE_CHALLENGE:
        msgpack_pack_array(pk, 7);
        break;
    case WIRE_AUTH:
        msgpack_pack_array(pk, 3);
        break;
    case WIRE_WELCOME:
    case WIRE_DONE:
        msgpack_pack_array(pk, 2);
        break;
    case WIRE_MEMBERS:
        msgpack_pack_array(pk, 3);
        break;
    case WIRE_DRAIN:
        msgpack_pack_array(pk, 4);
        break;
    case WIRE_VIEW:
        if (m->u.view.n > WIRE_VIEW_MAX)
            return -1;
        msgpack_pack_array(pk, 4);
        break;
    case WIRE_GET:
        msgpack_pack_array(pk, 11);
        break;
    case WIRE_BLOCK:
        msgpack_pack_array(pk, 5);
        break;
    case WIRE_END:
        msgpack_pack_array(pk, 3);
        break;
    case WIRE_PUT:
        if (m->u.put.len == 0 || m->u.put.len > WIRE_BLOCK_MAX)
            return -1;
        msgpack_pack_array(pk, 6);
        break;
    case WIRE_HOLDS:
        if (m->u.holds.n > WIRE_HOLDS_MAX)
            return -1;
        msgpack_pack_array(pk, 4);
        break;
    case WIRE_HELD:
        if (m->u.held.len > (WIRE_HOLDS_MAX + 7) / 8)
            return -1;
        msgpack_pack_array(pk, 3);
        break;
    case WIRE_META_GET:
    case WIRE_META_DEL:
        msgpack_pack_array(pk, 6);
        break;
    case WIRE_META:
        msgpack_pack_array(pk, 7);
        break;
    case WIRE_META_PUT:
        msgpack_pack_array(pk, 11);
        break;
    case WIRE_ERROR:
        if (m->u.error.code < 1 || m->u.error.code > WIRE_C_LAST)
            return -1;
        msgpack_pack_array(pk, 4);
        break;
    case WIRE_LIST:
        if (m->u.list.max < 1 || m->u.list.max > WIRE_LIST_MAX)
            return -1;
        msgpack_pack_array(pk, 10);
        break;
    case WIRE_LISTING:
        if (m->u.listing.nentries + m->u.listing.nprefixes > WIRE_LIST_MAX)
            return -1;
        msgpack_pack_array(pk, 6);
        break;
    case WIRE_OPUT:
        if (m->u.obj.size > WIRE_OPUT_MAX)
            return -1;
        msgpack_pack_array(pk, 8);
        break;
    default: /* DATA has its own encoder */
        return -1;
    }
    msgpack_pack_uint8(pk, (uint8_t)m->type);
    msgpack_pack_uint32(pk, m->rid);
    switch (m->type) {
    case WIRE_HELLO:
        msgpack_pack_uint32(pk, m->u.hello.version);
        if (pack_str_max(pk, m->u.hello.cluster, WIRE_CLUSTER_MAX))
            return -1;
        if (m->u.hello.has_node)
            ring_mp_pack_id(pk, m->u.hello.node);
        else
            msgpack_pack_nil(pk);
        msgpack_pack_uint64(pk, m->epoch);
        pack_bin(pk, m->u.hello.nonce, WIRE_NONCE_LEN);
        msgpack_pack_uint64(pk, m->u.hello.block_size);
        return 0;
    case WIRE_CHALLENGE:
        msgpack_pack_uint32(pk, m->u.challenge.version);
        ring_mp_pack_id(pk, m->u.challenge.node);
        msgpack_pack_uint64(pk, m->epoch);
        pack_bin(pk, m->u.challenge.nonce, WIRE_NONCE_LEN);
        pack_bin(pk, m->u.challenge.mac, WIRE_MAC_LEN);
        return 0;
    case WIRE_AUTH:
        pack_bin(pk, m->u.auth.mac, WIRE_MAC_LEN);
        return 0;
    case WIRE_MEMBERS:
        msgpack_pack_uint64(pk, m->epoch);
        return 0;
    case WIRE_DRAIN:
        msgpack_pack_uint64(pk, m->epoch);
        ring_mp_pack_id(pk, m->u.drain.node);
        return 0;
    case WIRE_VIEW:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_array(pk, m->u.view.n);
        for (size_t i = 0; i < m->u.view.n; i++)
            if (pack_member(pk, &m->u.view.members[i]))
                return -1;
        return 0;
    case WIRE_GET:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_uint32(pk, m->flags);
        if (pack_obj(pk, m) || pack_str_max(pk, m->u.obj.etag, WIRE_ETAG_MAX))
            return -1;
        msgpack_pack_uint64(pk, m->u.obj.size);
        msgpack_pack_uint64(pk, m->u.obj.index);
        msgpack_pack_uint32(pk, m->u.obj.off);
        msgpack_pack_uint32(pk, m->u.obj.len);
        return 0;
    case WIRE_BLOCK:
        msgpack_pack_uint64(pk, m->u.block.block_len);
        msgpack_pack_uint32(pk, m->u.block.off);
        msgpack_pack_uint32(pk, m->u.block.len);
        return 0;
    case WIRE_END:
        msgpack_pack_uint64(pk, m->u.end.sum);
        return 0;
    case WIRE_PUT:
        msgpack_pack_uint64(pk, m->epoch);
        ring_mp_pack_id(pk, m->u.put.id);
        msgpack_pack_uint64(pk, m->u.put.len);
        msgpack_pack_uint64(pk, m->u.put.sum);
        return 0;
    case WIRE_HOLDS:
        msgpack_pack_uint64(pk, m->epoch);
        pack_bin(pk, m->u.holds.ids, m->u.holds.n * RING_ID_LEN);
        return 0;
    case WIRE_HELD:
        pack_bin(pk, m->u.held.bits, m->u.held.len);
        return 0;
    case WIRE_META_GET:
    case WIRE_META_DEL:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_uint32(pk, m->flags);
        return pack_obj(pk, m);
    case WIRE_META:
        return pack_meta(pk, m);
    case WIRE_META_PUT:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_uint32(pk, m->flags);
        return pack_obj(pk, m) || pack_meta(pk, m);
    case WIRE_ERROR:
        msgpack_pack_uint32(pk, m->u.error.code);
        return pack_str_max(pk, m->u.error.message, WIRE_MESSAGE_MAX);
    case WIRE_LIST:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_uint32(pk, m->flags);
        if (pack_str_max(pk, m->u.list.bucket, WIRE_BUCKET_MAX) ||
            pack_str_max(pk, m->u.list.prefix, WIRE_KEY_MAX) ||
            pack_str_max(pk, m->u.list.delimiter, WIRE_DELIM_MAX) ||
            pack_str_max(pk, m->u.list.after, WIRE_KEY_MAX) ||
            pack_str_max(pk, m->u.list.token, WIRE_TOKEN_MAX))
            return -1;
        msgpack_pack_uint32(pk, m->u.list.max);
        return 0;
    case WIRE_LISTING:
        return pack_listing(pk, m);
    case WIRE_OPUT:
        msgpack_pack_uint64(pk, m->epoch);
        msgpack_pack_uint32(pk, m->flags);
        if (pack_obj(pk, m))
            return -1;
        msgpack_pack_uint64(pk, m->u.obj.size);
        return pack_str_max(pk, m->meta.content_type, WIRE_CTYPE_MAX);
    default:
        return 0;
    }
}

int wire_encode(const struct wire_msg *m, uint8_t *out, size_t cap, size_t *len)
{
    if (cap <= WIRE_FRAME_HEAD)
        return WIRE_ETOOBIG;
    struct ring_mp_out o = {out + WIRE_FRAME_HEAD, 0, cap - WIRE_FRAME_HEAD, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, ring_mp_write);
    if (pack_body(&pk, m))
        return WIRE_EINVAL;
    if (o.failed || o.len > WIRE_FRAME_MAX)
        return WIRE_ETOOBIG;
    put_be32(out, (uint32_t)o.len);
    *len = WIRE_FRAME_HEAD + o.len;
    return WIRE_OK;
}

size_t wire_data_head(uint32_t rid, size_t n, uint8_t out[WIRE_DATA_HEAD_MAX])
{
    struct ring_mp_out o = {out + WIRE_FRAME_HEAD, 0, WIRE_DATA_HEAD_MAX - WIRE_FRAME_HEAD, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, ring_mp_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, WIRE_DATA);
    msgpack_pack_uint32(&pk, rid);
    msgpack_pack_bin(&pk, n);
    put_be32(out, (uint32_t)(o.len + n));
    return WIRE_FRAME_HEAD + o.len;
}

/* ---- DATA without decoding ------------------------------------------------------- */

static uint64_t be_n(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int wire_data_peek(const uint8_t *p, size_t n, size_t body_len, uint32_t *rid, size_t *head_len,
                   size_t *data_len)
{
    size_t off = 2, w;
    uint64_t r, d;
    if (n < 3 || p[0] != 0x93 || p[1] != WIRE_DATA)
        return 0;
    /* rid: a positive fixint or uint 8/16/32/64 */
    if (p[off] <= 0x7f) {
        r = p[off++];
    } else if (p[off] >= 0xcc && p[off] <= 0xcf) {
        w = (size_t)1 << (p[off] - 0xcc);
        if (n < off + 1 + w)
            return 0;
        r = be_n(p + off + 1, w);
        off += 1 + w;
    } else {
        return 0;
    }
    if (r > UINT32_MAX || n < off + 1)
        return 0;
    /* the bytes: bin 8/16/32 */
    if (p[off] < 0xc4 || p[off] > 0xc6)
        return 0;
    w = (size_t)1 << (p[off] - 0xc4);
    if (n < off + 1 + w)
        return 0;
    d = be_n(p + off + 1, w);
    off += 1 + w;
    if (d == 0 || d > WIRE_DATA_MAX || body_len < off || d != body_len - off)
        return 0;
    *rid = (uint32_t)r;
    *head_len = off;
    *data_len = (size_t)d;
    return 1;
}

/* ---- decoding ------------------------------------------------------------------------- */

static int get_bin(const msgpack_object *o, uint8_t *out, size_t n)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return 0;
    memcpy(out, o->via.bin.ptr, n);
    return 1;
}

static int get_u32(const msgpack_object *o, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!ring_mp_uint(o, max, &v))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int get_i64(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *out = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return 0;
    return 1;
}

static int get_obj(const msgpack_object *a, struct wire_msg *m)
{
    return ring_mp_str(&a[0], m->u.obj.bucket, WIRE_BUCKET_MAX) && m->u.obj.bucket[0] &&
           ring_mp_str(&a[1], m->u.obj.key, WIRE_KEY_MAX) && m->u.obj.key[0];
}

static int get_meta(const msgpack_object *a, struct wire_msg *m)
{
    return ring_mp_uint(&a[0], UINT64_MAX, &m->meta.size) &&
           ring_mp_str(&a[1], m->meta.etag, WIRE_ETAG_MAX) && m->meta.etag[0] &&
           get_i64(&a[2], &m->meta.mtime) &&
           ring_mp_str(&a[3], m->meta.content_type, WIRE_CTYPE_MAX) &&
           ring_mp_str(&a[4], m->meta.headers, WIRE_HEADERS_MAX);
}

static int get_member(const msgpack_object *o, struct wire_member *w)
{
    uint64_t weight, st, s3, adm;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 8)
        return 0;
    const msgpack_object *f = o->via.array.ptr;
    if (!ring_mp_id(&f[0], w->id) || !ring_mp_addr(&f[1], &w->addr, 0) ||
        !ring_mp_uint(&f[2], RING_WEIGHT_MAX, &weight) || weight < 1 ||
        !ring_mp_str(&f[3], w->zone, RING_ZONE_MAX) || !ring_mp_uint(&f[4], RING_LEFT, &st) ||
        !ring_mp_str(&f[5], w->name, RING_NAME_MAX) || !ring_mp_uint(&f[6], 65535, &s3) ||
        !ring_mp_uint(&f[7], 65535, &adm))
        return 0;
    w->weight = (uint32_t)weight;
    w->state = (uint8_t)st;
    w->s3_port = (uint16_t)s3;
    w->admin_port = (uint16_t)adm;
    return 1;
}

static int get_view(const msgpack_object *a, struct wire_msg *m)
{
    if (!ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) || a[1].type != MSGPACK_OBJECT_ARRAY ||
        a[1].via.array.size > WIRE_VIEW_MAX)
        return 0;
    size_t n = a[1].via.array.size;
    m->u.view.members = calloc(n ? n : 1, sizeof(struct wire_member));
    if (!m->u.view.members)
        return -1;
    m->u.view.n = n;
    for (size_t i = 0; i < n; i++)
        if (!get_member(&a[1].via.array.ptr[i], &m->u.view.members[i]))
            return 0;
    return 1;
}

/* A string of at most CAP - 1 bytes (a NUL-free msgpack str) copied to
 * the arena at *AT, NUL-terminated: the copy, or NULL. */
static const char *arena_str(const msgpack_object *o, size_t cap, char **at)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
        (o->via.str.size && memchr(o->via.str.ptr, 0, o->via.str.size)))
        return NULL;
    char *s = *at;
    if (o->via.str.size) /* msgpack-c may leave ptr NULL for "" */
        memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
    *at += o->via.str.size + 1;
    return s;
}

/* LISTING's fields: the entries and prefixes in malloc'd arrays, their
 * strings in one arena (no larger than the frame plus a NUL each). */
static int get_listing(const msgpack_object *a, struct wire_msg *m)
{
    if (a[0].type != MSGPACK_OBJECT_BOOLEAN ||
        !ring_mp_str(&a[1], m->u.listing.next_token, WIRE_TOKEN_MAX) ||
        a[2].type != MSGPACK_OBJECT_ARRAY || a[3].type != MSGPACK_OBJECT_ARRAY)
        return 0;
    size_t ne = a[2].via.array.size, np = a[3].via.array.size, bytes = 0;
    if (ne + np > WIRE_LIST_MAX)
        return 0;
    for (size_t i = 0; i < ne; i++) {
        const msgpack_object *e = &a[2].via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 4 ||
            e->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
            return 0;
        bytes += e->via.array.ptr[0].via.str.size + 1;
    }
    for (size_t i = 0; i < np; i++) {
        if (a[3].via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return 0;
        bytes += a[3].via.array.ptr[i].via.str.size + 1;
    }
    m->u.listing.truncated = a[0].via.boolean;
    m->u.listing.entries = calloc(ne ? ne : 1, sizeof(struct wire_entry));
    m->u.listing.prefixes = calloc(np ? np : 1, sizeof(char *));
    m->u.listing.arena = malloc(bytes ? bytes : 1);
    if (!m->u.listing.entries || !m->u.listing.prefixes || !m->u.listing.arena)
        return -1;
    char *at = m->u.listing.arena;
    for (size_t i = 0; i < ne; i++) {
        const msgpack_object *f = a[2].via.array.ptr[i].via.array.ptr;
        struct wire_entry *e = &m->u.listing.entries[i];
        m->u.listing.nentries = i + 1;
        e->key = arena_str(&f[0], WIRE_KEY_MAX, &at);
        if (!e->key || !e->key[0] || !ring_mp_uint(&f[1], UINT64_MAX, &e->size) ||
            !ring_mp_str(&f[2], e->etag, WIRE_ETAG_MAX) || !get_i64(&f[3], &e->mtime))
            return 0;
    }
    for (size_t i = 0; i < np; i++) {
        m->u.listing.nprefixes = i + 1;
        m->u.listing.prefixes[i] = arena_str(&a[3].via.array.ptr[i], WIRE_KEY_MAX, &at);
        if (!m->u.listing.prefixes[i] || !m->u.listing.prefixes[i][0])
            return 0;
    }
    return 1;
}

/* The fields of M's type from A[0..N) (BODY: the frame, for empty bins to
 * point into): 1, 0 (malformed) or -1 (memory). */
static int get_fields(const msgpack_object *a, uint32_t n, struct wire_msg *m, const uint8_t *body)
{
    static const uint8_t want[] = {
        [WIRE_HELLO] = 6,    [WIRE_CHALLENGE] = 5, [WIRE_AUTH] = 1,  [WIRE_WELCOME] = 0,
        [WIRE_VIEW] = 2,     [WIRE_GET] = 9,       [WIRE_BLOCK] = 3, [WIRE_DATA] = 1,
        [WIRE_END] = 1,      [WIRE_PUT] = 4,       [WIRE_DONE] = 0,  [WIRE_HOLDS] = 2,
        [WIRE_HELD] = 1,     [WIRE_META_GET] = 4,  [WIRE_META] = 5,  [WIRE_META_PUT] = 9,
        [WIRE_META_DEL] = 4, [WIRE_ERROR] = 2,     [WIRE_LIST] = 8,  [WIRE_LISTING] = 4,
        [WIRE_OPUT] = 6,     [WIRE_MEMBERS] = 1,   [WIRE_DRAIN] = 2,
    };
    if (n != want[m->type])
        return 0;
    switch (m->type) {
    case WIRE_HELLO:
        if (!get_u32(&a[0], UINT32_MAX, &m->u.hello.version) ||
            !ring_mp_str(&a[1], m->u.hello.cluster, WIRE_CLUSTER_MAX))
            return 0;
        m->u.hello.has_node = a[2].type != MSGPACK_OBJECT_NIL;
        return (!m->u.hello.has_node || ring_mp_id(&a[2], m->u.hello.node)) &&
               ring_mp_uint(&a[3], UINT64_MAX, &m->epoch) &&
               get_bin(&a[4], m->u.hello.nonce, WIRE_NONCE_LEN) &&
               ring_mp_uint(&a[5], WIRE_BLOCK_MAX, &m->u.hello.block_size);
    case WIRE_CHALLENGE:
        return get_u32(&a[0], UINT32_MAX, &m->u.challenge.version) &&
               ring_mp_id(&a[1], m->u.challenge.node) &&
               ring_mp_uint(&a[2], UINT64_MAX, &m->epoch) &&
               get_bin(&a[3], m->u.challenge.nonce, WIRE_NONCE_LEN) &&
               get_bin(&a[4], m->u.challenge.mac, WIRE_MAC_LEN);
    case WIRE_AUTH:
        return get_bin(&a[0], m->u.auth.mac, WIRE_MAC_LEN);
    case WIRE_WELCOME:
    case WIRE_DONE:
        return 1;
    case WIRE_VIEW:
        return get_view(a, m);
    case WIRE_GET:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) &&
               get_u32(&a[1], UINT32_MAX, &m->flags) && get_obj(&a[2], m) &&
               ring_mp_str(&a[4], m->u.obj.etag, WIRE_ETAG_MAX) && m->u.obj.etag[0] &&
               ring_mp_uint(&a[5], UINT64_MAX, &m->u.obj.size) &&
               ring_mp_uint(&a[6], UINT64_MAX, &m->u.obj.index) &&
               get_u32(&a[7], WIRE_BLOCK_MAX, &m->u.obj.off) &&
               get_u32(&a[8], WIRE_BLOCK_MAX, &m->u.obj.len) &&
               m->u.obj.off <= WIRE_BLOCK_MAX - m->u.obj.len;
    case WIRE_BLOCK:
        return ring_mp_uint(&a[0], WIRE_BLOCK_MAX, &m->u.block.block_len) &&
               get_u32(&a[1], WIRE_BLOCK_MAX, &m->u.block.off) &&
               get_u32(&a[2], WIRE_BLOCK_MAX, &m->u.block.len) &&
               (uint64_t)m->u.block.off + m->u.block.len <= m->u.block.block_len;
    case WIRE_DATA:
        if (a[0].type != MSGPACK_OBJECT_BIN || a[0].via.bin.size > WIRE_DATA_MAX ||
            a[0].via.bin.size == 0)
            return 0;
        m->u.data.p = (const uint8_t *)a[0].via.bin.ptr;
        m->u.data.len = a[0].via.bin.size;
        return 1;
    case WIRE_END:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->u.end.sum);
    case WIRE_PUT:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) && ring_mp_id(&a[1], m->u.put.id) &&
               ring_mp_uint(&a[2], WIRE_BLOCK_MAX, &m->u.put.len) && m->u.put.len > 0 &&
               ring_mp_uint(&a[3], UINT64_MAX, &m->u.put.sum);
    case WIRE_HOLDS:
        if (!ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) || a[1].type != MSGPACK_OBJECT_BIN ||
            a[1].via.bin.size % RING_ID_LEN || a[1].via.bin.size / RING_ID_LEN > WIRE_HOLDS_MAX)
            return 0;
        m->u.holds.ids = a[1].via.bin.size ? (const uint8_t *)a[1].via.bin.ptr : body;
        m->u.holds.n = a[1].via.bin.size / RING_ID_LEN;
        return 1;
    case WIRE_HELD:
        if (a[0].type != MSGPACK_OBJECT_BIN || a[0].via.bin.size > (WIRE_HOLDS_MAX + 7) / 8)
            return 0;
        m->u.held.bits = a[0].via.bin.size ? (const uint8_t *)a[0].via.bin.ptr : body;
        m->u.held.len = a[0].via.bin.size;
        return 1;
    case WIRE_META_GET:
    case WIRE_META_DEL:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) &&
               get_u32(&a[1], UINT32_MAX, &m->flags) && get_obj(&a[2], m);
    case WIRE_META:
        return get_meta(a, m);
    case WIRE_META_PUT:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) &&
               get_u32(&a[1], UINT32_MAX, &m->flags) && get_obj(&a[2], m) && get_meta(&a[4], m);
    case WIRE_ERROR:
        return get_u32(&a[0], WIRE_C_LAST, &m->u.error.code) && m->u.error.code >= 1 &&
               ring_mp_str(&a[1], m->u.error.message, WIRE_MESSAGE_MAX);
    case WIRE_LIST:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) &&
               get_u32(&a[1], UINT32_MAX, &m->flags) &&
               ring_mp_str(&a[2], m->u.list.bucket, WIRE_BUCKET_MAX) && m->u.list.bucket[0] &&
               ring_mp_str(&a[3], m->u.list.prefix, WIRE_KEY_MAX) &&
               ring_mp_str(&a[4], m->u.list.delimiter, WIRE_DELIM_MAX) &&
               ring_mp_str(&a[5], m->u.list.after, WIRE_KEY_MAX) &&
               ring_mp_str(&a[6], m->u.list.token, WIRE_TOKEN_MAX) &&
               get_u32(&a[7], WIRE_LIST_MAX, &m->u.list.max) && m->u.list.max >= 1;
    case WIRE_LISTING:
        return get_listing(a, m);
    case WIRE_MEMBERS:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch);
    case WIRE_DRAIN:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) && ring_mp_id(&a[1], m->u.drain.node);
    case WIRE_OPUT:
        return ring_mp_uint(&a[0], UINT64_MAX, &m->epoch) &&
               get_u32(&a[1], UINT32_MAX, &m->flags) && get_obj(&a[2], m) &&
               ring_mp_uint(&a[4], WIRE_OPUT_MAX, &m->u.obj.size) &&
               ring_mp_str(&a[5], m->meta.content_type, WIRE_CTYPE_MAX);
    }
    return 0;
}

int wire_decode(const uint8_t *body, size_t len, struct wire_msg *m)
{
    msgpack_unpacked r;
    const msgpack_object *a;
    uint64_t type, rid;
    int ok = 0;

    memset(m, 0, sizeof(*m));
    if (len == 0 || len > WIRE_FRAME_MAX)
        return WIRE_EINVAL;
    if (!ring_mp_unpack(body, len, &r) || r.data.type != MSGPACK_OBJECT_ARRAY ||
        r.data.via.array.size < 2)
        goto out;
    a = r.data.via.array.ptr;
    if (!ring_mp_uint(&a[0], WIRE_TYPE_LAST, &type) || type < WIRE_HELLO ||
        !ring_mp_uint(&a[1], UINT32_MAX, &rid))
        goto out;
    m->type = (enum wire_type)type;
    m->rid = (uint32_t)rid;
    ok = get_fields(a + 2, r.data.via.array.size - 2, m, body);
out:
    msgpack_unpacked_destroy(&r);
    if (ok != 1) {
        wire_msg_clear(m);
        memset(m, 0, sizeof(*m));
        return ok < 0 ? WIRE_ENOMEM : WIRE_EINVAL;
    }
    return WIRE_OK;
}

void wire_msg_clear(struct wire_msg *m)
{
    if (m->type == WIRE_VIEW) {
        free(m->u.view.members);
        m->u.view.members = NULL;
        m->u.view.n = 0;
    } else if (m->type == WIRE_LISTING) {
        free(m->u.listing.entries);
        free((void *)m->u.listing.prefixes);
        free(m->u.listing.arena);
        memset(&m->u.listing, 0, sizeof(m->u.listing));
    }
}

int wire_mac(const uint8_t key[32], char side, const char *cluster,
             const uint8_t verifier_nonce[WIRE_NONCE_LEN],
             const uint8_t prover_nonce[WIRE_NONCE_LEN], uint8_t out[WIRE_MAC_LEN])
{
    uint8_t msg[16 + WIRE_CLUSTER_MAX + 2 * WIRE_NONCE_LEN];
    size_t cl = strnlen(cluster, WIRE_CLUSTER_MAX - 1), n = 0;
    unsigned int olen = 0;
    memcpy(msg, "shoal-peer-1/", 13);
    n = 13;
    msg[n++] = (uint8_t)side;
    msg[n++] = (uint8_t)cl; /* length-prefixed: no two inputs read the same */
    memcpy(msg + n, cluster, cl);
    n += cl;
    memcpy(msg + n, verifier_nonce, WIRE_NONCE_LEN);
    n += WIRE_NONCE_LEN;
    memcpy(msg + n, prover_nonce, WIRE_NONCE_LEN);
    n += WIRE_NONCE_LEN;
    if (!HMAC(EVP_sha256(), key, 32, msg, n, out, &olen) || olen != WIRE_MAC_LEN)
        return -1;
    return 0;
}
