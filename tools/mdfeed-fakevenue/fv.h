/*
 * mdfeed-fakevenue internals: the options, the server, one connection ("peer") and the
 * interfaces between the files of the tool.
 *
 * One libuv loop on one thread does everything. A peer moves through stages: TLS handshake (when
 * --tls-cert is given), HTTP requests (REST answers or a WebSocket upgrade), then WebSocket. All
 * output a peer produces goes through one path: bytes are appended to a staging buffer, and
 * peer_flush() encrypts them (TLS) into a pending queue that one uv_write at a time drains. So
 * frames keep their order whatever produced them (wslay's control frames, our own data frames,
 * raw bytes from faults and conformance cases), and "unsent output" is one number the generators
 * (replay, synthetic load, the markets) compare against a watermark.
 *
 * The venue protocol is a module (struct fv_proto below, the table in proto.c): Binance spot and
 * futures (binance.c, binance_replay.c, with synth.c, market.c and rest.c behind them),
 * Bitfinex (bitfinex.c, bfx_replay.c, with its own market in bfx_market.c), Bybit spot and
 * linear (bybit.c, bybit_replay.c, market in bybit_market.c) or OKX v5 (okx.c,
 * okx_replay.c, with its market in okx_market.c; okxv.h between them). The server, the
 * faults and the replay clock (replay.c) are shared by every module.
 *
 * Data frames are encoded by us with ws_frame_encode() (no copy into wslay's queue, and every bit
 * under our control for faults); wslay (through ws.h) parses what the client sends and produces
 * pongs and close replies.
 */
#ifndef MDF_FAKEVENUE_FV_H
#define MDF_FAKEVENUE_FV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cases.h"
#include "tls/tls_session.h"
#include "ws/ws.h"
#include "ws/ws_handshake.h"

#define FV_READ_BUF 65536            /* bytes per uv read */
#define FV_WATERMARK (256u * 1024)   /* generators pause above this much unsent output */
#define FV_HARD_LIMIT (64u << 20)    /* a peer with more unsent output than this is dropped */
#define FV_CLOSE_WAIT_MS 2000        /* after our close frame, wait this long for the client's */
#define FV_LINGER_MS 1000            /* after our FIN, read and discard this long before closing */
#define FV_SHUTDOWN_GRACE_MS 5000    /* serverShutdown notice to close */
#define FV_REPLAY_HOLD_MS 1000       /* an ACK holds a replay up to this after a subscribe */
#define FV_MAX_HELD_INPUT (1u << 20) /* pipelined input kept while a REST answer is held */
#define FV_REFUSE_MAX 16             /* --refuse-stream names */
#define FV_CASE_MAX_MESSAGE                                                                        \
    (32u << 20) /* conformance cases echo messages up to 16 MiB and more                           \
                 */

struct fv_proto; /* a venue module (below) */
struct fv_rline; /* a recording line as a module sees it (replay.c) */
struct fv_rmsg;  /* a replayed message */
struct json_t;   /* jansson's json_t */

/* Fault injection (the fault flags). A count of -1 means the fault is off. */
struct fv_faults {
    long conns;             /* faults apply to connections 1..conns; -1 = all */
    long close_after;       /* close frame after N data messages */
    int close_code;         /* its code (may be invalid on purpose) */
    long rst_after;         /* TCP RST after N data messages */
    long rst_midframe;      /* half of message N+1's bytes, then RST */
    long fin_midframe;      /* half of message N+1's bytes, then FIN */
    long truncate_tls;      /* TLS only: half of message N+1's record, then FIN */
    long stall_after;       /* stop reading and writing after N data messages */
    long garbage_after;     /* 64 bytes that cannot be a frame after N data messages */
    long bad_utf8_after;    /* a text frame with invalid UTF-8 after N data messages */
    long oversize_after;    /* a text message of oversize_size bytes after N data messages */
    size_t oversize_size;   /* its size */
    long gap_after;         /* drop the first depth diff (Bitfinex: skip a seq) after N messages */
    size_t fragment;        /* send data messages as frames of this many payload bytes; 0 = off */
    bool ping_in_fragments; /* with fragment: a ping frame after the first fragment */
    bool drip;              /* every socket write is one byte */
    bool no_upgrade;        /* read the request, never answer */
    const char *mute;       /* streams whose name ends so: not sent after mute_after messages */
    long mute_after;        /* (data messages of the connection) */
    const char *corrupt;    /* streams whose name ends so: sent undecodable after ... */
    long corrupt_after;     /* ... this many data messages of the connection */
};

/* --misroute SUFFIX: futures streams whose name ends with SUFFIX are served on the other path
 * (as if the venue had moved them), or NULL. Set once by main.c. */
extern const char *fv_misroute;

/* A Bitfinex book fault (--bfx-bad-checksum, --bfx-bad-level): once per run, on the first
 * faulted connection whose book channel of `sym` has sent `after` updates. */
struct fv_bfx_fault {
    char sym[32]; /* symbol ("tBTCUSD"); "" = off */
    long after;   /* book updates sent on the channel before the fault */
};

/* The Bitfinex options (--venue bitfinex; market events use --market-rate). */
struct fv_bfx_opts {
    long hb_ms;                  /* a channel idle this long gets [CHAN,"hb"] */
    const char *pairs;           /* --bfx-pairs: the only known pairs (comma list), or NULL */
    bool maint_on_connect;       /* info platform.status 0 on connect (faulted connections) */
    double maint_after;          /* seconds after accept to info 20060; < 0 = never */
    double maint_len;            /* seconds from 20060 (or status 0) to 20061 */
    long minute_ms;              /* length of a candle minute (all timeframes scale with it) */
    long tu_ms;                  /* delay from a trade's te to its tu */
    struct fv_bfx_fault bad_cs;  /* a wrong cs value */
    struct fv_bfx_fault bad_lvl; /* a book update with a wrong amount */
    bool same_chan_id;           /* every "subscribed" echoes the connection's first chanId */
};

/* A Bybit book fault (--bybit-gap, --bybit-restart): on book topics of `sym`, after
 * `after` book updates of the topic. */
struct fv_byb_fault {
    char sym[32]; /* symbol ("BTCUSDT"); "" = off */
    long after;   /* book updates before the fault */
};

/* The Bybit options (--venue bybit-spot|bybit-linear; events use --market-rate). */
struct fv_byb_opts {
    double idle_cut;             /* seconds without a client ping before the cut; 0 = never */
    long minute_ms;              /* length of a kline minute (every interval scales with it) */
    struct fv_byb_fault gap;     /* faulted connections: one delta of the topic not sent */
    struct fv_byb_fault restart; /* every book topic of sym: a u == 1 snapshot (once) */
};

/* An OKX book fault (--okx-seq-break, --okx-bad-checksum): once per run, on the first faulted
 * connection whose books channel of `inst` has sent `after` updates since its snapshot. */
struct fv_okx_fault {
    char inst[32]; /* instId ("BTC-USDT"); "" = off */
    long after;    /* updates sent on the channel before the fault */
};

/* The OKX options (--venue okx; market events use --market, --market-rate, --market-events). */
struct fv_okx_opts {
    double idle;                /* seconds without a client message before the venue cuts */
    long req_limit;             /* subscribe/unsubscribe requests per req_window */
    double req_window;          /* seconds */
    long minute_ms;             /* length of a candle minute (every bar scales with it) */
    bool checksum_zero;         /* books checksum 0 (retired) instead of the CRC-32 */
    struct fv_okx_fault seq;    /* an update whose prevSeqId breaks the chain */
    struct fv_okx_fault bad_cs; /* an update with a wrong checksum */
};

