/*
 * A feed: one venue's streams, connections, books and health checks (see feed.h).
 *
 * Hot path: feed_on_message decodes the message, finds its stream by name, drops it if the
 * stream's key (trade id, update id or event time) is not newer than the last one accepted (a
 * rotation overlap delivers everything twice), and publishes. Diff-depth messages drive the
 * stream's synced book; during an overlap only the book's primary connection drives it until
 * the other connection's diffs chain onto the book, so a connection that is ahead or behind
 * never causes a false gap.
 */
#include "daemon/feed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/health_pub.h"
#include "daemon/log.h"

#define MSG_MAX_LEVELS 5000     /* levels per side one stream message may carry */
#define ROTATION_QUIET_MS 5000  /* a replacement with nothing to deliver takes over after */
#define SNAPSHOT_RETRY_MS 5000  /* a failed snapshot is asked again after */
#define ATTEMPT_SHARE 0.8       /* share of the venue's connection-attempt limit we use */
#define BFX_MAINT_MAX_MS 300000 /* a maintenance longer than this: reconnect to ask again */

static struct vmsg g_msg;          /* decoded message (loop thread only) */
static struct vmsg g_snap;         /* decoded REST snapshot (loop thread only) */
static struct log_limit parse_log; /* undecodable messages */
static struct log_limit admit_log; /* connection attempts held back */

static void request_snapshot(struct feed *f, struct dstream *s);
static void finish_rotation(struct feed *f, struct shard *nsh);

static inline int64_t now_mono(const struct feed *f)
{
    /* The loop's cached CLOCK_MONOTONIC time: ms resolution is plenty for health checks. */
    return (int64_t)uv_now(&f->d->loop) * 1000000;
}

/* ---- symbols ----------------------------------------------------------------------------- */

/* "BTCUSDT" -> "BTC/USDT" by the quote assets Binance lists; "" when none matches. */
static void normalize_symbol(const char *native, char *out, size_t cap)
{
    static const char *const quotes[] = {
        "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USD1", "BIDR", "IDRT", "BVND", "DAI", "BTC",
        "ETH",   "BNB",  "EUR",  "TRY",  "BRL",  "GBP",  "JPY",  "AUD",  "RUB",  "UAH", "ZAR",
        "PLN",   "RON",  "ARS",  "MXN",  "COP",  "CZK",  "NGN",  "XRP",  "DOGE", "TRX", "DOT",
    };
    size_t n = strlen(native), best = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
        size_t q = strlen(quotes[i]);

        if (q < n && q > best && strcmp(native + n - q, quotes[i]) == 0)
            best = q;
    }
    if (best && n + 2 <= cap)
        snprintf(out, cap, "%.*s/%s", (int)(n - best), native, native + n - best);
}

/* ---- streams ----------------------------------------------------------------------------- */

static void link_trade_evidence(struct feed *f)
{
    for (size_t i = 0; i < f->n_streams; i++) {
        struct dstream *s = f->streams[i];

        s->trades[0] = s->trades[1] = NULL;
        if (s->removed || (s->spec.type != VS_KLINE && s->spec.type != VS_TICKER))
            continue;
        for (size_t j = 0; j < f->n_streams; j++) {
            struct dstream *t = f->streams[j];

            if (t->removed || t->symbol != s->symbol)
                continue;
            if (t->spec.type == VS_TRADE)
                s->trades[0] = t;
            else if (t->spec.type == VS_AGGTRADE)
                s->trades[1] = t;
        }
    }
}

static void free_stream(struct dstream *s)
{
    hp_forget_stream(s->f->d, s);
    if (s->book) {
        bsync_fini(s->book);
        free(s->book);
    }
    if (s->bbook) {
        bfx_book_fini(s->bbook);
        free(s->bbook);
    }
    free(s);
}

/* Names stream s (Binance: its stream name; Bitfinex: its channel key), registers its
 * symbol under its normalized name and itself in the stream table. Returns 0 or negative with
 * err_set(). */
static int name_stream(struct feed *f, struct dstream *s)
{
    struct mdf_stream_entry e;
    char norm[MDF_SYMBOL_MAX];
    int64_t sym;
    int len;

    if (f->prof->family == VF_BITFINEX) {
        len = bitfinex_stream_key(f->prof, &s->spec, s->name, sizeof(s->name));
        if (len < 0)
            return err_prefix(len, "%s: stream %s", f->cv.name, s->spec.symbol);
        if (bitfinex_normalize_symbol(s->spec.symbol, norm, sizeof(norm)) < 0)
            norm[0] = '\0'; /* a pair whose split is unknown keeps only its native name */
    } else {
        len = binance_stream_name(f->prof, &s->spec, s->name, sizeof(s->name));
        if (len < 0)
            return err_set(-EINVAL, "%s: stream name too long for %s", f->cv.name, s->spec.symbol);
        normalize_symbol(s->spec.symbol, norm, sizeof(norm));
    }
    s->name_len = (uint32_t)len;
    s->hash = stream_hash(s->name, s->name_len);
    sym = state_tx_symbol(&f->d->pub.st, f->venue_id, s->spec.symbol, norm);
    if (sym < 0)
        return err_prefix((int)sym, "%s: symbol %s", f->cv.name, s->spec.symbol);
    s->symbol = (uint32_t)sym;
    stream_shm_entry(s, f->venue_id, &e);
    sym = state_tx_stream(&f->d->pub.st, &e);
    if (sym < 0)
        return err_prefix((int)sym, "%s: stream %s", f->cv.name, s->name);
    s->stream = (uint32_t)sym;
    return 0;
}

