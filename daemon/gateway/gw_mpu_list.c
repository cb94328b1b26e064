/* daemon/gateway/gw_mpu_list.c: ListParts (GET /BUCKET/KEY?uploadId=ID) and
 * ListMultipartUploads (GET /BUCKET?uploads), passed to the mount's S3 and
 * answered in S3's XML with the gateway's bucket and keys (the mount's
 * prefix taken off). file:// mounts answer 501: their uploads are the
 * backend's own files, not listed. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

static void reply_xml(struct gw_req *g, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    g->op_state = NULL;
    g->op_abort = NULL;
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_reply(g->r, 200, "application/xml", evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
    gw_done(g, 200);
}

static void elem(struct evbuffer *b, const char *tag, const char *v)
{
    evbuffer_add_printf(b, "<%s>", tag);
    gw_xml_escape(b, v ? v : "");
    evbuffer_add_printf(b, "</%s>", tag);
}

static void owner(struct evbuffer *b, const struct gw_req *g, const char *tag)
{
    evbuffer_add_printf(b, "<%s>", tag);
    elem(b, "ID", gw_tenant_name(g));
    elem(b, "DisplayName", gw_tenant_name(g));
    evbuffer_add_printf(b, "</%s>", tag);
}

static void list_cancel(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

/* The request's query number NAME in 0..max (absent: dflt); -1 after a 400. */
static long query_num(struct gw_req *g, const char *name, long dflt, long max)
{
    const char *v = gw_query(g, name);
    char *end;
    long n;
    if (!v)
        return dflt;
    n = *v >= '0' && *v <= '9' ? strtol(v, &end, 10) : -1;
    if (n < 0 || *end) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Provided %s not an integer or within integer range", name);
        gw_error(g, 400, "InvalidArgument", msg);
        return -1;
    }
    return n > max ? max : n;
}

static int not_on_file(struct gw_req *g, const char *what)
{
    char msg[160];
    if (g->ctx->cfg->mounts[g->mount].ufs.kind != SHD_UFS_FILE)
        return 0;
    snprintf(msg, sizeof(msg), "%s is not implemented on file:// mounts.", what);
    gw_error(g, 501, "NotImplemented", msg);
    return 1;
}

/* ---- ListParts --------------------------------------------------------------- */

static void on_parts(void *arg, int err, const struct ufs_parts_page *pg)
{
    struct gw_req *g = arg;
    struct evbuffer *b;
    char date[40], num[16];
    if (err) {
        g->op_state = NULL;
        g->op_abort = NULL;
        if ((err == UFS_ENOENT || err == UFS_ECONFLICT) && !ufs_error_detail())
            gw_error(g, 404, "NoSuchUpload", "The specified upload does not exist.");
        else
            gw_error_ufs(g, err);
        return;
    }
    b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult "
                           "xmlns=\"" S3_NS "\">");
    elem(b, "Bucket", g->bucket);
    elem(b, "Key", g->key);
    elem(b, "UploadId", gw_query(g, "uploadId"));
    owner(b, g, "Initiator");
    owner(b, g, "Owner");
    evbuffer_add_printf(b, "<StorageClass>STANDARD</StorageClass>");
    elem(b, "PartNumberMarker",
         gw_query(g, "part-number-marker") ? gw_query(g, "part-number-marker") : "0");
    if (pg->truncated) {
        snprintf(num, sizeof(num), "%u", pg->next_marker);
        elem(b, "NextPartNumberMarker", num);
    }
    long max = query_num(g, "max-parts", 1000, 1000); /* checked before the request */
    evbuffer_add_printf(b, "<MaxParts>%ld</MaxParts><IsTruncated>%s</IsTruncated>", max,
                        pg->truncated ? "true" : "false");
    for (size_t i = 0; i < pg->n; i++) {
        const struct ufs_part_entry *p = &pg->parts[i];
        gw_iso_date(p->mtime, date, sizeof(date));
        evbuffer_add_printf(b, "<Part><PartNumber>%u</PartNumber><LastModified>%s</LastModified>",
                            p->number, date);
        elem(b, "ETag", p->etag);
        evbuffer_add_printf(b, "<Size>%" PRIu64 "</Size></Part>", p->size);
    }
    evbuffer_add_printf(b, "</ListPartsResult>\n");
    reply_xml(g, b);
}

