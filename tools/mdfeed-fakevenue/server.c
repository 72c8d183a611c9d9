/*
 * The listener and one connection: TLS, HTTP requests and the upgrade, WebSocket, the write
 * queue, per-connection deadlines and the ways a connection ends.
 *
 * Output path (see fv.h): plaintext is appended to stage_buf; peer_flush() moves it (encrypted
 * under TLS) to pend; one uv_write at a time drains pend through fly. Closing is a small state
 * machine: OPEN, CLOSE_WAIT (our close frame is out, the client's is awaited), FIN (FIN sent after
 * the queue drained; input is read and discarded until EOF so the kernel never turns our close
 * into an RST that could eat the close frame), CLOSED (uv_close called; memory is freed in the
 * last handle's close callback, as libuv requires).
 *
 * Also provides the fv_peer_* functions and fv_log() the conformance cases (cases.h) use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "fv.h"
#include "ws/ws_frame.h"

/* ---- small helpers ---- */

void fv_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* See fv.h: the loop's cached time, so deadlines computed in one callback agree. */
uint64_t fv_now_ms(const struct fv_server *s)
{
    return uv_now(s->loop);
}

/* See fv.h. */
int64_t fv_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See fv.h. */
void fv_stats_json(const struct fv_server *s, struct fv_buf *out)
{
    const struct fv_stats *t = &s->stats;

    fv_buf_printf(out,
                  "{\"conns\":%" PRIu64 ",\"upgrades\":%" PRIu64 ",\"refused\":%" PRIu64
                  ",\"msgs\":%" PRIu64 ",\"subscribed\":%" PRIu64 ",\"unsubscribed\":%" PRIu64
                  ",\"channels\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"infos\":%" PRIu64
                  ",\"snapshots\":%" PRIu64 ",\"book\":%" PRIu64 ",\"cs\":%" PRIu64
                  ",\"te\":%" PRIu64 ",\"tu\":%" PRIu64 ",\"ticker\":%" PRIu64
                  ",\"candles\":%" PRIu64 ",\"hb\":%" PRIu64 ",\"faults\":%" PRIu64 "}",
                  t->conns, t->upgrades, t->refused, t->msgs, t->subscribed, t->unsubscribed,
                  t->channels, t->errors, t->infos, t->snapshots, t->book, t->cs, t->te, t->tu,
                  t->ticker, t->candles, t->hb, t->faults);
}

/* malloc() for the control path: a fake venue out of memory has nothing better to do than
 * abort. */
void *fv_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        abort();
    return p;
}

/* calloc() that aborts when memory runs out. */
void *fv_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);

    if (!p)
        abort();
    return p;
}

unsigned fv_market_tick_ms(const struct fv_opts *o, unsigned max_ms)
{
    if (!o->market_max && o->market_rate > 0 && 1000.0 / o->market_rate < max_ms)
        return 1000.0 / o->market_rate < 1 ? 1 : (unsigned)(1000.0 / o->market_rate);
    return max_ms;
}

uint64_t fv_market_due(const struct fv_opts *o, struct fv_pace *p, uint64_t now_ms)
{
    double rate = o->market_rate;
    uint64_t due;

    if (!p->base_ms) {
        p->base_ms = now_ms;
        p->sent = 0;
    }
    due = (uint64_t)((double)(now_ms - p->base_ms) * rate / 1000.0);
    if (due > p->sent + (uint64_t)rate + 1)
        p->sent = due - (uint64_t)rate - 1; /* at most a second of backlog */
    if (o->market_events && due > (uint64_t)o->market_events)
        due = (uint64_t)o->market_events; /* the market has stopped */
    return due;
}

/* Copies n bytes of s into a new NUL-terminated string (aborts when memory runs out). */
char *fv_xstrndup(const char *s, size_t n)
{
    char *p = fv_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Makes room for extra more bytes, doubling the capacity (aborts when memory runs out). */
void fv_buf_reserve(struct fv_buf *b, size_t extra)
{
    size_t cap;

    if (b->cap - b->len >= extra)
        return;
    cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data)
        abort();
    b->cap = cap;
}

