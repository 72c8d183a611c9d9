/*
 * Tests of tools/mdfeed-fakevenue, driven as a user would: start the binary (fakevenue.h), talk
 * to it with the blocking client built on our own tls/ws code (wsclient.h), and check what a
 * client sees and what the venue logs.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_segs_in */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define T_MS 5000 /* generous wait for anything that should happen */

static void start(struct fv_proc *fv, const char *const *args)
{
    int r = fv_start(fv, args);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "fv_start: %d", r);
}

static void connect_ok(struct wsc *c, int port, const char *path)
{
    int r = wsc_connect(c, port, path, NULL);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "connect %s: %d (%s) status %d", path, r, mdf_errmsg(),
                  c->http_status);
}

/* Receives the next text message into buf or fails. */
static void recv_ok(struct wsc *c, char *buf, size_t cap)
{
    int r = wsc_recv_text(c, T_MS, buf, cap);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "wsc_recv_text: %d", r);
}

/* Sends a request and checks the exact reply text. */
static void request(struct wsc *c, const char *req, const char *want)
{
    char got[4096];

    ASSERT_EQ(wsc_send_text(c, req), 0);
    recv_ok(c, got, sizeof(got));
    ASSERT_STR_EQ(got, want);
}

/* Sends a request that must fail; checks the error code and the echoed id (JSON text). */
static void request_error(struct wsc *c, const char *req, int code, const char *id_json)
{
    char got[4096], *id;
    json_t *r, *jid;

    ASSERT_EQ(wsc_send_text(c, req), 0);
    recv_ok(c, got, sizeof(got));
    r = json_loads(got, 0, NULL);
    ASSERT(r != NULL);
    ASSERT(json_is_integer(json_object_get(r, "code")));
    ASSERT_EQ(json_integer_value(json_object_get(r, "code")), code);
    ASSERT(json_is_string(json_object_get(r, "msg")));
    jid = json_object_get(r, "id");
    ASSERT(jid != NULL);
    id = json_dumps(jid, JSON_ENCODE_ANY);
    ASSERT_STR_EQ(id, id_json);
    free(id);
    json_decref(r);
}

/* ------------------------------------------------------------------------------------------ */

TEST(fakevenue_refuses_non_loopback_address)
{
    const char *bad[] = {"0.0.0.0", "192.168.1.10", "::", "8.8.8.8", "example.com"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {(char *)test_bin("mdfeed-fakevenue"), "--listen", (char *)bad[i], NULL};
        char *out = NULL, *err = NULL;
        int st = test_run_capture(argv, &out, &err);

        ASSERT_EQ(st, 2);
        ASSERT_CONTAINS(err, "loopback");
        ASSERT(strstr(out, "listening") == NULL);
        free(out);
        free(err);
    }
    /* Any 127.0.0.0/8 address is fine. */
    {
        struct fv_proc fv;
        const char *args[] = {"--listen", "127.0.0.2", NULL};

        start(&fv, args);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    return 0;
}

/* The recorded lines of one stream, in order (new array of new strings). */
static char **recorded(const char *stream, size_t *n)
{
    FILE *f = fopen(test_fixture("binance-spot/ws.rec"), "r");
    char line[65536], prefix[128];
    char **v = NULL;

    ASSERT(f != NULL);
    *n = 0;
    snprintf(prefix, sizeof(prefix), "{\"stream\":\"%s\",", stream);
    while (fgets(line, sizeof(line), f)) {
        char *j = strstr(line, ": {\"stream\"");

        if (!j || line[0] < '0' || line[0] > '9')
            continue;
        j += 2;
        j[strcspn(j, "\r\n")] = '\0';
        if (strncmp(j, prefix, strlen(prefix)) != 0)
            continue;
        v = realloc(v, (*n + 1) * sizeof(*v));
        v[(*n)++] = strdup(j);
    }
    fclose(f);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- looped replays: ids and times move forward from the second lap on ---- */

enum { K_NONE, K_ID, K_TIME };

/* What the venue's loop does with an integer member `key` (in_kline: inside a kline's "k"). */
static int field_kind(const char *key, bool in_kline)
{
    static const char *const ids[] = {"t", "a", "f", "l", "U", "u", "pu", "lastUpdateId", "F", "L"};
    static const char *const times[] = {"E", "T", "O", "C"};

    if (in_kline && strcmp(key, "t") == 0)
        return K_TIME;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strcmp(key, ids[i]) == 0)
            return K_ID;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        if (strcmp(key, times[i]) == 0)
            return K_TIME;
    return K_NONE;
}

/* The id and time shifts of one lap, and the lap found so far (-1 = none yet). */
struct lapck {
    int64_t id, ts; /* shifts per lap */
    int64_t k;      /* lap */
    bool bad;       /* the two texts differ otherwise */
};

/* Walks a (recorded) and b (received) together; key is a's member name (NULL in arrays and at
 * the top), in_kline whether a sits directly in a kline's "k" object. */
static void walk_pair(json_t *a, json_t *b, const char *key, bool in_kline, struct lapck *c)
{
    if (json_typeof(a) != json_typeof(b)) {
        c->bad = true;
        return;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *va;

        if (json_object_size(a) != json_object_size(b))
            c->bad = true;
        json_object_foreach(a, k, va)
        {
            json_t *vb = json_object_get(b, k);

            if (!vb)
                c->bad = true;
            else
                walk_pair(va, vb, k, key && strcmp(key, "k") == 0, c);
        }
    } else if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            c->bad = true;
        for (size_t i = 0; i < json_array_size(a) && i < json_array_size(b); i++)
            walk_pair(json_array_get(a, i), json_array_get(b, i), NULL, false, c);
    } else if (json_is_integer(a)) {
        int kind = key ? field_kind(key, in_kline) : K_NONE;
        int64_t d = json_integer_value(b) - json_integer_value(a);
        int64_t unit = kind == K_ID ? c->id : c->ts;

        if (kind == K_NONE || d % unit) {
            c->bad |= d != 0;
        } else if (c->k < 0) {
            c->k = d / unit;
        } else if (c->k != d / unit) {
            c->bad = true;
        }
    } else if (!json_equal(a, b)) {
        c->bad = true;
    }
}

/* The text with every run of digits replaced by one '#' (new). */
static char *no_digits(const char *s)
{
    char *o = malloc(strlen(s) + 1), *w = o;

    for (; *s; s++)
        if (*s < '0' || *s > '9')
            *w++ = *s;
        else if (w == o || w[-1] != '#')
            *w++ = '#';
    *w = '\0';
    return o;
}

/* The lap `got` comes from if it is `orig` (a recorded JSON text) with every id moved by lap x
 * id_shift and every time by lap x t_shift and otherwise byte-identical; -1 if it is not. */
static int64_t lap_of(const char *orig, const char *got, int64_t id_shift, int64_t t_shift)
{
    struct lapck c = {.id = id_shift, .ts = t_shift, .k = -1};
    json_t *a = json_loads(orig, 0, NULL), *b = json_loads(got, 0, NULL);
    char *da = no_digits(orig), *db = no_digits(got);

    if (!a || !b || strcmp(da, db) != 0)
        c.bad = true;
    else
        walk_pair(a, b, NULL, false, &c);
    json_decref(a);
    json_decref(b);
    free(da);
    free(db);
    return c.bad ? -1 : c.k < 0 ? 0 : c.k;
}

/* The lap msg comes from if it is one of the recorded messages v[0..n), else -1. */
static int64_t lap_in_list(char **v, size_t n, const char *msg, int64_t id_shift, int64_t t_shift)
{
    for (size_t i = 0; i < n; i++) {
        int64_t k = lap_of(v[i], msg, id_shift, t_shift);

        if (k >= 0)
            return k;
    }
    return -1;
}

/* Widens [*lo, *hi] over the integer id members of j (at any depth). */
static void id_range(json_t *j, const char *key, bool in_kline, int64_t *lo, int64_t *hi)
{
    if (json_is_object(j)) {
        const char *k;
        json_t *v;

        json_object_foreach(j, k, v) id_range(v, k, key && strcmp(key, "k") == 0, lo, hi);
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            id_range(json_array_get(j, i), NULL, false, lo, hi);
    } else if (json_is_integer(j) && key && field_kind(key, in_kline) == K_ID) {
        if (json_integer_value(j) < *lo)
            *lo = json_integer_value(j);
        if (json_integer_value(j) > *hi)
            *hi = json_integer_value(j);
    }
}

/* The per-lap shifts of a recording, worked out from the file: ids by the span of every id in
 * its messages + 1, times by its duration rounded up to whole minutes. */
static void loop_shifts(const char *path, int64_t *id_shift, int64_t *t_shift)
{
    FILE *f = fopen(path, "r");
    static char line[1 << 20];
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    double t0 = -1, last = 0;
    int64_t dur_ms;

    ASSERT(f != NULL);
    while (fgets(line, sizeof(line), f)) {
        char *sep = strstr(line, " <-> "), *j;
        json_t *m;

        if (sep) {
            if (t0 < 0)
                t0 = strtod(sep + 5, NULL);
            continue;
        }
        j = strstr(line, ": ");
        if (!j || line[0] < '0' || line[0] > '9')
            continue;
        last = strtod(line, NULL);
        if (t0 < 0)
            t0 = last;
        m = json_loads(j + 2, 0, NULL);
        ASSERT(m != NULL);
        id_range(json_object_get(m, "data"), NULL, false, &lo, &hi);
        json_decref(m);
    }
    fclose(f);
    *id_shift = hi - lo + 1;
    dur_ms = (int64_t)((last - t0) * 1000 + 0.999);
    *t_shift = (dur_ms + 59999) / 60000 * 60000;
    if (*t_shift < 60000)
        *t_shift = 60000;
}

TEST(fakevenue_replays_only_subscribed_streams)
{
    struct fv_proc fv;
    const char *args[] = {"--replay", test_fixture("binance-spot/ws.rec"),
                          "--speed",  "max",
                          "--loop",   "--rate-limit",
                          "0",        NULL};
    size_t na, nb;
    char **a = recorded("lrcbtc@depth@100ms", &na), **b = recorded("nknusdt@bookTicker", &nb);
    char msg[65536];
    struct wsc c;
    bool got_b = false;
    int guard;

    int64_t ids, ts;

    ASSERT_EQ(na, 15);
    ASSERT_EQ(nb, 74);
    loop_shifts(test_fixture("binance-spot/ws.rec"), &ids, &ts);
    start(&fv, args);
    connect_ok(&c, fv.port, "/stream?streams=lrcbtc@depth@100ms");
    /* Two laps of exactly the recorded messages of that stream, in order: the first byte for
     * byte, the second with its ids and times moved forward. */
    for (int lap = 0; lap < 2; lap++) {
        for (size_t i = 0; i < na; i++) {
            recv_ok(&c, msg, sizeof(msg));
            if (lap == 0)
                ASSERT_STR_EQ(msg, a[i]);
            else
                ASSERT_EQ(lap_of(a[i], msg, ids, ts), 1);
        }
    }
    /* A live SUBSCRIBE: acknowledged, then the second stream's recorded messages arrive too. */
    ASSERT_EQ(wsc_send_text(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"nknusdt@bookTicker\"],"
                                "\"id\":7}"),
              0);
    for (guard = 0; guard < 100000; guard++) {
        recv_ok(&c, msg, sizeof(msg));
        if (strcmp(msg, "{\"result\":null,\"id\":7}") == 0)
            break;
        ASSERT_GE(lap_in_list(a, na, msg, ids, ts), 1);
    }
    for (guard = 0; guard < 100000 && !got_b; guard++) {
        recv_ok(&c, msg, sizeof(msg));
        if (lap_in_list(b, nb, msg, ids, ts) >= 1)
            got_b = true;
        else
            ASSERT_GE(lap_in_list(a, na, msg, ids, ts), 1);
    }
    ASSERT(got_b);
    /* (A flat-out replay goes at the pace of its slowest subscriber: c stops reading now.) */
    wsc_close(&c);
    /* Raw framing gives the bare payload of the same recorded message. */
    {
        struct wsc r;
        const char *data;

        connect_ok(&r, fv.port, "/ws/nknusdt@bookTicker");
        recv_ok(&r, msg, sizeof(msg));
        ASSERT(strncmp(msg, "{\"u\":", 5) == 0);
        data = NULL;
        for (size_t i = 0; i < nb && !data; i++) {
            char *d = strdup(strstr(b[i], ",\"data\":") + 8);

            d[strlen(d) - 1] = '\0'; /* the wrapper's closing brace */
            if (lap_of(d, msg, ids, ts) >= 1)
                data = b[i];
            free(d);
        }
        ASSERT(data != NULL);
        wsc_close(&r);
    }
    ASSERT_EQ(fv_stop(&fv), 0);
    free_list(a, na);
    free_list(b, nb);
    return 0;
}

TEST(fakevenue_replay_without_loop_sends_each_message_once)
{
    struct fv_proc fv;
    const char *args[] = {"--replay", test_fixture("binance-spot/ws.rec"), "--speed", "max", NULL};
    size_t na;
    char **a = recorded("lrcbtc@depth@100ms", &na);
    char msg[65536];
    struct wsc c;

    start(&fv, args);
    connect_ok(&c, fv.port, "/stream?streams=lrcbtc@depth@100ms");
    for (size_t i = 0; i < na; i++) {
        recv_ok(&c, msg, sizeof(msg));
        ASSERT_STR_EQ(msg, a[i]);
    }
    ASSERT_EQ(fv_wait_line(&fv, "replay done", T_MS, NULL, 0), 0);
    ASSERT_EQ(wsc_recv_text(&c, 300, msg, sizeof(msg)), -ETIMEDOUT);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    free_list(a, na);
    return 0;
}

