/*
 * REST routes: the depth snapshot (GET /api/v3/depth on spot, /fapi/v1/depth on futures) from a
 * REST recording, ping and time, the request-weight counter with its x-mbx-used-weight-1m header,
 * /test/body for HTTP client tests and /fv/stats (the venue's counters). /fv/stats and /test/body
 * are served on every venue (rest_handle()); the rest is the Binance modules' REST hook
 * (binance_rest()).
 *
 * A snapshot is never served before its recorded time on the replay clock (replay_reached()):
 * the request is held (the connection stops parsing further requests) and answered when the
 * replay gets there, so a client's book sync sees what the recording client saw. With several
 * snapshots of one symbol the latest one reached is served. During lap N >= 1 of a looped replay
 * the snapshot is served with the lap's id and time shifts (shift.c).
 *
 * For --market symbols, depth answers from the market's book and GET /api/v3/klines
 * (/fapi/v1/klines) from its candles (market.c, candle.c): prices and volumes from the price
 * path, trade ids and counts from the market's trades.
 *
 * Weight over --weight-limit gets 429 (and so do the first --throttle-next API requests, whatever
 * the weight); after --ban-after 429 answers every API request gets 418 with Retry-After until the
 * ban (--ban-seconds) ends, as the venue does with IPs that keep going after a 429. A 429's
 * Retry-After runs to the minute's end, or is --retry-after seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

#define TEST_BODY_MAX (32u << 20) /* largest /test/body */

/* One recorded snapshot. */
struct fv_snap {
    char sym[32];     /* symbol, upper case */
    int64_t t_ns;     /* recorded time relative to the replay's start */
    const char *body; /* JSON text inside rest.text */
    size_t len;       /* its length */
};

static const char JSON_CT[] = "application/json";

/* Copies query parameter `key` of target (URL-decoded) into out. Returns false if absent. */
static bool qparam(const char *target, const char *key, char *out, size_t cap)
{
    const char *q = strchr(target, '?');
    size_t kl = strlen(key);

    while (q && *q) {
        size_t len;

        q++;
        len = strcspn(q, "&");
        if (len > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
            size_t o = 0;

            for (size_t i = kl + 1; i < len && o + 1 < cap; i++) {
                char c = q[i];

                if (c == '%' && i + 2 < len) {
                    char hex[3] = {q[i + 1], q[i + 2], 0};

                    c = (char)strtol(hex, NULL, 16);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                out[o++] = c;
            }
            out[o] = '\0';
            return true;
        }
        q += len;
    }
    return false;
}

/* Parses a REST recording (after replay_load(), whose start time it uses). Returns 0,
 * -errno or -EINVAL with file:line on stderr. */
int rest_load(struct fv_server *s, const char *path)
{
    struct fv_rest *r = &s->rest;
    size_t len, lineno = 0;
    char *line, *cursor;

    r->text = fv_read_file(path, &len);
    if (!r->text) {
        fprintf(stderr, "mdfeed-fakevenue: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    cursor = r->text;
    while ((line = fv_rec_line(&cursor))) {
        char *arrow, *colon, sym[32];
        struct fv_snap *sn;
        json_t *chk;

        lineno++;
        if (!*line)
            continue;
        arrow = strstr(line, " -> ");
        colon = arrow ? strstr(arrow, ": ") : NULL;
        if (!arrow || !colon) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: not a REST recording line\n", path, lineno);
            return -EINVAL;
        }
        *arrow = '\0';
        if (!qparam(line, "symbol", sym, sizeof(sym)) || !sym[0]) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: no symbol in the URL; skipped\n", path,
                    lineno);
            continue;
        }
        chk = json_loadb(colon + 2, strlen(colon + 2), 0, NULL);
        if (!chk) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: invalid JSON\n", path, lineno);
            return -EINVAL;
        }
        json_decref(chk);
        r->snaps = realloc(r->snaps, (r->nsnaps + 1) * sizeof(*r->snaps));
        if (!r->snaps)
            abort();
        sn = &r->snaps[r->nsnaps++];
        for (size_t i = 0; i < sizeof(sn->sym); i++)
            sn->sym[i] = (char)(sym[i] >= 'a' && sym[i] <= 'z' ? sym[i] - 32 : sym[i]);
        sn->sym[sizeof(sn->sym) - 1] = '\0';
        sn->t_ns = replay_rel_ns(s, strtod(arrow + 4, NULL));
        sn->body = colon + 2;
        sn->len = strlen(colon + 2);
    }
    return 0;
}

