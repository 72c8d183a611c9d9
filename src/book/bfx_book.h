/*
 * The Bitfinex aggregated book (precisions P0..P4): a local copy kept from the channel's
 * snapshot and its level updates, checked against the venue's OB_CHECKSUM messages
 * (src/venue/README.md §3.2, §3.5). Raw books (R0) are out of scope.
 *
 * Levels are set whole: COUNT > 0 sets the level at PRICE to |AMOUNT| with COUNT orders, COUNT 0
 * removes it; the sign of AMOUNT names the side (> 0 bid, < 0 ask). The venue keeps its own
 * book to the subscribed length and deletes what falls out of it, so the local book stays as
 * long as the channel's length; a side that is full anyway drops its worst level (counted).
 *
 * Checksum (src/venue/README.md §3.5): the top 25 bids and asks, best first, interleaved bid, ask,
 * bid,
 * ... (a missing entry is skipped), each as "PRICE:AMOUNT" with the amount's API sign (asks
 * negative), joined with ':', CRC-32 (zlib) taken as a signed int32. Each value is written as the
 * venue's JavaScript server prints its Number (bfx_fmt_js: ECMAScript Number-to-String): plain
 * digits with no trailing fractional zeros, exponent form below 1e-6 ("1e-7", "-2.5e-8") and
 * from 1e21 ("1e+21"). Prices too: a user checked against the live stream that prices below
 * 1e-6 must stay in e-notation (bfx-api-node-models issue #70, 2021), which is why that
 * library's own conversion of such prices to fixed notation does not match the venue.
 * mdfeed rebuilds the text from the exact decimal rather than keeping the text it received:
 * the server prints from its own numbers, so a DEC_S string "1.50" is "1.5" there; a JSON
 * number from the venue is already its shortest form, which the rebuild reproduces.
 * Each level's text is made when the level is set, so a checksum costs one CRC over at most 50
 * cached strings, not 100 number formats.
 *
 * State follows the Binance books (enum mdf_book_state): EMPTY until the first snapshot, LIVE
 * after it, RESYNCING (book emptied, generation bumped) after a checksum mismatch, a bad level
 * or bfx_book_resync() (the caller's sequence gap), STALE after bfx_book_interrupt(); the next
 * snapshot makes it LIVE again. Nothing is allocated after bfx_book_init(). Single thread.
 */
#ifndef MDF_BOOK_BFX_BOOK_H
#define MDF_BOOK_BFX_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "venue/bitfinex.h"

#define BFX_CS_TEXT_MAX 72u /* room for one level's "PRICE:AMOUNT" checksum text, NUL included */

/* One level of the local book. */
struct bfx_book_level {
    struct mdf_dec px;        /* price, exact, as the venue last sent it */
    struct mdf_dec qty;       /* |amount|, exact (never zero) */
    uint32_t count;           /* orders at the price (never zero) */
    uint16_t cs_len;          /* length of cs */
    char cs[BFX_CS_TEXT_MAX]; /* "PRICE:AMOUNT" as the checksum needs it (asks negative) */
};

/* Counters (read-only for callers). */
struct bfx_book_stats {
    uint64_t snapshots;    /* snapshots applied */
    uint64_t updates;      /* updates applied */
    uint64_t ignored;      /* updates ignored: book not LIVE, or removal of a level not held */
    uint64_t checksums;    /* checksums that matched */
    uint64_t mismatches;   /* checksums that did not (each starts a resync) */
    uint64_t resyncs;      /* resyncs started (mismatches, bad levels, bfx_book_resync()) */
    uint64_t dropped;      /* levels dropped because a side was full */
    uint64_t level_errors; /* levels refused (text too long for BFX_CS_TEXT_MAX) */
};

/* A Bitfinex book. Fields are read-only for callers. */
struct bfx_book {
    struct bfx_book_level *lv[2]; /* [0] bids ascending, [1] asks descending: best level last */
    uint32_t n[2];                /* levels held per side */
    uint32_t cap;                 /* room per side */
    uint8_t state;                /* enum mdf_book_state */
    uint64_t generation;          /* bumped each time the book is rebuilt after the first */
    int64_t first_seq;            /* SEQ_ALL number of the snapshot in force, 0 if none */
    int64_t last_seq;             /* SEQ_ALL number of the last message applied, 0 if none */
    int64_t exch_time_ns;         /* TIMESTAMP time of the last message applied, 0 if none */
    int64_t recv_time_ns;         /* receive time of the last message applied */
    struct bfx_book_stats stats;  /* counters */
};