/* Appends n bytes. */
void fv_buf_append(struct fv_buf *b, const void *p, size_t n)
{
    if (!n)
        return;
    fv_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* See fv.h: formats straight into the buffer, growing it when the text does not fit. */
void fv_buf_printf(struct fv_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    fv_buf_reserve(b, 256);
    va_start(ap, fmt);
    n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        fv_buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Frees the bytes and zeroes the buffer. */
void fv_buf_free(struct fv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Removes the first n bytes. */
static void buf_consume(struct fv_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* Exchanges two buffers (no copy). */
static void buf_swap(struct fv_buf *a, struct fv_buf *b)
{
    struct fv_buf t = *a;

    *a = *b;
    *b = t;
}

/* ---- lifetime of a peer ---- */

static void on_write(uv_write_t *w, int status);
/* Our FIN went out: close at the client's EOF, or after a short linger. */
static void on_shutdown(uv_shutdown_t *req, int status);
static void ws_in(struct fv_peer *p, const uint8_t *data, size_t len);
static void http_process(struct fv_peer *p);
/* A peer deadline passed: close waits, linger, pong timeout, lifetime, serverShutdown,
 * pings. */
static void on_timer(uv_timer_t *t);

/* Frees a peer once both of its handles are closed. */
static void peer_free(struct fv_peer *p)
{
    struct fv_server *s = p->srv;

    if (p->prev)
        p->prev->next = p->next;
    else
        s->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->tls_on)
        tls_session_fini(&p->tls);
    if (p->ws_on)
        ws_fini(&p->ws);
    fv_buf_free(&p->in);
    fv_buf_free(&p->stage_buf);
    fv_buf_free(&p->pend);
    fv_buf_free(&p->fly);
    subs_fini(&p->subs);
    free(p->rl_times);
    free(p->rbuf);
    free(p);
}

/* Close callback of both handles of a peer: the second one frees it. */
static void on_handle_closed(uv_handle_t *h)
{
    struct fv_peer *p = h->data;

    if (--p->handles == 0)
        peer_free(p);
}

/* Closes the socket (with an RST when rst) and the timer; the peer is freed later. */
static void peer_close_now(struct fv_peer *p, bool rst)
{
    struct fv_case_run *r = p->crun;

    if (p->cstate == FV_CLOSED)
        return;
    p->cstate = FV_CLOSED;
    if (r) {
        p->crun = NULL;
        fv_case_on_disconnect(r);
    }
    rest_forget(p);
    if (p->kind == FV_KIND_VENUE && p->srv->o->proto->on_close)
        p->srv->o->proto->on_close(p);
    if (!rst || uv_tcp_close_reset(&p->tcp, on_handle_closed) < 0)
        uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&p->timer, on_handle_closed);
}

/* Logs "conn N closed REASON" once per connection. */
static void log_closed(struct fv_peer *p, const char *reason)
{
    if (reason && !p->closed_logged) {
        p->closed_logged = true;
        fv_log("conn %u closed %s", p->id, reason);
    }
}

/* See fv.h. FIN and RST wait for the queue to drain; a second call only upgrades a FIN
 * to an RST. */
void peer_drop(struct fv_peer *p, const char *reason, enum fv_drop how)
{
    uint64_t now;

    if (p->cstate == FV_CLOSED)
        return;
    log_closed(p, reason);
    if (how == FV_DROP_NOW) {
        peer_close_now(p, false);
        return;
    }
    if (p->cstate == FV_FIN && !(how == FV_DROP_RST && !p->want_rst))
        return;
    peer_flush(p);
    if (p->cstate == FV_CLOSED)
        return;
    if (how == FV_DROP_RST) {
        p->want_rst = true;
    } else {
        if (p->tls_on && p->tls_ok && !p->want_fin && tls_close_notify(&p->tls) == 0) {
            const uint8_t *o;
            size_t n;

            o = tls_output(&p->tls, &n);
            fv_buf_append(&p->pend, o, n);
            tls_output_consume(&p->tls, n);
        }
        p->want_fin = true;
    }
    p->cstate = FV_FIN;
    now = fv_now_ms(p->srv);
    /* An upper bound for draining and lingering, even when the client never reads. */
    p->linger_ms = now + 10000;
    peer_flush(p);
    if (p->cstate != FV_CLOSED)
        peer_arm_timer(p);
}

/* See fv.h. Without a usable WebSocket (or after a raw close) it falls back to a FIN. */
void peer_ws_close(struct fv_peer *p, uint16_t code, const char *reason)
{
    if (p->cstate != FV_OPEN)
        return;
    if (!p->ws_on || p->raw_close_sent || ws_send_close(&p->ws, code, NULL) < 0) {
        peer_drop(p, reason, FV_DROP_FIN);
        return;
    }
    log_closed(p, reason);
    p->cstate = FV_CLOSE_WAIT;
    p->close_wait_ms = fv_now_ms(p->srv) + FV_CLOSE_WAIT_MS;
    peer_flush(p);
    peer_arm_timer(p);
}

/* See fv.h. */
void peer_await_close(struct fv_peer *p, const char *reason)
{
    if (p->cstate != FV_OPEN)
        return;
    log_closed(p, reason);
    p->cstate = FV_CLOSE_WAIT;
    p->close_wait_ms = fv_now_ms(p->srv) + FV_CLOSE_WAIT_MS;
    peer_flush(p);
    peer_arm_timer(p);
}

/* See fv.h. */
void peer_raw_close(struct fv_peer *p, uint16_t code, const char *reason)
{
    uint8_t pl[2] = {(uint8_t)(code >> 8), (uint8_t)code};

    if (p->cstate != FV_OPEN)
        return;
    peer_frame(p, true, 0, 8, pl, code ? 2 : 0);
    peer_await_close(p, reason);
}

/* See fv.h. What was queued before still drains; nothing is read, written or timed after. */
void peer_freeze(struct fv_peer *p)
{
    peer_flush(p);
    p->frozen = true;
    uv_read_stop((uv_stream_t *)&p->tcp);
    uv_timer_stop(&p->timer);
    fv_log("conn %u stalled", p->id);
}

/* The client closed its side. */
static void peer_on_eof(struct fv_peer *p)
{
    p->eof_seen = true;
    if (p->cstate == FV_FIN) {
        if (p->fin_sent || (!p->writing && !p->pend.len))
            peer_close_now(p, false);
        return;
    }
    peer_drop(p, "peer", FV_DROP_FIN);
}

/* ---- output ---- */

void peer_append(struct fv_peer *p, const void *buf, size_t len)
{
    if (p->cstate != FV_CLOSED)
        fv_buf_append(&p->stage_buf, buf, len);
}

/* See fv.h. Encodes straight into the staging buffer: no copy through wslay. */
void peer_frame(struct fv_peer *p, bool fin, unsigned rsv, unsigned opcode, const void *payload,
                size_t len)
{
    size_t cap = ws_frame_header_len(len, false) + len;
    ssize_t n;

    if (p->cstate == FV_CLOSED)
        return;
    if (opcode == 8)
        p->raw_close_sent = true; /* wslay never learns of it: its close reply is dropped */
    fv_buf_reserve(&p->stage_buf, cap);
    n = ws_frame_encode(p->stage_buf.data + p->stage_buf.len, cap, fin, rsv, opcode, payload, len,
                        NULL);
    if (n > 0)
        p->stage_buf.len += (size_t)n;
}

/* See fv.h. */
void peer_send_text(struct fv_peer *p, const void *msg, size_t len)
{
    peer_frame(p, true, 0, 1, msg, len);
}

/* See fv.h. */
void peer_send_json(struct fv_peer *p, struct json_t *obj)
{
    char *txt = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (txt) {
        peer_send_text(p, txt, strlen(txt));
        free(txt);
    }
    json_decref(obj);
}

/* Moves wslay's queued frames (pongs, close replies) into the output, in order. */
static void ws_pump(struct fv_peer *p)
{
    while (p->ws_on && ws_want_write(&p->ws)) {
        size_t n;

        fv_buf_reserve(&p->stage_buf, 4096);
        n = ws_output(&p->ws, p->stage_buf.data + p->stage_buf.len,
                      p->stage_buf.cap - p->stage_buf.len);
        if (!n)
            break;
        if (!p->raw_close_sent)
            p->stage_buf.len += n;
    }
}

/* Moves the TLS session's ciphertext into the pending queue. */
static void tls_take_output(struct fv_peer *p)
{
    size_t n;
    const uint8_t *o = tls_output(&p->tls, &n);

    if (n) {
        fv_buf_append(&p->pend, o, n);
        tls_output_consume(&p->tls, n);
    }
}

/* See fv.h: staged, pending and in-flight bytes. */
size_t peer_unsent(const struct fv_peer *p)
{
    return p->stage_buf.len + p->pend.len + (p->fly.len - p->fly_off);
}

/* See fv.h. */
bool peer_live(const struct fv_peer *p)
{
    return p->stage == FV_ST_WS && p->cstate == FV_OPEN && !p->frozen && p->kind == FV_KIND_VENUE;
}

/* The queue is empty: FIN or RST if one was asked for. */
static void after_drain(struct fv_peer *p)
{
    if (p->want_rst) {
        peer_close_now(p, true);
        return;
    }
    if (p->want_fin && !p->fin_sent) {
        p->fin_sent = true;
        if (uv_shutdown(&p->sreq, (uv_stream_t *)&p->tcp, on_shutdown) < 0)
            peer_close_now(p, false);
    }
}

/* Starts the next uv_write if none is in flight. */
static void start_write(struct fv_peer *p)
{
    uv_buf_t b;
    size_t chunk;

    if (p->writing || p->cstate == FV_CLOSED)
        return;
    if (p->fly_off >= p->fly.len) {
        p->fly.len = p->fly_off = 0;
        if (!p->pend.len) {
            after_drain(p);
            return;
        }
        buf_swap(&p->fly, &p->pend);
    }
    chunk = p->fly.len - p->fly_off;
    if (p->faulted && p->srv->o->f.drip)
        chunk = 1;
    b = uv_buf_init((char *)p->fly.data + p->fly_off, (unsigned)chunk);
    p->wreq.data = p;
    if (uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, on_write) < 0) {
        peer_drop(p, "peer", FV_DROP_NOW);
        return;
    }
    p->writing = true;
    p->fly_chunk = chunk;
}

/* A write finished: start the next one and let the generators refill a drained peer. */
static void on_write(uv_write_t *w, int status)
{
    struct fv_peer *p = w->data;

    p->writing = false;
    if (p->cstate == FV_CLOSED)
        return;
    if (status < 0) {
        peer_drop(p, "peer", FV_DROP_NOW);
        return;
    }
    p->fly_off += p->fly_chunk;
    start_write(p);
    if (p->cstate != FV_CLOSED && peer_unsent(p) < FV_WATERMARK / 2) {
        replay_on_drain(p->srv);
        if (p->srv->o->proto->on_drain)
            p->srv->o->proto->on_drain(p->srv);
    }
}

/* Our FIN went out: close at the client's EOF, or after a short linger. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct fv_peer *p = req->handle->data;
    uint64_t until;

    if (p->cstate == FV_CLOSED)
        return;
    if (status < 0 || p->eof_seen) {
        peer_close_now(p, false);
        return;
    }
    until = fv_now_ms(p->srv) + FV_LINGER_MS;
    if (until < p->linger_ms)
        p->linger_ms = until;
    peer_arm_timer(p);
}

/* See fv.h. Drops a peer whose unsent output passes FV_HARD_LIMIT (a client that stopped
 * reading while data kept coming at a fixed rate). */
void peer_flush(struct fv_peer *p)
{
    struct fv_buf *st = &p->stage_buf;

    if (p->cstate == FV_CLOSED)
        return;
    ws_pump(p);
    if (p->frozen || p->want_fin || p->want_rst)
        st->len = 0; /* nothing new leaves after a stall, a FIN or an RST was decided */
    if (st->len && p->tls_on) {
        size_t off = 0;

        while (off < st->len) {
            ssize_t r = tls_write(&p->tls, st->data + off, st->len - off);

            if (r < 0) {
                st->len = 0;
                fprintf(stderr, "mdfeed-fakevenue: conn %u: %s\n", p->id, mdf_errmsg());
                peer_drop(p, "tls-error", FV_DROP_NOW);
                return;
            }
            off += (size_t)r;
            tls_take_output(p);
        }
        st->len = 0;
    } else if (st->len) {
        if (!p->pend.len)
            buf_swap(st, &p->pend);
        else
            fv_buf_append(&p->pend, st->data, st->len);
        st->len = 0;
    }
    if (peer_unsent(p) > FV_HARD_LIMIT) {
        peer_drop(p, "slow-consumer", FV_DROP_NOW);
        return;
    }
    start_write(p);
}

/* See fv.h. No close_notify under TLS: the cut is the point. */
void peer_send_half_then(struct fv_peer *p, const uint8_t *frame, size_t len, bool rst,
                         const char *reason)
{
    size_t half;

    peer_flush(p);
    if (p->cstate == FV_CLOSED)
        return;
    if (p->tls_on) {
        size_t n, off = 0;
        const uint8_t *o;

        /* The frame's own TLS record(s): everything before it is already out of the session. */
        while (off < len) {
            ssize_t r = tls_write(&p->tls, frame + off, len - off);

            if (r <= 0)
                break;
            off += (size_t)r;
            if (off < len)
                break; /* one record's worth is enough to cut in half */
        }
        o = tls_output(&p->tls, &n);
        half = n / 2 ? n / 2 : n;
        fv_buf_append(&p->pend, o, half);
        tls_output_consume(&p->tls, n);
    } else {
        half = len / 2 ? len / 2 : len;
        fv_buf_append(&p->pend, frame, half);
    }
    log_closed(p, reason);
    p->cstate = FV_FIN;
    if (rst)
        p->want_rst = true;
    else
        p->want_fin = true;
    p->linger_ms = fv_now_ms(p->srv) + 10000;
    start_write(p);
    if (p->cstate != FV_CLOSED)
        peer_arm_timer(p);
}

/* ---- HTTP ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 418:
        return "I'm a teapot";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* Logs the answered request and gets ready for the next one on this connection. */
void peer_http_finish(struct fv_peer *p, int status)
{
    fv_log("conn %u http %s %s %d", p->id, http_method_str((enum http_method)p->req.parser.method),
           p->req.target[0] ? p->req.target : "-", status);
    ws_hs_request_init(&p->req, 0);
}

/* Writes the status line and the common headers (the caller adds its own and the blank line). */
void peer_http_head(struct fv_peer *p, int status)
{
    char head[128];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: mdfeed-fakevenue\r\n", status,
                     status_text(status));

    peer_append(p, head, (size_t)n);
}

