/*
 * Conformance cases, modeled on the Autobahn test suite's groups 1-7, 9 and 10: one table of
 * scripted server behaviour that a client reaches by opening /case/<id>.
 *
 * A case is a list of steps (a frame with every header bit chosen, or a message cut into
 * fragments), sent as soon as the connection is upgraded, and an expected outcome:
 *
 *   echo   the client echoes every whole message and answers every ping; once all echoes and
 *          pongs are in, the case sends close 1000 and expects the client's close 1000;
 *   fail   a step marked bad must make the client fail the connection with one of the listed
 *          close codes; messages and pings sent before that step are still answered;
 *   close  the case sends a close and expects the client's close reply with a listed code;
 *          messages sent before the close are answered, nothing after it.
 *
 * What the client must answer is derived from the steps by a small model of a correct client
 * (whole messages before the first bad step or close, one pong per ping), so the table only
 * says what is sent. A step marked WAIT is held back until every answer owed so far has
 * arrived: a bad frame or a close sent right behind a message would otherwise race with the
 * client's echo of it (a client may send its queued close before its queued echo). Payloads are
 * generated from a seed fixed per case, and expected echoes are kept as a length and a 64-bit
 * FNV-1a hash, never as copies, so a 1 MiB case holds no more than its send buffer while starting
 * and a few words afterwards.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"

/* Opcodes (RFC 6455 section 5.2). */
enum {
    OP_CONT = 0x0,
    OP_TEXT = 0x1,
    OP_BIN = 0x2,
    OP_CLOSE = 0x8,
    OP_PING = 0x9,
    OP_PONG = 0xa,
};

#define MAX_STEPS 8                        /* steps per case */
#define MAX_CODES 3                        /* allowed close codes per case */
#define LIMIT (1u << 20)                   /* the client's default message limit (1048576) */
#define FNV_OFFSET 14695981039346656037ull /* FNV-1a 64-bit offset basis */
#define FNV_PRIME 1099511628211ull         /* FNV-1a 64-bit prime */

enum step_kind {
    ST_END = 0, /* ends the step list */
    ST_FRAME,   /* one frame, header bits as given */
    ST_FRAGS,   /* one message cut into frames of `frag` bytes (the last has FIN) */
    ST_RAW,     /* the payload bytes as they are, for what no frame header can say; the model
                   of the client ignores them, so a raw step is always marked bad */
};

enum payload_kind {
    PK_LIT = 0, /* the literal bytes lit[0..len) (empty by default) */
    PK_ASCII,   /* len printable ASCII characters, seeded */
    PK_RANDOM,  /* len random bytes, seeded */
    PK_UTF8,    /* len bytes of random valid UTF-8 (1- to 4-byte characters), seeded */
    PK_CLOSE,   /* status code, then the reason lit (or len generated ASCII bytes if lit NULL) */
};

enum outcome {
    OUT_ECHO,  /* everything answered, then a clean close 1000 started by the case */
    OUT_FAIL,  /* the client fails the connection at the bad step */
    OUT_CLOSE, /* the client replies to the case's close */
};

/* One thing a case sends. */
struct step {
    enum step_kind kind;  /* ST_END ends the list */
    bool fin;             /* ST_FRAME: the FIN bit */
    bool bad;             /* the client must fail here: nothing from this step on is answered */
    bool wait;            /* sent only once every answer owed for earlier steps has arrived */
    uint8_t rsv;          /* ST_FRAME: reserved bits, 0-7 (RSV1 = 4, RSV2 = 2, RSV3 = 1) */
    uint8_t op;           /* opcode (ST_FRAGS: of the first fragment) */
    enum payload_kind pk; /* how the payload is made */
    const char *lit;      /* PK_LIT bytes or PK_CLOSE reason */
    size_t len;           /* payload length (PK_CLOSE: reason length) */
    uint16_t code;        /* PK_CLOSE: the status code */
    size_t frag;          /* ST_FRAGS: payload bytes per fragment */
    unsigned repeat;      /* times the step is sent (fresh payload each time); 0 = once */
};

/* One conformance case. */
struct fv_case {
    const char *id;               /* Autobahn-style number, "1.1.1" */
    const char *desc;             /* one line: what is sent */
    enum outcome expect;          /* what the client must do */
    uint16_t codes[MAX_CODES];    /* close codes the client may send (0-terminated) */
    struct step steps[MAX_STEPS]; /* what is sent, in order */
};

/* One answer the client owes: a message echo or a pong. */
struct expect {
    bool text;     /* echo: a text message (pongs: unused) */
    size_t len;    /* payload length */
    uint64_t hash; /* FNV-1a of the payload */
};

/* The model of a correct client, fed every frame the case sends. */
struct model {
    bool stopped; /* a bad step or a close was sent: the client owes nothing more */
    bool in_msg;  /* a fragmented message is open */
    bool text;    /* its opcode */
    size_t len;   /* its length so far */
    uint64_t h;   /* its hash so far */
};

/* A case running on one connection. */
struct fv_case_run {
    struct fv_peer *peer;    /* borrowed: the server's connection */
    const struct fv_case *c; /* the case */
    size_t next_step;        /* the first step not sent yet (it waits for answers) */
    size_t n_steps;          /* steps in the case */
    size_t max_len;          /* the largest payload of any step */
    struct model m;          /* what a correct client owes, as frames are sent */
    struct expect *echo;     /* echoes owed, in order (new) */
    size_t n_echo, got_echo; /* how many are owed and how many arrived */
    struct expect *pong;     /* pongs owed, in order (new) */
    size_t n_pong, got_pong; /* how many are owed and how many arrived */
    bool case_closed;        /* the case has sent a close frame */
    bool close_received;     /* the client's close arrived */
    uint16_t close_code;     /* its code (1005 if it had none) */
    bool shut;               /* fv_peer_shutdown() was called */
    char fail[160];          /* the first failure seen, "" if none */
};

/* ---- the table ---------------------------------------------------------------------------- */

/*
 * Table shorthand. A step is FRAME(fin, rsv, opcode, payload...), TEXT/BIN/PING/PONG(payload...)
 * (one frame with FIN), CLOSE(code, ...) or FRAGS(opcode, fragment size, payload...); the payload
 * is LIT("bytes"), ASCII(n), RANDOM(n) or UTF8(n) (empty if none), and BAD, WAIT or REPEAT(n)
 * may follow. A case is CASE_ECHO(id, description, steps...), CASE_FAIL(id, description, code,
 * steps...) or CASE_CLOSE(id, description, code, steps...); the 2 forms take two codes.
 */
