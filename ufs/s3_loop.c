/* ufs/s3_loop.c: running S3 requests on libcurl's multi-socket interface,
 * driven by the backend's event_base: the queue of transfers waiting for a
 * connection slot, the completion scan, the classification of each attempt
 * (HTTP status and S3 error code, or transport failure, into a ufs error)
 * and the retries with full-jitter exponential backoff.
 *
 * A transfer's states:
 *   IDLE --submit--> QUEUED --kick (a slot is free)--> ACTIVE (easy in the multi)
 *   ACTIVE --curl done--> classified: success or final error -> hooks->done (IDLE)
 *                                     transient and retries left -> BACKOFF
 *   BACKOFF --timer: rand(0, min(2 s, 50 ms * 2^n))--> QUEUED
 * Each attempt gets a fresh easy handle (s3_req.c builds and signs it at
 * launch, so X-Amz-Date is current); connections stay in the multi's cache.
 * Easy handles are cleaned up only by the completion scan, which runs after
 * curl_multi_socket_action() has returned, or by ufs_s3_xfer_free() from a
 * loop callback: never from inside one of their own curl callbacks. */
#include "ufs/s3_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* rng_next: xorshift64*, for backoff jitter only. */
static uint64_t rng_next(struct ufs_s3 *u)
{
    uint64_t x = u->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    u->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- errors -------------------------------------------------------------------- */

/* ufs_s3_map_status: see s3_int.h. A 5xx (but 501) is transient whatever
 * its code; then the S3 code decides; then the status alone. */
int ufs_s3_map_status(long status, const char *code, int *retry)
{
    static const struct {
        const char *code;
        int err, retry;
    } codes[] = {
        {"NoSuchKey", UFS_ENOENT, 0},
        {"NoSuchBucket", UFS_ENOBUCKET, 0},
        {"NoSuchUpload", UFS_ECONFLICT, 0},
        {"AccessDenied", UFS_EACCES, 0},
        {"SignatureDoesNotMatch", UFS_EACCES, 0},
        {"InvalidAccessKeyId", UFS_EACCES, 0},
        {"RequestTimeTooSkewed", UFS_EACCES, 0},
        {"ExpiredToken", UFS_EACCES, 0},
        {"InvalidToken", UFS_EACCES, 0},
        {"AuthorizationHeaderMalformed", UFS_EACCES, 0},
        {"AccountProblem", UFS_EACCES, 0},
        {"PreconditionFailed", UFS_EPRECOND, 0},
        {"InvalidRange", UFS_ERANGE, 0},
        {"BucketNotEmpty", UFS_ECONFLICT, 0},
        {"BucketAlreadyExists", UFS_ECONFLICT, 0},
        {"BucketAlreadyOwnedByYou", UFS_ECONFLICT, 0},
        {"OperationAborted", UFS_ECONFLICT, 0},
        {"NotImplemented", UFS_ENOTSUP, 0},
        {"MethodNotAllowed", UFS_ENOTSUP, 0},
        {"SlowDown", UFS_EUNAVAIL, 1},
        {"InternalError", UFS_EUNAVAIL, 1},
        {"ServiceUnavailable", UFS_EUNAVAIL, 1},
        {"RequestTimeout", UFS_EUNAVAIL, 1},
    };
    size_t i;

    *retry = 0;
    if (status >= 500 && status != 501) {
        *retry = 1;
        return UFS_EUNAVAIL;
    }
    for (i = 0; code && code[0] && i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i].code) == 0) {
            *retry = codes[i].retry;
            return codes[i].err;
        }
    }
    switch (status) {
    case 400:
    case 411:
    case 413:
    case 414:
        return UFS_EINVAL;
    case 401:
    case 403:
        return UFS_EACCES;
    case 404:
        return UFS_ENOENT;
    case 405:
    case 501:
        return UFS_ENOTSUP;
    case 409:
        return UFS_ECONFLICT;
    case 412:
        return UFS_EPRECOND;
    case 416:
        return UFS_ERANGE;
    case 408:
    case 429:
        *retry = 1;
        return UFS_EUNAVAIL;
    }
    return UFS_EPROTO;
}

/* map_curl: a transport failure as a ufs error; *RETRY when transient. */
static int map_curl(CURLcode res, int *retry)
{
    *retry = 0;
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_WEIRD_SERVER_REPLY:
        *retry = 1;
        return UFS_EUNAVAIL;
    case CURLE_OUT_OF_MEMORY:
        return UFS_ENOMEM;
    case CURLE_URL_MALFORMAT:
        return UFS_EINVAL;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return UFS_EUNAVAIL;
    default:
        return UFS_EPROTO;
    }
}

/* ---- transfers: queue, completion, retries ------------------------------------ */

