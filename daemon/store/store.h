/* daemon/store/store.h: the block store of a node: a memory tier and a disk tier.
 *
 * Blocks are the unit the ring places (ring/ring.h: 16-byte ids, at most
 * cluster.block_size bytes). A block is immutable once put; readers hold
 * references, so eviction never frees bytes someone is still sending. A
 * block id names immutable bytes (it hashes the object's ETag), so a block
 * already on disk is not written again.
 *
 * Tiers: the memory tier holds blocks in RAM up to cache.memory bytes; the
 * disk tier holds every put block (when disks are configured) in files with
 * a header and a checksum, up to each disk's size, and survives restarts:
 * store_open() indexes the disks before the node serves, so a restarted node
 * serves its disk cache at once. A block read from disk is verified against
 * its checksum; a corrupt one is deleted, counted and reported as missing, so
 * the caller refetches it and it is never served. When a disk fails (full,
 * unwritable, I/O errors) the store logs what to do, keeps serving from
 * memory and retries writes to that disk after a back-off.
 *
 * Eviction: S3-FIFO (Yang et al., SOSP'23) by default, LRU for comparison
 * (cache.eviction), weighted by bytes: one policy for the memory tier and one
 * per disk (each disk has its own capacity).
 *
 * Threads: every call is thread-safe and never blocks on disk I/O, except
 * store_open(), store_flush() and store_close(); disk reads and writes run on
 * the store's worker threads, and load completions run on the caller's event
 * loop. libevent threading must be enabled (evthread_use_pthreads()) before
 * any event_base is created. */
#ifndef SHOAL_DAEMON_STORE_H
#define SHOAL_DAEMON_STORE_H

#include "daemon/config/config.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct shd_budget;

#define STORE_ID_LEN 16
#define STORE_BLOCK_MAX (64u << 20)  /* the largest cluster.block_size */
#define STORE_DIRECT_MIN (64u << 10) /* blocks this large go to disk with O_DIRECT */

struct store;
struct store_block;
struct store_load;

struct store_disk_conf {
    const char *path; /* a directory; created if missing */
    uint64_t bytes;   /* capacity, counting each file rounded up to 4 KiB */
};

struct store_conf {
    uint64_t mem_bytes;                  /* memory tier capacity (0: no memory tier) */
    const struct store_disk_conf *disks; /* ndisks entries (at most 64) */
    size_t ndisks;
    uint64_t block_size; /* the largest block, 1..STORE_BLOCK_MAX */
    enum shd_eviction policy;
    unsigned io_threads;    /* 0 = 2 */
    unsigned disk_retry_ms; /* back-off before writing to a failed disk again; 0 = 30 s */
    bool direct_io;         /* O_DIRECT for blocks of STORE_DIRECT_MIN and more */
    /* optional: a block the memory tier lets go while others (responses,
     * disk writes) still hold it is charged here, SHD_MEM_PINNED, until its
     * last reference goes, so the tier and what it evicted stay counted */
    struct shd_budget *pinned_budget;
};

/* Opens the store and indexes its disks (this blocks: call it before the
 * loops run). A disk that cannot be used is logged and left out. Returns 0
 * with *out set; SHD_ERR_INVAL for a bad conf; SHD_ERR_IO when no tier is
 * usable (no memory tier and no usable disk). */
int store_open(const struct store_conf *conf, struct store **out);
/* Waits for queued disk jobs, frees everything. Every load must have
 * completed or been cancelled. Blocks still referenced elsewhere live on. */
void store_close(struct store *s);
/* Blocks until every disk job queued before the call (writes, deletions,
 * reads) has run. For shutdown, tests and tools; never on a loop thread. */
void store_flush(struct store *s);

/* A new block of len bytes (len <= STORE_BLOCK_MAX, else NULL), reference
 * count 1 owned by the caller, data writable by its creator until it is
 * put. */
struct store_block *store_block_new(const uint8_t id[STORE_ID_LEN], size_t len);
uint8_t *store_block_data(struct store_block *b);
size_t store_block_len(const struct store_block *b);
const uint8_t *store_block_id(const struct store_block *b);
/* The XXH3-64 of a complete block's data, computed once and kept (a block
 * put, loaded or whose every byte is in: never while it is written). */
