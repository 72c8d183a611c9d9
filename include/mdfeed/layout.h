/*
 * mdfeed shared-memory layout (ABI). Functions-free: fixed-layout structs, magic, version and
 * constants shared by the daemon, the reader library, the tools and third-party readers that
 * map the segments directly.
 *
 * Segments live in /dev/shm as /mdfeed.<instance>.<name>: one per ring ("ticks", "candles",
 * "books", "funding", "events"), one for the venue, symbol and stream tables and the latest-state
 * tables ("state"), one writable doorbell for blocking readers ("doorbell") and one for health
 * ("health").
 * Every segment starts with struct mdf_seg_header. Only offsets, never pointers, are stored.
 *
 * Concurrency contract (one writer, any number of read-only readers):
 * - Fields marked "atomic" are read and written with atomic operations; the others are written
 *   once before the header's version word is stored (release) and never change afterwards.
 * - A ring slot is a seqlock: stamp = 2*seq+1 while record seq is written, 2*seq+2 once it is
 *   committed. A reader copies the record and accepts it only if the stamp was 2*seq+2 both
 *   before and after the copy.
 * - Latest-state entries are seqlocks: an even count means stable, odd means being written.
 *   They are kept per stream (struct mdf_stream_entry); every record names its stream.
 * - Memory: segments are sparse files (the state segment is sized for every table at its
 *   maximum). The writer backs with memory (fallocate) every page before it writes or publishes
 *   it: rings, doorbell and health whole (their st_blocks * 512 covers st_size), table entries
 *   and latest blocks before the count that publishes them. A reader that touches only what is
 *   published never touches an unbacked page, which on a full /dev/shm would be a SIGBUS.
 *
 * Prices and quantities are exact decimals (struct mdf_dec): value = m * 10^e.
 */
#ifndef MDF_MDFEED_LAYOUT_H
#define MDF_MDFEED_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Atomic words: C11 _Atomic where available; other languages use their atomic-ref facilities
 * on the plain type of the same size and alignment (checked below). */
#if defined(__cplusplus) || defined(__STDC_NO_ATOMICS__)
#define MDF_ATOMIC(T) T
#else
#define MDF_ATOMIC(T) _Atomic(T)
#endif

#define MDF_MAGIC UINT64_C(0x4d5344454546444d) /* "MDFEEDSM" little-endian */
#define MDF_LAYOUT_MAJOR 2u                    /* bumped on incompatible change */
#define MDF_LAYOUT_MINOR 1u                    /* bumped on compatible addition */
#define MDF_LAYOUT_VERSION ((MDF_LAYOUT_MAJOR << 16) | MDF_LAYOUT_MINOR)
#define MDF_CACHELINE 64u
#define MDF_SHM_PREFIX "/mdfeed." /* name = prefix + instance + "." + segment */
#define MDF_INSTANCE_MAX 32u      /* instance name length incl. NUL */
#define MDF_NAME_MAX 32u          /* venue name length incl. NUL */
#define MDF_SYMBOL_MAX 48u        /* symbol name length incl. NUL */
#define MDF_EVENT_TEXT_MAX 112u   /* event text incl. NUL */
#define MDF_BOOK_DEPTH_MAX 100u   /* most book levels per side a record holds */
#define MDF_CANDLE_K_MAX 100000u  /* most candles kept per (symbol, interval) */

/* Liveness (libmdfeed's mdf_status, mdfeed-top; third-party readers should use the same rule):
 * the daemon is dead when the segment's writer process is gone (writer_pid does not exist, is a
 * zombie, or is another process with a different start time), at once; or, while that process
 * lives, when its heartbeat is older than MDF_DEAD_AFTER_NS(hb_interval_ns): at least
 * MDF_DEAD_AFTER_PERIODS heartbeat periods and never less than MDF_DEAD_AFTER_MIN_NS, so a
 * daemon that a loaded machine did not schedule for a while is not taken for a dead one. */
