/*
 * The OKX v5 public side of a feed (src/venue/README.md §4.2): the adapter (daemon/adapter.h)
 * that turns every message of an OKX connection into records.
 *
 * - Control: batched {"id":"N","op":"subscribe","args":[{channel, instId},...]}. The venue
 *   answers each arg on its own ({"event":"subscribe","arg":{...}}), so acknowledgements go by
 *   the stream's key "channel:instId" (shard_on_subscribed), each given a channel id of the
 *   feed's own so the connection's unsubscribe answers find their entry; a refused arg comes as
 *   error 60018 naming channel and instId in its msg (by key too), other errors by the request
 *   id (shard_on_reply).
 * - Requests: the venue allows 480 subscribe and unsubscribe requests per connection per hour.
 *   The adapter counts them per connection over the last hour; a book resync that would go
 *   over the budget (less a reserve for refused batches) replaces the connection instead of
 *   resubscribing (feed_rotate: the new one subscribes everything afresh, books from fresh
 *   snapshots), and so does the venue's 60014 (over the limit).
 * - Keepalive: the text "ping" once the connection has been silent 25 s either way (the venue
 *   cuts at 30 s); its "pong" is a message like any other, not a parse error.
 * - Books (book/okx_book.c): the snapshot on subscribe, then updates chained by prevSeqId,
 *   checksum verified whenever non-zero. seqIds are the venue's per book, the same on every
 *   connection, so during a rotation overlap any update that chains on the book drives it
 *   (whichever connection is ahead), one whose seqId was applied already is a duplicate, and
 *   only a break on the book's own connection is a gap. A gap or a bad checksum resyncs that
 *   book alone: published RESYNCING, BOOK_RESYNC event, the stream resubscribed for a fresh
 *   snapshot. A replacement connection's snapshot takes a book over (handover_by_snapshot is
 *   false: the replacement's updates chain on the same seqIds).
 * - books5: the venue's top 5, published whole as a partial book. bbo-tbt, tickers,
 *   mark-price and funding-rate: one record per message, deduplicated by seqId or the venue's
 *   ts (a lower seqId only with a newer ts: the venue's sequence restarted). Trades:
 *   deduplicated by trade id (ordered per instrument). Candles: confirm "1" is a closed candle
 *   (candles_on_kline); they carry no push key, so one connection, the stream's primary,
 *   delivers them.
 * - Notice 64008 (the connection will be closed for a service upgrade): replaced
 *   make-before-break.
 *
 * Loop thread only; nothing allocated per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/okx_book.h"
#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "daemon/shard.h"
#include "venue/okx.h"

#define OKX_MAX_ITEMS 1024 /* levels per side (books: 400), trades or candles per message */
#define OKX_REQ_RESERVE 16 /* requests of a connection's hour kept for refused batches' parts */
#define OKX_RECENT 64      /* seqIds a book remembers, to know an overlap's duplicates */
#define HOUR_NS (3600 * INT64_C(1000000000))
#define SEC_NS INT64_C(1000000000)

/* Per-stream state of a books stream (s->vbook). */
struct okx_bstate {
    struct okx_book book;       /* the book */
    int64_t recent[OKX_RECENT]; /* seqIds of the last updates applied, a ring */
    uint32_t pos;               /* next slot */
};

/* Per-stream state of a bbo-tbt, books5, tickers, mark-price or funding-rate stream
 * (s->vbook): the key of the last message published (accept_msg()). */
struct okx_kstate {
    bool any;    /* a message was published */
    int64_t key; /* its seqId, or its ts when it has none */
    int64_t ts;  /* the newest venue time published */
};

/* Subscribe and unsubscribe requests of one connection. */
struct okx_conn {
    const struct shard *sh; /* the connection (compared, never followed), NULL = free */
    int64_t connected_mono; /* its connection the requests were counted on */
    int64_t *times;         /* CLOCK_MONOTONIC ns of its last OKX_REQS_PER_HOUR requests */
    uint32_t head, n;       /* next slot, count */
};

