/* daemon/config/config_int.h: internals shared by the config loader's files:
 * config_tree.c (YAML to a tree, diagnostics), config.c (the tree against
 * the key table, loading, freeing), config_check.c (checks across keys),
 * config_table.c (the key table and the generated docs/config.md) and
 * config_parse.c (value parsers). Nothing outside daemon/config*.c and the
 * unit test includes this header. */
#ifndef SHOAL_DAEMON_CONFIG_INT_H
#define SHOAL_DAEMON_CONFIG_INT_H

#include "daemon/config/config.h"

#include <stddef.h>
#include <stdint.h>

/* Length of a value or key quoted in a message before it is cut with "...". */
#define SHD_CFG_SHOW_MAX 64
/* Rows in the key table, at most (config_table.c checks it). */
#define SHD_CFG_KEYS_MAX 96
/* Room for a reason written by a value parser. */
#define SHD_CFG_WHY_MAX 256

/* The type of a key decides how its value is read, checked, stored, freed
 * and described in docs/config.md. */
enum shd_cfg_type {
    SHD_CFG_SECTION,     /* map of keys; the field is the nested struct */
    SHD_CFG_LIST,        /* list of maps; items described by "path[].key" rows */
    SHD_CFG_STR,         /* char *; min/max bound the length */
    SHD_CFG_NAME,        /* char *; letters, digits, '.', '_', '-' */
    SHD_CFG_PATH,        /* char *; a file system path */
    SHD_CFG_ENVVAR,      /* char *; an environment variable name */
    SHD_CFG_SECRET,      /* char *; never quoted in messages */
    SHD_CFG_URL,         /* char *; http:// or https:// URL */
    SHD_CFG_MOUNT_NAME,  /* char *; S3 bucket name or "*" */
    SHD_CFG_INT,         /* unsigned; min..max */
    SHD_CFG_SIZE,        /* uint64_t bytes; min..max */
    SHD_CFG_DURATION,    /* uint64_t ms; min..max */
    SHD_CFG_BOOL,        /* bool */
    SHD_CFG_ENUM,        /* int-sized enum: index into choices */
    SHD_CFG_ADDR,        /* struct shd_addr */
    SHD_CFG_ADDR_LIST,   /* struct shd_addr * + size_t count; min..max items */
    SHD_CFG_UFS,         /* struct shd_ufs */
    SHD_CFG_CREDENTIALS, /* struct shd_credentials: "env" or a map */
};

enum {
    SHD_CFG_F_REQUIRED = 1 << 0, /* no default: the key must be present */
    SHD_CFG_F_POW2 = 1 << 1,     /* the value must be a power of two */
    SHD_CFG_F_HOSTNAME = 1 << 2, /* default is the host name */
};

/* One row of the key table. Offsets are relative to the struct that holds
 * the key's level: struct shd_config at the top and in its sections (a
 * SECTION does not move the base), the item struct inside a list (struct
 * shd_mount for "mounts[]"), struct shd_credentials for credentials. */
struct shd_cfg_key {
    const char *path; /* "node.weight", "mounts[].ufs", "tenants[].allow[].mount" */
    enum shd_cfg_type type;
    unsigned flags;
    uint64_t min, max;   /* value bounds; string length; list length */
    const char *def;     /* default in config syntax; NULL = unset (or see flags) */
    const char *choices; /* SHD_CFG_ENUM: "a|b|c", in enum order */
    size_t off;          /* field; SHD_CFG_LIST and ADDR_LIST: the array pointer */
    size_t off_n;        /* SHD_CFG_LIST and ADDR_LIST: the size_t count */
    size_t elem_size;    /* SHD_CFG_LIST: sizeof the item struct */
    const char *doc;     /* Markdown, one paragraph */
};

extern const struct shd_cfg_key shd_cfg_keys[];
extern const size_t shd_cfg_n_keys;

/* shd_cfg_key_find: the row whose path is SCOPE + "." + NAME (or NAME at
 * the top when SCOPE is ""), NAME being LEN bytes; NULL if none. */
const struct shd_cfg_key *shd_cfg_key_find(const char *scope, const char *name, size_t len);
/* shd_cfg_key_leaf: the last component of a row's path ("weight"). */
const char *shd_cfg_key_leaf(const struct shd_cfg_key *k);
/* shd_cfg_key_in_scope: whether row K is a direct child of SCOPE. */
int shd_cfg_key_in_scope(const struct shd_cfg_key *k, const char *scope);

/* Longest key path printed in a message ("tenants[12].allow[3].mount"). */
#define SHD_CFG_PATH_MAX 512

/* ---- the tree of one YAML document (config_tree.c) ------------------------ */

enum shd_cfg_node_kind {
    SHD_CFG_N_NULL,   /* empty, ~ or null, written plain */
    SHD_CFG_N_SCALAR, /* any other scalar, quoted or not */
    SHD_CFG_N_MAP,    /* kids: key, value, key, value... */
    SHD_CFG_N_SEQ,    /* kids: items */
    SHD_CFG_N_BAD,    /* already reported (alias, NUL byte): skipped silently */
};

