/*
 * Conformance cases: scripted server behaviour, modeled on the Autobahn test suite's groups
 * 1-7, 9 and 10, that a client reaches by opening /case/<id>. Each case sends its frames
 * (valid or deliberately broken) as soon as the connection is upgraded, then watches what the
 * client does: the client under test echoes every message it receives, answers pings, and
 * fails the connection with the right close code on a protocol error. When the connection ends
 * the case prints its verdict on stdout: "case <id> PASS" or "case <id> FAIL <reason>".
 *
 * The server (server.c) provides the fv_peer functions; cases.c provides the fv_case ones.
 */
#ifndef MDF_FAKEVENUE_CASES_H
#define MDF_FAKEVENUE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fv_peer;     /* one server-side connection (server.c) */
struct fv_case_run; /* one running case (cases.c) */

/* ---- provided by the server ---- */

/* Queues bytes exactly as given (after anything queued earlier) to the client. */
void fv_peer_send_raw(struct fv_peer *p, const void *buf, size_t len);
/* Queues one unmasked frame with the given header bits (see ws_frame_encode()). */
void fv_peer_send_frame(struct fv_peer *p, bool fin, unsigned rsv, unsigned opcode,
                        const void *payload, size_t len);
/* Sends what is queued, then closes the TCP connection (FIN). */
void fv_peer_shutdown(struct fv_peer *p);
/* Prints one line on stdout and flushes it. */
void fv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- provided by cases.c ---- */

bool fv_case_exists(const char *id);
/* Prints every case as "<id>\t<expected outcome>\t<description>\n". */
void fv_case_list(FILE *out);
/* Starts case id on an upgraded connection and sends its opening frames. Returns NULL when id
 * is unknown. */
struct fv_case_run *fv_case_start(struct fv_peer *p, const char *id);
/* What the client sent, as decoded by the server's WebSocket layer. */
void fv_case_on_message(struct fv_case_run *r, bool text, const uint8_t *data, size_t len);
void fv_case_on_pong(struct fv_case_run *r, const uint8_t *data, size_t len);
void fv_case_on_close(struct fv_case_run *r, uint16_t code); /* 1005 if it carried no code */
/* The connection is gone: prints the verdict and frees r. */
void fv_case_on_disconnect(struct fv_case_run *r);

#endif /* MDF_FAKEVENUE_CASES_H */