/* enqueue: X waits for a connection slot; the kick starts it. */
static void enqueue(struct s3_xfer *x)
{
    struct ufs_s3 *u = x->u;

    x->qnext = NULL;
    if (u->queue_tail)
        u->queue_tail->qnext = x;
    else
        u->queue_head = x;
    u->queue_tail = x;
    x->state = S3_X_QUEUED;
    ufs_s3_kick(u);
}

/* dequeue: takes X out of the queue; it is idle after. */
static void dequeue(struct s3_xfer *x)
{
    struct ufs_s3 *u = x->u;
    struct s3_xfer **pp, *prev = NULL;

    for (pp = &u->queue_head; *pp; prev = *pp, pp = &(*pp)->qnext) {
        if (*pp == x) {
            *pp = x->qnext;
            if (u->queue_tail == x)
                u->queue_tail = prev;
            break;
        }
    }
    x->qnext = NULL;
    x->state = S3_X_IDLE;
}

void ufs_s3_xfer_submit(struct s3_xfer *x)
{
    ufs_s3_xfer_reset(x);
    enqueue(x);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    struct s3_xfer *x = arg;

    (void)fd;
    (void)what;
    x->state = S3_X_IDLE;
    enqueue(x);
}

/* detach: takes the finished easy handle out of the multi and frees it. */
static void detach(struct s3_xfer *x)
{
    struct ufs_s3 *u = x->u;

    curl_multi_remove_handle(u->multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    curl_slist_free_all(x->slist);
    x->slist = NULL;
    x->state = S3_X_IDLE;
    u->n_active--;
    if (u->queue_head)
        ufs_s3_kick(u);
}

/* finish_attempt: classifies a finished attempt; retries it after a
 * jittered backoff when that is allowed, or reports the result. */
static void finish_attempt(struct s3_xfer *x, CURLcode res)
{
    struct ufs_s3 *u = x->u;
    int err = 0, retry = 0;

    detach(x);
    if (x->op->canceled)
        return;
    if (x->abort_err) {
        err = x->abort_err;
    } else if (res != CURLE_OK) {
        err = map_curl(res, &retry);
    } else if (x->status >= 200 && x->status < 300) {
        if (x->check_200_error && x->resp_len &&
            ufs_s3_xml_error_code(x->resp, x->resp_len, x->code, sizeof(x->code)) == 0)
            err = ufs_s3_map_status(0, x->code, &retry);
        if (err == UFS_EPROTO) /* an unknown code in a 200: treat as transient */
            err = UFS_EUNAVAIL, retry = 1;
    } else {
        if (x->resp_len && ufs_s3_xml_error(x->resp, x->resp_len, x->code, sizeof(x->code),
                                            x->message, sizeof(x->message)) != 0)
            x->code[0] = x->message[0] = '\0';
        err = ufs_s3_map_status(x->status, x->code, &retry);
    }
    if (err && retry && x->attempt < u->max_retries &&
        (x->body_kind != S3_BODY_STREAM || x->sent == 0 ||
         (x->hooks->rewind && x->hooks->rewind(x) == 0)) &&
        (!x->hooks->can_retry || x->hooks->can_retry(x))) {
        unsigned shift = x->attempt < 16 ? x->attempt : 16;
        uint64_t cap = (uint64_t)S3_BACKOFF_BASE_MS << shift, ms;
        struct timeval tv;

        if (cap > S3_BACKOFF_CAP_MS)
            cap = S3_BACKOFF_CAP_MS;
        ms = rng_next(u) % (cap + 1);
        if (!x->backoff)
            x->backoff = evtimer_new(u->head.base, backoff_cb, x);
        if (x->backoff) {
            tv.tv_sec = (long)(ms / 1000);
            tv.tv_usec = (long)(ms % 1000) * 1000;
            x->attempt++;
            u->head.counters.retries++;
            x->state = S3_X_BACKOFF;
            evtimer_add(x->backoff, &tv);
            return;
        }
        err = UFS_ENOMEM;
    }
    if (err)
        u->head.counters.errors++;
    if (err && x->status >= 400 && x->status < 500 && x->code[0]) {
        /* S3 said why: the caller may pass that on (ufs_error_detail) */
        struct ufs_error_detail d = {(int)x->status, x->code, x->message};
        ufs_error_detail_set(&d);
        x->hooks->done(x, err);
        ufs_error_detail_set(NULL);
        return;
    }
    x->hooks->done(x, err);
}

/* scan_done: reports the transfers curl has finished. Runs right after
 * curl_multi_socket_action(), outside every curl callback. */
static void scan_done(struct ufs_s3 *u)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
        struct s3_xfer *x = NULL;
        char *priv = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        x = (struct s3_xfer *)(void *)priv;
        if (x)
            finish_attempt(x, m->data.result);
    }
}

