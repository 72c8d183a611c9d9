/*
 * The daemon's lifecycle (see daemon.h): init and fini in order, the signals, reload, and the
 * heartbeat timer that also finishes a graceful stop and frees feeds a reload retired.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
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
#include "daemon/health_pub.h"
#include "daemon/log.h"
#include "daemon/notify.h"

#define HEARTBEAT_MS HP_PUBLISH_MS /* shm heartbeat and health refresh period */
#define TRIM_EVERY_MS 1000         /* free pages go back to the system at most this often */
#define STOP_DEADLINE_MS 10000     /* a graceful stop that takes longer is cut short */
#define START_BOUND_MS 30000       /* STARTING without any subscription acknowledged: DEGRADED */

static struct log_limit publish_log; /* records that did not fit a ring */
static struct log_limit shm_log;     /* latest-state entries that could not be backed */

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
    if (rec->h.type == MDF_REC_BOOK) /* which book it is, from its stream's entry */
        state_tx_book_ident(&d->pub.st, &rec->book);
    if (pub_publish(&d->pub, ring, rec) == UINT64_MAX) {
        d->publish_failures++;
        log_limited(&publish_log, LOG_LV_ERR, "a %s record of %u bytes does not fit ring %d",
                    mdf_rec_type_name(rec->h.type), rec->h.size, ring);
        return;
    }
    /* A new candle series of a source that did not declare it (state_tx_stream assigns the
     * daemon's own at registration) may find /dev/shm full: counted, the ring has the record. */
    if (rec->h.type != MDF_REC_LIQUIDATION && rec->h.type != MDF_REC_EVENT &&
        state_tx_update(&d->pub.st, rec) == ERR_SHM_SPACE) {
        hp_count_error(d, MDF_HERR_SHM);
        log_limited(&shm_log, LOG_LV_ERR, "%s", mdf_errmsg());
    }
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
    if (d->stall_hook)
        uv_close((uv_handle_t *)&d->sig_stall, on_closed_noop);
    d->stall_hook = false;
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
    hp_set_state(d, MDF_DAEMON_STOPPING);
    notify_send(&d->notify, "STOPPING=1\nSTATUS=stopping");
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
        FILE *es;
        int rc;

        if (d->stopping)
            return; /* before the error stream is opened: it would be left open */
        es = open_memstream(&errs, &errs_len);
        log_msg(LOG_LV_NOTICE, "SIGHUP: reloading %s", d->cfg_path);
        notify_send(&d->notify, "RELOADING=1\nSTATUS=reloading the configuration");
        rc = es ? cfg_load(d->cfg_path, es, &cfg) : -ENOMEM;
        if (es)
            fclose(es);
        if (rc < 0) {
            for (char *line = errs ? strtok(errs, "\n") : NULL; line; line = strtok(NULL, "\n"))
                log_msg(LOG_LV_ERR, "%s", line);
            log_msg(LOG_LV_ERR, "reload refused: the running configuration stays");
        } else {
            /* Notices of the new file ("FILE:LINE: notice: ..."). */
            for (char *line = errs ? strtok(errs, "\n") : NULL; line; line = strtok(NULL, "\n"))
                log_msg(LOG_LV_NOTICE, "%s", line);
            if (daemon_reload(d, cfg) < 0)
                log_msg(LOG_LV_ERR, "reload failed: %s", mdf_errmsg());
        }
        free(errs);
        notify_sendf(&d->notify, "READY=1\nSTATUS=%s", hp_status(d));
        return;
    }
    if (++d->stop_signals > 1) {
        log_msg(LOG_LV_WARNING, "second %s: exiting at once", strsignal(signum));
        _exit(1);
    }
    log_msg(LOG_LV_NOTICE, "%s: stopping", strsignal(signum));
    begin_stop(d);
}

/* ---- signals before the loop ------------------------------------------------------------- */

/* Signals that arrived between the start of main and the loop's own watchers: only flagged
 * here (async-signal-safe), acted on once the loop runs. */
static volatile sig_atomic_t early_hup, early_stop;

static void on_early_signal(int signum)
{
    if (signum == SIGHUP)
        early_hup = 1;
    else
        early_stop = signum;
}

void daemon_early_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_early_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* True once some connection has every stream it carries acknowledged (READY for systemd):
 * the segments exist and data is on its way. */
