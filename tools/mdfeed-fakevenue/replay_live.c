/*
 * Live replay (--replay-live): a recording replayed so that a client cannot tell it from a
 * live venue. Its times move to now (lap 0 included), and with --loop its ids continue from lap
 * to lap without a gap a book would notice.
 *
 * Ids move per symbol and per id space (shift.c): trade and aggregate trade ids by their span
 * in the recording each lap, so they only grow. Books need more: lap N's diffs must continue
 * lap N-1's update ids, and they were recorded against the book at the snapshot, not against
 * the book the recording ends with. So at load time each symbol with a REST snapshot and diffs
 * after it has its book replayed here: the snapshot S, then every diff after it, giving the end
 * book E. At the start of each lap >= 1 the venue sends one bridging diff that turns E back into
 * S (levels of E not in S go to 0, levels of S get their quantity), with U = the last diff's
 * u + 1; then the lap skips the symbol's book messages the snapshot covers, and its first diff
 * after the snapshot comes with U = the bridge's u + 1. The REST snapshot served in a lap moves
 * by the same book step, so a client that resyncs in any lap finds snapshot and diffs agree.
 * The bridge follows the spot chaining rule (U = previous u + 1); futures diffs chain by pu, so
 * a futures recording's books still resync once a lap.
 * Times: lap N adds the wall-clock time of the lap's start minus the recording's start; a
 * kline's open and close times become the interval (its own length) holding its shifted event
 * time, so candles stay aligned.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

/* One side of a book being replayed here: price and quantity strings as the venue wrote them. */
struct side {
    char (*px)[32]; /* prices (new) */
    char (*qty)[32];
    size_t n, cap;
};

/* Sets price px to qty ("0..." removes it). */
static void side_set(struct side *sd, const char *px, const char *qty)
{
    bool zero = strspn(qty, "0.") == strlen(qty);
    size_t i;

    for (i = 0; i < sd->n && strcmp(sd->px[i], px) != 0; i++)
        ;
    if (i < sd->n) {
        if (zero) {
            sd->n--;
            memmove(sd->px + i, sd->px + i + 1, (sd->n - i) * sizeof(sd->px[0]));
            memmove(sd->qty + i, sd->qty + i + 1, (sd->n - i) * sizeof(sd->qty[0]));
        } else {
            snprintf(sd->qty[i], sizeof(sd->qty[i]), "%s", qty);
        }
        return;
    }
    if (zero)
        return;
    if (sd->n == sd->cap) {
        sd->cap = sd->cap ? sd->cap * 2 : 64;
        sd->px = realloc(sd->px, sd->cap * sizeof(sd->px[0]));
        sd->qty = realloc(sd->qty, sd->cap * sizeof(sd->qty[0]));
        if (!sd->px || !sd->qty)
            abort();
    }
    snprintf(sd->px[sd->n], sizeof(sd->px[0]), "%s", px);
    snprintf(sd->qty[sd->n], sizeof(sd->qty[0]), "%s", qty);
    sd->n++;
}

/* The quantity at px, or NULL. */
static const char *side_get(const struct side *sd, const char *px)
{
    for (size_t i = 0; i < sd->n; i++)
        if (strcmp(sd->px[i], px) == 0)
            return sd->qty[i];
    return NULL;
}

/* Applies a JSON array of [px, qty] pairs. */
static void side_apply(struct side *sd, const json_t *levels)
{
    size_t i;
    json_t *lv;

    json_array_foreach(levels, i, lv)
    {
        const char *px = json_string_value(json_array_get(lv, 0));
        const char *qty = json_string_value(json_array_get(lv, 1));

        if (px && qty && strlen(px) < 32 && strlen(qty) < 32)
            side_set(sd, px, qty);
    }
}

static void side_free(struct side *sd)
{
    free(sd->px);
    free(sd->qty);
    memset(sd, 0, sizeof(*sd));
}

/* Appends the levels turning `end` into `start` as a JSON array. */
static void bridge_side(struct fv_buf *b, const struct side *end, const struct side *start)
{
    bool first = true;

    fv_buf_append(b, "[", 1);
    for (size_t i = 0; i < end->n; i++) {
        if (side_get(start, end->px[i]))
            continue;
        fv_buf_printf(b, "%s[\"%s\",\"0\"]", first ? "" : ",", end->px[i]);
        first = false;
    }
    for (size_t i = 0; i < start->n; i++) {
        const char *q = side_get(end, start->px[i]);

        if (q && strcmp(q, start->qty[i]) == 0)
            continue;
        fv_buf_printf(b, "%s[\"%s\",\"%s\"]", first ? "" : ",", start->px[i], start->qty[i]);
        first = false;
    }
    fv_buf_append(b, "]", 1);
}

