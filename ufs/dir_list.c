/* ufs/dir_list.c: ListObjectsV2 over the directory tree (ufs_list).
 *
 * Keys come out in S3's order, lexicographic by bytes. A depth-first walk
 * gives that order when each directory's entries are sorted with a
 * directory named "d" taken as "d/" (every key below it starts so, and no
 * sibling name can contain '/'). The walk starts at the deepest directory the
 * prefix names, skips subtrees that cannot hold a key after the marker, and
 * stops once it has max_keys + 1 results (keys plus common prefixes, as S3
 * counts them): the extra one says the page is truncated.
 *
 * With a delimiter, the first key whose rest (after the prefix) holds it
 * yields the common prefix up to and including the delimiter, and every
 * later key with that common prefix is skipped (whole subtrees at once when
 * it names a directory). Empty directories yield nothing.
 *
 * Continuation token: 'k' or 'p' (the page ended with a key or a common
 * prefix) followed by the hex of that last result; the next page starts
 * after it, and after every key under it for 'p'. A token overrides
 * start_after, as on S3. Reserved names (".shoal-*": temporary files, the
 * uploads directory), symbolic links and special files are never listed;
 * listed entries carry size, mtime and ETag, and no content type (as S3's
 * listings carry none). max_keys is capped at 1000, as on S3. */
#include "ufs/dir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_LIST_MAX_KEYS 1000
#define DIR_TOKEN_MAX (1 + 2 * UFS_KEY_MAX)

struct dir_item {
    char *s;
    int is_prefix;
    struct ufs_stat st;
};

/* One directory entry, sorted as name + "/" for directories. */
struct dir_ent {
    char *name;
    size_t len;
    int is_dir;
};

/* The state of one listing walk (worker). */
struct dir_walk {
    const char *prefix, *delim, *marker; /* delim, marker: NULL = none */
    size_t plen, dlen;
    char skip[UFS_KEY_MAX + 1]; /* skip keys starting with this, when skiplen > 0 */
    size_t skiplen;
    size_t want;
    struct dir_item *items;
    size_t n;
    int err, stop;
    char key[UFS_KEY_MAX + NAME_MAX + 3]; /* the path being visited */
};

struct dir_list {
    struct ufs_dir_req r;
    ufs_list_cb cb;
    void *arg;
    char *prefix, *delim, *start_after, *token; /* token: decoded */
    int token_is_prefix;
    unsigned max_keys;
    struct ufs_list_page page;
};

static int dir_starts(const char *s, size_t sl, const char *p, size_t pl)
{
    return sl >= pl && memcmp(s, p, pl) == 0;
}

static int dir_ent_cmp(const void *pa, const void *pb)
{
    const struct dir_ent *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->name, b->name, n), ca, cb;

    if (c)
        return c;
    ca = a->len > n ? (unsigned char)a->name[n] : a->is_dir ? '/' : -1;
    cb = b->len > n ? (unsigned char)b->name[n] : b->is_dir ? '/' : -1;
    return ca < cb ? -1 : ca > cb;
}

