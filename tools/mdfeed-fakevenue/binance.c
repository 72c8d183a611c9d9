/*
 * The Binance market-stream protocol, spot and USD-M futures (src/venue/README.md 1.2, 1.4, 2.1):
 * upgrade paths (raw /ws, /ws/<stream>; combined /stream?streams=a/b; futures under /public and
 * /market), the live control methods with the venue's replies and error codes, and the framing of
 * stream messages (bare payload, or {"stream":..,"data":..} when combined).
 *
 * Futures routing copies the venue's 2026 behaviour: a stream subscribed on the wrong path is
 * acknowledged like any other but never delivers; an unrouted path serves /public streams only.
 * New connections are limited as the venue limits them per IP (--conn-limit N/S: upgrades beyond
 * N in any S seconds get 429 before the upgrade).
 * Control replies are built with jansson (control path); stream messages never are.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

static const char *const ERR_PATH = "{\"code\":-1,\"msg\":\"Unknown path.\"}";
static const char *const ERR_TOO_MANY = "{\"code\":2,\"msg\":\"Too many streams in the path.\"}";
static const char *const ERR_QUERY = "{\"code\":-1,\"msg\":\"Bad stream name in the path.\"}";
static const char *const ERR_CONN_LIMIT =
    "{\"code\":-1003,\"msg\":\"Too many new connections; the limit is per IP and window.\"}";

/* See fv.h. Upgrades in the window are counted from the ring of their times. */
bool conn_limit_check(struct fv_peer *p)
{
    struct fv_server *s = p->srv;
    const struct fv_opts *o = s->o;
    uint64_t window = (uint64_t)(o->conn_window * 1000 + 0.5);

    if (o->conn_limit <= 0 || s->conn_n < (size_t)o->conn_limit ||
        fv_now_ms(s) - s->conn_times[s->conn_head] >= window)
        return true;
    fv_log("conn %u refused conn-limit", p->id);
    s->stats.refused++;
    return false;
}

/* See fv.h. */
void conn_limit_count(struct fv_server *s)
{
    size_t n = (size_t)s->o->conn_limit;

    if (s->o->conn_limit <= 0)
        return;
    if (!s->conn_times)
        s->conn_times = fv_xcalloc(n, sizeof(*s->conn_times));
    s->conn_times[s->conn_head] = fv_now_ms(s);
    s->conn_head = (s->conn_head + 1) % n;
    if (s->conn_n < n)
        s->conn_n++;
}

/* Decodes %XX escapes of src[0..n) into dst (cap bytes). Returns the length or -1. */
static int url_decode(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];

        if (c == '%' && i + 2 < n && isxdigit((unsigned char)src[i + 1]) &&
            isxdigit((unsigned char)src[i + 2])) {
            char hex[3] = {src[i + 1], src[i + 2], 0};

            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return (int)o;
}

/* Subscribes the '/'-separated stream names in list[0..n). Returns 0, or an HTTP status. */
static int subscribe_list(struct fv_peer *p, const char *list, size_t n, const char **body)
{
    struct fv_server *s = p->srv;
    size_t i = 0;

    while (i < n) {
        size_t len = 0;
        char name[256];
        int dl;

        while (i + len < n && list[i + len] != '/')
            len++;
        if (len) {
            dl = url_decode(name, sizeof(name), list + i, len);
            if (dl <= 0) {
                *body = ERR_QUERY;
                return 400;
            }
            if (!subs_has(&p->subs, streams_find(&s->streams, name, (size_t)dl)) &&
                p->subs.n >= (size_t)s->o->max_streams) {
                *body = ERR_TOO_MANY;
                return 400;
            }
            subs_add(&p->subs, streams_intern(&s->streams, name, (size_t)dl));
        }
        i += len + 1;
    }
    return 0;
}

/* binance_upgrade() without the counting (below). */
static int check_upgrade(struct fv_peer *p, const char *target, const char **body);

/* See fv.h. Sets the framing (raw /ws, combined /stream) and, on futures, the route class
 * from the /public or /market prefix. Over --conn-limit the answer is 429. */
int binance_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    int st = check_upgrade(p, target, body);

    if (st == 0)
        conn_limit_count(p->srv);
    return st;
}

