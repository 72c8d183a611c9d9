/*
 * Fuzzes the Bybit decoder: bybit_decode on one message for the category the first byte names,
 * then, for tickers, the merge (bybit_ticker_apply) into a state kept across inputs. Checks that
 * a result stays inside the decoder's room and that records carry their own type.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "venue/bybit.h"

#define ITEMS 64

static struct bybit_decoder *dec[BYBIT_CATEGORY_COUNT];
static struct bybit_ticker_state st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bybit_msg m;
    struct mdf_ticker t;
    struct mdf_funding f;
    enum bybit_category cat;
    int rc;

    if (!dec[0]) {
        for (int i = 0; i < BYBIT_CATEGORY_COUNT; i++) {
            dec[i] = bybit_decoder_new((enum bybit_category)i, ITEMS, 1u << 16);
            FZ_CHECK(dec[i] != NULL);
        }
        bybit_ticker_init(&st);
    }
    if (size < 1)
        return 0;
    cat = (enum bybit_category)(data[0] % BYBIT_CATEGORY_COUNT);
    rc = bybit_decode(dec[cat], data + 1, size - 1, 1000, &m);
    FZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
    if (rc < 0) {
        FZ_CHECK(m.kind == BYB_NONE);
        return 0;
    }
    FZ_CHECK(m.kind > BYB_NONE && m.kind <= BYB_IGNORED);
    FZ_CHECK(m.n_bids <= ITEMS && m.n_asks <= ITEMS && m.n_trades <= ITEMS &&
             m.n_candles <= ITEMS && m.n_liqs <= ITEMS);
    for (uint32_t i = 0; i < m.n_trades; i++)
        FZ_CHECK(m.trades[i].h.type == MDF_REC_TRADE && m.trades[i].price.m > 0 &&
                 m.trades[i].trade_id >= 0);
    for (uint32_t i = 0; i < m.n_candles; i++)
        FZ_CHECK(m.candles[i].h.type == MDF_REC_CANDLE &&
                 mdf_dec_cmp(m.candles[i].low, m.candles[i].high) <= 0);
    for (uint32_t i = 0; i < m.n_liqs; i++)
        FZ_CHECK(m.liqs[i].h.type == MDF_REC_LIQUIDATION && m.liqs[i].side != MDF_SIDE_UNKNOWN);
    for (uint32_t i = 0; i < m.n_bids; i++)
        FZ_CHECK(m.bids[i].px.m > 0 && m.bids[i].qty.m >= 0);
    if (m.kind == BYB_BOOK)
        FZ_CHECK(m.update_id >= 1 && m.spec.type == VS_DIFF);
    if (m.kind == BYB_TICKER) {
        rc = bybit_ticker_apply(&st, &m, 1000, &t, &f);
        FZ_CHECK(rc == -ERANGE || (rc >= 0 && rc <= (BYT_OUT_TICKER | BYT_OUT_FUNDING)));
        if (rc > 0 && (rc & BYT_OUT_TICKER))
            FZ_CHECK(t.h.type == MDF_REC_TICKER);
        if (rc > 0 && (rc & BYT_OUT_FUNDING))
            FZ_CHECK(f.h.type == MDF_REC_FUNDING);
    }
    return 0;
}
