/* daemon/config/config_table.c: the one table of configuration keys (STYLE rule 8)
 * and docs/config.md, generated from it by shd_config_doc_write().
 *
 * Each row gives a key's path, type, bounds, default and doc line; the
 * loader (config.c) reads, checks, defaults and frees by these rows, so the
 * reference cannot drift from the code. After editing a row, regenerate:
 *     build/shoald --print-config-doc > docs/config.md
 * (test_config fails while docs/config.md differs). */
#include "daemon/config/config_int.h"
#include "daemon/err.h"

#include <string.h>

#define CFG_KIB (1ULL << 10)
#define CFG_MIB (1ULL << 20)
#define CFG_TIB (1ULL << 40)
#define CFG_SEC 1000ULL
#define CFG_DAY (24ULL * 3600 * CFG_SEC)

#define CFG_OFF(f) offsetof(struct shd_config, f)
#define CFG_MNT(f) offsetof(struct shd_mount, f)
#define CFG_CRED(f) offsetof(struct shd_credentials, f)
#define CFG_TEN(f) offsetof(struct shd_tenant, f)
#define CFG_GRANT(f) offsetof(struct shd_grant, f)
#define CFG_BACK(f) offsetof(struct shd_backend, f)

/* The keys of a credentials map (SHD_CFG_CREDENTIALS) at path P: the same
 * wherever credentials are given (mounts, tenants' backends). */
// clang-format off
#define CFG_CREDENTIAL_KEYS(P)                                                                     \
    {.path = P ".file",                                                                            \
     .type = SHD_CFG_PATH,                                                                         \
     .min = 1,                                                                                     \
     .max = 4095,                                                                                  \
     .off = CFG_CRED(file),                                                                        \
     .doc = "AWS shared-credentials file (INI, like `~/.aws/credentials`)."},                      \
    {.path = P ".profile",                                                                         \
     .type = SHD_CFG_NAME,                                                                         \
     .min = 1,                                                                                     \
     .max = 64,                                                                                    \
     .def = "default",                                                                             \
     .off = CFG_CRED(profile),                                                                     \
     .doc = "Profile (section) of `file` to use."},                                                \
    {.path = P ".access_key_env",                                                                  \
     .type = SHD_CFG_ENVVAR,                                                                       \
     .min = 1,                                                                                     \
     .max = 255,                                                                                   \
     .off = CFG_CRED(access_key_env),                                                              \
     .doc = "Environment variable holding the access key id; goes with `secret_key_env`."},        \
    {.path = P ".secret_key_env",                                                                  \
     .type = SHD_CFG_ENVVAR,                                                                       \
     .min = 1,                                                                                     \
     .max = 255,                                                                                   \
     .off = CFG_CRED(secret_key_env),                                                              \
     .doc = "Environment variable holding the secret access key."}
// clang-format on

/* SHD_CFG_ENUM stores an int: the enums must be int-sized. */
_Static_assert(sizeof(enum shd_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum shd_eviction) == sizeof(int), "enum size");
_Static_assert(sizeof(enum shd_write_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum shd_access) == sizeof(int), "enum size");

