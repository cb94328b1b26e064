/* tests/unit/test_ufs_dir.c: the local-directory ufs backend on real mkdtemp
 * directories, driven by a real event_base with libevent threading on: key
 * checks, stat and ETags, ranged reads (errors, chunks, pause, resume,
 * abort, cancel), streaming writes (backpressure, size limits, MD5,
 * conflicts, EFBIG in a child, cancel at every stage), delete, the bucket
 * calls, counters, and closing with work outstanding. Listing, multipart
 * and concurrency: tests/unit/test_ufs_dir_tree.c. Every callback is checked
 * not to run inside the call that started its operation. */
#include "tests/unit/ufs_dir_util.h"
#include "ufs/dir_int.h"

#include <openssl/evp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

/* ---- open, keys ----------------------------------------------------------------------- */

TEST(test_open)
{
    struct ufs *v = (struct ufs *)0x1;
    char path[PATH_MAX];

    fresh_root();
    CHECK(ufs_dir_open(base, "relative/dir", &v) == UFS_EINVAL);
    CHECK(ufs_dir_open(base, "/nonexistent/shoal/dir", &v) == UFS_ENOENT);
    snprintf(path, sizeof(path), "%s/file", root);
    put_file("file", "x", 1);
    CHECK(ufs_dir_open(base, path, &v) == UFS_EINVAL);
    CHECK(v == (struct ufs *)0x1); /* out-param untouched on failure */
    snprintf(path, sizeof(path), "file://%s///", root);
    REQUIRE(ufs_dir_open(base, path, &v) == 0);
    struct res r = {0};
    CHECK(ufs_stat(v, "file", on_stat, &r) != NULL);
    CHECK(!r.called);
    run_until(&r.called);
    CHECK(r.err == 0 && r.st.size == 1);
    ufs_close(v);
    rm_root();
}

TEST(test_bad_keys)
{
    static const char *bad[] = {"",
                                "/a",
                                "a//b",
                                "a/",
                                ".",
                                "..",
                                "a/./b",
                                "a/../b",
                                "../x",
                                "a/..",
                                "./a",
                                ".shoal-tmp-1",
                                "a/.shoal-uploads",
                                "a/.shoal-x/b"};
    char longkey[UFS_KEY_MAX + 2], longseg[300];
    struct ufs_write_cbs wcbs = {on_drain, on_wdone};

    open_fresh();
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    memset(longseg, 's', sizeof(longseg) - 1);
    longseg[sizeof(longseg) - 1] = '\0';
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 3; i++) {
        const char *k = i < sizeof(bad) / sizeof(bad[0])        ? bad[i]
                        : i == sizeof(bad) / sizeof(bad[0])     ? longkey
                        : i == sizeof(bad) / sizeof(bad[0]) + 1 ? longseg
                                                                : NULL;
        struct res s = {0}, dl = {0}, m = {0}, w = {0};
        struct rd rdr = {0};

        CHECK(ufs_stat(u, k, on_stat, &s) != NULL);
        CHECK(start_read(k, 0, UFS_SIZE_UNKNOWN, NULL, &rdr) != NULL);
        CHECK(ufs_write_open(u, k, 1, NULL, &wcbs, &w) != NULL);
        CHECK(ufs_delete(u, k, on_done, &dl) != NULL);
        CHECK(ufs_mpu_create(u, k, NULL, on_create, &m) != NULL);
        CHECK(!s.called && !rdr.done && !w.called && !dl.called && !m.called);
        run_until(&s.called);
        run_until(&rdr.done);
        run_until(&w.called);
        run_until(&dl.called);
        run_until(&m.called);
        CHECK(s.err == UFS_EINVAL && rdr.err == UFS_EINVAL && w.err == UFS_EINVAL &&
              dl.err == UFS_EINVAL && m.err == UFS_EINVAL);
        CHECK(rdr.len == 0);
    }
    /* unusual but valid: dots inside names, "...", dot files, spaces, bytes >= 0x80 */
    static const char *good[] = {"...", ".hidden", "a..b/c.", "x y/\xc3\xa9", "a/.shoal"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char et[UFS_ETAG_MAX];

        CHECK(put(good[i], "v", 1, NULL, et) == 0);
        CHECK(file_exists(good[i]));
    }
    close_rm();
}

