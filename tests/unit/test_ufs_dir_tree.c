/* tests/unit/test_ufs_dir_tree.c: the local-directory ufs backend across the
 * tree: listings (S3 byte order, prefix, delimiter, start_after, pages and
 * continuation tokens, all checked against a small reference model of
 * ListObjectsV2; hidden temp and upload files, empty directories, links),
 * multipart uploads (happy path and every error), and many reads, writes,
 * stats, lists and deletes at once on a real event_base. */
#include "tests/unit/ufs_dir_util.h"

#include <dirent.h>

/* ---- listing: the recorder and the model ---------------------------------------------- */

struct lres {
    int called, err, truncated;
    char **items; /* keys then common prefixes, as returned */
    struct ufs_stat *st;
    size_t n, nkeys, nprefixes;
    char *token;
};

static void lres_free(struct lres *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l->st);
    free(l->token);
    l->items = NULL;
    l->st = NULL;
    l->n = 0;
    l->token = NULL;
}

static void on_list(void *arg, int err, const struct ufs_list_page *p)
{
    struct lres *l = arg;

    l->called++;
    l->err = err;
    if (err || !p) {
        if (!err)
            l->err = 999;
        return;
    }
    l->items = calloc(p->n_entries + p->n_prefixes + 1, sizeof(char *));
    l->st = calloc(p->n_entries + 1, sizeof(*l->st));
    for (size_t i = 0; i < p->n_entries; i++) {
        l->st[l->n] = p->entries[i].st;
        l->items[l->n++] = strdup(p->entries[i].key);
    }
    for (size_t i = 0; i < p->n_prefixes; i++)
        l->items[l->n++] = strdup(p->common_prefixes[i]);
    l->nkeys = p->n_entries;
    l->nprefixes = p->n_prefixes;
    l->truncated = p->truncated;
    l->token = p->next_token ? strdup(p->next_token) : NULL;
    if (!!p->truncated != !!p->next_token)
        l->err = 999;
}

