/*
 * The HTTP/1.1 upgrade of RFC 6455 section 4 (see ws_handshake.h): request and 101 text built
 * with snprintf, both directions parsed incrementally by libhttp-parser 2.9, which copes with any
 * split of the input. Header names and values arrive in pieces through its callbacks and are
 * collected into fixed buffers; a value too long for its buffer is only an error for the headers
 * we check. on_headers_complete returns 2 ("upgrade, no body"), so the parser stops right after
 * the blank line and reports how many bytes the HTTP part took: whatever follows is WebSocket.
 *
 * The key comes from getrandom() and the accept value is base64(SHA-1(key + GUID)) with mbedTLS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "core/err.h"
#include "ws/ws_handshake.h"

/* The GUID every server appends to the key (RFC 6455 section 1.3). */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- key and accept ----------------------------------------------------------------------- */

/* 16 random bytes from the kernel, base64-encoded. Fails with -errno if getrandom() does. */
int ws_hs_new_key(char *key)
{
    uint8_t raw[16];
    size_t got = 0, olen;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_set(-errno, "getrandom() for the WebSocket key: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    mbedtls_base64_encode((unsigned char *)key, WS_KEY_LEN + 1, &olen, raw, sizeof(raw));
    return 0;
}

/* base64(SHA-1(key + GUID)); the key is at most a header value, so the concatenation fits. */
void ws_hs_accept(const char *key, char *accept)
{
    unsigned char in[256 + sizeof(ws_guid)], sha[20];
    size_t klen = strnlen(key, 256), olen;

    memcpy(in, key, klen);
    memcpy(in + klen, ws_guid, sizeof(ws_guid) - 1);
    mbedtls_sha1_ret(in, klen + sizeof(ws_guid) - 1, sha);
    mbedtls_base64_encode((unsigned char *)accept, WS_ACCEPT_LEN + 1, &olen, sha, sizeof(sha));
}

/* ---- request and 101 text ----------------------------------------------------------------- */

/* True if s has no space or control character (it goes into a request line or header). */
static bool header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

/* See ws_handshake.h. No extension and no subprotocol is offered. */
int ws_hs_request(char *out, size_t cap, const char *host_header, const char *path, const char *key)
{
    int n;

    if (!path || !*path)
        path = "/";
    if (!header_safe(host_header) || !header_safe(path) || !header_safe(key))
        return err_set(-EINVAL, "WebSocket request: host \"%s\" or path \"%s\" is not usable",
                       host_header, path);
    n = snprintf(out, cap,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "User-Agent: mdfeed/0.1\r\n"
                 "\r\n",
                 path, host_header, key);
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_TOO_BIG, "WebSocket request does not fit in %zu bytes", cap);
    return n;
}

/* See ws_handshake.h. */
int ws_hs_response_101(char *out, size_t cap, const char *key)
{
    char accept[WS_ACCEPT_LEN + 1];
    int n;

    ws_hs_accept(key, accept);
    n = snprintf(out, cap,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "\r\n",
                 accept);
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_TOO_BIG, "WebSocket 101 response does not fit in %zu bytes", cap);
    return n;
}

/* ---- header helpers ----------------------------------------------------------------------- */

/* Appends a piece of a name or value to a NUL-terminated buffer, or marks it too long (and then
 * ignores the rest) when it would not fit. */
static void append(char *buf, size_t cap, size_t *len, bool *too_long, const char *at, size_t n)
{
    if (*too_long)
        return;
    if (n > cap - 1 - *len) {
        *too_long = true;
        return;
    }
    memcpy(buf + *len, at, n);
    *len += n;
    buf[*len] = '\0';
}

/* Strips leading and trailing spaces and tabs from v (in place, by moving the end and returning
 * the new start). */
static char *trim(char *v, size_t *len)
{
    while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
        v[--*len] = '\0';
    while (*v == ' ' || *v == '\t') {
        v++;
        --*len;
    }
    return v;
}

/* True if the comma-separated list v contains token (case-insensitive), e.g. "keep-alive,
 * Upgrade" contains "upgrade". */
static bool has_token(const char *v, const char *token)
{
    size_t tlen = strlen(token);

    while (*v) {
        const char *end;
        size_t n;

        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        end = v;
        while (*end && *end != ',')
            end++;
        n = (size_t)(end - v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n == tlen && strncasecmp(v, token, tlen) == 0)
            return true;
        v = end;
    }
    return false;
}

/* ---- client: the response ----------------------------------------------------------------- */

/* Records the first failure of a response (message via err_set) and returns -1 to stop the
 * parser. */