#define FRAME(fin_, rsv_, op_, ...)                                                                \
    {                                                                                              \
        .kind = ST_FRAME, .fin = (fin_), .rsv = (rsv_), .op = (op_), __VA_ARGS__                   \
    }
#define FRAGS(op_, frag_, ...)                                                                     \
    {                                                                                              \
        .kind = ST_FRAGS, .fin = true, .op = (op_), .frag = (frag_), __VA_ARGS__                   \
    }
#define RAW(...)                                                                                   \
    {                                                                                              \
        .kind = ST_RAW, .bad = true, __VA_ARGS__                                                   \
    }
#define TEXT(...) FRAME(true, 0, OP_TEXT, __VA_ARGS__)
#define BIN(...) FRAME(true, 0, OP_BIN, __VA_ARGS__)
#define PING(...) FRAME(true, 0, OP_PING, __VA_ARGS__)
#define PONG(...) FRAME(true, 0, OP_PONG, __VA_ARGS__)
#define CLOSE(code_, ...) FRAME(true, 0, OP_CLOSE, .pk = PK_CLOSE, .code = (code_), __VA_ARGS__)
#define REASON(s) .lit = (s), .len = sizeof(s) - 1
#define LIT(s) .pk = PK_LIT, .lit = (s), .len = sizeof(s) - 1
#define ASCII(n) .pk = PK_ASCII, .len = (n)
#define RANDOM(n) .pk = PK_RANDOM, .len = (n)
#define UTF8(n) .pk = PK_UTF8, .len = (n)
#define BAD .bad = true
#define WAIT .wait = true
#define REPEAT(n) .repeat = (n)

