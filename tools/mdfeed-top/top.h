/*
 * mdfeed-top's shared definitions: the options, one snapshot of what the daemon reports (the
 * health segment, names from the state segment, the last events), and the functions of each
 * file: snapshot.c takes snapshots and orders them, text.c prints them as text or JSON and
 * formats values for both outputs, screen.c is the interactive ncurses view, main.c parses the
 * command line and runs the chosen mode.
 *
 * Only the public reader API is used (mdfeed/mdfeed.h), as any operator's script could.
 */
#ifndef MDF_TOOLS_TOP_TOP_H
#define MDF_TOOLS_TOP_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mdfeed/mdfeed.h>

#define PROG "mdfeed-top"

/* Exit statuses (see mdfeed-top(1)). */
#define EXIT_OK 0    /* quit, or every iteration done with the daemon running */
#define EXIT_DOWN 1  /* the daemon is not running or dead (-b, --json), or a runtime error */
#define EXIT_USAGE 2 /* bad command line */

#define TOP_EVENTS 20     /* recent events kept */
#define TOP_FILTER_MAX 64 /* filter text incl. NUL */
#define TOP_WHY_MAX 256   /* "not running" explanation incl. NUL */

/* Stream orderings (-s KEY, the s key). */
enum top_sort {
    SORT_VENUE = 0, /* venue, symbol, type, name: the natural order */
    SORT_RATE = 1,  /* messages per second, busiest first */
    SORT_AGE = 2,   /* age of the last message, stalest first (never delivered: stalest) */
    SORT_DELAY = 3, /* exchange -> local delay EWMA, slowest first */
    SORT_GAPS = 4,  /* gaps then resyncs, most first */
    SORT_COUNT = 5,
};

/* Interactive panes (Tab and 1-5 switch). */
enum top_pane {
    PANE_OVERVIEW = 0, /* daemon, venues, connections, streams, a few events */
    PANE_STREAMS = 1,  /* every stream, scrollable */
    PANE_BOOKS = 2,    /* book streams with state, generation and top of book */
    PANE_RINGS = 3,    /* rings and venues' REST budgets */
    PANE_EVENTS = 4,   /* the recent events */
    PANE_COUNT = 5,
};

/* The command line, once parsed. */
struct top_opts {
    const char *instance;        /* -i: instance name */
    int64_t period_ns;           /* -d: refresh period */
    uint64_t iterations;         /* -n: refreshes before exiting, 0 = until quit */
    bool batch;                  /* -b: plain text, no ncurses */
    bool json;                   /* --json: JSON snapshots */
    int sort;                    /* -s: enum top_sort */
    bool reverse;                /* -r: reverse the sort order */
    char filter[TOP_FILTER_MAX]; /* -f: venue / symbol / stream filter, "" = all */
    bool no_color;               /* NO_COLOR is set (non-empty) */
};

/* A connection with its measured rates. */
struct top_conn {
    struct mdf_health_conn h; /* the entry, strings cleaned */
    char venue[MDF_NAME_MAX]; /* venue name */
    double msgs_rate;         /* messages in per second since the last snapshot, < 0 unknown */
    double bytes_rate;        /* bytes in per second, < 0 unknown */
    int64_t uptime_ns;        /* time since the connection opened, -1 if not open */
    int64_t age_ns;           /* time since its last message, -1 if none */
};

/* A stream with its names, measured rate and, for books, the top of the latest book. */
struct top_stream {
    struct mdf_health_stream h;      /* the entry, strings cleaned */
    char venue[MDF_NAME_MAX];        /* venue name */
    char symbol[MDF_SYMBOL_MAX];     /* venue-native symbol, or "#id" if unknown */
    char normalized[MDF_SYMBOL_MAX]; /* normalized name, "" if none */
    double rate;                     /* messages per second, < 0 unknown */
    int64_t age_ns;                  /* time since its last message, -1 if none yet */
    bool has_top;                    /* bid / ask below hold the latest book's best levels */
    uint16_t n_bids;                 /* valid bid levels in that book */
    uint16_t n_asks;                 /* valid ask levels */
    struct mdf_level bid;            /* best bid (if n_bids) */
    struct mdf_level ask;            /* best ask (if n_asks) */
};

/* A ring with what a new reader could replay and its measured rate. */
struct top_ring {
    struct mdf_health_ring h; /* the entry, name cleaned */
    uint64_t fill;            /* records a new reader could replay: min(head, capacity) */
    double rate;              /* records per second measured by us, < 0 unknown */
};

/* An event from the events ring, with names resolved. */
struct top_event {
    struct mdf_event e;          /* the record, text cleaned */
    char venue[MDF_NAME_MAX];    /* venue name, "" if none */
    char symbol[MDF_SYMBOL_MAX]; /* symbol, "" if none */
};

/* One snapshot. Arrays are indexed by health slot (free slots included, in_use == 0). */
struct top_snap {
    int64_t mono_ns;                       /* CLOCK_MONOTONIC when taken */
    int64_t real_ns;                       /* CLOCK_REALTIME when taken */
    bool found;                            /* the health segment is mapped */
    bool alive;                            /* the daemon is running: found, heartbeat fresh,
                                              state neither STOPPED nor FAILED */
    char why[TOP_WHY_MAX];                 /* why not alive (plain words), "" if alive */
    struct mdf_status st;                  /* liveness as of this snapshot (if found) */
    bool have_daemon;                      /* d was read */
    struct mdf_health_daemon d;            /* the daemon entry, strings cleaned */
    int64_t uptime_ns;                     /* since the daemon started, -1 if unknown */
    double msgs_rate;                      /* venue messages per second, < 0 unknown */
    double records_rate;                   /* records published per second, < 0 unknown */
    uint64_t errors_total;                 /* sum of d.errors[] */
    struct mdf_health_venue *venues;       /* venue table (new, free) */
    uint32_t n_venues;                     /* entries */
    struct top_conn *conns;                /* connection table (new, free) */
    uint32_t n_conns;                      /* entries */
    struct top_stream *streams;            /* stream table (new, free) */
    uint32_t n_streams;                    /* entries */
    struct top_ring rings[MDF_RING_COUNT]; /* ring table */
    uint32_t n_rings;                      /* entries */
    struct top_event events[TOP_EVENTS];   /* the last events, oldest first */
    uint32_t n_events;                     /* entries */
    uint64_t events_lost;                  /* events the daemon overwrote before we read them */
};

