/* tests/unit/test_ufs_dir_copy.c: ufs_copy and ufs_mpu_part_copy on the
 * local-directory backend, on real mkdtemp directories and a real
 * event_base: bytes, ETag, content type kept or replaced, a copy onto
 * itself, if_match, missing sources and bad keys, two directory backends,
 * an S3 source (UFS_ENOTSUP), a file in the way, injected fsync failures and
 * a cancel while the workers are busy (no callback, nothing left behind);
 * part copies of ranges and whole sources completed into an object, and the
 * ranges, uploads, conditions and sources they refuse. Every callback is
 * checked not to run inside the call that started it. */
#include "tests/unit/ufs_dir_util.h"

struct cres {
    int called, err;
    char etag[UFS_ETAG_MAX];
    int64_t mtime;
};

static void on_copied(void *arg, int err, const char *etag, int64_t mtime)
{
    struct cres *r = arg;

    r->called++;
    r->err = err;
    snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
    r->mtime = mtime;
    if (!err != (etag != NULL))
        r->err = 999; /* an ETag exactly on success */
}

/* do_copy_from: ufs_copy of SRC_KEY on FROM to DST on u; its error and R. */
static int do_copy_from(const struct ufs *from, const char *src_key, const char *dst,
                        const struct ufs_copy_opts *o, struct cres *r)
{
    memset(r, 0, sizeof(*r));
    if (!ufs_copy(u, dst, from, src_key, o, on_copied, r))
        return -1000;
    if (r->called)
        return -1001; /* must not be synchronous */
    run_until(&r->called);
    return r->called == 1 ? r->err : -1002;
}

static int do_copy(const char *src_key, const char *dst, const struct ufs_copy_opts *o,
                   struct cres *r)
{
    return do_copy_from(u, src_key, dst, o, r);
}

/* file_is: REL holds exactly LEN bytes of DATA. */
static int file_is(const char *rel, const void *data, size_t len)
{
    size_t n = 0;
    char *got = get_file(rel, &n);
    int ok = got && n == len && memcmp(got, data, len) == 0;

    free(got);
    return ok;
}

TEST(test_copy_basic)
{
    size_t n = (3u << 20) + 123;
    char *data = pattern(n, 1), et[UFS_ETAG_MAX];
    struct ufs_put_opts po = {"text/x-src", NULL, NULL};
    struct ufs_counters k0, k1;
    struct res st;
    struct cres r;
    int xa;

    open_fresh();
    xa = xattrs_work();
    REQUIRE(put("src", data, n, &po, et) == 0);
    ufs_counters_get(u, &k0);
    CHECK(do_copy("src", "a/b/dst", NULL, &r) == 0); /* parents made */
    CHECK(file_is("a/b/dst", data, n));
    CHECK(file_is("src", data, n));
    REQUIRE(do_stat("a/b/dst", &st) == 0);
    CHECK_STR(r.etag, st.st.etag);
    CHECK(strcmp(r.etag, et) != 0); /* another file, another ETag */
    CHECK(r.mtime == st.st.mtime && r.mtime > time(NULL) - 60);
    CHECK(st.st.size == n);
    if (xa)
        CHECK_STR(st.st.content_type, "text/x-src"); /* kept */
    ufs_counters_get(u, &k1);
    CHECK(k1.requests[UFS_K_PUT] == k0.requests[UFS_K_PUT] + 1);
    /* over an existing key */
    put_file("old", "old bytes", 9);
    CHECK(do_copy("src", "old", NULL, &r) == 0);
    CHECK(file_is("old", data, n));
    CHECK(count_tmp() == 0);
    free(data);
    close_rm();
}

TEST(test_copy_replace_and_self)
{
    struct ufs_put_opts po = {"text/x-new", NULL, NULL}, none = {NULL, NULL, NULL};
    struct ufs_copy_opts o = {NULL, 1, &po};
    char et[UFS_ETAG_MAX];
    struct res st;
    struct cres r;
    int xa;

    open_fresh();
    xa = xattrs_work();
    po.content_type = "text/x-old";
    REQUIRE(put("k", "bytes", 5, &po, et) == 0);
    po.content_type = "text/x-new";
    CHECK(do_copy("k", "k2", &o, &r) == 0);
    CHECK(do_stat("k2", &st) == 0);
    if (xa)
        CHECK_STR(st.st.content_type, "text/x-new");
    /* onto itself: new content type, same bytes, new ETag */
    CHECK(do_copy("k", "k", &o, &r) == 0);
    CHECK(file_is("k", "bytes", 5));
    CHECK(strcmp(r.etag, et) != 0);
    CHECK(do_stat("k", &st) == 0);
    CHECK_STR(st.st.etag, r.etag);
    if (xa)
        CHECK_STR(st.st.content_type, "text/x-new");
    /* replace with none: no content type */
    o.put = &none;
    CHECK(do_copy("k", "k3", &o, &r) == 0);
    CHECK(do_stat("k3", &st) == 0);
    CHECK_STR(st.st.content_type, "");
    o.put = NULL;
    CHECK(do_copy("k", "k4", &o, &r) == 0);
    /* a content type the backend cannot keep */
    po.content_type = "bad\ntype";
    o.put = &po;
    CHECK(do_copy("k", "k5", &o, &r) == UFS_EINVAL);
    CHECK(!file_exists("k5"));
    close_rm();
}

