/* daemon/http.c: the gateway's HTTP/1.1 server (see http.h).
 *
 * Connection states:
 *   HEAD   reading a request line and headers (idle keep-alive included)
 *   BODY   the handler has the request; the body (if any) is parsed only
 *          while the handler reads it and has not paused it
 *   DRAIN  the response ended before the body was read: a small rest of the
 *          body is read and dropped, then the next request
 *   CLOSE  the response ended and the connection closes once output is sent
 * The parser is paused at the end of the headers and at the end of each
 * message, so a pipelined next request waits in the input buffer until the
 * current response has ended. */
#include "daemon/http.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/xalloc.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_IDLE_TIMEOUT_S 60
#define HTTP_IO_TIMEOUT_S 60
#define HTTP_DISCARD_MAX (1024 * 1024) /* unread bodies up to this are drained, larger close */
#define HTTP_IO_CHUNK (1024 * 1024)    /* bytes per read or write system call, at most */

enum conn_state { ST_HEAD, ST_BODY, ST_DRAIN, ST_CLOSE };

struct hdr {
    uint32_t name, value; /* offsets into req.buf */
};

struct http_req {
    struct http_conn *c;
    char *buf; /* method, target, header names and values, NUL-terminated */
    size_t len, cap;
    uint32_t method_off, target_off;
    struct hdr hdrs[HTTP_HEADERS_MAX];
    size_t nhdrs;
    int last_was_value; /* header callbacks: continuing a value or a field */
    int too_big;
    uint64_t body_len;
    uint64_t start_us;
    int is_head, expect_continue;
    /* body */
    const struct http_body_cbs *body_cbs;
    void *body_arg;
    int body_reading, body_paused, body_done;
    /* response */
    int resp_started, resp_ended, chunked, keep_alive;
    struct evbuffer *resp_hdrs;
    void (*abort_cb)(void *);
    void *abort_arg;
    void (*drain_cb)(void *);
    void *drain_arg;
    size_t drain_low;
};

struct http_conn {
    struct http_server *srv;
    struct bufferevent *bev;
    http_parser parser;
    struct http_req req;
    enum conn_state st;
    int in_request; /* the handler has the request */
    int headers_done, message_done;
    int processing, dead;
    struct event *kick; /* deferred processing and drain callbacks */
    char peer[64];
    struct http_conn *prev, *next;
};

/* A connection accepted on one loop and handed to another (balancing). */
struct handover {
    evutil_socket_t fd;
    char peer[64];
};

struct http_server {
    struct event_base *base;
    struct evconnlistener *lis;
    struct http_handler h;
    void *arg;
    struct http_conn *conns;
    /* open connections plus handed-over ones not yet taken: read by the
     * other loops of the group when they balance */
    _Atomic size_t nconns;
    struct http_server **group; /* the servers of every loop on this port */
    unsigned ngroup;
    pthread_mutex_t mu; /* guards the handover queue, filled by other loops */
    struct handover *queue;
    size_t nqueue, capqueue;
    struct event *handover_ev;
};

static http_parser_settings settings;
static void conn_process(struct http_conn *c);
static void conn_free(struct http_conn *c);

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 416:
        return "Range Not Satisfiable";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    }
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}

/* ---- request buffer ----------------------------------------------------- */

/* Appends bytes to the request's string buffer; marks too_big past the
 * ceiling instead of growing. */
