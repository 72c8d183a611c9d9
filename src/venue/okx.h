/*
 * OKX v5 public WebSocket (src/venue/README.md §4.2): channels, endpoints, the control messages
 * mdfeed sends (subscribe, unsubscribe, the text "ping") and the decoder of what the venue sends.
 * Pure code: no I/O, no clock reads, no globals; buffers are the caller's.
 *
 * Channels map onto the venue-neutral stream types (venue.h) and records, each routed to its
 * endpoint (okx_route()):
 *   books           VS_DIFF (levels 0: 400)    /ws/v5/public    local book (book/okx_book.h)
 *   books5          VS_DEPTH (levels 5)        /ws/v5/public    the venue's top 5, whole each time
 *   bbo-tbt         VS_BOOKTICKER              /ws/v5/public    mdf_bbo
 *   trades          VS_TRADE                   /ws/v5/public    mdf_trade
 *   tickers         VS_TICKER                  /ws/v5/public    mdf_ticker
 *   mark-price      VS_MARKPRICE               /ws/v5/public    mdf_funding (mark_px)
 *   funding-rate    VS_MARKPRICE, prec 1       /ws/v5/public    mdf_funding (funding_rate,
 *                   (OKX_PREC_FUNDING)                          next_funding_time = fundingTime)
 *   candle<bar>     VS_KLINE                   /ws/v5/business  mdf_candle (confirm "1" = closed)
 * venue.h has no stream type for a funding rate alone; until it gets one, the funding-rate
 * channel is VS_MARKPRICE with vstream.prec = OKX_PREC_FUNDING, so the two channels are two
 * streams that both fill the funding record, each with the fields it carries. No record type
 * was added.
 *
 * Candles: bars of 6 h and longer are asked for in their UTC-aligned form ("6Hutc", "1Dutc",
 * "1Wutc", "1Mutc"): OKX's plain "1D" is aligned to Hong Kong time (UTC+8).
 *
 * Quantities: spot sizes and volumes are in the base currency; on SWAP, FUTURES and OPTION
 * instruments (an instId with two or more '-': "BTC-USDT-SWAP", "BTC-USD-250328") trade and
 * book sizes are in contracts, as the venue sends them (converting needs the instrument's
 * contract value). Candle and ticker volumes take the base-currency field where the venue has
 * one (spot vol / vol24h, derivatives volCcy / volCcy24h) and quote volume where it has one
 * (spot volCcy / volCcy24h, derivatives volCcyQuote).
 *
 * Numbers are read exactly whether sent as strings (the venue's form) or JSON numbers; ids and
 * ms times as digit strings or numbers.
 */
#ifndef MDF_VENUE_OKX_H
#define MDF_VENUE_OKX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

/* The endpoint a channel is served on. */
enum okx_route {
    OKX_PUBLIC = 0,   /* /ws/v5/public */
    OKX_BUSINESS = 1, /* /ws/v5/business: candles */
};

#define OKX_HOST "wss://ws.okx.com:8443"         /* production */
#define OKX_HOST_DEMO "wss://wspap.okx.com:8443" /* demo trading */
#define OKX_PING_AFTER_S 25u     /* send "ping" after this much silence (the venue cuts at 30) */
#define OKX_IDLE_CUT_S 30u       /* the venue closes a connection silent this long */
#define OKX_CONN_PER_S 3u        /* connection attempts per second per IP */
#define OKX_REQS_PER_HOUR 480u   /* subscribe/unsubscribe/login requests per connection per hour */
#define OKX_BOOKS_DEPTH 400u     /* levels per side of the books channel (vstream.levels 0) */
#define OKX_PREC_FUNDING 1u      /* vstream.prec of the funding-rate channel (see above) */
#define OKX_CHANNEL_MAX 32u      /* a channel name's length, NUL included */
#define OKX_CHECKSUM_LEVELS 25u  /* levels per side the book checksum covers */
#define OKX_KEY_MAX 64u          /* a stream key "channel:instId", NUL included */
#define OKX_ID_MAX 33u           /* a request id (1..32 letters and digits), NUL included */
#define OKX_ERR_REQ_LIMIT 60014  /* error: over the requests per connection per hour */
#define OKX_ERR_NO_CHANNEL 60018 /* error: "Wrong URL or channel:C,instId:I doesn't exist" */

