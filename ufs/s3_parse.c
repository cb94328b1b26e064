/* ufs/s3_parse.c: what the S3 backend reads from response headers: the
 * status line, ETag, Content-Type, Content-Length, Content-Range and
 * Last-Modified (each checked against its ceiling or its grammar), and the
 * two date formats S3 sends (also used for listings). Untrusted bytes: the
 * fuzz target tests/fuzz/fuzz_s3_xml.c feeds these too. */
#include "ufs/ufs_time.h"
#include "ufs/s3_int.h"

#include <string.h>

/* ufs_s3_ci_eq: ALEN bytes at A equal B, ignoring ASCII case. */
int ufs_s3_ci_eq(const char *a, size_t alen, const char *b)
{
    size_t i;

    if (alen != strlen(b))
        return 0;
    for (i = 0; i < alen; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* ufs_s3_reset_response: forget the response headers and body received so far
 * (a new status line starts a new response). */
void ufs_s3_reset_response(struct s3_xfer *x)
{
    x->status = 0;
    x->etag[0] = '\0';
    x->clen = x->cr_first = x->cr_last = x->cr_total = 0;
    x->has_clen = x->has_cr = x->cr_total_known = 0;
    x->mtime = 0;
    x->ctype[0] = '\0';
    x->keep[0] = '\0';
    x->keep_len = 0;
    x->code[0] = '\0';
    x->message[0] = '\0';
    x->resp_len = 0;
}

/* take_u64: a decimal number at *P (before END), without overflow; *P moves
 * past it. Returns 1, or 0 when there is none or it does not fit. */
static int take_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s >= end || *s < '0' || *s > '9')
        return 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');

        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 1;
}

/* parse_content_range: "bytes A-B/T", or "bytes A-B/" and a star when the
 * total is unknown, into X; anything else is ignored (the read then
 * refuses a 206 without it). */
static void parse_content_range(struct s3_xfer *x, const char *p, const char *end)
{
    uint64_t a, b, t = 0;
    int ok = 0, known = 0;

    if (end - p < 6 || memcmp(p, "bytes ", 6) != 0)
        return;
    p += 6;
    if (!take_u64(&p, end, &a) || p >= end || *p++ != '-' || !take_u64(&p, end, &b) || p >= end ||
        *p++ != '/' || a > b)
        return;
    if (p + 1 == end && *p == '*') {
        p++;
        ok = 1;
    } else if (take_u64(&p, end, &t) && b < t) {
        ok = known = 1;
    }
    if (!ok || p != end)
        return;
    x->cr_first = a;
    x->cr_last = b;
    x->cr_total = t;
    x->cr_total_known = known;
    x->has_cr = 1;
}

/* ufs_s3_header_line: see s3_int.h. A status line starts a new response
 * (an interim 100 is forgotten); of the others only ETag (over its ceiling:
 * the transfer fails), Content-Type (a longer one is dropped, not cut),
 * Content-Length, Content-Range, Last-Modified and the headers S3 keeps with
 * an object (ufs_kept_header; those that do not fit are left out) are kept,
 * each checked. */
int ufs_s3_header_line(struct s3_xfer *x, const char *buf, size_t n)
{
    size_t nl, vl;
    const char *colon, *v;
    char tmp[64];

    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', n);
        long st = 0;
        int i;

        ufs_s3_reset_response(x);
        for (i = 1; sp && i <= 3 && sp + i < buf + n; i++) {
            if (sp[i] < '0' || sp[i] > '9')
                break;
            st = st * 10 + (sp[i] - '0');
        }
        x->status = i == 4 ? st : 0;
        return 1;
    }
    colon = memchr(buf, ':', n);
    if (!colon)
        return 1;
    nl = (size_t)(colon - buf);
    v = colon + 1;
    vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    if (ufs_s3_ci_eq(buf, nl, "etag")) {
        if (vl >= UFS_ETAG_MAX) {
            x->abort_err = UFS_EPROTO;
            return 0;
        }
        memcpy(x->etag, v, vl);
        x->etag[vl] = '\0';
    } else if (ufs_s3_ci_eq(buf, nl, "content-type")) {
        if (vl < sizeof(x->ctype)) { /* a longer one is dropped, not cut */
            memcpy(x->ctype, v, vl);
            x->ctype[vl] = '\0';
        }
    } else if (ufs_s3_ci_eq(buf, nl, "content-length")) {
        const char *p = v;
        uint64_t c;

        if (take_u64(&p, v + vl, &c) && p == v + vl) {
            x->clen = c;
            x->has_clen = 1;
        }
    } else if (ufs_s3_ci_eq(buf, nl, "content-range")) {
        parse_content_range(x, v, v + vl);
    } else if (ufs_kept_header(buf, nl)) {
        /* S3 keeps it with the object: one that does not fit is left out */
        ufs_headers_add(x->keep, &x->keep_len, buf, nl, v, vl);
    } else if (ufs_s3_ci_eq(buf, nl, "last-modified")) {
        int64_t t;

        if (vl < sizeof(tmp)) {
            memcpy(tmp, v, vl);
            tmp[vl] = '\0';
            if (ufs_s3_parse_http_date(tmp, &t) == 0)
                x->mtime = t;
        }
    }
    return 1;
}

/* ---- dates ------------------------------------------------------------------- */

/* num: the value of N decimal digits at S, or -1. */
static int num(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* civil: checks a date and time and turns it into seconds since the epoch. */
static int civil(int y, int mo, int d, int h, int mi, int se, int64_t *out)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60)
        return UFS_EPROTO;
    if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
        return UFS_EPROTO;
    *out = ufs_utc_seconds((int)y, (int)mo, (int)d, (int)h, (int)mi, (int)se);
    return 0;
}

/* ufs_s3_parse_iso8601: "YYYY-MM-DDTHH:MM:SS[.fff]Z" (listings). Returns 0
 * or UFS_EPROTO; *OUT is written only on success. */
int ufs_s3_parse_iso8601(const char *s, int64_t *out)
{
    size_t n = strnlen(s, 40), i = 19;

    /* YYYY-MM-DDTHH:MM:SS[.fff]Z */
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return UFS_EPROTO;
    if (s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i + 1 != n || s[i] != 'Z')
        return UFS_EPROTO;
    return civil(num(s, 4), num(s + 5, 2), num(s + 8, 2), num(s + 11, 2), num(s + 14, 2),
                 num(s + 17, 2), out);
}

/* ufs_s3_parse_http_date: the IMF-fixdate of Last-Modified. Returns 0 or
 * UFS_EPROTO; *OUT is written only on success. */
int ufs_s3_parse_http_date(const char *s, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t n = strnlen(s, 40);
    int mo;

    /* "Wed, 12 Oct 2009 17:50:30 GMT" */
    if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return UFS_EPROTO;
    for (mo = 0; mo < 12; mo++)
        if (memcmp(s + 8, months + 3 * mo, 3) == 0)
            break;
    if (mo == 12)
        return UFS_EPROTO;
    return civil(num(s + 12, 4), mo + 1, num(s + 5, 2), num(s + 17, 2), num(s + 20, 2),
                 num(s + 23, 2), out);
}
