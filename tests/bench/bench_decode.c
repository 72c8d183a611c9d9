/*
 * Decoder figures: what binance_decode() costs per WebSocket message with each JSON backend,
 * for the three shapes that dominate a feed: an aggTrade (the recorded NKNUSDT line), a
 * depth20@100ms partial book (20 levels a side) and a 20-level diff (10 bids, 10 asks, futures
 * shape with pu). Each figure is the median of several timed runs over the same message; the
 * decoder is created before timing, so the jsmn figures include no allocation at all and the
 * jansson ones include the tree jansson builds and frees per message.
 *
 * Figures:
 *   decode_aggtrade_{jsmn,jansson}   ns per aggTrade message
 *   decode_depth20_{jsmn,jansson}    ns per depth20 partial message
 *   decode_diff20_{jsmn,jansson}     ns per 20-level diff message
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mdfeed/mdfeed.h>

#include "venue/venue.h"

void bench_decode(void);

#define BD_RUNS 5        /* timed runs; the median is reported */
#define BD_BUDGET 200000 /* messages per timed run of the cheapest message; fewer for larger */

/* Monotonic ns. */
static int64_t bd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bd_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Builds a depth message with n bids and n asks into buf: a spot depthN partial when partial,
 * else a futures depthUpdate. Returns its length. */
static size_t bd_depth(char *buf, size_t cap, bool partial, int n)
{
    size_t len;

    if (partial)
        len = (size_t)snprintf(buf, cap,
                               "{\"stream\":\"btcusdt@depth20@100ms\",\"data\":{\"lastUpdateId\":"
                               "41238901234,\"bids\":[");
    else
        len =
            (size_t)snprintf(buf, cap,
                             "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\","
                             "\"E\":1626992741037,\"T\":1626992741024,\"s\":\"BTCUSDT\",\"U\":"
                             "600859599090,\"u\":600859600917,\"pu\":600859598061,\"b\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s[\"%d.%02d000000\",\"%d.%05d000\"]",
                                i ? "," : "", 64000 - i, 37 + i, 1 + i, 12345 + 7 * i);
    len += (size_t)snprintf(buf + len, cap - len, partial ? "],\"asks\":[" : "],\"a\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s[\"%d.%02d000000\",\"%d.%05d000\"]",
                                i ? "," : "", 64001 + i, 11 + i, 2 + i, 54321 - 3 * i);
    len += (size_t)snprintf(buf + len, cap - len, "]}}");
    return len;
}

/* Median ns per decode of msg on decoder d over BD_RUNS runs of `count` decodes; -1 if the
 * message does not decode. */
static double bd_time(struct vdecoder *d, const char *msg, size_t len, int count, struct vmsg *m)
{
    double runs[BD_RUNS];

    if (binance_decode(d, (const uint8_t *)msg, len, 0, m) != 0)
        return -1;
    for (int r = 0; r < BD_RUNS; r++) {
        int64_t t0 = bd_now();
        for (int i = 0; i < count; i++)
            binance_decode(d, (const uint8_t *)msg, len, i, m);
        runs[r] = (double)(bd_now() - t0) / count;
    }
    qsort(runs, BD_RUNS, sizeof(runs[0]), bd_cmp);
    return runs[BD_RUNS / 2];
}

void bench_decode(void)
{
    static const char agg[] =
        "{\"stream\":\"nknusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1633998523963,\"s\":"
        "\"NKNUSDT\",\"a\":15683430,\"p\":\"0.35280000\",\"q\":\"58.00000000\",\"f\":19862790,"
        "\"l\":19862790,\"T\":1633998523963,\"m\":false,\"M\":true}}";
    static const char *const bname[2] = {"jsmn", "jansson"};
    const struct venue_profile *spot = venue_profile_find("binance-spot");
    const struct venue_profile *fut = venue_profile_find("binance-futures");
    struct vmsg *m = malloc(sizeof(*m));
    char depth20[4096], diff20[4096];
    size_t depth20_len = bd_depth(depth20, sizeof(depth20), true, 20);
    size_t diff20_len = bd_depth(diff20, sizeof(diff20), false, 10);

    if (!m || !spot || !fut) {
        fprintf(stderr, "bench_decode: setup failed\n");
        free(m);
        return;
    }
    for (int b = 0; b < 2; b++) {
        enum vdec_backend be = b ? VDEC_JANSSON : VDEC_JSMN;
        struct vdecoder *ds = vdec_new(spot, be, 5000, 1u << 20);
        struct vdecoder *df = vdec_new(fut, be, 1000, 1u << 20);
        double ns;

        if (!ds || !df) {
            fprintf(stderr, "bench_decode: no decoder: %s\n", mdf_errmsg());
            vdec_free(ds);
            vdec_free(df);
            continue;
        }
        ns = bd_time(ds, agg, sizeof(agg) - 1, BD_BUDGET, m);
        printf("decode_aggtrade_%s: %.1f ns (%zu bytes)\n", bname[b], ns, sizeof(agg) - 1);
        ns = bd_time(ds, depth20, depth20_len, BD_BUDGET / 8, m);
        printf("decode_depth20_%s: %.1f ns (%zu bytes, 20 levels a side)\n", bname[b], ns,
               depth20_len);
        ns = bd_time(df, diff20, diff20_len, BD_BUDGET / 4, m);
        printf("decode_diff20_%s: %.1f ns (%zu bytes, 10 bids + 10 asks)\n", bname[b], ns,
               diff20_len);
        vdec_free(ds);
        vdec_free(df);
    }
    free(m);
}
