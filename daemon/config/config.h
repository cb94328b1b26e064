/* daemon/config/config.h: shoald's configuration: the parsed form of the one YAML
 * file (docs/config.md), its loader and the diagnostics it reports.
 *
 * Loading never stops at the first problem: every error found goes into a
 * struct shd_diag as one line "FILE:LINE: KEY: message", sorted by line.
 * The keys, types, bounds, defaults and doc lines live in one table
 * (daemon/config/config_table.c), from which docs/config.md is generated. */
#ifndef SHOAL_DAEMON_CONFIG_H
#define SHOAL_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Ceilings on untrusted input (STYLE rule 5). */
#define SHD_CONFIG_MAX_BYTES (1024 * 1024) /* larger files are refused */
#define SHD_DIAG_MAX 1000                  /* messages kept; the rest are counted */

/* ---- diagnostics ------------------------------------------------------- */

struct shd_diag_msg {
    unsigned line; /* 1-based; 0 when the message is about the whole file */
    char *text;    /* "FILE:LINE: KEY: message", no trailing newline */
};

struct shd_diag {
    struct shd_diag_msg *msgs; /* owned */
    size_t count;              /* messages in msgs */
    size_t cap;
    size_t dropped; /* messages past SHD_DIAG_MAX, counted only */
};

void shd_diag_init(struct shd_diag *d);
/* shd_diag_free: release the messages; D can be initialized again or reused. */
void shd_diag_free(struct shd_diag *d);
/* shd_diag_add: append "FILE:LINE: KEY: message". LINE 0 omits ":LINE";
 * KEY NULL or "" omits "KEY: ". */
