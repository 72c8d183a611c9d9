/*
 * Fuzzes the Binance decoder on untrusted venue bytes: WebSocket messages (binance_decode), REST
 * depth snapshots and REST klines, on spot and futures profiles and on both JSON back ends. The
 * first byte picks the profile (bit 0), the back end (bit 1) and the entry point (bits 2-3); the
 * rest is the message. Only memory and UB errors count: any return code is fine.
 */
#include <stdint.h>
#include <stdlib.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "venue/venue.h"

#define MAX_LEVELS 1000
#define MAX_MSG (1u << 20)

/* Decoders made once: [futures][jansson]. */
static struct vdecoder *dec[2][2];

static void setup(void)
{
    for (int f = 0; f < 2; f++)
        for (int j = 0; j < 2; j++) {
            dec[f][j] = vdec_new(venue_profile_find(f ? "binance-futures" : "binance-spot"),
                                 j ? VDEC_JANSSON : VDEC_JSMN, MAX_LEVELS, MAX_MSG);
            FZ_CHECK(dec[f][j] != NULL);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmsg m;
    static struct mdf_candle candles[64];
    uint8_t sel;
    size_t n;

    if (!dec[0][0])
        setup();
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    struct vdecoder *d = dec[sel & 1][(sel >> 1) & 1];
    switch ((sel >> 2) & 3) {
    case 0:
    case 1:
        binance_decode(d, data, size, 1000, &m);
        break;
    case 2:
        binance_decode_snapshot(d, data, size, &m);
        break;
    case 3:
        binance_decode_klines(d, data, size, MDF_IV_1M, (int64_t)(sel >> 4) << 40, 42, candles,
                              sizeof(candles) / sizeof(candles[0]), &n);
        break;
    }
    return 0;
}
