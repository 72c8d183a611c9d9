/*
 * The REST GET client against real servers on loopback: the fake venue (bodies of every size,
 * chunked or not, TLS, statuses, recorded snapshots, stalls) and, for byte-exact scripts, a
 * small blocking server on a thread of the test (one-byte writes, malformed responses, bodies
 * read until close, and a copy of the request it received).
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "core/err.h"
#include "net/http.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

/* ---- a loop, one http_get, and what done saw ---- */

struct ctx {
    uv_loop_t loop;                    /* the test's own loop */
    struct http_get g;                 /* the client under test */
    size_t cap;                        /* body buffer size given to init */
    int ncalls;                        /* done calls for the current request */
    int err;                           /* done's err */
    bool got_resp;                     /* done had a response */
    struct http_response resp;         /* copy of the response (body points to body) */
    uint8_t *body;                     /* copy of the body, cap bytes */
    char errmsg[512];                  /* mdf_errmsg() inside done */
    int stopped;                       /* stop callbacks seen */
    int done_before_stop;              /* done calls seen when the stop callback ran */
    void (*after_done)(struct ctx *c); /* optional: runs at the end of done */
    void *arg;                         /* for after_done */
};

/* done: counts the call and copies what it was given (the response is borrowed). */
static void on_done(struct http_get *g, int err, const struct http_response *r)
{
    struct ctx *c = g->ud;

    c->ncalls++;
    c->err = err;
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", err ? mdf_errmsg() : "");
    c->got_resp = r != NULL;
    if (r) {
        c->resp = *r;
        memcpy(c->body, r->body, r->body_len);
        c->resp.body = c->body;
    }
    if (c->after_done)
        c->after_done(c);
}

/* http_get_stop()'s callback: counts it and notes how many done calls came before. */
static void on_stopped(struct http_get *g)
{
    struct ctx *c = g->ud;

    c->stopped++;
    c->done_before_stop = c->ncalls;
}

/* A fresh loop and client with a body buffer of max_body (0 = the default). */
static void ctx_init(struct ctx *c, size_t max_body)
{
    memset(c, 0, sizeof(*c));
    ASSERT_EQ(uv_loop_init(&c->loop), 0);
    ASSERT_EQ(http_get_init(&c->g, &c->loop, max_body, c), 0);
    c->cap = max_body ? max_body : HTTP_DEFAULT_MAX_BODY;
    c->body = malloc(c->cap);
    ASSERT(c->body != NULL);
}

/* Stops (the callback must come later, from the loop), finalizes, and checks the loop has no
 * handle left. */
static void ctx_fini(struct ctx *c)
{
    http_get_stop(&c->g, on_stopped);
    ASSERT_EQ(c->stopped, 0);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    ASSERT_EQ(c->stopped, 1);
    http_get_fini(&c->g);
    ASSERT_EQ(uv_loop_close(&c->loop), 0);
    free(c->body);
}

/* Runs one GET to completion. Returns http_get_start()'s code; when it started, asserts that
 * done ran exactly once and not from inside http_get_start(). */
static int get(struct ctx *c, const char *url, const struct tls_config *tls, uint32_t timeout_ms,
               size_t max_body)
{
    struct http_get_params p = {
        .url = url, .tls = tls, .timeout_ms = timeout_ms, .max_body = max_body};
    int rc;

    c->ncalls = 0;
    c->err = 1;
    c->got_resp = false;
    rc = http_get_start(&c->g, &p, on_done);
    if (rc < 0)
        return rc;
    ASSERT_EQ(c->ncalls, 0);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    ASSERT_EQ(c->ncalls, 1);
    return 0;
}

/* Index of the first byte that breaks the fake venue's pattern ('a' + i % 26), or -1. */
static long pattern_mismatch(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)('a' + i % 26))
            return (long)i;
    return -1;
}

/* Open file descriptors of this process; their "fd -> target" list goes to list (for the
 * failure message). */
