/*
 * WebSocket framing on wslay's event API (see ws.h), with no I/O: ws_feed() hands the bytes to
 * wslay through its recv callback, ws_output() collects wslay's frames through its send callback.
 *
 * wslay's message buffering is off: data frames arrive as chunks that are copied into the one
 * buffer allocated at init, so a message costs no allocation. wslay still buffers control frames
 * (at most 125 bytes) and queues the pong for every ping by itself.
 *
 * Main design choice: a frame checker runs over the fed bytes before wslay sees them and holds
 * back everything from the first violation on. wslay 1.1.1 alone is not enough for us: a
 * fragmented or oversized control frame or a non-minimal length makes it queue a close with no
 * code instead of 1002; it accepts a 1-byte close payload; it validates a close reason's UTF-8
 * from offset 2 of every chunk (so a close frame that arrives in pieces is judged wrongly); and it
 * never says why it closed. The checker knows every rule (RFC 6455 sections 5 and 7), the exact
 * close code and the reason, and because wslay only ever sees valid frames its own checks never
 * fire. The peer's close frame is also kept from wslay: the checker reads it, and we queue the
 * reply ourselves. The checker costs a header parse per frame and, for text, the UTF-8 check
 * wslay would have done anyway; binary payloads are skipped in one step.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "ws/ws.h"

/* Opcodes (RFC 6455 section 5.2). */
enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BINARY = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xa,
};

/* What the checker decided about the bytes it read. */
enum verdict {
    V_MORE,  /* all valid so far; read on */
    V_CLOSE, /* the peer's valid close frame is complete */
    V_FAIL,  /* a violation: fail_code and why say which */
};

/* ---- masking keys ------------------------------------------------------------------------- */

/* Next value of the splitmix64 generator. Masking keys only have to be unpredictable to
 * intermediaries (RFC 6455 section 10.3), so a fast generator seeded once from the kernel is
 * enough; calling getrandom() per frame would cost a system call for every frame we send. */
static uint64_t mask_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A seed from the kernel's CSPRNG; if getrandom() is unavailable, the clock, pid and an address
 * (weak, but a masking key is not a secret). */