/* ---- stat ----------------------------------------------------------------------------- */

/* The same file seen from two nodes (an NFS mount numbers st_dev its own
 * way on each client) has one ETag; another inode, size or mtime another. */
TEST(test_etag_same_on_every_node)
{
    struct stat a, b;
    char ea[UFS_ETAG_MAX], eb[UFS_ETAG_MAX];
    memset(&a, 0, sizeof(a));
    a.st_dev = 2049;
    a.st_ino = 1234567;
    a.st_size = 4096;
    a.st_mtim.tv_sec = 1700000000;
    a.st_mtim.tv_nsec = 5;
    b = a;
    b.st_dev = 43; /* another node's client */
    b.st_ctim.tv_sec = 99;
    ufs_dir_etag(&a, ea);
    ufs_dir_etag(&b, eb);
    CHECK_STR(ea, eb);
    b = a;
    b.st_ino++;
    ufs_dir_etag(&b, eb);
    CHECK(strcmp(ea, eb) != 0);
    b = a;
    b.st_size++;
    ufs_dir_etag(&b, eb);
    CHECK(strcmp(ea, eb) != 0);
    b = a;
    b.st_mtim.tv_nsec++;
    ufs_dir_etag(&b, eb);
    CHECK(strcmp(ea, eb) != 0);
}

TEST(test_stat)
{
    struct res r = {0};
    char et1[UFS_ETAG_MAX], et2[UFS_ETAG_MAX];

    open_fresh();
    put_file("d/f", "hello", 5);
    REQUIRE(do_stat("d/f", &r) == 0);
    CHECK(r.st.size == 5);
    CHECK(r.st.mtime > 1600000000 && r.st.mtime <= (int64_t)time(NULL) + 1);
    CHECK(strlen(r.st.etag) == 18 && r.st.etag[0] == '"' && r.st.etag[17] == '"');
    for (int i = 1; i < 17; i++)
        CHECK(strchr("0123456789abcdef", r.st.etag[i]) != NULL);
    CHECK_STR(r.st.content_type, "");
    snprintf(et1, sizeof(et1), "%s", r.st.etag);
    CHECK(do_stat("d/f", &r) == 0);
    CHECK_STR(r.st.etag, et1); /* stable while unchanged */
    /* a rewrite of the same size, at once: a new ETag */
    CHECK(put("d/f", "HELLO", 5, NULL, et2) == 0);
    CHECK(strcmp(et1, et2) != 0);
    CHECK(do_stat("d/f", &r) == 0);
    CHECK_STR(r.st.etag, et2);
    /* changed behind our back (in place): a new ETag too */
    put_file("d/f", "hellO!", 6);
    CHECK(do_stat("d/f", &r) == 0);
    CHECK(strcmp(r.st.etag, et2) != 0 && r.st.size == 6);
    CHECK(do_stat("d", &r) == UFS_ENOENT);         /* a directory is no object */
    CHECK(do_stat("nope", &r) == UFS_ENOENT);      /* missing */
    CHECK(do_stat("d/f/under", &r) == UFS_ENOENT); /* a file as a directory */
    close_rm();
}

/* ---- read ----------------------------------------------------------------------------- */

