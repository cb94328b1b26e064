/* tests/fuzz/fuzz_http.c: libFuzzer target for the gateway's HTTP/1.1
 * request parsing and body framing (daemon/http/http.c over libhttp-parser):
 * request line, headers and their ceilings (HTTP_HEADERS_MAX,
 * HTTP_HEADERS_MAX_BYTES), Content-Length (and duplicates), Transfer-Encoding
 * chunked, Expect: 100-continue, bodies read, paused, resumed, drained or
 * left unread, and several requests pipelined in one input.
 *
 * How: a real connection (http_conn_new) on a socketpair with a private
 * event loop (tests/fuzz/http_pair.h), not a refactored parser, so the
 * fuzzer runs all of http.c's state machine (HEAD, BODY, DRAIN, CLOSE) and
 * http_resp.c with no change to the daemon. Input: 4 control bytes, then
 * the bytes the client sends.
 *   c0 c1  seed of the handler's choices per request: answer at once (a
 *          small body, a chunked one, or an aborted one), or read the body
 *          (pausing every 1-3 callbacks) and answer at its end
 *   c2 c3  how the second run splits the input: c2 % 32 cut points drawn
 *          from c3; 0xff with inputs up to 2 KiB: every byte on its own
 * Each input runs whole, then split; the transcripts (requests as the
 * handler saw them, body bytes and their hash, ends, aborts, the responses
 * the client got) must be equal.
 *
 * Invariants (abort() when broken): method, target and headers are sound
 * (lower-case names, trimmed values, no CR/LF, at most HTTP_HEADERS_MAX
 * headers within HTTP_HEADERS_MAX_BYTES); a request reaching the handler
 * never has two Content-Lengths nor Content-Length with Transfer-Encoding,
 * and its body length is what its headers say; body bytes never pass the
 * length, end(0) comes after exactly that many, end comes once; every
 * request gets its response or its abort callback; nothing is parsed after
 * a request that closes the connection; the client gets exactly the
 * responses the handler gave, in order, with 100 Continue only where asked,
 * and at most one 400 at the end; the connection is closed at the end.
 *
 * fuzz-args: -max_len=70000 -timeout=10
 * The seed corpus is tests/fuzz/corpus/http/; test_fuzz_http replays it. */
#include "tests/fuzz/http_pair.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CUTS_MAX 2048

enum action {
    ACT_REPLY,
    ACT_BODY,
    ACT_BODY_PAUSE,
    ACT_CHUNKED,
    ACT_BODY_CHUNKED,
    ACT_ABORT,
    ACT_N
};

struct rq {
    struct http_req *r;
    int idx, action, pause_every, calls, ended;
    uint64_t got, fnv;
    struct event *resume;
};

/* One run's state. */
static struct {
    struct pair_buf log; /* the transcript */
    uint32_t rng;
    int nreq, outstanding, closed_after; /* closed_after: a request said the connection ends */
    /* what the client must receive: "C" for 100 Continue, "S<status>,H<head>" per response */
    struct pair_buf want;
    int last_aborted; /* the last response was cut short on purpose */
} run;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_http: broken invariant: %s\ntranscript so far:\n%s\n", what,
            run.log.p ? run.log.p : "");
    abort();
}

static uint32_t rnd(void)
{
    run.rng ^= run.rng << 13;
    run.rng ^= run.rng >> 17;
    run.rng ^= run.rng << 5;
    return run.rng;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ULL;
    return h;
}

/* ---- the handler ------------------------------------------------------------ */

static void rq_free(struct rq *q)
{
    if (q->resume)
        event_free(q->resume);
    free(q);
    run.outstanding--;
}

static void expect_response(struct rq *q, int status)
{
    pair_buf_printf(&run.want, "S%d,H%d;", status, q->r->is_head);
    if (!q->r->keep_alive)
        run.closed_after = 1;
}

