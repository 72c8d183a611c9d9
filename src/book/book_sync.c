/*
 * Binance's rule for keeping a local book in sync (src/venue/README.md 1.7 spot, 2.4 USD-M
 * futures): diffs are buffered until a REST snapshot arrives, the snapshot drops what it covers,
 * the first kept diff must bridge it, and every later diff must continue the chain (spot: U == prev
 * u + 1, futures: pu == prev u). A break discards the book and starts over.
 *
 * Main choices:
 * - The buffer is two rings preallocated by bsync_init: one of event headers and one of levels
 *   (each event's bids then asks, contiguous modulo the ring). Nothing is allocated afterwards.
 *   When it is full the oldest half is dropped, so a slow snapshot still finds the newest
 *   events to bridge, and a sync that keeps overflowing asks again at most once per half-buffer.
 * - Buffered events are not checked while they wait: a break among them is harmless when the
 *   snapshot lands past it. They are checked one by one, with the LIVE rule, when applied.
 * - A snapshot that arrives before any diff is buffered sets the book, which waits LIVE for its
 *   bridge. That wait is recorded as an empty id range, first_id = last_id + 1 (nothing folded
 *   in since the snapshot yet): futures bridge by U <= id <= u while waiting and by pu == id
 *   afterwards; spot uses one test for both.
 * - The first sync runs at generation 0 in state SYNCING; every restart (a gap, an overflow, a
 *   refused level, or the first diff or snapshot after a LIVE book was interrupted) bumps the
 *   generation and runs RESYNCING. An interrupt while syncing only empties the buffer: no book
 *   was trusted, so there is no continuity for a new generation to break.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"

/* One buffered diff event: its ids and times, and where its levels are in the level ring. */
struct bsync_buf_ev {
    int64_t first_id;     /* U */
    int64_t last_id;      /* u */
    int64_t prev_id;      /* pu, -1 if none */
    int64_t exch_time_ns; /* E */
    int64_t tx_time_ns;   /* T */
    int64_t recv_time_ns; /* local receive time */
    uint32_t lv_at;       /* index of its first level in the level ring */
    uint32_t n_bids;      /* bids, stored first */
    uint32_t n_asks;      /* asks, stored after the bids */
};

int bsync_init(struct bsync *s, enum bsync_rule rule, uint32_t max_levels, uint32_t buf_events,
               uint32_t buf_levels)
{
    memset(s, 0, sizeof(*s));
    s->rule = rule;
    s->state = MDF_BOOK_EMPTY;
    if (book_init(&s->book, max_levels) < 0)
        goto err;
    s->ev = calloc(buf_events ? buf_events : 1, sizeof(*s->ev));
    if (!s->ev)
        goto err_book;
    s->lv = calloc(buf_levels ? buf_levels : 1, sizeof(*s->lv));
    if (!s->lv)
        goto err_ev;
    s->ev_cap = buf_events ? buf_events : 1;
    s->lv_cap = buf_levels ? buf_levels : 1;
    return 0;

err_ev:
    free(s->ev);
    s->ev = NULL;
err_book:
    book_fini(&s->book);
err:
    return -ENOMEM;
}

void bsync_fini(struct bsync *s)
{
    book_fini(&s->book);
    free(s->ev);
    free(s->lv);
    s->ev = NULL;
    s->lv = NULL;
    s->ev_cap = s->ev_n = s->lv_cap = s->lv_n = 0;
}

/* ---- the buffer ----------------------------------------------------------------------------- */

/* The i-th buffered event, oldest first. */
static struct bsync_buf_ev *buf_at(const struct bsync *s, uint32_t i)
{
    return &s->ev[(s->ev_head + i) % s->ev_cap];
}

/* Drops the oldest buffered event. */
static void buf_pop(struct bsync *s)
{
    const struct bsync_buf_ev *e = buf_at(s, 0);
    uint32_t n = e->n_bids + e->n_asks;

    s->ev_head = (s->ev_head + 1) % s->ev_cap;
    s->ev_n--;
    s->lv_head = (s->lv_head + n) % s->lv_cap;
    s->lv_n -= n;
    if (s->ev_n == 0)
        s->ev_head = s->lv_head = s->lv_n = 0;
}

static void buf_clear(struct bsync *s)
{
    s->ev_head = s->ev_n = 0;
    s->lv_head = s->lv_n = 0;
}

