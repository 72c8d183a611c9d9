/*
 * The daemon's lifecycle (see daemon.h): init and fini in order, the signals, reload, and the
 * heartbeat timer that also finishes a graceful stop and frees feeds a reload retired.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"

#define HEARTBEAT_MS 100       /* shm heartbeat period */
#define STOP_DEADLINE_MS 10000 /* a graceful stop that takes longer is cut short */

static struct log_limit publish_log; /* records that did not fit a ring */

const struct tls_config *daemon_tls(struct daemon *d, const char *ca_file)
{
    struct tls_config_params tp = {.server = false};
    struct daemon_tls *t;
    int rc;

    for (int i = 0; i < d->n_tls; i++)
        if (strcmp(d->tls[i].ca_file, ca_file) == 0)
            return &d->tls[i].cfg;
    if (d->n_tls == DAEMON_MAX_TLS) {
        err_set(-ENOSPC, "more than %d different ca_file settings", DAEMON_MAX_TLS);
        return NULL;
    }
    t = &d->tls[d->n_tls];
    snprintf(t->ca_file, sizeof(t->ca_file), "%s", ca_file);
    tp.ca_file = ca_file[0] ? ca_file : NULL;
    rc = tls_config_init(&t->cfg, &tp);
    if (rc < 0)
        return NULL;
    d->n_tls++;
    return &t->cfg;
}

void daemon_publish(struct daemon *d, union mdf_record *rec)
{
    int ring = mdf_rec_type_ring(rec->h.type);

    if (ring < 0)
        return;
    if (pub_publish(&d->pub, ring, rec) == UINT64_MAX) {
        d->publish_failures++;
        log_limited(&publish_log, LOG_LV_ERR, "a %s record of %u bytes does not fit ring %d",
                    mdf_rec_type_name(rec->h.type), rec->h.size, ring);
        return;
    }
    if (rec->h.type != MDF_REC_LIQUIDATION && rec->h.type != MDF_REC_EVENT)
        state_tx_update(&d->pub.st, rec);
}

/* ---- stop -------------------------------------------------------------------------------- */

static bool all_stopped(struct daemon *d)
{
    for (size_t i = 0; i < d->n_feeds; i++)
        if (!feed_stopped(d->feeds[i]))
            return false;
    return true;
}

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

/* Everything has stopped: close the daemon's own handles so the loop ends. */
static void finish_stop(struct daemon *d)
{
    pub_heartbeat(&d->pub, clock_mono_ns());
    uv_close((uv_handle_t *)&d->hb_timer, on_closed_noop);
    uv_close((uv_handle_t *)&d->stop_timer, on_closed_noop);
    uv_close((uv_handle_t *)&d->sig_term, on_closed_noop);
    uv_close((uv_handle_t *)&d->sig_int, on_closed_noop);
    uv_close((uv_handle_t *)&d->sig_hup, on_closed_noop);
}

static void on_stop_deadline(uv_timer_t *t)
{
    struct daemon *d = t->data;

    log_msg(LOG_LV_WARNING, "graceful stop took over %d ms: leaving now", STOP_DEADLINE_MS);
    uv_stop(&d->loop);
}

