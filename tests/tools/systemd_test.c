/*
 * The systemd side of the install (systemd/): the unit as `make install` writes it passes
 * `systemd-analyze verify` with no warning and rates 2.0 or better in `systemd-analyze security`;
 * the sysusers.d snippet creates the mdfeed system user and group; and the daemon works inside
 * the unit's restrictions. systemd is not PID 1 here, so that last test applies what can be
 * applied to an ordinary process (no_new_privs, MemoryDenyWriteExecute through PR_SET_MDWE,
 * RestrictAddressFamilies through a seccomp filter, as systemd builds it) and checks, from an
 * strace of a real run (TLS venue, SIGHUP, SIGTERM), that every system call is in the unit's
 * SystemCallFilter and every file touched is one the unit's file-system view leaves reachable.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/certs.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

/* The source tree and the build tree this runner was built in (<root>/<build>/tests/run). */
static void trees(char *root, char *build, size_t len)
{
    const char *bin = test_bin("x"); /* <build>/bin/x */
    char *p;

    snprintf(build, len, "%s", bin);
    *strrchr(build, '/') = '\0';
    *strrchr(build, '/') = '\0';
    snprintf(root, len, "%s", build);
    /* build is <root>/build or <root>/build/san-...: root is above the first "/build". */
    p = strstr(root, "/build");
    ASSERT(p != NULL);
    *p = '\0';
}

/* Runs a shell command; its stdout goes to *out (new), its stderr to *err (new) or, with err
 * NULL, to the test's stderr. Returns the exit status. */
static int sh(const char *cmd, char **out, char **err)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};

    return test_run_capture(argv, out, err);
}

/* The whole of a file (new), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;

    if (!f)
        return NULL;
    if (getdelim(&buf, &len, '\0', f) < 0) {
        free(buf);
        buf = strdup("");
    }
    fclose(f);
    return buf;
}

/* The value of the last "Key=" line of a unit text (in the static buffer), or NULL. */
static const char *unit_get(const char *text, const char *key)
{
    static char val[1024];
    const char *p = text, *found = NULL;
    size_t klen = strlen(key);

    for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            found = p + klen + 1;
    if (!found)
        return NULL;
    snprintf(val, sizeof(val), "%.*s", (int)strcspn(found, "\n"), found);
    return val;
}

/* A systemd time span in seconds ("30s", "10min", "2min 30s", "45"). */
static double timespan_s(const char *v)
{
    double total = 0, x;
    char unit[16];
    int used;

    while (v && sscanf(v, " %lf%15[a-z]%n", &x, unit, &used) >= 1) {
        if (strcmp(unit, "min") == 0 || strcmp(unit, "m") == 0)
            x *= 60;
        else if (strcmp(unit, "ms") == 0)
            x /= 1000;
        total += x;
        v += used;
        unit[0] = '\0';
    }
    return total;
}