#define MDF_DEAD_AFTER_PERIODS 20                 /* heartbeat periods of silence */
#define MDF_DEAD_AFTER_MIN_NS INT64_C(5000000000) /* and at least 5 s */
/* The heartbeat silence after which a live writer process is called dead (int64 ns; saturates
 * instead of overflowing for an absurd period). */
#define MDF_DEAD_AFTER_NS(hb_interval_ns)                                                          \
    ((uint64_t)(hb_interval_ns) <= (uint64_t)MDF_DEAD_AFTER_MIN_NS / MDF_DEAD_AFTER_PERIODS        \
         ? MDF_DEAD_AFTER_MIN_NS                                                                   \
     : (uint64_t)(hb_interval_ns) >= (uint64_t)INT64_MAX / MDF_DEAD_AFTER_PERIODS                  \
         ? INT64_MAX                                                                               \
         : (int64_t)(hb_interval_ns)*MDF_DEAD_AFTER_PERIODS)
#define MDF_STREAM_KEY_MAX 64u        /* stream key length incl. NUL */
#define MDF_STREAM_KIND_MAX 32u       /* stream kind text length incl. NUL */
#define MDF_STREAM_ID_NONE UINT32_MAX /* mdf_rec_hdr.stream of a record from no stream (events) */

/* Segment kinds (mdf_seg_header.kind). */
enum mdf_seg_kind {
    MDF_SEG_RING = 1,     /* a ring of fixed-size slots */
    MDF_SEG_STATE = 2,    /* venue, symbol and stream tables, latest-state tables, candles */
    MDF_SEG_DOORBELL = 3, /* group-writable waiter flags so blocked readers can be woken */
    MDF_SEG_HEALTH = 4,   /* health counters (issue 6) */
};

/* mdf_seg_header.flags bits. */
#define MDF_SEG_F_RETIRED 1u /* segment replaced by a new one under the same name: reopen */

/* Every segment starts with this header (256 bytes, 4 cache lines). */
struct mdf_seg_header {
    uint64_t magic;                     /* MDF_MAGIC */
    MDF_ATOMIC(uint32_t) version;       /* atomic: 0 while building; stored last (release) */
    uint32_t kind;                      /* enum mdf_seg_kind */
    uint64_t size;                      /* total segment bytes, as ftruncate'd */
    uint64_t hb_interval_ns;            /* heartbeat period (see MDF_DEAD_AFTER_NS) */
    char instance[MDF_INSTANCE_MAX];    /* instance name */
    char name[16];                      /* segment name ("ticks", "state", ...) */
    uint8_t _pad0[48];                  /* to the end of line 1 */
    MDF_ATOMIC(uint64_t) epoch;         /* atomic: bumped each time a daemon (re)takes it */
    MDF_ATOMIC(int64_t) writer_pid;     /* atomic: pid of the owning daemon */
    MDF_ATOMIC(uint64_t) writer_start;  /* atomic: owner's start time in clock ticks since boot */
    MDF_ATOMIC(int64_t) epoch_start_ns; /* atomic: CLOCK_REALTIME when this epoch began */
    MDF_ATOMIC(uint32_t) flags;         /* atomic: MDF_SEG_F_* */
    uint32_t _pad1;                     /* reserved */
    uint8_t _pad2[24];                  /* to the end of line 2 */
    MDF_ATOMIC(int64_t) heartbeat_ns;   /* atomic: CLOCK_MONOTONIC of the writer's last beat */
    uint8_t _pad3[56];                  /* keep the heartbeat on its own line */
};

/* Rings and their ids (mdf_ring_desc.ring_id); names are the segment names. */
enum mdf_ring_id {
    MDF_RING_TICKS = 0,   /* trades, aggregate trades, bbo, 24 h tickers, liquidations */
    MDF_RING_CANDLES = 1, /* candles */
    MDF_RING_BOOKS = 2,   /* top-N book snapshots */
    MDF_RING_FUNDING = 3, /* mark price, index price, funding rate */
    MDF_RING_EVENTS = 4,  /* the daemon's log events */
    MDF_RING_COUNT = 5,
};