static int count_fds(char *list, size_t cap)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    size_t off = 0;
    int n = 0;

    ASSERT(d != NULL);
    list[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        char path[300], target[256];
        ssize_t tl;

        if (e->d_name[0] == '.')
            continue;
        n++;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        tl = readlink(path, target, sizeof(target) - 1);
        target[tl > 0 ? tl : 0] = '\0';
        if (off < cap)
            off += (size_t)snprintf(list + off, cap - off, " %s->%s", e->d_name, target);
    }
    closedir(d);
    return n;
}

/* Starts the fake venue with extra arguments (NULL-terminated). */
static void venue_start(struct fv_proc *fv, const char *const *args)
{
    int rc = fv_start(fv, args);

    if (rc < 0)
        test_fail(__FILE__, __LINE__, "fake venue: %d %s", rc, mdf_errmsg());
}

static const char *const plain_args[] = {NULL};

/* ---- a scripted server on a thread ---- */

struct script {
    int lfd;          /* listening socket */
    uint16_t port;    /* its port */
    const char *resp; /* bytes to send after the request */
    size_t resp_len;  /* their length */
    size_t chunk;     /* bytes per write (0 = all at once) */
    bool hold;        /* send nothing; wait for the client to hang up */
    char req[4096];   /* the request received (NUL-terminated) */
    size_t req_len;   /* its length */
    bool accepted;    /* a client connected */
    pthread_t th;     /* the server thread */
};

/* Accepts one client (or gives up after 20 s), reads its request head, then sends the script
 * (pausing between chunks so the client's reads split there) and closes. */
static void *script_main(void *arg)
{
    struct script *s = arg;
    struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
    int fd;

    if (poll(&pfd, 1, 20000) != 1)
        return NULL;
    fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    s->accepted = true;
    while (s->req_len < sizeof(s->req) - 1 && !strstr(s->req, "\r\n\r\n")) {
        ssize_t n = read(fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);

        if (n <= 0)
            break;
        s->req_len += (size_t)n;
        s->req[s->req_len] = '\0';
    }
    if (s->hold) {
        char tmp[256];
        struct pollfd cp = {.fd = fd, .events = POLLIN};

        /* Until the client hangs up (20 s at most). */
        while (poll(&cp, 1, 20000) == 1 && read(fd, tmp, sizeof(tmp)) > 0)
            ;
    } else {
        for (size_t off = 0; off < s->resp_len;) {
            size_t n = s->chunk ? s->chunk : s->resp_len;

            if (n > s->resp_len - off)
                n = s->resp_len - off;
            /* MSG_NOSIGNAL: a client that hung up early must not kill the test. */
            if (send(fd, s->resp + off, n, MSG_NOSIGNAL) != (ssize_t)n)
                break;
            off += n;
            if (s->chunk)
                usleep(500);
        }
    }
    close(fd);
    return NULL;
}

/* Listens on 127.0.0.1 (any port) and starts the thread. */
static void script_start(struct script *s, const char *resp, size_t len, size_t chunk, bool hold)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->resp = resp;
    s->resp_len = len;
    s->chunk = chunk;
    s->hold = hold;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(s->lfd >= 0);
    ASSERT_EQ(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(listen(s->lfd, 4), 0);
    ASSERT_EQ(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&s->th, NULL, script_main, s), 0);
}

