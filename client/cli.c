/* client/cli.c: the `shoal` command line: global options and dispatch.
 * Built only on the public API in client/shoal.h.
 *
 * Exit codes: 0 ok, 1 the operation failed, 2 usage error. */
#include "client/cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOAL_VERSION "0.1.0"

static const char usage_text[] =
    "usage: shoal [--seeds ADDR,...] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  ring            the live cluster as a node sees it (--check: all agree?);\n"
    "                  from the seeds through libshoal when given no --node\n"
    "  ring simulate   placement figures for a hypothetical cluster\n"
    "  keygen          print a new cluster key (for cluster.secret_file)\n"
    "  stat BUCKET/KEY an object's size, ETag, mtime and type, from the cluster\n"
    "  get BUCKET/KEY  an object's bytes (or --range A-B of them) to stdout or -o FILE\n"
    "  put FILE BUCKET/KEY  write a file (or - for stdin) through the cluster to S3\n"
    "  ls BUCKET[/PREFIX]   list keys (and, without -r, the prefixes under PREFIX)\n"
    "  load BUCKET[/PREFIX] preload a prefix: every block filled once, by its owner\n"
    "  drain NODE      ask a member to hand its blocks over and leave (--wait)\n"
    "\n"
    "Global options:\n"
    "  --seeds ADDR,...  nodes to contact: their listen.peer (default: $SHOAL_SEEDS)\n"
    "  --cluster NAME    the nodes' cluster.name (default: $SHOAL_CLUSTER, else shoal)\n"
    "  --key-file FILE   the cluster key file (default: $SHOAL_KEY_FILE, else none)\n"
    "  --block-size N    the nodes' cluster.block_size in bytes (default:\n"
    "                    $SHOAL_BLOCK_SIZE, else 4194304)\n"
    "  --replication R   the nodes' cluster.replication (default: $SHOAL_REPLICATION, else 2)\n"
    "  --json            print JSON instead of text\n"
    "  -h, --help        this help; `shoal COMMAND --help` for a command's\n"
    "  --version         print the version\n"
    "\n"
    "Exit codes: 0 ok, 1 operation failed, 2 usage error.\n";

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "shoal%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try `shoal%s%s --help`)\n", cmd ? " " : "", cmd ? cmd : "");
    return CLI_EXIT_USAGE;
}

int cli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_opts o = {0};
    int i;

    static const struct {
        const char *name;
        size_t off;
    } vals[] = {
        {"--seeds", offsetof(struct cli_opts, seeds)},
        {"--cluster", offsetof(struct cli_opts, cluster)},
        {"--key-file", offsetof(struct cli_opts, key_file)},
        {"--block-size", offsetof(struct cli_opts, block_size)},
        {"--replication", offsetof(struct cli_opts, replication)},
    };
    o.seeds = getenv("SHOAL_SEEDS");
    o.cluster = getenv("SHOAL_CLUSTER");
    o.key_file = getenv("SHOAL_KEY_FILE");
    o.block_size = getenv("SHOAL_BLOCK_SIZE");
    o.replication = getenv("SHOAL_REPLICATION");
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        size_t v = 0, nl = 0;
        for (; v < sizeof(vals) / sizeof(vals[0]); v++) {
            nl = strlen(vals[v].name);
            if (strncmp(argv[i], vals[v].name, nl) == 0 && (!argv[i][nl] || argv[i][nl] == '='))
                break;
        }
        if (v < sizeof(vals) / sizeof(vals[0])) {
            const char **dst = (const char **)((char *)&o + vals[v].off);
            if (argv[i][nl] == '=')
                *dst = argv[i] + nl + 1;
            else if (++i < argc)
                *dst = argv[i];
            else
                return cli_usage_error(NULL, "%s needs a value", vals[v].name);
        } else if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("shoal %s\n", SHOAL_VERSION);
            return CLI_EXIT_OK;
        } else {
            return cli_usage_error(NULL, "unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        fputs(usage_text, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[i], "stat") == 0)
        return cli_stat(&o, argc - i, argv + i);
    if (strcmp(argv[i], "get") == 0)
        return cli_get(&o, argc - i, argv + i);
    if (strcmp(argv[i], "put") == 0)
        return cli_put(&o, argc - i, argv + i);
    if (strcmp(argv[i], "ls") == 0)
        return cli_ls(&o, argc - i, argv + i);
    if (strcmp(argv[i], "load") == 0)
        return cli_load(&o, argc - i, argv + i);
    if (strcmp(argv[i], "drain") == 0)
        return cli_drain(&o, argc - i, argv + i);
    if (strcmp(argv[i], "keygen") == 0)
        return cli_keygen(argc - i, argv + i);
    if (strcmp(argv[i], "ring") == 0) {
        if (i + 1 < argc && strcmp(argv[i + 1], "simulate") == 0)
            return cli_ring_simulate(&o, argc - i - 1, argv + i + 1);
        return cli_ring(&o, argc - i, argv + i);
    }
    return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
}
