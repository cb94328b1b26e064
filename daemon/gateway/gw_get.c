/* daemon/gateway/gw_get.c: GetObject and HeadObject through the cache.
 *
 * Metadata (size, ETag) from the metadata cache, then the conditional
 * headers, then the range; then the blocks that cover the range, in order,
 * each from the memory tier, the disk tier, or a fill from S3 (joined when
 * one is in flight), sent as their bytes arrive, with the next blocks
 * prefetched. Block ids are ring_block_id(mount, key, ETag, block size,
 * index), the ids the cluster will place. The status line goes out with the
 * first bytes, so a miss that S3 cannot serve still gets a proper 503; a
 * failure after bytes went out closes the connection (a short body). */
#include "daemon/gateway/gw_int.h"

#include "client/wire.h"
#include "daemon/cluster/peer.h"
#include "daemon/store/fill.h"
#include "daemon/http/http.h"
#include "daemon/log.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#define GET_HIGH_WATER (8u << 20) /* pause sending above this much queued */
#define GET_LOW_WATER (2u << 20)
#define GET_PREFETCH 8 /* blocks requested ahead of the one being sent ... */
#define GET_RUN 4      /* ... in S3 requests of up to this many blocks */
/* Ranges of up to this many blocks take the parts they need of the first
 * and last blocks, when they need only part of them and this node does not
 * own them, straight from an owner (gw_proxy.c): the bytes asked cross the
 * hop, not the whole block. Whole blocks come through the fill path (read
 * ahead in parallel), where concurrent reads of one block on this node
 * share one transfer (in bench_cluster's case 1, 15% of the requests: its
 * CPU per request was 470-500 us that way, 560-600 proxied). */
#define GET_PROXY_SPAN 4
/* A fill refused for want of request memory once the response has started
 * is tried again (memory comes back as other responses drain): after 10 ms,
 * doubling up to 250 ms, for about 15 s per block before the body is cut. */
#define GET_MEM_RETRIES 64
#define GET_MEM_DELAY_MS 10
#define GET_MEM_DELAY_MAX_MS 250

struct get {
    struct gw_req *g;
    struct ufs_stat st;        /* st.headers: NULL (they are in headers) */
    char *headers;             /* the object's kept headers, or NULL */
    uint64_t first, last, pos; /* inclusive range; next byte to send */
    int status, partial, started, retried;
    struct meta_wait *mw;
    struct fill_wait *fw;
    uint64_t fw_idx; /* the block fw fills */
    struct store_load *sl;
    struct gw_proxy *px;
    int proxy_ok;         /* a short range: blocks not owned are proxied (gw_proxy.c) */
    uint64_t prefetched;  /* blocks below this index were prefetched */
    struct event *mem_ev; /* a refused fill's retry, or NULL */
    unsigned mem_retries;
};

static void get_next(struct get *s);
static void got_meta(struct get *s);

static void get_free(struct get *s)
{
    s->g->op_state = NULL;
    s->g->op_abort = NULL;
    if (s->mem_ev)
        event_free(s->mem_ev);
    free(s->headers);
    free(s);
}

static void get_abort(struct gw_req *g)
{
    struct get *s = g->op_state;
    meta_wait_cancel(s->mw);
    fill_wait_cancel(s->fw);
    store_load_cancel(s->sl);
    gw_proxy_cancel(s->px);
    get_free(s);
}

static void finish(struct get *s)
{
    struct gw_req *g = s->g;
    int status = s->status;
    http_resp_end(g->r);
    get_free(s);
    gw_done(g, status);
}

static void fail(struct get *s, int err)
{
    struct gw_req *g = s->g;
    int started = s->started;
    get_free(s);
    if (!started) {
        gw_error_ufs(g, err);
        return;
    }
    char qb[2 * GW_KEY_MAX + 64], qk[4 * GW_KEY_MAX + 3];
    shd_warn("gateway", "read failed after the response started bucket=%s key=%s err=\"%s\"",
             shd_log_q(g->bucket, qb, sizeof(qb)), shd_log_q(g->key, qk, sizeof(qk)),
             ufs_strerror(err));
    http_resp_abort(g->r);
    gw_done(g, 500);
}

/* ---- headers ------------------------------------------------------------ */

