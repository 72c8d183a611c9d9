/*
 * End-to-end figures: fake venue -> TLS -> WebSocket -> decode -> shm -> reader, with the real
 * mdfeedd pinned to one core (the venue and the reader share the other). Prints figures only.
 *
 *   e2e_aggtrade_*     aggregate trades, a generated recording replayed flat out (--loop)
 *   e2e_depth20_*      partial books of 20 levels a side, replayed the same way
 *   e2e_diff_*         diff-depth messages (5 levels a side, near the top of a 1000-level book)
 *                      applied to the local book after a REST snapshot, replayed flat out
 *   e2e_latency_*      wire -> reader at 10k msgs/s: the venue stamps each trade with its send
 *                      time (CLOCK_REALTIME ns), the reader subtracts it on arrival; once with
 *                      a reader spinning (sched_yield between polls), once blocked in mdf_wait
 *   e2e_bfx_book_*     Bitfinex book updates (P0, F0, 25 levels, checksums verified) of four pairs
 *                      from the fake venue's market flat out, each published as a book record
 *   e2e_bfx_trade_*    Bitfinex trades ("te") of four pairs from the same market
 *   e2e_bybit_book_*   Bybit linear orderbook.200 deltas of 32 symbols applied to the local
 *                      books (the fake venue's market paced at BENCH_MARKET_RATE events a second
 *                      per symbol: Bybit's and OKX's markets have no flat-out mode)
 *   e2e_bybit_trade_*  Bybit linear trades of the same market (UUID ids, deduplicated)
 *   e2e_okx_book_*     OKX books updates (400 levels, checksums verified) of four instruments
 *   e2e_okx_trade_*    OKX trades of the same market
 *   e2e_rss_*          the daemon's resident memory with 1,000 streams after warm-up
 *
 * "per daemon CPU-second" divides by the daemon's own CPU time (/proc), i.e. what one core of
 * the daemon sustains; "msgs/s" is wall clock and may be bounded by the venue.
 */

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "support/certs.h"

void bench_e2e(const char *self);

#define BENCH_MARKET_RATE "20000" /* events a second per symbol of the paced markets */

static char dir[PATH_MAX];    /* certificates and generated files */
static char bindir[PATH_MAX]; /* directory of the built programs */

static void pin_to(pid_t pid, int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(pid, sizeof(set), &set);
}

/* Starts the fake venue (args + TLS + --port 0) on CPU 1; returns its pid and port. */
static pid_t venue(const char *const *args, int *port)
{
    char bin[PATH_MAX + 32], cert[PATH_MAX + 16], key[PATH_MAX + 16], line[256];
    const char *argv[48];
    int fds[2], n = 0;
    FILE *f;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/mdfeed-fakevenue", bindir);
    snprintf(cert, sizeof(cert), "%s/good.pem", dir);
    snprintf(key, sizeof(key), "%s/good.key", dir);
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 40; i++)
        argv[n++] = args[i];
    argv[n++] = "--tls-cert";
    argv[n++] = cert;
    argv[n++] = "--tls-key";
    argv[n++] = key;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n] = NULL;
    if (pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        pin_to(0, 1);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    *port = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "listening %*s %*s %d", port) == 1)
            break;
    if (fork() == 0) { /* keep reading its log so it never blocks on the pipe */
        while (f && fgets(line, sizeof(line), f))
            ;
        _exit(0);
    }
    if (f)
        fclose(f);
    return *port ? pid : -1;
}

/* Writes a config for instance (a venue entry of profile `venue` on the fake venue at port,
 * with venue_body) and starts mdfeedd on CPU 0. */
