/* daemon/admin_blocks.c: /v1/blocks on the admin port: where the blocks of
 * one object version live, as this node's view places them, and whether
 * this node holds each. For operators ("which nodes hold this file?") and
 * for tests that count copies per block.
 *
 *   GET /v1/blocks?bucket=B&key=K&etag=E&size=N
 *   {"bucket": ..., "key": ..., "block_size": ..., "epoch": "...", "node": "n1",
 *    "blocks": [{"index": 0, "id": "hex", "owners": ["n2", "n3"], "owner": false,
 *                "held": true}, ...]}
 *
 * The ETag (with its quotes) and size are the caller's: the endpoint reads
 * nothing from S3. At most ADMIN_BLOCKS_MAX blocks are listed. */
#include "daemon/serve_int.h"

#include "daemon/xalloc.h"
#include "daemon/cluster/cluster.h"
#include "daemon/store/store.h"
#include "ring/ring.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_BLOCKS_MAX 65536

static const char *member_name(const struct cluster_view *v, const uint8_t id[RING_ID_LEN])
{
    for (size_t i = 0; i < v->nmembers; i++)
        if (memcmp(v->members[i].id, id, RING_ID_LEN) == 0)
            return v->members[i].name;
    return "?";
}

/* 0 and the JSON in B, or an HTTP status with its message in *WHY. */
int shd_admin_blocks(struct shd_server *srv, const struct evhttp_uri *u, struct evbuffer *b,
                     const char **why)
{
    struct shd_ctx *ctx = &srv->ctx;
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(u);
    int status = 400;
    TAILQ_INIT(&q);
    *why = "want ?bucket=B&key=K&etag=E&size=N\n";
    if (!query || evhttp_parse_query_str(query, &q) != 0)
        return 400;
    const char *bucket = evhttp_find_header(&q, "bucket"), *key = evhttp_find_header(&q, "key");
    const char *etag = evhttp_find_header(&q, "etag"), *size_s = evhttp_find_header(&q, "size");
    char *end = NULL;
    unsigned long long size = size_s ? strtoull(size_s, &end, 10) : 0;
    const struct cluster_view *v = srv->cluster ? cluster_view(srv->cluster) : NULL;
    if (!bucket || !*bucket || !key || !*key || !etag || !*etag || !size_s || !*size_s || *end)
        goto out;
    int m = shd_mount_find(ctx, bucket);
    const char *mname = m >= 0 ? ctx->cfg->mounts[m].name : ctx->star >= 0 ? bucket : NULL;
    if (!mname) {
        *why = "no such bucket on this node\n";
        status = 404;
        goto out;
    }
    uint64_t bs = ctx->block_size, n = (size + bs - 1) / bs;
    if (n > ADMIN_BLOCKS_MAX) {
        *why = "more blocks than /v1/blocks lists\n";
        goto out;
    }
    evbuffer_add_printf(b, "{\"bucket\": ");
    cluster_json_str(b, bucket);
    evbuffer_add_printf(b, ", \"key\": ");
    cluster_json_str(b, key);
    evbuffer_add_printf(b, ", \"block_size\": %" PRIu64 ", \"epoch\": \"%016" PRIx64 "\", ", bs,
                        v ? v->epoch : 0);
    evbuffer_add_printf(b, "\"node\": ");
    cluster_json_str(b, ctx->cfg->node.name);
    evbuffer_add_printf(b, ", \"blocks\": [");
    for (uint64_t i = 0; i < n; i++) {
        uint8_t id[RING_ID_LEN];
        char hex[2 * RING_ID_LEN + 1];
        uint32_t own[RING_REPLICAS_MAX];
        size_t no = 0;
        int mine = v == NULL || ring_size(v->ring) == 0;
        if (ring_block_id(mname, key, etag, bs, i, id) != 0)
            shd_oom(0);
        ring_id_hex(id, hex);
        evbuffer_add_printf(b, "%s{\"index\": %" PRIu64 ", \"id\": \"%s\", \"owners\": [",
                            i ? ", " : "", i, hex);
        if (v)
            no = ring_owners(v->ring, id, ctx->cfg->cluster.replication, own);
        for (size_t k = 0; k < no; k++) {
            const struct ring_member *rm = ring_member_at(v->ring, own[k]);
            evbuffer_add_printf(b, "%s", k ? ", " : "");
            cluster_json_str(b, member_name(v, rm->id));
            if ((int)own[k] == v->self)
                mine = 1;
        }
        evbuffer_add_printf(b, "], \"owner\": %s, \"held\": %s}", mine ? "true" : "false",
                            store_holds(ctx->store, id) ? "true" : "false");
    }
    evbuffer_add_printf(b, "]}\n");
    status = 0;
out:
    evhttp_clear_headers(&q);
    return status;
}
