/* daemon/config/config.c: loads shoald's YAML configuration into a struct
 * shd_config and reports every problem with file, line and key.
 *
 * Three passes over the input:
 *   1. libyaml events to a small tree (config_tree.c).
 *   2. the tree against the key table (cfg_walk_map, here): unknown,
 *      duplicate, missing and ill-typed keys, each value parsed and range
 *      checked, defaults applied. Errors are collected; walking goes on.
 *   3. checks across keys (config_check.c).
 * The config is handed out only when no pass reported an error; freeing
 * follows the key table too. */
#include "daemon/config/config_int.h"
#include "daemon/err.h"
#include "daemon/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pass 2: the tree against the key table ------------------------------ */

static void cfg_walk_map(struct shd_cfg_ctx *c, const char *scope, const char *path,
                         const struct shd_cfg_node *map, unsigned line, void *base);

void shd_cfg_child_path(char *buf, size_t len, const char *path, const char *leaf)
{
    shd_cfg_fmt(buf, len, "%s%s%s", path, *path ? "." : "", leaf);
}

/* cfg_type_expect: what a value of K looks like, for "expected ..." errors. */
static const char *cfg_type_expect(const struct shd_cfg_key *k)
{
    switch (k->type) {
    case SHD_CFG_SECTION:
        return "a map";
    case SHD_CFG_LIST:
        return "a list of maps";
    case SHD_CFG_ADDR_LIST:
        return "a list of addresses";
    case SHD_CFG_CREDENTIALS:
        return "\"env\" or a map";
    case SHD_CFG_INT:
        return "a whole number";
    case SHD_CFG_SIZE:
        return "a size";
    case SHD_CFG_DURATION:
        return "a duration";
    case SHD_CFG_BOOL:
        return "true or false";
    case SHD_CFG_ADDR:
        return "an address";
    case SHD_CFG_UFS:
        return "a URI";
    case SHD_CFG_URL:
        return "a URL";
    case SHD_CFG_PATH:
        return "a path";
    default:
        return "a string";
    }
}

/* cfg_read_string: check TEXT against K's length and kind, then store a copy
 * in *FIELD. */
static void cfg_read_string(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                            const struct shd_cfg_node *n, char **field)
{
    char why[SHD_CFG_WHY_MAX];
    int rc = 0;

    if (n->len < k->min || n->len > k->max) {
        if (n->len == 0)
            shd_cfg_err(c, n->line, path, "must not be empty");
        else if (k->min == k->max)
            shd_cfg_err(c, n->line, path, "must have %llu characters, not %zu",
                        (unsigned long long)k->min, n->len);
        else
            shd_cfg_err(c, n->line, path, "must have %llu..%llu characters, not %zu",
                        (unsigned long long)k->min, (unsigned long long)k->max, n->len);
        return;
    }
    switch (k->type) {
    case SHD_CFG_NAME:
        rc = shd_cfg_check_name(n->text, why, sizeof(why));
        break;
    case SHD_CFG_ENVVAR:
        rc = shd_cfg_check_envvar(n->text, why, sizeof(why));
        break;
    case SHD_CFG_URL:
        rc = shd_cfg_check_url(n->text, why, sizeof(why));
        break;
    case SHD_CFG_MOUNT_NAME:
        if (strcmp(n->text, "*") != 0 && shd_cfg_check_bucket(n->text, why, sizeof(why))) {
            shd_cfg_err(c, n->line, path, "%s (or \"*\" to pass every bucket through)", why);
            return;
        }
        break;
    default:
        break;
    }
    if (rc) {
        shd_cfg_err(c, n->line, path, "%s", why);
        return;
    }
    free(*field);
    *field = shd_xstrndup(n->text, n->len);
}

