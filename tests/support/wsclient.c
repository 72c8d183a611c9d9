/*
 * Blocking test client (see wsclient.h): a non-blocking socket driven with poll() deadlines, the
 * project's tls_session for wss, ws_handshake for the upgrade and ws for framing, so the fake
 * venue is exercised by the same protocol code the daemon uses. Test code: allocation per
 * message is fine here.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "support/wsclient.h"

#define IO_BUF 65536

/* Monotonic ms. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. Returns 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int64_t left = deadline - now_ms();
        int r;

        if (left < 0)
            left = 0;
        r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Non-blocking TCP connect to 127.0.0.1:port with a deadline. Returns the fd or -errno. */
static int tcp_connect(int port, int64_t deadline)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0, one = 1;
    socklen_t el = sizeof(err);

    if (fd < 0)
        return -errno;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        err = -errno;
        close(fd);
        return err;
    }
    if ((err = wait_fd(fd, POLLOUT, deadline)) < 0) {
        close(fd);
        return err;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        close(fd);
        return -err;
    }
    return fd;
}

/* Writes all of d. Returns 0 or a negative errno. */
static int write_all(int fd, const uint8_t *d, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, d, n, MSG_NOSIGNAL);

        if (w > 0) {
            d += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            int r = wait_fd(fd, POLLOUT, deadline);

            if (r < 0)
                return r;
            continue;
        }
        return -errno;
    }
    return 0;
}

/* ---- WebSocket client ---- */

/* Sends plaintext (encrypting under TLS). */
static int send_plain(struct wsc *c, const uint8_t *d, size_t n)
{
    int64_t deadline = now_ms() + 10000;

    if (!c->tls_on)
        return write_all(c->fd, d, n, deadline);
    while (n) {
        ssize_t r = tls_write(&c->tls, d, n);
        size_t on;
        const uint8_t *o;
        int w;

        if (r < 0)
            return (int)r;
        d += r;
        n -= (size_t)r;
        o = tls_output(&c->tls, &on);
        w = write_all(c->fd, o, on, deadline);
        tls_output_consume(&c->tls, on);
        if (w < 0)
            return w;
    }
    return 0;
}

/* Sends the TLS session's pending ciphertext. */
static int send_tls_output(struct wsc *c)
{
    size_t on;
    const uint8_t *o = tls_output(&c->tls, &on);
    int w = write_all(c->fd, o, on, now_ms() + 10000);

    tls_output_consume(&c->tls, on);
    return w;
}

/* Sends every frame ws has queued (pongs, close replies, our messages). */
static int flush_ws(struct wsc *c)
{
    uint8_t buf[16384];

    while (c->ws_on && ws_want_write(&c->ws)) {
        size_t n = ws_output(&c->ws, buf, sizeof(buf));
        int r;

        if (!n)
            break;
        if (c->mute)
            continue;
        if ((r = send_plain(c, buf, n)) < 0)
            return r;
    }
    return 0;
}

/* Keeps plaintext for raw mode or the upgrade response. */
static void pt_append(struct wsc *c, const uint8_t *d, size_t n)
{
    if (c->pt_cap - c->pt_len < n) {
        while (c->pt_cap - c->pt_len < n)
            c->pt_cap = c->pt_cap ? c->pt_cap * 2 : IO_BUF;
        c->pt = realloc(c->pt, c->pt_cap);
        if (!c->pt)
            abort();
    }
    memcpy(c->pt + c->pt_len, d, n);
    c->pt_len += n;
}

/* Plaintext from the server. */
static void on_plain(struct wsc *c, const uint8_t *d, size_t n)
{
    int r;

    if (!c->ws_on || c->raw) {
        pt_append(c, d, n);
        return;
    }
    if (c->error)
        return;
    r = ws_feed(&c->ws, d, n);
    if (r < 0 && !c->error)
        c->error = r;
    flush_ws(c);
}

/* Reads once (waiting until deadline). Returns 0 when bytes were processed, -EPIPE at EOF,
 * -ETIMEDOUT, or an error. */
static int read_some(struct wsc *c, int64_t deadline)
{
    uint8_t buf[IO_BUF];
    ssize_t n;
    int r;

    if (c->eof)
        return -EPIPE;
    if ((r = wait_fd(c->fd, POLLIN, deadline)) < 0)
        return r;
    n = recv(c->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0) {
        r = -errno;
        if (!c->error)
            c->error = r;
        c->eof = true;
        return r;
    }
    if (n == 0) {
        c->eof = true;
        return -EPIPE;
    }
    c->bytes_in += (uint64_t)n;
    if (!c->tls_on) {
        on_plain(c, buf, (size_t)n);
        return 0;
    }
    for (size_t off = 0; off < (size_t)n;) {
        uint8_t pt[16384];
        ssize_t got;

        off += tls_feed(&c->tls, buf + off, (size_t)n - off);
        while ((got = tls_read(&c->tls, pt, sizeof(pt))) > 0)
            on_plain(c, pt, (size_t)got);
        send_tls_output(c);
        if (got == ERR_TLS_CLOSED) {
            c->eof = true;
            return -EPIPE;
        }
        if (got != -EAGAIN) {
            if (!c->error)
                c->error = (int)got;
            return (int)got;
        }
    }
    return 0;
}

