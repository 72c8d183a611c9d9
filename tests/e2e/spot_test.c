/*
 * End to end on the real Binance spot recording: the fake venue replays
 * tests/fixtures/binance-spot, mdfeedd subscribes and publishes, and the test reads shared memory
 * through the public reader API and checks every record against the recording, parsed here
 * independently with jansson; each book against a reference rebuilt from snapshot + diffs.
 */
#include <inttypes.h>
#include <signal.h>
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

#define WS_REC "tests/fixtures/binance-spot/ws.rec"
#define HTTP_REC "tests/fixtures/binance-spot/http.rec"
#define MS 1000000LL

static const char *const symbols[] = {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"};

static const char *stream_type(json_t *m)
{
    const char *st = e2e_str(m, "stream");

    return strchr(st, '@') + 1;
}

/* Symbol id of the daemon's table for a recording stream. */
static uint32_t sym_id(mdf_instance_t *inst, json_t *m)
{
    char key[96], up[48];
    const char *st = e2e_str(m, "stream");
    size_t i;

    for (i = 0; st[i] && st[i] != '@' && i < sizeof(up) - 1; i++)
        up[i] = (char)(st[i] >= 'a' && st[i] <= 'z' ? st[i] - 32 : st[i]);
    up[i] = '\0';
    snprintf(key, sizeof(key), "binance-spot:%s", up);
    return (uint32_t)mdf_symbol_lookup(inst, key);
}

TEST(e2e_spot_replay_every_message_lands_exactly_and_books_match_rebuild)
{
    struct fv_proc fv;
    struct dmn d;
    struct e2e_rec rec;
    mdf_instance_t *inst;
    mdf_record_t *ticks = NULL, *candles = NULL, *books = NULL;
    long nt = 0, nc = 0, nb = 0;
    size_t want_trades = 0, want_bbo = 0, want_kline = 0, ti = 0, ci = 0;
    const char *fv_args[] = {"--replay", WS_REC, "--rest", HTTP_REC, "--speed", "4", NULL};
    char why[256];

    ASSERT_EQ(e2e_rec_load(&rec, WS_REC), 0);
    ASSERT(rec.n > 250);
    for (size_t i = 0; i < rec.n; i++) {
        const char *t = stream_type(rec.msg[i]);

        want_trades += strcmp(t, "aggTrade") == 0;
        want_bbo += strcmp(t, "bookTicker") == 0;
        want_kline += strncmp(t, "kline", 5) == 0;
    }
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"NKNUSDT\", \"BLZETH\", \"LRCBTC\", \"RUNEEUR\"];\n"
                         "  trades = \"agg_trade\"; kline = \"1m\"; book_ticker = true;\n"
                         "  order_book = \"diff\"; book_speed = 100;\n"
                         "  emit_partial_candles = true; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 30000, NULL, 0), 0);
    /* Everything sent is in shared memory once the bbo count is complete. */
    for (int k = 0; k < 200; k++) {
        free(ticks);
        nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
        if (nt >= (long)(want_trades + want_bbo))
            break;
        usleep(50000);
    }
    nc = e2e_drain(d.instance, MDF_RING_CANDLES, &candles);
    nb = e2e_drain(d.instance, MDF_RING_BOOKS, &books);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(nt, (long)(want_trades + want_bbo));
    ASSERT_EQ(nc, (long)want_kline);

    /* Ticks and candles: in recording order, every field exact. */
    for (size_t i = 0; i < rec.n; i++) {
        json_t *m = rec.msg[i], *x = json_object_get(m, "data");
        const char *t = stream_type(m);

        if (strcmp(t, "aggTrade") == 0 || strcmp(t, "bookTicker") == 0) {
            const mdf_record_t *r = &ticks[ti++];

            ASSERT_EQ(r->h.symbol, sym_id(inst, m));
            ASSERT_STR_EQ(mdf_venue_name(inst, r->h.venue), "binance-spot");
            ASSERT(r->h.recv_time_ns > 0);
            if (t[0] == 'a')
                e2e_check_aggtrade(r, x);
            else
                e2e_check_bookticker(r, x);
        } else if (strncmp(t, "kline", 5) == 0) {
            const mdf_record_t *r = &candles[ci++];
            json_t *k = json_object_get(x, "k");

            ASSERT_EQ(r->h.type, MDF_REC_CANDLE);
            ASSERT_EQ(r->h.symbol, sym_id(inst, m));
            ASSERT_EQ(r->candle.interval, (uint32_t)MDF_IV_1M);
            ASSERT_EQ(!!(r->h.flags & MDF_CANDLE_F_CLOSED), json_is_true(json_object_get(k, "x")));
            ASSERT_EQ(r->h.exch_time_ns, e2e_num(x, "E") * MS);
            ASSERT_EQ(r->candle.open_time_ns, e2e_num(k, "t") * MS);
            ASSERT_EQ(r->candle.close_time_ns, e2e_num(k, "T") * MS);
            E2E_ASSERT_DEC(r->candle.open, e2e_str(k, "o"));
            E2E_ASSERT_DEC(r->candle.high, e2e_str(k, "h"));
            E2E_ASSERT_DEC(r->candle.low, e2e_str(k, "l"));
            E2E_ASSERT_DEC(r->candle.close, e2e_str(k, "c"));
            E2E_ASSERT_DEC(r->candle.volume, e2e_str(k, "v"));
            E2E_ASSERT_DEC(r->candle.quote_volume, e2e_str(k, "q"));
            E2E_ASSERT_DEC(r->candle.taker_buy_base, e2e_str(k, "V"));
            E2E_ASSERT_DEC(r->candle.taker_buy_quote, e2e_str(k, "Q"));
            ASSERT_EQ(r->candle.trades, e2e_num(k, "n"));
            ASSERT_EQ(r->candle.first_id, e2e_num(k, "f"));
            ASSERT_EQ(r->candle.last_id, e2e_num(k, "L"));
        }
    }

    /* Books: rebuild each from its snapshot + the diffs after it, and check every LIVE record
     * the daemon published against the reference at the same update id. */
    for (size_t si = 0; si < sizeof(symbols) / sizeof(symbols[0]); si++) {
        json_t *snap = e2e_rest_snapshot(HTTP_REC, symbols[si]);
        int64_t id = e2e_num(snap, "lastUpdateId");
        struct e2e_book *ref = calloc(1, sizeof(*ref));
        char key[64];
        uint32_t sym;
        long bi = 0, checked = 0;
        int64_t last_applied = 0;

        snprintf(key, sizeof(key), "binance-spot:%s", symbols[si]);
        sym = (uint32_t)mdf_symbol_lookup(inst, key);
        e2e_book_set(ref, json_object_get(snap, "bids"), json_object_get(snap, "asks"));
        for (size_t i = 0; i < rec.n; i++) {
            json_t *m = rec.msg[i], *x = json_object_get(m, "data");

            if (strcmp(stream_type(m), "depth@100ms") != 0 || sym_id(inst, m) != sym)
                continue;
            if (e2e_num(x, "u") <= id)
                continue;                      /* covered by the snapshot: must not be applied */
            ASSERT(e2e_num(x, "U") <= id + 1); /* the recording has no gaps */
            id = e2e_num(x, "u");
            e2e_book_apply(ref, json_object_get(x, "b"), json_object_get(x, "a"));
            last_applied = id;
            /* Every LIVE record at this id must equal the reference. */
            for (; bi < nb; bi++) {
                const struct mdf_book *b = &books[bi].book;

                if (b->h.symbol != sym || b->state != MDF_BOOK_LIVE)
                    continue;
                if (b->last_update_id > id)
                    break;
                if (b->last_update_id < id)
                    continue; /* several diffs applied at once after the snapshot */
                if (!e2e_book_equal(ref, b, why, sizeof(why)))
                    test_fail(__FILE__, __LINE__, "%s at update %" PRId64 ": %s", symbols[si], id,
                              why);
                checked++;
            }
        }
        ASSERT(last_applied > 0);
        ASSERT(checked > 0);
        /* The final book equals the reference (latest-state table). */
        {
            size_t len = MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX);
            struct mdf_book *lb = malloc(len);

            ASSERT_EQ(mdf_latest_book(inst, sym, lb, len), 0);
            ASSERT_EQ(lb->state, MDF_BOOK_LIVE);
            ASSERT_EQ(lb->last_update_id, last_applied);
            ASSERT_EQ(lb->generation, 0u);
            if (!e2e_book_equal(ref, lb, why, sizeof(why)))
                test_fail(__FILE__, __LINE__, "%s latest book: %s", symbols[si], why);
            free(lb);
        }
        json_decref(snap);
        free(ref);
    }
    /* The symbol table has native and normalized names. */
    {
        struct mdf_symbol_entry se;
        int64_t id = mdf_symbol_lookup(inst, "binance-spot:NKNUSDT");

        ASSERT(id >= 0);
        ASSERT_EQ(mdf_symbol_info(inst, (uint32_t)id, &se), 0);
        ASSERT_STR_EQ(se.native, "NKNUSDT");
        ASSERT_STR_EQ(se.normalized, "NKN/USDT");
    }
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    free(ticks);
    free(candles);
    free(books);
    e2e_rec_free(&rec);
    return 0;
}
