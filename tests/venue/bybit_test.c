/*
 * Tests of the Bybit v5 decoder, topics and request builders (src/venue/bybit.c) and the
 * ticker merge (src/venue/bybit_ticker.c): the documented message shapes of src/venue/README.md
 * §4.1 checked field by field against decimals parsed here from the message text, numbers against
 * strings, hostile input (wrong types, impossible values, every truncation, random mutations)
 * refused with the right code, and the merge of ticker deltas.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/bybit.h"

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
static struct vstream spec(int type, const char *sym, int interval, int levels)
{
    struct vstream s;

    memset(&s, 0, sizeof(s));
    s.type = (uint8_t)type;
    s.interval = (uint8_t)interval;
    s.levels = (uint8_t)levels;
    snprintf(s.symbol, sizeof(s.symbol), "%s", sym);
    return s;
}

/* Decodes a NUL-terminated message received at time 777. */
static int decode(struct bybit_decoder *d, const char *msg, struct bybit_msg *m)
{
    return bybit_decode(d, (const uint8_t *)msg, strlen(msg), 777, m);
}

/* The documented shapes (src/venue/README.md §4.1 and the v5 docs' examples). */
static const char *const doc_trade_linear =
    "{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1672304486868,\"data\":[{"
    "\"T\":"
    "1672304486865,\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.001\",\"p\":\"16578.50\",\"L\":"
    "\"PlusTick\",\"i\":\"20f43950-d8dd-5b31-9112-a178eb6023af\",\"BT\":false,\"seq\":1783284617}]"
    "}";
static const char *const doc_trade_spot =
    "{\"topic\":\"publicTrade.BTCUSDT\",\"ts\":1672304486868,\"type\":\"snapshot\",\"data\":[{"
    "\"i\":"
    "\"2290000000061666327\",\"T\":1672304486865,\"p\":\"16578.50\",\"v\":\"0.001\",\"S\":\"Buy\","
    "\"s\":\"BTCUSDT\",\"BT\":false},{\"i\":\"2290000000061666328\",\"T\":1672304486866,\"p\":"
    "\"16578.00\",\"v\":\"0.25\",\"S\":\"Sell\",\"s\":\"BTCUSDT\",\"BT\":false}]}";
static const char *const doc_book_snapshot =
    "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1672304484978,\"data\":{"
    "\"s\":"
    "\"BTCUSDT\",\"b\":[[\"16493.50\",\"0.006\"],[\"16493.00\",\"0.100\"]],\"a\":[[\"16611.00\","
    "\"0.029\"],[\"16612.00\",\"0.213\"]],\"u\":18521288,\"seq\":7961638724},\"cts\":"
    "1672304484976}";
static const char *const doc_book_delta =
    "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"ts\":1687940967466,\"data\":{\"s\":"
    "\"BTCUSDT\",\"b\":[[\"30247.20\",\"30.028\"],[\"30240.00\",\"0\"]],\"a\":[[\"30248.70\",\"0\"]"
    ",[\"30249.30\",\"0.892\"]],\"u\":177400507,\"seq\":66544703342},\"cts\":1687940967464}";
static const char *const doc_kline =
    "{\"topic\":\"kline.5.BTCUSDT\",\"data\":[{\"start\":1672324800000,\"end\":1672325099999,"
    "\"interval\":\"5\",\"open\":\"16649.5\",\"close\":\"16677\",\"high\":\"16677\",\"low\":"
    "\"16608\",\"volume\":\"2.081\",\"turnover\":\"34666.4005\",\"confirm\":false,\"timestamp\":"
    "1672324988882}],\"ts\":1672324988882,\"type\":\"snapshot\"}";
static const char *const doc_ticker_linear =
    "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"symbol\":\"BTCUSDT\","
    "\"tickDirection\":\"PlusTick\",\"price24hPcnt\":\"0.017103\",\"lastPrice\":\"17216.00\","
    "\"prevPrice24h\":\"16926.50\",\"highPrice24h\":\"17281.50\",\"lowPrice24h\":\"16915.00\","
    "\"prevPrice1h\":\"17238.00\",\"markPrice\":\"17217.33\",\"indexPrice\":\"17227.36\","
    "\"openInterest\":\"68744.761\",\"openInterestValue\":\"1183601235.91\",\"turnover24h\":"
    "\"1570383121.943499\",\"volume24h\":\"91705.276\",\"nextFundingTime\":\"1673280000000\","
    "\"fundingRate\":\"-0.000212\",\"bid1Price\":\"17215.50\",\"bid1Size\":\"84.489\","
    "\"ask1Price\":\"17216.00\",\"ask1Size\":\"83.020\",\"deliveryTime\":\"\","
    "\"predictedDeliveryPrice\":\"\"},\"cs\":24987956059,\"ts\":1673272861686}";
static const char *const doc_ticker_delta =
    "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{\"symbol\":\"BTCUSDT\","
    "\"price24hPcnt\":\"0.017\",\"markPrice\":\"17218.01\",\"bid1Price\":\"17215.00\"},\"cs\":"
    "24987956060,\"ts\":1673272861786}";