/* Queues a copy of a whole message. */
static void cb_message(void *ud, bool text, const uint8_t *data, size_t len)
{
    struct wsc *c = ud;
    struct wsc_msg *m;

    if (c->q_len == c->q_cap) {
        struct wsc_msg *nq = calloc(c->q_cap ? c->q_cap * 2 : 64, sizeof(*nq));

        if (!nq)
            abort();
        for (size_t i = 0; i < c->q_len; i++)
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = nq;
        c->q_head = 0;
        c->q_cap = c->q_cap ? c->q_cap * 2 : 64;
    }
    m = &c->q[(c->q_head + c->q_len++) % c->q_cap];
    m->text = text;
    m->len = len;
    m->data = malloc(len + 1);
    if (!m->data)
        abort();
    memcpy(m->data, data, len);
    m->data[len] = '\0';
}

/* Counts pings (ws.h queued the pong). */
static void cb_ping(void *ud, const uint8_t *data, size_t len)
{
    ((struct wsc *)ud)->pings++;
}

/* Counts pongs. */
static void cb_pong(void *ud, const uint8_t *data, size_t len)
{
    ((struct wsc *)ud)->pongs++;
}

/* Records the server's close code. */
static void cb_close(void *ud, uint16_t code, const uint8_t *reason, size_t len)
{
    struct wsc *c = ud;

    c->close_received = true;
    c->close_code = code;
}

static const struct ws_callbacks CBS = {
    .on_message = cb_message,
    .on_ping = cb_ping,
    .on_pong = cb_pong,
    .on_close = cb_close,
};

/* Runs the TLS handshake. */
static int tls_start(struct wsc *c, const struct wsc_opts *o, const char *host, int64_t deadline)
{
    struct tls_config_params tp = {.server = false, .ca_file = o->ca_file};
    int r;

    if ((r = tls_config_init(&c->tcfg, &tp)) < 0)
        return r;
    c->tls_cfg_on = true;
    if ((r = tls_session_init_client(&c->tls, &c->tcfg, host)) < 0)
        return r;
    c->tls_on = true;
    for (;;) {
        uint8_t buf[IO_BUF];
        ssize_t n;

        r = tls_handshake(&c->tls);
        if (send_tls_output(c) < 0 && r == -EAGAIN)
            return -EPIPE;
        if (r != -EAGAIN)
            return r;
        if ((r = wait_fd(c->fd, POLLIN, deadline)) < 0)
            return r;
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return ERR_TLS_PROTO;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -errno;
        }
        c->bytes_in += (uint64_t)n;
        for (size_t off = 0; off < (size_t)n;) {
            size_t took = tls_feed(&c->tls, buf + off, (size_t)n - off);

            off += took;
            if (!took) {
                r = tls_handshake(&c->tls);
                send_tls_output(c);
                if (r != -EAGAIN && r != 0)
                    return r;
            }
        }
    }
}

/* See wsclient.h. */
int wsc_connect(struct wsc *c, int port, const char *path, const struct wsc_opts *o)
{
    static const struct wsc_opts none = {0};
    const char *host;
    char key[WS_KEY_LEN + 1], req[4096], hosthdr[300];
    struct ws_hs_response hs;
    struct ws_params wp = {.server = false};
    int64_t deadline;
    int r, n;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    o = o ? o : &none;
    host = o->host ? o->host : "localhost";
    deadline = now_ms() + (o->timeout_ms ? o->timeout_ms : 5000);
    c->raw = o->raw;
    if ((r = tcp_connect(port, deadline)) < 0)
        return r;
    c->fd = r;
    if (o->ca_file && (r = tls_start(c, o, host, deadline)) < 0)
        return r;
    if ((r = ws_hs_new_key(key)) < 0)
        return r;
    snprintf(hosthdr, sizeof(hosthdr), "%s:%d", host, port);
    n = ws_hs_request(req, sizeof(req), hosthdr, path, key);
    if (n < 0)
        return n;
    if ((r = send_plain(c, (const uint8_t *)req, (size_t)n)) < 0)
        return r;
    ws_hs_response_init(&hs, key, 0);
    for (;;) {
        ssize_t used;

        if (c->pt_len) {
            used = ws_hs_response_feed(&hs, (const char *)c->pt, c->pt_len);
            if (hs.status)
                c->http_status = hs.status; /* also set when the status refused the upgrade */
            if (used >= 0) {
                memmove(c->pt, c->pt + used, c->pt_len - (size_t)used);
                c->pt_len -= (size_t)used;
                break;
            }
            c->pt_len = 0;
            if (used != -EAGAIN)
                return (int)used;
        }
        if ((r = read_some(c, deadline)) < 0)
            return r == -EPIPE ? ERR_WS_HANDSHAKE : r;
    }
    c->http_status = 101;
    wp.max_message = o->max_message;
    if ((r = ws_init(&c->ws, &wp, &CBS, c)) < 0)
        return r;
    c->ws_on = true;
    if (!c->raw && c->pt_len) {
        uint8_t *left = c->pt;
        size_t len = c->pt_len;

        c->pt = NULL;
        c->pt_len = c->pt_cap = 0;
        on_plain(c, left, len);
        free(left);
    }
    return 0;
}

