/* daemon/gateway/gw_list.c: ListBuckets (the mounts the caller may read) and
 * ListObjects (V2, and V1 for older clients), passed to the mount's S3 and
 * answered in S3's XML. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"
#include "ufs/sigv4.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

static int64_t started_at;

static void reply_xml(struct gw_req *g, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, 200, "application/xml", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
    gw_done(g, 200);
}

static void buckets_reply(struct gw_req *g, const struct ufs_bucket *extra, size_t nextra)
{
    struct evbuffer *b = evbuffer_new();
    char date[40];
    if (!b)
        shd_oom(0);
    if (!started_at)
        started_at = (int64_t)time(NULL);
    gw_iso_date(started_at, date, sizeof(date));
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult "
                           "xmlns=\"" S3_NS "\"><Owner><ID>shoal</ID><DisplayName>shoal"
                           "</DisplayName></Owner><Buckets>");
    for (size_t i = 0; i < g->ctx->cfg->n_mounts; i++) {
        const char *name = g->ctx->cfg->mounts[i].name;
        if (strcmp(name, "*") == 0 || !gw_allowed(g, (int)i, "", 0))
            continue;
        evbuffer_add_printf(b, "<Bucket><Name>");
        gw_xml_escape(b, name);
        evbuffer_add_printf(b, "</Name><CreationDate>%s</CreationDate></Bucket>", date);
    }
    /* the pass-through mount's buckets, unless a named mount shadows them */
    for (size_t i = 0; i < nextra; i++) {
        char cd[40];
        if (shd_mount_find(g->ctx, extra[i].name) >= 0 || !gw_allowed(g, g->ctx->star, "", 0))
            continue;
        gw_iso_date(extra[i].created, cd, sizeof(cd));
        evbuffer_add_printf(b, "<Bucket><Name>");
        gw_xml_escape(b, extra[i].name);
        evbuffer_add_printf(b, "</Name><CreationDate>%s</CreationDate></Bucket>", cd);
    }
    evbuffer_add_printf(b, "</Buckets></ListAllMyBucketsResult>\n");
    reply_xml(g, b);
}

static void on_buckets(void *arg, int err, const struct ufs_bucket *bk, size_t n)
{
    struct gw_req *g = arg;
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err) {
        gw_error_ufs(g, err);
        return;
    }
    buckets_reply(g, bk, n);
}

static void buckets_cancel(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

void gw_list_buckets(struct gw_req *g)
{
    /* the "*" mount's buckets as the tenant's own S3 identity sees them */
    int k = g->ctx->star >= 0 ? shd_tenant_backend(g->ctx, gw_tenant_cfg(g), g->ctx->star) : -1;
    struct ufs *svc = k >= 0 ? g->l->tufs[k] : g->l->svc;
    if (g->ctx->star < 0 || !svc) {
        buckets_reply(g, NULL, 0);
        return;
    }
    g->op_state = ufs_list_buckets(svc, on_buckets, g);
    if (!g->op_state) {
        buckets_reply(g, NULL, 0);
        return;
    }
    g->op_abort = buckets_cancel;
}

struct list {
    struct gw_req *g;
    struct ufs_req *req;
    int v2, url, versions, owner; /* owner: each entry names its owner */
    unsigned max_keys;
};

/* The owner shown in listings: the tenant, or "shoal" for anonymous use. */
static void put_owner(struct evbuffer *b, const struct gw_req *g)
{
    const char *who = gw_tenant_name(g);
    evbuffer_add_printf(b, "<Owner><ID>");
    gw_xml_escape(b, who);
    evbuffer_add_printf(b, "</ID><DisplayName>");
    gw_xml_escape(b, who);
    evbuffer_add_printf(b, "</DisplayName></Owner>");
}

static void list_abort(struct gw_req *g)
{
    struct list *s = g->op_state;
    ufs_cancel(s->req);
    free(s);
}

/* Writes a key or prefix, URL-encoded when the client asked. */
static void put_name(struct evbuffer *b, const char *s, int url)
{
    if (url) {
        char *e = ufs_sigv4_uri_encode(s, strlen(s), 1);
        if (!e)
            shd_oom(strlen(s));
        gw_xml_escape(b, e);
        free(e);
    } else {
        gw_xml_escape(b, s);
    }
}

static void elem(struct evbuffer *b, const char *tag, const char *v, int url)
{
    if (!v)
        return;
    evbuffer_add_printf(b, "<%s>", tag);
    put_name(b, v, url);
    evbuffer_add_printf(b, "</%s>", tag);
}

/* The last name of a page (key or common prefix), for V1's NextMarker and
 * ListObjectVersions' NextKeyMarker. */
static const char *last_name(const struct ufs_list_page *pg)
{
    const char *last_key = pg->n_entries ? pg->entries[pg->n_entries - 1].key : NULL;
    const char *last_pfx = pg->n_prefixes ? pg->common_prefixes[pg->n_prefixes - 1] : NULL;
    return !last_key                        ? last_pfx
           : !last_pfx                      ? last_key
           : strcmp(last_key, last_pfx) > 0 ? last_key
                                            : last_pfx;
}

static void on_page(void *arg, int err, const struct ufs_list_page *pg)
{
    struct list *s = arg;
    struct gw_req *g = s->g;
    struct evbuffer *b;
    const char *prefix = gw_query(g, "prefix"), *delim = gw_query(g, "delimiter");
    const char *root = s->versions ? "ListVersionsResult" : "ListBucketResult";
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err) {
        free(s);
        gw_error_ufs(g, err);
        return;
    }
    b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"" S3_NS "\">",
                        root);
    elem(b, "Name", g->bucket, 0);
    elem(b, "Prefix", prefix ? prefix : "", s->url);
    if (s->versions) {
        const char *km = gw_query(g, "key-marker");
        elem(b, "KeyMarker", km ? km : "", s->url);
        elem(b, "VersionIdMarker", gw_query(g, "version-id-marker") ? "null" : "", 0);
        if (pg->truncated) {
            elem(b, "NextKeyMarker", last_name(pg), s->url);
            elem(b, "NextVersionIdMarker", "null", 0);
        }
    }
    if (delim && *delim) /* S3 leaves an empty delimiter out */
        elem(b, "Delimiter", delim, s->url);
    evbuffer_add_printf(b, "<MaxKeys>%u</MaxKeys>", s->max_keys);
    if (s->versions) {
        /* nothing more: the markers are above */
    } else if (s->v2) {
        evbuffer_add_printf(b, "<KeyCount>%zu</KeyCount>", pg->n_entries + pg->n_prefixes);
        elem(b, "ContinuationToken", gw_query(g, "continuation-token"), 0);
        if (pg->truncated && pg->next_token)
            elem(b, "NextContinuationToken", pg->next_token, 0);
        elem(b, "StartAfter", gw_query(g, "start-after"), s->url);
    } else {
        const char *marker = gw_query(g, "marker");
        elem(b, "Marker", marker ? marker : "", s->url);
        if (pg->truncated) /* the last name listed, so the client can go on */
            elem(b, "NextMarker", last_name(pg), s->url);
    }
    evbuffer_add_printf(b, "<IsTruncated>%s</IsTruncated>", pg->truncated ? "true" : "false");
    if (s->url)
        evbuffer_add_printf(b, "<EncodingType>url</EncodingType>");
    for (size_t i = 0; i < pg->n_entries; i++) {
        char date[40];
        const struct ufs_list_entry *e = &pg->entries[i];
        gw_iso_date(e->st.mtime, date, sizeof(date));
        evbuffer_add_printf(b, s->versions ? "<Version>" : "<Contents>");
        elem(b, "Key", e->key, s->url);
        if (s->versions)
            evbuffer_add_printf(b, "<VersionId>null</VersionId><IsLatest>true</IsLatest>");
        evbuffer_add_printf(b, "<LastModified>%s</LastModified><ETag>", date);
        gw_xml_escape(b, e->st.etag);
        evbuffer_add_printf(b, "</ETag><Size>%" PRIu64 "</Size>", e->st.size);
        if (s->owner)
            put_owner(b, g);
        evbuffer_add_printf(b, "<StorageClass>STANDARD</StorageClass>%s",
                            s->versions ? "</Version>" : "</Contents>");
    }
    for (size_t i = 0; i < pg->n_prefixes; i++) {
        evbuffer_add_printf(b, "<CommonPrefixes>");
        elem(b, "Prefix", pg->common_prefixes[i], s->url);
        evbuffer_add_printf(b, "</CommonPrefixes>");
    }
    evbuffer_add_printf(b, "</%s>\n", root);
    free(s);
    reply_xml(g, b);
}

