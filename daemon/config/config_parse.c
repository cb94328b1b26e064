/* daemon/config/config_parse.c: parsers and checks for config values: sizes,
 * durations, integers, booleans, addresses, ufs URIs, URLs, bucket and
 * variable names, plus the helpers that quote values safely in messages.
 *
 * They read untrusted text: no allocation except the strings they return,
 * every number checked for overflow, every length bounded. On failure they
 * return SHD_ERR_INVAL and write a reason that names the offending text. */
#include "daemon/config/config_int.h"
#include "daemon/err.h"
#include "daemon/xalloc.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Up to this many digits after the decimal point in sizes and durations. */
#define CFG_FRAC_DIGITS_MAX 12

static void cfg_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_why(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (!why || why_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static int cfg_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int cfg_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char cfg_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

char *shd_cfg_show(const char *s, size_t len, char *buf, size_t len_buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;
    size_t n = len > SHD_CFG_SHOW_MAX ? SHD_CFG_SHOW_MAX : len;

    if (len_buf == 0)
        return buf;
    for (i = 0; i < n && o + 5 < len_buf; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            if (c == '"' || c == '\\') {
                buf[o++] = '\\';
                buf[o++] = (char)c;
            } else {
                buf[o++] = '\\';
                buf[o++] = 'x';
                buf[o++] = hex[c >> 4];
                buf[o++] = hex[c & 15];
            }
        } else {
            buf[o++] = (char)c;
        }
    }
    if (n < len && o + 4 <= len_buf) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o < len_buf ? o : len_buf - 1] = '\0';
    return buf;
}

unsigned shd_cfg_edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned row[33];
    size_t i, j;

    if (alen > 32 || blen > 32)
        return 1000;
    for (j = 0; j <= blen; j++)
        row[j] = (unsigned)j;
    for (i = 1; i <= alen; i++) {
        unsigned diag = row[0];

        row[0] = (unsigned)i;
        for (j = 1; j <= blen; j++) {
            unsigned up = row[j];
            unsigned best = diag + (cfg_lower(a[i - 1]) != cfg_lower(b[j - 1]));

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[blen];
}

/* ---- numbers with units ------------------------------------------------- */

struct cfg_unit {
    const char *name;
    uint64_t mult;
};

static const struct cfg_unit cfg_size_units[] = {
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"KB", 1000ULL},
    {"MB", 1000ULL * 1000},
    {"GB", 1000ULL * 1000 * 1000},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
};

static const struct cfg_unit cfg_duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24ULL * 3600 * 1000},
};

static uint64_t cfg_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;

        a = b;
        b = t;
    }
    return a;
}

/* A number "123" or "1.25" split into its integer part and its fraction
 * FRAC / 10^FRAC_DIGITS, and the rest of S after optional spaces. */
struct cfg_number {
    uint64_t ip;
    uint64_t frac;
    unsigned frac_digits;
    const char *unit;
};

/* cfg_number_scan: read the number at the start of S. WHAT names the kind
 * of value in messages ("size"). Returns 0 or SHD_ERR_INVAL. */
static int cfg_number_scan(const char *s, const char *what, struct cfg_number *n, char *why,
                           size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    const char *p = s;

    memset(n, 0, sizeof(*n));
    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (*p == '-' && (cfg_is_digit(p[1]) || p[1] == '.')) {
        cfg_why(why, why_len, "invalid %s \"%s\": negative values are not allowed", what, show);
        return SHD_ERR_INVAL;
    }
    if (!cfg_is_digit(*p)) {
        cfg_why(why, why_len, "invalid %s \"%s\": expected a number", what, show);
        return SHD_ERR_INVAL;
    }
    for (; cfg_is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (n->ip > (UINT64_MAX - d) / 10) {
            cfg_why(why, why_len, "invalid %s \"%s\": too large", what, show);
            return SHD_ERR_INVAL;
        }
        n->ip = n->ip * 10 + d;
    }
    if (*p == '.') {
        p++;
        if (!cfg_is_digit(*p)) {
            cfg_why(why, why_len, "invalid %s \"%s\": expected digits after '.'", what, show);
            return SHD_ERR_INVAL;
        }
        for (; cfg_is_digit(*p); p++) {
            if (n->frac_digits == CFG_FRAC_DIGITS_MAX) {
                cfg_why(why, why_len, "invalid %s \"%s\": more than %d digits after '.'", what,
                        show, CFG_FRAC_DIGITS_MAX);
                return SHD_ERR_INVAL;
            }
            n->frac = n->frac * 10 + (uint64_t)(*p - '0');
            n->frac_digits++;
        }
    }
    while (*p == ' ')
        p++;
    n->unit = p;
    return 0;
}

