/*
 * Tests of src/ws/ws.c over the real wslay: scripted server frames (built with ws_frame_encode)
 * are fed to a client-role struct ws whole, one byte at a time and in random pieces, as wslay's
 * own tests do. What the client sends is checked by feeding it to a server-role struct ws (which
 * reports pongs and close codes through its callbacks) or by decoding it byte by byte.
 */
#include <errno.h>

#include "core/err.h"
#include "test.h"
#include "ws/ws.h"
#include "ws/ws_frame.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A growable byte buffer (tests may allocate freely). */
struct bytes {
    uint8_t *p;      /* contents */
    size_t len, cap; /* fill and size */
};

static void bytes_put(struct bytes *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ASSERT(b->p != NULL);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void bytes_free(struct bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Appends one frame from the server (unmasked) or, with mask, from a client. */
static void add_frame_m(struct bytes *b, bool fin, unsigned rsv, unsigned op, const void *payload,
                        size_t len, const uint8_t *mask)
{
    size_t cap = len + 14;
    uint8_t *tmp = malloc(cap);
    ssize_t n;

    ASSERT(tmp != NULL);
    n = ws_frame_encode(tmp, cap, fin, rsv, op, payload, len, mask);
    ASSERT_EQ(n, (int64_t)(ws_frame_header_len(len, mask != NULL) + len));
    bytes_put(b, tmp, (size_t)n);
    free(tmp);
}

static void add_frame(struct bytes *b, bool fin, unsigned op, const void *payload, size_t len)
{
    add_frame_m(b, fin, 0, op, payload, len, NULL);
}

static void add_text(struct bytes *b, bool fin, unsigned op, const char *s)
{
    add_frame(b, fin, op, s, strlen(s));
}

/* A close frame with a code (none when code is 0) and a reason. */
static void add_close(struct bytes *b, unsigned code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;

    if (code || reason) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
    }
    if (reason) {
        memcpy(p + 2, reason, strlen(reason));
        n += strlen(reason);
    }
    add_frame(b, true, 0x8, p, n);
}

/* Everything one side reported through its callbacks, as text ("text 5 68656c6c6f", ...), so
 * two runs can be compared with one string comparison. */
struct rec {
    struct bytes log;    /* one line per event */
    int messages;        /* on_message calls */
    int pings, pongs;    /* on_ping / on_pong calls */
    int closes;          /* on_close calls */
    uint16_t close_code; /* the last on_close code */
    bool bad_text;       /* a text message was not valid UTF-8 */
    size_t largest;      /* the largest message delivered */
    struct bytes last;   /* the last message's bytes */
};

/* An independent UTF-8 check for the fuzz test: decodes code points and checks their range. */
static bool valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t k, len;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xe0) == 0xc0)
            len = 2, cp = s[i] & 0x1f;
        else if ((s[i] & 0xf0) == 0xe0)
            len = 3, cp = s[i] & 0x0f;
        else if ((s[i] & 0xf8) == 0xf0)
            len = 4, cp = s[i] & 0x07;
        else
            return false;
        if (i + len > n)
            return false;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static void rec_line(struct rec *r, const char *tag, const uint8_t *d, size_t n)
{
    char head[48];
    static const char hex[] = "0123456789abcdef";

    snprintf(head, sizeof(head), "%s %zu ", tag, n);
    bytes_put(&r->log, head, strlen(head));
    for (size_t i = 0; i < n; i++) {
        char h[2] = {hex[d[i] >> 4], hex[d[i] & 15]};
        bytes_put(&r->log, h, 2);
    }
    bytes_put(&r->log, "\n", 1);
}

static void on_message(void *ud, bool text, const uint8_t *d, size_t n)
{
    struct rec *r = ud;

    r->messages++;
    if (text && !valid_utf8(d, n))
        r->bad_text = true;
    if (n > r->largest)
        r->largest = n;
    r->last.len = 0;
    bytes_put(&r->last, d, n);
    rec_line(r, text ? "text" : "binary", d, n);
}

static void on_ping(void *ud, const uint8_t *d, size_t n)
{
    struct rec *r = ud;

    r->pings++;
    rec_line(r, "ping", d, n);
}

static void on_pong(void *ud, const uint8_t *d, size_t n)
{
    struct rec *r = ud;

    r->pongs++;
    rec_line(r, "pong", d, n);
}

static void on_close(void *ud, uint16_t code, const uint8_t *reason, size_t n)
{
    struct rec *r = ud;
    char tag[24];

    r->closes++;
    r->close_code = code;
    snprintf(tag, sizeof(tag), "close%u", code);
    rec_line(r, tag, reason, n);
}

static const struct ws_callbacks rec_cbs = {on_message, on_ping, on_pong, on_close};

/* One endpoint under test with its recorder. */
struct peer {
    struct ws ws;   /* the endpoint */
    struct rec rec; /* what it reported */
};

static void peer_init(struct peer *p, bool server, size_t max)
{
    struct ws_params wp = {.server = server, .max_message = max};

    memset(&p->rec, 0, sizeof(p->rec));
    ASSERT_EQ(ws_init(&p->ws, &wp, &rec_cbs, &p->rec), 0);
}

static void peer_fini(struct peer *p)
{
    ws_fini(&p->ws);
    bytes_free(&p->rec.log);
    bytes_free(&p->rec.last);
}

/* Takes everything w has queued, in pieces of at most piece bytes, appending it to out. */
static void drain(struct ws *w, struct bytes *out, size_t piece)
{
    uint8_t buf[4096];

    if (piece > sizeof(buf))
        piece = sizeof(buf);
    while (ws_want_write(w)) {
        size_t n = ws_output(w, buf, piece);
        if (n == 0)
            break;
        bytes_put(out, buf, n);
    }
}

