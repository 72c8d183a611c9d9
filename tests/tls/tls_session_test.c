/*
 * Tests of src/tls/tls_session.c: a client session and a server session talk to each other
 * entirely in memory (the ciphertext one produces is fed to the other), with the certificates
 * of tests/support/certs.c. Ciphertext is moved whole, one byte at a time or in random pieces,
 * so every handshake and record boundary case is met without a socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/err.h"
#include "support/certs.h"
#include "test.h"
#include "tls/tls_session.h"

/* How ciphertext is moved from one session to the other. */
enum move_mode {
    MOVE_ALL,    /* everything available at once */
    MOVE_ONE,    /* one byte at a time */
    MOVE_RANDOM, /* random pieces of 1..max_chunk bytes */
};

/* A ciphertext mover. */
struct mover {
    enum move_mode mode;  /* how much per step */
    struct test_rng *rng; /* MOVE_RANDOM's source */
    size_t max_chunk;     /* MOVE_RANDOM's largest piece */
};

/* A client and a server with their configurations. */
struct pair {
    struct tls_config ccfg; /* client config: trusts some CA file */
    struct tls_config scfg; /* server config: presents some certificate */
    struct tls_session c;   /* client session */
    struct tls_session s;   /* server session */
};

/* Returns "<certs_dir>/<name>" in one of a few rotating static buffers. */
static const char *cert_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    const char *dir = certs_dir();
    char *b = bufs[next++ % 4];

    if (!dir)
        test_fail(__FILE__, __LINE__, "certs_dir: %s", mdf_errmsg());
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

/* Sets up a client trusting `ca` (a file in the certs dir) for `host`, and a server presenting
 * `leaf`.pem/.key (TLS 1.1 at most when tls11). */
static void pair_init(struct pair *p, const char *ca, const char *leaf, const char *host,
                      bool tls11)
{
    char cert[64], key[64];
    struct tls_config_params cp = {.ca_file = cert_path(ca)};
    struct tls_config_params sp = {.server = true, .tls11_only = tls11};
    int rc;

    snprintf(cert, sizeof(cert), "%s.pem", leaf);
    snprintf(key, sizeof(key), "%s.key", leaf);
    sp.cert_file = cert_path(cert);
    sp.key_file = cert_path(key);
    rc = tls_config_init(&p->ccfg, &cp);
    if (rc)
        test_fail(__FILE__, __LINE__, "client config: %d %s", rc, mdf_errmsg());
    rc = tls_config_init(&p->scfg, &sp);
    if (rc)
        test_fail(__FILE__, __LINE__, "server config: %d %s", rc, mdf_errmsg());
    rc = tls_session_init_client(&p->c, &p->ccfg, host);
    if (rc)
        test_fail(__FILE__, __LINE__, "client session: %d %s", rc, mdf_errmsg());
    rc = tls_session_init_server(&p->s, &p->scfg);
    if (rc)
        test_fail(__FILE__, __LINE__, "server session: %d %s", rc, mdf_errmsg());
}

static void pair_fini(struct pair *p)
{
    tls_session_fini(&p->c);
    tls_session_fini(&p->s);
    tls_config_fini(&p->ccfg);
    tls_config_fini(&p->scfg);
}

/* Moves one step of `from`'s output into `to`, as the mover says. Returns bytes moved. */
static size_t move(struct tls_session *from, struct tls_session *to, const struct mover *m)
{
    size_t avail, n, taken;
    const uint8_t *out = tls_output(from, &avail);

    if (avail == 0)
        return 0;
    switch (m->mode) {
    case MOVE_ONE:
        n = 1;
        break;
    case MOVE_RANDOM:
        n = 1 + test_rng_below(m->rng, m->max_chunk);
        break;
    default:
        n = avail;
        break;
    }
    if (n > avail)
        n = avail;
    taken = tls_feed(to, out, n);
    tls_output_consume(from, taken);
    return taken;
}

/*
 * Runs both handshakes to the end, moving ciphertext with `m`. Returns the client's result
 * (0 or its error) and stores the server's in *srv. Stops at the first error on either side;
 * fails the test if both wait and nothing moves.
 */
