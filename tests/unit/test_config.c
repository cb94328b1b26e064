/* tests/unit/test_config.c: shoald's configuration loader (daemon/config*.c).
 *
 * Every error path is asserted on its exact message ("FILE:LINE: KEY:
 * text"); a full file checks every field; docs/config.md is compared with
 * the generated reference; the fuzz corpus is replayed. Run from the
 * repository root (tests/run.sh does), or anywhere: paths fall back to the
 * location of this source file. */
#include "daemon/config.h"
#include "daemon/config_int.h"
#include "daemon/err.h"
#include "daemon/xalloc.h"
#include "tests/unit/harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)

/* A valid config: 5 lines (BASE_MOUNTS: the last 3). Tests append from line 6 on. */
#define BASE_MOUNTS "mounts:\n  - name: mnt1\n    ufs: s3://bkt1/\n"
#define BASE "node:\n  data_dir: /d\n" BASE_MOUNTS

/* ---- helpers ------------------------------------------------------------- */

/* src_path: REL (relative to the repository root) as a path that opens
 * from the current directory. Returns a static buffer. */
static const char *src_path(const char *rel)
{
    static char buf[4096];
    const char *me = __FILE__; /* "tests/unit/test_config.c" or absolute */
    const char *tail = strstr(me, "tests/unit/test_config.c");

    if (access("tests/unit/harness.h", F_OK) == 0 || !tail)
        snprintf(buf, sizeof(buf), "%s", rel);
    else
        snprintf(buf, sizeof(buf), "%.*s%s", (int)(tail - me), me, rel);
    return buf;
}

static int load_text(const char *text, struct shd_config **cfg, struct shd_diag *d)
{
    return shd_config_load_buffer("t.yaml", text, strlen(text), cfg, d);
}

static void dump_diag(const struct shd_diag *d)
{
    size_t i;

    for (i = 0; i < d->count; i++)
        fprintf(stderr, "    got: %s\n", d->msgs[i].text);
}

/* expect_errors: TEXT must fail to load with exactly the N messages WANT,
 * in that order. Prints what differs. */
static int expect_errors(const char *text, const char *const *want, size_t n)
{
    struct shd_config *cfg = (struct shd_config *)&cfg; /* must stay untouched */
    struct shd_diag d;
    int rc, ok = 1;
    size_t i;

    shd_diag_init(&d);
    rc = load_text(text, &cfg, &d);
    if (rc != SHD_ERR_CONFIG || cfg != (struct shd_config *)&cfg) {
        fprintf(stderr, "    load returned %d (%s), out-param %s\n", rc, shd_strerror(rc),
                cfg == (struct shd_config *)&cfg ? "untouched" : "written");
        ok = 0;
    }
    if (d.count != n) {
        fprintf(stderr, "    %zu messages, wanted %zu\n", d.count, n);
        ok = 0;
    }
    for (i = 0; i < n && i < d.count; i++) {
        if (strcmp(d.msgs[i].text, want[i]) != 0) {
            fprintf(stderr, "    want: %s\n", want[i]);
            ok = 0;
        }
    }
    if (!ok)
        dump_diag(&d);
    if (rc == 0)
        shd_config_free(cfg);
    shd_diag_free(&d);
    return ok;
}

#define EXPECT(text, ...)                                                                          \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__};                                          \
        CHECK(expect_errors(text, want_, sizeof(want_) / sizeof(want_[0])));                       \
    } while (0)

/* load_ok: TEXT must load; the caller frees the result. */
static struct shd_config *load_ok(const char *text)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;

    shd_diag_init(&d);
    if (load_text(text, &cfg, &d) != 0) {
        dump_diag(&d);
        cfg = NULL;
    }
    shd_diag_free(&d);
    return cfg;
}

/* read_all: the contents of PATH (malloc'd, NUL-terminated), or NULL. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* ---- valid files ------------------------------------------------------------ */

TEST(full_file_round_trips_every_field)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;
    const struct shd_mount *m;
    const struct shd_tenant *t;

    shd_diag_init(&d);
    CHECK(shd_config_load_file(src_path("tests/unit/configs/full.yaml"), &cfg, &d) == 0);
    dump_diag(&d);
    CHECK(d.count == 0);
    shd_diag_free(&d);
    REQUIRE(cfg);
    CHECK(strstr(cfg->source, "full.yaml") != NULL);

    CHECK_STR(cfg->node.name, "node-7");
    CHECK_STR(cfg->node.zone, "zone-b");
    CHECK_STR(cfg->node.data_dir, "/var/lib/shoal-test");
    CHECK(cfg->node.weight == 12);
    CHECK(cfg->node.log_level == SHD_LOG_DEBUG);

    CHECK_STR(cfg->listen.peer.host, "::1");
    CHECK(cfg->listen.peer.port == 7401);
    CHECK_STR(cfg->listen.s3.host, "");
    CHECK(cfg->listen.s3.port == 7481);
    CHECK_STR(cfg->listen.admin.host, "localhost");
    CHECK(cfg->listen.admin.port == 0);

    CHECK_STR(cfg->cluster.name, "test-cluster");
    REQUIRE(cfg->cluster.n_seeds == 2);
    CHECK_STR(cfg->cluster.seeds[0].host, "seed1.example");
    CHECK(cfg->cluster.seeds[0].port == 7400);
    CHECK_STR(cfg->cluster.seeds[1].host, "2001:db8::1");
    CHECK(cfg->cluster.seeds[1].port == 7402);
    CHECK(cfg->cluster.replication == 3);
    CHECK(cfg->cluster.block_size == MIB);
    CHECK_STR(cfg->cluster.secret_file, "/etc/shoal/key");
    CHECK(cfg->cluster.drain_timeout_ms == 120000);
    CHECK_STR(cfg->cluster.spot_notice_url,
              "http://169.254.169.254/latest/meta-data/spot/instance-action");

    CHECK(cfg->cache.memory == 3 * GIB / 2);
    REQUIRE(cfg->cache.n_disks == 2);
    CHECK_STR(cfg->cache.disks[0].path, "/mnt/a");
    CHECK(cfg->cache.disks[0].size == 10000000000ULL);
    CHECK_STR(cfg->cache.disks[1].path, "/mnt/b");
    CHECK(cfg->cache.disks[1].size == 2 * MIB);
    CHECK(cfg->cache.eviction == SHD_EVICT_LRU);
    CHECK(cfg->cache.max_fills == 7);

    REQUIRE(cfg->n_mounts == 3);
    m = &cfg->mounts[0];
    CHECK_STR(m->name, "lake.house-1");
    CHECK(m->ufs.kind == SHD_UFS_S3);
    CHECK_STR(m->ufs.uri, "s3://lake-bucket/some/prefix");
    CHECK_STR(m->ufs.bucket, "lake-bucket");
    CHECK_STR(m->ufs.prefix, "some/prefix/");
    CHECK(m->ufs.path == NULL);
    CHECK_STR(m->endpoint, "https://minio.local:9000");
    CHECK_STR(m->region, "eu-central-1");
    CHECK(m->credentials.kind == SHD_CRED_FILE);
    CHECK_STR(m->credentials.file, "/etc/creds");
    CHECK_STR(m->credentials.profile, "prof");
    CHECK(m->credentials.access_key_env == NULL);
    CHECK(m->metadata_ttl_ms == 0);
    CHECK(m->write_mode == SHD_WRITE_READ_ONLY);
    CHECK(m->path_style == false);
    m = &cfg->mounts[1];
    CHECK_STR(m->name, "local");
    CHECK(m->ufs.kind == SHD_UFS_FILE);
    CHECK_STR(m->ufs.path, "/srv/data");
    CHECK(m->ufs.bucket == NULL);
    CHECK(m->credentials.kind == SHD_CRED_ENV);
    m = &cfg->mounts[2];
    CHECK_STR(m->name, "*");
    CHECK(m->ufs.kind == SHD_UFS_S3);
    CHECK(m->ufs.bucket == NULL);
    CHECK_STR(m->ufs.prefix, "");
    CHECK(m->credentials.kind == SHD_CRED_ENV_VARS);
    CHECK_STR(m->credentials.access_key_env, "AK_VAR");
    CHECK_STR(m->credentials.secret_key_env, "SK_VAR");
    CHECK(m->credentials.profile == NULL);
    CHECK(m->metadata_ttl_ms == 1500);

    REQUIRE(cfg->n_tenants == 3);
    t = &cfg->tenants[0];
    CHECK_STR(t->name, "alice");
    CHECK_STR(t->access_key, "AKIAALICE");
    CHECK(t->secret_src == SHD_SECRET_VALUE);
    CHECK_STR(t->secret_key, "s3cr3t with spaces");
    CHECK(t->secret_env == NULL && t->secret_file == NULL);
    REQUIRE(t->n_allow == 2);
    CHECK_STR(t->allow[0].mount, "lake.house-1");
    CHECK_STR(t->allow[0].prefix, "team/");
    CHECK(t->allow[0].access == SHD_ACCESS_READWRITE);
    CHECK_STR(t->allow[1].mount, "*");
    CHECK_STR(t->allow[1].prefix, "");
    CHECK(t->allow[1].access == SHD_ACCESS_WRITE);
    t = &cfg->tenants[1];
    CHECK(t->secret_src == SHD_SECRET_ENV);
    CHECK_STR(t->secret_env, "BOB_SECRET");
    CHECK(t->n_allow == 0 && t->allow == NULL);
    t = &cfg->tenants[2];
    CHECK(t->secret_src == SHD_SECRET_FILE);
    CHECK_STR(t->secret_file, "/etc/carol");
    CHECK(t->n_allow == 0);
    shd_config_free(cfg);
}

