/*
 * One subscribed stream in the daemon (symbol x type x options) and the map from its name, the
 * key the venue's messages name it by (venue_proto.stream_name: a combined stream name
 * "btcusdt@depth@100ms", a channel key "book:tBTCUSD:P0:F0:25"), to it. Venues whose data
 * carries channel ids instead find it by id (shard_chan()).
 *
 * A stream belongs to one feed (venue) and is carried by one connection (shard), or by two
 * while a make-before-break rotation overlaps them: its dedup key and book are shared, so
 * whichever connection delivers first wins and the other's copy is dropped.
 */
#ifndef MDF_DAEMON_STREAM_H
#define MDF_DAEMON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/restq.h"
#include "venue/venue.h"

struct feed;
struct shard;

/* Health flags of a stream. */
#define DS_F_SILENT 1u  /* acknowledged, nothing since, and evidence says it missed data */
#define DS_F_STALE 2u   /* delivered before, then evidence says it missed data */
#define DS_F_FAILED 4u  /* the venue refused the subscription */
#define DS_F_BADDATA 8u /* its last messages did not decode */
#define DS_F_DOWN 16u   /* its connection gave up (retrying at the backoff cap) */

/* What one symbol's streams have shown of its trading: the evidence its other streams are
 * judged by (the health model in mdfeedd(8)). One per symbol of a feed, shared by its streams;
 * rebuilt on reload (control path), updated on the hot path without allocating. */
struct activity {
    uint32_t symbol;          /* shm symbol id */
    int64_t trade_id;         /* highest trade id any stream showed, 0 = none yet */
    int64_t id_mono;          /* CLOCK_MONOTONIC ns it was first seen */
    int64_t trade_ns;         /* latest trade time (venue clock) any stream showed */
    int64_t time_mono;        /* CLOCK_MONOTONIC ns it was first seen */
    struct dstream **members; /* the symbol's streams (borrowed) */
    size_t n;                 /* their count */
};

/* Closed candles to fetch over REST: open times in [from_ns, to_ns]. */
struct candle_range {
    int64_t from_ns; /* first open time */
    int64_t to_ns;   /* last (inclusive) */
    bool warm;       /* the history warm-up, not an outage's gap */
};

#define DS_PEND_MAX 4 /* candle ranges a stream keeps waiting (more are merged into the last) */