static void req_append(struct http_req *r, const char *p, size_t n)
{
    if (r->too_big || r->len + n + 1 > HTTP_HEADERS_MAX_BYTES) {
        r->too_big = 1;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 1)
            cap *= 2;
        r->buf = shd_xrealloc(r->buf, cap);
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static void req_terminate(struct http_req *r)
{
    char z = '\0';
    req_append(r, &z, 1);
}

static void req_reset(struct http_req *r)
{
    struct http_conn *c = r->c;
    char *buf = r->buf;
    size_t cap = r->cap;
    struct evbuffer *rh = r->resp_hdrs;
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->buf = buf;
    r->cap = cap;
    r->resp_hdrs = rh;
    evbuffer_drain(rh, evbuffer_get_length(rh));
}

/* ---- parser callbacks ----------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = p->data;
    req_reset(&c->req);
    c->req.start_us = now_us();
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    req_append(&c->req, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_req *r = &((struct http_conn *)p->data)->req;
    if (r->nhdrs == 0 && !r->last_was_value && r->target_off == 0 && r->len > 0 &&
        r->buf[r->len - 1] != '\0')
        req_terminate(r); /* end of the target */
    if (r->last_was_value || r->nhdrs == 0) {
        if (r->nhdrs > 0)
            req_terminate(r); /* end of the previous value */
        if (r->nhdrs == HTTP_HEADERS_MAX) {
            r->too_big = 1;
            return 0;
        }
        r->hdrs[r->nhdrs].name = (uint32_t)r->len;
        r->nhdrs++;
        r->last_was_value = 0;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = at[i] >= 'A' && at[i] <= 'Z' ? (char)(at[i] + 32) : at[i];
        req_append(r, &ch, 1);
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_req *r = &((struct http_conn *)p->data)->req;
    if (r->nhdrs == 0)
        return 0;
    if (!r->last_was_value) {
        req_terminate(r); /* end of the name */
        r->hdrs[r->nhdrs - 1].value = (uint32_t)r->len;
        r->last_was_value = 1;
    }
    req_append(r, at, n);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    struct http_req *r = &c->req;
    if (r->nhdrs == 0 && r->len > 0 && r->buf[r->len - 1] != '\0')
        req_terminate(r); /* end of the target when there were no headers */
    else if (r->nhdrs > 0 && !r->last_was_value) {
        req_terminate(r);
        r->hdrs[r->nhdrs - 1].value = (uint32_t)r->len;
        req_terminate(r); /* an empty value */
    } else if (r->nhdrs > 0)
        req_terminate(r);
    r->method_off = (uint32_t)r->len;
    const char *m = http_method_str((enum http_method)p->method);
    req_append(r, m, strlen(m));
    req_terminate(r);
    r->is_head = p->method == HTTP_HEAD;
    r->keep_alive = http_should_keep_alive(p);
    if (p->flags & F_CHUNKED)
        r->body_len = HTTP_UNKNOWN_LENGTH;
    else if (p->flags & F_CONTENTLENGTH)
        r->body_len = p->content_length;
    else
        r->body_len = 0;
    for (size_t i = 0; i < r->nhdrs && !r->too_big; i++) {
        const char *v;
        /* trim trailing blanks of values (leading ones never reach us) */
        char *e = r->buf + r->hdrs[i].value + strlen(r->buf + r->hdrs[i].value);
        while (e > r->buf + r->hdrs[i].value && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (strcmp(r->buf + r->hdrs[i].name, "expect") == 0) {
            v = r->buf + r->hdrs[i].value;
            r->expect_continue = strcasecmp(v, "100-continue") == 0;
        }
    }
    c->headers_done = 1;
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    struct http_req *r = &c->req;
    if (c->st == ST_DRAIN || !r->body_cbs || r->resp_ended)
        return 0;
    if (r->body_cbs->data(r->body_arg, at, n) == 1) {
        r->body_paused = 1;
        http_parser_pause(p, 1);
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    if (c->st == ST_HEAD)
        return 0; /* the late end of the previous, bodiless request */
    c->message_done = 1;
    http_parser_pause(p, 1);
    return 0;
}

/* ---- output ------------------------------------------------------------- */

static void send_simple_error(struct http_conn *c, int status, const char *code, const char *msg)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                     "<Message>%s</Message></Error>\n",
                     code, msg);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                        "Connection: close\r\nServer: shoal\r\n\r\n",
                        status, http_status_text(status), n);
    evbuffer_add(out, body, (size_t)n);
    c->st = ST_CLOSE;
}

/* date_header: the Date header's value, formatted once a second per thread. */
static void date_header(char *buf, size_t len)
{
    static __thread time_t last = -1;
    static __thread char cached[64];
    time_t t = time(NULL);
    if (t != last) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = t;
    }
    snprintf(buf, len, "%s", cached);
}

/* ---- connection ----------------------------------------------------------- */

static void kick(struct http_conn *c)
{
    event_active(c->kick, 0, 0);
}

