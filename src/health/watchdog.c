/*
 * The watchdog thread (see watchdog.h).
 */
#include "health/watchdog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "core/err.h"

#define WD_MIN_WAIT_NS 10000000LL /* never spin faster than every 10 ms */

/* Loop thread: hands the queued requests to on_request. */
static void on_async(uv_async_t *a)
{
    struct watchdog *w = a->data;
    struct wd_request req[WD_MAX_REQUESTS];
    uint32_t n;

    pthread_mutex_lock(&w->mu);
    n = w->n_req;
    memcpy(req, w->req, n * sizeof(req[0]));
    w->n_req = 0;
    pthread_mutex_unlock(&w->mu);
    for (uint32_t i = 0; i < n; i++)
        w->p.on_request(w->p.ud, &req[i]);
}

/* True (and the cool-down started) if connection id may be asked about now. */
static bool cool_take(struct watchdog *w, uint32_t id, int64_t now)
{
    int free_i = -1;

    for (int i = 0; i < WD_MAX_TRACKED; i++) {
        if (w->cool_id[i] == id && w->cool_until[i] > now)
            return false;
        if (free_i < 0 && (w->cool_until[i] <= now || w->cool_id[i] == id))
            free_i = i;
    }
    if (free_i < 0)
        return false; /* every slot cooling: wait for one to expire */
    w->cool_id[free_i] = id;
    w->cool_until[free_i] = now + w->p.cooldown_ns;
    return true;
}

static void request(struct watchdog *w, const struct wd_request *r, int64_t now)
{
    bool sent = false;

    if (!cool_take(w, r->conn_id, now))
        return;
    pthread_mutex_lock(&w->mu);
    if (w->n_req < WD_MAX_REQUESTS) {
        w->req[w->n_req++] = *r;
        sent = true;
    }
    pthread_mutex_unlock(&w->mu);
    if (sent) {
        w->requests++;
        uv_async_send(&w->async);
    }
}

/* Connection id -> whether it is an open, active connection (a stale stream on a connection
 * being replaced, or on one not open, is already being dealt with). */
static bool conn_is_open_active(const struct health *h, uint32_t n, uint32_t id)
{
    struct mdf_health_conn c;

    for (uint32_t i = 0; i < n; i++)
        if (health_read(h, MDF_HT_CONN, i, &c, sizeof(c)) == 0 && c.in_use && c.id == id)
            return c.state == MDF_CONN_OPEN && c.role == MDF_ROLE_ACTIVE;
    return false;
}

void watchdog_check(struct watchdog *w, int64_t now)
{
    const struct health *h = w->p.h;
    int64_t age = now - health_last_beat(h);
    uint32_t n_conns, n_streams;

    if (age > w->p.stall_ns) {
        if (!w->stalled) {
            w->stalled = true;
            w->stalls++;
            if (w->p.on_stall)
                w->p.on_stall(w->p.ud, age);
        }
        return; /* no keepalive: systemd restarts a daemon whose loop is stuck */
    }
    w->stalled = false;
    if (w->p.keepalive_ns && w->p.keepalive && now - w->last_keepalive >= w->p.keepalive_ns) {
        w->p.keepalive(w->p.ud);
        w->keepalives++;
        w->last_keepalive = now;
    }

    /* Pairs with the release stores of the slot counts in health_write: the entries below the
     * count were written before it. */
    n_conns = load_acquire(&h->desc->n_conns);
    n_streams = load_acquire(&h->desc->n_streams);
    for (uint32_t i = 0; i < n_conns; i++) {
        struct mdf_health_conn c;

        if (health_read(h, MDF_HT_CONN, i, &c, sizeof(c)) < 0 || !c.in_use)
            continue;
        if (c.state != MDF_CONN_OPEN || c.role != MDF_ROLE_ACTIVE || !c.watchdog_ms ||
            !c.last_msg_mono_ns)
            continue;
        if (now - c.last_msg_mono_ns > (int64_t)c.watchdog_ms * 1000000) {
            struct wd_request r = {
                .conn_id = c.id, .reason = WD_CONN_SILENT, .age_ns = now - c.last_msg_mono_ns};

            request(w, &r, now);
        }
    }
    for (uint32_t i = 0; i < n_streams; i++) {
        struct mdf_health_stream s;

        if (health_read(h, MDF_HT_STREAM, i, &s, sizeof(s)) < 0 || !s.in_use)
            continue;
        if (s.state != MDF_STREAM_STALE || !s.stale_after_ms || !s.last_mono_ns || !s.connection)
            continue;
        if (now - s.last_mono_ns > (int64_t)s.stale_after_ms * 1000000 &&
            conn_is_open_active(h, n_conns, s.connection)) {
            struct wd_request r = {.conn_id = s.connection,
                                   .reason = WD_STREAM_STALE,
                                   .stream = i,
                                   .age_ns = now - s.last_mono_ns};

            request(w, &r, now);
        }
    }
}

static void *run(void *arg)
{
    struct watchdog *w = arg;
    int64_t next_check = 0;

    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now, wait, until;
        struct timespec ts;

        pthread_mutex_unlock(&w->mu);
        now = clock_mono_ns();
        if (now >= next_check) {
            watchdog_check(w, now);
            next_check = now + w->p.check_ns;
        } else if (w->p.keepalive_ns && now - w->last_keepalive >= w->p.keepalive_ns) {
            watchdog_check(w, now);
        }
        wait = next_check - now;
        if (w->p.keepalive_ns && w->last_keepalive + w->p.keepalive_ns - now < wait)
            wait = w->last_keepalive + w->p.keepalive_ns - now;
        if (wait < WD_MIN_WAIT_NS)
            wait = WD_MIN_WAIT_NS;
        until = now + wait;
        ts.tv_sec = until / 1000000000;
        ts.tv_nsec = until % 1000000000;
        pthread_mutex_lock(&w->mu);
        if (!w->stop)
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int watchdog_start(struct watchdog *w, uv_loop_t *loop, const struct wd_params *p)
{
    pthread_condattr_t ca;
    int rc;

    memset(w, 0, sizeof(*w));
    if (!p->h || !p->on_request || p->check_ns <= 0 || p->stall_ns <= 0)
        return err_set(-EINVAL, "watchdog: bad parameters");
    w->p = *p;
    pthread_mutex_init(&w->mu, NULL);
    /* The waits are on CLOCK_MONOTONIC: a wall-clock step neither fires nor delays them. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = uv_async_init(loop, &w->async, on_async);
    if (rc < 0) {
        rc = err_set(rc, "watchdog: %s", uv_strerror(rc));
        goto err_sync;
    }
    w->async.data = w;
    /* The async handle must not keep the loop running once everything else has closed. */
    uv_unref((uv_handle_t *)&w->async);
    w->last_keepalive = clock_mono_ns();
    rc = pthread_create(&w->thread, NULL, run, w);
    if (rc) {
        rc = err_set(-rc, "watchdog thread: %s", strerror(rc));
        uv_close((uv_handle_t *)&w->async, NULL);
        goto err_sync;
    }
    w->running = true;
    return 0;

err_sync:
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return rc;
}

void watchdog_stop(struct watchdog *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    uv_close((uv_handle_t *)&w->async, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->running = false;
}
