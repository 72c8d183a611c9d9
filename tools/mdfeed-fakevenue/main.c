/*
 * mdfeed-fakevenue: the local venue every test and benchmark uses. This file reads the command
 * line (see mdfeed-fakevenue.1 for every flag), refuses anything but a loopback address, loads
 * the recordings and runs the loop until SIGTERM/SIGINT, then frees everything so a sanitizer
 * build sees no leak.
 *
 * Exit status: 0 after a signal, 1 when startup fails (files, TLS, bind), 2 on a usage error
 * (including a non-loopback --listen address).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fv.h"

#define PROG "mdfeed-fakevenue"

enum {
    O_LISTEN = 256,
    O_PORT,
    O_CERT,
    O_KEY,
    O_TLS11,
    O_VENUE,
    O_REPLAY,
    O_REST,
    O_SPEED,
    O_LOOP,
    O_REPLAY_LIVE,
    O_SYNTH,
    O_MSG_SIZE,
    O_PING,
    O_PONG,
    O_RATE,
    O_MAX_STREAMS,
    O_REFUSE_STREAM,
    O_LIFETIME,
    O_SHUTDOWN,
    O_WEIGHT,
    O_SEED,
    O_LIST_CASES,
    O_HELP,
    O_F_CONNS,
    O_F_CLOSE_AFTER,
    O_F_CLOSE_CODE,
    O_F_RST_AFTER,
    O_F_RST_MID,
    O_F_FIN_MID,
    O_F_TRUNC_TLS,
    O_F_STALL,
    O_F_MUTE,
    O_F_MUTE_AFTER,
    O_F_CORRUPT,
    O_F_CORRUPT_AFTER,
    O_F_DRIP,
    O_F_FRAGMENT,
    O_F_PING_FRAG,
    O_F_GARBAGE,
    O_F_BAD_UTF8,
    O_F_OVERSIZE,
    O_F_OVERSIZE_SIZE,
    O_F_NO_UPGRADE,
    O_F_GAP,
    O_MARKET,
    O_MARKET_RATE,
    O_MARKET_EVENTS,
    O_MARKET_QUIET,
    O_MARKET_SPARSE,
    O_MARKET_SPARSE_PERIOD,
    O_MISROUTE,
    O_SYNTH_STAMP,
    O_BAN_AFTER,
    O_BAN_SECONDS,
    O_THROTTLE_NEXT,
    O_RETRY_AFTER,
    O_CONN_LIMIT,
    O_SHUTDOWN_GRACE,
    O_BFX_HB_MS,
    O_BFX_PAIRS,
    O_BFX_MAINT_CONNECT,
    O_BFX_MAINT_AFTER,
    O_BFX_MAINT_LEN,
    O_BFX_MINUTE_MS,
    O_BFX_TU_MS,
    O_BFX_BAD_CS,
    O_BFX_BAD_LEVEL,
    O_BFX_SAME_CHAN,
    O_BYB_IDLE_CUT,
    O_BYB_MINUTE_MS,
    O_BYB_GAP,
    O_BYB_RESTART,
    O_OKX_IDLE,
    O_OKX_REQ_LIMIT,
    O_OKX_REQ_WINDOW,
    O_OKX_MINUTE_MS,
    O_OKX_CS_ZERO,
    O_OKX_SEQ_BREAK,
    O_OKX_BAD_CS,
};

static const struct option LONGOPTS[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"port", required_argument, NULL, O_PORT},
    {"tls-cert", required_argument, NULL, O_CERT},
    {"tls-key", required_argument, NULL, O_KEY},
    {"tls11-only", no_argument, NULL, O_TLS11},
    {"venue", required_argument, NULL, O_VENUE},
    {"replay", required_argument, NULL, O_REPLAY},
    {"rest", required_argument, NULL, O_REST},
    {"speed", required_argument, NULL, O_SPEED},
    {"loop", no_argument, NULL, O_LOOP},
    {"replay-live", no_argument, NULL, O_REPLAY_LIVE},
    {"synthetic", required_argument, NULL, O_SYNTH},
    {"msg-size", required_argument, NULL, O_MSG_SIZE},
    {"ping-interval", required_argument, NULL, O_PING},
    {"pong-timeout", required_argument, NULL, O_PONG},
    {"rate-limit", required_argument, NULL, O_RATE},
    {"max-streams", required_argument, NULL, O_MAX_STREAMS},
    {"refuse-stream", required_argument, NULL, O_REFUSE_STREAM},
    {"lifetime", required_argument, NULL, O_LIFETIME},
    {"shutdown-after", required_argument, NULL, O_SHUTDOWN},
    {"weight-limit", required_argument, NULL, O_WEIGHT},
    {"seed", required_argument, NULL, O_SEED},
    {"list-cases", no_argument, NULL, O_LIST_CASES},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, 'V'},
    {"fault-conns", required_argument, NULL, O_F_CONNS},
    {"fault-close-after", required_argument, NULL, O_F_CLOSE_AFTER},
    {"fault-close-code", required_argument, NULL, O_F_CLOSE_CODE},
    {"fault-rst-after", required_argument, NULL, O_F_RST_AFTER},
    {"fault-rst-midframe", required_argument, NULL, O_F_RST_MID},
    {"fault-fin-midframe", required_argument, NULL, O_F_FIN_MID},
    {"fault-truncate-tls", required_argument, NULL, O_F_TRUNC_TLS},
    {"fault-stall-after", required_argument, NULL, O_F_STALL},
    {"fault-mute", required_argument, NULL, O_F_MUTE},
    {"fault-mute-after", required_argument, NULL, O_F_MUTE_AFTER},
    {"fault-corrupt", required_argument, NULL, O_F_CORRUPT},
    {"fault-corrupt-after", required_argument, NULL, O_F_CORRUPT_AFTER},
    {"fault-drip", no_argument, NULL, O_F_DRIP},
    {"fault-fragment", required_argument, NULL, O_F_FRAGMENT},
    {"fault-ping-in-fragments", no_argument, NULL, O_F_PING_FRAG},
    {"fault-garbage-after", required_argument, NULL, O_F_GARBAGE},
    {"fault-bad-utf8-after", required_argument, NULL, O_F_BAD_UTF8},
    {"fault-oversize-after", required_argument, NULL, O_F_OVERSIZE},
    {"fault-oversize-size", required_argument, NULL, O_F_OVERSIZE_SIZE},
    {"fault-no-upgrade", no_argument, NULL, O_F_NO_UPGRADE},
    {"fault-gap-after", required_argument, NULL, O_F_GAP},
    {"market", required_argument, NULL, O_MARKET},
    {"market-rate", required_argument, NULL, O_MARKET_RATE},
    {"market-events", required_argument, NULL, O_MARKET_EVENTS},
    {"market-quiet", required_argument, NULL, O_MARKET_QUIET},
    {"market-sparse", required_argument, NULL, O_MARKET_SPARSE},
    {"market-sparse-period", required_argument, NULL, O_MARKET_SPARSE_PERIOD},
    {"misroute", required_argument, NULL, O_MISROUTE},
    {"synthetic-stamp", no_argument, NULL, O_SYNTH_STAMP},
    {"ban-after", required_argument, NULL, O_BAN_AFTER},
    {"ban-seconds", required_argument, NULL, O_BAN_SECONDS},
    {"throttle-next", required_argument, NULL, O_THROTTLE_NEXT},
    {"retry-after", required_argument, NULL, O_RETRY_AFTER},
    {"conn-limit", required_argument, NULL, O_CONN_LIMIT},
    {"shutdown-grace", required_argument, NULL, O_SHUTDOWN_GRACE},
    {"bfx-hb-ms", required_argument, NULL, O_BFX_HB_MS},
    {"bfx-pairs", required_argument, NULL, O_BFX_PAIRS},
    {"bfx-maintenance-on-connect", no_argument, NULL, O_BFX_MAINT_CONNECT},
    {"bfx-maintenance-after", required_argument, NULL, O_BFX_MAINT_AFTER},
    {"bfx-maintenance-len", required_argument, NULL, O_BFX_MAINT_LEN},
    {"bfx-minute-ms", required_argument, NULL, O_BFX_MINUTE_MS},
    {"bfx-tu-ms", required_argument, NULL, O_BFX_TU_MS},
    {"bfx-bad-checksum", required_argument, NULL, O_BFX_BAD_CS},
    {"bfx-bad-level", required_argument, NULL, O_BFX_BAD_LEVEL},
    {"bfx-same-chan-id", no_argument, NULL, O_BFX_SAME_CHAN},
    {"bybit-idle-cut", required_argument, NULL, O_BYB_IDLE_CUT},
    {"bybit-minute-ms", required_argument, NULL, O_BYB_MINUTE_MS},
    {"bybit-gap", required_argument, NULL, O_BYB_GAP},
    {"bybit-restart", required_argument, NULL, O_BYB_RESTART},
    {"okx-idle", required_argument, NULL, O_OKX_IDLE},
    {"okx-req-limit", required_argument, NULL, O_OKX_REQ_LIMIT},
    {"okx-req-window", required_argument, NULL, O_OKX_REQ_WINDOW},
    {"okx-minute-ms", required_argument, NULL, O_OKX_MINUTE_MS},
    {"okx-checksum-zero", no_argument, NULL, O_OKX_CS_ZERO},
    {"okx-seq-break", required_argument, NULL, O_OKX_SEQ_BREAK},
    {"okx-bad-checksum", required_argument, NULL, O_OKX_BAD_CS},
    {NULL, 0, NULL, 0},
};

/* Prints the usage summary. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--listen ADDR] [--port N] [--tls-cert FILE --tls-key FILE "
            "[--tls11-only]]\n"
            "       [--venue VENUE] [--replay FILE] [--rest FILE]\n"
            "       [--speed X|max] [--loop] [--replay-live] [--synthetic RATE|max]\n"
            "       [--msg-size N]\n"
            "       [--ping-interval S] [--pong-timeout S] [--rate-limit N] [--max-streams N]\n"
            "       [--lifetime S] [--shutdown-after S] [--weight-limit N] [--seed N]\n"
            "       [--refuse-stream NAME]...\n"
            "       [--market SYMBOLS [--market-rate N|max] [--market-quiet SYMBOLS]\n"
            "        [--market-sparse SYMBOLS [--market-sparse-period S]] [--market-events N]]\n"
            "       [--misroute SUFFIX] [--synthetic-stamp]\n"
            "       [--ban-after N [--ban-seconds S]] [--throttle-next N] [--retry-after S]\n"
            "       [--conn-limit N[/S]] [--shutdown-grace S]\n"
            "       [--fault-conns K] [fault flags] [--list-cases]\n"
            "bitfinex: [--market-rate N|max] [--bfx-hb-ms MS] [--bfx-pairs SYMBOLS]\n"
            "       [--bfx-minute-ms MS] [--bfx-tu-ms MS] [--bfx-maintenance-on-connect]\n"
            "       [--bfx-maintenance-after S] [--bfx-maintenance-len S]\n"
            "       [--bfx-bad-checksum SYMBOL[/N]] [--bfx-bad-level SYMBOL[/N]]\n"
            "       [--bfx-same-chan-id]\n"
            "bybit-spot, bybit-linear: [--market SYMBOLS] [--market-rate N] [--bybit-idle-cut S]\n"
            "       [--bybit-minute-ms MS] [--bybit-gap SYMBOL[/N]] [--bybit-restart SYMBOL[/N]]\n"
            "okx: [--replay FILE] [--market INSTIDS] [--market-rate N] [--market-events N]\n"
            "       [--okx-idle S] [--okx-req-limit N] [--okx-req-window S] [--okx-minute-ms MS]\n"
            "       [--okx-checksum-zero] [--okx-seq-break INSTID[/N]]\n"
            "       [--okx-bad-checksum INSTID[/N]]\n"
            "fault flags: --fault-close-after N [--fault-close-code C] | --fault-rst-after N |\n"
            "       --fault-rst-midframe N | --fault-fin-midframe N | --fault-truncate-tls N |\n"
            "       --fault-stall-after N | --fault-drip | --fault-fragment N "
            "[--fault-ping-in-fragments] |\n"
            "       --fault-garbage-after N | --fault-bad-utf8-after N |\n"
            "       --fault-oversize-after N [SIZE] [--fault-oversize-size SIZE] |\n"
            "       --fault-no-upgrade | --fault-gap-after N |\n"
            "       --fault-mute SUFFIX [--fault-mute-after N] |\n"
            "       --fault-corrupt SUFFIX [--fault-corrupt-after N]\n"
            "See mdfeed-fakevenue(1).\n");
    fprintf(f, "venues: %s\n", fv_proto_names());
}

/* Prints a usage error and exits 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

/* A non-negative integer option. */
static long num(const char *opt, const char *v, long max)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > max)
        die_usage("--%s: expected an integer from 0 to %ld, got '%s'", opt, max, v);
    return n;
}

