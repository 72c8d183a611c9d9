/*
 * End to end on USD-M futures: the crafted recording of tests/fixtures/binance-futures (message
 * shapes from the venue's documentation, a pu-chained diff stream) replayed over the routed
 * paths (/public for book data, /market for the rest). Every stream type lands in its record
 * exactly; the books follow the pu rule; a stream the venue moved to the other path is caught
 * by the silence alarm.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define WS_REC "tests/fixtures/binance-futures/ws.rec"
#define HTTP_REC "tests/fixtures/binance-futures/http.rec"
#define MS 1000000LL

static const char *const symbols[] = {"BTCUSDT", "ETHUSDT", "SUSHIUSDT"};

#define FUTURES_CONF                                                                               \
    "venues = ({ venue = \"binance-futures\"; url = \"ws://127.0.0.1:%d\";\n"                      \
    "  rest_url = \"http://127.0.0.1:%d\";\n"                                                      \
    "  symbols = [\"BTCUSDT\", \"ETHUSDT\", \"SUSHIUSDT\"];\n"                                     \
    "  trades = \"agg_trade\"; kline = \"1m\"; book_ticker = true; order_book = \"diff\";\n"       \
    "  book_speed = 100; ticker = true; mini_ticker = true; funding = true;\n"                     \
    "  liquidations = true;\n"                                                                     \
    "  streams = ( { symbol = \"BTCUSDT\"; type = \"depth\"; levels = 10; },\n"                    \
    "    { symbol = \"ETHUSDT\"; type = \"depth\"; levels = 10; },\n"                              \
    "    { symbol = \"SUSHIUSDT\"; type = \"depth\"; levels = 10; },\n"                            \
    "    { symbol = \"BTCUSDT\"; type = \"mark_price\"; },\n"                                      \
    "    { symbol = \"ETHUSDT\"; type = \"mark_price\"; },\n"                                      \
    "    { symbol = \"SUSHIUSDT\"; type = \"mark_price\"; } );\n"                                  \
    "  health = { silent_after = 3.0; check_interval = 0.2; };\n"                                  \
    "});\n"

/* The next record of ring v[0..n) from *i on with this symbol and type (and, for books, this
 * partial flag), or NULL. */
static const mdf_record_t *next_of(const mdf_record_t *v, long n, long *i, uint32_t sym, int type,
                                   int partial)
{
    for (; *i < n; (*i)++) {
        const mdf_record_t *r = &v[*i];

        if (r->h.symbol != sym || r->h.type != type)
            continue;
        if (partial >= 0 && !!(r->h.flags & MDF_BOOK_F_PARTIAL) != partial)
            continue;
        (*i)++;
        return r;
    }
    return NULL;
}