/* cfg_number_scale: N times MULT, exactly. Returns 0, or SHD_ERR_INVAL with
 * a reason when the product overflows or is not a whole number of BASE. */
static int cfg_number_scale(const struct cfg_number *n, uint64_t mult, const char *s,
                            const char *what, const char *base, uint64_t *out, char *why,
                            size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    uint64_t v, den = 1, g, f;
    unsigned i;

    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (n->ip > UINT64_MAX / mult)
        goto too_large;
    v = n->ip * mult;
    if (n->frac) {
        for (i = 0; i < n->frac_digits; i++)
            den *= 10;
        g = cfg_gcd(mult, den);
        /* n->frac / den * mult is whole iff (den / g) divides n->frac */
        if (n->frac % (den / g) != 0) {
            cfg_why(why, why_len, "invalid %s \"%s\": not a whole number of %s", what, show, base);
            return SHD_ERR_INVAL;
        }
        f = n->frac / (den / g);
        if (f > UINT64_MAX / (mult / g) || v > UINT64_MAX - f * (mult / g))
            goto too_large;
        v += f * (mult / g);
    }
    *out = v;
    return 0;
too_large:
    cfg_why(why, why_len, "invalid %s \"%s\": too large", what, show);
    return SHD_ERR_INVAL;
}

int shd_parse_size(const char *s, uint64_t *out, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF], ushow[SHD_CFG_SHOW_BUF];
    struct cfg_number n;
    size_t i, j, ulen;
    uint64_t mult = 0;
    int rc;

    rc = cfg_number_scan(s, "size", &n, why, why_len);
    if (rc)
        return rc;
    ulen = strlen(n.unit);
    if (ulen == 0 && n.unit > s && n.unit[-1] == ' ') {
        cfg_why(why, why_len, "invalid size \"%s\": expected a unit after the space",
                shd_cfg_show(s, strlen(s), show, sizeof(show)));
        return SHD_ERR_INVAL;
    }
    if (ulen == 0)
        mult = 1;
    for (i = 0; ulen && i < sizeof(cfg_size_units) / sizeof(cfg_size_units[0]); i++) {
        const char *u = cfg_size_units[i].name;

        if (strlen(u) != ulen)
            continue;
        for (j = 0; j < ulen && cfg_lower(u[j]) == cfg_lower(n.unit[j]); j++)
            ;
        if (j == ulen) {
            mult = cfg_size_units[i].mult;
            break;
        }
    }
    if (!mult) {
        cfg_why(why, why_len,
                "invalid size \"%s\": unknown unit \"%s\" (use B, KiB, MiB, GiB, TiB, KB, MB, GB "
                "or TB)",
                shd_cfg_show(s, strlen(s), show, sizeof(show)),
                shd_cfg_show(n.unit, ulen, ushow, sizeof(ushow)));
        return SHD_ERR_INVAL;
    }
    return cfg_number_scale(&n, mult, s, "size", "bytes", out, why, why_len);
}

int shd_parse_duration(const char *s, uint64_t *out_ms, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF], ushow[SHD_CFG_SHOW_BUF];
    struct cfg_number n;
    size_t i, ulen;
    uint64_t mult = 0;
    int rc;

    rc = cfg_number_scan(s, "duration", &n, why, why_len);
    if (rc)
        return rc;
    shd_cfg_show(s, strlen(s), show, sizeof(show));
    ulen = strlen(n.unit);
    if (ulen == 0) {
        cfg_why(why, why_len, "invalid duration \"%s\": missing unit (ms, s, m, h or d, e.g. 90s)",
                show);
        return SHD_ERR_INVAL;
    }
    for (i = 0; i < sizeof(cfg_duration_units) / sizeof(cfg_duration_units[0]); i++) {
        if (strcmp(n.unit, cfg_duration_units[i].name) == 0) {
            mult = cfg_duration_units[i].mult;
            break;
        }
    }
    if (!mult) {
        cfg_why(why, why_len, "invalid duration \"%s\": unknown unit \"%s\" (use ms, s, m, h or d)",
                show, shd_cfg_show(n.unit, ulen, ushow, sizeof(ushow)));
        return SHD_ERR_INVAL;
    }
    return cfg_number_scale(&n, mult, s, "duration", "milliseconds", out_ms, why, why_len);
}

