/*
 * Name lookups on threads of their own, one per host at a time, shared by every connection to
 * that host (see resolve.h). The main design choice: a waiter never waits for a thread. The
 * lookup (struct resolve_lookup) belongs to its thread, which frees it when getaddrinfo()
 * returns; waiters only link to it and unlink from it, under one process-wide mutex, and the
 * thread hands each linked waiter a copy of the answer and a uv_async_send() while it holds the
 * mutex, so a waiter that unlinked (and then closed its handle) is never touched again.
 *
 * No atomics: every field shared with a lookup thread is read and written under `lock`.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/resolve.h"

/* A host ever looked up: its figures outlive its lookups. Never freed (few, and reachable). */
struct resolve_host {
    struct resolve_host *next; /* next host */
    char name[256];            /* the name */
    struct resolve_lookup *lk; /* the lookup in flight, NULL when none */
    uint64_t stuck_total;      /* lookups that became stuck */
};

/* One getaddrinfo() call on its own thread. Owned by the thread; freed by it when it returns. */
struct resolve_lookup {
    struct resolve_host *host;    /* the host (borrowed; never freed) */
    char name[256];               /* copy of the name, for the thread */
    int64_t started_mono_ns;      /* when it started */
    bool stuck;                   /* counted as stuck */
    struct resolve_wait *waiters; /* linked waiters */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below and the
                                                            waiters' mutex-guarded fields */
static struct resolve_host *hosts;                       /* every host ever looked up */
static uint32_t n_lookups;                               /* lookup threads in flight */

static pthread_once_t timeout_once = PTHREAD_ONCE_INIT;
static uint32_t timeout_ms = RESOLVE_TIMEOUT_MS_DEFAULT; /* written once under timeout_once */

static void read_timeout(void)
{
    const char *e = getenv("MDFEED_TEST_DNS_TIMEOUT_MS"); /* test hook */
    char *end;
    unsigned long v;

    if (!e || !*e)
        return;
    v = strtoul(e, &end, 10);
    if (*end == '\0' && v > 0 && v <= 600000)
        timeout_ms = (uint32_t)v;
}

uint32_t resolve_timeout_ms(void)
{
    pthread_once(&timeout_once, read_timeout);
    return timeout_ms;
}

/* Marks lk stuck (counted once) if it has run for the timeout. Under lock. */
static bool judge(struct resolve_lookup *lk, int64_t now)
{
    if (!lk->stuck && now - lk->started_mono_ns >= (int64_t)resolve_timeout_ms() * 1000000) {
        lk->stuck = true;
        lk->host->stuck_total++;
    }
    return lk->stuck;
}

/* The host record of name, made on first use. Under lock. NULL when out of memory. */
static struct resolve_host *host_of(const char *name)
{
    struct resolve_host *h;

    for (h = hosts; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->next = hosts;
    hosts = h;
    return h;
}

/* Copies the stream addresses of res into w, with w's port. */
static void copy_answer(struct resolve_wait *w, const struct addrinfo *res)
{
    w->n_addr = 0;
    for (const struct addrinfo *ai = res; ai && w->n_addr < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
        struct sockaddr_storage *sa = &w->addr[w->n_addr];

        if (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) {
            memcpy(sa, ai->ai_addr, sizeof(struct sockaddr_in));
            ((struct sockaddr_in *)sa)->sin_port = htons(w->port);
        } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6)) {
            memcpy(sa, ai->ai_addr, sizeof(struct sockaddr_in6));
            ((struct sockaddr_in6 *)sa)->sin6_port = htons(w->port);
        } else {
            continue;
        }
        w->addr_len[w->n_addr++] = ai->ai_addrlen;
    }
}

/* Fills the answer of w (status and text) from a getaddrinfo() result. */
static void answer(struct resolve_wait *w, int gai, const struct addrinfo *res)
{
    w->answered = true;
    w->why[0] = '\0';
    if (gai == 0)
        copy_answer(w, res);
    if (gai != 0 || w->n_addr == 0) {
        snprintf(w->why, sizeof(w->why), "%s",
                 gai == 0            ? "no IPv4 or IPv6 address"
                 : gai == EAI_SYSTEM ? strerror(errno)
                                     : gai_strerror(gai));
        w->status = -EHOSTUNREACH;
    } else {
        w->status = 0;
    }
}

/* The lookup thread: asks, hands the answer to whoever still waits, and frees the lookup. */
static void *lookup_main(void *arg)
{
    struct resolve_lookup *lk = arg;
    struct addrinfo hints, *res = NULL;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    gai = getaddrinfo(lk->name, NULL, &hints, &res);
    pthread_mutex_lock(&lock);
    for (struct resolve_wait *w = lk->waiters, *next; w; w = next) {
        next = w->next;
        answer(w, gai, res);
        w->lk = NULL;
        w->next = NULL;
        /* Still under lock: the waiter cannot have closed its handle (resolve_close unlinks
         * under lock before closing). */
        uv_async_send(&w->async);
    }
    lk->host->lk = NULL;
    n_lookups--;
    pthread_mutex_unlock(&lock);
    if (res)
        freeaddrinfo(res);
    free(lk);
    return NULL;
}

/* The loop thread's side of the answer: takes it from under the lock and reports it. */
static void on_async(uv_async_t *a)
{
    struct resolve_wait *w = a->data;
    bool answered;

    pthread_mutex_lock(&lock);
    answered = w->answered;
    w->answered = false;
    pthread_mutex_unlock(&lock);
    if (!answered || !w->cb)
        return;
    if (w->status < 0)
        err_set(w->status, "cannot resolve %s: %s", w->host, w->why);
    w->cb(w, w->status);
}

