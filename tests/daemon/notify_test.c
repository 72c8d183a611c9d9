/*
 * sd_notify without libsystemd (src/daemon/notify.c), checked against real AF_UNIX datagram
 * sockets standing in for systemd's notify socket: what arrives, from which pid (NotifyAccess=main
 * checks the sender's pid), with path and abstract addresses, the watchdog environment rules, and
 * that a full, closed or missing socket costs counted errors but never blocks or stops a sender.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "daemon/notify.h"
#include "test.h"

/* A stand-in for systemd's notify socket. */
struct receiver {
    int fd;        /* bound datagram socket with SO_PASSCRED */
    char env[128]; /* the NOTIFY_SOCKET value that names it */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* its file, "" for abstract */
};

/* Binds a receiver: at a path in a fresh directory, or in the abstract namespace. */
static void recv_open(struct receiver *r, bool abstract)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    int one = 1;

    memset(r, 0, sizeof(*r));
    r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT(r->fd >= 0);
    /* Like systemd: ask the kernel for each sender's credentials. */
    ASSERT_EQ(setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    if (abstract) {
        snprintf(r->env, sizeof(r->env), "@mdfeed-notify-test/%d/%llx", (int)getpid(),
                 (unsigned long long)test_now_ns());
        memcpy(sa.sun_path, r->env, strlen(r->env));
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->env));
    } else {
        char dir[] = "/tmp/mdfeed-notify.XXXXXX";

        ASSERT(mkdtemp(dir) != NULL);
        snprintf(r->path, sizeof(r->path), "%s/notify", dir);
        snprintf(r->env, sizeof(r->env), "%s", r->path);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
        len = sizeof(sa);
    }
    ASSERT_EQ(bind(r->fd, (struct sockaddr *)&sa, len), 0);
    ASSERT_EQ(setenv("NOTIFY_SOCKET", r->env, 1), 0);
}

/* Closes the receiver's socket (the path stays, like a manager that went away). */
static void recv_close(struct receiver *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* Closes the receiver and removes its file and directory. */
static void recv_remove(struct receiver *r)
{
    recv_close(r);
    if (r->path[0]) {
        unlink(r->path);
        *strrchr(r->path, '/') = '\0';
        rmdir(r->path);
    }
}

/* Receives one datagram into buf (NUL-terminated) within timeout_ms, with the sender's pid.
 * Returns its length, or -1 if none came. */
static ssize_t recv_one(struct receiver *r, char *buf, size_t cap, pid_t *pid, int timeout_ms)
{
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = cap - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
    struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
    ssize_t k;

    if (poll(&pfd, 1, timeout_ms) != 1)
        return -1;
    k = recvmsg(r->fd, &mh, MSG_DONTWAIT);
    if (k < 0)
        return -1;
    buf[k] = '\0';
    *pid = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred uc;

            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            *pid = uc.pid;
        }
    return k;
}

/* Sends, then checks the receiver got exactly msg from this process. */
static void expect_delivery(struct notifier *n, struct receiver *r, const char *msg)
{
    char buf[2048];
    pid_t pid;

    ASSERT_EQ(notify_send(n, msg), 0);
    ASSERT_EQ(recv_one(r, buf, sizeof(buf), &pid, 5000), (ssize_t)strlen(msg));
    ASSERT_STR_EQ(buf, msg);
    ASSERT_EQ(pid, getpid());
}

static void check_delivery(bool abstract)
{
    struct receiver r;
    struct notifier n;
    char buf[2048];
    pid_t pid;

    recv_open(&r, abstract);
    ASSERT_EQ(notify_open(&n), 0);
    ASSERT(notify_enabled(&n));
    expect_delivery(&n, &r, "READY=1\nSTATUS=running: 2 venues, 14 streams");
    expect_delivery(&n, &r, "WATCHDOG=1");
    ASSERT_EQ(notify_sendf(&n, "STATUS=%d venues, %s", 3, "resyncing"), 0);
    ASSERT(recv_one(&r, buf, sizeof(buf), &pid, 5000) > 0);
    ASSERT_STR_EQ(buf, "STATUS=3 venues, resyncing");
    /* A STATUS= longer than the format buffer is cut, not refused. */
    {
        char big[NOTIFY_MSG_MAX * 2];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ASSERT_EQ(notify_sendf(&n, "STATUS=%s", big), 0);
        ASSERT_EQ(recv_one(&r, buf, sizeof(buf), &pid, 5000), NOTIFY_MSG_MAX - 1);
        ASSERT_EQ(memcmp(buf, "STATUS=xxx", 10), 0);
    }
    ASSERT_EQ(notify_sent(&n), 4);
    ASSERT_EQ(notify_errors(&n), 0);
    ASSERT_EQ(notify_last_error(&n), 0);
    notify_close(&n);
    ASSERT(!notify_enabled(&n));
    ASSERT_EQ(notify_send(&n, "STOPPING=1"), 0);
    ASSERT_EQ(recv_one(&r, buf, sizeof(buf), &pid, 100), -1);
    notify_close(&n);
    recv_remove(&r);
}

