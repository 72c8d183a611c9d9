/*
 * Private to net/conn*.c: the ops table that makes a conn TCP or TLS, and the helpers the two
 * implementations call back into conn.c with.
 */
#ifndef MDF_NET_CONN_INT_H
#define MDF_NET_CONN_INT_H

#include "net/conn.h"

struct conn_ops {
    const char *name;
    /* Prepares the transport before connecting. Returns 0 or a negative code. */
    int (*start)(struct conn *c);
    /* TCP is connected: become ready (TCP) or begin the handshake (TLS). */
    int (*on_connected)(struct conn *c);
    /* Bytes arrived from the socket. Returns 0 or a negative code (the conn then fails). */
    int (*on_read)(struct conn *c, const uint8_t *buf, size_t len);
    /* Plaintext to send. Returns 0 or a negative code. */
    int (*write)(struct conn *c, const uint8_t *buf, size_t len);
    /* Sends a graceful end of stream (TLS close_notify); may do nothing. */
    void (*shutdown)(struct conn *c);
    /* Releases what start() made. */
    void (*fini)(struct conn *c);
};

extern const struct conn_ops conn_tcp_ops;
extern const struct conn_ops conn_tls_ops;

/* Queues wire bytes behind what is already queued and starts a write if none is in flight.
 * Returns 0, -ENOBUFS or -ENOTCONN. */
int conn_wire_write(struct conn *c, const uint8_t *buf, size_t len);

/* The stream is ready for plaintext: stops the deadline and calls on_ready. */
void conn_set_ready(struct conn *c);

/* Moves to CONN_FAILED and reports err once (err_set() must already describe it). */
void conn_fail(struct conn *c, int err);

/* Restarts the deadline timer for ms milliseconds. */
void conn_deadline(struct conn *c, uint32_t ms);

#endif /* MDF_NET_CONN_INT_H */