TEST(defaults_applied)
{
    struct shd_config *cfg = load_ok(BASE);
    char host[256];
    const struct shd_mount *m;

    REQUIRE(cfg);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    CHECK_STR(cfg->source, "t.yaml");
    CHECK_STR(cfg->node.name, host);
    CHECK_STR(cfg->node.zone, "default");
    CHECK_STR(cfg->node.data_dir, "/d");
    CHECK(cfg->node.weight == 1);
    CHECK(cfg->node.log_level == SHD_LOG_INFO);
    CHECK_STR(cfg->listen.peer.host, "0.0.0.0");
    CHECK(cfg->listen.peer.port == 7400);
    CHECK_STR(cfg->listen.s3.host, "0.0.0.0");
    CHECK(cfg->listen.s3.port == 7480);
    CHECK_STR(cfg->listen.admin.host, "127.0.0.1");
    CHECK(cfg->listen.admin.port == 7490);
    CHECK_STR(cfg->cluster.name, "shoal");
    CHECK(cfg->cluster.n_seeds == 0 && cfg->cluster.seeds == NULL);
    CHECK(cfg->cluster.replication == 2);
    CHECK(cfg->cluster.block_size == 4 * MIB);
    CHECK(cfg->cluster.secret_file == NULL);
    CHECK(cfg->cluster.drain_timeout_ms == 90000);
    CHECK(cfg->cluster.spot_notice_url == NULL);
    CHECK(cfg->cache.memory == 256 * MIB);
    CHECK(cfg->cache.n_disks == 0 && cfg->cache.disks == NULL);
    CHECK(cfg->cache.eviction == SHD_EVICT_S3FIFO);
    CHECK(cfg->cache.max_fills == 64);
    REQUIRE(cfg->n_mounts == 1);
    m = &cfg->mounts[0];
    CHECK_STR(m->name, "mnt1");
    CHECK_STR(m->ufs.bucket, "bkt1");
    CHECK_STR(m->ufs.prefix, "");
    CHECK(m->endpoint == NULL);
    CHECK_STR(m->region, "us-east-1");
    CHECK(m->credentials.kind == SHD_CRED_ENV);
    CHECK(m->credentials.file == NULL && m->credentials.profile == NULL);
    CHECK(m->metadata_ttl_ms == 60000);
    CHECK(m->write_mode == SHD_WRITE_THROUGH);
    CHECK(m->path_style == true);
    CHECK(cfg->n_tenants == 0 && cfg->tenants == NULL);
    shd_config_free(cfg);
}

TEST(empty_values_mean_absent)
{
    struct shd_config *cfg =
        load_ok("node:\n  data_dir: /d\n  zone: ~\n  weight: null\nlisten:\ncluster:\n  seeds:\n"
                "mounts:\n  - name: mnt1\n    ufs: s3://bkt1/pre\n    credentials:\n"
                "tenants: []\n");

    REQUIRE(cfg);
    CHECK_STR(cfg->node.zone, "default");
    CHECK(cfg->node.weight == 1);
    CHECK(cfg->listen.s3.port == 7480);
    CHECK(cfg->cluster.n_seeds == 0);
    CHECK(cfg->mounts[0].credentials.kind == SHD_CRED_ENV);
    CHECK_STR(cfg->mounts[0].ufs.prefix, "pre/");
    CHECK(cfg->n_tenants == 0);
    shd_config_free(cfg);
}

TEST(quoted_and_flow_values)
{
    struct shd_config *cfg = load_ok("{node: {data_dir: \"/d\", weight: '7', name: 'n.1'},\n"
                                     " mounts: [{name: mnt1, ufs: \"file:///\"}],\n"
                                     " cache: {memory: \"0\"}, listen: {admin: \":0\"}}\n");

    REQUIRE(cfg);
    CHECK(cfg->node.weight == 7);
    CHECK_STR(cfg->node.name, "n.1");
    CHECK_STR(cfg->mounts[0].ufs.path, "/");
    CHECK(cfg->cache.memory == 0);
    CHECK_STR(cfg->listen.admin.host, "");
    shd_config_free(cfg);
}

TEST(credentials_default_profile)
{
    struct shd_config *cfg =
        load_ok(BASE "    credentials:\n      file: /c\n  - name: mnt2\n    ufs: s3://bkt2\n"
                     "    credentials: env\n");

    REQUIRE(cfg);
    CHECK(cfg->mounts[0].credentials.kind == SHD_CRED_FILE);
    CHECK_STR(cfg->mounts[0].credentials.profile, "default");
    CHECK(cfg->mounts[1].credentials.kind == SHD_CRED_ENV);
    CHECK(cfg->mounts[1].credentials.profile == NULL);
    shd_config_free(cfg);
}

TEST(example_in_docs_is_valid)
{
    struct shd_config *cfg = load_ok(shd_config_example());

    REQUIRE(cfg);
    CHECK(cfg->n_mounts == 4);
    CHECK(cfg->n_tenants == 2);
    CHECK(cfg->cache.n_disks == 2);
    shd_config_free(cfg);
}

