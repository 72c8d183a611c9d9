/*
 * Latest-state tables in the state segment. Layout (offsets in struct mdf_state_desc): venue
 * table, symbol table, one block per symbol holding a seqlocked struct mdf_latest per kept record
 * type, the candle series directory and the series blocks. Entries are published by count:
 * the writer fills an entry, then raises n_venues / n_symbols / n_series with release, so a
 * reader that sees the count sees the entry. The writer keeps a private (symbol, interval) ->
 * series index so a candle update is O(1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
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

int state_check_params(const struct state_params *p)
{
    if (p->max_venues < 1 || p->max_venues > 65535)
        return err_set(-EINVAL, "max_venues must be 1..65535, not %u", p->max_venues);
    if (p->max_symbols < 1 || p->max_symbols > 1000000)
        return err_set(-EINVAL, "max_symbols must be 1..1000000, not %u", p->max_symbols);
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
    d->latest_off = off;
    off = ALIGN64(off + (size_t)p->max_symbols * d->latest_stride);
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
    /* The segment is zero-filled and invisible until its version is stored (release). */
    layout(desc_rw(base), p);
}

bool state_same_geometry(const void *base, const struct state_params *p)
{
    struct mdf_state_desc want;
    const struct mdf_state_desc *have = state_desc(base);

    layout(&want, p);
    return memcmp(&want, have, offsetof(struct mdf_state_desc, _pad0)) == 0;
}

static struct mdf_latest *latest_at(const void *base, const struct mdf_state_desc *d, uint32_t sym,
                                    int type)
{
    return (struct mdf_latest *)((uint8_t *)base + d->latest_off + (size_t)sym * d->latest_stride +
                                 d->lt_off[type]);
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

void state_repair(void *base)
{
    struct mdf_state_desc *d = desc_rw(base);
    /* The dead writer is gone; only readers race with us and they only read. */
    uint32_t nsym = load_acquire(&d->n_symbols), nser = load_acquire(&d->n_series);

    for (uint32_t s = 0; s < nsym; s++) {
        for (size_t i = 0; i < sizeof(kept_types) / sizeof(kept_types[0]); i++) {
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
            } else if (t == MDF_REC_BOOK && load_relaxed(&data[0]) != 0) {
                struct mdf_book b;

                /* Its diffs stopped with the old daemon: say so until resynced. */
                seqlock_write_begin(&e->seq);
                words_load(&b, data, sizeof(b) / 8);
                b.state = MDF_BOOK_STALE;
                words_store(data, &b, sizeof(b) / 8);
                seqlock_write_end(&e->seq);
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

int state_tx_init(struct state_tx *tx, void *base)
{
    struct mdf_state_desc *d = desc_rw(base);
    size_t n = (size_t)d->max_symbols * MDF_IV_COUNT;
    uint32_t nser;

    tx->base = base;
    tx->d = d;
    tx->series_idx = malloc(n * sizeof(int32_t));
    if (!tx->series_idx)
        return err_set(-ENOMEM, "out of memory for the candle series index");
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
    tx->series_idx = NULL;
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
    e[n].id = n;
    e[n].venue = venue;
    snprintf(e[n].native, sizeof(e[n].native), "%s", native);
    snprintf(e[n].normalized, sizeof(e[n].normalized), "%s", normalized ? normalized : "");
    /* Pairs with the acquire load of n_symbols in readers: the entry is complete. */
    store_release(&tx->d->n_symbols, n + 1);
    return n;
}

/* Finds or creates the series of (sym, iv). Returns its index or a negative error. */
static int64_t series_get(struct state_tx *tx, uint32_t sym, uint32_t iv)
{
    int32_t *slot = &tx->series_idx[(size_t)sym * MDF_IV_COUNT + iv];
    uint32_t n;

    if (*slot >= 0)
        return *slot;
    n = load_relaxed(&tx->d->n_series); /* only this thread raises it */
    if (n >= tx->d->max_series)
        return err_set(-ENOSPC, "candle series table full (%u)", tx->d->max_series);
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

    if (rec->h.symbol >= load_relaxed(&d->n_symbols))
        return err_set(-ENOENT, "unknown symbol id %u", rec->h.symbol);
    if (type == MDF_REC_CANDLE)
        return put_candle(tx, &rec->candle);
    if (type <= 0 || type >= MDF_REC_TYPE_COUNT || !(size = type_size(type, d->book_depth)))
        return err_set(-EINVAL, "record type %d has no latest table", type);
    if (rec->h.size < size)
        size = rec->h.size;
    e = latest_at(tx->base, d, rec->h.symbol, type);
    seqlock_write_begin(&e->seq);
    words_store((atomic_word *)e->data, rec, (size + 7) / 8);
    seqlock_write_end(&e->seq);
    return 0;
}

int state_rx_latest(const void *base, uint32_t sym, int type, void *out, size_t len,
                    uint64_t *retries)
{
    const struct mdf_state_desc *d = state_desc(base);
    const struct mdf_latest *e;
    int64_t deadline = 0;
    size_t cap;

    if (sym >= load_acquire((atomic_uint *)&d->n_symbols)) /* pairs with state_tx_symbol */
        return err_set(-ENOENT, "no symbol id %u", sym);
    if (type <= 0 || type >= MDF_REC_TYPE_COUNT || !(cap = type_size(type, d->book_depth)))
        return err_set(-EINVAL, "record type %d has no latest table", type);
    if (len < cap)
        return err_set(-EINVAL, "buffer of %zu bytes, need %zu", len, cap);
    e = latest_at(base, d, sym, type);
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
    return err_set(MDF_ECONTENDED, "latest %d of symbol %u kept changing", type, sym);
}

/* Finds the series index of (sym, iv) or -1. */
static int64_t series_find(const void *base, const struct mdf_state_desc *d, uint32_t sym,
                           uint32_t iv)
{
    /* Pairs with the release store in series_get: entries below the count are complete. */
    uint32_t n = load_acquire((atomic_uint *)&d->n_series);
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

    if (sym >= load_acquire((atomic_uint *)&d->n_symbols)) /* pairs with state_tx_symbol */
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
                return (int)n;
        }
        if (retries)
            (*retries)++;
    }
    return err_set(MDF_ECONTENDED, "candles of symbol %u kept changing", sym);
}

const char *state_rx_venue_name(const void *base, uint32_t id)
{
    const struct mdf_state_desc *d = state_desc(base);

    /* Pairs with the release store in state_tx_venue. */
    if (id >= load_acquire((atomic_uint *)&d->n_venues))
        return NULL;
    return ((const struct mdf_venue_entry *)((const uint8_t *)base + d->venues_off))[id].name;
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
    /* Pairs with the release store in state_tx_venue. */
    n = load_acquire((atomic_uint *)&d->n_venues);
    for (uint32_t i = 0; i < n; i++) {
        const char *name =
            ((const struct mdf_venue_entry *)((const uint8_t *)base + d->venues_off))[i].name;

        if (strlen(name) == vlen && memcmp(name, key, vlen) == 0)
            venue = i;
    }
    if (venue < 0)
        return err_set(-ENOENT, "no venue \"%.*s\"", (int)vlen, key);
    /* Pairs with the release store in state_tx_symbol. */
    n = load_acquire((atomic_uint *)&d->n_symbols);
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

    /* Pairs with the release store in state_tx_symbol. */
    if (id >= load_acquire((atomic_uint *)&d->n_symbols))
        return err_set(-ENOENT, "no symbol id %u", id);
    memcpy(out, (const uint8_t *)base + d->symbols_off + (size_t)id * sizeof(*out), sizeof(*out));
    return 0;
}
