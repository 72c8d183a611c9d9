/*
 * Venues: what the daemon knows about each venue (endpoints, limits: static profiles) and the
 * venue-neutral vocabulary the rest of the daemon speaks (stream specs, decoded messages).
 *
 * Decoders are pure: bytes in, one struct vmsg out, no I/O, no clock reads, no globals, no
 * allocation per message (the decoder context preallocates everything at init). Input is
 * untrusted: every field's type and range is checked, and a bad message is an error code with
 * err_set(), never a crash. The JSON parser behind a decoder is swappable (enum vdec_backend).
 */
#ifndef MDF_VENUE_VENUE_H
#define MDF_VENUE_VENUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

/* Venue families (one decoder file each). Only a venue's own files read it: everything else
 * goes through the profile's protocol table (struct venue_proto). */
enum venue_family {
    VF_BINANCE = 1,  /* Binance spot and USD-M futures: venue/binance.c */
    VF_BITFINEX = 2, /* Bitfinex API v2 public WebSocket: venue/bitfinex.c (bitfinex.h) */
    VF_BYBIT = 3,    /* Bybit v5 public: venue/bybit.c (bybit.h) */
    VF_OKX = 4,      /* OKX v5 public: venue/okx.c (okx.h) */
};

struct venue_profile;
struct vstream;
struct vliveness;
struct venue_conf; /* the config rules a venue declares (venue/vconf.h) */

/* Where a stream is served: Binance USD-M futures routes book data to /public and the rest to
 * /market since 2026; spot has a single root. */
enum venue_route {
    VR_ROOT = 0,   /* no prefix (spot) */
    VR_PUBLIC = 1, /* /public: depth, depthN, bookTicker */
    VR_MARKET = 2, /* /market: aggTrade, kline, markPrice, ticker, miniTicker, forceOrder */
    VR_COUNT = 3,
};

/* A venue's fixed facts (src/venue/README.md), overridable per venue in the config where noted.
 * Bitfinex (src/venue/README.md 3.1) reads some fields its own way: ws_url has no "/ws/2" path (the
 * daemon adds it), ping_interval_s is the 15 s per-channel heartbeat period (the venue sends no
 * WebSocket pings), pong_timeout_s and max_age_s are 0 (the venue cuts neither), and snapshot_limit
 * is the default book length (books come over the stream, not REST). */
struct venue_profile {
    const char *name;                /* config and shm venue name, e.g. "binance-spot" */
    enum venue_family family;        /* decoder family (the venue's own files only) */
    const struct venue_proto *proto; /* the venue's protocol: naming, routing, liveness, config */
    bool futures;                    /* USD-M: routed paths, pu chain, futures REST */
    uint8_t variant;              /* the venue's own sub-kind, read by its files only (Bybit: enum
                                     bybit_category) */
    const char *ws_url;           /* default stream base: scheme, host, port (config "url") */
    const char *rest_url;         /* default REST base (config "rest_url") */
    uint32_t streams_per_conn;    /* default streams per connection (1024 spot, 200 futures,
                                     25 Bitfinex channels) */
    uint32_t msgs_per_sec;        /* venue's limit on client messages per connection */
    uint32_t conn_attempts;       /* connection attempts allowed per conn_window_s per IP */
    uint32_t conn_window_s;       /* that window (300 s; 60 s Bitfinex) */
    uint32_t rest_weight_per_min; /* REST request weight per minute (6000 spot, 2400 futures) */
    uint32_t ping_interval_s;     /* venue's server ping period (20 spot, 180 futures; Bitfinex:
                                     its 15 s heartbeat period) */
    uint32_t pong_timeout_s;      /* venue drops us after this long without a pong; 0 = never */
    uint32_t max_age_s;           /* venue cuts connections at this age (86400); 0 = never */
    uint32_t snapshot_limit;      /* default REST depth limit for book snapshots */
    uint32_t klines_limit;        /* most candles one REST klines call returns (1000 / 1500) */
};

/* Writes the common spelling "BTC/USDT" of a concatenated symbol "BTCUSDT" (upper case), split
 * at the longest quote asset it ends with; "" when none matches. For venues that spell symbols
 * the way Binance does (Binance, Bybit). */
void venue_split_quote(const char *native, char *out, size_t cap);

/* The profile called name, or NULL. */
const struct venue_profile *venue_profile_find(const char *name);

/* The i-th known profile, or NULL past the end (for listings and docs). */
const struct venue_profile *venue_profile_at(size_t i);