TEST(docs_config_md_is_generated_from_table)
{
    char *want, *got = NULL;
    size_t want_len = 0, got_len = 0;
    FILE *f = open_memstream(&got, &got_len);

    REQUIRE(f);
    CHECK(shd_config_doc_write(f) == 0);
    fclose(f);
    want = read_all(src_path("docs/config.md"), &want_len);
    CHECK(want != NULL);
    if (want && (want_len != got_len || memcmp(want, got, got_len) != 0)) {
        size_t i = 0;

        while (i < want_len && i < got_len && want[i] == got[i])
            i++;
        fprintf(stderr,
                "    docs/config.md differs from the table at byte %zu; regenerate it:\n"
                "    build/shoald --print-config-doc > docs/config.md\n",
                i);
        CHECK(0);
    }
    free(want);
    free(got);
}

TEST(doc_error_example_is_real)
{
    /* the error block of docs/config.md is this file's output, verbatim */
    struct shd_config *cfg = NULL;
    struct shd_diag d;
    char *text, *doc;
    size_t len, i;

    text = read_all(src_path("tests/unit/configs/doc_errors.yaml"), &len);
    REQUIRE(text);
    shd_diag_init(&d);
    CHECK(shd_config_load_buffer("shoald.yaml", text, len, &cfg, &d) == SHD_ERR_CONFIG);
    CHECK(d.count == 4);
    doc = NULL;
    {
        size_t dlen = 0;
        FILE *f = open_memstream(&doc, &dlen);

        shd_config_doc_write(f);
        fclose(f);
    }
    for (i = 0; i < d.count; i++) {
        if (!strstr(doc, d.msgs[i].text)) {
            fprintf(stderr, "    not in the docs: %s\n", d.msgs[i].text);
            CHECK(0);
        }
    }
    free(doc);
    free(text);
    shd_diag_free(&d);
}

/* ---- errors -------------------------------------------------------------- */

TEST(syntax_error)
{
    EXPECT("node:\n  data_dir: /d\n  weight: [1, 2\nmounts: []\n",
           "t.yaml:4: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
           "sequence at line 3)");
    EXPECT("node:\n  data_dir: /d\n bad: 1\n",
           "t.yaml:3: YAML syntax error: did not find expected key (while parsing a block "
           "mapping at line 1)");
    EXPECT("a: \"unterminated\n",
           "t.yaml:2: YAML syntax error: found unexpected end of stream (while scanning a "
           "quoted scalar at line 1)");
    EXPECT("node:\n\tdata_dir: /d\n",
           "t.yaml:2: YAML syntax error: found character that cannot start any token (while "
           "scanning for the next token at line 2)");
}

TEST(wrong_types)
{
    EXPECT("node: [a]\nmounts: {a: 1}\n", "t.yaml:1: node: expected a map, got a list",
           "t.yaml:2: mounts: expected a list of maps, got a map");
    EXPECT(BASE "cluster:\n  seeds: a:1\n  replication: {x: 1}\ncache:\n  disks: [1, ~]\n"
                "  memory: [1]\n",
           "t.yaml:7: cluster.seeds: expected a list of addresses, got a string",
           "t.yaml:8: cluster.replication: expected a whole number, got a map",
           "t.yaml:10: cache.disks[0]: expected a map, got a string",
           "t.yaml:10: cache.disks[1]: expected a map, got nothing",
           "t.yaml:11: cache.memory: expected a size, got a list");
    EXPECT(BASE "    credentials: [a]\n    path_style: maybe\ncluster:\n  seeds: [[a]]\n",
           "t.yaml:6: mounts[0].credentials: expected \"env\" or a map, got a list",
           "t.yaml:7: mounts[0].path_style: expected true or false (or yes, no), got \"maybe\"",
           "t.yaml:9: cluster.seeds[0]: expected an address, got a list");
    EXPECT("- node\n", "t.yaml:1: the configuration must be a map of sections (node, listen, "
                       "cluster, cache, mounts, tenants), not a list");
    EXPECT("just text\n", "t.yaml:1: the configuration must be a map of sections (node, listen, "
                          "cluster, cache, mounts, tenants), not a string");
}

TEST(unknown_keys)
{
    EXPECT(BASE "nodes:\n  x: 1\nlisten:\n  sr: :1\n  adminn: :2\n",
           "t.yaml:6: nodes: unknown key (did you mean \"node\"?)",
           "t.yaml:9: listen.sr: unknown key (did you mean \"s3\"?)",
           "t.yaml:10: listen.adminn: unknown key (did you mean \"admin\"?)");
    EXPECT(BASE "    replication: 2\n    zzz: 1\ncache:\n  path: /x\n",
           "t.yaml:6: mounts[0].replication: unknown key here (it belongs in cluster.replication)",
           "t.yaml:7: mounts[0].zzz: unknown key (valid keys: name, ufs, endpoint, region, "
           "credentials, metadata_ttl, write_mode, path_style)",
           "t.yaml:9: cache.path: unknown key here (it belongs in cache.disks[].path)");
    EXPECT(BASE "    credentials:\n      fille: /x\n",
           "t.yaml:7: mounts[0].credentials.fille: unknown key (did you mean \"file\"?)",
           "t.yaml:7: mounts[0].credentials: set file (and profile), or access_key_env and "
           "secret_key_env, or write credentials: env");
}

TEST(unknown_key_is_quoted_safely)
{
    /* control bytes are escaped, long keys are cut */
    EXPECT(BASE
           "\"a\\x01\\\"b\": 1\n"
           "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: 1\n",
           "t.yaml:6: a\\x01\\\"b: unknown key (valid keys: node, listen, cluster, cache, mounts, "
           "tenants)",
           "t.yaml:7: kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...: unknown "
           "key (valid keys: node, listen, cluster, cache, mounts, tenants)");
}

TEST(duplicate_keys)
{
    EXPECT(BASE "node:\n  weight: 2\n", "t.yaml:6: node: duplicate key (first at line 1)");
    EXPECT("node:\n  data_dir: /d\n  data_dir: /e\nmounts:\n"
           "  - {name: mnt1, ufs: \"s3://bkt1\", name: mnt2}\n",
           "t.yaml:3: node.data_dir: duplicate key (first at line 2)",
           "t.yaml:5: mounts[0].name: duplicate key (first at line 5)");
}

TEST(missing_required)
{
    EXPECT("cluster:\n  replication: 2\n", "t.yaml:1: node.data_dir: missing required key",
           "t.yaml:1: mounts: missing required key (a list of at least 1)");
    EXPECT("node:\n  data_dir: /d\nmounts: []\n", "t.yaml:3: mounts: needs at least 1 item");
    EXPECT(BASE "  - name: mnt2\n  - ufs: s3://bkt3\ncache:\n  disks:\n    - path: /x\n"
                "    - size: 1GiB\ntenants:\n  - allow: [{prefix: x}]\n",
           "t.yaml:6: mounts[1].ufs: missing required key",
           "t.yaml:7: mounts[2].name: missing required key",
           "t.yaml:10: cache.disks[0].size: missing required key",
           "t.yaml:11: cache.disks[1].path: missing required key",
           "t.yaml:13: tenants[0].name: missing required key",
           "t.yaml:13: tenants[0].access_key: missing required key",
           "t.yaml:13: tenants[0].allow[0].mount: missing required key",
           "t.yaml:13: tenants[0]: missing secret: set one of secret_key, secret_env or "
           "secret_file");
    EXPECT("node:\n  data_dir: \"\"\n" BASE_MOUNTS, "t.yaml:2: node.data_dir: must not be empty");
}

