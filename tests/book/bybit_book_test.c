/*
 * Tests of the Bybit book rule (src/book/bybit_book.c), fed through the real decoder: snapshot
 * resets, deltas apply, u == 1 overwrites, a skipped u resyncs, old and early deltas are
 * ignored, depth 1 is snapshots without new generations.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/bybit_book.h"
#include "venue/bybit.h"

#include "test.h"

/* Decodes a book message built from type, u, bids and asks ("[[\"1\",\"2\"]]"). */
static void msg(struct bybit_decoder *d, struct bybit_msg *m, int depth, const char *type,
                int64_t u, const char *b, const char *a)
{
    char buf[2048];
    int rc;

    snprintf(buf, sizeof(buf),
             "{\"topic\":\"orderbook.%d.BTCUSDT\",\"type\":\"%s\",\"ts\":%lld,\"data\":{\"s\":"
             "\"BTCUSDT\",\"b\":%s,\"a\":%s,\"u\":%lld,\"seq\":%lld},\"cts\":%lld}",
             depth, type, (long long)(1000 + u), b, a, (long long)u, (long long)(500 + u),
             (long long)(999 + u));
    rc = bybit_decode(d, (const uint8_t *)buf, strlen(buf), u, m);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "decode %s: %d", buf, rc);
}

/* The book's top as text: "b px qty,...|a px qty,...". */
static const char *top(const struct bybit_book *b)
{
    static char out[2048];
    static _Alignas(8) unsigned char rb[MDF_BOOK_SIZE(10)];
    struct mdf_book *rec = (struct mdf_book *)rb;
    size_t len = 0;
    char p[64], q[64];

    bybit_book_record(b, rec, 10);
    out[0] = '\0';
    for (int s = 0; s < 2; s++) {
        int n = s ? rec->n_asks : rec->n_bids;
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s", s ? "|" : "");
        for (int i = 0; i < n; i++) {
            const struct mdf_level *l = &rec->levels[s * 10 + i];
            mdf_dec_format(l->px, p, sizeof(p));
            mdf_dec_format(l->qty, q, sizeof(q));
            len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s %s", i ? "," : "", p, q);
        }
    }
    return out;
}

