/*
 * The REST weight-budget queue: a FIFO of GET requests, sent through a few http_get slots while
 * the wall-clock minute's request weight stays within share x limit, paused by 429 and stopped by
 * 418 until Retry-After, with every request kept until its callback ran exactly once.
 *
 * Main design choice: one timer and one rule. Whenever the queue has to wait (a 429 or 418 pause,
 * the minute's budget spent, the retry delay after a network error, or the zero-delay kick after
 * a submit), the timer is armed, and while it is armed nothing is sent; when it fires, pump()
 * looks at the whole state again and either sends or arms it once more. So a wait needs no state
 * of its own besides the timer's due time, the head of the queue can never be overtaken (FIFO),
 * and there is exactly one place that decides to send. A wait never shortens another: the timer
 * is only ever pushed later.
 *
 * The weight estimate for the minute is max(header + weight in flight, own weight sent), where
 * header is the largest x-mbx-used-weight-1m seen this minute (responses in flight are not in it
 * yet) and own weight is what we sent this minute. It only over-estimates, so the venue's own
 * count (which includes other clients on the IP) stays under our budget as far as we can know.
 *
 * The estimate and the pause live in the budget, which every queue sending to one host shares:
 * the sums are over all of them, and a 429 answered to one queue pauses them all. Each queue
 * still decides alone, by the same rule, when it sends: a queue arriving at the budget sees the
 * pause (and tells its owner) when its own pump() runs, and the first pump() after the pause's
 * end clears it for everyone. The budget keeps the list of its queues only to mirror its figures
 * into their stats.
 *
 * Memory: the http slots' body buffers are allocated in restq_init(); submitting, sending,
 * retrying and completing a request allocate nothing. A cancelled request in flight is detached
 * from its slot at once (its callback runs in restq_cancel), so its memory is the caller's again
 * straight away; the slot finishes the GET and discards the answer.
 *
 * Details the header leaves open, decided here: a request's private fields must be zero before
 * its first submit (a zeroed or designated-initialized struct); restq_init() opens the timer, so
 * restq_stop() and its callback must come before restq_fini(); max_tries 0 means 3; a 429 or 418
 * does not use up one of max_tries; a refused certificate or an oversized body is not retried;
 * `failed` counts every callback with an error, cancellations included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/restq.h"
#include "net/url.h"

/* After the minute boundary, wait this much more so the venue has surely reset its counter. */
#define MINUTE_MARGIN_MS 250
/* First delay before retrying after a network error or 5xx; doubled per attempt up to the cap. */
#define RETRY_BASE_MS 500
#define RETRY_MAX_MS 8000
/* Retry-After default of a 418 (Binance bans start at 2 minutes). */
#define BAN_DEFAULT_S 120
/* Largest Retry-After honoured (Binance bans last at most 3 days). */
#define RETRY_AFTER_MAX_S (3 * 86400)
/* max_tries when the params give 0. */
#define DEFAULT_MAX_TRIES 3

/* Stands in a slot for a request cancelled while in flight: the slot is busy until its GET
 * ends, but the answer goes to nobody. Only its address is used. */
static struct restq_req orphan_mark;

static void pump(struct restq *q);
static void on_timer(uv_timer_t *t);

/* Wall-clock milliseconds: Binance counts weight per CLOCK_REALTIME minute. */
static int64_t wall_ms(void)
{
    return clock_real_ns() / 1000000;
}

/* True once restq_stop() was called: nothing is sent or submitted any more. */
static bool stopped(const struct restq *q)
{
    return q->stop_cb != NULL;
}

/* Starts a new weight minute when the wall clock has moved into one. */
static void roll_minute(struct restq_budget *b, int64_t now)
{
    int64_t m = now / 60000;

    if (m != b->minute) {
        b->minute = m;
        b->own_weight = 0;
        b->hdr_weight = 0;
    }
}

/* Our estimate of the weight the venue has counted this minute (see the file comment). */
static uint32_t estimate(const struct restq_budget *b)
{
    uint64_t hdr = b->hdr_weight + b->inflight_weight;

    if (hdr < b->own_weight)
        hdr = b->own_weight;
    return hdr > UINT32_MAX ? UINT32_MAX : (uint32_t)hdr;
}