TEST(test_read_ranges)
{
    struct rd r;
    struct res s = {0};

    open_fresh();
    put_file("k", "0123456789", 10);
    put_file("empty", "", 0);
    REQUIRE(do_stat("k", &s) == 0);
    CHECK(do_read("k", 0, UFS_SIZE_UNKNOWN, NULL, &r) == 0 && r.len == 10 &&
          memcmp(r.buf, "0123456789", 10) == 0);
    CHECK(r.have_st && r.st.size == 10);
    CHECK_STR(r.st.etag, s.st.etag);
    rd_free(&r);
    CHECK(do_read("k", 3, 4, NULL, &r) == 0 && r.len == 4 && memcmp(r.buf, "3456", 4) == 0);
    CHECK(r.st.size == 10); /* the whole object's size */
    rd_free(&r);
    CHECK(do_read("k", 7, 100, NULL, &r) == 0 && r.len == 3 && memcmp(r.buf, "789", 3) == 0);
    rd_free(&r);
    CHECK(do_read("k", 9, UFS_SIZE_UNKNOWN, NULL, &r) == 0 && r.len == 1 && r.buf[0] == '9');
    rd_free(&r);
    CHECK(do_read("k", 10, 1, NULL, &r) == UFS_ERANGE && r.len == 0);
    rd_free(&r);
    CHECK(do_read("k", 11, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ERANGE);
    rd_free(&r);
    CHECK(do_read("k", 5, UINT64_MAX - 2, NULL, &r) == UFS_EINVAL); /* off + len wraps */
    rd_free(&r);
    /* len 0: the stat only, like a HEAD */
    CHECK(do_read("k", 0, 0, NULL, &r) == 0 && r.len == 0 && r.nchunks == 0 && r.have_st);
    rd_free(&r);
    /* If-Match, quoted or not */
    CHECK(do_read("k", 0, 2, s.st.etag, &r) == 0 && r.len == 2);
    rd_free(&r);
    char unq[UFS_ETAG_MAX];
    snprintf(unq, sizeof(unq), "%.*s", (int)strlen(s.st.etag) - 2, s.st.etag + 1);
    CHECK(do_read("k", 0, 2, unq, &r) == 0 && r.len == 2);
    rd_free(&r);
    CHECK(do_read("k", 0, 2, "*", &r) == 0);
    rd_free(&r);
    CHECK(do_read("k", 0, 2, "\"0000000000000000\"", &r) == UFS_EPRECOND && r.len == 0);
    CHECK(r.have_st && strcmp(r.st.etag, s.st.etag) == 0); /* the current one */
    rd_free(&r);
    CHECK(do_read("k", 0, 0, "\"0000000000000000\"", &r) == UFS_EPRECOND);
    rd_free(&r);
    CHECK(do_read("k", 0, 1, "", &r) == UFS_EINVAL);
    rd_free(&r);
    /* empty objects: only the whole-object read succeeds, with no bytes */
    CHECK(do_read("empty", 0, UFS_SIZE_UNKNOWN, NULL, &r) == 0 && r.nchunks == 0);
    rd_free(&r);
    CHECK(do_read("empty", 0, 1, NULL, &r) == UFS_ERANGE);
    rd_free(&r);
    CHECK(do_read("empty", 1, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ERANGE);
    rd_free(&r);
    /* not there */
    CHECK(do_read("missing", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ENOENT && !r.have_st);
    rd_free(&r);
    mkdir_rel("dir");
    CHECK(do_read("dir", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ENOENT);
    rd_free(&r);
    CHECK(do_read("k/x", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ENOENT);
    rd_free(&r);
    /* a FIFO at the key is no object, and must not hold a worker in open */
    char fifo[PATH_MAX];
    rel_path("pipe", fifo, sizeof(fifo));
    REQUIRE(mkfifo(fifo, 0600) == 0);
    CHECK(do_read("pipe", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_ENOENT);
    rd_free(&r);
    CHECK(do_stat("pipe", &s) == UFS_ENOENT);
    close_rm();
}

TEST(test_read_chunks)
{
    size_t n = (1u << 20) + 17;
    char *data = pattern(n, 7);
    struct rd r;

    open_fresh();
    put_file("big", data, n);
    CHECK(do_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &r) == 0);
    CHECK(r.len == n && memcmp(r.buf, data, n) == 0);
    CHECK(r.nchunks >= 5 && r.max_chunk <= 256 * 1024); /* delivered in pieces, in order */
    rd_free(&r);
    CHECK(do_read("big", 1000, 600000, NULL, &r) == 0);
    CHECK(r.len == 600000 && memcmp(r.buf, data + 1000, 600000) == 0);
    rd_free(&r);
    free(data);
    close_rm();
}

TEST(test_read_pause_resume)
{
    size_t n = 1u << 20;
    char *data = pattern(n, 3);
    struct rd r = {0};

    open_fresh();
    put_file("big", data, n);
    r.pause_every = 1;
    REQUIRE(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &r) != NULL);
    for (int i = 0; i < 100 && !r.done; i++) {
        int before = r.nchunks;

        run_until(&r.paused);
        spin_ms(20); /* paused: nothing more arrives */
        CHECK(r.nchunks == before + 1 && !r.done);
        r.paused = 0;
        ufs_read_resume(r.req);
        ufs_read_resume(r.req);         /* a second resume is a no-op */
        CHECK(r.nchunks == before + 1); /* never from inside resume */
        if (r.len == n)
            run_until(&r.done);
    }
    CHECK(r.done && r.err == 0 && r.len == n && memcmp(r.buf, data, n) == 0);
    CHECK(r.nchunks == 4);
    rd_free(&r);
    free(data);
    close_rm();
}

TEST(test_read_abort)
{
    size_t n = 1u << 20;
    char *data = pattern(n, 4);
    struct rd r = {0};

    open_fresh();
    put_file("big", data, n);
    r.abort_at = 2;
    REQUIRE(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &r) != NULL);
    run_until(&r.done);
    CHECK(r.err == UFS_ECANCELED && r.nchunks == 2 && r.have_st && r.st.size == n);
    spin_ms(20);
    CHECK(r.nchunks == 2 && r.done == 1);
    rd_free(&r);
    free(data);
    close_rm();
}

TEST(test_read_cancel)
{
    size_t n = 1u << 20;
    char *data = pattern(n, 5);
    struct rd a = {0}, b = {0}, c = {0};

    open_fresh();
    put_file("big", data, n);
    /* at once, before any work */
    REQUIRE((a.req = start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &a)) != NULL);
    ufs_cancel(a.req);
    /* from inside data() */
    b.cancel_at = 2;
    REQUIRE(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &b) != NULL);
    /* while paused */
    c.pause_every = 1;
    REQUIRE(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &c) != NULL);
    run_until(&c.paused);
    ufs_cancel(c.req);
    spin_ms(100);
    CHECK(a.nchunks == 0 && !a.done);
    CHECK(b.nchunks == 2 && !b.done);
    CHECK(c.nchunks == 1 && !c.done);
    /* while a worker is inside the first job (held in open), and while queued */
    struct rd q = {0};
    hold_workers();
    REQUIRE(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &q) != NULL);
    ufs_cancel(util_hold[0].req);
    util_hold[0].req = NULL;
    ufs_cancel(q.req);
    CHECK(release_workers());
    spin_ms(20);
    CHECK(!q.done && q.nchunks == 0);
    /* mid-flight, many times, with the worker busy reading */
    for (int i = 0; i < 50; i++) {
        struct rd x = {0};

        REQUIRE((x.req = start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &x)) != NULL);
        spin_us(i * 40);
        if (!x.done)
            ufs_cancel(x.req);
        rd_free(&x);
    }
    spin_ms(50);
    rd_free(&a);
    rd_free(&b);
    rd_free(&c);
    free(data);
    close_rm();
}