/* cfg_format_units: VALUE in the largest unit of UNITS (ascending) that
 * divides it exactly; ZERO for 0. */
static char *cfg_format_units(uint64_t value, const struct cfg_unit *units, size_t n,
                              const char *zero, char *buf, size_t len)
{
    size_t i;

    if (value == 0) {
        snprintf(buf, len, "%s", zero);
        return buf;
    }
    for (i = n; i-- > 0;) {
        if (value % units[i].mult == 0) {
            snprintf(buf, len, "%llu%s", (unsigned long long)(value / units[i].mult),
                     units[i].name);
            return buf;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)value);
    return buf;
}

char *shd_format_size(uint64_t bytes, char *buf, size_t len)
{
    /* binary units only: B, KiB, MiB, GiB, TiB */
    return cfg_format_units(bytes, cfg_size_units, 5, "0", buf, len);
}

char *shd_format_duration(uint64_t ms, char *buf, size_t len)
{
    return cfg_format_units(ms, cfg_duration_units,
                            sizeof(cfg_duration_units) / sizeof(cfg_duration_units[0]), "0s", buf,
                            len);
}

/* ---- integers and booleans --------------------------------------------- */

int shd_cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
                       size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    const char *p = s;
    uint64_t v = 0;
    int neg = 0, over = 0;

    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (!cfg_is_digit(*p)) {
        cfg_why(why, why_len, "expected a whole number, got \"%s\"", show);
        return SHD_ERR_INVAL;
    }
    for (; cfg_is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    if (*p) {
        cfg_why(why, why_len, "expected a whole number, got \"%s\"", show);
        return SHD_ERR_INVAL;
    }
    if (over || (neg && v) || v < min || v > max) {
        cfg_why(why, why_len, "%s is out of range (%llu..%llu)", show, (unsigned long long)min,
                (unsigned long long)max);
        return SHD_ERR_INVAL;
    }
    *out = v;
    return 0;
}

int shd_cfg_parse_bool(const char *s, bool *out, char *why, size_t why_len)
{
    static const char *const yes[] = {"true", "yes"}, *const no[] = {"false", "no"};
    char show[SHD_CFG_SHOW_BUF];
    size_t i;

    for (i = 0; i < 2; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    cfg_why(why, why_len, "expected true or false (or yes, no), got \"%s\"",
            shd_cfg_show(s, strlen(s), show, sizeof(show)));
    return SHD_ERR_INVAL;
}

/* ---- names --------------------------------------------------------------- */

/* cfg_first_bad: index of the first byte of S outside [A-Za-z0-9] and
 * EXTRA, or -1. */
static long cfg_first_bad(const char *s, const char *extra)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!cfg_is_alpha(s[i]) && !cfg_is_digit(s[i]) && !strchr(extra, s[i]))
            return (long)i;
    }
    return -1;
}

int shd_cfg_check_name(const char *s, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF], cshow[SHD_CFG_SHOW_BUF];
    long bad = cfg_first_bad(s, "._-");

    if (bad >= 0) {
        cfg_why(why, why_len,
                "invalid name \"%s\": character '%s' is not allowed (use letters, digits, '.', "
                "'_' and '-')",
                shd_cfg_show(s, strlen(s), show, sizeof(show)),
                shd_cfg_show(s + bad, 1, cshow, sizeof(cshow)));
        return SHD_ERR_INVAL;
    }
    return 0;
}