static void conn_abort(struct http_conn *c)
{
    struct http_req *r = &c->req;
    if (c->in_request) {
        c->in_request = 0;
        if (r->body_cbs && r->body_reading && !r->body_done) {
            r->body_done = 1;
            r->body_cbs->end(r->body_arg, -1);
        }
        if (r->abort_cb)
            r->abort_cb(r->abort_arg);
    }
    conn_free(c);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *s = c->srv;
    if (c->processing) { /* freed when the processing loop unwinds */
        c->dead = 1;
        return;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub_explicit(&s->nconns, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&shd_metrics.connections_open, 1, memory_order_relaxed);
    bufferevent_free(c->bev);
    event_free(c->kick);
    evbuffer_free(c->req.resp_hdrs);
    free(c->req.buf);
    free(c);
}

/* Feeds buffered input to the parser until it pauses or input runs out. */
static int feed(struct http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (evbuffer_get_length(in) > 0 && !c->dead) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t n = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        evbuffer_drain(in, n);
        if (c->req.too_big && !c->in_request) {
            send_simple_error(c, 400, "RequestHeaderSectionTooLarge",
                              "Your request header section exceeds the maximum allowed size.");
            return -1;
        }
        if (e == HPE_PAUSED)
            return 0;
        if (e != HPE_OK) {
            if (!c->in_request)
                send_simple_error(c, 400, "BadRequest", "Malformed HTTP request.");
            return -1;
        }
        if (n < v.iov_len)
            return -1; /* upgrade or another stop: not supported */
    }
    return 0;
}

/* Starts the next request's parsing after a response ended. */
static void next_request(struct http_conn *c)
{
    c->in_request = 0;
    c->headers_done = 0;
    c->message_done = 0;
    c->st = ST_HEAD;
    http_parser_pause(&c->parser, 0);
    bufferevent_set_timeouts(c->bev, &(struct timeval){HTTP_IDLE_TIMEOUT_S, 0},
                             &(struct timeval){HTTP_IO_TIMEOUT_S, 0});
    bufferevent_enable(c->bev, EV_READ);
}

static void conn_process(struct http_conn *c)
{
    struct http_req *r = &c->req;
    if (c->processing)
        return;
    c->processing = 1;
    for (;;) {
        if (c->dead)
            break;
        if (c->st == ST_CLOSE) {
            bufferevent_disable(c->bev, EV_READ);
            if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
                c->processing = 0;
                conn_free(c);
                return;
            }
            break;
        }
        if (c->st == ST_HEAD) {
            if (feed(c) < 0) {
                if (c->st != ST_CLOSE)
                    c->st = ST_CLOSE;
                continue;
            }
            if (!c->headers_done)
                break; /* need more input */
            c->st = ST_BODY;
            c->in_request = 1;
            bufferevent_set_timeouts(c->bev, NULL, &(struct timeval){HTTP_IO_TIMEOUT_S, 0});
            c->srv->h.on_request(r, c->srv->arg);
            continue;
        }
        if (c->st == ST_BODY) {
            if (r->body_reading && !r->body_paused && !r->body_done && !r->resp_ended) {
                if (r->body_len == 0)
                    c->message_done = 1;
                else {
                    http_parser_pause(&c->parser, 0);
                    if (feed(c) < 0) {
                        r->body_done = 1;
                        r->body_cbs->end(r->body_arg, -1);
                        c->st = ST_CLOSE;
                        continue;
                    }
                }
                if (c->message_done) {
                    r->body_done = 1;
                    r->body_cbs->end(r->body_arg, 0);
                    continue;
                }
            }
            if (r->resp_ended && evbuffer_get_length(r->resp_hdrs) == 0) {
                if (!r->keep_alive) {
                    c->st = ST_CLOSE;
                    continue;
                }
                if (r->body_len != 0 && !c->message_done) {
                    if (r->body_len != HTTP_UNKNOWN_LENGTH && r->body_len <= HTTP_DISCARD_MAX) {
                        c->st = ST_DRAIN;
                        http_parser_pause(&c->parser, 0);
                        continue;
                    }
                    c->st = ST_CLOSE;
                    continue;
                }
                next_request(c);
                continue;
            }
            break;
        }
        if (c->st == ST_DRAIN) {
            if (feed(c) < 0) {
                c->st = ST_CLOSE;
                continue;
            }
            if (!c->message_done)
                break;
            next_request(c);
            continue;
        }
    }
    c->processing = 0;
    if (c->dead)
        conn_free(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    struct http_req *r = &c->req;
    if (r->drain_cb && evbuffer_get_length(bufferevent_get_output(c->bev)) <= r->drain_low) {
        void (*cb)(void *) = r->drain_cb;
        r->drain_cb = NULL;
        cb(r->drain_arg);
        if (c->dead)
            return;
    }
    conn_process(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    struct http_req *r = &c->req;
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    if (r->drain_cb && pending <= r->drain_low) {
        void (*cb)(void *) = r->drain_cb;
        r->drain_cb = NULL;
        cb(r->drain_arg);
        return;
    }
    if (c->st == ST_CLOSE && pending == 0)
        conn_process(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)bev;
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->in_request &&
        !c->req.body_reading) {
        bufferevent_enable(c->bev, EV_READ); /* the handler is busy, not the client */
        return;
    }
    conn_abort(c);
}

