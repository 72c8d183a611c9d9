/*
 * TLS with no I/O of its own (see tls_session.h). mbedTLS is given two memory callbacks: its
 * "recv" drains the session's `in` buffer (ciphertext the caller fed) and its "send" appends to
 * the `out` buffer (ciphertext the caller takes); each reports WANT_READ / WANT_WRITE when its
 * buffer is empty / full, which mbedTLS treats as "call me again", so the handshake and records
 * advance in whatever pieces the network delivers, down to one byte.
 *
 * Written against mbedTLS 2.28 (Debian 12). The first fatal error of a session is kept with its
 * message and returned by every later call, because mbedTLS's context must not be used again
 * after one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/ssl_internal.h> /* mbedtls_ssl_flush_output(): 2.28 keeps it here */

#include "core/err.h"
#include "tls/tls_session.h"

/* Personalisation string mixed into every config's CTR_DRBG seed. */
static const char drbg_pers[] = "mdfeed tls_config";

/* Room kept for a record's header, IV, MAC and padding when the expansion is unknown. */
#define RECORD_MARGIN 2048

/* mbedTLS's text for an error code, e.g. "SSL - The connection indicated an EOF". */
static void tls_strerror(int ret, char *buf, size_t cap)
{
    mbedtls_strerror(ret, buf, cap);
}

/*
 * Checks that `path` can be opened for reading, so a missing or unreadable file is reported
 * with its errno (mbedTLS folds both into one "file I/O error"). Returns 0 or -errno with the
 * message naming the file and what it was for.
 */
static int check_readable(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");

    if (!f) {
        int e = errno;
        return err_set(-e, "TLS: cannot read %s \"%s\": %s", what, path, strerror(e));
    }
    fclose(f);
    return 0;
}

/* Loads the client's trust anchors. Returns 0, -errno or ERR_TLS_PROTO (nothing parses). */
static int load_ca(struct tls_config *c, const char *path)
{
    char why[160];
    int ret = check_readable(path, "CA file");

    if (ret)
        return ret;
    ret = mbedtls_x509_crt_parse_file(&c->ca, path);
    /* A positive result counts certificates that failed to parse among ones that did: a system
     * bundle may hold a few mbedTLS does not understand, and the rest are still usable. */
    if (ret < 0 || c->ca.version == 0) {
        if (ret < 0)
            tls_strerror(ret, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "no certificate in it could be parsed");
        return err_set(ERR_TLS_PROTO, "TLS: CA file \"%s\" is not usable: %s", path, why);
    }
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    return 0;
}

/* Loads the server's certificate chain and key and checks they belong together. */
static int load_own_cert(struct tls_config *c, const char *cert_file, const char *key_file)
{
    char why[160];
    int ret;

    if (!cert_file || !*cert_file || !key_file || !*key_file)
        return err_set(-EINVAL, "TLS: a server needs both a certificate file and a key file");
    ret = check_readable(cert_file, "certificate file");
    if (ret)
        return ret;
    ret = check_readable(key_file, "key file");
    if (ret)
        return ret;
    ret = mbedtls_x509_crt_parse_file(&c->cert, cert_file);
    if (ret != 0) {
        if (ret < 0)
            tls_strerror(ret, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "%d certificate(s) in it do not parse", ret);
        return err_set(ERR_TLS_PROTO, "TLS: certificate file \"%s\" is not usable: %s", cert_file,
                       why);
    }
    ret = mbedtls_pk_parse_keyfile(&c->key, key_file, NULL);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        return err_set(ERR_TLS_PROTO, "TLS: key file \"%s\" is not usable: %s", key_file, why);
    }
    ret = mbedtls_pk_check_pair(&c->cert.pk, &c->key);
    if (ret != 0)
        return err_set(ERR_TLS_PROTO, "TLS: key file \"%s\" does not match certificate \"%s\"",
                       key_file, cert_file);
    ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        return err_set(ERR_TLS_PROTO, "TLS: cannot use certificate \"%s\": %s", cert_file, why);
    }
    return 0;
}

