/* ufs/s3_xml.c: the S3 XML responses the backend reads (error, ListObjectsV2,
 * ListBuckets, InitiateMultipartUpload, CompleteMultipartUpload,
 * CopyObjectResult) and the two date formats S3 sends. Untrusted input:
 * expat streams it once with a depth ceiling, a ceiling on each element's
 * text and on the number of entries, and refuses any DTD (so no entity can
 * be declared, let alone expanded). A fuzz target (tests/fuzz/fuzz_s3_xml.c)
 * feeds the older parsers; test_ufs_s3_xml replays its corpus through all
 * of them, CopyObjectResult's included. */
#include "ufs/s3_int.h"

#include <expat.h>

#include <stdlib.h>
#include <string.h>

#define XML_DEPTH_MAX 16

/* ---- a small SAX frame ---------------------------------------------------- */

struct xp;
typedef int (*xp_end_fn)(struct xp *p, const char *text, size_t len);
typedef int (*xp_start_fn)(struct xp *p);

struct xp {
    XML_Parser parser;
    char names[XML_DEPTH_MAX][64]; /* the open elements, root first */
    int depth;
    char *text; /* text of the innermost element */
    size_t text_len;
    int err; /* first error: UFS_EPROTO or UFS_ENOMEM */
    xp_start_fn on_start;
    xp_end_fn on_end;
    void *ctx;
};

static void xp_fail(struct xp *p, int err)
{
    if (!p->err)
        p->err = err;
    XML_StopParser(p->parser, XML_FALSE);
}

/* xp_at: the open elements are exactly NAMES (N of them), root first. */
static int xp_at(const struct xp *p, int n, const char *const *names)
{
    int i;

    if (p->depth != n)
        return 0;
    for (i = 0; i < n; i++)
        if (strcmp(p->names[i], names[i]) != 0)
            return 0;
    return 1;
}

/* xp_start: an element opens: pushed (depth and name length bounded). */
static void XMLCALL xp_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xp *p = ud;
    size_t n = strlen(name);

    (void)atts;
    if (p->err)
        return;
    if (p->depth >= XML_DEPTH_MAX || n >= sizeof(p->names[0])) {
        xp_fail(p, UFS_EPROTO);
        return;
    }
    memcpy(p->names[p->depth], name, n + 1);
    p->depth++;
    p->text_len = 0;
    if (p->on_start && p->on_start(p) != 0)
        xp_fail(p, p->err ? p->err : UFS_EPROTO);
}

/* xp_end: an element closes: its text goes to the document's handler. */
static void XMLCALL xp_end(void *ud, const XML_Char *name)
{
    struct xp *p = ud;
    int rc;

    (void)name;
    if (p->err)
        return;
    p->text[p->text_len] = '\0';
    rc = p->on_end ? p->on_end(p, p->text, p->text_len) : 0;
    p->depth--;
    p->text_len = 0;
    if (rc)
        xp_fail(p, rc);
}

/* xp_chars: text, gathered up to S3_TEXT_MAX bytes per element. */
static void XMLCALL xp_chars(void *ud, const XML_Char *s, int len)
{
    struct xp *p = ud;

    if (p->err || len <= 0)
        return;
    if (p->text_len + (size_t)len > S3_TEXT_MAX) {
        xp_fail(p, UFS_EPROTO);
        return;
    }
    memcpy(p->text + p->text_len, s, (size_t)len);
    p->text_len += (size_t)len;
}

static void XMLCALL xp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    xp_fail(ud, UFS_EPROTO); /* S3 never sends a DTD; refuse entity tricks */
}

/* xp_entity: an entity declaration: refused (never reached, as a DTD is
 * refused first; kept as a second lock). */
static void XMLCALL xp_entity(void *ud, const XML_Char *name, int pe, const XML_Char *value,
                              int vlen, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    (void)name;
    (void)pe;
    (void)value;
    (void)vlen;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    xp_fail(ud, UFS_EPROTO);
}

/* xp_run: parses XML (LEN bytes, leading white space skipped: S3 may send
 * some before a late error) with the callbacks set in P. Returns 0,
 * UFS_EPROTO or UFS_ENOMEM. */
