/*
 * Tests of the Binance sync rule (src/book/book_sync.c). The real spot recording is fed as a
 * client sees it (diffs in order, the REST snapshot at its recorded time) and the book is
 * compared after every applied diff with an independent rebuild done here with plain code over
 * the same parsed levels. Futures rules, gaps, stale snapshots, overflows and interrupts run on
 * event streams built by the tests, compared the same way.
 *
 * The fixture lines are parsed here with jansson directly (not with the venue decoder), into
 * vlevel arrays through mdf_dec_parse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <mdfeed/mdfeed.h>

#include "book/book.h"
#include "test.h"

#define DEPTH 20 /* levels per side compared */

/* ---- an independent reference book ---------------------------------------------------------- */

/* Unsorted arrays of levels, compared by value with mdf_dec_cmp; the top is found by selection. */
struct uref {
    struct vlevel *lv[2]; /* BOOK_BID, BOOK_ASK; unsorted */
    uint32_t n[2];        /* levels held */
    uint32_t cap[2];      /* room */
};

static void uref_clear(struct uref *r)
{
    r->n[0] = r->n[1] = 0;
}

static void uref_free(struct uref *r)
{
    free(r->lv[0]);
    free(r->lv[1]);
    memset(r, 0, sizeof(*r));
}

/* Sets one level the way Binance defines it: qty 0 removes, otherwise insert or replace. */
static void uref_set(struct uref *r, int side, const struct vlevel *v)
{
    uint32_t i;

    for (i = 0; i < r->n[side]; i++) {
        if (mdf_dec_cmp(r->lv[side][i].px, v->px) == 0) {
            if (v->qty.m == 0)
                r->lv[side][i] = r->lv[side][--r->n[side]];
            else
                r->lv[side][i] = *v;
            return;
        }
    }
    if (v->qty.m == 0)
        return;
    if (r->n[side] == r->cap[side]) {
        r->cap[side] = r->cap[side] ? 2 * r->cap[side] : 64;
        r->lv[side] = realloc(r->lv[side], r->cap[side] * sizeof(struct vlevel));
        ASSERT(r->lv[side] != NULL);
    }
    r->lv[side][r->n[side]++] = *v;
}

static void uref_apply(struct uref *r, const struct vlevel *bids, uint32_t nb,
                       const struct vlevel *asks, uint32_t na)
{
    uint32_t i;

    for (i = 0; i < nb; i++)
        uref_set(r, BOOK_BID, &bids[i]);
    for (i = 0; i < na; i++)
        uref_set(r, BOOK_ASK, &asks[i]);
}

static void uref_copy(struct uref *dst, const struct uref *src)
{
    int s;
    uint32_t i;

    uref_clear(dst);
    for (s = 0; s < 2; s++)
        for (i = 0; i < src->n[s]; i++)
            uref_set(dst, s, &src->lv[s][i]);
}

/* The best `depth` levels of a side, best first, by selection over a copy. Returns the count. */
static uint32_t uref_top(const struct uref *r, int side, struct vlevel *out, uint32_t depth)
{
    uint32_t n = r->n[side], k, i, best;
    struct vlevel *tmp = malloc((n + 1) * sizeof(*tmp));
    int better = side == BOOK_BID ? 1 : -1;

    ASSERT(tmp != NULL);
    if (n)
        memcpy(tmp, r->lv[side], n * sizeof(*tmp));
    for (k = 0; k < depth && k < n; k++) {
        best = k;
        for (i = k + 1; i < n; i++)
            if (mdf_dec_cmp(tmp[i].px, tmp[best].px) == better)
                best = i;
        out[k] = tmp[best];
        tmp[best] = tmp[k];
    }
    free(tmp);
    return k;
}

/* Text of d for failure messages (two rotating buffers). */
static const char *dtxt(struct mdf_dec d)
{
    static char buf[2][MDF_DEC_STR_MAX];
    static int k;

    k ^= 1;
    mdf_dec_format(d, buf[k], sizeof(buf[k]));
    return buf[k];
}

/* Asserts the synced book's top DEPTH equals the reference's, level by level and exactly. */
static void check_top(const struct bsync *s, const struct uref *r, const char *what, long step,
                      int line)
{
    static union {
        struct mdf_book b;
        uint8_t room[MDF_BOOK_SIZE(DEPTH)];
    } u;
    struct vlevel want[DEPTH];
    uint32_t n, i;
    int side;

    bsync_record(s, &u.b, DEPTH);
    for (side = 0; side < 2; side++) {
        const struct mdf_level *got = u.b.levels + (side ? DEPTH : 0);

        n = uref_top(r, side, want, DEPTH);
        if ((side ? u.b.n_asks : u.b.n_bids) != n)
            test_fail(__FILE__, line, "%s step %ld %s: %u levels, rebuild has %u", what, step,
                      side ? "asks" : "bids", side ? u.b.n_asks : u.b.n_bids, n);
        for (i = 0; i < n; i++)
            if (got[i].px.m != want[i].px.m || got[i].px.e != want[i].px.e ||
                got[i].qty.m != want[i].qty.m || got[i].qty.e != want[i].qty.e)
                test_fail(__FILE__, line, "%s step %ld %s level %u: %s x %s, rebuild %s x %s", what,
                          step, side ? "asks" : "bids", i, dtxt(got[i].px), dtxt(got[i].qty),
                          dtxt(want[i].px), dtxt(want[i].qty));
    }
}

/* Fills rec with the book's record at DEPTH and returns it (static storage). */
static const struct mdf_book *record(const struct bsync *s)
{
    static union {
        struct mdf_book b;
        uint8_t room[MDF_BOOK_SIZE(DEPTH)];
    } u;

    memset(&u, 0xa5, sizeof(u));
    bsync_record(s, &u.b, DEPTH);
    return &u.b;
}

/* A snapshot message over the reference's levels (borrowed). */
static struct vmsg snap_of(const struct uref *r, int64_t id)
{
    struct vmsg m;