static pid_t daemon_start(const char *instance, const char *decoder, int port, const char *venue,
                          const char *venue_body)
{
    char conf[PATH_MAX + 32], bin[PATH_MAX + 16];
    FILE *f;
    pid_t pid;

    snprintf(conf, sizeof(conf), "%s/%s.conf", dir, instance);
    snprintf(bin, sizeof(bin), "%s/mdfeedd", bindir);
    f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "instance = \"%s\"; decoder = \"%s\"; log_level = \"warning\";\n"
            "shm = { rings = { ticks = 1048576; books = 65536; }; };\n",
            instance, decoder);
    fprintf(f, "venues = ({ venue = \"%s\"; url = \"wss://localhost:%d\";\n", venue, port);
    /* Binance books and candles need the REST side too; the other venues refuse the key. */
    if (strncmp(venue, "binance", 7) == 0)
        fprintf(f, "  rest_url = \"https://localhost:%d\";\n", port);
    fprintf(f, "  ca_file = \"%s/ca.pem\";\n%s });\n", dir, venue_body);
    fclose(f);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);

        pin_to(0, 0);
        if (null >= 0)
            dup2(null, 2);
        execl(bin, bin, "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    p = strrchr(buf, ')');
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void cleanup_instance(const char *instance)
{
    static const char *const segs[] = {"ticks",  "candles", "books",    "funding",
                                       "events", "state",   "doorbell", "health"};
    char name[128];

    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        snprintf(name, sizeof(name), "/mdfeed.%s.%s", instance, segs[i]);
        shm_unlink(name);
    }
}

/* Counts records of `type` on `ring` for secs after a warm-up; prints msgs/s and per daemon
 * CPU-second. */
