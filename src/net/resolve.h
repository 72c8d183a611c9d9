/*
 * Host name resolution for connections, off libuv's shared thread pool: a resolver that never
 * answers for one host must not hold the threads every other connection needs.
 *
 * A numeric address is answered at once, on the caller's thread, without a lookup. A name is
 * looked up by getaddrinfo() on a thread of its own (detached, never joined), at most one
 * lookup per host at a time: every connection to that host waits on the same lookup, and the
 * answer is copied to each and handed back to its loop thread through the waiter's uv_async_t.
 * A waiter that gives up (its connection closes) only unlinks itself: it never waits for the
 * thread, and the thread frees the lookup when getaddrinfo() finally returns. A lookup that has
 * run longer than the lookup timeout is "stuck": it is counted, and a new attempt on its host
 * fails at once instead of starting a second lookup, so threads stay bounded by the number of
 * hosts (and by RESOLVE_MAX_LOOKUPS).
 *
 * Functions run on a loop thread (any number of loops); the shared state is under one mutex.
 */
#ifndef MDF_NET_RESOLVE_H
#define MDF_NET_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#define RESOLVE_MAX_ADDRS 8              /* addresses kept from one answer */
#define RESOLVE_MAX_LOOKUPS 64           /* lookup threads in flight, all hosts */
#define RESOLVE_TIMEOUT_MS_DEFAULT 10000 /* a lookup running longer is stuck */

struct resolve_wait;
struct resolve_lookup; /* private to resolve.c */

/* The answer came (status 0: addr[0..n_addr) are set) or the lookup failed (status negative,
 * err_set() says why). Called on the waiter's loop thread, once; not after resolve_close(). */
typedef void (*resolve_cb)(struct resolve_wait *w, int status);

/* One connection's wait for an answer. The caller owns it (embedded in struct conn); fields are
 * private unless marked. */
struct resolve_wait {
    uv_async_t async;          /* wakes the loop thread; data = this waiter */
    bool async_open;           /* async needs uv_close (resolve_close does it) */
    resolve_cb cb;             /* the owner's callback */
    void *data;                /* public: the owner's pointer */
    char host[256];            /* name asked for */
    uint16_t port;             /* port written into each address */
    struct resolve_lookup *lk; /* lookup waited on; mutex-guarded, NULL when none */
    struct resolve_wait *next; /* next waiter of lk; mutex-guarded */
    bool answered;             /* the thread filled the answer; mutex-guarded */
    int status;                /* public after cb: 0 or negative; mutex-guarded before */
    char why[128];             /* getaddrinfo's error text; mutex-guarded before cb */
    int64_t started_mono_ns;   /* public: when the lookup waited on started */
    struct sockaddr_storage addr[RESOLVE_MAX_ADDRS]; /* public after cb: the addresses */
    socklen_t addr_len[RESOLVE_MAX_ADDRS];           /* public after cb: their lengths */
    int n_addr;                                      /* public after cb: their count */
};

/* Per-host figures for the health segment. */
struct resolve_stats {
    uint32_t stuck;       /* lookups of the host stuck now (0 or 1) */
    uint64_t stuck_total; /* lookups of the host that ever became stuck */
    int64_t stuck_ms;     /* how long the stuck one has run, 0 when none */
};

/* The lookup timeout in ms: RESOLVE_TIMEOUT_MS_DEFAULT, or the test-only environment setting
 * MDFEED_TEST_DNS_TIMEOUT_MS (read once). */
uint32_t resolve_timeout_ms(void);

/* Resolves host (a name or a numeric IPv4/IPv6 address) for a TCP connection to port.
 * Returns 1 when answered at once (numeric: w->addr is set, no handle opened, cb not called),
 * 0 when a lookup is under way (w's uv_async_t is open: cb follows on loop's thread unless
 * resolve_close() comes first), or a negative code with err_set(): -ETIMEDOUT when the host's
 * lookup is already stuck (nothing new is started), -EAGAIN when RESOLVE_MAX_LOOKUPS are in
 * flight, or the error of starting the thread or the handle. In every case resolve_close() must
 * follow before w is reused or freed. */
int resolve_start(struct resolve_wait *w, uv_loop_t *loop, const char *host, uint16_t port,
                  resolve_cb cb);

/* Milliseconds w may still wait before its lookup counts as stuck (0 if it already is). */
uint32_t resolve_remaining_ms(const struct resolve_wait *w);

/* The wait gave up on time: marks the lookup stuck (counted once per lookup) if it has run for
 * the lookup timeout, and returns how long it has run, in ms. No callback follows. */
int64_t resolve_gave_up(struct resolve_wait *w);

/* Stops waiting without waiting for the lookup (its thread frees it when it returns), and
 * closes w's uv_async_t if open, with close_cb (whose handle's data is w). Returns true if
 * close_cb will be called. Safe in any state, and more than once. */
bool resolve_close(struct resolve_wait *w, uv_close_cb close_cb);

/* The figures of host (a name; all zero for a host never looked up). */
void resolve_host_stats(const char *host, struct resolve_stats *out);

#endif /* MDF_NET_RESOLVE_H */