/* Ring descriptor, right after the segment header. The tail has its own pair of lines. */
struct mdf_ring_desc {
    uint64_t capacity;         /* slots, a power of two */
    uint32_t slot_size;        /* bytes per slot (stamp + record), multiple of 64 */
    uint32_t ring_id;          /* enum mdf_ring_id */
    uint64_t slots_offset;     /* offset of slot 0 from the segment start */
    uint8_t _pad0[104];        /* to 128 bytes */
    MDF_ATOMIC(uint64_t) tail; /* atomic: sequence number the next publish will use */
    uint8_t _pad1[120];        /* 128 bytes: no false sharing with the slots */
};

/* A ring slot: the seqlock stamp then the record (struct mdf_rec_hdr first). */
struct mdf_slot {
    MDF_ATOMIC(uint64_t) stamp; /* atomic: 2*seq+1 writing, 2*seq+2 committed, 0 never used */
    uint64_t data[];            /* the record, accessed as relaxed atomic 64-bit words */
};

/* Doorbell: one line pair per ring. Readers set `waiting` before sleeping on the futex word
 * `wake`; the writer, after publishing, clears `waiting`, bumps `wake` and wakes. This is the
 * only memory readers write to; a reader can at worst cause spurious wake-ups. */
struct mdf_doorbell {
    MDF_ATOMIC(uint32_t) waiting; /* atomic: nonzero when some reader may be sleeping */
    MDF_ATOMIC(uint32_t) wake;    /* atomic: futex word, bumped at each wake-up */
    uint8_t _pad[120];            /* own 128 bytes */
};

/* ----------------------------------------------------------------------------------------- */
/* Records                                                                                    */

/* An exact decimal: value = m * 10^e. Parsed from the venue's decimal text without floating
 * point; formats back to the same text. */
struct mdf_dec {
    int64_t m;   /* mantissa */
    int32_t e;   /* decimal exponent, -64..64 */
    uint32_t _r; /* reserved, 0 */
};

enum mdf_rec_type {
    MDF_REC_NONE = 0,        /* empty entry: no data yet */
    MDF_REC_TRADE = 1,       /* struct mdf_trade */
    MDF_REC_BBO = 2,         /* struct mdf_bbo */
    MDF_REC_TICKER = 3,      /* struct mdf_ticker */
    MDF_REC_LIQUIDATION = 4, /* struct mdf_liquidation */
    MDF_REC_CANDLE = 5,      /* struct mdf_candle */
    MDF_REC_BOOK = 6,        /* struct mdf_book */
    MDF_REC_FUNDING = 7,     /* struct mdf_funding */
    MDF_REC_EVENT = 8,       /* struct mdf_event */
    MDF_REC_TYPE_COUNT = 9,
};

/* Common header of every record (56 bytes). Times are Unix ns; 0 = not given by the venue. */
struct mdf_rec_hdr {
    uint16_t type;        /* enum mdf_rec_type */
    uint16_t size;        /* bytes of the whole record */
    uint16_t venue;       /* venue id (state segment venue table) */
    uint16_t flags;       /* type-specific MDF_*_F_* bits */
    uint32_t symbol;      /* symbol id (state segment symbol table); UINT32_MAX = none */
    uint32_t stream;      /* stream id (state segment stream table); MDF_STREAM_ID_NONE = none */
    uint64_t seq;         /* ring sequence number, set when published to a ring */
    int64_t exch_time_ns; /* venue's event time */
    int64_t tx_time_ns;   /* venue's transaction / match time */
    int64_t recv_time_ns; /* local CLOCK_REALTIME when the bytes came off the socket */
    uint64_t venue_seq;   /* venue's own message sequence number, 0 if none */
};

/* Aggressor side. */
enum mdf_side { MDF_SIDE_UNKNOWN = 0, MDF_SIDE_BUY = 1, MDF_SIDE_SELL = 2 };