/* How a script is fed. */
enum feed_mode {
    FEED_WHOLE,  /* one ws_feed call */
    FEED_ONE,    /* one byte per call */
    FEED_RANDOM, /* random pieces of 1..600 bytes */
};

/* Feeds d to w as mode says, draining w's output into out after every call (as the net layer
 * does). Stops at the first non-zero result and returns it. */
static int feed(struct ws *w, const uint8_t *d, size_t n, enum feed_mode mode, struct test_rng *rng,
                struct bytes *out)
{
    size_t off = 0;
    int rc = 0;

    while (off < n && rc == 0) {
        size_t k = n - off;
        if (mode == FEED_ONE)
            k = 1;
        else if (mode == FEED_RANDOM && k > 1)
            k = 1 + test_rng_below(rng, k < 600 ? k : 600);
        rc = ws_feed(w, d + off, k);
        off += k;
        if (out)
            drain(w, out, 4096);
    }
    return rc;
}

/* Decodes what a client sent by feeding it to a fresh server-role endpoint; returns that
 * endpoint's log in *log (new) and the close code it saw (0 if none). */
static uint16_t decode_client_output(const struct bytes *out, struct bytes *log)
{
    struct peer srv;
    uint16_t code;
    int rc;

    peer_init(&srv, true, 0);
    rc = ws_feed(&srv.ws, out->p, out->len);
    ASSERT(rc == 0 || rc == ERR_WS_CLOSED);
    code = srv.rec.closes ? srv.rec.close_code : 0;
    memset(log, 0, sizeof(*log));
    bytes_put(log, srv.rec.log.p ? srv.rec.log.p : (const uint8_t *)"", srv.rec.log.len);
    peer_fini(&srv);
    return code;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* The script of ws_one_byte_feeding_gives_same_messages_as_whole_buffer, and the log a correct
 * client produces from it (built by hand, not by the code under test). */
static void mixed_script(struct bytes *s, struct rec *expect, struct rec *pongs)
{
    static uint8_t bin300[300], big[70000];
    const char *k4 = "\xf0\x9f\x98\x80"; /* U+1F600, 4 bytes */

    for (size_t i = 0; i < sizeof(bin300); i++)
        bin300[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    add_text(s, true, 1, "hello");
    rec_line(expect, "text", (const uint8_t *)"hello", 5);
    add_frame(s, true, 2, bin300, sizeof(bin300));
    rec_line(expect, "binary", bin300, sizeof(bin300));
    add_text(s, false, 1, "frag");
    add_frame(s, true, 9, "p1", 2);
    rec_line(expect, "ping", (const uint8_t *)"p1", 2);
    rec_line(pongs, "pong", (const uint8_t *)"p1", 2);
    add_text(s, false, 0, "men");
    add_frame(s, true, 0xa, "unsolicited", 11);
    rec_line(expect, "pong", (const uint8_t *)"unsolicited", 11);
    add_text(s, true, 0, "ted");
    rec_line(expect, "text", (const uint8_t *)"fragmented", 10);
    add_frame(s, false, 2, big, 40000);
    add_frame(s, true, 9, "", 0);
    rec_line(expect, "ping", NULL, 0);
    rec_line(pongs, "pong", NULL, 0);
    add_frame(s, true, 0, big + 40000, 30000);
    rec_line(expect, "binary", big, sizeof(big));
    add_text(s, true, 1, "");
    rec_line(expect, "text", NULL, 0);
    add_frame(s, true, 2, big, 65536); /* a 64-bit length */
    rec_line(expect, "binary", big, 65536);
    add_frame(s, false, 1, "smile ", 6);
    add_frame(s, false, 0, k4, 2);
    add_frame(s, true, 0, k4 + 2, 2);
    rec_line(expect, "text", (const uint8_t *)"smile \xf0\x9f\x98\x80", 10);
    add_frame(s, true, 9, bin300, 125);
    rec_line(expect, "ping", bin300, 125);
    rec_line(pongs, "pong", bin300, 125);
}

TEST(ws_one_byte_feeding_gives_same_messages_as_whole_buffer)
{
    struct bytes script = {0};
    struct rec expect = {0}, expect_pongs = {0};
    struct test_rng rng;

    test_rng_init(&rng, test_seed());
    mixed_script(&script, &expect, &expect_pongs);
    for (int mode = FEED_WHOLE; mode <= FEED_RANDOM; mode++) {
        for (int rep = 0; rep < (mode == FEED_RANDOM ? 20 : 1); rep++) {
            struct peer c;
            struct bytes out = {0}, pongs;

            peer_init(&c, false, 0);
            ASSERT_EQ(feed(&c.ws, script.p, script.len, mode, &rng, &out), 0);
            ASSERT_STR_EQ((char *)c.rec.log.p, (char *)expect.log.p);
            /* Every ping was answered with its own payload, in order. */
            ASSERT_EQ(decode_client_output(&out, &pongs), 0);
            ASSERT_STR_EQ((char *)pongs.p, (char *)expect_pongs.log.p);
            bytes_free(&pongs);
            bytes_free(&out);
            peer_fini(&c);
        }
    }
    bytes_free(&expect.log);
    bytes_free(&expect_pongs.log);
    bytes_free(&script);
    return 0;
}

TEST(ws_reassembles_fragmented_message_with_interleaved_pings)
{
    struct peer c;
    struct bytes f = {0}, out = {0}, log;

    peer_init(&c, false, 0);
    add_text(&f, false, 1, "Hel");
    ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), 0);
    ASSERT(!ws_want_write(&c.ws));

    /* A ping between fragments: its pong is ready at once, before the message completes. */
    f.len = 0;
    add_text(&f, true, 9, "p1");
    ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), 0);
    ASSERT(ws_want_write(&c.ws));
    drain(&c.ws, &out, 4096);
    ASSERT_EQ(decode_client_output(&out, &log), 0);
    ASSERT_STR_EQ((char *)log.p, "pong 2 7031\n");
    bytes_free(&log);
    ASSERT_EQ(c.rec.messages, 0);
    ASSERT_EQ(c.rec.pings, 1);

    f.len = 0;
    out.len = 0;
    add_text(&f, false, 0, "lo ");
    add_text(&f, true, 9, "p2");
    ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), 0);
    drain(&c.ws, &out, 4096);
    ASSERT_EQ(decode_client_output(&out, &log), 0);
    ASSERT_STR_EQ((char *)log.p, "pong 2 7032\n");
    bytes_free(&log);
    ASSERT_EQ(c.rec.messages, 0);

    f.len = 0;
    add_text(&f, true, 0, "world");
    ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), 0);
    ASSERT_EQ(c.rec.messages, 1);
    ASSERT_EQ(c.rec.last.len, 11);
    ASSERT(memcmp(c.rec.last.p, "Hello world", 11) == 0);
    ASSERT(!ws_want_write(&c.ws));

    bytes_free(&f);
    bytes_free(&out);
    peer_fini(&c);
    return 0;
}

