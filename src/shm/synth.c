/*
 * Synthetic record generator. Every value is a hash of (index, field), so a reader can check a
 * record without knowing what the writer did; the checksum lives in h._r and the ids, and covers
 * every other word, so a record mixed from two publishes fails the check.
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "shm/synth.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* A positive mantissa from (i, field), small enough to look like a price. */
static struct mdf_dec dec(uint64_t i, uint64_t field)
{
    return (struct mdf_dec){.m = (int64_t)(mix(i * 131 + field) % 100000000) + 1, .e = -4};
}

/* Checksum over every word of the record except the checksum word itself (h.venue_seq) and the
 * ring sequence (h.seq), which the ring sets on publish. */
static uint64_t sum_words(const union mdf_record *r)
{
    const uint64_t *w = (const uint64_t *)r;
    size_t n = r->h.size / 8;
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t k = 0; k < n; k++) {
        if (k == offsetof(struct mdf_rec_hdr, venue_seq) / 8 ||
            k == offsetof(struct mdf_rec_hdr, seq) / 8)
            continue;
        h = mix(h ^ w[k]) + k;
    }
    return h;
}

void synth_record(union mdf_record *out, int type, uint64_t i, uint32_t venue, uint32_t sym,
                  uint32_t depth)
{
    struct mdf_rec_hdr *h = &out->h;
    size_t size;

    if (type <= MDF_REC_NONE || type >= MDF_REC_TYPE_COUNT)
        type = MDF_REC_EVENT;
    size = mdf_rec_type_size(type, depth);
    memset(out, 0, size);
    h->type = (uint16_t)type;
    h->size = (uint16_t)size;
    h->venue = (uint16_t)venue;
    h->symbol = sym;
    h->exch_time_ns = (int64_t)(UINT64_C(1700000000000000000) + i * 1000);
    h->tx_time_ns = h->exch_time_ns;
    h->recv_time_ns = (int64_t)(mix(i) & 0x7fffffffffffffff);
    h->stream = sym; /* synth_run registers stream s for symbol s */
    switch (type) {
    case MDF_REC_TRADE:
        out->trade.price = dec(i, 1);
        out->trade.qty = dec(i, 2);
        out->trade.trade_id = (int64_t)i;
        out->trade.first_id = (int64_t)(i >> 32);
        out->trade.last_id = (int64_t)i;
        out->trade.side = (uint8_t)(1 + (i & 1));
        break;
    case MDF_REC_BBO:
        out->bbo.bid_px = dec(i, 1);
        out->bbo.bid_qty = dec(i, 2);
        out->bbo.ask_px = dec(i, 3);
        out->bbo.ask_qty = dec(i, 4);
        out->bbo.update_id = (int64_t)i;
        break;
    case MDF_REC_TICKER:
        out->ticker.last_px = dec(i, 1);
        out->ticker.volume = dec(i, 2);
        out->ticker.count = (int64_t)i;
        break;
    case MDF_REC_LIQUIDATION:
        out->liquidation.price = dec(i, 1);
        out->liquidation.qty = dec(i, 2);
        out->liquidation.side = MDF_SIDE_SELL;
        snprintf(out->liquidation.status, sizeof(out->liquidation.status), "FILLED");
        break;
    case MDF_REC_CANDLE:
        out->candle.interval = MDF_IV_1M;
        out->candle.open_time_ns = (int64_t)(i * UINT64_C(60000000000));
        out->candle.close_time_ns = out->candle.open_time_ns + INT64_C(59999000000);
        out->candle.open = dec(i, 1);
        out->candle.high = dec(i, 2);
        out->candle.low = dec(i, 3);
        out->candle.close = dec(i, 4);
        out->candle.volume = dec(i, 5);
        out->candle.trades = (int64_t)i;
        h->flags = MDF_CANDLE_F_CLOSED;
        break;
    case MDF_REC_BOOK:
        out->book.state = MDF_BOOK_LIVE;
        out->book.depth = (uint16_t)depth;
        out->book.n_bids = (uint16_t)depth;
        out->book.n_asks = (uint16_t)depth;
        out->book.generation = i;
        out->book.first_update_id = (int64_t)i;
        out->book.last_update_id = (int64_t)i;
        for (uint32_t k = 0; k < 2 * depth; k++) {
            out->book.levels[k].px = dec(i, 100 + k);
            out->book.levels[k].qty = dec(i, 1000 + k);
        }
        break;
    case MDF_REC_FUNDING:
        out->funding.mark_px = dec(i, 1);
        out->funding.index_px = dec(i, 2);
        out->funding.funding_rate = (struct mdf_dec){.m = (int64_t)(i % 1000), .e = -6};
        out->funding.next_funding_time_ns = (int64_t)i;
        break;
    case MDF_REC_EVENT:
        out->event.level = 6;
        out->event.code = MDF_EV_FEED_STARTED;
        snprintf(out->event.text, sizeof(out->event.text), "synthetic event %llu",
                 (unsigned long long)i);
        break;
    }
    h->venue_seq = sum_words(out);
}

bool synth_check(const union mdf_record *rec)
{
    if (rec->h.size < sizeof(struct mdf_rec_hdr) || rec->h.size > sizeof(*rec) || rec->h.size % 8)
        return false;
    return rec->h.venue_seq == sum_words(rec);
}

uint64_t synth_index(const union mdf_record *rec)
{
    /* exch_time holds it. */
    return (uint64_t)(rec->h.exch_time_ns - INT64_C(1700000000000000000)) / 1000;
}

uint64_t synth_run(struct publisher *p, const struct synth_opts *o, volatile int *stop)
{
    union mdf_record rec;
    uint32_t nsym = o->n_symbols ? o->n_symbols : 1, depth = p->st.d->book_depth;
    int venue = state_tx_venue(&p->st, "synth");
    int64_t t0 = clock_mono_ns(), next_hb = t0;
    uint64_t i = 0;
    int ntypes = 0;
    bool o_latest = o->update_latest;

    while (ntypes < 8 && o->types[ntypes])
        ntypes++;
    if (venue < 0 || ntypes == 0)
        return 0;
    for (uint32_t s = 0; s < nsym; s++) {
        struct mdf_stream_entry e = {.venue = (uint16_t)venue};
        int64_t sym;

        snprintf(e.key, sizeof(e.key), "SYNTH%u", s);
        sym = state_tx_symbol(&p->st, (uint16_t)venue, e.key, NULL);
        /* One mixed stream per symbol, of the same id, as synth_record assumes. */
        e.symbol = (uint32_t)sym;
        if (sym >= 0 && state_tx_stream(&p->st, &e) != sym)
            o_latest = false;
    }
    for (; (!o->count || i < o->count) && !(stop && *stop); i++) {
        int type = o->types[i % (uint64_t)ntypes];

        synth_record(&rec, type, i, (uint32_t)venue, (uint32_t)(i % nsym), depth);
        if (o_latest)
            state_tx_update(&p->st, &rec);
        pub_publish(p, mdf_rec_type_ring(type), &rec);
        if ((i & 255) == 0 || o->rate > 0) {
            int64_t now = clock_mono_ns();

            if (now >= next_hb) {
                pub_heartbeat(p, now);
                next_hb = now + (o->hb_every_ns > 0 ? o->hb_every_ns : 50000000);
            }
            if (o->rate > 0) {
                int64_t due = t0 + (int64_t)((double)(i + 1) * 1e9 / o->rate);

                if (due > now)
                    clock_sleep_ns(due - now);
            }
        }
    }
    pub_heartbeat(p, clock_mono_ns());
    return i;
}