/* Waits for the server thread to finish and closes the listener. */
static void script_join(struct script *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* Runs one GET of `path` against a script that answers `resp` in chunks of `chunk` bytes. */
static void script_get(struct ctx *c, struct script *s, const char *resp, size_t chunk,
                       const char *path)
{
    char url[256];

    script_start(s, resp, strlen(resp), chunk, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
    ASSERT_EQ(get(c, url, NULL, 20000, 0), 0);
    script_join(s);
}

/* ---- tests against the fake venue ---- */

TEST(http_get_reads_content_length_and_chunked_bodies)
{
    static const size_t sizes[] = {0, 1, 4095, 100000, 1000000};
    struct fv_proc fv;
    struct ctx c;
    char url[256], want[32];

    venue_start(&fv, plain_args);
    ctx_init(&c, 0);
    for (int chunked = 0; chunked <= 1; chunked++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=%zu&chunked=%d", fv.port,
                     sizes[i], chunked);
            ASSERT_EQ(get(&c, url, NULL, 30000, 0), 0);
            if (c.err)
                test_fail(__FILE__, __LINE__, "%s: %d %s", url, c.err, c.errmsg);
            ASSERT(c.got_resp);
            ASSERT_EQ(c.resp.status, 200);
            ASSERT_EQ_U(c.resp.body_len, sizes[i]);
            ASSERT_EQ(pattern_mismatch(c.body, c.resp.body_len), -1);
            /* The two framings really were used. */
            if (chunked) {
                ASSERT_STR_EQ(http_response_header(&c.resp, "transfer-encoding"), "chunked");
                ASSERT(http_response_header(&c.resp, "content-length") == NULL);
            } else {
                snprintf(want, sizeof(want), "%zu", sizes[i]);
                ASSERT_STR_EQ(http_response_header(&c.resp, "content-length"), want);
            }
        }
    }
    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_over_tls_verifies_the_server)
{
    const char *dir = certs_dir();
    char cert[512], key[512], ca[512], other[512], url[256];
    struct tls_config good_ca, wrong_ca;
    struct fv_proc fv;
    struct ctx c;

    ASSERT(dir != NULL);
    snprintf(cert, sizeof(cert), "%s/good.pem", dir);
    snprintf(key, sizeof(key), "%s/good.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(other, sizeof(other), "%s/other-ca.pem", dir);
    const char *const args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    venue_start(&fv, args);
    ASSERT_EQ(tls_config_init(&good_ca, &(struct tls_config_params){.ca_file = ca}), 0);
    ASSERT_EQ(tls_config_init(&wrong_ca, &(struct tls_config_params){.ca_file = other}), 0);
    ctx_init(&c, 0);

    /* Trusted: bodies across many TLS records, both framings. */
    for (int chunked = 0; chunked <= 1; chunked++) {
        snprintf(url, sizeof(url), "https://localhost:%u/test/body?size=100000&chunked=%d", fv.port,
                 chunked);
        ASSERT_EQ(get(&c, url, &good_ca, 30000, 0), 0);
        if (c.err)
            test_fail(__FILE__, __LINE__, "%s: %d %s", url, c.err, c.errmsg);
        ASSERT_EQ(c.resp.status, 200);
        ASSERT_EQ_U(c.resp.body_len, 100000);
        ASSERT_EQ(pattern_mismatch(c.body, c.resp.body_len), -1);
    }

    /* A CA that did not sign the server's certificate: refused, no response. */
    snprintf(url, sizeof(url), "https://localhost:%u/test/body?size=10", fv.port);
    ASSERT_EQ(get(&c, url, &wrong_ca, 30000, 0), 0);
    ASSERT_EQ(c.err, ERR_TLS_VERIFY);
    ASSERT(!c.got_resp);
    ASSERT_CONTAINS(c.errmsg, "localhost");

    /* https without any TLS configuration cannot start. */
    ASSERT_EQ(get(&c, url, NULL, 30000, 0), -EINVAL);

    /* The same struct still works after the refusal. */
    ASSERT_EQ(get(&c, url, &good_ca, 30000, 0), 0);
    ASSERT_EQ(c.err, 0);
    ASSERT_EQ_U(c.resp.body_len, 10);

    ctx_fini(&c);
    tls_config_fini(&good_ca);
    tls_config_fini(&wrong_ca);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_enforces_body_limit)
{
    const size_t limit = 50000;
    struct fv_proc fv;
    struct ctx c;
    char url[256];

    venue_start(&fv, plain_args);
    ctx_init(&c, 200000);
    for (int chunked = 0; chunked <= 1; chunked++) {
        /* One byte over the per-request limit. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=%zu&chunked=%d", fv.port,
                 limit + 1, chunked);
        ASSERT_EQ(get(&c, url, NULL, 30000, limit), 0);
        ASSERT_EQ(c.err, ERR_TOO_BIG);
        ASSERT(!c.got_resp);
        ASSERT_CONTAINS(c.errmsg, "limit");

        /* Exactly the limit. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=%zu&chunked=%d", fv.port,
                 limit, chunked);
        ASSERT_EQ(get(&c, url, NULL, 30000, limit), 0);
        ASSERT_EQ(c.err, 0);
        ASSERT_EQ_U(c.resp.body_len, limit);
        ASSERT_EQ(pattern_mismatch(c.body, c.resp.body_len), -1);
    }

    /* Limit 0 means the whole buffer given to init: its size fits, one more byte does not. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=200000&chunked=1", fv.port);
    ASSERT_EQ(get(&c, url, NULL, 30000, 0), 0);
    ASSERT_EQ(c.err, 0);
    ASSERT_EQ_U(c.resp.body_len, 200000);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=200001&chunked=1", fv.port);
    ASSERT_EQ(get(&c, url, NULL, 30000, 0), 0);
    ASSERT_EQ(c.err, ERR_TOO_BIG);

    /* A limit over the buffer cannot start. */
    ASSERT_EQ(get(&c, url, NULL, 30000, 200001), -EINVAL);

    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_times_out_on_silent_server)
{
    const char *const args[] = {"--fault-no-upgrade", NULL};
    struct fv_proc fv;
    struct ctx c;
    char url[256];

    venue_start(&fv, args);
    ctx_init(&c, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=10", fv.port);
    ASSERT_EQ(get(&c, url, NULL, 300, 0), 0);
    ASSERT_EQ(c.err, -ETIMEDOUT);
    ASSERT(!c.got_resp);
    ASSERT_CONTAINS(c.errmsg, "300 ms");
    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_exposes_status_and_headers)
{
    static const int statuses[] = {429, 418, 500, 200};
    const char *const args[] = {"--replay", "tests/fixtures/binance-spot/ws.rec",
                                "--rest",   "tests/fixtures/binance-spot/http.rec",
                                "--speed",  "max",
                                NULL};
    struct fv_proc fv;
    struct wsc ws;
    struct ctx c;
    char url[256];

    venue_start(&fv, args);
    ctx_init(&c, 0);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=37&status=%d", fv.port,
                 statuses[i]);
        ASSERT_EQ(get(&c, url, NULL, 30000, 0), 0);
        ASSERT_EQ(c.err, 0);
        ASSERT(c.got_resp);
        ASSERT_EQ(c.resp.status, statuses[i]);
        ASSERT_EQ_U(c.resp.body_len, 37);
        ASSERT_EQ(pattern_mismatch(c.body, c.resp.body_len), -1);
    }

    /* A recorded depth snapshot carries the venue's weight header. The venue holds a snapshot
     * until its replay clock reaches the recorded time; a first subscription starts the clock. */
    ASSERT_EQ(wsc_connect(&ws, fv.port, "/ws", &(struct wsc_opts){.timeout_ms = 10000}), 0);
    ASSERT_EQ(wsc_send_text(&ws, "{\"method\":\"SUBSCRIBE\",\"params\":[\"nknusdt@depth@100ms\"],"
                                 "\"id\":1}"),
              0);
    ASSERT_EQ(fv_wait_line(&fv, "replay started", 10000, NULL, 0), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v3/depth?symbol=NKNUSDT&limit=1000",
             fv.port);
    ASSERT_EQ(get(&c, url, NULL, 60000, 0), 0);
    if (c.err)
        test_fail(__FILE__, __LINE__, "%s: %d %s", url, c.err, c.errmsg);
    ASSERT_EQ(c.resp.status, 200);
    const char *w = http_response_header(&c.resp, "x-mbx-used-weight-1m");
    ASSERT(w != NULL);
    ASSERT(w[0] >= '0' && w[0] <= '9');
    /* Names are kept lower-cased and looked up without case. */
    ASSERT(http_response_header(&c.resp, "X-MBX-USED-WEIGHT-1M") == w);
    ASSERT(c.resp.body_len > 0);
    c.body[c.resp.body_len < c.cap ? c.resp.body_len : c.cap - 1] = '\0';
    ASSERT_CONTAINS((const char *)c.body, "\"lastUpdateId\"");
    ASSERT_CONTAINS((const char *)c.body, "\"bids\"");
    ASSERT(http_response_header(&c.resp, "x-no-such-header") == NULL);

    wsc_close(&ws);
    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_refused_connection_reports_error)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    struct ctx c;
    char url[256];
    int fd;

    /* A port that was free a moment ago and has no listener now. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);

    ctx_init(&c, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=1", ntohs(a.sin_port));
    ASSERT_EQ(get(&c, url, NULL, 10000, 0), 0);
    ASSERT_EQ(c.err, -ECONNREFUSED);
    ASSERT(!c.got_resp);
    ASSERT_CONTAINS(c.errmsg, "127.0.0.1");

    /* Bad URLs never start, and done is not called. */
    ASSERT_EQ(get(&c, "ftp://127.0.0.1/x", NULL, 1000, 0), -EINVAL);
    ASSERT_EQ(get(&c, "ws://127.0.0.1/x", NULL, 1000, 0), -EINVAL);
    ASSERT_EQ(get(&c, "http://127.0.0.1:0/x", NULL, 1000, 0), -EINVAL);
    ASSERT_EQ(c.ncalls, 0);
    ctx_fini(&c);
    return 0;
}

