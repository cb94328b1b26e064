/* daemon/config/config_tree.c: the first pass of the config loader: libyaml
 * events to a small tree that keeps line numbers, plus the diagnostics
 * list (struct shd_diag) that every pass reports into.
 *
 * The tree rejects what the format does not allow here (anchors, aliases,
 * tags, a second document, NUL bytes, keys that are not strings) and
 * bounds nesting and node count. A YAML syntax error ends loading: libyaml
 * cannot go past it, so it is reported alone. */
#include "daemon/config/config_int.h"
#include "daemon/err.h"
#include "daemon/xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CFG_DEPTH_MAX 32     /* nesting of maps and lists */
#define CFG_NODES_MAX 200000 /* values in one file */

void shd_cfg_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- diagnostics ------------------------------------------------------- */

void shd_diag_init(struct shd_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void shd_diag_free(struct shd_diag *d)
{
    size_t i;

    for (i = 0; i < d->count; i++)
        free(d->msgs[i].text);
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}

void shd_diag_add(struct shd_diag *d, const char *file, unsigned line, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int n;

    if (d->count >= SHD_DIAG_MAX) {
        d->dropped++;
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    msg = shd_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->msgs = shd_xrealloc(d->msgs, d->cap * sizeof(d->msgs[0]));
    }
    d->msgs[d->count].line = line;
    if (line)
        d->msgs[d->count].text = key && *key ? shd_xasprintf("%s:%u: %s: %s", file, line, key, msg)
                                             : shd_xasprintf("%s:%u: %s", file, line, msg);
    else
        d->msgs[d->count].text = key && *key ? shd_xasprintf("%s: %s: %s", file, key, msg)
                                             : shd_xasprintf("%s: %s", file, msg);
    d->count++;
    free(msg);
}

void shd_diag_print(const struct shd_diag *d, FILE *f)
{
    size_t i;

    for (i = 0; i < d->count; i++)
        fprintf(f, "%s\n", d->msgs[i].text);
    if (d->dropped)
        fprintf(f, "... and %zu more errors not shown\n", d->dropped);
}

size_t shd_diag_errors(const struct shd_diag *d)
{
    return d->count + d->dropped;
}

/* shd_cfg_diag_sort: order messages FROM.. by line, keeping the order of equal
 * lines (insertion sort: at most SHD_DIAG_MAX entries). */
void shd_cfg_diag_sort(struct shd_diag *d, size_t from)
{
    size_t i, j;

    for (i = from + 1; i < d->count; i++) {
        struct shd_diag_msg m = d->msgs[i];

        for (j = i; j > from && d->msgs[j - 1].line > m.line; j--)
            d->msgs[j] = d->msgs[j - 1];
        d->msgs[j] = m;
    }
}

/* ---- the tree ------------------------------------------------------------ */

void shd_cfg_err(struct shd_cfg_ctx *c, unsigned line, const char *key, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    shd_diag_add(c->diag, c->file, line, key, "%s", msg);
    c->errors++;
}

void shd_cfg_node_free(struct shd_cfg_node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->n; i++)
        shd_cfg_node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

const char *shd_cfg_node_what(const struct shd_cfg_node *n)
{
    switch (n->kind) {
    case SHD_CFG_N_NULL:
        return "nothing";
    case SHD_CFG_N_SCALAR:
        return "a string";
    case SHD_CFG_N_MAP:
        return "a map";
    case SHD_CFG_N_SEQ:
        return "a list";
    case SHD_CFG_N_BAD:
        break;
    }
    return "an invalid value";
}

/* shd_cfg_map_get: the value of KEY in MAP, or NULL when MAP is not a map or
 * has no such key (the first one when repeated). Does not give ownership. */
const struct shd_cfg_node *shd_cfg_map_get(const struct shd_cfg_node *map, const char *key)
{
    size_t i;

    if (!map || map->kind != SHD_CFG_N_MAP)
        return NULL;
    for (i = 0; i + 1 < map->n; i += 2) {
        if (map->kids[i]->kind == SHD_CFG_N_SCALAR && strcmp(map->kids[i]->text, key) == 0)
            return map->kids[i + 1];
    }
    return NULL;
}

/* shd_cfg_map_has: whether KEY is in MAP with a value other than nothing. */
int shd_cfg_map_has(const struct shd_cfg_node *map, const char *key)
{
    const struct shd_cfg_node *v = shd_cfg_map_get(map, key);

    return v && v->kind != SHD_CFG_N_NULL;
}

unsigned shd_cfg_line_of(const struct shd_cfg_node *map, const char *key, unsigned fallback)
{
    const struct shd_cfg_node *v = shd_cfg_map_get(map, key);

    return v ? v->line : fallback;
}

const struct shd_cfg_node *shd_cfg_seq_item(const struct shd_cfg_node *seq, size_t i)
{
    return seq && seq->kind == SHD_CFG_N_SEQ && i < seq->n ? seq->kids[i] : NULL;
}

/* ---- pass 1: libyaml events to the tree ---------------------------------- */

struct cfg_build {
    struct shd_cfg_node *stack[CFG_DEPTH_MAX];
    size_t depth;
    int fatal; /* stop: the tree is incomplete */
};

/* cfg_attach: hang N (owned from now on by the tree) under the open
 * collection, or make it the root. */
static void cfg_attach(struct shd_cfg_ctx *c, struct cfg_build *b, struct shd_cfg_node *n)
{
    struct shd_cfg_node *p;

    if (b->depth == 0) {
        if (c->root)
            shd_cfg_node_free(c->root); /* unreachable: one document is read */
        c->root = n;
        return;
    }
    p = b->stack[b->depth - 1];
    if (p->kind == SHD_CFG_N_MAP && p->n % 2 == 0) {
        if (n->kind == SHD_CFG_N_MAP || n->kind == SHD_CFG_N_SEQ)
            shd_cfg_err(c, n->line, NULL, "a key must be a string, not %s", shd_cfg_node_what(n));
        else if (n->kind == SHD_CFG_N_NULL)
            shd_cfg_err(c, n->line, NULL, "empty key");
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->kids = shd_xrealloc(p->kids, p->cap * sizeof(p->kids[0]));
    }
    p->kids[p->n++] = n;
}

/* cfg_node_new: a node of KIND at MARK, counted against CFG_NODES_MAX;
 * reaching it marks the build fatal. The caller attaches it. */
static struct shd_cfg_node *cfg_node_new(struct shd_cfg_ctx *c, struct cfg_build *b,
                                         enum shd_cfg_node_kind kind, const yaml_mark_t *mark)
{
    struct shd_cfg_node *n = shd_xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->line = (unsigned)mark->line + 1;
    if (++c->nodes == CFG_NODES_MAX) {
        shd_cfg_err(c, n->line, NULL, "more than %d values in one file", CFG_NODES_MAX);
        b->fatal = 1;
    }
    return n;
}

/* cfg_no_extras: report an anchor or a tag on a node; both are refused so
 * that every value is written where it applies (and no alias bombs). */
static void cfg_no_extras(struct shd_cfg_ctx *c, unsigned line, const yaml_char_t *anchor,
                          const yaml_char_t *tag)
{
    char show[SHD_CFG_SHOW_BUF];

    if (anchor)
        shd_cfg_err(
            c, line, NULL, "YAML anchors (&%s) are not supported: write the value out",
            shd_cfg_show((const char *)anchor, strlen((const char *)anchor), show, sizeof(show)));
    if (tag)
        shd_cfg_err(c, line, NULL, "YAML tags (%s) are not supported: remove the tag",
                    shd_cfg_show((const char *)tag, strlen((const char *)tag), show, sizeof(show)));
}

/* cfg_scalar: a scalar event to a node: plain empty, ~ and null become
 * SHD_CFG_N_NULL; a NUL byte makes it SHD_CFG_N_BAD. */
static void cfg_scalar(struct shd_cfg_ctx *c, struct cfg_build *b, const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    struct shd_cfg_node *n;
    enum shd_cfg_node_kind kind = SHD_CFG_N_SCALAR;

    cfg_no_extras(c, (unsigned)ev->start_mark.line + 1, ev->data.scalar.anchor,
                  ev->data.scalar.tag);
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
         strcmp(v, "NULL") == 0))
        kind = SHD_CFG_N_NULL;
    if (memchr(v, '\0', len)) {
        shd_cfg_err(c, (unsigned)ev->start_mark.line + 1, NULL, "a NUL character is not allowed");
        kind = SHD_CFG_N_BAD;
    }
    n = cfg_node_new(c, b, kind, &ev->start_mark);
    if (kind == SHD_CFG_N_SCALAR) {
        n->text = shd_xstrndup(v, len);
        n->len = len;
    }
    cfg_attach(c, b, n);
}

