/* tests/unit/test_store.c: the block store's policies and memory tier, and
 * its concurrency: the exact eviction order of S3-FIFO and LRU, scan
 * resistance, byte-weighted capacity, replacement, load cancellation at
 * every stage, many threads at once, several disks. Real files in a
 * mkdtemp directory, real event bases and worker threads. The disk tier's
 * files and failures are tested in test_store_disk.c. */
#include "daemon/budget.h"
#include "tests/unit/store_util.h"

#include <pthread.h>
#include <xxhash.h>

_Static_assert(sizeof(struct store_entry) <= 96, "the index costs ~100 bytes per block");

/* ---- policies -------------------------------------------------------------------------- */

struct tnode {
    struct store_pnode n;
    uint64_t key;
};

static uint64_t tkey(const struct store_pnode *n)
{
    return ((const struct tnode *)n)->key;
}

#define TN(p) ((int)(((struct tnode *)(p)) - nodes))

TEST(policy_lru_order)
{
    struct store_policy p;
    struct tnode nodes[4] = {{.key = 0}, {.key = 1}, {.key = 2}, {.key = 3}};
    store_policy_init(&p, SHD_EVICT_LRU, 3, tkey);
    for (int i = 0; i < 3; i++)
        store_policy_insert(&p, &nodes[i].n, 1, 0);
    CHECK(store_policy_victim(&p, 0) == NULL);
    store_policy_hit(&p, &nodes[0].n);
    struct store_pnode *v = store_policy_victim(&p, 1);
    REQUIRE(v);
    CHECK(TN(v) == 1); /* b, the least recently used */
    store_policy_insert(&p, &nodes[3].n, 1, 0);
    v = store_policy_victim(&p, 1);
    CHECK(v && TN(v) == 2);
    CHECK(store_policy_victim(&p, 1) == NULL); /* 1 more fits now */
    v = store_policy_victim(&p, 2);
    CHECK(v && TN(v) == 0);
    CHECK(store_policy_count(&p) == 1 && store_policy_bytes(&p) == 1);
    store_policy_fini(&p);
}

TEST(policy_s3fifo_order)
{
    struct store_policy p;
    struct tnode nodes[12];
    struct store_pnode *v;
    for (int i = 0; i < 12; i++)
        nodes[i].key = (uint64_t)i * 7919;
    store_policy_init(&p, SHD_EVICT_S3FIFO, 10, tkey); /* small share 1, main 9 */
    for (int i = 0; i < 10; i++)
        store_policy_insert(&p, &nodes[i].n, 1, 0);
    CHECK(nodes[0].n.queue == STORE_Q_SMALL);
    store_policy_hit(&p, &nodes[0].n);
    store_policy_hit(&p, &nodes[1].n);
    /* S's oldest two were hit: they move to M; 2 is the first unhit: victim, to G */
    v = store_policy_victim(&p, 1);
    REQUIRE(v);
    CHECK(TN(v) == 2);
    CHECK(nodes[0].n.queue == STORE_Q_MAIN && nodes[1].n.queue == STORE_Q_MAIN);
    CHECK(nodes[0].n.freq == 0); /* cleared on the move */
    store_policy_insert(&p, &nodes[10].n, 1, 0);
    v = store_policy_victim(&p, 1);
    CHECK(v && TN(v) == 3);
    /* 2 comes back while in G: straight into M */
    store_policy_insert(&p, &nodes[2].n, 1, 0);
    CHECK(nodes[2].n.queue == STORE_Q_MAIN);
    /* empty S, then M evicts: 0 was hit (reinserted, freq 0), so 1 goes */
    for (int i = 4; i <= 10; i++)
        store_policy_remove(&p, &nodes[i].n);
    store_policy_hit(&p, &nodes[0].n);
    store_policy_hit(&p, &nodes[0].n);
    v = store_policy_victim(&p, 8);
    CHECK(v && TN(v) == 1);
    CHECK(nodes[0].n.freq == 1);
    v = store_policy_victim(&p, 9); /* 2 is now oldest and unhit */
    CHECK(v && TN(v) == 2);
    CHECK(store_policy_count(&p) == 1);
    store_policy_fini(&p);
}