#define MDF_TRADE_F_AGGREGATE 1u  /* an aggregate trade: first_id..last_id */
#define MDF_TRADE_F_BEST_MATCH 2u /* venue's "best price match" flag */

struct mdf_trade {
    struct mdf_rec_hdr h; /* type MDF_REC_TRADE */
    struct mdf_dec price; /* trade price */
    struct mdf_dec qty;   /* base quantity */
    int64_t trade_id;     /* venue trade id (aggregate trade id for aggregates) */
    int64_t first_id;     /* first underlying trade id (= trade_id when single) */
    int64_t last_id;      /* last underlying trade id (= trade_id when single) */
    uint8_t side;         /* enum mdf_side: the aggressor */
    uint8_t _r[7];        /* reserved */
};

/* h.flags of struct mdf_bbo: the venue's best bid is at or above its best ask (both > 0), a
 * book top that cannot be traded as it stands. Such a record is published as the venue sent it,
 * flagged, the way a book's state says whether it can be trusted: a reader that needs a sane top
 * skips or distrusts it. A price of 0 (no bid or no ask) crosses nothing. */
#define MDF_BBO_F_CROSSED 1u

struct mdf_bbo {
    struct mdf_rec_hdr h;   /* type MDF_REC_BBO; h.flags & MDF_BBO_F_CROSSED */
    struct mdf_dec bid_px;  /* best bid price */
    struct mdf_dec bid_qty; /* best bid quantity */
    struct mdf_dec ask_px;  /* best ask price */
    struct mdf_dec ask_qty; /* best ask quantity */
    int64_t update_id;      /* venue's book update id, 0 if none */
};

#define MDF_TICKER_F_MINI 1u    /* h.flags: a mini ticker (close, open, high, low, volumes only) */
#define MDF_TICKER_F_CROSSED 2u /* h.flags: bid_px >= ask_px, both > 0 (as MDF_BBO_F_CROSSED) */

/* 24 h rolling ticker (full or mini: fields the venue did not send are zero). */
struct mdf_ticker {
    struct mdf_rec_hdr h;         /* type MDF_REC_TICKER */
    struct mdf_dec last_px;       /* last price */
    struct mdf_dec last_qty;      /* last quantity */
    struct mdf_dec open_px;       /* open price 24 h ago */
    struct mdf_dec high_px;       /* 24 h high */
    struct mdf_dec low_px;        /* 24 h low */
    struct mdf_dec volume;        /* 24 h base volume */
    struct mdf_dec quote_volume;  /* 24 h quote volume */
    struct mdf_dec change;        /* price change */
    struct mdf_dec change_pct;    /* price change, percent */
    struct mdf_dec vwap;          /* weighted average price */
    struct mdf_dec bid_px;        /* best bid price */
    struct mdf_dec bid_qty;       /* best bid quantity */
    struct mdf_dec ask_px;        /* best ask price */
    struct mdf_dec ask_qty;       /* best ask quantity */
    int64_t open_time_ns;         /* statistics window open */
    int64_t close_time_ns;        /* statistics window close */
    int64_t first_id;             /* first trade id in the window */
    int64_t last_id;              /* last trade id in the window */
    int64_t count;                /* number of trades in the window */
    struct mdf_dec prev_close_px; /* last price before the window (Binance spot "x") */
};

struct mdf_liquidation {
    struct mdf_rec_hdr h;      /* type MDF_REC_LIQUIDATION */
    struct mdf_dec price;      /* order price */
    struct mdf_dec qty;        /* original quantity */
    struct mdf_dec avg_price;  /* average fill price */
    struct mdf_dec filled_qty; /* accumulated filled quantity */
    uint8_t side;              /* enum mdf_side of the liquidation order */
    uint8_t _r[7];             /* reserved */
    char status[16];           /* venue's order status text, e.g. "FILLED" */
    struct mdf_dec last_qty;   /* quantity of the last fill */
    char order_type[16];       /* venue's order type text, e.g. "LIMIT" */
    char time_in_force[16];    /* venue's time in force text, e.g. "IOC" */
};