TEST(systemd_unit_verifies_cleanly_with_installed_paths)
{
    char root[1024], build[1024], dest[] = "/tmp/mdfeed-unit.XXXXXX", cmd[8192], want[4096];
    char unit[2048], *text, *out, *err;
    const char *v;

    trees(root, build, sizeof(root));
    ASSERT(mkdtemp(dest) != NULL);
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    /* Installed under a prefix of its own (no DESTDIR), so that the paths written into the unit
     * exist and verify can check them. */
    snprintf(cmd, sizeof(cmd),
             "make -s -C %s --no-print-directory install PREFIX=%s/usr SYSCONFDIR=%s/etc B=%s "
             "SANITIZER=%s",
             root, dest, dest, test_under(build, root),
             strstr(build, "san-address")  ? "address,undefined"
             : strstr(build, "san-thread") ? "thread"
                                           : "");
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
    snprintf(unit, sizeof(unit), "%s/usr/lib/systemd/system/mdfeedd.service", dest);
    text = slurp(unit);
    ASSERT(text != NULL);
    ASSERT(strstr(text, "@BINDIR@") == NULL);
    ASSERT(strstr(text, "@SYSCONFDIR@") == NULL);
    snprintf(want, sizeof(want), "%s/usr/bin/mdfeedd -c %s/etc/mdfeed/mdfeed.conf", dest, dest);
    ASSERT_STR_EQ(unit_get(text, "ExecStart"), want);

    /* What the daemon and its readers rely on. */
    ASSERT_STR_EQ(unit_get(text, "Type"), "notify");
    ASSERT_STR_EQ(unit_get(text, "NotifyAccess"), "main");
    ASSERT_STR_EQ(unit_get(text, "ExecReload"), "/bin/kill -HUP $MAINPID");
    ASSERT_STR_EQ(unit_get(text, "Restart"), "on-failure");
    /* A /dev/shm too full for the rings (status 3) is not restarted into the same failure. */
    ASSERT_STR_EQ(unit_get(text, "RestartPreventExitStatus"), "3");
    ASSERT_STR_EQ(unit_get(text, "User"), "mdfeed");
    ASSERT_STR_EQ(unit_get(text, "Group"), "mdfeed");
    /* Either of these would delete the rings when the unit stops. */
    ASSERT_STR_EQ(unit_get(text, "RemoveIPC"), "no");
    ASSERT(unit_get(text, "DynamicUser") == NULL);
    /* Segments must stay visible to readers outside the unit. */
    ASSERT(unit_get(text, "PrivateDevices") == NULL);
    ASSERT(unit_get(text, "PrivateIPC") == NULL);
    ASSERT(unit_get(text, "TemporaryFileSystem") == NULL);
    v = unit_get(text, "ReadWritePaths");
    ASSERT(v != NULL);
    ASSERT_CONTAINS(v, "/dev/shm");
    /* The watchdog thread pings at half the timeout; the stop deadline is 10 s. */
    ASSERT(timespan_s(unit_get(text, "WatchdogSec")) >= 10);
    ASSERT(timespan_s(unit_get(text, "TimeoutStopSec")) > 10);
    ASSERT(timespan_s(unit_get(text, "RestartSec")) >= 1);
    ASSERT(unit_get(text, "StartLimitBurst") != NULL);
    free(text);

    /* verify: unit syntax, every key known, the binaries executable, the man pages named by
     * Documentation= installed (when man(1) is there to look them up). */
    snprintf(cmd, sizeof(cmd),
             "if command -v man >/dev/null; then m=yes; else m=no; fi; "
             "MANPATH=%s/usr/share/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=$m %s",
             dest, unit);
    if (sh(cmd, &out, &err) != 0 || out[0] || err[0])
        test_fail(__FILE__, __LINE__, "systemd-analyze verify %s:\n%s%s", unit, out, err);
    free(out);
    free(err);
    /* The same check bites: a unit whose binary is missing is refused. */
    snprintf(cmd, sizeof(cmd),
             "sed 's|^ExecStart=[^ ]*|ExecStart=%s/usr/bin/no-such-daemon|' %s > %s/broken.service"
             " && systemd-analyze verify --man=no %s/broken.service",
             dest, unit, dest, dest);
    ASSERT_NE(sh(cmd, &out, &err), 0);
    ASSERT_CONTAINS(err, "no-such-daemon");
    free(out);
    free(err);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dest);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
    return 0;
}

/* Writes the unit from the source template as `make install` does, with the build's bin
 * directory and dir as the configuration root, into dir/mdfeedd.service (path in unit). */
static void unit_from_source(char *unit, size_t cap, const char *dir)
{
    char root[1024], build[1024], cmd[8192], *out;

    trees(root, build, sizeof(root));
    snprintf(unit, cap, "%s/mdfeedd.service", dir);
    snprintf(cmd, sizeof(cmd),
             "sed -e 's|@BINDIR@|%s/bin|g' -e 's|@SYSCONFDIR@|%s|g' %s/systemd/mdfeedd.service.in"
             " > %s",
             build, dir, root, unit);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
}

TEST(systemd_unit_security_exposure_is_at_most_2_0)
{
    char dir[] = "/tmp/mdfeed-sec.XXXXXX", unit[2048], cmd[4096], *out, *err, *p;
    double score = 99;
    int rc;

    ASSERT(mkdtemp(dir) != NULL);
    unit_from_source(unit, sizeof(unit), dir);
    /* --offline: rate the file itself (no running manager needed); --threshold is in tenths. */
    snprintf(cmd, sizeof(cmd),
             "SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true --threshold=20 "
             "--no-pager %s",
             unit);
    rc = sh(cmd, &out, &err);
    /* A misspelt or unknown setting is only a warning to systemd: none is allowed here. */
    if (err[0])
        test_fail(__FILE__, __LINE__, "systemd-analyze security warned:\n%s", err);
    p = strstr(out, "Overall exposure level for mdfeedd.service:");
    ASSERT(p != NULL);
    ASSERT_EQ(sscanf(p + strlen("Overall exposure level for mdfeedd.service:"), "%lf", &score), 1);
    /* What is still exposed, and the score, in the test output. */
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
        if (strstr(l, "\u2717") || strstr(l, "Overall exposure"))
            printf("  %s\n", l);
    printf("  security exposure score: %.1f (limit 2.0)\n", score);
    ASSERT(score <= 2.0);
    ASSERT_EQ(rc, 0);
    free(out);
    free(err);
    unlink(unit);
    rmdir(dir);
    return 0;
}

