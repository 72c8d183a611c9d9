/*
 * The Binance side of a feed (spot and USD-M futures; src/venue/README.md §1, §2): the adapter
 * (daemon/adapter.h) that turns every message of a Binance connection into records.
 *
 * Hot path: on_message decodes the message, finds its stream by its combined-stream name, drops
 * it if the stream's key (trade id, update id or event time) is not newer than the last one
 * accepted (a rotation overlap delivers everything twice), and publishes. Diff-depth messages
 * drive the stream's synced book (book/book_sync.c: REST snapshot plus diffs, with the spot or
 * futures continuity rule); during an overlap only the book's primary connection drives it until
 * the other connection's diffs chain onto the book, so a connection that is ahead or behind
 * never causes a false gap. Control messages are batched SUBSCRIBE/UNSUBSCRIBE answered by id;
 * serverShutdown rotates the connection. Candle history comes from REST klines.
 *
 * Loop thread only; nothing allocated per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/book.h"
#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "daemon/shard.h"
#include "net/http.h"
#include "venue/venue.h"

#define MSG_MAX_LEVELS 5000    /* levels per side one stream message may carry */
#define SNAPSHOT_RETRY_MS 5000 /* a failed snapshot is asked again after */

/* The feed's decoders (f->vd). */
struct binance_feed {
    struct vdecoder *dec;      /* stream messages */
    struct vdecoder *rest_dec; /* REST bodies (snapshots of 5000 levels, klines) */
};

static struct vmsg g_msg;  /* decoded message (loop thread only) */
static struct vmsg g_snap; /* decoded REST snapshot (loop thread only) */

static void request_snapshot(struct feed *f, struct dstream *s);

static inline struct binance_feed *bf(const struct feed *f)
{
    return f->vd;
}

/* The synced book of a diff-depth stream, NULL for other types. */
static inline struct bsync *book_of(const struct dstream *s)
{
    return s->vbook;
}

/* ---- books ------------------------------------------------------------------------------- */

static void publish_book(struct feed *f, struct dstream *s)
{
    union mdf_record *r = &f->d->scratch;

    bsync_record(book_of(s), &r->book, f->d->cfg->shm.book_depth);
    feed_publish(f, s, r);
}

/* Acts on what the book's sync rule said. */
static void book_result(struct feed *f, struct dstream *s, int res, uint8_t was)
{
    switch (res) {
    case BS_APPLIED:
        publish_book(f, s);
        if (was != MDF_BOOK_LIVE && book_of(s)->state == MDF_BOOK_LIVE)
            ev_emit(f->d, LOG_LV_INFO, MDF_EV_BOOK_LIVE, f->venue_id, s->symbol,
                    s->primary ? s->primary->id : 0,
                    "%s book live at update %" PRId64 " (generation %" PRIu64 ")", s->spec.symbol,
                    book_of(s)->last_id, book_of(s)->generation);
        break;
    case BS_SNAPSHOT:
        if (was == MDF_BOOK_EMPTY || was == MDF_BOOK_STALE)
            publish_book(f, s); /* SYNCING (or RESYNCING): readers see it is not usable */
        request_snapshot(f, s);
        break;
    case BS_RESYNC: {
        /* The resync has reset the book's ids: the break says where the chain ended. */
        const struct bsync_break *b = &book_of(s)->last_break;
        char pu[40] = "";

        if (b->prev_id >= 0)
            snprintf(pu, sizeof(pu), ", pu %" PRId64, b->prev_id);
        publish_book(f, s);
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_BOOK_RESYNC, f->venue_id, s->symbol,
                s->primary ? s->primary->id : 0,
                "%s %s after update %" PRId64 ": diff U %" PRId64 " u %" PRId64
                "%s: resync (generation %" PRIu64 ")",
                s->spec.symbol, b->gap ? "gap" : "level refused", b->after_id, b->first_id,
                b->last_id, pu, book_of(s)->generation);
        request_snapshot(f, s);
        break;
    }
    default:
        break;
    }
}

