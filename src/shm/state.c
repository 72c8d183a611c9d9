/*
 * Latest-state tables in the state segment. Layout (offsets in struct mdf_state_desc): venue
 * table, symbol table, stream table, the per-(symbol, type) default streams, one block per
 * stream holding a seqlocked struct mdf_latest per kept record type, the candle series directory
 * and the series blocks. Entries are published by count: the writer fills an entry, then raises
 * n_venues / n_symbols / n_streams / n_series with release, so a reader that sees the count sees
 * the entry. Latest records are kept per stream, so two streams of one symbol and type (depth5
 * and depth20, ticker and miniTicker) never overwrite each other; the per-symbol reads go through
 * the default stream the writer elects for (symbol, type) whenever a stream comes or goes. The
 * writer keeps a private (symbol, interval) -> series index so a candle update is O(1).
 *
 * Memory: the segment is sized for every table at its maximum (hundreds of MB by default) but
 * tmpfs backs only what is touched. The writer backs (seg_reserve) the header, the venue table
 * and the default-stream table at once, and each symbol, stream (with its latest block) and
 * candle series when it is assigned, before anything is stored there or published: a store never
 * faults for want of space in /dev/shm, and readers, who only look at published entries, never
 * touch an unbacked page. An entry that cannot be backed is refused with ERR_SHM_SPACE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "shm/segment.h"
#include "shm/seqlock.h"
#include "shm/state.h"

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)
#define HDR_BYTES (sizeof(struct mdf_seg_header) + sizeof(struct mdf_state_desc))

/* Record types kept in the per-symbol latest table. */
static const int kept_types[] = {MDF_REC_TRADE, MDF_REC_BBO, MDF_REC_TICKER, MDF_REC_FUNDING,
                                 MDF_REC_BOOK};

/* Bytes of a kept type's entry payload; 0 for types without a latest table. */
static size_t type_size(int type, uint32_t depth)
{
    for (size_t i = 0; i < sizeof(kept_types) / sizeof(kept_types[0]); i++)
        if (kept_types[i] == type)
            return mdf_rec_type_size(type, depth);
    return 0;
}

#define N_KEPT (sizeof(kept_types) / sizeof(kept_types[0]))

int state_check_params(const struct state_params *p)
{
    if (p->max_venues < 1 || p->max_venues > 65535)
        return err_set(-EINVAL, "max_venues must be 1..65535, not %u", p->max_venues);
    if (p->max_symbols < 1 || p->max_symbols > 1000000)
        return err_set(-EINVAL, "max_symbols must be 1..1000000, not %u", p->max_symbols);
    if (p->max_streams < 1 || p->max_streams > 1000000)
        return err_set(-EINVAL, "max_streams must be 1..1000000, not %u", p->max_streams);
    if (p->book_depth < 1 || p->book_depth > MDF_BOOK_DEPTH_MAX)
        return err_set(-EINVAL, "book_depth must be 1..%u, not %u", MDF_BOOK_DEPTH_MAX,
                       p->book_depth);
    if (p->candle_k < 1 || p->candle_k > MDF_CANDLE_K_MAX)
        return err_set(-EINVAL, "candle history must be 1..%u, not %u", MDF_CANDLE_K_MAX,
                       p->candle_k);
    if (p->max_series > 10000000)
        return err_set(-EINVAL, "max_series must be at most 10000000, not %u", p->max_series);
    return 0;
}

/* Computes every offset of the layout into d. */
static void layout(struct mdf_state_desc *d, const struct state_params *p)
{
    size_t off = HDR_BYTES, stride = 0;

    memset(d, 0, sizeof(*d));
    d->max_venues = p->max_venues;
    d->max_symbols = p->max_symbols;
    d->book_depth = p->book_depth;
    d->candle_k = p->candle_k;
    d->max_series = p->max_series;
    d->max_streams = p->max_streams;
    for (size_t i = 0; i < sizeof(kept_types) / sizeof(kept_types[0]); i++) {
        int t = kept_types[i];

        d->lt_off[t] = (uint32_t)stride;
        stride += ALIGN64(sizeof(struct mdf_latest) + type_size(t, p->book_depth));
    }
    d->latest_stride = (uint32_t)stride;
    d->candle_slot = (uint32_t)sizeof(struct mdf_candle);
    d->series_stride =
        (uint32_t)ALIGN64(sizeof(struct mdf_series) + (size_t)p->candle_k * d->candle_slot);
    d->venues_off = off;
    off = ALIGN64(off + (size_t)p->max_venues * sizeof(struct mdf_venue_entry));
    d->symbols_off = off;
    off = ALIGN64(off + (size_t)p->max_symbols * sizeof(struct mdf_symbol_entry));
    d->streams_off = off;
    off = ALIGN64(off + (size_t)p->max_streams * sizeof(struct mdf_stream_entry));
    d->defaults_off = off;
    off = ALIGN64(off + (size_t)p->max_symbols * MDF_REC_TYPE_COUNT * sizeof(uint32_t));
    d->latest_off = off;
    off = ALIGN64(off + (size_t)p->max_streams * d->latest_stride);
    d->series_dir_off = off;
    off = ALIGN64(off + (size_t)p->max_series * sizeof(struct mdf_series_entry));
    d->series_off = off;
}

