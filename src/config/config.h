/*
 * Configuration: a libconfig file parsed once into one validated, immutable struct md_config.
 * Every option is described in one table (name, type, default, range) in config.c; an unknown
 * key, a wrong type, a value out of range or an inconsistent set of timers is an error that
 * names FILE:LINE. All errors are reported, not just the first. See conf/mdfeed.conf and
 * mdfeed.conf(5) for the file format.
 */
#ifndef MDF_CONFIG_CONFIG_H
#define MDF_CONFIG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mdfeed/layout.h>

#include "venue/venue.h"

#define CFG_URL_MAX 512 /* bytes of a url / rest_url override, NUL included */

/* Connection settings (global "connection" group, overridable per venue). Seconds. */
struct cfg_conn {
    double connect_timeout; /* DNS + TCP + TLS + upgrade deadline */
    double ping_interval;   /* our WebSocket pings; 0 = none (the venue pings us) */
    double pong_timeout;    /* drop a connection silent this long after our ping */
    uint32_t max_attempts;  /* reconnect attempts before FAILED; 0 = forever */
    double base_delay;      /* first reconnect delay */
    double max_delay;       /* reconnect delay cap */
    double jitter;          /* 0..1: fraction of each delay randomized */
    double max_age;         /* rotate (make-before-break) connections at this age */
    uint32_t conn_attempts; /* connection attempts allowed per conn_window; 0 = 80% of the
                               venue's limit */
    double conn_window;     /* that window; 0 = the venue's */
};

/* Health settings (global "health" group, overridable per venue). Seconds. */
struct cfg_health {
    double check_interval;   /* how often staleness and silence are checked */
    double watchdog_timeout; /* a connection with no frame this long is replaced */
    double silent_after;     /* acknowledged subscription with no message: SUBSCRIPTION_SILENT */
    double stale_factor;     /* a stream behind the evidence (or past its guaranteed cadence)
                                is stale after factor x its update period */
    double stale_min;        /* ... but never sooner than this */
    double stale_quiet;      /* any stream stale after this long quiet, evidence or not;
                                0 = never (the default: a quiet market raises nothing) */
    double watchdog_backoff; /* a stale stream a replacement did not cure: the next replacement
                                for it waits this long, doubling up to an hour */
};

/* One venue entry. */
struct cfg_venue {
    char name[MDF_NAME_MAX];             /* shm venue name ("name", default = venue) */
    const struct venue_profile *profile; /* "venue": the profile (borrowed, static) */
    char url[CFG_URL_MAX];               /* stream base (scheme, host, port) */
    char rest_url[CFG_URL_MAX];          /* REST base */
    char ca_file[PATH_MAX];              /* trusted CAs ("" = system bundle) */
    uint32_t streams_per_conn;           /* streams per connection */
    uint32_t subscribe_rate;             /* control messages per second per connection */
    uint32_t snapshot_limit;             /* REST depth limit for book snapshots */
    double rest_weight_share;            /* 0..1: share of the venue's weight/min we may use */
    bool emit_partial_candles;           /* publish open candles too, not only closed */
    bool candle_warmup;                  /* Binance: fetch the last candle_history closed
                                            candles over REST at a kline stream's start */
    struct cfg_conn conn;                /* connection settings */
    struct cfg_health health;            /* health settings */
    struct vstream *streams;             /* the expanded stream list: unique, config order */
    size_t n_streams;                    /* its length */
    int line;                            /* line of the venue entry */
};

/* The shm settings ("shm" group). */
struct cfg_shm {
    mode_t mode;                        /* data segments' mode ("0640") */
    gid_t gid;                          /* "group" resolved, or (gid_t)-1 for the daemon's own */
    char group[64];                     /* the group name as given ("" = own) */
    uint64_t ring_size[MDF_RING_COUNT]; /* slots per ring, powers of two */
    uint32_t book_depth;                /* levels per side published (1..MDF_BOOK_DEPTH_MAX) */
    uint32_t candle_k;                  /* candles kept per series */
    uint32_t max_symbols;               /* symbol table size */
    uint32_t max_series;                /* candle series table size */
    uint32_t max_streams;               /* stream table size */
};

struct md_config {
    char path[PATH_MAX];             /* the file it was read from */
    char instance[MDF_INSTANCE_MAX]; /* shm instance name */
    int log_level;                   /* syslog priority: 3 error .. 7 debug */
    enum vdec_backend decoder;       /* JSON parser behind the decoders */
    struct cfg_shm shm;              /* shared memory */
    struct cfg_venue *venues;        /* venue entries */
    size_t n_venues;                 /* their count */
};

/* Reads and validates path. On success *out gets a new config (free with cfg_free) and 0 is
 * returned. Otherwise every error is written to errs as "FILE:LINE: message\n" (the line of the
 * setting at fault; that of its group when the setting is missing), -EINVAL is returned and
 * *out is NULL; -ENOENT/-EACCES if the file cannot be read (also written to errs). */
int cfg_load(const char *path, FILE *errs, struct md_config **out);

/* Frees a config from cfg_load (NULL is fine). */
void cfg_free(struct md_config *c);

/* The venue entry called name, or NULL. */
const struct cfg_venue *cfg_venue_find(const struct md_config *c, const char *name);

/* True if a and b differ in something only a restart can apply (instance, shm, decoder), with
 * a short description in why. */
bool cfg_needs_restart(const struct md_config *a, const struct md_config *b, char *why, size_t cap);

#endif /* MDF_CONFIG_CONFIG_H */
