/* daemon/gateway/gw_bucket.c: bucket calls. For named mounts the bucket is the
 * mount (HeadBucket 200; creating it again is a no-op; deleting a mount is
 * refused). For buckets the pass-through mount "*" serves, they go to the
 * mount's S3 endpoint: HeadBucket, CreateBucket, DeleteBucket; and
 * ListBuckets lists the named mounts and the endpoint's buckets.
 * POST ?delete (DeleteObjects) is handed to gw_delete_multi.c. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_passthrough(const struct gw_req *g)
{
    return g->mount == g->ctx->star && g->ctx->star >= 0;
}

static void reply_empty(struct gw_req *g, int status)
{
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_start(g->r, status, 0);
    http_resp_end(g->r);
    gw_done(g, status);
}

static void bucket_cancel(struct gw_req *g)
{
    ufs_cancel(g->op_state);
}

static void on_bucket_done(void *arg, int err)
{
    struct gw_req *g = arg;
    const char *m = http_req_method(g->r);
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err && ufs_error_detail()) { /* S3 said which: BucketNotEmpty, InvalidBucketName, ... */
        gw_error_ufs(g, err);
        return;
    }
    if (err == UFS_ECONFLICT && strcmp(m, "DELETE") == 0) {
        gw_error(g, 409, "BucketNotEmpty", "The bucket you tried to delete is not empty.");
        return;
    }
    if (err == UFS_ECONFLICT) {
        gw_error(g, 409, "BucketAlreadyExists",
                 "The requested bucket name is not available. Select a different name.");
        return;
    }
    if (err) {
        gw_error_ufs(g, err);
        return;
    }
    if (strcmp(m, "PUT") == 0) {
        char loc[300];
        snprintf(loc, sizeof(loc), "/%s", g->bucket);
        http_resp_header(g->r, "Location", loc);
        reply_empty(g, 200);
    } else {
        reply_empty(g, 204);
    }
}

/* HeadBucket on a pass-through bucket: one listing of at most one key. */
static void on_head_page(void *arg, int err, const struct ufs_list_page *pg)
{
    struct gw_req *g = arg;
    (void)pg;
    g->op_state = NULL;
    g->op_abort = NULL;
    if (err) {
        gw_error_ufs(g, err);
        return;
    }
    reply_empty(g, 200);
}

void gw_bucket_op(struct gw_req *g)
{
    const char *m = http_req_method(g->r);
    int write = strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
    if (strcmp(m, "POST") == 0 && gw_query(g, "delete")) {
        gw_delete_objects(g); /* permissions are per key */
        return;
    }
    if (!gw_allowed(g, g->mount, "", write)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (strcmp(m, "HEAD") == 0) {
        if (!is_passthrough(g)) {
            reply_empty(g, 200);
            return;
        }
        struct ufs_list_opts o = {NULL, NULL, NULL, NULL, 1};
        g->op_state = ufs_list(g->u, &o, on_head_page, g);
    } else if (strcmp(m, "PUT") == 0) {
        if (!is_passthrough(g)) { /* the mount is the bucket: it exists */
            reply_empty(g, 200);
            return;
        }
        g->op_state = ufs_create_bucket(g->svc ? g->svc : g->l->svc, g->bucket, on_bucket_done, g);
    } else if (strcmp(m, "DELETE") == 0) {
        if (!is_passthrough(g)) {
            gw_error(g, 403, "AccessDenied",
                     "This bucket is a configured mount; remove it from the configuration.");
            return;
        }
        g->op_state = ufs_delete_bucket(g->svc ? g->svc : g->l->svc, g->bucket, on_bucket_done, g);
    } else {
        gw_error(g, 501, "NotImplemented",
                 "This bucket operation is not implemented by the gateway.");
        return;
    }
    if (!g->op_state) {
        gw_error(g, 400, "InvalidBucketName", "The specified bucket is not valid.");
        return;
    }
    g->op_abort = bucket_cancel;
}
