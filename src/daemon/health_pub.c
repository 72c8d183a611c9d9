/*
 * Health entries from the daemon's structures (see health_pub.h).
 */
#include "daemon/health_pub.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/daemon.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "net/resolve.h"
#include "net/url.h"

/* Stream types as health names them, by enum vstream_type. */
static const uint8_t stream_type_of[VS_COUNT] = {
    [VS_TRADE] = MDF_STREAM_TRADE,       [VS_AGGTRADE] = MDF_STREAM_AGGTRADE,
    [VS_KLINE] = MDF_STREAM_CANDLE,      [VS_DEPTH] = MDF_STREAM_DEPTH,
    [VS_DIFF] = MDF_STREAM_BOOK,         [VS_BOOKTICKER] = MDF_STREAM_BBO,
    [VS_TICKER] = MDF_STREAM_TICKER,     [VS_MINITICKER] = MDF_STREAM_MINITICKER,
    [VS_MARKPRICE] = MDF_STREAM_FUNDING, [VS_FORCEORDER] = MDF_STREAM_LIQUIDATION,
};

static uint32_t total_streams(const struct md_config *cfg)
{
    uint32_t n = 0;

    for (size_t v = 0; v < cfg->n_venues; v++)
        n += (uint32_t)cfg->venues[v].n_streams;
    return n;
}

int hp_open(struct daemon *d)
{
    struct health_params hp = {0};
    uint32_t n = total_streams(d->cfg);
    int rc;

    hp.instance = d->cfg->instance;
    hp.mode = d->cfg->shm.mode;
    hp.gid = d->cfg->shm.gid;
    hp.max_venues = d->pub.st.d->max_venues;
    /* Room for reloads: twice the configured streams, and connections for the smallest
     * per-connection limit (25) twice over (make-before-break overlaps). */
    hp.max_streams = 2 * n + 256;
    hp.max_conns = n / 8 + 64;
    hp.publish_ns = HP_PUBLISH_MS * 1000000LL;
    hp.hb_interval_ns = HP_PUBLISH_MS * 1000000LL;
    rc = health_open(&d->health, &hp);
    if (rc < 0)
        return rc;
    d->health_open = true;
    d->hstate = MDF_DAEMON_STARTING;
    d->start_ns = clock_real_ns();
    return 0;
}

void hp_close(struct daemon *d)
{
    if (!d->health_open)
        return;
    hp_set_state(d, MDF_DAEMON_STOPPED);
    health_close(&d->health, false);
    d->health_open = false;
}

void hp_count_error(struct daemon *d, int kind)
{
    if (kind >= 0 && kind < MDF_HERR_COUNT)
        d->herr[kind]++;
}

const char *hp_status(const struct daemon *d)
{
    return d->status;
}

/* ---- connections ------------------------------------------------------------------------- */

static uint8_t conn_state(const struct shard *sh)
{
    if (sh->stopping)
        return sh->ws.state == WSC_CONNECTED ? MDF_CONN_CLOSING : MDF_CONN_CLOSED;
    switch (sh->ws.state) {
    case WSC_CONNECTING:
        return MDF_CONN_CONNECTING;
    case WSC_CONNECTED:
        return MDF_CONN_OPEN;
    case WSC_RECONNECTING:
        return sh->gave_up ? MDF_CONN_FAILED : MDF_CONN_BACKOFF;
    case WSC_FAILED:
        return MDF_CONN_FAILED;
    default:
        return MDF_CONN_IDLE;
    }
}

/* Any frame (message, ping, pong) since the last refresh counts as the peer being alive. */
static void conn_liveness(struct shard *sh, int64_t now)
{
    const struct wsconn_stats *w = &sh->ws.stats;
    uint64_t frames = w->msgs_in + w->pings_in + w->pongs_in;

    if (frames != sh->frames_seen || !sh->last_frame_mono) {
        sh->frames_seen = frames;
        sh->last_frame_mono = now;
    }
}

