/*
 * The daemon's log (see log.h). Lines are formatted into one buffer and written with a single
 * write(2), so lines from the loop and the watchdog thread never interleave mid-line.
 */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static int max_level = LOG_LV_INFO;
static bool under_systemd;

static const char *const level_names[8] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_init(int level)
{
    max_level = level;
    under_systemd = getenv("JOURNAL_STREAM") != NULL || getenv("INVOCATION_ID") != NULL;
}

void log_set_level(int level)
{
    max_level = level;
}

bool log_enabled(int level)
{
    return level <= max_level;
}

static void vlog(int level, const char *suffix, const char *fmt, va_list ap)
{
    char line[1024];
    size_t n = 0;
    int k;

    if (level < 0 || level > 7)
        level = LOG_LV_ERR;
    if (under_systemd) {
        k = snprintf(line, sizeof(line), "<%d>", level);
    } else {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        k = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ mdfeedd[%d] %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, (int)getpid(), level_names[level]);
    }
    n = k > 0 ? (size_t)k : 0;
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    n = k < 0 ? n : n + (size_t)k < sizeof(line) - 1 ? n + (size_t)k : sizeof(line) - 2;
    if (suffix && n < sizeof(line) - 2) {
        k = snprintf(line + n, sizeof(line) - n, "%s", suffix);
        n = k < 0 ? n : n + (size_t)k < sizeof(line) - 1 ? n + (size_t)k : sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* One write per line; a short write to a pipe of this size does not happen. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > max_level)
        return;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *l, int level, const char *fmt, ...)
{
    int64_t now = clock_mono_ns() / 1000000;
    char suffix[64] = "";
    va_list ap;

    if (level > max_level)
        return;
    if (now - l->window_start_ms >= 10000) {
        l->window_start_ms = now;
        l->in_window = 0;
    }
    if (l->in_window >= 5) {
        l->suppressed++;
        return;
    }
    l->in_window++;
    if (l->suppressed)
        snprintf(suffix, sizeof(suffix), " (%llu similar lines suppressed)",
                 (unsigned long long)l->suppressed);
    l->suppressed = 0;
    va_start(ap, fmt);
    vlog(level, suffix[0] ? suffix : NULL, fmt, ap);
    va_end(ap);
}
