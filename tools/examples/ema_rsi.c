/*
 * ema_rsi.c: an EMA/RSI signal logger on closed candles. It logs signals only and places no
 * orders.
 *
 * The rule (as the strategy prototypes mdfeed replaces ran it): a BUY when the fast EMA of the
 * closes crosses above the slow one while the RSI is below the overbought threshold, a SELL when
 * it crosses below while the RSI is above the oversold threshold; a cross the RSI does not
 * confirm is logged as filtered with -v. EMA(N) starts as the mean of the first N closes and then
 * moves by 2/(N+1) of each new close's distance; RSI(N) is Wilder's: the first averages of gains
 * and losses are the means of the first N changes, then avg = (avg * (N-1) + x) / N, and
 * RSI = 100 - 100 / (1 + avg_gain / avg_loss) (100 with no losses, 50 with neither).
 *
 * It warms up from the candle history (the last K closed candles, mdf_candles_last), then follows
 * the closed candles of the candles ring. It subscribes first and reads the history second, so no
 * candle falls between the two; candles already seen (by open time) are skipped.
 *
 * In the source tree: make examples && build/examples/ema_rsi -i demo -s binance-spot:BTCUSDT
 * Installed: cc ema_rsi.c $(pkg-config --cflags --libs mdfeed) -o ema_rsi
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

/* One EMA. */
struct ema {
    int n;        /* period */
    int seen;     /* closes folded in so far */
    double sum;   /* sum of the first n closes (the seed) */
    double value; /* valid once seen >= n */
};

/* Wilder's RSI. */
struct rsi {
    int n;           /* period */
    int changes;     /* price changes folded in so far */
    bool have_prev;  /* prev is set */
    double prev;     /* previous close */
    double avg_gain; /* valid once changes >= n */
    double avg_loss; /* idem */
};

/* The logger's state for one (symbol, interval). */
struct logger {
    const char *key;       /* "venue:SYMBOL" */
    const char *iv_name;   /* interval name */
    int64_t iv_ns;         /* interval length (0 for months) */
    struct ema fast, slow; /* the two EMAs */
    struct rsi rsi;        /* the RSI */
    double prev_fast;      /* the previous candle's fast EMA, */
    double prev_slow;      /* and its slow EMA (both valid when have_prev) */
    bool have_prev;        /* the previous candle had both EMAs */
    double overbought;     /* no BUY at or above this RSI */
    double oversold;       /* no SELL at or below this RSI */
    bool verbose;          /* log every candle and filtered crosses */
    int64_t last_open;     /* open time of the last candle folded in, 0 if none */
    long signals;          /* signals logged */
};

static bool ema_add(struct ema *e, double close)
{
    if (e->seen < e->n) {
        e->sum += close;
        if (++e->seen == e->n)
            e->value = e->sum / e->n;
    } else {
        e->value += 2.0 / (e->n + 1) * (close - e->value);
    }
    return e->seen >= e->n;
}

static bool rsi_add(struct rsi *r, double close, double *out)
{
    double d, gain, loss;

    if (!r->have_prev) {
        r->have_prev = true;
        r->prev = close;
        return false;
    }
    d = close - r->prev;
    r->prev = close;
    gain = d > 0 ? d : 0;
    loss = d < 0 ? -d : 0;
    if (r->changes < r->n) {
        r->avg_gain += gain / r->n;
        r->avg_loss += loss / r->n;
        r->changes++;
    } else {
        r->avg_gain = (r->avg_gain * (r->n - 1) + gain) / r->n;
        r->avg_loss = (r->avg_loss * (r->n - 1) + loss) / r->n;
    }
    if (r->changes < r->n)
        return false;
    if (r->avg_loss == 0)
        *out = r->avg_gain == 0 ? 50 : 100;
    else
        *out = 100 - 100 / (1 + r->avg_gain / r->avg_loss);
    return true;
}

