/* client/libshoal_io.c: libshoal's writes (OPUT), listings (LIST) and the
 * streaming reader, over libshoal.c's view and libshoal_conn.c's pool. */
#include "client/libshoal_int.h"
#include "client/xxh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writes ------------------------------------------------------------------------------ */

/* One OPUT through the node at TO: 0 and *ST, or a code. */
static int put_to(shoal *sh, const struct ring_addr *to, const char *bucket, const char *key,
                  const uint8_t *buf, size_t len, const char *ctype, shoal_object *st)
{
    struct cl_conn *c;
    struct wire_msg m;
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    memset(&m, 0, sizeof(m));
    m.type = WIRE_OPUT;
    snprintf(m.u.obj.bucket, sizeof(m.u.obj.bucket), "%s", bucket);
    snprintf(m.u.obj.key, sizeof(m.u.obj.key), "%s", key);
    m.u.obj.size = len;
    snprintf(m.meta.content_type, sizeof(m.meta.content_type), "%s", ctype ? ctype : "");
    err = cl_send(sh, c, &m);
    uint32_t rid = m.rid;
    if (!err)
        err = cl_send_data(sh, c, rid, buf, len);
    if (!err) {
        memset(&m, 0, sizeof(m));
        m.type = WIRE_END;
        m.u.end.sum = wire_xxh3(buf, len);
        uint32_t keep = c->next_rid;
        c->next_rid = rid; /* END carries the OPUT's rid */
        err = cl_send(sh, c, &m);
        c->next_rid = keep;
    }
    if (!err)
        err = cl_recv(sh, c, rid, &m);
    return cl_meta_answer(sh, c, err, &m, st);
}

SHOAL_API int shoal_put(shoal *sh, const char *bucket, const char *key, const void *buf, size_t len,
                        const char *content_type, shoal_object *out)
{
    uint8_t id[RING_ID_LEN];
    struct ring_addr to[RING_REPLICAS_MAX];
    shoal_object st;
    int err = SHOAL_EUNAVAIL;
    if (!sh || !bucket || !key || !*bucket || !*key || (!buf && len) ||
        strlen(bucket) >= WIRE_BUCKET_MAX || strlen(key) >= WIRE_KEY_MAX ||
        (content_type && strlen(content_type) >= WIRE_CTYPE_MAX))
        return SHOAL_EINVAL;
    if (len > SHOAL_PUT_MAX)
        return SHOAL_ETOOBIG;
    if (ring_block_id(bucket, key, "", 0, 0, id) != 0)
        return SHOAL_ENOMEM;
    size_t n = cl_owners_of(sh, id, to);
    /* a write is the same bytes again on the next owner: safe to retry */
    for (size_t i = 0; i < n; i++) {
        err = put_to(sh, &to[i], bucket, key, buf, len, content_type, &st);
        if (err == 0) {
            if (out)
                *out = st;
            return 0;
        }
        if (err == SHOAL_ENOENT || err == SHOAL_EINVAL || err == SHOAL_EAUTH ||
            err == SHOAL_ERDONLY)
            return err;
    }
    return err;
}

/* ---- listings ---------------------------------------------------------------------------- */

/* One page from the node at TO: the LISTING in *M (clear it), or a code. */
static int page_from(shoal *sh, const struct ring_addr *to, const struct wire_msg *req,
                     struct wire_msg *m)
{
    struct cl_conn *c;
    struct wire_msg q = *req;
    int err = cl_conn_get(sh, to, &c);
    if (err)
        return err;
    err = cl_send(sh, c, &q);
    if (!err)
        err = cl_recv(sh, c, q.rid, m);
    return cl_answer(sh, c, err, m, WIRE_LISTING);
}