/* The feed's data (f->vd). */
struct okx_feed {
    struct okx_decoder *dec; /* the decoder */
    struct okx_msg msg;      /* the message being handled */
    struct vstream *specs;   /* SHARD_BATCH specs of a control message being built */
    struct okx_conn *conns;  /* request counts per connection (control path) */
    size_t n_conns;          /* their count */
    int64_t next_chan;       /* last channel id given to an acknowledged subscription */
};

static struct log_limit venue_log; /* errors naming nothing of ours, budget warnings */

static inline struct okx_feed *of(const struct feed *f)
{
    return f->vd;
}

/* The book state of a books stream, NULL for other types. */
static inline struct okx_bstate *bstate_of(const struct dstream *s)
{
    return s->spec.type == VS_DIFF ? s->vbook : NULL;
}

/* ---- request budget ---------------------------------------------------------------------- */

/* True if sh is one of the feed's connections. */
static bool is_shard(const struct feed *f, const struct shard *sh)
{
    for (const struct shard *x = f->shards; x; x = x->next)
        if (x == sh)
            return true;
    return false;
}

/* The request count of connection sh (a fresh one for a new connection); NULL when out of
 * memory. Control path: may allocate. */
static struct okx_conn *conn_of(struct feed *f, const struct shard *sh)
{
    struct okx_feed *x = of(f);
    struct okx_conn *c = NULL, *v;

    for (size_t i = 0; i < x->n_conns && !c; i++)
        if (x->conns[i].sh == sh)
            c = &x->conns[i];
    for (size_t i = 0; i < x->n_conns && !c; i++)
        if (!x->conns[i].sh || !is_shard(f, x->conns[i].sh))
            c = &x->conns[i]; /* a connection gone: its slot is reused */
    if (!c) {
        v = realloc(x->conns, (x->n_conns + 1) * sizeof(*v));
        if (!v)
            return NULL;
        x->conns = v;
        c = &v[x->n_conns];
        memset(c, 0, sizeof(*c));
        c->times = calloc(OKX_REQS_PER_HOUR, sizeof(*c->times));
        if (!c->times)
            return NULL;
        x->n_conns++;
    }
    if (c->sh != sh || c->connected_mono != sh->connected_mono) {
        c->sh = sh;
        c->connected_mono = sh->connected_mono;
        c->head = c->n = 0;
    }
    return c;
}

/* Requests sh made in the last hour. */
static uint32_t reqs_used(struct feed *f, const struct shard *sh, int64_t now)
{
    struct okx_conn *c = conn_of(f, sh);
    uint32_t used = 0;

    if (!c)
        return OKX_REQS_PER_HOUR; /* unknown: assume none left */
    for (uint32_t i = 0; i < c->n; i++)
        used += now - c->times[i] < HOUR_NS;
    return used;
}

/* True if sh can make k more requests within the hour and keep its reserve. */
static bool reqs_room(struct feed *f, const struct shard *sh, uint32_t k)
{
    return reqs_used(f, sh, clock_mono_ns()) + k + OKX_REQ_RESERVE <= OKX_REQS_PER_HOUR;
}

/* Counts one request of sh. */
static void reqs_note(struct feed *f, const struct shard *sh)
{
    struct okx_conn *c = conn_of(f, sh);
    int64_t now = clock_mono_ns();

    if (!c)
        return;
    if (reqs_used(f, sh, now) >= OKX_REQS_PER_HOUR)
        log_limited(&venue_log, LOG_LV_WARNING,
                    "%s conn %u: %u requests in the last hour, the venue allows %u: this one "
                    "will be refused (60014) and the connection replaced",
                    f->cv.name, sh->id, OKX_REQS_PER_HOUR, OKX_REQS_PER_HOUR);
    c->times[c->head] = now;
    c->head = (c->head + 1) % OKX_REQS_PER_HOUR;
    if (c->n < OKX_REQS_PER_HOUR)
        c->n++;
}

/* Replaces sh make-before-break because of `why`; a replacement still taking over reconnects
 * instead (the connection it replaces delivers meanwhile). */
