/* daemon/http/http.h: the S3 gateway's HTTP/1.1 server: connections on libevent
 * bufferevents, requests parsed with http-parser (Debian's libhttp-parser),
 * request bodies streamed to the handler with backpressure (libevent's
 * evhttp reads whole bodies into memory, which a 5 GB PutObject cannot
 * afford), responses streamed with zero-copy references.
 *
 * Life of a request: the handler's on_request runs when the headers are in.
 * The handler may read the body (http_req_read_body), and must eventually
 * answer: http_resp_start, any number of http_resp_write*, http_resp_end (or
 * http_reply for small answers). After http_resp_end, or after the abort
 * callback ran (the client went away), the handler must not touch the
 * request again. Requests of one connection are handled one at a time, in
 * order (pipelined requests wait in the input buffer).
 *
 * Every call runs on the connection's loop thread. */
#ifndef SHOAL_DAEMON_HTTP_H
#define SHOAL_DAEMON_HTTP_H

#include <event2/util.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;
struct http_req;

#define HTTP_HEADERS_MAX_BYTES (64 * 1024) /* request line + headers */
#define HTTP_HEADERS_MAX 128
#define HTTP_UNKNOWN_LENGTH UINT64_MAX

struct http_handler {
    void (*on_request)(struct http_req *r, void *arg);
};

/* Serves connections accepted on listen_fd (bound and listening; the server
 * does not own it) on base. */
int http_server_new(struct event_base *base, evutil_socket_t listen_fd,
                    const struct http_handler *h, void *arg, struct http_server **out);
/* Makes the N servers (one per loop, listening on the same port) one group:
 * a loop that accepts a connection while it has far more than the least
 * loaded one hands the connection to that one. SERVERS must outlive them.
 * Call before the loops run. */
void http_server_group(struct http_server **servers, unsigned n);
/* Stops accepting and closes every connection (handlers' abort callbacks run). */
void http_server_free(struct http_server *s);
/* Connections open now (with those handed to this server, not yet taken). */
size_t http_server_connections(const struct http_server *s);

/* The request. Strings live as long as the request. */
const char *http_req_method(const struct http_req *r); /* "GET", "PUT", ... */
const char *http_req_target(const struct http_req *r); /* raw "/path?query" */
/* The first value of a header (name in lower case), or NULL. */
const char *http_req_header(const struct http_req *r, const char *lname);
size_t http_req_header_count(const struct http_req *r);
/* Header i: name (lower case) and value (trimmed). */
void http_req_header_at(const struct http_req *r, size_t i, const char **lname, const char **value);
/* Content-Length, 0 when there is no body, HTTP_UNKNOWN_LENGTH when chunked. */
uint64_t http_req_body_length(const struct http_req *r);
/* When the request started (CLOCK_MONOTONIC, microseconds). */
uint64_t http_req_start_us(const struct http_req *r);
/* The peer's address, "host:port". */
const char *http_req_peer(const struct http_req *r);

/* The client went away before the response ended: cb runs once, and then
 * the request is gone. */
void http_req_on_abort(struct http_req *r, void (*cb)(void *arg), void *arg);

/* Streams the body: data() gets bytes in order (return 0 to go on, 1 to
 * pause until http_req_body_resume), end() runs once with 0 when the body
 * is complete or -1 when the client went away or sent a malformed body (the
 * abort callback runs too then). Sends "100 Continue" when the client
 * asked for it. */
struct http_body_cbs {
    int (*data)(void *arg, const void *buf, size_t len);
    void (*end)(void *arg, int err);
};
void http_req_read_body(struct http_req *r, const struct http_body_cbs *cbs, void *arg);
void http_req_body_resume(struct http_req *r);

/* Response. Headers added before http_resp_start. content_length
 * HTTP_UNKNOWN_LENGTH: chunked transfer encoding. For HEAD requests the body
 * calls are ignored but Content-Length is sent as given. */
void http_resp_header(struct http_req *r, const char *name, const char *value);
void http_resp_start(struct http_req *r, int status, uint64_t content_length);
void http_resp_write(struct http_req *r, const void *buf, size_t len);
/* Sends len bytes at buf without copying; cleanup(cleanup_arg) runs when
 * they have been sent or dropped. */
void http_resp_write_ref(struct http_req *r, const void *buf, size_t len,
                         void (*cleanup)(const void *data, size_t len, void *arg),
                         void *cleanup_arg);
/* Bytes queued for the client and not yet written to the socket. */
size_t http_resp_pending(const struct http_req *r);
/* Calls cb once when the pending bytes fall to `low` or fewer (now, from the
 * loop, if they already have). */
void http_resp_on_drain(struct http_req *r, size_t low, void (*cb)(void *arg), void *arg);
/* The response is complete. */
void http_resp_end(struct http_req *r);
/* Gives up on a response already started (a failure after some body bytes
 * went out): the connection closes at once, so the client sees a short
 * body instead of a wrong one. The request is gone afterwards (no abort
 * callback). */
void http_resp_abort(struct http_req *r);

/* A whole small response in one call. */
void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
                size_t len);

const char *http_status_text(int status);

#endif