/* Stream types, venue-neutral. */
enum vstream_type {
    VS_NONE = 0,
    VS_TRADE,      /* every trade */
    VS_AGGTRADE,   /* aggregate trades */
    VS_KLINE,      /* candles of one interval */
    VS_DEPTH,      /* the venue's partial book: top 5, 10 or 20 levels */
    VS_DIFF,       /* diff depth: maintained as a full local book */
    VS_BOOKTICKER, /* best bid and offer */
    VS_TICKER,     /* 24 h rolling ticker */
    VS_MINITICKER, /* 24 h mini ticker */
    VS_MARKPRICE,  /* mark price, index, funding rate (futures) */
    VS_FORCEORDER, /* liquidations (futures) */
    VS_COUNT,
};

/* One subscription: symbol x type x options. Compared with vstream_equal.
 *
 * Bitfinex (VF_BITFINEX) maps its channels onto the same types: candles -> VS_KLINE, book ->
 * VS_DIFF (a full local book kept from the snapshot and its updates), trades -> VS_TRADE, ticker
 * -> VS_TICKER. Its books have three options: precision in `prec` (0..4 for P0..P4), frequency
 * in `speed_ms` (0 = F0 realtime, 2000 = F1 batched every 2 s) and length in `levels` (1, 25,
 * 100 or 250 price points per side; 0 = the default 25). Binance leaves prec 0 and gives
 * VS_DIFF no levels, so these readings never change what a Binance spec means. */
struct vstream {
    uint8_t type;                /* enum vstream_type */
    uint8_t interval;            /* VS_KLINE: enum mdf_interval */
    uint8_t levels;              /* VS_DEPTH: 5, 10 or 20; Bitfinex VS_DIFF: book length */
    uint8_t prec;                /* Bitfinex VS_DIFF: book precision 0..4 (P0..P4); else 0 */
    uint16_t speed_ms;           /* update speed; 0 = the venue's default for the type */
    uint16_t _r2;                /* reserved, 0 */
    char symbol[MDF_SYMBOL_MAX]; /* venue-native: Binance upper case "BTCUSDT"; Bitfinex as
                                    written, "tBTCUSD" */
};

/* Name of a stream type as the config spells it ("trade", "agg_trade", "kline", "depth",
 * "diff_depth", "book_ticker", "ticker", "mini_ticker", "mark_price", "force_order"), and back
 * (VS_NONE if unknown). */
const char *vstream_type_name(int type);
int vstream_type_find(const char *name);

/* True if a and b are the same subscription (for VS_DIFF also the same Bitfinex precision and
 * length, with length 0 and 25 the same; for VS_MARKPRICE the same prec, which tells OKX's
 * funding-rate from its mark-price). */
bool vstream_equal(const struct vstream *a, const struct vstream *b);

/* Longest time in ms a venue takes to push a change of stream s: its documented update speed
 * (kline 2000 ms spot, 250 ms futures; depth, ticker and markPrice their speed), 0 for
 * real-time streams. A speed is a maximum, not a heartbeat (src/venue/README.md 0.1): it says how
 * soon a change arrives, never that a message comes when nothing changed. */
uint32_t vstream_cadence_ms(const struct venue_profile *p, const struct vstream *s);

/* What a stream's own messages prove about its progress, so that activity seen elsewhere (a
 * trade of the symbol) can show that it missed something. */
enum vproof {
    VP_NONE = 0,       /* nothing: its silence is never evidence (liquidations) */
    VP_TRADE_ID = 1,   /* the last trade id it reflects (trade t, aggTrade l, kline L, ticker L) */
    VP_VENUE_TIME = 2, /* the venue's event time, at or after every trade it reflects */
    VP_RECV_TIME = 3,  /* only its local arrival (no id, no time: spot bookTicker, depthN) */
};

/* How the health checks may judge the silence of a stream (the evidence rule, mdfeedd(8)). */
struct vliveness {
    uint32_t guaranteed_ms; /* the venue pushes at least this often even when nothing changes
                               (Binance futures markPrice; every Bitfinex channel's 15 s hb);
                               0 = silent while the symbol does not trade */
    uint32_t period_ms;     /* longest delay from a change to its push (vstream_cadence_ms) */
    uint8_t proof;          /* enum vproof: how its progress is read */
    bool gives_id;          /* its messages show the symbol's last trade id (evidence) */
    bool gives_time;        /* its messages show trade times (evidence) */
    bool follows_trades;    /* every trade of the symbol changes it (so it owes a message) */
};

/* Fills *l for stream s on venue p (p->proto->liveness; a NULL profile is read as Binance
 * spot). */
void vstream_liveness(const struct venue_profile *p, const struct vstream *s, struct vliveness *l);

/* A venue protocol: everything the rest of the daemon asks of a venue without doing I/O, as one
 * table in the spirit of libuv's handle types. A venue's file defines one (binance_proto in
 * venue/binance.c, ...) and its profiles point at it; the daemon's side of the same venue (its
 * feed adapter: decoder, books, control messages, notices) is found by `name`
 * (daemon/adapter.h). Every member is set. */
