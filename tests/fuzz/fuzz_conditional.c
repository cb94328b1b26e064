/* tests/fuzz/fuzz_conditional.c: libFuzzer target for the gateway's Range
 * and conditional headers: daemon/gateway/gw_get.c parse_range and preconditions
 * (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since),
 * daemon/gateway/gw_copy.c parse_copy_range (x-amz-copy-source-range) and
 * preconditions_hold (x-amz-copy-source-if-*), and what they stand on in
 * daemon/gateway/gw.c: gw_etag_matches and the HTTP date parser gw_parse_http_date
 * (with gw_http_date, ufs/s3_parse.c's ufs_s3_parse_http_date and the
 * calendar of ufs/ufs_time.h). The statics are reached by #including
 * gw_get.c and gw_copy.c.
 *
 * Input: 8 bytes of object size (little-endian, shifted right by byte 8 %
 * 64), 8 bytes of mtime (modulo year 10000), then lines:
 *   0 the object's ETag ("" for a default)   1 Range
 *   2 If-Match   3 If-None-Match   4 If-Modified-Since   5 If-Unmodified-Since
 *   6 x-amz-copy-source-range
 * An empty line is an absent header, "~" one present and empty.
 *
 * Invariants (abort() when broken): parse_range and parse_copy_range agree
 * with independent reference parsers of their grammars (bytes=a-b,
 * bytes=a-, bytes=-n; bytes=first-last of 1-19 digits), and a range they
 * set lies in the object; preconditions answers 0, 304 or 412, 412 exactly
 * when If-Match fails (or, without If-Match, If-Unmodified-Since does); the
 * copy conditions hold exactly when the same headers let a GET through
 * (S3 orders them the same way); an IMF-fixdate gw_http_date writes parses
 * back to its time in both date parsers, and a date gw_parse_http_date
 * accepts formats and parses back to the same time; "*" and the ETag
 * itself, quoted or weak, match it.
 *
 * fuzz-args: -max_len=4096
 * The seed corpus is tests/fuzz/corpus/conditional/; test_fuzz_conditional
 * replays it. */
#include "daemon/gateway/gw_copy.c"
#include "daemon/gateway/gw_get.c"

#include "tests/fuzz/fuzz_util.h"
#include "ufs/s3_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define YEAR10000 253402300800LL /* 10000-01-01T00:00:00Z */

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_conditional: broken invariant: %s [%s]\n", what, detail);
    abort();
}

/* A run of decimal digits at *P (advanced past it), saturating like
 * strtoull; -1 when there is none. */
static int digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int sat = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            sat = 1;
        v = v * 10 + d;
    }
    *out = sat ? UINT64_MAX : v;
    *p = s;
    return 0;
}

/* ref_range: RFC 9110 14.1.2's single byte range, as parse_range answers it. */
static int ref_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    uint64_t a, b;
    const char *p;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 1;
    p = h + 6;
    if (*p == '-') {
        p++;
        if (digits(&p, &b) || *p)
            return 1;
        if (b == 0 || size == 0)
            return 416;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 0;
    }
    if (digits(&p, &a) || *p++ != '-')
        return 1;
    if (*p == '\0') {
        b = UINT64_MAX;
    } else if (digits(&p, &b) || *p || b < a) {
        return 1;
    }
    if (a >= size)
        return 416;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return 0;
}

/* ref_copy_range: "bytes=F-L", F and L of 1 to 19 digits, F <= L. */
static int ref_copy_range(const char *h, uint64_t *first, uint64_t *last)
{
    const char *p;
    size_t nf, nl;
    if (!h) {
        *first = 0;
        *last = UFS_SIZE_UNKNOWN;
        return 0;
    }
    if (strncmp(h, "bytes=", 6) != 0)
        return -1;
    p = h + 6;
    nf = strspn(p, "0123456789");
    if (nf == 0 || nf > 19 || p[nf] != '-')
        return -1;
    nl = strspn(p + nf + 1, "0123456789");
    if (nl == 0 || nl > 19 || p[nf + 1 + nl] != '\0')
        return -1;
    *first = strtoull(p, NULL, 10);
    *last = strtoull(p + nf + 1, NULL, 10);
    return *first <= *last ? 0 : -1;
}

static const char *hdr(const struct fuzz_lines *l, size_t i)
{
    const char *v = fuzz_line(l, i);
    return !*v ? NULL : strcmp(v, "~") == 0 ? "" : v;
}

static void add(struct http_req *r, const char *name, const char *v)
{
    if (v)
        fuzz_req_add(r, name, v);
}

/* check_date: a date line gw_parse_http_date accepts formats and parses
 * back to the same time. */
