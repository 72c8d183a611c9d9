/*
 * Tests of the fake venue's replay for a venue whose subscriptions are answered from the
 * recording (--venue bitfinex --replay FILE), driven as a client would: start the binary
 * (fakevenue.h), talk to it over WebSocket (wsclient.h), and compare what arrives with the
 * recording's own lines, read here by the recording format alone (tests/fixtures/README.md
 * shapes: "URL <-> TS", "TS: JSON", "URL <- TS: JSON").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define T_MS 5000    /* generous wait for anything that should happen */
#define REC_MAX 4096 /* lines of a recording the tests read */
#define REC "bitfinex/ws.rec"

/* What the venue sent in a recording, in order: the text of every received line and its
 * time. */
struct rec {
    char *msg[REC_MAX]; /* owned */
    double t[REC_MAX];  /* Unix seconds */
    size_t n;
};

/* Reads the received lines ("TS: JSON") of fixture name. */
static void rec_read(struct rec *r, const char *name)
{
    FILE *f = fopen(test_fixture(name), "r");
    char line[65536];

    ASSERT(f != NULL);
    r->n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *j = strstr(line, ": ");

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] < '0' || line[0] > '9' || !j || strstr(line, " <- ") || strstr(line, " <-> "))
            continue;
        ASSERT_LT(r->n, REC_MAX);
        r->t[r->n] = strtod(line, NULL);
        r->msg[r->n++] = strdup(j + 2);
    }
    fclose(f);
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->msg[i]);
    r->n = 0;
}

/* The first recorded event whose "event" is ev and whose member k (when k) equals the string
 * or integer text v, or NULL. */
static const char *rec_event(const struct rec *r, const char *ev, const char *k, const char *v)
{
    for (size_t i = 0; i < r->n; i++) {
        json_t *j = json_loads(r->msg[i], JSON_DECODE_ANY, NULL);
        json_t *e = json_object_get(j, "event"), *x = k ? json_object_get(j, k) : NULL;
        char num[32] = "";
        bool hit;

        if (json_is_integer(x))
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(x));
        hit = json_is_string(e) && strcmp(json_string_value(e), ev) == 0 &&
              (!k || (json_is_string(x) && strcmp(json_string_value(x), v) == 0) ||
               (num[0] && strcmp(num, v) == 0));
        json_decref(j);
        if (hit)
            return r->msg[i];
    }
    return NULL;
}

/* The chanId of a subscribed event text. */
static long long chan_of(const char *ev)
{
    json_t *j = json_loads(ev, 0, NULL);
    long long id = (long long)json_integer_value(json_object_get(j, "chanId"));

    json_decref(j);
    return id;
}

/* True when recorded message m is a data array of channel chan (chan < 0: of any channel). */
static bool is_data_of(const char *m, long long chan)
{
    return m[0] == '[' && (chan < 0 || strtoll(m + 1, NULL, 10) == chan);
}

/* Starts the venue replaying REC with extra args (NULL-terminated, at most 8). */
static void start(struct fv_proc *fv, const char *const *extra)
{
    const char *a[16] = {"--venue", "bitfinex", "--replay", test_fixture(REC)};
    size_t n = 4;
    int r;

    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        a[n++] = extra[i];
    a[n] = NULL;
    r = fv_start(fv, a);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "fv_start: %d", r);
}

/* The next text message (borrowed until the next call) or a failure. */
static const char *next_text(struct wsc *c, int timeout_ms)
{
    const struct wsc_msg *m;
    int r;

    do {
        r = wsc_recv(c, timeout_ms, &m);
        if (r < 0)
            test_fail(__FILE__, __LINE__, "wsc_recv: %d", r);
    } while (!m->text);
    return (const char *)m->data;
}

/* Messages that arrived while a test waited for an event (data arrays), in order. */
struct got {
    char *msg[REC_MAX]; /* owned */
    size_t n;
};

/* Receives until an event object arrives and returns it (borrowed); arrays before it are kept
 * in g. */
static const char *next_event(struct wsc *c, struct got *g)
{
    for (;;) {
        const char *t = next_text(c, T_MS);

        if (t[0] == '{')
            return t;
        ASSERT_LT(g->n, REC_MAX);
        g->msg[g->n++] = strdup(t);
    }
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->msg[i]);
    g->n = 0;
}