/* Everything the command line sets (main.c). Read-only after startup. */
struct fv_opts {
    const char *listen;           /* loopback address to bind */
    int port;                     /* 0 = ephemeral */
    const char *tls_cert;         /* PEM chain; NULL = plain ws */
    const char *tls_key;          /* PEM key */
    bool tls11_only;              /* offer TLS 1.1 only */
    const struct fv_proto *proto; /* --venue: the module spoken (proto.c) */
    const char *replay_file;      /* ws recording, or NULL */
    const char *rest_file;        /* REST recording, or NULL */
    double speed;                 /* replay speed multiplier */
    bool speed_max;               /* replay flat out (backpressure only) */
    bool loop;                    /* restart the replay at its end, forever */
    bool replay_live;      /* times moved to now, ids continued across laps (replay_live.c) */
    bool synth;            /* synthetic load on */
    double synth_rate;     /* messages per second per connection */
    bool synth_max;        /* flat out */
    size_t msg_size;       /* synthetic message size in bytes */
    bool synth_stamp;      /* --synthetic-stamp: trade id = send time (CLOCK_REALTIME ns) */
    double ping_interval;  /* seconds between server pings; 0 = none */
    double pong_timeout;   /* seconds a ping may stay unanswered; 0 = forever */
    int rate_limit;        /* client messages per second; 0 = unlimited */
    int max_streams;       /* streams per connection */
    double lifetime;       /* seconds before a connection is closed; 0 = forever */
    double shutdown_after; /* seconds before serverShutdown (Bitfinex: info 20051); < 0 = never */
    double shutdown_grace; /* seconds from that notice to the close */
    long weight_limit;     /* REST weight per minute before 429; 0 = unlimited */
    uint64_t seed;         /* PRNG seed (chunk sizes, synthetic prices, market books) */
    const char *market;    /* --market: comma list of synthetic market symbols, or NULL */
    const char *market_quiet;    /* --market-quiet: comma list (a subset of market), or NULL */
    const char *market_sparse;   /* --market-sparse: comma list (a subset of market), or NULL */
    double market_sparse_period; /* seconds between the trades of a sparse symbol */
    double market_rate;          /* book/trade events per second per market symbol */
    long market_events;     /* paced events per symbol after which the market stops; 0 = never */
    bool market_max;        /* market events flat out (under FV_WATERMARK) */
    long ban_after;         /* 429 answers before REST is banned (418); -1 = never */
    double ban_seconds;     /* length of a ban */
    long throttle_next;     /* the first N API requests are answered 429 whatever the weight */
    long retry_after;       /* Retry-After of a 429 in seconds; -1 = to the minute's end */
    int conn_limit;         /* WebSocket upgrades allowed per conn_window; 0 = unlimited */
    double conn_window;     /* the window of conn_limit, seconds */
    struct fv_bfx_opts bfx; /* --venue bitfinex */
    struct fv_byb_opts byb; /* --venue bybit-spot|bybit-linear */
    struct fv_okx_opts okx; /* --venue okx */
    struct fv_faults f;     /* fault injection */
    const char *refuse[FV_REFUSE_MAX]; /* --refuse-stream: names a SUBSCRIBE may not carry */
    size_t n_refuse;                   /* how many */
};

/* A growable byte buffer; grows at init or under load, then is reused. */
struct fv_buf {
    uint8_t *data; /* bytes */
    size_t len;    /* used */
    size_t cap;    /* allocated */
};

/* ---- stream names (streams.c) ---- */

enum fv_route {
    FV_ROUTE_ANY,    /* spot: every stream on every path */
    FV_ROUTE_PUBLIC, /* futures /public: book data */
    FV_ROUTE_MARKET, /* futures /market: everything else */
};

/* One interned stream name and what the venue does with it. */
struct fv_stream {
    char *name;      /* as subscribed, e.g. "btcusdt@depth@100ms" */
    char sym[32];    /* upper-case symbol part ("BTCUSDT"), "" for "!..." streams */
    uint8_t route;   /* enum fv_route the futures venue serves it on */
    bool depth_diff; /* <s>@depth or <s>@depth@<speed>: a diff stream (gap fault) */
    bool trade;      /* <s>@trade (synthetic load prefers these) */
};

/* Every stream name seen, interned to a small integer id (open addressing on FNV-1a). */
struct fv_streams {
    struct fv_stream *v; /* by id */
    size_t n, cap;       /* ids used, allocated */
    int32_t *slots;      /* hash table of id+1, 0 = empty */
    size_t nslots;       /* power of two */
};

/* The streams one connection subscribed to, in subscription order, with a bitmap by id. */
struct fv_subs {
    int32_t *ids;   /* subscription order (LIST_SUBSCRIPTIONS) */
    size_t n, cap;  /* used, allocated */
    uint64_t *bits; /* membership by id */
    size_t nwords;  /* words in bits */
};

int streams_intern(struct fv_streams *t, const char *name, size_t len);
int streams_find(const struct fv_streams *t, const char *name, size_t len);
void streams_fini(struct fv_streams *t);
bool subs_has(const struct fv_subs *s, int id);
bool subs_add(struct fv_subs *s, int id);    /* false if already there */
bool subs_remove(struct fv_subs *s, int id); /* false if absent */
void subs_fini(struct fv_subs *s);

/* ---- one connection (server.c) ---- */

enum fv_stage {
    FV_ST_TLS,    /* TLS handshake */
    FV_ST_HTTP,   /* reading HTTP requests */
    FV_ST_HELD,   /* a REST answer waits for the replay clock; later input is kept */
    FV_ST_IGNORE, /* --fault-no-upgrade: input read and discarded */
    FV_ST_WS,     /* WebSocket */
};

enum fv_cstate {
    FV_OPEN,       /* normal */
    FV_CLOSE_WAIT, /* our close frame is out: no more data, waiting for the client's close */
    FV_FIN,        /* FIN requested: reading and discarding until EOF or linger deadline */
    FV_CLOSED,     /* uv_close() called; freed in the close callback */
};

enum fv_kind {
    FV_KIND_HTTP,  /* no upgrade (yet) */
    FV_KIND_VENUE, /* the venue protocol (the --venue module) */
    FV_KIND_CASE,  /* a conformance case (/case/<id>) */
};

#define FV_PING_SLOTS 8
#define FV_FRAGMENT_PING "fv-fragment-ping" /* payload of --fault-ping-in-fragments pings */

/* Per-connection synthetic-load state (synth.c). */
struct fv_peer_synth {
    uint64_t sent;     /* messages generated since base_ms */
    uint64_t base_ms;  /* loop time the rate is counted from; 0 = not started */
    size_t rr;         /* round-robin position in the subscription list */
    uint64_t trade_id; /* "t" of the next trade */
    uint64_t rng;      /* xorshift state for prices */
};

