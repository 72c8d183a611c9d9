/*
 * A REST request queue under a request-weight budget, so that however many books need snapshots
 * at once (a mass reconnect), the daemon never gets its IP banned. Each venue entry has its own
 * queue; the budget belongs to the venue host, because the venue counts weight (and pauses or
 * bans) per IP: queues that send to one host share one struct restq_budget.
 *
 * Binance counts request weight per IP per wall-clock minute and reports the total so far in
 * the x-mbx-used-weight-1m response header. A request is sent only while our estimate of the
 * minute's weight (the larger of the header's last value and our own sum for the minute) plus
 * its weight stays within share x limit. A 429 pauses the whole queue until Retry-After (or the
 * next minute); a 418 (banned) stops it until Retry-After. Either way the request is kept and
 * retried, never lost. A pause is the host's: every queue sharing the budget waits it out, and
 * each queue tells its owner once per pause that touches it (however many of its requests were
 * refused) and once when it sends again. Network errors and 5xx are retried with backoff a few
 * times. One event loop thread.
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

/* The request-weight budget of one venue host, shared by the queues that send there. The owner
 * allocates it, sets it up with restq_budget_init() and keeps it until no queue uses it (a queue
 * leaves it in restq_stop(), restq_fini() or restq_set_budget()). Fields are private except
 * limit (read-only: change it with restq_budget_set_limit()). */
struct restq_budget {
    uint32_t limit;           /* weight per minute the queues together allow themselves */
    int64_t minute;           /* wall-clock minute of the weight estimate */
    uint32_t own_weight;      /* weight the queues sent this minute */
    uint32_t hdr_weight;      /* largest x-mbx-used-weight-1m seen this minute */
    uint64_t inflight_weight; /* weight of the requests on the wire (their answers are not in
                                 the header yet) */
    int64_t paused_until_ms;  /* CLOCK_REALTIME ms until which nothing is sent, 0 = not */
    bool banned;              /* the pause is a 418 ban */
    uint64_t pause_seq;       /* bumped when a pause starts (queues tell their owners once) */
    int64_t pause_from_ms;    /* when the current or last pause started */
    int pause_status;         /* 429 or 418: the answer that set the pause */
    int32_t retry_after_s;    /* its Retry-After in seconds, -1 if the venue sent none */
    struct restq *queues;     /* the queues using it */
};

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
    struct restq_budget *budget;  /* the host's shared budget (borrowed), or NULL: the queue
                                     keeps its own of share x weight_limit */
    uint32_t weight_limit;        /* the venue's weight per minute (without budget) */
    double share;                 /* 0..1 of weight_limit we allow ourselves (without budget) */
    uint32_t max_inflight;        /* concurrent requests, 1..RESTQ_MAX_INFLIGHT */
    uint32_t timeout_ms;          /* per request */
    size_t max_body;              /* largest response body */
    uint32_t max_tries;           /* network errors / 5xx retried up to this many attempts */
};

/* Throttle notices for the owner's events and logs: one THROTTLED or BANNED per pause that
 * touches the queue (BANNED again if a 429 pause turns into a ban), then one RESUMED when the
 * pause is over and the queue may send again. stats.pause_status, retry_after_s and
 * pause_from_ms say more. */
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
    uint32_t used_weight;    /* the host's weight this minute: last x-mbx-used-weight-1m seen
                                plus weight in flight, at least what its queues sent */
    uint32_t budget;         /* the host budget's limit (share x limit without a shared one) */
    uint32_t queued;         /* requests waiting */
    int64_t paused_until_ms; /* CLOCK_REALTIME ms until which the host is paused, 0 = not */
    bool banned_now;         /* the pause is a 418 ban */
    int pause_status;        /* 429 or 418 of the current or last pause, 0 = none yet */
    int32_t retry_after_s;   /* its Retry-After in seconds, -1 if none came */
    int64_t pause_from_ms;   /* when it started (CLOCK_REALTIME ms) */
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
    uint32_t slot_weight[RESTQ_MAX_INFLIGHT];       /* weight each slot adds to the budget's */
    uv_timer_t timer;                               /* wakes the queue after a pause or deferral */
    struct restq_budget *b;                         /* the budget in use: shared, or &own */
    struct restq_budget own;                        /* the budget without a shared one */
    struct restq *b_next;                           /* the budget's next queue */
    bool b_linked;                                  /* on b's list */
    bool told;                                      /* the owner heard of a pause, not its end */
    bool told_ban;                                  /* ... and that it is a ban */
    uint64_t told_seq;                              /* the budget's pause_seq it heard of */
    int closing;                                    /* handles still closing in restq_stop */
    void (*stop_cb)(struct restq *q);               /* restq_stop's callback */
};

/* Sets up a budget of limit weight per minute, nothing spent, no pause. */
void restq_budget_init(struct restq_budget *b, uint32_t limit);

/* Changes the budget's limit (the queues using it see it at once). */
void restq_budget_set_limit(struct restq_budget *b, uint32_t limit);

/* Sets up the queue (allocates the http bodies: control path). Returns 0 or negative (-EINVAL
 * for bad parameters, a budget that allows no request included). */
int restq_init(struct restq *q, uv_loop_t *loop, const struct restq_params *p);

/* Moves the queue to budget nb (borrowed, not NULL; the venue host changed), with the weight
 * it has in flight. A wait it is in (say the old host's pause) runs out first. */
void restq_set_budget(struct restq *q, struct restq_budget *nb);

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
