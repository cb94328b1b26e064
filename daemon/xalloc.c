/* daemon/xalloc.c: the only place where shoald handles out-of-memory: it
 * logs (daemon/log.c, which does not allocate) and aborts, so no caller
 * carries an untested NULL path. */
#include "daemon/xalloc.h"
#include "daemon/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void shd_oom(size_t size)
{
    shd_log(SHD_LOG_ERROR, "xalloc",
            "out of memory, aborting size=%zu what=\"lower cache.memory or give the node more "
            "memory\"",
            size);
    abort();
}

void *shd_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        shd_oom(size);
    return p;
}

void *shd_xcalloc(size_t n, size_t size)
{
    void *p;

    if (size && n > SIZE_MAX / size)
        shd_oom(SIZE_MAX);
    p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        shd_oom(n * size);
    return p;
}

void *shd_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (!q)
        shd_oom(size);
    return q;
}

char *shd_xstrdup(const char *s)
{
    return shd_xstrndup(s, strlen(s));
}

char *shd_xstrndup(const char *s, size_t n)
{
    char *p;

    n = strnlen(s, n);
    p = shd_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *shd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        shd_oom(0); /* only on an invalid format or EOVERFLOW: treat as fatal */
    p = shd_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
