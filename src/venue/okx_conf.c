/*
 * The config rules OKX declares (venue/vconf.h): instIds in OKX's spelling ("BTC-USDT",
 * "BTC-USDT-SWAP"; lower case read upper with a notice) checked by the venue's stream check,
 * OKX's bar spellings ("1H", "1D", "1Dutc") beside mdfeed's, order_book = "diff" (the books
 * channel, 400 levels) or 5 (books5), book_ticker = bbo-tbt, and funding = mark-price plus
 * funding-rate, the latter on perpetual swaps only. Keys for REST, speeds in ms, liquidations
 * and Bitfinex's book options are refused with what to use instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "venue/okx.h"
#include "venue/vconf.h"

/* Keys OKX has no use for. */
static const struct venue_refusal refused[] = {
    {"rest_url", VC_ENTRY, false,
     "OKX books come over the stream and the daemon makes no REST calls to OKX; remove it"},
    {"snapshot_limit", VC_ENTRY, false,
     "OKX books come over the stream, with no REST snapshot (books: 400 levels, books5: 5)"},
    {"rest_weight_share", VC_ENTRY, false, "the daemon makes no REST calls to OKX; remove it"},
    {"candle_warmup", VC_ENTRY, false,
     "OKX candle history over REST is not fetched yet; remove it"},
    {"book_speed", VC_ENTRY, false, "OKX books have no speed in ms"},
    {"book_prec", VC_ENTRY, false, "a Bitfinex setting; OKX books have no precision"},
    {"book_freq", VC_ENTRY, false, "a Bitfinex setting; OKX books have no frequency"},
    {"book_len", VC_ENTRY, false,
     "a Bitfinex setting; on OKX order_book is \"diff\" (400 levels) or 5 (books5)"},
    {"mini_ticker", VC_ENTRY, true, "OKX has no mini ticker; ticker = true gives the 24 h figures"},
    {"liquidations", VC_ENTRY, true,
     "not supported on OKX yet (its liquidation-orders channel is not read)"},
    {"speed", VC_STREAM, false, "OKX streams have no speed in ms"},
    {"prec", VC_STREAM, false, "a Bitfinex diff_depth option; OKX books have no precision"},
    {"freq", VC_STREAM, false, "a Bitfinex diff_depth option; OKX books have no frequency"},
    {"len", VC_STREAM, false, "a Bitfinex diff_depth option; OKX books have 400 levels"},
};

/* An instId upper-cased into out and checked by the venue (a trade stream checks nothing but
 * its symbol). */
static int symbol(const struct venue_profile *p, const char *text, char *out, char *note,
                  size_t note_cap)
{
    struct vstream probe;
    size_t n = strlen(text);

    note[0] = '\0';
    if (n == 0 || n >= MDF_SYMBOL_MAX)
        return err_set(-EINVAL, "\"%s\" is not an instId (1..%u characters, like BTC-USDT)", text,
                       MDF_SYMBOL_MAX - 1);
    memset(&probe, 0, sizeof(probe));
    probe.type = VS_TRADE;
    for (size_t i = 0; i < n; i++)
        probe.symbol[i] = text[i] >= 'a' && text[i] <= 'z' ? (char)(text[i] - 'a' + 'A') : text[i];
    if (okx_stream_check(&probe) < 0)
        return -EINVAL;
    memcpy(out, probe.symbol, MDF_SYMBOL_MAX);
    if (strcmp(text, out) != 0)
        snprintf(note, note_cap, "\"%s\" read as \"%s\" (OKX instIds are upper case)", text, out);
    return 0;
}

/* OKX's bars ("1H", "4H", "1D", "1W", "1M", each also with "utc", which is how the daemon asks
 * for them), then mdfeed's ("1m", "1h", "1d"). */
static int interval(const char *text)
{
    char low[16];
    size_t n = strlen(text);
    int iv;

    if (n >= 3 && strcmp(text + n - 3, "utc") == 0)
        n -= 3;
    if (n == 0 || n >= sizeof(low))
        return MDF_IV_NONE;
    memcpy(low, text, n);
    low[n] = '\0';
    /* OKX writes hours, days and weeks in upper case; "1M" is a month in both spellings. */
    if (low[n - 1] == 'H' || low[n - 1] == 'D' || low[n - 1] == 'W')
        low[n - 1] = (char)(low[n - 1] - 'A' + 'a');
    iv = mdf_interval_from_name(low);
    return iv <= MDF_IV_NONE || iv >= MDF_IV_COUNT ? MDF_IV_NONE : iv;
}

/* order_book numbers: 5 is books5 (the venue's top 5, whole each time). */
static int order_book(const struct venue_profile *p, long long n, struct vstream *book)
{
    if (n != 5)
        return err_set(-EINVAL, "expected \"none\", \"diff\" or 5");
    book->type = VS_DEPTH;
    book->levels = 5;
    return 0;
}

/* Funding rates exist for perpetual swaps only: a funding-rate stream of another instrument
 * would be refused by the venue (60018) at every connect. */
static int stream_check(const struct venue_profile *p, const struct vstream *s)
{
    size_t n = strnlen(s->symbol, MDF_SYMBOL_MAX);

    if (s->type == VS_MARKPRICE && s->prec == OKX_PREC_FUNDING &&
        (n < 5 || strcmp(s->symbol + n - 5, "-SWAP") != 0))
        return err_set(-EINVAL, "okx: funding rates are for perpetual swaps (\"...-SWAP\"), not %s",
                       s->symbol);
    return p->proto->stream_check(p, s);
}

/* funding = true: the mark price and the funding rate. */
static const struct vstream funding[] = {{.type = VS_MARKPRICE},
                                         {.type = VS_MARKPRICE, .prec = OKX_PREC_FUNDING}};

static const struct vconf_rules okx_rules = {
    .trades = VS_TRADE,
    .book_ticker = true,
    .depth = true,
    .funding = funding,
    .n_funding = sizeof(funding) / sizeof(funding[0]),
};

static const struct vconf_rules *rules(const struct venue_profile *p)
{
    return &okx_rules;
}

const struct venue_conf okx_conf = {
    .refused = refused,
    .n_refused = sizeof(refused) / sizeof(refused[0]),
    .opts = NULL,
    .n_opts = 0,
    .symbol_what = "an instId string such as \"BTC-USDT\"",
    .symbol = symbol,
    .interval = interval,
    .interval_help = "serves 1s 1m 3m 5m 15m 30m 1H 2H 4H 6H 12H 1D 3D 1W 1M (or 1h 1d 1w; 6H "
                     "and longer are asked for UTC-aligned, \"1Dutc\")",
    .rules = rules,
    .diff_levels = 0,
    .order_book = order_book,
    .order_book_what = " or 5",
    .stream_check = stream_check,
    .conn_cap_hard = false,
    .keepalive = "ping",
};
