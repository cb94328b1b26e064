/* daemon/gateway/gw_chunked.c: aws-chunked request bodies (the STREAMING-* payload
 * modes newer AWS SDKs send): "SIZE[;chunk-signature=SIG]\r\nDATA\r\n"
 * chunks, a zero-size last chunk, then optional trailing headers (a
 * checksum). With STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] every chunk's
 * signature is checked: HMAC over "AWS4-HMAC-SHA256-PAYLOAD", the date,
 * the scope, the previous signature (the request's, first), the hash of the
 * empty string and the hash of the chunk's data. Trailing checksums are
 * read and dropped (like S3-compatible stores without checksum support).
 *
 * States: SIZE (reading a size line) -> DATA -> DATA_END (its CRLF) -> SIZE
 * ...; the zero-size chunk -> TRAILER (lines until an empty one) -> DONE. */
#include "daemon/gateway/gw_int.h"

#include "daemon/xalloc.h"
#include "ufs/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_LINE_MAX 512
#define CHUNK_SIZE_MAX (64ULL << 20)

enum { CK_SIZE, CK_DATA, CK_DATA_END, CK_TRAILER, CK_DONE };

struct gw_chunked {
    int sign;
    unsigned char key[32];
    char scope[160], amz_date[UFS_SIGV4_DATE_LEN + 1], prev[UFS_SIGV4_HEX_LEN + 1];
    int st;
    char line[CHUNK_LINE_MAX];
    size_t linelen;
    uint64_t left;
    char sig[UFS_SIGV4_HEX_LEN + 1];
    EVP_MD_CTX *sha;
    uint64_t decoded, declared;
    int err; /* the first error: sticky */
};

struct gw_chunked *gw_chunked_new(int sign, const unsigned char key[32], const char *amz_date,
                                  const char *scope, const char *seed_signature, uint64_t declared)
{
    struct gw_chunked *c = shd_xcalloc(1, sizeof(*c));
    c->sign = sign;
    c->declared = declared;
    if (sign) {
        memcpy(c->key, key, 32);
        snprintf(c->amz_date, sizeof(c->amz_date), "%s", amz_date);
        snprintf(c->scope, sizeof(c->scope), "%s", scope);
        snprintf(c->prev, sizeof(c->prev), "%s", seed_signature);
        c->sha = EVP_MD_CTX_new();
        if (!c->sha || EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
            shd_oom(0);
    }
    return c;
}

void gw_chunked_free(struct gw_chunked *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->sha);
    free(c);
}

int gw_chunked_done(const struct gw_chunked *c)
{
    return c->st == CK_DONE;
}

uint64_t gw_chunked_decoded(const struct gw_chunked *c)
{
    return c->decoded;
}

/* Checks the signature of the chunk that just ended. */
static int check_sig(struct gw_chunked *c)
{
    unsigned char d[32];
    unsigned int dl = 32;
    char hex[UFS_SIGV4_HEX_LEN + 1], want[UFS_SIGV4_HEX_LEN + 1], *sts;
    EVP_DigestFinal_ex(c->sha, d, &dl);
    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    sts = shd_xasprintf("AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", c->amz_date, c->scope,
                        c->prev, UFS_SIGV4_EMPTY_SHA256, hex);
    int rc = ufs_sigv4_signature(c->key, sts, want);
    free(sts);
    if (rc != 0 || !ufs_sigv4_equal(want, c->sig))
        return -1;
    memcpy(c->prev, c->sig, sizeof(c->prev));
    return 0;
}

/* A size line: "hex[;chunk-signature=sig]". */
static int size_line(struct gw_chunked *c)
{
    const char *end = c->line;
    uint64_t n = 0;
    c->line[c->linelen] = '\0';
    /* hex digits only: strtoull would also take "-1", " 1" and "0x1" */
    for (; isxdigit((unsigned char)*end); end++) {
        n = n * 16 +
            (uint64_t)(isdigit((unsigned char)*end) ? *end - '0' : (*end | 0x20) - 'a' + 10);
        if (n > CHUNK_SIZE_MAX)
            return GW_CHUNKED_EMALFORMED;
    }
    if (end == c->line)
        return GW_CHUNKED_EMALFORMED;
    c->sig[0] = '\0';
    if (*end == ';') {
        const char *s = strstr(end, "chunk-signature=");
        if (!s || strlen(s + 16) != UFS_SIGV4_HEX_LEN)
            return GW_CHUNKED_EMALFORMED;
        memcpy(c->sig, s + 16, UFS_SIGV4_HEX_LEN + 1);
    } else if (*end != '\0') {
        return GW_CHUNKED_EMALFORMED;
    }
    if (c->sign && !c->sig[0])
        return GW_CHUNKED_EMALFORMED;
    /* checked before a byte of the chunk is passed on: the caller sized
     * its buffers from the declared length */
    if (n > c->declared - c->decoded)
        return GW_CHUNKED_ELONG;
    c->left = n;
    if (n == 0) {
        if (c->sign && check_sig(c) != 0)
            return GW_CHUNKED_ESIG;
        if (c->decoded != c->declared)
            return GW_CHUNKED_ESHORT;
        c->st = CK_TRAILER;
    } else {
        c->st = CK_DATA;
    }
    return 0;
}

static int feed(struct gw_chunked *c, const uint8_t *p, size_t n,
                int (*out)(void *arg, const void *buf, size_t len), void *arg, int *pause)
{
    while (n > 0) {
        switch (c->st) {
        case CK_SIZE:
        case CK_TRAILER: {
            if (*p == '\n') {
                if (c->linelen == 0 || c->line[c->linelen - 1] != '\r')
                    return GW_CHUNKED_EMALFORMED;
                c->linelen--;
                if (c->st == CK_SIZE) {
                    int rc = size_line(c);
                    if (rc)
                        return rc;
                } else if (c->linelen == 0) {
                    c->st = CK_DONE;
                }
                c->linelen = 0;
            } else {
                if (c->linelen + 1 >= CHUNK_LINE_MAX)
                    return GW_CHUNKED_EMALFORMED;
                c->line[c->linelen++] = (char)*p;
            }
            p++;
            n--;
            break;
        }
        case CK_DATA: {
            size_t k = n < c->left ? n : (size_t)c->left;
            if (c->sign)
                EVP_DigestUpdate(c->sha, p, k);
            if (out(arg, p, k) == 1)
                *pause = 1;
            c->decoded += k;
            c->left -= k;
            p += k;
            n -= k;
            if (c->left == 0) {
                c->st = CK_DATA_END;
                c->linelen = 0;
            }
            break;
        }
        case CK_DATA_END:
            c->line[c->linelen++] = (char)*p;
            p++;
            n--;
            if (c->linelen == 2) {
                if (c->line[0] != '\r' || c->line[1] != '\n')
                    return GW_CHUNKED_EMALFORMED;
                if (c->sign && check_sig(c) != 0)
                    return GW_CHUNKED_ESIG;
                c->st = CK_SIZE;
                c->linelen = 0;
            }
            break;
        case CK_DONE:
            return GW_CHUNKED_EMALFORMED; /* bytes after the end */
        }
    }
    return 0;
}

int gw_chunked_feed(struct gw_chunked *c, const uint8_t *p, size_t n,
                    int (*out)(void *arg, const void *buf, size_t len), void *arg, int *pause)
{
    if (!c->err)
        c->err = feed(c, p, n, out, arg, pause);
    return c->err;
}
