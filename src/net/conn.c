/*
 * Byte-stream connections on libuv: DNS (net/resolve.c, off libuv's shared thread pool), TCP
 * connect with a deadline, every resolved address in turn, then the transport's own setup
 * (conn_tcp.c, conn_tls.c). Writes go through two fixed
 * buffers: one handed to uv_write while the other collects what is written meanwhile, so a
 * write never allocates and never waits.
 *
 * Closing follows libuv's rule that handle memory lives until its close callback: conn_close()
 * counts the handles still closing and calls on_closed after the last. A name lookup in flight
 * is abandoned, never waited for.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/conn_int.h"

int conn_init(struct conn *c, uv_loop_t *loop, const struct conn_callbacks *cb, void *ud)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->cb = cb;
    c->ud = ud;
    c->phase = CONN_IDLE;
    c->rbuf = malloc(CONN_READ_CAP);
    c->wbuf[0] = malloc(CONN_WRITE_CAP);
    c->wbuf[1] = malloc(CONN_WRITE_CAP);
    c->plain = malloc(CONN_READ_CAP);
    if (!c->rbuf || !c->wbuf[0] || !c->wbuf[1] || !c->plain) {
        conn_fini(c);
        return err_set(-ENOMEM, "out of memory for connection buffers");
    }
    return 0;
}

void conn_fini(struct conn *c)
{
    free(c->rbuf);
    free(c->wbuf[0]);
    free(c->wbuf[1]);
    free(c->plain);
    c->rbuf = c->plain = c->wbuf[0] = c->wbuf[1] = NULL;
}

/* Maps a libuv error to a negative errno and describes it. */
static int uv_err(struct conn *c, int status, const char *what)
{
    int code;

    switch (status) {
    case UV_ECONNREFUSED:
        code = -ECONNREFUSED;
        break;
    case UV_ECONNRESET:
        code = -ECONNRESET;
        break;
    case UV_ETIMEDOUT:
        code = -ETIMEDOUT;
        break;
    case UV_EOF:
        code = -EPIPE;
        break;
    case UV_ENETUNREACH:
        code = -ENETUNREACH;
        break;
    case UV_EHOSTUNREACH:
        code = -EHOSTUNREACH;
        break;
    case UV_EPIPE:
        code = -EPIPE;
        break;
    case UV_EADDRNOTAVAIL:
        code = -EADDRNOTAVAIL;
        break;
    default:
        code = status > -1000 ? status : -EIO; /* libuv codes are negated errnos on Linux */
        break;
    }
    if (status == UV_EOF)
        return err_set(code, "%s %s:%u: connection closed by the peer", what, c->host, c->p.port);
    return err_set(code, "%s %s:%u: %s", what, c->host, c->p.port, uv_strerror(status));
}

void conn_fail(struct conn *c, int err)
{
    if (c->phase == CONN_FAILED || c->phase == CONN_CLOSING || c->phase == CONN_IDLE)
        return;
    c->phase = CONN_FAILED;
    c->error = err;
    if (c->timer_open)
        uv_timer_stop(&c->timer);
    if (c->tcp_open)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->cb->on_error(c, err);
}

static void on_deadline(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->phase == CONN_RESOLVING) {
        int64_t now = clock_mono_ns(), waited;
        uint32_t left = resolve_remaining_ms(&c->rw);

        if (left > 0 && now < c->connect_by_ns) {
            /* Early by the loop's cached time: neither the lookup timeout nor the connect
             * timeout is reached yet. */
            int64_t cl = (c->connect_by_ns - now + 999999) / 1000000;

            uv_timer_start(&c->timer, on_deadline, (uint64_t)(cl < left ? cl : left), 0);
            return;
        }
        waited = resolve_gave_up(&c->rw);
        conn_fail(c, err_set(-ETIMEDOUT, "DNS lookup of %s: no answer after %" PRId64 " ms%s",
                             c->host, waited,
                             waited >= (int64_t)resolve_timeout_ms()
                                 ? " (stuck: the next attempts fail at once until it returns)"
                                 : ""));
        return;
    }
    if (c->phase == CONN_HANDSHAKE)
        conn_fail(c, err_set(-ETIMEDOUT, "TLS handshake with %s:%u timed out after %u ms", c->host,
                             c->p.port, c->p.handshake_timeout_ms));
    else
        conn_fail(c, err_set(-ETIMEDOUT, "connecting to %s:%u timed out after %u ms", c->host,
                             c->p.port, c->p.connect_timeout_ms));
}

void conn_deadline(struct conn *c, uint32_t ms)
{
    uv_timer_start(&c->timer, on_deadline, ms ? ms : 10000, 0);
}

