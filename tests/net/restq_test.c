/*
 * The REST weight-budget queue against the fake venue on loopback: its x-mbx-used-weight-1m
 * counter, --weight-limit 429s, --ban-after 418s, recorded depth snapshots (held forever when a
 * replay is loaded and nobody subscribes, which keeps requests in flight), the /test/body route
 * for 5xx, and plain sockets for refused and silent connections.
 *
 * Binance counts weight per wall-clock minute, and so does the fake venue, so these tests cannot
 * choose when a minute ends. They assert on what the venue counted (its log lines and the weight
 * header of every answer, which is the venue's own total for the minute), never on timing. A test
 * that must not see a minute boundary in the middle of its first phase first waits for one when
 * the current minute is nearly over; a test that needs the budget to refill crosses exactly one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "core/err.h"
#include "net/http.h"
#include "net/restq.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "test.h"

#define MAX_REQS 200
#define MAX_NOTICES 16
#define MAX_WATCH 4

struct tctx;

/* One request of a test and what its callback saw. */
struct treq {
    struct restq_req r; /* the request (first, so the callback can cast back) */
    struct tctx *t;     /* the test */
    int ncb;            /* callbacks so far */
    int err;            /* the last callback's err */
    int status;         /* its response status, 0 without a response */
    long hdr_weight;    /* its x-mbx-used-weight-1m, -1 without one */
    char body[160];     /* the start of its body */
    char errmsg[512];   /* mdf_errmsg() in the callback */
    int seq;            /* completion order (1-based) */
    int64_t done_ms;    /* wall-clock ms of the callback */
};

/* A loop, the fake venue, the queue under test and everything observed. */
struct tctx {
    uv_loop_t loop;                    /* the test's loop */
    uv_timer_t tick;                   /* drains the venue's log while the loop runs */
    struct fv_proc fv;                 /* the fake venue */
    bool fv_on;                        /* it runs */
    struct restq q;                    /* the queue under test */
    bool q_on;                         /* restq_init() succeeded */
    struct treq req[MAX_REQS];         /* the requests */
    int completed;                     /* callbacks seen, all requests */
    long max_hdr;                      /* largest weight header of any answer */
    int notices[MAX_NOTICES];          /* on_notice calls, in order */
    int64_t notice_until[MAX_NOTICES]; /* their until_ms */
    int64_t notice_at[MAX_NOTICES];    /* wall-clock ms when each came */
    int nnotices;                      /* how many */
    int stopped;                       /* restq_stop() callbacks */
    int submit_in_stop;                /* restq_submit() from a callback during stop */
    bool stopping;                     /* the test is inside restq_stop() */
    int http_status[600];              /* venue "http GET" lines by status */
    const char *watch[MAX_WATCH];      /* substrings of targets to count */
    int watch_hits[MAX_WATCH];         /* venue "http GET" lines whose target has them */
    int held;                          /* venue "held" lines */
    int pre_done;                      /* direct GETs finished */
    int pre_status;                    /* the last direct GET's status */
};

/* Wall-clock milliseconds, the clock Binance's minutes follow. */
static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When fewer than need_s seconds are left in this wall-clock minute, sleeps into the next one,
 * so a phase of the test that takes less than need_s stays within one minute. */
static void avoid_minute_end(int need_s)
{
    int64_t left = 60000 - wall_ms() % 60000;

    if (left < need_s * 1000)
        usleep((useconds_t)(left + 300) * 1000);
}

/* Reads every log line the venue has written so far and counts those the tests look at. */
static void drain(struct tctx *t)
{
    char line[600];

    if (!t->fv_on)
        return;
    while (fv_wait_line(&t->fv, "", 1, line, sizeof(line)) == 0) {
        const char *h = strstr(line, " http GET ");
        const char *sp;
        int st;

        if (strstr(line, " held "))
            t->held++;
        if (!h)
            continue;
        sp = strrchr(line, ' ');
        st = sp ? atoi(sp + 1) : 0;
        if (st > 0 && st < 600)
            t->http_status[st]++;
        for (int i = 0; i < MAX_WATCH; i++)
            if (t->watch[i] && strstr(h, t->watch[i]))
                t->watch_hits[i]++;
    }
}

/* Keeps the venue's stdout pipe from filling (it would block the venue) while the loop runs. */
static void on_tick(uv_timer_t *tm)
{
    drain(tm->data);
}

/* A loop with the draining tick, and the fake venue started with args (NULL-terminated). */
static void tctx_init(struct tctx *t, const char *const *args)
{
    int rc;

    memset(t, 0, sizeof(*t));
    t->max_hdr = -1;
    ASSERT_EQ(uv_loop_init(&t->loop), 0);
    ASSERT_EQ(uv_timer_init(&t->loop, &t->tick), 0);
    t->tick.data = t;
    ASSERT_EQ(uv_timer_start(&t->tick, on_tick, 20, 20), 0);
    if (args) {
        rc = fv_start(&t->fv, args);
        if (rc < 0)
            test_fail(__FILE__, __LINE__, "fake venue: %d %s", rc, mdf_errmsg());
        t->fv_on = true;
    }
}

