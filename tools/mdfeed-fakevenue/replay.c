/*
 * Replay of a WebSocket recording (fixtures/README.md format) and the replay clock.
 *
 * The recording is parsed once at startup. The venue module says what each line is (fv.h, struct
 * fv_rline): a message of a subscription key (a Binance stream, a Bitfinex channel), one for every
 * connection, or the answer to a client's request (a subscription acknowledgement, kept for the
 * module to send when a live client asks for the same key); channel ids are tied to keys through
 * the recorded acknowledgements, per recorded connection. Each message keeps its recorded time
 * relative to the start of the recording, its stored form and the range of its bare payload
 * (Binance keeps the combined form, so both framings are sent byte-identical to the recording). An
 * acknowledgement holds the clock until a live client has subscribed its key (held()), as the
 * recorded subscription held its channel back. The clock starts with the first subscription and
 * maps recorded time to now divided by --speed; with --speed max it is not a clock at all but a
 * cursor that advances as fast as the subscribers' unsent output allows. REST snapshots ask
 * replay_reached() whether their recorded time has come.
 *
 * With --loop, lap N >= 1 sends every message with its ids moved forward by N x (the
 * recording's id span + 1) and its times by N x (its duration rounded up to whole minutes), see
 * shift.c; lap 0 is the recording byte for byte. The REST snapshots served during a lap move
 * the same way (rest.c), so a client syncing a book on any lap sees a consistent venue.
 * With --replay-live the shifts are replay_live.c's instead: times moved to now from lap 0 on,
 * ids continued per symbol, and a bridging diff per book at each lap's start.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

#define REPLAY_BATCH 256 /* messages per idle turn when flat out */

/* ---- loading ---- */

char *fv_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t r;

        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = realloc(buf, cap + 1);
            if (!buf)
                abort();
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *fv_rec_line(char **cursor)
{
    char *line = *cursor, *end;
    size_t ll;

    if (!line || !*line)
        return NULL;
    end = strchr(line, '\n');
    *cursor = end ? end + 1 : NULL;
    ll = end ? (size_t)(end - line) : strlen(line);
    while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
        ll--;
    line[ll] = '\0';
    return line;
}

/* What the loader remembers of the recorded connection being read: the channel ids its ACKs
 * gave and its requests still waiting for an ACK. */
struct load_ctx {
    struct fv_buf *arena; /* the replay text */
    const char *url;      /* the connection's URL */
    size_t skipped;       /* received lines not replayed */
    struct {
        int64_t chan; /* channel id */
        int32_t sid;  /* its key */
    } * chans;
    size_t nchans, cap;
    int32_t reqs[64]; /* keys of unanswered requests, oldest first */
    size_t nreqs;
};

/* The key of channel chan on the connection being read, or -1. */
static int32_t chan_sid(const struct load_ctx *c, int64_t chan)
{
    for (size_t i = c->nchans; i-- > 0;)
        if (c->chans[i].chan == chan)
            return c->chans[i].sid;
    return -1;
}

/* Remembers that channel chan carries key sid on the connection being read. */
static void chan_note(struct load_ctx *c, int64_t chan, int32_t sid)
{
    if (c->nchans == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->chans = realloc(c->chans, c->cap * sizeof(*c->chans));
        if (!c->chans)
            abort();
    }
    c->chans[c->nchans].chan = chan;
    c->chans[c->nchans++].sid = sid;
}

/* Hands one line (a message received at ts, or sent by the client) to the module and keeps
 * what it says is to be replayed. Returns 0, or -1 for invalid JSON in a received line. */
