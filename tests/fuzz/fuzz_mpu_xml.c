/* tests/fuzz/fuzz_mpu_xml.c: libFuzzer target for the CompleteMultipartUpload
 * request body (POST /BUCKET/KEY?uploadId=ID): daemon/gateway/gw_mpu_xml.c
 * gw_mpu_parse_complete over expat:
 * <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...</...>,
 * 1 to 10000 parts, numbers 1..10000 ascending, ETags under UFS_ETAG_MAX,
 * no DOCTYPE.
 *
 * Input: byte 0 picks the mode, the rest is
 *   even: the body, raw
 *   odd:  a description the target writes as a body the way an SDK does
 *         (each line "number<TAB>etag", the ETag escaped with
 *         gw_xml_escape; with byte 0 & 2 a checksum element is added to
 *         each part, which the parser must skip)
 * Invariants (abort() when broken): an accepted body has 1 to 10000 parts
 * with strictly ascending numbers in 1..10000 and non-empty ETags shorter
 * than UFS_ETAG_MAX, every part's etag pointer is its own string; a refused
 * body leaves the list empty; a body with a document type declaration is
 * refused; a written body with valid parts is accepted exactly when its
 * numbers ascend (else -2), and gives back its numbers and ETags in order.
 *
 * fuzz-args: -max_len=65536
 * The seed corpus is tests/fuzz/corpus/mpu_xml/; test_fuzz_mpu_xml replays
 * it. */
#include "daemon/gateway/gw_int.h"
#include "tests/fuzz/fuzz_xml_util.h"

#include <event2/buffer.h>
#include <expat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DESC_PARTS_MAX 64

static void broken(const char *what)
{
    fprintf(stderr, "fuzz_mpu_xml: broken invariant: %s\n", what);
    abort();
}

static void check_list(const struct gw_part_list *l)
{
    if (l->n < 1 || l->n > GW_MPU_PARTS_MAX)
        broken("part count");
    for (size_t i = 0; i < l->n; i++) {
        const struct ufs_part *p = &l->parts[i];
        if (p->number < 1 || p->number > GW_MPU_PARTS_MAX)
            broken("part number range");
        if (i && p->number <= l->parts[i - 1].number)
            broken("numbers not ascending");
        if (p->etag != l->etags[i] || !p->etag[0] || strlen(p->etag) >= UFS_ETAG_MAX)
            broken("etag");
    }
}

static void raw(const char *body, size_t len)
{
    struct gw_part_list l;
    int rc = gw_mpu_parse_complete(body, len, &l);
    if (rc == 0)
        check_list(&l);
    else if (rc != -1 && rc != -2)
        broken("return code");
    else if (l.n != 0 || l.parts || l.etags)
        broken("refused body left parts");
    if (rc == 0 && fuzz_has_doctype(body, len))
        broken("a DOCTYPE was accepted");
    gw_part_list_free(&l);
}

struct desc_part {
    unsigned number;
    char etag[UFS_ETAG_MAX];
};

/* The description's parts: lines "number<TAB>etag", at most DESC_PARTS_MAX. */
static size_t parse_desc(const uint8_t *p, size_t n, struct desc_part *out)
{
    size_t k = 0, i = 0;
    while (i < n && k < DESC_PARTS_MAX) {
        size_t j = i;
        while (j < n && p[j] != '\n')
            j++;
        const uint8_t *tab = memchr(p + i, '\t', j - i);
        if (tab) {
            unsigned num = 0;
            int digits = 0;
            for (const uint8_t *q = p + i; q < tab && digits < 6; q++, digits++)
                num = num * 10 + (unsigned)(*q % 10);
            size_t el = (size_t)(p + j - tab - 1);
            if (el >= UFS_ETAG_MAX)
                el = UFS_ETAG_MAX - 1;
            memcpy(out[k].etag, tab + 1, el);
            out[k].etag[el] = '\0';
            for (size_t c = 0; c < el; c++) /* printable ASCII, as an SDK sends */
                if ((unsigned char)out[k].etag[c] < 0x20 || (unsigned char)out[k].etag[c] > 0x7e)
                    out[k].etag[c] = 'x';
            out[k].number = num;
            k++;
        }
        i = j + 1;
    }
    return k;
}

static void written(const uint8_t *p, size_t n, int checksums)
{
    static struct desc_part parts[DESC_PARTS_MAX];
    size_t k = parse_desc(p, n, parts), valid = k > 0, ascending = 1;
    struct evbuffer *b = evbuffer_new();
    struct gw_part_list l;
    if (!b)
        abort();
    evbuffer_add_printf(b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                           "2006-03-01/\">");
    for (size_t i = 0; i < k; i++) {
        evbuffer_add_printf(b, "<Part>");
        if (checksums)
            evbuffer_add_printf(b, "<ChecksumCRC32>AAAAAA==</ChecksumCRC32>");
        evbuffer_add_printf(b, "<ETag>");
        gw_xml_escape(b, parts[i].etag);
        evbuffer_add_printf(b, "</ETag><PartNumber>%u</PartNumber></Part>", parts[i].number);
        if (parts[i].number < 1 || parts[i].number > GW_MPU_PARTS_MAX || !parts[i].etag[0])
            valid = 0;
        if (i && parts[i].number <= parts[i - 1].number)
            ascending = 0;
    }
    evbuffer_add_printf(b, "</CompleteMultipartUpload>");
    size_t len = evbuffer_get_length(b);
    const char *body = (const char *)evbuffer_pullup(b, -1);
    int rc = gw_mpu_parse_complete(body, len, &l);
    if (valid && ascending) {
        if (rc != 0 || l.n != k)
            broken("a valid body was refused or lost parts");
        for (size_t i = 0; i < k; i++)
            if (l.parts[i].number != parts[i].number || strcmp(l.parts[i].etag, parts[i].etag))
                broken("parts came back different");
        check_list(&l);
    } else if (valid && rc != -2) {
        broken("parts out of order not refused as such");
    } else if (!valid && rc == 0) {
        broken("an invalid part was accepted");
    }
    gw_part_list_free(&l);
    evbuffer_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        written(data + 1, size - 1, data[0] & 2);
    else
        raw((const char *)data + 1, size - 1);
    return 0;
}
