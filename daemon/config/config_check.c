/* daemon/config/config_check.c: the config loader's checks that span several
 * keys: within one list item (a mount's name against its ufs, a tenant's
 * one secret) and across the file (duplicate ports, names and access keys,
 * disk sizes against the block size, grants against the mounts). They run
 * on values already parsed; a value that failed to parse is NULL or 0 and
 * is skipped, so one mistake is reported once. */
#include "daemon/config/config_int.h"

#include <string.h>

/* shd_cfg_check_item: checks within one list item, once its keys are read. */
void shd_cfg_check_item(struct shd_cfg_ctx *c, const char *scope, const char *path,
                        const struct shd_cfg_node *map, void *base)
{
    char sub[SHD_CFG_PATH_MAX];

    if (strcmp(scope, "mounts[]") == 0) {
        struct shd_mount *m = base;
        unsigned uline = shd_cfg_line_of(map, "ufs", map->line);

        shd_cfg_child_path(sub, sizeof(sub), path, "ufs");
        if (m->name && m->ufs.uri) {
            int star = strcmp(m->name, "*") == 0;

            if (star && (m->ufs.kind != SHD_UFS_S3 || m->ufs.bucket))
                shd_cfg_err(c, uline, sub,
                            "the pass-through mount \"*\" takes ufs \"s3://\" (no bucket)");
            else if (!star && m->ufs.kind == SHD_UFS_S3 && !m->ufs.bucket)
                shd_cfg_err(c, uline, sub, "missing bucket: only the mount \"*\" uses \"s3://\"");
        }
        if (m->ufs.uri && m->ufs.kind == SHD_UFS_FILE) {
            if (shd_cfg_map_has(map, "credentials") && m->credentials.kind != SHD_CRED_ENV) {
                shd_cfg_child_path(sub, sizeof(sub), path, "credentials");
                shd_cfg_err(c, shd_cfg_line_of(map, "credentials", map->line), sub,
                            "a file:// mount takes no credentials (omit the key or write env)");
            }
            if (shd_cfg_map_has(map, "endpoint")) {
                shd_cfg_child_path(sub, sizeof(sub), path, "endpoint");
                shd_cfg_err(c, shd_cfg_line_of(map, "endpoint", map->line), sub,
                            "endpoint applies to s3:// mounts only");
            }
        }
    } else if (strcmp(scope, "tenants[]") == 0) {
        /* in the order of enum shd_secret_src: VALUE, ENV, FILE */
        static const char *const keys[] = {"secret_key", "secret_env", "secret_file"};
        struct shd_tenant *t = base;
        const char *first = NULL;
        size_t i;

        for (i = 0; i < 3; i++) {
            if (!shd_cfg_map_has(map, keys[i]))
                continue;
            if (first) {
                shd_cfg_child_path(sub, sizeof(sub), path, keys[i]);
                shd_cfg_err(
                    c, shd_cfg_line_of(map, keys[i], map->line), sub,
                    "only one of secret_key, secret_env and secret_file may be set (%s is set "
                    "at line %u)",
                    first, shd_cfg_line_of(map, first, map->line));
                continue;
            }
            first = keys[i];
            t->secret_src = (enum shd_secret_src)i;
        }
        if (!first)
            shd_cfg_err(c, map->line, path,
                        "missing secret: set one of secret_key, secret_env or secret_file");
    }
}

/* ---- pass 3: checks across keys ------------------------------------------ */

/* cfg_check_listen: the three listeners need distinct non-zero ports. The
 * error goes on the listener written in the file (the later one if both). */
static void cfg_check_listen(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    static const char *const names[] = {"peer", "s3", "admin"};
    const struct shd_addr *a[] = {&cfg->listen.peer, &cfg->listen.s3, &cfg->listen.admin};
    const struct shd_cfg_node *listen = shd_cfg_map_get(c->root, "listen");
    char path[64];
    size_t i, j;

    for (j = 1; j < 3; j++) {
        for (i = 0; i < j; i++) {
            size_t at =
                shd_cfg_map_has(listen, names[j]) || !shd_cfg_map_has(listen, names[i]) ? j : i;

            if (!a[i]->port || a[i]->port != a[j]->port)
                continue;
            shd_cfg_fmt(path, sizeof(path), "listen.%s", names[at]);
            shd_cfg_err(c, shd_cfg_line_of(listen, names[at], listen ? listen->line : 1), path,
                        "port %u is also used by listen.%s", a[at]->port, names[at == j ? i : j]);
            break;
        }
    }
}

/* cfg_check_request_memory: the budget holds the largest fill run (4
 * blocks: one ranged GET) and the largest upload's S3 buffers (6 parts of
 * 8 MiB), so each can start on an idle node. */
