/*
 * The Bybit v5 public WebSocket protocol (src/venue/README.md 4.1) of the fake venue, --venue
 * bybit-spot or bybit-linear: the upgrade on /v5/public/{spot,linear} under the connection limit,
 * the client's ops (subscribe, unsubscribe, ping) with the venue's replies, the cut of a
 * connection that sends no ping for --bybit-idle-cut seconds, and the delivery of data messages
 * through the fault flags with the Bybit book gap faults.
 *
 * Replies: {"success":..,"ret_msg":..,"conn_id":..,"req_id":..,"op":..}; spot's subscribe
 * ret_msg is "subscribe" and its pong leaves req_id out when the ping had none; linear's ret_msg
 * is "" and req_id is always there ("" when none). A subscribe or unsubscribe is accepted or
 * refused as a whole: more than 10 args on spot ("args size >10"), args longer than 21,000
 * characters, a topic the category does not serve ("error:handler not found,topic:T"), one
 * already subscribed or (unsubscribe) not subscribed, or over --max-streams.
 *
 * What a topic carries comes from the market (bybit_market.c), shared by every connection; this
 * file keeps each connection's topics. Under --replay there is no market: a subscribe whose
 * topics are all in the recording is answered with the recorded reply to the recorded request
 * holding one of them (bybit_replay.c says which line is which), with the live request's req_id,
 * the topics' stream ids go into p->subs and their recorded messages come from the replay clock
 * (replay.c) as recorded. Control replies are built with jansson (control path); data messages
 * never are. The module table entries (bybit-spot, bybit-linear) are at the end of this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

#define BYB_SPOT_ARGS_MAX 10     /* args per request on spot */
#define BYB_ARGS_CHARS_MAX 21000 /* characters of a request's args, quotes and commas included */

/* A Bybit connection. */
struct byb_peer {
    int *gens;             /* subscribed market generators, in subscription order */
    size_t n, cap;         /* used, allocated */
    uint64_t last_ping_ms; /* loop time of the last ping op (or of the upgrade) */
    char conn_id[48];      /* the conn_id of every reply */
    bool gap_done;         /* --bybit-gap dropped its delta on this connection */
};

static const char *const ERR_PATH = "{\"retCode\":10404,\"retMsg\":\"not found\"}";
static const char *const ERR_CONN_LIMIT = "{\"retCode\":10006,\"retMsg\":\"Too many visits!\"}";

/* See fv.h. */
bool bybit_spot(const struct fv_server *s)
{
    return s->o->proto->variant == FV_BYBIT_SPOT;
}

/* See fv.h. */
bool bybit_symbol_ok(const char *s, size_t len)
{
    if (len < 2 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* The idle cut in ms (--bybit-idle-cut), 0 = never. */
static uint64_t idle_cut_ms(const struct fv_server *s)
{
    return (uint64_t)(s->o->byb.idle_cut * 1000 + 0.5);
}

/* Checks an upgrade target (/v5/public/spot or /v5/public/linear; both serve the --venue
 * category) and the connection limit. Returns 0, or an HTTP status with a JSON body in *body
 * (static). */
static int bybit_on_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    size_t plen = strcspn(target, "?");

    if (!conn_limit_check(p)) {
        *body = ERR_CONN_LIMIT;
        return 429;
    }
    if (!(plen == 15 && strncmp(target, "/v5/public/spot", 15) == 0) &&
        !(plen == 17 && strncmp(target, "/v5/public/linear", 17) == 0)) {
        *body = ERR_PATH;
        return 404;
    }
    conn_limit_count(p->srv);
    return 0;
}

/* The connection is upgraded: its state, and the idle cut's deadline. */
static void bybit_on_open(struct fv_peer *p)
{
    struct byb_peer *x = fv_xcalloc(1, sizeof(*x));
    uint64_t h = p->srv->o->seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)p->id << 17);
    uint64_t cut = idle_cut_ms(p->srv);

    x->last_ping_ms = fv_now_ms(p->srv);
    snprintf(x->conn_id, sizeof(x->conn_id), "%016" PRIx64 "-%u",
             (uint64_t)(h * 0xbf58476d1ce4e5b9ull), p->id);
    p->vstate = x;
    if (cut)
        p->venue_ms = x->last_ping_ms + cut;
}

/* The venue cuts a connection that sent no ping for about 10 minutes (--bybit-idle-cut): a TCP
 * FIN after the pending output, no close frame. A ping since moves the deadline on. */
static void bybit_on_deadline(struct fv_peer *p, uint64_t now_ms)
{
    struct byb_peer *x = p->vstate;
    uint64_t cut = idle_cut_ms(p->srv);

    if (!x || !cut || p->cstate != FV_OPEN)
        return;
    if (now_ms - x->last_ping_ms >= cut)
        peer_drop(p, "idle-cut", FV_DROP_FIN);
    else
        p->venue_ms = x->last_ping_ms + cut;
}

