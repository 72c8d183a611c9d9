/*
 * The Bitfinex side of a feed (src/venue/README.md §3): the adapter (daemon/adapter.h) that turns
 * every message of a Bitfinex connection, from events to channel data, into records.
 *
 * - Connections: the conf flags go first (every channel's messages are shaped by them); then one
 *   subscribe event per channel, matched back by the channel's key in the "subscribed" (or
 *   "error") echo, which gives the channel id the data messages carry; unsubscribe by id.
 *
 * - Events: the info event (platform status, restart 20051, maintenance 20060/20061), the conf
 *   reply, subscribed/unsubscribed/error for the connection's channels (shard.c keeps those).
 * - Every array message carries the connection's SEQ_ALL number: a skipped number means a
 *   message was lost, so the books it may have touched resync and the connection is replaced
 *   make-before-break, which subscribes everything afresh (snapshots) before the old one goes.
 * - Heartbeats show a channel is alive (not data). Book checksums are verified; a mismatch
 *   (or a level the book cannot hold) resyncs the book and resubscribes the channel.
 * - Trades are deduplicated by trade id ("te" publishes, "tu" only if its "te" never came), so
 *   a rotation overlap publishes nothing twice and a reconnect's trade snapshot fills what the
 *   outage missed. Channels without ids (book, ticker, candles) take data from one connection,
 *   the stream's primary; a replacement takes over at its first message (a book at its
 *   snapshot, keeping the book's generation).
 * - Candles: the snapshot's closed candles seed the candle table (flagged BACKFILLED: history,
 *   not seen closing); the newest candle is the open one, updated in place (published as a
 *   partial candle with emit_partial_candles) and published closed, once, when a newer
 *   interval's candle appears. Late changes to a closed candle are ignored.
 * - Ticker: a ticker record and a best bid/offer record per message.
 *
 * Loop thread only; nothing allocated per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/bfx_book.h"
#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "daemon/shard.h"
#include "venue/bitfinex.h"

#define BFX_MAX_ITEMS 10000     /* most levels, trades or candles one snapshot may carry */
#define BFX_MAINT_MAX_MS 300000 /* a maintenance longer than this: reconnect to ask again */

/* Conf flags every connection asks for: exact decimals as strings, the venue's time and the
 * connection's sequence number on every data message, book checksums. */
#define BFX_FLAGS (BFX_F_DEC_S | BFX_F_TIMESTAMP | BFX_F_SEQ_ALL | BFX_F_OB_CHECKSUM)

static struct bfx_msg g_bmsg;      /* decoded message (loop thread only) */
static struct log_limit venue_log; /* error events naming no channel of ours */

/* The checksummed book of a book channel, NULL for other channels. */
static inline struct bfx_book *book_of(const struct dstream *s)
{
    return s->vbook;
}

/* ---- publishing -------------------------------------------------------------------------- */

static void publish_book(struct feed *f, struct dstream *s)
{
    union mdf_record *r = &f->d->scratch;

    bfx_book_record(book_of(s), &r->book, f->d->cfg->shm.book_depth);
    feed_publish(f, s, r);
}

/* The book of s was discarded (RESYNCING): tell readers, then get a fresh snapshot by
 * resubscribing on sh (not needed when sh is being replaced: the replacement's snapshot
 * takes over). */
static void book_resynced(struct feed *f, struct shard *sh, struct dstream *s, const char *why)
{
    publish_book(f, s);
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_BOOK_RESYNC, f->venue_id, s->symbol, sh->id,
            "%s %s: resync (generation %" PRIu64 ")", s->spec.symbol, why, book_of(s)->generation);
    if (sh->role != SH_RETIRING)
        shard_resubscribe(sh, s);
}

/* ---- channels ---------------------------------------------------------------------------- */

/* True if data of s from sh is to be used: sh is its primary, or takes over (allowed: the
 * message can start a stream's state, i.e. anything but a book update) because there is none
 * or the primary is retiring or down. */
static bool take(struct dstream *s, struct shard *sh, bool can_start)
{
    const struct shard *p = s->primary;

    if (p == sh)
        return true;
    if (!can_start || (p && p->role != SH_RETIRING && p->ws.state == WSC_CONNECTED && !p->stopping))
        return false;
    s->primary = sh;
    return true;
}

