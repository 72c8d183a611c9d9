/*
 * The WebSocket client end to end against the fake venue on loopback: TLS certificate checks,
 * recovery from every transport fault by the backoff schedule, pings both ways, the attempt
 * limit, and no leaked descriptors or memory over many reconnects.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "net/wsconn.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "test.h"

#define FIXTURE_WS "tests/fixtures/binance-spot/ws.rec"

/* What one client saw. */
struct seen {
    struct wsconn w;
    int msgs;                       /* messages received, all connections */
    int msgs_since_connect;         /* messages on the current connection */
    int connects;                   /* entries into CONNECTED */
    int failed;                     /* entries into FAILED */
    int reconnecting;               /* entries into RECONNECTING */
    int first_err;                  /* cause of the first RECONNECTING/FAILED */
    uint64_t lost_at_ms[256];       /* loop time of each RECONNECTING/FAILED */
    uint64_t connecting_at_ms[256]; /* loop time of each CONNECTING */
    int n_lost, n_connecting;
    bool stopped;
    char *log; /* concatenated messages when keep is set */
    size_t log_len, log_cap;
    bool keep;
};

static void on_state(struct wsconn *w, enum wsconn_state from, enum wsconn_state to, int err)
{
    struct seen *s = w->ud;
    uint64_t now = uv_now(w->loop);

    if (to == WSC_CONNECTED) {
        s->connects++;
        s->msgs_since_connect = 0;
    }
    if (to == WSC_RECONNECTING || to == WSC_FAILED) {
        if (!s->first_err)
            s->first_err = err;
        if (s->n_lost < 256)
            s->lost_at_ms[s->n_lost++] = now;
        s->reconnecting += to == WSC_RECONNECTING;
        s->failed += to == WSC_FAILED;
    }
    if (to == WSC_CONNECTING && s->n_connecting < 256)
        s->connecting_at_ms[s->n_connecting++] = now;
}

static void on_message(struct wsconn *w, bool text, const uint8_t *data, size_t len,
                       int64_t recv_ns)
{
    struct seen *s = w->ud;

    s->msgs++;
    s->msgs_since_connect++;
    if (s->keep) {
        if (s->log_len + len + 1 > s->log_cap) {
            s->log_cap = (s->log_len + len + 1) * 2;
            s->log = realloc(s->log, s->log_cap);
        }
        memcpy(s->log + s->log_len, data, len);
        s->log_len += len;
        s->log[s->log_len++] = '\n';
    }
}

static void on_stopped(struct wsconn *w)
{
    struct seen *s = w->ud;

    s->stopped = true;
}

static const struct wsconn_callbacks cbs = {
    .on_state = on_state,
    .on_message = on_message,
    .on_stopped = on_stopped,
};

static void on_guard(uv_timer_t *t)
{
}

