/* tests/unit/test_ufs_s3_xml.c: the S3 backend's parsers without a network:
 * the HTTP status mapping, S3's XML error, list, bucket, multipart and copy
 * documents (with their ceilings), HTTP dates and response header lines
 * (their fuzz corpus is replayed by test_fuzz_s3_xml, tests/fuzz/). The
 * backend's requests: test_ufs_s3.c (no server) and test_ufs_s3_live.c (a
 * real one). */
#include "ufs/s3_int.h"
#include "ufs/ufs.h"
#include "tests/unit/harness.h"

#include <event2/event.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TEST(status_mapping)
{
    int retry = 7;

    CHECK(ufs_s3_map_status(404, "NoSuchKey", &retry) == UFS_ENOENT && retry == 0);
    CHECK(ufs_s3_map_status(404, "NoSuchBucket", &retry) == UFS_ENOBUCKET);
    CHECK(ufs_s3_map_status(404, "NoSuchUpload", &retry) == UFS_ECONFLICT);
    CHECK(ufs_s3_map_status(404, "", &retry) == UFS_ENOENT);
    CHECK(ufs_s3_map_status(403, "SignatureDoesNotMatch", &retry) == UFS_EACCES);
    CHECK(ufs_s3_map_status(403, NULL, &retry) == UFS_EACCES);
    CHECK(ufs_s3_map_status(412, "PreconditionFailed", &retry) == UFS_EPRECOND);
    CHECK(ufs_s3_map_status(416, "InvalidRange", &retry) == UFS_ERANGE);
    CHECK(ufs_s3_map_status(409, "BucketNotEmpty", &retry) == UFS_ECONFLICT);
    CHECK(ufs_s3_map_status(400, "InvalidPart", &retry) == UFS_EINVAL);
    CHECK(ufs_s3_map_status(501, "NotImplemented", &retry) == UFS_ENOTSUP && retry == 0);
    CHECK(ufs_s3_map_status(503, "SlowDown", &retry) == UFS_EUNAVAIL && retry == 1);
    CHECK(ufs_s3_map_status(500, NULL, &retry) == UFS_EUNAVAIL && retry == 1);
    CHECK(ufs_s3_map_status(400, "RequestTimeout", &retry) == UFS_EUNAVAIL && retry == 1);
    CHECK(ufs_s3_map_status(429, NULL, &retry) == UFS_EUNAVAIL && retry == 1);
    CHECK(ufs_s3_map_status(301, "PermanentRedirect", &retry) == UFS_EPROTO && retry == 0);
}

/* ---- XML ------------------------------------------------------------------------ */

#define LIST_HEAD "<?xml version='1.0' encoding='UTF-8'?>\n<ListBucketResult xmlns=\"x\">"

TEST(xml_error_documents)
{
    char code[S3_CODE_MAX] = "untouched";
    const char *e = "  \n<?xml version='1.0'?><Error><Code>NoSuchKey</Code><Message>m &amp; "
                    "m</Message></Error>";
    const char *dtd = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><Error><Code>&a;"
                      "</Code></Error>";
    char deep[2000];
    int i;

    CHECK(ufs_s3_xml_error_code(e, strlen(e), code, sizeof(code)) == 0);
    CHECK_STR(code, "NoSuchKey");
    CHECK(ufs_s3_xml_error_code("<Other/>", 8, code, sizeof(code)) == UFS_ENOENT);
    CHECK(ufs_s3_xml_error_code("<Error></Error>", 15, code, sizeof(code)) == UFS_EPROTO);
    CHECK(ufs_s3_xml_error_code("<Error><Code>x", 14, code, sizeof(code)) == UFS_EPROTO);
    CHECK(ufs_s3_xml_error_code("", 0, code, sizeof(code)) == UFS_EPROTO);
    CHECK(ufs_s3_xml_error_code(dtd, strlen(dtd), code, sizeof(code)) == UFS_EPROTO);
    CHECK(ufs_s3_xml_error_code(e, strlen(e), code, 5) == UFS_EPROTO); /* code too long */
    for (i = 0; i < 100; i++)
        memcpy(deep + 3 * i, "<a>", 3);
    CHECK(ufs_s3_xml_error_code(deep, 300, code, sizeof(code)) == UFS_EPROTO);
    CHECK_STR(code, "NoSuchKey");
}

