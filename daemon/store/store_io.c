/* daemon/store/store_io.c: the block store's worker threads, their job queues and
 * the completion of loads on the caller's event loop.
 *
 * Each worker has a FIFO; a block's jobs always go to the same worker (by a
 * hash of its id), so they run in the order the index queued them.
 *
 * A load (struct store_load) moves through these states, under its mu:
 *   RUNNING  --worker finishes-->  DONE  (event made active on the caller's base)
 *   RUNNING  --cancel-->           CANCELLED (the event is freed at once; the
 *                                  worker frees the rest when it finishes)
 *   DONE     --callback starts-->  FIRED (the event and load are freed by a
 *                                  libevent finalizer after the callback)
 *   DONE     --cancel-->           freed by cancel (event removed first)
 * Cancel and the callback both run on the caller's loop thread, so neither
 * can overtake the other; the worker never touches the base after a cancel. */
#include "daemon/err.h"
#include "daemon/log.h"
#include "daemon/store/store_int.h"
#include "daemon/xalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum store_load_state {
    STORE_LOAD_RUNNING,
    STORE_LOAD_DONE,
    STORE_LOAD_CANCELLED,
    STORE_LOAD_FIRED
};

struct store_load {
    pthread_mutex_t mu;
    struct event *ev; /* on the caller's base; NULL once freed by a cancel */
    store_load_cb cb;
    void *arg;
    enum store_load_state state;
    int err;
    struct store_block *b; /* the result (a reference) while DONE */
};

/* ---- loads --------------------------------------------------------------------------- */

static void store_load_free(struct store_load *l)
{
    store_block_unref(l->b);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* store_load_finalize: libevent's finalizer, run after store_load_fire
 * returned: the deferred free of the load (its event is freed by libevent). */
static void store_load_finalize(struct event *ev, void *arg)
{
    (void)ev;
    store_load_free(arg);
}

/* store_load_fire: the completion, on the caller's loop thread. */
static void store_load_fire(evutil_socket_t fd, short what, void *arg)
{
    struct store_load *l = arg;
    struct store_block *b;
    int err;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&l->mu);
    l->state = STORE_LOAD_FIRED;
    b = l->b;
    err = l->err;
    l->b = NULL;
    pthread_mutex_unlock(&l->mu);
    l->cb(l->arg, err, b); /* the callback owns b */
    event_free_finalize(0, l->ev, store_load_finalize);
}

struct store_load *store_load_start(struct event_base *base, store_load_cb cb, void *arg)
{
    struct store_load *l = shd_xcalloc(1, sizeof(*l));

    l->ev = event_new(base, -1, 0, store_load_fire, l);
    if (!l->ev) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->cb = cb;
    l->arg = arg;
    l->state = STORE_LOAD_RUNNING;
    return l;
}

void store_load_abandon(struct store_load *l)
{
    event_free(l->ev);
    store_load_free(l);
}

void store_load_finish(struct store_load *l, int err, struct store_block *b)
{
    pthread_mutex_lock(&l->mu);
    if (l->state == STORE_LOAD_CANCELLED) {
        pthread_mutex_unlock(&l->mu);
        store_block_unref(b);
        store_load_free(l);
        return;
    }
    l->state = STORE_LOAD_DONE;
    l->err = err;
    l->b = b;
    event_active(l->ev, EV_TIMEOUT, 1);
    pthread_mutex_unlock(&l->mu); /* l may be gone from here on */
}

void store_load_cancel(struct store_load *l)
{
    struct event *ev;

    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    switch (l->state) {
    case STORE_LOAD_RUNNING: /* the worker frees l when it finishes */
        l->state = STORE_LOAD_CANCELLED;
        ev = l->ev;
        l->ev = NULL;
        pthread_mutex_unlock(&l->mu);
        event_free(ev); /* never made active: safe here, on the loop thread */
        return;
    case STORE_LOAD_DONE: /* active, not yet run: remove, then free it all */
        event_del(l->ev);
        pthread_mutex_unlock(&l->mu);
        event_free(l->ev);
        store_load_free(l);
        return;
    case STORE_LOAD_CANCELLED:
    case STORE_LOAD_FIRED: /* cancelled from its own callback: nothing to do */
        pthread_mutex_unlock(&l->mu);
        return;
    }
}

/* ---- jobs ------------------------------------------------------------------------------ */

struct store_job *store_job_new(enum store_job_kind kind, const uint8_t id[STORE_ID_LEN],
                                size_t disk, uint32_t gen)
{
    struct store_job *j = shd_xcalloc(1, sizeof(*j));

    j->kind = kind;
    memcpy(j->id, id, STORE_ID_LEN);
    j->disk = (uint8_t)disk;
    j->gen = gen;
    return j;
}

/* store_job_current: the index entry J's result applies to, if the disk
 * copy J was about is still the one indexed. */
static struct store_entry *store_job_current(struct store *s, const struct store_job *j)
{
    struct store_entry *e = store_index_find(s, j->id);

    return e && e->disk == j->disk + 1u && e->gen == j->gen ? e : NULL;
}