/* conn_new: serves fd on s's loop. COUNTED: s->nconns already has it (a
 * handed-over connection). */
static void conn_new(struct http_server *s, evutil_socket_t fd, const char *peer, int counted)
{
    struct http_conn *c = shd_xcalloc(1, sizeof(*c));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->kick = event_new(s->base, -1, 0, kick_cb, c);
    c->req.resp_hdrs = evbuffer_new();
    if (!c->bev || !c->kick || !c->req.resp_hdrs)
        shd_oom(sizeof(*c));
    c->req.c = c;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (!counted)
        atomic_fetch_add_explicit(&s->nconns, 1, memory_order_relaxed);
    SHD_METRIC_INC(connections);
    SHD_METRIC_INC(connections_open);
    /* libevent writes at most 16 KiB per call by default: 64 writes per MiB
     * of body; 1 MiB per call cuts the gateway's CPU per byte sharply */
    bufferevent_set_max_single_write(c->bev, HTTP_IO_CHUNK);
    bufferevent_set_max_single_read(c->bev, HTTP_IO_CHUNK);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    next_request(c);
}

/* balance_target: the server that should take a connection s accepted.
 * The kernel picks the accepting loop by the CPU the connection's packets
 * arrive on (see serve.c), which keeps a connection's work on one core but
 * can pile connections on one loop when few CPUs take network interrupts
 * (a single-queue NIC, one busy client). Moving a connection gives up that
 * locality (with wrk on 2 cores, moving at even a 10/6 split took the p99
 * from 1.0 to 2.8 ms), so only a pile-up moves: s keeps the connection
 * unless it has more than twice the least loaded loop's plus 16. */
static struct http_server *balance_target(struct http_server *s)
{
    size_t mine = atomic_load_explicit(&s->nconns, memory_order_relaxed);
    size_t least = mine;
    struct http_server *t = s;
    if (s->ngroup < 2)
        return s;
    for (unsigned i = 0; i < s->ngroup; i++) {
        size_t n = atomic_load_explicit(&s->group[i]->nconns, memory_order_relaxed);
        if (n < least) {
            least = n;
            t = s->group[i];
        }
    }
    return mine > 2 * least + 16 ? t : s;
}

static void handover_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *s = arg;
    struct handover *q;
    size_t n;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&s->mu);
    q = s->queue;
    n = s->nqueue;
    s->queue = NULL;
    s->nqueue = s->capqueue = 0;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++)
        conn_new(s, q[i].fd, q[i].peer, 1);
    free(q);
}