/* RFC 7232 section 6 order. Returns 0 to go on, or the status to answer. */
static int preconditions(struct gw_req *g, const struct ufs_stat *st)
{
    const char *im = http_req_header(g->r, "if-match");
    const char *ius = http_req_header(g->r, "if-unmodified-since");
    const char *inm = http_req_header(g->r, "if-none-match");
    const char *ims = http_req_header(g->r, "if-modified-since");
    int64_t t;
    if (im) {
        if (!gw_etag_matches(im, st->etag))
            return 412;
    } else if (ius && gw_parse_http_date(ius, &t) == 0 && st->mtime > t) {
        return 412;
    }
    if (inm) {
        if (gw_etag_matches(inm, st->etag))
            return 304;
    } else if (ims && gw_parse_http_date(ims, &t) == 0 && st->mtime <= t) {
        return 304;
    }
    return 0;
}

/* Parses a Range header against size. Returns 0 (range set in s), 1 (no
 * usable range: the whole object), or 416. */
static int parse_range(const char *h, uint64_t size, struct get *s)
{
    unsigned long long a, b;
    char *end;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 1;
    h += 6;
    if (*h == '-') {
        if (h[1] < '0' || h[1] > '9')
            return 1;
        b = strtoull(h + 1, &end, 10);
        if (*end)
            return 1;
        if (b == 0 || size == 0)
            return 416;
        s->first = b >= size ? 0 : size - b;
        s->last = size - 1;
        return 0;
    }
    if (*h < '0' || *h > '9')
        return 1;
    a = strtoull(h, &end, 10);
    if (*end != '-')
        return 1;
    if (end[1] == '\0') {
        b = UINT64_MAX;
    } else {
        if (end[1] < '0' || end[1] > '9')
            return 1;
        b = strtoull(end + 1, &end, 10);
        if (*end || b < a)
            return 1;
    }
    if (a >= size)
        return 416;
    s->first = a;
    s->last = b >= size ? size - 1 : b;
    return 0;
}

/* The kept headers ("name: value\r\n" lines) as response headers, but
 * those a response-* parameter sets. */
static void add_kept_headers(struct gw_req *g, const char *h)
{
    char name[128], value[UFS_HEADERS_MAX];
    while (h && *h) {
        const char *colon = strchr(h, ':'), *eol = strstr(h, "\r\n");
        if (!colon || !eol || colon > eol)
            break;
        size_t nl = (size_t)(colon - h), vl = (size_t)(eol - colon - 2);
        if (nl < sizeof(name) && colon[1] == ' ' && vl < sizeof(value)) {
            char param[160];
            memcpy(name, h, nl);
            name[nl] = '\0';
            memcpy(value, colon + 2, vl);
            value[vl] = '\0';
            snprintf(param, sizeof(param), "response-%s", name);
            if (strncmp(name, "x-amz-meta-", 11) == 0 || !gw_query(g, param))
                http_resp_header(g->r, name, value);
        }
        h = eol + 2;
    }
}

static void add_object_headers(struct gw_req *g, const struct ufs_stat *st, const char *kept)
{
    char date[64];
    static const struct {
        const char *param, *header;
    } overrides[] = {
        {"response-content-type", "Content-Type"},
        {"response-content-disposition", "Content-Disposition"},
        {"response-cache-control", "Cache-Control"},
        {"response-content-encoding", "Content-Encoding"},
        {"response-content-language", "Content-Language"},
        {"response-expires", "Expires"},
    };
    http_resp_header(g->r, "x-amz-request-id", g->request_id);
    http_resp_header(g->r, "ETag", st->etag);
    gw_http_date(st->mtime, date, sizeof(date));
    http_resp_header(g->r, "Last-Modified", date);
    http_resp_header(g->r, "Accept-Ranges", "bytes");
    for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
        const char *v = gw_query(g, overrides[i].param);
        if (v)
            http_resp_header(g->r, overrides[i].header, v);
        else if (i == 0)
            http_resp_header(g->r, "Content-Type",
                             st->content_type[0] ? st->content_type : "binary/octet-stream");
    }
    add_kept_headers(g, kept);
}