size_t state_segment_size(const struct state_params *p)
{
    struct mdf_state_desc d;

    layout(&d, p);
    return d.series_off + (size_t)p->max_series * d.series_stride;
}

const struct mdf_state_desc *state_desc(const void *base)
{
    return (const struct mdf_state_desc *)((const uint8_t *)base + sizeof(struct mdf_seg_header));
}

static struct mdf_state_desc *desc_rw(void *base)
{
    return (struct mdf_state_desc *)((uint8_t *)base + sizeof(struct mdf_seg_header));
}

void state_format(void *base, const struct state_params *p)
{
    struct mdf_state_desc *d = desc_rw(base);

    /* The segment is zero-filled and invisible until its version is stored (release), so plain
     * stores suffice: no symbol has a default stream yet. */
    layout(d, p);
    memset((uint8_t *)base + d->defaults_off, 0xff,
           (size_t)p->max_symbols * MDF_REC_TYPE_COUNT * sizeof(uint32_t));
}

bool state_same_geometry(const void *base, const struct state_params *p)
{
    struct mdf_state_desc want;
    const struct mdf_state_desc *have = state_desc(base);

    layout(&want, p);
    return memcmp(&want, have, offsetof(struct mdf_state_desc, n_venues)) == 0;
}

int state_rx_check(const void *base, size_t size)
{
    const struct mdf_state_desc *d = state_desc(base);
    struct state_params p;

    if (size < HDR_BYTES)
        return err_set(MDF_EBADSEG, "state segment of %zu bytes has no descriptor", size);
    p = (struct state_params){.max_venues = d->max_venues,
                              .max_symbols = d->max_symbols,
                              .book_depth = d->book_depth,
                              .candle_k = d->candle_k,
                              .max_series = d->max_series,
                              .max_streams = d->max_streams};
    if (state_check_params(&p) < 0)
        return err_prefix(MDF_EBADSEG, "state segment");
    if (!state_same_geometry(base, &p) || state_segment_size(&p) != size)
        return err_set(MDF_EBADSEG, "state segment: its tables do not fit its %zu bytes", size);
    return 0;
}

int state_rx_backed(const struct seg *s)
{
    const struct mdf_state_desc *d = state_desc(s->base);
    /* Pairs with the release stores of the counts: what the writer published by now. */
    uint64_t nsym = load_acquire((atomic_uint *)&d->n_symbols);
    uint64_t nstr = load_acquire((atomic_uint *)&d->n_streams);
    uint64_t nser = load_acquire((atomic_uint *)&d->n_series);
    int rc;

    nsym = nsym < d->max_symbols ? nsym : d->max_symbols;
    nstr = nstr < d->max_streams ? nstr : d->max_streams;
    nser = nser < d->max_series ? nser : d->max_series;
    if ((rc = seg_reader_backed(s, 0, d->symbols_off + nsym * sizeof(struct mdf_symbol_entry))) <
            0 ||
        (rc = seg_reader_backed(s, d->streams_off, nstr * sizeof(struct mdf_stream_entry))) < 0 ||
        (rc = seg_reader_backed(s, d->defaults_off, d->latest_off - d->defaults_off)) < 0 ||
        (rc = seg_reader_backed(s, d->latest_off, nstr * d->latest_stride)) < 0 ||
        (rc = seg_reader_backed(s, d->series_dir_off, nser * sizeof(struct mdf_series_entry))) < 0)
        return rc;
    for (uint64_t i = 0; i < nser; i++) /* each series' header: its count and seqlock */
        if ((rc = seg_reader_backed(s, d->series_off + i * d->series_stride,
                                    sizeof(struct mdf_series))) < 0)
            return rc;
    return 0;
}

/* How many entries of a table are published, at most its size max (more can only come from a
 * corrupt segment: state_rx_check cannot vouch for a count that changes). */
static uint32_t published(const MDF_ATOMIC(uint32_t) * n, uint32_t max)
{
    /* Pairs with the release stores of the counts in state_tx_*: entries below the count are
     * complete. */
    uint32_t v = load_acquire((atomic_uint *)n);

    return v < max ? v : max;
}

static struct mdf_latest *latest_at(const void *base, const struct mdf_state_desc *d,
                                    uint32_t stream, int type)
{
    return (struct mdf_latest *)((uint8_t *)base + d->latest_off +
                                 (size_t)stream * d->latest_stride + d->lt_off[type]);
}

static struct mdf_stream_entry *stream_at(const void *base, const struct mdf_state_desc *d,
                                          uint32_t id)
{
    return (struct mdf_stream_entry *)((uint8_t *)base + d->streams_off) + id;
}

/* The default stream word of (sym, type). */
static atomic_uint *default_at(const void *base, const struct mdf_state_desc *d, uint32_t sym,
                               int type)
{
    return (atomic_uint *)((uint8_t *)base + d->defaults_off) + (size_t)sym * MDF_REC_TYPE_COUNT +
           (size_t)type;
}

static struct mdf_series *series_at(const void *base, const struct mdf_state_desc *d, uint32_t idx)
{
    return (struct mdf_series *)((uint8_t *)base + d->series_off + (size_t)idx * d->series_stride);
}

static atomic_word *candle_slot(struct mdf_series *ser, const struct mdf_state_desc *d,
                                uint64_t ordinal)
{
    return (atomic_word *)((uint8_t *)(ser + 1) + (ordinal % d->candle_k) * d->candle_slot);
}

