/*
 * mdfeed-top: a live view of an mdfeed daemon (its state, connections, streams, books, rings,
 * REST budgets and recent events) read from the instance's health segment.
 *
 * Three modes share one snapshot engine (snapshot.c): the interactive ncurses screen
 * (screen.c), plain-text batch output (-b) and JSON snapshots (--json) (text.c). This file
 * parses the command line and runs the batch modes; a daemon that is not running or has died
 * ends them with exit status 1 after its last state (if any) was printed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

static volatile sig_atomic_t stop_requested; /* set by SIGINT/SIGTERM */

/* SIGINT/SIGTERM: only asks the loops to stop. */
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

bool top_stop_requested(void)
{
    return stop_requested != 0;
}

/* Prints the synopsis and options to f. */
static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [-i INSTANCE] [-d SECS] [-n ITER] [-b | --json] [-s KEY] [-r]\n"
               "                  [-f FILTER]\n"
               "  -i, --instance NAME  instance to watch (default \"default\")\n"
               "  -d, --delay SECS     refresh period (default 1; fractions allowed)\n"
               "  -n, --iterations N   stop after N refreshes\n"
               "  -b, --batch          plain text, one snapshot per refresh, no screen\n"
               "  --json               one JSON snapshot (N with -n, one per line), then exit\n"
               "  -s, --sort KEY       order streams by venue, rate, age, delay or gaps\n"
               "  -r, --reverse        reverse the stream order\n"
               "  -f, --filter TEXT    only streams whose venue:symbol or name contains TEXT\n"
               "  -h, --help           show this help\n"
               "  -V, --version        print the version\n"
               "keys: q quit, Tab/1-5 pane, s/S sort key, r reverse, / filter, arrows scroll\n"
               "exit: 0 ok, 1 daemon not running or dead (-b, --json), 2 usage\n");
}

/* Parses a whole unsigned decimal number. Returns 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (!s[0] || s[0] == '-' || s[0] == '+')
        return -EINVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -EINVAL : 0;
}

/* True if s is a valid instance name: 1 to 31 of [A-Za-z0-9_-] (as the daemon requires). */
static bool instance_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < MDF_INSTANCE_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Parses a refresh period: a finite number of seconds in [0.05, 86400]. Returns 0 or
 * -EINVAL. */
static int parse_period(const char *s, int64_t *out_ns)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0.05 || v > 86400)
        return -EINVAL;
    *out_ns = (int64_t)llround(v * 1e9);
    return 0;
}

/* Fills o from argv and the environment. Returns 0, 1 (--help was printed: exit 0) or -EINVAL
 * (message printed). */
static int parse_args(int argc, char **argv, struct top_opts *o)
{
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"instance", required_argument, NULL, 'i'},
        {"delay", required_argument, NULL, 'd'},
        {"iterations", required_argument, NULL, 'n'},
        {"batch", no_argument, NULL, 'b'},
        {"json", no_argument, NULL, OPT_JSON},
        {"sort", required_argument, NULL, 's'},
        {"reverse", no_argument, NULL, 'r'},
        {"filter", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *nc = getenv("NO_COLOR");
    int ch;

    memset(o, 0, sizeof(*o));
    o->instance = "default";
    o->period_ns = 1000000000;
    o->sort = SORT_VENUE;
    o->no_color = nc && nc[0];
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":i:d:n:bs:rf:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            if (!instance_ok(optarg)) {
                fprintf(stderr,
                        PROG ": -i: \"%s\" is not an instance name (1 to %u letters, "
                             "digits, _ or -)\n",
                        optarg, MDF_INSTANCE_MAX - 1);
                return -EINVAL;
            }
            o->instance = optarg;
            break;
        case 'd':
            if (parse_period(optarg, &o->period_ns) < 0) {
                fprintf(stderr, PROG ": -d: \"%s\" is not a period of 0.05 to 86400 seconds\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case 'n':
            if (parse_u64(optarg, &o->iterations) < 0 || o->iterations == 0) {
                fprintf(stderr, PROG ": -n: \"%s\" is not a count >= 1\n", optarg);
                return -EINVAL;
            }
            break;
        case 'b':
            o->batch = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 's':
            o->sort = top_sort_from_name(optarg);
            if (o->sort < 0) {
                fprintf(stderr,
                        PROG ": -s: unknown sort key \"%s\" (venue, rate, age, delay, "
                             "gaps)\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case 'r':
            o->reverse = true;
            break;
        case 'f':
            if (strlen(optarg) >= sizeof(o->filter)) {
                fprintf(stderr, PROG ": -f: filter longer than %zu characters\n",
                        sizeof(o->filter) - 1);
                return -EINVAL;
            }
            snprintf(o->filter, sizeof(o->filter), "%s", optarg);
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf(PROG " %s (shm layout %u.%u)\n", MDFEED_VERSION, MDF_LAYOUT_MAJOR,
                   MDF_LAYOUT_MINOR);
            return 1;
        case ':':
            fprintf(stderr, PROG ": option %s needs an argument\n", argv[optind - 1]);
            usage(stderr);
            return -EINVAL;
        default:
            fprintf(stderr, PROG ": unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return -EINVAL;
    }
    if (o->batch && o->json) {
        fprintf(stderr, PROG ": -b and --json exclude each other\n");
        return -EINVAL;
    }
    if (o->json && o->iterations == 0)
        o->iterations = 1;
    return 0;
}

/* Sleeps ns unless a signal arrives first. */
static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

    nanosleep(&ts, NULL);
}

/* The batch modes: prints a snapshot per refresh as text or JSON. Returns the exit status.
 * Rates are counter deltas between two samples, so the first printed snapshot comes from a
 * second sample taken PRIME_NS (or the period, if shorter) after a first one: a one-shot
 * (-n 1, --json) shows real rates, not "-". */
#define PRIME_NS 500000000LL
static int run_batch(struct top *t)
{
    const struct top_opts *o = t->o;

    for (uint64_t i = 0; !o->iterations || i < o->iterations; i++) {
        const struct top_snap *s;
        int rc;

        if (i)
            sleep_ns(o->period_ns);
        if (stop_requested)
            break;
        s = top_refresh(t);
        if (i == 0 && s->alive) {
            sleep_ns(o->period_ns < PRIME_NS ? o->period_ns : PRIME_NS);
            if (stop_requested)
                break;
            s = top_refresh(t);
        }
        rc = o->json ? top_print_json(stdout, t, s) : top_print_text(stdout, t, s);
        fflush(stdout);
        if (rc < 0) {
            fprintf(stderr, PROG ": writing output: %s\n", strerror(-rc));
            return EXIT_DOWN;
        }
        if (!s->alive) {
            /* -b has just said why on standard output: once is enough. */
            if (o->json)
                fprintf(stderr, PROG ": instance \"%s\": daemon %s\n", o->instance, s->why);
            return EXIT_DOWN;
        }
    }
    return EXIT_OK;
}

/* Parses the command line and runs the chosen mode; returns the exit status. */
int main(int argc, char **argv)
{
    struct sigaction sa;
    struct top_opts o;
    struct top t;
    int rc, status;

    rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    /* The handlers only set a flag; no SA_RESTART, so a signal cuts sleeps short. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (top_init(&t, &o) < 0) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_DOWN;
    }
    if (o.batch || o.json)
        status = run_batch(&t);
    else
        status = top_screen_run(&t);
    top_fini(&t);
    return status;
}
