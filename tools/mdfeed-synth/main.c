/*
 * mdfeed-synth: publishes synthetic records into an instance's rings and latest-state tables,
 * at a rate or flat out, so readers, tools and benchmarks can run without any venue. It owns
 * the instance like the daemon would (and refuses to run beside a live daemon of it).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "shm/publisher.h"
#include "shm/synth.h"

static volatile int stop; /* set by SIGINT/SIGTERM */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mdfeed-synth [-i INSTANCE] [-r RATE] [-n COUNT] [-s SYMBOLS] [-t TYPES]\n"
               "                    [-d DEPTH] [-c CAPACITY] [--latest] [--unlink]\n"
               "  TYPES: comma list of trade,bbo,ticker,liquidation,candle,book,funding,event\n");
}

static int parse_types(const char *arg, int *types)
{
    char buf[256], *save = NULL, *tok;
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", arg);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int t;

        for (t = 1; t < MDF_REC_TYPE_COUNT; t++)
            if (strcmp(tok, mdf_rec_type_name(t)) == 0)
                break;
        if (t == MDF_REC_TYPE_COUNT || n >= 7)
            return -1;
        types[n++] = t;
    }
    types[n] = 0;
    return n;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"latest", no_argument, NULL, 'L'},
        {"unlink", no_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct synth_opts o = {.n_symbols = 4, .types = {MDF_REC_TRADE}};
    const char *instance = "default";
    struct pub_params prm;
    struct publisher pub;
    bool unlink_at_exit = false;
    uint64_t capacity = 0;
    long depth = 0;
    uint64_t n;
    int c, rc;

    while ((c = getopt_long(argc, argv, "i:r:n:s:t:d:c:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            instance = optarg;
            break;
        case 'r':
            o.rate = strtod(optarg, NULL);
            break;
        case 'n':
            o.count = strtoull(optarg, NULL, 10);
            break;
        case 's':
            o.n_symbols = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 't':
            if (parse_types(optarg, o.types) <= 0) {
                fprintf(stderr, "mdfeed-synth: bad type list \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'd':
            depth = strtol(optarg, NULL, 10);
            break;
        case 'c':
            capacity = strtoull(optarg, NULL, 10);
            break;
        case 'L':
            o.update_latest = true;
            break;
        case 'U':
            unlink_at_exit = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mdfeed-synth %s\n", MDFEED_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    pub_default_params(&prm, instance);
    if (depth > 0)
        prm.state.book_depth = (uint32_t)depth;
    if (capacity)
        for (int r = 0; r < MDF_RING_COUNT; r++)
            prm.ring_capacity[r] = capacity;
    if (o.n_symbols > prm.state.max_symbols)
        prm.state.max_symbols = o.n_symbols;
    if (o.n_symbols > prm.state.max_streams) /* one stream per symbol */
        prm.state.max_streams = o.n_symbols;
    if ((rc = pub_open(&pub, &prm)) < 0) {
        fprintf(stderr, "mdfeed-synth: %s\n", mdf_errmsg());
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    n = synth_run(&pub, &o, &stop);
    fprintf(stderr, "mdfeed-synth: published %llu records (epoch %llu)\n", (unsigned long long)n,
            (unsigned long long)pub.epoch);
    pub_close(&pub, unlink_at_exit);
    return 0;
}