static void publish_conn(struct daemon *d, struct shard *sh, int64_t now)
{
    struct mdf_health_conn c;
    const struct wsconn_stats *w = &sh->ws.stats;
    const char *q;
    size_t len;

    if (sh->hslot < 0) {
        int slot = health_slot_alloc(&d->health, MDF_HT_CONN);

        if (slot < 0)
            return; /* table full: counted in the daemon's totals only */
        sh->hslot = slot;
    }
    conn_liveness(sh, now);
    memset(&c, 0, sizeof(c));
    c.in_use = 1;
    c.id = sh->id;
    c.venue = sh->f->venue_id;
    c.state = conn_state(sh);
    c.role = (uint8_t)sh->role;
    c.n_streams = shard_count(sh);
    q = strchr(sh->ws.url_text, '?');
    len = q ? (size_t)(q - sh->ws.url_text) : strlen(sh->ws.url_text);
    if (len >= sizeof(c.endpoint))
        len = sizeof(c.endpoint) - 1;
    memcpy(c.endpoint, sh->ws.url_text, len);
    if (sh->connected_mono) {
        c.connected_mono_ns = sh->connected_mono;
        c.connected_ns = sh->connected_ns;
    }
    c.last_msg_ns = sh->last_msg_ns;
    c.last_msg_mono_ns = sh->last_frame_mono;
    c.reconnects = w->connects > 1 ? w->connects - 1 : 0;
    c.bytes_in = w->bytes_in;
    c.bytes_out = w->bytes_out;
    c.msgs_in = w->msgs_in;
    c.msgs_out = w->msgs_out;
    c.pings_in = w->pings_in;
    c.pings_out = w->pings_out;
    c.pongs_in = w->pongs_in;
    c.last_error = w->last_error;
    c.watchdog_ms = (uint32_t)(sh->f->cv.health.watchdog_timeout * 1000);
    if (w->last_error) {
        c.last_error_ns = sh->last_error_ns;
        snprintf(c.last_error_text, sizeof(c.last_error_text), "%.*s",
                 (int)sizeof(c.last_error_text) - 1, w->last_error_msg);
    }
    health_write(&d->health, MDF_HT_CONN, (uint32_t)sh->hslot, &c, sizeof(c));
}

void hp_forget_conn(struct daemon *d, struct shard *sh)
{
    struct feed_retired *r = &sh->f->retired;
    const struct wsconn_stats *w = &sh->ws.stats;

    r->bytes_in += w->bytes_in;
    r->msgs_in += w->msgs_in;
    r->errors_tls += w->errors_tls;
    r->errors_ws += w->errors_ws;
    r->errors_net += w->errors_net;
    r->errors_timeout += w->errors_timeout;
    r->attempts += w->connects + w->connect_failures;
    r->admit_waits += w->admit_waits;
    r->refused += sh->refused;
    if (d->health_open && sh->hslot >= 0)
        health_slot_free(&d->health, MDF_HT_CONN, (uint32_t)sh->hslot);
    sh->hslot = -1;
}

/* ---- streams ----------------------------------------------------------------------------- */

/* The state health shows for s: its subscription state, overridden by what is wrong with it
 * (worst first: down or refused, undecodable, stale, silent). */
static uint8_t hp_stream_state(const struct dstream *s)
{
    if (s->removed)
        return s->hstate;
    if (s->flags & (DS_F_FAILED | DS_F_DOWN))
        return MDF_STREAM_FAILED;
    if (s->hstate != MDF_STREAM_LIVE)
        return s->hstate;
    if (s->flags & DS_F_BADDATA)
        return MDF_STREAM_BAD_DATA;
    if (s->flags & DS_F_STALE)
        return MDF_STREAM_STALE;
    if (s->flags & DS_F_SILENT)
        return MDF_STREAM_SILENT;
    return MDF_STREAM_LIVE;
}

/* Subscription states as health names them, by enum sub_state. */
static const uint8_t sub_to_state[] = {
    [SUB_WANT] = MDF_STREAM_SUBSCRIBING,     [SUB_SENT] = MDF_STREAM_SUBSCRIBING,
    [SUB_ACKED] = MDF_STREAM_LIVE,           [SUB_FAILED] = MDF_STREAM_FAILED,
    [SUB_UNWANT] = MDF_STREAM_UNSUBSCRIBING, [SUB_UNSENT] = MDF_STREAM_UNSUBSCRIBING,
};