/* UTC ISO-8601 time of t (Unix ns), to the second. */
static const char *iso(int64_t t, char *buf, size_t len)
{
    time_t s = (time_t)(t / 1000000000);
    struct tm tm;

    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Folds one closed candle in and logs what it gives. */
static void on_candle(struct logger *lg, const struct mdf_candle *c)
{
    char px[MDF_DEC_STR_MAX], when[32];
    double close = mdf_dec_to_double(c->close), rsi = 0;
    bool ready = ema_add(&lg->fast, close) & ema_add(&lg->slow, close); /* & : both fold in */
    bool have_rsi = rsi_add(&lg->rsi, close, &rsi);
    const char *cross = NULL, *side = NULL;

    lg->last_open = c->open_time_ns;
    mdf_dec_format(c->close, px, sizeof(px));
    /* Stamped with the candle's end (the venue's close time is end - 1 ms on Binance). */
    iso(lg->iv_ns ? c->open_time_ns + lg->iv_ns : c->close_time_ns, when, sizeof(when));
    if (lg->verbose) {
        printf("%s candle %s %s open_time=%lld close=%s", when, lg->key, lg->iv_name,
               (long long)c->open_time_ns, px);
        if (ready)
            printf(" ema_fast=%.10g ema_slow=%.10g", lg->fast.value, lg->slow.value);
        if (have_rsi)
            printf(" rsi=%.6f", rsi);
        printf("\n");
    }
    if (ready && have_rsi && lg->have_prev) {
        if (lg->prev_fast <= lg->prev_slow && lg->fast.value > lg->slow.value) {
            cross = "up";
            side = rsi < lg->overbought ? "BUY" : NULL;
        } else if (lg->prev_fast >= lg->prev_slow && lg->fast.value < lg->slow.value) {
            cross = "down";
            side = rsi > lg->oversold ? "SELL" : NULL;
        }
    }
    if (side) {
        printf("%s SIGNAL %s %s %s open_time=%lld close=%s ema_fast=%.10g ema_slow=%.10g "
               "rsi=%.6f\n",
               when, side, lg->key, lg->iv_name, (long long)c->open_time_ns, px, lg->fast.value,
               lg->slow.value, rsi);
        lg->signals++;
    } else if (cross && lg->verbose) {
        printf("%s filtered cross %s %s %s open_time=%lld rsi=%.6f\n", when, cross, lg->key,
               lg->iv_name, (long long)c->open_time_ns, rsi);
    }
    if (ready) {
        lg->prev_fast = lg->fast.value;
        lg->prev_slow = lg->slow.value;
        lg->have_prev = true;
    }
    fflush(stdout);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ema_rsi [-i INSTANCE] [-s VENUE:SYMBOL] [-t INTERVAL] [-k HISTORY]\n"
               "               [-n COUNT] [-v] [--fast N] [--slow N] [--rsi N]\n"
               "               [--overbought X] [--oversold X]\n"
               "Logs EMA fast/slow crosses confirmed by the RSI on closed candles (no orders).\n"
               "Defaults: -i default -s binance-spot:BTCUSDT -t 1m -k 500, EMA 12/26, RSI 14,\n"
               "70/30; -n stops after COUNT candles from the ring (0: after the history alone;\n"
               "without -n it never stops).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"fast", required_argument, NULL, 'F'},
        {"slow", required_argument, NULL, 'S'},
        {"rsi", required_argument, NULL, 'R'},
        {"overbought", required_argument, NULL, 'O'},
        {"oversold", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct logger lg = {.key = "binance-spot:BTCUSDT",
                        .iv_name = "1m",
                        .fast.n = 12,
                        .slow.n = 26,
                        .rsi.n = 14,
                        .overbought = 70,
                        .oversold = 30};
    const char *instance = "default";
    long k = 500, count = -1, n = 0;
    struct mdf_candle *hist;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    mdf_record_t rec;
    uint64_t lost;
    int64_t sym;
    int opt, iv, got;

    while ((opt = getopt_long(argc, argv, "i:s:t:k:n:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            instance = optarg;
            break;
        case 's':
            lg.key = optarg;
            break;
        case 't':
            lg.iv_name = optarg;
            break;
        case 'k':
            k = atol(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'v':
            lg.verbose = true;
            break;
        case 'F':
            lg.fast.n = atoi(optarg);
            break;
        case 'S':
            lg.slow.n = atoi(optarg);
            break;
        case 'R':
            lg.rsi.n = atoi(optarg);
            break;
        case 'O':
            lg.overbought = atof(optarg);
            break;
        case 'U':
            lg.oversold = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    iv = mdf_interval_from_name(lg.iv_name);
    lg.iv_ns = iv < 0 ? 0 : mdf_interval_ns(iv);
    if (optind < argc || iv < 0 || k < 1 || count < -1 || lg.fast.n < 1 || lg.slow.n <= lg.fast.n ||
        lg.rsi.n < 1) {
        fprintf(stderr, "ema_rsi: bad arguments (the slow EMA must be longer than the fast)\n");
        usage(stderr);
        return 2;
    }
    if (mdf_open(&inst, instance, 10000) < 0) {
        fprintf(stderr, "ema_rsi: %s\n", mdf_errmsg());
        return 1;
    }
    sym = mdf_symbol_lookup(inst, lg.key);
    if (sym < 0) {
        fprintf(stderr, "ema_rsi: unknown symbol \"%s\" in instance \"%s\"\n", lg.key, instance);
        return 1;
    }
    /* Subscribe first, then read the history: a candle closing in between is in both, and the
     * open-time check below drops the second copy. */
    if (mdf_subscribe(inst, MDF_RING_CANDLES, MDF_START_NOW, 0, &sub) < 0) {
        fprintf(stderr, "ema_rsi: %s\n", mdf_errmsg());
        return 1;
    }
    if ((uint32_t)k > mdf_candle_capacity(inst))
        k = mdf_candle_capacity(inst);
    hist = calloc((size_t)k, sizeof(*hist));
    if (!hist)
        return 1;
    got = mdf_candles_last(inst, (uint32_t)sym, iv, hist, (size_t)k);
    if (got == MDF_ENODATA)
        got = 0; /* no candle of that series yet: the ring brings them */
    if (got < 0) {
        fprintf(stderr, "ema_rsi: candle history: %s\n", mdf_errmsg());
        return 1;
    }
    for (int i = 0; i < got; i++)
        if (hist[i].h.flags & MDF_CANDLE_F_CLOSED)
            on_candle(&lg, &hist[i]), n++;
    fprintf(stderr, "ema_rsi: warm-up: %ld closed candles of %s %s from the history\n", n, lg.key,
            lg.iv_name);
    free(hist);
    for (n = 0; count < 0 || n < count;) {
        int rc = mdf_next(sub, &rec, &lost);

        if (rc == 0) {
            if (mdf_wait(sub, 1000) == MDF_EDEAD)
                fprintf(stderr, "ema_rsi: the daemon is down; waiting for it\n");
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "ema_rsi: %s\n", mdf_errmsg());
            return 1;
        }
        if (lost)
            fprintf(stderr, "ema_rsi: lost %llu candles records (reader too slow)\n",
                    (unsigned long long)lost);
        if (rec.h.type != MDF_REC_CANDLE || rec.h.symbol != (uint32_t)sym ||
            rec.candle.interval != (uint32_t)iv || !(rec.h.flags & MDF_CANDLE_F_CLOSED) ||
            rec.candle.open_time_ns <= lg.last_open)
            continue;
        if (lg.last_open && lg.iv_ns && rec.candle.open_time_ns > lg.last_open + lg.iv_ns)
            fprintf(stderr, "ema_rsi: %lld candles missing before this one\n",
                    (long long)((rec.candle.open_time_ns - lg.last_open) / lg.iv_ns - 1));
        on_candle(&lg, &rec.candle);
        n++;
    }
    fprintf(stderr, "ema_rsi: %ld signals\n", lg.signals);
    mdf_unsubscribe(sub);
    mdf_close(inst);
    return 0;
}