static void on_snapshot(struct restq_req *r, int err, const struct http_response *resp)
{
    struct dstream *s = r->ud;
    struct feed *f = s->f;
    uint8_t was;
    int rc;

    if (err == -ECANCELED || s->removed || f->stopping)
        return;
    if (err < 0) {
        log_msg(LOG_LV_WARNING, "%s: snapshot of %s failed: %s (asked again in %d s)", f->cv.name,
                s->spec.symbol, mdf_errmsg(), SNAPSHOT_RETRY_MS / 1000);
        s->snap_for = -1; /* the check timer asks again */
        return;
    }
    rc = binance_decode_snapshot(bf(f)->rest_dec, resp->body, resp->body_len, &g_snap);
    if (rc < 0) {
        f->stats.parse_errors++;
        log_msg(LOG_LV_WARNING, "%s: snapshot of %s does not decode: %s", f->cv.name,
                s->spec.symbol, mdf_errmsg());
        s->snap_for = -1;
        return;
    }
    /* The callback runs as the response's last bytes are read: now is its receive time. */
    g_snap.rec.h.recv_time_ns = clock_real_ns();
    f->stats.snapshots++;
    was = book_of(s)->state;
    book_result(f, s, bsync_snapshot(book_of(s), &g_snap), was);
}

static void request_snapshot(struct feed *f, struct dstream *s)
{
    int rc;

    if (s->snap.queued || f->stopping)
        return;
    rc = binance_depth_url(f->prof, f->cv.rest_url, s->spec.symbol, f->cv.snapshot_limit,
                           s->snap.url, sizeof(s->snap.url), &s->snap.weight);
    if (rc < 0) {
        log_msg(LOG_LV_ERR, "%s: no snapshot URL for %s", f->cv.name, s->spec.symbol);
        return;
    }
    s->snap.cb = on_snapshot;
    s->snap.ud = s;
    s->snap_for = (int64_t)book_of(s)->generation;
    rc = restq_submit(&f->rq, &s->snap);
    if (rc < 0)
        log_msg(LOG_LV_ERR, "%s: snapshot request for %s refused: %s", f->cv.name, s->spec.symbol,
                mdf_errmsg());
}

static void on_record(struct feed *f, struct dstream *s, struct vmsg *m)
{
    union mdf_record *r = &m->rec;
    int64_t key;

    switch (r->h.type) {
    case MDF_REC_TRADE:
        if (!feed_accept_key(f, s, r->trade.trade_id, true))
            return;
        feed_progress(f, s, r->trade.last_id);
        feed_evidence(f, s, r->trade.last_id,
                      r->h.tx_time_ns ? r->h.tx_time_ns : r->h.exch_time_ns);
        break;
    case MDF_REC_BBO:
        key = r->bbo.update_id ? r->bbo.update_id : r->h.exch_time_ns;
        if (!feed_accept_key(f, s, key, false))
            return;
        break;
    case MDF_REC_CANDLE:
        if (!feed_accept_key(f, s, r->h.exch_time_ns, false))
            return;
        if (r->candle.last_id > 0) {
            feed_progress(f, s, r->candle.last_id);
            feed_evidence(f, s, r->candle.last_id, 0);
        }
        feed_stamp(f, s, r);
        candles_on_kline(f, s, r);
        return;
    case MDF_REC_TICKER:
        if (!feed_accept_key(f, s, r->h.exch_time_ns, false))
            return;
        if (!(r->h.flags & MDF_TICKER_F_MINI) && r->ticker.last_id > 0) {
            feed_progress(f, s, r->ticker.last_id);
            feed_evidence(f, s, r->ticker.last_id, 0);
        }
        break;
    default:
        if (!feed_accept_key(f, s, r->h.exch_time_ns ? r->h.exch_time_ns : r->h.tx_time_ns, false))
            return;
        break;
    }
    feed_publish(f, s, r);
}