static const char *const doc_ticker_spot =
    "{\"topic\":\"tickers.BTCUSDT\",\"ts\":1673853746003,\"type\":\"snapshot\",\"cs\":2588407389,"
    "\"data\":{\"symbol\":\"BTCUSDT\",\"lastPrice\":\"21109.77\",\"highPrice24h\":\"21426.99\","
    "\"lowPrice24h\":\"20575\",\"prevPrice24h\":\"20704.93\",\"volume24h\":\"6780.866843\","
    "\"turnover24h\":\"141946527.22907118\",\"price24hPcnt\":\"0.0196\",\"usdIndexPrice\":"
    "\"21120.2400136\"}}";
static const char *const doc_liq =
    "{\"topic\":\"allLiquidation.ROSEUSDT\",\"type\":\"snapshot\",\"ts\":1739502303204,\"data\":"
    "[{\"T\":1739502302929,\"s\":\"ROSEUSDT\",\"S\":\"Sell\",\"v\":\"20000\",\"p\":\"0.04499\"}]}";
static const char *const doc_liq_old =
    "{\"topic\":\"liquidation.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1703485237953,\"data\":{"
    "\"updatedTime\":1703485237953,\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"size\":\"0.003\","
    "\"price\":\"43511.70\"}}";
static const char *const doc_sub_ok = "{\"success\":true,\"ret_msg\":\"\",\"conn_id\":"
                                      "\"cejreaspqfh3sjdnldmg-p\",\"req_id\":\"sub-7\",\"op\":"
                                      "\"subscribe\"}";
static const char *const doc_sub_fail =
    "{\"success\":false,\"ret_msg\":\"error:handler not found,topic:orderbook.7.BTCUSDT\","
    "\"conn_id\":\"d2b2f4d7-5fb8\",\"req_id\":\"\",\"op\":\"subscribe\"}";
static const char *const doc_pong_spot =
    "{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":"
    "\"0970e817-426e-429a-a679-ff7f55e0b16a\",\"op\":\"ping\"}";
static const char *const doc_pong_linear =
    "{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"465772b1-7630-4fdc-a492-e003e6f0f260\","
    "\"req_id\":\"\",\"op\":\"ping\"}";
static const char *const doc_pong_option =
    "{\"args\":[\"1672916271846\"],\"op\":\"pong\",\"conn_id\":\"cfcb4ocsvfriu23r3er0-1b\"}";

static const char *const *const corpus[] = {
    &doc_trade_linear,  &doc_trade_spot,   &doc_book_snapshot, &doc_book_delta,  &doc_kline,
    &doc_ticker_linear, &doc_ticker_delta, &doc_ticker_spot,   &doc_liq,         &doc_liq_old,
    &doc_sub_ok,        &doc_sub_fail,     &doc_pong_spot,     &doc_pong_linear, &doc_pong_option,
};
#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ------------------------------------------------------------------------------------------ */