/* See fv.h. Always with Content-Length, so the connection stays usable (keep-alive). */
void peer_http_respond(struct fv_peer *p, int status, const char *ctype, const char *extra_headers,
                       const void *body, size_t len)
{
    char head[256];
    int n;

    peer_http_head(p, status);
    n = snprintf(head, sizeof(head), "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len);
    peer_append(p, head, (size_t)n);
    if (extra_headers)
        peer_append(p, extra_headers, strlen(extra_headers));
    peer_append(p, "\r\n", 2);
    peer_append(p, body, len);
    peer_http_finish(p, status);
}

/* See fv.h: parses requests that arrived while an answer was held. */
void peer_http_resume(struct fv_peer *p)
{
    if (p->cstate != FV_OPEN)
        return;
    p->stage = FV_ST_HTTP;
    http_process(p);
    peer_flush(p);
}

static const char *const ERR_404 = "{\"code\":-1,\"msg\":\"Not found.\"}";

/* ws callbacks */

/* Counts one client message (text, ping, pong) against --rate-limit; true when over it (the
 * connection is then being closed). */
static bool rate_hit(struct fv_peer *p)
{
    int n = p->srv->o->rate_limit;
    uint64_t now = fv_now_ms(p->srv);

    if (p->kind != FV_KIND_VENUE || n <= 0 || !p->rl_times)
        return false;
    if (p->cstate != FV_OPEN)
        return true;
    if (p->rl_n == (size_t)n && now - p->rl_times[p->rl_head] < 1000) {
        peer_ws_close(p, WS_CLOSE_POLICY, "rate-limit");
        return true;
    }
    p->rl_times[p->rl_head] = now;
    p->rl_head = (p->rl_head + 1) % (size_t)n;
    if (p->rl_n < (size_t)n)
        p->rl_n++;
    return false;
}

/* A whole message from the client: logged, counted against the rate limit, then handed to
 * the case or the venue module. */
static void cb_message(void *ud, bool text, const uint8_t *data, size_t len)
{
    struct fv_peer *p = ud;

    if (p->cstate == FV_CLOSED || p->cstate == FV_FIN)
        return;
    if (text) {
        char line[301];
        size_t n = len < 300 ? len : 300;

        for (size_t i = 0; i < n; i++)
            line[i] = data[i] < 0x20 || data[i] == 0x7f ? ' ' : (char)data[i];
        line[n] = '\0';
        fv_log("conn %u recv %s", p->id, line);
    } else {
        fv_log("conn %u recv-binary %zu", p->id, len);
    }
    if (p->kind == FV_KIND_CASE) {
        if (p->crun)
            fv_case_on_message(p->crun, text, data, len);
        return;
    }
    if (rate_hit(p) || p->cstate != FV_OPEN)
        return;
    if (text)
        p->srv->o->proto->on_text(p, data, len);
}

/* A client ping (ws.h already queued the pong); it counts against the rate limit. */
static void cb_ping(void *ud, const uint8_t *data, size_t len)
{
    struct fv_peer *p = ud;

    if (p->cstate == FV_CLOSED || p->cstate == FV_FIN)
        return;
    fv_log("conn %u ping-received", p->id);
    rate_hit(p);
}

/* A pong answers the ping whose payload it echoes, and every older one. */
static void cb_pong(void *ud, const uint8_t *data, size_t len)
{
    struct fv_peer *p = ud;
    char txt[32];
    uint64_t stamp;

    if (p->cstate == FV_CLOSED || p->cstate == FV_FIN)
        return;
    fv_log("conn %u pong", p->id);
    if (p->kind == FV_KIND_CASE) {
        if (p->crun)
            fv_case_on_pong(p->crun, data, len);
        return;
    }
    if (len == strlen(FV_FRAGMENT_PING) && memcmp(data, FV_FRAGMENT_PING, len) == 0)
        return; /* our own fault's ping: not the client's doing */
    if (rate_hit(p) || !len || len >= sizeof(txt))
        return;
    memcpy(txt, data, len);
    txt[len] = '\0';
    stamp = strtoull(txt, NULL, 10);
    for (size_t i = 0; i < p->ping_n; i++) {
        if (p->ping_stamp[i] != stamp)
            continue;
        memmove(p->ping_stamp, p->ping_stamp + i + 1, (p->ping_n - i - 1) * sizeof(uint64_t));
        memmove(p->ping_sent_at, p->ping_sent_at + i + 1, (p->ping_n - i - 1) * sizeof(uint64_t));
        p->ping_n -= i + 1;
        p->ping_unanswered_ms = p->ping_n ? p->ping_sent_at[0] : 0;
        peer_arm_timer(p);
        break;
    }
}

/* The client's close frame (ws.h queued the reply). */
static void cb_close(void *ud, uint16_t code, const uint8_t *reason, size_t len)
{
    struct fv_peer *p = ud;

    if (p->cstate == FV_CLOSED)
        return;
    fv_log("conn %u close-received %u", p->id, (unsigned)code);
    if (p->kind == FV_KIND_CASE && p->crun)
        fv_case_on_close(p->crun, code);
}

static const struct ws_callbacks WS_CBS = {
    .on_message = cb_message,
    .on_ping = cb_ping,
    .on_pong = cb_pong,
    .on_close = cb_close,
};

/* Feeds WebSocket bytes from the client. */
static void ws_in(struct fv_peer *p, const uint8_t *data, size_t len)
{
    int rc = ws_feed(&p->ws, data, len);

    if (p->cstate == FV_CLOSED)
        return;
    ws_pump(p);
    if (rc == ERR_WS_CLOSED) {
        peer_drop(p, "peer", FV_DROP_FIN);
    } else if (rc == ERR_WS_PROTO) {
        fprintf(stderr, "mdfeed-fakevenue: conn %u: %s\n", p->id, mdf_errmsg());
        peer_drop(p, "protocol", FV_DROP_FIN);
    } else if (rc < 0) {
        peer_drop(p, "error", FV_DROP_FIN);
    }
}

/* Sets the WebSocket deadlines of a venue connection. */
static void set_ws_deadlines(struct fv_peer *p)
{
    const struct fv_opts *o = p->srv->o;
    uint64_t now = fv_now_ms(p->srv);

    if (o->ping_interval > 0)
        p->next_ping_ms = now + (uint64_t)(o->ping_interval * 1000 + 0.5);
    if (o->lifetime > 0)
        p->lifetime_ms = p->opened_ms + (uint64_t)(o->lifetime * 1000 + 0.5);
    if ((o->proto->flags & FV_PROTO_NOTICE_FAULTED) && !p->faulted)
        return; /* the venue's notices are faults: only for --fault-conns connections */
    if (o->shutdown_after >= 0)
        p->shutdown_ms = p->opened_ms + (uint64_t)(o->shutdown_after * 1000 + 0.5);
    if (p->shutdown_ms == 0 && o->shutdown_after >= 0)
        p->shutdown_ms = 1;
}

/* A complete upgrade request: 101 and WebSocket, or an HTTP error before upgrading. */
static void upgrade(struct fv_peer *p)
{
    struct ws_hs_request *q = &p->req;
    struct ws_params wp = {.server = true, .max_message = 0};
    char resp[512], case_id[256] = "";
    const char *body = ERR_404;
    const uint8_t *rest;
    size_t rest_len;
    int n, st;

    if (!q->version13 || !q->key[0]) {
        static const char B[] = "{\"code\":-1,\"msg\":\"Bad WebSocket upgrade.\"}";

        peer_http_respond(p, 400, "application/json", NULL, B, sizeof(B) - 1);
        return;
    }
    if (strncmp(q->target, "/case/", 6) == 0) {
        size_t len = strcspn(q->target + 6, "?");

        if (len < sizeof(case_id))
            memcpy(case_id, q->target + 6, len), case_id[len] = '\0';
        if (!case_id[0] || !fv_case_exists(case_id)) {
            peer_http_respond(p, 404, "application/json", NULL, body, strlen(body));
            return;
        }
        p->kind = FV_KIND_CASE;
        wp.max_message = FV_CASE_MAX_MESSAGE;
    } else {
        st = p->srv->o->proto->on_upgrade(p, q->target, &body);
        if (st) {
            peer_http_respond(p, st, "application/json", NULL, body, strlen(body));
            return;
        }
        p->kind = FV_KIND_VENUE;
    }
    if (ws_init(&p->ws, &wp, &WS_CBS, p) < 0) {
        static const char B[] = "{\"code\":-1,\"msg\":\"Out of memory.\"}";

        p->kind = FV_KIND_HTTP;
        peer_http_respond(p, 500, "application/json", NULL, B, sizeof(B) - 1);
        return;
    }
    p->ws_on = true;
    n = ws_hs_response_101(resp, sizeof(resp), q->key);
    if (n > 0)
        peer_append(p, resp, (size_t)n);
    fv_log("conn %u upgrade %s", p->id, q->target);
    p->stage = FV_ST_WS;
    if (p->kind == FV_KIND_CASE) {
        p->crun = fv_case_start(p, case_id);
        if (!p->crun) {
            peer_drop(p, "no-case", FV_DROP_FIN);
            return;
        }
    } else {
        p->srv->stats.upgrades++;
        set_ws_deadlines(p);
        if (p->srv->o->proto->on_open)
            p->srv->o->proto->on_open(p);
        fault_after_upgrade(p);
        if (p->cstate == FV_CLOSED)
            return;
    }
    peer_arm_timer(p);
    /* Bytes after the request are already WebSocket frames. */
    rest = p->in.data;
    rest_len = p->in.len;
    p->in.len = 0;
    if (rest_len && p->cstate != FV_CLOSED && !p->frozen)
        ws_in(p, rest, rest_len);
}

/* A complete request in p->req. */
static void http_request(struct fv_peer *p)
{
    struct ws_hs_request *q = &p->req;

    if (p->faulted && p->srv->o->f.no_upgrade) {
        fv_log("conn %u ignoring request %s", p->id, q->target);
        p->stage = FV_ST_IGNORE;
        p->in.len = 0;
        return;
    }
    if (!q->is_get) {
        static const char B[] = "{\"code\":-1,\"msg\":\"Only GET is served.\"}";

        peer_http_respond(p, 405, "application/json", "Allow: GET\r\n", B, sizeof(B) - 1);
        return;
    }
    if (q->upgrade) {
        upgrade(p);
        return;
    }
    rest_handle(p);
}

/* Parses requests out of p->in while the connection is reading HTTP. */
static void http_process(struct fv_peer *p)
{
    while (p->stage == FV_ST_HTTP && p->cstate == FV_OPEN && p->in.len > 0) {
        ssize_t r = ws_hs_request_feed(&p->req, (const char *)p->in.data, p->in.len);

        if (r == -EAGAIN) {
            p->in.len = 0;
            return;
        }
        if (r < 0) {
            static const char B[] = "{\"code\":-1,\"msg\":\"Malformed request.\"}";

            fprintf(stderr, "mdfeed-fakevenue: conn %u: %s\n", p->id, mdf_errmsg());
            p->in.len = 0;
            peer_http_respond(p, r == ERR_TOO_BIG ? 431 : 400, "application/json", NULL, B,
                              sizeof(B) - 1);
            peer_drop(p, "bad-request", FV_DROP_FIN);
            return;
        }
        buf_consume(&p->in, (size_t)r);
        http_request(p);
    }
}

/* Plaintext from the client, by stage. */
static void plain_in(struct fv_peer *p, const uint8_t *data, size_t len)
{
    switch (p->stage) {
    case FV_ST_HTTP:
        if (p->cstate != FV_OPEN)
            return;
        fv_buf_append(&p->in, data, len);
        http_process(p);
        break;
    case FV_ST_HELD:
        if (p->cstate != FV_OPEN)
            return;
        if (p->in.len + len > FV_MAX_HELD_INPUT) {
            peer_drop(p, "http-overflow", FV_DROP_FIN);
            return;
        }
        fv_buf_append(&p->in, data, len);
        break;
    case FV_ST_WS:
        ws_in(p, data, len);
        break;
    case FV_ST_TLS:
    case FV_ST_IGNORE:
        break;
    }
}

/* ---- TLS ---- */

/* Advances the handshake, then decrypts everything available. Returns -1 when the peer went. */
static int tls_pump(struct fv_peer *p)
{
    struct fv_server *s = p->srv;

    if (!p->tls_ok) {
        int rc = tls_handshake(&p->tls);

        tls_take_output(p);
        if (rc == -EAGAIN) {
            start_write(p);
            return 0;
        }
        if (rc < 0) {
            fprintf(stderr, "mdfeed-fakevenue: conn %u: TLS handshake: %s\n", p->id, mdf_errmsg());
            p->tls_ok = false;
            peer_drop(p, "tls-error", FV_DROP_FIN);
            return -1;
        }
        p->tls_ok = true;
        p->stage = FV_ST_HTTP;
        fv_log("conn %u tls-established", p->id);
    }
    for (;;) {
        ssize_t r = tls_read(&p->tls, s->tlsbuf, sizeof(s->tlsbuf));

        if (r > 0) {
            plain_in(p, s->tlsbuf, (size_t)r);
            if (p->cstate == FV_CLOSED || p->frozen)
                return -1;
            continue;
        }
        if (r == -EAGAIN)
            break;
        if (r == ERR_TLS_CLOSED) {
            tls_take_output(p);
            peer_on_eof(p);
            return -1;
        }
        fprintf(stderr, "mdfeed-fakevenue: conn %u: TLS: %s\n", p->id, mdf_errmsg());
        peer_drop(p, "tls-error", FV_DROP_NOW);
        return -1;
    }
    tls_take_output(p);
    return 0;
}

/* Ciphertext from the network. */
static void tls_in(struct fv_peer *p, const uint8_t *data, size_t len)
{
    size_t off = 0;

    while (off < len && p->cstate != FV_CLOSED) {
        size_t took = tls_feed(&p->tls, data + off, len - off);

        off += took;
        if (tls_pump(p) < 0)
            return;
        if (!took && off < len) {
            peer_drop(p, "tls-error", FV_DROP_NOW);
            return;
        }
    }
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct fv_peer *p = h->data;

    *b = uv_buf_init((char *)p->rbuf, FV_READ_BUF);
}

/* Bytes from the socket: through TLS if any, then by stage; output is flushed once per read. */
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct fv_peer *p = st->data;

    if (p->cstate == FV_CLOSED || n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF)
            peer_on_eof(p);
        else
            peer_drop(p, "peer", FV_DROP_NOW);
        return;
    }
    if (p->tls_on)
        tls_in(p, p->rbuf, (size_t)n);
    else
        plain_in(p, p->rbuf, (size_t)n);
    if (p->cstate != FV_CLOSED)
        peer_flush(p);
}

