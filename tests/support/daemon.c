/*
 * Test helper: runs mdfeedd as a child (see daemon.h).
 */
#include "support/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static int write_conf(struct dmn *d, const char *fmt, va_list ap)
{
    FILE *f = fopen(d->conf, "w");

    if (!f)
        return -errno;
    fprintf(f, "instance = \"%s\";\n", d->instance);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : -EIO;
}

int dmn_config(struct dmn *d, const char *fmt, ...)
{
    va_list ap;
    int rc;

    memset(d, 0, sizeof(*d));
    d->p.out_fd = -1;
    snprintf(d->instance, sizeof(d->instance), "%s", test_instance());
    snprintf(d->conf, sizeof(d->conf), "/tmp/mdfeed-test-%s.conf", d->instance);
    va_start(ap, fmt);
    rc = write_conf(d, fmt, ap);
    va_end(ap);
    return rc;
}

int dmn_rewrite(struct dmn *d, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = write_conf(d, fmt, ap);
    va_end(ap);
    return rc;
}

int dmn_spawn(struct dmn *d)
{
    const char *bin = test_bin("mdfeedd");
    pid_t parent = getpid();
    int pfd[2];

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    /* A 1 MiB pipe (the default pipe-max-size) for the log: a test that polls the rings for a
     * while does not read it, and a daemon blocked on a log write would look hung. */
    (void)fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
    d->p.pid = fork();
    if (d->p.pid < 0) {
        d->p.pid = 0;
        close(pfd[0]);
        close(pfd[1]);
        return -errno;
    }
    if (d->p.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], STDERR_FILENO);
        unsetenv("JOURNAL_STREAM");
        unsetenv("INVOCATION_ID");
        execl(bin, bin, "-c", d->conf, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    d->p.out_fd = pfd[0];
    return 0;
}

int dmn_start(struct dmn *d)
{
    int rc = dmn_spawn(d);

    if (rc < 0)
        return rc;
    if (fv_wait_line(&d->p, "running:", 10000, NULL, 0) < 0) {
        fprintf(stderr, "mdfeedd did not start; its log:\n%.*s\n", (int)d->p.len, d->p.buf);
        return -ETIMEDOUT;
    }
    return 0;
}

int dmn_wait(struct dmn *d, const char *needle, int timeout_ms, char *line, size_t cap)
{
    return fv_wait_line(&d->p, needle, timeout_ms, line, cap);
}

int dmn_count(struct dmn *d, const char *needle)
{
    return fv_count_lines(&d->p, needle);
}

void dmn_kill(struct dmn *d, int sig)
{
    if (d->p.pid > 0)
        kill(d->p.pid, sig);
}

int dmn_wait_exit(struct dmn *d, int timeout_ms)
{
    int64_t deadline = test_now_ns() / 1000000 + timeout_ms;
    int status;
    pid_t w;

    if (d->p.pid <= 0)
        return -ECHILD;
    while ((w = waitpid(d->p.pid, &status, WNOHANG)) == 0) {
        if (test_now_ns() / 1000000 > deadline)
            return -ETIMEDOUT;
        usleep(10000);
    }
    d->p.pid = 0;
    fv_drain(&d->p); /* its last words (a sanitizer's report), for the failure message */
    if (d->p.out_fd >= 0)
        close(d->p.out_fd);
    d->p.out_fd = -1;
    if (d->conf[0])
        unlink(d->conf);
    if (w < 0)
        return -errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int dmn_stop(struct dmn *d)
{
    int rc = d->p.pid > 0 ? fv_stop(&d->p) : -ECHILD;

    if (d->conf[0])
        unlink(d->conf);
    return rc;
}
