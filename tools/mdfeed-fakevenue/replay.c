/*
 * Replay of a WebSocket recording (fixtures/README.md format) and the replay clock.
 *
 * The recording is parsed once at startup into messages with a stream id, a recorded time
 * relative to the start of the recording, the combined form ({"stream":..,"data":..}) and the
 * byte range of the bare payload inside it, so both framings are sent byte-identical to the
 * recording. The clock starts with the first subscription and maps recorded time to now divided
 * by --speed; with --speed max it is not a clock at all but a cursor that advances as fast as
 * the subscribers' unsent output allows. REST snapshots ask replay_reached() whether their
 * recorded time has come.
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

/* ---- a minimal JSON scanner, only to find byte ranges (the text was validated by jansson) ---- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* s[*i] is '"': moves past the closing quote. */
static bool skip_string(const char *s, size_t n, size_t *i)
{
    for (size_t j = *i + 1; j < n; j++) {
        if (s[j] == '\\')
            j++;
        else if (s[j] == '"') {
            *i = j + 1;
            return true;
        }
    }
    return false;
}

/* Moves past one JSON value starting at s[*i]. */
static bool skip_value(const char *s, size_t n, size_t *i)
{
    size_t j = *i;
    int depth = 0;

    if (j >= n)
        return false;
    if (s[j] == '"')
        return skip_string(s, n, i);
    if (s[j] != '{' && s[j] != '[') {
        size_t start = j;

        while (j < n && !strchr(",}] \t\r\n", s[j]))
            j++;
        *i = j;
        return j > start;
    }
    while (j < n) {
        char c = s[j];

        if (c == '"') {
            if (!skip_string(s, n, &j))
                return false;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        j++;
        if (depth == 0) {
            *i = j;
            return true;
        }
    }
    return false;
}

/* Finds the value ranges of top-level members "stream" and "data" of the object in s. */
static bool find_members(const char *s, size_t n, size_t *st_off, size_t *st_len, size_t *d_off,
                         size_t *d_len)
{
    size_t i = skip_ws(s, n, 0);
    bool got_s = false, got_d = false;

    if (i >= n || s[i] != '{')
        return false;
    i++;
    for (;;) {
        size_t k0, k1, v0;

        i = skip_ws(s, n, i);
        if (i < n && s[i] == '}')
            break;
        if (i >= n || s[i] != '"')
            return false;
        k0 = i + 1;
        if (!skip_string(s, n, &i))
            return false;
        k1 = i - 1;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return false;
        i = skip_ws(s, n, i + 1);
        v0 = i;
        if (!skip_value(s, n, &i))
            return false;
        if (k1 - k0 == 6 && memcmp(s + k0, "stream", 6) == 0 && s[v0] == '"') {
            *st_off = v0 + 1;
            *st_len = i - v0 - 2;
            got_s = true;
        } else if (k1 - k0 == 4 && memcmp(s + k0, "data", 4) == 0) {
            *d_off = v0;
            *d_len = i - v0;
            got_d = true;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}')
            break;
        return false;
    }
    return got_s && got_d;
}

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

/* Stream name for a raw (not combined) recording: the one stream of the URL, or one derived
 * from the event type and symbol. Returns the length written to name, 0 if unknown. */
static size_t raw_stream_name(const char *url, const char *msg, size_t mlen, char *name, size_t cap)
{
    const char *p = strstr(url, "/ws/");
    json_t *root, *e, *sy, *k;
    const char *ev, *suffix = NULL;
    char kl[48];
    size_t n = 0;

    if (p && !strpbrk(p + 4, "/?")) {
        snprintf(name, cap, "%s", p + 4);
        return strlen(name);
    }
    if ((p = strstr(url, "streams=")) && !strchr(p + 8, '/')) {
        snprintf(name, cap, "%.*s", (int)strcspn(p + 8, "&"), p + 8);
        return strlen(name);
    }
    root = json_loadb(msg, mlen, 0, NULL);
    e = json_object_get(root, "e");
    sy = json_object_get(root, "s");
    if (json_is_string(e) && json_is_string(sy)) {
        ev = json_string_value(e);
        if (!strcmp(ev, "trade"))
            suffix = "@trade";
        else if (!strcmp(ev, "aggTrade"))
            suffix = "@aggTrade";
        else if (!strcmp(ev, "depthUpdate"))
            suffix = "@depth";
        else if (!strcmp(ev, "24hrTicker"))
            suffix = "@ticker";
        else if (!strcmp(ev, "24hrMiniTicker"))
            suffix = "@miniTicker";
        else if (!strcmp(ev, "markPriceUpdate"))
            suffix = "@markPrice";
        else if (!strcmp(ev, "bookTicker"))
            suffix = "@bookTicker";
        else if (!strcmp(ev, "forceOrder"))
            suffix = "@forceOrder";
        else if (!strcmp(ev, "kline") &&
                 json_is_string(k = json_object_get(json_object_get(root, "k"), "i"))) {
            snprintf(kl, sizeof(kl), "@kline_%s", json_string_value(k));
            suffix = kl;
        }
        if (suffix) {
            snprintf(name, cap, "%s%s", json_string_value(sy), suffix);
            for (char *c = name; *c && *c != '@'; c++)
                *c = (char)tolower((unsigned char)*c);
            n = strlen(name);
        }
    }
    json_decref(root);
    return n;
}

/* Adds one received message (line text, already trimmed) at recorded time ts. */
static int add_message(struct fv_server *s, struct fv_buf *arena, const char *url, double ts,
                       const char *json, size_t len, size_t *skipped)
{
    struct fv_replay *r = &s->replay;
    struct fv_rmsg *m;
    size_t so = 0, sl = 0, d0 = 0, dl = 0;
    json_error_t jerr;
    json_t *chk = json_loadb(json, len, 0, &jerr);
    char name[256];

    if (!chk)
        return -1;
    json_decref(chk);
    r->msgs = realloc(r->msgs, (r->n + 1) * sizeof(*r->msgs));
    if (!r->msgs)
        abort();
    m = &r->msgs[r->n];
    m->t_ns = (int64_t)llround((ts - r->t0) * 1e9);
    if (r->n && m->t_ns < r->msgs[r->n - 1].t_ns)
        m->t_ns = r->msgs[r->n - 1].t_ns; /* keep the clock monotonic */
    m->off = (uint32_t)arena->len;
    m->lsym = -1;
    m->book_id = INT64_MIN;
    if (find_members(json, len, &so, &sl, &d0, &dl)) {
        m->sid = streams_intern(&s->streams, json + so, sl);
        fv_buf_append(arena, json, len);
        m->len = (uint32_t)len;
        m->raw_off = (uint32_t)(m->off + d0);
        m->raw_len = (uint32_t)dl;
    } else {
        size_t nl = raw_stream_name(url, json, len, name, sizeof(name));

        if (!nl) {
            (*skipped)++;
            return 0;
        }
        m->sid = streams_intern(&s->streams, name, nl);
        fv_buf_append(arena, "{\"stream\":\"", 11);
        fv_buf_append(arena, name, nl);
        fv_buf_append(arena, "\",\"data\":", 9);
        m->raw_off = (uint32_t)arena->len;
        m->raw_len = (uint32_t)len;
        fv_buf_append(arena, json, len);
        fv_buf_append(arena, "}", 1);
        m->len = (uint32_t)(arena->len - m->off);
    }
    r->n++;
    return 0;
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
    size_t len, skipped = 0, lineno = 0;
    char *text = fv_read_file(path, &len), *line, *cursor = text;
    char url[2048] = "";
    bool have_t0 = false;

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
            continue;
        }
        if (strstr(line, " <- ") || strstr(line, " -> "))
            continue; /* what the client sent; REST lines */
        if (!isdigit((unsigned char)line[0]) || !(colon = strstr(line, ": "))) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: not a recording line\n", path, lineno);
            free(text);
            fv_buf_free(&arena);
            return -EINVAL;
        }
        if (!have_t0) {
            r->t0 = strtod(line, NULL);
            have_t0 = true;
        }
        if (add_message(s, &arena, url, strtod(line, NULL), colon + 2, strlen(colon + 2),
                        &skipped) < 0) {
            fprintf(stderr, "mdfeed-fakevenue: %s:%zu: invalid JSON\n", path, lineno);
            free(text);
            fv_buf_free(&arena);
            return -EINVAL;
        }
    }
    free(text);
    if (skipped)
        fprintf(stderr, "mdfeed-fakevenue: %s: %zu messages without a known stream skipped\n", path,
                skipped);
    r->text = (char *)arena.data;
    measure_shifts(r);
    r->loaded = true;
    uv_timer_init(s->loop, &r->timer);
    uv_idle_init(s->loop, &r->idle);
    r->timer.data = s;
    r->idle.data = s;
    return 0;
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

    if (live && live_skips(s, m))
        return;
    for (struct fv_peer *p = s->peers; p; p = p->next) {
        if (!peer_live(p) || !binance_delivers(p, m->sid))
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
        binance_send(p, m->sid, c, clen, raw, rlen);
    }
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
    uint64_t now = uv_hrtime();
    size_t batch = 0;

    while (!r->done && due_ns(s, r->msgs[r->cursor].t_ns) <= now && batch++ < 100000) {
        deliver(s, &r->msgs[r->cursor]);
        if (++r->cursor == r->n)
            lap_end(s);
    }
    flush_all(s);
    rest_kick(s);
    schedule(s);
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
    if (!r->started) {
        if (!r->n) {
            r->done = true;
            return;
        }
        r->started = true;
        r->start_ns = uv_hrtime();
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
    fv_buf_free(&s->replay.shifted);
    live_fini(s);
    s->replay.msgs = NULL;
    s->replay.text = NULL;
}
