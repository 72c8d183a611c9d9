/*
 * Fuzzes the Bitfinex book (bfx_book_*) with message sequences derived from the fuzz bytes:
 * snapshots, single-level updates (set or remove), checksum checks against the book's own
 * checksum or a wrong one, handovers, resyncs, interruptions and records. Levels keep the
 * decoder's guarantees (price > 0; amount > 0 for a bid, < 0 for an ask; count 0 removes with
 * amount 1 or -1). After every step the record must fit its depth with sorted sides.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/bfx_book.h"
#include "fuzz.h"
#include "venue/bitfinex.h"

#define MAX_LEVELS 32
#define DEPTH 10
#define SNAP_MAX 80

/* Reads one level the decoder could have produced. */
static void read_level(struct fz *f, struct bfx_level *lv)
{
    uint8_t b = fz_u8(f);
    int64_t amt = 1 + fz_u8(f);

    lv->px = (struct mdf_dec){.m = 1 + fz_u16(f) % 500, .e = -(int32_t)(b & 7)};
    lv->ask = (b & 8) != 0;
    lv->count = (b & 16) ? 0 : 1 + (b >> 5);
    if (lv->count == 0)
        amt = 1;
    lv->amount =
        (struct mdf_dec){.m = lv->ask ? -amt : amt, .e = (b & 16) ? 0 : -(int32_t)(b >> 6)};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bfx_level lv[SNAP_MAX];
    struct fz f = {data, size};
    struct bfx_book b;
    struct bfx_msg m;
    struct mdf_book *rec = malloc(MDF_BOOK_SIZE(DEPTH));
    char text[64];
    int64_t seq = 1;

    FZ_CHECK(rec != NULL);
    memset(&b, 0, sizeof(b));
    FZ_CHECK(bfx_book_init(&b, 1 + fz_u8(&f) % MAX_LEVELS) == 0);
    for (int ops = 0; f.n > 0 && ops < 2000; ops++) {
        uint8_t op = fz_u8(&f);
        int r;

        memset(&m, 0, sizeof(m));
        m.chan_id = 7;
        m.seq = seq++;
        m.ts_ns = (int64_t)ops * 1000;
        m.levels = lv;
        switch (op % 8) {
        case 0:
        case 1: {
            uint32_t n = fz_u8(&f) % (SNAP_MAX + 1);

            for (uint32_t i = 0; i < n; i++)
                read_level(&f, &lv[i]);
            m.kind = BFX_BOOK_SNAPSHOT;
            m.n_levels = n;
            r = (op & 8) ? bfx_book_handover(&b, &m, m.ts_ns) : bfx_book_apply(&b, &m, m.ts_ns);
            FZ_CHECK(r >= -ERANGE && r <= 1);
            break;
        }
        case 2:
        case 3:
        case 4:
            read_level(&f, &lv[0]);
            m.kind = BFX_BOOK_UPDATE;
            m.n_levels = 1;
            r = bfx_book_apply(&b, &m, m.ts_ns);
            FZ_CHECK(r >= -ERANGE && r <= 1);
            break;
        case 5:
            r = bfx_book_verify(&b, (op & 8) ? (int32_t)fz_u32(&f) : bfx_book_checksum(&b));
            FZ_CHECK((op & 8) || r >= 0);
            break;
        case 6:
            (op & 8) ? bfx_book_resync(&b) : bfx_book_interrupt(&b);
            break;
        case 7:
            r = bfx_book_checksum_text(&b, text, 1 + fz_u8(&f) % sizeof(text));
            FZ_CHECK(r == -ENOSPC || (r >= 0 && (size_t)r == strlen(text)));
            break;
        }
        bfx_book_record(&b, rec, DEPTH);
        FZ_CHECK(rec->n_bids <= DEPTH && rec->n_asks <= DEPTH);
        for (uint32_t i = 1; i < rec->n_bids; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[i - 1].px, rec->levels[i].px) > 0);
        for (uint32_t i = 1; i < rec->n_asks; i++)
            FZ_CHECK(mdf_dec_cmp(rec->levels[DEPTH + i - 1].px, rec->levels[DEPTH + i].px) < 0);
    }
    bfx_book_fini(&b);
    free(rec);
    return 0;
}