TEST(fakevenue_answers_subscribe_unsubscribe_list_and_errors)
{
    struct fv_proc fv;
    const char *args[] = {"--max-streams", "3", "--rate-limit", "0", NULL};
    struct wsc c;

    start(&fv, args);
    connect_ok(&c, fv.port, "/ws");
    request(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"a@trade\",\"b@trade\"],\"id\":1}",
            "{\"result\":null,\"id\":1}");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":2}",
            "{\"result\":[\"a@trade\",\"b@trade\"],\"id\":2}");
    request(&c, "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"a@trade\"],\"id\":\"x3\"}",
            "{\"result\":null,\"id\":\"x3\"}");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":4}",
            "{\"result\":[\"b@trade\"],\"id\":4}");
    request(&c, "{\"method\":\"GET_PROPERTY\",\"params\":[\"combined\"],\"id\":5}",
            "{\"result\":false,\"id\":5}");
    request(&c, "{\"method\":\"SET_PROPERTY\",\"params\":[\"combined\",true],\"id\":6}",
            "{\"result\":null,\"id\":6}");
    request(&c, "{\"method\":\"GET_PROPERTY\",\"params\":[\"combined\"],\"id\":7}",
            "{\"result\":true,\"id\":7}");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":null}",
            "{\"result\":[\"b@trade\"],\"id\":null}");
    /* Error codes 0-3. */
    request_error(&c, "{\"method\":\"GET_PROPERTY\",\"params\":[\"colour\"],\"id\":8}", 0, "8");
    request_error(&c, "{\"method\":\"SET_PROPERTY\",\"params\":[\"combined\",1],\"id\":9}", 1, "9");
    request_error(&c, "{\"method\":\"SET_PROPERTY\",\"params\":[5,true],\"id\":10}", 2, "10");
    request_error(&c, "{\"method\":\"DANCE\",\"id\":11}", 2, "11");
    request_error(&c, "{\"params\":[],\"id\":12}", 2, "12");
    request_error(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":[1]}", 2, "null");
    request_error(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[1],\"id\":13}", 2, "13");
    request_error(&c, "{\"method\":\"SUBSCRIBE\",", 3, "null");
    request_error(&c, "not json at all", 3, "null");
    /* The cap: 1 + 3 new > 3, so nothing is subscribed; 1 + 2 fits exactly. */
    request_error(&c,
                  "{\"method\":\"SUBSCRIBE\",\"params\":[\"c@trade\",\"d@trade\",\"e@trade\"],"
                  "\"id\":14}",
                  2, "14");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":15}",
            "{\"result\":[\"b@trade\"],\"id\":15}");
    request(&c,
            "{\"method\":\"SUBSCRIBE\",\"params\":[\"c@trade\",\"b@trade\",\"d@trade\"],"
            "\"id\":16}",
            "{\"result\":null,\"id\":16}");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":17}",
            "{\"result\":[\"b@trade\",\"c@trade\",\"d@trade\"],\"id\":17}");
    request_error(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"e@trade\"],\"id\":18}", 2, "18");
    /* The log shows what the client sent. */
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 recv {\"method\":\"DANCE\"", T_MS, NULL, 0), 0);
    wsc_close(&c);
    /* Paths: an unknown one is refused before the upgrade, too many streams too. */
    ASSERT_EQ(wsc_connect(&c, fv.port, "/nope", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(c.http_status, 404);
    wsc_close(&c);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/stream?streams=a@trade/b@trade/c@trade/d@trade", NULL),
              ERR_WS_HANDSHAKE);
    ASSERT_EQ(c.http_status, 400);
    wsc_close(&c);
    connect_ok(&c, fv.port, "/stream?streams=a@trade/b@depth&timeUnit=MICROSECOND");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}",
            "{\"result\":[\"a@trade\",\"b@depth\"],\"id\":1}");
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_refuse_stream_refuses_every_subscribe_naming_it_and_nothing_else)
{
    struct fv_proc fv;
    const char *args[] = {"--refuse-stream", "bad@trade", "--rate-limit", "0", NULL};
    char line[512];
    struct wsc c;

    start(&fv, args);
    connect_ok(&c, fv.port, "/stream");
    /* The whole message is refused: not even the good name in it is subscribed. */
    request(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"a@trade\",\"bad@trade\"],\"id\":1}",
            "{\"code\":2,\"msg\":\"Invalid request: invalid stream name `bad@trade`\",\"id\":1}");
    ASSERT_EQ(fv_wait_line(&fv, "refused stream", T_MS, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "conn 1 refused stream bad@trade");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":2}", "{\"result\":[],\"id\":2}");
    /* Without it, the same names go through. */
    request(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"a@trade\",\"b@trade\"],\"id\":3}",
            "{\"result\":null,\"id\":3}");
    request_error(&c, "{\"method\":\"SUBSCRIBE\",\"params\":[\"bad@trade\"],\"id\":4}", 2, "4");
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":5}",
            "{\"result\":[\"a@trade\",\"b@trade\"],\"id\":5}");
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_routes_futures_streams_by_path)
{
    struct fv_proc fv;
    const char *args[] = {"--venue", "binance-futures", "--synthetic", "200", NULL};
    struct wsc pub, mkt;
    char msg[4096];

    start(&fv, args);
    /* A /market stream subscribed on /public is acknowledged and stays silent. */
    connect_ok(&pub, fv.port, "/public/ws/btcusdt@aggTrade");
    connect_ok(&mkt, fv.port, "/market/ws/btcusdt@aggTrade");
    recv_ok(&mkt, msg, sizeof(msg));
    ASSERT_CONTAINS(msg, "\"s\":\"BTCUSDT\"");
    ASSERT_EQ(wsc_recv_text(&pub, 500, msg, sizeof(msg)), -ETIMEDOUT);
    request(&pub, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}",
            "{\"result\":[\"btcusdt@aggTrade\"],\"id\":1}");
    /* A book stream delivers on /public. */
    request(&pub, "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@bookTicker\"],\"id\":2}",
            "{\"result\":null,\"id\":2}");
    recv_ok(&pub, msg, sizeof(msg));
    ASSERT_CONTAINS(msg, "\"e\":\"trade\"");
    wsc_close(&pub);
    wsc_close(&mkt);
    ASSERT_EQ(wsc_connect(&pub, fv.port, "/private/ws", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(pub.http_status, 404);
    wsc_close(&pub);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_rate_limit_cuts_a_chatty_client)
{
    struct fv_proc fv;
    const char *args[] = {"--rate-limit", "5", NULL};
    struct wsc calm, chatty;
    const struct wsc_msg *m;
    char line[256];
    int r, replies = 0;

    start(&fv, args);
    connect_ok(&calm, fv.port, "/ws");
    connect_ok(&chatty, fv.port, "/ws");
    for (int i = 0; i < 4; i++)
        request(&calm, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}", "{\"result\":[],\"id\":1}");
    for (int i = 0; i < 12; i++)
        if (wsc_send_text(&chatty, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":2}") < 0)
            break;
    while ((r = wsc_recv(&chatty, T_MS, &m)) == 0)
        replies++;
    ASSERT_EQ(r, ERR_WS_CLOSED);
    ASSERT_EQ(chatty.close_code, 1008);
    ASSERT_LE(replies, 5);
    ASSERT_EQ(fv_wait_line(&fv, "closed rate-limit", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 2 closed rate-limit");
    /* The calm client (4 messages in its window) is still served. */
    request(&calm, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":3}", "{\"result\":[],\"id\":3}");
    ASSERT_EQ(fv_count_lines(&fv, "conn 1 closed"), 0);
    wsc_close(&calm);
    wsc_close(&chatty);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_pings_and_cuts_a_client_that_never_pongs)
{
    struct fv_proc fv;
    const char *args[] = {
        "--ping-interval", "0.2", "--pong-timeout", "0.6", "--rate-limit", "0", NULL};
    struct wsc good, deaf;
    char line[256];
    int r;

    start(&fv, args);
    connect_ok(&good, fv.port, "/ws");
    connect_ok(&deaf, fv.port, "/ws");
    deaf.mute = true; /* reads the pings, never answers */
    for (;;) {
        r = wsc_pump(&deaf, 100);
        wsc_pump(&good, 10);
        if (r < 0 || fv_count_lines(&fv, "conn 2 closed") > 0)
            break;
    }
    ASSERT_EQ(fv_wait_line(&fv, "conn 2 closed", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 2 closed pong-timeout");
    ASSERT_GE(deaf.pings, 2);
    /* The deaf client sees its connection end. */
    r = wsc_pump(&deaf, T_MS);
    ASSERT(r == -EPIPE || r == ERR_WS_CLOSED);
    /* The one that pongs is still up, was pinged, and its pongs were seen. */
    wsc_pump(&good, 300);
    ASSERT_GE(good.pings, 2);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 pong", T_MS, NULL, 0), 0);
    ASSERT_EQ(fv_count_lines(&fv, "conn 1 closed"), 0);
    request(&good, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}", "{\"result\":[],\"id\":1}");
    wsc_close(&good);
    wsc_close(&deaf);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_serves_rest_snapshot_no_earlier_than_recorded_time)
{
    struct fv_proc fv;
    const char *args[] = {"--replay", test_fixture("binance-spot/ws.rec"),
                          "--rest",   test_fixture("binance-spot/http.rec"),
                          "--speed",  "1",
                          NULL};
    struct wsc_http h;
    struct wsc c;
    char msg[65536];
    const char *w;
    json_t *snap;

    start(&fv, args);
    ASSERT_EQ(wsc_http_open(&h, fv.port, T_MS), 0);
    ASSERT_EQ(wsc_http_send_get(&h, "/api/v3/depth?symbol=NKNUSDT&limit=1000"), 0);
    /* No subscription yet: the replay clock has not started, so the snapshot is held. */
    ASSERT_EQ(fv_wait_line(&fv, "held /api/v3/depth?symbol=NKNUSDT", T_MS, NULL, 0), 0);
    ASSERT_EQ(wsc_http_wait(&h, 500), -ETIMEDOUT);
    connect_ok(&c, fv.port, "/stream?streams=nknusdt@depth@100ms");
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT_EQ(h.status, 200);
    ASSERT_CONTAINS(wsc_http_header(&h, "content-type"), "application/json");
    w = wsc_http_header(&h, "x-mbx-used-weight-1m");
    ASSERT(w != NULL);
    ASSERT_EQ(atoi(w), 50); /* limit 1000 weighs 50 */
    snap = json_loads((const char *)h.body, 0, NULL);
    ASSERT(snap != NULL);
    ASSERT_EQ(json_integer_value(json_object_get(snap, "lastUpdateId")), 499869752);
    ASSERT_GT(json_array_size(json_object_get(snap, "bids")), 100);
    json_decref(snap);
    /* The diff recorded before the snapshot was sent before it. */
    recv_ok(&c, msg, sizeof(msg));
    ASSERT_CONTAINS(msg, "\"U\":499869750,\"u\":499869752");
    /* Keep-alive: more requests on the same connection. */
    ASSERT_EQ(wsc_http_send_get(&h, "/api/v3/depth?symbol=NOPEUSDT&limit=5"), 0);
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT_EQ(h.status, 400);
    ASSERT_STR_EQ((const char *)h.body, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
    w = wsc_http_header(&h, "x-mbx-used-weight-1m");
    ASSERT(w && (atoi(w) == 55 || atoi(w) == 5)); /* 5 when a new minute began meanwhile */
    ASSERT_EQ(wsc_http_send_get(&h, "/api/v3/depth?symbol=NKNUSDT&limit=5"), 0);
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT_EQ(h.status, 200);
    snap = json_loads((const char *)h.body, 0, NULL);
    ASSERT_EQ(json_array_size(json_object_get(snap, "bids")), 5);
    ASSERT_EQ(json_array_size(json_object_get(snap, "asks")), 5);
    json_decref(snap);
    /* The HTTP test route: deterministic bytes, chunked on request. */
    ASSERT_EQ(wsc_http_send_get(&h, "/test/body?size=100000&chunked=1&status=203"), 0);
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT_EQ(h.status, 203);
    ASSERT(h.chunked);
    ASSERT_EQ(h.body_len, 100000);
    for (size_t i = 0; i < h.body_len; i++)
        if (h.body[i] != 'a' + i % 26)
            test_fail(__FILE__, __LINE__, "body byte %zu is %c", i, h.body[i]);
    ASSERT_EQ(wsc_http_send_get(&h, "/test/body?size=30"), 0);
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT_EQ(h.status, 200);
    ASSERT(!h.chunked);
    ASSERT_STR_EQ((const char *)h.body, "abcdefghijklmnopqrstuvwxyzabcd");
    wsc_http_close(&h);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_sends_server_shutdown_and_enforces_lifetime)
{
    struct fv_proc fv;
    const char *sd[] = {"--shutdown-after", "0.2", NULL};
    const char *lt[] = {"--lifetime", "0.5", NULL};
    struct wsc raw, comb;
    char msg[1024], line[256];
    json_t *j;

    start(&fv, sd);
    connect_ok(&raw, fv.port, "/ws/btcusdt@trade");
    connect_ok(&comb, fv.port, "/stream?streams=btcusdt@trade");
    recv_ok(&raw, msg, sizeof(msg));
    j = json_loads(msg, 0, NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "e")), "serverShutdown");
    ASSERT(json_is_integer(json_object_get(j, "E")));
    json_decref(j);
    recv_ok(&comb, msg, sizeof(msg));
    j = json_loads(msg, 0, NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "stream")), "!serverShutdown");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "data"), "e")),
                  "serverShutdown");
    json_decref(j);
    /* One client leaves at once; the other is closed by the venue 5 s after the notice. */
    ASSERT_EQ(wsc_send_close(&raw, 1000), 0);
    ASSERT_EQ(wsc_recv_text(&raw, T_MS, msg, sizeof(msg)), ERR_WS_CLOSED);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 closed", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 1 closed peer");
    ASSERT_EQ(wsc_recv_text(&comb, 8000, msg, sizeof(msg)), ERR_WS_CLOSED);
    ASSERT_EQ(fv_wait_line(&fv, "conn 2 closed", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 2 closed shutdown");
    wsc_close(&raw);
    wsc_close(&comb);
    ASSERT_EQ(fv_stop(&fv), 0);

    start(&fv, lt);
    connect_ok(&raw, fv.port, "/ws/btcusdt@trade");
    ASSERT_EQ(wsc_recv_text(&raw, T_MS, msg, sizeof(msg)), ERR_WS_CLOSED);
    ASSERT_EQ(raw.close_code, 1000);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 closed", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 1 closed lifetime");
    wsc_close(&raw);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Starts a TLS venue with certificate `name` (+ extra args). */
static void start_tls(struct fv_proc *fv, const char *dir, const char *name, const char *extra)
{
    char cert[4096], key[4096];
    const char *args[8] = {"--tls-cert", cert, "--tls-key", key, "--rate-limit", "0", extra, NULL};

    snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    start(fv, args);
}

TEST(fakevenue_serves_tls_with_the_given_certificate)
{
    const char *dir = certs_dir();
    char ca[4096], msg[256], line[256];
    struct wsc_opts o = {.ca_file = ca, .host = "localhost"};
    struct fv_proc fv;
    struct wsc c;

    if (!dir)
        test_fail(__FILE__, __LINE__, "certs_dir: %s", mdf_errmsg());
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    start_tls(&fv, dir, "good", NULL);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/ws", &o), 0);
    request(&c, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}", "{\"result\":[],\"id\":1}");
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);

    /* The certificate is the one given: an expired one is refused by the client. */
    start_tls(&fv, dir, "expired", NULL);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/ws", &o), ERR_TLS_VERIFY);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);

    /* TLS 1.1 only: our client (TLS 1.2 minimum) cannot agree with it. */
    start_tls(&fv, dir, "good", "--tls11-only");
    ASSERT_EQ(wsc_connect(&c, fv.port, "/ws", &o), ERR_TLS_PROTO);
    wsc_close(&c);
    ASSERT_EQ(fv_wait_line(&fv, "closed tls-error", T_MS, line, sizeof(line)), 0);
    ASSERT_EQ(fv_stop(&fv), 0);
    (void)msg;
    return 0;
}

