/* tests/unit/test_wire.c: the peer protocol's codec (client/wire.c): every
 * message type survives a round trip field for field, every truncation and
 * every trailing byte is refused, frame lengths over the ceiling are refused
 * from the head alone, strings too long for their fields are refused on both
 * sides, and the handshake's MACs differ by side, key, cluster and nonce. */
#include "client/wire.h"

#include "tests/unit/harness.h"

#include <stdlib.h>
#include <string.h>

static uint8_t buf[WIRE_FRAME_HEAD + WIRE_FRAME_MAX + 64];

/* Encodes M, checks the head's length, decodes the body into *OUT. */
static int round_trip(const struct wire_msg *m, struct wire_msg *out, size_t *flen)
{
    size_t len = 0;
    uint32_t blen = 0;
    if (wire_encode(m, buf, sizeof(buf), &len) != WIRE_OK)
        return -1;
    if (wire_frame_len(buf, &blen) != WIRE_OK || blen + WIRE_FRAME_HEAD != len)
        return -2;
    if (flen)
        *flen = len;
    return wire_decode(buf + WIRE_FRAME_HEAD, blen, out);
}

/* Every proper prefix of the body and the body with a byte more are refused. */
static int strict(size_t flen)
{
    struct wire_msg m;
    size_t blen = flen - WIRE_FRAME_HEAD;
    for (size_t n = 0; n < blen; n++)
        if (wire_decode(buf + WIRE_FRAME_HEAD, n, &m) == WIRE_OK)
            return 0;
    buf[flen] = 0xc0; /* a nil after the array */
    return wire_decode(buf + WIRE_FRAME_HEAD, blen + 1, &m) == WIRE_EINVAL;
}

TEST(test_hello_challenge_auth)
{
    struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELLO;
    m.epoch = 0x0123456789abcdefULL;
    m.u.hello.version = WIRE_VERSION;
    strcpy(m.u.hello.cluster, "prod-east");
    m.u.hello.has_node = 1;
    memset(m.u.hello.node, 0xA5, RING_ID_LEN);
    for (int i = 0; i < WIRE_NONCE_LEN; i++)
        m.u.hello.nonce[i] = (uint8_t)i;
    m.u.hello.block_size = 4u << 20;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_HELLO && d.rid == 0 && d.epoch == m.epoch);
    CHECK(d.u.hello.version == WIRE_VERSION && d.u.hello.has_node);
    CHECK_STR(d.u.hello.cluster, "prod-east");
    CHECK(memcmp(d.u.hello.node, m.u.hello.node, RING_ID_LEN) == 0);
    CHECK(memcmp(d.u.hello.nonce, m.u.hello.nonce, WIRE_NONCE_LEN) == 0);
    CHECK(d.u.hello.block_size == 4u << 20);
    CHECK(strict(fl));

    m.u.hello.has_node = 0; /* a client: no node id */
    REQUIRE(round_trip(&m, &d, NULL) == WIRE_OK);
    CHECK(!d.u.hello.has_node);

    memset(&m, 0, sizeof(m));
    m.type = WIRE_CHALLENGE;
    m.epoch = 7;
    m.u.challenge.version = 1;
    memset(m.u.challenge.node, 1, RING_ID_LEN);
    memset(m.u.challenge.nonce, 2, WIRE_NONCE_LEN);
    memset(m.u.challenge.mac, 3, WIRE_MAC_LEN);
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_CHALLENGE && d.epoch == 7 && d.u.challenge.mac[31] == 3 &&
          d.u.challenge.nonce[0] == 2 && d.u.challenge.node[15] == 1);
    CHECK(strict(fl));

    memset(&m, 0, sizeof(m));
    m.type = WIRE_AUTH;
    memset(m.u.auth.mac, 9, WIRE_MAC_LEN);
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_AUTH && d.u.auth.mac[0] == 9);
    CHECK(strict(fl));

    m.type = WIRE_WELCOME;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_WELCOME);
    CHECK(strict(fl));
}