/* a hot set re-used before a one-hit-wonder scan 6x the cache */
static int scan_keeps_hot(enum shd_eviction pol)
{
    struct store *s = open_store(10 * 1024, NULL, 0, 1024, pol);
    int kept = 0;
    for (uint64_t h = 0; h < 5; h++)
        put_n(s, h, 1024);
    for (uint64_t h = 0; h < 5; h++)
        has_n(s, h);
    for (uint64_t i = 100; i < 160; i++)
        put_n(s, i, 1024);
    for (uint64_t h = 0; h < 5; h++)
        kept += has_n(s, h);
    store_close(s);
    return kept;
}

TEST(policy_scan_resistance)
{
    CHECK(scan_keeps_hot(SHD_EVICT_S3FIFO) == 5);
    CHECK(scan_keeps_hot(SHD_EVICT_LRU) == 0);
}

/* ---- memory tier ------------------------------------------------------------------------- */

/* A block's XXH3-64 is its data's, computed once; one a reader checked is
 * taken as given; large blocks (own buffers, recycled) behave the same. */
TEST(block_sum)
{
    struct store_block *b = mk_block(2, 100), *big = mk_block(3, 1u << 20);
    CHECK(store_block_sum(b) == XXH3_64bits(store_block_data(b), 100));
    CHECK(store_block_sum(b) == XXH3_64bits(store_block_data(b), 100)); /* kept */
    CHECK(store_block_sum(big) == XXH3_64bits(store_block_data(big), 1u << 20));
    store_block_unref(big);
    big = mk_block(4, 1u << 20); /* likely the recycled buffer: no stale sum */
    CHECK(store_block_sum(big) == XXH3_64bits(store_block_data(big), 1u << 20));
    store_block_set_sum(b, 42);
    CHECK(store_block_sum(b) == 42);
    store_block_unref(b);
    store_block_unref(big);
}

TEST(block_basics)
{
    struct store_block *b = mk_block(1, 100), *r;
    uint8_t id[STORE_ID_LEN];
    mk_id(1, id);
    CHECK(store_block_len(b) == 100);
    CHECK(memcmp(store_block_id(b), id, STORE_ID_LEN) == 0);
    r = store_block_ref(b);
    CHECK(r == b);
    store_block_unref(r);
    store_block_unref(b);
    store_block_unref(NULL);
    CHECK(store_block_new(id, (size_t)STORE_BLOCK_MAX + 1) == NULL);
    /* from STORE_DIRECT_MIN on: data aligned for O_DIRECT, padding zeroed */
    b = store_block_new(id, STORE_DIRECT_MIN + 5);
    REQUIRE(b);
    CHECK((uintptr_t)store_block_data(b) % STORE_IO_ALIGN == 0);
    int zero = 1;
    for (size_t i = STORE_DIRECT_MIN + 5; i < store_io_round(STORE_DIRECT_MIN + 5); i++)
        zero &= store_block_data(b)[i] == 0;
    CHECK(zero);
    CHECK(store_block_len(b) == STORE_DIRECT_MIN + 5);
    store_block_unref(b);
}

TEST(put_get_mem)
{
    struct store *s = open_store(1 << 20, NULL, 0, 4096, SHD_EVICT_S3FIFO);
    struct store_block *b = mk_block(7, 3000), *g;
    uint8_t id[STORE_ID_LEN], other[STORE_ID_LEN];
    REQUIRE(s);
    mk_id(7, id);
    mk_id(8, other);
    CHECK(store_put(s, b) == 0);
    g = store_get(s, id);
    CHECK(g == b && block_ok(g, 7, 3000));
    store_block_unref(g);
    CHECK(store_get(s, other) == NULL);
    /* a new block under the same id replaces the old one */
    struct store_block *b2 = store_block_new(id, 10);
    memset(store_block_data(b2), 0x5a, 10);
    store_put(s, b2);
    g = store_get(s, id);
    CHECK(g == b2);
    store_block_unref(g);
    store_block_unref(b2);
    CHECK(block_ok(b, 7, 3000)); /* the caller's reference still holds the old bytes */
    store_block_unref(b);
    struct store_stats st = stats(s);
    CHECK(st.hits_mem == 2 && st.misses_mem == 1 && st.puts == 2);
    CHECK(st.blocks_mem == 1 && st.bytes_mem == 10);
    CHECK(store_on_disk(s, id) == 0);
    b = mk_block(9, 4097);
    CHECK(store_put(s, b) == SHD_ERR_TOOBIG);
    store_block_unref(b);
    store_remove(s, id);
    CHECK(store_get(s, id) == NULL && stats(s).blocks_mem == 0);
    store_close(s);
}

