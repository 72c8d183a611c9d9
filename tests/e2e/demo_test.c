/*
 * `make demo`, end to end, as a new user runs it: the real Makefile target (make -s demo with
 * its DEMO_PORT, DEMO_INSTANCE and this build's B) in each mode, for MDFEED_TEST_DEMO_SECONDS
 * (default 120, at least 20), then Ctrl-C the way a terminal sends it, to the whole process
 * group. Each run must raise no false alarm and no resync, print what a person can read (local
 * ISO-8601 times, books as best bid/ask and spread), and stop all three parts cleanly: the
 * daemon exits 0 and leaves its health segment STOPPED. Two demos on different ports and
 * instances run side by side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "test.h"

/* One `make demo` run. */
struct demo {
    pid_t pid;           /* make, leader of its own process group */
    int port;            /* DEMO_PORT */
    char inst[64];       /* DEMO_INSTANCE */
    char root[1024];     /* the source tree (make's directory) */
    char b[1024];        /* B: the build tree, relative to root when inside it */
    char out[PATH_MAX];  /* make's stdout and stderr */
    char dlog[PATH_MAX]; /* the daemon's log */
    int status;          /* make's wait status once stopped */
};

/* A loopback TCP port nothing listens on (bound, then closed). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Seconds each demo runs: MDFEED_TEST_DEMO_SECONDS, default 120, at least 20 (the replay's
 * last book goes live 12 s into the recording, and the demo prints once it has). */
static int demo_seconds(void)
{
    const char *s = getenv("MDFEED_TEST_DEMO_SECONDS");
    int n = s && atoi(s) > 0 ? atoi(s) : 120;

    return n < 20 ? 20 : n;
}

/* Fills d's port (a free one), instance, trees and file names. */
static void demo_paths(struct demo *d, const char *inst)
{
    char *p;

    memset(d, 0, sizeof(*d));
    ASSERT((d->port = free_port()) > 0);
    snprintf(d->inst, sizeof(d->inst), "%s", inst);
    {
        char root[PATH_MAX];

        ASSERT(realpath(test_fixture("../.."), root) != NULL);
        ASSERT(strlen(root) < sizeof(d->root));
        snprintf(d->root, sizeof(d->root), "%s", root);
    }
    /* test_bin gives <B>/bin/NAME. */
    ASSERT(strlen(test_bin("mdfeedd")) < sizeof(d->b));
    snprintf(d->b, sizeof(d->b), "%s", test_bin("mdfeedd"));
    *strrchr(d->b, '/') = '\0';
    *strrchr(d->b, '/') = '\0';
    p = d->b;
    if (strncmp(p, d->root, strlen(d->root)) == 0 && p[strlen(d->root)] == '/')
        memmove(p, p + strlen(d->root) + 1, strlen(p + strlen(d->root) + 1) + 1);
    snprintf(d->out, sizeof(d->out), "/tmp/mdfeed-demo-test-%s.out", inst);
    snprintf(d->dlog, sizeof(d->dlog), "%s/%s/demo-%s-daemon.log", d->root, d->b, inst);
}

/* Starts `make -s demo` with instance inst and the extra make variable `mode` (or NULL). */
static void demo_start(struct demo *d, const char *inst, const char *mode)
{
    char port_arg[32], inst_arg[96], b_arg[PATH_MAX + 8], san_arg[64];
    int fd;

    demo_paths(d, inst);
    snprintf(port_arg, sizeof(port_arg), "DEMO_PORT=%d", d->port);
    snprintf(inst_arg, sizeof(inst_arg), "DEMO_INSTANCE=%s", inst);
    snprintf(b_arg, sizeof(b_arg), "B=%s", d->b);
    /* The tree's own flags, so that make finds it up to date rather than mixing builds. */
    snprintf(san_arg, sizeof(san_arg), "SANITIZER=%s",
             strstr(d->b, "san-address")  ? "address,undefined"
             : strstr(d->b, "san-thread") ? "thread"
                                          : "");
    d->pid = fork();
    ASSERT(d->pid >= 0);
    if (d->pid == 0) {
        setpgid(0, 0); /* its own group, as a terminal's foreground job */
        if (chdir(d->root) < 0)
            _exit(126);
        fd = open(d->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        fd = open("/dev/null", O_RDONLY);
        dup2(fd, 0);
        /* The suite itself may run under make: this make is a new one, not a sub-make. */
        unsetenv("MAKEFLAGS");
        unsetenv("MFLAGS");
        unsetenv("MAKELEVEL");
        execlp("make", "make", "-s", "--no-print-directory", "demo", port_arg, inst_arg, b_arg,
               san_arg, mode, (char *)NULL);
        _exit(127);
    }
    setpgid(d->pid, d->pid);
}

/* Ctrl-C: SIGINT to the demo's process group, then waits (20 s at most) for make. */
static void demo_interrupt(struct demo *d)
{
    pid_t r = 0;

    ASSERT_EQ(kill(-d->pid, SIGINT), 0);
    for (int i = 0; i < 400 && (r = waitpid(d->pid, &d->status, WNOHANG)) == 0; i++)
        usleep(50000);
    if (r != d->pid) {
        kill(-d->pid, SIGKILL);
        waitpid(d->pid, &d->status, 0);
        test_fail(__FILE__, __LINE__, "make demo did not stop within 20 s of SIGINT");
    }
}

/* The whole of file path (new), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long size;
    size_t len;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL) {
        len = fread(buf, 1, (size_t)size, f);
        buf[len] = '\0';
    }
    fclose(f);
    return buf;
}

/* True when s starts with a local ISO-8601 time: YYYY-MM-DDTHH:MM:SS.ffffff+hh:mm. */
static bool iso_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddd+dd:dd";

    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        char c = s[i];

        if (shape[i] == 'd'   ? c < '0' || c > '9'
            : shape[i] == '+' ? c != '+' && c != '-'
                              : c != shape[i])
            return false;
    }
    return true;
}

