/*
 * Tests of the OKX book rule (src/book/okx_book.c), fed through the real decoder: the
 * checksum against a CRC-32 computed here bit by bit over text built here from the level
 * strings (the documented example and a deep, lopsided book), the prevSeqId chain, keepalive
 * updates, a bad checksum and the retired (zero) checksum.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/okx_book.h"
#include "venue/okx.h"

#include "test.h"

/* CRC-32 (IEEE, reflected, poly 0xEDB88320) computed bit by bit: independent of zlib. */
static int32_t crc_bitwise(const char *s)
{
    uint32_t c = 0xFFFFFFFFu;

    for (; *s; s++) {
        c ^= (unsigned char)*s;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return (int32_t)~c;
}

/* Decodes a books message. */
static void books(struct okx_decoder *d, struct okx_msg *m, const char *action, const char *asks,
                  const char *bids, int64_t prev, int64_t seq, int32_t cs)
{
    static char buf[65536];
    int rc;

    snprintf(buf, sizeof(buf),
             "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":\"%s\",\"data\":"
             "[{\"asks\":%s,\"bids\":%s,\"ts\":\"%lld\",\"checksum\":%d,\"prevSeqId\":%lld,"
             "\"seqId\":%lld}]}",
             action, asks, bids, (long long)(1000 + seq), (int)cs, (long long)prev, (long long)seq);
    rc = okx_decode(d, (const uint8_t *)buf, strlen(buf), seq, m);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "decode: %d", rc);
}

/* Decodes a NUL-terminated message. */
static int dec(struct okx_decoder *d, const char *text, int64_t recv, struct okx_msg *m)
{
    return okx_decode(d, (const uint8_t *)text, strlen(text), recv, m);
}

TEST(okx_book_checksum_matches_an_independent_crc)
{
    struct okx_decoder *d = okx_decoder_new(500, 1u << 20);
    struct okx_book b;
    struct okx_msg m;
    char text[16384], asks[8192], bids[8192], want[16384];
    const char *doc = "3366.1:7:3366.8:9:3366:6:3368:8";
    size_t al = 0, bl = 0, wl = 0;

    ASSERT(d);
    ASSERT_EQ(okx_book_init(&b, 0), 0);
    /* The documented example: bids 3366.1 x 7, 3366 x 6; asks 3366.8 x 9, 3368 x 8. */
    books(d, &m, "snapshot", "[[\"3366.8\",\"9\",\"0\",\"3\"],[\"3368\",\"8\",\"0\",\"3\"]]",
          "[[\"3366.1\",\"7\",\"0\",\"3\"],[\"3366\",\"6\",\"0\",\"3\"]]", -1, 10,
          crc_bitwise(doc));
    ASSERT_EQ(okx_book_apply(&b, &m, 1), OKBK_APPLIED);
    ASSERT_GT(okx_book_checksum_text(&b, text, sizeof(text)), 0);
    ASSERT_STR_EQ(text, doc);
    ASSERT_EQ(okx_book_checksum(&b), crc_bitwise(doc));
    ASSERT_EQ(b.stats.checksums, 1);

    /* 30 bids, 3 asks, prices with trailing zeros: 25 bids, the asks while they last. The
     * text is built here from the strings sent, best first, interleaved. */
    al = (size_t)snprintf(asks, sizeof(asks), "[");
    bl = (size_t)snprintf(bids, sizeof(bids), "[");
    for (int i = 0; i < 30; i++)
        bl += (size_t)snprintf(bids + bl, sizeof(bids) - bl, "%s[\"%d.%d0\",\"0.%03d\"]",
                               i ? "," : "", 500 - i, i % 10, i + 1);
    for (int i = 0; i < 3; i++)
        al += (size_t)snprintf(asks + al, sizeof(asks) - al, "%s[\"%d.5\",\"%d\"]", i ? "," : "",
                               600 + i, 10 + i);
    snprintf(asks + al, sizeof(asks) - al, "]");
    snprintf(bids + bl, sizeof(bids) - bl, "]");
    for (int i = 0; i < 25; i++) {
        wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%d.%d0:0.%03d", i ? ":" : "",
                               500 - i, i % 10, i + 1);
        if (i < 3)
            wl += (size_t)snprintf(want + wl, sizeof(want) - wl, ":%d.5:%d", 600 + i, 10 + i);
    }
    books(d, &m, "snapshot", asks, bids, -1, 20, crc_bitwise(want));
    ASSERT_EQ(okx_book_apply(&b, &m, 2), OKBK_APPLIED);
    ASSERT_GT(okx_book_checksum_text(&b, text, sizeof(text)), 0);
    ASSERT_STR_EQ(text, want);
    ASSERT_EQ(b.stats.checksums, 2);
    ASSERT_EQ(b.generation, 1); /* a snapshot replacing a book readers saw */

    /* A wrong checksum resyncs the book; a snapshot restores it. */
    books(d, &m, "update", "[]", "[[\"500.00\",\"9\"]]", 20, 25, crc_bitwise(want));
    ASSERT_EQ(okx_book_apply(&b, &m, 3), OKBK_RESYNC);
    ASSERT_EQ(b.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(b.stats.mismatches, 1);
    ASSERT_EQ(b.generation, 2);
    ASSERT_EQ(okx_book_checksum_text(&b, text, 4), 0); /* empty book: empty text */
    okx_book_fini(&b);
    okx_decoder_free(d);
    return 0;
}