/* store_list: every block, hottest first; listing is not a use */
TEST(list_hottest_first)
{
    struct store *s = open_store(1 << 20, NULL, 0, 4096, SHD_EVICT_S3FIFO);
    uint8_t id[STORE_ID_LEN];
    REQUIRE(s);
    for (int i = 1; i <= 5; i++) {
        struct store_block *b = mk_block(i, 1000);
        store_put(s, b);
        store_block_unref(b);
    }
    mk_id(4, id);
    for (int k = 0; k < 3; k++) /* block 4 used three times, block 2 once */
        store_block_unref(store_get(s, id));
    mk_id(2, id);
    store_block_unref(store_get(s, id));
    uint64_t hits = stats(s).hits_mem;
    struct store_held *v;
    size_t n;
    store_list(s, &v, &n);
    CHECK(n == 5);
    uint8_t want4[STORE_ID_LEN], want2[STORE_ID_LEN];
    mk_id(4, want4);
    mk_id(2, want2);
    CHECK(n >= 2 && memcmp(v[0].id, want4, STORE_ID_LEN) == 0);
    CHECK(n >= 2 && memcmp(v[1].id, want2, STORE_ID_LEN) == 0);
    for (size_t i = 1; i < n; i++)
        CHECK(v[i - 1].heat >= v[i].heat);
    int seen = 0;
    for (int i = 1; i <= 5; i++) {
        mk_id(i, id);
        for (size_t k = 0; k < n; k++)
            seen += memcmp(v[k].id, id, STORE_ID_LEN) == 0;
    }
    CHECK(seen == 5);
    CHECK(stats(s).hits_mem == hits);
    free(v);
    store_remove(s, want4);
    store_list(s, &v, &n);
    CHECK(n == 4);
    free(v);
    store_close(s);
}

TEST(capacity_mem)
{
    const uint64_t cap = 64 * 1024;
    struct store *s = open_store(cap, NULL, 0, 16384, SHD_EVICT_S3FIFO);
    uint64_t sum = 0, n = 0;
    int over = 0;
    REQUIRE(s);
    for (uint64_t i = 0; i < 200; i++) {
        put_n(s, i, 1 + mix(i) % 16384);
        if (i % 3 == 0)
            has_n(s, i / 2);
        over |= stats(s).bytes_mem > cap;
    }
    CHECK(!over);
    for (uint64_t i = 0; i < 200; i++) {
        uint8_t id[STORE_ID_LEN];
        mk_id(i, id);
        struct store_block *b = store_get(s, id);
        if (b) {
            sum += store_block_len(b);
            n++;
            CHECK(block_ok(b, i, 1 + mix(i) % 16384));
        }
        store_block_unref(b);
    }
    struct store_stats st = stats(s);
    CHECK(st.bytes_mem == sum && st.blocks_mem == n);
    CHECK(sum <= cap && sum > cap / 2);
    CHECK(st.evictions_mem == 200 - n);
    store_close(s);
}

/* Blocks the memory tier evicts while someone still holds them are charged
 * to the pinned budget until the last reference goes; blocks nobody holds,
 * and blocks still in the tier, are not. */
