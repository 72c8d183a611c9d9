/*
 * L2 order books: a full local book per symbol (book.c) and the venue's sync rule that keeps it
 * correct from a REST snapshot plus a stream of diffs (book_sync.c).
 *
 * A side is a sorted array with the best level at the END, so the updates that dominate (near
 * the top) move few elements, and the top N is read backwards from the end. Prices compare as
 * int64 keys scaled to one exponent per book; each level keeps the venue's exact decimals for
 * output. All memory is allocated at init: applying diffs never allocates. Single thread.
 */
#ifndef MDF_BOOK_BOOK_H
#define MDF_BOOK_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

enum book_side_id { BOOK_BID = 0, BOOK_ASK = 1 };

struct book_level {
    int64_t key;        /* price scaled to the book's exponent: the sort key */
    struct mdf_dec px;  /* the venue's price, exact */
    struct mdf_dec qty; /* the venue's quantity, exact (never zero in the book) */
};

struct book_side {
    struct book_level *lv; /* sorted, best last: bids ascending, asks descending */
    uint32_t n;            /* levels held */
    uint32_t cap;          /* room (max_levels) */
};

struct book {
    struct book_side side[2]; /* BOOK_BID, BOOK_ASK */
    int32_t exp;              /* exponent of the keys; set by the first price */
    bool exp_set;             /* exp chosen */
    uint64_t dropped;         /* levels dropped because a side was full (the worst goes) */
};

/* Allocates room for max_levels per side. Returns 0 or -ENOMEM. */
int book_init(struct book *b, uint32_t max_levels);
void book_fini(struct book *b);

/* Empties the book (keeps its memory). */
void book_clear(struct book *b);

/* Sets one level: qty zero removes it (removing a level not held is not an error); otherwise it
 * is inserted or replaced. When the side is full, the level farthest from the top is dropped
 * (counted) so the top stays exact. Returns 0, or -ERANGE if px cannot be keyed exactly (more
 * than 18 significant digits at the book's exponent) or -EINVAL for a negative value. */
int book_set(struct book *b, enum book_side_id side, const struct vlevel *lv);

/* Copies the top `depth` levels per side into rec (levels[0..depth) bids best first,
 * levels[depth..2*depth) asks best first), setting depth, n_bids, n_asks and h.size; other
 * fields are the caller's. rec must have room for MDF_BOOK_SIZE(depth). */
void book_top(const struct book *b, struct mdf_book *rec, uint32_t depth);

/* Sync rules. */
enum bsync_rule {
    BSYNC_BINANCE_SPOT = 0,    /* src/venue/README.md 1.7: U/u continuity (U == prev u + 1) */
    BSYNC_BINANCE_FUTURES = 1, /* src/venue/README.md 2.4: pu == prev u */
};

/* What the caller must do after a bsync call. */
enum bsync_result {
    BS_NOTHING = 0,  /* nothing changed visibly (buffered, or an old event ignored) */
    BS_APPLIED = 1,  /* the book changed: publish its top N (state LIVE) */
    BS_SNAPSHOT = 2, /* request a REST snapshot now (first diff buffered, or snapshot too old) */
    BS_RESYNC = 3,   /* a gap: the book was discarded (state RESYNCING, generation bumped);
                        publish that state and request a snapshot: the diff that showed the
                        gap is buffered as the first event of the new sync */
};

/* A diff event as the sync rule needs it (levels borrowed for the call). */
struct bsync_diff {
    int64_t first_id;          /* U */
    int64_t last_id;           /* u */
    int64_t prev_id;           /* pu (futures), -1 if none */
    int64_t exch_time_ns;      /* E */
    int64_t tx_time_ns;        /* T */
    int64_t recv_time_ns;      /* local receive time */
    const struct vlevel *bids; /* bid levels */
    const struct vlevel *asks; /* ask levels */
    uint32_t n_bids, n_asks;   /* their counts */
};

struct bsync_stats {
    uint64_t applied;         /* diffs applied */
    uint64_t ignored;         /* diffs older than the book (u < book id, or covered) */
    uint64_t covered;         /* buffered diffs dropped because the snapshot covered them */
    uint64_t gaps;            /* continuity breaks detected */
    uint64_t resyncs;         /* times the book was rebuilt (gaps, buffer overflows, resets) */
    uint64_t snapshots;       /* snapshots applied */
    uint64_t stale_snapshots; /* snapshots refused as older than the first buffered diff */
    uint64_t overflows;       /* buffer overflows while waiting for a snapshot */
    uint64_t level_errors;    /* levels refused by book_set (counted, the book resyncs) */
};