TEST(test_copy_if_match)
{
    struct ufs_copy_opts o = {NULL, 0, NULL};
    char et[UFS_ETAG_MAX], bare[UFS_ETAG_MAX];
    struct cres r;

    open_fresh();
    REQUIRE(put("k", "v1", 2, NULL, et) == 0);
    o.if_match = et;
    CHECK(do_copy("k", "c1", &o, &r) == 0);
    snprintf(bare, sizeof(bare), "%.*s", (int)strlen(et) - 2, et + 1);
    o.if_match = bare; /* without quotes too */
    CHECK(do_copy("k", "c2", &o, &r) == 0);
    o.if_match = "\"0000000000000000\"";
    CHECK(do_copy("k", "c3", &o, &r) == UFS_EPRECOND);
    CHECK(!file_exists("c3") && count_tmp() == 0);
    close_rm();
}

TEST(test_copy_errors)
{
    struct cres r;
    struct ufs *s3 = NULL;
    struct ufs_s3_config c;

    open_fresh();
    put_file("k", "v", 1);
    put_file("d/x", "v", 1);
    put_file("f", "v", 1);
    CHECK(do_copy("missing", "c", NULL, &r) == UFS_ENOENT);
    CHECK(do_copy("d", "c", NULL, &r) == UFS_ENOENT); /* a directory is no object */
    CHECK(do_copy("k/below", "c", NULL, &r) == UFS_ENOENT);
    CHECK(do_copy("../k", "c", NULL, &r) == UFS_EINVAL); /* reported, not refused */
    CHECK(do_copy("k", ".shoal-tmp-x", NULL, &r) == UFS_EINVAL);
    CHECK(do_copy("k", "", NULL, &r) == UFS_EINVAL);
    CHECK(do_copy("k", "f/x", NULL, &r) == UFS_ECONFLICT); /* a file in the way */
    CHECK(do_copy("k", "d", NULL, &r) == UFS_ECONFLICT);   /* a directory holds the name */
    CHECK(!file_exists("c") && count_tmp() == 0);
    CHECK(ufs_copy(u, "c", u, "k", NULL, NULL, &r) == NULL); /* no callback */
    CHECK(ufs_copy(u, "c", NULL, "k", NULL, on_copied, &r) == NULL);
    /* an S3 source: no copy between the two */
    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    REQUIRE(ufs_s3_open(base, &c, &s3) == 0);
    CHECK(do_copy_from(s3, "k", "c", NULL, &r) == UFS_ENOTSUP);
    memset(&r, 0, sizeof(r));
    {
        struct ufs *keep = u;

        u = s3; /* and the other way round */
        CHECK(do_copy_from(keep, "k", "c", NULL, &r) == UFS_ENOTSUP);
        u = keep;
    }
    ufs_close(s3);
    close_rm();
}

TEST(test_copy_between_directories)
{
    char other[64];
    struct ufs *v = NULL;
    struct cres r;

    open_fresh();
    snprintf(other, sizeof(other), "%s", root);
    put_file("from/k", "between", 7);
    REQUIRE(ufs_dir_open(base, other, &v) == 0);
    close_u();
    fresh_root();
    REQUIRE(ufs_dir_open(base, root, &u) == 0);
    CHECK(do_copy_from(v, "from/k", "to/k", NULL, &r) == 0);
    CHECK(file_is("to/k", "between", 7));
    ufs_close(v);
    close_rm();
    snprintf(root, sizeof(root), "%s", other);
    rm_root();
}

/* test_copy_faults: a failing fsync reaches the caller and leaves the
 * destination as it was, without temp files. */
