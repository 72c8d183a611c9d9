/*
 * A WebSocket connection that stays up: URL -> DNS -> TCP -> TLS -> HTTP upgrade -> messages,
 * with our own pings and a pong deadline, and automatic reconnection by exponential backoff with
 * jitter. State machine:
 *
 *   DISCONNECTED --start--> CONNECTING --upgraded--> CONNECTED
 *   CONNECTING/CONNECTED --error--> RECONNECTING --delay--> CONNECTING
 *   RECONNECTING --max attempts--> FAILED            any --stop--> DISCONNECTED
 *
 * Every transition and every error is counted in wsconn_stats. Single-threaded (loop thread).
 */
#ifndef MDF_NET_WSCONN_H
#define MDF_NET_WSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/backoff.h"
#include "net/conn.h"
#include "net/url.h"
#include "tls/tls_session.h"
#include "ws/ws.h"
#include "ws/ws_handshake.h"

enum wsconn_state {
    WSC_DISCONNECTED,
    WSC_CONNECTING,
    WSC_CONNECTED,
    WSC_RECONNECTING,
    WSC_FAILED,
    WSC_NSTATES
};

struct wsconn_params {
    const char *url;               /* ws:// or wss:// (copied) */
    const char *ca_file;           /* trusted CAs for wss; NULL = system bundle */
    const struct tls_config *tls;  /* borrowed, shared by many connections; NULL = load
                                      ca_file into a configuration of this connection's own */
    uint32_t connect_timeout_ms;   /* DNS + TCP; 0 = 10 s */
    uint32_t handshake_timeout_ms; /* TLS + upgrade; 0 = 10 s */
    uint32_t ping_interval_ms;     /* our pings; 0 = none */
    uint32_t pong_timeout_ms;      /* drop when nothing (no pong, no data) arrives this long
                                      after a ping of ours; 0 = 2 x ping interval */
    size_t max_message;            /* 0 = WS_DEFAULT_MAX_MESSAGE */
    struct backoff_params backoff; /* reconnect delays and the attempt limit */
};

/* Defaults: timeouts 10 s, ping 30 s / pong 30 s, 1 MiB messages, backoff 1 s .. 60 s, jitter
 * 0.5, never give up. */
void wsconn_default_params(struct wsconn_params *p);

struct wsconn_stats {
    uint64_t transitions[WSC_NSTATES]; /* entries into each state */
    uint64_t connects;                 /* connections that reached CONNECTED */
    uint64_t connect_failures;         /* attempts that failed before CONNECTED */
    uint64_t disconnects;              /* CONNECTED connections lost */
    uint64_t msgs_in, msgs_out;        /* WebSocket messages */
    uint64_t bytes_in, bytes_out;      /* wire bytes, all connections */
    uint64_t pings_in, pongs_out;      /* venue pings and our answers */
    uint64_t pings_out, pongs_in;      /* our pings and their answers */
    uint64_t pong_timeouts;            /* connections dropped for silence */
    uint64_t errors_tls, errors_ws, errors_net, errors_timeout; /* errors by kind (net: failed
                                                                   attempts only; a reset of a
                                                                   connection counts as ws) */
    uint64_t admit_waits;         /* attempts the owner's admit callback held back */
    int last_error;               /* code of the last error, 0 if none */
    uint16_t last_close_received; /* the venue's last close code (0 = none) */
    uint16_t last_close_sent;     /* our last close code (0 = none) */
    char last_error_msg[256];     /* text of the last error */
};

struct wsconn;

struct wsconn_callbacks {
    /* The state changed; err is the cause (0 for a requested change). May be NULL. */
    void (*on_state)(struct wsconn *w, enum wsconn_state from, enum wsconn_state to, int err);
    /* Upgraded: send subscriptions here. May be NULL. */
    void (*on_open)(struct wsconn *w);
    /* One whole message (borrowed), with its local receive time (CLOCK_REALTIME ns). */
    void (*on_message)(struct wsconn *w, bool text, const uint8_t *data, size_t len,
                       int64_t recv_ns);
    /* wsconn_stop() finished: every handle is closed; the struct may be freed. May be NULL. */
    void (*on_stopped)(struct wsconn *w);
    /* Asked before every connection attempt: 0 to go ahead, or ms to wait before asking again
     * (the attempt stays in CONNECTING meanwhile). May be NULL. */
    uint32_t (*admit)(struct wsconn *w);
};