TEST(ws_answers_ping_with_same_payload_at_once)
{
    static const size_t sizes[] = {0, 1, 2, 124, 125};
    static const size_t pieces[] = {4096, 1, 3};
    uint8_t payload[125];

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(255 - i * 3); /* includes zero bytes and high bytes */
    for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            struct peer c, srv;
            struct bytes f = {0}, out = {0};

            peer_init(&c, false, 0);
            add_frame(&f, true, 9, payload, sizes[s]);
            ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), 0);
            ASSERT_EQ(c.rec.pings, 1);
            ASSERT(ws_want_write(&c.ws));
            drain(&c.ws, &out, pieces[p]);
            ASSERT(!ws_want_write(&c.ws));

            peer_init(&srv, true, 0);
            ASSERT_EQ(ws_feed(&srv.ws, out.p, out.len), 0);
            ASSERT_EQ(srv.rec.pongs, 1);
            ASSERT_EQ(srv.rec.messages + srv.rec.pings + srv.rec.closes, 0);
            {
                struct rec want = {0};
                rec_line(&want, "pong", payload, sizes[s]);
                ASSERT_STR_EQ((char *)srv.rec.log.p, (char *)want.log.p);
                bytes_free(&want.log);
            }
            peer_fini(&srv);
            bytes_free(&f);
            bytes_free(&out);
            peer_fini(&c);
        }
    }
    return 0;
}

/* A frame decoded from raw bytes. */
struct raw_frame {
    bool fin, masked; /* FIN and MASK bits */
    unsigned rsv, op; /* reserved bits and opcode */
    uint8_t key[4];   /* masking key */
    uint64_t len;     /* payload length */
    size_t hdr;       /* header length */
};

/* Parses one frame header at d; returns the whole frame's length, or 0 if incomplete. */
static size_t raw_parse(const uint8_t *d, size_t n, struct raw_frame *f)
{
    size_t h = 2;

    if (n < 2)
        return 0;
    f->fin = d[0] >> 7;
    f->rsv = (d[0] >> 4) & 7;
    f->op = d[0] & 15;
    f->masked = d[1] >> 7;
    f->len = d[1] & 0x7f;
    if (f->len == 126) {
        if (n < 4)
            return 0;
        f->len = ((uint64_t)d[2] << 8) | d[3];
        h = 4;
    } else if (f->len == 127) {
        if (n < 10)
            return 0;
        f->len = 0;
        for (int i = 0; i < 8; i++)
            f->len = (f->len << 8) | d[2 + i];
        h = 10;
    }
    if (f->masked) {
        if (n < h + 4)
            return 0;
        memcpy(f->key, d + h, 4);
        h += 4;
    }
    f->hdr = h;
    return n - h < f->len ? 0 : h + (size_t)f->len;
}

TEST(ws_client_masks_every_frame)
{
    static const size_t sizes[] = {0, 1, 5, 125, 126, 1000, 65535, 65536, 100000};
    enum { N = 60 };
    uint8_t *src = malloc(100000);
    uint8_t keys[N][4];
    struct peer c;
    struct bytes out = {0};
    size_t off = 0;
    int nframes = 0;

    ASSERT(src != NULL);
    for (size_t i = 0; i < 100000; i++)
        src[i] = (uint8_t)('a' + i % 26);
    peer_init(&c, false, 0);
    for (int i = 0; i < N; i++) {
        size_t len = sizes[(i / 3) % (sizeof(sizes) / sizeof(sizes[0]))];
        int rc = i % 3 == 0   ? ws_send_text(&c.ws, src, len)
                 : i % 3 == 1 ? ws_send_binary(&c.ws, src, len)
                              : ws_send_ping(&c.ws, src, len > 125 ? 125 : len);
        ASSERT_EQ(rc, 0);
    }
    drain(&c.ws, &out, 777);

    while (off < out.len) {
        struct raw_frame f;
        size_t n = raw_parse(out.p + off, out.len - off, &f);
        ASSERT(n > 0);
        ASSERT(f.masked);
        ASSERT(f.fin);
        ASSERT_EQ(f.rsv, 0);
        ASSERT(nframes < N);
        memcpy(keys[nframes], f.key, 4);
        /* The payload unmasks to what was sent. */
        for (uint64_t k = 0; k < f.len; k++)
            ASSERT_EQ(out.p[off + f.hdr + k] ^ f.key[k & 3], src[k]);
        nframes++;
        off += n;
    }
    ASSERT_EQ(nframes, N);
    /* Keys are random: no two frames share one (a repeat among 60 random 32-bit keys has
     * probability below 1e-6). */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            ASSERT(memcmp(keys[i], keys[j], 4) != 0);

    /* And a server endpoint reads the same messages back. */
    {
        struct peer srv;
        peer_init(&srv, true, 0);
        ASSERT_EQ(ws_feed(&srv.ws, out.p, out.len), 0);
        ASSERT_EQ(srv.rec.messages, 40);
        ASSERT_EQ(srv.rec.pings, 20);
        ASSERT_EQ(srv.rec.largest, 100000);
        peer_fini(&srv);
    }
    bytes_free(&out);
    peer_fini(&c);
    free(src);
    return 0;
}

