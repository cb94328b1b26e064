/* daemon/gateway/gw_proxy.c: the bytes of a block this node does not own,
 * for one response: asked of its owners (primary first) for exactly the
 * part the response needs, read from the peer socket straight into a
 * buffer and sent on as they come. The node keeps no copy (it does not own
 * the block), so nothing is stored and no fill is made: a range that needs
 * the last 100 KiB of a block moves 100 KiB over the hop, not the block.
 *
 * Each owner is asked for the bytes still missing when the one before it
 * failed; when none is left, the caller gets the count of bytes sent and
 * carries on through the fill path (S3 as the last resort). */
#include "daemon/gateway/gw_int.h"

#include "daemon/cluster/peer.h"
#include "daemon/http/http.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define PROXY_BATCH (256u << 10)

struct gw_proxy {
    struct gw_req *g;
    struct peer_route rt; /* the owners, primary first */
    size_t pi;            /* the owner being asked */
    struct peer_block_ref ref;
    uint32_t off, len;       /* the part of the block wanted */
    struct store_block *buf; /* its bytes, from the start of buf's data */
    size_t got;              /* bytes come in */
    size_t sent;             /* bytes of them sent on */
    struct peer_call *pc;
    void (*start)(void *arg);
    void (*done)(void *arg, int err, size_t sent);
    void *arg;
};

static void proxy_free(struct gw_proxy *x)
{
    peer_call_cancel(x->pc);
    shd_budget_give(&x->g->ctx->reqmem, SHD_MEM_FILL, store_block_len(x->buf));
    store_block_unref(x->buf);
    free(x);
}

void gw_proxy_cancel(struct gw_proxy *x)
{
    if (x)
        proxy_free(x);
}

static void buf_unref(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    store_block_unref(arg);
}

/* What came and was not sent, sent on. */
static void flush(struct gw_proxy *x)
{
    size_t n = x->got - x->sent;
    if (!n)
        return;
    if (x->start) {
        x->start(x->arg);
        x->start = NULL;
    }
    http_resp_write_ref(x->g->r, store_block_data(x->buf) + x->sent, n, buf_unref,
                        store_block_ref(x->buf));
    x->sent = x->got;
    SHD_METRIC_ADD(bytes_from_cache, n);
}

static int proxy_data(void *arg, const void *p, size_t n)
{
    struct gw_proxy *x = arg;
    uint8_t *to = store_block_data(x->buf) + x->got;
    if (p != to) /* else read there already (peer_read's DST) */
        memcpy(to, p, n);
    x->got += n;
    /* sent on in pieces of PROXY_BATCH: each write to the client is a
     * system call and its TCP segments, for the client to take one by one */
    if (x->got - x->sent >= PROXY_BATCH || x->got == x->len)
        flush(x);
    return UFS_READ_GO;
}

static const struct ufs_read_cbs proxy_cbs;

static void ask(struct gw_proxy *x)
{
    x->pc = peer_read(x->g->l, &x->rt.peers[x->pi], &x->ref, x->off + (uint32_t)x->got,
                      x->len - (uint32_t)x->got, store_block_data(x->buf) + x->got, &proxy_cbs, x);
}

static void proxy_done(void *arg, int err, const struct ufs_stat *st)
{
    struct gw_proxy *x = arg;
    (void)st;
    x->pc = NULL;
    if (err && err != UFS_EPRECOND && err != UFS_ENOENT && err != UFS_ECANCELED &&
        ++x->pi < x->rt.npeers) {
        ask(x); /* the next owner, for the rest */
        return;
    }
    flush(x);
    void (*done)(void *, int, size_t) = x->done;
    void *a = x->arg;
    size_t sent = x->got;
    proxy_free(x);
    done(a, err, sent);
}

static const struct ufs_read_cbs proxy_cbs = {proxy_data, proxy_done};

struct gw_proxy *gw_proxy_start(struct gw_req *g, const struct peer_route *rt,
                                const struct peer_block_ref *ref, uint32_t off, uint32_t len,
                                size_t block_len, void (*start)(void *arg),
                                void (*done)(void *arg, int err, size_t sent), void *arg)
{
    uint8_t id[RING_ID_LEN] = {0}; /* never stored: any id */
    if (shd_budget_take(&g->ctx->reqmem, SHD_MEM_FILL, block_len) != 0)
        return NULL; /* the fill path waits for memory, or says 503 */
    struct gw_proxy *x = shd_xcalloc(1, sizeof(*x));
    x->g = g;
    x->rt = *rt;
    x->ref = *ref;
    x->off = off;
    x->len = len;
    /* the block's whole length, though only LEN is used: buffers of one
     * size come back from the store's pool instead of being mapped afresh */
    x->buf = store_block_new(id, block_len);
    if (!x->buf)
        shd_oom(block_len);
    x->start = start;
    x->done = done;
    x->arg = arg;
    ask(x);
    return x;
}
