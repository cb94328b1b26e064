/* daemon/gateway/gw_delete_multi.c: DeleteObjects (POST /BUCKET?delete), what
 * `aws s3 rm --recursive`, `aws s3 mv` and Trino/Spark renames send.
 *
 * The body (at most DEL_BODY_MAX bytes, aws-chunked decoded when it comes
 * so) is read whole, checked against its Content-MD5 (BadDigest) and the
 * signed x-amz-content-sha256 when there are ones, and parsed with expat:
 * <Delete><Quiet>..</Quiet><Object><Key>..</Key><VersionId>..</VersionId>
 * </Object>...</Delete>, 1 to DEL_KEYS_MAX objects, else MalformedXML.
 * Each key is then deleted on its own (ufs_delete), DEL_INFLIGHT at a time:
 * a key the tenant may not write, a version other than "null" (not
 * implemented) or a failed delete becomes an <Error> entry of the answer,
 * not a failure of the request; a deleted key is dropped from the cache as DeleteObject does (its
 * blocks and its metadata). The answer lists the keys in request order:
 * <Deleted> (left out in quiet mode) and <Error>. */
#include "daemon/gateway/gw_int.h"

#include "daemon/http/http.h"
#include "daemon/store/meta.h"
#include "daemon/shd.h"
#include "daemon/store/store.h"
#include "daemon/xalloc.h"
#include "ring/ring.h"

#include <expat.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEL_BODY_MAX (2u << 20) /* a request body */
#define DEL_KEYS_MAX 1000       /* S3's limit */
#define DEL_INFLIGHT 16         /* deletes running at once for one request */

struct delm;

struct del_item {
    struct delm *d;
    char *key;
    char *version;    /* NULL when none was given */
    const char *code; /* the error, NULL when deleted */
    const char *msg;
    struct ufs_req *req; /* while the delete runs */
};

struct delm {
    struct gw_req *g;
    struct gw_chunked *dec; /* aws-chunked body, or NULL */
    char *body;
    size_t len, mem; /* bytes in; request memory held (the most the body may have) */
    int body_err;    /* 1 too large, 2 malformed aws-chunked, 3 bad chunk signature */
    /* parsed */
    struct del_item *items;
    size_t n;
    int quiet, depth, in_object, bad;
    char text[GW_KEY_MAX + 1];
    size_t tlen;
    char *cur_key, *cur_version;
    /* deleting */
    size_t next, inflight, done;
};

static void delm_free(struct delm *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].key);
        free(d->items[i].version);
    }
    free(d->items);
    free(d->cur_key);
    free(d->cur_version);
    free(d->body);
    if (d->mem)
        shd_budget_give(&d->g->ctx->reqmem, SHD_MEM_BODY, d->mem);
    gw_chunked_free(d->dec);
    d->g->op_state = NULL;
    d->g->op_abort = NULL;
    free(d);
}

static void delm_abort(struct gw_req *g)
{
    struct delm *d = g->op_state;
    for (size_t i = 0; i < d->n; i++)
        ufs_cancel(d->items[i].req);
    delm_free(d);
}

static void delm_fail(struct delm *d, int status, const char *code, const char *msg)
{
    struct gw_req *g = d->g;
    delm_free(d);
    gw_error(g, status, code, msg);
}

/* ---- the body ------------------------------------------------------------------ */

static int collect(void *arg, const void *buf, size_t len)
{
    struct delm *d = arg;
    if (d->body_err)
        return 0;
    if (len > d->mem - d->len) {
        d->body_err = 1;
        return 0;
    }
    if (!d->body)
        d->body = shd_xmalloc(d->mem + 1);
    memcpy(d->body + d->len, buf, len);
    d->len += len;
    return 0;
}

/* Takes body bytes; a failure is kept and answered when the body ends. */
static int on_body(void *arg, const void *buf, size_t len)
{
    struct delm *d = arg;
    int pause = 0, rc;
    if (!d->dec || d->body_err)
        return collect(d, buf, len);
    rc = gw_chunked_feed(d->dec, buf, len, collect, d, &pause);
    if (rc < 0 && !d->body_err)
        d->body_err = rc == -2 ? 3 : 2;
    return 0;
}

/* The digest of the body in base64 (Content-MD5) or hex (SHA-256). */
static void body_digest(const struct delm *d, const EVP_MD *md, int hex, char *out)
{
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(d->body ? d->body : "", d->len, dg, &n, md, NULL) != 1)
        shd_oom(0);
    if (!hex) {
        EVP_EncodeBlock((unsigned char *)out, dg, (int)n);
        return;
    }
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", dg[i]);
}

/* ---- the XML ------------------------------------------------------------------- */