static void replace(struct feed *f, struct shard *sh, const char *why)
{
    /* A stream being resubscribed (a book resync) goes along (shard.c, feed_rotate). */
    if (sh->role == SH_REPLACEMENT) {
        log_msg(LOG_LV_NOTICE, "%s conn %u: %s: reconnecting it", f->cv.name, sh->id, why);
        wsconn_reconnect(&sh->ws, -EBUSY);
        return;
    }
    if (sh->role != SH_ACTIVE || sh->partner)
        return; /* going already */
    ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
            "%s: replacing the connection", why);
    feed_rotate(f, sh);
}

/* ---- publishing -------------------------------------------------------------------------- */

static void publish_book(struct feed *f, struct dstream *s)
{
    union mdf_record *r = &f->d->scratch;

    okx_book_record(&bstate_of(s)->book, &r->book, f->d->cfg->shm.book_depth);
    feed_publish(f, s, r);
}

/* True if a message of s keyed `key` (a seqId, or the venue's ts when it has none) with the
 * venue's time ts is to be published: a newer key; never the same key again (the other
 * connection of a rotation overlap, or a bbo-tbt whose seqId did not move: the same state
 * pushed again); an older key only with a newer time (a seqId restarts lower after the
 * venue's maintenance), so a connection that lags behind the one that delivered last never
 * publishes again what that one did. */
static bool accept_msg(struct feed *f, struct dstream *s, int64_t key, int64_t ts)
{
    struct okx_kstate *k = s->vbook;

    if (k->any && (key == k->key || (key < k->key && ts <= k->ts))) {
        s->dups++;
        f->stats.dups++;
        return false;
    }
    k->any = true;
    k->key = key;
    k->ts = ts > k->ts ? ts : k->ts;
    return true;
}

/* True if data of s from sh is to be used, for messages without a key (candles): the stream's
 * primary delivers; another connection takes over when the primary is retiring or down. */
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

/* ---- books ------------------------------------------------------------------------------- */

static bool seen_recently(const struct okx_bstate *st, int64_t seq)
{
    for (uint32_t i = 0; i < OKX_RECENT; i++)
        if (st->recent[i] == seq)
            return true;
    return false;
}

/* The book of s was discarded (RESYNCING) on sh: tell readers, then get a fresh snapshot by
 * resubscribing (on the replacement when sh is being replaced), or, when that would take the
 * connection over its hourly requests, by replacing the connection. */
static void book_resynced(struct feed *f, struct shard *sh, struct dstream *s, bool checksum)
{
    struct okx_bstate *st = bstate_of(s);
    struct shard *target = sh->role == SH_RETIRING && sh->partner ? sh->partner : sh;

    if (checksum)
        f->stats.checksums++;
    publish_book(f, s);
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_BOOK_RESYNC, f->venue_id, s->symbol, sh->id,
            "%s %s after seqId %" PRId64 ": resync (generation %" PRIu64 ")", s->name,
            checksum                      ? "checksum mismatch"
            : st->book.stats.level_errors ? "level refused or gap"
                                          : "gap",
            st->book.seq_id, st->book.generation);
    if (target->role == SH_RETIRING)
        return; /* going: the replacement's snapshot takes the book over */
    /* An unsubscribe and a subscribe. */
    if (!reqs_room(f, target, 2) && target->role == SH_ACTIVE && !target->partner) {
        replace(f, target, "book resync over the venue's 480 requests an hour");
        return;
    }
    shard_resubscribe(target, s);
}

