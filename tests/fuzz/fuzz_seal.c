/* tests/fuzz/fuzz_seal.c: libFuzzer target for the opener of sealed gossip
 * datagrams and push-pull frames (daemon/cluster/seal.c
 * cluster_seal_open), the first code any packet that reaches listen.peer
 * meets: header, key hint, nonce, replay guard, AES-256-GCM.
 *
 * Input: 1 control byte, then bytes.
 *   c0 bit 0: the bytes are a stream frame, else a datagram;
 *   bit 1: instead of opening the bytes as they are, seal them (as the
 *      payload) and open a copy with the first bytes of the input XORed
 *      into it, at the offset given by byte 1.
 *
 * Invariants (abort() when broken): raw bytes never open (nobody without
 * the key can make a packet that does); a sealed payload opens to exactly
 * itself, once (the second time is a replay); a copy changed anywhere never
 * opens; no opening writes past its output buffer (ASan) or reads past its
 * input.
 *
 * fuzz-args: -max_len=4096
 * The seed corpus is tests/fuzz/corpus/seal/; test_fuzz_seal replays it. */
#include "daemon/cluster/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000000000ULL

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_seal: broken invariant: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cluster_seal *a, *b;
    static uint64_t t = NOW;
    uint8_t key[1][CLUSTER_KEY_LEN];
    enum cluster_seal_kind kind;
    size_t n, olen;

    if (size < 1)
        return 0;
    if (!a) {
        memset(key[0], 0x5a, CLUSTER_KEY_LEN);
        a = cluster_seal_new("fuzz", key, 1);
        b = cluster_seal_new("fuzz", key, 1);
        if (!a || !b)
            abort();
    }
    kind = data[0] & 1 ? CLUSTER_SEAL_STREAM : CLUSTER_SEAL_DGRAM;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    t += 1000; /* each input a millisecond later: the guard's window moves */
    if (!(data[0] & 2)) {
        uint8_t *out = malloc(len ? len : 1);
        if (!out)
            abort();
        if (cluster_seal_open(b, kind, t, p, len, out, len, &olen) == CLUSTER_DROP_NONE)
            broken("bytes nobody sealed opened");
        free(out);
        return 0;
    }
    uint8_t *sealed = malloc(len + 30), *copy = malloc(len + 30), *out = malloc(len + 1);
    if (!sealed || !copy || !out)
        abort();
    n = cluster_seal(a, kind, t, p, len, sealed, len + 30);
    if (n != len + 30)
        broken("a payload did not seal");
    memcpy(copy, sealed, n);
    size_t at = len ? p[0] % n : 0, changed = 0;
    for (size_t i = 0; i < len && i < 8; i++) {
        uint8_t x = p[i] | 1; /* a non-zero change */
        copy[(at + i) % n] ^= x;
        changed = 1;
    }
    if (changed && cluster_seal_open(b, kind, t, copy, n, out, len + 1, &olen) == CLUSTER_DROP_NONE)
        broken("a changed packet opened");
    if (cluster_seal_open(b, kind, t, sealed, n, out, len + 1, &olen) != CLUSTER_DROP_NONE ||
        olen != len || memcmp(out, p, len) != 0)
        broken("a sealed payload did not open to itself");
    if (cluster_seal_open(b, kind, t, sealed, n, out, len + 1, &olen) != CLUSTER_DROP_REPLAY)
        broken("a packet opened twice");
    free(sealed);
    free(copy);
    free(out);
    return 0;
}