TEST(xml_list_pages)
{
    const char *x =
        LIST_HEAD "<Name>b</Name><Prefix>pre/</Prefix><EncodingType>url</EncodingType>"
                  "<IsTruncated>true</IsTruncated>"
                  "<CommonPrefixes><Prefix>pre/d%2Fx/</Prefix></CommonPrefixes>"
                  "<Contents><Key>pre/a%20b%2Bc</Key><LastModified>2026-11-25T15:01:37.000Z"
                  "</LastModified><ETag>&quot;abc&quot;</ETag><Size>6</Size></Contents>"
                  "<Contents><Key>other/x</Key><Size>1</Size></Contents>"
                  "<Contents><Key>pre/</Key><Size>0</Size></Contents>"
                  "<NextContinuationToken>tok==</NextContinuationToken></ListBucketResult>";
    const char *plain = LIST_HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a%20b</Key>"
                                  "<Size>1</Size></Contents><NextContinuationToken>t"
                                  "</NextContinuationToken></ListBucketResult>";
    const char *bad_size = LIST_HEAD "<Contents><Key>a</Key><Size>-1</Size></Contents>"
                                     "</ListBucketResult>";
    const char *big_size = LIST_HEAD "<Contents><Key>a</Key><Size>99999999999999999999"
                                     "</Size></Contents></ListBucketResult>";
    const char *no_key = LIST_HEAD "<Contents><Size>1</Size></Contents></ListBucketResult>";
    struct ufs_list_page pg;

    REQUIRE(ufs_s3_xml_list(x, strlen(x), "pre/", &pg) == 0);
    REQUIRE(pg.n_entries == 1);
    CHECK_STR(pg.entries[0].key, "a b+c");
    CHECK_STR(pg.entries[0].st.etag, "\"abc\"");
    CHECK(pg.entries[0].st.size == 6);
    CHECK(pg.entries[0].st.mtime == 1795618897);
    REQUIRE(pg.n_prefixes == 1);
    CHECK_STR(pg.common_prefixes[0], "d/x/");
    CHECK(pg.truncated == 1);
    CHECK_STR(pg.next_token, "tok==");
    ufs_s3_list_page_free(&pg);
    /* not url-encoded: keys as they are; no token when not truncated */
    REQUIRE(ufs_s3_xml_list(plain, strlen(plain), "", &pg) == 0);
    REQUIRE(pg.n_entries == 1);
    CHECK_STR(pg.entries[0].key, "a%20b");
    CHECK(pg.truncated == 0 && pg.next_token == NULL);
    ufs_s3_list_page_free(&pg);
    CHECK(ufs_s3_xml_list(bad_size, strlen(bad_size), "", &pg) == UFS_EPROTO);
    CHECK(ufs_s3_xml_list(big_size, strlen(big_size), "", &pg) == UFS_EPROTO);
    CHECK(ufs_s3_xml_list(no_key, strlen(no_key), "", &pg) == UFS_EPROTO);
    CHECK(ufs_s3_xml_list("<Error/>", 8, "", &pg) == UFS_EPROTO);
}

TEST(xml_list_ceilings)
{
    size_t n = 2 * S3_TEXT_MAX + 200, i;
    char *x = malloc(n);
    struct ufs_list_page pg;
    int len;

    REQUIRE(x);
    len = snprintf(x, n, "%s<Contents><Key>", LIST_HEAD);
    for (i = 0; i < S3_TEXT_MAX + 1; i++)
        x[len++] = 'k';
    len += snprintf(x + len, n - (size_t)len, "</Key></Contents></ListBucketResult>");
    CHECK(ufs_s3_xml_list(x, (size_t)len, "", &pg) == UFS_EPROTO);
    CHECK(ufs_s3_xml_list(x, S3_XML_MAX + 1, "", &pg) == UFS_EPROTO);
    free(x);
}