int tls_config_init(struct tls_config *c, const struct tls_config_params *p)
{
    char why[160];
    int ret;

    memset(c, 0, sizeof(*c));
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->cert);
    mbedtls_pk_init(&c->key);
    c->server = p->server;

    ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                (const unsigned char *)drbg_pers, sizeof(drbg_pers) - 1);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        ret = err_set(ERR_TLS_PROTO, "TLS: cannot seed the random generator: %s", why);
        goto err_free;
    }
    ret = mbedtls_ssl_config_defaults(&c->conf,
                                      p->server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        ret = err_set(ERR_TLS_PROTO, "TLS: mbedTLS refused the default settings: %s", why);
        goto err_free;
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    /* The 1/n-1 split (a TLS 1.0 BEAST defence) turns one write into two records; tls_write()
     * sizes each write to one record that fits the output buffer, and TLS 1.0 is only ever
     * offered by the fault-injection server. */
    mbedtls_ssl_conf_cbc_record_splitting(&c->conf, MBEDTLS_SSL_CBC_RECORD_SPLITTING_DISABLED);

    if (p->server) {
        ret = load_own_cert(c, p->cert_file, p->key_file);
        if (ret)
            goto err_free;
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE); /* no client certs */
        if (p->tls11_only) {
            /* TLS 1.0..1.1 only, so a client with a TLS 1.2 minimum must refuse us. */
            mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                         MBEDTLS_SSL_MINOR_VERSION_1);
            mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                         MBEDTLS_SSL_MINOR_VERSION_2);
        } else {
            mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                         MBEDTLS_SSL_MINOR_VERSION_3);
        }
    } else {
        ret = load_ca(c, p->ca_file ? p->ca_file : TLS_DEFAULT_CA_FILE);
        if (ret)
            goto err_free;
        /* Always verify: there is deliberately no way to ask for less. */
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
    }
    return 0;

err_free:
    tls_config_fini(c);
    return ret;
}

void tls_config_fini(struct tls_config *c)
{
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_pk_free(&c->key);
    mbedtls_x509_crt_free(&c->cert);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    memset(c, 0, sizeof(*c));
}

/* mbedTLS's receive callback: hands over fed ciphertext, or WANT_READ when there is none. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_session *s = ctx;
    size_t n = len < s->in_len ? len : s->in_len;

    if (n == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (n > INT_MAX)
        n = INT_MAX;
    memcpy(buf, s->in + s->in_off, n);
    s->in_off += n;
    s->in_len -= n;
    if (s->in_len == 0)
        s->in_off = 0;
    return (int)n;
}

/* mbedTLS's send callback: appends ciphertext to `out`, or WANT_WRITE when it is full. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls_session *s = ctx;
    size_t room, n;

    if (s->out_off > 0 && s->out_off + s->out_len + len > TLS_BUF_CAP) {
        memmove(s->out, s->out + s->out_off, s->out_len);
        s->out_off = 0;
    }
    room = TLS_BUF_CAP - s->out_off - s->out_len;
    n = len < room ? len : room;
    if (n == 0)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    if (n > INT_MAX)
        n = INT_MAX;
    memcpy(s->out + s->out_off + s->out_len, buf, n);
    s->out_len += n;
    return (int)n;
}

/* Writes how the peer is named in messages: the quoted host name, or "client" on a server. */
static const char *peer_name(const struct tls_session *s, char *buf, size_t cap)
{
    if (!s->cfg || s->cfg->server || !s->host[0])
        return "client";
    snprintf(buf, cap, "\"%s\"", s->host);
    return buf;
}

/* The name of a TLS alert description (RFC 5246 7.2), for messages. */
static const char *alert_name(unsigned int desc)
{
    switch (desc) {
    case MBEDTLS_SSL_ALERT_MSG_CLOSE_NOTIFY:
        return "close_notify";
    case MBEDTLS_SSL_ALERT_MSG_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC:
        return "bad_record_mac";
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
        return "bad_certificate";
    case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
        return "unsupported_certificate";
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
        return "certificate_revoked";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
        return "certificate_expired";
    case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
        return "certificate_unknown";
    case MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
        return "unknown_ca";
    case MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR:
        return "decode_error";
    case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
        return "decrypt_error";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
        return "protocol_version";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
        return "insufficient_security";
    case MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR:
        return "internal_error";
    case MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME:
        return "unrecognized_name";
    default:
        return "other";
    }
}