/* Records a throttle notice. */
static void on_notice(struct restq *q, enum restq_notice n, int64_t until_ms)
{
    struct tctx *t = q->ud;

    ASSERT_LT(t->nnotices, MAX_NOTICES);
    t->notices[t->nnotices] = (int)n;
    t->notice_until[t->nnotices] = until_ms;
    t->notice_at[t->nnotices] = wall_ms();
    t->nnotices++;
}

/* The queue with the test's defaults, changed by the caller through p. */
static void q_init(struct tctx *t, const struct restq_params *p)
{
    int rc = restq_init(&t->q, &t->loop, p);

    if (rc < 0)
        test_fail(__FILE__, __LINE__, "restq_init: %d %s", rc, mdf_errmsg());
    t->q.ud = t;
    t->q.on_notice = on_notice;
    t->q_on = true;
}

/* Params: the venue's weight limit and our share, max_inflight and max_tries. */
static struct restq_params params(uint32_t limit, double share, uint32_t inflight, uint32_t tries)
{
    struct restq_params p = {
        .name = "test-venue",
        .weight_limit = limit,
        .share = share,
        .max_inflight = inflight,
        .timeout_ms = 20000,
        .max_body = 1 << 20,
        .max_tries = tries,
    };

    return p;
}

/* Completion: counts and copies what it was given (the response is borrowed). */
static void on_done(struct restq_req *r, int err, const struct http_response *resp)
{
    struct treq *tr = (struct treq *)r;
    struct tctx *t = tr->t;
    const char *w;

    tr->ncb++;
    tr->err = err;
    tr->seq = ++t->completed;
    tr->done_ms = wall_ms();
    snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", err ? mdf_errmsg() : "");
    tr->status = resp ? resp->status : 0;
    tr->hdr_weight = -1;
    tr->body[0] = '\0';
    if (resp) {
        int n =
            resp->body_len < sizeof(tr->body) - 1 ? (int)resp->body_len : (int)sizeof(tr->body) - 1;

        memcpy(tr->body, resp->body, (size_t)n);
        tr->body[n] = '\0';
        w = http_response_header(resp, "x-mbx-used-weight-1m");
        if (w) {
            tr->hdr_weight = atol(w);
            if (tr->hdr_weight > t->max_hdr)
                t->max_hdr = tr->hdr_weight;
        }
    }
    if (t->stopping)
        t->submit_in_stop = restq_submit(&t->q, r);
}

/* Fills request i with a URL on the venue and a weight (not submitted). */
static struct treq *req_set(struct tctx *t, int i, const char *path, uint32_t weight)
{
    struct treq *tr = &t->req[i];

    memset(tr, 0, sizeof(*tr));
    tr->t = t;
    snprintf(tr->r.url, sizeof(tr->r.url), "http://127.0.0.1:%d%s", t->fv.port, path);
    tr->r.weight = weight;
    tr->r.cb = on_done;
    return tr;
}

/* Fills and submits request i; asserts that the submit worked. */
static struct treq *submit(struct tctx *t, int i, const char *path, uint32_t weight)
{
    struct treq *tr = req_set(t, i, path, weight);
    int rc = restq_submit(&t->q, &tr->r);

    if (rc < 0)
        test_fail(__FILE__, __LINE__, "restq_submit %s: %d %s", tr->r.url, rc, mdf_errmsg());
    return tr;
}