TEST(test_copy_faults)
{
    struct cres r;

    open_fresh();
    put_file("k", "new", 3);
    put_file("dst", "old", 3);
    util_fail_fsync = EIO;
    CHECK(do_copy("k", "dst", NULL, &r) == UFS_EIO);
    CHECK(do_copy("k", "new/deeper/dst", NULL, &r) == UFS_EIO);
    util_fail_fsync = 0;
    fail_open("/k", EACCES);
    CHECK(do_copy("k", "dst", NULL, &r) == UFS_EACCES);
    fail_open(NULL, 0);
    close_u(); /* let the workers finish */
    CHECK(file_is("dst", "old", 3));
    CHECK(!file_exists("new"));
    CHECK(count_tmp() == 0);
    rm_root();
}

/* test_copy_cancel: a copy cancelled while it waits for a worker never
 * calls back and writes nothing; the one queued after it runs. */
TEST(test_copy_cancel)
{
    struct ufs_req *q;
    struct cres r = {0}, r2 = {0};

    open_fresh();
    put_file("k", "v", 1);
    hold_workers();
    REQUIRE((q = ufs_copy(u, "c", u, "k", NULL, on_copied, &r)) != NULL);
    REQUIRE(ufs_copy(u, "c2", u, "k", NULL, on_copied, &r2) != NULL);
    ufs_cancel(q);
    CHECK(release_workers());
    run_until(&r2.called);
    spin_ms(20);
    CHECK(r.called == 0 && r2.called == 1 && r2.err == 0);
    CHECK(!file_exists("c") && file_exists("c2"));
    CHECK(count_tmp() == 0);
    close_rm();
}

/* ---- ufs_mpu_part_copy ---------------------------------------------------------------- */

/* new_upload: an upload for KEY; its id into ID. */
static int new_upload(const char *key, char id[128])
{
    struct res r = {0};

    if (!ufs_mpu_create(u, key, NULL, on_create, &r))
        return -1000;
    run_until(&r.called);
    snprintf(id, 128, "%s", r.id);
    return r.err;
}

/* do_part_copy: part PART of upload ID of KEY from [FIRST, LAST] of SRC_KEY
 * on FROM; its error and R. */
static int do_part_copy(const struct ufs *from, const char *key, const char *id, unsigned part,
                        const char *src_key, uint64_t first, uint64_t last, const char *if_match,
                        struct cres *r)
{
    struct ufs_part_copy_opts o = {if_match};

    memset(r, 0, sizeof(*r));
    if (!ufs_mpu_part_copy(u, key, id, part, from, src_key, first, last, &o, on_copied, r))
        return -1000;
    if (r->called)
        return -1001; /* must not be synchronous */
    run_until(&r->called);
    return r->called == 1 ? r->err : -1002;
}

/* test_part_copy: two ranges and a whole source become parts whose ETags
 * CompleteMultipartUpload takes; the object is their concatenation. */
TEST(test_part_copy)
{
    size_t n = (3u << 20) + 5, pn = 0;
    char *data = pattern(n, 7), *want, *part, id[128], ppath[192];
    struct ufs_counters k0, k1;
    struct ufs_part parts[3];
    struct cres r[3];
    struct res done = {0};
    struct stat sb;

    open_fresh();
    put_file("src", data, n);
    REQUIRE(new_upload("a/dst", id) == 0);
    ufs_counters_get(u, &k0);
    CHECK(do_part_copy(u, "a/dst", id, 1, "src", 100, (1u << 20) + 99, NULL, &r[0]) == 0);
    CHECK(do_part_copy(u, "a/dst", id, 2, "src", 0, UFS_SIZE_UNKNOWN, NULL, &r[1]) == 0);
    CHECK(do_part_copy(u, "a/dst", id, 3, "src", n - 1, n - 1, NULL, &r[2]) == 0); /* one byte */
    ufs_counters_get(u, &k1);
    CHECK(k1.requests[UFS_K_MPU] == k0.requests[UFS_K_MPU] + 3);
    CHECK(r[0].etag[0] == '"' && strcmp(r[0].etag, r[1].etag) != 0);
    CHECK(r[0].mtime > time(NULL) - 60);
    snprintf(ppath, sizeof(ppath), ".shoal-uploads/%s/part-00001", id);
    part = get_file(ppath, &pn);
    CHECK(part && pn == (1u << 20) && memcmp(part, data + 100, pn) == 0);
    free(part);
    {
        char full[256];

        rel_path(ppath, full, sizeof(full));
        REQUIRE(stat(full, &sb) == 0);
        CHECK(sb.st_size == (off_t)(1u << 20));
    }
    CHECK(!file_exists("a/dst") && count_tmp() == 0);
    for (int i = 0; i < 3; i++) {
        parts[i].number = (unsigned)i + 1;
        parts[i].etag = r[i].etag;
    }
    REQUIRE(ufs_mpu_complete(u, "a/dst", id, parts, 3, on_wdone, &done) != NULL);
    run_until(&done.called);
    CHECK(done.err == 0);
    want = malloc((1u << 20) + n + 1);
    REQUIRE(want != NULL);
    memcpy(want, data + 100, 1u << 20);
    memcpy(want + (1u << 20), data, n);
    want[(1u << 20) + n] = data[n - 1];
    CHECK(file_is("a/dst", want, (1u << 20) + n + 1));
    CHECK(file_is("src", data, n));
    free(want);
    free(data);
    close_rm();
}