static void publish_stream(struct daemon *d, struct dstream *s)
{
    struct mdf_health_stream e;

    if (s->hslot < 0) {
        int slot = health_slot_alloc(&d->health, MDF_HT_STREAM);

        if (slot < 0)
            return;
        s->hslot = slot;
    }
    memset(&e, 0, sizeof(e));
    e.in_use = 1;
    e.venue = s->f->venue_id;
    e.type = s->spec.type < VS_COUNT ? stream_type_of[s->spec.type] : 0;
    e.state = hp_stream_state(s);
    e.symbol = s->symbol;
    e.connection = s->shard ? s->shard->id : 0;
    e.interval = s->spec.interval;
    e.levels = s->spec.levels;
    snprintf(e.name, sizeof(e.name), "%s", s->name);
    e.msgs = s->msgs;
    e.dups = s->dups;
    e.gaps = s->gaps;
    {
        uint64_t gen, resyncs, gaps;
        int st = feed_book_info(s, &gen, &resyncs, &gaps);

        if (st >= 0) {
            e.book_state = (uint8_t)st;
            e.book_generation = gen;
            e.resyncs = resyncs;
            e.gaps += gaps;
        }
    }
    e.last_exch_ns = s->last_exch_ns;
    e.last_recv_ns = s->last_recv_ns;
    e.last_mono_ns = s->last_mono;
    e.delay_ewma_ns = s->delay_ewma_ns;
    e.delay_max_ns = s->delay_max_ns;
    e.stale_after_ms = (uint32_t)(feed_stale_threshold(s->f, s) / 1000000);
    e.cadence_ms = s->cadence_ms;
    e.decode_errors = s->decode_errors;
    e.owed_mono_ns = s->owed_mono;
    health_write(&d->health, MDF_HT_STREAM, (uint32_t)s->hslot, &e, sizeof(e));
}

void hp_forget_stream(struct daemon *d, struct dstream *s)
{
    struct feed_retired *r = &s->f->retired;
    uint64_t resyncs, gaps;

    feed_book_info(s, NULL, &resyncs, &gaps);
    r->gaps += s->gaps + gaps;
    r->resyncs += resyncs;
    if (d->health_open && s->hslot >= 0)
        health_slot_free(&d->health, MDF_HT_STREAM, (uint32_t)s->hslot);
    s->hslot = -1;
}

/* ---- venues, rings, daemon --------------------------------------------------------------- */

/* Adds the name-lookup figures of the host of url (a name or an address) to v; the host's name
 * goes to stuck_host when one of its lookups is stuck now. A host already counted (the REST
 * host is often the stream host) is skipped. */
static void add_dns(struct mdf_health_venue *v, const char *url, char *seen, size_t cap,
                    char *stuck_host, int64_t *stuck_ms)
{
    static struct url u; /* 2 KiB: kept off the stack; loop thread only */
    struct resolve_stats rs;

    if (!url[0] || url_parse(&u, url) < 0 || strcmp(seen, u.host) == 0)
        return;
    snprintf(seen, cap, "%s", u.host);
    resolve_host_stats(u.host, &rs);
    v->dns_stuck += rs.stuck;
    v->dns_stuck_total += rs.stuck_total;
    if (rs.stuck) {
        snprintf(stuck_host, 256, "%s", u.host);
        *stuck_ms = rs.stuck_ms;
    }
}

/* Publishes feed f's venue entry and its connections and streams; adds its totals to *dm. */
static void publish_feed(struct daemon *d, struct feed *f, int64_t now,
                         struct mdf_health_daemon *dm)
{
    struct mdf_health_venue v;
    const struct restq_stats *rq = &f->rq.stats;
    uint64_t bytes = f->retired.bytes_in, tls = f->retired.errors_tls, ws = f->retired.errors_ws;
    uint64_t net = f->retired.errors_net, tmo = f->retired.errors_timeout;
    uint64_t refused = f->retired.refused, gaps = 0;
    uint64_t attempts = f->retired.attempts, waits = f->retired.admit_waits;
    uint32_t conns = 0;

