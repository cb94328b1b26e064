/* daemon/config/creds.h: a mount's S3 credentials, from the environment, named
 * environment variables, or an AWS shared-credentials file (INI). */
#ifndef SHOAL_DAEMON_CREDS_H
#define SHOAL_DAEMON_CREDS_H

#include "daemon/config/config.h"

struct shd_creds {
    char *access_key; /* NULL: anonymous */
    char *secret_key;
    char *session_token; /* NULL when none */
};

/* Resolves m's credentials. Returns 0, or SHD_ERR_CONFIG after logging what
 * is missing and how to provide it. */
int shd_creds_resolve(const struct shd_mount *m, struct shd_creds *out);
/* The same for credentials cr, named who in messages (s3: warn when they
 * come out anonymous). */
int shd_creds_resolve_for(const struct shd_credentials *cr, const char *who, int s3,
                          struct shd_creds *out);
void shd_creds_free(struct shd_creds *c);

#endif