/* Sends an op reply: success, ret_msg, conn_id, req_id (spot pongs leave an absent one out),
 * op. */
static void reply(struct fv_peer *p, bool ok, const char *ret_msg, json_t *req_id, bool req_id_opt,
                  const char *op)
{
    struct byb_peer *x = p->vstate;
    json_t *o = json_object();

    json_object_set_new(o, "success", json_boolean(ok));
    json_object_set_new(o, "ret_msg", json_string(ret_msg));
    json_object_set_new(o, "conn_id", json_string(x->conn_id));
    if (json_is_string(req_id))
        json_object_set(o, "req_id", req_id);
    else if (!req_id_opt)
        json_object_set_new(o, "req_id", json_string(""));
    json_object_set_new(o, "op", json_string(op));
    peer_send_json(p, o);
    if (!ok) {
        p->srv->stats.errors++;
        fv_log("conn %u refused %s: %s", p->id, op, ret_msg);
    }
}

/* --replay: sends the recorded reply rec[0..len) to a subscribe with the live request's req_id
 * (the client matches replies by it; "" when it sent none). Returns the reply's success. */
static bool send_recorded(struct fv_peer *p, const char *rec, size_t len, json_t *req_id)
{
    json_t *o = json_loadb(rec, len, 0, NULL);
    json_t *okv = json_object_get(o, "success"), *msg = json_object_get(o, "ret_msg");
    bool ok = json_is_true(okv);

    if (!ok) {
        p->srv->stats.errors++;
        fv_log("conn %u refused subscribe: %s (recorded)", p->id,
               json_is_string(msg) ? json_string_value(msg) : "");
    }
    if (json_is_string(req_id))
        json_object_set(o, "req_id", req_id);
    else if (json_object_get(o, "req_id"))
        json_object_set_new(o, "req_id", json_string(""));
    peer_send_json(p, o);
    return ok;
}

/* The index of gen in the connection's topics, or -1. */
static int find_gen(const struct byb_peer *x, int gen)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->gens[i] == gen)
            return (int)i;
    return -1;
}

/* True when the connection has topic id (a market generator, or under --replay a stream id). */
static bool has_topic(const struct fv_peer *p, int id)
{
    if (replay_on(p->srv))
        return subs_has(&p->subs, id);
    return find_gen(p->vstate, id) >= 0;
}

/* Checks the args of a subscribe or unsubscribe as a whole; fills gens[] (room for n) with
 * market generators, or under --replay with the topics' stream ids (a topic the recording does
 * not have is refused). Returns NULL or the refusal's ret_msg (in msg). */