TEST(notify_delivers_to_a_path_socket_from_our_pid)
{
    check_delivery(false);
    return 0;
}

TEST(notify_delivers_to_an_abstract_socket_from_our_pid)
{
    check_delivery(true);
    return 0;
}

TEST(notify_without_notify_socket_is_a_silent_no_op)
{
    struct notifier n;

    unsetenv("NOTIFY_SOCKET");
    /* A watchdog without a socket to feed it is not one. */
    setenv("WATCHDOG_USEC", "30000000", 1);
    ASSERT_EQ(notify_open(&n), 0);
    ASSERT(!notify_enabled(&n));
    ASSERT_EQ_U(notify_watchdog_usec(&n), 0);
    ASSERT_EQ(notify_send(&n, "READY=1"), 0);
    ASSERT_EQ(notify_sendf(&n, "STATUS=%d", 1), 0);
    ASSERT_EQ(notify_sent(&n), 0);
    ASSERT_EQ(notify_errors(&n), 0);
    notify_close(&n);

    setenv("NOTIFY_SOCKET", "", 1);
    ASSERT_EQ(notify_open(&n), 0);
    ASSERT(!notify_enabled(&n));
    notify_close(&n);

    /* A zero-filled notifier (a calloc'd daemon that never opened it) is a disabled one: it
     * does not own descriptor 0. */
    {
        int fd = open("/dev/null", O_RDONLY);

        ASSERT(fd >= 0);
        ASSERT_EQ(dup2(fd, 0), 0);
        close(fd);
        memset(&n, 0, sizeof(n));
        ASSERT(!notify_enabled(&n));
        ASSERT_EQ(notify_send(&n, "READY=1"), 0);
        notify_close(&n);
        ASSERT(fcntl(0, F_GETFD) >= 0);
    }
    return 0;
}

TEST(notify_watchdog_is_ours_only_by_sd_watchdog_enabled_rules)
{
    struct {
        const char *usec; /* WATCHDOG_USEC, NULL = unset */
        long pid;         /* WATCHDOG_PID: 0 = unset, -1 = ours, -2 = parent's, -3 = garbage */
        uint64_t want;    /* expected notify_watchdog_usec */
    } cases[] = {
        {"30000000", 0, 30000000},
        {"30000000", -1, 30000000},
        {"30000000", -2, 0},
        {"30000000", -3, 0},
        {"0", 0, 0},
        {"0", -1, 0},
        {"-5", 0, 0},
        {"30s", 0, 0},
        {"", 0, 0},
        {NULL, -1, 0},
        {"1", -1, 1},
    };
    struct receiver r;
    struct notifier n;

    recv_open(&r, false);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char pid[32];

        if (cases[i].usec)
            setenv("WATCHDOG_USEC", cases[i].usec, 1);
        else
            unsetenv("WATCHDOG_USEC");
        if (cases[i].pid == 0)
            unsetenv("WATCHDOG_PID");
        else {
            if (cases[i].pid == -1)
                snprintf(pid, sizeof(pid), "%d", (int)getpid());
            else if (cases[i].pid == -2)
                snprintf(pid, sizeof(pid), "%d", (int)getppid());
            else
                snprintf(pid, sizeof(pid), "%d0x", (int)getpid());
            setenv("WATCHDOG_PID", pid, 1);
        }
        ASSERT_EQ(notify_open(&n), 0);
        if (notify_watchdog_usec(&n) != cases[i].want)
            test_fail(__FILE__, __LINE__, "case %zu: WATCHDOG_USEC=%s pid case %ld: got %llu", i,
                      cases[i].usec ? cases[i].usec : "(unset)", cases[i].pid,
                      (unsigned long long)notify_watchdog_usec(&n));
        /* Whatever the watchdog says, the notifier itself works. */
        ASSERT(notify_enabled(&n));
        notify_close(&n);
    }
    recv_remove(&r);
    return 0;
}