void conn_set_ready(struct conn *c)
{
    uv_timer_stop(&c->timer);
    c->phase = CONN_READY;
    c->cb->on_ready(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;

    buf->base = (char *)c->rbuf;
    buf->len = CONN_READ_CAP;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    int rc;

    if (nread == 0)
        return; /* EAGAIN: not end of stream */
    if (c->phase != CONN_READY && c->phase != CONN_HANDSHAKE)
        return;
    if (nread < 0) {
        /* libuv reports a reset that arrives with POLLHUP after a partial read as EOF; the
         * socket's pending error tells the two apart. */
        if (nread == UV_EOF) {
            uv_os_fd_t fd;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);

            if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
                nread = -soerr;
        }
        conn_fail(c, uv_err(c, (int)nread, "connection to"));
        return;
    }
    c->bytes_in += (uint64_t)nread;
    rc = c->ops->on_read(c, (const uint8_t *)buf->base, (size_t)nread);
    if (rc < 0)
        conn_fail(c, rc);
}

static void start_write(struct conn *c);

static void on_written(uv_write_t *req, int status)
{
    struct conn *c = req->data;

    c->writing = false;
    c->wlen[c->wcur ^ 1] = 0;
    if (c->phase == CONN_CLOSING || c->phase == CONN_IDLE)
        return;
    if (status < 0) {
        conn_fail(c, uv_err(c, status, "writing to"));
        return;
    }
    if (c->wlen[c->wcur] > 0)
        start_write(c);
    if (c->cb->on_drained && c->phase == CONN_READY)
        c->cb->on_drained(c);
}

/* Hands the filling buffer to libuv and switches to the other one. */
static void start_write(struct conn *c)
{
    uv_buf_t b = uv_buf_init((char *)c->wbuf[c->wcur], (unsigned)c->wlen[c->wcur]);
    int rc;

    c->wreq.data = c;
    rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        conn_fail(c, uv_err(c, rc, "writing to"));
        return;
    }
    c->bytes_out += c->wlen[c->wcur];
    c->writing = true;
    c->wcur ^= 1;
    c->wlen[c->wcur] = 0;
}

int conn_wire_write(struct conn *c, const uint8_t *buf, size_t len)
{
    if (c->phase != CONN_READY && c->phase != CONN_HANDSHAKE)
        return -ENOTCONN;
    if (c->wlen[c->wcur] + len > CONN_WRITE_CAP)
        return err_set(-ENOBUFS, "%s:%u is not reading: %zu bytes waiting to be sent", c->host,
                       c->p.port, conn_pending(c) + len);
    memcpy(c->wbuf[c->wcur] + c->wlen[c->wcur], buf, len);
    c->wlen[c->wcur] += len;
    if (!c->writing)
        start_write(c);
    return 0;
}

size_t conn_pending(const struct conn *c)
{
    return c->wlen[c->wcur] + (c->writing ? c->wlen[c->wcur ^ 1] : 0);
}

size_t conn_writable(const struct conn *c)
{
    size_t room = CONN_WRITE_CAP - c->wlen[c->wcur], overhead;

    if (c->phase != CONN_READY)
        return 0;
    if (c->ops != &conn_tls_ops)
        return room;
    /* A TLS record adds at most a 5-byte header, an 8-byte explicit nonce and a 16-byte tag
     * (AEAD), or up to 64 bytes with CBC and HMAC: allow 64 per 16 KiB record, and one more. */
    overhead = (room / 16384 + 2) * 64;
    return room > overhead ? room - overhead : 0;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->phase != CONN_READY)
        return -ENOTCONN;
    return c->ops->write(c, data, len);
}

static void try_next_address(struct conn *c);
static void closed_one(struct conn *c);

/* A socket that failed to connect is closed; go on with the next address (or finish closing). */
static void on_retry_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    c->retry_closing = false;
    if (c->phase == CONN_CLOSING) {
        closed_one(c);
        return;
    }
    try_next_address(c);
}

/* Drops the socket that failed and tries the next address once it is closed. */
static void retry_next(struct conn *c)
{
    c->tcp_open = false;
    c->retry_closing = true;
    c->phase = CONN_CONNECTING;
    uv_close((uv_handle_t *)&c->tcp, on_retry_closed);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    int rc;

    if (c->phase != CONN_CONNECTING)
        return; /* closing: the request was cancelled */
    if (status < 0) {
        int err = uv_err(c, status, "connecting to"); /* kept as last error if none works */

        if (c->ai_next < c->rw.n_addr)
            retry_next(c);
        else
            conn_fail(c, err);
        return;
    }
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        conn_fail(c, uv_err(c, rc, "reading from"));
        return;
    }
    if (c->ops == &conn_tls_ops)
        c->phase = CONN_HANDSHAKE; /* TCP stays CONNECTING until conn_set_ready() */
    rc = c->ops->on_connected(c);
    if (rc < 0)
        conn_fail(c, rc);
}

static void try_next_address(struct conn *c)
{
    int i = c->ai_next;
    int rc;

    c->ai_next++;
    rc = uv_tcp_init(c->loop, &c->tcp);
    if (rc < 0) {
        conn_fail(c, uv_err(c, rc, "creating a socket for"));
        return;
    }
    c->tcp.data = c;
    c->tcp_open = true;
    uv_tcp_nodelay(&c->tcp, 1);
    c->creq.data = c;
    c->phase = CONN_CONNECTING;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->rw.addr[i], on_connected);
    if (rc < 0) {
        if (c->ai_next < c->rw.n_addr)
            retry_next(c);
        else
            conn_fail(c, uv_err(c, rc, "connecting to"));
    }
}

