/* daemon/store/store_int.h: internals shared by the block store's files:
 *   store.c        the index (id -> entry), blocks, the public calls, open/close
 *   store_evict.c  eviction policies (S3-FIFO, LRU) over intrusive nodes
 *   store_io.c     worker threads, their job queues, loads and completions
 *   store_disk.c   the block file format, disk setup and the startup scan
 * Nothing outside daemon/store*.c, the unit test and the benchmark includes
 * this header.
 *
 * Locks: s->mu guards the index, the policies, the disks' failure state and
 * the counters; it is never held across disk I/O or a log line. A worker's
 * mu guards its queue; a load's mu guards its state. Order: s->mu, then a
 * worker's mu; a load's mu, then libevent's base lock. */
#ifndef SHOAL_DAEMON_STORE_INT_H
#define SHOAL_DAEMON_STORE_INT_H

#include "daemon/store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define STORE_DISKS_MAX 64
#define STORE_THREADS_MAX 64
#define STORE_RETRY_MS_DEFAULT 30000
#define STORE_HDR_LEN 64                     /* the block file header, format 1 */
#define STORE_FILE_ALIGN 4096                /* disk usage is counted in these units */
#define STORE_IO_ALIGN 4096                  /* O_DIRECT: buffers, offsets and lengths */
#define STORE_DATA_OFF_DIRECT STORE_IO_ALIGN /* data offset of a file written with O_DIRECT */
#define STORE_WRITES_MAX 256                 /* queued disk writes, at most ... */
#define STORE_WRITE_BYTES_MAX (256u << 20)   /* ... and their bytes (one block always fits) */
#define STORE_LOADS_MAX 4096                 /* queued loads */
#define STORE_NAME_LEN 42                    /* "ab/" + 32 hex + ".blk" or ".tmp" + NUL */

/* ---- blocks ---------------------------------------------------------------- */

/* store_io_round: LEN rounded up to a multiple of STORE_IO_ALIGN. */
static inline size_t store_io_round(size_t len)
{
    return (len + STORE_IO_ALIGN - 1) / STORE_IO_ALIGN * STORE_IO_ALIGN;
}

struct store_block {
    atomic_uint refs;
    uint32_t len;
    struct shd_budget *_Atomic pinned; /* charged while evicted and held (store.h) */
    uint8_t id[STORE_ID_LEN];
    _Atomic uint64_t sum; /* XXH3-64 of the data once known, with has_sum (store_block_sum) */
    atomic_int has_sum;
    uint8_t *data; /* len bytes: below STORE_DIRECT_MIN, inline below; from it,
                    * a buffer of its own, STORE_IO_ALIGN-aligned and
                    * zero-padded to the next multiple of it (store_block_new) */
    uint8_t inline_data[];
};

/* ---- eviction policies (store_evict.c) ---------------------------------------- */

enum store_queue { STORE_Q_NONE, STORE_Q_SMALL, STORE_Q_MAIN };

/* A node of one policy, embedded in what it orders (an index entry). */
struct store_pnode {
    struct store_pnode *prev, *next;
    uint32_t bytes; /* weight while queued */
    uint8_t queue;  /* enum store_queue; NONE when not in the tier */
    uint8_t freq;   /* S3-FIFO: hits, 0..3 */
};

struct store_list {
    struct store_pnode head; /* sentinel: head.next is the newest, head.prev the oldest */
    uint64_t bytes, count;
};

struct store_ghost_node; /* S3-FIFO ghost: a fingerprint of an evicted id */

struct store_ghost {
    struct store_ghost_node **buckets;
    size_t nbuckets;
    struct store_ghost_node *newest, *oldest;
    uint64_t bytes, count, cap_bytes;
};

/* The key of a node: a 64-bit hash of its id, for the ghost queue. */
typedef uint64_t (*store_pnode_key)(const struct store_pnode *n);

struct store_policy {
    enum shd_eviction kind;
    uint64_t cap;                  /* bytes */
    uint64_t small_cap;            /* S3-FIFO: the small queue's share (10%) */
    struct store_list small, main; /* LRU uses main only, newest first */
    struct store_ghost ghost;      /* S3-FIFO */
    store_pnode_key key;
};

void store_policy_init(struct store_policy *p, enum shd_eviction kind, uint64_t cap,
                       store_pnode_key key);
void store_policy_fini(struct store_policy *p);
/* store_policy_set_cap: a new capacity; the caller evicts down to it with
 * store_policy_victim(p, 0). */
void store_policy_set_cap(struct store_policy *p, uint64_t cap);
/* store_policy_fits: whether a node of BYTES can be held at all. */
int store_policy_fits(const struct store_policy *p, uint64_t bytes);
/* store_policy_victim: when NEED more bytes do not fit, unlinks and returns
 * the next node to evict (its queue is NONE then); NULL when they fit or the
 * policy is empty. Call it until NULL before store_policy_insert(). */
struct store_pnode *store_policy_victim(struct store_policy *p, uint64_t need);
/* store_policy_insert: N (not queued) joins with BYTES. WARM places it in
 * the main queue (blocks found on disk at startup). */
