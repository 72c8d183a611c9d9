/*
 * The Bybit v5 side of a feed (src/venue/README.md §4.1): the adapter (daemon/adapter.h) that
 * turns every message of a Bybit connection into records.
 *
 * - Control: batched {"op":"subscribe","args":[topics],"req_id":ID} answered by req_id (at most
 *   10 topics a request on spot, 21,000 characters of args everywhere: bybit_batch_size);
 *   {"op":"ping"} every 20 s keeps the connection open (the venue cuts one silent for 10 min).
 * - Trades: deduplicated by trade id against the stream's last TRADE_SEEN ids (linear and
 *   inverse ids are hashes of UUIDs, not ordered, so "not newer than the last" cannot be used),
 *   so a rotation overlap publishes nothing twice.
 * - Books (book/bybit_book.c): the snapshot on subscribe, then deltas chained by u; u == 1 is
 *   the service restarting and overwrites the book. Across connections u is the book's own, so
 *   during an overlap only the book's primary connection drives it; another connection takes
 *   it over when its delta chains on (u = the book's + 1) or, with the book not LIVE, at its
 *   snapshot. A gap or a refused level resyncs that book: published RESYNCING, the topic
 *   resubscribed for a fresh snapshot.
 * - Tickers: snapshot then deltas merged field by field (bybit_ticker_apply); a ticker record,
 *   and on linear and inverse a funding record (mark, index, funding rate, next funding time).
 * - Candles: confirm = closed, published once; open candles with emit_partial_candles.
 * - Messages without ids (candles, tickers, liquidations) are deduplicated by the venue's push
 *   time ts.
 *
 * Loop thread only; nothing allocated per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/bybit_book.h"
#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "daemon/shard.h"
#include "venue/bybit.h"

#define BYB_MAX_ITEMS 1024 /* levels per side (orderbook.1000), trades, candles per message */
#define TRADE_SEEN 512     /* trade ids a stream remembers for deduplication */

/* Per-stream state (s->vbook), by stream type. */
struct byb_trades {
    uint64_t seen[TRADE_SEEN]; /* the last trade ids published, a ring (0 = empty) */
    uint32_t pos;              /* next slot */
};

static struct bybit_msg g_msg; /* decoded message (loop thread only) */

static inline struct bybit_decoder *dec_of(const struct feed *f)
{
    return f->vd;
}

static inline enum bybit_category cat_of(const struct feed *f)
{
    return (enum bybit_category)f->prof->variant;
}

/* The book of an orderbook stream, NULL for other types. */
static inline struct bybit_book *book_of(const struct dstream *s)
{
    return s->spec.type == VS_DIFF ? s->vbook : NULL;
}

/* ---- publishing -------------------------------------------------------------------------- */

static void publish_book(struct feed *f, struct dstream *s)
{
    union mdf_record *r = &f->d->scratch;

    bybit_book_record(book_of(s), &r->book, f->d->cfg->shm.book_depth);
    feed_publish(f, s, r);
}

/* True (and the id remembered) if trade id was not published for s yet. */
static bool trade_new(struct dstream *s, uint64_t id)
{
    struct byb_trades *t = s->vbook;

    /* Newest first: an overlap's duplicate is among the last few. */
    for (uint32_t i = 1; i <= TRADE_SEEN; i++)
        if (t->seen[(t->pos - i) % TRADE_SEEN] == id)
            return false;
    t->seen[t->pos % TRADE_SEEN] = id;
    t->pos = (t->pos + 1) % TRADE_SEEN;
    return true;
}

static void on_trades(struct feed *f, struct dstream *s, const struct bybit_msg *m)
{
    union mdf_record *r = &f->d->scratch;
    bool ordered = cat_of(f) == BYBIT_SPOT; /* spot ids are decimal and ordered */

    for (uint32_t i = 0; i < m->n_trades; i++) {
        const struct mdf_trade *t = &m->trades[i];

        if (!trade_new(s, (uint64_t)t->trade_id)) {
            s->dups++;
            f->stats.dups++;
            continue;
        }
        r->trade = *t;
        if (ordered)
            feed_progress(f, s, t->trade_id);
        feed_evidence(f, s, ordered ? t->trade_id : 0, t->h.tx_time_ns);
        feed_publish(f, s, r);
    }
}

/* True if data of s from sh is to be used: messages without ids go from one connection at a
 * time, the stream's primary; another takes over when the primary is retiring or down. */
static bool take(struct dstream *s, struct shard *sh)
{
    const struct shard *p = s->primary;

    if (p == sh)
        return true;
    if (p && p->role != SH_RETIRING && p->ws.state == WSC_CONNECTED && !p->stopping)
        return false;
    s->primary = sh;
    return true;
}

static void book_resynced(struct feed *f, struct shard *sh, struct dstream *s)
{
    struct bybit_book *b = book_of(s);

    publish_book(f, s);
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_BOOK_RESYNC, f->venue_id, s->symbol, sh->id,
            "%s %s after update %" PRId64 ": resync (generation %" PRIu64 ")", s->name,
            b->stats.level_errors ? "level refused or gap" : "gap", b->update_id, b->generation);
    if (sh->role != SH_RETIRING)
        shard_resubscribe(sh, s);
}