TEST(systemd_sysusers_creates_the_mdfeed_system_user_and_group)
{
    char root[1024], build[1024], sysroot[] = "/tmp/mdfeed-sysusers.XXXXXX", cmd[8192];
    char path[2048], *out, *passwd, *group, *again, *p;
    unsigned uid = 0, gid = 0, ggid = 1;
    char gecos[128] = "", home[256] = "", shell[256] = "";

    trees(root, build, sizeof(root));
    ASSERT(mkdtemp(sysroot) != NULL);
    /* Laid out as `make install` does, then applied to that root by systemd-sysusers. */
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/etc %s/usr/lib/sysusers.d && cp %s/systemd/mdfeed.sysusers "
             "%s/usr/lib/sysusers.d/mdfeed.conf && systemd-sysusers --root=%s",
             sysroot, sysroot, root, sysroot, sysroot);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
    snprintf(path, sizeof(path), "%s/etc/passwd", sysroot);
    passwd = slurp(path);
    snprintf(path, sizeof(path), "%s/etc/group", sysroot);
    group = slurp(path);
    ASSERT(passwd != NULL && group != NULL);
    p = strstr(passwd, "mdfeed:x:");
    ASSERT(p != NULL);
    ASSERT_EQ(
        sscanf(p, "mdfeed:x:%u:%u:%127[^:]:%255[^:]:%255[^\n]", &uid, &gid, gecos, home, shell), 5);
    printf("  %.*s\n", (int)strcspn(p, "\n"), p);
    /* A system user: a uid from the system range, no login shell. */
    ASSERT(uid > 0 && uid < 1000);
    ASSERT_STR_EQ(gecos, "mdfeed market-data daemon");
    ASSERT_CONTAINS(shell, "nologin");
    /* Its primary group is the group mdfeed that strategy users join. */
    p = strstr(group, "mdfeed:x:");
    ASSERT(p != NULL);
    ASSERT_EQ(sscanf(p, "mdfeed:x:%u:", &ggid), 1);
    ASSERT_EQ(ggid, gid);
    /* Running it again (every boot does) changes nothing. */
    snprintf(cmd, sizeof(cmd), "systemd-sysusers --root=%s", sysroot);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
    snprintf(path, sizeof(path), "%s/etc/passwd", sysroot);
    again = slurp(path);
    ASSERT_STR_EQ(again, passwd);
    free(again);
    free(passwd);
    free(group);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", sysroot);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    free(out);
    return 0;
}

/* ---- the daemon inside the unit's restrictions -------------------------------------------- */

/* A set of names, each stored as "\nname\n" inside one string (small: a few hundred names). */
struct names {
    char *s;    /* "\na\nb\n..." */
    size_t len; /* its length */
};

static bool names_has(const struct names *n, const char *name)
{
    char key[128];

    snprintf(key, sizeof(key), "\n%s\n", name);
    return n->s && strstr(n->s, key) != NULL;
}

static void names_add(struct names *n, const char *name)
{
    size_t k = strlen(name);

    if (names_has(n, name))
        return;
    n->s = realloc(n->s, n->len + k + 3);
    ASSERT(n->s != NULL);
    if (n->len == 0)
        n->s[n->len++] = '\n';
    memcpy(n->s + n->len, name, k);
    n->len += k;
    n->s[n->len++] = '\n';
    n->s[n->len] = '\0';
}