static void on_book(struct feed *f, struct shard *sh, struct dstream *s, const struct okx_msg *m,
                    int64_t recv_ns)
{
    struct okx_bstate *st = bstate_of(s);
    struct okx_book *b = &st->book;
    uint8_t was = b->state;
    uint64_t mism = b->stats.mismatches;
    bool chains = !m->snapshot && b->state == MDF_BOOK_LIVE && m->have_seq && b->have_seq &&
                  m->prev_seq_id == b->seq_id;
    int rc;

    if (!chains && s->primary && s->primary != sh) {
        /* Another connection of a rotation: its snapshot takes the book over when the book is
         * not LIVE or its connection is going; its updates that do not chain on are copies
         * of what the book has, or ahead of it (the primary will get there). */
        if (!(m->snapshot && (b->state != MDF_BOOK_LIVE || take(s, sh)))) {
            s->dups++;
            f->stats.dups++;
            return;
        }
    } else if (!chains && !m->snapshot && m->have_seq && b->state == MDF_BOOK_LIVE &&
               seen_recently(st, m->seq_id)) {
        /* Applied already from the other connection (the primary changed with a rotation). */
        s->dups++;
        f->stats.dups++;
        return;
    }
    s->primary = sh;
    rc = okx_book_apply(b, m, recv_ns);
    if (m->snapshot)
        f->stats.snapshots++;
    if (rc == OKBK_RESYNC) {
        log_msg(LOG_LV_WARNING, "%s conn %u: %s: %s", f->cv.name, sh->id, s->name, mdf_errmsg());
        book_resynced(f, sh, s, b->stats.mismatches != mism);
        return;
    }
    if (m->have_seq) {
        st->recent[st->pos] = m->seq_id;
        st->pos = (st->pos + 1) % OKX_RECENT;
    }
    if (rc != OKBK_APPLIED)
        return;
    publish_book(f, s);
    if (was != MDF_BOOK_LIVE && b->state == MDF_BOOK_LIVE)
        ev_emit(f->d, LOG_LV_INFO, MDF_EV_BOOK_LIVE, f->venue_id, s->symbol, sh->id,
                "%s book live at seqId %" PRId64 " (generation %" PRIu64 ")", s->name, b->seq_id,
                b->generation);
}

/* books5: the venue's top 5, whole each time: a partial book record. */
static void on_partial(struct feed *f, struct dstream *s, const struct okx_msg *m, int64_t recv_ns)
{
    if (!accept_msg(f, s, m->have_seq ? m->seq_id : m->ts_ns, m->ts_ns))
        return;
    feed_publish_partial(
        f, s,
        &(struct feed_partial){.exch_time_ns = m->ts_ns,
                               .recv_time_ns = recv_ns,
                               .first_id = m->have_seq ? m->seq_id : 0,
                               .last_id = m->have_seq ? m->seq_id : 0,
                               .venue_seq = m->have_seq && m->seq_id > 0 ? (uint64_t)m->seq_id : 0,
                               .bids = m->bids,
                               .asks = m->asks,
                               .n_bids = m->n_bids,
                               .n_asks = m->n_asks});
}

/* ---- other channels ---------------------------------------------------------------------- */

static void on_trades(struct feed *f, struct dstream *s, const struct okx_msg *m)
{
    union mdf_record *r = &f->d->scratch;

    for (uint32_t i = 0; i < m->n_trades; i++) {
        const struct mdf_trade *t = &m->trades[i];

        if (!feed_accept_key(f, s, t->trade_id, false))
            continue;
        r->trade = *t;
        feed_progress(f, s, t->trade_id);
        feed_evidence(f, s, t->trade_id, t->h.tx_time_ns);
        feed_publish(f, s, r);
    }
}

static void on_candles(struct feed *f, struct dstream *s, const struct okx_msg *m)
{
    union mdf_record *r = &f->d->scratch;

    for (uint32_t i = 0; i < m->n_candles; i++) {
        r->candle = m->candles[i];
        feed_stamp(f, s, r);
        candles_on_kline(f, s, r);
    }
}

/* The venue's time of a data message (0 if none: candles, whose open time is no push time;
 * their progress is their arrival, okx_stream_liveness()). */
static int64_t exch_time(const struct okx_msg *m)
{
    switch (m->kind) {
    case OKX_BOOK:
        return m->ts_ns;
    case OKX_BBO:
        return m->bbo.h.exch_time_ns;
    case OKX_TRADES:
        return m->n_trades ? m->trades[m->n_trades - 1].h.exch_time_ns : 0;
    case OKX_TICKER:
        return m->ticker.h.exch_time_ns;
    case OKX_FUNDING:
        return m->funding.h.exch_time_ns;
    default:
        return 0;
    }
}