static struct mdf_series_entry *series_dir(const void *base, const struct mdf_state_desc *d)
{
    return (struct mdf_series_entry *)((uint8_t *)base + d->series_dir_off);
}

/* Marks the book in latest entry e (if it holds one) STALE. Writer side. */
static void mark_book_stale(struct mdf_latest *e)
{
    atomic_word *data = (atomic_word *)e->data;
    struct mdf_book b;

    if (load_relaxed(&data[0]) == 0) /* only the writer stores it: no book yet */
        return;
    seqlock_write_begin(&e->seq);
    words_load(&b, data, sizeof(b) / 8);
    b.state = MDF_BOOK_STALE;
    words_store(data, &b, sizeof(b) / 8);
    seqlock_write_end(&e->seq);
}

void state_repair(void *base)
{
    struct mdf_state_desc *d = desc_rw(base);
    /* The dead writer is gone; only readers race with us and they only read. */
    uint32_t nstr = load_acquire(&d->n_streams), nser = load_acquire(&d->n_series);

    /* Only inside the tables (and so inside what state_reserve backed), whatever the counts. */
    nstr = nstr < d->max_streams ? nstr : d->max_streams;
    nser = nser < d->max_series ? nser : d->max_series;
    for (uint32_t s = 0; s < nstr; s++) {
        for (size_t i = 0; i < N_KEPT; i++) {
            int t = kept_types[i];
            struct mdf_latest *e = latest_at(base, d, s, t);
            atomic_word *data = (atomic_word *)e->data;
            uint64_t seq = load_relaxed(&e->seq);
            size_t words = type_size(t, d->book_depth) / 8;

            if (seq & 1) {
                /* Half-written by the dead writer: empty it (type NONE) and close the
                 * seqlock so readers do not spin on it. */
                for (size_t w = 0; w < words; w++)
                    store_relaxed(&data[w], 0);
                store_release(&e->seq, seq + 1);
            } else if (t == MDF_REC_BOOK) {
                /* Its diffs stopped with the old daemon: say so until resynced. */
                mark_book_stale(e);
            }
        }
    }
    for (uint32_t i = 0; i < nser; i++) {
        struct mdf_series *ser = series_at(base, d, i);
        uint64_t seq = load_relaxed(&ser->seq);

        if (seq & 1) {
            /* A half-done change: the series' order is unknown, so drop its history. */
            store_relaxed(&ser->count, 0);
            store_release(&ser->seq, seq + 1);
        }
    }
}

size_t state_fixed_size(const struct state_params *p)
{
    struct mdf_state_desc d;

    layout(&d, p);
    return d.symbols_off + (d.latest_off - d.defaults_off);
}

/* Backs entries [first, first + n) of a table at off with entries of `size` bytes. */
static int reserve_entries(struct seg *seg, size_t off, size_t size, uint64_t first, uint64_t n)
{
    return seg ? seg_reserve(seg, off + first * size, n * size) : 0;
}

int state_reserve(struct seg *s, const struct state_params *p, bool adopted)
{
    const struct mdf_state_desc *have = state_desc(s->base);
    struct mdf_state_desc d;
    uint32_t n;
    int rc;

    layout(&d, p);
    /* Written whatever the configuration: header, descriptor, venues; the defaults (format). */
    if ((rc = seg_reserve(s, 0, d.symbols_off)) < 0 ||
        (rc = seg_reserve(s, d.defaults_off, d.latest_off - d.defaults_off)) < 0)
        return rc;
    if (!adopted)
        return 0;
    /* A dead daemon's entries, which this one repairs and updates; it may have left the
     * latest blocks of streams that never had a record unbacked. Counts are clamped as the
     * writer and state_repair clamp them. Relaxed: the dead writer is gone. */
    n = load_relaxed((atomic_uint *)&have->n_symbols);
    if ((rc = reserve_entries(s, d.symbols_off, sizeof(struct mdf_symbol_entry), 0,
                              n < p->max_symbols ? n : p->max_symbols)) < 0)
        return rc;
    n = load_relaxed((atomic_uint *)&have->n_streams);
    n = n < p->max_streams ? n : p->max_streams;
    if ((rc = reserve_entries(s, d.streams_off, sizeof(struct mdf_stream_entry), 0, n)) < 0 ||
        (rc = reserve_entries(s, d.latest_off, d.latest_stride, 0, n)) < 0)
        return rc;
    n = load_relaxed((atomic_uint *)&have->n_series);
    n = n < p->max_series ? n : p->max_series;
    if ((rc = reserve_entries(s, d.series_dir_off, sizeof(struct mdf_series_entry), 0, n)) < 0 ||
        (rc = reserve_entries(s, d.series_off, d.series_stride, 0, n)) < 0)
        return rc;
    return 0;
}