/* Adds the system calls of a systemd syscall-filter set (nested sets expanded) to n. */
static void filter_set(struct names *n, const char *set)
{
    char cmd[256], *out;

    snprintf(cmd, sizeof(cmd), "systemd-analyze syscall-filter --no-pager '%s'", set);
    ASSERT_EQ(sh(cmd, &out, NULL), 0);
    for (char *l = out, *next; l && *l; l = next) {
        next = strchr(l, '\n');
        if (next)
            *next++ = '\0';
        /* Members are indented; the first line names the set itself. */
        if (strncmp(l, "    ", 4) != 0)
            continue;
        l += 4;
        if (l[0] == '#' || !l[0])
            continue;
        if (l[0] == '@')
            filter_set(n, l);
        else
            names_add(n, l);
    }
    free(out);
}

/* What the unit restricts that this test can apply to an ordinary process or check in a trace,
 * read from the unit file itself. */
struct unit_rules {
    struct names allowed; /* SystemCallFilter=, groups expanded, in order */
    int family[8];        /* RestrictAddressFamilies= */
    int n_family;         /* their count */
};

/* Removes every name of del from n. */
static void names_remove(struct names *n, const struct names *del)
{
    for (const char *p = del->s ? del->s + 1 : ""; *p;) {
        size_t k = strcspn(p, "\n");
        char key[128];
        char *hit;

        snprintf(key, sizeof(key), "\n%.*s\n", (int)k, p);
        while (n->s && (hit = strstr(n->s, key)) != NULL)
            memmove(hit, hit + k + 1, strlen(hit + k + 1) + 1);
        p += k + (p[k] == '\n');
    }
    n->len = n->s ? strlen(n->s) : 0;
}

/* Reads the rules from the unit text. Fails the test on a setting it cannot mirror. */
static void unit_rules_read(struct unit_rules *r, const char *text)
{
    static const struct {
        const char *name; /* RestrictAddressFamilies= spelling */
        int af;           /* its number */
    } fams[] = {{"AF_UNIX", AF_UNIX},
                {"AF_INET", AF_INET},
                {"AF_INET6", AF_INET6},
                {"AF_NETLINK", AF_NETLINK},
                {"AF_PACKET", AF_PACKET}};
    bool first = true;

    memset(r, 0, sizeof(*r));
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        char val[1024], *save = NULL;
        bool deny;
        struct names set = {0};

        if (strncmp(l, "SystemCallFilter=", 17) == 0) {
            snprintf(val, sizeof(val), "%.*s", (int)strcspn(l + 17, "\n"), l + 17);
            deny = val[0] == '~';
            /* The first line decides: an allow list here (a deny-list unit rates worse). */
            ASSERT(!(first && deny));
            first = false;
            for (char *w = strtok_r(val + deny, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (w[0] == '@')
                    filter_set(&set, w);
                else
                    names_add(&set, w);
            }
            if (deny) {
                names_remove(&r->allowed, &set);
            } else {
                for (const char *p = set.s ? set.s + 1 : ""; *p;) {
                    size_t k = strcspn(p, "\n");
                    char one[128];

                    snprintf(one, sizeof(one), "%.*s", (int)k, p);
                    names_add(&r->allowed, one);
                    p += k + (p[k] == '\n');
                }
            }
            free(set.s);
        } else if (strncmp(l, "RestrictAddressFamilies=", 24) == 0) {
            snprintf(val, sizeof(val), "%.*s", (int)strcspn(l + 24, "\n"), l + 24);
            ASSERT(val[0] != '~');
            for (char *w = strtok_r(val, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                size_t i;

                for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
                    if (strcmp(w, fams[i].name) == 0)
                        break;
                if (i == sizeof(fams) / sizeof(fams[0]))
                    test_fail(__FILE__, __LINE__, "address family %s: unknown to this test", w);
                ASSERT(r->n_family < 8);
                r->family[r->n_family++] = fams[i].af;
            }
        }
    }
    ASSERT(r->allowed.s != NULL && r->n_family > 0);
}

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65 /* Linux 6.3 */
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

/* In the child, before exec: what the unit's NoNewPrivileges=, MemoryDenyWriteExecute=,
 * SystemCallArchitectures=native and RestrictAddressFamilies= do to the process (the latter as
 * systemd builds it: socket() of another family fails with EAFNOSUPPORT). Returns 0 or -errno. */
static int apply_unit_restrictions(const struct unit_rules *r)
{
#ifdef NATIVE_AUDIT_ARCH
    struct sock_filter f[16];
    struct sock_fprog prog = {.filter = f};
    int n = r->n_family, k = 0;

    f[k++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[k++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    /* Not socket(): to the final ALLOW, past n + 2 instructions. */
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0,
                                          (unsigned char)(n + 2));
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, args[0]));
    for (int i = 0; i < n; i++) /* a listed family: to ALLOW, past the remaining n - i */
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->family[i],
                                              (unsigned char)(n - i), 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                          SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA));
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog.len = (unsigned short)k;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) < 0)
        return -errno;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return -errno;
    return 0;