/* Runs the loop until done(t, arg) or timeout_ms passed. Returns whether done became true. */
static bool run_until(struct tctx *t, bool (*done)(struct tctx *t, long arg), long arg,
                      int timeout_ms)
{
    int64_t end = test_now_ns() + (int64_t)timeout_ms * 1000000;

    while (!done(t, arg)) {
        if (test_now_ns() > end)
            return false;
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    drain(t);
    return true;
}

/* run_until() conditions. */
static bool completed_at_least(struct tctx *t, long n)
{
    return t->completed >= n;
}

static bool pre_done_at_least(struct tctx *t, long n)
{
    return t->pre_done >= n;
}

static bool held_at_least(struct tctx *t, long n)
{
    drain(t);
    return t->held >= n;
}

/* Deferred by the budget with nothing in flight any more. */
static bool deferred_and_idle(struct tctx *t, long unused)
{
    bool idle = true;

    for (int i = 0; i < RESTQ_MAX_INFLIGHT; i++)
        idle = idle && t->q.inflight[i] == NULL;
    return t->q.stats.deferred > 0 && idle;
}

/* restq_stop()'s callback. */
static void on_stopped(struct restq *q)
{
    struct tctx *t = q->ud;

    t->stopped++;
}

/* Stops the queue (its callback must come later, from the loop), finalizes it, closes the loop
 * (asserting no handle is left) and stops the venue. */
static void tctx_fini(struct tctx *t)
{
    if (t->q_on) {
        t->stopping = true;
        restq_stop(&t->q, on_stopped);
        t->stopping = false;
        ASSERT_EQ(t->stopped, 0);
        while (t->stopped == 0)
            uv_run(&t->loop, UV_RUN_ONCE);
        ASSERT_EQ(t->stopped, 1);
        restq_fini(&t->q);
    }
    drain(t);
    uv_close((uv_handle_t *)&t->tick, NULL);
    ASSERT_EQ(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(uv_loop_close(&t->loop), 0);
    if (t->fv_on)
        fv_stop(&t->fv);
}

/* ---- direct GETs, as another client on the same IP would make ---- */

/* Done of a direct GET: notes the status. */
static void on_pre_done(struct http_get *g, int err, const struct http_response *resp)
{
    struct tctx *t = g->ud;

    t->pre_status = err ? err : resp->status;
    t->pre_done++;
}

/* Spends venue weight with `n` direct GETs of path (one after the other), outside the queue.
 * Returns the last status. */
static int spend(struct tctx *t, const char *path, int n)
{
    struct http_get g;
    char url[256];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", t->fv.port, path);
    ASSERT_EQ(http_get_init(&g, &t->loop, 1 << 20, t), 0);
    for (int i = 0; i < n; i++) {
        struct http_get_params hp = {.url = url, .timeout_ms = 20000};
        int before = t->pre_done;

        ASSERT_EQ(http_get_start(&g, &hp, on_pre_done), 0);
        ASSERT(run_until(t, pre_done_at_least, before + 1, 30000));
    }
    http_get_stop(&g, NULL);
    /* The stop callback is NULL: run the loop a little so the timer close completes. */
    for (int i = 0; i < 5; i++)
        uv_run(&t->loop, UV_RUN_NOWAIT);
    http_get_fini(&g);
    return t->pre_status;
}

/* ---- tests ---- */

/* Budget 600 a minute (limit 1200, share 0.5) and 200 snapshots of weight 5 (1000 in all):
 * about 120 go in the first minute, the queue defers, the rest go after the minute ends. */
TEST(restq_completes_burst_of_200_snapshots_within_weight_budget)
{
    static const char *const syms[] = {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"};
    const char *const args[] = {"--rest", test_fixture("binance-spot/http.rec"), "--weight-limit",
                                "1200", NULL};
    struct restq_params p = params(1200, 0.5, 4, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    char path[128];

    ASSERT(t != NULL);
    tctx_init(t, args);
    q_init(t, &p);
    ASSERT_EQ(t->q.stats.budget, 600);
    /* The first 120 must not straddle a minute, or three minutes would be needed. */
    avoid_minute_end(5);
    for (int i = 0; i < MAX_REQS; i++) {
        snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=100", syms[i % 4]);
        submit(t, i, path, 5);
    }
    ASSERT_EQ(t->q.stats.queued, MAX_REQS);
    ASSERT(run_until(t, completed_at_least, MAX_REQS, 140000));

    for (int i = 0; i < MAX_REQS; i++) {
        struct treq *tr = &t->req[i];

        if (tr->ncb != 1 || tr->err != 0 || tr->status != 200)
            test_fail(__FILE__, __LINE__, "request %d: %d callbacks, err %d, status %d: %s", i,
                      tr->ncb, tr->err, tr->status, tr->errmsg);
        ASSERT_CONTAINS(tr->body, "lastUpdateId");
        /* The venue's own count for the minute, after this request: never over our share. */
        ASSERT(tr->hdr_weight >= 5);
        ASSERT_LE(tr->hdr_weight, 600);
    }
    /* 1000 weight does not fit one minute's 600: the budget held requests back. */
    ASSERT_GE(t->q.stats.deferred, 1);
    ASSERT_EQ_U(t->q.stats.ok, MAX_REQS);
    ASSERT_EQ_U(t->q.stats.sent, MAX_REQS);
    ASSERT_EQ_U(t->q.stats.throttled, 0);
    ASSERT_EQ(t->q.stats.queued, 0);
    drain(t);
    ASSERT_EQ(t->http_status[200], MAX_REQS);
    ASSERT_EQ(t->http_status[429], 0);
    /* Completions straddle one minute: the venue's count never passed the budget. (How close a
     * minute came to it depends on where in the minute the test started.) */
    ASSERT_LE(t->max_hdr, 600);
    ASSERT_GE(t->max_hdr, 5);
    tctx_fini(t);
    free(t);
    return 0;
}

/* Another client spent 150 of the venue's 400 this minute; our share is 200: after our first
 * request's answer reports 200 used, the queue waits for the next minute. */
TEST(restq_defers_when_venue_reports_weight_used_by_another_client)
{
    const char *const args[] = {"--rest", test_fixture("binance-spot/http.rec"), "--weight-limit",
                                "400", NULL};
    struct restq_params p = params(400, 0.5, 1, 3);
    struct tctx *t = calloc(1, sizeof(*t));

    ASSERT(t != NULL);
    tctx_init(t, args);
    q_init(t, &p);
    avoid_minute_end(15);
    ASSERT_EQ(spend(t, "/api/v3/depth?symbol=NKNUSDT&limit=1000", 3), 200);
    for (int i = 0; i < 3; i++)
        submit(t, i, "/api/v3/depth?symbol=BLZETH&limit=1000", 50);
    ASSERT(run_until(t, deferred_and_idle, 0, 10000));

    /* Without the header the queue would have sent all three (150 of its own <= 200). */
    ASSERT_EQ(t->req[0].ncb, 1);
    ASSERT_EQ(t->req[0].err, 0);
    ASSERT_EQ(t->req[0].hdr_weight, 200);
    ASSERT_EQ(t->req[1].ncb, 0);
    ASSERT_EQ(t->req[2].ncb, 0);
    ASSERT_EQ_U(t->q.stats.sent, 1);
    ASSERT_EQ(t->q.stats.queued, 2);
    ASSERT_EQ(t->q.stats.used_weight, 200);
    ASSERT_GE(t->q.stats.deferred, 1);
    drain(t);
    ASSERT_EQ(t->http_status[200], 4); /* three direct, one ours */
    ASSERT_EQ(t->http_status[429], 0);

    /* Stopping cancels the two that wait, once each. */
    tctx_fini(t);
    ASSERT_EQ(t->req[1].ncb, 1);
    ASSERT_EQ(t->req[1].err, -ECANCELED);
    ASSERT_EQ(t->req[2].ncb, 1);
    ASSERT_EQ(t->req[2].err, -ECANCELED);
    free(t);
    return 0;
}

/* The venue's limit is 100 but the queue believes 6000 (as when Binance lowers its limits), so
 * only the venue's answers can hold it back. Another client drew two 429s (250 weight each), so
 * the venue bans the IP for 1 s (--ban-after 2). Our first request gets the 418: the whole queue
 * stops until Retry-After (RQ_BANNED, then RQ_RESUMED). Retried, the same request now gets a 429
 * (the minute is still over the limit) with Retry-After to the minute's end: the queue pauses again
 * (RQ_THROTTLED, RQ_RESUMED). After the minute every request completes, once, in order; the two
 * waiting behind were never sent into the ban or the 429. */
TEST(restq_418_and_429_pause_queue_and_retry_same_request_losing_nothing)
{
    const char *const args[] = {"--rest",
                                test_fixture("binance-spot/http.rec"),
                                "--weight-limit",
                                "100",
                                "--ban-after",
                                "2",
                                "--ban-seconds",
                                "1",
                                NULL};
    static const int want[] = {RQ_BANNED, RQ_RESUMED, RQ_THROTTLED, RQ_RESUMED};
    struct restq_params p = params(6000, 0.5, 1, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    int64_t minute_end;

    ASSERT(t != NULL);
    tctx_init(t, args);
    q_init(t, &p);
    avoid_minute_end(8);
    minute_end = (wall_ms() / 60000 + 1) * 60000;
    ASSERT_EQ(spend(t, "/api/v3/depth?symbol=NKNUSDT&limit=5000", 2), 429);
    submit(t, 0, "/api/v3/depth?symbol=BLZETH&limit=100", 5);
    submit(t, 1, "/api/v3/depth?symbol=LRCBTC&limit=100", 5);
    submit(t, 2, "/api/v3/depth?symbol=RUNEEUR&limit=100", 5);
    ASSERT(run_until(t, completed_at_least, 3, 100000));

    for (int i = 0; i < 3; i++) {
        struct treq *tr = &t->req[i];

        if (tr->ncb != 1 || tr->err != 0 || tr->status != 200)
            test_fail(__FILE__, __LINE__, "request %d: %d callbacks, err %d, status %d: %s", i,
                      tr->ncb, tr->err, tr->status, tr->errmsg);
        ASSERT_EQ(tr->seq, i + 1); /* the retried request kept its place */
        /* Answered in the new minute: the venue's count started again. */
        ASSERT_GE(tr->done_ms, minute_end);
        ASSERT_LE(tr->hdr_weight, 15);
    }
    drain(t);
    if (t->nnotices != 4 || memcmp(t->notices, want, sizeof(want)) != 0)
        test_fail(__FILE__, __LINE__,
                  "notices %d: %d %d %d %d; venue answered 200 x%d, 418 x%d, 429 x%d", t->nnotices,
                  t->notices[0], t->notices[1], t->notices[2], t->notices[3], t->http_status[200],
                  t->http_status[418], t->http_status[429]);
    /* The ban's Retry-After (at most 1 s) was honoured to the end. */
    ASSERT_GT(t->notice_until[0], t->notice_at[0]);
    ASSERT_LE(t->notice_until[0], t->notice_at[0] + 1000);
    ASSERT_GE(t->notice_at[1], t->notice_until[0]);
    /* The 429's Retry-After runs to the minute's end. */
    ASSERT_GE(t->notice_until[2], minute_end);
    ASSERT_GE(t->notice_at[3], t->notice_until[2]);
    ASSERT_EQ_U(t->q.stats.banned, 1);
    ASSERT_EQ_U(t->q.stats.throttled, 1);
    ASSERT_EQ_U(t->q.stats.ok, 3);
    ASSERT_EQ_U(t->q.stats.failed, 0);
    ASSERT(!t->q.stats.banned_now);
    ASSERT_EQ(t->q.stats.paused_until_ms, 0);
    drain(t);
    /* One 418 and one 429 for us (two 429s were the other client's): nothing else was sent
     * while the queue was stopped or paused. */
    ASSERT_EQ(t->http_status[418], 1);
    ASSERT_EQ(t->http_status[429], 3);
    ASSERT_EQ(t->http_status[200], 3);
    tctx_fini(t);
    free(t);
    return 0;
}

/* A free loopback port with nothing listening on it. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ASSERT(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A listening socket that never accepts: connections complete (backlog) but nobody answers.
 * *port gets its port; returns the socket. */
static int silent_listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    ASSERT(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(listen(fd, 16), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Refused connections, silent servers and 5xx are tried max_tries times, then reported once
 * with the last error. */
TEST(restq_retries_refused_silent_and_5xx_then_reports_them)
{
    const char *const args[] = {NULL};
    struct restq_params p = params(6000, 0.5, 2, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    struct treq *tr;
    int lfd, port, accepted = 0;

    ASSERT(t != NULL);
    tctx_init(t, args);
    p.timeout_ms = 400;
    q_init(t, &p);

    /* Refused. */
    tr = req_set(t, 0, "", 1);
    snprintf(tr->r.url, sizeof(tr->r.url), "http://127.0.0.1:%d/api/v3/ping", closed_port());
    ASSERT_EQ(restq_submit(&t->q, &tr->r), 0);
    ASSERT(run_until(t, completed_at_least, 1, 20000));
    ASSERT_EQ(tr->ncb, 1);
    ASSERT_EQ(tr->err, -ECONNREFUSED);
    ASSERT_EQ(tr->status, 0);
    ASSERT_CONTAINS(tr->errmsg, "test-venue REST: GET http://127.0.0.1:");
    ASSERT_CONTAINS(tr->errmsg, "refused (after 3 attempts)");
    ASSERT_EQ_U(t->q.stats.retried, 2);

    /* Silent: each attempt connects, sends, and times out. */
    lfd = silent_listener(&port);
    tr = req_set(t, 1, "", 1);
    snprintf(tr->r.url, sizeof(tr->r.url), "http://127.0.0.1:%d/api/v3/ping", port);
    ASSERT_EQ(restq_submit(&t->q, &tr->r), 0);
    ASSERT(run_until(t, completed_at_least, 2, 20000));
    ASSERT_EQ(tr->ncb, 1);
    ASSERT_EQ(tr->err, -ETIMEDOUT);
    ASSERT_CONTAINS(tr->errmsg, "(after 3 attempts)");
    for (int fd; (fd = accept(lfd, NULL, NULL)) >= 0; accepted++)
        close(fd);
    ASSERT_EQ(accepted, 3);
    close(lfd);
    ASSERT_EQ_U(t->q.stats.retried, 4);

    /* 503 three times: the last response comes with the error. */
    t->watch[0] = "status=503";
    tr = submit(t, 2, "/test/body?size=10&status=503", 1);
    ASSERT(run_until(t, completed_at_least, 3, 20000));
    ASSERT_EQ(tr->ncb, 1);
    ASSERT_EQ(tr->err, ERR_HTTP_STATUS);
    ASSERT_EQ(tr->status, 503);
    ASSERT_STR_EQ(tr->body, "abcdefghij");
    ASSERT_CONTAINS(tr->errmsg, "HTTP 503: abcdefghij (after 3 attempts)");
    drain(t);
    ASSERT_EQ(t->watch_hits[0], 3);

    ASSERT_EQ_U(t->q.stats.failed, 3);
    ASSERT_EQ_U(t->q.stats.ok, 0);
    ASSERT_EQ_U(t->q.stats.retried, 6);
    tctx_fini(t);
    free(t);
    return 0;
}

/* One at a time, requests complete in the order submitted; a 400 (unknown symbol) is reported
 * at once with its status and the venue's body, never retried. */
TEST(restq_sends_in_order_and_reports_400_at_once)
{
    const char *const args[] = {"--rest", test_fixture("binance-spot/http.rec"), NULL};
    static const char *const paths[] = {"/api/v3/ping", "/api/v3/depth?symbol=NKNUSDT&limit=100",
                                        "/api/v3/depth?symbol=NOPEUSDT&limit=100", "/api/v3/time",
                                        "/api/v3/ping"};
    struct restq_params p = params(6000, 0.5, 1, 3);
    struct tctx *t = calloc(1, sizeof(*t));

    ASSERT(t != NULL);
    tctx_init(t, args);
    q_init(t, &p);
    t->watch[0] = "symbol=NOPEUSDT";
    for (int i = 0; i < 5; i++)
        submit(t, i, paths[i], 5);
    ASSERT(run_until(t, completed_at_least, 5, 20000));
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(t->req[i].ncb, 1);
        ASSERT_EQ(t->req[i].seq, i + 1);
        if (i != 2 && (t->req[i].err != 0 || t->req[i].status != 200))
            test_fail(__FILE__, __LINE__, "request %d: err %d status %d %s", i, t->req[i].err,
                      t->req[i].status, t->req[i].errmsg);
    }
    ASSERT_CONTAINS(t->req[1].body, "\"lastUpdateId\":499869752");
    ASSERT_CONTAINS(t->req[3].body, "serverTime");
    ASSERT_EQ(t->req[2].err, ERR_HTTP_STATUS);
    ASSERT_EQ(t->req[2].status, 400);
    ASSERT_CONTAINS(t->req[2].body, "-1121");
    ASSERT_CONTAINS(t->req[2].errmsg, "HTTP 400");
    ASSERT_CONTAINS(t->req[2].errmsg, "-1121");
    ASSERT_EQ_U(t->q.stats.retried, 0);
    ASSERT_EQ_U(t->q.stats.failed, 1);
    ASSERT_EQ_U(t->q.stats.ok, 4);
    drain(t);
    ASSERT_EQ(t->watch_hits[0], 1);
    tctx_fini(t);
    free(t);
    return 0;
}

/* The queue over TLS: the venue's certificate is verified with the configured CA. */
TEST(restq_fetches_snapshot_over_tls)
{
    const char *dir = certs_dir();
    char cert[512], key[512], ca[512];
    struct tls_config tls;
    struct restq_params p = params(6000, 0.5, 2, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    struct treq *tr;

    ASSERT(t != NULL && dir != NULL);
    snprintf(cert, sizeof(cert), "%s/good.pem", dir);
    snprintf(key, sizeof(key), "%s/good.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    const char *const args[] = {"--tls-cert", cert,     "--tls-key",
                                key,          "--rest", test_fixture("binance-spot/http.rec"),
                                NULL};
    tctx_init(t, args);
    ASSERT_EQ(tls_config_init(&tls, &(struct tls_config_params){.ca_file = ca}), 0);
    p.tls = &tls;
    q_init(t, &p);
    for (int i = 0; i < 3; i++) {
        tr = req_set(t, i, "", 5);
        snprintf(tr->r.url, sizeof(tr->r.url),
                 "https://localhost:%d/api/v3/depth?symbol=LRCBTC&limit=100", t->fv.port);
        ASSERT_EQ(restq_submit(&t->q, &tr->r), 0);
    }
    ASSERT(run_until(t, completed_at_least, 3, 30000));
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(t->req[i].ncb, 1);
        ASSERT_EQ(t->req[i].err, 0);
        ASSERT_EQ(t->req[i].status, 200);
        ASSERT_CONTAINS(t->req[i].body, "lastUpdateId");
    }
    tctx_fini(t);
    tls_config_fini(&tls);
    free(t);
    return 0;
}

/* Cancel of a waiting and of an in-flight request, then stop with both kinds left: every
 * callback runs exactly once with -ECANCELED, submits are refused as they should be, and no
 * handle is left on the loop. The venue holds the snapshots (a replay is loaded but nobody
 * subscribes), so requests stay in flight as long as the test wants. */
TEST(restq_cancel_and_stop_call_back_once_with_ecanceled)
{
    const char *const args[] = {"--replay", test_fixture("binance-spot/ws.rec"), "--rest",
                                test_fixture("binance-spot/http.rec"), NULL};
    struct restq_params p = params(1200, 0.5, 2, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    struct treq *tr;
    int64_t end;

    ASSERT(t != NULL);
    tctx_init(t, args);
    p.timeout_ms = 30000;
    q_init(t, &p);
    for (int i = 0; i < 5; i++)
        submit(t, i, "/api/v3/depth?symbol=RUNEEUR&limit=100", 5);
    ASSERT(run_until(t, held_at_least, 2, 10000));
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(t->req[i].ncb, 0);
    ASSERT(t->req[0].r.queued && t->req[1].r.queued);

    /* Submitting what is queued, too heavy, or not http(s): refused, nothing called back. */
    ASSERT_EQ(restq_submit(&t->q, &t->req[1].r), -EALREADY);
    ASSERT_EQ(restq_submit(&t->q, &t->req[3].r), -EALREADY);
    tr = req_set(t, 10, "/api/v3/ping", 601);
    ASSERT_EQ(restq_submit(&t->q, &tr->r), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "budget");
    tr = req_set(t, 11, "", 1);
    snprintf(tr->r.url, sizeof(tr->r.url), "ftp://127.0.0.1/x");
    ASSERT_EQ(restq_submit(&t->q, &tr->r), -EINVAL);
    snprintf(tr->r.url, sizeof(tr->r.url), "https://127.0.0.1:%d/api/v3/ping", t->fv.port);
    ASSERT_EQ(restq_submit(&t->q, &tr->r), -EINVAL); /* https without a TLS configuration */
    ASSERT_EQ(t->completed, 0);

    /* A waiting one: called back at once, and only once. */
    restq_cancel(&t->q, &t->req[3].r);
    ASSERT_EQ(t->req[3].ncb, 1);
    ASSERT_EQ(t->req[3].err, -ECANCELED);
    restq_cancel(&t->q, &t->req[3].r);
    ASSERT_EQ(t->req[3].ncb, 1);
    ASSERT_EQ(t->q.stats.queued, 2);

    /* One in flight: called back at once too; its GET ends later without another callback. */
    restq_cancel(&t->q, &t->req[0].r);
    ASSERT_EQ(t->req[0].ncb, 1);
    ASSERT_EQ(t->req[0].err, -ECANCELED);
    ASSERT(!t->req[0].r.queued);
    end = test_now_ns() + 300 * 1000000LL;
    while (test_now_ns() < end)
        uv_run(&t->loop, UV_RUN_ONCE);
    ASSERT_EQ(t->completed, 2);

    /* Stop: 1 (in flight), 2 and 4 (waiting) once each; their callbacks' submits refused. */
    tctx_fini(t);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(t->req[i].ncb, 1);
        ASSERT_EQ(t->req[i].err, -ECANCELED);
    }
    ASSERT_EQ(t->submit_in_stop, -ESHUTDOWN);
    ASSERT_EQ(t->stopped, 1);
    free(t);
    return 0;
}

/* ---- queues sharing one host's budget ---- */

/* The notices of a second queue (its ud is the test, as the first one's). */
static int notes_b[MAX_NOTICES], n_notes_b;

static void on_notice_b(struct restq *q, enum restq_notice n, int64_t until_ms)
{
    (void)q;
    (void)until_ms;
    ASSERT_LT(n_notes_b, MAX_NOTICES);
    notes_b[n_notes_b++] = (int)n;
}

/* A second queue on budget b, its notices in notes_b. */
static void qb_init(struct tctx *t, struct restq *qb, struct restq_params p, struct restq_budget *b)
{
    p.budget = b;
    if (restq_init(qb, &t->loop, &p) < 0)
        test_fail(__FILE__, __LINE__, "restq_init: %s", mdf_errmsg());
    qb->ud = t;
    qb->on_notice = on_notice_b;
    n_notes_b = 0;
}

/* Stops the second queue before tctx_fini() stops the first (which counts its own stop). */
static void qb_fini(struct tctx *t, struct restq *qb)
{
    restq_stop(qb, on_stopped);
    while (t->stopped == 0)
        uv_run(&t->loop, UV_RUN_ONCE);
    restq_fini(qb);
    t->stopped = 0;
}

static struct restq *g_qb; /* the second queue, for the run_until() condition below */

/* Both queues held back by the budget, nothing in flight in either. */
static bool both_deferred_and_idle(struct tctx *t, long unused)
{
    bool idle = true;

    (void)unused;
    for (int i = 0; i < RESTQ_MAX_INFLIGHT; i++)
        idle = idle && t->q.inflight[i] == NULL && g_qb->inflight[i] == NULL;
    return idle && t->q.stats.deferred > 0 && g_qb->stats.deferred > 0;
}

/* Two queues (two venue entries) on one host share its budget of 100 a minute: of the twelve
 * requests of 25 they have between them, four go this minute, whichever queue they are in;
 * each queue alone would have sent four. */
TEST(restq_queues_sharing_a_host_budget_send_within_it_together)
{
    const char *const args[] = {"--rest", test_fixture("binance-spot/http.rec"), "--weight-limit",
                                "100000", NULL};
    struct restq_params p = params(6000, 0.5, 2, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    struct restq_budget b;
    struct restq qb;

    ASSERT(t != NULL);
    tctx_init(t, args);
    restq_budget_init(&b, 100);
    p.budget = &b;
    q_init(t, &p);
    qb_init(t, &qb, p, &b);
    g_qb = &qb;
    ASSERT_EQ(t->q.stats.budget, 100);
    ASSERT_EQ(qb.stats.budget, 100);
    avoid_minute_end(15);
    for (int i = 0; i < 6; i++) {
        struct treq *tr = req_set(t, 6 + i, "/api/v3/depth?symbol=BLZETH&limit=500", 25);

        submit(t, i, "/api/v3/depth?symbol=NKNUSDT&limit=500", 25);
        ASSERT_EQ(restq_submit(&qb, &tr->r), 0);
    }
    ASSERT(run_until(t, both_deferred_and_idle, 0, 10000));

    ASSERT_EQ(t->completed, 4);
    ASSERT_EQ_U(t->q.stats.sent + qb.stats.sent, 4);
    ASSERT_EQ(t->q.stats.queued + qb.stats.queued, 8);
    /* Each queue shows the host's figures. */
    ASSERT_EQ(t->q.stats.used_weight, 100);
    ASSERT_EQ(qb.stats.used_weight, 100);
    drain(t);
    ASSERT_EQ(t->http_status[200], 4);
    ASSERT_LE(t->max_hdr, 100);

    /* A lower limit reaches both queues. */
    restq_budget_set_limit(&b, 50);
    ASSERT_EQ(t->q.stats.budget, 50);
    ASSERT_EQ(qb.stats.budget, 50);
    qb_fini(t, &qb);
    tctx_fini(t);
    free(t);
    return 0;
}

/* A 429 pauses the host: two requests of the first queue refused at once make one pause, told
 * once (not once per request); the second queue, arriving during the pause, sends nothing into
 * it, hears of it once, and both hear of its end once and then complete everything. */
TEST(restq_pause_is_the_hosts_and_told_once_per_queue_and_pause)
{
    const char *const args[] = {"--rest",
                                test_fixture("binance-spot/http.rec"),
                                "--throttle-next",
                                "2",
                                "--retry-after",
                                "2",
                                NULL};
    static const int want[] = {RQ_THROTTLED, RQ_RESUMED};
    struct restq_params p = params(6000, 0.5, 2, 3);
    struct tctx *t = calloc(1, sizeof(*t));
    struct restq_budget b;
    struct restq qb;
    struct treq *tb;

    ASSERT(t != NULL);
    tctx_init(t, args);
    restq_budget_init(&b, 1000);
    p.budget = &b;
    q_init(t, &p);
    qb_init(t, &qb, p, &b);
    submit(t, 0, "/api/v3/depth?symbol=NKNUSDT&limit=100", 5);
    submit(t, 1, "/api/v3/depth?symbol=LRCBTC&limit=100", 5);
    while (t->nnotices < 1 || t->q.inflight[0] || t->q.inflight[1])
        uv_run(&t->loop, UV_RUN_ONCE);
    ASSERT_EQ(t->q.stats.throttled, 2); /* both refused ... */
    ASSERT_EQ(t->nnotices, 1);          /* ... one pause told */
    ASSERT_EQ(t->q.stats.pause_status, 429);
    ASSERT_EQ(t->q.stats.retry_after_s, 2);
    /* The second queue sees the host's pause before it sends anything. */
    ASSERT_EQ(qb.stats.paused_until_ms, t->q.stats.paused_until_ms);
    tb = req_set(t, 2, "/api/v3/depth?symbol=BLZETH&limit=100", 5);
    ASSERT_EQ(restq_submit(&qb, &tb->r), 0);
    ASSERT(run_until(t, completed_at_least, 3, 20000));

    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(t->req[i].ncb, 1);
        ASSERT_EQ(t->req[i].status, 200);
        ASSERT_GE(t->req[i].done_ms, t->notice_until[0]);
    }
    if (t->nnotices != 2 || memcmp(t->notices, want, sizeof(want)) != 0)
        test_fail(__FILE__, __LINE__, "first queue: %d notices (%d %d %d)", t->nnotices,
                  t->notices[0], t->notices[1], t->notices[2]);
    if (n_notes_b != 2 || memcmp(notes_b, want, sizeof(want)) != 0)
        test_fail(__FILE__, __LINE__, "second queue: %d notices (%d %d %d)", n_notes_b, notes_b[0],
                  notes_b[1], notes_b[2]);
    ASSERT_EQ_U(qb.stats.throttled, 0);
    ASSERT_EQ(qb.stats.paused_until_ms, 0);
    drain(t);
    ASSERT_EQ(t->http_status[429], 2);
    ASSERT_EQ(t->http_status[200], 3);
    qb_fini(t, &qb);
    tctx_fini(t);
    free(t);
    return 0;
}
