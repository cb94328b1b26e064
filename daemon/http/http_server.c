/* daemon/http/http_server.c: the listening side of the gateway's HTTP server
 * (see http.h): one server per event loop on the loop's own SO_REUSEPORT
 * socket, accepting connections and, in a group of loops on one port,
 * handing a new connection to a less loaded loop when its own is crowded. */
#include "daemon/http/http_int.h"

#include "daemon/metrics.h"
#include "daemon/xalloc.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

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
        http_conn_new(s, q[i].fd, q[i].peer, 1);
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
        http_conn_new(s, fd, peer, 0);
}

int http_server_new(struct event_base *base, evutil_socket_t listen_fd,
                    const struct http_handler *h, void *arg, struct http_server **out)
{
    struct http_server *s = shd_xcalloc(1, sizeof(*s));
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
        http_conn_abort(s->conns);
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
