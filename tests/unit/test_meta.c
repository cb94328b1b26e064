/* tests/unit/test_meta.c: the object metadata cache without a network:
 * values round-trip through the packed entries (longest ETag and
 * Content-Type, empty ones), freshness follows each mount's TTL, an
 * invalidated entry is gone, and the byte budget drops the oldest entries
 * first while the newest stay. Fetches (HEAD over a real S3 server) are
 * covered by tests/integration/test_gateway.sh. */
#include "daemon/store/meta.h"
#include "daemon/config/config.h"
#include "daemon/shd.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct shd_mount mounts[2];
static struct shd_config cfg;
static struct shd_ctx ctx;

static void setup(uint64_t ttl0_ms, uint64_t ttl1_ms)
{
    memset(&ctx, 0, sizeof(ctx));
    memset(mounts, 0, sizeof(mounts));
    mounts[0].metadata_ttl_ms = ttl0_ms;
    mounts[1].metadata_ttl_ms = ttl1_ms;
    cfg.mounts = mounts;
    cfg.n_mounts = 2;
    ctx.cfg = &cfg;
}

/* same_stat: the fields a lookup fills (bytes after each string's NUL are
 * not part of the value) */
static int same_stat(const struct ufs_stat *a, const struct ufs_stat *b)
{
    return a->size == b->size && a->mtime == b->mtime && strcmp(a->etag, b->etag) == 0 &&
           strcmp(a->content_type, b->content_type) == 0;
}

static struct ufs_stat mk_stat(uint64_t size, const char *etag, const char *ctype)
{
    struct ufs_stat st;
    memset(&st, 0, sizeof(st));
    st.size = size;
    st.mtime = 1700000000 + (int64_t)size;
    snprintf(st.etag, sizeof(st.etag), "%s", etag);
    snprintf(st.content_type, sizeof(st.content_type), "%s", ctype);
    return st;
}

TEST(values_round_trip)
{
    struct meta_cache *mc;
    struct ufs_stat got, st;
    char etag[UFS_ETAG_MAX], ctype[sizeof(st.content_type)];

    setup(60000, 60000);
    REQUIRE(meta_cache_new(&ctx, 1 << 20, &mc) == 0);
    memset(etag, 'e', sizeof(etag) - 1);
    etag[0] = etag[sizeof(etag) - 2] = '"';
    etag[sizeof(etag) - 1] = '\0';
    memset(ctype, 'c', sizeof(ctype) - 1);
    ctype[sizeof(ctype) - 1] = '\0';
    st = mk_stat(123456789012ULL, etag, ctype);
    meta_put(mc, 0, "a/long.bin", &st);
    CHECK(meta_lookup(mc, 0, "a/long.bin", &got) == 0);
    CHECK(same_stat(&got, &st));
    st = mk_stat(0, "\"d41d8cd98f00b204e9800998ecf8427e\"", "");
    meta_put(mc, 0, "empty", &st);
    CHECK(meta_lookup(mc, 0, "empty", &got) == 0 && same_stat(&got, &st));
    /* an update replaces the values, and the same key in another mount is another entry */
    st = mk_stat(7, "\"v2\"", "text/plain");
    meta_put(mc, 0, "a/long.bin", &st);
    CHECK(meta_lookup(mc, 0, "a/long.bin", &got) == 0 && same_stat(&got, &st));
    CHECK(meta_lookup(mc, 1, "a/long.bin", &got) == -1);
    uint64_t bytes, entries;
    meta_cache_usage(mc, &bytes, &entries);
    CHECK(entries == 2 && bytes > 0 && bytes < 1024);
    meta_invalidate(mc, 0, "empty");
    CHECK(meta_lookup(mc, 0, "empty", &got) == -1);
    meta_cache_free(mc);
}

/* The headers S3 keeps with an object: stored with the entry, given back
 * only for the version they came with, counted in the budget, and never
 * handed out as a pointer into the cache. */
