/*
 * Id and time shifts for looped replays: from the second lap on, a recorded message is sent with
 * its ids and times moved forward so that a looping replay looks like a live venue whose ids and
 * times only grow (--loop in replay.c, and the REST snapshots served for a lap in rest.c).
 *
 * The design choice is a byte scanner rather than a JSON library: only the digits of the
 * shifted integers change, every other byte (decimal strings, spacing, member order) is copied
 * as recorded. Which integers move is decided by the member name: ids are t a f l U u pu
 * lastUpdateId F L, times are E T O C; inside a kline's "k" object, "t" is the open time, so it
 * is a time there. Only integer values move: "l" or "a" holding a decimal string (tickers) and
 * "f" holding "IOC" (forceOrder) are left alone, and so are negative ids (a kline without a
 * trade has f = L = -1).
 *
 * Ids fall in three spaces, which a live replay (replay_live.c) moves separately per symbol:
 * trade ids (t f l F L: trades, an aggregate trade's first and last, a kline's or ticker's
 * first and last), aggregate trade ids (a) and book update ids (U u pu lastUpdateId).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fv.h"

#define SHIFT_MAX_DEPTH 64 /* deeper nesting is copied without looking inside */

/* What a member is: FK_NONE, a time, a kline's open or close time, or an id of space
 * FK_ID + enum fv_id_space. */
enum field_kind {
    FK_NONE,   /* not shifted */
    FK_TIME,   /* a time: + t_add */
    FK_KOPEN,  /* a kline's open time (k.t) */
    FK_KCLOSE, /* a kline's close time (k.T) */
    FK_EVENT,  /* the event time E (a time too) */
    FK_ID,     /* an id: + id_add[kind - FK_ID] */
};

/* One pass over a JSON text: either rewriting it into out or measuring its ids and times. */
struct walk {
    const char *s;             /* the text */
    size_t n;                  /* its length */
    size_t i;                  /* scan position */
    size_t copied;             /* bytes of s already appended to out */
    const struct fv_shift *sh; /* the shifts (rewrite) */
    int64_t k_add;             /* shift of a kline's open and close time */
    struct fv_buf *out;        /* rewrite target, NULL when measuring */
    int64_t lo[FV_ID_SPACES];  /* measured id range per space */
    int64_t hi[FV_ID_SPACES];  /* (lo > hi: none) */
    int64_t ev, kopen, kclose; /* measured E, k.t, k.T (INT64_MIN: absent) */
};

/* The kind of the member named k[0..kl) (in_kline: directly inside a kline's "k" object). */
static enum field_kind classify(const char *k, size_t kl, bool in_kline)
{
    static const struct {
        const char *name;
        int space;
    } IDS[] = {{"f", FV_ID_TRADE}, {"l", FV_ID_TRADE}, {"F", FV_ID_TRADE},
               {"L", FV_ID_TRADE}, {"a", FV_ID_AGG},   {"U", FV_ID_BOOK},
               {"u", FV_ID_BOOK},  {"pu", FV_ID_BOOK}, {"lastUpdateId", FV_ID_BOOK}};
    static const char *const TIMES[] = {"T", "O", "C"};

    if (kl == 1 && k[0] == 't')
        return in_kline ? FK_KOPEN : FK_ID + FV_ID_TRADE;
    if (kl == 1 && k[0] == 'T' && in_kline)
        return FK_KCLOSE;
    if (kl == 1 && k[0] == 'E')
        return FK_EVENT;
    for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++)
        if (strlen(IDS[i].name) == kl && memcmp(IDS[i].name, k, kl) == 0)
            return FK_ID + IDS[i].space;
    for (size_t i = 0; i < sizeof(TIMES) / sizeof(TIMES[0]); i++)
        if (strlen(TIMES[i]) == kl && memcmp(TIMES[i], k, kl) == 0)
            return FK_TIME;
    return FK_NONE;
}

/* Skips white space. */
static void ws(struct walk *w)
{
    while (w->i < w->n && strchr(" \t\r\n", w->s[w->i]) && w->s[w->i])
        w->i++;
}

/* w->s[w->i] is '"': moves past the closing quote. */
static void skip_string(struct walk *w)
{
    for (w->i++; w->i < w->n; w->i++) {
        if (w->s[w->i] == '\\')
            w->i++;
        else if (w->s[w->i] == '"') {
            w->i++;
            return;
        }
    }
}

/* A number at w->i: shifted when it is an integer of a shifted kind. */
static void number(struct walk *w, enum field_kind kind)
{
    size_t start = w->i, j = w->i;
    bool integer = true;
    int64_t v = 0;
    char txt[32];
    int len;

    if (j < w->n && w->s[j] == '-')
        j++;
    while (j < w->n && strchr("0123456789.eE+-", w->s[j]) && w->s[j]) {
        if (w->s[j] < '0' || w->s[j] > '9')
            integer = false;
        j++;
    }
    w->i = j;
    if (!integer || kind == FK_NONE || j - start > 19)
        return;
    {
        bool neg = w->s[start] == '-';

        for (size_t k = start + neg; k < j; k++)
            v = v * 10 + (w->s[k] - '0');
        if (neg)
            v = -v;
    }
    if (kind >= FK_ID && v < 0)
        return; /* "none" (-1), not an id */
    if (!w->out) {
        if (kind >= FK_ID) {
            int sp = kind - FK_ID;

            if (v < w->lo[sp])
                w->lo[sp] = v;
            if (v > w->hi[sp])
                w->hi[sp] = v;
        } else if (kind == FK_EVENT) {
            w->ev = v;
        } else if (kind == FK_KOPEN) {
            w->kopen = v;
        } else if (kind == FK_KCLOSE) {
            w->kclose = v;
        }
        return;
    }
    if (kind >= FK_ID)
        v += w->sh->id_add[kind - FK_ID];
    else if (kind == FK_KOPEN || kind == FK_KCLOSE)
        v += w->k_add;
    else
        v += w->sh->t_add;
    fv_buf_append(w->out, w->s + w->copied, start - w->copied);
    len = snprintf(txt, sizeof(txt), "%" PRId64, v);
    fv_buf_append(w->out, txt, (size_t)len);
    w->copied = j;
}