static int do_list(const struct ufs_list_opts *o, struct lres *l)
{
    memset(l, 0, sizeof(*l));
    if (!ufs_list(u, o, on_list, l) || l->called)
        return -1000;
    run_until(&l->called);
    return l->err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys the tree tests create, and noise that must never be listed. */
static const char *tree_keys[] = {"a-b",   "a/b",   "a/c/d",   "a/c/e",    "a0",
                                  "b",     "b.txt", "c/d/e/f", "x y/z",    "\xc3\xa9",
                                  "a/c.d", "ab/x",  "a.b/c",   "a/c/d.e/f"};
#define NKEYS (sizeof(tree_keys) / sizeof(tree_keys[0]))
static const char *sorted_keys[NKEYS];

static void make_tree(void)
{
    char p[PATH_MAX], q[PATH_MAX];

    for (size_t i = 0; i < NKEYS; i++) {
        put_file(tree_keys[i], tree_keys[i], strlen(tree_keys[i]));
        sorted_keys[i] = tree_keys[i];
    }
    qsort(sorted_keys, NKEYS, sizeof(char *), cmp_str);
    mkdir_rel("empty/sub/deeper");
    mkdir_rel("zz-empty");
    put_file(".shoal-tmp-0123", "t", 1);
    put_file("a/.shoal-tmp-4567", "t", 1);
    put_file(".shoal-uploads/0123456789abcdef0123456789abcdef/info", "\0a", 2);
    rel_path("link", p, sizeof(p));
    rel_path("b", q, sizeof(q));
    if (symlink(q, p) != 0)
        perror("symlink");
    rel_path("a/pipe", p, sizeof(p));
    if (mkfifo(p, 0600) != 0)
        perror("mkfifo");
}

/* model: what ListObjectsV2 returns over all pages for these options. */
static size_t model(const char *prefix, const char *delim, const char *start_after,
                    char out[][UFS_KEY_MAX + 1])
{
    size_t n = 0, pl = prefix ? strlen(prefix) : 0;

    for (size_t i = 0; i < NKEYS; i++) {
        const char *k = sorted_keys[i], *q;

        if (strncmp(k, prefix ? prefix : "", pl) != 0)
            continue;
        if (start_after && strcmp(k, start_after) <= 0)
            continue;
        if (delim && *delim && (q = strstr(k + pl, delim)) != NULL) {
            size_t cl = (size_t)(q - k) + strlen(delim);

            if (n && strlen(out[n - 1]) == cl && memcmp(out[n - 1], k, cl) == 0)
                continue;
            memcpy(out[n], k, cl);
            out[n++][cl] = '\0';
            continue;
        }
        snprintf(out[n++], UFS_KEY_MAX + 1, "%s", k);
    }
    return n;
}

/* list_all_pages: pages of MAX_KEYS through the tokens, merged in order;
 * checks every page's shape. Returns the number of results, or -1. */
static long list_all_pages(const char *prefix, const char *delim, const char *start_after,
                           unsigned max_keys, char out[][UFS_KEY_MAX + 1])
{
    struct ufs_list_opts o = {prefix, delim, NULL, start_after, max_keys};
    char *token = NULL;
    size_t n = 0;
    struct lres l;

    for (int pages = 0; pages < 100; pages++) {
        char *merged[2048];
        size_t m;

        o.continuation_token = token;
        if (do_list(&o, &l) != 0)
            return -1;
        free(token);
        token = l.token ? strdup(l.token) : NULL;
        m = l.n;
        if (m > max_keys || (l.truncated && m != max_keys))
            return -1;
        memcpy(merged, l.items, m * sizeof(char *));
        qsort(merged, m, sizeof(char *), cmp_str); /* keys and prefixes together */
        for (size_t i = 0; i < m; i++)
            snprintf(out[n++], UFS_KEY_MAX + 1, "%s", merged[i]);
        lres_free(&l);
        if (!token)
            return (long)n;
    }
    free(token);
    return -1;
}

static int same_list(const char *prefix, const char *delim, const char *start_after,
                     unsigned max_keys)
{
    static char want[64][UFS_KEY_MAX + 1], got[64][UFS_KEY_MAX + 1];
    size_t nw = model(prefix, delim, start_after, want);
    long ng = list_all_pages(prefix, delim, start_after, max_keys, got);
    int ok = ng == (long)nw;

    for (size_t i = 0; ok && i < nw; i++)
        ok = strcmp(want[i], got[i]) == 0;
    if (!ok) {
        fprintf(stderr, "list prefix=%s delim=%s start_after=%s max_keys=%u: want %zu got %ld\n",
                prefix ? prefix : "-", delim ? delim : "-", start_after ? start_after : "-",
                max_keys, nw, ng);
        for (size_t i = 0; i < nw || (long)i < ng; i++)
            fprintf(stderr, "  %-12s %s\n", i < nw ? want[i] : "", (long)i < ng ? got[i] : "");
    }
    return ok;
}

/* ---- listing tests -------------------------------------------------------------------- */

TEST(test_list_all)
{
    struct lres l;
    struct res s;

    open_fresh();
    make_tree();
    REQUIRE(do_list(NULL, &l) == 0);
    CHECK(l.n == NKEYS && l.nprefixes == 0 && !l.truncated && !l.token);
    for (size_t i = 0; i < l.n && i < NKEYS; i++) {
        CHECK_STR(l.items[i], sorted_keys[i]); /* S3 order: bytes, '-' < '.' < '/' < '0' */
        CHECK(do_stat(sorted_keys[i], &s) == 0);
        CHECK(l.st[i].size == strlen(sorted_keys[i]) && l.st[i].size == s.st.size);
        CHECK_STR(l.st[i].etag, s.st.etag);
        CHECK(l.st[i].mtime == s.st.mtime);
        CHECK_STR(l.st[i].content_type, "");
    }
    lres_free(&l);
    close_rm(); /* the tree's root goes too */
    fresh_root(); /* an empty root */
    REQUIRE(ufs_dir_open(base, root, &u) == 0);
    CHECK(do_list(NULL, &l) == 0 && l.n == 0 && !l.truncated);
    lres_free(&l);
    close_rm();
}

TEST(test_list_prefix_delimiter)
{
    static const char *prefixes[] = {"",
                                     "a",
                                     "a/",
                                     "a/c",
                                     "a/c/",
                                     "a/c/d",
                                     "zz",
                                     "a//",
                                     "../",
                                     "./a",
                                     "a/c/d.e/",
                                     "\xc3",
                                     "b.",
                                     "c/d/e/f",
                                     "c/d/e/f/",
                                     "empty/",
                                     ".shoal-uploads/",
                                     "a/.shoal-tmp-"};
    static const char *delims[] = {NULL, "/", ".", "c/", "-", "d.e/"};

    open_fresh();
    make_tree();
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        for (size_t j = 0; j < sizeof(delims) / sizeof(delims[0]); j++)
            CHECK(same_list(prefixes[i], delims[j], NULL, 1000));
    struct lres l;
    struct ufs_list_opts o = {NULL, "/", NULL, NULL, 0};
    REQUIRE(do_list(&o, &l) == 0);
    /* empty directories make no common prefix; links and FIFOs are no keys */
    CHECK(l.nkeys == 5 && l.nprefixes == 5);
    for (size_t i = 0; i < l.n; i++)
        CHECK(strcmp(l.items[i], "empty/") != 0 && strcmp(l.items[i], "link") != 0);
    lres_free(&l);
    o.delimiter = ""; /* an empty delimiter is none */
    REQUIRE(do_list(&o, &l) == 0);
    CHECK(l.nkeys == NKEYS && l.nprefixes == 0);
    lres_free(&l);
    close_rm();
}

TEST(test_list_start_after_pages)
{
    static const char *after[] = {NULL,    "",      "a",  "a/",    "a/b", "a/c",
                                  "a/c/d", "a/c/z", "a0", "b.txt", "zzz", "\xff"};
    static const char *prefixes[] = {"", "a", "a/", "b"};
    static const char *delims[] = {NULL, "/", "."};
    static const unsigned sizes[] = {1, 2, 3, 5, 1000};

    open_fresh();
    make_tree();
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
        for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++)
            for (size_t k = 0; k < sizeof(delims) / sizeof(delims[0]); k++)
                for (size_t m = 0; m < sizeof(sizes) / sizeof(sizes[0]); m++)
                    CHECK(same_list(prefixes[j], delims[k], after[i] && *after[i] ? after[i] : NULL,
                                    sizes[m]));
    /* a token overrides start_after, as on S3 */
    struct ufs_list_opts o = {NULL, NULL, NULL, NULL, 2};
    struct lres l, l2;
    REQUIRE(do_list(&o, &l) == 0 && l.truncated && l.token);
    o.continuation_token = l.token;
    o.start_after = "zzz";
    REQUIRE(do_list(&o, &l2) == 0 && l2.n == 2);
    CHECK_STR(l2.items[0], sorted_keys[2]);
    lres_free(&l);
    lres_free(&l2);
    close_rm();
}