SHOAL_API int shoal_list(shoal *sh, const char *bucket, const char *prefix, const char *delimiter,
                         const char *start_after, shoal_list_fn fn, void *arg)
{
    uint8_t id[RING_ID_LEN];
    struct ring_addr to[RING_REPLICAS_MAX];
    static struct wire_msg zero;
    struct wire_msg req = zero;
    if (!sh || !bucket || !*bucket || !fn || strlen(bucket) >= WIRE_BUCKET_MAX ||
        (prefix && strlen(prefix) >= WIRE_KEY_MAX) ||
        (delimiter && strlen(delimiter) >= WIRE_DELIM_MAX) ||
        (start_after && strlen(start_after) >= WIRE_KEY_MAX))
        return SHOAL_EINVAL;
    req.type = WIRE_LIST;
    snprintf(req.u.list.bucket, sizeof(req.u.list.bucket), "%s", bucket);
    snprintf(req.u.list.prefix, sizeof(req.u.list.prefix), "%s", prefix ? prefix : "");
    snprintf(req.u.list.delimiter, sizeof(req.u.list.delimiter), "%s", delimiter ? delimiter : "");
    snprintf(req.u.list.after, sizeof(req.u.list.after), "%s", start_after ? start_after : "");
    req.u.list.max = WIRE_LIST_MAX;
    /* asked of the owners of the prefix (any node lists; these spread the work) */
    if (ring_block_id(bucket, req.u.list.prefix, "", 0, 0, id) != 0)
        return SHOAL_ENOMEM;
    for (;;) {
        struct wire_msg m;
        int err = SHOAL_EUNAVAIL;
        size_t n = cl_owners_of(sh, id, to);
        for (size_t i = 0; i < n; i++) {
            err = page_from(sh, &to[i], &req, &m);
            if (err == 0 || err == SHOAL_ENOENT || err == SHOAL_EINVAL || err == SHOAL_EAUTH)
                break;
        }
        if (err)
            return err;
        /* keys and prefixes merged in key order, as S3 gives them */
        size_t ie = 0, ip = 0;
        int stop = 0;
        while (!stop && (ie < m.u.listing.nentries || ip < m.u.listing.nprefixes)) {
            shoal_entry e;
            memset(&e, 0, sizeof(e));
            const struct wire_entry *we =
                ie < m.u.listing.nentries ? &m.u.listing.entries[ie] : NULL;
            const char *pf = ip < m.u.listing.nprefixes ? m.u.listing.prefixes[ip] : NULL;
            if (we && (!pf || strcmp(we->key, pf) < 0)) {
                e.key = we->key;
                e.size = we->size;
                e.etag = we->etag;
                e.mtime = we->mtime;
                ie++;
            } else {
                e.key = pf;
                e.is_prefix = 1;
                e.etag = "";
                ip++;
            }
            stop = fn(arg, &e);
        }
        int more = m.u.listing.truncated && m.u.listing.next_token[0];
        if (more) {
            snprintf(req.u.list.token, sizeof(req.u.list.token), "%s", m.u.listing.next_token);
            req.u.list.after[0] = 0; /* the token says where */
        }
        wire_msg_clear(&m);
        if (stop)
            return stop;
        if (!more)
            return 0;
    }
}

/* ---- the streaming reader ------------------------------------------------------------------ */

struct shoal_reader {
    shoal *sh;
    char *bucket, *key;
    shoal_object st;
    uint64_t pos; /* the next byte to give */
    uint8_t *buf; /* read ahead: bytes [boff, boff + blen) */
    uint64_t boff;
    size_t blen, cap;
};

SHOAL_API int shoal_reader_open(shoal *sh, const char *bucket, const char *key, size_t readahead,
                                shoal_reader **out)
{
    shoal_object st;
    if (!sh || !bucket || !key || !out)
        return SHOAL_EINVAL;
    int err = shoal_stat(sh, bucket, key, &st);
    if (err)
        return err;
    shoal_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return SHOAL_ENOMEM;
    r->sh = sh;
    r->st = st;
    r->cap = readahead ? readahead : (size_t)(CL_PAR_BLOCKS * sh->block_size);
    if (r->cap > (size_t)(256u << 20))
        r->cap = (size_t)(256u << 20);
    r->bucket = strdup(bucket);
    r->key = strdup(key);
    r->buf = malloc(r->cap);
    if (!r->bucket || !r->key || !r->buf) {
        shoal_reader_close(r);
        return SHOAL_ENOMEM;
    }
    *out = r;
    return 0;
}

SHOAL_API int shoal_reader_read(shoal_reader *r, void *buf, size_t len, size_t *nread)
{
    if (!r || (!buf && len) || !nread)
        return SHOAL_EINVAL;
    size_t done = 0;
    uint8_t *p = buf;
    while (done < len && r->pos < r->st.size) {
        if (r->pos < r->boff || r->pos >= r->boff + r->blen) {
            /* a read as large as the buffer goes straight to the caller */
            if (len - done >= r->cap) {
                size_t n;
                int err =
                    shoal_pread(r->sh, r->bucket, r->key, &r->st, p + done, len - done, r->pos, &n);
                if (err)
                    return done ? (*nread = done, 0) : err;
                r->pos += n;
                done += n;
                break;
            }
            size_t n;
            int err = shoal_pread(r->sh, r->bucket, r->key, &r->st, r->buf, r->cap, r->pos, &n);
            if (err)
                return done ? (*nread = done, 0) : err;
            r->boff = r->pos;
            r->blen = n;
            if (n == 0)
                break;
        }
        size_t have = (size_t)(r->boff + r->blen - r->pos),
               k = len - done < have ? len - done : have;
        memcpy(p + done, r->buf + (r->pos - r->boff), k);
        r->pos += k;
        done += k;
    }
    *nread = done;
    return 0;
}

SHOAL_API const shoal_object *shoal_reader_object(const shoal_reader *r)
{
    return r ? &r->st : NULL;
}

SHOAL_API int shoal_reader_seek(shoal_reader *r, uint64_t off)
{
    if (!r)
        return SHOAL_EINVAL;
    r->pos = off;
    return 0;
}

SHOAL_API uint64_t shoal_reader_tell(const shoal_reader *r)
{
    return r ? r->pos : 0;
}

SHOAL_API void shoal_reader_close(shoal_reader *r)
{
    if (!r)
        return;
    free(r->bucket);
    free(r->key);
    free(r->buf);
    free(r);
}