static void dir_ents_free(struct dir_ent *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

/* dir_read_ents: the listable entries of directory DFD, sorted. 0 or a ufs
 * error. */
static int dir_read_ents(int dfd, struct dir_ent **out, size_t *nout)
{
    struct dir_ent *e = NULL, *ne;
    size_t n = 0, cap = 0, rl = strlen(UFS_DIR_RESERVED);
    struct dirent *de;
    struct stat sb;
    int fd = dup(dfd), rc = 0, is_dir;
    DIR *ds = fd >= 0 ? fdopendir(fd) : NULL;

    if (!ds) {
        rc = ufs_dir_errno(errno);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    errno = 0;
    while ((de = readdir(ds)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strncmp(de->d_name, UFS_DIR_RESERVED, rl) == 0)
            continue;
        if (de->d_type == DT_DIR || de->d_type == DT_REG) {
            is_dir = de->d_type == DT_DIR;
        } else if (de->d_type == DT_UNKNOWN &&
                   fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                   (S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode))) {
            is_dir = S_ISDIR(sb.st_mode);
        } else {
            continue; /* links, special files, gone meanwhile */
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            if (!(ne = realloc(e, cap * sizeof(*e)))) {
                rc = UFS_ENOMEM;
                goto out;
            }
            e = ne;
        }
        e[n].len = strlen(de->d_name);
        e[n].is_dir = is_dir;
        if (!(e[n].name = strdup(de->d_name))) {
            rc = UFS_ENOMEM;
            goto out;
        }
        n++;
        errno = 0;
    }
    if (errno)
        rc = ufs_dir_errno(errno);
out:
    closedir(ds);
    if (rc) {
        dir_ents_free(e, n);
        return rc;
    }
    if (n)
        qsort(e, n, sizeof(*e), dir_ent_cmp);
    *out = e;
    *nout = n;
    return 0;
}

/* dir_add: appends a result (S: the first LEN bytes of the walk's key). */
static struct dir_item *dir_add(struct dir_walk *w, size_t len, int is_prefix)
{
    struct dir_item *it = &w->items[w->n];

    memset(it, 0, sizeof(*it));
    if (!(it->s = strndup(w->key, len))) {
        w->err = UFS_ENOMEM;
        w->stop = 1;
        return NULL;
    }
    it->is_prefix = is_prefix;
    w->n++;
    if (w->n == w->want)
        w->stop = 1;
    return it;
}

/* dir_emit: the file at the walk's key (LEN bytes), NAME in directory DFD:
 * a key, or its common prefix. */
static void dir_emit(struct dir_walk *w, size_t len, int dfd, const char *name)
{
    struct dir_item *it;
    struct stat sb;
    const char *q;

    if (w->delim && (q = memmem(w->key + w->plen, len - w->plen, w->delim, w->dlen)) != NULL) {
        size_t cl = (size_t)(q - w->key) + w->dlen;

        if (dir_add(w, cl, 1)) {
            memcpy(w->skip, w->key, cl);
            w->skiplen = cl;
        }
        return;
    }
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) { /* gone meanwhile: not listed */
            w->err = ufs_dir_errno(errno);
            w->stop = 1;
        }
        return;
    }
    if (S_ISREG(sb.st_mode) && (it = dir_add(w, len, 0)) != NULL)
        ufs_dir_stat_fill(&sb, -1, NULL, &it->st);
}

/* dir_walk_dir: visits directory DFD, whose path (with its '/') is the first
 * BASE bytes of the walk's key, in order. */
static void dir_walk_dir(struct dir_walk *w, int dfd, size_t base)
{
    struct dir_ent *ents = NULL;
    size_t nents = 0;
    int rc = dir_read_ents(dfd, &ents, &nents);

    if (rc) {
        w->err = rc;
        w->stop = 1;
        return;
    }
    for (size_t i = 0; i < nents && !w->stop; i++) {
        struct dir_ent *e = &ents[i];
        size_t tl = base + e->len + (e->is_dir ? 1 : 0);
        const char *t = w->key;
        int fd;

        /* a directory's keys are longer than its path with the '/' */
        if (tl > UFS_KEY_MAX || (e->is_dir && tl == UFS_KEY_MAX))
            continue;
        memcpy(w->key + base, e->name, e->len);
        if (e->is_dir)
            w->key[base + e->len] = '/';
        w->key[tl] = '\0';
        /* outside the prefix, unless the prefix goes on below this directory */
        if (!dir_starts(t, tl, w->prefix, w->plen) &&
            !(e->is_dir && dir_starts(w->prefix, w->plen, t, tl))) {
            if (strcmp(t, w->prefix) > 0)
                w->stop = 1; /* past every key with the prefix, here and above */
            continue;
        }
        /* wholly at or before the marker */
        if (w->marker && !e->is_dir && strcmp(t, w->marker) <= 0)
            continue;
        if (w->marker && e->is_dir && strcmp(t, w->marker) < 0 &&
            !dir_starts(w->marker, strlen(w->marker), t, tl))
            continue;
        if (w->skiplen && dir_starts(t, tl, w->skip, w->skiplen))
            continue; /* under the common prefix just returned */
        if (!e->is_dir) {
            dir_emit(w, tl, dfd, e->name);
        } else {
            fd = openat(dfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                dir_walk_dir(w, fd, tl);
                close(fd);
            } else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
                w->err = ufs_dir_errno(errno);
                w->stop = 1;
            }
        }
        /* a common prefix covering this whole directory: nothing more here */
        if (w->skiplen && w->skiplen <= base && memcmp(w->key, w->skip, w->skiplen) == 0)
            break;
    }
    dir_ents_free(ents, nents);
}