/* The live symbol slot of sym (upper case), created if new. */
static int lsym_of(struct fv_replay *r, const char *sym)
{
    size_t i;

    for (i = 0; i < r->n_lsyms; i++)
        if (strcmp(r->lsyms[i].sym, sym) == 0)
            return (int)i;
    r->lsyms = realloc(r->lsyms, (r->n_lsyms + 1) * sizeof(*r->lsyms));
    if (!r->lsyms)
        abort();
    memset(&r->lsyms[i], 0, sizeof(r->lsyms[i]));
    snprintf(r->lsyms[i].sym, sizeof(r->lsyms[i].sym), "%s", sym);
    r->lsyms[i].depth_sid = -1;
    r->n_lsyms++;
    return (int)i;
}

/* Replays sl's book from its snapshot through the recording's diffs and builds the bridge.
 * Leaves sl->book false when the symbol has no snapshot or no diff after it. */
static void prepare_book(struct fv_server *s, struct fv_live_sym *sl, int idx)
{
    struct fv_replay *r = &s->replay;
    struct side bids = {0}, asks = {0}, sbids = {0}, sasks = {0};
    const char *body;
    size_t blen;
    int64_t t_ns, last_id;
    json_t *snap, *v;
    bool started = false;

    if (!rest_first_snapshot(s, sl->sym, &body, &blen, &t_ns))
        return;
    snap = json_loadb(body, blen, 0, NULL);
    v = json_object_get(snap, "lastUpdateId");
    if (!json_is_integer(v)) {
        json_decref(snap);
        return;
    }
    last_id = json_integer_value(v);
    side_apply(&sbids, json_object_get(snap, "bids"));
    side_apply(&sasks, json_object_get(snap, "asks"));
    side_apply(&bids, json_object_get(snap, "bids"));
    side_apply(&asks, json_object_get(snap, "asks"));
    json_decref(snap);
    for (size_t i = 0; i < r->n; i++) {
        const struct fv_rmsg *m = &r->msgs[i];
        json_t *d, *U, *u;

        if (m->lsym != idx || m->sid != sl->depth_sid)
            continue;
        d = json_loadb(r->text + m->raw_off, m->raw_len, 0, NULL);
        U = json_object_get(d, "U");
        u = json_object_get(d, "u");
        if (json_is_integer(U) && json_is_integer(u) && json_integer_value(u) > last_id) {
            if (!started) {
                sl->first_live_u = json_integer_value(U);
                started = true;
            }
            sl->last_diff_u = json_integer_value(u);
            side_apply(&bids, json_object_get(d, "b"));
            side_apply(&asks, json_object_get(d, "a"));
        }
        json_decref(d);
    }
    if (started) {
        struct fv_buf b = {0};

        fv_buf_append(&b, "\"b\":", 4);
        bridge_side(&b, &bids, &sbids);
        fv_buf_append(&b, ",\"a\":", 5);
        bridge_side(&b, &asks, &sasks);
        fv_buf_append(&b, "", 1);
        sl->levels = (char *)b.data;
        sl->book = true;
    }
    side_free(&bids);
    side_free(&asks);
    side_free(&sbids);
    side_free(&sasks);
}

/* See fv.h. */
int live_prepare(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    for (size_t i = 0; i < r->n; i++) {
        struct fv_rmsg *m = &r->msgs[i];
        const struct fv_stream *st = &s->streams.v[m->sid];
        int64_t lo[FV_ID_SPACES], hi[FV_ID_SPACES];
        struct fv_live_sym *sl;

        m->lsym = -1;
        m->book_id = INT64_MIN;
        if (!st->sym[0])
            continue;
        m->lsym = (int16_t)lsym_of(r, st->sym);
        sl = &r->lsyms[m->lsym];
        if (st->depth_diff && sl->depth_sid < 0)
            sl->depth_sid = m->sid;
        for (int sp = 0; sp < FV_ID_SPACES; sp++) {
            lo[sp] = INT64_MAX;
            hi[sp] = INT64_MIN;
        }
        shift_ids(r->text + m->raw_off, m->raw_len, lo, hi);
        m->book_id = hi[FV_ID_BOOK];
        for (int sp = 0; sp < FV_ID_SPACES; sp++) {
            if (lo[sp] > hi[sp])
                continue;
            if (!sl->seen[sp] || lo[sp] < sl->lo[sp])
                sl->lo[sp] = lo[sp];
            if (!sl->seen[sp] || hi[sp] > sl->hi[sp])
                sl->hi[sp] = hi[sp];
            sl->seen[sp] = true;
        }
    }
    for (size_t k = 0; k < r->n_lsyms; k++) {
        struct fv_live_sym *sl = &r->lsyms[k];

        for (int sp = 0; sp < FV_ID_SPACES; sp++)
            sl->step[sp] = sl->seen[sp] ? sl->hi[sp] - sl->lo[sp] + 1 : 0;
        if (sl->depth_sid >= 0)
            prepare_book(s, sl, (int)k);
        if (sl->book) /* the bridge takes ids last diff + 1 .. highest book id + 1 */
            sl->step[FV_ID_BOOK] = sl->hi[FV_ID_BOOK] + 2 - sl->first_live_u;
    }
    r->dur_ms = r->n ? (r->msgs[r->n - 1].t_ns + 999999) / 1000000 : 0;
    if (r->dur_ms < 1)
        r->dur_ms = 1;
    return 0;
}