/* Receives n synthetic messages and checks each is `size` bytes of valid trade JSON with
 * increasing trade ids. */
static void check_synthetic(struct wsc *c, int n, size_t size, bool combined, const char *stream)
{
    static char msg[1 << 20];
    json_int_t last = -1;

    for (int i = 0; i < n; i++) {
        int len = wsc_recv_text(c, T_MS, msg, sizeof(msg));
        json_t *j, *d;

        ASSERT_GE(len, 0);
        ASSERT_EQ(len, (int64_t)size);
        ASSERT_EQ(strlen(msg), size);
        j = json_loads(msg, 0, NULL);
        ASSERT(j != NULL);
        d = j;
        if (combined) {
            ASSERT_STR_EQ(json_string_value(json_object_get(j, "stream")), stream);
            d = json_object_get(j, "data");
        }
        ASSERT_STR_EQ(json_string_value(json_object_get(d, "e")), "trade");
        ASSERT(json_is_string(json_object_get(d, "p")));
        ASSERT(json_is_string(json_object_get(d, "q")));
        ASSERT(json_is_integer(json_object_get(d, "E")));
        ASSERT_GT(json_integer_value(json_object_get(d, "t")), last);
        last = json_integer_value(json_object_get(d, "t"));
        json_decref(j);
    }
}