/* ufs_s3_xfer_free: see s3_int.h. */
void ufs_s3_xfer_free(struct s3_xfer *x)
{
    unsigned i;

    if (!x)
        return;
    if (x->state == S3_X_QUEUED)
        dequeue(x);
    else if (x->state == S3_X_ACTIVE)
        detach(x);
    if (x->backoff)
        event_free(x->backoff);
    curl_slist_free_all(x->slist);
    for (i = 0; i < x->nq; i++) {
        free(x->qname[i]);
        free(x->qval[i]);
    }
    for (i = 0; i < x->nh; i++) {
        free(x->hname[i]);
        free(x->hval[i]);
    }
    free(x->bucket);
    free(x->key);
    free(x->resp);
    free(x);
}

void ufs_s3_xfer_unpause(struct s3_xfer *x)
{
    if (x->easy && x->state == S3_X_ACTIVE)
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

/* ---- the multi and its glue to libevent -------------------------------------- */

/* kick_cb: starts queued transfers while slots are free. A transfer that
 * cannot even be built reports its error from here (the loop). */
static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ufs_s3 *u = arg;

    (void)fd;
    (void)what;
    while (u->queue_head && u->n_active < u->max_conns) {
        struct s3_xfer *x = u->queue_head;
        int err;

        dequeue(x);
        if (x->op->canceled)
            continue; /* left idle; the reaper frees it */
        err = ufs_s3_xfer_launch(x);
        if (err) {
            u->head.counters.errors++;
            x->hooks->done(x, err);
        }
    }
}

void ufs_s3_kick(struct ufs_s3 *u)
{
    event_active(u->kick, EV_TIMEOUT, 1);
}

/* sock_ev_cb: a socket curl watches is ready: tell curl, then report what
 * finished. */
static void sock_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ufs_s3 *u = arg;
    int running = 0, action = 0;

    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(u->multi, fd, action, &running);
    scan_done(u);
}

/* timer_ev_cb: curl's timeout expired: tell curl, then report what
 * finished. */
static void timer_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ufs_s3 *u = arg;
    int running = 0;

    (void)fd;
    (void)what;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    scan_done(u);
}

/* sock_free: forgets a socket curl no longer watches. */
static void sock_free(struct ufs_s3 *u, struct s3_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        u->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    event_free(s->ev);
    free(s);
}

/* sock_cb: curl says which events it wants on a socket (or to forget it). */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct ufs_s3 *u = userp;
    struct s3_sock *s = socketp;
    short kind;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(u->multi, fd, NULL);
            sock_free(u, s);
        }
        return 0;
    }
    kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->ev = event_new(u->head.base, fd, kind, sock_ev_cb, u);
        if (!s->ev) {
            free(s);
            return -1;
        }
        s->u = u;
        s->fd = fd;
        s->next = u->socks;
        if (u->socks)
            u->socks->prev = s;
        u->socks = s;
        curl_multi_assign(u->multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, u->head.base, fd, kind, sock_ev_cb, u);
    }
    return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* timer_cb: curl wants to be called after TIMEOUT_MS (-1: never). */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct ufs_s3 *u = userp;
    struct timeval tv;

    (void)m;
    if (timeout_ms < 0) {
        evtimer_del(u->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(u->timer, &tv) == 0 ? 0 : -1;
}

/* ufs_s3_multi_setup: the multi (with its socket and timer callbacks and
 * a connection cache of max_connections), the share (DNS, TLS sessions),
 * the timer and kick events and the jitter seed. Returns 0 or UFS_ENOMEM
 * (ufs_s3_multi_teardown frees what was made). */
int ufs_s3_multi_setup(struct ufs_s3 *u)
{
    struct event_base *base = u->head.base;

    u->rng = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)u << 16) ^ 0x9E3779B97F4A7C15ULL;
    if (!u->rng)
        u->rng = 1;
    u->multi = curl_multi_init();
    u->share = curl_share_init();
    u->timer = evtimer_new(base, timer_ev_cb, u);
    u->kick = event_new(base, -1, 0, kick_cb, u);
    if (!u->multi || !u->share || !u->timer || !u->kick)
        return UFS_ENOMEM;
    if (curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        return UFS_ENOMEM;
    if (curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
        curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u) != CURLM_OK ||
        curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
        curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u) != CURLM_OK ||
        curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, (long)u->max_conns) != CURLM_OK)
        return UFS_ENOMEM;
    return 0;
}

/* ufs_s3_multi_teardown: frees the multi and what goes with it; the ops
 * must be gone already. */
void ufs_s3_multi_teardown(struct ufs_s3 *u)
{
    if (u->multi)
        curl_multi_cleanup(u->multi);
    u->multi = NULL;
    while (u->socks)
        sock_free(u, u->socks);
    if (u->share)
        curl_share_cleanup(u->share);
    u->share = NULL;
    if (u->timer)
        event_free(u->timer);
    if (u->kick)
        event_free(u->kick);
    u->timer = u->kick = NULL;
}