struct venue_proto {
    const char *name;              /* "binance", "bitfinex": names the daemon's adapter too */
    const struct venue_conf *conf; /* config rules the venue declares (venue/vconf.h) */
    /* Checks that the venue serves s; 0 or -EINVAL with err_set() saying why. */
    int (*stream_check)(const struct venue_profile *p, const struct vstream *s);
    /* Writes the key the venue's replies and data name s by (Binance "btcusdt@trade",
     * Bitfinex "trades:tBTCUSD"): its length, or negative with err_set(). */
    int (*stream_name)(const struct venue_profile *p, const struct vstream *s, char *buf,
                       size_t cap);
    /* Writes the common spelling of a native symbol ("BTC/USDT"), "" when unknown. */
    void (*symbol_common)(const char *native, char *out, size_t cap);
    /* The endpoint that serves s (VR_ROOT for a venue with one). */
    enum venue_route (*route)(const struct venue_profile *p, const struct vstream *s);
    /* Writes the WebSocket URL of route r under base (the config's url): length or -ENOSPC. */
    int (*ws_url)(const struct venue_profile *p, const char *base, enum venue_route r, char *buf,
                  size_t cap);
    /* The evidence rule of s (see struct vliveness); *l is zeroed first. */
    void (*liveness)(const struct venue_profile *p, const struct vstream *s, struct vliveness *l);
    /* Longest push delay of a change of s in ms, 0 for real-time streams. */
    uint32_t (*cadence_ms)(const struct venue_profile *p, const struct vstream *s);
};

extern const struct venue_proto binance_proto;  /* venue/binance.c */
extern const struct venue_proto bitfinex_proto; /* venue/bitfinex.c */
extern const struct venue_proto bybit_proto;    /* venue/bybit.c */

/* ------------------------------------------------------------------------------------------ */
/* Binance stream names, paths and requests (venue/binance.c). All pure; buffers are caller's. */

/* Checks that the venue serves s (type, interval, levels, speed; symbol characters). Returns 0
 * or -EINVAL with err_set() saying why ("binance-spot has no mark_price stream"). */
int binance_stream_check(const struct venue_profile *p, const struct vstream *s);

/* Writes the stream name ("btcusdt@depth@100ms", "btcusdt@kline_1m", "btcusdt@markPrice@1s")
 * with a NUL. Returns its length or -ENOSPC. */
int binance_stream_name(const struct venue_profile *p, const struct vstream *s, char *buf,
                        size_t cap);

/* Parses a stream name back into *s (symbol upper-cased). Returns 0 or -EINVAL. */
int binance_stream_parse(const struct venue_profile *p, const char *name, size_t len,
                         struct vstream *s);

/* The route that serves s (VR_ROOT for spot, VR_PUBLIC or VR_MARKET for futures). */
enum venue_route binance_stream_route(const struct venue_profile *p, const struct vstream *s);

/* Writes the combined-stream URL: base ("wss://host:port", no trailing slash needed) + route
 * prefix + "/stream?streams=" + names joined by '/'. n may be 0 ("/stream" alone, streams
 * added by SUBSCRIBE). Returns the length or -ENOSPC. */
int binance_ws_url(const struct venue_profile *p, const char *base, enum venue_route route,
                   const char *const *names, size_t n, char *buf, size_t cap);

/* Writes {"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[...],"id":id}. Returns the length or
 * -ENOSPC. */
int binance_control_msg(bool subscribe, const char *const *names, size_t n, uint64_t id, char *buf,
                        size_t cap);

/* Writes the REST depth snapshot URL (spot /api/v3/depth, futures /fapi/v1/depth) and returns
 * its length (or -ENOSPC); *weight gets the request weight for that limit. */
int binance_depth_url(const struct venue_profile *p, const char *rest_base, const char *symbol,
                      uint32_t limit, char *buf, size_t cap, uint32_t *weight);

/* Writes the REST klines URL (spot /api/v3/klines, futures /fapi/v1/klines) for candles with
 * open time in [start_ms, end_ms], at most limit; *weight gets its weight. */
int binance_klines_url(const struct venue_profile *p, const char *rest_base, const char *symbol,
                       int interval, int64_t start_ms, int64_t end_ms, uint32_t limit, char *buf,
                       size_t cap, uint32_t *weight);

/* ------------------------------------------------------------------------------------------ */
/* Decoding. */

/* JSON parser behind a decoder. */
enum vdec_backend {
    VDEC_JSMN = 0,    /* jsmn tokenizer over the message in place: no allocation (default) */
    VDEC_JANSSON = 1, /* jansson tree (allocates per message; kept for comparison) */
};

