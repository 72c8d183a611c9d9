/*
 * Exponential backoff with jitter. The jitter only shortens a delay ("equal jitter" towards
 * zero), so the cap is never exceeded and clients that failed together spread out.
 */
#include "net/backoff.h"

void backoff_init(struct backoff *b, const struct backoff_params *p, uint64_t seed)
{
    b->p = *p;
    if (b->p.jitter < 0)
        b->p.jitter = 0;
    if (b->p.jitter > 1)
        b->p.jitter = 1;
    if (b->p.max_ms < b->p.base_ms)
        b->p.max_ms = b->p.base_ms;
    b->attempt = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

void backoff_bounds(const struct backoff_params *p, uint32_t n, uint64_t *lo, uint64_t *hi)
{
    uint64_t d = p->base_ms;
    uint32_t i;

    for (i = 1; i < n && d < p->max_ms; i++)
        d *= 2;
    if (d > p->max_ms)
        d = p->max_ms;
    *hi = d;
    *lo = (uint64_t)((double)d * (1.0 - p->jitter));
}

static uint64_t next_rand(struct backoff *b)
{
    /* xorshift64*: plenty for spreading delays, and deterministic under a test seed. */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ull;
}

int64_t backoff_next(struct backoff *b)
{
    uint64_t lo, hi;

    b->attempt++;
    if (b->p.max_attempts && b->attempt >= b->p.max_attempts)
        return -1;
    backoff_bounds(&b->p, b->attempt, &lo, &hi);
    if (hi == lo)
        return (int64_t)hi;
    return (int64_t)(lo + next_rand(b) % (hi - lo + 1));
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}