#define CASE_ECHO(id_, desc_, ...)                                                                 \
    {                                                                                              \
        .id = (id_), .desc = (desc_), .expect = OUT_ECHO, .codes = {1000}, .steps = {              \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define CASE_FAIL(id_, desc_, code_, ...)                                                          \
    {                                                                                              \
        .id = (id_), .desc = (desc_), .expect = OUT_FAIL, .codes = {(code_)}, .steps = {           \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define CASE_FAIL2(id_, desc_, c1_, c2_, ...)                                                      \
    {                                                                                              \
        .id = (id_), .desc = (desc_), .expect = OUT_FAIL, .codes = {(c1_), (c2_)}, .steps = {      \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define CASE_CLOSE(id_, desc_, code_, ...)                                                         \
    {                                                                                              \
        .id = (id_), .desc = (desc_), .expect = OUT_CLOSE, .codes = {(code_)}, .steps = {          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define CASE_CLOSE2(id_, desc_, c1_, c2_, ...)                                                     \
    {                                                                                              \
        .id = (id_), .desc = (desc_), .expect = OUT_CLOSE, .codes = {(c1_), (c2_)}, .steps = {     \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* A valid close with code X: the client replies 1000 or X. */
#define VALID_CODE(id_, x_) CASE_CLOSE2(id_, "close with valid code " #x_, 1000, x_, CLOSE(x_))
/* An invalid close code: the client fails with 1002. */
#define INVALID_CODE(id_, x_) CASE_FAIL(id_, "close with invalid code " #x_, 1002, CLOSE(x_, BAD))

/* "κόσμε" (Greek "cosmos"), the UTF-8 sample of Markus Kuhn's test file. */
#define KOSME "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
/* A line with 1- and 2-byte characters (Autobahn 6.2). */
#define UMLAUTS "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"

static const struct fv_case cases[] = {
    /* 1: framing, text and binary messages around the 7-bit, 16-bit and 64-bit length forms. */
    CASE_ECHO("1.1.1", "text, 0 bytes", TEXT(LIT(""))),
    CASE_ECHO("1.1.2", "text, 125 bytes", TEXT(ASCII(125))),
    CASE_ECHO("1.1.3", "text, 126 bytes", TEXT(ASCII(126))),
    CASE_ECHO("1.1.4", "text, 127 bytes", TEXT(ASCII(127))),
    CASE_ECHO("1.1.5", "text, 128 bytes", TEXT(ASCII(128))),
    CASE_ECHO("1.1.6", "text, 65535 bytes", TEXT(ASCII(65535))),
    CASE_ECHO("1.1.7", "text, 65536 bytes", TEXT(ASCII(65536))),
    CASE_ECHO("1.1.8", "three texts back to back (125, 126, 65536 bytes)", TEXT(ASCII(125)),
              TEXT(ASCII(126)), TEXT(ASCII(65536))),
    CASE_ECHO("1.2.1", "binary, 0 bytes", BIN(LIT(""))),
    CASE_ECHO("1.2.2", "binary, 125 bytes", BIN(RANDOM(125))),
    CASE_ECHO("1.2.3", "binary, 126 bytes", BIN(RANDOM(126))),
    CASE_ECHO("1.2.4", "binary, 127 bytes", BIN(RANDOM(127))),
    CASE_ECHO("1.2.5", "binary, 128 bytes", BIN(RANDOM(128))),
    CASE_ECHO("1.2.6", "binary, 65535 bytes", BIN(RANDOM(65535))),
    CASE_ECHO("1.2.7", "binary, 65536 bytes", BIN(RANDOM(65536))),
    CASE_ECHO("1.2.8", "binary, text, binary back to back", BIN(RANDOM(300)), TEXT(ASCII(70000)),
              BIN(RANDOM(1))),
    CASE_FAIL("1.3.1", "text of 5 bytes with a 16-bit length (not minimal)", 1002,
              RAW(LIT("\x81\x7e\x00\x05"
                      "Hello"))),
    CASE_FAIL("1.3.2", "text of 5 bytes with a 64-bit length (not minimal)", 1002,
              RAW(LIT("\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x05"
                      "Hello"))),
    CASE_FAIL("1.3.3", "binary with the top bit of its 64-bit length set", 1002,
              RAW(LIT("\x82\x7f\x80\x00\x00\x00\x00\x01\x00\x00"
                      "Hello"))),
    CASE_FAIL("1.3.4", "masked text from the server", 1002,
              RAW(LIT("\x81\x85\x01\x02\x03\x04"
                      "Igohn"))), /* "Hello" masked with 01 02 03 04 */

    /* 2: pings and pongs. */
    CASE_ECHO("2.1", "ping, empty", PING(LIT(""))),
    CASE_ECHO("2.2", "ping with a text payload", PING(LIT("Hello, world!"))),
    CASE_ECHO("2.3", "ping with a binary payload", PING(LIT("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))),
    CASE_ECHO("2.4", "ping, 125-byte payload", PING(RANDOM(125))),
    CASE_FAIL("2.5", "ping, 126-byte payload", 1002, PING(ASCII(126), BAD)),
    CASE_ECHO("2.6", "ping, 125 bytes, then a text", PING(ASCII(125)), TEXT(LIT("after ping"))),
    CASE_ECHO("2.7", "unsolicited empty pong, then a text", PONG(LIT("")), TEXT(LIT("Hello"))),
    CASE_ECHO("2.8", "unsolicited pong with payload, then a text", PONG(LIT("unsolicited")),
              TEXT(LIT("Hello"))),
    CASE_ECHO("2.9", "unsolicited pong, then a ping", PONG(LIT("unsolicited")),
              PING(LIT("solicited"))),
    CASE_ECHO("2.10", "10 pings, each a different payload", PING(ASCII(16), REPEAT(10))),
    CASE_ECHO("2.11", "ping, text, ping, binary, ping", PING(LIT("p1")), TEXT(LIT("t")),
              PING(LIT("p2")), BIN(LIT("b")), PING(LIT(""))),

    /* 3: reserved bits (no extension was negotiated, so any set bit is an error). */
    CASE_FAIL("3.1", "text with RSV1", 1002, FRAME(true, 4, OP_TEXT, LIT("Hello"), BAD)),
    CASE_FAIL("3.2", "text, then text with RSV2, then ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 2, OP_TEXT, LIT("Hello"), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("3.3", "text, then text with RSV1+RSV2, then ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 6, OP_TEXT, LIT("Hello"), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("3.4", "text, then text with RSV3, then ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 1, OP_TEXT, LIT("Hello"), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("3.5", "binary with RSV1+RSV3", 1002, FRAME(true, 5, OP_BIN, RANDOM(8), BAD)),
    CASE_FAIL("3.6", "ping with RSV2+RSV3", 1002, FRAME(true, 3, OP_PING, LIT("Hello"), BAD)),
    CASE_FAIL("3.7", "close 1000 with all three RSV bits", 1002,
              FRAME(true, 7, OP_CLOSE, .pk = PK_CLOSE, .code = 1000, BAD)),
    CASE_FAIL("3.8", "fragmented text whose continuation has RSV1", 1002,
              FRAME(false, 0, OP_TEXT, LIT("frag1")), FRAME(true, 4, OP_CONT, LIT("frag2"), BAD)),
    CASE_FAIL("3.9", "pong with RSV1, then a text", 1002, FRAME(true, 4, OP_PONG, LIT(""), BAD),
              TEXT(LIT("Hello"))),
    CASE_FAIL("3.10", "binary, 65536 bytes, with RSV2", 1002,
              FRAME(true, 2, OP_BIN, RANDOM(65536), BAD)),

    /* 4: reserved opcodes. */
    CASE_FAIL("4.1.1", "reserved data opcode 3, empty", 1002, FRAME(true, 0, 3, LIT(""), BAD)),
    CASE_FAIL("4.1.2", "reserved data opcode 4 with payload", 1002,
              FRAME(true, 0, 4, LIT("reserved"), BAD)),
    CASE_FAIL("4.1.3", "text, reserved data opcode 5, ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 0, 5, LIT(""), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("4.1.4", "text, reserved data opcode 6 with payload, ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 0, 6, LIT("reserved"), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("4.1.5", "text, reserved data opcode 7 with payload, ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 0, 7, RANDOM(200), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("4.2.1", "reserved control opcode 11, empty", 1002, FRAME(true, 0, 11, LIT(""), BAD)),
    CASE_FAIL("4.2.2", "reserved control opcode 12 with payload", 1002,
              FRAME(true, 0, 12, LIT("reserved"), BAD)),
    CASE_FAIL("4.2.3", "text, reserved control opcode 13, ping", 1002, TEXT(LIT("Hello")),
              FRAME(true, 0, 13, LIT(""), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("4.2.4", "text, reserved control opcode 14 with payload, ping", 1002,
              TEXT(LIT("Hello")), FRAME(true, 0, 14, LIT("reserved"), BAD, WAIT), PING(LIT("x"))),
    CASE_FAIL("4.2.5", "text, reserved control opcode 15 with payload, ping", 1002,
              TEXT(LIT("Hello")), FRAME(true, 0, 15, RANDOM(100), BAD, WAIT), PING(LIT("x"))),

    /* 5: fragmentation. */
    CASE_FAIL("5.1", "ping in two fragments", 1002, FRAME(false, 0, OP_PING, LIT("frag1"), BAD),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_FAIL("5.2", "pong in two fragments", 1002, FRAME(false, 0, OP_PONG, LIT("frag1"), BAD),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_ECHO("5.3", "text in two fragments", FRAME(false, 0, OP_TEXT, LIT("frag1")),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_ECHO("5.4", "text in ten fragments", FRAGS(OP_TEXT, 10, ASCII(100))),
    CASE_ECHO("5.5", "text in 1-byte fragments", FRAGS(OP_TEXT, 1, LIT("Hello, fragments"))),
    CASE_ECHO("5.6", "text in two fragments with a ping between",
              FRAME(false, 0, OP_TEXT, LIT("frag1")), PING(LIT("between")),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_ECHO("5.7", "text in three fragments with a ping after each of the first two",
              FRAME(false, 0, OP_TEXT, LIT("A")), PING(LIT("p1")),
              FRAME(false, 0, OP_CONT, LIT("B")), PING(LIT("p2")),
              FRAME(true, 0, OP_CONT, LIT("C"))),
    CASE_ECHO("5.8", "text in two fragments with an unsolicited pong between",
              FRAME(false, 0, OP_TEXT, LIT("frag1")), PONG(LIT("between")),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_FAIL("5.9", "continuation (FIN) with no message started", 1002,
              FRAME(true, 0, OP_CONT, LIT("orphan"), BAD)),
    CASE_FAIL("5.10", "continuation (no FIN) with no message started, then its end", 1002,
              FRAME(false, 0, OP_CONT, LIT("orphan"), BAD), FRAME(true, 0, OP_CONT, LIT("end"))),
    CASE_FAIL("5.11", "text, then a continuation after the message ended", 1002, TEXT(LIT("Hello")),
              FRAME(true, 0, OP_CONT, LIT("orphan"), BAD, WAIT)),
    CASE_FAIL("5.12", "text started, then a new text instead of a continuation", 1002,
              FRAME(false, 0, OP_TEXT, LIT("frag1")), FRAME(true, 0, OP_TEXT, LIT("frag2"), BAD)),
    CASE_FAIL("5.13", "binary started, then a new binary instead of a continuation", 1002,
              FRAME(false, 0, OP_BIN, RANDOM(10)), FRAME(true, 0, OP_BIN, RANDOM(10), BAD)),
    CASE_FAIL("5.14", "text started, then a binary instead of a continuation", 1002,
              FRAME(false, 0, OP_TEXT, LIT("frag1")), FRAME(true, 0, OP_BIN, RANDOM(10), BAD)),
    CASE_FAIL("5.15", "text in two fragments, then one continuation too many", 1002,
              FRAME(false, 0, OP_TEXT, LIT("a")), FRAME(true, 0, OP_CONT, LIT("b")),
              FRAME(true, 0, OP_CONT, LIT("c"), BAD, WAIT)),
    CASE_ECHO("5.16", "text made of three empty fragments", FRAME(false, 0, OP_TEXT, LIT("")),
              FRAME(false, 0, OP_CONT, LIT("")), FRAME(true, 0, OP_CONT, LIT(""))),
    CASE_ECHO("5.17", "text: empty first and last fragments around one with data",
              FRAME(false, 0, OP_TEXT, LIT("")), FRAME(false, 0, OP_CONT, LIT("middle")),
              FRAME(true, 0, OP_CONT, LIT(""))),
    CASE_ECHO("5.18", "binary in three fragments", FRAGS(OP_BIN, 100, RANDOM(300))),
    CASE_ECHO("5.19", "text in two fragments with two pings between",
              FRAME(false, 0, OP_TEXT, LIT("frag1")), PING(LIT("p1")), PING(LIT("p2")),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_FAIL("5.20", "text in two fragments with a fragmented ping between", 1002,
              FRAME(false, 0, OP_TEXT, LIT("frag1")), FRAME(false, 0, OP_PING, LIT("p"), BAD),
              FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_ECHO("5.21", "binary in 1-byte fragments", FRAGS(OP_BIN, 1, RANDOM(64))),
    CASE_ECHO("5.22", "two fragmented messages back to back", FRAGS(OP_TEXT, 3, ASCII(10)),
              FRAGS(OP_BIN, 4, RANDOM(10))),

    /* 6: UTF-8 in text messages; valid text is echoed, invalid text fails with 1007. */
    CASE_ECHO("6.1.1", "text, empty (valid UTF-8)", TEXT(LIT(""))),
    CASE_ECHO("6.1.2", "text of two empty fragments", FRAME(false, 0, OP_TEXT, LIT("")),
              FRAME(true, 0, OP_CONT, LIT(""))),
    CASE_ECHO("6.2.1", "1- and 2-byte characters", TEXT(LIT(UMLAUTS))),
    CASE_ECHO("6.2.2", "1- and 2-byte characters, two fragments cut between characters",
              FRAME(false, 0, OP_TEXT, LIT("Hello-\xc2\xb5@\xc3\x9f")),
              FRAME(true, 0, OP_CONT,
                    LIT("\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1"
                        "-UTF-8!!"))),
    CASE_ECHO("6.2.3", "1- and 2-byte characters in 1-byte fragments",
              FRAGS(OP_TEXT, 1, LIT(UMLAUTS))),
    CASE_ECHO("6.3.1", "Greek 2- and 3-byte characters", TEXT(LIT(KOSME))),
    CASE_ECHO("6.3.2", "Greek 2- and 3-byte characters in 1-byte fragments",
              FRAGS(OP_TEXT, 1, LIT(KOSME))),
    CASE_ECHO("6.4.1", "boundaries U+0000 and U+007F", TEXT(LIT("\x00\x7f"))),
    CASE_ECHO("6.4.2", "boundaries U+0080 and U+07FF", TEXT(LIT("\xc2\x80\xdf\xbf"))),
    CASE_ECHO("6.4.3", "boundaries U+0800 and U+FFFF", TEXT(LIT("\xe0\xa0\x80\xef\xbf\xbf"))),
    CASE_ECHO("6.4.4", "boundaries U+10000 and U+10FFFF",
              TEXT(LIT("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"))),
    CASE_ECHO("6.4.5", "around the surrogates: U+D7FF and U+E000",
              TEXT(LIT("\xed\x9f\xbf\xee\x80\x80"))),
    CASE_ECHO("6.4.6", "U+FFFD and the noncharacter U+FFFE", TEXT(LIT("\xef\xbf\xbd\xef\xbf\xbe"))),
    CASE_ECHO("6.4.7", "4-byte character split across two fragments",
              FRAME(false, 0, OP_TEXT, LIT("\xf0\x9f")), FRAME(true, 0, OP_CONT, LIT("\x98\x80"))),
    CASE_ECHO("6.4.8", "3-byte character in 1-byte fragments",
              FRAGS(OP_TEXT, 1, LIT("\xe2\x82\xac"))),
    CASE_ECHO("6.4.9", "4-byte characters in 1-byte fragments",
              FRAGS(OP_TEXT, 1, LIT("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"))),
    CASE_ECHO("6.4.10", "4096 bytes of random UTF-8 in 7-byte fragments",
              FRAGS(OP_TEXT, 7, UTF8(4096))),
    CASE_ECHO("6.4.11", "65536 bytes of random UTF-8", TEXT(UTF8(65536))),
    CASE_FAIL("6.5.1", "beyond U+10FFFF: U+110000", 1007, TEXT(LIT("\xf4\x90\x80\x80"), BAD)),
    CASE_FAIL("6.5.2", "beyond U+10FFFF: U+1FFFFF", 1007, TEXT(LIT("\xf7\xbf\xbf\xbf"), BAD)),
    CASE_FAIL("6.5.3", "5-byte sequence", 1007, TEXT(LIT("\xf8\x88\x80\x80\x80"), BAD)),
    CASE_FAIL("6.5.4", "6-byte sequence", 1007, TEXT(LIT("\xfc\x84\x80\x80\x80\x80"), BAD)),
    CASE_FAIL("6.5.5", "byte 0xFE", 1007, TEXT(LIT("\xfe"), BAD)),
    CASE_FAIL("6.5.6", "byte 0xFF", 1007, TEXT(LIT("\xff"), BAD)),
    CASE_FAIL("6.6.1", "overlong '/' in 2 bytes", 1007, TEXT(LIT("\xc0\xaf"), BAD)),
    CASE_FAIL("6.6.2", "overlong '/' in 3 bytes", 1007, TEXT(LIT("\xe0\x80\xaf"), BAD)),
    CASE_FAIL("6.6.3", "overlong '/' in 4 bytes", 1007, TEXT(LIT("\xf0\x80\x80\xaf"), BAD)),
    CASE_FAIL("6.6.4", "largest overlong 2-byte sequence", 1007, TEXT(LIT("\xc1\xbf"), BAD)),
    CASE_FAIL("6.6.5", "largest overlong 3-byte sequence", 1007, TEXT(LIT("\xe0\x9f\xbf"), BAD)),
    CASE_FAIL("6.6.6", "largest overlong 4-byte sequence", 1007,
              TEXT(LIT("\xf0\x8f\xbf\xbf"), BAD)),
    CASE_FAIL("6.6.7", "overlong NUL", 1007, TEXT(LIT("\xc0\x80"), BAD)),
    CASE_FAIL("6.7.1", "surrogate U+D800", 1007, TEXT(LIT("\xed\xa0\x80"), BAD)),
    CASE_FAIL("6.7.2", "surrogate U+DB7F", 1007, TEXT(LIT("\xed\xad\xbf"), BAD)),
    CASE_FAIL("6.7.3", "surrogate U+DC00", 1007, TEXT(LIT("\xed\xb0\x80"), BAD)),
    CASE_FAIL("6.7.4", "surrogate U+DFFF", 1007, TEXT(LIT("\xed\xbf\xbf"), BAD)),
    CASE_FAIL("6.7.5", "surrogate pair U+D800 U+DC00", 1007,
              TEXT(LIT("\xed\xa0\x80\xed\xb0\x80"), BAD)),
    CASE_FAIL("6.8.1", "bare continuation byte 0x80", 1007, TEXT(LIT("\x80"), BAD)),
    CASE_FAIL("6.8.2", "bare continuation byte 0xBF", 1007, TEXT(LIT("\xbf"), BAD)),
    CASE_FAIL("6.8.3", "valid text, then two bare continuation bytes", 1007,
              TEXT(LIT(KOSME "\x80\xbf"), BAD)),
    CASE_FAIL("6.8.4", "2-byte start followed by ASCII", 1007, TEXT(LIT("\xc2\x41"), BAD)),
    CASE_FAIL("6.8.5", "3-byte start and one continuation, then a space", 1007,
              TEXT(LIT("\xe0\xa0\x20"), BAD)),
    CASE_FAIL("6.9.1", "message of a lone 2-byte start", 1007, TEXT(LIT("\xce"), BAD)),
    CASE_FAIL("6.9.2", "valid text truncated inside a 2-byte character", 1007,
              TEXT(LIT(KOSME "\xce"), BAD)),
    CASE_FAIL("6.9.3", "truncated 3-byte character at the end", 1007,
              TEXT(LIT("abc\xe0\xa0"), BAD)),
    CASE_FAIL("6.9.4", "truncated 4-byte character at the end", 1007,
              TEXT(LIT("abc\xf0\x90\x80"), BAD)),
    CASE_FAIL("6.10.1", "surrogate split across two fragments", 1007,
              FRAME(false, 0, OP_TEXT, LIT(KOSME "\xed"), BAD),
              FRAME(true, 0, OP_CONT,
                    LIT("\xa0\x80"
                        "edited"))),
    CASE_FAIL("6.10.2", "fragmented text truncated in its last fragment", 1007,
              FRAME(false, 0, OP_TEXT, LIT(KOSME), BAD), FRAME(true, 0, OP_CONT, LIT("\xce"))),
    CASE_FAIL("6.10.3", "invalid text in 1-byte fragments", 1007,
              FRAGS(OP_TEXT, 1,
                    LIT(KOSME "\xed\xa0\x80"
                              "edited"),
                    BAD)),
    CASE_FAIL("6.10.4", "valid first fragment, overlong sequence in the last", 1007,
              FRAME(false, 0, OP_TEXT, LIT("valid"), BAD),
              FRAME(true, 0, OP_CONT, LIT("\xc0\xaf"))),
    CASE_FAIL("6.10.5", "a valid text, then an invalid one", 1007, TEXT(LIT("before")),
              TEXT(LIT("\xed\xa0\x80"), BAD, WAIT)),
    CASE_FAIL("6.10.6", "4096 bytes of UTF-8 in 64-byte fragments, then 0xFF", 1007,
              FRAGS(OP_TEXT, 64, UTF8(4096)), TEXT(LIT("ok\xff"), BAD, WAIT)),

    /* 7: the close handshake. */
    CASE_CLOSE("7.1.1", "text, then close 1000 after its echo", 1000, TEXT(LIT("Hello")),
               CLOSE(1000, WAIT)),
    CASE_CLOSE("7.1.2", "close 1000 twice", 1000, CLOSE(1000), CLOSE(1000)),
    CASE_CLOSE("7.1.3", "close 1000, then a ping (no pong owed)", 1000, CLOSE(1000),
               PING(LIT("after close"))),
    CASE_CLOSE("7.1.4", "close 1000, then a text (no echo owed)", 1000, CLOSE(1000),
               TEXT(LIT("after close"))),
    CASE_CLOSE("7.1.5", "text started, close 1000, then its last fragment", 1000,
               FRAME(false, 0, OP_TEXT, LIT("frag1")), CLOSE(1000),
               FRAME(true, 0, OP_CONT, LIT("frag2"))),
    CASE_CLOSE("7.1.6", "text of 256 KiB, close 1000 after its echo, then a ping", 1000,
               TEXT(ASCII(262144)), CLOSE(1000, WAIT), PING(LIT("after close"))),
    CASE_CLOSE2("7.3.1", "close with no payload", 1000, 1005, FRAME(true, 0, OP_CLOSE, LIT(""))),
    CASE_FAIL("7.3.2", "close with a 1-byte payload", 1002,
              FRAME(true, 0, OP_CLOSE, LIT("\x03"), BAD)),
    CASE_CLOSE("7.3.3", "close 1000 with no reason", 1000, CLOSE(1000)),
    CASE_CLOSE("7.3.4", "close 1000 with a reason", 1000, CLOSE(1000, REASON("Hello World!"))),
    CASE_CLOSE("7.3.5", "close 1000 with a 123-byte reason (125-byte payload)", 1000,
               CLOSE(1000, .len = 123)),
    CASE_FAIL("7.3.6", "close 1000 with a 124-byte reason (126-byte payload)", 1002,
              CLOSE(1000, .len = 124, BAD)),
    CASE_FAIL2("7.5.1", "close 1000 with a reason that is not UTF-8", 1007, 1002,
               CLOSE(1000,
                     REASON(KOSME "\xed\xa0\x80"
                                  "edited"),
                     BAD)),
    CASE_FAIL2("7.5.2", "close 1000 with a reason truncated inside a character", 1007, 1002,
               CLOSE(1000, REASON("bye\xce"), BAD)),
    VALID_CODE("7.7.1", 1000),
    VALID_CODE("7.7.2", 1001),
    VALID_CODE("7.7.3", 1002),
    VALID_CODE("7.7.4", 1003),
    VALID_CODE("7.7.5", 1007),
    VALID_CODE("7.7.6", 1008),
    VALID_CODE("7.7.7", 1009),
    VALID_CODE("7.7.8", 1010),
    VALID_CODE("7.7.9", 1011),
    VALID_CODE("7.7.10", 3000),
    VALID_CODE("7.7.11", 3999),
    VALID_CODE("7.7.12", 4000),
    VALID_CODE("7.7.13", 4999),
    INVALID_CODE("7.9.1", 0),
    INVALID_CODE("7.9.2", 999),
    INVALID_CODE("7.9.3", 1004),
    INVALID_CODE("7.9.4", 1005),
    INVALID_CODE("7.9.5", 1006),
    INVALID_CODE("7.9.6", 1015),
    INVALID_CODE("7.9.7", 1016),
    INVALID_CODE("7.9.8", 1100),
    INVALID_CODE("7.9.9", 2000),
    INVALID_CODE("7.9.10", 2999),
    INVALID_CODE("7.9.11", 5000),
    INVALID_CODE("7.9.12", 65535),

    /* 9: limits; the client accepts messages up to exactly its 1 MiB default. */
    CASE_ECHO("9.1.1", "text, 64 KiB", TEXT(ASCII(65536))),
    CASE_ECHO("9.1.2", "text, 256 KiB", TEXT(ASCII(262144))),
    CASE_ECHO("9.1.3", "text, 1 MiB (the limit)", TEXT(ASCII(LIMIT))),
    CASE_ECHO("9.2.1", "binary, 64 KiB", BIN(RANDOM(65536))),
    CASE_ECHO("9.2.2", "binary, 256 KiB", BIN(RANDOM(262144))),
    CASE_ECHO("9.2.3", "binary, 1 MiB (the limit)", BIN(RANDOM(LIMIT))),
    CASE_ECHO("9.3.1", "UTF-8 text, 64 KiB in 64-byte fragments", FRAGS(OP_TEXT, 64, UTF8(65536))),
    CASE_ECHO("9.3.2", "UTF-8 text, 256 KiB in 64-byte fragments",
              FRAGS(OP_TEXT, 64, UTF8(262144))),
    CASE_ECHO("9.3.3", "UTF-8 text, 1 MiB in 64-byte fragments", FRAGS(OP_TEXT, 64, UTF8(LIMIT))),
    CASE_ECHO("9.3.4", "UTF-8 text, 64 KiB in 4 KiB fragments", FRAGS(OP_TEXT, 4096, UTF8(65536))),
    CASE_ECHO("9.3.5", "UTF-8 text, 256 KiB in 4 KiB fragments",
              FRAGS(OP_TEXT, 4096, UTF8(262144))),
    CASE_ECHO("9.3.6", "UTF-8 text, 1 MiB in 4 KiB fragments", FRAGS(OP_TEXT, 4096, UTF8(LIMIT))),
    CASE_ECHO("9.4.1", "binary, 64 KiB in 64-byte fragments", FRAGS(OP_BIN, 64, RANDOM(65536))),
    CASE_ECHO("9.4.2", "binary, 256 KiB in 64-byte fragments", FRAGS(OP_BIN, 64, RANDOM(262144))),
    CASE_ECHO("9.4.3", "binary, 1 MiB in 64-byte fragments", FRAGS(OP_BIN, 64, RANDOM(LIMIT))),
    CASE_ECHO("9.4.4", "binary, 64 KiB in 4 KiB fragments", FRAGS(OP_BIN, 4096, RANDOM(65536))),
    CASE_ECHO("9.4.5", "binary, 256 KiB in 4 KiB fragments", FRAGS(OP_BIN, 4096, RANDOM(262144))),
    CASE_ECHO("9.4.6", "binary, 1 MiB in 4 KiB fragments", FRAGS(OP_BIN, 4096, RANDOM(LIMIT))),
    CASE_FAIL("9.5.1", "text, 1 MiB + 1 byte", 1009, TEXT(ASCII(LIMIT + 1), BAD)),
    CASE_FAIL("9.5.2", "binary, 1 MiB + 1 byte", 1009, BIN(RANDOM(LIMIT + 1), BAD)),
    CASE_FAIL("9.5.3", "UTF-8 text, 1 MiB + 1 byte in 4 KiB fragments", 1009,
              FRAGS(OP_TEXT, 4096, UTF8(LIMIT + 1), BAD)),
    CASE_FAIL("9.5.4", "binary, 1 MiB + 1 byte in 64 KiB fragments", 1009,
              FRAGS(OP_BIN, 65536, RANDOM(LIMIT + 1), BAD)),
    CASE_FAIL("9.5.5", "text of 256 KiB, then a binary of 1 MiB + 1 byte", 1009,
              TEXT(ASCII(262144)), BIN(RANDOM(LIMIT + 1), BAD, WAIT)),

    /* 10: one 64 KiB message cut at many fragment sizes. */
    CASE_ECHO("10.1.1", "text, 64 KiB in 1-byte fragments", FRAGS(OP_TEXT, 1, ASCII(65536))),
    CASE_ECHO("10.1.2", "UTF-8 text, 64 KiB in 64-byte fragments", FRAGS(OP_TEXT, 64, UTF8(65536))),
    CASE_ECHO("10.1.3", "UTF-8 text, 64 KiB in 256-byte fragments",
              FRAGS(OP_TEXT, 256, UTF8(65536))),
    CASE_ECHO("10.1.4", "UTF-8 text, 64 KiB in 1 KiB fragments", FRAGS(OP_TEXT, 1024, UTF8(65536))),
    CASE_ECHO("10.1.5", "UTF-8 text, 64 KiB in 4 KiB fragments", FRAGS(OP_TEXT, 4096, UTF8(65536))),
    CASE_ECHO("10.1.6", "UTF-8 text, 64 KiB in 65535-byte fragments",
              FRAGS(OP_TEXT, 65535, UTF8(65536))),
    CASE_ECHO("10.2.1", "binary, 64 KiB in 1-byte fragments", FRAGS(OP_BIN, 1, RANDOM(65536))),
    CASE_ECHO("10.2.2", "binary, 64 KiB in 256-byte fragments", FRAGS(OP_BIN, 256, RANDOM(65536))),
    CASE_ECHO("10.2.3", "binary, 64 KiB in 4 KiB fragments", FRAGS(OP_BIN, 4096, RANDOM(65536))),
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- payloads ----------------------------------------------------------------------------- */

/* Folds bytes into an FNV-1a hash. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* splitmix64: the next random word of the payload generator. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Writes n bytes of random valid UTF-8: characters of 1 to 4 bytes, never a surrogate, the last
 * ones shortened so the text ends exactly at n on a character boundary. */
static void fill_utf8(uint8_t *out, size_t n, uint64_t *s)
{
    size_t i = 0;

    while (i < n) {
        uint64_t r = rng_next(s);
        size_t clen = 1 + (r & 3);
        uint32_t cp;

        if (clen > n - i)
            clen = n - i;
        r >>= 2;
        switch (clen) {
        case 1:
            out[i] = (uint8_t)(0x20 + r % 95);
            break;
        case 2:
            cp = 0x80 + (uint32_t)(r % (0x800 - 0x80));
            out[i] = (uint8_t)(0xc0 | cp >> 6);
            out[i + 1] = (uint8_t)(0x80 | (cp & 0x3f));
            break;
        case 3:
            cp = 0x800 + (uint32_t)(r % (0x10000 - 0x800 - 0x800));
            if (cp >= 0xd800)
                cp += 0x800; /* skip the surrogates U+D800..U+DFFF */
            out[i] = (uint8_t)(0xe0 | cp >> 12);
            out[i + 1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            out[i + 2] = (uint8_t)(0x80 | (cp & 0x3f));
            break;
        default:
            cp = 0x10000 + (uint32_t)(r % (0x110000 - 0x10000));
            out[i] = (uint8_t)(0xf0 | cp >> 18);
            out[i + 1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
            out[i + 2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            out[i + 3] = (uint8_t)(0x80 | (cp & 0x3f));
            break;
        }
        i += clen;
    }
}

/* The payload length of one sending of step s. */
static size_t payload_len(const struct step *s)
{
    return s->pk == PK_CLOSE ? 2 + s->len : s->len;
}

/* Writes the payload of step s (payload_len(s) bytes) into out, from seed. */
static void payload_fill(const struct step *s, uint64_t seed, uint8_t *out)
{
    uint64_t st = seed;
    size_t i;

    switch (s->pk) {
    case PK_LIT:
        if (s->len)
            memcpy(out, s->lit, s->len);
        break;
    case PK_ASCII:
        for (i = 0; i < s->len; i++)
            out[i] = (uint8_t)(0x20 + rng_next(&st) % 95);
        break;
    case PK_RANDOM:
        for (i = 0; i < s->len; i++)
            out[i] = (uint8_t)rng_next(&st);
        break;
    case PK_UTF8:
        fill_utf8(out, s->len, &st);
        break;
    case PK_CLOSE:
        out[0] = (uint8_t)(s->code >> 8);
        out[1] = (uint8_t)s->code;
        if (s->lit) {
            memcpy(out + 2, s->lit, s->len);
        } else {
            for (i = 0; i < s->len; i++)
                out[2 + i] = (uint8_t)('a' + rng_next(&st) % 26);
        }
        break;
    }
}

/* ---- running a case ----------------------------------------------------------------------- */

/* Finds a case by id, or NULL. */
static const struct fv_case *find_case(const char *id)
{
    for (size_t i = 0; i < N_CASES; i++) {
        if (strcmp(cases[i].id, id) == 0)
            return &cases[i];
    }
    return NULL;
}

/* Writes the allowed close codes as "1007|1002". */
static void codes_str(const struct fv_case *c, char *buf, size_t cap)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < MAX_CODES && c->codes[i] && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%u", i ? "|" : "", c->codes[i]);
}

/* True if code is one the case accepts from the client. */
static bool code_allowed(const struct fv_case *c, uint16_t code)
{
    for (int i = 0; i < MAX_CODES && c->codes[i]; i++) {
        if (c->codes[i] == code)
            return true;
    }
    return false;
}

/* Records the first failure and ends the connection: a client that got it wrong may never
 * close by itself. */
static void __attribute__((format(printf, 2, 3))) fail(struct fv_case_run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->fail[0])
        return;
    va_start(ap, fmt);
    vsnprintf(r->fail, sizeof(r->fail), fmt, ap);
    va_end(ap);
    if (!r->shut) {
        r->shut = true;
        fv_peer_shutdown(r->peer);
    }
}

/* The client answered with something it did not owe (what: "echo", "pong"). */
static void unexpected(struct fv_case_run *r, const char *what)
{
    char codes[32];

    if (r->c->expect == OUT_ECHO && !r->case_closed) {
        fail(r, "unexpected %s", what);
        return;
    }
    codes_str(r->c, codes, sizeof(codes));
    fail(r, "expected close %s, got %s", codes, what);
}

/* Sends one frame and tells the model of a correct client what it owes for it. */
static void send_frame(struct fv_case_run *r, struct model *m, bool fin, unsigned rsv, unsigned op,
                       const uint8_t *data, size_t len)
{
    struct expect *e;

    fv_peer_send_frame(r->peer, fin, rsv, op, data, len);
    if (op == OP_CLOSE)
        r->case_closed = true;
    if (m->stopped)
        return;
    switch (op) {
    case OP_TEXT:
    case OP_BIN:
        m->in_msg = true;
        m->text = op == OP_TEXT;
        m->len = 0;
        m->h = FNV_OFFSET;
        /* fall through */
    case OP_CONT:
        m->len += len;
        m->h = fnv(m->h, data, len);
        if (fin && m->in_msg) {
            e = &r->echo[r->n_echo++];
            e->text = m->text;
            e->len = m->len;
            e->hash = m->h;
            m->in_msg = false;
        }
        break;
    case OP_PING:
        e = &r->pong[r->n_pong++];
        e->len = len;
        e->hash = fnv(FNV_OFFSET, data, len);
        break;
    case OP_CLOSE:
        m->stopped = true;
        break;
    default:
        break;
    }
}

/* Sends every sending of step s (index i), fragmenting as it says. buf holds any payload. */
static void send_step(struct fv_case_run *r, const struct step *s, size_t i, uint8_t *buf)
{
    struct model *m = &r->m;
    unsigned reps = s->repeat ? s->repeat : 1;
    size_t len = payload_len(s);

    if (s->bad)
        m->stopped = true;
    for (unsigned rep = 0; rep < reps; rep++) {
        uint64_t seed = fnv(FNV_OFFSET, (const uint8_t *)r->c->id, strlen(r->c->id));

        payload_fill(s, seed + i * 1000003u + rep, buf);
        if (s->kind == ST_RAW) {
            fv_peer_send_raw(r->peer, buf, len);
            continue;
        }
        if (s->kind == ST_FRAME) {
            send_frame(r, m, s->fin, s->rsv, s->op, buf, len);
            continue;
        }
        size_t frag = s->frag ? s->frag : len, off = 0;
        do {
            size_t n = len - off < frag ? len - off : frag;
            send_frame(r, m, off + n == len, 0, off == 0 ? s->op : OP_CONT, buf + off, n);
            off += n;
        } while (off < len);
    }
}

/* Allocates or aborts: the fake venue has no use for a half-started case. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p) {
        fv_log("cases: out of memory");
        abort();
    }
    return p;
}

/*
 * Moves the case on once the client has answered everything owed so far: sends the steps held
 * back by WAIT (up to the next WAIT step) and, in an echo case with every step sent, starts the
 * close handshake. The payload buffer lives only while steps are being sent.
 */
static void progress(struct fv_case_run *r)
{
    static const uint8_t normal[2] = {1000 >> 8, 1000 & 0xff};

    while (!r->fail[0] && !r->close_received && r->got_echo == r->n_echo &&
           r->got_pong == r->n_pong) {
        if (r->next_step == r->n_steps) {
            if (r->c->expect == OUT_ECHO && !r->case_closed) {
                r->case_closed = true;
                fv_peer_send_frame(r->peer, true, 0, OP_CLOSE, normal, sizeof(normal));
            }
            return;
        }
        uint8_t *buf = xcalloc(r->max_len, 1);
        do {
            send_step(r, &r->c->steps[r->next_step], r->next_step, buf);
            r->next_step++;
        } while (r->next_step < r->n_steps && !r->c->steps[r->next_step].wait);
        free(buf);
    }
}

bool fv_case_exists(const char *id)
{
    return find_case(id) != NULL;
}

void fv_case_list(FILE *out)
{
    char codes[32];

    for (size_t i = 0; i < N_CASES; i++) {
        const struct fv_case *c = &cases[i];

        codes_str(c, codes, sizeof(codes));
        fprintf(out, "%s\t%s%s\t%s\n", c->id, c->expect == OUT_ECHO ? "echo" : "close ",
                c->expect == OUT_ECHO ? "" : codes, c->desc);
    }
}

struct fv_case_run *fv_case_start(struct fv_peer *p, const char *id)
{
    const struct fv_case *c = find_case(id);
    struct fv_case_run *r;
    size_t max_echo = 0, max_pong = 0, max_len = 0, n = 0;

    if (!c)
        return NULL;
    /* Bound what the client can owe: one echo per message, one pong per ping. */
    for (; n < MAX_STEPS && c->steps[n].kind != ST_END; n++) {
        const struct step *s = &c->steps[n];
        size_t reps = s->repeat ? s->repeat : 1;

        if (s->kind == ST_FRAGS || (s->kind == ST_FRAME && s->op <= OP_BIN && s->fin))
            max_echo += reps;
        else if (s->kind == ST_FRAME && s->op == OP_PING)
            max_pong += reps;
        if (payload_len(s) > max_len)
            max_len = payload_len(s);
    }
    r = xcalloc(1, sizeof(*r));
    r->peer = p;
    r->c = c;
    r->echo = xcalloc(max_echo, sizeof(*r->echo));
    r->pong = xcalloc(max_pong, sizeof(*r->pong));
    r->n_steps = n;
    r->max_len = max_len;
    progress(r);
    return r;
}

void fv_case_on_message(struct fv_case_run *r, bool text, const uint8_t *data, size_t len)
{
    const struct expect *e;
    size_t n;

    if (r->got_echo == r->n_echo) {
        unexpected(r, "echo");
        return;
    }
    e = &r->echo[r->got_echo++];
    n = r->got_echo;
    if (e->text != text)
        fail(r, "echo %zu is %s, expected %s", n, text ? "text" : "binary",
             e->text ? "text" : "binary");
    else if (e->len != len)
        fail(r, "echo %zu has %zu bytes, expected %zu", n, len, e->len);
    else if (fnv(FNV_OFFSET, data, len) != e->hash)
        fail(r, "echo %zu payload differs", n);
    progress(r);
}

void fv_case_on_pong(struct fv_case_run *r, const uint8_t *data, size_t len)
{
    const struct expect *e;
    size_t n;

    if (r->got_pong == r->n_pong) {
        unexpected(r, "pong");
        return;
    }
    e = &r->pong[r->got_pong++];
    n = r->got_pong;
    if (e->len != len)
        fail(r, "pong %zu has %zu bytes, expected %zu", n, len, e->len);
    else if (fnv(FNV_OFFSET, data, len) != e->hash)
        fail(r, "pong %zu payload differs", n);
    progress(r);
}

void fv_case_on_close(struct fv_case_run *r, uint16_t code)
{
    if (r->close_received)
        return;
    r->close_received = true;
    r->close_code = code;
}

void fv_case_on_disconnect(struct fv_case_run *r)
{
    char codes[32], got[32] = "";

    r->shut = true; /* the connection is gone: fail() must not shut it down */
    codes_str(r->c, codes, sizeof(codes));
    if (r->close_received)
        snprintf(got, sizeof(got), ", got close %u", r->close_code);
    if (!r->fail[0]) {
        if (r->got_echo < r->n_echo)
            fail(r, "missing echo %zu of %zu%s", r->got_echo + 1, r->n_echo, got);
        else if (r->got_pong < r->n_pong)
            fail(r, "missing pong %zu of %zu%s", r->got_pong + 1, r->n_pong, got);
        else if (!r->close_received)
            fail(r, "no close received");
        else if (!code_allowed(r->c, r->close_code))
            fail(r, "expected close %s, got close %u", codes, r->close_code);
    }
    if (r->fail[0])
        fv_log("case %s FAIL %s", r->c->id, r->fail);
    else
        fv_log("case %s PASS", r->c->id);
    free(r->echo);
    free(r->pong);
    free(r);
}
