/*
 * mdfeed-cat: prints the records of one or more rings of an mdfeed instance, one line per
 * record, as human-readable text or as one JSON object per line.
 *
 * It uses the public reader API only (mdfeed/mdfeed.h, mdfeed/layout.h), like any strategy
 * would. Several rings are read round-robin, one record from each in turn; when all are caught
 * up it blocks in mdf_wait on the first ring (a long slice with one ring, a few ms with several,
 * so the others are polled often) and never busy-loops. Decimals are printed exactly with
 * mdf_dec_format. JSON has times as integer ns and every level of a book; it is written by
 * hand: every string goes through one escaper that also replaces invalid UTF-8, so each line is
 * always valid JSON. Text is for people: times as local ISO-8601 with microseconds, a book as
 * its best bid and ask with the spread in basis points unless --levels asks for levels.
 * A daemon that dies while we follow is waited for; a retired instance is reopened.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mdfeed/mdfeed.h>
#include "../common/utf8.h"

#define PROG "mdfeed-cat"

/* Exit statuses (see mdfeed-cat(1)). */
#define EXIT_OK 0    /* done: count reached, caught up, timed out without -n, or signalled */
#define EXIT_ERR 1   /* runtime error: cannot open the instance or a ring, output failed */
#define EXIT_USAGE 2 /* bad command line */
#define EXIT_SHORT 3 /* --timeout expired before the -n count was printed */

#define WAIT_ONE_MS 50  /* mdf_wait slice when reading one ring */
#define WAIT_MANY_MS 5  /* mdf_wait slice on the first ring when others are polled */
#define DEAD_POLL_MS 50 /* mdf_status period while the daemon is dead */
#define REOPEN_MS 100   /* mdf_open wait slice while a retired instance is being replaced */

/* The command line, once parsed. */
struct opts {
    const char *instance;      /* instance name (-i) */
    int rings[MDF_RING_COUNT]; /* rings to read, in command-line order, no duplicates */
    int n_rings;               /* entries used in rings[] */
    bool json;                 /* --json */
    bool follow;               /* -f */
    int start;                 /* enum mdf_start for the first subscription */
    uint64_t seq;              /* start sequence with --seq */
    uint64_t count;            /* -n: records to print, 0 = no limit */
    int64_t timeout_ns;        /* --timeout: overall limit in ns, -1 = none */
    int levels;                /* --levels: book levels a side in text, 0 = best only, -1 all */
};

/* A cached symbol-table entry (entries never change once published). */
struct sym_slot {
    bool known;                /* e holds the entry */
    struct mdf_symbol_entry e; /* copy of the table entry */
};

/* The running reader. */
struct cat {
    const struct opts *o;            /* borrowed: the options */
    mdf_instance_t *inst;            /* the open instance (new, mdf_close) */
    mdf_sub_t *subs[MDF_RING_COUNT]; /* one subscription per o->rings[] entry */
    struct sym_slot *syms;           /* symbol cache indexed by id (new, free) */
    size_t n_syms;                   /* entries allocated in syms */
    uint64_t printed;                /* records printed so far */
    uint64_t epoch;                  /* instance epoch last seen */
    int64_t deadline;                /* CLOCK_MONOTONIC ns of --timeout, INT64_MAX = none */
    bool dead;                       /* the daemon was found dead and has not come back */
    mdf_record_t rec;                /* the record being printed */
};

/* Line formatter state: the same field calls write either text or JSON. */
struct out {
    FILE *f;    /* where lines go */
    bool json;  /* JSON object (else text) */
    int levels; /* text: book levels a side to print (0: best bid/ask and spread, -1: all) */
};

static volatile sig_atomic_t stop_requested; /* set by SIGINT/SIGTERM */

/* SIGINT/SIGTERM: only asks the main loop to stop (it exits 0). */
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Prints the synopsis and options to f. */
static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [-i INSTANCE] RING... [--json] [-f] [--from-start | --seq N]\n"
               "                  [-n N] [--timeout S] [--levels N|all]\n"
               "  RING: ticks, candles, books, funding, events (several are read round-robin)\n"
               "  -i, --instance NAME  instance to read (default \"default\")\n"
               "  --json               one JSON object per record\n"
               "  -f, --follow         keep waiting for new records\n"
               "  --from-start         start at the oldest record each ring holds\n"
               "  --seq N              start at sequence number N of each ring\n"
               "  -n, --count N        stop after N records in total\n"
               "  --levels N|all       text: print N book levels a side (default: best bid\n"
               "                       and ask with the spread in basis points)\n"
               "  --timeout S          give up after S seconds (fractions allowed)\n"
               "  -h, --help           show this help\n"
               "  -V, --version        print the version\n"
               "exit: 0 done, 1 error, 2 usage, 3 timeout before N records\n");
}

