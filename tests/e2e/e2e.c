/*
 * End-to-end test helpers (see e2e.h).
 */
#include "e2e/e2e.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

int e2e_rec_load(struct e2e_rec *r, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, room = 0;
    ssize_t len;

    memset(r, 0, sizeof(*r));
    if (!f)
        return -errno;
    while ((len = getline(&line, &cap, f)) > 0) {
        char *colon = strstr(line, ": {");
        json_error_t je;
        json_t *j;

        if (!colon || line[0] < '0' || line[0] > '9')
            continue; /* the URL line */
        j = json_loads(colon + 2, 0, &je);
        if (!j)
            continue;
        if (r->n == room) {
            room = room ? 2 * room : 256;
            r->msg = realloc(r->msg, room * sizeof(*r->msg));
            r->ts = realloc(r->ts, room * sizeof(*r->ts));
        }
        r->ts[r->n] = strtod(line, NULL);
        r->msg[r->n++] = j;
    }
    free(line);
    fclose(f);
    return 0;
}

void e2e_rec_free(struct e2e_rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->msg[i]);
    free(r->msg);
    free(r->ts);
    memset(r, 0, sizeof(*r));
}

json_t *e2e_rest_snapshot(const char *path, const char *symbol)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, key[96];
    size_t cap = 0;
    json_t *j = NULL;

    if (!f)
        return NULL;
    snprintf(key, sizeof(key), "symbol=%s&", symbol);
    while (!j && getline(&line, &cap, f) > 0) {
        char *colon = strstr(line, ": {");

        if (colon && strstr(line, key))
            j = json_loads(colon + 2, 0, NULL);
    }
    free(line);
    fclose(f);
    return j;
}

long e2e_drain(const char *instance, int ring, mdf_record_t **out)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    size_t n = 0, room = 1024;
    mdf_record_t *v;
    int rc;

    rc = mdf_open(&inst, instance, 1000);
    if (rc < 0)
        return rc;
    rc = mdf_subscribe(inst, ring, MDF_START_OLDEST, 0, &sub);
    if (rc < 0) {
        mdf_close(inst);
        return rc;
    }
    v = malloc(room * sizeof(*v));
    while (v && mdf_next(sub, &v[n], NULL) == 1) {
        if (++n == room) {
            room *= 2;
            v = realloc(v, room * sizeof(*v));
        }
    }
    mdf_unsubscribe(sub);
    mdf_close(inst);
    *out = v;
    return v ? (long)n : -ENOMEM;
}

int e2e_notice_seconds(void)
{
    const char *v = getenv("MDFEED_TEST_NOTICE_SECONDS");
    int s = v ? atoi(v) : 150;

    return s < 10 ? 10 : s > 600 ? 600 : s;
}

mdf_dec_t e2e_dec(const char *text)
{
    mdf_dec_t d;

    if (mdf_dec_parse(text, strlen(text), &d) < 0)
        test_fail(__FILE__, __LINE__, "bad decimal \"%s\"", text);
    return d;
}

bool e2e_dec_eq(mdf_dec_t a, mdf_dec_t b)
{
    while (a.m && a.m % 10 == 0) {
        a.m /= 10;
        a.e++;
    }
    while (b.m && b.m % 10 == 0) {
        b.m /= 10;
        b.e++;
    }
    return a.m == b.m && (a.e == b.e || a.m == 0);
}

int e2e_dec_cmp(mdf_dec_t a, mdf_dec_t b)
{
    __int128 x = a.m, y = b.m;

    for (int e = a.e; e > b.e; e--)
        x *= 10;
    for (int e = b.e; e > a.e; e--)
        y *= 10;
    return x < y ? -1 : x > y;
}

mdf_dec_t e2e_jdec(json_t *v)
{
    if (json_is_string(v))
        return e2e_dec(json_string_value(v));
    if (json_is_integer(v))
        return (mdf_dec_t){.m = json_integer_value(v)};
    test_fail(__FILE__, __LINE__, "not a decimal string or integer");
}

int64_t e2e_jint(json_t *v)
{
    char *end;
    long long x;

    if (json_is_integer(v))
        return json_integer_value(v);
    if (!json_is_string(v))
        test_fail(__FILE__, __LINE__, "not an integer");
    x = strtoll(json_string_value(v), &end, 10);
    if (*end || end == json_string_value(v))
        test_fail(__FILE__, __LINE__, "\"%s\" is not an integer", json_string_value(v));
    return x;
}

const char *e2e_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    if (!s)
        test_fail(__FILE__, __LINE__, "recording: no string %s", k);
    return s;
}

int64_t e2e_num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

#define MS 1000000LL

void e2e_check_aggtrade(const mdf_record_t *r, json_t *x)
{
    ASSERT_EQ(r->h.type, MDF_REC_TRADE);
    ASSERT(r->h.flags & MDF_TRADE_F_AGGREGATE);
    E2E_ASSERT_DEC(r->trade.price, e2e_str(x, "p"));
    E2E_ASSERT_DEC(r->trade.qty, e2e_str(x, "q"));
    ASSERT_EQ(r->trade.trade_id, e2e_num(x, "a"));
    ASSERT_EQ(r->trade.first_id, e2e_num(x, "f"));
    ASSERT_EQ(r->trade.last_id, e2e_num(x, "l"));
    ASSERT_EQ(r->h.exch_time_ns, e2e_num(x, "E") * MS);
    ASSERT_EQ(r->h.tx_time_ns, e2e_num(x, "T") * MS);
    ASSERT_EQ(r->trade.side, json_is_true(json_object_get(x, "m")) ? MDF_SIDE_SELL : MDF_SIDE_BUY);
    ASSERT_EQ(!!(r->h.flags & MDF_TRADE_F_BEST_MATCH), json_is_true(json_object_get(x, "M")));
}

