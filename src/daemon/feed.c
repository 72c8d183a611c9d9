/*
 * A feed: one venue's streams, connections, books and health checks (see feed.h).
 *
 * What differs between venues is the venue's adapter's (daemon/adapter.h): decoding, books,
 * control messages and notices. This file keeps what every venue shares: the streams and their
 * placement on connections, deduplication by key, the evidence behind every health alarm,
 * make-before-break rotation, connection budgets and the check timer.
 */
#include "daemon/feed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/health_pub.h"
#include "daemon/log.h"

#define ROTATION_QUIET_MS 5000 /* a replacement with nothing to deliver takes over after */
#define ATTEMPT_SHARE 0.8      /* share of the venue's connection-attempt limit we use */

static struct log_limit parse_log; /* undecodable messages */
static struct log_limit admit_log; /* connection attempts held back */

static void finish_rotation(struct feed *f, struct shard *nsh);

static inline int64_t now_mono(const struct feed *f)
{
    /* The loop's cached CLOCK_MONOTONIC time: ms resolution is plenty for health checks. */
    return (int64_t)uv_now(&f->d->loop) * 1000000;
}

/* ---- streams ----------------------------------------------------------------------------- */

static void free_acts(struct activity *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].members);
    free(a);
}

/* The index in a[0..n) of symbol sym, or n. */
static size_t act_find(const struct activity *a, size_t n, uint32_t sym)
{
    size_t k;

    for (k = 0; k < n && a[k].symbol != sym; k++)
        ;
    return k;
}

/* Groups the feed's streams by symbol for the evidence checks (control path: start, reload),
 * keeping what each symbol had shown. On out of memory the checks run without evidence. */
static void link_evidence(struct feed *f)
{
    struct activity *a = calloc(f->n_streams + 1, sizeof(*a));
    size_t n = 0;

    for (size_t i = 0; i < f->n_streams; i++)
        f->streams[i]->act = NULL;
    if (!a)
        goto out_swap;
    /* Count each symbol's streams, then fill exact arrays. */
    for (size_t i = 0; i < f->n_streams; i++) {
        const struct dstream *s = f->streams[i];
        size_t k, o;

        if (s->removed)
            continue;
        k = act_find(a, n, s->symbol);
        if (k == n) {
            a[n].symbol = s->symbol;
            o = act_find(f->acts, f->n_acts, s->symbol);
            if (o < f->n_acts) {
                a[n].trade_id = f->acts[o].trade_id;
                a[n].id_mono = f->acts[o].id_mono;
                a[n].trade_ns = f->acts[o].trade_ns;
                a[n].time_mono = f->acts[o].time_mono;
            }
            n++;
        }
        a[k].n++;
    }
    for (size_t k = 0; k < n; k++) {
        a[k].members = calloc(a[k].n, sizeof(*a[k].members));
        if (!a[k].members) {
            free_acts(a, n);
            a = NULL;
            n = 0;
            goto out_swap;
        }
        a[k].n = 0;
    }
    for (size_t i = 0; i < f->n_streams; i++) {
        struct dstream *s = f->streams[i];
        size_t k;

        if (s->removed)
            continue;
        k = act_find(a, n, s->symbol);
        a[k].members[a[k].n++] = s;
        s->act = &a[k];
    }
out_swap:
    free_acts(f->acts, f->n_acts);
    f->acts = a;
    f->n_acts = n;
}

static void free_stream(struct dstream *s)
{
    hp_forget_stream(s->f->d, s);
    s->f->ad->stream_fini(s);
    free(s);
}

/* Names stream s by the key the venue's messages name it by, registers its symbol under its
 * common spelling and itself in the stream table. Returns 0 or negative with err_set(). */
