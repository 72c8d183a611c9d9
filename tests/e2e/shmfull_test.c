/*
 * A full /dev/shm (issue 14): a small tmpfs mounted on /dev/shm in a private mount namespace of
 * the test process (the fake venue, the daemon and the readers it starts inherit it). The daemon
 * refuses to start when its rings cannot be backed, a full /dev/shm while it runs is an error and
 * a counter, not a SIGBUS, and readers of segments on it get data or an error, never a SIGBUS.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "shm/publisher.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define FILLER "/dev/shm/filler" /* the file that fills the tmpfs */

/* Small rings: about 1.4 MB with everything else the daemon backs at start. */
#define SMALL_RINGS                                                                                \
    "shm = { rings = { ticks = 1024; candles = 256; books = 256; funding = 256; "                  \
    "events = 256; }; };\n"

#define VENUE_A                                                                                    \
    "venues = ({ venue = \"binance-spot\"; name = \"a\"; url = \"ws://127.0.0.1:%d\";\n"           \
    "  rest_url = \"http://127.0.0.1:%d\"; symbols = [%s]; trades = \"agg_trade\";\n"              \
    "  kline = \"\"; });\n"

/* Writes "0 0 1"-style maps for a user namespace made by this process. */
static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Puts this test process in a private mount namespace with a tmpfs of `bytes` on /dev/shm.
 * Skips the test (with the reason) when no mount namespace can be had. */
static void private_shm(size_t bytes)
{
    char opt[64];

    if (unshare(CLONE_NEWNS) < 0) {
        int e = errno;
        char why[160];

        /* Without the right in this namespace, a user namespace of our own may give it. */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
            snprintf(why, sizeof(why),
                     "no private mount namespace: unshare: %s; with a user "
                     "namespace: %s",
                     strerror(e), strerror(errno));
            test_skip(why);
        }
        write_file("/proc/self/setgroups", "deny");
        snprintf(opt, sizeof(opt), "0 %d 1", (int)getuid());
        if (write_file("/proc/self/uid_map", opt) < 0)
            test_skip("no private mount namespace: cannot map our uid in a user namespace");
        snprintf(opt, sizeof(opt), "0 %d 1", (int)getgid());
        write_file("/proc/self/gid_map", opt);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        test_fail(__FILE__, __LINE__, "mount --make-rprivate /: %s", strerror(errno));
    snprintf(opt, sizeof(opt), "size=%zu,mode=1777", bytes);
    if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opt) < 0)
        test_fail(__FILE__, __LINE__, "mount a tmpfs of %zu bytes on /dev/shm: %s", bytes,
                  strerror(errno));
}