TEST(bybit_book_snapshot_resets_deltas_apply_and_u1_overwrites)
{
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_LINEAR, 50, 65536);
    static _Alignas(8) unsigned char rb[MDF_BOOK_SIZE(10)];
    struct mdf_book *rec = (struct mdf_book *)rb;
    struct bybit_book b;
    struct bybit_msg m;

    ASSERT(d);
    ASSERT_EQ(bybit_book_init(&b, 50), 0);
    ASSERT_EQ(b.state, MDF_BOOK_EMPTY);
    /* A delta before any snapshot: ignored. */
    msg(d, &m, 50, "delta", 5, "[[\"10\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 5), BYBK_NOTHING);
    ASSERT_EQ(b.stats.ignored, 1);
    /* Snapshot. */
    msg(d, &m, 50, "snapshot", 100, "[[\"10\",\"1\"],[\"9\",\"2\"]]", "[[\"11\",\"3\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 100), BYBK_APPLIED);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_STR_EQ(top(&b), "10 1,9 2|11 3");
    ASSERT_EQ(b.generation, 0);
    /* Delta: set, insert, delete (size 0). */
    msg(d, &m, 50, "delta", 101, "[[\"10\",\"0\"],[\"9.5\",\"4\"]]", "[[\"11\",\"2.50\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 101), BYBK_APPLIED);
    ASSERT_STR_EQ(top(&b), "9.5 4,9 2|11 2.50");
    bybit_book_record(&b, rec, 10);
    ASSERT_EQ(rec->h.type, MDF_REC_BOOK);
    ASSERT_EQ(rec->state, MDF_BOOK_LIVE);
    ASSERT_EQ(rec->kind, MDF_BOOK_KIND_FULL);
    ASSERT_EQ(rec->first_update_id, 100);
    ASSERT_EQ(rec->last_update_id, 101);
    ASSERT_EQ(rec->h.venue_seq, 601);
    ASSERT_EQ(rec->h.exch_time_ns, 1101000000);
    ASSERT_EQ(rec->h.tx_time_ns, 1100000000);
    ASSERT_EQ(rec->h.recv_time_ns, 101);
    ASSERT_EQ(rec->levels_asked, 50);
    /* Old delta (a duplicate): ignored. */
    msg(d, &m, 50, "delta", 101, "[[\"1\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 102), BYBK_NOTHING);
    ASSERT_STR_EQ(top(&b), "9.5 4,9 2|11 2.50");
    /* u == 1: the service restarted; the delta overwrites the book, a new generation. */
    msg(d, &m, 50, "delta", 1, "[[\"20\",\"1\"]]", "[[\"21\",\"1\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 103), BYBK_APPLIED);
    ASSERT_STR_EQ(top(&b), "20 1|21 1");
    ASSERT_EQ(b.stats.restarts, 1);
    ASSERT_EQ(b.generation, 1);
    ASSERT_EQ(b.update_id, 1);
    msg(d, &m, 50, "delta", 2, "[[\"19\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 104), BYBK_APPLIED);
    ASSERT_STR_EQ(top(&b), "20 1,19 1|21 1");
    /* A new snapshot resets the book (the venue re-sent it): new generation. */
    msg(d, &m, 50, "snapshot", 50, "[[\"30\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 105), BYBK_APPLIED);
    ASSERT_STR_EQ(top(&b), "30 1|");
    ASSERT_EQ(b.generation, 2);
    /* Interrupt: STALE, levels kept; the next delta is ignored, a snapshot revives it. */
    bybit_book_interrupt(&b);
    ASSERT_EQ(b.state, MDF_BOOK_STALE);
    msg(d, &m, 50, "delta", 51, "[[\"31\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 106), BYBK_NOTHING);
    msg(d, &m, 50, "snapshot", 60, "[[\"32\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 107), BYBK_APPLIED);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_EQ(b.generation, 3);
    bybit_book_fini(&b);
    bybit_decoder_free(d);
    return 0;
}

TEST(bybit_book_gap_resyncs_and_depth_one_is_snapshots_only)
{
    struct bybit_decoder *d = bybit_decoder_new(BYBIT_SPOT, 50, 65536);
    struct bybit_book b;
    struct bybit_msg m;

    ASSERT(d);
    ASSERT_EQ(bybit_book_init(&b, 200), 0);
    msg(d, &m, 200, "snapshot", 10, "[[\"10\",\"1\"]]", "[[\"11\",\"1\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 1), BYBK_APPLIED);
    /* u 12 after 10: a push was lost. */
    msg(d, &m, 200, "delta", 12, "[[\"9\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 2), BYBK_RESYNC);
    ASSERT_EQ(b.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(b.generation, 1);
    ASSERT_EQ(b.stats.gaps, 1);
    ASSERT_STR_EQ(top(&b), "|");
    /* Deltas wait for the snapshot the resubscription brings; it does not bump again. */
    msg(d, &m, 200, "delta", 13, "[[\"9\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 3), BYBK_NOTHING);
    msg(d, &m, 200, "snapshot", 20, "[[\"12\",\"1\"]]", "[]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 4), BYBK_APPLIED);
    ASSERT_EQ(b.generation, 1);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    bybit_book_fini(&b);

    /* Depth 1: every push a snapshot, re-sent unchanged every 3 s; no generations. */
    ASSERT_EQ(bybit_book_init(&b, 1), 0);
    msg(d, &m, 1, "snapshot", 7, "[[\"10\",\"1\"]]", "[[\"11\",\"1\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 1), BYBK_APPLIED);
    msg(d, &m, 1, "snapshot", 7, "[[\"10\",\"1\"]]", "[[\"11\",\"1\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 2), BYBK_APPLIED);
    msg(d, &m, 1, "snapshot", 8, "[[\"10.5\",\"2\"]]", "[[\"11\",\"1\"]]");
    ASSERT_EQ(bybit_book_apply(&b, &m, 3), BYBK_APPLIED);
    ASSERT_STR_EQ(top(&b), "10.5 2|11 1");
    ASSERT_EQ(b.generation, 0);
    ASSERT_EQ(b.stats.snapshots, 3);
    bybit_book_fini(&b);
    ASSERT_EQ(bybit_book_init(&b, 25), -EINVAL);

    /* Not a book message. */
    ASSERT_EQ(bybit_decode(d, (const uint8_t *)"{\"op\":\"pong\"}", 13, 1, &m), 0);
    ASSERT_EQ(bybit_book_init(&b, 50), 0);
    ASSERT_EQ(bybit_book_apply(&b, &m, 1), -EINVAL);
    bybit_book_fini(&b);
    bybit_decoder_free(d);
    return 0;
}
