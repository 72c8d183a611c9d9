/*
 * Synthetic load (--synthetic RATE|max, --msg-size N): Binance trade messages of exactly N bytes
 * (padded with a "pad" field; the wrapper counts in combined mode) for the subscribed
 * <sym>@trade streams of each connection, or for all its streams when none is a trade stream,
 * round robin.
 *
 * At a fixed rate a repeating timer tops each connection up to rate x elapsed time (at most one
 * second of backlog). Flat out, an idle handle generates while a connection's unsent output is
 * under FV_WATERMARK and stops when every connection is above it; a write completion restarts
 * it. Memory stays bounded and the loop never spins with nothing to do.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fv.h"

#define SYNTH_BATCH 4096 /* messages per connection per idle turn */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* True if one of the peer's deliverable streams is a trade stream. */
static bool has_trade(const struct fv_peer *p)
{
    for (size_t i = 0; i < p->subs.n; i++)
        if (p->srv->streams.v[p->subs.ids[i]].trade && binance_delivers(p, p->subs.ids[i]))
            return true;
    return false;
}

/* The next stream to generate for (round robin), or -1. */
static int next_target(struct fv_peer *p, bool trades)
{
    size_t n = p->subs.n;

    for (size_t k = 0; k < n; k++) {
        size_t i = (p->syn.rr + k) % n;
        int sid = p->subs.ids[i];

        if (!binance_delivers(p, sid) || (trades && !p->srv->streams.v[sid].trade))
            continue;
        p->syn.rr = (i + 1) % n;
        return sid;
    }
    return -1;
}

/* The next trade id: a counter per connection, or with --synthetic-stamp the send time in
 * CLOCK_REALTIME ns, so a reader can measure wire-to-reader latency from the record alone. */
static uint64_t next_id(struct fv_peer *p)
{
    struct timespec ts;

    if (!p->srv->o->synth_stamp)
        return p->syn.trade_id++;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Builds and sends one trade message for stream sid. */
static void send_one(struct fv_peer *p, int sid)
{
    struct fv_server *s = p->srv;
    const struct fv_stream *st = &s->streams.v[sid];
    size_t want = s->o->msg_size, len, fixed;
    struct fv_buf *b = &s->scratch;
    uint64_t r = rng_next(&p->syn.rng);
    int64_t now = fv_wall_ms();
    char *o;
    int n;

    fv_buf_reserve(b, want + 1024);
    o = (char *)b->data;
    n = 0;
    if (p->combined)
        n = snprintf(o, 512, "{\"stream\":\"%.200s\",\"data\":", st->name);
    n += snprintf(o + n, 512,
                  "{\"e\":\"trade\",\"E\":%" PRId64 ",\"s\":\"%s\",\"t\":%" PRIu64
                  ",\"p\":\"%" PRIu64 ".%08" PRIu64 "\",\"q\":\"%" PRIu64 ".%08" PRIu64
                  "\",\"T\":%" PRId64 ",\"m\":true,\"M\":true",
                  now, st->sym[0] ? st->sym : "BTCUSDT", next_id(p), 20000 + r % 10000,
                  (r >> 16) % 100000000, 1 + (r >> 44) % 100, (r >> 8) % 100000000, now);
    len = (size_t)n;
    fixed = len + strlen(",\"pad\":\"\"}") + (p->combined ? 1 : 0);
    if (fixed <= want) {
        size_t pad = want - fixed;

        memcpy(o + len, ",\"pad\":\"", 8);
        len += 8;
        memset(o + len, 'x', pad);
        len += pad;
        memcpy(o + len, "\"}", 2);
        len += 2;
    } else {
        o[len++] = '}';
    }
    if (p->combined)
        o[len++] = '}';
    fault_send_data(p, sid, b->data, len);
}

/* Paced: brings each connection up to rate x elapsed. */
static void on_timer(uv_timer_t *t)
{
    struct fv_server *s = t->data;
    double rate = s->o->synth_rate;
    uint64_t now = fv_now_ms(s);
    bool any = false;

    for (struct fv_peer *p = s->peers; p; p = p->next) {
        uint64_t due;
        bool trades;

        if (!peer_live(p) || !p->subs.n)
            continue;
        any = true;
        if (!p->syn.base_ms) {
            p->syn.base_ms = now;
            p->syn.sent = 0;
        }
        due = (uint64_t)((double)(now - p->syn.base_ms) * rate / 1000.0);
        if (due > p->syn.sent + (uint64_t)rate + 1)
            p->syn.sent = due - (uint64_t)rate - 1; /* at most a second of backlog */
        trades = has_trade(p);
        while (p->syn.sent < due && peer_live(p) && peer_unsent(p) < FV_WATERMARK) {
            int sid = next_target(p, trades);

            if (sid < 0)
                break;
            send_one(p, sid);
            p->syn.sent++;
            if (s->o->synth_stamp)
                peer_flush(p); /* each message its own write: the stamp is its send time */
        }
        peer_flush(p);
    }
    if (!any)
        uv_timer_stop(&s->synth.timer);
}

/* Flat out: fills every connection up to the watermark. */
static void on_idle(uv_idle_t *h)
{
    struct fv_server *s = h->data;
    bool progress = false;

    for (struct fv_peer *p = s->peers; p; p = p->next) {
        bool trades;

        if (!peer_live(p) || !p->subs.n || peer_unsent(p) >= FV_WATERMARK)
            continue;
        trades = has_trade(p);
        for (int i = 0; i < SYNTH_BATCH && peer_live(p) && peer_unsent(p) < FV_WATERMARK; i++) {
            int sid = next_target(p, trades);

            if (sid < 0)
                break;
            send_one(p, sid);
            progress = true;
        }
        peer_flush(p);
    }
    if (!progress) {
        uv_idle_stop(&s->synth.idle);
        s->synth.idle_on = false;
    }
}

/* Creates the timer and idle handles when --synthetic is on. Returns 0. */
int synth_init(struct fv_server *s)
{
    double rate = s->o->synth_rate;

    if (!s->o->synth)
        return 0;
    uv_timer_init(s->loop, &s->synth.timer);
    uv_idle_init(s->loop, &s->synth.idle);
    s->synth.timer.data = s;
    s->synth.idle.data = s;
    s->synth.period_ms = rate > 0 ? (unsigned)(1000.0 / rate) : 100;
    if (s->synth.period_ms < 1)
        s->synth.period_ms = 1;
    if (s->synth.period_ms > 100)
        s->synth.period_ms = 100;
    return 0;
}

/* See fv.h. */
void synth_kick(struct fv_server *s)
{
    if (!s->o->synth || s->stopping)
        return;
    if (s->o->synth_max) {
        if (!s->synth.idle_on) {
            uv_idle_start(&s->synth.idle, on_idle);
            s->synth.idle_on = true;
        }
    } else if (!uv_is_active((uv_handle_t *)&s->synth.timer)) {
        uv_timer_start(&s->synth.timer, on_timer, s->synth.period_ms, s->synth.period_ms);
    }
}

/* Close callback of the server-embedded handles. */
static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes the handles (shutdown). */
void synth_stop(struct fv_server *s)
{
    if (!s->o->synth)
        return;
    uv_close((uv_handle_t *)&s->synth.timer, on_closed);
    uv_close((uv_handle_t *)&s->synth.idle, on_closed);
}