/* ---- deadlines ---- */

/* Sends a server ping whose payload is the wall-clock time in ms. */
static void send_ping(struct fv_peer *p)
{
    uint64_t now = fv_now_ms(p->srv);
    uint64_t stamp = (uint64_t)fv_wall_ms();
    char txt[32];
    int n;

    if (p->ping_n && stamp <= p->ping_stamp[p->ping_n - 1])
        stamp = p->ping_stamp[p->ping_n - 1] + 1; /* payloads stay unique */
    n = snprintf(txt, sizeof(txt), "%" PRIu64, stamp);
    if (ws_send_ping(&p->ws, txt, (size_t)n) < 0)
        return;
    if (p->ping_n == FV_PING_SLOTS) {
        memmove(p->ping_stamp, p->ping_stamp + 1, (FV_PING_SLOTS - 1) * sizeof(uint64_t));
        memmove(p->ping_sent_at, p->ping_sent_at + 1, (FV_PING_SLOTS - 1) * sizeof(uint64_t));
        p->ping_n--;
    }
    p->ping_stamp[p->ping_n] = stamp;
    p->ping_sent_at[p->ping_n++] = now;
    if (!p->ping_unanswered_ms)
        p->ping_unanswered_ms = now;
    fv_log("conn %u ping-sent", p->id);
}

