/* daemon/store.h: the block store of a node: a memory tier and a disk tier.
 *
 * Blocks are the unit the ring places (ring/ring.h: 16-byte ids, at most
 * cluster.block_size bytes). A block is immutable once put; readers hold
 * references, so eviction never frees bytes someone is still sending.
 *
 * Tiers: the memory tier holds blocks in RAM up to cache.memory bytes; the
 * disk tier holds every put block (when disks are configured) in files with
 * a header and a checksum, up to each disk's size, and survives restarts:
 * store_open() indexes the disks before the node serves, so a restarted node
 * serves its disk cache at once. A block read from disk is verified against
 * its checksum; a corrupt one is deleted, counted and reported as missing, so
 * the caller refetches it and it is never served. When a disk fails (full,
 * unwritable, I/O errors) the store logs what to do and keeps serving from
 * memory.
 *
 * Eviction: S3-FIFO (Yang et al., SOSP'23) by default, LRU for comparison
 * (cache.eviction), per tier, weighted by bytes.
 *
 * Threads: every call is thread-safe and never blocks on disk I/O; disk reads
 * and writes run on the store's worker threads, and their completions run on
 * the caller's event loop. libevent threading must be enabled
 * (evthread_use_pthreads()) before any event_base is created. */
#ifndef SHOAL_DAEMON_STORE_H
#define SHOAL_DAEMON_STORE_H

#include "daemon/config.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define STORE_ID_LEN 16

struct store;
struct store_block;
struct store_load;

struct store_disk_conf {
    const char *path; /* a directory; created if missing */
    uint64_t bytes;   /* capacity */
};

struct store_conf {
    uint64_t mem_bytes;                  /* memory tier capacity (0: no memory tier) */
    const struct store_disk_conf *disks; /* ndisks entries */
    size_t ndisks;
    uint64_t block_size; /* the largest block */
    enum shd_eviction policy;
    unsigned io_threads; /* 0 = 2 */
};

/* Opens the store and indexes its disks (this blocks: call it before the
 * loops run). Returns 0 with *out set, or a negative shd_err. */
int store_open(const struct store_conf *conf, struct store **out);
/* Waits for queued disk writes, frees everything. */
void store_close(struct store *s);

/* A new block of len bytes (len <= block_size), reference count 1, data
 * writable by its creator until it is put. */
struct store_block *store_block_new(const uint8_t id[STORE_ID_LEN], size_t len);
uint8_t *store_block_data(struct store_block *b);
size_t store_block_len(const struct store_block *b);
const uint8_t *store_block_id(const struct store_block *b);
struct store_block *store_block_ref(struct store_block *b);
void store_block_unref(struct store_block *b);

/* A memory-tier hit: a new reference, or NULL. Counts for eviction. */
struct store_block *store_get(struct store *s, const uint8_t id[STORE_ID_LEN]);
/* Whether the disk tier holds the block (it may be gone by the time it is
 * loaded). */
int store_on_disk(struct store *s, const uint8_t id[STORE_ID_LEN]);

/* Reads a block from the disk tier on a worker thread, verifies it, puts it
 * in the memory tier and calls cb on base's loop thread with err 0 and a
 * reference the callback owns, or with SHD_ERR_NOENT (not on disk, or
 * corrupt: the file was deleted and counted). Returns a handle that
 * store_load_cancel() accepts until the callback ran, or NULL when the load
 * could not start. */
typedef void (*store_load_cb)(void *arg, int err, struct store_block *b);
struct store_load *store_load(struct store *s, struct event_base *base,
                              const uint8_t id[STORE_ID_LEN], store_load_cb cb, void *arg);
/* The callback will not be called (a reference it would have got is dropped). */
void store_load_cancel(struct store_load *l);

/* Puts a complete block (the store takes its own reference; the caller keeps
 * its). Replaces a block with the same id. The disk write is queued. */
void store_put(struct store *s, struct store_block *b);
/* Drops a block from both tiers. */
void store_remove(struct store *s, const uint8_t id[STORE_ID_LEN]);

struct store_stats {
    uint64_t hits_mem, hits_disk, misses;
    uint64_t puts, evictions_mem, evictions_disk;
    uint64_t checksum_failures, disk_errors;
    uint64_t bytes_mem, bytes_disk, blocks_mem, blocks_disk;
    uint64_t disk_writes_pending;
};
void store_stats_get(struct store *s, struct store_stats *out);

#endif
