/*
 * The test runner: one binary with every test registered in test_list.h. Each test runs in a
 * forked child with a timeout (several at once with -j), so a crash or a hang fails that test only;
 * after each test the runner removes the test's scratch shm segments.
 *
 *   run                    every test
 *   run -g tsan            only tests in group tsan (the ring/thread tests)
 *   run NAME...            the named tests (forked)
 *   run NAME NAME          NAME in-process, for gdb
 *   run -s SEED ...        replay randomized tests with SEED
 *   run -j N ...           up to N tests side by side (ring/thread tests and tests that load
 *                          the machine on purpose still run alone);
 *                          each test's output is printed in one piece when it ends
 *   run -l                 list tests
 *
 * Prints one line per test and ends with "N passed, N failed"; exit status 1 on any failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "test_list.h"

#define T_TSAN 1u   /* ring/thread test: also run under ThreadSanitizer; always runs alone */
#define T_ALONE 2u  /* loads the machine on purpose (CPU hogs): always runs alone */
#define MAX_JOBS 16 /* most tests run side by side (-j) */

struct test_entry {
    const char *name; /* test name */
    int (*fn)(void);  /* test body; returns 0 on success */
    unsigned flags;   /* T_* */
    int timeout_s;    /* per-test limit */
};

/* Weak: a registered test without a body links, and fails as "not implemented". */
#define X(name, flags, timeout) int test_##name(void) __attribute__((weak));
TEST_LIST(X)
#undef X

static const struct test_entry tests[] = {
#define X(name, flags, timeout) {#name, test_##name, flags, timeout},
    TEST_LIST(X)
#undef X
};
#define N_TESTS (sizeof(tests) / sizeof(tests[0]))

static uint64_t g_seed;
static pid_t g_test_pid; /* pid of the forked test process (its children share its instance) */
static bool g_seed_given;
static bool g_seed_printed;

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g_seed_printed)
        fprintf(stderr, "  (replay with -s %" PRIu64 ")\n", g_seed);
    exit(1);
}

void test_skip(const char *why)
{
    fprintf(stderr, "  skipped: %s\n", why);
    exit(77);
}

uint64_t test_seed(void)
{
    if (!g_seed_printed) {
        fprintf(stderr, "  seed %" PRIu64 "\n", g_seed);
        g_seed_printed = true;
    }
    return g_seed;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void test_rng_init(struct test_rng *r, uint64_t seed)
{
    /* splitmix64 to spread the seed over the state. */
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        r->s[i] = z ^ (z >> 31);
    }
}

uint64_t test_rng_next(struct test_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t test_rng_below(struct test_rng *r, uint64_t n)
{
    return n ? test_rng_next(r) % n : 0;
}

const char *test_instance(void)
{
    static char name[32];

    snprintf(name, sizeof(name), "t%d", (int)(g_test_pid ? g_test_pid : getpid()));
    return name;
}

const char *test_bin(const char *name)
{
    static char path[PATH_MAX + 256];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n < 0)
        test_fail(__FILE__, __LINE__, "readlink /proc/self/exe: %s", strerror(errno));
    exe[n] = '\0';
    /* <build>/tests/run -> <build>/bin/NAME */
    if ((slash = strrchr(exe, '/')))
        *slash = '\0';
    if ((slash = strrchr(exe, '/')))
        *slash = '\0';
    snprintf(path, sizeof(path), "%s/bin/%s", exe, name);
    return path;
}

const char *test_fixture(const char *name)
{
    static char path[2][PATH_MAX + 512];
    static int which;
    char root[PATH_MAX + 256];
    char *p;

    /* <root>/build[/san-*]/bin/x -> <root> */
    snprintf(root, sizeof(root), "%s", test_bin("x"));
    p = strstr(root, "/build");
    if (p)
        *p = '\0';
    which ^= 1;
    snprintf(path[which], sizeof(path[which]), "%s/tests/fixtures/%s", root, name);
    return path[which];
}

int64_t test_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool test_is_root(void)
{
    return geteuid() == 0;
}

/* A growing NUL-terminated byte buffer. */
struct sbuf {
    char *p;    /* data, NUL-terminated */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
};

/* Appends what one read(2) of fd gives; returns false at EOF or error. */
static bool sbuf_read(struct sbuf *b, int fd)
{
    ssize_t n;

    if (b->cap - b->len < 4096) {
        b->cap = b->cap ? b->cap * 2 : 8192;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
        b->p[b->len] = '\0';
    }
    if (fd < 0)
        return false;
    n = read(fd, b->p + b->len, b->cap - b->len - 1);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    b->len += (size_t)n;
    b->p[b->len] = '\0';
    return true;
}

