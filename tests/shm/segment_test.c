/*
 * Segment lifecycle: squatted names are refused with a clear message, mode and group follow
 * the parameters, a second live daemon is refused, a dead daemon's segments are adopted with a
 * bumped epoch and nothing lost, and a reader running as another user in the group can read but
 * can never write.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "shm/publisher.h"
#include "shm/synth.h"
#include "test.h"

#define OTHER_UID 65534 /* nobody */
#define TEST_GID 4242   /* a group the test user is not in */

static void shm_path(char *out, size_t len, const char *seg)
{
    snprintf(out, len, "/dev/shm/mdfeed.%s.%s", test_instance(), seg);
}

/* Opens the test instance for writing with default parameters; returns pub_open's code. */
static int open_pub(struct publisher *p)
{
    struct pub_params prm;

    pub_default_params(&prm, test_instance());
    prm.hb_interval_ns = 20000000;
    return pub_open(p, &prm);
}

TEST(segment_refuses_foreign_owner)
{
    struct publisher p;
    char path[256];
    int fd;

    if (!test_is_root())
        test_skip("needs root to create a file owned by another user");
    shm_path(path, sizeof(path), "state");
    fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0640);
    ASSERT(fd >= 0);
    ASSERT_EQ(fchown(fd, OTHER_UID, OTHER_UID), 0);
    close(fd);
    ASSERT_EQ(open_pub(&p), MDF_ESQUAT);
    ASSERT_CONTAINS(mdf_errmsg(), "owned by uid 65534");
    ASSERT_CONTAINS(mdf_errmsg(), path + strlen("/dev/shm"));
    return 0;
}

TEST(segment_refuses_wrong_mode)
{
    struct publisher p;
    char path[256];
    int fd;

    shm_path(path, sizeof(path), "state");
    fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(fchmod(fd, 0666), 0); /* world-writable: anyone could corrupt it */
    close(fd);
    ASSERT_EQ(open_pub(&p), MDF_ESQUAT);
    ASSERT_CONTAINS(mdf_errmsg(), "mode 0666, expected 0640");
    return 0;
}

TEST(segment_left_narrower_by_a_killed_writer_is_widened_and_used)
{
    struct publisher p;
    struct stat st;
    char path[256];
    int fd;

    /* A writer killed between creating the file (mode narrowed by its umask) and widening it. */
    shm_path(path, sizeof(path), "state");
    fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    ASSERT(fd >= 0);
    close(fd);
    ASSERT_EQ(open_pub(&p), 0);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 07777, 0640);
    pub_close(&p, true);
    return 0;
}

TEST(segment_refuses_symlink)
{
    struct publisher p;
    char path[256], target[256];
    struct stat st;

    shm_path(path, sizeof(path), "state");
    snprintf(target, sizeof(target), "/tmp/mdfeed-symlink-target.%d", (int)getpid());
    unlink(target);
    ASSERT_EQ(symlink(target, path), 0);
    ASSERT_EQ(open_pub(&p), MDF_ESQUAT);
    ASSERT_CONTAINS(mdf_errmsg(), "symbolic link");
    ASSERT(stat(target, &st) < 0); /* nothing was created through the link */
    unlink(path);
    return 0;
}

TEST(segment_sets_mode_and_group)
{
    static const char *const segs[] = {"state", "ticks", "candles", "books", "funding", "events"};
    struct pub_params prm;
    struct publisher p;
    char path[256];
    struct stat st;

    if (!test_is_root())
        test_skip("needs root to give segments to another group");
    pub_default_params(&prm, test_instance());
    prm.gid = TEST_GID;
    umask(077); /* the configured mode wins over the umask */
    ASSERT_EQ(pub_open(&p, &prm), 0);
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        shm_path(path, sizeof(path), segs[i]);
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0640);
        ASSERT_EQ(st.st_gid, TEST_GID);
        ASSERT_EQ(st.st_uid, geteuid());
    }
    shm_path(path, sizeof(path), "doorbell");
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 07777, 0660); /* readers may ring it */
    pub_close(&p, true);
    ASSERT(stat(path, &st) < 0);
    return 0;
}

/* Forks a child that opens the instance, publishes n trades, reports over a pipe and then
 * either sleeps (stay=true) or exits without cleaning up (a crash, as far as shm can tell). */