/* cfg_read_number: INT, SIZE and DURATION values with their bounds. */
static void cfg_read_number(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                            const struct shd_cfg_node *n, void *field)
{
    char why[SHD_CFG_WHY_MAX], lo[32], hi[32], show[SHD_CFG_SHOW_BUF];
    uint64_t v;

    if (k->type == SHD_CFG_INT) {
        if (shd_cfg_parse_uint(n->text, k->min, k->max, &v, why, sizeof(why))) {
            shd_cfg_err(c, n->line, path, "%s", why);
            return;
        }
        *(unsigned *)field = (unsigned)v;
        return;
    }
    if (k->type == SHD_CFG_SIZE) {
        if (shd_parse_size(n->text, &v, why, sizeof(why))) {
            shd_cfg_err(c, n->line, path, "%s", why);
            return;
        }
        shd_format_size(k->min, lo, sizeof(lo));
        shd_format_size(k->max, hi, sizeof(hi));
    } else {
        if (shd_parse_duration(n->text, &v, why, sizeof(why))) {
            shd_cfg_err(c, n->line, path, "%s", why);
            return;
        }
        shd_format_duration(k->min, lo, sizeof(lo));
        shd_format_duration(k->max, hi, sizeof(hi));
    }
    shd_cfg_show(n->text, n->len, show, sizeof(show));
    if (v < k->min || v > k->max) {
        shd_cfg_err(c, n->line, path, "%s is out of range (%s..%s)", show, lo, hi);
        return;
    }
    if ((k->flags & SHD_CFG_F_POW2) && (v & (v - 1))) {
        shd_cfg_err(c, n->line, path, "%s is not a power of two", show);
        return;
    }
    *(uint64_t *)field = v;
}

/* cfg_read_enum: the index of N in K's choices ("a|b|c") into the int at
 * FIELD, or an error listing the choices. */
static void cfg_read_enum(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                          const struct shd_cfg_node *n, int *field)
{
    char show[SHD_CFG_SHOW_BUF], list[256];
    const char *p = k->choices;
    size_t o = 0;
    int i = 0;

    for (;;) {
        size_t len = strcspn(p, "|");

        if (len == n->len && memcmp(p, n->text, len) == 0) {
            *field = i;
            return;
        }
        if (!p[len])
            break;
        p += len + 1;
        i++;
    }
    for (p = k->choices; *p && o + 3 < sizeof(list); p++) {
        if (*p == '|') {
            list[o++] = ',';
            list[o++] = ' ';
        } else {
            list[o++] = *p;
        }
    }
    list[o] = '\0';
    shd_cfg_err(c, n->line, path, "invalid value \"%s\": use one of %s",
                shd_cfg_show(n->text, n->len, show, sizeof(show)), list);
}

/* cfg_read_scalar: parse the scalar N as K into FIELD; report what is wrong. */
static void cfg_read_scalar(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                            const struct shd_cfg_node *n, void *field)
{
    char why[SHD_CFG_WHY_MAX];
    int rc = 0;

    switch (k->type) {
    case SHD_CFG_INT:
    case SHD_CFG_SIZE:
    case SHD_CFG_DURATION:
        cfg_read_number(c, k, path, n, field);
        return;
    case SHD_CFG_BOOL:
        rc = shd_cfg_parse_bool(n->text, field, why, sizeof(why));
        break;
    case SHD_CFG_ENUM:
        cfg_read_enum(c, k, path, n, field);
        return;
    case SHD_CFG_ADDR: {
        struct shd_addr *a = field, tmp;

        rc = shd_cfg_parse_addr(n->text, 0, &tmp, why, sizeof(why));
        if (!rc) {
            free(a->host);
            *a = tmp;
        }
        break;
    }
    case SHD_CFG_UFS:
        rc = shd_cfg_parse_ufs(n->text, field, why, sizeof(why));
        break;
    default:
        cfg_read_string(c, k, path, n, field);
        return;
    }
    if (rc)
        shd_cfg_err(c, n->line, path, "%s", why);
}

/* cfg_hostname: the default of node.name: the host name ("localhost" if
 * there is none), replacing *FIELD. */