static const char *check_args(struct fv_peer *p, json_t *args, bool sub, int *gens, char *msg,
                              size_t cap)
{
    struct fv_server *s = p->srv;
    struct byb_peer *x = p->vstate;
    bool rep = replay_on(s);
    size_t n = json_array_size(args), chars = 0, have = rep ? p->subs.n : x->n;

    if (!json_is_array(args) || n == 0)
        return "error:args is empty";
    if (bybit_spot(s) && n > BYB_SPOT_ARGS_MAX) {
        snprintf(msg, cap, "args size >%d", BYB_SPOT_ARGS_MAX);
        return msg;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(args, i);
        const char *name = json_string_value(t);

        if (!name)
            return "error:args must be strings";
        chars += json_string_length(t) + 2 + (i > 0);
        if (chars > BYB_ARGS_CHARS_MAX) {
            snprintf(msg, cap, "error:args length >%d", BYB_ARGS_CHARS_MAX);
            return msg;
        }
        if (rep)
            gens[i] = streams_find(&s->streams, name, json_string_length(t));
        else
            gens[i] = bybm_topic(s, name, json_string_length(t));
        if (gens[i] < 0) {
            snprintf(msg, cap,
                     rep ? "error:not in the replayed recording,topic:%.64s"
                         : "error:handler not found,topic:%.64s",
                     name);
            for (char *c = msg; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?'; /* the reply and the log line stay one line */
            return msg;
        }
        for (size_t k = 0; k < i; k++)
            if (gens[k] == gens[i])
                gens[i] = -2;
        if (sub && (gens[i] == -2 || has_topic(p, gens[i]))) {
            snprintf(msg, cap, "error:already subscribed,topic:%.64s", name);
            return msg;
        }
        if (!sub && (gens[i] == -2 || !has_topic(p, gens[i]))) {
            snprintf(msg, cap, "error:topic not subscribed,topic:%.64s", name);
            return msg;
        }
    }
    if (sub && have + n > (size_t)s->o->max_streams) {
        snprintf(msg, cap, "error:topics limit %d exceeded", s->o->max_streams);
        return msg;
    }
    return NULL;
}

/* --replay: the recorded reply to the recorded request that held one of the topics of args
 * (the first such topic), or NULL. */
static const char *recorded_reply(struct fv_server *s, json_t *args, size_t *len)
{
    for (size_t i = 0; i < json_array_size(args); i++) {
        const char *t = json_string_value(json_array_get(args, i)), *rec;
        int64_t chan;
        int sid;

        if (t && (rec = replay_ack(s, t, len, &chan, &sid)))
            return rec;
    }
    return NULL;
}

/* --replay: the connection takes or leaves topic (stream id) sid; its recorded messages come
 * from the replay clock. */
static void replay_topic(struct fv_peer *p, int sid, bool sub)
{
    struct fv_server *s = p->srv;

    if (sub) {
        subs_add(&p->subs, sid);
        s->stats.subscribed++;
        s->stats.channels++;
    } else {
        subs_remove(&p->subs, sid);
        s->stats.unsubscribed++;
        s->stats.channels--;
    }
    fv_log("conn %u %s %s", p->id, sub ? "subscribed" : "unsubscribed", s->streams.v[sid].name);
}

/* op subscribe / unsubscribe: the reply first, then (subscribe) each topic's snapshot. Under
 * --replay the reply is the recorded one (when the recording has one for these topics) and the
 * snapshots are the recording's, on the replay clock. */
static void do_sub(struct fv_peer *p, json_t *req, bool sub)
{
    struct fv_server *s = p->srv;
    struct byb_peer *x = p->vstate;
    json_t *args = json_object_get(req, "args"), *rid = json_object_get(req, "req_id");
    const char *op = sub ? "subscribe" : "unsubscribe", *err, *rec;
    size_t n = json_array_size(args), rlen = 0;
    int *gens = fv_xcalloc(n ? n : 1, sizeof(int));
    bool rep = replay_on(s);
    char msg[160];

    err = check_args(p, args, sub, gens, msg, sizeof(msg));
    if (err) {
        reply(p, false, err, rid, false, op);
        goto out;
    }
    rec = rep && sub ? recorded_reply(s, args, &rlen) : NULL;
    if (rec && !send_recorded(p, rec, rlen, rid))
        goto out; /* the recording refused this request */
    if (!rec)
        reply(p, true, sub && bybit_spot(s) ? "subscribe" : "", rid, false, op);
    for (size_t i = 0; i < n; i++) {
        if (rep) {
            replay_topic(p, gens[i], sub);
        } else if (sub) {
            if (x->n == x->cap) {
                x->cap = x->cap ? x->cap * 2 : 8;
                x->gens = realloc(x->gens, x->cap * sizeof(*x->gens));
                if (!x->gens)
                    abort();
            }
            x->gens[x->n++] = gens[i];
            s->stats.subscribed++;
            s->stats.channels++;
            fv_log("conn %u subscribed %s", p->id, bybm_topic_name(s, gens[i]));
            bybm_attach(s, gens[i], p);
        } else {
            int k = find_gen(x, gens[i]);

            memmove(x->gens + k, x->gens + k + 1, (x->n - (size_t)k - 1) * sizeof(*x->gens));
            x->n--;
            s->stats.unsubscribed++;
            s->stats.channels--;
            fv_log("conn %u unsubscribed %s", p->id, bybm_topic_name(s, gens[i]));
            bybm_detach(s, gens[i], p);
        }
    }
    if (rep && sub)
        replay_on_subscribe(s);
out:
    free(gens);
}

/* A text message from the client (op subscribe, unsubscribe, ping). Anything but an object
 * with a known op gets success false. */
static void bybit_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    struct byb_peer *x = p->vstate;
    json_t *root = json_loadb((const char *)data, len, 0, NULL);
    json_t *opv = json_is_object(root) ? json_object_get(root, "op") : NULL;
    const char *op = json_is_string(opv) ? json_string_value(opv) : "";

    if (!x)
        goto out;
    if (strcmp(op, "ping") == 0) {
        x->last_ping_ms = fv_now_ms(p->srv);
        /* Spot: {"success":true,"ret_msg":"pong","conn_id":..,"op":"ping"} (req_id if given);
         * linear: the same with req_id always present. */
        reply(p, true, "pong", json_object_get(root, "req_id"), bybit_spot(p->srv), "ping");
    } else if (strcmp(op, "subscribe") == 0) {
        do_sub(p, root, true);
    } else if (strcmp(op, "unsubscribe") == 0) {
        do_sub(p, root, false);
    } else {
        reply(p, false, root ? "error:unknown op" : "error:request not json",
              root ? json_object_get(root, "req_id") : NULL, false, op);
    }
out:
    json_decref(root);
}

/* The connection is closing: leaves every topic and frees its state. */
static void bybit_on_close(struct fv_peer *p)
{
    struct byb_peer *x = p->vstate;

    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        bybm_detach(p->srv, x->gens[i], p);
    p->srv->stats.channels -= replay_on(p->srv) ? p->subs.n : x->n;
    free(x->gens);
    free(x);
    p->vstate = NULL;
}

