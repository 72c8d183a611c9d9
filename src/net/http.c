/*
 * HTTP/1.1 GET for REST snapshots, on a conn (TCP or TLS) and libhttp-parser.
 *
 * Main design choice: the outcome of a request is decided first (response complete, error,
 * timeout, cancel), then the connection is closed, and only after conn's on_closed is `done`
 * called, from the request's own timer re-armed with a zero delay. The owner therefore sees
 * `done` exactly once, never from inside http_get_start() or a conn callback, and with the
 * connection idle, so it may start the next request straight from `done`. The same uv_timer
 * serves as the request deadline and as that deferral, so a request opens no handle of its own
 * besides the connection's.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "net/http.h"

/* The request line and headers: the longest path plus the fixed headers and the Host value. */
#define REQ_CAP (sizeof(((struct url *)0)->path) + 512)
/* Room for where(): scheme, brackets, a host cut to 100 and a path cut to 160 characters. */
#define WHERE_CAP 320

static void on_ready(struct conn *c);
static void on_data(struct conn *c, const uint8_t *data, size_t len);
static void on_error(struct conn *c, int err);
static void on_closed(struct conn *c);

/* The transport callbacks, shared by every request. */
static const struct conn_callbacks conn_cbs = {
    .on_ready = on_ready,
    .on_data = on_data,
    .on_error = on_error,
    .on_closed = on_closed,
};

/* Writes "scheme://host:port/path" (host and path cut) into buf, to name the request in
 * messages. Returns buf. */
static const char *where(const struct http_get *g, char *buf, size_t cap)
{
    bool v6 = strchr(g->url.host, ':') != NULL;

    snprintf(buf, cap, "%s://%s%.100s%s:%u%.160s", g->url.tls ? "https" : "http", v6 ? "[" : "",
             g->url.host, v6 ? "]" : "", (unsigned)g->url.port, g->url.path);
    return buf;
}

/* Records the outcome (code and, for an error, the thread's current message) and starts
 * closing the connection; done follows after on_closed. Only the first outcome counts. */
static void finish(struct http_get *g, int code)
{
    if (g->state != HTTP_RUNNING)
        return;
    g->result = code;
    if (code != 0)
        snprintf(g->errmsg, sizeof(g->errmsg), "%s", mdf_errmsg());
    else
        g->errmsg[0] = '\0';
    g->state = HTTP_CLOSING;
    uv_timer_stop(&g->timer);
    /* On an error the rest of the response is unwanted: reset rather than drain. */
    conn_close(&g->conn, code != 0);
}

/* The timer is closed: the struct is idle and may be finalized; tell the owner. */
static void on_timer_closed(uv_handle_t *h)
{
    struct http_get *g = h->data;
    void (*cb)(struct http_get * g) = g->stop_cb;

    g->timer_open = false;
    g->state = HTTP_IDLE;
    g->stopping = false;
    g->stop_cb = NULL;
    if (cb)
        cb(g);
}

/* Opens the timer if needed (so stop works on a never-started struct too) and closes it. */
static void close_timer(struct http_get *g)
{
    if (!g->timer_open) {
        uv_timer_init(g->loop, &g->timer);
        g->timer.data = g;
        g->timer_open = true;
    }
    g->state = HTTP_STOPPED;
    uv_close((uv_handle_t *)&g->timer, on_timer_closed);
}

/* Calls done with the recorded outcome, the connection being closed; then finishes a pending
 * stop unless done started a new request or stopped by itself. */
static void deliver(struct http_get *g)
{
    int r = g->result;

    g->state = HTTP_IDLE;
    /* Other work on this thread may have set messages since the outcome was decided. */
    if (r != 0)
        err_set(r, "%s", g->errmsg);
    g->done(g, r, r != 0 ? NULL : &g->resp);
    if (g->stopping && g->state == HTTP_IDLE)
        close_timer(g);
}