static void cfg_hostname(char **field)
{
    char host[256];

    if (gethostname(host, sizeof(host)) != 0 || !host[0])
        shd_cfg_fmt(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    free(*field);
    *field = shd_xstrdup(host);
}

/* cfg_read_absent: K is not in the file (or is empty): report it when
 * required, else store its default. LINE is that of the enclosing map. */
static void cfg_read_absent(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                            unsigned line, void *base)
{
    void *field = (char *)base + k->off;
    struct shd_cfg_node def;

    if (k->flags & SHD_CFG_F_REQUIRED) {
        if (k->type == SHD_CFG_LIST)
            shd_cfg_err(c, line, path, "missing required key (a list of at least %llu)",
                        (unsigned long long)k->min);
        else
            shd_cfg_err(c, line, path, "missing required key");
        return;
    }
    if (k->type == SHD_CFG_SECTION) {
        cfg_walk_map(c, k->path, path, NULL, line, base);
        return;
    }
    if (k->flags & SHD_CFG_F_HOSTNAME) {
        cfg_hostname(field);
        return;
    }
    if (!k->def || k->type == SHD_CFG_LIST || k->type == SHD_CFG_ADDR_LIST ||
        k->type == SHD_CFG_CREDENTIALS)
        return; /* unset: NULL, empty list, "env" are all zero */
    memset(&def, 0, sizeof(def));
    def.kind = SHD_CFG_N_SCALAR;
    def.line = line;
    def.text = (char *)k->def;
    def.len = strlen(k->def);
    cfg_read_scalar(c, k, path, &def, field);
}

/* cfg_type_error: N is not the kind of node K takes. */
static void cfg_type_error(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                           const struct shd_cfg_node *n)
{
    shd_cfg_err(c, n->line, path, "expected %s, got %s", cfg_type_expect(k), shd_cfg_node_what(n));
}

/* cfg_read_list: a list of maps, each walked with the rows of "K[]". */
static void cfg_read_list(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                          const struct shd_cfg_node *n, void *base)
{
    char scope[SHD_CFG_PATH_MAX], ipath[SHD_CFG_PATH_MAX];
    char *items;
    size_t i;

    if (n->n < k->min || n->n > k->max) {
        if (n->n < k->min)
            shd_cfg_err(c, n->line, path, "needs at least %llu item%s", (unsigned long long)k->min,
                        k->min == 1 ? "" : "s");
        else
            shd_cfg_err(c, n->line, path, "has %zu items, more than the limit of %llu", n->n,
                        (unsigned long long)k->max);
        return;
    }
    items = shd_xcalloc(n->n ? n->n : 1, k->elem_size);
    *(void **)((char *)base + k->off) = items;
    *(size_t *)((char *)base + k->off_n) = n->n;
    shd_cfg_fmt(scope, sizeof(scope), "%s[]", k->path);
    for (i = 0; i < n->n; i++) {
        const struct shd_cfg_node *item = n->kids[i];

        shd_cfg_fmt(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (item->kind == SHD_CFG_N_BAD)
            continue;
        if (item->kind != SHD_CFG_N_MAP) {
            shd_cfg_err(c, item->line, ipath, "expected a map, got %s", shd_cfg_node_what(item));
            continue;
        }
        cfg_walk_map(c, scope, ipath, item, item->line, items + i * k->elem_size);
    }
}

/* cfg_read_addr_list: cluster.seeds, a list of "host:port" seeds. */
static void cfg_read_addr_list(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                               const struct shd_cfg_node *n, void *base)
{
    char ipath[SHD_CFG_PATH_MAX], why[SHD_CFG_WHY_MAX];
    struct shd_addr *a;
    size_t i;

    if (n->n < k->min || n->n > k->max) {
        shd_cfg_err(c, n->line, path, "has %zu items, more than the limit of %llu", n->n,
                    (unsigned long long)k->max);
        return;
    }
    a = shd_xcalloc(n->n ? n->n : 1, sizeof(*a));
    *(struct shd_addr **)((char *)base + k->off) = a;
    *(size_t *)((char *)base + k->off_n) = n->n;
    for (i = 0; i < n->n; i++) {
        const struct shd_cfg_node *item = n->kids[i];

        shd_cfg_fmt(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (item->kind == SHD_CFG_N_BAD)
            continue;
        if (item->kind != SHD_CFG_N_SCALAR)
            shd_cfg_err(c, item->line, ipath, "expected an address, got %s",
                        shd_cfg_node_what(item));
        else if (shd_cfg_parse_addr(item->text, 1, &a[i], why, sizeof(why)))
            shd_cfg_err(c, item->line, ipath, "%s", why);
    }
}

/* cfg_read_credentials: "env", or a map with file (+ profile) or with
 * access_key_env and secret_key_env. */
static void cfg_read_credentials(struct shd_cfg_ctx *c, const struct shd_cfg_key *k,
                                 const char *path, const struct shd_cfg_node *n,
                                 struct shd_credentials *cr)
{
    char show[SHD_CFG_SHOW_BUF], sub[SHD_CFG_PATH_MAX];
    int has_file, has_profile, has_ak, has_sk;

    if (n->kind == SHD_CFG_N_SCALAR) {
        if (strcmp(n->text, "env") != 0)
            shd_cfg_err(c, n->line, path,
                        "invalid value \"%s\": use \"env\" or a map with file (and profile) or "
                        "access_key_env and secret_key_env",
                        shd_cfg_show(n->text, n->len, show, sizeof(show)));
        cr->kind = SHD_CRED_ENV;
        return;
    }
    if (n->kind != SHD_CFG_N_MAP) {
        cfg_type_error(c, k, path, n);
        return;
    }
    cfg_walk_map(c, k->path, path, n, n->line, cr);
    has_file = shd_cfg_map_has(n, "file");
    has_profile = shd_cfg_map_has(n, "profile");
    has_ak = shd_cfg_map_has(n, "access_key_env");
    has_sk = shd_cfg_map_has(n, "secret_key_env");
    if (has_file && (has_ak || has_sk)) {
        shd_cfg_err(c, n->line, path,
                    "use either file (and profile) or access_key_env and secret_key_env, not both");
    } else if (has_file) {
        cr->kind = SHD_CRED_FILE;
    } else if (has_ak || has_sk) {
        cr->kind = SHD_CRED_ENV_VARS;
        shd_cfg_child_path(sub, sizeof(sub), path, has_ak ? "secret_key_env" : "access_key_env");
        if (!has_ak || !has_sk)
            shd_cfg_err(c, n->line, sub,
                        "missing required key (access_key_env and secret_key_env go together)");
        if (has_profile) {
            shd_cfg_child_path(sub, sizeof(sub), path, "profile");
            shd_cfg_err(c, shd_cfg_line_of(n, "profile", n->line), sub,
                        "profile applies to a credentials file only");
        }
    } else {
        shd_cfg_err(c, n->line, path,
                    "set file (and profile), or access_key_env and secret_key_env, or write "
                    "credentials: env");
    }
    if (cr->kind != SHD_CRED_FILE) {
        free(cr->profile);
        cr->profile = NULL;
    }
}

/* cfg_read_key: read the value N of key K (N NULL when absent) into the
 * struct at BASE. LINE is the line of the enclosing map. */
static void cfg_read_key(struct shd_cfg_ctx *c, const struct shd_cfg_key *k, const char *path,
                         const struct shd_cfg_node *n, unsigned line, void *base)
{
    void *field = (char *)base + k->off;

    if (!n || n->kind == SHD_CFG_N_NULL) {
        cfg_read_absent(c, k, path, line, base);
        return;
    }
    if (n->kind == SHD_CFG_N_BAD)
        return;
    switch (k->type) {
    case SHD_CFG_SECTION:
        if (n->kind != SHD_CFG_N_MAP) {
            cfg_type_error(c, k, path, n);
            return;
        }
        cfg_walk_map(c, k->path, path, n, n->line, base);
        return;
    case SHD_CFG_LIST:
        if (n->kind != SHD_CFG_N_SEQ)
            cfg_type_error(c, k, path, n);
        else
            cfg_read_list(c, k, path, n, base);
        return;
    case SHD_CFG_ADDR_LIST:
        if (n->kind != SHD_CFG_N_SEQ)
            cfg_type_error(c, k, path, n);
        else
            cfg_read_addr_list(c, k, path, n, base);
        return;
    case SHD_CFG_CREDENTIALS:
        cfg_read_credentials(c, k, path, n, field);
        return;
    default:
        if (n->kind != SHD_CFG_N_SCALAR)
            cfg_type_error(c, k, path, n);
        else
            cfg_read_scalar(c, k, path, n, field);
        return;
    }
}

/* cfg_unknown_key: report KEY (not a row of SCOPE) with the nearest valid
 * key, the section it belongs to, or the list of valid keys. */
static void cfg_unknown_key(struct shd_cfg_ctx *c, const char *scope, const char *path,
                            const struct shd_cfg_node *key)
{
    char show[SHD_CFG_SHOW_BUF], kpath[SHD_CFG_PATH_MAX], valid[512];
    const struct shd_cfg_key *best = NULL;
    unsigned bestd = 1000;
    size_t i, o = 0;

    shd_cfg_child_path(kpath, sizeof(kpath), path,
                       shd_cfg_show(key->text, key->len, show, sizeof(show)));
    valid[0] = '\0';
    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];
        const char *leaf = shd_cfg_key_leaf(k);
        unsigned d, limit = strlen(leaf) <= 4 ? 1 : 2;

        if (!shd_cfg_key_in_scope(k, scope))
            continue;
        d = shd_cfg_edit_distance(key->text, key->len, leaf, strlen(leaf));
        if (d <= limit && d < bestd) {
            best = k;
            bestd = d;
        }
        if (o < sizeof(valid)) {
            shd_cfg_fmt(valid + o, sizeof(valid) - o, "%s%s", o ? ", " : "", leaf);
            o += strlen(valid + o);
        }
    }
    if (best) {
        shd_cfg_err(c, key->line, kpath, "unknown key (did you mean \"%s\"?)",
                    shd_cfg_key_leaf(best));
        return;
    }
    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];

        if (strcmp(shd_cfg_key_leaf(k), key->text) == 0) {
            shd_cfg_err(c, key->line, kpath, "unknown key here (it belongs in %s)", k->path);
            return;
        }
    }
    shd_cfg_err(c, key->line, kpath, "unknown key (valid keys: %s)", valid);
}