static void start_response(struct get *s)
{
    struct gw_req *g = s->g;
    uint64_t len = s->st.size == 0 ? 0 : s->last - s->first + 1;
    if (s->started)
        return;
    s->started = 1;
    add_object_headers(g, &s->st, s->headers);
    if (s->partial) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, s->first, s->last,
                 s->st.size);
        http_resp_header(g->r, "Content-Range", cr);
    }
    http_resp_start(g->r, s->status, len);
}

/* ---- blocks --------------------------------------------------------------- */

static void block_unref(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    store_block_unref(arg);
}

/* Sends the bytes of block b (index idx, `avail` valid from its start) that
 * fall in the range and have not been sent. */
static void send_from(struct get *s, struct store_block *b, uint64_t idx, size_t avail, int from_s3)
{
    uint64_t bs = s->g->ctx->block_size, start = idx * bs;
    uint64_t end = start + avail; /* exclusive */
    if (end > s->last + 1)
        end = s->last + 1;
    if (s->pos >= end)
        return;
    size_t n = (size_t)(end - s->pos);
    start_response(s);
    http_resp_write_ref(s->g->r, store_block_data(b) + (s->pos - start), n, block_unref,
                        store_block_ref(b));
    s->pos += n;
    if (from_s3)
        SHD_METRIC_ADD(bytes_from_s3, n);
    else
        SHD_METRIC_ADD(bytes_from_cache, n);
}

static void block_id(struct get *s, uint64_t idx, uint8_t id[RING_ID_LEN])
{
    struct gw_req *g = s->g;
    ring_block_id(g->mname, g->key, s->st.etag, g->ctx->block_size, idx, id);
}

static size_t block_len(struct get *s, uint64_t idx)
{
    uint64_t bs = s->g->ctx->block_size, rest = s->st.size - idx * bs;
    return (size_t)(rest < bs ? rest : bs);
}

/* The route of block ID: with the mount's own S3 identity, the ring's
 * (peer_route); a tenant's own identity reads S3 itself (peers fill with
 * the mount's). */
static const struct peer_route *route_of(struct get *s, const uint8_t *id, struct peer_route *rt)
{
    if (s->g->who >= 0)
        return NULL;
    peer_route(s->g->ctx, id, rt);
    return rt;
}

static void fill_req_of(struct get *s, uint64_t idx, const uint8_t *id, const struct peer_route *rt,
                        struct fill_req *out)
{
    struct gw_req *g = s->g;
    *out = (struct fill_req){g->u, g->mount, g->key,    s->st.etag, idx, block_len(s, idx),
                             id,   rt,       g->bucket, s->st.size};
}

/* The last block a cold run from IDX may fill: GET_RUN blocks, not past the
 * range. */
static uint64_t run_end(struct get *s, uint64_t idx)
{
    uint64_t lastb = s->last / s->g->ctx->block_size;
    return idx + GET_RUN - 1 < lastb ? idx + GET_RUN - 1 : lastb;
}

static void obj_of(struct get *s, struct fill_obj *o)
{
    struct gw_req *g = s->g;
    *o = (struct fill_obj){g->u, g->mount, g->mname, g->key, s->st.etag, g->bucket, s->st.size};
}

/* missing_run: how many consecutive blocks from FROM (at most GET_RUN, not
 * past the range) neither tier holds, with a tenant's own S3 identity
 * (read here, no route): their fill requests into REQS, ids into IDS. */
static size_t missing_run(struct get *s, uint64_t from, struct fill_req *reqs,
                          uint8_t (*ids)[RING_ID_LEN])
{
    struct gw_req *g = s->g;
    uint64_t lastb = s->last / g->ctx->block_size;
    size_t n = 0;
    for (uint64_t i = from; i <= lastb && n < GET_RUN; i++, n++) {
        struct store_block *b;
        block_id(s, i, ids[n]);
        b = store_get(g->ctx->store, ids[n]);
        store_block_unref(b);
        if (b || store_on_disk(g->ctx->store, ids[n]))
            break;
        fill_req_of(s, i, ids[n], NULL, &reqs[n]);
    }
    return n;
}

/* Starts the fill of missing block IDX (its id ID): from S3 by aligned runs
 * when this node is its primary owner (fill_cold_start), else from its
 * owners. */
