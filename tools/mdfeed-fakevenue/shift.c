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
 * "f" holding "IOC" (forceOrder) are left alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fv.h"

#define SHIFT_MAX_DEPTH 64 /* deeper nesting is copied without looking inside */

enum field_kind {
    FK_NONE, /* not shifted */
    FK_ID,   /* an id: + id_add */
    FK_TIME, /* a time: + t_add */
};

/* One pass over a JSON text: either rewriting it into out or measuring its id range. */
struct walk {
    const char *s;      /* the text */
    size_t n;           /* its length */
    size_t i;           /* scan position */
    size_t copied;      /* bytes of s already appended to out */
    int64_t id_add;     /* shift of id fields */
    int64_t t_add;      /* shift of time fields */
    struct fv_buf *out; /* rewrite target, NULL when measuring */
    int64_t lo, hi;     /* measured id range */
};

/* The kind of the member named k[0..kl) (in_kline: directly inside a kline's "k" object). */
static enum field_kind classify(const char *k, size_t kl, bool in_kline)
{
    static const char *const IDS[] = {"a", "f", "l", "U", "u", "pu", "lastUpdateId", "F", "L"};
    static const char *const TIMES[] = {"E", "T", "O", "C"};

    if (kl == 1 && k[0] == 't')
        return in_kline ? FK_TIME : FK_ID;
    for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++)
        if (strlen(IDS[i]) == kl && memcmp(IDS[i], k, kl) == 0)
            return FK_ID;
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
    if (!w->out) {
        if (kind == FK_ID) {
            if (v < w->lo)
                w->lo = v;
            if (v > w->hi)
                w->hi = v;
        }
        return;
    }
    v += kind == FK_ID ? w->id_add : w->t_add;
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

/* See fv.h. */
void shift_json(const char *json, size_t len, int64_t id_add, int64_t t_add, struct fv_buf *out)
{
    struct walk w = {.s = json, .n = len, .id_add = id_add, .t_add = t_add, .out = out};

    value(&w, FK_NONE, false, 0);
    fv_buf_append(out, json + w.copied, len - w.copied);
}

/* See fv.h. */
void shift_measure(const char *json, size_t len, int64_t *lo, int64_t *hi)
{
    struct walk w = {.s = json, .n = len, .lo = *lo, .hi = *hi};

    value(&w, FK_NONE, false, 0);
    *lo = w.lo;
    *hi = w.hi;
}
