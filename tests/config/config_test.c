/*
 * Tests of src/config/: what a user sees when the daemon reads a file. Each test writes a real
 * file, loads it with cfg_load() (libconfig underneath, nothing mocked) and checks either the
 * expanded configuration or the exact "FILE:LINE: message" lines printed for a bad one.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "config/config.h"
#include "test.h"
#include "venue/bitfinex.h"

/* A scratch config file and what loading it gave. */
struct loaded {
    char path[64];       /* the file written */
    int r;               /* cfg_load's return */
    struct md_config *c; /* the config on success, else NULL */
    char *errs;          /* everything cfg_load printed (new) */
    size_t errs_len;     /* its length */
};

/* Writes text to a fresh file under /tmp and returns its path in l->path. */
static void write_file(struct loaded *l, const char *text)
{
    int fd;
    FILE *f;

    snprintf(l->path, sizeof(l->path), "/tmp/mdfeed-cfg-%d-XXXXXX", (int)getpid());
    fd = mkstemp(l->path);
    ASSERT(fd >= 0);
    f = fdopen(fd, "w");
    ASSERT(f != NULL);
    ASSERT_EQ(fputs(text, f) >= 0, 1);
    ASSERT_EQ(fclose(f), 0);
}

/* Loads path, capturing the error output. */
static void load_path(struct loaded *l, const char *path)
{
    FILE *errs = open_memstream(&l->errs, &l->errs_len);

    ASSERT(errs != NULL);
    l->c = (struct md_config *)1; /* cfg_load must reset it */
    l->r = cfg_load(path, errs, &l->c);
    ASSERT_EQ(fclose(errs), 0);
}

/* Writes text to a file and loads it. */
static void load_text(struct loaded *l, const char *text)
{
    write_file(l, text);
    load_path(l, l->path);
}

/* Loads text and fails the test (printing the errors) unless it loads cleanly. */
static void load_ok(struct loaded *l, const char *text)
{
    load_text(l, text);
    if (l->r != 0)
        test_fail(__FILE__, __LINE__, "config did not load (%d):\n%s", l->r, l->errs);
    ASSERT(l->c != NULL);
    ASSERT_STR_EQ(l->errs, "");
}

/* Loads text and fails the test unless it loads with exactly one output line: the notice
 * ":LINE: notice: <notice>". */
static void load_ok_notice(struct loaded *l, const char *text, int line, const char *notice)
{
    char want[512];

    load_text(l, text);
    if (l->r != 0)
        test_fail(__FILE__, __LINE__, "config did not load (%d):\n%s", l->r, l->errs);
    snprintf(want, sizeof(want), "%s:%d: notice: %s\n", l->path, line, notice);
    ASSERT_STR_EQ(l->errs, want);
}

/* Frees what load_text made and removes the file. */
static void unload(struct loaded *l)
{
    cfg_free(l->c);
    l->c = NULL;
    free(l->errs);
    l->errs = NULL;
    unlink(l->path);
}

/* Path of a file in the source tree this runner was built from. */
static const char *source_file(const char *rel)
{
    static char path[4096 + 256];
    char root[4096];
    char *p;

    snprintf(root, sizeof(root), "%s", test_bin("x"));
    p = strstr(root, "/build");
    if (p)
        *p = '\0';
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    return path;
}

/* Reads a whole file into a new NUL-terminated buffer. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (!f)
        test_fail(__FILE__, __LINE__, "cannot open %s: %s", path, strerror(errno));
    ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ASSERT(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ASSERT(buf != NULL);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Writes a venue's expanded streams as "SYM type[/interval][/Pprec][:levels][@speed]" joined by
 * " | ", the way the expectations below spell them (the precision for Bitfinex books only, where
 * it is spelt even when 0). */
static const char *streams_text(const struct cfg_venue *v)
{
    static char buf[8192];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < v->n_streams; i++) {
        const struct vstream *s = &v->streams[i];

        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s %s", i ? " | " : "", s->symbol,
                              vstream_type_name(s->type));
        if (s->type == VS_KLINE)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "/%s", mdf_interval_name(s->interval));
        if (s->type == VS_DIFF && v->profile->family == VF_BITFINEX)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "/P%u", s->prec);
        else
            ASSERT_EQ(s->prec, 0);
        if (s->levels)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%u", s->levels);
        if (s->speed_ms)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "@%u", s->speed_ms);
        ASSERT(n < sizeof(buf));
    }
    return buf;
}

/* Asserts that the error output has exactly the expected lines, in order: each given as LINE
 * and a piece of the message. */
struct want_err {
    int line;         /* expected line */
    const char *text; /* a piece of the message */
};

static const char *topics_text(const struct cfg_venue *v);

static void check_errors(const struct loaded *l, const struct want_err *want, size_t n)
{
    const char *p = l->errs;
    char prefix[128];

    ASSERT_EQ(l->r, -EINVAL);
    ASSERT(l->c == NULL);
    for (size_t i = 0; i < n; i++) {
        const char *eol = strchr(p, '\n');
        char line[1024];

        if (!eol)
            test_fail(__FILE__, __LINE__, "error %zu (line %d, \"%s\") missing; output:\n%s", i,
                      want[i].line, want[i].text, l->errs);
        snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
        snprintf(prefix, sizeof(prefix), "%s:%d: ", l->path, want[i].line);
        if (strncmp(line, prefix, strlen(prefix)) != 0 || !strstr(line, want[i].text))
            test_fail(__FILE__, __LINE__, "error %zu: want \"%s...%s\", got \"%s\"; output:\n%s", i,
                      prefix, want[i].text, line, l->errs);
        p = eol + 1;
    }
    if (*p)
        test_fail(__FILE__, __LINE__, "more errors than expected:\n%s", p);
}

/* ------------------------------------------------------------------------------------------ */

TEST(config_shipped_file_loads_and_expands_expected_streams)
{
    struct loaded l = {0};
    const struct cfg_venue *spot, *fut;

    load_path(&l, source_file("conf/mdfeed.conf"));
    if (l.r != 0)
        test_fail(__FILE__, __LINE__, "conf/mdfeed.conf did not load (%d):\n%s", l.r, l.errs);
    ASSERT_STR_EQ(l.errs, "");
    ASSERT_STR_EQ(l.c->instance, "default");
    ASSERT_EQ(l.c->log_level, 6);
    ASSERT_EQ(l.c->decoder, VDEC_JSMN);
    ASSERT_EQ(l.c->shm.mode, 0640);
    ASSERT_EQ(l.c->shm.gid, (gid_t)-1);
    ASSERT_EQ(l.c->shm.book_depth, 20);
    ASSERT_EQ(l.c->shm.candle_k, 500);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_TICKS], 65536);
    ASSERT_EQ(l.c->n_venues, 2);

    spot = cfg_venue_find(l.c, "binance-spot");
    ASSERT(spot != NULL);
    ASSERT_STR_EQ(spot->profile->name, "binance-spot");
    ASSERT_STR_EQ(spot->url, "wss://stream.binance.com:9443");
    ASSERT_STR_EQ(spot->rest_url, "https://api.binance.com");
    ASSERT_STR_EQ(streams_text(spot), "BTCUSDT trade | BTCUSDT kline/1m | BTCUSDT book_ticker | "
                                      "BTCUSDT diff_depth@100 | "
                                      "ETHUSDT trade | ETHUSDT kline/1m | ETHUSDT book_ticker | "
                                      "ETHUSDT diff_depth@100");

    fut = cfg_venue_find(l.c, "binance-futures");
    ASSERT(fut != NULL);
    ASSERT(fut->profile->futures);
    ASSERT_STR_EQ(streams_text(fut),
                  "BTCUSDT agg_trade | BTCUSDT kline/1m | BTCUSDT book_ticker | "
                  "BTCUSDT depth:20@100 | BTCUSDT mark_price@1000 | BTCUSDT force_order | "
                  "ETHUSDT agg_trade | ETHUSDT kline/1m | ETHUSDT book_ticker | "
                  "ETHUSDT depth:20@100 | ETHUSDT mark_price@1000 | ETHUSDT force_order");
    ASSERT(cfg_venue_find(l.c, "binance-spot-testnet") == NULL);
    unload(&l);
    return 0;
}

TEST(config_symbols_only_style_uses_venue_defaults)
{
    struct loaded l = {0};
    const struct cfg_venue *s, *f;

    load_ok_notice(&l,
                   "venues = (\n"
                   "  { venue = \"binance-spot\"; symbols = [ \"btcusdt\", \"ETHBTC\" ]; },\n"
                   "  { venue = \"binance-futures\"; symbols = [ \"BTCUSDT\" ]; }\n"
                   ");\n",
                   2, "symbols: \"btcusdt\" read as \"BTCUSDT\" (Binance symbols are upper case)");
    ASSERT_EQ(l.c->n_venues, 2);
    s = &l.c->venues[0];
    f = &l.c->venues[1];
    ASSERT_STR_EQ(s->name, "binance-spot");
    ASSERT_STR_EQ(f->name, "binance-futures");
    /* Spot: trades, 1m candles and the best bid/offer per symbol, upper-cased. */
    ASSERT_STR_EQ(streams_text(s), "BTCUSDT trade | BTCUSDT kline/1m | BTCUSDT book_ticker | "
                                   "ETHBTC trade | ETHBTC kline/1m | ETHBTC book_ticker");
    /* Futures has no trade stream: aggregate trades instead. */
    ASSERT_STR_EQ(streams_text(f), "BTCUSDT agg_trade | BTCUSDT kline/1m | BTCUSDT book_ticker");
    /* Venue limits come from the profile. */
    ASSERT_EQ(s->streams_per_conn, 1024);
    ASSERT_EQ(f->streams_per_conn, 200);
    ASSERT_EQ(s->subscribe_rate, 3);
    ASSERT_EQ(f->subscribe_rate, 8);
    ASSERT_EQ(s->snapshot_limit, s->profile->snapshot_limit);
    ASSERT_STR_EQ(f->url, "wss://fstream.binance.com");
    ASSERT_STR_EQ(f->rest_url, "https://fapi.binance.com");
    ASSERT_STR_EQ(s->ca_file, "");
    ASSERT(s->rest_weight_share == 0.5);
    ASSERT(!s->emit_partial_candles);
    ASSERT(s->candle_warmup);
    /* Every documented default of the global groups. */
    ASSERT(s->conn.connect_timeout == 10 && s->conn.ping_interval == 30);
    ASSERT(s->conn.pong_timeout == 30 && s->conn.max_attempts == 0);
    ASSERT(s->conn.base_delay == 1.0 && s->conn.max_delay == 60 && s->conn.jitter == 0.5);
    ASSERT(s->conn.max_age == 82800);
    ASSERT(s->health.check_interval == 1.0 && s->health.watchdog_timeout == 60);
    ASSERT(s->health.silent_after == 30 && s->health.stale_factor == 10);
    ASSERT(s->health.stale_min == 5 && s->health.stale_quiet == 0);
    ASSERT_EQ(l.c->shm.max_symbols, 4096);
    ASSERT_EQ(l.c->shm.max_series, 4096);
    ASSERT_EQ(l.c->shm.max_streams, 4096);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_CANDLES], 16384);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_BOOKS], 16384);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_FUNDING], 16384);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_EVENTS], 4096);
    unload(&l);
    return 0;
}