/* Candle intervals: the union of what the venues offer. */
enum mdf_interval {
    MDF_IV_NONE = 0,
    MDF_IV_1S,
    MDF_IV_1M,
    MDF_IV_3M,
    MDF_IV_5M,
    MDF_IV_15M,
    MDF_IV_30M,
    MDF_IV_1H,
    MDF_IV_2H,
    MDF_IV_3H,
    MDF_IV_4H,
    MDF_IV_6H,
    MDF_IV_8H,
    MDF_IV_12H,
    MDF_IV_1D,
    MDF_IV_3D,
    MDF_IV_1W,
    MDF_IV_14D,
    MDF_IV_1MO,
    MDF_IV_COUNT,
};

#define MDF_CANDLE_F_CLOSED 1u     /* h.flags: the candle is final */
#define MDF_CANDLE_F_BACKFILLED 2u /* h.flags: fetched over REST (warm-up, gap), not streamed */

struct mdf_candle {
    struct mdf_rec_hdr h;           /* type MDF_REC_CANDLE; h.flags & MDF_CANDLE_F_CLOSED */
    uint32_t interval;              /* enum mdf_interval */
    uint32_t _r;                    /* reserved */
    int64_t open_time_ns;           /* interval start */
    int64_t close_time_ns;          /* interval end as the venue states it */
    struct mdf_dec open;            /* open price */
    struct mdf_dec high;            /* high price */
    struct mdf_dec low;             /* low price */
    struct mdf_dec close;           /* close (last) price */
    struct mdf_dec volume;          /* base volume */
    struct mdf_dec quote_volume;    /* quote volume */
    struct mdf_dec taker_buy_base;  /* taker buy base volume */
    struct mdf_dec taker_buy_quote; /* taker buy quote volume */
    int64_t trades;                 /* number of trades */
    int64_t first_id;               /* first trade id, 0 if not given */
    int64_t last_id;                /* last trade id, 0 if not given */
};

/* Book state: whether a reader can trust the book. */
enum mdf_book_state {
    MDF_BOOK_EMPTY = 0,     /* never synced */
    MDF_BOOK_SYNCING = 1,   /* waiting for snapshot + bridge */
    MDF_BOOK_LIVE = 2,      /* in sync, every diff applied in order */
    MDF_BOOK_RESYNCING = 3, /* a gap was seen; rebuilding */
    MDF_BOOK_STALE = 4,     /* no updates past the threshold, or the daemon restarted */
};

struct mdf_level {
    struct mdf_dec px;  /* price */
    struct mdf_dec qty; /* quantity */
    uint32_t orders;    /* orders at the level where the venue says, else 0 */
    uint32_t _r;        /* reserved */
};

#define MDF_BOOK_F_PARTIAL 1u /* h.flags: the venue's own top-N stream, not a local full book */

/* Which book a book stream keeps (mdf_book.kind, mdf_stream_entry.book_kind). */
enum mdf_book_kind {
    MDF_BOOK_KIND_NONE = 0,    /* not a book stream */
    MDF_BOOK_KIND_FULL = 1,    /* kept locally from a snapshot and every update: Binance diff
                                  depth, Bitfinex book channels */
    MDF_BOOK_KIND_PARTIAL = 2, /* the venue's own top N, sent whole each time: Binance depthN */
};

/* Top-N book. levels[0..depth-1] are bids best first, levels[depth..2*depth-1] asks best first;
 * only n_bids / n_asks of each are valid. The record's size is MDF_BOOK_SIZE(depth). Several
 * books of one symbol (depth5, depth20, diff; Bitfinex P0 and P2) differ in h.stream and in
 * kind / precision / levels_asked, which repeat their stream entry's fields. */