/* ---- write ---------------------------------------------------------------------------- */

TEST(test_write_basic)
{
    char et[UFS_ETAG_MAX];
    struct ufs_put_opts o = {.content_type = "text/plain; charset=utf-8"};
    struct res s = {0};
    size_t len;
    char *got;

    open_fresh();
    CHECK(put("x/y/z", "payload", 7, &o, et) == 0);
    got = get_file("x/y/z", &len);
    CHECK(got && len == 7 && memcmp(got, "payload", 7) == 0);
    free(got);
    CHECK(do_stat("x/y/z", &s) == 0);
    CHECK_STR(s.st.etag, et);
    if (xattrs_work())
        CHECK_STR(s.st.content_type, "text/plain; charset=utf-8");
    /* replace: atomic, new content, new ETag, no temp file left */
    CHECK(put("x/y/z", "v2", 2, NULL, et) == 0);
    got = get_file("x/y/z", &len);
    CHECK(got && len == 2 && memcmp(got, "v2", 2) == 0);
    free(got);
    CHECK(do_stat("x/y/z", &s) == 0);
    CHECK_STR(s.st.etag, et);
    CHECK_STR(s.st.content_type, ""); /* the new object has none */
    /* empty objects; unknown sizes */
    CHECK(put("e", "", 0, NULL, et) == 0 && file_exists("e"));
    CHECK(put_unknown("u", "abc", 3) == 0);
    got = get_file("u", &len);
    CHECK(got && len == 3 && memcmp(got, "abc", 3) == 0);
    free(got);
    CHECK(count_tmp() == 0);
    /* a content type we cannot keep */
    o.content_type = "text/plain\r\nX-Evil: 1";
    CHECK(put("bad", "v", 1, &o, et) == UFS_EINVAL && !file_exists("bad"));
    close_rm();
}