uint64_t store_block_sum(const struct store_block *b);
/* Records the XXH3-64 a reader already checked (the disk tier's). */
void store_block_set_sum(struct store_block *b, uint64_t sum);
/* Returns b with one more reference, which the caller owns. */
struct store_block *store_block_ref(struct store_block *b);
/* Drops one reference; the last one frees the block. NULL is a no-op. */
void store_block_unref(struct store_block *b);

/* A memory-tier hit: a new reference the caller owns, or NULL. Counts for
 * eviction. */
struct store_block *store_get(struct store *s, const uint8_t id[STORE_ID_LEN]);
/* Whether either tier holds the block, without counting it as a use (for
 * peers asking what this node holds). */
int store_holds(struct store *s, const uint8_t id[STORE_ID_LEN]);
/* A block the store holds, and how much it is used (larger: hotter). */
struct store_held {
    uint8_t id[STORE_ID_LEN];
    uint32_t heat;
};
/* store_list: every block either tier holds, hottest first (in memory
 * before on disk only, then by its eviction policy's standing), into a new
 * array *OUT of *N entries the caller frees. For repair and drains; it
 * does not count as a use. */
void store_list(struct store *s, struct store_held **out, size_t *n);
/* Whether the disk tier holds the block, written or queued for writing (it
 * may be gone by the time it is loaded). */
int store_on_disk(struct store *s, const uint8_t id[STORE_ID_LEN]);

/* Reads a block from the disk tier on a worker thread, verifies it, puts it
 * in the memory tier and calls cb on base's loop thread with err 0 and a
 * reference the callback owns, or with SHD_ERR_NOENT and NULL (gone from
 * disk, or corrupt: the file was deleted and counted). A block in the memory
 * tier completes without disk I/O. The callback never runs inside
 * store_load(). Returns a handle that store_load_cancel() accepts until the
 * callback ran, or NULL when the load could not start (the block is in
 * neither tier, or too many loads are queued): no callback then. */
typedef void (*store_load_cb)(void *arg, int err, struct store_block *b);
struct store_load *store_load(struct store *s, struct event_base *base,
                              const uint8_t id[STORE_ID_LEN], store_load_cb cb, void *arg);
/* The callback will not be called (a reference it would have got is
 * dropped) and the handle is freed. Call it on base's loop thread, even when
 * the read has already finished. */
void store_load_cancel(struct store_load *l);

/* Puts a complete block: the store takes its own reference; the caller keeps
 * its. Replaces a memory-tier block with the same id. The disk write is
 * queued (skipped and counted when the queue is full or the disk failed
 * recently). Returns 0, or SHD_ERR_TOOBIG when the block is longer than
 * block_size (nothing stored). */
int store_put(struct store *s, struct store_block *b);
/* Drops a block from both tiers (its file is deleted on a worker). */
void store_remove(struct store *s, const uint8_t id[STORE_ID_LEN]);

struct store_stats {
    uint64_t hits_mem, misses_mem;   /* store_get() (hits: also store_load() from memory) */
    uint64_t hits_disk, misses_disk; /* store_load() completions that read the disk */
    uint64_t puts, evictions_mem, evictions_disk;
    uint64_t checksum_failures, disk_errors;
    uint64_t disk_writes_skipped; /* puts not written: queue full, disk failed, too large */
    uint64_t bytes_mem, bytes_disk, blocks_mem, blocks_disk;
    uint64_t capacity_disk; /* configured, less what a full file system took back */
    uint64_t disk_writes_pending;
    uint64_t disks, disks_degraded;     /* usable disks; those with writes paused */
    uint64_t scan_blocks, scan_dropped; /* store_open(): indexed; invalid files deleted */
    uint64_t scan_ms;                   /* store_open(): time spent indexing */
};
/* Copies the counters into *out (a consistent snapshot). */
void store_stats_get(struct store *s, struct store_stats *out);

#endif