struct mdf_book {
    struct mdf_rec_hdr h;      /* type MDF_REC_BOOK */
    uint8_t state;             /* enum mdf_book_state */
    uint8_t kind;              /* enum mdf_book_kind */
    uint16_t depth;            /* levels per side this record has room for */
    uint16_t n_bids;           /* valid bid levels */
    uint16_t n_asks;           /* valid ask levels */
    uint64_t generation;       /* bumped on every resync */
    int64_t first_update_id;   /* first venue update id folded into this state */
    int64_t last_update_id;    /* last venue update id applied */
    uint8_t precision;         /* Bitfinex price precision P0..P4 as 0..4; 0 on other venues */
    uint8_t _r1;               /* reserved, 0 */
    uint16_t levels_asked;     /* levels per side subscribed (depth20: 20, Bitfinex len 25);
                                  0 = the whole book (Binance diff depth) */
    uint32_t _r2;              /* reserved, 0 */
    struct mdf_level levels[]; /* 2 * depth levels */
};
#define MDF_BOOK_SIZE(depth) (sizeof(struct mdf_book) + 2u * (depth) * sizeof(struct mdf_level))

struct mdf_funding {
    struct mdf_rec_hdr h;         /* type MDF_REC_FUNDING */
    struct mdf_dec mark_px;       /* mark price */
    struct mdf_dec index_px;      /* index price */
    struct mdf_dec est_settle_px; /* estimated settle price */
    struct mdf_dec funding_rate;  /* current funding rate */
    int64_t next_funding_time_ns; /* next funding time */
};

/* Event levels are syslog priorities (3 error, 4 warning, 5 notice, 6 info). */
enum mdf_event_code {
    MDF_EV_NONE = 0,
    MDF_EV_FEED_STARTED = 1,
    MDF_EV_FEED_STOPPING = 2,
    MDF_EV_FEED_START_FAILED = 3,
    MDF_EV_CONNECTION_ESTABLISHED = 4,
    MDF_EV_CONNECTION_RECONNECTING = 5,
    MDF_EV_CONNECTION_DISCONNECTED = 6,
    MDF_EV_CONNECTION_ERROR = 7,
    MDF_EV_FEED_STALE = 8,
    MDF_EV_BOOK_RESYNC = 9,
    MDF_EV_SUBSCRIPTION_SILENT = 10,
    MDF_EV_WATCHDOG_TRIGGERED = 11,
    MDF_EV_CONFIG_RELOADED = 12,
    MDF_EV_CONNECTION_ROTATING = 13, /* make-before-break replacement started */
    MDF_EV_SUBSCRIPTION_FAILED = 14, /* the venue refused a SUBSCRIBE */
    MDF_EV_REST_THROTTLED = 15,      /* REST 429 (back off) or 418 (banned: stopped) */
    MDF_EV_CANDLES_BACKFILLED = 16,  /* closed candles fetched over REST (warm-up or outage) */
    MDF_EV_FEED_RECOVERED = 17,      /* a stale or silent stream delivers again */
    MDF_EV_BOOK_LIVE = 18,           /* a book (re)synced and is LIVE */
    MDF_EV_VENUE_MAINTENANCE = 19,   /* the venue announced maintenance, or its end */
    MDF_EV_SEQUENCE_GAP = 20,        /* a connection's message sequence skipped: resubscribed */
    MDF_EV_DECODE_FAILING = 21,      /* a stream's messages keep failing to decode */
    MDF_EV_STREAM_DOWN = 22,         /* a stream's connection gave up: no data until it is back */
    MDF_EV_COUNT = 23,
};

struct mdf_event {
    struct mdf_rec_hdr h;          /* type MDF_REC_EVENT; h.symbol may be UINT32_MAX */
    uint16_t level;                /* syslog priority */
    uint16_t code;                 /* enum mdf_event_code */
    uint32_t connection;           /* daemon's connection id, 0 if none */
    char text[MDF_EVENT_TEXT_MAX]; /* short NUL-terminated text */
};

/* Any record, large enough for a book of MDF_BOOK_DEPTH_MAX levels. */
union mdf_record {
    struct mdf_rec_hdr h;
    struct mdf_trade trade;
    struct mdf_bbo bbo;
    struct mdf_ticker ticker;
    struct mdf_liquidation liquidation;
    struct mdf_candle candle;
    struct mdf_book book;
    struct mdf_funding funding;
    struct mdf_event event;
    uint8_t _max[MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)];
};

