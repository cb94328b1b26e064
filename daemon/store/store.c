/* daemon/store/store.c: the block store's index and public calls (store.h).
 *
 * The index maps a block id to one entry (a chained hash table under s->mu)
 * holding the memory-tier reference and the disk the block lives on; each
 * entry carries one policy node per tier, so the index costs about 90 bytes
 * per block plus 8 per bucket. An entry exists while at least one tier
 * holds its block.
 *
 * Disk state moves only under s->mu, and every file operation it implies is
 * queued to the worker of the block's id while s->mu is held: the jobs of one
 * block run in the order the index decided them (write, delete, write
 * again), so a file exists exactly when the index says so once the queues
 * are empty. Results come back with the write's generation (gen): a late
 * result for a copy that was since replaced or evicted changes nothing.
 * Disk I/O and log lines happen with s->mu released. */
#include "daemon/budget.h"
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/store/store_int.h"
#include "daemon/xalloc.h"
#include "client/xxh.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define STORE_BUCKETS_MIN 1024

/* ---- helpers -------------------------------------------------------------------------- */

uint64_t store_id_hash(const uint8_t id[STORE_ID_LEN])
{
    return XXH3_64bits(id, STORE_ID_LEN);
}

uint64_t store_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void store_id_hex(const uint8_t id[STORE_ID_LEN], char out[2 * STORE_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < STORE_ID_LEN; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * STORE_ID_LEN] = '\0';
}

void store_drops_add(struct store_drops *dr, struct store_block *b)
{
    if (dr->n < 8) {
        dr->small[dr->n++] = b;
        return;
    }
    if (dr->n - 8 == dr->cap) {
        dr->cap = dr->cap ? 2 * dr->cap : 16;
        dr->more = shd_xrealloc(dr->more, dr->cap * sizeof(*dr->more));
    }
    dr->more[dr->n++ - 8] = b;
}

/* pin: B leaves the memory tier (the caller holds the tier's reference);
 * when others hold it too, its bytes stay alive outside the tier: charged to
 * the budget until the last reference goes (store_block_unref). A block
 * charged already (put again and evicted again) is not charged twice. If the
 * others let go between the check and the caller's unref, that unref is
 * the last and gives the charge back. */
static void pin(struct store *s, struct store_block *b)
{
    struct shd_budget *none = NULL;
    if (!s->pinned_budget || atomic_load_explicit(&b->refs, memory_order_acquire) < 2)
        return;
    if (atomic_compare_exchange_strong(&b->pinned, &none, s->pinned_budget))
        shd_budget_force(s->pinned_budget, SHD_MEM_PINNED, b->len);
}

void store_drops_release(struct store *s, struct store_drops *dr)
{
    for (size_t i = 0; i < dr->n; i++) {
        struct store_block *b = i < 8 ? dr->small[i] : dr->more[i - 8];
        pin(s, b);
        store_block_unref(b);
    }
    free(dr->more);
    dr->more = NULL;
    dr->n = dr->cap = 0;
}

/* ---- blocks ------------------------------------------------------------------------------ */

/* A block of STORE_DIRECT_MIN bytes or more gets a data buffer of its own,
 * aligned to STORE_IO_ALIGN and zero-padded to the next multiple of it, so
 * the disk tier can read and write it with O_DIRECT. (Mapping it for huge
 * pages made a cold read slower: zeroing a fresh 2 MiB page cost more CPU
 * than the 512 faults it saved. Populating the mapping up front moved the
 * faults onto the loop thread, inside the fill table's lock.) */
/* Recycled buffers of large blocks. A fresh mapping costs a page fault and
 * a zeroed page per 4 KiB, on the loop thread: for a 1 MiB block passed
 * through a node that does not keep it (a read from a peer), that was 40%
 * of the node's CPU. Up to STORE_POOL_BYTES of freed buffers are kept, one
 * stack per capacity (the few block sizes a node sees), and used again; the
 * rest go back to the system at once (main.c's mmap threshold). */
