/*
 * A small blocking WebSocket (and HTTP GET) client for tests, built on the project's own
 * tls_session, ws and ws_handshake modules over a plain socket with poll() timeouts. One
 * connection per struct; one thread. Used by the fake venue's tests; the daemon's real client
 * is the asynchronous one in src/net/.
 *
 * Every call that waits takes a timeout in ms. Received messages are queued in order; pings are
 * answered automatically (unless `mute`), and counted.
 */
#ifndef MDF_TESTS_SUPPORT_WSCLIENT_H
#define MDF_TESTS_SUPPORT_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "tls/tls_session.h"
#include "ws/ws.h"
#include "ws/ws_handshake.h"

struct wsc_opts {
    const char *ca_file; /* wss: PEM file of trusted CAs; NULL = plain ws */
    const char *host;    /* name to verify and send as Host; NULL = "localhost" */
    size_t max_message;  /* largest message accepted; 0 = WS_DEFAULT_MAX_MESSAGE */
    int timeout_ms;      /* connect + TLS + upgrade; 0 = 5000 */
    bool raw;            /* after the upgrade, hand out raw bytes (wsc_recv_raw), no decoding */
};

/* One received message. */
struct wsc_msg {
    bool text;     /* text (else binary) */
    uint8_t *data; /* new, NUL-terminated for convenience */
    size_t len;    /* bytes, without the NUL */
};

struct wsc {
    int fd;                      /* the socket, -1 when closed */
    bool tls_on;                 /* wss */
    bool tls_cfg_on;             /* tcfg initialised */
    struct tls_config tcfg;      /* client TLS settings */
    struct tls_session tls;      /* the session */
    bool ws_on;                  /* ws initialised */
    struct ws ws;                /* WebSocket state */
    bool raw;                    /* raw mode (see wsc_opts) */
    bool mute;                   /* drop everything we would send (e.g. never pong) */
    uint8_t *pt;                 /* plaintext kept for raw mode or left after the upgrade */
    size_t pt_len, pt_cap;       /* its fill and size */
    struct wsc_msg *q;           /* received messages not yet taken (FIFO) */
    size_t q_head, q_len, q_cap; /* ring indices */
    struct wsc_msg last;         /* the message handed out by the last wsc_recv (owned here) */
    unsigned pings;              /* pings received */
    unsigned pongs;              /* pongs received */
    bool close_received;         /* the server's close frame arrived */
    uint16_t close_code;         /* its code (1005 when it had none) */
    bool eof;                    /* the server ended the TCP stream */
    int error;         /* first fatal error: ERR_WS_PROTO, -ECONNRESET, ERR_TLS_PROTO... */
    int http_status;   /* status of the upgrade response (0 before one arrived) */
    uint64_t bytes_in; /* bytes read from the socket (ciphertext under TLS) */
};

/*
 * Connects to 127.0.0.1:port, runs TLS when o->ca_file is set, and upgrades on path. Returns 0,
 * ERR_WS_HANDSHAKE (c->http_status has the status if one arrived), ERR_TLS_VERIFY,
 * ERR_TLS_PROTO, -ECONNREFUSED, -ETIMEDOUT or another negative errno. c must be freed with
 * wsc_close() whatever the result.
 */
int wsc_connect(struct wsc *c, int port, const char *path, const struct wsc_opts *o);

/* Sends a text message / ping / close (code 0: a close frame without code). Returns 0 or a
 * negative code. Sends nothing (and returns 0) when c->mute is set. */
int wsc_send_text(struct wsc *c, const char *text);
int wsc_send(struct wsc *c, bool text, const void *data, size_t len); /* text or binary */
int wsc_send_ping(struct wsc *c, const void *payload, size_t len);
int wsc_send_close(struct wsc *c, uint16_t code);

/*
 * Waits for the next message. Returns 0 and points *m at it (borrowed: valid until the next
 * wsc_recv or wsc_close); ERR_WS_CLOSED when the server's close frame arrived (c->close_code)
 * and no message is left; ERR_WS_PROTO when the server broke the protocol (our close frame,
 * ws_close_code_sent(&c->ws), went out); -ECONNRESET; -EPIPE when the stream ended without a
 * close frame; -ETIMEDOUT.
 */
int wsc_recv(struct wsc *c, int timeout_ms, const struct wsc_msg **m);

/* Same, for a text message copied NUL-terminated into buf (truncated to cap-1). Returns its
 * full length (>= 0) or one of wsc_recv()'s errors. Binary messages are skipped. */
int wsc_recv_text(struct wsc *c, int timeout_ms, char *buf, size_t cap);

/* Raw mode: waits for plaintext bytes after the upgrade. Returns the count (> 0), 0 at EOF,
 * -ECONNRESET, -ETIMEDOUT. */
int wsc_recv_raw(struct wsc *c, int timeout_ms, uint8_t *buf, size_t cap);

/* Reads and processes what arrives for timeout_ms (answers pings, queues messages). Returns 0,
 * or the error that ended the connection. */
int wsc_pump(struct wsc *c, int timeout_ms);

/* Closes the socket and frees everything. Safe on a failed or zeroed client. */
void wsc_close(struct wsc *c);

/* ---- HTTP/1.1 GET over plain TCP, keep-alive ---- */

#define WSC_HTTP_MAX_HEADERS 32

struct wsc_http {
    int fd;                                 /* the socket, -1 when closed */
    http_parser parser;                     /* response parser */
    bool done;                              /* the response is complete */
    int status;                             /* its status */
    char names[WSC_HTTP_MAX_HEADERS][64];   /* header names, lower case */
    char values[WSC_HTTP_MAX_HEADERS][256]; /* header values */
    int nheaders;                           /* headers stored */
    bool in_value;                          /* the parser is inside a header value */
    bool chunked;                           /* Transfer-Encoding: chunked was used */
    unsigned body_chunks;                   /* body callbacks (more than one for chunked bodies) */
    uint8_t *body;                          /* new, NUL-terminated */
    size_t body_len, body_cap;              /* its fill and size */
    bool eof;                               /* the server closed */
};

/* Connects to 127.0.0.1:port. Returns 0 or a negative errno. */
int wsc_http_open(struct wsc_http *h, int port, int timeout_ms);
/* Sends "GET target" and resets the response state. Returns 0 or a negative errno. */
int wsc_http_send_get(struct wsc_http *h, const char *target);
/* Waits for the whole response. Returns 0, -ETIMEDOUT (call again to keep waiting), -EPIPE
 * (closed before the end), ERR_HTTP (malformed). */
int wsc_http_wait(struct wsc_http *h, int timeout_ms);
/* The value of a response header (case-insensitive name), or NULL. Borrowed. */
const char *wsc_http_header(const struct wsc_http *h, const char *name);
void wsc_http_close(struct wsc_http *h);

/* One GET on a new connection: send, wait, leave the response in h (close with
 * wsc_http_close). Returns like wsc_http_wait() or wsc_http_open(). */
int wsc_http_get(struct wsc_http *h, int port, const char *target, int timeout_ms);

#endif /* MDF_TESTS_SUPPORT_WSCLIENT_H */