/* ----------------------------------------------------------------------------------------- */
/* State segment: venues, symbols, streams, latest-state tables, candle history.              */

struct mdf_venue_entry {
    char name[MDF_NAME_MAX]; /* e.g. "binance-spot" */
};

struct mdf_symbol_entry {
    uint32_t id;                     /* index in the symbol table */
    uint16_t venue;                  /* venue id */
    uint16_t _r;                     /* reserved */
    char native[MDF_SYMBOL_MAX];     /* venue-native name, e.g. "BTCUSDT" */
    char normalized[MDF_SYMBOL_MAX]; /* normalized name, e.g. "BTC/USDT", or "" */
    uint8_t _pad[24];                /* to 128 bytes */
};

/* mdf_stream_entry.flags bits (fixed when the stream is registered). */
#define MDF_STREAM_F_MINI 1u      /* a mini ticker (Binance miniTicker) */
#define MDF_STREAM_F_AGGREGATE 2u /* aggregate trades (Binance aggTrade) */

/* A stream of the daemon: one venue subscription (Binance stream, Bitfinex channel). Its latest
 * records are kept apart from every other stream's, so a symbol's depth5, depth20 and diff books,
 * or its ticker and mini ticker, or two Bitfinex books at P0 and P2, never overwrite each other.
 * Ids are never reused: a stream a reload removes is retired (its entries keep their last data,
 * books marked STALE) and revived under the same id if it comes back. */
struct mdf_stream_entry {
    uint32_t id;                    /* index in the stream table */
    uint32_t symbol;                /* symbol id */
    uint16_t venue;                 /* venue id */
    uint8_t type;                   /* enum mdf_rec_type it is for; MDF_REC_NONE = every type
                                       (synthetic sources) */
    uint8_t book_kind;              /* books: enum mdf_book_kind; else 0 */
    uint8_t precision;              /* Bitfinex books: P0..P4 as 0..4; else 0 */
    uint8_t interval;               /* candles: enum mdf_interval; else 0 */
    uint16_t levels;                /* books: levels asked (depth5: 5, Bitfinex len), 0 = all */
    uint32_t flags;                 /* MDF_STREAM_F_* */
    MDF_ATOMIC(uint32_t) retired;   /* atomic: 1 while removed by a reload, else 0 */
    char key[MDF_STREAM_KEY_MAX];   /* venue's name for it: "btcusdt@depth20@100ms",
                                       "book:tBTCUSD:P0:F0:25" */
    char kind[MDF_STREAM_KIND_MAX]; /* the key without the symbol: "depth20@100ms",
                                       "book:P0:F0:25", "ticker" */
    uint32_t types;                 /* bit 1u << t for each enum mdf_rec_type t it publishes:
                                       `type`, and the bbo of a Bitfinex ticker */
    uint32_t _r;                    /* reserved, 0 */
};

/* A seqlocked copy of one record: count odd while the writer updates it. */
struct mdf_latest {
    MDF_ATOMIC(uint64_t) seq; /* atomic: seqlock count */
    uint64_t data[];          /* the record, accessed as relaxed atomic 64-bit words */
};

/* A candle series directory entry (published before n_series is raised). */
struct mdf_series_entry {
    uint32_t symbol;   /* symbol id */
    uint32_t interval; /* enum mdf_interval */
};

/* A candle series: a seqlock over the whole series, the count of candles ever stored (the newest
 * is ordinal count-1, the oldest held max(0, count-candle_k)), then candle_k struct mdf_candle
 * slots of candle_slot bytes, ordinal n at slot n % candle_k. The newest candle may be updated
 * in place (a partial candle becoming closed). */