/* A non-negative number of seconds (fractions allowed). */
static double secs(const char *opt, const char *v)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < 0 || d > 1e9)
        die_usage("--%s: expected a number of seconds, got '%s'", opt, v);
    return d;
}

/* True for a non-empty string of decimal digits. */
static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Checks a comma list of symbols (letters and digits, at most 20 each). */
static void symbol_list(const char *opt, const char *v)
{
    const char *s = v;

    if (!*v)
        die_usage("--%s: a comma list of symbols, e.g. BTCUSDT,ETHUSDT", opt);
    while (*s) {
        size_t len = strcspn(s, ",");

        if (len == 0 || len > 20)
            die_usage("--%s: bad symbol list '%s'", opt, v);
        for (size_t i = 0; i < len; i++)
            if (!isalnum((unsigned char)s[i]))
                die_usage("--%s: symbols are letters and digits, got '%.*s'", opt, (int)len, s);
        s += len;
        if (*s == ',' && !*++s)
            die_usage("--%s: bad symbol list '%s'", opt, v);
    }
}

/* Checks a comma list of venue symbols: each must pass ok(); eg names examples in errors. */
static void venue_symbol_list(const char *opt, const char *v, bool (*ok)(const char *, size_t),
                              const char *eg)
{
    const char *s = v;

    while (*s) {
        size_t len = strcspn(s, ",");

        if (!ok(s, len))
            die_usage("--%s: a comma list such as %s, got '%.*s'", opt, eg, (int)len, s);
        s += len;
        if (*s == ',' && !*++s)
            die_usage("--%s: bad list '%s'", opt, v);
    }
    if (!*v)
        die_usage("--%s: a comma list such as %s", opt, eg);
}