/* Mirrors the budget's figures into the stats of every queue using it. */
static void sync_stats(struct restq_budget *b)
{
    uint32_t used = estimate(b);

    for (struct restq *q = b->queues; q; q = q->b_next) {
        q->stats.used_weight = used;
        q->stats.budget = b->limit;
        q->stats.paused_until_ms = b->paused_until_ms;
        q->stats.banned_now = b->banned;
        q->stats.pause_status = b->pause_status;
        q->stats.retry_after_s = b->retry_after_s;
        q->stats.pause_from_ms = b->pause_from_ms;
    }
}

/* Refreshes the stats that mirror the state. */
static void update_stats(struct restq *q)
{
    sync_stats(q->b);
}

/* Puts q on its budget's list. */
static void budget_link(struct restq *q)
{
    q->b_next = q->b->queues;
    q->b->queues = q;
    q->b_linked = true;
}

/* Takes q off its budget's list (no-op if it is not on it). */
static void budget_unlink(struct restq *q)
{
    if (!q->b_linked)
        return;
    for (struct restq **pp = &q->b->queues; *pp; pp = &(*pp)->b_next)
        if (*pp == q) {
            *pp = q->b_next;
            break;
        }
    q->b_next = NULL;
    q->b_linked = false;
}

/* The weight in flight in slot i leaves the budget's estimate (answered or abandoned). */
static void slot_release(struct restq *q, int i)
{
    q->b->inflight_weight -= q->slot_weight[i];
    q->slot_weight[i] = 0;
}

/* Makes the queue wait at least ms from now: the timer is armed, or pushed later if it already
 * is (never earlier, so no other wait is cut short). */
static void wait_at_least(struct restq *q, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (uv_is_active((uv_handle_t *)&q->timer) && uv_timer_get_due_in(&q->timer) >= (uint64_t)ms)
        return;
    uv_timer_start(&q->timer, on_timer, (uint64_t)ms, 0);
}

/* Tells the owner about a pause or its end. */
static void notice(struct restq *q, enum restq_notice n, int64_t until_ms)
{
    if (q->on_notice)
        q->on_notice(q, n, until_ms);
}

/* Tells the owner about the budget's current pause unless it knows already: once per pause, and
 * again if it became a ban. The end of a pause it heard of but did not see end (another queue's
 * 429 started the next one first) is told first. */
static void tell_pause(struct restq *q)
{
    struct restq_budget *b = q->b;

    if (q->told && q->told_seq == b->pause_seq && (q->told_ban || !b->banned))
        return;
    if (q->told && q->told_seq != b->pause_seq)
        notice(q, RQ_RESUMED, 0);
    q->told = true;
    q->told_seq = b->pause_seq;
    q->told_ban = b->banned;
    notice(q, b->banned ? RQ_BANNED : RQ_THROTTLED, b->paused_until_ms);
}

/* The budget's pause is over: every queue may send again. */
static void end_pause(struct restq_budget *b)
{
    b->paused_until_ms = 0;
    b->banned = false;
    sync_stats(b);
}

/* Appends r to the waiting list. */
static void push_tail(struct restq *q, struct restq_req *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->stats.queued++;
}

/* Puts r back in front of the waiting list (a retry keeps its place). */
static void push_head(struct restq *q, struct restq_req *r)
{
    r->next = q->head;
    q->head = r;
    if (!q->tail)
        q->tail = r;
    q->stats.queued++;
}

/* Takes the first waiting request off the list. */
static struct restq_req *pop_head(struct restq *q)
{
    struct restq_req *r = q->head;

    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    r->next = NULL;
    q->stats.queued--;
    return r;
}

/* Removes r from the waiting list. Returns false if it is not there. */
static bool unlink_req(struct restq *q, struct restq_req *r)
{
    struct restq_req *prev = NULL;

    for (struct restq_req *it = q->head; it; prev = it, it = it->next) {
        if (it != r)
            continue;
        if (prev)
            prev->next = r->next;
        else
            q->head = r->next;
        if (q->tail == r)
            q->tail = prev;
        r->next = NULL;
        q->stats.queued--;
        return true;
    }
    return false;
}