static int handshake(struct pair *p, const struct mover *m, int *srv)
{
    int rc = -EAGAIN, src = -EAGAIN;

    for (;;) {
        if (rc == -EAGAIN)
            rc = tls_handshake(&p->c);
        if (src == -EAGAIN)
            src = tls_handshake(&p->s);
        if ((rc != 0 && rc != -EAGAIN) || (src != 0 && src != -EAGAIN))
            break;
        size_t moved = move(&p->c, &p->s, m) + move(&p->s, &p->c, m);
        if (rc == 0 && src == 0)
            break;
        if (moved == 0)
            test_fail(__FILE__, __LINE__, "handshake stuck: client %d, server %d", rc, src);
    }
    if (srv)
        *srv = src;
    return rc;
}

/* One direction of a data transfer: plaintext `data` written by tx and collected from rx. */
struct flow {
    struct tls_session *tx, *rx; /* sender and receiver */
    const uint8_t *data;         /* what tx sends */
    size_t len;                  /* its length */
    size_t sent;                 /* bytes tls_write took */
    uint8_t *got;                /* what rx decrypted */
    size_t recvd;                /* bytes in got */
};

/* Writes a random-size piece of the flow's data. Returns bytes taken. */
static size_t flow_write(struct flow *f, struct test_rng *rng)
{
    size_t want = 1 + test_rng_below(rng, 40000);
    ssize_t n;

    if (f->sent == f->len)
        return 0;
    if (want > f->len - f->sent)
        want = f->len - f->sent;
    n = tls_write(f->tx, f->data + f->sent, want);
    if (n < 0)
        test_fail(__FILE__, __LINE__, "tls_write: %zd %s", n, mdf_errmsg());
    f->sent += (size_t)n;
    return (size_t)n;
}

/* Reads everything rx can decrypt now, in random-size reads. Returns bytes read. */
static size_t flow_read(struct flow *f, struct test_rng *rng)
{
    size_t total = 0;

    for (;;) {
        size_t cap = 1 + test_rng_below(rng, 20000);
        ssize_t n;

        if (cap > f->len - f->recvd)
            cap = f->len - f->recvd + 1; /* room for one byte too many, to catch it */
        n = tls_read(f->rx, f->got + f->recvd, cap);
        if (n == -EAGAIN)
            return total;
        if (n < 0)
            test_fail(__FILE__, __LINE__, "tls_read: %zd %s", n, mdf_errmsg());
        f->recvd += (size_t)n;
        total += (size_t)n;
        if (f->recvd > f->len)
            test_fail(__FILE__, __LINE__, "received %zu bytes, only %zu sent", f->recvd, f->len);
    }
}

/* Sends both flows to the end at once, moving ciphertext with `m`. */
static void transfer(struct flow *a, struct flow *b, const struct mover *m, struct test_rng *rng)
{
    while (a->recvd < a->len || b->recvd < b->len) {
        size_t progress = 0;

        progress += flow_write(a, rng) + flow_write(b, rng);
        progress += move(a->tx, a->rx, m) + move(b->tx, b->rx, m);
        progress += flow_read(a, rng) + flow_read(b, rng);
        if (progress == 0)
            test_fail(__FILE__, __LINE__, "transfer stuck: %zu/%zu and %zu/%zu", a->recvd, a->len,
                      b->recvd, b->len);
    }
}

/* Fills buf with random bytes. */
static void fill_random(struct test_rng *rng, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)test_rng_next(rng);
}

/* Index of the first difference between two buffers, or len when equal. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return i;
    return len;
}

TEST(tls_handshake_and_data_both_ways_in_memory)
{
    enum { LEN = 1 << 20 };
    struct test_rng rng;
    struct mover m = {MOVE_RANDOM, &rng, 50000};
    struct pair p;
    uint8_t *up = malloc(LEN), *down = malloc(LEN), *got_up = malloc(LEN + 1),
            *got_down = malloc(LEN + 1);
    int srv;

    test_rng_init(&rng, test_seed());
    fill_random(&rng, up, LEN);
    fill_random(&rng, down, LEN);
    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    ASSERT_EQ(srv, 0);

    struct flow a = {&p.c, &p.s, up, LEN, 0, got_up, 0};
    struct flow b = {&p.s, &p.c, down, LEN, 0, got_down, 0};
    transfer(&a, &b, &m, &rng);
    ASSERT_EQ_U(a.recvd, LEN);
    ASSERT_EQ_U(b.recvd, LEN);
    ASSERT_EQ_U(first_diff(up, got_up, LEN), LEN);
    ASSERT_EQ_U(first_diff(down, got_down, LEN), LEN);

    pair_fini(&p);
    free(up);
    free(down);
    free(got_up);
    free(got_down);
    return 0;
}

/* Runs a handshake and a two-way transfer of `len` bytes (from `seed`) with mover mode `mode`,
 * leaving what each side received in got_up (server) and got_down (client). */
