/*
 * One venue connection (a "shard" of a feed's streams): a wsconn, the streams it carries, and
 * their subscriptions, paced so that the client messages per second (control messages plus the
 * pongs and pings the transport sends) stay under the venue's limit. After a reconnect every
 * stream is subscribed again.
 *
 * The venue's adapter (daemon/adapter.h) builds the control messages, in one of two styles:
 * batches of stream names acknowledged by request id (Binance), or one stream per message,
 * matched back by the stream's key in the venue's echo, which may give the channel id that the
 * connection's data messages carry and unsubscribes go by (Bitfinex). What must come before
 * subscriptions (Bitfinex's conf flags) is the adapter's on_open; it calls shard_ready() when
 * the venue has answered. A stream can be resubscribed (unsubscribe, then subscribe) to get a
 * fresh snapshot, and a connection can be paused for the venue's maintenance.
 *
 * During a make-before-break rotation two shards carry the same streams: the RETIRING one
 * keeps delivering until its REPLACEMENT is subscribed and delivering, then it is closed.
 */
#ifndef MDF_DAEMON_SHARD_H
#define MDF_DAEMON_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "daemon/stream.h"
#include "net/wsconn.h"
#include "venue/venue.h"

#define SHARD_BATCH 200 /* most streams per batched control message (adapter batch_max) */

enum shard_role {
    SH_ACTIVE = 0,      /* the connection carrying its streams */
    SH_REPLACEMENT = 1, /* opened to take over from a RETIRING one */
    SH_RETIRING = 2,    /* being replaced; closed once the replacement delivers */
};

/* A stream's subscription on this connection. */
enum sub_state {
    SUB_WANT = 0,   /* to subscribe (at the next control slot) */
    SUB_SENT = 1,   /* SUBSCRIBE sent, waiting for its reply */
    SUB_ACKED = 2,  /* subscribed */
    SUB_FAILED = 3, /* the venue refused it */
    SUB_UNWANT = 4, /* to unsubscribe */
    SUB_UNSENT = 5, /* UNSUBSCRIBE sent, waiting for its reply */
};

struct shard_ent {
    struct dstream *s;  /* the stream (borrowed; the feed owns it) */
    uint8_t state;      /* enum sub_state */
    bool resub;         /* subscribe again once the unsubscribe is confirmed */
    bool got;           /* data of it arrived on this connection since it was subscribed */
    uint64_t req_id;    /* id of the control message that carried it; SUB_WANT: 0, or the id
                         * reserved for the part of a refused batch it is asked again in */
    int64_t chan_id;    /* channel id from the venue's echo (control_one), -1 = none */
    int64_t acked_mono; /* CLOCK_MONOTONIC ns of the acknowledgement */
};

struct feed;

struct shard {
    struct feed *f;          /* owner */
    uint32_t id;             /* daemon-wide connection number (events, logs) */
    enum venue_route route;  /* path it connects to */
    enum shard_role role;    /* rotation role */
    struct shard *partner;   /* the other shard of a rotation, or NULL */
    struct shard *next;      /* the feed's list */
    struct wsconn ws;        /* the connection */
    bool stopping;           /* shard_stop called: freed when the wsconn has stopped */
    struct shard_ent *ent;   /* streams carried */
    uint32_t n, cap;         /* count, room */
    uv_timer_t ctl_timer;    /* paces control messages */
    int64_t last_ctl_mono;   /* when the last control message went out */
    uint32_t spacing_ms;     /* gap between control messages */
    uint64_t next_id;        /* next control message id */
    int64_t connected_mono;  /* CLOCK_MONOTONIC ns of the current connection, 0 = none */
    int64_t all_acked_mono;  /* when every stream of this connection was acknowledged */
    uint64_t msgs;           /* data messages on the current connection */
    uint64_t refused;        /* subscriptions refused */
    int64_t connected_ns;    /* CLOCK_REALTIME of the current connection */
    int64_t last_msg_ns;     /* CLOCK_REALTIME receive time of the last message */
    int64_t last_error_ns;   /* CLOCK_REALTIME of the last disconnect with an error */
    uint64_t frames_seen;    /* frames (messages, pings, pongs) at the last health refresh */
    int64_t last_frame_mono; /* CLOCK_MONOTONIC when frames_seen last changed */
    int32_t hslot;           /* health table slot, -1 = none yet */
    bool gave_up;            /* reached max_reconnect_attempts: FAILED, retrying slowly */
    bool doomed;             /* a replacement the venue announced it will cut: superseded by
                                a newer one, closed when that one takes over (or when cut) */
    /* What the venue's adapter keeps per connection. */
    bool ready;             /* subscriptions may go (the adapter's on_open, or shard_ready()) */
    bool maint;             /* the venue is in maintenance: no subscriptions, no alarms */
    int64_t maint_mono;     /* CLOCK_MONOTONIC ns maintenance was announced */
    uint32_t vflags;        /* options the venue confirmed (Bitfinex conf flags) */
    int64_t vseq;           /* last connection sequence number seen, 0 = none */
    int64_t keepalive_mono; /* CLOCK_MONOTONIC ns of the adapter's last keepalive message */
    uint64_t seq_gaps;      /* connection sequence gaps seen */
    uint32_t chan_hint;     /* index of the last channel looked up (a cache) */
    char *ctl;              /* control message buffer */
    size_t ctl_cap;         /* its size */
    const char **names;     /* SHARD_BATCH name pointers for the builder */
};