static int xp_run(struct xp *p, const char *xml, size_t len)
{
    int rc;

    if (len > S3_XML_MAX)
        return UFS_EPROTO;
    while (len && (*xml == ' ' || *xml == '\t' || *xml == '\r' || *xml == '\n')) {
        xml++;
        len--;
    }
    if (len == 0)
        return UFS_EPROTO;
    p->text = malloc(S3_TEXT_MAX + 1);
    p->parser = XML_ParserCreate(NULL);
    if (!p->text || !p->parser) {
        rc = UFS_ENOMEM;
        goto out;
    }
    XML_SetUserData(p->parser, p);
    XML_SetElementHandler(p->parser, xp_start, xp_end);
    XML_SetCharacterDataHandler(p->parser, xp_chars);
    XML_SetStartDoctypeDeclHandler(p->parser, xp_doctype);
    XML_SetEntityDeclHandler(p->parser, xp_entity);
    if (XML_Parse(p->parser, xml, (int)len, XML_TRUE) != XML_STATUS_OK && !p->err)
        p->err = XML_GetErrorCode(p->parser) == XML_ERROR_NO_MEMORY ? UFS_ENOMEM : UFS_EPROTO;
    rc = p->err;
out:
    if (p->parser)
        XML_ParserFree(p->parser);
    free(p->text);
    p->parser = NULL;
    p->text = NULL;
    return rc;
}

/* ---- <Error> ---------------------------------------------------------------- */

struct err_ctx {
    char *code, *msg;
    size_t size, msize;
    int is_error, have_code;
};

static int err_start(struct xp *p)
{
    struct err_ctx *c = p->ctx;

    if (p->depth == 1 && strcmp(p->names[0], "Error") == 0)
        c->is_error = 1;
    return 0;
}

/* err_end: keeps the text of Error/Code, and of Error/Message (cut to fit). */
static int err_end(struct xp *p, const char *text, size_t len)
{
    static const char *const code_path[] = {"Error", "Code"};
    static const char *const msg_path[] = {"Error", "Message"};
    struct err_ctx *c = p->ctx;

    if (xp_at(p, 2, code_path) && !c->have_code) {
        if (len >= c->size)
            return UFS_EPROTO;
        memcpy(c->code, text, len + 1);
        c->have_code = 1;
    } else if (c->msg && xp_at(p, 2, msg_path) && !c->msg[0]) {
        size_t n = len < c->msize - 1 ? len : c->msize - 1;
        memcpy(c->msg, text, n);
        c->msg[n] = '\0';
    }
    return 0;
}

/* ufs_s3_xml_error: see s3_int.h; CODE and MSG are written only on success. */
int ufs_s3_xml_error(const char *xml, size_t len, char *code, size_t code_size, char *msg,
                     size_t msg_size)
{
    struct xp p;
    struct err_ctx c;
    char buf[S3_CODE_MAX], mbuf[S3_MESSAGE_MAX];
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    c.code = buf;
    c.size = code_size < sizeof(buf) ? code_size : sizeof(buf);
    mbuf[0] = '\0';
    if (msg && msg_size) {
        c.msg = mbuf;
        c.msize = msg_size < sizeof(mbuf) ? msg_size : sizeof(mbuf);
    }
    p.on_start = err_start;
    p.on_end = err_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    if (rc)
        return rc;
    if (!c.is_error)
        return UFS_ENOENT;
    if (!c.have_code || c.size == 0)
        return UFS_EPROTO;
    memcpy(code, buf, strlen(buf) + 1);
    if (c.msg)
        memcpy(msg, mbuf, strlen(mbuf) + 1);
    return 0;
}

int ufs_s3_xml_error_code(const char *xml, size_t len, char *code, size_t code_size)
{
    return ufs_s3_xml_error(xml, len, code, code_size, NULL, 0);
}

/* ---- numbers, dates ---------------------------------------------------------- */

/* parse_u64: a plain decimal number (no sign, no spaces, no overflow). */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20)
        return UFS_EPROTO;
    for (i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return UFS_EPROTO;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UFS_EPROTO;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* ---- ListObjectsV2 -------------------------------------------------------------- */

struct list_ctx {
    struct ufs_list_page pg;
    size_t cap_e, cap_p;
    int have_root, url_encoded, bad_entry;
    struct ufs_list_entry cur;
};

/* list_start: checks the root; a Contents starts a new entry. */
static int list_start(struct xp *p)
{
    static const char *const contents[] = {"ListBucketResult", "Contents"};
    struct list_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], "ListBucketResult") != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    if (xp_at(p, 2, contents)) {
        free(c->cur.key);
        memset(&c->cur, 0, sizeof(c->cur));
        c->bad_entry = 0;
    }
    return 0;
}

