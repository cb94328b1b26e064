/* client/cli_ring.c: `shoal ring`: the live cluster as one node sees it, a
 * table like `nodetool status`, from that node's admin endpoint
 * (GET /v1/ring, docs/cluster.md); `--check` asks every live member and
 * compares their views.
 *
 * HTTP with libcurl, JSON with jansson (a well-kept parser; none of the
 * other dependencies reads JSON). */
#include "client/cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_BODY_MAX (16u << 20) /* a /v1/ring answer, at most */
#define DEFAULT_ADMIN "127.0.0.1:7490"

static const char ring_usage[] =
    "usage: shoal [--seeds ADDR,...] ring [--node ADMIN] [--json] [--check]\n"
    "\n"
    "With seeds (--seeds or $SHOAL_SEEDS) and no --node or $SHOAL_ADMIN: the\n"
    "members through libshoal (the peer protocol, the cluster key): state,\n"
    "name, zone, peer address, weight and the share of the ring each owns as\n"
    "primary and with replicas (the global --replication), then a summary.\n"
    "\n"
    "Otherwise the cluster's members as the node at ADMIN (its listen.admin,\n"
    "host:port; default $SHOAL_ADMIN, else " DEFAULT_ADMIN ") sees them: state, name,\n"
    "zone, address, incarnation, the share of the ring each owns as primary\n"
    "and with replicas, the bytes and blocks each reports, and when it was\n"
    "last heard from; then a summary line.\n"
    "\n"
    "  --node ADMIN  the node to ask\n"
    "  --json        print the node's answer (GET /v1/ring) as it is\n"
    "  --check       also ask every live member (at its address's host and\n"
    "                admin port) and compare: exit 1 when their epochs or\n"
    "                their views of who is alive differ, naming who disagrees\n"
    "\n"
    "Exit codes: 0 ok (and, with --check, all agree), 1 the node did not\n"
    "answer or the views differ, 2 usage error.\n"
    "Also: `shoal ring simulate --help` (placement figures, no cluster).\n";

struct body {
    char *p;
    size_t len;
    int toobig;
};

static size_t on_data(char *d, size_t sz, size_t n, void *arg)
{
    struct body *b = arg;
    size_t k = sz * n;
    if (b->len + k > RING_BODY_MAX) {
        b->toobig = 1;
        return 0;
    }
    char *p = realloc(b->p, b->len + k + 1);
    if (!p)
        return 0;
    b->p = p;
    memcpy(b->p + b->len, d, k);
    b->len += k;
    b->p[b->len] = '\0';
    return k;
}

/* GET http://ADMIN/v1/ring, parsed; NULL (and a message on stderr) on
 * failure */
static json_t *fetch(const char *admin, int quiet)
{
    char url[512];
    struct body b = {NULL, 0, 0};
    long code = 0;
    CURL *c = curl_easy_init();
    CURLcode rc;
    json_error_t je;
    json_t *j = NULL;

    if (!c)
        return NULL;
    snprintf(url, sizeof(url), "http://%s/v1/ring", admin);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || code != 200) {
        if (!quiet)
            fprintf(stderr, "shoal ring: no answer from %s: %s\n", url,
                    b.toobig         ? "answer too large"
                    : rc != CURLE_OK ? curl_easy_strerror(rc)
                    : code == 404    ? "404 (not a shoald admin port, or shoald without a cluster)"
                                     : "not 200");
        free(b.p);
        return NULL;
    }
    j = json_loadb(b.p ? b.p : "", b.len, 0, &je);
    free(b.p);
    if (!j || !json_is_object(j) || !json_is_array(json_object_get(j, "members"))) {
        if (!quiet)
            fprintf(stderr, "shoal ring: %s did not answer a ring view (%s)\n", url,
                    j ? "no members" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v)
           : json_is_real(v)  ? (long long)json_real_value(v)
                              : 0;
}

