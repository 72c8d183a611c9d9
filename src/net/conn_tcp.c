/*
 * Plain TCP connections: the socket's bytes are the plaintext. Used for ws:// and http:// on
 * loopback (tests and benchmarks).
 */
#include "net/conn_int.h"

static int tcp_start(struct conn *c)
{
    return 0;
}

static int tcp_on_connected(struct conn *c)
{
    conn_set_ready(c);
    return 0;
}

static int tcp_on_read(struct conn *c, const uint8_t *buf, size_t len)
{
    c->cb->on_data(c, buf, len);
    return 0;
}

static int tcp_write(struct conn *c, const uint8_t *buf, size_t len)
{
    return conn_wire_write(c, buf, len);
}

static void tcp_shutdown(struct conn *c)
{
}

static void tcp_fini(struct conn *c)
{
}

const struct conn_ops conn_tcp_ops = {
    .name = "tcp",
    .start = tcp_start,
    .on_connected = tcp_on_connected,
    .on_read = tcp_on_read,
    .write = tcp_write,
    .shutdown = tcp_shutdown,
    .fini = tcp_fini,
};