static void run_exchange(enum move_mode mode, uint64_t seed, size_t len, uint8_t *got_up,
                         uint8_t *got_down)
{
    struct test_rng data_rng, step_rng;
    struct mover m = {mode, &step_rng, 3000};
    uint8_t *up = malloc(len), *down = malloc(len);
    struct pair p;
    int srv;

    test_rng_init(&data_rng, seed);
    test_rng_init(&step_rng, seed ^ 0x5eed);
    fill_random(&data_rng, up, len);
    fill_random(&data_rng, down, len);
    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    ASSERT_EQ(srv, 0);

    struct flow a = {&p.c, &p.s, up, len, 0, got_up, 0};
    struct flow b = {&p.s, &p.c, down, len, 0, got_down, 0};
    transfer(&a, &b, &m, &step_rng);
    ASSERT_EQ_U(a.recvd, len);
    ASSERT_EQ_U(b.recvd, len);
    pair_fini(&p);
    free(up);
    free(down);
}

TEST(tls_fed_one_byte_at_a_time_gives_same_plaintext)
{
    enum { LEN = 100000 };
    const enum move_mode modes[] = {MOVE_ALL, MOVE_ONE, MOVE_RANDOM};
    uint64_t seed = test_seed();
    uint8_t *up[3], *down[3];

    for (int i = 0; i < 3; i++) {
        up[i] = malloc(LEN + 1);
        down[i] = malloc(LEN + 1);
        run_exchange(modes[i], seed, LEN, up[i], down[i]);
    }
    /* The one-byte and random-piece runs decrypt exactly what the whole-buffer run did. */
    for (int i = 1; i < 3; i++) {
        ASSERT_EQ_U(first_diff(up[0], up[i], LEN), LEN);
        ASSERT_EQ_U(first_diff(down[0], down[i], LEN), LEN);
    }
    /* ...which is the data that was sent (regenerated from the same seed). */
    struct test_rng data_rng;
    uint8_t *want = malloc(LEN);
    test_rng_init(&data_rng, seed);
    fill_random(&data_rng, want, LEN);
    ASSERT_EQ_U(first_diff(want, up[0], LEN), LEN);
    fill_random(&data_rng, want, LEN);
    ASSERT_EQ_U(first_diff(want, down[0], LEN), LEN);

    free(want);
    for (int i = 0; i < 3; i++) {
        free(up[i]);
        free(down[i]);
    }
    return 0;
}

/* The client's message from the last expect_refusal(). */
static char refusal_msg[512];

/*
 * A client trusting ca.pem connects to a server presenting `leaf` as `host`: asserts that the
 * client's handshake fails with `want` and that the message names the host and contains
 * `phrase`. The message is left in refusal_msg.
 */
static void expect_refusal(const char *leaf, const char *host, bool tls11, int want,
                           const char *phrase)
{
    struct mover m = {MOVE_ALL, NULL, 0};
    struct pair p;
    char quoted[300];
    int rc, srv;

    pair_init(&p, "ca.pem", leaf, host, tls11);
    rc = handshake(&p, &m, &srv);
    fprintf(stderr, "  client: %s\n", mdf_errmsg());
    if (rc != want)
        test_fail(__FILE__, __LINE__, "%s: client handshake gave %d (%s), wanted %d", leaf, rc,
                  mdf_errmsg(), want);
    snprintf(quoted, sizeof(quoted), "\"%s\"", host);
    ASSERT_CONTAINS(mdf_errmsg(), quoted);
    ASSERT_CONTAINS(mdf_errmsg(), phrase);
    snprintf(refusal_msg, sizeof(refusal_msg), "%s", mdf_errmsg());
    /* The error sticks: the session cannot be used afterwards. */
    ASSERT_EQ(tls_handshake(&p.c), want);
    ASSERT_EQ(tls_write(&p.c, (const uint8_t *)"x", 1), want);
    ASSERT_CONTAINS(mdf_errmsg(), phrase);
    /* The client told the server why: the server's handshake fails too. */
    move(&p.c, &p.s, &m);
    ASSERT_EQ(tls_handshake(&p.s), ERR_TLS_PROTO);
    fprintf(stderr, "  server: %s\n", mdf_errmsg());
    pair_fini(&p);
}