/* Creates stream spec of feed f, registers its symbol. NULL with err_set(). */
static struct dstream *new_stream(struct feed *f, const struct vstream *spec)
{
    struct daemon *d = f->d;
    struct dstream *s;

    s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    s->spec = *spec;
    s->f = f;
    s->hslot = -1;
    if (name_stream(f, s) < 0)
        goto err_free;
    s->cadence_ms = vstream_cadence_ms(f->prof, spec);
    if (f->prof->family == VF_BITFINEX) {
        /* Every channel shows a frame at least every heartbeat period (15 s): data, or an hb
         * when there is none, so a channel silent for longer is stale, not quiet. */
        s->cadence_ms = f->prof->ping_interval_s * 1000;
        if (spec->type == VS_DIFF) {
            uint32_t len = spec->levels ? spec->levels : BFX_BOOK_LEN_DEFAULT;

            s->bbook = calloc(1, sizeof(*s->bbook));
            if (!s->bbook || bfx_book_init(s->bbook, len + len / 2 + 8) < 0) {
                free(s->bbook);
                s->bbook = NULL;
                err_set(-ENOMEM, "out of memory for the %s book", spec->symbol);
                goto err_free;
            }
        }
    } else if (spec->type == VS_DIFF) {
        s->book = calloc(1, sizeof(*s->book));
        if (!s->book ||
            bsync_init(s->book, f->prof->futures ? BSYNC_BINANCE_FUTURES : BSYNC_BINANCE_SPOT,
                       10000, 8192, 1u << 16) < 0) {
            free(s->book);
            s->book = NULL;
            err_set(-ENOMEM, "out of memory for the %s book", spec->symbol);
            goto err_free;
        }
    }
    if (spec->type == VS_KLINE) {
        /* An adopted state segment remembers the candles published before a restart: the gap
         * since then is backfilled like an outage. */
        struct mdf_candle last;
        uint64_t retries = 0;

        if (state_rx_candles(d->pub.st.base, s->symbol, spec->interval, true, 1, 0, 0, &last,
                             &retries) == 1 &&
            (last.h.flags & MDF_CANDLE_F_CLOSED)) {
            s->closed_open_ns = last.open_time_ns;
            s->closed_close_ns = last.close_time_ns;
        }
    }
    return s;

err_free:
    free(s);
    return NULL;
}

static int add_stream_ptr(struct feed *f, struct dstream *s)
{
    if (f->n_streams == f->cap_streams) {
        size_t cap = f->cap_streams ? 2 * f->cap_streams : 64;
        struct dstream **v = realloc(f->streams, cap * sizeof(*v));

        if (!v)
            return err_set(-ENOMEM, "out of memory");
        f->streams = v;
        f->cap_streams = cap;
    }
    f->streams[f->n_streams++] = s;
    return 0;
}

/* Puts s on a connection of its route with room (a replacement when one is opening, so the
 * stream survives the rotation), or on a new one. */
static int place_stream(struct feed *f, struct dstream *s, bool start)
{
    enum venue_route route =
        f->prof->family == VF_BITFINEX ? VR_ROOT : binance_stream_route(f->prof, &s->spec);
    struct shard *sh;
    int rc;

    for (sh = f->shards; sh; sh = sh->next) {
        if (sh->stopping || sh->route != route || sh->role == SH_RETIRING)
            continue;
        if (shard_count(sh) < f->cv.streams_per_conn && shard_add(sh, s) == 0) {
            s->shard = sh;
            return 0;
        }
    }
    sh = shard_new(f, route, SH_ACTIVE, f->cv.streams_per_conn);
    if (!sh)
        return -ENOMEM;
    rc = shard_add(sh, s);
    if (rc < 0)
        return rc;
    s->shard = sh;
    return start ? shard_start(sh) : 0;
}

/* ---- publishing -------------------------------------------------------------------------- */

static void recovered(struct feed *f, struct dstream *s)
{
    uint32_t was = s->flags & (DS_F_SILENT | DS_F_STALE);

    s->flags &= ~(DS_F_SILENT | DS_F_STALE);
    ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_FEED_RECOVERED, f->venue_id, s->symbol,
            s->shard ? s->shard->id : 0, "%s delivers again (was %s)", s->name,
            was & DS_F_SILENT ? "silent" : "stale");
}

static void publish_book(struct feed *f, struct dstream *s)
{
    union mdf_record *r = &f->d->scratch;

    bsync_record(s->book, &r->book, f->d->cfg->shm.book_depth);
    r->h.venue = f->venue_id;
    r->h.symbol = s->symbol;
    r->h.stream = s->stream;
    daemon_publish(f->d, r);
    f->stats.records++;
}