/* Deadline of a running request, or the deferred done of a finished one. */
static void on_timer(uv_timer_t *t)
{
    struct http_get *g = t->data;
    char w[WHERE_CAP];

    if (g->state == HTTP_RUNNING)
        finish(g, err_set(-ETIMEDOUT, "GET %s: no complete response within %u ms",
                          where(g, w, sizeof(w)), (unsigned)g->p.timeout_ms));
    else if (g->state == HTTP_DELIVER)
        deliver(g);
}

/* Notes a body over the limit (known at least `size` bytes long) and sets the message. */
static void set_too_big(struct http_get *g, unsigned long long size)
{
    char w[WHERE_CAP];

    g->too_big = true;
    err_set(ERR_TOO_BIG, "GET %s: response body of at least %llu bytes is over the %zu-byte limit",
            where(g, w, sizeof(w)), size, g->limit);
}

/* A header name, possibly in pieces: a name after a value starts a new header. */
static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct http_get *g = hp->data;

    if (g->in_value) {
        g->in_value = false;
        g->field_len = 0;
    }
    for (size_t i = 0; i < len && g->field_len < sizeof(g->field) - 1; i++)
        g->field[g->field_len++] = (char)tolower((unsigned char)at[i]);
    return 0;
}

/* A header value, possibly in pieces: its first piece commits the name (when there is room
 * for another header); later pieces extend the value up to its size. */
static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct http_get *g = hp->data;
    struct http_response *r = &g->resp;

    if (!g->in_value) {
        g->in_value = true;
        g->value_len = 0;
        g->cur_header = -1;
        if (r->nheaders < HTTP_MAX_HEADERS) {
            struct http_header *h = &r->headers[r->nheaders];

            memcpy(h->name, g->field, g->field_len);
            h->name[g->field_len] = '\0';
            h->value[0] = '\0';
            g->cur_header = r->nheaders++;
        }
    }
    if (g->cur_header >= 0) {
        struct http_header *h = &r->headers[g->cur_header];
        size_t room = sizeof(h->value) - 1 - g->value_len;
        size_t n = len < room ? len : room;

        memcpy(h->value + g->value_len, at, n);
        g->value_len += n;
        h->value[g->value_len] = '\0';
    }
    return 0;
}

/* Status is known; refuse a declared Content-Length over the limit before any body arrives. */
static int on_headers_complete(http_parser *hp)
{
    struct http_get *g = hp->data;
    int st = hp->status_code;
    bool has_body = st / 100 != 1 && st != 204 && st != 304;

    g->resp.status = st;
    if (has_body && !(hp->flags & F_CHUNKED) && hp->content_length != ULLONG_MAX &&
        hp->content_length > g->limit) {
        set_too_big(g, (unsigned long long)hp->content_length);
        return -1; /* any value but 0, 1 and 2 is an error (HPE_CB_headers_complete) */
    }
    return 0;
}

/* Body bytes (after de-chunking) into the buffer, up to the limit. */
static int on_body(http_parser *hp, const char *at, size_t len)
{
    struct http_get *g = hp->data;
    struct http_response *r = &g->resp;

    if (len > g->limit - r->body_len) {
        set_too_big(g, (unsigned long long)(r->body_len + len));
        return -1;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    return 0;
}

/* The response is whole; pause so nothing after it is parsed as another message. */
static int on_message_complete(http_parser *hp)
{
    struct http_get *g = hp->data;

    g->complete = true;
    http_parser_pause(hp, 1);
    return 0;
}

/* Turns the parser's state after a feed into an outcome, if there is one yet. */
static void check_parser(struct http_get *g)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&g->parser);
    char w[WHERE_CAP];

    if (g->too_big)
        finish(g, ERR_TOO_BIG); /* message set by set_too_big() */
    else if (g->complete)
        finish(g, 0);
    else if (e != HPE_OK)
        finish(g, err_set(ERR_HTTP, "GET %s: malformed HTTP response: %s (%s)",
                          where(g, w, sizeof(w)), http_errno_name(e), http_errno_description(e)));
}

