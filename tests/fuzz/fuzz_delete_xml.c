/* tests/fuzz/fuzz_delete_xml.c: libFuzzer target for the DeleteObjects
 * request body (POST /BUCKET?delete): daemon/gateway/gw_delete_multi.c
 * parse_delete over expat (reached by #including gw_delete_multi.c):
 * <Delete><Quiet/><Object><Key/><VersionId/></Object>...</Delete>, 1 to
 * 1000 objects, keys up to GW_KEY_MAX bytes, no DOCTYPE.
 *
 * Input: byte 0 picks the mode, the rest is
 *   even: the body, raw
 *   odd:  a description the target writes as a body the way an SDK does
 *         (escaped with gw_xml_escape): a first line "quiet" or not, then
 *         one object per line, "key" or "key<TAB>version"; bytes outside
 *         printable ASCII become "é"; with byte 0 & 2 the objects repeat
 *         up to (byte 1) * 8 of them, to cross the 1000 limit
 * Invariants (abort() when broken): a body parse_delete accepts has 1 to
 * 1000 objects with non-empty keys of at most GW_KEY_MAX bytes; a body with
 * a document type declaration (as expat reports one) is refused; a written
 * body is accepted exactly when it has 1 to 1000 objects with non-empty
 * keys of at most GW_KEY_MAX bytes, and then it gives back its keys,
 * versions and quiet flag, in order.
 *
 * fuzz-args: -max_len=65536
 * The seed corpus is tests/fuzz/corpus/delete_xml/; test_fuzz_delete_xml
 * replays it. */
#include "daemon/gateway/gw_delete_multi.c"
#include "tests/fuzz/fuzz_xml_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OBJECTS_MAX 2048

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_delete_xml: broken invariant: %s\n", what);
    abort();
}

/* parse: BODY through parse_delete; *out the parsed request (free with
 * delm_free), or NULL when refused. */
static struct delm *parse(struct gw_req *g, const char *body, size_t len)
{
    struct delm *d = shd_xcalloc(1, sizeof(*d));
    d->g = g;
    d->body = shd_xmalloc(len + 1);
    memcpy(d->body, body, len);
    d->len = len;
    if (parse_delete(d) == 0)
        return d;
    delm_free(d);
    return NULL;
}

struct obj {
    char *key, *version; /* version NULL when none */
};

/* sane: D holds 1 to 1000 objects with non-empty keys within GW_KEY_MAX. */
static void sane(const struct delm *d)
{
    if (d->n < 1 || d->n > DEL_KEYS_MAX)
        broken("an accepted body with no objects or more than 1000");
    if (d->quiet != 0 && d->quiet != 1)
        broken("quiet neither 0 nor 1");
    for (size_t i = 0; i < d->n; i++)
        if (!d->items[i].key || !d->items[i].key[0] || strlen(d->items[i].key) > GW_KEY_MAX)
            broken("an accepted object with an empty or over-long key");
}

/* sanitize: printable ASCII stays, anything else becomes U+00E9. */
static char *sanitize(const char *s, size_t n)
{
    char *out = shd_xmalloc(2 * n + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            *p++ = (char)c;
        } else {
            *p++ = (char)0xc3;
            *p++ = (char)0xa9;
        }
    }
    *p = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_req g = {0};
    struct delm *d;

    if (size < 2)
        return 0;
    if (!(data[0] & 1)) {
        const char *body = (const char *)data + 1;
        d = parse(&g, body, size - 1);
        if (d) {
            sane(d);
            if (fuzz_has_doctype(body, size - 1))
                broken("a body with a DOCTYPE was accepted");
            delm_free(d);
        }
        return 0;
    }

    /* a written body */
    static struct obj objs[OBJECTS_MAX];
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    int quiet = nl && (size_t)(nl - p) >= 5 && memcmp(p, "quiet", 5) == 0, valid = 1;
    size_t n = 0, want_n, base;
    struct evbuffer *b = evbuffer_new();
    if (!b)
        abort();
    p = nl ? nl + 1 : end;
    while (p < end && n < OBJECTS_MAX) {
        const char *e = memchr(p, '\n', (size_t)(end - p)), *tab;
        if (!e)
            e = end;
        tab = memchr(p, '\t', (size_t)(e - p));
        objs[n].key = sanitize(p, (size_t)((tab ? tab : e) - p));
        objs[n].version = tab ? sanitize(tab + 1, (size_t)(e - tab - 1)) : NULL;
        n++;
        p = e + 1;
    }
    base = n;
    want_n = data[0] & 2 ? (size_t)data[1] * 8 : n;
    if (want_n > OBJECTS_MAX)
        want_n = OBJECTS_MAX;
    for (; base && n < want_n; n++) {
        objs[n].key = shd_xstrdup(objs[n % base].key);
        objs[n].version = objs[n % base].version ? shd_xstrdup(objs[n % base].version) : NULL;
    }
    evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete xmlns=\"%s\">",
                        "http://s3.amazonaws.com/doc/2006-03-01/");
    if (quiet)
        evbuffer_add_printf(b, "<Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        evbuffer_add_printf(b, "<Object><Key>");
        gw_xml_escape(b, objs[i].key);
        evbuffer_add_printf(b, "</Key>");
        if (objs[i].version) {
            evbuffer_add_printf(b, "<VersionId>");
            gw_xml_escape(b, objs[i].version);
            evbuffer_add_printf(b, "</VersionId>");
        }
        evbuffer_add_printf(b, "</Object>\n");
        if (!objs[i].key[0] || strlen(objs[i].key) > GW_KEY_MAX ||
            (objs[i].version && strlen(objs[i].version) > GW_KEY_MAX))
            valid = 0;
    }
    evbuffer_add_printf(b, "</Delete>\n");
    valid = valid && n >= 1 && n <= DEL_KEYS_MAX;
    size_t len = evbuffer_get_length(b);
    d = parse(&g, (const char *)evbuffer_pullup(b, -1), len);
    if (!!d != valid) {
        fprintf(stderr, "body (%zu objects, valid %d):\n%.*s\n", n, valid,
                (int)(len > 4096 ? 4096 : len), (const char *)evbuffer_pullup(b, -1));
        broken(valid ? "a well-formed body was refused" : "a body outside the limits was accepted");
    }
    if (d) {
        sane(d);
        if (d->n != n || d->quiet != quiet)
            broken("the objects or the quiet flag did not come back");
        for (size_t i = 0; i < n; i++)
            if (strcmp(d->items[i].key, objs[i].key) != 0 ||
                !d->items[i].version != !objs[i].version ||
                (objs[i].version && strcmp(d->items[i].version, objs[i].version) != 0))
                broken("an object's key or version did not come back");
        delm_free(d);
    }
    for (size_t i = 0; i < n; i++) {
        free(objs[i].key);
        free(objs[i].version);
    }
    evbuffer_free(b);
    return 0;
}