TEST(config_switches_style_expands_every_switch_per_symbol)
{
    struct loaded l = {0};

    load_ok(&l,
            "venues = (\n"
            "  { venue = \"binance-spot\";\n"
            "    symbols = [ \"BTCUSDT\", \"ETHUSDT\" ];\n"
            "    trades = \"both\";\n"
            "    kline = [ \"1m\", \"1h\", \"1m\", \"1M\" ];\n"
            "    book_ticker = false;\n"
            "    order_book = 10;\n"
            "    book_speed = 100;\n"
            "    ticker = true;\n"
            "    mini_ticker = true;\n"
            "  },\n"
            "  { venue = \"binance-futures\"; name = \"fut\";\n"
            "    symbols = [ \"BTCUSDT\" ];\n"
            "    trades = \"none\"; kline = \"\"; book_ticker = false;\n"
            "    order_book = \"diff\"; funding = true; liquidations = true;\n"
            "  },\n"
            "  { venue = \"binance-futures\"; name = \"fut5\";\n"
            "    symbols = [ \"BTCUSDT\" ];\n"
            "    trades = \"agg_trade\"; kline = \"5m\"; order_book = \"5\"; book_speed = 500;\n"
            "  }\n"
            ");\n");
    ASSERT_STR_EQ(streams_text(&l.c->venues[0]),
                  "BTCUSDT trade | BTCUSDT agg_trade | BTCUSDT kline/1m | BTCUSDT kline/1h | "
                  "BTCUSDT kline/1M | BTCUSDT depth:10@100 | BTCUSDT ticker | "
                  "BTCUSDT mini_ticker | "
                  "ETHUSDT trade | ETHUSDT agg_trade | ETHUSDT kline/1m | ETHUSDT kline/1h | "
                  "ETHUSDT kline/1M | ETHUSDT depth:10@100 | ETHUSDT ticker | "
                  "ETHUSDT mini_ticker");
    ASSERT_STR_EQ(streams_text(cfg_venue_find(l.c, "fut")),
                  "BTCUSDT diff_depth | BTCUSDT mark_price@1000 | BTCUSDT force_order");
    ASSERT_STR_EQ(streams_text(cfg_venue_find(l.c, "fut5")),
                  "BTCUSDT agg_trade | BTCUSDT kline/5m | BTCUSDT book_ticker | "
                  "BTCUSDT depth:5@500");
    unload(&l);
    return 0;
}

TEST(config_explicit_streams_join_symbols_in_file_order_without_duplicates)
{
    struct loaded l = {0};

    load_ok_notice(&l,
                   "venues = (\n"
                   "  { venue = \"binance-futures\";\n"
                   "    streams = (\n"
                   "      { symbol = \"ethusdt\"; type = \"kline\"; interval = \"15m\"; },\n"
                   "      { symbol = \"BTCUSDT\"; type = \"depth\"; levels = 20; speed = 100; },\n"
                   "      { symbol = \"BTCUSDT\"; type = \"mark_price\"; },\n"
                   "      { symbol = \"BTCUSDT\"; type = \"depth\"; levels = 20; speed = 100; },\n"
                   "      { symbol = \"BTCUSDT\"; type = \"agg_trade\"; },\n"
                   "      { symbol = \"BTCUSDT\"; type = \"diff_depth\"; speed = 250; }\n"
                   "    );\n"
                   "    symbols = [ \"BTCUSDT\" ];\n"
                   "    order_book = \"diff\";\n"
                   "  },\n"
                   "  { venue = \"binance-spot\";\n"
                   "    symbols = [ \"BTCUSDT\" ];\n"
                   "    streams = (\n"
                   "      { symbol = \"BTCUSDT\"; type = \"kline\"; interval = \"1m\"; },\n"
                   "      { symbol = \"BNBBTC\"; type = \"mini_ticker\"; }\n"
                   "    );\n"
                   "  }\n"
                   ");\n",
                   4, "symbol: \"ethusdt\" read as \"ETHUSDT\" (Binance symbols are upper case)");
    /* streams first (it comes first in the file), then the symbols' streams; the symbols'
     * agg_trade and the diff book at the venue's default speed (250 ms spelt out above) are
     * already there. */
    ASSERT_STR_EQ(streams_text(&l.c->venues[0]),
                  "ETHUSDT kline/15m | BTCUSDT depth:20@100 | BTCUSDT mark_price | "
                  "BTCUSDT agg_trade | BTCUSDT diff_depth@250 | BTCUSDT kline/1m | "
                  "BTCUSDT book_ticker");
    ASSERT_STR_EQ(streams_text(&l.c->venues[1]),
                  "BTCUSDT trade | BTCUSDT kline/1m | BTCUSDT book_ticker | BNBBTC mini_ticker");
    unload(&l);
    return 0;
}

TEST(config_reports_every_error_with_its_line)
{
    static const struct want_err want[] = {
        {2, "instance: \"bad name!\" is not a name"},
        {3, "log_level: unknown level \"loud\""},
        {4, "unknown setting 'bogus_top'"},
        {6, "mode: 0755 is not allowed"},
        {7, "group: unknown group \"no-such-group-mdfeed\""},
        {8, "book_depth: 500 is out of range (1..100)"},
        {9, "ticks: 1000 is not a power of two"},
        {12, "ping_interval: expected a number of seconds, got a string"},
        {13, "reconnect_base_delay (100 s) is above reconnect_max_delay (10 s)"},
        {17, "check_interval (10 s) must be below stale_min (5 s)"},
        {18, "unknown setting 'colour' in health"},
        {22, "url: \"wss://127.0.0.1:9443/ws\" has a path"},
        {24, "kline: unknown interval \"7m\""},
        {25, "funding: binance-spot has no funding rates"},
        {26, "binance-spot has no mark_price stream"},
        {27, "unknown setting 'speeed' in a streams entry"},
        {29, "duplicate venue name \"binance-spot\" (first at line 21)"},
        {31, "book_ticker: expected a boolean (true or false), got a string"},
        {34, "watchdog_timeout (60 s) must be above binance-futures's ping period (180 s)"},
        {35, "connection_age"}, /* unknown key inside a venue's own group */
    };
    struct loaded l = {0};

    load_text(&l, "# many errors, one per line\n"                                       /* 1 */
                  "instance = \"bad name!\";\n"                                         /* 2 */
                  "log_level = \"loud\";\n"                                             /* 3 */
                  "bogus_top = 1;\n"                                                    /* 4 */
                  "shm = {\n"                                                           /* 5 */
                  "    mode = \"0755\";\n"                                              /* 6 */
                  "    group = \"no-such-group-mdfeed\";\n"                             /* 7 */
                  "    book_depth = 500;\n"                                             /* 8 */
                  "    rings = { ticks = 1000; };\n"                                    /* 9 */
                  "};\n"                                                                /* 10 */
                  "connection = {\n"                                                    /* 11 */
                  "    ping_interval = \"30\";\n"                                       /* 12 */
                  "    reconnect_base_delay = 100.0;\n"                                 /* 13 */
                  "    reconnect_max_delay = 10;\n"                                     /* 14 */
                  "};\n"                                                                /* 15 */
                  "health = {\n"                                                        /* 16 */
                  "    check_interval = 10;\n"                                          /* 17 */
                  "    colour = \"red\";\n"                                             /* 18 */
                  "};\n"                                                                /* 19 */
                  "venues = (\n"                                                        /* 20 */
                  "  { venue = \"binance-spot\";\n"                                     /* 21 */
                  "    url = \"wss://127.0.0.1:9443/ws\";\n"                            /* 22 */
                  "    symbols = [ \"BTCUSDT\" ];\n"                                    /* 23 */
                  "    kline = \"7m\";\n"                                               /* 24 */
                  "    funding = true;\n"                                               /* 25 */
                  "    streams = ( { symbol = \"BTCUSDT\"; type = \"mark_price\"; },\n" /* 26 */
                  "                { symbol = \"BTCUSDT\"; type = \"trade\"; speeed = 1; } );\n"
                  "  },\n"                                             /* 28 */
                  "  { venue = \"binance-spot\";\n"                    /* 29 */
                  "    symbols = [ \"ETHUSDT\" ];\n"                   /* 30 */
                  "    book_ticker = \"yes\";\n"                       /* 31 */
                  "  },\n"                                             /* 32 */
                  "  { venue = \"binance-futures\"; name = \"fut\";\n" /* 33 */
                  "    connection = { ping_interval = 0; };\n"         /* 34 */
                  "    health = { connection_age = 5; };\n"            /* 35 */
                  "    symbols = [ \"BTCUSDT\" ];\n"                   /* 36 */
                  "  }\n"                                              /* 37 */
                  ");\n");                                             /* 38 */
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    /* The thread's message names the first error and how many more there are. */
    ASSERT_CONTAINS(mdf_errmsg(), ":2: instance");
    ASSERT_CONTAINS(mdf_errmsg(), "19 more");
    unload(&l);
    return 0;
}

