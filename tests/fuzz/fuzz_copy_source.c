/* tests/fuzz/fuzz_copy_source.c: libFuzzer target for the CopyObject and
 * UploadPartCopy source header, x-amz-copy-source ("[/]bucket/key
 * [?versionId=..]", URL-encoded): daemon/gateway/gw_copy.c parse_source (reached
 * by #including gw_copy.c), and the percent-coding it stands on,
 * ufs/sigv4.c ufs_sigv4_uri_decode and ufs_sigv4_uri_encode.
 *
 * Input: byte 0 picks the mode, the rest is
 *   even: the header's value, raw
 *   odd:  "bucket\nkey": the target encodes them as a client does
 *         (bucket/key, '/' kept in the key, a leading '/' when byte 0 & 2)
 *         and parse_source must give them back (when the bucket has no
 *         '/', as S3 bucket names never have)
 * Invariants (abort() when broken): parse_source answers 0, -1 or 1; 1
 * exactly when the first '?' starts "?versionId="; 0 only for a value
 * without '?' whose decoding (by an independent percent-decoder, which
 * ufs_sigv4_uri_decode must agree with) is "bucket/key" with bucket and
 * key non-empty, no NUL, bucket without '/', key at most GW_KEY_MAX; and
 * then those are what it returns. Encoding any bytes and decoding gives
 * them back, and the encoding holds only unreserved bytes, "%XX" (and '/'
 * when kept).
 *
 * fuzz-args: -max_len=4096
 * The seed corpus is tests/fuzz/corpus/copy_source/; test_fuzz_copy_source
 * replays it. */
#include "daemon/gateway/gw_copy.c"

#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *value)
{
    fprintf(stderr, "fuzz_copy_source: broken invariant: %s [%s]\n", what, value);
    abort();
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* ref_decode: %XX escapes of S[0..LEN) into OUT (LEN + 1 bytes); its length,
 * or -1 for a malformed escape. */
static long ref_decode(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }
        if (len - i < 3 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0)
            return -1;
        out[n++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
        i += 2;
    }
    out[n] = '\0';
    return (long)n;
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* check_coding: encoding S and decoding it gives S back, both ways of
 * keeping '/'; the encoding is canonical. */
static void check_coding(const char *s, size_t len)
{
    for (int keep = 0; keep < 2; keep++) {
        char *enc = ufs_sigv4_uri_encode(s, len, keep), *dec;
        size_t dl;
        if (!enc)
            broken("ufs_sigv4_uri_encode failed", "");
        for (const char *p = enc; *p; p++) {
            if (*p == '%') {
                if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
                    islower((unsigned char)p[1]) || islower((unsigned char)p[2]))
                    broken("an encoding with a bad or lower-case escape", enc);
                p += 2;
            } else if (!unreserved((unsigned char)*p) && !(keep && *p == '/')) {
                broken("an encoding that left a reserved byte", enc);
            }
        }
        if (ufs_sigv4_uri_decode(enc, strlen(enc), &dec, &dl) != 0 || dl != len ||
            memcmp(dec, s, len) != 0)
            broken("decoding an encoding did not give the bytes back", enc);
        free(dec);
        free(enc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v, *bucket = NULL, *key = NULL, *ref, *dec = NULL;
    const char *h, *q;
    long rl;
    size_t dl;
    int rc, urc;

    if (size < 1)
        return 0;
    check_coding((const char *)data + 1, size - 1);
    if (data[0] & 1) { /* a bucket and a key, encoded as a client does */
        const char *nl = memchr(data + 1, '\n', size - 1);
        size_t bl = nl ? (size_t)(nl - (const char *)data - 1) : size - 1;
        const char *k = nl ? nl + 1 : "";
        size_t kl = nl ? size - 1 - bl - 1 : 0;
        char *eb = ufs_sigv4_uri_encode((const char *)data + 1, bl, 0);
        char *ek = ufs_sigv4_uri_encode(k, kl, 1);
        /* a '/' in the bucket, or no bucket (the leading '/' is optional),
         * make another split the right one: then only the raw checks */
        int slashed = bl == 0 || memchr(data + 1, '/', bl) != NULL;
        int valid = bl > 0 && kl > 0 && kl <= GW_KEY_MAX && !memchr(data + 1, '\0', bl) &&
                    !memchr(k, '\0', kl);
        if (!eb || !ek)
            broken("ufs_sigv4_uri_encode failed", "");
        v = malloc(strlen(eb) + strlen(ek) + 3);
        if (!v)
            abort();
        sprintf(v, "%s%s/%s", data[0] & 2 ? "/" : "", eb, ek);
        rc = parse_source(v, &bucket, &key);
        if (!slashed && valid &&
            (rc != 0 || strlen(bucket) != bl || memcmp(bucket, data + 1, bl) != 0 ||
             strlen(key) != kl || memcmp(key, k, kl) != 0))
            broken("an encoded bucket and key did not parse back", v);
        else if (!slashed && !valid && rc == 0)
            broken("an empty or over-long bucket or key, or a NUL, was accepted", v);
        free(eb);
        free(ek);
    } else {
        v = malloc(size);
        if (!v)
            abort();
        memcpy(v, data + 1, size - 1);
        v[size - 1] = '\0';
        rc = parse_source(v, &bucket, &key);
    }
    if (rc != 0 && rc != -1 && rc != 1)
        broken("parse_source answered something else than 0, -1 or 1", v);

    /* what the answer must be, from the value alone */
    h = v[0] == '/' ? v + 1 : v;
    q = strchr(h, '?');
    if ((rc == 1) != (q && strncmp(q + 1, "versionId=", 10) == 0))
        broken("1 is not exactly a ?versionId=", v);
    ref = malloc(strlen(h) + 1);
    if (!ref)
        abort();
    rl = ref_decode(h, strlen(h), ref);
    urc = ufs_sigv4_uri_decode(h, strlen(h), &dec, &dl);
    if ((urc == 0) != (rl >= 0) || (urc == 0 && (dl != (size_t)rl || memcmp(dec, ref, dl) != 0)))
        broken("ufs_sigv4_uri_decode differs from the reference decoder", v);
    if (rc == 0) {
        char *slash = rl >= 0 ? memchr(ref, '/', (size_t)rl) : NULL;
        if (q || rl < 0 || memchr(ref, '\0', (size_t)rl) || !slash || slash == ref || !slash[1] ||
            strlen(slash + 1) > GW_KEY_MAX)
            broken("parse_source accepted a malformed source", v);
        if (strlen(bucket) != (size_t)(slash - ref) || memcmp(bucket, ref, strlen(bucket)) != 0 ||
            strcmp(key, slash + 1) != 0 || strchr(bucket, '/'))
            broken("parse_source split bucket and key wrongly", v);
        free(bucket);
        free(key);
    } else if (rc == -1 && !q && rl >= 0 && !memchr(ref, '\0', (size_t)rl)) {
        char *slash = memchr(ref, '/', (size_t)rl);
        if (slash && slash != ref && slash[1] && strlen(slash + 1) <= GW_KEY_MAX)
            broken("parse_source refused a well-formed source", v);
    }
    free(dec);
    free(ref);
    free(v);
    return 0;
}
