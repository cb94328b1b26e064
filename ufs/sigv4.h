/* ufs/sigv4.h: AWS Signature Version 4 (AWS4-HMAC-SHA256), as building
 * blocks that sign a request (the S3 client in ufs/s3*.c) and verify one
 * (the S3 gateway, header form and presigned query form).
 *
 * Signing is: canonical request (method, canonical URI, canonical query,
 * canonical headers, signed-header list, payload hash) -> string to sign
 * (algorithm, X-Amz-Date, scope, hex SHA-256 of the canonical request) ->
 * HMAC-SHA256 with the signing key derived from the secret, the date, the
 * region and the service. Verifying rebuilds the same pieces from what the
 * request carries and compares signatures with ufs_sigv4_equal().
 *
 * Strings are NUL-terminated; names and values of query parameters are
 * given decoded (ufs_sigv4_uri_decode() undoes what a client sent) and are
 * encoded here. Every input is checked against UFS_SIGV4_FIELD_MAX and
 * UFS_SIGV4_PAIRS_MAX, so a verifier can hand over what came from the
 * network. Functions return 0 or a negative enum ufs_err (UFS_ENOMEM,
 * UFS_EINVAL) and write their out-parameters only on success; strings they
 * return are malloc'd and the caller frees them. */
#ifndef SHOAL_UFS_SIGV4_H
#define SHOAL_UFS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define UFS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define UFS_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define UFS_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define UFS_SIGV4_HEX_LEN 64      /* a SHA-256 or a signature in hex, without the NUL */
#define UFS_SIGV4_KEY_LEN 32      /* a signing key, raw bytes */
#define UFS_SIGV4_DATE_LEN 16     /* "20130524T000000Z", without the NUL */
#define UFS_SIGV4_FIELD_MAX 65536 /* longest name, value, URI or secret accepted */
#define UFS_SIGV4_PAIRS_MAX 1024  /* most query parameters or headers accepted */

/* A query parameter or a header: name and value. */
struct ufs_sigv4_pair {
    const char *name;
    const char *value;
};

/* Percent-encodes LEN bytes of S the way S3 wants it (RFC 3986): the
 * unreserved bytes A-Z a-z 0-9 - . _ ~ stay, '/' stays when KEEP_SLASH
 * (for a path), every other byte becomes %XX with upper-case hex. Returns a
 * malloc'd string, or NULL when out of memory or LEN is over the ceiling. */
char *ufs_sigv4_uri_encode(const char *s, size_t len, int keep_slash);

/* Decodes %XX escapes in LEN bytes of S ('+' is left alone). *OUT gets a
 * malloc'd, NUL-terminated copy and *OUT_LEN its length (it may hold NUL
 * bytes). UFS_EINVAL for a malformed escape or a length over the ceiling. */
int ufs_sigv4_uri_decode(const char *s, size_t len, char **out, size_t *out_len);

/* The canonical query string of N decoded (name, value) pairs: each encoded
 * (everything but unreserved bytes), sorted by encoded name then encoded
 * value, joined as "name=value&...". A NULL value counts as "". */
int ufs_sigv4_canonical_query(const struct ufs_sigv4_pair *q, size_t n, char **out);

/* The canonical headers of N (name, value) pairs: names lower-cased, values
 * trimmed with inner runs of spaces and tabs collapsed to one space, sorted
 * by name, the values of a repeated name joined with ',' in the order given.
 * *CANONICAL gets "name:value\n" lines, *SIGNED_HEADERS "name;name;...". */
int ufs_sigv4_canonical_headers(const struct ufs_sigv4_pair *h, size_t n, char **canonical,
                                char **signed_headers);

/* The canonical request: METHOD, CANONICAL_URI (already encoded, "/" when
 * empty), CANONICAL_QUERY, CANONICAL_HEADERS (with its final newline),
 * SIGNED_HEADERS and PAYLOAD_HASH, one per line. */
int ufs_sigv4_canonical_request(const char *method, const char *canonical_uri,
                                const char *canonical_query, const char *canonical_headers,
                                const char *signed_headers, const char *payload_hash, char **out);

/* The credential scope "DATE8/REGION/SERVICE/aws4_request", DATE8 taken
 * from the first 8 characters of AMZ_DATE ("YYYYMMDD..."). */
int ufs_sigv4_scope(const char *amz_date, const char *region, const char *service, char **out);

/* The string to sign: algorithm, AMZ_DATE, SCOPE and the hex SHA-256 of
 * CANONICAL_REQUEST, one per line. */
int ufs_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request,
                             char **out);

/* The signing key: HMAC-SHA256 chain over "AWS4" SECRET, DATE8 (first 8
 * characters of AMZ_DATE), REGION, SERVICE and "aws4_request". */
int ufs_sigv4_signing_key(const char *secret, const char *amz_date, const char *region,
                          const char *service, unsigned char key[UFS_SIGV4_KEY_LEN]);

/* The signature: hex HMAC-SHA256 of STRING_TO_SIGN under KEY. */
int ufs_sigv4_signature(const unsigned char key[UFS_SIGV4_KEY_LEN], const char *string_to_sign,
                        char hex[UFS_SIGV4_HEX_LEN + 1]);

/* The Authorization header value: "AWS4-HMAC-SHA256 Credential=ACCESS_KEY/
 * SCOPE, SignedHeaders=SIGNED_HEADERS, Signature=SIGNATURE". */
int ufs_sigv4_authorization(const char *access_key, const char *scope, const char *signed_headers,
                            const char *signature, char **out);

/* Everything above in one call, for a client: the hex signature of a
 * request and (when AUTHORIZATION is not NULL) its Authorization value.
 * QUERY and HEADERS are as for the canonical_* calls; HEADERS must include
 * host and x-amz-date (and x-amz-content-sha256 for S3). KEY is the
 * signing key for AMZ_DATE's day (ufs_sigv4_signing_key()). */
struct ufs_sigv4_request {
    const char *method;
    const char *canonical_uri; /* encoded path */
    const struct ufs_sigv4_pair *query;
    size_t n_query;
    const struct ufs_sigv4_pair *headers;
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 or UNSIGNED-PAYLOAD */
    const char *amz_date;     /* YYYYMMDDTHHMMSSZ */
    const char *region;
    const char *service;
};
int ufs_sigv4_sign(const struct ufs_sigv4_request *r, const char *access_key,
                   const unsigned char key[UFS_SIGV4_KEY_LEN], char sig[UFS_SIGV4_HEX_LEN + 1],
                   char **authorization);

/* Compares two signatures (or any two strings) in time that depends only
 * on their lengths. Returns 1 when equal, 0 otherwise. */
int ufs_sigv4_equal(const char *a, const char *b);

/* Hex SHA-256 of LEN bytes. */
void ufs_sigv4_sha256_hex(const void *data, size_t len, char hex[UFS_SIGV4_HEX_LEN + 1]);

/* Formats T (seconds since the epoch, UTC) as "YYYYMMDDTHHMMSSZ". UFS_EINVAL
 * for a time before 1970 or after 9999. */
int ufs_sigv4_amz_date(int64_t t, char out[UFS_SIGV4_DATE_LEN + 1]);

/* Parses "YYYYMMDDTHHMMSSZ" into seconds since the epoch (for checking a
 * request's age). UFS_EINVAL when malformed. */
int ufs_sigv4_parse_amz_date(const char *s, int64_t *out);

#endif
