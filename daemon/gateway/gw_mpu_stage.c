/* daemon/gateway/gw_mpu_stage.c: the parts of clients' multipart uploads kept for
 * write-through caching, until the upload completes (gw_mpu.c cuts them
 * into the object's blocks), is aborted, or has had no part for
 * cache.multipart_staging_ttl (then it is dropped here: the upload itself is
 * S3's business; only our copy of its bytes goes).
 *
 * An upload is known by (mount name, key, upload id); a part by (number,
 * ETag). A part uploaded again gets the ETag of its new bytes; S3 keeps the
 * last one it received, and the client names it in CompleteMultipartUpload,
 * so Complete takes exactly the (number, ETag) pairs it names, and an
 * upload any of whose named parts is not here (another node took it, it was
 * copied server-side, it did not fit the budget) is not cached. At most two
 * versions of a part number are kept (two uploads of one part in flight at
 * once); an older one goes.
 *
 * Memory: each part's bytes hold a reservation of the request budget
 * (gw_blocks), given back when the part goes. One mutex for the table: the
 * work under it is list walking, never I/O. */
#include "daemon/gateway/gw_int.h"

#include "daemon/log.h"
#include "daemon/shd.h"
#include "daemon/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAGE_VERSIONS_MAX 2 /* kept per part number */

struct staged_part {
    unsigned number;
    char etag[UFS_ETAG_MAX]; /* without quotes */
    struct gw_blocks data;
};

struct gw_staged {
    struct gw_staged *next;
    char *id; /* mount name NUL key NUL upload id, as one string for comparing */
    size_t idlen;
    struct staged_part *parts;
    size_t nparts, cap;
    uint64_t touched_ms; /* last part, for the TTL */
    int dropped;         /* not to be cached: later parts are not kept */
};

static pthread_mutex_t stage_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_staged *stage_list;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The ETag without its quotes (and without a W/), into out. */
static void etag_bare(const char *in, char out[UFS_ETAG_MAX])
{
    size_t n;
    if (strncmp(in, "W/", 2) == 0)
        in += 2;
    if (*in == '"')
        in++;
    n = strlen(in);
    if (n && in[n - 1] == '"')
        n--;
    if (n >= UFS_ETAG_MAX)
        n = UFS_ETAG_MAX - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* The upload's identity string (malloc'd) and its length. */
static char *upload_ident(const struct gw_req *g, size_t *len)
{
    const char *id = gw_query(g, "uploadId");
    size_t a = strlen(g->mname), b = strlen(g->key), c = id ? strlen(id) : 0;
    char *s = shd_xmalloc(a + b + c + 3);
    memcpy(s, g->mname, a + 1);
    memcpy(s + a + 1, g->key, b + 1);
    memcpy(s + a + b + 2, id ? id : "", c + 1);
    *len = a + b + c + 2;
    return s;
}

static void staged_free(struct gw_staged *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nparts; i++)
        gw_blocks_release(&s->parts[i].data);
    free(s->parts);
    free(s->id);
    free(s);
}

static void drop_parts(struct gw_staged *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        gw_blocks_release(&s->parts[i].data);
    s->nparts = 0;
}

/* Unlinks and returns the upload's entry, or NULL. Lock held. */
static struct gw_staged *take_locked(const char *id, size_t idlen)
{
    struct gw_staged **pp = &stage_list, *s;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->idlen == idlen && memcmp((*pp)->id, id, idlen) == 0)
            break;
    s = *pp;
    if (s)
        *pp = s->next;
    return s;
}

/* The upload's entry, created when missing (takes id). Lock held. */
static struct gw_staged *find_locked(char *id, size_t idlen, uint64_t now)
{
    struct gw_staged *s = take_locked(id, idlen);
    if (s) {
        free(id);
    } else {
        s = shd_xcalloc(1, sizeof(*s));
        s->id = id;
        s->idlen = idlen;
    }
    s->touched_ms = now;
    s->next = stage_list;
    stage_list = s;
    return s;
}

/* Unlinks the uploads idle past ttl onto *gone. Lock held. */
static void expire_locked(uint64_t now, uint64_t ttl, struct gw_staged **gone)
{
    struct gw_staged **pp = &stage_list;
    while (*pp) {
        struct gw_staged *s = *pp;
        if (now - s->touched_ms >= ttl) {
            *pp = s->next;
            s->next = *gone;
            *gone = s;
        } else {
            pp = &s->next;
        }
    }
}