TEST(test_get_block_data_end)
{
    struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_GET;
    m.rid = 4000000000u;
    m.epoch = 99;
    m.flags = WIRE_F_LOCAL;
    strcpy(m.u.obj.bucket, "lakehouse");
    memset(m.u.obj.key, 'k', WIRE_KEY_MAX - 1); /* the longest key */
    strcpy(m.u.obj.etag, "\"d41d8cd98f00b204e9800998ecf8427e-3\"");
    m.u.obj.size = 1ULL << 40;
    m.u.obj.index = 262143;
    m.u.obj.off = 4096;
    m.u.obj.len = (4u << 20) - 4096;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_GET && d.rid == 4000000000u && d.epoch == 99 && d.flags == WIRE_F_LOCAL);
    CHECK_STR(d.u.obj.bucket, "lakehouse");
    CHECK(strlen(d.u.obj.key) == WIRE_KEY_MAX - 1);
    CHECK_STR(d.u.obj.etag, m.u.obj.etag);
    CHECK(d.u.obj.size == 1ULL << 40 && d.u.obj.index == 262143);
    CHECK(d.u.obj.off == 4096 && d.u.obj.len == (4u << 20) - 4096);
    CHECK(strict(fl));

    /* a key one byte too long does not encode */
    char longkey[WIRE_KEY_MAX + 1];
    memset(longkey, 'k', WIRE_KEY_MAX);
    longkey[WIRE_KEY_MAX] = '\0';
    struct wire_msg big = m;
    memcpy(big.u.obj.key, longkey, WIRE_KEY_MAX - 1);
    big.u.obj.key[WIRE_KEY_MAX - 1] = 'k'; /* no NUL inside the field */
    size_t len;
    CHECK(wire_encode(&big, buf, sizeof(buf), &len) == WIRE_EINVAL);

    /* an empty bucket, key or etag is refused by the decoder */
    m.u.obj.etag[0] = '\0';
    CHECK(round_trip(&m, &d, NULL) == WIRE_EINVAL);

    memset(&m, 0, sizeof(m));
    m.type = WIRE_BLOCK;
    m.rid = 5;
    m.u.block.block_len = 4u << 20;
    m.u.block.off = 10;
    m.u.block.len = 20;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_BLOCK && d.u.block.block_len == 4u << 20 && d.u.block.off == 10 &&
          d.u.block.len == 20);
    CHECK(strict(fl));
    m.u.block.off = (4u << 20) - 10; /* past the block's end */
    CHECK(round_trip(&m, &d, NULL) == WIRE_EINVAL);

    /* DATA: the head, then the bytes */
    static uint8_t payload[WIRE_DATA_MAX];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    uint8_t head[WIRE_DATA_HEAD_MAX];
    size_t hl = wire_data_head(77, sizeof(payload), head);
    uint32_t blen;
    REQUIRE(hl <= WIRE_DATA_HEAD_MAX);
    REQUIRE(wire_frame_len(head, &blen) == WIRE_OK);
    CHECK(blen == hl - WIRE_FRAME_HEAD + sizeof(payload));
    memcpy(buf, head, hl);
    memcpy(buf + hl, payload, sizeof(payload));
    REQUIRE(wire_decode(buf + WIRE_FRAME_HEAD, blen, &d) == WIRE_OK);
    CHECK(d.type == WIRE_DATA && d.rid == 77 && d.u.data.len == sizeof(payload));
    CHECK(d.u.data.p == buf + hl); /* not copied */
    CHECK(memcmp(d.u.data.p, payload, sizeof(payload)) == 0);
    CHECK(wire_decode(buf + WIRE_FRAME_HEAD, blen - 1, &d) == WIRE_EINVAL);
    /* the receivers' fast path takes it where it lies */
    uint32_t prid;
    size_t phl, pdl;
    CHECK(wire_data_peek(buf + WIRE_FRAME_HEAD, 16, blen, &prid, &phl, &pdl) == 1);
    CHECK(prid == 77 && pdl == sizeof(payload) && phl == hl - WIRE_FRAME_HEAD);
    CHECK(wire_data_peek(buf + WIRE_FRAME_HEAD, 16, blen - 1, &prid, &phl, &pdl) == 0);
    for (uint32_t r = 0; r < 70000; r = r * 3 + 1) { /* every width of rid and length */
        size_t n = (size_t)r % WIRE_DATA_MAX + 1;
        hl = wire_data_head(r, n, head);
        REQUIRE(wire_frame_len(head, &blen) == WIRE_OK);
        CHECK(wire_data_peek(head + WIRE_FRAME_HEAD, hl - WIRE_FRAME_HEAD, blen, &prid, &phl,
                             &pdl) == 1 &&
              prid == r && pdl == n);
    }
    /* a GET is not DATA */
    memset(&m, 0, sizeof(m));
    m.type = WIRE_END;
    size_t el;
    REQUIRE(wire_encode(&m, buf, sizeof(buf), &el) == WIRE_OK);
    CHECK(wire_data_peek(buf + WIRE_FRAME_HEAD, el - WIRE_FRAME_HEAD, el - WIRE_FRAME_HEAD, &prid,
                         &phl, &pdl) == 0);
    /* a DATA frame over WIRE_DATA_MAX: refused even when the frame fits */
    hl = wire_data_head(1, WIRE_DATA_MAX + 1, head);
    REQUIRE(wire_frame_len(head, &blen) == WIRE_OK);
    memcpy(buf, head, hl);
    memset(buf + hl, 0, WIRE_DATA_MAX + 1);
    CHECK(wire_decode(buf + WIRE_FRAME_HEAD, blen, &d) == WIRE_EINVAL);

    memset(&m, 0, sizeof(m));
    m.type = WIRE_END;
    m.rid = 5;
    m.u.end.sum = 0xfedcba9876543210ULL;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_END && d.u.end.sum == 0xfedcba9876543210ULL);
    CHECK(strict(fl));
}