TEST(out_of_range)
{
    EXPECT("node:\n  data_dir: /d\n  weight: 0\n  log_level: verbose\ncluster:\n"
           "  replication: 8\n  block_size: 32KiB\n  drain_timeout: 500ms\ncache:\n"
           "  memory: 2TiB\n  max_fills: 0\nmounts:\n  - name: mnt1\n    ufs: s3://bkt1\n"
           "    metadata_ttl: 2d\ntenants:\n  - name: t\n    access_key: ab\n    secret_key: x\n",
           "t.yaml:3: node.weight: 0 is out of range (1..256)",
           "t.yaml:4: node.log_level: invalid value \"verbose\": use one of debug, info, warn, "
           "error",
           "t.yaml:6: cluster.replication: 8 is out of range (1..7)",
           "t.yaml:7: cluster.block_size: 32KiB is out of range (64KiB..64MiB)",
           "t.yaml:8: cluster.drain_timeout: 500ms is out of range (1s..1h)",
           "t.yaml:10: cache.memory: 2TiB is out of range (0..1TiB)",
           "t.yaml:11: cache.max_fills: 0 is out of range (1..4096)",
           "t.yaml:15: mounts[0].metadata_ttl: 2d is out of range (0s..1d)",
           "t.yaml:18: tenants[0].access_key: must have 3..128 characters, not 2");
    EXPECT(BASE "node:\n" /* a second node: only the duplicate is reported */
                "  weight: 1\n",
           "t.yaml:6: node: duplicate key (first at line 1)");
    EXPECT("node:\n  data_dir: /d\n  weight: -1\ncluster:\n  replication: 99999999999999999999999\n"
           "  block_size: 128MiB\n  drain_timeout: 2h\n" BASE_MOUNTS,
           "t.yaml:3: node.weight: -1 is out of range (1..256)",
           "t.yaml:5: cluster.replication: 99999999999999999999999 is out of range (1..7)",
           "t.yaml:6: cluster.block_size: 128MiB is out of range (64KiB..64MiB)",
           "t.yaml:7: cluster.drain_timeout: 2h is out of range (1s..1h)");
    EXPECT("node:\n  data_dir: /d\n  weight: 1.5\ncluster:\n  block_size: 3MiB\n" BASE_MOUNTS,
           "t.yaml:3: node.weight: expected a whole number, got \"1.5\"",
           "t.yaml:5: cluster.block_size: 3MiB is not a power of two");
    EXPECT(BASE "cluster:\n  block_size: 1MiB\ncache:\n  disks:\n    - {path: /a, size: 2MiB}\n"
                "    - {path: /b, size: 2097151}\n    - {path: /a, size: 64KiB}\n",
           "t.yaml:11: cache.disks[1].size: must be at least 2 x cluster.block_size (2MiB)",
           "t.yaml:12: cache.disks[2].size: 64KiB is out of range (128KiB..1024TiB)",
           "t.yaml:12: cache.disks[2].path: duplicate disk path \"/a\" (first at line 10)");
}

TEST(bad_sizes_and_durations)
{
    EXPECT(BASE "cache:\n  memory: 4 XB\n  disks:\n    - {path: /a, size: -1MiB}\n"
                "    - {path: /b, size: 0.3KiB}\n    - {path: /c, size: MiB}\n"
                "    - {path: /d, size: 99999999999TiB}\n",
           "t.yaml:7: cache.memory: invalid size \"4 XB\": unknown unit \"XB\" (use B, KiB, MiB, "
           "GiB, TiB, KB, MB, GB or TB)",
           "t.yaml:9: cache.disks[0].size: invalid size \"-1MiB\": negative values are not "
           "allowed",
           "t.yaml:10: cache.disks[1].size: invalid size \"0.3KiB\": not a whole number of bytes",
           "t.yaml:11: cache.disks[2].size: invalid size \"MiB\": expected a number",
           "t.yaml:12: cache.disks[3].size: invalid size \"99999999999TiB\": too large");
    EXPECT(BASE "    metadata_ttl: 0\ncluster:\n  drain_timeout: 90\n  block_size: 4 MiB\n"
                "  secret_file: /k\n",
           "t.yaml:6: mounts[0].metadata_ttl: invalid duration \"0\": missing unit (ms, s, m, h "
           "or d, e.g. 90s)",
           "t.yaml:8: cluster.drain_timeout: invalid duration \"90\": missing unit (ms, s, m, h "
           "or d, e.g. 90s)");
    EXPECT(BASE "cluster:\n  drain_timeout: 5 min\n",
           "t.yaml:7: cluster.drain_timeout: invalid duration \"5 min\": unknown unit \"min\" (use "
           "ms, s, m, h or d)");
}

TEST(bad_addresses)
{
    EXPECT(BASE "listen:\n  peer: \"7400\"\n  s3: ::1:7480\n  admin: \"[::1]7490\"\n"
                "cluster:\n  seeds: [\"[zz]:1\", \"host:99999\", \"host:\", bad host:1, \":7400\", "
                "h:0]\n",
           "t.yaml:7: listen.peer: invalid address \"7400\": missing port (use host:port, "
           "[IPv6]:port or :port)",
           "t.yaml:8: listen.s3: invalid address \"::1:7480\": put an IPv6 address in brackets, "
           "e.g. [::1]:7400",
           "t.yaml:9: listen.admin: invalid address \"[::1]7490\": missing port (use "
           "[IPv6]:port)",
           "t.yaml:11: cluster.seeds[0]: invalid address \"[zz]:1\": not an IPv6 address in "
           "brackets",
           "t.yaml:11: cluster.seeds[1]: invalid address \"host:99999\": the port must be a "
           "number 0..65535",
           "t.yaml:11: cluster.seeds[2]: invalid address \"host:\": the port must be a number "
           "0..65535",
           "t.yaml:11: cluster.seeds[3]: invalid address \"bad host:1\": invalid host name",
           "t.yaml:11: cluster.seeds[4]: invalid seed \":7400\": a seed needs a host and a "
           "non-zero port",
           "t.yaml:11: cluster.seeds[5]: invalid seed \"h:0\": a seed needs a host and a non-zero "
           "port");
}

TEST(duplicate_ports)
{
    struct shd_config *cfg;

    EXPECT(BASE "listen:\n  s3: :7400\n",
           "t.yaml:7: listen.s3: port 7400 is also used by listen.peer");
    EXPECT(BASE "listen:\n  peer: :7480\n",
           "t.yaml:7: listen.peer: port 7480 is also used by listen.s3");
    EXPECT(BASE "listen:\n  s3: :9000\n  admin: 127.0.0.1:9000\n",
           "t.yaml:8: listen.admin: port 9000 is also used by listen.s3");
    /* port 0 (any free port) may repeat */
    cfg = load_ok(BASE "listen:\n  peer: :0\n  s3: 127.0.0.1:0\n  admin: :0\n");
    CHECK(cfg != NULL);
    shd_config_free(cfg);
}

