/*
 * A venue's side of a feed: the daemon's half of the venue interface (the protocol half, which
 * does no I/O, is struct venue_proto in venue/venue.h). One table per venue protocol, in the
 * spirit of libuv's handle types: the feed (feed.c), its connections (shard.c) and the health
 * code call these and never ask which venue they serve.
 *
 * An adapter decodes its venue's messages and turns them into records through the feed's
 * shared helpers (feed_note, feed_accept_key, feed_progress, feed_evidence, daemon_publish),
 * keeps its venue's book rule, answers the venue's control replies through the shard's
 * (shard_on_reply by request id, shard_on_subscribed by stream key and channel id), and acts on
 * the venue's notices (feed_rotate for a restart or cut announced, shard_maintenance).
 *
 * Adding a venue: src/venue/<name>.c (protocol, decoder, its venue_proto and profiles),
 * src/venue/<name>_conf.c (its config rules), src/book/<name>_book.c (its book rule),
 * src/daemon/<name>_feed.c (this table), one line in adapter.c; see src/venue/README.md.
 */
#ifndef MDF_DAEMON_ADAPTER_H
#define MDF_DAEMON_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

struct feed;
struct shard;
struct shard_ent;
struct dstream;
struct http_response;

/* Candle history over REST (candles.c: outage backfill and warm-up), for venues that serve it. */
struct adapter_candles {
    /* True if the venue's REST serves candles of interval iv. */
    bool (*serves)(const struct feed *f, int iv);
    /* Writes the URL of the closed candles of s opening in [from_ms, to_ms], at most limit;
     * *weight gets the request's weight. Returns the length or negative. */
    int (*url)(const struct feed *f, const struct dstream *s, int64_t from_ms, int64_t to_ms,
               uint32_t limit, char *buf, size_t cap, uint32_t *weight);
    /* Decodes a response body into out[0..max): closed candles only (close time < now_ns),
     * flagged CLOSED|BACKFILLED; *n gets the count. 0 or negative with err_set(). */
    int (*decode)(struct feed *f, const struct dstream *s, const struct http_response *resp,
                  int64_t now_ns, struct mdf_candle *out, size_t max, size_t *n);
};

struct feed_adapter {
    const char *name; /* the venue_proto name it serves */

    /* Feed: allocates the venue's decoders and buffers in f->vd (control path); 0 or negative
     * with err_set(). fini frees them (f->vd may be NULL). */
    int (*feed_init)(struct feed *f);
    void (*feed_fini)(struct feed *f);

    /* Stream: allocates its venue state (its book) in s->vbook; 0 or negative with err_set().
     * fini frees it. */
    int (*stream_init)(struct feed *f, struct dstream *s);
    void (*stream_fini)(struct dstream *s);
    /* Record types s publishes beyond its type's own (a mask of 1 << MDF_REC_*). */
    uint32_t (*extra_types)(const struct dstream *s);

    /* Connection sh just opened. Returns 1 if subscriptions may start now, 0 if the venue must
     * answer something first (the adapter calls shard_ready() then), negative to reconnect. */
    int (*on_open)(struct shard *sh);
    /* Control messages. Exactly one of the two builders is set:
     * - control_batch: one message for n stream names under request id `id`, answered by id
     *   (shard_on_reply); up to batch_max names per message;
     * - control_one: one message for the stream of entry e, answered by the stream's key
     *   (shard_on_subscribed) and unsubscribed by the channel id the answer gave.
     * Each writes the message into buf and returns its length, or negative. */
    int (*control_batch)(const struct shard *sh, bool subscribe, const char *const *names, size_t n,
                         uint64_t id, char *buf, size_t cap);
    int (*control_one)(const struct shard *sh, const struct shard_ent *e, bool subscribe, char *buf,
                       size_t cap);
    uint32_t batch_max; /* control_batch: most names per message */
    /* control_batch: how many of names[0..n) (from the first) fit one message, when the venue
     * limits more than their number (Bybit: 10 topics on spot, 21,000 characters); NULL: all
     * up to batch_max. */
    size_t (*batch_fit)(const struct shard *sh, const char *const *names, size_t n);

    /* One WebSocket text message of connection sh, received at recv_ns. */
    void (*on_message)(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns);

    /* Books. info: state (enum mdf_book_state) of the book of s, or -1 if s keeps none, with
     * its generation, resyncs and gaps. interrupt: the stream was interrupted: a LIVE book is
     * published STALE (readers see it is no longer maintained). */
    int (*book_info)(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps);
    void (*book_interrupt)(struct feed *f, struct dstream *s);

    /* Rotation. delivers: true once replacement sh delivers (then it takes over). By snapshot:
     * a stream's state (book, candles, ticker) moves to another connection only at that
     * connection's snapshot, so a book whose driving connection goes before the replacement
     * sent one waits for it, not LIVE meanwhile; otherwise the replacement's updates chain on. */
    bool (*delivers)(const struct shard *sh);
    bool handover_by_snapshot;

    /* The feed's check timer: per-stream work (a failed book snapshot asked again) and
     * per-connection work (a maintenance that never ended); either may be NULL. */
    void (*check_stream)(struct feed *f, struct dstream *s);
    void (*check_shard)(struct feed *f, struct shard *sh, int64_t now_mono);

    /* Candle history over REST; NULL if the venue gives history its own way. */
    const struct adapter_candles *candles;
};

/* The adapter of profile p's protocol (adapter.c), or NULL with err_set(). */
const struct feed_adapter *adapter_find(const struct venue_profile *p);

extern const struct feed_adapter binance_adapter;  /* daemon/binance_feed.c */
extern const struct feed_adapter bitfinex_adapter; /* daemon/bitfinex_feed.c */
extern const struct feed_adapter bybit_adapter;    /* daemon/bybit_feed.c */
extern const struct feed_adapter okx_adapter;      /* daemon/okx_feed.c */

#endif /* MDF_DAEMON_ADAPTER_H */