/* Fills /dev/shm to its last page with FILLER. */
static void fill_shm(void)
{
    static char buf[65536];
    int fd = open(FILLER, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ssize_t n;

    ASSERT(fd >= 0);
    memset(buf, 0x5a, sizeof(buf));
    while ((n = write(fd, buf, sizeof(buf))) > 0)
        ;
    ASSERT_EQ(errno, ENOSPC);
    while (write(fd, buf, 1) > 0) /* the last partial page */
        ;
    close(fd);
}

/* Counts /dev/shm/mdfeed.<instance>.* files. */
static int count_segments(const char *instance)
{
    char prefix[64];
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    int n = 0;

    ASSERT(d != NULL);
    snprintf(prefix, sizeof(prefix), "mdfeed.%s.", instance);
    while ((de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* Reads ring `ring` of instance from the oldest record and returns how many records of symbol
 * `sym` it finds with a sequence number of at least from_seq, waiting up to timeout_ms for at
 * least `want`. */
static int count_records(const char *instance, int ring, int64_t sym, uint64_t from_seq, int want,
                         int timeout_ms)
{
    int64_t deadline = test_now_ns() + (int64_t)timeout_ms * 1000000;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    mdf_record_t rec;
    int n = 0, rc;

    ASSERT_EQ(mdf_open(&inst, instance, 2000), 0);
    ASSERT_EQ(mdf_subscribe(inst, ring, MDF_START_OLDEST, 0, &sub), 0);
    while (n < want && test_now_ns() < deadline) {
        rc = mdf_next(sub, &rec, NULL);
        ASSERT_GE(rc, 0);
        if (rc == 0) {
            mdf_wait(sub, 100);
            continue;
        }
        if (rec.h.seq >= from_seq && (sym < 0 || rec.h.symbol == (uint32_t)sym))
            n++;
    }
    mdf_unsubscribe(sub);
    mdf_close(inst);
    return n;
}

/* The tail of ring `ring` of instance now. */
static uint64_t tail_of(const char *instance, int ring)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    uint64_t tail;

    ASSERT_EQ(mdf_open(&inst, instance, 2000), 0);
    ASSERT_EQ(mdf_subscribe(inst, ring, MDF_START_NOW, 0, &sub), 0);
    tail = mdf_sub_tail(sub);
    mdf_unsubscribe(sub);
    mdf_close(inst);
    return tail;
}

/* Fails the test unless the daemon still runs (a death that closed its log a moment ago is
 * given 300 ms to be reaped). */
static void assert_running(struct dmn *d)
{
    int status;
    pid_t w = 0;

    for (int i = 0; i < 30 && (w = waitpid(d->p.pid, &status, WNOHANG)) == 0; i++)
        usleep(10000);
    if (w == d->p.pid) {
        d->p.pid = 0;
        test_fail(__FILE__, __LINE__, "the daemon died (%s %d); its log:\n%.*s",
                  WIFSIGNALED(status) ? "signal" : "status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), (int)d->p.len,
                  d->p.buf);
    }
}

TEST(daemon_refuses_to_start_clearly_when_dev_shm_cannot_back_its_rings)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[1024];
    int rc;

    private_shm(8u << 20); /* the default rings need about 62 MB */
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, VENUE_A, fv.port, fv.port, "\"AAAUSDT\""), 0);
    ASSERT_EQ(dmn_spawn(&d), 0);
    if (dmn_wait(&d, "cannot start:", 5000, line, sizeof(line)) < 0)
        test_fail(__FILE__, __LINE__, "no \"cannot start:\" line; log:\n%.*s", (int)d.p.len,
                  d.p.buf);
    rc = dmn_wait_exit(&d, 5000);
    if (rc != 3)
        test_fail(__FILE__, __LINE__, "exit status %d, want 3 (no space for the rings)", rc);
    /* What is needed, what is missing, where, and how much is free. */
    ASSERT_CONTAINS(line, "shared memory (this configuration backs ");
    ASSERT_CONTAINS(line, " bytes of /dev/shm at start: shrink shm.rings or free space there)");
    ASSERT_CONTAINS(line, "cannot back ");
    ASSERT_CONTAINS(line, "/dev/shm/mdfeed.");
    ASSERT_CONTAINS(line, "No space left on device");
    ASSERT_CONTAINS(line, "bytes free of 8388608");
    /* Nothing is left holding the memory it could get. */
    ASSERT_EQ(count_segments(d.instance), 0);
    fv_stop(&fv);
    return 0;
}

TEST(daemon_on_full_dev_shm_refuses_new_streams_and_keeps_serving_the_others)
{
    const char *fv_args[] = {"--market", "AAAUSDT,FFFUSDT,GGGUSDT,HHHUSDT", NULL};
    const char *more = "\"AAAUSDT\", \"FFFUSDT\", \"GGGUSDT\", \"HHHUSDT\"";
    struct mdf_health_daemon hd;
    mdf_instance_t *inst;
    mdf_health_t *h;
    struct fv_proc fv;
    struct dmn d;
    char line[1024];
    uint64_t tail;
    int64_t aaa;

    private_shm(8u << 20);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, SMALL_RINGS VENUE_A, fv.port, fv.port, "\"AAAUSDT\""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    aaa = mdf_symbol_lookup(inst, "a:AAAUSDT");
    mdf_close(inst);
    ASSERT_GE(aaa, 0);
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, aaa, 0, 1, 5000), 1);

    /* /dev/shm fills up while the daemon runs; a reload adds streams. */
    fill_shm();
    ASSERT_EQ(dmn_rewrite(&d, SMALL_RINGS VENUE_A, fv.port, fv.port, more), 0);
    dmn_kill(&d, SIGHUP);
    if (dmn_wait(&d, "this stream is not served", 5000, line, sizeof(line)) < 0) {
        assert_running(&d); /* a SIGBUS says so here */
        test_fail(__FILE__, __LINE__, "no stream refused; log:\n%.*s", (int)d.p.len, d.p.buf);
    }
    ASSERT_CONTAINS(line, "stream ");
    ASSERT_CONTAINS(line, "No space left on device");
    ASSERT_CONTAINS(line, "bytes free of");
    ASSERT_EQ(dmn_wait(&d, "a: reload:", 5000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, " refused (no shared memory)");

    /* No signal: the old stream keeps publishing, its readers see it. */
    tail = tail_of(d.instance, MDF_RING_TICKS);
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, aaa, tail, 20, 5000), 20);
    assert_running(&d);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);
    for (int i = 0; i < 50; i++) { /* the health entry is refreshed every 100 ms or so */
        ASSERT_EQ(mdf_health_daemon(h, &hd), 0);
        if (hd.errors[MDF_HERR_SHM])
            break;
        usleep(20000);
    }
    ASSERT_GE(hd.errors[MDF_HERR_SHM], 1);
    ASSERT_STR_EQ(mdf_health_err_name(MDF_HERR_SHM), "shm");
    mdf_health_close(h);

    /* Room again: the next reload serves them. */
    unlink(FILLER);
    dmn_kill(&d, SIGHUP);
    ASSERT_EQ(dmn_wait(&d, "a: reload: ", 5000, line, sizeof(line)), 0);
    if (strstr(line, " 0 streams added"))
        test_fail(__FILE__, __LINE__, "with room again, the reload added nothing: %s", line);
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    aaa = mdf_symbol_lookup(inst, "a:HHHUSDT");
    mdf_close(inst);
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, aaa, 0, 1, 5000), 1);
    assert_running(&d);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A daemon killed and restarted while /dev/shm is full adopts its segments: what they hold is
 * backed already, so it runs and publishes (a daemon that only sized them died of SIGBUS at
 * the first ring slot the dead one had not reached). */
