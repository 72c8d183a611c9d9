/*
 * End to end with more than one venue and more than one connection attempt: two venues (spot
 * and USD-M futures, each against its own fake venue) publish side by side into one instance,
 * and losing one venue leaves the other delivering; a venue that keeps dropping the daemon's
 * connections sees no more connection attempts per window than the daemon's configured limit,
 * so the venue's own (looser) limit never refuses one.
 *
 * The outage is made by stopping a fake venue and listening on its port with a bare TCP
 * listener of our own, which counts the daemon's reconnect attempts and closes each unanswered:
 * the daemon logs no line per attempt, so the wire is where attempts are seen.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define SPOT "binance-spot"
#define FUTURES "binance-futures"

/* ---- reading the instance ---------------------------------------------------------------- */

/* Id of "venue:native" in the symbol table, or a negative code. */
static int64_t sym_of(mdf_instance_t *inst, const char *venue, const char *native)
{
    char key[96];

    snprintf(key, sizeof(key), "%s:%s", venue, native);
    return mdf_symbol_lookup(inst, key);
}

/* Id of the venue named name in the venue table; fails the test if there is none. */
static uint32_t venue_of(mdf_instance_t *inst, const char *name)
{
    uint32_t n = mdf_venue_count(inst);

    for (uint32_t v = 0; v < n; v++) {
        const char *vn = mdf_venue_name(inst, v);

        if (vn && strcmp(vn, name) == 0)
            return v;
    }
    test_fail(__FILE__, __LINE__, "venue %s not in the venue table (%u venues)", name, n);
}

/* The latest book of sym into b (room for MDF_BOOK_DEPTH_MAX levels). Returns 0 or negative. */
static int book_of(mdf_instance_t *inst, int64_t sym, struct mdf_book *b)
{
    if (sym < 0)
        return (int)sym;
    return mdf_latest_book(inst, (uint32_t)sym, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
}

/* Waits up to timeout_ms until the latest book of every sym[0..n) is in state `state` (and, for
 * LIVE, has levels on both sides). Returns how many are, so n means all. */
static int wait_books(mdf_instance_t *inst, const int64_t *sym, int n, int state, int timeout_ms)
{
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;
    int ok = 0;

    ASSERT(b != NULL);
    for (;;) {
        ok = 0;
        for (int i = 0; i < n; i++)
            ok += book_of(inst, sym[i], b) == 0 && b->state == state &&
                  (state != MDF_BOOK_LIVE || (b->n_bids > 0 && b->n_asks > 0));
        if (ok == n || test_now_ns() > deadline)
            break;
        usleep(50000);
    }
    free(b);
    return ok;
}

/* The latest trade id of sym, 0 when it has none yet. */
static int64_t last_trade_id(mdf_instance_t *inst, int64_t sym)
{
    struct mdf_trade t;

    if (sym < 0 || mdf_latest_trade(inst, (uint32_t)sym, &t) != 0)
        return 0;
    return t.trade_id;
}

/* Waits up to timeout_ms until the latest trade id of every sym[0..n) is above past[i]. */
static bool wait_trades_past(mdf_instance_t *inst, const int64_t *sym, const int64_t *past, int n,
                             int timeout_ms)
{
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;

    for (;;) {
        int ok = 0;

        for (int i = 0; i < n; i++)
            ok += last_trade_id(inst, sym[i]) > past[i];
        if (ok == n)
            return true;
        if (test_now_ns() > deadline)
            return false;
        usleep(50000);
    }
}

/* Checks the trade records of sym in v[0..n): all of one kind (aggregate or not, as agg says)
 * and their ids strictly consecutive, nothing missing and nothing twice. Returns the count. */
static long trades_consecutive(const mdf_record_t *v, long n, uint32_t sym, bool agg)
{
    int64_t prev = 0;
    long count = 0;

    for (long i = 0; i < n; i++) {
        const mdf_record_t *r = &v[i];

        if (r->h.type != MDF_REC_TRADE || r->h.symbol != sym)
            continue;
        if (!!(r->h.flags & MDF_TRADE_F_AGGREGATE) != agg)
            test_fail(__FILE__, __LINE__, "symbol %u: %s trade %" PRId64 " on a %s feed", sym,
                      agg ? "plain" : "aggregate", r->trade.trade_id, agg ? "futures" : "spot");
        if (prev && r->trade.trade_id != prev + 1)
            test_fail(__FILE__, __LINE__, "symbol %u: trade id %" PRId64 " after %" PRId64, sym,
                      r->trade.trade_id, prev);
        prev = r->trade.trade_id;
        count++;
    }
    return count;
}

/* ---- a bare listener on a stopped venue's port ------------------------------------------- */

/* Listens on 127.0.0.1:port (retrying for a while: the port was just freed). Returns the fd. */
static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int k = 0; k < 100; k++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT(fd >= 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0)
            return fd;
        close(fd);
        usleep(20000);
    }
    test_fail(__FILE__, __LINE__, "cannot listen on the stopped venue's port %d: %s", port,
              strerror(errno));
}