/* list_add_entry: the finished entry joins the page (count bounded). */
static int list_add_entry(struct list_ctx *c)
{
    if (c->pg.n_entries + c->pg.n_prefixes >= S3_LIST_MAX)
        return UFS_EPROTO;
    if (c->pg.n_entries == c->cap_e) {
        size_t cap = c->cap_e ? c->cap_e * 2 : 16;
        struct ufs_list_entry *e = realloc(c->pg.entries, cap * sizeof(*e));

        if (!e)
            return UFS_ENOMEM;
        c->pg.entries = e;
        c->cap_e = cap;
    }
    c->pg.entries[c->pg.n_entries++] = c->cur;
    memset(&c->cur, 0, sizeof(c->cur));
    return 0;
}

/* list_add_prefix: a common prefix joins the page (count bounded). */
static int list_add_prefix(struct list_ctx *c, const char *text, size_t len)
{
    char *s;

    if (c->pg.n_entries + c->pg.n_prefixes >= S3_LIST_MAX)
        return UFS_EPROTO;
    if (c->pg.n_prefixes == c->cap_p) {
        size_t cap = c->cap_p ? c->cap_p * 2 : 16;
        char **v = realloc(c->pg.common_prefixes, cap * sizeof(*v));

        if (!v)
            return UFS_ENOMEM;
        c->pg.common_prefixes = v;
        c->cap_p = cap;
    }
    s = malloc(len + 1);
    if (!s)
        return UFS_ENOMEM;
    memcpy(s, text, len + 1);
    c->pg.common_prefixes[c->pg.n_prefixes++] = s;
    return 0;
}

/* list_end: the fields of a ListBucketResult page, each checked. */
static int list_end(struct xp *p, const char *text, size_t len)
{
    static const char *const contents[] = {"ListBucketResult", "Contents"};
    static const char *const key[] = {"ListBucketResult", "Contents", "Key"};
    static const char *const size[] = {"ListBucketResult", "Contents", "Size"};
    static const char *const etag[] = {"ListBucketResult", "Contents", "ETag"};
    static const char *const mtime[] = {"ListBucketResult", "Contents", "LastModified"};
    static const char *const cp[] = {"ListBucketResult", "CommonPrefixes", "Prefix"};
    static const char *const trunc[] = {"ListBucketResult", "IsTruncated"};
    static const char *const token[] = {"ListBucketResult", "NextContinuationToken"};
    static const char *const enc[] = {"ListBucketResult", "EncodingType"};
    struct list_ctx *c = p->ctx;

    if (xp_at(p, 3, key)) {
        if (c->cur.key)
            return UFS_EPROTO;
        c->cur.key = malloc(len + 1);
        if (!c->cur.key)
            return UFS_ENOMEM;
        memcpy(c->cur.key, text, len + 1);
    } else if (xp_at(p, 3, size)) {
        if (parse_u64(text, len, &c->cur.st.size) != 0)
            return UFS_EPROTO;
    } else if (xp_at(p, 3, etag)) {
        if (len >= UFS_ETAG_MAX)
            return UFS_EPROTO;
        memcpy(c->cur.st.etag, text, len + 1);
    } else if (xp_at(p, 3, mtime)) {
        if (ufs_s3_parse_iso8601(text, &c->cur.st.mtime) != 0)
            return UFS_EPROTO;
    } else if (xp_at(p, 2, contents)) {
        if (!c->cur.key)
            return UFS_EPROTO;
        return list_add_entry(c);
    } else if (xp_at(p, 3, cp)) {
        return list_add_prefix(c, text, len);
    } else if (xp_at(p, 2, trunc)) {
        if (len == 4 && memcmp(text, "true", 4) == 0)
            c->pg.truncated = 1;
        else if (len == 5 && memcmp(text, "false", 5) == 0)
            c->pg.truncated = 0;
        else
            return UFS_EPROTO;
    } else if (xp_at(p, 2, token)) {
        free(c->pg.next_token);
        c->pg.next_token = malloc(len + 1);
        if (!c->pg.next_token)
            return UFS_ENOMEM;
        memcpy(c->pg.next_token, text, len + 1);
    } else if (xp_at(p, 2, enc)) {
        c->url_encoded = len == 3 && memcmp(text, "url", 3) == 0;
    }
    return 0;
}

/* relative: STR decoded when needed and without STRIP, in place. Returns 1
 * to keep it, 0 to leave it out (outside STRIP, or holds a NUL), or a
 * negative error. */
