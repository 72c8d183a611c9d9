/*
 * Fuzzes the OKX book rule (okx_book_*) with message sequences derived from the fuzz bytes:
 * snapshots and updates whose prevSeqId continues or breaks the chain, keepalives, checksums
 * (none, the book's own, a wrong one) and interruptions. Properties: the book's own checksum
 * always verifies (a keepalive carrying it changes nothing), a wrong one always resyncs, a
 * broken chain always resyncs, sides stay sorted within the depth, the generation never goes
 * back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/okx_book.h"
#include "fuzz.h"

#define DEPTH 10
#define MAX_LV 40

/* Reads n levels (prices with trailing zeros too: the checksum text keeps them). */
static void read_levels(struct fz *f, struct vlevel *lv, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b = fz_u8(f);
        lv[i].px = (struct mdf_dec){.m = 1 + fz_u16(f) % 2000, .e = -(int32_t)(b & 3)};
        lv[i].qty = (struct mdf_dec){.m = (b & 4) ? 0 : 1 + fz_u8(f), .e = -(int32_t)(b >> 6)};
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vlevel bids[MAX_LV], asks[MAX_LV];
    struct fz f = {data, size};
    struct okx_book b;
    struct okx_msg m;
    struct mdf_book *rec = malloc(MDF_BOOK_SIZE(DEPTH));
    uint64_t gen = 0;
    int64_t seq = 100;

    FZ_CHECK(rec != NULL);
    FZ_CHECK(okx_book_init(&b, 1 + fz_u8(&f) % 64) == 0);
    for (int ops = 0; f.n > 0 && ops < 1000; ops++) {
        uint8_t op = fz_u8(&f);
        bool live = b.state == MDF_BOOK_LIVE, chain;
        int r;

        if (op % 8 == 7) {
            okx_book_interrupt(&b);
            continue;
        }
        memset(&m, 0, sizeof(m));
        m.kind = OKX_BOOK;
        m.snapshot = op % 8 == 0;
        m.have_seq = true;
        m.prev_seq_id = m.snapshot ? -1 : (op & 0x40) ? seq + 1 : seq;
        m.seq_id = seq + 1 + fz_u8(&f) % 50;
        chain = m.prev_seq_id == b.seq_id || !b.have_seq;
        m.ts_ns = ops;
        if (op % 8 == 6) { /* keepalive carrying the book's own checksum, or a wrong one */
            m.prev_seq_id = m.seq_id = b.seq_id;
            m.checksum = okx_book_checksum(&b);
            if (op & 0x80) {
                m.checksum = (int32_t)((uint32_t)m.checksum + 1u);
                if (m.checksum == 0)
                    m.checksum = 2;
            }
            r = okx_book_apply(&b, &m, ops);
            if (live && m.checksum == okx_book_checksum(&b))
                FZ_CHECK(r == OKBK_NOTHING);
            else if (live && m.checksum != 0)
                FZ_CHECK(r == OKBK_RESYNC);
        } else {
            m.n_bids = fz_u8(&f) % (MAX_LV + 1);
            m.n_asks = fz_u8(&f) % (MAX_LV + 1);
            read_levels(&f, bids, m.n_bids);
            read_levels(&f, asks, m.n_asks);
            m.bids = bids;
            m.asks = asks;
            m.checksum = (op & 0x20) ? (int32_t)fz_u32(&f) : 0;
            r = okx_book_apply(&b, &m, ops);
            if (live && !m.snapshot && !chain)
                FZ_CHECK(r == OKBK_RESYNC);
            if (r == OKBK_APPLIED && m.checksum != 0)
                FZ_CHECK(okx_book_checksum(&b) == m.checksum);
        }
        FZ_CHECK(r == OKBK_NOTHING || r == OKBK_APPLIED || r == OKBK_RESYNC);
        if (r == OKBK_RESYNC)
            FZ_CHECK(b.state == MDF_BOOK_RESYNCING);
        if (b.state == MDF_BOOK_LIVE || r == OKBK_APPLIED)
            seq = b.seq_id;
        FZ_CHECK(b.generation >= gen);
        gen = b.generation;
        okx_book_record(&b, rec, DEPTH);
        FZ_CHECK(rec->n_bids <= DEPTH && rec->n_asks <= DEPTH);
        for (int i = 1; i < rec->n_bids; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[i - 1].px, rec->levels[i].px) > 0);
        for (int i = 1; i < rec->n_asks; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[DEPTH + i - 1].px, rec->levels[DEPTH + i].px) < 0);
    }
    okx_book_fini(&b);
    free(rec);
    return 0;
}
