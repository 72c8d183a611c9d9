/*
 * mdfeedd --remove-segments: while the daemon runs it is refused, naming the daemon, and
 * removes nothing; once the daemon stopped it removes exactly the instance's segments, saying
 * which, and names a reader that still maps them (whose mapping stays readable); a second run
 * finds nothing to remove; another instance's segments are never touched.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

/* How many /dev/shm/mdfeed.<instance>.* segments exist. */
static int segments(const char *instance)
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

/* Runs mdfeedd --remove-segments with -c conf or -i instance; returns its exit status, its
 * output in *out and *err (free both). */
static int remove_segments(const char *opt, const char *arg, char **out, char **err)
{
    char *argv[] = {(char *)test_bin("mdfeedd"), "--remove-segments", (char *)opt, (char *)arg,
                    NULL};

    return test_run_capture(argv, out, err);
}

TEST(daemon_remove_segments_refused_while_running_then_removes_only_its_instance)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    char *out = NULL, *err = NULL, want[256], other[64];
    struct mdf_trade t;
    int n, rc;
    int64_t sym;
    FILE *f;

    /* A segment of another instance whose name starts like ours: never touched. */
    snprintf(other, sizeof(other), "/dev/shm/mdfeed.%sx.state", test_instance());
    f = fopen(other, "w");
    ASSERT(f != NULL);
    fclose(f);

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"AAAUSDT\"];\n"
                         "  trades = \"trade\"; kline = \"\"; book_ticker = false; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    n = segments(d.instance);
    ASSERT_EQ(n, 8); /* 5 rings, state, health, doorbell */

    /* Alive: refused, by config and by name, naming the daemon; nothing removed. */
    rc = remove_segments("-c", d.conf, &out, &err);
    fprintf(stderr, "  running: exit %d, %s", rc, err);
    ASSERT_EQ(rc, 1);
    snprintf(want, sizeof(want), "instance \"%s\" is in use: a live mdfeedd (pid %d) holds",
             d.instance, (int)d.p.pid);
    ASSERT_CONTAINS(err, want);
    ASSERT_CONTAINS(err, "stop it first (nothing was removed)");
    ASSERT_STR_EQ(out, "");
    free(out);
    free(err);
    rc = remove_segments("-i", d.instance, &out, &err);
    ASSERT_EQ(rc, 1);
    ASSERT_CONTAINS(err, want);
    free(out);
    free(err);
    ASSERT_EQ(segments(d.instance), n);

    /* A reader attached, then the daemon stopped. */
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    sym = mdf_symbol_lookup(inst, "binance-spot:AAAUSDT");
    ASSERT(sym >= 0);
    for (int i = 0; i < 50 && mdf_latest_trade(inst, (uint32_t)sym, &t) != 0; i++)
        usleep(100000);
    ASSERT_EQ(mdf_latest_trade(inst, (uint32_t)sym, &t), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    ASSERT_EQ(segments(d.instance), n);

    /* Stopped: removed, each named, the reader named too. */
    rc = remove_segments("-i", d.instance, &out, &err);
    fprintf(stderr, "  stopped:\n%s", out);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(err, "");
    snprintf(want, sizeof(want), "removed /dev/shm/mdfeed.%s.state (", d.instance);
    ASSERT_CONTAINS(out, want);
    snprintf(want, sizeof(want), "removed /dev/shm/mdfeed.%s.ticks (", d.instance);
    ASSERT_CONTAINS(out, want);
    snprintf(want, sizeof(want), "removed 8 segments of instance \"%s\" (", d.instance);
    ASSERT_CONTAINS(out, want);
    snprintf(want, sizeof(want), "still mapped by pid %d (", (int)getpid());
    ASSERT_CONTAINS(out, want);
    ASSERT_CONTAINS(out, "the memory is freed when it detaches or exits");
    free(out);
    free(err);
    ASSERT_EQ(segments(d.instance), 0);
    ASSERT_EQ(access(other, F_OK), 0);
    /* The reader's mapping stays readable until it lets go. */
    ASSERT_EQ(mdf_latest_trade(inst, (uint32_t)sym, &t), 0);
    mdf_close(inst);

    /* Nothing left: said so, exit 0. */
    rc = remove_segments("-i", d.instance, &out, &err);
    ASSERT_EQ(rc, 0);
    snprintf(want, sizeof(want), "no segments of instance \"%s\" in /dev/shm\n", d.instance);
    ASSERT_STR_EQ(out, want);
    free(out);
    free(err);

    /* A bad name or a stray -i is refused. */
    rc = remove_segments("-i", "../x", &out, &err);
    ASSERT_EQ(rc, 1);
    ASSERT_STR_EQ(out, "");
    free(out);
    free(err);
    {
        char *argv[] = {(char *)test_bin("mdfeedd"), "-i", d.instance, NULL};

        ASSERT_EQ(test_run_capture(argv, &out, &err), 2);
        ASSERT_CONTAINS(err, "-i/--instance goes with --remove-segments");
        free(out);
        free(err);
    }
    unlink(other);
    fv_stop(&fv);
    return 0;
}
