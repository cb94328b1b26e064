/* client/libshoal_admin.c: the cluster's members (MEMBERS, answered with
 * the node's whole view) and asking one of them to drain (DRAIN), for the
 * operator's `shoal ring` and `shoal drain`. */
#include "client/libshoal_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The view of the node at TO: 0 and *M (a VIEW, to clear), or a code. */
static int members_from(shoal *sh, const struct ring_addr *to, struct wire_msg *m)
{
    struct cl_conn *c;
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    memset(m, 0, sizeof(*m));
    m->type = WIRE_MEMBERS;
    err = cl_send(sh, c, m);
    c->view_rid = m->rid;
    if (!err)
        err = cl_recv(sh, c, c->view_rid, m);
    c->view_rid = 0;
    return cl_answer(sh, c, err, m, WIRE_VIEW);
}

/* The nodes to ask, in turn: the owners of the ring's first point, then
 * the seeds. */
static size_t candidates(shoal *sh, struct ring_addr *to, size_t cap)
{
    uint8_t zero[RING_ID_LEN] = {0};
    size_t n = cap < RING_REPLICAS_MAX ? 0 : cl_owners_of(sh, zero, to);
    for (size_t i = 0; i < sh->nseeds && n < cap; i++)
        to[n++] = sh->seeds[i];
    return n;
}

/* The current view from the first node that answers: 0 and *M, or a code. */
static int get_view(shoal *sh, struct wire_msg *m)
{
    struct ring_addr to[RING_REPLICAS_MAX + CL_SEEDS_MAX];
    size_t n = candidates(sh, to, sizeof(to) / sizeof(to[0]));
    int err = SHOAL_ENOSEEDS;
    for (size_t i = 0; i < n; i++) {
        if ((err = members_from(sh, &to[i], m)) == 0) {
            cl_view_set(sh, m->u.view.members, m->u.view.n);
            return 0;
        }
        if (err == SHOAL_EAUTH)
            break;
    }
    return err;
}

static void hex_id(const uint8_t id[RING_ID_LEN], char out[2 * RING_ID_LEN + 1])
{
    for (int i = 0; i < RING_ID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

SHOAL_API int shoal_members(shoal *sh, shoal_member_fn fn, void *arg)
{
    struct wire_msg m;
    if (!sh || !fn)
        return SHOAL_EINVAL;
    int err = get_view(sh, &m);
    if (err)
        return err;
    for (size_t i = 0; i < m.u.view.n && !err; i++) {
        const struct wire_member *w = &m.u.view.members[i];
        char addr[64];
        shoal_member sm;
        ring_addr_format(&w->addr, addr, sizeof(addr));
        memset(&sm, 0, sizeof(sm));
        memcpy(sm.id, w->id, RING_ID_LEN);
        sm.name = w->name;
        sm.addr = addr;
        sm.zone = w->zone;
        sm.state = ring_state_name((enum ring_state)w->state);
        sm.weight = w->weight;
        sm.s3_port = w->s3_port;
        sm.admin_port = w->admin_port;
        sm.placed = w->state == RING_ALIVE || w->state == RING_SUSPECT;
        err = fn(arg, &sm);
    }
    wire_msg_clear(&m);
    return err;
}

SHOAL_API int shoal_drain(shoal *sh, const char *node)
{
    struct wire_msg m;
    if (!sh || !node || !*node)
        return SHOAL_EINVAL;
    int err = get_view(sh, &m);
    if (err)
        return err;
    struct wire_member target;
    int found = 0;
    for (size_t i = 0; i < m.u.view.n && !found; i++) {
        const struct wire_member *w = &m.u.view.members[i];
        char hex[2 * RING_ID_LEN + 1];
        hex_id(w->id, hex);
        if ((strcmp(w->name, node) == 0 || strcmp(hex, node) == 0) &&
            (w->state == RING_ALIVE || w->state == RING_SUSPECT || w->state == RING_LEAVING)) {
            target = *w;
            found = 1;
        }
    }
    wire_msg_clear(&m);
    if (!found)
        return SHOAL_ENOENT;
    struct cl_conn *c;
    if ((err = cl_conn_get(sh, &target.addr, &c)) != 0)
        return err;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_DRAIN;
    memcpy(m.u.drain.node, target.id, RING_ID_LEN);
    err = cl_send(sh, c, &m);
    if (!err)
        err = cl_recv(sh, c, m.rid, &m);
    err = cl_answer(sh, c, err, &m, WIRE_DONE);
    if (!err)
        wire_msg_clear(&m);
    return err == SHOAL_EINVAL ? SHOAL_ENOENT : err; /* EINVAL: not that node any more */
}