static void start_fill(struct get *s, uint64_t idx, const uint8_t *id)
{
    struct gw_req *g = s->g;
    struct peer_route rt;
    struct fill_req fr;
    const struct peer_route *r = route_of(s, id, &rt);
    if (r && r->primary) {
        struct fill_obj o;
        obj_of(s, &o);
        fill_cold_start(g->ctx->fills, g->l, &o, idx, idx, run_end(s, idx));
        return;
    }
    fill_req_of(s, idx, id, r, &fr);
    fill_run(g->ctx->fills, g->l, &fr, 1);
}

/* Whether block ID is one this node neither owns nor fills, with its route
 * in RT. */
static int not_owned(struct shd_ctx *ctx, const uint8_t *id, struct peer_route *rt)
{
    peer_route(ctx, id, rt);
    return !rt->owner && !rt->primary && rt->npeers;
}

/* Whether the range wants only part of block IDX, and is short enough for
 * that part to be proxied rather than the block filled. */
static int partial(struct get *s, uint64_t idx)
{
    uint64_t start = idx * s->g->ctx->block_size, end = start + block_len(s, idx);
    return s->proxy_ok && (s->first > start || s->last + 1 < end);
}

/* Read-ahead: keeps the blocks up to GET_PREFETCH past IDX requested: runs
 * of up to GET_RUN blocks per S3 request, or from their owners. */
static void prefetch(struct get *s, uint64_t idx)
{
    struct gw_req *g = s->g;
    uint64_t lastb = s->last / g->ctx->block_size;
    struct fill_req reqs[GET_RUN];
    uint8_t ids[GET_RUN][RING_ID_LEN];
    if (s->prefetched < idx + 1)
        s->prefetched = idx + 1;
    while (s->prefetched <= lastb && s->prefetched <= idx + GET_PREFETCH) {
        if (g->who >= 0) {
            size_t n = missing_run(s, s->prefetched, reqs, ids);
            if (n)
                fill_run(g->ctx->fills, g->l, reqs, n); /* blocks in flight already: skipped */
            s->prefetched += n ? n : 1;
            continue;
        }
        uint8_t id[RING_ID_LEN];
        struct peer_route rt;
        block_id(s, s->prefetched, id);
        if (!store_holds(g->ctx->store, id) &&
            !(partial(s, s->prefetched) && not_owned(g->ctx, id, &rt))) /* proxied in turn */
            start_fill(s, s->prefetched, id); /* in flight already: nothing new */
        s->prefetched++;
    }
}

static void on_fill(void *arg, struct store_block *b, size_t avail, int done, int err);

/* Waits for block IDX (missing from both tiers): joins its fill, or starts
 * one from its owners or S3. */
static void fill_one(struct get *s, uint64_t idx)
{
    struct gw_req *g = s->g;
    uint8_t id[RING_ID_LEN];
    struct peer_route rt;
    struct fill_req fr;
    block_id(s, idx, id);
    s->fw_idx = idx;
    const struct peer_route *r = route_of(s, id, &rt);
    if (r && r->primary) {
        struct fill_obj o;
        obj_of(s, &o);
        s->fw = fill_cold(g->ctx->fills, g->l, &o, idx, idx, run_end(s, idx), on_fill, s);
        return;
    }
    fill_req_of(s, idx, id, r, &fr);
    s->fw = fill_block(g->ctx->fills, g->l, &fr, on_fill, s);
}

/* A miss on block IDX: its fill (with the missing blocks after it in the
 * same S3 request where it can), then the read-ahead past them. */
static void fill_from(struct get *s, uint64_t idx)
{
    struct gw_req *g = s->g;
    struct fill_req reqs[GET_RUN];
    uint8_t ids[GET_RUN][RING_ID_LEN];
    if (g->who >= 0) {
        size_t n = missing_run(s, idx, reqs, ids);
        if (n > 1 && fill_run(g->ctx->fills, g->l, reqs, n) && s->prefetched < idx + n)
            s->prefetched = idx + n;
    }
    fill_one(s, idx); /* first: the run that holds it starts at its filler */
    prefetch(s, idx);
}

static void retry_meta(struct get *s);

static void mem_retry_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    get_next(arg);
}

/* A fill refused for memory after bytes went out: tried again later rather
 * than cutting the body (see GET_MEM_RETRIES). 1 when a retry is set. */