    /* Which connection carries each stream, in what subscription state: one pass over the
     * connections (a stream's active connection decides). */
    for (size_t i = 0; i < f->n_streams; i++)
        f->streams[i]->hstate = f->streams[i]->removed ? MDF_STREAM_UNSUBSCRIBING : MDF_STREAM_IDLE;
    for (struct shard *sh = f->shards; sh; sh = sh->next) {
        const struct wsconn_stats *w = &sh->ws.stats;

        for (uint32_t k = 0; k < sh->n; k++) {
            struct dstream *s = sh->ent[k].s;

            if (s->shard == sh || (!s->shard && s->hstate == MDF_STREAM_IDLE))
                s->hstate = sh->ent[k].state < sizeof(sub_to_state) ? sub_to_state[sh->ent[k].state]
                                                                    : MDF_STREAM_IDLE;
        }
        publish_conn(d, sh, now);
        d->degraded_now |= sh->gave_up && !sh->stopping;
        conns++;
        dm->n_conns_open += sh->ws.state == WSC_CONNECTED;
        bytes += w->bytes_in;
        tls += w->errors_tls;
        ws += w->errors_ws;
        net += w->errors_net;
        tmo += w->errors_timeout;
        refused += sh->refused;
        attempts += w->connects + w->connect_failures;
        waits += w->admit_waits;
    }
    gaps = f->retired.gaps;
    for (size_t i = 0; i < f->n_streams; i++) {
        struct dstream *s = f->streams[i];

        publish_stream(d, s);
        if (s->removed)
            continue;
        dm->n_streams++;
        switch (hp_stream_state(s)) {
        case MDF_STREAM_LIVE:
            dm->n_streams_live++;
            break;
        case MDF_STREAM_FAILED:
        case MDF_STREAM_BAD_DATA:
            dm->n_streams_bad++;
            dm->n_streams_failed++;
            d->degraded_now = true;
            break;
        case MDF_STREAM_STALE:
            dm->n_streams_bad++;
            dm->n_streams_stale++;
            break;
        case MDF_STREAM_SILENT:
            dm->n_streams_bad++;
            dm->n_streams_silent++;
            break;
        default:
            break;
        }
        {
            uint64_t bgaps;
            int st = feed_book_info(s, NULL, NULL, &bgaps);

            if (st >= 0) {
                dm->n_books++;
                dm->n_books_live += st == MDF_BOOK_LIVE;
                gaps += bgaps;
            }
        }
    }
    dm->msgs += f->stats.msgs;
    dm->bytes += bytes;
    dm->records += f->stats.records;
    dm->dups += f->stats.dups;
    dm->errors[MDF_HERR_PARSE] += f->stats.parse_errors - f->stats.range_errors;
    dm->errors[MDF_HERR_RANGE] += f->stats.range_errors;
    dm->errors[MDF_HERR_CONNECT] += net;
    dm->errors[MDF_HERR_TLS] += tls;
    dm->errors[MDF_HERR_WS] += ws;
    dm->errors[MDF_HERR_TIMEOUT] += tmo;
    dm->errors[MDF_HERR_REST] += rq->failed;
    dm->errors[MDF_HERR_THROTTLED] += rq->throttled + rq->banned;
    dm->errors[MDF_HERR_SUBSCRIBE] += refused;
    dm->errors[MDF_HERR_BOOK_GAP] += gaps;
    dm->errors[MDF_HERR_UNKNOWN] += f->stats.unknown;
    dm->errors[MDF_HERR_CHECKSUM] += f->stats.checksums;
    dm->errors[MDF_HERR_SEQ_GAP] += f->stats.seq_gaps;
    dm->n_venues++;
    dm->n_conns += conns;

    memset(&v, 0, sizeof(v));
    v.in_use = !f->stopping;
    v.venue = f->venue_id;
    snprintf(v.name, sizeof(v.name), "%s", f->cv.name);
    v.n_conns = conns;
    for (size_t i = 0; i < f->n_streams; i++)
        v.n_streams += !f->streams[i]->removed;
    v.rest_weight_used = rq->used_weight;
    v.rest_weight_limit = rq->budget;
    v.rest_queued = rq->queued;
    v.rest_requests = rq->sent;
    v.rest_throttled = rq->throttled + rq->banned;
    v.rest_paused_until_ns = rq->paused_until_ms * 1000000;
    v.conn_attempts = attempts;
    v.conn_admit_waits = waits;
    {
        char seen[256] = "", stuck_host[256] = "";
        int64_t stuck_ms = 0;

        add_dns(&v, f->cv.url, seen, sizeof(seen), stuck_host, &stuck_ms);
        add_dns(&v, f->cv.rest_url, seen, sizeof(seen), stuck_host, &stuck_ms);
        if (v.dns_stuck_total > f->dns_stuck_logged && stuck_host[0])
            log_msg(LOG_LV_WARNING,
                    "%s: DNS lookup of %s stuck: no answer for %.1f s (%u stuck now, %" PRIu64
                    " since start); its connection attempts fail at once until it answers, "
                    "other hosts are not held up",
                    f->cv.name, stuck_host, (double)stuck_ms / 1e3, v.dns_stuck, v.dns_stuck_total);
        if (v.dns_stuck_total > f->dns_stuck_logged)
            f->dns_stuck_logged = v.dns_stuck_total;
    }
    health_write(&d->health, MDF_HT_VENUE, f->venue_id, &v, sizeof(v));
}

