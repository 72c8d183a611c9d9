/*
 * Bitfinex API v2 public WebSocket (src/venue/README.md §3): stream checks and keys, the control
 * messages mdfeed sends (conf, subscribe, unsubscribe, ping) and the decoder of what the venue
 * sends. Pure code: no I/O, no clock reads, no globals; buffers are the caller's.
 *
 * Channels map onto the venue-neutral stream types (venue.h): candles -> VS_KLINE, book ->
 * VS_DIFF (precision P0..P4 in vstream.prec, F0/F1 in speed_ms 0/2000, length 1/25/100/250 in
 * levels, 0 = 25), trades -> VS_TRADE, ticker -> VS_TICKER. Symbols are trading pairs only:
 * "tBTCUSD", "tAVAX:USD", "tBTCF0:USTF0". Funding symbols ("fUSD") and raw books (R0) are
 * refused for now.
 *
 * Channel ids. A data message names its channel only by the chanId the venue gave in its
 * "subscribed" event, and the shape of its payload depends on the channel's type. Decoding is
 * therefore two calls on one parse: bitfinex_decode() parses any message, decodes events, hb
 * and cs messages completely and, for other channel data, stops at BFX_DATA with chan_id, seq
 * and time set; the caller looks chan_id up in its own map and calls bitfinex_decode_data()
 * with the channel's stream to decode the payload (or drops it: the sequence number has been
 * read already). Each stream has a key ("book:tBTCUSD:P0:F0:25") that bitfinex_stream_key()
 * builds from a spec and the decoder builds from a "subscribed" (or "error") event's echo of
 * the request, so the daemon matches the event back to the stream it asked for.
 *
 * Trailing elements. The conf flags the connection has confirmed decide what follows a data
 * message's payload: with SEQ_ALL the connection's sequence number, then with TIMESTAMP the
 * venue's ms time: [CHAN, PAYLOAD, SEQ, MTS], [CHAN, "hb", SEQ, MTS], [CHAN, "cs", CS, SEQ, MTS],
 * [CHAN, "te", TRADE, SEQ, MTS]. They are read at their positions after the payload, so
 * elements the venue appends later are ignored. With both flags the sources disagree on the
 * order (tardis-dev reads the book's timestamp at index 3 after the sequence at 2; Bitfinex's
 * Node and Ruby clients read the sequence number last), so the decoder takes whichever of the
 * two is a plausible ms time (>= BFX_MTS_MIN) as the time and the other as the sequence
 * number: right in either order until a connection has carried 1e12 messages. Array lengths
 * are never hard-coded elsewhere either: a level, trade, candle or ticker may carry extra
 * trailing fields.
 *
 * Numbers. The venue sends decimals as JSON numbers, or as strings with DEC_S. Both are read
 * exactly from their text, so 1e-8 and "1e-8", -0.5 and "-0.5" give identical mdf_dec values.
 * The decoder runs on the jsmn backend only (one asked for jansson is refused): jansson once
 * kept numbers only as doubles; it now reads them from their text too (json.h), but nothing
 * tests this decoder on it. Integers (ids, times, counts, chanId, sequence, checksum) are accepted
 * in either form too. TIME_S (times as date strings) is not supported.
 */
#ifndef MDF_VENUE_BITFINEX_H
#define MDF_VENUE_BITFINEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

/* Conf flags (src/venue/README.md 3.4), summed into {"event":"conf","flags":N}. */
#define BFX_F_DEC_S 8u            /* decimals as strings */
#define BFX_F_TIME_S 32u          /* times as date strings: not supported, refused */
#define BFX_F_TIMESTAMP 32768u    /* a venue ms time after each data message's payload */
#define BFX_F_SEQ_ALL 65536u      /* a per-connection sequence number on every data message */
#define BFX_F_OB_CHECKSUM 131072u /* [CHAN,"cs",CRC] after book changes (bfx_book.h) */
#define BFX_F_SUPPORTED (BFX_F_DEC_S | BFX_F_TIMESTAMP | BFX_F_SEQ_ALL | BFX_F_OB_CHECKSUM)

