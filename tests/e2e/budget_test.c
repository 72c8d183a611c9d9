/*
 * End to end: what the daemon does about the venue's per-IP limits. A 429 or a 418 from the REST
 * side gives one REST_THROTTLED event per pause (warning level, with the status, the pause and
 * the venue's Retry-After) and one "REST resumes" event when the queue sends again. Two config
 * entries that reach one host share its connection-attempt budget (a reconnect storm of both
 * stays under one entry's limit) and its REST weight budget (their snapshots together stay
 * within one share); an entry removed by SIGHUP releases its hold, and the host's limit is the
 * remaining entry's again (as the health segment shows).
 *
 * The events are read from the events ring after the daemon stopped, as a reader would; the
 * connection attempts are timed from the fake venue's log, as in multi_test.c.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

/* The REST_THROTTLED events of the instance's events ring, in order: levels and texts (at most
 * max). Returns how many. */
static int throttle_events(const char *instance, int *level, char (*text)[MDF_EVENT_TEXT_MAX],
                           int max)
{
    mdf_record_t *ev = NULL;
    long n = e2e_drain(instance, MDF_RING_EVENTS, &ev);
    int k = 0;

    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        if (ev[i].h.type != MDF_REC_EVENT || ev[i].event.code != MDF_EV_REST_THROTTLED)
            continue;
        fprintf(stderr, "  REST_THROTTLED level %u: %s\n", ev[i].event.level, ev[i].event.text);
        if (k < max) {
            level[k] = ev[i].event.level;
            snprintf(text[k], MDF_EVENT_TEXT_MAX, "%s", ev[i].event.text);
        }
        k++;
    }
    free(ev);
    return k;
}

/* Waits up to timeout_ms until n lines saying a book went live have been logged. */
static void wait_books_live(struct dmn *d, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        if (dmn_wait(d, "BOOK_LIVE", timeout_ms, NULL, 0) != 0)
            test_fail(__FILE__, __LINE__, "%d of %d books live", i, n);
}

#define ONE_VENUE                                                                                  \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\"; symbols = [%s]; trades = \"none\";\n"                   \
    "  kline = \"\"; book_ticker = false; order_book = \"diff\"; book_speed = 100; });\n"

TEST(e2e_rest_429_gives_one_throttled_event_then_a_resume_event)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--market",
                             "AAAUSDT,BBBUSDT",
                             "--market-rate",
                             "50",
                             "--throttle-next",
                             "1",
                             "--retry-after",
                             "2",
                             NULL};
    char text[8][MDF_EVENT_TEXT_MAX];
    int level[8], n;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, ONE_VENUE, fv.port, fv.port, "\"AAAUSDT\", \"BBBUSDT\""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "REST resumes", 20000, NULL, 0), 0);
    wait_books_live(&d, 2, 20000);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);

    /* One pause: a warning with the status, its length and Retry-After, then the resume. */
    n = throttle_events(d.instance, level, text, 8);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(level[0], LOG_WARNING);
    ASSERT_CONTAINS(text[0], "HTTP 429 from http://127.0.0.1:");
    ASSERT_CONTAINS(text[0], "REST paused for 2.0 s (Retry-After 2 s)");
    ASSERT_EQ(level[1], LOG_NOTICE);
    ASSERT_CONTAINS(text[1], "REST resumes after 2.");
    ASSERT_CONTAINS(text[1], "(HTTP 429 from");
    return 0;
}

TEST(e2e_rest_418_ban_gives_a_banned_event_then_a_resume_event)
{
    struct fv_proc fv;
    struct dmn d;
    /* The first snapshot request gets a 429 (Retry-After 1 s) and the venue bans the IP for 3 s
     * at once: the retry gets a 418 with the ban's remaining seconds. */
    const char *fv_args[] = {"--market",
                             "AAAUSDT",
                             "--market-rate",
                             "50",
                             "--throttle-next",
                             "1",
                             "--retry-after",
                             "1",
                             "--ban-after",
                             "1",
                             "--ban-seconds",
                             "3",
                             NULL};
    char text[8][MDF_EVENT_TEXT_MAX];
    int level[8], n;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, ONE_VENUE, fv.port, fv.port, "\"AAAUSDT\""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    wait_books_live(&d, 1, 20000);
    ASSERT_EQ(dmn_stop(&d), 0);
    ASSERT_EQ(fv_count_lines(&fv, "rest ban over"), 1);
    fv_stop(&fv);

    /* Two pauses, each told and ended: the 429, then the ban. */
    n = throttle_events(d.instance, level, text, 8);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(level[0], LOG_WARNING);
    ASSERT_CONTAINS(text[0], "HTTP 429");
    ASSERT_CONTAINS(text[0], "(Retry-After 1 s)");
    ASSERT_EQ(level[1], LOG_NOTICE);
    ASSERT_CONTAINS(text[1], "REST resumes");
    ASSERT_EQ(level[2], LOG_WARNING);
    ASSERT_CONTAINS(text[2], "HTTP 418 from http://127.0.0.1:");
    ASSERT_CONTAINS(text[2], "REST banned, stopped for");
    ASSERT_CONTAINS(text[2], "Retry-After");
    ASSERT_EQ(level[3], LOG_NOTICE);
    ASSERT_CONTAINS(text[3], "REST resumes");
    ASSERT_CONTAINS(text[3], "(HTTP 418");
    return 0;
}