int shd_cfg_check_envvar(const char *s, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];

    if (cfg_first_bad(s, "_") >= 0 || cfg_is_digit(s[0])) {
        cfg_why(why, why_len,
                "\"%s\" is not an environment variable name (letters, digits and '_', not "
                "starting with a digit)",
                shd_cfg_show(s, strlen(s), show, sizeof(show)));
        return SHD_ERR_INVAL;
    }
    return 0;
}

int shd_cfg_check_bucket(const char *s, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    size_t len = strlen(s);
    struct in_addr a4;
    const char *reason = NULL;

    shd_cfg_show(s, len, show, sizeof(show));
    if (len < 3 || len > 63)
        reason = "it must have 3 to 63 characters";
    else if (cfg_first_bad(s, ".-") >= 0 || strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        reason = "use lowercase letters, digits, '-' and '.'";
    else if (!cfg_is_alpha(s[0]) && !cfg_is_digit(s[0]))
        reason = "it must start with a letter or digit";
    else if (!cfg_is_alpha(s[len - 1]) && !cfg_is_digit(s[len - 1]))
        reason = "it must end with a letter or digit";
    else if (strstr(s, ".."))
        reason = "it must not contain two adjacent periods";
    else if (inet_pton(AF_INET, s, &a4) == 1)
        reason = "it must not look like an IP address";
    if (reason) {
        cfg_why(why, why_len, "invalid bucket name \"%s\": %s", show, reason);
        return SHD_ERR_INVAL;
    }
    return 0;
}

/* ---- addresses, URIs, URLs ---------------------------------------------- */

/* cfg_has_space: whether S holds a space, a control byte or a non-ASCII byte. */
static int cfg_has_space(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 1;
    }
    return 0;
}

/* cfg_parse_port: 1 to 5 digits, at most 65535, into *PORT. */
static int cfg_parse_port(const char *p, uint16_t *port)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; p[i]; i++) {
        if (!cfg_is_digit(p[i]) || i >= 5)
            return SHD_ERR_INVAL;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (i == 0 || v > 65535)
        return SHD_ERR_INVAL;
    *port = (uint16_t)v;
    return 0;
}

int shd_cfg_parse_addr(const char *s, int seed, struct shd_addr *out, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    char host[256];
    const char *colon, *port;
    struct in6_addr a6;
    size_t hlen;
    uint16_t pnum;

    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        hlen = end ? (size_t)(end - s - 1) : 0;
        if (!end || hlen == 0 || hlen >= sizeof(host)) {
            cfg_why(why, why_len, "invalid address \"%s\": expected [IPv6]:port", show);
            return SHD_ERR_INVAL;
        }
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            cfg_why(why, why_len, "invalid address \"%s\": not an IPv6 address in brackets", show);
            return SHD_ERR_INVAL;
        }
        if (end[1] != ':') {
            cfg_why(why, why_len, "invalid address \"%s\": missing port (use [IPv6]:port)", show);
            return SHD_ERR_INVAL;
        }
        port = end + 2;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            cfg_why(why, why_len,
                    "invalid address \"%s\": missing port (use host:port, [IPv6]:port or :port)",
                    show);
            return SHD_ERR_INVAL;
        }
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen)) {
            cfg_why(why, why_len,
                    "invalid address \"%s\": put an IPv6 address in brackets, e.g. [::1]:7400",
                    show);
            return SHD_ERR_INVAL;
        }
        if (hlen > 253) {
            cfg_why(why, why_len, "invalid address \"%s\": host name longer than 253 characters",
                    show);
            return SHD_ERR_INVAL;
        }
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (cfg_first_bad(host, ".-_") >= 0 || host[0] == '-' || host[0] == '.') {
            cfg_why(why, why_len, "invalid address \"%s\": invalid host name", show);
            return SHD_ERR_INVAL;
        }
        port = colon + 1;
    }
    if (cfg_parse_port(port, &pnum)) {
        cfg_why(why, why_len, "invalid address \"%s\": the port must be a number 0..65535", show);
        return SHD_ERR_INVAL;
    }
    if (seed && (!host[0] || pnum == 0)) {
        cfg_why(why, why_len, "invalid seed \"%s\": a seed needs a host and a non-zero port", show);
        return SHD_ERR_INVAL;
    }
    out->host = shd_xstrdup(host);
    out->port = pnum;
    return 0;
}

