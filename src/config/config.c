/*
 * Configuration: reads a libconfig file into one validated struct md_config.
 *
 * Design: every option is one row of opts[] (name, group it lives in, type, default, range and
 * where it is stored), in the style of chrony's conf.c. A group is read in two steps: collect()
 * files each member under its row (an unknown name is an error there), then apply() stores every
 * row of the group, parsing the given setting or using the default. Rows whose rules do not fit
 * a type and a range (names, URLs, stream switches) have their own parse function. Errors never
 * stop the load: each one is recorded with the file and line of the setting at fault and all are
 * printed at the end, sorted by line, so one run of `mdfeedd -t` shows everything to fix.
 *
 * Venues: the venue row comes first in an entry, so every later row knows the venue's profile
 * and asks its config rules (p->proto->conf, venue/vconf.h) whatever differs between venues:
 * how symbols and intervals are spelt, the switches' defaults, what order_book numbers mean,
 * the keys the venue refuses (an error with its reason, after which the key counts as not set)
 * and the options only it has, read where the K_VENUE row of the scope stands. Nothing here
 * asks which venue it reads.
 */
#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "config/config.h"
#include "config/prescan.h"
#include "core/err.h"
#include "net/url.h"
#include "venue/vconf.h"

/* ------------------------------------------------------------------------------------------ */
/* The option table. */

/* Every option, by the group it belongs to. The order inside a group is the order apply() stores
 * them in: a row may rely on the rows above it (the venue profile is read first). */
enum opt_id {
    /* top level */
    O_INSTANCE,
    O_LOG_LEVEL,
    O_DECODER,
    O_SHM,
    O_CONNECTION,
    O_HEALTH,
    O_VENUES,
    /* shm */
    O_SHM_MODE,
    O_SHM_GROUP,
    O_BOOK_DEPTH,
    O_CANDLE_HISTORY,
    O_MAX_SYMBOLS,
    O_MAX_SERIES,
    O_MAX_STREAMS,
    O_RINGS,
    /* shm.rings */
    O_RING_TICKS,
    O_RING_CANDLES,
    O_RING_BOOKS,
    O_RING_FUNDING,
    O_RING_EVENTS,
    /* connection */
    O_CONNECT_TIMEOUT,
    O_PING_INTERVAL,
    O_PONG_TIMEOUT,
    O_MAX_ATTEMPTS,
    O_BASE_DELAY,
    O_MAX_DELAY,
    O_JITTER,
    O_MAX_AGE,
    O_CONN_ATTEMPTS,
    O_CONN_WINDOW,
    /* health */
    O_CHECK_INTERVAL,
    O_WATCHDOG,
    O_SILENT_AFTER,
    O_STALE_FACTOR,
    O_STALE_MIN,
    O_STALE_QUIET,
    O_WD_BACKOFF,
    /* a venues entry */
    O_VENUE,
    O_NAME,
    O_URL,
    O_REST_URL,
    O_CA_FILE,
    O_STREAMS_PER_CONN,
    O_SUBSCRIBE_RATE,
    O_SNAPSHOT_LIMIT,
    O_REST_WEIGHT_SHARE,
    O_EMIT_PARTIAL,
    O_CANDLE_WARMUP,
    O_V_CONNECTION,
    O_V_HEALTH,
    O_SYMBOLS,
    O_TRADES,
    O_KLINE,
    O_BOOK_TICKER,
    O_ORDER_BOOK,
    O_BOOK_SPEED,
    O_VENUE_OPTS,
    O_TICKER,
    O_MINI_TICKER,
    O_FUNDING,
    O_LIQUIDATIONS,
    O_STREAMS,
    /* a streams entry */
    O_S_SYMBOL,
    O_S_TYPE,
    O_S_INTERVAL,
    O_S_LEVELS,
    O_S_SPEED,
    O_S_VENUE_OPTS,
    O_COUNT,
};

/* The groups options live in. */
enum opt_scope {
    SC_TOP,    /* the file's top level: struct md_config */
    SC_SHM,    /* "shm": struct cfg_shm */
    SC_RINGS,  /* "shm.rings": struct cfg_shm */
    SC_CONN,   /* "connection", global or per venue: struct cfg_conn */
    SC_HEALTH, /* "health", global or per venue: struct cfg_health */
    SC_VENUE,  /* one entry of "venues": struct venue_in */
    SC_STREAM, /* one entry of a venue's "streams": struct stream_in */
};

/* How a row's value is read and stored. */
enum opt_kind {
    K_SECONDS, /* integer or float, seconds, stored as double */
    K_NUMBER,  /* integer or float, stored as double */
    K_UINT,    /* integer, stored as uint32_t */
    K_RING,    /* integer power of two, stored as uint64_t */
    K_BOOL,    /* true/false, stored as bool */
    K_GROUP,   /* a group or list read by the caller, not by apply() */
    K_SPECIAL, /* read by the row's parse function */
    K_VENUE,   /* no key: the venue's own options of the scope (and the keys only it refuses)
                  are read at this row's place */
};

struct loader;

/* Reads one K_SPECIAL option from s (NULL when the file does not set it: store the default)
 * into obj, the scope's struct. Reports problems with err_at(). */
typedef void (*opt_parse_fn)(struct loader *L, const config_setting_t *s, void *obj);

/* One option. */
struct opt {
    const char *name;   /* key as written in the file */
    enum opt_scope sc;  /* group it belongs to */
    enum opt_kind kind; /* how it is read */
    double def;         /* default (numeric and boolean kinds) */
    double min, max;    /* allowed range (numeric kinds) */
    bool zero_off;      /* 0 is also allowed and means off / forever / never */
    size_t off;         /* where it is stored in the scope's struct */
    opt_parse_fn parse; /* K_SPECIAL: its reader */
};

/* A venues entry while it is read. */
struct venue_in {
    struct cfg_venue v; /* the entry being built (moved into md_config when done) */
    /* Stream switches, applied to every symbol of "symbols". */
    int trades;                      /* enum trades_sel */
    uint8_t kline[MDF_IV_COUNT];     /* kline intervals in config order */
    size_t n_kline;                  /* their count */
    bool book_ticker;                /* bookTicker per symbol */
    struct vstream book;             /* order_book's stream per symbol (type VS_NONE: none):
                                        type and levels from order_book, speed_ms from
                                        book_speed, then the venue's own book options */
    bool book_bad;                   /* order_book was refused (already reported) */
    uint32_t book_speed;             /* ms for the order book stream, 0 = venue default */
    bool ticker, mini_ticker;        /* 24 h ticker and mini ticker per symbol */
    bool funding, liquidations;      /* the venue's funding streams and forceOrder per symbol */
    bool reported[O_COUNT];          /* a switch's stream check already failed and was said */
    size_t cap_streams;              /* room in v.streams */
    const config_setting_t *entry;   /* the entry's group in the file */
    const config_setting_t *name_at; /* its "name" setting, NULL if the name is the default */
};

/* A streams entry while it is read. */
struct stream_in {
    struct vstream s;              /* the stream (type, symbol, interval, levels, speed...) */
    bool bad;                      /* a field was wrong: already reported, do not add it */
    const struct venue_profile *p; /* the venue's profile (borrowed): spellings differ */
};

/* Selections of the "trades" switch. */
enum trades_sel {
    TR_NONE = 0,
    TR_TRADE = 1,
    TR_AGG = 2,
    TR_BOTH = 3,
};

static void parse_instance(struct loader *L, const config_setting_t *s, void *obj);
static void parse_log_level(struct loader *L, const config_setting_t *s, void *obj);
static void parse_decoder(struct loader *L, const config_setting_t *s, void *obj);
static void parse_mode(struct loader *L, const config_setting_t *s, void *obj);
static void parse_group(struct loader *L, const config_setting_t *s, void *obj);
static void parse_venue(struct loader *L, const config_setting_t *s, void *obj);
static void parse_name(struct loader *L, const config_setting_t *s, void *obj);
static void parse_url(struct loader *L, const config_setting_t *s, void *obj);
static void parse_rest_url(struct loader *L, const config_setting_t *s, void *obj);
static void parse_ca_file(struct loader *L, const config_setting_t *s, void *obj);
static void parse_streams_per_conn(struct loader *L, const config_setting_t *s, void *obj);
static void parse_subscribe_rate(struct loader *L, const config_setting_t *s, void *obj);
static void parse_snapshot_limit(struct loader *L, const config_setting_t *s, void *obj);
static void parse_trades(struct loader *L, const config_setting_t *s, void *obj);
static void parse_kline(struct loader *L, const config_setting_t *s, void *obj);
static void parse_book_ticker(struct loader *L, const config_setting_t *s, void *obj);
static void parse_order_book(struct loader *L, const config_setting_t *s, void *obj);
static void parse_s_symbol(struct loader *L, const config_setting_t *s, void *obj);
static void parse_s_type(struct loader *L, const config_setting_t *s, void *obj);
static void parse_s_interval(struct loader *L, const config_setting_t *s, void *obj);
static void parse_s_levels(struct loader *L, const config_setting_t *s, void *obj);
static void parse_s_speed(struct loader *L, const config_setting_t *s, void *obj);

#define SHM_OFF(f) offsetof(struct cfg_shm, f)
#define CONN_OFF(f) offsetof(struct cfg_conn, f)
#define HEALTH_OFF(f) offsetof(struct cfg_health, f)
#define VENUE_OFF(f) offsetof(struct venue_in, f)