/* Returns the earlier of two deadlines, 0 meaning none. */
static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* See fv.h: one timer per peer, set for the earliest deadline of its state. */
void peer_arm_timer(struct fv_peer *p)
{
    const struct fv_opts *o = p->srv->o;
    uint64_t now = fv_now_ms(p->srv), at = 0;

    if (p->cstate == FV_CLOSED)
        return;
    if (p->frozen) {
        uv_timer_stop(&p->timer);
        return;
    }
    if (p->cstate == FV_FIN) {
        at = p->linger_ms;
    } else if (p->cstate == FV_CLOSE_WAIT) {
        at = p->close_wait_ms;
    } else if (p->stage == FV_ST_WS && p->kind != FV_KIND_CASE) {
        at = earliest(at, p->next_ping_ms);
        at = earliest(at, p->lifetime_ms);
        at = earliest(at, p->shutdown_ms);
        at = earliest(at, p->shutdown_close_ms);
        at = earliest(at, p->venue_ms);
        if (p->ping_unanswered_ms && o->pong_timeout > 0)
            at = earliest(at, p->ping_unanswered_ms + (uint64_t)(o->pong_timeout * 1000 + 0.5));
    }
    if (!at) {
        uv_timer_stop(&p->timer);
        return;
    }
    uv_timer_start(&p->timer, on_timer, at > now ? at - now : 0, 0);
}