static void throughput(const char *name, pid_t dpid, const char *instance, int ring, int type,
                       double secs)
{
    mdf_instance_t *inst = NULL;
    mdf_sub_t *sub = NULL;
    mdf_record_t *rec = malloc(sizeof(*rec));
    uint64_t n = 0, lost = 0, l;
    double c0, c1;
    int64_t t0, t1, warm;

    if (!rec || mdf_open(&inst, instance, 10000) < 0 ||
        mdf_subscribe(inst, ring, MDF_START_NOW, 0, &sub) < 0) {
        printf("%s: not measured (%s)\n", name, mdf_errmsg());
        goto out;
    }
    warm = clock_mono_ns() + 2000000000LL;
    while (clock_mono_ns() < warm)
        while (mdf_next(sub, rec, &l) == 1)
            ;
    t0 = clock_mono_ns();
    c0 = proc_cpu_s(dpid);
    while (clock_mono_ns() - t0 < (int64_t)(secs * 1e9)) {
        int r = mdf_next(sub, rec, &l);

        if (r == 1) {
            lost += l;
            n += rec->h.type == type;
        } else {
            mdf_wait(sub, 50);
        }
    }
    t1 = clock_mono_ns();
    c1 = proc_cpu_s(dpid);
    if (n == 0) {
        /* A figure of 0 would read as a regression; nothing arrived (e.g. a diff book that
         * could not sync on a loaded machine before the finite replay ran out). */
        printf("%s_msgs_per_s: not measured (no record arrived in %.0f s)\n", name, secs);
        goto out;
    }
    printf("%s_msgs_per_s: %.0f msgs/s (daemon %.0f%% of a core%s)\n", name,
           (double)n / ((double)(t1 - t0) / 1e9), 100 * (c1 - c0) / ((double)(t1 - t0) / 1e9),
           lost ? ", reader lapped" : "");
    if (c1 > c0)
        printf("%s_msgs_per_daemon_cpu_s: %.0f msgs/s\n", name, (double)n / (c1 - c0));
out:
    fflush(stdout);
    mdf_unsubscribe(sub);
    if (inst)
        mdf_close(inst);
    free(rec);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* Waits for the next record: spinning (sched_yield between polls) or blocked in mdf_wait. */
static int next_record(mdf_sub_t *sub, mdf_record_t *rec, bool block)
{
    int r = mdf_next(sub, rec, NULL);

    if (r != 1) {
        if (block)
            mdf_wait(sub, 100);
        else
            sched_yield();
    }
    return r;
}

static void latency(bool block)
{
    const char *args[] = {"--synthetic", "10000", "--synthetic-stamp", "--msg-size", "180", NULL};
    const char *instance = "bench-e2e-lat";
    enum { MAXS = 60000 };
    int64_t *wire = malloc(MAXS * sizeof(int64_t)), *sock = malloc(MAXS * sizeof(int64_t));
    mdf_instance_t *inst = NULL;
    mdf_sub_t *sub = NULL;
    mdf_record_t *rec = malloc(sizeof(*rec));
    size_t n = 0;
    int port;
    pid_t vp, dp;
    int64_t end;

    cleanup_instance(instance);
    vp = venue(args, &port);
    dp = daemon_start(instance, "jsmn", port, "binance-spot",
                      "  symbols = [\"BTCUSDT\"]; trades = \"trade\"; kline = \"\";\n"
                      "  book_ticker = false;");
    if (vp < 0 || dp < 0 || mdf_open(&inst, instance, 10000) < 0 ||
        mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub) < 0) {
        printf("e2e_latency: not measured\n");
        goto out;
    }
    pin_to(0, 1);
    end = clock_mono_ns() + 1000000000LL; /* warm-up */
    while (clock_mono_ns() < end)
        next_record(sub, rec, block);
    end = clock_mono_ns() + 5000000000LL;
    while (clock_mono_ns() < end && n < MAXS) {
        if (next_record(sub, rec, block) == 1) {
            int64_t now = clock_real_ns();

            if (rec->h.type != MDF_REC_TRADE)
                continue;
            wire[n] = now - rec->trade.trade_id;
            sock[n] = now - rec->h.recv_time_ns;
            n++;
        }
    }
    if (n > 100) {
        qsort(wire, n, sizeof(*wire), cmp_i64);
        qsort(sock, n, sizeof(*sock), cmp_i64);
        const char *how = block ? "blocking" : "spinning";

        printf("e2e_latency_wire_to_%s_reader_at_10k: p50 %.1f us, p99 %.1f us, p99.9 %.1f us "
               "(%zu samples, TLS)\n",
               how, wire[n / 2] / 1e3, wire[n * 99 / 100] / 1e3, wire[n * 999 / 1000] / 1e3, n);
        printf("e2e_latency_socket_to_%s_reader_at_10k: p50 %.1f us, p99 %.1f us, p99.9 %.1f "
               "us\n",
               how, sock[n / 2] / 1e3, sock[n * 99 / 100] / 1e3, sock[n * 999 / 1000] / 1e3);
    }
out:
    fflush(stdout);
    mdf_unsubscribe(sub);
    if (inst)
        mdf_close(inst);
    stop(dp);
    stop(vp);
    cleanup_instance(instance);
    free(wire);
    free(sock);
    free(rec);
}

/* A recording of n depth20 messages for the replay. Returns 0 or -1. */
static int write_depth20(const char *path, int n)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "wss://stream.binance.com:9443/stream?streams=btcusdt@depth20@100ms <-> "
               "1700000000.000\n");
    for (int i = 0; i < n; i++) {
        fprintf(f,
                "%.3f: {\"stream\":\"btcusdt@depth20@100ms\",\"data\":{\"lastUpdateId\":%d,"
                "\"bids\":[",
                1700000000.0 + i * 0.001, 1000 + i);
        for (int k = 0; k < 20; k++)
            fprintf(f, "%s[\"%d.%02d000000\",\"%d.%05d000\"]", k ? "," : "", 37000 - k,
                    (i + k) % 100, 1 + k, (i * 7 + k) % 100000);
        fprintf(f, "],\"asks\":[");
        for (int k = 0; k < 20; k++)
            fprintf(f, "%s[\"%d.%02d000000\",\"%d.%05d000\"]", k ? "," : "", 37001 + k,
                    (i + k) % 100, 2 + k, (i * 3 + k) % 100000);
        fprintf(f, "]}}\n");
    }
    return fclose(f);
}

