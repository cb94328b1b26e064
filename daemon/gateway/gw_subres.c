/* daemon/gateway/gw_subres.c: what a request on a bucket (no key) is, by method and
 * subresource, before anything runs. S3 names bucket operations by query
 * parameters (?acl, ?tagging, ?versions, ...): routing on the method alone
 * sent DELETE ?tagging to DeleteBucket and GET ?versions to ListObjects.
 *
 * Every subresource of S3's API is in the table below with what the
 * gateway does with it (docs/gateway.md has the same table, and
 * test_s3_fidelity walks it): implemented here, handed to another file, or
 * 501 NotImplemented. A bucket request with a query parameter that is
 * neither a subresource nor a listing parameter is refused when it would
 * change something (PUT, POST, DELETE), so a subresource this table does
 * not know can never run as CreateBucket or DeleteBucket; a GET with one
 * is a listing, as S3 ignores unknown parameters. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

enum subres_kind {
    SR_501,        /* not implemented by the gateway */
    SR_LOCATION,   /* GET: GetBucketLocation */
    SR_VERSIONING, /* GET: GetBucketVersioning, never enabled */
    SR_VERSIONS,   /* GET: ListObjectVersions, every object its "null" version */
    SR_DELETE,     /* POST: DeleteObjects */
    SR_UPLOADS,    /* GET: ListMultipartUploads, passed to S3 */
};

struct subres {
    const char *name;
    enum subres_kind get; /* what GET does; other methods: 501 unless said */
    enum subres_kind post;
};

/* S3's bucket subresources (and the S3 Express / metadata ones), sorted. */
static const struct subres subresources[] = {
    {"accelerate", SR_501, SR_501},
    {"acl", SR_501, SR_501},
    {"analytics", SR_501, SR_501},
    {"cors", SR_501, SR_501},
    {"delete", SR_501, SR_DELETE},
    {"encryption", SR_501, SR_501},
    {"intelligent-tiering", SR_501, SR_501},
    {"inventory", SR_501, SR_501},
    {"lifecycle", SR_501, SR_501},
    {"location", SR_LOCATION, SR_501},
    {"logging", SR_501, SR_501},
    {"metadataConfiguration", SR_501, SR_501},
    {"metadataTable", SR_501, SR_501},
    {"metrics", SR_501, SR_501},
    {"notification", SR_501, SR_501},
    {"object-lock", SR_501, SR_501},
    {"ownershipControls", SR_501, SR_501},
    {"policy", SR_501, SR_501},
    {"policyStatus", SR_501, SR_501},
    {"publicAccessBlock", SR_501, SR_501},
    {"replication", SR_501, SR_501},
    {"requestPayment", SR_501, SR_501},
    {"session", SR_501, SR_501},
    {"tagging", SR_501, SR_501},
    {"uploads", SR_UPLOADS, SR_501},
    {"versioning", SR_VERSIONING, SR_501},
    {"versions", SR_VERSIONS, SR_501},
    {"website", SR_501, SR_501},
};

/* Query parameters of listings and of signing: not subresources. */
static const char *const plain_params[] = {"list-type",
                                           "prefix",
                                           "delimiter",
                                           "max-keys",
                                           "encoding-type",
                                           "marker",
                                           "continuation-token",
                                           "start-after",
                                           "fetch-owner",
                                           "key-marker",
                                           "version-id-marker",
                                           "x-id",
                                           "X-Amz-Algorithm",
                                           "X-Amz-Credential",
                                           "X-Amz-Date",
                                           "X-Amz-Expires",
                                           "X-Amz-SignedHeaders",
                                           "X-Amz-Signature",
                                           "X-Amz-Security-Token",
                                           "x-amz-user-agent",
                                           "allow-unordered",
                                           "optional-object-attributes"};

static const struct subres *find(const char *name)
{
    for (size_t i = 0; i < sizeof(subresources) / sizeof(subresources[0]); i++)
        if (strcmp(subresources[i].name, name) == 0)
            return &subresources[i];
    return NULL;
}

static int plain(const char *name)
{
    for (size_t i = 0; i < sizeof(plain_params) / sizeof(plain_params[0]); i++)
        if (strcmp(plain_params[i], name) == 0)
            return 1;
    return 0;
}

static void reply_xml(struct gw_req *g, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, 200, "application/xml", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
    gw_done(g, 200);
}

static struct evbuffer *xml_new(void)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    return b;
}

/* GetBucketLocation: the mount's region; S3 answers an empty constraint for
 * us-east-1 (and file:// mounts have none). */
static void get_location(struct gw_req *g)
{
    const struct shd_mount *m = &g->ctx->cfg->mounts[g->mount];
    const char *region =
        m->ufs.kind == SHD_UFS_S3 && m->region && strcmp(m->region, "us-east-1") != 0 ? m->region
                                                                                      : "";
    struct evbuffer *b = xml_new();
    evbuffer_add_printf(b, "<LocationConstraint xmlns=\"" S3_NS "\">");
    gw_xml_escape(b, region);
    evbuffer_add_printf(b, "</LocationConstraint>\n");
    reply_xml(g, b);
}

/* GetBucketVersioning: the gateway serves no versions, so to its clients a
 * bucket is never versioned (S3's answer for a bucket that never was). */
static void get_versioning(struct gw_req *g)
{
    struct evbuffer *b = xml_new();
    evbuffer_add_printf(b, "<VersioningConfiguration xmlns=\"" S3_NS "\"/>\n");
    reply_xml(g, b);
}