TEST(okx_book_follows_the_seq_chain_and_resyncs_on_a_gap)
{
    static _Alignas(8) unsigned char rb[MDF_BOOK_SIZE(5)];
    struct mdf_book *rec = (struct mdf_book *)rb;
    struct okx_decoder *d = okx_decoder_new(500, 1u << 20);
    struct okx_book b;
    struct okx_msg m;

    ASSERT(d);
    ASSERT_EQ(okx_book_init(&b, 400), 0);
    books(d, &m, "update", "[]", "[[\"1\",\"1\"]]", 1, 2, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 1), OKBK_NOTHING); /* not LIVE yet */
    ASSERT_EQ(b.stats.ignored, 1);
    books(d, &m, "snapshot", "[[\"11\",\"1\"]]", "[[\"10\",\"1\"]]", -1, 100, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 2), OKBK_APPLIED);
    ASSERT_EQ(b.generation, 0);
    /* Steps are not 1: only prevSeqId == last seqId counts. Checksum 0: not checked. */
    books(d, &m, "update", "[[\"11\",\"0\"],[\"12\",\"2\"]]", "[]", 100, 107, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 3), OKBK_APPLIED);
    /* No levels: a keepalive with seqId == prevSeqId; nothing changes, the chain holds. */
    books(d, &m, "update", "[]", "[]", 107, 107, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 4), OKBK_NOTHING);
    ASSERT_EQ(b.stats.keepalives, 1);
    /* A seqId below prevSeqId (the venue's maintenance reset) is fine while the chain holds. */
    books(d, &m, "update", "[]", "[[\"9\",\"3\"]]", 107, 5, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 5), OKBK_APPLIED);
    okx_book_record(&b, rec, 5);
    ASSERT_EQ(rec->state, MDF_BOOK_LIVE);
    ASSERT_EQ(rec->first_update_id, 100);
    ASSERT_EQ(rec->last_update_id, 5);
    ASSERT_EQ(rec->n_bids, 2);
    ASSERT_EQ(rec->n_asks, 1);
    ASSERT_EQ(rec->levels_asked, 400);
    ASSERT_EQ(rec->h.exch_time_ns, 1005000000);
    ASSERT_EQ(rec->h.recv_time_ns, 5);
    /* A gap: prevSeqId is not the last seqId. */
    books(d, &m, "update", "[]", "[[\"8\",\"1\"]]", 6, 9, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 6), OKBK_RESYNC);
    ASSERT_EQ(b.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(b.stats.gaps, 1);
    ASSERT_EQ(b.generation, 1);
    books(d, &m, "update", "[]", "[[\"8\",\"1\"]]", 9, 10, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 7), OKBK_NOTHING);
    books(d, &m, "snapshot", "[[\"11\",\"1\"]]", "[[\"10\",\"1\"]]", -1, 200, 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 8), OKBK_APPLIED);
    ASSERT_EQ(b.generation, 1);
    okx_book_interrupt(&b);
    ASSERT_EQ(b.state, MDF_BOOK_STALE);
    okx_book_fini(&b);

    /* Messages without seqId (2022): applied in order, the checksum the only guard. */
    ASSERT_EQ(okx_book_init(&b, 400), 0);
    ASSERT_EQ(dec(d,
                  "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},"
                  "\"action\":\"snapshot\",\"data\":[{\"asks\":[[\"2\","
                  "\"1\"]],\"bids\":[[\"1\",\"1\"]],\"ts\":\"1\","
                  "\"checksum\":0}]}",
                  1, &m),
              0);
    ASSERT_EQ(okx_book_apply(&b, &m, 1), OKBK_APPLIED);
    ASSERT_EQ(dec(d,
                  "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},"
                  "\"action\":\"update\",\"data\":[{\"asks\":[],\"bids\":"
                  "[[\"1.5\",\"1\"]],\"ts\":\"2\",\"checksum\":0}]}",
                  2, &m),
              0);
    ASSERT_EQ(okx_book_apply(&b, &m, 2), OKBK_APPLIED);
    ASSERT_EQ(okx_decode(d, (const uint8_t *)"pong", 4, 3, &m), 0);
    ASSERT_EQ(okx_book_apply(&b, &m, 3), -EINVAL);
    okx_book_fini(&b);
    okx_decoder_free(d);
    return 0;
}

/* A reference side for the random test: price index -> quantity text ("" = no level). Prices
 * are "<i/100>.<i%100, 2 digits>" for index i, so index order is price order. */
#define REF_PX 300
struct ref_side {
    char qty[REF_PX][16]; /* quantity text by price index */
};

