/*
 * Daemon events: each goes to the events ring (struct mdf_event) for readers and tools, and to
 * the log at its level.
 */
#ifndef MDF_DAEMON_EVENTS_H
#define MDF_DAEMON_EVENTS_H

#include <stdint.h>

struct daemon;

/* Publishes event `code` at syslog `level` for venue (UINT16_MAX = none), symbol (UINT32_MAX =
 * none) and connection (0 = none), with a printf-style text (cut to MDF_EVENT_TEXT_MAX - 1). */
void ev_emit(struct daemon *d, int level, int code, uint16_t venue, uint32_t symbol, uint32_t conn,
             const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif /* MDF_DAEMON_EVENTS_H */
