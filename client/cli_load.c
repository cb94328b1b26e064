/* client/cli_load.c: `shoal load`, a preload of a prefix on the public API
 * only. Every block of every object under the prefix is asked for with a
 * one-byte read at its start: the block's primary owner fills the whole
 * block from S3 (once, however many ask: single flight) and pushes it to
 * the other owners, and one byte comes back. The objects come from a
 * recursive listing; N threads share the blocks, so one large object loads
 * as fast as many small ones. A journal (--resume FILE) records each
 * object once all of its blocks are held, so a load that was stopped goes
 * on where it was. */
#include "client/cli.h"
#include "client/shoal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char load_usage[] =
    "usage: shoal [GLOBAL OPTIONS] load [--dry-run] [--parallel N] [--resume FILE] [--json]\n"
    "                                  BUCKET[/PREFIX]\n"
    "\n"
    "Preloads every object under PREFIX into the cluster: each block is filled\n"
    "once, from S3, by its owner (and copied to its other owners), so a later\n"
    "read through any node or client is served from the cache.\n"
    "\n"
    "  --dry-run        print the plan (objects, blocks, bytes) and load nothing\n"
    "  --parallel N     blocks asked for at once (1..256, default 8)\n"
    "  --resume FILE    a journal of loaded objects: objects it names with the\n"
    "                   same ETag are skipped, and each object loaded is added\n"
    "                   (created when missing)\n"
    "  --json           the plan or the summary as one JSON object on stdout\n"
    "\n"
    "Progress goes to stderr: a bar with bytes, rate and ETA on a terminal,\n"
    "otherwise a line every 2 seconds. Exit 1 when the listing or any object\n"
    "failed (each failure is named on stderr), 2 on bad usage.\n";

struct obj {
    char *key, *etag; /* from the listing */
    uint64_t size, blocks, left;
    int state; /* 0: not stat'd, 1: being stat'd, 2: ready, 3: failed */
    int err;
    shoal_object st;
};

struct load {
    shoal *sh;
    const char *bucket;
    uint64_t bs;
    struct obj *objs;
    size_t nobjs, cap, skipped;
    uint64_t skipped_bytes;
    /* the journal of --resume: "ETAG\tKEY" lines, sorted for lookup */
    char **done;
    size_t ndone;
    FILE *journal;
    /* the work: the next (object, block), what is done */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_obj;
    uint64_t next_blk;
    uint64_t total_bytes, total_blocks, done_bytes, done_blocks;
    size_t failed, running;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A key the journal can hold in one line. */
static int journalable(const char *key, const char *etag)
{
    return !strpbrk(key, "\t\n\r") && !strpbrk(etag, "\t\n\r");
}

static int read_journal(struct load *L, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0, have = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (!strchr(line, '\t'))
            continue; /* not ours (or cut short by a crash): ignored */
        if (L->ndone == have) {
            have = have ? have * 2 : 256;
            char **p = realloc(L->done, have * sizeof(*p));
            if (!p)
                break;
            L->done = p;
        }
        if (!(L->done[L->ndone] = strdup(line)))
            break;
        L->ndone++;
    }
    free(line);
    int bad = ferror(f);
    fclose(f);
    qsort(L->done, L->ndone, sizeof(*L->done), cmp_str);
    return bad ? -1 : 0;
}

static int in_journal(const struct load *L, const char *key, const char *etag)
{
    if (!L->ndone || !journalable(key, etag))
        return 0;
    size_t n = strlen(etag) + 1 + strlen(key) + 1;
    char *k = malloc(n);
    if (!k)
        return 0;
    snprintf(k, n, "%s\t%s", etag, key);
    int hit = bsearch(&k, L->done, L->ndone, sizeof(*L->done), cmp_str) != NULL;
    free(k);
    return hit;
}

static int add_obj(void *arg, const shoal_entry *e)
{
    struct load *L = arg;
    if (e->is_prefix)
        return 0;
    if (in_journal(L, e->key, e->etag)) {
        L->skipped++;
        L->skipped_bytes += e->size;
        return 0;
    }
    if (L->nobjs == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        struct obj *p = realloc(L->objs, cap * sizeof(*p));
        if (!p)
            return SHOAL_ENOMEM;
        L->objs = p;
        L->cap = cap;
    }
    struct obj *o = &L->objs[L->nobjs];
    memset(o, 0, sizeof(*o));
    if (!(o->key = strdup(e->key)) || !(o->etag = strdup(e->etag))) {
        free(o->key);
        return SHOAL_ENOMEM;
    }
    o->size = e->size;
    o->blocks = o->left = (e->size + L->bs - 1) / L->bs;
    L->total_bytes += e->size;
    L->total_blocks += o->blocks;
    L->nobjs++;
    return 0;
}