TEST(notify_refuses_malformed_addresses_and_stays_harmless)
{
    char path[200], abs[200];
    struct {
        const char *env; /* NOTIFY_SOCKET */
        int want;        /* notify_open's return */
    } cases[] = {
        {"run/notify", -EINVAL}, {"@", -EINVAL},       {"vsock:2:1234", -EAFNOSUPPORT},
        {path, -ENAMETOOLONG},   {abs, -ENAMETOOLONG},
    };
    size_t room = sizeof(((struct sockaddr_un *)0)->sun_path);
    struct notifier n;

    /* One byte over: a path needs its NUL inside sun_path, an abstract name does not. */
    memset(path, 'p', room + 1);
    path[0] = '/';
    path[room] = '\0';
    memset(abs, 'a', room + 2);
    abs[0] = '@';
    abs[room + 1] = '\0';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("NOTIFY_SOCKET", cases[i].env, 1);
        ASSERT_EQ(notify_open(&n), cases[i].want);
        ASSERT(strlen(mdf_errmsg()) > 0);
        ASSERT(!notify_enabled(&n));
        ASSERT_EQ(notify_send(&n, "READY=1"), 0);
        notify_close(&n);
    }
    /* The longest that fit are accepted. */
    path[room - 1] = '\0';
    abs[room] = '\0';
    for (int i = 0; i < 2; i++) {
        setenv("NOTIFY_SOCKET", i ? abs : path, 1);
        ASSERT_EQ(notify_open(&n), 0);
        ASSERT(notify_enabled(&n));
        /* Nobody is bound there: a counted error, not a failure of the daemon. */
        ASSERT(notify_send(&n, "READY=1") < 0);
        ASSERT_EQ(notify_errors(&n), 1);
        notify_close(&n);
    }
    return 0;
}