/* CLOCK_MONOTONIC in ns. */
static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps up to ms milliseconds; a signal ends the sleep early. */
static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Milliseconds left until the deadline, at most cap and at least 1 (so a wait never spins);
 * 0 once it has passed. */
static int slice_ms(const struct cat *c, int cap)
{
    int64_t left;

    if (c->deadline == INT64_MAX)
        return cap;
    left = c->deadline - mono_ns();
    if (left <= 0)
        return 0;
    left = (left + 999999) / 1000000;
    return left < cap ? (int)left : cap;
}

/* ---- parsing -------------------------------------------------------------------------------- */

/* Parses a whole unsigned decimal number. Returns 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (!s[0] || s[0] == '-' || s[0] == '+')
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -EINVAL : 0;
}

/* Parses a non-negative, finite number of seconds into ns. Returns 0 or -EINVAL. */
static int parse_seconds(const char *s, int64_t *out_ns)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
        return -EINVAL;
    *out_ns = (int64_t)llround(v * 1e9);
    return 0;
}

/* Fills o from argv. Returns 0, 1 (--help was printed: exit 0) or -EINVAL (message printed). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    enum { OPT_JSON = 256, OPT_FROM_START, OPT_SEQ, OPT_TIMEOUT, OPT_LEVELS };
    static const struct option longopts[] = {
        {"instance", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, OPT_JSON},
        {"follow", no_argument, NULL, 'f'},
        {"from-start", no_argument, NULL, OPT_FROM_START},
        {"seq", required_argument, NULL, OPT_SEQ},
        {"count", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"levels", required_argument, NULL, OPT_LEVELS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool from_start = false, at_seq = false;
    int ch;

    memset(o, 0, sizeof(*o));
    o->instance = "default";
    o->start = MDF_START_NOW;
    o->timeout_ns = -1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":i:fn:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            o->instance = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'f':
            o->follow = true;
            break;
        case OPT_FROM_START:
            from_start = true;
            o->start = MDF_START_OLDEST;
            break;
        case OPT_SEQ:
            if (parse_u64(optarg, &o->seq) < 0) {
                fprintf(stderr, PROG ": --seq: \"%s\" is not a sequence number\n", optarg);
                return -EINVAL;
            }
            at_seq = true;
            o->start = MDF_START_SEQ;
            break;
        case 'n':
            if (parse_u64(optarg, &o->count) < 0 || o->count == 0) {
                fprintf(stderr, PROG ": -n: \"%s\" is not a count >= 1\n", optarg);
                return -EINVAL;
            }
            break;
        case OPT_TIMEOUT:
            if (parse_seconds(optarg, &o->timeout_ns) < 0) {
                fprintf(stderr, PROG ": --timeout: \"%s\" is not a number of seconds >= 0\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_LEVELS: {
            uint64_t lv;

            if (strcmp(optarg, "all") == 0) {
                o->levels = -1;
            } else if (parse_u64(optarg, &lv) < 0 || lv == 0 || lv > MDF_BOOK_DEPTH_MAX) {
                fprintf(stderr, PROG ": --levels: \"%s\" is not a count of 1..%u or all\n", optarg,
                        MDF_BOOK_DEPTH_MAX);
                return -EINVAL;
            } else {
                o->levels = (int)lv;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf("mdfeed-cat %s (shm layout %u.%u)\n", MDFEED_VERSION, MDF_LAYOUT_MAJOR,
                   MDF_LAYOUT_MINOR);
            return 1;
        case ':':
            fprintf(stderr, PROG ": option %s needs an argument\n", argv[optind - 1]);
            usage(stderr);
            return -EINVAL;
        default:
            fprintf(stderr, PROG ": unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return -EINVAL;
        }
    }
    if (from_start && at_seq) {
        fprintf(stderr, PROG ": --from-start and --seq exclude each other\n");
        return -EINVAL;
    }
    for (int i = optind; i < argc; i++) {
        int r = mdf_ring_from_name(argv[i]);
        bool dup = false;

        if (r < 0) {
            fprintf(stderr,
                    PROG ": unknown ring \"%s\" (rings: ticks, candles, books, funding, "
                         "events)\n",
                    argv[i]);
            return -EINVAL;
        }
        for (int k = 0; k < o->n_rings; k++)
            dup |= o->rings[k] == r;
        if (!dup)
            o->rings[o->n_rings++] = r;
    }
    if (o->n_rings == 0) {
        fprintf(stderr, PROG ": name at least one ring\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* ---- output primitives ---------------------------------------------------------------------- */