static void on_book(struct feed *f, struct shard *sh, struct dstream *s, const struct bfx_msg *m,
                    int64_t recv_ns)
{
    bool snapshot = m->kind == BFX_BOOK_SNAPSHOT;
    bool handover = s->primary && s->primary != sh;
    uint8_t was = book_of(s)->state;
    int rc;

    if (!take(s, sh, snapshot)) {
        s->dups++;
        f->stats.dups++;
        return;
    }
    rc = handover ? bfx_book_handover(book_of(s), m, recv_ns)
                  : bfx_book_apply(book_of(s), m, recv_ns);
    if (rc < 0) {
        log_msg(LOG_LV_WARNING, "%s conn %u: %s", f->cv.name, sh->id, mdf_errmsg());
        book_resynced(f, sh, s, "level cannot be held");
        return;
    }
    if (snapshot)
        f->stats.snapshots++;
    if (rc == 0)
        return;
    publish_book(f, s);
    if (was != MDF_BOOK_LIVE && book_of(s)->state == MDF_BOOK_LIVE)
        ev_emit(f->d, LOG_LV_INFO, MDF_EV_BOOK_LIVE, f->venue_id, s->symbol, sh->id,
                "%s book live (generation %" PRIu64 ", %u bids, %u asks)", s->name,
                book_of(s)->generation, book_of(s)->n[0], book_of(s)->n[1]);
}

static void on_checksum(struct feed *f, struct shard *sh, struct dstream *s, int32_t cs)
{
    char why[96];

    if (!book_of(s) || s->primary != sh || bfx_book_verify(book_of(s), cs) >= 0)
        return;
    f->stats.checksums++;
    log_msg(LOG_LV_WARNING, "%s conn %u: %s", f->cv.name, sh->id, mdf_errmsg());
    snprintf(why, sizeof(why), "failed the venue's checksum (%" PRId32 ")", cs);
    book_resynced(f, sh, s, why);
}

/* A trade: published unless its id is not newer than the last one (rotation overlap, or the
 * "tu" of a "te" already published). */
static void trade(struct feed *f, struct dstream *s, const struct mdf_trade *t)
{
    union mdf_record *r = &f->d->scratch;

    if (!feed_accept_key(f, s, t->trade_id, false))
        return;
    r->trade = *t;
    if (t->last_id > s->last_trade_id)
        s->last_trade_id = t->last_id;
    feed_publish(f, s, r);
}

static void on_trades(struct feed *f, struct dstream *s, const struct bfx_msg *m)
{
    switch (m->kind) {
    case BFX_TRADES_SNAPSHOT:
        if (!s->trades_seeded && !s->last_key) {
            /* The first subscription's snapshot is history from before the daemon ran: it
             * only sets where the stream starts. Later ones fill what an outage missed. */
            for (uint32_t i = 0; i < m->n_trades; i++)
                if (m->trades[i].trade_id > s->last_key)
                    s->last_key = m->trades[i].trade_id;
            s->trades_seeded = true;
            f->stats.ignored++;
            return;
        }
        s->trades_seeded = true;
        for (uint32_t i = 0; i < m->n_trades; i++)
            trade(f, s, &m->trades[i]);
        break;
    case BFX_TRADE:
        trade(f, s, &m->trades[0]);
        break;
    case BFX_TRADE_UPDATE:
        /* The same trade written to the venue's database: used only if its "te" was lost. */
        if (m->trades[0].trade_id > s->last_key)
            trade(f, s, &m->trades[0]);
        else
            f->stats.ignored++;
        break;
    default:
        break;
    }
}

static void on_ticker(struct feed *f, struct dstream *s, const struct mdf_ticker *t)
{
    union mdf_record *r = &f->d->scratch;

    r->ticker = *t;
    feed_publish(f, s, r);
    memset(&r->bbo, 0, sizeof(r->bbo));
    r->h = t->h;
    r->h.type = MDF_REC_BBO;
    r->h.size = sizeof(r->bbo);
    r->h.flags = 0;
    r->bbo.bid_px = t->bid_px;
    r->bbo.bid_qty = t->bid_qty;
    r->bbo.ask_px = t->ask_px;
    r->bbo.ask_qty = t->ask_qty;
    feed_publish(f, s, r);
}

