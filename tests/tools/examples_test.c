/*
 * Tests of the example readers of tools/examples/ (built by make into <build>/examples/), each
 * run as a child process against the fake venue's synthetic market and the daemon, as a user
 * runs them against `make demo`: the README's example (extracted from README.md, built against
 * an installed tree with pkg-config and in the source tree) prints the trades of the symbol it
 * was given and refuses a symbol the instance does not have; the EMA/RSI logger's signals equal
 * a reference computation written here on the candles read back through libmdfeed; the spread
 * monitor's lines are the books the daemon published, with the spread computed right.
 */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_FLAGS "-fsanitize=address,undefined"
#elif defined(__SANITIZE_THREAD__)
#define SAN_FLAGS "-fsanitize=thread"
#else
#define SAN_FLAGS ""
#endif

#define MAX_LINES 4096

/* The fake venue's synthetic market and the daemon on it. */
struct rig {
    struct fv_proc fv; /* the venue */
    struct dmn d;      /* the daemon */
};

/* Two busy symbols with trades, book tickers, diff books and 1 s candles. No candle warm-up:
 * the EMA/RSI test follows the history as the stream fills it (the warm-up has its own tests). */
static void rig_start(struct rig *r)
{
    const char *args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};

    ASSERT_EQ(fv_start(&r->fv, args), 0);
    ASSERT_EQ(dmn_config(&r->d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"AAAUSDT\", "
                         "\"BBBUSDT\"];\n"
                         "  trades = \"agg_trade\"; book_ticker = true; order_book = \"diff\";\n"
                         "  book_speed = 100; kline = [\"1s\"]; candle_warmup = false; });\n",
                         r->fv.port, r->fv.port),
              0);
    ASSERT_EQ(dmn_start(&r->d), 0);
}

static void rig_stop(struct rig *r)
{
    ASSERT_EQ(dmn_stop(&r->d), 0);
    fv_stop(&r->fv);
}

/* <build>/examples/<name> (test_bin gives <build>/bin/<name>). */
static const char *ex_bin(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s", test_bin(name));
    *strrchr(buf, '/') = '\0';
    *strrchr(buf, '/') = '\0';
    snprintf(buf + strlen(buf), len - strlen(buf), "/examples/%s", name);
    return buf;
}

/* Runs argv; *out and *err are new. A status other than want fails the test, showing both. */
static void run(char *const argv[], int want, char **out, char **err)
{
    int rc = test_run_capture(argv, out, err);

    if (rc != want)
        test_fail(__FILE__, __LINE__, "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", argv[0],
                  rc, want, *out, *err);
}

static int sh(const char *cmd, char **out)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    char *err = NULL;
    int rc = test_run_capture(argv, out, &err);

    if (rc != 0)
        fprintf(stderr, "  $ %s\n  -> %d\n%s%s", cmd, rc, *out, err);
    free(err);
    return rc;
}

/* Splits buf into lines in place. Returns the count. */
static size_t split_lines(char *buf, char **lines, size_t max)
{
    size_t n = 0;

    for (char *l = strtok(buf, "\n"); l && n < max; l = strtok(NULL, "\n"))
        lines[n++] = l;
    return n;
}

/* The value after "name=" in line as a string (up to the next space) into buf; false if absent. */
static bool field(const char *line, const char *name, char *buf, size_t len)
{
    char pat[64];
    const char *p;
    size_t n;

    snprintf(pat, sizeof(pat), " %s=", name);
    p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    n = strcspn(p, " ");
    if (n >= len)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

static double field_num(const char *line, const char *name)
{
    char buf[64];

    if (!field(line, name, buf, sizeof(buf)))
        test_fail(__FILE__, __LINE__, "no %s= in \"%s\"", name, line);
    return strtod(buf, NULL);
}

/* The word after `word ` in line into buf. */
static bool after(const char *line, const char *word, char *buf, size_t len)
{
    const char *p = strstr(line, word);
    size_t n;

    if (!p)
        return false;
    p += strlen(word);
    n = strcspn(p, " ");
    if (n >= len)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

static double dec_text(const char *s)
{
    mdf_dec_t d;

    if (mdf_dec_parse(s, strlen(s), &d) != 0)
        test_fail(__FILE__, __LINE__, "not a decimal: \"%s\"", s);
    return mdf_dec_to_double(d);
}

/* a and b agree to a relative 1e-9 (numbers printed with 10 significant digits). */
static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)) + 1e-300;
}

/* RSIs agree (printed with 6 decimals). */
static bool rsi_close(double a, double b)
{
    return fabs(a - b) <= 1e-5;
}