static void hand_over(struct http_server *t, evutil_socket_t fd, const char *peer)
{
    atomic_fetch_add_explicit(&t->nconns, 1, memory_order_relaxed);
    pthread_mutex_lock(&t->mu);
    if (t->nqueue == t->capqueue) {
        t->capqueue = t->capqueue ? 2 * t->capqueue : 16;
        t->queue = shd_xrealloc(t->queue, t->capqueue * sizeof(*t->queue));
    }
    t->queue[t->nqueue].fd = fd;
    snprintf(t->queue[t->nqueue].peer, sizeof(t->queue[t->nqueue].peer), "%s", peer);
    t->nqueue++;
    pthread_mutex_unlock(&t->mu);
    SHD_METRIC_INC(connections_moved);
    event_active(t->handover_ev, EV_READ, 0); /* wakes t's loop */
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct http_server *s = arg, *t = balance_target(s);
    char peer[64] = "";
    (void)lis;
    (void)salen;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)sa;
        char h[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
        snprintf(peer, sizeof(peer), "%s:%u", h, ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        char h[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
        snprintf(peer, sizeof(peer), "[%s]:%u", h, ntohs(a->sin6_port));
    }
    if (t != s)
        hand_over(t, fd, peer);
    else
        conn_new(s, fd, peer, 0);
}

int http_server_new(struct event_base *base, evutil_socket_t listen_fd,
                    const struct http_handler *h, void *arg, struct http_server **out)
{
    struct http_server *s = shd_xcalloc(1, sizeof(*s));
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
    s->base = base;
    s->h = *h;
    s->arg = arg;
    pthread_mutex_init(&s->mu, NULL);
    s->handover_ev = event_new(base, -1, 0, handover_cb, s);
    s->lis = evconnlistener_new(base, accept_cb, s, LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd);
    if (!s->lis || !s->handover_ev) {
        if (s->lis)
            evconnlistener_free(s->lis);
        if (s->handover_ev)
            event_free(s->handover_ev);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void http_server_group(struct http_server **servers, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        servers[i]->group = servers;
        servers[i]->ngroup = n;
    }
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    evconnlistener_free(s->lis);
    while (s->conns)
        conn_abort(s->conns);
    for (size_t i = 0; i < s->nqueue; i++) /* handed over after this loop stopped */
        evutil_closesocket(s->queue[i].fd);
    free(s->queue);
    event_free(s->handover_ev);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t http_server_connections(const struct http_server *s)
{
    return atomic_load_explicit(&((struct http_server *)s)->nconns, memory_order_relaxed);
}

/* ---- request accessors ---------------------------------------------------- */

const char *http_req_method(const struct http_req *r)
{
    return r->buf + r->method_off;
}

const char *http_req_target(const struct http_req *r)
{
    return r->buf + r->target_off;
}

const char *http_req_header(const struct http_req *r, const char *lname)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (strcmp(r->buf + r->hdrs[i].name, lname) == 0)
            return r->buf + r->hdrs[i].value;
    return NULL;
}

size_t http_req_header_count(const struct http_req *r)
{
    return r->nhdrs;
}

void http_req_header_at(const struct http_req *r, size_t i, const char **lname, const char **value)
{
    *lname = r->buf + r->hdrs[i].name;
    *value = r->buf + r->hdrs[i].value;
}

uint64_t http_req_body_length(const struct http_req *r)
{
    return r->body_len;
}

uint64_t http_req_start_us(const struct http_req *r)
{
    return r->start_us;
}

const char *http_req_peer(const struct http_req *r)
{
    return r->c->peer;
}

void http_req_on_abort(struct http_req *r, void (*cb)(void *arg), void *arg)
{
    r->abort_cb = cb;
    r->abort_arg = arg;
}

void http_req_read_body(struct http_req *r, const struct http_body_cbs *cbs, void *arg)
{
    struct http_conn *c = r->c;
    r->body_cbs = cbs;
    r->body_arg = arg;
    r->body_reading = 1;
    if (r->expect_continue && r->body_len != 0) {
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
        r->expect_continue = 0;
    }
    bufferevent_set_timeouts(c->bev, &(struct timeval){HTTP_IO_TIMEOUT_S, 0},
                             &(struct timeval){HTTP_IO_TIMEOUT_S, 0});
    kick(c);
}

void http_req_body_resume(struct http_req *r)
{
    r->body_paused = 0;
    kick(r->c);
}

/* ---- response ------------------------------------------------------------- */

/* add_line: appends "A B C" (no separators) as one piece: the response head
 * is built on every request, and evbuffer_add_printf's vsnprintf was 8% of
 * a loop's CPU on small GETs. */
static void add_line(struct evbuffer *b, const char *x, const char *y, const char *z)
{
    size_t xl = strlen(x), yl = strlen(y), zl = strlen(z);
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(b, (ev_ssize_t)(xl + yl + zl), &v, 1) != 1) {
        evbuffer_add(b, x, xl);
        evbuffer_add(b, y, yl);
        evbuffer_add(b, z, zl);
        return;
    }
    char *p = v.iov_base;
    memcpy(p, x, xl);
    memcpy(p + xl, y, yl);
    memcpy(p + xl + yl, z, zl);
    v.iov_len = xl + yl + zl;
    evbuffer_commit_space(b, &v, 1);
}

void http_resp_header(struct http_req *r, const char *name, const char *value)
{
    add_line(r->resp_hdrs, name, ": ", value);
    evbuffer_add(r->resp_hdrs, "\r\n", 2);
}

void http_resp_start(struct http_req *r, int status, uint64_t content_length)
{
    struct http_conn *c = r->c;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char date[64], code[16];
    if (r->resp_started)
        return;
    r->resp_started = 1;
    /* an unread body that cannot be drained cheaply ends the connection */
    if (r->body_len != 0 && !r->body_reading &&
        (r->body_len == HTTP_UNKNOWN_LENGTH || r->body_len > HTTP_DISCARD_MAX))
        r->keep_alive = 0;
    date_header(date, sizeof(date));
    memcpy(code, "HTTP/1.1 000 ", 14);
    code[9] = (char)('0' + status / 100 % 10);
    code[10] = (char)('0' + status / 10 % 10);
    code[11] = (char)('0' + status % 10);
    add_line(out, code, http_status_text(status), "\r\nServer: shoal\r\nDate: ");
    add_line(out, date, "\r\n", "");
    evbuffer_add_buffer(out, r->resp_hdrs);
    if (status == 204 || status == 304 || status < 200) {
        /* no body, no length */
    } else if (content_length == HTTP_UNKNOWN_LENGTH && !r->is_head) {
        r->chunked = 1;
        evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    } else if (content_length != HTTP_UNKNOWN_LENGTH) {
        char num[24], *p = num + sizeof(num);
        *--p = '\0';
        do
            *--p = (char)('0' + content_length % 10);
        while ((content_length /= 10) != 0);
        add_line(out, "Content-Length: ", p, "\r\n");
    }
    if (!r->keep_alive)
        evbuffer_add_printf(out, "Connection: close\r\n");
    evbuffer_add(out, "\r\n", 2);
}

void http_resp_write(struct http_req *r, const void *buf, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(r->c->bev);
    if (r->is_head || len == 0)
        return;
    if (r->chunked)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, buf, len);
    if (r->chunked)
        evbuffer_add(out, "\r\n", 2);
}

