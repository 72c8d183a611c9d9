/*
 * A WebSocket connection that stays up. One attempt is conn (DNS, TCP, TLS) -> upgrade ->
 * framing; any failure ends the attempt, counts it, and schedules the next by the backoff
 * schedule until the attempt limit (FAILED). Teardown always goes through conn_close() and its
 * asynchronous on_closed, so per-attempt state (ws, the upgrade parser) is released only when
 * no callback of the old attempt can run any more, even if the owner stops or reconnects from
 * inside on_message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/wsconn.h"

#define WSOUT_CAP (64 * 1024)     /* frames serialized per conn_write */
#define WSC_MAX_QUEUED (4u << 20) /* unsent message bytes before sends are refused */

static const char *const state_names[WSC_NSTATES] = {
    "DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING", "FAILED",
};

const char *wsconn_state_name(enum wsconn_state s)
{
    return (unsigned)s < WSC_NSTATES ? state_names[s] : "?";
}

void wsconn_default_params(struct wsconn_params *p)
{
    memset(p, 0, sizeof(*p));
    p->connect_timeout_ms = 10000;
    p->handshake_timeout_ms = 10000;
    p->ping_interval_ms = 30000;
    p->pong_timeout_ms = 30000;
    p->max_message = WS_DEFAULT_MAX_MESSAGE;
    p->backoff.base_ms = 1000;
    p->backoff.max_ms = 60000;
    p->backoff.jitter = 0.5;
    p->backoff.max_attempts = 0;
}

static void set_state(struct wsconn *w, enum wsconn_state to, int err)
{
    enum wsconn_state from = w->state;

    w->state = to;
    w->stats.transitions[to]++;
    if (w->cb->on_state)
        w->cb->on_state(w, from, to, err);
}

/* Counts an error by kind and keeps its text. A network error (a reset, EOF) on an
 * established connection is the loss of that connection, not a failed connect: it counts with
 * the WebSocket errors; errors_net is only for attempts that never got through. */
static void record_error(struct wsconn *w, int err)
{
    w->stats.last_error = err;
    snprintf(w->stats.last_error_msg, sizeof(w->stats.last_error_msg), "%s", mdf_errmsg());
    if (err == ERR_TLS_VERIFY || err == ERR_TLS_PROTO || err == ERR_TLS_CLOSED)
        w->stats.errors_tls++;
    else if (err == ERR_WS_PROTO || err == ERR_WS_HANDSHAKE || err == ERR_WS_CLOSED ||
             err == ERR_TOO_BIG)
        w->stats.errors_ws++;
    else if (err == -ETIMEDOUT || err == ERR_PONG_TIMEOUT)
        w->stats.errors_timeout++;
    else if (w->state == WSC_CONNECTED)
        w->stats.errors_ws++;
    else
        w->stats.errors_net++;
}

/* Serializes queued frames into the transport as far as it has room; the rest stays queued in
 * wslay until on_drained. */
static int flush_ws(struct wsconn *w)
{
    while (ws_want_write(&w->ws)) {
        size_t room = conn_writable(&w->conn), n;
        int rc;

        if (room < 512)
            break;
        n = ws_output(&w->ws, w->wsout, room < WSOUT_CAP ? room : WSOUT_CAP);
        if (n == 0)
            break;
        rc = conn_write(&w->conn, w->wsout, n);
        if (rc < 0)
            return rc;
    }
    if (ws_close_sent(&w->ws))
        w->stats.last_close_sent = ws_close_code_sent(&w->ws);
    return 0;
}

static void begin_attempt(struct wsconn *w);
static void on_retry(uv_timer_t *t);

/* Ends the current attempt (err says why) and schedules the next one, or gives up. */
static void lost(struct wsconn *w, int err)
{
    int64_t delay;

    if (w->state != WSC_CONNECTING && w->state != WSC_CONNECTED)
        return;
    record_error(w, err);
    if (w->state == WSC_CONNECTED)
        w->stats.disconnects++;
    else
        w->stats.connect_failures++;
    uv_timer_stop(&w->ping_timer);
    uv_timer_stop(&w->hs_timer);
    if (w->conn_busy)
        conn_close(&w->conn, false);
    delay = backoff_next(&w->backoff);
    if (delay < 0) {
        set_state(w, WSC_FAILED, err);
        return;
    }
    set_state(w, WSC_RECONNECTING, err);
    w->retry_due = false;
    uv_timer_start(&w->retry_timer, on_retry, (uint64_t)delay, 0);
}

