/*
 * The HTTP/1.1 upgrade that opens a WebSocket (RFC 6455 section 4), both roles, parsed with
 * Debian's libhttp-parser. No I/O: the caller feeds received bytes and sends the text built here.
 *
 * Client: a fresh 16-byte key from getrandom() (the kernel CSPRNG); the response must be
 * status 101 with "Upgrade: websocket", "Connection: Upgrade" and the matching
 * Sec-WebSocket-Accept, must not select an extension we never offered, and must fit in the
 * size limit. Server (the fake venue): parses a GET request, upgrade or plain.
 */
#ifndef MDF_WS_WS_HANDSHAKE_H
#define MDF_WS_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <http_parser.h>

#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define WS_HS_DEFAULT_MAX 16384

/* Fills key (WS_KEY_LEN + 1 bytes) with a new random key. Returns 0 or a negative errno. */
int ws_hs_new_key(char *key);

/* Computes the Sec-WebSocket-Accept value for key into accept (WS_ACCEPT_LEN + 1 bytes). */
void ws_hs_accept(const char *key, char *accept);

/* Writes the client's upgrade request for `host_header` ("host" or "host:port") and `path`
 * (with query; "" means "/"). Returns its length, ERR_TOO_BIG if cap is too small, or -EINVAL if
 * host or path hold a space or control character (which would break the request). */
int ws_hs_request(char *out, size_t cap, const char *host_header, const char *path,
                  const char *key);

/* Client side: the server's response. Fields are private except where noted. */
struct ws_hs_response {
    http_parser parser;                                   /* libhttp-parser's state */
    char accept[WS_ACCEPT_LEN + 1];                       /* what Sec-WebSocket-Accept must be */
    size_t seen, max;                                     /* bytes fed so far and the limit */
    char field[64];                                       /* header name being read */
    size_t field_len;                                     /* its length */
    char value[256];                                      /* header value being read */
    size_t value_len;                                     /* its length */
    bool in_value;                                        /* parser is inside a value */
    bool upgrade_ok, connection_ok, accept_ok, extension; /* checks seen so far */
    bool done;                                            /* headers complete */
    int status; /* public: the HTTP status, once done or once a refusing status was read */
    bool field_long, value_long; /* the name or value did not fit (not one we check) */
    bool accept_bad;             /* a Sec-WebSocket-Accept with the wrong value was seen */
    bool subprotocol;            /* a Sec-WebSocket-Protocol was seen (we asked for none) */
    char reason[48];             /* the status line's reason phrase, for messages */
    size_t reason_len;           /* its length */
    int error;                   /* the first failure, returned again by later calls */
};

/* Prepares to read the response to a request sent with `key`; max 0 = WS_HS_DEFAULT_MAX. */
void ws_hs_response_init(struct ws_hs_response *r, const char *key, size_t max);

/*
 * Feeds response bytes. Returns the number of bytes that belonged to the response (>= 0) once it
 * is complete and valid: any bytes after them are already WebSocket frames. Returns -EAGAIN when
 * more is needed (all of buf consumed), ERR_TOO_BIG past the limit, or ERR_WS_HANDSHAKE with
 * err_set() saying which check failed (status, a missing header, a wrong accept value).
 */
ssize_t ws_hs_response_feed(struct ws_hs_response *r, const char *buf, size_t len);

/* Server side: a GET request, upgrade or not. Fields marked public are read after completion. */
struct ws_hs_request {
    http_parser parser;               /* libhttp-parser's state */
    size_t seen, max;                 /* bytes fed so far and the limit */
    char field[64];                   /* header name being read */
    size_t field_len;                 /* its length */
    char value[512];                  /* header value being read */
    size_t value_len;                 /* its length */
    bool in_value;                    /* parser is inside a value */
    bool done;                        /* public: headers complete */
    bool is_get;                      /* public: method GET */
    char target[2048];                /* public: request target (path and query) */
    char key[WS_KEY_LEN + 8];         /* public: Sec-WebSocket-Key, "" if absent */
    bool upgrade;                     /* public: Upgrade: websocket and Connection: upgrade */
    bool version13;                   /* public: Sec-WebSocket-Version: 13 */
    bool offers_extensions;           /* public: Sec-WebSocket-Extensions present */
    bool field_long, value_long;      /* the name or value did not fit */
    bool upgrade_hdr, connection_hdr; /* Upgrade has websocket, Connection has upgrade */
    size_t target_len;                /* bytes in target */
    int error;                        /* the first failure, returned again by later calls */
};

/* max 0 = WS_HS_DEFAULT_MAX. */
void ws_hs_request_init(struct ws_hs_request *r, size_t max);

/* Same contract as ws_hs_response_feed(); a request that does not parse gives ERR_HTTP, a target
 * longer than the target field gives ERR_TOO_BIG. Plain GETs complete too (upgrade false). */
ssize_t ws_hs_request_feed(struct ws_hs_request *r, const char *buf, size_t len);

/* Writes the 101 response accepting `key`. Returns its length or ERR_TOO_BIG. */
int ws_hs_response_101(char *out, size_t cap, const char *key);

#endif /* MDF_WS_WS_HANDSHAKE_H */