static void cfg_check_request_memory(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *cache = shd_cfg_map_get(c->root, "cache");
    char need[32];
    uint64_t m = cfg->cache.request_memory;
    uint64_t min = 4 * cfg->cluster.block_size + 48 * (1ULL << 20);
    if (m && cfg->cluster.block_size && m < min)
        shd_cfg_err(c, shd_cfg_line_of(cache, "request_memory", cache ? cache->line : 1),
                    "cache.request_memory",
                    "must be at least 4 x cluster.block_size + 48MiB (%s): a fill of 4 blocks "
                    "and an upload's buffers must each fit",
                    shd_format_size(min, need, sizeof(need)));
}

/* cfg_check_disks: each disk holds at least two blocks; paths differ. */
static void cfg_check_disks(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *disks = shd_cfg_map_get(shd_cfg_map_get(c->root, "cache"), "disks");
    char path[SHD_CFG_PATH_MAX], need[32], show[SHD_CFG_SHOW_BUF];
    size_t i, j;

    for (i = 0; i < cfg->cache.n_disks; i++) {
        const struct shd_disk *d = &cfg->cache.disks[i];
        const struct shd_cfg_node *item = shd_cfg_seq_item(disks, i);

        /* a size or block size that did not parse is 0: reported already */
        if (d->size && d->size / 2 < cfg->cluster.block_size) {
            shd_cfg_fmt(path, sizeof(path), "cache.disks[%zu].size", i);
            shd_cfg_err(c, shd_cfg_line_of(item, "size", item ? item->line : 1), path,
                        "must be at least 2 x cluster.block_size (%s)",
                        shd_format_size(2 * cfg->cluster.block_size, need, sizeof(need)));
        }
        for (j = 0; d->path && j < i; j++) {
            if (cfg->cache.disks[j].path && strcmp(cfg->cache.disks[j].path, d->path) == 0) {
                shd_cfg_fmt(path, sizeof(path), "cache.disks[%zu].path", i);
                shd_cfg_err(c, shd_cfg_line_of(item, "path", item ? item->line : 1), path,
                            "duplicate disk path \"%s\" (first at line %u)",
                            shd_cfg_show(d->path, strlen(d->path), show, sizeof(show)),
                            shd_cfg_line_of(shd_cfg_seq_item(disks, j), "path", 1));
                break;
            }
        }
    }
}

/* cfg_check_unique: report items of the list KEY whose FIELD (a char *) was
 * seen before. WHAT names the field in messages. */
static void cfg_check_unique(struct shd_cfg_ctx *c, const char *list, const void *items, size_t n,
                             size_t elem, size_t off, const char *field, const char *what)
{
    const struct shd_cfg_node *seq = shd_cfg_map_get(c->root, list);
    char path[SHD_CFG_PATH_MAX], show[SHD_CFG_SHOW_BUF];
    size_t i, j;

    for (i = 0; i < n; i++) {
        const char *v = *(char *const *)((const char *)items + i * elem + off);

        for (j = 0; v && j < i; j++) {
            const char *w = *(char *const *)((const char *)items + j * elem + off);
            const struct shd_cfg_node *item = shd_cfg_seq_item(seq, i);
            unsigned first = shd_cfg_line_of(shd_cfg_seq_item(seq, j), field, 1);

            if (!w || strcmp(v, w) != 0)
                continue;
            shd_cfg_fmt(path, sizeof(path), "%s[%zu].%s", list, i, field);
            if (strcmp(v, "*") == 0)
                shd_cfg_err(c, shd_cfg_line_of(item, field, 1), path,
                            "only one pass-through mount \"*\" is allowed (first at line %u)",
                            first);
            else
                shd_cfg_err(c, shd_cfg_line_of(item, field, 1), path,
                            "duplicate %s \"%s\" (first at line %u)", what,
                            shd_cfg_show(v, strlen(v), show, sizeof(show)), first);
            break;
        }
    }
}

/* cfg_check_grants: every grant names a configured mount or "*". */
static void cfg_check_grants(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *seq = shd_cfg_map_get(c->root, "tenants");
    char path[SHD_CFG_PATH_MAX], show[SHD_CFG_SHOW_BUF];
    size_t i, j, m;

    for (i = 0; i < cfg->n_tenants; i++) {
        const struct shd_tenant *t = &cfg->tenants[i];
        const struct shd_cfg_node *allow = shd_cfg_map_get(shd_cfg_seq_item(seq, i), "allow");

        for (j = 0; j < t->n_allow; j++) {
            const char *name = t->allow[j].mount;
            const struct shd_cfg_node *item = shd_cfg_seq_item(allow, j);
            const char *near = NULL;
            unsigned bestd = 3;

            if (!name || strcmp(name, "*") == 0)
                continue;
            for (m = 0; m < cfg->n_mounts; m++) {
                const char *mn = cfg->mounts[m].name;
                unsigned d;

                if (!mn)
                    continue;
                if (strcmp(mn, name) == 0)
                    break;
                d = shd_cfg_edit_distance(name, strlen(name), mn, strlen(mn));
                if (d < bestd) {
                    bestd = d;
                    near = mn;
                }
            }
            if (m < cfg->n_mounts)
                continue;
            shd_cfg_fmt(path, sizeof(path), "tenants[%zu].allow[%zu].mount", i, j);
            shd_cfg_show(name, strlen(name), show, sizeof(show));
            if (near)
                shd_cfg_err(c, shd_cfg_line_of(item, "mount", 1), path,
                            "no mount named \"%s\" (did you mean \"%s\"?)", show, near);
            else
                shd_cfg_err(c, shd_cfg_line_of(item, "mount", 1), path,
                            "no mount named \"%s\" (name a mount, or \"*\" for every mount)", show);
        }
    }
}