/* Allocates room for max_levels per side (at least the channel's length; more leaves slack).
 * State EMPTY, generation 0. Returns 0, -EINVAL (0 levels) or -ENOMEM. */
int bfx_book_init(struct bfx_book *b, uint32_t max_levels);

/* Frees the levels. Safe on a zeroed or already finalised book. */
void bfx_book_fini(struct bfx_book *b);

/* Applies a decoded book message (bitfinex_decode_data(): BFX_BOOK_SNAPSHOT replaces the book
 * and makes it LIVE; BFX_BOOK_UPDATE sets or removes one level of a LIVE book). m's seq and
 * ts_ns and recv_ns (the message's receive time) are kept for bfx_book_record().
 * Returns 1 if the book changed, 0 if nothing changed (an update while not LIVE, a removal of a
 * level not held), -EINVAL for another kind, or -ERANGE for a level whose checksum text does
 * not fit (the book is discarded: RESYNCING, the caller resubscribes). */
int bfx_book_apply(struct bfx_book *b, const struct bfx_msg *m, int64_t recv_ns);

/* Applies a BFX_BOOK_SNAPSHOT from another connection of the same channel that takes the book
 * over (a make-before-break rotation): like bfx_book_apply(), but a LIVE book keeps its
 * generation, since readers see one continuous book. Same returns. */
int bfx_book_handover(struct bfx_book *b, const struct bfx_msg *m, int64_t recv_ns);

/* Compares the book's checksum with the venue's (a BFX_CHECKSUM message's checksum). Returns 0
 * if they match, 1 if the book is not LIVE (nothing to compare), or -EBADMSG with err_set()
 * giving both values on a mismatch: the book is discarded (RESYNCING, generation bumped) and
 * the caller resubscribes the channel. */
int bfx_book_verify(struct bfx_book *b, int32_t checksum);

/* The book's checksum as the venue computes it (see the file comment). */
int32_t bfx_book_checksum(const struct bfx_book *b);

/* Writes the text the checksum is taken over, with a NUL. Returns its length or -ENOSPC
 * (100 * BFX_CS_TEXT_MAX always suffices). */
int bfx_book_checksum_text(const struct bfx_book *b, char *buf, size_t cap);

/* Discards the book because the caller saw a gap (SEQ_ALL) or resubscribes it: RESYNCING,
 * generation bumped (once per resync: a book already RESYNCING stays as it is). */
void bfx_book_resync(struct bfx_book *b);

/* The channel was interrupted (connection lost): a LIVE book becomes STALE, keeping its levels
 * until the next snapshot. */
void bfx_book_interrupt(struct bfx_book *b);

/* Copies the top `depth` levels per side into rec (levels[0..depth) bids best first,
 * levels[depth..2*depth) asks best first, qty = |amount|, orders = count), setting depth,
 * n_bids, n_asks and h.size. rec must have room for MDF_BOOK_SIZE(depth). */
void bfx_book_top(const struct bfx_book *b, struct mdf_book *rec, uint32_t depth);

/* Fills rec (room for MDF_BOOK_SIZE(depth)) with the top `depth`, state, generation,
 * first_update_id/last_update_id (the SEQ_ALL numbers of the snapshot and of the last message
 * applied) and times; h.type, h.size, h.flags (0: a local full book) and h.venue_seq set,
 * h.venue, h.symbol and h.seq left for the caller. */
void bfx_book_record(const struct bfx_book *b, struct mdf_book *rec, uint32_t depth);

/* Writes v as JavaScript prints a Number of that value (see the file comment), with a NUL.
 * Returns the length or -ENOSPC. */
int bfx_fmt_js(struct mdf_dec v, char *buf, size_t cap);

#endif /* MDF_BOOK_BFX_BOOK_H */