static void on_retry(uv_timer_t *t)
{
    struct wsconn *w = t->data;

    if (w->state != WSC_RECONNECTING || w->stopping)
        return;
    if (w->conn_busy) {
        w->retry_due = true; /* begin when the old connection has closed */
        return;
    }
    set_state(w, WSC_CONNECTING, 0);
    begin_attempt(w);
}

/* ---- ws callbacks ------------------------------------------------------------------------ */

static void on_ws_message(void *ud, bool text, const uint8_t *data, size_t len)
{
    struct wsconn *w = ud;

    if (w->state != WSC_CONNECTED || w->stopping)
        return;
    w->stats.msgs_in++;
    w->cb->on_message(w, text, data, len, w->rx_ns);
}

static void on_ws_ping(void *ud, const uint8_t *data, size_t len)
{
    struct wsconn *w = ud;

    w->stats.pings_in++;
    w->stats.pongs_out++; /* wslay queued it; flush_ws() sends it before ws_feed's caller returns */
}

static void on_ws_pong(void *ud, const uint8_t *data, size_t len)
{
    struct wsconn *w = ud;

    w->stats.pongs_in++;
    w->ping_sent_ms = 0;
}

static void on_ws_close(void *ud, uint16_t code, const uint8_t *reason, size_t len)
{
    struct wsconn *w = ud;

    w->stats.last_close_received = code;
}

static const struct ws_callbacks ws_cbs = {
    .on_message = on_ws_message,
    .on_ping = on_ws_ping,
    .on_pong = on_ws_pong,
    .on_close = on_ws_close,
};

/* ---- pings ------------------------------------------------------------------------------- */

static void on_ping_timer(uv_timer_t *t)
{
    struct wsconn *w = t->data;
    uint64_t now = uv_now(w->loop), next;
    char payload[24];
    int n;

    if (w->state != WSC_CONNECTED)
        return;
    if (w->ping_sent_ms && (int64_t)now - w->ping_sent_ms >= (int64_t)w->p.pong_timeout_ms) {
        w->stats.pong_timeouts++;
        lost(w, err_set(ERR_PONG_TIMEOUT, "%s: nothing received for %u ms after our ping",
                        w->url_text, w->p.pong_timeout_ms));
        return;
    }
    if (!w->ping_sent_ms && (int64_t)now - w->last_ping_ms >= (int64_t)w->p.ping_interval_ms) {
        n = snprintf(payload, sizeof(payload), "%llu", (unsigned long long)now);
        if (ws_send_ping(&w->ws, payload, (size_t)n) == 0 && flush_ws(w) == 0) {
            w->stats.pings_out++;
            w->ping_sent_ms = (int64_t)now;
            w->last_ping_ms = (int64_t)now;
        }
    }
    next = (uint64_t)w->last_ping_ms + w->p.ping_interval_ms;
    if (w->ping_sent_ms && (uint64_t)w->ping_sent_ms + w->p.pong_timeout_ms < next)
        next = (uint64_t)w->ping_sent_ms + w->p.pong_timeout_ms;
    uv_timer_start(&w->ping_timer, on_ping_timer, next > now ? next - now : 1, 0);
}

/* ---- transport callbacks ----------------------------------------------------------------- */

static void on_hs_timeout(uv_timer_t *t)
{
    struct wsconn *w = t->data;

    if (w->state == WSC_CONNECTING)
        lost(w, err_set(-ETIMEDOUT, "%s: no answer to the WebSocket upgrade within %u ms",
                        w->url_text, w->p.handshake_timeout_ms));
}

static void on_conn_ready(struct conn *c)
{
    struct wsconn *w = c->ud;
    char req[4096];
    int n, rc;

    rc = ws_hs_new_key(w->key);
    if (rc < 0) {
        lost(w, err_set(rc, "no random key for the WebSocket upgrade"));
        return;
    }
    n = ws_hs_request(req, sizeof(req), w->host_header, w->url.path, w->key);
    if (n < 0) {
        lost(w, err_set(n, "%s: upgrade request too long", w->url_text));
        return;
    }
    ws_hs_response_init(&w->hs, w->key, 0);
    uv_timer_start(&w->hs_timer, on_hs_timeout, w->p.handshake_timeout_ms, 0);
    rc = conn_write(c, req, (size_t)n);
    if (rc < 0)
        lost(w, rc);
}

