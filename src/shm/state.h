/*
 * The state segment: venue table, symbol table, stream table, per-stream latest-state tables
 * (book, bbo, last trade, ticker, funding) with a default stream per (symbol, type) for the
 * per-symbol reads, and per-(symbol, interval) candle history. Every entry is a seqlock, so
 * readers copy a consistent record at any time without replaying a ring. Tables only grow: ids
 * are never reused, and survive a daemon restart that adopts the segment.
 * state_tx_* run on the single writer thread; state_rx_* are safe from any reader thread.
 */
#ifndef MDF_SHM_STATE_H
#define MDF_SHM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/layout.h>

struct seg;

/* Geometry of a state segment. */
struct state_params {
    uint32_t max_venues;  /* venue table size */
    uint32_t max_symbols; /* symbol table size */
    uint32_t book_depth;  /* levels per side, 1..MDF_BOOK_DEPTH_MAX */
    uint32_t candle_k;    /* candles kept per series, 1..MDF_CANDLE_K_MAX */
    uint32_t max_series;  /* (symbol, interval) candle series */
    uint32_t max_streams; /* stream table size */
};

/* Checks p's ranges; returns 0 or -EINVAL with a message. */
int state_check_params(const struct state_params *p);

/* Bytes of a state segment for p. */
size_t state_segment_size(const struct state_params *p);

/* Formats a newly created (zero-filled) state segment. */
void state_format(void *base, const struct state_params *p);

/* True if the segment at base was formatted with p. */
bool state_same_geometry(const void *base, const struct state_params *p);

/* Checks a mapped state segment of `size` bytes before a reader trusts it: its parameters are
 * in range and its descriptor's offsets and size are the ones they give. Returns 0 or
 * MDF_EBADSEG with err_set(). */
int state_rx_check(const void *base, size_t size);

/* Makes sure what reader segment s (a checked state segment) publishes now is backed by memory
 * (seg_reader_backed): tables, default streams, latest blocks, series headers. The writer backs
 * each entry before publishing it; a segment whose writer did not (an older daemon) is faulted
 * in here, where a full /dev/shm is an error, not a later SIGBUS. Returns 0 or -ENOSPC. */
int state_rx_backed(const struct seg *s);

/* Bytes of a state segment for p that state_reserve backs at once (the rest is backed as
 * entries are assigned: per symbol, per stream, per candle series). */
size_t state_fixed_size(const struct state_params *p);

/* Backs with memory (seg_reserve) what writer segment s (of geometry p) needs before it is
 * formatted or repaired: header, descriptor, venue and default-stream tables, and, when it was
 * adopted, every entry its dead writer published. Returns 0 or negative (ERR_SHM_SPACE: no
 * space in /dev/shm) with a message. */
int state_reserve(struct seg *s, const struct state_params *p, bool adopted);

/* Repairs an adopted state segment whose writer died: an entry it left half-written is
 * emptied, and every book is marked STALE until the new daemon resyncs it. */
void state_repair(void *base);

/* The writer's view. */
struct state_tx {
    uint8_t *base;            /* segment start */
    struct mdf_state_desc *d; /* descriptor */
    int32_t *series_idx;      /* [symbol * MDF_IV_COUNT + interval] -> series, -1 none */
    uint8_t *claimed;         /* [stream]: registered by this writer (max_streams bytes) */
    struct seg *seg;          /* borrowed: the segment, to back entries as they are assigned;
                               * NULL: plain memory, nothing to back */
};

/* Attaches the writer (allocates the series index and the claimed-stream flags: control path).
 * seg (borrowed, may be NULL) is the segment at base. Returns 0 or -ENOMEM. */
int state_tx_init(struct state_tx *tx, void *base, struct seg *seg);
void state_tx_fini(struct state_tx *tx);

/* Registers a venue name; returns its id (the existing one if known), or -ENOSPC/-EINVAL. */
int state_tx_venue(struct state_tx *tx, const char *name);

/* Registers a symbol of a venue with its native and (optional) normalized name; returns its id
 * (the existing one if the venue already has that native name), or -ENOSPC (table full),
 * ERR_SHM_SPACE (its entry cannot be backed: /dev/shm is full) or -EINVAL. */
int64_t state_tx_symbol(struct state_tx *tx, uint16_t venue, const char *native,
                        const char *normalized);

/* Registers a stream from *e: venue, symbol, type, book_kind, precision, interval, levels,
 * flags, key and types (e->id and e->retired are ignored; an empty e->kind is derived from the
 * key by dropping the symbol; e->type is added to e->types, and a stream of neither is for
 * every type). Returns its id: the existing one if the venue already has that key
 * (revived if it was retired), or -ENOSPC (table full), ERR_SHM_SPACE (its entry, latest block
 * or candle series cannot be backed: /dev/shm is full; nothing is published) or -EINVAL. A
 * candle stream (type or types with candles, and an interval) gets its candle series now.
 * Re-elects the symbol's default streams. Control path: linear in the stream count. */
int64_t state_tx_stream(struct state_tx *tx, const struct mdf_stream_entry *e);

/* Retires stream id (a reload removed it): its book is marked STALE and it stops being a
 * default. Returns 0 or -ENOENT. */
int state_tx_stream_retire(struct state_tx *tx, uint32_t id);

/* Retires every stream this writer has not registered (those an adopted segment holds from a
 * previous daemon's configuration). Call once every stream is registered. Returns the count. */
uint32_t state_tx_retire_unclaimed(struct state_tx *tx);

/* Copies which book it is (kind, precision, levels asked) from the entry of b's stream
 * (b->h.stream) into b; leaves b alone if the stream is unknown. */
void state_tx_book_ident(struct state_tx *tx, struct mdf_book *b);

/* Stores rec as the latest of its type for stream rec->h.stream (bbo, trade, ticker, funding,
 * book), or into the candle series of rec->h.symbol (candle). Returns 0, -ENOENT (unknown
 * symbol or stream), -ENOSPC (no series left), ERR_SHM_SPACE (a new series cannot be backed),
 * -EINVAL (type not kept, bad interval, stream of another symbol). */
int state_tx_update(struct state_tx *tx, const union mdf_record *rec);

/* Reader side. Each copies under the entry's seqlock, retrying while the writer is in it;
 * *retries (may be NULL) is increased by the retries made. */

/* Descriptor of the state segment at base. */
const struct mdf_state_desc *state_desc(const void *base);

/* Copies the latest record of `type` of symbol sym's default stream for that type into out
 * (len bytes). Returns 0, MDF_ENODATA (no such stream, or no record yet), -ENOENT,
 * MDF_ECONTENDED or -EINVAL. */
int state_rx_latest(const void *base, uint32_t sym, int type, void *out, size_t len,
                    uint64_t *retries);

/* The same for stream `stream`. */
int state_rx_latest_stream(const void *base, uint32_t stream, int type, void *out, size_t len,
                           uint64_t *retries);

/* Copies stream id's entry. Returns 0 or -ENOENT. */
int state_rx_stream(const void *base, uint32_t id, struct mdf_stream_entry *out);

/* Finds a live stream of symbol "venue:SYMBOL" by its key (case-insensitive) or kind text, or
 * the best-ranked one (as for the defaults) whose kind starts with `kind` up to a '@' or ':'
 * ("depth20" for "depth20@100ms", "book:P2" for "book:P2:F0:25"). Returns the id, -ENOENT or
 * -EINVAL. */
int64_t state_rx_stream_find(const void *base, const char *symbol_key, const char *kind);

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
