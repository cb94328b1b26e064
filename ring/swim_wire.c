/* ring/swim_wire.c: the gossip wire format (see swim_wire.h), on msgpack-c
 * and the bounded decoding of ring/mpack.h. */
#include "ring/swim_wire.h"

#include "ring/mpack.h"

#include <endian.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- sizes ---------------------------------------------------------------------------- */

#define BIN_ID_SIZE (2 + RING_ID_LEN)
#define U64_SIZE 9
#define ADDR_SIZE (2 + 18)

static size_t str_size(const char *s)
{
    size_t n = strlen(s);
    return n + (n < 32 ? 1 : n < 256 ? 2 : 3);
}

size_t ring_swim_wire_update_size(const struct ring_swim_update *u)
{
    size_t n = 1 + 1 + BIN_ID_SIZE + U64_SIZE;
    switch (u->kind) {
    case RING_SWIM_U_ALIVE:
    case RING_SWIM_U_LEAVING:
        return n + str_size(u->info.name) + str_size(u->info.zone) + 3 + ADDR_SIZE + 3 + 3;
    case RING_SWIM_U_SUSPECT:
    case RING_SWIM_U_DEAD:
        return n + BIN_ID_SIZE;
    default:
        return n;
    }
}

size_t ring_swim_wire_base_size(const struct ring_swim_msg *m)
{
    (void)m;
    return 1 + 1 + 1 + 5 + BIN_ID_SIZE + ADDR_SIZE + 3;
}

/* ---- encoding ------------------------------------------------------------------------- */

static void pack_info_tail(msgpack_packer *pk, const struct ring_swim_info *in)
{
    ring_mp_pack_str(pk, in->name);
    ring_mp_pack_str(pk, in->zone);
    msgpack_pack_uint32(pk, in->weight);
    ring_mp_pack_addr(pk, &in->addr);
    msgpack_pack_uint16(pk, in->s3_port);
    msgpack_pack_uint16(pk, in->admin_port);
}

static void pack_update(msgpack_packer *pk, const struct ring_swim_update *u)
{
    int alive = u->kind == RING_SWIM_U_ALIVE || u->kind == RING_SWIM_U_LEAVING;
    int accuse = u->kind == RING_SWIM_U_SUSPECT || u->kind == RING_SWIM_U_DEAD;
    msgpack_pack_array(pk, alive ? 9 : accuse ? 4 : 3);
    msgpack_pack_uint8(pk, (uint8_t)u->kind);
    ring_mp_pack_id(pk, u->id);
    msgpack_pack_uint64(pk, u->incarnation);
    if (alive)
        pack_info_tail(pk, &u->info);
    else if (accuse)
        ring_mp_pack_id(pk, u->from);
}

static int zero_id(const uint8_t id[RING_ID_LEN])
{
    for (int i = 0; i < RING_ID_LEN; i++)
        if (id[i])
            return 0;
    return 1;
}

int ring_swim_wire_encode(const struct ring_swim_msg *m, uint8_t *out, size_t cap, size_t *len)
{
    struct ring_mp_out o = {out, 0, cap, 0, 0};
    msgpack_packer pk;
    size_t nu = m->nupdates < RING_SWIM_UPDATES_MAX ? m->nupdates : RING_SWIM_UPDATES_MAX;

    msgpack_packer_init(&pk, &o, ring_mp_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, RING_SWIM_WIRE_VERSION);
    msgpack_pack_uint8(&pk, (uint8_t)m->type);
    msgpack_pack_uint32(&pk, m->seq);
    if (zero_id(m->target))
        msgpack_pack_nil(&pk);
    else
        ring_mp_pack_id(&pk, m->target);
    ring_mp_pack_addr(&pk, &m->target_addr);
    msgpack_pack_array(&pk, nu);
    for (size_t i = 0; i < nu; i++)
        pack_update(&pk, &m->updates[i]);
    if (o.failed)
        return RING_EINVAL;
    *len = o.len;
    return RING_OK;
}

struct ring_swim_wire_state {
    struct ring_mp_out o;
    msgpack_packer pk;
    size_t left;
};