/* Index of the slot r is in flight in, or -1. */
static int slot_of(const struct restq *q, const struct restq_req *r)
{
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        if (q->inflight[i] == r)
            return (int)i;
    return -1;
}

/* Ends r: it leaves the queue and its callback runs (the callback may submit it again). */
static void complete(struct restq *q, struct restq_req *r, int err,
                     const struct http_response *resp)
{
    r->queued = false;
    if (err == 0)
        q->stats.ok++;
    else
        q->stats.failed++;
    r->cb(r, err, resp);
}

/* Delay before attempt tries + 1 after a network error or 5xx: 0.5 s, 1 s, 2 s ... 8 s. */
static int64_t retry_delay_ms(int tries)
{
    int64_t d = RETRY_BASE_MS;

    for (int i = 1; i < tries && d < RETRY_MAX_MS; i++)
        d *= 2;
    return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* True for the errors worth another attempt: the network, timeouts, broken responses. A refused
 * certificate or an oversized body would only fail the same way again. */
static bool retryable(int err)
{
    return err != ERR_TLS_VERIFY && err != ERR_TOO_BIG && err != -EINVAL && err != -ENOSPC;
}

/* An attempt failed (err_set() done, naming the queue): when the error is worth it and tries
 * are left, back to the head after a delay; otherwise the callback with the error, whose message
 * then says how many attempts were made. */
static void attempt_failed(struct restq *q, struct restq_req *r, int err,
                           const struct http_response *resp)
{
    if (retryable(err) && (uint32_t)r->tries < q->p.max_tries) {
        q->stats.retried++;
        push_head(q, r);
        wait_at_least(q, retry_delay_ms(r->tries));
        return;
    }
    if (r->tries > 1) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s", mdf_errmsg());
        err_set(err, "%s (after %d attempts)", msg, r->tries);
    }
    complete(q, r, err, resp);
}

/* Retry-After in seconds (capped at RETRY_AFTER_MAX_S), or -1 when absent or not a number of
 * seconds. */
static int32_t retry_after_s(const struct http_response *resp)
{
    const char *v = http_response_header(resp, "retry-after");
    char *end;
    long long s;

    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    s = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || *end)
        return -1;
    return s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (int32_t)s;
}

/* The pause a Retry-After of s seconds (-1: none) asks for, in ms: dflt_ms without one, at least
 * 1 s ("Retry-After: 0" must not turn a 429 into a tight loop). */
static int64_t pause_ms(int32_t s, int64_t dflt_ms)
{
    if (s < 0)
        return dflt_ms;
    return s > 0 ? (int64_t)s * 1000 : 1000;
}

/* Milliseconds from now to just after the next wall-clock minute. */
static int64_t to_next_minute_ms(int64_t now)
{
    return (now / 60000 + 1) * 60000 - now + MINUTE_MARGIN_MS;
}

/* A 429 or a 418 (status) for r, with Retry-After ra_s (-1: none): every queue of the host waits
 * until until_ms; r keeps its place at the head and the attempt does not count against
 * max_tries. The owner hears of it once per pause (and again if it turns into a ban), not once
 * per refused request. */
static void pause_for(struct restq *q, struct restq_req *r, int64_t now, int64_t until_ms,
                      int status, int32_t ra_s)
{
    struct restq_budget *b = q->b;
    bool ban = status == 418;

    r->tries--;
    q->stats.retried++;
    if (ban)
        q->stats.banned++;
    else
        q->stats.throttled++;
    push_head(q, r);
    if (b->paused_until_ms && now >= b->paused_until_ms)
        end_pause(b); /* over, but no queue has looked since: this is a new pause */
    if (!b->paused_until_ms) {
        b->pause_seq++;
        b->pause_from_ms = now;
    }
    if (until_ms > b->paused_until_ms)
        b->paused_until_ms = until_ms;
    if (ban || !b->banned) {
        /* A 429 during a ban does not make it less of one. */
        b->pause_status = status;
        b->retry_after_s = ra_s;
    }
    if (ban)
        b->banned = true;
    sync_stats(b);
    wait_at_least(q, b->paused_until_ms - now);
    tell_pause(q);
}