/* ---- events ------------------------------------------------------------------------------ */

/* The entry of sh for the stream keyed key in state st, or NULL. */
static struct shard_ent *ent_by_key(struct shard *sh, const char *key, uint8_t st)
{
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].state == st && strcmp(sh->ent[i].s->name, key) == 0)
            return &sh->ent[i];
    return NULL;
}

/* The unsubscribe of the stream keyed key was answered (or refused: nothing to leave). */
static void unsubscribed(struct feed *f, struct shard *sh, const char *key)
{
    struct shard_ent *e = ent_by_key(sh, key, SUB_UNSENT);

    if (!e) {
        log_msg(LOG_LV_DEBUG, "%s conn %u: unsubscribed %s, which we were not leaving", f->cv.name,
                sh->id, key);
        return;
    }
    if (e->chan_id < 0) /* unsubscribed before its subscribe was answered */
        e->chan_id = ++of(f)->next_chan;
    shard_on_unsubscribed(sh, e->chan_id);
}

static void on_error(struct feed *f, struct shard *sh, const struct okx_msg *m)
{
    char *end;
    long long id;

    if (m->code == OKX_ERR_REQ_LIMIT) {
        log_msg(LOG_LV_WARNING, "%s conn %u: the venue refused a request: %d %s", f->cv.name,
                sh->id, m->code, m->text);
        replace(f, sh, "over the venue's 480 requests an hour (60014)");
        return;
    }
    if (m->spec_known) {
        if (ent_by_key(sh, m->key, SUB_UNSENT) && !ent_by_key(sh, m->key, SUB_SENT)) {
            unsubscribed(f, sh, m->key);
            return;
        }
        if (shard_on_subscribed(sh, m->key, -1, m->code ? m->code : -1, m->text))
            return;
    }
    id = strtoll(m->id, &end, 10);
    if (m->id[0] && !*end) {
        shard_on_reply(sh, id, m->code ? m->code : -1, m->text);
        return;
    }
    log_limited(&venue_log, LOG_LV_WARNING, "%s conn %u: venue error %d: %s", f->cv.name, sh->id,
                m->code, m->text);
}

static void on_event(struct feed *f, struct shard *sh, const struct okx_msg *m)
{
    switch (m->event) {
    case OKX_EV_SUBSCRIBE:
        if (!m->spec_known || !shard_on_subscribed(sh, m->key, ++of(f)->next_chan, 0, ""))
            log_msg(LOG_LV_DEBUG,
                    "%s conn %u: subscribed to %s, which was not asked for (or "
                    "is being left)",
                    f->cv.name, sh->id, m->spec_known ? m->key : "a channel we do not serve");
        break;
    case OKX_EV_UNSUBSCRIBE:
        if (m->spec_known)
            unsubscribed(f, sh, m->key);
        break;
    case OKX_EV_ERROR:
        on_error(f, sh, m);
        break;
    case OKX_EV_NOTICE:
        if (m->code != OKX_NOTICE_UPGRADE) {
            log_msg(LOG_LV_NOTICE, "%s conn %u: venue notice %d: %s", f->cv.name, sh->id, m->code,
                    m->text);
            break;
        }
        f->stats.shutdowns++;
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
                "service upgrade notice (64008): replacing the connection now");
        feed_rotate(f, sh);
        break;
    default:
        f->stats.ignored++; /* channel-conn-count and the like */
        break;
    }
}

/* ---- the message ------------------------------------------------------------------------- */