static void on_partial(struct feed *f, struct shard *sh, struct dstream *s, const struct vmsg *m)
{
    /* A partial book is pushed on a clock, changed or not: futures ones carry their event time
     * (the key); spot ones only lastUpdateId, which repeats while the book is unchanged, so a
     * repeat is a new message on the same connection and a duplicate from the other one. */
    if (m->exch_time_ns) {
        if (!feed_accept_key(f, s, m->exch_time_ns, false))
            return;
    } else if (m->last_id == s->last_key && s->last_key && sh == s->last_shard) {
        /* the same state pushed again */
    } else if (!feed_accept_key(f, s, m->last_id, false)) {
        return;
    }
    s->last_shard = sh;
    feed_publish_partial(f, s,
                         &(struct feed_partial){.exch_time_ns = m->exch_time_ns,
                                                .tx_time_ns = m->tx_time_ns,
                                                .recv_time_ns = m->rec.h.recv_time_ns,
                                                .first_id = m->first_id ? m->first_id : m->last_id,
                                                .last_id = m->last_id,
                                                .venue_seq = (uint64_t)m->last_id,
                                                .bids = m->bids,
                                                .asks = m->asks,
                                                .n_bids = m->n_bids,
                                                .n_asks = m->n_asks});
}

static void on_diff(struct feed *f, struct shard *sh, struct dstream *s, const struct vmsg *m)
{
    struct bsync_diff dd = {
        .first_id = m->first_id,
        .last_id = m->last_id,
        .prev_id = m->prev_id,
        .exch_time_ns = m->exch_time_ns,
        .tx_time_ns = m->tx_time_ns,
        .recv_time_ns = m->rec.h.recv_time_ns,
        .bids = m->bids,
        .asks = m->asks,
        .n_bids = m->n_bids,
        .n_asks = m->n_asks,
    };
    uint8_t was;

    if (!book_of(s))
        return;
    if (s->primary && sh != s->primary) {
        /* The other connection of a rotation: it takes over the book once its diffs chain on;
         * until then its copies are duplicates (or ahead, which the primary will cover). */
        if (book_of(s)->state != MDF_BOOK_LIVE || !bsync_would_chain(book_of(s), &dd)) {
            s->dups++;
            f->stats.dups++;
            return;
        }
    }
    s->primary = sh;
    was = book_of(s)->state;
    book_result(f, s, bsync_diff(book_of(s), &dd), was);
}

static void on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;
    struct vmsg *m = &g_msg;
    struct dstream *s;
    int rc;

    rc = binance_decode(bf(f)->dec, msg, len, recv_ns, m);
    if (rc < 0) {
        /* A message that still names its stream is that stream's failure. */
        s = m->stream ? stream_map_get(&f->map, m->stream, m->stream_len) : NULL;
        feed_decode_failed(f, sh, s, rc, msg, len);
        return;
    }
    switch (m->kind) {
    case VM_REPLY:
        shard_on_reply(sh, m->reply_id, m->reply_code, m->text);
        return;
    case VM_SHUTDOWN:
        f->stats.shutdowns++;
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
                "serverShutdown: replacing the connection now");
        feed_rotate(f, sh);
        return;
    case VM_IGNORED:
    case VM_NONE:
        f->stats.ignored++;
        return;
    default:
        break;
    }
    s = m->stream ? stream_map_get(&f->map, m->stream, m->stream_len) : NULL;
    if (!s) {
        f->stats.unknown++;
        return;
    }
    feed_note(f, s, recv_ns, m->kind == VM_RECORD ? m->rec.h.exch_time_ns : m->exch_time_ns);
    switch (m->kind) {
    case VM_RECORD:
        on_record(f, s, m);
        break;
    case VM_DIFF:
        on_diff(f, sh, s, m);
        break;
    case VM_PARTIAL:
        on_partial(f, sh, s, m);
        break;
    default:
        break;
    }
}

/* ---- the adapter ------------------------------------------------------------------------- */

static int feed_init(struct feed *f)
{
    struct binance_feed *b = calloc(1, sizeof(*b));
    uint32_t rest_levels = f->cv.snapshot_limit > 1500 ? f->cv.snapshot_limit : 1500;

    if (!b)
        return err_set(-ENOMEM, "venue %s: out of memory for its decoders", f->cv.name);
    f->vd = b;
    b->dec = vdec_new(f->prof, f->d->cfg->decoder, MSG_MAX_LEVELS, 4u << 20);
    b->rest_dec = vdec_new(f->prof, f->d->cfg->decoder, rest_levels, 16u << 20);
    if (!b->dec || !b->rest_dec)
        return err_set(-ENOMEM, "venue %s: out of memory for its decoders", f->cv.name);
    return 0;
}