#define STORE_POOL_BYTES (32u << 20)
#define STORE_POOL_CLASSES 4
#define STORE_POOL_SLOTS 64
static struct {
    pthread_mutex_t mu;
    size_t bytes;
    struct {
        size_t cap, n;
        void *buf[STORE_POOL_SLOTS];
    } cls[STORE_POOL_CLASSES];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *pool_get(size_t cap)
{
    void *p = NULL;
    pthread_mutex_lock(&pool.mu);
    for (int i = 0; i < STORE_POOL_CLASSES; i++)
        if (pool.cls[i].cap == cap && pool.cls[i].n) {
            p = pool.cls[i].buf[--pool.cls[i].n];
            pool.bytes -= cap;
            break;
        }
    pthread_mutex_unlock(&pool.mu);
    return p;
}

/* 1 when the pool took P (CAP bytes); else the caller frees it. */
static int pool_put(void *p, size_t cap)
{
    int took = 0;
    pthread_mutex_lock(&pool.mu);
    if (pool.bytes + cap <= STORE_POOL_BYTES) {
        int free_cls = -1;
        for (int i = 0; i < STORE_POOL_CLASSES && !took; i++) {
            if (pool.cls[i].cap == cap && pool.cls[i].n < STORE_POOL_SLOTS) {
                pool.cls[i].buf[pool.cls[i].n++] = p;
                took = 1;
            } else if (pool.cls[i].n == 0 && free_cls < 0) {
                free_cls = i;
            }
        }
        if (!took && free_cls >= 0) { /* a class not in use now takes this size */
            pool.cls[free_cls].cap = cap;
            pool.cls[free_cls].buf[pool.cls[free_cls].n++] = p;
            took = 1;
        }
        if (took)
            pool.bytes += cap;
    }
    pthread_mutex_unlock(&pool.mu);
    return took;
}

struct store_block *store_block_new(const uint8_t id[STORE_ID_LEN], size_t len)
{
    struct store_block *b;

