/* tests/fuzz/fuzz_chunked.c: libFuzzer target for the gateway's aws-chunked
 * body decoder (daemon/gateway/gw_chunked.c: gw_chunked_new, gw_chunked_feed), with
 * and without chunk signatures.
 *
 * Input: 6 control bytes, then a body.
 *   c0      bit 0: signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) or not;
 *           bit 1: the rest is a framing to build (below) or raw body bytes;
 *           bits 2-3: the callback asks to pause every 1-3 calls (0: never);
 *           bit 4: hex sizes in upper case; bit 5: a trailer (built bodies)
 *   c1..c4  raw bodies: the declared length (x-amz-decoded-content-length),
 *           little-endian, modulo 2^20 unless c4 bit 7 (then up to 2^32)
 *   c5      how the third run splits the body: c5 % 32 cut points drawn from it
 * A built body: the first byte picks a tampering (below), then chunks of
 * "length byte, that many data bytes" until the input ends (at most 64).
 * The target frames them ("SIZE;chunk-signature=SIG\r\nDATA\r\n", the
 * zero-size chunk, the trailer, the empty line) with valid signatures
 * chained from a seed signature, as an SDK would, so the fuzzer gets past
 * the first signature check; declared is the sum of the lengths. Then:
 *   0 nothing: the body must decode whole, to exactly its data
 *   1 one signature altered (signed): GW_CHUNKED_ESIG
 *   2 declared one more: GW_CHUNKED_ESHORT
 *   3 declared one less (data non-empty): GW_CHUNKED_ELONG
 *   4 a CRLF after data damaged: GW_CHUNKED_EMALFORMED
 *   5 the final empty line missing: no error, not done
 *   6 a byte after the end: GW_CHUNKED_EMALFORMED
 *   7 a size with a non-hex digit: GW_CHUNKED_EMALFORMED
 *
 * Every body is fed three ways: in one call, one byte per call (bodies up
 * to 4 KiB), and split at the control byte's cut points; the three must
 * agree (return code, done, decoded count, the decoded bytes' hash).
 * Invariants (abort() when broken): the callback never gets more than
 * declared bytes in total; return codes are 0 or GW_CHUNKED_E*, never
 * ESIG unsigned; an error is sticky and no byte reaches the callback after
 * it; gw_chunked_decoded() is what the callback got; done means decoded
 * == declared (and the only error after it is bytes after the end).
 *
 * fuzz-args: -max_len=16384
 * The seed corpus is tests/fuzz/corpus/chunked/; test_fuzz_chunked replays it. */
#include "daemon/gateway/gw_int.h"

#include "ufs/sigv4.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AMZ_DATE "20240501T120000Z"
#define SCOPE "20240501/us-east-1/s3/aws4_request"
#define SEED_SIG "8e0b1f8a1d4ad56e5d4c0a7a1b1e9b2b5f1e0c6d1b63a4a0b2c9d1e0f7a6b5c4"
#define CHUNKS_MAX 64
#define BODY_MAX (CHUNKS_MAX * 400 + 1024)

static unsigned char key[32];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_chunked: broken invariant: %s\n", what);
    abort();
}

/* ---- one decoding ------------------------------------------------------------ */

struct outcome {
    int rc, done;
    uint64_t decoded, got, hash;
};

struct sink {
    uint64_t declared, got, hash;
    int pause_every, calls, after_error;
};

static int sink_out(void *arg, const void *buf, size_t len)
{
    struct sink *s = arg;
    if (s->after_error)
        fail("bytes reached the callback after an error");
    s->got += len;
    if (s->got > s->declared)
        fail("more decoded bytes than declared reached the callback");
    for (size_t i = 0; i < len; i++)
        s->hash = (s->hash ^ ((const uint8_t *)buf)[i]) * 0x100000001b3ULL;
    return s->pause_every && ++s->calls % s->pause_every == 0;
}

static int valid_rc(int rc, int sign)
{
    return rc == 0 || rc == GW_CHUNKED_EMALFORMED || (rc == GW_CHUNKED_ESIG && sign) ||
           rc == GW_CHUNKED_ELONG || rc == GW_CHUNKED_ESHORT;
}

