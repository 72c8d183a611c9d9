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
#include "core/hash.h"

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

static void request(struct watchdog *w, const struct wd_request *r)
{
    bool sent = false;

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

/* Identity of the stream in a health slot (the slot is reused after a reload removes it). */
static uint64_t stream_ident(const struct mdf_health_stream *s)
{
    uint64_t x = FNV1A64_INIT ^ ((uint64_t)s->venue << 40) ^ ((uint64_t)s->type << 32) ^ s->symbol;

    x = fnv1a64(x, s->name, strnlen(s->name, sizeof(s->name)));
    return x | 1; /* never 0, which marks a free entry */
}

/* The cause entry of stream slot `slot` with identity `ident`; created when `make`. NULL if
 * there is none (or no room). */
static struct wd_cause *cause_of(struct watchdog *w, uint32_t slot, uint64_t ident, bool make)
{
    struct wd_cause *free_c = NULL;

    for (int i = 0; i < WD_MAX_TRACKED; i++) {
        struct wd_cause *c = &w->cause[i];

        if (c->ident && c->slot == slot) {
            if (c->ident == ident)
                return c;
            memset(c, 0, sizeof(*c)); /* another stream took the slot */
        }
        if (!c->ident && !free_c)
            free_c = c;
    }
    if (!make || !free_c)
        return NULL;
    free_c->ident = ident;
    free_c->slot = slot;
    return free_c;
}

/* Wait before the replacement after `step` replacements for one cause. */
static int64_t cause_wait(const struct watchdog *w, uint32_t step)
{
    int64_t d = w->p.backoff_ns;

    for (uint32_t i = 1; i < step && d < w->p.backoff_max_ns; i++)
        d *= 2;
    return d < w->p.backoff_max_ns ? d : w->p.backoff_max_ns;
}

/* Since when stream entry s is behind: the evidence it owes since owed_mono_ns, or (a
 * guaranteed cadence) silence since its last message. 0 if neither. */
static int64_t behind_since(const struct mdf_health_stream *s)
{
    return s->owed_mono_ns ? s->owed_mono_ns : s->last_mono_ns;
}

/* True if health stream entry s is stale on an open, active connection: a case for the
 * watchdog. */
static bool stale_case(const struct health *h, uint32_t n_conns, const struct mdf_health_stream *s,
                       int64_t now)
{
    int64_t since = behind_since(s);

    return s->state == MDF_STREAM_STALE && s->stale_after_ms && since && s->connection &&
           now - since > (int64_t)s->stale_after_ms * 1000000 &&
           conn_is_open_active(h, n_conns, s->connection);
}

/* Replaces connection `conn` for stale stream slot i: every stale stream it carries whose wait
 * is over is served by this one replacement (its step counted). */
static void replace_for(struct watchdog *w, uint32_t n_streams, uint32_t n_conns,
                        const struct mdf_health_stream *first, uint32_t i, int64_t now)
{
    const struct health *h = w->p.h;
    struct wd_request r = {.conn_id = first->connection,
                           .reason = WD_STREAM_STALE,
                           .stream = i,
                           .age_ns = now - behind_since(first)};

    for (uint32_t k = 0; k < n_streams; k++) {
        struct mdf_health_stream s;
        struct wd_cause *c;

        if (health_read(h, MDF_HT_STREAM, k, &s, sizeof(s)) < 0 || !s.in_use ||
            s.connection != first->connection || !stale_case(h, n_conns, &s, now))
            continue;
        c = cause_of(w, k, stream_ident(&s), true);
        if (!c || now < c->until)
            continue;
        c->step++;
        c->until = now + cause_wait(w, c->step);
        if (k == i) {
            r.attempt = c->step;
            r.next_ns = c->until - now;
        }
    }
    if (r.attempt)
        request(w, &r);
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

            if (cool_take(w, c.id, now))
                request(w, &r);
        }
    }
    for (uint32_t i = 0; i < n_streams; i++) {
        struct mdf_health_stream s;
        struct wd_cause *c;

        if (health_read(h, MDF_HT_STREAM, i, &s, sizeof(s)) < 0 || !s.in_use)
            continue;
        if (!stale_case(h, n_conns, &s, now)) {
            /* Not (or no longer) a case: its cause is forgotten once its wait is over. */
            c = s.state == MDF_STREAM_STALE ? NULL : cause_of(w, i, stream_ident(&s), false);
            if (c && now >= c->until)
                memset(c, 0, sizeof(*c));
            continue;
        }
        c = cause_of(w, i, stream_ident(&s), false);
        if (c && now < c->until)
            continue; /* acted on: waiting (the alarm stays visible meanwhile) */
        replace_for(w, n_streams, n_conns, &s, i, now);
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