TEST(tls_refuses_wrong_host)
{
    expect_refusal("wronghost", "localhost", false, ERR_TLS_VERIFY,
                   "Common Name (CN) does not match");
    return 0;
}

TEST(tls_refuses_expired_certificate)
{
    expect_refusal("expired", "localhost", false, ERR_TLS_VERIFY, "validity has expired");
    return 0;
}

TEST(tls_refuses_not_yet_valid_certificate)
{
    expect_refusal("notyet", "localhost", false, ERR_TLS_VERIFY, "starts in the future");
    return 0;
}

TEST(tls_refuses_self_signed_certificate)
{
    expect_refusal("selfsigned", "localhost", false, ERR_TLS_VERIFY,
                   "not correctly signed by the trusted CA");
    ASSERT_CONTAINS(refusal_msg, "self-signed certificate");
    return 0;
}

TEST(tls_refuses_untrusted_ca)
{
    struct mover m = {MOVE_ALL, NULL, 0};
    struct pair p;
    int srv;

    expect_refusal("untrusted", "localhost", false, ERR_TLS_VERIFY,
                   "not correctly signed by the trusted CA");
    /* The message says who issued what was presented. */
    ASSERT_CONTAINS(refusal_msg, "issuer \"CN=mdfeed other test CA");
    /* The same certificate passes once its CA is trusted: only trust was missing. */
    pair_init(&p, "other-ca.pem", "untrusted", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    ASSERT_EQ(srv, 0);
    pair_fini(&p);
    return 0;
}

TEST(tls_refuses_tls11_only_server)
{
    expect_refusal("good", "localhost", true, ERR_TLS_PROTO, "min/max");
    ASSERT_CONTAINS(refusal_msg, "the server offers TLS 1.1; TLS 1.2 or newer is required");
    return 0;
}

TEST(tls_client_requires_hostname)
{
    struct tls_config cfg;
    struct tls_config_params cp = {.ca_file = cert_path("ca.pem")};
    struct tls_session s;
    char longname[300];

    ASSERT_EQ(tls_config_init(&cfg, &cp), 0);
    memset(&s, 0xa5, sizeof(s));
    ASSERT_EQ(tls_session_init_client(&s, &cfg, NULL), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "host name");
    ASSERT(s.in == NULL && s.out == NULL); /* no session: nothing to free */
    memset(&s, 0xa5, sizeof(s));
    ASSERT_EQ(tls_session_init_client(&s, &cfg, ""), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "host name");
    ASSERT(s.in == NULL && s.out == NULL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ASSERT_EQ(tls_session_init_client(&s, &cfg, longname), -EINVAL);
    /* A failed init leaves a session that fini accepts. */
    tls_session_fini(&s);
    /* The same config does make a session once a name is given. */
    ASSERT_EQ(tls_session_init_client(&s, &cfg, "localhost"), 0);
    tls_session_fini(&s);
    tls_session_fini(&s); /* twice is harmless */
    tls_config_fini(&cfg);
    return 0;
}

/* Writes `text` to a new file under the certs dir and returns its path. */
static const char *write_scratch(const char *name, const char *text)
{
    const char *path = cert_path(name);
    FILE *f = fopen(path, "w");

    ASSERT(f != NULL);
    ASSERT_EQ_U(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
    return path;
}

TEST(tls_refuses_missing_or_garbage_ca_file)
{
    struct tls_config cfg;
    struct tls_config_params cp = {0};
    const char *garbage[] = {
        "this is not a certificate\n",
        "",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    };
    char name[32];
    int rc;

    cp.ca_file = "/nonexistent/mdfeed-test/ca.pem";
    rc = tls_config_init(&cfg, &cp);
    fprintf(stderr, "  %s\n", mdf_errmsg());
    ASSERT_EQ(rc, -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), "/nonexistent/mdfeed-test/ca.pem");
    ASSERT_CONTAINS(mdf_errmsg(), "No such file");
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        snprintf(name, sizeof(name), "garbage%zu.pem", i);
        cp.ca_file = write_scratch(name, garbage[i]);
        rc = tls_config_init(&cfg, &cp);
        fprintf(stderr, "  %s\n", mdf_errmsg());
        ASSERT_EQ(rc, ERR_TLS_PROTO);
        ASSERT_CONTAINS(mdf_errmsg(), cp.ca_file);
        ASSERT_CONTAINS(mdf_errmsg(), "not usable");
    }
    /* A server's missing key is named the same way. */
    struct tls_config_params sp = {.server = true,
                                   .cert_file = cert_path("good.pem"),
                                   .key_file = "/nonexistent/mdfeed-test/good.key"};
    ASSERT_EQ(tls_config_init(&cfg, &sp), -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), "/nonexistent/mdfeed-test/good.key");
    /* ...and a key that belongs to another certificate is refused. */
    sp.key_file = cert_path("expired.key");
    ASSERT_EQ(tls_config_init(&cfg, &sp), ERR_TLS_PROTO);
    ASSERT_CONTAINS(mdf_errmsg(), "does not match");
    return 0;
}

