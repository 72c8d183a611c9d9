/*
 * libmdfeed: the reader API for mdfeed's shared-memory market data.
 *
 * A strategy opens an instance (the set of segments one daemon publishes), looks up symbol ids,
 * subscribes to rings and reads records, or reads the latest-state tables at any time. All
 * mappings are read-only: nothing a reader does can corrupt the feed or slow the daemon down.
 *
 * Threads: an mdf_instance_t may be shared by threads for the latest-state and symbol calls;
 * an mdf_sub_t (a subscription with its own cursor) must be used by one thread at a time.
 *
 * Errors: functions return 0 (or a count) on success and a negative code on failure: either a
 * negated errno value (-ENOENT, -EACCES, ...) or one of enum mdf_error. mdf_errmsg() gives the
 * calling thread's last error message with its context.
 *
 * Ownership words (as in jansson): "new" means the caller frees it with the named function;
 * "borrowed" means valid while its parent lives.
 */
#ifndef MDF_MDFEED_MDFEED_H
#define MDF_MDFEED_MDFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/health.h>
#include <mdfeed/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MDF_API __attribute__((visibility("default")))
#else
#define MDF_API
#endif

/* Errors of our own; system errors are negated errno values, which all lie above -1000. */
enum mdf_error {
    MDF_ESYNTAX = -1001,    /* text is not a decimal number */
    MDF_EBADSEG = -1002,    /* segment has the wrong magic, kind or size */
    MDF_EVERSION = -1003,   /* segment has another layout major version */
    MDF_ENOTREADY = -1004,  /* segment exists but its writer has not finished building it */
    MDF_EDEAD = -1005,      /* the daemon died (process gone, or heartbeat long stopped) */
    MDF_ERETIRED = -1006,   /* the segment was replaced: close and open the instance again */
    MDF_ESQUAT = -1007,     /* a segment name is taken by a foreign, wrong-mode or odd file */
    MDF_ELIVE = -1008,      /* another live daemon owns this instance */
    MDF_ECONTENDED = -1009, /* a table entry kept changing while read; try again */
    MDF_ENODATA = -1010,    /* no record of that kind for that symbol yet */
    MDF_ETRUNC = -1011,     /* output buffer too small */
};

/* Opaque handles. */
typedef struct mdf_instance mdf_instance_t;
typedef struct mdf_sub mdf_sub_t;
typedef struct mdf_dec mdf_dec_t;
typedef union mdf_record mdf_record_t;

/* ---- errors ------------------------------------------------------------------------------ */

/* The calling thread's last error message ("" if none). Borrowed: valid until the thread's next
 * libmdfeed call. */
MDF_API const char *mdf_errmsg(void);

/* A static description of an error code (negative errno or enum mdf_error). */
MDF_API const char *mdf_strerror(int err);

/* ---- instances --------------------------------------------------------------------------- */

/* Opens instance `name` (NULL or "" means "default"): maps its state segment read-only and
 * checks magic, layout major version and sizes. wait_ms: 0 fails at once if the daemon has not
 * created the instance; > 0 waits up to that many ms; < 0 waits forever.
 * On success *out is new (free with mdf_close). Returns 0, -ENOENT (no such instance),
 * -ETIMEDOUT (waited in vain), -EACCES (not in the daemon's group), MDF_EBADSEG, MDF_EVERSION,
 * -ENOSPC (published tables with pages no memory backs, and /dev/shm full: reading them would
 * be a SIGBUS; a daemon of this version never leaves them so), -EINVAL (bad name) or another
 * negative errno. */
MDF_API int mdf_open(mdf_instance_t **out, const char *name, int wait_ms);

/* Unmaps everything of the instance; subscriptions made from it must be closed first. NULL ok. */
MDF_API void mdf_close(mdf_instance_t *inst);

/* Daemon liveness, as seen through the segment headers. The rule (the same in mdfeed-top):
 *  - DEAD at once when the process that owns the segments is gone: its pid (writer_pid in the
 *    header) does not exist, is a zombie, or now belongs to a process with another start time
 *    (/proc/PID/stat). A daemon that exits or is killed is reported dead by the next
 *    mdf_status call, and by a blocked mdf_wait after about one heartbeat period (100 ms).
 *  - While that process lives, DEAD only when its heartbeat (the event loop's, every
 *    hb_interval_ns) is older than MDF_DEAD_AFTER_NS(hb_interval_ns) (layout.h): 20 periods
 *    and at least 5 s, so 5 s for the daemon's 100 ms period. A daemon that a loaded machine
 *    does not schedule for a second or two, or one stopped (SIGSTOP) for less than that, stays
 *    ALIVE; a loop stuck longer reads as DEAD, and ALIVE again when it beats again.
 * A reader that cannot see the daemon's process (another pid namespace) takes it for gone. */
