/*
 * Candles: closed candles from the kline streams go to the candles ring and the last-K table
 * (open candles too with emit_partial_candles). REST klines, through the feed's weight-budgeted
 * queue, fill the history, published flagged MDF_CANDLE_F_BACKFILLED:
 * - warm-up: at a stream's first kline message (first start, a stream added by SIGHUP, a
 *   restart), the last K closed candles (K = shm.candle_history) that the table does not hold
 *   yet, so a strategy has its history from the first minute (candle_warmup, on by default);
 * - outage: after a (re)connect the first kline message shows whether closed candles were
 *   missed while no connection carried the stream; those are fetched, so the history has no
 *   holes.
 * Both end before the candle the stream shows, so nothing the stream then closes is fetched
 * too. The table keeps open-time order whatever order they arrive in; the ring carries them
 * when they arrive.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon/adapter.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/feed.h"
#include "daemon/log.h"
#include "shm/state.h"

#define MS 1000000LL

static void request_page(struct feed *f, struct dstream *s, int64_t from_ns, int64_t to_ns,
                         bool warm);
static void request_next(struct feed *f, struct dstream *s);

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

/* The warm-up of s is over: done, failed, or cancelled (`quiet`: the stream went). The last of
 * the feed's says so, once, with what they fetched. */
static void warm_done(struct feed *f, struct dstream *s, bool quiet)
{
    if (!s->warming)
        return;
    s->warming = false;
    f->warming--;
    f->warm_streams += !quiet;
    if (f->warming)
        return;
    if (f->warm_streams)
        ev_emit(f->d, LOG_LV_NOTICE, MDF_EV_CANDLES_BACKFILLED, f->venue_id, UINT32_MAX, 0,
                "candle history warm-up done: %" PRIu64 " closed candles for %u kline streams",
                f->warm_candles, f->warm_streams);
    f->warm_streams = 0;
    f->warm_candles = 0;
}