/* Accepts connections on lfd for up to timeout_ms, until `want` of them came. Each must open
 * with a WebSocket upgrade request to one of the futures paths (/public, /market), and is then
 * closed unanswered: a failed attempt for the daemon. Returns the number accepted. */
static int count_futures_attempts(int lfd, int want, int timeout_ms)
{
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;
    int got = 0;

    while (got < want) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int64_t left = (deadline - test_now_ns()) / 1000000;
        char req[2048];
        size_t len = 0;
        int fd;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        /* Read the request head (up to 2 s: it comes at once on loopback). */
        while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
            struct pollfd c = {.fd = fd, .events = POLLIN};
            ssize_t n;

            if (poll(&c, 1, 2000) <= 0)
                break;
            n = read(fd, req + len, sizeof(req) - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        req[len] = '\0';
        close(fd);
        if ((strncmp(req, "GET /public/", 12) != 0 && strncmp(req, "GET /market/", 12) != 0) ||
            !strcasestr(req, "\r\nUpgrade: websocket"))
            test_fail(__FILE__, __LINE__, "not an upgrade to /public or /market: \"%.120s\"", req);
        got++;
    }
    return got;
}

/* ---- two venues in one daemon ------------------------------------------------------------ */

TEST(e2e_two_venues_in_one_daemon_publish_side_by_side_and_one_outage_leaves_the_other_live)
{
    struct fv_proc spot, fut;
    struct dmn d;
    mdf_instance_t *inst;
    mdf_record_t *ticks = NULL, *events = NULL;
    struct mdf_symbol_entry se;
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    const char *spot_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};
    const char *fut_args[] = {"--venue",       FUTURES, "--market", "AAAUSDT,CCCUSDT",
                              "--market-rate", "50",    NULL};
    /* The same native name on both venues must still make two symbols. */
    static const char *const spot_syms[] = {"AAAUSDT", "BBBUSDT"};
    static const char *const fut_syms[] = {"AAAUSDT", "CCCUSDT"};
    int64_t s_id[2], f_id[2], all_id[4], past[4], trade_before[2], update_before[2];
    uint32_t v_spot, v_fut;
    long nt, ne, count[2][2] = {{0}}, disc[2] = {0};
    int lfd;

    ASSERT(b != NULL);
    ASSERT_EQ(fv_start(&spot, spot_args), 0);
    ASSERT_EQ(fv_start(&fut, fut_args), 0);
    ASSERT_EQ(
        dmn_config(&d,
                   "connection = { reconnect_base_delay = 0.1; reconnect_max_delay = 0.5;\n"
                   "  reconnect_jitter = 0.0; };\n"
                   "venues = (\n"
                   " { venue = \"" SPOT "\"; url = \"ws://127.0.0.1:%d\";\n"
                   "   rest_url = \"http://127.0.0.1:%d\";\n"
                   "   symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"trade\"; kline = \"\";\n"
                   "   book_ticker = true; order_book = \"diff\"; book_speed = 100; },\n"
                   " { venue = \"" FUTURES "\"; url = \"ws://127.0.0.1:%d\";\n"
                   "   rest_url = \"http://127.0.0.1:%d\";\n"
                   "   symbols = [\"AAAUSDT\", \"CCCUSDT\"]; trades = \"agg_trade\";\n"
                   "   kline = \"\"; book_ticker = true; order_book = \"diff\";\n"
                   "   book_speed = 100; });\n",
                   spot.port, spot.port, fut.port, fut.port),
        0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 5000), 0);

    /* Both venues in the venue table, each symbol registered under its own venue. */
    ASSERT_EQ(mdf_venue_count(inst), 2);
    v_spot = venue_of(inst, SPOT);
    v_fut = venue_of(inst, FUTURES);
    ASSERT_NE(v_spot, v_fut);
    for (int i = 0; i < 2; i++) {
        s_id[i] = sym_of(inst, SPOT, spot_syms[i]);
        f_id[i] = sym_of(inst, FUTURES, fut_syms[i]);
        ASSERT_GE(s_id[i], 0);
        ASSERT_GE(f_id[i], 0);
        ASSERT_EQ(mdf_symbol_info(inst, (uint32_t)s_id[i], &se), 0);
        ASSERT_EQ(se.venue, v_spot);
        ASSERT_STR_EQ(se.native, spot_syms[i]);
        ASSERT_EQ(mdf_symbol_info(inst, (uint32_t)f_id[i], &se), 0);
        ASSERT_EQ(se.venue, v_fut);
        ASSERT_STR_EQ(se.native, fut_syms[i]);
        all_id[i] = s_id[i];
        all_id[2 + i] = f_id[i];
    }
    ASSERT_NE(s_id[0], f_id[0]); /* AAAUSDT on spot is not AAAUSDT on futures */
    ASSERT_EQ(sym_of(inst, FUTURES, "BBBUSDT"), -ENOENT);
    ASSERT_EQ(sym_of(inst, SPOT, "CCCUSDT"), -ENOENT);

    /* Every book of both venues goes LIVE, and both venues' trades flow. */
    ASSERT_EQ(wait_books(inst, s_id, 2, MDF_BOOK_LIVE, 30000), 2);
    ASSERT_EQ(wait_books(inst, f_id, 2, MDF_BOOK_LIVE, 30000), 2);
    for (int i = 0; i < 2; i++)
        past[i] = past[2 + i] = 0;
    ASSERT(wait_trades_past(inst, all_id, past, 4, 30000));
    for (int i = 0; i < 4; i++)
        past[i] = last_trade_id(inst, all_id[i]) + 20;
    ASSERT(wait_trades_past(inst, all_id, past, 4, 30000)); /* 20 more of each */
    for (int i = 0; i < 2; i++) {
        trade_before[i] = last_trade_id(inst, s_id[i]);
        ASSERT_EQ(book_of(inst, s_id[i], b), 0);
        update_before[i] = b->last_update_id;
    }

    /* The futures venue goes away: its port now refuses every upgrade unanswered. */
    fv_stop(&fut);
    lfd = listen_on(fut.port);
    ASSERT_EQ(wait_books(inst, f_id, 2, MDF_BOOK_STALE, 20000), 2);
    ASSERT_EQ(count_futures_attempts(lfd, 4, 30000), 4); /* the daemon keeps trying */

    /* Meanwhile spot is untouched: trades keep coming, books stay LIVE on their first sync. */
    past[0] = trade_before[0] + 20;
    past[1] = trade_before[1] + 20;
    ASSERT(wait_trades_past(inst, s_id, past, 2, 30000));
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(book_of(inst, s_id[i], b), 0);
        ASSERT_EQ(b->state, MDF_BOOK_LIVE);
        ASSERT_EQ(b->generation, 0);
        ASSERT_GT(b->last_update_id, update_before[i]);
    }
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED " SPOT), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_DISCONNECTED " FUTURES, 1000, NULL, 0), 0);

    dmn_kill(&d, SIGTERM);
    ASSERT_EQ(dmn_wait_exit(&d, 10000), 0);
    close(lfd);
    fv_stop(&spot);

    /* Every record carries its symbol's venue; spot trades are plain, futures trades are
     * aggregate, each symbol's ids consecutive over the whole run (the futures outage cost spot
     * nothing); the disconnections were the futures venue's only. */
    nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
    ne = e2e_drain(d.instance, MDF_RING_EVENTS, &events);
    ASSERT_GT(nt, 0);
    ASSERT_GT(ne, 0);
    for (long i = 0; i < nt; i++) {
        const struct mdf_rec_hdr *h = &ticks[i].h;

        ASSERT_EQ(mdf_symbol_info(inst, h->symbol, &se), 0);
        if (h->venue != se.venue)
            test_fail(__FILE__, __LINE__, "%s record of %s (venue %u) says venue %u",
                      mdf_rec_type_name(h->type), se.native, se.venue, h->venue);
        if (h->type == MDF_REC_TRADE || h->type == MDF_REC_BBO)
            count[h->venue == v_fut][h->type == MDF_REC_BBO]++;
    }
    for (int i = 0; i < 2; i++) {
        ASSERT_GE(trades_consecutive(ticks, nt, (uint32_t)s_id[i], false), 40);
        ASSERT_GE(trades_consecutive(ticks, nt, (uint32_t)f_id[i], true), 20);
        ASSERT_GT(count[i][1], 10); /* book tickers of both venues */
    }
    for (long i = 0; i < ne; i++)
        if (events[i].event.code == MDF_EV_CONNECTION_DISCONNECTED)
            disc[events[i].h.venue == v_fut]++;
    ASSERT_EQ(disc[0], 0);
    ASSERT_GE(disc[1], 1);
    mdf_close(inst);
    free(ticks);
    free(events);
    free(b);
    return 0;
}

