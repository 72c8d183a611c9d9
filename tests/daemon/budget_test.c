/*
 * Budgets per venue host (src/daemon/budget.c) without a daemon: host keys, holders sharing a
 * host and its strictest limits, the attempt window over every holder, moving to another host,
 * and a host freed with its last holder.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "daemon/budget.h"
#include "test.h"

TEST(budget_keys_name_scheme_host_and_port_once_per_host)
{
    char k[BUDGET_KEY_MAX];

    ASSERT_EQ(budget_key("wss://Stream.Binance.com:9443", k, sizeof(k)), 0);
    ASSERT_STR_EQ(k, "wss://stream.binance.com:9443");
    ASSERT_EQ(budget_key("https://api.binance.com", k, sizeof(k)), 0);
    ASSERT_STR_EQ(k, "https://api.binance.com:443");
    ASSERT_EQ(budget_key("http://127.0.0.1:8080/api", k, sizeof(k)), 0);
    ASSERT_STR_EQ(k, "http://127.0.0.1:8080");
    ASSERT_EQ(budget_key("ws://[::1]:9000", k, sizeof(k)), 0);
    ASSERT_STR_EQ(k, "ws://[::1]:9000");
    ASSERT_EQ(budget_key("ftp://x", k, sizeof(k)), -EINVAL);
    ASSERT_EQ(budget_key("wss://stream.binance.com:9443", k, 10), -ENOSPC);
    return 0;
}

TEST(budget_entries_on_one_host_share_the_strictest_limits_and_one_window)
{
    struct budgets bs;
    struct budget_ref a = {.attempts = 4, .window_s = 60, .weight = 3000};
    struct budget_ref b = {.attempts = 6, .window_s = 120, .weight = 1200};
    struct budget_ref c = {.attempts = 4, .window_s = 60};
    uint32_t go = 0, held = 0;

    budgets_init(&bs);
    ASSERT_EQ(budget_hold(&bs, &a, "ws://127.0.0.1:9000"), 0);
    ASSERT_EQ(budget_hold(&bs, &b, "ws://127.0.0.1:9000/stream"), 0);
    ASSERT_EQ(budget_hold(&bs, &c, "ws://127.0.0.2:9000"), 0);
    ASSERT(a.h == b.h);
    ASSERT(c.h != a.h);
    ASSERT_EQ(a.h->n_refs, 2);
    /* The smallest count over the longest window, the smallest weight. */
    ASSERT_EQ(a.h->attempt_cap, 4);
    ASSERT_EQ(a.h->window_ms, 120000);
    ASSERT_EQ(a.h->rest.limit, 1200);

    /* Four attempts between the two holders, then both wait; the other host is untouched. */
    for (int i = 0; i < 6; i++) {
        uint32_t w = budget_admit(i % 2 ? &b : &a);

        go += w == 0;
        held += w > 0;
        if (w)
            ASSERT_GT(w, 119000);
    }
    ASSERT_EQ(go, 4);
    ASSERT_EQ(held, 2);
    ASSERT_EQ(budget_admit(&c), 0);

    /* The stricter holder leaves: the other's figures apply, the attempts already made stay
     * counted in the window. */
    budget_release(&bs, &b);
    ASSERT(b.h == NULL);
    ASSERT_EQ(a.h->n_refs, 1);
    ASSERT_EQ(a.h->rest.limit, 3000);
    ASSERT_EQ(a.h->window_ms, 60000);
    ASSERT_GT(budget_admit(&a), 0);

    /* A changed figure reaches the host. */
    a.attempts = 10;
    budget_update(&a);
    ASSERT_EQ(a.h->attempt_cap, 10);
    ASSERT_EQ(a.h->attempt_n, 4);
    ASSERT_EQ(budget_admit(&a), 0);

    budget_release(&bs, &a);
    budget_release(&bs, &c);
    ASSERT(bs.hosts == NULL); /* the last holder freed each host */
    budgets_fini(&bs);
    return 0;
}

TEST(budget_move_takes_entry_and_rest_queue_to_the_new_host)
{
    struct budgets bs;
    struct budget_ref a = {.weight = 300}, b = {.weight = 600};
    struct restq q;
    struct restq_params p = {.name = "t", .max_inflight = 1, .timeout_ms = 1000, .max_body = 1024};
    uv_loop_t loop;
    struct budget_host *first;

    ASSERT_EQ(uv_loop_init(&loop), 0);
    budgets_init(&bs);
    ASSERT_EQ(budget_hold(&bs, &a, "http://127.0.0.1:1"), 0);
    ASSERT_EQ(budget_hold(&bs, &b, "http://127.0.0.1:2"), 0);
    first = a.h;
    p.budget = &a.h->rest;
    ASSERT_EQ(restq_init(&q, &loop, &p), 0);
    ASSERT_EQ(q.stats.budget, 300);

    /* The same host: only the figures. */
    a.weight = 200;
    ASSERT_EQ(budget_move(&bs, &a, "http://127.0.0.1:1/x", &q), 0);
    ASSERT(a.h == first);
    ASSERT_EQ(q.stats.budget, 200);

    /* Another host: the entry joins b there (the stricter limit is the entry's), the queue
     * with it, and the old host goes with its last holder. */
    ASSERT_EQ(budget_move(&bs, &a, "http://127.0.0.1:2", &q), 0);
    ASSERT(a.h == b.h);
    ASSERT_EQ(a.h->n_refs, 2);
    ASSERT(q.b == &a.h->rest);
    ASSERT_EQ(q.stats.budget, 200);
    ASSERT(bs.hosts == a.h && a.h->next == NULL);
    /* A URL that does not parse leaves everything where it was. */
    ASSERT_EQ(budget_move(&bs, &a, "nope", &q), -EINVAL);
    ASSERT(a.h == b.h);

    restq_stop(&q, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    restq_fini(&q);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    budget_release(&bs, &a);
    ASSERT_EQ(b.h->n_refs, 1);
    ASSERT_EQ(b.h->rest.limit, 600);
    budget_release(&bs, &b);
    ASSERT(bs.hosts == NULL);
    budgets_fini(&bs);
    return 0;
}