TEST(config_reports_missing_venues_and_bad_values_elsewhere)
{
    struct loaded l = {0};

    /* No venues at all: reported at line 1 (the file as a whole), after the other errors. */
    {
        static const struct want_err want[] = {
            {1, "no venues"},
            {2, "decoder: unknown decoder \"simdjson\""},
            {3, "mode: \"rw-r-----\" is not an octal file mode"},
        };

        load_text(&l, "\n"
                      "decoder = \"simdjson\";\n"
                      "shm = { mode = \"rw-r-----\"; };\n");
        check_errors(&l, want, sizeof(want) / sizeof(want[0]));
        unload(&l);
    }
    /* An empty list, world-writable mode, an integer mode, a venue without 'venue'. */
    {
        static const struct want_err want[] = {
            {1, "mode: expected an octal string such as \"0640\", got an integer"},
            {2, "venues: the list is empty"},
        };

        load_text(&l, "shm = { mode = 0640; };\n"
                      "venues = ( );\n");
        check_errors(&l, want, sizeof(want) / sizeof(want[0]));
        unload(&l);
    }
    {
        static const struct want_err want[] = {
            {1, "mode: 0646 is not allowed"},
            {3, "venue entry without 'venue'"},
            {4, "venue: unknown venue \"binance-coin\" (one of binance-spot,"},
            {6, "rest_url: \"wss://127.0.0.1:9443\" must start with http:// or https://"},
            {7, "snapshot_limit: binance-futures takes 5, 10, 20, 50, 100, 500 or 1000, not 30"},
            {8, "subscribe_rate: 10 is out of range (1..8)"},
            {9, "trades: binance-futures has no trade stream"},
            {10, "order_book: expected \"none\", \"diff\", 5, 10 or 20"},
            {11, "symbols: \"BTC-USDT\" is not a symbol"},
            {14, "ca_file: /nonexistent/ca.pem: No such file or directory"},
            {15, "kline stream of BTCUSDT without 'interval'"},
            {16, "levels: only depth streams have them"},
            {17, "streams entry without 'type'"},
            {18, "binance-spot diff_depth stream has no 500 ms speed"},
        };

        load_text(&l, "shm = { mode = \"0646\"; };\n"                                  /* 1 */
                      "venues = (\n"                                                   /* 2 */
                      "  { symbols = [ \"BTCUSDT\" ]; },\n"                            /* 3 */
                      "  { venue = \"binance-coin\"; symbols = [ \"BTCUSDT\" ]; },\n"  /* 4 */
                      "  { venue = \"binance-futures\";\n"                             /* 5 */
                      "    rest_url = \"wss://127.0.0.1:9443\";\n"                     /* 6 */
                      "    snapshot_limit = 30;\n"                                     /* 7 */
                      "    subscribe_rate = 10;\n"                                     /* 8 */
                      "    trades = \"trade\";\n"                                      /* 9 */
                      "    order_book = 15;\n"                                         /* 10 */
                      "    symbols = [ \"BTCUSDT\", \"BTC-USDT\" ];\n"                 /* 11 */
                      "  },\n"                                                         /* 12 */
                      "  { venue = \"binance-spot\";\n"                                /* 13 */
                      "    ca_file = \"/nonexistent/ca.pem\";\n"                       /* 14 */
                      "    streams = ( { symbol = \"BTCUSDT\"; type = \"kline\"; },\n" /* 15 */
                      "      { symbol = \"X\"; type = \"trade\"; levels = 5; },\n"     /* 16 */
                      "      { symbol = \"X\"; },\n"                                   /* 17 */
                      "      { symbol = \"X\"; type = \"diff_depth\"; speed = 500; } );\n"
                      "  }\n"
                      ");\n");
        check_errors(&l, want, sizeof(want) / sizeof(want[0]));
        unload(&l);
    }
    return 0;
}

TEST(config_syntax_error_names_the_line)
{
    struct loaded l = {0};
    char want[128];

    load_text(&l, "instance = \"a\";\n"
                  "log_level = \"info\"\n"
                  "decoder = ;\n"
                  "venues = ( );\n");
    ASSERT_EQ(l.r, -EINVAL);
    ASSERT(l.c == NULL);
    snprintf(want, sizeof(want), "%s:3: syntax error at \";\" (expected a value", l.path);
    ASSERT(strncmp(l.errs, want, strlen(want)) == 0);
    ASSERT_CONTAINS(mdf_errmsg(), ":3: syntax error at \";\"");
    unload(&l);
    return 0;
}

