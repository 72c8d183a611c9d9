/*
 * Error messages: a thread-local "last error" text set where an error starts and extended with
 * context as it propagates (mdf_errmsg() returns it), in the style of Aeron's error stack.
 */
#ifndef MDF_CORE_ERR_H
#define MDF_CORE_ERR_H

#include <errno.h>

#include <mdfeed/mdfeed.h>

/* Replaces the thread's message with the formatted text. Returns `code`, so callers can write
 * `return err_set(-EACCES, "...")`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the thread's message with "context: ". Returns `code`. */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the thread's message. */
void err_clear(void);

/* The daemon's own error codes (never returned by the public API), below the public MDF_E*
 * range. Every other negative code is an errno value. */
enum err_code {
    ERR_TLS_VERIFY = -2001,   /* the peer's certificate was refused (host, dates, chain) */
    ERR_TLS_PROTO = -2002,    /* TLS handshake or record failure (version, cipher, bad MAC) */
    ERR_TLS_CLOSED = -2003,   /* the peer sent close_notify */
    ERR_WS_HANDSHAKE = -2010, /* the HTTP upgrade was refused or malformed */
    ERR_WS_PROTO = -2011,     /* the peer broke the WebSocket protocol */
    ERR_WS_CLOSED = -2012,    /* the close handshake finished (or the peer sent close) */
    ERR_HTTP = -2020,         /* malformed HTTP response */
    ERR_HTTP_STATUS = -2021,  /* HTTP status outside 2xx */
    ERR_PONG_TIMEOUT = -2030, /* no pong (or any frame) within the pong timeout */
    ERR_TOO_BIG = -2031,      /* a message, header block or body over its configured limit */
    ERR_SHM_SPACE = -2040,    /* shared memory could not be backed: /dev/shm is full */
};

/* A short, stable name for any code this project returns: "tls-verify", "ETIMEDOUT", ...;
 * used in counters and logs. Never NULL. */
const char *err_name(int code);

#endif /* MDF_CORE_ERR_H */