static int add_message(struct fv_server *s, struct load_ctx *c, double ts, const char *json,
                       size_t len, bool sent)
{
    struct fv_replay *r = &s->replay;
    struct fv_rline l = {.url = c->url,
                         .json = json,
                         .len = len,
                         .sent = sent,
                         .arena = c->arena,
                         .kind = FV_RK_SKIP,
                         .chan = -1};
    struct fv_rmsg *m;
    json_error_t jerr;
    json_t *chk = json_loadb(json, len, 0, &jerr);
    int32_t sid = -1;

    if (!chk)
        return sent ? 0 : -1; /* a client line is only a hint */
    json_decref(chk);
    s->o->proto->replay_line(s, &l);
    if (l.key[0])
        sid = streams_intern(&s->streams, l.key, strlen(l.key));
    else if (l.kind == FV_RK_DATA && l.chan >= 0)
        sid = chan_sid(c, l.chan);
    else if (l.kind == FV_RK_ACK && c->nreqs) {
        sid = c->reqs[0];
        memmove(c->reqs, c->reqs + 1, --c->nreqs * sizeof(c->reqs[0]));
    }
    if (l.kind == FV_RK_REQ) {
        if (sid >= 0 && c->nreqs < sizeof(c->reqs) / sizeof(c->reqs[0]))
            c->reqs[c->nreqs++] = sid;
        return 0;
    }
    if (l.kind == FV_RK_SKIP || (l.kind != FV_RK_ALL && sid < 0)) {
        if (!sent)
            c->skipped++;
        return 0;
    }
    if (l.kind == FV_RK_ACK && l.chan >= 0)
        chan_note(c, l.chan, sid);
    /* An ACK that names its key answers the oldest request for that key. */
    for (size_t i = 0; l.kind == FV_RK_ACK && l.key[0] && i < c->nreqs; i++) {
        if (c->reqs[i] != sid)
            continue;
        memmove(c->reqs + i, c->reqs + i + 1, (--c->nreqs - i) * sizeof(c->reqs[0]));
        break;
    }
    r->msgs = realloc(r->msgs, (r->n + 1) * sizeof(*r->msgs));
    if (!r->msgs)
        abort();
    m = &r->msgs[r->n];
    m->t_ns = (int64_t)llround((ts - r->t0) * 1e9);
    if (r->n && m->t_ns < r->msgs[r->n - 1].t_ns)
        m->t_ns = r->msgs[r->n - 1].t_ns; /* keep the clock monotonic */
    m->lsym = -1;
    m->book_id = INT64_MIN;
    m->sid = sid;
    m->kind = (uint8_t)l.kind;
    m->chan = l.chan;
    m->chan_end = l.chan_end;
    if (l.stored) {
        m->off = l.off;
        m->len = l.len_stored;
        m->raw_off = l.raw_off;
        m->raw_len = l.raw_len;
    } else {
        m->off = m->raw_off = (uint32_t)c->arena->len;
        m->len = m->raw_len = (uint32_t)len;
        fv_buf_append(c->arena, json, len);
    }
    r->n++;
    return 0;
}

/* Indexes the first ACK of every key (replay_ack()). */
static void index_acks(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    r->n_ack_of = s->streams.n;
    r->ack_of = fv_xcalloc(r->n_ack_of ? r->n_ack_of : 1, sizeof(*r->ack_of));
    for (size_t i = 0; i < r->n_ack_of; i++)
        r->ack_of[i] = -1;
    for (size_t i = 0; i < r->n; i++)
        if (r->msgs[i].kind == FV_RK_ACK && r->ack_of[r->msgs[i].sid] < 0)
            r->ack_of[r->msgs[i].sid] = (int32_t)i;
}

/* Paced replay: sends every message due by now, then arms for the next one. */
static void on_timer(uv_timer_t *t);
/* Flat-out replay: one batch per loop turn while no subscriber is over the watermark. */
static void on_idle(uv_idle_t *h);

/* The per-lap shifts of a looped replay: the id span of every message's payload, and the
 * duration (last message time) rounded up to whole minutes, at least one, so 1-minute candles
 * stay aligned. */
static void measure_shifts(struct fv_replay *r)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN, dur_ms;

    for (size_t i = 0; i < r->n; i++)
        shift_measure(r->text + r->msgs[i].raw_off, r->msgs[i].raw_len, &lo, &hi);
    r->id_shift = hi >= lo ? hi - lo + 1 : 1;
    dur_ms = r->n ? (r->msgs[r->n - 1].t_ns + 999999) / 1000000 : 0;
    r->time_shift = (dur_ms + 59999) / 60000 * 60000;
    if (r->time_shift < 60000)
        r->time_shift = 60000;
}

/* Parses the recording into s->replay and creates its timer and idle handles. Returns 0,
 * -errno (file) or -EINVAL (a bad line, named on stderr with file:line). */