static bool first_subscriptions_acked(const struct daemon *d)
{
    if (!d->n_feeds)
        return true;
    for (size_t i = 0; i < d->n_feeds; i++)
        for (const struct shard *sh = d->feeds[i]->shards; sh; sh = sh->next)
            if (sh->all_acked_mono)
                return true;
    return false;
}

/* Gives the free pages inside the heap back to the system, at most once a second and only after
 * something was freed (what a reload let go: the old config, removed streams, retired feeds).
 * The big buffers are mmap'd and unmapped when freed (main.c fixes glibc's threshold), but the
 * small allocations of a reload leave holes among live ones, and glibc keeps those pages
 * resident: reload after reload the daemon's private memory would only grow. */
static void trim_heap(struct daemon *d, int64_t now)
{
    if (!d->trim_wanted || now - d->trim_mono < TRIM_EVERY_MS * 1000000LL)
        return;
    d->trim_wanted = false;
    d->trim_mono = now;
    malloc_trim(0);
}

static void on_heartbeat(uv_timer_t *t)
{
    struct daemon *d = t->data;
    int64_t now = clock_mono_ns();

    pub_heartbeat(&d->pub, now);
    if (d->start_timed_out && first_subscriptions_acked(d))
        d->start_timed_out = false;
    if (d->hstate == MDF_DAEMON_STARTING && !d->stopping &&
        (first_subscriptions_acked(d) ||
         (d->start_mono && now - d->start_mono >= d->start_bound_ns))) {
        /* Never STARTING past the bound: without any connection up by then the daemon says
         * so (DEGRADED), tells systemd it is up (it keeps retrying), and logs why. */
        if (!first_subscriptions_acked(d)) {
            d->start_timed_out = true;
            log_msg(LOG_LV_WARNING,
                    "no venue subscription acknowledged %.0f s after start: running DEGRADED "
                    "and retrying (see the connection errors above; mdfeed-top shows each "
                    "connection)",
                    (double)d->start_bound_ns / 1e9);
        }
        d->hstate = MDF_DAEMON_RUNNING;
        hp_refresh(d, now);
        notify_sendf(&d->notify, "READY=1\nSTATUS=%s", hp_status(d));
        snprintf(d->status_sent, sizeof(d->status_sent), "%s", hp_status(d));
        d->status_sent_mono = now;
    } else {
        hp_refresh(d, now);
    }
    /* STATUS= when the summary changes, at most once a second. */
    if (!d->stopping && now - d->status_sent_mono >= 1000000000LL &&
        strcmp(d->status_sent, hp_status(d)) != 0) {
        notify_sendf(&d->notify, "STATUS=%s", hp_status(d));
        snprintf(d->status_sent, sizeof(d->status_sent), "%s", hp_status(d));
        d->status_sent_mono = now;
    }
    /* Free the feeds a reload retired once they have closed. */
    for (size_t i = 0; i < d->n_feeds && !d->stopping;) {
        struct feed *f = d->feeds[i];

        if (f->stopping && feed_stopped(f)) {
            feed_free(f);
            d->feeds[i] = d->feeds[--d->n_feeds];
            d->trim_wanted = true;
            continue;
        }
        i++;
    }
    trim_heap(d, now);
    if (d->stopping && all_stopped(d) && (int64_t)uv_now(&d->loop) >= d->stop_not_before_ms)
        finish_stop(d);
}

/* ---- watchdog --------------------------------------------------------------------------- */

static struct shard *find_conn(struct daemon *d, uint32_t id)
{
    for (size_t i = 0; i < d->n_feeds; i++)
        for (struct shard *sh = d->feeds[i]->shards; sh; sh = sh->next)
            if (sh->id == id)
                return sh;
    return NULL;
}