enum mdf_liveness {
    MDF_ALIVE = 0,   /* owner process runs and its heartbeat is within the bound */
    MDF_DEAD = 1,    /* owner process gone, or no heartbeat for MDF_DEAD_AFTER_NS */
    MDF_RETIRED = 2, /* the daemon replaced the segments: close and open again */
};

struct mdf_status {
    int liveness;             /* enum mdf_liveness */
    int64_t pid;              /* owning daemon's pid */
    uint64_t epoch;           /* bumped every time a daemon (re)takes the instance */
    bool restarted;           /* epoch differs from the one seen at open / the last call */
    int64_t heartbeat_age_ns; /* CLOCK_MONOTONIC age of the last heartbeat */
    int64_t hb_interval_ns;   /* the daemon's heartbeat period */
    int64_t epoch_start_ns;   /* CLOCK_REALTIME when the current epoch began */
};

/* Fills *st; liveness by the rule above (a kill(2) and a read of /proc/PID/stat). `restarted`
 * compares the epoch with the one remembered at open or at the previous mdf_status call, then
 * remembers the new one. Returns 0 or -EINVAL. */
MDF_API int mdf_status(mdf_instance_t *inst, struct mdf_status *st);

/* Read-side counters of this instance handle. */
struct mdf_stats {
    uint64_t seqlock_retries; /* latest-table reads that had to retry because of a writer */
    uint64_t contended;       /* latest-table reads that gave up with MDF_ECONTENDED */
};

/* Copies the handle's counters. Returns 0 or -EINVAL. */
MDF_API int mdf_stats(mdf_instance_t *inst, struct mdf_stats *st);

/* ---- venues and symbols ------------------------------------------------------------------ */

/* Number of venues / symbols registered so far (ids are 0..n-1 and never reused). */
MDF_API uint32_t mdf_venue_count(mdf_instance_t *inst);
MDF_API uint32_t mdf_symbol_count(mdf_instance_t *inst);

/* Name of venue `venue`: borrowed, valid while inst is open; NULL if no such venue. */
MDF_API const char *mdf_venue_name(mdf_instance_t *inst, uint32_t venue);

/* Looks up `key` = "venue:SYMBOL" where SYMBOL is the venue-native ("binance-spot:BTCUSDT") or
 * the normalized name ("binance-spot:BTC/USDT"); venue-native names match case-insensitively.
 * Returns the symbol id (>= 0), -ENOENT or -EINVAL. Linear in the symbol count: cache ids. */
MDF_API int64_t mdf_symbol_lookup(mdf_instance_t *inst, const char *key);

/* Copies symbol `id`'s table entry to *out. Returns 0 or -ENOENT. */
MDF_API int mdf_symbol_info(mdf_instance_t *inst, uint32_t id, struct mdf_symbol_entry *out);

/* ---- streams ----------------------------------------------------------------------------- */
/* A stream is one venue subscription of the daemon (a Binance stream, a Bitfinex channel). Each
 * keeps its own latest records, so one symbol's depth5, depth20 and diff books, its ticker and
 * mini ticker, or two Bitfinex books at P0 and P2, can each be read. Every record names its
 * stream in h.stream. Ids are never reused; a stream a reload removed stays readable with its
 * last data (books STALE) and `retired` set, and keeps its id if it comes back. */

/* Number of streams registered so far (ids are 0..n-1). */
MDF_API uint32_t mdf_stream_count(mdf_instance_t *inst);

/* Finds a live stream of symbol `symbol_key` ("venue:SYMBOL" as for mdf_symbol_lookup) by
 * `kind`, which is one of:
 * - the venue's stream name or channel key ("btcusdt@depth20@100ms", "book:tBTCUSD:P2:F0:25");
 * - the stream's kind text, its key without the symbol ("depth20@100ms", "book:P2:F0:25",
 *   "ticker", "miniTicker", "aggTrade");
 * - a prefix of the kind text ending before a '@' or ':' ("depth20", "depth", "book:P2",
 *   "book"); if several streams match, the one the per-symbol calls would prefer (see the
 *   latest-state section) wins.
 * Returns the stream id (>= 0), -ENOENT (no such symbol or stream) or -EINVAL. Linear in the
 * stream count: cache ids. */