TEST(bybit_topics_urls_and_control_messages_are_exact)
{
    static const struct {
        struct vstream s;  /* spec */
        const char *topic; /* its topic */
    } cases[] = {
        {{VS_TRADE, 0, 0, 0, 0, 0, "BTCUSDT"}, "publicTrade.BTCUSDT"},
        {{VS_DIFF, 0, 1, 0, 0, 0, "BTCUSDT"}, "orderbook.1.BTCUSDT"},
        {{VS_DIFF, 0, 50, 0, 0, 0, "ETHUSDT"}, "orderbook.50.ETHUSDT"},
        {{VS_DIFF, 0, 200, 0, 0, 0, "BTCUSDT"}, "orderbook.200.BTCUSDT"},
        {{VS_DIFF, 0, 0, 0, 0, 0, "BTCUSDT"}, "orderbook.1000.BTCUSDT"},
        {{VS_KLINE, MDF_IV_1M, 0, 0, 0, 0, "BTCUSDT"}, "kline.1.BTCUSDT"},
        {{VS_KLINE, MDF_IV_4H, 0, 0, 0, 0, "BTCUSDT"}, "kline.240.BTCUSDT"},
        {{VS_KLINE, MDF_IV_1D, 0, 0, 0, 0, "BTCUSDT"}, "kline.D.BTCUSDT"},
        {{VS_KLINE, MDF_IV_1MO, 0, 0, 0, 0, "BTCUSDT"}, "kline.M.BTCUSDT"},
        {{VS_TICKER, 0, 0, 0, 0, 0, "BTCUSDT"}, "tickers.BTCUSDT"},
        {{VS_FORCEORDER, 0, 0, 0, 0, 0, "BTCUSD"}, "allLiquidation.BTCUSD"},
    };
    const char *many[12];
    char names[12][32], buf[4096], *big;
    struct vstream s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_GT(bybit_topic(BYBIT_LINEAR, &cases[i].s, buf, sizeof(buf)), 0);
        ASSERT_STR_EQ(buf, cases[i].topic);
        ASSERT_EQ(bybit_topic_parse(buf, strlen(buf), &s), 0);
        ASSERT_EQ(memcmp(&s, &cases[i].s, sizeof(s)), 0);
    }
    /* What the venue does not serve, each with its reason. */
    s = spec(VS_FORCEORDER, "BTCUSDT", 0, 0);
    ASSERT_EQ(bybit_stream_check(BYBIT_SPOT, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "bybit-spot has no force_order");
    s = spec(VS_DIFF, "BTCUSDT", 0, 25);
    ASSERT_EQ(bybit_stream_check(BYBIT_SPOT, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "depth 25");
    s = spec(VS_KLINE, "BTCUSDT", MDF_IV_8H, 0);
    ASSERT_EQ(bybit_stream_check(BYBIT_LINEAR, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "8h klines");
    s = spec(VS_AGGTRADE, "BTCUSDT", 0, 0);
    ASSERT_EQ(bybit_stream_check(BYBIT_LINEAR, &s), -EINVAL);
    s = spec(VS_TRADE, "btcusdt", 0, 0);
    ASSERT_EQ(bybit_stream_check(BYBIT_LINEAR, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "bad symbol");
    s = spec(VS_TRADE, "BTCUSDT", 0, 5);
    ASSERT_EQ(bybit_stream_check(BYBIT_LINEAR, &s), -EINVAL);
    ASSERT_EQ(bybit_topic_parse("orderbook.25.BTCUSDT", 20, &s), -EINVAL);
    ASSERT_EQ(bybit_topic_parse("kline.2.BTCUSDT", 15, &s), -EINVAL);
    ASSERT_EQ(bybit_topic_parse("orderbook.50.", 13, &s), -EINVAL);
    ASSERT_EQ(bybit_topic_parse("tickers.BTC\"USDT", 16, &s), -EINVAL);
    /* The older liquidation topic reads as allLiquidation. */
    ASSERT_EQ(bybit_topic_parse("liquidation.BTCUSDT", 19, &s), 0);
    ASSERT_EQ(s.type, VS_FORCEORDER);

    /* URLs. */
    ASSERT_GT(bybit_ws_url(BYBIT_SPOT, false, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "wss://stream.bybit.com/v5/public/spot");
    ASSERT_GT(bybit_ws_url(BYBIT_INVERSE, true, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "wss://stream-testnet.bybit.com/v5/public/inverse");
    ASSERT_EQ(bybit_ws_url(BYBIT_LINEAR, false, buf, 10), -ENOSPC);

    /* Requests. */
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "publicTrade.SYM%dUSDT", i);
        many[i] = names[i];
    }
    ASSERT_GT(bybit_control_msg(BYBIT_SPOT, true, many, 2, "sub-1", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"req_id\":\"sub-1\",\"op\":\"subscribe\",\"args\":[\"publicTrade."
                       "SYM0USDT\",\"publicTrade.SYM1USDT\"]}");
    ASSERT_GT(bybit_control_msg(BYBIT_LINEAR, false, many, 1, NULL, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"op\":\"unsubscribe\",\"args\":[\"publicTrade.SYM0USDT\"]}");
    /* Spot: 10 args per request; linear: no count limit. */
    ASSERT_EQ(bybit_batch_size(BYBIT_SPOT, many, 12), 10);
    ASSERT_EQ(bybit_batch_size(BYBIT_LINEAR, many, 12), 12);
    ASSERT_GT(bybit_control_msg(BYBIT_SPOT, true, many, 10, "a", buf, sizeof(buf)), 0);
    ASSERT_EQ(bybit_control_msg(BYBIT_SPOT, true, many, 11, "a", buf, sizeof(buf)), -E2BIG);
    ASSERT_GT(bybit_control_msg(BYBIT_LINEAR, true, many, 12, "a", buf, sizeof(buf)), 0);
    /* The args length limit: 21,000 characters including quotes and commas. */
    {
        const char *t[3];
        char *a = malloc(10000), *b = malloc(10000), *c = malloc(1100);
        ASSERT(a && b && c);
        memset(a, 'A', 9999);
        a[9999] = '\0';
        memset(b, 'B', 9999);
        b[9999] = '\0';
        memset(c, 'C', 994);
        c[994] = '\0';
        t[0] = a;
        t[1] = b;
        t[2] = c; /* 10001 + 10002 + 997 (994, quotes, comma) = 21000: fits */
        ASSERT_EQ(bybit_batch_size(BYBIT_LINEAR, t, 3), 3);
        c[994] = 'C';
        c[995] = '\0'; /* one more */
        ASSERT_EQ(bybit_batch_size(BYBIT_LINEAR, t, 3), 2);
        big = malloc(30000);
        ASSERT(big);
        ASSERT_EQ(bybit_control_msg(BYBIT_LINEAR, true, t, 3, NULL, big, 30000), -E2BIG);
        free(big);
        free(a);
        free(b);
        free(c);
    }
    ASSERT_EQ(bybit_control_msg(BYBIT_LINEAR, true, many, 0, NULL, buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(bybit_control_msg(BYBIT_LINEAR, true, many, 1, "a\"b", buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(bybit_control_msg(BYBIT_LINEAR, true, many, 2, NULL, buf, 40), -ENOSPC);
    ASSERT_GT(bybit_ping_msg("100001", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"req_id\":\"100001\",\"op\":\"ping\"}");
    ASSERT_GT(bybit_ping_msg(NULL, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"op\":\"ping\"}");
    return 0;
}

TEST(bybit_decodes_the_documented_messages_exactly)
{
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_LINEAR, 100, MAX_MSG);
    struct bybit_msg m;
    int64_t uuid_id;

    ASSERT(d);
    /* Linear trade: UUID id folded into a positive id, stable across decodes; seq kept. */
    ASSERT_EQ(decode(d, doc_trade_linear, &m), 0);
    ASSERT_EQ(m.kind, BYB_TRADES);
    ASSERT_EQ(m.spec.type, VS_TRADE);
    ASSERT_STR_EQ(m.spec.symbol, "BTCUSDT");
    ASSERT_EQ(m.n_trades, 1);
    ASSERT_EQ(m.trades[0].h.type, MDF_REC_TRADE);
    ASSERT_EQ(m.trades[0].h.size, sizeof(struct mdf_trade));
    ASSERT_EQ(m.trades[0].h.tx_time_ns, 1672304486865000000LL);
    ASSERT_EQ(m.trades[0].h.exch_time_ns, 1672304486868000000LL);
    ASSERT_EQ(m.trades[0].h.recv_time_ns, 777);
    ASSERT_EQ(m.trades[0].h.venue_seq, 1783284617);
    ASSERT_DEC(m.trades[0].price, "16578.50");
    ASSERT_DEC(m.trades[0].qty, "0.001");
    ASSERT_EQ(m.trades[0].side, MDF_SIDE_BUY);
    uuid_id = m.trades[0].trade_id;
    ASSERT_GT(uuid_id, 0);
    ASSERT_EQ(decode(d, doc_trade_linear, &m), 0);
    ASSERT_EQ(m.trades[0].trade_id, uuid_id);
    /* Spot trades: decimal ids as they are, sides. */
    ASSERT_EQ(decode(d, doc_trade_spot, &m), 0);
    ASSERT_EQ(m.n_trades, 2);
    ASSERT_EQ(m.trades[0].trade_id, 2290000000061666327LL);
    ASSERT_EQ(m.trades[1].trade_id, 2290000000061666328LL);
    ASSERT_EQ(m.trades[1].side, MDF_SIDE_SELL);
    ASSERT_DEC(m.trades[1].qty, "0.25");
    ASSERT_EQ(m.trades[0].first_id, m.trades[0].trade_id);

    /* Book snapshot and delta. */
    ASSERT_EQ(decode(d, doc_book_snapshot, &m), 0);
    ASSERT_EQ(m.kind, BYB_BOOK);
    ASSERT_EQ(m.spec.type, VS_DIFF);
    ASSERT_EQ(m.spec.levels, 50);
    ASSERT(m.snapshot);
    ASSERT_EQ(m.update_id, 18521288);
    ASSERT_EQ(m.seq, 7961638724LL);
    ASSERT_EQ(m.ts_ns, 1672304484978000000LL);
    ASSERT_EQ(m.cts_ns, 1672304484976000000LL);
    ASSERT_EQ(m.n_bids, 2);
    ASSERT_EQ(m.n_asks, 2);
    ASSERT_DEC(m.bids[1].px, "16493.00");
    ASSERT_DEC(m.bids[1].qty, "0.100");
    ASSERT_DEC(m.asks[0].px, "16611.00");
    ASSERT_EQ(decode(d, doc_book_delta, &m), 0);
    ASSERT(!m.snapshot);
    ASSERT_EQ(m.update_id, 177400507);
    ASSERT_DEC(m.bids[1].qty, "0");
    ASSERT_DEC(m.asks[1].qty, "0.892");

    /* Kline: still open (confirm false), times from start and end, turnover as quote volume. */
    ASSERT_EQ(decode(d, doc_kline, &m), 0);
    ASSERT_EQ(m.kind, BYB_CANDLES);
    ASSERT_EQ(m.spec.interval, MDF_IV_5M);
    ASSERT_EQ(m.n_candles, 1);
    ASSERT_EQ(m.candles[0].interval, MDF_IV_5M);
    ASSERT_EQ(m.candles[0].open_time_ns, 1672324800000000000LL);
    ASSERT_EQ(m.candles[0].close_time_ns, 1672325099999000000LL);
    ASSERT_EQ(m.candles[0].h.flags, 0);
    ASSERT_DEC(m.candles[0].open, "16649.5");
    ASSERT_DEC(m.candles[0].close, "16677");
    ASSERT_DEC(m.candles[0].high, "16677");
    ASSERT_DEC(m.candles[0].low, "16608");
    ASSERT_DEC(m.candles[0].volume, "2.081");
    ASSERT_DEC(m.candles[0].quote_volume, "34666.4005");
    {
        char closed[1024];
        char *p;
        snprintf(closed, sizeof(closed), "%s", doc_kline);
        p = strstr(closed, "\"confirm\":false");
        ASSERT(p);
        memcpy(p, "\"confirm\":true ", 15);
        ASSERT_EQ(decode(d, closed, &m), 0);
        ASSERT_EQ(m.candles[0].h.flags, MDF_CANDLE_F_CLOSED);
    }

    /* Ticker: the fields present, "" read as absent. */
    ASSERT_EQ(decode(d, doc_ticker_linear, &m), 0);
    ASSERT_EQ(m.kind, BYB_TICKER);
    ASSERT(m.ticker.snapshot);
    ASSERT(m.ticker.have & (1u << BYT_MARK));
    ASSERT(!(m.ticker.have & (1u << BYT_SETTLE)));
    ASSERT(m.ticker.have & (1u << BYT_NEXT_FUNDING));
    ASSERT_EQ(m.ticker.next_funding_ns, 1673280000000000000LL);
    ASSERT_DEC(m.ticker.v[BYT_FUNDING], "-0.000212");
    ASSERT_DEC(m.ticker.v[BYT_ASK_SZ], "83.020");
    ASSERT_EQ(decode(d, doc_ticker_delta, &m), 0);
    ASSERT(!m.ticker.snapshot);
    ASSERT_EQ(m.ticker.have, (1u << BYT_PCT) | (1u << BYT_MARK) | (1u << BYT_BID));

    /* Liquidations: the liquidated position's side, so a Sell position is closed by a buy. */
    ASSERT_EQ(decode(d, doc_liq, &m), 0);
    ASSERT_EQ(m.kind, BYB_LIQUIDATIONS);
    ASSERT_EQ(m.n_liqs, 1);
    ASSERT_EQ(m.liqs[0].h.type, MDF_REC_LIQUIDATION);
    ASSERT_EQ(m.liqs[0].side, MDF_SIDE_BUY);
    ASSERT_DEC(m.liqs[0].qty, "20000");
    ASSERT_DEC(m.liqs[0].price, "0.04499");
    ASSERT_EQ(m.liqs[0].h.tx_time_ns, 1739502302929000000LL);
    ASSERT_EQ(decode(d, doc_liq_old, &m), 0);
    ASSERT_EQ(m.n_liqs, 1);
    ASSERT_EQ(m.liqs[0].side, MDF_SIDE_SELL);
    ASSERT_DEC(m.liqs[0].price, "43511.70");

    /* Replies and pongs. */
    ASSERT_EQ(decode(d, doc_sub_ok, &m), 0);
    ASSERT_EQ(m.kind, BYB_REPLY);
    ASSERT(m.success);
    ASSERT_STR_EQ(m.op, "subscribe");
    ASSERT_STR_EQ(m.req_id, "sub-7");
    ASSERT_EQ(decode(d, doc_sub_fail, &m), 0);
    ASSERT_EQ(m.kind, BYB_REPLY);
    ASSERT(!m.success);
    ASSERT_CONTAINS(m.text, "handler not found");
    ASSERT_EQ(decode(d, doc_pong_spot, &m), 0);
    ASSERT_EQ(m.kind, BYB_PONG);
    ASSERT_EQ(decode(d, doc_pong_linear, &m), 0);
    ASSERT_EQ(m.kind, BYB_PONG);
    ASSERT_EQ(decode(d, doc_pong_option, &m), 0);
    ASSERT_EQ(m.kind, BYB_PONG);
    /* A topic mdfeed does not serve is ignored, not an error. */
    ASSERT_EQ(decode(d, "{\"topic\":\"insurance.USDT\",\"type\":\"delta\",\"data\":[]}", &m), 0);
    ASSERT_EQ(m.kind, BYB_IGNORED);
    bybit_decoder_free(d);
    return 0;
}

TEST(bybit_numbers_and_strings_give_identical_exact_decimals)
{
    static const char *const pairs[][2] = {
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"ts\":\"1\",\"data\":[{\"T\":\"5\",\"S\":\"Sell\","
         "\"v\":\"0.10\",\"p\":\"1e-8\",\"i\":\"7\"}]}",
         "{\"topic\":\"publicTrade.BTCUSDT\",\"ts\":1,\"data\":[{\"T\":5,\"S\":\"Sell\",\"v\":0.10,"
         "\"p\":1e-8,\"i\":7}]}"},
        {"{\"topic\":\"orderbook.1.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"b\":[["
         "\"100.50\",\"2\"]],\"a\":[],\"u\":\"9\"}}",
         "{\"topic\":\"orderbook.1.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"b\":[["
         "100.50,2]],\"a\":[],\"u\":9}}"},
    };
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_SPOT, 10, 4096);
    struct bybit_msg a, b;

    ASSERT(d);
    ASSERT_EQ(decode(d, pairs[0][0], &a), 0);
    ASSERT_EQ(decode(d, pairs[0][1], &b), 0);
    ASSERT_EQ(a.n_trades, 1);
    {
        struct mdf_trade ta = a.trades[0];
        ASSERT_EQ(decode(d, pairs[0][1], &b), 0);
        ASSERT_EQ(memcmp(&ta, &b.trades[0], sizeof(ta)), 0);
        ASSERT_DEC(ta.qty, "0.10");
        ASSERT_EQ(ta.price.m, 1);
        ASSERT_EQ(ta.price.e, -8);
        ASSERT_EQ(ta.trade_id, 7);
    }
    ASSERT_EQ(decode(d, pairs[1][0], &a), 0);
    {
        struct vlevel la = a.bids[0];
        int64_t ua = a.update_id;
        ASSERT_EQ(decode(d, pairs[1][1], &b), 0);
        ASSERT_EQ(memcmp(&la, &b.bids[0], sizeof(la)), 0);
        ASSERT_EQ(ua, b.update_id);
        ASSERT_DEC(la.px, "100.50");
    }
    bybit_decoder_free(d);
    return 0;
}

TEST(bybit_decoder_refuses_hostile_input_with_codes_naming_the_field)
{
    static const struct {
        const char *msg;  /* input */
        int rc;           /* expected return */
        const char *what; /* in the error text */
    } cases[] = {
        {"", -EBADMSG, "JSON"},
        {"[1,2]", -EBADMSG, "not an object"},
        {"{\"topic\":7}", -EBADMSG, "topic"},
        {"{\"topic\":\"publicTrade.BTCUSDT\"}", -EBADMSG, "missing data"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":{}}", -EBADMSG, "not an array"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":1,\"S\":\"Up\",\"v\":\"1\",\"p\":"
         "\"1\",\"i\":\"1\"}]}",
         -EBADMSG, "S: not Buy or Sell"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":1,\"S\":\"Buy\",\"v\":\"1\",\"p\":"
         "\"-1\",\"i\":\"1\"}]}",
         -ERANGE, "p"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":1,\"S\":\"Buy\",\"v\":\"0\",\"p\":"
         "\"1\",\"i\":\"1\"}]}",
         -ERANGE, "v"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":-1,\"S\":\"Buy\",\"v\":\"1\",\"p\":"
         "\"1\",\"i\":\"1\"}]}",
         -ERANGE, "T"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":1,\"s\":\"ETHUSDT\",\"S\":\"Buy\","
         "\"v\":\"1\",\"p\":\"1\",\"i\":\"1\"}]}",
         -EBADMSG, "symbol ETHUSDT"},
        {"{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[{\"T\":1,\"S\":\"Buy\",\"v\":\"1\",\"p\":"
         "\"99999999999999999999\",\"i\":\"1\"}]}",
         -ERANGE, "p"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"data\":{\"b\":[],\"a\":[]}}",
         -EBADMSG, "missing u"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"b\":[[\"0\",\"1\"]"
         "],\"a\":[],\"u\":1}}",
         -ERANGE, "price"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"b\":[[\"1\",\"-1\""
         "]],\"a\":[],\"u\":1}}",
         -ERANGE, "size"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"b\":[[\"1\"]],"
         "\"a\":[],\"u\":1}}",
         -EBADMSG, "not [price, size]"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"full\",\"data\":{}}", -EBADMSG, "type"},
        {"{\"topic\":\"orderbook.50.BTCUSDT\",\"data\":{}}", -EBADMSG, "missing type"},
        {"{\"topic\":\"kline.5.BTCUSDT\",\"data\":[{\"start\":1,\"end\":2,\"open\":\"2\","
         "\"close\":\"2\",\"high\":\"1\",\"low\":\"3\",\"volume\":\"1\",\"turnover\":\"1\","
         "\"confirm\":true}]}",
         -ERANGE, "high"},
        {"{\"topic\":\"kline.5.BTCUSDT\",\"data\":[{\"start\":1,\"end\":2,\"open\":\"2\","
         "\"close\":\"2\",\"high\":\"3\",\"low\":\"1\",\"volume\":\"1\",\"turnover\":\"1\","
         "\"confirm\":\"yes\"}]}",
         -EBADMSG, "confirm"},
        {"{\"topic\":\"kline.5.BTCUSDT\",\"data\":[{\"start\":1,\"end\":2,\"interval\":\"15\","
         "\"open\":\"2\",\"close\":\"2\",\"high\":\"3\",\"low\":\"1\",\"volume\":\"1\","
         "\"turnover\":\"1\",\"confirm\":true}]}",
         -EBADMSG, "interval 15"},
        {"{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{\"markPrice\":\"0\"}}",
         -ERANGE, "markPrice"},
        {"{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{\"lastPrice\":true}}",
         -EBADMSG, "lastPrice"},
        {"{\"topic\":\"allLiquidation.BTCUSDT\",\"data\":[{\"T\":1,\"S\":\"Sell\",\"v\":\"1\"}]}",
         -EBADMSG, "missing p"},
        {"{\"op\":\"subscribe\",\"success\":\"yes\"}", -EBADMSG, "success"},
    };
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_LINEAR, 4, 4096);
    struct bybit_msg m;
    char big[512];
    int rc;

    ASSERT(d);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = decode(d, cases[i].msg, &m);
        if (rc != cases[i].rc)
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc,
                      mdf_errmsg());
        ASSERT_CONTAINS(mdf_errmsg(), cases[i].what);
        ASSERT_EQ(m.kind, BYB_NONE);
    }
    /* More items than the decoder holds: -E2BIG. */
    snprintf(big, sizeof(big),
             "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"data\":{\"b\":[[\"1\","
             "\"1\"],[\"2\",\"1\"],[\"3\",\"1\"],[\"4\",\"1\"],[\"5\",\"1\"]],\"a\":[],\"u\":1}}");
    ASSERT_EQ(decode(d, big, &m), -E2BIG);
    bybit_decoder_free(d);
    /* A message over the size limit. */
    d = bybit_decoder_new(BYBIT_LINEAR, 4, 64);
    ASSERT(d);
    ASSERT_EQ(decode(d, doc_book_snapshot, &m), -E2BIG);
    bybit_decoder_free(d);
    ASSERT(!bybit_decoder_new(BYBIT_CATEGORY_COUNT, 4, 4096));
    return 0;
}

TEST(bybit_decoder_refuses_every_truncation_and_survives_mutations)
{
    static const char alphabet[] = "[]{},:\"-+.eE0123456789 tfnulsBuyS\\x";
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_LINEAR, 8, 4096);
    struct test_rng rng;
    struct bybit_msg m;
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
            rc = bybit_decode(d, (const uint8_t *)p, cut, 1, &m);
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
        rc = bybit_decode(d, (const uint8_t *)p, len, 1, &m);
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
    bybit_decoder_free(d);
    return 0;
}

TEST(bybit_ticker_merge_keeps_fields_across_deltas)
{
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_LINEAR, 10, 8192);
    struct bybit_ticker_state st;
    struct bybit_msg m;
    struct mdf_ticker t;
    struct mdf_funding f;

    ASSERT(d);
    bybit_ticker_init(&st);
    /* A delta before any snapshot cannot be merged. */
    ASSERT_EQ(decode(d, doc_ticker_delta, &m), 0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 5, &t, &f), 0);
    ASSERT_EQ(st.ignored, 1);
    /* Snapshot: both records, whole. */
    ASSERT_EQ(decode(d, doc_ticker_linear, &m), 0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 6, &t, &f), BYT_OUT_TICKER | BYT_OUT_FUNDING);
    ASSERT_EQ(t.h.type, MDF_REC_TICKER);
    ASSERT_EQ(t.h.recv_time_ns, 6);
    ASSERT_EQ(t.h.exch_time_ns, 1673272861686000000LL);
    ASSERT_DEC(t.last_px, "17216.00");
    ASSERT_DEC(t.open_px, "16926.50");
    ASSERT_DEC(t.high_px, "17281.50");
    ASSERT_DEC(t.low_px, "16915.00");
    ASSERT_DEC(t.volume, "91705.276");
    ASSERT_DEC(t.quote_volume, "1570383121.943499");
    ASSERT_DEC(t.change_pct, "1.7103");
    ASSERT_DEC(t.bid_px, "17215.50");
    ASSERT_DEC(t.ask_qty, "83.020");
    ASSERT_EQ(f.h.type, MDF_REC_FUNDING);
    ASSERT_DEC(f.mark_px, "17217.33");
    ASSERT_DEC(f.index_px, "17227.36");
    ASSERT_DEC(f.funding_rate, "-0.000212");
    ASSERT_EQ(f.next_funding_time_ns, 1673280000000000000LL);
    ASSERT_EQ(f.est_settle_px.m, 0);
    /* Delta: changed fields overwrite, the rest are kept. */
    ASSERT_EQ(decode(d, doc_ticker_delta, &m), 0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 7, &t, &f), BYT_OUT_TICKER | BYT_OUT_FUNDING);
    ASSERT_DEC(t.change_pct, "1.7");
    ASSERT_DEC(t.bid_px, "17215.00");
    ASSERT_DEC(t.bid_qty, "84.489");
    ASSERT_DEC(t.last_px, "17216.00");
    ASSERT_DEC(f.mark_px, "17218.01");
    ASSERT_DEC(f.index_px, "17227.36");
    ASSERT_EQ(f.next_funding_time_ns, 1673280000000000000LL);
    /* A delta of funding fields only fills the funding record only. */
    ASSERT_EQ(decode(d,
                     "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"ts\":9,\"data\":{"
                     "\"fundingRate\":\"0.0001\",\"nextFundingTime\":\"1673308800000\"}}",
                     &m),
              0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 8, &t, &f), BYT_OUT_FUNDING);
    ASSERT_DEC(f.funding_rate, "0.0001");
    ASSERT_EQ(f.next_funding_time_ns, 1673308800000000000LL);
    ASSERT_DEC(f.mark_px, "17218.01");
    /* A delta that would leave high below low is refused. */
    ASSERT_EQ(decode(d,
                     "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"ts\":9,\"data\":{"
                     "\"highPrice24h\":\"100\"}}",
                     &m),
              0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 8, &t, &f), -ERANGE);
    /* Spot: snapshots only, no funding. */
    bybit_ticker_init(&st);
    ASSERT_EQ(decode(d, doc_ticker_spot, &m), 0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 9, &t, &f), BYT_OUT_TICKER);
    ASSERT_DEC(t.change_pct, "1.96");
    ASSERT_DEC(t.low_px, "20575");
    ASSERT_EQ(t.bid_px.m, 0);
    /* Not a ticker. */
    ASSERT_EQ(decode(d, doc_liq, &m), 0);
    ASSERT_EQ(bybit_ticker_apply(&st, &m, 9, &t, &f), -EINVAL);
    bybit_decoder_free(d);
    return 0;
}