struct dstream {
    struct vstream spec;      /* what it is */
    char name[64];            /* venue stream name */
    uint32_t name_len;        /* its length */
    uint64_t hash;            /* hash of name */
    struct feed *f;           /* owner */
    uint32_t symbol;          /* shm symbol id */
    uint32_t stream;          /* shm stream id (state segment stream table) */
    uint32_t cadence_ms;      /* normal period, 0 = event-driven */
    struct shard *shard;      /* connection carrying it (the active one), NULL if none */
    bool removed;             /* dropped by a reload; freed once no connection carries it */
    uint32_t flags;           /* DS_F_* */
    int64_t acked_mono;       /* CLOCK_MONOTONIC ns of the active shard's acknowledgement, 0 */
    int64_t last_mono;        /* CLOCK_MONOTONIC ns of the last message, 0 = none yet */
    int64_t last_key;         /* dedup key of the last accepted message (id or event time) */
    struct shard *last_shard; /* connection of the last accepted partial book */
    uint64_t msgs;            /* messages accepted */
    uint64_t dups;            /* messages dropped as duplicates (rotation overlap) */
    uint64_t gaps;            /* id jumps seen (trades missed while disconnected) */
    int64_t last_exch_ns;     /* venue event time of the last message, 0 if none */
    int64_t last_recv_ns;     /* local receive time of the last message */
    int64_t delay_ewma_ns;    /* exchange -> local delay, EWMA with alpha 1/16 */
    int64_t delay_max_ns;     /* largest delay seen */
    int32_t hslot;            /* health table slot, -1 = none yet */
    uint8_t hstate;           /* enum mdf_stream_state as of the last health refresh */
    /* Evidence: silence is judged by the venue's rule for the stream (venue.h) against what
     * the symbol's other streams show, never by a quiet market alone. */
    struct vliveness live;  /* the venue's rule for it */
    struct activity *act;   /* the symbol's evidence, shared; NULL until linked */
    int64_t own_id;         /* VP_TRADE_ID: highest trade id its messages reflected */
    int64_t owed_mono;      /* CLOCK_MONOTONIC ns evidence showed it missed data, 0 = none */
    int64_t owed_id;        /* the trade id it must reach to catch up */
    int64_t owed_ns;        /* the venue time it must reach to catch up */
    uint32_t bad_run;       /* messages in a row of it that did not decode */
    uint64_t decode_errors; /* messages of it that did not decode */
    int64_t last_trade_id;  /* last trade id published (snapshot dedup) */
    /* Venues whose channels have no ids to deduplicate by (book, ticker, candles) take data
     * from one connection, `primary`; during a rotation the replacement takes over at its first
     * message (a book at its snapshot), so nothing is published twice or skipped. */
    struct mdf_candle bopen; /* VS_KLINE: the open candle (closed when a newer one appears) */
    bool bopen_valid;        /* bopen holds one */
    bool trades_seeded;      /* VS_TRADE: a trades snapshot (history) has been seen */
    /* Books (VS_DIFF, and partial books a venue keeps from snapshots and deltas). */
    void *vbook;           /* the venue's book (its adapter's type), NULL for other types */
    struct shard *primary; /* connection whose updates drive the book (see above) */
    struct restq_req snap; /* snapshot request (queued while snap.queued) */
    int64_t snap_for;      /* generation the snapshot was asked for */
    /* Candles (VS_KLINE). */
    int64_t closed_open_ns;  /* open time of the newest closed candle published, 0 none */
    int64_t closed_close_ns; /* its close time */
    bool backfill_check;     /* check for missed candles on the next message */
    struct restq_req klines; /* backfill request */
    int64_t fill_from_ns;    /* open time range the backfill request covers */
    int64_t fill_to_ns;      /* (inclusive) */
    uint32_t fill_limit;     /* candles per page asked for (a full page asks for the next) */
    bool fill_warm;          /* the request is the history warm-up, not an outage's gap */
    bool warmed;             /* the warm-up check ran (at the stream's first kline message) */
    bool warming;            /* its warm-up range is being fetched or waits (counted in f) */
    struct candle_range pend[DS_PEND_MAX]; /* ranges waiting for the request in flight */
    uint8_t n_pend;                        /* their count */
};

/* Name -> stream map (open addressing; rebuilt on reload, control path). */
struct stream_map {
    struct dstream **slot; /* cap entries, NULL = empty */
    size_t cap;            /* power of two */
};

/* Fills *e, the state segment's entry for stream s (name, symbol, what it publishes, which
 * book) of venue id `venue`, for state_tx_stream. */
void stream_shm_entry(const struct dstream *s, uint16_t venue, struct mdf_stream_entry *e);

/* Hash of a stream name. */
uint64_t stream_hash(const char *name, size_t len);

/* Rebuilds m over streams[0..n) (removed ones excluded). Returns 0 or -ENOMEM. */
int stream_map_build(struct stream_map *m, struct dstream *const *streams, size_t n);
void stream_map_free(struct stream_map *m);

/* The stream called name[0..len), or NULL. */
static inline struct dstream *stream_map_get(const struct stream_map *m, const char *name,
                                             size_t len)
{
    uint64_t h;
    size_t i;

    if (!m->cap)
        return NULL;
    h = stream_hash(name, len);
    for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct dstream *s = m->slot[i];

        if (!s)
            return NULL;
        if (s->hash == h && s->name_len == len && __builtin_memcmp(s->name, name, len) == 0)
            return s;
    }
}

#endif /* MDF_DAEMON_STREAM_H */