TEST(test_put_holds_held_done_error)
{
    struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_PUT;
    m.rid = 3;
    m.epoch = 11;
    memset(m.u.put.id, 0x3C, RING_ID_LEN);
    m.u.put.len = 12345;
    m.u.put.sum = 42;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_PUT && d.epoch == 11 && d.u.put.len == 12345 && d.u.put.sum == 42 &&
          d.u.put.id[7] == 0x3C);
    CHECK(strict(fl));
    m.u.put.len = WIRE_BLOCK_MAX + 1ULL;
    size_t len;
    CHECK(wire_encode(&m, buf, sizeof(buf), &len) == WIRE_EINVAL);

    static uint8_t ids[WIRE_HOLDS_MAX * RING_ID_LEN];
    for (size_t i = 0; i < sizeof(ids); i++)
        ids[i] = (uint8_t)i;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HOLDS;
    m.rid = 8;
    m.u.holds.ids = ids;
    m.u.holds.n = WIRE_HOLDS_MAX;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_HOLDS && d.u.holds.n == WIRE_HOLDS_MAX);
    CHECK(memcmp(d.u.holds.ids, ids, sizeof(ids)) == 0);
    m.u.holds.n = WIRE_HOLDS_MAX + 1;
    CHECK(wire_encode(&m, buf, sizeof(buf), &len) == WIRE_EINVAL);

    uint8_t bits[3] = {0x81, 0, 0x7f};
    memset(&m, 0, sizeof(m));
    m.type = WIRE_HELD;
    m.u.held.bits = bits;
    m.u.held.len = 3;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_HELD && d.u.held.len == 3 && d.u.held.bits[2] == 0x7f);
    CHECK(strict(fl));

    memset(&m, 0, sizeof(m));
    m.type = WIRE_DONE;
    m.rid = 12;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_DONE && d.rid == 12);

    memset(&m, 0, sizeof(m));
    m.type = WIRE_ERROR;
    m.rid = 13;
    m.u.error.code = WIRE_C_PRECOND;
    strcpy(m.u.error.message, "the object changed");
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_ERROR && d.u.error.code == WIRE_C_PRECOND);
    CHECK_STR(d.u.error.message, "the object changed");
    CHECK(strict(fl));
    m.u.error.code = 0; /* not a code */
    CHECK(wire_encode(&m, buf, sizeof(buf), &len) == WIRE_EINVAL);
    CHECK_STR(wire_code_name(WIRE_C_AUTH), "auth");
    CHECK_STR(wire_type_name(WIRE_META_DEL), "meta_del");
    CHECK_STR(wire_type_name(99), "?");
}

