/* tests/fuzz/fuzz_auth.c: libFuzzer target for the gateway's SigV4
 * authentication: daemon/gateway/gw_auth.c (the Authorization header's fields,
 * parse_credential, auth_field, the presigned X-Amz-* query form, the time
 * checks, the expected signature) over ufs/sigv4.c's canonical request,
 * query, headers and date parser, behind daemon/gateway/gw.c's request target
 * parsing (path and query decoding) and daemon/http/http.c: each request goes
 * through a real connection (tests/fuzz/http_pair.h) to gw_on_request, on a
 * node with two tenants and no mount (so an authenticated request ends in
 * 404 NoSuchBucket, the bucket list or 405). gw_auth.c is #included to
 * wrap gw_authenticate (recording its answer) and to run it on a fixed
 * clock (time() there is FUZZ_NOW, 2024-05-01T12:00:00Z), so inputs replay
 * the same on any day.
 *
 * Input: byte 0 picks the mode.
 *   even: the rest is raw bytes of one connection (requests, pipelined)
 *   odd:  a request the target builds and signs as an SDK does
 *         (ufs_sigv4_sign with the tenant's secret), then maybe tampers with:
 *     byte 1  bit 0 presigned (query) form, else the Authorization header;
 *             bits 1-3 x-amz-content-sha256: UNSIGNED-PAYLOAD, the empty
 *             hash, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER),
 *             STREAMING-UNSIGNED-PAYLOAD-TRAILER, a hash, an ECDSA mode;
 *             bit 4 the second tenant; bits 5-7 the method
 *     byte 2  the tampering: 1 a signature digit, 2 a signed header's value,
 *             3 the path, 4 a query parameter added, 5 the host header
 *             dropped, 6 the method, 7 an unknown access key, 8 another
 *             service, 9 a credential date not the request's; else none
 *     byte 3  the request's time: FUZZ_NOW + (int8) byte 3 minutes
 *     byte 4-6  X-Amz-Expires (presigned), little-endian
 *     then lines: the path (decoded; '/' added in front), the region, then
 *     "?name=value" query parameters and "name:value" headers (sanitized
 *     to what HTTP carries)
 *   Invariants (abort() when broken): an untampered request is accepted
 *   exactly when its time is within 15 minutes (header form) or its
 *   X-Amz-Expires is 1..604800 s, not passed, and its X-Amz-Date not more
 *   than 15 minutes ahead (presigned), else refused
 *   with RequestTimeTooSkewed, AuthorizationQueryParametersError or
 *   AccessDenied; an ECDSA mode gets 501; every tampering is refused with
 *   its code (SignatureDoesNotMatch, InvalidAccessKeyId,
 *   AuthorizationHeaderMalformed) unless a time check refused it first;
 *   a SignedHeaders list over the gateway's ceiling (2047 bytes) is refused
 *   as malformed.
 * Both modes: an accepted request has the tenant whose key it named, and
 * for signed streaming the chunk key, date, scope and seed signature the
 * decoder needs (the seed is the signature sent); the response to a
 * refused one is a 400, 403 or 501 S3 error with an authentication code,
 * to an accepted one 200, 404 or 405.
 *
 * fuzz-args: -max_len=16384 -timeout=10
 * The seed corpus is tests/fuzz/corpus/auth/; test_fuzz_auth replays it.
 * FUZZ_DUMP=FILE writes a built request's bytes to FILE (to make raw seeds). */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "tests/fuzz/http_pair.h"
#include "ufs/sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZ_NOW 1714564800 /* 2024-05-01T12:00:00Z */

static time_t fuzz_time(time_t *t)
{
    if (t)
        *t = FUZZ_NOW;
    return FUZZ_NOW;
}

int gw_authenticate_real(struct gw_req *g);
#define time(t) fuzz_time(t)
#define gw_authenticate gw_authenticate_real
#include "daemon/gateway/gw_auth.c"
#undef gw_authenticate
#undef time

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQS_MAX 1024
#define PAIRS_MAX 40

static const char *const secrets[] = {"fuzz-secret-one", "fuzz-secret-two"};
static const char *const access_keys[] = {"AKIDFUZZONE", "AKIDFUZZTWO"};