int ring_swim_wire_state_begin(struct ring_swim_wire_state **out, size_t nmembers)
{
    struct ring_swim_wire_state *s = calloc(1, sizeof(*s));
    if (!s)
        return RING_ENOMEM;
    s->o.grow = 1;
    s->left = nmembers;
    msgpack_packer_init(&s->pk, &s->o, ring_mp_write);
    msgpack_pack_array(&s->pk, 2);
    msgpack_pack_uint8(&s->pk, RING_SWIM_WIRE_VERSION);
    msgpack_pack_array(&s->pk, nmembers);
    if (s->o.failed) {
        ring_swim_wire_state_free(s);
        return RING_ENOMEM;
    }
    *out = s;
    return RING_OK;
}

int ring_swim_wire_state_add(struct ring_swim_wire_state *s, const struct ring_swim_member *m)
{
    msgpack_packer *pk = &s->pk;
    if (!s->left)
        return RING_EINVAL;
    s->left--;
    msgpack_pack_array(pk, 12);
    ring_mp_pack_id(pk, m->info->id);
    msgpack_pack_uint64(pk, m->incarnation);
    msgpack_pack_uint8(pk, (uint8_t)m->state);
    pack_info_tail(pk, m->info);
    msgpack_pack_uint64(pk, m->load.seq);
    msgpack_pack_uint64(pk, m->load.bytes);
    msgpack_pack_uint64(pk, m->load.blocks);
    return s->o.failed ? RING_ENOMEM : RING_OK;
}

uint8_t *ring_swim_wire_state_take(struct ring_swim_wire_state *s, size_t *len)
{
    uint8_t *p = NULL;
    if (!s->left && !s->o.failed) {
        p = s->o.p;
        *len = s->o.len;
        s->o.p = NULL;
    }
    ring_swim_wire_state_free(s);
    return p;
}

void ring_swim_wire_state_free(struct ring_swim_wire_state *s)
{
    if (!s)
        return;
    free(s->o.p);
    free(s);
}

struct export_ctx {
    struct ring_swim_wire_state *ws;
    int err;
};

static void export_one(void *arg, const struct ring_swim_member *m)
{
    struct export_ctx *x = arg;
    if (!x->err)
        x->err = ring_swim_wire_state_add(x->ws, m);
}

