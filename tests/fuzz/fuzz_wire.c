/* tests/fuzz/fuzz_wire.c: libFuzzer target for the peer protocol's frame
 * decoder (client/wire.c), which every host that can reach a node's peer
 * port feeds before it has authenticated (HELLO, AUTH), and every member
 * after.
 *
 * Input: a frame as it comes off the wire, its 4-byte length head then the
 * body. The head goes through wire_frame_len (the ceiling), the body
 * through wire_decode.
 *
 * Invariants (abort() when broken): a length over WIRE_FRAME_MAX is never
 * accepted; what wire_data_peek (the receivers' fast path for DATA) takes,
 * wire_decode decodes as the same DATA frame (other encodings of DATA are
 * left to wire_decode); a decoded message has a known type, NUL-terminated strings
 * within their fields, DATA/HOLDS/HELD pointers inside the body and within
 * their ceilings; every decoded message but DATA encodes again, and that
 * encoding decodes to the same message (DATA: its head re-encodes to the
 * same rid and bytes). LISTING's entries and prefixes stay within
 * WIRE_LIST_MAX and their strings within their fields; OPUT's size within
 * WIRE_OPUT_MAX.
 *
 * fuzz-args: -max_len=70000
 * The seed corpus is tests/fuzz/corpus/wire/; test_fuzz_wire replays it. */
#include "client/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_wire: broken invariant: %s\n", what);
    abort();
}

static void check_str(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        broken("a string without its NUL");
}

static int same(const struct wire_msg *a, const struct wire_msg *b)
{
    if (a->type != b->type || a->rid != b->rid || a->epoch != b->epoch || a->flags != b->flags)
        return 0;
    switch (a->type) {
    case WIRE_VIEW:
        return a->u.view.n == b->u.view.n && memcmp(a->u.view.members, b->u.view.members,
                                                    a->u.view.n * sizeof(struct wire_member)) == 0;
    case WIRE_HOLDS:
        return a->u.holds.n == b->u.holds.n &&
               memcmp(a->u.holds.ids, b->u.holds.ids, a->u.holds.n * RING_ID_LEN) == 0;
    case WIRE_HELD:
        return a->u.held.len == b->u.held.len &&
               memcmp(a->u.held.bits, b->u.held.bits, a->u.held.len) == 0;
    case WIRE_LISTING: {
        const __typeof__(a->u.listing) *x = &a->u.listing, *y = &b->u.listing;
        if (x->truncated != y->truncated || strcmp(x->next_token, y->next_token) != 0 ||
            x->nentries != y->nentries || x->nprefixes != y->nprefixes)
            return 0;
        for (size_t i = 0; i < x->nentries; i++)
            if (strcmp(x->entries[i].key, y->entries[i].key) != 0 ||
                x->entries[i].size != y->entries[i].size ||
                strcmp(x->entries[i].etag, y->entries[i].etag) != 0 ||
                x->entries[i].mtime != y->entries[i].mtime)
                return 0;
        for (size_t i = 0; i < x->nprefixes; i++)
            if (strcmp(x->prefixes[i], y->prefixes[i]) != 0)
                return 0;
        return 1;
    }
    default:
        return memcmp(&a->u, &b->u, sizeof(a->u)) == 0 &&
               memcmp(&a->meta, &b->meta, sizeof(a->meta)) == 0;
    }
}

static uint8_t out[WIRE_FRAME_HEAD + WIRE_FRAME_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wire_msg m, again;
    uint32_t blen;
    size_t len;
    if (size < WIRE_FRAME_HEAD)
        return 0;
    if (wire_frame_len(data, &blen) != WIRE_OK)
        return 0;
    if (blen > WIRE_FRAME_MAX || blen == 0)
        broken("a length over the ceiling accepted");
    if (blen > size - WIRE_FRAME_HEAD)
        blen = (uint32_t)(size - WIRE_FRAME_HEAD); /* what arrived */
    const uint8_t *body = data + WIRE_FRAME_HEAD;
    uint32_t prid;
    size_t phl, pdl;
    int peeked = wire_data_peek(body, blen < 16 ? blen : 16, blen, &prid, &phl, &pdl);
    if (wire_decode(body, blen, &m) != WIRE_OK) {
        if (peeked)
            broken("wire_data_peek took a frame wire_decode refuses");
        return 0;
    }
    if (peeked &&
        (m.type != WIRE_DATA || prid != m.rid || pdl != m.u.data.len || body + phl != m.u.data.p))
        broken("wire_data_peek and wire_decode disagree on a DATA frame");
    if (m.type < WIRE_HELLO || m.type > WIRE_TYPE_LAST)
        broken("an unknown type decoded");
    check_str(m.u.obj.bucket, WIRE_BUCKET_MAX);
    check_str(m.meta.etag, WIRE_ETAG_MAX);
    check_str(m.meta.headers, WIRE_HEADERS_MAX);
    if (m.type == WIRE_DATA) {
        if (m.u.data.len > WIRE_DATA_MAX || m.u.data.p < body ||
            m.u.data.p + m.u.data.len != body + blen)
            broken("DATA bytes outside the body");
        size_t hl = wire_data_head(m.rid, m.u.data.len, out);
        memcpy(out + hl, m.u.data.p, m.u.data.len);
        if (wire_decode(out + WIRE_FRAME_HEAD, hl - WIRE_FRAME_HEAD + m.u.data.len, &again) !=
                WIRE_OK ||
            again.type != WIRE_DATA || again.rid != m.rid || again.u.data.len != m.u.data.len ||
            memcmp(again.u.data.p, m.u.data.p, m.u.data.len) != 0)
            broken("a DATA frame re-encoded decodes to another");
        return 0;
    }
    if (m.type == WIRE_HOLDS && (m.u.holds.n > WIRE_HOLDS_MAX || m.u.holds.ids < body ||
                                 m.u.holds.ids + m.u.holds.n * RING_ID_LEN > body + blen))
        broken("HOLDS ids outside the body");
    if (m.type == WIRE_HELD && (m.u.held.bits < body || m.u.held.bits + m.u.held.len > body + blen))
        broken("HELD bits outside the body");
    if (m.type == WIRE_LISTING) {
        if (m.u.listing.nentries + m.u.listing.nprefixes > WIRE_LIST_MAX)
            broken("a LISTING over its ceiling");
        for (size_t i = 0; i < m.u.listing.nentries; i++) {
            check_str(m.u.listing.entries[i].key, WIRE_KEY_MAX);
            check_str(m.u.listing.entries[i].etag, WIRE_ETAG_MAX);
        }
        for (size_t i = 0; i < m.u.listing.nprefixes; i++)
            check_str(m.u.listing.prefixes[i], WIRE_KEY_MAX);
    }
    if (m.type == WIRE_OPUT && m.u.obj.size > WIRE_OPUT_MAX)
        broken("an OPUT over its ceiling");
    if (wire_encode(&m, out, sizeof(out), &len) != WIRE_OK)
        broken("a decoded message does not encode");
    if (wire_decode(out + WIRE_FRAME_HEAD, len - WIRE_FRAME_HEAD, &again) != WIRE_OK)
        broken("a re-encoded message does not decode");
    if (!same(&m, &again))
        broken("a re-encoded message decodes to another");
    wire_msg_clear(&again);
    wire_msg_clear(&m);
    return 0;
}