static void on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;
    struct okx_msg *m = &of(f)->msg;
    struct dstream *s;
    int rc;

    rc = okx_decode(of(f)->dec, msg, len, recv_ns, m);
    if (rc < 0) {
        /* A message whose arg was read is that stream's failure. */
        s = m->key_len ? stream_map_get(&f->map, m->key, m->key_len) : NULL;
        feed_decode_failed(f, sh, s, rc, msg, len);
        return;
    }
    switch (m->kind) {
    case OKX_PONG:
        return; /* the keepalive answered */
    case OKX_EVENT:
        on_event(f, sh, m);
        return;
    case OKX_IGNORED:
    case OKX_NONE:
        f->stats.ignored++;
        return;
    default:
        break;
    }
    s = feed_data_stream(sh, m->key, m->key_len);
    if (!s)
        return;
    feed_note(f, s, recv_ns, exch_time(m));
    switch (m->kind) {
    case OKX_BOOK:
        if (bstate_of(s))
            on_book(f, sh, s, m, recv_ns);
        else
            on_partial(f, s, m, recv_ns);
        break;
    case OKX_BBO:
        if (accept_msg(f, s, m->bbo.update_id ? m->bbo.update_id : m->bbo.h.exch_time_ns,
                       m->bbo.h.exch_time_ns))
            feed_publish(f, s, (union mdf_record *)&m->bbo);
        break;
    case OKX_TRADES:
        on_trades(f, s, m);
        break;
    case OKX_TICKER:
        if (accept_msg(f, s, m->ticker.h.exch_time_ns, m->ticker.h.exch_time_ns))
            feed_publish(f, s, (union mdf_record *)&m->ticker);
        break;
    case OKX_FUNDING:
        if (accept_msg(f, s, m->funding.h.exch_time_ns, m->funding.h.exch_time_ns))
            feed_publish(f, s, (union mdf_record *)&m->funding);
        break;
    case OKX_CANDLES:
        if (take(s, sh))
            on_candles(f, s, m);
        else
            s->dups++, f->stats.dups++;
        break;
    default:
        f->stats.ignored++;
        break;
    }
}

/* ---- the adapter ------------------------------------------------------------------------- */

static int feed_init(struct feed *f)
{
    struct okx_feed *x = calloc(1, sizeof(*x));

    if (!x)
        return err_set(-ENOMEM, "venue %s: out of memory for its decoder", f->cv.name);
    f->vd = x;
    x->dec = okx_decoder_new(OKX_MAX_ITEMS, 4u << 20);
    x->specs = calloc(SHARD_BATCH, sizeof(*x->specs));
    if (!x->dec || !x->specs)
        return err_set(-ENOMEM, "venue %s: out of memory for its decoder", f->cv.name);
    return 0;
}

static void feed_fini(struct feed *f)
{
    struct okx_feed *x = f->vd;

    if (!x)
        return;
    okx_decoder_free(x->dec);
    for (size_t i = 0; i < x->n_conns; i++)
        free(x->conns[i].times);
    free(x->conns);
    free(x->specs);
    free(x);
    f->vd = NULL;
}

static int stream_init(struct feed *f, struct dstream *s)
{
    struct okx_bstate *st;

    switch (s->spec.type) {
    case VS_DIFF:
        break;
    case VS_DEPTH:
    case VS_BOOKTICKER:
    case VS_TICKER:
    case VS_MARKPRICE:
        s->vbook = calloc(1, sizeof(struct okx_kstate));
        return s->vbook ? 0 : err_set(-ENOMEM, "out of memory for %s", s->name);
    default:
        return 0;
    }
    st = calloc(1, sizeof(*st));
    if (!st || okx_book_init(&st->book, OKX_BOOKS_DEPTH) < 0) {
        free(st);
        return err_set(-ENOMEM, "out of memory for the %s book", s->spec.symbol);
    }
    s->vbook = st;
    return 0;
}

