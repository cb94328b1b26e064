/* daemon/http/http_resp.c: responses of the gateway's HTTP server (see
 * http.h): the status line and headers, bodies copied or by reference
 * (chunked when the length is unknown), drain callbacks for streaming,
 * the end and the abort of a response. */
#include "daemon/http/http_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
        http_conn_kick(r->c);
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
    http_conn_kick(c);
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
    http_conn_kick(c);
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
