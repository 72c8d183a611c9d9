/*
 * Fuzzes the Binance book rules (bsync_*) with message sequences derived from the fuzz bytes:
 * diffs whose ids move by small steps from the last ones (so chains, gaps, overlaps and stale
 * events all happen), snapshots, interruptions, chain probes and records. Levels keep the
 * decoder's guarantees (price > 0, quantity >= 0). After every step the book's record must fit
 * its depth, with bids strictly descending and asks strictly ascending (a crossed book is the
 * venue's business, so the two sides are not compared).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/book.h"
#include "fuzz.h"
#include "venue/venue.h"

#define MAX_LEVELS 64
#define DEPTH 10
#define LV_MAX 32

/* Reads up to LV_MAX levels into lv; returns their count. */
static uint32_t read_levels(struct fz *f, struct vlevel *lv)
{
    uint32_t n = fz_u8(f) % (LV_MAX + 1);

    for (uint32_t i = 0; i < n; i++) {
        uint8_t e = fz_u8(f);

        lv[i].px = (struct mdf_dec){.m = 1 + fz_u8(f) % 40, .e = -(int32_t)(e & 3)};
        lv[i].qty = (struct mdf_dec){.m = (e & 4) ? 0 : fz_u8(f), .e = -(int32_t)((e >> 3) & 7)};
    }
    return n;
}

/* A signed step of -4..11 for ids. */
static int64_t step(struct fz *f)
{
    return (int64_t)(fz_u8(f) & 15) - 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vlevel bids[LV_MAX], asks[LV_MAX];
    struct fz f = {data, size};
    struct bsync s;
    struct mdf_book *rec = malloc(MDF_BOOK_SIZE(DEPTH));
    int64_t id = 1000;
    int rule = fz_u8(&f) & 1;

    FZ_CHECK(rec != NULL);
    FZ_CHECK(bsync_init(&s, rule ? BSYNC_BINANCE_FUTURES : BSYNC_BINANCE_SPOT, MAX_LEVELS,
                        1 + fz_u8(&f) % 16, 1 + fz_u8(&f) % 128) == 0);
    for (int ops = 0; f.n > 0 && ops < 2000; ops++) {
        uint8_t op = fz_u8(&f);
        int r;

        switch (op % 8) {
        case 0:
        case 1:
        case 2:
        case 3: {
            struct bsync_diff d = {0};

            d.first_id = id + step(&f);
            d.last_id = d.first_id + (fz_u8(&f) & 7);
            d.prev_id = rule ? id + step(&f) : -1;
            id = d.last_id + 1;
            d.exch_time_ns = d.tx_time_ns = d.recv_time_ns = (int64_t)ops * 1000;
            d.n_bids = read_levels(&f, bids);
            d.bids = bids;
            d.n_asks = read_levels(&f, asks);
            d.asks = asks;
            (void)bsync_would_chain(&s, &d);
            r = bsync_diff(&s, &d);
            FZ_CHECK(r >= BS_NOTHING && r <= BS_RESYNC);
            break;
        }
        case 4:
        case 5: {
            struct vmsg m;

            memset(&m, 0, sizeof(m));
            m.kind = VM_PARTIAL;
            m.last_id = id + step(&f) * 2;
            m.first_id = 0;
            m.prev_id = -1;
            m.exch_time_ns = (int64_t)ops * 1000;
            m.rec.h.recv_time_ns = m.exch_time_ns;
            m.n_bids = read_levels(&f, bids);
            m.bids = bids;
            m.n_asks = read_levels(&f, asks);
            m.asks = asks;
            r = bsync_snapshot(&s, &m);
            FZ_CHECK(r >= BS_NOTHING && r <= BS_RESYNC);
            break;
        }
        case 6:
            bsync_interrupt(&s);
            break;
        case 7:
            id += step(&f) * 64;
            break;
        }
        bsync_record(&s, rec, DEPTH);
        FZ_CHECK(rec->n_bids <= DEPTH && rec->n_asks <= DEPTH);
        for (uint32_t i = 1; i < rec->n_bids; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[i - 1].px, rec->levels[i].px) > 0);
        for (uint32_t i = 1; i < rec->n_asks; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[DEPTH + i - 1].px, rec->levels[DEPTH + i].px) < 0);
    }
    bsync_fini(&s);
    free(rec);
    return 0;
}