/* ---- the README's example --------------------------------------------------------------- */

/* Checks the output of the README's reader asked for `count` trades of BBBUSDT: one line each,
 * trade ids rising, prices of that symbol (BBBUSDT trades near 10, AAAUSDT near 0.001). */
static void check_reader_lines(char *out, int count)
{
    char *lines[MAX_LINES];
    size_t n = split_lines(out, lines, MAX_LINES);
    long long prev = 0;

    ASSERT_EQ(n, count);
    for (size_t i = 0; i < n; i++) {
        char px[64], qty[64], bid[64], ask[64], id[64];

        if (!after(lines[i], "trade ", px, sizeof(px)) ||
            !after(lines[i], " x ", qty, sizeof(qty)) || !after(lines[i], " id ", id, sizeof(id)) ||
            !after(lines[i], "bid ", bid, sizeof(bid)) ||
            !after(lines[i], " ask ", ask, sizeof(ask)))
            test_fail(__FILE__, __LINE__, "not a trade line: \"%s\"", lines[i]);
        if (dec_text(px) < 1 || dec_text(qty) <= 0 || strtod(bid, NULL) < 1 ||
            strtod(bid, NULL) > strtod(ask, NULL))
            test_fail(__FILE__, __LINE__, "not a BBBUSDT trade with its bbo: \"%s\"", lines[i]);
        ASSERT_GT(atoll(id), prev);
        prev = atoll(id);
    }
}

TEST(examples_readme_reader_builds_installed_and_in_tree_and_reads_the_daemon)
{
    char root[1024], build[1024], dest[] = "/tmp/mdfeed-examples.XXXXXX", cmd[8192], bin[1024];
    char prog[1200], lib[1200], *out, *err;
    struct rig r;

    /* The source and build trees this runner was built in (<root>/<build>/bin/x). */
    snprintf(build, sizeof(build), "%s", test_bin("x"));
    *strrchr(build, '/') = '\0';
    *strrchr(build, '/') = '\0';
    snprintf(root, sizeof(root), "%s", build);
    ASSERT(strstr(root, "/build") != NULL);
    *strstr(root, "/build") = '\0';
    ASSERT(mkdtemp(dest) != NULL);

    /* The README's C block is the shipped example, word for word. */
    snprintf(cmd, sizeof(cmd),
             "awk '/^```c$/{f=1;next} /^```$/{if(f)exit} f' %s/README.md > %s/readme.c && "
             "cmp %s/readme.c %s/tools/examples/reader.c",
             root, dest, dest, root);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);

    /* Installed into a scratch root, then built from the README's text with pkg-config. */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    snprintf(cmd, sizeof(cmd),
             "make -s -C %s --no-print-directory install DESTDIR=%s PREFIX=/usr B=%s "
             "SANITIZER=%s >/dev/null && cd %s && "
             "PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 "
             "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "cc -std=gnu11 -Wall -Wextra -Werror %s readme.c "
             "$(PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 "
             "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "pkg-config --cflags --libs mdfeed) -o reader && "
             "test -f usr/share/doc/mdfeed/examples/reader.c",
             root, dest, test_under(build, root),
             strstr(build, "san-address")  ? "address,undefined"
             : strstr(build, "san-thread") ? "thread"
                                           : "",
             dest, dest, dest, SAN_FLAGS, dest, dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);

    rig_start(&r);
    /* The installed build, finding the installed shared library. */
    snprintf(prog, sizeof(prog), "%s/reader", dest);
    snprintf(lib, sizeof(lib), "%s/usr/lib", dest);
    setenv("LD_LIBRARY_PATH", lib, 1);
    {
        char *argv[] = {prog, r.d.instance, "binance-spot:BBBUSDT", "5", NULL};

        run(argv, 0, &out, &err);
        check_reader_lines(out, 5);
        free(out), free(err);
    }
    unsetenv("LD_LIBRARY_PATH");
    /* The in-tree build (make), linked with the static library. */
    {
        char *argv[] = {(char *)ex_bin("reader", bin, sizeof(bin)), r.d.instance,
                        "binance-spot:bbbusdt", "5", NULL};

        run(argv, 0, &out, &err);
        check_reader_lines(out, 5);
        free(out), free(err);
    }
    rig_stop(&r);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);
    return 0;
}