TEST(test_write_sizes)
{
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res r = {0}, r2 = {0};
    struct ufs_req *w;

    open_fresh();
    put_file("k", "old", 3);
    /* more than declared: fails at once, reported once */
    REQUIRE((w = ufs_write_open(u, "k", 4, NULL, &cbs, &r)) != NULL);
    CHECK(ufs_write(w, "abc", 3) == UFS_WRITE_OK);
    CHECK(ufs_write(w, "de", 2) == UFS_EINVAL);
    CHECK(ufs_write(w, "d", 1) == UFS_EINVAL); /* failed for good */
    CHECK(ufs_write_close(w) == UFS_EINVAL);
    CHECK(!r.called);
    run_until(&r.called);
    CHECK(r.err == UFS_EINVAL && r.called == 1);
    /* fewer than declared */
    REQUIRE((w = ufs_write_open(u, "k", 4, NULL, &cbs, &r2)) != NULL);
    CHECK(ufs_write(w, "abc", 3) == UFS_WRITE_OK);
    CHECK(ufs_write_close(w) == UFS_EINVAL);
    run_until(&r2.called);
    CHECK(r2.err == UFS_EINVAL);
    spin_ms(20);
    CHECK(r.called == 1 && r2.called == 1);
    close_u();
    CHECK(count_tmp() == 0);
    size_t len;
    char *got = get_file("k", &len);
    CHECK(got && len == 3 && memcmp(got, "old", 3) == 0); /* untouched */
    free(got);
    rm_root();
}

TEST(test_write_backpressure)
{
    size_t n = 24u << 20, step = 1u << 20, off = 0;
    char *data = pattern(n, 9);
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res r = {0};
    struct ufs_req *w;
    int fulls = 0, rc;

    open_fresh();
    hold_workers(); /* nothing reaches the disk: the bound is exact */
    REQUIRE((w = ufs_write_open(u, "big", n, NULL, &cbs, &r)) != NULL);
    do {
        rc = ufs_write(w, data + off, step);
        off += step;
    } while (rc == UFS_WRITE_OK && off < n);
    CHECK(rc == UFS_WRITE_FULL && off == 9 * step); /* more than 8 MiB held */
    spin_ms(20);
    CHECK(r.drained == 0 && !r.called);
    CHECK(release_workers());
    run_until(&r.drained);
    CHECK(r.drained == 1 && !r.called);
    while (off < n) {
        rc = ufs_write(w, data + off, step);
        REQUIRE(rc == UFS_WRITE_OK || rc == UFS_WRITE_FULL);
        off += step;
        if (rc == UFS_WRITE_FULL) {
            fulls++;
            REQUIRE(run_until_drain(&r, r.drained));
            REQUIRE(!r.called);
        }
    }
    CHECK(ufs_write_close(w) == 0);
    run_until(&r.called);
    CHECK(r.err == 0 && r.called == 1);
    size_t len;
    char *got = get_file("big", &len);
    CHECK(got && len == n && memcmp(got, data, n) == 0);
    free(got);
    free(data);
    close_rm();
}

TEST(test_write_md5)
{
    unsigned char md[16];
    char b64[32];
    struct ufs_put_opts o = {0};
    char et[UFS_ETAG_MAX];

    open_fresh();
    EVP_Digest("hello", 5, md, NULL, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)b64, md, 16);
    o.content_md5 = b64;
    CHECK(put("m", "hello", 5, &o, et) == 0 && file_exists("m"));
    CHECK(put("m2", "hellO", 5, &o, et) == UFS_EINVAL && !file_exists("m2"));
    o.content_md5 = "not base64";
    CHECK(put("m3", "hello", 5, &o, et) == UFS_EINVAL && !file_exists("m3"));
    close_u();
    CHECK(count_tmp() == 0);
    rm_root();
}