/* binance_upgrade() without the counting. */
static int check_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    const char *path = target, *query, *q;
    size_t plen;
    bool ws_path;

    if (!conn_limit_check(p)) {
        *body = ERR_CONN_LIMIT;
        return 429;
    }
    *body = ERR_PATH;
    p->route = FV_ROUTE_ANY;
    subs_fini(&p->subs); /* an earlier refused upgrade on this connection left nothing */
    if (!fv_binance_spot(p->srv->o)) {
        p->route = FV_ROUTE_PUBLIC; /* an unrouted path gets /public streams only */
        if (strncmp(path, "/public/", 8) == 0) {
            path += 7;
        } else if (strncmp(path, "/market/", 8) == 0) {
            p->route = FV_ROUTE_MARKET;
            path += 7;
        }
    }
    query = strchr(path, '?');
    plen = query ? (size_t)(query - path) : strlen(path);
    if (plen == 3 && strncmp(path, "/ws", 3) == 0) {
        ws_path = true;
    } else if (plen > 4 && strncmp(path, "/ws/", 4) == 0) {
        ws_path = true;
    } else if (plen == 7 && strncmp(path, "/stream", 7) == 0) {
        ws_path = false;
    } else {
        return 404;
    }
    p->combined = !ws_path;
    if (ws_path && plen > 4) {
        int st = subscribe_list(p, path + 4, plen - 4, body);

        if (st)
            return st;
    }
    /* Query: streams= (combined), timeUnit= (accepted and ignored), anything else ignored. */
    for (q = query ? query + 1 : NULL; q && *q;) {
        size_t len = strcspn(q, "&");

        if (!ws_path && len > 8 && strncmp(q, "streams=", 8) == 0) {
            int st = subscribe_list(p, q + 8, len - 8, body);

            if (st)
                return st;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* See fv.h. */
bool binance_delivers(const struct fv_peer *p, int sid)
{
    return subs_has(&p->subs, sid) &&
           (p->route == FV_ROUTE_ANY || p->srv->streams.v[sid].route == p->route);
}

/* See fv.h. The wrapper is built in the server's scratch buffer when not given. */
void binance_send(struct fv_peer *p, int sid, const char *combined, size_t clen, const char *raw,
                  size_t rlen)
{
    struct fv_server *s = p->srv;
    struct fv_buf *b = &s->scratch;
    const char *name;
    size_t nlen;

    if (!p->combined) {
        fault_send_data(p, sid, (const uint8_t *)raw, rlen);
        return;
    }
    if (combined) {
        fault_send_data(p, sid, (const uint8_t *)combined, clen);
        return;
    }
    name = s->streams.v[sid].name;
    nlen = strlen(name);
    b->len = 0;
    fv_buf_append(b, "{\"stream\":\"", 11);
    fv_buf_append(b, name, nlen);
    fv_buf_append(b, "\",\"data\":", 9);
    fv_buf_append(b, raw, rlen);
    fv_buf_append(b, "}", 1);
    fault_send_data(p, sid, b->data, b->len);
}

/* See fv.h. Not a data message: fault counts do not include it. */
void binance_send_shutdown(struct fv_peer *p)
{
    char msg[128];
    int n;

    if (p->combined)
        n = snprintf(msg, sizeof(msg),
                     "{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\","
                     "\"E\":%" PRId64 "}}",
                     fv_wall_ms());
    else
        n = snprintf(msg, sizeof(msg), "{\"e\":\"serverShutdown\",\"E\":%" PRId64 "}",
                     fv_wall_ms());
    peer_send_text(p, msg, (size_t)n);
    fv_log("conn %u server-shutdown-sent", p->id);
}

/* ---- control methods ---- */

/* {"result":<result>,"id":<id>}; steals result, borrows id. */
static void reply_result(struct fv_peer *p, json_t *result, json_t *id)
{
    json_t *o = json_object();

    json_object_set_new(o, "result", result);
    json_object_set(o, "id", id ? id : json_null());
    peer_send_json(p, o);
}

/* {"code":N,"msg":"...","id":<id>}; borrows id. */
static void reply_error(struct fv_peer *p, int code, const char *msg, json_t *id)
{
    json_t *o = json_object();

    json_object_set_new(o, "code", json_integer(code));
    json_object_set_new(o, "msg", json_string(msg));
    json_object_set(o, "id", id ? id : json_null());
    peer_send_json(p, o);
}

/* The venue accepts a signed 64-bit integer, a short alphanumeric string or null as id. */
static bool id_valid(json_t *id)
{
    const char *s;

    if (!id || json_is_null(id) || json_is_integer(id))
        return true;
    if (!json_is_string(id) || json_string_length(id) > 36)
        return false;
    for (s = json_string_value(id); *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* The first name of params that --refuse-stream names, or NULL. */
static const char *refused_name(const struct fv_opts *o, json_t *params)
{
    size_t i;
    json_t *v;

    json_array_foreach(params, i, v)
    {
        for (size_t k = 0; k < o->n_refuse; k++)
            if (strcmp(json_string_value(v), o->refuse[k]) == 0)
                return o->refuse[k];
    }
    return NULL;
}

/* SUBSCRIBE: all of params or none (a --refuse-stream name, the --max-streams cap). */
static void do_subscribe(struct fv_peer *p, json_t *params, json_t *id)
{
    struct fv_server *s = p->srv;
    size_t i, fresh = 0;
    const char *bad;
    json_t *v;
    int *ids;
    bool any = false;

    if (!json_is_array(params)) {
        reply_error(p, 2, "Invalid request: 'params' must be an array of stream names", id);
        return;
    }
    json_array_foreach(params, i, v)
    {
        if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200) {
            reply_error(p, 2, "Invalid request: each stream name must be a non-empty string", id);
            return;
        }
    }
    if ((bad = refused_name(s->o, params)) != NULL) {
        char msg[260];

        snprintf(msg, sizeof(msg), "Invalid request: invalid stream name `%s`", bad);
        fv_log("conn %u refused stream %s", p->id, bad);
        reply_error(p, 2, msg, id);
        return;
    }
    ids = fv_xcalloc(json_array_size(params) + 1, sizeof(int));
    json_array_foreach(params, i, v)
    {
        int sid = streams_intern(&s->streams, json_string_value(v), json_string_length(v));
        bool dup = subs_has(&p->subs, sid);

        for (size_t j = 0; j < i && !dup; j++)
            dup = ids[j] == sid;
        ids[i] = sid;
        if (!dup)
            fresh++;
    }
    if (p->subs.n + fresh > (size_t)s->o->max_streams) {
        char msg[160];

        snprintf(msg, sizeof(msg),
                 "Invalid request: too many streams: %zu subscribed + %zu new exceeds the limit "
                 "of %d per connection",
                 p->subs.n, fresh, s->o->max_streams);
        reply_error(p, 2, msg, id);
        free(ids);
        return;
    }
    for (i = 0; i < json_array_size(params); i++)
        any |= subs_add(&p->subs, ids[i]);
    free(ids);
    reply_result(p, json_null(), id);
    if (any) {
        replay_on_subscribe(s);
        synth_kick(s);
        market_kick(s);
    }
}

/* UNSUBSCRIBE: names not subscribed are ignored, as the venue does. */
static void do_unsubscribe(struct fv_peer *p, json_t *params, json_t *id)
{
    struct fv_server *s = p->srv;
    size_t i;
    json_t *v;

    if (!json_is_array(params)) {
        reply_error(p, 2, "Invalid request: 'params' must be an array of stream names", id);
        return;
    }
    json_array_foreach(params, i, v)
    {
        if (!json_is_string(v)) {
            reply_error(p, 2, "Invalid request: each stream name must be a string", id);
            return;
        }
    }
    json_array_foreach(params, i, v)
    {
        int sid = streams_find(&s->streams, json_string_value(v), json_string_length(v));

        if (sid >= 0)
            subs_remove(&p->subs, sid);
    }
    p->syn.rr = 0;
    reply_result(p, json_null(), id);
}

/* LIST_SUBSCRIPTIONS: the names in subscription order. */
static void do_list(struct fv_peer *p, json_t *id)
{
    json_t *a = json_array();

    for (size_t i = 0; i < p->subs.n; i++)
        json_array_append_new(a, json_string(p->srv->streams.v[p->subs.ids[i]].name));
    reply_result(p, a, id);
}

/* SET_PROPERTY ["combined", bool] and GET_PROPERTY ["combined"]. */
static void do_property(struct fv_peer *p, bool set, json_t *params, json_t *id)
{
    json_t *name, *val;

    if (!json_is_array(params) || json_array_size(params) < 1) {
        reply_error(p, 2, "Invalid request: 'params' must name a property", id);
        return;
    }
    if (json_array_size(params) > (set ? 2u : 1u)) {
        reply_error(p, 2, "Invalid request: too many parameters", id);
        return;
    }
    name = json_array_get(params, 0);
    if (!json_is_string(name)) {
        reply_error(p, 2, "Invalid request: property name must be a string", id);
        return;
    }
    if (strcmp(json_string_value(name), "combined") != 0) {
        reply_error(p, 0, "Unknown property", id);
        return;
    }
    if (!set) {
        reply_result(p, json_boolean(p->combined), id);
        return;
    }
    val = json_array_get(params, 1);
    if (!json_is_boolean(val)) {
        reply_error(p, 1, "Invalid value type: expected Boolean", id);
        return;
    }
    p->combined = json_is_true(val);
    reply_result(p, json_null(), id);
}

/* See fv.h. One reply per request, success or error (src/venue/README.md 1.4). */
void binance_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_DECODE_ANY, &jerr);
    json_t *id, *method, *params;
    const char *m;

    if (!root) {
        char msg[256];

        snprintf(msg, sizeof(msg), "Invalid JSON: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        reply_error(p, 3, msg, NULL);
        goto out;
    }
    if (!json_is_object(root)) {
        reply_error(p, 2, "Invalid request: the request must be a JSON object", NULL);
        goto out;
    }
    id = json_object_get(root, "id");
    if (!id_valid(id)) {
        reply_error(p, 2,
                    "Invalid request: request ID must be an integer, a string of at most 36 "
                    "characters or null",
                    NULL);
        goto out;
    }
    method = json_object_get(root, "method");
    params = json_object_get(root, "params");
    if (!method) {
        reply_error(p, 2, "Invalid request: missing field `method`", id);
        goto out;
    }
    m = json_is_string(method) ? json_string_value(method) : "";
    if (strcmp(m, "SUBSCRIBE") == 0) {
        do_subscribe(p, params, id);
    } else if (strcmp(m, "UNSUBSCRIBE") == 0) {
        do_unsubscribe(p, params, id);
    } else if (strcmp(m, "LIST_SUBSCRIPTIONS") == 0) {
        if (params && !(json_is_array(params) && json_array_size(params) == 0))
            reply_error(p, 2, "Invalid request: too many parameters", id);
        else
            do_list(p, id);
    } else if (strcmp(m, "SET_PROPERTY") == 0) {
        do_property(p, true, params, id);
    } else if (strcmp(m, "GET_PROPERTY") == 0) {
        do_property(p, false, params, id);
    } else {
        char msg[200];

        snprintf(msg, sizeof(msg),
                 "Invalid request: unknown variant `%.40s`, expected one of `SUBSCRIBE`, "
                 "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
                 m);
        reply_error(p, 2, msg, id);
    }
out:
    json_decref(root);
}

/* ---- the module (fv.h, struct fv_proto) ---- */

/* The venue's defaults: server pings every 20 s (futures 180 s) answered within 60 s (600 s),
 * 5 (10) client messages a second, 1024 (200) streams, 24 h connections, 6000 (2400) REST
 * weight a minute, no connection limit. */
static const char *binance_options(struct fv_opts *o)
{
    bool spot = fv_binance_spot(o);

    if (o->ping_interval < 0)
        o->ping_interval = spot ? 20 : 180;
    if (o->pong_timeout < 0)
        o->pong_timeout = spot ? 60 : 600;
    if (o->rate_limit < 0)
        o->rate_limit = spot ? 5 : 10;
    if (o->max_streams < 0)
        o->max_streams = spot ? 1024 : 200;
    if (o->lifetime < 0)
        o->lifetime = 86400;
    if (o->weight_limit < 0)
        o->weight_limit = spot ? 6000 : 2400;
    if (o->conn_limit < 0)
        o->conn_limit = 0;
    return NULL;
}

/* The synthetic load and the synthetic market (each idle unless its option is given). */
static int binance_init(struct fv_server *s)
{
    synth_init(s);
    market_init(s);
    return 0;
}

/* A connection subscribed by its URL starts the replay and the generators at once. */
static void binance_on_open(struct fv_peer *p)
{
    if (p->subs.n) {
        replay_on_subscribe(p->srv);
        synth_kick(p->srv);
        market_kick(p->srv);
    }
}

static void binance_on_drain(struct fv_server *s)
{
    synth_kick(s);
    market_on_drain(s);
}

static void binance_stop(struct fv_server *s)
{
    synth_stop(s);
    market_stop(s);
}

static void binance_fini(struct fv_server *s)
{
    market_fini(s);
}

#define BINANCE_MODULE(name_, variant_)                                                            \
    {                                                                                              \
        .name = (name_), .variant = (variant_), .flags = FV_PROTO_LOOP,                            \
        .options = binance_options, .init = binance_init, .on_upgrade = binance_upgrade,           \
        .on_open = binance_on_open, .on_text = binance_on_text,                                    \
        .send_shutdown = binance_send_shutdown, .on_drain = binance_on_drain,                      \
        .rest = binance_rest, .stop = binance_stop, .fini = binance_fini,                          \
        .replay_line = binance_replay_line, .replay_wants = binance_replay_wants,                  \
        .replay_send = binance_replay_send,                                                        \
    }

const struct fv_proto fv_proto_binance_spot = BINANCE_MODULE("binance-spot", FV_BINANCE_SPOT);
const struct fv_proto fv_proto_binance_futures =
    BINANCE_MODULE("binance-futures", FV_BINANCE_FUTURES);
