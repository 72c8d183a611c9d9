/*
 * sd_notify without libsystemd: the service-manager notifications (READY=1, STATUS=...,
 * RELOADING=1, STOPPING=1, WATCHDOG=1) are one AF_UNIX datagram each, sent to the socket named
 * by $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'). chrony's
 * notify_system_manager() is the model.
 *
 * Design: the notifier is read from the environment once, at startup; without $NOTIFY_SOCKET
 * (not started by systemd, or a unit that is not Type=notify) it is a no-op, so the daemon calls
 * it unconditionally. Sends never block (a full or dead notify socket costs a counted error, not
 * a stall) and never stop the daemon. Each message is one sendto(2) on a datagram socket, which
 * the kernel delivers whole, so the loop thread (STATUS=) and the watchdog thread (WATCHDOG=1)
 * may send at the same time with no lock. Nothing is allocated after notify_open.
 */
#ifndef MDF_DAEMON_NOTIFY_H
#define MDF_DAEMON_NOTIFY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Longest message notify_sendf formats; longer text is cut (a STATUS= line is a summary). */
#define NOTIFY_MSG_MAX 1024

/* A connection to the service manager's notify socket (caller-allocated, notify_open fills it).
 * The fields are private to notify.c. */
struct notifier {
    int fd;                      /* datagram socket, -1 when disabled (no $NOTIFY_SOCKET) */
    struct sockaddr_un addr;     /* where every message goes */
    socklen_t addr_len;          /* its length (abstract names carry no trailing NUL) */
    uint64_t watchdog_usec;      /* $WATCHDOG_USEC when the watchdog is ours, else 0 */
    atomic_uint_fast64_t sent;   /* messages delivered to the socket */
    atomic_uint_fast64_t errors; /* messages lost (socket full, gone, refused) */
    atomic_int last_error;       /* negative errno of the latest lost message, 0 if none */
};

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID as systemd sets them and prepares n.
 * Without $NOTIFY_SOCKET (or with it empty), n is a disabled notifier: every send succeeds and
 * does nothing. The watchdog is enabled, by sd_watchdog_enabled()'s rules, when
 * $WATCHDOG_USEC is a positive integer and $WATCHDOG_PID is unset or equals getpid(); otherwise
 * (another pid's watchdog, or a malformed value) notify_watchdog_usec() returns 0.
 * The environment is left as it is. Call before any thread that sends is started.
 * Returns 0; or -EINVAL (not an absolute path nor an '@' name), -ENAMETOOLONG, -EAFNOSUPPORT
 * (a "vsock:" address, which systemd 252 never hands out) or the errno of socket(2), with a
 * message (mdf_errmsg): n is then a disabled notifier and is still safe to use and close.
 */
int notify_open(struct notifier *n);

/* True if messages go to a service manager (a $NOTIFY_SOCKET was given and opened). */
bool notify_enabled(const struct notifier *n);

/* The watchdog timeout systemd expects WATCHDOG=1 within, in microseconds (send every half of
 * it); 0 when systemd's watchdog is not enabled for this process. */
uint64_t notify_watchdog_usec(const struct notifier *n);

/*
 * Sends one notification: msg is one or more "KEY=VALUE" lines separated by '\n', e.g.
 * "READY=1\nSTATUS=running: 3 venues". Safe from any thread at the same time as other sends
 * (not with notify_open/notify_close). Never blocks. Returns 0 when delivered (or when n is
 * disabled); else a negative errno (-EAGAIN: the manager's socket is full; -ECONNREFUSED or
 * -ENOENT: nobody listens there any more; -EMSGSIZE) with a message, and the loss is counted
 * (notify_errors). A failed send is harmless to the daemon: the caller may log it, rate-limited.
 */
int notify_send(struct notifier *n, const char *msg);

/* notify_send of a printf-formatted message (at most NOTIFY_MSG_MAX - 1 bytes, formatted on the
 * stack). Same thread-safety and returns. */
int notify_sendf(struct notifier *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages delivered so far. */
uint64_t notify_sent(const struct notifier *n);

/* Messages lost so far (send errors). */
uint64_t notify_errors(const struct notifier *n);

/* The negative errno of the latest lost message, 0 if none was lost. */
int notify_last_error(const struct notifier *n);

/* Closes the socket; n becomes a disabled notifier. Call after every sending thread has been
 * joined. Safe after any notify_open, whatever it returned, twice, and on a zero-filled notifier
 * (which is a disabled one). */
void notify_close(struct notifier *n);

#endif /* MDF_DAEMON_NOTIFY_H */