TEST(test_meta)
{
    struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_META_PUT;
    m.rid = 21;
    m.epoch = 5;
    strcpy(m.u.obj.bucket, "b");
    strcpy(m.u.obj.key, "dir/part-0.parquet");
    m.meta.size = 123456789;
    strcpy(m.meta.etag, "\"abc\"");
    m.meta.mtime = -5; /* before 1970 is representable */
    strcpy(m.meta.content_type, "application/octet-stream");
    strcpy(m.meta.headers, "x-amz-meta-a: 1\r\n");
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_META_PUT && d.epoch == 5);
    CHECK_STR(d.u.obj.bucket, "b");
    CHECK_STR(d.u.obj.key, "dir/part-0.parquet");
    CHECK(d.meta.size == 123456789 && d.meta.mtime == -5);
    CHECK_STR(d.meta.etag, "\"abc\"");
    CHECK_STR(d.meta.content_type, "application/octet-stream");
    CHECK_STR(d.meta.headers, "x-amz-meta-a: 1\r\n");
    CHECK(strict(fl));

    m.type = WIRE_META;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_META && d.meta.size == 123456789);
    CHECK(strict(fl));

    m.type = WIRE_META_GET;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_META_GET);
    CHECK_STR(d.u.obj.key, "dir/part-0.parquet");
    CHECK(strict(fl));
    m.type = WIRE_META_DEL;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_META_DEL);
    CHECK(strict(fl));
}

TEST(test_view)
{
    struct wire_msg m, d;
    size_t fl;
    struct wire_member ms[3];
    memset(ms, 0, sizeof(ms));
    for (int i = 0; i < 3; i++) {
        ms[i].id[0] = (uint8_t)i;
        ms[i].addr.family = i == 2 ? 6 : 4;
        ms[i].addr.ip[0] = 127;
        ms[i].addr.ip[3] = (uint8_t)(i + 1);
        ms[i].addr.port = (uint16_t)(7000 + i);
        ms[i].weight = (uint32_t)(i + 1);
        snprintf(ms[i].zone, sizeof(ms[i].zone), "z%d", i);
        snprintf(ms[i].name, sizeof(ms[i].name), "n%d", i);
        ms[i].state = (uint8_t)i;
        ms[i].s3_port = 9000;
        ms[i].admin_port = 9100;
    }
    memset(&m, 0, sizeof(m));
    m.type = WIRE_VIEW;
    m.rid = 2;
    m.epoch = 0xabcdef;
    m.u.view.members = ms;
    m.u.view.n = 3;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_VIEW && d.epoch == 0xabcdef && d.u.view.n == 3);
    REQUIRE(d.u.view.members);
    for (int i = 0; i < 3; i++) {
        const struct wire_member *w = &d.u.view.members[i];
        CHECK(w->id[0] == i && w->addr.port == 7000 + i && w->weight == (uint32_t)i + 1);
        CHECK(w->state == i && w->s3_port == 9000 && w->admin_port == 9100);
        CHECK(w->addr.family == (i == 2 ? 6 : 4));
        CHECK_STR(w->name, ms[i].name);
        CHECK_STR(w->zone, ms[i].zone);
    }
    wire_msg_clear(&d);
    CHECK(strict(fl));
    ms[1].weight = 0; /* a member that cannot be placed */
    CHECK(round_trip(&m, &d, NULL) == WIRE_EINVAL);
}

