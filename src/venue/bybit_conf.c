/*
 * The config rules Bybit declares (venue/vconf.h): symbols upper-cased with a notice (as
 * Binance's), Bybit's interval spellings ("1", "60", "D") beside mdfeed's, order books by depth
 * (order_book = 1, 50, 200 or 1000; "diff" is orderbook.200; a diff_depth stream's depth is
 * len), funding from the tickers topic on linear and inverse, liquidations there too. Keys for
 * REST, speeds in ms and the channels Bybit lacks are refused with what to use instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "venue/bybit.h"
#include "venue/vconf.h"

/* Keys Bybit has no use for. */
static const struct venue_refusal refused[] = {
    {"rest_url", VC_ENTRY, false,
     "Bybit books come over the stream and the daemon makes no REST calls to Bybit; remove it"},
    {"snapshot_limit", VC_ENTRY, false,
     "Bybit books come over the stream, with no REST snapshot; their depth is order_book (1, "
     "50, 200 or 1000)"},
    {"rest_weight_share", VC_ENTRY, false, "the daemon makes no REST calls to Bybit; remove it"},
    {"candle_warmup", VC_ENTRY, false,
     "Bybit candle history over REST is not fetched yet; remove it"},
    {"book_speed", VC_ENTRY, false,
     "Bybit books have no speed in ms; their push period follows the depth (order_book)"},
    {"book_prec", VC_ENTRY, false, "a Bitfinex setting; Bybit books have no precision"},
    {"book_freq", VC_ENTRY, false, "a Bitfinex setting; Bybit books have no frequency"},
    {"book_len", VC_ENTRY, false,
     "a Bitfinex setting; on Bybit order_book is the depth (1, 50, "
     "200 or 1000)"},
    {"book_ticker", VC_ENTRY, true,
     "Bybit has no book-ticker topic; ticker = true gives the best bid and offer in the ticker "
     "record, and order_book = 1 the top of the book"},
    {"mini_ticker", VC_ENTRY, true,
     "Bybit has no mini ticker; ticker = true gives the 24 h "
     "figures"},
    {"speed", VC_STREAM, false, "Bybit streams have no speed in ms"},
    {"levels", VC_STREAM, false,
     "Bybit has no partial-book (depth) streams; a diff_depth stream's depth is len (1, 50, 200 "
     "or 1000)"},
    {"prec", VC_STREAM, false, "a Bitfinex diff_depth option; Bybit books have no precision"},
    {"freq", VC_STREAM, false, "a Bitfinex diff_depth option; Bybit books have no frequency"},
};

/* A depth the venue serves: 1, 50, 200 or 1000 (kept as 0: levels is 8 bits). */
static int depth_levels(long long n, uint8_t *levels)
{
    if (n != 1 && n != 50 && n != 200 && n != 1000)
        return err_set(-EINVAL, "Bybit books have depth 1, 50, 200 or 1000, not %lld", n);
    *levels = n == 1000 ? 0 : (uint8_t)n;
    return 0;
}

/* A diff_depth stream's depth ("len"). */
static int parse_len(const struct vconf_val *v, struct vstream *s)
{
    return depth_levels(v->i, &s->levels);
}

static const struct venue_opt opts[] = {
    {"len", VC_STREAM, VCT_BIT(VCT_INT), "a depth 1, 50, 200 or 1000", VS_DIFF, parse_len},
};

/* Copies a symbol upper-cased into out: 1..47 letters or digits. A symbol given in lower case
 * is read the way the venue spells it, with a notice. */
static int symbol(const struct venue_profile *p, const char *text, char *out, char *note,
                  size_t note_cap)
{
    return vconf_upper_symbol(text, false, "Bybit", out, note, note_cap);
}

/* Bybit's spellings ("1", "60", "D", "W", "M"), then mdfeed's ("1m", "1h", "1d"). */
static int interval(const char *text)
{
    int iv = bybit_interval_from_name(text, strlen(text));

    if (iv <= MDF_IV_NONE)
        iv = mdf_interval_from_name(text);
    return iv <= MDF_IV_NONE || iv >= MDF_IV_COUNT ? MDF_IV_NONE : iv;
}

/* order_book numbers: the depth of the orderbook topic. */
static int order_book(const struct venue_profile *p, long long n, struct vstream *book)
{
    if (depth_levels(n, &book->levels) < 0)
        return err_set(-EINVAL, "expected \"none\", \"diff\", 1, 50, 200 or 1000");
    book->type = VS_DIFF;
    return 0;
}

static const struct vconf_rules spot_rules = {
    .trades = VS_TRADE,
};

/* Mark, index, funding rate and next funding time come in the tickers topic. */
static const struct vstream contract_funding[] = {{.type = VS_TICKER}};

static const struct vconf_rules contract_rules = {
    .trades = VS_TRADE,
    .funding = contract_funding,
    .n_funding = sizeof(contract_funding) / sizeof(contract_funding[0]),
    .liquidations = true,
};

static const struct vconf_rules *rules(const struct venue_profile *p)
{
    return p->variant == BYBIT_SPOT ? &spot_rules : &contract_rules;
}

const struct venue_conf bybit_conf = {
    .refused = refused,
    .n_refused = sizeof(refused) / sizeof(refused[0]),
    .opts = opts,
    .n_opts = sizeof(opts) / sizeof(opts[0]),
    .symbol_what = "a symbol string such as \"BTCUSDT\"",
    .symbol = symbol,
    .interval = interval,
    .interval_help = "serves 1 3 5 15 30 60 120 240 360 720 D W M, or 1m 3m 5m 15m 30m 1h 2h 4h "
                     "6h 12h 1d 1w 1M",
    .rules = rules,
    .diff_levels = 200,
    .order_book = order_book,
    .order_book_what = ", 1, 50, 200 or 1000",
    .stream_check = NULL,
    .conn_cap_hard = false,
    .keepalive = "ping",
};
