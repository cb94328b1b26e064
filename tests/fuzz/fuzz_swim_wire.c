/* tests/fuzz/fuzz_swim_wire.c: libFuzzer target for the gossip wire format
 * (ring/swim_wire.c), which any host that can reach a node's peer port
 * feeds (once the transport exists, after the seal is opened: a cluster
 * member with the key, or a bug in the seal), and for what the membership
 * state machine does with whatever decodes.
 *
 * Input: 1 control byte, then the bytes.
 *   c0 bit 0: the bytes are a full state (push-pull), else a datagram;
 *   bit 1: merge the state as a join
 * A datagram that decodes is handed to a machine with a few members
 * (ring_swim_recv), a state to ring_swim_merge; the machine is then ticked
 * through a few seconds.
 *
 * Invariants (abort() when broken): a decoded message has at most
 * RING_SWIM_UPDATES_MAX updates, known types and kinds, NUL-terminated
 * names and zones; it encodes again, and that encoding decodes to the same
 * message (the codec is a bijection on what it accepts); a decoded state
 * has no more members than its bytes could hold; the machine's member
 * count never exceeds RING_MEMBERS_MAX, its own record stays alive, and
 * its dissemination queue and members point at each other.
 *
 * fuzz-args: -max_len=70000
 * The seed corpus is tests/fuzz/corpus/swim_wire/; test_fuzz_swim_wire
 * replays it. */
#include "ring/swim.h"
#include "ring/swim_int.h"
#include "ring/swim_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_swim_wire: broken invariant: %s\n", what);
    abort();
}

static void sent(void *arg, const struct ring_addr *to, const struct ring_swim_msg *m)
{
    uint8_t buf[RING_SWIM_PACKET_MAX];
    size_t len;
    (void)arg;
    (void)to;
    /* what the machine sends must always encode within a datagram */
    if (ring_swim_wire_encode(m, buf, RING_SWIM_PACKET_MAX - RING_SWIM_SEAL_OVERHEAD, &len) !=
        RING_OK)
        broken("the machine made a message that does not encode");
}

static void info_of(int i, struct ring_swim_info *in)
{
    memset(in, 0, sizeof(*in));
    in->id[0] = (uint8_t)(i + 1);
    snprintf(in->name, sizeof(in->name), "node%d", i);
    snprintf(in->zone, sizeof(in->zone), "z%d", i % 2);
    in->weight = 1;
    in->addr.family = 4;
    in->addr.ip[0] = 127;
    in->addr.ip[3] = (uint8_t)(i + 1);
    in->addr.port = 7000;
}

static struct ring_swim *machine(void)
{
    static const struct ring_swim_cbs cbs = {sent, NULL, NULL, NULL};
    struct ring_swim_conf c;
    struct ring_swim_info in;
    struct ring_swim *sw = NULL;
    struct ring_swim_msg m;

    ring_swim_conf_default(&c);
    info_of(0, &in);
    if (ring_swim_new(&c, &in, 1, 7, &cbs, NULL, 0, &sw) != RING_OK)
        abort();
    memset(&m, 0, sizeof(m));
    m.type = RING_SWIM_GOSSIP;
    m.nupdates = 3;
    for (int i = 0; i < 3; i++) {
        info_of(i + 1, &m.updates[i].info);
        memcpy(m.updates[i].id, m.updates[i].info.id, RING_ID_LEN);
        m.updates[i].incarnation = 1;
    }
    ring_swim_recv(sw, 1, &m.updates[0].info.addr, &m);
    return sw;
}

static int terminated(const struct ring_swim_info *in)
{
    return memchr(in->name, '\0', RING_NAME_MAX) && memchr(in->zone, '\0', RING_ZONE_MAX);
}

static int same_msg(const struct ring_swim_msg *a, const struct ring_swim_msg *b)
{
    if (a->type != b->type || a->seq != b->seq || a->nupdates != b->nupdates ||
        memcmp(a->target, b->target, RING_ID_LEN) != 0 ||
        (a->target_addr.family && !ring_addr_eq(&a->target_addr, &b->target_addr)) ||
        a->target_addr.family != b->target_addr.family)
        return 0;
    for (size_t i = 0; i < a->nupdates; i++) {
        const struct ring_swim_update *x = &a->updates[i], *y = &b->updates[i];
        if (x->kind != y->kind || x->incarnation != y->incarnation ||
            memcmp(x->id, y->id, RING_ID_LEN) != 0 || memcmp(x->from, y->from, RING_ID_LEN) != 0 ||
            memcmp(&x->info, &y->info, sizeof(x->info)) != 0)
            return 0;
    }
    return 1;
}

static void check_machine(struct ring_swim *sw)
{
    for (uint64_t t = 100; t < 4000; t += 50)
        ring_swim_tick(sw, t);
    if (ring_swim_count(sw) > RING_MEMBERS_MAX)
        broken("more members than the ceiling");
    if (ring_swim_self(sw)->state != RING_ALIVE)
        broken("this node's own record is not alive");
    for (size_t i = 0; i < sw->nq; i++) { /* the queue and the members agree */
        struct member *mb = swim_lookup(sw, sw->q[i].u.id);
        if (!mb || mb->qslot != i + 1)
            broken("a queued update its member does not point at");
    }
    for (size_t i = 0; i < sw->n; i++)
        if (sw->m[i].qslot &&
            (sw->m[i].qslot > sw->nq ||
             memcmp(sw->q[sw->m[i].qslot - 1].u.id, sw->m[i].pub.info->id, RING_ID_LEN) != 0))
            broken("a member pointing at another's queued update");
}

static void datagram(const uint8_t *p, size_t n)
{
    struct ring_swim_msg m, again;
    uint8_t buf[RING_SWIM_PACKET_MAX * 2];
    size_t len;

    if (ring_swim_wire_decode(p, n, &m) != RING_OK)
        return;
    if (m.nupdates > RING_SWIM_UPDATES_MAX || m.type > RING_SWIM_GOSSIP)
        broken("decoded message out of range");
    for (size_t i = 0; i < m.nupdates; i++)
        if (m.updates[i].kind > RING_SWIM_U_LEFT || !terminated(&m.updates[i].info))
            broken("decoded update out of range");
    if (ring_swim_wire_encode(&m, buf, sizeof(buf), &len) != RING_OK)
        broken("a decoded message does not encode");
    if (ring_swim_wire_decode(buf, len, &again) != RING_OK || !same_msg(&m, &again))
        broken("a decoded message does not survive a round trip");

    struct ring_swim *sw = machine();
    struct ring_swim_info peer;
    info_of(1, &peer);
    ring_swim_recv(sw, 50, &peer.addr, &m);
    check_machine(sw);
    ring_swim_free(sw);
}

static void state(const uint8_t *p, size_t n, int join)
{
    struct ring_swim_member *ms = NULL;
    size_t count = 0;

    if (ring_swim_wire_state_decode(p, n, &ms, &count) != RING_OK) {
        free(ms);
        return;
    }
    if (count > n)
        broken("more members than bytes");
    for (size_t i = 0; i < count; i++)
        if (!terminated(ms[i].info) || ms[i].state > RING_LEFT)
            broken("decoded member out of range");
    struct ring_swim *sw = machine();
    ring_swim_merge(sw, 50, ms, count, join);
    check_machine(sw);
    ring_swim_free(sw);
    free(ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        state(data + 1, size - 1, (data[0] & 2) != 0);
    else
        datagram(data + 1, size - 1);
    return 0;
}
