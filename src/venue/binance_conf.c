/*
 * The config rules Binance declares (venue/vconf.h): symbols upper-cased with a notice,
 * mdfeed's interval names, partial books of 5, 10 or 20 levels, and spot and USD-M futures
 * telling apart trades (futures has aggregate trades only), funding, liquidations and the
 * snapshot limits. Binance has no options of its own; Bitfinex's book options are refused with
 * the Binance key to use instead.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "venue/vconf.h"

/* Keys Binance has no use for: Bitfinex's book options. */
static const struct venue_refusal refused[] = {
    {"book_prec", VC_ENTRY, false, "a Bitfinex setting; Binance books have no precision"},
    {"book_freq", VC_ENTRY, false, "a Bitfinex setting; Binance books take book_speed (in ms)"},
    {"book_len", VC_ENTRY, false,
     "a Bitfinex setting; on Binance use order_book = 5, 10 or 20 for a partial book "
     "(shm.book_depth sets the levels published)"},
    {"prec", VC_STREAM, false, "a Bitfinex diff_depth option; Binance streams have no precision"},
    {"freq", VC_STREAM, false, "a Bitfinex diff_depth option; Binance streams take speed (in ms)"},
    {"len", VC_STREAM, false,
     "a Bitfinex diff_depth option; Binance partial books take levels (5, 10 or 20) on a depth "
     "stream"},
};

/* Copies a symbol upper-cased into out (MDF_SYMBOL_MAX): 1..47 characters of [A-Za-z0-9_] ('_'
 * for futures delivery contracts such as BTCUSDT_250328). A symbol given in lower case is read
 * the way the venue spells it, with a notice. */
static int symbol(const struct venue_profile *p, const char *text, char *out, char *note,
                  size_t note_cap)
{
    return vconf_upper_symbol(text, true, "Binance", out, note, note_cap);
}

/* order_book numbers: the partial books depth5, depth10 and depth20. */
static int order_book(const struct venue_profile *p, long long n, struct vstream *book)
{
    if (n != 5 && n != 10 && n != 20)
        return err_set(-EINVAL, "expected \"none\", \"diff\", 5, 10 or 20");
    book->type = VS_DEPTH;
    book->levels = (uint8_t)n;
    return 0;
}

static const struct vconf_rules spot_rules = {
    .trades = VS_TRADE,
    .agg_trades = true,
    .book_ticker = true,
    .depth = true,
};

/* markPrice@1s: funding and mark price every second. */
static const struct vstream futures_funding[] = {{.type = VS_MARKPRICE, .speed_ms = 1000}};

/* The REST depth limits USD-M futures takes (any of 1..5000 on spot). */
static const uint32_t futures_limits[] = {5, 10, 20, 50, 100, 500, 1000};

static const struct vconf_rules futures_rules = {
    .trades = VS_AGGTRADE, /* no trade stream: aggregate trades are its trade feed */
    .agg_trades = true,
    .book_ticker = true,
    .depth = true,
    .funding = futures_funding,
    .n_funding = sizeof(futures_funding) / sizeof(futures_funding[0]),
    .liquidations = true,
    .snapshot_limits = futures_limits,
    .n_snapshot_limits = sizeof(futures_limits) / sizeof(futures_limits[0]),
};

static const struct vconf_rules *rules(const struct venue_profile *p)
{
    return p->futures ? &futures_rules : &spot_rules;
}

const struct venue_conf binance_conf = {
    .refused = refused,
    .n_refused = sizeof(refused) / sizeof(refused[0]),
    .opts = NULL,
    .n_opts = 0,
    .symbol_what = "a symbol string such as \"BTCUSDT\"",
    .symbol = symbol,
    .interval = NULL,
    .interval_help = NULL,
    .rules = rules,
    .diff_levels = 0,
    .order_book = order_book,
    .order_book_what = ", 5, 10 or 20",
    .stream_check = NULL,
    .conn_cap_hard = false,
    .keepalive = "ping",
};