/* One bad file per case: the line and the message naming the token at fault. */
TEST(config_syntax_errors_name_the_token_and_line)
{
    static const struct {
        const char *text; /* the file */
        int line;         /* the error's line */
        const char *msg;  /* the whole message */
    } cases[] = {
        {"venues = ({ venue = \"binance-spot\";\n  symbols = [\"BTCUSDT\"];\n"
         "  kline = 1m; });\n",
         3,
         "syntax error at \"1m\" (expected a value: a number, a string, true or false, [array], "
         "(list) or {group})"},
        {"instance = \"a\";\n}\n", 2, "syntax error at \"}\" (expected a setting name)"},
        {"shm = { book_depth = 10;\n  candle_history 600; };\n", 2,
         "syntax error at \"600\" (expected \"=\" or \":\" after the setting name)"},
        {"venues = ({ venue = \"binance-spot\";\n  kline = \"1m\";\n"
         "  symbols = [\"BTCUSDT\", ETHUSDT]; });\n",
         3,
         "syntax error at \"ETHUSDT\" (expected a number, string or boolean in the [array], or "
         "\"]\")"},
        {"shm = { book_depth = 10;\n", 2,
         "syntax error at the end of the file (expected a setting name or \"}\")"},
        {"log_level = \"info\";\ninstance = \"a;\n", 3,
         "syntax error: the string \"a;... is never closed"},
        {"log_level = \"info\";\ninstance = @a;\n", 2,
         "syntax error at \"@\" (expected a value: a number, a string, true or false, [array], "
         "(list) or {group})"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct loaded l = {0};
        char want[512];

        load_text(&l, cases[i].text);
        snprintf(want, sizeof(want), "%s:%d: %s\n", l.path, cases[i].line, cases[i].msg);
        if (l.r != -EINVAL || strcmp(l.errs, want) != 0)
            test_fail(__FILE__, __LINE__, "case %zu: got (%d) %swant %s", i, l.r, l.errs, want);
        unload(&l);
    }
    return 0;
}

/* A key set twice in one group (top level, a group, a venue entry in the list) is named, with
 * the line of its first setting. */
TEST(config_duplicate_keys_are_named_with_both_lines)
{
    static const struct {
        const char *text; /* the file */
        int line;         /* the error's line */
        const char *msg;  /* the whole message */
    } cases[] = {
        {"log_level = \"info\";\ninstance = \"a\";\nlog_level = \"debug\";\n", 3,
         "duplicate setting \"log_level\" (first set on line 1)"},
        {"shm = {\n  book_depth = 10;\n  candle_history = 600;\n  book_depth = 20;\n};\n", 4,
         "duplicate setting \"book_depth\" (first set on line 2)"},
        {"venues = (\n  { venue = \"binance-spot\"; symbols = [\"BTCUSDT\"]; },\n"
         "  { venue = \"binance-futures\"; symbols = [\"BTCUSDT\"];\n"
         "    kline = \"1m\"; trades = \"trade\"; kline = \"5m\"; });\n",
         4, "duplicate setting \"kline\" (first set on line 4)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct loaded l = {0};
        char want[512];

        load_text(&l, cases[i].text);
        snprintf(want, sizeof(want), "%s:%d: %s\n", l.path, cases[i].line, cases[i].msg);
        if (l.r != -EINVAL || strcmp(l.errs, want) != 0)
            test_fail(__FILE__, __LINE__, "case %zu: got (%d) %swant %s", i, l.r, l.errs, want);
        unload(&l);
    }
    return 0;
}

/* A lower-case Binance symbol (in "symbols" and in a streams entry) is read in upper case, the
 * way the venue spells it, and a notice says so; the file loads. Bitfinex symbols keep their
 * case (tBTCUSD). */
TEST(config_lower_case_binance_symbol_is_upper_cased_with_a_notice)
{
    struct loaded l = {0};
    char want[1024];

    load_text(&l, "venues = ({ venue = \"binance-spot\";\n"
                  "  symbols = [\"btcusdt\", \"ETHUSDT\"]; kline = \"1m\"; trades = \"none\";\n"
                  "  book_ticker = false;\n"
                  "  streams = ( { symbol = \"BnbUsdt\"; type = \"trade\"; } ); });\n");
    if (l.r != 0)
        test_fail(__FILE__, __LINE__, "config did not load (%d):\n%s", l.r, l.errs);
    ASSERT_STR_EQ(streams_text(&l.c->venues[0]),
                  "BTCUSDT kline/1m | ETHUSDT kline/1m | BNBUSDT trade");
    snprintf(want, sizeof(want),
             "%s:2: notice: symbols: \"btcusdt\" read as \"BTCUSDT\" (Binance symbols are upper "
             "case)\n"
             "%s:4: notice: symbol: \"BnbUsdt\" read as \"BNBUSDT\" (Binance symbols are upper "
             "case)\n",
             l.path, l.path);
    ASSERT_STR_EQ(l.errs, want);
    unload(&l);

    /* With an error elsewhere the notice is still printed, before the errors. */
    load_text(&l, "venues = ({ venue = \"binance-spot\";\n"
                  "  symbols = [\"btcusdt\"]; kline = \"7m\"; });\n");
    ASSERT_EQ(l.r, -EINVAL);
    ASSERT(strncmp(l.errs, l.path, strlen(l.path)) == 0);
    ASSERT_CONTAINS(l.errs, ":2: notice: symbols: \"btcusdt\" read as \"BTCUSDT\"");
    ASSERT_CONTAINS(l.errs, "unknown interval");
    unload(&l);
    return 0;
}

TEST(config_missing_file_is_enoent_with_message)
{
    struct loaded l = {0};

    load_path(&l, "/nonexistent/mdfeed-test.conf");
    ASSERT_EQ(l.r, -ENOENT);
    ASSERT(l.c == NULL);
    ASSERT_CONTAINS(l.errs, "/nonexistent/mdfeed-test.conf");
    ASSERT_CONTAINS(l.errs, "No such file or directory");
    ASSERT_CONTAINS(mdf_errmsg(), "/nonexistent/mdfeed-test.conf");
    free(l.errs);

    /* A file the daemon may not read is -EACCES. Root reads everything, so as root the load
     * runs in a child that has become nobody. */
    {
        struct loaded m = {0};
        int status;
        pid_t pid;

        write_file(&m, "venues = ( { venue = \"binance-spot\"; symbols = [\"A\"]; } );\n");
        ASSERT_EQ(chmod(m.path, 0), 0);
        pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            if (test_is_root() && (setgid(65534) < 0 || setuid(65534) < 0))
                _exit(2);
            load_path(&m, m.path);
            if (m.r != -EACCES || m.c != NULL || !strstr(m.errs, "Permission denied")) {
                fprintf(stderr, "r=%d errs=%s\n", m.r, m.errs);
                _exit(1);
            }
            _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        unload(&m);
    }
    return 0;
}

TEST(config_venue_overrides_take_key_by_key)
{
    struct loaded l = {0};
    const struct cfg_venue *a, *b;

    load_ok(&l, "connection = { ping_interval = 15; pong_timeout = 10; reconnect_max_delay = 120;"
                " connect_timeout = 2.5; };\n"
                "health = { stale_min = 7; watchdog_timeout = 90; };\n"
                "venues = (\n"
                "  { venue = \"binance-spot\"; name = \"a\"; symbols = [ \"BTCUSDT\" ];\n"
                "    connection = { pong_timeout = 20; max_reconnect_attempts = 5; };\n"
                "    health = { check_interval = 0.5; stale_quiet = 600; };\n"
                "  },\n"
                "  { venue = \"binance-spot\"; name = \"b\"; symbols = [ \"BTCUSDT\" ]; }\n"
                ");\n");
    a = cfg_venue_find(l.c, "a");
    b = cfg_venue_find(l.c, "b");
    ASSERT(a && b);
    /* a: its own keys, the global group's for the rest, defaults where neither says. */
    ASSERT(a->conn.pong_timeout == 20);
    ASSERT_EQ(a->conn.max_attempts, 5);
    ASSERT(a->conn.ping_interval == 15);
    ASSERT(a->conn.max_delay == 120);
    ASSERT(a->conn.connect_timeout == 2.5);
    ASSERT(a->conn.base_delay == 1.0);
    ASSERT(a->health.check_interval == 0.5);
    ASSERT(a->health.stale_quiet == 600);
    ASSERT(a->health.stale_min == 7);
    ASSERT(a->health.watchdog_timeout == 90);
    ASSERT(a->health.silent_after == 30);
    /* b: untouched by a's overrides. */
    ASSERT(b->conn.pong_timeout == 10);
    ASSERT_EQ(b->conn.max_attempts, 0);
    ASSERT(b->health.check_interval == 1.0);
    ASSERT(b->health.stale_quiet == 0);
    ASSERT(b->health.stale_min == 7);
    unload(&l);

    /* A venue's override that breaks a timer rule is reported at the override's line; the same
     * global value is fine for the other venue. */
    {
        static const struct want_err want[] = {
            {4, "check_interval (6 s) must be below stale_min (5 s)"},
        };

        load_text(&l, "health = { check_interval = 4; };\n"
                      "venues = (\n"
                      "  { venue = \"binance-spot\"; symbols = [ \"BTCUSDT\" ];\n"
                      "    health = { check_interval = 6; }; },\n"
                      "  { venue = \"binance-spot\"; name = \"b\"; symbols = [ \"BTCUSDT\" ]; }\n"
                      ");\n");
        check_errors(&l, want, 1);
        unload(&l);
    }
    return 0;
}

TEST(config_timer_rules_each_reported)
{
    struct loaded l = {0};
    static const struct want_err want[] = {
        {2, "pong_timeout (100 s) must be below max_connection_age (60 s)"},
        {3, "connect_timeout (60 s) must be below max_connection_age (60 s)"},
        {5, "watchdog_timeout (100 s) must be at least ping_interval + pong_timeout (130 s)"},
        {6, "check_interval (40 s) must be below silent_after (30 s)"},
        {6, "check_interval (40 s) must be below stale_min (5 s)"},
    };

    load_text(&l, "connection = { ping_interval = 30;\n"
                  "  pong_timeout = 100;\n"
                  "  connect_timeout = 60; max_connection_age = 60; };\n"
                  "health = {\n"
                  "  watchdog_timeout = 100;\n"
                  "  check_interval = 40; };\n"
                  "venues = ( { venue = \"binance-spot\"; symbols = [ \"BTCUSDT\" ]; } );\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);

    /* ping_interval = 0 relies on the venue's pings: fine on spot (20 s) with the default
     * watchdog, and the ping + pong rule no longer applies. */
    load_ok(&l, "connection = { ping_interval = 0; pong_timeout = 3000; };\n"
                "venues = ( { venue = \"binance-spot\"; symbols = [ \"BTCUSDT\" ]; } );\n");
    ASSERT(l.c->venues[0].conn.ping_interval == 0);
    unload(&l);
    return 0;
}

TEST(config_too_many_symbols_series_or_streams_for_the_tables)
{
    struct loaded l = {0};
    char text[8192];
    size_t n;
    static const struct want_err want[] = {
        {1, "17 symbols over all venues do not fit shm.max_symbols = 16"},
        {1, "34 kline streams over all venues do not fit shm.max_series = 16"},
        {1, "68 streams over all venues do not fit shm.max_streams = 16"},
    };

    n = (size_t)snprintf(text, sizeof(text),
                         "shm = { max_symbols = 16; max_series = 16; max_streams = 16; };\n"
                         "venues = ( { venue = \"binance-spot\"; kline = [\"1m\", \"5m\"];\n"
                         "  symbols = [ ");
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"S%d\"", i ? ", " : "", i);
    snprintf(text + n, sizeof(text) - n, " ]; } );\n");
    load_text(&l, text);
    check_errors(&l, want, 3);
    unload(&l);
    return 0;
}

/* True if text has pat ("len =") as a whole key: not the end of a longer one ("book_len ="). */
static bool shows_key(const char *text, const char *pat)
{
    for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat))
        if (p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
            return true;
    return false;
}

/* Every key of the format, set to a value that is not its default. */
static const char all_keys_conf[] =
    "instance = \"prod-1\";\n"
    "log_level = \"debug\";\n"
    "decoder = \"jansson\";\n"
    "shm = { mode = \"0600\"; group = \"%s\"; book_depth = 50; candle_history = 1000;\n"
    "  max_symbols = 100; max_series = 200; max_streams = 300;\n"
    "  rings = { ticks = 1024; candles = 2048; books = 4096; funding = 8192; events = 16; }; };\n"
    "connection = { connect_timeout = 5; ping_interval = 20; pong_timeout = 10;\n"
    "  max_reconnect_attempts = 7; reconnect_base_delay = 0.5; reconnect_max_delay = 30;\n"
    "  reconnect_jitter = 0.25; max_connection_age = 3600; };\n"
    "health = { check_interval = 0.25; watchdog_timeout = 45; silent_after = 12;\n"
    "  stale_factor = 4; stale_min = 2; stale_quiet = 300; };\n"
    "venues = (\n"
    "  { venue = \"binance-futures\"; name = \"fut_test\";\n"
    "    url = \"ws://127.0.0.1:9443/\"; rest_url = \"http://[::1]:8080\";\n"
    "    ca_file = \"%s\";\n"
    "    streams_per_connection = 50; subscribe_rate = 4; snapshot_limit = 500;\n"
    "    rest_weight_share = 0.2; emit_partial_candles = true; candle_warmup = false;\n"
    "    connection = { connect_timeout = 3; };\n"
    "    health = { stale_min = 3; };\n"
    "    symbols = [ \"BTCUSDT_250328\" ];\n"
    "    trades = \"agg_trade\"; kline = [ \"1h\" ]; book_ticker = false; order_book = 5;\n"
    "    book_speed = 250; ticker = true; mini_ticker = true; funding = true;\n"
    "    liquidations = true;\n"
    "    streams = ( { symbol = \"ETHUSDT\"; type = \"depth\"; %s speed = 100; } );\n"
    "  },\n"
    "  { venue = \"bitfinex\"; name = \"bfx_test\"; symbols = [ \"tBTCUSD\" ];\n"
    "    trades = \"none\"; kline = \"\"; order_book = \"diff\";\n"
    "    book_prec = \"P3\"; book_freq = \"F1\"; book_len = 250;\n"
    "    streams = ( { symbol = \"tETHUSD\"; type = \"diff_depth\";\n"
    "      prec = \"P2\"; freq = \"F1\"; len = \"1\"; } );\n"
    "  }\n"
    ");\n";

TEST(config_every_key_loads_and_is_documented)
{
    static const char *const keys[] = {
        "instance",
        "log_level",
        "decoder",
        "shm",
        "mode",
        "group",
        "book_depth",
        "candle_history",
        "max_symbols",
        "max_series",
        "max_streams",
        "rings",
        "ticks",
        "candles",
        "books",
        "funding",
        "events",
        "connection",
        "connect_timeout",
        "ping_interval",
        "pong_timeout",
        "max_reconnect_attempts",
        "reconnect_base_delay",
        "reconnect_max_delay",
        "reconnect_jitter",
        "max_connection_age",
        "health",
        "check_interval",
        "watchdog_timeout",
        "silent_after",
        "stale_factor",
        "stale_min",
        "stale_quiet",
        "venues",
        "venue",
        "name",
        "url",
        "rest_url",
        "ca_file",
        "streams_per_connection",
        "subscribe_rate",
        "snapshot_limit",
        "rest_weight_share",
        "emit_partial_candles",
        "candle_warmup",
        "symbols",
        "trades",
        "kline",
        "book_ticker",
        "order_book",
        "book_speed",
        "ticker",
        "mini_ticker",
        "liquidations",
        "streams",
        "symbol",
        "type",
        "interval",
        "levels",
        "speed",
        "book_prec",
        "book_freq",
        "book_len",
        "prec",
        "freq",
        "len",
    };
    struct loaded l = {0};
    struct group *gr = getgrgid(getgid());
    const struct cfg_venue *v;
    char text[sizeof(all_keys_conf) + 8192];
    char *conf = slurp(source_file("conf/mdfeed.conf"));
    char *man = slurp(source_file("src/config/mdfeed.conf.5"));
    const char *ca = source_file("tests/config/config_test.c"); /* any readable file */
    char ca_path[4096 + 256];

    snprintf(ca_path, sizeof(ca_path), "%s", ca);
    ASSERT(gr != NULL);
    /* First with an empty interval in the streams entry: an error about its value, not an
     * unknown key; then with levels instead, and the file loads. */
    snprintf(text, sizeof(text), all_keys_conf, gr->gr_name, ca_path, "interval = \"\";");
    load_text(&l, text);
    ASSERT_EQ(l.r, -EINVAL);
    ASSERT_CONTAINS(l.errs, "interval: unknown interval \"\"");
    ASSERT(!strstr(l.errs, "unknown setting"));
    unload(&l);
    snprintf(text, sizeof(text), all_keys_conf, gr->gr_name, ca_path, "levels = 10;");
    load_ok(&l, text);

    ASSERT_STR_EQ(l.c->instance, "prod-1");
    ASSERT_EQ(l.c->log_level, 7);
    ASSERT_EQ(l.c->decoder, VDEC_JANSSON);
    ASSERT_EQ(l.c->shm.mode, 0600);
    ASSERT_EQ(l.c->shm.gid, gr->gr_gid);
    ASSERT_STR_EQ(l.c->shm.group, gr->gr_name);
    ASSERT_EQ(l.c->shm.book_depth, 50);
    ASSERT_EQ(l.c->shm.candle_k, 1000);
    ASSERT_EQ(l.c->shm.max_symbols, 100);
    ASSERT_EQ(l.c->shm.max_series, 200);
    ASSERT_EQ(l.c->shm.max_streams, 300);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_TICKS], 1024);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_CANDLES], 2048);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_BOOKS], 4096);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_FUNDING], 8192);
    ASSERT_EQ(l.c->shm.ring_size[MDF_RING_EVENTS], 16);
    v = cfg_venue_find(l.c, "fut_test");
    ASSERT(v != NULL);
    ASSERT_STR_EQ(v->url, "ws://127.0.0.1:9443");
    ASSERT_STR_EQ(v->rest_url, "http://[::1]:8080");
    ASSERT_STR_EQ(v->ca_file, ca_path);
    ASSERT_EQ(v->streams_per_conn, 50);
    ASSERT_EQ(v->subscribe_rate, 4);
    ASSERT_EQ(v->snapshot_limit, 500);
    ASSERT(v->rest_weight_share == 0.2);
    ASSERT(v->emit_partial_candles);
    ASSERT(!v->candle_warmup);
    ASSERT(v->conn.connect_timeout == 3 && v->conn.ping_interval == 20);
    ASSERT(v->conn.pong_timeout == 10 && v->conn.max_attempts == 7);
    ASSERT(v->conn.base_delay == 0.5 && v->conn.max_delay == 30);
    ASSERT(v->conn.jitter == 0.25 && v->conn.max_age == 3600);
    ASSERT(v->health.check_interval == 0.25 && v->health.watchdog_timeout == 45);
    ASSERT(v->health.silent_after == 12 && v->health.stale_factor == 4);
    ASSERT(v->health.stale_min == 3 && v->health.stale_quiet == 300);
    ASSERT_STR_EQ(streams_text(v), "BTCUSDT_250328 agg_trade | BTCUSDT_250328 kline/1h | "
                                   "BTCUSDT_250328 depth:5@250 | BTCUSDT_250328 ticker | "
                                   "BTCUSDT_250328 mini_ticker | BTCUSDT_250328 mark_price@1000 | "
                                   "BTCUSDT_250328 force_order | ETHUSDT depth:10@100");
    v = cfg_venue_find(l.c, "bfx_test");
    ASSERT(v != NULL);
    ASSERT_STR_EQ(streams_text(v), "tBTCUSD diff_depth/P3:250@2000 | tETHUSD diff_depth/P2:1@2000");
    unload(&l);

    /* Every key is explained in the shipped file and in mdfeed.conf(5). */
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char pat[64];

        snprintf(pat, sizeof(pat), "%s =", keys[i]);
        if (!shows_key(conf, pat))
            test_fail(__FILE__, __LINE__, "conf/mdfeed.conf does not show \"%s\"", pat);
        snprintf(pat, sizeof(pat), ".B %s\n", keys[i]);
        if (!strstr(man, pat))
            test_fail(__FILE__, __LINE__, "mdfeed.conf(5) has no \"%s\" entry", keys[i]);
    }
    free(conf);
    free(man);
    return 0;
}

