/*
 * The watchdog thread: the only thread besides the event loop. Every check period it reads the
 * health segment (never the loop's own structures) and
 * - asks the loop, through a uv_async, to replace a connection that has been silent (no frame
 *   at all) past its watchdog timeout, or that carries a stream stale past its threshold;
 * - sends systemd WATCHDOG=1 (through a callback) only while the loop's heartbeat advances, so a
 *   stuck loop gets the daemon restarted by systemd.
 * Ages are CLOCK_MONOTONIC differences: a wall-clock step causes no false alarm.
 *
 * The watchdog acts once per cause. A silent connection is asked about at most once per
 * cool-down (its id survives reconnects). A stale stream is a cause of its own, remembered by
 * its health slot and identity, not by the connection carrying it (a replacement gets a new
 * id): the first time, its connection is replaced (every other stale stream on it counts as
 * served by the same replacement); if the stream is still stale after that, the cause is not
 * the connection, so the next replacement waits backoff_ns, then twice that, up to
 * backoff_max_ns, while the stream stays visibly STALE. A cause is forgotten once its stream is
 * no longer stale and its wait is over.
 */
#ifndef MDF_HEALTH_WATCHDOG_H
#define MDF_HEALTH_WATCHDOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "health/health.h"

/* Why the watchdog asks for a connection to be replaced. */
enum wd_reason {
    WD_CONN_SILENT = 1,  /* no frame past the connection's watchdog_ms */
    WD_STREAM_STALE = 2, /* a stream it carries is stale past its threshold */
};

/* A request to the loop. */
struct wd_request {
    uint32_t conn_id; /* daemon connection id */
    uint32_t reason;  /* enum wd_reason */
    uint32_t stream;  /* WD_STREAM_STALE: health stream slot */
    uint32_t attempt; /* WD_STREAM_STALE: replacements made for this cause, this one included */
    int64_t age_ns;   /* how long it has been silent or stale */
    int64_t next_ns;  /* WD_STREAM_STALE: the next one for this cause no sooner than this */
};

/* A stale stream the watchdog acted on (its cause), with its backoff. */
struct wd_cause {
    uint64_t ident; /* the stream: hash of venue, symbol, type and name; 0 = free entry */
    uint32_t slot;  /* its health stream slot */
    uint32_t step;  /* replacements made for it */
    int64_t until;  /* no replacement for it before then (CLOCK_MONOTONIC ns) */
};

#define WD_MAX_REQUESTS 64  /* requests queued between two loop wake-ups */
#define WD_MAX_TRACKED 1024 /* connections and causes whose cool-down is remembered */

struct watchdog;

struct wd_params {
    const struct health *h;      /* segment to read (written by the loop thread) */
    int64_t check_ns;            /* period of the checks */
    int64_t stall_ns;            /* loop heartbeat older than this = the loop is stuck */
    int64_t keepalive_ns;        /* period of keepalive() (systemd WATCHDOG=1), 0 = none */
    int64_t cooldown_ns;         /* least time between two requests for one connection */
    int64_t backoff_ns;          /* a stale stream's second replacement waits this long */
    int64_t backoff_max_ns;      /* the wait doubles per replacement up to this */
    void (*keepalive)(void *ud); /* watchdog thread; may be NULL */
    void (*on_stall)(void *ud, int64_t age_ns);               /* watchdog thread: loop stuck (once
                                                                 per stall); may be NULL */
    void (*on_request)(void *ud, const struct wd_request *r); /* loop thread */
    void *ud;                                                 /* for the callbacks */
};

struct watchdog {
    struct wd_params p;                     /* settings */
    uv_async_t async;                       /* wakes the loop for requests */
    pthread_t thread;                       /* the watchdog thread */
    pthread_mutex_t mu;                     /* guards req[], n_req, stop */
    pthread_cond_t cv;                      /* wakes the thread early to stop */
    struct wd_request req[WD_MAX_REQUESTS]; /* queued requests */
    uint32_t n_req;                         /* how many */
    bool stop;                              /* the thread must end */
    bool running;                           /* thread started */
    /* Thread-private state. */
    int64_t last_keepalive;                /* when keepalive() was last called */
    bool stalled;                          /* the loop is known stuck (on_stall called) */
    uint32_t cool_id[WD_MAX_TRACKED];      /* connection ids asked about recently */
    int64_t cool_until[WD_MAX_TRACKED];    /* until when each is left alone */
    struct wd_cause cause[WD_MAX_TRACKED]; /* stale streams acted on */
    uint64_t requests;                     /* requests made (thread) */
    uint64_t keepalives;                   /* keepalives sent (thread) */
    uint64_t stalls;                       /* stalls seen (thread) */
};

/* Starts the thread; requests arrive on loop's thread through p->on_request. Returns 0 or a
 * negative code. */
int watchdog_start(struct watchdog *w, uv_loop_t *loop, const struct wd_params *p);

/* Stops and joins the thread and closes the async handle (the loop must run for the close to
 * finish). No-op if not started. */
void watchdog_stop(struct watchdog *w);

/* One pass of the checks at monotonic time now (the thread calls it; exposed for tests). */
void watchdog_check(struct watchdog *w, int64_t now);

#endif /* MDF_HEALTH_WATCHDOG_H */