static int resp_fail(struct ws_hs_response *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int resp_fail(struct ws_hs_response *r, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->error = err_set(code, "WebSocket handshake: %s", msg);
    return -1;
}

/* Checks one complete header of the response against the upgrade's rules. */
static int resp_check_header(struct ws_hs_response *r)
{
    const char *f = r->field;
    size_t vlen = r->value_len;
    char *v = trim(r->value, &vlen);
    bool ours;

    /* A refused response fails on its status; its headers do not matter. */
    if (r->field_long || r->parser.status_code != 101)
        return 0;
    ours = !strcasecmp(f, "Upgrade") || !strcasecmp(f, "Connection") ||
           !strcasecmp(f, "Sec-WebSocket-Accept") || !strcasecmp(f, "Sec-WebSocket-Extensions") ||
           !strcasecmp(f, "Sec-WebSocket-Protocol");
    if (!ours)
        return 0;
    if (r->value_long)
        return resp_fail(r, ERR_WS_HANDSHAKE, "%s header longer than %zu bytes", f,
                         sizeof(r->value) - 1);
    if (!strcasecmp(f, "Upgrade"))
        r->upgrade_ok = !strcasecmp(v, "websocket");
    else if (!strcasecmp(f, "Connection"))
        r->connection_ok = r->connection_ok || has_token(v, "upgrade");
    else if (!strcasecmp(f, "Sec-WebSocket-Accept")) {
        if (!strcmp(v, r->accept))
            r->accept_ok = true;
        else
            r->accept_bad = true;
    } else if (!strcasecmp(f, "Sec-WebSocket-Extensions"))
        r->extension = true;
    else
        r->subprotocol = true;
    return 0;
}

/* Readies the name and value buffers for the next header. */
#define HEADER_RESET(r)                                                                            \
    do {                                                                                           \
        (r)->in_value = (r)->field_long = (r)->value_long = false;                                 \
        (r)->field_len = (r)->value_len = 0;                                                       \
        (r)->field[0] = (r)->value[0] = '\0';                                                      \
    } while (0)

/* A header of the response is complete: checks the ones that matter for the upgrade. */
static int resp_header_done(struct ws_hs_response *r)
{
    int ret = resp_check_header(r);

    HEADER_RESET(r);
    return ret;
}

/* A piece of the status line's reason phrase ("Forbidden"), kept for the error message. */
static int resp_on_status(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_response *r = p->data;
    bool dummy = false;

    append(r->reason, sizeof(r->reason), &r->reason_len, &dummy, at, n);
    return 0;
}

/* A name piece: the first piece after a value ends that header. */
static int resp_on_field(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_response *r = p->data;

    if (r->in_value && resp_header_done(r) != 0)
        return -1;
    append(r->field, sizeof(r->field), &r->field_len, &r->field_long, at, n);
    return 0;
}

/* A value piece (http_parser reports an empty value with length 0). */
static int resp_on_value(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_response *r = p->data;

    r->in_value = true;
    append(r->value, sizeof(r->value), &r->value_len, &r->value_long, at, n);
    return 0;
}

/* Headers are complete: the verdict on the whole response. */
static int resp_on_headers_complete(http_parser *p)
{
    struct ws_hs_response *r = p->data;

    if (r->in_value && resp_header_done(r) != 0)
        return -1;
    r->status = (int)p->status_code;
    if (r->status != 101)
        return resp_fail(r, ERR_WS_HANDSHAKE, "server answered %d %s instead of 101", r->status,
                         r->reason);
    if (p->http_major != 1 || p->http_minor < 1)
        return resp_fail(r, ERR_WS_HANDSHAKE, "server answered in HTTP/%u.%u, not HTTP/1.1",
                         p->http_major, p->http_minor);
    if (!r->upgrade_ok)
        return resp_fail(r, ERR_WS_HANDSHAKE, "no \"Upgrade: websocket\" in the 101 response");
    if (!r->connection_ok)
        return resp_fail(r, ERR_WS_HANDSHAKE, "no \"Connection: Upgrade\" in the 101 response");
    if (r->accept_bad)
        return resp_fail(r, ERR_WS_HANDSHAKE, "wrong Sec-WebSocket-Accept (expected %s)",
                         r->accept);
    if (!r->accept_ok)
        return resp_fail(r, ERR_WS_HANDSHAKE, "no Sec-WebSocket-Accept in the 101 response");
    if (r->extension)
        return resp_fail(r, ERR_WS_HANDSHAKE,
                         "server selected a Sec-WebSocket-Extensions we never offered");
    if (r->subprotocol)
        return resp_fail(r, ERR_WS_HANDSHAKE,
                         "server selected a Sec-WebSocket-Protocol we never offered");
    r->done = true;
    return 2; /* upgrade: no body, stop after the headers */
}

static const http_parser_settings resp_settings = {
    .on_status = resp_on_status,
    .on_header_field = resp_on_field,
    .on_header_value = resp_on_value,
    .on_headers_complete = resp_on_headers_complete,
};

/* Starts a response parser and computes the accept value the response must carry. */
void ws_hs_response_init(struct ws_hs_response *r, const char *key, size_t max)
{
    memset(r, 0, sizeof(*r));
    http_parser_init(&r->parser, HTTP_RESPONSE);
    ws_hs_accept(key, r->accept);
    r->max = max ? max : WS_HS_DEFAULT_MAX;
}

/* See ws_handshake.h. Only up to the size limit is given to the parser, so bytes after a
 * complete response (frames) never count against it. */
ssize_t ws_hs_response_feed(struct ws_hs_response *r, const char *buf, size_t len)
{
    size_t room = r->max - r->seen, n = len < room ? len : room, used;

    if (r->error)
        return err_set(r->error, "WebSocket handshake already failed");
    if (r->done)
        return 0;
    r->parser.data = r;
    used = http_parser_execute(&r->parser, &resp_settings, buf, n);
    r->seen += used;
    if (r->error)
        return r->error;
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK) {
        r->error = err_set(ERR_WS_HANDSHAKE, "WebSocket handshake: malformed HTTP response (%s)",
                           http_errno_description(HTTP_PARSER_ERRNO(&r->parser)));
        return r->error;
    }
    if (r->done)
        return (ssize_t)used;
    if (r->seen >= r->max) {
        r->error = err_set(ERR_TOO_BIG, "WebSocket handshake response over %zu bytes", r->max);
        return r->error;
    }
    return -EAGAIN;
}