/* cfg_walk_map: read the keys of MAP (NULL when the section is absent) into
 * the struct at BASE by the table rows of SCOPE; PATH is MAP's printed key
 * path and LINE its line (for keys reported missing). */
static void cfg_walk_map(struct shd_cfg_ctx *c, const char *scope, const char *path,
                         const struct shd_cfg_node *map, unsigned line, void *base)
{
    const struct shd_cfg_node *seen[SHD_CFG_KEYS_MAX], *vals[SHD_CFG_KEYS_MAX];
    char kpath[SHD_CFG_PATH_MAX];
    size_t i;

    memset(seen, 0, sizeof(seen));
    memset(vals, 0, sizeof(vals));
    for (i = 0; map && i + 1 < map->n; i += 2) {
        const struct shd_cfg_node *key = map->kids[i];
        const struct shd_cfg_key *k;
        size_t idx;

        if (key->kind != SHD_CFG_N_SCALAR)
            continue; /* reported while building the tree */
        k = shd_cfg_key_find(scope, key->text, key->len);
        if (!k) {
            cfg_unknown_key(c, scope, path, key);
            continue;
        }
        idx = (size_t)(k - shd_cfg_keys);
        if (seen[idx]) {
            shd_cfg_child_path(kpath, sizeof(kpath), path, shd_cfg_key_leaf(k));
            shd_cfg_err(c, key->line, kpath, "duplicate key (first at line %u)", seen[idx]->line);
            continue;
        }
        seen[idx] = key;
        vals[idx] = map->kids[i + 1];
    }
    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];

        if (!shd_cfg_key_in_scope(k, scope))
            continue;
        shd_cfg_child_path(kpath, sizeof(kpath), path, shd_cfg_key_leaf(k));
        cfg_read_key(c, k, kpath, vals[i], line, base);
    }
    if (map)
        shd_cfg_check_item(c, scope, path, map, base);
}

