/* tests/unit/test_cluster_seal.c: sealing gossip with AES-256-GCM
 * (daemon/cluster/seal.c): round trips; what must not open (another key,
 * another cluster name, another kind, a flipped bit, a cut); key rotation
 * (the first key seals, all open); the replay guard (a replay, reordering
 * within the window, older than the window, a clock outside the skew,
 * forged salts cannot crowd out real senders); key files (base64, hex,
 * comments, errors with their line, what `shoal keygen` prints). */
#include "daemon/cluster/seal.c"

#include "tests/unit/harness.h"

#include <unistd.h>

#define T0 1800000000000000ULL /* a wall clock, in us */

static const uint8_t msg[] = "a gossip datagram, say";

static void key_fill(uint8_t key[CLUSTER_KEY_LEN], uint8_t v)
{
    memset(key, v, CLUSTER_KEY_LEN);
}

static struct cluster_seal *one_key(const char *cluster, uint8_t v)
{
    uint8_t k[1][CLUSTER_KEY_LEN];
    key_fill(k[0], v);
    return cluster_seal_new(cluster, k, 1);
}

/* seals MSG with A at NOW, opens with B */
static enum cluster_drop pass(struct cluster_seal *a, struct cluster_seal *b, uint64_t now,
                              enum cluster_seal_kind ka, enum cluster_seal_kind kb)
{
    uint8_t sealed[256], out[256];
    size_t n = cluster_seal(a, ka, now, msg, sizeof(msg), sealed, sizeof(sealed)), olen = 0;
    if (n != sizeof(msg) + OVERHEAD)
        return CLUSTER_DROP_COUNT;
    enum cluster_drop d = cluster_seal_open(b, kb, now, sealed, n, out, sizeof(out), &olen);
    if (d == CLUSTER_DROP_NONE && (olen != sizeof(msg) || memcmp(out, msg, olen) != 0))
        return CLUSTER_DROP_COUNT;
    return d;
}

TEST(test_round_trip_and_refusals)
{
    struct cluster_seal *a = one_key("prod", 1), *b = one_key("prod", 1);
    struct cluster_seal *other_key = one_key("prod", 2), *other_name = one_key("staging", 1);
    struct cluster_seal *ins_a = cluster_seal_new("prod", NULL, 0);
    struct cluster_seal *ins_b = cluster_seal_new("prod", NULL, 0);
    struct cluster_seal *ins_c = cluster_seal_new("dev", NULL, 0);
    REQUIRE(a && b && other_key && other_name && ins_a && ins_b && ins_c);

    CHECK(pass(a, b, T0, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(a, b, T0 + 1, CLUSTER_SEAL_STREAM, CLUSTER_SEAL_STREAM) == CLUSTER_DROP_NONE);
    /* a datagram is not a stream frame */
    CHECK(pass(a, b, T0 + 2, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_STREAM) == CLUSTER_DROP_AUTH);
    /* another key: its hint differs */
    CHECK(pass(a, other_key, T0 + 3, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_KEY);
    /* the same key, another cluster name */
    CHECK(pass(a, other_name, T0 + 4, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_AUTH);
    /* insecure: the same cluster opens, another does not, nor a keyed one */
    CHECK(pass(ins_a, ins_b, T0 + 5, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(ins_a, ins_c, T0 + 6, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) != CLUSTER_DROP_NONE);
    CHECK(pass(ins_a, b, T0 + 7, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) != CLUSTER_DROP_NONE);

    /* every flipped bit, every cut */
    uint8_t sealed[256], out[256];
    size_t n = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0 + 10, msg, sizeof(msg), sealed, 256), ol;
    int flips_ok = 1;
    for (size_t i = 0; i < n * 8; i++) {
        sealed[i / 8] ^= (uint8_t)(1 << (i % 8));
        enum cluster_drop d =
            cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 10, sealed, n, out, 256, &ol);
        flips_ok &= d != CLUSTER_DROP_NONE;
        sealed[i / 8] ^= (uint8_t)(1 << (i % 8));
    }
    CHECK(flips_ok);
    for (size_t cut = 0; cut < n; cut++)
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 10, sealed, cut, out, 256, &ol) !=
              CLUSTER_DROP_NONE);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 10, sealed, 10, out, 256, &ol) ==
          CLUSTER_DROP_SHORT);
    /* and after all that the real one still opens (no failure was remembered) */
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 10, sealed, n, out, 256, &ol) ==
          CLUSTER_DROP_NONE);
    /* too small a buffer either way */
    CHECK(cluster_seal(a, CLUSTER_SEAL_DGRAM, T0, msg, sizeof(msg), sealed, sizeof(msg) + 29) == 0);
    n = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0 + 11, msg, sizeof(msg), sealed, 256);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 11, sealed, n, out, 5, &ol) ==
          CLUSTER_DROP_TOOBIG);
    sealed[0] = 2;
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 11, sealed, n, out, 256, &ol) ==
          CLUSTER_DROP_VERSION);
    cluster_seal_free(a);
    cluster_seal_free(b);
    cluster_seal_free(other_key);
    cluster_seal_free(other_name);
    cluster_seal_free(ins_a);
    cluster_seal_free(ins_b);
    cluster_seal_free(ins_c);
}