TEST(e2e_futures_routed_streams_land_exactly_and_books_follow_pu_chain)
{
    struct fv_proc fv;
    struct dmn d;
    struct e2e_rec rec;
    mdf_instance_t *inst;
    mdf_record_t *ticks = NULL, *candles = NULL, *books = NULL, *funding = NULL;
    long nt, nc, nb, nf;
    const char *fv_args[] = {"--venue", "binance-futures", "--replay", WS_REC, "--rest",
                             HTTP_REC,  "--speed",         "2",        NULL};
    char why[256];

    ASSERT_EQ(e2e_rec_load(&rec, WS_REC), 0);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, FUTURES_CONF, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    /* Two connections: one on /public, one on /market. */
    ASSERT_EQ(fv_wait_line(&fv, "upgrade /public/stream", 10000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "upgrade /market/stream", 10000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 30000, NULL, 0), 0);
    usleep(500000);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_SILENT"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
    nc = e2e_drain(d.instance, MDF_RING_CANDLES, &candles);
    nb = e2e_drain(d.instance, MDF_RING_BOOKS, &books);
    nf = e2e_drain(d.instance, MDF_RING_FUNDING, &funding);
    ASSERT(nt > 0 && nb > 0 && nf > 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);

    for (size_t si = 0; si < 3; si++) {
        char key[64], lower[16];
        /* One cursor per record type: the two connections interleave in any order. */
        long itr = 0, ibb = 0, itk = 0, ilq = 0, ib = 0, ic = 0, ifd = 0, ip = 0;
        int64_t sym;
        json_t *snap = e2e_rest_snapshot(HTTP_REC, symbols[si]);
        int64_t id = e2e_num(snap, "lastUpdateId"), last_applied = 0;
        struct e2e_book *ref = calloc(1, sizeof(*ref));
        bool bridged = false;
        long checked = 0, closed = 0;

        snprintf(key, sizeof(key), "binance-futures:%s", symbols[si]);
        sym = mdf_symbol_lookup(inst, key);
        ASSERT(sym >= 0);
        for (size_t k = 0; symbols[si][k] && k < sizeof(lower) - 1; k++)
            lower[k] = (char)(symbols[si][k] + ('a' - 'A')), lower[k + 1] = '\0';
        e2e_book_set(ref, json_object_get(snap, "bids"), json_object_get(snap, "asks"));
        for (size_t i = 0; i < rec.n; i++) {
            json_t *m = rec.msg[i], *x = json_object_get(m, "data");
            const char *st = e2e_str(m, "stream"), *at = strchr(st, '@');
            const mdf_record_t *r;

            if ((size_t)(at - st) != strlen(lower) || strncmp(st, lower, strlen(lower)) != 0)
                continue;
            at++;
            if (strcmp(at, "aggTrade") == 0) {
                r = next_of(ticks, nt, &itr, (uint32_t)sym, MDF_REC_TRADE, -1);
                ASSERT(r != NULL);
                e2e_check_aggtrade(r, x);
            } else if (strcmp(at, "bookTicker") == 0) {
                r = next_of(ticks, nt, &ibb, (uint32_t)sym, MDF_REC_BBO, -1);
                ASSERT(r != NULL);
                e2e_check_bookticker(r, x);
            } else if (strcmp(at, "ticker") == 0 || strcmp(at, "miniTicker") == 0) {
                bool mini = at[0] == 'm';

                r = next_of(ticks, nt, &itk, (uint32_t)sym, MDF_REC_TICKER, -1);
                ASSERT(r != NULL);
                ASSERT_EQ(!!(r->h.flags & MDF_TICKER_F_MINI), mini);
                E2E_ASSERT_DEC(r->ticker.last_px, e2e_str(x, "c"));
                E2E_ASSERT_DEC(r->ticker.open_px, e2e_str(x, "o"));
                E2E_ASSERT_DEC(r->ticker.high_px, e2e_str(x, "h"));
                E2E_ASSERT_DEC(r->ticker.volume, e2e_str(x, "v"));
                E2E_ASSERT_DEC(r->ticker.quote_volume, e2e_str(x, "q"));
                if (!mini) {
                    E2E_ASSERT_DEC(r->ticker.change_pct, e2e_str(x, "P"));
                    E2E_ASSERT_DEC(r->ticker.vwap, e2e_str(x, "w"));
                    ASSERT_EQ(r->ticker.count, e2e_num(x, "n"));
                    ASSERT_EQ(r->ticker.last_id, e2e_num(x, "L"));
                }
            } else if (strcmp(at, "forceOrder") == 0) {
                json_t *o = json_object_get(x, "o");

                r = next_of(ticks, nt, &ilq, (uint32_t)sym, MDF_REC_LIQUIDATION, -1);
                ASSERT(r != NULL);
                E2E_ASSERT_DEC(r->liquidation.price, e2e_str(o, "p"));
                E2E_ASSERT_DEC(r->liquidation.avg_price, e2e_str(o, "ap"));
                E2E_ASSERT_DEC(r->liquidation.filled_qty, e2e_str(o, "z"));
                E2E_ASSERT_DEC(r->liquidation.last_qty, e2e_str(o, "l"));
                ASSERT_STR_EQ(r->liquidation.status, e2e_str(o, "X"));
                ASSERT_STR_EQ(r->liquidation.order_type, e2e_str(o, "o"));
                ASSERT_STR_EQ(r->liquidation.time_in_force, e2e_str(o, "f"));
                ASSERT_EQ(r->liquidation.side,
                          strcmp(e2e_str(o, "S"), "SELL") == 0 ? MDF_SIDE_SELL : MDF_SIDE_BUY);
            } else if (strncmp(at, "markPrice", 9) == 0) {
                r = next_of(funding, nf, &ifd, (uint32_t)sym, MDF_REC_FUNDING, -1);
                ASSERT(r != NULL);
                E2E_ASSERT_DEC(r->funding.mark_px, e2e_str(x, "p"));
                E2E_ASSERT_DEC(r->funding.index_px, e2e_str(x, "i"));
                E2E_ASSERT_DEC(r->funding.est_settle_px, e2e_str(x, "P"));
                E2E_ASSERT_DEC(r->funding.funding_rate, e2e_str(x, "r"));
                ASSERT_EQ(r->funding.next_funding_time_ns, e2e_num(x, "T") * MS);
            } else if (strncmp(at, "kline", 5) == 0) {
                json_t *k = json_object_get(x, "k");

                if (!json_is_true(json_object_get(k, "x")))
                    continue; /* open candles are not published (emit_partial_candles off) */
                r = next_of(candles, nc, &ic, (uint32_t)sym, MDF_REC_CANDLE, -1);
                ASSERT(r != NULL);
                ASSERT(r->h.flags & MDF_CANDLE_F_CLOSED);
                ASSERT_EQ(r->candle.open_time_ns, e2e_num(k, "t") * MS);
                E2E_ASSERT_DEC(r->candle.close, e2e_str(k, "c"));
                E2E_ASSERT_DEC(r->candle.taker_buy_quote, e2e_str(k, "Q"));
                closed++;
            } else if (strcmp(at, "depth10") == 0) {
                json_t *b = json_object_get(x, "b");

                r = next_of(books, nb, &ip, (uint32_t)sym, MDF_REC_BOOK, 1);
                ASSERT(r != NULL);
                ASSERT_EQ(r->book.last_update_id, e2e_num(x, "u"));
                ASSERT_EQ(r->book.n_bids, (uint16_t)json_array_size(b));
                E2E_ASSERT_DEC(r->book.levels[0].px,
                               json_string_value(json_array_get(json_array_get(b, 0), 0)));
            } else if (strcmp(at, "depth@100ms") == 0) {
                int64_t U = e2e_num(x, "U"), u = e2e_num(x, "u"), pu = e2e_num(x, "pu");

                if (u < id)
                    continue; /* covered by the snapshot */
                if (!bridged) {
                    ASSERT(U <= id && id <= u); /* the bridging event */
                    bridged = true;
                } else {
                    ASSERT_EQ(pu, id); /* the crafted chain has no break */
                }
                id = u;
                e2e_book_apply(ref, json_object_get(x, "b"), json_object_get(x, "a"));
                last_applied = u;
                for (; ib < nb; ib++) {
                    const struct mdf_book *bk = &books[ib].book;

                    if (bk->h.symbol != (uint32_t)sym || (bk->h.flags & MDF_BOOK_F_PARTIAL) ||
                        bk->state != MDF_BOOK_LIVE)
                        continue;
                    if (bk->last_update_id > id)
                        break;
                    if (bk->last_update_id < id)
                        continue;
                    if (!e2e_book_equal(ref, bk, why, sizeof(why)))
                        test_fail(__FILE__, __LINE__, "%s at %" PRId64 ": %s", symbols[si], id,
                                  why);
                    ASSERT_EQ(bk->generation, 0u);
                    checked++;
                }
            }
        }
        ASSERT(bridged);
        ASSERT(checked > 0);
        ASSERT(last_applied > 0);
        ASSERT_EQ(closed, 1);
        json_decref(snap);
        free(ref);
    }
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    free(ticks);
    free(candles);
    free(books);
    free(funding);
    e2e_rec_free(&rec);
    return 0;
}

TEST(e2e_futures_stream_moved_to_other_path_raises_silence_alarm)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--venue",    "binance-futures", "--replay", WS_REC,
                             "--rest",     HTTP_REC,          "--speed",  "1",
                             "--misroute", "@markPrice@1s",   NULL};

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, FUTURES_CONF, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    /* Exactly the moved streams raise the alarm, each once; everything else delivers. */
    for (int i = 0; i < 3; i++) {
        char line[512];

        ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_SILENT", 15000, line, sizeof(line)), 0);
        ASSERT_CONTAINS(line, "@markPrice@1s acknowledged");
    }
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 30000, NULL, 0), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_SILENT"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