/* Takes the minute's used weight from a response's header, if it has one. */
static void note_weight_header(struct restq_budget *b, const struct http_response *resp)
{
    const char *v = http_response_header(resp, "x-mbx-used-weight-1m");
    unsigned long w;
    char *end;

    if (!v || *v < '0' || *v > '9')
        return;
    w = strtoul(v, &end, 10);
    if (*end && *end != ' ')
        return;
    if (w > UINT32_MAX)
        w = UINT32_MAX;
    /* The largest value of the minute: answers may arrive out of order. */
    if (w > b->hdr_weight)
        b->hdr_weight = (uint32_t)w;
}

/* Sets the message of a non-2xx answer: the status and the start of the venue's body. */
static int status_error(const struct restq *q, const struct restq_req *r,
                        const struct http_response *resp)
{
    int n = resp->body_len < 200 ? (int)resp->body_len : 200;

    return err_set(ERR_HTTP_STATUS, "%s REST: GET %.200s: HTTP %d: %.*s", q->name, r->url,
                   resp->status, n, (const char *)resp->body);
}

/* A GET ended (from the http slot's done): the outcome goes to the request's callback, or the
 * request goes back to the queue; then the queue moves on. */
static void on_get_done(struct http_get *g, int err, const struct http_response *resp)
{
    struct restq *q = g->ud;
    int i = (int)(g - q->get);
    struct restq_req *r = q->inflight[i];
    int64_t now = wall_ms();

    q->inflight[i] = NULL;
    if (stopped(q))
        return; /* restq_stop() already called r back (and released the slot's weight) */
    slot_release(q, i);
    roll_minute(q->b, now);
    if (resp)
        note_weight_header(q->b, resp);
    if (!r || r == &orphan_mark) {
        /* Cancelled while in flight: nobody wants the answer. */
    } else if (err == 0 && resp->status / 100 == 2) {
        complete(q, r, 0, resp);
    } else if (err == 0 && resp->status == 429) {
        int32_t ra = retry_after_s(resp);

        pause_for(q, r, now, now + pause_ms(ra, to_next_minute_ms(now)), 429, ra);
    } else if (err == 0 && resp->status == 418) {
        int32_t ra = retry_after_s(resp);

        pause_for(q, r, now, now + pause_ms(ra, BAN_DEFAULT_S * 1000), 418, ra);
    } else if (err == 0 && resp->status / 100 == 5) {
        attempt_failed(q, r, status_error(q, r, resp), resp);
    } else if (err == 0) {
        complete(q, r, status_error(q, r, resp), resp);
    } else {
        err_prefix(err, "%s REST", q->name);
        attempt_failed(q, r, err, NULL);
    }
    update_stats(q);
    pump(q);
}

/* Puts r on the wire in a free slot. A start that fails at once counts as a failed attempt. */
static void send_req(struct restq *q, int slot, struct restq_req *r)
{
    struct http_get_params hp = {
        .url = r->url,
        .tls = q->p.tls,
        .timeout_ms = q->p.timeout_ms,
        .max_body = q->p.max_body,
    };
    int rc;

    r->tries++;
    q->inflight[slot] = r;
    rc = http_get_start(&q->get[slot], &hp, on_get_done);
    if (rc < 0) {
        q->inflight[slot] = NULL;
        err_prefix(rc, "%s REST", q->name);
        attempt_failed(q, r, rc, NULL);
        return;
    }
    q->slot_weight[slot] = r->weight;
    q->b->inflight_weight += r->weight;
    q->b->own_weight += r->weight;
    q->stats.sent++;
}

/* A free slot, or -1. */
static int free_slot(const struct restq *q)
{
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        if (!q->inflight[i])
            return (int)i;
    return -1;
}

/* The one place that sends: unless the queue is waiting (timer armed) or stopped, waits out the
 * host's pause (telling the owner of it) or ends one that is over, then sends from the head
 * while slots are free and the budget allows; when the budget does not, waits for the next
 * minute. */
