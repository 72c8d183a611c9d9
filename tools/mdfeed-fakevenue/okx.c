/*
 * The OKX v5 public WebSocket protocol (src/venue/README.md 4.2) of the fake venue: the upgrade on
 * /ws/v5/public or /ws/v5/business under the connection limit (--conn-limit, 3 a second by
 * default), the client's ops (subscribe and unsubscribe with an args array, answered per arg
 * with {"id"?,"event":"subscribe","arg":{..},"connId":..}), errors as {"event":"error","code":
 * "6xxxx","msg":..,"connId":..}, the text "ping" answered "pong", the request limit
 * (--okx-req-limit subscribe/unsubscribe requests per --okx-req-window, 480 an hour: then error
 * 60014), the cut of a connection whose client was silent --okx-idle seconds (30), and the
 * service-upgrade notice (64008) that --shutdown-after sends on faulted connections.
 *
 * Error codes: 60012 a request that is not JSON, has no known op or no args; 60018 a channel the
 * path does not serve (candles only on /business, the rest only on /public), an unknown channel
 * or instrument, funding-rate of an instrument that is not a swap; 60014 over the request limit.
 * Control messages are built with jansson (control path); the market (okx_market.c) builds the
 * data messages.
 *
 * Under --replay there is no market: each subscribe arg whose "channel:instId" key the recording
 * subscribed is answered with the recorded ack (okx_replay.c says which line is which), with the
 * live request's "id" when it differs from the recorded one, and the key's recorded messages come
 * from the replay clock (replay.c); an arg the recording never subscribed gets 60018. The module
 * table entry is at the end of this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "okxv.h"

static const char *const ERR_PATH = "{\"msg\":\"Not Found\",\"code\":\"404\"}";
static const char *const ERR_CONN_LIMIT = "{\"msg\":\"Too Many Requests\",\"code\":\"429\"}";

/* See fv.h. */
bool fvokx_inst_ok(const char *s, size_t len)
{
    size_t part = 0;

    if (len < 3 || len > 31)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-') {
            if (!part)
                return false;
            part = 0;
        } else if ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')) {
            part++;
        } else {
            return false;
        }
    }
    return part && memchr(s, '-', len) != NULL;
}

/* The route of an upgrade target (its path, any query), or -1 for a path the venue lacks. */
static int route_of(const char *target)
{
    size_t plen = strcspn(target, "?");

    if (plen == 13 && strncmp(target, "/ws/v5/public", 13) == 0)
        return OKXV_PUBLIC;
    if (plen == 15 && strncmp(target, "/ws/v5/business", 15) == 0)
        return OKXV_BUSINESS;
    return -1;
}

/* /ws/v5/public or /ws/v5/business under the connection limit: 0, or the HTTP status and the
 * venue's JSON body. */
static int okx_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    if (!conn_limit_check(p)) {
        *body = ERR_CONN_LIMIT;
        return 429;
    }
    if (route_of(target) < 0) {
        *body = ERR_PATH;
        return 404;
    }
    conn_limit_count(p->srv);
    return 0;
}

/* The connection's idle deadline: --okx-idle after the client's last message. */
static void set_idle(struct fv_peer *p)
{
    uint64_t idle = (uint64_t)(p->srv->o->okx.idle * 1000 + 0.5);

    p->venue_ms = idle ? okxv_peer(p)->last_rx_ms + idle : 0;
}

/* The connection's state (its route from the upgrade path) and its idle clock. */
static void okx_on_open(struct fv_peer *p)
{
    const struct fv_opts *o = p->srv->o;
    uint64_t h = (o->seed * 0x9e3779b97f4a7c15ull) ^ (p->id * 0xbf58476d1ce4e5b9ull);
    struct okx_peer *x = fv_xcalloc(1, sizeof(*x));
    int route = route_of(p->req.target);

    x->route = (uint8_t)(route < 0 ? OKXV_PUBLIC : route);
    snprintf(x->conn_id, sizeof(x->conn_id), "%08" PRIx32, (uint32_t)(h >> 32));
    x->req_times = fv_xcalloc((size_t)o->okx.req_limit, sizeof(uint64_t));
    x->last_rx_ms = fv_now_ms(p->srv);
    p->vstate = x;
    set_idle(p);
}