/* The table: one row per option. Keep conf/mdfeed.conf and mdfeed.conf(5) in step with it. */
static const struct opt opts[O_COUNT] = {
    [O_INSTANCE] = {"instance", SC_TOP, K_SPECIAL, .parse = parse_instance},
    [O_LOG_LEVEL] = {"log_level", SC_TOP, K_SPECIAL, .parse = parse_log_level},
    [O_DECODER] = {"decoder", SC_TOP, K_SPECIAL, .parse = parse_decoder},
    [O_SHM] = {"shm", SC_TOP, K_GROUP},
    [O_CONNECTION] = {"connection", SC_TOP, K_GROUP},
    [O_HEALTH] = {"health", SC_TOP, K_GROUP},
    [O_VENUES] = {"venues", SC_TOP, K_GROUP},

    [O_SHM_MODE] = {"mode", SC_SHM, K_SPECIAL, .parse = parse_mode},
    [O_SHM_GROUP] = {"group", SC_SHM, K_SPECIAL, .parse = parse_group},
    [O_BOOK_DEPTH] = {"book_depth", SC_SHM, K_UINT, 20, 1, MDF_BOOK_DEPTH_MAX, false,
                      SHM_OFF(book_depth)},
    [O_CANDLE_HISTORY] = {"candle_history", SC_SHM, K_UINT, 500, 1, MDF_CANDLE_K_MAX, false,
                          SHM_OFF(candle_k)},
    [O_MAX_SYMBOLS] = {"max_symbols", SC_SHM, K_UINT, 4096, 16, 1048576, false,
                       SHM_OFF(max_symbols)},
    [O_MAX_SERIES] = {"max_series", SC_SHM, K_UINT, 4096, 16, 1048576, false, SHM_OFF(max_series)},
    [O_MAX_STREAMS] = {"max_streams", SC_SHM, K_UINT, 4096, 16, 1048576, false,
                       SHM_OFF(max_streams)},
    [O_RINGS] = {"rings", SC_SHM, K_GROUP},

    [O_RING_TICKS] = {"ticks", SC_RINGS, K_RING, 65536, 16, 16777216, false,
                      SHM_OFF(ring_size[MDF_RING_TICKS])},
    [O_RING_CANDLES] = {"candles", SC_RINGS, K_RING, 16384, 16, 16777216, false,
                        SHM_OFF(ring_size[MDF_RING_CANDLES])},
    [O_RING_BOOKS] = {"books", SC_RINGS, K_RING, 16384, 16, 16777216, false,
                      SHM_OFF(ring_size[MDF_RING_BOOKS])},
    [O_RING_FUNDING] = {"funding", SC_RINGS, K_RING, 16384, 16, 16777216, false,
                        SHM_OFF(ring_size[MDF_RING_FUNDING])},
    [O_RING_EVENTS] = {"events", SC_RINGS, K_RING, 4096, 16, 16777216, false,
                       SHM_OFF(ring_size[MDF_RING_EVENTS])},

    [O_CONNECT_TIMEOUT] = {"connect_timeout", SC_CONN, K_SECONDS, 10, 0.1, 300, false,
                           CONN_OFF(connect_timeout)},
    [O_PING_INTERVAL] = {"ping_interval", SC_CONN, K_SECONDS, 30, 1, 3600, true,
                         CONN_OFF(ping_interval)},
    [O_PONG_TIMEOUT] = {"pong_timeout", SC_CONN, K_SECONDS, 30, 1, 3600, false,
                        CONN_OFF(pong_timeout)},
    [O_MAX_ATTEMPTS] = {"max_reconnect_attempts", SC_CONN, K_UINT, 0, 1, 1000000, true,
                        CONN_OFF(max_attempts)},
    [O_BASE_DELAY] = {"reconnect_base_delay", SC_CONN, K_SECONDS, 1.0, 0.01, 3600, false,
                      CONN_OFF(base_delay)},
    [O_MAX_DELAY] = {"reconnect_max_delay", SC_CONN, K_SECONDS, 60, 0.01, 86400, false,
                     CONN_OFF(max_delay)},
    [O_JITTER] = {"reconnect_jitter", SC_CONN, K_NUMBER, 0.5, 0, 1, false, CONN_OFF(jitter)},
    [O_MAX_AGE] = {"max_connection_age", SC_CONN, K_SECONDS, 82800, 1, 86340, false,
                   CONN_OFF(max_age)},
    [O_CONN_ATTEMPTS] = {"max_conn_attempts", SC_CONN, K_UINT, 0, 1, 100000, true,
                         CONN_OFF(conn_attempts)},
    [O_CONN_WINDOW] = {"conn_attempt_window", SC_CONN, K_SECONDS, 0, 1, 3600, true,
                       CONN_OFF(conn_window)},

    [O_CHECK_INTERVAL] = {"check_interval", SC_HEALTH, K_SECONDS, 1.0, 0.05, 60, false,
                          HEALTH_OFF(check_interval)},
    [O_WATCHDOG] = {"watchdog_timeout", SC_HEALTH, K_SECONDS, 60, 1, 3600, false,
                    HEALTH_OFF(watchdog_timeout)},
    [O_SILENT_AFTER] = {"silent_after", SC_HEALTH, K_SECONDS, 30, 0.5, 3600, false,
                        HEALTH_OFF(silent_after)},
    [O_STALE_FACTOR] = {"stale_factor", SC_HEALTH, K_NUMBER, 10, 1, 1000, false,
                        HEALTH_OFF(stale_factor)},
    [O_STALE_MIN] = {"stale_min", SC_HEALTH, K_SECONDS, 5, 0.1, 3600, false, HEALTH_OFF(stale_min)},
    [O_STALE_QUIET] = {"stale_quiet", SC_HEALTH, K_SECONDS, 0, 1, 86400, true,
                       HEALTH_OFF(stale_quiet)},
    [O_WD_BACKOFF] = {"watchdog_backoff", SC_HEALTH, K_SECONDS, 60, 1, 3600, false,
                      HEALTH_OFF(watchdog_backoff)},

    [O_VENUE] = {"venue", SC_VENUE, K_SPECIAL, .parse = parse_venue},
    [O_NAME] = {"name", SC_VENUE, K_SPECIAL, .parse = parse_name},
    [O_URL] = {"url", SC_VENUE, K_SPECIAL, .parse = parse_url},
    [O_REST_URL] = {"rest_url", SC_VENUE, K_SPECIAL, .parse = parse_rest_url},
    [O_CA_FILE] = {"ca_file", SC_VENUE, K_SPECIAL, .parse = parse_ca_file},
    [O_STREAMS_PER_CONN] = {"streams_per_connection", SC_VENUE, K_SPECIAL, 0, 1, 1024, false, 0,
                            parse_streams_per_conn},
    [O_SUBSCRIBE_RATE] = {"subscribe_rate", SC_VENUE, K_SPECIAL, .parse = parse_subscribe_rate},
    [O_SNAPSHOT_LIMIT] = {"snapshot_limit", SC_VENUE, K_SPECIAL, 0, 1, 5000, false, 0,
                          parse_snapshot_limit},
    [O_REST_WEIGHT_SHARE] = {"rest_weight_share", SC_VENUE, K_NUMBER, 0.5, 0.05, 1, false,
                             VENUE_OFF(v.rest_weight_share)},
    [O_EMIT_PARTIAL] = {"emit_partial_candles", SC_VENUE, K_BOOL, 0, 0, 0, false,
                        VENUE_OFF(v.emit_partial_candles)},
    [O_CANDLE_WARMUP] = {"candle_warmup", SC_VENUE, K_BOOL, 1, 0, 0, false,
                         VENUE_OFF(v.candle_warmup)},
    [O_V_CONNECTION] = {"connection", SC_VENUE, K_GROUP},
    [O_V_HEALTH] = {"health", SC_VENUE, K_GROUP},
    [O_SYMBOLS] = {"symbols", SC_VENUE, K_GROUP},
    [O_TRADES] = {"trades", SC_VENUE, K_SPECIAL, .parse = parse_trades},
    [O_KLINE] = {"kline", SC_VENUE, K_SPECIAL, .parse = parse_kline},
    [O_BOOK_TICKER] = {"book_ticker", SC_VENUE, K_SPECIAL, .parse = parse_book_ticker},
    [O_ORDER_BOOK] = {"order_book", SC_VENUE, K_SPECIAL, .parse = parse_order_book},
    [O_BOOK_SPEED] = {"book_speed", SC_VENUE, K_UINT, 0, 0, 60000, false, VENUE_OFF(book_speed)},
    [O_VENUE_OPTS] = {NULL, SC_VENUE, K_VENUE},
    [O_TICKER] = {"ticker", SC_VENUE, K_BOOL, 0, 0, 0, false, VENUE_OFF(ticker)},
    [O_MINI_TICKER] = {"mini_ticker", SC_VENUE, K_BOOL, 0, 0, 0, false, VENUE_OFF(mini_ticker)},
    [O_FUNDING] = {"funding", SC_VENUE, K_BOOL, 0, 0, 0, false, VENUE_OFF(funding)},
    [O_LIQUIDATIONS] = {"liquidations", SC_VENUE, K_BOOL, 0, 0, 0, false, VENUE_OFF(liquidations)},
    [O_STREAMS] = {"streams", SC_VENUE, K_GROUP},

    [O_S_SYMBOL] = {"symbol", SC_STREAM, K_SPECIAL, .parse = parse_s_symbol},
    [O_S_TYPE] = {"type", SC_STREAM, K_SPECIAL, .parse = parse_s_type},
    [O_S_INTERVAL] = {"interval", SC_STREAM, K_SPECIAL, .parse = parse_s_interval},
    [O_S_LEVELS] = {"levels", SC_STREAM, K_SPECIAL, .parse = parse_s_levels},
    [O_S_SPEED] = {"speed", SC_STREAM, K_SPECIAL, 0, 0, 60000, false, 0, parse_s_speed},
    [O_S_VENUE_OPTS] = {NULL, SC_STREAM, K_VENUE},
};

/* The switches that only make sense with "symbols" (O_VENUE_OPTS: the venue's own options,
 * all order book switches). */
static const enum opt_id switch_ids[] = {
    O_TRADES,     O_KLINE,  O_BOOK_TICKER, O_ORDER_BOOK, O_BOOK_SPEED,
    O_VENUE_OPTS, O_TICKER, O_MINI_TICKER, O_FUNDING,    O_LIQUIDATIONS,
};

/* The order book switches that need order_book set. */
static const enum opt_id book_option_ids[] = {O_BOOK_SPEED, O_VENUE_OPTS};

/* ------------------------------------------------------------------------------------------ */
/* The loader: errors and the settings found. */

/* One recorded error. */
struct cfg_error {
    const char *file; /* file it is in (borrowed from the loader or libconfig) */
    int line;         /* line, 1-based */
    size_t seq;       /* order of discovery, to keep the sort stable */
    char *msg;        /* the message (new) */
};

/* The settings of one group, by option (NULL = not set in the file). */
struct given {
    const config_setting_t *s[O_COUNT];              /* the setting for each option */
    const config_setting_t *vopt[VCONF_OPTS_MAX];    /* each of the venue's own options */
    const config_setting_t *vref[VCONF_REFUSED_MAX]; /* each key only the venue refuses (not
                                                        one of opts[]), by its refusal row */
};

/* State of one cfg_load() call. */
struct loader {
    const char *path;          /* the file (caller's) */
    config_t lc;               /* libconfig's parse of it */
    struct md_config *c;       /* the config being built */
    struct cfg_error *errs;    /* errors found so far */
    size_t n_errs, cap_errs;   /* their count and room */
    struct cfg_error *notes;   /* notices (the file was read in a way it did not spell out) */
    size_t n_notes, cap_notes; /* their count and room */
    bool oom;                  /* an allocation failed: the load returns -ENOMEM */
    struct given conn_given;   /* the global "connection" group's settings */
    struct given health_given; /* the global "health" group's settings */
    struct cfg_conn conn;      /* the global connection settings (defaults + group) */
    struct cfg_health health;  /* the global health settings (defaults + group) */
};

/* Records an error at file:line. Exact repeats (the same global setting seen from two venues)
 * are kept once. */
static void err_line(struct loader *L, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void err_line(struct loader *L, const char *file, int line, const char *fmt, ...)
{
    char buf[512];
    struct cfg_error *e;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!file)
        file = L->path;
    if (line < 1)
        line = 1;
    for (size_t i = 0; i < L->n_errs; i++)
        if (L->errs[i].line == line && strcmp(L->errs[i].file, file) == 0 &&
            strcmp(L->errs[i].msg, buf) == 0)
            return;
    if (L->n_errs == L->cap_errs) {
        size_t cap = L->cap_errs ? 2 * L->cap_errs : 16;
        struct cfg_error *n = realloc(L->errs, cap * sizeof(*n));

        if (!n) {
            L->oom = true;
            return;
        }
        L->errs = n;
        L->cap_errs = cap;
    }
    e = &L->errs[L->n_errs];
    e->msg = strdup(buf);
    if (!e->msg) {
        L->oom = true;
        return;
    }
    e->file = file;
    e->line = line;
    e->seq = L->n_errs++;
}

