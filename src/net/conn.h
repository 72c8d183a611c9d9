/*
 * A byte-stream connection on libuv: DNS on lookup threads of our own (net/resolve.h: IPv4 and
 * IPv6, every address tried in turn; a stuck lookup never blocks another host's connections),
 * TCP connect with a timeout, then an optional TLS handshake with its own timeout, after which
 * the upper layer reads and writes plaintext. TCP and TLS differ only in a small ops table
 * (conn_tcp.c, conn_tls.c), in the way Redis cuts its connection types.
 *
 * This is the only layer that does network I/O. Buffers are allocated once in conn_init():
 * one read buffer and two write buffers (one being sent while the other fills), so nothing is
 * allocated per message. Single-threaded: every function runs on the loop's thread.
 */
#ifndef MDF_NET_CONN_H
#define MDF_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net/resolve.h"
#include "tls/tls_session.h"

#define CONN_READ_CAP (64 * 1024)
#define CONN_WRITE_CAP (256 * 1024) /* plaintext-or-ciphertext bytes one write buffer holds */

struct conn;

struct conn_callbacks {
    /* TCP is connected and, for TLS, the handshake is done: the stream is ready. */
    void (*on_ready)(struct conn *c);
    /* Plaintext arrived (borrowed for the call). */
    void (*on_data)(struct conn *c, const uint8_t *data, size_t len);
    /* The connection failed or ended (err: -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, UV_EOF as
     * -EPIPE..., ERR_TLS_*; err_set() holds the text). Called once; call conn_close() next. */
    void (*on_error)(struct conn *c, int err);
    /* conn_close() finished: every handle is released and the struct may be reused. */
    void (*on_closed)(struct conn *c);
    /* A write completed and conn_writable() grew: send what was held back. May be NULL. */
    void (*on_drained)(struct conn *c);
};

struct conn_params {
    const char *host;                 /* name or address to resolve (copied) */
    uint16_t port;                    /* TCP port */
    bool tls;                         /* run TLS over TCP */
    const struct tls_config *tls_cfg; /* borrowed, required when tls */
    const char *tls_host;             /* name to verify (and SNI); NULL = host */
    uint32_t connect_timeout_ms;      /* DNS + TCP connect, all addresses together (DNS also
                                         ends at resolve_timeout_ms(): stuck) */
    uint32_t handshake_timeout_ms;    /* TLS handshake */
};

enum conn_phase {
    CONN_IDLE,       /* not started, or closed */
    CONN_RESOLVING,  /* name lookup in flight (net/resolve.c) */
    CONN_CONNECTING, /* uv_tcp_connect in flight */
    CONN_HANDSHAKE,  /* TLS handshake */
    CONN_READY,      /* reading and writing plaintext */
    CONN_FAILED,     /* on_error was called */
    CONN_CLOSING,    /* handles closing */
};

struct conn_ops; /* TCP or TLS behaviour */

/* Public fields are read-only for the owner; the rest are private. */
struct conn {
    uv_loop_t *loop;                 /* borrowed */
    const struct conn_callbacks *cb; /* borrowed */
    void *ud;                        /* public: owner's pointer */
    const struct conn_ops *ops;      /* TCP or TLS */
    struct conn_params p;            /* settings (host copied to host) */
    char host[256];                  /* name resolved */
    char tls_host[256];              /* name verified */
    enum conn_phase phase;           /* public */
    struct resolve_wait rw;          /* name lookup and its answer (rw.addr) */
    int ai_next;                     /* index of the next address in rw.addr to try */
    int kick_err;                    /* conn_start(): failure to report from the loop, or 0 */
    char kick_why[192];              /* its text */
    int64_t connect_by_ns;           /* CLOCK_MONOTONIC end of the connect timeout */
    uv_tcp_t tcp;                    /* the socket */
    uv_connect_t creq;               /* connect request */
    uv_timer_t timer;                /* connect / handshake deadline */
    uv_write_t wreq;                 /* the one write in flight */
    bool tcp_open, timer_open;       /* handles that need uv_close */
    bool retry_closing;              /* a socket that failed to connect is closing */
    bool writing;                    /* wreq in flight */
    int open_handles;                /* handles still closing */
    uint8_t *rbuf;                   /* read buffer, CONN_READ_CAP */
    uint8_t *wbuf[2];                /* write buffers, CONN_WRITE_CAP each */
    size_t wlen[2];                  /* fill of each */
    int wcur;                        /* buffer being filled; the other may be in flight */
    struct tls_session tls;          /* TLS state (TLS connections) */
    bool tls_init;                   /* tls needs fini */
    uint8_t *plain;                  /* TLS plaintext scratch, CONN_READ_CAP */
    uint64_t bytes_in, bytes_out;    /* public: wire bytes */
    int error;                       /* public: the error given to on_error, 0 if none */
};

/* Allocates the buffers. Returns 0 or -ENOMEM. */
int conn_init(struct conn *c, uv_loop_t *loop, const struct conn_callbacks *cb, void *ud);
/* Frees the buffers; only when phase is CONN_IDLE (never started, or on_closed came). */
void conn_fini(struct conn *c);

/* Starts resolving and connecting. Returns 0 (on_ready or on_error follows) or a negative code
 * if it cannot even start (bad parameters, TLS session init). */
int conn_start(struct conn *c, const struct conn_params *p);

/* Queues plaintext (encrypted first for TLS). Returns 0, -ENOBUFS (more than a write buffer is
 * waiting: the peer is not reading), -ENOTCONN, or the TLS error. */
int conn_write(struct conn *c, const void *data, size_t len);

/* Bytes queued but not yet handed to the kernel. */
size_t conn_pending(const struct conn *c);

/* How many plaintext bytes conn_write() accepts now without -ENOBUFS (TLS record overhead
 * already subtracted). Callers with more to send wait for on_drained. */
size_t conn_writable(const struct conn *c);

/* Closes everything; on_closed follows (always asynchronously). Safe in any phase, and from
 * inside any callback. With reset, a connected TCP socket is closed with RST. */
void conn_close(struct conn *c, bool reset);

/* Sends a TLS close_notify (if TLS) and shuts the write side down after pending data. */
void conn_shutdown(struct conn *c);

#endif /* MDF_NET_CONN_H */
