/*
 * The config rules Bitfinex declares (venue/vconf.h): symbols kept exactly as written (case
 * matters: "tBTCUSD") and checked by the venue's stream check, the venue's interval spellings
 * ("1D", "1W" or "7D", "14D") beside mdfeed's, a 25-channel hard limit per connection, and the
 * book channel's three options, as switches (book_prec, book_freq, book_len) and on diff_depth
 * streams (prec, freq, len). Keys for REST, speeds in ms, partial books and the channels
 * Bitfinex lacks are refused with the key to use instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "venue/bitfinex.h"
#include "venue/vconf.h"

/* Keys Bitfinex has no use for. */
static const struct venue_refusal refused[] = {
    {"rest_url", VC_ENTRY, false,
     "Bitfinex books come over the stream and the daemon makes no REST calls to Bitfinex; "
     "remove it"},
    {"snapshot_limit", VC_ENTRY, false,
     "Bitfinex books come over the stream, with no REST snapshot; their length is book_len"},
    {"rest_weight_share", VC_ENTRY, false, "the daemon makes no REST calls to Bitfinex; remove it"},
    {"candle_warmup", VC_ENTRY, false,
     "Bitfinex candle history comes with the channel's snapshot, without REST; remove it"},
    {"book_speed", VC_ENTRY, false,
     "Bitfinex books have no speed in ms; use book_freq (\"F0\" realtime or \"F1\" every 2 s)"},
    {"book_ticker", VC_ENTRY, true,
     "Bitfinex has no book-ticker channel; ticker = true publishes the best bid and offer too "
     "(its ticker channel gives both records)"},
    {"mini_ticker", VC_ENTRY, true,
     "Bitfinex has no mini ticker; ticker = true publishes the 24 h figures"},
    {"funding", VC_ENTRY, true,
     "not supported on Bitfinex (trading pairs only: its funding and derivatives status "
     "channels are not read)"},
    {"liquidations", VC_ENTRY, true,
     "not supported on Bitfinex (its liquidation feed, status \"liq:global\", is not read)"},
    {"speed", VC_STREAM, false,
     "Bitfinex streams have no speed in ms; a diff_depth stream takes freq (\"F0\" realtime or "
     "\"F1\" every 2 s)"},
    {"levels", VC_STREAM, false,
     "Bitfinex has no partial-book (depth) streams; a diff_depth stream's book length is len "
     "(1, 25, 100 or 250)"},
};

/* A book precision, "P0".."P4", into prec (0..4). */
static int parse_prec(const struct vconf_val *v, struct vstream *s)
{
    int prec = bitfinex_prec_from_name(v->str, strlen(v->str));

    if (prec == (int)BFX_PREC_R0)
        return err_set(-EINVAL, "raw books (R0) are not supported; use \"P0\" .. \"P4\"");
    if (prec < 0 || prec > 4)
        return err_set(
            -EINVAL, "unknown precision \"%s\" (\"P0\", \"P1\", \"P2\", \"P3\" or \"P4\")", v->str);
    s->prec = (uint8_t)prec;
    return 0;
}

/* A book frequency, "F0" (realtime) or "F1" (every 2 s), into speed_ms (0 or BFX_F1_MS). */
static int parse_freq(const struct vconf_val *v, struct vstream *s)
{
    if (strcmp(v->str, "F0") == 0 || strcmp(v->str, "F1") == 0) {
        s->speed_ms = v->str[1] == '1' ? (uint16_t)BFX_F1_MS : 0;
        return 0;
    }
    return err_set(-EINVAL, "unknown frequency \"%s\" (\"F0\" realtime or \"F1\" every 2 s)",
                   v->str);
}

/* A book length, 1, 25, 100 or 250 as an integer or a string, into levels. */
static int parse_len(const struct vconf_val *v, struct vstream *s)
{
    long long n = v->i;

    if (v->type == VCT_STRING) {
        char *end;

        errno = 0;
        n = strtoll(v->str, &end, 10);
        if (!*v->str || *end || errno || v->str[0] == '+' || v->str[0] == ' ')
            n = -1;
    }
    if (n != 1 && n != 25 && n != 100 && n != 250) {
        if (v->type == VCT_STRING)
            return err_set(-EINVAL, "\"%s\" is not a book length (1, 25, 100 or 250)", v->str);
        return err_set(-EINVAL, "%lld is not a book length (1, 25, 100 or 250)", n);
    }
    s->levels = (uint8_t)n;
    return 0;
}

#define PREC_WHAT "a precision string \"P0\" .. \"P4\""
#define FREQ_WHAT "a frequency string \"F0\" or \"F1\""
#define LEN_WHAT "1, 25, 100 or 250 (an integer or a string)"
#define LEN_TYPES (VCT_BIT(VCT_STRING) | VCT_BIT(VCT_INT))

