/*
 * HTTP/1.1 GET over the same transport as the WebSockets (conn.h: TCP or TLS), for REST
 * snapshots: one request per connection, status, headers and body (Content-Length, chunked, or
 * until close), with a body size limit and an overall timeout. Responses are parsed with
 * libhttp-parser. Single-threaded (loop thread).
 *
 * A request runs IDLE -> RUNNING -> CLOSING -> DELIVER -> IDLE: when the outcome is known the
 * connection is closed first, and `done` runs from a zero-delay timer after the connection's
 * on_closed. So done is never called from inside http_get_start() or from inside a conn
 * callback, and the struct is fully idle (may be started again) when done runs.
 *
 * Memory: the body buffer is allocated once in http_get_init(); a request allocates nothing
 * of its own (libuv's DNS and mbedTLS do their own internal allocations).
 */
#ifndef MDF_NET_HTTP_H
#define MDF_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <uv.h>

#include "net/conn.h"
#include "net/url.h"
#include "tls/tls_session.h"

#define HTTP_MAX_HEADERS 32
#define HTTP_DEFAULT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_MAX_BODY (8u << 20)

struct http_header {
    char name[64];   /* lower-cased (longer names are cut) */
    char value[256]; /* as sent (longer values are cut) */
};

struct http_response {
    int status;                                   /* HTTP status */
    int nheaders;                                 /* headers kept (first HTTP_MAX_HEADERS) */
    struct http_header headers[HTTP_MAX_HEADERS]; /* in the order received */
    uint8_t *body;                                /* borrowed: valid during done only */
    size_t body_len;                              /* bytes in body */
};

/* Value of the first header called name (compared without case), or NULL. Borrowed from r. */
const char *http_response_header(const struct http_response *r, const char *name);

struct http_get;

/* The request finished: err 0 with a response (any status), or a negative code with err_set()
 * text and resp NULL: -ETIMEDOUT (the whole-request timeout), the transport's code and text
 * (-ECONNREFUSED, -EPIPE, ERR_TLS_VERIFY...; see conn.h), ERR_HTTP (malformed or truncated
 * response, the text names the parser's error), ERR_TOO_BIG (body over the limit) or
 * -ECANCELED (http_get_stop). resp is borrowed: valid until done returns or the struct is
 * started again, whichever comes first. Inside done the request may be started again, or
 * stopped. */
typedef void (*http_done_cb)(struct http_get *g, int err, const struct http_response *resp);

struct http_get_params {
    const char *url;              /* http:// or https:// (parsed and copied by start) */
    const struct tls_config *tls; /* borrowed, required for https; must outlive the request */
    uint32_t timeout_ms;          /* whole request, connect included; 0 = 10 s */
    size_t max_body;              /* body limit; 0 = the buffer size given to init, which
                                     is also the largest allowed */
};

enum http_state {
    HTTP_IDLE,    /* nothing in flight: may be started, stopped or finalized */
    HTTP_RUNNING, /* connecting, sending or receiving */
    HTTP_CLOSING, /* outcome known, waiting for the connection's on_closed */
    HTTP_DELIVER, /* connection closed, done scheduled on the zero-delay timer */
    HTTP_STOPPED, /* http_get_stop() is closing the timer */
};

/* Private except ud. */
struct http_get {
    uv_loop_t *loop;                     /* borrowed */
    void *ud;                            /* public: owner's pointer */
    enum http_state state;               /* where the current request is */
    struct conn conn;                    /* the transport, reused by every request */
    http_parser parser;                  /* response parser, re-initialized per request */
    http_parser_settings settings;       /* parser callbacks */
    struct url url;                      /* the request's parsed URL */
    struct http_get_params p;            /* the request's settings (url not kept: NULL) */
    size_t limit;                        /* the request's body limit */
    http_done_cb done;                   /* the request's completion callback */
    uv_timer_t timer;                    /* request deadline, then the zero-delay done */
    bool timer_open;                     /* timer initialized (first start or stop) */
    bool stopping;                       /* http_get_stop() called: no new starts */
    void (*stop_cb)(struct http_get *g); /* http_get_stop()'s callback */
    struct http_response resp;           /* the response being parsed */
    uint8_t *body;                       /* body buffer, allocated at init */
    size_t body_cap;                     /* its size */
    char field[64];                      /* header name being read (lower-cased, cut) */
    size_t field_len;                    /* bytes in field */
    bool in_value;                       /* the last header callback was a value */
    int cur_header;   /* index of the header whose value is being read, -1 none */
    size_t value_len; /* bytes in that header's value */
    bool complete;    /* the whole response was parsed */
    bool too_big;     /* the body went over the limit (err_set done) */
    bool got_bytes;   /* any response byte arrived */
    int result;       /* the outcome passed to done */
    char errmsg[512]; /* err_set() text of the outcome, restored before done */
};

/* Allocates the body buffer (max_body bytes; 0 = HTTP_DEFAULT_MAX_BODY) and the connection's
 * buffers. Returns 0 or -ENOMEM. Opens no handle. */
int http_get_init(struct http_get *g, uv_loop_t *loop, size_t max_body, void *ud);

/* Starts a GET; done follows exactly once, always later from the loop. Returns 0, -EBUSY (a
 * request is in flight or http_get_stop() was called), -EINVAL (bad URL, https without tls, or
 * max_body over the buffer) or the transport's start error, with err_set(); on an error done
 * is not called. */
int http_get_start(struct http_get *g, const struct http_get_params *p, http_done_cb done);

/* Cancels a request in flight (done is called with -ECANCELED, or with the outcome it already
 * had) and closes every handle; cb runs (always later from the loop) when the struct may be
 * finalized and freed. May be called from inside done. */
void http_get_stop(struct http_get *g, void (*cb)(struct http_get *g));

/* Frees the buffers: when never started, or after http_get_stop()'s cb. */
void http_get_fini(struct http_get *g);

#endif /* MDF_NET_HTTP_H */