/* Fields are private except ud, state and stats (read-only). */
struct wsconn {
    uv_loop_t *loop;                        /* borrowed */
    const struct wsconn_callbacks *cb;      /* borrowed */
    void *ud;                               /* public: owner's pointer */
    enum wsconn_state state;                /* public */
    struct wsconn_stats stats;              /* public */
    struct wsconn_params p;                 /* settings */
    char url_text[2048];                    /* p.url copied */
    struct url url;                         /* parsed p.url */
    char host_header[300];                  /* Host: value */
    struct tls_config tls;                  /* wss trust settings, loaded once */
    bool tls_ready;                         /* tls needs fini */
    struct conn conn;                       /* the transport */
    struct ws ws;                           /* framing */
    bool ws_ready;                          /* ws needs fini */
    struct ws_hs_response hs;               /* upgrade response parser */
    char key[WS_KEY_LEN + 1];               /* this attempt's Sec-WebSocket-Key */
    uint8_t *wsout;                         /* frames from ws_output, before conn_write */
    uv_timer_t ping_timer;                  /* ping interval and pong deadline */
    uv_timer_t retry_timer;                 /* backoff delay */
    uv_timer_t hs_timer;                    /* upgrade deadline */
    bool timers_open;                       /* the three timers need uv_close */
    int open_timers;                        /* timers still closing */
    bool stopping;                          /* wsconn_stop() called */
    bool stop_done;                         /* on_stopped was called */
    bool conn_busy;                         /* conn is not CONN_IDLE (closing or open) */
    bool retry_due;                         /* the retry delay passed while conn was closing */
    int64_t rx_ns;                          /* receive time of the read being decoded */
    int64_t last_ping_ms;                   /* loop time of our last ping */
    int64_t ping_sent_ms;                   /* loop time of our unanswered ping, 0 = none */
    uint64_t bytes_in_base, bytes_out_base; /* wire bytes of earlier connections */
    struct backoff backoff;                 /* delay schedule */
    bool slow;                              /* gave up; retrying every backoff cap */
};

/* Parses the URL and loads the CA file (wss). Returns 0, -EINVAL (bad URL or settings) or a TLS
 * setup error, with err_set(). */
int wsconn_init(struct wsconn *w, uv_loop_t *loop, const struct wsconn_params *p,
                const struct wsconn_callbacks *cb, void *ud);

/* DISCONNECTED or FAILED -> CONNECTING. Returns 0 or -EALREADY. */
int wsconn_start(struct wsconn *w);

/* Queue a text or binary message (CONNECTED only); what the transport cannot take now waits
 * (at most 4 MiB) and goes out as the venue reads. Return 0, -ENOTCONN, -EMSGSIZE (over
 * max_message) or -ENOBUFS (the venue is not reading). */
int wsconn_send_text(struct wsconn *w, const void *msg, size_t len);
int wsconn_send_binary(struct wsconn *w, const void *msg, size_t len);

/* Drops the current connection now (counted as an error `err`) and reconnects by the backoff
 * schedule: for the watchdog and for venue-requested reconnects. */
void wsconn_reconnect(struct wsconn *w, int err);

/* After WSC_FAILED (gave up): keeps trying, one attempt every backoff cap (max_ms), never
 * giving up again, until the next successful connection restores the configured schedule.
 * The next attempt is one cap from now (state RECONNECTING). No-op in other states. */
void wsconn_retry_slowly(struct wsconn *w);

/* Sends close `code` if connected, closes everything and stops reconnecting; on_stopped
 * follows. Then wsconn_fini() may be called. */
void wsconn_stop(struct wsconn *w, uint16_t code);

/* Frees what init allocated. Only after on_stopped, or if never started. */
void wsconn_fini(struct wsconn *w);

const char *wsconn_state_name(enum wsconn_state s);

#endif /* MDF_NET_WSCONN_H */
