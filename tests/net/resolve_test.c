/*
 * Name lookups (src/net/resolve.c) as connections (src/net/conn.c) see them: numeric addresses
 * need no lookup; connections to one name share one lookup; a lookup that outlives the timeout
 * fails its connection attempt with the host and the wait named, makes later attempts fail at
 * once without asking again, never holds up closing, and is freed when its late answer comes
 * (LSan checks the last under SANITIZER=address). Name tests run in a private network namespace
 * whose only name server is the test's own (tests/support/netns.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "core/err.h"
#include "net/conn.h"
#include "net/resolve.h"
#include "support/netns.h"
#include "test.h"

/* One connection and what happened to it. */
struct probe {
    struct conn c;
    int ready;      /* on_ready calls */
    int errors;     /* on_error calls */
    int err;        /* the last error */
    char text[256]; /* its message */
    int closed;     /* on_closed calls */
};

static void on_ready(struct conn *c)
{
    ((struct probe *)c->ud)->ready++;
}

static void on_data(struct conn *c, const uint8_t *d, size_t n)
{
    (void)c, (void)d, (void)n;
}

static void on_error(struct conn *c, int err)
{
    struct probe *p = c->ud;

    p->errors++;
    p->err = err;
    snprintf(p->text, sizeof(p->text), "%s", mdf_errmsg());
}

static void on_closed(struct conn *c)
{
    ((struct probe *)c->ud)->closed++;
}

static const struct conn_callbacks cbs = {
    .on_ready = on_ready, .on_data = on_data, .on_error = on_error, .on_closed = on_closed};