/* See fv.h. */
bool rest_first_snapshot(const struct fv_server *s, const char *sym, const char **body, size_t *len,
                         int64_t *t_ns)
{
    const struct fv_snap *best = NULL;

    for (size_t i = 0; i < s->rest.nsnaps; i++)
        if (strcmp(s->rest.snaps[i].sym, sym) == 0 && (!best || s->rest.snaps[i].t_ns < best->t_ns))
            best = &s->rest.snaps[i];
    if (!best)
        return false;
    *body = best->body;
    *len = best->len;
    *t_ns = best->t_ns;
    return true;
}

/* Creates the REST timer and seeds the chunk-size generator. Returns 0. */
int rest_init(struct fv_server *s)
{
    uv_timer_init(s->loop, &s->rest.timer);
    s->rest.timer.data = s;
    s->rest.rng = s->o->seed ? s->o->seed : 0x2545f4914f6cdd1dull;
    return 0;
}

/* xorshift64: cheap, repeatable chunk sizes. */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* ---- weight ---- */

/* The venue's weight for a depth request (src/venue/README.md 1.6; futures per the futures docs).
 */
static long depth_weight(bool spot, long limit)
{
    if (spot)
        return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    return limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20;
}

/* Adds weight w in the current minute. Returns false when the minute's limit is exceeded. */
static bool use_weight(struct fv_server *s, long w)
{
    int64_t minute = fv_wall_ms() / 60000;

    if (minute != s->rest.minute) {
        s->rest.minute = minute;
        s->rest.used = 0;
    }
    s->rest.used += w;
    return !s->o->weight_limit || s->rest.used <= s->o->weight_limit;
}

/* Seconds until loop time `until` (rounded up). */
static long secs_until(const struct fv_server *s, uint64_t until)
{
    uint64_t now = fv_now_ms(s);

    return until > now ? (long)((until - now + 999) / 1000) : 0;
}

/* A JSON answer with the weight header (and Retry-After on 429 and 418). A 429 counts towards
 * --ban-after. */
static void answer(struct fv_peer *p, int status, const char *body, size_t len)
{
    struct fv_server *s = p->srv;
    char hdr[160];
    long retry = s->o->retry_after >= 0 ? s->o->retry_after : 60 - (long)(fv_wall_ms() / 1000 % 60);

    if (status == 418)
        retry = secs_until(s, s->rest.ban_until_ms);
    if (status == 429 || status == 418)
        snprintf(hdr, sizeof(hdr), "x-mbx-used-weight-1m: %ld\r\nRetry-After: %ld\r\n",
                 s->rest.used, retry);
    else
        snprintf(hdr, sizeof(hdr), "x-mbx-used-weight-1m: %ld\r\n", s->rest.used);
    peer_http_respond(p, status, JSON_CT, hdr, body, len);
    if (status == 429 && s->o->ban_after >= 0 && ++s->rest.n429 >= s->o->ban_after) {
        s->rest.n429 = 0;
        s->rest.ban_until_ms = fv_now_ms(s) + (uint64_t)(s->o->ban_seconds * 1000 + 0.5);
        fv_log("rest banned %ld", secs_until(s, s->rest.ban_until_ms));
    }
}

/* The 429 answer to a request over the weight limit. */
static void too_much(struct fv_peer *p)
{
    static const char B[] = "{\"code\":-1003,\"msg\":\"Too much request weight used; please use "
                            "WebSocket Streams for live updates to avoid polling the API.\"}";

    answer(p, 429, B, sizeof(B) - 1);
}