TEST(examples_reader_refuses_a_symbol_the_instance_lacks_and_names_those_it_has)
{
    char bin[1024], *out, *err;
    struct rig r;

    rig_start(&r);
    {
        char *argv[] = {(char *)ex_bin("reader", bin, sizeof(bin)), r.d.instance,
                        "binance-spot:BTCUSDT", "1", NULL};

        run(argv, 1, &out, &err);
        ASSERT_STR_EQ(out, "");
        ASSERT_CONTAINS(err, "unknown symbol \"binance-spot:BTCUSDT\"");
        ASSERT_CONTAINS(err, "binance-spot:AAAUSDT");
        ASSERT_CONTAINS(err, "binance-spot:BBBUSDT");
        free(out), free(err);
    }
    rig_stop(&r);
    return 0;
}

/* ---- the EMA/RSI logger ----------------------------------------------------------------- */

/* What the reference says of one candle. */
struct ref {
    bool ready;             /* both EMAs and the RSI exist, and the previous candle's EMAs */
    double fast, slow, rsi; /* the indicators */
    const char *what;       /* "BUY", "SELL", "filtered", or NULL */
};

/* The reference: the whole series at once, each indicator by its textbook definition. EMA(n)
 * at i >= n-1: the mean of closes 0..n-1 at n-1, then e[i-1] + 2/(n+1) * (c[i] - e[i-1]).
 * Wilder's RSI(n) at i >= n over the changes d[j] = c[j] - c[j-1]. */
static void reference(const double *c, size_t n, int nf, int ns, int nr, double ob, double os,
                      struct ref *out)
{
    double *ef = calloc(n, sizeof(double)), *es = calloc(n, sizeof(double));
    double *rsi = calloc(n, sizeof(double)), ag = 0, al = 0;
    int periods[2] = {nf, ns};
    double *emas[2] = {ef, es};

    ASSERT(ef && es && rsi);
    for (int k = 0; k < 2; k++) {
        int p = periods[k];
        double sum = 0;

        for (size_t i = 0; i < n; i++) {
            if (i < (size_t)p - 1) {
                sum += c[i];
            } else if (i == (size_t)p - 1) {
                emas[k][i] = (sum + c[i]) / p;
            } else {
                emas[k][i] = emas[k][i - 1] + 2.0 / (p + 1) * (c[i] - emas[k][i - 1]);
            }
        }
    }
    for (size_t i = 1; i < n; i++) {
        double d = c[i] - c[i - 1], g = d > 0 ? d : 0, l = d < 0 ? -d : 0;

        if (i <= (size_t)nr) {
            ag += g / nr;
            al += l / nr;
        } else {
            ag = (ag * (nr - 1) + g) / nr;
            al = (al * (nr - 1) + l) / nr;
        }
        if (i >= (size_t)nr)
            rsi[i] = al == 0 ? (ag == 0 ? 50 : 100) : 100 - 100 / (1 + ag / al);
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (struct ref){.fast = ef[i], .slow = es[i], .rsi = rsi[i]};
        out[i].ready = i >= (size_t)ns && i >= (size_t)nr; /* slow EMA at i-1 needs i >= ns */
        if (!out[i].ready)
            continue;
        if (ef[i - 1] <= es[i - 1] && ef[i] > es[i])
            out[i].what = rsi[i] < ob ? "BUY" : "filtered";
        else if (ef[i - 1] >= es[i - 1] && ef[i] < es[i])
            out[i].what = rsi[i] > os ? "SELL" : "filtered";
    }
    free(ef), free(es), free(rsi);
}

/* What one run of the logger said, counted. */
struct verdicts {
    size_t candles;  /* candle lines */
    size_t signals;  /* SIGNAL lines */
    size_t filtered; /* filtered crosses */
};

/* Checks the logger's -v output line by line against the reference on table[0..held) (the
 * closed candles of its series, oldest first) with thresholds ob/os: each candle in order from
 * the oldest held (it warmed up from the whole history), its indicators, and after it what the
 * reference says of it (a signal, a filtered cross, or nothing). */
