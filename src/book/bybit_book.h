/*
 * The Bybit v5 book rule (src/venue/README.md §4.1) for orderbook.{1,50,200,1000} topics, kept on
 * the shared L2 book (book/book.h). Pure: no I/O, nothing allocated after bybit_book_init().
 *
 * Rules:
 * - A snapshot resets the book: it is emptied and set to the snapshot's levels (the venue sends
 *   one on every subscription and re-sends one whenever it had a problem of its own).
 * - A delta applies to a LIVE book: size 0 deletes the level, any other size sets it.
 * - Update ids (u): each push of a topic normally carries the previous u + 1. A delta with
 *   u == 1 means the venue's service restarted: it overwrites the book like a snapshot. A delta
 *   whose u is not above the book's is old (a duplicate, another connection's copy) and is
 *   ignored. A delta that skips ids means pushes were lost: the book is discarded (RESYNCING,
 *   generation bumped) and the caller resubscribes the topic, which brings a new snapshot.
 * - Depth 1 is snapshots only (re-sent every 3 s unchanged, same u): each replaces the book
 *   without a new generation.
 * - A delta while the book is not LIVE (before the first snapshot, after a resync or an
 *   interrupt) is ignored, counted: the snapshot is on its way.
 * The generation is bumped each time a book readers saw is replaced by one not continuous with
 * it: a snapshot or a u == 1 overwrite of a LIVE or STALE book of depth > 1, and a gap.
 */
#ifndef MDF_BOOK_BYBIT_BOOK_H
#define MDF_BOOK_BYBIT_BOOK_H

#include <stdbool.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "book/book.h"
#include "venue/bybit.h"

/* What the caller must do after bybit_book_apply(). */
enum bybit_book_result {
    BYBK_NOTHING = 0, /* nothing visible changed (old or early delta) */
    BYBK_APPLIED = 1, /* the book changed: publish it */
    BYBK_RESYNC = 2,  /* a gap or a level the book refused: the book was discarded (RESYNCING);
                         publish that state and resubscribe the topic */
};

/* Counters (read-only for callers). */
struct bybit_book_stats {
    uint64_t snapshots;    /* snapshots applied */
    uint64_t deltas;       /* deltas applied */
    uint64_t restarts;     /* u == 1 deltas that overwrote the book */
    uint64_t ignored;      /* deltas ignored: old, or the book not LIVE */
    uint64_t gaps;         /* deltas that skipped ids */
    uint64_t level_errors; /* levels the book refused (book_set) */
    uint64_t resyncs;      /* books discarded (gaps, refused levels) */
};

/* A Bybit book. Fields are read-only for callers. */
struct bybit_book {
    struct book book;              /* the levels */
    uint32_t depth;                /* the topic's depth: 1, 50, 200 or 1000 */
    uint8_t state;                 /* enum mdf_book_state */
    uint64_t generation;           /* bumped on every discontinuity (see above) */
    int64_t first_id;              /* u of the snapshot in force */
    int64_t update_id;             /* u of the last message applied */
    int64_t seq;                   /* its seq (cross sequence), 0 if none */
    int64_t exch_time_ns;          /* its ts */
    int64_t tx_time_ns;            /* its cts */
    int64_t recv_time_ns;          /* its receive time */
    struct bybit_book_stats stats; /* counters */
};

/* Allocates a book for a topic of depth 1, 50, 200 or 1000 (0 reads as 1000), holding that
 * many levels per side. State EMPTY, generation 0. Returns 0, -EINVAL or -ENOMEM. */
int bybit_book_init(struct bybit_book *b, uint32_t depth);

/* Frees the levels. Safe on a zeroed or finalised book. */
void bybit_book_fini(struct bybit_book *b);

/* Applies a BYB_BOOK message received at recv_ns under the rules above. Returns enum
 * bybit_book_result, or -EINVAL if m is not a book message. */
int bybit_book_apply(struct bybit_book *b, const struct bybit_msg *m, int64_t recv_ns);

/* The connection carrying the topic was lost: a LIVE book becomes STALE (levels kept until the
 * next snapshot). */
void bybit_book_interrupt(struct bybit_book *b);

/* Fills rec (room for MDF_BOOK_SIZE(depth)) with the top `depth` levels, state, generation,
 * first/last update ids (u of the snapshot and of the last message), times and venue_seq (seq);
 * h.type, h.size, kind FULL and levels_asked set; h.venue, h.symbol, h.seq left for the
 * caller. */
void bybit_book_record(const struct bybit_book *b, struct mdf_book *rec, uint32_t depth);

#endif /* MDF_BOOK_BYBIT_BOOK_H */