void store_policy_insert(struct store_policy *p, struct store_pnode *n, uint32_t bytes, int warm);
/* store_policy_hit: N (queued) was used. */
void store_policy_hit(struct store_policy *p, struct store_pnode *n);
/* store_policy_remove: N leaves without eviction (removal, replacement). */
void store_policy_remove(struct store_policy *p, struct store_pnode *n);
uint64_t store_policy_bytes(const struct store_policy *p);
uint64_t store_policy_count(const struct store_policy *p);

/* ---- the index ------------------------------------------------------------------ */

/* One block the store holds in at least one tier. */
struct store_entry {
    uint8_t id[STORE_ID_LEN];
    struct store_entry *hnext;
    struct store_block *mem;  /* the memory-tier copy (a reference) or NULL */
    struct store_pnode pmem;  /* in s->mem while mem != NULL */
    struct store_pnode pdisk; /* in s->disks[disk - 1].policy while disk != 0 */
    uint32_t gen;             /* which write put the disk copy there */
    uint8_t disk;             /* 1 + disk index; 0: not on disk */
};

/* Failure conditions, logged once per disk each until a write succeeds. */
enum store_cond { STORE_COND_SPACE, STORE_COND_PERM, STORE_COND_IO, STORE_COND_READ };

struct store_disk {
    char *path;        /* as configured */
    int dirfd;         /* PATH/blocks */
    int lockfd;        /* PATH/shoal.lock, flock()ed */
    uint64_t seed;     /* rendezvous seed: a hash of the path */
    atomic_int direct; /* O_DIRECT for blocks of STORE_DIRECT_MIN bytes and more */
    double weight;     /* capacity, for rendezvous */
    struct store_policy policy;
    /* under s->mu: */
    int degraded;         /* writes paused until retry_at_ms */
    uint64_t retry_at_ms; /* monotonic */
    unsigned logged;      /* bit per enum store_cond */
};

enum store_job_kind { STORE_JOB_WRITE, STORE_JOB_UNLINK, STORE_JOB_LOAD };

struct store_job {
    struct store_job *next;
    enum store_job_kind kind;
    uint8_t id[STORE_ID_LEN];
    uint8_t disk; /* index into s->disks */
    uint32_t gen;
    struct store_block *b; /* WRITE: a reference the job owns */
    struct store_load *l;  /* LOAD */
};

struct store_worker {
    struct store *s;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a job arrived, or stop */
    pthread_cond_t done_cv; /* a job finished */
    struct store_job *head, *tail;
    uint64_t queued, done; /* jobs ever queued and finished */
    int stop;
};

struct store {
    pthread_mutex_t mu;
    struct store_entry **buckets;
    size_t nbuckets, nentries;
    struct store_policy mem;
    struct store_disk *disks;
    size_t ndisks; /* usable disks only */
    uint64_t block_size;
    unsigned retry_ms;
    uint32_t next_gen;
    uint64_t writes_pending, write_bytes_pending, loads_pending;
    struct store_stats st; /* counters; the gauges are computed on demand */
    struct store_worker *workers;
    unsigned nworkers;
    struct shd_budget *pinned_budget; /* store_conf.pinned_budget */
};

/* A list of block references to drop once s->mu is released. */
struct store_drops {
    struct store_block *small[8];
    struct store_block **more;
    size_t n, cap;
};

/* store.c, for the other store files (s->mu held unless said otherwise) */
uint64_t store_id_hash(const uint8_t id[STORE_ID_LEN]);
struct store_entry *store_index_find(struct store *s, const uint8_t id[STORE_ID_LEN]);
/* store_index_get: the entry of ID, created empty when missing. */
struct store_entry *store_index_get(struct store *s, const uint8_t id[STORE_ID_LEN]);
/* store_entry_disk_drop: the entry leaves the disk tier (no file deletion);
 * frees the entry when no tier holds it any more. */
void store_entry_disk_drop(struct store *s, struct store_entry *e);
/* store_disk_make_room: evict from disk D until BYTES fit, queueing the
 * deletions. */
void store_disk_make_room(struct store *s, size_t d, uint64_t bytes);
/* store_mem_insert: put B (a new reference taken here) into the memory tier
 * for E; evicted blocks go to DROPS. */
void store_mem_insert(struct store *s, struct store_entry *e, struct store_block *b,
                      struct store_drops *drops);
void store_drops_add(struct store_drops *dr, struct store_block *b);
/* store_drops_release: unref every block (s->mu not held); one that others
 * still hold is charged to s->pinned_budget first. */
void store_drops_release(struct store *s, struct store_drops *dr);
uint64_t store_now_ms(void);
void store_id_hex(const uint8_t id[STORE_ID_LEN], char out[2 * STORE_ID_LEN + 1]);

/* store_io.c */
int store_io_start(struct store *s, unsigned nthreads);
/* store_io_stop: run what is queued, then join and free the workers. */
void store_io_stop(struct store *s);
void store_io_flush(struct store *s);
/* store_io_queue: hand J (owned by the queue from now) to the worker of its
 * id; s->mu is held so that jobs of one id run in the order decided. */
