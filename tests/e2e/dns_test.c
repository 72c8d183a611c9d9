/*
 * End to end with a resolver that never answers for one venue. The test moves itself into a
 * private network and mount namespace (loopback only), puts a resolv.conf naming 127.0.0.1 over
 * /etc/resolv.conf there, and runs a "name server" on 127.0.0.1:53 that reads every query and
 * answers none. The daemon then carries two venues: one whose host is a name only DNS can
 * resolve (stuck.mdfeed.test, on one connection per stream so that it has many connections) and
 * one at 127.0.0.1. The reachable venue must connect and deliver as if the other did not exist;
 * the stuck lookup must be looked up once (not once per connection or attempt), counted and
 * shown in the health segment, in mdfeed-top --json and in the log; SIGTERM must not wait for it.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "support/netns.h"
#include "test.h"

#define STUCK_HOST "stuck.mdfeed.test"
#define STUCK_NAME "stuck-spot"
#define LIVE_NAME "binance-spot"
#define DNS_TIMEOUT_MS "1500" /* MDFEED_TEST_DNS_TIMEOUT_MS: a lookup this old is stuck */

/* ---- reading the daemon ------------------------------------------------------------------ */

/* The health entry of the venue named name into *v; fails the test if there is none. */
static void venue_health(mdf_health_t *h, const char *name, struct mdf_health_venue *v)
{
    uint32_t n = mdf_health_count(h, MDF_HT_VENUE);

    for (uint32_t i = 0; i < n; i++)
        if (mdf_health_venue(h, i, v) == 0 && v->in_use && strcmp(v->name, name) == 0)
            return;
    test_fail(__FILE__, __LINE__, "venue %s not in the health segment (%u slots)", name, n);
}

/* The latest trade id of venue:native, 0 when it has none yet. */
static int64_t last_trade(mdf_instance_t *inst, const char *venue, const char *native)
{
    char key[96];
    struct mdf_trade t;
    int64_t sym;

    snprintf(key, sizeof(key), "%s:%s", venue, native);
    sym = mdf_symbol_lookup(inst, key);
    if (sym < 0 || mdf_latest_trade(inst, (uint32_t)sym, &t) != 0)
        return 0;
    return t.trade_id;
}

/* Waits up to timeout_ms for the latest trade id of venue:native to pass `past`. */
static bool wait_trade_past(mdf_instance_t *inst, const char *venue, const char *native,
                            int64_t past, int timeout_ms)
{
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;

    while (last_trade(inst, venue, native) <= past) {
        if (test_now_ns() > deadline)
            return false;
        usleep(20000);
    }
    return true;
}

/* The venues array of mdfeed-top --json, entry named name: its member key (fails if absent). */
static json_int_t top_venue_int(const char *instance, const char *name, const char *key)
{
    char *argv[] = {(char *)test_bin("mdfeed-top"), "-i", (char *)instance, "--json", NULL};
    char *out = NULL, *err = NULL;
    json_error_t je;
    json_t *root, *venues, *v;
    size_t i;
    json_int_t val = -1;
    int rc = test_run_capture(argv, &out, &err);

    if (rc != 0)
        test_fail(__FILE__, __LINE__, "mdfeed-top --json exited %d: %s", rc, err ? err : "");
    root = json_loads(out, 0, &je);
    if (!root)
        test_fail(__FILE__, __LINE__, "mdfeed-top --json: not JSON (%s): %.200s", je.text, out);
    venues = json_object_get(root, "venues");
    json_array_foreach(venues, i, v)
    {
        json_t *n = json_object_get(v, "name");

        if (n && strcmp(json_string_value(n), name) == 0) {
            json_t *x = json_object_get(v, key);

            if (!json_is_integer(x))
                test_fail(__FILE__, __LINE__, "mdfeed-top --json: venue %s has no %s", name, key);
            val = json_integer_value(x);
        }
    }
    if (val < 0)
        test_fail(__FILE__, __LINE__, "mdfeed-top --json: no venue %s: %.300s", name, out);
    json_decref(root);
    free(out);
    free(err);
    return val;
}

/* ---- the test ---------------------------------------------------------------------------- */