MDF_API int64_t mdf_stream_find(mdf_instance_t *inst, const char *symbol_key, const char *kind);

/* Copies stream `id`'s table entry (venue, symbol, record type, book kind, precision, levels,
 * key, kind text, retired) to *out. Returns 0, -ENOENT or -EINVAL. */
MDF_API int mdf_stream_info(mdf_instance_t *inst, uint32_t id, struct mdf_stream_entry *out);

/* Name of an enum mdf_book_kind ("full", "partial"; "none" for 0); "?" if unknown. */
MDF_API const char *mdf_book_kind_name(int kind);

/* ---- rings ------------------------------------------------------------------------------- */

/* Ring name ("ticks", "candles", "books", "funding", "events") and back; -EINVAL if unknown. */
MDF_API const char *mdf_ring_name(int ring);
MDF_API int mdf_ring_from_name(const char *name);

/* Where a new subscription starts. */
enum mdf_start {
    MDF_START_NOW = 0,    /* the next record published from now on */
    MDF_START_OLDEST = 1, /* the oldest record the ring still holds */
    MDF_START_SEQ = 2,    /* sequence number `seq`: older than the ring holds, the oldest held
                             (lost counted); beyond the next one to be published (a cursor of a
                             replaced instance, or a bad one), the oldest held, nothing lost */
};

/* Subscribes to ring `ring` (enum mdf_ring_id) of inst, mapping it read-only. On success *out is
 * new (free with mdf_unsubscribe). Returns 0, -EINVAL, -ENOENT (ring segment missing),
 * MDF_EBADSEG (shorter than its header says, or geometry that does not fit), -ENOSPC (pages no
 * memory backs, and /dev/shm full: reading them would be a SIGBUS) or another mapping error. */
MDF_API int mdf_subscribe(mdf_instance_t *inst, int ring, int start, uint64_t seq, mdf_sub_t **out);

/* Unmaps the ring and frees sub. NULL ok. */
MDF_API void mdf_unsubscribe(mdf_sub_t *sub);

/* Copies the next record into *rec if one is committed. Never returns a torn record.
 * *lost (may be NULL) is set to the number of records this subscription missed immediately
 * before the returned one because the writer lapped it (0 normally).
 * Returns 1 (record copied; rec->h.seq is its sequence), 0 (nothing new yet), MDF_EBADSEG (the
 * ring's slots contradict its tail: a corrupt segment) or -EINVAL. */
MDF_API int mdf_next(mdf_sub_t *sub, mdf_record_t *rec, uint64_t *lost);

/* Batch read: copies up to max records into buf, record i at buf + i * stride, in ring order,
 * each as mdf_next would (never torn). stride must be a multiple of 8 and at least
 * sizeof(struct mdf_rec_hdr); a record longer than stride is cut to stride bytes (its h.size
 * still gives its full size), and mdf_sub_record_max(sub) bytes never cut one. Stops early when
 * nothing more is committed. *lost (may be NULL) is set to the number of records the
 * subscription missed to laps in front of the records returned (0 normally); where they were
 * missed shows as gaps in the records' h.seq. Returns the number of records copied (0 .. max,
 * at most INT_MAX), -EINVAL, or MDF_EBADSEG when the first record finds a corrupt ring (a
 * later one ends the batch early and the next call reports it). One call costs about what one
 * mdf_next costs per record, without the per-call overhead: the fast path for bindings. */
MDF_API int mdf_read(mdf_sub_t *sub, void *buf, size_t stride, size_t max, uint64_t *lost);

/* Largest record sub's ring holds, in bytes (a multiple of 8): a stride for mdf_read that never
 * cuts a record. 0 if sub is NULL. */
MDF_API size_t mdf_sub_record_max(mdf_sub_t *sub);

/* Blocks until a record is ready for sub or timeout_ms passes (< 0: forever). Publishing costs
 * the daemon no system call unless a reader is blocked here. Returns 1 (ready), 0 (timed out),
 * MDF_EDEAD (the daemon died while waiting, by the rule of enum mdf_liveness: checked once per
 * heartbeat period while nothing arrives), MDF_ERETIRED or another negative code. */
MDF_API int mdf_wait(mdf_sub_t *sub, int timeout_ms);

/* Sequence number the subscription will read next, and the ring's current tail. */
MDF_API uint64_t mdf_sub_position(mdf_sub_t *sub);
MDF_API uint64_t mdf_sub_tail(mdf_sub_t *sub);

