/*
 * mdfeed health segment layout (ABI): /mdfeed.<instance>.health, kind MDF_SEG_HEALTH.
 *
 * What the daemon is doing, for operators (mdfeed-top), for scripts and for the daemon's own
 * watchdog thread. One writer (the daemon's event-loop thread), any number of read-only readers.
 *
 * The segment is the common struct mdf_seg_header (whose heartbeat_ns is the event loop's
 * heartbeat: it stops advancing when the loop is stuck), then struct mdf_health_desc, then five
 * tables of seqlocked entries: one daemon entry, then venues, connections, streams and rings.
 * Each entry is struct mdf_health_entry: a seqlock count (odd while the writer changes the entry)
 * followed by the payload struct named below, accessed as relaxed atomic 64-bit words. A reader
 * copies the payload and keeps the copy only if the count was the same even value before and
 * after (the same protocol as the latest-state tables in layout.h).
 *
 * Table slots are used from index 0 up; n_* counts the slots ever used (raised with release after
 * the slot's first write). A slot whose payload has in_use == 0 is free: its connection or stream
 * went away (a reload removed it) and the slot may be reused later.
 *
 * Counters are cumulative since the daemon started (they survive reloads and reconnects); times
 * are ns, CLOCK_REALTIME unless named _mono_ns (CLOCK_MONOTONIC, for ages: immune to wall-clock
 * steps). The daemon refreshes the counters at least every publish_ns (desc) and at once on any
 * state change.
 */
#ifndef MDF_MDFEED_HEALTH_H
#define MDF_MDFEED_HEALTH_H

#include <stdint.h>

#include <mdfeed/layout.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDF_HEALTH_SEGMENT "health" /* segment name */
#define MDF_HEALTH_TEXT_MAX 96u     /* short texts (last error, status line) incl. NUL */
#define MDF_HEALTH_URL_MAX 128u     /* connection endpoint incl. NUL */
#define MDF_HEALTH_STREAM_MAX 64u   /* venue stream name incl. NUL */

/* Daemon states. */
enum mdf_daemon_state {
    MDF_DAEMON_STOPPED = 0,  /* not running (segment left by a daemon that exited cleanly) */
    MDF_DAEMON_STARTING = 1, /* segments built, first subscriptions not all acknowledged yet */
    MDF_DAEMON_RUNNING = 2,  /* serving */
    MDF_DAEMON_STOPPING = 3, /* SIGTERM received: closing connections */
    MDF_DAEMON_FAILED = 4,   /* gave up (a fatal error; the log says which) */
    MDF_DAEMON_DEGRADED = 5, /* serving, but some stream delivers nothing: a connection gave up
                                (FAILED, retrying slowly), a subscription was refused, or a
                                stream's messages do not decode; also when no connection came up
                                within the start bound */
};

/* Connection states. */
enum mdf_conn_state {
    MDF_CONN_IDLE = 0,       /* not started */
    MDF_CONN_CONNECTING = 1, /* TCP, TLS or WebSocket handshake under way */
    MDF_CONN_OPEN = 2,       /* WebSocket open: subscribing or delivering */
    MDF_CONN_BACKOFF = 3,    /* lost; waiting before the next attempt */
    MDF_CONN_CLOSING = 4,    /* close handshake under way */
    MDF_CONN_CLOSED = 5,     /* closed for good (stopped, or retired after a rotation) */
    MDF_CONN_FAILED = 6,     /* gave up after max_reconnect_attempts; retries every
                                reconnect_max_delay until it connects again */
};

/* Connection roles in a make-before-break rotation. */
enum mdf_conn_role {
    MDF_ROLE_ACTIVE = 0,      /* carries its streams */
    MDF_ROLE_REPLACEMENT = 1, /* opened to take over from a retiring one */
    MDF_ROLE_RETIRING = 2,    /* being replaced; closed once the replacement delivers */
};

/* Stream types (the daemon's venue-neutral vocabulary). */
enum mdf_stream_type {
    MDF_STREAM_NONE = 0,
    MDF_STREAM_TRADE = 1,       /* every trade */
    MDF_STREAM_AGGTRADE = 2,    /* aggregate trades */
    MDF_STREAM_CANDLE = 3,      /* candles of one interval */
    MDF_STREAM_DEPTH = 4,       /* the venue's own top-N book */
    MDF_STREAM_BOOK = 5,        /* a full book maintained locally (diffs, checksums) */
    MDF_STREAM_BBO = 6,         /* best bid and offer */
    MDF_STREAM_TICKER = 7,      /* 24 h ticker */
    MDF_STREAM_MINITICKER = 8,  /* 24 h mini ticker */
    MDF_STREAM_FUNDING = 9,     /* mark price, index, funding */
    MDF_STREAM_LIQUIDATION = 10 /* liquidations */
};