/* SYMBOL[/N] of a book fault (N defaults to 10): the symbol (passing ok()) into sym (cap
 * bytes), N into *after. */
static void venue_fault(const char *opt, const char *v, bool (*ok)(const char *, size_t), char *sym,
                        size_t cap, long *after)
{
    const char *slash = strchr(v, '/');
    size_t len = slash ? (size_t)(slash - v) : strlen(v);

    if (!ok(v, len) || len >= cap)
        die_usage("--%s: SYMBOL[/N] with a symbol of the venue, got '%s'", opt, v);
    memcpy(sym, v, len);
    sym[len] = '\0';
    *after = slash ? num(opt, slash + 1, 1L << 40) : 10;
}

/* True when the symbol sym[0..len) is in the comma list all (case-insensitive). */
static bool listed(const char *sym, size_t len, const char *all)
{
    while (*all) {
        size_t al = strcspn(all, ",");

        if (al == len && strncasecmp(all, sym, len) == 0)
            return true;
        all += al;
        if (*all == ',')
            all++;
    }
    return false;
}

/* True when every symbol of the comma list sub is in the comma list all (case-insensitive);
 * with `none`, true when no symbol of sub is. */
static bool sublist_of(const char *sub, const char *all, bool none)
{
    while (*sub) {
        size_t len = strcspn(sub, ",");

        if (listed(sub, len, all) == none)
            return false;
        sub += len;
        if (*sub == ',')
            sub++;
    }
    return true;
}

