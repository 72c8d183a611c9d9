/*
 * Budgets per venue host (see budget.h).
 *
 * Limits change only on the control path (a feed created, reloaded or freed): the attempt ring
 * is reallocated then, keeping the newest attempts, so a changed limit never forgets what was
 * already spent in the window. Admitting an attempt allocates nothing.
 */
#include "daemon/budget.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/url.h"

void budgets_init(struct budgets *bs)
{
    bs->hosts = NULL;
}

/* Frees h (its holders gone). */
static void host_free(struct budget_host *h)
{
    free(h->attempt_ms);
    free(h);
}

void budgets_fini(struct budgets *bs)
{
    struct budget_host *h, *next;

    for (h = bs->hosts; h; h = next) {
        next = h->next;
        for (struct budget_ref *r = h->refs; r; r = r->next)
            r->h = NULL;
        host_free(h);
    }
    bs->hosts = NULL;
}

int budget_key(const char *url, char *key, size_t cap)
{
    struct url u;
    const char *scheme;
    char host[sizeof(u.host)];
    int rc, n;

    rc = url_parse(&u, url);
    if (rc < 0)
        return rc;
    scheme = u.websocket ? (u.tls ? "wss" : "ws") : (u.tls ? "https" : "http");
    for (size_t i = 0; i < sizeof(host); i++) {
        host[i] = (char)tolower((unsigned char)u.host[i]);
        if (!host[i])
            break;
    }
    n = snprintf(key, cap, strchr(host, ':') ? "%s://[%s]:%u" : "%s://%s:%u", scheme, host,
                 (unsigned)u.port);
    if (n < 0 || (size_t)n >= cap)
        return err_set(-ENOSPC, "host of %.200s: key too long", url);
    return 0;
}

/* Reallocates h's attempt ring for cap attempts, keeping the newest ones in order. Returns 0 or
 * -ENOMEM (the old ring and limit stay). */
static int resize_ring(struct budget_host *h, uint32_t cap)
{
    int64_t *ring = malloc(cap * sizeof(*ring));
    uint32_t keep = h->attempt_n < cap ? h->attempt_n : cap;

    if (!ring)
        return err_set(-ENOMEM, "out of memory for the attempt budget of %s", h->key);
    for (uint32_t i = 0; i < keep; i++)
        ring[i] = h->attempt_ms[(h->attempt_head + h->attempt_n - keep + i) % h->attempt_cap];
    free(h->attempt_ms);
    h->attempt_ms = ring;
    h->attempt_cap = cap;
    h->attempt_n = keep;
    h->attempt_head = 0;
    return 0;
}

/* Works out h's limits from its holders: the smallest attempt count with the longest window,
 * the smallest weight. A limit no holder has a say in stays as it is. Returns 0 or -ENOMEM. */
static int recompute(struct budget_host *h)
{
    uint32_t cap = 0, weight = 0;
    double window = 0;
    int rc = 0;

    for (const struct budget_ref *r = h->refs; r; r = r->next) {
        if (r->attempts && (!cap || r->attempts < cap))
            cap = r->attempts;
        if (r->attempts && r->window_s > window)
            window = r->window_s;
        if (r->weight && (!weight || r->weight < weight))
            weight = r->weight;
    }
    if (cap && cap != h->attempt_cap)
        rc = resize_ring(h, cap);
    if (cap)
        h->window_ms = (int64_t)(window * 1000);
    if (weight && weight != h->rest.limit)
        restq_budget_set_limit(&h->rest, weight);
    return rc;
}

/* Takes r off its host's list of holders. */
static void unlink_ref(struct budget_ref *r)
{
    struct budget_host *h = r->h;

    for (struct budget_ref **pp = &h->refs; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            h->n_refs--;
            break;
        }
    r->next = NULL;
    r->h = NULL;
}

/* Frees h if it has no holder left. */
static void drop_if_unused(struct budgets *bs, struct budget_host *h)
{
    if (h->n_refs)
        return;
    for (struct budget_host **pp = &bs->hosts; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    host_free(h);
}

int budget_hold(struct budgets *bs, struct budget_ref *r, const char *url)
{
    char key[BUDGET_KEY_MAX];
    struct budget_host *h;
    int rc;

    rc = budget_key(url, key, sizeof(key));
    if (rc < 0)
        return rc;
    for (h = bs->hosts; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            break;
    if (!h) {
        h = calloc(1, sizeof(*h));
        if (!h)
            return err_set(-ENOMEM, "out of memory for the budget of %s", key);
        snprintf(h->key, sizeof(h->key), "%s", key);
        restq_budget_init(&h->rest, 0);
        h->next = bs->hosts;
        bs->hosts = h;
    }
    r->h = h;
    r->next = h->refs;
    h->refs = r;
    h->n_refs++;
    rc = recompute(h);
    if (rc < 0) {
        unlink_ref(r);
        drop_if_unused(bs, h);
    }
    return rc;
}

void budget_release(struct budgets *bs, struct budget_ref *r)
{
    struct budget_host *h = r->h;

    if (!h)
        return;
    unlink_ref(r);
    if (h->n_refs)
        (void)recompute(h); /* out of memory: the stricter old limit stays, which is safe */
    else
        drop_if_unused(bs, h);
}

void budget_update(struct budget_ref *r)
{
    if (r->h)
        (void)recompute(r->h); /* out of memory: the old limit stays */
}

int budget_move(struct budgets *bs, struct budget_ref *r, const char *url, struct restq *q)
{
    char key[BUDGET_KEY_MAX];
    struct budget_host *old = r->h;
    struct budget_ref stand_in = {
        .attempts = r->attempts, .window_s = r->window_s, .weight = r->weight};
    int rc;

    if (!old)
        return budget_hold(bs, r, url);
    rc = budget_key(url, key, sizeof(key));
    if (rc < 0)
        return rc;
    if (strcmp(key, old->key) == 0) {
        budget_update(r);
        return 0;
    }
    /* A stand-in with r's figures holds the new host (everything that can fail happens here),
     * then r takes its place in the list: the new host's limits are already r's. */
    rc = budget_hold(bs, &stand_in, url);
    if (rc < 0)
        return rc;
    unlink_ref(r);
    for (struct budget_ref **pp = &stand_in.h->refs; *pp; pp = &(*pp)->next)
        if (*pp == &stand_in) {
            *pp = r;
            r->next = stand_in.next;
            r->h = stand_in.h;
            break;
        }
    if (q)
        restq_set_budget(q, &r->h->rest);
    if (old->n_refs)
        (void)recompute(old); /* out of memory: the stricter old limit stays */
    else
        drop_if_unused(bs, old);
    return 0;
}

uint32_t budget_admit(struct budget_ref *r)
{
    struct budget_host *h = r->h;
    int64_t now = clock_mono_ns() / 1000000, oldest;

    if (!h || !h->attempt_cap)
        return 0;
    /* A record of the last attempt_cap attempts: one more may go once the oldest of them is a
     * window old. */
    if (h->attempt_n < h->attempt_cap) {
        h->attempt_ms[(h->attempt_head + h->attempt_n++) % h->attempt_cap] = now;
        h->admitted++;
        return 0;
    }
    oldest = h->attempt_ms[h->attempt_head];
    if (now - oldest >= h->window_ms) {
        h->attempt_ms[h->attempt_head] = now;
        h->attempt_head = (h->attempt_head + 1) % h->attempt_cap;
        h->admitted++;
        return 0;
    }
    h->held++;
    return (uint32_t)(oldest + h->window_ms - now) + 1;
}