/* Info codes (src/venue/README.md 3.3). */
#define BFX_INFO_RECONNECT 20051   /* the server restarts: reconnect (make-before-break) */
#define BFX_INFO_MAINT_START 20060 /* maintenance begins: pause until 20061 */
#define BFX_INFO_MAINT_END 20061   /* maintenance over: resubscribe everything, resync books */

/* Error codes (src/venue/README.md 3.3). Rely on codes only: the texts change. */
#define BFX_ERR_UNKNOWN_EVENT 10000      /* unknown event */
#define BFX_ERR_UNKNOWN_PAIR 10001       /* unknown pair */
#define BFX_ERR_SUB_FAILED 10300         /* subscription failed (generic) */
#define BFX_ERR_ALREADY_SUBSCRIBED 10301 /* already subscribed (harmless) */
#define BFX_ERR_UNKNOWN_CHANNEL 10302    /* unknown channel */
#define BFX_ERR_CHANNEL_LIMIT 10305      /* reached the limit of open channels */
#define BFX_ERR_UNSUB_FAILED 10400       /* unsubscription failed (generic) */
#define BFX_ERR_NOT_SUBSCRIBED 10401     /* not subscribed */

#define BFX_WS_PATH "/ws/2"         /* appended to the profile's ws_url */
#define BFX_KEY_MAX 96u             /* a stream key's length, NUL included */
#define BFX_PREC_R0 5u              /* vstream.prec for raw books: refused by stream_check */
#define BFX_BOOK_LEN_DEFAULT 25u    /* book length that vstream.levels 0 stands for */
#define BFX_F1_MS 2000u             /* vstream.speed_ms of F1 books (F0 is 0) */
#define BFX_CHECKSUM_LEVELS 25u     /* levels per side the book checksum covers */
#define BFX_MTS_MIN 1000000000000LL /* ms times are at least this (2001-09-09): see above */

/* ------------------------------------------------------------------------------------------ */
/* Streams and control messages                                                               */

/* Checks that Bitfinex serves s: type (kline, diff_depth, trade, ticker), symbol (a 't', then
 * upper-case letters, digits and at most one inner ':'), candle interval (1m 5m 15m 30m 1h 3h
 * 6h 12h 1D 1W 14D 1M), book precision 0..4, speed 0 or 2000, length 0/1/25/100/250; options a
 * type does not have must be 0. Returns 0 or -EINVAL with err_set() saying why ("bitfinex:
 * funding symbol fUSD is not supported yet"). */
int bitfinex_stream_check(const struct venue_profile *p, const struct vstream *s);

/* Writes the stream's key with a NUL: "book:tBTCUSD:P0:F0:25" (length spelt out, 0 -> 25),
 * "candles:trade:1m:tBTCUSD" (1W spelt "1W"), "trades:tBTCUSD", "ticker:tBTCUSD". Checks s
 * first. Returns the length, -EINVAL or -ENOSPC (cap < BFX_KEY_MAX always suffices). */
int bitfinex_stream_key(const struct venue_profile *p, const struct vstream *s, char *buf,
                        size_t cap);

/* Writes the subscribe request for s with a NUL:
 * {"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25"},
 * {"event":"subscribe","channel":"candles","key":"trade:1m:tBTCUSD"},
 * {"event":"subscribe","channel":"trades","symbol":"tBTCUSD"} or the same for "ticker".
 * Returns the length, -EINVAL (s not served) or -ENOSPC. */
int bitfinex_subscribe_msg(const struct venue_profile *p, const struct vstream *s, char *buf,
                           size_t cap);

/* Writes {"event":"unsubscribe","chanId":N}. Returns the length, -EINVAL (negative id) or
 * -ENOSPC. */
int bitfinex_unsubscribe_msg(int64_t chan_id, char *buf, size_t cap);

/* Writes {"event":"conf","flags":N}. Returns the length, -EINVAL (a flag outside
 * BFX_F_SUPPORTED) or -ENOSPC. */
int bitfinex_conf_msg(uint32_t flags, char *buf, size_t cap);

