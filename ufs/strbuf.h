/* ufs/strbuf.h: a growable NUL-terminated string for building requests and
 * canonical forms (sigv4.c, s3_req.c). Once an allocation fails the builder
 * stays failed (err set) and further appends do nothing; the owner frees p. */
#ifndef SHOAL_UFS_STRBUF_H
#define SHOAL_UFS_STRBUF_H

#include <stdlib.h>
#include <string.h>

struct ufs_sb {
    char *p;
    size_t len, cap;
    int err;
};

/* Appends n bytes of s. */
static inline void ufs_sb_add(struct ufs_sb *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512; /* a canonical request fits */
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->err = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void ufs_sb_str(struct ufs_sb *b, const char *s)
{
    ufs_sb_add(b, s, strlen(s));
}

#endif
