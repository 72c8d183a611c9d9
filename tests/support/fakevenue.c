/*
 * Test helper: runs mdfeed-fakevenue as a child and reads its log lines (see fakevenue.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/fakevenue.h"
#include "test.h"

/* Monotonic ms. */
static int64_t now_ms(void)
{
    return test_now_ns() / 1000000;
}

/* Appends what the pipe has now (waiting up to wait_ms for the first byte). Returns 1 when bytes
 * came, 0 when none, -1 at EOF. */
static int fill(struct fv_proc *fv, int wait_ms)
{
    struct pollfd pfd = {.fd = fv->out_fd, .events = POLLIN};
    ssize_t n;

    if (fv->out_fd < 0)
        return -1;
    if (fv->len == sizeof(fv->buf)) {
        /* Full of unmatched lines: drop the oldest half (at a line boundary when possible). */
        char *cut = memchr(fv->buf + sizeof(fv->buf) / 2, '\n', sizeof(fv->buf) / 2);
        size_t drop = cut ? (size_t)(cut - fv->buf) + 1 : sizeof(fv->buf) / 2;

        memmove(fv->buf, fv->buf + drop, fv->len - drop);
        fv->len -= drop;
    }
    if (poll(&pfd, 1, wait_ms) <= 0)
        return 0;
    n = read(fv->out_fd, fv->buf + fv->len, sizeof(fv->buf) - fv->len);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (n == 0)
        return -1;
    fv->len += (size_t)n;
    return 1;
}

/* Finds, copies and removes the first complete line containing needle. */
static bool take_line(struct fv_proc *fv, const char *needle, char *line, size_t cap)
{
    size_t start = 0;

    while (start < fv->len) {
        char *nl = memchr(fv->buf + start, '\n', fv->len - start);
        size_t end;
        char save;

        if (!nl)
            return false;
        end = (size_t)(nl - fv->buf);
        save = fv->buf[end];
        fv->buf[end] = '\0';
        if (strstr(fv->buf + start, needle)) {
            if (line && cap)
                snprintf(line, cap, "%s", fv->buf + start);
            memmove(fv->buf + start, fv->buf + end + 1, fv->len - end - 1);
            fv->len -= end + 1 - start;
            return true;
        }
        fv->buf[end] = save;
        start = end + 1;
    }
    return false;
}

/* See fakevenue.h. */
int fv_start_venue(struct fv_proc *fv, const char *venue, const char *const *args)
{
    const char *a[64] = {"--venue", venue};
    size_t n = 2;

    for (size_t i = 0; args && args[i]; i++) {
        if (n == sizeof(a) / sizeof(a[0]) - 1)
            return -E2BIG;
        a[n++] = args[i];
    }
    a[n] = NULL;
    return fv_start(fv, a);
}

/* See fakevenue.h. */
int fv_wait_line(struct fv_proc *fv, const char *needle, int timeout_ms, char *line, size_t cap)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        int64_t left;

        if (take_line(fv, needle, line, cap))
            return 0;
        left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        if (fill(fv, (int)left) < 0 && !take_line(fv, needle, line, cap))
            return -ETIMEDOUT;
    }
}

/* See fakevenue.h. */
void fv_drain(struct fv_proc *fv)
{
    while (fill(fv, 100) > 0)
        ;
}

/* See fakevenue.h. */
int fv_count_lines(struct fv_proc *fv, const char *needle)
{
    int count = 0;
    size_t start = 0;

    while (fill(fv, 0) > 0)
        ;
    while (start < fv->len) {
        char *nl = memchr(fv->buf + start, '\n', fv->len - start);
        size_t end;

        if (!nl)
            break;
        end = (size_t)(nl - fv->buf);
        *nl = '\0';
        if (strstr(fv->buf + start, needle))
            count++;
        *nl = '\n';
        start = end + 1;
    }
    return count;
}

/* See fakevenue.h. */
int fv_start(struct fv_proc *fv, const char *const *args)
{
    const char *bin = test_bin("mdfeed-fakevenue");
    char line[256];
    const char **argv;
    size_t n = 0;
    int pfd[2];
    pid_t parent = getpid();

    memset(fv, 0, sizeof(*fv));
    fv->out_fd = -1;
    while (args && args[n])
        n++;
    argv = calloc(n + 4, sizeof(*argv));
    if (!argv)
        return -ENOMEM;
    argv[0] = bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    /* A port the test chose (a restart on the same port) comes first; else any free one. */
    argv[n + 1] = "--port";
    argv[n + 2] = "0";
    for (size_t i = 0; i + 1 < n; i++)
        if (strcmp(args[i], "--port") == 0)
            argv[n + 1] = NULL;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        free(argv);
        return -errno;
    }
    /* A test that polls something else for a while does not read the log: a 1 MiB pipe (the
     * default limit of /proc/sys/fs/pipe-max-size) keeps the venue from blocking on a write of
     * a log line meanwhile. Best effort: 64 KiB otherwise. */
    (void)fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
    fv->pid = fork();
    if (fv->pid < 0) {
        int e = errno;

        close(pfd[0]);
        close(pfd[1]);
        free(argv);
        fv->pid = 0;
        return -e;
    }
    if (fv->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], STDOUT_FILENO);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    free(argv);
    close(pfd[1]);
    fv->out_fd = pfd[0];
    if (fv_wait_line(fv, "listening ", 10000, line, sizeof(line)) < 0) {
        fv_stop(fv);
        return -ETIMEDOUT;
    }
    {
        const char *sp = strrchr(line, ' ');

        fv->port = sp ? atoi(sp + 1) : 0;
    }
    return fv->port > 0 ? 0 : -EINVAL;
}

/* See fakevenue.h. */
int fv_stop(struct fv_proc *fv)
{
    int status = 0;
    int64_t deadline = now_ms() + 10000;
    pid_t w;

    if (fv->pid <= 0)
        return -ECHILD;
    kill(fv->pid, SIGTERM);
    while ((w = waitpid(fv->pid, &status, WNOHANG)) == 0) {
        if (now_ms() > deadline) {
            kill(fv->pid, SIGKILL);
            w = waitpid(fv->pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    fv->pid = 0;
    if (fv->out_fd >= 0)
        close(fv->out_fd);
    fv->out_fd = -1;
    if (w < 0)
        return -errno;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