/* A text message cut into fragments; NULL ends the list. */
struct utf8_case {
    const char *frags[5]; /* fragment bytes (NUL-terminated) */
    bool valid;           /* whether the whole message is valid UTF-8 */
};

static const struct utf8_case utf8_cases[] = {
    {{"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"}, true}, /* "κόσμε" */
    {{"\xf0\x9f\x98\x80"}, true},
    {{"a\xf0", "\x9f\x98\x80z"}, true},
    {{"\xf0\x9f", "\x98\x80"}, true},
    {{"\xf0\x9f\x98", "\x80"}, true},
    {{"\xf0", "\x9f", "\x98", "\x80"}, true},
    {{"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}, true}, /* U+FFFF, U+10FFFF */
    {{"\xed\x9f\xbf\xee\x80\x80"}, true},         /* U+D7FF, U+E000 */
    {{"\xc2\x80\xdf\xbf"}, true},
    {{"\xc0\xaf"}, false},           /* overlong '/' */
    {{"\xc1\xbf"}, false},           /* overlong */
    {{"\xe0\x80\xaf"}, false},       /* overlong, 3 bytes */
    {{"\xf0\x80\x80\xaf"}, false},   /* overlong, 4 bytes */
    {{"\xed\xa0\x80"}, false},       /* surrogate U+D800 */
    {{"ok", "\xed\xbf\xbf"}, false}, /* surrogate U+DFFF */
    {{"\xf4\x90\x80\x80"}, false},   /* past U+10FFFF */
    {{"\xf5\x80\x80\x80"}, false},
    {{"\xff"}, false},
    {{"\x80"}, false},               /* lone continuation */
    {{"abc\xe2\x82"}, false},        /* truncated at the end */
    {{"ab\xf0\x9f", "\x98"}, false}, /* truncated across fragments */
    {{"\xce", "\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80x"}, false},
    {{"\xe2\x82", "\x28"}, false},     /* bad continuation in the next fragment */
    {{"x", "\xe2\x82\xac", ""}, true}, /* empty final fragment */
    {{"x", "\xe2\x82", ""}, false},    /* empty final fragment ends a sequence */
};

TEST(ws_invalid_utf8_closes_1007)
{
    for (size_t ci = 0; ci < sizeof(utf8_cases) / sizeof(utf8_cases[0]); ci++) {
        const struct utf8_case *u = &utf8_cases[ci];
        for (int mode = FEED_WHOLE; mode <= FEED_ONE; mode++) {
            struct peer c;
            struct bytes f = {0}, out = {0}, whole = {0}, log;
            size_t nf = 0;
            int rc;

            while (nf < 5 && u->frags[nf])
                nf++;
            for (size_t i = 0; i < nf; i++) {
                add_text(&f, i + 1 == nf, i == 0 ? 1 : 0, u->frags[i]);
                bytes_put(&whole, u->frags[i], strlen(u->frags[i]));
            }
            peer_init(&c, false, 0);
            rc = feed(&c.ws, f.p, f.len, mode, NULL, &out);
            if (u->valid) {
                if (rc != 0)
                    test_fail(__FILE__, __LINE__, "case %zu refused: %s", ci, mdf_errmsg());
                ASSERT_EQ(c.rec.messages, 1);
                ASSERT_EQ(c.rec.last.len, whole.len);
                ASSERT(memcmp(c.rec.last.p, whole.p, whole.len) == 0);
                ASSERT_EQ(out.len, 0);
            } else {
                if (rc != ERR_WS_PROTO)
                    test_fail(__FILE__, __LINE__, "case %zu: rc %d", ci, rc);
                ASSERT_CONTAINS(mdf_errmsg(), "UTF-8");
                ASSERT_EQ(c.rec.messages, 0);
                ASSERT_EQ(decode_client_output(&out, &log), 1007);
                bytes_free(&log);
                ASSERT(ws_close_sent(&c.ws));
                ASSERT_EQ(ws_close_code_sent(&c.ws), 1007);
            }
            bytes_free(&f);
            bytes_free(&out);
            bytes_free(&whole);
            peer_fini(&c);
        }
    }

    /* Refused as soon as the bad byte arrives, before the message is complete. */
    {
        struct peer c;
        struct bytes f = {0};
        peer_init(&c, false, 0);
        add_text(&f, false, 1, "fine so far \xc3\x28 and more");
        ASSERT_EQ(ws_feed(&c.ws, f.p, 2 + 12), 0);
        ASSERT_EQ(ws_feed(&c.ws, f.p + 14, 2), ERR_WS_PROTO);
        bytes_free(&f);
        peer_fini(&c);
    }

    /* A close reason that is not UTF-8. */
    {
        struct peer c;
        struct bytes f = {0}, out = {0}, log;
        peer_init(&c, false, 0);
        add_close(&f, 1000, "bye \xff");
        ASSERT_EQ(feed(&c.ws, f.p, f.len, FEED_ONE, NULL, &out), ERR_WS_PROTO);
        ASSERT(!ws_close_received(&c.ws));
        ASSERT_EQ(c.rec.closes, 0);
        ASSERT_EQ(decode_client_output(&out, &log), 1007);
        bytes_free(&log);
        bytes_free(&f);
        bytes_free(&out);
        peer_fini(&c);
    }
    return 0;
}

/* Feeds f to a client limited to 1000-byte messages; returns ws_feed's result and, on
 * ERR_WS_PROTO, checks that the client closed with 1009. */
static int feed_limited(const struct bytes *f, int *messages)
{
    struct peer c;
    struct bytes out = {0}, log;
    int rc;

    peer_init(&c, false, 1000);
    rc = feed(&c.ws, f->p, f->len, FEED_WHOLE, NULL, &out);
    *messages = c.rec.messages;
    if (rc == 0) {
        ASSERT_EQ(c.rec.largest, 1000);
    } else {
        ASSERT_EQ(rc, ERR_WS_PROTO);
        ASSERT_CONTAINS(mdf_errmsg(), "1000-byte limit");
        ASSERT_EQ(decode_client_output(&out, &log), 1009);
        bytes_free(&log);
    }
    bytes_free(&out);
    peer_fini(&c);
    return rc;
}

TEST(ws_oversized_message_closes_1009)
{
    static uint8_t data[2000];
    struct bytes f = {0};
    int n;

    memset(data, 'x', sizeof(data));
    add_frame(&f, true, 1, data, 1000); /* exactly the limit */
    ASSERT_EQ(feed_limited(&f, &n), 0);
    ASSERT_EQ(n, 1);

    f.len = 0;
    add_frame(&f, true, 2, data, 1001);
    ASSERT_EQ(feed_limited(&f, &n), ERR_WS_PROTO);
    ASSERT_EQ(n, 0);

    f.len = 0; /* fragmented, exactly the limit, with a ping in between */
    add_frame(&f, false, 2, data, 500);
    add_frame(&f, true, 9, "p", 1);
    add_frame(&f, false, 0, data, 499);
    add_frame(&f, true, 0, data, 1);
    ASSERT_EQ(feed_limited(&f, &n), 0);
    ASSERT_EQ(n, 1);

    f.len = 0; /* fragmented, one byte over */
    add_frame(&f, false, 1, data, 500);
    add_frame(&f, false, 0, data, 499);
    add_frame(&f, true, 0, data, 2);
    ASSERT_EQ(feed_limited(&f, &n), ERR_WS_PROTO);
    ASSERT_EQ(n, 0);

    /* Refused at the header: the payload never has to arrive. */
    {
        struct peer c;
        uint8_t hdr[10] = {0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0}; /* claims 2^40 bytes */
        peer_init(&c, false, 1000);
        ASSERT_EQ(ws_feed(&c.ws, hdr, sizeof(hdr)), ERR_WS_PROTO);
        peer_fini(&c);
    }
    /* The limit after a finished message starts again from zero. */
    f.len = 0;
    add_frame(&f, true, 2, data, 1000);
    add_frame(&f, true, 2, data, 1000);
    ASSERT_EQ(feed_limited(&f, &n), 0);
    ASSERT_EQ(n, 2);
    bytes_free(&f);
    return 0;
}

/* One protocol violation: the frames that carry it and a word the error message must have. */
struct proto_case {
    const char *name; /* what is wrong */
    const char *word; /* in mdf_errmsg() */
    struct bytes f;   /* the frames, after a valid "before" message */
};

static void proto_add(struct proto_case *pc, size_t *n, const char *name, const char *word)
{
    pc[*n].name = name;
    pc[*n].word = word;
    memset(&pc[*n].f, 0, sizeof(pc[*n].f));
    add_text(&pc[*n].f, true, 1, "before");
    ++*n;
}

TEST(ws_protocol_errors_close_1002)
{
    static const unsigned bad_codes[] = {0,    999,  1004, 1005, 1006, 1015,
                                         1016, 1100, 2000, 2999, 5000, 65535};
    static const uint8_t mask[4] = {1, 2, 3, 4};
    static char op_names[16][32], code_names[16][32];
    struct proto_case pc[64];
    uint8_t p126[126] = {0};
    size_t n = 0;

    for (unsigned bit = 0; bit < 3; bit++) {
        proto_add(pc, &n, "rsv bit", "reserved bits");
        add_frame_m(&pc[n - 1].f, true, 1u << bit, 1, "x", 1, NULL);
    }
    for (unsigned op = 3; op <= 0xf; op++) {
        if (op >= 8 && op <= 0xa)
            continue;
        snprintf(op_names[op], sizeof(op_names[op]), "opcode %u", op);
        proto_add(pc, &n, op_names[op], "unknown opcode");
        add_frame(&pc[n - 1].f, true, op, "x", 1);
    }
    proto_add(pc, &n, "fragmented ping", "fragmented control");
    add_frame(&pc[n - 1].f, false, 9, "x", 1);
    proto_add(pc, &n, "fragmented close", "fragmented control");
    add_frame(&pc[n - 1].f, false, 8, "\x03\xe8", 2);
    proto_add(pc, &n, "ping payload 126", "over 125");
    add_frame(&pc[n - 1].f, true, 9, p126, 126);
    proto_add(pc, &n, "continuation with no start", "continuation");
    add_text(&pc[n - 1].f, true, 0, "x");
    proto_add(pc, &n, "text during fragmented message", "inside a fragmented");
    add_text(&pc[n - 1].f, false, 1, "a");
    add_text(&pc[n - 1].f, true, 1, "b");
    proto_add(pc, &n, "binary during fragmented message", "inside a fragmented");
    add_text(&pc[n - 1].f, false, 2, "a");
    add_text(&pc[n - 1].f, false, 0, "a");
    add_text(&pc[n - 1].f, true, 2, "b");
    proto_add(pc, &n, "masked frame to a client", "masked frame");
    add_frame_m(&pc[n - 1].f, true, 0, 1, "x", 1, mask);
    proto_add(pc, &n, "close payload of 1 byte", "1-byte");
    add_frame(&pc[n - 1].f, true, 8, "\x03", 1);
    proto_add(pc, &n, "16-bit length for 5 bytes", "short payload");
    bytes_put(&pc[n - 1].f, "\x81\x7e\x00\x05hello", 9);
    proto_add(pc, &n, "64-bit length for 5 bytes", "short payload");
    bytes_put(&pc[n - 1].f, "\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x05hello", 15);
    proto_add(pc, &n, "64-bit length with top bit", "top bit");
    bytes_put(&pc[n - 1].f, "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x05", 10);
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        snprintf(code_names[i], sizeof(code_names[i]), "close code %u", bad_codes[i]);
        proto_add(pc, &n, code_names[i], "invalid close code");
        /* Code 0 still needs its two bytes. */
        add_frame(&pc[n - 1].f, true, 8,
                  (uint8_t[]){(uint8_t)(bad_codes[i] >> 8), (uint8_t)bad_codes[i], 'r'}, 3);
    }

    for (size_t i = 0; i < n; i++) {
        for (int mode = FEED_WHOLE; mode <= FEED_ONE; mode++) {
            struct peer c;
            struct bytes out = {0}, log;
            int rc;

            peer_init(&c, false, 0);
            rc = feed(&c.ws, pc[i].f.p, pc[i].f.len, mode, NULL, &out);
            if (rc != ERR_WS_PROTO)
                test_fail(__FILE__, __LINE__, "%s: rc %d", pc[i].name, rc);
            if (!strstr(mdf_errmsg(), pc[i].word))
                test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", pc[i].name,
                          mdf_errmsg(), pc[i].word);
            ASSERT_CONTAINS(mdf_errmsg(), "WebSocket protocol error");
            /* The valid message before the violation was delivered, nothing after it. */
            ASSERT_EQ(c.rec.messages, 1);
            ASSERT_EQ(c.rec.closes, 0);
            ASSERT(!ws_close_received(&c.ws));
            if (decode_client_output(&out, &log) != 1002)
                test_fail(__FILE__, __LINE__, "%s: close code not 1002", pc[i].name);
            ASSERT_EQ(ws_close_code_sent(&c.ws), 1002);
            /* The error sticks. */
            ASSERT_EQ(ws_feed(&c.ws, (const uint8_t *)"\x81\x01x", 3), ERR_WS_PROTO);
            ASSERT_EQ(ws_send_text(&c.ws, "x", 1), ERR_WS_CLOSED);
            bytes_free(&log);
            bytes_free(&out);
            peer_fini(&c);
        }
        bytes_free(&pc[i].f);
    }

    /* The mirror case: an unmasked frame to a server. */
    {
        struct peer s;
        struct bytes f = {0};
        peer_init(&s, true, 0);
        add_text(&f, true, 1, "x");
        ASSERT_EQ(ws_feed(&s.ws, f.p, f.len), ERR_WS_PROTO);
        ASSERT_CONTAINS(mdf_errmsg(), "unmasked frame");
        bytes_free(&f);
        peer_fini(&s);
    }
    return 0;
}