TEST(test_rotation)
{
    /* the documented steps: add the new key second everywhere, then first,
     * then remove the old; at every step all nodes understand each other */
    uint8_t old_new[2][CLUSTER_KEY_LEN], new_old[2][CLUSTER_KEY_LEN];
    key_fill(old_new[0], 1);
    key_fill(old_new[1], 2);
    key_fill(new_old[0], 2);
    key_fill(new_old[1], 1);
    struct cluster_seal *o = one_key("c", 1), *on = cluster_seal_new("c", old_new, 2);
    struct cluster_seal *no = cluster_seal_new("c", new_old, 2), *n = one_key("c", 2);
    REQUIRE(o && on && no && n);
    uint64_t t = T0;
    CHECK(pass(o, on, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(on, o, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(on, no, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(no, on, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(no, n, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    CHECK(pass(n, no, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    /* skipping a step does not work: a node with only the old key */
    CHECK(pass(no, o, t++, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_KEY);
    cluster_seal_free(o);
    cluster_seal_free(on);
    cluster_seal_free(no);
    cluster_seal_free(n);
}

TEST(test_replay_guard)
{
    struct cluster_seal *a = one_key("c", 1), *b = one_key("c", 1);
    uint8_t sealed[80][128], out[128];
    size_t len[80], ol;
    REQUIRE(a && b);
    for (int i = 0; i < 80; i++)
        len[i] = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0 + (uint64_t)i * 1000, msg, sizeof(msg),
                              sealed[i], 128);
    /* in order, then each again */
    for (int i = 0; i < 10; i++)
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[i], len[i], out, 128,
                                &ol) == CLUSTER_DROP_NONE);
    for (int i = 0; i < 10; i++)
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[i], len[i], out, 128,
                                &ol) == CLUSTER_DROP_REPLAY);
    /* 12..79 arrive, then 10 and 11 late: within the window, taken once */
    for (int i = 12; i < 70; i++)
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[i], len[i], out, 128,
                                &ol) == CLUSTER_DROP_NONE);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[11], len[11], out, 128,
                            &ol) == CLUSTER_DROP_NONE);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[11], len[11], out, 128,
                            &ol) == CLUSTER_DROP_REPLAY);
    for (int i = 70; i < 80; i++)
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[i], len[i], out, 128,
                                &ol) == CLUSTER_DROP_NONE);
    /* 10 is now older than the last 64 taken: it cannot be told from a replay */
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 100000, sealed[10], len[10], out, 128,
                            &ol) == CLUSTER_DROP_REPLAY);
    /* a clock outside the skew, either way */
    size_t n = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0 + 200000, msg, sizeof(msg), sealed[0], 128);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 200000 + CLUSTER_SEAL_SKEW_US + 1,
                            sealed[0], n, out, 128, &ol) == CLUSTER_DROP_STALE);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 200000 - CLUSTER_SEAL_SKEW_US - 1,
                            sealed[0], n, out, 128, &ol) == CLUSTER_DROP_STALE);
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0 + 200000, sealed[0], n, out, 128, &ol) ==
          CLUSTER_DROP_NONE);
    /* a restarted sender (a new salt) is a new sender */
    struct cluster_seal *a2 = one_key("c", 1);
    REQUIRE(a2);
    CHECK(pass(a2, b, T0 + 150000, CLUSTER_SEAL_DGRAM, CLUSTER_SEAL_DGRAM) == CLUSTER_DROP_NONE);
    cluster_seal_free(a2);
    /* the counter never repeats when the clock stands still or goes back */
    uint8_t x[128], y[128];
    size_t nx = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0, msg, sizeof(msg), x, 128);
    size_t ny = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0 - 5, msg, sizeof(msg), y, 128);
    CHECK(nx == ny && memcmp(x + 2, y + 2, NONCE_LEN) != 0);
    cluster_seal_free(a);
    cluster_seal_free(b);
}

