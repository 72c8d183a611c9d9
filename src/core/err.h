/*
 * Error messages: a thread-local "last error" text set where an error starts and extended with
 * context as it propagates (mdf_errmsg() returns it), in the style of Aeron's error stack.
 */
#ifndef MDF_CORE_ERR_H
#define MDF_CORE_ERR_H

#include <errno.h>

#include <mdfeed/mdfeed.h>

/* Replaces the thread's message with the formatted text. Returns `code`, so callers can write
 * `return err_set(-EACCES, "...")`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the thread's message with "context: ". Returns `code`. */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the thread's message. */
void err_clear(void);

#endif /* MDF_CORE_ERR_H */