TEST(bad_bucket_names)
{
    EXPECT("node:\n  data_dir: /d\nmounts:\n"
           "  - {name: ab, ufs: s3://bkt1}\n"
           "  - {name: Bad, ufs: s3://bkt1}\n"
           "  - {name: -abc, ufs: s3://bkt1}\n"
           "  - {name: abc-, ufs: s3://bkt1}\n"
           "  - {name: a..b, ufs: s3://bkt1}\n"
           "  - {name: 192.168.1.1, ufs: s3://bkt1}\n"
           "  - {name: a_b, ufs: s3://bkt1}\n"
           "  - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
           "ufs: s3://bkt1}\n",
           "t.yaml:4: mounts[0].name: invalid bucket name \"ab\": it must have 3 to 63 characters "
           "(or \"*\" to pass every bucket through)",
           "t.yaml:5: mounts[1].name: invalid bucket name \"Bad\": use lowercase letters, digits, "
           "'-' and '.' (or \"*\" to pass every bucket through)",
           "t.yaml:6: mounts[2].name: invalid bucket name \"-abc\": it must start with a letter "
           "or digit (or \"*\" to pass every bucket through)",
           "t.yaml:7: mounts[3].name: invalid bucket name \"abc-\": it must end with a letter or "
           "digit (or \"*\" to pass every bucket through)",
           "t.yaml:8: mounts[4].name: invalid bucket name \"a..b\": it must not contain two "
           "adjacent periods (or \"*\" to pass every bucket through)",
           "t.yaml:9: mounts[5].name: invalid bucket name \"192.168.1.1\": it must not look like "
           "an IP address (or \"*\" to pass every bucket through)",
           "t.yaml:10: mounts[6].name: invalid bucket name \"a_b\": use lowercase letters, "
           "digits, '-' and '.' (or \"*\" to pass every bucket through)",
           "t.yaml:11: mounts[7].name: invalid bucket name "
           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": it must have 3 "
           "to 63 characters (or \"*\" to pass every bucket through)");
}

TEST(bad_ufs_uris)
{
    EXPECT("node:\n  data_dir: /d\nmounts:\n"
           "  - {name: mnt0, ufs: \"gs://x\"}\n"
           "  - {name: mnt1, ufs: \"s3://Bad/\"}\n"
           "  - {name: mnt2, ufs: \"file://host/x\"}\n"
           "  - {name: mnt3, ufs: \"file:///a/../b\"}\n"
           "  - {name: mnt4, ufs: \"s3:///x\"}\n"
           "  - {name: mnt5, ufs: \"s3://bkt1//x\"}\n"
           "  - {name: mnt6, ufs: /abs/path}\n"
           "  - {name: mnt7, ufs: \"s3://bkt1/a b\"}\n"
           "  - {name: mnt8, ufs: \"s3://\"}\n"
           "  - {name: mnt9, ufs: \"s3:/b1\"}\n",
           "t.yaml:4: mounts[0].ufs: invalid ufs \"gs://x\": expected s3://BUCKET/PREFIX/, "
           "s3://BUCKET or file:///DIR",
           "t.yaml:5: mounts[1].ufs: invalid ufs \"s3://Bad/\": invalid bucket name \"Bad\": use "
           "lowercase letters, digits, '-' and '.'",
           "t.yaml:6: mounts[2].ufs: invalid ufs \"file://host/x\": a file URI takes an absolute "
           "path and no host, e.g. file:///srv/data",
           "t.yaml:7: mounts[3].ufs: invalid ufs \"file:///a/../b\": the path must not contain "
           "\"..\"",
           "t.yaml:8: mounts[4].ufs: invalid ufs \"s3:///x\": missing bucket (s3://BUCKET/PREFIX/)",
           "t.yaml:9: mounts[5].ufs: invalid ufs \"s3://bkt1//x\": the prefix must not start with "
           "'/'",
           "t.yaml:10: mounts[6].ufs: invalid ufs \"/abs/path\": expected s3://BUCKET/PREFIX/, "
           "s3://BUCKET or file:///DIR",
           "t.yaml:11: mounts[7].ufs: invalid ufs \"s3://bkt1/a b\": spaces and control characters "
           "are not allowed",
           "t.yaml:12: mounts[8].ufs: missing bucket: only the mount \"*\" uses \"s3://\"",
           "t.yaml:13: mounts[9].ufs: invalid ufs \"s3:/b1\": expected s3://BUCKET/PREFIX/, "
           "s3://BUCKET or file:///DIR");
}

TEST(mount_rules)
{
    EXPECT("node:\n  data_dir: /d\nmounts:\n"
           "  - {name: \"*\", ufs: \"s3://bkt1\"}\n"
           "  - {name: \"*\", ufs: \"file:///x\"}\n"
           "  - name: fs1\n    ufs: file:///srv\n    credentials: {file: /c}\n"
           "    endpoint: http://h\n"
           "  - {name: fs2, ufs: \"file:///srv\", credentials: env}\n"
           "  - {name: bk2, ufs: \"s3://bkt2\", endpoint: \"ftp://h\"}\n"
           "  - {name: bk3, ufs: \"s3://bkt3\", endpoint: \"http://\"}\n",
           "t.yaml:4: mounts[0].ufs: the pass-through mount \"*\" takes ufs \"s3://\" (no bucket)",
           "t.yaml:5: mounts[1].ufs: the pass-through mount \"*\" takes ufs \"s3://\" (no bucket)",
           "t.yaml:5: mounts[1].name: only one pass-through mount \"*\" is allowed (first at "
           "line 4)",
           "t.yaml:8: mounts[2].credentials: a file:// mount takes no credentials (omit the key "
           "or write env)",
           "t.yaml:9: mounts[2].endpoint: endpoint applies to s3:// mounts only",
           "t.yaml:11: mounts[4].endpoint: invalid URL \"ftp://h\": expected http://HOST[:PORT] "
           "or https://...",
           "t.yaml:12: mounts[5].endpoint: invalid URL \"http://\": missing host");
}

TEST(duplicate_mounts)
{
    EXPECT(BASE "  - name: mnt2\n    ufs: s3://bkt2\n  - name: mnt1\n    ufs: file:///x\n",
           "t.yaml:8: mounts[2].name: duplicate mount name \"mnt1\" (first at line 4)");
}

TEST(credentials_forms)
{
    EXPECT(BASE
           "    credentials: envv\n"
           "  - {name: mnt2, ufs: \"s3://bkt2\", credentials: {file: /x, access_key_env: A}}\n"
           "  - {name: mnt3, ufs: \"s3://bkt3\", credentials: {access_key_env: A}}\n"
           "  - {name: mnt4, ufs: \"s3://bkt4\", credentials: {access_key_env: A, secret_key_env: "
           "B, profile: p}}\n"
           "  - {name: mnt5, ufs: \"s3://bkt5\", credentials: {access_key_env: 1A, "
           "secret_key_env: B}}\n"
           "  - {name: mnt6, ufs: \"s3://bkt6\", credentials: {}}\n",
           "t.yaml:6: mounts[0].credentials: invalid value \"envv\": use \"env\" or a map with "
           "file (and profile) or access_key_env and secret_key_env",
           "t.yaml:7: mounts[1].credentials: use either file (and profile) or access_key_env and "
           "secret_key_env, not both",
           "t.yaml:8: mounts[2].credentials.secret_key_env: missing required key (access_key_env "
           "and secret_key_env go together)",
           "t.yaml:9: mounts[3].credentials.profile: profile applies to a credentials file only",
           "t.yaml:10: mounts[4].credentials.access_key_env: \"1A\" is not an environment "
           "variable name (letters, digits and '_', not starting with a digit)",
           "t.yaml:11: mounts[5].credentials: set file (and profile), or access_key_env and "
           "secret_key_env, or write credentials: env");
}

