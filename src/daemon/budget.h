/*
 * Budgets per venue host. A venue counts connection attempts and REST request weight per IP,
 * not per config entry, so every feed (config entry) that reaches one host draws on one budget:
 * a sliding window of connection attempts for a WebSocket host, a REST weight budget (struct
 * restq_budget, which the feeds' REST queues share) for a REST host. A host is the scheme, host
 * and port of the configured url or rest_url ("wss://stream.binance.com:9443").
 *
 * Main design choice: a feed holds one reference per host (struct budget_ref, embedded in the
 * feed) that carries what that entry would allow itself, and the host's limit is the strictest
 * of its holders' (the smallest count, the longest window), worked out again whenever a holder
 * comes, goes or changes. So two entries with the venue's default shares together stay within
 * one share, and an entry with a smaller share lowers it for all. A host lives while it has a
 * holder: a feed removed by SIGHUP releases its references when it is freed, and the last one
 * frees the host. The daemon owns the list of hosts (struct daemon.budgets). Loop thread only.
 */
#ifndef MDF_DAEMON_BUDGET_H
#define MDF_DAEMON_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "net/restq.h"

#define BUDGET_KEY_MAX 300 /* "scheme://host:port" with its NUL */

struct budget_host;

/* One feed's hold on a host's budget, with what the feed would allow itself there. The figures
 * are set by the holder before budget_hold() and changed through budget_update(). */
struct budget_ref {
    struct budget_host *h;   /* the host, NULL when not held */
    struct budget_ref *next; /* the host's next holder */
    uint32_t attempts;       /* connection attempts per window (0: no say, e.g. a REST host) */
    double window_s;         /* that window in seconds */
    uint32_t weight;         /* REST weight per minute (0: no say, e.g. a WebSocket host) */
};

/* A venue host and its budgets. Read-only outside budget.c. */
struct budget_host {
    char key[BUDGET_KEY_MAX]; /* scheme://host:port, host in lower case */
    struct budget_ref *refs;  /* holders */
    uint32_t n_refs;          /* their count */
    struct budget_host *next; /* the daemon's next host */
    uint32_t attempt_cap;     /* connection attempts per window: the holders' smallest */
    int64_t window_ms;        /* the window: the holders' longest */
    int64_t *attempt_ms;      /* times (CLOCK_MONOTONIC ms) of the last attempt_cap attempts, a
                                 ring: the limit holds over every window, not on average */
    uint32_t attempt_n;       /* attempts in it */
    uint32_t attempt_head;    /* index of the oldest */
    uint64_t admitted;        /* attempts let through, all holders */
    uint64_t held;            /* attempts held back, all holders */
    struct restq_budget rest; /* REST weight, shared by the holders' queues; its limit is the
                                 holders' smallest weight */
};

/* The daemon's hosts. */
struct budgets {
    struct budget_host *hosts; /* every host with a holder */
};

/* An empty set of hosts. */
void budgets_init(struct budgets *bs);

/* Frees every host left (none once every feed has released its references). */
void budgets_fini(struct budgets *bs);

/* Writes url's host key (scheme://host:port, host in lower case, the scheme's port if none is
 * given) into key. Returns 0, or -EINVAL (a URL url_parse refuses) or -ENOSPC with err_set(). */
int budget_key(const char *url, char *key, size_t cap);

/* Makes r (not held, figures set) a holder of the budget of url's host, creating the host on
 * first use, and works out the host's limits again. Returns 0, or a negative code with
 * err_set() (bad URL, out of memory), r then not held. */
int budget_hold(struct budgets *bs, struct budget_ref *r, const char *url);

/* Ends r's hold (no-op if not held); the host's limits are worked out again, and the host is
 * freed with its last holder: no REST queue may use its budget any more by then. */
void budget_release(struct budgets *bs, struct budget_ref *r);

/* r's figures changed: works out its host's limits again. */
void budget_update(struct budget_ref *r);

/* r (held, figures set) now reaches url: when that is another host, r moves there, and with it
 * REST queue q (if not NULL) to the new host's weight budget; the old host's limits are worked
 * out again or, without holders, it is freed. The same host: as budget_update(). Returns 0, or
 * a negative code with err_set() with r where it was. */
int budget_move(struct budgets *bs, struct budget_ref *r, const char *url, struct restq *q);

/* Asked before a connection attempt to r's host: 0 when the attempt may go (it is counted), or
 * the milliseconds to wait before asking again (counted as held back). */
uint32_t budget_admit(struct budget_ref *r);

#endif /* MDF_DAEMON_BUDGET_H */