/* cfg_collection: a map or list start event: a node that becomes the open
 * collection, unless nesting is over CFG_DEPTH_MAX (fatal). */
static void cfg_collection(struct shd_cfg_ctx *c, struct cfg_build *b, const yaml_event_t *ev,
                           enum shd_cfg_node_kind kind)
{
    struct shd_cfg_node *n;
    unsigned line = (unsigned)ev->start_mark.line + 1;

    if (kind == SHD_CFG_N_MAP)
        cfg_no_extras(c, line, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
    else
        cfg_no_extras(c, line, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
    if (b->depth == CFG_DEPTH_MAX) {
        shd_cfg_err(c, line, NULL, "maps and lists nested more than %d deep", CFG_DEPTH_MAX);
        b->fatal = 1;
        return;
    }
    n = cfg_node_new(c, b, kind, &ev->start_mark);
    cfg_attach(c, b, n);
    b->stack[b->depth++] = n;
}

/* cfg_yaml_error: report the error libyaml stopped at. */
static void cfg_yaml_error(struct shd_cfg_ctx *c, const yaml_parser_t *p, const char *buf,
                           size_t len)
{
    unsigned line = (unsigned)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown problem";
    size_t i;

    if (p->error == YAML_MEMORY_ERROR)
        shd_oom(0);
    if (p->error == YAML_READER_ERROR) {
        line = 1;
        for (i = 0; i < len && i < p->problem_offset; i++)
            line += buf[i] == '\n';
        shd_cfg_err(c, line, NULL, "invalid input at byte %zu: %s", p->problem_offset, problem);
        return;
    }
    if (p->context)
        shd_cfg_err(c, line, NULL, "YAML syntax error: %s (%s at line %u)", problem, p->context,
                    (unsigned)p->context_mark.line + 1);
    else
        shd_cfg_err(c, line, NULL, "YAML syntax error: %s", problem);
}

/* shd_cfg_tree_build: parse BUF into c->root. Returns 0, or SHD_ERR_CONFIG when
 * the tree is unusable (syntax error, ceilings): then c->root is freed. */
int shd_cfg_tree_build(struct shd_cfg_ctx *c, const char *buf, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct cfg_build b;
    int docs = 0, done = 0, rc = 0;

    memset(&b, 0, sizeof(b));
    if (!yaml_parser_initialize(&p))
        shd_oom(sizeof(p));
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    while (!done && !b.fatal) {
        if (!yaml_parser_parse(&p, &ev)) {
            cfg_yaml_error(c, &p, buf, len);
            rc = SHD_ERR_CONFIG;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                shd_cfg_err(c, (unsigned)ev.start_mark.line + 1, NULL,
                            "a second YAML document starts here: the configuration must be one "
                            "document");
                done = 1;
            }
            break;
        case YAML_ALIAS_EVENT: {
            char show[SHD_CFG_SHOW_BUF];
            const char *a = (const char *)ev.data.alias.anchor;

            shd_cfg_err(c, (unsigned)ev.start_mark.line + 1, NULL,
                        "YAML aliases (*%s) are not supported: write the value out",
                        shd_cfg_show(a, strlen(a), show, sizeof(show)));
            cfg_attach(c, &b, cfg_node_new(c, &b, SHD_CFG_N_BAD, &ev.start_mark));
            break;
        }
        case YAML_SCALAR_EVENT:
            cfg_scalar(c, &b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            cfg_collection(c, &b, &ev, SHD_CFG_N_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            cfg_collection(c, &b, &ev, SHD_CFG_N_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (b.depth)
                b.depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (b.fatal)
        rc = SHD_ERR_CONFIG;
    if (rc) {
        shd_cfg_node_free(c->root);
        c->root = NULL;
    }
    return rc;
}