/* An object is done: journal it, or name its failure. Under L->mu. */
static void obj_done(struct load *L, struct obj *o)
{
    if (o->err) {
        L->failed++;
        fprintf(stderr, "\nshoal load: %s/%s: %s\n", L->bucket, o->key,
                o->err == SHOAL_ENOENT     ? "deleted during the load"
                : o->err == SHOAL_ECHANGED ? "changed during the load"
                                           : shoal_strerror(o->err));
    } else if (L->journal && journalable(o->key, o->etag)) {
        fprintf(L->journal, "%s\t%s\n", o->etag, o->key);
        fflush(L->journal);
    }
}

static void *worker(void *arg)
{
    struct load *L = arg;
    uint8_t byte;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        while (L->next_obj < L->nobjs && L->next_blk >= L->objs[L->next_obj].blocks) {
            L->next_obj++;
            L->next_blk = 0;
        }
        if (L->next_obj >= L->nobjs)
            break;
        struct obj *o = &L->objs[L->next_obj];
        uint64_t blk = L->next_blk++;
        while (o->state == 1)
            pthread_cond_wait(&L->cv, &L->mu);
        if (o->state == 0) {
            /* the version to load: the owner's, which a changed object's
             * listing may not yet show */
            o->state = 1;
            pthread_mutex_unlock(&L->mu);
            int err = shoal_stat(L->sh, L->bucket, o->key, &o->st);
            pthread_mutex_lock(&L->mu);
            o->state = err ? 3 : 2;
            o->err = err;
            pthread_cond_broadcast(&L->cv);
        }
        int err = o->err;
        if (!err && o->st.size > blk * L->bs) {
            pthread_mutex_unlock(&L->mu);
            size_t n;
            err = shoal_pread(L->sh, L->bucket, o->key, &o->st, &byte, 1, blk * L->bs, &n);
            pthread_mutex_lock(&L->mu);
        }
        uint64_t end = (blk + 1) * L->bs < o->size ? (blk + 1) * L->bs : o->size;
        L->done_bytes += end - blk * L->bs;
        L->done_blocks++;
        if (err && !o->err)
            o->err = err;
        if (--o->left == 0)
            obj_done(L, o);
    }
    L->running--;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* N bytes for a person: "512 B", "3.2 MiB". */
static void human(char *buf, size_t len, double n)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    unsigned i = 0;
    while (n >= 1024 && i < 5) {
        n /= 1024;
        i++;
    }
    snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", n, u[i]);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One progress report (under L->mu): a bar redrawn in place on a terminal,
 * a line otherwise. */
static void progress(const struct load *L, double elapsed, int tty, int final)
{
    char done[32], total[32], rate[32], eta[32] = "-";
    double r = elapsed > 0 ? (double)L->done_bytes / elapsed : 0;
    double frac = L->total_bytes ? (double)L->done_bytes / (double)L->total_bytes : 1;
    human(done, sizeof(done), (double)L->done_bytes);
    human(total, sizeof(total), (double)L->total_bytes);
    human(rate, sizeof(rate), r);
    if (r > 0 && L->done_bytes < L->total_bytes) {
        double left = (double)(L->total_bytes - L->done_bytes) / r;
        if (left < 60)
            snprintf(eta, sizeof(eta), "%.0fs", left);
        else if (left < 86400)
            snprintf(eta, sizeof(eta), "%dm%02ds", (int)left / 60, (int)left % 60);
        else
            snprintf(eta, sizeof(eta), ">1d");
    } else if (L->done_bytes >= L->total_bytes) {
        snprintf(eta, sizeof(eta), "0s");
    }
    if (tty) {
        char bar[31];
        int fill = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3.0f%%  %s / %s  %s/s  ETA %s\033[K%s", bar, frac * 100, done,
                total, rate, eta, final ? "\n" : "");
    } else {
        fprintf(stderr,
                "load: %s of %s (%.0f%%), %" PRIu64 " of %" PRIu64 " blocks, %s/s, ETA %s\n", done,
                total, frac * 100, L->done_blocks, L->total_blocks, rate, eta);
    }
}

static void print_plan(const struct load *L, int json)
{
    char total[32];
    human(total, sizeof(total), (double)L->total_bytes);
    if (json) {
        printf("{\"bucket\": ");
        cli_json_str(L->bucket);
        printf(", \"objects\": %zu, \"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"block_size\": %" PRIu64 ", \"skipped\": %zu, \"skipped_bytes\": %" PRIu64
               ", \"plan\": [",
               L->nobjs, L->total_blocks, L->total_bytes, L->bs, L->skipped, L->skipped_bytes);
        for (size_t i = 0; i < L->nobjs; i++) {
            printf("%s\n  {\"key\": ", i ? "," : "");
            cli_json_str(L->objs[i].key);
            printf(", \"size\": %" PRIu64 ", \"blocks\": %" PRIu64 "}", L->objs[i].size,
                   L->objs[i].blocks);
        }
        printf("%s]}\n", L->nobjs ? "\n" : "");
        return;
    }
    for (size_t i = 0; i < L->nobjs; i++)
        printf("%12" PRIu64 " %6" PRIu64 " %s\n", L->objs[i].size, L->objs[i].blocks,
               L->objs[i].key);
    printf("plan: %zu objects, %" PRIu64 " blocks of %" PRIu64 " bytes, %" PRIu64
           " bytes (%s) to load; %zu already loaded (--resume)\n",
           L->nobjs, L->total_blocks, L->bs, L->total_bytes, total, L->skipped);
}

