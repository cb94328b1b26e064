/* tests/unit/config_util.h: helpers shared by the configuration loader's
 * unit tests (test_config.c, test_config_errors.c, test_config_values.c):
 * loading from text, expected-error checks, paths into the source tree. */
#ifndef SHOAL_TESTS_UNIT_CONFIG_UTIL_H
#define SHOAL_TESTS_UNIT_CONFIG_UTIL_H

#include "daemon/config/config.h"
#include "daemon/config/config_int.h"
#include "daemon/err.h"
#include "daemon/xalloc.h"
#include "tests/unit/harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)

/* A valid config: 5 lines (BASE_MOUNTS: the last 3). Tests append from line 6 on. */
#define BASE_MOUNTS "mounts:\n  - name: mnt1\n    ufs: s3://bkt1/\n"
#define BASE "node:\n  data_dir: /d\n" BASE_MOUNTS

/* ---- helpers ------------------------------------------------------------- */

/* src_path: REL (relative to the repository root) as a path that opens
 * from the current directory. Returns a static buffer. */
static inline const char *src_path(const char *rel)
{
    static char buf[4096];
    const char *me = __FILE__; /* "tests/unit/test_config.c" or absolute */
    const char *tail = strstr(me, "tests/unit/test_config.c");

    if (access("tests/unit/harness.h", F_OK) == 0 || !tail)
        snprintf(buf, sizeof(buf), "%s", rel);
    else
        snprintf(buf, sizeof(buf), "%.*s%s", (int)(tail - me), me, rel);
    return buf;
}

static inline int load_text(const char *text, struct shd_config **cfg, struct shd_diag *d)
{
    return shd_config_load_buffer("t.yaml", text, strlen(text), cfg, d);
}

static inline void dump_diag(const struct shd_diag *d)
{
    size_t i;

    for (i = 0; i < d->count; i++)
        fprintf(stderr, "    got: %s\n", d->msgs[i].text);
}

/* expect_errors: TEXT must fail to load with exactly the N messages WANT,
 * in that order. Prints what differs. */
static inline int expect_errors(const char *text, const char *const *want, size_t n)
{
    struct shd_config *cfg = (struct shd_config *)&cfg; /* must stay untouched */
    struct shd_diag d;
    int rc, ok = 1;
    size_t i;

    shd_diag_init(&d);
    rc = load_text(text, &cfg, &d);
    if (rc != SHD_ERR_CONFIG || cfg != (struct shd_config *)&cfg) {
        fprintf(stderr, "    load returned %d (%s), out-param %s\n", rc, shd_strerror(rc),
                cfg == (struct shd_config *)&cfg ? "untouched" : "written");
        ok = 0;
    }
    if (d.count != n) {
        fprintf(stderr, "    %zu messages, wanted %zu\n", d.count, n);
        ok = 0;
    }
    for (i = 0; i < n && i < d.count; i++) {
        if (strcmp(d.msgs[i].text, want[i]) != 0) {
            fprintf(stderr, "    want: %s\n", want[i]);
            ok = 0;
        }
    }
    if (!ok)
        dump_diag(&d);
    if (rc == 0)
        shd_config_free(cfg);
    shd_diag_free(&d);
    return ok;
}

#define EXPECT(text, ...)                                                                          \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        CHECK(expect_errors(text, want_, sizeof(want_) / sizeof(want_[0])));                       \
    } while (0)

/* load_ok: TEXT must load; the caller frees the result. */
static inline struct shd_config *load_ok(const char *text)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;

    shd_diag_init(&d);
    if (load_text(text, &cfg, &d) != 0) {
        dump_diag(&d);
        cfg = NULL;
    }
    shd_diag_free(&d);
    return cfg;
}

/* read_all: the contents of PATH (malloc'd, NUL-terminated), or NULL. */
static inline char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* ---- valid files ------------------------------------------------------------ */


#endif