/* The book's stream was interrupted: a LIVE book is published STALE (readers see it is no
 * longer maintained) and resyncs on the next diff. */
void feed_book_interrupt(struct feed *f, struct dstream *s)
{
    uint8_t was;

    if (s->bbook) {
        was = s->bbook->state;
        bfx_book_interrupt(s->bbook);
        if (was != s->bbook->state)
            bfx_publish_book(f, s);
        return;
    }
    if (!s->book)
        return;
    was = s->book->state;
    bsync_interrupt(s->book);
    if (was != s->book->state)
        publish_book(f, s);
}

int feed_book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    uint64_t g = 0, r = 0, x = 0;
    int state = -1;

    if (s->bbook) {
        state = s->bbook->state;
        g = s->bbook->generation;
        r = s->bbook->stats.resyncs;
    } else if (s->book) {
        state = s->book->state;
        g = s->book->generation;
        r = s->book->stats.resyncs;
        x = s->book->stats.gaps;
    }
    if (gen)
        *gen = g;
    if (resyncs)
        *resyncs = r;
    if (gaps)
        *gaps = x;
    return state;
}

void feed_mark_books_stale(struct feed *f)
{
    for (size_t i = 0; i < f->n_streams; i++)
        if (feed_book_state(f->streams[i]) == MDF_BOOK_LIVE)
            feed_book_interrupt(f, f->streams[i]);
}

/* Acts on what the book's sync rule said. */
static void book_result(struct feed *f, struct dstream *s, int res, uint8_t was)
{
    switch (res) {
    case BS_APPLIED:
        publish_book(f, s);
        if (was != MDF_BOOK_LIVE && s->book->state == MDF_BOOK_LIVE)
            ev_emit(f->d, LOG_LV_INFO, MDF_EV_BOOK_LIVE, f->venue_id, s->symbol,
                    s->primary ? s->primary->id : 0,
                    "%s book live at update %" PRId64 " (generation %" PRIu64 ")", s->spec.symbol,
                    s->book->last_id, s->book->generation);
        break;
    case BS_SNAPSHOT:
        if (was == MDF_BOOK_EMPTY || was == MDF_BOOK_STALE)
            publish_book(f, s); /* SYNCING (or RESYNCING): readers see it is not usable */
        request_snapshot(f, s);
        break;
    case BS_RESYNC:
        publish_book(f, s);
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_BOOK_RESYNC, f->venue_id, s->symbol,
                s->primary ? s->primary->id : 0,
                "%s gap after update %" PRId64 ": resync (generation %" PRIu64 ")", s->spec.symbol,
                s->book->last_id, s->book->generation);
        request_snapshot(f, s);
        break;
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
    rc = binance_decode_snapshot(f->rest_dec, resp->body, resp->body_len, &g_snap);
    if (rc < 0) {
        f->stats.parse_errors++;
        log_msg(LOG_LV_WARNING, "%s: snapshot of %s does not decode: %s", f->cv.name,
                s->spec.symbol, mdf_errmsg());
        s->snap_for = -1;
        return;
    }
    f->stats.snapshots++;
    was = s->book->state;
    book_result(f, s, bsync_snapshot(s->book, &g_snap), was);
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
    s->snap_for = (int64_t)s->book->generation;
    rc = restq_submit(&f->rq, &s->snap);
    if (rc < 0)
        log_msg(LOG_LV_ERR, "%s: snapshot request for %s refused: %s", f->cv.name, s->spec.symbol,
                mdf_errmsg());
}

/* Accepts a record of stream s whose key is `key` unless it is not newer than the last one
 * (a duplicate from the other connection of a rotation). `consecutive`: ids that go up by one,
 * so a jump is counted as a gap. */
bool feed_accept_key(struct feed *f, struct dstream *s, int64_t key, bool consecutive)
{
    if (s->last_key && key <= s->last_key) {
        s->dups++;
        f->stats.dups++;
        return false;
    }
    if (consecutive && s->last_key && key > s->last_key + 1)
        s->gaps++;
    s->last_key = key;
    return true;
}

static void on_record(struct feed *f, struct dstream *s, struct vmsg *m)
{
    union mdf_record *r = &m->rec;
    int64_t key;

    switch (r->h.type) {
    case MDF_REC_TRADE:
        if (!feed_accept_key(f, s, r->trade.trade_id, true))
            return;
        if (r->trade.last_id > s->last_trade_id)
            s->last_trade_id = r->trade.last_id;
        break;
    case MDF_REC_BBO:
        key = r->bbo.update_id ? r->bbo.update_id : r->h.exch_time_ns;
        if (!feed_accept_key(f, s, key, false))
            return;
        break;
    case MDF_REC_CANDLE:
        if (!feed_accept_key(f, s, r->h.exch_time_ns, false))
            return;
        for (int i = 0; i < 2; i++)
            if (s->trades[i] && r->candle.last_id > s->trades[i]->venue_last_trade)
                s->trades[i]->venue_last_trade = r->candle.last_id;
        r->h.venue = f->venue_id;
        r->h.symbol = s->symbol;
        r->h.stream = s->stream;
        candles_on_kline(f, s, r);
        return;
    case MDF_REC_TICKER:
        if (!feed_accept_key(f, s, r->h.exch_time_ns, false))
            return;
        for (int i = 0; i < 2; i++)
            if (s->trades[i] && r->ticker.last_id > s->trades[i]->venue_last_trade)
                s->trades[i]->venue_last_trade = r->ticker.last_id;
        break;
    default:
        if (!feed_accept_key(f, s, r->h.exch_time_ns ? r->h.exch_time_ns : r->h.tx_time_ns, false))
            return;
        break;
    }
    r->h.venue = f->venue_id;
    r->h.symbol = s->symbol;
    r->h.stream = s->stream;
    daemon_publish(f->d, r);
    f->stats.records++;
}