/* Writes s (up to its NUL or max bytes) as the body of a JSON string: quote, backslash and
 * control characters escaped, invalid UTF-8 bytes replaced by U+FFFD. */
static void put_escaped(FILE *f, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max);

    while (n > 0) {
        size_t len = utf8_len(p, n);

        if (len == 0) {
            fputs("\\ufffd", f);
            len = 1;
        } else if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else if (*p == '\r') {
            fputs("\\r", f);
        } else if (*p == '\t') {
            fputs("\\t", f);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fwrite(p, 1, len, f);
        }
        p += len;
        n -= len;
    }
}

/* Writes s as a quoted, escaped string. */
static void put_quoted(FILE *f, const char *s, size_t max)
{
    fputc('"', f);
    put_escaped(f, s, max);
    fputc('"', f);
}

/* Starts field k: `,"k":` in JSON, ` k=` in text. */
static void key(struct out *o, const char *k)
{
    if (o->json)
        fprintf(o->f, ",\"%s\":", k);
    else
        fprintf(o->f, " %s=", k);
}

/* Writes decimal d exactly: a JSON string ("0.01000000"), bare in text; null / ? if d is out
 * of the formattable range. */
static void put_dec(struct out *o, struct mdf_dec d)
{
    char buf[MDF_DEC_STR_MAX];

    if (mdf_dec_format(d, buf, sizeof(buf)) < 0)
        fputs(o->json ? "null" : "?", o->f);
    else if (o->json)
        fprintf(o->f, "\"%s\"", buf);
    else
        fputs(buf, o->f);
}

/* Field k: an exact decimal. */
static void f_dec(struct out *o, const char *k, struct mdf_dec d)
{
    key(o, k);
    put_dec(o, d);
}

/* Field k: a signed integer (times in ns, ids). */
static void f_int(struct out *o, const char *k, int64_t v)
{
    key(o, k);
    fprintf(o->f, "%" PRId64, v);
}

/* Field k: a time in ns since the epoch: an integer in JSON; in text local ISO-8601 with
 * microseconds and the UTC offset (2026-03-01T14:05:09.123456+01:00), "-" for 0. */
static void f_time(struct out *o, const char *k, int64_t ns)
{
    struct tm tm;
    time_t secs;
    char date[32], zone[8];
    int64_t us;

    key(o, k);
    if (o->json) {
        fprintf(o->f, "%" PRId64, ns);
        return;
    }
    secs = (time_t)(ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000));
    us = (ns - (int64_t)secs * 1000000000) / 1000;
    if (ns == 0 || !localtime_r(&secs, &tm) ||
        !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) ||
        strftime(zone, sizeof(zone), "%z", &tm) != 5) {
        fputs(ns == 0 ? "-" : "?", o->f);
        return;
    }
    /* ISO-8601 extended form wants the offset as +hh:mm; strftime gives +hhmm. */
    fprintf(o->f, "%s.%06" PRId64 "%.3s:%s", date, us, zone, zone + 3);
}

/* Text only: the spread between bid and ask in basis points of their mid, 2 decimals; "-"
 * when a side is missing. A display figure, so it goes through doubles. */
static void f_spread_bps(struct out *o, struct mdf_dec bid, struct mdf_dec ask)
{
    double b = mdf_dec_to_double(bid), a = mdf_dec_to_double(ask);

    key(o, "spread_bps");
    if (!(b > 0) || !(a > 0))
        fputc('-', o->f);
    else
        fprintf(o->f, "%.2f", (a - b) / ((a + b) / 2) * 1e4);
}

/* Field k: an unsigned integer. */
static void f_uint(struct out *o, const char *k, uint64_t v)
{
    key(o, k);
    fprintf(o->f, "%" PRIu64, v);
}

/* Field k: true or false. */
static void f_bool(struct out *o, const char *k, bool v)
{
    key(o, k);
    fputs(v ? "true" : "false", o->f);
}

/* An enum's name: a JSON string, bare in text (names never need escaping). */
static void f_name(struct out *o, const char *k, const char *name)
{
    key(o, k);
    fprintf(o->f, o->json ? "\"%s\"" : "%s", name);
}

/* Free text from the record (at most max bytes): always quoted and escaped. */
static void f_text(struct out *o, const char *k, const char *s, size_t max)
{
    key(o, k);
    put_quoted(o->f, s, max);
}