/* True (and the request answered 418) while a ban lasts. */
static bool banned(struct fv_peer *p)
{
    struct fv_server *s = p->srv;
    char body[256];
    int n;

    if (!s->rest.ban_until_ms)
        return false;
    if (fv_now_ms(s) >= s->rest.ban_until_ms) {
        s->rest.ban_until_ms = 0;
        fv_log("rest ban over");
        return false;
    }
    n = snprintf(body, sizeof(body),
                 "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until "
                 "%" PRId64 ". Please use WebSocket Streams for live updates to avoid bans.\"}",
                 fv_wall_ms() + secs_until(s, s->rest.ban_until_ms) * 1000);
    answer(p, 418, body, (size_t)n);
    return true;
}

/* True (and the request answered 429) for the first --throttle-next API requests: a venue
 * throttling the IP for weight spent by other clients. */
static bool throttled(struct fv_peer *p)
{
    struct fv_server *s = p->srv;

    if (s->rest.n_throttled >= s->o->throttle_next)
        return false;
    s->rest.n_throttled++;
    fv_log("rest throttled %ld of %ld", s->rest.n_throttled, s->o->throttle_next);
    too_much(p);
    return true;
}

/* answer() for a NUL-terminated body. */
static void answer_str(struct fv_peer *p, int status, const char *body)
{
    answer(p, status, body, strlen(body));
}

/* ---- depth ---- */