/* Stream states. */
enum mdf_stream_state {
    MDF_STREAM_IDLE = 0,          /* no connection carries it yet */
    MDF_STREAM_SUBSCRIBING = 1,   /* subscribe request sent, not acknowledged */
    MDF_STREAM_LIVE = 2,          /* acknowledged and delivering (a quiet market included) */
    MDF_STREAM_SILENT = 3,        /* acknowledged, nothing since, and evidence that it missed
                                     data (or its guaranteed cadence lapsed) */
    MDF_STREAM_STALE = 4,         /* delivered, then evidence that it misses data */
    MDF_STREAM_FAILED = 5,        /* the venue refused the subscription, or its connection gave
                                     up (FAILED) */
    MDF_STREAM_UNSUBSCRIBING = 6, /* removed by a reload; unsubscribe under way */
    MDF_STREAM_BAD_DATA = 7,      /* its last messages did not decode (decode_errors) */
};

/* Error kinds counted in mdf_health_daemon.errors[]. */
enum mdf_health_err {
    MDF_HERR_PARSE = 0,     /* a message did not decode (bad JSON, unknown shape) */
    MDF_HERR_RANGE = 1,     /* a value out of range: a number that does not fit an exact
                               decimal or id (never rounded), or an impossible one (a price
                               <= 0, high below low, a negative volume): not published */
    MDF_HERR_CONNECT = 2,   /* DNS or TCP connect failed (not a later loss of the connection) */
    MDF_HERR_TLS = 3,       /* TLS handshake or certificate failure */
    MDF_HERR_WS = 4,        /* WebSocket handshake or protocol error, bad close, or an open
                               connection lost (reset, EOF) */
    MDF_HERR_TIMEOUT = 5,   /* connect, pong or silence timeout */
    MDF_HERR_REST = 6,      /* a REST request failed */
    MDF_HERR_THROTTLED = 7, /* REST 429 or 418 from the venue */
    MDF_HERR_SUBSCRIBE = 8, /* the venue refused a subscription */
    MDF_HERR_BOOK_GAP = 9,  /* a book's update ids did not chain: resync */
    MDF_HERR_CHECKSUM = 10, /* a book failed the venue's checksum: resync */
    MDF_HERR_SEQ_GAP = 11,  /* a connection's message sequence skipped */
    MDF_HERR_UNKNOWN = 12,  /* data for a stream the daemon does not carry */
    MDF_HERR_WATCHDOG = 13, /* the watchdog had to reconnect something */
    MDF_HERR_SHM = 14,      /* shared memory could not be backed (/dev/shm full): a stream or
                               candle series was refused, the daemon runs without it */
    MDF_HERR_COUNT = 16,    /* room in the array (unused kinds stay 0) */
};

/* Descriptor right after the segment header (256 bytes). */
struct mdf_health_desc {
    uint32_t max_venues;            /* venue table slots */
    uint32_t max_conns;             /* connection table slots */
    uint32_t max_streams;           /* stream table slots */
    uint32_t max_rings;             /* ring table slots (MDF_RING_COUNT) */
    uint32_t entry_stride[5];       /* bytes per entry: daemon, venue, conn, stream, ring */
    uint32_t _r0;                   /* reserved */
    uint64_t table_off[5];          /* offset of each table from the segment start */
    int64_t publish_ns;             /* longest time between counter refreshes */
    uint8_t _pad0[136];             /* to 224 bytes */
    MDF_ATOMIC(uint32_t) n_venues;  /* atomic: venue slots used (release after the entry) */
    MDF_ATOMIC(uint32_t) n_conns;   /* atomic: connection slots used (release after the entry) */
    MDF_ATOMIC(uint32_t) n_streams; /* atomic: stream slots used (release after the entry) */
    MDF_ATOMIC(uint32_t) n_rings;   /* atomic: ring slots used (release after the entry) */
    uint8_t _pad1[16];              /* to 256 bytes */
};

/* Table indexes in entry_stride[] and table_off[]. */
enum mdf_health_table {
    MDF_HT_DAEMON = 0,
    MDF_HT_VENUE = 1,
    MDF_HT_CONN = 2,
    MDF_HT_STREAM = 3,
    MDF_HT_RING = 4,
    MDF_HT_COUNT = 5,
};

