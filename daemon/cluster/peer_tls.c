/* daemon/cluster/peer_tls.c: cluster.tls: the peer protocol inside TLS 1.3
 * with an external pre-shared key, no certificates.
 *
 * Each cluster key gives a PSK (SHA-256 of a label and the key, so it is
 * neither the key that seals gossip nor the one the peer handshake's MACs
 * use) and a public identity naming it (a hash of the PSK), so a node
 * holding several keys while they rotate finds the one a peer offers. A
 * client offers the first key's. A peer that offers an identity the node
 * does not know gets no PSK, and with no certificate to fall back on the
 * handshake fails: it gets nothing. The key exchange is (EC)DHE as well
 * (psk_dhe_ke), so a key that leaks later does not open recorded traffic.
 * The protocol's own HELLO, CHALLENGE and AUTH then run inside, as without
 * TLS. */
#include "daemon/cluster/peer_int.h"

#include "daemon/log.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#define TLS_ID_PREFIX "shoal1:"

/* The TLS 1.3 suite every node uses: TLS_AES_128_GCM_SHA256. */
static const unsigned char suite_id[2] = {0x13, 0x01};

static struct peer_set *set_of(SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* A resumption-style session carrying PSK I, for SSL. */
static SSL_SESSION *psk_session(SSL *ssl, const struct peer_set *ps, size_t i)
{
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
    if (!s)
        return NULL;
    if (!SSL_SESSION_set1_master_key(s, ps->tls_psk[i], sizeof(ps->tls_psk[i])) ||
        !SSL_SESSION_set_cipher(s, cipher) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

/* The client's: offers the first key's PSK. */
static int use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                       SSL_SESSION **sess)
{
    struct peer_set *ps = set_of(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite_id);
    *sess = NULL;
    if (!ps || !cipher || (md && md != SSL_CIPHER_get_handshake_digest(cipher)))
        return 1; /* no PSK for this hash: the handshake fails */
    *sess = psk_session(ssl, ps, 0);
    *id = (const unsigned char *)ps->tls_id[0];
    *idlen = strlen(ps->tls_id[0]);
    return *sess ? 1 : 0;
}

/* The server's: the PSK whose identity the client offers, if any. */
static int find_session(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    struct peer_set *ps = set_of(ssl);
    *sess = NULL;
    for (size_t i = 0; ps && i < ps->nkeys; i++)
        if (idlen == strlen(ps->tls_id[i]) && memcmp(id, ps->tls_id[i], idlen) == 0) {
            *sess = psk_session(ssl, ps, i);
            return *sess ? 1 : 0;
        }
    atomic_fetch_add_explicit(&ps->st.auth_failures, 1, memory_order_relaxed);
    return 1; /* unknown: no PSK, and no certificate either */
}

int peer_tls_start(struct peer_set *ps, const uint8_t keys[][32], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        wire_derive_key("shoal tls psk/1\n", keys[i], ps->tls_psk[i]);
        SHA256(ps->tls_psk[i], sizeof(ps->tls_psk[i]), h);
        snprintf(ps->tls_id[i], sizeof(ps->tls_id[i]), TLS_ID_PREFIX);
        for (size_t k = 0; k < 8; k++)
            snprintf(ps->tls_id[i] + strlen(TLS_ID_PREFIX) + 2 * k, 3, "%02x", h[k]);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256")) {
        SSL_CTX_free(ctx);
        shd_error("peer", "TLS could not be set up err=\"%s\"",
                  ERR_reason_error_string(ERR_get_error()));
        return -1;
    }
    SSL_CTX_set_num_tickets(ctx, 0); /* every connection uses the PSK, never a ticket */
    SSL_CTX_set_psk_use_session_callback(ctx, use_session);
    SSL_CTX_set_psk_find_session_callback(ctx, find_session);
    SSL_CTX_set_app_data(ctx, ps);
    ps->tls = ctx;
    return 0;
}

void peer_tls_stop(struct peer_set *ps)
{
    SSL_CTX_free(ps->tls);
    ps->tls = NULL;
    OPENSSL_cleanse(ps->tls_psk, sizeof(ps->tls_psk));
}

struct bufferevent *peer_tls_bev(struct peer_set *ps, struct event_base *base, evutil_socket_t fd,
                                 int server, struct bufferevent **raw)
{
    SSL *ssl = SSL_new(ps->tls);
    *raw = ssl ? bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!*raw) {
        SSL_free(ssl);
        return NULL;
    }
    struct bufferevent *b = bufferevent_openssl_filter_new(
        base, *raw, ssl, server ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
        BEV_OPT_CLOSE_ON_FREE);
    if (!b) { /* the filter did not take ssl or raw; the caller closes fd */
        SSL_free(ssl);
        bufferevent_setfd(*raw, -1);
        bufferevent_free(*raw);
        *raw = NULL;
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
    return b;
}
