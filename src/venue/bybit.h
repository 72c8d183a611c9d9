/*
 * Bybit v5 public WebSocket (src/venue/README.md §4.1), spot, linear and inverse: topics, the
 * control messages mdfeed sends (subscribe, unsubscribe, ping) and the decoder of what the venue
 * sends. Pure code: no I/O, no clock reads, no globals; buffers are the caller's.
 *
 * Topics map onto the venue-neutral stream types (venue.h):
 *   publicTrade.{S}                 VS_TRADE       -> mdf_trade (one per fill, up to 1024 a
 * message) orderbook.{1|50|200|1000}.{S}   VS_DIFF        -> a local book (book/bybit_book.h);
 * levels is 1, 50 or 200, and 0 stands for 1000 (a vstream's levels is 8 bits) kline.{1..M}.{S}
 * VS_KLINE       -> mdf_candle (confirm = MDF_CANDLE_F_CLOSED) tickers.{S} VS_TICKER      ->
 * mdf_ticker, and on linear and inverse also mdf_funding (mark, index, funding rate, next funding
 * time), after the merge below allLiquidation.{S}              VS_FORCEORDER  -> mdf_liquidation
 * (linear and inverse); the older liquidation.{S} decodes the same Open interest, turnover's 1 h
 * fields, tick direction, basis and the pre-market fields of a ticker have no field in mdf_ticker
 * or mdf_funding and are dropped; no record type was added.
 *
 * Tickers on linear and inverse come as one snapshot and then deltas that hold only the fields
 * that changed. The decoder does not merge (it keeps no state across messages): it gives the
 * fields a message holds (struct bybit_ticker: a presence mask and the values), and
 * bybit_ticker_apply() merges them into a struct bybit_ticker_state the caller keeps per
 * stream, as it keeps a book per book stream. Spot tickers are snapshots only, which the same
 * merge reads as a whole.
 *
 * Trade ids: spot sends a decimal trade id, linear and inverse a UUID. A decimal id is
 * trade_id; a UUID, which does not fit int64, is folded into a positive 63-bit FNV-1a hash
 * (stable, unique in practice, but not ordered): use h.venue_seq (the trade's cross sequence
 * "seq", when sent) for order.
 *
 * Numbers are read exactly whether sent as strings (the venue's form) or JSON numbers. Times
 * are ms, as numbers or digit strings.
 */
#ifndef MDF_VENUE_BYBIT_H
#define MDF_VENUE_BYBIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

/* Bybit's product lines, each its own WebSocket path. */
enum bybit_category {
    BYBIT_SPOT = 0,    /* /v5/public/spot */
    BYBIT_LINEAR = 1,  /* /v5/public/linear: USDT and USDC perpetuals and futures */
    BYBIT_INVERSE = 2, /* /v5/public/inverse: coin-margined contracts */
    BYBIT_CATEGORY_COUNT = 3,
};

#define BYBIT_HOST "wss://stream.bybit.com"                 /* production */
#define BYBIT_HOST_TESTNET "wss://stream-testnet.bybit.com" /* testnet */
#define BYBIT_SPOT_ARGS_MAX 10u     /* topics per subscribe request on spot */
#define BYBIT_ARGS_CHARS_MAX 21000u /* total length of a request's args (every category) */
#define BYBIT_PING_INTERVAL_S 20u   /* {"op":"ping"} period the venue recommends */
#define BYBIT_IDLE_CUT_S 600u       /* the venue cuts a connection silent this long */
#define BYBIT_CONN_ATTEMPTS 500u    /* new connections per BYBIT_CONN_WINDOW_S per domain */
#define BYBIT_CONN_WINDOW_S 300u    /* that window */
#define BYBIT_TOPIC_MAX 64u         /* a topic's length, NUL included */
#define BYBIT_BOOK_DEPTH_FULL 1000u /* the depth vstream.levels 0 stands for */
#define BYBIT_REQ_ID_MAX 48u        /* req_id kept from a reply, NUL included */

/* The name of a category ("spot", "linear", "inverse"), NULL if out of range. */
const char *bybit_category_name(enum bybit_category cat);

/* Writes the stream URL of a category: "wss://stream.bybit.com/v5/public/linear" (testnet:
 * stream-testnet). Returns the length, -EINVAL or -ENOSPC. */
int bybit_ws_url(enum bybit_category cat, bool testnet, char *buf, size_t cap);

/* Checks that the category serves s: type (trade, diff_depth, kline, ticker; force_order on
 * linear and inverse), symbol (upper-case letters and digits, 1..MDF_SYMBOL_MAX-1), interval
 * (1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M), book depth (levels 1, 50, 200 or 0 for 1000);
 * options a type does not have must be 0. Returns 0 or -EINVAL with err_set(). */
int bybit_stream_check(enum bybit_category cat, const struct vstream *s);