static void on_partial(struct feed *f, struct shard *sh, struct dstream *s, const struct vmsg *m)
{
    union mdf_record *r = &f->d->scratch;
    uint32_t depth = f->d->cfg->shm.book_depth;
    uint32_t nb = m->n_bids < depth ? m->n_bids : depth;
    uint32_t na = m->n_asks < depth ? m->n_asks : depth;

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
    memset(&r->book, 0, MDF_BOOK_SIZE(depth));
    r->h.type = MDF_REC_BOOK;
    r->h.size = (uint16_t)MDF_BOOK_SIZE(depth);
    r->h.flags = MDF_BOOK_F_PARTIAL;
    r->h.venue = f->venue_id;
    r->h.symbol = s->symbol;
    r->h.stream = s->stream;
    r->h.exch_time_ns = m->exch_time_ns;
    r->h.tx_time_ns = m->tx_time_ns;
    r->h.recv_time_ns = m->rec.h.recv_time_ns;
    r->h.venue_seq = (uint64_t)m->last_id;
    r->book.state = MDF_BOOK_LIVE;
    r->book.depth = (uint16_t)depth;
    r->book.n_bids = (uint16_t)nb;
    r->book.n_asks = (uint16_t)na;
    r->book.first_update_id = m->first_id ? m->first_id : m->last_id;
    r->book.last_update_id = m->last_id;
    for (uint32_t i = 0; i < nb; i++)
        r->book.levels[i] = (struct mdf_level){.px = m->bids[i].px, .qty = m->bids[i].qty};
    for (uint32_t i = 0; i < na; i++)
        r->book.levels[depth + i] = (struct mdf_level){.px = m->asks[i].px, .qty = m->asks[i].qty};
    daemon_publish(f->d, r);
    f->stats.records++;
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

    if (!s->book)
        return;
    if (s->primary && sh != s->primary) {
        /* The other connection of a rotation: it takes over the book once its diffs chain on;
         * until then its copies are duplicates (or ahead, which the primary will cover). */
        if (s->book->state != MDF_BOOK_LIVE || !bsync_would_chain(s->book, &dd)) {
            s->dups++;
            f->stats.dups++;
            return;
        }
    }
    s->primary = sh;
    was = s->book->state;
    book_result(f, s, bsync_diff(s->book, &dd), was);
}

void feed_note(struct feed *f, struct dstream *s, int64_t recv_ns, int64_t exch_ns)
{
    s->msgs++;
    s->last_mono = now_mono(f);
    s->last_recv_ns = recv_ns;
    if (exch_ns) {
        int64_t delay = recv_ns - exch_ns;

        s->last_exch_ns = exch_ns;
        s->delay_ewma_ns += (delay - s->delay_ewma_ns) / 16;
        if (delay > s->delay_max_ns)
            s->delay_max_ns = delay;
    }
    if (s->flags & (DS_F_SILENT | DS_F_STALE))
        recovered(f, s);
}

void feed_alive(struct feed *f, struct dstream *s)
{
    s->last_mono = now_mono(f);
    if (s->flags & (DS_F_SILENT | DS_F_STALE))
        recovered(f, s);
}

void feed_on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;
    struct vmsg *m = &g_msg;
    struct dstream *s;
    int rc;

    if (sh->bfx) {
        bfx_on_message(sh, msg, len, recv_ns);
        return;
    }
    f->stats.msgs++;
    sh->msgs++;
    sh->last_msg_ns = recv_ns;
    rc = binance_decode(f->dec, msg, len, recv_ns, m);
    if (rc < 0) {
        f->stats.parse_errors++;
        f->stats.range_errors += rc == -ERANGE;
        log_limited(&parse_log, LOG_LV_WARNING, "%s conn %u: message does not decode (%s): %.*s",
                    f->cv.name, sh->id, mdf_errmsg(), (int)(len < 160 ? len : 160),
                    (const char *)msg);
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

/* ---- connections ------------------------------------------------------------------------- */

void feed_on_connected(struct shard *sh)
{
    struct feed *f = sh->f;

    ev_emit(f->d, LOG_LV_INFO, MDF_EV_CONNECTION_ESTABLISHED, f->venue_id, UINT32_MAX, sh->id,
            "%s, %u streams%s", sh->ws.url_text, shard_count(sh),
            sh->role == SH_REPLACEMENT ? " (replacement)" : "");
    /* Candles missed while this connection was down are looked for on the next message. */
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].s->spec.type == VS_KLINE && sh->role != SH_REPLACEMENT)
            sh->ent[i].s->backfill_check = true;
}