/* test_part_copy_errors: ranges, uploads, conditions and sources that are
 * refused, each reported from the loop, leaving no part nor temp file. */
TEST(test_part_copy_errors)
{
    char id[128], other[128], ppath[192];
    struct ufs_s3_config c;
    struct ufs *s3 = NULL;
    struct res st;
    struct cres r;

    open_fresh();
    put_file("src", "0123456789", 10);
    mkdir_rel("dir");
    REQUIRE(new_upload("dst", id) == 0);
    REQUIRE(new_upload("elsewhere", other) == 0);
    CHECK(do_part_copy(u, "dst", id, 1, "src", 0, 10, NULL, &r) == UFS_EINVAL); /* past the end */
    CHECK(do_part_copy(u, "dst", id, 1, "src", 10, 10, NULL, &r) == UFS_EINVAL);
    CHECK(do_part_copy(u, "dst", id, 1, "src", 5, 4, NULL, &r) == UFS_EINVAL); /* first > last */
    CHECK(do_part_copy(u, "dst", id, 1, "src", 1, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_EINVAL);
    CHECK(do_part_copy(u, "dst", id, 0, "src", 0, 1, NULL, &r) == UFS_EINVAL); /* part number */
    CHECK(do_part_copy(u, "dst", id, 10001, "src", 0, 1, NULL, &r) == UFS_EINVAL);
    CHECK(do_part_copy(u, "../dst", id, 1, "src", 0, 1, NULL, &r) == UFS_EINVAL);
    CHECK(do_part_copy(u, "dst", id, 1, "../src", 0, 1, NULL, &r) == UFS_EINVAL);
    CHECK(do_part_copy(u, "dst", "0123456789abcdef0123456789abcdef", 1, "src", 0, 1, NULL, &r) ==
          UFS_ECONFLICT); /* no such upload */
    CHECK(do_part_copy(u, "dst", "nothex", 1, "src", 0, 1, NULL, &r) == UFS_ECONFLICT);
    CHECK(do_part_copy(u, "dst", other, 1, "src", 0, 1, NULL, &r) == UFS_ECONFLICT); /* other key */
    CHECK(do_part_copy(u, "dst", id, 1, "missing", 0, 1, NULL, &r) == UFS_ENOENT);
    CHECK(do_part_copy(u, "dst", id, 1, "dir", 0, 1, NULL, &r) == UFS_ENOENT);
    CHECK(do_stat("src", &st) == 0);
    CHECK(do_part_copy(u, "dst", id, 1, "src", 0, 1, "\"nope\"", &r) == UFS_EPRECOND);
    snprintf(ppath, sizeof(ppath), ".shoal-uploads/%s/part-00001", id);
    CHECK(!file_exists(ppath) && count_tmp() == 0);
    CHECK(do_part_copy(u, "dst", id, 1, "src", 2, 4, st.st.etag, &r) == 0); /* the right ETag */
    CHECK(file_is(ppath, "234", 3));
    CHECK(ufs_mpu_part_copy(u, "dst", id, 1, u, "src", 0, 1, NULL, NULL, &r) == NULL);
    CHECK(ufs_mpu_part_copy(u, "dst", id, 1, NULL, "src", 0, 1, NULL, on_copied, &r) == NULL);
    memset(&c, 0, sizeof(c));
    c.endpoint = "http://127.0.0.1:1";
    c.bucket = "bkt";
    REQUIRE(ufs_s3_open(base, &c, &s3) == 0);
    CHECK(do_part_copy(s3, "dst", id, 1, "src", 0, 1, NULL, &r) == UFS_ENOTSUP);
    ufs_close(s3);
    close_rm();
}

int main(void)
{
    evthread_use_pthreads();
    base = event_base_new();
    RUN(test_copy_basic);
    RUN(test_copy_replace_and_self);
    RUN(test_copy_if_match);
    RUN(test_copy_errors);
    RUN(test_copy_between_directories);
    RUN(test_copy_faults);
    RUN(test_copy_cancel);
    RUN(test_part_copy);
    RUN(test_part_copy_errors);
    event_base_free(base);
    libevent_global_shutdown();
    return harness_done();
}