/* ---- server: the request ------------------------------------------------------------------ */

/* Notes what the fake venue needs to know from one complete header of the request. */
static void req_check_header(struct ws_hs_request *r)
{
    const char *f = r->field;
    size_t vlen = r->value_len;
    char *v = trim(r->value, &vlen);

    if (r->field_long)
        return;
    if (!strcasecmp(f, "Sec-WebSocket-Extensions")) {
        r->offers_extensions = true;
        return;
    }
    if (r->value_long)
        return;
    if (!strcasecmp(f, "Upgrade"))
        r->upgrade_hdr = r->upgrade_hdr || has_token(v, "websocket");
    else if (!strcasecmp(f, "Connection"))
        r->connection_hdr = r->connection_hdr || has_token(v, "upgrade");
    else if (!strcasecmp(f, "Sec-WebSocket-Version"))
        r->version13 = !strcmp(v, "13");
    else if (!strcasecmp(f, "Sec-WebSocket-Key") && vlen < sizeof(r->key))
        memcpy(r->key, v, vlen + 1);
}

/* A header of the request is complete. */
static void req_header_done(struct ws_hs_request *r)
{
    req_check_header(r);
    HEADER_RESET(r);
}

/* A piece of the request target; one longer than the target field is refused (ERR_TOO_BIG). */
static int req_on_url(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_request *r = p->data;
    bool too_long = false;

    append(r->target, sizeof(r->target), &r->target_len, &too_long, at, n);
    if (too_long) {
        r->error =
            err_set(ERR_TOO_BIG, "HTTP request target over %zu bytes", sizeof(r->target) - 1);
        return -1;
    }
    return 0;
}

/* A name piece: the first piece after a value ends that header. */
static int req_on_field(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_request *r = p->data;

    if (r->in_value)
        req_header_done(r);
    append(r->field, sizeof(r->field), &r->field_len, &r->field_long, at, n);
    return 0;
}

/* A value piece (http_parser reports an empty value with length 0). */
static int req_on_value(http_parser *p, const char *at, size_t n)
{
    struct ws_hs_request *r = p->data;

    r->in_value = true;
    append(r->value, sizeof(r->value), &r->value_len, &r->value_long, at, n);
    return 0;
}

/* Headers are complete: the request is summed up for the caller. */
static int req_on_headers_complete(http_parser *p)
{
    struct ws_hs_request *r = p->data;

    if (r->in_value)
        req_header_done(r);
    r->is_get = p->method == HTTP_GET;
    r->upgrade = r->upgrade_hdr && r->connection_hdr;
    r->done = true;
    return 2; /* stop after the headers, upgrade or not */
}

static const http_parser_settings req_settings = {
    .on_url = req_on_url,
    .on_header_field = req_on_field,
    .on_header_value = req_on_value,
    .on_headers_complete = req_on_headers_complete,
};

/* Starts a request parser. */
void ws_hs_request_init(struct ws_hs_request *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->max = max ? max : WS_HS_DEFAULT_MAX;
}

/* See ws_handshake.h. */
ssize_t ws_hs_request_feed(struct ws_hs_request *r, const char *buf, size_t len)
{
    size_t room = r->max - r->seen, n = len < room ? len : room, used;

    if (r->error)
        return err_set(r->error, "HTTP request already failed");
    if (r->done)
        return 0;
    r->parser.data = r;
    used = http_parser_execute(&r->parser, &req_settings, buf, n);
    r->seen += used;
    if (r->error)
        return r->error;
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK) {
        r->error = err_set(ERR_HTTP, "malformed HTTP request (%s)",
                           http_errno_description(HTTP_PARSER_ERRNO(&r->parser)));
        return r->error;
    }
    if (r->done)
        return (ssize_t)used;
    if (r->seen >= r->max) {
        r->error = err_set(ERR_TOO_BIG, "HTTP request headers over %zu bytes", r->max);
        return r->error;
    }
    return -EAGAIN;
}