static void free_expired(struct gw_staged *gone)
{
    while (gone) {
        struct gw_staged *n = gone->next;
        shd_info("gateway",
                 "multipart upload staging expired, not cached on complete "
                 "(cache.multipart_staging_ttl) parts=%zu",
                 gone->nparts);
        staged_free(gone);
        gone = n;
    }
}

void gw_mpu_stage_expire(struct shd_ctx *ctx)
{
    struct gw_staged *gone = NULL;
    pthread_mutex_lock(&stage_lock);
    expire_locked(now_ms(), ctx->cfg->cache.multipart_staging_ttl_ms, &gone);
    pthread_mutex_unlock(&stage_lock);
    free_expired(gone);
}

void gw_mpu_stage_clear(void)
{
    pthread_mutex_lock(&stage_lock);
    struct gw_staged *s = stage_list;
    stage_list = NULL;
    pthread_mutex_unlock(&stage_lock);
    while (s) {
        struct gw_staged *n = s->next;
        staged_free(s);
        s = n;
    }
}

void gw_mpu_stage_part(const struct gw_req *g, unsigned number, const char *etag,
                       struct gw_blocks *data)
{
    size_t idlen, i, versions = 0, oldest = SIZE_MAX;
    char *id = upload_ident(g, &idlen);
    struct gw_staged *s, *gone = NULL;
    uint64_t now = now_ms();
    struct staged_part *p;

    pthread_mutex_lock(&stage_lock);
    expire_locked(now, g->ctx->cfg->cache.multipart_staging_ttl_ms, &gone);
    s = find_locked(id, idlen, now);
    if (s->dropped || !data->ctx || data->len != data->cap) {
        if (!s->dropped)
            shd_info("gateway",
                     "multipart upload not cached on write (a part was not kept: "
                     "cache.request_memory) part=%u",
                     number);
        s->dropped = 1;
        drop_parts(s);
        gw_blocks_release(data);
        goto out;
    }
    for (i = 0; i < s->nparts; i++) {
        if (s->parts[i].number != number)
            continue;
        versions++;
        if (oldest == SIZE_MAX)
            oldest = i; /* parts are appended: the first is the oldest */
    }
    if (versions >= STAGE_VERSIONS_MAX) { /* the oldest version goes */
        gw_blocks_release(&s->parts[oldest].data);
        memmove(&s->parts[oldest], &s->parts[oldest + 1],
                (s->nparts - oldest - 1) * sizeof(*s->parts));
        s->nparts--;
    }
    if (s->nparts == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->parts = shd_xrealloc(s->parts, s->cap * sizeof(*s->parts));
    }
    p = &s->parts[s->nparts++];
    p->number = number;
    etag_bare(etag, p->etag);
    gw_blocks_move(&p->data, data);
out:
    pthread_mutex_unlock(&stage_lock);
    free_expired(gone);
}

void gw_mpu_uncached(const struct gw_req *g)
{
    size_t idlen;
    char *id = upload_ident(g, &idlen);
    pthread_mutex_lock(&stage_lock);
    struct gw_staged *s = find_locked(id, idlen, now_ms());
    s->dropped = 1;
    drop_parts(s);
    pthread_mutex_unlock(&stage_lock);
}

struct gw_staged *gw_mpu_stage_take(const struct gw_req *g)
{
    size_t idlen;
    char *id = upload_ident(g, &idlen);
    pthread_mutex_lock(&stage_lock);
    struct gw_staged *s = take_locked(id, idlen);
    pthread_mutex_unlock(&stage_lock);
    free(id);
    if (s && s->dropped) {
        staged_free(s);
        s = NULL;
    }
    return s;
}

void gw_mpu_staged_free(struct gw_staged *s)
{
    staged_free(s);
}

const struct gw_blocks *gw_mpu_staged_part(const struct gw_staged *s, unsigned number,
                                           const char *etag)
{
    char bare[UFS_ETAG_MAX];
    etag_bare(etag, bare);
    for (size_t i = s->nparts; i-- > 0;) /* newest first */
        if (s->parts[i].number == number && strcmp(s->parts[i].etag, bare) == 0)
            return &s->parts[i].data;
    return NULL;
}

void gw_mpu_stage_usage(size_t *uploads, size_t *parts)
{
    size_t u = 0, p = 0;
    pthread_mutex_lock(&stage_lock);
    for (struct gw_staged *s = stage_list; s; s = s->next) {
        u++;
        p += s->nparts;
    }
    pthread_mutex_unlock(&stage_lock);
    *uploads = u;
    *parts = p;
}

void gw_mpu_unstage(const struct gw_req *g)
{
    gw_mpu_staged_free(gw_mpu_stage_take(g)); /* a dropped entry goes too */
}