/* decode: BODY fed in pieces ending at CUTS (NCUTS of them, ascending). */
static struct outcome decode(int sign, uint64_t declared, int pause_every, const uint8_t *body,
                             size_t len, const size_t *cuts, size_t ncuts)
{
    struct gw_chunked *c = gw_chunked_new(sign, key, AMZ_DATE, SCOPE, SEED_SIG, declared);
    struct sink s = {
        .declared = declared, .hash = 0xcbf29ce484222325ULL, .pause_every = pause_every};
    struct outcome o = {0};
    size_t pos = 0;
    int first = 0;

    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        int pause = 0, rc;
        if (end < pos)
            continue;
        rc = gw_chunked_feed(c, body + pos, end - pos, sink_out, &s, &pause);
        if (!valid_rc(rc, sign))
            fail("gw_chunked_feed returned a code outside GW_CHUNKED_E*");
        if (first && rc != first)
            fail("an error was not sticky");
        if (rc) {
            first = rc;
            s.after_error = 1;
        }
        if (gw_chunked_decoded(c) != s.got)
            fail("gw_chunked_decoded() is not what the callback got");
        pos = end;
    }
    o.rc = first;
    o.done = gw_chunked_done(c);
    o.decoded = gw_chunked_decoded(c);
    o.got = s.got;
    o.hash = s.hash;
    if (o.done && o.decoded != declared)
        fail("done without every declared byte");
    if (o.done && o.rc != 0 && o.rc != GW_CHUNKED_EMALFORMED)
        fail("done, then an error other than bytes after the end");
    gw_chunked_free(c);
    return o;
}

/* ---- building a body ---------------------------------------------------------------- */

struct built {
    uint8_t *p;
    size_t len, cap;
    uint64_t total, hash;
};

static void put(struct built *b, const void *p, size_t n)
{
    if (b->len + n > b->cap)
        fail("the built body outgrew its buffer");
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* chunk_sig: the signature of a chunk of DATA after signature PREV. */
static void chunk_sig(const char *prev, const uint8_t *data, size_t len, char out[65])
{
    char hash[65], sts[512];
    ufs_sigv4_sha256_hex(data, len, hash);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", AMZ_DATE, SCOPE,
             prev, UFS_SIGV4_EMPTY_SHA256, hash);
    if (ufs_sigv4_signature(key, sts, out) != 0)
        fail("ufs_sigv4_signature");
}

/* build: frames the chunks described by DESC into B; returns the tampering
 * that applies (0 when the asked one cannot, e.g. no signature to alter). */
static int build(struct built *b, int sign, int upper, int trailer, const uint8_t *desc, size_t n)
{
    char prev[65] = SEED_SIG, sig[65], line[128];
    size_t at = 2, crlf_at = 0, size_at = 0, nchunks = 0;
    int tamper = n ? desc[0] % 8 : 0;
    unsigned target = n > 1 ? desc[1] : 0; /* which chunk a tampering hits */
    size_t sig_at[CHUNKS_MAX + 1];

    b->total = 0;
    b->hash = 0xcbf29ce484222325ULL;
    while (at < n && nchunks < CHUNKS_MAX) {
        size_t len = desc[at++], k;
        if (len > n - at)
            len = n - at;
        if (len == 0)
            break; /* an empty chunk is the last one: framed below */
        const uint8_t *d = desc + at;
        at += len;
        size_at = b->len;
        k = (size_t)snprintf(line, sizeof(line), upper ? "%zX" : "%zx", len);
        put(b, line, k);
        if (sign) {
            chunk_sig(prev, d, len, sig);
            put(b, ";chunk-signature=", 17);
            sig_at[nchunks] = b->len;
            put(b, sig, 64);
            memcpy(prev, sig, sizeof(prev));
        }
        put(b, "\r\n", 2);
        put(b, d, len);
        crlf_at = b->len;
        put(b, "\r\n", 2);
        for (size_t i = 0; i < len; i++)
            b->hash = (b->hash ^ d[i]) * 0x100000001b3ULL;
        b->total += len;
        nchunks++;
    }
    put(b, "0", 1);
    if (sign) {
        chunk_sig(prev, (const uint8_t *)"", 0, sig);
        put(b, ";chunk-signature=", 17);
        sig_at[nchunks] = b->len;
        put(b, sig, 64);
    }
    put(b, "\r\n", 2);
    if (trailer)
        put(b, "x-amz-checksum-crc32:AAAAAA==\r\n", 31);
    put(b, "\r\n", 2);
    switch (tamper) {
    case 1:
        if (!sign)
            return 0;
        {
            size_t s = sig_at[target % (nchunks + 1)];
            b->p[s] = b->p[s] == 'a' ? 'b' : 'a';
        }
        return 1;
    case 3:
        return b->total ? 3 : 0;
    case 4:
        if (!nchunks)
            return 0;
        b->p[crlf_at] = 'x';
        return 4;
    case 5:
        b->len -= 2;
        return 5;
    case 6:
        put(b, "x", 1);
        return 6;
    case 7:
        b->p[size_at] = 'g';
        return 7;
    }
    return tamper;
}