/* A peer deadline passed: close waits, linger, pong timeout, lifetime, serverShutdown,
 * pings. */
static void on_timer(uv_timer_t *t)
{
    struct fv_peer *p = t->data;
    const struct fv_opts *o = p->srv->o;
    uint64_t now = fv_now_ms(p->srv);

    if (p->cstate == FV_CLOSED || p->frozen)
        return;
    if (p->cstate == FV_FIN) {
        if (now >= p->linger_ms) {
            peer_close_now(p, false);
            return;
        }
    } else if (p->cstate == FV_CLOSE_WAIT) {
        if (now >= p->close_wait_ms) {
            peer_drop(p, NULL, FV_DROP_FIN);
            return;
        }
    } else if (p->stage == FV_ST_WS && p->kind != FV_KIND_CASE) {
        if (p->ping_unanswered_ms && o->pong_timeout > 0 &&
            now >= p->ping_unanswered_ms + (uint64_t)(o->pong_timeout * 1000 + 0.5)) {
            peer_drop(p, "pong-timeout", FV_DROP_FIN);
            return;
        }
        if (p->lifetime_ms && now >= p->lifetime_ms) {
            p->lifetime_ms = 0;
            peer_ws_close(p, WS_CLOSE_NORMAL, "lifetime");
            return;
        }
        if (p->shutdown_close_ms && now >= p->shutdown_close_ms) {
            p->shutdown_close_ms = 0;
            peer_ws_close(p, WS_CLOSE_GOING_AWAY, "shutdown");
            return;
        }
        if (p->shutdown_ms && now >= p->shutdown_ms) {
            p->shutdown_ms = 0;
            if (o->proto->send_shutdown)
                o->proto->send_shutdown(p);
            p->shutdown_close_ms = now + (uint64_t)(o->shutdown_grace * 1000 + 0.5);
            if (!p->shutdown_close_ms)
                p->shutdown_close_ms = 1;
        }
        if (p->venue_ms && now >= p->venue_ms) {
            p->venue_ms = 0;
            if (o->proto->on_deadline)
                o->proto->on_deadline(p, now);
        }
        if (p->next_ping_ms && now >= p->next_ping_ms) {
            send_ping(p);
            p->next_ping_ms = now + (uint64_t)(o->ping_interval * 1000 + 0.5);
        }
        peer_flush(p);
    }
    peer_arm_timer(p);
}