void store_io_queue(struct store *s, struct store_job *j);
struct store_job *store_job_new(enum store_job_kind kind, const uint8_t id[STORE_ID_LEN],
                                size_t disk, uint32_t gen);
/* store_load_start: a new load that will report to CB on BASE's loop;
 * NULL if its event cannot be made. */
struct store_load *store_load_start(struct event_base *base, store_load_cb cb, void *arg);
/* store_load_finish: deliver ERR and B (taken over) to L's loop, or drop
 * them when L was cancelled; L's mu is not held. */
void store_load_finish(struct store_load *l, int err, struct store_block *b);
/* store_load_abandon: free L before it was ever queued or activated. */
void store_load_abandon(struct store_load *l);

/* store_disk.c */
/* store_disk_open: prepare CONF's directory (create, lock, probe a write)
 * into D; with DIRECT_IO, also probe an O_DIRECT write. Returns 0, or a
 * negative shd_err after logging why the disk is left out. */
int store_disk_open(struct store_disk *d, const struct store_disk_conf *conf,
                    enum shd_eviction policy, store_pnode_key key, bool direct_io);
void store_disk_close(struct store_disk *d);
/* store_disk_pick: the disk of ID among N (weighted rendezvous hashing). */
size_t store_disk_pick(const struct store_disk *disks, size_t n, const uint8_t id[STORE_ID_LEN]);
/* store_disk_scan: index every block file of the usable disks, in parallel;
 * drops invalid files and temp files. s->mu not held (called by store_open
 * before anything else runs). */
void store_disk_scan(struct store *s, unsigned nthreads);
/* store_disk_data_off: where the data of a block of LEN bytes starts in its
 * file on D: STORE_DATA_OFF_DIRECT when D writes it with O_DIRECT, else
 * STORE_HDR_LEN. */
unsigned store_disk_data_off(const struct store_disk *d, uint64_t len);
/* store_disk_file_bytes: the disk space a file of LEN data bytes at DATA_OFF
 * is counted for. */
uint64_t store_disk_file_bytes(uint64_t len, unsigned data_off);
/* A failed system call: which, and its errno. The store's disk functions
 * return 0 or an shd_err (SHD_ERR_NOENT, SHD_ERR_CORRUPT, SHD_ERR_IO) and,
 * with SHD_ERR_IO, say here what failed: errno values never travel as
 * return codes, where they would collide with the shd_err codes. */
struct store_syserr {
    const char *op;
    int err; /* errno */
};
/* store_disk_write: write B into D (a temp file renamed into place).
 * Returns 0, or SHD_ERR_IO with *se. */
int store_disk_write(struct store_disk *d, const struct store_block *b, struct store_syserr *se);
/* store_disk_read: read and verify the block ID of D. Returns 0 with *out a
 * new block, SHD_ERR_NOENT (no file), SHD_ERR_CORRUPT (checks failed), or
 * SHD_ERR_IO with *se. */
int store_disk_read(const struct store_disk *d, const uint8_t id[STORE_ID_LEN], uint64_t block_size,
                    struct store_block **out, struct store_syserr *se);
/* store_disk_unlink: delete the block file ID of D; 0 (also when it was not
 * there) or SHD_ERR_IO with *se. */
int store_disk_unlink(const struct store_disk *d, const uint8_t id[STORE_ID_LEN],
                      struct store_syserr *se);
/* store_disk_name: "ab/<32 hex>.blk" (or ".tmp" when TMP) into OUT. */
void store_disk_name(const uint8_t id[STORE_ID_LEN], int tmp, char out[STORE_NAME_LEN]);
/* store_disk_failed: account a failure of OP with errno ERR on disk D and log
 * it once per condition (s->mu not held). DEGRADE pauses writes. */
void store_disk_failed(struct store *s, size_t d, const char *op, int err, int degrade);
/* store_disk_recovered: a write to D worked (s->mu not held). */
void store_disk_recovered(struct store *s, size_t d);

/* The header of a block file (format 1, little-endian):
 *   0 magic "SHOALBLK"   8 u16 version (1)   10 u16 data offset (64, or 4096
 *                                               when written with O_DIRECT)
 *  12 u32 flags (0)      16 id[16]           32 u64 data length
 *  40 u64 XXH3-64 of the data                48 u64 created, Unix ms
 *  56 u64 XXH3-64 of bytes 0..55 */
struct store_hdr {
    uint8_t id[STORE_ID_LEN];
    uint64_t len, sum, created_ms;
    unsigned data_off; /* STORE_HDR_LEN or STORE_DATA_OFF_DIRECT; zeros between */
};
void store_hdr_encode(uint8_t buf[STORE_HDR_LEN], const struct store_hdr *h);
/* store_hdr_decode: parse BUF; a data length over BLOCK_SIZE is refused.
 * Returns 0 with *out set, or SHD_ERR_CORRUPT. */
int store_hdr_decode(const uint8_t buf[STORE_HDR_LEN], uint64_t block_size, struct store_hdr *out);

#endif