static void XMLCALL x_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct delm *d = ud;
    (void)attrs;
    d->depth++;
    d->tlen = 0;
    if (d->depth == 1 && strcmp(name, "Delete") != 0)
        d->bad = 1;
    if (d->depth == 2 && strcmp(name, "Object") == 0) {
        d->in_object = 1;
        free(d->cur_key);
        free(d->cur_version);
        d->cur_key = d->cur_version = NULL;
    }
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int len)
{
    struct delm *d = ud;
    if (d->depth < 2) /* white space between the objects */
        return;
    if (d->tlen + (size_t)len >= sizeof(d->text)) {
        d->bad = 1;
        return;
    }
    memcpy(d->text + d->tlen, s, (size_t)len);
    d->tlen += (size_t)len;
}

static void add_item(struct delm *d)
{
    if (!d->cur_key || !*d->cur_key || d->n == DEL_KEYS_MAX) {
        d->bad = 1;
        return;
    }
    if (d->n % 64 == 0)
        d->items = shd_xrealloc(d->items, (d->n + 64) * sizeof(*d->items));
    memset(&d->items[d->n], 0, sizeof(d->items[0]));
    d->items[d->n].d = d;
    d->items[d->n].key = d->cur_key;
    d->items[d->n].version = d->cur_version;
    d->cur_key = d->cur_version = NULL;
    d->n++;
}

static void XMLCALL x_end(void *ud, const XML_Char *name)
{
    struct delm *d = ud;
    d->text[d->tlen] = '\0';
    if (d->in_object && d->depth == 3) {
        char **field = strcmp(name, "Key") == 0         ? &d->cur_key
                       : strcmp(name, "VersionId") == 0 ? &d->cur_version
                                                        : NULL;
        if (field && *field)
            d->bad = 1; /* given twice */
        else if (field)
            *field = shd_xstrdup(d->text);
    } else if (d->depth == 2 && d->in_object) {
        d->in_object = 0;
        add_item(d);
    } else if (d->depth == 2 && strcmp(name, "Quiet") == 0) {
        if (strcmp(d->text, "true") == 0)
            d->quiet = 1;
        else if (strcmp(d->text, "false") != 0)
            d->bad = 1;
    }
    d->tlen = 0;
    d->depth--;
}

static void XMLCALL x_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal_subset)
{
    struct delm *d = ud;
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    d->bad = 1; /* no DTD, so no entity can be declared */
}

/* Parses the body: 0, or -1 when malformed or outside the limits. */
static int parse_delete(struct delm *d)
{
    XML_Parser x = XML_ParserCreate("UTF-8");
    int ok;
    if (!x)
        shd_oom(0);
    XML_SetUserData(x, d);
    XML_SetElementHandler(x, x_start, x_end);
    XML_SetCharacterDataHandler(x, x_text);
    XML_SetStartDoctypeDeclHandler(x, x_doctype);
    ok = XML_Parse(x, d->body ? d->body : "", (int)d->len, 1) == XML_STATUS_OK;
    XML_ParserFree(x);
    return ok && !d->bad && d->n > 0 ? 0 : -1;
}

/* ---- deleting ------------------------------------------------------------------ */

/* Drops key's cached blocks (of the version the metadata cache knew) and
 * its metadata, as DeleteObject does. */
static void drop_cached(struct gw_req *g, const char *key)
{
    char *mkey = gw_meta_key(g, key);
    struct ufs_stat st;
    if (meta_lookup(g->ctx->meta, g->mns, mkey, &st) == 0 && g->ctx->store) {
        uint64_t bs = g->ctx->block_size;
        for (uint64_t i = 0; i * bs < st.size; i++) {
            uint8_t id[RING_ID_LEN];
            if (ring_block_id(g->mname, key, st.etag, bs, i, id) == 0)
                store_remove(g->ctx->store, id);
        }
    }
    meta_invalidate(g->ctx->meta, g->mns, mkey);
    free(mkey);
}

/* A failed delete as an <Error> entry, with the codes gw_error_ufs sends. */
static void item_error(struct del_item *it, int err)
{
    gw_ufs_error(err, &it->code, &it->msg);
}

static void reply(struct delm *d)
{
    struct gw_req *g = d->g;
    struct evbuffer *b = evbuffer_new();
    if (!b)
        shd_oom(0);
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
                           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < d->n; i++) {
        const struct del_item *it = &d->items[i];
        if (!it->code && d->quiet)
            continue;
        evbuffer_add_printf(b, it->code ? "<Error><Key>" : "<Deleted><Key>");
        gw_xml_escape(b, it->key);
        evbuffer_add_printf(b, "</Key>");
        if (it->version) {
            evbuffer_add_printf(b, "<VersionId>");
            gw_xml_escape(b, it->version);
            evbuffer_add_printf(b, "</VersionId>");
        }
        if (!it->code) {
            evbuffer_add_printf(b, "</Deleted>");
            continue;
        }
        evbuffer_add_printf(b, "<Code>%s</Code><Message>", it->code);
        gw_xml_escape(b, it->msg);
        evbuffer_add_printf(b, "</Message></Error>");
    }
    evbuffer_add_printf(b, "</DeleteResult>\n");
    const char **keys = shd_xcalloc(d->n ? d->n : 1, sizeof(*keys));
    size_t nk = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!d->items[i].code)
            keys[nk++] = shd_xstrdup(d->items[i].key);
    delm_free(d);
    gw_tell_xml(g, keys, nk, 200, b); /* copies the keys */
    for (size_t i = 0; i < nk; i++)
        free((char *)keys[i]);
    free(keys);
}

