/*
 * mdfeedd: the market-data daemon. Parses the command line, loads the config (or only checks it
 * with -t, or removes a stopped instance's segments with --remove-segments), and runs the daemon
 * in the foreground. See mdfeedd(8).
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "config/config.h"
#include "core/err.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "shm/remove.h"

#define DEFAULT_CONFIG "/etc/mdfeed/mdfeed.conf"
#define EXIT_SHM_SPACE                                                                             \
    3 /* /dev/shm cannot back the segments (mdfeedd(8), the unit's                                 \
       * RestartPreventExitStatus=) */

static void usage(FILE *out)
{
    fprintf(out, "usage: mdfeedd [-c FILE] [-t] [-h] [-V]\n"
                 "       mdfeedd --remove-segments [-c FILE | -i INSTANCE]\n"
                 "  -c, --config FILE    configuration file (default " DEFAULT_CONFIG ")\n"
                 "  -t, --check          check the configuration and exit: 0 if valid, else 1\n"
                 "                       with FILE:LINE: message for every error\n"
                 "  --remove-segments    remove the instance's segments from /dev/shm (the\n"
                 "                       configuration's instance, or -i's) and exit; refused\n"
                 "                       while its daemon runs\n"
                 "  -i, --instance NAME  with --remove-segments: the instance, without reading a\n"
                 "                       configuration\n"
                 "  -h, --help           this help\n"
                 "  -V, --version        version\n"
                 "See mdfeedd(8) and mdfeed.conf(5).\n");
}

/* --remove-segments: removes the instance's segments, saying what it removed. Returns the exit
 * status: 0, or 1 (refused while the daemon runs, or a segment could not be removed). */
static int remove_segments(const char *instance)
{
    int rc = seg_remove_instance(instance, stdout);

    if (rc >= 0)
        return 0;
    fprintf(stderr, "mdfeedd: %s\n", mdf_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"remove-segments", no_argument, NULL, 'R'},
        {"instance", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *instance = NULL;
    bool remove_segs = false;
    const char *path = DEFAULT_CONFIG;
    bool check = false, path_given = false;
    struct md_config *cfg = NULL;
    struct daemon *d;
    size_t streams = 0;
    int opt, rc;

    daemon_early_signals();
    /* A fixed mmap threshold keeps glibc from raising it after each big free (its dynamic
     * rule), and one arena keeps the threads' frees in one heap, so the multi-MB buffers a
     * reload frees go back to the system instead of fragmenting the heap. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    mallopt(M_ARENA_MAX, 1);
    while ((opt = getopt_long(argc, argv, "c:thVi:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            path_given = true;
            break;
        case 't':
            check = true;
            break;
        case 'R':
            remove_segs = true;
            break;
        case 'i':
            instance = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mdfeedd %s (shm layout %u.%u)\n", MDFEED_VERSION, MDF_LAYOUT_MAJOR,
                   MDF_LAYOUT_MINOR);
            return 0;
        default:
            usage(stderr); /* getopt named the bad option */
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr,
                "mdfeedd: unexpected argument \"%s\" (the configuration is given with "
                "-c FILE)\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    if (instance && !remove_segs) {
        fprintf(stderr, "mdfeedd: -i/--instance goes with --remove-segments (the daemon's "
                        "instance is the configuration's \"instance\")\n");
        return 2;
    }
    if (remove_segs && (check || (instance && path_given))) {
        fprintf(stderr, "mdfeedd: --remove-segments takes either -c FILE or -i INSTANCE, and no "
                        "-t\n");
        return 2;
    }
    if (remove_segs && instance)
        return remove_segments(instance);
    if (!path_given && access(path, F_OK) != 0) {
        fprintf(stderr,
                "mdfeedd: no configuration at %s (the default); give one with -c FILE, e.g. "
                "mdfeedd -c conf/mdfeed.conf in the source tree%s\n",
                path, remove_segs ? ", or the instance with -i NAME" : "");
        return 1;
    }
    if (cfg_load(path, stderr, &cfg) < 0)
        return 1;
    if (remove_segs) {
        rc = remove_segments(cfg->instance);
        cfg_free(cfg);
        return rc;
    }
    for (size_t v = 0; v < cfg->n_venues; v++)
        streams += cfg->venues[v].n_streams;
    if (check) {
        printf("%s: configuration OK: %zu venues, %zu streams\n", path, cfg->n_venues, streams);
        cfg_free(cfg);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    log_init(cfg->log_level);
    d = calloc(1, sizeof(*d));
    if (!d) {
        fprintf(stderr, "mdfeedd: out of memory\n");
        cfg_free(cfg);
        return 1;
    }
    rc = daemon_init(d, cfg, path);
    if (rc < 0) {
        log_msg(LOG_LV_ERR, "cannot start: %s", mdf_errmsg());
        daemon_fini(d);
        free(d);
        /* Its own status, so that the unit does not restart into the same full /dev/shm. */
        return rc == ERR_SHM_SPACE ? EXIT_SHM_SPACE : 1;
    }
    rc = daemon_run(d);
    daemon_fini(d);
    free(d);
    return rc;
}
