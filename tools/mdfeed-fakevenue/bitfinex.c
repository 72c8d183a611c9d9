/*
 * The Bitfinex v2 public WebSocket protocol (src/venue/README.md 3): the upgrade on /ws/2 under the
 * connection limit, the info event on connect, the client's events (conf, ping, subscribe,
 * unsubscribe) with the venue's replies and error codes, and the framing of data messages with
 * the connection's conf flags: [CHAN_ID, body, TIMESTAMP?, SEQ?], the trailing elements in flag
 * order (TIMESTAMP 32768 before SEQ_ALL 65536) on every data message, hb and cs included.
 *
 * What a channel carries comes from the market (bfx_market.c), shared by every connection: this
 * file only keeps each connection's flags, sequence number and channel ids, and decides what a
 * client may subscribe to. Control replies are built with jansson (control path); data messages
 * never are.
 *
 * Info events (20051 restart, 20060/20061 maintenance, platform status 0) are timed per
 * connection (the module's deadline in server.c) and, like faults, only reach the --fault-conns
 * connections.
 *
 * Under --replay there is no market: the info event, the conf reply and each subscribed event
 * are the recording's (bfx_replay.c says which line is which), the channel keeps its recorded
 * chanId, and its recorded messages come from the replay clock (replay.c) through
 * bitfinex_replay_send(). The module table entry is at the end of this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

/* One subscribed channel of a connection. */
struct bfx_chan {
    int32_t id;           /* chanId */
    int gen;              /* the market generator it is attached to; -1 under --replay */
    int sid;              /* under --replay: its key's stream id (in p->subs); -1 otherwise */
    struct bfx_spec spec; /* what was subscribed (duplicates are refused) */
};

/* A Bitfinex connection. */
struct bfx_peer {
    uint32_t flags;         /* conf flags */
    uint64_t seq;           /* the last SEQ_ALL number sent */
    bool maint;             /* maintenance: data messages are withheld */
    bool gap_done;          /* --fault-gap-after skipped its sequence number */
    uint64_t maint_at;      /* loop time of info 20060 (--bfx-maintenance-after); 0 = none */
    uint64_t maint_end_at;  /* loop time of info 20061; 0 = none */
    struct bfx_chan *chans; /* subscribed channels, in subscription order */
    size_t nchans, cap;     /* used, allocated */
};

static const char *const ERR_PATH = "[\"error\",10020,\"not found\"]";
static const char *const ERR_CONN_LIMIT = "[\"error\",11010,\"ratelimit: error\"]";

/* See fv.h. Only /ws/2 (any query) is served. */
int bitfinex_upgrade(struct fv_peer *p, const char *target, const char **body)
{
    size_t plen = strcspn(target, "?");

    if (!conn_limit_check(p)) {
        *body = ERR_CONN_LIMIT;
        return 429;
    }
    if (plen != 5 || strncmp(target, "/ws/2", 5) != 0) {
        *body = ERR_PATH;
        return 404;
    }
    conn_limit_count(p->srv);
    return 0;
}

/* The connection state (bitfinex_on_open() to bitfinex_peer_gone()). */
static struct bfx_peer *bfx_of(const struct fv_peer *p)
{
    return p->vstate;
}

/* Sends the recorded answer for key verbatim (--replay). False when the recording has none. */
static bool send_recorded(struct fv_peer *p, const char *key)
{
    size_t len;
    int64_t chan;
    int sid;
    const char *t = replay_ack(p->srv, key, &len, &chan, &sid);

    if (!t)
        return false;
    peer_send_text(p, t, len);
    return true;
}

/* The server's per-connection deadline: the earlier maintenance event. */
static void set_venue_ms(struct fv_peer *p)
{
    struct bfx_peer *x = bfx_of(p);
    uint64_t a = x->maint_at, b = x->maint_end_at;

    p->venue_ms = !a ? b : !b ? a : a < b ? a : b;
}