/* The book channel's options: for the order_book switch, and on a diff_depth stream. Unset,
 * a book is P0, F0 and 25 levels (diff_levels). */
static const struct venue_opt opts[] = {
    {"book_prec", VC_ENTRY, VCT_BIT(VCT_STRING), PREC_WHAT, VS_NONE, parse_prec},
    {"book_freq", VC_ENTRY, VCT_BIT(VCT_STRING), FREQ_WHAT, VS_NONE, parse_freq},
    {"book_len", VC_ENTRY, LEN_TYPES, LEN_WHAT, VS_NONE, parse_len},
    {"prec", VC_STREAM, VCT_BIT(VCT_STRING), PREC_WHAT, VS_DIFF, parse_prec},
    {"freq", VC_STREAM, VCT_BIT(VCT_STRING), FREQ_WHAT, VS_DIFF, parse_freq},
    {"len", VC_STREAM, LEN_TYPES, LEN_WHAT, VS_DIFF, parse_len},
};

/* Symbols are kept exactly as written and checked by the venue: a trade stream's check
 * checks nothing but its symbol. */
static int symbol(const struct venue_profile *p, const char *text, char *out, char *note,
                  size_t note_cap)
{
    struct vstream probe;

    note[0] = '\0';
    memset(&probe, 0, sizeof(probe));
    probe.type = VS_TRADE;
    if (strlen(text) >= sizeof(probe.symbol))
        return err_set(-EINVAL, "\"%s\" is longer than %u characters", text, MDF_SYMBOL_MAX - 1);
    snprintf(probe.symbol, sizeof(probe.symbol), "%s", text);
    err_clear();
    if (bitfinex_stream_check(p, &probe) < 0)
        return -EINVAL; /* its message says why */
    memcpy(out, probe.symbol, sizeof(probe.symbol));
    return 0;
}

/* The venue's spellings ("1D", "1W" or "7D", "14D"; "1M" is a month there too), then mdfeed's
 * ("1d", "1w", "14d"). */
static int interval(const char *text)
{
    int iv = bitfinex_interval_from_name(text, strlen(text));

    if (iv <= MDF_IV_NONE)
        iv = mdf_interval_from_name(text);
    return iv <= MDF_IV_NONE || iv >= MDF_IV_COUNT ? MDF_IV_NONE : iv;
}

/* order_book numbers: none, the book channel is the whole aggregated book ("diff"). */
static int order_book(const struct venue_profile *p, long long n, struct vstream *book)
{
    if (n == 5 || n == 10 || n == 20)
        return err_set(-EINVAL,
                       "%s has no partial-book stream; use \"diff\" (the channel's full "
                       "aggregated book) and book_len (1, 25, 100 or 250 levels)",
                       p->name);
    return err_set(-EINVAL, "expected \"none\" or \"diff\" on %s", p->name);
}

/* The config's words for the types Bitfinex lacks and a config user might look for (the ticker
 * channel stands in for two of them), then the venue's own check. */
static int stream_check(const struct venue_profile *p, const struct vstream *s)
{
    switch (s->type) {
    case VS_DEPTH:
        return err_set(-EINVAL,
                       "%s has no partial-book stream; use diff_depth (the channel's full "
                       "aggregated book) with len (1, 25, 100 or 250)",
                       p->name);
    case VS_BOOKTICKER:
        return err_set(-EINVAL,
                       "%s has no book-ticker channel; a ticker stream publishes the best bid "
                       "and offer too",
                       p->name);
    case VS_MINITICKER:
        return err_set(-EINVAL, "%s has no mini ticker; a ticker stream gives the 24 h figures",
                       p->name);
    default:
        return bitfinex_stream_check(p, s);
    }
}

/* Trades, candles, the book channel and the ticker: no aggregate trades, no book ticker, no
 * partial books, no funding or liquidations read. */
static const struct vconf_rules bfx_rules = {
    .trades = VS_TRADE,
    .agg_trades = false,
    .book_ticker = false,
    .depth = false,
};

static const struct vconf_rules *rules(const struct venue_profile *p)
{
    return &bfx_rules;
}

const struct venue_conf bitfinex_conf = {
    .refused = refused,
    .n_refused = sizeof(refused) / sizeof(refused[0]),
    .opts = opts,
    .n_opts = sizeof(opts) / sizeof(opts[0]),
    .symbol_what = "a symbol string such as \"tBTCUSD\"",
    .symbol = symbol,
    .interval = interval,
    .interval_help = "serves 1m 5m 15m 30m 1h 3h 6h 12h 1D 1W 14D 1M; 7D is 1W, and 1d 1w 14d "
                     "are accepted too",
    .rules = rules,
    .diff_levels = BFX_BOOK_LEN_DEFAULT,
    .order_book = order_book,
    .order_book_what = "",
    .stream_check = stream_check,
    .conn_cap_hard = true,
    .keepalive = "heartbeat",
};
