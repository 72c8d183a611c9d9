/*
 * The config rules a venue declares (struct venue_proto's `conf`): how its symbols and intervals
 * are spelt, which of the loader's keys it has no use for (refused with the venue's reason),
 * which generic switches it has and their defaults, and the options only it has. The loader's
 * generic part (config/config.c) asks these tables and never which venue it reads.
 *
 * Design: data where a rule is a value (a default, a flag, a list), a function where it is a
 * reading (a symbol, an interval, an order_book number, an option's value). Functions are pure
 * and report with err_set() (core/err.h): the loader turns the message into "FILE:LINE: key:
 * message", so a venue writes its words once and never sees a file or a line. Nothing here
 * depends on libconfig: a value reaches a venue as a struct vconf_val.
 *
 * The four venues show the range: Binance (binance_conf.c: spot and futures rules differ per
 * profile), Bitfinex (bitfinex_conf.c: symbols kept as written, its own book options on the
 * switches and on streams, a hard channel cap), Bybit (bybit_conf.c: an option of its own on
 * diff_depth streams, funding served by another stream type) and OKX (okx_conf.c: instIds
 * checked by the venue, funding = two streams, a config-only check that funding rates are for
 * swaps).
 */
#ifndef MDF_VENUE_VCONF_H
#define MDF_VENUE_VCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "venue/venue.h"

/* Where a key is written. */
enum vconf_scope {
    VC_ENTRY = 0,  /* a venues entry: { venue = ...; symbols = ...; ... } */
    VC_STREAM = 1, /* an entry of a venue's streams list: { symbol = ...; type = ...; } */
};

/* A config key the venue has no use for: setting it is an error giving the reason, after which
 * the key counts as not set (so nothing else is said about it). The key may be one of the
 * loader's (rest_url) or one only other venues declare (Bitfinex's book_prec on Binance). */
struct venue_refusal {
    const char *key;        /* the key as the config spells it ("rest_url") */
    enum vconf_scope scope; /* where it is refused */
    bool only_true;         /* a boolean switch refused only when true (false asks for what the
                               venue does anyway); another type is left to the type error */
    const char *why;        /* the reason, after "key: " */
};

/* What a config value is. */
enum vconf_type {
    VCT_OTHER = 0,  /* a group, array or list */
    VCT_STRING = 1, /* str */
    VCT_INT = 2,    /* i */
    VCT_FLOAT = 3,  /* f */
    VCT_BOOL = 4,   /* b */
};

#define VCT_BIT(t) (1u << (t)) /* a set of enum vconf_type, for venue_opt.types */

/* A config value handed to a venue's reader. */
struct vconf_val {
    enum vconf_type type; /* which member holds it */
    const char *str;      /* VCT_STRING (borrowed from the loader) */
    long long i;          /* VCT_INT */
    double f;             /* VCT_FLOAT */
    bool b;               /* VCT_BOOL */
};

/* An option only this venue has. A VC_ENTRY option is an order book switch: it needs
 * "symbols" and order_book set, and its parse writes the order book stream the switches make
 * (type and levels from order_book, speed_ms from book_speed, already there). A VC_STREAM
 * option belongs to streams of one type and writes the stream being read. */
struct venue_opt {
    const char *key;        /* the key as the config spells it ("book_prec") */
    enum vconf_scope scope; /* where it is written */
    unsigned types;         /* VCT_BIT()s of the value types it takes; another type is the
                               loader's error "key: expected <what>, got <type>" */
    const char *what;       /* what it expects, for that message ("a precision string ...") */
    uint8_t stream_type;    /* VC_STREAM: the enum vstream_type that takes it; another type is
                               "key: only <type> streams take it" */
    /* Reads v into *s. Returns 0, or -EINVAL with err_set() saying why (without the key: the
     * loader writes "key: " before it). */
    int (*parse)(const struct vconf_val *v, struct vstream *s);
};