static int mem_retry(struct get *s)
{
    unsigned ms = GET_MEM_DELAY_MS << (s->mem_retries < 5 ? s->mem_retries : 5);
    if (!s->started || s->mem_retries >= GET_MEM_RETRIES)
        return 0;
    if (ms > GET_MEM_DELAY_MAX_MS)
        ms = GET_MEM_DELAY_MAX_MS;
    if (!s->mem_ev) {
        s->mem_ev = evtimer_new(s->g->l->base, mem_retry_ev, s);
        if (!s->mem_ev)
            return 0;
    }
    s->mem_retries++;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->mem_ev, &tv);
    return 1;
}

/* A fill's bytes of block fw_idx. Not s->pos's block: a progress call can
 * carry the whole block, moving pos into the next one before the final
 * call (done, no new bytes) comes. */
static void on_fill(void *arg, struct store_block *b, size_t avail, int done, int err)
{
    struct get *s = arg;
    uint64_t idx = s->fw_idx;
    if (err) {
        s->fw = NULL;
        if (err == UFS_EPRECOND) { /* the object changed under us */
            meta_invalidate(s->g->ctx->meta, s->g->mns, s->g->mkey);
            if (!s->started && !s->retried) {
                retry_meta(s);
                return;
            }
        }
        if (err == UFS_ENOMEM && mem_retry(s))
            return;
        fail(s, err);
        return;
    }
    send_from(s, b, idx, avail, 1);
    if (done) {
        s->fw = NULL;
        s->mem_retries = 0; /* the retries are per block */
        get_next(s);
    }
}

static void on_load(void *arg, int err, struct store_block *b)
{
    struct get *s = arg;
    uint64_t idx = s->pos / s->g->ctx->block_size;
    s->sl = NULL;
    if (err) { /* gone or corrupt: fill it */
        SHD_METRIC_INC(misses);
        fill_one(s, idx);
        return;
    }
    SHD_METRIC_INC(hits);
    send_from(s, b, idx, store_block_len(b), 0);
    store_block_unref(b);
    get_next(s);
}

static void on_drain(void *arg)
{
    get_next(arg);
}

static void proxy_start(void *arg)
{
    start_response(arg);
}

/* The proxied part of block fw_idx ended: SENT of its bytes went. The
 * rest, if any, through the fill path (an owner's fill, or S3). */
static void on_proxied(void *arg, int err, size_t sent)
{
    struct get *s = arg;
    s->px = NULL;
    s->pos += sent;
    if (!err) {
        get_next(s);
        return;
    }
    if (err == UFS_EPRECOND) {
        on_fill(s, NULL, 0, 1, err); /* the object changed under us: as a fill says it */
        return;
    }
    if (err == UFS_ECANCELED) { /* the node is stopping */
        fail(s, err);
        return;
    }
    fill_from(s, s->fw_idx);
}

/* Block IDX (id ID), missing here: when this node does not own it and the
 * range is short, the part of it the range needs is proxied from an owner
 * (1); else 0. */
static int proxy(struct get *s, uint64_t idx, const uint8_t *id)
{
    struct gw_req *g = s->g;
    struct peer_route rt;
    uint64_t start = idx * g->ctx->block_size, end = start + block_len(s, idx);
    if (!partial(s, idx) || !not_owned(g->ctx, id, &rt))
        return 0;
    if (end > s->last + 1)
        end = s->last + 1;
    struct peer_block_ref ref = {g->bucket,  g->key, s->st.etag,
                                 s->st.size, idx,    rt.local ? WIRE_F_LOCAL : 0};
    s->fw_idx = idx;
    s->px = gw_proxy_start(g, &rt, &ref, (uint32_t)(s->pos - start), (uint32_t)(end - s->pos),
                           block_len(s, idx), proxy_start, on_proxied, s);
    return s->px != NULL;
}

/* Sends what the cache has, one block after another; returns when a block
 * must come from disk or S3 (a callback resumes) or the range is done. */