/* Loads the base config with one line appended (NULL: none) into *c. */
static void load_variant(struct loaded *l, const char *extra)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "%s\n"
             "venues = ( { venue = \"binance-spot\"; symbols = [ \"BTCUSDT\" ]; } );\n",
             extra ? extra : "");
    load_ok(l, text);
}

TEST(config_needs_restart_detects_each_restart_only_key)
{
    static const struct {
        const char *extra; /* the change */
        const char *why;   /* what cfg_needs_restart must say */
    } restart[] = {
        {"instance = \"other\";", "instance"},
        {"decoder = \"jansson\";", "decoder"},
        {"shm = { mode = \"0600\"; };", "shm.mode"},
        {"shm = { group = \"root\"; };", "shm.group"},
        {"shm = { book_depth = 50; };", "shm.book_depth"},
        {"shm = { candle_history = 100; };", "shm.candle_history"},
        {"shm = { max_symbols = 100; };", "shm.max_symbols"},
        {"shm = { max_series = 100; };", "shm.max_series"},
        {"shm = { rings = { ticks = 1024; }; };", "shm.rings.ticks"},
        {"shm = { rings = { candles = 1024; }; };", "shm.rings.candles"},
        {"shm = { rings = { books = 1024; }; };", "shm.rings.books"},
        {"shm = { rings = { funding = 1024; }; };", "shm.rings.funding"},
        {"shm = { rings = { events = 1024; }; };", "shm.rings.events"},
    };
    static const char *const live[] = {
        "log_level = \"debug\";", "connection = { ping_interval = 10; };",
        "health = { stale_min = 9; };",
        "shm = { book_depth = 20; mode = \"0640\"; };", /* the defaults, spelt out */
    };
    struct loaded base = {0}, l = {0};
    char why[160];

    load_variant(&base, NULL);
    ASSERT(!cfg_needs_restart(base.c, base.c, why, sizeof(why)));
    ASSERT_STR_EQ(why, "");
    for (size_t i = 0; i < sizeof(restart) / sizeof(restart[0]); i++) {
        load_variant(&l, restart[i].extra);
        if (!cfg_needs_restart(base.c, l.c, why, sizeof(why)))
            test_fail(__FILE__, __LINE__, "\"%s\" does not need a restart?", restart[i].extra);
        ASSERT_CONTAINS(why, restart[i].why);
        ASSERT(cfg_needs_restart(l.c, base.c, NULL, 0));
        unload(&l);
    }
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        load_variant(&l, live[i]);
        if (cfg_needs_restart(base.c, l.c, why, sizeof(why)))
            test_fail(__FILE__, __LINE__, "\"%s\" needs a restart: %s", live[i], why);
        unload(&l);
    }
    /* Venue and stream changes apply live too. */
    load_ok(&l, "venues = ( { venue = \"binance-futures\"; symbols = [ \"ETHUSDT\" ]; } );\n");
    ASSERT(!cfg_needs_restart(base.c, l.c, why, sizeof(why)));
    unload(&l);
    unload(&base);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Bitfinex venues. */