/* ---- freeing --------------------------------------------------------------- */

/* cfg_free_level: free what the rows of SCOPE own in the struct at BASE. */
static void cfg_free_level(const char *scope, void *base)
{
    char sub[SHD_CFG_PATH_MAX];
    size_t i, j;

    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];
        void *field = (char *)base + k->off;

        if (!shd_cfg_key_in_scope(k, scope))
            continue;
        switch (k->type) {
        case SHD_CFG_SECTION:
            cfg_free_level(k->path, base);
            break;
        case SHD_CFG_LIST: {
            char *items = *(void **)field;
            size_t n = *(size_t *)((char *)base + k->off_n);

            shd_cfg_fmt(sub, sizeof(sub), "%s[]", k->path);
            for (j = 0; items && j < n; j++)
                cfg_free_level(sub, items + j * k->elem_size);
            free(items);
            break;
        }
        case SHD_CFG_ADDR_LIST: {
            struct shd_addr *a = *(struct shd_addr **)field;
            size_t n = *(size_t *)((char *)base + k->off_n);

            for (j = 0; a && j < n; j++)
                free(a[j].host);
            free(a);
            break;
        }
        case SHD_CFG_ADDR:
            free(((struct shd_addr *)field)->host);
            break;
        case SHD_CFG_UFS: {
            struct shd_ufs *u = field;

            free(u->uri);
            free(u->bucket);
            free(u->prefix);
            free(u->path);
            break;
        }
        case SHD_CFG_CREDENTIALS:
            cfg_free_level(k->path, field);
            break;
        case SHD_CFG_STR:
        case SHD_CFG_NAME:
        case SHD_CFG_PATH:
        case SHD_CFG_ENVVAR:
        case SHD_CFG_SECRET:
        case SHD_CFG_URL:
        case SHD_CFG_MOUNT_NAME:
            free(*(char **)field);
            break;
        case SHD_CFG_INT:
        case SHD_CFG_SIZE:
        case SHD_CFG_DURATION:
        case SHD_CFG_BOOL:
        case SHD_CFG_ENUM:
            break;
        }
    }
}