static int name_stream(struct feed *f, struct dstream *s)
{
    struct mdf_stream_entry e;
    char norm[MDF_SYMBOL_MAX];
    int64_t sym;
    int len;

    len = f->prof->proto->stream_name(f->prof, &s->spec, s->name, sizeof(s->name));
    if (len < 0)
        return err_prefix(len, "%s", f->cv.name);
    f->prof->proto->symbol_common(s->spec.symbol, norm, sizeof(norm));
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

/* A stream whose shared memory cannot be backed (/dev/shm is full) is not served: says so with
 * new_stream's message (stream, bytes, errno text, free space) and counts it; everything else
 * runs on. */
static void refuse_stream(struct feed *f)
{
    log_msg(LOG_LV_ERR, "%s; this stream is not served, the others are", mdf_errmsg());
    hp_count_error(f->d, MDF_HERR_SHM);
}

/* Creates stream spec of feed f, registers its symbol. NULL with err_set() and the code in
 * *err (ERR_SHM_SPACE: its shared memory cannot be backed). */
static struct dstream *new_stream(struct feed *f, const struct vstream *spec, int *err)
{
    struct daemon *d = f->d;
    struct dstream *s;
    int rc;

    *err = -ENOMEM;
    s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(-ENOMEM, "out of memory");
        return NULL;
    }
    s->spec = *spec;
    s->f = f;
    s->hslot = -1;
    if ((rc = name_stream(f, s)) < 0) {
        *err = rc;
        goto err_free;
    }
    /* Only a cadence the venue guarantees makes silence alone evidence (a Bitfinex channel's
     * 15 s hb, a futures markPrice); every other stream is judged by evidence (venue.h). */
    vstream_liveness(f->prof, spec, &s->live);
    s->cadence_ms = s->live.guaranteed_ms;
    if ((rc = f->ad->stream_init(f, s)) < 0) {
        *err = rc;
        goto err_free;
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
    enum venue_route route = f->prof->proto->route(f->prof, &s->spec);
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

/* Stream s delivered: the alarms its message answers are cleared, with an event. A stream
 * that is still behind the evidence stays STALE or SILENT (only its decoding recovered). */
static void recovered(struct feed *f, struct dstream *s)
{
    uint32_t clear = s->flags & (DS_F_SILENT | DS_F_STALE | DS_F_BADDATA);

    if (s->owed_mono)
        clear &= DS_F_BADDATA;
    if (!clear)
        return;
    s->flags &= ~clear;
    ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_FEED_RECOVERED, f->venue_id, s->symbol,
            s->shard ? s->shard->id : 0, "%s delivers again (was %s)", s->name,
            clear & DS_F_BADDATA  ? "undecodable"
            : clear & DS_F_SILENT ? "silent"
                                  : "stale");
}

/* The book's stream was interrupted: a LIVE book is published STALE (readers see it is no
 * longer maintained) and resyncs on the next diff. */
void feed_publish(struct feed *f, struct dstream *s, union mdf_record *r)
{
    feed_stamp(f, s, r);
    daemon_publish(f->d, r);
    f->stats.records++;
}

void feed_publish_partial(struct feed *f, struct dstream *s, const struct feed_partial *p)
{
    union mdf_record *r = &f->d->scratch;
    uint32_t depth = f->d->cfg->shm.book_depth;
    uint32_t nb = p->n_bids < depth ? p->n_bids : depth;
    uint32_t na = p->n_asks < depth ? p->n_asks : depth;

    memset(&r->book, 0, MDF_BOOK_SIZE(depth));
    r->h.type = MDF_REC_BOOK;
    r->h.size = (uint16_t)MDF_BOOK_SIZE(depth);
    r->h.flags = MDF_BOOK_F_PARTIAL;
    r->h.exch_time_ns = p->exch_time_ns;
    r->h.tx_time_ns = p->tx_time_ns;
    r->h.recv_time_ns = p->recv_time_ns;
    r->h.venue_seq = p->venue_seq;
    r->book.state = MDF_BOOK_LIVE;
    r->book.depth = (uint16_t)depth;
    r->book.n_bids = (uint16_t)nb;
    r->book.n_asks = (uint16_t)na;
    r->book.first_update_id = p->first_id;
    r->book.last_update_id = p->last_id;
    for (uint32_t i = 0; i < nb; i++)
        r->book.levels[i] = (struct mdf_level){.px = p->bids[i].px, .qty = p->bids[i].qty};
    for (uint32_t i = 0; i < na; i++)
        r->book.levels[depth + i] = (struct mdf_level){.px = p->asks[i].px, .qty = p->asks[i].qty};
    feed_publish(f, s, r);
}

void feed_book_interrupt(struct feed *f, struct dstream *s)
{
    f->ad->book_interrupt(f, s);
}

int feed_book_info(const struct dstream *s, uint64_t *gen, uint64_t *resyncs, uint64_t *gaps)
{
    uint64_t g = 0, r = 0, x = 0;
    int state = s->f->ad->book_info(s, &g, &r, &x);

    if (state < 0)
        g = r = x = 0;
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

/* The REST queue paused (a 429 or a 418 from the host, maybe for another entry's request:
 * the pause is the host's) or sends again: one event each, with the status, the length of the
 * pause and the venue's Retry-After. */
static void on_rest_notice(struct restq *q, enum restq_notice n, int64_t until_ms)
{
    struct feed *f = q->ud;
    const struct restq_stats *st = &q->stats;
    const char *host = f->rest_budget.h ? f->rest_budget.h->key : f->cv.rest_url;
    int64_t now = clock_real_ns() / 1000000;
    char ra[40];

    if (n == RQ_RESUMED) {
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_REST_THROTTLED, f->venue_id, UINT32_MAX, 0,
                "REST resumes after %.1f s (HTTP %d from %s)",
                (double)(now - st->pause_from_ms) / 1000, st->pause_status, host);
        return;
    }
    if (st->retry_after_s >= 0)
        snprintf(ra, sizeof(ra), "Retry-After %d s", (int)st->retry_after_s);
    else
        snprintf(ra, sizeof(ra), "no Retry-After");
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_REST_THROTTLED, f->venue_id, UINT32_MAX, 0,
            "HTTP %d from %s: REST %s %.1f s (%s)", st->pause_status, host,
            n == RQ_BANNED ? "banned, stopped for" : "paused for", (double)(until_ms - now) / 1000,
            ra);
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

/* ---- evidence ---------------------------------------------------------------------------- */

/* Clears what s owed once its messages caught up with the evidence. */
static void settle_owed(struct dstream *s)
{
    bool caught;

    if (!s->owed_mono)
        return;
    switch (s->live.proof) {
    case VP_TRADE_ID:
        caught = s->own_id >= s->owed_id;
        break;
    case VP_VENUE_TIME:
        caught = s->last_exch_ns >= s->owed_ns;
        break;
    default:
        caught = s->last_mono >= s->owed_mono - 1000000000LL; /* any message since */
        break;
    }
    if (caught)
        s->owed_mono = s->owed_id = s->owed_ns = 0;
}

void feed_progress(struct feed *f, struct dstream *s, int64_t id)
{
    if (id > s->own_id)
        s->own_id = id;
    settle_owed(s);
    if (s->flags & (DS_F_SILENT | DS_F_STALE))
        recovered(f, s);
}

/* m owes what the evidence first seen at `now` shows, if the evidence before it (seen at
 * `before`) already came after m's subscription: then what happened in between happened
 * while m was subscribed, so m must have carried it. */
static bool owe(struct dstream *m, int64_t before, int64_t now)
{
    if (!m->acked_mono || m->acked_mono > before || m->removed || !m->live.follows_trades)
        return false;
    if (!m->owed_mono)
        m->owed_mono = now;
    return true;
}

void feed_evidence(struct feed *f, struct dstream *src, int64_t id, int64_t ns)
{
    struct activity *a = src->act;
    int64_t now = now_mono(f), before;

    if (!a)
        return;
    if (id > a->trade_id) {
        bool had = a->trade_id > 0;

        before = a->id_mono;
        a->trade_id = id;
        a->id_mono = now;
        for (size_t i = 0; had && i < a->n; i++) {
            struct dstream *m = a->members[i];
            /* A push follows the change within the source's and its own update periods. */
            int64_t slack =
                1000000000LL + (int64_t)(src->live.period_ms + m->live.period_ms) * 1000000;

            if (m == src)
                continue;
            if (m->live.proof == VP_TRADE_ID && m->own_id < id && owe(m, before, now)) {
                if (id > m->owed_id)
                    m->owed_id = id;
            } else if (m->live.proof == VP_RECV_TIME && m->last_mono < now - slack) {
                owe(m, before, now);
            }
        }
    }
    if (ns > a->trade_ns) {
        bool had = a->trade_ns > 0;

        before = a->time_mono;
        a->trade_ns = ns;
        a->time_mono = now;
        for (size_t i = 0; had && i < a->n; i++) {
            struct dstream *m = a->members[i];

            if (m != src && m->live.proof == VP_VENUE_TIME && m->last_exch_ns < ns &&
                owe(m, before, now) && ns > m->owed_ns)
                m->owed_ns = ns;
        }
    }
}

/* ---- messages ---------------------------------------------------------------------------- */

void feed_note(struct feed *f, struct dstream *s, int64_t recv_ns, int64_t exch_ns)
{
    s->msgs++;
    s->last_mono = now_mono(f);
    s->last_recv_ns = recv_ns;
    s->bad_run = 0;
    if (exch_ns) {
        int64_t delay = recv_ns - exch_ns;

        if (exch_ns > s->last_exch_ns)
            s->last_exch_ns = exch_ns;
        s->delay_ewma_ns += (delay - s->delay_ewma_ns) / 16;
        if (delay > s->delay_max_ns)
            s->delay_max_ns = delay;
    }
    if (s->live.proof != VP_TRADE_ID)
        settle_owed(s);
    if (s->flags & (DS_F_SILENT | DS_F_STALE | DS_F_BADDATA))
        recovered(f, s);
}

struct dstream *feed_data_stream(struct shard *sh, const char *name, size_t len)
{
    struct dstream *s = name ? stream_map_get(&sh->f->map, name, len) : NULL;

    if (!s || s->removed) {
        sh->f->stats.unknown++;
        return NULL;
    }
    for (uint32_t i = 0; sh->role == SH_REPLACEMENT && i < sh->n; i++)
        if (sh->ent[i].s == s)
            sh->ent[i].got = true;
    return s;
}

void feed_alive(struct feed *f, struct dstream *s)
{
    s->last_mono = now_mono(f);
    if (s->flags & (DS_F_SILENT | DS_F_STALE))
        recovered(f, s);
}

#define BAD_RUN_FLAG 5 /* messages of a stream in a row that do not decode: flagged */

void feed_decode_failed(struct feed *f, struct shard *sh, struct dstream *s, int rc,
                        const uint8_t *msg, size_t len)
{
    f->stats.parse_errors++;
    f->stats.range_errors += rc == -ERANGE;
    log_limited(&parse_log, LOG_LV_WARNING, "%s conn %u: message does not decode (%s): %.*s",
                f->cv.name, sh->id, mdf_errmsg(), (int)(len < 160 ? len : 160), (const char *)msg);
    if (!s || s->removed)
        return;
    s->decode_errors++;
    if (++s->bad_run < BAD_RUN_FLAG || (s->flags & DS_F_BADDATA))
        return;
    s->flags |= DS_F_BADDATA;
    ev_emit(f->d, LOG_LV_WARNING, MDF_EV_DECODE_FAILING, f->venue_id, s->symbol, sh->id,
            "%s: %u messages in a row do not decode: %s", s->name, s->bad_run, mdf_errmsg());
}

void feed_on_message(struct shard *sh, const uint8_t *msg, size_t len, int64_t recv_ns)
{
    struct feed *f = sh->f;

    f->stats.msgs++;
    sh->msgs++;
    sh->last_msg_ns = recv_ns;
    f->ad->on_message(sh, msg, len, recv_ns);
}

/* ---- connections ------------------------------------------------------------------------- */

void feed_on_connected(struct shard *sh)
{
    struct feed *f = sh->f;
    bool back = sh->gave_up;

    f->d->ever_connected = true;
    if (back) {
        sh->gave_up = false;
        for (size_t i = 0; i < f->n_streams; i++)
            if (f->streams[i]->shard == sh)
                f->streams[i]->flags &= ~DS_F_DOWN;
    }
    ev_emit(f->d, back ? LOG_LV_NOTICE : LOG_LV_INFO, MDF_EV_CONNECTION_ESTABLISHED, f->venue_id,
            UINT32_MAX, sh->id, "%s, %u streams%s%s", sh->ws.url_text, shard_count(sh),
            sh->role == SH_REPLACEMENT ? " (replacement)" : "",
            back ? " (back after giving up)" : "");
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
    if (sh->doomed) {
        /* A superseded replacement cut by the venue, as announced: it is not reconnected. A
         * book it still drove that moves on only at a later connection's snapshot (none yet)
         * has missed updates until that snapshot: not LIVE meanwhile. */
        for (uint32_t i = 0; i < sh->n; i++) {
            struct dstream *s = sh->ent[i].s;

            if (s->primary != sh)
                continue;
            s->primary = NULL;
            if (f->ad->handover_by_snapshot)
                feed_book_interrupt(f, s);
        }
        shard_stop(sh);
        return;
    }
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
        s->owed_mono = s->owed_id = s->owed_ns = 0; /* the outage is the reconnect's business */
        if (s->primary == sh) {
            s->primary = NULL;
            feed_book_interrupt(f, s);
        }
    }
}