static void check_date(const char *s)
{
    int64_t t, t2;
    char buf[64];
    if (!s || gw_parse_http_date(s, &t) != 0 || t < 0 || t >= YEAR10000)
        return;
    gw_http_date(t, buf, sizeof(buf));
    if (gw_parse_http_date(buf, &t2) != 0 || t2 != t)
        broken("a date gw_parse_http_date took does not format and parse back", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_lines l;
    struct http_req rg, rc;
    struct gw_req g = {0}, gc = {0};
    struct ufs_stat st = {0};
    struct get s = {0};
    struct copy c = {0};
    uint64_t raw = 0, first = 0, last = 0;
    int64_t mt = 0, t;
    char date[64];
    int rr, want, pre, hold;

    if (size < 17)
        return 0;
    for (int i = 7; i >= 0; i--)
        raw = raw << 8 | data[i];
    st.size = raw >> (data[8] % 64);
    for (int i = 16; i >= 9; i--)
        mt = (int64_t)((uint64_t)mt << 8 | data[i]);
    st.mtime = (int64_t)((uint64_t)mt % (uint64_t)YEAR10000);
    fuzz_lines_split(&l, data + 17, size - 17);
    snprintf(st.etag, sizeof(st.etag), "%s", *fuzz_line(&l, 0) ? fuzz_line(&l, 0) : "\"0a1b2c\"");

    /* Range */
    rr = parse_range(hdr(&l, 1), st.size, &s);
    want = ref_range(hdr(&l, 1), st.size, &first, &last);
    if (rr != want || (rr == 0 && (s.first != first || s.last != last)))
        broken("parse_range differs from the reference", fuzz_line(&l, 1));
    if (rr == 0 && !(s.first <= s.last && s.last < st.size))
        broken("a range outside the object", fuzz_line(&l, 1));

    /* If-* on a GET, and the same as x-amz-copy-source-if-* on a copy */
    fuzz_req_init(&rg, "GET", "/b/k");
    add(&rg, "if-match", hdr(&l, 2));
    add(&rg, "if-none-match", hdr(&l, 3));
    add(&rg, "if-modified-since", hdr(&l, 4));
    add(&rg, "if-unmodified-since", hdr(&l, 5));
    fuzz_req_init(&rc, "PUT", "/b/k2");
    add(&rc, "x-amz-copy-source-if-match", hdr(&l, 2));
    add(&rc, "x-amz-copy-source-if-none-match", hdr(&l, 3));
    add(&rc, "x-amz-copy-source-if-modified-since", hdr(&l, 4));
    add(&rc, "x-amz-copy-source-if-unmodified-since", hdr(&l, 5));
    add(&rc, "x-amz-copy-source-range", hdr(&l, 6));
    g.r = &rg;
    gc.r = &rc;
    pre = preconditions(&g, &st);
    if (pre != 0 && pre != 304 && pre != 412)
        broken("preconditions answered something else than 0, 304 or 412", "");
    {
        const char *im = hdr(&l, 2), *ius = hdr(&l, 5);
        int fails = im ? !gw_etag_matches(im, st.etag)
                       : ius && gw_parse_http_date(ius, &t) == 0 && st.mtime > t;
        if ((pre == 412) != fails)
            broken("412 is not exactly If-Match (or If-Unmodified-Since) failing", "");
    }
    hold = preconditions_hold(&gc, &st);
    if (hold != (pre == 0))
        broken("the copy conditions and the GET conditions disagree", "");

    /* x-amz-copy-source-range */
    c.g = &gc;
    rr = parse_copy_range(&c, http_req_header(&rc, "x-amz-copy-source-range"));
    want = ref_copy_range(hdr(&l, 6), &first, &last);
    if (rr != want || (rr == 0 && (c.first != first || c.last != last)))
        broken("parse_copy_range differs from the reference", fuzz_line(&l, 6));
    if (rr == 0 && hdr(&l, 6) && c.last == UFS_SIZE_UNKNOWN)
        broken("a copy range that reads as the whole source", fuzz_line(&l, 6));

    /* dates */
    gw_http_date(st.mtime, date, sizeof(date));
    if (gw_parse_http_date(date, &t) != 0 || t != st.mtime)
        broken("gw_http_date does not parse back with gw_parse_http_date", date);
    if (ufs_s3_parse_http_date(date, &t) != 0 || t != st.mtime)
        broken("gw_http_date does not parse back with ufs_s3_parse_http_date", date);
    for (size_t i = 1; i <= 6; i++)
        check_date(hdr(&l, i));

    /* ETags: "*", and the ETag quoted, bare, weak or in a list match it;
     * one a byte longer does not */
    if (!gw_etag_matches("*", st.etag))
        broken("* does not match", st.etag);
    {
        char core[UFS_ETAG_MAX], list[4 * UFS_ETAG_MAX];
        size_t n = strlen(st.etag);
        const char *e = st.etag;
        if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
            e++;
            n -= 2;
        }
        memcpy(core, e, n);
        core[n] = '\0';
        if (n && !strpbrk(core, "\",") && core[0] != ' ' && strncmp(core, "W/", 2) != 0) {
            for (int i = 0; i < 4; i++) {
                if (i == 0)
                    snprintf(list, sizeof(list), "%s", core);
                else if (i == 1)
                    snprintf(list, sizeof(list), "\"%s\"", core);
                else if (i == 2)
                    snprintf(list, sizeof(list), "W/\"%s\"", core);
                else
                    snprintf(list, sizeof(list), " \"zz\" , \"%s\"", core);
                if (!gw_etag_matches(list, st.etag))
                    broken("the ETag itself does not match", list);
            }
            if (n + 1 < UFS_ETAG_MAX - 1) {
                snprintf(list, sizeof(list), "\"%sx\"", core);
                if (gw_etag_matches(list, st.etag))
                    broken("another ETag matches", list);
            }
        }
    }

    fuzz_req_free(&rg);
    fuzz_req_free(&rc);
    fuzz_lines_free(&l);
    return 0;
}
