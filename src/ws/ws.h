/*
 * WebSocket framing on wslay's event API, with no I/O: plaintext goes in through ws_feed(),
 * whole messages come out through callbacks, and frames to send come out of ws_output().
 *
 * Messages are reassembled into one buffer allocated at init (wslay's own per-message buffering
 * is switched off), so nothing is allocated per message. wslay answers pings with pongs by
 * itself; the caller must take ws_output() after every ws_feed() so the pong leaves at once.
 * Protocol violations (reserved bits, bad opcodes, bad fragmentation, invalid UTF-8, oversized
 * messages, bad close codes) queue a close frame with the RFC 6455 code (1002, 1007, 1009...).
 * Client role masks every frame it sends and never offers extensions.
 *
 * One thread per object.
 */
#ifndef MDF_WS_WS_H
#define MDF_WS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <wslay/wslay.h>

#define WS_DEFAULT_MAX_MESSAGE (1u << 20)

/* Close codes we send or check (RFC 6455 section 7.4.1). */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* reported when the peer's close had no code; never sent */
    WS_CLOSE_ABNORMAL = 1006,  /* reported when the stream ended without a close; never sent */
    WS_CLOSE_BAD_DATA = 1007,  /* invalid UTF-8 in a text message */
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

struct ws_callbacks {
    /* A whole message. data is borrowed for the call; text messages are valid UTF-8. */
    void (*on_message)(void *ud, bool text, const uint8_t *data, size_t len);
    /* A ping arrived (its pong is already queued). May be NULL. */
    void (*on_ping)(void *ud, const uint8_t *data, size_t len);
    /* A pong arrived. May be NULL. */
    void (*on_pong)(void *ud, const uint8_t *data, size_t len);
    /* The peer sent a close frame (code WS_CLOSE_NO_STATUS if it had none). Our close reply is
     * queued. May be NULL. */
    void (*on_close)(void *ud, uint16_t code, const uint8_t *reason, size_t len);
};

struct ws_params {
    bool server;        /* server role: expect masked frames, send unmasked */
    size_t max_message; /* largest message accepted; 0 = WS_DEFAULT_MAX_MESSAGE */
};

/* Fields are private. */
struct ws {
    wslay_event_context_ptr ctx;  /* wslay's state */
    struct ws_callbacks cb;       /* caller's callbacks */
    void *ud;                     /* caller's pointer, passed to callbacks */
    const uint8_t *feed;          /* input being fed (borrowed during ws_feed) */
    size_t feed_len, feed_off;    /* its size and how much wslay has read */
    uint8_t *msg;                 /* reassembly buffer, max_message bytes */
    size_t msg_len, max_message;  /* bytes in msg and its capacity */
    bool msg_text;                /* opcode of the message being reassembled */
    uint8_t *out;                 /* caller's buffer during ws_output */
    size_t out_cap, out_len;      /* its size and fill */
    int error;                    /* first fatal error, 0 if none */
};

/* Returns 0, -ENOMEM or -EINVAL. */
int ws_init(struct ws *w, const struct ws_params *p, const struct ws_callbacks *cb, void *ud);
void ws_fini(struct ws *w);

/*
 * Feeds plaintext received from the peer; completed messages and control frames are reported
 * through the callbacks before it returns. Returns 0 (all consumed), ERR_WS_PROTO (the peer broke
 * the protocol: a close frame with the right code is queued, send ws_output() and then drop the
 * connection; err_set() says what was wrong) or ERR_WS_CLOSED (the close handshake is done or the
 * peer closed: send ws_output() and drop).
 */
int ws_feed(struct ws *w, const uint8_t *buf, size_t len);

/* Queue one message or control frame. Return 0, -ENOMEM, -EMSGSIZE (control payload > 125),
 * or ERR_WS_CLOSED (a close was already sent). */
int ws_send_text(struct ws *w, const void *msg, size_t len);
int ws_send_binary(struct ws *w, const void *msg, size_t len);
int ws_send_ping(struct ws *w, const void *payload, size_t len);
int ws_send_pong(struct ws *w, const void *payload, size_t len);
int ws_send_close(struct ws *w, uint16_t code, const char *reason);

/* Serializes queued frames into buf. Returns bytes written (0 when nothing is queued); call
 * again while ws_want_write() is true. */
size_t ws_output(struct ws *w, uint8_t *buf, size_t cap);

bool ws_want_write(const struct ws *w); /* frames are queued */
bool ws_close_sent(const struct ws *w); /* our close frame went out */
bool ws_close_received(const struct ws *w); /* the peer's close frame arrived */
uint16_t ws_close_code_received(const struct ws *w); /* its code, or WS_CLOSE_NO_STATUS */
uint16_t ws_close_code_sent(const struct ws *w);     /* the code we sent, 0 if none */

#endif /* MDF_WS_WS_H */