const struct shd_cfg_key shd_cfg_keys[] = {
    /* ---- node ---- */
    {.path = "node",
     .type = SHD_CFG_SECTION,
     .doc = "This node: its name, failure zone, state directory and share of the ring."},
    {.path = "node.name",
     .type = SHD_CFG_NAME,
     .flags = SHD_CFG_F_HOSTNAME,
     .min = 1,
     .max = 64,
     .off = CFG_OFF(node.name),
     .doc = "Name of the node in the cluster, shown by `shoal ring`, in logs and in metrics. "
            "Unique in the cluster."},
    {.path = "node.zone",
     .type = SHD_CFG_NAME,
     .min = 1,
     .max = 64,
     .def = "default",
     .off = CFG_OFF(node.zone),
     .doc = "Failure zone (rack, availability zone). The replicas of a block go to distinct "
            "zones when there are enough of them."},
    {.path = "node.data_dir",
     .type = SHD_CFG_PATH,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 4095,
     .off = CFG_OFF(node.data_dir),
     .doc = "Directory for the node's own state: the node id that lets a restarted node take "
            "back its ring positions, and the cache index."},
    {.path = "node.weight",
     .type = SHD_CFG_INT,
     .min = 1,
     .max = 256,
     .def = "1",
     .off = CFG_OFF(node.weight),
     .doc = "Share of the ring: the node owns about weight / (sum of all weights) of the "
            "blocks. Make it follow cache capacity (for example 1 per 100 GiB) so that nodes "
            "fill evenly."},
    {.path = "node.log_level",
     .type = SHD_CFG_ENUM,
     .def = "info",
     .choices = "debug|info|warn|error",
     .off = CFG_OFF(node.log_level),
     .doc = "Least severe level that is logged."},

    /* ---- listen ---- */
    {.path = "listen",
     .type = SHD_CFG_SECTION,
     .doc = "Addresses shoald listens on, each `host:port`, `[IPv6]:port` or `:port` (all "
            "addresses). Port 0 takes any free port (for tests). Non-zero ports must differ."},
    {.path = "listen.peer",
     .type = SHD_CFG_ADDR,
     .def = "0.0.0.0:7400",
     .off = CFG_OFF(listen.peer),
     .doc = "Peer traffic: cluster membership (gossip), block transfers between nodes and "
            "requests from libshoal clients."},
    {.path = "listen.s3",
     .type = SHD_CFG_ADDR,
     .def = "0.0.0.0:7480",
     .off = CFG_OFF(listen.s3),
     .doc = "S3 gateway (HTTP, path-style addressing): point aws-cli, boto3, Trino or Spark "
            "here."},
    {.path = "listen.admin",
     .type = SHD_CFG_ADDR,
     .def = "127.0.0.1:7490",
     .off = CFG_OFF(listen.admin),
     .doc = "Admin HTTP: `/healthz`, `/readyz`, `/metrics`, `/status`, `/v1/ring`. It has no "
            "authentication, hence loopback by default."},

    /* ---- cluster ---- */
    {.path = "cluster", .type = SHD_CFG_SECTION, .doc = "The cluster this node belongs to."},
    {.path = "cluster.name",
     .type = SHD_CFG_NAME,
     .min = 1,
     .max = 64,
     .def = "shoal",
     .off = CFG_OFF(cluster.name),
     .doc = "Cluster name. Nodes only join peers with the same name, so two clusters on one "
            "network stay apart."},
    {.path = "cluster.seeds",
     .type = SHD_CFG_ADDR_LIST,
     .max = 256,
     .off = CFG_OFF(cluster.seeds),
     .off_n = CFG_OFF(cluster.n_seeds),
     .doc = "Peer addresses (`host:port`, the peers' `listen.peer`) contacted to join the "
            "cluster. Any live member will do; list a few. Empty on the first node, which "
            "starts a cluster of one."},
    {.path = "cluster.replication",
     .type = SHD_CFG_INT,
     .min = 1,
     .max = 7,
     .def = "2",
     .off = CFG_OFF(cluster.replication),
     .doc = "Copies of each cached block, on distinct nodes and, when possible, distinct "
            "zones."},
    {.path = "cluster.block_size",
     .type = SHD_CFG_SIZE,
     .flags = SHD_CFG_F_POW2,
     .min = 64 * CFG_KIB,
     .max = 64 * CFG_MIB,
     .def = "4MiB",
     .off = CFG_OFF(cluster.block_size),
     .doc = "Objects are cached in blocks of this size, the unit of placement, fill and "
            "eviction. All nodes of a cluster must use the same value."},
    {.path = "cluster.secret_file",
     .type = SHD_CFG_PATH,
     .min = 1,
     .max = 4095,
     .off = CFG_OFF(cluster.secret_file),
     .doc = "File holding the cluster keys that seal (AES-256-GCM) gossip and peer messages: "
            "one key per line, base64 as `shoal keygen` prints it; the first seals, all open, "
            "so keys rotate without downtime (docs/cluster.md). Unset: messages are sealed "
            "with a key derived from `cluster.name`, which keeps clusters apart but is no "
            "secret, and only loopback peers are joined unless `cluster.insecure` is set."},
    {.path = "cluster.insecure",
     .type = SHD_CFG_BOOL,
     .def = "false",
     .off = CFG_OFF(cluster.insecure),
     .doc = "Without `cluster.secret_file`, gossip with peers that are not on loopback anyway. "
            "Only on a network you trust: anyone who can reach `listen.peer` can join."},
    {.path = "cluster.tls",
     .type = SHD_CFG_BOOL,
     .def = "false",
     .off = CFG_OFF(cluster.tls),
     .doc = "Encrypt the peer protocol (block data, metadata, writes told) with TLS 1.3 and "
            "an external pre-shared key derived from the cluster keys: no certificates. A "
            "node accepts only TLS peers then, so turn it on for every node at once. Needs "
            "`cluster.secret_file`. Gossip is sealed either way."},
    {.path = "cluster.advertise",
     .type = SHD_CFG_ADDR,
     .off = CFG_OFF(cluster.advertise),
     .doc = "The address (`ip:port`) other members reach this node's `listen.peer` at, when "
            "it is not the bound one (NAT, containers). Unset: `listen.peer`'s host when it is "
            "not a wildcard, else the local address of the route to the first seed, else the "
            "first interface's. Port 0 or unset: the bound port."},
    {.path = "cluster.gossip_probe_interval",
     .type = SHD_CFG_DURATION,
     .min = 10,
     .max = 60 * CFG_SEC,
     .def = "250ms",
     .off = CFG_OFF(cluster.gossip.probe_interval_ms),
     .doc = "Each node probes one member per interval (SWIM); a failed node is suspected "
            "within about two intervals. Longer: less traffic, slower detection."},
    {.path = "cluster.gossip_probe_timeout",
     .type = SHD_CFG_DURATION,
     .min = 5,
     .max = 30 * CFG_SEC,
     .def = "100ms",
     .off = CFG_OFF(cluster.gossip.probe_timeout_ms),
     .doc = "How long a probe waits for the direct ack before asking others to probe "
            "(indirect probes). Less than `cluster.gossip_probe_interval`; above the network's "
            "round trip."},
    {.path = "cluster.gossip_indirect_probes",
     .type = SHD_CFG_INT,
     .min = 0,
     .max = 16,
     .def = "5",
     .off = CFG_OFF(cluster.gossip.indirect_probes),
     .doc = "Members asked to probe a member that did not answer, before it is suspected."},
    {.path = "cluster.gossip_suspicion_mult",
     .type = SHD_CFG_INT,
     .min = 1,
     .max = 64,
     .def = "2",
     .off = CFG_OFF(cluster.gossip.suspicion_mult),
     .doc = "A suspect is declared dead after mult x log10(members) probe intervals once "
            "two others confirm (up to 6 times that when no one does; Lifeguard)."},
    {.path = "cluster.gossip_interval",
     .type = SHD_CFG_DURATION,
     .min = 5,
     .max = 60 * CFG_SEC,
     .def = "100ms",
     .off = CFG_OFF(cluster.gossip.interval_ms),
     .doc = "While membership news is queued, it is also sent to `cluster.gossip_fanout` "
            "random members this often (besides riding on probes)."},
    {.path = "cluster.gossip_fanout",
     .type = SHD_CFG_INT,
     .min = 1,
     .max = 16,
     .def = "3",
     .off = CFG_OFF(cluster.gossip.fanout),
     .doc = "Members each gossip round goes to."},
    {.path = "cluster.gossip_pushpull_interval",
     .type = SHD_CFG_DURATION,
     .min = CFG_SEC,
     .max = 3600 * CFG_SEC,
     .def = "30s",
     .off = CFG_OFF(cluster.gossip.pushpull_interval_ms),
     .doc = "Full-state exchange with a random member over TCP (stretched by members / 32 "
            "above 32 members, so each node's traffic stays flat)."},
    {.path = "cluster.drain_timeout",
     .type = SHD_CFG_DURATION,
     .min = CFG_SEC,
     .max = 3600 * CFG_SEC,
     .def = "90s",
     .off = CFG_OFF(cluster.drain_timeout_ms),
     .doc = "How long a draining node (SIGTERM, `POST /v1/drain`, a spot notice) may spend handing "
            "its blocks to their next owners before it exits."},
    {.path = "cluster.repair_rate",
     .type = SHD_CFG_SIZE,
     .min = 0,
     .max = 1ull << 40,
     .def = "256MiB",
     .off = CFG_OFF(cluster.repair_rate),
     .doc = "Bytes a second a node gives to other owners after the ring changes (restoring "
            "R copies after a node is lost, warming a node that joined). 0: as fast as the "
            "network goes. A drain is not held to it."},
    {.path = "cluster.hot_copy_after",
     .type = SHD_CFG_INT,
     .min = 0,
     .max = 15,
     .def = "8",
     .off = CFG_OFF(cluster.hot_copy_after),
     .doc = "A node that owns no copy of a block and has fetched it from its owners this many "
            "times in about 10 s keeps a copy too, so the hottest blocks of a skewed load are "
            "served by every node asked for them, not by their R owners alone. 0: never."},
    {.path = "cluster.spot_notice_url",
     .type = SHD_CFG_URL,
     .min = 1,
     .max = 2048,
     .off = CFG_OFF(cluster.spot_notice_url),
     .doc = "URL polled for a spot or preemption notice, e.g. "
            "`http://169.254.169.254/latest/meta-data/spot/instance-action`; a notice starts a "
            "drain. Unset: nothing is polled."},

    /* ---- cache ---- */
    {.path = "cache", .type = SHD_CFG_SECTION, .doc = "Where this node keeps cached blocks."},
    {.path = "cache.memory",
     .type = SHD_CFG_SIZE,
     .min = 0,
     .max = CFG_TIB,
     .def = "256MiB",
     .off = CFG_OFF(cache.memory),
     .doc = "Size of the memory tier. `0` turns it off."},
    {.path = "cache.disks",
     .type = SHD_CFG_LIST,
     .max = 64,
     .off = CFG_OFF(cache.disks),
     .off_n = CFG_OFF(cache.n_disks),
     .elem_size = sizeof(struct shd_disk),
     .doc = "The disk tier, one entry per directory. It survives restarts. Empty: memory "
            "only."},
    {.path = "cache.disks[].path",
     .type = SHD_CFG_PATH,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 4095,
     .off = offsetof(struct shd_disk, path),
     .doc = "Directory for the block files, best on a file system of its own. Paths must "
            "differ."},
    {.path = "cache.disks[].size",
     .type = SHD_CFG_SIZE,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 128 * CFG_KIB,
     .max = 1024 * CFG_TIB,
     .off = offsetof(struct shd_disk, size),
     .doc = "Space the disk tier may use in `path`; at least 2 x `cluster.block_size`."},
    {.path = "cache.eviction",
     .type = SHD_CFG_ENUM,
     .def = "s3fifo",
     .choices = "s3fifo|lru",
     .off = CFG_OFF(cache.eviction),
     .doc = "Eviction policy: `s3fifo` resists one-off scans; `lru` is the classic."},
    {.path = "cache.max_fills",
     .type = SHD_CFG_INT,
     .min = 1,
     .max = 4096,
     .def = "64",
     .off = CFG_OFF(cache.max_fills),
     .doc = "Cap on this node's concurrent S3 requests; further fills wait for a slot."},
    {.path = "cache.metadata_memory",
     .type = SHD_CFG_SIZE,
     .min = CFG_MIB,
     .max = CFG_TIB,
     .def = "64MiB",
     .off = CFG_OFF(cache.metadata_memory),
     .doc = "Memory for object metadata (size, ETag, Content-Type of each object read), "
            "about 200 bytes an object with its key: 64 MiB holds some 300,000 objects. The "
            "oldest entries go first; an object whose entry is gone costs one HEAD on its next "
            "read."},
    {.path = "cache.request_memory",
     .type = SHD_CFG_SIZE,
     .min = 48 * CFG_MIB,
     .max = CFG_TIB,
     .def = "256MiB",
     .off = CFG_OFF(cache.request_memory),
     .doc = "Memory that requests may make the node hold at once, beyond the memory tier: "
            "blocks being filled from S3, uploads' buffers on their way to S3, bytes of "
            "uploads kept to cache them on write, request bodies read whole, and blocks the "
            "memory tier evicted while responses or disk writes still hold them. A request "
            "whose memory is not to be had is refused with 503 `SlowDown` (clients retry); "
            "fills wait for memory while others run; uploads are cached on write only while "
            "half of it is free. At least 4 x `cluster.block_size` + 48 MiB (a fill of 4 blocks "
            "and the S3 "
            "buffers of one large upload)."},
    {.path = "cache.multipart_staging_ttl",
     .type = SHD_CFG_DURATION,
     .min = CFG_SEC,
     .max = 7 * 24 * 3600 * CFG_SEC,
     .def = "1h",
     .off = CFG_OFF(cache.multipart_staging_ttl_ms),
     .doc = "How long the parts of a multipart upload are kept, since its last part, to "
            "cache the object when the upload completes. An upload neither completed nor "
            "aborted by then is dropped from staging (the upload itself is S3's) and its "
            "memory freed."},
    {.path = "cache.direct_io",
     .type = SHD_CFG_BOOL,
     .def = "true",
     .off = CFG_OFF(cache.direct_io),
     .doc = "Write and read block files of 64 KiB and more with `O_DIRECT`, past the page "
            "cache: the memory tier is the RAM cache, and copying every block into the page "
            "cache as well costs CPU and memory. A disk whose file system refuses `O_DIRECT` "
            "(tmpfs, some network file systems) uses buffered I/O, logged once."},

    /* ---- mounts ---- */
    {.path = "mounts",
     .type = SHD_CFG_LIST,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 1024,
     .off = CFG_OFF(mounts),
     .off_n = CFG_OFF(n_mounts),
     .elem_size = sizeof(struct shd_mount),
     .doc = "What is cached: each mount serves an under file system (ufs) as one bucket of "
            "the S3 gateway. At least one."},
    {.path = "mounts[].name",
     .type = SHD_CFG_MOUNT_NAME,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 255,
     .off = CFG_MNT(name),
     .doc = "The bucket name the S3 gateway serves this mount as: 3 to 63 lowercase letters, "
            "digits, `-` and `.`, starting and ending with a letter or digit. Or `*`: every "
            "bucket of the endpoint is passed through under its own name (and CreateBucket, "
            "DeleteBucket, ListBuckets go to the endpoint); named mounts take precedence. "
            "Unique; at most one `*`."},
    {.path = "mounts[].ufs",
     .type = SHD_CFG_UFS,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 2048,
     .off = CFG_MNT(ufs),
     .doc = "Where the data lives: `s3://BUCKET/PREFIX/`, `s3://BUCKET`, or `file:///DIR` (a "
            "local directory); `s3://` alone for the mount `*`. A prefix gets a final `/` if "
            "it has none."},
    {.path = "mounts[].endpoint",
     .type = SHD_CFG_URL,
     .min = 1,
     .max = 2048,
     .off = CFG_MNT(endpoint),
     .doc = "S3 endpoint (`http://` or `https://` URL) of MinIO, Ceph or another S3-compatible "
            "store. Unset: AWS S3 in `region`. Not for `file://` mounts."},
    {.path = "mounts[].region",
     .type = SHD_CFG_NAME,
     .min = 1,
     .max = 64,
     .def = "us-east-1",
     .off = CFG_MNT(region),
     .doc = "Region that requests are signed for (SigV4)."},
    {.path = "mounts[].credentials",
     .type = SHD_CFG_CREDENTIALS,
     .def = "env",
     .off = CFG_MNT(credentials),
     .doc = "How S3 requests are signed. `env`: from `AWS_ACCESS_KEY_ID`, "
            "`AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. Or a map with `file` (and "
            "`profile`), or with `access_key_env` and `secret_key_env`. A `file://` mount "
            "takes none (or `env`, ignored)."},
    CFG_CREDENTIAL_KEYS("mounts[].credentials"),
    {.path = "mounts[].metadata_ttl",
     .type = SHD_CFG_DURATION,
     .min = 0,
     .max = CFG_DAY,
     .def = "60s",
     .off = CFG_MNT(metadata_ttl_ms),
     .doc = "How long object metadata (size, ETag) is trusted before it is checked again. "
            "Writes through shoal update it at once; changes made straight to the ufs show "
            "after at most this long. An object read in the last quarter of it is checked "
            "in the background, so a hot object's reads never wait for the check. `0s`: check "
            "on every open."},
    {.path = "mounts[].write_mode",
     .type = SHD_CFG_ENUM,
     .def = "through",
     .choices = "through|read-only",
     .off = CFG_MNT(write_mode),
     .doc = "`through`: writes go to the ufs, then to the cache. `read-only`: writes are "
            "refused."},
    {.path = "mounts[].path_style",
     .type = SHD_CFG_BOOL,
     .def = "true",
     .off = CFG_MNT(path_style),
     .doc = "Address the endpoint path-style (`https://endpoint/bucket/key`) instead of "
            "virtual-host style (`https://bucket.endpoint/key`). MinIO and most S3-compatible "
            "stores need `true`."},

    /* ---- tenants ---- */
    {.path = "tenants",
     .type = SHD_CFG_LIST,
     .max = 4096,
     .off = CFG_OFF(tenants),
     .off_n = CFG_OFF(n_tenants),
     .elem_size = sizeof(struct shd_tenant),
     .doc = "Who may use the S3 gateway: each tenant signs requests (SigV4) with its access "
            "key and secret, and may do what its grants allow. **Absent or empty: the gateway "
            "allows anonymous access to every mount. That is for tests and local use only.**"},
    {.path = "tenants[].name",
     .type = SHD_CFG_NAME,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 64,
     .off = CFG_TEN(name),
     .doc = "Tenant name, for logs and metrics. Unique."},
    {.path = "tenants[].access_key",
     .type = SHD_CFG_NAME,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 3,
     .max = 128,
     .off = CFG_TEN(access_key),
     .doc = "Access key id the tenant signs with. Unique."},
    {.path = "tenants[].secret_key",
     .type = SHD_CFG_SECRET,
     .min = 1,
     .max = 256,
     .off = CFG_TEN(secret_key),
     .doc = "The secret key, written in this file (keep the file private). Exactly one of "
            "`secret_key`, `secret_env` and `secret_file` is required."},
    {.path = "tenants[].secret_env",
     .type = SHD_CFG_ENVVAR,
     .min = 1,
     .max = 255,
     .off = CFG_TEN(secret_env),
     .doc = "Environment variable holding the secret key."},
    {.path = "tenants[].secret_file",
     .type = SHD_CFG_PATH,
     .min = 1,
     .max = 4095,
     .off = CFG_TEN(secret_file),
     .doc = "File holding the secret key."},
    {.path = "tenants[].allow",
     .type = SHD_CFG_LIST,
     .max = 256,
     .off = CFG_TEN(allow),
     .off_n = CFG_TEN(n_allow),
     .elem_size = sizeof(struct shd_grant),
     .doc = "Grants: what the tenant may read or write. Without any, the tenant is refused "
            "everything."},
    {.path = "tenants[].allow[].mount",
     .type = SHD_CFG_STR,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 63,
     .off = CFG_GRANT(mount),
     .doc = "Name of a mount, or `*` for every mount and every passed-through bucket."},
    {.path = "tenants[].allow[].prefix",
     .type = SHD_CFG_STR,
     .min = 0,
     .max = 1024,
     .def = "",
     .off = CFG_GRANT(prefix),
     .doc = "Only keys starting with this prefix; empty for the whole mount."},
    {.path = "tenants[].allow[].access",
     .type = SHD_CFG_ENUM,
     .def = "read",
     .choices = "read|write|readwrite",
     .off = CFG_GRANT(access),
     .doc = "`read` (GET, HEAD, list), `write` (PUT, DELETE, multipart uploads) or `readwrite`."},
    {.path = "tenants[].backend",
     .type = SHD_CFG_LIST,
     .max = 64,
     .off = CFG_TEN(backend),
     .off_n = CFG_TEN(n_backend),
     .elem_size = sizeof(struct shd_backend),
     .doc = "The S3 identity this tenant's requests to a mount use, instead of the mount's "
            "own credentials, so tenants of one gateway keep their own S3 accounts: S3 "
            "decides what each may read, write, list and copy. Their cached data is kept apart "
            "too (a tenant never reads from the cache what its own credentials could not read "
            "from S3). Empty: the mounts' credentials."},
    {.path = "tenants[].backend[].mount",
     .type = SHD_CFG_STR,
     .flags = SHD_CFG_F_REQUIRED,
     .min = 1,
     .max = 63,
     .off = CFG_BACK(mount),
     .doc = "An `s3://` mount's name, or `*` for the pass-through mount."},
    {.path = "tenants[].backend[].credentials",
     .type = SHD_CFG_CREDENTIALS,
     .flags = SHD_CFG_F_REQUIRED,
     .off = CFG_BACK(credentials),
     .doc = "As `mounts[].credentials`: `env`, or a map with `file` (and `profile`), or with "
            "`access_key_env` and `secret_key_env`."},
    CFG_CREDENTIAL_KEYS("tenants[].backend[].credentials"),
};