/* Runs the loop until pred(s) holds or timeout_ms passes; returns pred's final value. */
static bool run_until(uv_loop_t *loop, struct seen *s, bool (*pred)(struct seen *), int timeout_ms)
{
    uv_timer_t guard;
    uint64_t end;

    uv_timer_init(loop, &guard);
    uv_update_time(loop);
    end = uv_now(loop) + (uint64_t)timeout_ms;
    while (!pred(s) && uv_now(loop) < end) {
        uv_timer_start(&guard, on_guard, 20, 0);
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return pred(s);
}

/* Stops the client, runs the loop dry and frees it; asserts nothing is left on the loop. */
static void stop_client(uv_loop_t *loop, struct seen *s)
{
    wsconn_stop(&s->w, 1000);
    uv_run(loop, UV_RUN_DEFAULT);
    ASSERT(s->stopped);
    wsconn_fini(&s->w);
    ASSERT_EQ(uv_loop_close(loop), 0);
    free(s->log);
}

static void start_client(uv_loop_t *loop, struct seen *s, const struct wsconn_params *p)
{
    memset(s, 0, sizeof(*s));
    ASSERT_EQ(uv_loop_init(loop), 0);
    if (wsconn_init(&s->w, loop, p, &cbs, s) != 0)
        test_fail(__FILE__, __LINE__, "wsconn_init: %s", mdf_errmsg());
    ASSERT_EQ(wsconn_start(&s->w), 0);
}

static bool is_failed(struct seen *s)
{
    return s->w.state == WSC_FAILED;
}

static int want_msgs;
static bool has_msgs(struct seen *s)
{
    return s->msgs >= want_msgs;
}

static int want_connects;
static bool has_connects_and_msgs(struct seen *s)
{
    return s->connects >= want_connects && s->msgs_since_connect >= want_msgs &&
           s->w.state == WSC_CONNECTED;
}

/* Messages of one stream in the spot fixture. */
static int fixture_count(const char *stream)
{
    char needle[128], line[65536];
    FILE *f = fopen(FIXTURE_WS, "r");
    int n = 0;

    ASSERT(f != NULL);
    snprintf(needle, sizeof(needle), "\"stream\":\"%s\"", stream);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* Paths of one test certificate (tests/support/certs.h) and of the CAs. */
struct paths {
    char cert[512], key[512], ca[512], other_ca[512];
};

/* Fills p for the certificate named leaf ("good", "expired", ...). */
static void cert_paths(struct paths *p, const char *leaf)
{
    const char *dir = certs_dir();

    if (!dir)
        test_fail(__FILE__, __LINE__, "no test certificates: %s", mdf_errmsg());
    snprintf(p->cert, sizeof(p->cert), "%s/%s.pem", dir, leaf);
    snprintf(p->key, sizeof(p->key), "%s/%s.key", dir, leaf);
    snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", dir);
    snprintf(p->other_ca, sizeof(p->other_ca), "%s/other-ca.pem", dir);
}

static void fast_params(struct wsconn_params *p, const char *url)
{
    wsconn_default_params(p);
    p->url = url;
    p->connect_timeout_ms = 3000;
    p->handshake_timeout_ms = 3000;
    p->ping_interval_ms = 0;
    p->backoff.base_ms = 100;
    p->backoff.max_ms = 400;
    p->backoff.jitter = 0;
}

TEST(wsconn_receives_replayed_stream_over_tls)
{
    char url[256];
    struct paths cp;
    const char *stream = "nknusdt@bookTicker";
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;

    cert_paths(&cp, "good");
    {
        const char *args[] = {"--tls-cert", cp.cert,   "--tls-key", cp.key, "--replay",
                              FIXTURE_WS,   "--speed", "max",       NULL};
        ASSERT_EQ(fv_start(&fv, args), 0);
    }
    snprintf(url, sizeof(url), "wss://localhost:%d/stream?streams=%s", fv.port, stream);
    fast_params(&p, url);
    p.ca_file = cp.ca;
    start_client(&loop, &s, &p);
    want_msgs = fixture_count(stream);
    ASSERT_GT(want_msgs, 5);
    ASSERT(run_until(&loop, &s, has_msgs, 10000));
    ASSERT_EQ(s.msgs, want_msgs);
    ASSERT_EQ(s.connects, 1);
    ASSERT_EQ(s.w.stats.errors_tls, 0);
    ASSERT_GT(s.w.stats.bytes_in, 0);
    stop_client(&loop, &s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(wsconn_refuses_bad_certificates_with_clear_errors)
{
    static const struct {
        const char *cert, *extra, *why;
        int code;
    } cases[] = {
        {"wronghost", NULL, "Common Name", ERR_TLS_VERIFY},
        {"expired", NULL, "expired", ERR_TLS_VERIFY},
        {"notyet", NULL, "future", ERR_TLS_VERIFY},
        {"selfsigned", NULL, "trusted CA", ERR_TLS_VERIFY},
        {"untrusted", NULL, "trusted CA", ERR_TLS_VERIFY},
        {"good", "--tls11-only", "TLS", ERR_TLS_PROTO},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char url[256];
        struct paths cp;
        const char *args[8];
        struct wsconn_params p;
        struct fv_proc fv;
        struct seen s;
        uv_loop_t loop;
        int n = 0;

        cert_paths(&cp, cases[i].cert);
        args[n++] = "--tls-cert";
        args[n++] = cp.cert;
        args[n++] = "--tls-key";
        args[n++] = cp.key;
        if (cases[i].extra)
            args[n++] = cases[i].extra;
        args[n] = NULL;
        ASSERT_EQ(fv_start(&fv, args), 0);
        snprintf(url, sizeof(url), "wss://localhost:%d/ws/btcusdt@trade", fv.port);
        fast_params(&p, url);
        p.ca_file = cp.ca;
        p.backoff.max_attempts = 1;
        start_client(&loop, &s, &p);
        ASSERT(run_until(&loop, &s, is_failed, 10000));
        printf("  %-10s -> %s: %s\n", cases[i].cert, err_name(s.w.stats.last_error),
               s.w.stats.last_error_msg);
        ASSERT_EQ(s.w.stats.last_error, cases[i].code);
        ASSERT_EQ(s.connects, 0);
        ASSERT_EQ(s.w.stats.errors_tls, 1);
        ASSERT_CONTAINS(s.w.stats.last_error_msg, cases[i].why);
        stop_client(&loop, &s);
        fv_stop(&fv);
    }
    return 0;
}

/* One fault on the first connection: the client must lose it with the expected kind of error,
 * wait the backoff delay, reconnect and receive again. */
struct fault_case {
    const char *name;
    const char *flags[6];
    bool tls;
    uint32_t ping_ms; /* our ping interval (stall needs it) */
    int err;          /* expected cause, 0 = any */
    int lost_conns;   /* upgraded connections the fault costs (1; 0 if it strikes earlier) */
};

static void run_fault(const struct fault_case *fc)
{
    char url[256];
    struct paths cp;
    const char *args[24];
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;
    int n = 0, i;

    cert_paths(&cp, "good");
    if (fc->tls) {
        args[n++] = "--tls-cert";
        args[n++] = cp.cert;
        args[n++] = "--tls-key";
        args[n++] = cp.key;
    }
    args[n++] = "--synthetic";
    args[n++] = "200";
    args[n++] = "--fault-conns";
    args[n++] = "1";
    for (i = 0; fc->flags[i]; i++)
        args[n++] = fc->flags[i];
    args[n] = NULL;
    ASSERT_EQ(fv_start(&fv, args), 0);
    snprintf(url, sizeof(url), "%s://localhost:%d/ws/btcusdt@trade", fc->tls ? "wss" : "ws",
             fv.port);
    fast_params(&p, url);
    p.ca_file = cp.ca;
    p.backoff.base_ms = 300;
    p.handshake_timeout_ms = 1000;
    if (fc->ping_ms) {
        p.ping_interval_ms = fc->ping_ms;
        p.pong_timeout_ms = fc->ping_ms;
    }
    start_client(&loop, &s, &p);
    want_connects = 1 + fc->lost_conns;
    want_msgs = 5;
    if (!run_until(&loop, &s, has_connects_and_msgs, 15000))
        test_fail(__FILE__, __LINE__,
                  "%s: no recovery: connects %d, msgs %d, state %s, last "
                  "error %s",
                  fc->name, s.connects, s.msgs_since_connect, wsconn_state_name(s.w.state),
                  s.w.stats.last_error_msg);
    printf("  %-22s lost by %-14s (%s), reconnected after %llu ms\n", fc->name,
           err_name(s.first_err), s.w.stats.last_error_msg,
           (unsigned long long)(s.connecting_at_ms[1] - s.lost_at_ms[0]));
    if (fc->err)
        ASSERT_EQ(s.first_err, fc->err);
    ASSERT_GE(s.n_lost, 1);
    /* The retry waited the schedule's first delay (jitter 0: exactly base). */
    ASSERT_GE(s.connecting_at_ms[1] - s.lost_at_ms[0], 300);
    ASSERT_EQ(s.failed, 0);
    stop_client(&loop, &s);
    fv_stop(&fv);
}

TEST(wsconn_recovers_from_transport_faults_by_backoff_schedule)
{
    static const struct fault_case cases[] = {
        {"rst-after", {"--fault-rst-after", "20", NULL}, false, 0, -ECONNRESET, 1},
        {"rst-midframe", {"--fault-rst-midframe", "20", NULL}, false, 0, -ECONNRESET, 1},
        {"fin-midframe", {"--fault-fin-midframe", "20", NULL}, false, 0, -EPIPE, 1},
        {"rst-midframe-tls", {"--fault-rst-midframe", "20", NULL}, true, 0, -ECONNRESET, 1},
        {"truncated-tls-record", {"--fault-truncate-tls", "20", NULL}, true, 0, -EPIPE, 1},
        {"stall", {"--fault-stall-after", "20", NULL}, true, 300, ERR_PONG_TIMEOUT, 1},
        {"no-upgrade", {"--fault-no-upgrade", NULL}, false, 0, -ETIMEDOUT, 0},
        {"close-1001",
         {"--fault-close-after", "20", "--fault-close-code", "1001", NULL},
         true,
         0,
         ERR_WS_CLOSED,
         1},
        {"garbage", {"--fault-garbage-after", "20", NULL}, false, 0, ERR_WS_PROTO, 1},
        {"bad-utf8", {"--fault-bad-utf8-after", "20", NULL}, true, 0, ERR_WS_PROTO, 1},
        {"oversize",
         {"--fault-oversize-after", "20", "--fault-oversize-size", "1048577", NULL},
         true,
         0,
         ERR_WS_PROTO,
         1},
        {"bad-close-code",
         {"--fault-close-after", "20", "--fault-close-code", "1004", NULL},
         false,
         0,
         ERR_WS_PROTO,
         1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_fault(&cases[i]);
    return 0;
}

TEST(wsconn_drip_and_fragments_give_same_messages)
{
    static const char *const variants[][4] = {
        {NULL},
        {"--fault-drip", NULL},
        {"--fault-fragment", "7", "--fault-ping-in-fragments", NULL},
    };
    char url[256];
    struct paths cp;
    char *reference = NULL;
    size_t ref_len = 0, v;

    cert_paths(&cp, "good");
    for (v = 0; v < 3; v++) {
        const char *args[16] = {"--tls-cert", cp.cert,    "--tls-key", cp.key,
                                "--replay",   FIXTURE_WS, "--speed",   "max"};
        struct wsconn_params p;
        struct fv_proc fv;
        struct seen s;
        uv_loop_t loop;
        int n = 8, k;

        for (k = 0; variants[v][k]; k++)
            args[n++] = variants[v][k];
        args[n] = NULL;
        ASSERT_EQ(fv_start(&fv, args), 0);
        snprintf(url, sizeof(url),
                 "wss://localhost:%d/stream?streams=nknusdt@depth@100ms/lrcbtc@bookTicker",
                 fv.port);
        fast_params(&p, url);
        p.ca_file = cp.ca;
        start_client(&loop, &s, &p);
        s.keep = true;
        want_msgs = fixture_count("nknusdt@depth@100ms") + fixture_count("lrcbtc@bookTicker");
        ASSERT(run_until(&loop, &s, has_msgs, 30000));
        ASSERT_EQ(s.msgs, want_msgs);
        ASSERT_EQ(s.connects, 1);
        if (v == 0) {
            reference = malloc(s.log_len);
            memcpy(reference, s.log, s.log_len);
            ref_len = s.log_len;
        } else {
            ASSERT_EQ(s.log_len, ref_len);
            ASSERT(memcmp(s.log, reference, ref_len) == 0);
        }
        if (v == 2)
            ASSERT_GT(s.w.stats.pings_in, 0);
        stop_client(&loop, &s);
        fv_stop(&fv);
    }
    free(reference);
    return 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool hundred_connects(struct seen *s)
{
    return s->connects >= 101 && s->w.state == WSC_CONNECTED;
}

TEST(wsconn_same_fds_and_memory_after_100_reconnects)
{
    char url[256];
    struct paths cp;
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;
    int fds_before, fds_after;
    size_t heap_before, heap_after;

    cert_paths(&cp, "good");
    {
        const char *args[] = {"--tls-cert",  cp.cert, "--tls-key",         cp.key,
                              "--synthetic", "1000",  "--fault-rst-after", "3",
                              NULL};
        ASSERT_EQ(fv_start(&fv, args), 0);
    }
    snprintf(url, sizeof(url), "wss://localhost:%d/ws/btcusdt@trade", fv.port);
    fast_params(&p, url);
    p.ca_file = cp.ca;
    p.backoff.base_ms = 1;
    p.backoff.max_ms = 2;
    start_client(&loop, &s, &p);
    want_connects = 1;
    want_msgs = 0;
    ASSERT(run_until(&loop, &s, has_connects_and_msgs, 10000));
    /* Let the first connection die and its replacement come up, so every lazily made
     * structure (libuv's DNS thread pool among them) exists before the baseline. */
    want_connects = 3;
    ASSERT(run_until(&loop, &s, has_connects_and_msgs, 10000));
    fds_before = count_fds();
    heap_before = mallinfo2().uordblks;
    ASSERT(run_until(&loop, &s, hundred_connects, 120000));
    fds_after = count_fds();
    heap_after = mallinfo2().uordblks;
    printf("  %d connections: fds %d -> %d, heap in use %zu -> %zu bytes\n", s.connects, fds_before,
           fds_after, heap_before, heap_after);
    ASSERT_GE(s.connects, 101);
    ASSERT_EQ(fds_after, fds_before);
    /* The heap may differ by what is in flight at the two instants (a TLS session's
     * buffers), never by 100 connections' worth. */
    if (heap_before > 0)
        ASSERT_LT((int64_t)heap_after - (int64_t)heap_before, 256 * 1024);
    stop_client(&loop, &s);
    fv_stop(&fv);
    return 0;
}

TEST(wsconn_gives_up_after_max_attempts)
{
    struct wsconn_params p;
    struct seen s;
    uv_loop_t loop;

    /* Port 1 on loopback: nothing listens, connections are refused at once. */
    fast_params(&p, "ws://127.0.0.1:1/ws");
    p.backoff.base_ms = 10;
    p.backoff.max_attempts = 4;
    start_client(&loop, &s, &p);
    ASSERT(run_until(&loop, &s, is_failed, 10000));
    ASSERT_EQ(s.w.stats.connect_failures, 4);
    ASSERT_EQ(s.w.stats.transitions[WSC_CONNECTING], 4);
    ASSERT_EQ(s.w.stats.transitions[WSC_RECONNECTING], 3);
    ASSERT_EQ(s.w.stats.transitions[WSC_FAILED], 1);
    ASSERT_EQ(s.w.stats.last_error, -ECONNREFUSED);
    ASSERT_CONTAINS(s.w.stats.last_error_msg, "127.0.0.1:1");
    /* FAILED can be started again by the owner. */
    ASSERT_EQ(wsconn_start(&s.w), 0);
    ASSERT(run_until(&loop, &s, is_failed, 10000));
    ASSERT_EQ(s.w.stats.connect_failures, 8);
    stop_client(&loop, &s);
    return 0;
}

TEST(wsconn_reset_of_open_connection_counts_as_loss_not_connect_error)
{
    const char *args[] = {"--synthetic", "200", "--fault-conns", "1", "--fault-rst-after",
                          "20",          NULL};
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;
    char url[256];

    /* An upgraded connection reset by the venue: a lost connection (ws), no connect error. */
    ASSERT_EQ(fv_start(&fv, args), 0);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/btcusdt@trade", fv.port);
    fast_params(&p, url);
    start_client(&loop, &s, &p);
    want_connects = 2;
    want_msgs = 5;
    ASSERT(run_until(&loop, &s, has_connects_and_msgs, 15000));
    ASSERT_EQ(s.first_err, -ECONNRESET);
    ASSERT_EQ(s.w.stats.disconnects, 1);
    ASSERT_EQ(s.w.stats.connect_failures, 0);
    ASSERT_EQ(s.w.stats.errors_net, 0);
    ASSERT_EQ(s.w.stats.errors_ws, 1);
    stop_client(&loop, &s);
    fv_stop(&fv);

    /* A refused connect (nothing listens on port 1): a connect error, no ws error. */
    fast_params(&p, "ws://127.0.0.1:1/ws");
    p.backoff.base_ms = 10;
    p.backoff.max_attempts = 2;
    start_client(&loop, &s, &p);
    ASSERT(run_until(&loop, &s, is_failed, 10000));
    ASSERT_EQ(s.w.stats.errors_net, 2);
    ASSERT_EQ(s.w.stats.errors_ws, 0);
    stop_client(&loop, &s);
    return 0;
}

static bool two_seconds(struct seen *s)
{
    return false;
}

TEST(wsconn_answers_venue_pings_and_pings_itself)
{
    char url[256];
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;
    /* Pongs and pings count against the venue's incoming-message limit: 5/s would cut this
     * deliberately busy exchange, so it is raised here. */
    const char *args[] = {
        "--ping-interval", "0.2", "--pong-timeout", "0.6", "--rate-limit", "50", NULL};

    ASSERT_EQ(fv_start(&fv, args), 0);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws", fv.port);
    fast_params(&p, url);
    p.ping_interval_ms = 250;
    p.pong_timeout_ms = 1000;
    start_client(&loop, &s, &p);
    run_until(&loop, &s, two_seconds, 2000);
    ASSERT_EQ(s.connects, 1);
    ASSERT_EQ(s.w.state, WSC_CONNECTED);
    ASSERT_GE(s.w.stats.pings_in, 5);
    ASSERT_EQ(s.w.stats.pongs_out, s.w.stats.pings_in);
    ASSERT_GE(s.w.stats.pings_out, 4);
    ASSERT_GE(s.w.stats.pongs_in, s.w.stats.pings_out - 1);
    ASSERT_GE(fv_count_lines(&fv, "pong"), 5);
    ASSERT_EQ(fv_count_lines(&fv, "closed pong-timeout"), 0);
    stop_client(&loop, &s);
    fv_stop(&fv);
    return 0;
}

TEST(wsconn_connects_over_ipv6_loopback)
{
    char url[256];
    struct wsconn_params p;
    struct fv_proc fv;
    struct seen s;
    uv_loop_t loop;
    const char *args[] = {"--listen", "::1", "--synthetic", "100", NULL};

    if (fv_start(&fv, args) != 0)
        test_skip("no IPv6 loopback here");
    snprintf(url, sizeof(url), "ws://[::1]:%d/ws/btcusdt@trade", fv.port);
    fast_params(&p, url);
    start_client(&loop, &s, &p);
    want_msgs = 3;
    ASSERT(run_until(&loop, &s, has_msgs, 10000));
    stop_client(&loop, &s);
    fv_stop(&fv);
    return 0;
}

/* A listener whose accept queue is full drops new SYNs, so a connect to it hangs: the
 * connect deadline must end the attempt, on loopback. */
TEST(wsconn_connect_timeout_ends_a_hanging_connect)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int lfd, fill[8], i, nfill = 0;
    struct wsconn_params p;
    struct seen s;
    uv_loop_t loop;
    char url[128];

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(lfd >= 0);
    ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(listen(lfd, 0), 0);
    ASSERT_EQ(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    /* Fill the queue (backlog 0 still admits one) with non-blocking connects. */
    for (i = 0; i < 8; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
        nfill++;
    }
    usleep(100000);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%u/ws", ntohs(sa.sin_port));
    fast_params(&p, url);
    p.connect_timeout_ms = 500;
    p.backoff.max_attempts = 1;
    start_client(&loop, &s, &p);
    ASSERT(run_until(&loop, &s, is_failed, 10000));
    printf("  %s\n", s.w.stats.last_error_msg);
    ASSERT_EQ(s.w.stats.last_error, -ETIMEDOUT);
    ASSERT_EQ(s.w.stats.errors_timeout, 1);
    ASSERT_CONTAINS(s.w.stats.last_error_msg, "timed out after 500 ms");
    stop_client(&loop, &s);
    for (i = 0; i < nfill; i++)
        close(fill[i]);
    close(lfd);
    return 0;
}

static bool both_have_msgs(struct seen *s)
{
    return s[0].msgs >= 3 && s[1].msgs >= 3;
}

static bool both_failed(struct seen *s)
{
    return s[0].w.state == WSC_FAILED && s[1].w.state == WSC_FAILED;
}

/* Connections may share one TLS configuration (one CA bundle parsed once); what it trusts
 * decides for all of them. */
TEST(wsconn_connections_share_one_tls_config)
{
    char url[256];
    struct paths cp;
    struct wsconn_params p;
    struct fv_proc fv;
    int round;

    cert_paths(&cp, "good");
    {
        const char *args[] = {"--tls-cert",  cp.cert, "--tls-key", cp.key,
                              "--synthetic", "200",   NULL};
        ASSERT_EQ(fv_start(&fv, args), 0);
    }
    snprintf(url, sizeof(url), "wss://localhost:%d/ws/btcusdt@trade", fv.port);
    for (round = 0; round < 2; round++) {
        struct tls_config_params tp = {.server = false,
                                       .ca_file = round == 0 ? cp.ca : cp.other_ca};
        struct tls_config tls;
        struct seen s[2];
        uv_loop_t loop;
        int i;

        ASSERT_EQ(tls_config_init(&tls, &tp), 0);
        fast_params(&p, url);
        p.ca_file = "/nonexistent"; /* ignored: the shared configuration is used */
        p.tls = &tls;
        p.backoff.max_attempts = 1;
        memset(s, 0, sizeof(s));
        ASSERT_EQ(uv_loop_init(&loop), 0);
        for (i = 0; i < 2; i++) {
            ASSERT_EQ(wsconn_init(&s[i].w, &loop, &p, &cbs, &s[i]), 0);
            ASSERT_EQ(wsconn_start(&s[i].w), 0);
        }
        if (round == 0) {
            ASSERT(run_until(&loop, s, both_have_msgs, 10000));
        } else {
            ASSERT(run_until(&loop, s, both_failed, 10000));
            ASSERT_EQ(s[0].w.stats.last_error, ERR_TLS_VERIFY);
            ASSERT_EQ(s[1].w.stats.last_error, ERR_TLS_VERIFY);
        }
        for (i = 0; i < 2; i++)
            wsconn_stop(&s[i].w, 1000);
        uv_run(&loop, UV_RUN_DEFAULT);
        for (i = 0; i < 2; i++) {
            ASSERT(s[i].stopped);
            wsconn_fini(&s[i].w);
        }
        ASSERT_EQ(uv_loop_close(&loop), 0);
        tls_config_fini(&tls);
    }
    fv_stop(&fv);
    return 0;
}