/* The reuse test's chain: each done checks its body and starts the next request from inside
 * done, until `left` runs out. */
struct chain {
    struct fv_proc *fv;  /* the venue */
    struct test_rng rng; /* picks sizes, framings, statuses */
    int left;            /* requests still to start from done */
    int done_ok;         /* responses that matched what was asked */
    size_t want_len;     /* body size of the request in flight */
    int want_status;     /* its status */
};

/* Starts one random request of the chain. */
static int chain_start(struct ctx *c)
{
    struct chain *ch = c->arg;
    static const int st[] = {200, 200, 200, 404, 429};
    struct http_get_params p = {.timeout_ms = 30000};
    char url[256];

    ch->want_len = test_rng_below(&ch->rng, 70000);
    ch->want_status = st[test_rng_below(&ch->rng, 5)];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=%zu&chunked=%d&status=%d",
             ch->fv->port, ch->want_len, (int)test_rng_below(&ch->rng, 2), ch->want_status);
    p.url = url;
    return http_get_start(&c->g, &p, on_done);
}

/* Counts a response that matched the request, then starts the next one from inside done. */
static void chain_after_done(struct ctx *c)
{
    struct chain *ch = c->arg;

    if (c->err == 0 && c->resp.status == ch->want_status && c->resp.body_len == ch->want_len &&
        pattern_mismatch(c->body, c->resp.body_len) == -1)
        ch->done_ok++;
    else
        fprintf(stderr, "  request %d: err %d (%s) status %d len %zu, wanted %d len %zu\n",
                c->ncalls, c->err, c->errmsg, c->resp.status, c->resp.body_len, ch->want_status,
                ch->want_len);
    if (ch->left > 0) {
        ch->left--;
        /* Restarting from inside done must work: the connection is already closed. */
        ASSERT_EQ(chain_start(c), 0);
    }
}