void gw_list_parts(struct gw_req *g)
{
    long max, marker;
    if (!gw_allowed(g, g->mount, g->key, 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (not_on_file(g, "ListParts"))
        return;
    if ((max = query_num(g, "max-parts", 1000, 1000)) < 0 ||
        (marker = query_num(g, "part-number-marker", 0, 10000)) < 0)
        return;
    g->op_state = ufs_list_parts(g->u, g->key, gw_query(g, "uploadId"), (unsigned)max,
                                 (unsigned)marker, on_parts, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument", "The parts could not be listed (invalid upload id).");
        return;
    }
    g->op_abort = list_cancel;
}

/* ---- ListMultipartUploads ----------------------------------------------------- */

static void on_uploads(void *arg, int err, const struct ufs_uploads_page *pg)
{
    struct gw_req *g = arg;
    struct evbuffer *b;
    const char *delim = gw_query(g, "delimiter");
    char date[40];
    if (err) {
        g->op_state = NULL;
        g->op_abort = NULL;
        gw_error_ufs(g, err);
        return;
    }
    b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<ListMultipartUploadsResult xmlns=\"" S3_NS "\">");
    elem(b, "Bucket", g->bucket);
    elem(b, "KeyMarker", gw_query(g, "key-marker"));
    elem(b, "UploadIdMarker", gw_query(g, "upload-id-marker"));
    if (pg->truncated) {
        /* where the next page starts; some S3-compatible stores (Swift)
         * leave these empty: the last upload listed is that place */
        const struct ufs_upload_entry *last = pg->n ? &pg->uploads[pg->n - 1] : NULL;
        int have = pg->next_key_marker && *pg->next_key_marker;
        elem(b, "NextKeyMarker", have ? pg->next_key_marker : last ? last->key : "");
        elem(b, "NextUploadIdMarker",
             have   ? pg->next_upload_id_marker
             : last ? last->upload_id
                    : "");
    }
    elem(b, "Prefix", gw_query(g, "prefix"));
    if (delim && *delim)
        elem(b, "Delimiter", delim);
    long max = query_num(g, "max-uploads", 1000, 1000); /* checked before the request */
    evbuffer_add_printf(b, "<MaxUploads>%ld</MaxUploads><IsTruncated>%s</IsTruncated>", max,
                        pg->truncated ? "true" : "false");
    for (size_t i = 0; i < pg->n; i++) {
        const struct ufs_upload_entry *u = &pg->uploads[i];
        evbuffer_add_printf(b, "<Upload>");
        elem(b, "Key", u->key);
        elem(b, "UploadId", u->upload_id);
        owner(b, g, "Initiator");
        owner(b, g, "Owner");
        gw_iso_date(u->initiated, date, sizeof(date));
        evbuffer_add_printf(b,
                            "<StorageClass>STANDARD</StorageClass><Initiated>%s</Initiated>"
                            "</Upload>",
                            date);
    }
    for (size_t i = 0; i < pg->n_prefixes; i++) {
        evbuffer_add_printf(b, "<CommonPrefixes>");
        elem(b, "Prefix", pg->prefixes[i]);
        evbuffer_add_printf(b, "</CommonPrefixes>");
    }
    evbuffer_add_printf(b, "</ListMultipartUploadsResult>\n");
    reply_xml(g, b);
}

void gw_list_uploads(struct gw_req *g)
{
    const char *prefix = gw_query(g, "prefix");
    long max;
    if (!gw_allowed(g, g->mount, prefix ? prefix : "", 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (not_on_file(g, "ListMultipartUploads"))
        return;
    if ((max = query_num(g, "max-uploads", 1000, 1000)) < 0)
        return;
    if (gw_query(g, "encoding-type") && strcmp(gw_query(g, "encoding-type"), "url") != 0) {
        gw_error(g, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
        return;
    }
    struct ufs_uploads_opts o = {prefix, gw_query(g, "delimiter"), gw_query(g, "key-marker"),
                                 gw_query(g, "upload-id-marker"), (unsigned)max};
    g->op_state = ufs_list_uploads(g->u, &o, on_uploads, g);
    if (!g->op_state) {
        gw_error(g, 400, "InvalidArgument",
                 "The uploads could not be listed (invalid parameters).");
        return;
    }
    g->op_abort = list_cancel;
}