static pid_t spawn_writer(uint64_t n, bool stay)
{
    int pfd[2];
    pid_t pid;
    char c;

    ASSERT_EQ(pipe(pfd), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct publisher p;
        struct synth_opts o = {.count = n, .n_symbols = 3, .types = {MDF_REC_TRADE}};
        int rc = open_pub(&p);

        if (rc < 0) {
            fprintf(stderr, "writer: %s\n", mdf_errmsg());
            _exit(3);
        }
        synth_run(&p, &o, NULL);
        c = 'k';
        if (write(pfd[1], &c, 1) != 1)
            _exit(4);
        if (stay)
            for (;;) {
                pub_heartbeat(&p, clock_mono_ns());
                clock_sleep_ns(5000000);
            }
        _exit(0);
    }
    close(pfd[1]);
    ASSERT_EQ(read(pfd[0], &c, 1), 1);
    close(pfd[0]);
    return pid;
}

TEST(segment_refuses_second_live_daemon)
{
    struct publisher p;
    pid_t pid = spawn_writer(10, true);
    char want[64];
    int status;

    ASSERT_EQ(open_pub(&p), MDF_ELIVE);
    snprintf(want, sizeof(want), "live daemon (pid %d)", (int)pid);
    ASSERT_CONTAINS(mdf_errmsg(), want);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    /* Once it is dead, its segments are ours. */
    ASSERT_EQ(open_pub(&p), 0);
    ASSERT(p.adopted);
    pub_close(&p, true);
    return 0;
}

TEST(segment_takeover_bumps_epoch_and_readers_resume)
{
    struct mdf_status st;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    union mdf_record r;
    uint64_t lost, epoch0;
    int status, n = 0;
    pid_t pid = spawn_writer(100, false);

    waitpid(pid, &status, 0);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_DEAD); /* the pid is gone */
    epoch0 = st.epoch;
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub), 0);
    while (mdf_next(sub, (mdf_record_t *)&r, &lost) == 1)
        n++;
    ASSERT_EQ(n, 100);

    /* A new daemon adopts the dead one's segments. */
    ASSERT_EQ(open_pub(&p), 0);
    ASSERT(p.adopted);
    ASSERT_EQ_U(p.epoch, epoch0 + 1);
    ASSERT_EQ(state_tx_venue(&p.st, "synth"), 0); /* ids survive the restart */
    ASSERT_EQ(state_tx_symbol(&p.st, 0, "SYNTH2", NULL), 2);
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_ALIVE);
    ASSERT(st.restarted);
    ASSERT_EQ_U(st.epoch, epoch0 + 1);
    ASSERT_EQ(st.pid, getpid());
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT(!st.restarted); /* reported once */
    /* The existing subscription continues with the new daemon's records: nothing lost. */
    synth_record(&r, MDF_REC_TRADE, 100, 0, 0, 1);
    ASSERT_EQ_U(pub_publish(&p, MDF_RING_TICKS, &r), 100);
    ASSERT_EQ(mdf_next(sub, (mdf_record_t *)&r, &lost), 1);
    ASSERT_EQ_U(r.h.seq, 100);
    ASSERT_EQ_U(lost, 0);
    ASSERT(synth_check(&r));
    mdf_unsubscribe(sub);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}

TEST(segment_replaced_on_new_geometry_is_retired_for_readers)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *sub;

    pub_default_params(&prm, test_instance());
    ASSERT_EQ(pub_open(&p, &prm), 0);
    pub_close(&p, false);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), 0);
    prm.ring_capacity[MDF_RING_TICKS] *= 2; /* the config changed the ring's size */
    ASSERT_EQ(pub_open(&p, &prm), 0);
    pub_heartbeat(&p, clock_mono_ns());
    ASSERT_EQ(mdf_wait(sub, 10), MDF_ERETIRED);
    mdf_unsubscribe(sub);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), 0);
    ASSERT_EQ(mdf_wait(sub, 10), 0); /* the new ring: alive, just quiet */
    mdf_unsubscribe(sub);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}

/* In a child running as OTHER_UID with only TEST_GID: checks that every way of writing the
 * feed fails. Exits 0 if all checks hold, else the number of the failed check. */