static int relative(char **str, int url_encoded, const char *strip)
{
    size_t slen = strlen(strip), n;
    char *s = *str;

    if (url_encoded) {
        char *d;
        int rc = ufs_sigv4_uri_decode(s, strlen(s), &d, &n);

        if (rc == UFS_ENOMEM)
            return rc;
        if (rc)
            return UFS_EPROTO;
        free(s);
        *str = s = d;
        if (strlen(s) != n)
            return 0;
    }
    if (strncmp(s, strip, slen) != 0)
        return 0;
    memmove(s, s + slen, strlen(s + slen) + 1);
    return 1;
}

/* relative_names: relative() on each of NAMES[0..*n), keeping in order
 * those inside STRIP and not empty after it (the others freed); *n becomes
 * how many are kept. 0, or the first error (names then left to the
 * caller's free). */
static int relative_names(char **names, size_t *n, int url_encoded, const char *strip)
{
    size_t i, k;
    for (i = k = 0; i < *n; i++) {
        int keep = relative(&names[i], url_encoded, strip);
        if (keep < 0)
            return keep;
        if (keep && names[i][0]) {
            if (k != i) {
                names[k] = names[i];
                names[i] = NULL;
            }
            k++;
        } else {
            free(names[i]);
            names[i] = NULL;
        }
    }
    *n = k;
    return 0;
}

/* ufs_s3_list_page_free: frees the contents of a page and zeroes it. */
void ufs_s3_list_page_free(struct ufs_list_page *pg)
{
    size_t i;

    for (i = 0; i < pg->n_entries; i++)
        free(pg->entries[i].key);
    for (i = 0; i < pg->n_prefixes; i++)
        free(pg->common_prefixes[i]);
    free(pg->entries);
    free(pg->common_prefixes);
    free(pg->next_token);
    memset(pg, 0, sizeof(*pg));
}

/* ufs_s3_xml_list: see s3_int.h. Keys and prefixes are URL-decoded when the
 * page says EncodingType url; one that decodes to a NUL byte, or is empty
 * once STRIP is removed, is left out. Returns 0, UFS_EPROTO or UFS_ENOMEM;
 * *OUT is written only on success. */
int ufs_s3_xml_list(const char *xml, size_t len, const char *strip, struct ufs_list_page *out)
{
    struct xp p;
    struct list_ctx c;
    size_t i, k;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    p.on_start = list_start;
    p.on_end = list_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    free(c.cur.key);
    if (!rc && !c.have_root)
        rc = UFS_EPROTO;
    /* decode and strip, dropping what falls outside */
    for (i = k = 0; !rc && i < c.pg.n_entries; i++) {
        int keep = relative(&c.pg.entries[i].key, c.url_encoded, strip);

        if (keep < 0) {
            rc = keep;
        } else if (keep && c.pg.entries[i].key[0]) {
            if (k != i) {
                c.pg.entries[k] = c.pg.entries[i];
                c.pg.entries[i].key = NULL;
            }
            k++;
        } else {
            free(c.pg.entries[i].key);
            c.pg.entries[i].key = NULL;
        }
    }
    if (!rc)
        c.pg.n_entries = k;
    if (!rc)
        rc = relative_names(c.pg.common_prefixes, &c.pg.n_prefixes, c.url_encoded, strip);
    if (!rc && !c.pg.truncated) {
        free(c.pg.next_token);
        c.pg.next_token = NULL;
    }
    if (rc) {
        ufs_s3_list_page_free(&c.pg);
        return rc;
    }
    *out = c.pg;
    return 0;
}

/* ---- ListBuckets ------------------------------------------------------------ */

struct buckets_ctx {
    struct ufs_bucket *b;
    size_t n, cap;
    int have_root;
    struct ufs_bucket cur;
};

/* buckets_start: checks the root; a Bucket starts a new entry. */
static int buckets_start(struct xp *p)
{
    static const char *const bucket[] = {"ListAllMyBucketsResult", "Buckets", "Bucket"};
    struct buckets_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], "ListAllMyBucketsResult") != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    if (xp_at(p, 3, bucket)) {
        free(c->cur.name);
        memset(&c->cur, 0, sizeof(c->cur));
    }
    return 0;
}