/* Creates a shard of feed f for route (control path): its URL is the venue base + route +
 * "/stream"; room for cap streams. Returns NULL with err_set(). */
struct shard *shard_new(struct feed *f, enum venue_route route, enum shard_role role, uint32_t cap);

/* Starts connecting. Returns 0 or negative. */
int shard_start(struct shard *sh);

/* Adds stream s (subscribed at the next control slot if connected). Returns 0 or -ENOSPC. */
int shard_add(struct shard *sh, struct dstream *s);

/* Unsubscribes s and forgets it once the venue acknowledges (at once if not yet sent). */
void shard_remove(struct shard *sh, struct dstream *s);

/* True if s is carried (in any state but unsubscribing). */
bool shard_has(const struct shard *sh, const struct dstream *s);

/* Streams carried, not counting those being unsubscribed. */
uint32_t shard_count(const struct shard *sh);

/* True once every stream carried is acknowledged (or refused). */
bool shard_all_acked(const struct shard *sh);

/* True once every acknowledged stream has delivered on this connection (its `got`: each
 * starts with its snapshot, so a replacement can take every one over). An adapter's
 * `delivers` for venues whose streams start with a snapshot. */
bool shard_all_delivered(const struct shard *sh);

/* A control reply arrived on this connection, by request id (control_batch). */
void shard_on_reply(struct shard *sh, int64_t id, int code, const char *text);

/* The venue answered what the adapter's on_open sent: subscriptions start unless the venue is
 * in maintenance. */
void shard_ready(struct shard *sh);

/* The stream keyed key was subscribed as chan_id (code 0), or refused with code and text (an
 * error naming it) (control_one). Returns the stream, or NULL if this connection asked for no
 * such stream. */
struct dstream *shard_on_subscribed(struct shard *sh, const char *key, int64_t chan_id, int code,
                                    const char *text);

/* Channel chan_id was unsubscribed: forgotten, or subscribed again (resubscribe). */
void shard_on_unsubscribed(struct shard *sh, int64_t chan_id);

/* The entry of channel chan_id, or NULL. */
static inline struct shard_ent *shard_chan(struct shard *sh, int64_t chan_id)
{
    if (sh->chan_hint < sh->n && sh->ent[sh->chan_hint].chan_id == chan_id)
        return &sh->ent[sh->chan_hint];
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].chan_id == chan_id) {
            sh->chan_hint = i;
            return &sh->ent[i];
        }
    return NULL;
}

/* Unsubscribes s and subscribes it again (a fresh snapshot after a book failed its checksum,
 * or after maintenance). */
void shard_resubscribe(struct shard *sh, struct dstream *s);

/* Maintenance began (subscriptions held back, stream alarms off) or ended (every stream
 * resubscribed, so books are rebuilt from fresh snapshots). */
void shard_maintenance(struct shard *sh, bool on);

/* Closes the connection (close code 1000) and frees the shard when done. */
void shard_stop(struct shard *sh);

#endif /* MDF_DAEMON_SHARD_H */
