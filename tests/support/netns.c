/*
 * Private network namespace and a test name server (see netns.h). The server keeps the queries
 * it owes an answer in a small table and sends each when due, so a late answer to one query
 * does not hold up reading the next.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/netns.h"
#include "test.h"

void netns_private(void)
{
    static const char conf[] = "nameserver 127.0.0.1\noptions timeout:30 attempts:5\n";
    char path[] = "/tmp/mdfeed-test-resolv.XXXXXX";
    char why[160];
    struct ifreq ifr;
    int fd, s;

    if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0 &&
        (errno != EPERM || unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) < 0)) {
        snprintf(why, sizeof(why), "cannot make a private network namespace: %s", strerror(errno));
        test_skip(why);
    }
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT(s >= 0);
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ASSERT_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
    /* Our mounts stay ours: nothing propagates back to the machine's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(why, sizeof(why), "cannot make the mounts private: %s", strerror(errno));
        test_skip(why);
    }
    fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, conf, sizeof(conf) - 1), (ssize_t)(sizeof(conf) - 1));
    close(fd);
    if (mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) {
        snprintf(why, sizeof(why), "cannot bind-mount a resolv.conf: %s", strerror(errno));
        unlink(path);
        test_skip(why);
    }
    unlink(path); /* the mount keeps it */
}

/* A query owed an answer. */
struct owed {
    uint8_t q[512];          /* the query */
    size_t len;              /* its length */
    struct sockaddr_in from; /* who asked */
    int64_t due_ns;          /* when to answer */
};

/* Writes the answer to query q (len bytes) into a; returns its length, 0 if q is malformed. An
 * A question gets 127.0.0.1; any other gets no record (NOERROR, no data). */
static size_t make_answer(const uint8_t *q, size_t len, uint8_t *a, size_t cap)
{
    static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
    size_t at = 12, n;
    bool is_a;

    while (at < len && q[at])
        at += (size_t)q[at] + 1;
    if (at + 5 > len || len > cap - sizeof(rr))
        return 0;
    is_a = q[at + 1] == 0 && q[at + 2] == 1;
    n = at + 5; /* header, question (name, type, class) */
    memcpy(a, q, n);
    a[2] = 0x81;                   /* response, recursion desired */
    a[3] = 0x80;                   /* recursion available, NOERROR */
    a[4] = 0, a[5] = 1;            /* one question */
    a[6] = 0, a[7] = is_a ? 1 : 0; /* answers */
    memset(a + 8, 0, 4);           /* no authority, no additional */
    if (is_a) {
        memcpy(a + n, rr, sizeof(rr));
        n += sizeof(rr);
    }
    return n;
}

static void *dns_main(void *arg)
{
    struct fake_dns *d = arg;
    static struct owed owed[64];
    size_t n_owed = 0;

    while (!atomic_load_explicit(&d->stop, memory_order_relaxed)) {
        struct pollfd p = {.fd = d->fd, .events = POLLIN};
        int64_t now = test_now_ns();
        int wait = 100, after;
        struct owed o;
        socklen_t sl = sizeof(o.from);
        ssize_t n;

        /* Answer what is due. */
        for (size_t i = 0; i < n_owed;) {
            uint8_t a[600];
            size_t alen;

            if (owed[i].due_ns > now) {
                int ms = (int)((owed[i].due_ns - now) / 1000000) + 1;

                wait = ms < wait ? ms : wait;
                i++;
                continue;
            }
            alen = make_answer(owed[i].q, owed[i].len, a, sizeof(a));
            if (alen && sendto(d->fd, a, alen, 0, (struct sockaddr *)&owed[i].from,
                               sizeof(owed[i].from)) == (ssize_t)alen)
                atomic_fetch_add_explicit(&d->answered, 1, memory_order_relaxed);
            owed[i] = owed[--n_owed];
        }
        if (poll(&p, 1, wait) <= 0)
            continue;
        n = recvfrom(d->fd, o.q, sizeof(o.q), 0, (struct sockaddr *)&o.from, &sl);
        if (n <= 12)
            continue;
        o.len = (size_t)n;
        if (!atomic_load_explicit(&d->named, memory_order_relaxed)) {
            /* The question's name: labels after the 12-byte header. */
            size_t at = 12, k = 0;

            while (at < o.len && o.q[at] && k + o.q[at] + 1 < sizeof(d->first_name)) {
                size_t len = o.q[at++];

                if (at + len > o.len)
                    break;
                if (k)
                    d->first_name[k++] = '.';
                memcpy(d->first_name + k, o.q + at, len);
                k += len;
                at += len;
            }
            d->first_name[k] = '\0';
            /* Pairs with the acquire load in the test before it reads first_name. */
            atomic_store_explicit(&d->named, true, memory_order_release);
        }
        atomic_fetch_add_explicit(&d->queries, 1, memory_order_relaxed);
        after = atomic_load_explicit(&d->answer_after_ms, memory_order_relaxed);
        if (after >= 0 && n_owed < sizeof(owed) / sizeof(owed[0])) {
            o.due_ns = test_now_ns() + (int64_t)after * 1000000;
            owed[n_owed++] = o;
        }
    }
    return NULL;
}

void dns_start(struct fake_dns *d, int answer_after_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};

    memset(d, 0, sizeof(*d));
    atomic_store_explicit(&d->answer_after_ms, answer_after_ms, memory_order_relaxed);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT(d->fd >= 0);
    ASSERT_EQ(bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ASSERT_EQ(pthread_create(&d->thread, NULL, dns_main, d), 0);
}

void dns_stop(struct fake_dns *d)
{
    atomic_store_explicit(&d->stop, true, memory_order_relaxed);
    pthread_join(d->thread, NULL);
    close(d->fd);
}

unsigned dns_queries(struct fake_dns *d)
{
    return atomic_load_explicit(&d->queries, memory_order_relaxed); /* a count: no pairing */
}

unsigned dns_answered(struct fake_dns *d)
{
    return atomic_load_explicit(&d->answered, memory_order_relaxed); /* a count: no pairing */
}