/* Records an error at setting s's file and line. */
static void err_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void err_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    err_line(L, config_setting_source_file(s), (int)config_setting_source_line(s), "%s", buf);
}

/* Records a notice at setting s's file and line: nothing wrong, but the file was read in a
 * way it does not spell out (a symbol put in upper case). Printed whether the load succeeds or
 * not, as "FILE:LINE: notice: message". Exact repeats are kept once. */
static void note_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_at(struct loader *L, const config_setting_t *s, const char *fmt, ...)
{
    const char *file = config_setting_source_file(s);
    int line = (int)config_setting_source_line(s);
    struct cfg_error *e;
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!file)
        file = L->path;
    for (size_t i = 0; i < L->n_notes; i++)
        if (L->notes[i].line == line && strcmp(L->notes[i].msg, buf) == 0)
            return;
    if (L->n_notes == L->cap_notes) {
        size_t cap = L->cap_notes ? 2 * L->cap_notes : 8;
        struct cfg_error *n = realloc(L->notes, cap * sizeof(*n));

        if (!n) {
            L->oom = true;
            return;
        }
        L->notes = n;
        L->cap_notes = cap;
    }
    e = &L->notes[L->n_notes];
    e->msg = strdup(buf);
    if (!e->msg) {
        L->oom = true;
        return;
    }
    e->file = file;
    e->line = line;
    e->seq = L->n_notes++;
}

/* Orders errors by file, then line, then discovery. */
static int err_cmp(const void *pa, const void *pb)
{
    const struct cfg_error *a = pa, *b = pb;
    int f = strcmp(a->file, b->file);

    if (f != 0)
        return f;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The key a setting is known by in messages: its name, or its array's name for an element. */
static const char *key(const config_setting_t *s)
{
    while (s && !s->name)
        s = s->parent;
    return s && s->name ? s->name : "entry";
}

/* What the file holds in s, for "expected X, got Y" messages. */
static const char *type_name(const config_setting_t *s)
{
    switch (s->type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "nothing";
    }
}

/* Reads a string. On a wrong type reports "expected what" and returns false. */
static bool get_string(struct loader *L, const config_setting_t *s, const char *what,
                       const char **out)
{
    if (s->type != CONFIG_TYPE_STRING) {
        err_at(L, s, "%s: expected %s, got %s", key(s), what, type_name(s));
        return false;
    }
    *out = config_setting_get_string(s);
    return true;
}

/* Reads an integer (plain or 64-bit). On a wrong type reports and returns false. */
static bool get_int(struct loader *L, const config_setting_t *s, const char *what, long long *out)
{
    if (s->type != CONFIG_TYPE_INT && s->type != CONFIG_TYPE_INT64) {
        err_at(L, s, "%s: expected %s, got %s", key(s), what, type_name(s));
        return false;
    }
    *out = config_setting_get_int64(s);
    return true;
}

/* Writes the allowed range of o for messages: "0.1..300", "0 or 1..3600". */
static const char *range_text(const struct opt *o, double min, double max, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%g..%g%s", o->zero_off ? "0 or " : "", min, max,
             o->kind == K_SECONDS ? " seconds" : "");
    return buf;
}

/* Reads a number into *out if it has the right type and lies in [min, max] (or is 0 where 0 is
 * allowed); otherwise reports and leaves *out alone. */
static bool get_ranged(struct loader *L, const struct opt *o, const config_setting_t *s, double min,
                       double max, double *out)
{
    char rng[64];
    double v;

    if (o->kind == K_SECONDS || o->kind == K_NUMBER) {
        if (!config_setting_is_number(s)) {
            err_at(L, s, "%s: expected %s, got %s", o->name,
                   o->kind == K_SECONDS ? "a number of seconds" : "a number", type_name(s));
            return false;
        }
        v = s->type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                         : (double)config_setting_get_int64(s);
    } else {
        long long i;

        if (!get_int(L, s, "an integer", &i))
            return false;
        v = (double)i;
    }
    if (!(v >= min && v <= max) && !(o->zero_off && v == 0)) {
        err_at(L, s, "%s: %g is out of range (%s)", o->name, v,
               range_text(o, min, max, rng, sizeof(rng)));
        return false;
    }
    *out = v;
    return true;
}

/* The venue's scope of a loader scope (-1: the venue declares nothing there). */
static int venue_scope(enum opt_scope sc)
{
    return sc == SC_VENUE ? VC_ENTRY : sc == SC_STREAM ? VC_STREAM : -1;
}

/* The index of the venue's own option called name in scope vs, or -1. */
static int venue_opt_find(const struct venue_conf *vc, int vs, const char *name)
{
    for (size_t i = 0; i < vc->n_opts && i < VCONF_OPTS_MAX; i++)
        if ((int)vc->opts[i].scope == vs && strcmp(vc->opts[i].key, name) == 0)
            return (int)i;
    return -1;
}

/* The index of the venue's refusal of key name in scope vs, or -1. */
static int venue_refusal_find(const struct venue_conf *vc, int vs, const char *name)
{
    for (size_t i = 0; i < vc->n_refused && i < VCONF_REFUSED_MAX; i++)
        if ((int)vc->refused[i].scope == vs && strcmp(vc->refused[i].key, name) == 0)
            return (int)i;
    return -1;
}

/* True if some venue declares or refuses name in scope vs: a key of an entry whose venue is
 * unknown (already reported), so not an unknown key. */
static bool any_venue_knows(int vs, const char *name)
{
    const struct venue_profile *q;

    for (size_t i = 0; (q = venue_profile_at(i)) != NULL; i++)
        if (venue_opt_find(q->proto->conf, vs, name) >= 0 ||
            venue_refusal_find(q->proto->conf, vs, name) >= 0)
            return true;
    return false;
}

/* Files each member of group g under its option of scope sc, or under venue p's own options
 * and refusals (p NULL: the venue is unknown or the scope has none); an unknown name is an
 * error ("where" completes the message: " in shm"). g must be a group (checked by the
 * caller). */
static void collect(struct loader *L, const config_setting_t *g, enum opt_scope sc,
                    const char *where, const struct venue_profile *p, struct given *gv)
{
    int n = config_setting_length(g), vs = venue_scope(sc);

    memset(gv, 0, sizeof(*gv));
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        int id = -1;

        for (int k = 0; k < O_COUNT; k++)
            if (opts[k].sc == sc && opts[k].name && strcmp(opts[k].name, m->name) == 0) {
                id = k;
                break;
            }
        if (id >= 0) {
            gv->s[id] = m;
            continue;
        }
        if (vs >= 0 && p) {
            const struct venue_conf *vc = p->proto->conf;
            int k = venue_opt_find(vc, vs, m->name);

            if (k >= 0) {
                gv->vopt[k] = m;
                continue;
            }
            k = venue_refusal_find(vc, vs, m->name);
            if (k >= 0) {
                gv->vref[k] = m;
                continue;
            }
        } else if (vs >= 0 && any_venue_knows(vs, m->name)) {
            continue;
        }
        err_at(L, m, "unknown setting '%s'%s", m->name, where);
    }
}

/* Like collect(), for a member that must be a group: reports any other type. Returns false
 * (and leaves gv empty) when s is not a group. */
static bool collect_group(struct loader *L, const config_setting_t *s, enum opt_scope sc,
                          const char *where, struct given *gv)
{
    memset(gv, 0, sizeof(*gv));
    if (!s)
        return false;
    if (!config_setting_is_group(s)) {
        err_at(L, s, "%s: expected a group { ... }, got %s", s->name ? s->name : "entry",
               type_name(s));
        return false;
    }
    collect(L, s, sc, where, NULL, gv);
    return true;
}

/* The venue profile of a venue or streams entry being read (NULL while unknown, and for the
 * other scopes). */
static const struct venue_profile *scope_profile(enum opt_scope sc, const void *obj)
{
    if (sc == SC_VENUE)
        return ((const struct venue_in *)obj)->v.profile;
    if (sc == SC_STREAM)
        return ((const struct stream_in *)obj)->p;
    return NULL;
}

/* True (and reported) if refusal r of a venue refuses setting s (r NULL: none does). */
static bool refused_by(struct loader *L, const struct venue_refusal *r, const config_setting_t *s)
{
    if (!r)
        return false;
    /* A switch refused only when true: another type is left to the usual type error. */
    if (r->only_true && (s->type != CONFIG_TYPE_BOOL || !config_setting_get_bool(s)))
        return false;
    err_at(L, s, "%s: %s", r->key, r->why);
    return true;
}

/* True (and reported) if venue p refuses key id of scope sc, set to s. */
static bool refused_here(struct loader *L, const struct venue_profile *p, enum opt_scope sc, int id,
                         const config_setting_t *s)
{
    int vs = venue_scope(sc), k;

    if (!p || vs < 0)
        return false;
    k = venue_refusal_find(p->proto->conf, vs, opts[id].name);
    return refused_by(L, k >= 0 ? &p->proto->conf->refused[k] : NULL, s);
}

/* Makes a libconfig setting a value a venue can read. */
static void venue_val(const config_setting_t *s, struct vconf_val *v)
{
    memset(v, 0, sizeof(*v));
    switch (s->type) {
    case CONFIG_TYPE_STRING:
        v->type = VCT_STRING;
        v->str = config_setting_get_string(s);
        break;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        v->type = VCT_INT;
        v->i = config_setting_get_int64(s);
        break;
    case CONFIG_TYPE_FLOAT:
        v->type = VCT_FLOAT;
        v->f = config_setting_get_float(s);
        break;
    case CONFIG_TYPE_BOOL:
        v->type = VCT_BOOL;
        v->b = config_setting_get_bool(s);
        break;
    default:
        v->type = VCT_OTHER;
        break;
    }
}

/* The K_VENUE row of a venues or streams entry: reports the keys only the venue refuses, then
 * reads the venue's own options of the scope into the entry's order book stream (a venues
 * entry: after order_book and book_speed, whose values it starts from) or into the stream (a
 * streams entry: a diff_depth stream starting from the venue's default levels). A value the
 * venue refuses marks a streams entry bad. */