TEST(http_get_reuses_struct_for_many_requests_without_leaking)
{
    struct fv_proc fv;
    struct chain ch = {.fv = &fv};
    struct ctx c;
    char list_before[2048], list_after[2048];
    int fds_before, fds_after;

    venue_start(&fv, plain_args);
    test_rng_init(&ch.rng, test_seed());
    ctx_init(&c, 0);
    c.arg = &ch;
    c.after_done = chain_after_done;
    /* One request first: libuv keeps one spare fd per loop (for accept() at EMFILE), opened
     * with the loop's first stream and held until uv_loop_close(). */
    ASSERT_EQ(chain_start(&c), 0);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    ASSERT_EQ(c.ncalls, 1);
    fds_before = count_fds(list_before, sizeof(list_before));

    /* 50 started from inside done, one after the other... */
    c.ncalls = 0;
    ch.left = 49;
    ASSERT_EQ(chain_start(&c), 0);
    ASSERT_EQ(c.ncalls, 0);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    ASSERT_EQ(c.ncalls, 50);
    /* ...and 50 started from outside, each after the loop ran dry. */
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(chain_start(&c), 0);
        uv_run(&c.loop, UV_RUN_DEFAULT);
    }
    ASSERT_EQ(c.ncalls, 100);
    ASSERT_EQ(ch.done_ok, 101);

    fds_after = count_fds(list_after, sizeof(list_after));
    if (fds_after != fds_before)
        test_fail(__FILE__, __LINE__, "%d fds before:%s\n  %d after:%s", fds_before, list_before,
                  fds_after, list_after);
    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