int state_tx_init(struct state_tx *tx, void *base, struct seg *seg)
{
    struct mdf_state_desc *d = desc_rw(base);
    size_t n = (size_t)d->max_symbols * MDF_IV_COUNT;
    uint32_t nser;

    tx->base = base;
    tx->d = d;
    tx->seg = seg;
    tx->claimed = calloc(d->max_streams, 1);
    tx->series_idx = malloc(n * sizeof(int32_t));
    if (!tx->series_idx || !tx->claimed) {
        free(tx->claimed);
        free(tx->series_idx);
        tx->claimed = NULL;
        tx->series_idx = NULL;
        return err_set(-ENOMEM, "out of memory for the writer's indexes");
    }
    memset(tx->series_idx, 0xff, n * sizeof(int32_t));
    /* Only this thread writes the directory; adopted entries are complete. */
    nser = load_relaxed(&d->n_series);
    for (uint32_t i = 0; i < nser; i++) {
        const struct mdf_series_entry *e = &series_dir(base, d)[i];

        if (e->symbol < d->max_symbols && e->interval < MDF_IV_COUNT)
            tx->series_idx[(size_t)e->symbol * MDF_IV_COUNT + e->interval] = (int32_t)i;
    }
    return 0;
}

void state_tx_fini(struct state_tx *tx)
{
    free(tx->series_idx);
    free(tx->claimed);
    tx->series_idx = NULL;
    tx->claimed = NULL;
}

int state_tx_venue(struct state_tx *tx, const char *name)
{
    struct mdf_venue_entry *v = (struct mdf_venue_entry *)(tx->base + tx->d->venues_off);
    uint32_t n = load_relaxed(&tx->d->n_venues); /* only this thread raises it */

    if (!name || !name[0] || strlen(name) >= MDF_NAME_MAX || strchr(name, ':'))
        return err_set(-EINVAL, "bad venue name");
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return (int)i;
    if (n >= tx->d->max_venues)
        return err_set(-ENOSPC, "venue table full (%u)", tx->d->max_venues);
    snprintf(v[n].name, sizeof(v[n].name), "%s", name);
    /* Pairs with the acquire load of n_venues in readers: the entry is complete. */
    store_release(&tx->d->n_venues, n + 1);
    return (int)n;
}

int64_t state_tx_symbol(struct state_tx *tx, uint16_t venue, const char *native,
                        const char *normalized)
{
    struct mdf_symbol_entry *e = (struct mdf_symbol_entry *)(tx->base + tx->d->symbols_off);
    uint32_t n = load_relaxed(&tx->d->n_symbols); /* only this thread raises it */
    int rc;

    if (!native || !native[0] || strlen(native) >= MDF_SYMBOL_MAX ||
        (normalized && strlen(normalized) >= MDF_SYMBOL_MAX))
        return err_set(-EINVAL, "bad symbol name");
    if (venue >= load_relaxed(&tx->d->n_venues))
        return err_set(-EINVAL, "unknown venue id %u", venue);
    /* Linear, on the control path only (registration at start and reload). */
    for (uint32_t i = 0; i < n; i++)
        if (e[i].venue == venue && strcmp(e[i].native, native) == 0)
            return i;
    if (n >= tx->d->max_symbols)
        return err_set(-ENOSPC, "symbol table full (%u)", tx->d->max_symbols);
    if ((rc = reserve_entries(tx->seg, tx->d->symbols_off, sizeof(*e), n, 1)) < 0)
        return rc;
    e[n].id = n;
    e[n].venue = venue;
    snprintf(e[n].native, sizeof(e[n].native), "%s", native);
    snprintf(e[n].normalized, sizeof(e[n].normalized), "%s", normalized ? normalized : "");
    /* Pairs with the acquire load of n_symbols in readers: the entry is complete. */
    store_release(&tx->d->n_symbols, n + 1);
    return n;
}

/* How well stream e serves as the default of its symbol for record type `type`: higher is
 * better, 0 not at all. A stream made for the type beats one that only also publishes it (a
 * Bitfinex ticker's bbo) or a synthetic source of every type. Books: a locally kept full book
 * over the venue's partial ones, then more levels asked (0 = all), then the finer Bitfinex
 * precision; tickers: full over mini; trades: every trade over aggregates. Ties go to the lower
 * id, the stream registered first. */
static uint64_t stream_rank(const struct mdf_stream_entry *e, int type)
{
    uint64_t r = 2;

    /* Relaxed: the flag is only stored by this thread, or read by a reader as a hint. */
    if (load_relaxed((atomic_uint *)&e->retired) || !(e->types & (1u << type)))
        return 0;
    if (e->type != type)
        return 1;
    if (type == MDF_REC_BOOK) {
        r += e->book_kind == MDF_BOOK_KIND_FULL ? UINT64_C(1) << 32 : 0;
        r += (uint64_t)(e->levels ? e->levels : 0xffffu) << 8;
        r += 7u - (e->precision & 7u);
    } else if (type == MDF_REC_TICKER) {
        r += !(e->flags & MDF_STREAM_F_MINI);
    } else if (type == MDF_REC_TRADE) {
        r += !(e->flags & MDF_STREAM_F_AGGREGATE);
    }
    return r;
}

/* Re-elects symbol sym's default stream of every kept type (control path: one pass over the
 * stream table). */