static const char dir_hex[] = "0123456789abcdef";

/* dir_token: the continuation token after item IT (malloc'd), or NULL. */
static char *dir_token(const struct dir_item *it)
{
    size_t n = strlen(it->s);
    char *t = malloc(2 * n + 2);

    if (!t)
        return NULL;
    t[0] = it->is_prefix ? 'p' : 'k';
    for (size_t i = 0; i < n; i++) {
        t[1 + 2 * i] = dir_hex[(unsigned char)it->s[i] >> 4];
        t[2 + 2 * i] = dir_hex[(unsigned char)it->s[i] & 15];
    }
    t[2 * n + 1] = '\0';
    return t;
}

static int dir_hexval(char c)
{
    const char *p = c ? strchr(dir_hex, c) : NULL;

    return p ? (int)(p - dir_hex) : -1;
}

/* dir_token_parse: TOKEN into *key (malloc'd) and *is_prefix. 0, UFS_EINVAL
 * (not one of ours) or UFS_ENOMEM. */
static int dir_token_parse(const char *token, char **key, int *is_prefix)
{
    size_t n = strnlen(token, DIR_TOKEN_MAX + 1);
    char *k;

    if (n < 3 || n > DIR_TOKEN_MAX || n % 2 == 0 || (token[0] != 'k' && token[0] != 'p'))
        return UFS_EINVAL;
    if (!(k = malloc(n / 2 + 1)))
        return UFS_ENOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = dir_hexval(token[1 + 2 * i]), lo = dir_hexval(token[2 + 2 * i]);

        if (hi < 0 || lo < 0 || (hi | lo) == 0) { /* not hex, or a NUL byte */
            free(k);
            return UFS_EINVAL;
        }
        k[i] = (char)(hi << 4 | lo);
    }
    k[n / 2] = '\0';
    *key = k;
    *is_prefix = token[0] == 'p';
    return 0;
}

/* dir_page_build: turns the walk's results into the page; frees items. */
static int dir_page_build(struct dir_list *l, struct dir_walk *w)
{
    struct ufs_list_page *p = &l->page;
    size_t nk = 0, np = 0;
    int rc = 0;

    if (w->n > l->max_keys) { /* one more than asked: truncated there */
        p->truncated = 1;
        free(w->items[--w->n].s);
        if (!(p->next_token = dir_token(&w->items[w->n - 1])))
            rc = UFS_ENOMEM;
    }
    for (size_t i = 0; i < w->n; i++)
        w->items[i].is_prefix ? np++ : nk++;
    if (!rc && ((nk && !(p->entries = calloc(nk, sizeof(*p->entries)))) ||
                (np && !(p->common_prefixes = calloc(np, sizeof(char *))))))
        rc = UFS_ENOMEM;
    for (size_t i = 0; i < w->n; i++) {
        struct dir_item *it = &w->items[i];

        if (rc) {
            free(it->s);
        } else if (it->is_prefix) {
            p->common_prefixes[p->n_prefixes++] = it->s;
        } else {
            p->entries[p->n_entries].key = it->s;
            p->entries[p->n_entries++].st = it->st;
        }
    }
    return rc;
}

/* dir_list_walk: the walk from the deepest directory the prefix names. */
static int dir_list_walk(struct dir_list *l, struct dir_walk *w)
{
    const char *slash = strrchr(l->prefix, '/');
    size_t base = slash ? (size_t)(slash - l->prefix) + 1 : 0;
    char *path = NULL;
    int fd;

    memcpy(w->key, l->prefix, base);
    w->key[base] = '\0';
    if (base) {
        /* a prefix whose directories no key can have lists nothing */
        w->key[base - 1] = '\0';
        if (ufs_dir_key_check(w->key) != 0)
            return 0;
        path = ufs_dir_path(l->r.d, w->key);
        w->key[base - 1] = '/';
    } else {
        path = strdup(l->r.d->root_len ? l->r.d->root : "/");
    }
    if (!path)
        return UFS_ENOMEM;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : ufs_dir_errno(errno);
    dir_walk_dir(w, fd, base);
    close(fd);
    return w->err;
}