static void on_klines(struct restq_req *r, int err, const struct http_response *resp)
{
    struct dstream *s = r->ud;
    struct feed *f = s->f;
    int64_t from = s->fill_from_ns, to = s->fill_to_ns, last_open = 0, next, now = clock_real_ns();
    size_t n = 0, published = 0;
    int rc;

    if (err == -ECANCELED || s->removed || f->stopping) {
        s->n_pend = 0;
        warm_done(f, s, true);
        return;
    }
    if (err < 0) {
        log_msg(LOG_LV_WARNING, "%s: candle %s of %s failed: %s", f->cv.name,
                s->fill_warm ? "warm-up" : "backfill", s->name, mdf_errmsg());
        if (s->fill_warm)
            warm_done(f, s, false);
        request_next(f, s);
        return;
    }
    rc = f->ad->candles->decode(f, s, resp, now, f->klines, f->klines_cap, &n);
    if (rc < 0) {
        f->stats.parse_errors++;
        log_msg(LOG_LV_WARNING, "%s: klines for %s do not decode: %s", f->cv.name, s->name,
                mdf_errmsg());
        if (s->fill_warm)
            warm_done(f, s, false);
        request_next(f, s);
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
    if (s->fill_warm)
        f->warm_candles += published;
    /* A warm-up page is an event (debug level: hundreds of streams start at once, and the
     * last one's summary is what the log needs); an outage's gap is logged. */
    if (published)
        ev_emit(f->d, s->fill_warm ? LOG_LV_DEBUG : LOG_LV_NOTICE, MDF_EV_CANDLES_BACKFILLED,
                f->venue_id, s->symbol, 0, "%s: %zu closed candles fetched over REST%s", s->name,
                published, s->fill_warm ? " (history warm-up)" : "");
    /* A long outage, or a history longer than a page, needs more than one page. */
    next = mdf_interval_ns(s->spec.interval) > 0 ? last_open + mdf_interval_ns(s->spec.interval)
                                                 : last_open + MS;
    if (n == s->fill_limit && last_open && next <= to) {
        request_page(f, s, next, to, s->fill_warm);
        return;
    }
    if (s->fill_warm)
        warm_done(f, s, false);
    request_next(f, s);
}

/* The first range waiting behind the request that just finished, if any, goes now. */
static void request_next(struct feed *f, struct dstream *s)
{
    struct candle_range r;

    if (!s->n_pend)
        return;
    r = s->pend[0];
    memmove(&s->pend[0], &s->pend[1], --s->n_pend * sizeof(s->pend[0]));
    request_page(f, s, r.from_ns, r.to_ns, r.warm);
}

/* Cuts from [*from, *to] what [a, b] (a range being fetched or waiting) covers, so no candle is
 * fetched and published twice; keeps the part before [a, b] when it lies inside. Returns false
 * when nothing is left. */
static bool clip(int64_t *from, int64_t *to, int64_t a, int64_t b)
{
    if (*to < a || *from > b)
        return true;
    if (*from >= a && *to <= b)
        return false;
    if (*from >= a)
        *from = b + MS;
    else
        *to = a - MS;
    return *from <= *to;
}

/* Candles a page of [from_ns, to_ns] needs (open times, inclusive): the count for intervals of
 * fixed length (at least 1), the venue's page for calendar months. */
static uint32_t page_limit(const struct feed *f, const struct dstream *s, int64_t from_ns,
                           int64_t to_ns)
{
    int64_t len = mdf_interval_ns(s->spec.interval), n;

    if (len <= 0)
        return (uint32_t)f->klines_cap;
    n = (to_ns - from_ns) / len + 1;
    return n < 1 ? 1 : n > (int64_t)f->klines_cap ? (uint32_t)f->klines_cap : (uint32_t)n;
}

/* Fetches the closed candles of s with open times in [from_ns, to_ns], a page at a time; while
 * a request of s is under way the range waits (merged with one already waiting). */
static void request_page(struct feed *f, struct dstream *s, int64_t from_ns, int64_t to_ns,
                         bool warm)
{
    uint32_t limit;
    int rc;

    if (s->klines.queued) {
        struct candle_range *last;

        if (!clip(&from_ns, &to_ns, s->fill_from_ns, s->fill_to_ns))
            goto dropped;
        for (uint8_t i = 0; i < s->n_pend; i++)
            if (!clip(&from_ns, &to_ns, s->pend[i].from_ns, s->pend[i].to_ns))
                goto dropped;
        if (s->n_pend < DS_PEND_MAX) {
            s->pend[s->n_pend++] = (struct candle_range){from_ns, to_ns, warm};
            return;
        }
        last = &s->pend[DS_PEND_MAX - 1]; /* more than ever happens: one wider range */
        last->from_ns = from_ns < last->from_ns ? from_ns : last->from_ns;
        last->to_ns = to_ns > last->to_ns ? to_ns : last->to_ns;
        last->warm = last->warm || warm; /* so the warm-up's end is seen */
        return;
    }
    if (from_ns > to_ns)
        goto dropped;
    limit = page_limit(f, s, from_ns, to_ns);
    rc = f->ad->candles->url(f, s, from_ns / MS, to_ns / MS, limit, s->klines.url,
                             sizeof(s->klines.url), &s->klines.weight);
    if (rc < 0) {
        log_msg(LOG_LV_ERR, "%s: no klines URL for %s", f->cv.name, s->name);
        goto dropped;
    }
    s->fill_from_ns = from_ns;
    s->fill_to_ns = to_ns;
    s->fill_limit = limit;
    s->fill_warm = warm;
    s->klines.cb = on_klines;
    s->klines.ud = s;
    rc = restq_submit(&f->rq, &s->klines);
    if (rc == 0)
        return;
    log_msg(LOG_LV_ERR, "%s: klines request for %s refused: %s", f->cv.name, s->name, mdf_errmsg());

dropped: /* nothing more of this range will be fetched */
    if (warm)
        warm_done(f, s, false);
    if (!s->klines.queued)
        request_next(f, s);
}

/* The open time n candles of interval iv before the one opening at open_ns (calendar months for
 * 1M, fixed lengths otherwise). */
static int64_t candles_back(int iv, int64_t open_ns, uint32_t n)
{
    int64_t len = mdf_interval_ns(iv);

    if (len > 0)
        return open_ns - (int64_t)n * len;
    if (iv == MDF_IV_1MO) {
        time_t t = (time_t)(open_ns / 1000000000LL);
        struct tm tm;
        int64_t months;

        gmtime_r(&t, &tm);
        months = (int64_t)tm.tm_year * 12 + tm.tm_mon - n;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = (int)(months / 12);
        tm.tm_mon = (int)(months % 12);
        tm.tm_mday = 1;
        return (int64_t)timegm(&tm) * 1000000000LL;
    }
    return open_ns;
}

/* The first kline message of s since its start or a reconnect shows the candle open now
 * (opening at cur_ns): fetches the closed candles missed since the newest published one and, the
 * first time (warm-up), those of the last K the table does not hold. */
static void plan_fetch(struct feed *f, struct dstream *s, int64_t cur_ns)
{
    bool warm = !s->warmed && f->cv.candle_warmup;
    int64_t to = cur_ns - MS; /* before the candle the stream gives now */

    s->warmed = true;
    s->backfill_check = false;
    /* Only what the venue's REST serves (Binance futures has no 1s klines). */
    if (!f->ad->candles || !f->ad->candles->serves(f, s->spec.interval))
        return;
    if (s->closed_open_ns && s->closed_close_ns + MS <= to)
        request_page(f, s, s->closed_close_ns + MS, to, false); /* an outage's gap */
    if (warm) {
        uint32_t k = f->d->cfg->shm.candle_k;
        int64_t from = candles_back(s->spec.interval, cur_ns, k);
        struct mdf_candle oldest;

        /* What the table holds of the last K (an adopted state segment after a restart, a
         * stream added again) is not fetched again: only what is older than its oldest. */
        if (state_rx_candles(f->d->pub.st.base, s->symbol, s->spec.interval, false, 1, from, cur_ns,
                             &oldest, NULL) == 1)
            to = oldest.open_time_ns - MS;
        else if (s->closed_open_ns)
            return; /* the table's newest is older than the K: the gap covers them */
        if (from <= to) {
            s->warming = true;
            f->warming++;
            request_page(f, s, from, to, true);
        }
    }
}

void candles_on_kline(struct feed *f, struct dstream *s, union mdf_record *rec)
{
    struct mdf_candle *c = &rec->candle;
    bool closed = rec->h.flags & MDF_CANDLE_F_CLOSED;

    if (s->backfill_check || !s->warmed)
        plan_fetch(f, s, c->open_time_ns);
    if (closed)
        candles_publish_closed(f, s, rec, false);
    else if (f->cv.emit_partial_candles) {
        daemon_publish(f->d, rec);
        f->stats.records++;
    }
}

void candles_cancel(struct feed *f, struct dstream *s)
{
    s->n_pend = 0;
    warm_done(f, s, true);
    restq_cancel(&f->rq, &s->klines);
}