    memset(&m, 0, sizeof(m));
    m.kind = VM_PARTIAL;
    m.last_id = id;
    m.bids = r->lv[BOOK_BID];
    m.asks = r->lv[BOOK_ASK];
    m.n_bids = r->n[BOOK_BID];
    m.n_asks = r->n[BOOK_ASK];
    return m;
}

/* ---- the recording -------------------------------------------------------------------------- */

/* A parsed depth diff or REST snapshot of the recording. */
struct fx_ev {
    char sym[16];         /* symbol */
    double ts;            /* recorded receive time, s */
    int64_t U, u, E;      /* ids (snapshot: U = u = lastUpdateId) and event time, ms */
    struct vlevel *b, *a; /* levels (new) */
    uint32_t nb, na;      /* their counts */
};

struct fixture {
    struct fx_ev diffs[512]; /* depth diffs in stream order */
    int n_diffs;
    struct fx_ev snaps[8]; /* REST snapshots */
    int n_snaps;
};

/* Path of a file under tests/fixtures/ in the source tree this runner was built from. */
static const char *fixture_path(const char *name)
{
    static char path[4096 + 256];
    char root[4096];
    char *p;

    snprintf(root, sizeof(root), "%s", test_bin("x"));
    p = strstr(root, "/build");
    if (p)
        *p = '\0';
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", root, name);
    return path;
}

/* Parses [[px, qty], ...] into a new vlevel array. */
static void parse_levels(json_t *arr, struct vlevel **out, uint32_t *n)
{
    size_t i;

    ASSERT(json_is_array(arr));
    *n = (uint32_t)json_array_size(arr);
    *out = calloc(*n + 1, sizeof(**out));
    ASSERT(*out != NULL);
    for (i = 0; i < *n; i++) {
        json_t *pair = json_array_get(arr, i);
        const char *px = json_string_value(json_array_get(pair, 0));
        const char *qty = json_string_value(json_array_get(pair, 1));

        ASSERT(px && qty);
        ASSERT_EQ(mdf_dec_parse(px, strlen(px), &(*out)[i].px), 0);
        ASSERT_EQ(mdf_dec_parse(qty, strlen(qty), &(*out)[i].qty), 0);
    }
}

static int64_t json_id(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ASSERT(json_is_integer(v));
    return (int64_t)json_integer_value(v);
}

/* Loads binance-spot/ws.rec (depth diffs only) and http.rec (snapshots). */
static void fixture_load(struct fixture *f)
{
    char line[1 << 17];
    FILE *fp;

    memset(f, 0, sizeof(*f));
    fp = fopen(fixture_path("binance-spot/ws.rec"), "r");
    ASSERT(fp != NULL);
    ASSERT(fgets(line, sizeof(line), fp) != NULL); /* "URL <-> TS" */
    while (fgets(line, sizeof(line), fp)) {
        char *colon = strstr(line, ": ");
        json_t *root, *data;
        const char *stream;
        struct fx_ev *e;

        if (!colon)
            continue;
        root = json_loads(colon + 2, 0, NULL);
        ASSERT(root != NULL);
        stream = json_string_value(json_object_get(root, "stream"));
        ASSERT(stream != NULL);
        if (!strstr(stream, "@depth@")) {
            json_decref(root);
            continue;
        }
        ASSERT_LT(f->n_diffs, 512);
        e = &f->diffs[f->n_diffs++];
        data = json_object_get(root, "data");
        e->ts = strtod(line, NULL);
        snprintf(e->sym, sizeof(e->sym), "%s", json_string_value(json_object_get(data, "s")));
        e->U = json_id(data, "U");
        e->u = json_id(data, "u");
        e->E = json_id(data, "E");
        parse_levels(json_object_get(data, "b"), &e->b, &e->nb);
        parse_levels(json_object_get(data, "a"), &e->a, &e->na);
        json_decref(root);
    }
    fclose(fp);

    fp = fopen(fixture_path("binance-spot/http.rec"), "r");
    ASSERT(fp != NULL);
    while (fgets(line, sizeof(line), fp)) {
        char *arrow = strstr(line, " -> "), *sym = strstr(line, "symbol="), *colon;
        struct fx_ev *e;
        json_t *root;

        if (!arrow || !sym)
            continue;
        colon = strstr(arrow, ": ");
        ASSERT(colon != NULL);
        ASSERT_LT(f->n_snaps, 8);
        e = &f->snaps[f->n_snaps++];
        sym += strlen("symbol=");
        snprintf(e->sym, sizeof(e->sym), "%.*s", (int)strcspn(sym, "&"), sym);
        e->ts = strtod(arrow + 4, NULL);
        root = json_loads(colon + 2, 0, NULL);
        ASSERT(root != NULL);
        e->U = e->u = json_id(root, "lastUpdateId");
        parse_levels(json_object_get(root, "bids"), &e->b, &e->nb);
        parse_levels(json_object_get(root, "asks"), &e->a, &e->na);
        json_decref(root);
    }
    fclose(fp);
    ASSERT_EQ(f->n_snaps, 4);
}

static void fixture_free(struct fixture *f)
{
    int i;

    for (i = 0; i < f->n_diffs; i++) {
        free(f->diffs[i].b);
        free(f->diffs[i].a);
    }
    for (i = 0; i < f->n_snaps; i++) {
        free(f->snaps[i].b);
        free(f->snaps[i].a);
    }
}

/* The diffs of one symbol, in stream order: pointers into f (borrowed). Returns the count. */
static int fixture_diffs(struct fixture *f, const char *sym, struct fx_ev **out)
{
    int i, n = 0;

    for (i = 0; i < f->n_diffs; i++)
        if (strcmp(f->diffs[i].sym, sym) == 0)
            out[n++] = &f->diffs[i];
    return n;
}