static uint64_t mask_seed(const void *salt)
{
    uint64_t seed;
    struct timespec ts;

    for (;;) {
        ssize_t n = getrandom(&seed, sizeof(seed), 0);
        if (n == (ssize_t)sizeof(seed))
            return seed;
        if (n < 0 && errno != EINTR)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
    return seed ^ (uint64_t)(uintptr_t)salt;
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* Decoder state: 0 between characters, else the number of continuation bytes still needed (bits
 * 16-17) and the range the next byte must fall in (bits 8-15 and 0-7). The range of the first
 * continuation byte excludes overlong forms (E0, F0), surrogates (ED) and code points past
 * U+10FFFF (F4), so every invalid sequence is refused at its first wrong byte. */
#define UTF8_STATE(need, lo, hi) (((uint32_t)(need) << 16) | ((uint32_t)(lo) << 8) | (hi))

/* Advances the decoder by one byte. Returns false if the byte cannot continue valid UTF-8. */
static bool utf8_step(uint32_t *st, uint8_t b)
{
    uint32_t s = *st;

    if (s == 0) {
        if (b < 0x80)
            return true;
        if (b >= 0xc2 && b <= 0xdf)
            *st = UTF8_STATE(1, 0x80, 0xbf);
        else if (b == 0xe0)
            *st = UTF8_STATE(2, 0xa0, 0xbf);
        else if (b == 0xed)
            *st = UTF8_STATE(2, 0x80, 0x9f);
        else if (b >= 0xe1 && b <= 0xef)
            *st = UTF8_STATE(2, 0x80, 0xbf);
        else if (b == 0xf0)
            *st = UTF8_STATE(3, 0x90, 0xbf);
        else if (b >= 0xf1 && b <= 0xf3)
            *st = UTF8_STATE(3, 0x80, 0xbf);
        else if (b == 0xf4)
            *st = UTF8_STATE(3, 0x80, 0x8f);
        else
            return false;
        return true;
    }
    if (b < ((s >> 8) & 0xff) || b > (s & 0xff))
        return false;
    *st = (s >> 16) == 1 ? 0 : UTF8_STATE((s >> 16) - 1, 0x80, 0xbf);
    return true;
}

/* ---- the frame checker -------------------------------------------------------------------- */

/* Records a violation: the close code to send and the message for err_set(). Returns V_FAIL. */
static int check_fail(struct ws *w, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check_fail(struct ws *w, uint16_t code, const char *fmt, ...)
{
    char detail[100];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(w->why, sizeof(w->why), "WebSocket protocol error: %s (closing with %u)", detail,
             code);
    w->fail_code = code;
    return V_FAIL;
}

/* Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry): 1000-1003,
 * 1007-1014 and the 3000-4999 range for libraries and applications. */
static bool close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Checks the first header byte: reserved bits, opcode, and where the frame may appear. */
static int check_byte0(struct ws *w, uint8_t b)
{
    unsigned op = b & 0xf;

    w->fin = (b & 0x80) != 0;
    w->op = (uint8_t)op;
    if (b & 0x70)
        return check_fail(w, WS_CLOSE_PROTOCOL, "reserved bits set (RSV=%u) with no extension",
                          (b >> 4) & 7);
    if ((op >= 3 && op <= 7) || op >= 0xb)
        return check_fail(w, WS_CLOSE_PROTOCOL, "unknown opcode 0x%x", op);
    if (op == OP_CONT && !w->in_msg)
        return check_fail(w, WS_CLOSE_PROTOCOL, "continuation frame with no message to continue");
    if ((op == OP_TEXT || op == OP_BINARY) && w->in_msg)
        return check_fail(w, WS_CLOSE_PROTOCOL, "new data frame inside a fragmented message");
    if (op >= OP_CLOSE && !w->fin)
        return check_fail(w, WS_CLOSE_PROTOCOL, "fragmented control frame (opcode 0x%x)", op);
    return V_MORE;
}

/* Checks the second header byte (mask bit, 7-bit length) and sets the header's full length. */
static int check_byte1(struct ws *w, uint8_t b)
{
    bool masked = (b & 0x80) != 0;
    unsigned len7 = b & 0x7f;

    if (w->server && !masked)
        return check_fail(w, WS_CLOSE_PROTOCOL, "unmasked frame from the client");
    if (!w->server && masked)
        return check_fail(w, WS_CLOSE_PROTOCOL, "masked frame from the server");
    if (w->op >= OP_CLOSE && len7 > 125)
        return check_fail(w, WS_CLOSE_PROTOCOL, "control frame payload over 125 bytes");
    if (w->op == OP_CLOSE && len7 == 1)
        return check_fail(w, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
    w->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
    return V_MORE;
}

/* The header's length field is complete (bytes 2, 4 or 10, before any masking key, because
 * wslay judges the length as soon as it has it): decodes the length and checks its encoding and
 * the message size limit. */
static int check_length(struct ws *w)
{
    unsigned len7 = w->hdr[1] & 0x7f;
    uint64_t len = len7;
    size_t i;

    if (len7 == 126) {
        len = ((uint64_t)w->hdr[2] << 8) | w->hdr[3];
        if (len < 126)
            return check_fail(w, WS_CLOSE_PROTOCOL, "16-bit length %u used for a short payload",
                              (unsigned)len);
    } else if (len7 == 127) {
        for (len = 0, i = 2; i < 10; i++)
            len = (len << 8) | w->hdr[i];
        if (len >> 63)
            return check_fail(w, WS_CLOSE_PROTOCOL, "payload length with the top bit set");
        if (len <= 0xffff)
            return check_fail(w, WS_CLOSE_PROTOCOL, "64-bit length %u used for a short payload",
                              (unsigned)len);
    }
    if (w->op == OP_TEXT || w->op == OP_BINARY) {
        w->in_msg = true;
        w->text = w->op == OP_TEXT;
        w->size = 0;
        w->utf8 = 0;
    }
    if (w->op < OP_CLOSE) {
        if (len > w->max_message - w->size)
            return check_fail(w, WS_CLOSE_TOO_BIG, "message over the %zu-byte limit",
                              w->max_message);
        w->size += len;
    }
    w->left = len;
    w->off = 0;
    w->close_len = 0;
    return V_MORE;
}

/* Checks the peer's complete close frame: a code (if any) that may be sent and a UTF-8
 * reason. Returns V_CLOSE with code_recv set, or V_FAIL. */
static int check_close(struct ws *w)
{
    uint32_t st = 0;
    size_t i;

    w->code_recv = WS_CLOSE_NO_STATUS;
    if (w->close_len == 0)
        return V_CLOSE;
    w->code_recv = (uint16_t)((w->close_buf[0] << 8) | w->close_buf[1]);
    if (!close_code_valid(w->code_recv))
        return check_fail(w, WS_CLOSE_PROTOCOL, "invalid close code %u", w->code_recv);
    for (i = 2; i < w->close_len; i++)
        if (!utf8_step(&st, w->close_buf[i]))
            break;
    if (i < w->close_len || st != 0)
        return check_fail(w, WS_CLOSE_BAD_DATA, "invalid UTF-8 in the close reason");
    return V_CLOSE;
}

/* The current frame's payload is complete: ends the message on a final data frame (whose text
 * must not stop inside a character) or judges a close frame. Readies the next header. */
static int check_frame_end(struct ws *w)
{
    w->hdr_len = 0;
    w->hdr_need = 2;
    if (w->op == OP_CLOSE)
        return check_close(w);
    if (w->op < OP_CLOSE && w->fin) {
        w->in_msg = false;
        if (w->text && w->utf8 != 0)
            return check_fail(w, WS_CLOSE_BAD_DATA, "text message ends inside a UTF-8 sequence");
    }
    return V_MORE;
}

/* Reads payload bytes of the current frame from buf (at most w->left): UTF-8 of text messages is
 * checked, a close frame's payload is kept, anything else is skipped. *used gets the bytes taken;
 * on V_FAIL it points at the byte that broke the rule. */
static int check_payload(struct ws *w, const uint8_t *buf, size_t len, size_t *used)
{
    bool masked = (w->hdr[1] & 0x80) != 0;
    size_t n = len < w->left ? len : (size_t)w->left;
    size_t i;

    if (w->op == OP_CLOSE) {
        for (i = 0; i < n; i++)
            w->close_buf[w->close_len++] = buf[i] ^ (masked ? w->key[(w->off + i) & 3] : 0);
    } else if (w->op < OP_CLOSE && w->text) {
        for (i = 0; i < n; i++) {
            uint8_t b = buf[i] ^ (masked ? w->key[(w->off + i) & 3] : 0);
            if (!(b < 0x80 && w->utf8 == 0) && !utf8_step(&w->utf8, b)) {
                *used = i;
                return check_fail(w, WS_CLOSE_BAD_DATA, "invalid UTF-8 in a text message");
            }
        }
    }
    w->off += n;
    w->left -= n;
    *used = n;
    return V_MORE;
}

/* Where the header's length field ends (2, 4 or 10 bytes in); 0 before the second byte. */
static unsigned length_end(const struct ws *w)
{
    unsigned len7 = w->hdr[1] & 0x7f;

    if (w->hdr_len < 2)
        return 0;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
}

/*
 * Runs the checker over buf. *pass gets how many leading bytes wslay may read: all of them while
 * everything is valid, else up to (not including) the byte where a violation was found, or the
 * first byte of the peer's close frame, so wslay can never complete an invalid frame or see a
 * close. Returns the verdict.
 */
static int check_bytes(struct ws *w, const uint8_t *buf, size_t len, size_t *pass)
{
    size_t i = 0, n;
    int v = V_MORE;

    *pass = w->op == OP_CLOSE && w->hdr_len > 0 ? 0 : len;
    while (i < len && v == V_MORE) {
        if (w->hdr_len < w->hdr_need) {
            uint8_t b = buf[i];
            w->hdr[w->hdr_len++] = b;
            if (w->hdr_len == 1) {
                v = check_byte0(w, b);
                if (w->op == OP_CLOSE && *pass > i)
                    *pass = i;
            } else if (w->hdr_len == 2) {
                v = check_byte1(w, b);
            }
            if (v == V_MORE && w->hdr_len == length_end(w))
                v = check_length(w);
            if (v == V_MORE && w->hdr_len == w->hdr_need) {
                if (w->hdr[1] & 0x80)
                    memcpy(w->key, w->hdr + w->hdr_need - 4, 4);
                if (w->left == 0)
                    v = check_frame_end(w);
            }
            if (v == V_FAIL && *pass > i)
                *pass = i;
            i++;
            continue;
        }
        v = check_payload(w, buf + i, len - i, &n);
        if (v == V_MORE && w->left == 0) {
            v = check_frame_end(w);
            /* The frame's last byte decides: keep it from wslay so wslay never ends the frame. */
            if (v == V_FAIL && n > 0)
                n--;
        }
        if (v == V_FAIL && *pass > i + n)
            *pass = i + n;
        i += n;
    }
    return v;
}

/* ---- wslay callbacks ---------------------------------------------------------------------- */

/* Gives wslay the bytes of the current ws_feed() call; reports WOULDBLOCK when they are used up
 * (STYLE.md E5). */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    struct ws *w = ud;
    size_t n = w->feed_len - w->feed_off;

    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, w->feed + w->feed_off, n);
    w->feed_off += n;
    return (ssize_t)n;
}

/* Copies wslay's output into the caller's ws_output() buffer; WOULDBLOCK when it is full. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    struct ws *w = ud;
    size_t n = w->out_cap - w->out_len;

    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(w->out + w->out_len, data, n);
    w->out_len += n;
    return (ssize_t)n;
}

/* Fills a masking key for a frame we send (client role). */
static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud)
{
    struct ws *w = ud;

    while (len > 0) {
        uint64_t r = mask_next(&w->mask_rng);
        size_t n = len < sizeof(r) ? len : sizeof(r);
        memcpy(buf, &r, n);
        buf += n;
        len -= n;
    }
    return 0;
}

/* A frame starts: the first frame of a data message empties the reassembly buffer. */
static void frame_start_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    struct ws *w = ud;

    w->rx_op = arg->opcode;
    if (arg->opcode == OP_TEXT || arg->opcode == OP_BINARY) {
        w->msg_len = 0;
        w->msg_text = arg->opcode == OP_TEXT;
    }
}