void feed_on_attempt_failed(struct shard *sh, int err)
{
    struct feed *f = sh->f;
    struct daemon *d = f->d;

    log_limited(&f->conn_log, LOG_LV_WARNING, "%s conn %u: cannot connect to %s: %s (%s)",
                f->cv.name, sh->id, sh->ws.url_text, sh->ws.stats.last_error_msg,
                sh->ws.slow ? "gave up before; retrying at the backoff cap"
                            : "retrying by the backoff schedule");
    if (!d->ever_connected && !d->offline_hinted) {
        d->offline_hinted = true;
        log_msg(LOG_LV_NOTICE,
                "no venue connection has come up yet (%s). If this machine has no internet "
                "access, run the daemon against the local fake venue instead: `make demo` in "
                "the source tree",
                err_name(err));
    }
}

void feed_on_gave_up(struct shard *sh)
{
    struct feed *f = sh->f;
    uint32_t down = 0;

    sh->gave_up = true;
    for (size_t i = 0; i < f->n_streams; i++) {
        struct dstream *s = f->streams[i];

        if (s->shard != sh || s->removed || (s->flags & DS_F_DOWN))
            continue;
        s->flags |= DS_F_DOWN;
        down++;
        ev_emit(f->d, LOG_LV_ERR, MDF_EV_STREAM_DOWN, f->venue_id, s->symbol, sh->id,
                "%s: conn %u gave up; no data until it connects again", s->name, sh->id);
    }
    ev_emit(f->d, LOG_LV_ERR, MDF_EV_CONNECTION_ERROR, f->venue_id, UINT32_MAX, sh->id,
            "gave up after %u attempts (%s): FAILED, %u streams down; trying again every %g s",
            f->cv.conn.max_attempts, sh->ws.stats.last_error_msg, down, f->cv.conn.max_delay);
    wsconn_retry_slowly(&sh->ws);
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
        if (f->streams[i]->last_shard == sh)
            f->streams[i]->last_shard = NULL; /* a later connection may reuse the address */
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

/* Sets what this entry would allow itself at its hosts (the hosts take the strictest of their
 * entries'). */
static void budget_figures(struct feed *f)
{
    double w = f->prof->rest_weight_per_min * f->cv.rest_weight_share;
    uint32_t cap = (uint32_t)attempt_cap(f);

    f->ws_budget.attempts = cap < 1 ? 1 : cap;
    f->ws_budget.window_s = attempt_window_s(f);
    f->rest_budget.weight = w < 1 ? 1 : (uint32_t)w;
}

uint32_t feed_admit(struct feed *f)
{
    const struct budget_host *h = f->ws_budget.h;
    uint32_t wait = budget_admit(&f->ws_budget);

    /* The limit is the host's, whichever entry's connection asks. */
    if (wait && h)
        log_limited(&admit_log, LOG_LV_NOTICE,
                    "%s: connection attempt held back (limit %u per %.0f s to %s, %u %s)",
                    f->cv.name, h->attempt_cap, (double)h->window_ms / 1000, h->key, h->n_refs,
                    h->n_refs == 1 ? "entry" : "entries");
    return wait;
}

/* ---- rotation ---------------------------------------------------------------------------- */

void feed_rotate(struct feed *f, struct shard *old)
{
    struct shard *nsh;

    if (old->stopping || old->doomed || f->stopping)
        return;
    if (old->role == SH_REPLACEMENT) {
        /* A venue restarting a server sends its notice to every connection on it, a
         * replacement still taking over included: that one will be cut too. The retiring
         * connection goes on delivering while a fresh replacement opens for it; this one keeps
         * delivering (duplicates are dropped) until that fresh one takes over or it is cut. */
        struct shard *ret = old->partner;

        old->doomed = true;
        old->role = SH_RETIRING;
        old->partner = NULL;
        if (!ret)
            return;
        ret->partner = NULL;
        ret->role = SH_ACTIVE;
        log_msg(LOG_LV_NOTICE,
                "%s: conn %u, replacing conn %u, is to be cut as well: opening another", f->cv.name,
                old->id, ret->id);
        feed_rotate(f, ret);
        return;
    }
    if (old->partner)
        return;
    nsh = shard_new(f, old->route, SH_REPLACEMENT, f->cv.streams_per_conn);
    if (!nsh) {
        log_msg(LOG_LV_ERR, "%s: cannot open a replacement for conn %u: %s", f->cv.name, old->id,
                mdf_errmsg());
        return;
    }
    for (uint32_t i = 0; i < old->n; i++) {
        uint8_t st = old->ent[i].state;

        /* Not the streams being left; those only resubscribed (a book resync) go along. */
        if ((old->ent[i].resub || (st != SUB_UNWANT && st != SUB_UNSENT)) &&
            !old->ent[i].s->removed)
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

/* True if sh, a connection the venue is to cut, still drives a stream's state (a book, ticker
 * or candles taken over by snapshot that no later connection has taken over yet). */
static bool drives_a_stream(const struct feed *f, const struct shard *sh)
{
    for (size_t i = 0; i < f->n_streams; i++)
        if (f->streams[i]->primary == sh)
            return true;
    return false;
}

/* Once route has an active connection, stops the replacements superseded on the way there
 * that drive nothing any more (the others are cut by the venue, as it announced, or stopped by
 * a later call when a newer connection has taken their streams over). */
static void stop_superseded(struct feed *f, enum venue_route route)
{
    struct shard *sh;

    for (sh = f->shards; sh; sh = sh->next)
        if (sh->route == route && sh->role == SH_ACTIVE && !sh->stopping &&
            sh->ws.state == WSC_CONNECTED)
            break;
    if (!sh)
        return;
    for (sh = f->shards; sh; sh = sh->next)
        if (sh->doomed && !sh->stopping && sh->route == route && !drives_a_stream(f, sh))
            shard_stop(sh);
}

static void finish_rotation(struct feed *f, struct shard *nsh)
{
    struct shard *old = nsh->partner;

    for (uint32_t i = 0; i < nsh->n; i++) {
        struct dstream *s = nsh->ent[i].s;
        struct shard *p = s->primary;

        s->shard = nsh;
        s->acked_mono = nsh->ent[i].acked_mono;
        if (p && p != old && !p->doomed)
            continue;
        if (f->ad->handover_by_snapshot && p && p != nsh) {
            /* A book the replacement has not taken over (no snapshot from it yet) cannot go on
             * from the replacement's updates. A superseded replacement still connected goes on
             * driving it until that snapshot comes (take() in bitfinex_feed.c); from the connection
             * going now, the book waits for that snapshot. */
            if (p != old && p->ws.state == WSC_CONNECTED && !p->stopping)
                continue;
            feed_book_interrupt(f, s);
        }
        s->primary = nsh;
    }
    nsh->role = SH_ACTIVE;
    nsh->partner = NULL;
    if (old) {
        old->partner = NULL;
        shard_stop(old);
        log_msg(LOG_LV_INFO, "%s: conn %u replaced conn %u", f->cv.name, nsh->id, old->id);
    }
    stop_superseded(f, nsh->route);
    f->stats.rotations++;
}

/* ---- health checks ----------------------------------------------------------------------- */

int64_t feed_stale_threshold(const struct feed *f, const struct dstream *s)
{
    const struct cfg_health *h = &f->cv.health;
    int64_t ms = 1000000, thr;
    uint32_t period = s->live.guaranteed_ms ? s->live.guaranteed_ms : s->live.period_ms;

    if (!s->live.guaranteed_ms && !s->live.follows_trades)
        return h->stale_quiet > 0 ? (int64_t)(h->stale_quiet * 1000) * ms : 0;
    thr = (int64_t)(h->stale_factor * period) * ms;
    if (thr < (int64_t)(h->stale_min * 1000) * ms)
        thr = (int64_t)(h->stale_min * 1000) * ms;
    return thr;
}

/* Raises SUBSCRIPTION_SILENT (nothing since its acknowledgement) or FEED_STALE on s, with the
 * evidence in the text. */
static void flag_silence(struct feed *f, struct dstream *s, int64_t now, int64_t thr,
                         const char *why)
{
    bool silent = s->last_mono < s->acked_mono;

    if (s->flags & (DS_F_SILENT | DS_F_STALE))
        return;
    s->flags |= silent ? DS_F_SILENT : DS_F_STALE;
    if (silent)
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_SUBSCRIPTION_SILENT, f->venue_id, s->symbol,
                s->shard->id, "%s acknowledged %.1f s ago, nothing since: %s", s->name,
                (double)(now - s->acked_mono) / 1e9, why);
    else if (s->owed_mono)
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_FEED_STALE, f->venue_id, s->symbol, s->shard->id,
                "%s: missing data for %.1f s: %s (threshold %.1f s)", s->name,
                (double)(now - s->owed_mono) / 1e9, why, (double)thr / 1e9);
    else
        ev_emit(f->d, LOG_LV_WARNING, MDF_EV_FEED_STALE, f->venue_id, s->symbol, s->shard->id,
                "%s: nothing for %.1f s: %s (threshold %.1f s)", s->name,
                (double)(now - s->last_mono) / 1e9, why, (double)thr / 1e9);
    if (!silent && feed_book_state(s) == MDF_BOOK_LIVE)
        feed_book_interrupt(f, s);
}

/* The health model (mdfeedd(8), HEALTH): silence is an alarm only on evidence. A stream with a
 * cadence the venue guarantees is late when that cadence lapses; any other stream only when
 * the symbol's other streams showed trading it should have followed (it "owes" a message) and
 * it has not caught up within its threshold; a quiet market raises nothing. stale_quiet
 * (off by default) adds a plain quiet limit for users who want one. */
static void check_stream(struct feed *f, struct dstream *s, int64_t now)
{
    const struct cfg_health *h = &f->cv.health;
    int64_t ms = 1000000, thr, since;
    char why[96];

    if (s->removed || (s->flags & (DS_F_FAILED | DS_F_DOWN)) || !s->acked_mono || !s->shard ||
        s->shard->ws.state != WSC_CONNECTED || s->shard->maint)
        return;
    since = s->last_mono > s->acked_mono ? s->last_mono : s->acked_mono;
    if (s->live.guaranteed_ms) {
        thr = feed_stale_threshold(f, s);
        if (s->last_mono < s->acked_mono) {
            /* Never delivered: give the subscription silent_after (and 3 periods). */
            thr = (int64_t)(h->silent_after * 1000) * ms;
            if (thr < 3 * (int64_t)s->live.guaranteed_ms * ms)
                thr = 3 * (int64_t)s->live.guaranteed_ms * ms;
        }
        if (now - since > thr) {
            snprintf(why, sizeof(why), "the venue sends it at least every %.1f s",
                     (double)s->live.guaranteed_ms / 1e3);
            flag_silence(f, s, now, thr, why);
        }
        return;
    }
    if (s->owed_mono) {
        thr = feed_stale_threshold(f, s);
        if (now - s->owed_mono > thr) {
            if (s->live.proof == VP_TRADE_ID)
                snprintf(why, sizeof(why),
                         "the venue traded up to id %" PRId64 ", it shows %" PRId64, s->owed_id,
                         s->own_id);
            else
                snprintf(why, sizeof(why), "the symbol traded %.1f s ago and it did not follow",
                         (double)(now - s->owed_mono) / 1e9);
            flag_silence(f, s, now, thr, why);
        }
        return;
    }
    if (h->stale_quiet > 0 && now - since > (int64_t)(h->stale_quiet * 1000) * ms)
        flag_silence(f, s, now, (int64_t)(h->stale_quiet * 1000) * ms, "quieter than stale_quiet");
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
    if (changed) {
        link_evidence(f);
        f->d->trim_wanted = true; /* the daemon gives the freed pages back */
    }
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
        if (f->ad->check_stream)
            f->ad->check_stream(f, s);
    }
    for (sh = f->shards; sh; sh = next) {
        next = sh->next;
        if (sh->stopping || sh->ws.state != WSC_CONNECTED)
            continue;
        if (sh->doomed) {
            stop_superseded(f, sh->route);
        } else if (sh->role == SH_ACTIVE && !sh->partner && now - sh->connected_mono >= max_age) {
            ev_emit(f->d, LOG_LV_INFO, MDF_EV_CONNECTION_ROTATING, f->venue_id, UINT32_MAX, sh->id,
                    "connection age %.0f s reached max_connection_age",
                    (double)(now - sh->connected_mono) / 1e9);
            feed_rotate(f, sh);
        } else if (sh->role == SH_REPLACEMENT && sh->all_acked_mono &&
                   (f->ad->delivers(sh) ||
                    now - sh->all_acked_mono > ROTATION_QUIET_MS * 1000000LL)) {
            finish_rotation(f, sh);
        } else if (f->ad->check_shard) {
            f->ad->check_shard(f, sh, now);
        }
    }
    sweep_removed(f);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

struct feed *feed_new(struct daemon *d, const struct cfg_venue *cv)
{
    struct feed *f;
    int vid, rc;

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
    budget_figures(f);
    if ((rc = budget_hold(&d->budgets, &f->ws_budget, cv->url)) < 0 ||
        (rc = budget_hold(&d->budgets, &f->rest_budget, cv->rest_url)) < 0) {
        err_prefix(rc, "venue %s", cv->name);
        goto err_free;
    }
    f->tls = daemon_tls(d, cv->ca_file);
    if (!f->tls)
        goto err_free;
    f->ad = adapter_find(f->prof);
    if (!f->ad || f->ad->feed_init(f) < 0)
        goto err_free;
    if (f->ad->candles) {
        f->klines_cap = f->prof->klines_limit;
        f->klines = calloc(f->klines_cap, sizeof(*f->klines));
        if (!f->klines) {
            err_set(-ENOMEM, "venue %s: out of memory for its decoders", cv->name);
            goto err_free;
        }
    }
    for (size_t i = 0; i < cv->n_streams; i++) {
        struct dstream *s = new_stream(f, &cv->streams[i], &rc);

        if (!s && rc == ERR_SHM_SPACE) {
            refuse_stream(f);
            continue;
        }
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
    link_evidence(f);
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
    rp.budget = &f->rest_budget.h->rest; /* the REST host's, shared with its other entries */
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
    f->rq.on_notice = on_rest_notice;
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
    size_t added = 0, removed = 0, refused = 0;
    bool *keep;
    int rc = 0;

    keep = calloc(f->n_streams + 1, sizeof(*keep));
    if (!keep)
        return err_set(-ENOMEM, "out of memory");
    /* Settings apply to connections opened from now on. */
    f->cv = *cv;
    f->cv.streams = NULL;
    f->cv.n_streams = 0;
    /* The budgets follow the entry's limits and hosts (a new url moves it to that host's). */
    budget_figures(f);
    if (budget_move(&f->d->budgets, &f->ws_budget, f->cv.url, NULL) < 0 ||
        budget_move(&f->d->budgets, &f->rest_budget, f->cv.rest_url, f->rq_ready ? &f->rq : NULL) <
            0)
        log_msg(LOG_LV_ERR, "%s: reload: budgets stay with the old hosts: %s", f->cv.name,
                mdf_errmsg());
    for (size_t i = 0; i < cv->n_streams; i++) {
        const struct vstream *spec = &cv->streams[i];
        bool found = false;

        for (size_t k = 0; k < f->n_streams && !found; k++)
            if (!f->streams[k]->removed && vstream_equal(&f->streams[k]->spec, spec))
                found = keep[k] = true;
        if (found)
            continue;
        /* New stream. */
        struct dstream *s = new_stream(f, spec, &rc);

        if (!s && rc == ERR_SHM_SPACE) {
            refuse_stream(f); /* tried again at the next reload */
            refused++;
            rc = 0;
            continue;
        }
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
    link_evidence(f);
    uv_timer_set_repeat(&f->check_timer, (uint64_t)(f->cv.health.check_interval * 1000));
    if (refused)
        log_msg(LOG_LV_NOTICE,
                "%s: reload: %zu streams added, %zu removed, %zu refused (no shared memory)",
                f->cv.name, added, removed, refused);
    else
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
    /* After the queue, which used the REST host's budget. */
    budget_release(&f->d->budgets, &f->ws_budget);
    budget_release(&f->d->budgets, &f->rest_budget);
    for (size_t i = 0; i < f->n_streams; i++)
        free_stream(f->streams[i]);
    if (f->ad)
        f->ad->feed_fini(f);
    free(f->streams);
    free_acts(f->acts, f->n_acts);
    stream_map_free(&f->map);
    free(f->klines);
    free(f);
}