static void reply(struct rq *q, int chunked)
{
    static const int statuses[] = {200, 200, 204, 304, 404, 500, 206};
    int status = statuses[rnd() % (sizeof(statuses) / sizeof(statuses[0]))];
    struct http_req *r = q->r;

    if (chunked) {
        http_resp_header(r, "X-Fuzz", "chunked");
        http_resp_start(r, 200, HTTP_UNKNOWN_LENGTH);
        http_resp_write(r, "abc", 3);
        http_resp_write_ref(r, "defgh", 5, NULL, NULL);
        expect_response(q, 200);
        http_resp_end(r);
    } else {
        char body[64];
        int n = snprintf(body, sizeof(body), "req %d bytes %" PRIu64, q->idx, q->got);
        if (status == 204 || status == 304)
            n = 0; /* no body (the server would send one: handlers never do) */
        http_resp_start(r, status, (uint64_t)n);
        http_resp_write(r, body, (size_t)n);
        expect_response(q, status);
        http_resp_end(r);
    }
    pair_buf_printf(&run.log, "reply %d\n", q->idx);
    rq_free(q);
}

static void on_abort(void *arg)
{
    struct rq *q = arg;
    run.closed_after = 1; /* the connection is ending */
    pair_buf_printf(&run.log, "abort %d\n", q->idx);
    rq_free(q);
}

static void resp_abort(void *arg)
{
    struct rq *q = arg;
    pair_buf_printf(&run.log, "resp_abort %d\n", q->idx);
    http_resp_abort(q->r);
    rq_free(q);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct rq *q = arg;
    (void)fd;
    (void)what;
    http_req_body_resume(q->r);
}

static int body_data(void *arg, const void *buf, size_t len)
{
    struct rq *q = arg;
    uint64_t bl = http_req_body_length(q->r);

    if (q->ended)
        fail("body bytes after the body's end");
    q->got += len;
    q->fnv = fnv(q->fnv, buf, len);
    if (bl != HTTP_UNKNOWN_LENGTH && q->got > bl)
        fail("more body bytes than Content-Length");
    if (q->pause_every && ++q->calls % q->pause_every == 0) {
        event_active(q->resume, 0, 0);
        return 1;
    }
    return 0;
}

static void body_end(void *arg, int err)
{
    struct rq *q = arg;
    uint64_t bl = http_req_body_length(q->r);

    if (q->ended)
        fail("the body ended twice");
    q->ended = 1;
    pair_buf_printf(&run.log, "end %d err=%d bytes=%" PRIu64 " fnv=%016" PRIx64 "\n", q->idx, err,
                    q->got, q->fnv);
    if (err == 0 && bl != HTTP_UNKNOWN_LENGTH && q->got != bl)
        fail("end(0) before Content-Length bytes");
    if (err != 0 && err != -1)
        fail("end() with an error other than -1");
    if (err)
        return; /* the abort callback must follow (http.h) */
    reply(q, q->action == ACT_BODY_CHUNKED);
}

static const struct http_body_cbs cbs = {body_data, body_end};

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return 1;
    return 0;
}