static struct shd_config cfg;
static struct shd_ctx ctx;
static struct shd_loop loop;

#define NOT_AUTHENTICATED 1 /* rc of a request refused before authentication (a bad URI) */

/* What each request was (in order: each gets its answer before the next is
 * read) and what gw_authenticate answered, and what a built one must get. */
static struct {
    int n, cur;
    int rc[REQS_MAX];
    int head[REQS_MAX];
    /* built requests */
    int built, want_tenant;
    char sig[UFS_SIGV4_HEX_LEN + 1], date[UFS_SIGV4_DATE_LEN + 1], scope[160];
    unsigned char key[UFS_SIGV4_KEY_LEN];
} seen;

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_auth: broken invariant: %s [%s]\n", what, detail ? detail : "");
    abort();
}

/* The wrapper: the real gw_authenticate, and what an acceptance implies. */
int gw_authenticate(struct gw_req *g)
{
    int rc = gw_authenticate_real(g);
    if (seen.cur < REQS_MAX)
        seen.rc[seen.cur] = rc;
    if (rc != 0)
        return rc; /* g is gone: the error was sent */
    if (!g->tenant || g->tenant < tenants || g->tenant >= tenants + ntenants)
        broken("accepted without a tenant", NULL);
    if (g->payload_sha256[0] && strlen(g->payload_sha256) != UFS_SIGV4_HEX_LEN)
        broken("a payload hash that is not 64 characters", g->payload_sha256);
    if (g->streaming == 1 &&
        (strlen(g->seed_sig) != UFS_SIGV4_HEX_LEN || strlen(g->chunk_date) != UFS_SIGV4_DATE_LEN ||
         !strstr(g->chunk_scope, "/aws4_request")))
        broken("signed streaming without its chunk signing state", g->chunk_scope);
    if (seen.built) {
        if (g->tenant != &tenants[seen.want_tenant])
            broken("accepted as another tenant", g->tenant->cfg->name);
        if (g->streaming == 1 &&
            (strcmp(g->seed_sig, seen.sig) != 0 || strcmp(g->chunk_date, seen.date) != 0 ||
             strcmp(g->chunk_scope, seen.scope) != 0 ||
             memcmp(g->chunk_key, seen.key, sizeof(seen.key)) != 0))
            broken("the chunk signing state is not the request's", g->chunk_scope);
    }
    return 0;
}

/* The connection's handler: the gateway's, with the request counted. */
static void on_request(struct http_req *r, void *arg)
{
    seen.cur = seen.n++;
    if (seen.cur < REQS_MAX) {
        seen.rc[seen.cur] = NOT_AUTHENTICATED;
        seen.head[seen.cur] = strcmp(http_req_method(r), "HEAD") == 0;
    }
    gw_on_request(r, arg);
}

static void setup(void)
{
    static struct shd_tenant t[2];
    static struct shd_grant all = {"*", "", SHD_ACCESS_READWRITE};
    if (cfg.n_tenants)
        return;
    for (int i = 0; i < 2; i++) {
        t[i].name = (char *)(i ? "two" : "one");
        t[i].access_key = (char *)access_keys[i];
        t[i].secret_src = SHD_SECRET_VALUE;
        t[i].secret_key = (char *)secrets[i];
        t[i].allow = &all;
        t[i].n_allow = 1;
    }
    cfg.tenants = t;
    cfg.n_tenants = 2;
    ctx.cfg = &cfg;
    ctx.star = -1;
    ctx.block_size = 1 << 20;
    ctx.nloops = 1;
    shd_log_set_level(SHD_LOG_ERROR);
    if (gw_auth_init(&ctx) != 0)
        broken("gw_auth_init", NULL);
    pair_init(on_request, &loop);
    loop.ctx = &ctx;
    loop.base = pair_base;
}

/* ---- the responses ------------------------------------------------------------ */

struct resp {
    int n, status[REQS_MAX], idx;
    char code[REQS_MAX][48];
    struct pair_buf body;
};

static int r_headers(http_parser *hp)
{
    struct resp *r = hp->data;
    r->body.len = 0;
    if (r->body.p)
        r->body.p[0] = '\0';
    if (r->n < REQS_MAX)
        r->status[r->n] = hp->status_code;
    /* no body to a HEAD request; the server's 400 for a malformed head
     * (after the requests) has one */
    return r->n < REQS_MAX && r->n < seen.n && seen.head[r->n];
}

