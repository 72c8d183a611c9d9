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
 * file keeps each connection's topics. Entry points are those of a module ops table:
 * bybit_on_upgrade(), bybit_on_text(), bybit_on_close(), and the market's tick. Control replies
 * are built with jansson (control path); data messages never are.
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

static bool spot(const struct fv_server *s)
{
    return s->o->venue == FV_VENUE_BYBIT_SPOT;
}

/* See fv.h. */
int bybit_on_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    size_t plen = strcspn(target, "?");
    uint64_t h = p->srv->o->seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)p->id << 17);

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
    p->byb = fv_xcalloc(1, sizeof(*p->byb));
    p->byb->last_ping_ms = fv_now_ms(p->srv);
    snprintf(p->byb->conn_id, sizeof(p->byb->conn_id), "%016" PRIx64 "-%u",
             (uint64_t)(h * 0xbf58476d1ce4e5b9ull), p->id);
    return 0;
}

/* Sends an op reply: success, ret_msg, conn_id, req_id (spot pongs leave an absent one out),
 * op. */
static void reply(struct fv_peer *p, bool ok, const char *ret_msg, json_t *req_id, bool req_id_opt,
                  const char *op)
{
    json_t *o = json_object();
    char *txt;

    json_object_set_new(o, "success", json_boolean(ok));
    json_object_set_new(o, "ret_msg", json_string(ret_msg));
    json_object_set_new(o, "conn_id", json_string(p->byb->conn_id));
    if (json_is_string(req_id))
        json_object_set(o, "req_id", req_id);
    else if (!req_id_opt)
        json_object_set_new(o, "req_id", json_string(""));
    json_object_set_new(o, "op", json_string(op));
    txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (txt) {
        peer_send_text(p, txt, strlen(txt));
        free(txt);
    }
    json_decref(o);
    if (!ok) {
        p->srv->stats.errors++;
        fv_log("conn %u refused %s: %s", p->id, op, ret_msg);
    }
}

/* The index of gen in the connection's topics, or -1. */
static int find_gen(const struct byb_peer *x, int gen)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->gens[i] == gen)
            return (int)i;
    return -1;
}

/* Checks the args of a subscribe or unsubscribe as a whole; fills gens[] (room for n). Returns
 * NULL or the refusal's ret_msg (in msg). */
static const char *check_args(struct fv_peer *p, json_t *args, bool sub, int *gens, char *msg,
                              size_t cap)
{
    struct fv_server *s = p->srv;
    size_t n = json_array_size(args), chars = 0;

    if (!json_is_array(args) || n == 0)
        return "error:args is empty";
    if (spot(s) && n > BYB_SPOT_ARGS_MAX) {
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
        gens[i] = bybm_topic(s, name, json_string_length(t));
        if (gens[i] < 0) {
            snprintf(msg, cap, "error:handler not found,topic:%.64s", name);
            for (char *c = msg; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?'; /* the reply and the log line stay one line */
            return msg;
        }
        for (size_t k = 0; k < i; k++)
            if (gens[k] == gens[i])
                gens[i] = -2;
        if (sub && (gens[i] == -2 || find_gen(p->byb, gens[i]) >= 0)) {
            snprintf(msg, cap, "error:already subscribed,topic:%.64s", name);
            return msg;
        }
        if (!sub && (gens[i] == -2 || find_gen(p->byb, gens[i]) < 0)) {
            snprintf(msg, cap, "error:topic not subscribed,topic:%.64s", name);
            return msg;
        }
    }
    if (sub && p->byb->n + n > (size_t)s->o->max_streams) {
        snprintf(msg, cap, "error:topics limit %d exceeded", s->o->max_streams);
        return msg;
    }
    return NULL;
}

/* op subscribe / unsubscribe: the reply first, then (subscribe) each topic's snapshot. */
static void do_sub(struct fv_peer *p, json_t *req, bool sub)
{
    struct fv_server *s = p->srv;
    struct byb_peer *x = p->byb;
    json_t *args = json_object_get(req, "args"), *rid = json_object_get(req, "req_id");
    const char *op = sub ? "subscribe" : "unsubscribe", *err;
    size_t n = json_array_size(args);
    int *gens = fv_xcalloc(n ? n : 1, sizeof(int));
    char msg[160];

    err = check_args(p, args, sub, gens, msg, sizeof(msg));
    if (err) {
        reply(p, false, err, rid, false, op);
        goto out;
    }
    reply(p, true, sub && spot(s) ? "subscribe" : "", rid, false, op);
    for (size_t i = 0; i < n; i++) {
        if (sub) {
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
out:
    free(gens);
}

/* See fv.h. Anything but an object with a known op gets success false. */
void bybit_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    json_t *root = json_loadb((const char *)data, len, 0, NULL);
    json_t *opv = json_is_object(root) ? json_object_get(root, "op") : NULL;
    const char *op = json_is_string(opv) ? json_string_value(opv) : "";

    if (!p->byb)
        goto out;
    if (strcmp(op, "ping") == 0) {
        p->byb->last_ping_ms = fv_now_ms(p->srv);
        /* Spot: {"success":true,"ret_msg":"pong","conn_id":..,"op":"ping"} (req_id if given);
         * linear: the same with req_id always present. */
        reply(p, true, "pong", json_object_get(root, "req_id"), spot(p->srv), "ping");
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

/* See fv.h. */
void bybit_on_close(struct fv_peer *p)
{
    struct byb_peer *x = p->byb;

    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        bybm_detach(p->srv, x->gens[i], p);
    p->srv->stats.channels -= x->n;
    free(x->gens);
    free(x);
    p->byb = NULL;
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
    struct byb_peer *x = p->byb;

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
    fault_send_data(p, -1, (const uint8_t *)msg, len);
    return true;
}

/* See fv.h. The venue cuts a connection that sent no ping for about 10 minutes: a TCP FIN
 * after the pending output, no close frame. */
void bybit_idle_check(struct fv_server *s, uint64_t now_ms)
{
    uint64_t cut = (uint64_t)(s->o->byb.idle_cut * 1000 + 0.5);

    if (!cut)
        return;
    for (struct fv_peer *p = s->peers, *next; p; p = next) {
        next = p->next;
        if (p->byb && p->cstate == FV_OPEN && now_ms - p->byb->last_ping_ms >= cut)
            peer_drop(p, "idle-cut", FV_DROP_FIN);
    }
}
