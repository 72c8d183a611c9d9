/*
 * Tests of the OKX v5 decoder, channels, routes and request builders (src/venue/okx.c): the
 * documented message shapes and the real 2022 recording lines of src/venue/README.md §4.2 checked
 * field by field against decimals parsed here from the message text, numbers against strings, and
 * hostile input (wrong types, impossible values, every truncation, random mutations) refused
 * with the right code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/okx.h"
#include "venue/vconf.h"

#include "test.h"

#define MAX_MSG (1u << 20) /* decoders in these tests take messages up to 1 MiB */

/* Asserts that v is exactly the decimal written `text`. */
#define ASSERT_DEC(v, text)                                                                        \
    do {                                                                                           \
        struct mdf_dec want_;                                                                      \
        ASSERT_EQ(mdf_dec_parse((text), strlen(text), &want_), 0);                                 \
        ASSERT_EQ((v).m, want_.m);                                                                 \
        ASSERT_EQ((v).e, want_.e);                                                                 \
    } while (0)

/* A stream spec. */
static struct vstream spec(int type, const char *sym, int interval, int levels, int prec)
{
    struct vstream s;

    memset(&s, 0, sizeof(s));
    s.type = (uint8_t)type;
    s.interval = (uint8_t)interval;
    s.levels = (uint8_t)levels;
    s.prec = (uint8_t)prec;
    snprintf(s.symbol, sizeof(s.symbol), "%s", sym);
    return s;
}

/* Decodes a NUL-terminated message received at time 777. */
static int decode(struct okx_decoder *d, const char *msg, struct okx_msg *m)
{
    return okx_decode(d, (const uint8_t *)msg, strlen(msg), 777, m);
}

/* Real (2022, cryptofeed OKX.ws.1.0, src/venue/README.md §4.2) and documented shapes. */
static const char *const rec_trade =
    "{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USD-220527\"},\"data\":[{\"instId\":\"BTC-"
    "USD-220527\",\"tradeId\":\"7849\",\"px\":\"30218.8\",\"sz\":\"1\",\"side\":\"buy\",\"ts\":"
    "\"1652459199958\"}]}";
static const char *const rec_book =
    "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USD-220527\"},\"action\":\"update\",\"data\":"
    "[{\"asks\":[[\"30249.4\",\"0\",\"0\",\"0\"],[\"30261\",\"4\",\"0\",\"1\"]],\"bids\":[["
    "\"30182.6\",\"452\",\"0\",\"1\"]],\"ts\":\"1652459225464\",\"checksum\":-914047754}]}";
static const char *const doc_books =
    "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":\"snapshot\",\"data\":[{"
    "\"asks\":[[\"8476.98\",\"415\",\"0\",\"13\"],[\"8477\",\"7\",\"0\",\"2\"]],\"bids\":[["
    "\"8476.97\",\"256\",\"0\",\"12\"],[\"8475.55\",\"101\",\"0\",\"1\"]],\"ts\":"
    "\"1597026383085\",\"checksum\":0,\"prevSeqId\":-1,\"seqId\":123456}]}";
static const char *const doc_books5 =
    "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BCH-USDT-SWAP\"},\"data\":[{\"asks\":[["
    "\"111.06\",\"55154\",\"0\",\"2\"],[\"111.07\",\"53276\",\"0\",\"2\"]],\"bids\":[[\"111.05\","
    "\"57745\",\"0\",\"2\"]],\"instId\":\"BCH-USDT-SWAP\",\"ts\":\"1670324386802\",\"seqId\":"
    "363996337}]}";
static const char *const doc_bbo =
    "{\"arg\":{\"channel\":\"bbo-tbt\",\"instId\":\"BCH-USDT-SWAP\"},\"data\":[{\"asks\":[["
    "\"111.06\",\"55154\",\"0\",\"2\"]],\"bids\":[[\"111.05\",\"57745\",\"0\",\"2\"]],\"ts\":"
    "\"1670324386802\",\"seqId\":363996337}]}";
static const char *const doc_trades =
    "{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instId\":\"BTC-USDT\","
    "\"tradeId\":\"130639474\",\"px\":\"42219.9\",\"sz\":\"0.12060306\",\"side\":\"sell\",\"ts\":"
    "\"1630048897897\",\"count\":\"3\",\"source\":\"0\",\"seqId\":1234}]}";
static const char *const doc_ticker =
    "{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instType\":\"SPOT\","
    "\"instId\":\"BTC-USDT\",\"last\":\"9999.99\",\"lastSz\":\"0.1\",\"askPx\":\"9999.99\","
    "\"askSz\":\"11\",\"bidPx\":\"8888.88\",\"bidSz\":\"5\",\"open24h\":\"9000\",\"high24h\":"
    "\"10000\",\"low24h\":\"8888.88\",\"volCcy24h\":\"2222\",\"vol24h\":\"2.5\",\"sodUtc0\":"
    "\"2222\",\"sodUtc8\":\"2222\",\"ts\":\"1597026383085\"}]}";
static const char *const doc_mark =
    "{\"arg\":{\"channel\":\"mark-price\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instType\":"
    "\"MARGIN\",\"instId\":\"BTC-USDT\",\"markPx\":\"42310.6\",\"ts\":\"1630049139746\"}]}";