TEST(pinned_budget)
{
    struct shd_budget bud;
    shd_budget_init(&bud, 1 << 20);
    struct store_conf c = {
        .mem_bytes = 2 * 4096, .block_size = 4096, .policy = SHD_EVICT_LRU, .pinned_budget = &bud};
    struct store *s = NULL;
    REQUIRE(store_open(&c, &s) == 0);
    struct store_block *held = mk_block(1, 4096), *again;
    store_put(s, held); /* tier and caller hold it */
    put_n(s, 2, 4096);
    CHECK(atomic_load(&bud.held[SHD_MEM_PINNED]) == 0); /* in the tier: not charged */
    put_n(s, 3, 4096);                                  /* evicts 1, still held */
    CHECK(!has_n(s, 1));
    CHECK(atomic_load(&bud.held[SHD_MEM_PINNED]) == 4096);
    CHECK(atomic_load(&bud.used) == 4096);
    put_n(s, 4, 4096); /* evicts 2, held by nobody: no charge */
    CHECK(atomic_load(&bud.held[SHD_MEM_PINNED]) == 4096);
    /* put again while charged, evicted again: charged once */
    store_put(s, held);
    put_n(s, 5, 4096);
    put_n(s, 6, 4096);
    CHECK(!has_n(s, 1));
    CHECK(atomic_load(&bud.held[SHD_MEM_PINNED]) == 4096);
    again = store_block_ref(held);
    store_block_unref(held);
    CHECK(atomic_load(&bud.used) == 4096); /* a reference is left */
    store_block_unref(again);
    CHECK(atomic_load(&bud.held[SHD_MEM_PINNED]) == 0);
    CHECK(atomic_load(&bud.used) == 0);
    /* past the limit: the bytes exist, so they are charged anyway */
    shd_budget_init(&bud, 4096);
    CHECK(shd_budget_take(&bud, SHD_MEM_FILL, 4096) == 0);
    held = mk_block(7, 4096);
    store_put(s, held);
    put_n(s, 8, 4096);
    put_n(s, 9, 4096);
    CHECK(atomic_load(&bud.used) == 2 * 4096);
    CHECK(shd_budget_take(&bud, SHD_MEM_FILL, 1) != 0); /* over the limit: others wait */
    store_block_unref(held);
    shd_budget_give(&bud, SHD_MEM_FILL, 4096);
    CHECK(atomic_load(&bud.used) == 0);
    store_close(s);
}

/* ---- loads and cancellation --------------------------------------------------------------- */

static int fired[64];

static void count_cb(void *arg, int err, struct store_block *b)
{
    int i = (int)(intptr_t)arg;
    fired[i]++;
    if (err == 0 && block_ok(b, (uint64_t)i, 2000))
        fired[i] += 100;
    store_block_unref(b);
}

struct self_cancel {
    struct store_load *l;
    int done;
};

static void self_cancel_cb(void *arg, int err, struct store_block *b)
{
    struct self_cancel *sc = arg;
    store_load_cancel(sc->l); /* from its own callback: a no-op */
    sc->done = 1 + (err == 0);
    store_block_unref(b);
}

TEST(load_cancel)
{
    char *d = new_dir();
    struct store *s = open_store(0, d, 1 << 20, 4096, SHD_EVICT_S3FIFO);
    struct event_base *base = event_base_new();
    struct store_load *l[64];
    uint8_t id[STORE_ID_LEN];
    REQUIRE(s && base);
    memset(fired, 0, sizeof(fired));
    for (uint64_t i = 0; i < 64; i++)
        put_n(s, i, 2000);
    store_flush(s);
    for (int i = 0; i < 64; i++) {
        mk_id((uint64_t)i, id);
        l[i] = store_load(s, base, id, count_cb, (void *)(intptr_t)i);
        REQUIRE(l[i]);
    }
    for (int i = 0; i < 20; i++) /* at once: most still queued or reading */
        store_load_cancel(l[i]);
    store_flush(s); /* the rest have finished: their events are active */
    for (int i = 20; i < 40; i++)
        store_load_cancel(l[i]);
    int want = 24, got = 0;
    for (int k = 0; k < 500 && got < want; k++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        got = 0;
        for (int i = 0; i < 64; i++)
            got += fired[i] != 0;
        usleep(1000);
    }
    for (int i = 0; i < 64; i++)
        CHECK(fired[i] == (i < 40 ? 0 : 101));
    struct self_cancel sc = {NULL, 0};
    mk_id(50, id);
    sc.l = store_load(s, base, id, self_cancel_cb, &sc);
    CHECK(sc.l && run_until(base, &sc.done, 1) && sc.done == 2);
    /* cancelled, then its base freed at once: the worker never touches it */
    struct event_base *gone = event_base_new();
    for (int i = 0; i < 8; i++) {
        mk_id((uint64_t)i, id);
        store_load_cancel(store_load(s, gone, id, count_cb, (void *)(intptr_t)i));
    }
    event_base_free(gone);
    store_flush(s);
    CHECK(fired[0] == 0 && s->loads_pending == 0);
    store_close(s);
    event_base_free(base);
    free(d);
}