TEST(bybit_liveness_follows_the_documented_push_frequencies)
{
    struct vstream s;
    struct vliveness l;

    /* Depth 1 is re-sent every 3 s even when nothing changes: its silence is evidence. */
    s = spec(VS_DIFF, "BTCUSDT", 0, 1);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.guaranteed_ms, 3000);
    ASSERT_EQ(l.period_ms, 10);
    ASSERT_EQ(l.proof, VP_VENUE_TIME);
    s = spec(VS_DIFF, "BTCUSDT", 0, 200);
    bybit_stream_liveness(BYBIT_SPOT, &s, &l);
    ASSERT_EQ(l.period_ms, 200);
    ASSERT_EQ(l.guaranteed_ms, 0);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.period_ms, 100);
    s = spec(VS_DIFF, "BTCUSDT", 0, 0);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.period_ms, 200);
    /* Trade ids prove progress on spot only (linear ids are hashes). */
    s = spec(VS_TRADE, "BTCUSDT", 0, 0);
    bybit_stream_liveness(BYBIT_SPOT, &s, &l);
    ASSERT_EQ(l.proof, VP_TRADE_ID);
    ASSERT(l.gives_id && l.gives_time && l.follows_trades);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.proof, VP_VENUE_TIME);
    ASSERT(!l.gives_id);
    s = spec(VS_TICKER, "BTCUSDT", 0, 0);
    bybit_stream_liveness(BYBIT_SPOT, &s, &l);
    ASSERT_EQ(l.period_ms, 50);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.period_ms, 100);
    s = spec(VS_FORCEORDER, "BTCUSDT", 0, 0);
    bybit_stream_liveness(BYBIT_LINEAR, &s, &l);
    ASSERT_EQ(l.proof, VP_NONE);
    ASSERT_EQ(l.guaranteed_ms, 0);
    ASSERT(!l.follows_trades);
    return 0;
}