/* What a message turned out to be. */
enum vmsg_kind {
    VM_NONE = 0,
    VM_RECORD,   /* rec holds a finished record: trade, bbo, ticker, candle, funding, liq. */
    VM_DIFF,     /* a depth diff: ids, times and levels below */
    VM_PARTIAL,  /* the venue's top-N book (depth5/10/20): ids, times and levels below */
    VM_REPLY,    /* a control reply: reply_id, reply_code (0 = success), text */
    VM_SHUTDOWN, /* serverShutdown: the venue will close this connection; reconnect now */
    VM_IGNORED,  /* a valid message the daemon has no use for (counted, not an error) */
};

/* One price level as decoded (exact decimals). */
struct vlevel {
    struct mdf_dec px;  /* price */
    struct mdf_dec qty; /* quantity; zero removes the level in a diff */
};

/* A decoded message. Borrowed pointers point into the message or into the decoder context and
 * are valid until the next decode call on that context. */
struct vmsg {
    enum vmsg_kind kind;       /* what this is */
    const char *stream;        /* combined wrapper's stream name (borrowed), NULL if none */
    size_t stream_len;         /* its length */
    struct vstream spec;       /* the stream parsed from the name (type VS_NONE if no name) */
    union mdf_record rec;      /* VM_RECORD: h.type, h.size, h.flags, times, venue_seq and every
                                  field set; h.venue and h.symbol left 0 for the caller */
    int64_t first_id;          /* VM_DIFF/VM_PARTIAL: U (first update id), 0 if none */
    int64_t last_id;           /* VM_DIFF/VM_PARTIAL: u or lastUpdateId */
    int64_t prev_id;           /* VM_DIFF futures: pu (last_id of the previous event); -1 if none */
    int64_t exch_time_ns;      /* VM_DIFF/VM_PARTIAL/VM_SHUTDOWN: E, 0 if none */
    int64_t tx_time_ns;        /* VM_DIFF/VM_PARTIAL: T, 0 if none */
    const struct vlevel *bids; /* VM_DIFF/VM_PARTIAL: bids in message order (borrowed) */
    const struct vlevel *asks; /* VM_DIFF/VM_PARTIAL: asks in message order (borrowed) */
    uint32_t n_bids, n_asks;   /* their counts */
    int64_t reply_id;          /* VM_REPLY: the request id (-1 if not an integer) */
    int reply_code;            /* VM_REPLY: 0 success, else the venue's error code */
    char text[160];            /* VM_REPLY: error msg; VM_IGNORED: what it was (short) */
};

struct vdecoder;

/* Allocates a decoder for profile p (control path): room for max_levels levels per side (a REST
 * snapshot of 5000 levels needs 5000) and messages up to max_message bytes. Returns NULL with
 * err_set() on failure. */
struct vdecoder *vdec_new(const struct venue_profile *p, enum vdec_backend backend,
                          uint32_t max_levels, size_t max_message);
void vdec_free(struct vdecoder *d);

/* Decodes one WebSocket text message (combined or raw framing) received at recv_ns into *out
 * (out->rec.h.recv_time_ns = recv_ns). Returns 0, or -EBADMSG (not JSON, or not a shape the
 * venue sends), -ERANGE (a number that does not fit: never rounded; or a value no market can
 * have, vcheck.h: a trade, liquidation, mark or index price or a trade quantity that is not
 * positive, a level's price not positive or quantity negative, a candle's price not positive or
 * outside [low, high], its high below its low, ids other than both -1 or first <= last, a
 * negative volume, count or ticker price, a ticker's high below its low) or -E2BIG (more levels
 * than the decoder holds), with err_set() naming the field and the value. A crossed or locked
 * best bid and offer (bid >= ask, both > 0) is no error: the record carries
 * MDF_BBO_F_CROSSED (bookTicker) or MDF_TICKER_F_CROSSED (24hrTicker). */
int binance_decode(struct vdecoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                   struct vmsg *out);

/* Decodes a REST depth snapshot body into out (kind VM_PARTIAL, last_id = lastUpdateId, futures
 * E and T when present). Same returns. */
int binance_decode_snapshot(struct vdecoder *d, const uint8_t *body, size_t len, struct vmsg *out);

/* Decodes a REST klines body (array of arrays) into out[0..max): closed candles only (close time
 * < now_ns), fields as a kline stream gives them and range-checked the same way, h.flags
 * CLOSED|BACKFILLED, interval set, h.recv_time_ns = recv_ns. *n gets the count. Same returns. */
int binance_decode_klines(struct vdecoder *d, const uint8_t *body, size_t len, int interval,
                          int64_t now_ns, int64_t recv_ns, struct mdf_candle *out, size_t max,
                          size_t *n);

/* Decodes a REST error body {"code":-1003,"msg":"..."}: *code and msg (NUL-terminated, cut).
 * Returns 0 or -EBADMSG. */
int binance_decode_error(const uint8_t *body, size_t len, int *code, char *msg, size_t cap);

#endif /* MDF_VENUE_VENUE_H */
