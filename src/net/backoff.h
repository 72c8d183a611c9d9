/*
 * Reconnect delays: exponential backoff with jitter, bounded, so a venue outage never turns into
 * a reconnect storm. Pure arithmetic; the caller supplies the random numbers.
 */
#ifndef MDF_NET_BACKOFF_H
#define MDF_NET_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct backoff_params {
    uint32_t base_ms;      /* delay before the first retry */
    uint32_t max_ms;       /* cap on any delay */
    double jitter;         /* 0..1: each delay is drawn from [d*(1-jitter), d] */
    uint32_t max_attempts; /* consecutive failed attempts (the first included) before giving
                              up; 1 = never retry, 0 = never give up */
};

struct backoff {
    struct backoff_params p; /* settings */
    uint32_t attempt;        /* consecutive failures so far */
    uint64_t rng;            /* xorshift state for the jitter */
};

void backoff_init(struct backoff *b, const struct backoff_params *p, uint64_t seed);

/* Records a failed attempt and returns the delay before the next one, or -1 when this was
 * attempt number max_attempts (give up). Delay n (n = 1, 2, ...) is min(max, base * 2^(n-1)) less
 * jitter. */
int64_t backoff_next(struct backoff *b);

/* A connection worked: the next failure starts again from base. */
void backoff_reset(struct backoff *b);

/* The delay bounds for failure n (1-based), for tests and logs. */
void backoff_bounds(const struct backoff_params *p, uint32_t n, uint64_t *lo, uint64_t *hi);

#endif /* MDF_NET_BACKOFF_H */