TEST(ws_close_handshake_echoes_valid_codes)
{
    static const unsigned codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                     1010, 1011, 3000, 3999, 4000, 4999, 0};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        for (int mode = FEED_WHOLE; mode <= FEED_ONE; mode++) {
            struct peer c;
            struct bytes f = {0}, out = {0}, log, after = {0};
            unsigned want = codes[i] ? codes[i] : 1000;

            peer_init(&c, false, 0);
            add_text(&f, true, 1, "last words");
            if (codes[i])
                add_close(&f, codes[i], "bye \xc3\xa9"); /* a 2-byte char, split in FEED_ONE */
            else
                add_close(&f, 0, NULL);
            ASSERT_EQ(feed(&c.ws, f.p, f.len, mode, NULL, &out), ERR_WS_CLOSED);
            ASSERT_EQ(c.rec.messages, 1);
            ASSERT_EQ(c.rec.closes, 1);
            ASSERT(ws_close_received(&c.ws));
            ASSERT_EQ(ws_close_code_received(&c.ws), codes[i] ? codes[i] : WS_CLOSE_NO_STATUS);
            ASSERT_EQ(c.rec.close_code, codes[i] ? codes[i] : WS_CLOSE_NO_STATUS);
            /* Our reply went out with a valid code (the peer's, or 1000). */
            ASSERT(ws_close_sent(&c.ws));
            ASSERT_EQ(ws_close_code_sent(&c.ws), want);
            ASSERT_EQ(decode_client_output(&out, &log), want);
            bytes_free(&log);
            /* Nothing is sent after our close, and nothing more is read. */
            ASSERT_EQ(ws_send_text(&c.ws, "late", 4), ERR_WS_CLOSED);
            ASSERT_EQ(ws_send_ping(&c.ws, "p", 1), ERR_WS_CLOSED);
            ASSERT_EQ(ws_send_close(&c.ws, 1000, NULL), ERR_WS_CLOSED);
            ASSERT(!ws_want_write(&c.ws));
            drain(&c.ws, &after, 4096);
            ASSERT_EQ(after.len, 0);
            f.len = 0;
            add_frame(&f, true, 9, "p", 1);
            add_text(&f, true, 1, "more");
            ASSERT_EQ(ws_feed(&c.ws, f.p, f.len), ERR_WS_CLOSED);
            ASSERT_EQ(c.rec.messages, 1);
            ASSERT(!ws_want_write(&c.ws));
            bytes_free(&f);
            bytes_free(&out);
            peer_fini(&c);
        }
    }

    /* We close first: one close frame goes out (queued data is dropped, not sent after it), we
     * still read until the peer's close, and do not reply a second time. */
    {
        struct peer c;
        struct bytes f = {0}, out = {0}, log;

        peer_init(&c, false, 0);
        ASSERT_EQ(ws_send_text(&c.ws, "queued", 6), 0);
        ASSERT_EQ(ws_send_close(&c.ws, 1001, "going"), 0);
        ASSERT_EQ(ws_send_close(&c.ws, 1000, NULL), ERR_WS_CLOSED);
        ASSERT_EQ(ws_send_text(&c.ws, "late", 4), ERR_WS_CLOSED);
        drain(&c.ws, &out, 4096);
        ASSERT(ws_close_sent(&c.ws));
        ASSERT_EQ(ws_close_code_sent(&c.ws), 1001);
        ASSERT_EQ(decode_client_output(&out, &log), 1001);
        ASSERT_STR_EQ((char *)log.p, "close1001 5 676f696e67\n");
        bytes_free(&log);
        add_text(&f, true, 1, "in flight");
        add_close(&f, 1001, NULL);
        out.len = 0;
        ASSERT_EQ(feed(&c.ws, f.p, f.len, FEED_ONE, NULL, &out), ERR_WS_CLOSED);
        ASSERT_EQ(c.rec.messages, 1);
        ASSERT_EQ(out.len, 0);
        ASSERT_EQ(ws_close_code_received(&c.ws), 1001);
        bytes_free(&f);
        bytes_free(&out);
        peer_fini(&c);
    }
    /* Codes we may not send are refused. */
    {
        struct peer c;
        peer_init(&c, false, 0);
        ASSERT_EQ(ws_send_close(&c.ws, 1005, NULL), -EINVAL);
        ASSERT_EQ(ws_send_close(&c.ws, 1000,
                                "0123456789012345678901234567890123456789"
                                "0123456789012345678901234567890123456789"
                                "01234567890123456789012345678901234567890123"),
                  -EMSGSIZE);
        ASSERT_EQ(ws_send_ping(&c.ws, "x", 126), -EMSGSIZE);
        ASSERT(!ws_want_write(&c.ws));
        peer_fini(&c);
    }
    return 0;
}