/* Writes what the flags of `asked` that the venue did not confirm in `got` cost, as one text
 * ("books are not checksummed; missed messages cannot be detected"), "" when none is missing.
 * Returns the length or -ENOSPC. */
int bitfinex_conf_missing(uint32_t asked, uint32_t got, char *buf, size_t cap);

/* Writes {"event":"ping","cid":N} (answered by a pong with the same cid). Returns the length,
 * -EINVAL (negative cid) or -ENOSPC. */
int bitfinex_ping_msg(int64_t cid, char *buf, size_t cap);

/* Writes the normalized name of a trading symbol: "tBTCUSD" -> "BTC/USD" (six characters split
 * 3+3), "tAVAX:USD" -> "AVAX/USD", "tTESTBTC:TESTUSD" -> "TESTBTC/TESTUSD" (split at the ':').
 * Returns the length, -EINVAL (not a trading symbol, or no ':' and not six characters: the
 * split is unknown) or -ENOSPC. */
int bitfinex_normalize_symbol(const char *sym, char *buf, size_t cap);

/* Bitfinex's spelling of a candle interval ("1m", "1h", "1D", "1W", "14D", "1M"), or NULL if it
 * has no such candles. */
const char *bitfinex_interval_name(int interval);

/* The interval of a Bitfinex spelling (s[0..len)), "7D" accepted for 1W; 0 if unknown. */
int bitfinex_interval_from_name(const char *s, size_t len);

/* Book precision of a config or echo spelling: "P0".."P4" -> 0..4, "R0" -> BFX_PREC_R0; -1 if
 * unknown. */
