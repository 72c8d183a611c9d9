/*
 * The daemon's log: one line per message on stderr. Under systemd (JOURNAL_STREAM or
 * INVOCATION_ID set) each line starts with a "<N>" syslog priority prefix that journald turns
 * into the priority; otherwise with a UTC timestamp and the level name, for a terminal.
 */
#ifndef MDF_DAEMON_LOG_H
#define MDF_DAEMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
    LOG_LV_ERR = 3,
    LOG_LV_WARNING = 4,
    LOG_LV_NOTICE = 5,
    LOG_LV_INFO = 6,
    LOG_LV_DEBUG = 7,
};

/* Sets the most verbose level written and detects systemd from the environment. */
void log_init(int level);

/* Changes the level (reload). */
void log_set_level(int level);

/* True if messages of `level` are written. */
bool log_enabled(int level);

/* Writes one line (a trailing newline is added). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limit for a repeated message: at most `burst` lines per `period_ms`; the lines held
 * back are counted and reported with the next line written. */
struct log_limit {
    int64_t window_start_ms; /* start of the current window (CLOCK_MONOTONIC ms) */
    uint32_t in_window;      /* lines written in it */
    uint64_t suppressed;     /* lines held back since the last written one */
};

/* log_msg under a limit of 5 lines per 10 s. */
void log_limited(struct log_limit *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MDF_DAEMON_LOG_H */
