/*
 * Reader API edges: opening an instance that does not exist yet (at once, with a wait that
 * times out, with a wait that sees it appear), clear errors for bad arguments, a state segment
 * of the previous layout refused (and replaced by the next daemon), and the stream calls: ring
 * records name their stream, and each stream's latest record is read through it.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "shm/publisher.h"
#include "test.h"

TEST(reader_open_waits_for_instance_and_times_out)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst = NULL;
    mdf_sub_t *sub;
    int64_t t0;
    int status;
    pid_t w;

    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), test_instance());
    ASSERT(inst == NULL);
    t0 = test_now_ns();
    ASSERT_EQ(mdf_open(&inst, test_instance(), 50), -ETIMEDOUT);
    ASSERT_GE(test_now_ns() - t0, INT64_C(50000000));
    ASSERT_EQ(mdf_open(&inst, "bad/name", 0), -EINVAL);
    /* The daemon appears 200 ms later; a waiting open gets it. */
    w = fork();
    ASSERT(w >= 0);
    if (w == 0) {
        clock_sleep_ns(200000000);
        pub_default_params(&prm, test_instance());
        _exit(pub_open(&p, &prm) < 0 ? 3 : 0);
    }
    ASSERT_EQ(mdf_open(&inst, test_instance(), 10000), 0);
    waitpid(w, &status, 0);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(mdf_subscribe(inst, 99, MDF_START_NOW, 0, &sub), -EINVAL);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_BOOKS, 7, 0, &sub), -EINVAL);
    ASSERT_EQ(mdf_next(NULL, NULL, NULL), -EINVAL);
    ASSERT_EQ(mdf_ring_from_name("ticks"), MDF_RING_TICKS);
    ASSERT_EQ(mdf_ring_from_name("nope"), -EINVAL);
    ASSERT_EQ(mdf_interval_from_name("1M"), MDF_IV_1MO);
    ASSERT_EQ(mdf_interval_from_name("1m"), MDF_IV_1M);
    ASSERT_EQ(mdf_interval_ns(MDF_IV_1H), INT64_C(3600000000000));
    ASSERT_STR_EQ(mdf_strerror(MDF_EDEAD), "the daemon is dead");
    ASSERT_STR_EQ(mdf_strerror(-ENOENT), "No such file or directory");
    mdf_close(inst);
    return 0;
}

TEST(reader_refuses_a_state_segment_of_layout_1_and_the_next_daemon_replaces_it)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst = NULL;
    int status;
    pid_t w;

    pub_default_params(&prm, test_instance());
    w = fork();
    ASSERT(w >= 0);
    if (w == 0) {
        struct mdf_seg_header *h;

        if (pub_open(&p, &prm) < 0)
            _exit(3);
        /* What a daemon of layout 1.1 (per-symbol latest entries) left behind. */
        h = p.state.base;
        store_release(&h->version, (1u << 16) | 1u);
        _exit(0); /* dies without cleaning up */
    }
    waitpid(w, &status, 0);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), MDF_EVERSION);
    ASSERT_CONTAINS(mdf_errmsg(), "layout 1.1");
    ASSERT(inst == NULL);
    /* A daemon of this layout does not adopt it: it starts afresh, and readers can open. */
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT(!p.adopted);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_stream_count(inst), 0);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}