void feed_on_acked(struct shard *sh, struct dstream *s)
{
    if (s->shard == sh || !s->shard)
        s->acked_mono = now_mono(sh->f);
}

void feed_on_disconnected(struct shard *sh, int err)
{
    struct feed *f = sh->f;
    struct shard *other = sh->partner;

    if (err)
        sh->last_error_ns = clock_real_ns();
    if (f->stopping)
        return;
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_CONNECTION_DISCONNECTED, f->venue_id, UINT32_MAX, sh->id,
            "%s: %s", err ? err_name(err) : "closed", sh->ws.stats.last_error_msg);
    if (sh->role == SH_RETIRING) {
        /* Lost while being replaced: the replacement carries on alone. */
        for (uint32_t i = 0; i < sh->n; i++)
            if (sh->ent[i].s->primary == sh)
                sh->ent[i].s->primary = other;
        if (other)
            finish_rotation(f, other);
        return;
    }
    if (sh->role == SH_REPLACEMENT)
        return; /* the retiring connection still delivers; the replacement reconnects */
    ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CONNECTION_RECONNECTING, f->venue_id, UINT32_MAX, sh->id,
            "reconnecting by the backoff schedule");
    for (uint32_t i = 0; i < sh->n; i++) {
        struct dstream *s = sh->ent[i].s;

        s->acked_mono = 0;
        if (s->primary == sh) {
            s->primary = NULL;
            feed_book_interrupt(f, s);
        }
    }
}

void feed_on_shard_stopped(struct shard *sh)
{
    struct feed *f = sh->f;
    struct shard **pp;

    for (pp = &f->shards; *pp; pp = &(*pp)->next)
        if (*pp == sh) {
            *pp = sh->next;
            break;
        }
    for (size_t i = 0; i < f->n_streams; i++) {
        if (f->streams[i]->shard == sh)
            f->streams[i]->shard = NULL;
        if (f->streams[i]->primary == sh)
            f->streams[i]->primary = NULL;
    }
}

/* Connection attempts the feed allows itself per window: the config's, else a share of the
 * venue's limit; and that window in seconds. */
static double attempt_cap(const struct feed *f)
{
    return f->cv.conn.conn_attempts ? (double)f->cv.conn.conn_attempts
                                    : f->prof->conn_attempts * ATTEMPT_SHARE;
}

static double attempt_window_s(const struct feed *f)
{
    return f->cv.conn.conn_window > 0 ? f->cv.conn.conn_window : (double)f->prof->conn_window_s;
}

uint32_t feed_admit(struct feed *f)
{
    uint32_t cap = (uint32_t)attempt_cap(f);
    int64_t window = (int64_t)(attempt_window_s(f) * 1000);
    int64_t now = clock_mono_ns() / 1000000, oldest;

    if (cap < 1)
        cap = 1;
    /* The limit holds over every window, not on average: a record of the last cap attempts,
     * and an attempt waits until the oldest of them is a window old. */
    if (cap != f->attempt_cap) {
        int64_t *ring = realloc(f->attempt_ms, cap * sizeof(*ring));

        if (!ring)
            return 1000; /* try again in a second (control path, out of memory) */
        f->attempt_ms = ring;
        f->attempt_cap = cap;
        f->attempt_n = 0;
        f->attempt_head = 0;
    }
    if (f->attempt_n < cap) {
        f->attempt_ms[(f->attempt_head + f->attempt_n++) % cap] = now;
        return 0;
    }
    oldest = f->attempt_ms[f->attempt_head];
    if (now - oldest >= window) {
        f->attempt_ms[f->attempt_head] = now;
        f->attempt_head = (f->attempt_head + 1) % cap;
        return 0;
    }
    log_limited(&admit_log, LOG_LV_NOTICE, "%s: connection attempt held back (limit %u per %.0f s)",
                f->cv.name, cap, attempt_window_s(f));
    return (uint32_t)(oldest + window - now) + 1;
}

/* ---- rotation ---------------------------------------------------------------------------- */

void feed_rotate(struct feed *f, struct shard *old)
{
    struct shard *nsh;

    if (old->stopping || old->partner || f->stopping)
        return;
    if (old->role == SH_REPLACEMENT)
        return; /* the replacement itself: it becomes active first */
    nsh = shard_new(f, old->route, SH_REPLACEMENT, f->cv.streams_per_conn);
    if (!nsh) {
        log_msg(LOG_LV_ERR, "%s: cannot open a replacement for conn %u: %s", f->cv.name, old->id,
                mdf_errmsg());
        return;
    }
    for (uint32_t i = 0; i < old->n; i++) {
        uint8_t st = old->ent[i].state;

        if (st != SUB_UNWANT && st != SUB_UNSENT && !old->ent[i].s->removed)
            shard_add(nsh, old->ent[i].s);
    }
    old->role = SH_RETIRING;
    old->partner = nsh;
    nsh->partner = old;
    ev_emit(f->d, LOG_LV_INFO, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, old->id,
            "conn %u opens to replace it (%u streams)", nsh->id, shard_count(nsh));
    if (shard_start(nsh) < 0)
        log_msg(LOG_LV_ERR, "%s: replacement conn %u did not start", f->cv.name, nsh->id);
}