/* ---- many threads ------------------------------------------------------------------------- */

struct thr {
    struct store *s;
    int seed, bad;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    struct event_base *base = event_base_new();
    uint64_t r = (uint64_t)t->seed;
    for (int i = 0; i < 1500; i++) {
        r = mix(r);
        uint64_t n = r % 48, op = (r >> 8) % 10;
        size_t len = 512 + n * 64;
        uint8_t id[STORE_ID_LEN];
        struct store_block *b = NULL;
        struct store_stats st;
        mk_id(n, id);
        if (op < 3) {
            put_n(t->s, n, len);
        } else if (op < 6) {
            b = store_get(t->s, id);
            t->bad += b && !block_ok(b, n, len);
            store_block_unref(b);
        } else if (op < 8) {
            struct res res = {0, 0, NULL};
            struct store_load *l = store_load(t->s, base, id, res_cb, &res);
            if (l && (r >> 20) % 4 == 0) {
                store_load_cancel(l);
            } else if (l) {
                t->bad += !run_until(base, &res.done, 1);
                t->bad += res.err == 0 && !block_ok(res.b, n, len);
                store_block_unref(res.b);
            }
        } else if (op < 9) {
            store_remove(t->s, id);
        } else {
            store_on_disk(t->s, id);
            store_stats_get(t->s, &st);
        }
    }
    event_base_free(base);
    return NULL;
}

TEST(concurrent)
{
    char *d = new_dir();
    struct store *s = open_store(24 * 1024, d, 64 * 1024, 4096, SHD_EVICT_S3FIFO);
    pthread_t th[4];
    struct thr t[4];
    uint64_t fb;
    REQUIRE(s);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){s, i + 1, 0};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(t[i].bad == 0);
    }
    store_flush(s);
    struct store_stats st = stats(s);
    CHECK(st.bytes_mem <= 24 * 1024 && st.bytes_disk <= 64 * 1024);
    CHECK(count_files(d, &fb) == st.blocks_disk && fb == st.bytes_disk);
    CHECK(st.checksum_failures == 0 && st.disk_errors == 0 && st.puts > 1000);
    store_close(s);
    free(d);
}

/* ---- several disks, removal ------------------------------------------------------------ */

TEST(multi_disk)
{
    char *d1 = new_dir(), *d2 = new_dir(), p[256];
    struct store_disk_conf dc[2] = {{d1, 1 << 20}, {d2, 3 << 20}};
    struct store_conf c = {.disks = dc, .ndisks = 2, .block_size = 4096, .io_threads = 3};
    struct store *s = NULL;
    REQUIRE(store_open(&c, &s) == 0);
    for (uint64_t i = 0; i < 200; i++)
        put_n(s, i, 1000);
    store_flush(s);
    size_t n1 = count_files(d1, NULL), n2 = count_files(d2, NULL);
    CHECK(n1 + n2 == 200 && n1 >= 25 && n1 <= 80); /* weighted 1:3 */
    for (uint64_t i = 0; i < 200; i++) {
        uint8_t id[STORE_ID_LEN];
        mk_id(i, id);
        size_t want = store_disk_pick(s->disks, s->ndisks, id);
        block_path(want ? d2 : d1, i, p, sizeof(p));
        CHECK(file_exists(p));
    }
    uint8_t id0[STORE_ID_LEN];
    mk_id(0, id0);
    store_remove(s, id0);
    store_flush(s);
    CHECK(count_files(d1, NULL) + count_files(d2, NULL) == 199 && !store_on_disk(s, id0));
    store_close(s);
    REQUIRE(store_open(&c, &s) == 0); /* a restart finds them all where they were */
    CHECK(stats(s).scan_blocks == 199 && stats(s).disks == 2);
    store_close(s);
    free(d1);
    free(d2);
}

int main(void)
{
    if (util_begin() != 0)
        return 1;
    RUN(block_basics);
    RUN(block_sum);
    RUN(policy_lru_order);
    RUN(policy_s3fifo_order);
    RUN(policy_scan_resistance);
    RUN(put_get_mem);
    RUN(list_hottest_first);
    RUN(capacity_mem);
    RUN(pinned_budget);
    RUN(load_cancel);
    RUN(concurrent);
    RUN(multi_disk);
    return util_end();
}
