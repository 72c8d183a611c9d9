/*
 * The daemon: one event loop, the shared-memory publisher, one feed per configured venue, the
 * signals, and the order in which all of it starts and stops (chrony's main.c is the model:
 * every module's init and fini are called from here, in order and in reverse).
 *
 * Signals: SIGTERM/SIGINT stop the feeds (close frames sent), publish the final state and leave
 * the loop (exit 0); a second one exits at once. SIGHUP reloads the config file: venues and
 * streams added or removed are applied live; untouched streams are not disturbed.
 */
#ifndef MDF_DAEMON_DAEMON_H
#define MDF_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <mdfeed/layout.h>

#include "config/config.h"
#include "daemon/budget.h"
#include "health/health.h"
#include "daemon/notify.h"
#include "health/watchdog.h"
#include "shm/publisher.h"
#include "tls/tls_session.h"

struct feed;

#define DAEMON_MAX_TLS 16 /* distinct ca_file settings */

/* A TLS trust configuration shared by every connection with the same ca_file. */
struct daemon_tls {
    char ca_file[PATH_MAX]; /* "" = system bundle */
    struct tls_config cfg;  /* loaded once */
};

struct daemon {
    uv_loop_t loop;                         /* the event loop (the only data-path thread) */
    struct md_config *cfg;                  /* the running config (owned) */
    char cfg_path[PATH_MAX];                /* file to reload from */
    struct publisher pub;                   /* shm segments */
    bool pub_open;                          /* pub needs closing */
    struct daemon_tls tls[DAEMON_MAX_TLS];  /* shared TLS configurations */
    int n_tls;                              /* used entries */
    struct feed **feeds;                    /* one per venue entry */
    size_t n_feeds;                         /* their count */
    struct budgets budgets;                 /* connection-attempt and REST weight budgets per
                                               venue host, shared by the feeds reaching it */
    uv_signal_t sig_term, sig_int, sig_hup; /* signal watchers */
    uv_timer_t hb_timer;                    /* shm heartbeat */
    uv_timer_t stop_timer;                  /* graceful stop deadline */
    int stop_signals;                       /* SIGTERM/SIGINT received */
    bool stopping;                          /* graceful stop under way */
    int64_t stop_not_before_ms;             /* test hook: loop time before which it may not end */
    uint32_t next_conn_id;                  /* connection numbering */
    uint64_t config_generation;             /* bumped on each applied reload */
    union mdf_record scratch;               /* record being built (loop thread only) */
    struct health health;                   /* health segment */
    struct watchdog wd;                     /* the watchdog thread */
    struct notifier notify;                 /* systemd notifications */
    char status_sent[MDF_HEALTH_TEXT_MAX];  /* last STATUS= sent */
    int64_t status_sent_mono;               /* when */
    uv_signal_t sig_stall;                  /* test hook: SIGUSR2 stalls the loop */
    bool stall_hook;                        /* sig_stall is in use */
    bool health_open;                       /* health needs closing */
    int hstate;                             /* enum mdf_daemon_state */
    int64_t start_ns;                       /* CLOCK_REALTIME at start */
    int64_t last_beat_mono;                 /* loop heartbeat last published */
    uint64_t herr[MDF_HERR_COUNT];          /* errors no other counter records */
    uint64_t events_emitted;                /* events published */
    struct mdf_health_daemon hd_counts;     /* totals of the last refresh */
    char status[MDF_HEALTH_TEXT_MAX];       /* one-line status */
    int64_t rate_mono;                      /* start of the ring-rate second */
    uint64_t ring_head_at[MDF_RING_COUNT];  /* ring heads then */
    uint64_t ring_rate[MDF_RING_COUNT];     /* records/s over the last second */
    uint64_t publish_failures;              /* records that did not fit a ring */
    bool ever_connected;                    /* some venue connection has opened */
    bool offline_hinted;                    /* the "no network? make demo" hint was logged */
    int64_t start_mono;                     /* CLOCK_MONOTONIC ns the feeds started */
    int64_t start_bound_ns;                 /* STARTING ends (DEGRADED) after this long */
    bool start_timed_out;                   /* no connection had acknowledged by then */
    bool degraded;                          /* RUNNING shows as DEGRADED (last refresh) */
    bool degraded_now;                      /* the refresh under way found a reason */
    bool trim_wanted;                       /* memory was freed: give free pages back */
    int64_t trim_mono;                      /* CLOCK_MONOTONIC ns of the last trim */
};

/* Flags SIGHUP, SIGTERM and SIGINT from the start of main until daemon_run installs the loop's
 * watchers, which then act on them (a signal in the first milliseconds never kills the daemon).
 * Call first thing in main. */
void daemon_early_signals(void);

/* Opens the shm segments and creates the feeds for cfg (which it takes over). Returns 0 or a
 * negative code with a message (mdf_errmsg). */
int daemon_init(struct daemon *d, struct md_config *cfg, const char *cfg_path);

/* Starts the feeds and runs the loop until stopped. Returns the exit status. */
int daemon_run(struct daemon *d);

/* Frees everything (after daemon_run returned, or after a failed init). */
void daemon_fini(struct daemon *d);

/* Applies a new config (SIGHUP). Takes over cfg on success; returns 0 or negative (the running
 * config is kept). */
int daemon_reload(struct daemon *d, struct md_config *cfg);

/* The shared TLS configuration for ca_file ("" = system bundle), loaded on first use. NULL
 * with err_set() if it cannot be loaded. */
const struct tls_config *daemon_tls(struct daemon *d, const char *ca_file);

/* Publishes rec to its ring and its latest-state table (symbol and venue set by the caller). */
void daemon_publish(struct daemon *d, union mdf_record *rec);

#endif /* MDF_DAEMON_DAEMON_H */