/* ---- connection attempts under the venue's limit ----------------------------------------- */

#define ATTEMPT_CAP 8      /* the daemon's max_conn_attempts */
#define ATTEMPT_WINDOW 4.0 /* its conn_attempt_window, seconds */
#define MAX_ATTEMPTS 256   /* attempts the test records */

TEST(e2e_connection_attempts_stay_under_venue_limit_through_a_reconnect_storm)
{
    struct fv_proc fv;
    struct dmn d;
    /* The venue drops every connection 0.3 s after accepting it, and allows 10 upgrades per
     * 4 s: the daemon's own limit (8 per 4 s, as 240 per 300 s is 80% of 300) must bind. Left
     * alone the daemon would reconnect every 0.35 s, over 11 times a window. */
    const char *fv_args[] = {"--market", "AAAUSDT",      "--market-rate", "20", "--lifetime",
                             "0.3",      "--conn-limit", "10/4",          NULL};
    int64_t at[MAX_ATTEMPTS], end;
    int n = 0, refused = 0, worst = 0;
    char line[512];

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"" SPOT "\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"AAAUSDT\"]; trades = \"trade\"; kline = \"\";\n"
                         "  book_ticker = true;\n"
                         "  connection = { max_conn_attempts = %d; conn_attempt_window = %.1f;\n"
                         "    reconnect_base_delay = 0.05; reconnect_jitter = 0.0; }; });\n",
                         fv.port, fv.port, ATTEMPT_CAP, ATTEMPT_WINDOW),
              0);
    ASSERT_EQ(dmn_start(&d), 0);

    /* Two and a half windows of reconnecting, each attempt timed as the venue logs it. */
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

    /* For the reader of a failure: when the attempts came. */
    fprintf(stderr, "%d connection attempts (%d refused) at s:", n, refused);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %.2f", (double)(at[i] - at[0]) / 1e9);
    fputc('\n', stderr);

    /* The venue never refused, the daemon did reconnect beyond one window's worth, and it did
     * hold attempts back: its limit was the one at work. */
    ASSERT_EQ(refused + fv_count_lines(&fv, "refused conn-limit"), 0);
    ASSERT_GE(n, ATTEMPT_CAP + 4);
    ASSERT_GE(dmn_count(&d, "held back"), 1);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);

    /* No window holds more attempts than the daemon's limit. The times are when the test read
     * the venue's lines, up to a moment late each; a window shorter by 0.5 s absorbs that. */
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