static void elect_defaults(struct state_tx *tx, uint32_t sym)
{
    uint32_t n = load_relaxed(&tx->d->n_streams); /* only this thread raises it */
    uint32_t best[N_KEPT];
    uint64_t best_rank[N_KEPT] = {0};

    for (size_t k = 0; k < N_KEPT; k++)
        best[k] = MDF_STREAM_ID_NONE;
    for (uint32_t i = 0; i < n; i++) {
        const struct mdf_stream_entry *e = stream_at(tx->base, tx->d, i);

        if (e->symbol != sym)
            continue;
        for (size_t k = 0; k < N_KEPT; k++) {
            uint64_t r = stream_rank(e, kept_types[k]);

            if (r > best_rank[k]) {
                best_rank[k] = r;
                best[k] = i;
            }
        }
    }
    for (size_t k = 0; k < N_KEPT; k++)
        /* Pairs with the acquire load in state_rx_latest: a reader that sees the id sees the
         * stream entry it names (published before, by the release of n_streams). */
        store_release(default_at(tx->base, tx->d, sym, kept_types[k]), best[k]);
}

/* Writes key without the symbol's token and one separator beside it into kind:
 * "btcusdt@depth20@100ms" -> "depth20@100ms", "book:tBTCUSD:P0:F0:25" -> "book:P0:F0:25",
 * "trades:tBTCUSD" -> "trades". The whole key if the symbol is not a token of it. */
static void kind_of(const char *key, const char *native, char *kind, size_t cap)
{
    size_t kl = strlen(key), nl = strlen(native), a = kl, b = kl, n, m;

    for (size_t i = 0; nl && i + nl <= kl; i++) {
        bool starts = i == 0 || key[i - 1] == '@' || key[i - 1] == ':';
        bool ends = i + nl == kl || key[i + nl] == '@' || key[i + nl] == ':';

        if (starts && ends && strncasecmp(key + i, native, nl) == 0) {
            a = i;
            b = i + nl;
            if (b < kl)
                b++;
            else if (a > 0)
                a--;
            break;
        }
    }
    /* key[0..a) + key[b..kl), cut to cap - 1 bytes. */
    n = a < cap - 1 ? a : cap - 1;
    m = kl - b < cap - 1 - n ? kl - b : cap - 1 - n;
    memcpy(kind, key, n);
    memcpy(kind + n, key + b, m);
    kind[n + m] = '\0';
}

static int64_t series_get(struct state_tx *tx, uint32_t sym, uint32_t iv);

int64_t state_tx_stream(struct state_tx *tx, const struct mdf_stream_entry *in)
{
    const struct mdf_symbol_entry *sym;
    struct mdf_stream_entry *e;
    uint32_t n = load_relaxed(&tx->d->n_streams); /* only this thread raises it */
    uint32_t types = in->types | (in->type ? 1u << in->type : 0);
    int64_t rc;

    if (!in->key[0] || strnlen(in->key, sizeof(in->key)) >= sizeof(in->key) ||
        strnlen(in->kind, sizeof(in->kind)) >= sizeof(in->kind) || in->type >= MDF_REC_TYPE_COUNT ||
        in->book_kind > MDF_BOOK_KIND_PARTIAL)
        return err_set(-EINVAL, "bad stream entry");
    if (in->symbol >= load_relaxed(&tx->d->n_symbols)) /* only this thread raises it */
        return err_set(-EINVAL, "unknown symbol id %u", in->symbol);
    sym = (const struct mdf_symbol_entry *)(tx->base + tx->d->symbols_off) + in->symbol;
    if (sym->venue != in->venue)
        return err_set(-EINVAL, "symbol %s is not of venue %u", sym->native, in->venue);
    /* A candle stream's series is assigned (and backed) now, on the control path, rather than
     * at its first candle on the hot path. */
    if ((types & (1u << MDF_REC_CANDLE)) && in->interval > 0 && in->interval < MDF_IV_COUNT &&
        (rc = series_get(tx, in->symbol, in->interval)) < 0)
        return rc;
    /* Linear, on the control path only (registration at start and reload). */
    for (uint32_t i = 0; i < n; i++) {
        e = stream_at(tx->base, tx->d, i);
        if (e->venue != in->venue || strcmp(e->key, in->key) != 0)
            continue;
        if (e->symbol != in->symbol)
            return err_set(-EINVAL, "stream %s is registered for another symbol", in->key);
        tx->claimed[i] = 1;
        /* Relaxed: a status flag; the data it speaks of is read under the entries' seqlocks. */
        if (load_relaxed(&e->retired)) {
            store_relaxed(&e->retired, 0);
            elect_defaults(tx, e->symbol);
        }
        return i;
    }
    if (n >= tx->d->max_streams)
        return err_set(-ENOSPC, "stream table full (%u)", tx->d->max_streams);
    /* Its entry and latest block are backed before they are written and published. */
    if ((rc = reserve_entries(tx->seg, tx->d->streams_off, sizeof(*e), n, 1)) < 0 ||
        (rc = reserve_entries(tx->seg, tx->d->latest_off, tx->d->latest_stride, n, 1)) < 0)
        return rc;
    e = stream_at(tx->base, tx->d, n);
    memcpy(e, in, offsetof(struct mdf_stream_entry, retired));
    e->id = n;
    e->types = types;
    if (!e->types) /* a synthetic source: every type */
        e->types = ((1u << MDF_REC_TYPE_COUNT) - 1) & ~1u;
    snprintf(e->key, sizeof(e->key), "%s", in->key);
    if (in->kind[0])
        snprintf(e->kind, sizeof(e->kind), "%s", in->kind);
    else
        kind_of(in->key, sym->native, e->kind, sizeof(e->kind));
    /* Pairs with the acquire load of n_streams in readers: the entry is complete. */
    store_release(&tx->d->n_streams, n + 1);
    tx->claimed[n] = 1;
    elect_defaults(tx, in->symbol);
    return n;
}