struct mdf_series {
    MDF_ATOMIC(uint64_t) seq;   /* atomic: seqlock count, odd while the writer changes it */
    MDF_ATOMIC(uint64_t) count; /* atomic: candles stored so far */
    uint8_t _pad[48];           /* own line */
};

/* The state descriptor, after the segment header. Latest records live per stream: stream s's
 * block is at latest_off + s * latest_stride and holds one struct mdf_latest per kept type at
 * lt_off[type]. The per-symbol calls read the stream that defaults_off names for (symbol, type):
 * MDF_ATOMIC(uint32_t)[max_symbols][MDF_REC_TYPE_COUNT], a stream id or MDF_STREAM_ID_NONE, chosen
 * by the writer among the symbol's live streams of that type (libmdfeed(3) gives the rule). */
struct mdf_state_desc {
    uint32_t max_venues;                 /* venue table size */
    uint32_t max_symbols;                /* symbol table size */
    uint32_t book_depth;                 /* levels per side in latest books and the books ring */
    uint32_t candle_k;                   /* candles kept per series */
    uint32_t max_series;                 /* candle series table size */
    uint32_t latest_stride;              /* bytes per stream in the latest table */
    uint32_t series_stride;              /* bytes per candle series */
    uint32_t candle_slot;                /* bytes per candle slot */
    uint64_t venues_off;                 /* struct mdf_venue_entry[max_venues] */
    uint64_t symbols_off;                /* struct mdf_symbol_entry[max_symbols] */
    uint64_t latest_off;                 /* per-stream latest blocks, latest_stride each */
    uint64_t series_dir_off;             /* struct mdf_series_entry[max_series] */
    uint64_t series_off;                 /* series blocks, series_stride each */
    uint32_t lt_off[MDF_REC_TYPE_COUNT]; /* offset in a latest block of each type's
                                            struct mdf_latest, 0 = not kept */
    uint32_t max_streams;                /* stream table size */
    uint64_t streams_off;                /* struct mdf_stream_entry[max_streams] */
    uint64_t defaults_off;               /* per-(symbol, type) default stream ids, see above */
    MDF_ATOMIC(uint32_t) n_venues;       /* atomic: venues published (release after the entry) */
    MDF_ATOMIC(uint32_t) n_symbols;      /* atomic: symbols published (release after the entry) */
    MDF_ATOMIC(uint32_t) n_series;       /* atomic: series published (release after the entry) */
    MDF_ATOMIC(uint32_t) n_streams;      /* atomic: streams published (release after the entry) */
    uint8_t _pad1[112];                  /* to 256 bytes */
};

#if !defined(__cplusplus) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct mdf_seg_header) == 256, "segment header is 4 lines");
_Static_assert(sizeof(struct mdf_ring_desc) == 256, "ring descriptor is 4 lines");
_Static_assert(sizeof(struct mdf_doorbell) == 128, "doorbell is 2 lines");
_Static_assert(sizeof(struct mdf_dec) == 16, "decimal is 16 bytes");
_Static_assert(sizeof(struct mdf_rec_hdr) == 56, "record header is 56 bytes");
_Static_assert(sizeof(struct mdf_symbol_entry) == 128, "symbol entry is 2 lines");
_Static_assert(sizeof(struct mdf_stream_entry) == 128, "stream entry is 2 lines");
_Static_assert(offsetof(struct mdf_state_desc, n_venues) == 128, "descriptor counts on line 3");
_Static_assert(sizeof(struct mdf_state_desc) == 256, "state descriptor is 4 lines");
_Static_assert(sizeof(MDF_ATOMIC(uint64_t)) == 8, "atomic words have the plain size");
_Static_assert(sizeof(struct mdf_book) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(struct mdf_trade) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(struct mdf_ticker) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(struct mdf_candle) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(struct mdf_event) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(struct mdf_liquidation) % 8 == 0, "records are whole 64-bit words");
_Static_assert(sizeof(union mdf_record) < 65536, "record size fits h.size");
#endif

#ifdef __cplusplus
}
#endif

#endif /* MDF_MDFEED_LAYOUT_H */
