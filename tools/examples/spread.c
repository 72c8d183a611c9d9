/*
 * spread.c: a book-spread monitor. Every interval it reads each symbol's latest book from the
 * latest-state tables (no ring replayed) and prints the best bid and ask, the spread exactly and
 * in basis points of the mid, and the book's state and last update id. A symbol without a book
 * falls back to its best bid/offer record.
 *
 * In the source tree: make examples && build/examples/spread -i demo
 * Installed: cc spread.c $(pkg-config --cflags --libs mdfeed) -o spread
 * ./spread [-i INSTANCE] [-d SECONDS] [-n COUNT] [VENUE:SYMBOL...]   (no symbol: all of them)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

/* a - b exactly when the exponents can be aligned without overflow (prices always can);
 * returns false otherwise. */
static bool dec_sub(struct mdf_dec a, struct mdf_dec b, struct mdf_dec *out)
{
    int32_t e = a.e < b.e ? a.e : b.e;
    __int128 ma = a.m, mb = b.m, d;

    for (int32_t i = e; i < a.e; i++)
        if ((ma *= 10) > INT64_MAX || ma < INT64_MIN)
            return false;
    for (int32_t i = e; i < b.e; i++)
        if ((mb *= 10) > INT64_MAX || mb < INT64_MIN)
            return false;
    d = ma - mb;
    if (d > INT64_MAX || d < INT64_MIN)
        return false;
    *out = (struct mdf_dec){.m = (int64_t)d, .e = e};
    return true;
}

/* Local ISO-8601 time of now, to the millisecond. */
static const char *now_iso(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char zone[8];
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    snprintf(buf + n, len - n, ".%03ld%s", ts.tv_nsec / 1000000, zone);
    return buf;
}

/* One line for symbol sym. */
static void show(mdf_instance_t *inst, uint32_t sym, const char *when)
{
    static mdf_record_t rec; /* a union always has room for the instance's book depth */
    struct mdf_symbol_entry e;
    struct mdf_dec bid, ask, spread;
    char b[MDF_DEC_STR_MAX], a[MDF_DEC_STR_MAX], s[MDF_DEC_STR_MAX], tail[96];
    double mid, bps;

    if (mdf_symbol_info(inst, sym, &e) < 0)
        return;
    printf("%s %s:%s", when, mdf_venue_name(inst, e.venue), e.native);
    if (mdf_latest_book(inst, sym, &rec.book, sizeof(rec)) == 0 && rec.book.n_bids &&
        rec.book.n_asks) {
        bid = rec.book.levels[0].px;
        ask = rec.book.levels[rec.book.depth].px; /* asks follow the depth bid slots */
        snprintf(tail, sizeof(tail), "%s book %s update %lld", mdf_book_kind_name(rec.book.kind),
                 mdf_book_state_name(rec.book.state), (long long)rec.book.last_update_id);
    } else if (mdf_latest_bbo(inst, sym, &rec.bbo) == 0) {
        bid = rec.bbo.bid_px;
        ask = rec.bbo.ask_px;
        snprintf(tail, sizeof(tail), "bbo update %lld", (long long)rec.bbo.update_id);
    } else {
        printf(" no book yet\n");
        return;
    }
    mdf_dec_format(bid, b, sizeof(b));
    mdf_dec_format(ask, a, sizeof(a));
    mid = (mdf_dec_to_double(bid) + mdf_dec_to_double(ask)) / 2;
    if (!dec_sub(ask, bid, &spread)) {
        printf(" bid %s ask %s (spread out of range) %s\n", b, a, tail);
        return;
    }
    mdf_dec_format(spread, s, sizeof(s));
    bps = mid > 0 ? mdf_dec_to_double(spread) / mid * 1e4 : 0;
    printf(" bid %s ask %s spread %s %.2f bps%s %s\n", b, a, s, bps,
           spread.m <= 0 ? " CROSSED" : "", tail);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *instance = "default";
    double period = 1;
    long count = 0;
    mdf_instance_t *inst;
    int64_t *syms = NULL;
    int opt, nsyms;

    while ((opt = getopt_long(argc, argv, "i:d:n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            instance = optarg;
            break;
        case 'd':
            period = atof(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'h':
            printf("usage: spread [-i INSTANCE] [-d SECONDS] [-n COUNT] [VENUE:SYMBOL...]\n");
            return 0;
        default:
            return 2;
        }
    }
    if (period <= 0) {
        fprintf(stderr, "spread: -d needs a positive number of seconds\n");
        return 2;
    }
    if (mdf_open(&inst, instance, 10000) < 0) {
        fprintf(stderr, "spread: %s\n", mdf_errmsg());
        return 1;
    }
    nsyms = argc - optind;
    if (nsyms > 0) {
        syms = calloc((size_t)nsyms, sizeof(*syms));
        if (!syms)
            return 1;
        for (int i = 0; i < nsyms; i++) {
            syms[i] = mdf_symbol_lookup(inst, argv[optind + i]);
            if (syms[i] < 0) {
                fprintf(stderr, "spread: unknown symbol \"%s\" in instance \"%s\"\n",
                        argv[optind + i], instance);
                return 1;
            }
        }
    }
    for (long n = 0; count == 0 || n < count; n++) {
        char when[48];

        if (n)
            usleep((useconds_t)(period * 1e6));
        now_iso(when, sizeof(when));
        if (syms)
            for (int i = 0; i < nsyms; i++)
                show(inst, (uint32_t)syms[i], when);
        else /* every symbol, including those a reload added since the last round */
            for (uint32_t id = 0; id < mdf_symbol_count(inst); id++)
                show(inst, id, when);
        fflush(stdout);
    }
    free(syms);
    mdf_close(inst);
    return 0;
}
