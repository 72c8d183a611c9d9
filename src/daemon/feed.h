/*
 * A feed: one configured venue. It owns the venue's streams, spreads them over connections
 * (shards) by route and by the venue's streams-per-connection limit, keeps connection attempts
 * under the venue's limit, decodes every message and turns it into records (deduplicated by
 * the venue's ids, so a rotation overlap publishes nothing twice), keeps the order books in
 * sync through a REST queue with a weight budget, backfills candles missed in an outage,
 * rotates connections before the venue's 24 h cut or at once on serverShutdown, and watches
 * every stream for silence and staleness. The attempt and weight budgets are the venue host's
 * (daemon/budget.h), shared with every other entry that reaches the same host. Loop thread
 * only.
 */
#ifndef MDF_DAEMON_FEED_H
#define MDF_DAEMON_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/log.h"
#include "daemon/shard.h"
#include "daemon/stream.h"
#include "net/restq.h"
#include "venue/venue.h"

struct daemon;
struct feed_adapter;

struct feed_stats {
    uint64_t msgs;         /* messages received (all connections) */
    uint64_t records;      /* records published */
    uint64_t dups;         /* duplicates dropped */
    uint64_t parse_errors; /* messages that did not decode */
    uint64_t range_errors; /* of which: a value out of range (a number that does not fit,
                              never rounded, or an impossible one such as a price <= 0) */
    uint64_t ignored;      /* valid messages of no use (VM_IGNORED) */
    uint64_t unknown;      /* data for a stream we do not carry */
    uint64_t rotations;    /* rotations completed */
    uint64_t shutdowns;    /* serverShutdown notices */
    uint64_t snapshots;    /* book snapshots applied */
    uint64_t backfilled;   /* candles fetched over REST */
    uint64_t seq_gaps;     /* connection sequence gaps (a connection missed a message) */
    uint64_t checksums;    /* book checksums that failed */
    uint64_t maintenance;  /* maintenance announcements */
};

/* Counters of connections and streams that went away (rotations, reloads), kept so the
 * totals in the health segment never go backwards. */
struct feed_retired {
    uint64_t bytes_in, msgs_in;                                 /* traffic */
    uint64_t errors_tls, errors_ws, errors_net, errors_timeout; /* wsconn errors by kind */
    uint64_t attempts, admit_waits;                             /* connection attempts */
    uint64_t refused;                                           /* subscriptions refused */
    uint64_t gaps, resyncs;                                     /* stream gaps, book resyncs */
};

struct feed {
    struct daemon *d;                 /* owner */
    struct cfg_venue cv;              /* this venue's settings (a copy; streams not used) */
    const struct venue_profile *prof; /* static profile */
    const struct feed_adapter *ad;    /* the venue's side of the feed (daemon/adapter.h) */
    void *vd;                         /* the adapter's data (its decoders) */
    uint16_t venue_id;                /* shm venue id */
    const struct tls_config *tls;     /* shared trust settings */
    struct restq rq;                  /* REST queue with the weight budget */
    bool rq_ready;                    /* rq needs stopping */
    struct dstream **streams;         /* every stream, live and removed-but-carried */
    size_t n_streams, cap_streams;    /* count, room */
    struct stream_map map;            /* name -> live stream */
    struct activity *acts;            /* per-symbol evidence (health), one per symbol */
    size_t n_acts;                    /* their count */
    struct shard *shards;             /* connections */
    uv_timer_t check_timer;           /* silence, staleness, rotation age */
    struct budget_ref ws_budget;      /* connection attempts: the budget of the url's host */
    struct budget_ref rest_budget;    /* REST weight: the budget of the rest_url's host */
    struct mdf_candle *klines;        /* REST candle history decode buffer (adapter candles) */
    size_t klines_cap;                /* its room */
    uint32_t warming;                 /* kline streams whose history warm-up is under way */
    uint32_t warm_streams;            /* streams warmed up since warming was last 0 */
    uint64_t warm_candles;            /* candles they got */
    bool timer_ready;                 /* check_timer needs closing */
    bool stopping;                    /* feed_stop called */
    int closing;                      /* handles (REST queue, timer) still closing */
    struct feed_stats stats;          /* counters */
    uint64_t dns_stuck_logged;        /* dns_stuck_total already logged (health_pub.c) */
    struct log_limit conn_log;        /* failed connection attempts (first at once, then a
                                         summary) */
    struct feed_retired retired;      /* counters of connections and streams gone */
};

/* Creates the feed for venue entry cv: its streams registered in the symbol table, nothing
 * connected yet. Returns NULL with err_set(). */
struct feed *feed_new(struct daemon *d, const struct cfg_venue *cv);

/* Opens the REST queue, lays the streams out over connections and connects them. On error the
 * feed must still be stopped (feed_stop) like a running one. */
int feed_start(struct feed *f);

/* Connections the feed has open or opening. */
uint32_t feed_connections(const struct feed *f);

/* Replaces connection old make-before-break (age, serverShutdown, watchdog). */
void feed_rotate(struct feed *f, struct shard *old);