TEST(notify_dead_socket_counts_errors_and_the_next_manager_is_reached)
{
    struct receiver r;
    struct notifier n;
    char buf[256];
    pid_t pid;

    recv_open(&r, false);
    ASSERT_EQ(notify_open(&n), 0);
    expect_delivery(&n, &r, "READY=1");
    /* The manager's socket closed, its file left behind. */
    recv_close(&r);
    ASSERT_EQ(notify_send(&n, "WATCHDOG=1"), -ECONNREFUSED);
    ASSERT_EQ(notify_last_error(&n), -ECONNREFUSED);
    /* The file gone too. */
    ASSERT_EQ(unlink(r.path), 0);
    ASSERT_EQ(notify_send(&n, "WATCHDOG=1"), -ENOENT);
    ASSERT_EQ(notify_errors(&n), 2);
    ASSERT_EQ(notify_sent(&n), 1);
    /* A new manager binds the same address (daemon-reexec): reached with no reopen. */
    {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int one = 1;

        r.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT(r.fd >= 0);
        ASSERT_EQ(setsockopt(r.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r.path);
        ASSERT_EQ(bind(r.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    ASSERT_EQ(notify_send(&n, "WATCHDOG=1"), 0);
    ASSERT_EQ(recv_one(&r, buf, sizeof(buf), &pid, 5000), 10);
    ASSERT_STR_EQ(buf, "WATCHDOG=1");
    ASSERT_EQ(notify_sent(&n), 2);
    ASSERT_EQ(notify_errors(&n), 2);
    notify_close(&n);
    recv_remove(&r);
    return 0;
}

TEST(notify_full_socket_never_blocks_the_sender)
{
    const int total = 20000;
    struct receiver r;
    struct notifier n;
    char buf[256];
    uint64_t got = 0;
    pid_t pid;
    int rc, eagain = 0;

    recv_open(&r, true);
    ASSERT_EQ(notify_open(&n), 0);
    /* Nobody reads: the socket fills; a blocking send would hang here until the timeout. */
    for (int i = 0; i < total; i++) {
        rc = notify_sendf(&n, "STATUS=message %d", i);
        ASSERT(rc == 0 || rc == -EAGAIN);
        eagain += rc == -EAGAIN;
    }
    ASSERT_GT(eagain, 0);
    ASSERT_EQ_U(notify_errors(&n), (uint64_t)eagain);
    ASSERT_EQ_U(notify_sent(&n) + notify_errors(&n), (uint64_t)total);
    ASSERT_EQ(notify_last_error(&n), -EAGAIN);
    /* What was counted as sent is exactly what the manager finds queued, oldest first. */
    while (recv_one(&r, buf, sizeof(buf), &pid, 0) > 0) {
        char want[64];

        snprintf(want, sizeof(want), "STATUS=message %llu", (unsigned long long)got);
        ASSERT_STR_EQ(buf, want);
        got++;
    }
    ASSERT_EQ_U(got, notify_sent(&n));
    /* Drained: sends go through again. */
    expect_delivery(&n, &r, "WATCHDOG=1");
    notify_close(&n);
    recv_remove(&r);
    return 0;
}

/* ---- two sending threads ------------------------------------------------------------------ */

#define THREAD_MSGS 20000

struct sender {
    struct notifier *n; /* shared notifier */
    bool status;        /* STATUS=seq k (the loop) or WATCHDOG=1 (the watchdog) */
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;

    for (int i = 0; i < THREAD_MSGS; i++) {
        if (s->status)
            notify_sendf(s->n, "STATUS=loop seq %d of %d", i, THREAD_MSGS);
        else
            notify_send(s->n, "WATCHDOG=1");
    }
    return NULL;
}

struct drain {
    struct receiver *r;   /* the manager's socket */
    atomic_bool stop;     /* set once both senders are done */
    uint64_t watchdog;    /* WATCHDOG=1 datagrams */
    uint64_t status;      /* STATUS= datagrams */
    long last_seq;        /* last STATUS= sequence number seen */
    uint64_t bad;         /* datagrams that were neither whole form, or out of order */
    uint64_t foreign_pid; /* datagrams credited to another pid */
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    char buf[256];
    pid_t pid;
    ssize_t k;

    for (;;) {
        /* Acquire: pairs with the release store after the senders were joined, so an empty
         * poll that follows a true load comes after every send. */
        bool done = atomic_load_explicit(&d->stop, memory_order_acquire);
        long seq, of;
        int used = 0;

        k = recv_one(d->r, buf, sizeof(buf), &pid, 10);
        if (k < 0) {
            if (done)
                break;
            continue;
        }
        if (pid != getpid())
            d->foreign_pid++;
        if (strcmp(buf, "WATCHDOG=1") == 0) {
            d->watchdog++;
        } else if (sscanf(buf, "STATUS=loop seq %ld of %ld%n", &seq, &of, &used) == 2 &&
                   (size_t)used == strlen(buf) && of == THREAD_MSGS && seq > d->last_seq) {
            d->status++;
            d->last_seq = seq;
        } else {
            d->bad++;
        }
    }
    return NULL;
}

TEST(notify_loop_and_watchdog_threads_send_whole_datagrams_at_once)
{
    struct receiver r;
    struct notifier n;
    struct sender s[2];
    struct drain d = {.r = &r, .last_seq = -1};
    pthread_t ts[2], td;
    int big = 4 << 20;

    recv_open(&r, false);
    setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    ASSERT_EQ(notify_open(&n), 0);
    atomic_init(&d.stop, false);
    ASSERT_EQ(pthread_create(&td, NULL, drain_main, &d), 0);
    for (int i = 0; i < 2; i++) {
        s[i] = (struct sender){.n = &n, .status = i == 0};
        ASSERT_EQ(pthread_create(&ts[i], NULL, sender_main, &s[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_join(ts[i], NULL), 0);
    /* Release: pairs with the drain thread's acquire load (see drain_main). */
    atomic_store_explicit(&d.stop, true, memory_order_release);
    ASSERT_EQ(pthread_join(td, NULL), 0);
    printf("  %llu delivered, %llu lost to a full socket\n", (unsigned long long)notify_sent(&n),
           (unsigned long long)notify_errors(&n));
    ASSERT_EQ(d.bad, 0);
    ASSERT_EQ(d.foreign_pid, 0);
    ASSERT_EQ_U(d.watchdog + d.status, notify_sent(&n));
    ASSERT_EQ_U(notify_sent(&n) + notify_errors(&n), 2 * THREAD_MSGS);
    ASSERT_GT(d.watchdog, 0);
    ASSERT_GT(d.status, 0);
    notify_close(&n);
    recv_remove(&r);
    return 0;
}
