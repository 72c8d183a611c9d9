/*
 * TLS connections: ciphertext from the socket is fed to the session, and after every read the
 * session is drained until it wants more, so no decrypted byte waits unseen for the next read
 * (the pending-data trap Redis' tls.c guards against).
 */
#include <errno.h>

#include "core/err.h"
#include "net/conn_int.h"

/* Hands every ciphertext byte the session produced to the socket (consuming may bring out
 * ciphertext mbedTLS still held, hence the loop). */
static int flush_tls(struct conn *c)
{
    const uint8_t *out;
    size_t len;
    int rc;

    for (;;) {
        out = tls_output(&c->tls, &len);
        if (len == 0)
            return 0;
        rc = conn_wire_write(c, out, len);
        if (rc < 0)
            return rc;
        tls_output_consume(&c->tls, len);
    }
}

static int tls_start(struct conn *c)
{
    int rc;

    if (!c->p.tls_cfg)
        return err_set(-EINVAL, "TLS connection to %s without a TLS configuration", c->host);
    rc = tls_session_init_client(&c->tls, c->p.tls_cfg, c->tls_host);
    if (rc < 0)
        return rc;
    c->tls_init = true;
    return 0;
}

/* Runs the handshake as far as the input allows. */
static int step_handshake(struct conn *c)
{
    int rc = tls_handshake(&c->tls);
    int frc = flush_tls(c);

    if (rc == 0) {
        if (frc < 0)
            return frc;
        conn_set_ready(c);
        return 0;
    }
    if (rc == -EAGAIN)
        return frc;
    return rc;
}

static int tls_on_connected(struct conn *c)
{
    conn_deadline(c, c->p.handshake_timeout_ms);
    return step_handshake(c);
}

static int tls_on_read(struct conn *c, const uint8_t *buf, size_t len)
{
    while (len > 0 || c->phase == CONN_HANDSHAKE) {
        size_t n = tls_feed(&c->tls, buf, len);

        buf += n;
        len -= n;
        if (c->phase == CONN_HANDSHAKE) {
            int rc = step_handshake(c);

            if (rc < 0)
                return rc;
            if (c->phase == CONN_HANDSHAKE) {
                if (len == 0)
                    return 0;
                continue;
            }
        }
        if (c->phase != CONN_READY)
            return 0; /* closed from inside on_ready */
        for (;;) {
            ssize_t got = tls_read(&c->tls, c->plain, CONN_READ_CAP);

            if (got == -EAGAIN)
                break;
            if (got < 0)
                return (int)got;
            c->cb->on_data(c, c->plain, (size_t)got);
            if (c->phase != CONN_READY)
                return 0; /* the owner closed us from on_data */
        }
        if (flush_tls(c) < 0)
            return -ENOBUFS;
    }
    return 0;
}

static int tls_write_plain(struct conn *c, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = tls_write(&c->tls, buf, len);
        int rc;

        if (n < 0)
            return (int)n;
        buf += n;
        len -= (size_t)n;
        rc = flush_tls(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void tls_shutdown_stream(struct conn *c)
{
    if (c->tls_init && c->phase == CONN_READY && tls_close_notify(&c->tls) == 0)
        flush_tls(c);
}

static void tls_fini_session(struct conn *c)
{
    if (c->tls_init) {
        tls_session_fini(&c->tls);
        c->tls_init = false;
    }
}

const struct conn_ops conn_tls_ops = {
    .name = "tls",
    .start = tls_start,
    .on_connected = tls_on_connected,
    .on_read = tls_on_read,
    .write = tls_write_plain,
    .shutdown = tls_shutdown_stream,
    .fini = tls_fini_session,
};