struct fv_peer {
    struct fv_server *srv;       /* owner */
    unsigned id;                 /* "conn N", counted from 1 */
    struct fv_peer *prev, *next; /* srv->peers list */
    uv_tcp_t tcp;                /* the socket */
    uv_timer_t timer;            /* the earliest of this peer's deadlines */
    int handles;                 /* handles not yet closed; freed at 0 */
    enum fv_stage stage;         /* protocol stage */
    enum fv_cstate cstate;       /* closing state */
    enum fv_kind kind;           /* what the upgrade made of it */
    bool faulted;                /* fault flags apply (--fault-conns) */
    bool tls_on;                 /* TLS connection */
    bool tls_ok;                 /* handshake done */
    struct tls_session tls;      /* server session (tls_on) */
    uint8_t *rbuf;               /* uv read buffer, FV_READ_BUF bytes */
    struct fv_buf in;            /* plaintext not yet consumed by the HTTP parser */
    struct ws_hs_request req;    /* the request being read */
    bool ws_on;                  /* ws initialised */
    struct ws ws;                /* WebSocket state (stage WS) */
    struct fv_buf stage_buf;     /* plaintext waiting for peer_flush() */
    struct fv_buf pend;          /* ciphertext (or plaintext) waiting for the socket */
    struct fv_buf fly;           /* buffer of the uv_write in flight */
    size_t fly_off;              /* bytes of fly already written */
    size_t fly_chunk;            /* bytes of the write in flight */
    bool writing;                /* a uv_write is in flight */
    bool frozen;                 /* stall fault: nothing more is written or read */
    bool raw_close_sent;         /* a close frame went out behind wslay's back: drop its output */
    bool want_fin, want_rst;     /* after the queue drains: FIN or RST */
    bool fin_sent;               /* uv_shutdown issued */
    bool eof_seen;               /* the client closed its side */
    bool closed_logged;          /* "closed REASON" was printed */
    uv_write_t wreq;             /* the write in flight */
    uv_shutdown_t sreq;          /* the FIN */
    /* WebSocket / Binance */
    struct fv_subs subs;      /* subscribed streams */
    bool combined;            /* wrap payloads as {"stream":..,"data":..} */
    uint8_t route;            /* enum fv_route of the upgrade path */
    struct fv_case_run *crun; /* conformance case, or NULL */
    struct fv_peer_synth syn; /* synthetic load */
    void *vstate;             /* the module's connection state (on_open/on_close), or NULL */
    /* deadlines, loop time in ms, 0 = none */
    uint64_t opened_ms;         /* accept time */
    uint64_t next_ping_ms;      /* next server ping */
    uint64_t lifetime_ms;       /* --lifetime close */
    uint64_t shutdown_ms;       /* --shutdown-after notice */
    uint64_t shutdown_close_ms; /* close after the notice */
    uint64_t venue_ms;          /* the module's own deadline (fv_proto.on_deadline) */
    uint64_t close_wait_ms;     /* give up waiting for the client's close frame */
    uint64_t linger_ms;         /* close after FIN */
    /* pings we sent and not yet answered (oldest first) */
    uint64_t ping_stamp[FV_PING_SLOTS];   /* payloads (ms timestamps) */
    size_t ping_n;                        /* outstanding, at most FV_PING_SLOTS remembered */
    uint64_t ping_unanswered_ms;          /* send time of the oldest unanswered ping; 0 = none */
    uint64_t ping_sent_at[FV_PING_SLOTS]; /* send times, parallel to ping_stamp */
    /* rate limit: loop times of the last rate_limit client messages (a ring) */
    uint64_t *rl_times;   /* rate_limit entries */
    size_t rl_n, rl_head; /* filled, next slot */
    /* faults */
    uint64_t data_sent; /* data messages sent (fault counts) */
    bool gap_done;      /* the gap fault dropped its message */
    bool mute_logged;   /* the mute fault's first drop was logged */
    int32_t first_chan; /* --bfx-same-chan-id: the chanId every subscription is told */
    /* REST */
    int held_snap;  /* snapshot index a held request waits for, -1 = none */
    int held_limit; /* its limit */
};

/* Counts of REST weight (rest.c). */
struct fv_rest {
    struct fv_snap *snaps; /* recorded snapshots */
    size_t nsnaps;         /* count */
    char *text;            /* the recording, snaps point into it */
    long used;             /* weight used this minute */
    int64_t minute;        /* the minute `used` counts (Unix time / 60) */
    uv_timer_t timer;      /* wakes held requests at their recorded time (paced replay) */
    uint64_t rng;          /* chunk sizes of /test/body */
    long n429;             /* 429 answers since the last ban (--ban-after) */
    long n_throttled;      /* API requests answered 429 by --throttle-next so far */
    uint64_t ban_until_ms; /* loop time a ban ends; 0 = not banned */
    struct fv_buf body;    /* answers built here (klines, shifted or cut snapshots) */
};

/* Reads a whole file into a NUL-terminated buffer (new; free it). NULL with errno set on
 * failure. */
char *fv_read_file(const char *path, size_t *len);

/* The next line of a recording in the buffer *cursor points into, cut in place at its end
 * with trailing CR and spaces removed, or NULL at the end; advances *cursor. */
char *fv_rec_line(char **cursor);

/* The id spaces of a Binance message (shift.c names which member is which). */
enum fv_id_space {
    FV_ID_TRADE, /* trade ids: t, f, l, F, L (also a kline's f and L) */
    FV_ID_AGG,   /* aggregate trade ids: a */
    FV_ID_BOOK,  /* book update ids: U, u, pu, lastUpdateId */
    FV_ID_SPACES
};

/* How one message moves. */
struct fv_shift {
    int64_t id_add[FV_ID_SPACES]; /* added to the non-negative ids of each space */
    int64_t t_add;                /* added to times (ms) */
    bool kline_from_event;        /* a kline's t and T become the interval holding its shifted
                                     E (live replay), instead of moving by t_add */
};

/* One recorded ws message (replay.c). */
struct fv_rmsg {
    int64_t t_ns;              /* recorded time relative to the recording's start */
    int32_t sid;               /* stream id: the interned subscription key */
    uint8_t kind;              /* enum fv_rkind: DATA, ALL (on the clock) or ACK (on request) */
    int64_t chan;              /* channel id it carries (DATA) or gives (ACK); -1 = none */
    uint32_t chan_end;         /* DATA with chan: bytes of the leading "[CHAN" a remap replaces */
    uint32_t off, len;         /* stored form in replay text (Binance: combined form) */
    uint32_t raw_off, raw_len; /* bare payload in replay text (others: the whole message) */
    int16_t lsym;              /* --replay-live: its symbol's slot in lsyms, -1 = none */
    int64_t book_id;           /* --replay-live: its highest book update id, INT64_MIN = none */
};

/* A symbol of a live replay (replay_live.c): how its ids move from lap to lap. */
struct fv_live_sym {
    char sym[32];               /* upper case */
    bool seen[FV_ID_SPACES];    /* the recording has ids of this space for the symbol */
    int64_t lo[FV_ID_SPACES];   /* lowest of them */
    int64_t hi[FV_ID_SPACES];   /* highest */
    int64_t step[FV_ID_SPACES]; /* added per lap */
    int32_t depth_sid;          /* its diff stream, -1 = none */
    bool book;                  /* snapshot and diffs after it: bridged at each lap */
    int64_t first_live_u;       /* U of the first diff after the snapshot (lap >= 1 skips
                                   book messages below it) */
    int64_t last_diff_u;        /* u of the recording's last diff */
    char *levels;               /* the bridge's "b":[..],"a":[..] turning the end book into
                                   the snapshot (new) */
};