TEST(daemon_restarted_on_full_dev_shm_adopts_its_segments_and_keeps_publishing)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    struct fv_proc fv;
    struct dmn d;
    uint64_t tail;

    private_shm(8u << 20);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, SMALL_RINGS VENUE_A, fv.port, fv.port, "\"AAAUSDT\""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, -1, 0, 1, 5000), 1);
    dmn_kill(&d, SIGKILL);
    ASSERT_EQ(dmn_wait_exit(&d, 5000), 128 + SIGKILL);
    fill_shm();
    ASSERT_EQ(dmn_config(&d, SMALL_RINGS VENUE_A, fv.port, fv.port, "\"AAAUSDT\""), 0);
    if (dmn_start(&d) < 0) {
        assert_running(&d); /* a SIGBUS says so here */
        test_fail(__FILE__, __LINE__, "the restarted daemon did not say it runs");
    }
    ASSERT_EQ(dmn_wait(&d, "adopted the segments", 1000, NULL, 0), 0);
    tail = tail_of(d.instance, MDF_RING_TICKS);
    /* Into ring pages the dead daemon never reached (50 records: about 19 KB of slots). */
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, -1, tail, 50, 5000), 50);
    assert_running(&d);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* In a child: reads every symbol's latest trade and bbo and the ticks ring of instance, as a
 * strategy would. Exit status 0 if every call gave data or an error code. */
static void read_everything(const char *instance)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    mdf_record_t rec;
    struct mdf_trade t;
    struct mdf_bbo b;
    int got = 0, rc;

    if (mdf_open(&inst, instance, 2000) < 0)
        _exit(10);
    for (uint32_t s = 0; s < mdf_symbol_count(inst); s++) {
        rc = mdf_latest_trade(inst, s, &t);
        got += rc == 0;
        if (rc < 0 && rc != MDF_ENODATA)
            _exit(11);
        rc = mdf_latest_bbo(inst, s, &b);
        if (rc < 0 && rc != MDF_ENODATA)
            _exit(12);
    }
    for (uint32_t s = 0; s < mdf_stream_count(inst); s++)
        if ((rc = mdf_latest_trade_stream(inst, s, &t)) < 0 && rc != MDF_ENODATA)
            _exit(13);
    if (mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub) < 0)
        _exit(14);
    while ((rc = mdf_next(sub, &rec, NULL)) == 1)
        got++;
    mdf_unsubscribe(sub);
    mdf_close(inst);
    _exit(rc == 0 && got > 0 ? 0 : 15);
}