/* True if an event of n levels fits in the room left. */
static bool buf_fits(const struct bsync *s, uint32_t n)
{
    return s->ev_n < s->ev_cap && n <= s->lv_cap - s->lv_n;
}

/* Appends d to the buffer; the caller made room. */
static void buf_push(struct bsync *s, const struct bsync_diff *d)
{
    struct bsync_buf_ev *e = &s->ev[(s->ev_head + s->ev_n) % s->ev_cap];
    uint32_t at = (s->lv_head + s->lv_n) % s->lv_cap, i;

    e->first_id = d->first_id;
    e->last_id = d->last_id;
    e->prev_id = d->prev_id;
    e->exch_time_ns = d->exch_time_ns;
    e->tx_time_ns = d->tx_time_ns;
    e->recv_time_ns = d->recv_time_ns;
    e->lv_at = at;
    e->n_bids = d->n_bids;
    e->n_asks = d->n_asks;
    for (i = 0; i < d->n_bids; i++)
        s->lv[(at + i) % s->lv_cap] = d->bids[i];
    for (i = 0; i < d->n_asks; i++)
        s->lv[(at + d->n_bids + i) % s->lv_cap] = d->asks[i];
    s->ev_n++;
    s->lv_n += d->n_bids + d->n_asks;
}

/* ---- the rule ------------------------------------------------------------------------------- */

/* Starts the sync over: bumps the generation, discards the book (and the buffer unless
 * keep_buf), state RESYNCING. */
static void restart(struct bsync *s, bool keep_buf)
{
    s->generation++;
    s->stats.resyncs++;
    book_clear(&s->book);
    if (!keep_buf)
        buf_clear(s);
    s->state = MDF_BOOK_RESYNCING;
    s->first_id = 0;
    s->last_id = 0;
}

/* Remembers why the book breaks now (before restart() forgets its id): the book's id and the
 * ids (U, u, pu) of the diff that did not continue it; gap false for a refused level. */
static void note_break(struct bsync *s, int64_t first, int64_t last, int64_t prev, bool gap)
{
    s->last_break.after_id = s->last_id;
    s->last_break.first_id = first;
    s->last_break.last_id = last;
    s->last_break.prev_id = prev;
    s->last_break.gap = gap;
}

/* True while a LIVE book set from a snapshot waits for its bridge event (see the file
 * comment). */
static bool awaiting_bridge(const struct bsync *s)
{
    return s->first_id > s->last_id;
}

/* What a diff with ids (U, u, pu) means for the LIVE book. */
enum chain_verdict {
    CH_APPLY,  /* continues the book */
    CH_IGNORE, /* already folded in (covered by the snapshot, or a duplicate) */
    CH_GAP,    /* something between the book and this diff is missing */
};

static enum chain_verdict chain_check(const struct bsync *s, int64_t first, int64_t last,
                                      int64_t prev)
{
    int64_t id = s->last_id;

    if (s->rule == BSYNC_BINANCE_SPOT) {
        /* Spot: the bridge and the chain are one test, U <= id + 1 <= u. */
        if (last <= id)
            return CH_IGNORE;
        return first > id + 1 ? CH_GAP : CH_APPLY;
    }
    if (awaiting_bridge(s)) {
        /* Futures bridge: drop u < id, then U <= id <= u. */
        if (last < id)
            return CH_IGNORE;
        return first <= id ? CH_APPLY : CH_GAP;
    }
    /* Futures chain: pu == previous u. */
    if (last <= id)
        return CH_IGNORE;
    return prev == id ? CH_APPLY : CH_GAP;
}

/* Applies bids then asks to the book. Returns 0, or a book_set error (counted). */
static int apply_levels(struct bsync *s, const struct vlevel *bids, uint32_t n_bids,
                        const struct vlevel *asks, uint32_t n_asks)
{
    uint32_t i;
    int r;

    for (i = 0; i < n_bids; i++)
        if ((r = book_set(&s->book, BOOK_BID, &bids[i])) < 0)
            goto err;
    for (i = 0; i < n_asks; i++)
        if ((r = book_set(&s->book, BOOK_ASK, &asks[i])) < 0)
            goto err;
    return 0;

err:
    s->stats.level_errors++;
    return r;
}

