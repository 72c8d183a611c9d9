/*
 * Tests of tools/mdfeed-fakevenue, driven as a user would: start the binary (fakevenue.h), talk
 * to it with the blocking client built on our own tls/ws code (wsclient.h), and check what a
 * client sees and what the venue logs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_segs_in */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "core/err.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define T_MS 5000 /* generous wait for anything that should happen */

/* Path of a file under tests/fixtures/ in the source tree this runner was built from. */
static const char *fixture(const char *name)
{
    static char path[2][4096 + 256];
    static int which;
    char root[4096];
    char *p;

    snprintf(root, sizeof(root), "%s", test_bin("x"));
    p = strstr(root, "/build");
    if (p)
        *p = '\0';
    which ^= 1;
    snprintf(path[which], sizeof(path[which]), "%s/tests/fixtures/%s", root, name);
    return path[which];
}

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
    FILE *f = fopen(fixture("binance-spot/ws.rec"), "r");
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

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

TEST(fakevenue_replays_only_subscribed_streams)
{
    struct fv_proc fv;
    const char *args[] = {
        "--replay", fixture("binance-spot/ws.rec"), "--speed", "max", "--loop", "--rate-limit", "0",
        NULL};
    size_t na, nb;
    char **a = recorded("lrcbtc@depth@100ms", &na), **b = recorded("nknusdt@bookTicker", &nb);
    char msg[65536];
    struct wsc c;
    bool got_b = false;
    int guard;

    ASSERT_EQ(na, 15);
    ASSERT_EQ(nb, 74);
    start(&fv, args);
    connect_ok(&c, fv.port, "/stream?streams=lrcbtc@depth@100ms");
    /* Two laps of exactly the recorded messages of that stream, byte for byte, in order. */
    for (int lap = 0; lap < 2; lap++) {
        for (size_t i = 0; i < na; i++) {
            recv_ok(&c, msg, sizeof(msg));
            ASSERT_STR_EQ(msg, a[i]);
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
        ASSERT(in_list(a, na, msg));
    }
    for (guard = 0; guard < 100000 && !got_b; guard++) {
        recv_ok(&c, msg, sizeof(msg));
        if (in_list(b, nb, msg))
            got_b = true;
        else
            ASSERT(in_list(a, na, msg));
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
            const char *d = strstr(b[i], ",\"data\":") + 8;

            if (strncmp(d, msg, strlen(msg)) == 0 && strlen(d) == strlen(msg) + 1)
                data = d;
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
    const char *args[] = {"--replay", fixture("binance-spot/ws.rec"), "--speed", "max", NULL};
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
    const char *args[] = {"--replay", fixture("binance-spot/ws.rec"),
                          "--rest",   fixture("binance-spot/http.rec"),
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
    const char *args[] = {
        "--replay", fixture("binance-spot/ws.rec"), "--speed", "max", "--fault-gap-after", "10",
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
