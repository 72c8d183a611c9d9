/*
 * Raw RFC 6455 frame encoding (section 5.2) with every header bit chosen by the caller (see
 * ws_frame.h). Nothing is checked on purpose: the fake venue and the tests use it to produce
 * frames a correct peer never sends. The length always takes the shortest form (7, 16 or 64 bits),
 * as the RFC requires.
 */
#include <string.h>

#include "core/err.h"
#include "ws/ws_frame.h"

/* The header length for a payload of len bytes: 2, plus 2 or 8 for an extended length, plus 4 for
 * a masking key. */
size_t ws_frame_header_len(size_t len, bool masked)
{
    size_t n = 2;

    if (len > 0xffff)
        n += 8;
    else if (len > 125)
        n += 2;
    return n + (masked ? 4 : 0);
}

/* Writes the header, then the payload (XORed with the mask when there is one; the caller's payload
 * is left untouched). Fails with ERR_TOO_BIG when the frame does not fit in cap. */
ssize_t ws_frame_encode(uint8_t *out, size_t cap, bool fin, unsigned rsv, unsigned opcode,
                        const void *payload, size_t len, const uint8_t *mask)
{
    const uint8_t *src = payload;
    size_t hlen = ws_frame_header_len(len, mask != NULL);
    size_t i, p = 0;

    if (hlen > cap || len > cap - hlen)
        return err_set(ERR_TOO_BIG, "WebSocket frame of %zu bytes does not fit in %zu", hlen + len,
                       cap);
    out[p++] = (uint8_t)((fin ? 0x80u : 0) | ((rsv & 7u) << 4) | (opcode & 0xfu));
    if (len > 0xffff) {
        out[p++] = 127;
        for (i = 0; i < 8; i++)
            out[p++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    } else if (len > 125) {
        out[p++] = 126;
        out[p++] = (uint8_t)(len >> 8);
        out[p++] = (uint8_t)len;
    } else {
        out[p++] = (uint8_t)len;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + p, mask, 4);
        p += 4;
        for (i = 0; i < len; i++)
            out[p + i] = src[i] ^ mask[i & 3];
    } else if (len) {
        memcpy(out + p, src, len);
    }
    return (ssize_t)(p + len);
}