TEST(fakevenue_replay_bitfinex_answers_subscriptions_and_serves_the_recorded_channels)
{
    struct fv_proc fv;
    struct rec r;
    struct got g = {.n = 0};
    struct wsc c;
    const char *info, *conf, *sub_book, *sub_trades, *sub_candles, *t;
    size_t want = 0, k = 0;
    double first_t = 0, last_t = 0;
    int64_t t_first = 0, t_last = 0;

    rec_read(&r, REC);
    info = rec_event(&r, "info", NULL, NULL);
    conf = rec_event(&r, "conf", NULL, NULL);
    sub_book = rec_event(&r, "subscribed", "channel", "book");
    sub_trades = rec_event(&r, "subscribed", "channel", "trades");
    sub_candles = rec_event(&r, "subscribed", "channel", "candles");
    ASSERT(info && conf && sub_book && sub_trades && sub_candles);
    for (size_t i = 0; i < r.n; i++) {
        if (!is_data_of(r.msg[i], -1))
            continue;
        if (!want++)
            first_t = r.t[i];
        last_t = r.t[i];
    }
    ASSERT_GE(want, 10);
    start(&fv, NULL);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/ws/2", NULL), 0);
    /* The recorded info event on connecting, the recorded conf reply to the recorded flags. */
    ASSERT_STR_EQ(next_text(&c, T_MS), info);
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"conf\",\"flags\":229384}"), 0);
    ASSERT_STR_EQ(next_text(&c, T_MS), conf);
    /* Subscriptions in another order than recorded, the book one leaving its defaults out,
     * the later ones after the recorded snapshots' time (as a client that paces its
     * subscriptions sends them): each is answered by its recorded subscribed event, recorded
     * chanId included, and no channel loses its snapshot. */
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"subscribe\",\"channel\":\"candles\","
                                "\"key\":\"trade:1m:tBTCUSD\"}"),
              0);
    ASSERT_STR_EQ(next_event(&c, &g), sub_candles);
    usleep(400 * 1000);
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"subscribe\",\"channel\":\"book\","
                                "\"symbol\":\"tBTCUSD\"}"),
              0);
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"subscribe\",\"channel\":\"trades\","
                                "\"symbol\":\"tETHUSD\"}"),
              0);
    ASSERT_STR_EQ(next_event(&c, &g), sub_book);
    ASSERT_STR_EQ(next_event(&c, &g), sub_trades);
    /* A channel the recording never had is refused, not invented. */
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"subscribe\",\"channel\":\"ticker\","
                                "\"symbol\":\"tBTCUSD\"}"),
              0);
    t = next_event(&c, &g);
    ASSERT(strstr(t, "\"event\":\"error\"") != NULL);
    ASSERT(strstr(t, "\"code\":10300") != NULL);
    /* Every recorded channel message, exactly and in order, at the recorded spacing. */
    for (size_t i = 0; i < r.n; i++) {
        const char *m;

        if (!is_data_of(r.msg[i], -1))
            continue;
        m = k < g.n ? g.msg[k] : next_text(&c, T_MS);
        if (strcmp(m, r.msg[i]) != 0)
            test_fail(__FILE__, __LINE__, "channel message %zu: got %.200s, recorded %.200s", k, m,
                      r.msg[i]);
        if (k == 0)
            t_first = test_now_ns();
        t_last = test_now_ns();
        k++;
    }
    ASSERT_EQ(k, want);
    /* Recorded over (last - first) s at --speed 1: allow scheduling slack, but not "at once". */
    ASSERT_GE((double)(t_last - t_first) / 1e9, (last_t - first_t) * 0.8);
    /* Nothing after the recording's end. */
    {
        const struct wsc_msg *m;

        ASSERT_EQ(wsc_recv(&c, 500, &m), -ETIMEDOUT);
    }
    ASSERT_EQ(fv_wait_line(&fv, "replay done", T_MS, NULL, 0), 0);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    got_free(&g);
    rec_free(&r);
    return 0;
}

TEST(fakevenue_replay_bitfinex_serves_only_the_subscribed_channel)
{
    const char *args[] = {"--speed", "max", NULL};
    struct fv_proc fv;
    struct rec r;
    struct got g = {.n = 0};
    struct wsc c;
    const char *sub_trades;
    long long chan;
    size_t k = 0, want = 0;

    rec_read(&r, REC);
    sub_trades = rec_event(&r, "subscribed", "channel", "trades");
    ASSERT(sub_trades != NULL);
    chan = chan_of(sub_trades);
    start(&fv, args);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/ws/2", NULL), 0);
    ASSERT_STR_EQ(next_text(&c, T_MS), rec_event(&r, "info", NULL, NULL));
    ASSERT_EQ(wsc_send_text(&c, "{\"event\":\"subscribe\",\"channel\":\"trades\","
                                "\"pair\":\"ETHUSD\"}"),
              0);
    ASSERT_STR_EQ(next_event(&c, &g), sub_trades);
    /* Only the trades channel's messages (snapshot, te, tu, hb), in recorded order. */
    for (size_t i = 0; i < r.n; i++) {
        const char *m;

        if (!is_data_of(r.msg[i], chan))
            continue;
        want++;
        m = k < g.n ? g.msg[k] : next_text(&c, T_MS);
        ASSERT_STR_EQ(m, r.msg[i]);
        k++;
    }
    ASSERT_GE(want, 4);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", T_MS, NULL, 0), 0);
    {
        const struct wsc_msg *m;

        ASSERT_EQ(wsc_recv(&c, 300, &m), -ETIMEDOUT);
    }
    /* Unsubscribing answers with the channel's recorded chanId. */
    {
        char req[96], want_ev[128];

        snprintf(req, sizeof(req), "{\"event\":\"unsubscribe\",\"chanId\":%lld}", chan);
        snprintf(want_ev, sizeof(want_ev),
                 "{\"event\":\"unsubscribed\",\"status\":\"OK\",\"chanId\":%lld}", chan);
        ASSERT_EQ(wsc_send_text(&c, req), 0);
        ASSERT_STR_EQ(next_text(&c, T_MS), want_ev);
    }
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    got_free(&g);
    rec_free(&r);
    return 0;
}