/* ---- accepting ---- */

static void on_connection(uv_stream_t *l, int status)
{
    struct fv_server *s = l->data;
    const struct fv_opts *o = s->o;
    struct fv_peer *p;

    if (status < 0 || s->stopping)
        return;
    p = fv_xcalloc(1, sizeof(*p));
    p->srv = s;
    p->held_snap = -1;
    p->stage = FV_ST_HTTP;
    uv_tcp_init(s->loop, &p->tcp);
    uv_timer_init(s->loop, &p->timer);
    p->tcp.data = p;
    p->timer.data = p;
    p->handles = 2;
    p->next = s->peers;
    if (s->peers)
        s->peers->prev = p;
    s->peers = p;
    if (uv_accept(l, (uv_stream_t *)&p->tcp) < 0) {
        peer_close_now(p, false);
        return;
    }
    p->id = ++s->next_id;
    s->stats.conns++;
    p->faulted = o->f.conns < 0 || (long)p->id <= o->f.conns;
    p->opened_ms = fv_now_ms(s);
    p->rbuf = fv_xmalloc(FV_READ_BUF);
    p->syn.rng = o->seed ^ ((uint64_t)p->id * 0x9e3779b97f4a7c15ull);
    if (!p->syn.rng)
        p->syn.rng = 1;
    if (o->rate_limit > 0)
        p->rl_times = fv_xcalloc((size_t)o->rate_limit, sizeof(uint64_t));
    ws_hs_request_init(&p->req, 0);
    uv_tcp_nodelay(&p->tcp, 1);
    fv_log("conn %u open", p->id);
    if (s->tls_on) {
        if (tls_session_init_server(&p->tls, &s->tls) < 0) {
            fprintf(stderr, "mdfeed-fakevenue: conn %u: %s\n", p->id, mdf_errmsg());
            peer_drop(p, "tls-error", FV_DROP_NOW);
            return;
        }
        p->tls_on = true;
        p->stage = FV_ST_TLS;
    }
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) < 0)
        peer_drop(p, "peer", FV_DROP_NOW);
}