TEST(test_write_conflicts)
{
    char et[UFS_ETAG_MAX];

    open_fresh();
    put_file("f", "file", 4);
    CHECK(put("f/x", "v", 1, NULL, et) == UFS_ECONFLICT);   /* a file is in the way */
    CHECK(put("f/y/z", "v", 1, NULL, et) == UFS_ECONFLICT); /* deeper, too */
    put_file("d/x", "x", 1);
    CHECK(put("d", "v", 1, NULL, et) == UFS_ECONFLICT); /* a directory holds the name */
    mkdir_rel("e");
    CHECK(put("e", "v", 1, NULL, et) == UFS_ECONFLICT); /* even an empty one */
    close_u();
    CHECK(count_tmp() == 0);
    CHECK(file_exists("d/x"));
    rm_root();
}

/* test_write_efbig: a disk error (EFBIG past RLIMIT_FSIZE) mid-stream is
 * UFS_EIO, reported before the close; run in a child so the limit stays
 * there. */
TEST(test_write_efbig)
{
    pid_t pid;
    int status = -1;

    fresh_root();
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {1u << 20, 1u << 20};
        struct ufs_write_cbs cbs = {on_drain, on_wdone};
        struct res r = {0};
        char *data = pattern(4u << 20, 1);
        struct ufs_req *w;
        int ok;

        /* a base of its own: the parent's shares its epoll set with ours
         * (kept reachable, never freed here) */
        static struct event_base *volatile parents;

        parents = base;
        (void)parents;
        base = event_base_new();
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        if (ufs_dir_open(base, root, &u) != 0)
            _exit(3);
        w = ufs_write_open(u, "big", UFS_SIZE_UNKNOWN, NULL, &cbs, &r);
        (void)ufs_write(w, data, 4u << 20);
        run_until(&r.called); /* no close: the failure comes by itself */
        ok = r.called == 1 && r.err == UFS_EIO;
        ufs_close(u);
        ok = ok && count_tmp() == 0 && !file_exists("big");
        free(data);
        event_base_free(base);
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rm_root();
}

TEST(test_write_cancel)
{
    size_t n = 4u << 20;
    char *data = pattern(n, 2);
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res r[6] = {{0}};
    struct ufs_req *w[6];

    open_fresh();
    put_file("k4", "old", 3);
    /* at once */
    REQUIRE((w[0] = ufs_write_open(u, "a/k0", n, NULL, &cbs, &r[0])) != NULL);
    ufs_cancel(w[0]);
    /* with the temp file created and some bytes written */
    REQUIRE((w[1] = ufs_write_open(u, "b/c/k1", n, NULL, &cbs, &r[1])) != NULL);
    CHECK(ufs_write(w[1], data, n / 2) >= 0);
    /* by a deadline, not a count of turns: on a loaded machine under valgrind the
     * worker may take seconds to create it (and to remove w[0]'s, if it had one) */
    time_t until = time(NULL) + UTIL_WAIT_S;
    while (count_tmp() != 1 && time(NULL) < until)
        spin_ms(1);
    CHECK(count_tmp() == 1);
    ufs_cancel(w[1]);
    /* mid-write, the worker busy */
    REQUIRE((w[2] = ufs_write_open(u, "k2", n, NULL, &cbs, &r[2])) != NULL);
    CHECK(ufs_write(w[2], data, n) >= 0);
    ufs_cancel(w[2]);
    /* after the close, before done: the object may or may not be replaced */
    REQUIRE((w[3] = ufs_write_open(u, "k3", 3, NULL, &cbs, &r[3])) != NULL);
    CHECK(ufs_write(w[3], "new", 3) == UFS_WRITE_OK);
    CHECK(ufs_write_close(w[3]) == 0);
    ufs_cancel(w[3]);
    /* failed (over size), then cancelled before the failure was reported */
    REQUIRE((w[4] = ufs_write_open(u, "k4", 1, NULL, &cbs, &r[4])) != NULL);
    CHECK(ufs_write(w[4], "xx", 2) == UFS_EINVAL);
    ufs_cancel(w[4]);
    /* from inside drain() */
    hold_workers();
    REQUIRE((w[5] = ufs_write_open(u, "k5", UFS_SIZE_UNKNOWN, NULL, &cbs, &r[5])) != NULL);
    r[5].cancel_in_drain = w[5];
    CHECK(ufs_write(w[5], data, n) == UFS_WRITE_OK);
    CHECK(ufs_write(w[5], data, n) == UFS_WRITE_OK);
    CHECK(ufs_write(w[5], data, 1) == UFS_WRITE_FULL);
    CHECK(release_workers());
    run_until(&r[5].drained);
    spin_ms(100);
    for (int i = 0; i < 6; i++)
        CHECK(!r[i].called);
    close_u();
    CHECK(count_tmp() == 0);
    CHECK(!file_exists("a") && !file_exists("b") && !file_exists("k2") && !file_exists("k5"));
    size_t len;
    char *got = get_file("k4", &len);
    CHECK(got && len == 3 && memcmp(got, "old", 3) == 0);
    free(got);
    free(data);
    rm_root();
}