TEST(reader_stream_calls_read_each_stream_and_records_name_theirs)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    static union mdf_record r, out;
    struct mdf_stream_entry e = {.type = MDF_REC_TRADE, .key = "btcusdt@trade"};
    struct mdf_stream_entry a = {
        .type = MDF_REC_TRADE, .flags = MDF_STREAM_F_AGGREGATE, .key = "btcusdt@aggTrade"};
    int64_t ts, ta;

    pub_default_params(&prm, test_instance());
    prm.state.max_streams = 4;
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT_EQ(state_tx_venue(&p.st, "binance-spot"), 0);
    ASSERT_EQ(state_tx_symbol(&p.st, 0, "BTCUSDT", "BTC/USDT"), 0);
    ts = state_tx_stream(&p.st, &e);
    ta = state_tx_stream(&p.st, &a);
    ASSERT_EQ(ts, 0);
    ASSERT_EQ(ta, 1);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), 0);
    /* Aggregate trade 7 then trade 8: the per-symbol trade is the plain one (trade over
     * aggTrade) though the aggregate came last... */
    for (int k = 0; k < 2; k++) {
        memset(&r, 0, sizeof(r));
        r.trade.h = (struct mdf_rec_hdr){.type = MDF_REC_TRADE,
                                         .size = sizeof(struct mdf_trade),
                                         .stream = (uint32_t)(k ? ts : ta),
                                         .flags = k ? 0 : MDF_TRADE_F_AGGREGATE};
        r.trade.trade_id = 7 + k;
        ASSERT_NE(pub_publish(&p, MDF_RING_TICKS, &r), UINT64_MAX);
        ASSERT_EQ(state_tx_update(&p.st, &r), 0);
    }
    r.trade.h.stream = (uint32_t)ta;
    r.trade.h.flags = MDF_TRADE_F_AGGREGATE;
    r.trade.trade_id = 9;
    ASSERT_EQ(state_tx_update(&p.st, &r), 0);
    ASSERT_EQ(mdf_latest_trade(inst, 0, &out.trade), 0);
    ASSERT_EQ(out.trade.trade_id, 8);
    ASSERT_EQ(out.h.stream, (uint32_t)ts);
    /* ...and each stream has its own. */
    ASSERT_EQ(mdf_latest_trade_stream(inst, (uint32_t)ta, &out.trade), 0);
    ASSERT_EQ(out.trade.trade_id, 9);
    ASSERT_EQ(mdf_latest_trade_stream(inst, (uint32_t)ts, &out.trade), 0);
    ASSERT_EQ(out.trade.trade_id, 8);
    /* Ring records carry their stream. */
    ASSERT_EQ(mdf_next(sub, &out, NULL), 1);
    ASSERT_EQ(out.h.stream, (uint32_t)ta);
    ASSERT_EQ(mdf_next(sub, &out, NULL), 1);
    ASSERT_EQ(out.h.stream, (uint32_t)ts);
    /* Edges: other kinds, unknown ids, NULL arguments. */
    ASSERT_EQ(mdf_latest_bbo_stream(inst, (uint32_t)ts, &out.bbo), MDF_ENODATA);
    ASSERT_EQ(mdf_latest_funding_stream(inst, (uint32_t)ts, &out.funding), MDF_ENODATA);
    ASSERT_EQ(mdf_latest_ticker_stream(inst, 2, &out.ticker), -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), "stream");
    ASSERT_EQ(mdf_latest_book_stream(inst, (uint32_t)ts, &out.book, 16), -EINVAL);
    ASSERT_EQ(mdf_latest_trade_stream(NULL, 0, &out.trade), -EINVAL);
    ASSERT_EQ(mdf_latest_bbo(inst, 0, &out.bbo), MDF_ENODATA); /* no bbo stream */
    ASSERT_EQ(mdf_stream_count(inst), 2);
    ASSERT_EQ(mdf_stream_count(NULL), 0);
    ASSERT_EQ(mdf_stream_info(inst, 0, NULL), -EINVAL);
    ASSERT_EQ(mdf_stream_info(NULL, 0, &e), -EINVAL);
    ASSERT_EQ(mdf_stream_info(inst, 1, &e), 0);
    ASSERT_STR_EQ(e.kind, "aggTrade");
    ASSERT_EQ(e.flags, MDF_STREAM_F_AGGREGATE);
    ASSERT_EQ(mdf_stream_find(inst, "binance-spot:BTCUSDT", "aggTrade"), ta);
    ASSERT_EQ(mdf_stream_find(inst, "binance-spot:BTCUSDT", "trade"), ts);
    ASSERT_EQ(mdf_stream_find(inst, "binance-spot:ETHUSDT", "trade"), -ENOENT);
    ASSERT_EQ(mdf_stream_find(inst, "binance-spot:BTCUSDT", NULL), -EINVAL);
    ASSERT_STR_EQ(mdf_book_kind_name(9), "?");
    mdf_unsubscribe(sub);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}

/* A reader checks what it maps before it trusts it: a state descriptor whose tables do not fit
 * the segment, a venue count past the table, a ring whose geometry does not fit (all found by
 * tests/fuzz/reader as reads past the mapping). */
TEST(reader_refuses_segments_whose_geometry_does_not_fit)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    struct mdf_ring_desc *rd;
    uint64_t off;

    pub_default_params(&prm, test_instance());
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT_EQ(state_tx_venue(&p.st, "binance-spot"), 0);
    off = p.st.d->symbols_off;
    p.st.d->symbols_off = off + 64;
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), MDF_EBADSEG);
    ASSERT_CONTAINS(mdf_errmsg(), "do not fit");
    p.st.d->symbols_off = off;
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    /* A count past its table is cut to it. */
    store_release(&p.st.d->n_venues, prm.state.max_venues + 1000);
    ASSERT(mdf_venue_name(inst, prm.state.max_venues + 10) == NULL);
    ASSERT_EQ(mdf_symbol_lookup(inst, "nowhere:BTCUSDT"), -ENOENT);
    store_release(&p.st.d->n_venues, 1);
    rd = (struct mdf_ring_desc *)((uint8_t *)p.rings[MDF_RING_TICKS].base +
                                  sizeof(struct mdf_seg_header));
    rd->capacity *= 2;
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), MDF_EBADSEG);
    rd->capacity /= 2;
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), 0);
    mdf_unsubscribe(sub);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}
