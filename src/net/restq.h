/*
 * A REST request queue under a request-weight budget, one per venue, so that however many books
 * need snapshots at once (a mass reconnect), the daemon never gets its IP banned.
 *
 * Binance counts request weight per IP per wall-clock minute and reports the total so far in
 * the x-mbx-used-weight-1m response header. A request is sent only while our estimate of the
 * minute's weight (the larger of the header's last value and our own sum for the minute) plus
 * its weight stays within share x limit. A 429 pauses the whole queue until Retry-After (or the
 * next minute); a 418 (banned) stops it until Retry-After. Either way the request is kept and
 * retried, never lost. Network errors and 5xx are retried with backoff a few times. One event
 * loop thread.
 */
#ifndef MDF_NET_RESTQ_H
#define MDF_NET_RESTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/http.h"
#include "tls/tls_session.h"

#define RESTQ_URL_MAX 768
#define RESTQ_MAX_INFLIGHT 4

struct restq;
struct restq_req;

/* The request finished: err 0 and a 2xx response, or ERR_HTTP_STATUS with the (non-2xx,
 * non-429/418) response, or another negative code after the retries (resp NULL), or
 * -ECANCELED (restq_cancel or restq_stop). resp and its body are borrowed for the call. */
typedef void (*restq_cb)(struct restq_req *r, int err, const struct http_response *resp);

/* A request. The caller owns its memory and must keep it until its callback ran (or it was
 * cancelled). Public fields are set before restq_submit. */
struct restq_req {
    char url[RESTQ_URL_MAX]; /* public: full http(s) URL */
    uint32_t weight;         /* public: request weight */
    restq_cb cb;             /* public: completion */
    void *ud;                /* public: owner's pointer */
    struct restq_req *next;  /* private: queue link */
    int tries;               /* private: attempts made */
    bool queued;             /* private: in the queue or in flight */
};

struct restq_params {
    const char *name;             /* venue name, for messages */
    const struct tls_config *tls; /* borrowed; required for https */
    uint32_t weight_limit;        /* the venue's weight per minute */
    double share;                 /* 0..1 of weight_limit we allow ourselves */
    uint32_t max_inflight;        /* concurrent requests, 1..RESTQ_MAX_INFLIGHT */
    uint32_t timeout_ms;          /* per request */
    size_t max_body;              /* largest response body */
    uint32_t max_tries;           /* network errors / 5xx retried up to this many attempts */
};

/* Throttle notices for the owner's events and logs. */
enum restq_notice {
    RQ_THROTTLED = 1, /* a 429: paused until until_ms */
    RQ_BANNED = 2,    /* a 418: stopped until until_ms */
    RQ_RESUMED = 3,   /* sending again */
};

struct restq_stats {
    uint64_t sent;           /* requests put on the wire */
    uint64_t ok;             /* 2xx */
    uint64_t failed;         /* callbacks with an error */
    uint64_t retried;        /* attempts repeated */
    uint64_t throttled;      /* 429s */
    uint64_t banned;         /* 418s */
    uint64_t deferred;       /* times the budget held a request back */
    uint32_t used_weight;    /* last x-mbx-used-weight-1m seen (this minute), else own sum */
    uint32_t budget;         /* share x limit */
    uint32_t queued;         /* requests waiting */
    int64_t paused_until_ms; /* CLOCK_REALTIME ms until which nothing is sent, 0 = not */
    bool banned_now;         /* the pause is a 418 ban */
};

/* Private except ud and stats. */
struct restq {
    uv_loop_t *loop;       /* borrowed */
    struct restq_params p; /* settings (name copied) */
    char name[32];         /* venue name */
    void *ud;              /* public: owner's pointer */
    void (*on_notice)(struct restq *q, enum restq_notice n, int64_t until_ms); /* may be NULL */
    struct restq_stats stats;                       /* public, read-only */
    struct restq_req *head, *tail;                  /* waiting requests, FIFO */
    struct http_get get[RESTQ_MAX_INFLIGHT];        /* request slots */
    struct restq_req *inflight[RESTQ_MAX_INFLIGHT]; /* request in each slot, NULL = free */
    uv_timer_t timer;                               /* wakes the queue after a pause or deferral */
    int64_t minute;                                 /* wall-clock minute of the weight estimate */
    uint32_t own_weight;                            /* weight we sent this minute */
    uint32_t hdr_weight;                            /* header value this minute */
    int closing;                                    /* handles still closing in restq_stop */
    void (*stop_cb)(struct restq *q);               /* restq_stop's callback */
};

/* Sets up the queue (allocates the http bodies: control path). Returns 0 or negative. */
int restq_init(struct restq *q, uv_loop_t *loop, const struct restq_params *p);

/* Queues r (at the tail). Returns 0, -EALREADY if r is queued, -EINVAL (bad URL or weight over
 * the budget), -ESHUTDOWN after restq_stop. */
int restq_submit(struct restq *q, struct restq_req *r);

/* Takes r out of the queue (its callback runs with -ECANCELED, now or, if in flight, when the
 * request ends). No-op if r is not queued. */
void restq_cancel(struct restq *q, struct restq_req *r);

/* Cancels everything, closes every handle; cb runs when done. Then restq_fini. */
void restq_stop(struct restq *q, void (*cb)(struct restq *q));
void restq_fini(struct restq *q);

#endif /* MDF_NET_RESTQ_H */