/* The candle the venue says is open now (an update, or a snapshot's newest). */
static void candle_open(struct feed *f, struct dstream *s, const struct mdf_candle *c)
{
    union mdf_record *r = &f->d->scratch;

    if ((s->bopen_valid && c->open_time_ns < s->bopen.open_time_ns) ||
        c->open_time_ns <= s->closed_open_ns) {
        f->stats.ignored++; /* a late change of a candle published closed already */
        return;
    }
    if (s->bopen_valid && c->open_time_ns > s->bopen.open_time_ns) {
        r->candle = s->bopen;
        r->h.flags = MDF_CANDLE_F_CLOSED; /* the next interval's candle has appeared */
        feed_stamp(f, s, r);
        candles_publish_closed(f, s, r, false);
    }
    s->bopen = *c;
    s->bopen.h.flags = 0;
    s->bopen_valid = true;
    if (f->cv.emit_partial_candles) {
        r->candle = s->bopen;
        feed_publish(f, s, r);
    }
}

static void on_candles(struct feed *f, struct dstream *s, const struct bfx_msg *m)
{
    union mdf_record *r = &f->d->scratch;

    if (m->kind == BFX_CANDLE) {
        candle_open(f, s, &m->candles[0]);
        return;
    }
    if (m->n_candles == 0)
        return;
    /* The snapshot: closed history first (seeds the table, or fills an outage), then the
     * newest, which is the open candle. */
    for (uint32_t i = 0; i + 1 < m->n_candles; i++) {
        if (m->candles[i].open_time_ns <= s->closed_open_ns)
            continue;
        r->candle = m->candles[i];
        r->h.flags = MDF_CANDLE_F_CLOSED | MDF_CANDLE_F_BACKFILLED;
        feed_stamp(f, s, r);
        candles_publish_closed(f, s, r, false);
        f->stats.backfilled++;
    }
    candle_open(f, s, &m->candles[m->n_candles - 1]);
}

/* ---- connection events ------------------------------------------------------------------- */

/* A SEQ_ALL gap: a message of this connection was lost, and which channel it belonged to is
 * unknown. Its books may be wrong: they resync; everything is subscribed afresh on a
 * replacement connection (a replacement itself reconnects). */
static void seq_gap(struct feed *f, struct shard *sh, int64_t want, int64_t got)
{
    f->stats.seq_gaps++;
    sh->seq_gaps++;
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_SEQUENCE_GAP, f->venue_id, UINT32_MAX, sh->id,
            "sequence %" PRId64 " after %" PRId64 ": %" PRId64
            " messages lost; resubscribing everything",
            got, want - 1, got > want ? got - want : 0);
    for (uint32_t i = 0; i < sh->n; i++) {
        struct dstream *s = sh->ent[i].s;

        if (book_of(s) && s->primary == sh && book_of(s)->state == MDF_BOOK_LIVE) {
            bfx_book_resync(book_of(s));
            publish_book(f, s);
        }
    }
    if (sh->role == SH_ACTIVE && !sh->partner)
        feed_rotate(f, sh);
    else if (sh->role == SH_REPLACEMENT)
        wsconn_reconnect(&sh->ws, -EPROTO);
}

static void maintenance(struct feed *f, struct shard *sh, bool on, const char *why)
{
    if (on == sh->maint && on)
        return;
    if (on) {
        f->stats.maintenance++;
        for (uint32_t i = 0; i < sh->n; i++)
            if (sh->ent[i].s->primary == sh)
                feed_book_interrupt(f, sh->ent[i].s);
    }
    shard_maintenance(sh, on);
    ev_emit(f->d, on ? LOG_LV_WARNING : LOG_LV_NOTICE, MDF_EV_VENUE_MAINTENANCE, f->venue_id,
            UINT32_MAX, sh->id, "%s: %s", why,
            on ? "paused until it ends" : "resubscribing every channel");
}

static void on_info(struct feed *f, struct shard *sh, const struct bfx_msg *m)
{
    if (m->version > 0 && m->version != 2)
        log_msg(LOG_LV_ERR, "%s conn %u: the venue speaks API version %d, not 2", f->cv.name,
                sh->id, m->version);
    if (m->platform_status == 0)
        maintenance(f, sh, true, "platform status 0 on connect");
    switch (m->code) {
    case BFX_INFO_RECONNECT:
        f->stats.shutdowns++;
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
                "the venue restarts (20051): replacing the connection now");
        feed_rotate(f, sh);
        break;
    case BFX_INFO_MAINT_START:
        maintenance(f, sh, true, "maintenance begins (20060)");
        break;
    case BFX_INFO_MAINT_END:
        if (sh->maint)
            maintenance(f, sh, false, "maintenance over (20061)");
        break;
    default:
        break;
    }
}