static void pump(struct restq *q)
{
    struct restq_budget *b = q->b;
    int64_t now;

    if (stopped(q) || uv_is_active((uv_handle_t *)&q->timer))
        return;
    now = wall_ms();
    roll_minute(b, now);
    if (b->paused_until_ms && now >= b->paused_until_ms)
        end_pause(b);
    if (b->paused_until_ms) {
        wait_at_least(q, b->paused_until_ms - now);
        tell_pause(q);
        return;
    }
    if (q->told) {
        q->told = false;
        notice(q, RQ_RESUMED, 0);
        /* The owner may have stopped the queue or submitted from the notice. */
        if (stopped(q) || uv_is_active((uv_handle_t *)&q->timer))
            return;
    }
    while (q->head) {
        int slot = free_slot(q);

        if (slot < 0)
            break;
        if ((uint64_t)estimate(b) + q->head->weight > b->limit) {
            q->stats.deferred++;
            wait_at_least(q, to_next_minute_ms(now));
            break;
        }
        send_req(q, slot, pop_head(q));
        /* A failed start may have called back (which may stop) or armed a retry wait. */
        if (stopped(q) || uv_is_active((uv_handle_t *)&q->timer))
            break;
    }
    update_stats(q);
}

/* The queue's wait is over (or a submit kicked it): look again. */
static void on_timer(uv_timer_t *t)
{
    pump(t->data);
}

/* Closing-handle bookkeeping of restq_stop(): the last one tells the owner. Nothing may touch q
 * after stop_cb, which may free it. */
static void one_closed(struct restq *q)
{
    if (--q->closing == 0)
        q->stop_cb(q);
}

/* An http slot is closed. */
static void on_get_stopped(struct http_get *g)
{
    one_closed(g->ud);
}

/* The timer is closed. */
static void on_timer_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

/* Stand-in for a NULL stop callback, so stop_cb doubles as the "stopped" flag. */
static void stop_noop(struct restq *q)
{
    (void)q;
}

void restq_budget_init(struct restq_budget *b, uint32_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
    b->minute = -1;
    b->retry_after_s = -1;
}

void restq_budget_set_limit(struct restq_budget *b, uint32_t limit)
{
    b->limit = limit;
    sync_stats(b);
}