/* The upgrade succeeded: framing starts with the bytes that followed the response. */
static void upgraded(struct wsconn *w, const uint8_t *rest, size_t len)
{
    struct ws_params wp = {.server = false, .max_message = w->p.max_message};
    int rc;

    uv_timer_stop(&w->hs_timer);
    rc = ws_init(&w->ws, &wp, &ws_cbs, w);
    if (rc < 0) {
        lost(w, err_set(rc, "out of memory for WebSocket state"));
        return;
    }
    w->ws_ready = true;
    w->stats.connects++;
    w->backoff.p = w->p.backoff; /* connected: the configured schedule again */
    w->slow = false;
    backoff_reset(&w->backoff);
    w->ping_sent_ms = 0;
    w->last_ping_ms = (int64_t)uv_now(w->loop);
    set_state(w, WSC_CONNECTED, 0);
    if (w->p.ping_interval_ms)
        uv_timer_start(&w->ping_timer, on_ping_timer, w->p.ping_interval_ms, 0);
    if (w->cb->on_open)
        w->cb->on_open(w);
    if (len && w->state == WSC_CONNECTED && !w->stopping)
        w->conn.cb->on_data(&w->conn, rest, len);
}

static void on_conn_data(struct conn *c, const uint8_t *data, size_t len)
{
    struct wsconn *w = c->ud;
    int rc;

    w->stats.bytes_in = w->bytes_in_base + c->bytes_in;
    if (w->state == WSC_CONNECTING) {
        ssize_t used = ws_hs_response_feed(&w->hs, (const char *)data, len);

        if (used == -EAGAIN)
            return;
        if (used < 0) {
            lost(w, err_prefix((int)used, "%s", w->url_text));
            return;
        }
        upgraded(w, data + used, len - (size_t)used);
        return;
    }
    if (w->state != WSC_CONNECTED)
        return;
    w->rx_ns = clock_real_ns(); /* one receive time for every message of this read */
    w->ping_sent_ms = 0;        /* anything received proves the venue is alive */
    rc = ws_feed(&w->ws, data, len);
    if (w->state != WSC_CONNECTED)
        return; /* the owner stopped or reconnected from a callback */
    if (flush_ws(w) < 0 && rc == 0)
        rc = -ENOBUFS;
    w->stats.bytes_out = w->bytes_out_base + c->bytes_out;
    if (rc == ERR_WS_CLOSED) {
        if (w->stopping)
            return;
        lost(w, err_set(ERR_WS_CLOSED, "%s: the venue closed the connection with code %u",
                        w->url_text, ws_close_code_received(&w->ws)));
    } else if (rc < 0) {
        lost(w, err_prefix(rc, "%s", w->url_text));
    }
}

static void on_conn_error(struct conn *c, int err)
{
    struct wsconn *w = c->ud;

    if (w->stopping)
        return;
    lost(w, err);
}

static void finish_stop(struct wsconn *w);

static void on_conn_closed(struct conn *c)
{
    struct wsconn *w = c->ud;

    w->conn_busy = false;
    w->bytes_in_base += c->bytes_in;
    w->bytes_out_base += c->bytes_out;
    c->bytes_in = c->bytes_out = 0;
    w->stats.bytes_in = w->bytes_in_base;
    w->stats.bytes_out = w->bytes_out_base;
    if (w->ws_ready) {
        ws_fini(&w->ws);
        w->ws_ready = false;
    }
    if (w->stopping) {
        finish_stop(w);
        return;
    }
    if (w->retry_due && w->state == WSC_RECONNECTING) {
        w->retry_due = false;
        set_state(w, WSC_CONNECTING, 0);
        begin_attempt(w);
    }
}

static void on_conn_drained(struct conn *c)
{
    struct wsconn *w = c->ud;
    int rc;

    if (w->state != WSC_CONNECTED || !w->ws_ready || !ws_want_write(&w->ws))
        return;
    rc = flush_ws(w);
    if (rc < 0)
        lost(w, rc);
}

static const struct conn_callbacks conn_cbs = {
    .on_ready = on_conn_ready,
    .on_data = on_conn_data,
    .on_error = on_conn_error,
    .on_closed = on_conn_closed,
    .on_drained = on_conn_drained,
};

