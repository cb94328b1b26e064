/* daemon/budget.h: the node-wide budget for memory that clients make the
 * node allocate (cache.request_memory): fill buffers, the S3 writers'
 * buffers of uploads, write-through staging, request bodies that are read
 * whole, and blocks the memory tier evicted while responses or disk writes
 * still hold them. Each user takes its bytes before it allocates them and
 * gives them back when it frees them, so no number of concurrent requests
 * grows the heap past the budget; a request whose memory is not to be had is
 * refused (503 SlowDown) or, for what is optional (staging for the cache),
 * goes without. Pinned blocks are the exception: their bytes exist already,
 * so they are charged even past the limit (shd_budget_force) and the
 * requests that would allocate more are refused until they are let go.
 *
 * Lock-free: one atomic counter, usable from any thread. */
#ifndef SHOAL_DAEMON_BUDGET_H
#define SHOAL_DAEMON_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

/* What the memory is for: counted apart in /metrics. */
enum shd_mem_use {
    SHD_MEM_FILL,   /* blocks being filled from S3 */
    SHD_MEM_WRITER, /* an upload's buffers in the S3 writer */
    SHD_MEM_STAGE,  /* an upload's bytes kept for write-through caching */
    SHD_MEM_BODY,   /* request bodies read whole (XML) */
    SHD_MEM_PINNED, /* blocks out of the memory tier that others still hold */
    SHD_MEM_USES
};

struct shd_budget {
    uint64_t limit;
    _Atomic uint64_t used;
    _Atomic uint64_t held[SHD_MEM_USES];
    _Atomic uint64_t refused[SHD_MEM_USES]; /* takes that failed */
};

void shd_budget_init(struct shd_budget *b, uint64_t limit);
/* Takes n bytes for use: 0, or -1 when that would pass the limit (nothing
 * taken). */
int shd_budget_take(struct shd_budget *b, enum shd_mem_use use, uint64_t n);
/* As shd_budget_take, for memory the request can do without: succeeds only
 * while half the budget stays free afterwards, so optional users never
 * starve the required ones. */
int shd_budget_take_spare(struct shd_budget *b, enum shd_mem_use use, uint64_t n);
/* Charges n bytes that are allocated already, even past the limit. */
void shd_budget_force(struct shd_budget *b, enum shd_mem_use use, uint64_t n);
void shd_budget_give(struct shd_budget *b, enum shd_mem_use use, uint64_t n);

const char *shd_mem_use_name(enum shd_mem_use use);

#endif