TEST(tenant_rules)
{
    EXPECT(BASE "  - {name: lakehouse, ufs: \"s3://bkt2\"}\ntenants:\n"
                "  - name: t1\n    access_key: AKIA1\n    secret_key: s\n    secret_env: S\n"
                "    secret_file: /f\n"
                "    allow:\n      - mount: lakehose\n      - {mount: zzzzzzzz, access: all}\n"
                "      - {mount: \"*\"}\n"
                "  - name: t1\n    access_key: AKIA1\n    secret_env: \"bad var\"\n"
                "  - {name: \"t 3\", access_key: AKIA3, secret_key: \"\"}\n",
           "t.yaml:11: tenants[0].secret_env: only one of secret_key, secret_env and secret_file "
           "may be set (secret_key is set at line 10)",
           "t.yaml:12: tenants[0].secret_file: only one of secret_key, secret_env and secret_file "
           "may be set (secret_key is set at line 10)",
           "t.yaml:14: tenants[0].allow[0].mount: no mount named \"lakehose\" (did you mean "
           "\"lakehouse\"?)",
           "t.yaml:15: tenants[0].allow[1].access: invalid value \"all\": use one of read, write, "
           "readwrite",
           "t.yaml:15: tenants[0].allow[1].mount: no mount named \"zzzzzzzz\" (name a mount, or "
           "\"*\" for every mount)",
           "t.yaml:17: tenants[1].name: duplicate tenant name \"t1\" (first at line 8)",
           "t.yaml:18: tenants[1].access_key: duplicate access key \"AKIA1\" (first at line 9)",
           "t.yaml:19: tenants[1].secret_env: \"bad var\" is not an environment variable name "
           "(letters, digits and '_', not starting with a digit)",
           "t.yaml:20: tenants[2].name: invalid name \"t 3\": character ' ' is not allowed (use "
           "letters, digits, '.', '_' and '-')",
           "t.yaml:20: tenants[2].secret_key: must not be empty");
}

TEST(tenants_may_come_before_mounts)
{
    struct shd_config *cfg = load_ok("tenants:\n  - name: t\n    access_key: abc\n"
                                     "    secret_key: s\n    allow: [{mount: mnt1}]\n" BASE);

    REQUIRE(cfg);
    CHECK(cfg->n_tenants == 1);
    CHECK(cfg->tenants[0].allow[0].access == SHD_ACCESS_READ);
    shd_config_free(cfg);
}

TEST(many_errors_all_reported)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;
    const char *path = src_path("tests/unit/configs/many_errors.yaml");
    size_t i;

    shd_diag_init(&d);
    CHECK(shd_config_load_file(path, &cfg, &d) == SHD_ERR_CONFIG);
    CHECK(cfg == NULL);
    CHECK(d.count == 25);
    CHECK(d.dropped == 0);
    CHECK(shd_diag_errors(&d) == 25);
    for (i = 0; i < d.count; i++) {
        CHECK(strncmp(d.msgs[i].text, path, strlen(path)) == 0);
        CHECK(d.msgs[i].line > 0);
        if (i)
            CHECK(d.msgs[i - 1].line <= d.msgs[i].line);
    }
    CHECK_STR(d.msgs[0].text + strlen(path),
              ":4: node.wieght: unknown key (did you mean \"weight\"?)");
    shd_diag_free(&d);
}

TEST(diag_is_capped)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;
    size_t cap = 64 * 1024, n = 0, i;
    char *text = malloc(cap);

    REQUIRE(text);
    for (i = 0; i < 1500; i++)
        n += (size_t)snprintf(text + n, cap - n, "k%zu: 1\n", i);
    shd_diag_init(&d);
    CHECK(shd_config_load_buffer("t.yaml", text, n, &cfg, &d) == SHD_ERR_CONFIG);
    CHECK(d.count == SHD_DIAG_MAX);
    CHECK(d.dropped == 502);
    CHECK(shd_diag_errors(&d) == 1502);
    shd_diag_free(&d);
    free(text);
}

TEST(empty_files)
{
    EXPECT("", "t.yaml:1: the configuration is empty: it needs at least node.data_dir and one "
               "mount");
    EXPECT("# nothing here\n\n",
           "t.yaml:1: the configuration is empty: it needs at least node.data_dir and one mount");
    EXPECT("---\n", "t.yaml:2: the configuration is empty: it needs at least node.data_dir and "
                    "one mount");
    EXPECT("~\n",
           "t.yaml:1: the configuration is empty: it needs at least node.data_dir and one mount");
}

TEST(unreadable_files)
{
    struct shd_config *cfg = (struct shd_config *)&cfg;
    struct shd_diag d;
    char want[4200];
    const char *dir = src_path("tests/unit/configs");

    shd_diag_init(&d);
    CHECK(shd_config_load_file("/nonexistent/shoald.yaml", &cfg, &d) == SHD_ERR_IO);
    CHECK(cfg == (struct shd_config *)&cfg);
    REQUIRE(d.count == 1);
    CHECK_STR(d.msgs[0].text, "/nonexistent/shoald.yaml: cannot open: No such file or directory");
    CHECK(d.msgs[0].line == 0);
    CHECK(shd_config_load_file(dir, &cfg, &d) == SHD_ERR_IO);
    REQUIRE(d.count == 2);
    snprintf(want, sizeof(want), "%s: cannot read: Is a directory", dir);
    CHECK_STR(d.msgs[1].text, want);
    shd_diag_free(&d);
}

TEST(too_big)
{
    size_t len = SHD_CONFIG_MAX_BYTES + 1;
    char *buf = malloc(len);
    struct shd_config *cfg = NULL;
    struct shd_diag d;

    REQUIRE(buf);
    memset(buf, '#', len);
    shd_diag_init(&d);
    CHECK(shd_config_load_buffer("t.yaml", buf, len, &cfg, &d) == SHD_ERR_TOOBIG);
    REQUIRE(d.count == 1);
    CHECK_STR(d.msgs[0].text, "t.yaml: larger than 1048576 bytes, the limit for a configuration "
                              "file");
    shd_diag_free(&d);
    free(buf);
}

TEST(yaml_features_refused)
{
    EXPECT(BASE "cluster:\n  name: &n foo\n  replication: *n\n",
           "t.yaml:7: YAML anchors (&n) are not supported: write the value out",
           "t.yaml:8: YAML aliases (*n) are not supported: write the value out");
    EXPECT(BASE "cluster:\n  name: !!str foo\n",
           "t.yaml:7: YAML tags (tag:yaml.org,2002:str) are not supported: remove the tag");
    EXPECT(BASE "defaults: &d {region: x}\n",
           "t.yaml:6: YAML anchors (&d) are not supported: write the value out",
           "t.yaml:6: defaults: unknown key (valid keys: node, listen, cluster, cache, mounts, "
           "tenants)");
    EXPECT(BASE "---\nnode:\n  data_dir: /e\n",
           "t.yaml:6: a second YAML document starts here: the configuration must be one "
           "document");
    EXPECT(BASE "? [a]\n: 1\n", "t.yaml:6: a key must be a string, not a list");
    EXPECT(BASE "? \n: 1\n", "t.yaml:6: empty key");
    EXPECT(BASE "cluster:\n  name: \"a\\0b\"\n", "t.yaml:7: a NUL character is not allowed");
}

