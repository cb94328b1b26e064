/* tests/unit/test_config.c: shoald's configuration loader (daemon/config*.c):
 * a full file checks every field, defaults, quoting, docs/config.md is
 * compared with the generated reference (the fuzz corpus is replayed by
 * test_fuzz_config, tests/fuzz/).
 * Error paths: test_config_errors.c; value parsers: test_config_values.c.
 * Run from the repository root (tests/run.sh does), or anywhere: paths fall
 * back to the location of this source file. */
#include "tests/unit/config_util.h"

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
    return harness_done();
}