TEST(kept_headers)
{
    struct meta_cache *mc;
    struct ufs_stat st, got;
    char hdrs[UFS_HEADERS_MAX], buf[UFS_HEADERS_MAX];
    size_t hl = 0;
    uint64_t b0, b1, n;

    setup(60000, 60000);
    REQUIRE(meta_cache_new(&ctx, 1 << 20, &mc) == 0);
    CHECK(ufs_headers_add(hdrs, &hl, "X-Amz-Meta-Owner", 16, "etl", 3) == 0);
    CHECK(ufs_headers_add(hdrs, &hl, "cache-control", 13, "max-age=60", 10) == 0);
    CHECK(ufs_headers_add(hdrs, &hl, "x-amz-meta-bad", 14, "a\r\nb", 4) == -1);
    size_t before = hl; /* a bad byte late in the name: nothing of it appended */
    CHECK(ufs_headers_add(hdrs, &hl, "x-amz-meta-nul\0x", 16, "v", 1) == -1 && hl == before);
    CHECK_STR(hdrs, "x-amz-meta-owner: etl\r\ncache-control: max-age=60\r\n");
    st = mk_stat(10, "\"v1\"", "text/csv");
    meta_put(mc, 0, "k", &st);
    meta_cache_usage(mc, &b0, &n);
    CHECK(meta_headers(mc, 0, "k", "\"v1\"", buf, sizeof(buf)) == 0 && buf[0] == '\0');
    st.headers = hdrs;
    meta_put(mc, 0, "k", &st);
    meta_cache_usage(mc, &b1, &n);
    CHECK(b1 == b0 + hl);
    CHECK(meta_lookup(mc, 0, "k", &got) == 0 && got.headers == NULL);
    CHECK(meta_headers(mc, 0, "k", "\"v1\"", buf, sizeof(buf)) == (int)hl);
    CHECK_STR(buf, hdrs);
    CHECK(meta_headers(mc, 0, "k", "\"v2\"", buf, sizeof(buf)) == -1); /* another version */
    CHECK(meta_headers(mc, 0, "k", "\"v1\"", buf, 8) == -1);           /* does not fit */
    CHECK(meta_headers(mc, 1, "k", "\"v1\"", buf, sizeof(buf)) == -1);
    /* a full block: the line that does not fit is left out, whole */
    hl = 0;
    char big[1000];
    memset(big, 'v', sizeof(big));
    int added = 0;
    while (ufs_headers_add(hdrs, &hl, "x-amz-meta-big", 14, big, sizeof(big)) == 0)
        added++;
    CHECK(added == 4 && hl == 4 * 1018 && hl < UFS_HEADERS_MAX && strlen(hdrs) == hl);
    meta_cache_free(mc);
}

TEST(ttl_per_mount)
{
    struct meta_cache *mc;
    struct ufs_stat got, st = mk_stat(1, "\"x\"", "");

    setup(150, 60000);
    REQUIRE(meta_cache_new(&ctx, 1 << 20, &mc) == 0);
    meta_put(mc, 0, "k", &st);
    meta_put(mc, 1, "k", &st);
    CHECK(meta_lookup(mc, 0, "k", &got) == 0);
    usleep(250 * 1000);
    CHECK(meta_lookup(mc, 0, "k", &got) == -1); /* past mount 0's 150 ms */
    CHECK(meta_lookup(mc, 1, "k", &got) == 0);
    meta_cache_free(mc);
}

TEST(byte_budget)
{
    const uint64_t budget = 256 << 10;
    struct meta_cache *mc;
    struct ufs_stat got,
        st = mk_stat(4096, "\"0123456789abcdef0123456789abcdef\"", "application/octet-stream");
    uint64_t bytes, entries;
    char key[64];

    setup(60000, 60000);
    REQUIRE(meta_cache_new(&ctx, budget, &mc) == 0);
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "warehouse/table/part-%06d.parquet", i);
        meta_put(mc, 0, key, &st);
        meta_cache_usage(mc, &bytes, &entries);
        if (bytes > budget)
            break;
    }
    meta_cache_usage(mc, &bytes, &entries);
    CHECK(bytes <= budget);
    /* about 200 bytes an entry, as cache.metadata_memory's doc says */
    CHECK(entries > budget / 260 && entries < budget / 150);
    fprintf(stderr, "  %llu entries in %llu bytes: %llu bytes each\n", (unsigned long long)entries,
            (unsigned long long)bytes, (unsigned long long)(bytes / entries));
    CHECK(meta_lookup(mc, 0, "warehouse/table/part-019999.parquet", &got) == 0);
    CHECK(meta_lookup(mc, 0, "warehouse/table/part-000000.parquet", &got) == -1);
    meta_cache_free(mc);
}

int main(void)
{
    RUN(values_round_trip);
    RUN(kept_headers);
    RUN(ttl_per_mount);
    RUN(byte_budget);
    return harness_done();
}