    if (len > STORE_BLOCK_MAX)
        return NULL;
    if (len < STORE_DIRECT_MIN) {
        b = shd_xmalloc(sizeof(*b) + len);
        b->data = b->inline_data;
    } else {
        size_t cap = store_io_round(len);
        void *p;

        b = shd_xmalloc(sizeof(*b));
        p = pool_get(cap);
        if (!p && posix_memalign(&p, STORE_IO_ALIGN, cap) != 0)
            shd_oom(cap);
        b->data = p;
        memset(b->data + len, 0, cap - len);
    }
    atomic_init(&b->refs, 1);
    atomic_init(&b->pinned, NULL);
    atomic_init(&b->sum, 0);
    atomic_init(&b->has_sum, 0);
    b->len = (uint32_t)len;
    memcpy(b->id, id, STORE_ID_LEN);
    return b;
}

uint64_t store_block_sum(const struct store_block *cb)
{
    struct store_block *b = (struct store_block *)cb; /* the sum is a cache of immutable bytes */
    if (atomic_load_explicit(&b->has_sum, memory_order_acquire))
        return atomic_load_explicit(&b->sum, memory_order_relaxed);
    uint64_t h = wire_xxh3(b->data, b->len); /* two threads may both: same answer */
    atomic_store_explicit(&b->sum, h, memory_order_relaxed);
    atomic_store_explicit(&b->has_sum, 1, memory_order_release);
    return h;
}

void store_block_set_sum(struct store_block *b, uint64_t sum)
{
    atomic_store_explicit(&b->sum, sum, memory_order_relaxed);
    atomic_store_explicit(&b->has_sum, 1, memory_order_release);
}

uint8_t *store_block_data(struct store_block *b)
{
    return b->data;
}

size_t store_block_len(const struct store_block *b)
{
    return b->len;
}

const uint8_t *store_block_id(const struct store_block *b)
{
    return b->id;
}

struct store_block *store_block_ref(struct store_block *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void store_block_unref(struct store_block *b)
{
    struct shd_budget *pinned;
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    pinned = atomic_load_explicit(&b->pinned, memory_order_relaxed);
    if (pinned)
        shd_budget_give(pinned, SHD_MEM_PINNED, b->len);
    if (b->len >= STORE_DIRECT_MIN && !pool_put(b->data, store_io_round(b->len)))
        free(b->data);
    free(b);
}

/* ---- the index ---------------------------------------------------------------------------- */

static size_t store_slot(const struct store *s, const uint8_t id[STORE_ID_LEN])
{
    return (size_t)store_id_hash(id) & (s->nbuckets - 1);
}

struct store_entry *store_index_find(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_entry *e = s->buckets[store_slot(s, id)];

    while (e && memcmp(e->id, id, STORE_ID_LEN) != 0)
        e = e->hnext;
    return e;
}

static void store_index_grow(struct store *s)
{
    size_t nb = 2 * s->nbuckets;
    struct store_entry **b = shd_xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < s->nbuckets; i++) {
        struct store_entry *e = s->buckets[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            size_t slot = (size_t)store_id_hash(e->id) & (nb - 1);
            e->hnext = b[slot];
            b[slot] = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

struct store_entry *store_index_get(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_entry *e = store_index_find(s, id);

    if (e)
        return e;
    if (s->nentries >= s->nbuckets)
        store_index_grow(s);
    e = shd_xcalloc(1, sizeof(*e));
    memcpy(e->id, id, STORE_ID_LEN);
    size_t slot = store_slot(s, id);
    e->hnext = s->buckets[slot];
    s->buckets[slot] = e;
    s->nentries++;
    return e;
}

/* store_entry_maybe_free: free E when no tier holds its block. */
static void store_entry_maybe_free(struct store *s, struct store_entry *e)
{
    struct store_entry **pp;

    if (e->mem || e->disk)
        return;
    pp = &s->buckets[store_slot(s, e->id)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    s->nentries--;
    free(e);
}

static struct store_entry *store_entry_of_mem(const struct store_pnode *n)
{
    return (struct store_entry *)((const char *)n - offsetof(struct store_entry, pmem));
}

static struct store_entry *store_entry_of_disk(const struct store_pnode *n)
{
    return (struct store_entry *)((const char *)n - offsetof(struct store_entry, pdisk));
}

static uint64_t store_key_mem(const struct store_pnode *n)
{
    return store_id_hash(store_entry_of_mem(n)->id);
}

static uint64_t store_key_disk(const struct store_pnode *n)
{
    return store_id_hash(store_entry_of_disk(n)->id);
}

void store_entry_disk_drop(struct store *s, struct store_entry *e)
{
    if (!e->disk)
        return;
    store_policy_remove(&s->disks[e->disk - 1].policy, &e->pdisk);
    e->disk = 0;
    store_entry_maybe_free(s, e);
}

/* store_mem_drop: E leaves the memory tier (its reference goes to DROPS). */
static void store_mem_drop(struct store *s, struct store_entry *e, struct store_drops *drops)
{
    if (!e->mem)
        return;
    store_policy_remove(&s->mem, &e->pmem);
    store_drops_add(drops, e->mem);
    e->mem = NULL;
}

void store_mem_insert(struct store *s, struct store_entry *e, struct store_block *b,
                      struct store_drops *drops)
{
    struct store_pnode *v;

    if (!store_policy_fits(&s->mem, b->len))
        return;
    while ((v = store_policy_victim(&s->mem, b->len))) {
        struct store_entry *ve = store_entry_of_mem(v);
        store_drops_add(drops, ve->mem);
        ve->mem = NULL;
        s->st.evictions_mem++;
        store_entry_maybe_free(s, ve);
    }
    e->mem = store_block_ref(b);
    store_policy_insert(&s->mem, &e->pmem, b->len, 0);
}

void store_disk_make_room(struct store *s, size_t d, uint64_t bytes)
{
    struct store_pnode *v;

    while ((v = store_policy_victim(&s->disks[d].policy, bytes))) {
        struct store_entry *ve = store_entry_of_disk(v);
        store_io_queue(s, store_job_new(STORE_JOB_UNLINK, ve->id, d, ve->gen));
        ve->disk = 0;
        s->st.evictions_disk++;
        store_entry_maybe_free(s, ve);
    }
}

/* store_disk_admit: queue the write of B (entry E, not on disk) to its disk
 * when the disk and the queue take it; else count it skipped. */
static void store_disk_admit(struct store *s, struct store_entry *e, struct store_block *b)
{
    size_t d = store_disk_pick(s->disks, s->ndisks, b->id);
    struct store_disk *disk = &s->disks[d];
    uint64_t fbytes = store_disk_file_bytes(b->len, store_disk_data_off(disk, b->len));
    struct store_job *j;

    if (!store_policy_fits(&disk->policy, fbytes) ||
        (disk->degraded && store_now_ms() < disk->retry_at_ms) ||
        s->writes_pending >= STORE_WRITES_MAX ||
        (s->writes_pending && s->write_bytes_pending + b->len > STORE_WRITE_BYTES_MAX)) {
        s->st.disk_writes_skipped++;
        return;
    }
    store_disk_make_room(s, d, fbytes);
    e->disk = (uint8_t)(d + 1);
    e->gen = ++s->next_gen;
    store_policy_insert(&disk->policy, &e->pdisk, (uint32_t)fbytes, 0);
    s->writes_pending++;
    s->write_bytes_pending += b->len;
    j = store_job_new(STORE_JOB_WRITE, b->id, d, e->gen);
    j->b = store_block_ref(b);
    store_io_queue(s, j);
}

/* ---- public calls ---------------------------------------------------------------------------- */

struct store_block *store_get(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_block *b = NULL;
    struct store_entry *e;

    pthread_mutex_lock(&s->mu);
    e = store_index_find(s, id);
    if (e && e->mem) {
        store_policy_hit(&s->mem, &e->pmem);
        b = store_block_ref(e->mem);
        s->st.hits_mem++;
    } else {
        s->st.misses_mem++;
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

int store_holds(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_entry *e;
    int r;

    pthread_mutex_lock(&s->mu);
    e = store_index_find(s, id);
    r = e && (e->mem || e->disk);
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* hottest first; ties by id, so a list is in one order however it was built */
static int held_cmp(const void *a, const void *b)
{
    const struct store_held *x = a, *y = b;
    if (x->heat != y->heat)
        return x->heat > y->heat ? -1 : 1;
    return memcmp(x->id, y->id, STORE_ID_LEN);
}

/* How much a block is used, as its place in the policies says: in memory
 * above on disk only, the main queue above the small one, then hits. */
static uint32_t entry_heat(const struct store_entry *e)
{
    uint32_t h = 0;
    if (e->mem)
        h = 16 + (e->pmem.queue == STORE_Q_MAIN ? 8 : 0) + e->pmem.freq;
    if (e->disk)
        h += (e->pdisk.queue == STORE_Q_MAIN ? 4 : 0) + e->pdisk.freq;
    return h;
}

void store_list(struct store *s, struct store_held **out, size_t *n)
{
    pthread_mutex_lock(&s->mu);
    size_t cap = s->nentries, k = 0;
    struct store_held *v = shd_xmalloc((cap ? cap : 1) * sizeof(*v));
    for (size_t b = 0; b < s->nbuckets; b++)
        for (struct store_entry *e = s->buckets[b]; e && k < cap; e = e->hnext) {
            if (!e->mem && !e->disk)
                continue;
            memcpy(v[k].id, e->id, STORE_ID_LEN);
            v[k++].heat = entry_heat(e);
        }
    pthread_mutex_unlock(&s->mu);
    qsort(v, k, sizeof(*v), held_cmp);
    *out = v;
    *n = k;
}

int store_on_disk(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_entry *e;
    int r;

    pthread_mutex_lock(&s->mu);
    e = store_index_find(s, id);
    r = e && e->disk;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int store_put(struct store *s, struct store_block *b)
{
    struct store_drops drops = {.n = 0};
    struct store_entry *e;

    if (b->len > s->block_size)
        return SHD_ERR_TOOBIG;
    pthread_mutex_lock(&s->mu);
    s->st.puts++;
    e = store_index_get(s, b->id);
    if (e->mem == b) {
        store_policy_hit(&s->mem, &e->pmem);
    } else {
        store_mem_drop(s, e, &drops);
        store_mem_insert(s, e, b, &drops);
    }
    if (s->ndisks && !e->disk)
        store_disk_admit(s, e, b);
    store_entry_maybe_free(s, e); /* in neither tier: too large, or no room */
    pthread_mutex_unlock(&s->mu);
    store_drops_release(s, &drops);
    return 0;
}

void store_remove(struct store *s, const uint8_t id[STORE_ID_LEN])
{
    struct store_drops drops = {.n = 0};
    struct store_entry *e;

    pthread_mutex_lock(&s->mu);
    e = store_index_find(s, id);
    if (e) {
        if (e->disk)
            store_io_queue(s, store_job_new(STORE_JOB_UNLINK, e->id, e->disk - 1u, e->gen));
        store_mem_drop(s, e, &drops);
        store_entry_disk_drop(s, e); /* frees e */
    }
    pthread_mutex_unlock(&s->mu);
    store_drops_release(s, &drops);
}

struct store_load *store_load(struct store *s, struct event_base *base,
                              const uint8_t id[STORE_ID_LEN], store_load_cb cb, void *arg)
{
    struct store_block *hit = NULL;
    struct store_load *l = store_load_start(base, cb, arg);
    struct store_entry *e;
    struct store_job *j;

    if (!l)
        return NULL;
    pthread_mutex_lock(&s->mu);
    e = store_index_find(s, id);
    if (e && e->mem) {
        store_policy_hit(&s->mem, &e->pmem);
        hit = store_block_ref(e->mem);
        s->st.hits_mem++;
    } else if (e && e->disk && s->loads_pending < STORE_LOADS_MAX) {
        s->loads_pending++;
        j = store_job_new(STORE_JOB_LOAD, id, e->disk - 1u, e->gen);
        j->l = l;
        store_io_queue(s, j);
    } else {
        pthread_mutex_unlock(&s->mu);
        store_load_abandon(l);
        return NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (hit)
        store_load_finish(l, 0, hit);
    return l;
}

void store_stats_get(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->bytes_mem = store_policy_bytes(&s->mem);
    out->blocks_mem = store_policy_count(&s->mem);
    out->bytes_disk = out->blocks_disk = out->disks_degraded = out->capacity_disk = 0;
    for (size_t i = 0; i < s->ndisks; i++) {
        out->bytes_disk += store_policy_bytes(&s->disks[i].policy);
        out->capacity_disk += s->disks[i].policy.cap;
        out->blocks_disk += store_policy_count(&s->disks[i].policy);
        out->disks_degraded += s->disks[i].degraded != 0;
    }
    out->disks = s->ndisks;
    out->disk_writes_pending = s->writes_pending;
    pthread_mutex_unlock(&s->mu);
}

/* ---- open and close ------------------------------------------------------------------------- */

static int store_conf_check(const struct store_conf *conf)
{
    if (!conf || conf->block_size == 0 || conf->block_size > STORE_BLOCK_MAX ||
        conf->ndisks > STORE_DISKS_MAX || (conf->ndisks && !conf->disks) ||
        conf->io_threads > STORE_THREADS_MAX ||
        (conf->policy != SHD_EVICT_S3FIFO && conf->policy != SHD_EVICT_LRU))
        return SHD_ERR_INVAL;
    for (size_t i = 0; i < conf->ndisks; i++)
        if (!conf->disks[i].path || !conf->disks[i].path[0] || !conf->disks[i].bytes)
            return SHD_ERR_INVAL;
    return 0;
}

/* store_free: stop the workers (running what is queued), then release S
 * and everything it holds. */
static void store_free(struct store *s)
{
    if (s->workers)
        store_io_stop(s);
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct store_entry *e = s->buckets[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            store_block_unref(e->mem);
            free(e);
        }
    }
    free(s->buckets);
    store_policy_fini(&s->mem);
    for (size_t i = 0; i < s->ndisks; i++)
        store_disk_close(&s->disks[i]);
    free(s->disks);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int store_open(const struct store_conf *conf, struct store **out)
{
    struct store *s;
    unsigned nthreads;
    int rc = store_conf_check(conf);

    if (rc)
        return rc;
    s = shd_xcalloc(1, sizeof(*s));
    /* adaptive: every read of every loop takes s->mu for well under a
     * microsecond; spinning briefly beats sleeping on the futex */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    s->nbuckets = STORE_BUCKETS_MIN;
    s->buckets = shd_xcalloc(s->nbuckets, sizeof(*s->buckets));
    s->block_size = conf->block_size;
    s->pinned_budget = conf->pinned_budget;
    s->retry_ms = conf->disk_retry_ms ? conf->disk_retry_ms : STORE_RETRY_MS_DEFAULT;
    store_policy_init(&s->mem, conf->policy, conf->mem_bytes, store_key_mem);
    s->disks = shd_xcalloc(conf->ndisks ? conf->ndisks : 1, sizeof(*s->disks));
    for (size_t i = 0; i < conf->ndisks; i++) {
        struct store_disk *d = &s->disks[s->ndisks];
        if (store_disk_open(d, &conf->disks[i], conf->policy, store_key_disk, conf->direct_io) == 0)
            s->ndisks++;
    }
    if (!conf->mem_bytes && !s->ndisks) {
        shd_error("store",
                  "no usable cache tier disks=%zu usable=0 what=\"fix the disk "
                  "directories named above or set cache.memory\"",
                  conf->ndisks);
        rc = SHD_ERR_IO;
        goto out;
    }
    nthreads = conf->io_threads ? conf->io_threads : 2;
    if (s->ndisks) {
        rc = store_io_start(s, nthreads); /* the scan queues deletions */
        if (rc)
            goto out;
        store_disk_scan(s, nthreads < 4 ? 4 : nthreads);
    }
    *out = s;
    s = NULL;
out:
    if (s)
        store_free(s);
    return rc;
}

void store_flush(struct store *s)
{
    store_io_flush(s);
}

void store_close(struct store *s)
{
    if (s)
        store_free(s);
}