/* The generic switches as one profile of the venue has them (spot and futures differ). */
struct vconf_rules {
    uint8_t trades;                  /* default of "trades": VS_TRADE or VS_AGGTRADE */
    bool agg_trades;                 /* has aggregate trades (else agg_trade and both refused) */
    bool book_ticker;                /* default of "book_ticker" */
    bool depth;                      /* serves partial books (VS_DEPTH): a depth streams entry
                                        must give levels (else the stream check refuses it) */
    const struct vstream *funding;   /* what "funding = true" subscribes per symbol (symbol
                                        left empty), NULL: no funding rates (an error) */
    size_t n_funding;                /* their count */
    bool liquidations;               /* has a liquidation stream (VS_FORCEORDER) */
    const uint32_t *snapshot_limits; /* the only snapshot_limit values, ascending; NULL: any in
                                        the loader's range */
    size_t n_snapshot_limits;        /* their count */
};

/* A venue's config rules. Every member is set unless marked optional. */
struct venue_conf {
    const struct venue_refusal *refused; /* keys refused */
    size_t n_refused;                    /* their count */
    const struct venue_opt *opts;        /* options only this venue has */
    size_t n_opts;                       /* their count (at most VCONF_OPTS_MAX) */
    /* Symbols. symbol_what is the expected thing in a type error ("a symbol string such as
     * \"BTCUSDT\""). symbol() reads text into out (MDF_SYMBOL_MAX bytes), in the venue's native
     * spelling: 0 (with a notice in note, "" for none, when the text was changed), or -EINVAL
     * with err_set() saying why. */
    const char *symbol_what;
    int (*symbol)(const struct venue_profile *p, const char *text, char *out, char *note,
                  size_t note_cap);
    /* Intervals: the interval text names (enum mdf_interval), MDF_IV_NONE if none; NULL for
     * mdfeed's names only. interval_help (optional) completes "unknown interval \"x\" (<venue>
     * <help>)"; NULL lists mdfeed's names. Whether the venue serves an interval is the stream
     * check's business. */
    int (*interval)(const char *text);
    const char *interval_help;
    /* The rules of profile p's generic switches (borrowed, static). */
    const struct vconf_rules *(*rules)(const struct venue_profile *p);
    /* order_book: "diff" is VS_DIFF with diff_levels (also the levels of a diff_depth streams
     * entry that sets none; 0: the venue's own default). Any other value reaches order_book()
     * as a number n (an integer or a string of digits; -1 when it is neither), which sets the
     * book's type and levels, or returns -EINVAL with err_set() (the loader writes
     * "order_book: " before it). order_book_what lists the numbers in the type error
     * ("expected \"none\", \"diff\"<what>, got ..."): ", 5, 10 or 20", or "". */
    uint8_t diff_levels;
    int (*order_book)(const struct venue_profile *p, long long n, struct vstream *book);
    const char *order_book_what;
    /* The config's check of a stream (optional, NULL: proto->stream_check): 0, or -EINVAL with
     * err_set() in the config's words ("bitfinex has no mini ticker; a ticker stream gives the
     * 24 h figures"). */
    int (*stream_check)(const struct venue_profile *p, const struct vstream *s);
    bool conn_cap_hard;    /* the profile's streams_per_conn is the venue's own hard limit, so
                              also the maximum of streams_per_connection */
    const char *keepalive; /* the venue's keepalive traffic when we send no pings, as the timer
                              rule names it: "ping" (its WebSocket pings), "heartbeat" */
};

/* A symbol read upper-cased into out (MDF_SYMBOL_MAX): 1..47 letters and digits, and '_' when
 * underscore. Lower case is read the way the venue spells it, with a notice naming the venue
 * ("Binance symbols are upper case"). For venue_conf.symbol (venue/vconf.c). */
int vconf_upper_symbol(const char *text, bool underscore, const char *venue, char *out, char *note,
                       size_t note_cap);

#define VCONF_OPTS_MAX 16    /* options a venue may declare (struct venue_conf.opts) */
#define VCONF_REFUSED_MAX 32 /* keys a venue may refuse (struct venue_conf.refused) */

extern const struct venue_conf binance_conf;  /* venue/binance_conf.c */
extern const struct venue_conf bitfinex_conf; /* venue/bitfinex_conf.c */
extern const struct venue_conf bybit_conf;    /* venue/bybit_conf.c */
extern const struct venue_conf okx_conf;      /* venue/okx_conf.c */

#endif /* MDF_VENUE_VCONF_H */
