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

/* See fv.h. */
int fvokx_on_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    const struct fv_opts *o = p->srv->o;
    uint64_t h = (o->seed * 0x9e3779b97f4a7c15ull) ^ (p->id * 0xbf58476d1ce4e5b9ull);
    size_t plen = strcspn(target, "?");
    struct okx_peer *x;
    int route;

    if (!conn_limit_check(p)) {
        *body = ERR_CONN_LIMIT;
        return 429;
    }
    if (plen == 13 && strncmp(target, "/ws/v5/public", 13) == 0)
        route = OKXV_PUBLIC;
    else if (plen == 15 && strncmp(target, "/ws/v5/business", 15) == 0)
        route = OKXV_BUSINESS;
    else {
        *body = ERR_PATH;
        return 404;
    }
    conn_limit_count(p->srv);
    /* The connection's state from now on (fvokx_on_close() frees it, upgraded or not). */
    x = fv_xcalloc(1, sizeof(*x));
    x->route = (uint8_t)route;
    snprintf(x->conn_id, sizeof(x->conn_id), "%08" PRIx32, (uint32_t)(h >> 32));
    x->req_times = fv_xcalloc((size_t)o->okx.req_limit, sizeof(uint64_t));
    p->okx = x;
    return 0;
}

/* See fv.h. The idle clock starts. */
void fvokx_on_open(struct fv_peer *p)
{
    if (p->okx)
        p->okx->last_rx_ms = fv_now_ms(p->srv);
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
    json_object_set_new(o, "connId", json_string(p->okx->conn_id));
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
    json_object_set_new(o, "connId", json_string(p->okx->conn_id));
    peer_send_json(p, o);
}

/* See fv.h. */
void fvokx_send_notice(struct fv_peer *p)
{
    char buf[200];
    int n;

    if (!p->okx)
        return;
    n = snprintf(buf, sizeof(buf),
                 "{\"event\":\"notice\",\"code\":\"64008\",\"msg\":\"The connection will soon be "
                 "closed for a service upgrade. Please reconnect.\",\"connId\":\"%s\"}",
                 p->okx->conn_id);
    peer_send_text(p, buf, (size_t)n);
    p->srv->stats.infos++;
    fv_log("conn %u notice 64008", p->id);
}

/* Counts one request against the limit; false when over it. */
static bool req_ok(struct fv_peer *p)
{
    struct okx_peer *x = p->okx;
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
        if (x->subs[i].ch == u->ch && x->subs[i].bar == u->bar && x->subs[i].sym == u->sym)
            return (int)i;
    return -1;
}

/* One arg of a subscribe or unsubscribe: validated, then acked and (un)subscribed. */
static void do_arg(struct fv_peer *p, json_t *id, bool sub, json_t *arg)
{
    struct okx_peer *x = p->okx;
    json_t *jc = json_object_get(arg, "channel"), *ji = json_object_get(arg, "instId");
    const char *ch = json_is_string(jc) ? json_string_value(jc) : NULL;
    const char *inst = json_is_string(ji) ? json_string_value(ji) : NULL;
    struct okxv_sub u = {0};
    char msg[240];
    bool swap = false;
    int route, sym, at;

    if (!ch || !inst) {
        char *t = json_dumps(arg, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

        snprintf(msg, sizeof(msg), "Invalid request: {\"op\": \"%s\", \"args\":[%.160s]}",
                 sub ? "subscribe" : "unsubscribe", t ? t : "");
        free(t);
        send_error(p, id, "60012", msg);
        return;
    }
    route = okxv_channel(ch, &u.ch, &u.bar);
    sym = route < 0 ? -1 : okxv_symbol(p->srv, inst, &swap);
    if (route != x->route || sym < 0 || (u.ch == OKXV_FUNDING && !swap)) {
        snprintf(msg, sizeof(msg),
                 "Wrong URL or channel:%.40s,instId:%.40s doesn't exist. Please use the correct "
                 "URL, channel and parameters referring to API document.",
                 ch, inst);
        send_error(p, id, "60018", msg);
        return;
    }
    u.sym = (uint16_t)sym;
    at = sub_find(x, &u);
    send_ack(p, id, sub ? "subscribe" : "unsubscribe", arg);
    if (at >= 0) {
        /* a repeated subscribe starts over (a new snapshot); an unsubscribe ends it */
        okxv_detach(p->srv, &x->subs[at]);
        memmove(x->subs + at, x->subs + at + 1, (x->nsubs - (size_t)at - 1) * sizeof(*x->subs));
        x->nsubs--;
        p->srv->stats.channels--;
        if (!sub)
            p->srv->stats.unsubscribed++;
    }
    if (!sub)
        return;
    if (x->nsubs == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        x->subs = realloc(x->subs, x->cap * sizeof(*x->subs));
        if (!x->subs)
            abort();
    }
    x->subs[x->nsubs] = u;
    p->srv->stats.subscribed++;
    p->srv->stats.channels++;
    fv_log("conn %u subscribed %s %s", p->id, ch, inst);
    okxv_attach(p->srv, p, &x->subs[x->nsubs++]);
}

/* See fv.h. */
void fvokx_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    json_t *root, *op, *args, *id;
    const char *o;
    char msg[240];

    if (!p->okx)
        return;
    p->okx->last_rx_ms = fv_now_ms(p->srv);
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

/* See okxv.h: connections whose client was silent --okx-idle seconds are closed. */
void okxv_peers_tick(struct fv_server *s, uint64_t now)
{
    uint64_t idle = (uint64_t)(s->o->okx.idle * 1000 + 0.5);

    for (struct fv_peer *p = s->peers; p; p = p->next) {
        if (p->okx && peer_live(p) && idle && now - p->okx->last_rx_ms >= idle) {
            p->okx->last_rx_ms = now;
            peer_ws_close(p, WS_CLOSE_NORMAL, "idle");
        }
    }
}

/* See fv.h. */
void fvokx_on_close(struct fv_peer *p)
{
    struct okx_peer *x = p->okx;

    if (!x)
        return;
    for (size_t i = 0; i < x->nsubs; i++)
        okxv_detach(p->srv, &x->subs[i]);
    p->srv->stats.channels -= x->nsubs;
    free(x->subs);
    free(x->req_times);
    free(x);
    p->okx = NULL;
}
