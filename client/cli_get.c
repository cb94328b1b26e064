/* client/cli_get.c: `shoal stat` and `shoal get`: an object's metadata and
 * bytes through libshoal (straight from the owners of its blocks), on the
 * public API only. */
#include "client/cli.h"
#include "client/shoal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GET_CHUNK (8u << 20) /* bytes asked of the library at once */

static const char stat_usage[] =
    "usage: shoal [GLOBAL OPTIONS] stat [--json] BUCKET/KEY\n"
    "\n"
    "The object's size, ETag, modification time and content type, as the node\n"
    "that owns the key's metadata knows them (it asks S3 when it does not).\n"
    "Exit 1 when there is no such object or the cluster cannot be reached.\n";

static const char get_usage[] =
    "usage: shoal [GLOBAL OPTIONS] get [-o FILE] [--range FIRST-LAST] BUCKET/KEY\n"
    "\n"
    "The object's bytes (or bytes FIRST..LAST, inclusive, as in an HTTP Range),\n"
    "each block straight from its owners, to standard output or FILE.\n"
    "Exit 1 when there is no such object, the range starts past its end, or\n"
    "the cluster cannot be reached.\n";

int cli_split(const char *arg, char *buf, size_t len, const char **bucket, const char **key)
{
    size_t n = strlen(arg);
    char *slash;
    if (n >= len)
        return -1;
    memcpy(buf, arg, n + 1);
    slash = strchr(buf, '/');
    if (!slash || slash == buf || !slash[1])
        return -1;
    *slash = '\0';
    *bucket = buf;
    *key = slash + 1;
    return 0;
}

int cli_split_prefix(const char *arg, char *buf, size_t len, const char **prefix)
{
    size_t n = strlen(arg);
    if (n >= len || !n || arg[0] == '/')
        return -1;
    memcpy(buf, arg, n + 1);
    char *slash = strchr(buf, '/');
    *prefix = "";
    if (slash) {
        *slash = '\0';
        *prefix = slash + 1;
    }
    return 0;
}