void http_resp_write_ref(struct http_req *r, const void *buf, size_t len,
                         void (*cleanup)(const void *data, size_t len, void *arg),
                         void *cleanup_arg)
{
    struct evbuffer *out = bufferevent_get_output(r->c->bev);
    if (r->is_head || len == 0) {
        if (cleanup)
            cleanup(buf, len, cleanup_arg);
        return;
    }
    if (r->chunked)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add_reference(out, buf, len, cleanup, cleanup_arg);
    if (r->chunked)
        evbuffer_add(out, "\r\n", 2);
}

size_t http_resp_pending(const struct http_req *r)
{
    return evbuffer_get_length(bufferevent_get_output(r->c->bev));
}

void http_resp_on_drain(struct http_req *r, size_t low, void (*cb)(void *arg), void *arg)
{
    r->drain_cb = cb;
    r->drain_arg = arg;
    r->drain_low = low;
    bufferevent_setwatermark(r->c->bev, EV_WRITE, low, 0);
    if (http_resp_pending(r) <= low)
        kick(r->c);
}

void http_resp_end(struct http_req *r)
{
    struct http_conn *c = r->c;
    if (r->resp_ended)
        return;
    if (!r->resp_started)
        http_resp_start(r, 200, 0);
    if (r->chunked)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    r->resp_ended = 1;
    r->drain_cb = NULL;
    r->abort_cb = NULL;
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    kick(c);
}

void http_resp_abort(struct http_req *r)
{
    struct http_conn *c = r->c;
    r->abort_cb = NULL;
    r->drain_cb = NULL;
    r->resp_ended = 1;
    c->in_request = 0;
    /* drop what is queued and close: a short body tells the client */
    evbuffer_drain(bufferevent_get_output(c->bev),
                   evbuffer_get_length(bufferevent_get_output(c->bev)));
    c->st = ST_CLOSE;
    kick(c);
}

void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
                size_t len)
{
    if (content_type)
        http_resp_header(r, "Content-Type", content_type);
    http_resp_start(r, status, len);
    http_resp_write(r, body, len);
    http_resp_end(r);
}