TEST(test_frame_heads)
{
    uint8_t h[4];
    uint32_t len = 0;
    memset(h, 0, 4);
    CHECK(wire_frame_len(h, &len) == WIRE_EINVAL);
    h[1] = 0x10; /* 1 MiB */
    h[3] = 0;
    CHECK(wire_frame_len(h, &len) == WIRE_OK && len == 1u << 20);
    h[1] = 0x11; /* over the ceiling */
    CHECK(wire_frame_len(h, &len) == WIRE_ETOOBIG);
    memset(h, 0xff, 4);
    CHECK(wire_frame_len(h, &len) == WIRE_ETOOBIG);
    /* bodies: not an array, unknown types, an array32 claiming 2^32 items */
    static const uint8_t bad1[] = {0x01};
    static const uint8_t bad2[] = {0x92, 0x00, 0x00};
    static const uint8_t bad3[] = {0x92, 0x13, 0x00};
    static const uint8_t bad4[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    struct wire_msg d;
    CHECK(wire_decode(bad1, sizeof(bad1), &d) == WIRE_EINVAL);
    CHECK(wire_decode(bad2, sizeof(bad2), &d) == WIRE_EINVAL);
    CHECK(wire_decode(bad3, sizeof(bad3), &d) == WIRE_EINVAL);
    CHECK(wire_decode(bad4, sizeof(bad4), &d) == WIRE_EINVAL);
    /* a frame that does not fit the caller's buffer */
    struct wire_msg m;
    size_t n;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_META;
    strcpy(m.meta.etag, "\"e\"");
    CHECK(wire_encode(&m, buf, 10, &n) == WIRE_ETOOBIG);
    m.type = WIRE_DATA; /* has its own encoder */
    CHECK(wire_encode(&m, buf, sizeof(buf), &n) == WIRE_EINVAL);
}

TEST(test_list_listing_oput)
{
    static struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_LIST;
    m.rid = 9;
    m.epoch = 77;
    strcpy(m.u.list.bucket, "lake");
    strcpy(m.u.list.prefix, "sales/");
    strcpy(m.u.list.delimiter, "/");
    strcpy(m.u.list.after, "sales/a");
    strcpy(m.u.list.token, "opaque==");
    m.u.list.max = WIRE_LIST_MAX;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_LIST && d.rid == 9 && d.epoch == 77 && d.u.list.max == WIRE_LIST_MAX);
    CHECK_STR(d.u.list.bucket, "lake");
    CHECK_STR(d.u.list.prefix, "sales/");
    CHECK_STR(d.u.list.delimiter, "/");
    CHECK_STR(d.u.list.after, "sales/a");
    CHECK_STR(d.u.list.token, "opaque==");
    CHECK(strict(fl));
    m.u.list.max = 0; /* 1..WIRE_LIST_MAX, both ways */
    CHECK(wire_encode(&m, buf, sizeof(buf), &fl) == WIRE_EINVAL);
    m.u.list.max = WIRE_LIST_MAX + 1;
    CHECK(wire_encode(&m, buf, sizeof(buf), &fl) == WIRE_EINVAL);
    memset(m.u.list.delimiter, 'x', WIRE_DELIM_MAX); /* no NUL: too long */
    m.u.list.max = 1;
    CHECK(wire_encode(&m, buf, sizeof(buf), &fl) == WIRE_EINVAL);

    /* the largest LISTING: WIRE_LIST_MAX of the longest keys and ETags fit a frame */
    static char keys[WIRE_LIST_MAX][WIRE_KEY_MAX];
    static struct wire_entry es[WIRE_LIST_MAX];
    const char *pfx[2] = {"a/", "b/"};
    memset(&m, 0, sizeof(m));
    m.type = WIRE_LISTING;
    m.rid = 10;
    m.u.listing.truncated = 1;
    strcpy(m.u.listing.next_token, "next");
    for (size_t i = 0; i < WIRE_LIST_MAX - 2; i++) {
        memset(keys[i], 'k', WIRE_KEY_MAX - 1);
        snprintf(keys[i], 8, "%06zu", i);
        keys[i][6] = 'k';
        es[i].key = keys[i];
        es[i].size = UINT64_MAX - i;
        memset(es[i].etag, 'e', WIRE_ETAG_MAX - 1);
        es[i].mtime = -(int64_t)i;
    }
    m.u.listing.entries = es;
    m.u.listing.nentries = WIRE_LIST_MAX - 2;
    m.u.listing.prefixes = pfx;
    m.u.listing.nprefixes = 2;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_LISTING && d.u.listing.truncated);
    CHECK_STR(d.u.listing.next_token, "next");
    REQUIRE(d.u.listing.nentries == WIRE_LIST_MAX - 2 && d.u.listing.nprefixes == 2);
    CHECK_STR(d.u.listing.entries[5].key, keys[5]);
    CHECK(d.u.listing.entries[5].size == UINT64_MAX - 5 && d.u.listing.entries[5].mtime == -5);
    CHECK_STR(d.u.listing.entries[WIRE_LIST_MAX - 3].etag, es[0].etag);
    CHECK_STR(d.u.listing.prefixes[1], "b/");
    wire_msg_clear(&d);
    CHECK(d.u.listing.entries == NULL);
    m.u.listing.nprefixes = 3; /* one over the ceiling */
    const char *pfx3[3] = {"a/", "b/", "c/"};
    m.u.listing.prefixes = pfx3;
    CHECK(wire_encode(&m, buf, sizeof(buf), &fl) == WIRE_EINVAL);
    /* an empty listing, and strictness on a small one */
    m.u.listing.nentries = 1;
    m.u.listing.nprefixes = 1;
    m.u.listing.truncated = 0;
    m.u.listing.next_token[0] = 0;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(!d.u.listing.truncated && d.u.listing.nentries == 1 && d.u.listing.nprefixes == 1);
    wire_msg_clear(&d);
    CHECK(strict(fl));

    memset(&m, 0, sizeof(m));
    m.type = WIRE_OPUT;
    m.rid = 11;
    m.epoch = 5;
    strcpy(m.u.obj.bucket, "lake");
    strcpy(m.u.obj.key, "in/x.csv");
    m.u.obj.size = WIRE_OPUT_MAX;
    strcpy(m.meta.content_type, "text/csv");
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_OPUT && d.u.obj.size == WIRE_OPUT_MAX && d.epoch == 5);
    CHECK_STR(d.u.obj.key, "in/x.csv");
    CHECK_STR(d.meta.content_type, "text/csv");
    CHECK(strict(fl));
    m.u.obj.size = WIRE_OPUT_MAX + 1;
    CHECK(wire_encode(&m, buf, sizeof(buf), &fl) == WIRE_EINVAL);
}

