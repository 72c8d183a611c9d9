/*
 * The state segment: venue table, symbol table, per-symbol latest-state tables (book, bbo, last
 * trade, ticker, funding) and per-(symbol, interval) candle history. Every entry is a seqlock,
 * so readers copy a consistent record at any time without replaying a ring. Tables only grow:
 * ids are never reused, and survive a daemon restart that adopts the segment.
 * state_tx_* run on the single writer thread; state_rx_* are safe from any reader thread.
 */
#ifndef MDF_SHM_STATE_H
#define MDF_SHM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

/* Geometry of a state segment. */
struct state_params {
    uint32_t max_venues;  /* venue table size */
    uint32_t max_symbols; /* symbol table size */
    uint32_t book_depth;  /* levels per side, 1..MDF_BOOK_DEPTH_MAX */
    uint32_t candle_k;    /* candles kept per series, 1..MDF_CANDLE_K_MAX */
    uint32_t max_series;  /* (symbol, interval) candle series */
};

/* Checks p's ranges; returns 0 or -EINVAL with a message. */
int state_check_params(const struct state_params *p);

/* Bytes of a state segment for p. */
size_t state_segment_size(const struct state_params *p);

/* Formats a newly created (zero-filled) state segment. */
void state_format(void *base, const struct state_params *p);

/* True if the segment at base was formatted with p. */
bool state_same_geometry(const void *base, const struct state_params *p);

/* Repairs an adopted state segment whose writer died: an entry it left half-written is
 * emptied, and every book is marked STALE until the new daemon resyncs it. */
void state_repair(void *base);

/* The writer's view. */
struct state_tx {
    uint8_t *base;            /* segment start */
    struct mdf_state_desc *d; /* descriptor */
    int32_t *series_idx;      /* [symbol * MDF_IV_COUNT + interval] -> series, -1 none */
};

/* Attaches the writer (allocates the series index: control path). Returns 0 or -ENOMEM. */
int state_tx_init(struct state_tx *tx, void *base);
void state_tx_fini(struct state_tx *tx);

/* Registers a venue name; returns its id (the existing one if known), or -ENOSPC/-EINVAL. */
int state_tx_venue(struct state_tx *tx, const char *name);

/* Registers a symbol of a venue with its native and (optional) normalized name; returns its id
 * (the existing one if the venue already has that native name), or -ENOSPC/-EINVAL. */
int64_t state_tx_symbol(struct state_tx *tx, uint16_t venue, const char *native,
                        const char *normalized);

/* Stores rec as the latest of its type for rec->h.symbol (bbo, trade, ticker, funding, book),
 * or into its candle series (candle). Returns 0, -ENOENT (unknown symbol), -ENOSPC (no series
 * left), -EINVAL (type not kept, bad interval). */
int state_tx_update(struct state_tx *tx, const union mdf_record *rec);

/* Reader side. Each copies under the entry's seqlock, retrying while the writer is in it;
 * *retries (may be NULL) is increased by the retries made. */

/* Descriptor of the state segment at base. */
const struct mdf_state_desc *state_desc(const void *base);

/* Copies the latest record of `type` for symbol sym into out (len bytes). Returns 0,
 * MDF_ENODATA, -ENOENT, MDF_ECONTENDED or -EINVAL. */
int state_rx_latest(const void *base, uint32_t sym, int type, void *out, size_t len,
                    uint64_t *retries);

/* Copies candles of (sym, interval): the newest k (last=true) or those with open time in
 * [from, to), oldest first, at most max. Returns the count, -ENOENT, MDF_ENODATA,
 * MDF_ECONTENDED or -EINVAL. */
int state_rx_candles(const void *base, uint32_t sym, int interval, bool last, size_t k,
                     int64_t from, int64_t to, struct mdf_candle *out, uint64_t *retries);

/* The venue name for id, or NULL. */
const char *state_rx_venue_name(const void *base, uint32_t id);

/* Finds "venue:SYMBOL" (native, case-insensitive, or normalized). Returns the id or -ENOENT. */
int64_t state_rx_lookup(const void *base, const char *key);

/* Copies symbol id's entry. Returns 0 or -ENOENT. */
int state_rx_symbol(const void *base, uint32_t id, struct mdf_symbol_entry *out);

#endif /* MDF_SHM_STATE_H */