/* Loop thread: the watchdog asks for connection r->conn_id to be replaced. */
static void on_watchdog_request(void *ud, const struct wd_request *r)
{
    struct daemon *d = ud;
    struct shard *sh = find_conn(d, r->conn_id);
    struct feed *f;

    if (!sh || sh->stopping || d->stopping || sh->ws.state != WSC_CONNECTED)
        return; /* gone or already reconnecting */
    f = sh->f;
    hp_count_error(d, MDF_HERR_WATCHDOG);
    if (r->reason == WD_CONN_SILENT) {
        ev_emit(d, LOG_LV_WARNING, MDF_EV_WATCHDOG_TRIGGERED, f->venue_id, UINT32_MAX, sh->id,
                "no frame for %.1f s (watchdog_timeout %g s): reconnecting",
                (double)r->age_ns / 1e9, f->cv.health.watchdog_timeout);
        wsconn_reconnect(&sh->ws, -ETIMEDOUT);
        return;
    }
    if (sh->role != SH_ACTIVE || sh->partner)
        return; /* a rotation is under way */
    ev_emit(d, LOG_LV_WARNING, MDF_EV_WATCHDOG_TRIGGERED, f->venue_id, UINT32_MAX, sh->id,
            "a stream it carries is stale for %.1f s: replacing the connection (%s; if that "
            "does not cure it, the next try waits %.0f s)",
            (double)r->age_ns / 1e9, r->attempt > 1 ? "again" : "first try",
            (double)r->next_ns / 1e9);
    feed_rotate(f, sh);
}

/* Watchdog thread: the loop's heartbeat stopped. Only the log: the events ring has one
 * producer, the loop. */
static void on_watchdog_stall(void *ud, int64_t age_ns)
{
    (void)ud;
    log_msg(LOG_LV_ERR,
            "WATCHDOG_TRIGGERED: the event loop has not run for %.1f s: systemd "
            "keepalives withheld",
            (double)age_ns / 1e9);
}

/* Watchdog thread: systemd keepalive. */
static void on_watchdog_keepalive(void *ud)
{
    struct daemon *d = ud;

    notify_send(&d->notify, "WATCHDOG=1");
}

static int start_watchdog(struct daemon *d)
{
    struct wd_params p = {0};
    double check = 60;
    int64_t keep = notify_watchdog_usec(&d->notify) * 1000 / 2;

    for (size_t v = 0; v < d->cfg->n_venues; v++)
        if (d->cfg->venues[v].health.check_interval < check)
            check = d->cfg->venues[v].health.check_interval;
    p.h = &d->health;
    p.check_ns = (int64_t)(check * 1e9);
    /* Stuck after 5 s without a beat (50 beats), or sooner with a short systemd watchdog, so
     * that keepalives stop well within WatchdogSec. */
    p.stall_ns = 5000000000LL;
    if (keep && keep / 2 < p.stall_ns)
        p.stall_ns =
            keep / 2 > 3 * HEARTBEAT_MS * 1000000LL ? keep / 2 : 3 * HEARTBEAT_MS * 1000000LL;
    p.keepalive_ns = keep;
    p.cooldown_ns = 15000000000LL;
    p.backoff_ns = 60000000000LL;
    for (size_t v = 0; v < d->cfg->n_venues; v++)
        if ((int64_t)(d->cfg->venues[v].health.watchdog_backoff * 1e9) < p.backoff_ns)
            p.backoff_ns = (int64_t)(d->cfg->venues[v].health.watchdog_backoff * 1e9);
    p.backoff_max_ns = 3600000000000LL;
    p.keepalive = keep ? on_watchdog_keepalive : NULL;
    p.on_stall = on_watchdog_stall;
    p.on_request = on_watchdog_request;
    p.ud = d;
    return watchdog_start(&d->wd, &d->loop, &p);
}