struct fv_replay {
    struct fv_rmsg *msgs;  /* in recorded order */
    size_t n;              /* count */
    char *text;            /* combined forms of every message */
    double t0;             /* Unix time the recording starts at (its first line) */
    bool loaded;           /* --replay given */
    bool started;          /* clock running */
    bool done;             /* reached the end (no --loop) */
    uint64_t start_ns;     /* uv_hrtime() when the clock started (this lap) */
    size_t cursor;         /* next message to send */
    uint64_t laps;         /* completed laps (with --loop: the lap being sent) */
    int64_t id_shift;      /* added to id fields per lap: the recording's id span + 1 */
    int64_t time_shift;    /* added to time fields per lap (ms): duration rounded up to minutes */
    struct fv_buf shifted; /* a message of lap >= 1 with its ids and times shifted */
    int32_t *ack_of;       /* by sid: index of the key's first ACK message, -1 = none (new) */
    uint64_t last_sub_ns;  /* uv_hrtime() of the last subscription (ACK holds, replay.c) */
    bool holding;          /* the clock waits at an ACK */
    size_t n_ack_of;       /* sids it covers (keys interned later have no ACK) */
    struct fv_live_sym *lsyms; /* --replay-live: per symbol (new) */
    size_t n_lsyms;            /* count */
    int64_t t_add;             /* --replay-live: ms added to times in this lap */
    int64_t dur_ms;            /* --replay-live: a lap's length (last message time) */
    uv_timer_t timer;          /* paced replay */
    uv_idle_t idle;            /* flat-out replay */
    bool idle_on;              /* idle running */
};

struct fv_synth {
    uv_timer_t timer;   /* paced */
    uv_idle_t idle;     /* flat out */
    bool idle_on;       /* idle running */
    unsigned period_ms; /* timer period */
};

/* What the venue did, for tests and benchmarks: served as JSON on GET /fv/stats and printed as
 * one "stats ..." line at exit (server.c). Data messages are counted once per connection. */
struct fv_stats {
    uint64_t conns;        /* TCP connections accepted */
    uint64_t upgrades;     /* WebSocket upgrades (venue protocol, not cases) */
    uint64_t refused;      /* upgrades refused by --conn-limit */
    uint64_t msgs;         /* data messages sent */
    uint64_t subscribed;   /* Bitfinex, Bybit: channels (topics) subscribed */
    uint64_t unsubscribed; /* Bitfinex, Bybit: channels (topics) unsubscribed */
    uint64_t channels;     /* Bitfinex, Bybit: channels (topics) open now */
    uint64_t errors;       /* Bitfinex: error events; Bybit: refused ops */
    uint64_t infos;        /* Bitfinex: info events after the first (20051, 20060, 20061) */
    uint64_t snapshots;    /* Bitfinex: snapshots (book, trades, ticker, candles); Bybit: book
                              and ticker snapshots on subscribe */
    uint64_t book;         /* Bitfinex: book updates */
    uint64_t cs;           /* Bitfinex: cs (checksum) messages */
    uint64_t te, tu;       /* Bitfinex: trade executions and trade updates */
    uint64_t ticker;       /* Bitfinex: ticker updates */
    uint64_t candles;      /* Bitfinex: candle updates */
    uint64_t hb;           /* Bitfinex: heartbeats */
    uint64_t faults;       /* faults that fired (Bitfinex: seq gap, bad checksum, bad level;
                              Bybit: book gap, restart) */
};

struct fv_server {
    uv_loop_t *loop;             /* the loop */
    const struct fv_opts *o;     /* options */
    uv_tcp_t listener;           /* listening socket */
    uv_signal_t sigterm, sigint; /* graceful exit */
    bool tls_on;                 /* wss */
    struct tls_config tls;       /* server TLS settings */
    unsigned next_id;            /* last connection number given */
    struct fv_peer *peers;       /* every live connection */
    bool stopping;               /* SIGTERM seen */
    struct fv_streams streams;   /* interned stream names */
    struct fv_replay replay;     /* --replay */
    struct fv_rest rest;         /* REST answers */
    struct fv_synth synth;       /* --synthetic */
    struct fv_market *market;    /* --market, or NULL */
    struct bfx_market *bfx;      /* --venue bitfinex: its market, or NULL */
    struct byb_market *byb;      /* --venue bybit-*: its market, or NULL */
    struct okx_market *okx;      /* --venue okx: its market, or NULL */
    int32_t bfx_chan_seq;        /* the last Bitfinex chanId given (venue-wide) */
    struct fv_stats stats;       /* counters (GET /fv/stats) */
    uint64_t *conn_times;        /* loop times of the last conn_limit upgrades (a ring) */
    size_t conn_n, conn_head;    /* filled, next slot */
    struct fv_buf scratch;       /* messages are built here before framing */
    uint8_t tlsbuf[16384];       /* plaintext out of tls_read */
};

/* Writes the counters as one JSON object (GET /fv/stats). */
void fv_stats_json(const struct fv_server *s, struct fv_buf *out);

/* Loop time in ms. */
uint64_t fv_now_ms(const struct fv_server *s);

/* Wall-clock Unix time in ms (event times in venue messages). */
int64_t fv_wall_ms(void);

