/* daemon/http/http.c: the gateway's HTTP/1.1 server (see http.h): request
 * parsing and the connection state machine. Listening and accepting:
 * http_server.c; responses: http_resp.c.
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
#include "daemon/http/http_int.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/xalloc.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

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
    int te = 0;
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
        /* a prefix, as http-parser matches it: "Transfer-Encodingx" counts
         * as Transfer-Encoding there */
        te |= strncmp(r->buf + r->hdrs[i].name, "transfer-encoding", 17) == 0;
        /* http-parser (not built strict) lets blanks into a name: RFC 9112
         * 5.1 wants a 400, for "Transfer-Encoding : chunked" is the
         * framing to a proxy in front that reads it so, and not to us */
        if (strpbrk(r->buf + r->hdrs[i].name, " \t"))
            return -1;
    }
    /* RFC 9112 6.3: a request whose Transfer-Encoding does not end in
     * chunked has no determinable length: 400, before the handler sees it
     * (http-parser only refuses it after this callback, when the handler
     * would already have taken it as a request without a body) */
    if (te && !(p->flags & F_CHUNKED))
        return -1;
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
static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

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
/* ---- connection ----------------------------------------------------------- */
void http_conn_kick(struct http_conn *c)
{
    event_active(c->kick, 0, 0);
}
void http_conn_abort(struct http_conn *c)
{
    struct http_req *r = &c->req;
    if (c->in_request) {
        c->in_request = 0;
        /* not after the response ended: the handler answered and is gone */
        if (r->body_cbs && r->body_reading && !r->body_done && !r->resp_ended) {
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

/* req_gone: the handler's request ends without a response: its abort
 * callback runs (once; not after the response ended). */
static void req_gone(struct http_conn *c)
{
    struct http_req *r = &c->req;
    void (*cb)(void *) = r->abort_cb;
    if (!c->in_request)
        return;
    c->in_request = 0;
    r->abort_cb = NULL;
    if (cb && !r->resp_ended)
        cb(r->abort_arg);
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
                        /* a malformed body: for the handler, the client
                         * went away (http.h): end(-1), then the abort
                         * callback, after which the request is not its */
                        r->body_done = 1;
                        if (!r->resp_ended) { /* else the handler answered and is gone */
                            r->body_cbs->end(r->body_arg, -1);
                            req_gone(c);
                        }
                        c->st = ST_CLOSE;
                        continue;
                    }
                }
                /* a body callback may have answered (a bad body): the
                 * handler is gone then, and hears of no end */
                if (c->message_done && !r->resp_ended) {
                    r->body_done = 1;
                    r->body_cbs->end(r->body_arg, 0);
                    continue;
                }
                if (c->message_done)
                    r->body_done = 1; /* answered from a body callback: no end */
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
    http_conn_abort(c);
}
void http_conn_new(struct http_server *s, evutil_socket_t fd, const char *peer, int counted)
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
    /* a connection whose body is paused (S3 behind) must not keep reading
     * the socket into memory: reading stops at this much unparsed input */
    bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_INPUT_MAX);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    next_request(c);
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
    http_conn_kick(c);
}

void http_req_body_resume(struct http_req *r)
{
    r->body_paused = 0;
    http_conn_kick(r->c);
}