static int r_body(http_parser *hp, const char *at, size_t len)
{
    struct resp *r = hp->data;
    pair_buf_add(&r->body, at, len);
    return 0;
}

static int r_done(http_parser *hp)
{
    struct resp *r = hp->data;
    if (r->n < REQS_MAX) {
        const char *c = r->body.p ? strstr(r->body.p, "<Code>") : NULL, *e;
        r->code[r->n][0] = '\0';
        if (c && (e = strstr(c, "</Code>")) && e - c - 6 < 47)
            snprintf(r->code[r->n], sizeof(r->code[0]), "%.*s", (int)(e - c - 6), c + 6);
    }
    r->n++;
    return 0;
}

static const char *const auth_codes[] = {
    "InvalidRequest",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "AccessDenied",
    "InvalidAccessKeyId",
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
    "NotImplemented",
};

/* run: sends IN, checks every response against what the wrapper saw;
 * fills R. */
static void run(const uint8_t *in, size_t len, struct resp *r)
{
    static const http_parser_settings s = {
        .on_headers_complete = r_headers, .on_body = r_body, .on_message_complete = r_done};
    struct pair_buf out = {0};
    http_parser hp;

    memset(r, 0, sizeof(*r));
    pair_buf_add(&r->body, "", 0);
    if (pair_run(in, len, NULL, 0, &out) != 0)
        broken("the connection did not settle or stayed open", NULL);
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = r;
    if (http_parser_execute(&hp, &s, out.p ? out.p : "", out.len) != out.len)
        broken("the gateway's output is not HTTP responses", out.p);
    if (getenv("FUZZ_VERBOSE")) /* what a seed does */
        for (int i = 0; i < r->n && i < REQS_MAX; i++)
            fprintf(stderr, "response %d: %d %s (authentication: %s)\n", i, r->status[i],
                    r->code[i],
                    i >= seen.n                       ? "-"
                    : seen.rc[i] == NOT_AUTHENTICATED ? "not reached"
                    : seen.rc[i] == 0                 ? "accepted"
                                                      : "refused");
    /* one response per request, then maybe the server's 400 */
    if (r->n != seen.n && !(r->n == seen.n + 1 && r->status[seen.n % REQS_MAX] == 400))
        broken("not one response per request", out.p);
    for (int i = 0; i < seen.n && i < REQS_MAX; i++) {
        int st = r->status[i], known = 0;
        if (seen.rc[i] == NOT_AUTHENTICATED)
            continue;
        if (seen.rc[i] == 0 && st != 200 && st != 404 && st != 405)
            broken("an authenticated request got neither 200, 404 nor 405", r->code[i]);
        if (seen.rc[i] != 0 && st != 400 && st != 403 && st != 501)
            broken("a refused request got neither 400, 403 nor 501", r->code[i]);
        if (seen.rc[i] != 0 && !seen.head[i]) {
            for (size_t k = 0; k < sizeof(auth_codes) / sizeof(auth_codes[0]); k++)
                known |= strcmp(r->code[i], auth_codes[k]) == 0;
            if (!known)
                broken("a refusal with a code authentication does not send", r->code[i]);
        }
    }
    pair_buf_free(&out);
    pair_buf_free(&r->body);
}

/* ---- building a signed request ---------------------------------------------------- */

struct pairs {
    struct ufs_sigv4_pair p[PAIRS_MAX + 8];
    char *own[2 * (2 + 2 * PAIRS_MAX) + 8]; /* two per line read, and a few more */
    size_t n, nown;
};

static char *keep(struct pairs *ps, char *s)
{
    if (ps->nown == sizeof(ps->own) / sizeof(ps->own[0]))
        abort();
    ps->own[ps->nown++] = s;
    return s;
}

static void pairs_free(struct pairs *ps)
{
    for (size_t i = 0; i < ps->nown; i++)
        free(ps->own[i]);
    ps->n = ps->nown = 0;
}

/* A header name as HTTP carries it: lower-case letters, digits and '-'. */
static char *header_name(const char *s, size_t n)
{
    char *out = shd_xmalloc(n + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
            *p++ = c;
    }
    *p = '\0';
    return out;
}