static void value(struct walk *w, enum field_kind kind, bool kline_obj, int depth);

/* An object at w->i; in_kline when it is the "k" member of a kline. */
static void object(struct walk *w, bool in_kline, int depth)
{
    w->i++;
    for (;;) {
        size_t k0, k1;

        ws(w);
        if (w->i >= w->n || w->s[w->i] == '}')
            break;
        if (w->s[w->i] == ',') {
            w->i++;
            continue;
        }
        if (w->s[w->i] != '"')
            return; /* not JSON: stop looking */
        k0 = w->i + 1;
        skip_string(w);
        k1 = w->i - 1;
        ws(w);
        if (w->i < w->n && w->s[w->i] == ':')
            w->i++;
        ws(w);
        value(w, classify(w->s + k0, k1 - k0, in_kline), k1 - k0 == 1 && w->s[k0] == 'k',
              depth + 1);
    }
    if (w->i < w->n)
        w->i++;
}

/* Moves past one value at w->i, shifting it if it is a number of a shifted kind. */
static void value(struct walk *w, enum field_kind kind, bool kline_obj, int depth)
{
    char c;

    ws(w);
    if (w->i >= w->n)
        return;
    c = w->s[w->i];
    if (depth > SHIFT_MAX_DEPTH) {
        w->i = w->n;
        return;
    }
    if (c == '{') {
        object(w, kline_obj, depth);
    } else if (c == '[') {
        w->i++;
        for (;;) {
            ws(w);
            if (w->i >= w->n || w->s[w->i] == ']')
                break;
            if (w->s[w->i] == ',') {
                w->i++;
                continue;
            }
            value(w, FK_NONE, false, depth + 1);
        }
        if (w->i < w->n)
            w->i++;
    } else if (c == '"') {
        skip_string(w);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        number(w, kind);
    } else {
        while (w->i < w->n && strchr(",}] \t\r\n", w->s[w->i]) == NULL)
            w->i++;
    }
}

/* A measuring walk over json[0..len): id ranges, E and a kline's times. */
static void measure(const char *json, size_t len, struct walk *w)
{
    memset(w, 0, sizeof(*w));
    w->s = json;
    w->n = len;
    for (int sp = 0; sp < FV_ID_SPACES; sp++) {
        w->lo[sp] = INT64_MAX;
        w->hi[sp] = INT64_MIN;
    }
    w->ev = w->kopen = w->kclose = INT64_MIN;
    value(w, FK_NONE, false, 0);
}

/* See fv.h. */
void shift_json_ex(const char *json, size_t len, const struct fv_shift *sh, struct fv_buf *out)
{
    struct walk w;

    w.k_add = sh->t_add;
    if (sh->kline_from_event) {
        /* The candle is the interval (its own length) that holds the shifted event time. */
        measure(json, len, &w);
        if (w.ev != INT64_MIN && w.kopen != INT64_MIN && w.kclose > w.kopen) {
            int64_t iv = w.kclose - w.kopen + 1, e = w.ev + sh->t_add;

            w.k_add = (e - (e % iv + iv) % iv) - w.kopen;
        }
    }
    {
        int64_t k_add = w.k_add;

        memset(&w, 0, sizeof(w));
        w.s = json;
        w.n = len;
        w.sh = sh;
        w.k_add = k_add;
        w.out = out;
    }
    value(&w, FK_NONE, false, 0);
    fv_buf_append(out, json + w.copied, len - w.copied);
}

/* See fv.h. */
void shift_json(const char *json, size_t len, int64_t id_add, int64_t t_add, struct fv_buf *out)
{
    struct fv_shift sh = {.t_add = t_add};

    for (int sp = 0; sp < FV_ID_SPACES; sp++)
        sh.id_add[sp] = id_add;
    shift_json_ex(json, len, &sh, out);
}

/* See fv.h. */
void shift_ids(const char *json, size_t len, int64_t lo[FV_ID_SPACES], int64_t hi[FV_ID_SPACES])
{
    struct walk w;

    measure(json, len, &w);
    for (int sp = 0; sp < FV_ID_SPACES; sp++) {
        if (w.lo[sp] < lo[sp])
            lo[sp] = w.lo[sp];
        if (w.hi[sp] > hi[sp])
            hi[sp] = w.hi[sp];
    }
}

/* See fv.h. */
void shift_measure(const char *json, size_t len, int64_t *lo, int64_t *hi)
{
    struct walk w;

    measure(json, len, &w);
    for (int sp = 0; sp < FV_ID_SPACES; sp++) {
        if (w.lo[sp] < *lo)
            *lo = w.lo[sp];
        if (w.hi[sp] > *hi)
            *hi = w.hi[sp];
    }
}