/* test_faults: failures of open(2) and fsync(2), injected, reach the
 * caller as the right ufs errors, and leave neither temp files nor a
 * changed object behind. */
TEST(test_faults)
{
    char et[UFS_ETAG_MAX];
    struct rd r;
    size_t len;
    char *got;

    open_fresh();
    put_file("obj", "old", 3);
    fail_open(".shoal-tmp-", ENOSPC);
    CHECK(put("obj", "new", 3, NULL, et) == UFS_EIO);
    fail_open(".shoal-tmp-", EACCES);
    CHECK(put("obj", "new", 3, NULL, et) == UFS_EACCES);
    fail_open(".shoal-tmp-", EROFS);
    CHECK(put("obj", "new", 3, NULL, et) == UFS_EACCES);
    fail_open(NULL, 0);
    util_fail_fsync = EIO;
    CHECK(put("obj", "new", 3, NULL, et) == UFS_EIO);
    CHECK(put("new/deeper/obj", "new", 3, NULL, et) == UFS_EIO);
    util_fail_fsync = 0;
    close_u(); /* the temp files go on the workers: wait for them */
    REQUIRE(ufs_dir_open(base, root, &u) == 0);
    CHECK(!file_exists("new")); /* the parents it made went again */
    fail_open("/obj", EMFILE);
    CHECK(do_read("obj", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_EIO);
    rd_free(&r);
    fail_open("/obj", EACCES);
    CHECK(do_read("obj", 0, UFS_SIZE_UNKNOWN, NULL, &r) == UFS_EACCES);
    rd_free(&r);
    fail_open(NULL, 0);
    close_u();
    CHECK(count_tmp() == 0);
    got = get_file("obj", &len);
    CHECK(got && len == 3 && memcmp(got, "old", 3) == 0);
    free(got);
    rm_root();
}

/* ---- delete, buckets, counters ------------------------------------------------------- */

TEST(test_delete)
{
    struct res r = {0};

    open_fresh();
    put_file("a/b/c/k", "v", 1);
    put_file("a/keep", "v", 1);
    CHECK(do_delete("a/b/c/k") == 0);
    CHECK(!file_exists("a/b/c/k") && !file_exists("a/b")); /* empty parents go */
    CHECK(file_exists("a/keep"));                          /* up to a non-empty one */
    CHECK(do_delete("a/keep") == 0);
    CHECK(!file_exists("a") && root_exists()); /* the root stays */
    CHECK(do_delete("a/keep") == 0);           /* missing: fine, as on S3 */
    CHECK(do_delete("never/was") == 0);
    put_file("d/x", "v", 1);
    CHECK(do_delete("d") == 0 && file_exists("d/x")); /* a directory is no object */
    CHECK(do_delete("d/x/y") == 0);                   /* through a file: missing */
    CHECK(do_stat("d/x", &r) == 0);
    close_rm();
}

static void on_buckets(void *arg, int err, const struct ufs_bucket *b, size_t n)
{
    struct res *r = arg;

    r->called++;
    r->err = err;
    r->n = b || n ? 1 : 0;
}

TEST(test_buckets_and_counters)
{
    struct res a = {0}, b = {0}, c = {0};
    struct ufs_counters k;
    struct rd r;
    char et[UFS_ETAG_MAX];

    open_fresh();
    CHECK(ufs_list_buckets(u, on_buckets, &a) != NULL);
    CHECK(ufs_create_bucket(u, "b", on_done, &b) != NULL);
    CHECK(ufs_delete_bucket(u, "b", on_done, &c) != NULL);
    CHECK(!a.called && !b.called && !c.called);
    run_until(&a.called);
    run_until(&b.called);
    run_until(&c.called);
    CHECK(a.err == UFS_ENOTSUP && a.n == 0 && b.err == UFS_ENOTSUP && c.err == UFS_ENOTSUP);
    CHECK(put("k", "12345", 5, NULL, et) == 0);
    CHECK(do_read("k", 0, UFS_SIZE_UNKNOWN, NULL, &r) == 0);
    rd_free(&r);
    CHECK(do_read("k", 0, 0, NULL, &r) == 0);
    rd_free(&r);
    CHECK(do_read("missing", 0, 1, NULL, &r) == UFS_ENOENT);
    rd_free(&r);
    CHECK(do_stat("k", &a) == 0);
    CHECK(do_delete("k") == 0);
    ufs_counters_get(u, &k);
    CHECK(k.requests[UFS_K_BUCKET] == 3);
    CHECK(k.requests[UFS_K_PUT] == 1);
    CHECK(k.requests[UFS_K_GET] == 2);
    CHECK(k.requests[UFS_K_HEAD] == 2);
    CHECK(k.requests[UFS_K_DELETE] == 1);
    CHECK(k.errors == 4); /* three ENOTSUP, one ENOENT */
    CHECK(k.bytes_in == 5 && k.bytes_out == 5);
    CHECK(k.retries == 0);
    close_rm();
}

/* test_close_outstanding: ufs_close with reads, writes, stats and lists in
 * flight: no callback, no temp file, no leak (valgrind, ASan). */
TEST(test_close_outstanding)
{
    size_t n = 2u << 20;
    char *data = pattern(n, 6);
    struct ufs_write_cbs cbs = {on_drain, on_wdone};
    struct res res[40] = {{0}};
    struct rd rds[20] = {{0}};
    struct ufs_req *w;

    open_fresh();
    put_file("big", data, n);
    for (int i = 0; i < 20; i++) {
        char key[32];

        rds[i].pause_every = i % 2;
        CHECK(start_read("big", 0, UFS_SIZE_UNKNOWN, NULL, &rds[i]) != NULL);
        snprintf(key, sizeof(key), "w/%d", i);
        REQUIRE((w = ufs_write_open(u, key, UFS_SIZE_UNKNOWN, NULL, &cbs, &res[i])) != NULL);
        CHECK(ufs_write(w, data, n) >= 0);
        if (i % 3 == 0)
            CHECK(ufs_write_close(w) == 0);
        CHECK(ufs_stat(u, "big", on_stat, &res[20 + i]) != NULL);
    }
    spin_us(2000); /* some finish, some are in a worker's hands, most wait */
    int seen[60], pending = 0;
    for (int i = 0; i < 20; i++) {
        seen[i] = rds[i].done + rds[i].nchunks;
        seen[20 + i] = res[i].called + res[i].drained;
        seen[40 + i] = res[20 + i].called;
        pending += !rds[i].done + !res[i].called + !res[20 + i].called;
    }
    CHECK(pending > 0);
    close_u();
    spin_ms(20);
    for (int i = 0; i < 20; i++) { /* nothing after the close */
        CHECK(seen[i] == rds[i].done + rds[i].nchunks);
        CHECK(seen[20 + i] == res[i].called + res[i].drained);
        CHECK(seen[40 + i] == res[20 + i].called);
        rd_free(&rds[i]);
    }
    CHECK(count_tmp() == 0);
    free(data);
    rm_root();
}

int main(void)
{
    evthread_use_pthreads();
    base = event_base_new();
    RUN(test_open);
    RUN(test_bad_keys);
    RUN(test_etag_same_on_every_node);
    RUN(test_stat);
    RUN(test_read_ranges);
    RUN(test_read_chunks);
    RUN(test_read_pause_resume);
    RUN(test_read_abort);
    RUN(test_read_cancel);
    RUN(test_write_basic);
    RUN(test_write_sizes);
    RUN(test_write_backpressure);
    RUN(test_write_md5);
    RUN(test_write_conflicts);
    RUN(test_write_efbig);
    RUN(test_write_cancel);
    RUN(test_faults);
    RUN(test_delete);
    RUN(test_buckets_and_counters);
    RUN(test_close_outstanding);
    event_base_free(base);
    libevent_global_shutdown();
    return harness_done();
}
