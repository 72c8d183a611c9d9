/*
 * mdfeedd's command line as an operator meets it: -t checks a config and names every error
 * FILE:LINE, the daemon runs in the foreground, stops cleanly on SIGTERM (exit 0, books marked
 * STALE), a second signal ends it at once, and a second daemon on the same instance is refused
 * with a message that names the instance once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

/* Runs mdfeedd with args; returns its exit status, output in *out and *err (free both). */
static int run_daemon(char *const *args, char **out, char **err)
{
    char *argv[8];
    int n = 0;

    argv[n++] = (char *)test_bin("mdfeedd");
    while (*args && n < 7)
        argv[n++] = *args++;
    argv[n] = NULL;
    return test_run_capture(argv, out, err);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f)
        test_fail(__FILE__, __LINE__, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

TEST(daemon_check_mode_accepts_shipped_and_demo_configs)
{
    char *out, *err;
    char *a1[] = {"-t", "-c", "conf/mdfeed.conf", NULL};
    char *a2[] = {"-t", "-c", "conf/demo.conf", NULL};
    char *a3[] = {"-t", "-c", "conf/demo-bitfinex.conf", NULL};
    char *a4[] = {"-t", "-c", "conf/demo-replay.conf", NULL};

    ASSERT_EQ(run_daemon(a1, &out, &err), 0);
    ASSERT_CONTAINS(out, "configuration OK");
    free(out);
    free(err);
    /* make demo's three: synthetic Binance spot, synthetic Bitfinex, the recording. */
    ASSERT_EQ(run_daemon(a2, &out, &err), 0);
    ASSERT_CONTAINS(out, "conf/demo.conf: configuration OK: 1 venues, 20 streams");
    free(out);
    free(err);
    ASSERT_EQ(run_daemon(a3, &out, &err), 0);
    ASSERT_CONTAINS(out, "conf/demo-bitfinex.conf: configuration OK: 1 venues, 12 streams");
    free(out);
    free(err);
    ASSERT_EQ(run_daemon(a4, &out, &err), 0);
    ASSERT_CONTAINS(out, "conf/demo-replay.conf: configuration OK: 1 venues, 16 streams");
    free(out);
    free(err);
    return 0;
}

TEST(daemon_check_mode_names_every_error_with_file_and_line)
{
    char path[64], *out, *err;
    char *args[] = {"-t", "-c", path, NULL};

    snprintf(path, sizeof(path), "/tmp/mdfeed-bad-%d.conf", (int)getpid());
    write_file(path, "instance = \"x\";\n"                /* 1 */
                     "venues = ({\n"                      /* 2 */
                     "  venue = \"binance-spot\";\n"      /* 3 */
                     "  symbols = [\"BTCUSDT\"];\n"       /* 4 */
                     "  kline = \"7m\";\n"                /* 5 */
                     "  funding = true;\n"                /* 6 */
                     "  colour = \"blue\";\n"             /* 7 */
                     "  streams_per_connection = 5000;\n" /* 8 */
                     "});\n");
    ASSERT_EQ(run_daemon(args, &out, &err), 1);
    {
        char want[128];

        snprintf(want, sizeof(want), "%s:5:", path);
        ASSERT_CONTAINS(err, want);
        snprintf(want, sizeof(want), "%s:6:", path);
        ASSERT_CONTAINS(err, want);
        snprintf(want, sizeof(want), "%s:7:", path);
        ASSERT_CONTAINS(err, want);
        snprintf(want, sizeof(want), "%s:8:", path);
        ASSERT_CONTAINS(err, want);
    }
    ASSERT_CONTAINS(err, "colour");
    free(out);
    free(err);
    /* A syntax error gives its line too; a missing file says so. */
    write_file(path, "venues = ({\n venue = \"binance-spot\";\n symbols = = [\"A\"]; });\n");
    ASSERT_EQ(run_daemon(args, &out, &err), 1);
    {
        char want[128];

        snprintf(want, sizeof(want), "%s:3:", path);
        ASSERT_CONTAINS(err, want);
    }
    free(out);
    free(err);
    unlink(path);
    ASSERT_EQ(run_daemon(args, &out, &err), 1);
    ASSERT_CONTAINS(err, path);
    free(out);
    free(err);
    return 0;
}

TEST(daemon_sigterm_stops_cleanly_marks_books_stale_and_exits_zero)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    const char *fv_args[] = {"--replay", "tests/fixtures/binance-spot/ws.rec",
                             "--rest",   "tests/fixtures/binance-spot/http.rec",
                             "--speed",  "4",
                             NULL};
    int64_t sym;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"NKNUSDT\"];\n"
                         "  trades = \"agg_trade\"; kline = \"1m\"; order_book = \"diff\";\n"
                         "  book_speed = 100; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 20000, NULL, 0), 0);
    dmn_kill(&d, SIGTERM);
    ASSERT_EQ(dmn_wait(&d, "FEED_STOPPING", 5000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "stopped", 5000, NULL, 0), 0);
    /* The venue saw a close frame (1000), not a dropped socket. */
    ASSERT_EQ(fv_wait_line(&fv, "close-received 1000", 5000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait_exit(&d, 10000), 0);
    /* Readers still see the last state, and that the book is no longer maintained. */
    ASSERT_EQ(mdf_open(&inst, d.instance, 0), 0);
    sym = mdf_symbol_lookup(inst, "binance-spot:NKNUSDT");
    ASSERT(sym >= 0);
    ASSERT_EQ(mdf_latest_book(inst, (uint32_t)sym, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
    ASSERT_EQ(b->state, MDF_BOOK_STALE);
    ASSERT(b->n_bids > 0);
    mdf_close(inst);
    free(b);
    fv_stop(&fv);
    return 0;
}

TEST(daemon_second_signal_exits_at_once)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--fault-no-upgrade", NULL};

    /* A venue that never answers the upgrade keeps a connection attempt open. */
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"BTCUSDT\"]; });\n",
                         fv.port, fv.port),
              0);
    setenv("MDFEED_TEST_SLOW_STOP_MS", "8000", 1);
    ASSERT_EQ(dmn_start(&d), 0);
    dmn_kill(&d, SIGINT);
    ASSERT_EQ(dmn_wait(&d, "Interrupt: stopping", 5000, NULL, 0), 0);
    dmn_kill(&d, SIGINT);
    ASSERT_EQ(dmn_wait(&d, "exiting at once", 5000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait_exit(&d, 5000), 1);
    fv_stop(&fv);
    return 0;
}

/* Occurrences of needle in text. */
static int occurrences(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(daemon_second_daemon_on_one_instance_is_refused_naming_it_once)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    char *argv[] = {"-c", d.conf, NULL};
    char *out, *err, want[96];

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"AAAUSDT\"]; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);

    /* The same config again: refused, exit 1, and the message says whose instance it is and
     * which pid owns it, naming the instance once. */
    ASSERT_EQ(run_daemon(argv, &out, &err), 1);
    snprintf(want, sizeof(want), "instance \"%s\" is owned by a live daemon (pid %d)", d.instance,
             (int)d.p.pid);
    ASSERT_CONTAINS(err, "cannot start");
    ASSERT_CONTAINS(err, want);
    snprintf(want, sizeof(want), "\"%s\"", d.instance);
    if (occurrences(err, want) != 1)
        test_fail(__FILE__, __LINE__, "the instance named %d times: %s", occurrences(err, want),
                  err);
    free(out);
    free(err);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(daemon_long_options_help_version_and_mistakes_are_named)
{
    char *help[] = {"--help", NULL}, *ver[] = {"--version", NULL};
    char *stray[] = {"-t", "conf/x.conf", NULL}, *bad[] = {"--bogus", NULL};
    char *none[] = {NULL};
    char *out, *err;

    ASSERT_EQ(run_daemon(help, &out, &err), 0);
    ASSERT_CONTAINS(out, "--config FILE");
    free(out), free(err);
    ASSERT_EQ(run_daemon(ver, &out, &err), 0);
    ASSERT_CONTAINS(out, "mdfeedd " MDFEED_VERSION);
    free(out), free(err);
    ASSERT_EQ(run_daemon(stray, &out, &err), 2);
    ASSERT_CONTAINS(err, "unexpected argument \"conf/x.conf\"");
    free(out), free(err);
    ASSERT_EQ(run_daemon(bad, &out, &err), 2);
    ASSERT_CONTAINS(err, "--bogus");
    free(out), free(err);
    if (access("/etc/mdfeed/mdfeed.conf", F_OK) != 0) {
        ASSERT_EQ(run_daemon(none, &out, &err), 1);
        ASSERT_CONTAINS(err, "give one with -c FILE");
        free(out), free(err);
    }
    return 0;
}

/* Every program answers --help and --version with exit status 0. */
TEST(every_program_answers_help_and_version)
{
    static const char *const progs[] = {"mdfeedd", "mdfeed-cat", "mdfeed-top", "mdfeed-fakevenue",
                                        "mdfeed-synth"};

    for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
        for (int k = 0; k < 2; k++) {
            char *argv[] = {(char *)test_bin(progs[i]), k ? "--version" : "--help", NULL};
            char *out, *err;

            if (test_run_capture(argv, &out, &err) != 0)
                test_fail(__FILE__, __LINE__, "%s %s: not status 0; %s", progs[i], argv[1], err);
            if (k)
                ASSERT_CONTAINS(out, MDFEED_VERSION);
            free(out);
            free(err);
        }
    }
    return 0;
}
