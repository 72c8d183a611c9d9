/* reader.c: print the trades and the best bid/offer of one symbol.
 * In the source tree: make examples && build/examples/reader demo binance-spot:BTCUSDT 10
 * Installed (make install, then ldconfig): cc reader.c $(pkg-config --cflags --libs mdfeed)
 * ./reader [INSTANCE] [SYMBOL] [COUNT] */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

/* A symbol the instance does not have is an error, named with the symbols it has. */
static int64_t lookup(mdf_instance_t *inst, const char *instance, const char *key)
{
    int64_t sym = mdf_symbol_lookup(inst, key);
    struct mdf_symbol_entry e;

    /* The daemon registers its symbols just after creating the instance: allow it a second. */
    for (int i = 0; sym < 0 && i < 10; i++) {
        usleep(100000);
        sym = mdf_symbol_lookup(inst, key);
    }
    if (sym >= 0)
        return sym;
    fprintf(stderr, "unknown symbol \"%s\" in instance \"%s\"; it has:", key, instance);
    for (uint32_t id = 0; id < mdf_symbol_count(inst); id++)
        if (mdf_symbol_info(inst, id, &e) == 0)
            fprintf(stderr, " %s:%s", mdf_venue_name(inst, e.venue), e.native);
    fprintf(stderr, "\n");
    return -1;
}

int main(int argc, char **argv)
{
    const char *instance = argc > 1 ? argv[1] : "default";
    const char *key = argc > 2 ? argv[2] : "binance-spot:BTCUSDT";
    long count = argc > 3 ? atol(argv[3]) : 0; /* 0: forever */
    mdf_instance_t *inst;
    mdf_sub_t *ticks;
    mdf_record_t rec;
    uint64_t lost;
    int64_t sym;

    /* Wait up to 10 s for the daemon to create the instance. */
    if (mdf_open(&inst, instance, 10000) < 0) {
        fprintf(stderr, "mdf_open: %s\n", mdf_errmsg());
        return 1;
    }
    sym = lookup(inst, instance, key);
    if (sym < 0) {
        mdf_close(inst);
        return 1;
    }
    if (mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &ticks) < 0) {
        fprintf(stderr, "mdf_subscribe: %s\n", mdf_errmsg());
        return 1;
    }
    for (long n = 0; count == 0 || n < count;) {
        if (mdf_next(ticks, &rec, &lost) == 0) {
            int rc = mdf_wait(ticks, 1000); /* sleeps; the daemon pays no syscall unless we do */

            if (rc == MDF_EDEAD)
                fprintf(stderr, "daemon is down; waiting for it to restart\n");
            continue;
        }
        if (lost)
            fprintf(stderr, "lost %llu records (reader too slow)\n", (unsigned long long)lost);
        if (rec.h.type == MDF_REC_TRADE && rec.h.symbol == (uint32_t)sym) {
            char px[MDF_DEC_STR_MAX], qty[MDF_DEC_STR_MAX];
            struct mdf_bbo bbo;

            mdf_dec_format(rec.trade.price, px, sizeof(px));
            mdf_dec_format(rec.trade.qty, qty, sizeof(qty));
            printf("trade %s x %s id %lld", px, qty, (long long)rec.trade.trade_id);
            /* The latest-state tables answer without replaying a ring. */
            if (mdf_latest_bbo(inst, rec.h.symbol, &bbo) == 0)
                printf("  bid %.8g ask %.8g", mdf_dec_to_double(bbo.bid_px),
                       mdf_dec_to_double(bbo.ask_px));
            printf("\n");
            fflush(stdout);
            n++;
        }
    }
    mdf_unsubscribe(ticks);
    mdf_close(inst);
    return 0;
}
