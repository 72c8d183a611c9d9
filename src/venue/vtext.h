/*
 * Text building for the venue request builders (stream names, URLs, control messages): append
 * to a caller's buffer, then turn the outcome into the builders' return value.
 */
#ifndef MDF_VENUE_VTEXT_H
#define MDF_VENUE_VTEXT_H

#include <stddef.h>

/* Appends printf-formatted text at *len in buf. Returns 0, or -ENOSPC with buf left
 * NUL-terminated at its old length. */
int vtext_putf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns len as the builder's result, or -ENOSPC with err_set() (buf cleared) if rc says the
 * text did not fit. */
int vtext_finish(int rc, char *buf, size_t cap, size_t len);

#endif /* MDF_VENUE_VTEXT_H */