static void apply_venue(struct loader *L, enum opt_scope sc, struct given *gv, void *obj)
{
    const struct venue_profile *p = scope_profile(sc, obj);
    const struct venue_conf *vc;
    struct stream_in *si = NULL;
    struct vstream *to;
    int vs = venue_scope(sc);

    if (!p || vs < 0)
        return;
    vc = p->proto->conf;
    for (size_t i = 0; i < vc->n_refused && i < VCONF_REFUSED_MAX; i++)
        if (gv->vref[i] && refused_by(L, &vc->refused[i], gv->vref[i]))
            gv->vref[i] = NULL;
    if (sc == SC_VENUE) {
        struct venue_in *vi = obj;

        vi->book.speed_ms = (uint16_t)vi->book_speed;
        to = &vi->book;
    } else {
        si = obj;
        if (si->s.type == VS_DIFF && si->s.levels == 0)
            si->s.levels = vc->diff_levels; /* the default length, spelt out */
        to = &si->s;
    }
    for (size_t i = 0; i < vc->n_opts && i < VCONF_OPTS_MAX; i++) {
        const struct venue_opt *o = &vc->opts[i];
        const config_setting_t *s = gv->vopt[i];
        struct vconf_val v;

        if (!s)
            continue;
        venue_val(s, &v);
        if (!(o->types & VCT_BIT(v.type))) {
            err_at(L, s, "%s: expected %s, got %s", o->key, o->what, type_name(s));
        } else {
            err_clear();
            if (o->parse(&v, to) == 0)
                continue;
            err_at(L, s, "%s: %s", o->key, mdf_errmsg());
        }
        if (si)
            si->bad = true;
    }
}

/* Stores every option of scope sc into obj: the given setting, or the default when the file
 * does not set it (only_given: leave unset options alone, for per-venue overrides). A key the
 * venue refuses is reported and removed from gv, so it counts as not set; a K_VENUE row reads
 * the venue's own options there (apply_venue). */
static void apply(struct loader *L, enum opt_scope sc, struct given *gv, void *obj, bool only_given)
{
    for (int id = 0; id < O_COUNT; id++) {
        const struct opt *o = &opts[id];
        const config_setting_t *s = gv->s[id];
        char *at = (char *)obj + o->off;
        double v = o->def;

        if (o->sc != sc || o->kind == K_GROUP)
            continue;
        if (o->kind == K_VENUE) {
            apply_venue(L, sc, gv, obj);
            continue;
        }
        /* The profile is the first row of a venue entry, so it is known for every later row. */
        if (s && refused_here(L, scope_profile(sc, obj), sc, id, s)) {
            gv->s[id] = NULL;
            s = NULL;
        }
        if (only_given && !s)
            continue;
        switch (o->kind) {
        case K_SECONDS:
        case K_NUMBER:
            if (s)
                get_ranged(L, o, s, o->min, o->max, &v);
            *(double *)at = v;
            break;
        case K_UINT:
            if (s)
                get_ranged(L, o, s, o->min, o->max, &v);
            *(uint32_t *)at = (uint32_t)v;
            break;
        case K_RING:
            if (s && get_ranged(L, o, s, o->min, o->max, &v)) {
                uint64_t n = (uint64_t)v;

                if (n & (n - 1)) {
                    err_at(L, s, "%s: %llu is not a power of two", o->name, (unsigned long long)n);
                    v = o->def;
                }
            }
            *(uint64_t *)at = (uint64_t)v;
            break;
        case K_BOOL:
            if (s && s->type != CONFIG_TYPE_BOOL)
                err_at(L, s, "%s: expected a boolean (true or false), got %s", o->name,
                       type_name(s));
            else if (s)
                v = config_setting_get_bool(s);
            *(bool *)at = v != 0;
            break;
        case K_SPECIAL:
            o->parse(L, s, obj);
            break;
        case K_GROUP:
        case K_VENUE:
            break;
        }
    }
}

/* The line of option id in gv, or 0 when it was not set. */
static int given_line(const struct given *gv, int id)
{
    return gv->s[id] ? (int)config_setting_source_line(gv->s[id]) : 0;
}