/* Connected (and TLS verified): send the request, which fits one write buffer. */
static void on_ready(struct conn *c)
{
    struct http_get *g = c->ud;
    char req[REQ_CAP], host[300], w[WHERE_CAP];
    int n, rc;

    if (g->state != HTTP_RUNNING)
        return;
    if (url_host_header(&g->url, host, sizeof(host)) < 0) {
        finish(g, err_set(-ENOSPC, "GET %s: host name too long", where(g, w, sizeof(w))));
        return;
    }
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "User-Agent: mdfeed/0.1\r\n"
                 "Accept: application/json\r\n"
                 "Connection: close\r\n"
                 "\r\n",
                 g->url.path, host);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        finish(g, err_set(-ENOSPC, "GET %s: request too long", where(g, w, sizeof(w))));
        return;
    }
    rc = conn_write(&g->conn, req, (size_t)n);
    if (rc < 0)
        finish(g, err_prefix(rc, "GET %s: sending the request", where(g, w, sizeof(w))));
}

/* Response bytes: parse them and finish when the response is whole or broken. */
static void on_data(struct conn *c, const uint8_t *data, size_t len)
{
    struct http_get *g = c->ud;

    if (g->state != HTTP_RUNNING || len == 0)
        return;
    g->got_bytes = true;
    http_parser_execute(&g->parser, &g->settings, (const char *)data, len);
    check_parser(g);
}

/* True for the ways a peer ends a stream in order. Over TLS only close_notify counts, so an
 * attacker cutting the TCP stream cannot end a read-until-close body early unnoticed. */
static bool is_orderly_end(const struct http_get *g, int err)
{
    if (g->url.tls)
        return err == ERR_TLS_CLOSED;
    return err == UV_EOF || err == -EPIPE || err == ERR_TLS_CLOSED;
}

/* The connection failed or ended. An orderly end completes a read-until-close body (or
 * shows that the response was cut short); any other error passes through with its text. */
static void on_error(struct conn *c, int err)
{
    struct http_get *g = c->ud;
    char w[WHERE_CAP];

    if (g->state != HTTP_RUNNING)
        return;
    if (g->got_bytes && is_orderly_end(g, err)) {
        /* A zero-length feed tells the parser the stream ended. */
        http_parser_execute(&g->parser, &g->settings, NULL, 0);
        if (g->complete || g->too_big || HTTP_PARSER_ERRNO(&g->parser) != HPE_OK) {
            check_parser(g);
            return;
        }
    }
    if (g->got_bytes)
        finish(g, err_prefix(err, "GET %s: connection ended before the response was whole",
                             where(g, w, sizeof(w))));
    else
        finish(g, err_prefix(err, "GET %s", where(g, w, sizeof(w))));
}

/* The connection is fully closed: run done from the loop, outside every conn callback. */
static void on_closed(struct conn *c)
{
    struct http_get *g = c->ud;

    if (g->state != HTTP_CLOSING)
        return;
    g->state = HTTP_DELIVER;
    uv_timer_start(&g->timer, on_timer, 0, 0);
}

