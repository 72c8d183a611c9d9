/*
 * The health segment as a reader sees it, against a live daemon and fake venue: the counters
 * match what the venue did (connections it cut, diffs it dropped) and what the rings carry.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define VENUE_HEAD                                                                                 \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"

/* The stream slot named name, or -1. */
static int find_stream(mdf_health_t *h, const char *name, struct mdf_health_stream *out)
{
    uint32_t n = mdf_health_count(h, MDF_HT_STREAM);

    for (uint32_t i = 0; i < n; i++)
        if (mdf_health_stream(h, i, out) == 0 && out->in_use && strcmp(out->name, name) == 0)
            return (int)i;
    return -1;
}

/* Trade records of symbol sym in the ticks ring, from its oldest record to now. */
static uint64_t count_trades(mdf_instance_t *inst, uint32_t sym, bool aggregate)
{
    mdf_sub_t *sub;
    mdf_record_t rec;
    uint64_t n = 0;

    if (mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub) < 0)
        return UINT64_MAX;
    while (mdf_next(sub, &rec, NULL) == 1)
        if (rec.h.type == MDF_REC_TRADE && rec.h.symbol == sym &&
            !!(rec.h.flags & MDF_TRADE_F_AGGREGATE) == aggregate)
            n++;
    mdf_unsubscribe(sub);
    return n;
}

TEST(health_counters_match_what_the_venue_did_and_the_rings_carry)
{
    struct fv_proc fv;
    struct dmn d;
    /* Every connection is cut after 3 s (a reconnect each time); the first drops one depth
     * diff after 60 messages (a gap: that book resyncs once). */
    const char *fv_args[] = {
        "--market",          "AAAUSDT", "--market-rate", "200", "--lifetime", "3",
        "--fault-gap-after", "60",      "--fault-conns", "1",   NULL};
    mdf_health_t *h;
    mdf_instance_t *inst;
    struct mdf_health_daemon dm;
    struct mdf_health_stream st, sa, sb;
    struct mdf_health_conn c;
    struct mdf_health_venue v;
    struct mdf_book book;
    union mdf_record brec;
    int64_t sym;
    int cut, conn_slot = -1;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"AAAUSDT\"]; trades = \"both\"; kline = \"\";\n"
                                    "  book_ticker = false; order_book = \"diff\";\n"
                                    "  book_speed = 100;\n"
                                    "  connection = { reconnect_base_delay = 0.2; }; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);
    /* Two cuts by the venue, then the venue stops (its data ends, the counters settle). */
    ASSERT_EQ(fv_wait_line(&fv, "closed lifetime", 15000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "closed lifetime", 15000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 15000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 15000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 15000, NULL, 0), 0);
    fv_stop(&fv);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_DISCONNECTED", 15000, NULL, 0), 0);
    usleep(300000); /* > 2 health refresh periods */
    cut = 3;        /* the two lifetime cuts and the venue's exit */

    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.state, MDF_DAEMON_RUNNING);
    ASSERT_EQ(dm.pid, d.p.pid);
    ASSERT_EQ(dm.config_generation, 1);
    ASSERT_EQ(dm.n_venues, 1);
    ASSERT_EQ(dm.n_streams, 3);
    ASSERT_EQ(dm.n_books, 1);

    /* One connection slot, reconnected once per cut. */
    for (uint32_t i = 0; i < mdf_health_count(h, MDF_HT_CONN); i++)
        if (mdf_health_conn(h, i, &c) == 0 && c.in_use)
            conn_slot = (int)i;
    ASSERT_EQ(conn_slot >= 0, 1);
    ASSERT_EQ(mdf_health_conn(h, (uint32_t)conn_slot, &c), 0);
    ASSERT_EQ(c.reconnects, (uint64_t)cut - 1 + (c.state == MDF_CONN_OPEN));
    ASSERT_EQ(c.n_streams, 3);
    ASSERT_EQ(c.msgs_in, dm.msgs);
    ASSERT_CONTAINS(c.endpoint, "/stream");
    ASSERT_EQ(mdf_health_venue(h, 0, &v), 0);
    ASSERT_STR_EQ(v.name, "binance-spot");
    ASSERT_EQ(v.conn_attempts >= (uint64_t)cut, 1);

    /* Streams: every trade message became one record (no rotation: no duplicates). */
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    sym = mdf_symbol_lookup(inst, "binance-spot:AAAUSDT");
    ASSERT_EQ(sym >= 0, 1);
    ASSERT_EQ(find_stream(h, "aaausdt@trade", &st) >= 0, 1);
    ASSERT_EQ(find_stream(h, "aaausdt@aggTrade", &sa) >= 0, 1);
    ASSERT_EQ(find_stream(h, "aaausdt@depth@100ms", &sb) >= 0, 1);
    ASSERT_EQ(st.symbol, (uint32_t)sym);
    ASSERT_EQ(st.type, MDF_STREAM_TRADE);
    ASSERT_EQ(sb.type, MDF_STREAM_BOOK);
    ASSERT_EQ(st.msgs > 0, 1);
    ASSERT_EQ(st.msgs - st.dups, count_trades(inst, (uint32_t)sym, false));
    ASSERT_EQ(sa.msgs - sa.dups, count_trades(inst, (uint32_t)sym, true));
    ASSERT_EQ(st.last_recv_ns > 0 && st.last_exch_ns > 0, 1);
    ASSERT_EQ(st.delay_max_ns >= st.delay_ewma_ns, 1);
    /* The book: the dropped diff was a gap, and the book's generation is what readers see. */
    ASSERT_EQ(sb.gaps >= 1, 1);
    ASSERT_EQ(dm.errors[MDF_HERR_BOOK_GAP], sb.gaps);
    ASSERT_EQ(mdf_latest_book(inst, (uint32_t)sym, &brec.book, sizeof(brec)), 0);
    memcpy(&book, &brec.book, sizeof(book));
    ASSERT_EQ(sb.book_generation, book.generation);
    ASSERT_EQ(sb.book_state, book.state);
    ASSERT_EQ(sb.resyncs >= 1, 1);

    /* Rings: heads as a reader's subscription sees the tails. */
    for (int r = 0; r < MDF_RING_COUNT; r++) {
        struct mdf_health_ring hr;
        mdf_sub_t *sub;

        ASSERT_EQ(mdf_health_ring(h, (uint32_t)r, &hr), 0);
        ASSERT_EQ(mdf_subscribe(inst, r, MDF_START_NOW, 0, &sub), 0);
        ASSERT_EQ(hr.head, mdf_sub_tail(sub));
        ASSERT_STR_EQ(hr.name, mdf_ring_name(r));
        mdf_unsubscribe(sub);
    }

    /* A reload is counted; a clean stop leaves the state STOPPED. */
    dmn_kill(&d, SIGHUP);
    ASSERT_EQ(dmn_wait(&d, "CONFIG_RELOADED", 5000, NULL, 0), 0);
    usleep(300000);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.config_generation, 2);
    ASSERT_EQ(dmn_stop(&d), 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.state, MDF_DAEMON_STOPPED);
    mdf_close(inst);
    mdf_health_close(h);
    return 0;
}