/* Serves snapshot i cut to `limit` levels per side, shifted for replay lap `lap`. */
static void serve_snapshot(struct fv_peer *p, size_t i, long limit, uint64_t lap)
{
    struct fv_server *s = p->srv;
    const struct fv_snap *sn = &s->rest.snaps[i];
    json_t *root = json_loadb(sn->body, sn->len, 0, NULL);
    json_t *bids = json_object_get(root, "bids"), *asks = json_object_get(root, "asks");
    const char *body = sn->body;
    size_t len = sn->len;
    char *txt = NULL;
    bool cut = false;

    while (json_is_array(bids) && json_array_size(bids) > (size_t)limit) {
        json_array_remove(bids, json_array_size(bids) - 1);
        cut = true;
    }
    while (json_is_array(asks) && json_array_size(asks) > (size_t)limit) {
        json_array_remove(asks, json_array_size(asks) - 1);
        cut = true;
    }
    if (cut && (txt = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        body = txt;
        len = strlen(txt);
    }
    if (s->o->replay_live) {
        struct fv_shift sh;

        live_shift(s, live_sym_of(s, sn->sym), lap, &sh);
        s->rest.body.len = 0;
        shift_json_ex(body, len, &sh, &s->rest.body);
        body = (const char *)s->rest.body.data;
        len = s->rest.body.len;
    } else if (lap) {
        s->rest.body.len = 0;
        shift_json(body, len, (int64_t)lap * s->replay.id_shift,
                   (int64_t)lap * s->replay.time_shift, &s->rest.body);
        body = (const char *)s->rest.body.data;
        len = s->rest.body.len;
    }
    answer(p, 200, body, len);
    free(txt);
    json_decref(root);
}

/* The snapshot of sym to serve now (the latest whose time has come, with the replay lap it
 * came in *lap), or -1; *first gets the earliest one (-1 if the symbol has none). */
static int pick(const struct fv_server *s, const char *sym, int *first, uint64_t *lap)
{
    const struct fv_rest *r = &s->rest;
    int best = -1;

    *first = -1;
    *lap = 0;
    for (size_t i = 0; i < r->nsnaps; i++) {
        uint64_t l;

        if (strcmp(r->snaps[i].sym, sym) != 0)
            continue;
        if (*first < 0 || r->snaps[i].t_ns < r->snaps[*first].t_ns)
            *first = (int)i;
        if (!replay_reached_lap(s, r->snaps[i].t_ns, &l))
            continue;
        /* The latest reached: a later lap first, then a later time. */
        if (best < 0 || l > *lap || (l == *lap && r->snaps[i].t_ns >= r->snaps[best].t_ns)) {
            best = (int)i;
            *lap = l;
        }
    }
    return best;
}

/* A held request may be due. */
static void on_rest_timer(uv_timer_t *t)
{
    rest_kick(t->data);
}

/* Arms the REST timer for the earliest held request on a paced clock. */
static void arm(struct fv_server *s)
{
    uint64_t at = 0, now = uv_now(s->loop);

    if (s->stopping)
        return;
    for (struct fv_peer *p = s->peers; p; p = p->next) {
        uint64_t due;

        if (p->stage != FV_ST_HELD || p->cstate != FV_OPEN || p->held_snap < 0)
            continue;
        due = replay_due_ms(s, s->rest.snaps[p->held_snap].t_ns);
        if (due && (!at || due < at))
            at = due;
    }
    if (at)
        uv_timer_start(&s->rest.timer, on_rest_timer, at > now ? at - now : 0, 0);
    else
        uv_timer_stop(&s->rest.timer);
}

/* GET depth: validates symbol and limit, counts weight, then serves or holds. */
static void depth(struct fv_peer *p, bool spot)
{
    struct fv_server *s = p->srv;
    char sym[32], lim[32];
    long limit = spot ? 100 : 500;
    int best, first;
    uint64_t lap;

    if (!qparam(p->req.target, "symbol", sym, sizeof(sym)) || !sym[0]) {
        use_weight(s, 1);
        answer_str(p, 400,
                   "{\"code\":-1102,\"msg\":\"Mandatory parameter 'symbol' was not sent, was "
                   "empty/null, or malformed.\"}");
        return;
    }
    if (qparam(p->req.target, "limit", lim, sizeof(lim))) {
        char *end;

        limit = strtol(lim, &end, 10);
        if (*end || limit < 1) {
            use_weight(s, 1);
            answer_str(p, 400,
                       "{\"code\":-1100,\"msg\":\"Illegal characters found in parameter "
                       "'limit'; legal range is '^[0-9]{1,20}$'.\"}");
            return;
        }
        if (!spot && limit != 5 && limit != 10 && limit != 20 && limit != 50 && limit != 100 &&
            limit != 500 && limit != 1000) {
            use_weight(s, 1);
            answer_str(p, 400, "{\"code\":-4021,\"msg\":\"Invalid depth limit.\"}");
            return;
        }
        if (limit > 5000)
            limit = 5000;
    }
    if (!use_weight(s, depth_weight(fv_binance_spot(s->o), limit))) {
        too_much(p);
        return;
    }
    for (char *c = sym; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 32);
    s->rest.body.len = 0;
    if (market_depth(s, sym, limit, &s->rest.body)) {
        answer(p, 200, (const char *)s->rest.body.data, s->rest.body.len);
        return;
    }
    best = pick(s, sym, &first, &lap);
    if (first < 0) {
        answer_str(p, 400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
        return;
    }
    if (best >= 0) {
        serve_snapshot(p, (size_t)best, limit, lap);
        return;
    }
    p->held_snap = first;
    p->held_limit = (int)limit;
    p->stage = FV_ST_HELD;
    fv_log("conn %u held %s", p->id, p->req.target);
    arm(s);
}

/* See fv.h. */
void rest_kick(struct fv_server *s)
{
    for (struct fv_peer *p = s->peers; p; p = p->next) {
        int best, first;
        uint64_t lap;

        if (p->stage != FV_ST_HELD || p->cstate != FV_OPEN || p->held_snap < 0)
            continue;
        best = pick(s, s->rest.snaps[p->held_snap].sym, &first, &lap);
        if (best < 0)
            continue;
        p->held_snap = -1;
        serve_snapshot(p, (size_t)best, p->held_limit, lap);
        peer_http_resume(p);
    }
    arm(s);
}

/* ---- klines ---- */

/* The venue's weight for a klines request: spot 2; futures by limit. */
static long klines_weight(bool spot, long limit)
{
    if (spot)
        return 2;
    return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

/* Parses an optional millisecond time parameter into *v. Returns false when present but not
 * a number. */
static bool time_param(const char *target, const char *key, int64_t *v)
{
    char txt[32], *end;

    if (!qparam(target, key, txt, sizeof(txt)))
        return true;
    *v = strtoll(txt, &end, 10);
    return txt[0] && !*end;
}

/* GET klines: the closed candles of a --market symbol. */
static void klines(struct fv_peer *p, bool spot)
{
    struct fv_server *s = p->srv;
    const char *t = p->req.target;
    char sym[32], ivs[16], lim[32];
    long limit = 500, max = spot ? 1000 : 1500;
    int64_t start = INT64_MIN, end = INT64_MAX;
    const struct fv_symparams *sp;
    int iv;

    if (!qparam(t, "symbol", sym, sizeof(sym)) || !sym[0]) {
        use_weight(s, 1);
        answer_str(p, 400,
                   "{\"code\":-1102,\"msg\":\"Mandatory parameter 'symbol' was not sent, was "
                   "empty/null, or malformed.\"}");
        return;
    }
    if (!qparam(t, "interval", ivs, sizeof(ivs)) || !ivs[0]) {
        use_weight(s, 1);
        answer_str(p, 400,
                   "{\"code\":-1102,\"msg\":\"Mandatory parameter 'interval' was not sent, was "
                   "empty/null, or malformed.\"}");
        return;
    }
    iv = candle_interval(ivs, strlen(ivs));
    if (iv < 0 || (!spot && iv == 0)) { /* futures REST has no 1s candles */
        use_weight(s, 1);
        answer_str(p, 400, "{\"code\":-1120,\"msg\":\"Invalid interval.\"}");
        return;
    }
    if (qparam(t, "limit", lim, sizeof(lim))) {
        char *e;

        limit = strtol(lim, &e, 10);
        if (*e || !lim[0] || limit < 1) {
            use_weight(s, 1);
            answer_str(p, 400,
                       "{\"code\":-1100,\"msg\":\"Illegal characters found in parameter "
                       "'limit'; legal range is '^[0-9]{1,20}$'.\"}");
            return;
        }
        if (limit > max)
            limit = max;
    }
    if (!time_param(t, "startTime", &start) || !time_param(t, "endTime", &end)) {
        use_weight(s, 1);
        answer_str(p, 400,
                   "{\"code\":-1100,\"msg\":\"Illegal characters found in parameter "
                   "'startTime' or 'endTime'.\"}");
        return;
    }
    if (!use_weight(s, klines_weight(spot, limit))) {
        too_much(p);
        return;
    }
    for (char *c = sym; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 32);
    sp = market_symbol(s, sym);
    if (!sp) {
        answer_str(p, 400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
        return;
    }
    s->rest.body.len = 0;
    candle_rest_klines(sp, market_tape(s, sym), iv, start, end, (int)limit, fv_wall_ms(),
                       &s->rest.body);
    answer(p, 200, (const char *)s->rest.body.data, s->rest.body.len);
}

/* See fv.h. */
void rest_forget(struct fv_peer *p)
{
    p->held_snap = -1;
}

/* ---- the test route ---- */

/* GET /test/body?size=N&chunked=0|1&status=S: N bytes, byte i = 'a' + i % 26. */
static void test_body(struct fv_peer *p)
{
    char v[32];
    size_t size = 0;
    int status = 200;
    bool chunked = false;
    uint8_t block[26 * 64];

    if (qparam(p->req.target, "size", v, sizeof(v)))
        size = strtoull(v, NULL, 10);
    if (qparam(p->req.target, "chunked", v, sizeof(v)))
        chunked = atoi(v) != 0;
    if (qparam(p->req.target, "status", v, sizeof(v)))
        status = atoi(v);
    if (size > TEST_BODY_MAX || status < 100 || status > 599) {
        static const char B[] = "{\"code\":-1,\"msg\":\"size or status out of range\"}";

        peer_http_respond(p, 400, JSON_CT, NULL, B, sizeof(B) - 1);
        return;
    }
    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (uint8_t)('a' + i % 26);
    peer_http_head(p, status);
    if (chunked) {
        size_t off = 0;

        static const char H[] = "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

        peer_append(p, H, sizeof(H) - 1);
        while (off < size) {
            size_t n = 1 + rng_next(&p->srv->rest.rng) % 8192;
            char hdr[32];
            int hl;

            if (n > size - off)
                n = size - off;
            hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
            peer_append(p, hdr, (size_t)hl);
            for (size_t done = 0; done < n;) {
                size_t ph = (off + done) % 26, k = n - done;

                if (k > sizeof(block) - 26)
                    k = sizeof(block) - 26;
                peer_append(p, block + ph, k);
                done += k;
            }
            peer_append(p, "\r\n", 2);
            off += n;
        }
        peer_append(p, "0\r\n\r\n", 5);
    } else {
        char hdr[96];
        int hl = snprintf(hdr, sizeof(hdr),
                          "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", size);

        peer_append(p, hdr, (size_t)hl);
        for (size_t off = 0; off < size;) {
            size_t k = size - off;

            if (k > sizeof(block) - 26)
                k = sizeof(block) - 26;
            peer_append(p, block + off % 26, k);
            off += k;
        }
    }
    peer_http_finish(p, status);
}

#define PATH_IS(x) (plen == sizeof(x) - 1 && strncmp(t, x, plen) == 0)

/* See fv.h: the routes of every venue, then the module's; unknown paths get 404. */
void rest_handle(struct fv_peer *p)
{
    struct fv_server *s = p->srv;
    const char *t = p->req.target;
    size_t plen = strcspn(t, "?");

    if (PATH_IS("/fv/stats")) {
        struct fv_buf *b = &s->rest.body;

        b->len = 0;
        fv_stats_json(s, b);
        peer_http_respond(p, 200, JSON_CT, NULL, b->data, b->len);
    } else if (PATH_IS("/test/body")) {
        test_body(p);
    } else if (s->o->proto->rest) {
        s->o->proto->rest(p);
    } else {
        static const char B[] = "{\"code\":-1,\"msg\":\"Not found.\"}";

        peer_http_respond(p, 404, JSON_CT, NULL, B, sizeof(B) - 1);
    }
}

/* See fv.h: the Binance REST API (depth, klines, ping, time) of spot or futures. */
void binance_rest(struct fv_peer *p)
{
    struct fv_server *s = p->srv;
    bool spot = fv_binance_spot(s->o);
    const char *t = p->req.target;
    size_t plen = strcspn(t, "?");
    char ms[64];

#define API_IS(x) (spot ? PATH_IS("/api/v3/" x) : PATH_IS("/fapi/v1/" x))
    if ((API_IS("depth") || API_IS("klines") || API_IS("ping") || API_IS("time")) &&
        (banned(p) || throttled(p))) {
        return;
    } else if (API_IS("depth")) {
        depth(p, spot);
    } else if (API_IS("klines")) {
        klines(p, spot);
    } else if (API_IS("ping")) {
        if (!use_weight(s, 1))
            too_much(p);
        else
            answer_str(p, 200, "{}");
    } else if (API_IS("time")) {
        snprintf(ms, sizeof(ms), "{\"serverTime\":%" PRId64 "}", fv_wall_ms());
        if (!use_weight(s, 1))
            too_much(p);
        else
            answer_str(p, 200, ms);
    } else {
        static const char B[] = "{\"code\":-1,\"msg\":\"Not found.\"}";

        peer_http_respond(p, 404, JSON_CT, NULL, B, sizeof(B) - 1);
    }
#undef API_IS
}
#undef PATH_IS

/* Close callback of the server-embedded timer. */
static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes the REST timer (shutdown). */
void rest_stop(struct fv_server *s)
{
    uv_close((uv_handle_t *)&s->rest.timer, on_closed);
}

/* Frees the recording (after the loop ended). */
void rest_fini(struct fv_server *s)
{
    free(s->rest.snaps);
    free(s->rest.text);
    fv_buf_free(&s->rest.body);
    s->rest.snaps = NULL;
    s->rest.text = NULL;
}