TEST(bybit_profiles_name_route_and_reach_their_topics_through_the_venue_interface)
{
    static const struct {
        const char *name, *host, *path;
    } want[] = {
        {"bybit-spot", BYBIT_HOST, "/v5/public/spot"},
        {"bybit-linear", BYBIT_HOST, "/v5/public/linear"},
        {"bybit-inverse", BYBIT_HOST, "/v5/public/inverse"},
        {"bybit-spot-testnet", BYBIT_HOST_TESTNET, "/v5/public/spot"},
        {"bybit-linear-testnet", BYBIT_HOST_TESTNET, "/v5/public/linear"},
    };
    struct vstream t = spec(VS_TRADE, "BTCUSDT", 0, 0);
    struct vstream b = spec(VS_DIFF, "ETHUSDT", 0, 50);
    char buf[128], exp[128];
    struct vliveness l, r;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct venue_profile *p = venue_profile_find(want[i].name);

        ASSERT(p);
        ASSERT_STR_EQ(p->proto->name, "bybit");
        ASSERT_STR_EQ(p->ws_url, want[i].host);
        /* The profile's url plus the category's path; a trailing slash is not doubled. */
        snprintf(exp, sizeof(exp), "%s%s", want[i].host, want[i].path);
        ASSERT(p->proto->ws_url(p, p->ws_url, VR_ROOT, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, exp);
        snprintf(exp, sizeof(exp), "wss://127.0.0.1:9443%s", want[i].path);
        ASSERT(p->proto->ws_url(p, "wss://127.0.0.1:9443/", VR_ROOT, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, exp);
        ASSERT_EQ(p->proto->route(p, &b), VR_ROOT);
        /* Names are the topics the venue's data carries. */
        ASSERT(p->proto->stream_name(p, &t, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, "publicTrade.BTCUSDT");
        ASSERT(p->proto->stream_name(p, &b, buf, sizeof(buf)) > 0);
        ASSERT_STR_EQ(buf, "orderbook.50.ETHUSDT");
        /* The evidence rule is the category's. */
        vstream_liveness(p, &t, &l);
        bybit_stream_liveness((enum bybit_category)p->variant, &t, &r);
        ASSERT(memcmp(&l, &r, sizeof(l)) == 0);
        ASSERT_EQ(vstream_cadence_ms(p, &b), r.period_ms ? r.period_ms : 20);
    }
    /* Spot has no liquidations: the check says so through the table too. */
    {
        const struct venue_profile *p = venue_profile_find("bybit-spot");
        struct vstream q = spec(VS_FORCEORDER, "BTCUSDT", 0, 0);

        ASSERT(p->proto->stream_check(p, &q) == -EINVAL);
        ASSERT(p->proto->stream_name(p, &q, buf, sizeof(buf)) < 0);
        ASSERT_CONTAINS(mdf_errmsg(), "BTCUSDT");
    }
    venue_profile_find("bybit-spot")->proto->symbol_common("BTCUSDT", buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "BTC/USDT");
    venue_profile_find("bybit-inverse")->proto->symbol_common("BTCUSD", buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "BTC/USD");
    return 0;
}