static void dir_list_work(struct ufs_dir_req *r)
{
    struct dir_list *l = (struct dir_list *)r;
    struct dir_walk *w = calloc(1, sizeof(*w));
    int rc;

    r->want_fire = 1;
    if (!w || !(w->items = calloc((size_t)l->max_keys + 1, sizeof(*w->items)))) {
        r->err = UFS_ENOMEM;
        goto out;
    }
    w->prefix = l->prefix;
    w->plen = strlen(l->prefix);
    w->delim = l->delim;
    w->dlen = l->delim ? strlen(l->delim) : 0;
    w->want = (size_t)l->max_keys + 1;
    w->marker = l->token ? l->token : l->start_after;
    if (l->token && l->token_is_prefix) {
        memcpy(w->skip, l->token, strlen(l->token));
        w->skiplen = strlen(l->token);
    }
    rc = dir_list_walk(l, w);
    if (rc) {
        for (size_t i = 0; i < w->n; i++)
            free(w->items[i].s);
    } else {
        rc = dir_page_build(l, w);
    }
    r->err = rc;
out:
    if (w)
        free(w->items);
    free(w);
}

static void dir_list_fire(struct ufs_dir_req *r)
{
    struct dir_list *l = (struct dir_list *)r;

    ufs_dir_req_finish(r, r->err);
    l->cb(l->arg, r->err, r->err ? NULL : &l->page);
}

static void dir_list_release(struct ufs_dir_req *r)
{
    struct dir_list *l = (struct dir_list *)r;
    struct ufs_list_page *p = &l->page;

    for (size_t i = 0; i < p->n_entries; i++)
        free(p->entries[i].key);
    for (size_t i = 0; i < p->n_prefixes; i++)
        free(p->common_prefixes[i]);
    free(p->entries);
    free(p->common_prefixes);
    free(p->next_token);
    free(l->prefix);
    free(l->delim);
    free(l->start_after);
    free(l->token);
}

static const struct ufs_dir_kind dir_list_kind = {dir_list_work, NULL, dir_list_fire, NULL,
                                                  dir_list_release};

/* dir_opt_copy: *out = a copy of S, or NULL for NULL (and for "" when
 * EMPTY_IS_NULL). 0, UFS_EINVAL (longer than MAX) or UFS_ENOMEM. */
static int dir_opt_copy(const char *s, size_t max, int empty_is_null, char **out)
{
    if (!s || (empty_is_null && !s[0]))
        return 0;
    if (strnlen(s, max + 1) > max)
        return UFS_EINVAL;
    return (*out = strdup(s)) ? 0 : UFS_ENOMEM;
}

struct ufs_req *ufs_dir_list(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb,
                             void *arg)
{
    struct ufs_dir *d = (struct ufs_dir *)u;
    struct ufs_list_opts none = {0};
    struct dir_list *l;
    int rc;

    if (!cb || !(l = calloc(1, sizeof(*l))))
        return NULL;
    if (ufs_dir_req_init(d, &l->r, &dir_list_kind, UFS_K_LIST) != 0) {
        free(l);
        return NULL;
    }
    l->cb = cb;
    l->arg = arg;
    if (!opts)
        opts = &none;
    l->max_keys =
        opts->max_keys && opts->max_keys < DIR_LIST_MAX_KEYS ? opts->max_keys : DIR_LIST_MAX_KEYS;
    rc = dir_opt_copy(opts->prefix ? opts->prefix : "", UFS_KEY_MAX, 0, &l->prefix);
    if (!rc)
        rc = dir_opt_copy(opts->delimiter, UFS_KEY_MAX, 1, &l->delim);
    if (!rc)
        rc = dir_opt_copy(opts->start_after, UFS_KEY_MAX, 1, &l->start_after);
    if (!rc && opts->continuation_token)
        rc = dir_token_parse(opts->continuation_token, &l->token, &l->token_is_prefix);
    if (rc)
        ufs_dir_req_fail_soon(&l->r, rc);
    else
        ufs_dir_req_kick(&l->r);
    return &l->r.head;
}