const size_t shd_cfg_n_keys = sizeof(shd_cfg_keys) / sizeof(shd_cfg_keys[0]);

_Static_assert(sizeof(shd_cfg_keys) / sizeof(shd_cfg_keys[0]) <= SHD_CFG_KEYS_MAX,
               "raise SHD_CFG_KEYS_MAX");

const char *shd_cfg_key_leaf(const struct shd_cfg_key *k)
{
    const char *dot = strrchr(k->path, '.');

    return dot ? dot + 1 : k->path;
}

int shd_cfg_key_in_scope(const struct shd_cfg_key *k, const char *scope)
{
    size_t n = strlen(scope);

    if (n == 0)
        return strchr(k->path, '.') == NULL;
    return strncmp(k->path, scope, n) == 0 && k->path[n] == '.' && !strchr(k->path + n + 1, '.');
}

const struct shd_cfg_key *shd_cfg_key_find(const char *scope, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];
        const char *leaf = shd_cfg_key_leaf(k);

        if (strlen(leaf) == len && memcmp(leaf, name, len) == 0 && shd_cfg_key_in_scope(k, scope))
            return k;
    }
    return NULL;
}

/* ---- docs/config.md ------------------------------------------------------ */

static const char cfg_example[] =
    "node:\n"
    "  name: cache-a1\n"
    "  zone: eu-west-1a\n"
    "  data_dir: /var/lib/shoal\n"
    "  weight: 4                       # 4 x 100 GiB of cache below\n"
    "  log_level: info\n"
    "\n"
    "listen:\n"
    "  peer: 0.0.0.0:7400\n"
    "  s3: 0.0.0.0:7480\n"
    "  admin: 127.0.0.1:7490\n"
    "\n"
    "cluster:\n"
    "  name: analytics\n"
    "  seeds: [cache-a1.internal:7400, cache-b1.internal:7400, cache-c1.internal:7400]\n"
    "  replication: 2\n"
    "  block_size: 4MiB\n"
    "  secret_file: /etc/shoal/cluster.key\n"
    "  drain_timeout: 90s\n"
    "  spot_notice_url: http://169.254.169.254/latest/meta-data/spot/instance-action\n"
    "\n"
    "cache:\n"
    "  memory: 16GiB\n"
    "  disks:\n"
    "    - path: /mnt/nvme0/shoal\n"
    "      size: 200GiB\n"
    "    - path: /mnt/nvme1/shoal\n"
    "      size: 200GiB\n"
    "  eviction: s3fifo\n"
    "  max_fills: 64\n"
    "\n"
    "mounts:\n"
    "  - name: lakehouse                 # served as bucket \"lakehouse\"\n"
    "    ufs: s3://acme-lakehouse-prod/warehouse/\n"
    "    region: eu-west-1\n"
    "    credentials: env\n"
    "    metadata_ttl: 60s\n"
    "    write_mode: through\n"
    "  - name: raw\n"
    "    ufs: s3://raw-events\n"
    "    endpoint: https://minio.internal:9000\n"
    "    credentials:\n"
    "      file: /etc/shoal/minio.credentials\n"
    "      profile: shoal\n"
    "    path_style: true\n"
    "    write_mode: read-only\n"
    "  - name: reference\n"
    "    ufs: file:///srv/reference-data\n"
    "    metadata_ttl: 10m\n"
    "  - name: \"*\"                       # every other bucket, passed through\n"
    "    ufs: s3://\n"
    "    region: eu-west-1\n"
    "    credentials:\n"
    "      access_key_env: PASSTHROUGH_ACCESS_KEY_ID\n"
    "      secret_key_env: PASSTHROUGH_SECRET_ACCESS_KEY\n"
    "\n"
    "tenants:\n"
    "  - name: trino\n"
    "    access_key: TRINOACCESSKEY01\n"
    "    secret_env: SHOAL_TRINO_SECRET\n"
    "    allow:\n"
    "      - mount: lakehouse\n"
    "        access: read\n"
    "      - mount: raw\n"
    "        prefix: events/2024/\n"
    "  - name: etl\n"
    "    access_key: ETLACCESSKEY0001\n"
    "    secret_file: /etc/shoal/etl.secret\n"
    "    allow:\n"
    "      - mount: \"*\"\n"
    "        access: readwrite\n";