/* A cached symbol-table entry. */
struct top_sym {
    bool known;                /* e holds the entry */
    struct mdf_symbol_entry e; /* the entry */
};

/* The running tool: open handles and the two latest snapshots. */
struct top {
    const struct top_opts *o;          /* borrowed: the options */
    mdf_health_t *health;              /* the health segment (new), NULL if not open */
    mdf_instance_t *inst;              /* the state segment (new), NULL if not open */
    mdf_sub_t *events;                 /* events ring subscription (new), NULL if none */
    struct top_sym *syms;              /* symbol cache by id (new) */
    size_t n_syms;                     /* entries allocated in syms */
    mdf_record_t *book;                /* scratch for mdf_latest_book (new) */
    struct top_snap snap[2];           /* the newest and the one before */
    int cur;                           /* index of the newest in snap[] */
    bool have_prev;                    /* snap[cur ^ 1] is from the same daemon run */
    struct top_event hist[TOP_EVENTS]; /* event history, a ring of the last TOP_EVENTS */
    uint32_t hist_n;                   /* events ever kept (next slot = hist_n % size) */
    uint64_t events_lost;              /* events lost to laps since the subscription */
};

/* ---- snapshot.c ------------------------------------------------------------------------- */

/* Prepares t (nothing is opened yet). Returns 0 or -ENOMEM. */
int top_init(struct top *t, const struct top_opts *o);

/* Closes everything t opened and frees its memory. */
void top_fini(struct top *t);

/* Takes a new snapshot: opens (or reopens, after the daemon replaced its segments) what it
 * can, reads every table and computes rates against the previous snapshot. Never fails: a
 * missing or dead daemon is described in the snapshot. Borrowed: valid until the next call. */
const struct top_snap *top_refresh(struct top *t);

/* Fills idx[] with the slots of the in-use streams of s that match filter (case-insensitive
 * substring of "venue:SYMBOL", the normalized name or the stream name; "" matches all), in the
 * order of sort (reversed with reverse); books_only keeps BOOK and DEPTH streams only. idx must
 * have room for s->n_streams entries. Returns the count. */
uint32_t top_streams_view(const struct top_snap *s, int sort, bool reverse, const char *filter,
                          bool books_only, uint32_t *idx);

/* Name of a sort key ("venue", "rate", "age", "delay", "gaps"), and back (-1 if unknown;
 * "stale" and "staleness" also mean "age"). */
const char *top_sort_name(int sort);
int top_sort_from_name(const char *name);

/* Name of a connection role ("active", "replacement", "retiring"; "?" if unknown). */
const char *top_role_name(int role);

/* Name of a syslog level ("error", "warning", "notice", "info", ...). */
const char *top_level_name(int level);

/* ---- text.c ----------------------------------------------------------------------------- */

/* Formats a duration: "850ns", "12.5us", "3.2ms", "4.5s", "5m03s", "2h07m", "3d04h"; "-" if
 * ns < 0. Returns buf. */
const char *top_fmt_dur(char *buf, size_t cap, int64_t ns);

/* Formats a rate: "-" if unknown (< 0), else with one decimal ("12.5"). Returns buf. */
const char *top_fmt_rate(char *buf, size_t cap, double r);

/* Levels a side a book stream holds now: the larger side of its latest book when there is
 * one, else the levels its subscription asked for (0 = the whole book). */
unsigned top_book_levels(const struct top_stream *x);

/* Formats a count to fit width characters: exact when it fits, else with a k/M/G/T suffix.
 * Returns buf. */
const char *top_fmt_count(char *buf, size_t cap, uint64_t v, int width);

/* Formats a CLOCK_REALTIME time as local "HH:MM:SS.mmm" (with the date when with_date).
 * Returns buf. */
const char *top_fmt_time(char *buf, size_t cap, int64_t real_ns, bool with_date);

/* Writes the one-line daemon summary ("RUNNING pid 12 up 5m03s ...") or the banner that says
 * why it is not running. Returns buf. */
const char *top_daemon_line(char *buf, size_t cap, const struct top_snap *s);

/* Prints snapshot s as plain text, every section. Returns 0 or -EIO. */
int top_print_text(FILE *f, const struct top *t, const struct top_snap *s);

/* Prints snapshot s as one JSON object on one line. Returns 0 or -EIO / -ENOMEM. */
int top_print_json(FILE *f, const struct top *t, const struct top_snap *s);

/* ---- screen.c --------------------------------------------------------------------------- */

/* Runs the interactive view until q, a signal or the -n count. Returns the exit status. */
int top_screen_run(struct top *t);

/* ---- main.c ----------------------------------------------------------------------------- */

/* True once SIGINT or SIGTERM arrived. */
bool top_stop_requested(void);

#endif /* MDF_TOOLS_TOP_TOP_H */
