/*
 * Fuzzes the OKX decoder: okx_decode on one message. Checks that a result stays inside the
 * decoder's room, that records carry their own type and that values keep the documented
 * ranges.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "venue/okx.h"

#define ITEMS 64

static struct okx_decoder *dec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct okx_msg m;
    int rc;

    if (!dec) {
        dec = okx_decoder_new(ITEMS, 1u << 16);
        FZ_CHECK(dec != NULL);
    }
    rc = okx_decode(dec, data, size, 1000, &m);
    FZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
    if (rc < 0) {
        FZ_CHECK(m.kind == OKX_NONE);
        return 0;
    }
    FZ_CHECK(m.kind > OKX_NONE && m.kind <= OKX_IGNORED);
    FZ_CHECK(m.n_bids <= ITEMS && m.n_asks <= ITEMS && m.n_trades <= ITEMS && m.n_candles <= ITEMS);
    for (uint32_t i = 0; i < m.n_trades; i++)
        FZ_CHECK(m.trades[i].h.type == MDF_REC_TRADE && m.trades[i].price.m > 0 &&
                 m.trades[i].qty.m > 0);
    for (uint32_t i = 0; i < m.n_candles; i++)
        FZ_CHECK(m.candles[i].h.type == MDF_REC_CANDLE &&
                 m.candles[i].close_time_ns >= m.candles[i].open_time_ns);
    for (uint32_t i = 0; i < m.n_asks; i++)
        FZ_CHECK(m.asks[i].px.m > 0 && m.asks[i].qty.m >= 0);
    if (m.kind == OKX_BBO)
        FZ_CHECK(m.bbo.h.type == MDF_REC_BBO && m.n_bids <= 1 && m.n_asks <= 1);
    if (m.kind == OKX_TICKER)
        FZ_CHECK(m.ticker.h.type == MDF_REC_TICKER);
    if (m.kind == OKX_FUNDING)
        FZ_CHECK(m.funding.h.type == MDF_REC_FUNDING);
    if (m.kind == OKX_BOOK && m.spec.type == VS_DIFF && m.snapshot && m.have_seq)
        FZ_CHECK(m.prev_seq_id >= -1);
    return 0;
}