/* Formats the session's error message (truncated to fit). */
static void session_msg(struct tls_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void session_msg(struct tls_session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

/* The name of TLS version 3.minor, for messages. */
static const char *version_name(int minor)
{
    switch (minor) {
    case MBEDTLS_SSL_MINOR_VERSION_0:
        return "SSL 3.0";
    case MBEDTLS_SSL_MINOR_VERSION_1:
        return "TLS 1.0";
    case MBEDTLS_SSL_MINOR_VERSION_2:
        return "TLS 1.1";
    case MBEDTLS_SSL_MINOR_VERSION_3:
        return "TLS 1.2";
    default:
        return "an unknown version";
    }
}

/*
 * Client verify callback, called by mbedTLS for each certificate of the chain (root first):
 * notes the server certificate's subject and issuer in the still-unused errmsg, so a refusal can
 * say what was presented. Leaves mbedTLS's verdict (*flags) alone.
 */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct tls_session *s = ctx;
    char subject[160], issuer[160];

    if (depth != 0)
        return 0;
    if (mbedtls_x509_dn_gets(subject, sizeof(subject), &crt->subject) < 0)
        snprintf(subject, sizeof(subject), "?");
    if (mbedtls_x509_dn_gets(issuer, sizeof(issuer), &crt->issuer) < 0)
        snprintf(issuer, sizeof(issuer), "?");
    session_msg(s, "%scertificate subject \"%s\", issuer \"%s\"",
                strcmp(subject, issuer) == 0 ? "self-signed " : "", subject, issuer);
    return 0;
}

/*
 * Describes a refused certificate: every reason mbedTLS gave, joined with "; ", then the
 * certificate's subject and issuer, so the operator can see what was presented.
 */
static void describe_verify_failure(const struct tls_session *s, char *buf, size_t cap)
{
    char info[512], *line, *save = NULL;
    uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
    size_t n = 0;

    buf[0] = '\0';
    if (flags == 0 || flags == (uint32_t)-1 ||
        mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) <= 0)
        snprintf(info, sizeof(info), "verification failed");
    /* mbedTLS ends every reason with a newline: join them into one line. */
    for (line = strtok_r(info, "\n", &save); line && n < cap; line = strtok_r(NULL, "\n", &save))
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", line);
    /* What verify_cb() noted about the certificate presented. */
    size_t m = strlen(s->errmsg);
    if (m > 0 && n + m + 4 <= cap) {
        memcpy(buf + n, " (", 2);
        memcpy(buf + n + 2, s->errmsg, m);
        memcpy(buf + n + 2 + m, ")", 2);
    }
}

/* Returns the session's sticky error again, with its message. */
static int sticky(const struct tls_session *s)
{
    return err_set(s->error, "%s", s->errmsg);
}

/*
 * Turns a fatal mbedTLS result into our code and an operator-readable message, remembers both
 * (the context is unusable from now on) and returns the code.
 */