static void list_start(struct gw_req *g, int versions)
{
    const char *lt = versions ? NULL : gw_query(g, "list-type"), *mk = gw_query(g, "max-keys");
    const char *enc = gw_query(g, "encoding-type"), *prefix = gw_query(g, "prefix");
    struct list *s;
    long max = 1000;

    if (lt && strcmp(lt, "2") != 0) {
        gw_error(g, 400, "InvalidArgument", "Invalid list-type: only 2 (or none) is supported.");
        return;
    }
    if (mk) {
        char *end;
        max = strtol(mk, &end, 10);
        if (*end || max < 0) {
            gw_error(g, 400, "InvalidArgument",
                     "Provided max-keys not an integer or within "
                     "integer range");
            return;
        }
        if (max > 1000)
            max = 1000;
    }
    if (enc && strcmp(enc, "url") != 0) {
        gw_error(g, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
        return;
    }
    if (!gw_allowed(g, g->mount, prefix ? prefix : "", 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    s = shd_xcalloc(1, sizeof(*s));
    s->g = g;
    s->v2 = lt != NULL;
    s->versions = versions;
    s->url = enc != NULL;
    /* V1 and ListObjectVersions always name owners; V2 with fetch-owner=true */
    const char *fo = gw_query(g, "fetch-owner");
    s->owner = !s->v2 || (fo && strcmp(fo, "true") == 0);
    s->max_keys = (unsigned)max;
    if (max == 0) { /* S3 answers an empty, untruncated page */
        struct ufs_list_page empty;
        memset(&empty, 0, sizeof(empty));
        on_page(s, 0, &empty);
        return;
    }
    const char *delim = gw_query(g, "delimiter");
    struct ufs_list_opts o = {
        prefix,
        delim && *delim ? delim : NULL,
        s->v2 ? gw_query(g, "continuation-token") : NULL,
        versions ? gw_query(g, "key-marker")
        : s->v2  ? gw_query(g, "start-after")
                 : gw_query(g, "marker"),
        (unsigned)max,
    };
    g->op_state = s;
    g->op_abort = list_abort;
    s->req = ufs_list(g->u, &o, on_page, s);
    if (!s->req) {
        g->op_state = NULL;
        g->op_abort = NULL;
        free(s);
        gw_error(g, 400, "InvalidArgument", "The listing parameters are invalid.");
    }
}

void gw_list_objects(struct gw_req *g)
{
    list_start(g, 0);
}

void gw_list_versions(struct gw_req *g)
{
    list_start(g, 1);
}