TEST(http_get_over_ipv6_loopback)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    const char *const args[] = {"--listen", "::1", NULL};
    struct fv_proc fv;
    struct ctx c;
    char url[256];
    int fd;

    fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        test_skip("::1 is not available");
    }
    close(fd);

    venue_start(&fv, args);
    ctx_init(&c, 0);
    snprintf(url, sizeof(url), "http://[::1]:%u/test/body?size=5000&chunked=1", fv.port);
    ASSERT_EQ(get(&c, url, NULL, 30000, 0), 0);
    if (c.err)
        test_fail(__FILE__, __LINE__, "%s: %d %s", url, c.err, c.errmsg);
    ASSERT_EQ(c.resp.status, 200);
    ASSERT_EQ_U(c.resp.body_len, 5000);
    ASSERT_EQ(pattern_mismatch(c.body, c.resp.body_len), -1);

    /* The venue listens on ::1 only: the IPv4 loopback is refused. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/body?size=10", fv.port);
    ASSERT_EQ(get(&c, url, NULL, 10000, 0), 0);
    ASSERT_EQ(c.err, -ECONNREFUSED);
    ctx_fini(&c);
    fv_stop(&fv);
    return 0;
}

/* ---- tests against scripted bytes ---- */

TEST(http_get_sends_request_line_and_headers)
{
    /* Bytes after the declared body are not read as a second response. */
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
                               "HTTP/1.1 500 No\r\nX-Second: 1\r\nContent-Length: 3\r\n\r\nxyz";
    struct script s;
    struct ctx c;
    char want[128];

    ctx_init(&c, 0);
    script_get(&c, &s, resp, 0, "/api/v3/depth?symbol=BTCUSDT&limit=5");
    ASSERT(s.accepted);
    ASSERT_EQ(c.err, 0);
    ASSERT_EQ(c.resp.status, 200);
    ASSERT_EQ(c.resp.nheaders, 1);
    ASSERT_EQ_U(c.resp.body_len, 2);
    ASSERT(memcmp(c.body, "{}", 2) == 0);
    ASSERT(strncmp(s.req, "GET /api/v3/depth?symbol=BTCUSDT&limit=5 HTTP/1.1\r\n", 51) == 0);
    snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%u\r\n", s.port);
    ASSERT_CONTAINS(s.req, want);
    ASSERT_CONTAINS(s.req, "\r\nUser-Agent: mdfeed/0.1\r\n");
    ASSERT_CONTAINS(s.req, "\r\nAccept: application/json\r\n");
    ASSERT_CONTAINS(s.req, "\r\nConnection: close\r\n");
    /* The head ends the request: nothing follows the blank line. */
    ASSERT_EQ_U(strstr(s.req, "\r\n\r\n") + 4 - s.req, s.req_len);
    ctx_fini(&c);
    return 0;
}

