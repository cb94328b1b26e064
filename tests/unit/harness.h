/* tests/unit/harness.h: the one small unit-test harness.
 *
 * A test file defines TEST(name) functions, calls RUN(name) for each from
 * main() and returns harness_done(), which prints "N passed, N failed".
 * CHECK() records a failure and goes on; REQUIRE() also leaves the test.
 * HARNESS_ONLY=name[,name...] in the environment runs only those tests (to
 * time or debug one under valgrind); the others are neither run nor counted. */
#ifndef SHOAL_TESTS_HARNESS_H
#define SHOAL_TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed, harness_failed, harness_cur_failed;
static const char *harness_cur;

#define TEST(name) static void name(void)
#define RUN(name) harness_run(#name, name)
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, harness_cur,      \
                    #cond);                                                                        \
            harness_cur_failed = 1;                                                                \
        }                                                                                          \
    } while (0)
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        CHECK(cond);                                                                               \
        if (harness_cur_failed)                                                                    \
            return;                                                                                \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *ha_ = (a), *hb_ = (b);                                                         \
        if (!ha_ || !hb_ || strcmp(ha_, hb_) != 0) {                                               \
            fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, harness_cur,      \
                    ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)");                                   \
            harness_cur_failed = 1;                                                                \
        }                                                                                          \
    } while (0)

/* harness_wanted: whether NAME is in $HARNESS_ONLY (or that is unset). */
static int harness_wanted(const char *name)
{
    const char *only = getenv("HARNESS_ONLY"), *p;
    size_t n = strlen(name);

    if (!only || !*only)
        return 1;
    for (p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

static void harness_run(const char *name, void (*fn)(void))
{
    if (!harness_wanted(name))
        return;
    harness_cur = name;
    harness_cur_failed = 0;
    fn();
    if (harness_cur_failed) {
        harness_failed++;
        printf("FAIL %s\n", name);
    } else {
        harness_passed++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

static int harness_done(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

#endif