static void on_book(struct feed *f, struct shard *sh, struct dstream *s, const struct bybit_msg *m,
                    int64_t recv_ns)
{
    struct bybit_book *b = book_of(s);
    uint8_t was = b->state;
    int rc;

    if (s->primary && s->primary != sh) {
        /* Another connection of a rotation: it takes the book over when its delta chains on,
         * or at its snapshot when the book is not LIVE or (the primary going) the snapshot is
         * past the book; until then its copies are duplicates. A snapshot at or behind a LIVE
         * book's u would only overwrite it with what it holds, as a new generation. */
        bool chains = !m->snapshot && b->state == MDF_BOOK_LIVE && m->update_id == b->update_id + 1;
        bool ahead = m->update_id > b->update_id;

        if (!chains && !(m->snapshot && (b->state != MDF_BOOK_LIVE || (ahead && take(s, sh))))) {
            s->dups++;
            f->stats.dups++;
            return;
        }
    }
    s->primary = sh;
    rc = bybit_book_apply(b, m, recv_ns);
    if (rc == BYBK_RESYNC) {
        book_resynced(f, sh, s);
        return;
    }
    if (m->snapshot)
        f->stats.snapshots++;
    if (rc != BYBK_APPLIED)
        return;
    publish_book(f, s);
    if (was != MDF_BOOK_LIVE && b->state == MDF_BOOK_LIVE)
        ev_emit(f->d, LOG_LV_INFO, MDF_EV_BOOK_LIVE, f->venue_id, s->symbol, sh->id,
                "%s book live at update %" PRId64 " (generation %" PRIu64 ")", s->name,
                b->update_id, b->generation);
}

static void on_candles(struct feed *f, struct dstream *s, const struct bybit_msg *m)
{
    union mdf_record *r = &f->d->scratch;

    for (uint32_t i = 0; i < m->n_candles; i++) {
        r->candle = m->candles[i];
        feed_stamp(f, s, r);
        candles_on_kline(f, s, r);
    }
}

static void on_ticker(struct feed *f, struct shard *sh, struct dstream *s,
                      const struct bybit_msg *m, int64_t recv_ns)
{
    struct bybit_ticker_state *st = s->vbook;
    union mdf_record *r = &f->d->scratch;
    struct mdf_funding fund;
    int out;

    out = bybit_ticker_apply(st, m, recv_ns, &r->ticker, &fund);
    if (out < 0) {
        feed_decode_failed(f, sh, s, out, (const uint8_t *)"(merged ticker)", 15);
        return;
    }
    if (out & BYT_OUT_TICKER)
        feed_publish(f, s, r);
    if (out & BYT_OUT_FUNDING) {
        r->funding = fund;
        feed_publish(f, s, r);
    }
}

static void on_liqs(struct feed *f, struct dstream *s, const struct bybit_msg *m)
{
    union mdf_record *r = &f->d->scratch;

    for (uint32_t i = 0; i < m->n_liqs; i++) {
        r->liquidation = m->liqs[i];
        feed_publish(f, s, r);
    }
}

/* A subscribe or unsubscribe reply: matched by req_id (our request ids are decimal). */
static void on_reply(struct feed *f, struct shard *sh, const struct bybit_msg *m)
{
    char *end;
    long long id;

    if (strcmp(m->op, "subscribe") != 0 && strcmp(m->op, "unsubscribe") != 0) {
        f->stats.ignored++;
        return;
    }
    id = strtoll(m->req_id, &end, 10);
    if (!m->req_id[0] || *end)
        id = -1;
    shard_on_reply(sh, id, m->success ? 0 : -1, m->text);
}

static void on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;
    struct bybit_msg *m = &g_msg;
    struct dstream *s;
    int rc;

    rc = bybit_decode(dec_of(f), msg, len, recv_ns, m);
    if (rc < 0) {
        /* A message that still names its stream is that stream's failure. */
        s = m->topic ? stream_map_get(&f->map, m->topic, m->topic_len) : NULL;
        feed_decode_failed(f, sh, s, rc, msg, len);
        return;
    }
    switch (m->kind) {
    case BYB_REPLY:
        on_reply(f, sh, m);
        return;
    case BYB_PONG:
        return; /* the keepalive answered */
    case BYB_IGNORED:
    case BYB_NONE:
        f->stats.ignored++;
        return;
    default:
        break;
    }
    s = feed_data_stream(sh, m->topic, m->topic_len);
    if (!s)
        return;
    feed_note(f, s, recv_ns, m->ts_ns);
    switch (m->kind) {
    case BYB_TRADES:
        on_trades(f, s, m);
        break;
    case BYB_BOOK:
        on_book(f, sh, s, m, recv_ns);
        break;
    case BYB_CANDLES:
    case BYB_TICKER:
    case BYB_LIQUIDATIONS:
        /* No ids: one copy of each push, by its time. A push of the other connection at the
         * same ts is a copy; two at one ts on the same connection are two pushes (a kline's
         * closing message and the next candle's first). */
        if (!(m->ts_ns == s->last_key && sh == s->last_shard) &&
            !feed_accept_key(f, s, m->ts_ns, false))
            return;
        s->last_shard = sh;
        if (m->kind == BYB_CANDLES)
            on_candles(f, s, m);
        else if (m->kind == BYB_TICKER)
            on_ticker(f, sh, s, m, recv_ns);
        else
            on_liqs(f, s, m);
        break;
    default:
        f->stats.ignored++;
        break;
    }
}

