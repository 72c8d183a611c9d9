/*
 * mdfeedd: the market-data daemon. Parses the command line, loads the config (or only checks it
 * with -t), and runs the daemon in the foreground. See mdfeedd(8).
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

#define DEFAULT_CONFIG "/etc/mdfeed/mdfeed.conf"

static void usage(FILE *out)
{
    fprintf(out, "usage: mdfeedd [-c FILE] [-t] [-h] [-V]\n"
                 "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
                 "  -t       check the configuration and exit: 0 if valid, else 1 with\n"
                 "           FILE:LINE: message for every error\n"
                 "  -h       this help\n"
                 "  -V       version\n");
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_CONFIG;
    bool check = false;
    struct md_config *cfg = NULL;
    struct daemon *d;
    size_t streams = 0;
    int opt, rc;

    daemon_early_signals();
    /* A fixed mmap threshold keeps glibc from raising it after each big free (its dynamic
     * rule), so the multi-MB decoder buffers a reload frees go back to the system instead of
     * fragmenting the heap: RSS stays flat over thousands of SIGHUPs. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    mallopt(M_ARENA_MAX, 1);
    while ((opt = getopt(argc, argv, "c:thV")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            check = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mdfeedd %s (shm layout %u.%u)\n", MDFEED_VERSION, MDF_LAYOUT_MAJOR,
                   MDF_LAYOUT_MINOR);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (cfg_load(path, stderr, &cfg) < 0)
        return 1;
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
        return 1;
    }
    rc = daemon_run(d);
    daemon_fini(d);
    free(d);
    return rc;
}
