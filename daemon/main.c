/* daemon/main.c: the shoald command line: parse options, load and check
 * the configuration, then serve (daemon/serve.c) or exit.
 *
 * Exit codes: 0 ok; 1 invalid configuration or serving failed; 2 usage. */
#include "daemon/config/config.h"
#include "daemon/err.h"
#include "daemon/serve.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#define SHD_MMAP_THRESHOLD (256 << 10)

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.1.0-dev"
#endif

#define SHD_DEFAULT_CONFIG "/etc/shoal/shoald.yaml"

enum { SHD_EXIT_OK = 0, SHD_EXIT_FAIL = 1, SHD_EXIT_USAGE = 2 };

enum shd_mode { SHD_MODE_SERVE, SHD_MODE_CHECK, SHD_MODE_DOC, SHD_MODE_HELP, SHD_MODE_VERSION };

static void shd_usage(FILE *f)
{
    fprintf(f, "usage: shoald [-c FILE] [--check-config] [--print-config-doc] [--help] "
               "[--version]\n"
               "\n"
               "Run a shoal cache node configured by FILE (default " SHD_DEFAULT_CONFIG ").\n"
               "\n"
               "  -c, --config FILE     configuration file (YAML, see docs/config.md)\n"
               "      --check-config    check the configuration, print every error, exit\n"
               "      --print-config-doc\n"
               "                        print the configuration reference (Markdown)\n"
               "  -h, --help            print this help\n"
               "  -V, --version         print the version\n"
               "\n"
               "Exit codes: 0 ok, 1 invalid configuration or failure, 2 usage error.\n");
}

static int shd_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "shoald: %s%s%s%s (try 'shoald --help')\n", what, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "");
    return SHD_EXIT_USAGE;
}

/* shd_warn_config: warnings about a valid configuration an operator should
 * see: anonymous gateway access, unauthenticated peers. */
static void shd_warn_config(const struct shd_config *cfg)
{
    if (cfg->n_tenants == 0)
        fprintf(stderr,
                "shoald: warning: %s: no tenants: the S3 gateway allows anonymous "
                "access to every mount (for tests and local use only)\n",
                cfg->source);
    if (!cfg->cluster.secret_file)
        fprintf(stderr,
                "shoald: warning: %s: no cluster.secret_file: gossip is sealed with a key "
                "anyone can derive from the cluster name; only loopback peers are joined%s\n",
                cfg->source,
                cfg->cluster.insecure ? ", but cluster.insecure joins any (trusted networks "
                                        "only)"
                                      : "");
}

/* shd_load: load PATH; on failure print every error and return NULL. */
static struct shd_config *shd_load(const char *path)
{
    struct shd_diag diag;
    struct shd_config *cfg = NULL;
    int rc;

    shd_diag_init(&diag);
    rc = shd_config_load_file(path, &cfg, &diag);
    if (rc) {
        shd_diag_print(&diag, stderr);
        if (rc == SHD_ERR_CONFIG)
            fprintf(stderr, "shoald: %s: %zu error%s\n", path, shd_diag_errors(&diag),
                    shd_diag_errors(&diag) == 1 ? "" : "s");
        cfg = NULL;
    }
    shd_diag_free(&diag);
    return cfg;
}

/* main: parse options, then print help, version or docs, check the
 * configuration, or load it and serve. Returns an SHD_EXIT_* code. */
int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},     {"check-config", no_argument, NULL, 'C'},
        {"print-config-doc", no_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0},
    };
    const char *path = SHD_DEFAULT_CONFIG;
    int check = 0, doc = 0, help = 0, version = 0;
    struct shd_config *cfg;
    int c, rc;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'D':
            doc = 1;
            break;
        case 'h':
            help = 1;
            break;
        case 'V':
            version = 1;
            break;
        case ':':
            return shd_usage_error("option needs an argument:", argv[optind - 1]);
        default:
            if (optopt) { /* a short option, maybe inside a cluster such as -Cx */
                char opt[3] = {'-', (char)optopt, '\0'};

                return shd_usage_error("unknown option", opt);
            }
            return shd_usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return shd_usage_error("unexpected argument", argv[optind]);
    if (help) {
        shd_usage(stdout);
        return SHD_EXIT_OK;
    }
    if (version) {
        printf("shoald %s\n", SHOAL_VERSION);
        return SHD_EXIT_OK;
    }
    if (doc) {
        if (check)
            return shd_usage_error("--print-config-doc and --check-config exclude each other",
                                   NULL);
        return shd_config_doc_write(stdout) ? SHD_EXIT_FAIL : SHD_EXIT_OK;
    }
    cfg = shd_load(path);
    if (!cfg)
        return SHD_EXIT_FAIL;
    shd_warn_config(cfg);
    if (check) {
        printf("config ok\n");
        shd_config_free(cfg);
        return SHD_EXIT_OK;
    }
    /* Buffers this large (blocks, upload and body buffers) get mappings of
     * their own, so freeing one gives its memory back to the system at
     * once and the RSS follows cache.memory and cache.request_memory. With
     * glibc's default the threshold rises to the largest chunk freed (up to
     * 32 MiB), after which such buffers come from the heap, which keeps
     * what is freed: 256 concurrent cold GETs left the RSS 100 MiB and more
     * above what the tier and the budget held. */
    mallopt(M_MMAP_THRESHOLD, SHD_MMAP_THRESHOLD);
    rc = shd_serve(cfg);
    shd_config_free(cfg);
    return rc ? SHD_EXIT_FAIL : SHD_EXIT_OK;
}