/* A recording of n aggregate trades. Returns 0 or -1. */
static int write_aggtrades(const char *path, int n)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade <-> "
               "1700000000.000\n");
    for (int i = 0; i < n; i++)
        fprintf(f,
                "%.4f: {\"stream\":\"btcusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":%lld,"
                "\"s\":\"BTCUSDT\",\"a\":%d,\"p\":\"%d.%02d000000\",\"q\":\"0.%05d000\",\"f\":%d,"
                "\"l\":%d,\"T\":%lld,\"m\":%s,\"M\":true}}\n",
                1700000000.0 + i * 0.0001, 1700000000000LL + i / 10, 1000 + i, 37000 + i % 50,
                i % 100, 1 + i % 99999, 5000 + 2 * i, 5001 + 2 * i, 1700000000000LL + i / 10,
                i & 1 ? "true" : "false");
    return fclose(f);
}

/* A diff-depth chain of n events (10 levels near the top each) and the REST snapshot that
 * bridges it: 1000 levels a side, lastUpdateId 1000. Returns 0 or -1. */
static int write_diffs(const char *ws, const char *http, int n)
{
    FILE *f = fopen(http, "w");

    if (!f)
        return -1;
    fprintf(f, "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000 -> "
               "1700000000.000: {\"lastUpdateId\":1000,\"bids\":[");
    for (int k = 0; k < 1000; k++)
        fprintf(f, "%s[\"%d.00000000\",\"1.00000000\"]", k ? "," : "", 30000 - k);
    fprintf(f, "],\"asks\":[");
    for (int k = 0; k < 1000; k++)
        fprintf(f, "%s[\"%d.00000000\",\"1.00000000\"]", k ? "," : "", 30001 + k);
    fprintf(f, "]}\n");
    fclose(f);
    f = fopen(ws, "w");
    if (!f)
        return -1;
    fprintf(f, "wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms <-> "
               "1700000000.000\n");
    for (int i = 0; i < n; i++) {
        fprintf(f,
                "%.5f: {\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\","
                "\"E\":%lld,\"s\":\"BTCUSDT\",\"U\":%d,\"u\":%d,\"b\":[",
                1700000000.0 + i * 0.00001, 1700000000000LL + i / 100, 1001 + 2 * i, 1002 + 2 * i);
        for (int k = 0; k < 5; k++)
            fprintf(f, "%s[\"%d.00000000\",\"%d.%03d00000\"]", k ? "," : "", 30000 - (i + k) % 20,
                    1 + k, i % 1000);
        fprintf(f, "],\"a\":[");
        for (int k = 0; k < 5; k++)
            fprintf(f, "%s[\"%d.00000000\",\"%d.%03d00000\"]", k ? "," : "", 30001 + (i + k) % 20,
                    1 + k, (i * 3) % 1000);
        fprintf(f, "]}}\n");
    }
    return fclose(f);
}

static void run(const char *name, const char *decoder, const char *const *vargs,
                const char *profile, const char *body, int ring, int type)
{
    char instance[64];
    int port;
    pid_t vp, dp;

    snprintf(instance, sizeof(instance), "bench-e2e-%d", (int)getpid());
    cleanup_instance(instance);
    vp = venue(vargs, &port);
    dp = vp > 0 ? daemon_start(instance, decoder, port, profile, body) : -1;
    if (vp > 0 && dp > 0)
        throughput(name, dp, instance, ring, type, 4.0);
    else
        printf("%s: not measured\n", name);
    stop(dp);
    stop(vp);
    cleanup_instance(instance);
}