#else
    (void)r;
    return -ENOSYS;
#endif
}

/* What one run's traces showed. */
struct trace_check {
    struct names used;      /* every system call made */
    struct names outside;   /* calls outside the unit's SystemCallFilter */
    struct names bad_paths; /* files the unit would hide or keep read-only, with the call */
    struct names wx;        /* mappings that MemoryDenyWriteExecute refuses */
    struct names families;  /* address families of sockets created */
    struct names refused;   /* address families refused (RestrictAddressFamilies=) */
    long calls;             /* lines parsed */
};

/* True if path stays readable inside the unit (ProtectSystem=strict, ProtectHome=, PrivateTmp=,
 * ProtectProc=invisible, ProcSubset=pid, DevicePolicy=closed), given the stand-ins for
 * /etc/mdfeed (conf_dir) and the CA bundle (ca_dir) that live in /tmp during the test. */
static bool readable_in_unit(const char *path, const char *conf_dir, const char *ca_dir)
{
    /* Hidden (ProtectHome=) or private and empty (PrivateTmp=). */
    static const char *const hidden[] = {"/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/"};
    /* Read-only but there. /proc, /dev: only what is listed. */
    static const char *const ok_prefix[] = {
        "/etc/", "/usr/",  "/lib/",     "/lib64/",     "/lib32/",
        "/bin/", "/sbin/", "/opt/",     "/srv/",       "/run/",
        "/var/", "/sys/",  "/dev/shm/", "/proc/self/", "/proc/thread-self/"};
    static const char *const ok_dev[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                         "/dev/urandom"};
    const char *q;

    if (strncmp(path, conf_dir, strlen(conf_dir)) == 0 ||
        strncmp(path, ca_dir, strlen(ca_dir)) == 0)
        return true;
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (strncmp(path, hidden[i], strlen(hidden[i])) == 0)
            return false;
    for (size_t i = 0; i < sizeof(ok_dev) / sizeof(ok_dev[0]); i++)
        if (strcmp(path, ok_dev[i]) == 0)
            return true;
    /* /proc/PID/...: the pid directories stay (of this user's processes); the rest goes. */
    if (strncmp(path, "/proc/", 6) == 0 && strncmp(path, "/proc/self/", 11) != 0 &&
        strncmp(path, "/proc/thread-self/", 18) != 0) {
        for (q = path + 6; *q >= '0' && *q <= '9'; q++)
            ;
        return q > path + 6 && (*q == '/' || *q == '\0');
    }
    if (strncmp(path, "/dev/", 5) == 0 && strncmp(path, "/dev/shm/", 9) != 0)
        return false;
    if (strcmp(path, "/") == 0)
        return true;
    for (size_t i = 0; i < sizeof(ok_prefix) / sizeof(ok_prefix[0]); i++)
        if (strncmp(path, ok_prefix[i], strlen(ok_prefix[i])) == 0)
            return true;
    return false;
}

/* True if the unit lets the daemon write there (ReadWritePaths=/dev/shm; /dev/null; a reopened
 * descriptor of its own, which points into /dev/shm). */
static bool writable_in_unit(const char *path)
{
    return strncmp(path, "/dev/shm/", 9) == 0 || strcmp(path, "/dev/null") == 0 ||
           strncmp(path, "/proc/self/fd/", 14) == 0;
}