/* The interval of a Bybit spelling s[0..len) ("1", "60", "D", "W", "M"), MDF_IV_NONE if none. */
int bybit_interval_from_name(const char *s, size_t len);

/* Writes the topic of s ("orderbook.50.BTCUSDT", "kline.D.BTCUSDT") with a NUL. Returns the
 * length, -EINVAL (s not served) or -ENOSPC. */
int bybit_topic(enum bybit_category cat, const struct vstream *s, char *buf, size_t cap);

/* Parses a topic back into *s (liquidation.{S} reads as allLiquidation). Returns 0 or
 * -EINVAL. */
int bybit_topic_parse(const char *topic, size_t len, struct vstream *s);

/* How many of topics[0..n) (from the first) fit one subscribe request: at most
 * BYBIT_SPOT_ARGS_MAX on spot, and args of at most BYBIT_ARGS_CHARS_MAX characters (each topic
 * counted with its quotes and comma). 0 only if n is 0 or the first topic alone is too long. */
size_t bybit_batch_size(enum bybit_category cat, const char *const *topics, size_t n);

/* Writes {"req_id":"<req_id>","op":"subscribe"|"unsubscribe","args":["t1",...]}. req_id may be
 * NULL (no req_id member); it must be printable ASCII without '"' or '\\'. Returns the length,
 * -EINVAL (n == 0, a bad topic or req_id), -E2BIG (more than bybit_batch_size() allows) or
 * -ENOSPC. */
int bybit_control_msg(enum bybit_category cat, bool subscribe, const char *const *topics, size_t n,
                      const char *req_id, char *buf, size_t cap);

/* Writes {"req_id":"<req_id>","op":"ping"} (no req_id member if NULL). Returns the length,
 * -EINVAL or -ENOSPC. */
int bybit_ping_msg(const char *req_id, char *buf, size_t cap);

/* How the health checks may judge the silence of stream s (venue.h's evidence rule), from the
 * push frequencies of src/venue/README.md §4.1: books every 10 / 20 / 100 (spot 200) / 200 ms for
 * depth 1 / 50 / 200 / 1000, depth 1 re-sent every 3 s unchanged (guaranteed); tickers 100 ms (spot
 * 50); klines within 60 s; trades real time, proven by trade id on spot and by time elsewhere
 * (linear ids are hashes, not ordered); liquidations prove nothing. */
void bybit_stream_liveness(enum bybit_category cat, const struct vstream *s, struct vliveness *l);

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

/* What a message turned out to be. */
enum bybit_kind {
    BYB_NONE = 0,     /* nothing (after an error) */
    BYB_REPLY,        /* op reply: op, success, text (ret_msg), req_id */
    BYB_PONG,         /* reply to our ping (success + ret_msg "pong", or op "pong") */
    BYB_TRADES,       /* trades[0..n_trades) in message order */
    BYB_BOOK,         /* book snapshot or delta: snapshot, update_id, seq, bids, asks */
    BYB_CANDLES,      /* candles[0..n_candles) */
    BYB_TICKER,       /* ticker: the fields the message holds (merge with bybit_ticker_apply) */
    BYB_LIQUIDATIONS, /* liqs[0..n_liqs) */
    BYB_IGNORED,      /* valid, of no use to mdfeed: text says what */
};

/* Ticker fields (struct bybit_ticker.v index; bit i of have). */
enum bybit_tk_field {
    BYT_LAST = 0,              /* lastPrice -> last_px */
    BYT_PREV24,                /* prevPrice24h -> open_px */
    BYT_HIGH,                  /* highPrice24h -> high_px */
    BYT_LOW,                   /* lowPrice24h -> low_px */
    BYT_VOLUME,                /* volume24h -> volume */
    BYT_TURNOVER,              /* turnover24h -> quote_volume */
    BYT_PCT,                   /* price24hPcnt (a fraction) -> change_pct (times 100) */
    BYT_BID,                   /* bid1Price -> bid_px */
    BYT_BID_SZ,                /* bid1Size -> bid_qty */
    BYT_ASK,                   /* ask1Price -> ask_px */
    BYT_ASK_SZ,                /* ask1Size -> ask_qty */
    BYT_TICKER_END,            /* fields before this go to mdf_ticker, after it to mdf_funding */
    BYT_MARK = BYT_TICKER_END, /* markPrice -> mark_px */
    BYT_INDEX,                 /* indexPrice -> index_px */
    BYT_FUNDING,               /* fundingRate -> funding_rate */
    BYT_SETTLE,                /* predictedDeliveryPrice -> est_settle_px (delivery contracts) */
    BYT_N,
};
#define BYT_NEXT_FUNDING 31u /* bit of have for nextFundingTime (next_funding_ns) */