/* Test hook (MDFEED_TEST_STALL_MS set): SIGUSR2 blocks the loop that long. */
static void on_stall_signal(uv_signal_t *h, int signum)
{
    const char *ms = getenv("MDFEED_TEST_STALL_MS");

    (void)h;
    (void)signum;
    log_msg(LOG_LV_WARNING, "test hook: stalling the event loop for %s ms", ms ? ms : "0");
    clock_sleep_ns((int64_t)atoi(ms ? ms : "0") * 1000000);
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
            for (size_t k = 0; k < f->n_streams; k++) /* readers see them retired */
                state_tx_stream_retire(&d->pub.st, f->streams[k]->stream);
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
    d->trim_wanted = true;
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
    budgets_init(&d->budgets);
    /* Before any thread exists. A bad $NOTIFY_SOCKET is logged; the daemon runs without. */
    if (notify_open(&d->notify) < 0)
        log_msg(LOG_LV_WARNING, "systemd notifications off: %s", mdf_errmsg());
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
    pp.state.max_streams = cfg->shm.max_streams;
    pp.hb_interval_ns = HEARTBEAT_MS * 1000000LL;
    rc = pub_open(&d->pub, &pp);
    if (rc == ERR_SHM_SPACE) /* the message names the segment, the bytes and the free space */
        return err_prefix(rc,
                          "shared memory (this configuration backs %zu bytes of /dev/shm at "
                          "start: shrink shm.rings or free space there)",
                          pub_backed_size(&pp));
    if (rc < 0)
        return err_prefix(rc, "shared memory"); /* the message names the instance */
    d->pub_open = true;
    rc = hp_open(d);
    if (rc < 0)
        return err_prefix(rc, "health segment"); /* the message names the instance */
    if (d->pub.adopted)
        log_msg(LOG_LV_NOTICE, "adopted the segments of a previous daemon (epoch %" PRIu64 ")",
                d->pub.epoch);
    /* A segment left by a dead daemon but not adoptable is replaced: say which and why. */
    {
        const struct seg *segs[MDF_RING_COUNT + 3] = {&d->pub.state, &d->pub.doorbell,
                                                      &d->health.seg};

        for (int r = 0; r < MDF_RING_COUNT; r++)
            segs[3 + r] = &d->pub.rings[r];
        for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
            if (segs[i]->replaced[0])
                log_msg(LOG_LV_WARNING, "replaced /dev/shm%s left by a previous daemon: %s",
                        segs[i]->name, segs[i]->replaced);
    }

    d->feeds = calloc(cfg->n_venues + 1, sizeof(*d->feeds));
    if (!d->feeds)
        return err_set(-ENOMEM, "out of memory");
    for (size_t v = 0; v < cfg->n_venues; v++) {
        struct feed *f = feed_new(d, &cfg->venues[v]);

        if (!f)
            return err_prefix(-EINVAL, "venue %s", cfg->venues[v].name);
        d->feeds[d->n_feeds++] = f;
    }
    /* Streams an adopted segment holds from the previous daemon's configuration only. */
    if (d->pub.adopted && state_tx_retire_unclaimed(&d->pub.st))
        log_msg(LOG_LV_INFO, "retired the streams the previous configuration had and this lacks");
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
    if (getenv("MDFEED_TEST_STALL_MS")) {
        uv_signal_init(&d->loop, &d->sig_stall);
        uv_signal_start(&d->sig_stall, on_stall_signal, SIGUSR2);
        d->stall_hook = true;
    }
    uv_timer_start(&d->hb_timer, on_heartbeat, 0, HEARTBEAT_MS);
    hp_refresh(d, clock_mono_ns());
    if (start_watchdog(d) < 0) {
        log_msg(LOG_LV_ERR, "%s", mdf_errmsg());
        hp_set_state(d, MDF_DAEMON_FAILED);
        return 1;
    }
    {
        const char *bound = getenv("MDFEED_TEST_START_BOUND_MS"); /* test hook */

        d->start_bound_ns = (bound ? atoll(bound) : START_BOUND_MS) * 1000000LL;
        d->start_mono = clock_mono_ns();
    }
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
    /* The loop's watchers are in place (any later signal is theirs): act on what came before. */
    if (early_stop)
        on_signal(&d->sig_term, early_stop);
    else if (early_hup)
        on_signal(&d->sig_hup, SIGHUP); /* the file may have changed after it was read */
    early_stop = early_hup = 0;
    if (!started && d->n_feeds)
        begin_stop(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    log_msg(LOG_LV_NOTICE, "stopped");
    return started || !d->n_feeds ? 0 : 1;
}

void daemon_fini(struct daemon *d)
{
    /* Handles still open after a cut-short stop (or a failed init): close and drain them. */
    /* The watchdog reads the health segment: it goes first. */
    watchdog_stop(&d->wd);
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
    budgets_fini(&d->budgets); /* after the feeds, which hold references */
    if (!uv_is_closing((uv_handle_t *)&d->hb_timer) && d->hb_timer.loop) {
        uv_close((uv_handle_t *)&d->hb_timer, on_closed_noop);
        uv_close((uv_handle_t *)&d->stop_timer, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_term, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_int, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_hup, on_closed_noop);
        if (d->stall_hook)
            uv_close((uv_handle_t *)&d->sig_stall, on_closed_noop);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    for (int i = 0; i < d->n_tls; i++)
        tls_config_fini(&d->tls[i].cfg);
    hp_close(d);
    notify_close(&d->notify);
    if (d->pub_open)
        pub_close(&d->pub, false);
    cfg_free(d->cfg);
}