/* ---- two entries on one host ------------------------------------------------------------- */

#define ATTEMPT_CAP 8      /* each entry's max_conn_attempts */
#define ATTEMPT_WINDOW 4.0 /* their conn_attempt_window, seconds */
#define MAX_ATTEMPTS 256   /* attempts the test records */

TEST(e2e_two_entries_on_one_host_share_its_connection_attempt_budget)
{
    struct fv_proc fv;
    struct dmn d;
    /* The venue drops every connection 0.3 s after accepting it and allows 10 upgrades per 4 s.
     * Each entry allows itself 8 per 4 s: apart they would make up to 16 a window (and the venue
     * would refuse some); sharing the host's budget they make at most 8 between them. */
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "20", "--lifetime",
                             "0.3",      "--conn-limit",    "10/4",          NULL};
    int64_t at[MAX_ATTEMPTS], end;
    int n = 0, refused = 0, worst = 0;
    char line[512];

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "connection = { max_conn_attempts = %d; conn_attempt_window = %.1f;\n"
                         "  reconnect_base_delay = 0.05; reconnect_jitter = 0.0; };\n"
                         "venues = (\n"
                         " { venue = \"binance-spot\"; name = \"spot-a\";\n"
                         "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"
                         "   symbols = [\"AAAUSDT\"]; trades = \"trade\"; kline = \"\"; },\n"
                         " { venue = \"binance-spot\"; name = \"spot-b\";\n"
                         "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"
                         "   symbols = [\"BBBUSDT\"]; trades = \"trade\"; kline = \"\"; });\n",
                         ATTEMPT_CAP, ATTEMPT_WINDOW, fv.port, fv.port, fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);

    end = test_now_ns() + (int64_t)(2.5 * ATTEMPT_WINDOW * 1e9);
    while (test_now_ns() < end && n < MAX_ATTEMPTS) {
        if (fv_wait_line(&fv, "", 100, line, sizeof(line)) == 0) {
            bool up = strstr(line, " upgrade ") != NULL;
            bool no = strstr(line, " refused conn-limit") != NULL;

            if (up || no)
                at[n++] = test_now_ns();
            refused += no;
        }
        dmn_count(&d, "held back"); /* keep the daemon's log pipe drained */
    }
    fprintf(stderr, "%d connection attempts (%d refused) at s:", n, refused);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %.2f", (double)(at[i] - at[0]) / 1e9);
    fputc('\n', stderr);

    /* Both entries reconnected (the log names them), the host's budget held attempts back, the
     * venue never refused one. */
    ASSERT_EQ(refused + fv_count_lines(&fv, "refused conn-limit"), 0);
    ASSERT_GE(n, ATTEMPT_CAP + 4);
    ASSERT_GE(dmn_count(&d, "held back"), 1);
    /* No window (shortened by 0.5 s for the test's reading delay) holds more than one entry's
     * limit, both entries' attempts together. */
    for (int i = 0; i < n; i++) {
        int in = 0;

        for (int j = i; j < n && at[j] - at[i] < (int64_t)((ATTEMPT_WINDOW - 0.5) * 1e9); j++)
            in++;
        if (in > worst)
            worst = in;
    }
    if (worst > ATTEMPT_CAP)
        test_fail(__FILE__, __LINE__, "%d connection attempts within %.1f s (limit %d per %.0f s)",
                  worst, ATTEMPT_WINDOW - 0.5, ATTEMPT_CAP, ATTEMPT_WINDOW);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Wall-clock ms. */