/* The conf event was answered (ok: the venue confirmed flags): subscriptions start. */
static void on_conf(struct shard *sh, bool ok, uint32_t flags)
{
    if (ok) {
        char cost[160];

        sh->vflags = flags & BFX_F_SUPPORTED;
        if ((flags & BFX_FLAGS) != BFX_FLAGS &&
            bitfinex_conf_missing(BFX_FLAGS, flags, cost, sizeof(cost)) >= 0)
            log_msg(LOG_LV_WARNING, "%s conn %u: the venue confirmed conf flags %u of %u asked: %s",
                    sh->f->cv.name, sh->id, flags, BFX_FLAGS, cost);
    } else {
        sh->vflags = 0;
        log_msg(LOG_LV_ERR,
                "%s conn %u: the venue refused the conf flags: books are not checksummed and "
                "missed messages cannot be detected",
                sh->f->cv.name, sh->id);
    }
    shard_ready(sh);
}

static void on_event(struct feed *f, struct shard *sh, const struct bfx_msg *m)
{
    struct dstream *s;

    switch (m->kind) {
    case BFX_INFO:
        on_info(f, sh, m);
        break;
    case BFX_CONF:
        on_conf(sh, m->ok, m->flags);
        break;
    case BFX_SUBSCRIBED:
        if (!shard_on_subscribed(sh, m->key, m->chan_id, 0, ""))
            log_msg(LOG_LV_WARNING,
                    "%s conn %u: subscribed to %s (channel %" PRId64 "), which was not asked for",
                    f->cv.name, sh->id, m->key[0] ? m->key : m->text, m->chan_id);
        break;
    case BFX_UNSUBSCRIBED:
        shard_on_unsubscribed(sh, m->chan_id);
        break;
    case BFX_ERROR:
        s = m->key[0] ? shard_on_subscribed(sh, m->key, -1, m->code ? m->code : -1, m->text) : NULL;
        if (!s)
            log_limited(&venue_log, LOG_LV_WARNING, "%s conn %u: venue error %d: %s", f->cv.name,
                        sh->id, m->code, m->text);
        break;
    default:
        f->stats.ignored++; /* pong, auth and other events of no use */
        break;
    }
}

/* ---- the message ------------------------------------------------------------------------- */

static void on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;
    struct bfx_msg *m = &g_bmsg;
    struct shard_ent *e;
    struct dstream *s = NULL;
    int rc;

    rc = bitfinex_decode(f->vd, msg, len, recv_ns, sh->vflags, m);
    if (rc < 0)
        goto bad;
    if (m->kind != BFX_HB && m->kind != BFX_CHECKSUM && m->kind != BFX_DATA) {
        on_event(f, sh, m);
        return;
    }
    /* The first number seen is where the connection's count starts: a venue that counted
     * differently must not look like a gap on every connect. */
    if (m->seq >= 0 && (sh->vflags & BFX_F_SEQ_ALL)) {
        if (sh->vseq > 0 && m->seq != sh->vseq + 1)
            seq_gap(f, sh, sh->vseq + 1, m->seq);
        sh->vseq = m->seq;
    }
    e = shard_chan(sh, m->chan_id);
    if (!e || e->s->removed) {
        f->stats.unknown += m->kind == BFX_DATA;
        return;
    }
    s = e->s;
    if (m->kind == BFX_HB) {
        feed_alive(f, s);
        return;
    }
    if (m->kind == BFX_CHECKSUM) {
        feed_alive(f, s);
        on_checksum(f, sh, s, m->checksum);
        return;
    }
    rc = bitfinex_decode_data(f->vd, &s->spec, m);
    if (rc < 0)
        goto bad;
    e->got = true;
    feed_note(f, s, recv_ns, m->ts_ns);
    switch (m->kind) {
    case BFX_BOOK_SNAPSHOT:
    case BFX_BOOK_UPDATE:
        if (book_of(s))
            on_book(f, sh, s, m, recv_ns);
        break;
    case BFX_TRADES_SNAPSHOT:
    case BFX_TRADE:
    case BFX_TRADE_UPDATE:
        on_trades(f, s, m);
        break;
    case BFX_TICKER:
        if (take(s, sh, true))
            on_ticker(f, s, m->ticker);
        else
            s->dups++, f->stats.dups++;
        break;
    case BFX_CANDLES_SNAPSHOT:
    case BFX_CANDLE:
        if (take(s, sh, true))
            on_candles(f, s, m);
        else
            s->dups++, f->stats.dups++;
        break;
    default:
        f->stats.ignored++;
        break;
    }
    return;

