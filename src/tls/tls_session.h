/*
 * TLS with no I/O of its own: an mbedTLS session fed ciphertext from memory and producing
 * ciphertext into memory, so net/ owns every socket and tls/ can be driven byte by byte in tests.
 *
 * A client session cannot exist without a host name: tls_session_init_client() refuses NULL or
 * "" and always calls mbedtls_ssl_set_hostname(), because mbedTLS 2.28 otherwise accepts a
 * certificate issued for any host (CVE-2025-27809). Verification is always required; there is
 * no switch to turn it off. TLS 1.2 is the minimum a client accepts.
 *
 * One thread per session; a tls_config may be shared by many sessions of one thread.
 */
#ifndef MDF_TLS_TLS_SESSION_H
#define MDF_TLS_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* Ciphertext buffered on each side of a session: one full TLS record (16 KiB + overhead) twice
 * over, allocated once at init. */
#define TLS_BUF_CAP (2 * (16384 + 2048))

struct tls_config_params {
    bool server;           /* server role (the fake venue); client otherwise */
    const char *ca_file;   /* client: PEM file of trusted CAs; NULL = TLS_DEFAULT_CA_FILE */
    const char *cert_file; /* server: PEM certificate chain (leaf first) */
    const char *key_file;  /* server: PEM private key */
    bool tls11_only;       /* server: offer TLS 1.1 and nothing newer (fault injection) */
};

/* Shared settings: RNG, trust anchors or own certificate. Fields are private. */
struct tls_config {
    mbedtls_ssl_config conf;         /* mbedTLS settings every session points at */
    mbedtls_entropy_context entropy; /* OS entropy source */
    mbedtls_ctr_drbg_context drbg;   /* CSPRNG seeded from entropy */
    mbedtls_x509_crt ca;             /* trusted CAs (client) */
    mbedtls_x509_crt cert;           /* own chain (server) */
    mbedtls_pk_context key;          /* own key (server) */
    bool server;                     /* role */
};

/*
 * Builds a configuration. Returns 0, -ENOENT/-EACCES (a file cannot be read), -EINVAL (a server
 * without a certificate or key file), ERR_TLS_PROTO (a file does not parse, the key does not
 * match the certificate, or mbedTLS refused a setting), with err_set() naming the file and the
 * reason. On failure nothing needs freeing. The RNG state is per config: do not keep using a
 * config on both sides of a fork() (both would draw the same "random" numbers).
 */
int tls_config_init(struct tls_config *c, const struct tls_config_params *p);
/* Frees a configuration built by tls_config_init(); every session using it must be gone. */
void tls_config_fini(struct tls_config *c);

/* One TLS connection. Fields are private. */
struct tls_session {
    mbedtls_ssl_context ssl;      /* the session */
    const struct tls_config *cfg; /* borrowed; outlives the session */
    uint8_t *in;                  /* ciphertext fed but not yet consumed by mbedTLS */
    size_t in_off, in_len;        /* unread window of `in` */
    uint8_t *out;                 /* ciphertext produced, not yet taken by the caller */
    size_t out_off, out_len;      /* untaken window of `out` */
    char host[256];               /* the name verified against the certificate (client) */
    bool established;             /* handshake finished */
    bool peer_closed;             /* close_notify received */
    int error;                    /* first fatal error (sticky): every later call returns it */
    char errmsg[512];             /* its message, re-set by every later call that returns it */
};

/*
 * Starts a client session for `hostname` (SNI and certificate name check; copied). Returns 0,
 * -EINVAL (hostname NULL, empty or too long, or `c` is a server config), -ENOMEM, or
 * ERR_TLS_PROTO. On failure the session is zeroed: nothing to free (fini is still harmless).
 */
int tls_session_init_client(struct tls_session *s, const struct tls_config *c,
                            const char *hostname);

/* Starts a server session. Returns 0, -EINVAL (`c` is a client config), -ENOMEM or
 * ERR_TLS_PROTO; on failure as above. */
int tls_session_init_server(struct tls_session *s, const struct tls_config *c);

/* Frees a session. Safe at any state: mid-handshake, after an error, on a zeroed struct, twice. */
void tls_session_fini(struct tls_session *s);

/*
 * Appends ciphertext from the network. Returns how many bytes were taken (less than len when
 * the input buffer is full: call tls_handshake()/tls_read() to drain it, then feed the rest).
 * A session that has failed or seen close_notify takes (and drops) everything.
 */
size_t tls_feed(struct tls_session *s, const uint8_t *buf, size_t len);

/*
 * Advances the handshake. Returns 0 when established, -EAGAIN when it needs more input (send
 * tls_output() first: the handshake produces output), ERR_TLS_VERIFY (certificate refused; the
 * message names the host and every reason mbedTLS gave) or ERR_TLS_PROTO (version, cipher,
 * alert...).
 */
int tls_handshake(struct tls_session *s);

/*
 * Decrypts into buf (at most one record per call). Returns bytes (> 0), -EAGAIN (needs more
 * ciphertext), ERR_TLS_CLOSED (close_notify) or ERR_TLS_PROTO; before the handshake has finished
 * it advances it, so it can also return tls_handshake()'s errors. Call until -EAGAIN after each
 * feed so no plaintext stays hidden inside mbedTLS.
 */
ssize_t tls_read(struct tls_session *s, uint8_t *buf, size_t cap);

/*
 * Encrypts from buf. Returns how many plaintext bytes were taken (may be fewer than len, even 0,
 * when the output buffer is full: take the output and call again with the rest), -EAGAIN (the
 * handshake has not finished; nothing taken), ERR_TLS_CLOSED or ERR_TLS_PROTO.
 */
ssize_t tls_write(struct tls_session *s, const uint8_t *buf, size_t len);

/* Ciphertext waiting to be sent (borrowed; valid until the next call on the session). */
const uint8_t *tls_output(const struct tls_session *s, size_t *len);

/* Marks n bytes of tls_output() as handed to the network, and moves any ciphertext mbedTLS still
 * holds (a record that did not fit) into the freed room. */
void tls_output_consume(struct tls_session *s, size_t n);

/* Queues a close_notify alert into the output (nothing before the handshake has finished).
 * Returns 0, or the session's earlier error (other than ERR_TLS_CLOSED) or ERR_TLS_PROTO. */
int tls_close_notify(struct tls_session *s);

#endif /* MDF_TLS_TLS_SESSION_H */