const char *shd_config_example(void)
{
    return cfg_example;
}

static const char cfg_doc_intro[] =
    "<!-- Generated by `shoald --print-config-doc` from daemon/config/config_table.c: do not "
    "edit.\n"
    "     Change the table, then run `build/shoald --print-config-doc > docs/config.md`;\n"
    "     test_config fails while this file and the table differ. -->\n"
    "\n"
    "# shoald configuration\n"
    "\n"
    "`shoald` reads one YAML file: `shoald -c /etc/shoal/shoald.yaml`.\n"
    "`shoald --check-config -c FILE` reads it, prints every problem and exits\n"
    "(see [shoald.md](shoald.md)). The smallest valid file names a state\n"
    "directory and one mount:\n"
    "\n"
    "```yaml\n"
    "node:\n"
    "  data_dir: /var/lib/shoal\n"
    "mounts:\n"
    "  - name: lakehouse\n"
    "    ufs: s3://acme-lakehouse-prod/warehouse/\n"
    "```\n"
    "\n"
    "Everything else has a default. A [full example](#full-example) is at the end.\n"
    "\n"
    "## Writing values\n"
    "\n"
    "- **Sizes**: a whole number of bytes (`4096`) or a number and a unit, with\n"
    "  or without a space: binary `B`, `KiB`, `MiB`, `GiB`, `TiB` or decimal\n"
    "  `KB`, `MB`, `GB`, `TB`; units ignore case (`4mib`). A fraction is\n"
    "  allowed when the result is a whole number of bytes (`1.5GiB` yes,\n"
    "  `0.3KiB` no). Negative values are refused.\n"
    "- **Durations**: a number and one unit: `ms`, `s`, `m`, `h`, `d` (`500ms`,\n"
    "  `90s`, `1.5h`). A bare number is an error (\"missing unit\"), `0` too:\n"
    "  write `0s`. Units are lowercase; compound forms such as `1h30m` are not\n"
    "  accepted (write `90m`).\n"
    "- **Booleans**: `true`, `false`, `yes`, `no` (any case).\n"
    "- **Addresses**: `host:port`, `[IPv6]:port`, or `:port` for all addresses.\n"
    "- **Strings** are read as the key's type says, so `region: no` is the\n"
    "  string `no`. Quote a value that holds `:` followed by a space, or starts\n"
    "  with `*`, `&`, `!`, `[`, `{`, `#`, `'` or `\"`.\n"
    "- **Empty values**: `key:` with nothing, `~` or `null` count as absent, so\n"
    "  the default applies (or the key is reported missing if required).\n"
    "- **Paths** that are relative are taken from shoald's working directory;\n"
    "  use absolute paths.\n"
    "- **YAML features**: one document per file. Anchors (`&a`), aliases\n"
    "  (`*a`), merge keys (`<<`) and tags (`!!str`) are refused: every value is\n"
    "  written where it applies, so every error points at the one line to fix\n"
    "  (and a small file cannot expand into a huge one). Files are limited to\n"
    "  1 MiB.\n"
    "\n"
    "## Errors\n"
    "\n"
    "All problems are reported in one run, sorted by line, one per line, as\n"
    "`FILE:LINE: KEY: message`; list items count from 0:\n"
    "\n"
    "```\n"
    "shoald.yaml:3: node.wieght: unknown key (did you mean \"weight\"?)\n"
    "shoald.yaml:9: cluster.block_size: 3MiB is not a power of two\n"
    "shoald.yaml:14: mounts[1].ufs: invalid ufs \"s3:/raw\": expected s3://BUCKET/PREFIX/, "
    "s3://BUCKET or file:///DIR\n"
    "shoald.yaml:21: tenants[0].allow[1].mount: no mount named \"lakehose\" (did you mean "
    "\"lakehouse\"?)\n"
    "```\n"
    "\n"
    "A YAML syntax error is the exception: the parser cannot go past it, so it\n"
    "is reported alone.\n"
    "\n"
    "## Anonymous access\n"
    "\n"
    "**Without `tenants` (or with an empty list) the S3 gateway serves every\n"
    "mount to anyone who can reach `listen.s3`, without authentication.** That\n"
    "is meant for tests and local use only; `shoald` prints a warning when it\n"
    "starts or checks such a file.\n"
    "\n"
    "## Keys\n"
    "\n"
    "Each key below is given with its type, its default (or required) and\n"
    "what it does. In lists, `[]` stands for each item.\n";