/* Appends one frame for the fuzz test, damaging it now and then: a reserved bit, another
 * opcode, or the wrong masking for the direction. */
static void fuzz_frame(struct test_rng *r, struct bytes *b, bool to_server, bool fin, unsigned op,
                       const uint8_t *payload, size_t len)
{
    uint8_t mask[4];
    bool masked = to_server;
    unsigned rsv = 0;

    for (int k = 0; k < 4; k++)
        mask[k] = (uint8_t)test_rng_next(r);
    switch (test_rng_below(r, 60)) {
    case 0:
        rsv = 1u << test_rng_below(r, 3);
        break;
    case 1:
        op = (unsigned)test_rng_below(r, 16);
        break;
    case 2:
        masked = !masked;
        break;
    case 3:
        fin = !fin;
        break;
    default:
        break;
    }
    add_frame_m(b, fin, rsv, op, payload, len, masked ? mask : NULL);
}

/* Appends random traffic: messages (text of valid characters, or binary) cut into fragments at
 * any byte, pings and pongs between fragments, sometimes invalid UTF-8, an oversized message, a
 * close frame (valid or not) or raw garbage. Mostly valid, so the fuzz reaches deep states. */
static void random_traffic(struct test_rng *r, struct bytes *b, bool to_server)
{
    static const char *chars[] = {
        "a", "Z",  " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf",
        "{", "\"", "0"};
    static const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80",     "\xff",
                                "\x80",     "\xf4\x90\x80\x80", "\xe2\x82"};
    uint8_t msg[1300];
    int nmsg = 1 + (int)test_rng_below(r, 8);

    for (int m = 0; m < nmsg; m++) {
        bool text = test_rng_below(r, 2);
        size_t want = test_rng_below(r, 10) == 0 ? test_rng_below(r, 1100) : test_rng_below(r, 60);
        size_t len = 0, cut[4], ncut = test_rng_below(r, 4), prev = 0;
        unsigned roll = (unsigned)test_rng_below(r, 100);

        if (roll < 3) { /* raw garbage */
            for (size_t k = test_rng_below(r, 40); k > 0; k--) {
                uint8_t g = (uint8_t)test_rng_next(r);
                bytes_put(b, &g, 1);
            }
            continue;
        }
        if (roll < 6) { /* a close frame, valid or not */
            unsigned code = test_rng_below(r, 2) ? 1000 : (unsigned)test_rng_below(r, 5000);
            uint8_t p[4] = {(uint8_t)(code >> 8), (uint8_t)code, 'o', 'k'};
            fuzz_frame(r, b, to_server, true, 8, p, test_rng_below(r, 5));
            return;
        }
        while (len < want) {
            if (text) {
                const char *c = test_rng_below(r, 200) == 0
                                    ? bad[test_rng_below(r, sizeof(bad) / sizeof(bad[0]))]
                                    : chars[test_rng_below(r, sizeof(chars) / sizeof(chars[0]))];
                size_t n = strlen(c);
                if (len + n > sizeof(msg))
                    break;
                memcpy(msg + len, c, n);
                len += n;
            } else {
                msg[len++] = (uint8_t)test_rng_next(r);
            }
        }
        for (size_t k = 0; k < ncut; k++)
            cut[k] = len ? test_rng_below(r, len + 1) : 0;
        for (size_t k = 0; k + 1 < ncut; k++) /* sort the cuts */
            for (size_t j = k + 1; j < ncut; j++)
                if (cut[j] < cut[k]) {
                    size_t t = cut[j];
                    cut[j] = cut[k];
                    cut[k] = t;
                }
        for (size_t k = 0; k <= ncut; k++) {
            size_t end = k < ncut ? cut[k] : len;
            fuzz_frame(r, b, to_server, k == ncut, k == 0 ? (text ? 1 : 2) : 0, msg + prev,
                       end - prev);
            prev = end;
            if (test_rng_below(r, 4) == 0) {
                uint8_t p[125];
                size_t n = test_rng_below(r, 126);
                for (size_t j = 0; j < n; j++)
                    p[j] = (uint8_t)test_rng_next(r);
                fuzz_frame(r, b, to_server, true, test_rng_below(r, 2) ? 9 : 0xa, p, n);
            }
        }
    }
}