TEST(test_list_errors_and_cap)
{
    static const char *bad[] = {"", "k", "kz0", "x6162", "k616", "k6100", "p"};
    char longp[UFS_KEY_MAX + 2];
    struct ufs_list_opts o = {0};
    struct lres l;

    open_fresh();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.continuation_token = bad[i];
        CHECK(do_list(&o, &l) == UFS_EINVAL);
    }
    o.continuation_token = NULL;
    memset(longp, 'p', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    o.prefix = longp;
    CHECK(do_list(&o, &l) == UFS_EINVAL);
    o.prefix = NULL;
    o.start_after = longp;
    CHECK(do_list(&o, &l) == UFS_EINVAL);
    o.start_after = NULL;
    /* max_keys is capped at 1000, as on S3 */
    for (int i = 0; i < 1003; i++) {
        char k[32];

        snprintf(k, sizeof(k), "many/%05d", i);
        put_file(k, "", 0);
    }
    o.max_keys = 5000;
    REQUIRE(do_list(&o, &l) == 0);
    CHECK(l.nkeys == 1000 && l.truncated && l.token);
    CHECK_STR(l.items[999], "many/00999");
    o.continuation_token = l.token;
    struct lres l2;
    REQUIRE(do_list(&o, &l2) == 0);
    CHECK(l2.nkeys == 3 && !l2.truncated && !l2.token);
    CHECK_STR(l2.items[0], "many/01000");
    lres_free(&l);
    lres_free(&l2);
    close_rm();
}

