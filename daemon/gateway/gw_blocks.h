/* daemon/gateway/gw_blocks.h: an upload's bytes staged for write-through
 * caching (gw_upload.c), for the gateway's writes and the peer protocol's
 * OPUT (daemon/cluster/peer_oput.c). */
#ifndef SHOAL_DAEMON_GW_BLOCKS_H
#define SHOAL_DAEMON_GW_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

struct shd_ctx;

/* Bytes of an upload kept for write-through caching, in
 * block-size buffers allocated as the bytes come, under a reservation of
 * the request memory budget made up front for the declared size. */
struct gw_blocks {
    struct shd_ctx *ctx; /* NULL: nothing reserved (not staging) */
    uint8_t **blk;
    size_t nblk;
    uint64_t bs, len, cap; /* block size, bytes in, bytes reserved */
};
/* Reserves size bytes (optional memory: see shd_budget_take_spare): 0, or
 * -1 when the upload is not to be staged (*s then stages nothing). */
int gw_blocks_reserve(struct gw_blocks *s, struct shd_ctx *ctx, uint64_t size);
/* Appends; -1 (nothing copied) past the reservation. */
int gw_blocks_add(struct gw_blocks *s, const uint8_t *buf, size_t len);
/* Copies [off, off+n) of the staged bytes (within len) to dst. */
void gw_blocks_read(const struct gw_blocks *s, uint64_t off, uint8_t *dst, size_t n);
/* Moves src's bytes and reservation to dst (src is left empty). */
void gw_blocks_move(struct gw_blocks *dst, struct gw_blocks *src);
/* Frees the bytes and gives the reservation back. */
void gw_blocks_release(struct gw_blocks *s);

#endif