/* The ticker fields one message holds. */
struct bybit_ticker {
    uint32_t have;           /* bit i: field i present; bit BYT_NEXT_FUNDING: next funding */
    struct mdf_dec v[BYT_N]; /* values of the present fields */
    int64_t next_funding_ns; /* nextFundingTime */
    bool snapshot;           /* type "snapshot" (replaces every field) or "delta" */
};

/* One decoded message. Pointers are borrowed from the decoder, valid until its next decode. */
struct bybit_msg {
    enum bybit_kind kind;               /* what this is */
    const char *topic;                  /* data: the topic as sent (borrowed; kept after an
                                           error once read, so a failure names its stream) */
    size_t topic_len;                   /* its length */
    struct vstream spec;                /* data: the stream the topic names */
    int64_t ts_ns;                      /* data: ts, the venue's push time (0 if none) */
    int64_t cts_ns;                     /* book: cts, the matching engine time (0 if none) */
    bool snapshot;                      /* book, ticker: type "snapshot" (else "delta") */
    int64_t update_id;                  /* book: u */
    int64_t seq;                        /* book: seq, the cross sequence (0 if none) */
    const struct vlevel *bids, *asks;   /* book: levels in message order */
    uint32_t n_bids, n_asks;            /* their counts */
    const struct mdf_trade *trades;     /* trades (h.venue, h.symbol left 0) */
    uint32_t n_trades;                  /* their count */
    const struct mdf_candle *candles;   /* candles, interval from the topic */
    uint32_t n_candles;                 /* their count */
    const struct mdf_liquidation *liqs; /* liquidations */
    uint32_t n_liqs;                    /* their count */
    struct bybit_ticker ticker;         /* ticker fields */
    bool success;                       /* reply: success */
    char op[16];                        /* reply: op ("subscribe", "unsubscribe", "ping") */
    char req_id[BYBIT_REQ_ID_MAX];      /* reply: req_id ("" if none) */
    char text[160];                     /* reply: ret_msg; ignored: what it was */
};

struct bybit_decoder;

/* Allocates a decoder (control path) for category cat: room for max_items levels per side,
 * trades, candles or liquidations in one message, and messages up to max_message bytes.
 * Returns NULL with err_set() on failure. */
struct bybit_decoder *bybit_decoder_new(enum bybit_category cat, uint32_t max_items,
                                        size_t max_message);

/* Frees d. NULL is fine. */
void bybit_decoder_free(struct bybit_decoder *d);

/*
 * Decodes one text message received at recv_ns into *out (records get h.recv_time_ns =
 * recv_ns, h.exch_time_ns = ts, h.tx_time_ns = the fill or update time). Trade: S "Buy"/"Sell"
 * is the taker side; liquidation: S is the liquidated position's side, so the liquidation
 * order's side is the opposite ("Buy" = a long closed by a sell). Values are range-checked
 * (vcheck.h): trade and liquidation price and size > 0, levels price > 0 and size >= 0,
 * candles consistent, ticker prices and volumes >= 0 and high >= low, mark and index > 0.
 * Returns 0, -EBADMSG (not JSON, not a shape the venue sends), -ERANGE (a number that does
 * not fit or a value out of range), -E2BIG (too large, too many items), with err_set() naming
 * the field; out->kind is BYB_NONE after an error.
 */
int bybit_decode(struct bybit_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                 struct bybit_msg *out);

/* ------------------------------------------------------------------------------------------ */
/* Ticker merge (venue/bybit_ticker.c)                                                        */

/* A ticker stream's merged state. Fields are read-only for callers. */
struct bybit_ticker_state {
    bool live;               /* a snapshot has been merged */
    struct bybit_ticker cur; /* every field known so far (have: which) */
    uint64_t ignored;        /* deltas dropped because no snapshot came before them */
};

#define BYT_OUT_TICKER 1  /* bybit_ticker_apply filled the ticker record */
#define BYT_OUT_FUNDING 2 /* ... and/or the funding record */

/* Empties the state (no snapshot yet). */
void bybit_ticker_init(struct bybit_ticker_state *st);

/* Merges a BYB_TICKER message: a snapshot replaces every field, a delta overwrites the fields
 * it holds. Fills *t when a ticker field changed or on a snapshot, *f when a funding field
 * changed (or on a snapshot holding one), each complete from the merged state, with h times
 * from m and recv_ns. Returns a mask of BYT_OUT_*, 0 when there is nothing to publish (a delta
 * before any snapshot, counted in ignored, or one holding no field mdfeed keeps), or -EINVAL if m
 * is not a ticker, -ERANGE if the merged state is inconsistent (high below low). */
int bybit_ticker_apply(struct bybit_ticker_state *st, const struct bybit_msg *m, int64_t recv_ns,
                       struct mdf_ticker *t, struct mdf_funding *f);

#endif /* MDF_VENUE_BYBIT_H */
