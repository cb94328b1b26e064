/* tests/fuzz/fuzz_util.h: small helpers the fuzz targets share: an input cut
 * into lines, and a parsed request (struct http_req of daemon/http/http_int.h)
 * made from names and values, for parsers that take their input from
 * http_req_header() without needing a connection.
 *
 * A header of static functions, like tests/unit/harness.h. */
#ifndef SHOAL_TESTS_FUZZ_UTIL_H
#define SHOAL_TESTS_FUZZ_UTIL_H

#include "daemon/http/http_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_LINES_MAX 32

/* The input's first lines (split at '\n'), each NUL-terminated (a NUL byte
 * in a line ends it early). Lines past FUZZ_LINES_MAX stay in the last. */
struct fuzz_lines {
    char *buf;
    char *line[FUZZ_LINES_MAX];
    size_t n;
};

static void fuzz_lines_split(struct fuzz_lines *l, const uint8_t *data, size_t size)
{
    char *p;

    l->buf = malloc(size + 1);
    if (!l->buf)
        abort();
    memcpy(l->buf, data, size);
    l->buf[size] = '\0';
    l->n = 0;
    p = l->buf;
    while (l->n < FUZZ_LINES_MAX) {
        char *nl = l->n + 1 < FUZZ_LINES_MAX ? memchr(p, '\n', (size_t)(l->buf + size - p)) : NULL;
        l->line[l->n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

/* The line I, or "" past the end. */
static const char *fuzz_line(const struct fuzz_lines *l, size_t i)
{
    return i < l->n ? l->line[i] : "";
}

static void fuzz_lines_free(struct fuzz_lines *l)
{
    free(l->buf);
    l->buf = NULL;
    l->n = 0;
}

/* ---- a request's head without a connection ---------------------------------------- */

static void fuzz_req_put(struct http_req *r, const char *s)
{
    size_t n = strlen(s) + 1;
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            abort();
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

/* A request METHOD TARGET with no headers yet; free with fuzz_req_free. */
static void fuzz_req_init(struct http_req *r, const char *method, const char *target)
{
    memset(r, 0, sizeof(*r));
    r->target_off = 0;
    fuzz_req_put(r, target);
    r->method_off = (uint32_t)r->len;
    fuzz_req_put(r, method);
    r->is_head = strcmp(method, "HEAD") == 0;
}

/* Adds header LNAME (lower case) with VALUE; ignored past HTTP_HEADERS_MAX. */
static void fuzz_req_add(struct http_req *r, const char *lname, const char *value)
{
    if (r->nhdrs == HTTP_HEADERS_MAX)
        return;
    r->hdrs[r->nhdrs].name = (uint32_t)r->len;
    fuzz_req_put(r, lname);
    r->hdrs[r->nhdrs].value = (uint32_t)r->len;
    fuzz_req_put(r, value);
    r->nhdrs++;
}

static void fuzz_req_free(struct http_req *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

#endif