bad:
    feed_decode_failed(f, sh, s, rc, msg, len);
}

/* ---- the adapter ------------------------------------------------------------------------- */

/* jsmn whatever the config's decoder: exact decimals from JSON numbers need their text. A
 * snapshot of a 250-level book has 500 levels; candle snapshots are longer. */
static int feed_init(struct feed *f)
{
    f->vd = bitfinex_decoder_new(VDEC_JSMN, BFX_MAX_ITEMS, 4u << 20);
    return f->vd ? 0 : err_set(-ENOMEM, "venue %s: out of memory for its decoders", f->cv.name);
}

static void feed_fini(struct feed *f)
{
    bitfinex_decoder_free(f->vd);
    f->vd = NULL;
}

static int stream_init(struct feed *f, struct dstream *s)
{
    uint32_t len = s->spec.levels ? s->spec.levels : BFX_BOOK_LEN_DEFAULT;
    struct bfx_book *b;

    if (s->spec.type != VS_DIFF)
        return 0;
    b = calloc(1, sizeof(*b));
    if (!b || bfx_book_init(b, len + len / 2 + 8) < 0) {
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
    bfx_book_fini(book_of(s));
    free(s->vbook);
    s->vbook = NULL;
}

/* The ticker channel publishes the best bid and offer too (on_ticker). */
static uint32_t extra_types(const struct dstream *s)
{
    return s->spec.type == VS_TICKER ? 1u << MDF_REC_BBO : 0;
}

/* The flags come first: every channel's messages are shaped by them; subscriptions follow the
 * conf reply (on_conf). */
static int on_open(struct shard *sh)
{
    int len = bitfinex_conf_msg(BFX_FLAGS, sh->ctl, sh->ctl_cap);

    if (len < 0 || wsconn_send_text(&sh->ws, sh->ctl, (size_t)len) < 0) {
        log_msg(LOG_LV_ERR, "%s conn %u: cannot send the conf event: %s", sh->f->cv.name, sh->id,
                mdf_errmsg());
        return len < 0 ? len : -EIO;
    }
    sh->last_ctl_mono = clock_mono_ns();
    return 0;
}

static int control_one(const struct shard *sh, const struct shard_ent *e, bool subscribe, char *buf,
                       size_t cap)
{
    return subscribe ? bitfinex_subscribe_msg(sh->f->prof, &e->s->spec, buf, cap)
                     : bitfinex_unsubscribe_msg(e->chan_id, buf, cap);
}

static int book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    const struct bfx_book *b = book_of(s);

    if (!b)
        return -1;
    *gen = b->generation;
    *resyncs = b->stats.resyncs;
    *gaps = 0;
    return b->state;
}

static void book_interrupt(struct feed *f, struct dstream *s)
{
    uint8_t was;

    if (!book_of(s))
        return;
    was = book_of(s)->state;
    bfx_book_interrupt(book_of(s));
    if (was != book_of(s)->state)
        publish_book(f, s);
}

/* No end of maintenance announced to this connection: connect again, and the venue's info
 * event says whether it is over. */
static void check_shard(struct feed *f, struct shard *sh, int64_t now)
{
    if (!sh->maint || now - sh->maint_mono <= BFX_MAINT_MAX_MS * 1000000LL)
        return;
    log_msg(LOG_LV_WARNING, "%s conn %u: maintenance for %d s: reconnecting", f->cv.name, sh->id,
            BFX_MAINT_MAX_MS / 1000);
    wsconn_reconnect(&sh->ws, -ETIMEDOUT);
}

const struct feed_adapter bitfinex_adapter = {
    .name = "bitfinex",
    .feed_init = feed_init,
    .feed_fini = feed_fini,
    .stream_init = stream_init,
    .stream_fini = stream_fini,
    .extra_types = extra_types,
    .on_open = on_open,
    .control_one = control_one,
    .on_message = on_message,
    .book_info = book_info,
    .book_interrupt = book_interrupt,
    .delivers = shard_all_delivered, /* each channel starts with its snapshot */
    .handover_by_snapshot = true,
    .check_stream = NULL,
    .check_shard = check_shard,
    .candles = NULL,
};