TEST(tls_close_notify_reported_as_closed)
{
    struct mover m = {MOVE_ALL, NULL, 0};
    struct pair p;
    uint8_t buf[64];
    size_t avail;
    int srv;

    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    ASSERT_EQ(tls_write(&p.s, (const uint8_t *)"bye", 3), 3);
    ASSERT_EQ(tls_close_notify(&p.s), 0);
    move(&p.s, &p.c, &m);
    /* Data sent before the close still arrives, then the close is reported, and stays. */
    ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), 3);
    ASSERT(memcmp(buf, "bye", 3) == 0);
    ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), ERR_TLS_CLOSED);
    ASSERT_CONTAINS(mdf_errmsg(), "close_notify");
    ASSERT(p.c.peer_closed);
    ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), ERR_TLS_CLOSED);
    /* The client answers with its own close_notify, which the server reports the same way. */
    ASSERT_EQ(tls_close_notify(&p.c), 0);
    move(&p.c, &p.s, &m);
    ASSERT_EQ(tls_read(&p.s, buf, sizeof(buf)), ERR_TLS_CLOSED);
    ASSERT_CONTAINS(mdf_errmsg(), "client closed");
    pair_fini(&p);

    /* A close_notify queued while the output is full comes out once the output is taken, after
     * all the data written before it. */
    static uint8_t big[64 * 1024], got[sizeof(big) + 1];
    size_t sent = 0, recvd = 0;
    ssize_t n;
    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    memset(big, 'q', sizeof(big));
    while ((n = tls_write(&p.s, big + sent, sizeof(big) - sent)) > 0)
        sent += (size_t)n;
    ASSERT_EQ(n, 0); /* output full */
    ASSERT_EQ(tls_close_notify(&p.s), 0);
    tls_output(&p.s, &avail);
    ASSERT_EQ_U(avail, TLS_BUF_CAP); /* full: (part of) the alert waits inside mbedTLS */
    for (;;) {
        move(&p.s, &p.c, &m);
        n = tls_read(&p.c, got + recvd, sizeof(got) - recvd);
        if (n > 0)
            recvd += (size_t)n;
        else if (n != -EAGAIN)
            break;
        else if (tls_output(&p.s, &avail) && avail == 0)
            test_fail(__FILE__, __LINE__, "close_notify never arrived (%zu bytes read)", recvd);
    }
    ASSERT_EQ(n, ERR_TLS_CLOSED);
    ASSERT_EQ_U(recvd, sent);
    ASSERT(memcmp(got, big, sent) == 0);
    pair_fini(&p);
    return 0;
}

/* Feeds random bytes to `s` in random pieces, advancing the handshake (or reading, once
 * established) after each, until it fails.
 * Returns the error; fails the test if 256 KiB of garbage never caused one. */
static int feed_garbage(struct tls_session *s, struct test_rng *rng, bool established)
{
    uint8_t junk[4096], buf[1024];

    for (size_t total = 0; total < 256 * 1024;) {
        size_t n = 1 + test_rng_below(rng, sizeof(junk));
        int rc;

        fill_random(rng, junk, n);
        total += tls_feed(s, junk, n);
        rc = established ? (int)tls_read(s, buf, sizeof(buf)) : tls_handshake(s);
        if (rc != -EAGAIN)
            return rc;
    }
    test_fail(__FILE__, __LINE__, "256 KiB of garbage were accepted");
}