/* cfg_doc_type: the type column of K, e.g. "integer 1..256". */
static void cfg_doc_type(const struct shd_cfg_key *k, char *buf, size_t len)
{
    char lo[32], hi[32], list[192];
    size_t i, o = 0;

    switch (k->type) {
    case SHD_CFG_SECTION:
        snprintf(buf, len, "map");
        break;
    case SHD_CFG_LIST:
        snprintf(buf, len, "list of maps, %s%llu items", k->min ? "" : "at most ",
                 (unsigned long long)k->max);
        if (k->min)
            snprintf(buf, len, "list of maps, %llu..%llu items", (unsigned long long)k->min,
                     (unsigned long long)k->max);
        break;
    case SHD_CFG_ADDR_LIST:
        snprintf(buf, len, "list of addresses, at most %llu", (unsigned long long)k->max);
        break;
    case SHD_CFG_STR:
        snprintf(buf, len, "string, %llu..%llu characters", (unsigned long long)k->min,
                 (unsigned long long)k->max);
        break;
    case SHD_CFG_NAME:
        snprintf(buf, len, "name (letters, digits, `.`, `_`, `-`), %llu..%llu characters",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        break;
    case SHD_CFG_PATH:
        snprintf(buf, len, "path");
        break;
    case SHD_CFG_ENVVAR:
        snprintf(buf, len, "environment variable name");
        break;
    case SHD_CFG_SECRET:
        snprintf(buf, len, "string, %llu..%llu characters, never shown in messages",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        break;
    case SHD_CFG_URL:
        snprintf(buf, len, "URL");
        break;
    case SHD_CFG_MOUNT_NAME:
        snprintf(buf, len, "bucket name or `*`");
        break;
    case SHD_CFG_INT:
        snprintf(buf, len, "integer %llu..%llu", (unsigned long long)k->min,
                 (unsigned long long)k->max);
        break;
    case SHD_CFG_SIZE:
        snprintf(buf, len, "size %s..%s%s", shd_format_size(k->min, lo, sizeof(lo)),
                 shd_format_size(k->max, hi, sizeof(hi)),
                 (k->flags & SHD_CFG_F_POW2) ? ", a power of two" : "");
        break;
    case SHD_CFG_DURATION:
        snprintf(buf, len, "duration %s..%s", shd_format_duration(k->min, lo, sizeof(lo)),
                 shd_format_duration(k->max, hi, sizeof(hi)));
        break;
    case SHD_CFG_BOOL:
        snprintf(buf, len, "boolean");
        break;
    case SHD_CFG_ENUM:
        for (i = 0; k->choices[i] && o + 8 < sizeof(list); i++) {
            if (i == 0 || k->choices[i - 1] == '|')
                list[o++] = '`';
            if (k->choices[i] == '|') {
                memcpy(list + o, "`, ", 3);
                o += 3;
            } else {
                list[o++] = k->choices[i];
            }
        }
        list[o++] = '`';
        list[o] = '\0';
        snprintf(buf, len, "one of %s", list);
        break;
    case SHD_CFG_ADDR:
        snprintf(buf, len, "address");
        break;
    case SHD_CFG_UFS:
        snprintf(buf, len, "URI");
        break;
    case SHD_CFG_CREDENTIALS:
        snprintf(buf, len, "`env` or a map");
        break;
    }
}

static void cfg_doc_default(const struct shd_cfg_key *k, char *buf, size_t len)
{
    if (k->flags & SHD_CFG_F_REQUIRED)
        snprintf(buf, len, "required");
    else if (k->flags & SHD_CFG_F_HOSTNAME)
        snprintf(buf, len, "default: the host name");
    else if (k->def && !k->def[0])
        snprintf(buf, len, "default: empty");
    else if (k->def)
        snprintf(buf, len, "default `%s`", k->def);
    else if (k->type == SHD_CFG_LIST || k->type == SHD_CFG_ADDR_LIST)
        snprintf(buf, len, "default: empty");
    else
        snprintf(buf, len, "default: unset");
}

/* cfg_doc_scope: the keys of SCOPE as a list, then a subsection for each
 * key of SCOPE that holds keys itself. */
static void cfg_doc_scope(FILE *f, const char *scope, int level)
{
    char type[256], def[128], sub[256];
    size_t i;
    int any = 0;

    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];

        if (!shd_cfg_key_in_scope(k, scope) || k->type == SHD_CFG_SECTION ||
            k->type == SHD_CFG_LIST || k->type == SHD_CFG_CREDENTIALS)
            continue;
        cfg_doc_type(k, type, sizeof(type));
        cfg_doc_default(k, def, sizeof(def));
        fprintf(f, "%s- **`%s`**: %s; %s.\n  %s\n", any ? "" : "\n", shd_cfg_key_leaf(k), type, def,
                k->doc);
        any = 1;
    }
    for (i = 0; i < shd_cfg_n_keys; i++) {
        const struct shd_cfg_key *k = &shd_cfg_keys[i];

        if (!shd_cfg_key_in_scope(k, scope))
            continue;
        if (k->type != SHD_CFG_SECTION && k->type != SHD_CFG_LIST && k->type != SHD_CFG_CREDENTIALS)
            continue;
        if (k->type == SHD_CFG_LIST)
            snprintf(sub, sizeof(sub), "%s[]", k->path);
        else
            snprintf(sub, sizeof(sub), "%s", k->path);
        fprintf(f, "\n%.*s `%s`\n\n", level, "######", sub);
        if (k->type != SHD_CFG_SECTION) {
            cfg_doc_type(k, type, sizeof(type));
            cfg_doc_default(k, def, sizeof(def));
            fprintf(f, "*%s; %s.* ", type, def);
        }
        fprintf(f, "%s\n", k->doc);
        if (k->type == SHD_CFG_CREDENTIALS)
            fprintf(f, "\nThe map form takes these keys:\n");
        cfg_doc_scope(f, sub, level + 1);
    }
}

int shd_config_doc_write(FILE *f)
{
    fputs(cfg_doc_intro, f);
    cfg_doc_scope(f, "", 3);
    fprintf(f, "\n## Full example\n\n```yaml\n%s```\n", cfg_example);
    fprintf(f, "\nTo check a file: `shoald --check-config -c shoald.yaml`.\n");
    if (fflush(f) != 0 || ferror(f))
        return SHD_ERR_IO;
    return 0;
}