/* Runs read_everything in a child; returns its wait status. */
static int reader_child(const char *instance)
{
    int status;
    pid_t pid = fork();

    ASSERT(pid >= 0);
    if (pid == 0)
        read_everything(instance);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

TEST(readers_on_full_dev_shm_get_data_or_an_error_never_sigbus)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    const char *syms = "\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\", \"DDDUSDT\", \"EEEUSDT\"";
    char *out = NULL, *err = NULL, *argv[16];
    struct fv_proc fv;
    struct dmn d;
    int status;

    private_shm(8u << 20);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    /* BBB..EEE never trade: their latest blocks are never written by a record. */
    ASSERT_EQ(dmn_config(&d, SMALL_RINGS VENUE_A, fv.port, fv.port, syms), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_GE(count_records(d.instance, MDF_RING_TICKS, -1, 0, 1, 5000), 1);
    fill_shm();

    /* A strategy through libmdfeed reads every table and the ring. */
    status = reader_child(d.instance);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        test_fail(__FILE__, __LINE__, "the reader %s %d",
                  WIFSIGNALED(status) ? "died of signal" : "exited with",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    /* mdfeed-cat too. */
    argv[0] = (char *)test_bin("mdfeed-cat");
    argv[1] = "-i";
    argv[2] = d.instance;
    argv[3] = "ticks";
    argv[4] = "--from-start";
    argv[5] = "-n";
    argv[6] = "5";
    argv[7] = "--timeout";
    argv[8] = "5";
    argv[9] = NULL;
    status = test_run_capture(argv, &out, &err);
    if (status != 0)
        test_fail(__FILE__, __LINE__, "mdfeed-cat: status %d: %s", status, err);
    ASSERT_CONTAINS(out, "AAAUSDT");
    free(out);
    free(err);
    assert_running(&d);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* In a child: opens instance, subscribes to its ticks ring from the oldest record and reads to
 * the end; writes the last code and message to pipe_w[1]. Exit status 0 unless that fails. */
static void read_ticks(const char *instance, int *pipe_w)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    mdf_record_t rec;
    int rc;

    if ((rc = mdf_open(&inst, instance, 0)) == 0 &&
        (rc = mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub)) == 0) {
        while ((rc = mdf_next(sub, &rec, NULL)) == 1)
            ;
    }
    /* The code and message go back to the test. */
    if (write(pipe_w[1], &rc, sizeof(rc)) != sizeof(rc) ||
        write(pipe_w[1], mdf_errmsg(), strlen(mdf_errmsg()) + 1) < 0)
        _exit(2);
    _exit(0);
}

/* Runs read_ticks in a child. Returns its wait status; *code and msg get what it reported. */
static int ticks_child(const char *instance, int *code, char *msg, size_t cap)
{
    int p[2], status;
    ssize_t n;
    pid_t pid;

    ASSERT_EQ(pipe(p), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0)
        read_ticks(instance, p);
    close(p[1]);
    *code = 1;
    msg[0] = '\0';
    if (read(p[0], code, sizeof(*code)) == sizeof(*code) && (n = read(p[0], msg, cap - 1)) > 0)
        msg[n] = '\0';
    close(p[0]);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

/* Segments no daemon of ours would leave: a ring with a hole in its slots (an older writer
 * that only sized it, or a punched hole) on a full /dev/shm, and a ring cut shorter than its
 * header says. A reader gets an error, not a SIGBUS. */
TEST(reader_refuses_an_unbacked_or_truncated_ring_with_an_error_not_sigbus)
{
    struct pub_params prm;
    struct publisher p;
    union mdf_record r;
    char path[128], msg[512];
    int code, status, fd;

    private_shm(16u << 20);
    pub_default_params(&prm, test_instance());
    for (int i = 0; i < MDF_RING_COUNT; i++)
        prm.ring_capacity[i] = 1024;
    prm.ring_capacity[MDF_RING_TICKS] = 4096;
    ASSERT_EQ(pub_open(&p, &prm), 0);
    memset(&r, 0, sizeof(r));
    r.h.type = MDF_REC_TRADE;
    r.h.size = (uint16_t)mdf_rec_type_size(MDF_REC_TRADE, 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_NE(pub_publish(&p, MDF_RING_TICKS, &r), UINT64_MAX);
    status = ticks_child(test_instance(), &code, msg, sizeof(msg));
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(code, 0); /* read to the end */

    /* A hole in the slots the readers read, and no room left to fill it. */
    snprintf(path, sizeof(path), "/dev/shm/mdfeed.%s.ticks", test_instance());
    fd = open(path, O_RDWR | O_CLOEXEC);
    ASSERT(fd >= 0);
    ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 * 1024, 64 * 1024), 0);
    fill_shm();
    status = ticks_child(test_instance(), &code, msg, sizeof(msg));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        test_fail(__FILE__, __LINE__, "the reader %s %d",
                  WIFSIGNALED(status) ? "died of signal" : "exited with",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    ASSERT_EQ(code, -ENOSPC);
    ASSERT_CONTAINS(msg, ".ticks has pages that no memory backs");
    unlink(FILLER);

    /* Cut shorter than its header says: refused before a byte past the end is touched. */
    ASSERT_EQ(ftruncate(fd, 32 * 1024), 0);
    close(fd);
    status = ticks_child(test_instance(), &code, msg, sizeof(msg));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        test_fail(__FILE__, __LINE__, "the reader of a truncated ring %s %d",
                  WIFSIGNALED(status) ? "died of signal" : "exited with",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    ASSERT_EQ(code, MDF_EBADSEG);
    ASSERT_CONTAINS(msg, "wrong kind or size");

    /* The state segment likewise. */
    snprintf(path, sizeof(path), "/dev/shm/mdfeed.%s.state", test_instance());
    ASSERT_EQ(truncate(path, 64 * 1024), 0);
    status = ticks_child(test_instance(), &code, msg, sizeof(msg));
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(code, MDF_EBADSEG);
    pub_close(&p, true);
    return 0;
}
