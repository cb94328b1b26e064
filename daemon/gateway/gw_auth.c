/* daemon/gateway/gw_auth.c: SigV4 authentication of gateway requests (Authorization
 * header and presigned query forms) against the configured tenants, and the
 * tenants' permissions (mount, key prefix, read/write).
 *
 * The canonical request is rebuilt from what the request carries with the
 * same building blocks the S3 client signs with (ufs/sigv4.h). Signing keys
 * are cached per thread for the tenant's current date and region. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "ufs/sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GW_SKEW_MAX_S (15 * 60)
#define GW_PRESIGN_MAX_S (7 * 24 * 3600)

struct gw_tenant_rt {
    const struct shd_tenant *cfg;
    char *secret;
};

static struct gw_tenant_rt *tenants;
static size_t ntenants;

static char *read_secret_file(const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return n ? shd_xstrdup(buf) : NULL;
}

int gw_auth_init(struct shd_ctx *ctx)
{
    const struct shd_config *cfg = ctx->cfg;
    ntenants = cfg->n_tenants;
    tenants = shd_xcalloc(ntenants ? ntenants : 1, sizeof(*tenants));
    for (size_t i = 0; i < ntenants; i++) {
        const struct shd_tenant *t = &cfg->tenants[i];
        const char *v = NULL;
        tenants[i].cfg = t;
        switch (t->secret_src) {
        case SHD_SECRET_VALUE:
            v = t->secret_key;
            tenants[i].secret = v ? shd_xstrdup(v) : NULL;
            break;
        case SHD_SECRET_ENV:
            v = getenv(t->secret_env);
            tenants[i].secret = v && *v ? shd_xstrdup(v) : NULL;
            break;
        case SHD_SECRET_FILE:
            tenants[i].secret = read_secret_file(t->secret_file);
            break;
        }
        if (!tenants[i].secret) {
            shd_error("gateway", "tenant has no usable secret tenant=%s what=\"set %s\"", t->name,
                      t->secret_src == SHD_SECRET_ENV ? "the environment variable" : "the file");
            return -1;
        }
    }
    return 0;
}

void gw_auth_fini(struct shd_ctx *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < ntenants; i++)
        free(tenants[i].secret);
    free(tenants);
    tenants = NULL;
    ntenants = 0;
}

const struct shd_tenant *gw_tenant_cfg(const struct gw_req *g)
{
    return g->tenant ? g->tenant->cfg : NULL;
}

const char *gw_tenant_name(const struct gw_req *g)
{
    return g->tenant ? g->tenant->cfg->name : "shoal";
}

int gw_allowed(const struct gw_req *g, int mount, const char *key, int write)
{
    const struct shd_tenant *t;
    if (!g->tenant)
        return ntenants == 0;
    t = g->tenant->cfg;
    for (size_t i = 0; i < t->n_allow; i++) {
        const struct shd_grant *a = &t->allow[i];
        if (strcmp(a->mount, "*") != 0 &&
            (mount < 0 || strcmp(a->mount, g->ctx->cfg->mounts[mount].name) != 0))
            continue;
        if (strncmp(key, a->prefix, strlen(a->prefix)) != 0)
            continue;
        if (write ? a->access != SHD_ACCESS_READ : a->access != SHD_ACCESS_WRITE)
            return 1;
    }
    return 0;
}

/* The pieces of a SigV4 signature, from the header or the query. */
struct sig {
    char ak[129], date8[9], region[64], service[16];
    char signed_headers[2048];
    char signature[2 * UFS_SIGV4_HEX_LEN + 2]; /* room for a wrong one: it just won't match */
    const char *amz_date;
};