static const char *const doc_funding =
    "{\"arg\":{\"channel\":\"funding-rate\",\"instId\":\"BTC-USD-SWAP\"},\"data\":[{"
    "\"fundingRate\":\"0.0001875391284828\",\"fundingTime\":\"1700726400000\",\"instId\":\"BTC-"
    "USD-SWAP\",\"instType\":\"SWAP\",\"method\":\"current_period\",\"maxFundingRate\":\"0.00375\","
    "\"minFundingRate\":\"-0.00375\",\"nextFundingRate\":\"\",\"nextFundingTime\":"
    "\"1700755200000\",\"premium\":\"0.0001233824646391\",\"settFundingRate\":"
    "\"0.0001699799259033\",\"settState\":\"settled\",\"ts\":\"1700724675402\"}]}";
static const char *const doc_candle =
    "{\"arg\":{\"channel\":\"candle1Dutc\",\"instId\":\"BTC-USDT\"},\"data\":[[\"1597017600000\","
    "\"8533.02\",\"8553.74\",\"8527.17\",\"8548.26\",\"45247\",\"529.5858061\",\"5.00000000\","
    "\"0\"]]}";
static const char *const doc_candle_swap =
    "{\"arg\":{\"channel\":\"candle1Mutc\",\"instId\":\"BTC-USDT-SWAP\"},\"data\":[[\"1706745600000"
    "\",\"100\",\"110\",\"90\",\"105\",\"1000\",\"10\",\"1050\",\"1\"]]}";
static const char *const doc_ev_sub =
    "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},"
    "\"connId\":\"accb8e21\"}";
static const char *const doc_ev_err =
    "{\"event\":\"error\",\"code\":\"60012\",\"msg\":\"Invalid request: {\\\"op\\\": "
    "\\\"subscribe\\\"}\",\"connId\":\"a4d3ae55\"}";
static const char *const doc_ev_notice =
    "{\"event\":\"notice\",\"code\":\"64008\",\"msg\":\"The connection will soon be closed for a "
    "service upgrade. Please reconnect.\",\"connId\":\"a4d3ae55\"}";

static const char *const *const corpus[] = {
    &rec_trade,       &rec_book,   &doc_books,  &doc_books5,    &doc_bbo,
    &doc_trades,      &doc_ticker, &doc_mark,   &doc_funding,   &doc_candle,
    &doc_candle_swap, &doc_ev_sub, &doc_ev_err, &doc_ev_notice,
};
#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ------------------------------------------------------------------------------------------ */