TEST(ws_garbage_input_never_crashes)
{
    struct test_rng rng;
    int outcomes[3] = {0};

    test_rng_init(&rng, test_seed());
    for (int iter = 0; iter < 20000; iter++) {
        bool server = iter & 1;
        struct peer p;
        struct bytes in = {0}, out = {0};
        int rc;

        if (iter % 5 == 0) {
            size_t n = test_rng_below(&rng, 3000);
            for (size_t k = 0; k < n; k++) {
                uint8_t b = (uint8_t)test_rng_next(&rng);
                bytes_put(&in, &b, 1);
            }
        } else {
            random_traffic(&rng, &in, server);
        }
        peer_init(&p, server, 1000);
        rc = feed(&p.ws, in.p, in.len, FEED_RANDOM, &rng, &out);
        ASSERT(rc == 0 || rc == ERR_WS_PROTO || rc == ERR_WS_CLOSED);
        outcomes[rc == 0 ? 0 : rc == ERR_WS_PROTO ? 1 : 2]++;
        ASSERT(!p.rec.bad_text);
        ASSERT_LE(p.rec.largest, 1000);
        if (rc != 0) {
            uint16_t code = ws_close_code_sent(&p.ws);
            ASSERT(ws_close_sent(&p.ws));
            /* Our checker chose the code: wslay never closed on its own (it would send an
             * empty close, seen here as 1005). */
            if (rc == ERR_WS_PROTO && code != 1002 && code != 1007 && code != 1009)
                test_fail(__FILE__, __LINE__, "iter %d: close code %u after: %s", iter, code,
                          mdf_errmsg());
            if (rc == ERR_WS_CLOSED)
                ASSERT(ws_close_received(&p.ws));
            ASSERT_EQ(ws_feed(&p.ws, in.p, in.len), rc);
            ASSERT(!ws_want_write(&p.ws));
        }
        bytes_free(&in);
        bytes_free(&out);
        peer_fini(&p);
    }
    /* The generator reaches every outcome. */
    ASSERT_GT(outcomes[0], 0);
    ASSERT_GT(outcomes[1], 0);
    ASSERT_GT(outcomes[2], 0);
    fprintf(stderr, "  outcomes: %d fine, %d protocol errors, %d closed\n", outcomes[0],
            outcomes[1], outcomes[2]);
    return 0;
}