/* ---- start and stop ---- */

static void on_static_closed(uv_handle_t *h)
{
    (void)h;
}

/* SIGTERM/SIGINT: close everything so the loop ends and main() frees the rest. */
static void server_stop(struct fv_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    uv_close((uv_handle_t *)&s->listener, on_static_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_static_closed);
    uv_close((uv_handle_t *)&s->sigint, on_static_closed);
    replay_stop(s);
    rest_stop(s);
    if (s->o->proto->stop)
        s->o->proto->stop(s);
    {
        struct fv_buf b = {0};

        fv_stats_json(s, &b);
        fv_log("stats %.*s", (int)b.len, (const char *)b.data);
        fv_buf_free(&b);
    }
    for (struct fv_peer *p = s->peers; p; p = p->next) {
        if (p->cstate == FV_CLOSED)
            continue;
        /* Best effort: a going-away close frame, written now if the socket takes it. */
        if (p->stage == FV_ST_WS && p->cstate == FV_OPEN && !p->frozen && !p->raw_close_sent &&
            ws_send_close(&p->ws, WS_CLOSE_GOING_AWAY, NULL) == 0)
            peer_flush(p);
        if (p->cstate == FV_CLOSED)
            continue;
        log_closed(p, "exit");
        peer_close_now(p, false);
    }
}

/* SIGTERM or SIGINT. */
static void on_signal(uv_signal_t *h, int signum)
{
    server_stop(h->data);
}

/* Loads the TLS files, binds and listens, installs the signal handlers and prints the
 * "listening" line. Returns 0 or a negative code with a message on stderr. */
int server_start(struct fv_server *s, uv_loop_t *loop, const struct fv_opts *o)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;
    char name[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    s->loop = loop;
    s->o = o;
    if (o->tls_cert) {
        struct tls_config_params tp = {
            .server = true,
            .cert_file = o->tls_cert,
            .key_file = o->tls_key,
            .tls11_only = o->tls11_only,
        };

        rc = tls_config_init(&s->tls, &tp);
        if (rc < 0) {
            fprintf(stderr, "mdfeed-fakevenue: TLS: %s\n", mdf_errmsg());
            return rc;
        }
        s->tls_on = true;
    }
    if (strchr(o->listen, ':'))
        rc = uv_ip6_addr(o->listen, o->port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(o->listen, o->port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        fprintf(stderr, "mdfeed-fakevenue: bad address %s\n", o->listen);
        return rc;
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc < 0) {
        fprintf(stderr, "mdfeed-fakevenue: listen on %s port %d: %s\n", o->listen, o->port,
                uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, on_static_closed);
        return rc;
    }
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, name, sizeof(name));
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, name, sizeof(name));
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    uv_signal_init(loop, &s->sigterm);
    uv_signal_init(loop, &s->sigint);
    s->sigterm.data = s;
    s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    fv_log("listening %s %s %d", s->tls_on ? "wss" : "ws", name, port);
    return 0;
}

/* After the loop ended. */
void server_fini(struct fv_server *s)
{
    if (s->tls_on)
        tls_config_fini(&s->tls);
    s->tls_on = false;
    free(s->conn_times);
    s->conn_times = NULL;
}

/* ---- the conformance cases' view of a connection (cases.h) ---- */

void fv_peer_send_raw(struct fv_peer *p, const void *buf, size_t len)
{
    peer_append(p, buf, len);
    peer_flush(p);
}

/* See cases.h. */
void fv_peer_send_frame(struct fv_peer *p, bool fin, unsigned rsv, unsigned opcode,
                        const void *payload, size_t len)
{
    peer_frame(p, fin, rsv, opcode, payload, len);
    peer_flush(p);
}

/* See cases.h. */
void fv_peer_shutdown(struct fv_peer *p)
{
    peer_flush(p);
    peer_drop(p, "case-done", FV_DROP_FIN);
}