/* Writes the text of price index i. */
static void ref_px(int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%d.%02d", 100 + i / 100, i % 100);
}

/* The checksum text of the reference: bids best (highest) first, asks best (lowest) first,
 * interleaved, 25 each at most. */
static void ref_text(const struct ref_side *bid, const struct ref_side *ask, char *out, size_t cap)
{
    int bi = REF_PX - 1, ai = 0, nb = 0, na = 0;
    size_t len = 0;
    char px[32];

    out[0] = '\0';
    for (int k = 0; k < 25; k++) {
        while (bi >= 0 && !bid->qty[bi][0])
            bi--;
        if (bi >= 0 && nb < 25) {
            ref_px(bi, px, sizeof(px));
            len +=
                (size_t)snprintf(out + len, cap - len, "%s%s:%s", len ? ":" : "", px, bid->qty[bi]);
            bi--;
            nb++;
        }
        while (ai < REF_PX && !ask->qty[ai][0])
            ai++;
        if (ai < REF_PX && na < 25) {
            ref_px(ai, px, sizeof(px));
            len +=
                (size_t)snprintf(out + len, cap - len, "%s%s:%s", len ? ":" : "", px, ask->qty[ai]);
            ai++;
            na++;
        }
    }
}

TEST(okx_book_random_stream_verifies_every_checksum_against_a_reference)
{
    static struct ref_side rb, ra;
    static char bids[16384], asks[16384], text[16384], mine[16384];
    struct okx_decoder *d = okx_decoder_new(500, 1u << 20);
    struct okx_book b;
    struct okx_msg m;
    struct test_rng rng;
    int64_t seq = 1000;

    ASSERT(d);
    ASSERT_EQ(okx_book_init(&b, 400), 0);
    test_rng_init(&rng, test_seed());
    memset(&rb, 0, sizeof(rb));
    memset(&ra, 0, sizeof(ra));
    for (int step = 0; step < 3000; step++) {
        bool snap = step == 0 || test_rng_below(&rng, 200) == 0;
        size_t bl = 0, al = 0;
        int n = (int)test_rng_below(&rng, snap ? 60 : 8);
        int64_t next = seq + 1 + (int64_t)test_rng_below(&rng, 90);

        if (snap) {
            memset(&rb, 0, sizeof(rb));
            memset(&ra, 0, sizeof(ra));
        }
        bl = (size_t)snprintf(bids, sizeof(bids), "[");
        al = (size_t)snprintf(asks, sizeof(asks), "[");
        for (int k = 0; k < n; k++) {
            /* Bids below index 150, asks from 150: the book never crosses. */
            bool ask = test_rng_below(&rng, 2);
            int i = ask ? 150 + (int)test_rng_below(&rng, 150) : (int)test_rng_below(&rng, 150);
            struct ref_side *side = ask ? &ra : &rb;
            char px[32], qty[16];
            ref_px(i, px, sizeof(px));
            if (!snap && test_rng_below(&rng, 3) == 0)
                snprintf(qty, sizeof(qty), "0");
            else
                snprintf(qty, sizeof(qty), "%d.%d0", 1 + (int)test_rng_below(&rng, 50),
                         (int)test_rng_below(&rng, 10));
            snprintf(side->qty[i], sizeof(side->qty[i]), "%s", strcmp(qty, "0") ? qty : "");
            if (ask)
                al += (size_t)snprintf(asks + al, sizeof(asks) - al,
                                       "%s[\"%s\",\"%s\",\"0\",\"1\"]", al > 1 ? "," : "", px, qty);
            else
                bl += (size_t)snprintf(bids + bl, sizeof(bids) - bl,
                                       "%s[\"%s\",\"%s\",\"0\",\"1\"]", bl > 1 ? "," : "", px, qty);
        }
        snprintf(bids + bl, sizeof(bids) - bl, "]");
        snprintf(asks + al, sizeof(asks) - al, "]");
        ref_text(&rb, &ra, text, sizeof(text));
        books(d, &m, snap ? "snapshot" : "update", asks, bids, snap ? -1 : seq, next,
              crc_bitwise(text));
        if (m.checksum == 0) /* 0 is "not given": the CRC of an empty book */
            ASSERT_EQ(text[0], '\0');
        if (okx_book_apply(&b, &m, step) == OKBK_RESYNC) {
            okx_book_checksum_text(&b, mine, sizeof(mine));
            test_fail(__FILE__, __LINE__, "step %d: resync; want \"%s\"", step, text);
        }
        ASSERT_EQ(b.state, MDF_BOOK_LIVE);
        ASSERT_GT(okx_book_checksum_text(&b, mine, sizeof(mine)), -1);
        ASSERT_STR_EQ(mine, text);
        seq = next;
    }
    ASSERT_EQ(b.stats.mismatches, 0);
    ASSERT_GT(b.stats.checksums, 2500);
    okx_book_fini(&b);
    okx_decoder_free(d);
    return 0;
}