/* The route of stream s. */
enum okx_route okx_route(const struct vstream *s);

/* Writes the URL of a route: "wss://ws.okx.com:8443/ws/v5/public" (demo: wspap). Returns the
 * length or -ENOSPC. */
int okx_ws_url(enum okx_route r, bool demo, char *buf, size_t cap);

/* Checks that OKX serves s: type and options as above, instId (upper-case letters, digits and
 * '-', not starting or ending with '-'), candle interval (1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h
 * 1d 3d 1w 1M). Returns 0 or -EINVAL with err_set(). */
int okx_stream_check(const struct vstream *s);

/* Writes the channel name of s ("books", "candle1Dutc", "funding-rate") with a NUL. Returns
 * the length, -EINVAL or -ENOSPC. */
int okx_channel(const struct vstream *s, char *buf, size_t cap);

/* Writes the key mdfeed names stream s by, "channel:instId" ("books:BTC-USDT",
 * "candle1Dutc:BTC-USDT-SWAP"), with a NUL: the key okx_decode() gives a message whose arg names
 * that stream (struct okx_msg.key). Returns the length, -EINVAL or -ENOSPC. */
int okx_stream_key(const struct vstream *s, char *buf, size_t cap);

/* Writes the common spelling of an instId, "" when it is not one: spot "BTC-USDT" ->
 * "BTC/USDT"; swaps, futures and options in the unified notation BASE/QUOTE:SETTLE[-rest] (the
 * settlement currency is the quote for USDT and USDC contracts, else the base):
 * "BTC-USDT-SWAP" -> "BTC/USDT:USDT", "BTC-USD-SWAP" -> "BTC/USD:BTC", "BTC-USD-250328" ->
 * "BTC/USD:BTC-250328", "BTC-USD-250328-90000-C" -> "BTC/USD:BTC-250328-90000-C". A swap is
 * never spelt like the spot pair it follows: one OKX venue serves both. */
void okx_symbol_common(const char *inst, char *out, size_t cap);

/* Parses a channel name and instId back into *s. Returns 0 or -EINVAL. */
int okx_stream_parse(const char *channel, size_t clen, const char *inst, size_t ilen,
                     struct vstream *s);

/* Writes {"id":"<id>","op":"subscribe"|"unsubscribe","args":[{"channel":..,"instId":..},...]}
 * for streams s[0..n), which must share one route. id may be NULL (no id member); it must be
 * 1..32 letters and digits. One request costs one of OKX_REQS_PER_HOUR whatever n is. Returns
 * the length, -EINVAL (n 0, a stream not served, mixed routes, bad id) or -ENOSPC. */
int okx_control_msg(bool subscribe, const struct vstream *s, size_t n, const char *id, char *buf,
                    size_t cap);

/* Writes the keepalive text "ping" (a text frame, not JSON). Returns 4 or -ENOSPC. */
int okx_ping_msg(char *buf, size_t cap);

/* The protocol table of the okx profiles (venue.h): routes VR_ROOT (/ws/v5/public) and
 * VR_MARKET (/ws/v5/business, candles) under the profile's url; stream names okx_stream_key(). */
extern const struct venue_proto okx_proto;

/* How the health checks may judge the silence of stream s (venue.h's evidence rule), from the
 * push frequencies in OKX's channel docs: books and books5 every 100 ms when changed, bbo-tbt
 * 10 ms, tickers 100 ms, candles within 1 s (unverified), all silent while nothing changes;
 * mark-price 200 ms when changed and every 10 s regardless, funding-rate every 30 to 90 s
 * (both guaranteed); trades real time, proven by trade id. Candles carry no push time (only
 * the candle's open time): their progress is their arrival (VP_RECV_TIME). */
void okx_stream_liveness(const struct vstream *s, struct vliveness *l);

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