static void begin_stop(struct daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    /* Test hook: hold the stop open this long so a test can send a second signal. */
    {
        const char *slow = getenv("MDFEED_TEST_SLOW_STOP_MS");

        d->stop_not_before_ms = slow ? (int64_t)uv_now(&d->loop) + atoi(slow) : 0;
    }
    /* The books will not be updated any more: say so before the feeds go. */
    for (size_t i = 0; i < d->n_feeds; i++) {
        feed_mark_books_stale(d->feeds[i]);
        feed_stop(d->feeds[i]);
    }
    uv_timer_start(&d->stop_timer, on_stop_deadline, STOP_DEADLINE_MS, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    if (signum == SIGHUP) {
        struct md_config *cfg = NULL;
        char *errs = NULL;
        size_t errs_len = 0;
        FILE *es = open_memstream(&errs, &errs_len);
        int rc;

        if (d->stopping)
            return;
        log_msg(LOG_LV_NOTICE, "SIGHUP: reloading %s", d->cfg_path);
        rc = es ? cfg_load(d->cfg_path, es, &cfg) : -ENOMEM;
        if (es)
            fclose(es);
        if (rc < 0) {
            for (char *line = errs ? strtok(errs, "\n") : NULL; line; line = strtok(NULL, "\n"))
                log_msg(LOG_LV_ERR, "%s", line);
            log_msg(LOG_LV_ERR, "reload refused: the running configuration stays");
        } else if (daemon_reload(d, cfg) < 0) {
            log_msg(LOG_LV_ERR, "reload failed: %s", mdf_errmsg());
        }
        free(errs);
        return;
    }
    if (++d->stop_signals > 1) {
        log_msg(LOG_LV_WARNING, "second %s: exiting at once", strsignal(signum));
        _exit(1);
    }
    log_msg(LOG_LV_NOTICE, "%s: stopping", strsignal(signum));
    begin_stop(d);
}

static void on_heartbeat(uv_timer_t *t)
{
    struct daemon *d = t->data;

    pub_heartbeat(&d->pub, clock_mono_ns());
    /* Free the feeds a reload retired once they have closed. */
    for (size_t i = 0; i < d->n_feeds && !d->stopping;) {
        struct feed *f = d->feeds[i];

        if (f->stopping && feed_stopped(f)) {
            feed_free(f);
            d->feeds[i] = d->feeds[--d->n_feeds];
            continue;
        }
        i++;
    }
    if (d->stopping && all_stopped(d) && (int64_t)uv_now(&d->loop) >= d->stop_not_before_ms)
        finish_stop(d);
}

/* ---- reload ------------------------------------------------------------------------------ */

int daemon_reload(struct daemon *d, struct md_config *cfg)
{
    struct md_config *old = d->cfg;
    struct feed **feeds;
    size_t n = 0, added = 0, stopped = 0, changed = 0;
    char why[256];

    if (cfg_needs_restart(old, cfg, why, sizeof(why)))
        log_msg(LOG_LV_WARNING, "reload: %s changed: takes effect at the next restart", why);
    /* What only a restart can change stays as it runs. */
    memcpy(cfg->instance, old->instance, sizeof(cfg->instance));
    cfg->shm = old->shm;
    cfg->decoder = old->decoder;

    feeds = calloc(d->n_feeds + cfg->n_venues + 1, sizeof(*feeds));
    if (!feeds) {
        cfg_free(cfg);
        return err_set(-ENOMEM, "out of memory");
    }
    d->cfg = cfg;
    /* Existing feeds: reloaded if their venue entry is still there, else stopped. */
    for (size_t i = 0; i < d->n_feeds; i++) {
        struct feed *f = d->feeds[i];
        const struct cfg_venue *cv = f->stopping ? NULL : cfg_venue_find(cfg, f->cv.name);

        if (cv && cv->profile == f->prof) {
            if (feed_reload(f, cv) < 0)
                log_msg(LOG_LV_ERR, "reload of %s incomplete: %s", f->cv.name, mdf_errmsg());
            changed++;
        } else if (!f->stopping) {
            feed_stop(f);
            stopped++;
        }
        feeds[n++] = f;
    }
    /* New venues. */
    for (size_t v = 0; v < cfg->n_venues; v++) {
        const struct cfg_venue *cv = &cfg->venues[v];
        bool have = false;
        struct feed *f;

        for (size_t i = 0; i < d->n_feeds && !have; i++)
            have = !d->feeds[i]->stopping && strcmp(d->feeds[i]->cv.name, cv->name) == 0 &&
                   d->feeds[i]->prof == cv->profile;
        if (have)
            continue;
        f = feed_new(d, cv);
        if (!f) {
            log_msg(LOG_LV_ERR, "reload: venue %s not started: %s", cv->name, mdf_errmsg());
            continue;
        }
        feeds[n++] = f;
        added++;
        if (feed_start(f) < 0) {
            ev_emit(d, LOG_LV_ERR, MDF_EV_FEED_START_FAILED, f->venue_id, UINT32_MAX, 0, "%s",
                    mdf_errmsg());
            feed_stop(f);
        }
    }
    free(d->feeds);
    d->feeds = feeds;
    d->n_feeds = n;
    d->config_generation++;
    log_set_level(cfg->log_level);
    cfg_free(old);
    ev_emit(d, LOG_LV_NOTICE, MDF_EV_CONFIG_RELOADED, UINT16_MAX, UINT32_MAX, 0,
            "generation %" PRIu64 ": %zu venues kept, %zu added, %zu stopped", d->config_generation,
            changed, added, stopped);
    return 0;
}

/* ---- init, run, fini --------------------------------------------------------------------- */

int daemon_init(struct daemon *d, struct md_config *cfg, const char *cfg_path)
{
    struct pub_params pp;
    int rc;

    memset(d, 0, sizeof(*d));
    d->cfg = cfg;
    snprintf(d->cfg_path, sizeof(d->cfg_path), "%s", cfg_path);
    rc = uv_loop_init(&d->loop);
    if (rc < 0)
        return err_set(rc, "event loop: %s", uv_strerror(rc));

    pub_default_params(&pp, cfg->instance);
    pp.mode = cfg->shm.mode;
    pp.gid = cfg->shm.gid;
    for (int r = 0; r < MDF_RING_COUNT; r++)
        pp.ring_capacity[r] = cfg->shm.ring_size[r];
    pp.state.book_depth = cfg->shm.book_depth;
    pp.state.candle_k = cfg->shm.candle_k;
    pp.state.max_symbols = cfg->shm.max_symbols;
    pp.state.max_series = cfg->shm.max_series;
    pp.hb_interval_ns = HEARTBEAT_MS * 1000000LL;
    rc = pub_open(&d->pub, &pp);
    if (rc < 0)
        return err_prefix(rc, "shared memory of instance \"%s\"", cfg->instance);
    d->pub_open = true;
    if (d->pub.adopted)
        log_msg(LOG_LV_NOTICE, "adopted the segments of a previous daemon (epoch %" PRIu64 ")",
                d->pub.epoch);

    d->feeds = calloc(cfg->n_venues + 1, sizeof(*d->feeds));
    if (!d->feeds)
        return err_set(-ENOMEM, "out of memory");
    for (size_t v = 0; v < cfg->n_venues; v++) {
        struct feed *f = feed_new(d, &cfg->venues[v]);

        if (!f)
            return err_prefix(-EINVAL, "venue %s", cfg->venues[v].name);
        d->feeds[d->n_feeds++] = f;
    }
    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    uv_signal_init(&d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_timer_init(&d->loop, &d->hb_timer);
    uv_timer_init(&d->loop, &d->stop_timer);
    d->hb_timer.data = d->stop_timer.data = d;
    return 0;
}

int daemon_run(struct daemon *d)
{
    size_t started = 0;

    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    uv_timer_start(&d->hb_timer, on_heartbeat, 0, HEARTBEAT_MS);
    for (size_t i = 0; i < d->n_feeds; i++) {
        struct feed *f = d->feeds[i];

        if (feed_start(f) < 0) {
            ev_emit(d, LOG_LV_ERR, MDF_EV_FEED_START_FAILED, f->venue_id, UINT32_MAX, 0, "%s",
                    mdf_errmsg());
            feed_stop(f);
            continue;
        }
        started++;
    }
    log_msg(LOG_LV_NOTICE, "running: instance \"%s\", %zu of %zu venues started, pid %d",
            d->cfg->instance, started, d->n_feeds, (int)getpid());
    if (!started && d->n_feeds)
        begin_stop(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    log_msg(LOG_LV_NOTICE, "stopped");
    return started || !d->n_feeds ? 0 : 1;
}

void daemon_fini(struct daemon *d)
{
    /* Handles still open after a cut-short stop (or a failed init): close and drain them. */
    if (uv_loop_alive(&d->loop) || d->n_feeds) {
        for (size_t i = 0; i < d->n_feeds; i++)
            feed_stop(d->feeds[i]);
        for (int k = 0; k < 100 && !all_stopped(d); k++)
            uv_run(&d->loop, UV_RUN_NOWAIT), clock_sleep_ns(10000000);
    }
    for (size_t i = 0; i < d->n_feeds; i++)
        feed_free(d->feeds[i]);
    free(d->feeds);
    d->feeds = NULL;
    d->n_feeds = 0;
    if (!uv_is_closing((uv_handle_t *)&d->hb_timer) && d->hb_timer.loop) {
        uv_close((uv_handle_t *)&d->hb_timer, on_closed_noop);
        uv_close((uv_handle_t *)&d->stop_timer, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_term, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_int, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_hup, on_closed_noop);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    for (int i = 0; i < d->n_tls; i++)
        tls_config_fini(&d->tls[i].cfg);
    if (d->pub_open)
        pub_close(&d->pub, false);
    cfg_free(d->cfg);
}