int cli_load(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"dry-run", no_argument, NULL, 'n'},      {"parallel", required_argument, NULL, 'p'},
        {"resume", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int dry = 0, json = o->json, c, rc;
    uint64_t par = 8;
    const char *resume = NULL;
    char buf[2048];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(load_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (c == 'n')
            dry = 1;
        else if (c == 'j')
            json = 1;
        else if (c == 'r')
            resume = optarg;
        else if (c == 'p') {
            if (cli_parse_u64(optarg, 1, 256, &par) != 0)
                return cli_usage_error("load", "--parallel: '%s' is not 1..256", optarg);
        } else {
            return cli_usage_error("load", "unknown option");
        }
    }
    const char *prefix;
    if (optind != argc - 1 || cli_split_prefix(argv[optind], buf, sizeof(buf), &prefix) != 0)
        return cli_usage_error("load", "give one BUCKET[/PREFIX]");

    struct load L;
    memset(&L, 0, sizeof(L));
    L.bucket = buf;
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.cv, NULL);
    pthread_t *th = NULL;
    size_t nth = 0;
    rc = CLI_EXIT_FAIL;
    if (resume && read_journal(&L, resume) != 0) {
        fprintf(stderr, "shoal load: %s: %s\n", resume, strerror(errno));
        goto out;
    }
    if ((rc = cli_open_cluster(o, "load", &L.sh)) != 0)
        goto out;
    rc = CLI_EXIT_FAIL;
    L.bs = shoal_block_size(L.sh);
    int err = shoal_list(L.sh, buf, prefix, NULL, NULL, add_obj, &L);
    if (err) {
        fprintf(stderr, "shoal load: %s: %s\n", argv[optind],
                err == SHOAL_ENOENT ? "no such bucket" : shoal_strerror(err));
        goto out;
    }
    if (dry) {
        print_plan(&L, json);
        rc = CLI_EXIT_OK;
        goto out;
    }
    if (resume && !(L.journal = fopen(resume, "a"))) {
        fprintf(stderr, "shoal load: %s: %s\n", resume, strerror(errno));
        goto out;
    }
    int tty = isatty(2);
    double t0 = now_s(), last = t0;
    if (!(th = calloc(par, sizeof(*th))))
        goto out;
    pthread_mutex_lock(&L.mu);
    for (; nth < par && nth < L.total_blocks; nth++) {
        if (pthread_create(&th[nth], NULL, worker, &L) != 0)
            break;
        L.running++;
    }
    while (L.running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&L.cv, &L.mu, &ts);
        double t = now_s();
        if (L.running && t - last >= (tty ? 0.2 : 2.0)) {
            progress(&L, t - t0, tty, 0);
            last = t;
        }
    }
    double secs = now_s() - t0;
    if (nth == 0 && L.total_blocks)
        fprintf(stderr, "shoal load: cannot start a thread\n");
    else
        progress(&L, secs, tty, 1);
    pthread_mutex_unlock(&L.mu);
    for (size_t i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    if (json) {
        printf("{\"bucket\": ");
        cli_json_str(L.bucket);
        printf(", \"objects\": %zu, \"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"skipped\": %zu, \"failed\": %zu, \"seconds\": %.3f}\n",
               L.nobjs, L.done_blocks, L.done_bytes, L.skipped, L.failed, secs);
    } else {
        char total[32], rate[32];
        human(total, sizeof(total), (double)L.done_bytes);
        human(rate, sizeof(rate), secs > 0 ? (double)L.done_bytes / secs : 0);
        printf("loaded %zu objects, %" PRIu64 " blocks, %" PRIu64 " bytes (%s) in %.1f s (%s/s); "
               "%zu already loaded, %zu failed\n",
               L.nobjs - L.failed, L.done_blocks, L.done_bytes, total, secs, rate, L.skipped,
               L.failed);
    }
    rc = L.failed || (nth == 0 && L.total_blocks) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
    if (L.journal && fclose(L.journal) != 0) {
        fprintf(stderr, "shoal load: %s: %s\n", resume, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    if (L.sh)
        shoal_close(L.sh);
    for (size_t i = 0; i < L.nobjs; i++) {
        free(L.objs[i].key);
        free(L.objs[i].etag);
    }
    free(L.objs);
    for (size_t i = 0; i < L.ndone; i++)
        free(L.done[i]);
    free(L.done);
    free(th);
    pthread_mutex_destroy(&L.mu);
    pthread_cond_destroy(&L.cv);
    return rc;
}
