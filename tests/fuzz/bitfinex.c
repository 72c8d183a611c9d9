/*
 * Fuzzes the Bitfinex decoder: bitfinex_decode on one message, then bitfinex_decode_data on a
 * BFX_DATA result for the channel type the second byte names (book, trades, ticker, candles).
 * The first byte gives the conf flags the connection is taken to have confirmed.
 */
#include <stdint.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "venue/bitfinex.h"
#include "venue/venue.h"

static struct bfx_decoder *dec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[] = {VS_DIFF, VS_TRADE, VS_TICKER, VS_KLINE};
    static const uint32_t flag_bits[] = {BFX_F_DEC_S, BFX_F_TIMESTAMP, BFX_F_SEQ_ALL,
                                         BFX_F_OB_CHECKSUM};
    static struct bfx_msg m;
    struct vstream spec;
    uint32_t flags = 0;
    uint8_t f, t;

    if (!dec) {
        dec = bitfinex_decoder_new(VDEC_JSMN, 500, 1u << 20);
        FZ_CHECK(dec != NULL);
    }
    if (size < 2)
        return 0;
    f = data[0];
    t = data[1];
    data += 2;
    size -= 2;
    for (int i = 0; i < 4; i++)
        if (f & (1u << i))
            flags |= flag_bits[i];
    if (bitfinex_decode(dec, data, size, 1000, flags, &m) != 0 || m.kind != BFX_DATA)
        return 0;
    memset(&spec, 0, sizeof(spec));
    spec.type = types[t & 3];
    spec.interval = (uint8_t)(MDF_IV_1M + ((t >> 2) & 7));
    spec.prec = (uint8_t)((t >> 5) % 5);
    spec.levels = 25;
    memcpy(spec.symbol, "tBTCUSD", 8);
    bitfinex_decode_data(dec, &spec, &m);
    return 0;
}