TEST(config_bitfinex_entry_loads_to_exact_vstreams)
{
    struct loaded l = {0};
    const struct cfg_venue *v, *m;
    char key[BFX_KEY_MAX];

    load_ok(
        &l,
        "decoder = \"jansson\";\n" /* not an error: Bitfinex feeds use jsmn regardless */
        "venues = (\n"
        "  { venue = \"bitfinex\";\n"
        "    symbols = [ \"tBTCUSD\", \"tAVAX:USD\" ];\n"
        "    kline = [ \"1m\", \"1D\", \"7D\", \"1M\", \"14d\", \"1W\" ];\n"
        "    ticker = true;\n"
        "    order_book = \"diff\"; book_prec = \"P1\"; book_freq = \"F1\"; book_len = \"100\";\n"
        "    streams = (\n"
        "      { symbol = \"tETHUSD\"; type = \"diff_depth\"; prec = \"P4\"; len = 250; },\n"
        "      { symbol = \"tETHUSD\"; type = \"diff_depth\"; },\n"
        "      { symbol = \"tETHUSD\"; type = \"diff_depth\"; prec = \"P0\"; freq = \"F0\";\n"
        "        len = 25; },\n"
        "      { symbol = \"tBTCF0:USTF0\"; type = \"kline\"; interval = \"1W\"; },\n"
        "      { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"1w\"; },\n"
        "      { symbol = \"tBTCUSD\"; type = \"trade\"; }\n"
        "    );\n"
        "  },\n"
        "  { venue = \"bitfinex\"; name = \"bfx-min\"; symbols = [ \"tBTCUSD\" ]; }\n"
        ");\n");
    ASSERT_EQ(l.c->n_venues, 2);
    v = cfg_venue_find(l.c, "bitfinex");
    ASSERT(v != NULL);
    ASSERT_EQ(v->profile->family, VF_BITFINEX);
    /* Symbols keep their case; 7D and 1W (and 1w) are one interval, 1M a month; the explicit
     * streams that repeat a switch's (or the default length spelt out) are dropped. */
    ASSERT_STR_EQ(streams_text(v),
                  "tBTCUSD trade | tBTCUSD kline/1m | tBTCUSD kline/1d | tBTCUSD kline/1w | "
                  "tBTCUSD kline/1M | tBTCUSD kline/14d | tBTCUSD diff_depth/P1:100@2000 | "
                  "tBTCUSD ticker | "
                  "tAVAX:USD trade | tAVAX:USD kline/1m | tAVAX:USD kline/1d | "
                  "tAVAX:USD kline/1w | tAVAX:USD kline/1M | tAVAX:USD kline/14d | "
                  "tAVAX:USD diff_depth/P1:100@2000 | tAVAX:USD ticker | "
                  "tETHUSD diff_depth/P4:250 | tETHUSD diff_depth/P0:25 | tBTCF0:USTF0 kline/1w");
    /* The fields themselves, as venue.h and bitfinex.h define them. */
    ASSERT_EQ(v->n_streams, 19);
    ASSERT_EQ(v->streams[2].interval, MDF_IV_1D);
    ASSERT_EQ(v->streams[3].interval, MDF_IV_1W);
    ASSERT_EQ(v->streams[4].interval, MDF_IV_1MO);
    ASSERT_EQ(v->streams[1].interval, MDF_IV_1M);
    ASSERT_EQ(v->streams[6].type, VS_DIFF);
    ASSERT_EQ(v->streams[6].prec, 1);
    ASSERT_EQ(v->streams[6].speed_ms, BFX_F1_MS);
    ASSERT_EQ(v->streams[6].levels, 100);
    ASSERT_EQ(v->streams[17].levels, BFX_BOOK_LEN_DEFAULT); /* the default, stored explicitly */
    ASSERT_EQ(v->streams[17].speed_ms, 0);
    for (size_t i = 0; i < v->n_streams; i++) {
        if (bitfinex_stream_check(v->profile, &v->streams[i]) != 0)
            test_fail(__FILE__, __LINE__, "stream %zu refused: %s", i, mdf_errmsg());
        ASSERT_EQ(v->streams[i]._r2, 0);
    }
    ASSERT(bitfinex_stream_key(v->profile, &v->streams[6], key, sizeof(key)) > 0);
    ASSERT_STR_EQ(key, "book:tBTCUSD:P1:F1:100");
    ASSERT(bitfinex_stream_key(v->profile, &v->streams[18], key, sizeof(key)) > 0);
    ASSERT_STR_EQ(key, "candles:trade:1W:tBTCF0:USTF0");
    /* The venue's own defaults. */
    ASSERT_STR_EQ(v->url, "wss://api-pub.bitfinex.com");
    ASSERT_EQ(v->streams_per_conn, 25);
    ASSERT_EQ(v->subscribe_rate, 8);

    /* Symbols alone: trades and 1 m candles; no book ticker (Bitfinex has none). */
    m = cfg_venue_find(l.c, "bfx-min");
    ASSERT(m != NULL);
    ASSERT_STR_EQ(streams_text(m), "tBTCUSD trade | tBTCUSD kline/1m");
    unload(&l);
    return 0;
}