TEST(http_get_assembles_headers_split_across_reads)
{
    static const size_t chunks[] = {1, 7, 0};
    char resp[8192], longname[80], longval[300];
    struct script s;
    struct ctx c;
    size_t n;

    /* 3 + 40 headers: names in mixed case, a name past 63 characters, a value past 255, an
     * empty value; only the first 32 are kept. The body runs until the server closes. */
    memset(longname, 'N', 70);
    longname[70] = '\0';
    for (int i = 0; i < 299; i++)
        longval[i] = (char)('A' + i % 26);
    longval[299] = '\0';
    n = (size_t)snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nX-MBX-Used-Weight-1m: 42\r\nX-%s: v\r\n"
                         "X-Long: %s\r\nX-Empty:\r\n",
                         longname, longval);
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(resp + n, sizeof(resp) - n, "X-Fill-%02d: value %d\r\n", i, i);
    n += (size_t)snprintf(resp + n, sizeof(resp) - n, "\r\n{\"bids\":[],\"asks\":[]}");
    ASSERT(n < sizeof(resp));

    ctx_init(&c, 0);
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        script_get(&c, &s, resp, chunks[k], "/");
        if (c.err)
            test_fail(__FILE__, __LINE__, "chunk %zu: %d %s", chunks[k], c.err, c.errmsg);
        ASSERT_EQ(c.resp.status, 200);
        ASSERT_EQ(c.resp.nheaders, HTTP_MAX_HEADERS);
        ASSERT_STR_EQ(c.resp.headers[0].name, "x-mbx-used-weight-1m");
        ASSERT_STR_EQ(c.resp.headers[0].value, "42");
        /* The long name is cut to 63 characters, lower-cased. */
        ASSERT_EQ_U(strlen(c.resp.headers[1].name), 63);
        ASSERT(strncmp(c.resp.headers[1].name, "x-nnnnnnnn", 10) == 0);
        ASSERT_STR_EQ(c.resp.headers[1].value, "v");
        /* The long value is cut to 255 characters. */
        ASSERT_EQ_U(strlen(http_response_header(&c.resp, "x-long")), 255);
        ASSERT(strncmp(http_response_header(&c.resp, "x-long"), longval, 255) == 0);
        ASSERT_STR_EQ(http_response_header(&c.resp, "x-empty"), "");
        ASSERT_STR_EQ(http_response_header(&c.resp, "x-fill-00"), "value 0");
        ASSERT_STR_EQ(http_response_header(&c.resp, "x-fill-27"), "value 27");
        ASSERT(http_response_header(&c.resp, "x-fill-28") == NULL);
        ASSERT_EQ_U(c.resp.body_len, strlen("{\"bids\":[],\"asks\":[]}"));
        ASSERT(memcmp(c.body, "{\"bids\":[],\"asks\":[]}", c.resp.body_len) == 0);
    }
    ctx_fini(&c);
    return 0;
}

