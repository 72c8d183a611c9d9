/*
 * The OKX v5 book rule (src/venue/README.md §4.2) for the books channel, kept on the shared L2 book
 * (book/book.h). Pure: no I/O, nothing allocated after okx_book_init().
 *
 * Rules:
 * - action "snapshot" replaces the book (LIVE); its prevSeqId is -1.
 * - action "update" applies to a LIVE book only if its prevSeqId equals the seqId of the last
 *   message applied; otherwise messages were lost: the book is discarded (RESYNCING,
 *   generation bumped) and the caller resubscribes the channel (a new snapshot follows).
 *   Steps between seqIds are not 1, and a seqId may be below its prevSeqId after the venue's
 *   maintenance: only the prevSeqId chain is checked.
 * - An update with no levels keeps the sequence (seqId == prevSeqId): a keepalive, nothing
 *   changes but the times.
 * - Checksum: when a message carries a non-zero checksum, the book after it must match (CRC-32
 *   of the top OKX_CHECKSUM_LEVELS bids and asks interleaved, "bidPx:bidSz:askPx:askSz:...",
 *   a side that runs out skipped, each value as the venue wrote it, taken as a signed 32-bit
 *   int); a mismatch resyncs like a gap. OKX retired the checksum (always 0 since 2026-06), so
 *   0 means "not given" and the sequence chain alone guards the book.
 * - Messages without seqId/prevSeqId (recordings before 2023) are applied in order with the
 *   checksum as the only guard.
 * - An update while the book is not LIVE is ignored, counted: the snapshot is on its way.
 * The text of each value is rebuilt from its exact decimal (mdf_dec_format), which gives back
 * the venue's text: the decoder keeps trailing zeros ("0.10" stays "0.10").
 */
#ifndef MDF_BOOK_OKX_BOOK_H
#define MDF_BOOK_OKX_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "book/book.h"
#include "venue/okx.h"

/* What the caller must do after okx_book_apply(). */
enum okx_book_result {
    OKBK_NOTHING = 0, /* nothing visible changed (a keepalive, or an update while not LIVE) */
    OKBK_APPLIED = 1, /* the book changed: publish it */
    OKBK_RESYNC = 2,  /* a gap, a bad checksum or a refused level: the book was discarded
                         (RESYNCING); publish that state and resubscribe the channel */
};

/* Counters (read-only for callers). */
struct okx_book_stats {
    uint64_t snapshots;    /* snapshots applied */
    uint64_t updates;      /* updates applied */
    uint64_t keepalives;   /* updates without levels */
    uint64_t ignored;      /* updates while not LIVE */
    uint64_t gaps;         /* prevSeqId that did not continue the chain */
    uint64_t checksums;    /* checksums that matched */
    uint64_t mismatches;   /* checksums that did not */
    uint64_t level_errors; /* levels the book refused (book_set) */
    uint64_t resyncs;      /* books discarded */
};

/* An OKX book. Fields are read-only for callers. */
struct okx_book {
    struct book book;            /* the levels */
    uint32_t depth;              /* levels per side held (the channel's: 400 for books) */
    uint8_t state;               /* enum mdf_book_state */
    uint64_t generation;         /* bumped each time the book is discarded or replaced */
    bool have_seq;               /* seq_id is known */
    int64_t first_seq;           /* seqId of the snapshot in force (0 if none) */
    int64_t seq_id;              /* seqId of the last message applied */
    int64_t exch_time_ns;        /* its ts */
    int64_t recv_time_ns;        /* its receive time */
    struct okx_book_stats stats; /* counters */
};

/* Allocates a book holding depth levels per side (0 reads as OKX_BOOKS_DEPTH). State EMPTY.
 * Returns 0 or -ENOMEM. */
int okx_book_init(struct okx_book *b, uint32_t depth);

/* Frees the levels. Safe on a zeroed or finalised book. */
void okx_book_fini(struct okx_book *b);

/* Applies an OKX_BOOK message of the books channel received at recv_ns under the rules above.
 * Returns enum okx_book_result, or -EINVAL if m is not a book message. On a checksum mismatch
 * err_set() gives both values. */
int okx_book_apply(struct okx_book *b, const struct okx_msg *m, int64_t recv_ns);

/* The book's checksum as the venue computes it (see above). */
int32_t okx_book_checksum(const struct okx_book *b);

/* Writes the text the checksum is taken over, with a NUL. Returns its length or -ENOSPC
 * (4 * OKX_CHECKSUM_LEVELS * MDF_DEC_STR_MAX always suffices). */
int okx_book_checksum_text(const struct okx_book *b, char *buf, size_t cap);

/* The connection was lost: a LIVE book becomes STALE (levels kept until the next snapshot). */
void okx_book_interrupt(struct okx_book *b);

/* Fills rec (room for MDF_BOOK_SIZE(depth)) with the top `depth`, state, generation,
 * first/last update ids (seqIds of the snapshot and of the last message) and times; h.type,
 * h.size, kind FULL and levels_asked set; h.venue, h.symbol, h.seq left for the caller. */
void okx_book_record(const struct okx_book *b, struct mdf_book *rec, uint32_t depth);

#endif /* MDF_BOOK_OKX_BOOK_H */