/* Payload of a data frame is appended to the message; control frames are buffered by wslay. The
 * checker has already kept the message within max_message. */
static void frame_chunk_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *ud)
{
    struct ws *w = ud;
    size_t n = arg->data_length;

    if (w->rx_op >= OP_CLOSE || n == 0)
        return;
    if (n > w->max_message - w->msg_len)
        n = w->max_message - w->msg_len;
    memcpy(w->msg + w->msg_len, arg->data, n);
    w->msg_len += n;
}

/* A whole message (from our buffer) or a ping or pong (from wslay's); wslay has already queued
 * the pong for a ping. Close frames never reach wslay. */
static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    struct ws *w = ud;

    switch (arg->opcode) {
    case OP_TEXT:
    case OP_BINARY:
        if (w->cb.on_message)
            w->cb.on_message(w->ud, w->msg_text, w->msg, w->msg_len);
        w->msg_len = 0;
        break;
    case OP_PING:
        if (w->cb.on_ping)
            w->cb.on_ping(w->ud, arg->msg, arg->msg_length);
        break;
    case OP_PONG:
        if (w->cb.on_pong)
            w->cb.on_pong(w->ud, arg->msg, arg->msg_length);
        break;
    default:
        break;
    }
}

/* ---- public API --------------------------------------------------------------------------- */

