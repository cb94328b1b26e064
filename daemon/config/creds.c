/* daemon/config/creds.c: S3 credentials for mounts (see creds.h). */
#include "daemon/config/creds.h"

#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INI_LINE_MAX 4096

static char *env_dup(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    return v && *v ? shd_xstrdup(v) : NULL;
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Reads aws_access_key_id, aws_secret_access_key and aws_session_token of
 * [profile] from an AWS shared-credentials file. */
static int read_ini(const char *file, const char *profile, struct shd_creds *c)
{
    char line[INI_LINE_MAX];
    int in = 0;
    FILE *f = fopen(file, "r");
    if (!f) {
        shd_error("creds", "cannot read credentials file path=%s err=\"%s\"", file,
                  strerror(errno));
        return SHD_ERR_CONFIG;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *eq;
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (end)
                *end = '\0';
            in = strcmp(trim(s + 1), profile) == 0;
            continue;
        }
        eq = strchr(s, '=');
        if (!in || !eq)
            continue;
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        char **dst = strcmp(k, "aws_access_key_id") == 0       ? &c->access_key
                     : strcmp(k, "aws_secret_access_key") == 0 ? &c->secret_key
                     : strcmp(k, "aws_session_token") == 0     ? &c->session_token
                                                               : NULL;
        if (dst && *v) {
            free(*dst);
            *dst = shd_xstrdup(v);
        }
    }
    fclose(f);
    return SHD_OK;
}

int shd_creds_resolve(const struct shd_mount *m, struct shd_creds *out)
{
    return shd_creds_resolve_for(&m->credentials, m->name, m->ufs.kind == SHD_UFS_S3, out);
}

int shd_creds_resolve_for(const struct shd_credentials *cr, const char *who, int s3,
                          struct shd_creds *out)
{
    struct shd_creds c = {NULL, NULL, NULL};
    int err = SHD_OK;
    switch (cr->kind) {
    case SHD_CRED_ENV:
        c.access_key = env_dup("AWS_ACCESS_KEY_ID");
        c.secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
        c.session_token = env_dup("AWS_SESSION_TOKEN");
        break;
    case SHD_CRED_ENV_VARS:
        c.access_key = env_dup(cr->access_key_env);
        c.secret_key = env_dup(cr->secret_key_env);
        break;
    case SHD_CRED_FILE:
        err = read_ini(cr->file, cr->profile ? cr->profile : "default", &c);
        break;
    }
    if (!err && (!c.access_key) != (!c.secret_key)) {
        shd_error("creds",
                  "mount has half a key pair mount=%s what=\"set both the access key "
                  "and the secret key\"",
                  who);
        err = SHD_ERR_CONFIG;
    }
    if (err) {
        shd_creds_free(&c);
        return err;
    }
    if (!c.access_key && s3)
        shd_warn("creds",
                 "no S3 credentials: requests to S3 are anonymous mount=%s what=\"set "
                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or mounts[].credentials\"",
                 who);
    *out = c;
    return SHD_OK;
}

void shd_creds_free(struct shd_creds *c)
{
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}