TEST(ws_frame_encode_matches_rfc_examples)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    static uint8_t big[65536], big_out[65536 + 10];
    uint8_t out[300];
    const char *hello = "Hello";

    /* RFC 6455 section 5.7. */
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), true, 0, 1, hello, 5, NULL), 7);
    ASSERT(memcmp(out, "\x81\x05Hello", 7) == 0);
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), true, 0, 1, hello, 5, mask), 11);
    ASSERT(memcmp(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
    ASSERT(strcmp(hello, "Hello") == 0); /* the caller's payload is not masked in place */
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), false, 0, 1, "Hel", 3, NULL), 5);
    ASSERT(memcmp(out, "\x01\x03Hel", 5) == 0);
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), true, 0, 0, "lo", 2, NULL), 4);
    ASSERT(memcmp(out, "\x80\x02lo", 4) == 0);
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), true, 0, 9, hello, 5, NULL), 7);
    ASSERT(memcmp(out, "\x89\x05Hello", 7) == 0);
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), true, 0, 2, big, 256, NULL), 260);
    ASSERT(memcmp(out, "\x82\x7e\x01\x00", 4) == 0);
    ASSERT_EQ(ws_frame_encode(big_out, sizeof(big_out), true, 0, 2, big, 65536, NULL), 65546);
    ASSERT(memcmp(big_out, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10) == 0);
    ASSERT_EQ(ws_frame_encode(big_out, sizeof(big_out) - 1, true, 0, 2, big, 65536, NULL),
              ERR_TOO_BIG);

    /* Every header bit is the caller's, and a short buffer is refused. */
    ASSERT_EQ(ws_frame_encode(out, sizeof(out), false, 7, 0xf, NULL, 0, NULL), 2);
    ASSERT_EQ(out[0], 0x7f);
    ASSERT_EQ(ws_frame_header_len(125, false), 2);
    ASSERT_EQ(ws_frame_header_len(126, true), 8);
    ASSERT_EQ(ws_frame_header_len(65535, false), 4);
    ASSERT_EQ(ws_frame_header_len(65536, true), 14);
    ASSERT_EQ(ws_frame_encode(out, 6, true, 0, 1, hello, 5, NULL), ERR_TOO_BIG);
    ASSERT_EQ(ws_frame_encode(out, 1, true, 0, 1, NULL, 0, NULL), ERR_TOO_BIG);
    return 0;
}
