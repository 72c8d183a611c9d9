/*
 * `make install DESTDIR=...` puts every file in place with its mode (binaries, versioned shared
 * library with its soname, static library, headers, pkg-config file, man pages, the config, the
 * systemd unit with the installed paths in it, the sysusers.d snippet, the example sources), and
 * the C example in README.md compiles against the installed files with pkg-config and reads live
 * data.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "shm/publisher.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SAN_FLAGS "-fsanitize=address,undefined"
#elif defined(__SANITIZE_THREAD__)
#define SAN_FLAGS "-fsanitize=thread"
#else
#define SAN_FLAGS ""
#endif

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

static int sh(const char *cmd, char **out)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    char *err = NULL;
    int rc = test_run_capture(argv, out, &err);

    if (rc != 0)
        fprintf(stderr, "  $ %s\n  -> %d\n%s%s", cmd, rc, *out, err);
    free(err);
    return rc;
}

TEST(install_puts_every_file_and_readme_example_builds_and_reads)
{
    /* Every file `make install PREFIX=/usr` writes, with its mode (0 = a symlink). */
    static const struct {
        const char *path; /* under DESTDIR */
        unsigned mode;    /* permission bits, or 0 for a symlink */
    } files[] = {
        {"usr/bin/mdfeedd", 0755},
        {"usr/bin/mdfeed-cat", 0755},
        {"usr/bin/mdfeed-top", 0755},
        {"usr/bin/mdfeed-synth", 0755},
        {"usr/bin/mdfeed-fakevenue", 0755},
        {"etc/mdfeed/mdfeed.conf", 0644},
        {"usr/lib/libmdfeed.a", 0644},
        {"usr/lib/libmdfeed.so.2.0.0", 0755},
        {"usr/lib/libmdfeed.so.2", 0},
        {"usr/lib/libmdfeed.so", 0},
        {"usr/include/mdfeed/mdfeed.h", 0644},
        {"usr/include/mdfeed/layout.h", 0644},
        {"usr/include/mdfeed/health.h", 0644},
        {"usr/lib/pkgconfig/mdfeed.pc", 0644},
        {"usr/lib/systemd/system/mdfeedd.service", 0644},
        {"usr/lib/sysusers.d/mdfeed.conf", 0644},
        {"usr/share/man/man1/mdfeed-cat.1", 0644},
        {"usr/share/man/man1/mdfeed-top.1", 0644},
        {"usr/share/man/man1/mdfeed-synth.1", 0644},
        {"usr/share/man/man1/mdfeed-fakevenue.1", 0644},
        {"usr/share/man/man3/libmdfeed.3", 0644},
        {"usr/share/man/man3/mdfeed-python.3", 0644},
        {"usr/share/man/man5/mdfeed.conf.5", 0644},
        {"usr/share/man/man8/mdfeedd.8", 0644},
        {"usr/share/doc/mdfeed/examples/README.md", 0644},
        {"usr/share/doc/mdfeed/examples/reader.c", 0644},
        {"usr/share/doc/mdfeed/examples/ema_rsi.c", 0644},
        {"usr/share/doc/mdfeed/examples/spread.c", 0644},
        {"usr/share/doc/mdfeed/examples/ema_rsi_signals.py", 0644},
        {"usr/share/doc/mdfeed/examples/candles_png.py", 0644},
        {"usr/lib/python3/dist-packages/mdfeed/__init__.py", 0644},
        {"usr/lib/python3/dist-packages/mdfeed/_lib.py", 0644},
        {"usr/lib/python3/dist-packages/mdfeed/subscription.py", 0644},
        {"usr/lib/python3/dist-packages/mdfeed/topics.py", 0644},
        {"usr/lib/python3/dist-packages/mdfeed/health.py", 0644},
    };
    char root[1024], build[1024], dest[] = "/tmp/mdfeed-install.XXXXXX", cmd[8192], *out;
    struct pub_params prm;
    struct publisher p;
    union mdf_record r;
    struct stat st;
    int status, lines = 0;
    int64_t t0;
    pid_t pid;

    trees(root, build, sizeof(root));
    ASSERT(mkdtemp(dest) != NULL);
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    snprintf(cmd, sizeof(cmd),
             "make -s -C %s --no-print-directory install DESTDIR=%s PREFIX=/usr B=%s "
             "SANITIZER=%s",
             root, dest, test_under(build, root),
             strstr(build, "san-address")  ? "address,undefined"
             : strstr(build, "san-thread") ? "thread"
                                           : "");
    /* A root with a strict umask (077) still installs files others can read and run. */
    umask(077);
    ASSERT_EQ(sh(cmd, &out), 0);
    umask(022);
    free(out);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[2048];

        snprintf(path, sizeof(path), "%s/%s", dest, files[i].path);
        if (lstat(path, &st) != 0)
            test_fail(__FILE__, __LINE__, "not installed: %s", files[i].path);
        if (files[i].mode == 0 && !S_ISLNK(st.st_mode))
            test_fail(__FILE__, __LINE__, "%s: not a symlink", files[i].path);
        if (files[i].mode && (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != files[i].mode))
            test_fail(__FILE__, __LINE__, "%s: mode %04o, expected %04o", files[i].path,
                      (unsigned)(st.st_mode & 07777), files[i].mode);
        if (files[i].mode == 0 && stat(path, &st) != 0)
            test_fail(__FILE__, __LINE__, "%s: a dangling symlink", files[i].path);
    }
    /* The installed Python package imports and loads the installed library (a plain build's:
     * CPython cannot load a sanitizer build's without preloading its runtime). */
    if (!strstr(build, "/san-")) {
        snprintf(cmd, sizeof(cmd),
                 "cd / && MDFEED_LIB=%s/usr/lib/libmdfeed.so.2 "
                 "PYTHONPATH=%s/usr/lib/python3/dist-packages /usr/bin/python3 -c "
                 "'import mdfeed; print(mdfeed.__file__, mdfeed.library_path)'",
                 dest, dest);
        ASSERT_EQ(sh(cmd, &out), 0);
        ASSERT_CONTAINS(out, "usr/lib/python3/dist-packages/mdfeed/__init__.py");
        free(out);
    }
    /* `man mdf_open`, and every public function of mdfeed.h, lands in libmdfeed(3); the page
     * names each of them, and every page's SEE ALSO names every other page. */
    {
        static const char *const pages[] = {"man8/mdfeedd.8",         "man5/mdfeed.conf.5",
                                            "man3/libmdfeed.3",       "man1/mdfeed-cat.1",
                                            "man1/mdfeed-top.1",      "man1/mdfeed-synth.1",
                                            "man1/mdfeed-fakevenue.1"};
        static const char *const refs[] = {
            "mdfeedd (8)",    "mdfeed.conf (5)",  "libmdfeed (3)",       "mdfeed-cat (1)",
            "mdfeed-top (1)", "mdfeed-synth (1)", "mdfeed-fakevenue (1)"};
        char hdr[2048], line[1024], path[2048], *libpage;
        FILE *f;
        int n_fns = 0;

        snprintf(path, sizeof(path), "%s/usr/share/man/man3/libmdfeed.3", dest);
        snprintf(cmd, sizeof(cmd), "cat %s", path);
        ASSERT_EQ(sh(cmd, &libpage), 0);
        snprintf(hdr, sizeof(hdr), "%s/include/mdfeed/mdfeed.h", root);
        f = fopen(hdr, "r");
        ASSERT(f != NULL);
        while (fgets(line, sizeof(line), f)) {
            char *paren = strchr(line, '('), *name, *body;

            if (strncmp(line, "MDF_API ", 8) != 0 || !paren)
                continue;
            *paren = '\0';
            name = strstr(line, "mdf_");
            while (name && strstr(name + 1, "mdf_"))
                name = strstr(name + 1, "mdf_");
            ASSERT(name != NULL);
            snprintf(path, sizeof(path), "%s/usr/share/man/man3/%s.3", dest, name);
            if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0644)
                test_fail(__FILE__, __LINE__, "no man page link for %s (0644)", name);
            snprintf(cmd, sizeof(cmd), "cat %s", path);
            ASSERT_EQ(sh(cmd, &body), 0);
            ASSERT_STR_EQ(body, ".so man3/libmdfeed.3\n");
            free(body);
            if (!strstr(libpage, name))
                test_fail(__FILE__, __LINE__, "libmdfeed(3) does not describe %s", name);
            n_fns++;
        }
        fclose(f);
        free(libpage);
        ASSERT_GT(n_fns, 50);
        /* And man finds it, when man is there. */
        snprintf(cmd, sizeof(cmd),
                 "! command -v man >/dev/null || MANPATH=%s/usr/share/man man -P cat mdf_open "
                 "2>/dev/null | grep -q LIBMDFEED",
                 dest);
        ASSERT_EQ(sh(cmd, &out), 0);
        free(out);
        for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
            char *see;

            snprintf(cmd, sizeof(cmd),
                     "sed -n '/^\\.SH \"*SEE ALSO/,$p' %s/usr/share/man/%s | sed 's/\\\\-/-/g'",
                     dest, pages[i]);
            ASSERT_EQ(sh(cmd, &see), 0);
            for (size_t k = 0; k < sizeof(refs) / sizeof(refs[0]); k++)
                if (k != i && !strstr(see, refs[k]))
                    test_fail(__FILE__, __LINE__, "%s: SEE ALSO lacks %s:\n%s", pages[i], refs[k],
                              see);
            free(see);
        }
    }
    /* The unit starts the installed daemon on the installed config; the sysusers.d snippet is
     * the source file as it is. */
    snprintf(cmd, sizeof(cmd),
             "grep -x 'ExecStart=/usr/bin/mdfeedd -c /etc/mdfeed/mdfeed.conf' "
             "%s/usr/lib/systemd/system/mdfeedd.service && ! grep -n '@[A-Z]*@' "
             "%s/usr/lib/systemd/system/mdfeedd.service && "
             "cmp %s/systemd/mdfeed.sysusers %s/usr/lib/sysusers.d/mdfeed.conf",
             dest, dest, root, dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);
    /* The shared library carries its versioned soname. */
    snprintf(cmd, sizeof(cmd), "objdump -p %s/usr/lib/libmdfeed.so.2.0.0 | grep SONAME", dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    ASSERT_CONTAINS(out, "libmdfeed.so.2");
    free(out);
    /* Only mdf_ symbols are exported. */
    snprintf(cmd, sizeof(cmd),
             "nm -D --defined-only %s/usr/lib/libmdfeed.so.2.0.0 | awk '$2 == \"T\" {print $3}'"
             " | grep -v '^mdf_' || true",
             dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    ASSERT_STR_EQ(out, "");
    free(out);
    /* The README's example, built with pkg-config against the installed tree. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && awk '/^```c$/{f=1;next} /^```$/{if(f)exit} f' %s/README.md > strategy.c "
             "&& PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "cc -std=gnu11 -Wall -Wextra -Werror %s strategy.c "
             "$(PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 "
             "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "pkg-config --cflags --libs mdfeed) -o strategy",
             dest, root, dest, dest, SAN_FLAGS, dest, dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);

    /* Live data for it: trades of binance-spot:BTCUSDT and a best bid/offer. */
    pub_default_params(&prm, test_instance());
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT_EQ(state_tx_venue(&p.st, "binance-spot"), 0);
    ASSERT_EQ(state_tx_symbol(&p.st, 0, "BTCUSDT", "BTC/USDT"), 0);
    ASSERT_EQ(state_tx_stream(&p.st, &(struct mdf_stream_entry){.type = MDF_REC_BBO,
                                                                .key = "btcusdt@bookTicker"}),
              0);
    memset(&r, 0, sizeof(r));
    r.bbo.h = (struct mdf_rec_hdr){.type = MDF_REC_BBO, .size = sizeof(struct mdf_bbo)};
    r.bbo.bid_px = (struct mdf_dec){.m = 6543200, .e = -2};
    r.bbo.ask_px = (struct mdf_dec){.m = 6543300, .e = -2};
    ASSERT_EQ(state_tx_update(&p.st, &r), 0);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char prog[2048], lib[2048];
        int fd;

        snprintf(prog, sizeof(prog), "%s/strategy", dest);
        snprintf(lib, sizeof(lib), "%s/usr/lib", dest);
        setenv("LD_LIBRARY_PATH", lib, 1);
        snprintf(cmd, sizeof(cmd), "%s/out.txt", dest);
        fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        execl(prog, prog, test_instance(), "binance-spot:BTCUSDT", "3", (char *)NULL);
        _exit(127);
    }
    t0 = test_now_ns();
    for (int64_t id = 1; waitpid(pid, &status, WNOHANG) == 0; id++) {
        memset(&r, 0, sizeof(r));
        r.trade.h = (struct mdf_rec_hdr){
            .type = MDF_REC_TRADE, .size = sizeof(struct mdf_trade), .symbol = 0};
        r.trade.price = (struct mdf_dec){.m = 6543210, .e = -2};
        r.trade.qty = (struct mdf_dec){.m = 1500, .e = -8};
        r.trade.trade_id = id;
        pub_publish(&p, MDF_RING_TICKS, &r);
        pub_heartbeat(&p, clock_mono_ns());
        clock_sleep_ns(10000000);
        if (test_now_ns() - t0 > INT64_C(20000000000)) {
            kill(pid, SIGKILL);
            test_fail(__FILE__, __LINE__, "the README example did not finish");
        }
    }
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    snprintf(cmd, sizeof(cmd), "cat %s/out.txt", dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        ASSERT_CONTAINS(l, "trade 65432.10 x 0.00001500 id ");
        ASSERT_CONTAINS(l, "bid 65432 ask 65433");
        lines++;
    }
    ASSERT_EQ(lines, 3);
    free(out);
    pub_close(&p, true);
    /* make uninstall takes back everything but the operator's configuration. */
    snprintf(cmd, sizeof(cmd),
             "make -s -C %s --no-print-directory uninstall DESTDIR=%s PREFIX=/usr B=%s "
             ">/dev/null && cd %s && find usr etc \\( -type f -o -type l \\) -print && "
             "find usr -path '*/doc/mdfeed*' -print",
             root, dest, test_under(build, root), dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    ASSERT_CONTAINS(out, "etc/mdfeed/mdfeed.conf");
    if (strchr(out, '\n') != strrchr(out, '\n') || strstr(out, "/usr/"))
        test_fail(__FILE__, __LINE__, "left after make uninstall:\n%s", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dest);
    ASSERT_EQ(sh(cmd, &out), 0);
    free(out);
    return 0;
}