/* buckets_end: Name and CreationDate of each bucket. */
static int buckets_end(struct xp *p, const char *text, size_t len)
{
    static const char *const bucket[] = {"ListAllMyBucketsResult", "Buckets", "Bucket"};
    static const char *const name[] = {"ListAllMyBucketsResult", "Buckets", "Bucket", "Name"};
    static const char *const date[] = {"ListAllMyBucketsResult", "Buckets", "Bucket",
                                       "CreationDate"};
    struct buckets_ctx *c = p->ctx;

    if (xp_at(p, 4, name)) {
        if (c->cur.name || len == 0)
            return UFS_EPROTO;
        c->cur.name = malloc(len + 1);
        if (!c->cur.name)
            return UFS_ENOMEM;
        memcpy(c->cur.name, text, len + 1);
    } else if (xp_at(p, 4, date)) {
        if (ufs_s3_parse_iso8601(text, &c->cur.created) != 0)
            return UFS_EPROTO;
    } else if (xp_at(p, 3, bucket)) {
        if (!c->cur.name || c->n >= S3_LIST_MAX)
            return UFS_EPROTO;
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 16;
            struct ufs_bucket *v = realloc(c->b, cap * sizeof(*v));

            if (!v)
                return UFS_ENOMEM;
            c->b = v;
            c->cap = cap;
        }
        c->b[c->n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
    }
    return 0;
}

void ufs_s3_buckets_free(struct ufs_bucket *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(b[i].name);
    free(b);
}

/* ufs_s3_xml_buckets: ListAllMyBucketsResult. Returns 0, UFS_EPROTO or
 * UFS_ENOMEM; *OUT and *N are written only on success. */
int ufs_s3_xml_buckets(const char *xml, size_t len, struct ufs_bucket **out, size_t *n)
{
    struct xp p;
    struct buckets_ctx c;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    p.on_start = buckets_start;
    p.on_end = buckets_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    free(c.cur.name);
    if (!rc && !c.have_root)
        rc = UFS_EPROTO;
    if (rc) {
        ufs_s3_buckets_free(c.b, c.n);
        return rc;
    }
    *out = c.b;
    *n = c.n;
    return 0;
}

/* ---- InitiateMultipartUpload, CompleteMultipartUpload ---------------------- */

struct one_ctx {
    const char *root, *leaf;
    char *val;
    size_t len;
    int have_root;
};

/* one_start: checks the root. */
static int one_start(struct xp *p)
{
    struct one_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], c->root) != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    return 0;
}

/* one_end: keeps ROOT/LEAF (once). */
static int one_end(struct xp *p, const char *text, size_t len)
{
    struct one_ctx *c = p->ctx;
    const char *path[2];

    path[0] = c->root;
    path[1] = c->leaf;
    if (xp_at(p, 2, path)) {
        if (c->val)
            return UFS_EPROTO;
        c->val = malloc(len + 1);
        if (!c->val)
            return UFS_ENOMEM;
        memcpy(c->val, text, len + 1);
        c->len = len;
    }
    return 0;
}

/* one_value: the text of ROOT/LEAF (required, not empty). */
static int one_value(const char *xml, size_t len, const char *root, const char *leaf, char **out,
                     size_t *out_len)
{
    struct xp p;
    struct one_ctx c;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    c.root = root;
    c.leaf = leaf;
    p.on_start = one_start;
    p.on_end = one_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    if (!rc && (!c.have_root || !c.val || c.len == 0))
        rc = UFS_EPROTO;
    if (rc) {
        free(c.val);
        return rc;
    }
    *out = c.val;
    *out_len = c.len;
    return 0;
}

int ufs_s3_xml_upload_id(const char *xml, size_t len, char **out)
{
    size_t n;

    return one_value(xml, len, "InitiateMultipartUploadResult", "UploadId", out, &n);
}

/* ufs_s3_xml_complete_etag: the ETag of CompleteMultipartUploadResult. */
int ufs_s3_xml_complete_etag(const char *xml, size_t len, char etag[UFS_ETAG_MAX])
{
    char *v = NULL;
    size_t n = 0;
    int rc = one_value(xml, len, "CompleteMultipartUploadResult", "ETag", &v, &n);

    if (rc)
        return rc;
    if (n >= UFS_ETAG_MAX) {
        free(v);
        return UFS_EPROTO;
    }
    memcpy(etag, v, n + 1);
    free(v);
    return 0;
}

/* ---- CopyObjectResult, CopyPartResult ------------------------------------ */

struct copy_ctx {
    const char *root;
    char etag[UFS_ETAG_MAX];
    int64_t mtime;
    int have_root, have_etag, have_mtime;
};

static int copy_start(struct xp *p)
{
    struct copy_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], c->root) != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    return 0;
}