TEST(xml_buckets_upload_complete)
{
    const char *b = "<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets>"
                    "<Bucket><Name>one</Name><CreationDate>2009-02-03T16:45:09.000Z</CreationDate>"
                    "</Bucket><Bucket><Name>two</Name><CreationDate>2009-02-03T16:45:09Z"
                    "</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>";
    const char *bad = "<ListAllMyBucketsResult><Buckets><Bucket><CreationDate>x</CreationDate>"
                      "</Bucket></Buckets></ListAllMyBucketsResult>";
    const char *up = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                     "<UploadId>id-123</UploadId></InitiateMultipartUploadResult>";
    const char *cm = "<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag>"
                     "</CompleteMultipartUploadResult>";
    const char *cm_err = "\n\n  <Error><Code>InternalError</Code></Error>";
    struct ufs_bucket *bs = NULL;
    size_t n = 0;
    char *id = NULL, etag[UFS_ETAG_MAX], code[S3_CODE_MAX];

    REQUIRE(ufs_s3_xml_buckets(b, strlen(b), &bs, &n) == 0);
    REQUIRE(n == 2);
    CHECK_STR(bs[0].name, "one");
    CHECK(bs[0].created == 1233679509 && bs[1].created == 1233679509);
    ufs_s3_buckets_free(bs, n);
    CHECK(ufs_s3_xml_buckets(bad, strlen(bad), &bs, &n) == UFS_EPROTO);
    REQUIRE(ufs_s3_xml_upload_id(up, strlen(up), &id) == 0);
    CHECK_STR(id, "id-123");
    free(id);
    CHECK(ufs_s3_xml_upload_id(cm, strlen(cm), &id) == UFS_EPROTO);
    REQUIRE(ufs_s3_xml_complete_etag(cm, strlen(cm), etag) == 0);
    CHECK_STR(etag, "\"e-2\"");
    CHECK(ufs_s3_xml_complete_etag(cm_err, strlen(cm_err), etag) == UFS_EPROTO);
    CHECK(ufs_s3_xml_error_code(cm_err, strlen(cm_err), code, sizeof(code)) == 0);
    CHECK_STR(code, "InternalError");
}

TEST(xml_copy_result)
{
    const char *ok =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>"
        "2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;"
        "</ETag></CopyObjectResult>";
    const char *no_date = "   <CopyObjectResult><ETag>\"e\"</ETag></CopyObjectResult>";
    const char *no_etag = "<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z"
                          "</LastModified></CopyObjectResult>";
    const char *two = "<CopyObjectResult><ETag>\"e\"</ETag><ETag>\"f\"</ETag></CopyObjectResult>";
    const char *bad_date = "<CopyObjectResult><ETag>\"e\"</ETag><LastModified>soon"
                           "</LastModified></CopyObjectResult>";
    const char *err = "\n <Error><Code>InternalError</Code></Error>";
    char etag[UFS_ETAG_MAX] = "untouched";
    int64_t t = 42;

    REQUIRE(ufs_s3_xml_copy_result(ok, strlen(ok), etag, &t) == 0);
    CHECK_STR(etag, "\"9b2cf535f27731c974343645a3985328\"");
    CHECK(t == 1255369830);
    REQUIRE(ufs_s3_xml_copy_result(no_date, strlen(no_date), etag, &t) == 0);
    CHECK_STR(etag, "\"e\"");
    CHECK(t == 0);
    strcpy(etag, "untouched");
    t = 42;
    CHECK(ufs_s3_xml_copy_result(no_etag, strlen(no_etag), etag, &t) == UFS_EPROTO);
    CHECK(ufs_s3_xml_copy_result(two, strlen(two), etag, &t) == UFS_EPROTO);
    CHECK(ufs_s3_xml_copy_result(bad_date, strlen(bad_date), etag, &t) == UFS_EPROTO);
    CHECK(ufs_s3_xml_copy_result(err, strlen(err), etag, &t) == UFS_EPROTO);
    CHECK(ufs_s3_xml_copy_result("", 0, etag, &t) == UFS_EPROTO);
    CHECK_STR(etag, "untouched");
    CHECK(t == 42);
}