static struct verdicts check_run(char *out, const struct mdf_candle *table, size_t held, double ob,
                                 double os)
{
    enum { FAST = 3, SLOW = 7, RSI = 5 };
    static struct ref ref[1024];
    static double closes[1024];
    struct verdicts v = {0};
    char *lines[MAX_LINES];
    size_t nl = split_lines(out, lines, MAX_LINES);

    for (size_t i = 0; i < held; i++)
        closes[i] = mdf_dec_to_double(table[i].close);
    reference(closes, held, FAST, SLOW, RSI, ob, os, ref);
    for (size_t i = 0; i < nl; i++) {
        char *l = lines[i], txt[64], want[64];
        const struct ref *x;

        if (!strstr(l, " candle "))
            test_fail(__FILE__, __LINE__, "a line the reference does not give: \"%s\"", l);
        ASSERT(v.candles < held);
        ASSERT_EQ((int64_t)field_num(l, "open_time"), table[v.candles].open_time_ns);
        ASSERT(field(l, "close", txt, sizeof(txt)));
        mdf_dec_format(table[v.candles].close, want, sizeof(want));
        ASSERT_STR_EQ(txt, want);
        x = &ref[v.candles++];
        if (x->ready && (!close_to(field_num(l, "ema_fast"), x->fast) ||
                         !close_to(field_num(l, "ema_slow"), x->slow) ||
                         !rsi_close(field_num(l, "rsi"), x->rsi)))
            test_fail(__FILE__, __LINE__, "candle %zu: \"%s\"; reference %.10g %.10g %.6f",
                      v.candles - 1, l, x->fast, x->slow, x->rsi);
        if (!x->what)
            continue;
        /* The next line is this candle's verdict. */
        ASSERT(i + 1 < nl);
        l = lines[++i];
        if (strcmp(x->what, "filtered") == 0) {
            ASSERT_CONTAINS(l, " filtered cross ");
            v.filtered++;
        } else {
            snprintf(want, sizeof(want), " SIGNAL %s binance-spot:AAAUSDT 1s ", x->what);
            ASSERT_CONTAINS(l, want);
            v.signals++;
        }
        ASSERT_EQ((int64_t)field_num(l, "open_time"), table[v.candles - 1].open_time_ns);
        ASSERT(rsi_close(field_num(l, "rsi"), x->rsi));
    }
    return v;
}

/* Runs the logger on AAAUSDT's 1 s candles with EMA 3/7, RSI 5 and thresholds ob/os, following
 * `follow` candles from the ring after the history (0: the history alone). *out, *err are new. */
static void run_logger(const char *instance, const char *follow, const char *ob, const char *os,
                       char **out, char **err)
{
    char bin[1024];
    char *argv[] = {(char *)ex_bin("ema_rsi", bin, sizeof(bin)),
                    "-i",
                    (char *)instance,
                    "-s",
                    "binance-spot:AAAUSDT",
                    "-t",
                    "1s",
                    "-n",
                    (char *)follow,
                    "-v",
                    "--fast",
                    "3",
                    "--slow",
                    "7",
                    "--rsi",
                    "5",
                    "--overbought",
                    (char *)ob,
                    "--oversold",
                    (char *)os,
                    NULL};

    run(argv, 0, out, err);
}

TEST(examples_ema_rsi_signals_equal_a_reference_computation_on_the_same_candles)
{
    enum { FOLLOW = 40 };
    static struct mdf_candle table[1024];
    char *out, *err, *out2, *err2, *out3, *err3;
    struct verdicts v, v2, v3;
    size_t held = 0;
    mdf_instance_t *inst;
    struct rig r;
    int64_t sym, t0;
    int got;

    rig_start(&r);
    ASSERT_EQ(mdf_open(&inst, r.d.instance, 5000), 0);
    sym = mdf_symbol_lookup(inst, "binance-spot:AAAUSDT");
    ASSERT_GE(sym, 0);
    /* Some closed candles in the history first, so the warm-up has something to read. */
    t0 = test_now_ns();
    while ((got = mdf_candles_last(inst, (uint32_t)sym, MDF_IV_1S, table, 1024)) < 8) {
        ASSERT_LT(test_now_ns() - t0, INT64_C(30000000000));
        usleep(200000);
    }
    /* The usual thresholds, following the ring; then the history alone again with thresholds
     * no RSI passes (BUY under 0, SELL over 100), so every cross must be logged as filtered,
     * and with thresholds every RSI passes, so every cross must be a signal (whether the
     * usual thresholds pass a cross depends on the market of the run). */
    run_logger(r.d.instance, "40", "70", "30", &out, &err);
    run_logger(r.d.instance, "0", "0", "100", &out2, &err2);
    run_logger(r.d.instance, "0", "101", "-1", &out3, &err3);
    /* The same candles, read back from the history table. */
    got = mdf_candles_last(inst, (uint32_t)sym, MDF_IV_1S, table, 1024);
    ASSERT_GT(got, 0);
    for (int i = 0; i < got; i++)
        if (table[i].h.flags & MDF_CANDLE_F_CLOSED)
            table[held++] = table[i];
    mdf_close(inst);
    rig_stop(&r);

    /* It warmed up from the history (the check above also says from its oldest candle). */
    ASSERT_CONTAINS(err, "warm-up: ");
    ASSERT_GE(atoi(strstr(err, "warm-up: ") + 9), 8);
    v = check_run(out, table, held, 70, 30);
    v2 = check_run(out2, table, held, 0, 100);
    v3 = check_run(out3, table, held, 101, -1);
    fprintf(stderr,
            "  %zu candles: %zu signals, %zu filtered; history alone: %zu candles, "
            "%zu filtered\n",
            v.candles, v.signals, v.filtered, v2.candles, v2.filtered);
    /* Every candle it was asked to follow came, and neither run was a vacuous one. */
    ASSERT_GE(v.candles, FOLLOW + 8);
    ASSERT_GE(v2.candles, v.candles);
    ASSERT_EQ(v2.signals, 0);
    ASSERT_GT(v2.filtered, 0);
    ASSERT_GT(v3.signals, 0);
    ASSERT_EQ(v3.filtered, 0);
    free(out), free(err), free(out2), free(err2), free(out3), free(err3);
    return 0;
}

