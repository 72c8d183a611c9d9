/*
 * Fuzzes the WebSocket handshake parsers: the client's reading of the server's response
 * (ws_hs_response_feed, for the key "dGhlIHNhbXBsZSBub25jZQ==" of RFC 6455, so a seed can pass
 * every check) and the fake venue's reading of a request (ws_hs_request_feed). The first byte
 * picks the parser (bit 0) and the chunk size (bits 1-7, 0 = all at once).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "ws/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ws_hs_response resp;
    static struct ws_hs_request req;
    bool response;
    size_t chunk;
    ssize_t rc = -EAGAIN;

    if (size < 1)
        return 0;
    response = !(data[0] & 1);
    chunk = data[0] >> 1;
    data++;
    size--;
    if (chunk == 0)
        chunk = size ? size : 1;
    if (response)
        ws_hs_response_init(&resp, "dGhlIHNhbXBsZSBub25jZQ==", 2048);
    else
        ws_hs_request_init(&req, 2048);
    for (size_t off = 0; off < size && rc == -EAGAIN; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;

        rc = response ? ws_hs_response_feed(&resp, (const char *)data + off, n)
                      : ws_hs_request_feed(&req, (const char *)data + off, n);
        /* A complete message says how much of this chunk was its own. */
        FZ_CHECK(rc < 0 || (size_t)rc <= n);
    }
    if (!response && rc >= 0)
        FZ_CHECK(req.done && req.target_len < sizeof(req.target) &&
                 strlen(req.target) == req.target_len);
    return 0;
}