static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(e2e_two_entries_on_one_host_share_its_rest_weight_budget)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};
    char line[512];
    int64_t left, first_ms;
    int gets = 0;

    /* Each entry allows itself 5% of 6000 = 300 weight a minute, and a snapshot of 5000 levels
     * weighs 250: apart, both snapshots would go at once; sharing the host's 300 one waits for
     * the next minute. The first must not fall just before a minute's end. */
    left = 60000 - wall_ms() % 60000;
    if (left < 20000)
        usleep((useconds_t)(left + 500) * 1000);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = (\n"
                         " { venue = \"binance-spot\"; name = \"spot-a\";\n"
                         "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"
                         "   symbols = [\"AAAUSDT\"]; trades = \"none\"; kline = \"\";\n"
                         "   book_ticker = false; order_book = \"diff\"; book_speed = 100;\n"
                         "   snapshot_limit = 5000; rest_weight_share = 0.05; },\n"
                         " { venue = \"binance-spot\"; name = \"spot-b\";\n"
                         "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"
                         "   symbols = [\"BBBUSDT\"]; trades = \"none\"; kline = \"\";\n"
                         "   book_ticker = false; order_book = \"diff\"; book_speed = 100;\n"
                         "   snapshot_limit = 5000; rest_weight_share = 0.05; });\n",
                         fv.port, fv.port, fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);

    /* One snapshot this minute, one book live; the other waits. */
    ASSERT_EQ(fv_wait_line(&fv, "http GET /api/v3/depth", 15000, line, sizeof(line)), 0);
    first_ms = wall_ms();
    gets++;
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    if (fv_wait_line(&fv, "http GET /api/v3/depth", 5000, line, sizeof(line)) == 0)
        test_fail(__FILE__, __LINE__, "a second snapshot in the same minute: %s", line);
    ASSERT_EQ(dmn_count(&d, "BOOK_LIVE"), 0);

    /* After the minute the other one goes, and its book goes live. */
    ASSERT_EQ(fv_wait_line(&fv, "http GET /api/v3/depth", 70000, line, sizeof(line)), 0);
    gets++;
    ASSERT_EQ(wall_ms() / 60000, first_ms / 60000 + 1);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    ASSERT_EQ(gets, 2);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The health entry of the venue named name into v; false if there is none in use. */
static bool health_venue(mdf_health_t *h, const char *name, struct mdf_health_venue *v)
{
    uint32_t n = mdf_health_count(h, MDF_HT_VENUE);

    for (uint32_t i = 0; i < n; i++)
        if (mdf_health_venue(h, i, v) == 0 && v->in_use && strcmp(v->name, name) == 0)
            return true;
    return false;
}

/* Waits up to timeout_ms until venue name's health entry shows rest_weight_limit `want`. */
static bool wait_weight_limit(mdf_health_t *h, const char *name, uint32_t want, int timeout_ms)
{
    int64_t end = test_now_ns() + (int64_t)timeout_ms * 1000000;
    struct mdf_health_venue v;

    do {
        if (health_venue(h, name, &v) && v.rest_weight_limit == want)
            return true;
        usleep(50000);
    } while (test_now_ns() < end);
    if (health_venue(h, name, &v))
        fprintf(stderr, "  %s: rest_weight_limit %u, wanted %u\n", name, v.rest_weight_limit, want);
    return false;
}

#define SHARE_ENTRY(name, sym, share)                                                              \
    " { venue = \"binance-spot\"; name = \"" name "\";\n"                                          \
    "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"                        \
    "   symbols = [\"" sym "\"]; trades = \"trade\"; kline = \"\"; rest_weight_share = " share     \
    "; }"

TEST(e2e_entry_removed_by_sighup_releases_its_hold_on_the_host_budget)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "20", NULL};
    mdf_health_t *h;
    struct mdf_health_venue v;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = (\n" SHARE_ENTRY("spot-a", "AAAUSDT", "0.05") ",\n" SHARE_ENTRY(
                             "spot-b", "BBBUSDT", "0.5") ");\n",
                         fv.port, fv.port, fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);

    /* Both entries show the host's budget: the stricter entry's 5% of 6000. */
    ASSERT(wait_weight_limit(h, "spot-a", 300, 5000));
    ASSERT(wait_weight_limit(h, "spot-b", 300, 5000));

    /* spot-a goes: once its feed is freed the host is spot-b's alone, at its 50%. */
    ASSERT_EQ(dmn_rewrite(&d, "venues = (\n" SHARE_ENTRY("spot-b", "BBBUSDT", "0.5") ");\n",
                          fv.port, fv.port),
              0);
    dmn_kill(&d, SIGHUP);
    ASSERT_EQ(dmn_wait(&d, "CONFIG_RELOADED", 5000, NULL, 0), 0);
    ASSERT(wait_weight_limit(h, "spot-b", 3000, 5000));
    ASSERT(!health_venue(h, "spot-a", &v));
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
