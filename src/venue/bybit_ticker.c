/*
 * Bybit ticker merge: linear and inverse tickers come as a snapshot, then deltas holding only
 * the fields that changed (src/venue/README.md §4.1); this keeps a stream's merged fields and
 * builds whole mdf_ticker and mdf_funding records from them (see bybit.h).
 *
 * Design: the state is the decoder's own struct bybit_ticker (a presence mask and values), so a
 * merge is a masked copy and building a record reads one place. A delta before any snapshot
 * cannot be merged (the fields it lacks are unknown) and is dropped, counted; the venue sends
 * the snapshot first on every subscription.
 */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "venue/bybit.h"
#include "venue/vcheck.h"

void bybit_ticker_init(struct bybit_ticker_state *st)
{
    memset(st, 0, sizeof(*st));
}

/* The fields of the ticker record and of the funding record, as masks. */
#define TICKER_MASK ((1u << BYT_TICKER_END) - 1u)
#define FUNDING_MASK ((((1u << BYT_N) - 1u) & ~TICKER_MASK) | (1u << BYT_NEXT_FUNDING))

/* The merged value of field i, or zero if never sent. */
static struct mdf_dec val(const struct bybit_ticker *t, int i)
{
    struct mdf_dec zero = {0, 0, 0};

    return t->have & (1u << i) ? t->v[i] : zero;
}

int bybit_ticker_apply(struct bybit_ticker_state *st, const struct bybit_msg *m, int64_t recv_ns,
                       struct mdf_ticker *t, struct mdf_funding *f)
{
    const struct bybit_ticker *in = &m->ticker;
    struct bybit_ticker *cur = &st->cur;
    struct vbad bad;
    uint32_t changed;
    int out = 0;

    if (m->kind != BYB_TICKER)
        return err_set(-EINVAL, "bybit ticker merge: not a ticker message");
    if (in->snapshot) {
        memset(cur, 0, sizeof(*cur));
        st->live = true;
    } else if (!st->live) {
        st->ignored++;
        return 0;
    }
    for (int i = 0; i < BYT_N; i++)
        if (in->have & (1u << i))
            cur->v[i] = in->v[i];
    if (in->have & (1u << BYT_NEXT_FUNDING))
        cur->next_funding_ns = in->next_funding_ns;
    cur->have |= in->have;
    changed = in->snapshot ? cur->have | TICKER_MASK : in->have;
    if (changed & TICKER_MASK) {
        struct mdf_dec pct = val(cur, BYT_PCT);
        memset(t, 0, sizeof(*t));
        t->h.type = MDF_REC_TICKER;
        t->h.size = sizeof(*t);
        t->h.exch_time_ns = m->ts_ns;
        t->h.recv_time_ns = recv_ns;
        t->last_px = val(cur, BYT_LAST);
        t->open_px = val(cur, BYT_PREV24);
        t->high_px = val(cur, BYT_HIGH);
        t->low_px = val(cur, BYT_LOW);
        t->volume = val(cur, BYT_VOLUME);
        t->quote_volume = val(cur, BYT_TURNOVER);
        t->bid_px = val(cur, BYT_BID);
        t->bid_qty = val(cur, BYT_BID_SZ);
        t->ask_px = val(cur, BYT_ASK);
        t->ask_qty = val(cur, BYT_ASK_SZ);
        /* A fraction to a percentage, exactly: two more powers of ten. */
        if (pct.m != 0 && pct.e > 62)
            return err_set(-ERANGE, "bybit tickers: price24hPcnt out of range");
        if (pct.m != 0)
            pct.e += 2;
        t->change_pct = pct;
        if (vcheck_high_low("highPrice24h", t->high_px, "lowPrice24h", t->low_px, &bad) < 0)
            return err_set(-ERANGE, "bybit tickers: %s: %s", bad.field, bad.why);
        if (vcheck_crossed(t->bid_px, t->ask_px))
            t->h.flags |= MDF_TICKER_F_CROSSED;
        out |= BYT_OUT_TICKER;
    }
    if (changed & cur->have & FUNDING_MASK) {
        memset(f, 0, sizeof(*f));
        f->h.type = MDF_REC_FUNDING;
        f->h.size = sizeof(*f);
        f->h.exch_time_ns = m->ts_ns;
        f->h.recv_time_ns = recv_ns;
        f->mark_px = val(cur, BYT_MARK);
        f->index_px = val(cur, BYT_INDEX);
        f->funding_rate = val(cur, BYT_FUNDING);
        f->est_settle_px = val(cur, BYT_SETTLE);
        f->next_funding_time_ns = cur->have & (1u << BYT_NEXT_FUNDING) ? cur->next_funding_ns : 0;
        out |= BYT_OUT_FUNDING;
    }
    return out;
}