int restq_init(struct restq *q, uv_loop_t *loop, const struct restq_params *p)
{
    uint32_t n = 0;
    double budget;
    int rc;

    memset(q, 0, sizeof(*q));
    if (!loop || !p)
        return err_set(-EINVAL, "restq: no loop or no parameters");
    snprintf(q->name, sizeof(q->name), "%s", p->name ? p->name : "rest");
    if (p->max_inflight < 1 || p->max_inflight > RESTQ_MAX_INFLIGHT)
        return err_set(-EINVAL, "%s REST: max_inflight %u is outside 1..%d", q->name,
                       (unsigned)p->max_inflight, RESTQ_MAX_INFLIGHT);
    if (p->budget) {
        budget = p->budget->limit;
        if (budget < 1.0)
            return err_set(-EINVAL, "%s REST: a shared budget of 0 weight allows no request",
                           q->name);
    } else {
        if (!(p->share > 0.0 && p->share <= 1.0))
            return err_set(-EINVAL, "%s REST: weight share %g is outside (0, 1]", q->name,
                           p->share);
        budget = p->share * (double)p->weight_limit;
        if (budget < 1.0)
            return err_set(-EINVAL, "%s REST: a budget of %g x %u weight allows no request",
                           q->name, p->share, (unsigned)p->weight_limit);
    }
    q->loop = loop;
    q->p = *p;
    q->p.name = q->name;
    if (q->p.max_tries == 0)
        q->p.max_tries = DEFAULT_MAX_TRIES;
    restq_budget_init(&q->own, p->budget ? 0 : (uint32_t)budget);
    q->b = p->budget ? p->budget : &q->own;
    q->stats.budget = q->b->limit;
    q->stats.retry_after_s = -1;
    for (n = 0; n < q->p.max_inflight; n++) {
        rc = http_get_init(&q->get[n], loop, q->p.max_body, q);
        if (rc < 0)
            goto err_fini_gets;
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    budget_link(q);
    sync_stats(q->b);
    return 0;

err_fini_gets:
    while (n-- > 0)
        http_get_fini(&q->get[n]);
    q->p.max_inflight = 0; /* restq_fini() stays harmless */
    return err_prefix(rc, "%s REST", q->name);
}

int restq_submit(struct restq *q, struct restq_req *r)
{
    struct url u;
    int rc;

    if (!r || !r->cb)
        return err_set(-EINVAL, "%s REST: no request or no callback", q->name);
    if (stopped(q))
        return err_set(-ESHUTDOWN, "%s REST: the queue is stopped", q->name);
    if (r->queued)
        return err_set(-EALREADY, "%s REST: GET %.200s is already queued", q->name, r->url);
    if (!memchr(r->url, '\0', sizeof(r->url)))
        return err_set(-EINVAL, "%s REST: URL is not terminated within %d bytes", q->name,
                       RESTQ_URL_MAX);
    rc = url_parse(&u, r->url);
    if (rc < 0)
        return err_prefix(rc, "%s REST", q->name);
    if (u.websocket)
        return err_set(-EINVAL, "%s REST: %.200s is not an http(s) URL", q->name, r->url);
    if (u.tls && !q->p.tls)
        return err_set(-EINVAL, "%s REST: %.200s needs a TLS configuration", q->name, r->url);
    if (r->weight > q->b->limit)
        return err_set(-EINVAL, "%s REST: GET %.200s weighs %u, over the budget of %u a minute",
                       q->name, r->url, (unsigned)r->weight, (unsigned)q->b->limit);
    r->tries = 0;
    r->queued = true;
    push_tail(q, r);
    /* Never send from inside submit: a zero-delay wait runs pump() from the loop, unless the
     * queue is waiting already (then pump() runs when that wait ends). */
    wait_at_least(q, 0);
    return 0;
}

void restq_cancel(struct restq *q, struct restq_req *r)
{
    int slot;

    if (!r || !r->queued)
        return;
    if (!unlink_req(q, r)) {
        slot = slot_of(q, r);
        if (slot < 0)
            return; /* not ours */
        q->inflight[slot] = &orphan_mark;
        slot_release(q, slot); /* sent, so its weight stays in own_weight */
    }
    err_set(-ECANCELED, "%s REST: GET %.200s cancelled", q->name, r->url);
    complete(q, r, -ECANCELED, NULL);
    update_stats(q);
}

void restq_stop(struct restq *q, void (*cb)(struct restq *q))
{
    if (stopped(q))
        return;
    q->stop_cb = cb ? cb : stop_noop;
    /* The callbacks run in order: waiting requests first, then those in flight. They may call
     * restq_cancel() (a no-op by then) or restq_submit() (-ESHUTDOWN). */
    while (q->head)
        restq_cancel(q, q->head);
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        if (q->inflight[i] && q->inflight[i] != &orphan_mark)
            restq_cancel(q, q->inflight[i]);
    /* Every request was cancelled: nothing of ours is in the budget's estimate any more. */
    budget_unlink(q);
    q->closing = (int)q->p.max_inflight + 1;
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        http_get_stop(&q->get[i], on_get_stopped);
    uv_timer_stop(&q->timer);
    uv_close((uv_handle_t *)&q->timer, on_timer_closed);
}

void restq_set_budget(struct restq *q, struct restq_budget *nb)
{
    uint64_t w = 0;

    if (!nb || nb == q->b)
        return;
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        w += q->slot_weight[i];
    q->b->inflight_weight -= w;
    budget_unlink(q);
    sync_stats(q->b);
    q->b = nb;
    nb->inflight_weight += w;
    if (!stopped(q))
        budget_link(q);
    sync_stats(nb);
    /* The old host's pause is not this one's; a pause told stays told until pump() ends it. */
    if (!stopped(q))
        wait_at_least(q, 0);
}

void restq_fini(struct restq *q)
{
    budget_unlink(q);
    for (uint32_t i = 0; i < q->p.max_inflight; i++)
        http_get_fini(&q->get[i]);
}