/* The name of an enum mdf_side value; "unknown" for anything else. */
static const char *side_name(uint8_t side)
{
    switch (side) {
    case MDF_SIDE_BUY:
        return "buy";
    case MDF_SIDE_SELL:
        return "sell";
    default:
        return "unknown";
    }
}

/* ---- records -------------------------------------------------------------------------------- */

/* The symbol-table entry of id, from the cache or the instance; NULL if there is none. */
static const struct mdf_symbol_entry *symbol(struct cat *c, uint32_t id)
{
    struct mdf_symbol_entry e;

    if (id < c->n_syms && c->syms[id].known)
        return &c->syms[id].e;
    if (mdf_symbol_info(c->inst, id, &e) < 0)
        return NULL;
    /* The id exists, so it is below the symbol table size: the cache stays bounded. */
    if (id >= c->n_syms) {
        size_t n = c->n_syms ? c->n_syms : 64;
        struct sym_slot *p;

        while (n <= id)
            n *= 2;
        p = realloc(c->syms, n * sizeof(*p));
        if (!p)
            return NULL; /* uncached: print without the name rather than fail */
        memset(p + c->n_syms, 0, (n - c->n_syms) * sizeof(*p));
        c->syms = p;
        c->n_syms = n;
    }
    c->syms[id].e = e;
    c->syms[id].known = true;
    return &c->syms[id].e;
}

/* One side of a book: [["px","qty"],...] in JSON, px:qty[:orders],... in text. */
static void put_levels(struct out *o, const struct mdf_level *lv, unsigned n)
{
    if (o->json)
        fputc('[', o->f);
    for (unsigned i = 0; i < n; i++) {
        if (i)
            fputc(',', o->f);
        if (o->json) {
            fputc('[', o->f);
            put_dec(o, lv[i].px);
            fputc(',', o->f);
            put_dec(o, lv[i].qty);
            fputc(']', o->f);
        } else {
            put_dec(o, lv[i].px);
            fputc(':', o->f);
            put_dec(o, lv[i].qty);
            if (lv[i].orders)
                fprintf(o->f, ":%" PRIu32, lv[i].orders);
        }
    }
    if (o->json)
        fputc(']', o->f);
    else if (n == 0)
        fputc('-', o->f);
}

/* Order counts of one side as a JSON array of integers (JSON only). */
static void put_orders(struct out *o, const char *k, const struct mdf_level *lv, unsigned n)
{
    key(o, k);
    fputc('[', o->f);
    for (unsigned i = 0; i < n; i++)
        fprintf(o->f, "%s%" PRIu32, i ? "," : "", lv[i].orders);
    fputc(']', o->f);
}

/* The fields of a book: state, ids, then only the valid levels of each side. */
static void book_fields(struct out *o, const struct mdf_book *b)
{
    size_t room =
        b->h.size > sizeof(*b) ? (b->h.size - sizeof(*b)) / (2 * sizeof(b->levels[0])) : 0;
    unsigned depth = b->depth, nb = b->n_bids, na = b->n_asks;

    /* Never trust the counts beyond what the record and our copy of it hold. */
    if (depth > room)
        depth = (unsigned)room;
    if (depth > MDF_BOOK_DEPTH_MAX)
        depth = MDF_BOOK_DEPTH_MAX;
    nb = nb < depth ? nb : depth;
    na = na < depth ? na : depth;
    f_name(o, "state", mdf_book_state_name(b->state));
    f_bool(o, "partial", b->h.flags & MDF_BOOK_F_PARTIAL);
    f_uint(o, "generation", b->generation);
    f_int(o, "first_update_id", b->first_update_id);
    f_int(o, "last_update_id", b->last_update_id);
    if (!o->json && o->levels == 0) {
        /* The summary: how many levels, the best of each side and the spread. */
        key(o, "levels");
        fprintf(o->f, "%u/%u", nb, na);
        key(o, "bid");
        put_levels(o, b->levels, nb ? 1 : 0);
        key(o, "ask");
        put_levels(o, b->levels + depth, na ? 1 : 0);
        if (nb && na)
            f_spread_bps(o, b->levels[0].px, b->levels[depth].px);
        else
            f_spread_bps(o, (struct mdf_dec){0}, (struct mdf_dec){0});
        return;
    }
    if (!o->json && o->levels > 0) {
        nb = nb < (unsigned)o->levels ? nb : (unsigned)o->levels;
        na = na < (unsigned)o->levels ? na : (unsigned)o->levels;
    }
    if (o->json) {
        f_uint(o, "depth", b->depth);
        f_uint(o, "n_bids", b->n_bids);
        f_uint(o, "n_asks", b->n_asks);
        f_name(o, "book_kind", mdf_book_kind_name(b->kind));
        f_uint(o, "precision", b->precision);
        f_uint(o, "levels_asked", b->levels_asked);
    }
    key(o, "bids");
    put_levels(o, b->levels, nb);
    key(o, "asks");
    put_levels(o, b->levels + depth, na);
    if (!o->json && nb && na)
        f_spread_bps(o, b->levels[0].px, b->levels[depth].px);
    if (o->json) {
        put_orders(o, "bid_orders", b->levels, nb);
        put_orders(o, "ask_orders", b->levels + depth, na);
    }
}