/* Parses "AK/DATE/REGION/SERVICE/aws4_request". */
static int parse_credential(const char *c, size_t len, struct sig *s)
{
    char buf[512];
    char *parts[5], *save = NULL;
    int n = 0;
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, c, len);
    buf[len] = '\0';
    for (char *p = strtok_r(buf, "/", &save); p && n < 5; p = strtok_r(NULL, "/", &save))
        parts[n++] = p;
    if (n != 5 || strcmp(parts[4], "aws4_request") != 0 || strlen(parts[0]) >= sizeof(s->ak) ||
        strlen(parts[1]) != 8 || strlen(parts[2]) >= sizeof(s->region) ||
        strlen(parts[3]) >= sizeof(s->service))
        return -1;
    strcpy(s->ak, parts[0]);
    strcpy(s->date8, parts[1]);
    strcpy(s->region, parts[2]);
    strcpy(s->service, parts[3]);
    return 0;
}

/* Copies the value of "Name=value" (up to ',' or the end) from an
 * Authorization header. */
static int auth_field(const char *auth, const char *name, char *out, size_t outlen)
{
    const char *p = strstr(auth, name);
    size_t nl = strlen(name), len;
    if (!p || p[nl] != '=')
        return -1;
    p += nl + 1;
    len = strcspn(p, ", ");
    if (len == 0 || len >= outlen)
        return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static const struct gw_tenant_rt *tenant_find(const char *ak)
{
    for (size_t i = 0; i < ntenants; i++)
        if (strcmp(tenants[i].cfg->access_key, ak) == 0)
            return &tenants[i];
    return NULL;
}

/* The signing key for a tenant, date and region, cached per thread. */
static int signing_key(const struct gw_tenant_rt *t, const struct sig *s,
                       unsigned char key[UFS_SIGV4_KEY_LEN])
{
    static _Thread_local struct {
        const struct gw_tenant_rt *t;
        char date8[9], region[64], service[16];
        unsigned char key[UFS_SIGV4_KEY_LEN];
    } cache;
    if (cache.t == t && strcmp(cache.date8, s->date8) == 0 &&
        strcmp(cache.region, s->region) == 0 && strcmp(cache.service, s->service) == 0) {
        memcpy(key, cache.key, UFS_SIGV4_KEY_LEN);
        return 0;
    }
    if (ufs_sigv4_signing_key(t->secret, s->date8, s->region, s->service, key) != 0)
        return -1;
    cache.t = t;
    strcpy(cache.date8, s->date8);
    strcpy(cache.region, s->region);
    strcpy(cache.service, s->service);
    memcpy(cache.key, key, UFS_SIGV4_KEY_LEN);
    return 0;
}

/* Computes the signature the request should carry. */
static int expected_signature(struct gw_req *g, const struct sig *s, const char *payload,
                              int presigned, const unsigned char key[UFS_SIGV4_KEY_LEN],
                              char out[UFS_SIGV4_HEX_LEN + 1])
{
    struct ufs_sigv4_pair qp[GW_QUERY_MAX], hp[HTTP_HEADERS_MAX];
    size_t nq = 0, nh = 0;
    char *uri = NULL, *cq = NULL, *ch = NULL, *sh = NULL, *cr = NULL, *scope = NULL, *sts = NULL;
    char names[sizeof(s->signed_headers)], *save = NULL;
    int rc = -1;

    for (size_t i = 0; i < g->nq; i++) {
        if (presigned && strcmp(g->q[i].name, "X-Amz-Signature") == 0)
            continue;
        qp[nq].name = g->q[i].name;
        qp[nq].value = g->q[i].value ? g->q[i].value : "";
        nq++;
    }
    strcpy(names, s->signed_headers);
    for (char *n = strtok_r(names, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
        int found = 0;
        for (size_t i = 0; i < http_req_header_count(g->r) && nh < HTTP_HEADERS_MAX; i++) {
            const char *hn, *hv;
            http_req_header_at(g->r, i, &hn, &hv);
            if (strcmp(hn, n) == 0) {
                hp[nh].name = hn;
                hp[nh].value = hv;
                nh++;
                found = 1;
            }
        }
        if (!found)
            goto out; /* a signed header the request does not carry */
    }
    uri = ufs_sigv4_uri_encode(g->path, strlen(g->path), 1);
    if (!uri || ufs_sigv4_canonical_query(qp, nq, &cq) ||
        ufs_sigv4_canonical_headers(hp, nh, &ch, &sh) ||
        ufs_sigv4_canonical_request(http_req_method(g->r), uri, cq, ch, sh, payload, &cr) ||
        ufs_sigv4_scope(s->amz_date, s->region, s->service, &scope) ||
        ufs_sigv4_string_to_sign(s->amz_date, scope, cr, &sts) ||
        ufs_sigv4_signature(key, sts, out))
        goto out;
    rc = 0;
out:
    free(uri);
    free(cq);
    free(ch);
    free(sh);
    free(cr);
    free(scope);
    free(sts);
    return rc;
}

int gw_authenticate(struct gw_req *g)
{
    const char *auth = http_req_header(g->r, "authorization");
    const char *payload = UFS_SIGV4_UNSIGNED_PAYLOAD, *cred;
    const struct gw_tenant_rt *t;
    struct sig s;
    unsigned char key[UFS_SIGV4_KEY_LEN];
    char want[UFS_SIGV4_HEX_LEN + 1];
    int64_t when, now = (int64_t)time(NULL);
    int presigned = 0;

    g->payload_sha256[0] = '\0';
    if (ntenants == 0) {
        g->tenant = NULL; /* anonymous: no tenants configured */
        return 0;
    }
    memset(&s, 0, sizeof(s));
    if (auth) {
        if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0) {
            gw_error(g, 400, "InvalidRequest",
                     "The authorization mechanism you have provided is not supported. Please "
                     "use AWS4-HMAC-SHA256.");
            return -1;
        }
        char credbuf[512];
        if (auth_field(auth, "Credential", credbuf, sizeof(credbuf)) ||
            parse_credential(credbuf, strlen(credbuf), &s) ||
            auth_field(auth, "SignedHeaders", s.signed_headers, sizeof(s.signed_headers)) ||
            auth_field(auth, "Signature", s.signature, sizeof(s.signature))) {
            gw_error(g, 400, "AuthorizationHeaderMalformed",
                     "The authorization header is malformed.");
            return -1;
        }
        s.amz_date = http_req_header(g->r, "x-amz-date");
        payload = http_req_header(g->r, "x-amz-content-sha256");
        if (!payload) {
            gw_error(g, 400, "InvalidRequest",
                     "Missing required header for this request: x-amz-content-sha256");
            return -1;
        }
        if (strcmp(payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0 ||
            strcmp(payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0) {
            g->streaming = 1;
        } else if (strcmp(payload, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0) {
            g->streaming = 2;
        } else if (strncmp(payload, "STREAMING-", 10) == 0) {
            gw_error(g, 501, "NotImplemented",
                     "This aws-chunked payload mode is not supported by the gateway (ECDSA "
                     "signing); use AWS4-HMAC-SHA256.");
            return -1;
        }
        if (strlen(payload) == UFS_SIGV4_HEX_LEN)
            strcpy(g->payload_sha256, payload);
    } else if (gw_query(g, "X-Amz-Algorithm")) {
        presigned = 1;
        cred = gw_query(g, "X-Amz-Credential");
        const char *sh = gw_query(g, "X-Amz-SignedHeaders"), *sig = gw_query(g, "X-Amz-Signature");
        if (strcmp(gw_query(g, "X-Amz-Algorithm"), UFS_SIGV4_ALGORITHM) != 0 || !cred || !sh ||
            !sig || parse_credential(cred, strlen(cred), &s) ||
            strlen(sh) >= sizeof(s.signed_headers) || strlen(sig) >= sizeof(s.signature)) {
            gw_error(g, 400, "AuthorizationQueryParametersError",
                     "The presigned URL's X-Amz parameters are missing or malformed.");
            return -1;
        }
        strcpy(s.signed_headers, sh);
        strcpy(s.signature, sig);
        s.amz_date = gw_query(g, "X-Amz-Date");
    } else {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return -1;
    }
    if (!s.amz_date || ufs_sigv4_parse_amz_date(s.amz_date, &when) != 0 ||
        strncmp(s.amz_date, s.date8, 8) != 0 || strcmp(s.service, "s3") != 0) {
        gw_error(g, 400, "AuthorizationHeaderMalformed",
                 "The request's date or credential scope is malformed.");
        return -1;
    }
    t = tenant_find(s.ak);
    if (!t) {
        SHD_METRIC_INC(auth_failures);
        gw_error(g, 403, "InvalidAccessKeyId",
                 "The AWS Access Key Id you provided does not exist in our records.");
        return -1;
    }
    if (presigned) {
        const char *exp = gw_query(g, "X-Amz-Expires");
        long e = exp ? strtol(exp, NULL, 10) : -1;
        if (e < 1 || e > GW_PRESIGN_MAX_S) {
            gw_error(g, 400, "AuthorizationQueryParametersError",
                     "X-Amz-Expires must be between 1 and 604800 seconds.");
            return -1;
        }
        if (now > when + e) {
            SHD_METRIC_INC(auth_failures);
            gw_error(g, 403, "AccessDenied", "Request has expired");
            return -1;
        }
        /* signed for later: a URL dated ahead would stay valid past the
         * 7-day limit from its signing */
        if (when > now + GW_SKEW_MAX_S) {
            SHD_METRIC_INC(auth_failures);
            gw_error(g, 403, "AccessDenied", "Request is not valid yet");
            return -1;
        }
    } else if (when > now + GW_SKEW_MAX_S || when < now - GW_SKEW_MAX_S) {
        SHD_METRIC_INC(auth_failures);
        gw_error(g, 403, "RequestTimeTooSkewed",
                 "The difference between the request time and the current time is too large.");
        return -1;
    }
    if (signing_key(t, &s, key) || expected_signature(g, &s, payload, presigned, key, want) ||
        !ufs_sigv4_equal(want, s.signature)) {
        SHD_METRIC_INC(auth_failures);
        gw_error(g, 403, "SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your key and signing method.");
        return -1;
    }
    if (g->streaming == 1) { /* the chunks are signed in a chain from this signature */
        char *scope = NULL;
        if (ufs_sigv4_scope(s.amz_date, s.region, s.service, &scope) != 0 ||
            strlen(scope) >= sizeof(g->chunk_scope)) {
            free(scope);
            gw_error(g, 400, "AuthorizationHeaderMalformed", "The credential scope is too long.");
            return -1;
        }
        strcpy(g->chunk_scope, scope);
        free(scope);
        memcpy(g->chunk_key, key, sizeof(g->chunk_key));
        snprintf(g->chunk_date, sizeof(g->chunk_date), "%s", s.amz_date);
        memcpy(g->seed_sig, want, sizeof(g->seed_sig)); /* equal to the one sent */
    }
    g->tenant = t;
    return 0;
}

int gw_body_decoder(struct gw_req *g, struct gw_chunked **out, uint64_t *size)
{
    const char *dl = http_req_header(g->r, "x-amz-decoded-content-length");
    const char *ce = http_req_header(g->r, "content-encoding");
    char *end;
    *out = NULL;
    if (!g->streaming && !(ntenants == 0 && ce && strstr(ce, "aws-chunked") &&
                           dl)) /* anonymous: trust the encoding header */
        return 0;
    unsigned long long n = dl && *dl >= '0' && *dl <= '9' ? strtoull(dl, &end, 10) : 0;
    if (!dl || *dl < '0' || *dl > '9' || *end || n == ULLONG_MAX) {
        gw_error(g, 411, "MissingContentLength",
                 "aws-chunked uploads need the x-amz-decoded-content-length header.");
        return -1;
    }
    *size = n;
    *out = gw_chunked_new(g->streaming == 1, g->chunk_key, g->chunk_date, g->chunk_scope,
                          g->seed_sig, (uint64_t)n);
    return 0;
}