/* {"id"?,"event":"error","code":"C","msg":M,"connId":..}. */
static void send_error(struct fv_peer *p, json_t *id, const char *code, const char *msg)
{
    json_t *o = json_object();

    if (id)
        json_object_set(o, "id", id);
    json_object_set_new(o, "event", json_string("error"));
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "msg", json_string(msg));
    json_object_set_new(o, "connId", json_string(okxv_peer(p)->conn_id));
    p->srv->stats.errors++;
    fv_log("conn %u error %s", p->id, code);
    peer_send_json(p, o);
}

/* {"id"?,"event":ev,"arg":{..},"connId":..}. */
static void send_ack(struct fv_peer *p, json_t *id, const char *ev, json_t *arg)
{
    json_t *o = json_object();

    if (id)
        json_object_set(o, "id", id);
    json_object_set_new(o, "event", json_string(ev));
    json_object_set(o, "arg", arg);
    json_object_set_new(o, "connId", json_string(okxv_peer(p)->conn_id));
    peer_send_json(p, o);
}

/* The service-upgrade notice (--shutdown-after): event notice, code 64008. */
static void okx_send_notice(struct fv_peer *p)
{
    char buf[200];
    int n;

    if (!okxv_peer(p))
        return;
    n = snprintf(buf, sizeof(buf),
                 "{\"event\":\"notice\",\"code\":\"64008\",\"msg\":\"The connection will soon be "
                 "closed for a service upgrade. Please reconnect.\",\"connId\":\"%s\"}",
                 okxv_peer(p)->conn_id);
    peer_send_text(p, buf, (size_t)n);
    p->srv->stats.infos++;
    fv_log("conn %u notice 64008", p->id);
}

/* Counts one request against the limit; false when over it. */
static bool req_ok(struct fv_peer *p)
{
    struct okx_peer *x = okxv_peer(p);
    const struct fv_okx_opts *oo = &p->srv->o->okx;
    size_t n = (size_t)oo->req_limit;
    uint64_t now = fv_now_ms(p->srv), win = (uint64_t)(oo->req_window * 1000 + 0.5);

    if (x->req_n == n && now - x->req_times[x->req_head] < win)
        return false;
    x->req_times[x->req_head] = now;
    x->req_head = (x->req_head + 1) % n;
    if (x->req_n < n)
        x->req_n++;
    return true;
}

/* The subscription of p matching u (channel, bar, instrument), or -1. */
static int sub_find(const struct okx_peer *x, const struct okxv_sub *u)
{
    for (size_t i = 0; i < x->nsubs; i++)
        if (x->subs[i].ch == u->ch && x->subs[i].bar == u->bar && x->subs[i].sym == u->sym &&
            x->subs[i].sid == u->sid)
            return (int)i;
    return -1;
}

/* See okxv.h. */
bool okxv_key(const char *channel, const char *inst, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s:%s", channel, inst);

    return n > 0 && (size_t)n < cap;
}

/* Under --replay: sends the recorded ack of key, with the live request's id in place of the
 * recorded one when they differ (first, where the venue puts it). Returns the key's stream id,
 * or -1 when the recording never subscribed it. */
static int send_recorded_ack(struct fv_peer *p, json_t *id, const char *key)
{
    size_t len;
    int64_t chan;
    int sid;
    const char *t = replay_ack(p->srv, key, &len, &chan, &sid);
    json_t *rec, *rid, *o;
    const char *k;
    json_t *v;

    if (!t)
        return -1;
    rec = json_loadb(t, len, 0, NULL);
    rid = json_object_get(rec, "id");
    if (!rec || (!id && !rid) || (id && rid && json_equal(id, rid))) {
        peer_send_text(p, t, len); /* the recorded ack byte for byte */
        json_decref(rec);
        return sid;
    }
    o = json_object();
    if (id)
        json_object_set(o, "id", id);
    json_object_foreach(rec, k, v)
    {
        if (strcmp(k, "id") != 0)
            json_object_set(o, k, v);
    }
    json_decref(rec);
    peer_send_json(p, o);
    return sid;
}

/* Adds subscription u to the connection (in subscription order). */
static void sub_add(struct fv_peer *p, const struct okxv_sub *u)
{
    struct okx_peer *x = okxv_peer(p);

    if (x->nsubs == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        x->subs = realloc(x->subs, x->cap * sizeof(*x->subs));
        if (!x->subs)
            abort();
    }
    x->subs[x->nsubs++] = *u;
    p->srv->stats.subscribed++;
    p->srv->stats.channels++;
}