TEST(okx_channels_routes_and_control_messages_are_exact)
{
    static const struct {
        struct vstream s;     /* spec */
        const char *channel;  /* its channel */
        enum okx_route route; /* its endpoint */
    } cases[] = {
        {{VS_DIFF, 0, 0, 0, 0, 0, "BTC-USDT"}, "books", OKX_PUBLIC},
        {{VS_DEPTH, 0, 5, 0, 0, 0, "BTC-USDT"}, "books5", OKX_PUBLIC},
        {{VS_BOOKTICKER, 0, 0, 0, 0, 0, "BTC-USDT"}, "bbo-tbt", OKX_PUBLIC},
        {{VS_TRADE, 0, 0, 0, 0, 0, "BTC-USDT-SWAP"}, "trades", OKX_PUBLIC},
        {{VS_TICKER, 0, 0, 0, 0, 0, "BTC-USDT"}, "tickers", OKX_PUBLIC},
        {{VS_MARKPRICE, 0, 0, 0, 0, 0, "BTC-USDT-SWAP"}, "mark-price", OKX_PUBLIC},
        {{VS_MARKPRICE, 0, 0, OKX_PREC_FUNDING, 0, 0, "BTC-USDT-SWAP"}, "funding-rate", OKX_PUBLIC},
        {{VS_KLINE, MDF_IV_1M, 0, 0, 0, 0, "BTC-USDT"}, "candle1m", OKX_BUSINESS},
        {{VS_KLINE, MDF_IV_1H, 0, 0, 0, 0, "BTC-USDT"}, "candle1H", OKX_BUSINESS},
        {{VS_KLINE, MDF_IV_1D, 0, 0, 0, 0, "BTC-USDT"}, "candle1Dutc", OKX_BUSINESS},
        {{VS_KLINE, MDF_IV_1MO, 0, 0, 0, 0, "BTC-USD-250328"}, "candle1Mutc", OKX_BUSINESS},
    };
    struct vstream s, two[2];
    char buf[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_GT(okx_channel(&cases[i].s, buf, sizeof(buf)), 0);
        ASSERT_STR_EQ(buf, cases[i].channel);
        ASSERT_EQ(okx_route(&cases[i].s), cases[i].route);
        ASSERT_EQ(
            okx_stream_parse(buf, strlen(buf), cases[i].s.symbol, strlen(cases[i].s.symbol), &s),
            0);
        ASSERT_EQ(memcmp(&s, &cases[i].s, sizeof(s)), 0);
    }
    s = spec(VS_DEPTH, "BTC-USDT", 0, 20, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "levels 20");
    s = spec(VS_KLINE, "BTC-USDT", MDF_IV_8H, 0, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "8h candles");
    s = spec(VS_TRADE, "btc-usdt", 0, 0, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    s = spec(VS_TRADE, "BTC--USDT", 0, 0, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    s = spec(VS_TRADE, "BTC-USDT-", 0, 0, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    s = spec(VS_FORCEORDER, "BTC-USDT", 0, 0, 0);
    ASSERT_EQ(okx_stream_check(&s), -EINVAL);
    ASSERT_EQ(okx_stream_parse("candle1D", 8, "BTC-USDT", 8, &s), -EINVAL); /* HK-aligned */
    ASSERT_EQ(okx_stream_parse("books-l2-tbt", 12, "BTC-USDT", 8, &s), -EINVAL);

    /* URLs. */
    ASSERT_GT(okx_ws_url(OKX_PUBLIC, false, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "wss://ws.okx.com:8443/ws/v5/public");
    ASSERT_GT(okx_ws_url(OKX_BUSINESS, true, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "wss://wspap.okx.com:8443/ws/v5/business");

    /* Requests: many args in one, one route per request. */
    two[0] = spec(VS_DIFF, "BTC-USDT", 0, 0, 0);
    two[1] = spec(VS_MARKPRICE, "BTC-USDT-SWAP", 0, 0, OKX_PREC_FUNDING);
    ASSERT_GT(okx_control_msg(true, two, 2, "7", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"id\":\"7\",\"op\":\"subscribe\",\"args\":[{\"channel\":\"books\","
                       "\"instId\":\"BTC-USDT\"},{\"channel\":\"funding-rate\",\"instId\":\"BTC-"
                       "USDT-SWAP\"}]}");
    ASSERT_GT(okx_control_msg(false, two, 1, NULL, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"op\":\"unsubscribe\",\"args\":[{\"channel\":\"books\",\"instId\":"
                       "\"BTC-USDT\"}]}");
    two[1] = spec(VS_KLINE, "BTC-USDT", MDF_IV_1M, 0, 0);
    ASSERT_EQ(okx_control_msg(true, two, 2, NULL, buf, sizeof(buf)), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "/business");
    ASSERT_EQ(okx_control_msg(true, two, 1, "a-b", buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(okx_control_msg(true, two, 0, NULL, buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(okx_control_msg(true, two, 1, NULL, buf, 20), -ENOSPC);
    ASSERT_EQ(okx_ping_msg(buf, sizeof(buf)), 4);
    ASSERT_STR_EQ(buf, "ping");
    return 0;
}

TEST(okx_decodes_the_recorded_and_documented_messages_exactly)
{
    struct okx_decoder *d = okx_decoder_new(100, MAX_MSG);
    struct okx_msg m;

    ASSERT(d);
    ASSERT_EQ(decode(d, "pong", &m), 0);
    ASSERT_EQ(m.kind, OKX_PONG);

    ASSERT_EQ(decode(d, rec_trade, &m), 0);
    ASSERT_EQ(m.kind, OKX_TRADES);
    ASSERT_STR_EQ(m.spec.symbol, "BTC-USD-220527");
    ASSERT_EQ(m.n_trades, 1);
    ASSERT_EQ(m.trades[0].trade_id, 7849);
    ASSERT_DEC(m.trades[0].price, "30218.8");
    ASSERT_DEC(m.trades[0].qty, "1");
    ASSERT_EQ(m.trades[0].side, MDF_SIDE_BUY);
    ASSERT_EQ(m.trades[0].h.tx_time_ns, 1652459199958000000LL);
    ASSERT_EQ(m.trades[0].h.recv_time_ns, 777);
    ASSERT_EQ(decode(d, doc_trades, &m), 0);
    ASSERT_EQ(m.trades[0].side, MDF_SIDE_SELL);
    ASSERT_EQ(m.trades[0].h.venue_seq, 1234);
    ASSERT_DEC(m.trades[0].qty, "0.12060306");

    /* The 2022 update: no seqId, checksum kept. */
    ASSERT_EQ(decode(d, rec_book, &m), 0);
    ASSERT_EQ(m.kind, OKX_BOOK);
    ASSERT_EQ(m.spec.type, VS_DIFF);
    ASSERT(!m.snapshot);
    ASSERT(!m.have_seq);
    ASSERT_EQ(m.checksum, -914047754);
    ASSERT_EQ(m.n_asks, 2);
    ASSERT_EQ(m.n_bids, 1);
    ASSERT_DEC(m.asks[0].qty, "0");
    ASSERT_DEC(m.asks[1].px, "30261");
    ASSERT_DEC(m.bids[0].qty, "452");
    ASSERT_EQ(m.ts_ns, 1652459225464000000LL);
    ASSERT_EQ(decode(d, doc_books, &m), 0);
    ASSERT(m.snapshot);
    ASSERT(m.have_seq);
    ASSERT_EQ(m.prev_seq_id, -1);
    ASSERT_EQ(m.seq_id, 123456);
    ASSERT_EQ(m.checksum, 0);
    ASSERT_DEC(m.bids[1].px, "8475.55");

    ASSERT_EQ(decode(d, doc_books5, &m), 0);
    ASSERT_EQ(m.kind, OKX_BOOK);
    ASSERT_EQ(m.spec.type, VS_DEPTH);
    ASSERT_EQ(m.spec.levels, 5);
    ASSERT(m.snapshot);
    ASSERT_EQ(m.seq_id, 363996337);
    ASSERT_EQ(m.n_asks, 2);

    ASSERT_EQ(decode(d, doc_bbo, &m), 0);
    ASSERT_EQ(m.kind, OKX_BBO);
    ASSERT_EQ(m.bbo.h.type, MDF_REC_BBO);
    ASSERT_DEC(m.bbo.bid_px, "111.05");
    ASSERT_DEC(m.bbo.bid_qty, "57745");
    ASSERT_DEC(m.bbo.ask_px, "111.06");
    ASSERT_EQ(m.bbo.update_id, 363996337);
    ASSERT_EQ(m.bbo.h.flags, 0);
    ASSERT_EQ(m.bbo.h.exch_time_ns, 1670324386802000000LL);

    /* Spot ticker: vol24h is base, volCcy24h quote; crossed bid/ask is flagged. */
    ASSERT_EQ(decode(d, doc_ticker, &m), 0);
    ASSERT_EQ(m.kind, OKX_TICKER);
    ASSERT_DEC(m.ticker.last_px, "9999.99");
    ASSERT_DEC(m.ticker.last_qty, "0.1");
    ASSERT_DEC(m.ticker.open_px, "9000");
    ASSERT_DEC(m.ticker.high_px, "10000");
    ASSERT_DEC(m.ticker.low_px, "8888.88");
    ASSERT_DEC(m.ticker.volume, "2.5");
    ASSERT_DEC(m.ticker.quote_volume, "2222");
    ASSERT_DEC(m.ticker.bid_px, "8888.88");
    ASSERT_DEC(m.ticker.ask_qty, "11");
    ASSERT_EQ(m.ticker.h.flags, 0);

    ASSERT_EQ(decode(d, doc_mark, &m), 0);
    ASSERT_EQ(m.kind, OKX_FUNDING);
    ASSERT_EQ(m.funding.h.type, MDF_REC_FUNDING);
    ASSERT_DEC(m.funding.mark_px, "42310.6");
    ASSERT_EQ(m.funding.funding_rate.m, 0);
    ASSERT_EQ(m.funding.h.exch_time_ns, 1630049139746000000LL);
    ASSERT_EQ(decode(d, doc_funding, &m), 0);
    ASSERT_EQ(m.kind, OKX_FUNDING);
    ASSERT_EQ(m.spec.prec, OKX_PREC_FUNDING);
    ASSERT_DEC(m.funding.funding_rate, "0.0001875391284828");
    ASSERT_EQ(m.funding.next_funding_time_ns, 1700726400000000000LL);
    ASSERT_EQ(m.funding.mark_px.m, 0);

    /* Candles: spot volumes; open (confirm 0); close time from the interval. */
    ASSERT_EQ(decode(d, doc_candle, &m), 0);
    ASSERT_EQ(m.kind, OKX_CANDLES);
    ASSERT_EQ(m.n_candles, 1);
    ASSERT_EQ(m.candles[0].interval, MDF_IV_1D);
    ASSERT_EQ(m.candles[0].open_time_ns, 1597017600000000000LL);
    ASSERT_EQ(m.candles[0].close_time_ns, 1597017600000000000LL + 86400000000000LL - 1000000);
    ASSERT_DEC(m.candles[0].open, "8533.02");
    ASSERT_DEC(m.candles[0].high, "8553.74");
    ASSERT_DEC(m.candles[0].low, "8527.17");
    ASSERT_DEC(m.candles[0].close, "8548.26");
    ASSERT_DEC(m.candles[0].volume, "45247");
    ASSERT_DEC(m.candles[0].quote_volume, "529.5858061");
    ASSERT_EQ(m.candles[0].h.flags, 0);
    /* Swap month candle: base volume from volCcy, quote from volCcyQuote; closed; Feb 2024
     * (leap year) ends on the 29th. */
    ASSERT_EQ(decode(d, doc_candle_swap, &m), 0);
    ASSERT_EQ(m.candles[0].interval, MDF_IV_1MO);
    ASSERT_DEC(m.candles[0].volume, "10");
    ASSERT_DEC(m.candles[0].quote_volume, "1050");
    ASSERT_EQ(m.candles[0].h.flags, MDF_CANDLE_F_CLOSED);
    ASSERT_EQ(m.candles[0].close_time_ns, 1709251200000000000LL - 1000000);

    /* Events. */
    ASSERT_EQ(decode(d, doc_ev_sub, &m), 0);
    ASSERT_EQ(m.kind, OKX_EVENT);
    ASSERT_EQ(m.event, OKX_EV_SUBSCRIBE);
    ASSERT(m.spec_known);
    ASSERT_EQ(m.spec.type, VS_TICKER);
    ASSERT_STR_EQ(m.conn_id, "accb8e21");
    ASSERT_EQ(decode(d, doc_ev_err, &m), 0);
    ASSERT_EQ(m.event, OKX_EV_ERROR);
    ASSERT_EQ(m.code, 60012);
    ASSERT_CONTAINS(m.text, "Invalid request: {\"op\"");
    ASSERT_EQ(decode(d, doc_ev_notice, &m), 0);
    ASSERT_EQ(m.event, OKX_EV_NOTICE);
    ASSERT_EQ(m.code, OKX_NOTICE_UPGRADE);
    ASSERT_EQ(decode(d,
                     "{\"event\":\"channel-conn-count\",\"channel\":\"books\",\"connCount\":\"2\","
                     "\"connId\":\"abc\"}",
                     &m),
              0);
    ASSERT_EQ(m.event, OKX_EV_OTHER);
    ASSERT_STR_EQ(m.text, "channel-conn-count");
    /* Data of a channel mdfeed does not serve. */
    ASSERT_EQ(decode(d,
                     "{\"arg\":{\"channel\":\"opt-summary\",\"instFamily\":\"BTC-USD\"},"
                     "\"data\":[]}",
                     &m),
              0);
    ASSERT_EQ(m.kind, OKX_IGNORED);
    okx_decoder_free(d);
    return 0;
}

TEST(okx_numbers_and_strings_give_identical_exact_decimals)
{
    static const char *const a_msg =
        "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":\"update\",\"data\":"
        "[{\"asks\":[[\"1.10\",\"2e-3\",\"0\",\"1\"]],\"bids\":[],\"ts\":\"5\",\"checksum\":"
        "\"-7\",\"prevSeqId\":\"10\",\"seqId\":\"11\"}]}";
    static const char *const b_msg =
        "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":\"update\",\"data\":"
        "[{\"asks\":[[1.10,2e-3,0,1]],\"bids\":[],\"ts\":5,\"checksum\":-7,\"prevSeqId\":10,"
        "\"seqId\":11}]}";
    struct okx_decoder *d = okx_decoder_new(10, 4096);
    struct okx_msg a, b;
    struct vlevel la;

    ASSERT(d);
    ASSERT_EQ(decode(d, a_msg, &a), 0);
    la = a.asks[0];
    ASSERT_EQ(decode(d, b_msg, &b), 0);
    ASSERT_EQ(memcmp(&la, &b.asks[0], sizeof(la)), 0);
    ASSERT_DEC(la.px, "1.10");
    ASSERT_EQ(la.qty.m, 2);
    ASSERT_EQ(la.qty.e, -3);
    ASSERT_EQ(a.checksum, b.checksum);
    ASSERT_EQ(a.checksum, -7);
    ASSERT_EQ(a.seq_id, b.seq_id);
    ASSERT_EQ(a.prev_seq_id, 10);
    ASSERT_EQ(a.ts_ns, b.ts_ns);
    okx_decoder_free(d);
    return 0;
}

TEST(okx_decoder_refuses_hostile_input_with_codes_naming_the_field)
{
#define ARG(ch, inst) "{\"arg\":{\"channel\":\"" ch "\",\"instId\":\"" inst "\"},"
    static const struct {
        const char *msg;  /* input */
        int rc;           /* expected return */
        const char *what; /* in the error text */
    } cases[] = {
        {"ping", -EBADMSG, "JSON"},
        {"[]", -EBADMSG, "not an object"},
        {ARG("trades", "BTC-USDT") "\"data\":[]}", -EBADMSG, "not an array of trades"},
        {ARG("trades", "BTC-USDT") "\"data\":[{\"tradeId\":\"1\",\"px\":\"1\",\"sz\":\"1\","
                                   "\"side\":\"up\",\"ts\":\"1\"}]}",
         -EBADMSG, "side"},
        {ARG("trades", "BTC-USDT") "\"data\":[{\"tradeId\":\"x\",\"px\":\"1\",\"sz\":\"1\","
                                   "\"side\":\"buy\",\"ts\":\"1\"}]}",
         -EBADMSG, "tradeId"},
        {ARG("trades", "BTC-USDT") "\"data\":[{\"tradeId\":\"1\",\"px\":\"0\",\"sz\":\"1\","
                                   "\"side\":\"buy\",\"ts\":\"1\"}]}",
         -ERANGE, "px"},
        {ARG("trades", "BTC-USDT") "\"data\":[{\"instId\":\"ETH-USDT\",\"tradeId\":\"1\",\"px\":"
                                   "\"1\",\"sz\":\"1\",\"side\":\"buy\",\"ts\":\"1\"}]}",
         -EBADMSG, "instId"},
        {ARG("books", "BTC-USDT") "\"data\":[{\"asks\":[],\"bids\":[],\"ts\":\"1\"}]}", -EBADMSG,
         "missing action"},
        {ARG("books", "BTC-USDT") "\"action\":\"patch\",\"data\":[]}", -EBADMSG, "action"},
        {ARG("books", "BTC-USDT") "\"action\":\"update\",\"data\":[{\"asks\":[[\"1\",\"-1\"]],"
                                  "\"bids\":[],\"ts\":\"1\"}]}",
         -ERANGE, "sz"},
        {ARG("books", "BTC-USDT") "\"action\":\"update\",\"data\":[{\"asks\":[],\"bids\":[],"
                                  "\"ts\":\"1\",\"seqId\":5}]}",
         -EBADMSG, "one without the other"},
        {ARG("books", "BTC-USDT") "\"action\":\"update\",\"data\":[{\"asks\":[],\"bids\":[],"
                                  "\"ts\":\"1\",\"checksum\":4294967296}]}",
         -ERANGE, "checksum"},
        {ARG("books", "BTC-USDT") "\"action\":\"update\",\"data\":[{\"asks\":[],\"bids\":[],"
                                  "\"ts\":\"1\"},{\"asks\":[],\"bids\":[],\"ts\":\"1\"}]}",
         -EBADMSG, "array of one object"},
        {ARG("books5", "BTC-USDT") "\"action\":\"update\",\"data\":[{\"asks\":[],\"bids\":[],"
                                   "\"ts\":\"1\"}]}",
         -EBADMSG, "snapshot-only"},
        {ARG("bbo-tbt", "BTC-USDT") "\"data\":[{\"asks\":[[\"1\",\"1\"],[\"2\",\"1\"]],\"bids\":"
                                    "[],\"ts\":\"1\"}]}",
         -EBADMSG, "more than one level"},
        {ARG("tickers", "BTC-USDT") "\"data\":[{\"last\":\"1\",\"open24h\":\"1\",\"high24h\":"
                                    "\"1\",\"low24h\":\"2\",\"volCcy24h\":\"1\",\"vol24h\":\"1\","
                                    "\"ts\":\"1\"}]}",
         -ERANGE, "high24h"},
        {ARG("mark-price", "BTC-USDT") "\"data\":[{\"markPx\":\"-1\",\"ts\":\"1\"}]}", -ERANGE,
         "markPx"},
        {ARG("funding-rate", "BTC-USDT-SWAP") "\"data\":[{\"fundingRate\":\"\",\"ts\":\"1\"}]}",
         -EBADMSG, "missing fundingRate"},
        {ARG("candle1m", "BTC-USDT") "\"data\":[[\"1\",\"2\",\"3\",\"1\",\"2\",\"1\",\"1\",\"1\","
                                     "\"2\"]]}",
         -ERANGE, "confirm"},
        {ARG("candle1m", "BTC-USDT") "\"data\":[[\"1\",\"4\",\"3\",\"1\",\"2\",\"1\",\"1\",\"1\","
                                     "\"0\"]]}",
         -ERANGE, "o"},
        {ARG("candle1m", "BTC-USDT") "\"data\":[[\"1\",\"2\",\"3\",\"1\",\"2\"]]}", -EBADMSG,
         "not [ts"},
        {"{\"event\":\"subscribe\"}", -EBADMSG, "without arg"},
        {"{\"event\":\"error\",\"code\":\"x\"}", -EBADMSG, "code"},
    };
#undef ARG
    struct okx_decoder *d = okx_decoder_new(4, 4096);
    struct okx_msg m;
    int rc;

    ASSERT(d);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = decode(d, cases[i].msg, &m);
        if (rc != cases[i].rc)
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc,
                      mdf_errmsg());
        ASSERT_CONTAINS(mdf_errmsg(), cases[i].what);
        ASSERT_EQ(m.kind, OKX_NONE);
    }
    ASSERT_EQ(decode(d,
                     "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":"
                     "\"snapshot\",\"data\":[{\"asks\":[[\"1\",\"1\"],[\"2\",\"1\"],[\"3\",\"1\"],"
                     "[\"4\",\"1\"],[\"5\",\"1\"]],\"bids\":[],\"ts\":\"1\"}]}",
                     &m),
              -E2BIG);
    okx_decoder_free(d);
    return 0;
}

TEST(okx_decoder_refuses_every_truncation_and_survives_mutations)
{
    static const char alphabet[] = "[]{},:\"-+.eE0123456789 tfnulsbuy\\x";
    struct okx_decoder *d = okx_decoder_new(8, 4096);
    struct test_rng rng;
    struct okx_msg m;
    size_t ok = 0, refused = 0;

    ASSERT(d);
    for (size_t i = 0; i < N_CORPUS; i++) {
        const char *msg = *corpus[i];
        size_t len = strlen(msg);
        ASSERT_EQ(decode(d, msg, &m), 0);
        for (size_t cut = 0; cut < len; cut++) {
            char *p = malloc(cut ? cut : 1); /* ASan sees any read past its end */
            int rc;
            ASSERT(p);
            memcpy(p, msg, cut);
            rc = okx_decode(d, (const uint8_t *)p, cut, 1, &m);
            if (rc != -EBADMSG)
                test_fail(__FILE__, __LINE__, "prefix %zu of message %zu: %d", cut, i, rc);
            free(p);
        }
    }
    test_rng_init(&rng, test_seed());
    for (int iter = 0; iter < 100000; iter++) {
        const char *msg = *corpus[test_rng_below(&rng, N_CORPUS)];
        size_t len = strlen(msg);
        char *p = malloc(len + 1);
        int rc, k = 1 + (int)test_rng_below(&rng, 4);
        ASSERT(p);
        memcpy(p, msg, len);
        while (k-- > 0)
            p[test_rng_below(&rng, len)] = alphabet[test_rng_below(&rng, sizeof(alphabet) - 1)];
        rc = okx_decode(d, (const uint8_t *)p, len, 1, &m);
        ASSERT(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
        if (rc == 0)
            ok++;
        else
            refused++;
        free(p);
    }
    printf("mutations: %zu decoded, %zu refused\n", ok, refused);
    ASSERT_GT(ok, 0);
    ASSERT_GT(refused, 0);
    okx_decoder_free(d);
    return 0;
}

TEST(okx_liveness_follows_the_documented_push_frequencies)
{
    struct vstream s;
    struct vliveness l;

    /* mark-price and funding-rate push whatever happens: their silence is evidence. */
    s = spec(VS_MARKPRICE, "BTC-USDT-SWAP", 0, 0, 0);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.guaranteed_ms, 10000);
    ASSERT_EQ(l.period_ms, 200);
    ASSERT(!l.follows_trades);
    s = spec(VS_MARKPRICE, "BTC-USDT-SWAP", 0, 0, OKX_PREC_FUNDING);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.guaranteed_ms, 90000);
    /* Books and tickers are silent while nothing changes. */
    s = spec(VS_DIFF, "BTC-USDT", 0, 0, 0);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.guaranteed_ms, 0);
    ASSERT_EQ(l.period_ms, 100);
    ASSERT(l.follows_trades);
    s = spec(VS_BOOKTICKER, "BTC-USDT", 0, 0, 0);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.period_ms, 10);
    s = spec(VS_TRADE, "BTC-USDT", 0, 0, 0);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.proof, VP_TRADE_ID);
    ASSERT(l.gives_id && l.gives_time);
    /* Candles carry no push time: their arrival is all they prove. */
    s = spec(VS_KLINE, "BTC-USDT", MDF_IV_1M, 0, 0);
    okx_stream_liveness(&s, &l);
    ASSERT_EQ(l.proof, VP_RECV_TIME);
    ASSERT(l.follows_trades);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The venue interface (venue.h: okx_proto and the okx profiles)                              */

TEST(okx_profiles_name_route_and_reach_their_channels_through_the_venue_interface)
{
    static const struct {
        const char *name, *host;
    } want[] = {{"okx", OKX_HOST}, {"okx-demo", OKX_HOST_DEMO}};
    struct vstream books = spec(VS_DIFF, "BTC-USDT", 0, 0, 0);
    struct vstream cdl = spec(VS_KLINE, "BTC-USDT-SWAP", MDF_IV_1D, 0, 0);
    struct vstream fund = spec(VS_MARKPRICE, "BTC-USDT-SWAP", 0, 0, OKX_PREC_FUNDING);
    struct vstream b5 = spec(VS_DEPTH, "ETH-USDT", 0, 5, 0);
    char buf[128], exp[128];
    struct vliveness l, r;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct venue_profile *p = venue_profile_find(want[i].name);

        ASSERT(p);
        ASSERT_STR_EQ(p->proto->name, "okx");
        ASSERT(p->proto->conf == &okx_conf);
        ASSERT_EQ(p->family, VF_OKX);
        ASSERT_STR_EQ(p->ws_url, want[i].host);
        /* The venue's limits: 3 attempts a second, ping after 25 s, cut at 30 s. */
        ASSERT_EQ(p->conn_attempts, 3);
        ASSERT_EQ(p->conn_window_s, 1);
        ASSERT_EQ(p->ping_interval_s, 25);
        ASSERT_EQ(p->pong_timeout_s, 30);
        ASSERT_EQ(p->streams_per_conn, 100);
        /* Candles on /business, the rest on /public, under the profile's url or a local one
         * (a trailing slash is not doubled). */
        ASSERT_EQ(p->proto->route(p, &books), VR_ROOT);
        ASSERT_EQ(p->proto->route(p, &fund), VR_ROOT);
        ASSERT_EQ(p->proto->route(p, &cdl), VR_MARKET);
        ASSERT(p->proto->ws_url(p, p->ws_url, p->proto->route(p, &books), buf, sizeof(buf)) > 0);
        snprintf(exp, sizeof(exp), "%s/ws/v5/public", want[i].host);
        ASSERT_STR_EQ(buf, exp);
        ASSERT(p->proto->ws_url(p, p->ws_url, p->proto->route(p, &cdl), buf, sizeof(buf)) > 0);
        snprintf(exp, sizeof(exp), "%s/ws/v5/business", want[i].host);
        ASSERT_STR_EQ(buf, exp);
        ASSERT_EQ(p->proto->ws_url(p, "ws://127.0.0.1:9443/", VR_MARKET, buf, sizeof(buf)),
                  (int)strlen("ws://127.0.0.1:9443/ws/v5/business"));
        ASSERT_STR_EQ(buf, "ws://127.0.0.1:9443/ws/v5/business");
        ASSERT(p->proto->ws_url(p, "ws://127.0.0.1:9443", VR_ROOT, buf, 20) < 0);
        /* Names: channel and instId, as the venue's args carry them. */
        ASSERT_EQ(p->proto->stream_name(p, &books, buf, sizeof(buf)), 14);
        ASSERT_STR_EQ(buf, "books:BTC-USDT");
        ASSERT(p->proto->stream_name(p, &cdl, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, "candle1Dutc:BTC-USDT-SWAP");
        ASSERT(p->proto->stream_name(p, &fund, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, "funding-rate:BTC-USDT-SWAP");
        ASSERT(p->proto->stream_name(p, &b5, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, "books5:ETH-USDT");
        /* The evidence rule and cadence are okx_stream_liveness()'s. */
        vstream_liveness(p, &fund, &l);
        okx_stream_liveness(&fund, &r);
        ASSERT(memcmp(&l, &r, sizeof(l)) == 0);
        ASSERT_EQ(vstream_cadence_ms(p, &books), 100);
        ASSERT_EQ(vstream_cadence_ms(p, &cdl), 1000);
    }
    /* What OKX does not serve is refused through the table, naming the stream. */
    {
        const struct venue_profile *p = venue_profile_find("okx");
        struct vstream agg = spec(VS_AGGTRADE, "BTC-USDT", 0, 0, 0);
        struct vstream lower = spec(VS_TRADE, "btc-usdt", 0, 0, 0);

        ASSERT_EQ(p->proto->stream_check(p, &agg), -EINVAL);
        ASSERT(p->proto->stream_name(p, &agg, buf, sizeof(buf)) < 0);
        ASSERT_CONTAINS(mdf_errmsg(), "BTC-USDT");
        ASSERT_EQ(p->proto->stream_check(p, &lower), -EINVAL);
        ASSERT_EQ(p->proto->stream_check(p, &books), 0);
        ASSERT(p->proto->stream_name(p, &books, buf, 10) < 0);
    }
    return 0;
}

TEST(okx_common_symbols_tell_spot_swaps_futures_and_options_apart)
{
    static const struct {
        const char *inst, *common;
    } cases[] = {
        {"BTC-USDT", "BTC/USDT"},
        {"BTC-USDT-SWAP", "BTC/USDT:USDT"},
        {"ETH-USDC-SWAP", "ETH/USDC:USDC"},
        {"BTC-USD-SWAP", "BTC/USD:BTC"},
        {"BTC-USD-250328", "BTC/USD:BTC-250328"},
        {"BTC-USDT-250328", "BTC/USDT:USDT-250328"},
        {"BTC-USD-250328-90000-C", "BTC/USD:BTC-250328-90000-C"},
        {"BTCUSDT", ""},
        {"btc-usdt", ""},
        {"BTC--USDT", ""},
        {"", ""},
    };
    const struct venue_profile *p = venue_profile_find("okx");
    char buf[MDF_SYMBOL_MAX];

    ASSERT(p);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p->proto->symbol_common(cases[i].inst, buf, sizeof(buf));
        ASSERT_STR_EQ(buf, cases[i].common);
    }
    /* Too small a buffer gives "", never a cut name. */
    p->proto->symbol_common("BTC-USDT-SWAP", buf, 8);
    ASSERT_STR_EQ(buf, "");
    return 0;
}

TEST(okx_messages_carry_the_key_their_stream_is_named_by)
{
    const struct venue_profile *p = venue_profile_find("okx");
    struct okx_decoder *d = okx_decoder_new(64, MAX_MSG);
    struct okx_msg m;
    char name[OKX_KEY_MAX];
    size_t data = 0;

    ASSERT(d && p);
    /* Every data message of the corpus, and the subscribe answer: the key is the name the
     * profile gives the stream the message's arg names. */
    for (size_t i = 0; i < N_CORPUS; i++) {
        ASSERT_EQ(decode(d, *corpus[i], &m), 0);
        if (m.kind == OKX_EVENT && !m.spec_known) {
            ASSERT_EQ(m.key_len, 0);
            continue;
        }
        ASSERT(m.key_len > 0);
        ASSERT_EQ(p->proto->stream_name(p, &m.spec, name, sizeof(name)), (int)m.key_len);
        ASSERT_STR_EQ(m.key, name);
        data++;
    }
    ASSERT(data >= 11);
    /* The request id comes back; a refused arg is named by the 60018 message. */
    ASSERT_EQ(decode(d,
                     "{\"id\":\"42\",\"event\":\"error\",\"code\":\"60018\",\"msg\":\"Wrong URL or "
                     "channel:books,instId:BTC-XYZ doesn't exist. Please use the correct URL, "
                     "channel and parameters referring to API document.\",\"connId\":\"a4d3ae55\"}",
                     &m),
              0);
    ASSERT_EQ(m.event, OKX_EV_ERROR);
    ASSERT_EQ(m.code, OKX_ERR_NO_CHANNEL);
    ASSERT_STR_EQ(m.id, "42");
    ASSERT(m.spec_known);
    ASSERT_STR_EQ(m.key, "books:BTC-XYZ");
    ASSERT_EQ(m.key_len, 13);
    ASSERT_EQ(decode(d,
                     "{\"id\":\"7\",\"event\":\"subscribe\",\"arg\":{\"channel\":\"candle1m\","
                     "\"instId\":\"BTC-USDT\"},\"connId\":\"x\"}",
                     &m),
              0);
    ASSERT_STR_EQ(m.id, "7");
    ASSERT_STR_EQ(m.key, "candle1m:BTC-USDT");
    /* Other errors name nothing; no id, none. */
    ASSERT_EQ(decode(d, doc_ev_err, &m), 0);
    ASSERT(!m.spec_known);
    ASSERT_STR_EQ(m.id, "");
    ASSERT_EQ(m.key_len, 0);
    /* The keepalive's answer is a pong, not a parse error. */
    ASSERT_EQ(okx_decode(d, (const uint8_t *)"pong", 4, 1, &m), 0);
    ASSERT_EQ(m.kind, OKX_PONG);
    /* A message that fails after its arg was read still names its stream. */
    ASSERT_EQ(decode(d,
                     "{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"},\"data\":[{"
                     "\"instId\":\"BTC-USDT\",\"tradeId\":\"1\",\"px\":\"-1\",\"sz\":\"1\","
                     "\"side\":\"buy\",\"ts\":\"1\"}]}",
                     &m),
              -ERANGE);
    ASSERT_EQ(m.kind, OKX_NONE);
    ASSERT_STR_EQ(m.key, "trades:BTC-USDT");
    okx_decoder_free(d);
    return 0;
}
