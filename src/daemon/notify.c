/*
 * sd_notify written by hand (see notify.h): the address comes from $NOTIFY_SOCKET, each message
 * is one non-blocking sendto(2) on an unconnected AF_UNIX datagram socket, and lost messages are
 * counted. Unconnected on purpose: every send looks the address up again, so a manager that
 * re-created its socket (daemon-reexec) is reached by the next message without a reopen.
 * No credentials are attached by hand: the kernel gives the receiver our pid (SCM_CREDENTIALS)
 * when it asks for it, which is what NotifyAccess=main checks, and that pid is the process id
 * from every thread.
 */
#include "daemon/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* Parses a decimal unsigned integer that fills the whole string; false if there is none or it
 * does not fit. */
static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* The watchdog timeout for this process, by sd_watchdog_enabled()'s rules: WATCHDOG_USEC must be
 * a positive integer, and WATCHDOG_PID, if set, must be a valid pid equal to ours (systemd sets
 * it so that a child that inherited the environment does not take the parent's watchdog). */
static uint64_t watchdog_from_env(void)
{
    const char *pid_s = getenv("WATCHDOG_PID");
    uint64_t usec, pid;

    if (!parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
        return 0;
    if (pid_s) {
        if (!parse_u64(pid_s, &pid) || pid == 0 || pid != (uint64_t)getpid())
            return 0;
    }
    return usec;
}

/* Fills the address from $NOTIFY_SOCKET's value: "/path" or "@abstract" (the '@' stands for the
 * leading NUL of the abstract namespace, and the name's length, with no trailing NUL, is part of
 * the address). */
static int parse_address(struct notifier *n, const char *e)
{
    size_t len = strlen(e);

    memset(&n->addr, 0, sizeof(n->addr));
    n->addr.sun_family = AF_UNIX;
    if (strncmp(e, "vsock:", 6) == 0)
        return err_set(-EAFNOSUPPORT, "NOTIFY_SOCKET=%s: vsock addresses are not supported", e);
    if (e[0] != '/' && e[0] != '@')
        return err_set(-EINVAL, "NOTIFY_SOCKET=%s: neither an absolute path nor an @name", e);
    if (len < 2 && e[0] == '@')
        return err_set(-EINVAL, "NOTIFY_SOCKET=@: an empty abstract name");
    /* A path needs room for its NUL; an abstract name fills the buffer exactly at most. */
    if (len > sizeof(n->addr.sun_path) - (e[0] == '/'))
        return err_set(-ENAMETOOLONG, "NOTIFY_SOCKET=%s: longer than %zu bytes", e,
                       sizeof(n->addr.sun_path) - 1);
    memcpy(n->addr.sun_path, e, len);
    if (e[0] == '@') {
        n->addr.sun_path[0] = '\0';
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

/* True when n has a socket of its own: addr_len is only set once an address was parsed, so a
 * zero-filled notifier (fd 0) counts as disabled, never as owning descriptor 0. */
static bool is_open(const struct notifier *n)
{
    return n->fd >= 0 && n->addr_len > 0;
}

int notify_open(struct notifier *n)
{
    const char *e = getenv("NOTIFY_SOCKET");
    int rc;

    n->fd = -1;
    n->addr_len = 0;
    n->watchdog_usec = 0;
    atomic_init(&n->sent, 0);
    atomic_init(&n->errors, 0);
    atomic_init(&n->last_error, 0);
    if (!e || !*e)
        return 0;
    rc = parse_address(n, e);
    if (rc < 0) {
        n->addr_len = 0;
        return rc;
    }
    /* Non-blocking: a manager that does not read its socket must never stall a sender. */
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0) {
        n->addr_len = 0;
        return err_set(-errno, "notify socket: %s", strerror(errno));
    }
    n->watchdog_usec = watchdog_from_env();
    return 0;
}

bool notify_enabled(const struct notifier *n)
{
    return is_open(n);
}

uint64_t notify_watchdog_usec(const struct notifier *n)
{
    return is_open(n) ? n->watchdog_usec : 0;
}

int notify_send(struct notifier *n, const char *msg)
{
    size_t len = strlen(msg);
    ssize_t k;
    int rc;

    if (!is_open(n))
        return 0;
    if (len == 0)
        return err_set(-EINVAL, "empty notification");
    do {
        /* MSG_NOSIGNAL: no SIGPIPE, whatever the daemon's signal setup is. */
        k = sendto(n->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
                   n->addr_len);
    } while (k < 0 && errno == EINTR);
    if (k >= 0) {
        /* Relaxed: a statistic; no other memory is published through it. */
        atomic_fetch_add_explicit(&n->sent, 1, memory_order_relaxed);
        return 0;
    }
    rc = -errno;
    /* Relaxed: statistics read by whoever reports them; they order nothing else. */
    atomic_fetch_add_explicit(&n->errors, 1, memory_order_relaxed);
    atomic_store_explicit(&n->last_error, rc, memory_order_relaxed);
    return err_set(rc, "notify %.*s: %s", (int)strcspn(msg, "\n"), msg, err_name(rc));
}

int notify_sendf(struct notifier *n, const char *fmt, ...)
{
    char msg[NOTIFY_MSG_MAX];
    va_list ap;

    if (!is_open(n))
        return 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return notify_send(n, msg);
}

uint64_t notify_sent(const struct notifier *n)
{
    /* Relaxed: see notify_send. */
    return atomic_load_explicit(&n->sent, memory_order_relaxed);
}

uint64_t notify_errors(const struct notifier *n)
{
    /* Relaxed: see notify_send. */
    return atomic_load_explicit(&n->errors, memory_order_relaxed);
}

int notify_last_error(const struct notifier *n)
{
    /* Relaxed: see notify_send. */
    return atomic_load_explicit(&n->last_error, memory_order_relaxed);
}

void notify_close(struct notifier *n)
{
    if (is_open(n))
        close(n->fd);
    n->fd = -1;
    n->addr_len = 0;
    n->watchdog_usec = 0;
}