int bitfinex_prec_from_name(const char *s, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

/* What a message turned out to be. */
enum bfx_kind {
    BFX_NONE = 0,         /* nothing (after an error) */
    BFX_INFO,             /* info event: version, platform_status, code, text */
    BFX_CONF,             /* conf reply: ok, flags */
    BFX_SUBSCRIBED,       /* subscribed: chan_id, spec and key from the echo */
    BFX_UNSUBSCRIBED,     /* unsubscribed: chan_id, ok */
    BFX_ERROR,            /* error event: code, text; spec and key when the echo names one */
    BFX_PONG,             /* pong: cid, ts_ns */
    BFX_HB,               /* [CHAN,"hb"]: chan_id, seq, ts_ns (liveness, not data) */
    BFX_CHECKSUM,         /* [CHAN,"cs",CRC]: chan_id, checksum, seq, ts_ns */
    BFX_DATA,             /* channel data not decoded yet: call bitfinex_decode_data() */
    BFX_BOOK_SNAPSHOT,    /* levels[0..n_levels): the whole book */
    BFX_BOOK_UPDATE,      /* levels[0]: one level set or removed */
    BFX_TRADES_SNAPSHOT,  /* trades[0..n_trades): recent trades, oldest first */
    BFX_TRADE,            /* "te": trades[0], a new trade */
    BFX_TRADE_UPDATE,     /* "tu": trades[0], the same trade once written (duplicate of a te) */
    BFX_TICKER,           /* ticker */
    BFX_CANDLES_SNAPSHOT, /* candles[0..n_candles): oldest first, all but the newest closed */
    BFX_CANDLE,           /* candles[0]: the open candle (or a late change of the last one) */
    BFX_IGNORED,          /* valid, of no use to mdfeed (auth, unknown event...): text says */
};

/* One book level as the venue sent it (exact decimals). */
struct bfx_level {
    struct mdf_dec px;     /* price (> 0) */
    struct mdf_dec amount; /* amount with its API sign: > 0 bid, < 0 ask (count 0: 1 or -1) */
    uint32_t count;        /* orders at the price; 0 removes the level */
    bool ask;              /* amount < 0: the ask side */
};

/* A decoded message. Pointers are borrowed from the decoder and valid until its next decode
 * call. Fields a kind does not use hold their reset values (given in brackets). */
struct bfx_msg {
    enum bfx_kind kind;               /* what this is */
    int64_t chan_id;                  /* data, hb, cs, subscribed, unsubscribed: chanId [-1] */
    int64_t seq;                      /* data, hb, cs: SEQ_ALL sequence number [-1: none] */
    int64_t ts_ns;                    /* data, hb, cs: TIMESTAMP time; pong: ts [0: none] */
    int code;                         /* info: info code; error: error code [0] */
    int version;                      /* info: API version [-1] */
    int platform_status;              /* info: platform.status, 1 operative, 0 maintenance [-1] */
    uint32_t flags;                   /* conf: the flags the venue confirmed [0] */
    bool ok;                          /* conf, unsubscribed: status "OK" [false] */
    int64_t cid;                      /* pong: cid [-1] */
    int32_t checksum;                 /* cs: the venue's CRC-32 as a signed int [0] */
    struct vstream spec;              /* subscribed, error: the stream the echo names [type 0] */
    char key[BFX_KEY_MAX];            /* subscribed, error: its key as bitfinex_stream_key()
                                         writes it; "" if the echo names no stream mdfeed serves */
    char text[160];                   /* info, error: msg; subscribed: the echo when key is "";
                                         ignored: what it was [""] */
    const struct bfx_level *levels;   /* book: levels in message order */
    uint32_t n_levels;                /* their count */
    const struct mdf_trade *trades;   /* trades: records (h.type/size/flags/times/venue_seq
                                         set, h.venue and h.symbol 0 for the caller) */
    uint32_t n_trades;                /* their count */
    const struct mdf_candle *candles; /* candles: records, interval from the stream */
    uint32_t n_candles;               /* their count */
    const struct mdf_ticker *ticker;  /* ticker: the record (change_pct = relative * 100) */
};

struct bfx_decoder;

/* Allocates a decoder (control path): room for max_items levels, trades or candles in one
 * snapshot (a 250-level book snapshot has up to 500 levels) and messages up to max_message
 * bytes. backend must be VDEC_JSMN. Returns NULL with err_set() on failure. */
struct bfx_decoder *bitfinex_decoder_new(enum vdec_backend backend, uint32_t max_items,
                                         size_t max_message);

/* Frees d. NULL is fine. */
void bitfinex_decoder_free(struct bfx_decoder *d);

/* Decodes one text message received at recv_ns under the conf flags the connection has
 * confirmed (BFX_F_*) into *out (records get h.recv_time_ns = recv_ns). For BFX_DATA the
 * message stays parsed in d: msg must stay unchanged until bitfinex_decode_data() or the next
 * bitfinex_decode(). Returns 0, -EBADMSG (not JSON, or not a shape the venue sends), -ERANGE (a
 * number that does not fit: never rounded), -E2BIG (too large or too many items) or -EINVAL
 * (unsupported flags), with err_set() naming the field; out->kind is BFX_NONE after an error. */
int bitfinex_decode(struct bfx_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                    uint32_t flags, struct bfx_msg *out);

/* Decodes the payload of the BFX_DATA message that the last bitfinex_decode() on d left in out,
 * for the channel's stream spec (type, and interval for candles): book levels, trades, ticker or
 * candles. Trades: AMOUNT > 0 is a buy, < 0 a sell (side), qty = |AMOUNT|, MTS is tx_time;
 * candles [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME] with close_time = the next interval's start - 1
 * ms. exch_time_ns of each record is the TIMESTAMP time (0 without it), venue_seq the sequence
 * number (0 without it). Values are range-checked with the rules shared with Binance
 * (vcheck.h): level and trade prices > 0, candles consistent (prices > 0 within [low, high],
 * volume >= 0), a ticker's high not below its low, else -ERANGE naming the field and the value;
 * a ticker whose bid is at or above its ask (both > 0) carries MDF_TICKER_F_CROSSED. Same returns
 * as bitfinex_decode(), and -EINVAL if out is not a pending BFX_DATA of d or spec is no Bitfinex
 * stream type. The message is used up either way. */
int bitfinex_decode_data(struct bfx_decoder *d, const struct vstream *spec, struct bfx_msg *out);

#endif /* MDF_VENUE_BITFINEX_H */