/* Parses one strace line (one thread's file, so never split): "name(args) = result". */
static void check_line(struct trace_check *t, const struct names *allowed, const char *line,
                       const char *conf_dir, const char *ca_dir)
{
    static const char *const writers[] = {
        "unlink", "unlinkat", "rename",    "renameat", "renameat2", "mkdir", "mkdirat",
        "rmdir",  "truncate", "symlink",   "link",     "linkat",    "chmod", "fchmodat",
        "chown",  "fchownat", "utimensat", "mknod",    "mknodat"};
    static const char *const path_calls[] = {
        "open",     "openat",    "openat2",   "creat",      "stat",     "lstat",      "newfstatat",
        "statx",    "access",    "faccessat", "faccessat2", "readlink", "readlinkat", "execve",
        "statfs",   "chdir",     "getxattr",  "lgetxattr",  "unlink",   "unlinkat",   "rename",
        "renameat", "renameat2", "mkdir",     "mkdirat",    "rmdir",    "truncate",   "symlink",
        "link",     "linkat",    "chmod",     "fchmodat",   "chown",    "fchownat",   "utimensat",
        "mknod",    "mknodat"};
    char name[64], entry[600];
    const char *res, *q;
    size_t k = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_");
    bool ok, write = false;

    if (k == 0 || k >= sizeof(name) || line[k] != '(')
        return; /* signals, exits, "<... resumed>" */
    memcpy(name, line, k);
    name[k] = '\0';
    t->calls++;
    names_add(&t->used, name);
    if (!names_has(allowed, name))
        names_add(&t->outside, name);
    res = strstr(line, ") = ");
    ok = res && res[4] != '-' && res[4] != '?';
    if ((strcmp(name, "mmap") == 0 && strstr(line, "PROT_WRITE|PROT_EXEC")) ||
        ((strcmp(name, "mprotect") == 0 || strcmp(name, "pkey_mprotect") == 0) &&
         strstr(line, "PROT_EXEC"))) {
        snprintf(entry, sizeof(entry), "%.500s", line);
        names_add(&t->wx, entry);
    }
    if (strcmp(name, "socket") == 0) {
        snprintf(entry, sizeof(entry), "%.*s", (int)strcspn(line + 7, ","), line + 7);
        names_add(ok ? &t->families : &t->refused, entry);
    }
    /* The first path argument of a call on paths that succeeded. */
    for (k = 0; k < sizeof(path_calls) / sizeof(path_calls[0]); k++)
        if (strcmp(name, path_calls[k]) == 0)
            break;
    q = strstr(line, "\"/");
    if (!ok || !q || q > res || k == sizeof(path_calls) / sizeof(path_calls[0]))
        return;
    q++;
    snprintf(entry, sizeof(entry), "%.*s", (int)strcspn(q, "\""), q);
    if (strcmp(name, "execve") == 0)
        return; /* the daemon's own binary, started by systemd */
    if (strcmp(name, "openat") == 0 || strcmp(name, "open") == 0)
        write = strstr(line, "O_WRONLY") || strstr(line, "O_RDWR") || strstr(line, "O_CREAT") ||
                strstr(line, "O_TRUNC");
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
        write |= strcmp(name, writers[i]) == 0;
    if (write ? !writable_in_unit(entry) : !readable_in_unit(entry, conf_dir, ca_dir)) {
        char both[700];

        snprintf(both, sizeof(both), "%s %s (%s)", name, entry, write ? "write" : "read");
        names_add(&t->bad_paths, both);
    }
}

/* The number of entries of a set. */
static size_t names_count(const struct names *n)
{
    size_t c = 0;

    for (const char *p = n->s; p && *p; p++)
        c += *p == '\n';
    return c ? c - 1 : 0;
}

/* Prints the entries of a set, one per line, indented. */
static void names_print(const char *title, const struct names *n)
{
    printf("  %s:\n", title);
    for (const char *p = n->s ? n->s + 1 : ""; *p;) {
        size_t k = strcspn(p, "\n");

        printf("    %.*s\n", (int)k, p);
        p += k + (p[k] == '\n');
    }
}