/* The name lookup answered (or failed). */
static void on_resolved(struct resolve_wait *w, int status)
{
    struct conn *c = w->data;
    int64_t left;

    if (c->phase != CONN_RESOLVING)
        return;
    if (status < 0) {
        conn_fail(c, status); /* resolve.c described it */
        return;
    }
    /* What is left of the connect timeout, which counted the lookup too. */
    left = (c->connect_by_ns - clock_mono_ns()) / 1000000;
    uv_timer_stop(&c->timer);
    conn_deadline(c, left > 0 ? (uint32_t)left : 1);
    c->ai_next = 0;
    try_next_address(c);
}

/* Goes on with what conn_start() found: the numeric address, or the failure. */
static void on_kick(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->phase != CONN_RESOLVING)
        return;
    if (c->kick_err < 0) {
        conn_fail(c, err_set(c->kick_err, "%s", c->kick_why));
        return;
    }
    conn_deadline(c, c->p.connect_timeout_ms);
    c->ai_next = 0;
    try_next_address(c);
}

int conn_start(struct conn *c, const struct conn_params *p)
{
    uint32_t ms;
    int rc;

    if (c->phase != CONN_IDLE)
        return err_set(-EBUSY, "connection already in use");
    if (!p->host || !*p->host || strlen(p->host) >= sizeof(c->host))
        return err_set(-EINVAL, "bad host name");
    c->p = *p;
    snprintf(c->host, sizeof(c->host), "%s", p->host);
    snprintf(c->tls_host, sizeof(c->tls_host), "%s", p->tls_host ? p->tls_host : p->host);
    c->p.host = c->host;
    c->p.tls_host = c->tls_host;
    c->ops = p->tls ? &conn_tls_ops : &conn_tcp_ops;
    c->error = 0;
    c->wlen[0] = c->wlen[1] = 0;
    c->wcur = 0;
    c->writing = false;
    c->ai_next = 0;
    rc = c->ops->start(c);
    if (rc < 0)
        return rc;
    rc = uv_timer_init(c->loop, &c->timer);
    if (rc < 0) {
        c->ops->fini(c);
        return err_set(-ENOMEM, "timer: %s", uv_strerror(rc));
    }
    c->timer.data = c;
    c->timer_open = true;
    c->phase = CONN_RESOLVING;
    c->rw.data = c;
    rc = resolve_start(&c->rw, c->loop, c->host, p->port, on_resolved);
    if (rc != 0) {
        /* A numeric address (no lookup), or a stuck lookup of this host that fails the attempt
         * at once: either way go on from the loop, so on_error never comes from in here. */
        c->kick_err = rc < 0 ? rc : 0;
        snprintf(c->kick_why, sizeof(c->kick_why), "%s", rc < 0 ? mdf_errmsg() : "");
        uv_timer_start(&c->timer, on_kick, 0, 0);
        return 0;
    }
    /* The deadline covers the lookup too, and ends it early when the lookup gets stuck. */
    ms = p->connect_timeout_ms ? p->connect_timeout_ms : 10000;
    c->connect_by_ns = clock_mono_ns() + (int64_t)ms * 1000000;
    if (resolve_remaining_ms(&c->rw) < ms)
        ms = resolve_remaining_ms(&c->rw) ? resolve_remaining_ms(&c->rw) : 1;
    conn_deadline(c, ms);
    return 0;
}

/* One handle or request finished closing; the last one completes conn_close(). */
static void closed_one(struct conn *c)
{
    if (--c->open_handles > 0)
        return;
    c->ops->fini(c);
    c->phase = CONN_IDLE;
    c->cb->on_closed(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void on_lookup_closed(uv_handle_t *h)
{
    struct resolve_wait *w = h->data;

    closed_one(w->data);
}

void conn_close(struct conn *c, bool reset)
{
    if (c->phase == CONN_IDLE || c->phase == CONN_CLOSING)
        return;
    c->phase = CONN_CLOSING;
    c->open_handles = 1; /* held until every close below is issued */
    if (resolve_close(&c->rw, on_lookup_closed))
        c->open_handles++; /* the lookup itself is abandoned: its thread frees it */
    if (c->retry_closing)
        c->open_handles++; /* on_retry_closed() will count it */
    if (c->tcp_open) {
        c->open_handles++;
        c->tcp_open = false;
        if (!reset || uv_tcp_close_reset(&c->tcp, on_handle_closed) < 0)
            uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    }
    if (c->timer_open) {
        c->open_handles++;
        c->timer_open = false;
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
    /* Drop the hold; the last close callback (or the cancelled DNS callback) finishes. */
    if (--c->open_handles == 0) {
        /* Nothing was open: still report asynchronously, through a fresh timer. */
        c->open_handles = 1;
        uv_timer_init(c->loop, &c->timer);
        c->timer.data = c;
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
}

void conn_shutdown(struct conn *c)
{
    if (c->phase == CONN_READY)
        c->ops->shutdown(c);
}