static void on_admit(uv_timer_t *t)
{
    struct wsconn *w = t->data;

    if (w->state == WSC_CONNECTING && !w->stopping && !w->conn_busy)
        begin_attempt(w);
}

static void begin_attempt(struct wsconn *w)
{
    struct conn_params cp = {
        .host = w->url.host,
        .port = w->url.port,
        .tls = w->url.tls,
        .tls_cfg = w->p.tls       ? w->p.tls
                   : w->tls_ready ? &w->tls
                                  : NULL,
        .tls_host = w->url.host,
        .connect_timeout_ms = w->p.connect_timeout_ms,
        .handshake_timeout_ms = w->p.handshake_timeout_ms,
    };
    uint32_t wait;
    int rc;

    /* The owner may hold the attempt back (a venue's limit on connection attempts). */
    if (w->cb->admit && (wait = w->cb->admit(w)) > 0) {
        w->stats.admit_waits++;
        uv_timer_start(&w->retry_timer, on_admit, wait, 0);
        return;
    }
    rc = conn_start(&w->conn, &cp);
    if (rc < 0) {
        lost(w, rc);
        return;
    }
    w->conn_busy = true;
}

/* ---- public ------------------------------------------------------------------------------ */

int wsconn_init(struct wsconn *w, uv_loop_t *loop, const struct wsconn_params *p,
                const struct wsconn_callbacks *cb, void *ud)
{
    struct wsconn_params d;
    uint64_t seed = 0;
    int rc;

    memset(w, 0, sizeof(*w));
    wsconn_default_params(&d);
    w->loop = loop;
    w->cb = cb;
    w->ud = ud;
    w->p = *p;
    if (!w->p.connect_timeout_ms)
        w->p.connect_timeout_ms = d.connect_timeout_ms;
    if (!w->p.handshake_timeout_ms)
        w->p.handshake_timeout_ms = d.handshake_timeout_ms;
    if (!w->p.pong_timeout_ms)
        w->p.pong_timeout_ms = 2 * w->p.ping_interval_ms;
    if (!w->p.max_message)
        w->p.max_message = d.max_message;
    if (!p->url || strlen(p->url) >= sizeof(w->url_text))
        return err_set(-EINVAL, "missing or overlong WebSocket URL");
    snprintf(w->url_text, sizeof(w->url_text), "%s", p->url);
    w->p.url = w->url_text;
    w->p.ca_file = NULL; /* only used below */
    rc = url_parse(&w->url, w->url_text);
    if (rc < 0)
        return rc;
    if (!w->url.websocket)
        return err_set(-EINVAL, "URL \"%s\" is not ws:// or wss://", w->url_text);
    if (url_host_header(&w->url, w->host_header, sizeof(w->host_header)) < 0)
        return err_set(-EINVAL, "URL \"%s\": host too long", w->url_text);
    if (w->url.tls && !p->tls) {
        struct tls_config_params tp = {.server = false, .ca_file = p->ca_file};

        rc = tls_config_init(&w->tls, &tp);
        if (rc < 0)
            return rc;
        w->tls_ready = true;
    }
    rc = conn_init(&w->conn, loop, &conn_cbs, w);
    if (rc < 0)
        goto err_tls;
    w->wsout = malloc(WSOUT_CAP);
    if (!w->wsout) {
        rc = err_set(-ENOMEM, "out of memory");
        goto err_conn;
    }
    uv_timer_init(loop, &w->ping_timer);
    uv_timer_init(loop, &w->retry_timer);
    uv_timer_init(loop, &w->hs_timer);
    w->ping_timer.data = w->retry_timer.data = w->hs_timer.data = w;
    w->timers_open = true;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
        seed = (uint64_t)clock_mono_ns();
    backoff_init(&w->backoff, &w->p.backoff, seed);
    w->state = WSC_DISCONNECTED;
    return 0;

err_conn:
    conn_fini(&w->conn);
err_tls:
    if (w->tls_ready)
        tls_config_fini(&w->tls);
    w->tls_ready = false;
    return rc;
}

void wsconn_retry_slowly(struct wsconn *w)
{
    if (w->state != WSC_FAILED || w->stopping)
        return;
    w->backoff.p.base_ms = w->backoff.p.max_ms;
    w->backoff.p.max_attempts = 0;
    w->slow = true;
    set_state(w, WSC_RECONNECTING, w->stats.last_error);
    w->retry_due = false;
    uv_timer_start(&w->retry_timer, on_retry, w->backoff.p.max_ms, 0);
}