TEST(systemd_daemon_works_within_the_units_sandbox)
{
    const char *ca_dir = certs_dir();
    char conf_dir[] = "/tmp/mdfeed-etc.XXXXXX", trace_dir[] = "/tmp/mdfeed-trace.XXXXXX";
    char good_cert[512], good_key[512], line[1024], path[1024], *out;
    const char *fv_args[] = {"--tls-cert",      good_cert,       "--tls-key", good_key, "--market",
                             "AAAUSDT,BBBUSDT", "--market-rate", "50",        NULL};
    struct unit_rules rules;
    struct names heard = {0};
    struct trace_check t = {0};
    struct fv_proc fv;
    struct dmn d;
    mdf_record_t *ticks = NULL;
    long nt = 0;
    int pfd[2], daemon_pid = 0, notify_fd, notes = 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char notify_name[108];
    pid_t parent = getpid();
    FILE *f;
    DIR *dir;
    struct dirent *de;

    if (sh("command -v strace >/dev/null", &out, NULL) != 0)
        test_skip("strace is not installed (Debian package strace)");
    free(out);
    ASSERT(ca_dir != NULL);

    /* The unit's rules, from the unit as `make install` writes it. */
    {
        char unit_dir[] = "/tmp/mdfeed-unit.XXXXXX", unit[2048];
        char *text;

        ASSERT(mkdtemp(unit_dir) != NULL);
        unit_from_source(unit, sizeof(unit), unit_dir);
        text = slurp(unit);
        ASSERT(text != NULL);
        unlink(unit);
        rmdir(unit_dir);
        ASSERT_STR_EQ(unit_get(text, "NoNewPrivileges"), "yes");
        ASSERT_STR_EQ(unit_get(text, "MemoryDenyWriteExecute"), "yes");
        ASSERT_STR_EQ(unit_get(text, "SystemCallArchitectures"), "native");
        unit_rules_read(&rules, text);
        free(text);
        ASSERT(names_has(&rules.allowed, "openat") && !names_has(&rules.allowed, "setuid"));
    }

    /* A TLS venue on "localhost": DNS through glibc, certificates, the CA file. */
    snprintf(good_cert, sizeof(good_cert), "%s/good.pem", ca_dir);
    snprintf(good_key, sizeof(good_key), "%s/good.key", ca_dir);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);

    /* The configuration, in a directory standing in for /etc/mdfeed. */
    ASSERT(mkdtemp(conf_dir) != NULL);
    ASSERT(mkdtemp(trace_dir) != NULL);
    memset(&d, 0, sizeof(d));
    snprintf(d.instance, sizeof(d.instance), "%s", test_instance());
    snprintf(d.conf, sizeof(d.conf), "%s/mdfeed.conf", conf_dir);
    f = fopen(d.conf, "w");
    ASSERT(f != NULL);
    fprintf(f,
            "instance = \"%s\";\n"
            "venues = ({ venue = \"binance-spot\"; url = \"wss://localhost:%d\";\n"
            "  rest_url = \"https://localhost:%d\"; ca_file = \"%s/ca.pem\";\n"
            "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"both\"; kline = \"1m\";\n"
            "  book_ticker = true; order_book = \"diff\"; book_speed = 100; });\n",
            d.instance, fv.port, fv.port, ca_dir);
    ASSERT_EQ(fclose(f), 0);

    /* A notify socket, as systemd gives a Type=notify service. */
    snprintf(notify_name, sizeof(notify_name), "@mdfeed-test-notify/%d", (int)getpid());
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT(notify_fd >= 0);
    ASSERT_EQ(setsockopt(notify_fd, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)), 0);
    memcpy(sa.sun_path + 1, notify_name + 1, strlen(notify_name) - 1);
    ASSERT_EQ(bind(notify_fd, (struct sockaddr *)&sa,
                   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(notify_name))),
              0);

    /* mdfeedd as systemd would start it (environment, restrictions), under strace. */
    ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
    d.p.pid = fork();
    ASSERT(d.p.pid >= 0);
    if (d.p.pid == 0) {
        char prefix[1100];
        int rc;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], STDERR_FILENO);
        setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
        unsetenv("JOURNAL_STREAM");
        setenv("NOTIFY_SOCKET", notify_name, 1);
        setenv("WATCHDOG_USEC", "30000000", 1);
        unsetenv("WATCHDOG_PID");
