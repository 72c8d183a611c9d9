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
    wslay_event_context_ptr ctx; /* wslay's state */
    struct ws_callbacks cb;      /* caller's callbacks */
    void *ud;                    /* caller's pointer, passed to callbacks */
    const uint8_t *feed;         /* input being fed (borrowed during ws_feed) */
    size_t feed_len, feed_off;   /* its size and how much wslay has read */
    uint8_t *msg;                /* reassembly buffer, max_message bytes */
    size_t msg_len, max_message; /* bytes in msg and its capacity */
    bool msg_text;               /* opcode of the message being reassembled */
    uint8_t *out;                /* caller's buffer during ws_output */
    size_t out_cap, out_len;     /* its size and fill */
    int error;                   /* first fatal error, 0 if none */

    bool server;        /* role: expect masked frames, send unmasked */
    uint64_t mask_rng;  /* masking-key generator state, seeded from getrandom() */
    uint8_t rx_op;      /* opcode of the frame wslay is delivering */
    bool close_queued;  /* a close frame of ours is queued or sent */
    bool close_recv;    /* the peer's close frame arrived (and was valid) */
    uint16_t code_recv; /* its code, WS_CLOSE_NO_STATUS if it had none */
    char why[160];      /* what ended the connection, for err_set() on later calls */

    /* The frame checker: reads the same bytes one step ahead of wslay and holds them back from
     * the first violation (or the peer's close frame) on, so wslay only sees valid frames. */
    uint8_t hdr[14];           /* header bytes of the frame being checked */
    uint8_t hdr_len, hdr_need; /* how many arrived and how long this header is */
    uint8_t key[4];            /* its masking key (frames to a server) */
    uint8_t op;                /* its opcode */
    bool fin;                  /* its FIN bit */
    uint64_t left, off;        /* payload bytes still to come and bytes seen */
    bool in_msg;               /* a data message is open (its final frame not seen yet) */
    bool text;                 /* that message is text */
    uint64_t size;             /* its size so far, including the current frame */
    uint32_t utf8;             /* UTF-8 decoder state across its frames, 0 between chars */
    uint8_t close_buf[125];    /* payload of the peer's close frame (never given to wslay) */
    size_t close_len;          /* bytes in close_buf */
    uint16_t fail_code;        /* close code chosen by the checker for a violation */
};

/* Returns 0, -ENOMEM or -EINVAL. */
int ws_init(struct ws *w, const struct ws_params *p, const struct ws_callbacks *cb, void *ud);
void ws_fini(struct ws *w);

/*
 * Feeds plaintext received from the peer; completed messages and control frames are reported
 * through the callbacks before it returns. Returns 0 (all consumed), ERR_WS_PROTO (the peer broke
 * the protocol: a close frame with the right code is queued, send ws_output() and then drop the
 * connection; err_set() says what was wrong) or ERR_WS_CLOSED (the close handshake is done or the
 * peer closed: send ws_output() and drop); -ENOMEM only if wslay cannot buffer a control frame.
 * Invalid UTF-8 (close 1007) and oversized messages (close 1009) are ERR_WS_PROTO too. Every
 * later call returns the same error. Callbacks may queue frames but must not call ws_feed() or
 * ws_fini().
 */
int ws_feed(struct ws *w, const uint8_t *buf, size_t len);

/* Queue one message or control frame (the payload is copied). Return 0, -ENOMEM, -EMSGSIZE
 * (control payload > 125, close reason > 123), -EINVAL (a close code that may not be sent:
 * 1000-1003, 1007-1014 and 3000-4999 may), or ERR_WS_CLOSED (a close was already queued). */
int ws_send_text(struct ws *w, const void *msg, size_t len);
int ws_send_binary(struct ws *w, const void *msg, size_t len);
int ws_send_ping(struct ws *w, const void *payload, size_t len);
int ws_send_pong(struct ws *w, const void *payload, size_t len);
int ws_send_close(struct ws *w, uint16_t code, const char *reason);

/* Serializes queued frames into buf. Returns bytes written (0 when nothing is queued); call
 * again while ws_want_write() is true. */
size_t ws_output(struct ws *w, uint8_t *buf, size_t cap);

bool ws_want_write(const struct ws *w);     /* frames are queued */
bool ws_close_sent(const struct ws *w);     /* our close frame went out */
bool ws_close_received(const struct ws *w); /* the peer's valid close frame arrived */
/* Its code, WS_CLOSE_NO_STATUS if it had none, WS_CLOSE_ABNORMAL if no close arrived. */
uint16_t ws_close_code_received(const struct ws *w);
uint16_t ws_close_code_sent(const struct ws *w); /* the code we sent, 0 if none */

#endif /* MDF_WS_WS_H */