/* Creates the wslay context in the requested role with buffering off and the reassembly
 * buffer. Returns 0, -EINVAL (NULL argument) or -ENOMEM. */
int ws_init(struct ws *w, const struct ws_params *p, const struct ws_callbacks *cb, void *ud)
{
    const struct wslay_event_callbacks wcb = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .genmask_callback = genmask_cb,
        .on_frame_recv_start_callback = frame_start_cb,
        .on_frame_recv_chunk_callback = frame_chunk_cb,
        .on_msg_recv_callback = msg_cb,
    };
    int r;

    if (!w || !p || !cb)
        return err_set(-EINVAL, "ws_init: NULL argument");
    memset(w, 0, sizeof(*w));
    w->cb = *cb;
    w->ud = ud;
    w->server = p->server;
    w->max_message = p->max_message ? p->max_message : WS_DEFAULT_MAX_MESSAGE;
    w->hdr_need = 2;
    w->mask_rng = mask_seed(w);
    w->msg = malloc(w->max_message);
    if (!w->msg)
        goto err_nomem;
    if (p->server)
        r = wslay_event_context_server_init(&w->ctx, &wcb, w);
    else
        r = wslay_event_context_client_init(&w->ctx, &wcb, w);
    if (r != 0)
        goto err_free_msg;
    wslay_event_config_set_no_buffering(w->ctx, 1);
    /* The checker enforces the real limit on whole messages; wslay's per-frame check only has to
     * stay out of its way (and must let any control frame through). */
    wslay_event_config_set_max_recv_msg_length(w->ctx, w->max_message > 125 ? w->max_message : 125);
    return 0;