#if defined(__SANITIZE_ADDRESS__)
        /* LeakSanitizer stops the world with ptrace, which strace already holds. */
        {
            char opts[1024];
            const char *o = getenv("ASAN_OPTIONS");

            snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", o ? o : "", o && *o ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
#endif
        rc = apply_unit_restrictions(&rules);
        if (rc < 0) {
            fprintf(stderr, "cannot apply the unit's restrictions: %s\n", strerror(-rc));
            _exit(125);
        }
        snprintf(prefix, sizeof(prefix), "%s/t", trace_dir);
        execlp("strace", "strace", "-ff", "-qq", "-s", "4096", "-e", "signal=none", "-o", prefix,
               test_bin("mdfeedd"), "-c", d.conf, (char *)NULL);
        fprintf(stderr, "exec strace: %s\n", strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    d.p.out_fd = pfd[0];
    if (dmn_wait(&d, "running:", 30000, line, sizeof(line)) != 0)
        test_fail(__FILE__, __LINE__, "mdfeedd did not start inside the restrictions");
    ASSERT(strstr(line, " pid ") != NULL);
    daemon_pid = atoi(strstr(line, " pid ") + 5);
    ASSERT_GT(daemon_pid, 0);
    /* Under systemd the log lines carry "<N>" priorities for the journal. */
    ASSERT_EQ(line[0], '<');

    /* Data flows: TLS, WebSocket, decode, shared memory. */
    for (int k = 0; k < 300 && nt <= 0; k++) {
        free(ticks);
        ticks = NULL;
        nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
        if (nt <= 0)
            usleep(100000);
    }
    free(ticks);
    ASSERT_GT(nt, 0);
    /* Reload (ExecReload) and stop (systemctl stop) both work too. */
    ASSERT_EQ(kill(daemon_pid, SIGHUP), 0);
    ASSERT_EQ(dmn_wait(&d, "CONFIG_RELOADED", 30000, NULL, 0), 0);
    ASSERT_EQ(kill(daemon_pid, SIGTERM), 0);
    {
        int st = dmn_wait_exit(&d, 30000);

        if (st != 0) {
            char rest[8192];
            ssize_t k = read(d.p.out_fd, rest, sizeof(rest) - 1);

            rest[k > 0 ? k : 0] = '\0';
            test_fail(__FILE__, __LINE__, "mdfeedd exited with %d; its last words:\n%.*s%s", st,
                      (int)d.p.len, d.p.buf, rest);
        }
    }
    close(d.p.out_fd);
    fv_stop(&fv);
    /* What the service manager heard, and from whom (NotifyAccess=main). */
    for (;;) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(struct ucred))];
        } ctl;
        struct iovec iov = {.iov_base = line, .iov_len = sizeof(line) - 1};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
        struct cmsghdr *c;
        struct ucred uc = {0};
        ssize_t k = recvmsg(notify_fd, &mh, MSG_DONTWAIT);

        if (k < 0)
            break;
        line[k] = '\0';
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                memcpy(&uc, CMSG_DATA(c), sizeof(uc));
        ASSERT_EQ(uc.pid, daemon_pid);
        for (char *l = strtok(line, "\n"); l; l = strtok(NULL, "\n"))
            if (strncmp(l, "STATUS=", 7) != 0)
                names_add(&heard, l);
        notes++;
    }
    close(notify_fd);
    names_print("notifications (besides STATUS=)", &heard);
    ASSERT(names_has(&heard, "READY=1"));
    ASSERT(names_has(&heard, "RELOADING=1"));
    ASSERT(names_has(&heard, "STOPPING=1"));
    free(heard.s);

    /* Every thread's trace. */
    dir = opendir(trace_dir);
    ASSERT(dir != NULL);
    while ((de = readdir(dir)) != NULL) {
        char *buf = NULL;
        size_t cap = 0;

        if (de->d_name[0] != 't')
            continue;
        snprintf(path, sizeof(path), "%s/%s", trace_dir, de->d_name);
        f = fopen(path, "r");
        ASSERT(f != NULL);
        while (getline(&buf, &cap, f) > 0) {
            buf[strcspn(buf, "\n")] = '\0';
            check_line(&t, &rules.allowed, buf, conf_dir, ca_dir);
        }
        free(buf);
        fclose(f);
        unlink(path);
    }
    closedir(dir);
    rmdir(trace_dir);
    unlink(d.conf);
    rmdir(conf_dir);

    printf("  %ld system calls of %zu kinds traced; %d notifications received\n", t.calls,
           names_count(&t.used), notes);
    names_print("socket families", &t.families);
    if (t.refused.s)
        names_print("socket families refused (the daemon carried on)", &t.refused);
    if (t.outside.s)
        names_print("system calls outside SystemCallFilter", &t.outside);
    if (t.bad_paths.s)
        names_print("files outside the unit's view", &t.bad_paths);
    if (t.wx.s)
        names_print("mappings MemoryDenyWriteExecute refuses", &t.wx);
    ASSERT_GT(t.calls, 100);
    ASSERT(names_has(&t.used, "openat"));
    ASSERT(t.outside.s == NULL);
    ASSERT(t.bad_paths.s == NULL);
    ASSERT(t.wx.s == NULL);
    free(rules.allowed.s);
    free(t.used.s);
    free(t.families.s);
    free(t.refused.s);
    return 0;
}