int shd_cfg_check_url(const char *s, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    const char *rest;

    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else {
        cfg_why(why, why_len, "invalid URL \"%s\": expected http://HOST[:PORT] or https://...",
                show);
        return SHD_ERR_INVAL;
    }
    if (!*rest || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#') {
        cfg_why(why, why_len, "invalid URL \"%s\": missing host", show);
        return SHD_ERR_INVAL;
    }
    if (cfg_has_space(s)) {
        cfg_why(why, why_len, "invalid URL \"%s\": spaces and control characters are not allowed",
                show);
        return SHD_ERR_INVAL;
    }
    return 0;
}

/* cfg_has_dotdot: whether PATH has a ".." component. */
static int cfg_has_dotdot(const char *path)
{
    const char *p = path;

    while ((p = strstr(p, "..")) != NULL) {
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return 1;
        p += 2;
    }
    return 0;
}

int shd_cfg_parse_ufs(const char *s, struct shd_ufs *out, char *why, size_t why_len)
{
    char show[SHD_CFG_SHOW_BUF];
    struct shd_ufs u;
    const char *rest, *slash;
    size_t len;

    memset(&u, 0, sizeof(u));
    shd_cfg_show(s, strlen(s), show, sizeof(show));
    if (cfg_has_space(s)) {
        cfg_why(why, why_len, "invalid ufs \"%s\": spaces and control characters are not allowed",
                show);
        return SHD_ERR_INVAL;
    }
    if (strncmp(s, "s3://", 5) == 0) {
        rest = s + 5;
        u.kind = SHD_UFS_S3;
        slash = strchr(rest, '/');
        len = slash ? (size_t)(slash - rest) : strlen(rest);
        if (len) {
            char bucket[64];
            char bwhy[SHD_CFG_WHY_MAX];

            if (len >= sizeof(bucket)) {
                cfg_why(why, why_len,
                        "invalid ufs \"%s\": invalid bucket name: it must have 3 to 63 characters",
                        show);
                return SHD_ERR_INVAL;
            }
            memcpy(bucket, rest, len);
            bucket[len] = '\0';
            if (shd_cfg_check_bucket(bucket, bwhy, sizeof(bwhy))) {
                cfg_why(why, why_len, "invalid ufs \"%s\": %s", show, bwhy);
                return SHD_ERR_INVAL;
            }
        } else if (slash) {
            cfg_why(why, why_len, "invalid ufs \"%s\": missing bucket (s3://BUCKET/PREFIX/)", show);
            return SHD_ERR_INVAL;
        }
        if (slash && slash[1] == '/') {
            cfg_why(why, why_len, "invalid ufs \"%s\": the prefix must not start with '/'", show);
            return SHD_ERR_INVAL;
        }
        u.bucket = len ? shd_xstrndup(rest, len) : NULL;
        if (slash && slash[1]) {
            size_t plen = strlen(slash + 1);

            u.prefix = shd_xasprintf("%s%s", slash + 1, slash[plen] == '/' ? "" : "/");
        } else {
            u.prefix = shd_xstrdup("");
        }
    } else if (strncmp(s, "file://", 7) == 0) {
        rest = s + 7;
        if (rest[0] != '/') {
            cfg_why(why, why_len,
                    "invalid ufs \"%s\": a file URI takes an absolute path and no host, e.g. "
                    "file:///srv/data",
                    show);
            return SHD_ERR_INVAL;
        }
        if (cfg_has_dotdot(rest)) {
            cfg_why(why, why_len, "invalid ufs \"%s\": the path must not contain \"..\"", show);
            return SHD_ERR_INVAL;
        }
        u.kind = SHD_UFS_FILE;
        len = strlen(rest);
        while (len > 1 && rest[len - 1] == '/')
            len--;
        u.path = shd_xstrndup(rest, len);
    } else {
        cfg_why(why, why_len,
                "invalid ufs \"%s\": expected s3://BUCKET/PREFIX/, s3://BUCKET or file:///DIR",
                show);
        return SHD_ERR_INVAL;
    }
    u.uri = shd_xstrdup(s);
    *out = u;
    return 0;
}