/* Applies the levels of buffered event e (they may wrap around the level ring). */
static int apply_buffered_levels(struct bsync *s, const struct bsync_buf_ev *e)
{
    uint32_t i;
    int r;

    for (i = 0; i < e->n_bids + e->n_asks; i++) {
        r = book_set(&s->book, i < e->n_bids ? BOOK_BID : BOOK_ASK,
                     &s->lv[(e->lv_at + i) % s->lv_cap]);
        if (r < 0) {
            s->stats.level_errors++;
            return r;
        }
    }
    return 0;
}

/* Records that the diff (first..last, times) is folded into the book. */
static void note_applied(struct bsync *s, int64_t first, int64_t last, int64_t exch, int64_t tx,
                         int64_t recv)
{
    if (awaiting_bridge(s))
        s->first_id = first;
    s->last_id = last;
    s->exch_time_ns = exch;
    s->tx_time_ns = tx;
    s->recv_time_ns = recv;
    s->stats.applied++;
}

/* Buffers d while a snapshot is awaited, dropping the oldest half of the buffer (an overflow:
 * the sync restarts) when it is full. Returns BS_SNAPSHOT if a snapshot must be asked for. */
static int buffer_diff(struct bsync *s, const struct bsync_diff *d)
{
    uint32_t n = d->n_bids + d->n_asks;
    bool ask = !s->snapshot_wanted;

    if (!buf_fits(s, n)) {
        s->stats.overflows++;
        while (s->ev_n > 0 &&
               (s->ev_n > s->ev_cap / 2 || s->lv_n > s->lv_cap / 2 || !buf_fits(s, n)))
            buf_pop(s);
        restart(s, true);
        ask = true; /* the snapshot in flight, if any, is likely older than what is kept */
    }
    if (buf_fits(s, n))
        buf_push(s, d);
    s->snapshot_wanted = true;
    return ask ? BS_SNAPSHOT : BS_NOTHING;
}

/* A gap: starts over from the diff (U, u, pu, levels) that showed it, which becomes the first
 * buffered event of the new sync. */
static int gap(struct bsync *s, const struct bsync_diff *d)
{
    s->stats.gaps++;
    note_break(s, d->first_id, d->last_id, d->prev_id, true);
    restart(s, false);
    if (buf_fits(s, d->n_bids + d->n_asks))
        buf_push(s, d);
    else
        s->stats.overflows++; /* larger than the whole buffer: the snapshot waits for a bridge */
    s->snapshot_wanted = true;
    return BS_RESYNC;
}

int bsync_diff(struct bsync *s, const struct bsync_diff *d)
{
    switch (s->state) {
    case MDF_BOOK_EMPTY:
        s->state = MDF_BOOK_SYNCING;
        return buffer_diff(s, d);
    case MDF_BOOK_STALE:
        restart(s, false);
        s->snapshot_wanted = false;
        return buffer_diff(s, d);
    case MDF_BOOK_SYNCING:
    case MDF_BOOK_RESYNCING:
        return buffer_diff(s, d);
    default:
        break;
    }

    switch (chain_check(s, d->first_id, d->last_id, d->prev_id)) {
    case CH_IGNORE:
        s->stats.ignored++;
        return BS_NOTHING;
    case CH_GAP:
        return gap(s, d);
    case CH_APPLY:
        break;
    }
    if (apply_levels(s, d->bids, d->n_bids, d->asks, d->n_asks) < 0) {
        /* A level the book cannot hold: the book is wrong now. Start over without this diff
         * (it would fail again); the next diffs are buffered for the new snapshot. */
        note_break(s, d->first_id, d->last_id, d->prev_id, false);
        restart(s, false);
        s->snapshot_wanted = true;
        return BS_RESYNC;
    }
    note_applied(s, d->first_id, d->last_id, d->exch_time_ns, d->tx_time_ns, d->recv_time_ns);
    return BS_APPLIED;
}

/* Sets the book to the snapshot's levels, LIVE awaiting its bridge at id = lastUpdateId.
 * Returns 0 or a book_set error. */
static int load_snapshot(struct bsync *s, const struct vmsg *snap)
{
    book_clear(&s->book);
    if (apply_levels(s, snap->bids, snap->n_bids, snap->asks, snap->n_asks) < 0)
        return -ERANGE;
    s->last_id = snap->last_id;
    s->first_id = snap->last_id + 1; /* nothing folded in since the snapshot yet */
    s->exch_time_ns = snap->exch_time_ns;
    s->tx_time_ns = snap->tx_time_ns;
    s->recv_time_ns = snap->rec.h.recv_time_ns;
    s->state = MDF_BOOK_LIVE;
    s->stats.snapshots++;
    return 0;
}