static int session_fail(struct tls_session *s, int ret)
{
    char peer[sizeof(s->host) + 2], why[sizeof(s->errmsg)];
    const char *phase = s->established ? "connection" : "handshake";
    const char *who = peer_name(s, peer, sizeof(peer));
    int code = ERR_TLS_PROTO;

    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        describe_verify_failure(s, why, sizeof(why));
        code = ERR_TLS_VERIFY;
        session_msg(s, "TLS: certificate for %s refused: %s", who, why);
    } else if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY && s->established) {
        s->peer_closed = true;
        code = ERR_TLS_CLOSED;
        session_msg(s, "TLS: %s closed the connection (close_notify)", who);
    } else if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        session_msg(s, "TLS handshake with %s failed: the peer closed the connection", who);
    } else if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && s->ssl.in_msg) {
        /* mbedTLS leaves the alert record in in_msg: [level, description]. */
        unsigned int desc = s->ssl.in_msg[1];
        session_msg(s, "TLS %s with %s failed: the peer sent fatal alert %u (%s)", phase, who, desc,
                    alert_name(desc));
    } else if (ret == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION && !s->cfg->server &&
               s->ssl.major_ver == MBEDTLS_SSL_MAJOR_VERSION_3 &&
               s->ssl.minor_ver < MBEDTLS_SSL_MINOR_VERSION_3) {
        /* The client read the server's choice into minor_ver before refusing it. */
        tls_strerror(ret, why, sizeof(why));
        session_msg(s,
                    "TLS handshake with %s failed: %s (the server offers %s; TLS 1.2 or newer "
                    "is required)",
                    who, why, version_name(s->ssl.minor_ver));
    } else {
        tls_strerror(ret, why, sizeof(why));
        session_msg(s, "TLS %s with %s failed: %s", phase, who, why);
    }
    s->error = code;
    return sticky(s);
}

/* Shared part of the two init functions; on failure the session is zeroed. */
static int session_init(struct tls_session *s, const struct tls_config *c)
{
    char why[160];
    int ret;

    memset(s, 0, sizeof(*s));
    mbedtls_ssl_init(&s->ssl);
    s->cfg = c;
    s->in = malloc(TLS_BUF_CAP);
    s->out = malloc(TLS_BUF_CAP);
    if (!s->in || !s->out) {
        ret = err_set(-ENOMEM, "TLS: cannot allocate session buffers");
        goto err_fini;
    }
    ret = mbedtls_ssl_setup(&s->ssl, &c->conf);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        ret = err_set(ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : ERR_TLS_PROTO,
                      "TLS: cannot set up a session: %s", why);
        goto err_fini;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    return 0;

err_fini:
    tls_session_fini(s);
    return ret;
}

int tls_session_init_client(struct tls_session *s, const struct tls_config *c, const char *hostname)
{
    char why[160];
    size_t len = hostname ? strlen(hostname) : 0;
    int ret;

    memset(s, 0, sizeof(*s));
    /* Without a name mbedTLS 2.28 skips the certificate name check (CVE-2025-27809). */
    if (len == 0)
        return err_set(-EINVAL, "TLS: a client session needs the server's host name");
    if (len >= sizeof(s->host) || len > MBEDTLS_SSL_MAX_HOST_NAME_LEN)
        return err_set(-EINVAL, "TLS: host name of %zu bytes is too long", len);
    if (c->server)
        return err_set(-EINVAL, "TLS: a client session needs a client configuration");
    ret = session_init(s, c);
    if (ret)
        return ret;
    memcpy(s->host, hostname, len + 1);
    mbedtls_ssl_set_verify(&s->ssl, verify_cb, s);
    ret = mbedtls_ssl_set_hostname(&s->ssl, s->host);
    if (ret != 0) {
        tls_strerror(ret, why, sizeof(why));
        ret = err_set(ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : ERR_TLS_PROTO,
                      "TLS: cannot set host name \"%s\": %s", hostname, why);
        tls_session_fini(s);
        return ret;
    }
    return 0;
}

int tls_session_init_server(struct tls_session *s, const struct tls_config *c)
{
    if (!c->server) {
        memset(s, 0, sizeof(*s));
        return err_set(-EINVAL, "TLS: a server session needs a server configuration");
    }
    return session_init(s, c);
}

void tls_session_fini(struct tls_session *s)
{
    mbedtls_ssl_free(&s->ssl);
    free(s->in);
    free(s->out);
    memset(s, 0, sizeof(*s));
}

