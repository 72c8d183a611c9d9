/*
 * Fuzzes the Bybit book rule (bybit_book_*) with message sequences derived from the fuzz bytes:
 * snapshots and deltas with update ids that continue, repeat, skip or restart at 1, and
 * interruptions. Levels keep the decoder's guarantees (price > 0, size >= 0). After every step
 * the record must fit its depth with strictly sorted sides, the generation never goes back, and
 * a LIVE book's update id is the last one applied.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/bybit_book.h"
#include "fuzz.h"

#define DEPTH 10
#define MAX_LV 60

/* Reads n levels. */
static void read_levels(struct fz *f, struct vlevel *lv, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b = fz_u8(f);
        lv[i].px = (struct mdf_dec){.m = 1 + fz_u16(f) % 300, .e = -(int32_t)(b & 3)};
        lv[i].qty = (struct mdf_dec){.m = (b & 4) ? 0 : 1 + fz_u8(f), .e = -(int32_t)(b >> 6)};
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t depths[] = {1, 50, 200, 1000};
    static struct vlevel bids[MAX_LV], asks[MAX_LV];
    struct fz f = {data, size};
    struct bybit_book b;
    struct bybit_msg m;
    struct mdf_book *rec = malloc(MDF_BOOK_SIZE(DEPTH));
    uint64_t gen = 0;
    int64_t u = 1;

    FZ_CHECK(rec != NULL);
    FZ_CHECK(bybit_book_init(&b, depths[fz_u8(&f) & 3]) == 0);
    for (int ops = 0; f.n > 0 && ops < 2000; ops++) {
        uint8_t op = fz_u8(&f);
        int r;

        if (op % 8 == 7) {
            bybit_book_interrupt(&b);
            continue;
        }
        memset(&m, 0, sizeof(m));
        m.kind = BYB_BOOK;
        m.snapshot = op % 8 < 2;
        switch ((op >> 3) & 3) {
        case 0:
        case 1:
            u++;
            break;
        case 2:
            u += fz_u8(&f) % 4; /* repeat or skip */
            break;
        default:
            u = (op & 0x80) ? 1 : u - fz_u8(&f) % 3;
            break;
        }
        if (u < 1)
            u = 1;
        m.update_id = u;
        m.seq = u * 3;
        m.ts_ns = ops;
        m.n_bids = fz_u8(&f) % (MAX_LV + 1);
        m.n_asks = fz_u8(&f) % (MAX_LV + 1);
        read_levels(&f, bids, m.n_bids);
        read_levels(&f, asks, m.n_asks);
        m.bids = bids;
        m.asks = asks;
        r = bybit_book_apply(&b, &m, ops);
        FZ_CHECK(r == BYBK_NOTHING || r == BYBK_APPLIED || r == BYBK_RESYNC);
        if (r == BYBK_APPLIED)
            FZ_CHECK(b.state == MDF_BOOK_LIVE && b.update_id == u);
        if (r == BYBK_RESYNC)
            FZ_CHECK(b.state == MDF_BOOK_RESYNCING && b.book.side[0].n == 0);
        FZ_CHECK(b.generation >= gen);
        gen = b.generation;
        bybit_book_record(&b, rec, DEPTH);
        FZ_CHECK(rec->n_bids <= DEPTH && rec->n_asks <= DEPTH);
        for (int i = 1; i < rec->n_bids; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[i - 1].px, rec->levels[i].px) > 0);
        for (int i = 1; i < rec->n_asks; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[DEPTH + i - 1].px, rec->levels[DEPTH + i].px) < 0);
        FZ_CHECK(b.book.side[0].n <= b.depth && b.book.side[1].n <= b.depth);
    }
    bybit_book_fini(&b);
    free(rec);
    return 0;
}