/* Ends subscription at of the connection: leaves the market or the replayed key. */
static void sub_drop(struct fv_peer *p, size_t at)
{
    struct okx_peer *x = okxv_peer(p);

    if (x->subs[at].sid >= 0)
        subs_remove(&p->subs, x->subs[at].sid);
    else
        okxv_detach(p->srv, &x->subs[at]);
    memmove(x->subs + at, x->subs + at + 1, (x->nsubs - at - 1) * sizeof(*x->subs));
    x->nsubs--;
    p->srv->stats.channels--;
}

/* One arg of a subscribe or unsubscribe: validated, then acked and (un)subscribed. A repeated
 * subscribe starts over (a new snapshot; under --replay the recorded ack again); an unsubscribe
 * ends it. */
static void do_arg(struct fv_peer *p, json_t *id, bool sub, json_t *arg)
{
    struct okx_peer *x = okxv_peer(p);
    json_t *jc = json_object_get(arg, "channel"), *ji = json_object_get(arg, "instId");
    const char *ch = json_is_string(jc) ? json_string_value(jc) : NULL;
    const char *inst = json_is_string(ji) ? json_string_value(ji) : NULL;
    bool replay = replay_on(p->srv), swap = false;
    struct okxv_sub u = {.sid = -1};
    char msg[240], key[128];
    int route, sym = 0, at;

    if (!ch || !inst) {
        char *t = json_dumps(arg, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

        snprintf(msg, sizeof(msg), "Invalid request: {\"op\": \"%s\", \"args\":[%.160s]}",
                 sub ? "subscribe" : "unsubscribe", t ? t : "");
        free(t);
        send_error(p, id, "60012", msg);
        return;
    }
    route = okxv_channel(ch, &u.ch, &u.bar);
    if (route == x->route && replay) {
        /* the recording's channels: a key it subscribed, or 60018 */
        if (!fvokx_inst_ok(inst, strlen(inst)) || !okxv_key(ch, inst, key, sizeof(key)) ||
            (sub && (u.sid = send_recorded_ack(p, id, key)) < 0) ||
            (!sub && (u.sid = streams_find(&p->srv->streams, key, strlen(key))) < 0))
            route = -1;
    } else if (route == x->route) {
        sym = okxv_symbol(p->srv, inst, &swap);
        if (sym < 0 || (u.ch == OKXV_FUNDING && !swap))
            route = -1;
    }
    if (route != x->route) {
        snprintf(msg, sizeof(msg),
                 "Wrong URL or channel:%.40s,instId:%.40s doesn't exist. Please use the correct "
                 "URL, channel and parameters referring to API document.",
                 ch, inst);
        send_error(p, id, "60018", msg);
        return;
    }
    u.sym = (uint16_t)sym;
    at = sub_find(x, &u);
    if (!replay || !sub)
        send_ack(p, id, sub ? "subscribe" : "unsubscribe", arg);
    if (at >= 0) {
        sub_drop(p, (size_t)at);
        if (!sub)
            p->srv->stats.unsubscribed++;
    }
    if (!sub)
        return;
    sub_add(p, &u);
    fv_log("conn %u subscribed %s %s", p->id, ch, inst);
    if (replay) {
        subs_add(&p->subs, u.sid);
        replay_on_subscribe(p->srv);
    } else {
        okxv_attach(p->srv, p, &x->subs[x->nsubs - 1]);
    }
}

/* A text message from the client: "ping", or an op with args. */
static void okx_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    json_t *root, *op, *args, *id;
    const char *o;
    char msg[240];

    if (!okxv_peer(p))
        return;
    okxv_peer(p)->last_rx_ms = fv_now_ms(p->srv);
    if (len == 4 && memcmp(data, "ping", 4) == 0) {
        peer_send_text(p, "pong", 4);
        return;
    }
    root = json_loadb((const char *)data, len, 0, NULL);
    op = json_object_get(root, "op");
    args = json_object_get(root, "args");
    id = json_object_get(root, "id");
    o = json_is_string(op) ? json_string_value(op) : "";
    if (id && !json_is_string(id))
        id = NULL;
    if ((strcmp(o, "subscribe") != 0 && strcmp(o, "unsubscribe") != 0) || !json_is_array(args) ||
        !json_array_size(args)) {
        snprintf(msg, sizeof(msg), "Invalid request: %.*s", (int)(len < 180 ? len : 180),
                 (const char *)data);
        send_error(p, id, "60012", msg);
        goto out;
    }
    if (!req_ok(p)) {
        send_error(p, id, "60014", "Requests too frequent.");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(args); i++)
        do_arg(p, id, o[0] == 's', json_array_get(args, i));
out:
    json_decref(root);
}