static void store_job_write(struct store *s, struct store_job *j)
{
    struct store_syserr se = {"write", 0};
    int rc = store_disk_write(&s->disks[j->disk], j->b, &se);
    struct store_entry *e;

    pthread_mutex_lock(&s->mu);
    s->writes_pending--;
    s->write_bytes_pending -= j->b->len;
    if (rc && (e = store_job_current(s, j)))
        store_entry_disk_drop(s, e);
    pthread_mutex_unlock(&s->mu);
    if (rc)
        store_disk_failed(s, j->disk, se.op, se.err, 1);
    else
        store_disk_recovered(s, j->disk);
    store_block_unref(j->b);
}

static void store_job_load(struct store *s, struct store_job *j)
{
    struct store_drops drops = {.n = 0};
    struct store_block *b = NULL;
    struct store_entry *e;
    struct store_syserr se = {"read", 0}, use;
    char hex[2 * STORE_ID_LEN + 1], name[STORE_NAME_LEN], qbuf[512];
    int rc = store_disk_read(&s->disks[j->disk], j->id, s->block_size, &b, &se);

    if (rc && rc != SHD_ERR_NOENT) /* corrupt or unreadable: never serve it again */
        store_disk_unlink(&s->disks[j->disk], j->id, &use);
    pthread_mutex_lock(&s->mu);
    s->loads_pending--;
    e = store_job_current(s, j);
    if (rc == 0) {
        s->st.hits_disk++;
        if (e) {
            store_policy_hit(&s->disks[j->disk].policy, &e->pdisk);
            if (!e->mem)
                store_mem_insert(s, e, b, &drops);
        }
    } else {
        s->st.misses_disk++;
        s->st.checksum_failures += rc == SHD_ERR_CORRUPT;
        if (e)
            store_entry_disk_drop(s, e);
    }
    pthread_mutex_unlock(&s->mu);
    store_drops_release(s, &drops);
    if (rc == SHD_ERR_CORRUPT) {
        store_id_hex(j->id, hex);
        store_disk_name(j->id, 0, name);
        shd_warn("store",
                 "corrupt block file deleted block=%s disk=%s file=blocks/%s "
                 "what=\"it is fetched again; if this repeats, check the disk (dmesg, SMART)\"",
                 hex, shd_log_q(s->disks[j->disk].path, qbuf, sizeof(qbuf)), name);
    } else if (rc == SHD_ERR_IO) {
        store_disk_failed(s, j->disk, se.op, se.err, 0);
    }
    store_load_finish(j->l, rc ? SHD_ERR_NOENT : 0, b);
}

static void store_job_run(struct store *s, struct store_job *j)
{
    struct store_syserr se = {"unlink", 0};
    int rc;

    switch (j->kind) {
    case STORE_JOB_WRITE:
        store_job_write(s, j);
        break;
    case STORE_JOB_LOAD:
        store_job_load(s, j);
        break;
    case STORE_JOB_UNLINK:
        rc = store_disk_unlink(&s->disks[j->disk], j->id, &se);
        if (rc)
            store_disk_failed(s, j->disk, se.op, se.err, 0);
        break;
    }
    free(j);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void *store_worker_main(void *arg)
{
    struct store_worker *w = arg;
    struct store_job *j;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head)
            break;
        j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        store_job_run(w->s, j);
        pthread_mutex_lock(&w->mu);
        w->done++;
        pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void store_io_queue(struct store *s, struct store_job *j)
{
    struct store_worker *w = &s->workers[(store_id_hash(j->id) >> 32) % s->nworkers];

    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void store_io_flush(struct store *s)
{
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct store_worker *w = &s->workers[i];
        pthread_mutex_lock(&w->mu);
        uint64_t target = w->queued;
        while (w->done < target)
            pthread_cond_wait(&w->done_cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
}

void store_io_stop(struct store *s)
{
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct store_worker *w = &s->workers[i];
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct store_worker *w = &s->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        while (w->head) { /* only when the thread never started */
            struct store_job *j = w->head;
            w->head = j->next;
            store_job_run(s, j);
        }
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->done_cv);
    }
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}

int store_io_start(struct store *s, unsigned nthreads)
{
    sigset_t all, old;
    char ebuf[128];
    int rc = 0;

    s->workers = shd_xcalloc(nthreads, sizeof(*s->workers));
    s->nworkers = nthreads;
    for (unsigned i = 0; i < nthreads; i++) {
        struct store_worker *w = &s->workers[i];
        w->s = s;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        pthread_cond_init(&w->done_cv, NULL);
    }
    sigfillset(&all); /* signals belong to the loops, not to disk workers */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < nthreads && !rc; i++) {
        rc = pthread_create(&s->workers[i].thread, NULL, store_worker_main, &s->workers[i]);
        s->workers[i].started = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        shd_error("store",
                  "cannot start disk threads call=pthread_create err=\"%s\" "
                  "what=\"raise the thread limit (ulimit -u) or lower io_threads\"",
                  strerror_r(rc, ebuf, sizeof(ebuf)));
        return SHD_ERR_IO;
    }
    return 0;
}