/* See fv.h. */
void live_shift(const struct fv_server *s, int lsym, uint64_t lap, struct fv_shift *sh)
{
    const struct fv_replay *r = &s->replay;

    memset(sh, 0, sizeof(*sh));
    sh->t_add = r->t_add;
    sh->kline_from_event = true;
    if (lsym < 0 || (size_t)lsym >= r->n_lsyms)
        return;
    for (int sp = 0; sp < FV_ID_SPACES; sp++)
        sh->id_add[sp] = (int64_t)lap * r->lsyms[lsym].step[sp];
}

/* See fv.h. */
int live_sym_of(const struct fv_server *s, const char *sym)
{
    const struct fv_replay *r = &s->replay;

    for (size_t i = 0; i < r->n_lsyms; i++)
        if (strcmp(r->lsyms[i].sym, sym) == 0)
            return (int)i;
    return -1;
}

/* See fv.h. */
bool live_skips(const struct fv_server *s, const struct fv_rmsg *m)
{
    const struct fv_replay *r = &s->replay;
    const struct fv_live_sym *sl;

    if (!r->laps || m->lsym < 0 || m->book_id == INT64_MIN)
        return false;
    sl = &r->lsyms[m->lsym];
    return sl->book && m->book_id < sl->first_live_u;
}

/* See fv.h. */
void live_start(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;
    int64_t t0_ms = (int64_t)(r->t0 * 1000.0 + 0.5);
    int64_t t_add = fv_wall_ms() - t0_ms;

    /* Never back in time, whatever the clock did: at least one lap on from the last. */
    if (r->laps && t_add < r->t_add + r->dur_ms)
        t_add = r->t_add + r->dur_ms;
    r->t_add = t_add;
}

/* See fv.h. */
void live_bridge(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;
    int64_t lap = (int64_t)r->laps; /* the lap about to start, >= 1 */
    struct fv_buf *b = &r->shifted;
    int n = 0;

    for (size_t k = 0; k < r->n_lsyms; k++) {
        const struct fv_live_sym *sl = &r->lsyms[k];
        const struct fv_stream *st;
        int64_t base;
        size_t pre;

        if (!sl->book)
            continue;
        n++;
        st = &s->streams.v[sl->depth_sid];
        base = (lap - 1) * sl->step[FV_ID_BOOK];
        b->len = 0;
        fv_buf_printf(b, "{\"stream\":\"%s\",\"data\":", st->name);
        pre = b->len;
        fv_buf_printf(b,
                      "{\"e\":\"depthUpdate\",\"E\":%" PRId64 ",\"s\":\"%s\",\"U\":%" PRId64
                      ",\"u\":%" PRId64 ",%s}",
                      fv_wall_ms(), sl->sym, sl->last_diff_u + 1 + base,
                      sl->hi[FV_ID_BOOK] + 1 + base, sl->levels);
        {
            size_t rlen = b->len - pre;

            fv_buf_append(b, "}", 1);
            for (struct fv_peer *p = s->peers; p; p = p->next)
                if (peer_live(p) && binance_delivers(p, sl->depth_sid))
                    binance_send(p, sl->depth_sid, (const char *)b->data, b->len,
                                 (const char *)b->data + pre, rlen);
        }
    }
    fv_log("replay lap %" PRId64 " bridged %d books", lap, n);
}

/* See fv.h. */
void live_fini(struct fv_server *s)
{
    struct fv_replay *r = &s->replay;

    for (size_t k = 0; k < r->n_lsyms; k++)
        free(r->lsyms[k].levels);
    free(r->lsyms);
    r->lsyms = NULL;
    r->n_lsyms = 0;
}