/* A header value as HTTP carries it: printable ASCII, no blanks at the ends. */
static char *header_value(const char *s, size_t n)
{
    char *out = shd_xmalloc(n + 1), *p = out;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x20 && s[i] < 0x7f)
            *p++ = s[i];
    while (p > out && p[-1] == ' ')
        p--;
    *p = '\0';
    p = out;
    while (*p == ' ')
        p++;
    memmove(out, p, strlen(p) + 1);
    return out;
}

static int reserved_header(const char *n)
{
    static const char *const r[] = {"host",
                                    "x-amz-date",
                                    "x-amz-content-sha256",
                                    "authorization",
                                    "content-length",
                                    "transfer-encoding",
                                    "expect",
                                    "connection",
                                    "upgrade",
                                    "x-amz-copy-source"};
    if (!*n || strncmp(n, "transfer-encoding", 17) == 0) /* a prefix is one too (http.c) */
        return 1;
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (strcmp(n, r[i]) == 0)
            return 1;
    return 0;
}

static void sb_enc(struct pair_buf *b, const char *s, int keep_slash)
{
    char *e = ufs_sigv4_uri_encode(s, strlen(s), keep_slash);
    if (!e)
        broken("ufs_sigv4_uri_encode", NULL);
    pair_buf_add(b, e, strlen(e));
    free(e);
}