TEST(config_bitfinex_refusals_name_their_lines)
{
    static const struct want_err want[] = {
        {3, "rest_url: Bitfinex books come over the stream and the daemon makes no REST calls"},
        {4, "snapshot_limit: Bitfinex books come over the stream, with no REST snapshot; their "
            "length is book_len"},
        {5, "rest_weight_share: the daemon makes no REST calls to Bitfinex"},
        {6, "symbols: bitfinex: bad symbol \"BTCUSD\" (a 't', then upper-case letters"},
        {6, "symbols: bitfinex: funding symbol fUSD is not supported yet"},
        {6, "symbols: bitfinex: bad symbol \"tbtcusd\""},
        {7, "trades: bitfinex has no aggregate trades; use \"trade\" (every trade) or \"none\""},
        {8, "kline: bitfinex has no 3m candles (1m 5m 15m 30m 1h 3h 6h 12h 1D 1W 14D 1M)"},
        {9, "book_ticker: Bitfinex has no book-ticker channel; ticker = true publishes the best "
            "bid and offer too (its ticker channel gives both records)"},
        {10, "order_book: bitfinex has no partial-book stream; use \"diff\" (the channel's full "
             "aggregated book) and book_len"},
        {11, "book_speed: Bitfinex books have no speed in ms; use book_freq"},
        {12, "book_prec: raw books (R0) are not supported; use \"P0\" .. \"P4\""},
        {13, "book_freq: unknown frequency \"F2\" (\"F0\" realtime or \"F1\" every 2 s)"},
        {14, "book_len: 30 is not a book length (1, 25, 100 or 250)"},
        {15, "mini_ticker: Bitfinex has no mini ticker; ticker = true publishes the 24 h figures"},
        {16, "funding: not supported on Bitfinex"},
        {17, "liquidations: not supported on Bitfinex"},
        {19, "speed: Bitfinex streams have no speed in ms; a diff_depth stream takes freq"},
        {20, "levels: Bitfinex has no partial-book (depth) streams; a diff_depth stream's book "
             "length is len"},
        {21, "prec: only diff_depth streams take it"},
        {22, "bitfinex has no partial-book stream; use diff_depth"},
        {23, "bitfinex has no book-ticker channel; a ticker stream publishes the best bid"},
        {24, "bitfinex has no agg_trade stream"},
        {25, "bitfinex has no mini ticker"},
        {26, "bitfinex has no 1s candles"},
        {27, "prec: unknown precision \"P5\" (\"P0\", \"P1\", \"P2\", \"P3\" or \"P4\")"},
        {28, "len: \"30\" is not a book length (1, 25, 100 or 250)"},
        {29, "freq: only diff_depth streams take it"},
        {30, "interval: unknown interval \"7m\" (bitfinex serves 1m 5m 15m 30m 1h 3h 6h 12h 1D "
             "1W 14D 1M; 7D is 1W, and 1d 1w 14d are accepted too)"},
        {34, "order_book: expected \"none\" or \"diff\" on bitfinex"},
        {37, "book_prec: set order_book too (it is \"none\")"},
        {37, "book_freq: set order_book too (it is \"none\")"},
    };
    struct loaded l = {0};

    load_text(&l, "venues = (\n"                                                        /* 1 */
                  "  { venue = \"bitfinex\";\n"                                         /* 2 */
                  "    rest_url = \"https://api-pub.bitfinex.com\";\n"                  /* 3 */
                  "    snapshot_limit = 100;\n"                                         /* 4 */
                  "    rest_weight_share = 0.5;\n"                                      /* 5 */
                  "    symbols = [ \"tBTCUSD\", \"BTCUSD\", \"fUSD\", \"tbtcusd\" ];\n" /* 6 */
                  "    trades = \"agg_trade\";\n"                                       /* 7 */
                  "    kline = [ \"1m\", \"3m\" ];\n"                                   /* 8 */
                  "    book_ticker = true;\n"                                           /* 9 */
                  "    order_book = 20;\n"                                              /* 10 */
                  "    book_speed = 100;\n"                                             /* 11 */
                  "    book_prec = \"R0\";\n"                                           /* 12 */
                  "    book_freq = \"F2\";\n"                                           /* 13 */
                  "    book_len = 30;\n"                                                /* 14 */
                  "    mini_ticker = true;\n"                                           /* 15 */
                  "    funding = true;\n"                                               /* 16 */
                  "    liquidations = true;\n"                                          /* 17 */
                  "    streams = (\n"                                                   /* 18 */
                  "      { symbol = \"tBTCUSD\"; type = \"diff_depth\"; speed = 2000; },\n"
                  "      { symbol = \"tBTCUSD\"; type = \"diff_depth\"; levels = 25; },\n"  /* 20 */
                  "      { symbol = \"tBTCUSD\"; type = \"trade\"; prec = \"P1\"; },\n"     /* 21 */
                  "      { symbol = \"tBTCUSD\"; type = \"depth\"; },\n"                    /* 22 */
                  "      { symbol = \"tBTCUSD\"; type = \"book_ticker\"; },\n"              /* 23 */
                  "      { symbol = \"tBTCUSD\"; type = \"agg_trade\"; },\n"                /* 24 */
                  "      { symbol = \"tBTCUSD\"; type = \"mini_ticker\"; },\n"              /* 25 */
                  "      { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"1s\"; },\n" /* 26 */
                  "      { symbol = \"tBTCUSD\"; type = \"diff_depth\"; prec = \"P5\"; },\n"
                  "      { symbol = \"tBTCUSD\"; type = \"diff_depth\"; len = \"30\"; },\n" /* 28 */
                  "      { symbol = \"tBTCUSD\"; type = \"ticker\"; freq = \"F1\"; },\n"    /* 29 */
                  "      { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"7m\"; }\n"  /* 30 */
                  "    );\n"                                                                /* 31 */
                  "  },\n"                                                                  /* 32 */
                  "  { venue = \"bitfinex\"; name = \"b2\"; symbols = [ \"tBTCUSD\" ];\n"   /* 33 */
                  "    order_book = \"top\";\n"                                             /* 34 */
                  /* 35: no "set order_book too" when order_book itself was refused */
                  "    book_len = 100; },\n"                                              /* 35 */
                  "  { venue = \"bitfinex\"; name = \"b3\"; symbols = [ \"tBTCUSD\" ];\n" /* 36 */
                  "    book_prec = \"P2\"; book_freq = \"F0\"; book_ticker = false;\n"    /* 37 */
                  /* 38: false asks for nothing the venue lacks: no error */
                  "    mini_ticker = false; funding = false; liquidations = false; }\n" /* 38 */
                  ");\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);
    return 0;
}

TEST(config_bitfinex_book_keys_refused_on_binance_venues)
{
    static const struct want_err want[] = {
        {4, "book_prec: a Bitfinex setting; Binance books have no precision"},
        {5, "book_freq: a Bitfinex setting; Binance books take book_speed (in ms)"},
        {6, "book_len: a Bitfinex setting; on Binance use order_book = 5, 10 or 20"},
        {8, "prec: a Bitfinex diff_depth option; Binance streams have no precision"},
        {9, "freq: a Bitfinex diff_depth option; Binance streams take speed (in ms)"},
        {10, "len: a Bitfinex diff_depth option; Binance partial books take levels"},
        {12, "kline: unknown interval \"7D\" (one of 1s, 1m,"},
        {13, "interval: unknown interval \"1D\" (one of 1s, 1m,"},
    };
    struct loaded l = {0};

    load_text(&l, "venues = (\n"                                            /* 1 */
                  "  { venue = \"binance-futures\";\n"                      /* 2 */
                  "    symbols = [ \"BTCUSDT\" ]; order_book = \"diff\";\n" /* 3 */
                  "    book_prec = \"P0\";\n"                               /* 4 */
                  "    book_freq = \"F0\";\n"                               /* 5 */
                  "    book_len = 25;\n"                                    /* 6 */
                  "    streams = (\n"                                       /* 7 */
                  "      { symbol = \"BTCUSDT\"; type = \"diff_depth\"; prec = \"P1\"; },\n"
                  "      { symbol = \"BTCUSDT\"; type = \"diff_depth\"; freq = \"F1\"; },\n"
                  "      { symbol = \"BTCUSDT\"; type = \"diff_depth\"; len = 100; } );\n"
                  "  },\n" /* 11 */
                  "  { venue = \"binance-spot\"; symbols = [ \"BTCUSDT\" ]; kline = \"7D\";\n"
                  "    streams = ( { symbol = \"X\"; type = \"kline\"; interval = \"1D\"; } ); }\n"
                  ");\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);

    /* Binance keeps its own spellings and defaults: symbols upper-cased, book ticker on. */
    load_ok_notice(&l, "venues = ( { venue = \"binance-spot\"; symbols = [ \"tbtcusd\" ]; } );\n",
                   1, "symbols: \"tbtcusd\" read as \"TBTCUSD\" (Binance symbols are upper case)");
    ASSERT_STR_EQ(streams_text(&l.c->venues[0]),
                  "TBTCUSD trade | TBTCUSD kline/1m | TBTCUSD book_ticker");
    unload(&l);
    return 0;
}

TEST(config_bitfinex_7d_equals_1w_and_intervals_it_lacks_are_refused)
{
    static const char *const spellings[] = {"7D", "1W", "1w"};
    struct loaded l = {0};
    struct vstream first;

    /* The three spellings of a week give the same stream (and the venue's key spells it 1W). */
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        char text[512];

        snprintf(text, sizeof(text),
                 "venues = ( { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ]; trades = \"none\";"
                 " kline = \"%s\"; } );\n",
                 spellings[i]);
        load_ok(&l, text);
        ASSERT_EQ(l.c->venues[0].n_streams, 1);
        ASSERT_EQ(l.c->venues[0].streams[0].interval, MDF_IV_1W);
        if (i == 0)
            first = l.c->venues[0].streams[0];
        else
            ASSERT(vstream_equal(&first, &l.c->venues[0].streams[0]));
        unload(&l);
    }
    /* A month and a minute stay apart in both spellings. */
    load_ok(&l, "venues = ( { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ]; trades = \"none\";"
                " kline = [ \"1M\", \"1m\" ]; } );\n");
    ASSERT_STR_EQ(streams_text(&l.c->venues[0]), "tBTCUSD kline/1M | tBTCUSD kline/1m");
    ASSERT(!vstream_equal(&l.c->venues[0].streams[0], &l.c->venues[0].streams[1]));
    unload(&l);

    /* Intervals mdfeed knows and Bitfinex lacks, and one nobody knows. */
    {
        static const struct want_err want[] = {
            {2, "kline: bitfinex has no 3m candles"},
            {3, "kline: unknown interval \"7m\" (bitfinex serves 1m 5m"},
            {4, "bitfinex has no 1s candles"},
            {5, "bitfinex has no 3d candles"},
        };

        load_text(&l, "venues = (\n"
                      "  { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ]; kline = \"3m\"; },\n"
                      "  { venue = \"bitfinex\"; name = \"b\"; symbols = [ \"tBTCUSD\" ]; kline = "
                      "\"7m\"; streams = (\n"
                      "    { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"1s\"; },\n"
                      "    { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"3d\"; } ); }\n"
                      ");\n");
        check_errors(&l, want, sizeof(want) / sizeof(want[0]));
        unload(&l);
    }
    return 0;
}

TEST(config_bitfinex_streams_per_connection_at_most_its_25_channels)
{
    static const struct want_err want[] = {
        {2, "streams_per_connection: 26 is above bitfinex's limit of 25 channels per connection"},
        {3, "streams_per_connection: 0 is out of range (1..25)"},
    };
    struct loaded l = {0};

    load_ok(&l,
            "venues = (\n"
            "  { venue = \"bitfinex\"; streams_per_connection = 25; symbols = [ \"tBTCUSD\" ]; },\n"
            "  { venue = \"bitfinex\"; name = \"b\"; streams_per_connection = 3;\n"
            "    symbols = [ \"tBTCUSD\" ]; },\n"
            "  { venue = \"binance-spot\"; streams_per_connection = 26; symbols = [ \"A\" ]; }\n"
            ");\n");
    ASSERT_EQ(l.c->venues[0].streams_per_conn, 25);
    ASSERT_EQ(l.c->venues[1].streams_per_conn, 3);
    ASSERT_EQ(l.c->venues[2].streams_per_conn, 26);
    unload(&l);
    load_text(
        &l, "venues = (\n"
            "  { venue = \"bitfinex\"; streams_per_connection = 26; symbols = [ \"tBTCUSD\" ]; },\n"
            "  { venue = \"bitfinex\"; name = \"b\"; streams_per_connection = 0;\n"
            "    symbols = [ \"tBTCUSD\" ]; }\n"
            ");\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);
    return 0;
}

TEST(config_bitfinex_timer_rules_use_its_heartbeat_period)
{
    static const struct want_err want[] = {
        {3, "watchdog_timeout (15 s) must be above bitfinex's heartbeat period (15 s) when "
            "ping_interval = 0"},
    };
    struct loaded l = {0};

    /* The defaults, and no pings of ours (the channels' heartbeats keep the connection alive):
     * Bitfinex's pong timeout and connection age of 0 refuse nothing. */
    load_ok(&l, "venues = (\n"
                "  { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ]; },\n"
                "  { venue = \"bitfinex\"; name = \"quiet\"; symbols = [ \"tBTCUSD\" ];\n"
                "    connection = { ping_interval = 0; pong_timeout = 3000; };\n"
                "    health = { watchdog_timeout = 16; }; }\n"
                ");\n");
    ASSERT(l.c->venues[0].conn.ping_interval == 30);
    ASSERT(l.c->venues[1].conn.ping_interval == 0);
    ASSERT(l.c->venues[1].health.watchdog_timeout == 16);
    unload(&l);
    /* A watchdog that would fire between two heartbeats of a healthy, quiet channel. */
    load_text(&l, "venues = ( { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ];\n"
                  "  connection = { ping_interval = 0; };\n"
                  "  health = { watchdog_timeout = 15; }; } );\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);
    return 0;
}

/* Loads a one-venue Bitfinex config with the given book switches and returns its book stream
 * (the only stream). */
static struct vstream bfx_book(const char *switches)
{
    struct loaded l = {0};
    struct vstream s;
    char text[512];

    snprintf(text, sizeof(text),
             "venues = ( { venue = \"bitfinex\"; symbols = [ \"tBTCUSD\" ]; trades = \"none\";"
             " kline = \"\"; order_book = \"diff\"; %s } );\n",
             switches);
    load_ok(&l, text);
    ASSERT_EQ(l.c->venues[0].n_streams, 1);
    s = l.c->venues[0].streams[0];
    ASSERT_EQ(s.type, VS_DIFF);
    unload(&l);
    return s;
}

TEST(config_bitfinex_book_len_or_prec_change_gives_a_different_stream)
{
    struct vstream base = bfx_book("");
    struct vstream len25 = bfx_book("book_len = 25;");
    struct vstream len100 = bfx_book("book_len = 100;");
    struct vstream p2 = bfx_book("book_prec = \"P2\";");
    struct vstream f1 = bfx_book("book_freq = \"F1\";");
    struct vstream f0 = bfx_book("book_freq = \"F0\"; book_prec = \"P0\"; book_len = \"25\";");

    /* What a SIGHUP reload compares: the defaults spelt out change nothing... */
    ASSERT_EQ(base.levels, 25);
    ASSERT(vstream_equal(&base, &len25));
    ASSERT(vstream_equal(&base, &f0));
    /* ...while another length, precision or frequency is another subscription. */
    ASSERT(!vstream_equal(&base, &len100));
    ASSERT(!vstream_equal(&base, &p2));
    ASSERT(!vstream_equal(&base, &f1));
    ASSERT(!vstream_equal(&len100, &p2));
    return 0;
}

TEST(config_shipped_bitfinex_example_loads_when_uncommented)
{
    char *conf = slurp(source_file("conf/mdfeed.conf"));
    char *out = malloc(strlen(conf) + 1);
    const struct cfg_venue *v;
    struct loaded l = {0};
    bool inside = false, seen = false;
    size_t n = 0;

    ASSERT(out != NULL);
    /* Remove the '#' after the indent of every line from "    #{" to "    #}," as the comment
     * above the entry tells the user to. */
    for (char *line = conf; *line;) {
        char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line + 1) : strlen(line);

        if (strncmp(line, "    #{\n", 7) == 0) {
            inside = true;
            seen = true;
        }
        if (inside && strncmp(line, "    #", 5) == 0) {
            memcpy(out + n, line, 4);
            memcpy(out + n + 4, line + 5, len - 5);
            n += len - 1;
        } else {
            memcpy(out + n, line, len);
            n += len;
        }
        if (inside && strncmp(line, "    #},\n", 8) == 0)
            inside = false;
        line += len;
    }
    out[n] = '\0';
    ASSERT(seen);
    ASSERT(!inside);
    load_ok(&l, out);
    ASSERT_EQ(l.c->n_venues, 5);
    v = cfg_venue_find(l.c, "bitfinex");
    ASSERT(v != NULL);
    ASSERT_STR_EQ(streams_text(v), "tBTCUSD trade | tBTCUSD kline/1m | tBTCUSD diff_depth/P0:25 | "
                                   "tBTCUSD ticker | tETHUSD trade | tETHUSD kline/1m | "
                                   "tETHUSD diff_depth/P0:25 | tETHUSD ticker");
    v = cfg_venue_find(l.c, "bybit-linear");
    ASSERT(v != NULL);
    ASSERT_STR_EQ(topics_text(v),
                  "publicTrade.BTCUSDT | kline.1.BTCUSDT | kline.60.BTCUSDT | "
                  "orderbook.50.BTCUSDT | tickers.BTCUSDT | allLiquidation.BTCUSDT | "
                  "publicTrade.ETHUSDT | kline.1.ETHUSDT | kline.60.ETHUSDT | "
                  "orderbook.50.ETHUSDT | tickers.ETHUSDT | allLiquidation.ETHUSDT");
    v = cfg_venue_find(l.c, "okx");
    ASSERT(v != NULL);
    ASSERT_STR_EQ(topics_text(v),
                  "trades:BTC-USDT-SWAP | candle1m:BTC-USDT-SWAP | candle1H:BTC-USDT-SWAP | "
                  "bbo-tbt:BTC-USDT-SWAP | books:BTC-USDT-SWAP | tickers:BTC-USDT-SWAP | "
                  "mark-price:BTC-USDT-SWAP | funding-rate:BTC-USDT-SWAP | "
                  "trades:ETH-USDT-SWAP | candle1m:ETH-USDT-SWAP | candle1H:ETH-USDT-SWAP | "
                  "bbo-tbt:ETH-USDT-SWAP | books:ETH-USDT-SWAP | tickers:ETH-USDT-SWAP | "
                  "mark-price:ETH-USDT-SWAP | funding-rate:ETH-USDT-SWAP");
    unload(&l);
    free(out);
    free(conf);
    return 0;
}

/* ---- Bybit ------------------------------------------------------------------------------- */

/* The topics of a venue entry's streams, joined by " | ". */
static const char *topics_text(const struct cfg_venue *v)
{
    static char buf[4096];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < v->n_streams; i++) {
        char t[96];

        if (v->profile->proto->stream_name(v->profile, &v->streams[i], t, sizeof(t)) < 0)
            test_fail(__FILE__, __LINE__, "stream %zu has no topic: %s", i, mdf_errmsg());
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " | " : "", t);
        ASSERT(n < sizeof(buf));
    }
    return buf;
}

