/*
 * Tests of src/ws/ws_handshake.c: the client's key, request and response check, and the server's
 * request parser, all over the real libhttp-parser. Responses are fed split at every position and
 * one byte at a time, refused responses must say what was wrong, and random or mutated input must
 * never crash or be accepted without the right accept value.
 */
#include <errno.h>

#include <mbedtls/base64.h>

#include "core/err.h"
#include "test.h"
#include "ws/ws.h"
#include "ws/ws_frame.h"
#include "ws/ws_handshake.h"

/* A valid 101 for key with some extra headers in the forms servers use. */
static size_t good_response(char *out, size_t cap, const char *key)
{
    char accept[WS_ACCEPT_LEN + 1];
    int n;

    ws_hs_accept(key, accept);
    n = snprintf(out, cap,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Server: test\r\n"
                 "upgrade: WebSocket\r\n"
                 "X-Empty:\r\n"
                 "connection: keep-alive, Upgrade\r\n"
                 "X-Long: %0600d\r\n"
                 "sec-websocket-accept:   %s  \r\n"
                 "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                 "\r\n",
                 0, accept);
    ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Feeds buf one byte at a time; returns the first result other than -EAGAIN and the offset of
 * the byte that produced it in *at. */
static ssize_t feed_bytes(struct ws_hs_response *r, const char *buf, size_t len, size_t *at)
{
    ssize_t rc = -EAGAIN;

    for (*at = 0; *at < len; ++*at) {
        rc = ws_hs_response_feed(r, buf + *at, 1);
        if (rc != -EAGAIN)
            return rc;
    }
    return rc;
}

/* Collects the messages a client reads from the bytes after the response. */
static int got_messages;
static char got_text[64];

static void on_msg(void *ud, bool text, const uint8_t *d, size_t n)
{
    got_messages++;
    snprintf(got_text, sizeof(got_text), "%.*s", (int)n, (const char *)d);
}

/* Feeds the bytes after the headers to a client endpoint; returns how many messages it read. */
static int frames_after(const char *d, size_t n)
{
    static const struct ws_callbacks cbs = {.on_message = on_msg};
    struct ws_params wp = {0};
    struct ws w;

    got_messages = 0;
    got_text[0] = '\0';
    ASSERT_EQ(ws_init(&w, &wp, &cbs, NULL), 0);
    ASSERT_EQ(ws_feed(&w, (const uint8_t *)d, n), 0);
    ws_fini(&w);
    return got_messages;
}

TEST(ws_handshake_accepts_valid_101_split_anywhere)
{
    char key[WS_KEY_LEN + 1], buf[4096];
    size_t hlen, total, at;
    ssize_t frame_len;
    struct ws_hs_response r;

    ASSERT_EQ(ws_hs_new_key(key), 0);
    hlen = good_response(buf, sizeof(buf), key);
    frame_len =
        ws_frame_encode((uint8_t *)buf + hlen, sizeof(buf) - hlen, true, 0, 1, "first", 5, NULL);
    ASSERT_EQ(frame_len, 7);
    total = hlen + (size_t)frame_len;

    /* Whole. */
    ws_hs_response_init(&r, key, 0);
    ASSERT_EQ(ws_hs_response_feed(&r, buf, total), (int64_t)hlen);
    ASSERT_EQ(r.status, 101);
    ASSERT_EQ(frames_after(buf + hlen, total - hlen), 1);
    ASSERT_STR_EQ(got_text, "first");

    /* Split at every position. */
    for (size_t split = 0; split <= total; split++) {
        ssize_t a, b;
        size_t used;

        ws_hs_response_init(&r, key, 0);
        a = ws_hs_response_feed(&r, buf, split);
        if (split < hlen) {
            ASSERT_EQ(a, -EAGAIN);
            b = ws_hs_response_feed(&r, buf + split, total - split);
            ASSERT_EQ(b, (int64_t)(hlen - split));
            used = split + (size_t)b;
        } else {
            ASSERT_EQ(a, (int64_t)hlen);
            used = (size_t)a;
        }
        ASSERT_EQ(used, hlen);
        ASSERT_EQ(frames_after(buf + used, total - used), 1);
    }

    /* One byte at a time: done exactly at the last byte of the blank line. */
    ws_hs_response_init(&r, key, 0);
    ASSERT_EQ(feed_bytes(&r, buf, total, &at), 1);
    ASSERT_EQ(at, hlen - 1);

    /* Our own 101 passes our own check, and the limit counts only the response. */
    hlen = (size_t)ws_hs_response_101(buf, sizeof(buf), key);
    ASSERT_CONTAINS(buf, "HTTP/1.1 101 Switching Protocols\r\n");
    ws_hs_response_init(&r, key, hlen);
    memset(buf + hlen, 0x81, 100);
    ASSERT_EQ(ws_hs_response_feed(&r, buf, hlen + 100), (int64_t)hlen);
    return 0;
}

/* One refused response: its text, the limit, the code and a phrase the message must have. */
struct bad_case {
    const char *text; /* with "%s" where the right accept value goes, if any */
    size_t max;       /* limit (0 = default) */
    int code;         /* expected result */
    const char *word; /* in mdf_errmsg() */
};

TEST(ws_handshake_refuses_bad_responses)
{
    static const struct bad_case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, ERR_WS_HANDSHAKE, "200 OK"},
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", 0, ERR_WS_HANDSHAKE,
         "403 Forbidden"},
        {"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", 0, ERR_WS_HANDSHAKE, "302 Found"},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Upgrade: websocket"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Upgrade: websocket"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Connection: Upgrade"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Connection: Upgrade"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "wrong Sec-WebSocket-Accept"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0,
         ERR_WS_HANDSHAKE, "no Sec-WebSocket-Accept"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Extensions"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "Protocol"},
        {"HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         0, ERR_WS_HANDSHAKE, "HTTP/1.0"},
        {"SSH-2.0-OpenSSH_9.2\r\n", 0, ERR_WS_HANDSHAKE, "malformed HTTP response"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         60, ERR_TOO_BIG, "over 60 bytes"},
    };
    char key[WS_KEY_LEN + 1], accept[WS_ACCEPT_LEN + 1], buf[40000];
    struct ws_hs_response r;

    ASSERT_EQ(ws_hs_new_key(key), 0);
    ws_hs_accept(key, accept);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        size_t len = (size_t)snprintf(buf, sizeof(buf), c->text, accept), at;
        ssize_t rc;

        ws_hs_response_init(&r, key, c->max);
        rc = ws_hs_response_feed(&r, buf, len);
        if (rc != c->code)
            test_fail(__FILE__, __LINE__, "case %zu: rc %zd (%s)", i, rc, mdf_errmsg());
        ASSERT_CONTAINS(mdf_errmsg(), c->word);
        /* The error sticks. */
        ASSERT_EQ(ws_hs_response_feed(&r, "\r\n", 2), c->code);

        ws_hs_response_init(&r, key, c->max);
        ASSERT_EQ(feed_bytes(&r, buf, len, &at), c->code);
        ASSERT_CONTAINS(mdf_errmsg(), c->word);
    }

    /* Headers over the default limit, in one piece and one byte at a time. */
    {
        size_t len = good_response(buf, sizeof(buf), key), at;
        memmove(buf + 20000, buf, len);
        memcpy(buf, "HTTP/1.1 101 Switching Protocols\r\nX-Pad: ", 42);
        memset(buf + 42, 'p', 20000 - 42 - 2);
        memcpy(buf + 20000 - 2, "\r\n", 2);
        /* buf now holds a status line, a 20 KB header, then the original (its status line
         * becomes a harmless bad header line we never reach). */
        ws_hs_response_init(&r, key, 0);
        ASSERT_EQ(ws_hs_response_feed(&r, buf, 20000 + len), ERR_TOO_BIG);
        ASSERT_CONTAINS(mdf_errmsg(), "over 16384 bytes");
        ws_hs_response_init(&r, key, 0);
        ASSERT_EQ(feed_bytes(&r, buf, 20000 + len, &at), ERR_TOO_BIG);
        ASSERT_EQ(at, 16383); /* the 16384th byte is the last one allowed */
    }
    /* A header we check that is longer than we keep is refused, not cut. */
    {
        size_t len = (size_t)snprintf(buf, sizeof(buf),
                                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                      "Connection: %0300d, Upgrade\r\n"
                                      "Sec-WebSocket-Accept: %s\r\n\r\n",
                                      0, accept);
        ws_hs_response_init(&r, key, 0);
        ASSERT_EQ(ws_hs_response_feed(&r, buf, len), ERR_WS_HANDSHAKE);
        ASSERT_CONTAINS(mdf_errmsg(), "Connection header longer");
        /* ...but a refusal is about its status, whatever its headers. */
        len = (size_t)snprintf(buf, sizeof(buf),
                               "HTTP/1.1 403 Forbidden\r\nConnection: %0300d\r\n"
                               "Content-Length: 0\r\n\r\n",
                               0);
        ws_hs_response_init(&r, key, 0);
        ASSERT_EQ(ws_hs_response_feed(&r, buf, len), ERR_WS_HANDSHAKE);
        ASSERT_CONTAINS(mdf_errmsg(), "403 Forbidden");
    }
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(ws_handshake_key_is_random_and_accept_matches_rfc_example)
{
    enum { N = 1000 };
    static char keys[N][WS_KEY_LEN + 1];
    char accept[WS_ACCEPT_LEN + 1], req[512];
    unsigned char raw[32];
    size_t olen;
    int n;

    ws_hs_accept("dGhlIHNhbXBsZSBub25jZQ==", accept); /* RFC 6455 section 1.3 */
    ASSERT_STR_EQ(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    for (int i = 0; i < N; i++) {
        ASSERT_EQ(ws_hs_new_key(keys[i]), 0);
        ASSERT_EQ(strlen(keys[i]), WS_KEY_LEN);
        ASSERT_EQ(
            mbedtls_base64_decode(raw, sizeof(raw), &olen, (unsigned char *)keys[i], WS_KEY_LEN),
            0);
        ASSERT_EQ(olen, 16);
    }
    qsort(keys, N, sizeof(keys[0]), cmp_keys);
    for (int i = 1; i < N; i++)
        ASSERT(strcmp(keys[i - 1], keys[i]) != 0);

    /* The request carries the key and the required headers, and offers no extension. */
    n = ws_hs_request(req, sizeof(req), "example.com:9443", "/ws?streams=a", keys[0]);
    ASSERT_GT(n, 0);
    ASSERT_EQ(strlen(req), n);
    ASSERT(strncmp(req, "GET /ws?streams=a HTTP/1.1\r\n", 28) == 0);
    ASSERT_CONTAINS(req, "\r\nHost: example.com:9443\r\n");
    ASSERT_CONTAINS(req, "\r\nUpgrade: websocket\r\n");
    ASSERT_CONTAINS(req, "\r\nConnection: Upgrade\r\n");
    ASSERT_CONTAINS(req, "\r\nSec-WebSocket-Version: 13\r\n");
    ASSERT_CONTAINS(req, "\r\nUser-Agent: mdfeed/0.1\r\n");
    ASSERT_CONTAINS(req, keys[0]);
    ASSERT(strstr(req, "Extensions") == NULL);
    ASSERT(strcmp(req + n - 4, "\r\n\r\n") == 0);
    ASSERT_EQ(ws_hs_request(req, 50, "example.com", "/", keys[0]), ERR_TOO_BIG);
    ASSERT_EQ(ws_hs_request(req, sizeof(req), "example.com", "/a\r\nX: y", keys[0]), -EINVAL);
    return 0;
}

/* Changes a few random bytes of buf (flip, insert, delete, truncate); returns the new length. */
static size_t mutate(struct test_rng *r, char *buf, size_t len, size_t cap)
{
    int edits = 1 + (int)test_rng_below(r, 4);

    for (int e = 0; e < edits && len > 0; e++) {
        size_t at = test_rng_below(r, len);
        switch (test_rng_below(r, 5)) {
        case 0:
            buf[at] = (char)test_rng_next(r);
            break;
        case 1:
            buf[at] ^= 0x20; /* case change */
            break;
        case 2:
            if (len < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = "\r\n :,\0x"[test_rng_below(r, 7)];
                len++;
            }
            break;
        case 3:
            memmove(buf + at, buf + at + 1, len - at - 1);
            len--;
            break;
        default:
            len = at;
            break;
        }
    }
    return len;
}

TEST(ws_handshake_fuzz_never_crashes)
{
    char key[WS_KEY_LEN + 1], accept[WS_ACCEPT_LEN + 1], good[2048], buf[4096];
    size_t glen;
    struct test_rng rng;
    int64_t deadline = test_now_ns() + 15 * INT64_C(1000000000);
    int accepted = 0, refused = 0, iters;

    test_rng_init(&rng, test_seed());
    ASSERT_EQ(ws_hs_new_key(key), 0);
    ws_hs_accept(key, accept);
    glen = good_response(good, sizeof(good), key);
    /* Up to 100k inputs, or fewer when the machine is slow (a budget, not an assertion). */
    for (iters = 0; iters < 100000 && test_now_ns() < deadline; iters++) {
        struct ws_hs_response r;
        struct ws_hs_request q;
        size_t len, off = 0;
        ssize_t rc = -EAGAIN;

        if (iters % 4 == 0) {
            len = test_rng_below(&rng, 300);
            for (size_t k = 0; k < len; k++)
                buf[k] = (char)test_rng_next(&rng);
        } else {
            memcpy(buf, good, glen);
            len = mutate(&rng, buf, glen, sizeof(buf));
        }
        ws_hs_response_init(&r, key, test_rng_below(&rng, 3) ? 0 : 700);
        while (off < len && rc == -EAGAIN) {
            size_t k = 1 + test_rng_below(&rng, len - off);
            rc = ws_hs_response_feed(&r, buf + off, k);
            if (rc >= 0) {
                ASSERT_LE(rc, (int64_t)k);
                off += (size_t)rc;
            } else {
                off += k;
            }
        }
        ASSERT(rc >= 0 || rc == -EAGAIN || rc == ERR_WS_HANDSHAKE || rc == ERR_TOO_BIG);
        if (rc >= 0) {
            /* Accepted only with the right accept value and a 101. */
            ASSERT(memmem(buf, off, accept, WS_ACCEPT_LEN) != NULL);
            ASSERT_EQ(r.status, 101);
            accepted++;
        } else if (rc != -EAGAIN) {
            refused++;
        }

        /* The same bytes as a request to the server side. */
        ws_hs_request_init(&q, 0);
        rc = ws_hs_request_feed(&q, buf, len);
        ASSERT(rc >= 0 || rc == -EAGAIN || rc == ERR_HTTP || rc == ERR_TOO_BIG);
        if (rc >= 0)
            ASSERT(q.done);
    }
    ASSERT_GT(accepted, 0);
    ASSERT_GT(refused, 0);
    fprintf(stderr, "  %d inputs: %d accepted, %d refused\n", iters, accepted, refused);
    return 0;
}

TEST(ws_request_parser_reads_upgrade_and_plain_get)
{
    char key[WS_KEY_LEN + 1], req[1024], big[4096];
    struct ws_hs_request q;
    ssize_t rc;
    int n;

    /* Our own client's request, with frame bytes behind it, whole and byte by byte. */
    ASSERT_EQ(ws_hs_new_key(key), 0);
    n = ws_hs_request(req, sizeof(req), "127.0.0.1:9000", "/ws?streams=btcusdt@depth", key);
    ASSERT_GT(n, 0);
    memcpy(req + n, "\x81\x85", 2);
    ws_hs_request_init(&q, 0);
    ASSERT_EQ(ws_hs_request_feed(&q, req, (size_t)n + 2), n);
    ASSERT(q.done && q.is_get && q.upgrade && q.version13 && !q.offers_extensions);
    ASSERT_STR_EQ(q.target, "/ws?streams=btcusdt@depth");
    ASSERT_STR_EQ(q.key, key);
    ws_hs_request_init(&q, 0);
    for (int i = 0; i < n; i++) {
        rc = ws_hs_request_feed(&q, req + i, 1);
        ASSERT_EQ(rc, i == n - 1 ? 1 : -EAGAIN);
    }
    ASSERT(q.upgrade);
    ASSERT_STR_EQ(q.key, key);

    /* A plain GET (REST) completes at the end of its headers, without upgrade; a request behind
     * it is not read. */
    {
        const char *get = "GET /api/v3/depth?symbol=BTCUSDT&limit=1000 HTTP/1.1\r\n"
                          "Host: 127.0.0.1\r\nAccept: */*\r\n\r\n";
        size_t glen = strlen(get);
        const char *next = "GET /next HTTP/1.1\r\n\r\n";
        memcpy(big, get, glen);
        memcpy(big + glen, next, strlen(next));
        ws_hs_request_init(&q, 0);
        ASSERT_EQ(ws_hs_request_feed(&q, big, glen + strlen(next)), (int64_t)glen);
        ASSERT(q.done && q.is_get && !q.upgrade && !q.version13);
        ASSERT_STR_EQ(q.target, "/api/v3/depth?symbol=BTCUSDT&limit=1000");
        ASSERT_STR_EQ(q.key, "");
    }
    /* Token lists, other case, an extension offer, another version. */
    {
        const char *r2 = "GET / HTTP/1.1\r\nhost: x\r\nCONNECTION: keep-alive, upgrade\r\n"
                         "upgrade: WebSocket\r\nsec-websocket-version: 8\r\n"
                         "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        ws_hs_request_init(&q, 0);
        ASSERT_EQ(ws_hs_request_feed(&q, r2, strlen(r2)), (int64_t)strlen(r2));
        ASSERT(q.upgrade && !q.version13 && q.offers_extensions);
        ASSERT_STR_EQ(q.key, "dGhlIHNhbXBsZSBub25jZQ==");
    }
    /* Upgrade without Connection: upgrade is not an upgrade; a POST is not a GET. */
    {
        const char *r3 = "POST /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
        ws_hs_request_init(&q, 0);
        ASSERT_EQ(ws_hs_request_feed(&q, r3, strlen(r3)), (int64_t)strlen(r3));
        ASSERT(!q.upgrade && !q.is_get);
    }
    /* Garbage, an oversized target and oversized headers. */
    ws_hs_request_init(&q, 0);
    ASSERT_EQ(ws_hs_request_feed(&q, "\x16\x03\x01\x02\x00", 5), ERR_HTTP);
    ASSERT_CONTAINS(mdf_errmsg(), "malformed HTTP request");
    ASSERT_EQ(ws_hs_request_feed(&q, "GET / HTTP/1.1\r\n", 16), ERR_HTTP);

    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', 3000);
    memcpy(big + 3005, " HTTP/1.1\r\n\r\n", 13);
    ws_hs_request_init(&q, 0);
    ASSERT_EQ(ws_hs_request_feed(&q, big, 3018), ERR_TOO_BIG);
    ASSERT_CONTAINS(mdf_errmsg(), "target");

    ws_hs_request_init(&q, 200);
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX-Pad: %0300d\r\n\r\n", 0);
    ASSERT_EQ(ws_hs_request_feed(&q, big, (size_t)n), ERR_TOO_BIG);
    return 0;
}