TEST(http_get_reports_malformed_and_cut_responses)
{
    static const struct {
        const char *resp; /* what the server sends before closing */
        int err;          /* expected outcome */
        const char *msg;  /* in the message */
    } cases[] = {
        {"HTTP/1.1 2x0 OK\r\n\r\n", ERR_HTTP, "HPE_INVALID_STATUS"},
        {"SSH-2.0-OpenSSH_9.2\r\n", ERR_HTTP, "HPE_"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ERR_HTTP,
         "HPE_INVALID_CHUNK_SIZE"},
        /* Cut short: fewer bytes than declared, or a chunked body without its last chunk. */
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", ERR_HTTP, "HPE_INVALID_EOF_STATE"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", ERR_HTTP,
         "HPE_INVALID_EOF_STATE"},
        {"HTTP/1.1 200 OK\r\nContent-", ERR_HTTP, "HPE_INVALID_EOF_STATE"},
        /* Closed without a byte: the transport's own error passes through. */
        {"", -EPIPE, "closed by the peer"},
    };
    struct script s;
    struct ctx c;

    ctx_init(&c, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 0; chunk <= 1; chunk++) {
            script_get(&c, &s, cases[i].resp, chunk, "/");
            if (c.err != cases[i].err || !strstr(c.errmsg, cases[i].msg))
                test_fail(__FILE__, __LINE__, "case %zu chunk %zu: got %d \"%s\", want %d \"%s\"",
                          i, chunk, c.err, c.errmsg, cases[i].err, cases[i].msg);
            ASSERT(!c.got_resp);
        }
    }
    ctx_fini(&c);
    return 0;
}

/* Stops the client from a timer while its request waits on a silent server. */
static void stop_from_timer(uv_timer_t *t)
{
    struct ctx *c = t->data;

    http_get_stop(&c->g, on_stopped);
    uv_close((uv_handle_t *)t, NULL);
}

/* Stops from inside done; a start right after must be refused. */
static void stop_inside_done(struct ctx *c)
{
    struct http_get_params p = {.url = "http://127.0.0.1:1/"};

    http_get_stop(&c->g, on_stopped);
    ASSERT_EQ(c->stopped, 0);
    ASSERT_EQ(http_get_start(&c->g, &p, on_done), -EBUSY);
}

TEST(http_get_stop_cancels_request_in_flight)
{
    static const char resp204[] = "HTTP/1.1 204 No Content\r\n\r\n";
    struct http_get_params p = {.timeout_ms = 20000};
    struct script s;
    struct ctx c;
    uv_timer_t t;
    char url[256];

    ctx_init(&c, 0);
    script_start(&s, NULL, 0, 0, true);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    p.url = url;
    ASSERT_EQ(http_get_start(&c.g, &p, on_done), 0);
    /* One request at a time. */
    ASSERT_EQ(http_get_start(&c.g, &p, on_done), -EBUSY);
    uv_timer_init(&c.loop, &t);
    t.data = &c;
    uv_timer_start(&t, stop_from_timer, 200, 0);
    uv_run(&c.loop, UV_RUN_DEFAULT);

    /* done ran once with -ECANCELED, before the stop callback. */
    ASSERT_EQ(c.ncalls, 1);
    ASSERT_EQ(c.err, -ECANCELED);
    ASSERT(!c.got_resp);
    ASSERT_EQ(c.stopped, 1);
    ASSERT_EQ(c.done_before_stop, 1);
    /* The server saw the request, then the client hang up. */
    script_join(&s);
    ASSERT(s.accepted);
    ASSERT(strncmp(s.req, "GET / HTTP/1.1\r\n", 16) == 0);

    /* After the stop callback the struct works again; now stop from inside done: the stop
     * callback follows done, and no new request can start once stopping. */
    c.ncalls = c.stopped = c.done_before_stop = 0;
    c.after_done = stop_inside_done;
    script_start(&s, resp204, strlen(resp204), 0, false);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    ASSERT_EQ(http_get_start(&c.g, &p, on_done), 0);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    script_join(&s);
    ASSERT_EQ(c.ncalls, 1);
    ASSERT_EQ(c.err, 0);
    ASSERT_EQ(c.resp.status, 204);
    ASSERT_EQ(c.stopped, 1);
    ASSERT_EQ(c.done_before_stop, 1);

    http_get_fini(&c.g);
    ASSERT_EQ(uv_loop_close(&c.loop), 0);
    free(c.body);
    return 0;
}
