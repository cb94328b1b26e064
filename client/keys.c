/* client/keys.c: cluster keys, for shoald and libshoal alike: the key
 * file (one key per line, 32 bytes as base64, 44 characters, what `shoal
 * keygen` prints, or hex, 64; blank lines and '#' lines ignored), the
 * insecure key of a cluster without one, and the keys derived for one use
 * each (wire.h). */
#include "client/wire.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* One key line (trimmed) into KEY; 0 or -1. */
static int key_parse(const char *s, size_t n, uint8_t key[WIRE_KEY_LEN])
{
    if (n == 2 * WIRE_KEY_LEN) {
        for (size_t i = 0; i < WIRE_KEY_LEN; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            key[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    if (n == 44 && s[43] == '=' && s[42] != '=') {
        uint8_t out[33];
        for (size_t i = 0; i < 43; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
                return -1;
        if (EVP_DecodeBlock(out, (const unsigned char *)s, 44) != 33)
            return -1;
        memcpy(key, out, WIRE_KEY_LEN);
        return 0;
    }
    return -1;
}

int wire_keys_load(const char *path, uint8_t keys[][WIRE_KEY_LEN], size_t max, size_t *n, char *why,
                   size_t why_len)
{
    char buf[WIRE_KEYFILE_MAX + 1];
    size_t len, line = 0;
    FILE *f = fopen(path, "r");

    *n = 0;
    if (!f) {
        snprintf(why, why_len, "cannot open: %s", strerror(errno));
        return -1;
    }
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (len > WIRE_KEYFILE_MAX) {
        snprintf(why, why_len, "larger than %d bytes: not a key file", WIRE_KEYFILE_MAX);
        return -1;
    }
    buf[len] = '\0';
    for (char *p = buf; p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p)), *e = nl ? nl : buf + len;
        line++;
        while (p < e && isspace((unsigned char)*p))
            p++;
        char *t = e;
        while (t > p && isspace((unsigned char)t[-1]))
            t--;
        if (t > p && *p != '#') {
            if (*n == max) {
                snprintf(why, why_len, "line %zu: more than %zu keys", line, max);
                return -1;
            }
            if (key_parse(p, (size_t)(t - p), keys[*n]) != 0) {
                snprintf(why, why_len,
                         "line %zu: not a key (32 bytes as base64, 44 characters, or hex, 64; "
                         "`shoal keygen` makes one)",
                         line);
                return -1;
            }
            (*n)++;
        }
        p = e + 1;
    }
    if (*n == 0) {
        snprintf(why, why_len, "holds no key (`shoal keygen` makes one)");
        return -1;
    }
    return 0;
}

void wire_insecure_key(const char *cluster, uint8_t out[WIRE_KEY_LEN])
{
    char seed[128];
    int sl = snprintf(seed, sizeof(seed), "shoal insecure key/%.64s", cluster);
    SHA256((const uint8_t *)seed, (size_t)sl, out);
}

void wire_derive_key(const char label[16], const uint8_t key[WIRE_KEY_LEN],
                     uint8_t out[WIRE_KEY_LEN])
{
    uint8_t in[16 + WIRE_KEY_LEN];
    memcpy(in, label, 16);
    memcpy(in + 16, key, WIRE_KEY_LEN);
    SHA256(in, sizeof(in), out);
    OPENSSL_cleanse(in, sizeof(in));
}
