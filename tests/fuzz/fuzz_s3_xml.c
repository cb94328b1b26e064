/* tests/fuzz/fuzz_s3_xml.c: libFuzzer target for the S3 backend's readers
 * of untrusted bytes: the XML parsers of ufs/s3_xml.c (error,
 * ListObjectsV2, ListBuckets, InitiateMultipartUpload,
 * CompleteMultipartUpload, CopyObjectResult and CopyPartResult) and, in
 * ufs/s3_parse.c, the response header lines (each line of the input) and
 * the two date formats.
 *
 * Every parser must succeed or refuse with UFS_EPROTO (UFS_ENOENT for "not
 * an error document"), never crash, and what it returns must be sound.
 *
 * fuzz-args: -max_len=16384
 * The seed corpus is tests/fuzz/corpus/s3_xml/; test_fuzz_s3_xml replays it
 * (tests/fuzz/replay.c). Build and run: docs/testing.md, "Fuzz targets". */
#include "ufs/s3_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct ufs_list_page pg;
    struct ufs_bucket *b = NULL;
    size_t n = 0, i;
    char *id = NULL, etag[UFS_ETAG_MAX], code[S3_CODE_MAX], text[64];
    int64_t t;
    int rc;

    rc = ufs_s3_xml_error_code(xml, size, code, sizeof(code));
    if (rc == 0 && strlen(code) >= sizeof(code))
        abort();
    else if (rc != 0 && rc != UFS_ENOENT && rc != UFS_EPROTO)
        abort();

    rc = ufs_s3_xml_list(xml, size, "p/", &pg);
    if (rc == 0) {
        for (i = 0; i < pg.n_entries; i++)
            if (!pg.entries[i].key || !pg.entries[i].key[0] ||
                strlen(pg.entries[i].st.etag) >= UFS_ETAG_MAX)
                abort();
        for (i = 0; i < pg.n_prefixes; i++)
            if (!pg.common_prefixes[i] || !pg.common_prefixes[i][0])
                abort();
        if (!pg.truncated && pg.next_token)
            abort();
        ufs_s3_list_page_free(&pg);
    } else if (rc != UFS_EPROTO) {
        abort();
    }

    rc = ufs_s3_xml_buckets(xml, size, &b, &n);
    if (rc == 0) {
        for (i = 0; i < n; i++)
            if (!b[i].name || !b[i].name[0])
                abort();
        ufs_s3_buckets_free(b, n);
    } else if (rc != UFS_EPROTO) {
        abort();
    }

    rc = ufs_s3_xml_upload_id(xml, size, &id);
    if (rc == 0)
        free(id);
    else if (rc != UFS_EPROTO)
        abort();

    rc = ufs_s3_xml_complete_etag(xml, size, etag);
    if (rc != 0 && rc != UFS_EPROTO)
        abort();
    if (rc == 0 && strnlen(etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX)
        abort();

    rc = ufs_s3_xml_copy_result(xml, size, etag, &t);
    if (rc != 0 && rc != UFS_EPROTO)
        abort();
    if (rc == 0 && (!etag[0] || strnlen(etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX))
        abort(); /* the ETag is required */
    rc = ufs_s3_xml_part_copy_result(xml, size, etag, &t);
    if (rc != 0 && rc != UFS_EPROTO)
        abort();
    if (rc == 0 && (!etag[0] || strnlen(etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX))
        abort();

    /* each line as a response header line */
    {
        static struct s3_xfer x; /* only the response fields are used */
        const char *p = xml, *end = xml + size;

        memset(&x, 0, sizeof(x));
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

            x.abort_err = 0;
            if (!ufs_s3_header_line(&x, p, len) && x.abort_err != UFS_EPROTO)
                abort();
            if (strnlen(x.etag, UFS_ETAG_MAX) >= UFS_ETAG_MAX ||
                strnlen(x.ctype, sizeof(x.ctype)) >= sizeof(x.ctype))
                abort();
            if (x.has_cr &&
                (x.cr_first > x.cr_last || (x.cr_total_known && x.cr_last >= x.cr_total)))
                abort();
            if (x.status < 0 || x.status > 999)
                abort();
            /* the kept headers: whole "name: value\r\n" lines, lower-case
             * names, no control bytes, within their ceiling */
            if (x.keep_len >= UFS_HEADERS_MAX || strlen(x.keep) != x.keep_len)
                abort();
            for (size_t k = 0; k < x.keep_len; k++)
                if ((unsigned char)x.keep[k] < 0x20 && x.keep[k] != '\t' &&
                    !(x.keep[k] == '\r' && x.keep[k + 1] == '\n') &&
                    !(x.keep[k] == '\n' && k && x.keep[k - 1] == '\r'))
                    abort();
            if (x.keep_len && (x.keep[x.keep_len - 2] != '\r' || x.keep[x.keep_len - 1] != '\n'))
                abort();
            p += len;
        }
    }

    {
        char emsg[S3_MESSAGE_MAX];
        rc = ufs_s3_xml_error(xml, size, code, sizeof(code), emsg, sizeof(emsg));
        if (rc == 0 && (strlen(code) >= sizeof(code) || strlen(emsg) >= sizeof(emsg)))
            abort();
    }

    struct ufs_parts_page pp;
    rc = ufs_s3_xml_parts(xml, size, &pp);
    if (rc == 0) {
        for (i = 0; i < pp.n; i++)
            if (pp.parts[i].number < 1 || pp.parts[i].number > 10000 ||
                strlen(pp.parts[i].etag) >= UFS_ETAG_MAX)
                abort();
        if (!pp.truncated && pp.next_marker)
            abort();
        ufs_s3_parts_page_free(&pp);
    } else if (rc != UFS_EPROTO && rc != UFS_ENOMEM) {
        abort();
    }

    struct ufs_uploads_page up;
    rc = ufs_s3_xml_uploads(xml, size, "p/", &up);
    if (rc == 0) {
        for (i = 0; i < up.n; i++)
            if (!up.uploads[i].key || !up.uploads[i].key[0] || !up.uploads[i].upload_id ||
                !up.uploads[i].upload_id[0] || strlen(up.uploads[i].upload_id) > S3_TOKEN_MAX)
                abort();
        for (i = 0; i < up.n_prefixes; i++)
            if (!up.prefixes[i] || !up.prefixes[i][0])
                abort();
        if (!up.truncated && (up.next_key_marker || up.next_upload_id_marker))
            abort();
        ufs_s3_uploads_page_free(&up);
    } else if (rc != UFS_EPROTO && rc != UFS_ENOMEM) {
        abort();
    }

    n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    ufs_s3_parse_http_date(text, &t);
    ufs_s3_parse_iso8601(text, &t);
    return 0;
}