TEST(hostile_input)
{
    char deep[256], want[128];
    struct shd_config *cfg = NULL;
    struct shd_diag d;
    const char *bad_utf8 = BASE "cluster:\n  name: \xff\n";

    snprintf(deep, sizeof(deep), "a: %.40s%.40s\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    EXPECT(deep, "t.yaml:1: maps and lists nested more than 32 deep");
    shd_diag_init(&d);
    CHECK(load_text(bad_utf8, &cfg, &d) == SHD_ERR_CONFIG);
    REQUIRE(d.count == 1);
    snprintf(want, sizeof(want), "t.yaml:7: invalid input at byte %zu: invalid leading UTF-8 octet",
             strlen(BASE "cluster:\n  name: "));
    CHECK_STR(d.msgs[0].text, want);
    shd_diag_free(&d);
}

TEST(diag_accumulates_across_loads)
{
    struct shd_config *cfg = NULL;
    struct shd_diag d;

    shd_diag_init(&d);
    CHECK(load_text(BASE "zz: 1\n", &cfg, &d) == SHD_ERR_CONFIG);
    CHECK(load_text("node: 1\n" BASE_MOUNTS, &cfg, &d) == SHD_ERR_CONFIG);
    REQUIRE(d.count == 2);
    CHECK(strncmp(d.msgs[0].text, "t.yaml:6: zz:", 13) == 0);
    CHECK_STR(d.msgs[1].text, "t.yaml:1: node: expected a map, got a string");
    shd_diag_free(&d);
}

TEST(diag_format_and_print)
{
    struct shd_diag d;
    char *out = NULL;
    size_t len = 0, i;
    FILE *f;

    shd_diag_init(&d);
    shd_diag_add(&d, "f", 0, NULL, "whole %s", "file");
    shd_diag_add(&d, "f", 3, "", "no key");
    shd_diag_add(&d, "f", 4, "a.b", "bad %d", 7);
    for (i = 0; i < SHD_DIAG_MAX; i++)
        shd_diag_add(&d, "f", 5, "x", "filler");
    CHECK(d.count == SHD_DIAG_MAX);
    CHECK(d.dropped == 3);
    f = open_memstream(&out, &len);
    REQUIRE(f);
    shd_diag_print(&d, f);
    fclose(f);
    CHECK(strncmp(out, "f: whole file\nf:3: no key\nf:4: a.b: bad 7\nf:5: x: filler\n", 51) == 0);
    CHECK(strstr(out, "\n... and 3 more errors not shown\n") != NULL);
    free(out);
    shd_diag_free(&d);
    CHECK(d.count == 0 && d.msgs == NULL);
}

TEST(strerror_texts)
{
    CHECK_STR(shd_strerror(SHD_OK), "success");
    CHECK_STR(shd_strerror(SHD_ERR_INVAL), "invalid argument");
    CHECK_STR(shd_strerror(SHD_ERR_IO), "input/output error");
    CHECK_STR(shd_strerror(SHD_ERR_CONFIG), "invalid configuration");
    CHECK_STR(shd_strerror(SHD_ERR_TOOBIG), "input too large");
    CHECK_STR(shd_strerror(SHD_ERR_UNSUPPORTED), "not supported");
    CHECK_STR(shd_strerror(-999), "unknown error");
}

TEST(oom_aborts_with_a_log_line)
{
    /* the one out-of-memory path, reached without a real allocation
     * failure: an array size that overflows */
    int fds[2], status = 0;
    char out[512];
    ssize_t n;
    pid_t pid;

    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        signal(SIGABRT, SIG_DFL);
        shd_xcalloc(SIZE_MAX, 2);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    n = read(fds[0], out, sizeof(out) - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(out, "error xalloc: out of memory, aborting size=18446744073709551615") != NULL);
}

/* ---- value parsers ----------------------------------------------------------- */

static int size_is(const char *s, uint64_t want)
{
    uint64_t v = 0;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_size(s, &v, why, sizeof(why)) != 0 || v != want) {
        fprintf(stderr, "    size \"%s\" -> %llu (%s)\n", s, (unsigned long long)v, why);
        return 0;
    }
    return 1;
}

static int size_fails(const char *s, const char *want)
{
    uint64_t v = 12345;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_size(s, &v, why, sizeof(why)) != SHD_ERR_INVAL || v != 12345 ||
        strcmp(why, want) != 0) {
        fprintf(stderr, "    size \"%s\": got \"%s\"\n", s, why);
        return 0;
    }
    return 1;
}

static int dur_is(const char *s, uint64_t want)
{
    uint64_t v = 0;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_duration(s, &v, why, sizeof(why)) != 0 || v != want) {
        fprintf(stderr, "    duration \"%s\" -> %llu (%s)\n", s, (unsigned long long)v, why);
        return 0;
    }
    return 1;
}

static int dur_fails(const char *s, const char *want)
{
    uint64_t v = 12345;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_duration(s, &v, why, sizeof(why)) != SHD_ERR_INVAL || v != 12345 ||
        strcmp(why, want) != 0) {
        fprintf(stderr, "    duration \"%s\": got \"%s\"\n", s, why);
        return 0;
    }
    return 1;
}

TEST(parse_size)
{
    CHECK(size_is("0", 0));
    CHECK(size_is("4096", 4096));
    CHECK(size_is("4MiB", 4 * MIB));
    CHECK(size_is("4 MiB", 4 * MIB));
    CHECK(size_is("4mib", 4 * MIB));
    CHECK(size_is("4  KIB", 4 * KIB));
    CHECK(size_is("1.5GiB", 3 * GIB / 2));
    CHECK(size_is("1.25KiB", 1280));
    CHECK(size_is("10GB", 10000000000ULL));
    CHECK(size_is("1TB", 1000000000000ULL));
    CHECK(size_is("1tib", TIB));
    CHECK(size_is("7B", 7));
    CHECK(size_is("0.001KB", 1));
    CHECK(size_is("0KiB", 0));
    CHECK(size_is("2.0MiB", 2 * MIB));
    CHECK(size_is("18446744073709551615", UINT64_MAX));
    CHECK(size_is("16777215TiB", 16777215ULL * TIB));
    CHECK(size_fails("18446744073709551616", "invalid size \"18446744073709551616\": too large"));
    CHECK(size_fails("16777216TiB", "invalid size \"16777216TiB\": too large"));
    CHECK(size_fails("16777215.9999999999TiB",
                     "invalid size \"16777215.9999999999TiB\": not a whole number of bytes"));
    CHECK(size_fails("0.5B", "invalid size \"0.5B\": not a whole number of bytes"));
    CHECK(size_fails("1.5", "invalid size \"1.5\": not a whole number of bytes"));
    CHECK(size_fails("1.0000000000001KB",
                     "invalid size \"1.0000000000001KB\": more than 12 digits after '.'"));
    CHECK(size_fails("-0", "invalid size \"-0\": negative values are not allowed"));
    CHECK(size_fails("-1.5GiB", "invalid size \"-1.5GiB\": negative values are not allowed"));
    CHECK(size_fails("1.", "invalid size \"1.\": expected digits after '.'"));
    CHECK(size_fails(".5KiB", "invalid size \".5KiB\": expected a number"));
    CHECK(size_fails("", "invalid size \"\": expected a number"));
    CHECK(size_fails(" 4", "invalid size \" 4\": expected a number"));
    CHECK(size_fails("+4", "invalid size \"+4\": expected a number"));
    CHECK(size_fails("4 ", "invalid size \"4 \": expected a unit after the space"));
    CHECK(size_fails("4MiBs", "invalid size \"4MiBs\": unknown unit \"MiBs\" (use B, KiB, MiB, "
                              "GiB, TiB, KB, MB, GB or TB)"));
    CHECK(size_fails("1e3", "invalid size \"1e3\": unknown unit \"e3\" (use B, KiB, MiB, GiB, "
                            "TiB, KB, MB, GB or TB)"));
    CHECK(size_fails("4k", "invalid size \"4k\": unknown unit \"k\" (use B, KiB, MiB, GiB, TiB, "
                           "KB, MB, GB or TB)"));
    /* the reason is optional */
    {
        uint64_t v;

        CHECK(shd_parse_size("x", &v, NULL, 0) == SHD_ERR_INVAL);
    }
}