TEST(fakevenue_synthetic_messages_have_the_requested_size)
{
    struct fv_proc fv;
    const char *paced[] = {"--synthetic", "500", NULL};
    const char *flat[] = {"--synthetic", "max", "--msg-size", "1000", NULL};
    struct wsc a, b;
    char msg[4096];

    start(&fv, paced);
    connect_ok(&a, fv.port, "/ws/btcusdt@trade");
    connect_ok(&b, fv.port, "/stream?streams=ethusdt@trade/ethusdt@depth");
    check_synthetic(&a, 50, 200, false, NULL);
    check_synthetic(&b, 50, 200, true, "ethusdt@trade");
    recv_ok(&a, msg, sizeof(msg));
    ASSERT_CONTAINS(msg, "\"s\":\"BTCUSDT\"");
    wsc_close(&a);
    wsc_close(&b);
    ASSERT_EQ(fv_stop(&fv), 0);

    start(&fv, flat);
    connect_ok(&a, fv.port, "/stream?streams=solusdt@aggTrade");
    check_synthetic(&a, 3000, 1000, true, "solusdt@aggTrade");
    wsc_close(&a);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- faults ---- */

/* Counts messages until the connection ends; returns the ending code. */
static int drain(struct wsc *c, int *count)
{
    const struct wsc_msg *m;
    int r;

    *count = 0;
    while ((r = wsc_recv(c, T_MS, &m)) == 0)
        (*count)++;
    return r;
}

/* Starts a venue with synthetic trades and the given fault flags, connects a client. */
static void fault_setup(struct fv_proc *fv, struct wsc *c, const char *const *flags)
{
    const char *args[32] = {"--synthetic", "300", "--rate-limit", "0"};
    size_t n = 4;

    while (*flags && n < 31)
        args[n++] = *flags++;
    args[n] = NULL;
    start(fv, args);
    connect_ok(c, fv->port, "/ws/btcusdt@trade");
}

TEST(fakevenue_faults_do_what_they_say)
{
    struct fv_proc fv;
    struct wsc c;
    int n, r;

    /* Close with a chosen code after N messages. */
    {
        const char *f[] = {"--fault-close-after", "3", "--fault-close-code", "4001", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_CLOSED);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(c.close_code, 4001);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 close-received 4001", T_MS, NULL, 0), 0);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* A close code no one may send: the client fails the connection with 1002. */
    {
        const char *f[] = {"--fault-close-after", "2", "--fault-close-code", "999", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_PROTO);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 close-received 1002", T_MS, NULL, 0), 0);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* RST after N. */
    {
        const char *f[] = {"--fault-rst-after", "3", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), -ECONNRESET);
        ASSERT_LE(n, 3);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 closed fault-rst", T_MS, NULL, 0), 0);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Half a frame, then RST / FIN. */
    {
        const char *f[] = {"--fault-rst-midframe", "2", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), -ECONNRESET);
        ASSERT_LE(n, 2);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    {
        const char *f[] = {"--fault-fin-midframe", "2", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), -EPIPE);
        ASSERT_EQ(n, 2);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Garbage: the client fails the connection with 1002. */
    {
        const char *f[] = {"--fault-garbage-after", "2", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_PROTO);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(ws_close_code_sent(&c.ws), 1002);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 close-received 1002", T_MS, NULL, 0), 0);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Invalid UTF-8: 1007. */
    {
        const char *f[] = {"--fault-bad-utf8-after", "2", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_PROTO);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(ws_close_code_sent(&c.ws), 1007);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 close-received 1007", T_MS, NULL, 0), 0);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Oversized message (the size as a second argument): 1009. */
    {
        const char *f[] = {"--fault-oversize-after", "1", "2000000", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_PROTO);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(ws_close_code_sent(&c.ws), 1009);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Fragments of 16 bytes with a ping after the first: whole messages still arrive, and the
     * raw bytes show the frames. */
    {
        const char *f[] = {"--fault-fragment", "16", "--fault-ping-in-fragments", NULL};
        struct wsc_opts raw = {.raw = true};
        uint8_t buf[64];
        size_t have = 0;

        fault_setup(&fv, &c, f);
        check_synthetic(&c, 5, 200, false, NULL);
        ASSERT_GE(c.pings, 5);
        wsc_close(&c);
        ASSERT_EQ(wsc_connect(&c, fv.port, "/ws/btcusdt@trade", &raw), 0);
        while (have < 2 + 16 + 2 + 16 + 2) {
            r = wsc_recv_raw(&c, T_MS, buf + have, sizeof(buf) - have);
            ASSERT_GT(r, 0);
            have += (size_t)r;
        }
        ASSERT_EQ(buf[0], 0x01);  /* text, FIN clear */
        ASSERT_EQ(buf[1], 16);    /* 16 payload bytes, unmasked */
        ASSERT_EQ(buf[18], 0x89); /* ping, FIN */
        ASSERT_EQ(buf[19], 16);   /* "fv-fragment-ping" */
        ASSERT_EQ(buf[36], 0x00); /* continuation, FIN clear */
        ASSERT_EQ(buf[37], 16);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Drip: one byte per write; the messages are intact and came in many TCP segments (not one
     * per byte: Linux corks small writes while the previous one still sits unread in the
     * receiver's queue; without the fault these 10 messages take about a dozen). */
    {
        const char *f[] = {"--fault-drip", NULL};
        struct tcp_info ti;
        socklen_t tl = sizeof(ti);

        fault_setup(&fv, &c, f);
        check_synthetic(&c, 10, 200, false, NULL);
        ASSERT_EQ(getsockopt(c.fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
        ASSERT_GE((uint64_t)ti.tcpi_segs_in, c.bytes_in / 32);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Stall: nothing more, not even pings, and the socket stays open. */
    {
        const char *f[] = {"--fault-stall-after", "3", "--ping-interval", "0.1", NULL};
        const struct wsc_msg *m;
        unsigned pings;

        fault_setup(&fv, &c, f);
        check_synthetic(&c, 3, 200, false, NULL);
        ASSERT_EQ(fv_wait_line(&fv, "conn 1 stalled", T_MS, NULL, 0), 0);
        pings = c.pings;
        ASSERT_EQ(wsc_recv(&c, 800, &m), -ETIMEDOUT);
        ASSERT_EQ(c.pings, pings);
        ASSERT(!c.eof && !c.error);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* No answer to the upgrade. */
    {
        const char *args[] = {"--fault-no-upgrade", NULL};
        struct wsc_opts o = {.timeout_ms = 500};

        start(&fv, args);
        ASSERT_EQ(wsc_connect(&c, fv.port, "/ws", &o), -ETIMEDOUT);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* --fault-conns: the second connection is healthy. */
    {
        const char *f[] = {"--fault-conns", "1", "--fault-close-after", "1", NULL};

        fault_setup(&fv, &c, f);
        ASSERT_EQ(drain(&c, &n), ERR_WS_CLOSED);
        ASSERT_EQ(n, 1);
        wsc_close(&c);
        connect_ok(&c, fv.port, "/ws/btcusdt@trade");
        check_synthetic(&c, 5, 200, false, NULL);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    return 0;
}

TEST(fakevenue_gap_fault_drops_one_depth_diff)
{
    struct fv_proc fv;
    const char *args[] = {"--replay",
                          test_fixture("binance-spot/ws.rec"),
                          "--speed",
                          "max",
                          "--fault-gap-after",
                          "10",
                          NULL};
    struct wsc c;
    char msg[65536];
    long prev_u = -1;
    int gaps = 0, count = 0, r;

    start(&fv, args);
    connect_ok(&c, fv.port, "/ws/nknusdt@depth@100ms");
    while ((r = wsc_recv_text(&c, 1000, msg, sizeof(msg))) >= 0) {
        const char *U = strstr(msg, "\"U\":"), *u = strstr(msg, "\"u\":");

        ASSERT(U && u);
        if (prev_u >= 0 && atol(U + 4) != prev_u + 1)
            gaps++;
        prev_u = atol(u + 4);
        count++;
    }
    ASSERT_EQ(r, -ETIMEDOUT);
    ASSERT_EQ(count, 149);
    ASSERT_EQ(gaps, 1);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- looped replays, futures fixture ---- */

/* The recorded lines (combined form) of fixture `file` whose stream is in the '/'-separated
 * list `streams` (NULL: every stream), in order (new array of new strings). */
static char **recorded_set(const char *file, const char *streams, size_t *n)
{
    FILE *f = fopen(test_fixture(file), "r");
    static char line[1 << 20];
    char **v = NULL;

    ASSERT(f != NULL);
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *j = strstr(line, ": {\"stream\":\""), *name, *end;
        bool want = streams == NULL;

        if (!j || line[0] < '0' || line[0] > '9')
            continue;
        j += 2;
        j[strcspn(j, "\r\n")] = '\0';
        name = j + 11;
        end = strchr(name, '"');
        for (const char *p = streams; p && *p && !want;) {
            size_t len = strcspn(p, "/");

            want = len == (size_t)(end - name) && strncmp(p, name, len) == 0;
            p += len + (p[len] == '/');
        }
        if (!want)
            continue;
        v = realloc(v, (*n + 1) * sizeof(*v));
        v[(*n)++] = strdup(j);
    }
    fclose(f);
    return v;
}

/* The body of the recorded REST snapshot of sym in fixture `file` (new). */
static char *recorded_snapshot(const char *file, const char *sym)
{
    FILE *f = fopen(test_fixture(file), "r");
    static char line[1 << 20];
    char want[64], *body = NULL;

    ASSERT(f != NULL);
    snprintf(want, sizeof(want), "symbol=%s&", sym);
    while (!body && fgets(line, sizeof(line), f)) {
        char *j = strstr(line, " -> ");

        if (strstr(line, want) && j && (j = strstr(j, ": "))) {
            j[2 + strcspn(j + 2, "\r\n")] = '\0';
            body = strdup(j + 2);
        }
    }
    fclose(f);
    ASSERT(body != NULL);
    return body;
}

TEST(fakevenue_loop_shifts_ids_and_times_from_the_second_lap)
{
    static const char streams[] =
        "nknusdt@depth@100ms/nknusdt@bookTicker/nknusdt@kline_1m/nknusdt@aggTrade";
    struct fv_proc fv;
    const char *args[] = {"--replay", test_fixture("binance-spot/ws.rec"),
                          "--rest",   test_fixture("binance-spot/http.rec"),
                          "--speed",  "max",
                          "--loop",   NULL};
    static char msg[1 << 16], path[512];
    size_t n;
    char **rec = recorded_set("binance-spot/ws.rec", streams, &n);
    char *snap0 = recorded_snapshot("binance-spot/http.rec", "NKNUSDT");
    int64_t ids, ts, L0, L, k, last_u = -1;
    struct wsc_http h;
    struct wsc c;
    json_t *a, *b;

    ASSERT_GT(n, 200);
    loop_shifts(test_fixture("binance-spot/ws.rec"), &ids, &ts);
    ASSERT_GT(ids, 400000000); /* NKNUSDT's update ids and RUNEEUR's are far apart */
    ASSERT_EQ(ts, 60000);      /* 31 s of traffic: one minute */
    start(&fv, args);
    snprintf(path, sizeof(path), "/stream?streams=%s", streams);
    connect_ok(&c, fv.port, path);
    /* Lap 0 is the recording byte for byte; laps 1 and 2 move every id and time, nothing else. */
    for (size_t i = 0; i < n; i++) {
        recv_ok(&c, msg, sizeof(msg));
        ASSERT_STR_EQ(msg, rec[i]);
    }
    for (int lap = 1; lap <= 2; lap++) {
        for (size_t i = 0; i < n; i++) {
            recv_ok(&c, msg, sizeof(msg));
            if (lap_of(rec[i], msg, ids, ts) != lap)
                test_fail(__FILE__, __LINE__, "lap %d message %zu:\n%s\nrecorded:\n%s", lap, i, msg,
                          rec[i]);
        }
    }
    ASSERT_EQ(fv_wait_line(&fv, "replay lap 2", T_MS, NULL, 0), 0);
    /* The snapshot served now belongs to the lap being sent: same levels, lastUpdateId moved
     * by that lap's shift. */
    ASSERT_EQ(wsc_http_get(&h, fv.port, "/api/v3/depth?symbol=NKNUSDT&limit=1000", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    ASSERT_GE(lap_of(snap0, (const char *)h.body, ids, ts), 1);
    a = json_loads(snap0, 0, NULL);
    b = json_loads((const char *)h.body, 0, NULL);
    L0 = json_integer_value(json_object_get(a, "lastUpdateId"));
    L = json_integer_value(json_object_get(b, "lastUpdateId"));
    ASSERT(json_equal(json_object_get(a, "bids"), json_object_get(b, "bids")));
    json_decref(a);
    json_decref(b);
    wsc_http_close(&h);
    k = (L - L0) / ids;
    ASSERT_GE(k, 1);
    ASSERT_EQ(L - L0, k * ids);
    /* And it syncs with that lap's diffs: in lap k the diff ending at L is followed by the one
     * starting at L + 1, as in the recording (499869752, then 499869753). */
    for (int guard = 0; guard < 10000000; guard++) {
        json_t *m, *d;
        int64_t U, u;

        recv_ok(&c, msg, sizeof(msg));
        if (!strstr(msg, "@depth@100ms"))
            continue;
        m = json_loads(msg, 0, NULL);
        d = json_object_get(m, "data");
        U = json_integer_value(json_object_get(d, "U"));
        u = json_integer_value(json_object_get(d, "u"));
        json_decref(m);
        if (last_u == L) {
            ASSERT_EQ(U, L + 1);
            break;
        }
        ASSERT(U <= L); /* nothing past the snapshot before its bridge */
        last_u = u;
    }
    ASSERT_EQ(last_u, L);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    free(snap0);
    free_list(rec, n);
    return 0;
}

/* True when the combined message's stream is book data, which futures serve on /public. */
static bool public_stream(const char *combined)
{
    char name[128];

    ASSERT(strncmp(combined, "{\"stream\":\"", 11) == 0);
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(combined + 11, "\""), combined + 11);
    return strstr(name, "@depth") || strstr(name, "@bookTicker");
}

TEST(fakevenue_futures_fixture_chains_and_routes)
{
    static const char pub_types[][16] = {"@depth@100ms", "@depth10", "@bookTicker"};
    static const char mkt_types[][16] = {"@aggTrade", "@kline_1m",   "@markPrice", "@markPrice@1s",
                                         "@ticker",   "@miniTicker", "@forceOrder"};
    static const char syms[][16] = {"BTCUSDT", "ETHUSDT", "SUSHIUSDT"};
    static char all[4096], path[4200], msg[1 << 16];
    size_t n, npub = 0, nmkt = 0;
    char **rec = recorded_set("binance-futures/ws.rec", NULL, &n);
    struct fv_proc fv;
    struct wsc pub, mkt;
    int closed = 0;

    ASSERT_GE(n, 250);
    /* The fixture itself: per symbol a pu chain without a break, bridged by its snapshot. */
    for (size_t si = 0; si < 3; si++) {
        char *snap = recorded_snapshot("binance-futures/http.rec", syms[si]);
        json_t *sj = json_loads(snap, 0, NULL);
        int64_t L = json_integer_value(json_object_get(sj, "lastUpdateId")), prev = -1;
        int covered = 0, bridged = 0, diffs = 0;

        ASSERT(json_is_integer(json_object_get(sj, "E")) &&
               json_is_integer(json_object_get(sj, "T")));
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_loads(rec[i], 0, NULL), *d = json_object_get(m, "data");
            const char *st = json_string_value(json_object_get(m, "stream"));

            if (strstr(st, "@depth@100ms") &&
                strcmp(json_string_value(json_object_get(d, "s")), syms[si]) == 0) {
                int64_t U = json_integer_value(json_object_get(d, "U"));
                int64_t u = json_integer_value(json_object_get(d, "u"));
                int64_t pu = json_integer_value(json_object_get(d, "pu"));

                if (prev >= 0)
                    ASSERT_EQ(pu, prev);
                ASSERT(json_is_integer(json_object_get(d, "E")) &&
                       json_is_integer(json_object_get(d, "T")));
                prev = u;
                diffs++;
                if (u < L)
                    covered++;
                else if (!bridged++)
                    ASSERT(U <= L && L <= u);
            }
            if (si == 0 && strstr(st, "@kline_1m") &&
                json_is_true(json_object_get(json_object_get(d, "k"), "x")))
                closed++;
            json_decref(m);
        }
        ASSERT_GE(covered, 1);
        ASSERT_GE(bridged, 10);
        ASSERT_GE(diffs, 20);
        json_decref(sj);
        free(snap);
    }
    ASSERT_EQ(closed, 3);
    /* Both connections ask for every stream; each path delivers only its own, in recorded
     * order, byte for byte. */
    all[0] = '\0';
    for (size_t si = 0; si < 3; si++) {
        char low[16];

        for (size_t i = 0; i <= strlen(syms[si]); i++)
            low[i] =
                (char)(syms[si][i] >= 'A' && syms[si][i] <= 'Z' ? syms[si][i] + 32 : syms[si][i]);
        for (size_t t = 0; t < 3; t++)
            snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s%s", all[0] ? "/" : "", low,
                     pub_types[t]);
        for (size_t t = 0; t < 7; t++)
            snprintf(all + strlen(all), sizeof(all) - strlen(all), "/%s%s", low, mkt_types[t]);
    }
    for (size_t i = 0; i < n; i++) {
        if (public_stream(rec[i]))
            npub++;
        else
            nmkt++;
    }
    ASSERT_GE(npub, 100);
    ASSERT_GE(nmkt, 100);
    /* One run per path (a flat-out replay starts with the first subscription). */
    for (int pass = 0; pass < 2; pass++) {
        const char *args[] = {"--venue",  "binance-futures",
                              "--replay", test_fixture("binance-futures/ws.rec"),
                              "--speed",  "max",
                              NULL};
        struct wsc *c = pass == 0 ? &pub : &mkt;
        size_t got = 0;

        start(&fv, args);
        snprintf(path, sizeof(path), "%s/stream?streams=%s", pass == 0 ? "/public" : "/market",
                 all);
        connect_ok(c, fv.port, path);
        ASSERT_EQ(fv_wait_line(&fv, "replay done", T_MS, NULL, 0), 0);
        for (size_t i = 0; i < n; i++) {
            if (public_stream(rec[i]) != (pass == 0))
                continue;
            recv_ok(c, msg, sizeof(msg));
            ASSERT_STR_EQ(msg, rec[i]);
            got++;
        }
        ASSERT_EQ(got, pass == 0 ? npub : nmkt);
        ASSERT_EQ(wsc_recv_text(c, 300, msg, sizeof(msg)), -ETIMEDOUT);
        wsc_close(c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    free_list(rec, n);
    return 0;
}

TEST(fakevenue_loop_shifts_futures_snapshot_times_and_ids)
{
    struct fv_proc fv;
    const char *args[] = {"--venue",  "binance-futures",
                          "--replay", test_fixture("binance-futures/ws.rec"),
                          "--rest",   test_fixture("binance-futures/http.rec"),
                          "--speed",  "max",
                          "--loop",   NULL};
    static char msg[1 << 16];
    size_t n;
    char **rec = recorded_set("binance-futures/ws.rec", "btcusdt@depth@100ms", &n);
    char *snap0 = recorded_snapshot("binance-futures/http.rec", "BTCUSDT");
    int64_t ids, ts, k, prev_u = -1;
    struct wsc_http h;
    struct wsc c;
    json_t *a, *b;

    loop_shifts(test_fixture("binance-futures/ws.rec"), &ids, &ts);
    ASSERT_EQ(ts, 60000);
    start(&fv, args);
    connect_ok(&c, fv.port, "/public/stream?streams=btcusdt@depth@100ms");
    /* Across the lap boundary the pu chain breaks (the ids jump), and every field that moves
     * moves by exactly one lap. */
    for (int lap = 0; lap <= 1; lap++) {
        for (size_t i = 0; i < n; i++) {
            json_t *m, *d;

            recv_ok(&c, msg, sizeof(msg));
            ASSERT_EQ(lap_of(rec[i], msg, ids, ts), lap);
            m = json_loads(msg, 0, NULL);
            d = json_object_get(m, "data");
            if (prev_u >= 0 && i > 0)
                ASSERT_EQ(json_integer_value(json_object_get(d, "pu")), prev_u);
            prev_u = json_integer_value(json_object_get(d, "u"));
            json_decref(m);
        }
    }
    /* The futures snapshot's lastUpdateId, E and T move with the lap it is served in. */
    ASSERT_EQ(wsc_http_get(&h, fv.port, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    k = lap_of(snap0, (const char *)h.body, ids, ts);
    ASSERT_GE(k, 1);
    a = json_loads(snap0, 0, NULL);
    b = json_loads((const char *)h.body, 0, NULL);
    ASSERT_EQ(json_integer_value(json_object_get(b, "lastUpdateId")),
              json_integer_value(json_object_get(a, "lastUpdateId")) + k * ids);
    ASSERT_EQ(json_integer_value(json_object_get(b, "E")),
              json_integer_value(json_object_get(a, "E")) + k * ts);
    ASSERT_EQ(json_integer_value(json_object_get(b, "T")),
              json_integer_value(json_object_get(a, "T")) + k * ts);
    json_decref(a);
    json_decref(b);
    wsc_http_close(&h);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    free(snap0);
    free_list(rec, n);
    return 0;
}

/* ---- the synthetic market ---- */

/* Wall-clock Unix time in ms. */
static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Receives the next message as JSON (new). */
static json_t *recv_json(struct wsc *c)
{
    static char buf[1 << 18];
    json_t *j;

    recv_ok(c, buf, sizeof(buf));
    j = json_loads(buf, 0, NULL);
    if (!j)
        test_fail(__FILE__, __LINE__, "not JSON: %s", buf);
    return j;
}

/* The stream name of a combined message (borrowed) and its payload (borrowed). */
static const char *stream_of(json_t *m)
{
    return json_string_value(json_object_get(m, "stream"));
}

static json_t *data_of(json_t *m)
{
    return json_object_get(m, "data");
}

/* Reads n messages from b, starting at its first message containing `anchor` (unique on the
 * venue, e.g. a trade id), then checks that a, subscribed earlier to the same streams, sends
 * exactly the same bytes from that message on. */
static void same_sequence(struct wsc *a, struct wsc *b, const char *anchor, int n)
{
    static char buf[1 << 18];
    char **got = calloc((size_t)n, sizeof(*got));
    int guard;

    do
        recv_ok(b, buf, sizeof(buf));
    while (!strstr(buf, anchor));
    got[0] = strdup(buf);
    for (int i = 1; i < n; i++) {
        recv_ok(b, buf, sizeof(buf));
        got[i] = strdup(buf);
    }
    for (guard = 0; guard < 1000000; guard++) {
        recv_ok(a, buf, sizeof(buf));
        if (strcmp(buf, got[0]) == 0)
            break;
    }
    ASSERT_LT(guard, 1000000);
    for (int i = 1; i < n; i++) {
        recv_ok(a, buf, sizeof(buf));
        ASSERT_STR_EQ(buf, got[i]);
    }
    for (int i = 0; i < n; i++)
        free(got[i]);
    free(got);
}

TEST(fakevenue_market_sends_identical_messages_to_every_subscriber)
{
    static const char spot_path[] =
        "/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth@100ms/"
        "btcusdt@depth5@100ms/btcusdt@kline_1s/btcusdt@ticker/ethusdt@aggTrade/ethusdt@depth";
    static const char pub_path[] =
        "/public/stream?streams=btcusdt@bookTicker/btcusdt@depth@100ms/btcusdt@depth5@100ms";
    static const char mkt_path[] = "/market/stream?streams=btcusdt@aggTrade/btcusdt@kline_1m/"
                                   "btcusdt@markPrice@1s/btcusdt@ticker/ethusdt@aggTrade";
    struct fv_proc fv;
    struct wsc a, b;

    /* Spot: one connection, then a second one on the same streams. */
    {
        const char *args[] = {
            "--market", "BTCUSDT,ETHUSDT", "--market-rate", "200", "--rate-limit", "0", NULL};
        int64_t last_a = -1, last_t = -1;

        start(&fv, args);
        connect_ok(&a, fv.port, spot_path);
        ASSERT_EQ(fv_wait_line(&fv, "market stream btcusdt@aggTrade", T_MS, NULL, 0), 0);
        ASSERT_EQ(fv_wait_line(&fv, "market stream ethusdt@depth", T_MS, NULL, 0), 0);
        connect_ok(&b, fv.port, spot_path);
        same_sequence(&a, &b, "\"e\":\"aggTrade\"", 400);
        /* Ids keep growing on both (the venue's, not the connection's). */
        for (int i = 0; i < 200; i++) {
            json_t *m = recv_json(&b), *d = data_of(m);

            if (strcmp(stream_of(m), "btcusdt@aggTrade") == 0) {
                ASSERT_GT(json_integer_value(json_object_get(d, "a")), last_a);
                if (last_a >= 0)
                    ASSERT_EQ(json_integer_value(json_object_get(d, "a")), last_a + 1);
                last_a = json_integer_value(json_object_get(d, "a"));
            } else if (strcmp(stream_of(m), "btcusdt@trade") == 0) {
                ASSERT_GT(json_integer_value(json_object_get(d, "t")), last_t);
                last_t = json_integer_value(json_object_get(d, "t"));
            }
            json_decref(m);
        }
        ASSERT_GE(last_a, 0);
        ASSERT_EQ(fv_count_lines(&fv, "market stream btcusdt@aggTrade"), 0); /* logged once */
        wsc_close(&a);
        wsc_close(&b);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Futures: the same on both routed paths. */
    {
        const char *args[] = {"--venue",
                              "binance-futures",
                              "--market",
                              "BTCUSDT,ETHUSDT",
                              "--market-rate",
                              "200",
                              "--rate-limit",
                              "0",
                              NULL};
        struct wsc a2, b2;

        start(&fv, args);
        connect_ok(&a, fv.port, pub_path);
        connect_ok(&a2, fv.port, mkt_path);
        ASSERT_EQ(fv_wait_line(&fv, "market stream ethusdt@aggTrade", T_MS, NULL, 0), 0);
        connect_ok(&b, fv.port, pub_path);
        connect_ok(&b2, fv.port, mkt_path);
        same_sequence(&a, &b, "\"e\":\"bookTicker\"", 200);
        same_sequence(&a2, &b2, "\"e\":\"aggTrade\"", 200);
        wsc_close(&a);
        wsc_close(&b);
        wsc_close(&a2);
        wsc_close(&b2);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    return 0;
}

/* The member names of object o joined by spaces, in order (static buffer). */
static const char *keys_of(json_t *o)
{
    static char buf[512];
    const char *k;
    json_t *v;

    buf[0] = '\0';
    json_object_foreach(o, k, v)
    {
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "", k);
    }
    return buf;
}

/* True for a decimal string as the venue prints them ("-0.0123", "297"). */
static bool decimal(json_t *v)
{
    const char *s = json_string_value(v);
    size_t i = 0, digits = 0;

    if (!s)
        return false;
    if (s[i] == '-')
        i++;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (s[i] == '.')
        for (i++; s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    return digits && !s[i];
}

/* Checks every value of a stream payload: names (e, s, i, S, o, f, X) are strings, decimals
 * are decimal strings, levels are [["p","q"],...], the rest integers, booleans or objects. */
static void check_values(json_t *o)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        if (strchr("esiSfXo", k[0]) && !k[1] && json_is_string(v))
            continue;
        if (json_is_object(v)) {
            check_values(v);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *lv;

            json_array_foreach(v, i, lv)
            {
                ASSERT_EQ(json_array_size(lv), 2);
                ASSERT(decimal(json_array_get(lv, 0)) && decimal(json_array_get(lv, 1)));
            }
        } else if (json_is_string(v)) {
            if (!decimal(v))
                test_fail(__FILE__, __LINE__, "%s: \"%s\" is not a decimal", k,
                          json_string_value(v));
        } else {
            ASSERT(json_is_integer(v) || json_is_boolean(v));
        }
    }
}

/* Subscribes to every stream of `shapes` (name, then its members) on path and checks one
 * message of each. */
static void check_shapes(struct fv_proc *fv, const char *prefix, const char *const (*shapes)[2],
                         size_t n)
{
    static char path[2048];
    bool *seen = calloc(n, sizeof(*seen));
    size_t left = n;
    struct wsc c;

    snprintf(path, sizeof(path), "%s/stream?streams=", prefix);
    for (size_t i = 0; i < n; i++)
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%s", i ? "/" : "",
                 shapes[i][0]);
    connect_ok(&c, fv->port, path);
    while (left) {
        json_t *m = recv_json(&c), *d = data_of(m);

        for (size_t i = 0; i < n; i++) {
            if (seen[i] || strcmp(stream_of(m), shapes[i][0]) != 0)
                continue;
            if (strcmp(keys_of(d), shapes[i][1]) != 0)
                test_fail(__FILE__, __LINE__, "%s: members \"%s\", expected \"%s\"", shapes[i][0],
                          keys_of(d), shapes[i][1]);
            if (json_object_get(d, "k"))
                ASSERT_STR_EQ(keys_of(json_object_get(d, "k")),
                              "t T s i f L o c h l v n x q V Q B");
            if (json_object_get(d, "o") && json_is_object(json_object_get(d, "o")))
                ASSERT_STR_EQ(keys_of(json_object_get(d, "o")), "s S o f q p ap X l z T");
            check_values(d);
            seen[i] = true;
            left--;
        }
        json_decref(m);
    }
    wsc_close(&c);
    free(seen);
}

TEST(fakevenue_market_streams_have_the_venue_shapes)
{
    static const char *const spot[][2] = {
        {"btcusdt@trade", "e E s t p q T m M"},
        {"btcusdt@aggTrade", "e E s a p q f l T m M"},
        {"btcusdt@bookTicker", "u s b B a A"},
        {"btcusdt@depth@100ms", "e E s U u b a"},
        {"btcusdt@depth10@100ms", "lastUpdateId bids asks"},
        {"btcusdt@kline_1s", "e E s k"},
        {"btcusdt@ticker", "e E s p P w x c Q b B a A o h l v q O C F L n"},
        {"btcusdt@miniTicker", "e E s c o h l v q"},
    };
    static const char *const pub[][2] = {
        {"btcusdt@bookTicker", "e u s b B a A T E"},
        {"btcusdt@depth@100ms", "e E T s U u pu b a"},
        {"btcusdt@depth10", "e E T s U u pu b a"},
    };
    static const char *const mkt[][2] = {
        {"btcusdt@aggTrade", "e E a s p q f l T m"},
        {"btcusdt@kline_1m", "e E s k"},
        {"btcusdt@ticker", "e E s p P w c Q o h l v q O C F L n"},
        {"btcusdt@miniTicker", "e E s c o h l v q"},
        {"btcusdt@markPrice@1s", "e E s p i P r T"},
        {"btcusdt@markPrice", "e E s p i P r T"},
        {"btcusdt@forceOrder", "e E o"},
    };
    struct fv_proc fv;
    struct wsc c;
    const char *sargs[] = {"--market", "BTCUSDT", "--market-rate", "100", NULL};
    const char *fargs[] = {
        "--venue", "binance-futures", "--market", "BTCUSDT", "--market-rate", "100", NULL};

    start(&fv, sargs);
    check_shapes(&fv, "", spot, sizeof(spot) / sizeof(spot[0]));
    /* Streams the spot venue does not have stay silent. */
    connect_ok(&c, fv.port, "/stream?streams=btcusdt@markPrice/btcusdt@forceOrder");
    ASSERT_EQ(wsc_recv_text(&c, 1500, (char[64]){0}, 64), -ETIMEDOUT);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    start(&fv, fargs);
    check_shapes(&fv, "/public", pub, sizeof(pub) / sizeof(pub[0]));
    check_shapes(&fv, "/market", mkt, sizeof(mkt) / sizeof(mkt[0]));
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* A local book for the tests: price strings to quantity strings. */
struct tlevel {
    double p;     /* price, for ordering */
    char px[32];  /* price as sent */
    char qty[32]; /* quantity as sent */
};

struct tbook {
    struct tlevel b[4096], a[4096]; /* bids, asks (unordered) */
    int nb, na;                     /* counts */
};

/* Sets (or removes, for a zero quantity) the levels of arr [[p,q],...] on one side. */
static void tbook_apply(struct tlevel *v, int *n, json_t *arr)
{
    size_t i;
    json_t *lv;

    json_array_foreach(arr, i, lv)
    {
        const char *px = json_string_value(json_array_get(lv, 0));
        const char *q = json_string_value(json_array_get(lv, 1));
        int k;

        for (k = 0; k < *n && strcmp(v[k].px, px) != 0; k++)
            ;
        if (strtod(q, NULL) == 0) {
            if (k < *n)
                v[k] = v[--*n];
            continue;
        }
        if (k == *n) {
            ASSERT_LT(*n, 4096);
            (*n)++;
            snprintf(v[k].px, sizeof(v[k].px), "%s", px);
            v[k].p = strtod(px, NULL);
        }
        snprintf(v[k].qty, sizeof(v[k].qty), "%s", q);
    }
}

static int by_price_desc(const void *a, const void *b)
{
    double x = ((const struct tlevel *)a)->p, y = ((const struct tlevel *)b)->p;

    return x < y ? 1 : x > y ? -1 : 0;
}

static int by_price_asc(const void *a, const void *b)
{
    return -by_price_desc(a, b);
}

/* Checks that the top of one side equals want [[p,q],...] (as many levels as want has). */
static void tbook_check_top(struct tlevel *v, int n, bool bids, json_t *want)
{
    static struct tlevel s[4096];

    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), bids ? by_price_desc : by_price_asc);
    ASSERT_LE(json_array_size(want), (size_t)n);
    for (size_t i = 0; i < json_array_size(want); i++) {
        json_t *lv = json_array_get(want, i);

        ASSERT_STR_EQ(s[i].px, json_string_value(json_array_get(lv, 0)));
        ASSERT_STR_EQ(s[i].qty, json_string_value(json_array_get(lv, 1)));
    }
}

/* Syncs a book from the market's REST snapshot and diffs by the venue's rules (spot U/u,
 * futures pu), then follows it over a few hundred update ids, checking every partial book that
 * carries the book's update id against it. */
static void market_chain(bool spot)
{
    const char *args[] = {"--venue",
                          spot ? "binance-spot" : "binance-futures",
                          "--market",
                          "BTCUSDT,ETHUSDT",
                          "--market-rate",
                          "1000",
                          "--rate-limit",
                          "0",
                          NULL};
    static struct tbook bk;
    struct fv_proc fv;
    struct wsc c;
    struct wsc_http h;
    json_t *first = NULL, *snap;
    int64_t L, prev_u = -1;
    int applied = 0, dropped = 0, matches = 0;
    bool synced = false;

    start(&fv, args);
    connect_ok(&c, fv.port,
               spot ? "/stream?streams=btcusdt@depth@100ms/btcusdt@depth20@100ms"
                    : "/public/stream?streams=btcusdt@depth@100ms/btcusdt@depth20@100ms");
    /* Buffer from the first diff on, then ask for the snapshot. */
    while (!first) {
        json_t *m = recv_json(&c);

        if (strcmp(stream_of(m), "btcusdt@depth@100ms") == 0)
            first = m;
        else
            json_decref(m);
    }
    ASSERT_EQ(wsc_http_get(&h, fv.port,
                           spot ? "/api/v3/depth?symbol=BTCUSDT&limit=1000"
                                : "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
                           T_MS),
              0);
    ASSERT_EQ(h.status, 200);
    snap = json_loads((const char *)h.body, 0, NULL);
    ASSERT(snap != NULL);
    ASSERT_EQ(json_is_integer(json_object_get(snap, "E")), !spot);
    ASSERT_EQ(json_array_size(json_object_get(snap, "bids")), 200);
    ASSERT_EQ(json_array_size(json_object_get(snap, "asks")), 200);
    L = json_integer_value(json_object_get(snap, "lastUpdateId"));
    bk.nb = bk.na = 0;
    tbook_apply(bk.b, &bk.nb, json_object_get(snap, "bids"));
    tbook_apply(bk.a, &bk.na, json_object_get(snap, "asks"));
    json_decref(snap);
    wsc_http_close(&h);
    while (applied < 30 || prev_u - L < 500 || matches < 5) {
        json_t *m = first ? first : recv_json(&c), *d = data_of(m);

        first = NULL;
        if (strcmp(stream_of(m), "btcusdt@depth@100ms") == 0) {
            int64_t U = json_integer_value(json_object_get(d, "U"));
            int64_t u = json_integer_value(json_object_get(d, "u"));

            if (!synced) {
                if (spot ? u <= L : u < L) {
                    dropped++;
                    json_decref(m);
                    continue;
                }
                if (spot)
                    ASSERT(U <= L + 1 && u >= L + 1);
                else
                    ASSERT(U <= L && u >= L);
                synced = true;
            } else if (spot) {
                ASSERT_EQ(U, prev_u + 1);
            } else {
                ASSERT_EQ(json_integer_value(json_object_get(d, "pu")), prev_u);
            }
            tbook_apply(bk.b, &bk.nb, json_object_get(d, "b"));
            tbook_apply(bk.a, &bk.na, json_object_get(d, "a"));
            prev_u = u;
            applied++;
        } else if (synced) {
            int64_t lu = json_integer_value(json_object_get(d, spot ? "lastUpdateId" : "u"));

            if (lu == prev_u) {
                tbook_check_top(bk.b, bk.nb, true, json_object_get(d, spot ? "bids" : "b"));
                tbook_check_top(bk.a, bk.na, false, json_object_get(d, spot ? "asks" : "a"));
                matches++;
            }
        }
        json_decref(m);
    }
    ASSERT_GE(dropped, 1); /* the diff buffered before the snapshot is covered by it */
    /* The limit is respected. */
    ASSERT_EQ(wsc_http_get(&h, fv.port,
                           spot ? "/api/v3/depth?symbol=ETHUSDT&limit=5"
                                : "/fapi/v1/depth?symbol=ETHUSDT&limit=5",
                           T_MS),
              0);
    snap = json_loads((const char *)h.body, 0, NULL);
    ASSERT_EQ(json_array_size(json_object_get(snap, "bids")), 5);
    ASSERT_EQ(json_array_size(json_object_get(snap, "asks")), 5);
    json_decref(snap);
    wsc_http_close(&h);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
}

TEST(fakevenue_market_depth_diffs_chain_onto_rest_snapshot)
{
    market_chain(true);
    market_chain(false);
    return 0;
}

/* Checks a REST klines row against a stream kline's "k" object. */
static void row_matches(json_t *row, json_t *k)
{
    static const char *const keys[] = {"t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q"};

    ASSERT_EQ(json_array_size(row), 12);
    for (size_t i = 0; i < 11; i++) {
        json_t *a = json_array_get(row, i), *b = json_object_get(k, keys[i]);

        if (!json_equal(a, b))
            test_fail(__FILE__, __LINE__, "klines row field %zu (%s) differs from the stream's", i,
                      keys[i]);
    }
    ASSERT_STR_EQ(json_string_value(json_array_get(row, 11)), "0");
}

/* Receives kline messages until `want` candles have closed; keeps their "k" objects (new) in
 * closed[] and counts the open updates. Each candle closes once, candles follow each other. */
static int follow_klines(struct wsc *c, json_t **closed, int want, int64_t len_ms)
{
    int n = 0, partial = 0;

    while (n < want) {
        json_t *m = recv_json(c), *k = json_object_get(m, "k");

        ASSERT(k != NULL);
        if (json_is_true(json_object_get(k, "x"))) {
            int64_t t = json_integer_value(json_object_get(k, "t"));

            for (int i = 0; i < n; i++)
                ASSERT_NE(json_integer_value(json_object_get(closed[i], "t")), t);
            if (n)
                ASSERT_EQ(t, json_integer_value(json_object_get(closed[n - 1], "t")) + len_ms);
            ASSERT_EQ(json_integer_value(json_object_get(k, "T")), t + len_ms - 1);
            ASSERT_GT(json_integer_value(json_object_get(m, "E")), t + len_ms - 1);
            closed[n++] = json_incref(k);
        } else {
            partial++;
        }
        json_decref(m);
    }
    return partial;
}

/* The weight header of the last response. */
static long weight_of(const struct wsc_http *h)
{
    const char *w = wsc_http_header(h, "x-mbx-used-weight-1m");

    ASSERT(w != NULL);
    return atol(w);
}

/* GETs target on h (keep-alive) and checks the status and the weight it cost (a new minute may
 * have reset the count meanwhile). Returns the body as JSON (new). */
static json_t *get_json(struct wsc_http *h, const char *target, int status, long weight)
{
    long before = h->done && wsc_http_header(h, "x-mbx-used-weight-1m") ? weight_of(h) : 0;
    json_t *j;

    ASSERT_EQ(wsc_http_send_get(h, target), 0);
    ASSERT_EQ(wsc_http_wait(h, T_MS), 0);
    if (h->status != status)
        test_fail(__FILE__, __LINE__, "%s: status %d, expected %d: %s", target, h->status, status,
                  (const char *)h->body);
    if (weight >= 0)
        ASSERT(weight_of(h) == before + weight || weight_of(h) == weight);
    j = json_loads((const char *)h->body, 0, NULL);
    ASSERT(j != NULL);
    return j;
}

TEST(fakevenue_market_klines_close_once_and_match_rest_klines)
{
    static char target[256];
    struct fv_proc fv;
    struct wsc c;
    struct wsc_http h;
    json_t *closed[3], *rows;
    int64_t before, after;

    /* Spot, 1 s candles: each closes once; REST klines give the same candles. */
    {
        const char *args[] = {"--market", "BTCUSDT", NULL};

        start(&fv, args);
        connect_ok(&c, fv.port, "/ws/btcusdt@kline_1s");
        follow_klines(&c, closed, 3, 1000);
        ASSERT_EQ(wsc_http_open(&h, fv.port, T_MS), 0);
        snprintf(target, sizeof(target),
                 "/api/v3/klines?symbol=BTCUSDT&interval=1s&startTime=%" PRId64 "&endTime=%" PRId64,
                 (int64_t)json_integer_value(json_object_get(closed[0], "t")),
                 (int64_t)json_integer_value(json_object_get(closed[2], "t")));
        rows = get_json(&h, target, 200, 2);
        ASSERT_EQ(json_array_size(rows), 3);
        for (int i = 0; i < 3; i++)
            row_matches(json_array_get(rows, (size_t)i), closed[i]);
        json_decref(rows);
        /* Defaults and caps: the latest 500 closed candles, at most 1000. */
        before = wall_ms();
        rows = get_json(&h, "/api/v3/klines?symbol=BTCUSDT&interval=1m", 200, 2);
        after = wall_ms();
        ASSERT_EQ(json_array_size(rows), 500);
        {
            json_t *last = json_array_get(rows, 499);
            int64_t T = json_integer_value(json_array_get(last, 6));

            ASSERT_LT(T, after);              /* closed */
            ASSERT_GE(T + 60000, before - 1); /* the latest closed one */
            ASSERT_EQ(json_integer_value(json_array_get(json_array_get(rows, 1), 0)) -
                          json_integer_value(json_array_get(json_array_get(rows, 0), 0)),
                      60000);
        }
        json_decref(rows);
        rows = get_json(&h, "/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=5000", 200, 2);
        ASSERT_EQ(json_array_size(rows), 1000);
        json_decref(rows);
        rows = get_json(&h, "/api/v3/klines?symbol=NOPE&interval=1m", 400, -1);
        ASSERT_EQ(json_integer_value(json_object_get(rows, "code")), -1121);
        json_decref(rows);
        rows = get_json(&h, "/api/v3/klines?symbol=BTCUSDT&interval=7m", 400, -1);
        ASSERT_EQ(json_integer_value(json_object_get(rows, "code")), -1120);
        json_decref(rows);
        ASSERT_EQ(
            fv_wait_line(&fv, "http GET /api/v3/klines?symbol=BTCUSDT&interval=1s", T_MS, NULL, 0),
            0);
        wsc_http_close(&h);
        for (int i = 0; i < 3; i++)
            json_decref(closed[i]);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    /* Futures: 250 ms updates in between; REST refuses 1s and weighs by limit. */
    {
        const char *args[] = {"--venue", "binance-futures", "--market", "BTCUSDT", NULL};
        static const struct {
            int limit;
            long weight;
            size_t rows;
        } lw[] = {{99, 1, 99},     {100, 2, 100},    {499, 2, 499},   {500, 5, 500},
                  {1000, 5, 1000}, {1001, 10, 1001}, {3000, 10, 1500}};

        start(&fv, args);
        connect_ok(&c, fv.port, "/market/ws/btcusdt@kline_1s");
        ASSERT_GE(follow_klines(&c, closed, 2, 1000), 2);
        ASSERT_EQ(wsc_http_open(&h, fv.port, T_MS), 0);
        snprintf(target, sizeof(target),
                 "/fapi/v1/klines?symbol=BTCUSDT&interval=1s&startTime=%" PRId64,
                 (int64_t)json_integer_value(json_object_get(closed[0], "t")));
        rows = get_json(&h, target, 400, -1);
        ASSERT_EQ(json_integer_value(json_object_get(rows, "code")), -1120);
        json_decref(rows);
        for (size_t i = 0; i < sizeof(lw) / sizeof(lw[0]); i++) {
            snprintf(target, sizeof(target), "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=%d",
                     lw[i].limit);
            rows = get_json(&h, target, 200, lw[i].weight);
            ASSERT_EQ(json_array_size(rows), lw[i].rows);
            json_decref(rows);
        }
        /* A closed 1m candle from REST has the futures decimals and the candle's own times. */
        rows = get_json(&h, "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1", 200, 1);
        ASSERT_EQ(json_array_size(rows), 1);
        {
            json_t *r = json_array_get(rows, 0);

            ASSERT_EQ(json_integer_value(json_array_get(r, 6)),
                      json_integer_value(json_array_get(r, 0)) + 59999);
            ASSERT(decimal(json_array_get(r, 1)) && decimal(json_array_get(r, 7)));
        }
        json_decref(rows);
        wsc_http_close(&h);
        for (int i = 0; i < 2; i++)
            json_decref(closed[i]);
        wsc_close(&c);
        ASSERT_EQ(fv_stop(&fv), 0);
    }
    return 0;
}

/* ---- sparse and quiet symbols: change-driven streams ---- */

#define SPARSE_MS 3000 /* --market-sparse-period of these tests, in ms */
#define SLACK_MS 400   /* scheduling slack on a loaded machine (or under sanitizers) */

/* One message as it arrived: its stream, its payload (new) and the wall time it arrived. */
struct arrival {
    char stream[64]; /* stream name */
    json_t *d;       /* payload (new) */
    int64_t at;      /* wall-clock ms at arrival */
};

/* Receives one message into a (growing the array as needed). */
static void arrive(struct wsc *c, struct arrival **v, size_t *n, size_t *cap)
{
    json_t *m = recv_json(c);
    struct arrival *a;

    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = realloc(*v, *cap * sizeof(**v));
        ASSERT(*v != NULL);
    }
    a = &(*v)[(*n)++];
    snprintf(a->stream, sizeof(a->stream), "%s", stream_of(m));
    a->d = json_incref(data_of(m));
    a->at = wall_ms();
    json_decref(m);
}

static void free_arrivals(struct arrival *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i].d);
    free(v);
}

/* Integer member key of o (k.key when in_k). */
static int64_t ival(json_t *o, const char *key, bool in_k)
{
    json_t *v = json_object_get(in_k ? json_object_get(o, "k") : o, key);

    if (!json_is_integer(v))
        test_fail(__FILE__, __LINE__, "member %s%s is not an integer", in_k ? "k." : "", key);
    return json_integer_value(v);
}

/* A kline's f, L and n agree with the aggTrade (f, l) that was its candle's last trade; with
 * whole, it was the candle's only trade. */
static void kline_is_trade(json_t *d, int64_t f, int64_t l, bool whole)
{
    ASSERT_EQ(ival(d, "L", true), l);
    if (whole)
        ASSERT_EQ(ival(d, "f", true), f);
    else
        ASSERT_LE(ival(d, "f", true), f);
    ASSERT_EQ(ival(d, "n", true), ival(d, "L", true) - ival(d, "f", true) + 1);
}

/* The checks of one round of a sparse symbol (spot): from aggTrade v[a] (trade ids f..l) up to
 * the next aggTrade at time `end`, every change-driven stream pushed exactly once, soon, and
 * showed this trade; partial depth kept its cadence. */
static void check_sparse_round(const struct arrival *v, size_t n, size_t a, int64_t end)
{
    int64_t at = v[a].at, f = ival(v[a].d, "f", false), l = ival(v[a].d, "l", false);
    int64_t book_u = -1, diff_u = -1;
    int trades = 0, book = 0, diff = 0, ticker = 0, mini = 0, partial = 0;
    int k1s = 0, k1s_closed = 0, k1m = 0, k1m_open = 0;

    for (size_t i = 0; i < n; i++) {
        const char *st = v[i].stream;
        json_t *d = v[i].d;

        if (strcmp(st, "sprusdt@trade") == 0) {
            int64_t t = ival(d, "t", false);

            trades += t >= f && t <= l;
            continue;
        }
        if (v[i].at < at || v[i].at >= end || i == a || strcmp(st, "sprusdt@aggTrade") == 0)
            continue;
        if (strcmp(st, "sprusdt@depth5@100ms") == 0) {
            partial++;
            continue;
        }
        /* Every change-driven push follows the trade within its stream's period. */
        if (strcmp(st, "sprusdt@bookTicker") == 0) {
            ASSERT_LE(v[i].at - at, SLACK_MS);
            book_u = ival(d, "u", false);
            book++;
        } else if (strcmp(st, "sprusdt@depth@100ms") == 0) {
            ASSERT_LE(v[i].at - at, 100 + SLACK_MS);
            diff_u = ival(d, "u", false);
            diff++;
        } else if (strcmp(st, "sprusdt@ticker") == 0) {
            ASSERT_LE(v[i].at - at, 1000 + SLACK_MS);
            ASSERT_EQ(ival(d, "L", false), l);
            ticker++;
        } else if (strcmp(st, "sprusdt@miniTicker") == 0) {
            ASSERT_LE(v[i].at - at, 1000 + SLACK_MS);
            mini++;
        } else if (strcmp(st, "sprusdt@kline_1s") == 0) {
            /* An update in the candle (if its period comes first) and its close. */
            ASSERT_LE(v[i].at - at, 1000 + SLACK_MS);
            kline_is_trade(d, f, l, true);
            k1s_closed += json_is_true(json_object_get(json_object_get(d, "k"), "x"));
            k1s++;
        } else if (strcmp(st, "sprusdt@kline_1m") == 0) {
            /* An update within the period; the candle's close if the minute ends meanwhile. */
            if (!k1m)
                ASSERT_LE(v[i].at - at, 2000 + SLACK_MS);
            kline_is_trade(d, f, l, false);
            k1m_open += !json_is_true(json_object_get(json_object_get(d, "k"), "x"));
            k1m++;
        } else {
            test_fail(__FILE__, __LINE__, "unexpected stream %s", st);
        }
    }
    ASSERT_EQ(trades, l - f + 1);
    ASSERT_EQ(book, 1);
    ASSERT_EQ(diff, 1);
    ASSERT_EQ(diff_u, book_u); /* one book event */
    ASSERT_EQ(ticker, 1);
    ASSERT_EQ(mini, 1);
    ASSERT_EQ(k1s_closed, 1);
    ASSERT(k1s == 1 || k1s == 2);
    ASSERT(k1m == 1 || (k1m == 2 && k1m_open == 1));
    ASSERT_GE(partial, (end - at) / 100 / 3); /* fixed cadence, trades or not */
}

TEST(fakevenue_market_sparse_symbol_trades_once_a_period_and_its_streams_push_only_after)
{
    const char *args[] = {"--market", "BTCUSDT,SPRUSDT",        "--market-sparse",
                          "sprusdt",  "--market-sparse-period", "3",
                          NULL};
    struct arrival *v = NULL;
    size_t n = 0, cap = 0, agg[5], nagg = 0;
    struct fv_proc fv;
    struct wsc c;

    start(&fv, args);
    connect_ok(&c, fv.port,
               "/stream?streams=sprusdt@trade/sprusdt@aggTrade/sprusdt@bookTicker/"
               "sprusdt@depth@100ms/sprusdt@depth5@100ms/sprusdt@ticker/sprusdt@miniTicker/"
               "sprusdt@kline_1s/sprusdt@kline_1m");
    while (nagg < 5) {
        arrive(&c, &v, &n, &cap);
        if (strcmp(v[n - 1].stream, "sprusdt@aggTrade") != 0)
            continue;
        /* One taker order a period, consecutive ids, nothing in between. */
        if (nagg) {
            const struct arrival *p = &v[agg[nagg - 1]];

            ASSERT_EQ(ival(v[n - 1].d, "a", false), ival(p->d, "a", false) + 1);
            ASSERT_EQ(ival(v[n - 1].d, "f", false), ival(p->d, "l", false) + 1);
            ASSERT_GE(v[n - 1].at - p->at, SPARSE_MS - SLACK_MS);
            ASSERT_LE(v[n - 1].at - p->at, SPARSE_MS + SLACK_MS);
        }
        agg[nagg++] = n - 1;
    }
    /* Before the first trade only partial depth speaks. */
    for (size_t i = 0; i < agg[0]; i++)
        if (strcmp(v[i].stream, "sprusdt@depth5@100ms") != 0 &&
            strcmp(v[i].stream, "sprusdt@trade") != 0)
            test_fail(__FILE__, __LINE__, "%s pushed before any trade", v[i].stream);
    for (size_t r = 0; r + 1 < nagg; r++)
        check_sparse_round(v, n, agg[r], v[agg[r + 1]].at);
    free_arrivals(v, n);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_market_sparse_futures_snapshot_makes_no_book_event_and_next_diff_bridges_it)
{
    const char *args[] = {
        "--venue", "binance-futures",        "--market", "SPRUSDT", "--market-sparse",
        "SPRUSDT", "--market-sparse-period", "3",        NULL};
    struct fv_proc fv;
    struct wsc c;
    struct wsc_http h;
    int64_t L[2], book_u = -1;
    json_t *snap;

    start(&fv, args);
    connect_ok(&c, fv.port, "/public/stream?streams=sprusdt@depth@100ms/sprusdt@bookTicker");
    ASSERT_EQ(fv_wait_line(&fv, "market stream sprusdt@depth@100ms", T_MS, NULL, 0), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(wsc_http_get(&h, fv.port, "/fapi/v1/depth?symbol=SPRUSDT&limit=5", T_MS), 0);
        ASSERT_EQ(h.status, 200);
        snap = json_loads((const char *)h.body, 0, NULL);
        ASSERT(snap != NULL);
        L[i] = ival(snap, "lastUpdateId", false);
        json_decref(snap);
        wsc_http_close(&h);
    }
    ASSERT_EQ(L[1], L[0]); /* no book event, and one id taken for both */
    /* The next book event is the trade: its book ticker, then one diff that bridges. */
    for (;;) {
        json_t *m = recv_json(&c), *d = data_of(m);

        if (strcmp(stream_of(m), "sprusdt@bookTicker") == 0) {
            ASSERT_EQ(book_u, -1);
            book_u = ival(d, "u", false);
        } else {
            ASSERT_NE(book_u, -1); /* no diff before the trade */
            ASSERT_LE(ival(d, "U", false), L[0]);
            ASSERT_GE(ival(d, "u", false), L[0]);
            ASSERT_EQ(ival(d, "u", false), book_u);
            ASSERT_EQ(ival(d, "pu", false), L[0] - 1);
            json_decref(m);
            break;
        }
        json_decref(m);
    }
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Runs a quiet symbol (ETHUSDT) beside a busy one for `ms`: the quiet symbol's streams on
 * `path` other than those in `cadence` (with their periods) must send nothing; those must keep
 * their period; and the busy symbol's streams (btcusdt@...) must flow meanwhile. */
static void quiet_run(int port, const char *path, const char *const *cadence, const int *period,
                      size_t ncad, int64_t ms)
{
    int64_t t0 = wall_ms(), last[4] = {-1, -1, -1, -1}, quiet_u = -1;
    int count[4] = {0}, busy = 0;
    struct wsc c;

    ASSERT(ncad <= 4);
    connect_ok(&c, port, path);
    while (wall_ms() - t0 < ms) {
        json_t *m = recv_json(&c), *d = data_of(m);
        const char *st = stream_of(m);
        size_t i;

        if (strncmp(st, "btcusdt@", 8) == 0) {
            busy++;
            json_decref(m);
            continue;
        }
        for (i = 0; i < ncad && strcmp(st, cadence[i]) != 0; i++)
            ;
        if (i == ncad)
            test_fail(__FILE__, __LINE__, "quiet symbol's %s pushed: %s", st,
                      json_dumps(d, JSON_COMPACT));
        if (last[i] >= 0)
            ASSERT_LE(wall_ms() - last[i], period[i] + SLACK_MS);
        last[i] = wall_ms();
        count[i]++;
        if (strstr(st, "@depth")) {
            /* The quiet book never moves. */
            int64_t u = ival(d, json_object_get(d, "u") ? "u" : "lastUpdateId", false);

            if (quiet_u >= 0)
                ASSERT_EQ(u, quiet_u);
            quiet_u = u;
        }
        json_decref(m);
    }
    for (size_t i = 0; i < ncad; i++)
        ASSERT_GE(count[i], ms / period[i] / 2);
    ASSERT_GE(busy, 10);
    wsc_close(&c);
}

TEST(fakevenue_market_quiet_symbol_sends_only_partial_depth_and_mark_price)
{
    static const char *const spot_cad[] = {"ethusdt@depth5@100ms"};
    static const int spot_per[] = {100};
    static const char *const pub_cad[] = {"ethusdt@depth5@100ms"};
    static const int pub_per[] = {100};
    static const char *const mkt_cad[] = {"ethusdt@markPrice@1s", "ethusdt@markPrice"};
    static const int mkt_per[] = {1000, 3000};
    const char *sargs[] = {
        "--market", "BTCUSDT,ETHUSDT", "--market-quiet", "ethusdt", "--market-rate", "100", NULL};
    const char *fargs[] = {"--venue",
                           "binance-futures",
                           "--market",
                           "BTCUSDT,ETHUSDT",
                           "--market-quiet",
                           "ETHUSDT",
                           "--market-rate",
                           "100",
                           NULL};
    static char target[256];
    int64_t t0;
    struct fv_proc fv;
    struct wsc_http h;
    json_t *rows;

    /* Spot: 3.5 s covers three 1 s candles and the tickers' 1 s period several times. */
    start(&fv, sargs);
    t0 = wall_ms();
    quiet_run(fv.port,
              "/stream?streams=ethusdt@trade/ethusdt@aggTrade/ethusdt@depth@100ms/"
              "ethusdt@bookTicker/ethusdt@ticker/ethusdt@miniTicker/ethusdt@depth5@100ms/"
              "ethusdt@kline_1s/ethusdt@kline_1m/btcusdt@aggTrade",
              spot_cad, spot_per, 1, 3500);
    /* Its candles since the market started have no trades: what the venue sends for those. */
    ASSERT_EQ(wsc_http_open(&h, fv.port, T_MS), 0);
    snprintf(target, sizeof(target), "/api/v3/klines?symbol=ETHUSDT&interval=1s&startTime=%" PRId64,
             t0);
    rows = get_json(&h, target, 200, 2);
    ASSERT_GE(json_array_size(rows), 2);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);

        ASSERT_EQ(json_integer_value(json_array_get(r, 8)), 0);
        ASSERT_STR_EQ(json_string_value(json_array_get(r, 5)), "0.00000000");
        ASSERT_STR_EQ(json_string_value(json_array_get(r, 1)),
                      json_string_value(json_array_get(r, 4)));
    }
    json_decref(rows);
    wsc_http_close(&h);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* Futures: markPrice at 1 s and 3 s, partial depth at 100 ms; no forceOrder either. */
    start(&fv, fargs);
    quiet_run(fv.port,
              "/public/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker/"
              "ethusdt@depth5@100ms/btcusdt@bookTicker",
              pub_cad, pub_per, 1, 2500);
    quiet_run(fv.port,
              "/market/stream?streams=ethusdt@aggTrade/ethusdt@kline_1m/ethusdt@kline_1s/"
              "ethusdt@ticker/ethusdt@miniTicker/ethusdt@markPrice@1s/ethusdt@markPrice/"
              "ethusdt@forceOrder/btcusdt@aggTrade",
              mkt_cad, mkt_per, 2, 6500);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* Refused combinations. */
    {
        static const char *const bad[][8] = {
            {"--market", "BTCUSDT", "--market-quiet", "ETHUSDT", NULL},
            {"--market", "BTCUSDT", "--market-sparse", "ETHUSDT", NULL},
            {"--market", "BTCUSDT,ETHUSDT", "--market-quiet", "ETHUSDT", "--market-sparse",
             "ethusdt", NULL},
            {"--market", "BTCUSDT", "--market-sparse-period", "3", NULL},
            {"--market", "BTCUSDT", "--market-sparse", "BTCUSDT", "--market-sparse-period", "0",
             NULL},
        };
        static const char *const want[] = {"--market-quiet", "--market-sparse", "--market-quiet",
                                           "--market-sparse", "--market-sparse-period"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char *argv[10] = {(char *)test_bin("mdfeed-fakevenue")};
            char *out = NULL, *err = NULL;

            for (size_t k = 0; bad[i][k]; k++)
                argv[k + 1] = (char *)bad[i][k];
            ASSERT_EQ(test_run_capture(argv, &out, &err), 2);
            ASSERT_CONTAINS(err, want[i]);
            free(out);
            free(err);
        }
    }
    return 0;
}

/* Follows a busy symbol's trades and klines on one connection (spot: @trade and @aggTrade;
 * futures: @aggTrade) and checks that every kline's f, L and n are the trade ids of its candle
 * as the trade streams gave them out, and the ticker's L the last trade id. */
static void kline_ids(bool spot)
{
    const char *sargs[] = {"--market", "BTCUSDT", "--market-rate", "50", NULL};
    const char *fargs[] = {
        "--venue", "binance-futures", "--market", "BTCUSDT", "--market-rate", "50", NULL};
    enum { MAXT = 8192 };
    static int64_t tid[MAXT], tT[MAXT];
    int64_t first_T = -1, last_id = -1, last_l = -1;
    int nt = 0, k1s = 0, k1s_whole = 0, k1m = 0, ticker = 0;
    struct fv_proc fv;
    struct wsc c;

    start(&fv, spot ? sargs : fargs);
    connect_ok(&c, fv.port,
               spot ? "/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@kline_1s/"
                      "btcusdt@kline_1m/btcusdt@ticker"
                    : "/market/stream?streams=btcusdt@aggTrade/btcusdt@kline_1s/"
                      "btcusdt@kline_1m/btcusdt@ticker");
    while (k1s_whole < 3 || k1m < 3 || ticker < 2) {
        json_t *m = recv_json(&c), *d = data_of(m);
        const char *st = stream_of(m);
        bool is_trade = strcmp(st, "btcusdt@trade") == 0;
        bool is_agg = strcmp(st, "btcusdt@aggTrade") == 0;

        if (is_agg) {
            /* One id space: each taker order's fills follow the previous order's. */
            if (last_l >= 0)
                ASSERT_EQ(ival(d, "f", false), last_l + 1);
            ASSERT_LE(ival(d, "f", false), ival(d, "l", false));
            last_l = ival(d, "l", false);
        }
        if (is_trade || is_agg) {
            /* The trade ids as given out: spot @trade one by one, futures aggTrade f..l. */
            int64_t f = ival(d, is_trade ? "t" : "f", false);
            int64_t l = ival(d, is_trade ? "t" : "l", false);

            if (spot && is_agg) {
                json_decref(m);
                continue;
            }
            if (last_id >= 0)
                ASSERT_EQ(f, last_id + 1);
            for (int64_t t = f; t <= l; t++) {
                ASSERT_LT(nt, MAXT);
                tid[nt] = t;
                tT[nt++] = ival(d, "T", false);
            }
            if (first_T < 0)
                first_T = ival(d, "T", false);
            last_id = l;
        } else if (strcmp(st, "btcusdt@ticker") == 0) {
            if (nt)
                ASSERT_EQ(ival(d, "L", false), tid[nt - 1]);
            ticker++;
        } else {
            int64_t t = ival(d, "t", true), T = ival(d, "T", true), f = -1, L = -1;

            for (int i = 0; i < nt; i++) {
                if (tT[i] < t || tT[i] > T)
                    continue;
                if (f < 0)
                    f = tid[i];
                L = tid[i];
            }
            if (L >= 0)
                ASSERT_EQ(ival(d, "L", true), L);
            if (first_T >= 0 && first_T < t) {
                /* Every trade of the candle was seen here. */
                ASSERT_EQ(ival(d, "f", true), f);
                ASSERT_EQ(ival(d, "L", true), L);
                k1s_whole += strstr(st, "_1s") != NULL && L >= 0;
            }
            ASSERT_EQ(ival(d, "n", true),
                      ival(d, "L", true) < 0 ? 0 : ival(d, "L", true) - ival(d, "f", true) + 1);
            k1s += strstr(st, "_1s") != NULL;
            k1m += strstr(st, "_1m") != NULL;
        }
        json_decref(m);
    }
    ASSERT_GE(nt, 10);
    ASSERT_GE(k1s, 3);
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
}

TEST(fakevenue_market_kline_trade_ids_are_the_trade_streams_ids)
{
    kline_ids(true);
    kline_ids(false);
    return 0;
}

TEST(fakevenue_market_rate_max_goes_flat_out)
{
    const char *args[] = {"--market", "BTCUSDT", "--market-rate", "max", NULL};
    static char msg[4096];
    struct fv_proc fv;
    struct wsc c;
    int64_t last = -1;

    /* At the default 10 events a second this would take over an hour. */
    start(&fv, args);
    connect_ok(&c, fv.port, "/ws/btcusdt@aggTrade");
    for (int i = 0; i < 20000; i++) {
        const char *a;

        recv_ok(&c, msg, sizeof(msg));
        a = strstr(msg, "\"a\":");
        ASSERT(a != NULL);
        if (last >= 0)
            ASSERT_EQ(atoll(a + 4), last + 1);
        last = atoll(a + 4);
    }
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- REST ban and connection limit ---- */

/* Waits until the current wall-clock minute has at least `need` seconds left, so a weight
 * count does not reset under a test. */
static void minute_with_room(int need)
{
    while (60 - (int)(time(NULL) % 60) < need)
        usleep(200000);
}

TEST(fakevenue_rest_ban_follows_repeated_429s)
{
    const char *args[] = {"--market",    "BTCUSDT", "--weight-limit", "12",
                          "--ban-after", "2",       "--ban-seconds",  "1",
                          NULL};
    struct fv_proc fv;
    struct wsc_http h;
    json_t *j;

    minute_with_room(15);
    start(&fv, args);
    ASSERT_EQ(wsc_http_open(&h, fv.port, T_MS), 0);
    json_decref(get_json(&h, "/api/v3/depth?symbol=BTCUSDT&limit=100", 200, 5));
    json_decref(get_json(&h, "/api/v3/depth?symbol=BTCUSDT&limit=100", 200, 5));
    j = get_json(&h, "/api/v3/depth?symbol=BTCUSDT&limit=100", 429, 5);
    ASSERT_EQ(json_integer_value(json_object_get(j, "code")), -1003);
    ASSERT(wsc_http_header(&h, "retry-after") != NULL);
    json_decref(j);
    ASSERT_EQ(fv_count_lines(&fv, "rest banned"), 0);
    json_decref(get_json(&h, "/api/v3/ping", 429, 1));
    /* Two 429s: banned. Every API request now gets 418 with Retry-After and -1003. */
    ASSERT_EQ(fv_wait_line(&fv, "rest banned 1", T_MS, NULL, 0), 0);
    j = get_json(&h, "/api/v3/depth?symbol=BTCUSDT&limit=5", 418, -1);
    ASSERT_EQ(json_integer_value(json_object_get(j, "code")), -1003);
    ASSERT_STR_EQ(wsc_http_header(&h, "retry-after"), "1");
    json_decref(j);
    json_decref(get_json(&h, "/api/v3/klines?symbol=BTCUSDT&interval=1m", 418, -1));
    json_decref(get_json(&h, "/api/v3/time", 418, -1));
    ASSERT_EQ(fv_wait_line(&fv, "http GET /api/v3/time 418", T_MS, NULL, 0), 0);
    /* When the ban ends, requests are answered again (429 while the minute's weight is used). */
    usleep(1200000);
    ASSERT_EQ(wsc_http_send_get(&h, "/api/v3/ping"), 0);
    ASSERT_EQ(wsc_http_wait(&h, T_MS), 0);
    ASSERT(h.status == 429 || h.status == 200);
    ASSERT_EQ(fv_wait_line(&fv, "rest ban over", T_MS, NULL, 0), 0);
    wsc_http_close(&h);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_conn_limit_refuses_upgrades_over_the_limit)
{
    const char *args[] = {"--conn-limit", "3/1", NULL};
    const char *dflt[] = {"--conn-limit", "2", NULL};
    struct fv_proc fv;
    struct wsc c[4];
    struct wsc_http h;
    char line[256];

    start(&fv, args);
    for (int i = 0; i < 3; i++)
        connect_ok(&c[i], fv.port, "/ws/btcusdt@trade");
    ASSERT_EQ(wsc_connect(&c[3], fv.port, "/ws/btcusdt@trade", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(c[3].http_status, 429);
    wsc_close(&c[3]);
    ASSERT_EQ(fv_wait_line(&fv, "refused conn-limit", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 4 refused conn-limit");
    /* REST is not an upgrade; the open connections are untouched. */
    ASSERT_EQ(wsc_http_get(&h, fv.port, "/api/v3/ping", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    wsc_http_close(&h);
    request(&c[0], "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1}",
            "{\"result\":[\"btcusdt@trade\"],\"id\":1}");
    /* A second later the window has room again. */
    usleep(1100000);
    connect_ok(&c[3], fv.port, "/ws/btcusdt@trade");
    for (int i = 0; i < 4; i++)
        wsc_close(&c[i]);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* The default window is the venue's 5 minutes. */
    start(&fv, dflt);
    connect_ok(&c[0], fv.port, "/ws");
    connect_ok(&c[1], fv.port, "/ws");
    wsc_close(&c[0]);
    wsc_close(&c[1]);
    ASSERT_EQ(wsc_connect(&c[2], fv.port, "/ws", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(c[2].http_status, 429);
    wsc_close(&c[2]);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- live replays: times moved to now, ids continued, books bridged from lap to lap ---- */

/* One symbol's book as a client keeps it from the recorded snapshot and what the venue sends. */
struct live_book {
    const char *sym;           /* upper case */
    json_t *bids, *asks;       /* price -> quantity, the book now */
    json_t *s0_bids, *s0_asks; /* the recorded snapshot's */
    int64_t L0;                /* its lastUpdateId */
    int64_t prev_u;            /* u of the last diff applied */
    bool synced;               /* the first diff after the snapshot was applied */
    size_t n0, n_live, count;  /* recorded diffs, those after the snapshot, received */
    int bridges;               /* bridging diffs checked */
    int64_t last_bt_u, last_a; /* last bookTicker u, aggTrade a */
};

/* Sets side[px] = qty for each [px, qty] of levels ("0..." removes). */
static void live_apply(json_t *side, json_t *levels)
{
    size_t i;
    json_t *lv;

    json_array_foreach(levels, i, lv)
    {
        const char *px = json_string_value(json_array_get(lv, 0));
        const char *qty = json_string_value(json_array_get(lv, 1));

        ASSERT(px && qty);
        if (strspn(qty, "0.") == strlen(qty))
            json_object_del(side, px);
        else
            json_object_set_new(side, px, json_string(qty));
    }
}

/* With --replay-live the recording runs as a live venue would: lap 0's times are now, not
 * 2021's, and every id keeps growing across laps. Each book's diffs continue without a gap over
 * the lap boundary (U = previous u + 1), and the first diff of each new lap, the bridge, turns
 * the book a client built from the snapshot and every diff since back into that snapshot, so a
 * client that never resyncs keeps the venue's book. Trade and book ticker ids only grow; a
 * kline is the minute that holds its event time. */
TEST(fakevenue_live_replay_moves_times_to_now_and_continues_books_across_laps)
{
    static const char *const syms[] = {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"};
    enum { NS = 4 };
    static char ws[PATH_MAX], http[PATH_MAX];
    const char *args[] = {"--replay", ws,       "--rest",        http, "--speed",
                          "max",      "--loop", "--replay-live", NULL};
    static char msg[1 << 16], path[1024];
    struct live_book bk[NS];
    struct wsc_http h;
    struct fv_proc fv;
    struct wsc c;
    struct timespec now;
    int64_t start_ms;
    bool done = false;

    snprintf(ws, sizeof(ws), "%s", test_fixture("binance-spot/ws.rec"));
    snprintf(http, sizeof(http), "%s", test_fixture("binance-spot/http.rec"));
    memset(bk, 0, sizeof(bk));
    path[0] = '\0';
    snprintf(path, sizeof(path), "/stream?streams=");
    for (int k = 0; k < NS; k++) {
        char streams[64], lower[16], *snap;
        char **rec;
        json_t *j;

        for (size_t i = 0; i <= strlen(syms[k]); i++)
            lower[i] =
                (char)(syms[k][i] >= 'A' && syms[k][i] <= 'Z' ? syms[k][i] + 32 : syms[k][i]);
        snprintf(path + strlen(path), sizeof(path) - strlen(path),
                 "%s%s@depth@100ms/%s@bookTicker/%s@aggTrade/%s@kline_1m", k ? "/" : "", lower,
                 lower, lower, lower);
        bk[k].sym = syms[k];
        snap = recorded_snapshot("binance-spot/http.rec", syms[k]);
        j = json_loads(snap, 0, NULL);
        ASSERT(j != NULL);
        bk[k].L0 = json_integer_value(json_object_get(j, "lastUpdateId"));
        bk[k].bids = json_object();
        bk[k].asks = json_object();
        bk[k].s0_bids = json_object();
        bk[k].s0_asks = json_object();
        live_apply(bk[k].bids, json_object_get(j, "bids"));
        live_apply(bk[k].asks, json_object_get(j, "asks"));
        live_apply(bk[k].s0_bids, json_object_get(j, "bids"));
        live_apply(bk[k].s0_asks, json_object_get(j, "asks"));
        json_decref(j);
        free(snap);
        snprintf(streams, sizeof(streams), "%s@depth@100ms", lower);
        rec = recorded_set("binance-spot/ws.rec", streams, &bk[k].n0);
        for (size_t i = 0; i < bk[k].n0; i++) {
            json_t *m = json_loads(rec[i], 0, NULL);

            if (json_integer_value(json_object_get(json_object_get(m, "data"), "u")) > bk[k].L0)
                bk[k].n_live++;
            json_decref(m);
            free(rec[i]);
        }
        free(rec);
        ASSERT_GT(bk[k].n_live, 0);
        bk[k].last_bt_u = bk[k].last_a = -1;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    start_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    start(&fv, args);
    connect_ok(&c, fv.port, path);
    for (int guard = 0; guard < 100000 && !done; guard++) {
        json_t *m, *d;
        const char *e;
        struct live_book *b = NULL;

        recv_ok(&c, msg, sizeof(msg));
        m = json_loads(msg, 0, NULL);
        ASSERT(m != NULL);
        d = json_object_get(m, "data");
        e = json_string_value(json_object_get(d, "e"));
        for (int k = 0; k < NS; k++)
            if (strcmp(json_string_value(json_object_get(d, "s")), syms[k]) == 0)
                b = &bk[k];
        ASSERT(b != NULL);
        if (e && strcmp(e, "depthUpdate") == 0) {
            int64_t U = json_integer_value(json_object_get(d, "U"));
            int64_t u = json_integer_value(json_object_get(d, "u"));
            size_t k = b->count++, per = 1 + b->n_live;
            bool bridge = k >= b->n0 && (k - b->n0) % per == 0;

            if (k < b->n0) { /* lap 0: the event times are now's */
                int64_t ev = json_integer_value(json_object_get(d, "E"));

                ASSERT(ev > start_ms - 5000 && ev < start_ms + 60000);
            }
            if (!b->synced) {
                ASSERT(k < b->n0);
                if (u > b->L0) {
                    ASSERT(U <= b->L0 + 1);
                    b->synced = true;
                }
            } else if (U != b->prev_u + 1) {
                test_fail(__FILE__, __LINE__, "%s diff %zu: U %lld after u %lld: %s", b->sym, k,
                          (long long)U, (long long)b->prev_u, msg);
            }
            if (b->synced) {
                live_apply(b->bids, json_object_get(d, "b"));
                live_apply(b->asks, json_object_get(d, "a"));
                b->prev_u = u;
            }
            if (bridge) {
                if (!json_equal(b->bids, b->s0_bids) || !json_equal(b->asks, b->s0_asks))
                    test_fail(__FILE__, __LINE__,
                              "%s: after the bridge of lap %zu the book is "
                              "not the snapshot's",
                              b->sym, 1 + (k - b->n0) / per);
                b->bridges++;
            }
        } else if (e && strcmp(e, "aggTrade") == 0) {
            int64_t a = json_integer_value(json_object_get(d, "a"));

            ASSERT_GT(a, b->last_a);
            b->last_a = a;
        } else if (e && strcmp(e, "kline") == 0) {
            json_t *kl = json_object_get(d, "k");
            int64_t t = json_integer_value(json_object_get(kl, "t"));
            int64_t T = json_integer_value(json_object_get(kl, "T"));
            int64_t ev = json_integer_value(json_object_get(d, "E"));

            ASSERT_EQ(t % 60000, 0);
            ASSERT_EQ(T, t + 59999);
            ASSERT(t <= ev && ev <= T);
        } else if (!e) { /* bookTicker */
            int64_t u = json_integer_value(json_object_get(d, "u"));

            ASSERT_GT(u, b->last_bt_u);
            b->last_bt_u = u;
        }
        json_decref(m);
        done = true;
        for (int k = 0; k < NS; k++)
            done &= bk[k].bridges >= 2;
    }
    ASSERT(done);
    /* The snapshot served in a later lap has the recorded levels and a later id. */
    ASSERT_EQ(wsc_http_get(&h, fv.port, "/api/v3/depth?symbol=NKNUSDT&limit=1000", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    {
        json_t *j = json_loads((const char *)h.body, 0, NULL), *sb = json_object();

        live_apply(sb, json_object_get(j, "bids"));
        ASSERT(json_equal(sb, bk[0].s0_bids));
        ASSERT_GT(json_integer_value(json_object_get(j, "lastUpdateId")), bk[0].L0);
        json_decref(sb);
        json_decref(j);
    }
    wsc_http_close(&h);
    wsc_close(&c);
    for (int k = 0; k < NS; k++) {
        json_decref(bk[k].bids);
        json_decref(bk[k].asks);
        json_decref(bk[k].s0_bids);
        json_decref(bk[k].s0_asks);
    }
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}