/* See fv.h. The serverId is a UUID-shaped string derived from the seed and the connection. */
void bitfinex_on_open(struct fv_peer *p)
{
    const struct fv_opts *o = p->srv->o;
    uint64_t a = o->seed * 0x9e3779b97f4a7c15ull ^ p->id, b = a * 0xbf58476d1ce4e5b9ull + 7;
    bool maint = o->bfx.maint_on_connect && p->faulted;
    char msg[200];
    int n;

    p->vstate = fv_xcalloc(1, sizeof(struct bfx_peer));
    if (p->faulted && o->bfx.maint_after >= 0) {
        bfx_of(p)->maint_at = p->opened_ms + (uint64_t)(o->bfx.maint_after * 1000 + 0.5);
        if (!bfx_of(p)->maint_at)
            bfx_of(p)->maint_at = 1;
    }
    if (replay_on(p->srv) && !maint && send_recorded(p, "info"))
        goto timed;
    n = snprintf(msg, sizeof(msg),
                 "{\"event\":\"info\",\"version\":2,\"serverId\":\"%08x-%04x-%04x-%04x-%012" PRIx64
                 "\",\"platform\":{\"status\":%d}}",
                 (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff,
                 (unsigned)(b >> 48), (uint64_t)(b & 0xffffffffffffull), maint ? 0 : 1);
    peer_send_text(p, msg, (size_t)n);
    if (maint) {
        bfx_of(p)->maint = true;
        bfx_of(p)->maint_end_at = fv_now_ms(p->srv) + (uint64_t)(o->bfx.maint_len * 1000 + 0.5);
        fv_log("conn %u info status 0", p->id);
    }
timed:
    set_venue_ms(p);
}

/* See fv.h. */
void bitfinex_send_info(struct fv_peer *p, int code)
{
    const char *msg;
    char buf[320];
    int n;

    if (!bfx_of(p))
        return;
    switch (code) {
    case 20051:
        msg = "Stopping. Please try to reconnect";
        break;
    case 20060:
        msg = "Entering in Maintenance mode. Please pause any activity and resume after receiving "
              "the info message 20061 (it should take 120 seconds at most).";
        bfx_of(p)->maint = true;
        break;
    default:
        msg = "Maintenance ended. You can resume normal activity. It is advised to "
              "unsubscribe/subscribe again all channels.";
        bfx_of(p)->maint = false;
        break;
    }
    n = snprintf(buf, sizeof(buf), "{\"event\":\"info\",\"code\":%d,\"msg\":\"%s\"}", code, msg);
    peer_send_text(p, buf, (size_t)n);
    p->srv->stats.infos++;
    fv_log("conn %u info %d", p->id, code);
}

/* See fv.h. */
uint32_t bitfinex_flags(const struct fv_peer *p)
{
    return bfx_of(p) ? bfx_of(p)->flags : 0;
}

/* Appends the decimal digits of v. */
static void put_u64(struct fv_buf *b, uint64_t v)
{
    char t[24];
    int n = 0;

    do {
        t[sizeof(t) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fv_buf_append(b, t + sizeof(t) - n, (size_t)n);
}

/* See fv.h. The sequence gap fault (--fault-gap-after N on a faulted connection) skips one
 * number once, after N data messages; nothing is dropped. */
bool bitfinex_send(struct fv_peer *p, int32_t chan, const char *body, size_t len)
{
    struct bfx_peer *x = bfx_of(p);
    struct fv_server *s = p->srv;
    const struct fv_faults *f = &s->o->f;
    struct fv_buf *b = &s->scratch;

    if (!x || x->maint || !peer_live(p))
        return false;
    b->len = 0;
    fv_buf_reserve(b, len + 64);
    fv_buf_append(b, "[", 1);
    if (chan < 0)
        fv_buf_append(b, "-", 1);
    put_u64(b, chan < 0 ? (uint64_t)0 - (uint64_t)(int64_t)chan : (uint64_t)chan);
    fv_buf_append(b, ",", 1);
    fv_buf_append(b, body, len);
    if (x->flags & BFX_TIMESTAMP) {
        fv_buf_append(b, ",", 1);
        put_u64(b, (uint64_t)fv_wall_ms());
    }
    if (x->flags & BFX_SEQ_ALL) {
        if (p->faulted && f->gap_after >= 0 && !x->gap_done &&
            p->data_sent >= (uint64_t)f->gap_after) {
            x->gap_done = true;
            x->seq++;
            s->stats.faults++;
            fv_log("conn %u fault gap seq %" PRIu64, p->id, x->seq);
        }
        fv_buf_append(b, ",", 1);
        put_u64(b, ++x->seq);
    }
    fv_buf_append(b, "]", 1);
    fault_send_data(p, -1, b->data, b->len);
    return true;
}

/* ---- events ---- */

/* An error event: {"event":"error","msg":..,"code":..} followed by the request's own fields
 * (channel, symbol, key, prec, freq, len, subId, pair, chanId) as the venue echoes them. */
static void send_error(struct fv_peer *p, int code, const char *msg, json_t *req)
{
    static const char *const ECHOED[] = {"channel", "symbol", "key",  "prec",  "freq",
                                         "len",     "subId",  "pair", "chanId"};
    json_t *o = json_object();

    json_object_set_new(o, "event", json_string("error"));
    json_object_set_new(o, "msg", json_string(msg));
    json_object_set_new(o, "code", json_integer(code));
    for (size_t i = 0; req && i < sizeof(ECHOED) / sizeof(ECHOED[0]); i++) {
        json_t *v = json_object_get(req, ECHOED[i]);

        if (v)
            json_object_set(o, ECHOED[i], v);
    }
    p->srv->stats.errors++;
    fv_log("conn %u error %d", p->id, code);
    peer_send_json(p, o);
}

/* {"event":"conf","flags":N}: the flags apply from the next data message on. */
static void do_conf(struct fv_peer *p, json_t *req)
{
    json_t *fl = json_object_get(req, "flags"), *o;

    if (!json_is_integer(fl) || json_integer_value(fl) < 0 ||
        json_integer_value(fl) > 0xffffffffLL) {
        send_error(p, 10000, "conf: invalid", req);
        return;
    }
    bfx_of(p)->flags = (uint32_t)json_integer_value(fl);
    if (replay_on(p->srv)) {
        char key[40];

        snprintf(key, sizeof(key), "conf:%" JSON_INTEGER_FORMAT, json_integer_value(fl));
        if (send_recorded(p, key)) {
            fv_log("conn %u conf %" PRIu32, p->id, bfx_of(p)->flags);
            return;
        }
    }
    o = json_object();
    json_object_set_new(o, "event", json_string("conf"));
    json_object_set_new(o, "status", json_string("OK"));
    json_object_set_new(o, "flags", json_integer(json_integer_value(fl)));
    fv_log("conn %u conf %" PRIu32, p->id, bfx_of(p)->flags);
    peer_send_json(p, o);
}

/* {"event":"ping","cid":N} -> {"event":"pong","ts":MS,"cid":N}. */
static void do_ping(struct fv_peer *p, json_t *req)
{
    json_t *o = json_object(), *cid = json_object_get(req, "cid");

    json_object_set_new(o, "event", json_string("pong"));
    json_object_set_new(o, "ts", json_integer(fv_wall_ms()));
    if (cid)
        json_object_set(o, "cid", cid);
    peer_send_json(p, o);
}

/* See fv.h. */
bool bitfinex_pair_ok(const char *s, size_t len)
{
    size_t colon = 0, ncolon = 0;

    if (len < 2 || len > 26 || s[0] != 't')
        return false;
    for (size_t i = 1; i < len; i++) {
        if (s[i] == ':') {
            colon = i;
            ncolon++;
        } else if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) {
            return false;
        }
    }
    if (ncolon == 0)
        return len == 7;
    return ncolon == 1 && colon >= 3 && colon <= 13 && len - colon - 1 >= 2 &&
           len - colon - 1 <= 12;
}

/* True when a pair is known: every well-formed one is, unless --bfx-pairs lists them. */
static bool pair_known(const struct fv_server *s, const char *sym)
{
    const char *l = s->o->bfx.pairs;
    size_t n = strlen(sym);

    if (!bitfinex_pair_ok(sym, n))
        return false;
    if (!l)
        return true;
    while (*l) {
        size_t len = strcspn(l, ",");

        if (len == n && strncmp(l, sym, n) == 0)
            return true;
        l += len;
        if (*l == ',')
            l++;
    }
    return false;
}

/* The symbol of a book, trades or ticker request: "symbol", or "t" + "pair". Copies it into
 * sym (cap bytes); false when neither is a string that fits. */
static bool req_symbol(json_t *req, char *sym, size_t cap)
{
    json_t *v = json_object_get(req, "symbol");

    if (json_is_string(v) && json_string_length(v) < cap) {
        memcpy(sym, json_string_value(v), json_string_length(v) + 1);
        return true;
    }
    v = json_object_get(req, "pair");
    if (json_is_string(v) && json_string_length(v) + 1 < cap) {
        sym[0] = 't';
        memcpy(sym + 1, json_string_value(v), json_string_length(v) + 1);
        return true;
    }
    return false;
}

/* The string or integer value of a book parameter (prec, freq, len) into out, or def when the
 * request leaves it out. False when it is neither a string nor an integer. */
static bool req_param(json_t *req, const char *name, const char *def, char *out, size_t cap)
{
    json_t *v = json_object_get(req, name);

    if (!v) {
        snprintf(out, cap, "%s", def);
        return true;
    }
    if (json_is_string(v) && json_string_length(v) < cap) {
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return true;
    }
    return false;
}

/* True when two subscriptions ask for the same thing (the venue's "subscribe: dup"). */
static bool spec_eq(const struct bfx_spec *a, const struct bfx_spec *b)
{
    if (a->type != b->type || strcmp(a->sym, b->sym) != 0)
        return false;
    if (a->type == BFX_C_BOOK)
        return a->prec == b->prec && a->len == b->len && a->f1 == b->f1;
    if (a->type == BFX_C_CANDLES)
        return a->tf == b->tf;
    return true;
}

/* Parses a subscribe request into spec. Returns 0, or the error code with *msg set. */
static int parse_subscribe(const struct fv_server *s, json_t *req, struct bfx_spec *spec,
                           const char **msg, bool any_pair)
{
    json_t *ch = json_object_get(req, "channel");
    const char *c = json_is_string(ch) ? json_string_value(ch) : "";
    char prec[16], freq[16], len[16];

    memset(spec, 0, sizeof(*spec));
    if (strcmp(c, "candles") == 0) {
        json_t *k = json_object_get(req, "key");
        const char *key = json_is_string(k) ? json_string_value(k) : "", *tf, *colon;

        spec->type = BFX_C_CANDLES;
        *msg = "subscribe: invalid key";
        if (strncmp(key, "trade:", 6) != 0)
            return 10300;
        tf = key + 6;
        colon = strchr(tf, ':');
        if (!colon || (spec->tf = bfx_tf(tf, (size_t)(colon - tf))) < 0)
            return 10300;
        if (strlen(colon + 1) >= sizeof(spec->sym))
            return 10001;
        strcpy(spec->sym, colon + 1);
        *msg = "symbol: invalid";
        return (any_pair ? bitfinex_pair_ok(spec->sym, strlen(spec->sym))
                         : pair_known(s, spec->sym))
                   ? 0
                   : 10001;
    }
    if (strcmp(c, "book") == 0)
        spec->type = BFX_C_BOOK;
    else if (strcmp(c, "trades") == 0)
        spec->type = BFX_C_TRADES;
    else if (strcmp(c, "ticker") == 0)
        spec->type = BFX_C_TICKER;
    else {
        *msg = "subscribe: invalid channel";
        return 10302;
    }
    *msg = "symbol: invalid";
    if (!req_symbol(req, spec->sym, sizeof(spec->sym)) ||
        !(any_pair ? bitfinex_pair_ok(spec->sym, strlen(spec->sym)) : pair_known(s, spec->sym)))
        return 10001;
    if (spec->type != BFX_C_BOOK)
        return 0;
    *msg = "subscribe: prec";
    if (!req_param(req, "prec", "P0", prec, sizeof(prec)) || strlen(prec) != 2 || prec[0] != 'P' ||
        prec[1] < '0' || prec[1] > '4')
        return 10011;
    spec->prec = prec[1] - '0';
    *msg = "subscribe: freq";
    if (!req_param(req, "freq", "F0", freq, sizeof(freq)) ||
        (strcmp(freq, "F0") != 0 && strcmp(freq, "F1") != 0))
        return 10300;
    spec->f1 = freq[1] == '1';
    *msg = "subscribe: len";
    if (!req_param(req, "len", "25", len, sizeof(len)) ||
        (strcmp(len, "1") != 0 && strcmp(len, "25") != 0 && strcmp(len, "100") != 0 &&
         strcmp(len, "250") != 0))
        return 10012;
    spec->len = atoi(len);
    return 0;
}

/* The subscribed event, with the fields the venue echoes for each channel
 * (src/venue/README.md 3.2). */
static void send_subscribed(struct fv_peer *p, json_t *req, const struct bfx_spec *sp, int32_t id)
{
    json_t *o = json_object(), *sub = json_object_get(req, "subId");
    char t[32];

    /* --bfx-same-chan-id: a broken server that tells every channel the same id. */
    if (p->srv->o->bfx.same_chan_id) {
        if (!p->first_chan)
            p->first_chan = id;
        id = p->first_chan;
    }
    json_object_set_new(o, "event", json_string("subscribed"));
    json_object_set(o, "channel", json_object_get(req, "channel"));
    json_object_set_new(o, "chanId", json_integer(id));
    if (sp->type == BFX_C_CANDLES) {
        json_object_set(o, "key", json_object_get(req, "key"));
    } else {
        json_object_set_new(o, "symbol", json_string(sp->sym));
        if (sp->type == BFX_C_BOOK) {
            snprintf(t, sizeof(t), "P%d", sp->prec);
            json_object_set_new(o, "prec", json_string(t));
            json_object_set_new(o, "freq", json_string(sp->f1 ? "F1" : "F0"));
            snprintf(t, sizeof(t), "%d", sp->len);
            json_object_set_new(o, "len", json_string(t));
            if (sub)
                json_object_set(o, "subId", sub);
        }
        json_object_set_new(o, "pair", json_string(sp->sym + 1));
    }
    peer_send_json(p, o);
}

/* The replay key of a channel (fv.h, struct fv_rline): the same for a live request and the
 * recorded subscribed event that answered it, whatever defaults either left out. */
static void spec_key(const struct bfx_spec *sp, char *out, size_t cap)
{
    switch (sp->type) {
    case BFX_C_BOOK:
        snprintf(out, cap, "book:%s:P%d:%s:%d", sp->sym, sp->prec, sp->f1 ? "F1" : "F0", sp->len);
        break;
    case BFX_C_TRADES:
        snprintf(out, cap, "trades:%s", sp->sym);
        break;
    case BFX_C_TICKER:
        snprintf(out, cap, "ticker:%s", sp->sym);
        break;
    default:
        snprintf(out, cap, "candles:%d:%s", sp->tf, sp->sym);
        break;
    }
}

/* See fv.h. */
bool bitfinex_key_of(const struct fv_server *s, json_t *obj, char *key, size_t cap)
{
    struct bfx_spec spec;
    const char *msg;

    if (parse_subscribe(s, obj, &spec, &msg, true) != 0)
        return false;
    spec_key(&spec, key, cap);
    return true;
}

/* Under --replay: the recorded chanId and the key's stream id of channel spec. False when the
 * recording never subscribed it. */
static bool replay_chan(const struct fv_server *s, const struct bfx_spec *spec, int32_t *chan,
                        int *sid)
{
    char key[128];
    size_t len;
    int64_t ch;

    spec_key(spec, key, sizeof(key));
    if (!replay_ack(s, key, &len, &ch, sid))
        return false;
    *chan = ch >= 0 && ch <= INT32_MAX ? (int32_t)ch : -1;
    return true;
}

/* Sends the recorded subscribed event of channel spec. */
static void send_recorded_sub(struct fv_peer *p, const struct bfx_spec *spec)
{
    char key[128];

    spec_key(spec, key, sizeof(key));
    send_recorded(p, key);
}

/* subscribe: validated (10302, 10001, 10011, 10012, 10300), then refused when the connection
 * has the same channel (10301) or is at --max-streams channels (10305). Under --replay a
 * channel the recording never subscribed gets 10300. */
static void do_subscribe(struct fv_peer *p, json_t *req)
{
    struct fv_server *s = p->srv;
    struct bfx_peer *x = bfx_of(p);
    struct bfx_spec spec;
    const char *msg = "";
    struct bfx_chan *c;
    int code = parse_subscribe(s, req, &spec, &msg, false);
    int32_t rec_chan = -1;
    int sid = -1;

    if (code) {
        send_error(p, code, msg, req);
        return;
    }
    for (size_t i = 0; i < x->nchans; i++) {
        if (spec_eq(&x->chans[i].spec, &spec)) {
            send_error(p, 10301, "subscribe: dup", req);
            return;
        }
    }
    if (x->nchans >= (size_t)s->o->max_streams) {
        send_error(p, 10305, "subscribe: limit", req);
        return;
    }
    if (replay_on(s) && !replay_chan(s, &spec, &rec_chan, &sid)) {
        send_error(p, 10300, "subscribe: failed (not in the replayed recording)", req);
        return;
    }
    if (x->nchans == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        x->chans = realloc(x->chans, x->cap * sizeof(*x->chans));
        if (!x->chans)
            abort();
    }
    c = &x->chans[x->nchans++];
    c->spec = spec;
    c->sid = sid;
    s->stats.subscribed++;
    s->stats.channels++;
    if (sid >= 0) {
        /* --replay: the recorded subscribed event, then the recorded channel from the replay
         * clock (replay.c) under the recorded chanId. */
        c->id = rec_chan >= 0 ? rec_chan : ++s->bfx_chan_seq;
        c->gen = -1;
        send_recorded_sub(p, &spec);
        fv_log("conn %u subscribed %d", p->id, c->id);
        subs_add(&p->subs, sid);
        replay_on_subscribe(s);
        return;
    }
    c->id = ++s->bfx_chan_seq;
    c->gen = bfxm_gen(s, &spec);
    send_subscribed(p, req, &spec, c->id);
    fv_log("conn %u subscribed %d", p->id, c->id);
    bfxm_attach(s, c->gen, p, c->id);
}

/* unsubscribe: {"event":"unsubscribed","status":"OK","chanId":N}, or 10401. */
static void do_unsubscribe(struct fv_peer *p, json_t *req)
{
    struct bfx_peer *x = bfx_of(p);
    json_t *id = json_object_get(req, "chanId"), *o;

    for (size_t i = 0; json_is_integer(id) && i < x->nchans; i++) {
        struct bfx_chan c = x->chans[i];

        if (c.id != json_integer_value(id))
            continue;
        memmove(x->chans + i, x->chans + i + 1, (x->nchans - i - 1) * sizeof(*x->chans));
        x->nchans--;
        if (c.gen >= 0)
            bfxm_detach(p->srv, c.gen, p, c.id);
        if (c.sid >= 0)
            subs_remove(&p->subs, c.sid);
        p->srv->stats.unsubscribed++;
        p->srv->stats.channels--;
        o = json_object();
        json_object_set_new(o, "event", json_string("unsubscribed"));
        json_object_set_new(o, "status", json_string("OK"));
        json_object_set_new(o, "chanId", json_integer(c.id));
        fv_log("conn %u unsubscribed %d", p->id, c.id);
        peer_send_json(p, o);
        return;
    }
    send_error(p, 10401, "unsubscribe: invalid", req);
}

/* See fv.h. Anything but an object with a known "event" gets error 10000. */
void bitfinex_on_text(struct fv_peer *p, const uint8_t *data, size_t len)
{
    json_t *root = json_loadb((const char *)data, len, JSON_DECODE_ANY, NULL);
    json_t *ev = json_is_object(root) ? json_object_get(root, "event") : NULL;
    const char *e = json_is_string(ev) ? json_string_value(ev) : "";

    if (!bfx_of(p))
        goto out;
    if (strcmp(e, "conf") == 0)
        do_conf(p, root);
    else if (strcmp(e, "ping") == 0)
        do_ping(p, root);
    else if (strcmp(e, "subscribe") == 0)
        do_subscribe(p, root);
    else if (strcmp(e, "unsubscribe") == 0)
        do_unsubscribe(p, root);
    else
        send_error(p, 10000, "Unknown event", NULL);
out:
    json_decref(root);
}

/* See fv.h. */
void bitfinex_peer_gone(struct fv_peer *p)
{
    struct bfx_peer *x = bfx_of(p);

    if (!x)
        return;
    for (size_t i = 0; i < x->nchans; i++)
        if (x->chans[i].gen >= 0)
            bfxm_detach(p->srv, x->chans[i].gen, p, x->chans[i].id);
    p->srv->stats.channels -= x->nchans;
    free(x->chans);
    free(x);
    p->vstate = NULL;
}

/* ---- replay: the recorded channels go out under the connection's chanIds ---- */

/* See fv.h. A recorded channel message whose chanId is not the one the connection was given
 * (the key was first subscribed on another recorded connection) has its leading "[CHAN"
 * replaced; during maintenance nothing is sent. */
void bitfinex_replay_send(struct fv_peer *p, const struct fv_rmsg *m, const char *c, size_t clen,
                          const char *raw, size_t rlen)
{
    struct bfx_peer *x = bfx_of(p);
    struct fv_buf *b = &p->srv->scratch;
    int64_t live = -1;

    (void)c;
    (void)clen;
    if (!x || x->maint)
        return;
    for (size_t i = 0; m->kind == FV_RK_DATA && i < x->nchans; i++)
        if (x->chans[i].sid == m->sid)
            live = x->chans[i].id;
    if (live < 0 || m->chan < 0 || live == m->chan || m->chan_end > rlen) {
        fault_send_data(p, -1, (const uint8_t *)raw, rlen);
        return;
    }
    b->len = 0;
    fv_buf_printf(b, "[%" PRId64, live);
    fv_buf_append(b, raw + m->chan_end, rlen - m->chan_end);
    fault_send_data(p, -1, b->data, b->len);
}

/* ---- the module (fv.h, struct fv_proto) ---- */

/* No server pings, no message rate limit, no 24 h cut; 25 channels per connection and 20
 * connections per minute (src/venue/README.md 3.1). The market is generated, or replayed. */
static const char *bitfinex_options(struct fv_opts *o)
{
    static char err[160];
    const char *b = fv_opts_binance_only(o);

    if (b) {
        snprintf(err, sizeof(err), "--venue bitfinex generates or replays its own market: no %s",
                 b);
        return err;
    }
    if (o->ping_interval < 0)
        o->ping_interval = 0;
    if (o->pong_timeout < 0)
        o->pong_timeout = 0;
    if (o->rate_limit < 0)
        o->rate_limit = 0;
    if (o->max_streams < 0)
        o->max_streams = 25;
    if (o->lifetime < 0)
        o->lifetime = 0;
    if (o->weight_limit < 0)
        o->weight_limit = 0;
    if (o->conn_limit < 0) {
        o->conn_limit = 20;
        o->conn_window = 60;
    }
    return NULL;
}

/* The market, unless the channels come from --replay. */
static int bitfinex_init(struct fv_server *s)
{
    return replay_on(s) ? 0 : bfxm_init(s);
}

/* Maintenance (--bfx-maintenance-after, or the end of one): info 20060 or 20061. */
static void bitfinex_on_deadline(struct fv_peer *p, uint64_t now_ms)
{
    struct bfx_peer *x = bfx_of(p);
    const struct fv_opts *o = p->srv->o;

    if (!x)
        return;
    if (x->maint_at && now_ms >= x->maint_at) {
        x->maint_at = 0;
        bitfinex_send_info(p, 20060);
        x->maint_end_at = now_ms + (uint64_t)(o->bfx.maint_len * 1000 + 0.5);
    }
    if (x->maint_end_at && now_ms >= x->maint_end_at) {
        x->maint_end_at = 0;
        bitfinex_send_info(p, 20061);
    }
    set_venue_ms(p);
}

/* --shutdown-after: info 20051. */
static void bitfinex_send_restart(struct fv_peer *p)
{
    bitfinex_send_info(p, 20051);
}

/* No REST API: every other path is 404 with the venue's error array. */
static void bitfinex_rest(struct fv_peer *p)
{
    static const char B[] = "[\"error\",10020,\"not found\"]";

    peer_http_respond(p, 404, "application/json", NULL, B, sizeof(B) - 1);
}

const struct fv_proto fv_proto_bitfinex = {
    .name = "bitfinex",
    .flags = FV_PROTO_NOTICE_FAULTED,
    .options = bitfinex_options,
    .init = bitfinex_init,
    .on_upgrade = bitfinex_upgrade,
    .on_open = bitfinex_on_open,
    .on_text = bitfinex_on_text,
    .on_deadline = bitfinex_on_deadline,
    .send_shutdown = bitfinex_send_restart,
    .on_close = bitfinex_peer_gone,
    .on_drain = bfxm_on_drain,
    .rest = bitfinex_rest,
    .stop = bfxm_stop,
    .fini = bfxm_fini,
    .replay_line = bfx_replay_line,
    .replay_send = bitfinex_replay_send,
};