TEST(test_forged_salts_do_not_crowd_out)
{
    struct cluster_seal *a = one_key("c", 1), *b = one_key("c", 1);
    uint8_t sealed[128], out[128];
    size_t n, ol;
    REQUIRE(a && b);
    n = cluster_seal(a, CLUSTER_SEAL_DGRAM, T0, msg, sizeof(msg), sealed, 128);
    /* twice the table's size in forged salts, each with a fresh counter */
    for (uint32_t i = 0; i < 2 * CLUSTER_SEAL_SENDERS_MAX; i++) {
        uint8_t f[128];
        memcpy(f, sealed, n);
        memcpy(f + 2, &i, 4);
        f[n - 1] ^= 1;
        CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0, f, n, out, 128, &ol) ==
              CLUSTER_DROP_AUTH);
    }
    CHECK(cluster_seal_open(b, CLUSTER_SEAL_DGRAM, T0, sealed, n, out, 128, &ol) ==
          CLUSTER_DROP_NONE);
    cluster_seal_free(a);
    cluster_seal_free(b);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

TEST(test_key_files)
{
    char dir[] = "/tmp/shoal-keys-XXXXXX", path[64], why[200], line[64];
    uint8_t keys[CLUSTER_KEYS_MAX][CLUSTER_KEY_LEN];
    size_t n = 0;
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/key", dir);

    REQUIRE(cluster_key_new(line, sizeof(line)) == 0);
    CHECK(strlen(line) == 44);
    char text[512];
    snprintf(text, sizeof(text),
             "# the cluster key, first seals\n\n  %s  \n"
             "0101010101010101010101010101010101010101010101010101010101010101\n",
             line);
    REQUIRE(write_file(path, text) == 0);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == 0 && n == 2);
    uint8_t ones[CLUSTER_KEY_LEN];
    key_fill(ones, 1);
    CHECK(memcmp(keys[1], ones, CLUSTER_KEY_LEN) == 0);
    uint8_t b64[CLUSTER_KEY_LEN + 1];
    CHECK(EVP_DecodeBlock(b64, (const uint8_t *)line, 44) == 33 &&
          memcmp(b64, keys[0], CLUSTER_KEY_LEN) == 0);

    REQUIRE(write_file(path, "# c\nnot-a-key\n") == 0);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == -1);
    CHECK(strncmp(why, "line 2: not a key", 17) == 0);
    REQUIRE(write_file(path, "# only a comment\n") == 0);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == -1 && strstr(why, "no key"));
    /* 31 bytes in hex, 33 in base64: no */
    REQUIRE(write_file(path, "01010101010101010101010101010101010101010101010101010101010101\n") ==
            0);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == -1);
    char many[2048] = "";
    for (int i = 0; i < CLUSTER_KEYS_MAX + 1; i++)
        strcat(many, "0202020202020202020202020202020202020202020202020202020202020202\n");
    REQUIRE(write_file(path, many) == 0);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == -1 && strstr(why, "more than"));
    unlink(path);
    CHECK(cluster_keys_load(path, keys, &n, why, sizeof(why)) == -1 && strstr(why, "cannot open"));
    rmdir(dir);
}

int main(void)
{
    RUN(test_round_trip_and_refusals);
    RUN(test_rotation);
    RUN(test_replay_guard);
    RUN(test_forged_salts_do_not_crowd_out);
    RUN(test_key_files);
    return harness_done();
}