/* A seqlocked entry: the count, then the payload. */
struct mdf_health_entry {
    MDF_ATOMIC(uint64_t) seq; /* atomic: seqlock count, odd while the writer changes it */
    uint64_t data[];          /* the payload, accessed as relaxed atomic 64-bit words */
};

/* The daemon (table MDF_HT_DAEMON, one entry). */
struct mdf_health_daemon {
    uint32_t state;                   /* enum mdf_daemon_state */
    uint32_t _r0;                     /* reserved */
    int64_t pid;                      /* daemon pid */
    int64_t start_ns;                 /* when the daemon started */
    uint64_t config_generation;       /* 1 at start, +1 per applied SIGHUP reload */
    int64_t loop_beat_mono_ns;        /* the event loop's last beat (as the header heartbeat) */
    uint64_t msgs;                    /* venue messages received, all connections */
    uint64_t bytes;                   /* venue bytes received (WebSocket payload) */
    uint64_t records;                 /* records published into the rings */
    uint64_t dups;                    /* duplicates dropped (rotation overlaps) */
    uint64_t events;                  /* events published */
    uint64_t errors[MDF_HERR_COUNT];  /* errors by enum mdf_health_err */
    uint32_t n_venues;                /* venues configured */
    uint32_t n_conns;                 /* connections in use */
    uint32_t n_conns_open;            /* of which open */
    uint32_t n_streams;               /* streams configured */
    uint32_t n_streams_live;          /* of which LIVE */
    uint32_t n_streams_bad;           /* of which SILENT, STALE or FAILED */
    uint32_t n_books;                 /* locally maintained books */
    uint32_t n_books_live;            /* of which LIVE */
    char version[16];                 /* daemon version text */
    char status[MDF_HEALTH_TEXT_MAX]; /* one-line summary (also systemd's STATUS=) */
    /* Appended in layout 1.2 (read as 0 from an older daemon): n_streams_bad by cause. */
    uint32_t n_streams_failed; /* of which FAILED (the venue refused them) */
    uint32_t n_streams_stale;  /* of which STALE (nothing past their threshold) */
    uint32_t n_streams_silent; /* of which SILENT (acknowledged, never delivered) */
    uint32_t _r1;              /* reserved */
};

/* A venue (table MDF_HT_VENUE, index = shm venue id): one config entry. The REST figures marked
 * "host" are those of the entry's REST host, shared by every entry reaching that host (the venue
 * counts weight and throttles per IP); the counts of requests and attempts are the entry's own,
 * made against its hosts' shared budgets. */
struct mdf_health_venue {
    uint32_t in_use;              /* 1 while configured */
    uint16_t venue;               /* shm venue id */
    uint16_t _r0;                 /* reserved */
    char name[MDF_NAME_MAX];      /* e.g. "binance-spot" */
    uint32_t n_conns;             /* connections in use */
    uint32_t n_streams;           /* streams configured */
    uint32_t rest_weight_used;    /* host: weight counted in the current minute (the venue's
                                     last report plus weight in flight) */
    uint32_t rest_weight_limit;   /* host: weight per minute the daemon allows itself there */
    uint32_t rest_queued;         /* REST requests of this entry waiting */
    uint32_t _r1;                 /* reserved */
    uint64_t rest_requests;       /* REST requests of this entry sent */
    uint64_t rest_throttled;      /* 429 and 418 answers to this entry's requests */
    int64_t rest_paused_until_ns; /* host: REST paused (429/418) until then, 0 if not */
    uint64_t conn_attempts;       /* connection attempts of this entry */
    uint64_t conn_admit_waits;    /* of which delayed to keep the WebSocket host's attempts (all
                                     entries) under the venue's limit */
    /* Appended in layout 2.1 (read as 0 from an older daemon; the entry stride is unchanged):
     * name lookups of the entry's hosts (url and rest_url) that ran past the lookup timeout
     * (10 s). While one is stuck, attempts on its host fail at once instead of asking again. */
    uint32_t dns_stuck;       /* lookups stuck now */
    uint32_t _r2;             /* reserved */
    uint64_t dns_stuck_total; /* lookups that ever got stuck, since the daemon started */
};

