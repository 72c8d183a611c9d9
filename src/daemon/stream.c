/*
 * The stream-name map (see stream.h): FNV-1a hashes, linear probing at most half full; and a
 * stream's entry in the state segment's stream table, which says what it publishes.
 */
#include "daemon/stream.h"

#include "core/hash.h"
#include "daemon/adapter.h"
#include "daemon/feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stream_shm_entry(const struct dstream *s, uint16_t venue, struct mdf_stream_entry *e)
{
    /* What each stream type publishes, and its flags. */
    static const struct {
        uint8_t type;   /* enum mdf_rec_type */
        uint8_t book;   /* enum mdf_book_kind */
        uint32_t flags; /* MDF_STREAM_F_* */
    } by_type[VS_COUNT] = {
        [VS_TRADE] = {MDF_REC_TRADE, 0, 0},
        [VS_AGGTRADE] = {MDF_REC_TRADE, 0, MDF_STREAM_F_AGGREGATE},
        [VS_KLINE] = {MDF_REC_CANDLE, 0, 0},
        [VS_DEPTH] = {MDF_REC_BOOK, MDF_BOOK_KIND_PARTIAL, 0},
        [VS_DIFF] = {MDF_REC_BOOK, MDF_BOOK_KIND_FULL, 0},
        [VS_BOOKTICKER] = {MDF_REC_BBO, 0, 0},
        [VS_TICKER] = {MDF_REC_TICKER, 0, 0},
        [VS_MINITICKER] = {MDF_REC_TICKER, 0, MDF_STREAM_F_MINI},
        [VS_MARKPRICE] = {MDF_REC_FUNDING, 0, 0},
        [VS_FORCEORDER] = {MDF_REC_LIQUIDATION, 0, 0},
    };
    uint8_t t = s->spec.type < VS_COUNT ? s->spec.type : VS_NONE;

    memset(e, 0, sizeof(*e));
    e->symbol = s->symbol;
    e->venue = venue;
    e->type = by_type[t].type;
    e->book_kind = by_type[t].book;
    e->flags = by_type[t].flags;
    e->types = 1u << e->type;
    e->types |= s->f->ad->extra_types(s); /* a venue's channel may give more than one type */
    if (t == VS_KLINE)
        e->interval = s->spec.interval;
    if (e->book_kind) {
        e->precision = s->spec.prec;
        /* Binance diff books ask for no length (levels 0 = the whole book); the config spells
         * a Bitfinex book's default length out. */
        e->levels = s->spec.levels;
    }
    snprintf(e->key, sizeof(e->key), "%.*s", (int)(sizeof(e->key) - 1), s->name);
}

uint64_t stream_hash(const char *name, size_t len)
{
    return fnv1a64(FNV1A64_INIT, name, len);
}

int stream_map_build(struct stream_map *m, struct dstream *const *streams, size_t n)
{
    size_t cap = 16;
    struct dstream **slot;

    while (cap < 2 * n)
        cap *= 2;
    slot = calloc(cap, sizeof(*slot));
    if (!slot)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++) {
        struct dstream *s = streams[k];
        size_t i;

        if (s->removed)
            continue;
        for (i = s->hash & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
            ;
        slot[i] = s;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

void stream_map_free(struct stream_map *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = 0;
}
