/* daemon/spot.c: the spot interruption watcher (cluster.spot_notice_url).
 *
 * A thread of its own (libcurl's blocking calls never run on a loop) asks
 * the URL every SHD_SPOT_POLL_MS, the way EC2's instance metadata service
 * wants it (IMDSv2): a session token from PUT /latest/api/token on the
 * same host (kept for its TTL, renewed when refused), then GET of the URL
 * with the token. 200 is a notice (EC2 answers 404 until one is given):
 * the main loop is told once, and the thread ends. A host that gives no
 * token (IMDSv1, or another cloud's look-alike) is asked without one. */
#include "daemon/spot.h"

#include "daemon/log.h"
#include "daemon/xalloc.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHD_SPOT_POLL_MS 5000
#define SHD_SPOT_TOKEN_TTL_S 21600
#define SHD_SPOT_BODY_MAX 4096 /* of a notice, kept for the log */
#define SHD_SPOT_TIMEOUT_MS 2000

struct shd_spot {
    char *url, *token_url;
    struct event_base *base;
    void (*notice)(void *arg);
    void *arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    char token[256];
    time_t token_until;
    char body[SHD_SPOT_BODY_MAX];
    size_t blen;
};

static size_t keep_body(char *p, size_t sz, size_t n, void *arg)
{
    struct shd_spot *sp = arg;
    size_t len = sz * n, room = sizeof(sp->body) - 1 - sp->blen;
    memcpy(sp->body + sp->blen, p, len < room ? len : room);
    sp->blen += len < room ? len : room;
    sp->body[sp->blen] = '\0';
    return len;
}

/* One request: the HTTP status, or 0 when it could not be made. */
static long request(struct shd_spot *sp, CURL *e, const char *url, int put)
{
    struct curl_slist *h = NULL;
    char line[300];
    long code = 0;
    sp->blen = 0;
    sp->body[0] = '\0';
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)SHD_SPOT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sp);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (put) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        snprintf(line, sizeof(line), "X-aws-ec2-metadata-token-ttl-seconds: %d",
                 SHD_SPOT_TOKEN_TTL_S);
        h = curl_slist_append(h, line);
    } else if (sp->token[0]) {
        snprintf(line, sizeof(line), "X-aws-ec2-metadata-token: %s", sp->token);
        h = curl_slist_append(h, line);
    }
    if (h)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    return code;
}

/* A token, when the host gives them (else none: IMDSv1). */
static void get_token(struct shd_spot *sp, CURL *e)
{
    if (sp->token[0] && time(NULL) < sp->token_until)
        return;
    sp->token[0] = '\0';
    if (request(sp, e, sp->token_url, 1) == 200 && sp->blen > 0 && sp->blen < sizeof(sp->token) &&
        !strpbrk(sp->body, "\r\n")) {
        memcpy(sp->token, sp->body, sp->blen + 1);
        sp->token_until = time(NULL) + SHD_SPOT_TOKEN_TTL_S - 60;
    }
}

static void notice_cb(evutil_socket_t fd, short what, void *arg)
{
    struct shd_spot *sp = arg;
    (void)fd;
    (void)what;
    sp->notice(sp->arg);
}

static void *spot_main(void *arg)
{
    struct shd_spot *sp = arg;
    CURL *e = curl_easy_init();
    int logged = 0;
    if (!e) {
        shd_error("spot", "cannot start the spot watcher: no curl handle");
        return NULL;
    }
    pthread_mutex_lock(&sp->mu);
    while (!sp->stop) {
        pthread_mutex_unlock(&sp->mu);
        get_token(sp, e);
        long code = request(sp, e, sp->url, 0);
        if (code == 401 && sp->token[0]) { /* the token expired early */
            sp->token[0] = '\0';
            get_token(sp, e);
            code = request(sp, e, sp->url, 0);
        }
        if (code == 200) {
            shd_warn("spot", "interruption notice: draining url=%s notice=\"%s\"", sp->url,
                     sp->body);
            if (event_base_once(sp->base, -1, EV_TIMEOUT, notice_cb, sp, NULL) != 0)
                shd_error("spot", "cannot tell the main loop of the notice");
            pthread_mutex_lock(&sp->mu);
            break;
        }
        if (code != 404 && !logged) { /* once: it is polled every 5 s */
            shd_warn("spot",
                     "the notice URL does not answer as expected (it should say 404 "
                     "until a notice) url=%s status=%ld",
                     sp->url, code);
            logged = 1;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SHD_SPOT_POLL_MS / 1000;
        pthread_mutex_lock(&sp->mu);
        while (!sp->stop && pthread_cond_timedwait(&sp->cv, &sp->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&sp->mu);
    curl_easy_cleanup(e);
    return NULL;
}

int shd_spot_start(const char *url, struct event_base *base, void (*notice)(void *arg), void *arg,
                   struct shd_spot **out)
{
    struct shd_spot *sp = shd_xcalloc(1, sizeof(*sp));
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    sp->url = shd_xstrdup(url);
    sp->base = base;
    sp->notice = notice;
    sp->arg = arg;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        shd_error("spot", "cannot parse cluster.spot_notice_url url=%s", url);
        curl_url_cleanup(u);
        shd_spot_stop(sp);
        return -1;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    size_t n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) + 32;
    sp->token_url = shd_xmalloc(n);
    snprintf(sp->token_url, n, "%s://%s%s%s/latest/api/token", scheme, host, port ? ":" : "",
             port ? port : "");
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    if (pthread_create(&sp->thread, NULL, spot_main, sp) != 0) {
        shd_error("spot", "cannot start the spot watcher thread");
        shd_spot_stop(sp);
        return -1;
    }
    sp->started = 1;
    shd_info("spot", "watching for interruption notices url=%s every_s=%d", url,
             SHD_SPOT_POLL_MS / 1000);
    *out = sp;
    return 0;
}

void shd_spot_stop(struct shd_spot *sp)
{
    if (!sp)
        return;
    if (sp->started) {
        pthread_mutex_lock(&sp->mu);
        sp->stop = 1;
        pthread_cond_signal(&sp->cv);
        pthread_mutex_unlock(&sp->mu);
        pthread_join(sp->thread, NULL);
    }
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->cv);
    free(sp->url);
    free(sp->token_url);
    free(sp);
}