int state_tx_stream_retire(struct state_tx *tx, uint32_t id)
{
    struct mdf_stream_entry *e;

    if (id >= load_relaxed(&tx->d->n_streams)) /* only this thread raises it */
        return err_set(-ENOENT, "no stream id %u", id);
    e = stream_at(tx->base, tx->d, id);
    tx->claimed[id] = 0;
    if (load_relaxed(&e->retired)) /* only this thread stores it */
        return 0;
    /* Relaxed: a status flag; the data it speaks of is read under the entries' seqlocks. */
    store_relaxed(&e->retired, 1);
    /* Nothing will update its book any more: say so to whoever still reads it. */
    mark_book_stale(latest_at(tx->base, tx->d, id, MDF_REC_BOOK));
    elect_defaults(tx, e->symbol);
    return 0;
}

uint32_t state_tx_retire_unclaimed(struct state_tx *tx)
{
    uint32_t n = load_relaxed(&tx->d->n_streams), retired = 0; /* only this thread raises it */

    for (uint32_t i = 0; i < n; i++) {
        /* Relaxed: only this thread stores the flag. */
        if (tx->claimed[i] || load_relaxed(&stream_at(tx->base, tx->d, i)->retired))
            continue;
        state_tx_stream_retire(tx, i);
        retired++;
    }
    return retired;
}

void state_tx_book_ident(struct state_tx *tx, struct mdf_book *b)
{
    const struct mdf_stream_entry *e;

    if (b->h.stream >= load_relaxed(&tx->d->n_streams)) /* only this thread raises it */
        return;
    e = stream_at(tx->base, tx->d, b->h.stream);
    b->kind = e->book_kind;
    b->precision = e->precision;
    b->levels_asked = e->levels;
}

/* Finds or creates the series of (sym, iv). Returns its index or a negative error. */
static int64_t series_get(struct state_tx *tx, uint32_t sym, uint32_t iv)
{
    int32_t *slot = &tx->series_idx[(size_t)sym * MDF_IV_COUNT + iv];
    uint32_t n;
    int rc;

    if (*slot >= 0)
        return *slot;
    n = load_relaxed(&tx->d->n_series); /* only this thread raises it */
    if (n >= tx->d->max_series)
        return err_set(-ENOSPC, "candle series table full (%u)", tx->d->max_series);
    /* Backed before its directory entry is written and published (a stream's series is
     * assigned at registration; only a source without a declared interval gets here from
     * state_tx_update, once per series). */
    if ((rc = reserve_entries(tx->seg, tx->d->series_dir_off, sizeof(struct mdf_series_entry), n,
                              1)) < 0 ||
        (rc = reserve_entries(tx->seg, tx->d->series_off, tx->d->series_stride, n, 1)) < 0)
        return rc;
    series_dir(tx->base, tx->d)[n] = (struct mdf_series_entry){.symbol = sym, .interval = iv};
    /* Pairs with the acquire load of n_series in readers: the entry is complete. */
    store_release(&tx->d->n_series, n + 1);
    *slot = (int32_t)n;
    return n;
}

/* Open time of the candle at ordinal (writer side; reads its own stores). */
static int64_t open_time_at(struct mdf_series *ser, const struct mdf_state_desc *d, uint64_t o)
{
    return (int64_t)load_relaxed(
        &candle_slot(ser, d, o)[offsetof(struct mdf_candle, open_time_ns) / 8]);
}

static int put_candle(struct state_tx *tx, const struct mdf_candle *c)
{
    const struct mdf_state_desc *d = tx->d;
    size_t words = sizeof(*c) / 8;
    struct mdf_series *ser;
    uint64_t count, held, pos;
    int64_t idx;

    if (c->interval == 0 || c->interval >= MDF_IV_COUNT)
        return err_set(-EINVAL, "bad candle interval %u", c->interval);
    if ((idx = series_get(tx, c->h.symbol, c->interval)) < 0)
        return (int)idx;
    ser = series_at(tx->base, d, (uint32_t)idx);
    count = load_relaxed(&ser->count); /* only this thread changes it */
    held = count < d->candle_k ? count : d->candle_k;
    /* Where does it go? Usually the newest (update in place) or one past it (append). */
    pos = count;
    while (pos > count - held && open_time_at(ser, d, pos - 1) >= c->open_time_ns)
        pos--;
    if (pos < count && open_time_at(ser, d, pos) == c->open_time_ns) {
        seqlock_write_begin(&ser->seq);
        words_store(candle_slot(ser, d, pos), c, words);
        seqlock_write_end(&ser->seq);
        return 0;
    }
    if (pos == count - held && held == d->candle_k && pos < count)
        return 0; /* older than everything held in a full series: nothing to keep */
    seqlock_write_begin(&ser->seq);
    /* Insert at pos: shift newer candles up by one (rare: backfill after a reconnect). */
    for (uint64_t o = count; o > pos; o--) {
        uint64_t tmp[sizeof(struct mdf_candle) / 8];

        words_load(tmp, candle_slot(ser, d, o - 1), words);
        words_store(candle_slot(ser, d, o), tmp, words);
    }
    words_store(candle_slot(ser, d, pos), c, words);
    store_relaxed(&ser->count, count + 1); /* inside the seqlock */
    seqlock_write_end(&ser->seq);
    return 0;
}