/* True when book topic `topic` ("orderbook.50.BTCUSDT") is of symbol sym. */
static bool topic_of(const char *topic, const char *sym)
{
    size_t n = strlen(topic), k = strlen(sym);

    return k && n > k + 1 && topic[n - k - 1] == '.' && strcmp(topic + n - k, sym) == 0;
}

/* See fv.h. On a faulted connection a book delta is dropped (once per connection) by
 * --bybit-gap SYM/N after the topic's N-th update, or by --fault-gap-after N after N data
 * messages: the client sees u skip. */
bool bybit_send(struct fv_peer *p, const char *topic, int64_t delta_u, uint64_t updates,
                const char *msg, size_t len)
{
    const struct fv_opts *o = p->srv->o;
    int sid;
    struct byb_peer *x = p->vstate;

    if (!x || !peer_live(p))
        return false;
    if (delta_u && p->faulted) {
        const struct fv_byb_fault *g = &o->byb.gap;
        bool by_topic = !x->gap_done && topic_of(topic, g->sym) && updates >= (uint64_t)g->after;
        bool by_count =
            o->f.gap_after >= 0 && !p->gap_done && p->data_sent >= (uint64_t)o->f.gap_after;

        if (by_topic || by_count) {
            if (by_topic)
                x->gap_done = true;
            else
                p->gap_done = true;
            p->srv->stats.faults++;
            fv_log("conn %u fault gap %s u %" PRId64, p->id, topic, delta_u);
            return false;
        }
    }
    /* --fault-mute and --fault-corrupt match a topic by its name's end, as a stream's. */
    sid = o->f.mute || o->f.corrupt ? streams_intern(&p->srv->streams, topic, strlen(topic)) : -1;
    fault_send_data(p, sid, (const uint8_t *)msg, len);
    return true;
}

/* ---- the modules (fv.h, struct fv_proto) ---- */

/* No server pings (the client pings), no message rate limit, no lifetime cut; spot's 10 args
 * per request are enforced per request; 500 connections per 5 minutes (src/venue/README.md
 * 4.1). The market is generated (--market lists its symbols), or replayed. */
static const char *bybit_options(struct fv_opts *o)
{
    static char err[200];
    const char *b = o->rest_file                  ? "--rest"
                    : o->synth                    ? "--synthetic"
                    : o->market_quiet             ? "--market-quiet"
                    : o->market_sparse            ? "--market-sparse"
                    : o->market_max               ? "--market-rate max"
                    : o->n_refuse                 ? "--refuse-stream"
                    : o->shutdown_after >= 0      ? "--shutdown-after"
                    : o->replay_file && o->market ? "--market with --replay"
                                                  : NULL;

    if (b) {
        snprintf(err, sizeof(err),
                 "--venue %s generates (--market lists its symbols) or replays its own market: "
                 "no %s",
                 o->proto->name, b);
        return err;
    }
    if (o->ping_interval < 0)
        o->ping_interval = 0;
    if (o->pong_timeout < 0)
        o->pong_timeout = 0;
    if (o->rate_limit < 0)
        o->rate_limit = 0;
    if (o->max_streams < 0)
        o->max_streams = 10000;
    if (o->lifetime < 0)
        o->lifetime = 0;
    if (o->weight_limit < 0)
        o->weight_limit = 0;
    if (o->conn_limit < 0) {
        o->conn_limit = 500;
        o->conn_window = 300;
    }
    return NULL;
}

/* The market, unless the topics come from --replay. */
static int bybit_init(struct fv_server *s)
{
    return replay_on(s) ? 0 : bybm_init(s);
}

const struct fv_proto fv_proto_bybit_spot = {
    .name = "bybit-spot",
    .variant = FV_BYBIT_SPOT,
    .options = bybit_options,
    .init = bybit_init,
    .on_upgrade = bybit_on_upgrade,
    .on_open = bybit_on_open,
    .on_text = bybit_on_text,
    .on_deadline = bybit_on_deadline,
    .on_close = bybit_on_close,
    .stop = bybm_stop,
    .fini = bybm_fini,
    .replay_line = bybit_replay_line,
};

const struct fv_proto fv_proto_bybit_linear = {
    .name = "bybit-linear",
    .variant = FV_BYBIT_LINEAR,
    .options = bybit_options,
    .init = bybit_init,
    .on_upgrade = bybit_on_upgrade,
    .on_open = bybit_on_open,
    .on_text = bybit_on_text,
    .on_deadline = bybit_on_deadline,
    .on_close = bybit_on_close,
    .stop = bybm_stop,
    .fini = bybm_fini,
    .replay_line = bybit_replay_line,
};