TEST(dates)
{
    int64_t t = 42;

    CHECK(ufs_s3_parse_http_date("Wed, 12 Oct 2009 17:50:00 GMT", &t) == 0 && t == 1255369800);
    CHECK(ufs_s3_parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT", &t) == 0 && t == 1709164800);
    t = 42;
    CHECK(ufs_s3_parse_http_date("Wed, 12 Oct 2009 17:50:00 UTC", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_http_date("Wed, 12 Foo 2009 17:50:00 GMT", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_http_date("Wed, 12 Oct 2009 25:50:00 GMT", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_http_date("", &t) == UFS_EPROTO);
    CHECK(t == 42);
    CHECK(ufs_s3_parse_iso8601("2009-10-12T17:50:30.000Z", &t) == 0 && t == 1255369830);
    CHECK(ufs_s3_parse_iso8601("2009-10-12T17:50:30Z", &t) == 0 && t == 1255369830);
    t = 42;
    CHECK(ufs_s3_parse_iso8601("2009-10-12T17:50:30.000", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_iso8601("2009-13-12T17:50:30Z", &t) == UFS_EPROTO);
    CHECK(ufs_s3_parse_iso8601("2009-10-12 17:50:30Z", &t) == UFS_EPROTO);
    CHECK(t == 42);
}

/* hdr: feeds one header line (CRLF added) to X. */
static int hdr(struct s3_xfer *x, const char *line)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

    return ufs_s3_header_line(x, buf, (size_t)n);
}

TEST(header_lines)
{
    static struct s3_xfer x;
    char long_etag[200];

    memset(&x, 0, sizeof(x));
    CHECK(hdr(&x, "HTTP/1.1 100 Continue") && x.status == 100);
    CHECK(hdr(&x, "HTTP/1.1 206 Partial Content") && x.status == 206);
    CHECK(hdr(&x, "ETag:   \"abc\"  "));
    CHECK_STR(x.etag, "\"abc\"");
    CHECK(hdr(&x, "content-length: 5000") && x.has_clen && x.clen == 5000);
    CHECK(hdr(&x, "Content-Range: bytes 1000-5999/3145745"));
    CHECK(x.has_cr && x.cr_first == 1000 && x.cr_last == 5999 && x.cr_total == 3145745 &&
          x.cr_total_known);
    CHECK(hdr(&x, "Last-Modified: Wed, 12 Oct 2009 17:50:00 GMT") && x.mtime == 1255369800);
    CHECK(hdr(&x, "Content-Type: text/plain"));
    CHECK_STR(x.ctype, "text/plain");
    /* refused values leave the fields as they were */
    CHECK(hdr(&x, "Content-Length: 18446744073709551616") && x.clen == 5000);
    CHECK(hdr(&x, "Content-Length: 12x") && x.clen == 5000);
    CHECK(hdr(&x, "Content-Range: bytes 9-1/10") && x.cr_first == 1000);
    CHECK(hdr(&x, "Content-Range: bytes 0-9/9") && x.cr_first == 1000);
    CHECK(hdr(&x, "Content-Range: bytes 0-9/10 ") && x.cr_last == 9 && x.cr_total == 10);
    CHECK(hdr(&x, "Content-Range: bytes 5-6/*") && x.cr_first == 5 && !x.cr_total_known);
    CHECK(hdr(&x, "Last-Modified: yesterday") && x.mtime == 1255369800);
    memset(long_etag, 'e', sizeof(long_etag));
    memcpy(long_etag, "ETag: ", 6);
    long_etag[6 + UFS_ETAG_MAX] = '\0';
    x.abort_err = 0;
    CHECK(!hdr(&x, long_etag) && x.abort_err == UFS_EPROTO);
    /* a new status line forgets the previous response */
    CHECK(hdr(&x, "HTTP/1.1 200 OK") && x.status == 200 && !x.has_clen && !x.has_cr &&
          x.etag[0] == '\0');
    CHECK(hdr(&x, "HTTP/1.1 2x0 Odd") && x.status == 0);
}

int main(void)
{
    RUN(status_mapping);
    RUN(xml_error_documents);
    RUN(xml_list_pages);
    RUN(xml_list_ceilings);
    RUN(xml_buckets_upload_complete);
    RUN(xml_copy_result);
    RUN(dates);
    RUN(header_lines);
    return harness_done();
}