/* The idle deadline passed: a connection whose client was silent --okx-idle seconds is
 * closed (the venue's cut); one that spoke since gets its deadline moved. */
static void okx_on_deadline(struct fv_peer *p, uint64_t now)
{
    struct okx_peer *x = okxv_peer(p);
    uint64_t idle = (uint64_t)(p->srv->o->okx.idle * 1000 + 0.5);

    if (!x || !idle)
        return;
    if (now - x->last_rx_ms >= idle && peer_live(p)) {
        peer_ws_close(p, WS_CLOSE_NORMAL, "idle");
        return;
    }
    set_idle(p);
}

/* The connection is closing: drops its subscriptions and frees its state. */
static void okx_on_close(struct fv_peer *p)
{
    struct okx_peer *x = okxv_peer(p);

    if (!x)
        return;
    for (size_t i = 0; i < x->nsubs; i++)
        if (x->subs[i].sid < 0)
            okxv_detach(p->srv, &x->subs[i]);
    p->srv->stats.channels -= x->nsubs;
    free(x->subs);
    free(x->req_times);
    free(x);
    p->vstate = NULL;
}

/* ---- the module (fv.h, struct fv_proto) ---- */

/* Checks a comma list of instIds (--market). NULL, or a usage error. */
static const char *inst_list(const char *v)
{
    static char err[160];
    const char *s = v;

    while (*s) {
        size_t len = strcspn(s, ",");

        if (!fvokx_inst_ok(s, len)) {
            snprintf(err, sizeof(err),
                     "--market: a comma list such as BTC-USDT,BTC-USDT-SWAP, "
                     "got '%.*s'",
                     (int)(len < 40 ? len : 40), s);
            return err;
        }
        s += len;
        if (*s == ',' && !*++s)
            return "--market: a list may not end with ','";
    }
    return *v ? NULL : "--market: a comma list such as BTC-USDT,BTC-USDT-SWAP";
}

/* No server pings (the client sends "ping"), no per-second message limit (requests are limited
 * per hour), no lifetime; 3 connection attempts a second (src/venue/README.md 4.2). The market
 * is generated (--market, --market-rate, --market-events), or replayed (--replay). */
static const char *okx_options(struct fv_opts *o)
{
    static char err[160];
    const char *b = o->rest_file                  ? "--rest"
                    : o->synth                    ? "--synthetic"
                    : o->market_quiet             ? "--market-quiet"
                    : o->market_sparse            ? "--market-sparse"
                    : o->n_refuse                 ? "--refuse-stream"
                    : o->market_max               ? "--market-rate max"
                    : o->market && o->replay_file ? "--market with --replay"
                                                  : NULL;

    if (b) {
        snprintf(err, sizeof(err), "--venue okx generates or replays its own market: no %s", b);
        return err;
    }
    if (o->market && (b = inst_list(o->market)) != NULL)
        return b;
    if (o->ping_interval < 0)
        o->ping_interval = 0;
    if (o->pong_timeout < 0)
        o->pong_timeout = 0;
    if (o->rate_limit < 0)
        o->rate_limit = 0;
    if (o->max_streams < 0)
        o->max_streams = 1024;
    if (o->lifetime < 0)
        o->lifetime = 0;
    if (o->weight_limit < 0)
        o->weight_limit = 0;
    if (o->conn_limit < 0) {
        o->conn_limit = 3;
        o->conn_window = 1;
    }
    return NULL;
}

/* The market, unless the channels come from --replay. */
static int okx_init(struct fv_server *s)
{
    return replay_on(s) ? 0 : fvokx_init(s);
}

/* No REST API here: 404 with the venue's error body. */
static void okx_rest(struct fv_peer *p)
{
    peer_http_respond(p, 404, "application/json", NULL, ERR_PATH, strlen(ERR_PATH));
}

const struct fv_proto fv_proto_okx = {
    .name = "okx",
    .flags = FV_PROTO_NOTICE_FAULTED | FV_PROTO_OWN_MARKET,
    .options = okx_options,
    .init = okx_init,
    .on_upgrade = okx_upgrade,
    .on_open = okx_on_open,
    .on_text = okx_on_text,
    .on_deadline = okx_on_deadline,
    .send_shutdown = okx_send_notice,
    .on_close = okx_on_close,
    .rest = okx_rest,
    .stop = fvokx_stop,
    .fini = fvokx_fini,
    .replay_line = okx_replay_line,
};