/* The fields of each known record type, in struct order. */
static void type_fields(struct out *o, const mdf_record_t *r)
{
    switch (r->h.type) {
    case MDF_REC_TRADE:
        f_dec(o, "price", r->trade.price);
        f_dec(o, "qty", r->trade.qty);
        f_name(o, "side", side_name(r->trade.side));
        f_int(o, "trade_id", r->trade.trade_id);
        f_int(o, "first_id", r->trade.first_id);
        f_int(o, "last_id", r->trade.last_id);
        f_bool(o, "aggregate", r->h.flags & MDF_TRADE_F_AGGREGATE);
        f_bool(o, "best_match", r->h.flags & MDF_TRADE_F_BEST_MATCH);
        break;
    case MDF_REC_BBO:
        f_dec(o, "bid_px", r->bbo.bid_px);
        f_dec(o, "bid_qty", r->bbo.bid_qty);
        f_dec(o, "ask_px", r->bbo.ask_px);
        f_dec(o, "ask_qty", r->bbo.ask_qty);
        if (!o->json)
            f_spread_bps(o, r->bbo.bid_px, r->bbo.ask_px);
        f_int(o, "update_id", r->bbo.update_id);
        f_bool(o, "crossed", r->h.flags & MDF_BBO_F_CROSSED);
        break;
    case MDF_REC_TICKER:
        f_bool(o, "mini", r->h.flags & MDF_TICKER_F_MINI);
        f_dec(o, "last_px", r->ticker.last_px);
        f_dec(o, "last_qty", r->ticker.last_qty);
        f_dec(o, "open_px", r->ticker.open_px);
        f_dec(o, "high_px", r->ticker.high_px);
        f_dec(o, "low_px", r->ticker.low_px);
        f_dec(o, "volume", r->ticker.volume);
        f_dec(o, "quote_volume", r->ticker.quote_volume);
        f_dec(o, "change", r->ticker.change);
        f_dec(o, "change_pct", r->ticker.change_pct);
        f_dec(o, "vwap", r->ticker.vwap);
        f_dec(o, "bid_px", r->ticker.bid_px);
        f_dec(o, "bid_qty", r->ticker.bid_qty);
        f_dec(o, "ask_px", r->ticker.ask_px);
        f_dec(o, "ask_qty", r->ticker.ask_qty);
        f_bool(o, "crossed", r->h.flags & MDF_TICKER_F_CROSSED);
        f_time(o, "open_time", r->ticker.open_time_ns);
        f_time(o, "close_time", r->ticker.close_time_ns);
        f_int(o, "first_id", r->ticker.first_id);
        f_int(o, "last_id", r->ticker.last_id);
        f_int(o, "count", r->ticker.count);
        f_dec(o, "prev_close_px", r->ticker.prev_close_px);
        break;
    case MDF_REC_LIQUIDATION:
        f_dec(o, "price", r->liquidation.price);
        f_dec(o, "qty", r->liquidation.qty);
        f_dec(o, "avg_price", r->liquidation.avg_price);
        f_dec(o, "filled_qty", r->liquidation.filled_qty);
        f_name(o, "side", side_name(r->liquidation.side));
        f_text(o, "status", r->liquidation.status, sizeof(r->liquidation.status));
        f_dec(o, "last_qty", r->liquidation.last_qty);
        f_text(o, "order_type", r->liquidation.order_type, sizeof(r->liquidation.order_type));
        f_text(o, "time_in_force", r->liquidation.time_in_force,
               sizeof(r->liquidation.time_in_force));
        break;
    case MDF_REC_CANDLE:
        f_name(o, "interval", mdf_interval_name((int)r->candle.interval));
        f_bool(o, "closed", r->h.flags & MDF_CANDLE_F_CLOSED);
        f_bool(o, "backfilled", r->h.flags & MDF_CANDLE_F_BACKFILLED);
        f_time(o, "open_time", r->candle.open_time_ns);
        f_time(o, "close_time", r->candle.close_time_ns);
        f_dec(o, "open", r->candle.open);
        f_dec(o, "high", r->candle.high);
        f_dec(o, "low", r->candle.low);
        f_dec(o, "close", r->candle.close);
        f_dec(o, "volume", r->candle.volume);
        f_dec(o, "quote_volume", r->candle.quote_volume);
        f_dec(o, "taker_buy_base", r->candle.taker_buy_base);
        f_dec(o, "taker_buy_quote", r->candle.taker_buy_quote);
        f_int(o, "trades", r->candle.trades);
        f_int(o, "first_id", r->candle.first_id);
        f_int(o, "last_id", r->candle.last_id);
        break;
    case MDF_REC_BOOK:
        book_fields(o, &r->book);
        break;
    case MDF_REC_FUNDING:
        f_dec(o, "mark_px", r->funding.mark_px);
        f_dec(o, "index_px", r->funding.index_px);
        f_dec(o, "est_settle_px", r->funding.est_settle_px);
        f_dec(o, "funding_rate", r->funding.funding_rate);
        f_time(o, "next_funding_time", r->funding.next_funding_time_ns);
        break;
    case MDF_REC_EVENT:
        f_uint(o, "level", r->event.level);
        f_name(o, "code", mdf_event_code_name(r->event.code));
        f_uint(o, "connection", r->event.connection);
        f_text(o, "text", r->event.text, sizeof(r->event.text));
        break;
    }
}

