/* client/cli_keygen.c: `shoal keygen`: prints a new cluster key in the
 * format of cluster.secret_file (docs/cluster.md): a comment line and 32
 * random bytes (OpenSSL's RAND_bytes) as base64. */
#include "client/cli.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char keygen_usage[] =
    "usage: shoal keygen\n"
    "\n"
    "Prints a new cluster key, in the format cluster.secret_file reads: a\n"
    "comment line, then 32 random bytes as base64. To start a cluster:\n"
    "  shoal keygen > /etc/shoal/cluster.key; chmod 600 /etc/shoal/cluster.key\n"
    "and copy the file to every node. To rotate keys, see docs/cluster.md.\n"
    "\n"
    "Exit codes: 0 ok, 1 no randomness, 2 usage error.\n";

int cli_keygen(int argc, char **argv)
{
    unsigned char key[32], b64[45];
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(keygen_usage, stdout);
            return CLI_EXIT_OK;
        }
        return cli_usage_error("keygen", "unexpected argument '%s'", argv[1]);
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        fprintf(stderr, "shoal keygen: no randomness (OpenSSL RAND_bytes failed)\n");
        return CLI_EXIT_FAIL;
    }
    EVP_EncodeBlock(b64, key, sizeof(key));
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("# shoal cluster key, made %s by `shoal keygen`; the first key seals, all open\n%s\n",
           when, b64);
    return CLI_EXIT_OK;
}
