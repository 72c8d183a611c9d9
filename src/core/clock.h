/*
 * Clocks: CLOCK_MONOTONIC for heartbeats and timeouts (immune to wall-clock steps) and
 * CLOCK_REALTIME for record timestamps, both in int64 nanoseconds.
 */
#ifndef MDF_CORE_CLOCK_H
#define MDF_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic nanoseconds since an arbitrary point (system-wide, so comparable across processes). */
static inline int64_t clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Unix nanoseconds. */
static inline int64_t clock_real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

/* Sleeps for ns nanoseconds (restarting after signals). */
void clock_sleep_ns(int64_t ns);

#endif /* MDF_CORE_CLOCK_H */
