/*
 * Candles: closed candles from the kline streams go to the candles ring and the last-K table
 * (open candles too with emit_partial_candles). After a (re)connect the first kline message of
 * a stream shows whether closed candles were missed while no connection carried it; those are
 * fetched with REST klines through the feed's weight-budgeted queue and published flagged
 * MDF_CANDLE_F_BACKFILLED, so the candle history has no holes. The table keeps open-time order
 * whatever order they arrive in; the ring carries them when they arrive.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"

#define MS 1000000LL

static void request_page(struct feed *f, struct dstream *s, int64_t from_ns, int64_t to_ns);

void candles_publish_closed(struct feed *f, struct dstream *s, union mdf_record *rec,
                            bool backfilled)
{
    struct mdf_candle *c = &rec->candle;

    if (!backfilled && c->open_time_ns <= s->closed_open_ns)
        return; /* the REST backfill (or the other connection) published it already */
    if (c->open_time_ns > s->closed_open_ns) {
        s->closed_open_ns = c->open_time_ns;
        s->closed_close_ns = c->close_time_ns;
    }
    daemon_publish(f->d, rec);
    f->stats.records++;
}

static void on_klines(struct restq_req *r, int err, const struct http_response *resp)
{
    struct dstream *s = r->ud;
    struct feed *f = s->f;
    int64_t from = s->fill_from_ns, to = s->fill_to_ns, last_open = 0, now = clock_real_ns();
    size_t n = 0, published = 0;
    int rc;

    if (err == -ECANCELED || s->removed || f->stopping)
        return;
    if (err < 0) {
        log_msg(LOG_LV_WARNING, "%s: candle backfill of %s failed: %s", f->cv.name, s->name,
                mdf_errmsg());
        return;
    }
    rc = binance_decode_klines(f->rest_dec, resp->body, resp->body_len, s->spec.interval, now, now,
                               f->klines, f->klines_cap, &n);
    if (rc < 0) {
        f->stats.parse_errors++;
        log_msg(LOG_LV_WARNING, "%s: klines for %s do not decode: %s", f->cv.name, s->name,
                mdf_errmsg());
        return;
    }
    for (size_t i = 0; i < n; i++) {
        union mdf_record *rec = (union mdf_record *)&f->klines[i];

        if (f->klines[i].open_time_ns < from || f->klines[i].open_time_ns > to)
            continue;
        rec->h.venue = f->venue_id;
        rec->h.symbol = s->symbol;
        rec->h.stream = s->stream;
        candles_publish_closed(f, s, rec, true);
        last_open = f->klines[i].open_time_ns;
        published++;
    }
    f->stats.backfilled += published;
    if (published)
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CANDLES_BACKFILLED, f->venue_id, s->symbol, 0,
                "%s: %zu closed candles fetched over REST", s->name, published);
    /* A long outage needs more than one page. */
    if (n == f->klines_cap && last_open && last_open < to)
        request_page(f, s, last_open + 1, to);
}

static void request_page(struct feed *f, struct dstream *s, int64_t from_ns, int64_t to_ns)
{
    int rc;

    if (s->klines.queued)
        return;
    rc = binance_klines_url(f->prof, f->cv.rest_url, s->spec.symbol, s->spec.interval, from_ns / MS,
                            to_ns / MS, (uint32_t)f->klines_cap, s->klines.url,
                            sizeof(s->klines.url), &s->klines.weight);
    if (rc < 0) {
        log_msg(LOG_LV_ERR, "%s: no klines URL for %s", f->cv.name, s->name);
        return;
    }
    s->fill_from_ns = from_ns;
    s->fill_to_ns = to_ns;
    s->klines.cb = on_klines;
    s->klines.ud = s;
    rc = restq_submit(&f->rq, &s->klines);
    if (rc < 0)
        log_msg(LOG_LV_ERR, "%s: klines request for %s refused: %s", f->cv.name, s->name,
                mdf_errmsg());
}

void candles_on_kline(struct feed *f, struct dstream *s, union mdf_record *rec)
{
    struct mdf_candle *c = &rec->candle;
    bool closed = rec->h.flags & MDF_CANDLE_F_CLOSED;

    if (s->backfill_check) {
        int64_t from = s->closed_close_ns + MS; /* open time of the candle after the last */
        int64_t to = c->open_time_ns - MS;      /* before the candle the stream gives now */

        s->backfill_check = false;
        /* Futures REST has no 1s klines (-1120). */
        if (s->closed_open_ns && to >= from && !(f->prof->futures && s->spec.interval == MDF_IV_1S))
            request_page(f, s, from, to);
    }
    if (closed)
        candles_publish_closed(f, s, rec, false);
    else if (f->cv.emit_partial_candles) {
        daemon_publish(f->d, rec);
        f->stats.records++;
    }
}

void candles_cancel(struct feed *f, struct dstream *s)
{
    restq_cancel(&f->rq, &s->klines);
}