static void stream_fini(struct dstream *s)
{
    if (bstate_of(s))
        okx_book_fini(&bstate_of(s)->book);
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

/* Bytes of one arg {"channel":"C","instId":"I"}, with its comma, for a stream key "C:I". */
static size_t arg_bytes(const char *key)
{
    return strlen(key) - 1 + sizeof("{\"channel\":\"\",\"instId\":\"\"},") - 1;
}

/* As many names as fit the connection's control buffer. */
static size_t batch_fit(const struct shard *sh, const char *const *names, size_t n)
{
    size_t used = sizeof("{\"id\":\"18446744073709551615\",\"op\":\"unsubscribe\",\"args\":[]}");
    size_t k = 0;

    while (k < n && used + arg_bytes(names[k]) <= sh->ctl_cap)
        used += arg_bytes(names[k++]);
    return k;
}

static int control_batch(const struct shard *sh, bool subscribe, const char *const *names, size_t n,
                         uint64_t id, char *buf, size_t cap)
{
    struct okx_feed *x = of(sh->f);
    char req[24];
    int len;

    if (n > SHARD_BATCH)
        return err_set(-E2BIG, "%s: %zu streams in one request", sh->f->cv.name, n);
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(names[i], ':');

        if (!colon || okx_stream_parse(names[i], (size_t)(colon - names[i]), colon + 1,
                                       strlen(colon + 1), &x->specs[i]) < 0)
            return err_set(-EINVAL, "%s: %s is not an OKX stream key", sh->f->cv.name, names[i]);
    }
    snprintf(req, sizeof(req), "%" PRIu64, id);
    len = okx_control_msg(subscribe, x->specs, n, req, buf, cap);
    if (len >= 0)
        reqs_note(sh->f, sh);
    return len;
}

static int book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    const struct okx_bstate *st = bstate_of(s);

    if (!st)
        return -1;
    *gen = st->book.generation;
    *resyncs = st->book.stats.resyncs;
    *gaps = st->book.stats.gaps;
    return st->book.state;
}

static void book_interrupt(struct feed *f, struct dstream *s)
{
    uint8_t was;

    if (!bstate_of(s))
        return;
    was = bstate_of(s)->book.state;
    okx_book_interrupt(&bstate_of(s)->book);
    if (was != bstate_of(s)->book.state)
        publish_book(f, s);
}

/* Every stream has delivered (a book its snapshot, which takes the book over), so taking over
 * loses nothing. */
static bool delivers(const struct shard *sh)
{
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].state == SUB_ACKED && !sh->ent[i].got)
            return false;
    return true;
}

/* True if sh has control messages waiting. */
static bool ctl_pending(const struct shard *sh)
{
    for (uint32_t i = 0; i < sh->n; i++)
        if (sh->ent[i].state == SUB_WANT || sh->ent[i].state == SUB_UNWANT)
            return true;
    return false;
}

/* Keepalive: "ping" once the connection was silent OKX_PING_AFTER_S either way (the venue
 * reads its silence as ours or its own, depending on the docs' reading: both are covered),
 * at most once per period. A connection whose hourly requests are spent while it has
 * subscriptions waiting is replaced. */
static void check_shard(struct feed *f, struct shard *sh, int64_t now)
{
    const int64_t after = (int64_t)OKX_PING_AFTER_S * SEC_NS;
    int64_t mono = clock_mono_ns(), real = clock_real_ns();
    int64_t rx = sh->last_msg_ns > sh->connected_ns ? sh->last_msg_ns : sh->connected_ns;
    int64_t tx = sh->last_ctl_mono > sh->keepalive_mono ? sh->last_ctl_mono : sh->keepalive_mono;
    char buf[8];
    int len;

    if (sh->ws.state != WSC_CONNECTED)
        return;
    if (ctl_pending(sh) && !reqs_room(f, sh, 1) && sh->role != SH_RETIRING)
        replace(f, sh, "subscriptions waiting with the venue's 480 requests an hour spent");
    /* Nothing sent for the period, or nothing received for it and no ping in it. */
    if (mono - tx < after && (real - rx < after || mono - sh->keepalive_mono < after))
        return;
    len = okx_ping_msg(buf, sizeof(buf));
    if (len < 0 || wsconn_send_text(&sh->ws, buf, (size_t)len) < 0) {
        log_msg(LOG_LV_WARNING, "%s conn %u: cannot send the keepalive ping: %s", f->cv.name,
                sh->id, mdf_errmsg());
        return;
    }
    sh->keepalive_mono = mono;
}

const struct feed_adapter okx_adapter = {
    .name = "okx",
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
    .delivers = delivers,
    .handover_by_snapshot = false,
    .check_stream = NULL,
    .check_shard = check_shard,
    .candles = NULL,
};