err_free_msg:
    free(w->msg);
    w->msg = NULL;
err_nomem:
    return err_set(-ENOMEM, "WebSocket: out of memory for a %zu-byte message buffer",
                   w->max_message);
}

/* Frees wslay's context and the buffer. Safe on a zeroed or failed-init struct. */
void ws_fini(struct ws *w)
{
    if (w->ctx)
        wslay_event_context_free(w->ctx);
    free(w->msg);
    w->ctx = NULL;
    w->msg = NULL;
}

/* Queues our close frame (once) and stops reading. */
static void queue_close(struct ws *w, uint16_t code)
{
    if (!w->close_queued && wslay_event_queue_close(w->ctx, code, NULL, 0) == 0)
        w->close_queued = true;
    wslay_event_shutdown_read(w->ctx);
}

/* See ws.h. The checker goes first; wslay then reads the valid bytes (calling our callbacks);
 * finally a violation or the peer's close is acted on. */
int ws_feed(struct ws *w, const uint8_t *buf, size_t len)
{
    size_t pass;
    int v, r;

    if (w->error)
        return err_set(w->error, "%s", w->why);
    v = check_bytes(w, buf, len, &pass);
    if (pass > 0) {
        w->feed = buf;
        w->feed_len = pass;
        w->feed_off = 0;
        wslay_event_set_error(w->ctx, 0);
        r = wslay_event_recv(w->ctx);
        w->feed = NULL;
        w->feed_len = w->feed_off = 0;
        if (r != 0) {
            snprintf(w->why, sizeof(w->why), "WebSocket: wslay failed to read (%d)", r);
            queue_close(w, WS_CLOSE_INTERNAL);
            w->error = r == WSLAY_ERR_NOMEM ? -ENOMEM : ERR_WS_PROTO;
            return err_set(w->error, "%s", w->why);
        }
    }
    if (v == V_FAIL) {
        queue_close(w, w->fail_code);
        w->error = ERR_WS_PROTO;
        return err_set(w->error, "%s", w->why);
    }
    if (v == V_CLOSE) {
        w->close_recv = true;
        /* Echo the peer's code (RFC 6455 section 5.5.1); a close without one gets 1000. */
        queue_close(w, w->code_recv == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : w->code_recv);
        snprintf(w->why, sizeof(w->why), "WebSocket closed by the peer with code %u%s%.*s",
                 w->code_recv, w->close_len > 2 ? ": " : "",
                 w->close_len > 2 ? (int)(w->close_len - 2) : 0, (const char *)w->close_buf + 2);
        w->error = ERR_WS_CLOSED;
        if (w->cb.on_close)
            w->cb.on_close(w->ud, w->code_recv, w->close_len > 2 ? w->close_buf + 2 : NULL,
                           w->close_len > 2 ? w->close_len - 2 : 0);
        return err_set(w->error, "%s", w->why);
    }
    return 0;
}

