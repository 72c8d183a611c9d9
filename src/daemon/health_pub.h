/*
 * The daemon's side of the health segment: builds each entry (include/mdfeed/health.h) from the
 * daemon's own structures (feeds, connections, streams, rings) and publishes them on the
 * heartbeat timer, so the data path itself writes nothing extra to shared memory. Counters of
 * connections and streams that go away are folded into their feed's totals first, so the
 * daemon-wide counts never go backwards. Loop thread only.
 */
#ifndef MDF_DAEMON_HEALTH_PUB_H
#define MDF_DAEMON_HEALTH_PUB_H

#include <stdint.h>

#include <mdfeed/health.h>

#include "health/health.h"

struct daemon;
struct shard;
struct dstream;

#define HP_PUBLISH_MS 100 /* refresh period (the heartbeat timer's) */

/* Creates the health segment for d's config (room for reloads that add streams). Returns 0 or
 * a negative code with a message. */
int hp_open(struct daemon *d);

/* Refreshes every entry and the loop heartbeat at monotonic time now_ns. */
void hp_refresh(struct daemon *d, int64_t now_ns);

/* Sets the daemon state (enum mdf_daemon_state) and publishes the daemon entry at once. */
void hp_set_state(struct daemon *d, int state);

/* A connection or stream is going away: fold its counters into its feed and free its slot. */
void hp_forget_conn(struct daemon *d, struct shard *sh);
void hp_forget_stream(struct daemon *d, struct dstream *s);

/* Counts an error of kind (enum mdf_health_err) that no other counter records. */
void hp_count_error(struct daemon *d, int kind);

/* The one-line status (also systemd's STATUS=) as of the last refresh. */
const char *hp_status(const struct daemon *d);

/* Closes the segment (left in place with state STOPPED, so tools can tell a clean stop). */
void hp_close(struct daemon *d);

#endif /* MDF_DAEMON_HEALTH_PUB_H */