/* A node of the tree; the tree owns its kids. */
struct shd_cfg_node {
    enum shd_cfg_node_kind kind;
    unsigned line; /* 1-based */
    char *text;    /* SHD_CFG_N_SCALAR: NUL-terminated, no NUL inside */
    size_t len;
    struct shd_cfg_node **kids;
    size_t n, cap;
};

/* The state of one load. */
struct shd_cfg_ctx {
    const char *file;
    struct shd_diag *diag;
    size_t errors; /* reported during this load */
    size_t nodes;
    struct shd_cfg_node *root;
};

/* shd_cfg_tree_build: parse LEN bytes at BUF into c->root (NULL when the
 * stream holds no document). Returns 0, or SHD_ERR_CONFIG when the tree is
 * unusable (syntax error, ceilings); then c->root is NULL. */
int shd_cfg_tree_build(struct shd_cfg_ctx *c, const char *buf, size_t len);
/* shd_cfg_node_free: free N and everything below it; NULL is a no-op. */
void shd_cfg_node_free(struct shd_cfg_node *n);
/* shd_cfg_node_what: "a map", "a list", "a string", "nothing"... */
const char *shd_cfg_node_what(const struct shd_cfg_node *n);
/* shd_cfg_map_get: the value of KEY in MAP (the first when repeated), or
 * NULL when MAP is NULL, not a map, or has no such key. Borrowed. */
const struct shd_cfg_node *shd_cfg_map_get(const struct shd_cfg_node *map, const char *key);
/* shd_cfg_map_has: whether MAP holds KEY with a value other than nothing. */
int shd_cfg_map_has(const struct shd_cfg_node *map, const char *key);
/* shd_cfg_line_of: the line of KEY's value in MAP, or FALLBACK. */
unsigned shd_cfg_line_of(const struct shd_cfg_node *map, const char *key, unsigned fallback);
/* shd_cfg_seq_item: item I of the list SEQ, or NULL. Borrowed. */
const struct shd_cfg_node *shd_cfg_seq_item(const struct shd_cfg_node *seq, size_t i);

/* shd_cfg_err: report "FILE:LINE: KEY: message" and count it as an error. */
void shd_cfg_err(struct shd_cfg_ctx *c, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* shd_cfg_fmt: snprintf that may cut (paths stop at SHD_CFG_PATH_MAX); a
 * function of its own so that the compiler does not flag every use. */
void shd_cfg_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* shd_cfg_diag_sort: order the messages of D from index FROM by line,
 * keeping the order of messages on the same line. */
void shd_cfg_diag_sort(struct shd_diag *d, size_t from);
/* shd_cfg_child_path: PATH + "." + LEAF into BUF (LEAF alone at the top). */
void shd_cfg_child_path(char *buf, size_t len, const char *path, const char *leaf);

/* ---- checks across keys (config_check.c) --------------------------------- */

/* shd_cfg_check_item: checks within one list item of SCOPE ("mounts[]",
 * "tenants[]"), read from MAP into the struct at BASE. */
void shd_cfg_check_item(struct shd_cfg_ctx *c, const char *scope, const char *path,
                        const struct shd_cfg_node *map, void *base);
/* shd_cfg_check_all: checks across the whole file, after pass 2. */
void shd_cfg_check_all(struct shd_cfg_ctx *c, const struct shd_config *cfg);

/* ---- value parsers: 0 or SHD_ERR_INVAL with a reason in WHY ------------ */

int shd_cfg_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
                       size_t why_len);
int shd_cfg_parse_bool(const char *s, bool *out, char *why, size_t why_len);
/* shd_cfg_parse_addr: "host:port", "[v6]:port", ":port". A SEED needs a
 * host and a non-zero port. Gives out->host malloc'd. */
int shd_cfg_parse_addr(const char *s, int seed, struct shd_addr *out, char *why, size_t why_len);
/* shd_cfg_parse_ufs: "s3://bucket[/prefix]", "s3://" or "file:///dir".
 * Fills OUT with malloc'd strings (out->uri included). */
int shd_cfg_parse_ufs(const char *s, struct shd_ufs *out, char *why, size_t why_len);
int shd_cfg_check_bucket(const char *s, char *why, size_t why_len);
int shd_cfg_check_url(const char *s, char *why, size_t why_len);
int shd_cfg_check_name(const char *s, char *why, size_t why_len);
int shd_cfg_check_envvar(const char *s, char *why, size_t why_len);

/* shd_cfg_show: S (LEN bytes) made safe to quote in a message: control and
 * non-ASCII bytes as \xNN, cut after SHD_CFG_SHOW_MAX bytes with "...".
 * Writes into BUF (LEN_BUF >= 4 * SHD_CFG_SHOW_MAX + 4) and returns it. */
char *shd_cfg_show(const char *s, size_t len, char *buf, size_t len_buf);
#define SHD_CFG_SHOW_BUF (4 * SHD_CFG_SHOW_MAX + 4)

/* shd_cfg_edit_distance: Levenshtein distance between A and B, at most
 * 32 bytes each; larger inputs give a large number. */
unsigned shd_cfg_edit_distance(const char *a, size_t alen, const char *b, size_t blen);

#endif