/* ---- the target ------------------------------------------------------------------------ */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int same(const struct outcome *a, const struct outcome *b)
{
    return a->rc == b->rc && a->done == b->done && a->decoded == b->decoded && a->got == b->got &&
           a->hash == b->hash;
}

static void report(const char *what, const struct outcome *o)
{
    fprintf(stderr, "  %s: rc=%d done=%d decoded=%" PRIu64 " got=%" PRIu64 " hash=%016" PRIx64 "\n",
            what, o->rc, o->done, o->decoded, o->got, o->hash);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[BODY_MAX];
    static size_t cuts[4096];
    struct built b = {.p = buf, .cap = sizeof(buf)};
    struct outcome whole, o;
    const uint8_t *body;
    size_t len, ncuts = 0;
    uint64_t declared;
    int sign, pause_every, tamper = -1;

    if (size < 6)
        return 0;
    if (!key[0] && ufs_sigv4_signing_key("fuzz-secret", AMZ_DATE, "us-east-1", "s3", key) != 0)
        fail("ufs_sigv4_signing_key");
    sign = data[0] & 1;
    pause_every = (data[0] >> 2) & 3;
    if (data[0] & 2) {
        tamper = build(&b, sign, data[0] & 16, data[0] & 32, data + 6, size - 6);
        body = b.p;
        len = b.len;
        declared = b.total + (tamper == 2) - (tamper == 3);
    } else {
        body = data + 6;
        len = size - 6;
        declared = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                   (uint64_t)data[4] << 24;
        if (!(data[4] & 0x80))
            declared &= (1u << 20) - 1;
    }

    whole = decode(sign, declared, pause_every, body, len, NULL, 0);
    if (getenv("FUZZ_VERBOSE")) /* what a seed does */
        report(tamper >= 0 ? "built" : "raw", &whole);
    if (len <= 4096) {
        for (size_t i = 1; i < len; i++)
            cuts[ncuts++] = i;
        o = decode(sign, declared, pause_every, body, len, cuts, ncuts);
        if (!same(&whole, &o)) {
            report("one call", &whole);
            report("a byte per call", &o);
            fail("a byte per call did not decode as one call");
        }
    }
    if (len > 1) {
        uint32_t r = (uint32_t)data[5] * 2654435761u + 11;
        ncuts = 0;
        for (size_t i = 0; i < (size_t)(data[5] % 32); i++) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            cuts[ncuts++] = r % len;
        }
        qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
        o = decode(sign, declared, (pause_every + 1) % 4, body, len, cuts, ncuts);
        if (!same(&whole, &o)) {
            report("one call", &whole);
            report("split", &o);
            fail("a split body did not decode as one call");
        }
    }

    /* a built body: the outcome its tampering must have */
    if (tamper >= 0) {
        int want_rc = tamper == 1                                 ? GW_CHUNKED_ESIG
                      : tamper == 2                               ? GW_CHUNKED_ESHORT
                      : tamper == 3                               ? GW_CHUNKED_ELONG
                      : tamper == 4 || tamper == 6 || tamper == 7 ? GW_CHUNKED_EMALFORMED
                                                                  : 0;
        int ok = whole.rc == want_rc;
        if (tamper == 0)
            ok = ok && whole.done && whole.decoded == b.total && whole.hash == b.hash;
        if (tamper == 6)
            ok = ok && whole.done && whole.decoded == b.total;
        if (tamper == 5)
            ok = ok && !whole.done && whole.decoded == b.total;
        if (!ok) {
            fprintf(stderr, "  tampering %d, declared %" PRIu64 ", want rc %d\n", tamper, declared,
                    want_rc);
            report("got", &whole);
            fprintf(stderr, "  body: %.*s\n", (int)len, (const char *)body);
            fail("a built body did not decode as it must");
        }
    }
    return 0;
}