static struct bsync_diff fx_diff(const struct fx_ev *e)
{
    struct bsync_diff d = {
        .first_id = e->U,
        .last_id = e->u,
        .prev_id = -1,
        .exch_time_ns = e->E * 1000000,
        .tx_time_ns = 0,
        .recv_time_ns = (int64_t)(e->ts * 1e9),
        .bids = e->b,
        .asks = e->a,
        .n_bids = e->nb,
        .n_asks = e->na,
    };

    return d;
}

static struct vmsg fx_snap(const struct fx_ev *e)
{
    struct vmsg m;

    memset(&m, 0, sizeof(m));
    m.kind = VM_PARTIAL;
    m.last_id = e->u;
    m.bids = e->b;
    m.asks = e->a;
    m.n_bids = e->nb;
    m.n_asks = e->na;
    return m;
}

/* Each symbol of the recording, fed as the recording client saw it: diffs in order, the
 * snapshot at its recorded time. The diffs the snapshot covers are dropped (NKNUSDT:
 * 499869750-499869752 dropped, 499869753 applied), the book goes LIVE, and after every applied
 * diff its top 20 equals a rebuild from the snapshot and the same diffs by plain code here. */
TEST(bsync_spot_recording_matches_rebuild_after_every_diff)
{
    static struct fixture f;
    struct fx_ev *evs[512];
    int k;

    fixture_load(&f);
    for (k = 0; k < f.n_snaps; k++) {
        const struct fx_ev *snap = &f.snaps[k];
        int n = fixture_diffs(&f, snap->sym, evs), i, j, fed = 0;
        int64_t ref_id = -1, first_applied = -1, last_e = 0;
        uint64_t covered = 0, applied = 0, ignored = 0;
        struct uref ref = {0};
        struct vmsg m = fx_snap(snap);
        struct bsync_diff d;
        struct bsync s;
        const struct mdf_book *rec;
        bool snap_fed = false;

        ASSERT_GT(n, 1);
        ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 5000, 256, 1 << 16), 0);
        ASSERT_EQ(s.state, MDF_BOOK_EMPTY);
        for (i = 0; i <= n; i++) {
            if (!snap_fed && (i == n || evs[i]->ts > snap->ts)) {
                /* The rebuild: the snapshot, then the buffered diffs past it. */
                snap_fed = true;
                uref_apply(&ref, snap->b, snap->nb, snap->a, snap->na);
                ref_id = snap->u;
                for (j = 0; j < fed; j++) {
                    if (evs[j]->u <= ref_id) {
                        covered++;
                        continue;
                    }
                    ASSERT_LE(evs[j]->U, ref_id + 1);
                    uref_apply(&ref, evs[j]->b, evs[j]->nb, evs[j]->a, evs[j]->na);
                    ref_id = evs[j]->u;
                    if (first_applied < 0)
                        first_applied = evs[j]->U;
                    last_e = evs[j]->E;
                    applied++;
                }
                ASSERT_EQ(bsync_snapshot(&s, &m), BS_APPLIED);
                ASSERT_EQ(s.state, MDF_BOOK_LIVE);
                ASSERT_EQ_U(s.stats.covered, covered);
                ASSERT_EQ_U(s.stats.applied, applied);
                ASSERT_EQ(s.last_id, ref_id);
                check_top(&s, &ref, snap->sym, -1, __LINE__);
            }
            if (i == n)
                break;
            d = fx_diff(evs[i]);
            if (!snap_fed) {
                ASSERT_EQ(bsync_diff(&s, &d), fed == 0 ? BS_SNAPSHOT : BS_NOTHING);
                ASSERT_EQ(s.state, MDF_BOOK_SYNCING);
                ASSERT(s.snapshot_wanted);
                fed++;
                continue;
            }
            if (evs[i]->u <= ref_id) {
                ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
                ignored++;
                continue;
            }
            ASSERT_EQ(evs[i]->U, ref_id + 1); /* the recording has no gaps */
            uref_apply(&ref, evs[i]->b, evs[i]->nb, evs[i]->a, evs[i]->na);
            ref_id = evs[i]->u;
            if (first_applied < 0)
                first_applied = evs[i]->U;
            last_e = evs[i]->E;
            applied++;
            ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
            check_top(&s, &ref, snap->sym, i, __LINE__);
        }
        /* Every snapshot of the recording covers at least one buffered diff. */
        ASSERT_GE(covered, 1);
        ASSERT_GT(applied, 0);
        ASSERT_EQ_U(s.stats.applied, applied);
        ASSERT_EQ_U(s.stats.ignored, covered + ignored);
        ASSERT_EQ_U(s.stats.gaps, 0);
        ASSERT_EQ_U(s.stats.snapshots, 1);
        rec = record(&s);
        ASSERT_EQ(rec->h.type, MDF_REC_BOOK);
        ASSERT_EQ(rec->h.size, MDF_BOOK_SIZE(DEPTH));
        ASSERT_EQ(rec->h.flags, 0);
        ASSERT_EQ(rec->depth, DEPTH);
        ASSERT_EQ(rec->state, MDF_BOOK_LIVE);
        ASSERT_EQ_U(rec->generation, 0);
        ASSERT_EQ(rec->first_update_id, first_applied);
        ASSERT_EQ(rec->last_update_id, ref_id);
        ASSERT_EQ(rec->h.exch_time_ns, last_e * 1000000);
        if (strcmp(snap->sym, "NKNUSDT") == 0) {
            ASSERT_EQ(snap->u, 499869752);
            ASSERT_EQ(covered, 1);
            ASSERT_EQ(first_applied, 499869753);
        }
        bsync_fini(&s);
        uref_free(&ref);
    }
    fixture_free(&f);
    return 0;
}

/* NKNUSDT with one diff left out: the next one shows the gap (BS_RESYNC, RESYNCING, generation
 * 1, empty book) and is kept for the new sync; the old snapshot is refused as too old; a new one
 * (built from the venue's true book) brings it back LIVE and equal to the rebuild from then on. */