const char *http_response_header(const struct http_response *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

int http_get_init(struct http_get *g, uv_loop_t *loop, size_t max_body, void *ud)
{
    int rc;

    memset(g, 0, sizeof(*g));
    g->loop = loop;
    g->ud = ud;
    g->cur_header = -1;
    if (max_body == 0)
        max_body = HTTP_DEFAULT_MAX_BODY;
    g->body = malloc(max_body);
    if (!g->body)
        return err_set(-ENOMEM, "http: cannot allocate a %zu-byte body buffer", max_body);
    g->body_cap = max_body;
    rc = conn_init(&g->conn, loop, &conn_cbs, g);
    if (rc < 0)
        goto err_free_body;
    http_parser_settings_init(&g->settings);
    g->settings.on_header_field = on_header_field;
    g->settings.on_header_value = on_header_value;
    g->settings.on_headers_complete = on_headers_complete;
    g->settings.on_body = on_body;
    g->settings.on_message_complete = on_message_complete;
    return 0;

err_free_body:
    free(g->body);
    g->body = NULL;
    return rc;
}

/* Clears what the previous response left, so nothing per request needs allocating. */
static void reset_response(struct http_get *g)
{
    http_parser_init(&g->parser, HTTP_RESPONSE);
    g->parser.data = g;
    g->resp.status = 0;
    g->resp.nheaders = 0;
    g->resp.body = g->body;
    g->resp.body_len = 0;
    g->field_len = 0;
    g->in_value = false;
    g->cur_header = -1;
    g->value_len = 0;
    g->complete = false;
    g->too_big = false;
    g->got_bytes = false;
    g->result = 0;
    g->errmsg[0] = '\0';
}

int http_get_start(struct http_get *g, const struct http_get_params *p, http_done_cb done)
{
    struct conn_params cp;
    char w[WHERE_CAP];
    size_t limit;
    int rc;

    if (g->state != HTTP_IDLE || g->stopping)
        return err_set(-EBUSY, "http GET: a request is in flight or the client is stopping");
    if (!p || !p->url || !done)
        return err_set(-EINVAL, "http GET: no URL or no done callback");
    rc = url_parse(&g->url, p->url);
    if (rc < 0)
        return err_prefix(rc, "http GET");
    if (g->url.websocket)
        return err_set(-EINVAL, "http GET %.200s: not an http:// or https:// URL", p->url);
    if (g->url.tls && !p->tls)
        return err_set(-EINVAL, "GET %s: https needs a TLS configuration", where(g, w, sizeof(w)));
    limit = p->max_body ? p->max_body : g->body_cap;
    if (limit > g->body_cap)
        return err_set(-EINVAL, "GET %s: body limit %zu is over the %zu-byte buffer",
                       where(g, w, sizeof(w)), limit, g->body_cap);

    g->p = *p;
    g->p.url = NULL; /* the caller's string is not kept */
    if (g->p.timeout_ms == 0)
        g->p.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
    g->limit = limit;
    g->done = done;
    reset_response(g);
    if (!g->timer_open) {
        uv_timer_init(g->loop, &g->timer);
        g->timer.data = g;
        g->timer_open = true;
    }

    memset(&cp, 0, sizeof(cp));
    cp.host = g->url.host;
    cp.port = g->url.port;
    cp.tls = g->url.tls;
    cp.tls_cfg = p->tls;
    cp.tls_host = NULL;
    cp.connect_timeout_ms = g->p.timeout_ms;
    cp.handshake_timeout_ms = g->p.timeout_ms;
    /* RUNNING and the deadline come first, so even an on_error from inside conn_start()
     * would be handled (and done still deferred). */
    g->state = HTTP_RUNNING;
    uv_timer_start(&g->timer, on_timer, g->p.timeout_ms, 0);
    rc = conn_start(&g->conn, &cp);
    if (rc < 0) {
        uv_timer_stop(&g->timer);
        g->state = HTTP_IDLE;
        return err_prefix(rc, "GET %s", where(g, w, sizeof(w)));
    }
    return 0;
}

void http_get_stop(struct http_get *g, void (*cb)(struct http_get *g))
{
    if (g->stopping || g->state == HTTP_STOPPED)
        return;
    g->stopping = true;
    g->stop_cb = cb;
    switch (g->state) {
    case HTTP_IDLE:
        close_timer(g);
        break;
    case HTTP_RUNNING:
        finish(g, err_set(-ECANCELED, "http GET cancelled"));
        break;
    default:
        /* CLOSING or DELIVER: deliver() closes the timer after done. */
        break;
    }
}

void http_get_fini(struct http_get *g)
{
    conn_fini(&g->conn);
    free(g->body);
    g->body = NULL;
    g->body_cap = 0;
}