/* See wsclient.h; the senders queue a frame and write it at once. */
int wsc_send_text(struct wsc *c, const char *text)
{
    int r = ws_send_text(&c->ws, text, strlen(text));

    return r < 0 ? r : flush_ws(c);
}

/* See wsclient.h. */
int wsc_send(struct wsc *c, bool text, const void *data, size_t len)
{
    int r = text ? ws_send_text(&c->ws, data, len) : ws_send_binary(&c->ws, data, len);

    return r < 0 ? r : flush_ws(c);
}

/* See wsclient.h. */
int wsc_send_ping(struct wsc *c, const void *payload, size_t len)
{
    int r = ws_send_ping(&c->ws, payload, len);

    return r < 0 ? r : flush_ws(c);
}

/* See wsclient.h. */
int wsc_send_close(struct wsc *c, uint16_t code)
{
    int r = ws_send_close(&c->ws, code, NULL);

    return r < 0 ? r : flush_ws(c);
}

/* The error that ended the connection, if any. */
static int ended(const struct wsc *c)
{
    if (c->close_received)
        return ERR_WS_CLOSED;
    if (c->error)
        return c->error;
    if (c->eof)
        return -EPIPE;
    return 0;
}

/* See wsclient.h. */
int wsc_recv(struct wsc *c, int timeout_ms, const struct wsc_msg **m)
{
    int64_t deadline = now_ms() + timeout_ms;

    free(c->last.data);
    c->last.data = NULL;
    for (;;) {
        int r;

        if (c->q_len) {
            c->last = c->q[c->q_head];
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_len--;
            *m = &c->last;
            return 0;
        }
        if ((r = ended(c)) < 0)
            return r;
        r = read_some(c, deadline);
        if (r == -ETIMEDOUT)
            return r;
    }
}

/* See wsclient.h. */
int wsc_recv_text(struct wsc *c, int timeout_ms, char *buf, size_t cap)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        const struct wsc_msg *m;
        int64_t left = deadline - now_ms();
        int r = wsc_recv(c, left > 0 ? (int)left : 0, &m);

        if (r < 0)
            return r;
        if (!m->text)
            continue;
        snprintf(buf, cap, "%s", (const char *)m->data);
        return (int)m->len;
    }
}

/* See wsclient.h. */
int wsc_recv_raw(struct wsc *c, int timeout_ms, uint8_t *buf, size_t cap)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        int r;

        if (c->pt_len) {
            size_t n = c->pt_len < cap ? c->pt_len : cap;

            memcpy(buf, c->pt, n);
            memmove(c->pt, c->pt + n, c->pt_len - n);
            c->pt_len -= n;
            return (int)n;
        }
        r = read_some(c, deadline);
        if (r == -EPIPE)
            return 0;
        if (r < 0)
            return r;
    }
}

/* See wsclient.h. */
int wsc_pump(struct wsc *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        int r = ended(c);

        if (r < 0)
            return r;
        r = read_some(c, deadline);
        if (r == -ETIMEDOUT)
            return 0;
    }
}

/* See wsclient.h. */
void wsc_close(struct wsc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->ws_on)
        ws_fini(&c->ws);
    if (c->tls_on)
        tls_session_fini(&c->tls);
    if (c->tls_cfg_on)
        tls_config_fini(&c->tcfg);
    c->ws_on = c->tls_on = c->tls_cfg_on = false;
    for (size_t i = 0; i < c->q_len; i++)
        free(c->q[(c->q_head + i) % c->q_cap].data);
    free(c->q);
    free(c->last.data);
    free(c->pt);
    c->q = NULL;
    c->last.data = NULL;
    c->pt = NULL;
    c->q_len = c->pt_len = 0;
}

/* ---- HTTP ---- */