/* The file of option id in gv, or NULL (the main file). */
static const char *given_file(const struct given *gv, int id)
{
    return gv->s[id] ? config_setting_source_file(gv->s[id]) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Names and symbols. */

/* True if text is 1..max-1 characters of [A-Za-z0-9_-]. */
static bool valid_name(const char *text, size_t max)
{
    size_t n = strlen(text);

    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* Reads a symbol setting of venue p into out (MDF_SYMBOL_MAX) in the venue's spelling
 * (struct venue_conf.symbol: Binance's upper-cased with a notice, Bitfinex's kept as written);
 * reports and returns false if it is not one. */
static bool get_symbol(struct loader *L, const config_setting_t *s, const struct venue_profile *p,
                       char *out)
{
    const struct venue_conf *vc = p->proto->conf;
    char note[256];
    const char *text;

    if (!get_string(L, s, vc->symbol_what, &text))
        return false;
    err_clear();
    if (vc->symbol(p, text, out, note, sizeof(note)) < 0) {
        err_at(L, s, "%s: %s", key(s), mdf_errmsg());
        return false;
    }
    if (note[0])
        note_at(L, s, "%s: %s", key(s), note);
    return true;
}

/* Writes the known kline interval names ("1s, 1m, ...") into buf. */
static const char *interval_list(char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 1; i < MDF_IV_COUNT && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i > 1 ? ", " : "", mdf_interval_name(i));
    return buf;
}

/* Reads a kline interval name for venue p (NULL: unknown, mdfeed's names); reports and returns
 * MDF_IV_NONE if it is not one. A venue may take its own spellings too (Bitfinex "1D", "7D");
 * whether it serves the interval is the stream check's business. */
static int get_interval(struct loader *L, const config_setting_t *s, const struct venue_profile *p)
{
    const struct venue_conf *vc = p ? p->proto->conf : NULL;
    const char *text;
    char names[256];
    int iv;

    if (!get_string(L, s, "an interval string such as \"1m\"", &text))
        return MDF_IV_NONE;
    iv = vc && vc->interval ? vc->interval(text) : mdf_interval_from_name(text);
    if (iv > MDF_IV_NONE && iv < MDF_IV_COUNT)
        return iv;
    if (vc && vc->interval_help)
        err_at(L, s, "%s: unknown interval \"%s\" (%s %s)", key(s), text, p->name,
               vc->interval_help);
    else
        err_at(L, s, "%s: unknown interval \"%s\" (one of %s)", key(s), text,
               interval_list(names, sizeof(names)));
    return MDF_IV_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* Top level and shm. */

/* Reads "instance" into md_config (default "default"). */
static void parse_instance(struct loader *L, const config_setting_t *s, void *obj)
{
    struct md_config *c = obj;
    const char *text;

    snprintf(c->instance, sizeof(c->instance), "default");
    if (!s || !get_string(L, s, "a string", &text))
        return;
    if (!valid_name(text, MDF_INSTANCE_MAX)) {
        err_at(L, s, "instance: \"%s\" is not a name (1..%u of A-Z a-z 0-9 _ -)", text,
               MDF_INSTANCE_MAX - 1);
        return;
    }
    snprintf(c->instance, sizeof(c->instance), "%s", text);
}

/* Log level names and their syslog priorities. */
static const struct {
    const char *name; /* as written in the file */
    int prio;         /* syslog priority */
} log_levels[] = {
    {"error", 3}, {"warning", 4}, {"notice", 5}, {"info", 6}, {"debug", 7},
};

/* Reads "log_level" into md_config as a syslog priority (default info = 6). */
static void parse_log_level(struct loader *L, const config_setting_t *s, void *obj)
{
    struct md_config *c = obj;
    const char *text;

    c->log_level = 6;
    if (!s || !get_string(L, s, "a string", &text))
        return;
    for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
        if (strcmp(text, log_levels[i].name) == 0) {
            c->log_level = log_levels[i].prio;
            return;
        }
    err_at(L, s, "log_level: unknown level \"%s\" (error, warning, notice, info or debug)", text);
}

/* Reads "decoder" into md_config (default jsmn). */
static void parse_decoder(struct loader *L, const config_setting_t *s, void *obj)
{
    struct md_config *c = obj;
    const char *text;

    c->decoder = VDEC_JSMN;
    if (!s || !get_string(L, s, "a string", &text))
        return;
    if (strcmp(text, "jsmn") == 0)
        c->decoder = VDEC_JSMN;
    else if (strcmp(text, "jansson") == 0)
        c->decoder = VDEC_JANSSON;
    else
        err_at(L, s, "decoder: unknown decoder \"%s\" (jsmn or jansson)", text);
}

/* Reads "shm.mode", an octal string, into cfg_shm (default 0640). */
static void parse_mode(struct loader *L, const config_setting_t *s, void *obj)
{
    struct cfg_shm *shm = obj;
    const char *text;
    unsigned long m;
    char *end;

    shm->mode = 0640;
    if (!s || !get_string(L, s, "an octal string such as \"0640\"", &text))
        return;
    errno = 0;
    m = strtoul(text, &end, 8);
    if (!*text || *end || errno || text[0] == '-' || text[0] == '+' || m > 0777) {
        err_at(L, s, "mode: \"%s\" is not an octal file mode such as \"0640\"", text);
        return;
    }
    if ((m & 0600) != 0600 || (m & 0111) || (m & 0002)) {
        err_at(L, s,
               "mode: %04lo is not allowed (the owner needs read and write; no execute bits; no "
               "write for others)",
               m);
        return;
    }
    shm->mode = (mode_t)m;
}

/* Reads "shm.group" and resolves it with getgrnam() (default: the daemon's own). */
static void parse_group(struct loader *L, const config_setting_t *s, void *obj)
{
    struct cfg_shm *shm = obj;
    const char *text;
    struct group *gr;

    shm->gid = (gid_t)-1;
    shm->group[0] = '\0';
    if (!s || !get_string(L, s, "a group name string", &text) || !*text)
        return;
    if (strlen(text) >= sizeof(shm->group)) {
        err_at(L, s, "group: name too long (at most %zu characters)", sizeof(shm->group) - 1);
        return;
    }
    errno = 0;
    gr = getgrnam(text);
    if (!gr) {
        err_at(L, s, "group: unknown group \"%s\"", text);
        return;
    }
    shm->gid = gr->gr_gid;
    snprintf(shm->group, sizeof(shm->group), "%s", text);
}

/* ------------------------------------------------------------------------------------------ */
/* A venue entry. */

/* Writes the known profile names ("binance-spot, ...") into buf. */
static const char *profile_list(char *buf, size_t cap)
{
    const struct venue_profile *p;
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; (p = venue_profile_at(i)) != NULL && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", p->name);
    return buf;
}

/* Reads "venue" (required): the profile every later row of the entry relies on. */
static void parse_venue(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    char names[256];
    const char *text;

    vi->v.profile = NULL;
    if (!s) {
        err_at(L, vi->entry, "venue entry without 'venue' (one of %s)",
               profile_list(names, sizeof(names)));
        return;
    }
    if (!get_string(L, s, "a venue name string", &text))
        return;
    vi->v.profile = venue_profile_find(text);
    if (!vi->v.profile)
        err_at(L, s, "venue: unknown venue \"%s\" (one of %s)", text,
               profile_list(names, sizeof(names)));
}

/* Reads "name" (default: the venue's name). */
static void parse_name(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const char *text;

    vi->v.name[0] = '\0';
    if (vi->v.profile)
        snprintf(vi->v.name, sizeof(vi->v.name), "%s", vi->v.profile->name);
    vi->name_at = s;
    if (!s || !get_string(L, s, "a string", &text))
        return;
    if (!valid_name(text, MDF_NAME_MAX)) {
        err_at(L, s, "name: \"%s\" is not a name (1..%u of A-Z a-z 0-9 _ -)", text,
               MDF_NAME_MAX - 1);
        return;
    }
    snprintf(vi->v.name, sizeof(vi->v.name), "%s", text);
}

/* Reads a base URL override into out (CFG_URL_MAX): scheme, host and port only, ws(s) when
 * websocket, else http(s). def is the profile's default. */
static void get_base_url(struct loader *L, const config_setting_t *s, bool websocket,
                         const char *def, char *out)
{
    const char *text;
    struct url u;
    size_t n;

    snprintf(out, CFG_URL_MAX, "%s", def ? def : "");
    if (!s || !get_string(L, s, "a URL string", &text))
        return;
    n = strlen(text);
    if (n >= CFG_URL_MAX) {
        err_at(L, s, "%s: longer than %d characters", s->name, CFG_URL_MAX - 1);
        return;
    }
    if (url_parse(&u, text) < 0) {
        err_at(L, s, "%s: \"%s\": %s", s->name, text, mdf_errmsg());
        return;
    }
    if (u.websocket != websocket) {
        err_at(L, s, "%s: \"%s\" must start with %s", s->name, text,
               websocket ? "ws:// or wss://" : "http:// or https://");
        return;
    }
    if (strcmp(u.path, "/") != 0) {
        err_at(L, s,
               "%s: \"%s\" has a path (%s): give scheme, host and port only; the daemon adds "
               "the venue's paths",
               s->name, text, u.path);
        return;
    }
    /* Stored without a trailing '/', so the daemon can append its paths. */
    if (n > 0 && text[n - 1] == '/')
        n--;
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Reads "url" (default: the profile's stream base). */
static void parse_url(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;

    get_base_url(L, s, true, vi->v.profile ? vi->v.profile->ws_url : NULL, vi->v.url);
}

/* Reads "rest_url" (default: the profile's REST base). */
static void parse_rest_url(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;

    get_base_url(L, s, false, vi->v.profile ? vi->v.profile->rest_url : NULL, vi->v.rest_url);
}

/* Reads "ca_file": a readable regular file, or "" for the system bundle. */
static void parse_ca_file(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const char *text;
    struct stat st;

    vi->v.ca_file[0] = '\0';
    if (!s || !get_string(L, s, "a file name string", &text) || !*text)
        return;
    if (strlen(text) >= sizeof(vi->v.ca_file)) {
        err_at(L, s, "ca_file: path too long");
        return;
    }
    if (stat(text, &st) < 0) {
        err_at(L, s, "ca_file: %s: %s", text, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        err_at(L, s, "ca_file: %s: not a regular file", text);
        return;
    }
    if (access(text, R_OK) < 0) {
        err_at(L, s, "ca_file: %s: %s", text, strerror(errno));
        return;
    }
    snprintf(vi->v.ca_file, sizeof(vi->v.ca_file), "%s", text);
}

/* Reads "streams_per_connection" (default: the profile's). Where the profile's figure is the
 * venue's own hard limit (Bitfinex: 25 channels, error 10305 past it) it is the maximum too;
 * elsewhere the defaults are conservative and 1024 streams are allowed. */
static void parse_streams_per_conn(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const struct venue_profile *p = vi->v.profile;
    const struct opt *o = &opts[O_STREAMS_PER_CONN];
    bool hard;
    double v;

    if (!p)
        return;
    hard = p->proto->conf->conn_cap_hard;
    v = p->streams_per_conn;
    if (s && hard && (s->type == CONFIG_TYPE_INT || s->type == CONFIG_TYPE_INT64) &&
        config_setting_get_int64(s) > (long long)p->streams_per_conn)
        err_at(L, s,
               "streams_per_connection: %lld is above %s's limit of %u channels per connection",
               (long long)config_setting_get_int64(s), p->name, p->streams_per_conn);
    else if (s)
        get_ranged(L, o, s, o->min, hard ? p->streams_per_conn : o->max, &v);
    vi->v.streams_per_conn = (uint32_t)v;
}

/* Reads "subscribe_rate" (default and maximum: the venue's limit minus 2). */
static void parse_subscribe_rate(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const struct opt *o = &opts[O_SUBSCRIBE_RATE];
    double max, v;

    if (!vi->v.profile)
        return;
    /* Two messages a second stay free for the pongs we owe the venue. */
    max = vi->v.profile->msgs_per_sec > 3 ? vi->v.profile->msgs_per_sec - 2 : 1;
    v = max;
    if (s)
        get_ranged(L, o, s, 1, max, &v);
    vi->v.subscribe_rate = (uint32_t)v;
}

/* The rules of the switches on venue p (NULL: unknown venue). */
static const struct vconf_rules *venue_rules(const struct venue_profile *p)
{
    return p ? p->proto->conf->rules(p) : NULL;
}

/* Writes a list of numbers as "5, 10, 20 or 50" into buf. */
static const char *number_list(const uint32_t *v, size_t n, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%u",
                                i == 0       ? ""
                                : i + 1 == n ? " or "
                                             : ", ",
                                v[i]);
    return buf;
}

/* Reads "snapshot_limit" (default: the profile's; some venues take only a fixed set). */
static void parse_snapshot_limit(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const struct vconf_rules *r = venue_rules(vi->v.profile);
    const struct opt *o = &opts[O_SNAPSHOT_LIMIT];
    char list[128];
    double v;

    if (!vi->v.profile)
        return;
    vi->v.snapshot_limit = vi->v.profile->snapshot_limit;
    if (!s)
        return;
    if (!r->snapshot_limits || r->n_snapshot_limits == 0) {
        if (get_ranged(L, o, s, o->min, o->max, &v))
            vi->v.snapshot_limit = (uint32_t)v;
        return;
    }
    if (!get_ranged(L, o, s, r->snapshot_limits[0], r->snapshot_limits[r->n_snapshot_limits - 1],
                    &v))
        v = 0;
    for (size_t i = 0; i < r->n_snapshot_limits; i++)
        if (v == r->snapshot_limits[i]) {
            vi->v.snapshot_limit = r->snapshot_limits[i];
            return;
        }
    if (v != 0)
        err_at(L, s, "snapshot_limit: %s takes %s, not %g", vi->v.profile->name,
               number_list(r->snapshot_limits, r->n_snapshot_limits, list, sizeof(list)), v);
}

/* Reads the "trades" switch (default the venue's: trade, or agg_trade where that is the trade
 * feed, as on Binance futures). */
static void parse_trades(struct loader *L, const config_setting_t *s, void *obj)
{
    static const char *const names[] = {"none", "trade", "agg_trade", "both"};
    struct venue_in *vi = obj;
    const struct vconf_rules *r = venue_rules(vi->v.profile);
    const char *text;

    vi->trades = r && r->trades == VS_AGGTRADE ? TR_AGG : TR_TRADE;
    if (!s || !get_string(L, s, "\"trade\", \"agg_trade\", \"both\" or \"none\"", &text))
        return;
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0) {
            if ((i == TR_AGG || i == TR_BOTH) && r && !r->agg_trades) {
                err_at(L, s,
                       "trades: %s has no aggregate trades; use \"trade\" (every trade) or "
                       "\"none\"",
                       vi->v.profile->name);
                return;
            }
            vi->trades = i;
            return;
        }
    err_at(L, s, "trades: unknown value \"%s\" (trade, agg_trade, both or none)", text);
}

/* Adds interval iv to the kline switch unless it is there already. */
static void add_kline(struct venue_in *vi, int iv)
{
    for (size_t i = 0; i < vi->n_kline; i++)
        if (vi->kline[i] == iv)
            return;
    if (vi->n_kline < MDF_IV_COUNT)
        vi->kline[vi->n_kline++] = (uint8_t)iv;
}

/* Reads the "kline" switch: one interval, an array of them, or "" (default 1m). */
static void parse_kline(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    int n, iv;

    vi->n_kline = 0;
    if (!s) {
        add_kline(vi, MDF_IV_1M);
        return;
    }
    if (s->type == CONFIG_TYPE_STRING) {
        if (config_setting_get_string(s)[0] == '\0')
            return; /* "" = no candles */
        iv = get_interval(L, s, vi->v.profile);
        if (iv != MDF_IV_NONE)
            add_kline(vi, iv);
        return;
    }
    if (s->type != CONFIG_TYPE_ARRAY && s->type != CONFIG_TYPE_LIST) {
        err_at(L, s, "kline: expected an interval string or an array of them, got %s",
               type_name(s));
        return;
    }
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        iv = get_interval(L, config_setting_get_elem(s, (unsigned)i), vi->v.profile);
        if (iv != MDF_IV_NONE)
            add_kline(vi, iv);
    }
}

/* Reads the "book_ticker" switch (default the venue's: true on Binance; false on Bitfinex,
 * which has no such channel and refuses true). */
static void parse_book_ticker(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const struct vconf_rules *r = venue_rules(vi->v.profile);

    vi->book_ticker = r ? r->book_ticker : true;
    if (!s)
        return;
    if (s->type != CONFIG_TYPE_BOOL) {
        err_at(L, s, "book_ticker: expected a boolean (true or false), got %s", type_name(s));
        return;
    }
    vi->book_ticker = config_setting_get_bool(s);
}

/* The number a string of decimal digits spells (no sign, no leading zero), or -1. */
static long long digits_value(const char *text)
{
    long long v = 0;
    size_t n = strlen(text);

    if (n == 0 || n > 9 || (text[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

/* Reads the "order_book" switch: "none", "diff" (VS_DIFF with the venue's default levels), or a
 * number (integer or string) whose meaning is the venue's (Binance: the partial books 5, 10 and
 * 20; Bitfinex: none, its book channel is "diff"). */
static void parse_order_book(struct loader *L, const config_setting_t *s, void *obj)
{
    struct venue_in *vi = obj;
    const struct venue_profile *p = vi->v.profile;
    long long n;

    memset(&vi->book, 0, sizeof(vi->book));
    vi->book_bad = false;
    if (!s)
        return;
    vi->book_bad = true; /* until a value is taken */
    if (s->type == CONFIG_TYPE_STRING) {
        const char *text = config_setting_get_string(s);

        if (strcmp(text, "none") == 0) {
            vi->book_bad = false;
            return;
        }
        if (strcmp(text, "diff") == 0) {
            vi->book_bad = false;
            vi->book.type = VS_DIFF;
            vi->book.levels = p ? p->proto->conf->diff_levels : 0;
            return;
        }
        n = digits_value(text);
    } else if (s->type == CONFIG_TYPE_INT || s->type == CONFIG_TYPE_INT64) {
        n = config_setting_get_int64(s);
    } else {
        err_at(L, s, "order_book: expected \"none\", \"diff\"%s, got %s",
               p ? p->proto->conf->order_book_what : "", type_name(s));
        return;
    }
    if (!p)
        return; /* the venue is unknown (reported): no number can be judged */
    err_clear();
    if (p->proto->conf->order_book(p, n, &vi->book) < 0) {
        err_at(L, s, "order_book: %s", mdf_errmsg());
        memset(&vi->book, 0, sizeof(vi->book));
        return;
    }
    vi->book_bad = false;
}

/* ------------------------------------------------------------------------------------------ */
/* A streams entry. */

/* Reads a streams entry's "symbol" (required). */
static void parse_s_symbol(struct loader *L, const config_setting_t *s, void *obj)
{
    struct stream_in *si = obj;

    if (s && get_symbol(L, s, si->p, si->s.symbol))
        return;
    si->bad = true;
}

/* Writes the stream type names ("trade, agg_trade, ...") into buf. */
static const char *type_list(char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int t = VS_NONE + 1; t < VS_COUNT && n < cap; t++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", t > 1 ? ", " : "", vstream_type_name(t));
    return buf;
}

/* Reads a streams entry's "type" (required). */
static void parse_s_type(struct loader *L, const config_setting_t *s, void *obj)
{
    struct stream_in *si = obj;
    char names[256];
    const char *text;
    int t;

    if (!s || !get_string(L, s, "a stream type string", &text)) {
        si->bad = true;
        return;
    }
    t = vstream_type_find(text);
    if (t <= VS_NONE || t >= VS_COUNT) {
        err_at(L, s, "type: unknown stream type \"%s\" (one of %s)", text,
               type_list(names, sizeof(names)));
        si->bad = true;
        return;
    }
    si->s.type = (uint8_t)t;
}

/* Reads a streams entry's "interval" (kline only; checked by the caller). */
static void parse_s_interval(struct loader *L, const config_setting_t *s, void *obj)
{
    struct stream_in *si = obj;
    int iv;

    if (!s)
        return;
    iv = get_interval(L, s, si->p);
    if (iv == MDF_IV_NONE)
        si->bad = true;
    si->s.interval = (uint8_t)iv;
}

/* Reads a streams entry's "levels": 5, 10 or 20 (depth only; checked by the caller). */
static void parse_s_levels(struct loader *L, const config_setting_t *s, void *obj)
{
    struct stream_in *si = obj;
    long long v;

    if (!s)
        return;
    if (!get_int(L, s, "5, 10 or 20", &v)) {
        si->bad = true;
        return;
    }
    if (v != 5 && v != 10 && v != 20) {
        err_at(L, s, "levels: %lld is not 5, 10 or 20", v);
        si->bad = true;
        return;
    }
    si->s.levels = (uint8_t)v;
}

/* Reads a streams entry's "speed" in ms (0 = the venue's default). */
static void parse_s_speed(struct loader *L, const config_setting_t *s, void *obj)
{
    struct stream_in *si = obj;
    const struct opt *o = &opts[O_S_SPEED];
    double v = 0;

    if (s && !get_ranged(L, o, s, o->min, o->max, &v))
        si->bad = true;
    si->s.speed_ms = (uint16_t)v;
}

/* ------------------------------------------------------------------------------------------ */
/* Stream lists. */

/* Checks s against the venue (in the config's words where the venue has them); on failure
 * reports at `at` (prefixed with the key) and returns false. */
static bool check_stream(struct loader *L, const struct venue_profile *p, const struct vstream *s,
                         const config_setting_t *at, const char *prefix)
{
    const struct venue_conf *vc = p->proto->conf;
    int r;

    err_clear();
    r = vc->stream_check ? vc->stream_check(p, s) : p->proto->stream_check(p, s);
    if (r == 0)
        return true;
    err_at(L, at, "%s%s", prefix, mdf_errmsg());
    return false;
}

/* Appends s to the venue's list unless an equal stream is there already. */
static void push_stream(struct loader *L, struct venue_in *vi, const struct vstream *s)
{
    struct cfg_venue *v = &vi->v;

    for (size_t i = 0; i < v->n_streams; i++)
        if (vstream_equal(&v->streams[i], s))
            return;
    if (v->n_streams == vi->cap_streams) {
        size_t cap = vi->cap_streams ? 2 * vi->cap_streams : 16;
        struct vstream *n = realloc(v->streams, cap * sizeof(*n));

        if (!n) {
            L->oom = true;
            return;
        }
        v->streams = n;
        vi->cap_streams = cap;
    }
    v->streams[v->n_streams++] = *s;
}

/* Adds a stream made by switch id for one symbol. A switch whose stream the venue refuses is
 * reported once, at the switch (or at "symbols" when the switch is at its default). */
static void add_switch_stream(struct loader *L, struct venue_in *vi, const struct given *gv,
                              enum opt_id id, const struct vstream *s)
{
    const config_setting_t *at = gv->s[id] ? gv->s[id] : gv->s[O_SYMBOLS];
    char prefix[64];

    if (vi->reported[id])
        return;
    snprintf(prefix, sizeof(prefix), "%s: ", opts[id].name);
    if (!check_stream(L, vi->v.profile, s, at, prefix)) {
        vi->reported[id] = true;
        return;
    }
    push_stream(L, vi, s);
}

/* Expands "symbols" with the switches into the venue's stream list. */
static void expand_symbols(struct loader *L, struct venue_in *vi, const struct given *gv)
{
    const config_setting_t *syms = gv->s[O_SYMBOLS];
    const struct venue_profile *p = vi->v.profile;
    const struct vconf_rules *r = venue_rules(p);
    int n;

    if (syms->type != CONFIG_TYPE_ARRAY && syms->type != CONFIG_TYPE_LIST) {
        err_at(L, syms, "symbols: expected an array of symbol strings [ \"BTCUSDT\", ... ], got %s",
               type_name(syms));
        return;
    }
    if (vi->funding && r->n_funding == 0) {
        err_at(L, gv->s[O_FUNDING], "funding: %s has no funding rates (futures venues only)",
               p->name);
        vi->funding = false;
    }
    if (vi->liquidations && !r->liquidations) {
        err_at(L, gv->s[O_LIQUIDATIONS],
               "liquidations: %s has no liquidation stream (futures venues only)", p->name);
        vi->liquidations = false;
    }
    n = config_setting_length(syms);
    for (int i = 0; i < n; i++) {
        struct vstream s;

        memset(&s, 0, sizeof(s));
        if (!get_symbol(L, config_setting_get_elem(syms, (unsigned)i), p, s.symbol))
            continue;
        if (vi->trades == TR_TRADE || vi->trades == TR_BOTH) {
            s.type = VS_TRADE;
            add_switch_stream(L, vi, gv, O_TRADES, &s);
        }
        if (vi->trades == TR_AGG || vi->trades == TR_BOTH) {
            s.type = VS_AGGTRADE;
            add_switch_stream(L, vi, gv, O_TRADES, &s);
        }
        for (size_t k = 0; k < vi->n_kline; k++) {
            s.type = VS_KLINE;
            s.interval = vi->kline[k];
            add_switch_stream(L, vi, gv, O_KLINE, &s);
        }
        s.interval = 0;
        if (vi->book_ticker) {
            s.type = VS_BOOKTICKER;
            add_switch_stream(L, vi, gv, O_BOOK_TICKER, &s);
        }
        if (vi->book.type != VS_NONE) {
            struct vstream b = vi->book;

            memcpy(b.symbol, s.symbol, sizeof(b.symbol));
            add_switch_stream(L, vi, gv, gv->s[O_BOOK_SPEED] ? O_BOOK_SPEED : O_ORDER_BOOK, &b);
        }
        if (vi->ticker) {
            s.type = VS_TICKER;
            add_switch_stream(L, vi, gv, O_TICKER, &s);
        }
        if (vi->mini_ticker) {
            s.type = VS_MINITICKER;
            add_switch_stream(L, vi, gv, O_MINI_TICKER, &s);
        }
        for (size_t k = 0; vi->funding && k < r->n_funding; k++) {
            struct vstream f = r->funding[k];

            memcpy(f.symbol, s.symbol, sizeof(f.symbol));
            add_switch_stream(L, vi, gv, O_FUNDING, &f);
        }
        if (vi->liquidations) {
            s.type = VS_FORCEORDER;
            add_switch_stream(L, vi, gv, O_LIQUIDATIONS, &s);
        }
    }
}

/* True (and reported at the first) if a streams entry of type `type` sets an option of venue p
 * that belongs to another type. */
static bool venue_opt_misplaced(struct loader *L, const struct venue_profile *p,
                                const struct given *gv, int type)
{
    const struct venue_conf *vc = p->proto->conf;

    for (size_t i = 0; i < vc->n_opts && i < VCONF_OPTS_MAX; i++) {
        const struct venue_opt *o = &vc->opts[i];

        if (gv->vopt[i] && o->scope == VC_STREAM && o->stream_type != type) {
            err_at(L, gv->vopt[i], "%s: only %s streams take it", o->key,
                   vstream_type_name(o->stream_type));
            return true;
        }
    }
    return false;
}

/* Expands the explicit "streams" list into the venue's stream list. */
static void expand_streams(struct loader *L, struct venue_in *vi, const config_setting_t *list)
{
    int n;

    if (list->type != CONFIG_TYPE_LIST) {
        err_at(L, list,
               "streams: expected a list of groups ( { symbol = ...; type = ...; }, ... ), "
               "got %s",
               type_name(list));
        return;
    }
    n = config_setting_length(list);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        struct stream_in si;
        struct given gv;

        memset(&si, 0, sizeof(si));
        si.p = vi->v.profile;
        if (!config_setting_is_group(e)) {
            err_at(L, e, "streams: entry %d is %s, expected a group { symbol = ...; type = ...; }",
                   i + 1, type_name(e));
            continue;
        }
        collect(L, e, SC_STREAM, " in a streams entry", si.p, &gv);
        apply(L, SC_STREAM, &gv, &si, false);
        if (!gv.s[O_S_SYMBOL])
            err_at(L, e, "streams entry without 'symbol'");
        if (!gv.s[O_S_TYPE])
            err_at(L, e, "streams entry without 'type' (trade, agg_trade, kline, ...)");
        if (si.bad)
            continue;
        if (si.s.type == VS_KLINE && !gv.s[O_S_INTERVAL]) {
            err_at(L, e, "kline stream of %s without 'interval'", si.s.symbol);
            continue;
        }
        if (si.s.type != VS_KLINE && gv.s[O_S_INTERVAL]) {
            err_at(L, gv.s[O_S_INTERVAL], "interval: only kline streams have one");
            continue;
        }
        /* A venue without partial books: the check below says so at the type. */
        if (si.s.type == VS_DEPTH && !gv.s[O_S_LEVELS] && venue_rules(si.p)->depth) {
            err_at(L, e, "depth stream of %s without 'levels' (5, 10 or 20)", si.s.symbol);
            continue;
        }
        if (si.s.type != VS_DEPTH && gv.s[O_S_LEVELS]) {
            err_at(L, gv.s[O_S_LEVELS], "levels: only depth streams have them");
            continue;
        }
        /* The venue's own options (Bitfinex prec, freq, len) belong to one type each. */
        if (venue_opt_misplaced(L, si.p, &gv, si.s.type))
            continue;
        if (check_stream(L, vi->v.profile, &si.s, gv.s[O_S_TYPE], ""))
            push_stream(L, vi, &si.s);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Consistency. */

/* Reports a timer rule broken: at the line of `first` if the file sets it, else at `second`,
 * else at the venue entry. */
static void err_rule(struct loader *L, const struct given *gv, int first, int second,
                     const config_setting_t *entry, const char *msg)
{
    if (given_line(gv, first))
        err_line(L, given_file(gv, first), given_line(gv, first), "%s", msg);
    else if (second >= 0 && given_line(gv, second))
        err_line(L, given_file(gv, second), given_line(gv, second), "%s", msg);
    else if (entry)
        err_at(L, entry, "%s", msg);
    else
        err_line(L, NULL, 1, "%s", msg);
}

/* Checks the timer rules on one venue's merged settings (p NULL: the venue is unknown, skip the
 * rule that needs its ping period). */
static void check_timers(struct loader *L, const struct cfg_conn *cn, const struct cfg_health *h,
                         const struct given *gv, const struct venue_profile *p,
                         const config_setting_t *entry)
{
    char m[256];

    if (cn->base_delay > cn->max_delay) {
        snprintf(m, sizeof(m), "reconnect_base_delay (%g s) is above reconnect_max_delay (%g s)",
                 cn->base_delay, cn->max_delay);
        err_rule(L, gv, O_BASE_DELAY, O_MAX_DELAY, entry, m);
    }
    if (cn->ping_interval > 0 && cn->pong_timeout >= cn->max_age) {
        snprintf(m, sizeof(m), "pong_timeout (%g s) must be below max_connection_age (%g s)",
                 cn->pong_timeout, cn->max_age);
        err_rule(L, gv, O_PONG_TIMEOUT, O_MAX_AGE, entry, m);
    }
    if (cn->connect_timeout >= cn->max_age) {
        snprintf(m, sizeof(m), "connect_timeout (%g s) must be below max_connection_age (%g s)",
                 cn->connect_timeout, cn->max_age);
        err_rule(L, gv, O_CONNECT_TIMEOUT, O_MAX_AGE, entry, m);
    }
    if (cn->ping_interval > 0 && h->watchdog_timeout < cn->ping_interval + cn->pong_timeout) {
        snprintf(m, sizeof(m),
                 "watchdog_timeout (%g s) must be at least ping_interval + pong_timeout (%g s)",
                 h->watchdog_timeout, cn->ping_interval + cn->pong_timeout);
        err_rule(L, gv, O_WATCHDOG,
                 given_line(gv, O_PING_INTERVAL) ? O_PING_INTERVAL : O_PONG_TIMEOUT, entry, m);
    }
    /* With no pings of ours, the venue's own traffic keeps a quiet connection alive (its
     * keepalive: Binance's WebSocket pings, or Bitfinex's per-channel heartbeats, whose period
     * is its ping_interval_s; its pong_timeout_s and max_age_s of 0 enter no rule here). */
    if (cn->ping_interval == 0 && p && h->watchdog_timeout <= p->ping_interval_s) {
        snprintf(m, sizeof(m),
                 "watchdog_timeout (%g s) must be above %s's %s period (%u s) when "
                 "ping_interval = 0",
                 h->watchdog_timeout, p->name, p->proto->conf->keepalive, p->ping_interval_s);
        err_rule(L, gv, O_WATCHDOG, O_PING_INTERVAL, entry, m);
    }
    if (h->check_interval >= h->silent_after) {
        snprintf(m, sizeof(m), "check_interval (%g s) must be below silent_after (%g s)",
                 h->check_interval, h->silent_after);
        err_rule(L, gv, O_CHECK_INTERVAL, O_SILENT_AFTER, entry, m);
    }
    if (h->check_interval >= h->stale_min) {
        snprintf(m, sizeof(m), "check_interval (%g s) must be below stale_min (%g s)",
                 h->check_interval, h->stale_min);
        err_rule(L, gv, O_CHECK_INTERVAL, O_STALE_MIN, entry, m);
    }
    if (h->check_interval >= h->watchdog_timeout) {
        snprintf(m, sizeof(m), "check_interval (%g s) must be below watchdog_timeout (%g s)",
                 h->check_interval, h->watchdog_timeout);
        err_rule(L, gv, O_CHECK_INTERVAL, O_WATCHDOG, entry, m);
    }
}

/* Merges the global connection and health settings with a venue's own groups (key by key) and
 * checks the timer rules on the result. */
static void venue_timers(struct loader *L, struct venue_in *vi, const struct given *vgv)
{
    struct given merged, own_conn, own_health;
    bool has_conn, has_health;
    size_t errs_before;

    vi->v.conn = L->conn;
    vi->v.health = L->health;
    has_conn = collect_group(L, vgv->s[O_V_CONNECTION], SC_CONN, " in connection", &own_conn);
    has_health = collect_group(L, vgv->s[O_V_HEALTH], SC_HEALTH, " in health", &own_health);
    /* A value refused here would only add a second, confusing message from the rules. */
    errs_before = L->n_errs;
    if (has_conn)
        apply(L, SC_CONN, &own_conn, &vi->v.conn, true);
    if (has_health)
        apply(L, SC_HEALTH, &own_health, &vi->v.health, true);
    if (L->n_errs != errs_before)
        return;
    /* The lines the rules point at: the global groups', replaced by the venue's own keys. */
    merged = L->conn_given;
    for (int id = 0; id < O_COUNT; id++) {
        if (opts[id].sc == SC_HEALTH)
            merged.s[id] = L->health_given.s[id];
        if (own_conn.s[id])
            merged.s[id] = own_conn.s[id];
        if (own_health.s[id])
            merged.s[id] = own_health.s[id];
    }
    check_timers(L, &vi->v.conn, &vi->v.health, &merged, vi->v.profile, vi->entry);
}

/* ------------------------------------------------------------------------------------------ */
/* Venues. */

/* The profile an entry names, looked up without a word (parse_venue reports a bad one), so
 * that its keys are filed under the venue's own options; NULL if none. */
static const struct venue_profile *entry_profile(const config_setting_t *e)
{
    const config_setting_t *v = config_setting_get_member(e, "venue");

    if (!v || v->type != CONFIG_TYPE_STRING)
        return NULL;
    return venue_profile_find(config_setting_get_string(v));
}

/* The settings given in an entry for the keys ids[0..n) in that order (O_VENUE_OPTS stands for
 * the venue's own entry options), into set[] with their names: returns how many (at most
 * O_COUNT + VCONF_OPTS_MAX). */
static size_t entry_keys(const struct given *gv, const struct venue_profile *p,
                         const enum opt_id *ids, size_t n, const config_setting_t **set,
                         const char **names)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        if (ids[i] != O_VENUE_OPTS) {
            set[count] = gv->s[ids[i]];
            names[count++] = opts[ids[i]].name;
            continue;
        }
        for (size_t k = 0; p && k < p->proto->conf->n_opts && k < VCONF_OPTS_MAX; k++) {
            if (p->proto->conf->opts[k].scope != VC_ENTRY)
                continue;
            set[count] = gv->vopt[k];
            names[count++] = p->proto->conf->opts[k].key;
        }
    }
    return count;
}

/* Reads one venues entry e into vi. */
static void read_venue(struct loader *L, struct venue_in *vi, const config_setting_t *e)
{
    size_t errs_before = L->n_errs, n;
    const config_setting_t *set[O_COUNT + VCONF_OPTS_MAX];
    const char *names[O_COUNT + VCONF_OPTS_MAX];
    struct given gv;

    memset(vi, 0, sizeof(*vi));
    vi->entry = e;
    vi->v.line = (int)config_setting_source_line(e);
    collect(L, e, SC_VENUE, " in a venues entry", entry_profile(e), &gv);
    apply(L, SC_VENUE, &gv, vi, false);
    venue_timers(L, vi, &gv);
    n = entry_keys(&gv, vi->v.profile, switch_ids, sizeof(switch_ids) / sizeof(switch_ids[0]), set,
                   names);
    for (size_t i = 0; i < n; i++)
        if (set[i] && !gv.s[O_SYMBOLS])
            err_at(L, set[i], "%s: a switch for \"symbols\", but this venue has no symbols list",
                   names[i]);
    n = entry_keys(&gv, vi->v.profile, book_option_ids,
                   sizeof(book_option_ids) / sizeof(book_option_ids[0]), set, names);
    for (size_t i = 0; i < n; i++)
        if (set[i] && gv.s[O_SYMBOLS] && vi->book.type == VS_NONE && !vi->book_bad)
            err_at(L, set[i], "%s: set order_book too (it is \"none\")", names[i]);
    if (!vi->v.profile)
        return; /* already reported; its streams cannot be checked */
    /* Both styles may be used at once: their streams are joined in the order the file gives. */
    if (gv.s[O_SYMBOLS] && gv.s[O_STREAMS] &&
        config_setting_index(gv.s[O_STREAMS]) < config_setting_index(gv.s[O_SYMBOLS])) {
        expand_streams(L, vi, gv.s[O_STREAMS]);
        expand_symbols(L, vi, &gv);
    } else {
        if (gv.s[O_SYMBOLS])
            expand_symbols(L, vi, &gv);
        if (gv.s[O_STREAMS])
            expand_streams(L, vi, gv.s[O_STREAMS]);
    }
    if (vi->v.n_streams == 0 && !gv.s[O_SYMBOLS] && !gv.s[O_STREAMS])
        err_at(L, e, "venue %s has no streams: give \"symbols\" or \"streams\"", vi->v.name);
    else if (vi->v.n_streams == 0 && L->n_errs == errs_before)
        err_at(L, e, "venue %s has no streams (empty symbols, and every switch off?)", vi->v.name);
}

/* Counts the distinct symbols of a venue (streams are unique but share symbols). */
static size_t count_symbols(const struct cfg_venue *v)
{
    size_t n = 0;

    for (size_t i = 0; i < v->n_streams; i++) {
        size_t j;

        for (j = 0; j < i; j++)
            if (strcmp(v->streams[j].symbol, v->streams[i].symbol) == 0)
                break;
        n += j == i;
    }
    return n;
}

/* Reads the "venues" list and checks the totals against the shm tables. */
static void read_venues(struct loader *L, const config_setting_t *list, const struct given *shm)
{
    struct md_config *c = L->c;
    size_t n_symbols = 0, n_series = 0, n_streams = 0;
    int n;

    if (!list) {
        err_line(L, NULL, 1,
                 "no venues: add venues = ( { venue = \"binance-spot\"; symbols = [ ... ]; } )");
        return;
    }
    if (list->type != CONFIG_TYPE_LIST) {
        err_at(L, list, "venues: expected a list of groups ( { venue = ...; }, ... ), got %s",
               type_name(list));
        return;
    }
    n = config_setting_length(list);
    if (n == 0) {
        err_at(L, list, "venues: the list is empty; at least one venue is needed");
        return;
    }
    c->venues = calloc((size_t)n, sizeof(*c->venues));
    if (!c->venues) {
        L->oom = true;
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        struct venue_in vi;

        if (!config_setting_is_group(e)) {
            err_at(L, e, "venues: entry %d is %s, expected a group { venue = ...; }", i + 1,
                   type_name(e));
            continue;
        }
        read_venue(L, &vi, e);
        for (size_t k = 0; k < c->n_venues && vi.v.name[0]; k++)
            if (strcmp(c->venues[k].name, vi.v.name) == 0) {
                err_at(L, vi.name_at ? vi.name_at : e,
                       "duplicate venue name \"%s\" (first at line %d); set 'name'", vi.v.name,
                       c->venues[k].line);
                break;
            }
        c->venues[c->n_venues++] = vi.v; /* the stream list moves with it */
        n_symbols += count_symbols(&vi.v);
        n_streams += vi.v.n_streams;
        for (size_t k = 0; k < vi.v.n_streams; k++)
            n_series += vi.v.streams[k].type == VS_KLINE;
    }
    if (n_symbols > c->shm.max_symbols)
        err_line(L, given_file(shm, O_MAX_SYMBOLS),
                 given_line(shm, O_MAX_SYMBOLS) ? given_line(shm, O_MAX_SYMBOLS)
                                                : (int)config_setting_source_line(list),
                 "%zu symbols over all venues do not fit shm.max_symbols = %u", n_symbols,
                 c->shm.max_symbols);
    if (n_series > c->shm.max_series)
        err_line(L, given_file(shm, O_MAX_SERIES),
                 given_line(shm, O_MAX_SERIES) ? given_line(shm, O_MAX_SERIES)
                                               : (int)config_setting_source_line(list),
                 "%zu kline streams over all venues do not fit shm.max_series = %u", n_series,
                 c->shm.max_series);
    if (n_streams > c->shm.max_streams)
        err_line(L, given_file(shm, O_MAX_STREAMS),
                 given_line(shm, O_MAX_STREAMS) ? given_line(shm, O_MAX_STREAMS)
                                                : (int)config_setting_source_line(list),
                 "%zu streams over all venues do not fit shm.max_streams = %u", n_streams,
                 c->shm.max_streams);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points. */

/* Reads the parsed file into L->c. */
static void read_config(struct loader *L)
{
    const config_setting_t *root = config_root_setting(&L->lc);
    struct given top, shm, rings;

    collect(L, root, SC_TOP, "", NULL, &top);
    apply(L, SC_TOP, &top, L->c, false);
    if (collect_group(L, top.s[O_SHM], SC_SHM, " in shm", &shm))
        collect_group(L, shm.s[O_RINGS], SC_RINGS, " in shm.rings", &rings);
    else
        memset(&rings, 0, sizeof(rings));
    apply(L, SC_SHM, &shm, &L->c->shm, false);
    apply(L, SC_RINGS, &rings, &L->c->shm, false);
    collect_group(L, top.s[O_CONNECTION], SC_CONN, " in connection", &L->conn_given);
    apply(L, SC_CONN, &L->conn_given, &L->conn, false);
    collect_group(L, top.s[O_HEALTH], SC_HEALTH, " in health", &L->health_given);
    apply(L, SC_HEALTH, &L->health_given, &L->health, false);
    read_venues(L, top.s[O_VENUES], &shm);
}

/* Prints the notices, in file order. */
static void report_notes(struct loader *L, FILE *errs)
{
    if (L->n_notes)
        qsort(L->notes, L->n_notes, sizeof(*L->notes), err_cmp);
    for (size_t i = 0; errs && i < L->n_notes; i++)
        fprintf(errs, "%s:%d: notice: %s\n", L->notes[i].file, L->notes[i].line, L->notes[i].msg);
    if (errs)
        fflush(errs);
}

/* Writes every error to errs and sets the thread's message to the first. */
static void report(struct loader *L, FILE *errs)
{
    report_notes(L, errs);
    qsort(L->errs, L->n_errs, sizeof(*L->errs), err_cmp);
    for (size_t i = 0; errs && i < L->n_errs; i++)
        fprintf(errs, "%s:%d: %s\n", L->errs[i].file, L->errs[i].line, L->errs[i].msg);
    if (errs)
        fflush(errs);
    if (L->n_errs == 1)
        err_set(-EINVAL, "%s:%d: %s", L->errs[0].file, L->errs[0].line, L->errs[0].msg);
    else if (L->n_errs > 1)
        err_set(-EINVAL, "%s:%d: %s (and %zu more errors)", L->errs[0].file, L->errs[0].line,
                L->errs[0].msg, L->n_errs - 1);
}

/* Reports libconfig's parse error, naming the token or the key it leaves out when the
 * pre-scan finds the same problem on the same line (else libconfig's words as they are). */
static void parse_error(struct loader *L)
{
    const char *file = config_error_file(&L->lc), *text = config_error_text(&L->lc);
    int line = config_error_line(&L->lc), at = 0;
    char msg[256], *buf = NULL;
    size_t len = 0;
    FILE *f;

    if ((!file || strcmp(file, L->path) == 0) && (f = fopen(L->path, "r"))) {
        FILE *m = open_memstream(&buf, &len);
        char chunk[4096];
        size_t n;

        while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, m);
        fclose(f);
        if (m && fclose(m) == 0 && cfg_prescan(buf, len, &at, msg, sizeof(msg)) == 1 &&
            at == line) {
            free(buf);
            err_line(L, file, line, "%s", msg);
            return;
        }
        free(buf);
    }
    err_line(L, file, line, "%s", text);
}

/* Reads and validates a file (see config.h): errors are collected, then printed together. */
int cfg_load(const char *path, FILE *errs, struct md_config **out)
{
    struct loader L;
    struct stat st;
    FILE *f;
    int r;

    *out = NULL;
    memset(&L, 0, sizeof(L));
    L.path = path;
    if (strlen(path) >= sizeof(L.c->path)) {
        r = err_set(-ENAMETOOLONG, "%s: path too long", path);
        goto out_io;
    }
    /* Opened here first so a missing or unreadable file is told apart (libconfig says only
     * "file I/O error"). */
    f = fopen(path, "r");
    if (!f) {
        r = -errno;
        err_set(r, "%s: cannot read: %s", path, strerror(errno));
        goto out_io;
    }
    r = fstat(fileno(f), &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
    fclose(f);
    if (r < 0) {
        err_set(r, "%s: cannot read: %s", path, strerror(-r));
        goto out_io;
    }
    L.c = calloc(1, sizeof(*L.c));
    if (!L.c) {
        r = err_set(-ENOMEM, "%s: out of memory", path);
        goto out_io;
    }
    snprintf(L.c->path, sizeof(L.c->path), "%s", path);
    config_init(&L.lc);
    if (!config_read_file(&L.lc, path)) {
        if (config_error_type(&L.lc) == CONFIG_ERR_FILE_IO) {
            r = err_set(-EIO, "%s: cannot read: %s", path, strerror(EIO));
            goto out_destroy;
        }
        parse_error(&L);
    } else {
        read_config(&L);
    }
    if (L.oom) {
        r = err_set(-ENOMEM, "%s: out of memory", path);
        goto out_destroy;
    }
    if (L.n_errs) {
        report(&L, errs);
        r = -EINVAL;
        goto out_destroy;
    }
    report_notes(&L, errs);
    r = 0;
    *out = L.c;
    L.c = NULL;

out_destroy:
    config_destroy(&L.lc);
    for (size_t i = 0; i < L.n_errs; i++)
        free(L.errs[i].msg);
    free(L.errs);
    for (size_t i = 0; i < L.n_notes; i++)
        free(L.notes[i].msg);
    free(L.notes);
    cfg_free(L.c);
    return r;
out_io:
    if (errs) {
        fprintf(errs, "%s\n", mdf_errmsg());
        fflush(errs);
    }
    return r;
}

/* Frees a config and its venues' stream lists. */
void cfg_free(struct md_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_venues; i++)
        free(c->venues[i].streams);
    free(c->venues);
    free(c);
}

/* Finds a venue entry by its name (linear: a handful of venues). */
const struct cfg_venue *cfg_venue_find(const struct md_config *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_venues; i++)
        if (strcmp(c->venues[i].name, name) == 0)
            return &c->venues[i];
    return NULL;
}

/* Ring names as the file spells them, by enum mdf_ring. */
static const char *const ring_names[MDF_RING_COUNT] = {
    [MDF_RING_TICKS] = "ticks",     [MDF_RING_CANDLES] = "candles", [MDF_RING_BOOKS] = "books",
    [MDF_RING_FUNDING] = "funding", [MDF_RING_EVENTS] = "events",
};

/* Compares the restart-only settings; why gets the first difference. */
bool cfg_needs_restart(const struct md_config *a, const struct md_config *b, char *why, size_t cap)
{
    const struct cfg_shm *x = &a->shm, *y = &b->shm;
    char tmp[160];

    tmp[0] = '\0';
    if (strcmp(a->instance, b->instance) != 0)
        snprintf(tmp, sizeof(tmp), "instance (%s -> %s)", a->instance, b->instance);
    else if (a->decoder != b->decoder)
        snprintf(tmp, sizeof(tmp), "decoder (%s -> %s)",
                 a->decoder == VDEC_JANSSON ? "jansson" : "jsmn",
                 b->decoder == VDEC_JANSSON ? "jansson" : "jsmn");
    else if (x->mode != y->mode)
        snprintf(tmp, sizeof(tmp), "shm.mode (%04o -> %04o)", (unsigned)x->mode, (unsigned)y->mode);
    else if (x->gid != y->gid || strcmp(x->group, y->group) != 0)
        snprintf(tmp, sizeof(tmp), "shm.group (\"%s\" -> \"%s\")", x->group, y->group);
    else if (x->book_depth != y->book_depth)
        snprintf(tmp, sizeof(tmp), "shm.book_depth (%u -> %u)", x->book_depth, y->book_depth);
    else if (x->candle_k != y->candle_k)
        snprintf(tmp, sizeof(tmp), "shm.candle_history (%u -> %u)", x->candle_k, y->candle_k);
    else if (x->max_symbols != y->max_symbols)
        snprintf(tmp, sizeof(tmp), "shm.max_symbols (%u -> %u)", x->max_symbols, y->max_symbols);
    else if (x->max_series != y->max_series)
        snprintf(tmp, sizeof(tmp), "shm.max_series (%u -> %u)", x->max_series, y->max_series);
    else if (x->max_streams != y->max_streams)
        snprintf(tmp, sizeof(tmp), "shm.max_streams (%u -> %u)", x->max_streams, y->max_streams);
    else
        for (int i = 0; i < MDF_RING_COUNT; i++)
            if (x->ring_size[i] != y->ring_size[i]) {
                snprintf(tmp, sizeof(tmp), "shm.rings.%s (%llu -> %llu)", ring_names[i],
                         (unsigned long long)x->ring_size[i], (unsigned long long)y->ring_size[i]);
                break;
            }
    if (why && cap)
        snprintf(why, cap, "%s", tmp);
    return tmp[0] != '\0';
}