TEST(parse_duration)
{
    CHECK(dur_is("500ms", 500));
    CHECK(dur_is("90s", 90000));
    CHECK(dur_is("90 s", 90000));
    CHECK(dur_is("2m", 120000));
    CHECK(dur_is("1h", 3600000));
    CHECK(dur_is("1.5h", 5400000));
    CHECK(dur_is("1d", 86400000));
    CHECK(dur_is("0s", 0));
    CHECK(dur_is("0ms", 0));
    CHECK(dur_is("1.5s", 1500));
    CHECK(dur_is("0.001s", 1));
    CHECK(dur_is("213503982334d", 213503982334ULL * 86400000ULL));
    CHECK(dur_fails("0", "invalid duration \"0\": missing unit (ms, s, m, h or d, e.g. 90s)"));
    CHECK(dur_fails("90", "invalid duration \"90\": missing unit (ms, s, m, h or d, e.g. 90s)"));
    CHECK(dur_fails("1.5ms", "invalid duration \"1.5ms\": not a whole number of milliseconds"));
    CHECK(dur_fails("0.0001s", "invalid duration \"0.0001s\": not a whole number of "
                               "milliseconds"));
    CHECK(dur_fails("1H", "invalid duration \"1H\": unknown unit \"H\" (use ms, s, m, h or d)"));
    CHECK(dur_fails("1h30m", "invalid duration \"1h30m\": unknown unit \"h30m\" (use ms, s, m, h "
                             "or d)"));
    CHECK(dur_fails("-1s", "invalid duration \"-1s\": negative values are not allowed"));
    CHECK(dur_fails("213503982335d", "invalid duration \"213503982335d\": too large"));
    CHECK(dur_fails("s", "invalid duration \"s\": expected a number"));
}

TEST(format_values)
{
    char buf[32];

    CHECK_STR(shd_format_size(0, buf, sizeof(buf)), "0");
    CHECK_STR(shd_format_size(65536, buf, sizeof(buf)), "64KiB");
    CHECK_STR(shd_format_size(4 * MIB, buf, sizeof(buf)), "4MiB");
    CHECK_STR(shd_format_size(TIB, buf, sizeof(buf)), "1TiB");
    CHECK_STR(shd_format_size(1024 * TIB, buf, sizeof(buf)), "1024TiB");
    CHECK_STR(shd_format_size(1000, buf, sizeof(buf)), "1000B");
    CHECK_STR(shd_format_size(1536, buf, sizeof(buf)), "1536B");
    CHECK_STR(shd_format_duration(0, buf, sizeof(buf)), "0s");
    CHECK_STR(shd_format_duration(1500, buf, sizeof(buf)), "1500ms");
    CHECK_STR(shd_format_duration(90000, buf, sizeof(buf)), "90s");
    CHECK_STR(shd_format_duration(3600000, buf, sizeof(buf)), "1h");
    CHECK_STR(shd_format_duration(86400000, buf, sizeof(buf)), "1d");
}

TEST(parse_scalars)
{
    uint64_t v = 0;
    bool b = false;
    char why[SHD_CFG_WHY_MAX];
    struct shd_addr a;

    CHECK(shd_cfg_parse_uint("007", 1, 10, &v, why, sizeof(why)) == 0 && v == 7);
    CHECK(shd_cfg_parse_uint("+1", 0, 10, &v, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK_STR(why, "expected a whole number, got \"+1\"");
    CHECK(shd_cfg_parse_uint("18446744073709551616", 0, UINT64_MAX, &v, why, sizeof(why)) ==
          SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, why, sizeof(why)) == 0 &&
          v == UINT64_MAX);
    CHECK(shd_cfg_parse_bool("TRUE", &b, why, sizeof(why)) == 0 && b);
    CHECK(shd_cfg_parse_bool("No", &b, why, sizeof(why)) == 0 && !b);
    CHECK(shd_cfg_parse_bool("Yes", &b, why, sizeof(why)) == 0 && b);
    CHECK(shd_cfg_parse_bool("off", &b, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[::]:0", 0, &a, why, sizeof(why)) == 0);
    CHECK_STR(a.host, "::");
    CHECK(a.port == 0);
    free(a.host);
    CHECK(shd_cfg_parse_addr("h-1.example_x:65535", 1, &a, why, sizeof(why)) == 0);
    CHECK(a.port == 65535);
    free(a.host);
    CHECK(shd_cfg_parse_addr("h:65536", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("h:000001", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[::1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[]:1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("-h:1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_edit_distance("weight", 6, "wieght", 6) == 2);
    CHECK(shd_cfg_edit_distance("s3", 2, "sr", 2) == 1);
    CHECK(shd_cfg_edit_distance("", 0, "abc", 3) == 3);
    CHECK(shd_cfg_edit_distance("NODE", 4, "node", 4) == 0);
}

/* ---- the fuzz corpus ------------------------------------------------------------ */

TEST(fuzz_corpus_replays)
{
    char dir[4096], path[8192];
    struct dirent *e;
    DIR *dp;
    int files = 0;

    snprintf(dir, sizeof(dir), "%s", src_path("tests/fuzz/corpus/config"));
    dp = opendir(dir);
    REQUIRE(dp);
    while ((e = readdir(dp)) != NULL) {
        struct shd_config *cfg = NULL;
        struct shd_diag d;
        int rc;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        shd_diag_init(&d);
        rc = shd_config_load_file(path, &cfg, &d);
        CHECK(rc == 0 || rc == SHD_ERR_CONFIG || rc == SHD_ERR_TOOBIG);
        CHECK(rc != 0 || d.count == 0);
        CHECK(rc == 0 || d.count > 0);
        if (rc == 0)
            shd_config_free(cfg);
        shd_diag_free(&d);
        files++;
    }
    closedir(dp);
    CHECK(files >= 10);
}

int main(void)
{
    RUN(full_file_round_trips_every_field);
    RUN(defaults_applied);
    RUN(empty_values_mean_absent);
    RUN(quoted_and_flow_values);
    RUN(credentials_default_profile);
    RUN(example_in_docs_is_valid);
    RUN(docs_config_md_is_generated_from_table);
    RUN(doc_error_example_is_real);
    RUN(syntax_error);
    RUN(wrong_types);
    RUN(unknown_keys);
    RUN(unknown_key_is_quoted_safely);
    RUN(duplicate_keys);
    RUN(missing_required);
    RUN(out_of_range);
    RUN(bad_sizes_and_durations);
    RUN(bad_addresses);
    RUN(duplicate_ports);
    RUN(bad_bucket_names);
    RUN(bad_ufs_uris);
    RUN(mount_rules);
    RUN(duplicate_mounts);
    RUN(credentials_forms);
    RUN(tenant_rules);
    RUN(tenants_may_come_before_mounts);
    RUN(many_errors_all_reported);
    RUN(diag_is_capped);
    RUN(empty_files);
    RUN(unreadable_files);
    RUN(too_big);
    RUN(yaml_features_refused);
    RUN(hostile_input);
    RUN(diag_accumulates_across_loads);
    RUN(diag_format_and_print);
    RUN(strerror_texts);
    RUN(oom_aborts_with_a_log_line);
    RUN(parse_size);
    RUN(parse_duration);
    RUN(format_values);
    RUN(parse_scalars);
    RUN(fuzz_corpus_replays);
    return harness_done();
}