static void rss(void)
{
    char syms[8192] = "", list[16384] = "", instance[64];
    const char *args[] = {"--market", syms, "--market-rate", "10", NULL};
    char body[20000];
    int port;
    pid_t vp, dp;

    for (int i = 0; i < 250; i++) {
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%sR%03dUSDT", i ? "," : "", i);
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"R%03dUSDT\"", i ? ", " : "",
                 i);
    }
    snprintf(body, sizeof(body),
             "  symbols = [%s]; trades = \"both\"; kline = \"\"; book_ticker = true;\n"
             "  order_book = \"diff\"; book_speed = 100;",
             list);
    snprintf(instance, sizeof(instance), "bench-e2e-rss-%d", (int)getpid());
    cleanup_instance(instance);
    vp = venue(args, &port);
    dp = vp > 0 ? daemon_start(instance, "jsmn", port, "binance-spot", body) : -1;
    if (vp > 0 && dp > 0) {
        sleep(15); /* warm-up: every book synced and updating */
        printf("e2e_rss_1000_streams: %ld KiB (250 symbols x trade, aggTrade, bookTicker, diff "
               "book)\n",
               proc_rss_kb(dp));
    }
    fflush(stdout);
    stop(dp);
    stop(vp);
    cleanup_instance(instance);
}