/* ---- the spread monitor ----------------------------------------------------------------- */

TEST(examples_spread_prints_each_symbols_published_book_top_and_spread)
{
    enum { ROUNDS = 5 };
    static union mdf_record rec;
    char bin[1024], *out, *err, *lines[MAX_LINES];
    size_t nl, found = 0;
    mdf_instance_t *inst;
    mdf_sub_t *books;
    struct rig r;
    uint64_t lost;
    int64_t t0;

    rig_start(&r);
    ASSERT_EQ(mdf_open(&inst, r.d.instance, 5000), 0);
    /* Both books live first. */
    t0 = test_now_ns();
    for (uint32_t s = 0; s < 2; s++)
        while (mdf_latest_book(inst, s, &rec.book, sizeof(rec)) != 0 ||
               rec.book.state != MDF_BOOK_LIVE) {
            ASSERT_LT(test_now_ns() - t0, INT64_C(20000000000));
            usleep(100000);
        }
    {
        char *argv[] = {(char *)ex_bin("spread", bin, sizeof(bin)),
                        "-i",
                        r.d.instance,
                        "-d",
                        "0.3",
                        "-n",
                        "5",
                        NULL};

        run(argv, 0, &out, &err);
    }
    nl = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(nl, 2 * ROUNDS);
    /* Every line is a book the daemon published (found in the books ring by symbol and update
     * id, best bid and ask equal), and its spread is ask - bid, in bps of the mid. */
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_BOOKS, MDF_START_OLDEST, 0, &books), 0);
    while (mdf_next(books, &rec, &lost) == 1) {
        struct mdf_symbol_entry e;
        char key[96], upd[64], bid[64], ask[64];

        ASSERT_EQ(mdf_symbol_info(inst, rec.h.symbol, &e), 0);
        snprintf(key, sizeof(key), " binance-spot:%s ", e.native);
        snprintf(upd, sizeof(upd), "update %lld", (long long)rec.book.last_update_id);
        mdf_dec_format(rec.book.levels[0].px, bid, sizeof(bid));
        mdf_dec_format(rec.book.levels[rec.book.depth].px, ask, sizeof(ask));
        for (size_t i = 0; i < nl; i++) {
            char b[64], a[64], s[64], *end;
            double bps;

            if (lines[i][0] == '#' || !strstr(lines[i], key) || !(end = strstr(lines[i], upd)) ||
                end[strlen(upd)])
                continue;
            ASSERT(after(lines[i], " bid ", b, sizeof(b)) &&
                   after(lines[i], " ask ", a, sizeof(a)));
            ASSERT_EQ(sscanf(strstr(lines[i], " spread "), " spread %63s %lf bps", s, &bps), 2);
            ASSERT_STR_EQ(b, bid);
            ASSERT_STR_EQ(a, ask);
            ASSERT_CONTAINS(lines[i], " full book LIVE ");
            if (!close_to(dec_text(a) - dec_text(b), dec_text(s)) ||
                fabs(bps - dec_text(s) / ((dec_text(a) + dec_text(b)) / 2) * 1e4) > 0.0051)
                test_fail(__FILE__, __LINE__, "wrong spread: \"%s\"", lines[i]);
            lines[i][0] = '#'; /* matched */
            found++;
        }
    }
    for (size_t i = 0; i < nl; i++)
        if (lines[i][0] != '#')
            test_fail(__FILE__, __LINE__, "not a published book: \"%s\"", lines[i]);
    ASSERT_EQ(found, 2 * ROUNDS);
    mdf_unsubscribe(books);
    mdf_close(inst);
    rig_stop(&r);
    free(out), free(err);
    return 0;
}