static void finish_rotation(struct feed *f, struct shard *nsh)
{
    struct shard *old = nsh->partner;

    for (uint32_t i = 0; i < nsh->n; i++) {
        struct dstream *s = nsh->ent[i].s;

        s->shard = nsh;
        s->acked_mono = nsh->ent[i].acked_mono;
        if (!s->primary || s->primary == old) {
            /* A Bitfinex book the replacement has not taken over (no snapshot from it yet)
             * cannot go on from the replacement's updates: it waits for that snapshot. */
            if (nsh->bfx && s->primary == old)
                feed_book_interrupt(f, s);
            s->primary = nsh;
        }
    }
    nsh->role = SH_ACTIVE;
    nsh->partner = NULL;
    if (old) {
        old->partner = NULL;
        shard_stop(old);
        log_msg(LOG_LV_INFO, "%s: conn %u replaced conn %u", f->cv.name, nsh->id, old->id);
    }
    f->stats.rotations++;
}

/* ---- health checks ----------------------------------------------------------------------- */

int64_t feed_stale_threshold(const struct feed *f, const struct dstream *s)
{
    const struct cfg_health *h = &f->cv.health;
    int64_t ms = 1000000, thr;
    bool trade = s->spec.type == VS_TRADE || s->spec.type == VS_AGGTRADE;

    if (s->cadence_ms) {
        thr = (int64_t)(h->stale_factor * s->cadence_ms) * ms;
        if (thr < (int64_t)(h->stale_min * 1000) * ms)
            thr = (int64_t)(h->stale_min * 1000) * ms;
    } else if (trade && s->venue_last_trade > s->last_trade_id) {
        thr = (int64_t)(h->stale_min * 1000) * ms; /* trades happen that we do not get */
    } else if (h->stale_quiet > 0) {
        thr = (int64_t)(h->stale_quiet * 1000) * ms;
    } else {
        thr = 0; /* quiet is normal for it */
    }
    return thr;
}

static void check_stream(struct feed *f, struct dstream *s, int64_t now)
{
    const struct cfg_health *h = &f->cv.health;
    int64_t ms = 1000000, thr;
    bool trade = s->spec.type == VS_TRADE || s->spec.type == VS_AGGTRADE;

    if (s->removed || (s->flags & DS_F_FAILED) || !s->acked_mono || !s->shard ||
        s->shard->ws.state != WSC_CONNECTED || s->shard->maint || s->spec.type == VS_FORCEORDER)
        return;
    if (s->last_mono < s->acked_mono) {
        /* Acknowledged, nothing since. */
        if (s->cadence_ms)
            thr = (int64_t)(h->silent_after * 1000) * ms;
        else if (trade && s->venue_last_trade > s->last_trade_id && s->last_trade_id)
            thr = (int64_t)(h->silent_after * 1000) * ms; /* the venue trades, we see none */
        else if (h->stale_quiet > 0)
            thr = (int64_t)(h->stale_quiet * 1000) * ms;
        else
            return;
        if (s->cadence_ms && thr < 3 * (int64_t)s->cadence_ms * ms)
            thr = 3 * (int64_t)s->cadence_ms * ms;
        if (!(s->flags & DS_F_SILENT) && now - s->acked_mono > thr) {
            s->flags |= DS_F_SILENT;
            ev_emit(f->d, LOG_LV_WARNING, MDF_EV_SUBSCRIPTION_SILENT, f->venue_id, s->symbol,
                    s->shard->id, "%s acknowledged %.1f s ago, nothing since", s->name,
                    (double)(now - s->acked_mono) / 1e9);
        }
        return;
    }
    thr = feed_stale_threshold(f, s);
    if (!thr)
        return; /* quiet is normal for it */
    if (!(s->flags & DS_F_STALE) && now - s->last_mono > thr) {
        s->flags |= DS_F_STALE;
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_FEED_STALE, f->venue_id, s->symbol, s->shard->id,
                "%s: nothing for %.1f s (threshold %.1f s)", s->name,
                (double)(now - s->last_mono) / 1e9, (double)thr / 1e9);
        if (feed_book_state(s) == MDF_BOOK_LIVE)
            feed_book_interrupt(f, s);
    }
}

/* Frees removed streams that no connection carries any more. */
static void sweep_removed(struct feed *f)
{
    bool changed = false;

    for (size_t i = 0; i < f->n_streams;) {
        struct dstream *s = f->streams[i];
        bool carried = false;

        if (!s->removed) {
            i++;
            continue;
        }
        for (struct shard *sh = f->shards; sh && !carried; sh = sh->next)
            for (uint32_t k = 0; k < sh->n && !carried; k++)
                carried = sh->ent[k].s == s;
        if (carried || s->snap.queued || s->klines.queued) {
            i++;
            continue;
        }
        f->streams[i] = f->streams[--f->n_streams];
        free_stream(s);
        changed = true;
    }
    if (changed)
        link_trade_evidence(f);
}