/* Checks a stopped demo: make ended by the SIGINT (or exited 0) after the recipe said every
 * part exited 0; the daemon's health segment says STOPPED; its log has no alarm, no resync and
 * no forced exit; the output is readable (ISO times, summarized books that went LIVE). Returns
 * the output (new) for further checks. */
static char *demo_check(struct demo *d)
{
    static const char *const alarms[] = {"WATCHDOG_TRIGGERED", "FEED_STALE", "SUBSCRIPTION_SILENT",
                                         "BOOK_RESYNC",        "second ",    "exiting at once"};
    struct mdf_health_daemon dm;
    mdf_health_t *h = NULL;
    char *out = slurp(d->out), *log = slurp(d->dlog);
    int lines = 0, iso = 0, live_books = 0;
    size_t len;

    ASSERT(out != NULL);
    ASSERT(log != NULL);
    if (!(WIFSIGNALED(d->status) && WTERMSIG(d->status) == SIGINT) &&
        !(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0))
        test_fail(__FILE__, __LINE__, "make demo ended with status 0x%x:\n%s", d->status, out);
    ASSERT_CONTAINS(out, "demo: stopped: mdfeedd exit 0, mdfeed-fakevenue exit 0");
    ASSERT(strstr(out, "Error") == NULL);
    ASSERT_EQ(mdf_health_open(&h, d->inst), 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.state, MDF_DAEMON_STOPPED);
    mdf_health_close(h);
    for (size_t i = 0; i < sizeof(alarms) / sizeof(alarms[0]); i++)
        if (strstr(log, alarms[i]))
            test_fail(__FILE__, __LINE__, "%s in the daemon's log:\n%s", alarms[i],
                      strstr(log, alarms[i]));
    ASSERT_CONTAINS(log, "stopped");
    /* Readable: every record line has its receive time as local ISO-8601; books summarized. */
    for (const char *p = out; *p; p += len + (p[len] == '\n')) {
        static char line[16384];
        const char *rt;

        len = strcspn(p, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        if (strncmp(line, "ticks ", 6) && strncmp(line, "books ", 6) &&
            strncmp(line, "candles ", 8) && strncmp(line, "events ", 7))
            continue;
        lines++;
        rt = strstr(line, " recv_time=");
        if (rt && iso_time(rt + 11))
            iso++;
        else if (rt && rt[11] == '-' && strncmp(line, "books ", 6) == 0 &&
                 !strstr(line, " state=LIVE "))
            iso++; /* a book's state change (SYNCING) carries no venue message's times */
        else
            test_fail(__FILE__, __LINE__, "no ISO-8601 receive time: %s", line);
        ASSERT(strstr(line, "_time=1") == NULL); /* no raw ns */
        if (strncmp(line, "books ", 6) == 0) {
            ASSERT(strstr(line, " bids=") == NULL);
            if (strstr(line, " state=LIVE ")) {
                ASSERT_CONTAINS(line, " bid=");
                ASSERT_CONTAINS(line, " ask=");
                ASSERT_CONTAINS(line, " spread_bps=");
                live_books++;
            }
        }
    }
    ASSERT_GT(lines, 20);
    ASSERT_EQ(iso, lines);
    ASSERT_GT(live_books, 0);
    free(log);
    return out;
}

/* Removes what the demo left: its segments (unless the runner does), logs and config copy. */
static void demo_clean(struct demo *d)
{
    char pat[PATH_MAX];
    glob_t g;

    snprintf(pat, sizeof(pat), "/dev/shm/mdfeed.%s.*", d->inst);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    snprintf(pat, sizeof(pat), "%s/%s/demo-%s*", d->root, d->b, d->inst);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    unlink(d->out);
}

/* One mode for MDFEED_TEST_DEMO_SECONDS. */
static char *run_mode(struct demo *d, const char *mode)
{
    demo_start(d, test_instance(), mode);
    sleep((unsigned)demo_seconds());
    demo_interrupt(d);
    return demo_check(d);
}

/* `make demo`: the synthetic Binance spot market. */
TEST(e2e_make_demo_synthetic_market_runs_clean_and_stops_on_sigint)
{
    struct demo d;
    char *out = run_mode(&d, NULL);

    ASSERT_CONTAINS(out, "a synthetic Binance spot market");
    ASSERT_CONTAINS(out, " trade binance-spot:BTCUSDT ");
    ASSERT_CONTAINS(out, " bbo binance-spot:ETHUSDT ");
    ASSERT_CONTAINS(out, " ticker binance-spot:SOLUSDT ");
    ASSERT_CONTAINS(out, " candle binance-spot:BNBUSDT ");
    free(out);
    demo_clean(&d);
    return 0;
}

/* `make demo VENUE=bitfinex`: the Bitfinex fake venue's market. */
TEST(e2e_make_demo_bitfinex_runs_clean_and_stops_on_sigint)
{
    struct demo d;
    char *out = run_mode(&d, "VENUE=bitfinex");

    ASSERT_CONTAINS(out, "a synthetic Bitfinex market");
    ASSERT_CONTAINS(out, " book bitfinex:tBTCUSD state=LIVE ");
    ASSERT_CONTAINS(out, " trade bitfinex:tETHUSD ");
    ASSERT_CONTAINS(out, " candle bitfinex:tSOLUSD ");
    free(out);
    demo_clean(&d);
    return 0;
}

/* `make demo REPLAY=1`: the recording, looped, its times moved to now (never 2021's), its
 * books kept across laps without a resync (checked in demo_check). */
TEST(e2e_make_demo_replay_runs_clean_and_stops_on_sigint)
{
    struct demo d;
    char *out = run_mode(&d, "REPLAY=1"), *log;
    time_t now = time(NULL);
    struct tm tm;
    char year[32];

    ASSERT_CONTAINS(out, "the recorded Binance spot traffic");
    ASSERT_CONTAINS(out, " book binance-spot:NKNUSDT state=LIVE ");
    ASSERT(strstr(out, "2021-") == NULL);
    localtime_r(&now, &tm);
    snprintf(year, sizeof(year), "exch_time=%04d-", tm.tm_year + 1900);
    ASSERT_CONTAINS(out, year);
    /* Past the first lap (31 s), the books went on without a resync. */
    if (demo_seconds() > 35) {
        char vlog[PATH_MAX];

        snprintf(vlog, sizeof(vlog), "%s/%s/demo-%s-venue.log", d.root, d.b, d.inst);
        log = slurp(vlog);
        ASSERT(log != NULL);
        ASSERT_CONTAINS(log, "replay lap 1 bridged 4 books");
        free(log);
    }
    free(out);
    demo_clean(&d);
    return 0;
}

/* Two demos at once on different ports and instances: each runs clean, reads its own
 * instance, and stops cleanly. */
TEST(e2e_two_make_demos_run_side_by_side)
{
    struct demo a, b;
    char inst_b[64], *out_a, *out_b, want[128];

    snprintf(inst_b, sizeof(inst_b), "%sb", test_instance());
    demo_start(&a, test_instance(), NULL);
    demo_start(&b, inst_b, "VENUE=bitfinex");
    ASSERT(a.port != b.port);
    sleep((unsigned)demo_seconds());
    demo_interrupt(&a);
    demo_interrupt(&b);
    out_a = demo_check(&a);
    out_b = demo_check(&b);
    snprintf(want, sizeof(want), "on 127.0.0.1:%d, instance \"%s\"", a.port, a.inst);
    ASSERT_CONTAINS(out_a, want);
    snprintf(want, sizeof(want), "on 127.0.0.1:%d, instance \"%s\"", b.port, b.inst);
    ASSERT_CONTAINS(out_b, want);
    ASSERT(strstr(out_a, "bitfinex:") == NULL);
    ASSERT(strstr(out_b, "binance-spot:") == NULL);
    free(out_a);
    free(out_b);
    demo_clean(&a);
    demo_clean(&b);
    return 0;
}

/* ---- on a terminal ------------------------------------------------------------------------ */

static char tmux_sock[128]; /* the test's own tmux server */

/* Runs tmux on the test's server with the NULL-terminated arguments; *out (new) if out. */
static int tmux(char **out, ...)
{
    char *argv[32], *o = NULL, *e = NULL;
    int n = 0, rc;
    va_list ap;

    argv[n++] = "/usr/bin/env";
    argv[n++] = "-u";
    argv[n++] = "TMUX";
    argv[n++] = "tmux";
    argv[n++] = "-S";
    argv[n++] = tmux_sock;
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    va_start(ap, out);
    while (n < 31 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    rc = test_run_capture(argv, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    free(e);
    return rc;
}

static void tmux_kill(void)
{
    if (tmux_sock[0]) {
        tmux(NULL, "kill-server", NULL);
        unlink(tmux_sock);
    }
}

/* `make demo` on a terminal (tmux), then Ctrl-C typed there: the terminal signals mdfeed-cat
 * alone, the demo stops the venue and the daemon once each, and make itself exits 0. */
TEST(e2e_make_demo_on_a_terminal_ends_with_exit_0_on_ctrl_c)
{
    struct demo d;
    char cmd[4096], rcfile[256], *screen = NULL, *rc = NULL;
    struct mdf_health_daemon dm;
    mdf_health_t *h = NULL;
    char *log;

    if (access("/usr/bin/tmux", X_OK) != 0)
        test_skip("tmux is not installed");
    memset(&d, 0, sizeof(d));
    /* The same paths as demo_start, without starting anything. */
    demo_paths(&d, test_instance());
    snprintf(tmux_sock, sizeof(tmux_sock), "/tmp/mdfeed-demo-test-%d.tmux", (int)getpid());
    atexit(tmux_kill);
    snprintf(rcfile, sizeof(rcfile), "/tmp/mdfeed-demo-test-%d.rc", (int)getpid());
    unlink(rcfile);
    snprintf(cmd, sizeof(cmd),
             "cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory demo "
             "DEMO_PORT=%d DEMO_INSTANCE=%s B=%s SANITIZER=%s; echo \"rc=$?\" > %s; sleep 60",
             d.root, d.port, d.inst, d.b,
             strstr(d.b, "san-address")  ? "address,undefined"
             : strstr(d.b, "san-thread") ? "thread"
                                         : "",
             rcfile);
    ASSERT_EQ(tmux(NULL, "new-session", "-d", "-s", "demo", "-x", "200", "-y", "50", cmd, NULL), 0);
    /* Until it prints live books (30 s at most). */
    for (int i = 0; i < 300; i++) {
        free(screen);
        screen = NULL;
        tmux(&screen, "capture-pane", "-p", "-t", "demo", NULL);
        if (screen && strstr(screen, " state=LIVE "))
            break;
        usleep(100000);
    }
    ASSERT(screen && strstr(screen, " state=LIVE "));
    free(screen);
    ASSERT_EQ(tmux(NULL, "send-keys", "-t", "demo", "C-c", NULL), 0);
    for (int i = 0; i < 200 && !(rc = slurp(rcfile)); i++)
        usleep(100000);
    tmux(&screen, "capture-pane", "-p", "-J", "-t", "demo", NULL);
    if (!rc) /* the shell around make died of the SIGINT too: the terminal signalled all */
        test_fail(__FILE__, __LINE__, "make demo did not return after Ctrl-C:\n%s", screen);
    if (strcmp(rc, "rc=0\n") != 0)
        test_fail(__FILE__, __LINE__, "make demo ended %s on the terminal:\n%s", rc, screen);
    ASSERT_CONTAINS(screen, "demo: stopped: mdfeedd exit 0, mdfeed-fakevenue exit 0");
    ASSERT(strstr(screen, "Interrupt") == NULL);
    free(screen);
    free(rc);
    ASSERT_EQ(mdf_health_open(&h, d.inst), 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.state, MDF_DAEMON_STOPPED);
    mdf_health_close(h);
    log = slurp(d.dlog);
    ASSERT(log != NULL);
    ASSERT(strstr(log, "exiting at once") == NULL);
    ASSERT_CONTAINS(log, "stopped");
    free(log);
    unlink(rcfile);
    tmux_kill();
    demo_clean(&d);
    return 0;
}
