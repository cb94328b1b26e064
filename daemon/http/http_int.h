/* daemon/http/http_int.h: what the files of the gateway's HTTP server share:
 * http.c (request parsing and the connection state machine), http_server.c
 * (listening, accepting, balancing connections over loops) and http_resp.c
 * (responses). Other subsystems use http.h. */
#ifndef SHOAL_DAEMON_HTTP_INT_H
#define SHOAL_DAEMON_HTTP_INT_H

#include "daemon/http/http.h"

#include <event2/util.h>
#include <http_parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_IDLE_TIMEOUT_S 60
#define HTTP_IO_TIMEOUT_S 60
#define HTTP_DISCARD_MAX (1024 * 1024)     /* unread bodies up to this are drained, larger close */
#define HTTP_IO_CHUNK (1024 * 1024)        /* bytes per read or write system call, at most */
#define HTTP_INPUT_MAX (2 * HTTP_IO_CHUNK) /* unparsed input held per connection, at most */

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

/* Serves fd on s's loop (peer: "host:port" for logs). COUNTED: s->nconns
 * already has it (a connection handed over by another loop). */
void http_conn_new(struct http_server *s, evutil_socket_t fd, const char *peer, int counted);
/* Ends a connection at once; the handler's abort callback runs. */
void http_conn_abort(struct http_conn *c);
/* Runs the connection's processing (and a due drain callback) from the
 * loop soon, outside the caller's stack. */
void http_conn_kick(struct http_conn *c);

#endif