static int built(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET",  "PUT", "DELETE", "POST",
                                          "HEAD", "GET", "PUT",    "GET"};
    static const char *const payloads[] = {
        UFS_SIGV4_UNSIGNED_PAYLOAD,
        UFS_SIGV4_EMPTY_SHA256,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "STREAMING-ECDSA-P256-SHA256-PAYLOAD",
        UFS_SIGV4_UNSIGNED_PAYLOAD};
    int presigned, tenant, tamper, ecdsa;
    const char *method, *payload, *ak, *service = "s3";
    int64_t when;
    uint32_t expires;
    char amz_date[UFS_SIGV4_DATE_LEN + 1], cred_date[UFS_SIGV4_DATE_LEN + 1], region[64];
    char sig[UFS_SIGV4_HEX_LEN + 1], *ch = NULL, *sh = NULL, *path;
    unsigned char key[UFS_SIGV4_KEY_LEN];
    struct pairs q = {0}, h = {0};
    struct pair_buf wire = {0}, target = {0};
    const char *p, *end = (const char *)data + size;
    size_t nlines = 0, user_headers = 0;
    struct resp r;

    if (size < 7)
        return 0;
    presigned = data[1] & 1;
    payload = payloads[(data[1] >> 1) & 7];
    ecdsa = strncmp(payload, "STREAMING-ECDSA", 15) == 0;
    tenant = (data[1] >> 4) & 1;
    method = methods[data[1] >> 5];
    tamper = data[2] <= 9 ? data[2] : 0;
    when = FUZZ_NOW + (int8_t)data[3] * 60;
    expires = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16;
    ak = tamper == 7 ? "AKIDUNKNOWN" : access_keys[tenant];
    if (tamper == 8)
        service = "s4";
    if (ufs_sigv4_amz_date(when, amz_date) != 0)
        broken("ufs_sigv4_amz_date", NULL);
    memcpy(cred_date, amz_date, sizeof(cred_date));
    if (tamper == 9)
        cred_date[7] = cred_date[7] == '1' ? '2' : '1';
    snprintf(region, sizeof(region), "us-east-1");
    path = NULL;

    /* the lines: path, region, then query parameters and headers */
    for (p = (const char *)data + 7; p <= end && nlines < 2 + 2 * PAIRS_MAX; nlines++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t n;
        if (!e)
            e = end;
        n = (size_t)(e - p);
        if (nlines == 0) {
            char *v = header_value(p, n > 1000 ? 1000 : n); /* the key within GW_KEY_MAX */
            path = shd_xasprintf("/%s", v[0] == '/' ? v + 1 : v);
            free(v);
        } else if (nlines == 1) {
            size_t k = 0;
            for (size_t i = 0; i < n && k < sizeof(region) - 1; i++)
                if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-')
                    region[k++] = p[i];
            if (k)
                region[k] = '\0';
        } else if (n && *p == '?' && q.n < PAIRS_MAX) {
            const char *eq = memchr(p + 1, '=', n - 1);
            size_t nl = eq ? (size_t)(eq - p - 1) : n - 1;
            char *name = keep(&q, shd_xstrndup(p + 1, nl));
            char *value = keep(&q, shd_xstrndup(eq ? eq + 1 : "", eq ? (size_t)(e - eq - 1) : 0));
            if (strlen(name) != nl || strncmp(name, "X-Amz-", 6) == 0)
                continue; /* a NUL, or a name of the presigned form */
            q.p[q.n].name = name;
            q.p[q.n].value = value;
            q.n++;
        } else if (n && *p != '?' && h.n < PAIRS_MAX) {
            const char *colon = memchr(p, ':', n);
            char *name = keep(&h, header_name(p, colon ? (size_t)(colon - p) : n));
            char *value =
                keep(&h, header_value(colon ? colon + 1 : "", colon ? (size_t)(e - colon - 1) : 0));
            if (reserved_header(name))
                continue;
            h.p[h.n].name = name;
            h.p[h.n].value = value;
            h.n++;
            user_headers++;
        }
        p = e + 1;
    }
    if (!path)
        path = shd_xstrdup("/");
    h.p[h.n].name = "host";
    h.p[h.n++].value = "fuzz.example";
    if (!presigned) {
        h.p[h.n].name = "x-amz-date";
        h.p[h.n++].value = amz_date;
        h.p[h.n].name = "x-amz-content-sha256";
        h.p[h.n++].value = payload;
    }
    if (ufs_sigv4_canonical_headers(h.p, h.n, &ch, &sh) != 0)
        broken("ufs_sigv4_canonical_headers", NULL);

    /* the signing */
    seen.want_tenant = tenant;
    if (ufs_sigv4_signing_key(secrets[tenant], cred_date, region, service, key) != 0)
        broken("ufs_sigv4_signing_key", NULL);
    memcpy(seen.key, key, sizeof(key));
    memcpy(seen.date, amz_date, sizeof(seen.date));
    snprintf(seen.scope, sizeof(seen.scope), "%.8s/%s/%s/aws4_request", cred_date, region, service);
    if (presigned) {
        char cred[256], exp[16];
        snprintf(cred, sizeof(cred), "%s/%s", ak, seen.scope);
        snprintf(exp, sizeof(exp), "%u", expires);
        q.p[q.n].name = "X-Amz-Algorithm";
        q.p[q.n++].value = UFS_SIGV4_ALGORITHM;
        q.p[q.n].name = "X-Amz-Credential";
        q.p[q.n++].value = keep(&q, shd_xstrdup(cred));
        q.p[q.n].name = "X-Amz-Date";
        q.p[q.n++].value = amz_date;
        q.p[q.n].name = "X-Amz-Expires";
        q.p[q.n++].value = keep(&q, shd_xstrdup(exp));
        q.p[q.n].name = "X-Amz-SignedHeaders";
        q.p[q.n++].value = sh;
        payload = UFS_SIGV4_UNSIGNED_PAYLOAD;
        ecdsa = 0;
    }
    {
        char *uri = ufs_sigv4_uri_encode(path, strlen(path), 1);
        struct ufs_sigv4_request req = {method, uri,     q.p,      q.n,    h.p,
                                        h.n,    payload, amz_date, region, service};
        if (!uri || ufs_sigv4_sign(&req, ak, key, sig, NULL) != 0)
            broken("ufs_sigv4_sign", NULL);
        free(uri);
    }
    memcpy(seen.sig, sig, sizeof(sig));
    if (tamper == 1)
        sig[5] = sig[5] == '0' ? '1' : '0';

    /* the wire */
    if (tamper == 6) /* another method, not HEAD (its answer has no code to check) */
        method = strcmp(method, "PUT") == 0 ? "DELETE" : "PUT";
    sb_enc(&target, path, 1);
    if (tamper == 3)
        pair_buf_add(&target, "x", 1);
    for (size_t i = 0; i < q.n; i++) {
        pair_buf_add(&target, i ? "&" : "?", 1);
        sb_enc(&target, q.p[i].name, 0);
        pair_buf_add(&target, "=", 1);
        sb_enc(&target, q.p[i].value, 0);
    }
    if (presigned) {
        pair_buf_printf(&target, "%sX-Amz-Signature=%s", q.n ? "&" : "?", sig);
    }
    if (tamper == 4)
        pair_buf_printf(&target, "%sadded=1", q.n || presigned ? "&" : "?");
    pair_buf_printf(&wire, "%s ", method);
    pair_buf_add(&wire, target.p, target.len);
    pair_buf_printf(&wire, " HTTP/1.1\r\n");
    for (size_t i = 0; i < h.n; i++) {
        if (tamper == 5 && strcmp(h.p[i].name, "host") == 0)
            continue;
        pair_buf_printf(&wire, "%s: ", h.p[i].name);
        pair_buf_add(&wire, h.p[i].value, strlen(h.p[i].value));
        if (tamper == 2 && i == 0)
            pair_buf_add(&wire, "x", 1);
        pair_buf_add(&wire, "\r\n", 2);
    }
    if (!presigned)
        pair_buf_printf(&wire,
                        "authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                        "Signature=%s\r\n",
                        ak, seen.scope, sh, sig);
    pair_buf_add(&wire, "content-length: 0\r\n\r\n", 21);
    if (getenv("FUZZ_DUMP")) {
        FILE *f = fopen(getenv("FUZZ_DUMP"), "wb");
        if (f) {
            fputc(0, f); /* the raw mode */
            fwrite(wire.p, 1, wire.len, f);
            fclose(f);
        }
    }

    /* what must happen */
    seen.built = 1;
    run((const uint8_t *)wire.p, wire.len, &r);
    {
        int late = presigned ? (expires < 1 || expires > GW_PRESIGN_MAX_S) : 0;
        const char *want = NULL;
        if (strlen(sh) >= sizeof(((struct sig *)0)->signed_headers)) /* the gateway's ceiling */
            want = presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed";
        else if (tamper == 8 || tamper == 9)
            want = "AuthorizationHeaderMalformed";
        else if (tamper == 7)
            want = "InvalidAccessKeyId";
        else if (ecdsa)
            want = "NotImplemented";
        else if (presigned && late)
            want = "AuthorizationQueryParametersError";
        else if (presigned && FUZZ_NOW > when + (int64_t)expires)
            want = "AccessDenied";
        else if (presigned && when > FUZZ_NOW + GW_SKEW_MAX_S)
            want = "AccessDenied"; /* not valid yet */
        else if (!presigned && (when > FUZZ_NOW + GW_SKEW_MAX_S || when < FUZZ_NOW - GW_SKEW_MAX_S))
            want = "RequestTimeTooSkewed";
        else if (tamper >= 1 && tamper <= 6)
            want = "SignatureDoesNotMatch";
        if (ecdsa && (tamper == 8 || tamper == 9 || tamper == 7))
            want = "NotImplemented"; /* the payload mode is looked at first */
        if (ecdsa && strlen(sh) >= sizeof(((struct sig *)0)->signed_headers))
            want = "AuthorizationHeaderMalformed"; /* but after the fields */
        if (seen.n != 1 || r.n != 1) {
            fprintf(stderr, "%.*s\n", (int)wire.len, wire.p);
            broken("a built request did not reach authentication once", target.p);
        }
        if ((seen.rc[0] == 0) != (want == NULL) ||
            (want && !seen.head[0] && strcmp(r.code[0], want) != 0)) {
            fprintf(stderr, "%.*s\nwanted %s, got %d %s\n", (int)wire.len, wire.p,
                    want ? want : "acceptance", r.status[0], r.code[0]);
            broken("a built request was not answered as it must", target.p);
        }
    }
    (void)user_headers;
    free(ch);
    free(sh);
    free(path);
    pairs_free(&q);
    pairs_free(&h);
    pair_buf_free(&wire);
    pair_buf_free(&target);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct resp r;

    if (size < 1)
        return 0;
    setup();
    memset(&seen, 0, sizeof(seen));
    if (data[0] & 1)
        return built(data, size);
    run(data + 1, size - 1, &r);
    return 0;
}