/* copy_end: ETag and LastModified, each at most once. */
static int copy_end(struct xp *p, const char *text, size_t len)
{
    struct copy_ctx *c = p->ctx;
    const char *const etag[] = {c->root, "ETag"};
    const char *const mtime[] = {c->root, "LastModified"};

    if (xp_at(p, 2, etag)) {
        if (c->have_etag || len == 0 || len >= UFS_ETAG_MAX)
            return UFS_EPROTO;
        memcpy(c->etag, text, len + 1);
        c->have_etag = 1;
    } else if (xp_at(p, 2, mtime)) {
        if (c->have_mtime || ufs_s3_parse_iso8601(text, &c->mtime) != 0)
            return UFS_EPROTO;
        c->have_mtime = 1;
    }
    return 0;
}

/* copy_result: a copy's result document, its root element ROOT. Returns 0,
 * UFS_EPROTO or UFS_ENOMEM; ETAG and *MTIME are written only on success. */
static int copy_result(const char *xml, size_t len, const char *root, char etag[UFS_ETAG_MAX],
                       int64_t *mtime)
{
    struct xp p;
    struct copy_ctx c;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    c.root = root;
    p.on_start = copy_start;
    p.on_end = copy_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    if (!rc && (!c.have_root || !c.have_etag))
        rc = UFS_EPROTO;
    if (rc)
        return rc;
    memcpy(etag, c.etag, strlen(c.etag) + 1);
    *mtime = c.mtime;
    return 0;
}

/* ufs_s3_xml_copy_result: see s3_int.h. */
int ufs_s3_xml_copy_result(const char *xml, size_t len, char etag[UFS_ETAG_MAX], int64_t *mtime)
{
    return copy_result(xml, len, "CopyObjectResult", etag, mtime);
}

/* ufs_s3_xml_part_copy_result: see s3_int.h. */
int ufs_s3_xml_part_copy_result(const char *xml, size_t len, char etag[UFS_ETAG_MAX],
                                int64_t *mtime)
{
    return copy_result(xml, len, "CopyPartResult", etag, mtime);
}

/* ---- ListPartsResult ----------------------------------------------------------- */

#define S3_PARTS_PAGE_MAX 10000 /* parts in one ListParts page, at most */

struct parts_ctx {
    struct ufs_parts_page pg;
    size_t cap;
    int have_root, have_number;
    struct ufs_part_entry cur;
};

static int parts_start(struct xp *p)
{
    static const char *const part[] = {"ListPartsResult", "Part"};
    struct parts_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], "ListPartsResult") != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    if (xp_at(p, 2, part)) {
        memset(&c->cur, 0, sizeof(c->cur));
        c->have_number = 0;
    }
    return 0;
}

/* parse_part_number: 1..10000. */
static int parse_part_number(const char *text, size_t len, unsigned *out)
{
    uint64_t v;
    if (parse_u64(text, len, &v) != 0 || v > 10000)
        return UFS_EPROTO;
    *out = (unsigned)v;
    return 0;
}

static int parts_end(struct xp *p, const char *text, size_t len)
{
    static const char *const part[] = {"ListPartsResult", "Part"};
    static const char *const num[] = {"ListPartsResult", "Part", "PartNumber"};
    static const char *const etag[] = {"ListPartsResult", "Part", "ETag"};
    static const char *const size[] = {"ListPartsResult", "Part", "Size"};
    static const char *const mtime[] = {"ListPartsResult", "Part", "LastModified"};
    static const char *const trunc[] = {"ListPartsResult", "IsTruncated"};
    static const char *const next[] = {"ListPartsResult", "NextPartNumberMarker"};
    struct parts_ctx *c = p->ctx;

    if (xp_at(p, 3, num)) {
        if (parse_part_number(text, len, &c->cur.number) != 0 || c->cur.number == 0)
            return UFS_EPROTO;
        c->have_number = 1;
    } else if (xp_at(p, 3, etag)) {
        if (len >= UFS_ETAG_MAX)
            return UFS_EPROTO;
        memcpy(c->cur.etag, text, len + 1);
    } else if (xp_at(p, 3, size)) {
        if (parse_u64(text, len, &c->cur.size) != 0)
            return UFS_EPROTO;
    } else if (xp_at(p, 3, mtime)) {
        if (ufs_s3_parse_iso8601(text, &c->cur.mtime) != 0)
            return UFS_EPROTO;
    } else if (xp_at(p, 2, part)) {
        if (!c->have_number || c->pg.n >= S3_PARTS_PAGE_MAX)
            return UFS_EPROTO;
        if (c->pg.n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 16;
            struct ufs_part_entry *e = realloc(c->pg.parts, cap * sizeof(*e));
            if (!e)
                return UFS_ENOMEM;
            c->pg.parts = e;
            c->cap = cap;
        }
        c->pg.parts[c->pg.n++] = c->cur;
    } else if (xp_at(p, 2, trunc)) {
        if (len == 4 && memcmp(text, "true", 4) == 0)
            c->pg.truncated = 1;
        else if (len == 5 && memcmp(text, "false", 5) == 0)
            c->pg.truncated = 0;
        else
            return UFS_EPROTO;
    } else if (xp_at(p, 2, next)) {
        if (parse_part_number(text, len, &c->pg.next_marker) != 0)
            return UFS_EPROTO;
    }
    return 0;
}

