/* tests/unit/test_config_errors.c: every error path of shoald's
 * configuration loader, each asserted on its exact message ("FILE:LINE: KEY:
 * text"): syntax, types, unknown and duplicate keys, ranges, addresses,
 * mounts, tenants, caps on diagnostics and input size, hostile YAML, and
 * out-of-memory handling. */
#include "tests/unit/config_util.h"

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

TEST(tenant_backends_and_request_memory)
{
    EXPECT(BASE "  - {name: local, ufs: \"file:///srv/x\"}\ncache:\n  request_memory: 60MiB\n"
                "cluster:\n  block_size: 4MiB\ntenants:\n"
                "  - name: t1\n    access_key: AKIA1\n    secret_key: s\n    backend:\n"
                "      - {mount: mnt1, credentials: env}\n"
                "      - {mount: mnt1, credentials: env}\n"
                "      - {mount: local, credentials: env}\n"
                "      - {mount: \"*\", credentials: env}\n"
                "      - {mount: nope}\n",
           "t.yaml:8: cache.request_memory: must be at least 4 x cluster.block_size + 48MiB "
           "(64MiB): a fill of 4 blocks and an upload's buffers must each fit",
           "t.yaml:17: tenants[0].backend[1].mount: mount \"mnt1\" is named twice for this "
           "tenant (first at line 16)",
           "t.yaml:18: tenants[0].backend[2].mount: mount \"local\" is not an s3:// mount: it "
           "takes no credentials",
           "t.yaml:19: tenants[0].backend[3].mount: no mount named \"*\" (there is no "
           "pass-through mount \"*\")",
           "t.yaml:20: tenants[0].backend[4].credentials: missing required key",
           "t.yaml:20: tenants[0].backend[4].mount: no mount named \"nope\"");
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

int main(void)
{
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
    RUN(tenant_backends_and_request_memory);
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
    return harness_done();
}