int gw_bucket_route(struct gw_req *g)
{
    const char *m = http_req_method(g->r);
    int is_get = strcmp(m, "GET") == 0, is_post = strcmp(m, "POST") == 0;
    int is_head = strcmp(m, "HEAD") == 0;
    const struct subres *sr = NULL;
    const char *unknown = NULL;

    for (size_t i = 0; i < g->nq; i++) {
        const struct subres *f = find(g->q[i].name);
        if (f && !sr)
            sr = f;
        else if (!f && !plain(g->q[i].name) && !unknown)
            unknown = g->q[i].name;
    }
    if (!sr) {
        if (unknown && !is_get && !is_head) {
            gw_error(g, 501, "NotImplemented",
                     "A bucket request with this query parameter is not implemented by the "
                     "gateway.");
            return 1;
        }
        return 0; /* a listing, HeadBucket, CreateBucket or DeleteBucket */
    }
    enum subres_kind k = is_get ? sr->get : is_post ? sr->post : SR_501;
    if (k != SR_501 && k != SR_DELETE && k != SR_UPLOADS && !gw_allowed(g, g->mount, "", 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return 1;
    }
    switch (k) {
    case SR_LOCATION:
        get_location(g);
        break;
    case SR_VERSIONING:
        get_versioning(g);
        break;
    case SR_VERSIONS:
        gw_list_versions(g);
        break;
    case SR_DELETE:
        gw_delete_objects(g); /* permissions are per key */
        break;
    case SR_UPLOADS:
        gw_list_uploads(g); /* permissions by prefix */
        break;
    case SR_501: {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s on ?%s is not implemented by the gateway.", m, sr->name);
        gw_error(g, 501, "NotImplemented", msg);
        break;
    }
    }
    return 1;
}

/* ---- objects --------------------------------------------------------------------- */

/* Object subresources the gateway does not implement: served as GetObject
 * or PutObject they would return the object's bytes or overwrite it. */
static const char *const object_subresources[] = {"acl",     "attributes", "legal-hold",
                                                  "restore", "retention",  "select",
                                                  "tagging", "torrent",    "renameObject"};

/* Object query parameters a request may carry besides those. */
static const char *const object_params[] = {"uploads",
                                            "uploadId",
                                            "partNumber",
                                            "versionId",
                                            "x-id",
                                            "x-amz-user-agent",
                                            "response-cache-control",
                                            "response-content-disposition",
                                            "response-content-encoding",
                                            "response-content-language",
                                            "response-content-type",
                                            "response-expires",
                                            "X-Amz-Algorithm",
                                            "X-Amz-Credential",
                                            "X-Amz-Date",
                                            "X-Amz-Expires",
                                            "X-Amz-SignedHeaders",
                                            "X-Amz-Signature",
                                            "X-Amz-Security-Token"};

static int in(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

/* ---- GetObjectTagging -------------------------------------------------------------- */

static void tagging_cancel(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

static void tagging_reply(struct gw_req *g, const char *xml, size_t len)
{
    g->op_state = NULL;
    g->op_abort = NULL;
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, 200, "application/xml", xml, len);
    gw_done(g, 200);
}

static void on_tagging(void *arg, int err, const char *body, size_t len)
{
    struct gw_req *g = arg;
    if (err) {
        g->op_state = NULL;
        g->op_abort = NULL;
        gw_error_ufs(g, err);
        return;
    }
    tagging_reply(g, body, len);
}

/* file://: the object has no tags, when it exists */
static void on_tagging_stat(void *arg, int err, const struct ufs_stat *st)
{
    static const char empty[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging "
                                "xmlns=\"" S3_NS "\"><TagSet></TagSet></Tagging>\n";
    struct gw_req *g = arg;
    (void)st;
    if (err) {
        g->op_state = NULL;
        g->op_abort = NULL;
        gw_error_ufs(g, err);
        return;
    }
    tagging_reply(g, empty, sizeof(empty) - 1);
}

/* GetObjectTagging: passed through to S3 (its answer names no bucket or
 * key); an object on file:// has an empty TagSet. */
static void get_tagging(struct gw_req *g)
{
    if (!gw_allowed(g, g->mount, g->key, 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (g->ctx->cfg->mounts[g->mount].ufs.kind == SHD_UFS_FILE)
        g->op_state = ufs_stat(g->u, g->key, on_tagging_stat, g);
    else
        g->op_state = ufs_get_tagging(g->u, g->key, on_tagging, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The tags could not be read (invalid key).");
        return;
    }
    g->op_abort = tagging_cancel;
}

int gw_object_refused(struct gw_req *g)
{
    const char *m = http_req_method(g->r);
    int read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    const char *why = NULL, *ver = gw_query(g, "versionId");
    char msg[200];

    for (size_t i = 0; i < g->nq && !why; i++) {
        const char *n = g->q[i].name;
        if (in(object_subresources, sizeof(object_subresources) / sizeof(object_subresources[0]),
               n))
            why = n;
        else if (!read && !in(object_params, sizeof(object_params) / sizeof(object_params[0]), n))
            why = n; /* unknown, on a method that changes things */
    }
    if (!why && ver && strcmp(ver, "null") != 0)
        why = "versionId"; /* a given version: not the latest */
    if (!why && read && gw_query(g, "partNumber"))
        why = "partNumber"; /* one part of a multipart object, not the whole */
    if (why && strcmp(why, "tagging") == 0 && strcmp(m, "GET") == 0 &&
        (!ver || strcmp(ver, "null") == 0)) {
        get_tagging(g);
        return 1;
    }
    if (!why)
        return 0;
    snprintf(msg, sizeof(msg), "%s with ?%s on an object is not implemented by the gateway.", m,
             why);
    gw_error(g, 501, "NotImplemented", msg);
    return 1;
}