int state_tx_update(struct state_tx *tx, const union mdf_record *rec)
{
    const struct mdf_state_desc *d = tx->d;
    struct mdf_latest *e;
    size_t size;
    int type = rec->h.type;

    if (rec->h.symbol >= load_relaxed(&d->n_symbols)) /* only this thread raises it */
        return err_set(-ENOENT, "unknown symbol id %u", rec->h.symbol);
    if (type == MDF_REC_CANDLE)
        return put_candle(tx, &rec->candle);
    if (type <= 0 || type >= MDF_REC_TYPE_COUNT || !(size = type_size(type, d->book_depth)))
        return err_set(-EINVAL, "record type %d has no latest table", type);
    if (rec->h.stream >= load_relaxed(&d->n_streams)) /* only this thread raises it */
        return err_set(-ENOENT, "unknown stream id %u", rec->h.stream);
    if (stream_at(tx->base, d, rec->h.stream)->symbol != rec->h.symbol)
        return err_set(-EINVAL, "stream %u is not of symbol %u", rec->h.stream, rec->h.symbol);
    if (rec->h.size < size)
        size = rec->h.size;
    e = latest_at(tx->base, d, rec->h.stream, type);
    seqlock_write_begin(&e->seq);
    words_store((atomic_word *)e->data, rec, (size + 7) / 8);
    seqlock_write_end(&e->seq);
    return 0;
}

int state_rx_latest(const void *base, uint32_t sym, int type, void *out, size_t len,
                    uint64_t *retries)
{
    const struct mdf_state_desc *d = state_desc(base);
    uint32_t stream;

    if (sym >= published(&d->n_symbols, d->max_symbols))
        return err_set(-ENOENT, "no symbol id %u", sym);
    if (type <= 0 || type >= MDF_REC_TYPE_COUNT || !type_size(type, d->book_depth))
        return err_set(-EINVAL, "record type %d has no latest table", type);
    /* Pairs with the release store in elect_defaults: the stream it names is published. */
    stream = load_acquire(default_at(base, d, sym, type));
    if (stream == MDF_STREAM_ID_NONE)
        return MDF_ENODATA;
    return state_rx_latest_stream(base, stream, type, out, len, retries);
}

int state_rx_latest_stream(const void *base, uint32_t stream, int type, void *out, size_t len,
                           uint64_t *retries)
{
    const struct mdf_state_desc *d = state_desc(base);
    const struct mdf_latest *e;
    int64_t deadline = 0;
    size_t cap;

    if (stream >= published(&d->n_streams, d->max_streams))
        return err_set(-ENOENT, "no stream id %u", stream);
    if (type <= 0 || type >= MDF_REC_TYPE_COUNT || !(cap = type_size(type, d->book_depth)))
        return err_set(-EINVAL, "record type %d has no latest table", type);
    if (len < cap)
        return err_set(-EINVAL, "buffer of %zu bytes, need %zu", len, cap);
    e = latest_at(base, d, stream, type);
    for (int i = 0; seqlock_backoff(i, &deadline); i++) {
        uint64_t s = seqlock_read_begin(&e->seq);

        if (!(s & 1)) {
            words_load(out, (const atomic_word *)e->data, cap / 8);
            if (seqlock_read_validate(&e->seq, s)) {
                if (((const struct mdf_rec_hdr *)out)->type != type)
                    return MDF_ENODATA;
                return 0;
            }
        }
        if (retries)
            (*retries)++;
    }
    return err_set(MDF_ECONTENDED, "latest %d of stream %u kept changing", type, stream);
}

/* Finds the series index of (sym, iv) or -1. */
static int64_t series_find(const void *base, const struct mdf_state_desc *d, uint32_t sym,
                           uint32_t iv)
{
    uint32_t n = published(&d->n_series, d->max_series);
    const struct mdf_series_entry *dir = series_dir(base, d);

    for (uint32_t i = 0; i < n; i++)
        if (dir[i].symbol == sym && dir[i].interval == iv)
            return i;
    return -1;
}

int state_rx_candles(const void *base, uint32_t sym, int interval, bool last, size_t k,
                     int64_t from, int64_t to, struct mdf_candle *out, uint64_t *retries)
{
    const struct mdf_state_desc *d = state_desc(base);
    size_t words = sizeof(struct mdf_candle) / 8;
    struct mdf_series *ser;
    int64_t idx, deadline = 0;

    if (sym >= published(&d->n_symbols, d->max_symbols))
        return err_set(-ENOENT, "no symbol id %u", sym);
    if (interval <= 0 || interval >= MDF_IV_COUNT)
        return err_set(-EINVAL, "bad interval %d", interval);
    if ((idx = series_find(base, d, sym, (uint32_t)interval)) < 0)
        return MDF_ENODATA;
    ser = series_at(base, d, (uint32_t)idx);
    for (int i = 0; seqlock_backoff(i, &deadline); i++) {
        uint64_t s = seqlock_read_begin(&ser->seq), count, held, first, n = 0;

        if (!(s & 1)) {
            count = load_relaxed(&ser->count);
            held = count < d->candle_k ? count : d->candle_k;
            if (last) {
                n = k < held ? k : held;
                first = count - n;
                for (uint64_t o = first; o < count; o++)
                    words_load(&out[o - first], candle_slot(ser, d, o), words);
            } else {
                for (uint64_t o = count - held; o < count && n < k; o++) {
                    int64_t t = (int64_t)load_relaxed(
                        &candle_slot(ser, d, o)[offsetof(struct mdf_candle, open_time_ns) / 8]);

                    if (t >= from && t < to)
                        words_load(&out[n++], candle_slot(ser, d, o), words);
                }
            }
            if (seqlock_read_validate(&ser->seq, s))
                return count ? (int)n : MDF_ENODATA; /* assigned, nothing yet */
        }
        if (retries)
            (*retries)++;
    }
    return err_set(MDF_ECONTENDED, "candles of symbol %u kept changing", sym);
}