void e2e_check_bookticker(const mdf_record_t *r, json_t *x)
{
    ASSERT_EQ(r->h.type, MDF_REC_BBO);
    E2E_ASSERT_DEC(r->bbo.bid_px, e2e_str(x, "b"));
    E2E_ASSERT_DEC(r->bbo.bid_qty, e2e_str(x, "B"));
    E2E_ASSERT_DEC(r->bbo.ask_px, e2e_str(x, "a"));
    E2E_ASSERT_DEC(r->bbo.ask_qty, e2e_str(x, "A"));
    ASSERT_EQ(r->bbo.update_id, e2e_num(x, "u"));
    ASSERT_EQ(r->h.exch_time_ns, e2e_num(x, "E") * MS); /* 0 on spot: no E */
    ASSERT_EQ(r->h.tx_time_ns, e2e_num(x, "T") * MS);
}

/* Index of px in side s (sorted best first), or where it would go; *found set. */
static size_t find(const struct e2e_book *b, int s, mdf_dec_t px, bool *found)
{
    size_t i;

    for (i = 0; i < b->n[s]; i++) {
        int c = mdf_dec_cmp(px, b->px[s][i]);

        if (c == 0) {
            *found = true;
            return i;
        }
        if (s == 0 ? c > 0 : c < 0)
            break;
    }
    *found = false;
    return i;
}

static void set_level(struct e2e_book *b, int s, mdf_dec_t px, mdf_dec_t qty)
{
    bool found;
    size_t i = find(b, s, px, &found);

    if (qty.m == 0) {
        if (found) {
            memmove(&b->px[s][i], &b->px[s][i + 1], (b->n[s] - i - 1) * sizeof(mdf_dec_t));
            memmove(&b->qty[s][i], &b->qty[s][i + 1], (b->n[s] - i - 1) * sizeof(mdf_dec_t));
            b->n[s]--;
        }
        return;
    }
    if (found) {
        b->qty[s][i] = qty;
        return;
    }
    if (b->n[s] == 20000)
        return;
    memmove(&b->px[s][i + 1], &b->px[s][i], (b->n[s] - i) * sizeof(mdf_dec_t));
    memmove(&b->qty[s][i + 1], &b->qty[s][i], (b->n[s] - i) * sizeof(mdf_dec_t));
    b->px[s][i] = px;
    b->qty[s][i] = qty;
    b->n[s]++;
}

static void apply_side(struct e2e_book *b, int s, json_t *levels)
{
    size_t i;
    json_t *lv;

    json_array_foreach(levels, i, lv)
    {
        set_level(b, s, e2e_dec(json_string_value(json_array_get(lv, 0))),
                  e2e_dec(json_string_value(json_array_get(lv, 1))));
    }
}

void e2e_book_set(struct e2e_book *b, json_t *bids, json_t *asks)
{
    b->n[0] = b->n[1] = 0;
    apply_side(b, 0, bids);
    apply_side(b, 1, asks);
}

void e2e_book_apply(struct e2e_book *b, json_t *bids, json_t *asks)
{
    apply_side(b, 0, bids);
    apply_side(b, 1, asks);
}

bool e2e_book_equal(const struct e2e_book *b, const struct mdf_book *rec, char *why, size_t cap)
{
    unsigned depth = rec->depth;
    unsigned want[2] = {b->n[0] < depth ? (unsigned)b->n[0] : depth,
                        b->n[1] < depth ? (unsigned)b->n[1] : depth};
    unsigned got[2] = {rec->n_bids, rec->n_asks};

    for (int s = 0; s < 2; s++) {
        if (want[s] != got[s]) {
            snprintf(why, cap, "%s: %u levels, reference %u", s ? "asks" : "bids", got[s], want[s]);
            return false;
        }
        for (unsigned i = 0; i < want[s]; i++) {
            const struct mdf_level *l = &rec->levels[s * depth + i];

            if (memcmp(&l->px, &b->px[s][i], sizeof(mdf_dec_t)) != 0 ||
                memcmp(&l->qty, &b->qty[s][i], sizeof(mdf_dec_t)) != 0) {
                char p1[64], q1[64], p2[64], q2[64];

                mdf_dec_format(l->px, p1, sizeof(p1));
                mdf_dec_format(l->qty, q1, sizeof(q1));
                mdf_dec_format(b->px[s][i], p2, sizeof(p2));
                mdf_dec_format(b->qty[s][i], q2, sizeof(q2));
                snprintf(why, cap, "%s level %u: %s x %s, reference %s x %s", s ? "ask" : "bid", i,
                         p1, q1, p2, q2);
                return false;
            }
        }
    }
    return true;
}
