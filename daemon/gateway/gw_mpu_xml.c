/* daemon/gateway/gw_mpu_xml.c: the CompleteMultipartUpload request body, parsed
 * (untrusted bytes: fuzzed by tests/fuzz/fuzz_mpu_xml.c).
 *
 *   <CompleteMultipartUpload>
 *     <Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part> ...
 *   </CompleteMultipartUpload>
 *
 * Other elements inside a Part (the checksums of newer SDKs) are skipped.
 * Ceilings: GW_MPU_PARTS_MAX parts, element text under 256 bytes, ETags
 * under UFS_ETAG_MAX; a DOCTYPE (entity declarations) is refused. */
#include "daemon/gateway/gw_int.h"

#include "daemon/xalloc.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

struct cx {
    struct gw_part_list *out;
    int in_part, depth, bad, seen_number;
    char text[256];
    size_t tlen;
    unsigned cur_number;
    char cur_etag[UFS_ETAG_MAX];
};

static void XMLCALL x_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct cx *c = ud;
    (void)attrs;
    c->depth++;
    c->tlen = 0;
    if (c->depth == 1 && strcmp(name, "CompleteMultipartUpload") != 0)
        c->bad = 1;
    if (c->depth == 2 && strcmp(name, "Part") == 0) {
        c->in_part = 1;
        c->seen_number = 0;
        c->cur_number = 0;
        c->cur_etag[0] = '\0';
    }
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int len)
{
    struct cx *c = ud;
    if (len < 0 || c->tlen + (size_t)len >= sizeof(c->text)) {
        c->bad = 1;
        return;
    }
    memcpy(c->text + c->tlen, s, (size_t)len);
    c->tlen += (size_t)len;
}

static void XMLCALL x_end(void *ud, const XML_Char *name)
{
    struct cx *c = ud;
    struct gw_part_list *l = c->out;
    c->text[c->tlen] = '\0';
    if (c->in_part && c->depth == 3) {
        if (strcmp(name, "PartNumber") == 0) {
            char *end;
            long n = c->text[0] >= '0' && c->text[0] <= '9' ? strtol(c->text, &end, 10) : 0;
            if (!n || *end || n < 1 || n > GW_MPU_PARTS_MAX || c->seen_number)
                c->bad = 1;
            c->cur_number = (unsigned)n;
            c->seen_number = 1;
        } else if (strcmp(name, "ETag") == 0) {
            if (c->tlen >= sizeof(c->cur_etag) || memchr(c->text, '\0', c->tlen))
                c->bad = 1;
            else
                memcpy(c->cur_etag, c->text, c->tlen + 1);
        }
    }
    if (c->depth == 2 && c->in_part) {
        c->in_part = 0;
        if (!c->cur_number || !c->cur_etag[0] || l->n == GW_MPU_PARTS_MAX) {
            c->bad = 1;
        } else if (!c->bad) {
            l->parts = shd_xrealloc(l->parts, (l->n + 1) * sizeof(*l->parts));
            l->etags = shd_xrealloc(l->etags, (l->n + 1) * sizeof(*l->etags));
            l->etags[l->n] = shd_xstrdup(c->cur_etag);
            l->parts[l->n].number = c->cur_number;
            l->parts[l->n].etag = l->etags[l->n];
            l->n++;
        }
    }
    c->tlen = 0;
    c->depth--;
}

static void XMLCALL x_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                              const XML_Char *pubid, int has_internal_subset)
{
    struct cx *c = ud;
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    c->bad = 1;
}

void gw_part_list_free(struct gw_part_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->etags[i]);
    free(l->etags);
    free(l->parts);
    memset(l, 0, sizeof(*l));
}

int gw_mpu_parse_complete(const char *xml, size_t len, struct gw_part_list *out)
{
    struct cx c;
    XML_Parser x;
    int ok;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.out = out;
    if (len > GW_MPU_BODY_MAX)
        return -1;
    x = XML_ParserCreate("UTF-8");
    if (!x)
        shd_oom(0);
    XML_SetUserData(x, &c);
    XML_SetElementHandler(x, x_start, x_end);
    XML_SetCharacterDataHandler(x, x_text);
    XML_SetStartDoctypeDeclHandler(x, x_doctype);
    ok = XML_Parse(x, xml, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(x);
    if (!ok || c.bad || out->n == 0) {
        gw_part_list_free(out);
        return -1;
    }
    for (size_t i = 1; i < out->n; i++) {
        if (out->parts[i].number <= out->parts[i - 1].number) {
            gw_part_list_free(out);
            return -2; /* S3 wants them in ascending order */
        }
    }
    return 0;
}