TEST(test_macs)
{
    uint8_t k1[32], k2[32], n1[WIRE_NONCE_LEN], n2[WIRE_NONCE_LEN];
    uint8_t a[WIRE_MAC_LEN], b[WIRE_MAC_LEN];
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    memset(n1, 3, sizeof(n1));
    memset(n2, 4, sizeof(n2));
    REQUIRE(wire_mac(k1, 's', "c", n1, n2, a) == 0);
    REQUIRE(wire_mac(k1, 's', "c", n1, n2, b) == 0);
    CHECK(memcmp(a, b, WIRE_MAC_LEN) == 0); /* deterministic */
    REQUIRE(wire_mac(k1, 'c', "c", n1, n2, b) == 0);
    CHECK(memcmp(a, b, WIRE_MAC_LEN) != 0); /* a server's proof is not a client's */
    REQUIRE(wire_mac(k2, 's', "c", n1, n2, b) == 0);
    CHECK(memcmp(a, b, WIRE_MAC_LEN) != 0);
    REQUIRE(wire_mac(k1, 's', "d", n1, n2, b) == 0);
    CHECK(memcmp(a, b, WIRE_MAC_LEN) != 0);
    REQUIRE(wire_mac(k1, 's', "c", n2, n1, b) == 0);
    CHECK(memcmp(a, b, WIRE_MAC_LEN) != 0); /* the nonces' order counts */
}

TEST(test_members_drain)
{
    static struct wire_msg m, d;
    size_t fl;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_MEMBERS;
    m.rid = 3;
    m.epoch = 0x1234;
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_MEMBERS && d.rid == 3 && d.epoch == 0x1234);
    CHECK(strict(fl));
    memset(&m, 0, sizeof(m));
    m.type = WIRE_DRAIN;
    m.rid = 4;
    m.epoch = 5;
    for (int i = 0; i < RING_ID_LEN; i++)
        m.u.drain.node[i] = (uint8_t)(i * 17);
    REQUIRE(round_trip(&m, &d, &fl) == WIRE_OK);
    CHECK(d.type == WIRE_DRAIN && d.rid == 4 && d.epoch == 5);
    CHECK(memcmp(d.u.drain.node, m.u.drain.node, RING_ID_LEN) == 0);
    CHECK(strict(fl));
    CHECK_STR(wire_type_name(WIRE_DRAIN), "drain");
    CHECK_STR(wire_type_name(WIRE_MEMBERS), "members");
}

int main(void)
{
    RUN(test_hello_challenge_auth);
    RUN(test_get_block_data_end);
    RUN(test_put_holds_held_done_error);
    RUN(test_meta);
    RUN(test_view);
    RUN(test_frame_heads);
    RUN(test_list_listing_oput);
    RUN(test_members_drain);
    RUN(test_macs);
    return harness_done();
}