int bsync_snapshot(struct bsync *s, const struct vmsg *snap)
{
    int64_t id = snap->last_id;

    switch (s->state) {
    case MDF_BOOK_LIVE:
        return BS_NOTHING; /* not asked for: the book already runs on its own */
    case MDF_BOOK_STALE:
        restart(s, false);
        break;
    default:
        break;
    }
    s->snapshot_wanted = false;

    if (s->ev_n > 0 && buf_at(s, 0)->first_id > id + (s->rule == BSYNC_BINANCE_SPOT ? 1 : 0)) {
        /* Older than every buffered event: it cannot bridge the first one (spot U <= id + 1,
         * futures U <= id), so nothing could. Ask again. */
        s->stats.stale_snapshots++;
        s->snapshot_wanted = true;
        return BS_SNAPSHOT;
    }
    if (load_snapshot(s, snap) < 0) {
        note_break(s, id, id, -1, false);
        restart(s, false);
        s->snapshot_wanted = true;
        return BS_RESYNC;
    }

    /* Apply the buffered events with the LIVE rule: the covered ones are ignored, the first kept
     * one must bridge, the rest must chain. */
    while (s->ev_n > 0) {
        const struct bsync_buf_ev *e = buf_at(s, 0);

        switch (chain_check(s, e->first_id, e->last_id, e->prev_id)) {
        case CH_IGNORE:
            s->stats.ignored++;
            s->stats.covered++;
            buf_pop(s);
            continue;
        case CH_GAP:
            /* The events from this one on stay buffered for the next snapshot. */
            s->stats.gaps++;
            note_break(s, e->first_id, e->last_id, e->prev_id, true);
            restart(s, true);
            s->snapshot_wanted = true;
            return BS_RESYNC;
        case CH_APPLY:
            break;
        }
        if (apply_buffered_levels(s, e) < 0) {
            note_break(s, e->first_id, e->last_id, e->prev_id, false);
            restart(s, false);
            s->snapshot_wanted = true;
            return BS_RESYNC;
        }
        note_applied(s, e->first_id, e->last_id, e->exch_time_ns, e->tx_time_ns, e->recv_time_ns);
        buf_pop(s);
    }
    return BS_APPLIED;
}

void bsync_interrupt(struct bsync *s)
{
    if (s->state == MDF_BOOK_LIVE) {
        s->state = MDF_BOOK_STALE;
    } else if (s->state == MDF_BOOK_SYNCING || s->state == MDF_BOOK_RESYNCING) {
        /* No book was trusted yet, so nothing to mark; but the buffered events belong to the
         * lost stream and the new one need not continue them. A snapshot already asked for
         * still comes, and then waits for its bridge on the new stream. */
        buf_clear(s);
    }
}

bool bsync_would_chain(const struct bsync *s, const struct bsync_diff *d)
{
    if (s->state != MDF_BOOK_LIVE)
        return false;
    return chain_check(s, d->first_id, d->last_id, d->prev_id) != CH_GAP;
}

void bsync_record(const struct bsync *s, struct mdf_book *rec, uint32_t depth)
{
    book_top(&s->book, rec, depth);
    rec->h.type = MDF_REC_BOOK;
    rec->h.flags = 0;
    rec->h.exch_time_ns = s->exch_time_ns;
    rec->h.tx_time_ns = s->tx_time_ns;
    rec->h.recv_time_ns = s->recv_time_ns;
    rec->h.venue_seq = 0;
    rec->state = s->state;
    rec->kind = MDF_BOOK_KIND_FULL; /* precision and levels asked: the daemon's stream */
    rec->precision = 0;
    rec->_r1 = 0;
    rec->levels_asked = 0;
    rec->_r2 = 0;
    rec->generation = s->generation;
    /* A book set from a snapshot alone holds the snapshot's state: lastUpdateId is both its
     * first and its last id (the internal first_id = last_id + 1 only marks the bridge wait). */
    rec->first_update_id = awaiting_bridge(s) ? s->last_id : s->first_id;
    rec->last_update_id = s->last_id;
}