static double real(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void human_bytes(unsigned long long b, char *out, size_t len)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    snprintf(out, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void heard(long long ms, char *out, size_t len)
{
    if (ms < 0)
        snprintf(out, len, "never");
    else if (ms < 10000)
        snprintf(out, len, "%.1fs", (double)ms / 1000);
    else
        snprintf(out, len, "%llds", ms / 1000);
}

static int is_live(const char *state)
{
    return strcmp(state, "alive") == 0 || strcmp(state, "suspect") == 0 ||
           strcmp(state, "leaving") == 0;
}

static void print_table(json_t *j, const char *admin)
{
    json_t *ms = json_object_get(j, "members"), *m;
    size_t i, counts[5] = {0};
    static const char *const states[] = {"alive", "suspect", "leaving", "dead", "left"};

    printf("%-8s %-16s %-10s %-22s %14s %7s %8s %10s %8s %6s\n", "STATE", "NAME", "ZONE", "ADDRESS",
           "INCARNATION", "OWNS", "W/REPL", "BYTES", "BLOCKS", "HEARD");
    json_array_foreach(ms, i, m)
    {
        char b[32], h[32], name[80];
        const char *st = str(m, "state");
        int self = json_is_true(json_object_get(m, "self"));
        for (int k = 0; k < 5; k++)
            counts[k] += strcmp(st, states[k]) == 0;
        human_bytes((unsigned long long)num(m, "bytes"), b, sizeof(b));
        heard(num(m, "heard_ms"), h, sizeof(h));
        snprintf(name, sizeof(name), "%s%s", str(m, "name"), self ? "*" : "");
        printf("%-8s %-16s %-10s %-22s %14lld %6.1f%% %7.1f%% %10s %8lld %6s\n", st, name,
               str(m, "zone"), str(m, "addr"), num(m, "incarnation"),
               100 * real(m, "share_primary"), 100 * real(m, "share_replicas"), b, num(m, "blocks"),
               self ? "-" : h);
    }
    printf("cluster %s: %zu members (%zu alive, %zu suspect, %zu leaving, %zu dead, %zu left); "
           "%lld placed, replication %lld, epoch %s; seen by %s (*), local health %lld\n",
           str(j, "cluster"), json_array_size(ms), counts[0], counts[1], counts[2], counts[3],
           counts[4], num(j, "placed"), num(j, "replication"), str(j, "epoch"), admin,
           num(j, "health"));
}

/* "name=state,..." of the live members, sorted, as a string to compare */
static char *live_set(json_t *j)
{
    json_t *ms = json_object_get(j, "members"), *m;
    size_t i, n = json_array_size(ms), len = 1;
    const char **names = calloc(n + 1, sizeof(*names));
    char *out;

    if (!names)
        return NULL;
    size_t k = 0;
    json_array_foreach(ms, i, m) if (is_live(str(m, "state"))) names[k++] = str(m, "name");
    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++)
            if (strcmp(names[b], names[a]) < 0) {
                const char *t = names[a];
                names[a] = names[b];
                names[b] = t;
            }
    for (size_t a = 0; a < k; a++)
        len += strlen(names[a]) + 1;
    out = calloc(1, len);
    for (size_t a = 0; out && a < k; a++) {
        strcat(out, names[a]);
        if (a + 1 < k)
            strcat(out, ",");
    }
    free(names);
    return out;
}

/* --check: every live member's own view against this one's */
static int check_all(json_t *j)
{
    json_t *ms = json_object_get(j, "members"), *m;
    const char *epoch = str(j, "epoch");
    char *want = live_set(j);
    size_t i, asked = 0, differ = 0;

    if (!want)
        return CLI_EXIT_FAIL;
    json_array_foreach(ms, i, m)
    {
        char admin[128], host[64];
        const char *addr = str(m, "addr"), *colon = strrchr(addr, ':');
        if (!is_live(str(m, "state")) || !colon || (size_t)(colon - addr) >= sizeof(host))
            continue;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        snprintf(admin, sizeof(admin), "%s:%lld", host, num(m, "admin_port"));
        asked++;
        json_t *o = fetch(admin, 1);
        if (!o) {
            printf("disagrees: %s (admin %s) did not answer\n", str(m, "name"), admin);
            differ++;
            continue;
        }
        char *got = live_set(o);
        if (strcmp(str(o, "epoch"), epoch) != 0 || !got || strcmp(got, want) != 0) {
            printf("disagrees: %s epoch %s live [%s]; expected epoch %s live [%s]\n",
                   str(m, "name"), str(o, "epoch"), got ? got : "?", epoch, want);
            differ++;
        }
        free(got);
        json_decref(o);
    }
    printf("check: %zu members asked, %zu disagree\n", asked, differ);
    free(want);
    return differ ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_ring(const struct cli_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"node", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *admin = getenv("SHOAL_ADMIN");
    int json = o->json, check = 0, c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        switch (c) {
        case 'n':
            admin = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'c':
            check = 1;
            break;
        case 'h':
            fputs(ring_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("ring", "unknown option or missing value: '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("ring", "unexpected argument '%s'", argv[optind]);
    if ((!admin || !*admin) && o->seeds && *o->seeds) {
        if (check)
            return cli_usage_error("ring", "--check asks the members' admin ports: give --node");
        return cli_ring_seeds(o, json);
    }
    if (!admin || !*admin)
        admin = DEFAULT_ADMIN;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_t *j = fetch(admin, 0);
    if (!j) {
        curl_global_cleanup();
        return CLI_EXIT_FAIL;
    }
    if (json) {
        char *s = json_dumps(j, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
    } else {
        print_table(j, admin);
    }
    rc = check ? check_all(j) : CLI_EXIT_OK;
    json_decref(j);
    curl_global_cleanup();
    return rc;
}