int replay_load(struct fv_server *s, const char *path)
{
    struct fv_replay *r = &s->replay;
    struct fv_buf arena = {0};
    size_t len, lineno = 0;
    char *text = fv_read_file(path, &len), *line, *cursor = text;
    char url[2048] = "";
    struct load_ctx c = {.arena = &arena, .url = url};
    bool have_t0 = false;
    int rc = 0;

    if (!text) {
        fprintf(stderr, "mdfeed-fakevenue: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    while ((line = fv_rec_line(&cursor))) {
        char *sep, *colon;

        lineno++;
        if (!*line)
            continue;
        if ((sep = strstr(line, " <-> "))) { /* connection opened */
            snprintf(url, sizeof(url), "%.*s", (int)(sep - line), line);
            if (!have_t0) {
                r->t0 = strtod(sep + 5, NULL);
                have_t0 = true;
            }
            c.nchans = c.nreqs = 0; /* channel ids are per connection */
            continue;
        }
        if ((sep = strstr(line, " <- "))) { /* what the client sent */
            if ((colon = strstr(sep + 4, ": ")) && have_t0)
                add_message(s, &c, strtod(sep + 4, NULL), colon + 2, strlen(colon + 2), true);
            continue;
        }
        if (strstr(line, " -> "))
            continue; /* REST lines */
        if (!isdigit((unsigned char)line[0]) || !(colon = strstr(line, ": "))) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: not a recording line\n", path, lineno);
            rc = -EINVAL;
            goto out;
        }
        if (!have_t0) {
            r->t0 = strtod(line, NULL);
            have_t0 = true;
        }
        if (add_message(s, &c, strtod(line, NULL), colon + 2, strlen(colon + 2), false) < 0) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: invalid JSON\n", path, lineno);
            rc = -EINVAL;
            goto out;
        }
    }
    if (c.skipped)
        fprintf(stderr,
                "mdfeed-fakevenue: %s: %zu messages without a known stream or channel skipped\n",
                path, c.skipped);
    r->text = (char *)arena.data;
    arena.data = NULL;
    index_acks(s);
    measure_shifts(r);
    r->loaded = true;
    uv_timer_init(s->loop, &r->timer);
    uv_idle_init(s->loop, &r->idle);
    r->timer.data = s;
    r->idle.data = s;
out:
    free(text);
    free(c.chans);
    fv_buf_free(&arena);
    return rc;
}

/* See fv.h. */
bool replay_on(const struct fv_server *s)
{
    return s->replay.loaded;
}

/* See fv.h. */
const char *replay_ack(const struct fv_server *s, const char *key, size_t *len, int64_t *chan,
                       int *sid)
{
    const struct fv_replay *r = &s->replay;
    int id = streams_find(&s->streams, key, strlen(key));
    const struct fv_rmsg *m;

    if (!r->loaded || id < 0 || (size_t)id >= r->n_ack_of || r->ack_of[id] < 0)
        return NULL;
    m = &r->msgs[r->ack_of[id]];
    *len = m->len;
    *chan = m->chan;
    *sid = id;
    return r->text + m->off;
}

/* ---- the clock ---- */

/* Absolute uv_hrtime() when message i is due on the paced clock. */
static uint64_t due_ns(const struct fv_server *s, int64_t t_ns)
{
    return s->replay.start_ns + (uint64_t)((double)t_ns / s->o->speed);
}

/* Arms whatever drives the replay next. */
static void schedule(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;
    uint64_t now, due;

    if (!r->started || r->done || s->stopping)
        return;
    if (s->o->speed_max) {
        if (!r->idle_on) {
            uv_idle_start(&r->idle, on_idle);
            r->idle_on = true;
        }
        return;
    }
    now = uv_hrtime();
    due = due_ns(s, r->msgs[r->cursor].t_ns);
    uv_timer_start(&r->timer, on_timer, due > now ? (due - now + 999999) / 1000000 : 0, 0);
}

/* True when connection p gets message m: the module's say, or by default every ALL message
 * and the DATA messages of the keys it subscribed. */
static bool wants(const struct fv_server *s, const struct fv_peer *p, const struct fv_rmsg *m)
{
    if (s->o->proto->replay_wants)
        return s->o->proto->replay_wants(p, m);
    return m->kind == FV_RK_ALL || subs_has(&p->subs, m->sid);
}

/* Sends message m to every connection whose subscriptions and path deliver its stream; from
 * the second lap of a loop on, with its ids and times shifted (built once, for the first
 * connection that takes it). */