static int h_field(http_parser *p, const char *at, size_t len)
{
    struct wsc_http *h = p->data;
    char *name;
    size_t cur;

    if (h->in_value || h->nheaders == 0) {
        if (h->nheaders == WSC_HTTP_MAX_HEADERS)
            return 0;
        h->nheaders++;
        h->names[h->nheaders - 1][0] = '\0';
        h->values[h->nheaders - 1][0] = '\0';
    }
    h->in_value = false;
    name = h->names[h->nheaders - 1];
    cur = strlen(name);
    for (size_t i = 0; i < len && cur + 1 < sizeof(h->names[0]); i++)
        name[cur++] = (char)(at[i] >= 'A' && at[i] <= 'Z' ? at[i] + 32 : at[i]);
    name[cur] = '\0';
    return 0;
}

/* A header value piece. */
static int h_value(http_parser *p, const char *at, size_t len)
{
    struct wsc_http *h = p->data;
    char *v;
    size_t cur;

    h->in_value = true;
    if (!h->nheaders)
        return 0;
    v = h->values[h->nheaders - 1];
    cur = strlen(v);
    for (size_t i = 0; i < len && cur + 1 < sizeof(h->values[0]); i++)
        v[cur++] = at[i];
    v[cur] = '\0';
    return 0;
}

/* Headers complete: status and transfer encoding. */
static int h_headers_done(http_parser *p)
{
    struct wsc_http *h = p->data;

    h->chunked = (p->flags & F_CHUNKED) != 0;
    h->status = p->status_code;
    return 0;
}

/* A body piece (decoded from chunks when chunked). */
static int h_body(http_parser *p, const char *at, size_t len)
{
    struct wsc_http *h = p->data;

    if (h->body_cap - h->body_len < len + 1) {
        while (h->body_cap - h->body_len < len + 1)
            h->body_cap = h->body_cap ? h->body_cap * 2 : 4096;
        h->body = realloc(h->body, h->body_cap);
        if (!h->body)
            abort();
    }
    memcpy(h->body + h->body_len, at, len);
    h->body_len += len;
    h->body[h->body_len] = '\0';
    h->body_chunks++;
    return 0;
}

/* The response is complete. */
static int h_complete(http_parser *p)
{
    struct wsc_http *h = p->data;

    h->done = true;
    h->status = p->status_code;
    return 0;
}

static const http_parser_settings HTTP_SETTINGS = {
    .on_header_field = h_field,
    .on_header_value = h_value,
    .on_headers_complete = h_headers_done,
    .on_body = h_body,
    .on_message_complete = h_complete,
};

/* See wsclient.h. */
int wsc_http_open(struct wsc_http *h, int port, int timeout_ms)
{
    int fd;

    memset(h, 0, sizeof(*h));
    h->fd = -1;
    fd = tcp_connect(port, now_ms() + timeout_ms);
    if (fd < 0)
        return fd;
    h->fd = fd;
    return 0;
}

/* See wsclient.h. */
int wsc_http_send_get(struct wsc_http *h, const char *target)
{
    char req[4096];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);

    http_parser_init(&h->parser, HTTP_RESPONSE);
    h->parser.data = h;
    h->done = false;
    h->status = 0;
    h->nheaders = 0;
    h->in_value = false;
    h->chunked = false;
    h->body_chunks = 0;
    h->body_len = 0;
    if (h->body)
        h->body[0] = '\0';
    return write_all(h->fd, (const uint8_t *)req, (size_t)n, now_ms() + 5000);
}

/* See wsclient.h. */
int wsc_http_wait(struct wsc_http *h, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    while (!h->done) {
        char buf[IO_BUF];
        ssize_t n;
        int r;

        if (h->eof)
            return -EPIPE;
        if ((r = wait_fd(h->fd, POLLIN, deadline)) < 0)
            return r;
        n = recv(h->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            h->eof = true;
            http_parser_execute(&h->parser, &HTTP_SETTINGS, NULL, 0);
            return h->done ? 0 : -EPIPE;
        }
        if (http_parser_execute(&h->parser, &HTTP_SETTINGS, buf, (size_t)n) != (size_t)n ||
            HTTP_PARSER_ERRNO(&h->parser) != HPE_OK)
            return ERR_HTTP;
    }
    return 0;
}

/* See wsclient.h. */
const char *wsc_http_header(const struct wsc_http *h, const char *name)
{
    for (int i = 0; i < h->nheaders; i++)
        if (strcasecmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

/* See wsclient.h. */
void wsc_http_close(struct wsc_http *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    free(h->body);
    h->body = NULL;
    h->body_len = h->body_cap = 0;
}

/* See wsclient.h. */
int wsc_http_get(struct wsc_http *h, int port, const char *target, int timeout_ms)
{
    int r = wsc_http_open(h, port, timeout_ms);

    if (r < 0)
        return r;
    if ((r = wsc_http_send_get(h, target)) < 0)
        return r;
    return wsc_http_wait(h, timeout_ms);
}