/* Numeric addresses: answered here, no thread. Returns 1, 0 (not numeric) or negative. */
static int numeric(struct resolve_wait *w)
{
    struct addrinfo hints, *res = NULL;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    gai = getaddrinfo(w->host, NULL, &hints, &res);
    if (gai == EAI_NONAME)
        return 0;
    answer(w, gai, res);
    w->answered = false;
    if (res)
        freeaddrinfo(res);
    if (w->status < 0)
        return err_set(w->status, "cannot resolve %s: %s", w->host, w->why);
    return 1;
}

/* Starts lk's thread with every signal blocked (signals belong to the loop thread). */
static int start_thread(struct resolve_lookup *lk)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    int rc;

    if ((rc = pthread_attr_init(&attr)) != 0)
        return -rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &attr, lookup_main, lk);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -rc;
}

int resolve_start(struct resolve_wait *w, uv_loop_t *loop, const char *host, uint16_t port,
                  resolve_cb cb)
{
    struct resolve_host *h;
    struct resolve_lookup *lk;
    int64_t now = clock_mono_ns();
    int rc;

    w->cb = NULL;
    w->lk = NULL;
    w->next = NULL;
    w->answered = false;
    w->status = 0;
    w->n_addr = 0;
    w->port = port;
    w->started_mono_ns = now;
    if (strlen(host) >= sizeof(w->host))
        return err_set(-EINVAL, "host name too long");
    snprintf(w->host, sizeof(w->host), "%s", host);
    rc = numeric(w);
    if (rc != 0)
        return rc;
    if (!w->async_open) {
        rc = uv_async_init(loop, &w->async, on_async);
        if (rc < 0)
            return err_set(-ENOMEM, "resolving %s: %s", host, uv_strerror(rc));
        w->async.data = w;
        w->async_open = true;
    }
    pthread_mutex_lock(&lock);
    h = host_of(host);
    if (!h) {
        rc = err_set(-ENOMEM, "out of memory resolving %s", host);
        goto out_unlock;
    }
    lk = h->lk;
    if (lk && judge(lk, now)) {
        rc = err_set(-ETIMEDOUT,
                     "DNS lookup of %s has had no answer for %.1f s (stuck; no new lookup is "
                     "started until it returns)",
                     host, (double)(now - lk->started_mono_ns) / 1e9);
        goto out_unlock;
    }
    if (!lk) {
        if (n_lookups >= RESOLVE_MAX_LOOKUPS) {
            rc = err_set(-EAGAIN, "cannot resolve %s: %u DNS lookups already in flight", host,
                         n_lookups);
            goto out_unlock;
        }
        lk = calloc(1, sizeof(*lk));
        if (!lk) {
            rc = err_set(-ENOMEM, "out of memory resolving %s", host);
            goto out_unlock;
        }
        lk->host = h;
        snprintf(lk->name, sizeof(lk->name), "%s", host);
        lk->started_mono_ns = now;
        rc = start_thread(lk);
        if (rc < 0) {
            free(lk);
            rc = err_set(rc, "cannot start a DNS lookup of %s: %s", host, strerror(-rc));
            goto out_unlock;
        }
        h->lk = lk;
        n_lookups++;
    }
    w->cb = cb;
    w->lk = lk;
    w->next = lk->waiters;
    lk->waiters = w;
    w->started_mono_ns = lk->started_mono_ns;
    rc = 0;
out_unlock:
    pthread_mutex_unlock(&lock);
    return rc;
}

uint32_t resolve_remaining_ms(const struct resolve_wait *w)
{
    int64_t left = w->started_mono_ns + (int64_t)resolve_timeout_ms() * 1000000 - clock_mono_ns();

    return left <= 0 ? 0 : (uint32_t)((left + 999999) / 1000000);
}

/* Unlinks w from its lookup. Under lock. */
static void unlink_wait(struct resolve_wait *w)
{
    struct resolve_wait **p;

    if (!w->lk)
        return;
    for (p = &w->lk->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    w->lk = NULL;
    w->next = NULL;
}

int64_t resolve_gave_up(struct resolve_wait *w)
{
    int64_t now = clock_mono_ns();

    pthread_mutex_lock(&lock);
    if (w->lk)
        judge(w->lk, now);
    unlink_wait(w);
    w->answered = false;
    w->cb = NULL;
    pthread_mutex_unlock(&lock);
    return (now - w->started_mono_ns) / 1000000;
}

bool resolve_close(struct resolve_wait *w, uv_close_cb close_cb)
{
    pthread_mutex_lock(&lock);
    unlink_wait(w);
    w->answered = false;
    w->cb = NULL;
    pthread_mutex_unlock(&lock);
    if (!w->async_open)
        return false;
    w->async_open = false;
    uv_close((uv_handle_t *)&w->async, close_cb);
    return true;
}

void resolve_host_stats(const char *host, struct resolve_stats *out)
{
    int64_t now = clock_mono_ns();

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&lock);
    for (struct resolve_host *h = hosts; h; h = h->next) {
        if (strcmp(h->name, host) != 0)
            continue;
        if (h->lk && judge(h->lk, now)) {
            out->stuck = 1;
            out->stuck_ms = (now - h->lk->started_mono_ns) / 1000000;
        }
        out->stuck_total = h->stuck_total;
        break;
    }
    pthread_mutex_unlock(&lock);
}
