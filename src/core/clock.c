/*
 * Clock helpers that are not inline: sleeping.
 */
#include <errno.h>

#include "core/clock.h"

void clock_sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

    if (ns <= 0)
        return;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