/* Totals for a subscription: records delivered and records lost to laps. */
MDF_API void mdf_sub_counts(mdf_sub_t *sub, uint64_t *delivered, uint64_t *lost);

/* ---- latest-state tables ----------------------------------------------------------------- */
/* Each copies a consistent snapshot (seqlock-validated) of the newest record of that kind for
 * symbol `sym`, taken from the symbol's default stream of that kind, which the daemon picks
 * among the symbol's live streams:
 * - book: the locally maintained full book (Binance diff depth, Bitfinex book) if the symbol
 *   has one, else the partial book with the most levels (depth20 over depth5); between
 *   otherwise equal books, the finer Bitfinex precision (P0 over P2), then the stream
 *   registered first;
 * - ticker: the full 24 h ticker over the mini ticker;
 * - trade: the trade stream over the aggregate-trade stream;
 * - bbo: the book ticker stream (on Bitfinex, where there is none, the ticker's bbo);
 * - funding: the stream registered first.
 * A stream a reload removed is nobody's default any more.
 * The record's h.stream says which stream it came from. Use the *_stream calls below to read a
 * given stream. Return 0, MDF_ENODATA (no such stream, or nothing yet), -ENOENT (no such
 * symbol), MDF_ECONTENDED (kept changing under a busy writer; call again) or -EINVAL. */

/* The book; *out must have room for MDF_BOOK_SIZE(depth) bytes where depth is the instance's
 * book depth (mdf_book_depth); a union mdf_record always has room. */
MDF_API int mdf_latest_book(mdf_instance_t *inst, uint32_t sym, struct mdf_book *out, size_t len);
MDF_API int mdf_latest_bbo(mdf_instance_t *inst, uint32_t sym, struct mdf_bbo *out);
MDF_API int mdf_latest_trade(mdf_instance_t *inst, uint32_t sym, struct mdf_trade *out);
MDF_API int mdf_latest_ticker(mdf_instance_t *inst, uint32_t sym, struct mdf_ticker *out);
MDF_API int mdf_latest_funding(mdf_instance_t *inst, uint32_t sym, struct mdf_funding *out);

/* The same for stream `stream` (an id from mdf_stream_find): its own newest record of that
 * kind, whichever the symbol's default is. Return 0, MDF_ENODATA (the stream has none yet, or
 * publishes another kind), -ENOENT (no such stream), MDF_ECONTENDED or -EINVAL. The book's
 * buffer rule is mdf_latest_book's. */
MDF_API int mdf_latest_book_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_book *out,
                                   size_t len);
MDF_API int mdf_latest_bbo_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_bbo *out);
MDF_API int mdf_latest_trade_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_trade *out);
MDF_API int mdf_latest_ticker_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_ticker *out);
MDF_API int mdf_latest_funding_stream(mdf_instance_t *inst, uint32_t stream,
                                      struct mdf_funding *out);

/* Levels per side in this instance's book records. */
MDF_API uint32_t mdf_book_depth(mdf_instance_t *inst);

/* Candle history kept per (symbol, interval). */
MDF_API uint32_t mdf_candle_capacity(mdf_instance_t *inst);

/* Copies up to k of the newest candles of (sym, interval), oldest first, into out[]; the newest
 * may be a partial (not closed) candle. Returns the number copied (>= 0), -ENOENT (no such
 * symbol), MDF_ENODATA (no such series, or no candle in it yet), MDF_ECONTENDED or -EINVAL. */
MDF_API int mdf_candles_last(mdf_instance_t *inst, uint32_t sym, int interval,
                             struct mdf_candle *out, size_t k);

/* Copies the held candles of (sym, interval) whose open time is in [from_ns, to_ns), oldest
 * first, at most max of them. Returns as mdf_candles_last. */
MDF_API int mdf_candles_range(mdf_instance_t *inst, uint32_t sym, int interval, int64_t from_ns,
                              int64_t to_ns, struct mdf_candle *out, size_t max);

/* Interval name ("1m", "1h", "1M", ...) and back (-EINVAL if unknown); length in ns (months: 0,
 * as they vary). */
MDF_API const char *mdf_interval_name(int interval);
MDF_API int mdf_interval_from_name(const char *name);
MDF_API int64_t mdf_interval_ns(int interval);

/* Bytes of a record of `type`; a book's size depends on its depth (levels per side). 0 if the
 * type is unknown. */
MDF_API size_t mdf_rec_type_size(int type, uint32_t book_depth);