/* The record's times, at the end of a text line. Text leaves out a transaction time that is 0
 * or equal to the event time. */
static void time_fields(struct out *o, const struct mdf_rec_hdr *h)
{
    f_time(o, "exch_time", h->exch_time_ns);
    if (o->json || (h->tx_time_ns && h->tx_time_ns != h->exch_time_ns))
        f_time(o, "tx_time", h->tx_time_ns);
    f_time(o, "recv_time", h->recv_time_ns);
}

/* Prints the record in c->rec read from ring `ring` as one line. */
static void print_record(struct cat *c, int ring)
{
    mdf_record_t *r = &c->rec;
    const struct mdf_rec_hdr *h = &r->h;
    const struct mdf_symbol_entry *sym = h->symbol == UINT32_MAX ? NULL : symbol(c, h->symbol);
    const char *venue = mdf_venue_name(c->inst, h->venue);
    size_t want = mdf_rec_type_size(h->type, 0); /* fixed part; a book's levels come after */
    struct out o = {.f = stdout, .json = c->o->json, .levels = c->o->levels};
    struct mdf_stream_entry st;

    /* A record shorter than its type claims: show zeros, not the previous record's bytes. */
    if (want && h->size < want)
        memset((uint8_t *)r + h->size, 0, want - h->size);
    if (o.json) {
        fprintf(o.f, "{\"ring\":\"%s\",\"seq\":%" PRIu64, mdf_ring_name(ring), h->seq);
        if (want)
            f_name(&o, "type", mdf_rec_type_name(h->type));
        else
            fprintf(o.f, ",\"type\":\"unknown\",\"type_id\":%u,\"size\":%u", h->type, h->size);
        key(&o, "venue");
        if (venue)
            put_quoted(o.f, venue, MDF_NAME_MAX);
        else
            fputs("null", o.f);
        key(&o, "symbol");
        if (sym)
            put_quoted(o.f, sym->native, sizeof(sym->native));
        else
            fputs("null", o.f);
        key(&o, "symbol_id");
        if (h->symbol != UINT32_MAX)
            fprintf(o.f, "%" PRIu32, h->symbol);
        else
            fputs("null", o.f);
        key(&o, "stream_id");
        if (h->stream != MDF_STREAM_ID_NONE)
            fprintf(o.f, "%" PRIu32, h->stream);
        else
            fputs("null", o.f);
        key(&o, "stream");
        if (h->stream != MDF_STREAM_ID_NONE && mdf_stream_info(c->inst, h->stream, &st) == 0)
            put_quoted(o.f, st.key, sizeof(st.key));
        else
            fputs("null", o.f);
        time_fields(&o, h);
        f_uint(&o, "venue_seq", h->venue_seq);
        f_uint(&o, "flags", h->flags);
        type_fields(&o, r);
        fputs("}\n", o.f);
        return;
    }
    fprintf(o.f, "%s %" PRIu64 " ", mdf_ring_name(ring), h->seq);
    if (want)
        fputs(mdf_rec_type_name(h->type), o.f);
    else
        fprintf(o.f, "type#%u", h->type);
    fputc(' ', o.f);
    if (venue)
        put_escaped(o.f, venue, MDF_NAME_MAX);
    else
        fprintf(o.f, "#%u", h->venue);
    fputc(':', o.f);
    if (sym)
        put_escaped(o.f, sym->native, sizeof(sym->native));
    else if (h->symbol == UINT32_MAX)
        fputc('-', o.f);
    else
        fprintf(o.f, "#%" PRIu32, h->symbol);
    if (want)
        type_fields(&o, r);
    else
        f_uint(&o, "size", h->size);
    time_fields(&o, h);
    if (h->venue_seq)
        f_uint(&o, "venue_seq", h->venue_seq);
    fputc('\n', o.f);
}