/* Checks what the parser made of the request head. */
static void check_head(struct http_req *r)
{
    const char *m = http_req_method(r), *t = http_req_target(r);
    const char *cl = NULL, *te = NULL;
    int ncl = 0, nte = 0;

    if (!*m || strcmp(m, "<unknown>") == 0)
        fail("no method");
    for (const char *p = m; *p; p++)
        if (!(isupper((unsigned char)*p) || *p == '-'))
            fail("a method that is not an upper-case token");
    if (!*t)
        fail("an empty target");
    for (const char *p = t; *p; p++)
        if (*p == ' ' || *p == '\r' || *p == '\n')
            fail("white space in the target");
    if (r->too_big || r->len > HTTP_HEADERS_MAX_BYTES)
        fail("a request head over HTTP_HEADERS_MAX_BYTES reached the handler");
    if (http_req_header_count(r) > HTTP_HEADERS_MAX)
        fail("more than HTTP_HEADERS_MAX headers");
    if (r->is_head != (strcmp(m, "HEAD") == 0))
        fail("is_head does not match the method");
    for (size_t i = 0; i < http_req_header_count(r); i++) {
        const char *n, *v;
        size_t vl;
        http_req_header_at(r, i, &n, &v);
        if (!*n)
            fail("an empty header name");
        for (const char *p = n; *p; p++)
            if (isupper((unsigned char)*p) || *p == ':' || *p == ' ' || *p == '\t' || *p == '\r' ||
                *p == '\n')
                fail("a header name that is not a lower-case token");
        vl = strlen(v);
        if (has_ctl(v))
            fail("CR or LF in a header value");
        if (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            fail("a header value with trailing blanks");
        if (strcmp(n, "content-length") == 0)
            cl = v, ncl++;
        if (strcmp(n, "transfer-encoding") == 0)
            te = v, nte++;
    }
    if (ncl > 1)
        fail("two Content-Length headers reached the handler");
    if (ncl && nte)
        fail("Content-Length with Transfer-Encoding reached the handler (request smuggling)");
    if (nte && http_req_body_length(r) != HTTP_UNKNOWN_LENGTH)
        fail("Transfer-Encoding without chunked as the body's framing");
    if (r->expect_continue && !http_req_header(r, "expect"))
        fail("expect_continue without an Expect header");
    if (!nte && http_req_body_length(r) == HTTP_UNKNOWN_LENGTH)
        fail("a chunked body without Transfer-Encoding");
    if (cl) {
        char *end;
        unsigned long long n;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (*end || errno || n != http_req_body_length(r))
            fail("the body length is not the Content-Length");
    } else if (!te && http_req_body_length(r) != 0) {
        fail("a body length without Content-Length or Transfer-Encoding");
    }
    (void)te;
}

static void on_request(struct http_req *r, void *arg)
{
    struct rq *q;
    uint32_t x;
    (void)arg;

    if (run.closed_after)
        fail("a request was parsed after one that closes the connection");
    check_head(r);
    pair_buf_printf(&run.log, "req %d %s %s bl=%" PRIu64 " ka=%d ec=%d\n", run.nreq,
                    http_req_method(r), http_req_target(r), http_req_body_length(r), r->keep_alive,
                    r->expect_continue);
    for (size_t i = 0; i < http_req_header_count(r); i++) {
        const char *n, *v;
        http_req_header_at(r, i, &n, &v);
        pair_buf_printf(&run.log, "  %s: %s\n", n, v);
    }
    q = calloc(1, sizeof(*q));
    if (!q)
        abort();
    q->r = r;
    q->idx = run.nreq++;
    q->fnv = 0xcbf29ce484222325ULL;
    run.outstanding++;
    x = rnd();
    q->action = (int)(x % ACT_N);
    http_req_on_abort(r, on_abort, q);
    switch (q->action) {
    case ACT_REPLY:
        reply(q, 0);
        break;
    case ACT_CHUNKED:
        reply(q, 1);
        break;
    case ACT_ABORT: /* a failure after bytes went out, as gw_get.c has */
        http_resp_start(r, 200, 100);
        http_resp_write(r, "0123456789", 10);
        pair_buf_printf(&run.want, "S200,H%d;", r->is_head);
        run.last_aborted = !r->is_head;
        run.closed_after = 1;
        http_resp_on_drain(r, 0, resp_abort, q);
        break;
    default: /* the body, then the answer */
        if (q->action == ACT_BODY_PAUSE) {
            q->pause_every = 1 + (int)(x / ACT_N % 3);
            q->resume = event_new(pair_base, -1, 0, on_resume, q);
        }
        if (r->expect_continue && http_req_body_length(r) != 0)
            pair_buf_add(&run.want, "C;", 2);
        http_req_read_body(r, &cbs, q);
    }
}

/* ---- what the client received ---------------------------------------------------- */

struct resp_parse {
    struct pair_buf got; /* in run.want's form */
    const char *want;    /* to know which responses are to HEAD requests */
    int complete;        /* the last message ended */
};

/* The HEAD flag of the next response that want announces, from got's length. */
static int next_is_head(struct resp_parse *p)
{
    const char *w = p->want + p->got.len;
    return strncmp(w, "S", 1) == 0 && strstr(w, ",H1;") == strchr(w, ',');
}

static int rp_headers_complete(http_parser *hp)
{
    struct resp_parse *p = hp->data;
    p->complete = 0;
    if (hp->status_code == 100) {
        pair_buf_add(&p->got, "C;", 2);
        return 0;
    }
    int head = next_is_head(p);
    pair_buf_printf(&p->got, "S%d,H%d;", hp->status_code, head);
    return head ? 1 : 0; /* a response to HEAD has no body */
}

static int rp_message_complete(http_parser *hp)
{
    struct resp_parse *p = hp->data;
    p->complete = 1;
    return 0;
}

static int rp_begin(http_parser *hp)
{
    struct resp_parse *p = hp->data;
    p->complete = 0;
    return 0;
}

static void check_responses(const struct pair_buf *out)
{
    static const http_parser_settings s = {
        .on_message_begin = rp_begin,
        .on_headers_complete = rp_headers_complete,
        .on_message_complete = rp_message_complete,
    };
    struct resp_parse p = {.want = run.want.p ? run.want.p : "", .complete = 1};
    http_parser hp;
    size_t n;

    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &p;
    pair_buf_add(&p.got, "", 0);
    n = http_parser_execute(&hp, &s, out->p ? out->p : "", out->len);
    if (n != out->len || HTTP_PARSER_ERRNO(&hp) != HPE_OK) {
        fprintf(stderr, "server sent:\n%.*s\n", (int)out->len, out->p ? out->p : "");
        fail("the server's output is not a sequence of HTTP responses");
    }
    http_parser_execute(&hp, &s, NULL, 0); /* the end of the stream */
    /* the wanted responses, then at most one 400 (a malformed or oversized head) */
    if (strncmp(p.got.p, p.want, strlen(p.want)) != 0 ||
        (strcmp(p.got.p + strlen(p.want), "") != 0 &&
         strcmp(p.got.p + strlen(p.want), "S400,H0;") != 0)) {
        fprintf(stderr, "wanted: %s\ngot:    %s\nserver sent:\n%.*s\n", p.want, p.got.p,
                (int)out->len, out->p ? out->p : "");
        fail("the client did not get the responses the handler gave");
    }
    if (!p.complete && !(run.last_aborted && strcmp(p.got.p, p.want) == 0)) {
        fprintf(stderr, "server sent:\n%.*s\n", (int)out->len, out->p ? out->p : "");
        fail("a response was cut short");
    }
    pair_buf_printf(&run.log, "client got %s complete=%d\n", p.got.p, p.complete);
    pair_buf_free(&p.got);
}

/* ---- one input ---------------------------------------------------------------- */

/* Runs the connection over the input split at CUTS; returns the transcript. */
static char *one_run(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts, uint32_t seed)
{
    struct pair_buf out = {0};
    char *t;

    memset(&run, 0, sizeof(run));
    run.rng = seed ? seed : 1;
    pair_buf_add(&run.log, "", 0);
    pair_buf_add(&run.want, "", 0);
    if (pair_run(in, len, cuts, ncuts, &out) != 0)
        fail("the connection did not settle, or stayed open after the client left");
    if (run.outstanding != 0)
        fail("a request got neither its response nor its abort callback");
    check_responses(&out);
    t = run.log.p;
    pair_buf_free(&out);
    pair_buf_free(&run.want);
    return t;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t cuts[CUTS_MAX];
    size_t ncuts = 0, len;
    const uint8_t *in;
    uint32_t seed, r;
    char *whole, *split;

    if (size < 4)
        return 0;
    pair_init(on_request, NULL);
    seed = (uint32_t)data[0] << 8 | data[1];
    seed = seed * 2654435761u + 1;
    in = data + 4;
    len = size - 4;
    if (data[2] == 0xff && len <= 2048) {
        for (size_t i = 1; i < len; i++)
            cuts[ncuts++] = i;
    } else if (len > 1) {
        r = (uint32_t)data[3] * 2654435761u + 7;
        for (size_t i = 0; i < (size_t)(data[2] % 32); i++) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            cuts[ncuts++] = 1 + r % (len - 1);
        }
        qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
    }
    whole = one_run(in, len, NULL, 0, seed);
    if (ncuts) {
        split = one_run(in, len, cuts, ncuts, seed);
        if (strcmp(whole, split) != 0) {
            fprintf(stderr, "whole input:\n%s\nsplit in %zu pieces:\n%s\n", whole, ncuts + 1,
                    split);
            free(whole);
            free(split);
            fail("the input split in pieces was not handled as the whole input");
        }
        free(split);
    }
    free(whole);
    return 0;
}
