/*
 * Transport figures: 200-byte text messages from the fake venue, flat out, into our WebSocket
 * client over TLS and over plain TCP on loopback, counted without decoding. Prints messages
 * per second of wall time and per second of the client's own CPU time (what one core of the
 * daemon could take).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/wsconn.h"
#include "support/certs.h"

void bench_transport(const char *self);

struct counter {
    uint64_t msgs;  /* messages received */
    uint64_t bytes; /* payload bytes received */
    bool stopped;
};

static void on_msg(struct wsconn *w, bool text, const uint8_t *data, size_t len, int64_t ns)
{
    struct counter *c = w->ud;

    c->msgs++;
    c->bytes += len;
}

static void on_stopped(struct wsconn *w)
{
    ((struct counter *)w->ud)->stopped = true;
}

static const struct wsconn_callbacks cbs = {.on_message = on_msg, .on_stopped = on_stopped};

/* Starts the fake venue with args; returns its pid and port, or -1. */
static pid_t start_venue(const char *bin, const char *const *args, int *port)
{
    const char *argv[32];
    char line[256];
    int fds[2], n = 0, i;
    FILE *f;
    pid_t pid;

    if (pipe(fds) < 0)
        return -1;
    argv[n++] = bin;
    for (i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    *port = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "listening %*s %*s %d", port) == 1)
            break;
    /* The venue logs on: keep reading its stdout in a child so it never blocks on the pipe. */
    if (fork() == 0) {
        while (f && fgets(line, sizeof(line), f))
            ;
        _exit(0);
    }
    if (f)
        fclose(f);
    return *port ? pid : -1;
}

static void on_tick(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void run_one(const char *name, const char *bin, bool tls, const char *dir)
{
    char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], url[256], fig[128];
    const char *args[16];
    struct wsconn_params p;
    struct counter c = {0};
    struct wsconn w;
    uv_loop_t loop;
    uv_timer_t tick;
    uint64_t m0;
    double t0, c0, wall, cpu;
    pid_t pid;
    int n = 0, port;

    snprintf(cert, sizeof(cert), "%s/good.pem", dir);
    snprintf(key, sizeof(key), "%s/good.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    args[n++] = "--synthetic";
    args[n++] = "max";
    args[n++] = "--msg-size";
    args[n++] = "200";
    if (tls) {
        args[n++] = "--tls-cert";
        args[n++] = cert;
        args[n++] = "--tls-key";
        args[n++] = key;
    }
    args[n] = NULL;
    pid = start_venue(bin, args, &port);
    if (pid < 0) {
        fprintf(stderr, "bench: %s: cannot start %s\n", name, bin);
        return;
    }
    snprintf(url, sizeof(url), "%s://localhost:%d/ws/btcusdt@trade", tls ? "wss" : "ws", port);
    wsconn_default_params(&p);
    p.url = url;
    p.ca_file = ca;
    p.ping_interval_ms = 0;
    uv_loop_init(&loop);
    if (wsconn_init(&w, &loop, &p, &cbs, &c) < 0 || wsconn_start(&w) < 0) {
        fprintf(stderr, "bench: %s: %s\n", name, mdf_errmsg());
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return;
    }
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 500, 0); /* warm-up */
    uv_run(&loop, UV_RUN_DEFAULT);
    m0 = c.msgs;
    t0 = (double)clock_mono_ns() / 1e9;
    c0 = cpu_s();
    uv_timer_start(&tick, on_tick, 3000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    wall = (double)clock_mono_ns() / 1e9 - t0;
    cpu = cpu_s() - c0;
    snprintf(fig, sizeof(fig), "%s_msgs_per_s", name);
    printf("%s: %.0f msgs/s\n", fig, (double)(c.msgs - m0) / wall);
    snprintf(fig, sizeof(fig), "%s_msgs_per_client_cpu_s", name);
    printf("%s: %.0f msgs/s (client %.0f%% of a core)\n", fig,
           cpu > 0 ? (double)(c.msgs - m0) / cpu : 0.0, 100 * cpu / wall);
    fflush(stdout);
    uv_close((uv_handle_t *)&tick, NULL);
    wsconn_stop(&w, 1000);
    uv_run(&loop, UV_RUN_DEFAULT);
    wsconn_fini(&w);
    uv_loop_close(&loop);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

void bench_transport(const char *self)
{
    char exe[PATH_MAX], bin[PATH_MAX + 32];
    const char *dir;
    ssize_t n;

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(bin, sizeof(bin), "%s/../bin/mdfeed-fakevenue", dirname(exe));
    dir = certs_dir();
    if (!dir) {
        fprintf(stderr, "bench: transport: no certificates: %s\n", mdf_errmsg());
        return;
    }
    run_one("transport_tls", bin, true, dir);
    run_one("transport_tcp", bin, false, dir);
}