int test_run_capture(char *const argv[], char **out, char **err)
{
    int po[2], pe[2] = {-1, -1}, status;
    struct sbuf bo = {0}, be = {0};
    struct pollfd pfd[2];
    pid_t pid;

    if (pipe(po) < 0 || (err && pipe(pe) < 0))
        test_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(po[1], 1);
        if (err)
            dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        if (err) {
            close(pe[0]);
            close(pe[1]);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    if (err)
        close(pe[1]);
    /* Drain both pipes together so a chatty stderr cannot block the child. */
    pfd[0] = (struct pollfd){.fd = po[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = err ? pe[0] : -1, .events = POLLIN};
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents && !sbuf_read(i ? &be : &bo, pfd[i].fd)) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            }
    }
    sbuf_read(&bo, -1); /* makes sure a buffer exists */
    *out = bo.p;
    if (err) {
        sbuf_read(&be, -1);
        *err = be.p;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Removes /dev/shm/mdfeed.t<pid>.* left by test process pid. */
static void cleanup_shm(pid_t pid)
{
    char prefix[64];
    DIR *d = opendir("/dev/shm");
    struct dirent *de;

    if (!d)
        return;
    snprintf(prefix, sizeof(prefix), "mdfeed.t%d.", (int)pid);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            char path[PATH_MAX];

            snprintf(path, sizeof(path), "/dev/shm/%s", de->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

/* A test running in a forked child; its output goes to a memfd printed when it ends, so the
 * lines of tests running side by side never mix. */
struct job {
    const struct test_entry *t; /* the test */
    pid_t pid;                  /* its child, 0 = slot free */
    int out;                    /* memfd with its output */
    int64_t t0;                 /* start (monotonic ns) */
};

/* Starts t in a child. Returns 0, or 1 if it could not start (counted as a failure). */
static int job_start(struct job *j, const struct test_entry *t)
{
    char name[64];

    j->t = t;
    j->t0 = test_now_ns();
    if (!t->fn) {
        printf("FAIL %s: not implemented\n", t->name);
        return 1;
    }
    snprintf(name, sizeof(name), "test-%s", t->name);
    j->out = memfd_create(name, MFD_CLOEXEC);
    if (j->out < 0) {
        fprintf(stderr, "memfd_create: %s\n", strerror(errno));
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    j->pid = fork();
    if (j->pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        j->pid = 0;
        close(j->out);
        return 1;
    }
    if (j->pid == 0) {
        g_test_pid = getpid();
        setpgid(0, 0); /* own group: a timeout kills the test's helpers too */
        dup2(j->out, STDOUT_FILENO);
        dup2(j->out, STDERR_FILENO); /* messages in order with the results */
        exit(t->fn() ? 1 : 0);
    }
    setpgid(j->pid, j->pid);
    return 0;
}

/* Prints what the test wrote. */
static void job_output(struct job *j)
{
    char buf[4096];
    ssize_t n;

    lseek(j->out, 0, SEEK_SET);
    while ((n = read(j->out, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    close(j->out);
}

/* The test ended with status (or timed out): prints its result. Returns 0 pass, 1 fail, 2 skip. */
static int job_finish(struct job *j, int status, bool timed_out)
{
    const struct test_entry *t = j->t;
    pid_t pid = j->pid;
    int rc;

    kill(-pid, SIGKILL); /* helpers the test forgot */
    cleanup_shm(pid);
    j->pid = 0;
    job_output(j);
    if (timed_out) {
        printf("FAIL %s: timed out after %d s\n", t->name, t->timeout_s);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        printf("FAIL %s: killed by signal %d (%s)\n", t->name, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
        return 1;
    }
    rc = WEXITSTATUS(status);
    if (rc == 77) {
        printf("skip %s\n", t->name);
        return 2;
    }
    if (rc != 0) {
        printf("FAIL %s\n", t->name);
        return 1;
    }
    printf("ok   %s (%.2f s)\n", t->name, (double)(test_now_ns() - j->t0) / 1e9);
    return 0;
}

/* Waits until one running job ends (or times out) and finishes it. Returns its result. */
static int job_reap(struct job *jobs, int n)
{
    for (;;) {
        int64_t now = test_now_ns();
        int status;

        for (int i = 0; i < n; i++) {
            pid_t w;

            if (!jobs[i].pid)
                continue;
            w = waitpid(jobs[i].pid, &status, WNOHANG);
            if (w == jobs[i].pid)
                return job_finish(&jobs[i], status, false);
            if (now - jobs[i].t0 > (int64_t)jobs[i].t->timeout_s * 1000000000) {
                kill(-jobs[i].pid, SIGKILL);
                waitpid(jobs[i].pid, &status, 0);
                return job_finish(&jobs[i], status, true);
            }
        }
        usleep(5000);
    }
}

static const struct test_entry *find(const char *name)
{
    for (size_t i = 0; i < N_TESTS; i++)
        if (strcmp(tests[i].name, name) == 0)
            return &tests[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const char *group = NULL;
    const char *names[64];
    int n_names = 0, passed = 0, failed = 0, skipped = 0, parallel = 1;

    setvbuf(stdout, NULL, _IOLBF, 0);
    {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        g_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            g_seed = strtoull(argv[++i], NULL, 0);
            g_seed_given = true;
        } else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
            parallel = atoi(argv[++i]);
            if (parallel < 1 || parallel > MAX_JOBS)
                parallel = parallel < 1 ? 1 : MAX_JOBS;
        } else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc) {
            group = argv[++i];
        } else if (strcmp(argv[i], "-l") == 0) {
            for (size_t k = 0; k < N_TESTS; k++)
                printf("%s%s\n", tests[k].name, (tests[k].flags & T_TSAN) ? " [tsan]" : "");
            return 0;
        } else if (n_names < 64) {
            names[n_names++] = argv[i];
        }
    }
    (void)g_seed_given;
    if (n_names == 2 && strcmp(names[0], names[1]) == 0) {
        const struct test_entry *t = find(names[0]);

        if (!t || !t->fn) {
            fprintf(stderr, "no test %s\n", names[0]);
            return 2;
        }
        g_test_pid = getpid();
        return t->fn() ? 1 : 0; /* in-process, for gdb */
    }
    {
        struct job jobs[MAX_JOBS] = {{0}};
        static size_t order[N_TESTS];
        size_t n_order = 0;
        int running = 0;

        /* Tests that run alone go first, one after another (one met midway would make the
         * pool drain around it); then the others, those with the longest timeouts first, so
         * the minutes-long soaks start at once and the short tests fill the slots beside them
         * (list order among equals). */
        for (size_t i = 0; i < N_TESTS; i++)
            if (tests[i].flags & (T_TSAN | T_ALONE))
                order[n_order++] = i;
        for (size_t i = 0; i < N_TESTS; i++) {
            size_t k = n_order++;

            if (tests[i].flags & (T_TSAN | T_ALONE)) {
                n_order--;
                continue;
            }
            while (k > 0 && !(tests[order[k - 1]].flags & (T_TSAN | T_ALONE)) &&
                   tests[order[k - 1]].timeout_s < tests[i].timeout_s) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = i;
        }
        for (size_t oi = 0; oi < n_order; oi++) {
            const struct test_entry *t = &tests[order[oi]];
            bool alone = (t->flags & (T_TSAN | T_ALONE)) != 0;
            int slot = 0, r;

            if (n_names) {
                bool want = false;

                for (int k = 0; k < n_names; k++)
                    want |= strcmp(names[k], t->name) == 0;
                if (!want)
                    continue;
            }
            if (group && strcmp(group, "tsan") == 0 && !(t->flags & T_TSAN))
                continue;
            /* Ring and thread tests, and load tests, run alone; the others up to `parallel` at a
             * time. */
            while (running > 0 && (running >= parallel || alone)) {
                r = job_reap(jobs, MAX_JOBS);
                running--;
                passed += r == 0;
                failed += r == 1;
                skipped += r == 2;
            }
            while (jobs[slot].pid)
                slot++;
            if (job_start(&jobs[slot], t) != 0) {
                failed++;
                continue;
            }
            running++;
            if (alone) {
                r = job_reap(jobs, MAX_JOBS);
                running--;
                passed += r == 0;
                failed += r == 1;
                skipped += r == 2;
            }
        }
        while (running > 0) {
            int r = job_reap(jobs, MAX_JOBS);

            running--;
            passed += r == 0;
            failed += r == 1;
            skipped += r == 2;
        }
    }
    for (int k = 0; k < n_names; k++)
        if (!find(names[k])) {
            printf("FAIL %s: no such test\n", names[k]);
            failed++;
        }
    if (skipped)
        printf("%d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