/* Prints the gap before a record: `count` records of `ring` were lost. */
static void print_lost(struct cat *c, int ring, uint64_t count)
{
    if (c->o->json)
        printf("{\"type\":\"lost\",\"ring\":\"%s\",\"count\":%" PRIu64 "}\n", mdf_ring_name(ring),
               count);
    else
        printf("%s lost %" PRIu64 "\n", mdf_ring_name(ring), count);
}

/* ---- instance and subscriptions ------------------------------------------------------------- */

/* Closes every subscription (NULL entries are fine). */
static void unsubscribe_all(struct cat *c)
{
    for (int i = 0; i < c->o->n_rings; i++) {
        mdf_unsubscribe(c->subs[i]);
        c->subs[i] = NULL;
    }
}

/* Subscribes to every ring of the options at `start` / seq. Returns 0 or a negative error
 * (mdf_errmsg says which ring); nothing stays subscribed on error. */
static int subscribe_all(struct cat *c, int start, uint64_t seq)
{
    int rc;

    for (int i = 0; i < c->o->n_rings; i++) {
        rc = mdf_subscribe(c->inst, c->o->rings[i], start, seq, &c->subs[i]);
        if (rc < 0) {
            unsubscribe_all(c);
            return rc;
        }
    }
    return 0;
}

/* Drops the cached symbol entries (a new instance may number them differently). */
static void forget_symbols(struct cat *c)
{
    free(c->syms);
    c->syms = NULL;
    c->n_syms = 0;
}

/* The instance was retired (replaced): closes it, waits for the new one and resubscribes every
 * ring at its oldest record. Returns 0 (reopened), 1 (gave up: deadline or signal) or a
 * negative error with mdf_errmsg set. */
static int reopen(struct cat *c)
{
    struct mdf_status st;
    int rc, ms;

    fprintf(stderr,
            PROG ": note: instance \"%s\" was replaced; reopening it and reading from "
                 "the oldest record\n",
            c->o->instance);
    unsubscribe_all(c);
    mdf_close(c->inst);
    c->inst = NULL;
    forget_symbols(c);
    for (;;) {
        if (stop_requested || (ms = slice_ms(c, REOPEN_MS)) == 0)
            return 1;
        rc = mdf_open(&c->inst, c->o->instance, ms);
        if (rc == 0) {
            rc = subscribe_all(c, MDF_START_OLDEST, 0);
            if (rc == 0)
                break;
            mdf_close(c->inst);
            c->inst = NULL;
            if (rc != -ENOENT)
                return rc;
            sleep_ms(ms); /* the new daemon has not made every ring yet */
        } else if (rc != -ETIMEDOUT && rc != -ENOENT) {
            return rc;
        }
    }
    if (mdf_status(c->inst, &st) == 0)
        c->epoch = st.epoch;
    c->dead = false; /* mdf_wait tells if the new owner is dead too */
    return 0;
}

/* Called while the daemon is known dead: sleeps a little, then checks whether it (or a
 * successor) is alive again. Returns as reopen. */
static int poll_dead(struct cat *c)
{
    struct mdf_status st;
    int ms = slice_ms(c, DEAD_POLL_MS);

    if (ms == 0)
        return 0;
    sleep_ms(ms);
    if (mdf_status(c->inst, &st) < 0)
        return 0;
    if (st.liveness == MDF_RETIRED)
        return reopen(c);
    if (st.liveness != MDF_ALIVE)
        return 0;
    c->dead = false;
    if (st.epoch != c->epoch)
        fprintf(stderr,
                PROG ": note: instance \"%s\" was restarted (epoch %" PRIu64 " -> %" PRIu64
                     ", pid %" PRId64 "); continuing\n",
                c->o->instance, c->epoch, st.epoch, st.pid);
    else
        fprintf(stderr, PROG ": note: the daemon of instance \"%s\" is alive again\n",
                c->o->instance);
    c->epoch = st.epoch;
    return 0;
}