int wsconn_start(struct wsconn *w)
{
    if (w->stopping || (w->state != WSC_DISCONNECTED && w->state != WSC_FAILED))
        return -EALREADY;
    w->backoff.p = w->p.backoff;
    w->slow = false;
    backoff_reset(&w->backoff);
    set_state(w, WSC_CONNECTING, 0);
    if (w->conn_busy) {
        /* A failed attempt is still closing: go through RECONNECTING's deferral. */
        w->state = WSC_RECONNECTING;
        w->retry_due = true;
        return 0;
    }
    begin_attempt(w);
    return 0;
}

/* Queues one message; refuses when the venue has stopped reading (bounded memory). */
static int send_msg(struct wsconn *w, bool text, const void *msg, size_t len)
{
    int rc;

    if (w->state != WSC_CONNECTED || w->stopping)
        return -ENOTCONN;
    if (len > w->p.max_message)
        return -EMSGSIZE;
    if (wslay_event_get_queued_msg_length(w->ws.ctx) + len > WSC_MAX_QUEUED)
        return err_set(-ENOBUFS, "%s: the venue is not reading; %zu bytes already queued",
                       w->url_text, wslay_event_get_queued_msg_length(w->ws.ctx));
    rc = text ? ws_send_text(&w->ws, msg, len) : ws_send_binary(&w->ws, msg, len);
    if (rc < 0)
        return rc;
    rc = flush_ws(w);
    if (rc < 0) {
        lost(w, rc);
        return rc;
    }
    w->stats.msgs_out++;
    w->stats.bytes_out = w->bytes_out_base + w->conn.bytes_out;
    return 0;
}

int wsconn_send_text(struct wsconn *w, const void *msg, size_t len)
{
    return send_msg(w, true, msg, len);
}

int wsconn_send_binary(struct wsconn *w, const void *msg, size_t len)
{
    return send_msg(w, false, msg, len);
}

void wsconn_reconnect(struct wsconn *w, int err)
{
    if (w->stopping)
        return;
    if (w->state == WSC_CONNECTED) {
        ws_send_close(&w->ws, WS_CLOSE_GOING_AWAY, "reconnecting");
        flush_ws(w);
    }
    if (w->state == WSC_CONNECTED || w->state == WSC_CONNECTING)
        lost(w, err);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct wsconn *w = h->data;

    if (--w->open_timers == 0)
        finish_stop(w);
}

/* Completes wsconn_stop() once the transport and every timer are closed. */
static void finish_stop(struct wsconn *w)
{
    if (w->conn_busy || w->open_timers > 0 || w->stop_done)
        return;
    if (w->timers_open) {
        w->timers_open = false;
        w->open_timers = 3;
        uv_close((uv_handle_t *)&w->ping_timer, on_timer_closed);
        uv_close((uv_handle_t *)&w->retry_timer, on_timer_closed);
        uv_close((uv_handle_t *)&w->hs_timer, on_timer_closed);
        return;
    }
    w->stop_done = true;
    set_state(w, WSC_DISCONNECTED, 0);
    if (w->cb->on_stopped)
        w->cb->on_stopped(w);
}

void wsconn_stop(struct wsconn *w, uint16_t code)
{
    if (w->stopping)
        return;
    w->stopping = true;
    if (w->state == WSC_CONNECTED) {
        ws_send_close(&w->ws, code ? code : WS_CLOSE_NORMAL, "");
        flush_ws(w);
        conn_shutdown(&w->conn);
    }
    if (w->timers_open) {
        uv_timer_stop(&w->ping_timer);
        uv_timer_stop(&w->retry_timer);
        uv_timer_stop(&w->hs_timer);
    }
    if (w->conn_busy)
        conn_close(&w->conn, false);
    finish_stop(w);
}

void wsconn_fini(struct wsconn *w)
{
    if (w->ws_ready)
        ws_fini(&w->ws);
    w->ws_ready = false;
    conn_fini(&w->conn);
    free(w->wsout);
    w->wsout = NULL;
    if (w->tls_ready)
        tls_config_fini(&w->tls);
    w->tls_ready = false;
}