const char *state_rx_venue_name(const void *base, uint32_t id)
{
    const struct mdf_state_desc *d = state_desc(base);

    const char *name;

    if (id >= published(&d->n_venues, d->max_venues))
        return NULL;
    name = ((const struct mdf_venue_entry *)((const uint8_t *)base + d->venues_off))[id].name;
    /* A name without its NUL (a corrupt segment) is no name. */
    return memchr(name, '\0', MDF_NAME_MAX) ? name : NULL;
}

int64_t state_rx_lookup(const void *base, const char *key)
{
    const struct mdf_state_desc *d = state_desc(base);
    const struct mdf_symbol_entry *e =
        (const struct mdf_symbol_entry *)((const uint8_t *)base + d->symbols_off);
    const char *colon = key ? strchr(key, ':') : NULL;
    size_t vlen;
    uint32_t n;
    int64_t venue = -1;

    if (!colon)
        return err_set(-EINVAL, "symbol key \"%s\" is not venue:SYMBOL", key ? key : "");
    vlen = (size_t)(colon - key);
    n = published(&d->n_venues, d->max_venues);
    for (uint32_t i = 0; i < n; i++) {
        const char *name =
            ((const struct mdf_venue_entry *)((const uint8_t *)base + d->venues_off))[i].name;

        if (strnlen(name, MDF_NAME_MAX) == vlen && memcmp(name, key, vlen) == 0)
            venue = i;
    }
    if (venue < 0)
        return err_set(-ENOENT, "no venue \"%.*s\"", (int)vlen, key);
    n = published(&d->n_symbols, d->max_symbols);
    for (uint32_t i = 0; i < n; i++)
        if (e[i].venue == venue &&
            (strcasecmp(e[i].native, colon + 1) == 0 ||
             (e[i].normalized[0] && strcmp(e[i].normalized, colon + 1) == 0)))
            return i;
    return err_set(-ENOENT, "no symbol \"%s\"", key);
}

int state_rx_symbol(const void *base, uint32_t id, struct mdf_symbol_entry *out)
{
    const struct mdf_state_desc *d = state_desc(base);

    if (id >= published(&d->n_symbols, d->max_symbols))
        return err_set(-ENOENT, "no symbol id %u", id);
    memcpy(out, (const uint8_t *)base + d->symbols_off + (size_t)id * sizeof(*out), sizeof(*out));
    return 0;
}

int state_rx_stream(const void *base, uint32_t id, struct mdf_stream_entry *out)
{
    const struct mdf_state_desc *d = state_desc(base);
    const struct mdf_stream_entry *e;
    size_t at = offsetof(struct mdf_stream_entry, retired), after = at + sizeof(out->retired);

    if (id >= published(&d->n_streams, d->max_streams))
        return err_set(-ENOENT, "no stream id %u", id);
    e = stream_at(base, d, id);
    /* Everything but `retired` is fixed once published; that one word is loaded atomically. */
    memcpy(out, e, at);
    /* Relaxed: a status flag, no data is read on its word. */
    store_relaxed(&out->retired, load_relaxed((atomic_uint *)&e->retired));
    memcpy((uint8_t *)out + after, (const uint8_t *)e + after, sizeof(*out) - after);
    return 0;
}

int64_t state_rx_stream_find(const void *base, const char *symbol_key, const char *kind)
{
    const struct mdf_state_desc *d = state_desc(base);
    int64_t sym = state_rx_lookup(base, symbol_key), best = -1;
    uint64_t best_rank = 0;
    size_t kl = kind ? strlen(kind) : 0;
    uint32_t n;

    if (sym < 0)
        return sym;
    if (!kl)
        return err_set(-EINVAL, "empty stream kind");
    n = published(&d->n_streams, d->max_streams);
    for (uint32_t i = 0; i < n; i++) {
        const struct mdf_stream_entry *e = stream_at(base, d, i);
        uint64_t r;

        /* Relaxed: a status flag, no data is read on its word. */
        if (e->symbol != (uint32_t)sym || load_relaxed((atomic_uint *)&e->retired))
            continue;
        r = 1 + stream_rank(e, e->type);
        if (strcasecmp(e->key, kind) == 0 || strcmp(e->kind, kind) == 0)
            return i;
        if (kl < sizeof(e->kind) && strncmp(e->kind, kind, kl) == 0 &&
            (e->kind[kl] == '@' || e->kind[kl] == ':') && r > best_rank) {
            best_rank = r;
            best = i;
        }
    }
    if (best < 0)
        return err_set(-ENOENT, "no stream \"%s\" of %s", kind, symbol_key);
    return best;
}
