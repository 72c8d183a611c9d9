/*
 * The Bybit v5 book rule (see bybit_book.h): snapshot resets, deltas apply, u == 1 overwrites,
 * a skipped u resyncs, depth 1 is snapshots only.
 */
#include <errno.h>
#include <string.h>

#include "book/bybit_book.h"
#include "core/err.h"

int bybit_book_init(struct bybit_book *b, uint32_t depth)
{
    memset(b, 0, sizeof(*b));
    if (depth == 0)
        depth = BYBIT_BOOK_DEPTH_FULL;
    if (depth != 1 && depth != 50 && depth != 200 && depth != BYBIT_BOOK_DEPTH_FULL)
        return err_set(-EINVAL, "bybit book: depth %u invalid (1, 50, 200, 1000)", depth);
    b->depth = depth;
    b->state = MDF_BOOK_EMPTY;
    return book_init(&b->book, depth) < 0 ? -ENOMEM : 0;
}

void bybit_book_fini(struct bybit_book *b)
{
    book_fini(&b->book);
}

/* Discards the book: RESYNCING, generation bumped. */
static int resync(struct bybit_book *b)
{
    book_clear(&b->book);
    b->state = MDF_BOOK_RESYNCING;
    b->generation++;
    b->stats.resyncs++;
    return BYBK_RESYNC;
}

/* Sets the message's levels; a refused level discards the book. */
static int set_levels(struct bybit_book *b, const struct bybit_msg *m)
{
    for (uint32_t i = 0; i < m->n_bids; i++)
        if (book_set(&b->book, BOOK_BID, &m->bids[i]) < 0)
            goto refused;
    for (uint32_t i = 0; i < m->n_asks; i++)
        if (book_set(&b->book, BOOK_ASK, &m->asks[i]) < 0)
            goto refused;
    return 0;
refused:
    b->stats.level_errors++;
    return -ERANGE;
}

/* Keeps the ids and times of an applied message. */
static void keep(struct bybit_book *b, const struct bybit_msg *m, int64_t recv_ns)
{
    b->update_id = m->update_id;
    b->seq = m->seq;
    b->exch_time_ns = m->ts_ns;
    b->tx_time_ns = m->cts_ns;
    b->recv_time_ns = recv_ns;
}

/* Replaces the book with the message's levels (a snapshot, or a u == 1 overwrite). */
static int overwrite(struct bybit_book *b, const struct bybit_msg *m, int64_t recv_ns)
{
    /* A book readers saw is replaced by one not continuous with it: a new generation, except
     * for depth 1, whose every push is a snapshot. */
    if ((b->state == MDF_BOOK_LIVE || b->state == MDF_BOOK_STALE) && b->depth > 1)
        b->generation++;
    book_clear(&b->book);
    if (set_levels(b, m) < 0)
        return resync(b);
    b->state = MDF_BOOK_LIVE;
    b->first_id = m->update_id;
    keep(b, m, recv_ns);
    return BYBK_APPLIED;
}

int bybit_book_apply(struct bybit_book *b, const struct bybit_msg *m, int64_t recv_ns)
{
    if (m->kind != BYB_BOOK)
        return err_set(-EINVAL, "bybit book: not a book message");
    if (m->snapshot) {
        b->stats.snapshots++;
        return overwrite(b, m, recv_ns);
    }
    if (b->state != MDF_BOOK_LIVE) {
        b->stats.ignored++;
        return BYBK_NOTHING;
    }
    if (m->update_id == 1) {
        b->stats.restarts++;
        return overwrite(b, m, recv_ns);
    }
    if (m->update_id <= b->update_id) {
        b->stats.ignored++;
        return BYBK_NOTHING;
    }
    if (m->update_id != b->update_id + 1) {
        b->stats.gaps++;
        return resync(b);
    }
    if (set_levels(b, m) < 0)
        return resync(b);
    b->stats.deltas++;
    keep(b, m, recv_ns);
    return BYBK_APPLIED;
}

void bybit_book_interrupt(struct bybit_book *b)
{
    if (b->state == MDF_BOOK_LIVE)
        b->state = MDF_BOOK_STALE;
}

void bybit_book_record(const struct bybit_book *b, struct mdf_book *rec, uint32_t depth)
{
    memset(rec, 0, sizeof(*rec));
    book_top(&b->book, rec, depth);
    rec->h.type = MDF_REC_BOOK;
    rec->h.exch_time_ns = b->exch_time_ns;
    rec->h.tx_time_ns = b->tx_time_ns;
    rec->h.recv_time_ns = b->recv_time_ns;
    rec->h.venue_seq = b->seq > 0 ? (uint64_t)b->seq : 0;
    rec->state = b->state;
    rec->kind = MDF_BOOK_KIND_FULL;
    rec->generation = b->generation;
    rec->first_update_id = b->first_id;
    rec->last_update_id = b->update_id;
    rec->levels_asked = (uint16_t)b->depth;
}