void bench_e2e(const char *self)
{
    char rec[PATH_MAX + 32], *slash;
    char aggrec[PATH_MAX + 32], diffrec[PATH_MAX + 32], diffhttp[PATH_MAX + 32];
    const char *agg[] = {"--replay", aggrec, "--speed", "max", "--loop", NULL};
    const char *diff[] = {"--replay", diffrec, "--rest", diffhttp, "--speed", "max", NULL};
    const char *d20[] = {"--replay", rec, "--speed", "max", "--loop", NULL};
    const char *agg_body = "  symbols = [\"BTCUSDT\"]; trades = \"agg_trade\"; kline = \"\";\n"
                           "  book_ticker = false;";
    const char *diff_body = "  symbols = [\"BTCUSDT\"]; trades = \"none\"; kline = \"\";\n"
                            "  book_ticker = false; order_book = \"diff\"; book_speed = 100;";
    const char *bfx[] = {"--venue", "bitfinex", "--market-rate", "max", NULL};
    const char *bfx_book = "  symbols = [\"tAAAUSD\", \"tBBBUSD\", \"tCCCUSD\", \"tDDDUSD\"];\n"
                           "  trades = \"none\"; kline = \"\"; order_book = \"diff\";";
    const char *bfx_trade = "  symbols = [\"tAAAUSD\", \"tBBBUSD\", \"tCCCUSD\", \"tDDDUSD\"];\n"
                            "  trades = \"trade\"; kline = \"\";";
    /* Bybit and OKX: their synthetic markets at a paced rate (they have no flat-out mode), high
     * enough that the daemon's CPU-seconds, not the pace, are the figure to read. */
    /* Bybit sends at most one book delta per symbol per market tick (about 1 ms), so the book
     * case takes 32 symbols to load the daemon. */
    char byb_syms[512] = "", byb_list[1024] = "", byb_book[1200];
    const char *byb[] = {"--venue",       "bybit-linear",    "--market", byb_syms,
                         "--market-rate", BENCH_MARKET_RATE, NULL};
    const char *byb_trade = "  symbols = [\"S00USDT\", \"S01USDT\", \"S02USDT\", \"S03USDT\"];\n"
                            "  trades = \"trade\"; kline = \"\";";
    const char *okx[] = {"--venue",
                         "okx",
                         "--market",
                         "AAA-USDT,BBB-USDT,CCC-USDT,DDD-USDT",
                         "--market-rate",
                         BENCH_MARKET_RATE,
                         NULL};
    const char *okx_book = "  symbols = [\"AAA-USDT\", \"BBB-USDT\", \"CCC-USDT\", \"DDD-USDT\"];\n"
                           "  trades = \"none\"; kline = \"\"; book_ticker = false;\n"
                           "  order_book = \"diff\";";
    const char *okx_trade =
        "  symbols = [\"AAA-USDT\", \"BBB-USDT\", \"CCC-USDT\", \"DDD-USDT\"];\n"
        "  trades = \"trade\"; kline = \"\"; book_ticker = false;";
    const char *d20_body = "  streams = ({ symbol = \"BTCUSDT\"; type = \"depth\"; levels = 20;\n"
                           "  speed = 100; });";

    for (int i = 0; i < 32; i++) {
        snprintf(byb_syms + strlen(byb_syms), sizeof(byb_syms) - strlen(byb_syms), "%sS%02dUSDT",
                 i ? "," : "", i);
        snprintf(byb_list + strlen(byb_list), sizeof(byb_list) - strlen(byb_list),
                 "%s\"S%02dUSDT\"", i ? ", " : "", i);
    }
    snprintf(byb_book, sizeof(byb_book),
             "  symbols = [%s];\n  trades = \"none\"; kline = \"\"; order_book = 200;", byb_list);
    snprintf(bindir, sizeof(bindir), "%s", self);
    slash = strrchr(bindir, '/');
    if (slash)
        *slash = '\0';
    /* run-bench lives in <build>/tests; the programs in <build>/bin. */
    slash = strrchr(bindir, '/');
    snprintf(slash ? slash + 1 : bindir, sizeof(bindir) - (size_t)(slash ? slash + 1 - bindir : 0),
             "bin");
    snprintf(dir, sizeof(dir), "/tmp/mdfeed-bench-e2e-%d", (int)getpid());
    if (mkdir(dir, 0700) < 0 || certs_make(dir) < 0) {
        printf("e2e: not measured (certificates: %s)\n", mdf_errmsg());
        return;
    }
    snprintf(rec, sizeof(rec), "%s/depth20.rec", dir);
    snprintf(aggrec, sizeof(aggrec), "%s/aggtrade.rec", dir);
    snprintf(diffrec, sizeof(diffrec), "%s/diff.rec", dir);
    snprintf(diffhttp, sizeof(diffhttp), "%s/diff-http.rec", dir);
    if (write_depth20(rec, 20000) < 0 || write_aggtrades(aggrec, 200000) < 0 ||
        write_diffs(diffrec, diffhttp, 600000) < 0) {
        printf("e2e: not measured (cannot write recordings in %s)\n", dir);
        return;
    }

    run("e2e_aggtrade_jsmn", "jsmn", agg, "binance-spot", agg_body, MDF_RING_TICKS, MDF_REC_TRADE);
    run("e2e_aggtrade_jansson", "jansson", agg, "binance-spot", agg_body, MDF_RING_TICKS,
        MDF_REC_TRADE);
    run("e2e_depth20_jsmn", "jsmn", d20, "binance-spot", d20_body, MDF_RING_BOOKS, MDF_REC_BOOK);
    run("e2e_depth20_jansson", "jansson", d20, "binance-spot", d20_body, MDF_RING_BOOKS,
        MDF_REC_BOOK);
    run("e2e_diff_applied_jsmn", "jsmn", diff, "binance-spot", diff_body, MDF_RING_BOOKS,
        MDF_REC_BOOK);
    run("e2e_bfx_book", "jsmn", bfx, "bitfinex", bfx_book, MDF_RING_BOOKS, MDF_REC_BOOK);
    run("e2e_bfx_trade", "jsmn", bfx, "bitfinex", bfx_trade, MDF_RING_TICKS, MDF_REC_TRADE);
    run("e2e_bybit_book", "jsmn", byb, "bybit-linear", byb_book, MDF_RING_BOOKS, MDF_REC_BOOK);
    run("e2e_bybit_trade", "jsmn", byb, "bybit-linear", byb_trade, MDF_RING_TICKS, MDF_REC_TRADE);
    run("e2e_okx_book", "jsmn", okx, "okx", okx_book, MDF_RING_BOOKS, MDF_REC_BOOK);
    run("e2e_okx_trade", "jsmn", okx, "okx", okx_trade, MDF_RING_TICKS, MDF_REC_TRADE);
    latency(false);
    latency(true);
    rss();
    {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", dir);
    }
}
