/* daemon/xalloc.h: allocation wrappers of shoald that never return NULL.
 *
 * shoald treats out-of-memory as fatal (STYLE rule 4): these log one line to
 * stderr and abort, in exactly one place (shd_oom). The caller owns what they
 * return and releases it with free(). */
#ifndef SHOAL_DAEMON_XALLOC_H
#define SHOAL_DAEMON_XALLOC_H

#include <stddef.h>

/* shd_oom: report that SIZE bytes could not be allocated and abort. */
_Noreturn void shd_oom(size_t size);

void *shd_xmalloc(size_t size);
/* shd_xcalloc: zeroed array of N elements of SIZE bytes; aborts on overflow. */
void *shd_xcalloc(size_t n, size_t size);
/* shd_xrealloc: like realloc(P, SIZE); size 0 still returns a valid pointer. */
void *shd_xrealloc(void *p, size_t size);
char *shd_xstrdup(const char *s);
/* shd_xstrndup: copy of the first N bytes of S (stops early at a NUL). */
char *shd_xstrndup(const char *s, size_t n);
/* shd_xasprintf: a newly allocated formatted string. */
char *shd_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