/* The ring (enum mdf_ring_id) that records of `type` are published to; -EINVAL if unknown. */
MDF_API int mdf_rec_type_ring(int type);

/* Record type name ("trade", "bbo", ...); "?" if unknown. Book state name ("LIVE", ...). */
MDF_API const char *mdf_rec_type_name(int type);
MDF_API const char *mdf_book_state_name(int state);
MDF_API const char *mdf_event_code_name(int code);

/* ---- health ------------------------------------------------------------------------------ */
/* The daemon's health segment (include/mdfeed/health.h): what mdfeed-top shows. */

typedef struct mdf_health mdf_health_t;

/* Maps instance `name`'s health segment read-only (NULL or "" = "default"). On success *out is
 * new (free with mdf_health_close). Returns 0, -ENOENT (no daemon has run this instance),
 * -EACCES, MDF_EBADSEG, MDF_EVERSION, MDF_ENOTREADY, -EINVAL or another negative errno. */
MDF_API int mdf_health_open(mdf_health_t **out, const char *name);
MDF_API void mdf_health_close(mdf_health_t *h);

/* Liveness of the daemon from the health segment's header, by the rule of enum mdf_liveness: its
 * heartbeat is the event loop's, so a loop stuck for MDF_DEAD_AFTER_NS reads as MDF_DEAD. Fills
 * *st as mdf_status does. Returns 0 or -EINVAL. */
MDF_API int mdf_health_status(mdf_health_t *h, struct mdf_status *st);

/* The descriptor (table sizes and slots used), copied. Returns 0 or -EINVAL. */
MDF_API int mdf_health_desc(mdf_health_t *h, struct mdf_health_desc *out);

/* Slots used in table `table` (enum mdf_health_table); 0 if unknown. */
MDF_API uint32_t mdf_health_count(mdf_health_t *h, int table);

/* Consistent (seqlock-validated) copies of one entry. Venues, connections, streams and rings are
 * indexed by slot, 0 .. mdf_health_count()-1; a slot whose copy has in_use == 0 is free.
 * Return 0, -ENOENT (index past the slots used), MDF_ECONTENDED or -EINVAL. */
MDF_API int mdf_health_daemon(mdf_health_t *h, struct mdf_health_daemon *out);
MDF_API int mdf_health_venue(mdf_health_t *h, uint32_t i, struct mdf_health_venue *out);
MDF_API int mdf_health_conn(mdf_health_t *h, uint32_t i, struct mdf_health_conn *out);
MDF_API int mdf_health_stream(mdf_health_t *h, uint32_t i, struct mdf_health_stream *out);
MDF_API int mdf_health_ring(mdf_health_t *h, uint32_t i, struct mdf_health_ring *out);

/* Names of health enums ("RUNNING", "OPEN", "LIVE", "book", "parse", ...); "?" if unknown. */
MDF_API const char *mdf_daemon_state_name(int state);
MDF_API const char *mdf_conn_state_name(int state);
MDF_API const char *mdf_stream_state_name(int state);
MDF_API const char *mdf_stream_type_name(int type);
MDF_API const char *mdf_health_err_name(int kind);

/* ---- exact decimals ---------------------------------------------------------------------- */

#define MDF_DEC_STR_MAX 96 /* enough for any decimal mdf_dec_format writes, with the NUL */

/* Parses decimal text s[0..len) ("-12.3400", "5", "1e-7", "2.5E+3") into *out without floating
 * point. Trailing zeros are kept in the exponent so the text formats back unchanged; if the
 * mantissa would overflow int64, trailing fractional zeros are dropped (the value stays exact).
 * Returns 0, MDF_ESYNTAX (not a decimal), or -ERANGE (does not fit: never rounded). */
MDF_API int mdf_dec_parse(const char *s, size_t len, mdf_dec_t *out);

/* Writes d as plain decimal text ("-12.3400") with a NUL into buf[0..len). Returns the text
 * length, or MDF_ETRUNC if len is too small (MDF_DEC_STR_MAX always suffices). */
MDF_API int mdf_dec_format(mdf_dec_t d, char *buf, size_t len);

/* Nearest double to d (correctly rounded). */
MDF_API double mdf_dec_to_double(mdf_dec_t d);

/* Compares the values of a and b exactly: -1, 0 or 1. */
MDF_API int mdf_dec_cmp(mdf_dec_t a, mdf_dec_t b);

#ifdef __cplusplus
}
#endif

#endif /* MDF_MDFEED_MDFEED_H */