void shd_config_free(struct shd_config *cfg)
{
    if (!cfg)
        return;
    cfg_free_level("", cfg);
    free(cfg->source);
    free(cfg);
}

/* ---- loading --------------------------------------------------------------- */

int shd_config_load_buffer(const char *name, const char *buf, size_t len, struct shd_config **out,
                           struct shd_diag *diag)
{
    struct shd_cfg_ctx c;
    struct shd_config *cfg = NULL;
    size_t first = diag->count;
    int rc;

    memset(&c, 0, sizeof(c));
    c.file = name;
    c.diag = diag;
    if (len > SHD_CONFIG_MAX_BYTES) {
        shd_cfg_err(&c, 0, NULL, "larger than %d bytes, the limit for a configuration file",
                    SHD_CONFIG_MAX_BYTES);
        rc = SHD_ERR_TOOBIG;
        goto out;
    }
    rc = shd_cfg_tree_build(&c, buf, len);
    if (rc)
        goto out;
    if (!c.root || c.root->kind == SHD_CFG_N_NULL) {
        shd_cfg_err(&c, c.root ? c.root->line : 1, NULL,
                    "the configuration is empty: it needs at least node.data_dir and one mount");
        rc = SHD_ERR_CONFIG;
        goto out;
    }
    if (c.root->kind != SHD_CFG_N_MAP) {
        if (c.root->kind != SHD_CFG_N_BAD)
            shd_cfg_err(
                &c, c.root->line, NULL,
                "the configuration must be a map of sections (node, listen, cluster, cache, "
                "mounts, tenants), not %s",
                shd_cfg_node_what(c.root));
        rc = SHD_ERR_CONFIG;
        goto out;
    }
    cfg = shd_xcalloc(1, sizeof(*cfg));
    cfg->source = shd_xstrdup(name);
    cfg_walk_map(&c, "", "", c.root, c.root->line, cfg);
    shd_cfg_check_all(&c, cfg);
    rc = c.errors ? SHD_ERR_CONFIG : 0;
out:
    shd_cfg_node_free(c.root);
    if (c.errors && !rc)
        rc = SHD_ERR_CONFIG; /* anchors, tags... reported while building */
    shd_cfg_diag_sort(diag, first);
    if (rc) {
        shd_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int shd_config_load_file(const char *path, struct shd_config **out, struct shd_diag *diag)
{
    char *buf = NULL;
    size_t n;
    FILE *f;
    int rc;

    f = fopen(path, "rb");
    if (!f) {
        shd_diag_add(diag, path, 0, NULL, "cannot open: %s", strerror(errno));
        return SHD_ERR_IO;
    }
    buf = shd_xmalloc(SHD_CONFIG_MAX_BYTES + 1);
    n = fread(buf, 1, SHD_CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        shd_diag_add(diag, path, 0, NULL, "cannot read: %s", strerror(errno));
        rc = SHD_ERR_IO;
        goto out;
    }
    rc = shd_config_load_buffer(path, buf, n, out, diag);
out:
    fclose(f);
    free(buf);
    return rc;
}