uint8_t *ring_swim_wire_state_of(const struct ring_swim *sw, uint64_t now, size_t *len)
{
    struct export_ctx x = {NULL, 0};
    uint8_t *buf;

    if (ring_swim_wire_state_begin(&x.ws, ring_swim_count(sw)) != RING_OK)
        return NULL;
    ring_swim_export(sw, now, export_one, &x);
    buf = ring_swim_wire_state_take(x.ws, len);
    if (buf && x.err) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- decoding ------------------------------------------------------------------------- */

/* name, zone, weight, addr, s3_port, admin_port from O[0..5] */
static int get_info_tail(const msgpack_object *o, struct ring_swim_info *in)
{
    uint64_t w, s3, adm;
    if (!ring_mp_str(&o[0], in->name, RING_NAME_MAX) || !in->name[0] ||
        !ring_mp_str(&o[1], in->zone, RING_ZONE_MAX) || !ring_mp_uint(&o[2], RING_WEIGHT_MAX, &w) ||
        w < 1 || !ring_mp_addr(&o[3], &in->addr, 0) || !ring_mp_uint(&o[4], 65535, &s3) ||
        !ring_mp_uint(&o[5], 65535, &adm))
        return 0;
    in->weight = (uint32_t)w;
    in->s3_port = (uint16_t)s3;
    in->admin_port = (uint16_t)adm;
    return 1;
}

static int get_update(const msgpack_object *o, struct ring_swim_update *u)
{
    uint64_t kind;
    const msgpack_object *a;
    uint32_t n;

    memset(u, 0, sizeof(*u));
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
        return 0;
    a = o->via.array.ptr;
    n = o->via.array.size;
    if (!ring_mp_uint(&a[0], RING_SWIM_U_LEFT, &kind) || !ring_mp_id(&a[1], u->id) ||
        !ring_mp_uint(&a[2], UINT64_MAX, &u->incarnation))
        return 0;
    u->kind = (enum ring_swim_kind)kind;
    switch (u->kind) {
    case RING_SWIM_U_ALIVE:
    case RING_SWIM_U_LEAVING:
        if (n != 9 || !get_info_tail(&a[3], &u->info))
            return 0;
        memcpy(u->info.id, u->id, RING_ID_LEN);
        return 1;
    case RING_SWIM_U_SUSPECT:
    case RING_SWIM_U_DEAD:
        return n == 4 && ring_mp_id(&a[3], u->from);
    case RING_SWIM_U_LEFT:
        return n == 3;
    }
    return 0;
}

int ring_swim_wire_decode(const uint8_t *in, size_t len, struct ring_swim_msg *m)
{
    msgpack_unpacked r;
    const msgpack_object *a;
    uint64_t v, type, seq;
    int ok = 0;

    if (len > RING_SWIM_PACKET_MAX)
        return RING_EINVAL;
    memset(m, 0, sizeof(*m));
    if (!ring_mp_unpack(in, len, &r))
        goto out;
    if (r.data.type != MSGPACK_OBJECT_ARRAY || r.data.via.array.size != 6)
        goto out;
    a = r.data.via.array.ptr;
    if (!ring_mp_uint(&a[0], UINT8_MAX, &v) || v != RING_SWIM_WIRE_VERSION ||
        !ring_mp_uint(&a[1], RING_SWIM_GOSSIP, &type) || type < RING_SWIM_PING ||
        !ring_mp_uint(&a[2], UINT32_MAX, &seq))
        goto out;
    m->type = (enum ring_swim_type)type;
    m->seq = (uint32_t)seq;
    if (a[3].type != MSGPACK_OBJECT_NIL && !ring_mp_id(&a[3], m->target))
        goto out;
    if (!ring_mp_addr(&a[4], &m->target_addr, 1))
        goto out;
    if (a[5].type != MSGPACK_OBJECT_ARRAY || a[5].via.array.size > RING_SWIM_UPDATES_MAX)
        goto out;
    for (uint32_t i = 0; i < a[5].via.array.size; i++)
        if (!get_update(&a[5].via.array.ptr[i], &m->updates[i]))
            goto out;
    m->nupdates = a[5].via.array.size;
    ok = 1;
out:
    msgpack_unpacked_destroy(&r);
    if (!ok)
        memset(m, 0, sizeof(*m));
    return ok ? RING_OK : RING_EINVAL;
}

int ring_swim_wire_state_decode(const uint8_t *in, size_t len, struct ring_swim_member **ms,
                                size_t *n)
{
    msgpack_unpacked r;
    const msgpack_object *a;
    struct ring_swim_member *out = NULL;
    uint64_t v;
    int err = RING_EINVAL;

    if (len > RING_SWIM_STATE_MAX)
        return RING_EINVAL;
    if (!ring_mp_unpack(in, len, &r))
        goto out;
    if (r.data.type != MSGPACK_OBJECT_ARRAY || r.data.via.array.size != 2)
        goto out;
    a = r.data.via.array.ptr;
    if (!ring_mp_uint(&a[0], UINT8_MAX, &v) || v != RING_SWIM_WIRE_VERSION ||
        a[1].type != MSGPACK_OBJECT_ARRAY || a[1].via.array.size > RING_MEMBERS_MAX)
        goto out;
    uint32_t cnt = a[1].via.array.size;
    /* one block: the members, then the infos they point at */
    out = calloc(cnt ? cnt : 1, sizeof(*out) + sizeof(struct ring_swim_info));
    if (!out) {
        err = RING_ENOMEM;
        goto out;
    }
    struct ring_swim_info *infos = (struct ring_swim_info *)(out + (cnt ? cnt : 1));
    for (uint32_t i = 0; i < cnt; i++) {
        const msgpack_object *e = &a[1].via.array.ptr[i];
        struct ring_swim_member *m = &out[i];
        struct ring_swim_info *mi = &infos[i];
        uint64_t st;
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 12)
            goto out;
        const msgpack_object *f = e->via.array.ptr;
        m->info = mi;
        if (!ring_mp_id(&f[0], mi->id) || !ring_mp_uint(&f[1], UINT64_MAX, &m->incarnation) ||
            !ring_mp_uint(&f[2], RING_LEFT, &st) || !get_info_tail(&f[3], mi) ||
            !ring_mp_uint(&f[9], UINT64_MAX, &m->load.seq) ||
            !ring_mp_uint(&f[10], UINT64_MAX, &m->load.bytes) ||
            !ring_mp_uint(&f[11], UINT64_MAX, &m->load.blocks))
            goto out;
        m->state = (enum ring_state)st;
    }
    *ms = out;
    *n = cnt;
    out = NULL;
    err = RING_OK;
out:
    free(out);
    msgpack_unpacked_destroy(&r);
    return err;
}