/* True once a replacement connection delivers: Binance, any message; Bitfinex, every channel
 * (each starts with its snapshot, which is when it takes its stream over). */
static bool replacement_delivers(const struct shard *sh)
{
    if (!sh->bfx)
        return sh->msgs > 0;
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].state == SUB_ACKED && !sh->ent[i].got)
            return false;
    return true;
}

static void on_check(uv_timer_t *t)
{
    struct feed *f = t->data;
    int64_t now = now_mono(f);
    int64_t max_age = (int64_t)(f->cv.conn.max_age * 1e9);
    struct shard *sh, *next;

    for (size_t i = 0; i < f->n_streams; i++) {
        struct dstream *s = f->streams[i];

        check_stream(f, s, now);
        if (s->book && s->snap_for < 0 && !s->snap.queued && s->book->snapshot_wanted)
            request_snapshot(f, s);
    }
    for (sh = f->shards; sh; sh = next) {
        next = sh->next;
        if (sh->stopping || sh->ws.state != WSC_CONNECTED)
            continue;
        if (sh->role == SH_ACTIVE && !sh->partner && now - sh->connected_mono >= max_age) {
            ev_emit(f->d, LOG_LV_INFO, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
                    "connection age %.0f s reached max_connection_age",
                    (double)(now - sh->connected_mono) / 1e9);
            feed_rotate(f, sh);
        } else if (sh->role == SH_REPLACEMENT && sh->all_acked_mono &&
                   (replacement_delivers(sh) ||
                    now - sh->all_acked_mono > ROTATION_QUIET_MS * 1000000LL)) {
            finish_rotation(f, sh);
        } else if (sh->maint && now - sh->maint_mono > BFX_MAINT_MAX_MS * 1000000LL) {
            /* No end of maintenance announced to this connection: connect again, and the
             * venue's info event says whether it is over. */
            log_msg(LOG_LV_WARNING, "%s conn %u: maintenance for %d s: reconnecting", f->cv.name,
                    sh->id, BFX_MAINT_MAX_MS / 1000);
            wsconn_reconnect(&sh->ws, -ETIMEDOUT);
        }
    }
    sweep_removed(f);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

struct feed *feed_new(struct daemon *d, const struct cfg_venue *cv)
{
    struct feed *f;
    int vid;

    f = calloc(1, sizeof(*f));
    if (!f) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    f->d = d;
    f->cv = *cv;
    f->cv.streams = NULL;
    f->cv.n_streams = 0;
    f->prof = cv->profile;
    vid = state_tx_venue(&d->pub.st, cv->name);
    if (vid < 0) {
        err_prefix(vid, "venue %s", cv->name);
        goto err_free;
    }
    f->venue_id = (uint16_t)vid;
    f->tls = daemon_tls(d, cv->ca_file);
    if (!f->tls)
        goto err_free;
    if (f->prof->family == VF_BITFINEX) {
        /* jsmn whatever the config's decoder: exact decimals from JSON numbers need their
         * text. A snapshot of a 250-level book has 500 levels; candle snapshots are longer. */
        f->bdec = bitfinex_decoder_new(VDEC_JSMN, BFX_MAX_ITEMS, 4u << 20);
        if (!f->bdec)
            goto err_free;
    } else {
        f->dec = vdec_new(f->prof, d->cfg->decoder, MSG_MAX_LEVELS, 4u << 20);
        f->rest_dec = vdec_new(f->prof, d->cfg->decoder,
                               cv->snapshot_limit > 1500 ? cv->snapshot_limit : 1500, 16u << 20);
        f->klines_cap = f->prof->klines_limit;
        f->klines = calloc(f->klines_cap, sizeof(*f->klines));
    }
    if (!f->bdec && (!f->dec || !f->rest_dec || !f->klines)) {
        err_set(-ENOMEM, "venue %s: out of memory for its decoders", cv->name);
        goto err_free;
    }
    for (size_t i = 0; i < cv->n_streams; i++) {
        struct dstream *s = new_stream(f, &cv->streams[i]);

        if (!s)
            goto err_free;
        if (add_stream_ptr(f, s) < 0) {
            free_stream(s);
            goto err_free;
        }
    }
    if (stream_map_build(&f->map, f->streams, f->n_streams) < 0) {
        err_set(-ENOMEM, "out of memory");
        goto err_free;
    }
    link_trade_evidence(f);
    return f;

err_free:
    feed_free(f);
    return NULL;
}

int feed_start(struct feed *f)
{
    struct daemon *d = f->d;
    uint64_t every = (uint64_t)(f->cv.health.check_interval * 1000);
    struct restq_params rp = {0};
    int rc;

    rp.name = f->cv.name;
    rp.tls = f->tls;
    rp.weight_limit = f->prof->rest_weight_per_min;
    rp.share = f->cv.rest_weight_share;
    rp.max_inflight = 2;
    rp.timeout_ms = 10000;
    rp.max_body = 16u << 20;
    rp.max_tries = 4;
    rc = restq_init(&f->rq, &d->loop, &rp);
    if (rc < 0)
        return err_prefix(rc, "venue %s: REST queue", f->cv.name);
    f->rq.ud = f;
    f->rq_ready = true;
    uv_timer_init(&d->loop, &f->check_timer);
    f->check_timer.data = f;
    f->timer_ready = true;
    for (size_t i = 0; i < f->n_streams; i++) {
        rc = place_stream(f, f->streams[i], false);
        if (rc < 0)
            return err_prefix(rc, "venue %s", f->cv.name);
    }
    for (struct shard *sh = f->shards; sh; sh = sh->next) {
        rc = shard_start(sh);
        if (rc < 0 && rc != -EALREADY)
            return rc;
    }
    uv_timer_start(&f->check_timer, on_check, every, every);
    ev_emit(d, LOG_LV_NOTICE, MDF_EV_FEED_STARTED, f->venue_id, UINT32_MAX, 0,
            "%zu streams on %u connections", f->n_streams, feed_connections(f));
    return 0;
}

int feed_reload(struct feed *f, const struct cfg_venue *cv)
{
    size_t added = 0, removed = 0;
    bool *keep;
    int rc = 0;

    keep = calloc(f->n_streams + 1, sizeof(*keep));
    if (!keep)
        return err_set(-ENOMEM, "out of memory");
    /* Settings apply to connections opened from now on. */
    f->cv = *cv;
    f->cv.streams = NULL;
    f->cv.n_streams = 0;
    for (size_t i = 0; i < cv->n_streams; i++) {
        const struct vstream *spec = &cv->streams[i];
        bool found = false;

        for (size_t k = 0; k < f->n_streams && !found; k++)
            if (!f->streams[k]->removed && vstream_equal(&f->streams[k]->spec, spec))
                found = keep[k] = true;
        if (found)
            continue;
        /* New stream. */
        struct dstream *s = new_stream(f, spec);

        if (!s) {
            rc = -EINVAL;
            break;
        }
        if (add_stream_ptr(f, s) < 0) {
            free_stream(s);
            rc = -ENOMEM;
            break;
        }
        rc = place_stream(f, s, true);
        if (rc < 0)
            break;
        added++;
    }
    if (rc == 0) {
        for (size_t k = 0; k < f->n_streams; k++) {
            struct dstream *s = f->streams[k];

            if (k >= f->n_streams - added || keep[k] || s->removed)
                continue;
            s->removed = true;
            removed++;
            state_tx_stream_retire(&f->d->pub.st, s->stream);
            restq_cancel(&f->rq, &s->snap);
            restq_cancel(&f->rq, &s->klines);
            for (struct shard *sh = f->shards; sh; sh = sh->next)
                shard_remove(sh, s);
        }
    }
    free(keep);
    if (stream_map_build(&f->map, f->streams, f->n_streams) < 0)
        return err_set(-ENOMEM, "out of memory");
    link_trade_evidence(f);
    uv_timer_set_repeat(&f->check_timer, (uint64_t)(f->cv.health.check_interval * 1000));
    log_msg(LOG_LV_NOTICE, "%s: reload: %zu streams added, %zu removed", f->cv.name, added,
            removed);
    return rc;
}

uint32_t feed_connections(const struct feed *f)
{
    uint32_t n = 0;

    for (const struct shard *sh = f->shards; sh; sh = sh->next)
        n++;
    return n;
}

static void on_rq_stopped(struct restq *q)
{
    struct feed *f = q->ud;

    f->closing--;
}

static void on_check_closed(uv_handle_t *h)
{
    struct feed *f = h->data;

    f->timer_ready = false;
    f->closing--;
}

void feed_stop(struct feed *f)
{
    struct shard *sh, *next;

    if (f->stopping)
        return;
    f->stopping = true;
    for (sh = f->shards; sh; sh = next) {
        next = sh->next;
        shard_stop(sh);
    }
    if (f->rq_ready) {
        f->closing++;
        restq_stop(&f->rq, on_rq_stopped);
    }
    if (f->timer_ready) {
        f->closing++;
        uv_close((uv_handle_t *)&f->check_timer, on_check_closed);
    }
    ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_FEED_STOPPING, f->venue_id, UINT32_MAX, 0,
            "%" PRIu64 " messages, %" PRIu64 " records, %" PRIu64 " duplicates dropped, %" PRIu64
            " rotations",
            f->stats.msgs, f->stats.records, f->stats.dups, f->stats.rotations);
}

bool feed_stopped(const struct feed *f)
{
    return f->stopping && f->closing == 0 && !f->shards;
}

void feed_free(struct feed *f)
{
    if (!f)
        return;
    if (f->rq_ready)
        restq_fini(&f->rq);
    for (size_t i = 0; i < f->n_streams; i++)
        free_stream(f->streams[i]);
    free(f->streams);
    stream_map_free(&f->map);
    vdec_free(f->dec);
    vdec_free(f->rest_dec);
    bitfinex_decoder_free(f->bdec);
    free(f->klines);
    free(f->attempt_ms);
    free(f);
}