static void pump(struct delm *d);

static void on_item_deleted(void *arg, int err)
{
    struct del_item *it = arg;
    struct delm *d = it->d;
    it->req = NULL;
    d->inflight--;
    d->done++;
    if (err && err != UFS_ENOENT)
        item_error(it, err);
    else
        drop_cached(d->g, it->key);
    pump(d);
}

/* Starts deletes up to DEL_INFLIGHT; answers once every key is done.
 * Callbacks never run inside ufs_delete, so this never recurses. */
static void pump(struct delm *d)
{
    struct gw_req *g = d->g;
    while (d->inflight < DEL_INFLIGHT && d->next < d->n) {
        struct del_item *it = &d->items[d->next++];
        if (it->version && strcmp(it->version, "null") != 0) {
            /* "null" is the one version an unversioned object has */
            it->code = "NotImplemented";
            it->msg = "Deleting a given version is not implemented by the gateway.";
        } else if (!gw_allowed(g, g->mount, it->key, 1)) {
            it->code = "AccessDenied";
            it->msg = "Access Denied";
        } else if (strlen(it->key) > GW_KEY_MAX ||
                   !(it->req = ufs_delete(g->u, it->key, on_item_deleted, it))) {
            item_error(it, UFS_EINVAL);
        } else {
            d->inflight++;
            continue;
        }
        d->done++;
    }
    if (d->done == d->n)
        reply(d);
}

static void on_body_end(void *arg, int err)
{
    struct delm *d = arg;
    const char *md5 = http_req_header(d->g->r, "content-md5");
    char dg[2 * EVP_MAX_MD_SIZE + 1];
    if (err)
        return; /* the client left: delm_abort cleans up */
    if (d->body_err == 3) {
        delm_fail(d, 403, "SignatureDoesNotMatch",
                  "The chunk signature we calculated does not match the one you provided.");
        return;
    }
    if (d->body_err == 2 || (d->dec && !d->body_err && !gw_chunked_done(d->dec))) {
        delm_fail(d, 400, "IncompleteBody", "The aws-chunked body is malformed.");
        return;
    }
    if (d->body_err == 1) {
        delm_fail(d, 400, "MalformedXML", "The Delete body is larger than 2 MiB.");
        return;
    }
    if (d->g->payload_sha256[0] && !d->dec) {
        body_digest(d, EVP_sha256(), 1, dg);
        if (strcmp(dg, d->g->payload_sha256) != 0) {
            delm_fail(d, 400, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was "
                      "computed.");
            return;
        }
    }
    if (md5) {
        if (strlen(md5) != 24) {
            delm_fail(d, 400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
            return;
        }
        body_digest(d, EVP_md5(), 0, dg);
        if (strcmp(dg, md5) != 0) {
            delm_fail(d, 400, "BadDigest",
                      "The Content-MD5 you specified did not match what we received.");
            return;
        }
    }
    if (parse_delete(d) != 0) {
        delm_fail(d, 400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema (1 to 1000 objects).");
        return;
    }
    pump(d);
}

static const struct http_body_cbs body_cbs = {on_body, on_body_end};

void gw_delete_objects(struct gw_req *g)
{
    uint64_t size = http_req_body_length(g->r);
    struct gw_chunked *dec = NULL;
    struct delm *d;
    g->op = SHD_OP_DELETE;
    if (g->ctx->cfg->mounts[g->mount].write_mode == SHD_WRITE_READ_ONLY) {
        gw_error(g, 403, "AccessDenied", "This mount is read-only (mounts[].write_mode).");
        return;
    }
    if (gw_body_decoder(g, &dec, &size) != 0)
        return;
    if (size != HTTP_UNKNOWN_LENGTH && size > DEL_BODY_MAX) {
        gw_chunked_free(dec);
        gw_error(g, 400, "MalformedXML", "The Delete body is larger than 2 MiB.");
        return;
    }
    size_t mem = size != HTTP_UNKNOWN_LENGTH ? (size_t)size : DEL_BODY_MAX;
    if (shd_budget_take(&g->ctx->reqmem, SHD_MEM_BODY, mem) != 0) {
        gw_chunked_free(dec);
        gw_error(g, 503, "SlowDown", "Please reduce your request rate.");
        return;
    }
    d = shd_xcalloc(1, sizeof(*d));
    d->g = g;
    d->dec = dec;
    d->mem = mem;
    g->op_state = d;
    g->op_abort = delm_abort;
    http_req_read_body(g->r, &body_cbs, d);
}