/* Blocks until a record may be ready, a slice passes or the deadline comes. Returns as
 * reopen. */
static int wait_some(struct cat *c)
{
    struct mdf_status st;
    int ms, rc;

    if (c->dead)
        return poll_dead(c);
    ms = slice_ms(c, c->o->n_rings > 1 ? WAIT_MANY_MS : WAIT_ONE_MS);
    if (ms == 0)
        return 0;
    rc = mdf_wait(c->subs[0], ms);
    if (rc >= 0)
        return 0;
    if (rc == MDF_ERETIRED)
        return reopen(c);
    if (rc != MDF_EDEAD)
        return rc;
    c->dead = true;
    if (mdf_status(c->inst, &st) < 0)
        st.pid = 0;
    fprintf(stderr,
            PROG ": warning: the daemon of instance \"%s\" (pid %" PRId64
                 ") is dead; waiting for it to come back\n",
            c->o->instance, st.pid);
    return 0;
}

/* ---- main loop ------------------------------------------------------------------------------ */

/* Reads and prints at most one record of subscription i. Returns 1 (printed), 0 (none ready)
 * or a negative error. */
static int read_one(struct cat *c, int i)
{
    uint64_t lost = 0;
    int rc = mdf_next(c->subs[i], &c->rec, &lost);

    if (rc <= 0)
        return rc;
    if (lost)
        print_lost(c, c->o->rings[i], lost);
    print_record(c, c->o->rings[i]);
    c->printed++;
    return 1;
}

/* Prints records until the options say stop. Returns the exit status. */
static int run(struct cat *c)
{
    const struct opts *o = c->o;
    bool waits = o->follow || o->count;
    int rc;

    for (;;) {
        bool got = false;

        /* The timeout holds even when records never stop coming. */
        if (c->deadline != INT64_MAX && mono_ns() >= c->deadline)
            return o->count ? EXIT_SHORT : EXIT_OK;
        /* Round-robin: one record from each ring per pass. */
        for (int i = 0; i < o->n_rings; i++) {
            if (stop_requested)
                return EXIT_OK;
            rc = read_one(c, i);
            if (rc < 0) {
                fprintf(stderr, PROG ": reading ring %s: %s\n", mdf_ring_name(o->rings[i]),
                        mdf_errmsg());
                return EXIT_ERR;
            }
            if (rc == 1) {
                got = true;
                if (ferror(stdout)) {
                    fprintf(stderr, PROG ": writing output: %s\n", strerror(errno));
                    return EXIT_ERR;
                }
                if (o->count && c->printed >= o->count)
                    return EXIT_OK;
            }
        }
        if (got)
            continue;
        /* Caught up on every ring. */
        if (!waits || stop_requested)
            return EXIT_OK;
        rc = wait_some(c);
        if (rc == 1)
            return stop_requested || !o->count ? EXIT_OK : EXIT_SHORT;
        if (rc < 0) {
            fprintf(stderr, PROG ": instance \"%s\": %s\n", o->instance, mdf_errmsg());
            return EXIT_ERR;
        }
    }
}

/* Parses the command line, opens the instance, subscribes and runs; returns the exit status. */
int main(int argc, char **argv)
{
    static struct cat cat; /* static: the record buffer is large */
    struct sigaction sa;
    struct mdf_status st;
    struct opts o;
    int rc, status;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    cat.o = &o;
    cat.deadline = o.timeout_ns < 0 ? INT64_MAX : mono_ns() + o.timeout_ns;

    /* The handlers only set a flag; no SA_RESTART, so a signal cuts sleeps short. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* One line per record reaches a pipe as soon as it is printed. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    rc = mdf_open(&cat.inst, o.instance, 0);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot open instance \"%s\": %s\n", o.instance, mdf_errmsg());
        return EXIT_ERR;
    }
    rc = subscribe_all(&cat, o.start, o.seq);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot subscribe in instance \"%s\": %s\n", o.instance,
                mdf_errmsg());
        status = EXIT_ERR;
        goto out_close;
    }
    if (mdf_status(cat.inst, &st) == 0)
        cat.epoch = st.epoch;

    status = run(&cat);

    unsubscribe_all(&cat);
out_close:
    mdf_close(cat.inst);
    forget_symbols(&cat);
    if (fflush(stdout) != 0 && status == EXIT_OK) {
        fprintf(stderr, PROG ": writing output: %s\n", strerror(errno));
        status = EXIT_ERR;
    }
    return status;
}
