/* client/cli_put.c: `shoal put` (a file written through the cluster to S3)
 * and `shoal ls` (a bucket's keys), on the public API only. */
#include "client/cli.h"
#include "client/shoal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char put_usage[] =
    "usage: shoal [GLOBAL OPTIONS] put [--content-type TYPE] [--json] FILE BUCKET/KEY\n"
    "\n"
    "Writes FILE (- for standard input) as BUCKET/KEY through the node that\n"
    "owns the key's metadata, straight on to S3 (write-through); its blocks go\n"
    "to their owners and every node learns the new version before this returns.\n"
    "Prints the new version's size and ETag. At most 5 GiB.\n"
    "Exit 1 when the write failed (read-only mount, S3 refused, cluster down).\n";

static const char ls_usage[] =
    "usage: shoal [GLOBAL OPTIONS] ls [-r] [--json] BUCKET[/PREFIX]\n"
    "\n"
    "The keys under PREFIX, in key order, from S3 through a node: a line each\n"
    "with the modification time (UTC), size and key; without -r, keys are\n"
    "rolled up at the next '/' into prefixes (lines 'PRE prefix/'), as\n"
    "`aws s3 ls` does. --json prints a JSON array: {\"key\", \"size\",\n"
    "\"etag\", \"mtime\"} per key and {\"prefix\"} per prefix.\n"
    "Exit 1 when the bucket does not exist or the cluster cannot list it.\n";

/* stdin into a malloc'd buffer, at most SHOAL_PUT_MAX bytes: 0 or -1. */
static int read_stdin(uint8_t **out, size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    uint8_t *p = malloc(cap);
    while (p) {
        if (n == cap) {
            if (cap >= SHOAL_PUT_MAX + 1) {
                free(p);
                errno = EFBIG;
                return -1;
            }
            uint8_t *q = realloc(p, cap * 2);
            if (!q)
                break;
            p = q;
            cap *= 2;
        }
        ssize_t r = read(0, p + n, cap - n);
        if (r == 0) {
            *out = p;
            *len = n;
            return 0;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0)
            n += (size_t)r;
    }
    free(p);
    return -1;
}

int cli_put(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {{"content-type", required_argument, NULL, 't'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *ctype = NULL, *bucket, *key;
    int json = o->json, c, rc;
    char buf[2048];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(put_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 't')
            ctype = optarg;
        else if (c == 'j')
            json = 1;
        else
            return cli_usage_error("put", "unknown option");
    }
    if (optind != argc - 2 || cli_split(argv[optind + 1], buf, sizeof(buf), &bucket, &key) != 0)
        return cli_usage_error("put", "give FILE and BUCKET/KEY");
    const char *file = argv[optind];
    uint8_t *data = NULL;
    size_t len = 0;
    int mapped = 0;
    if (strcmp(file, "-") == 0) {
        if (read_stdin(&data, &len) != 0) {
            fprintf(stderr, "shoal put: standard input: %s\n", strerror(errno));
            return CLI_EXIT_FAIL;
        }
    } else {
        int fd = open(file, O_RDONLY);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            fprintf(stderr, "shoal put: %s: %s\n", file, strerror(errno));
            if (fd >= 0)
                close(fd);
            return CLI_EXIT_FAIL;
        }
        if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > SHOAL_PUT_MAX) {
            fprintf(stderr, "shoal put: %s: %s\n", file,
                    S_ISREG(sb.st_mode) ? "larger than 5 GiB" : "not a regular file");
            close(fd);
            return CLI_EXIT_FAIL;
        }
        len = (size_t)sb.st_size;
        if (len) {
            data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (data == MAP_FAILED) {
                fprintf(stderr, "shoal put: %s: %s\n", file, strerror(errno));
                close(fd);
                return CLI_EXIT_FAIL;
            }
            mapped = 1;
        }
        close(fd);
    }
    shoal *sh;
    if ((rc = cli_open_cluster(o, "put", &sh)) != 0)
        goto out;
    shoal_object st;
    int err = shoal_put(sh, bucket, key, data, len, ctype, &st);
    shoal_close(sh);
    rc = CLI_EXIT_FAIL;
    if (err) {
        fprintf(stderr, "shoal put: %s/%s: %s\n", bucket, key,
                err == SHOAL_ENOENT ? "no such bucket" : shoal_strerror(err));
        goto out;
    }
    if (json) {
        cli_json_object(bucket, key, &st);
        printf("}\n");
    } else {
        printf("size: %" PRIu64 "\netag: %s\n", st.size, st.etag);
    }
    rc = CLI_EXIT_OK;
out:
    if (mapped)
        munmap(data, len);
    else
        free(data);
    return rc;
}

struct ls_state {
    int json, n;
};

static int ls_entry(void *arg, const shoal_entry *e)
{
    struct ls_state *s = arg;
    if (s->json) {
        printf("%s\n  {", s->n ? "," : "");
        if (e->is_prefix) {
            printf("\"prefix\": ");
            cli_json_str(e->key);
        } else {
            printf("\"key\": ");
            cli_json_str(e->key);
            printf(", \"size\": %" PRIu64 ", \"etag\": ", e->size);
            cli_json_str(e->etag);
            printf(", \"mtime\": %" PRId64, e->mtime);
        }
        printf("}");
    } else if (e->is_prefix) {
        printf("%30s %s\n", "PRE", e->key);
    } else {
        char when[32] = "-";
        time_t t = (time_t)e->mtime;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s %10" PRIu64 " %s\n", when, e->size, e->key);
    }
    s->n++;
    return 0;
}

int cli_ls(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {{"recursive", no_argument, NULL, 'r'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    struct ls_state s = {o->json, 0};
    int recursive = 0, c, rc;
    char buf[2048];
    optind = 1;
    while ((c = getopt_long(argc, argv, "hr", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(ls_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'r')
            recursive = 1;
        else if (c == 'j')
            s.json = 1;
        else
            return cli_usage_error("ls", "unknown option");
    }
    const char *prefix;
    if (optind != argc - 1 || cli_split_prefix(argv[optind], buf, sizeof(buf), &prefix) != 0)
        return cli_usage_error("ls", "give one BUCKET[/PREFIX]");
    shoal *sh;
    if ((rc = cli_open_cluster(o, "ls", &sh)) != 0)
        return rc;
    if (s.json)
        printf("[");
    int err = shoal_list(sh, buf, prefix, recursive ? NULL : "/", NULL, ls_entry, &s);
    shoal_close(sh);
    if (s.json)
        printf("%s]\n", s.n ? "\n" : "");
    if (err) {
        fflush(stdout);
        fprintf(stderr, "shoal ls: %s: %s\n", argv[optind],
                err == SHOAL_ENOENT ? "no such bucket" : shoal_strerror(err));
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}