/* True when every symbol of the comma list sub is in the comma list all (case-insensitive). */
static bool sublist(const char *sub, const char *all)
{
    return sublist_of(sub, all, false);
}

/* True for 127.0.0.0/8 and ::1. */
static bool is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Parses argv into o. Exits 2 on a usage error. Returns true for --list-cases. */
static bool parse(int argc, char **argv, struct fv_opts *o)
{
    double ping = -1, pong = -1, lifetime = -1;
    long rate = -1, maxs = -1, weight = -1;
    bool conn_limit_set = false, sparse_period_set = false;
    int c;

    memset(o, 0, sizeof(*o));
    o->proto = &fv_proto_binance_spot;
    o->listen = "127.0.0.1";
    o->speed = 1;
    o->msg_size = 200;
    o->shutdown_after = -1;
    o->seed = 1;
    o->market_rate = 10;
    o->market_sparse_period = 60;
    o->ban_after = -1;
    o->retry_after = -1;
    o->ban_seconds = 120;
    o->conn_window = 300;
    o->shutdown_grace = FV_SHUTDOWN_GRACE_MS / 1000.0;
    o->bfx = (struct fv_bfx_opts){
        .hb_ms = 15000,
        .maint_after = -1,
        .maint_len = 10,
        .minute_ms = 60000,
        .tu_ms = 1000,
    };
    o->byb = (struct fv_byb_opts){.idle_cut = 600, .minute_ms = 60000};
    o->okx = (struct fv_okx_opts){
        .idle = 30,
        .req_limit = 480,
        .req_window = 3600,
        .minute_ms = 60000,
    };
    o->f = (struct fv_faults){
        .conns = -1,
        .close_after = -1,
        .close_code = 1000,
        .rst_after = -1,
        .rst_midframe = -1,
        .fin_midframe = -1,
        .truncate_tls = -1,
        .stall_after = -1,
        .mute_after = -1,
        .corrupt_after = -1,
        .garbage_after = -1,
        .bad_utf8_after = -1,
        .oversize_after = -1,
        .oversize_size = 2u << 20,
        .gap_after = -1,
    };
    while ((c = getopt_long(argc, argv, "+hV", LONGOPTS, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            o->listen = strcmp(optarg, "localhost") == 0 ? "127.0.0.1" : optarg;
            break;
        case O_PORT:
            o->port = (int)num("port", optarg, 65535);
            break;
        case O_CERT:
            o->tls_cert = optarg;
            break;
        case O_KEY:
            o->tls_key = optarg;
            break;
        case O_TLS11:
            o->tls11_only = true;
            break;
        case O_VENUE:
            o->proto = fv_proto_find(optarg);
            if (!o->proto)
                die_usage("--venue: %s, got '%s'", fv_proto_names(), optarg);
            break;
        case O_REPLAY:
            o->replay_file = optarg;
            break;
        case O_REST:
            o->rest_file = optarg;
            break;
        case O_SPEED:
            if (strcmp(optarg, "max") == 0) {
                o->speed_max = true;
            } else {
                o->speed = secs("speed", optarg);
                if (o->speed <= 0)
                    die_usage("--speed: must be above 0 (or max)");
            }
            break;
        case O_LOOP:
            o->loop = true;
            break;
        case O_REPLAY_LIVE:
            o->replay_live = true;
            break;
        case O_SYNTH:
            o->synth = true;
            if (strcmp(optarg, "max") == 0) {
                o->synth_max = true;
            } else {
                o->synth_rate = secs("synthetic", optarg);
                if (o->synth_rate <= 0)
                    die_usage("--synthetic: a rate above 0 (messages per second) or max");
            }
            break;
        case O_MSG_SIZE:
            o->msg_size = (size_t)num("msg-size", optarg, 16 << 20);
            break;
        case O_PING:
            ping = secs("ping-interval", optarg);
            break;
        case O_PONG:
            pong = secs("pong-timeout", optarg);
            break;
        case O_RATE:
            rate = num("rate-limit", optarg, 1000000);
            break;
        case O_MAX_STREAMS:
            maxs = num("max-streams", optarg, 1000000);
            break;
        case O_REFUSE_STREAM:
            if (!*optarg || strlen(optarg) > 200)
                die_usage("--refuse-stream: a stream name of 1 to 200 characters");
            if (o->n_refuse == FV_REFUSE_MAX)
                die_usage("--refuse-stream: at most %d names", FV_REFUSE_MAX);
            o->refuse[o->n_refuse++] = optarg;
            break;
        case O_LIFETIME:
            lifetime = secs("lifetime", optarg);
            break;
        case O_SHUTDOWN:
            o->shutdown_after = secs("shutdown-after", optarg);
            break;
        case O_WEIGHT:
            weight = num("weight-limit", optarg, 1000000000);
            break;
        case O_SEED:
            o->seed = (uint64_t)num("seed", optarg, 0x7fffffffffffffffL);
            break;
        case O_LIST_CASES:
            return true;
        case O_HELP:
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("mdfeed-fakevenue %s\n", MDFEED_VERSION);
            exit(0);
        case O_F_CONNS:
            o->f.conns = num("fault-conns", optarg, 1000000000);
            break;
        case O_F_CLOSE_AFTER:
            o->f.close_after = num("fault-close-after", optarg, 1L << 40);
            break;
        case O_F_CLOSE_CODE:
            o->f.close_code = (int)num("fault-close-code", optarg, 65535);
            break;
        case O_F_RST_AFTER:
            o->f.rst_after = num("fault-rst-after", optarg, 1L << 40);
            break;
        case O_F_RST_MID:
            o->f.rst_midframe = num("fault-rst-midframe", optarg, 1L << 40);
            break;
        case O_F_FIN_MID:
            o->f.fin_midframe = num("fault-fin-midframe", optarg, 1L << 40);
            break;
        case O_F_TRUNC_TLS:
            o->f.truncate_tls = num("fault-truncate-tls", optarg, 1L << 40);
            break;
        case O_F_STALL:
            o->f.stall_after = num("fault-stall-after", optarg, 1L << 40);
            break;
        case O_F_MUTE:
            o->f.mute = optarg;
            break;
        case O_F_MUTE_AFTER:
            o->f.mute_after = num("fault-mute-after", optarg, 1L << 40);
            break;
        case O_F_CORRUPT:
            o->f.corrupt = optarg;
            break;
        case O_F_CORRUPT_AFTER:
            o->f.corrupt_after = num("fault-corrupt-after", optarg, 1L << 40);
            break;
        case O_F_DRIP:
            o->f.drip = true;
            break;
        case O_F_FRAGMENT:
            o->f.fragment = (size_t)num("fault-fragment", optarg, 1L << 30);
            if (!o->f.fragment)
                die_usage("--fault-fragment: at least 1 byte per frame");
            break;
        case O_F_PING_FRAG:
            o->f.ping_in_fragments = true;
            break;
        case O_F_GARBAGE:
            o->f.garbage_after = num("fault-garbage-after", optarg, 1L << 40);
            break;
        case O_F_BAD_UTF8:
            o->f.bad_utf8_after = num("fault-bad-utf8-after", optarg, 1L << 40);
            break;
        case O_F_OVERSIZE:
            o->f.oversize_after = num("fault-oversize-after", optarg, 1L << 40);
            /* An optional second argument: the size. */
            if (optind < argc && all_digits(argv[optind]))
                o->f.oversize_size = (size_t)num("fault-oversize-after", argv[optind++], 1L << 30);
            break;
        case O_F_OVERSIZE_SIZE:
            o->f.oversize_size = (size_t)num("fault-oversize-size", optarg, 1L << 30);
            break;
        case O_F_NO_UPGRADE:
            o->f.no_upgrade = true;
            break;
        case O_F_GAP:
            o->f.gap_after = num("fault-gap-after", optarg, 1L << 40);
            break;
        case O_MARKET: /* checked after the loop: the module may name its own instruments */
            o->market = optarg;
            break;
        case O_MARKET_QUIET:
            symbol_list("market-quiet", optarg);
            o->market_quiet = optarg;
            break;
        case O_MARKET_SPARSE:
            symbol_list("market-sparse", optarg);
            o->market_sparse = optarg;
            break;
        case O_MARKET_SPARSE_PERIOD:
            o->market_sparse_period = secs("market-sparse-period", optarg);
            if (o->market_sparse_period < 0.001)
                die_usage("--market-sparse-period: at least 0.001 seconds");
            sparse_period_set = true;
            break;
        case O_MISROUTE:
            fv_misroute = optarg;
            break;
        case O_SYNTH_STAMP:
            o->synth_stamp = true;
            break;
        case O_MARKET_RATE:
            if (strcmp(optarg, "max") == 0) {
                o->market_max = true;
            } else {
                o->market_rate = secs("market-rate", optarg);
                if (o->market_rate <= 0)
                    die_usage("--market-rate: events per second above 0, or max");
            }
            break;
        case O_MARKET_EVENTS:
            o->market_events = num("market-events", optarg, 1000000000);
            if (o->market_events < 1)
                die_usage("--market-events: at least one event");
            break;
        case O_BAN_AFTER:
            o->ban_after = num("ban-after", optarg, 1000000000);
            if (o->ban_after < 1)
                die_usage("--ban-after: at least one 429 answer");
            break;
        case O_BAN_SECONDS:
            o->ban_seconds = secs("ban-seconds", optarg);
            break;
        case O_THROTTLE_NEXT:
            o->throttle_next = num("throttle-next", optarg, 1000000000);
            break;
        case O_RETRY_AFTER:
            o->retry_after = num("retry-after", optarg, 86400);
            break;
        case O_CONN_LIMIT: {
            char n[32];
            const char *slash = strchr(optarg, '/');
            size_t len = slash ? (size_t)(slash - optarg) : strlen(optarg);

            if (len >= sizeof(n))
                die_usage("--conn-limit: N or N/SECONDS, got '%s'", optarg);
            memcpy(n, optarg, len);
            n[len] = '\0';
            o->conn_limit = (int)num("conn-limit", n, 1000000); /* 0: no limit */
            conn_limit_set = true;
            if (slash) {
                o->conn_window = secs("conn-limit", slash + 1);
                if (o->conn_window <= 0)
                    die_usage("--conn-limit: a window above 0 seconds");
            }
            break;
        }
        case O_SHUTDOWN_GRACE:
            o->shutdown_grace = secs("shutdown-grace", optarg);
            break;
        case O_BFX_HB_MS:
            o->bfx.hb_ms = num("bfx-hb-ms", optarg, 86400000);
            if (o->bfx.hb_ms < 10)
                die_usage("--bfx-hb-ms: at least 10 ms");
            break;
        case O_BFX_PAIRS:
            venue_symbol_list("bfx-pairs", optarg, bitfinex_pair_ok, "tBTCUSD,tAVAX:USD");
            o->bfx.pairs = optarg;
            break;
        case O_BFX_MAINT_CONNECT:
            o->bfx.maint_on_connect = true;
            break;
        case O_BFX_MAINT_AFTER:
            o->bfx.maint_after = secs("bfx-maintenance-after", optarg);
            break;
        case O_BFX_MAINT_LEN:
            o->bfx.maint_len = secs("bfx-maintenance-len", optarg);
            break;
        case O_BFX_MINUTE_MS:
            o->bfx.minute_ms = num("bfx-minute-ms", optarg, 60000);
            if (o->bfx.minute_ms < 100)
                die_usage("--bfx-minute-ms: from 100 to 60000");
            break;
        case O_BFX_TU_MS:
            o->bfx.tu_ms = num("bfx-tu-ms", optarg, 600000);
            break;
        case O_BFX_BAD_CS:
            venue_fault("bfx-bad-checksum", optarg, bitfinex_pair_ok, o->bfx.bad_cs.sym,
                        sizeof(o->bfx.bad_cs.sym), &o->bfx.bad_cs.after);
            break;
        case O_BFX_BAD_LEVEL:
            venue_fault("bfx-bad-level", optarg, bitfinex_pair_ok, o->bfx.bad_lvl.sym,
                        sizeof(o->bfx.bad_lvl.sym), &o->bfx.bad_lvl.after);
            break;
        case O_BFX_SAME_CHAN:
            o->bfx.same_chan_id = true;
            break;
        case O_BYB_IDLE_CUT:
            o->byb.idle_cut = secs("bybit-idle-cut", optarg);
            break;
        case O_BYB_MINUTE_MS:
            o->byb.minute_ms = num("bybit-minute-ms", optarg, 60000);
            if (o->byb.minute_ms < 100)
                die_usage("--bybit-minute-ms: from 100 to 60000");
            break;
        case O_BYB_GAP:
            venue_fault("bybit-gap", optarg, bybit_symbol_ok, o->byb.gap.sym,
                        sizeof(o->byb.gap.sym), &o->byb.gap.after);
            break;
        case O_BYB_RESTART:
            venue_fault("bybit-restart", optarg, bybit_symbol_ok, o->byb.restart.sym,
                        sizeof(o->byb.restart.sym), &o->byb.restart.after);
            break;
        case O_OKX_IDLE:
            o->okx.idle = secs("okx-idle", optarg);
            break;
        case O_OKX_REQ_LIMIT:
            o->okx.req_limit = num("okx-req-limit", optarg, 1000000);
            if (o->okx.req_limit < 1)
                die_usage("--okx-req-limit: at least one request");
            break;
        case O_OKX_REQ_WINDOW:
            o->okx.req_window = secs("okx-req-window", optarg);
            break;
        case O_OKX_MINUTE_MS:
            o->okx.minute_ms = num("okx-minute-ms", optarg, 60000);
            if (o->okx.minute_ms < 60)
                die_usage("--okx-minute-ms: from 60 to 60000");
            break;
        case O_OKX_CS_ZERO:
            o->okx.checksum_zero = true;
            break;
        case O_OKX_SEQ_BREAK:
            venue_fault("okx-seq-break", optarg, fvokx_inst_ok, o->okx.seq.inst,
                        sizeof(o->okx.seq.inst), &o->okx.seq.after);
            break;
        case O_OKX_BAD_CS:
            venue_fault("okx-bad-checksum", optarg, fvokx_inst_ok, o->okx.bad_cs.inst,
                        sizeof(o->okx.bad_cs.inst), &o->okx.bad_cs.after);
            break;
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (!o->tls_cert != !o->tls_key)
        die_usage("--tls-cert and --tls-key go together");
    if (o->tls11_only && !o->tls_cert)
        die_usage("--tls11-only needs --tls-cert and --tls-key");
    if (o->f.truncate_tls >= 0 && !o->tls_cert)
        die_usage("--fault-truncate-tls needs TLS (--tls-cert and --tls-key)");
    if (o->f.ping_in_fragments && !o->f.fragment)
        die_usage("--fault-ping-in-fragments needs --fault-fragment N");
    if (o->loop && !o->replay_file)
        die_usage("--loop needs --replay");
    if (o->replay_live && !o->replay_file)
        die_usage("--replay-live needs --replay");
    if (!o->f.oversize_size)
        die_usage("--fault-oversize-size: at least 1 byte");
    if (o->market && !(o->proto->flags & FV_PROTO_OWN_MARKET))
        symbol_list("market", o->market);
    if (o->market && o->synth)
        die_usage("--market and --synthetic do not go together");
    if (o->market_quiet && (!o->market || !sublist(o->market_quiet, o->market)))
        die_usage("--market-quiet: every symbol must also be in --market");
    if (o->market_sparse && (!o->market || !sublist(o->market_sparse, o->market)))
        die_usage("--market-sparse: every symbol must also be in --market");
    if (o->market_sparse && o->market_quiet && !sublist_of(o->market_sparse, o->market_quiet, true))
        die_usage("--market-sparse: a symbol cannot also be in --market-quiet");
    if (sparse_period_set && !o->market_sparse)
        die_usage("--market-sparse-period needs --market-sparse");
    if ((o->loop || o->replay_live) && !(o->proto->flags & FV_PROTO_LOOP))
        die_usage("--venue %s: no --loop or --replay-live", o->proto->name);
    if (o->replay_file && !o->proto->replay_line)
        die_usage("--venue %s: no --replay", o->proto->name);
    /* The venue's defaults fill what was not given (-1). */
    o->ping_interval = ping;
    o->pong_timeout = pong;
    o->rate_limit = (int)rate;
    o->max_streams = (int)maxs;
    o->lifetime = lifetime;
    o->weight_limit = weight;
    if (!conn_limit_set)
        o->conn_limit = -1;
    {
        const char *err = o->proto->options(o);

        if (err)
            die_usage("%s", err);
    }
    if (!is_loopback(o->listen)) {
        fprintf(stderr,
                PROG ": refusing to listen on '%s': only loopback addresses (127.0.0.0/8 or ::1) "
                     "are allowed\n",
                o->listen);
        exit(2);
    }
    return false;
}

/* Startup in order (options, recordings, generators, listener), the loop, then
 * teardown in reverse. */
int main(int argc, char **argv)
{
    struct fv_opts o;
    struct fv_server s;
    uv_loop_t loop;
    int rc = 0;

    if (parse(argc, argv, &o)) {
        fv_case_list(stdout);
        fflush(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&s, 0, sizeof(s));
    uv_loop_init(&loop);
    s.loop = &loop;
    s.o = &o;
    if (o.replay_file && replay_load(&s, o.replay_file) < 0)
        rc = 1;
    if (!rc && o.rest_file && rest_load(&s, o.rest_file) < 0)
        rc = 1;
    if (!rc && o.replay_live)
        live_prepare(&s);
    rest_init(&s);
    if (o.proto->init && o.proto->init(&s) < 0)
        rc = 1;
    if (!rc && server_start(&s, &loop, &o) < 0)
        rc = 1;
    if (!rc) {
        uv_run(&loop, UV_RUN_DEFAULT);
    } else {
        s.stopping = true;
        replay_stop(&s);
        rest_stop(&s);
        if (o.proto->stop)
            o.proto->stop(&s);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    server_fini(&s);
    if (o.proto->fini)
        o.proto->fini(&s);
    replay_fini(&s);
    rest_fini(&s);
    streams_fini(&s.streams);
    fv_buf_free(&s.scratch);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, PROG ": handles left open at exit\n");
    fflush(stdout);
    return rc;
}