TEST(bsync_gap_resyncs_and_new_snapshot_restores)
{
    static struct fixture f;
    struct fx_ev *evs[512];
    struct uref truth = {0}, snap_ref = {0};
    const struct fx_ev *snap = NULL;
    const struct mdf_book *rec;
    struct bsync_diff d;
    struct vmsg m;
    struct bsync s;
    int n, i, k;
    const int skip = 40;

    fixture_load(&f);
    for (k = 0; k < f.n_snaps; k++)
        if (strcmp(f.snaps[k].sym, "NKNUSDT") == 0)
            snap = &f.snaps[k];
    ASSERT(snap != NULL);
    n = fixture_diffs(&f, "NKNUSDT", evs);
    ASSERT_GT(n, skip + 20);

    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 5000, 64, 4096), 0);
    d = fx_diff(evs[0]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    m = fx_snap(snap);
    ASSERT_EQ(bsync_snapshot(&s, &m), BS_APPLIED);
    uref_apply(&truth, snap->b, snap->nb, snap->a, snap->na);
    for (i = 1; i < skip; i++) {
        d = fx_diff(evs[i]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
        uref_apply(&truth, evs[i]->b, evs[i]->nb, evs[i]->a, evs[i]->na);
    }
    check_top(&s, &truth, "before the gap", i, __LINE__);

    /* evs[skip] never arrives. */
    uref_apply(&truth, evs[skip]->b, evs[skip]->nb, evs[skip]->a, evs[skip]->na);
    uref_copy(&snap_ref, &truth); /* the venue's book at evs[skip]->u */
    d = fx_diff(evs[skip + 1]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_RESYNC);
    ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ_U(s.generation, 1);
    ASSERT_EQ_U(s.stats.gaps, 1);
    /* The break names the book's id before the gap and the diff that broke the chain (the
     * resync has reset the book's own ids by now). */
    ASSERT(s.last_break.gap);
    ASSERT_EQ(s.last_break.after_id, evs[skip - 1]->u);
    ASSERT_EQ(s.last_break.first_id, evs[skip + 1]->U);
    ASSERT_EQ(s.last_break.last_id, evs[skip + 1]->u);
    ASSERT_EQ(s.last_break.prev_id, -1);
    ASSERT_EQ_U(s.stats.resyncs, 1);
    ASSERT(s.snapshot_wanted);
    ASSERT(!bsync_would_chain(&s, &d));
    rec = record(&s);
    ASSERT_EQ(rec->state, MDF_BOOK_RESYNCING);
    ASSERT_EQ_U(rec->generation, 1);
    ASSERT_EQ(rec->n_bids, 0);
    ASSERT_EQ(rec->n_asks, 0);
    uref_apply(&truth, evs[skip + 1]->b, evs[skip + 1]->nb, evs[skip + 1]->a, evs[skip + 1]->na);

    /* More diffs wait in the buffer; the snapshot is already asked for. */
    for (i = skip + 2; i < skip + 10; i++) {
        d = fx_diff(evs[i]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
        ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
        uref_apply(&truth, evs[i]->b, evs[i]->nb, evs[i]->a, evs[i]->na);
    }

    /* The first snapshot again: older than the first buffered diff, so refused. */
    m = fx_snap(snap);
    ASSERT_EQ(bsync_snapshot(&s, &m), BS_SNAPSHOT);
    ASSERT_EQ_U(s.stats.stale_snapshots, 1);
    ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
    ASSERT(s.snapshot_wanted);

    /* A fresh one at the missing diff's u: the gap diff bridges it. */
    m = snap_of(&snap_ref, evs[skip]->u);
    ASSERT_EQ(bsync_snapshot(&s, &m), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(s.generation, 1);
    ASSERT(!s.snapshot_wanted);
    ASSERT_EQ(s.last_id, evs[skip + 9]->u);
    check_top(&s, &truth, "after the new snapshot", i, __LINE__);
    rec = record(&s);
    ASSERT_EQ(rec->state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(rec->generation, 1);
    ASSERT_EQ(rec->first_update_id, evs[skip + 1]->U);
    ASSERT_EQ(rec->last_update_id, evs[skip + 9]->u);

    for (; i < n; i++) {
        d = fx_diff(evs[i]);
        ASSERT(bsync_would_chain(&s, &d));
        ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
        uref_apply(&truth, evs[i]->b, evs[i]->nb, evs[i]->a, evs[i]->na);
        check_top(&s, &truth, "live again", i, __LINE__);
    }
    ASSERT_EQ_U(s.stats.gaps, 1);
    ASSERT_EQ_U(s.stats.snapshots, 2);
    bsync_fini(&s);
    uref_free(&truth);
    uref_free(&snap_ref);
    fixture_free(&f);
    return 0;
}

/* ---- event streams built by the tests ------------------------------------------------------- */

/* A venue simulator: a true book and the diff events that change it. */
struct sim {
    struct test_rng rng; /* randomness, from test_seed() */
    bool futures;        /* futures ids: U may skip past pu + 1, and pu is given */
    int64_t last_u;      /* u of the last event made */
    struct uref truth;   /* the venue's book after every event made and applied */
};

/* One event: ids and up to 12 levels (bids first). */
struct sev {
    int64_t U, u, pu;     /* ids */
    struct vlevel lv[12]; /* bids lv[0..nb), asks lv[nb..nb+na) */
    uint32_t nb, na;      /* counts */
};

static void sim_init(struct sim *m, bool futures, int64_t first_id)
{
    memset(m, 0, sizeof(*m));
    test_rng_init(&m->rng, test_seed());
    m->futures = futures;
    m->last_u = first_id - 1;
}

/* Makes the next event (not yet applied to the truth), spanning `span` ids past U (random if
 * negative): prices on a 0.01 tick, bids below 10.00 and asks from 10.00, a quarter of them
 * removals. */
static void sim_make(struct sim *m, struct sev *e, int span)
{
    uint32_t i;

    e->U = m->last_u + 1 + (m->futures ? (int64_t)test_rng_below(&m->rng, 3) : 0);
    e->u = e->U + (span >= 0 ? span : (int64_t)test_rng_below(&m->rng, 4));
    e->pu = m->last_u;
    m->last_u = e->u;
    e->nb = (uint32_t)test_rng_below(&m->rng, 6);
    e->na = (uint32_t)test_rng_below(&m->rng, 6);
    for (i = 0; i < e->nb + e->na; i++) {
        int64_t t = (int64_t)test_rng_below(&m->rng, 60);

        e->lv[i].px.m = i < e->nb ? 999 - t : 1000 + t;
        e->lv[i].px.e = -2;
        e->lv[i].px._r = 0;
        e->lv[i].qty.m = test_rng_below(&m->rng, 4) == 0 ? 0 : 1 + test_rng_below(&m->rng, 999);
        e->lv[i].qty.e = -3;
        e->lv[i].qty._r = 0;
    }
}

static void sim_apply(struct sim *m, const struct sev *e)
{
    uref_apply(&m->truth, e->lv, e->nb, e->lv + e->nb, e->na);
}

/* Makes and applies the next event. */
static void sim_next(struct sim *m, struct sev *e)
{
    sim_make(m, e, -1);
    sim_apply(m, e);
}

static struct bsync_diff sev_diff(const struct sim *m, const struct sev *e)
{
    struct bsync_diff d = {
        .first_id = e->U,
        .last_id = e->u,
        .prev_id = m->futures ? e->pu : -1,
        .exch_time_ns = e->u * 1000,
        .tx_time_ns = e->u * 1000 - 7,
        .recv_time_ns = e->u * 1000 + 5,
        .bids = e->lv,
        .asks = e->lv + e->nb,
        .n_bids = e->nb,
        .n_asks = e->na,
    };

    return d;
}

/* Futures (src/venue/README.md 2.4): events with u < lastUpdateId are dropped, the first applied
 * bridges U <= id <= u, then each must have pu == the previous u. Checked with the snapshot taken
 * in the middle of the bridge event (it holds only part of that event's changes), against the true
 * book after every event; then an old event is ignored and a broken pu chain resyncs. */
TEST(bsync_futures_bridge_and_pu_chain)
{
    struct sim m;
    struct sev ev[40], odd;
    struct uref snap_ref = {0};
    struct bsync_diff d;
    struct vmsg msg;
    struct bsync s;
    const int bridge = 5;
    int64_t id;
    int i;

    sim_init(&m, true, 600859599090);
    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_FUTURES, 1000, 64, 1024), 0);
    for (i = 0; i < 40; i++) {
        sim_make(&m, &ev[i], i == bridge ? 3 : -1);
        if (i == bridge) {
            /* The venue's book part way through the bridge event: its first few changes. */
            uref_copy(&snap_ref, &m.truth);
            uref_apply(&snap_ref, ev[i].lv, ev[i].nb / 2, NULL, 0);
        }
        sim_apply(&m, &ev[i]);
    }
    id = ev[bridge].U + 1; /* U < id < u */

    /* Buffer events 0..bridge+2 while the snapshot is fetched. */
    for (i = 0; i <= bridge + 2; i++) {
        d = sev_diff(&m, &ev[i]);
        ASSERT_EQ(bsync_diff(&s, &d), i == 0 ? BS_SNAPSHOT : BS_NOTHING);
    }
    msg = snap_of(&snap_ref, id);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(s.stats.covered, bridge);
    ASSERT_EQ_U(s.stats.applied, 3);
    ASSERT_EQ(s.first_id, ev[bridge].U);
    ASSERT_EQ(s.last_id, ev[bridge + 2].u);

    /* The rebuild: the truth at ev[bridge + 2]. */
    {
        struct sim t;

        sim_init(&t, true, 1);
        for (i = 0; i <= bridge + 2; i++)
            sim_apply(&t, &ev[i]);
        check_top(&s, &t.truth, "futures bridge", bridge + 2, __LINE__);
        for (i = bridge + 3; i < 30; i++) {
            d = sev_diff(&m, &ev[i]);
            ASSERT(bsync_would_chain(&s, &d));
            ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
            sim_apply(&t, &ev[i]);
            check_top(&s, &t.truth, "futures chain", i, __LINE__);
        }
        /* Old events (u < id, and the last one again) are ignored. */
        d = sev_diff(&m, &ev[10]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
        d = sev_diff(&m, &ev[29]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
        ASSERT_EQ_U(s.stats.ignored, bridge + 2);
        check_top(&s, &t.truth, "futures old events", 29, __LINE__);
        ASSERT_EQ(s.last_id, ev[29].u);

        /* A broken pu: ev[31] arrives with ev[30] missing. */
        d = sev_diff(&m, &ev[31]);
        ASSERT(!bsync_would_chain(&s, &d));
        /* Another broken pu: an event that overlaps the book's id (U <= id < u) but names an
         * older predecessor. Only pu counts in the chain. */
        odd = ev[30];
        odd.U = ev[29].U;
        odd.pu = ev[28].u;
        d = sev_diff(&m, &odd);
        ASSERT(!bsync_would_chain(&s, &d));
        ASSERT_EQ(s.last_id, ev[29].u);
        ASSERT_EQ(bsync_diff(&s, &d), BS_RESYNC);
        ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
        ASSERT_EQ_U(s.generation, 1);
        ASSERT_EQ_U(s.stats.gaps, 1);
        uref_free(&t.truth);
    }
    bsync_fini(&s);
    uref_free(&m.truth);
    uref_free(&snap_ref);
    return 0;
}

/* Bridges that do not hold, on both rules: the first event kept after the snapshot starts past
 * it, so the book resyncs and that event stays buffered for the next snapshot, which then
 * succeeds. */
TEST(bsync_bridge_that_does_not_hold_resyncs)
{
    int rule;

    for (rule = 0; rule < 2; rule++) {
        bool fut = rule == BSYNC_BINANCE_FUTURES;
        struct sim m;
        struct sev ev[12];
        struct uref at = {0};
        struct bsync_diff d;
        struct vmsg msg;
        struct bsync s;
        int i;

        sim_init(&m, fut, 1000);
        ASSERT_EQ(bsync_init(&s, (enum bsync_rule)rule, 1000, 64, 1024), 0);
        for (i = 0; i < 12; i++) {
            sim_next(&m, &ev[i]);
            if (i == 3)
                uref_copy(&at, &m.truth); /* the book at ev[3].u */
        }
        /* ev[4] is lost on the wire (spot: a hole in U/u; futures: ev[5] starts past it). */
        for (i = 0; i < 12; i++) {
            if (i == 4)
                continue;
            d = sev_diff(&m, &ev[i]);
            bsync_diff(&s, &d);
        }
        ASSERT_EQ(s.ev_n, 11);
        /* A snapshot at ev[3].u: ev[0..3] covered, ev[5] does not bridge. */
        msg = snap_of(&at, ev[3].u);
        ASSERT_EQ(bsync_snapshot(&s, &msg), BS_RESYNC);
        ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
        ASSERT_EQ_U(s.generation, 1);
        ASSERT_EQ_U(s.stats.gaps, 1);
        ASSERT(s.snapshot_wanted);
        ASSERT_EQ(s.ev_n, 7); /* ev[5..11] kept */
        ASSERT_EQ(record(&s)->n_bids, 0);

        /* The next snapshot, the truth after ev[4], bridges ev[5]: spot at ev[4].u (ev[5]
         * starts at id + 1), futures at ev[5].U (ids between pu and U carry no change). */
        {
            struct sim t;

            sim_init(&t, fut, 1000);
            for (i = 0; i <= 4; i++)
                sim_apply(&t, &ev[i]);
            msg = snap_of(&t.truth, fut ? ev[5].U : ev[4].u);
            ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
            ASSERT_EQ(s.state, MDF_BOOK_LIVE);
            ASSERT_EQ_U(s.generation, 1);
            check_top(&s, &m.truth, "after the second snapshot", 11, __LINE__);
            ASSERT_EQ(record(&s)->first_update_id, ev[5].U);
            uref_free(&t.truth);
        }
        bsync_fini(&s);
        uref_free(&m.truth);
        uref_free(&at);
    }
    return 0;
}

/* A snapshot older than the first buffered event cannot bridge it: BS_SNAPSHOT (ask again),
 * counted, the buffer kept; the next, newer snapshot syncs. */
TEST(bsync_snapshot_older_than_buffer_asks_again)
{
    struct sim m;
    struct sev ev[10];
    struct uref old = {0}, at = {0};
    struct bsync_diff d;
    struct vmsg msg;
    struct bsync s;
    int i;

    sim_init(&m, false, 5000);
    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 1000, 64, 1024), 0);
    for (i = 0; i < 3; i++)
        sim_next(&m, &ev[i]);
    uref_copy(&old, &m.truth); /* the book at ev[2].u, before anything is buffered */
    for (i = 3; i < 10; i++) {
        sim_next(&m, &ev[i]);
        if (i == 5)
            uref_copy(&at, &m.truth);
        d = sev_diff(&m, &ev[i]);
        ASSERT_EQ(bsync_diff(&s, &d), i == 3 ? BS_SNAPSHOT : BS_NOTHING);
    }
    msg = snap_of(&old, ev[1].u); /* older than ev[3].U */
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_SNAPSHOT);
    ASSERT_EQ_U(s.stats.stale_snapshots, 1);
    ASSERT_EQ(s.state, MDF_BOOK_SYNCING);
    ASSERT(s.snapshot_wanted);
    ASSERT_EQ(s.ev_n, 7);
    ASSERT_EQ_U(s.generation, 0);

    msg = snap_of(&at, ev[5].u);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(s.stats.covered, 3);
    ASSERT_EQ_U(s.generation, 0);
    check_top(&s, &m.truth, "after the newer snapshot", 9, __LINE__);
    bsync_fini(&s);
    uref_free(&m.truth);
    uref_free(&old);
    uref_free(&at);
    return 0;
}

/* A buffer that fills while the snapshot is awaited: counted as an overflow, the sync restarts
 * (generation 1, RESYNCING, snapshot asked again) keeping the newest events, and a snapshot
 * within them syncs. An event larger than the whole level buffer empties it; the snapshot then
 * waits LIVE for its bridge. */
TEST(bsync_buffer_overflow_counts_and_restarts)
{
    struct sim m;
    struct sev ev[16];
    struct uref at = {0};
    struct bsync_diff d;
    struct vmsg msg;
    struct bsync s;
    int i;

    sim_init(&m, false, 100);
    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 1000, 4, 1024), 0);
    for (i = 0; i < 4; i++) {
        sim_next(&m, &ev[i]);
        d = sev_diff(&m, &ev[i]);
        ASSERT_EQ(bsync_diff(&s, &d), i == 0 ? BS_SNAPSHOT : BS_NOTHING);
    }
    ASSERT_EQ_U(s.stats.overflows, 0);
    sim_next(&m, &ev[4]);
    d = sev_diff(&m, &ev[4]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    ASSERT_EQ_U(s.stats.overflows, 1);
    ASSERT_EQ_U(s.stats.resyncs, 1);
    ASSERT_EQ_U(s.generation, 1);
    ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(s.ev_n, 3); /* ev[2..4]: the oldest half went */
    ASSERT_EQ(record(&s)->generation, 1);

    /* ev[0] and ev[1] are gone: a snapshot at ev[1].u is older than the buffer. */
    sim_next(&m, &ev[5]);
    d = sev_diff(&m, &ev[5]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
    {
        struct sim t;

        sim_init(&t, false, 100);
        for (i = 0; i <= 2; i++)
            sim_apply(&t, &ev[i]);
        uref_copy(&at, &t.truth);
        uref_free(&t.truth);
    }
    msg = snap_of(&at, ev[2].u);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(s.generation, 1);
    ASSERT_EQ(s.last_id, ev[5].u);
    check_top(&s, &m.truth, "after the overflow", 5, __LINE__);
    bsync_fini(&s);

    /* Level storage: 8 levels, and an event of 9. */
    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 1000, 64, 8), 0);
    uref_free(&m.truth);
    sim_init(&m, false, 100);
    do
        sim_next(&m, &ev[0]);
    while (ev[0].nb + ev[0].na < 3 || ev[0].nb + ev[0].na > 8);
    d = sev_diff(&m, &ev[0]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    ev[1] = ev[0];
    ev[1].U = ev[0].u + 1;
    ev[1].u = ev[1].U;
    ev[1].nb = 5;
    ev[1].na = 4;
    for (i = 0; i < 9; i++) {
        ev[1].lv[i].px.m = i < 5 ? 900 + i : 1100 + i;
        ev[1].lv[i].px.e = -2;
        ev[1].lv[i].qty.m = 1 + i;
        ev[1].lv[i].qty.e = 0;
    }
    sim_apply(&m, &ev[1]);
    m.last_u = ev[1].u;
    d = sev_diff(&m, &ev[1]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    ASSERT_EQ_U(s.stats.overflows, 1);
    ASSERT_EQ(s.ev_n, 0);
    ASSERT_EQ_U(s.generation, 1);
    /* The snapshot at ev[1].u finds nothing buffered: LIVE, waiting for the bridge. */
    msg = snap_of(&m.truth, ev[1].u);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    check_top(&s, &m.truth, "after the snapshot", 1, __LINE__);
    sim_next(&m, &ev[2]);
    d = sev_diff(&m, &ev[2]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
    check_top(&s, &m.truth, "bridged", 2, __LINE__);
    bsync_fini(&s);
    uref_free(&m.truth);
    uref_free(&at);
    return 0;
}

/* bsync_would_chain, the rotation test: true for the next event and for a duplicate (nothing
 * would be missing), false for an event past a gap and for a book that is not LIVE. */
TEST(bsync_would_chain_next_duplicate_and_gap)
{
    int rule;

    for (rule = 0; rule < 2; rule++) {
        bool fut = rule == BSYNC_BINANCE_FUTURES;
        struct sim m;
        struct sev ev[8];
        struct bsync_diff d;
        struct vmsg msg;
        struct bsync s;
        int i;

        sim_init(&m, fut, 77);
        ASSERT_EQ(bsync_init(&s, (enum bsync_rule)rule, 1000, 64, 1024), 0);
        sim_next(&m, &ev[0]);
        d = sev_diff(&m, &ev[0]);
        ASSERT(!bsync_would_chain(&s, &d)); /* EMPTY */
        ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
        ASSERT(!bsync_would_chain(&s, &d)); /* SYNCING */
        msg = snap_of(&m.truth, ev[0].u);
        ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
        for (i = 1; i < 4; i++) {
            sim_next(&m, &ev[i]);
            d = sev_diff(&m, &ev[i]);
            ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
        }
        for (i = 4; i < 8; i++)
            sim_next(&m, &ev[i]);

        d = sev_diff(&m, &ev[4]);
        ASSERT(bsync_would_chain(&s, &d)); /* the next one */
        d = sev_diff(&m, &ev[3]);
        ASSERT(bsync_would_chain(&s, &d)); /* a duplicate */
        d = sev_diff(&m, &ev[1]);
        ASSERT(bsync_would_chain(&s, &d)); /* an older duplicate */
        d = sev_diff(&m, &ev[5]);
        ASSERT(!bsync_would_chain(&s, &d)); /* past a gap */
        d = sev_diff(&m, &ev[7]);
        ASSERT(!bsync_would_chain(&s, &d));
        /* Nothing was applied by asking. */
        ASSERT_EQ(s.last_id, ev[3].u);
        ASSERT_EQ(s.state, MDF_BOOK_LIVE);

        bsync_interrupt(&s);
        d = sev_diff(&m, &ev[4]);
        ASSERT(!bsync_would_chain(&s, &d)); /* STALE */
        bsync_fini(&s);
        uref_free(&m.truth);
    }
    return 0;
}

/* An interrupted LIVE book turns STALE (its last levels kept for readers); the next diff starts
 * a new sync with the generation bumped; a snapshot brings it back LIVE. An interrupt while
 * syncing drops the buffered events of the lost stream and keeps the generation. */
TEST(bsync_interrupt_marks_stale_and_next_diff_restarts)
{
    struct sim m;
    struct sev ev[8];
    struct bsync_diff d;
    struct vmsg msg;
    struct bsync s;
    const struct mdf_book *rec;
    struct uref at = {0};
    int i;

    sim_init(&m, false, 1);
    ASSERT_EQ(bsync_init(&s, BSYNC_BINANCE_SPOT, 1000, 64, 1024), 0);

    /* Interrupted while syncing. */
    sim_next(&m, &ev[0]);
    d = sev_diff(&m, &ev[0]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    bsync_interrupt(&s);
    ASSERT_EQ(s.state, MDF_BOOK_SYNCING);
    ASSERT_EQ(s.ev_n, 0);
    ASSERT_EQ_U(s.generation, 0);

    /* The snapshot asked for comes, waits for its bridge, and the new stream brings it. */
    for (i = 1; i < 3; i++)
        sim_next(&m, &ev[i]);
    msg = snap_of(&m.truth, ev[2].u);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    rec = record(&s);
    ASSERT_EQ(rec->last_update_id, ev[2].u);
    ASSERT_EQ(rec->first_update_id, ev[2].u); /* the snapshot alone: lastUpdateId..lastUpdateId */
    sim_next(&m, &ev[3]);
    d = sev_diff(&m, &ev[3]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
    check_top(&s, &m.truth, "live", 3, __LINE__);
    rec = record(&s);
    ASSERT_EQ(rec->first_update_id, ev[3].U);
    ASSERT_EQ(rec->last_update_id, ev[3].u);
    ASSERT_EQ(rec->h.exch_time_ns, ev[3].u * 1000);
    ASSERT_EQ(rec->h.tx_time_ns, ev[3].u * 1000 - 7);
    ASSERT_EQ(rec->h.recv_time_ns, ev[3].u * 1000 + 5);

    /* Interrupted while LIVE. */
    bsync_interrupt(&s);
    ASSERT_EQ(s.state, MDF_BOOK_STALE);
    rec = record(&s);
    ASSERT_EQ(rec->state, MDF_BOOK_STALE);
    ASSERT_EQ_U(rec->generation, 0);
    check_top(&s, &m.truth, "stale", 3, __LINE__);

    sim_next(&m, &ev[4]); /* lost with the connection */
    uref_copy(&at, &m.truth);
    sim_next(&m, &ev[5]);
    d = sev_diff(&m, &ev[5]);
    ASSERT_EQ(bsync_diff(&s, &d), BS_SNAPSHOT);
    ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ_U(s.generation, 1);
    ASSERT_EQ(record(&s)->n_bids, 0);
    msg = snap_of(&at, ev[4].u);
    ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
    ASSERT_EQ(s.state, MDF_BOOK_LIVE);
    ASSERT_EQ_U(s.generation, 1);
    check_top(&s, &m.truth, "resynced", 5, __LINE__);
    bsync_fini(&s);
    uref_free(&m.truth);
    uref_free(&at);
    return 0;
}

/* A snapshot that comes before any diff: the book is set and waits LIVE for its bridge. Spot:
 * diffs it covers are ignored, the bridge U <= id + 1 <= u applies. Futures: the bridge may end
 * exactly at the snapshot (u == id) and still applies, then the pu chain runs. A diff past the
 * snapshot resyncs. */
TEST(bsync_snapshot_before_first_diff_waits_for_bridge)
{
    int rule;

    for (rule = 0; rule < 2; rule++) {
        bool fut = rule == BSYNC_BINANCE_FUTURES;
        struct sim m;
        struct sev ev[10], next;
        struct uref at = {0};
        struct bsync_diff d;
        struct vmsg msg;
        struct bsync s;
        int i;

        sim_init(&m, fut, 400);
        ASSERT_EQ(bsync_init(&s, (enum bsync_rule)rule, 1000, 64, 1024), 0);
        for (i = 0; i < 10; i++) {
            sim_make(&m, &ev[i], i == 3 ? 2 : -1);
            sim_apply(&m, &ev[i]);
            if (i == 3)
                uref_copy(&at, &m.truth);
        }
        /* Spot: snapshot inside ev[3] at U+1 (its changes all applied: harmless). Futures:
         * the snapshot at ev[3].u exactly. */
        msg = snap_of(&at, fut ? ev[3].u : ev[3].U + 1);
        msg.rec.h.recv_time_ns = 1700000000123456789;
        ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
        ASSERT_EQ(s.state, MDF_BOOK_LIVE);
        ASSERT_EQ_U(s.generation, 0);
        check_top(&s, &at, "snapshot alone", 0, __LINE__);
        /* Its record is the snapshot's state: first = last = lastUpdateId, received when the
         * snapshot was. */
        ASSERT_EQ(record(&s)->first_update_id, msg.last_id);
        ASSERT_EQ(record(&s)->last_update_id, msg.last_id);
        ASSERT_EQ(record(&s)->h.recv_time_ns, msg.rec.h.recv_time_ns);
        for (i = 0; i < 3; i++) {
            d = sev_diff(&m, &ev[i]);
            ASSERT_EQ(bsync_diff(&s, &d), BS_NOTHING);
        }
        d = sev_diff(&m, &ev[3]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
        ASSERT_EQ(s.first_id, ev[3].U);
        for (i = 4; i < 8; i++) {
            d = sev_diff(&m, &ev[i]);
            ASSERT_EQ(bsync_diff(&s, &d), BS_APPLIED);
        }
        d = sev_diff(&m, &ev[9]); /* ev[8] missing */
        ASSERT_EQ(bsync_diff(&s, &d), BS_RESYNC);
        ASSERT_EQ_U(s.generation, 1);
        bsync_fini(&s);

        /* Past the snapshot from the start: the bridge does not hold. */
        ASSERT_EQ(bsync_init(&s, (enum bsync_rule)rule, 1000, 64, 1024), 0);
        msg = snap_of(&at, ev[3].u);
        ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
        d = sev_diff(&m, &ev[6]);
        ASSERT_EQ(bsync_diff(&s, &d), BS_RESYNC);
        ASSERT_EQ(s.state, MDF_BOOK_RESYNCING);
        ASSERT_EQ_U(s.generation, 1);
        ASSERT_EQ(s.ev_n, 1);
        bsync_fini(&s);

        /* The event right after the snapshot (U = id + 1, and pu = id for futures): spot
         * bridges it; futures does not (src/venue/README.md 2.4 step 4 wants U <= id <= u). */
        ASSERT_EQ(bsync_init(&s, (enum bsync_rule)rule, 1000, 64, 1024), 0);
        msg = snap_of(&at, ev[3].u);
        ASSERT_EQ(bsync_snapshot(&s, &msg), BS_APPLIED);
        next = ev[4];
        next.U = ev[3].u + 1;
        next.pu = ev[3].u;
        d = sev_diff(&m, &next);
        ASSERT_EQ(bsync_diff(&s, &d), fut ? BS_RESYNC : BS_APPLIED);
        bsync_fini(&s);
        uref_free(&m.truth);
        uref_free(&at);
    }
    return 0;
}