static void get_next(struct get *s)
{
    struct gw_req *g = s->g;
    uint64_t bs = g->ctx->block_size;
    while (s->pos <= s->last && s->st.size > 0) {
        if (http_resp_pending(g->r) > GET_HIGH_WATER) {
            http_resp_on_drain(g->r, GET_LOW_WATER, on_drain, s);
            return;
        }
        uint64_t idx = s->pos / bs;
        uint8_t id[RING_ID_LEN];
        struct store_block *b;
        block_id(s, idx, id);
        b = store_get(g->ctx->store, id);
        if (b) {
            prefetch(s, idx); /* on hits too: read-ahead must not drain */
            SHD_METRIC_INC(hits);
            send_from(s, b, idx, store_block_len(b), 0);
            store_block_unref(b);
            continue;
        }
        if (store_on_disk(g->ctx->store, id)) {
            prefetch(s, idx);
            s->sl = store_load(g->ctx->store, g->l->base, id, on_load, s);
            if (s->sl)
                return;
        }
        SHD_METRIC_INC(misses);
        if (!proxy(s, idx, id))
            fill_from(s, idx);
        return;
    }
    start_response(s);
    finish(s);
}

/* ---- metadata ------------------------------------------------------------- */

static void on_meta(void *arg, int err, const struct ufs_stat *st)
{
    struct get *s = arg;
    s->mw = NULL;
    if (err) {
        fail(s, err);
        return;
    }
    s->st = *st;
    s->st.headers = NULL; /* borrowed for this call: copied */
    free(s->headers);
    s->headers = st->headers ? shd_xstrdup(st->headers) : NULL;
    got_meta(s);
}

static void retry_meta(struct get *s)
{
    s->retried = 1;
    s->mw = meta_fetch(s->g->ctx->meta, s->g->l, s->g->u, s->g->mns, s->g->mkey, s->g->key,
                       s->g->who < 0 ? s->g->bucket : NULL, on_meta, s);
}

static void got_meta(struct get *s)
{
    struct gw_req *g = s->g;
    int pre = preconditions(g, &s->st), rng;
    if (pre == 412) {
        get_free(s);
        gw_error(g, 412, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold.");
        return;
    }
    if (pre == 304) {
        add_object_headers(g, &s->st, s->headers);
        http_resp_start(g->r, 304, 0);
        http_resp_end(g->r);
        get_free(s);
        gw_done(g, 304);
        return;
    }
    s->status = 200;
    s->first = 0;
    s->last = s->st.size ? s->st.size - 1 : 0;
    rng = parse_range(http_req_header(g->r, "range"), s->st.size, s);
    if (rng == 416) {
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, s->st.size);
        http_resp_header(g->r, "Content-Range", cr);
        get_free(s);
        gw_error(g, 416, "InvalidRange", "The requested range is not satisfiable");
        return;
    }
    if (rng == 0) {
        s->status = 206;
        s->partial = 1;
    }
    s->pos = s->first;
    s->proxy_ok = g->who < 0 && s->last - s->first < GET_PROXY_SPAN * g->ctx->block_size;
    if (g->op == SHD_OP_HEAD || s->st.size == 0) {
        start_response(s);
        finish(s);
        return;
    }
    get_next(s);
}

/* Whether a response-* override holds a control byte: it becomes a
 * response header, so a CR LF in it would start another one. */
static int bad_override(const struct gw_req *g)
{
    for (size_t i = 0; i < g->nq; i++) {
        if (strncmp(g->q[i].name, "response-", 9) != 0 || !g->q[i].value)
            continue;
        for (const unsigned char *p = (const unsigned char *)g->q[i].value; *p; p++)
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                return 1;
    }
    return 0;
}

void gw_get_object(struct gw_req *g)
{
    struct get *s;
    if (!gw_allowed(g, g->mount, g->key, 0)) {
        gw_error(g, 403, "AccessDenied", "Access Denied");
        return;
    }
    if (bad_override(g)) {
        gw_error(g, 400, "InvalidArgument", "A response-* parameter holds a control character.");
        return;
    }
    s = shd_xcalloc(1, sizeof(*s));
    s->g = g;
    g->op_state = s;
    g->op_abort = get_abort;
    if (meta_get(g->ctx->meta, g->u, g->mns, g->mkey, g->key, &s->st) == 0) {
        char h[UFS_HEADERS_MAX];
        if (meta_headers(g->ctx->meta, g->mns, g->mkey, s->st.etag, h, sizeof(h)) > 0)
            s->headers = shd_xstrdup(h);
        got_meta(s);
        return;
    }
    s->mw = meta_fetch(g->ctx->meta, g->l, g->u, g->mns, g->mkey, g->key,
                       g->who < 0 ? g->bucket : NULL, on_meta, s);
}