size_t tls_feed(struct tls_session *s, const uint8_t *buf, size_t len)
{
    size_t room, n;

    if (s->error)
        return len; /* a dead session has no use for more bytes: drop them */
    if (s->in_off > 0 && s->in_off + s->in_len + len > TLS_BUF_CAP) {
        memmove(s->in, s->in + s->in_off, s->in_len);
        s->in_off = 0;
    }
    room = TLS_BUF_CAP - s->in_off - s->in_len;
    n = len < room ? len : room;
    memcpy(s->in + s->in_off + s->in_len, buf, n);
    s->in_len += n;
    return n;
}

int tls_handshake(struct tls_session *s)
{
    int ret;

    if (s->error)
        return sticky(s);
    if (s->established)
        return 0;
    ret = mbedtls_ssl_handshake(&s->ssl);
    if (ret == 0) {
        s->established = true;
        return 0;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return -EAGAIN;
    return session_fail(s, ret);
}

ssize_t tls_read(struct tls_session *s, uint8_t *buf, size_t cap)
{
    int ret;

    if (s->error)
        return sticky(s);
    if (!s->established) {
        ret = tls_handshake(s);
        if (ret)
            return ret;
    }
    if (cap == 0)
        return -EAGAIN;
    ret = mbedtls_ssl_read(&s->ssl, buf, cap);
    if (ret > 0)
        return ret;
    /* 0 only means "transport EOF", which our callbacks never report. */
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return -EAGAIN;
    return session_fail(s, ret);
}

ssize_t tls_write(struct tls_session *s, const uint8_t *buf, size_t len)
{
    size_t room, margin, chunk;
    int ret, exp, maxp;

    if (s->error)
        return sticky(s);
    if (!s->established) {
        ret = tls_handshake(s);
        if (ret)
            return ret;
    }
    if (len == 0)
        return 0;
    /* mbedTLS assumes a write made while it still holds output repeats the previous one, so
     * first move that output out; if it does not fit, nothing can be taken now. */
    ret = mbedtls_ssl_flush_output(&s->ssl);
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    if (ret != 0)
        return session_fail(s, ret);
    /* Take only what makes one record that fits in `out`, so mbedTLS never has to hold a record
     * back (it would then expect the same bytes again). */
    exp = mbedtls_ssl_get_record_expansion(&s->ssl);
    margin = exp > 0 ? (size_t)exp : RECORD_MARGIN;
    room = TLS_BUF_CAP - s->out_len;
    if (room <= margin)
        return 0;
    maxp = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
    if (maxp < 0)
        return session_fail(s, maxp);
    chunk = len < room - margin ? len : room - margin;
    if (chunk > (size_t)maxp)
        chunk = (size_t)maxp;
    ret = mbedtls_ssl_write(&s->ssl, buf, chunk);
    if (ret > 0)
        return ret;
    /* Not expected after the sizing above: the record was built and mbedTLS holds what did not
     * fit, which tls_output_consume() moves out later, so the bytes count as taken. */
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return (ssize_t)chunk;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == 0)
        return 0;
    return session_fail(s, ret);
}

const uint8_t *tls_output(const struct tls_session *s, size_t *len)
{
    *len = s->out_len;
    return s->out + s->out_off;
}

void tls_output_consume(struct tls_session *s, size_t n)
{
    if (n > s->out_len)
        n = s->out_len;
    s->out_off += n;
    s->out_len -= n;
    if (s->out_len == 0)
        s->out_off = 0;
    /* A record (or alert) that did not fit earlier is still inside mbedTLS: move it out now.
     * Only WANT_WRITE can come back, as our send callback fails no other way. */
    if (s->ssl.out_left > 0 && s->ssl.conf && mbedtls_ssl_flush_output(&s->ssl) != 0)
        return; /* still more than fits: the next consume moves the rest */
}

int tls_close_notify(struct tls_session *s)
{
    int ret;

    /* After the peer's close_notify ours is still owed; after any other error there is no
     * session left to close. */
    if (s->error && s->error != ERR_TLS_CLOSED)
        return sticky(s);
    if (!s->established)
        return 0;
    ret = mbedtls_ssl_close_notify(&s->ssl);
    /* WANT_WRITE: the alert is built and waits inside mbedTLS for tls_output_consume(). */
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    return session_fail(s, ret);
}