/* Applies a changed venue entry: streams added are subscribed, streams removed unsubscribed,
 * others untouched; connection and health settings apply to new connections. */
int feed_reload(struct feed *f, const struct cfg_venue *cv);

/* Closes every connection (close frames sent) and the REST queue; feed_stopped() tells when
 * everything has closed. */
void feed_stop(struct feed *f);

/* True once everything of a stopped feed has closed. */
bool feed_stopped(const struct feed *f);

/* Frees a stopped feed. */
void feed_free(struct feed *f);

/* Publishes every LIVE book of the feed as STALE (the daemon is stopping). */
void feed_mark_books_stale(struct feed *f);

/* Called by shards. */
void feed_on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns);
void feed_on_connected(struct shard *sh);
void feed_on_disconnected(struct shard *sh, int err);
void feed_on_attempt_failed(struct shard *sh, int err);
void feed_on_gave_up(struct shard *sh);
void feed_on_shard_stopped(struct shard *sh);
void feed_on_acked(struct shard *sh, struct dstream *s);
uint32_t feed_admit(struct feed *f);

/* Shared by the venues' adapters (daemon/adapter.h). */

/* Stamps r as stream s's record: h.venue, h.symbol, h.stream. */
static inline void feed_stamp(const struct feed *f, const struct dstream *s, union mdf_record *r)
{
    r->h.venue = f->venue_id;
    r->h.symbol = s->symbol;
    r->h.stream = s->stream;
}

/* Stamps r (any type) as stream s's and publishes it, counted in the feed's records. */
void feed_publish(struct feed *f, struct dstream *s, union mdf_record *r);

/* A venue's partial book (its top N, whole in each message), as feed_publish_partial takes it. */
struct feed_partial {
    int64_t exch_time_ns, tx_time_ns, recv_time_ns; /* the message's times (0 if none) */
    int64_t first_id, last_id;                      /* the update ids it reflects (0 if none) */
    uint64_t venue_seq;                             /* h.venue_seq */
    const struct vlevel *bids, *asks;               /* best first */
    uint32_t n_bids, n_asks;                        /* their counts */
};

/* Publishes p as stream s's LIVE partial book record (MDF_BOOK_F_PARTIAL), cut to
 * shm.book_depth levels a side. */
void feed_publish_partial(struct feed *f, struct dstream *s, const struct feed_partial *p);

/* The live stream named name[0..len) that a data message of sh is for, or NULL (counted as
 * unknown). On a replacement, marks the stream as delivered there (shard_all_delivered). */
struct dstream *feed_data_stream(struct shard *sh, const char *name, size_t len);

/* Stream s got a message received at recv_ns with the venue's time exch_ns (0 if none):
 * counts it, times it, clears a silent or stale flag. */
void feed_note(struct feed *f, struct dstream *s, int64_t recv_ns, int64_t exch_ns);

/* A message of shard sh did not decode (rc, with mdf_errmsg()); s is its stream when the
 * message still named one, else NULL. Counts it on the feed and the stream, logs it
 * (rate-limited), and flags a stream whose messages keep failing (DECODE_FAILING). */
void feed_decode_failed(struct feed *f, struct shard *sh, struct dstream *s, int rc,
                        const uint8_t *msg, size_t len);

/* Stream s showed it is alive without data (a channel heartbeat). */
void feed_alive(struct feed *f, struct dstream *s);

/* Accepts a record of s keyed `key` unless it is not newer than the last one (a duplicate from
 * the other connection of a rotation); `consecutive`: keys go up by one, so a jump is a gap. */
bool feed_accept_key(struct feed *f, struct dstream *s, int64_t key, bool consecutive);

/* The book of s was interrupted: a LIVE book is published STALE. No-op without a book. */
void feed_book_interrupt(struct feed *f, struct dstream *s);

/* State (enum mdf_book_state) of the book of s, or -1 if s keeps none; with gen, resyncs and
 * gaps when not NULL. */
int feed_book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps);
#define feed_book_state(s) feed_book_info((s), NULL, NULL, NULL)

/* Evidence (health): stream s, whose proof is trade ids, reflected trade id `id`. */
void feed_progress(struct feed *f, struct dstream *s, int64_t id);

/* Evidence (health): stream src showed the symbol's last trade id (id > 0) and/or a trade's
 * venue time (ns > 0); streams of the symbol that should have followed and did not owe it. */
void feed_evidence(struct feed *f, struct dstream *src, int64_t id, int64_t ns);

/* Staleness threshold of stream s now, in ns (0 = quiet is normal for it). */
int64_t feed_stale_threshold(const struct feed *f, const struct dstream *s);

/* Candles (candles.c). */
void candles_on_kline(struct feed *f, struct dstream *s, union mdf_record *rec);
void candles_cancel(struct feed *f, struct dstream *s);

/* Publishes closed candle rec of s (venue and symbol set) unless one at least as new was
 * published already (backfilled: history, published even if older, for the table). */
void candles_publish_closed(struct feed *f, struct dstream *s, union mdf_record *rec,
                            bool backfilled);

#endif /* MDF_DAEMON_FEED_H */