struct bsync_buf_ev;

/* The last break of a book's chain, for the caller's message: the book's id before it and the
 * ids of the diff that did not continue it. */
struct bsync_break {
    int64_t after_id; /* book id (u of the last applied event, or lastUpdateId) before the break */
    int64_t first_id; /* U of the diff that broke the chain */
    int64_t last_id;  /* its u */
    int64_t prev_id;  /* its pu (futures), -1 if none */
    bool gap;         /* a gap in the ids (false: a level the book could not hold) */
};

/* A book kept in sync by a venue's rule. Fields are read-only for callers. */
struct bsync {
    struct book book;               /* the local book */
    enum bsync_rule rule;           /* sync rule */
    uint8_t state;                  /* enum mdf_book_state */
    uint64_t generation;            /* bumped on every (re)sync start after the first */
    int64_t last_id;                /* book id: u of the last applied event (or lastUpdateId) */
    int64_t first_id;               /* first update id folded into the current state */
    int64_t exch_time_ns;           /* E of the last applied event (or snapshot) */
    int64_t tx_time_ns;             /* T of the last applied event */
    int64_t recv_time_ns;           /* receive time of the last applied event */
    bool snapshot_wanted;           /* a snapshot was asked for (BS_SNAPSHOT) and not yet given */
    struct bsync_stats stats;       /* counters */
    struct bsync_break last_break;  /* why the last BS_RESYNC happened */
    struct bsync_buf_ev *ev;        /* buffered events (ring, ev_cap entries) */
    uint32_t ev_cap, ev_head, ev_n; /* buffer geometry and fill */
    struct vlevel *lv;              /* level storage for buffered events (lv_cap entries) */
    uint32_t lv_cap, lv_head, lv_n; /* level ring geometry and fill */
};

/* Allocates a synced book: max_levels per side, and a buffer of buf_events diff events holding
 * up to buf_levels levels in all while a snapshot is awaited. State EMPTY, generation 0. Returns
 * 0 or -ENOMEM. */
int bsync_init(struct bsync *s, enum bsync_rule rule, uint32_t max_levels, uint32_t buf_events,
               uint32_t buf_levels);
void bsync_fini(struct bsync *s);

/* A diff arrived (from the stream, in order). Returns enum bsync_result. Without a snapshot the
 * diff is buffered (BS_SNAPSHOT for the first one after a (re)start, then BS_NOTHING); a full
 * buffer drops the oldest events and restarts the sync (counted as an overflow). */
int bsync_diff(struct bsync *s, const struct bsync_diff *d);

/* Feeds a snapshot (a VM_PARTIAL from binance_decode_snapshot: last_id = lastUpdateId, levels).
 * Drops the buffered events the snapshot covers, checks the bridge event (spot: U <= id+1 <= u;
 * futures: U <= id <= u), applies the rest and goes LIVE: BS_APPLIED. A snapshot older than the
 * first buffered event gives BS_SNAPSHOT (ask again); a bridge that does not hold gives
 * BS_RESYNC. With no event buffered yet the book is set and waits LIVE for its bridge. */
int bsync_snapshot(struct bsync *s, const struct vmsg *snap);

/* The stream was interrupted (connection lost with no replacement, or a reload): the book is
 * no longer trusted. State STALE if it was LIVE; the next diff restarts the sync (generation
 * bumped then). */
void bsync_interrupt(struct bsync *s);

/* True if the diff would continue the current LIVE book without a gap (spot: U <= id+1 <= u;
 * futures: pu == id), i.e. a second connection carrying the same stream has caught up. */
bool bsync_would_chain(const struct bsync *s, const struct bsync_diff *d);

/* Fills rec (room for MDF_BOOK_SIZE(depth)) with the book's top `depth` and its state,
 * generation, first/last update ids and times; h.type, h.size and h.flags set, h.venue,
 * h.symbol and h.seq left for the caller. A book that is a snapshot alone (no diff folded in
 * yet) has first = last = lastUpdateId and the snapshot's times (its receive time as the
 * snapshot's rec.h.recv_time_ns gave it). */
void bsync_record(const struct bsync *s, struct mdf_book *rec, uint32_t depth);

#endif /* MDF_BOOK_BOOK_H */
