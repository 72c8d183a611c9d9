/*
 * Daemon events (see events.h).
 */
#include "daemon/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

void ev_emit(struct daemon *d, int level, int code, uint16_t venue, uint32_t symbol, uint32_t conn,
             const char *fmt, ...)
{
    union mdf_record rec; /* not the daemon's scratch: events may interleave with records */
    struct mdf_event *ev = &rec.event;
    const char *vname = NULL;
    va_list ap;

    memset(ev, 0, sizeof(*ev));
    ev->h.type = MDF_REC_EVENT;
    ev->h.size = sizeof(*ev);
    ev->h.venue = venue;
    ev->h.symbol = symbol;
    ev->h.stream = MDF_STREAM_ID_NONE;
    ev->h.exch_time_ns = ev->h.recv_time_ns = clock_real_ns();
    ev->level = (uint16_t)level;
    ev->code = (uint16_t)code;
    ev->connection = conn;
    va_start(ap, fmt);
    vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
    va_end(ap);
    if (d->pub_open) {
        pub_publish(&d->pub, MDF_RING_EVENTS, &rec);
        d->events_emitted++;
        if (venue != UINT16_MAX)
            vname = state_rx_venue_name(d->pub.st.base, venue);
    }
    if (conn)
        log_msg(level, "%s %s conn %u: %s", mdf_event_code_name(code), vname ? vname : "-", conn,
                ev->text);
    else
        log_msg(level, "%s %s: %s", mdf_event_code_name(code), vname ? vname : "-", ev->text);
}