/* ---- the adapter ------------------------------------------------------------------------- */

static int feed_init(struct feed *f)
{
    f->vd = bybit_decoder_new(cat_of(f), BYB_MAX_ITEMS, 4u << 20);
    return f->vd ? 0 : err_set(-ENOMEM, "venue %s: out of memory for its decoders", f->cv.name);
}

static void feed_fini(struct feed *f)
{
    bybit_decoder_free(f->vd);
    f->vd = NULL;
}

static int stream_init(struct feed *f, struct dstream *s)
{
    switch (s->spec.type) {
    case VS_DIFF: {
        struct bybit_book *b = calloc(1, sizeof(*b));

        if (!b || bybit_book_init(b, s->spec.levels) < 0) {
            free(b);
            return err_set(-ENOMEM, "out of memory for the %s book", s->spec.symbol);
        }
        s->vbook = b;
        return 0;
    }
    case VS_TRADE:
        s->vbook = calloc(1, sizeof(struct byb_trades));
        break;
    case VS_TICKER:
        s->vbook = calloc(1, sizeof(struct bybit_ticker_state));
        if (s->vbook)
            bybit_ticker_init(s->vbook);
        break;
    default:
        return 0;
    }
    return s->vbook ? 0 : err_set(-ENOMEM, "out of memory for %s", s->name);
}

static void stream_fini(struct dstream *s)
{
    if (book_of(s))
        bybit_book_fini(book_of(s));
    free(s->vbook);
    s->vbook = NULL;
}

/* Linear and inverse tickers carry mark, index and funding: a funding record too. */
static uint32_t extra_types(const struct dstream *s)
{
    return s->spec.type == VS_TICKER && s->f->prof->variant != BYBIT_SPOT ? 1u << MDF_REC_FUNDING
                                                                          : 0;
}

static int on_open(struct shard *sh)
{
    return 1; /* topics are subscribed at once */
}

static size_t batch_fit(const struct shard *sh, const char *const *names, size_t n)
{
    return bybit_batch_size(cat_of(sh->f), names, n);
}

static int control_batch(const struct shard *sh, bool subscribe, const char *const *names, size_t n,
                         uint64_t id, char *buf, size_t cap)
{
    char req[24];

    snprintf(req, sizeof(req), "%" PRIu64, id);
    return bybit_control_msg(cat_of(sh->f), subscribe, names, n, req, buf, cap);
}

static int book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    const struct bybit_book *b = book_of(s);

    if (!b)
        return -1;
    *gen = b->generation;
    *resyncs = b->stats.resyncs;
    *gaps = b->stats.gaps;
    return b->state;
}

static void book_interrupt(struct feed *f, struct dstream *s)
{
    uint8_t was;

    if (!book_of(s))
        return;
    was = book_of(s)->state;
    bybit_book_interrupt(book_of(s));
    if (was != book_of(s)->state)
        publish_book(f, s);
}

/* {"op":"ping"} every BYBIT_PING_INTERVAL_S on a connected connection. */
static void check_shard(struct feed *f, struct shard *sh, int64_t now)
{
    char buf[64];
    int len;

    if (sh->ws.state != WSC_CONNECTED ||
        clock_mono_ns() - sh->keepalive_mono < (int64_t)BYBIT_PING_INTERVAL_S * 1000000000LL)
        return;
    len = bybit_ping_msg(NULL, buf, sizeof(buf));
    if (len < 0 || wsconn_send_text(&sh->ws, buf, (size_t)len) < 0) {
        log_msg(LOG_LV_WARNING, "%s conn %u: cannot send the keepalive ping: %s", f->cv.name,
                sh->id, mdf_errmsg());
        return;
    }
    sh->keepalive_mono = clock_mono_ns();
}

const struct feed_adapter bybit_adapter = {
    .name = "bybit",
    .feed_init = feed_init,
    .feed_fini = feed_fini,
    .stream_init = stream_init,
    .stream_fini = stream_fini,
    .extra_types = extra_types,
    .on_open = on_open,
    .control_batch = control_batch,
    .batch_max = SHARD_BATCH,
    .batch_fit = batch_fit,
    .on_message = on_message,
    .book_info = book_info,
    .book_interrupt = book_interrupt,
    .delivers = shard_all_delivered, /* every topic delivered (a book its snapshot) */
    .handover_by_snapshot = false,
    .check_stream = NULL,
    .check_shard = check_shard,
    .candles = NULL,
};