int ufs_s3_xml_parts(const char *xml, size_t len, struct ufs_parts_page *out)
{
    struct xp p;
    struct parts_ctx c;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    p.on_start = parts_start;
    p.on_end = parts_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    if (!rc && !c.have_root)
        rc = UFS_EPROTO;
    if (rc) {
        ufs_s3_parts_page_free(&c.pg);
        return rc;
    }
    if (!c.pg.truncated)
        c.pg.next_marker = 0;
    *out = c.pg;
    return 0;
}

void ufs_s3_parts_page_free(struct ufs_parts_page *pg)
{
    free(pg->parts);
    memset(pg, 0, sizeof(*pg));
}

/* ---- ListMultipartUploadsResult --------------------------------------------------- */

struct uploads_ctx {
    struct ufs_uploads_page pg;
    size_t cap_u, cap_p;
    int have_root, url_encoded;
    struct ufs_upload_entry cur;
};

static int uploads_start(struct xp *p)
{
    static const char *const up[] = {"ListMultipartUploadsResult", "Upload"};
    struct uploads_ctx *c = p->ctx;

    if (p->depth == 1) {
        if (strcmp(p->names[0], "ListMultipartUploadsResult") != 0)
            return UFS_EPROTO;
        c->have_root = 1;
    }
    if (xp_at(p, 2, up)) {
        free(c->cur.key);
        free(c->cur.upload_id);
        memset(&c->cur, 0, sizeof(c->cur));
    }
    return 0;
}

/* dup_text: a copy of TEXT into *dst, which must be empty (a repeated
 * element is malformed). */
static int dup_text(char **dst, const char *text, size_t len)
{
    if (*dst)
        return UFS_EPROTO;
    *dst = malloc(len + 1);
    if (!*dst)
        return UFS_ENOMEM;
    memcpy(*dst, text, len + 1);
    return 0;
}