static void feed_fini(struct feed *f)
{
    struct binance_feed *b = f->vd;

    if (!b)
        return;
    vdec_free(b->dec);
    vdec_free(b->rest_dec);
    free(b);
    f->vd = NULL;
}

static int stream_init(struct feed *f, struct dstream *s)
{
    struct bsync *b;

    if (s->spec.type != VS_DIFF)
        return 0;
    b = calloc(1, sizeof(*b));
    if (!b || bsync_init(b, f->prof->futures ? BSYNC_BINANCE_FUTURES : BSYNC_BINANCE_SPOT, 10000,
                         8192, 1u << 16) < 0) {
        free(b);
        return err_set(-ENOMEM, "out of memory for the %s book", s->spec.symbol);
    }
    s->vbook = b;
    return 0;
}

static void stream_fini(struct dstream *s)
{
    if (!book_of(s))
        return;
    bsync_fini(book_of(s));
    free(s->vbook);
    s->vbook = NULL;
}

static uint32_t extra_types(const struct dstream *s)
{
    return 0;
}

static int on_open(struct shard *sh)
{
    return 1; /* streams are subscribed at once */
}

static int control_batch(const struct shard *sh, bool subscribe, const char *const *names, size_t n,
                         uint64_t id, char *buf, size_t cap)
{
    return binance_control_msg(subscribe, names, n, id, buf, cap);
}

static void book_interrupt(struct feed *f, struct dstream *s)
{
    uint8_t was;

    if (!book_of(s))
        return;
    was = book_of(s)->state;
    bsync_interrupt(book_of(s));
    if (was != book_of(s)->state)
        publish_book(f, s);
}

static int book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    const struct bsync *b = book_of(s);

    if (!b)
        return -1;
    *gen = b->generation;
    *resyncs = b->stats.resyncs;
    *gaps = b->stats.gaps;
    return b->state;
}

/* Any message: every stream of a Binance connection is keyed, so the overlap deduplicates. */
static bool delivers(const struct shard *sh)
{
    return sh->msgs > 0;
}

/* A book whose snapshot failed is asked again. */
static void check_stream(struct feed *f, struct dstream *s)
{
    if (book_of(s) && s->snap_for < 0 && !s->snap.queued && book_of(s)->snapshot_wanted)
        request_snapshot(f, s);
}

/* ---- candle history (REST klines) -------------------------------------------------------- */

/* Futures REST has no 1s klines (-1120). */
static bool klines_serve(const struct feed *f, int iv)
{
    return !(f->prof->futures && iv == MDF_IV_1S);
}

static int klines_url(const struct feed *f, const struct dstream *s, int64_t from_ms, int64_t to_ms,
                      uint32_t limit, char *buf, size_t cap, uint32_t *weight)
{
    return binance_klines_url(f->prof, f->cv.rest_url, s->spec.symbol, s->spec.interval, from_ms,
                              to_ms, limit, buf, cap, weight);
}

static int klines_decode(struct feed *f, const struct dstream *s, const struct http_response *resp,
                         int64_t now_ns, struct mdf_candle *out, size_t max, size_t *n)
{
    return binance_decode_klines(bf(f)->rest_dec, resp->body, resp->body_len, s->spec.interval,
                                 now_ns, now_ns, out, max, n);
}

static const struct adapter_candles klines = {
    .serves = klines_serve,
    .url = klines_url,
    .decode = klines_decode,
};

const struct feed_adapter binance_adapter = {
    .name = "binance",
    .feed_init = feed_init,
    .feed_fini = feed_fini,
    .stream_init = stream_init,
    .stream_fini = stream_fini,
    .extra_types = extra_types,
    .on_open = on_open,
    .control_batch = control_batch,
    .batch_max = SHARD_BATCH,
    .on_message = on_message,
    .book_info = book_info,
    .book_interrupt = book_interrupt,
    .delivers = delivers,
    .handover_by_snapshot = false,
    .check_stream = check_stream,
    .check_shard = NULL,
    .candles = &klines,
};