/* ---- buffers (server.c) ---- */
void fv_buf_reserve(struct fv_buf *b, size_t extra); /* aborts when memory runs out */
void fv_buf_append(struct fv_buf *b, const void *p, size_t n);
void fv_buf_free(struct fv_buf *b);
/* Appends printf output to b. */
void fv_buf_printf(struct fv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *fv_xmalloc(size_t n); /* aborts when memory runs out */
void *fv_xcalloc(size_t n, size_t sz);
char *fv_xstrndup(const char *s, size_t n);
/* Timer period of a synthetic market: 1000 / --market-rate ms (at least 1), at most max_ms
 * (also with --market-rate max, where the idle handler drives the flow). */
unsigned fv_market_tick_ms(const struct fv_opts *o, unsigned max_ms);

/* Paced event rounds of a synthetic market (--market-rate N). */
struct fv_pace {
    uint64_t base_ms; /* loop time paced events are counted from, 0 = not started */
    uint64_t sent;    /* rounds made since base_ms */
};

/* The round count due at loop time now_ms: rounds up to it are to be made now (p->sent counts
 * them). At most a second of backlog is kept, and with --market-events the count stops there. */
uint64_t fv_market_due(const struct fv_opts *o, struct fv_pace *p, uint64_t now_ms);

/* ---- server and connection (server.c) ---- */

int server_start(struct fv_server *s, uv_loop_t *loop, const struct fv_opts *o);
void server_fini(struct fv_server *s);

/* Appends plaintext to the peer's output (nothing is sent before peer_flush()). */
void peer_append(struct fv_peer *p, const void *buf, size_t len);
/* Encodes one unmasked frame into the peer's output. */
void peer_frame(struct fv_peer *p, bool fin, unsigned rsv, unsigned opcode, const void *payload,
                size_t len);
/* Queues one text message (one frame) that is not a data message (control replies). */
void peer_send_text(struct fv_peer *p, const void *msg, size_t len);
/* Queues a control reply built with jansson, compact and in member order (steals obj). */
void peer_send_json(struct fv_peer *p, struct json_t *obj);
/* Hands everything appended so far to the socket (encrypting it first under TLS). */
void peer_flush(struct fv_peer *p);
/* Bytes produced for the client and not yet accepted by the kernel. */
size_t peer_unsent(const struct fv_peer *p);
/* True when the peer may be sent data messages (upgraded to a venue protocol, open, not
 * stalled). */
bool peer_live(const struct fv_peer *p);

enum fv_drop {
    FV_DROP_FIN, /* flush, FIN, read until EOF (or linger), close */
    FV_DROP_RST, /* flush, then RST */
    FV_DROP_NOW, /* close at once */
};
/* Ends the connection and logs "conn N closed REASON" (only the first reason is logged). */
void peer_drop(struct fv_peer *p, const char *reason, enum fv_drop how);
/* Sends a close frame through wslay and waits for the client's (logs REASON now). */
void peer_ws_close(struct fv_peer *p, uint16_t code, const char *reason);
/* Sends the first half of `frame` (of its TLS record under TLS), then FIN or RST. */
void peer_send_half_then(struct fv_peer *p, const uint8_t *frame, size_t len, bool rst,
                         const char *reason);
/* Sends a close frame with any code (0: no payload) behind wslay's back, then waits for the
 * client's close like peer_ws_close(). */
void peer_raw_close(struct fv_peer *p, uint16_t code, const char *reason);
/* Stops sending data and waits for the client's close (logs REASON now). */
void peer_await_close(struct fv_peer *p, const char *reason);
/* Stops reading and writing for good (stall fault). */
void peer_freeze(struct fv_peer *p);
/* Re-arms the peer's timer after a deadline changed. */
void peer_arm_timer(struct fv_peer *p);
/* Back to reading HTTP requests after a REST answer (keep-alive). */
void peer_http_resume(struct fv_peer *p);
/* Writes the status line and the Server header; the caller adds headers, blank line, body. */
void peer_http_head(struct fv_peer *p, int status);
/* Logs "conn N http METHOD TARGET STATUS" and gets ready for the next request. */
void peer_http_finish(struct fv_peer *p, int status);
/* Writes an HTTP response and logs "conn N http METHOD TARGET STATUS". */
void peer_http_respond(struct fv_peer *p, int status, const char *ctype, const char *extra_headers,
                       const void *body, size_t len);

/* ---- venue modules (proto.c) ----
 *
 * One module per venue protocol, all speaking through this table; server.c, main.c and
 * replay.c never test which venue runs. A module is its own files (binance.c, bitfinex.c ...)
 * and one line in MODULES[] of proto.c. One module serves a whole run (--venue), so module
 * state shared by the connections hangs off struct fv_server and per-connection state off
 * p->vstate.
 *
 * When each hook runs (NULL hooks are skipped; "required" ones must be set):
 *   options(o)          after the command line is read. Fills the venue's defaults for the
 *                       options left at -1 ("not given": ping_interval, pong_timeout,
 *                       rate_limit, max_streams, lifetime, weight_limit, conn_limit) and
 *                       refuses options the venue does not have: returns a usage error or
 *                       NULL. Required.
 *   init(s)             after --replay is loaded, before listening: the venue's generators.
 *   on_upgrade(p, path, &body)
 *                       a WebSocket upgrade request for path (with its query): 0 to upgrade,
 *                       or an HTTP status with a JSON body (static). Required.
 *   on_open(p)          after the 101 went out: per-connection state (p->vstate), the
 *                       greeting, p->venue_ms. A connection subscribed by its URL calls
 *                       replay_on_subscribe() here.
 *   on_text(p, data, len)
 *                       a text message from the client (subscribe, unsubscribe, ping, conf),
 *                       after logging and --rate-limit. Required.
 *   on_deadline(p, now) p->venue_ms passed (the module's own timed events; it re-sets
 *                       venue_ms, the server re-arms the timer).
 *   send_shutdown(p)    the venue's going-away notice (--shutdown-after); the close follows
 *                       --shutdown-grace later.
 *   on_close(p)         once, when the connection closes: frees p->vstate.
 *   on_drain(s)         a connection's unsent output fell below FV_WATERMARK / 2.
 *   rest(p)             an HTTP request that is not an upgrade, /fv/stats or /test/body
 *                       (answer with peer_http_respond()); NULL answers 404.
 *   stop(s)             SIGTERM or failed startup: close the module's handles.
 *   fini(s)             after the loop ended: free the module's memory.
 * Replay (replay.c holds the clock, the pacing and the recording; a module only says what a
 * line is and how it goes out):
 *   replay_line(s, l)   classify one recording line (struct fv_rline). NULL: --replay is
 *                       refused for the venue.
 *   replay_wants(p, m)  true when connection p gets clocked message m; NULL: every FV_RK_ALL
 *                       message, and FV_RK_DATA messages whose key p->subs holds.
 *   replay_send(p, m, c, clen, raw, rlen)
 *                       sends m (c: stored form, raw: bare payload, both possibly shifted by
 *                       --loop); NULL: raw as one data message (fault_send_data()).
 * A module's on_text() answers a subscription under --replay with replay_ack(key) (the
 * recorded answer), adds the key's stream id to p->subs and calls replay_on_subscribe().
 */
struct fv_proto {
    const char *name; /* the --venue value */
    int variant;      /* the module's own (Binance: FV_BINANCE_SPOT or FV_BINANCE_FUTURES) */
    unsigned flags;   /* FV_PROTO_* */
    const char *(*options)(struct fv_opts *o);
    int (*init)(struct fv_server *s);
    int (*on_upgrade)(struct fv_peer *p, const char *target, const char **body);
    void (*on_open)(struct fv_peer *p);
    void (*on_text)(struct fv_peer *p, const uint8_t *data, size_t len);
    void (*on_deadline)(struct fv_peer *p, uint64_t now_ms);
    void (*send_shutdown)(struct fv_peer *p);
    void (*on_close)(struct fv_peer *p);
    void (*on_drain)(struct fv_server *s);
    void (*rest)(struct fv_peer *p);
    void (*stop)(struct fv_server *s);
    void (*fini)(struct fv_server *s);
    void (*replay_line)(struct fv_server *s, struct fv_rline *l);
    bool (*replay_wants)(const struct fv_peer *p, const struct fv_rmsg *m);
    void (*replay_send)(struct fv_peer *p, const struct fv_rmsg *m, const char *c, size_t clen,
                        const char *raw, size_t rlen);
};

/* fv_proto.flags */
#define FV_PROTO_NOTICE_FAULTED                                                                    \
    1u                   /* --shutdown-after notices only on --fault-conns connections             \
                          */
#define FV_PROTO_LOOP 2u /* --loop and --replay-live (the replay can shift ids) */
#define FV_PROTO_OWN_MARKET                                                                        \
    4u /* --market names the venue's own instruments: options() checks the list (main.c checks     \
          Binance symbols otherwise) */

#define FV_BINANCE_SPOT 0    /* variant of binance-spot */
#define FV_BINANCE_FUTURES 1 /* variant of binance-futures */
#define FV_BYBIT_SPOT 0      /* variant of bybit-spot */
#define FV_BYBIT_LINEAR 1    /* variant of bybit-linear */

/* The module called name, or NULL. */
const struct fv_proto *fv_proto_find(const char *name);
/* The --venue values, "a, b or c" (for the usage error). */
const char *fv_proto_names(void);
/* The first option given that only the Binance modules have (--rest, --synthetic, --market,
 * --market-quiet, --market-sparse, --refuse-stream), or NULL: for a module's options(). */
const char *fv_opts_binance_only(const struct fv_opts *o);
/* True on binance-spot (the rest of the Binance code asks spot or futures). */
bool fv_binance_spot(const struct fv_opts *o);

extern const struct fv_proto fv_proto_binance_spot;
extern const struct fv_proto fv_proto_binance_futures;
extern const struct fv_proto fv_proto_bitfinex;
extern const struct fv_proto fv_proto_bybit_spot;
extern const struct fv_proto fv_proto_bybit_linear;

extern const struct fv_proto fv_proto_okx;

/* ---- Binance protocol (binance.c) ---- */

/* Checks an upgrade target and sets up the peer's subscriptions. Returns 0, or an HTTP status
 * (404 unknown path, 400 bad request) with a JSON body in *body (static). */
int binance_upgrade(struct fv_peer *p, const char *target, const char **body);
/* A text message from the client (control methods). */
void binance_on_text(struct fv_peer *p, const uint8_t *data, size_t len);
/* True when the peer's subscriptions and path deliver stream sid. */
bool binance_delivers(const struct fv_peer *p, int sid);
/* Sends a stream message: `combined` is the wrapped form (may be NULL: built from raw). */
void binance_send(struct fv_peer *p, int sid, const char *combined, size_t clen, const char *raw,
                  size_t rlen);
/* The serverShutdown event. */
void binance_send_shutdown(struct fv_peer *p);
/* The Binance modules' replay hooks (binance_replay.c): a line is a stream message, combined
 * ({"stream":..,"data":..}) or bare (its stream from the URL or the event), kept in both
 * framings; it goes to the connections whose subscriptions and path deliver its stream. */
void binance_replay_line(struct fv_server *s, struct fv_rline *l);
bool binance_replay_wants(const struct fv_peer *p, const struct fv_rmsg *m);
void binance_replay_send(struct fv_peer *p, const struct fv_rmsg *m, const char *c, size_t clen,
                         const char *raw, size_t rlen);
/* True when --conn-limit allows one more upgrade now; when it does not, logs
 * "conn N refused conn-limit" and counts a refusal. */
bool conn_limit_check(struct fv_peer *p);
/* Counts one upgrade against --conn-limit. */
void conn_limit_count(struct fv_server *s);

/* ---- Bitfinex protocol (bitfinex.c) ---- */

/* Conf flags (src/venue/README.md 3.4). */
#define BFX_DEC_S 8u
#define BFX_TIMESTAMP 32768u
#define BFX_SEQ_ALL 65536u
#define BFX_CHECKSUM 131072u

/* True for a Bitfinex trading pair name: 't' and six upper-case letters or digits, or 't' and
 * two such names of 2 to 12 characters joined by ':' ("tBTCUSD", "tAVAX:USD"). */
bool bitfinex_pair_ok(const char *s, size_t len);
/* Checks an upgrade target (/ws/2) and the connection limit. Returns 0, or an HTTP status with
 * a JSON body in *body (static). */
int bitfinex_upgrade(struct fv_peer *p, const char *target, const char **body);
/* The connection was upgraded: sets up its state and sends the info event. */
void bitfinex_on_open(struct fv_peer *p);
/* A text message from the client (events). */
void bitfinex_on_text(struct fv_peer *p, const uint8_t *data, size_t len);
/* Sends info event `code` (20051, 20060, 20061) and enters or leaves maintenance. */
void bitfinex_send_info(struct fv_peer *p, int code);
/* The connection is closing: leaves every channel and frees its state. */
void bitfinex_peer_gone(struct fv_peer *p);
/* The connection's conf flags. */
uint32_t bitfinex_flags(const struct fv_peer *p);
/* The replay key of a subscribe request or a subscribed event obj ("book:tBTCUSD:P0:F0:25",
 * "trades:tBTCUSD", "ticker:tBTCUSD", "candles:TF:tBTCUSD"), any well-formed pair. False when
 * obj is no trading-pair channel the venue knows. */
bool bitfinex_key_of(const struct fv_server *s, struct json_t *obj, char *key, size_t cap);
/* The Bitfinex replay hooks: bfx_replay_line() (bfx_replay.c) says what a recorded line is;
 * bitfinex_replay_send() sends a recorded channel message under the connection's chanId. */
void bfx_replay_line(struct fv_server *s, struct fv_rline *l);
void bitfinex_replay_send(struct fv_peer *p, const struct fv_rmsg *m, const char *c, size_t clen,
                          const char *raw, size_t rlen);
/* Sends one data message on channel chan: "[" chan "," body (timestamp) (sequence) "]", with
 * the connection's flags and faults. Returns false when nothing was sent (maintenance, or the
 * connection is not live). */
bool bitfinex_send(struct fv_peer *p, int32_t chan, const char *body, size_t len);

/* ---- the Bitfinex market (bfx_market.c) ---- */

enum bfx_ctype {
    BFX_C_BOOK,    /* book, P0..P4 */
    BFX_C_TRADES,  /* trades */
    BFX_C_TICKER,  /* ticker */
    BFX_C_CANDLES, /* candles trade:TF:SYMBOL */
};

/* What a subscription asks for (validated by bitfinex.c). */
struct bfx_spec {
    uint8_t type; /* enum bfx_ctype */
    char sym[32]; /* "tBTCUSD" */
    int prec;     /* book: 0..4 */
    int len;      /* book: 1, 25, 100 or 250 */
    bool f1;      /* book: F1 (every 2 s) rather than F0 (realtime) */
    int tf;       /* candles: timeframe index (bfx_tf()) */
};

/* The timeframe index of a candle timeframe name ("1m" .. "1M", "7D" as "1W"), or -1. */
int bfx_tf(const char *name, size_t len);
/* Writes v x 10^-scale as JavaScript prints a Number (String(x)): shortest digits, no trailing
 * zeros, exponent form below 1e-6. out needs 48 bytes. Returns the length. */
int bfx_js_num(char *out, int64_t v, int scale);

/* Creates the market (--venue bitfinex) and its timer. Returns 0. */
int bfxm_init(struct fv_server *s);
/* The generator for spec (started if new). Returns its index. */
int bfxm_gen(struct fv_server *s, const struct bfx_spec *spec);
/* Peer p subscribed generator gen as channel chan: sends the snapshot and then updates. */
void bfxm_attach(struct fv_server *s, int gen, struct fv_peer *p, int32_t chan);
/* Channel chan of p left generator gen. */
void bfxm_detach(struct fv_server *s, int gen, struct fv_peer *p, int32_t chan);
/* A peer's unsent output went below the low watermark (flat-out generation resumes). */
void bfxm_on_drain(struct fv_server *s);
void bfxm_stop(struct fv_server *s);
void bfxm_fini(struct fv_server *s);

/* ---- the Bybit v5 modules (bybit.c protocol, bybit_market.c market, bybit_replay.c) ---- */

/* True on bybit-spot (the category decides the shapes). */
bool bybit_spot(const struct fv_server *s);
/* True for a Bybit symbol: 2 to 20 upper-case letters and digits ("BTCUSDT"). */
bool bybit_symbol_ok(const char *s, size_t len);
/* Sends one data message of topic `topic` to p with the connection's faults. `delta_u` is the
 * u of a book delta (the gap faults may drop it), 0 otherwise; `updates` counts the topic's
 * book updates sent to p. Returns false when nothing was sent. */
bool bybit_send(struct fv_peer *p, const char *topic, int64_t delta_u, uint64_t updates,
                const char *msg, size_t len);
/* What a line of a Bybit recording is (bybit_replay.c): a message with a "topic" is DATA of
 * that topic; the client's subscribe is a REQ keyed by its first topic, and the venue's
 * subscribe reply that follows is its ACK; pongs, unsubscribe replies and the rest are
 * skipped. */
void bybit_replay_line(struct fv_server *s, struct fv_rline *l);

/* A topic parsed (the market's generator key). */
enum byb_ttype {
    BYB_T_TRADE,  /* publicTrade.{S} */
    BYB_T_BOOK,   /* orderbook.{1,50,200,1000}.{S} */
    BYB_T_KLINE,  /* kline.{iv}.{S} */
    BYB_T_TICKER, /* tickers.{S} */
    BYB_T_ALLLIQ, /* allLiquidation.{S} (linear) */
    BYB_T_LIQ,    /* liquidation.{S} (linear, the older topic) */
};

/* Parses topic[0..len) for the venue's category. Returns its generator (created on first use)
 * or -1 when the category does not serve it. */
int bybm_topic(struct fv_server *s, const char *topic, size_t len);
/* The generator's topic name (borrowed). */
const char *bybm_topic_name(const struct fv_server *s, int gen);
/* Peer p subscribed generator gen: the snapshot (book, ticker) now, updates after. */
void bybm_attach(struct fv_server *s, int gen, struct fv_peer *p);
/* Peer p left generator gen. */
void bybm_detach(struct fv_server *s, int gen, struct fv_peer *p);
int bybm_init(struct fv_server *s);
void bybm_stop(struct fv_server *s);
void bybm_fini(struct fv_server *s);
/* ---- OKX v5 (okx.c, okx_replay.c, okx_market.c; okxv.h is the module's own header) ---- */

/* True for an OKX instId: upper-case letters and digits in '-'-joined parts, 3 to 31 bytes. */
bool fvokx_inst_ok(const char *s, size_t len);

/* ---- faults (faults.c) ---- */

/* Sends one data message (stream payload) with the peer's faults applied; sid < 0 for messages
 * that belong to no Binance stream (Bitfinex). */
void fault_send_data(struct fv_peer *p, int sid, const uint8_t *msg, size_t len);
/* Faults that fire "after 0 messages": called once after the upgrade. */
void fault_after_upgrade(struct fv_peer *p);

/* ---- replay (replay.c) ---- */

/* What a recorded line is to the replay (set by fv_proto.replay_line). */
enum fv_rkind {
    FV_RK_SKIP, /* not replayed (received lines are counted and reported at load) */
    FV_RK_DATA, /* on the clock, to the connections subscribed to its key (p->subs) */
    FV_RK_ALL,  /* on the clock, to every connection of the venue */
    FV_RK_ACK,  /* an answer to a client request, kept for the module (replay_ack()); the
                   clock waits at it until its key is subscribed (replay.c) */
    FV_RK_REQ,  /* a client request ("URL <-" line): its key names the next key-less ACK */
};

/* One recording line as the loader hands it to fv_proto.replay_line(). The loader has checked
 * the JSON and sets the outputs to kind SKIP, key "", chan -1, stored false before the call.
 * A module names what the line is: its kind and its subscription key (any string the module
 * can also build from a live client's request: a Binance stream name, a Bybit topic, an OKX
 * "channel:instId", a Bitfinex "book:tBTCUSD:P0:F0:25"). Keys become stream ids (fv_streams),
 * so p->subs can hold them. Messages that carry only a channel id (Bitfinex data) leave key ""
 * and give chan: the loader maps it to the key of the ACK that gave that chan on the same
 * recorded connection. A key-less ACK (Bybit's {"success":true,...}) takes the key of the oldest
 * unanswered REQ of its recorded connection. */
struct fv_rline {
    const char *url;      /* the recorded connection's URL ("" before any "<->" line) */
    const char *json;     /* the message (valid JSON), NUL-terminated */
    size_t len;           /* its length */
    bool sent;            /* the client sent it ("URL <- TS: JSON") */
    struct fv_buf *arena; /* the replay text, for modules that store their own form */
    enum fv_rkind kind;   /* out */
    char key[256];        /* out: subscription key, "" = by chan or by request (above) */
    int64_t chan;         /* out: channel id carried (DATA) or given (ACK), -1 = none */
    uint32_t chan_end;    /* out: DATA with chan: length of the leading "[CHAN" */
    bool stored;          /* out: the module appended its form to arena and set the ranges */
    uint32_t off, len_stored, raw_off, raw_len; /* out when stored (see struct fv_rmsg) */
};

int replay_load(struct fv_server *s, const char *path);
/* True when --replay was given (the module answers from the recording). */
bool replay_on(const struct fv_server *s);
/* The recorded answer to a request for key (the key's first ACK line), or NULL: its text
 * (borrowed) in *len bytes, the channel id it gives in *chan (-1 = none) and the key's stream
 * id in *sid. */
const char *replay_ack(const struct fv_server *s, const char *key, size_t *len, int64_t *chan,
                       int *sid);
/* A subscription arrived: starts the clock the first time. */
void replay_on_subscribe(struct fv_server *s);
/* A peer's unsent output went below the low watermark. */
void replay_on_drain(struct fv_server *s);
/* Recorded time `t_ns` (relative) is reached on the replay clock and every message recorded
 * before it has been sent. */
bool replay_reached(const struct fv_server *s, int64_t t_ns);
/* Loop time (ms) when t_ns is due on a paced clock, or 0 when unknown (not started, flat out). */
uint64_t replay_due_ms(const struct fv_server *s, int64_t t_ns);
/* Converts a Unix time from a recording into the replay's relative ns. */
int64_t replay_rel_ns(const struct fv_server *s, double unix_s);
/* Like replay_reached(), for a looping replay too: true when recorded time t_ns has been
 * reached in the lap being sent, or (for a time after the recording's last message) at the end
 * of the previous lap; *lap gets the lap it was reached in (0 without --loop). */
bool replay_reached_lap(const struct fv_server *s, int64_t t_ns, uint64_t *lap);
void replay_stop(struct fv_server *s);
void replay_fini(struct fv_server *s);

/* ---- live replay (replay_live.c) ---- */

/* After replay_load() and rest_load(): measures each symbol's ids and replays its book to
 * build the lap bridge. Returns 0. */
int live_prepare(struct fv_server *s);
/* A lap starts (the first included): takes its time shift from the wall clock. */
void live_start(struct fv_server *s);
/* Lap r->laps >= 1 starts: sends each bridged book's bridging diff to its subscribers. */
void live_bridge(struct fv_server *s);
/* The shifts of a message of live symbol lsym (-1: times only) in lap `lap`. */
void live_shift(const struct fv_server *s, int lsym, uint64_t lap, struct fv_shift *sh);
/* The live symbol slot of sym (upper case), or -1. */
int live_sym_of(const struct fv_server *s, const char *sym);
/* True when lap r->laps must not send m (a book message its snapshot covers, lap >= 1). */
bool live_skips(const struct fv_server *s, const struct fv_rmsg *m);
void live_fini(struct fv_server *s);

/* ---- REST (rest.c) ---- */

int rest_load(struct fv_server *s, const char *path);
/* The earliest recorded snapshot of sym (upper case): its JSON (borrowed) and recorded time.
 * False when there is none. */
bool rest_first_snapshot(const struct fv_server *s, const char *sym, const char **body, size_t *len,
                         int64_t *t_ns);
int rest_init(struct fv_server *s);
/* A complete non-upgrade request in p->req: /fv/stats and /test/body, else the module's rest
 * hook (404 without one). */
void rest_handle(struct fv_peer *p);
/* The Binance modules' rest hook: depth, klines, ping, time; answers or holds the request. */
void binance_rest(struct fv_peer *p);
/* The replay advanced: answers held requests whose time has come. */
void rest_kick(struct fv_server *s);
/* The peer is going away: forget its held request. */
void rest_forget(struct fv_peer *p);
void rest_stop(struct fv_server *s);
void rest_fini(struct fv_server *s);

/* ---- id and time shifts of looped replays (shift.c) ---- */

/* Appends json[0..len) to out with every non-negative integer id field (t a f l U u pu
 * lastUpdateId F L, kline f L) increased by id_add and every integer time field (E T O C,
 * kline t T) by t_add; all other bytes are copied unchanged. The text must be valid JSON
 * (checked at load). */
void shift_json(const char *json, size_t len, int64_t id_add, int64_t t_add, struct fv_buf *out);
/* The same with the shifts of sh. */
void shift_json_ex(const char *json, size_t len, const struct fv_shift *sh, struct fv_buf *out);
/* Widens [*lo, *hi] to cover every non-negative integer id field of json[0..len). */
void shift_measure(const char *json, size_t len, int64_t *lo, int64_t *hi);
/* The same per id space. */
void shift_ids(const char *json, size_t len, int64_t lo[FV_ID_SPACES], int64_t hi[FV_ID_SPACES]);

/* ---- the synthetic market's symbols and candles (candle.c) ---- */

/* What a market symbol looks like; a pure function of its name and the venue. */
struct fv_symparams {
    char name[32];  /* upper case, e.g. "BTCUSDT" */
    char lower[32]; /* lower case, as in stream names */
    uint64_t h;     /* hash of the name: every derived value comes from it */
    int td;         /* tick decimals: the price tick is 10^-td (2..8) */
    int qd;         /* quantity step decimals (0..3) */
    int pdec;       /* decimals prices are printed with (spot 8, futures td) */
    int qdec;       /* decimals quantities are printed with (spot 8, futures qd) */
    int vdec;       /* decimals quote volumes are printed with (spot 8, futures min(td+qd, 8)) */
    int64_t base;   /* price level the path moves around, in ticks */
    double ph[4];   /* phases of the price path's waves */
};

/* One second of a market symbol's trades: the trade ids it gave out in that second. */
struct fv_tape_sec {
    int64_t sec;   /* Unix time, seconds */
    int64_t first; /* first trade id of the second */
    int64_t last;  /* last trade id of the second */
};

/* The trade ids a market symbol gave out, by second (a ring of the seconds that had trades), so
 * that a candle's first and last trade id and its trade count are those of the market's trades,
 * on the stream and in REST klines alike. Before since_ms nothing is known (the market had not
 * started, or the ring dropped those seconds): candles that closed before it keep their
 * synthetic values. */
struct fv_tape {
    struct fv_tape_sec *v; /* the ring */
    size_t cap;            /* allocated entries (grows up to FV_TAPE_MAX) */
    size_t head, n;        /* index of the oldest entry, entries used */
    int64_t since_ms;      /* trades are known from this Unix time (ms) on */
};

#define FV_TAPE_MAX (26 * 3600) /* seconds with trades a tape keeps (a day and a bit) */

/* One candle. Prices in ticks, volumes in quantity steps, quote volumes at vdec decimals. */
struct fv_candle {
    int64_t t, T;       /* open time, close time (ms) */
    int64_t f, L, n;    /* first and last trade id, trade count */
    int64_t o, h, l, c; /* prices */
    int64_t v, V;       /* base volume, taker buy base volume */
    int64_t q, Q;       /* quote volume, taker buy quote volume */
    bool x;             /* closed */
};

#define FV_IV_COUNT 16 /* intervals 1s .. 1M */

/* Fills sp for symbol name (upper case) on the venue (spot: 8-decimal strings). */
void candle_params(struct fv_symparams *sp, const char *name, bool spot);
/* The symbol's price path at Unix time t_ms, in ticks. */
int64_t candle_price(const struct fv_symparams *sp, int64_t t_ms);
/* The interval index of a Binance interval name ("1s" .. "1M"), or -1. */
int candle_interval(const char *name, size_t len);
/* The interval's name. */
const char *candle_interval_name(int iv);
/* Open time of the candle of interval iv that contains t_ms; the next candle's open time. */
int64_t candle_open(int iv, int64_t t_ms);
int64_t candle_next(int iv, int64_t open_ms);
/* Starts a tape that knows trades from Unix time since_ms on. */
void candle_tape_init(struct fv_tape *t, int64_t since_ms);
/* Records trade ids first..last given out at Unix time t_ms (ids and times never go back). */
void candle_tape_note(struct fv_tape *t, int64_t t_ms, int64_t first, int64_t last);
void candle_tape_fini(struct fv_tape *t);
/* The candle (symbol, iv, open_ms) as seen at Unix time now_ms: the final (closed) values once
 * now_ms reaches the next open time, a deterministic prefix of them before. With a tape that
 * covers the candle (it closes after tape->since_ms), f, L and n are the market's trades in the
 * candle (f = L = -1, n = 0 and no volume, o = h = l = c, when there were none); prices and
 * volumes otherwise come from the price path. tape may be NULL (every value synthetic). */
void candle_compute(const struct fv_symparams *sp, const struct fv_tape *tape, int iv,
                    int64_t open_ms, int64_t now_ms, struct fv_candle *c);
/* Appends the kline "k" object of c (stream form). */
void candle_format_k(const struct fv_symparams *sp, int iv, const struct fv_candle *c,
                     struct fv_buf *out);
/* Appends the REST klines answer: the closed candles (close time < now_ms) with open time in
 * [start_ms, end_ms] (INT64_MIN / INT64_MAX when not given), at most limit, oldest first; with
 * no start, the latest ones up to end. */
void candle_rest_klines(const struct fv_symparams *sp, const struct fv_tape *tape, int iv,
                        int64_t start_ms, int64_t end_ms, int limit, int64_t now_ms,
                        struct fv_buf *out);
/* Quote volume of v quantity steps at price px ticks, at the symbol's vdec decimals. */
int64_t candle_quote(const struct fv_symparams *sp, int64_t v, int64_t px);
/* Append a price (ticks), a quantity (steps) or a quote volume as a JSON string, printed with
 * the symbol's decimals. */
void candle_put_px(struct fv_buf *b, const struct fv_symparams *sp, int64_t px);
void candle_put_qty(struct fv_buf *b, const struct fv_symparams *sp, int64_t q);
void candle_put_quote(struct fv_buf *b, const struct fv_symparams *sp, int64_t q);
/* Writes v (scaled by 10^scale, scale <= decimals) with `decimals` decimals and a '-' when
 * negative into out (at least 32 bytes). Returns the length. */
int fv_dec(char *out, int64_t v, int scale, int decimals);

/* ---- the synthetic market (market.c) ---- */

/* Builds the --market symbols and their books and starts the market's timer. Returns 0. */
int market_init(struct fv_server *s);
/* Subscriptions changed: starts the streams newly subscribed to market symbols. */
void market_kick(struct fv_server *s);
/* A peer's unsent output went below the low watermark (flat-out generation resumes). */
void market_on_drain(struct fv_server *s);
/* The parameters of market symbol sym (upper case), or NULL when it is not one. */
const struct fv_symparams *market_symbol(const struct fv_server *s, const char *sym);
/* The trade tape of market symbol sym (borrowed), or NULL when it is not one. */
const struct fv_tape *market_tape(const struct fv_server *s, const char *sym);
/* Appends the REST depth snapshot of market symbol sym (limit levels a side) to out; futures
 * snapshots carry E and T. Returns false when sym is not a market symbol. */
bool market_depth(struct fv_server *s, const char *sym, long limit, struct fv_buf *out);
void market_stop(struct fv_server *s);
void market_fini(struct fv_server *s);

/* ---- synthetic load (synth.c) ---- */

int synth_init(struct fv_server *s);
/* Subscriptions changed or a peer drained: resumes generation. */
void synth_kick(struct fv_server *s);
void synth_stop(struct fv_server *s);

#endif /* MDF_FAKEVENUE_FV_H */