/* cfg_check_backends: each names an s3:// mount (or "*", when there is
 * one), once per tenant. */
static void cfg_check_backends(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *seq = shd_cfg_map_get(c->root, "tenants");
    char path[SHD_CFG_PATH_MAX], show[SHD_CFG_SHOW_BUF];

    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct shd_tenant *t = &cfg->tenants[i];
        const struct shd_cfg_node *list = shd_cfg_map_get(shd_cfg_seq_item(seq, i), "backend");
        for (size_t j = 0; j < t->n_backend; j++) {
            const char *name = t->backend[j].mount;
            const struct shd_cfg_node *item = shd_cfg_seq_item(list, j);
            unsigned line = shd_cfg_line_of(item, "mount", item ? item->line : 1);
            size_t m;
            if (!name)
                continue;
            shd_cfg_fmt(path, sizeof(path), "tenants[%zu].backend[%zu].mount", i, j);
            shd_cfg_show(name, strlen(name), show, sizeof(show));
            for (m = 0; m < cfg->n_mounts; m++)
                if (cfg->mounts[m].name && strcmp(cfg->mounts[m].name, name) == 0)
                    break;
            if (m == cfg->n_mounts) {
                shd_cfg_err(c, line, path, "no mount named \"%s\"%s", show,
                            strcmp(name, "*") == 0 ? " (there is no pass-through mount \"*\")"
                                                   : "");
                continue;
            }
            if (cfg->mounts[m].ufs.kind != SHD_UFS_S3) {
                shd_cfg_err(c, line, path,
                            "mount \"%s\" is not an s3:// mount: it takes no credentials", show);
                continue;
            }
            for (size_t k = 0; k < j; k++)
                if (t->backend[k].mount && strcmp(t->backend[k].mount, name) == 0) {
                    shd_cfg_err(c, line, path,
                                "mount \"%s\" is named twice for this tenant (first at line %u)",
                                show, shd_cfg_line_of(shd_cfg_seq_item(list, k), "mount", 1));
                    break;
                }
        }
    }
}

/* cfg_check_gossip: a probe waits for its ack less than an interval. */
static void cfg_check_gossip(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *cl = shd_cfg_map_get(c->root, "cluster");
    char a[32], b[32];

    if (cfg->cluster.gossip.probe_timeout_ms < cfg->cluster.gossip.probe_interval_ms)
        return;
    shd_cfg_err(c, shd_cfg_line_of(cl, "gossip_probe_timeout", cl ? cl->line : 1),
                "cluster.gossip_probe_timeout",
                "%s must be less than cluster.gossip_probe_interval (%s)",
                shd_format_duration(cfg->cluster.gossip.probe_timeout_ms, a, sizeof(a)),
                shd_format_duration(cfg->cluster.gossip.probe_interval_ms, b, sizeof(b)));
}

/* cfg_check_tls: TLS keys come from the cluster keys, which must be secret. */
static void cfg_check_tls(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    const struct shd_cfg_node *cl = shd_cfg_map_get(c->root, "cluster");
    if (!cfg->cluster.tls || (cfg->cluster.secret_file && cfg->cluster.secret_file[0]))
        return;
    shd_cfg_err(c, shd_cfg_line_of(cl, "tls", cl ? cl->line : 1), "cluster.tls",
                "needs cluster.secret_file: without it the key is derived from cluster.name, "
                "which is no secret");
}

void shd_cfg_check_all(struct shd_cfg_ctx *c, const struct shd_config *cfg)
{
    cfg_check_listen(c, cfg);
    cfg_check_tls(c, cfg);
    cfg_check_gossip(c, cfg);
    cfg_check_disks(c, cfg);
    cfg_check_request_memory(c, cfg);
    cfg_check_backends(c, cfg);
    cfg_check_unique(c, "mounts", cfg->mounts, cfg->n_mounts, sizeof(struct shd_mount),
                     offsetof(struct shd_mount, name), "name", "mount name");
    cfg_check_unique(c, "tenants", cfg->tenants, cfg->n_tenants, sizeof(struct shd_tenant),
                     offsetof(struct shd_tenant, name), "name", "tenant name");
    cfg_check_unique(c, "tenants", cfg->tenants, cfg->n_tenants, sizeof(struct shd_tenant),
                     offsetof(struct shd_tenant, access_key), "access_key", "access key");
    cfg_check_grants(c, cfg);
}
