/* daemon/cluster/seal.c: AES-256-GCM sealing, key files and the replay
 * guard (see seal.h). */
#include "daemon/cluster/seal.h"

#include "client/wire.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN 2
#define NONCE_LEN 12
#define TAG_LEN 16
#define OVERHEAD (HDR_LEN + NONCE_LEN + TAG_LEN)
#define AAD_MAX 96

struct sender {
    uint32_t salt;
    int used;
    uint64_t newest;
    uint64_t recent[CLUSTER_SEAL_WINDOW]; /* a ring of the last counters taken */
    unsigned nrecent, pos;
};

struct cluster_seal {
    EVP_CIPHER_CTX *ctx;
    uint8_t keys[CLUSTER_KEYS_MAX][CLUSTER_KEY_LEN];
    uint8_t hints[CLUSTER_KEYS_MAX];
    size_t nkeys;
    char prefix[80]; /* "shoal/<version>/<cluster>" */
    size_t prefix_len;
    uint32_t salt;
    uint64_t counter;
    struct sender *senders; /* open addressing by salt */
    size_t nsenders;
};

static const char *const drop_names[CLUSTER_DROP_COUNT] = {
    "none", "short", "version", "key", "auth", "stale", "replay", "decode", "toobig",
};

const char *cluster_drop_name(enum cluster_drop d)
{
    return d < CLUSTER_DROP_COUNT ? drop_names[d] : "?";
}

/* ---- keys ----------------------------------------------------------------------------- */

int cluster_keys_load(const char *path, uint8_t keys[][CLUSTER_KEY_LEN], size_t *n, char *why,
                      size_t why_len)
{
    return wire_keys_load(path, keys, CLUSTER_KEYS_MAX, n, why, why_len);
}

int cluster_key_new(char *out, size_t len)
{
    uint8_t key[CLUSTER_KEY_LEN];
    if (len < 45 || RAND_bytes(key, sizeof(key)) != 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, key, sizeof(key));
    return 0;
}

/* ---- the sealer ----------------------------------------------------------------------- */

struct cluster_seal *cluster_seal_new(const char *cluster, const uint8_t keys[][CLUSTER_KEY_LEN],
                                      size_t n)
{
    struct cluster_seal *s = calloc(1, sizeof(*s));
    uint8_t md[SHA256_DIGEST_LENGTH];

    if (!s)
        return NULL;
    s->ctx = EVP_CIPHER_CTX_new();
    s->senders = calloc(CLUSTER_SEAL_SENDERS_MAX, sizeof(*s->senders));
    if (!s->ctx || !s->senders || RAND_bytes((uint8_t *)&s->salt, sizeof(s->salt)) != 1) {
        cluster_seal_free(s);
        return NULL;
    }
    s->prefix_len = (size_t)snprintf(s->prefix, sizeof(s->prefix), "shoal/%d/%.64s",
                                     CLUSTER_SEAL_VERSION, cluster);
    if (n == 0) {
        wire_insecure_key(cluster, s->keys[0]);
        n = 1;
    } else {
        for (size_t i = 0; i < n && i < CLUSTER_KEYS_MAX; i++)
            memcpy(s->keys[i], keys[i], CLUSTER_KEY_LEN);
    }
    s->nkeys = n < CLUSTER_KEYS_MAX ? n : CLUSTER_KEYS_MAX;
    for (size_t i = 0; i < s->nkeys; i++) {
        SHA256(s->keys[i], CLUSTER_KEY_LEN, md);
        s->hints[i] = md[0];
    }
    return s;
}

size_t cluster_seal_keys(const struct cluster_seal *s, uint8_t keys[][CLUSTER_KEY_LEN])
{
    for (size_t i = 0; i < s->nkeys; i++)
        memcpy(keys[i], s->keys[i], CLUSTER_KEY_LEN);
    return s->nkeys;
}

void cluster_seal_free(struct cluster_seal *s)
{
    if (!s)
        return;
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_cleanse(s->keys, sizeof(s->keys));
    free(s->senders);
    free(s);
}

static size_t aad_of(const struct cluster_seal *s, const uint8_t hdr[HDR_LEN],
                     enum cluster_seal_kind kind, uint8_t out[AAD_MAX])
{
    out[0] = hdr[0];
    out[1] = hdr[1];
    out[2] = (uint8_t)kind;
    memcpy(out + 3, s->prefix, s->prefix_len);
    return 3 + s->prefix_len;
}

size_t cluster_seal(struct cluster_seal *s, enum cluster_seal_kind kind, uint64_t now_us,
                    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    uint8_t aad[AAD_MAX];
    size_t alen;
    int n, f;

    if (cap < OVERHEAD || len > cap - OVERHEAD || len > INT32_MAX)
        return 0;
    s->counter = now_us > s->counter ? now_us : s->counter + 1;
    out[0] = CLUSTER_SEAL_VERSION;
    out[1] = s->hints[0];
    memcpy(out + HDR_LEN, &s->salt, 4);
    for (int i = 0; i < 8; i++)
        out[HDR_LEN + 4 + i] = (uint8_t)(s->counter >> (56 - 8 * i));
    alen = aad_of(s, out, kind, aad);
    if (EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(s->ctx, NULL, NULL, s->keys[0], out + HDR_LEN) != 1 ||
        EVP_EncryptUpdate(s->ctx, NULL, &n, aad, (int)alen) != 1 ||
        EVP_EncryptUpdate(s->ctx, out + HDR_LEN + NONCE_LEN, &n, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex(s->ctx, out + HDR_LEN + NONCE_LEN + n, &f) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                            out + HDR_LEN + NONCE_LEN + len) != 1)
        return 0;
    return len + OVERHEAD;
}