static int reader_as_other_user(void)
{
    char path[256], maps[65536];
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    union mdf_record r;
    gid_t g = TEST_GID;
    int fd, sub_rc, nread = 0;
    void *m;
    ssize_t n;

    if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 ||
        setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
        return 90;
    /* The library opens and reads. */
    if (mdf_open(&inst, test_instance(), 0) < 0)
        return 1;
    if ((sub_rc = mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub)) < 0)
        return 2;
    while (mdf_next(sub, (mdf_record_t *)&r, NULL) == 1)
        nread += synth_check(&r);
    if (nread != 10)
        return 3;
    /* Every data mapping the library made is read-only. */
    fd = open("/proc/self/maps", O_RDONLY);
    n = read(fd, maps, sizeof(maps) - 1);
    close(fd);
    maps[n > 0 ? n : 0] = '\0';
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "/dev/shm/mdfeed.") && !strstr(line, ".doorbell") &&
            strncmp(strchr(line, ' ') + 1, "r--s", 4) != 0)
            return 4;
    /* shm_open O_RDWR fails on every data segment. */
    snprintf(path, sizeof(path), "/mdfeed.%s.ticks", test_instance());
    if (shm_open(path, O_RDWR, 0) >= 0 || errno != EACCES)
        return 5;
    snprintf(path, sizeof(path), "/mdfeed.%s.state", test_instance());
    if (shm_open(path, O_RDWR, 0) >= 0 || errno != EACCES)
        return 6;
    /* A read-only descriptor cannot be mapped writable, nor a read mapping made writable. */
    fd = shm_open(path, O_RDONLY, 0);
    if (fd < 0)
        return 7;
    if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED ||
        errno != EACCES)
        return 8;
    m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 9;
    if (mprotect(m, 4096, PROT_READ | PROT_WRITE) == 0 || errno != EACCES)
        return 10;
    /* A stray store faults. */
    {
        pid_t pid = fork();
        int status;

        if (pid == 0) {
            struct sigaction sa = {.sa_handler = _exit};

            sigaction(SIGSEGV, &sa, NULL); /* _exit(SIGSEGV): also under ASan */
            sigaction(SIGBUS, &sa, NULL);
            *(volatile uint64_t *)m = 0xdead;
            _exit(0);
        }
        waitpid(pid, &status, 0);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == SIGSEGV) &&
            !(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV))
            return 11;
    }
    if (((struct mdf_seg_header *)m)->magic != MDF_MAGIC)
        return 12; /* unchanged */
    mdf_unsubscribe(sub);
    mdf_close(inst);
    return 0;
}

TEST(segment_reader_in_group_can_read_but_never_write)
{
    struct pub_params prm;
    struct publisher p;
    struct synth_opts o = {.count = 10, .n_symbols = 2, .types = {MDF_REC_TRADE}};
    int status, pfd[2];
    pid_t pid;
    char c = 'g';

    if (!test_is_root())
        test_skip("needs root to run a reader as another user");
    /* Fork first, so the reader inherits none of the writer's read-write mappings. */
    ASSERT_EQ(pipe(pfd), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1)
            _exit(91);
        _exit(reader_as_other_user());
    }
    close(pfd[0]);
    pub_default_params(&prm, test_instance());
    prm.gid = TEST_GID;
    ASSERT_EQ(pub_open(&p, &prm), 0);
    synth_run(&p, &o, NULL);
    ASSERT_EQ(write(pfd[1], &c, 1), 1);
    waitpid(pid, &status, 0);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    pub_close(&p, true);
    return 0;
}

TEST(segment_reader_outside_group_is_refused_clearly)
{
    struct pub_params prm;
    struct publisher p;
    int status;
    pid_t pid;

    if (!test_is_root())
        test_skip("needs root to run a reader as another user");
    pub_default_params(&prm, test_instance());
    prm.gid = TEST_GID;
    ASSERT_EQ(pub_open(&p, &prm), 0);
    pid = fork();
    if (pid == 0) {
        mdf_instance_t *inst;
        gid_t g = OTHER_UID;

        if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 ||
            setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
            _exit(90);
        if (mdf_open(&inst, test_instance(), 0) != -EACCES)
            _exit(1);
        _exit(strstr(mdf_errmsg(), "join the daemon's group") ? 0 : 2);
    }
    waitpid(pid, &status, 0);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    pub_close(&p, true);
    return 0;
}