static void deliver(struct fv_server *s, const struct fv_rmsg *m)
{
    struct fv_replay *r = &s->replay;
    const char *c = r->text + m->off, *raw = r->text + m->raw_off;
    size_t clen = m->len, rlen = m->raw_len;
    bool live = s->o->replay_live;
    bool built = !live && (r->laps == 0 || !s->o->loop);

    if (m->kind == FV_RK_ACK || (live && live_skips(s, m)))
        return; /* an ACK goes out when a client asks (replay_ack()) */
    for (struct fv_peer *p = s->peers; p; p = p->next) {
        if (!peer_live(p) || !wants(s, p, m))
            continue;
        if (!built) {
            size_t pre = m->raw_off - m->off;
            int64_t lap = (int64_t)r->laps;
            struct fv_shift sh;

            if (live) {
                live_shift(s, m->lsym, r->laps, &sh);
            } else {
                for (int sp = 0; sp < FV_ID_SPACES; sp++)
                    sh.id_add[sp] = lap * r->id_shift;
                sh.t_add = lap * r->time_shift;
                sh.kline_from_event = false;
            }
            r->shifted.len = 0;
            fv_buf_append(&r->shifted, c, pre);
            shift_json_ex(raw, m->raw_len, &sh, &r->shifted);
            rlen = r->shifted.len - pre;
            fv_buf_append(&r->shifted, raw + m->raw_len, m->len - pre - m->raw_len);
            c = (const char *)r->shifted.data;
            clen = r->shifted.len;
            raw = c + pre;
            built = true;
        }
        if (s->o->proto->replay_send)
            s->o->proto->replay_send(p, m, c, clen, raw, rlen);
        else
            fault_send_data(p, -1, (const uint8_t *)raw, rlen);
    }
}

/* True when some connection subscribed key sid. */
static bool someone_has(const struct fv_server *s, int sid)
{
    for (const struct fv_peer *p = s->peers; p; p = p->next)
        if (peer_live(p) && subs_has(&p->subs, sid))
            return true;
    return false;
}

/* An ACK holds the clock, as the recorded subscription held its channel's messages back: the
 * clock stays at it until a connection has subscribed its key, or until no subscription came
 * for FV_REPLAY_HOLD_MS (a client that takes fewer channels than the recording). A hold that
 * ends moves the paced clock on by its length, so the recorded spacing after it stays. Returns
 * the ns to wait (0: m may go). */
static uint64_t held(struct fv_server *s, const struct fv_rmsg *m, uint64_t now)
{
    struct fv_replay *r = &s->replay;
    uint64_t until = r->last_sub_ns + (uint64_t)FV_REPLAY_HOLD_MS * 1000000, due;

    if (m->kind != FV_RK_ACK)
        return 0;
    if (!someone_has(s, m->sid) && now < until) {
        r->holding = true;
        return until - now;
    }
    if (r->holding && !s->o->speed_max && now > (due = due_ns(s, m->t_ns)))
        r->start_ns += now - due;
    r->holding = false;
    return 0;
}

/* Past the last message: next lap or done. */
static void lap_end(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    r->cursor = 0;
    r->laps++;
    if (s->o->loop) {
        r->start_ns = uv_hrtime();
        fv_log("replay lap %" PRIu64, r->laps);
        if (s->o->replay_live) {
            live_start(s);
            live_bridge(s);
        }
    } else {
        r->done = true;
        fv_log("replay done");
    }
}

/* Flushes every live peer after a batch of deliveries. */
static void flush_all(struct fv_server *s)
{
    for (struct fv_peer *p = s->peers; p; p = p->next)
        if (peer_live(p))
            peer_flush(p);
}

/* Paced replay: sends every message due by now, then arms for the next one. */
static void on_timer(uv_timer_t *t)
{
    struct fv_server *s = t->data;
    struct fv_replay *r = &s->replay;
    uint64_t now = uv_hrtime(), wait = 0;
    size_t batch = 0;

    while (!r->done && due_ns(s, r->msgs[r->cursor].t_ns) <= now && batch++ < 100000) {
        if ((wait = held(s, &r->msgs[r->cursor], now)))
            break;
        deliver(s, &r->msgs[r->cursor]);
        if (++r->cursor == r->n)
            lap_end(s);
    }
    flush_all(s);
    rest_kick(s);
    if (wait) /* until the hold times out; a subscription re-schedules at once */
        uv_timer_start(&r->timer, on_timer, (wait + 999999) / 1000000, 0);
    else
        schedule(s);
}

/* The end of a hold of a flat-out replay: carry on. */
static void on_hold_timer(uv_timer_t *t)
{
    schedule(t->data);
}