static int try_open(struct cluster_seal *s, const uint8_t *key, const uint8_t *in, size_t len,
                    const uint8_t *aad, size_t alen, uint8_t *out)
{
    size_t clen = len - OVERHEAD;
    int n, f;
    uint8_t tag[TAG_LEN];

    memcpy(tag, in + len - TAG_LEN, TAG_LEN);
    return EVP_DecryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
           EVP_DecryptInit_ex(s->ctx, NULL, NULL, key, in + HDR_LEN) == 1 &&
           EVP_DecryptUpdate(s->ctx, NULL, &n, aad, (int)alen) == 1 &&
           EVP_DecryptUpdate(s->ctx, out, &n, in + HDR_LEN + NONCE_LEN, (int)clen) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
           EVP_DecryptFinal_ex(s->ctx, out + n, &f) == 1;
}

/* The sender slot for SALT: found, or with CREATE a free or forgettable
 * one; NULL when there is none (with CREATE: the table is full of live
 * senders). Only authenticated messages create: forged salts cannot fill
 * the table. */
static struct sender *sender_of(struct cluster_seal *s, uint32_t salt, uint64_t now_us, int create)
{
    size_t cap = CLUSTER_SEAL_SENDERS_MAX, h = (salt * 2654435761u) & (cap - 1), free_at = cap;

    for (size_t k = 0; k < cap; k++, h = (h + 1) & (cap - 1)) {
        struct sender *e = &s->senders[h];
        if (!e->used) {
            if (free_at == cap)
                free_at = h;
            break; /* the end of this salt's probe run */
        }
        if (e->salt == salt)
            return e;
        if (free_at == cap && e->newest + CLUSTER_SEAL_SKEW_US < now_us)
            free_at = h; /* forgotten: all it could send is stale */
    }
    if (!create || free_at == cap)
        return NULL;
    struct sender *e = &s->senders[free_at];
    memset(e, 0, sizeof(*e));
    e->used = 1;
    e->salt = salt;
    return e;
}

static enum cluster_drop replay_check(struct cluster_seal *s, uint32_t salt, uint64_t c,
                                      uint64_t now_us, int commit)
{
    struct sender *e;
    uint64_t oldest = UINT64_MAX;

    if (c + CLUSTER_SEAL_SKEW_US < now_us || c > now_us + CLUSTER_SEAL_SKEW_US)
        return CLUSTER_DROP_STALE;
    e = sender_of(s, salt, now_us, commit);
    if (!e)
        return commit ? CLUSTER_DROP_REPLAY /* cannot tell: refuse */ : CLUSTER_DROP_NONE;
    if (e->nrecent && c <= e->newest) {
        for (unsigned i = 0; i < e->nrecent; i++) {
            if (e->recent[i] == c)
                return CLUSTER_DROP_REPLAY;
            if (e->recent[i] < oldest)
                oldest = e->recent[i];
        }
        if (e->nrecent == CLUSTER_SEAL_WINDOW && c < oldest)
            return CLUSTER_DROP_REPLAY; /* older than the window */
    }
    if (!commit)
        return CLUSTER_DROP_NONE;
    if (c > e->newest || !e->nrecent)
        e->newest = c;
    e->recent[e->pos] = c;
    e->pos = (e->pos + 1) % CLUSTER_SEAL_WINDOW;
    if (e->nrecent < CLUSTER_SEAL_WINDOW)
        e->nrecent++;
    return CLUSTER_DROP_NONE;
}

enum cluster_drop cluster_seal_open(struct cluster_seal *s, enum cluster_seal_kind kind,
                                    uint64_t now_us, const uint8_t *in, size_t len, uint8_t *out,
                                    size_t cap, size_t *out_len)
{
    uint8_t aad[AAD_MAX];
    size_t alen;
    uint32_t salt;
    uint64_t c = 0;
    int tried = 0, opened = 0;
    enum cluster_drop d;

    if (len < OVERHEAD)
        return CLUSTER_DROP_SHORT;
    if (in[0] != CLUSTER_SEAL_VERSION)
        return CLUSTER_DROP_VERSION;
    if (len - OVERHEAD > cap || len - OVERHEAD > INT32_MAX)
        return CLUSTER_DROP_TOOBIG;
    memcpy(&salt, in + HDR_LEN, 4);
    for (int i = 0; i < 8; i++)
        c = c << 8 | in[HDR_LEN + 4 + i];
    /* the cheap checks first (a flood of stale or replayed packets costs no
     * decryption), then authentication, then the guard is updated */
    d = replay_check(s, salt, c, now_us, 0);
    if (d != CLUSTER_DROP_NONE)
        return d;
    alen = aad_of(s, in, kind, aad);
    for (size_t k = 0; k < s->nkeys && !opened; k++) {
        if (s->hints[k] != in[1])
            continue;
        tried = 1;
        opened = try_open(s, s->keys[k], in, len, aad, alen, out);
    }
    if (!tried)
        return CLUSTER_DROP_KEY;
    if (!opened)
        return CLUSTER_DROP_AUTH;
    d = replay_check(s, salt, c, now_us, 1);
    if (d != CLUSTER_DROP_NONE)
        return d;
    *out_len = len - OVERHEAD;
    return CLUSTER_DROP_NONE;
}