/* What a message turned out to be. */
enum okx_kind {
    OKX_NONE = 0, /* nothing (after an error) */
    OKX_PONG,     /* the text "pong" */
    OKX_EVENT,    /* {"event":...}: event, code, text, spec (from arg), conn_id */
    OKX_BOOK,     /* books / books5: snapshot, ids, checksum, bids, asks */
    OKX_BBO,      /* bbo-tbt: bbo */
    OKX_TRADES,   /* trades[0..n_trades) */
    OKX_TICKER,   /* ticker */
    OKX_FUNDING,  /* funding (mark-price or funding-rate) */
    OKX_CANDLES,  /* candles[0..n_candles) */
    OKX_IGNORED,  /* valid, of no use to mdfeed: text says what */
};

/* The event of an OKX_EVENT. */
enum okx_event {
    OKX_EV_OTHER = 0,   /* another event (channel-conn-count, login, ...): text has its name */
    OKX_EV_SUBSCRIBE,   /* a subscription confirmed: spec */
    OKX_EV_UNSUBSCRIBE, /* an unsubscription confirmed: spec */
    OKX_EV_ERROR,       /* a request refused: code, text (msg) */
    OKX_EV_NOTICE,      /* the venue's notice (code 64008: the connection will be closed for a
                           service upgrade: reconnect, make-before-break) */
};

#define OKX_NOTICE_UPGRADE 64008 /* notice: service upgrade, reconnect */

/* One decoded message. Pointers are borrowed from the decoder, valid until its next decode. */
struct okx_msg {
    enum okx_kind kind;               /* what this is */
    struct vstream spec;              /* data, subscribe/unsubscribe: the stream of arg */
    bool spec_known;                  /* event: arg (or a 60018 error's msg) named a stream
                                         mdfeed serves */
    char key[OKX_KEY_MAX];            /* data, and events with spec_known: "channel:instId"
                                         (okx_stream_key()); "" otherwise */
    uint32_t key_len;                 /* its length */
    char id[OKX_ID_MAX];              /* event: the request id echoed ("" if none) */
    enum okx_event event;             /* event: which */
    int code;                         /* event: code (0 if none) */
    char conn_id[40];                 /* event: connId ("" if none) */
    char text[160];                   /* event: msg or the event's name; ignored: what */
    bool snapshot;                    /* book: action "snapshot" (books5 always) */
    bool have_seq;                    /* book: seqId and prevSeqId were sent */
    int64_t seq_id;                   /* book: seqId */
    int64_t prev_seq_id;              /* book: prevSeqId (-1 on a snapshot) */
    int32_t checksum;                 /* book: checksum, 0 when none (retired) */
    int64_t ts_ns;                    /* book: ts */
    const struct vlevel *bids, *asks; /* book: levels in message order */
    uint32_t n_bids, n_asks;          /* their counts */
    const struct mdf_trade *trades;   /* trades (h.venue, h.symbol left 0) */
    uint32_t n_trades;                /* their count */
    const struct mdf_candle *candles; /* candles, interval from the channel */
    uint32_t n_candles;               /* their count */
    struct mdf_ticker ticker;         /* ticker */
    struct mdf_funding funding;       /* funding */
    struct mdf_bbo bbo;               /* bbo */
};

struct okx_decoder;

/* Allocates a decoder (control path): room for max_items levels per side, trades or candles
 * in one message, and messages up to max_message bytes. Returns NULL with err_set(). */
struct okx_decoder *okx_decoder_new(uint32_t max_items, size_t max_message);

/* Frees d. NULL is fine. */
void okx_decoder_free(struct okx_decoder *d);

/*
 * Decodes one text message received at recv_ns into *out (records get h.recv_time_ns =
 * recv_ns, h.exch_time_ns = the venue's ts). A data message holds one item for books, bbo-tbt,
 * tickers and the funding channels (more are refused) and one or more for trades and
 * candles. Trades: side is the taker's. Values are range-checked (vcheck.h): trade prices and
 * sizes > 0, level prices > 0 and sizes >= 0, candles consistent, ticker prices and volumes >=
 * 0 and high >= low, mark price > 0; a crossed bbo or ticker is flagged, not refused. Returns
 * 0, -EBADMSG (not JSON or a shape the venue sends), -ERANGE (a number that does not fit or a
 * value out of range) or -E2BIG (too large, too many items), with err_set() naming the field;
 * out->kind is OKX_NONE after an error, out->key still the stream's when its arg was read.
 */
int okx_decode(struct okx_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
               struct okx_msg *out);

#endif /* MDF_VENUE_OKX_H */
