/*
 * Raw frame encoding with every header bit under the caller's control. The fake venue and the
 * conformance cases use it to send what wslay would never produce (reserved bits, bad opcodes,
 * fragmented control frames, bad close codes); the client itself goes through ws.h.
 */
#ifndef MDF_WS_WS_FRAME_H
#define MDF_WS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Writes one frame: FIN bit, reserved bits rsv (0-7, RSV1 is 4), opcode (0-15), payload, and a
 * masking key when mask is not NULL. Returns the frame length or ERR_TOO_BIG if cap is short.
 */
ssize_t ws_frame_encode(uint8_t *out, size_t cap, bool fin, unsigned rsv, unsigned opcode,
                        const void *payload, size_t len, const uint8_t *mask);

/* The header length ws_frame_encode() uses for a payload of len bytes. */
size_t ws_frame_header_len(size_t len, bool masked);

#endif /* MDF_WS_WS_FRAME_H */