/* ---- multipart ------------------------------------------------------------------------ */

static int mpu_create(const char *key, const char *ctype, char id[128])
{
    struct ufs_put_opts o = {.content_type = ctype};
    struct res r = {0};

    if (!ufs_mpu_create(u, key, &o, on_create, &r) || r.called)
        return -1000;
    run_until(&r.called);
    snprintf(id, 128, "%s", r.id);
    return r.err;
}

static int mpu_part(const char *key, const char *id, unsigned part, const char *data, uint64_t size,
                    char etag[UFS_ETAG_MAX])
{
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res r = {0};
    struct ufs_req *w = ufs_mpu_part(u, key, id, part, size, &cbs, &r);

    if (!w || r.called)
        return -1000;
    if (size != UFS_SIZE_UNKNOWN && ufs_write(w, data, strlen(data)) >= 0)
        ufs_write_close(w);
    run_until(&r.called);
    snprintf(etag, UFS_ETAG_MAX, "%s", r.etag);
    return r.err;
}

static int mpu_complete(const char *key, const char *id, const struct ufs_part *p, size_t n,
                        char etag[UFS_ETAG_MAX])
{
    struct res r = {0};

    if (!ufs_mpu_complete(u, key, id, p, n, on_wdone, &r) || r.called)
        return -1000;
    run_until(&r.called);
    if (etag)
        snprintf(etag, UFS_ETAG_MAX, "%s", r.etag);
    return r.err;
}

static int mpu_abort(const char *key, const char *id)
{
    struct res r = {0};

    if (!ufs_mpu_abort(u, key, id, on_done, &r) || r.called)
        return -1000;
    run_until(&r.called);
    return r.err;
}

static int upload_exists(const char *id)
{
    char rel[256];

    snprintf(rel, sizeof(rel), ".shoal-uploads/%s", id);
    return file_exists(rel);
}

TEST(test_mpu_basic)
{
    char id[128], e1[UFS_ETAG_MAX], e2[UFS_ETAG_MAX], e3[UFS_ETAG_MAX], et[UFS_ETAG_MAX];
    struct res s;
    struct lres l;
    size_t len;
    char *got;

    open_fresh();
    REQUIRE(mpu_create("dir/obj", "application/x-test", id) == 0);
    CHECK(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32);
    CHECK(upload_exists(id));
    CHECK(mpu_part("dir/obj", id, 3, "three", 5, e3) == 0); /* any order */
    CHECK(mpu_part("dir/obj", id, 1, "one-", 4, e1) == 0);
    CHECK(mpu_part("dir/obj", id, 2, "two-", 4, e2) == 0);
    CHECK(strcmp(e1, e2) != 0 && e1[0] == '"');
    CHECK(!file_exists("dir/obj"));
    REQUIRE(do_list(NULL, &l) == 0);
    CHECK(l.n == 0); /* the upload is invisible */
    lres_free(&l);
    struct ufs_part parts[] = {{1, e1}, {2, e2}, {3, e3}};
    CHECK(mpu_complete("dir/obj", id, parts, 3, et) == 0);
    got = get_file("dir/obj", &len);
    CHECK(got && len == 13 && memcmp(got, "one-two-three", 13) == 0);
    free(got);
    CHECK(do_stat("dir/obj", &s) == 0);
    CHECK_STR(s.st.etag, et);
    if (xattrs_work())
        CHECK_STR(s.st.content_type, "application/x-test");
    CHECK(!upload_exists(id));
    CHECK(count_tmp() == 0);
    /* a subset of the parts, with unquoted ETags, and a part written twice */
    REQUIRE(mpu_create("k", NULL, id) == 0);
    CHECK(mpu_part("k", id, 1, "aaaa", 4, e1) == 0);
    CHECK(mpu_part("k", id, 2, "bb", 2, e2) == 0);
    CHECK(mpu_part("k", id, 5, "cc", 2, e3) == 0);
    CHECK(mpu_part("k", id, 1, "AAAA", 4, et) == 0);
    CHECK(strcmp(et, e1) != 0);
    char unq[UFS_ETAG_MAX];
    snprintf(unq, sizeof(unq), "%.*s", (int)strlen(e3) - 2, e3 + 1);
    struct ufs_part stale[] = {{1, e1}, {5, e3}};
    CHECK(mpu_complete("k", id, stale, 2, NULL) == UFS_EINVAL); /* part 1 changed */
    struct ufs_part two[] = {{1, et}, {5, unq}};
    CHECK(mpu_complete("k", id, two, 2, NULL) == 0);
    got = get_file("k", &len);
    CHECK(got && len == 6 && memcmp(got, "AAAAcc", 6) == 0);
    free(got);
    close_rm();
}