TEST(e2e_dns_that_never_answers_for_one_venue_leaves_the_other_live_and_is_counted_as_stuck)
{
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};
    struct fake_dns dns;
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    mdf_health_t *h;
    struct mdf_health_venue stuck, live;
    unsigned queries_then;
    int64_t t0, past, deadline;
    char line[512];
    int rc;

    if (!test_is_root())
        test_skip("needs root for a private network namespace");
    netns_private();
    dns_start(&dns, -1); /* never answers */
    ASSERT_EQ(setenv("MDFEED_TEST_DNS_TIMEOUT_MS", DNS_TIMEOUT_MS, 1), 0);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    /* The stuck venue has one connection per stream: six connections (and their retries) that
     * all need the one name. */
    ASSERT_EQ(
        dmn_config(&d,
                   "connection = { reconnect_base_delay = 0.1; reconnect_max_delay = 0.5;\n"
                   "  reconnect_jitter = 0.0; connect_timeout = 5; };\n"
                   "venues = (\n"
                   " { venue = \"binance-spot\"; name = \"" STUCK_NAME "\";\n"
                   "   url = \"ws://" STUCK_HOST ":%d\"; rest_url = \"http://" STUCK_HOST ":%d\";\n"
                   "   streams_per_connection = 1;\n"
                   "   symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]; trades = \"trade\";\n"
                   "   kline = \"\"; book_ticker = true; },\n"
                   " { venue = \"binance-spot\"; name = \"" LIVE_NAME "\";\n"
                   "   url = \"ws://127.0.0.1:%d\"; rest_url = \"http://127.0.0.1:%d\";\n"
                   "   symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"trade\"; kline = \"\";\n"
                   "   book_ticker = true; });\n",
                   fv.port, fv.port, fv.port, fv.port),
        0);
    t0 = test_now_ns();
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 5000), 0);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);

    /* The reachable venue connects and delivers within seconds, both symbols. */
    if (!wait_trade_past(inst, LIVE_NAME, "AAAUSDT", 0, 8000) ||
        !wait_trade_past(inst, LIVE_NAME, "BBBUSDT", 0, 2000))
        test_fail(__FILE__, __LINE__,
                  "%s delivered no trade within %.1f s of the start while %s's DNS hangs "
                  "(%u queries seen)",
                  LIVE_NAME, (double)(test_now_ns() - t0) / 1e9, STUCK_HOST, dns_queries(&dns));
    printf("  %s: first trades %.2f s after the start\n", LIVE_NAME,
           (double)(test_now_ns() - t0) / 1e9);

    /* The name server was asked (the test's resolver is the one in use) about the stuck name. */
    ASSERT_GT(dns_queries(&dns), 0);
    ASSERT(atomic_load_explicit(&dns.named, memory_order_acquire)); /* pairs: dns_main */
    ASSERT_STR_EQ(dns.first_name, STUCK_HOST);

    /* The lookup becomes stuck after the timeout: counted, shown and logged. */
    deadline = test_now_ns() + 10 * INT64_C(1000000000);
    for (;;) {
        venue_health(h, STUCK_NAME, &stuck);
        if (stuck.dns_stuck == 1 || test_now_ns() > deadline)
            break;
        usleep(50000);
    }
    ASSERT_EQ(stuck.dns_stuck, 1);
    ASSERT_GE(stuck.dns_stuck_total, 1);
    ASSERT_EQ(dmn_wait(&d, "DNS lookup of " STUCK_HOST " stuck", 5000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, STUCK_NAME);
    printf("  log: %s\n", line);
    ASSERT_EQ(top_venue_int(d.instance, STUCK_NAME, "dns_stuck"), 1);
    ASSERT_GE(top_venue_int(d.instance, STUCK_NAME, "dns_stuck_total"), 1);
    ASSERT_EQ(top_venue_int(d.instance, LIVE_NAME, "dns_stuck"), 0);

    /* Its connections keep trying by their backoff and fail at once, naming the host and the
     * wait, without asking the name server again: one lookup for the host, however many
     * connections and attempts. */
    queries_then = dns_queries(&dns);
    venue_health(h, STUCK_NAME, &stuck);
    {
        uint64_t attempts_then = stuck.conn_attempts;

        deadline = test_now_ns() + 10 * INT64_C(1000000000);
        do {
            usleep(100000);
            venue_health(h, STUCK_NAME, &stuck);
        } while (stuck.conn_attempts < attempts_then + 12 && test_now_ns() < deadline);
        ASSERT_GE(stuck.conn_attempts, attempts_then + 12);
        printf("  %s: %llu connection attempts, %u DNS queries\n", STUCK_NAME,
               (unsigned long long)stuck.conn_attempts, dns_queries(&dns));
    }
    ASSERT_EQ(dns_queries(&dns), queries_then);
    ASSERT_LE(queries_then, 4); /* A and AAAA for one lookup (no retransmission within 30 s) */
    ASSERT_EQ(dmn_wait(&d, "cannot connect to ws://" STUCK_HOST, 5000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "DNS lookup of " STUCK_HOST);

    /* Meanwhile the reachable venue keeps delivering. */
    past = last_trade(inst, LIVE_NAME, "AAAUSDT") + 20;
    ASSERT(wait_trade_past(inst, LIVE_NAME, "AAAUSDT", past, 10000));
    venue_health(h, LIVE_NAME, &live);
    ASSERT_EQ(live.dns_stuck, 0);
    ASSERT_EQ(live.dns_stuck_total, 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED " LIVE_NAME), 0);

    /* SIGTERM does not wait for the stuck lookup. */
    mdf_health_close(h);
    mdf_close(inst);
    t0 = test_now_ns();
    dmn_kill(&d, SIGTERM);
    rc = dmn_wait_exit(&d, 5000);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "the daemon did not stop within 5 s of SIGTERM (%d)", rc);
    printf("  stopped %.2f s after SIGTERM\n", (double)(test_now_ns() - t0) / 1e9);
    fv_stop(&fv);
    dns_stop(&dns);
    return 0;
}