TEST(tls_garbage_ciphertext_fails_cleanly)
{
    struct test_rng rng;
    struct mover m = {MOVE_ALL, NULL, 0};
    struct pair p;
    uint8_t buf[256];
    size_t avail;
    int rc, srv;

    test_rng_init(&rng, test_seed());

    /* Garbage instead of the server's first flight, after part of the real one. */
    for (int round = 0; round < 20; round++) {
        pair_init(&p, "ca.pem", "good", "localhost", false);
        ASSERT_EQ(tls_handshake(&p.c), -EAGAIN);
        move(&p.c, &p.s, &m);
        ASSERT_EQ(tls_handshake(&p.s), -EAGAIN);
        const uint8_t *out = tls_output(&p.s, &avail);
        ASSERT_GT(avail, 0);
        size_t part = test_rng_below(&rng, avail);
        ASSERT_EQ_U(tls_feed(&p.c, out, part), part);
        rc = feed_garbage(&p.c, &rng, false);
        /* Garbage landing inside the certificate's signature makes a well-formed certificate
         * that is simply not trusted; anywhere else the handshake cannot be parsed. */
        if (rc == ERR_TLS_VERIFY) {
            ASSERT_CONTAINS(mdf_errmsg(), "not correctly signed");
        } else {
            ASSERT_EQ(rc, ERR_TLS_PROTO);
            ASSERT_CONTAINS(mdf_errmsg(), "TLS handshake with \"localhost\" failed");
        }
        ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), rc);
        pair_fini(&p);
    }

    /* Garbage after the handshake: the record layer refuses it. */
    for (int round = 0; round < 20; round++) {
        pair_init(&p, "ca.pem", "good", "localhost", false);
        ASSERT_EQ(handshake(&p, &m, &srv), 0);
        rc = feed_garbage(&p.c, &rng, true);
        ASSERT_EQ(rc, ERR_TLS_PROTO);
        ASSERT_CONTAINS(mdf_errmsg(), "TLS connection with \"localhost\" failed");
        ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), ERR_TLS_PROTO);
        ASSERT_EQ(tls_write(&p.c, buf, 1), ERR_TLS_PROTO);
        pair_fini(&p);
    }

    /* A real record with one bit flipped fails its integrity check. */
    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    ASSERT_EQ(tls_write(&p.s, (const uint8_t *)"market data", 11), 11);
    uint8_t *rec = (uint8_t *)tls_output(&p.s, &avail);
    rec[avail - 1 - test_rng_below(&rng, avail - 5)] ^= (uint8_t)(1u << test_rng_below(&rng, 8));
    move(&p.s, &p.c, &m);
    ASSERT_EQ(tls_read(&p.c, buf, sizeof(buf)), ERR_TLS_PROTO);
    ASSERT_CONTAINS(mdf_errmsg(), "MAC");
    pair_fini(&p);
    return 0;
}

TEST(tls_drains_all_plaintext_after_one_feed)
{
    enum { RECORDS = 20, RECLEN = 1000 };
    struct mover m = {MOVE_ALL, NULL, 0};
    struct pair p;
    uint8_t sent[RECORDS * RECLEN], got[RECORDS * RECLEN + 1];
    size_t avail, total = 0;
    ssize_t n;
    int srv;

    for (size_t i = 0; i < sizeof(sent); i++)
        sent[i] = (uint8_t)(i * 7 + i / 251);
    pair_init(&p, "ca.pem", "good", "localhost", false);
    ASSERT_EQ(handshake(&p, &m, &srv), 0);
    for (int i = 0; i < RECORDS; i++)
        ASSERT_EQ(tls_write(&p.s, sent + i * RECLEN, RECLEN), RECLEN);
    /* All twenty records reach the client in one feed... */
    const uint8_t *out = tls_output(&p.s, &avail);
    ASSERT_GT(avail, RECORDS * RECLEN);
    ASSERT_EQ_U(tls_feed(&p.c, out, avail), avail);
    tls_output_consume(&p.s, avail);
    /* ...and reading until -EAGAIN yields every byte, none left hidden inside mbedTLS. */
    while ((n = tls_read(&p.c, got + total, sizeof(got) - total)) > 0)
        total += (size_t)n;
    ASSERT_EQ(n, -EAGAIN);
    ASSERT_EQ_U(total, sizeof(sent));
    ASSERT(memcmp(sent, got, sizeof(sent)) == 0);
    pair_fini(&p);
    return 0;
}