void shd_diag_add(struct shd_diag *d, const char *file, unsigned line, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* shd_diag_print: one message per line, then a note on dropped messages. */
void shd_diag_print(const struct shd_diag *d, FILE *f);
/* shd_diag_errors: messages reported so far, stored or dropped. */
size_t shd_diag_errors(const struct shd_diag *d);

/* ---- configuration ----------------------------------------------------- */

/* The enum values follow the order of the choices in docs/config.md. */
enum shd_log_level { SHD_LOG_DEBUG, SHD_LOG_INFO, SHD_LOG_WARN, SHD_LOG_ERROR };
enum shd_eviction { SHD_EVICT_S3FIFO, SHD_EVICT_LRU };
enum shd_write_mode { SHD_WRITE_THROUGH, SHD_WRITE_READ_ONLY };
enum shd_access { SHD_ACCESS_READ, SHD_ACCESS_WRITE, SHD_ACCESS_READWRITE };
enum shd_ufs_kind { SHD_UFS_S3, SHD_UFS_FILE };
enum shd_cred_kind {
    SHD_CRED_ENV,      /* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
    SHD_CRED_FILE,     /* shared-credentials INI file: file, profile */
    SHD_CRED_ENV_VARS, /* named variables: access_key_env, secret_key_env */
};
enum shd_secret_src { SHD_SECRET_VALUE, SHD_SECRET_ENV, SHD_SECRET_FILE };

/* A listen or seed address. "[::1]:7400" gives host "::1"; ":7400" gives "". */
struct shd_addr {
    char *host;    /* "" = all addresses (listeners only); IPv6 without brackets */
    uint16_t port; /* 0 = any free port (listeners only) */
};

struct shd_disk {
    char *path;
    uint64_t size; /* bytes */
};

struct shd_ufs {
    enum shd_ufs_kind kind;
    char *uri;    /* as written */
    char *bucket; /* S3: the bucket; NULL for the pass-through mount "*" */
    char *prefix; /* S3: "" or a key prefix ending in '/' */
    char *path;   /* file: absolute directory, no trailing '/' (except "/") */
};

struct shd_credentials {
    enum shd_cred_kind kind;
    char *file;           /* SHD_CRED_FILE */
    char *profile;        /* SHD_CRED_FILE ("default" unless set) */
    char *access_key_env; /* SHD_CRED_ENV_VARS */
    char *secret_key_env; /* SHD_CRED_ENV_VARS */
};

struct shd_mount {
    char *name; /* the bucket name served, or "*" (pass every bucket through) */
    struct shd_ufs ufs;
    char *endpoint; /* "http(s)://..."; NULL = AWS */
    char *region;
    struct shd_credentials credentials;
    uint64_t metadata_ttl_ms;
    enum shd_write_mode write_mode;
    bool path_style;
};

struct shd_grant {
    char *mount;  /* a mount name, or "*" = every mount */
    char *prefix; /* key prefix, "" = the whole mount */
    enum shd_access access;
};

/* The S3 identity a tenant's requests to one mount use, instead of the
 * mount's own. */
struct shd_backend {
    char *mount; /* an s3:// mount's name, or "*" (the pass-through mount) */
    struct shd_credentials credentials;
};

struct shd_tenant {
    char *name;
    char *access_key;
    enum shd_secret_src secret_src; /* which one of the three below is set */
    char *secret_key;               /* SHD_SECRET_VALUE */
    char *secret_env;               /* SHD_SECRET_ENV: variable name */
    char *secret_file;              /* SHD_SECRET_FILE: path */
    struct shd_grant *allow;
    size_t n_allow;
    struct shd_backend *backend; /* none: the mounts' own credentials */
    size_t n_backend;
};

/* Strings are malloc'd and owned by the config; optional strings that are
 * not set are NULL. Sizes are bytes, durations milliseconds. */
struct shd_config {
    char *source; /* file name used in messages */
    struct {
        char *name; /* default: the host name */
        char *zone;
        char *data_dir;
        unsigned weight;
        enum shd_log_level log_level;
    } node;
    struct {
        struct shd_addr peer, s3, admin;
    } listen;
    struct {
        char *name;
        struct shd_addr *seeds;
        size_t n_seeds;
        unsigned replication;
        uint64_t block_size;
        char *secret_file;
        bool insecure;
        bool tls;
        struct shd_addr advertise; /* host NULL: worked out (daemon/cluster/cluster_join.c) */
        uint64_t drain_timeout_ms;
        uint64_t repair_rate;    /* bytes a second; 0: unpaced */
        unsigned hot_copy_after; /* fetches by a non-owner; 0: never */
        char *spot_notice_url;
        struct {
            uint64_t probe_interval_ms, probe_timeout_ms, interval_ms, pushpull_interval_ms;
            unsigned indirect_probes, fanout, suspicion_mult;
        } gossip;
    } cluster;
    struct {
        uint64_t memory;
        struct shd_disk *disks;
        size_t n_disks;
        enum shd_eviction eviction;
        unsigned max_fills;
        bool direct_io;
        uint64_t metadata_memory;
        uint64_t request_memory;
        uint64_t multipart_staging_ttl_ms;
    } cache;
    struct shd_mount *mounts; /* at least one */
    size_t n_mounts;
    struct shd_tenant *tenants; /* none = anonymous access (tests, local use) */
    size_t n_tenants;
};

/* shd_config_load_file: read and validate the YAML file PATH. On success
 * *OUT receives a config the caller owns (shd_config_free). On failure
 * returns SHD_ERR_IO (unreadable), SHD_ERR_TOOBIG (over
 * SHD_CONFIG_MAX_BYTES) or SHD_ERR_CONFIG, and DIAG holds every error. */
int shd_config_load_file(const char *path, struct shd_config **out, struct shd_diag *diag);

/* shd_config_load_buffer: the same for LEN bytes at BUF (not NUL-terminated
 * necessarily); NAME stands for the file name in messages. */
int shd_config_load_buffer(const char *name, const char *buf, size_t len, struct shd_config **out,
                           struct shd_diag *diag);

/* shd_config_free: release CFG and everything it owns; NULL is a no-op. */
void shd_config_free(struct shd_config *cfg);

/* shd_config_doc_write: print the Markdown reference (docs/config.md) to F.
 * Returns 0, or SHD_ERR_IO when writing failed. */
int shd_config_doc_write(FILE *f);

/* shd_config_example: the full example config shown in docs/config.md. */
const char *shd_config_example(void);

/* ---- value parsers (also used by the loader) ---------------------------- */

/* shd_parse_size: "4096", "4MiB", "4 mib", "1.5GiB", "10GB" to bytes. On
 * failure returns SHD_ERR_INVAL and writes the reason into WHY (WHY_LEN
 * bytes, may be 0). *OUT is written only on success. */
int shd_parse_size(const char *s, uint64_t *out, char *why, size_t why_len);

/* shd_parse_duration: "500ms", "90s", "1.5h", "1d" to milliseconds; a
 * number needs a unit. Same conventions as shd_parse_size. */
int shd_parse_duration(const char *s, uint64_t *out_ms, char *why, size_t why_len);

/* shd_format_size / shd_format_duration: the shortest exact form of a value
 * ("64KiB", "4MiB", "90s", "1h", "1500ms") into BUF. Return BUF. */
char *shd_format_size(uint64_t bytes, char *buf, size_t len);
char *shd_format_duration(uint64_t ms, char *buf, size_t len);

#endif