/* Queues one frame with wslay and maps its errors to ours. */
static int queue_msg(struct ws *w, uint8_t op, const void *data, size_t len)
{
    struct wslay_event_msg m = {.opcode = op, .msg = data, .msg_length = len};
    int r;

    if (op >= OP_CLOSE && len > 125)
        return err_set(-EMSGSIZE, "WebSocket control frame payload of %zu bytes (max 125)", len);
    if (w->close_queued)
        return err_set(ERR_WS_CLOSED, "WebSocket: our close frame is already queued");
    r = wslay_event_queue_msg(w->ctx, &m);
    if (r == WSLAY_ERR_NO_MORE_MSG)
        return err_set(ERR_WS_CLOSED, "WebSocket: no more frames may be sent");
    if (r == WSLAY_ERR_NOMEM)
        return err_set(-ENOMEM, "WebSocket: out of memory queueing a %zu-byte frame", len);
    if (r != 0)
        return err_set(-EINVAL, "WebSocket: wslay refused the frame (%d)", r);
    return 0;
}

/* The four senders below queue one frame each; see ws.h. */
int ws_send_text(struct ws *w, const void *msg, size_t len)
{
    return queue_msg(w, OP_TEXT, msg, len);
}

int ws_send_binary(struct ws *w, const void *msg, size_t len)
{
    return queue_msg(w, OP_BINARY, msg, len);
}

int ws_send_ping(struct ws *w, const void *payload, size_t len)
{
    return queue_msg(w, OP_PING, payload, len);
}

int ws_send_pong(struct ws *w, const void *payload, size_t len)
{
    return queue_msg(w, OP_PONG, payload, len);
}

/* Queues our close with a code we may send and an optional reason (at most 123 bytes).
 * Returns 0, -EINVAL (code), -EMSGSIZE (reason) or ERR_WS_CLOSED. */
int ws_send_close(struct ws *w, uint16_t code, const char *reason)
{
    size_t len = reason ? strlen(reason) : 0;
    int r;

    if (!close_code_valid(code))
        return err_set(-EINVAL, "WebSocket: close code %u may not be sent", code);
    if (len > 123)
        return err_set(-EMSGSIZE, "WebSocket close reason of %zu bytes (max 123)", len);
    if (w->close_queued)
        return err_set(ERR_WS_CLOSED, "WebSocket: our close frame is already queued");
    r = wslay_event_queue_close(w->ctx, code, (const uint8_t *)reason, len);
    if (r == WSLAY_ERR_NO_MORE_MSG)
        return err_set(ERR_WS_CLOSED, "WebSocket: no more frames may be sent");
    if (r == WSLAY_ERR_NOMEM)
        return err_set(-ENOMEM, "WebSocket: out of memory queueing the close frame");
    if (r != 0)
        return err_set(-EINVAL, "WebSocket: wslay refused the close frame (%d)", r);
    w->close_queued = true;
    return 0;
}

/* See ws.h. wslay writes frame by frame through send_cb until the buffer is full. */
size_t ws_output(struct ws *w, uint8_t *buf, size_t cap)
{
    size_t n;

    if (cap == 0)
        return 0;
    w->out = buf;
    w->out_cap = cap;
    w->out_len = 0;
    wslay_event_set_error(w->ctx, 0);
    /* Our callbacks never fail except for WOULDBLOCK, so wslay cannot return an error here. */
    (void)wslay_event_send(w->ctx);
    n = w->out_len;
    w->out = NULL;
    w->out_cap = w->out_len = 0;
    return n;
}

/* The accessors below report wslay's queue and close state, or ours for the peer's close. */
bool ws_want_write(const struct ws *w)
{
    return wslay_event_want_write(w->ctx) != 0;
}

bool ws_close_sent(const struct ws *w)
{
    return wslay_event_get_close_sent(w->ctx) != 0;
}

bool ws_close_received(const struct ws *w)
{
    return w->close_recv;
}

uint16_t ws_close_code_received(const struct ws *w)
{
    return w->close_recv ? w->code_recv : WS_CLOSE_ABNORMAL;
}

uint16_t ws_close_code_sent(const struct ws *w)
{
    return ws_close_sent(w) ? wslay_event_get_status_code_sent(w->ctx) : 0;
}