/* A TCP listener on 127.0.0.1 (connections wait in its backlog). Returns the fd; *port set. */
static int listener(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ASSERT(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(listen(fd, 16), 0);
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void start(struct probe *p, uv_loop_t *loop, const char *host, uint16_t port)
{
    struct conn_params cp = {.host = host, .port = port, .connect_timeout_ms = 5000};

    memset(p, 0, sizeof(*p));
    uv_update_time(loop); /* the loop may have been idle: deadlines count from now */
    ASSERT_EQ(conn_init(&p->c, loop, &cbs, p), 0);
    ASSERT_EQ(conn_start(&p->c, &cp), 0);
}

/* Runs the loop until *count reaches want or timeout_ms passes; returns true if it did. */
static bool run_until(uv_loop_t *loop, const int *count, int want, int timeout_ms)
{
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;

    while (*count < want) {
        if (test_now_ns() > deadline)
            return false;
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(2000);
    }
    return true;
}

/* Closes p and waits for on_closed (fails the test after 1 s: closing never waits for DNS). */
static void close_probe(uv_loop_t *loop, struct probe *p)
{
    int64_t t0 = test_now_ns();

    conn_close(&p->c, false);
    if (!run_until(loop, &p->closed, 1, 1000))
        test_fail(__FILE__, __LINE__, "conn_close did not finish within 1 s (phase %d)",
                  p->c.phase);
    ASSERT_LT(test_now_ns() - t0, 1000 * INT64_C(1000000));
    conn_fini(&p->c);
}

TEST(resolve_numeric_addresses_answer_at_once_without_a_lookup)
{
    static const char *const hosts[] = {"127.0.0.1", "::1"};
    struct resolve_wait w;
    uv_loop_t loop;
    struct probe p;
    uint16_t port;
    int lfd = listener(&port);

    memset(&w, 0, sizeof(w));
    ASSERT_EQ(uv_loop_init(&loop), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(resolve_start(&w, &loop, hosts[i], 8443, NULL), 1);
        ASSERT(!w.async_open); /* no handle, no thread: nothing to wait for */
        ASSERT_EQ(w.n_addr, 1);
        ASSERT_EQ(w.addr[0].ss_family, i == 0 ? AF_INET : AF_INET6);
        ASSERT_EQ(ntohs(i == 0 ? ((struct sockaddr_in *)&w.addr[0])->sin_port
                               : ((struct sockaddr_in6 *)&w.addr[0])->sin6_port),
                  8443);
        ASSERT(!resolve_close(&w, NULL));
    }
    /* A connection to a numeric address connects without ever asking a name server. */
    start(&p, &loop, "127.0.0.1", port);
    ASSERT(run_until(&loop, &p.ready, 1, 2000));
    ASSERT_EQ(p.errors, 0);
    close_probe(&loop, &p);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    close(lfd);
    return 0;
}

TEST(resolve_connections_to_one_host_share_one_lookup)
{
    struct fake_dns dns;
    struct probe p[3];
    uv_loop_t loop;
    uint16_t port;
    int lfd, ready = 0;

    if (!test_is_root())
        test_skip("needs root for a private network namespace");
    netns_private();
    dns_start(&dns, 300); /* answers, late enough that the three overlap */
    lfd = listener(&port);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    for (int i = 0; i < 3; i++)
        start(&p[i], &loop, "shared.mdfeed.test", port);
    for (int i = 0; i < 3; i++) {
        ASSERT(run_until(&loop, &p[i].ready, 1, 5000));
        ready += p[i].ready;
        ASSERT_EQ(p[i].errors, 0);
    }
    ASSERT_EQ(ready, 3);
    /* One lookup: an A and an AAAA question at most (glibc may ask both), not three pairs. */
    ASSERT_LE(dns_queries(&dns), 2);
    for (int i = 0; i < 3; i++)
        close_probe(&loop, &p[i]);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    close(lfd);
    dns_stop(&dns);
    return 0;
}

TEST(resolve_stuck_lookup_fails_attempts_at_once_and_is_freed_when_it_returns)
{
    struct fake_dns dns;
    struct probe a, b, c;
    struct resolve_stats rs;
    uv_loop_t loop;
    uint16_t port;
    int64_t t0, deadline;
    unsigned asked;
    int lfd;

    if (!test_is_root())
        test_skip("needs root for a private network namespace");
    netns_private();
    ASSERT_EQ(setenv("MDFEED_TEST_DNS_TIMEOUT_MS", "400", 1), 0);
    ASSERT_EQ(resolve_timeout_ms(), 400);
    dns_start(&dns, 1500); /* answers, but only long after the lookup timeout */
    lfd = listener(&port);
    ASSERT_EQ(uv_loop_init(&loop), 0);

    /* The first attempt fails at the lookup timeout (not the 5 s connect timeout), naming the
     * host and the wait. */
    t0 = test_now_ns();
    start(&a, &loop, "late.mdfeed.test", port);
    ASSERT(run_until(&loop, &a.errors, 1, 3000));
    ASSERT_LT(test_now_ns() - t0, 1200 * INT64_C(1000000));
    ASSERT_EQ(a.err, -ETIMEDOUT);
    ASSERT_CONTAINS(a.text, "DNS lookup of late.mdfeed.test: no answer after");
    ASSERT_CONTAINS(a.text, "stuck");
    printf("  first attempt: %s\n", a.text);
    resolve_host_stats("late.mdfeed.test", &rs);
    ASSERT_EQ(rs.stuck, 1);
    ASSERT_EQ(rs.stuck_total, 1);
    ASSERT_GE(rs.stuck_ms, 400);
    /* Closing does not wait for the lookup still in flight. */
    close_probe(&loop, &a);

    /* A retry while it is stuck fails at once, from the loop, and asks nobody. */
    asked = dns_queries(&dns);
    t0 = test_now_ns();
    start(&b, &loop, "late.mdfeed.test", port);
    ASSERT_EQ(b.errors, 0); /* never from inside conn_start() */
    ASSERT(run_until(&loop, &b.errors, 1, 1000));
    ASSERT_LT(test_now_ns() - t0, 300 * INT64_C(1000000));
    ASSERT_EQ(b.err, -ETIMEDOUT);
    ASSERT_CONTAINS(b.text, "DNS lookup of late.mdfeed.test has had no answer for");
    printf("  retry: %s\n", b.text);
    close_probe(&loop, &b);
    ASSERT_EQ(dns_queries(&dns), asked);
    resolve_host_stats("late.mdfeed.test", &rs);
    ASSERT_EQ(rs.stuck_total, 1); /* one lookup, counted once */

    /* The late answer comes with nobody waiting: the lookup ends (its memory freed by its
     * thread) and the host is no longer stuck. */
    deadline = test_now_ns() + 5000 * INT64_C(1000000);
    do {
        usleep(20000);
        resolve_host_stats("late.mdfeed.test", &rs);
    } while (rs.stuck && test_now_ns() < deadline);
    ASSERT_EQ(rs.stuck, 0);
    ASSERT_GE(dns_answered(&dns), 1);

    /* Now a fresh lookup answers in time and the connection is made. */
    atomic_store_explicit(&dns.answer_after_ms, 0, memory_order_relaxed);
    start(&c, &loop, "late.mdfeed.test", port);
    if (!run_until(&loop, &c.ready, 1, 3000))
        test_fail(__FILE__, __LINE__, "no connection after the name server answers: %d errors (%s)",
                  c.errors, c.text);
    ASSERT_EQ(c.errors, 0);
    close_probe(&loop, &c);
    resolve_host_stats("late.mdfeed.test", &rs);
    ASSERT_EQ(rs.stuck_total, 1);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    close(lfd);
    dns_stop(&dns);
    return 0;
}