int cli_open_cluster(const struct cli_opts *o, const char *cmd, shoal **sh)
{
    shoal_opts so;
    uint64_t v;
    memset(&so, 0, sizeof(so));
    if (!o->seeds || !*o->seeds)
        return cli_usage_error(cmd, "no seeds: give --seeds HOST:PORT,... (the nodes' "
                                    "listen.peer) or set SHOAL_SEEDS");
    so.seeds = o->seeds;
    so.cluster = o->cluster;
    so.key_file = o->key_file;
    if (o->block_size) {
        if (cli_parse_u64(o->block_size, 65536, 64u << 20, &v) != 0)
            return cli_usage_error(cmd, "--block-size: '%s' is not a size in bytes (65536..%u)",
                                   o->block_size, 64u << 20);
        so.block_size = v;
    }
    if (o->replication) {
        if (cli_parse_u64(o->replication, 1, SHOAL_REPLICAS_MAX, &v) != 0)
            return cli_usage_error(cmd, "--replication: '%s' is not 1..%d", o->replication,
                                   SHOAL_REPLICAS_MAX);
        so.replication = (unsigned)v;
    }
    int err = shoal_open(&so, sh);
    if (err) {
        fprintf(stderr, "shoal %s: cannot reach the cluster: %s\n", cmd, shoal_strerror(err));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

void cli_json_object(const char *bucket, const char *key, const shoal_object *st)
{
    printf("{\"bucket\": ");
    cli_json_str(bucket);
    printf(", \"key\": ");
    cli_json_str(key);
    printf(", \"size\": %" PRIu64 ", \"etag\": ", st->size);
    cli_json_str(st->etag);
}

void cli_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int cli_stat(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int json = o->json, c, rc;
    char buf[2048];
    const char *bucket, *key;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(stat_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'j')
            json = 1;
        else
            return cli_usage_error("stat", "unknown option");
    }
    if (optind != argc - 1 || cli_split(argv[optind], buf, sizeof(buf), &bucket, &key) != 0)
        return cli_usage_error("stat", "give one BUCKET/KEY");
    shoal *sh;
    if ((rc = cli_open_cluster(o, "stat", &sh)) != 0)
        return rc;
    shoal_object st;
    int err = shoal_stat(sh, bucket, key, &st);
    shoal_close(sh);
    if (err) {
        fprintf(stderr, "shoal stat: %s/%s: %s\n", bucket, key,
                err == SHOAL_ENOENT ? "no such object" : shoal_strerror(err));
        return CLI_EXIT_FAIL;
    }
    if (json) {
        cli_json_object(bucket, key, &st);
        printf(", \"mtime\": %" PRId64 ", \"content_type\": ", st.mtime);
        cli_json_str(st.content_type);
        printf("}\n");
    } else {
        printf("size: %" PRIu64 "\netag: %s\nmtime: %" PRId64 "\ncontent-type: %s\n", st.size,
               st.etag, st.mtime, st.content_type);
    }
    return CLI_EXIT_OK;
}

int cli_get(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {{"range", required_argument, NULL, 'r'},
                                          {"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *out = NULL, *range = NULL, *bucket, *key;
    char buf[2048];
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(get_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'o')
            out = optarg;
        else if (c == 'r')
            range = optarg;
        else
            return cli_usage_error("get", "unknown option");
    }
    if (optind != argc - 1 || cli_split(argv[optind], buf, sizeof(buf), &bucket, &key) != 0)
        return cli_usage_error("get", "give one BUCKET/KEY");
    uint64_t first = 0, last = UINT64_MAX;
    if (range) {
        char a[32], *dash = strchr(range, '-');
        size_t al = dash ? (size_t)(dash - range) : 0;
        if (!dash || al == 0 || al >= sizeof(a))
            return cli_usage_error("get", "--range: '%s' is not FIRST-LAST", range);
        memcpy(a, range, al);
        a[al] = '\0';
        if (cli_parse_u64(a, 0, UINT64_MAX, &first) != 0 ||
            (dash[1] && cli_parse_u64(dash + 1, first, UINT64_MAX, &last) != 0))
            return cli_usage_error("get", "--range: '%s' is not FIRST-LAST (FIRST <= LAST)", range);
    }
    shoal *sh;
    if ((rc = cli_open_cluster(o, "get", &sh)) != 0)
        return rc;
    shoal_object st;
    int err = shoal_stat(sh, bucket, key, &st);
    FILE *f = NULL;
    uint8_t *chunk = NULL;
    rc = CLI_EXIT_FAIL;
    if (err) {
        fprintf(stderr, "shoal get: %s/%s: %s\n", bucket, key,
                err == SHOAL_ENOENT ? "no such object" : shoal_strerror(err));
        goto out;
    }
    if (range && first >= st.size) {
        fprintf(stderr,
                "shoal get: --range starts at %" PRIu64 ", past the end (%" PRIu64 " bytes)\n",
                first, st.size);
        goto out;
    }
    if (last >= st.size)
        last = st.size ? st.size - 1 : 0;
    f = out ? fopen(out, "wb") : stdout;
    chunk = malloc(GET_CHUNK);
    if (!f || !chunk) {
        fprintf(stderr, "shoal get: %s: %s\n", out ? out : "stdout", strerror(errno));
        goto out;
    }
    for (uint64_t pos = first; st.size && pos <= last;) {
        size_t want = last - pos + 1 < GET_CHUNK ? (size_t)(last - pos + 1) : GET_CHUNK, got;
        err = shoal_pread(sh, bucket, key, &st, chunk, want, pos, &got);
        if (err || got != want) {
            fprintf(stderr, "shoal get: %s/%s at byte %" PRIu64 ": %s\n", bucket, key, pos,
                    err ? shoal_strerror(err) : "the object is shorter than its metadata says");
            goto out;
        }
        if (fwrite(chunk, 1, got, f) != got) {
            fprintf(stderr, "shoal get: writing %s: %s\n", out ? out : "stdout", strerror(errno));
            goto out;
        }
        pos += got;
    }
    if (fflush(f) != 0) {
        fprintf(stderr, "shoal get: writing %s: %s\n", out ? out : "stdout", strerror(errno));
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    if (f && f != stdout && fclose(f) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "shoal get: writing %s: %s\n", out, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    free(chunk);
    shoal_close(sh);
    return rc;
}