TEST(config_bybit_entries_load_to_exact_topics)
{
    struct loaded l = {0};
    const struct cfg_venue *lin, *spot;

    load_ok_notice(
        &l,
        "venues = (\n"
        "  { venue = \"bybit-linear\"; url = \"ws://127.0.0.1:9\";\n"
        "    symbols = [ \"BTCUSDT\", \"ethusdt\" ]; kline = [ \"1m\", \"D\", \"60\" ];\n"
        "    order_book = 50; ticker = true; funding = true; liquidations = true; },\n"
        "  { venue = \"bybit-spot\"; url = \"ws://127.0.0.1:9\";\n"
        "    symbols = [ \"BTCUSDT\" ]; order_book = \"diff\";\n"
        "    streams = ( { symbol = \"ETHUSDT\"; type = \"diff_depth\"; len = 1000; },\n"
        "                { symbol = \"ETHUSDT\"; type = \"diff_depth\"; len = 1; },\n"
        "                { symbol = \"ETHUSDT\"; type = \"diff_depth\"; },\n"
        "                { symbol = \"ETHUSDT\"; type = \"kline\"; interval = \"W\"; } ); }\n"
        ");\n",
        3, "symbols: \"ethusdt\" read as \"ETHUSDT\" (Bybit symbols are upper case)");
    lin = cfg_venue_find(l.c, "bybit-linear");
    spot = cfg_venue_find(l.c, "bybit-spot");
    ASSERT(lin && spot);
    /* funding = true is the tickers topic, which ticker = true already asked for: once. */
    ASSERT_STR_EQ(topics_text(lin),
                  "publicTrade.BTCUSDT | kline.1.BTCUSDT | kline.D.BTCUSDT | kline.60.BTCUSDT | "
                  "orderbook.50.BTCUSDT | tickers.BTCUSDT | allLiquidation.BTCUSDT | "
                  "publicTrade.ETHUSDT | kline.1.ETHUSDT | kline.D.ETHUSDT | kline.60.ETHUSDT | "
                  "orderbook.50.ETHUSDT | tickers.ETHUSDT | allLiquidation.ETHUSDT");
    /* "diff" is orderbook.200, len picks the depth (1000 kept as levels 0). */
    ASSERT_STR_EQ(topics_text(spot), "publicTrade.BTCUSDT | kline.1.BTCUSDT | "
                                     "orderbook.200.BTCUSDT | orderbook.1000.ETHUSDT | "
                                     "orderbook.1.ETHUSDT | orderbook.200.ETHUSDT | "
                                     "kline.W.ETHUSDT");
    ASSERT_EQ(spot->streams[3].levels, 0);
    unload(&l);
    return 0;
}

TEST(config_bybit_refusals_name_their_lines)
{
    static const struct want_err want[] = {
        {3, "rest_url: Bybit books come over the stream"},
        {4, "symbols: \"BTC-USDT\" is not a symbol (1..47 letters or digits)"},
        {5, "trades: bybit-spot has no aggregate trades"},
        {6, "kline: bybit-spot has no 1s"},
        {7, "book_ticker: Bybit has no book-ticker topic"},
        {8, "order_book: expected \"none\", \"diff\", 1, 50, 200 or 1000"},
        {9, "book_speed: Bybit books have no speed in ms"},
        {10, "mini_ticker: Bybit has no mini ticker"},
        {11, "funding: bybit-spot has no funding rates"},
        {12, "liquidations: bybit-spot has no liquidation stream"},
        {14, "len: Bybit books have depth 1, 50, 200 or 1000, not 25"},
        {15, "levels: Bybit has no partial-book (depth) streams"},
        {15, "bybit-spot has no depth stream (trade, diff_depth, kline, ticker, force_order)"},
        {16, "len: only diff_depth streams take it"},
        {17, "interval: unknown interval \"7\" (bybit-spot serves 1 3 5 15 30 60 120 240 360 720 D "
             "W M, or 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M)"},
    };
    struct loaded l = {0};

    load_text(&l, "venues = (\n"                                                          /* 1 */
                  "  { venue = \"bybit-spot\";\n"                                         /* 2 */
                  "    rest_url = \"https://api.bybit.com\";\n"                           /* 3 */
                  "    symbols = [ \"BTCUSDT\", \"BTC-USDT\" ];\n"                        /* 4 */
                  "    trades = \"agg_trade\";\n"                                         /* 5 */
                  "    kline = [ \"1m\", \"1s\" ];\n"                                     /* 6 */
                  "    book_ticker = true;\n"                                             /* 7 */
                  "    order_book = 20;\n"                                                /* 8 */
                  "    book_speed = 100;\n"                                               /* 9 */
                  "    mini_ticker = true;\n"                                             /* 10 */
                  "    funding = true;\n"                                                 /* 11 */
                  "    liquidations = true;\n"                                            /* 12 */
                  "    streams = (\n"                                                     /* 13 */
                  "      { symbol = \"ETHUSDT\"; type = \"diff_depth\"; len = 25; },\n"   /* 14 */
                  "      { symbol = \"ETHUSDT\"; type = \"depth\"; levels = 5; },\n"      /* 15 */
                  "      { symbol = \"ETHUSDT\"; type = \"trade\"; len = 50; },\n"        /* 16 */
                  "      { symbol = \"ETHUSDT\"; type = \"kline\"; interval = \"7\"; }\n" /* 17 */
                  "    );\n"
                  "  }\n"
                  ");\n");
    check_errors(&l, want, sizeof(want) / sizeof(want[0]));
    unload(&l);
    return 0;
}