/* True when a subscriber of the replay has too much unsent output, or nobody listens. */
static bool blocked(const struct fv_server *s)
{
    bool any = false;

    for (const struct fv_peer *p = s->peers; p; p = p->next) {
        if (!peer_live(p) || !p->subs.n)
            continue;
        any = true;
        if (peer_unsent(p) >= FV_WATERMARK)
            return true;
    }
    return !any && s->o->loop; /* a looping replay with no listener would spin */
}

/* Flat-out replay: one batch per loop turn while no subscriber is over the watermark. */
static void on_idle(uv_idle_t *h)
{
    struct fv_server *s = h->data;
    struct fv_replay *r = &s->replay;

    if (r->done || blocked(s)) {
        uv_idle_stop(&r->idle);
        r->idle_on = false;
        return;
    }
    for (int i = 0; i < REPLAY_BATCH && !r->done; i++) {
        uint64_t wait = held(s, &r->msgs[r->cursor], uv_hrtime());

        if (wait) {
            uv_idle_stop(&r->idle);
            r->idle_on = false;
            uv_timer_start(&r->timer, on_hold_timer, (wait + 999999) / 1000000, 0);
            break;
        }
        deliver(s, &r->msgs[r->cursor]);
        if (++r->cursor == r->n)
            lap_end(s);
    }
    flush_all(s);
    rest_kick(s);
    if (r->done) {
        uv_idle_stop(&r->idle);
        r->idle_on = false;
    }
}

/* See fv.h. */
void replay_on_subscribe(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    if (!r->loaded || r->done)
        return;
    r->last_sub_ns = uv_hrtime();
    if (!r->started) {
        if (!r->n) {
            r->done = true;
            return;
        }
        r->started = true;
        r->start_ns = uv_hrtime();
        r->last_sub_ns = r->start_ns;
        if (s->o->replay_live)
            live_start(s);
        fv_log("replay started");
        rest_kick(s);
    }
    schedule(s);
}

/* See fv.h: resumes a flat-out replay paused by backpressure. */
void replay_on_drain(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    if (r->loaded && s->o->speed_max && r->started && !r->done && !r->idle_on)
        schedule(s);
}

/* See fv.h. Without --replay every time counts as reached; at the end of a replay without
 * --loop, too. */
bool replay_reached_lap(const struct fv_server *s, int64_t t_ns, uint64_t *lap)
{
    const struct fv_replay *r = &s->replay;

    *lap = 0;
    if (!r->loaded)
        return true;
    if (!r->started)
        return false;
    if (r->done || (r->laps && !s->o->loop))
        return true;
    *lap = r->laps;
    if ((r->cursor >= r->n || r->msgs[r->cursor].t_ns >= t_ns) &&
        (s->o->speed_max || uv_hrtime() >= due_ns(s, t_ns)))
        return true;
    /* Not yet in this lap. A time after the last message was reached at the end of the
     * previous lap (the next lap starts right after the last message). */
    if (r->laps && r->n && t_ns > r->msgs[r->n - 1].t_ns) {
        *lap = r->laps - 1;
        return true;
    }
    return false;
}

/* See fv.h. */
bool replay_reached(const struct fv_server *s, int64_t t_ns)
{
    uint64_t lap;

    return replay_reached_lap(s, t_ns, &lap);
}

/* See fv.h. */
uint64_t replay_due_ms(const struct fv_server *s, int64_t t_ns)
{
    const struct fv_replay *r = &s->replay;
    uint64_t now, due;

    if (!r->loaded || !r->started || r->done || (r->laps && !s->o->loop) || s->o->speed_max)
        return 0;
    now = uv_hrtime();
    due = due_ns(s, t_ns);
    return uv_now(s->loop) + (due > now ? (due - now + 999999) / 1000000 : 0);
}

/* See fv.h. */
int64_t replay_rel_ns(const struct fv_server *s, double unix_s)
{
    return (int64_t)llround((unix_s - s->replay.t0) * 1e9);
}

/* Close callback of handles embedded in the server (freed with it). */
static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes the replay's handles (shutdown). */
void replay_stop(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    if (!r->loaded)
        return;
    uv_close((uv_handle_t *)&r->timer, on_closed);
    uv_close((uv_handle_t *)&r->idle, on_closed);
    r->done = true;
}

/* Frees the parsed recording (after the loop ended). */
void replay_fini(struct fv_server *s)
{
    free(s->replay.msgs);
    free(s->replay.text);
    free(s->replay.ack_of);
    fv_buf_free(&s->replay.shifted);
    live_fini(s);
    s->replay.msgs = NULL;
    s->replay.text = NULL;
}