TEST(test_mpu_errors)
{
    char id[128], id2[128], e1[UFS_ETAG_MAX], et[UFS_ETAG_MAX];
    const char *ghost = "0123456789abcdef0123456789abcdef";

    open_fresh();
    REQUIRE(mpu_create("k", NULL, id) == 0);
    REQUIRE(mpu_part("k", id, 1, "data", 4, e1) == 0);
    /* part arguments */
    CHECK(mpu_part("k", id, 0, "x", 1, et) == UFS_EINVAL);
    CHECK(mpu_part("k", id, 10001, "x", 1, et) == UFS_EINVAL);
    CHECK(mpu_part("k", id, 2, "x", UFS_SIZE_UNKNOWN, et) == UFS_EINVAL);
    CHECK(mpu_part("a//b", id, 2, "x", 1, et) == UFS_EINVAL);
    CHECK(mpu_part("k", id, 2, "xyz", 1, et) == UFS_EINVAL); /* over its size */
    /* unknown, malformed, or another key's upload: NoSuchUpload */
    CHECK(mpu_part("k", ghost, 1, "x", 1, et) == UFS_ECONFLICT);
    CHECK(mpu_part("k", "../../../etc", 1, "x", 1, et) == UFS_ECONFLICT);
    CHECK(mpu_part("other", id, 2, "x", 1, et) == UFS_ECONFLICT);
    struct ufs_part one[] = {{1, e1}};
    CHECK(mpu_complete("k", ghost, one, 1, NULL) == UFS_ECONFLICT);
    CHECK(mpu_complete("other", id, one, 1, NULL) == UFS_ECONFLICT);
    CHECK(mpu_abort("k", ghost) == UFS_ECONFLICT);
    CHECK(mpu_abort("k", NULL) == UFS_ECONFLICT);
    CHECK(mpu_abort("other", id) == UFS_ECONFLICT);
    /* part lists */
    struct ufs_part missing[] = {{1, e1}, {2, e1}};
    struct ufs_part order[] = {{2, e1}, {1, e1}};
    struct ufs_part dup[] = {{1, e1}, {1, e1}};
    struct ufs_part wrong[] = {{1, "\"0000000000000000\""}};
    struct ufs_part noetag[] = {{1, NULL}};
    CHECK(mpu_complete("k", id, missing, 2, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, order, 2, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, dup, 2, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, wrong, 1, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, noetag, 1, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, one, 0, NULL) == UFS_EINVAL);
    CHECK(mpu_complete("k", id, NULL, 1, NULL) == UFS_EINVAL);
    CHECK(!file_exists("k") && upload_exists(id)); /* nothing happened */
    /* a file in the way of the key: the upload survives the failed complete */
    REQUIRE(mpu_create("f/x", NULL, id2) == 0);
    REQUIRE(mpu_part("f/x", id2, 1, "data", 4, et) == 0);
    put_file("f", "file", 4);
    struct ufs_part p2[] = {{1, et}};
    CHECK(mpu_complete("f/x", id2, p2, 1, NULL) == UFS_ECONFLICT);
    CHECK(upload_exists(id2));
    CHECK(mpu_abort("f/x", id2) == 0 && !upload_exists(id2));
    /* abort: the parts go; later calls find no upload */
    CHECK(mpu_abort("k", id) == 0 && !upload_exists(id));
    CHECK(mpu_part("k", id, 2, "x", 1, et) == UFS_ECONFLICT);
    CHECK(mpu_complete("k", id, one, 1, NULL) == UFS_ECONFLICT);
    CHECK(mpu_abort("k", id) == UFS_ECONFLICT);
    /* injected failures: the upload survives a failed complete; a create
     * that fails leaves no upload behind */
    REQUIRE(mpu_create("k2", NULL, id2) == 0);
    REQUIRE(mpu_part("k2", id2, 1, "data", 4, et) == 0);
    struct ufs_part p3[] = {{1, et}};
    util_fail_fsync = EIO;
    CHECK(mpu_complete("k2", id2, p3, 1, NULL) == UFS_EIO);
    util_fail_fsync = 0;
    CHECK(upload_exists(id2) && !file_exists("k2"));
    CHECK(mpu_complete("k2", id2, p3, 1, NULL) == 0 && file_exists("k2"));
    fail_open("/info", ENOSPC);
    CHECK(mpu_create("k3", NULL, id2) == UFS_EIO);
    fail_open(NULL, 0);
    int left = 0;
    char up[PATH_MAX];
    rel_path(".shoal-uploads", up, sizeof(up));
    DIR *ud = opendir(up);
    for (struct dirent *de; ud && (de = readdir(ud)) != NULL;)
        left += de->d_name[0] != '.';
    if (ud)
        closedir(ud);
    CHECK(left == 0);
    struct ufs_put_opts o = {.content_type = "a\nb"};
    struct res r = {0};
    CHECK(ufs_mpu_create(u, "k", &o, on_create, &r) != NULL);
    run_until(&r.called);
    CHECK(r.err == UFS_EINVAL);
    close_u();
    CHECK(count_tmp() == 0);
    rm_root();
}