/* A connection (table MDF_HT_CONN). */
struct mdf_health_conn {
    uint32_t in_use;                   /* 1 while the connection exists */
    uint32_t id;                       /* daemon connection id (as in events) */
    uint16_t venue;                    /* shm venue id */
    uint8_t state;                     /* enum mdf_conn_state */
    uint8_t role;                      /* enum mdf_conn_role */
    uint32_t n_streams;                /* streams carried */
    char endpoint[MDF_HEALTH_URL_MAX]; /* URL (no query) */
    int64_t connected_ns;              /* when the current connection opened, 0 if not open */
    int64_t connected_mono_ns;         /* the same, CLOCK_MONOTONIC (uptime = now - this) */
    int64_t last_msg_ns;               /* last message received */
    int64_t last_msg_mono_ns;          /* the same, CLOCK_MONOTONIC */
    uint64_t reconnects;               /* reconnections after a loss */
    uint64_t bytes_in;                 /* payload bytes received */
    uint64_t bytes_out;                /* payload bytes sent */
    uint64_t msgs_in;                  /* messages received */
    uint64_t msgs_out;                 /* messages sent */
    uint64_t pings_in;                 /* pings received (answered at once) */
    uint64_t pings_out;                /* pings sent */
    uint64_t pongs_in;                 /* pongs received */
    int32_t last_error;                /* last error code (negative), 0 if none */
    uint32_t watchdog_ms;              /* replaced when silent (no frame) this long */
    int64_t last_error_ns;             /* when */
    char last_error_text[MDF_HEALTH_TEXT_MAX]; /* what */
};

/* A stream (table MDF_HT_STREAM). */
struct mdf_health_stream {
    uint32_t in_use;                  /* 1 while configured */
    uint16_t venue;                   /* shm venue id */
    uint8_t type;                     /* enum mdf_stream_type */
    uint8_t state;                    /* enum mdf_stream_state */
    uint32_t symbol;                  /* shm symbol id */
    uint32_t connection;              /* id of the connection carrying it, 0 if none */
    uint32_t interval;                /* candles: enum mdf_interval */
    uint16_t levels;                  /* books: levels; 0 for others */
    uint8_t book_state;               /* books: enum mdf_book_state */
    uint8_t _r0;                      /* reserved */
    char name[MDF_HEALTH_STREAM_MAX]; /* venue stream or channel name */
    uint64_t msgs;                    /* messages accepted */
    uint64_t dups;                    /* duplicates dropped */
    uint64_t gaps;                    /* id gaps seen (data missed while disconnected) */
    uint64_t resyncs;                 /* book resyncs */
    uint64_t book_generation;         /* books: generation */
    int64_t last_exch_ns;             /* venue event time of the last message */
    int64_t last_recv_ns;             /* local receive time of the last message */
    int64_t last_mono_ns;             /* the same, CLOCK_MONOTONIC; 0 if none yet */
    int64_t delay_ewma_ns;            /* exchange -> local delay, EWMA (alpha 1/16) */
    int64_t delay_max_ns;             /* largest delay seen */
    uint32_t stale_after_ms;          /* how long it may stay behind the evidence; 0 = never
                                         judged (its silence proves nothing) */
    uint32_t cadence_ms;              /* period the venue guarantees even with nothing to say
                                         (a Bitfinex hb, a markPrice), 0 = silent while the
                                         symbol does not trade */
    uint64_t decode_errors;           /* its messages that did not decode */
    int64_t owed_mono_ns;             /* evidence says it missed data since then, 0 = not */
};

/* A ring (table MDF_HT_RING, index = enum mdf_ring_id). */
struct mdf_health_ring {
    uint32_t in_use;    /* 1 */
    uint32_t ring_id;   /* enum mdf_ring_id */
    char name[16];      /* "ticks", ... */
    uint64_t capacity;  /* slots */
    uint64_t head;      /* records published so far (the next sequence number) */
    uint32_t slot_size; /* bytes per slot */
    uint32_t _r0;       /* reserved */
    uint64_t rate;      /* records per second over the last second */
};

#if !defined(__cplusplus) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct mdf_health_desc) == 256, "health descriptor is 4 lines");
_Static_assert(sizeof(struct mdf_health_daemon) % 8 == 0, "whole 64-bit words");
_Static_assert(sizeof(struct mdf_health_venue) % 8 == 0, "whole 64-bit words");
_Static_assert(sizeof(struct mdf_health_venue) <= 120, "venue entries stay 128 bytes (layout 2.0)");
_Static_assert(sizeof(struct mdf_health_conn) % 8 == 0, "whole 64-bit words");
_Static_assert(sizeof(struct mdf_health_stream) % 8 == 0, "whole 64-bit words");
_Static_assert(sizeof(struct mdf_health_ring) % 8 == 0, "whole 64-bit words");
#endif

#ifdef __cplusplus
}
#endif

#endif /* MDF_MDFEED_HEALTH_H */