static void publish_rings(struct daemon *d, int64_t now)
{
    static const char *const names[MDF_RING_COUNT] = {"ticks", "candles", "books", "funding",
                                                      "events"};
    int64_t dt = now - d->rate_mono;
    bool roll = !d->rate_mono || dt >= 1000000000LL;

    for (int r = 0; r < MDF_RING_COUNT; r++) {
        const struct ring_tx *tx = &d->pub.tx[r];
        struct mdf_health_ring e;

        if (roll) {
            d->ring_rate[r] = d->rate_mono && dt > 0
                                  ? (tx->tail - d->ring_head_at[r]) * 1000000000ULL / (uint64_t)dt
                                  : 0;
            d->ring_head_at[r] = tx->tail;
        }
        memset(&e, 0, sizeof(e));
        e.in_use = 1;
        e.ring_id = (uint32_t)r;
        snprintf(e.name, sizeof(e.name), "%s", names[r]);
        e.capacity = tx->mask + 1;
        e.head = tx->tail;
        e.slot_size = tx->slot_size;
        e.rate = d->ring_rate[r];
        health_write(&d->health, MDF_HT_RING, (uint32_t)r, &e, sizeof(e));
    }
    if (roll)
        d->rate_mono = now;
}

/* The status line's tail for streams that are not LIVE by cause, e.g. ", 1 failed, 2 stale"
 * ("" when every stream is fine). */
static void bad_streams_text(const struct mdf_health_daemon *dm, char *buf, size_t cap)
{
    const uint32_t n[] = {dm->n_streams_failed, dm->n_streams_stale, dm->n_streams_silent};
    static const char *const what[] = {"failed", "stale", "silent"};
    size_t len = 0;

    buf[0] = '\0';
    for (int k = 0; k < 3; k++)
        if (n[k] && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, ", %u %s", n[k], what[k]);
}

static void publish_daemon(struct daemon *d, const struct mdf_health_daemon *counts)
{
    static const char *const state_names[] = {"stopped",  "starting", "running",
                                              "stopping", "failed",   "degraded"};
    struct mdf_health_daemon dm = *counts;
    char bad[64];

    /* RUNNING with a stream that delivers nothing (down, refused, undecodable) is DEGRADED. */
    dm.state = (uint32_t)(d->hstate == MDF_DAEMON_RUNNING && d->degraded ? MDF_DAEMON_DEGRADED
                                                                         : d->hstate);
    dm.pid = getpid();
    dm.start_ns = d->start_ns;
    dm.config_generation = d->config_generation + 1;
    dm.loop_beat_mono_ns = d->last_beat_mono;
    dm.events = d->events_emitted;
    for (int k = 0; k < MDF_HERR_COUNT; k++)
        dm.errors[k] += d->herr[k];
    snprintf(dm.version, sizeof(dm.version), "%s", MDFEED_VERSION);
    bad_streams_text(&dm, bad, sizeof(bad));
    snprintf(d->status, sizeof(d->status),
             "%s: %u/%u connections open, %u/%u streams live, %u/%u books live%s",
             state_names[dm.state < 6 ? dm.state : 0], dm.n_conns_open, dm.n_conns,
             dm.n_streams_live, dm.n_streams, dm.n_books_live, dm.n_books, bad);
    snprintf(dm.status, sizeof(dm.status), "%s", d->status);
    d->hd_counts = *counts;
    health_write(&d->health, MDF_HT_DAEMON, 0, &dm, sizeof(dm));
}

void hp_set_state(struct daemon *d, int state)
{
    if (!d->health_open)
        return;
    d->hstate = state;
    publish_daemon(d, &d->hd_counts);
}

void hp_refresh(struct daemon *d, int64_t now_ns)
{
    struct mdf_health_daemon counts;

    if (!d->health_open)
        return;
    memset(&counts, 0, sizeof(counts));
    d->degraded_now = false;
    for (size_t i = 0; i < d->n_feeds; i++)
        publish_feed(d, d->feeds[i], now_ns, &counts);
    d->degraded = d->degraded_now || d->start_timed_out;
    publish_rings(d, now_ns);
    d->last_beat_mono = now_ns;
    publish_daemon(d, &counts);
    health_beat(&d->health, now_ns);
}