/* ---- concurrency ---------------------------------------------------------------------- */

#define CONC_KEYS 16
#define CONC_READS 4

static size_t conc_len(int k, int v)
{
    return 100000 + (size_t)k * 7919 + (size_t)v * 300000;
}

/* conc_check: R holds exactly version 1 or 2 of key K, never a mix. */
static int conc_check(const struct rd *r, int k)
{
    for (int v = 1; v <= 2; v++) {
        char *want = pattern(conc_len(k, v), (unsigned)(k * 10 + v));
        int same = r->len == conc_len(k, v) && memcmp(r->buf, want, r->len) == 0;

        free(want);
        if (same)
            return v;
    }
    return 0;
}

TEST(test_concurrency)
{
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    static struct rd reads[CONC_KEYS][CONC_READS];
    struct res wres[CONC_KEYS] = {{0}}, sres[CONC_KEYS] = {{0}}, dres[CONC_KEYS] = {{0}};
    struct lres lists[4];
    char *v2[CONC_KEYS];
    char key[32];

    open_fresh();
    for (int k = 0; k < CONC_KEYS; k++) {
        char *v1 = pattern(conc_len(k, 1), (unsigned)(k * 10 + 1));

        snprintf(key, sizeof(key), "c/%02d/obj", k);
        REQUIRE(put(key, v1, conc_len(k, 1), NULL, NULL) == 0);
        snprintf(key, sizeof(key), "gone/%02d", k);
        REQUIRE(put(key, "x", 1, NULL, NULL) == 0);
        free(v1);
    }
    /* everything at once: reads of every key around a rewrite of it, stats,
     * deletes of other keys, and lists of the whole tree */
    for (int k = 0; k < CONC_KEYS; k++) {
        struct ufs_req *w;

        snprintf(key, sizeof(key), "c/%02d/obj", k);
        for (int i = 0; i < CONC_READS / 2; i++)
            REQUIRE(start_read(key, 0, UFS_SIZE_UNKNOWN, NULL, &reads[k][i]) != NULL);
        v2[k] = pattern(conc_len(k, 2), (unsigned)(k * 10 + 2));
        REQUIRE((w = ufs_write_open(u, key, conc_len(k, 2), NULL, &cbs, &wres[k])) != NULL);
        CHECK(ufs_write(w, v2[k], conc_len(k, 2)) == UFS_WRITE_OK);
        CHECK(ufs_write_close(w) == 0);
        for (int i = CONC_READS / 2; i < CONC_READS; i++)
            REQUIRE(start_read(key, 0, UFS_SIZE_UNKNOWN, NULL, &reads[k][i]) != NULL);
        REQUIRE(ufs_stat(u, key, on_stat, &sres[k]) != NULL);
        snprintf(key, sizeof(key), "gone/%02d", k);
        REQUIRE(ufs_delete(u, key, on_done, &dres[k]) != NULL);
        if (k % 4 == 0) {
            memset(&lists[k / 4], 0, sizeof(lists[0]));
            REQUIRE(ufs_list(u, NULL, on_list, &lists[k / 4]) != NULL);
        }
    }
    for (int k = 0; k < CONC_KEYS; k++) {
        run_until(&wres[k].called);
        run_until(&sres[k].called);
        run_until(&dres[k].called);
        CHECK(wres[k].err == 0 && sres[k].err == 0 && dres[k].err == 0);
        for (int i = 0; i < CONC_READS; i++) {
            run_until(&reads[k][i].done);
            CHECK(reads[k][i].err == 0 && reads[k][i].done == 1);
            CHECK(conc_check(&reads[k][i], k) != 0);
            rd_free(&reads[k][i]);
        }
    }
    for (int i = 0; i < 4; i++) {
        run_until(&lists[i].called);
        CHECK(lists[i].err == 0 && lists[i].n >= CONC_KEYS && lists[i].n <= 2 * CONC_KEYS);
        lres_free(&lists[i]);
    }
    /* afterwards: every key holds version 2, every deleted key is gone */
    for (int k = 0; k < CONC_KEYS; k++) {
        struct rd r;

        snprintf(key, sizeof(key), "c/%02d/obj", k);
        CHECK(do_read(key, 0, UFS_SIZE_UNKNOWN, NULL, &r) == 0 && conc_check(&r, k) == 2);
        rd_free(&r);
        free(v2[k]);
    }
    CHECK(!file_exists("gone"));
    /* one hot key, many writers: the last rename wins whole */
    struct res hot[8] = {{0}};
    for (int i = 0; i < 8; i++) {
        char *data = pattern(50000 + (size_t)i, (unsigned)i);
        struct ufs_req *w = ufs_write_open(u, "hot", 50000 + (size_t)i, NULL, &cbs, &hot[i]);

        REQUIRE(w != NULL);
        CHECK(ufs_write(w, data, 50000 + (size_t)i) == UFS_WRITE_OK);
        CHECK(ufs_write_close(w) == 0);
        free(data);
    }
    for (int i = 0; i < 8; i++) {
        run_until(&hot[i].called);
        CHECK(hot[i].err == 0);
    }
    size_t len;
    char *got = get_file("hot", &len);
    REQUIRE(got && len >= 50000 && len < 50008);
    char *want = pattern(len, (unsigned)(len - 50000));
    CHECK(memcmp(got, want, len) == 0);
    free(want);
    free(got);
    close_u();
    CHECK(count_tmp() == 0);
    rm_root();
}

int main(void)
{
    evthread_use_pthreads();
    base = event_base_new();
    RUN(test_list_all);
    RUN(test_list_prefix_delimiter);
    RUN(test_list_start_after_pages);
    RUN(test_list_errors_and_cap);
    RUN(test_mpu_basic);
    RUN(test_mpu_errors);
    RUN(test_concurrency);
    event_base_free(base);
    libevent_global_shutdown();
    return harness_done();
}