static int uploads_end(struct xp *p, const char *text, size_t len)
{
    static const char *const up[] = {"ListMultipartUploadsResult", "Upload"};
    static const char *const key[] = {"ListMultipartUploadsResult", "Upload", "Key"};
    static const char *const id[] = {"ListMultipartUploadsResult", "Upload", "UploadId"};
    static const char *const init[] = {"ListMultipartUploadsResult", "Upload", "Initiated"};
    static const char *const cp[] = {"ListMultipartUploadsResult", "CommonPrefixes", "Prefix"};
    static const char *const trunc[] = {"ListMultipartUploadsResult", "IsTruncated"};
    static const char *const nkm[] = {"ListMultipartUploadsResult", "NextKeyMarker"};
    static const char *const nim[] = {"ListMultipartUploadsResult", "NextUploadIdMarker"};
    static const char *const enc[] = {"ListMultipartUploadsResult", "EncodingType"};
    struct uploads_ctx *c = p->ctx;

    if (xp_at(p, 3, key))
        return dup_text(&c->cur.key, text, len);
    if (xp_at(p, 3, id)) {
        if (len == 0 || len > S3_TOKEN_MAX)
            return UFS_EPROTO;
        return dup_text(&c->cur.upload_id, text, len);
    }
    if (xp_at(p, 3, init))
        return ufs_s3_parse_iso8601(text, &c->cur.initiated) != 0 ? UFS_EPROTO : 0;
    if (xp_at(p, 2, up)) {
        if (!c->cur.key || !c->cur.upload_id || c->pg.n + c->pg.n_prefixes >= S3_LIST_MAX)
            return UFS_EPROTO;
        if (c->pg.n == c->cap_u) {
            size_t cap = c->cap_u ? c->cap_u * 2 : 16;
            struct ufs_upload_entry *e = realloc(c->pg.uploads, cap * sizeof(*e));
            if (!e)
                return UFS_ENOMEM;
            c->pg.uploads = e;
            c->cap_u = cap;
        }
        c->pg.uploads[c->pg.n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        return 0;
    }
    if (xp_at(p, 3, cp)) {
        if (c->pg.n + c->pg.n_prefixes >= S3_LIST_MAX)
            return UFS_EPROTO;
        if (c->pg.n_prefixes == c->cap_p) {
            size_t cap = c->cap_p ? c->cap_p * 2 : 16;
            char **v = realloc(c->pg.prefixes, cap * sizeof(*v));
            if (!v)
                return UFS_ENOMEM;
            c->pg.prefixes = v;
            c->cap_p = cap;
        }
        c->pg.prefixes[c->pg.n_prefixes] = NULL;
        int rc = dup_text(&c->pg.prefixes[c->pg.n_prefixes], text, len);
        if (!rc)
            c->pg.n_prefixes++;
        return rc;
    }
    if (xp_at(p, 2, trunc)) {
        if (len == 4 && memcmp(text, "true", 4) == 0)
            c->pg.truncated = 1;
        else if (len == 5 && memcmp(text, "false", 5) == 0)
            c->pg.truncated = 0;
        else
            return UFS_EPROTO;
        return 0;
    }
    if (xp_at(p, 2, nkm))
        return len ? dup_text(&c->pg.next_key_marker, text, len) : 0;
    if (xp_at(p, 2, nim)) {
        if (len > S3_TOKEN_MAX)
            return UFS_EPROTO;
        return len ? dup_text(&c->pg.next_upload_id_marker, text, len) : 0;
    }
    if (xp_at(p, 2, enc))
        c->url_encoded = len == 3 && memcmp(text, "url", 3) == 0;
    return 0;
}

void ufs_s3_uploads_page_free(struct ufs_uploads_page *pg)
{
    for (size_t i = 0; i < pg->n; i++) {
        free(pg->uploads[i].key);
        free(pg->uploads[i].upload_id);
    }
    free(pg->uploads);
    for (size_t i = 0; i < pg->n_prefixes; i++)
        free(pg->prefixes[i]);
    free(pg->prefixes);
    free(pg->next_key_marker);
    free(pg->next_upload_id_marker);
    memset(pg, 0, sizeof(*pg));
}

int ufs_s3_xml_uploads(const char *xml, size_t len, const char *strip, struct ufs_uploads_page *out)
{
    struct xp p;
    struct uploads_ctx c;
    size_t i, k;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    p.on_start = uploads_start;
    p.on_end = uploads_end;
    p.ctx = &c;
    rc = xp_run(&p, xml, len);
    free(c.cur.key);
    free(c.cur.upload_id);
    if (!rc && !c.have_root)
        rc = UFS_EPROTO;
    /* decode and strip, dropping what falls outside */
    for (i = k = 0; !rc && i < c.pg.n; i++) {
        int keep = relative(&c.pg.uploads[i].key, c.url_encoded, strip);
        if (keep < 0) {
            rc = keep;
        } else if (keep && c.pg.uploads[i].key[0]) {
            if (k != i) {
                c.pg.uploads[k] = c.pg.uploads[i];
                memset(&c.pg.uploads[i], 0, sizeof(c.pg.uploads[i]));
            }
            k++;
        } else {
            free(c.pg.uploads[i].key);
            free(c.pg.uploads[i].upload_id);
            memset(&c.pg.uploads[i], 0, sizeof(c.pg.uploads[i]));
        }
    }
    if (!rc) {
        for (size_t j = k; j < c.pg.n; j++) /* moved or freed: nothing left to free */
            memset(&c.pg.uploads[j], 0, sizeof(c.pg.uploads[j]));
        c.pg.n = k;
    }
    if (!rc)
        rc = relative_names(c.pg.prefixes, &c.pg.n_prefixes, c.url_encoded, strip);
    if (!rc && c.pg.next_key_marker && relative(&c.pg.next_key_marker, c.url_encoded, strip) != 1) {
        free(c.pg.next_key_marker); /* outside the prefix: none to go on from */
        c.pg.next_key_marker = NULL;
    }
    if (!rc && !c.pg.truncated) {
        free(c.pg.next_key_marker);
        free(c.pg.next_upload_id_marker);
        c.pg.next_key_marker = c.pg.next_upload_id_marker = NULL;
    }
    if (rc) {
        ufs_s3_uploads_page_free(&c.pg);
        return rc;
    }
    *out = c.pg;
    return 0;
}
