/*
 * Fuzzes the WebSocket frame parser (ws_feed: our frame checker ahead of wslay) in the client
 * role and the server role. The first byte picks the role (bit 0) and the chunk size the bytes
 * are fed in (bits 1-7, 0 = all at once), so frames split at every point are seen. Queued
 * replies (pongs, close) are drained with ws_output after every feed.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "ws/ws.h"

static void on_message(void *ud, bool text, const uint8_t *data, size_t len)
{
    size_t *bytes = ud;

    *bytes += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ws_callbacks cb = {.on_message = on_message};
    static uint8_t out[4096];
    struct ws_params p = {.max_message = 4096};
    size_t bytes = 0, chunk;
    struct ws w;

    if (size < 1)
        return 0;
    p.server = data[0] & 1;
    chunk = data[0] >> 1;
    data++;
    size--;
    if (chunk == 0)
        chunk = size ? size : 1;
    FZ_CHECK(ws_init(&w, &p, &cb, &bytes) == 0);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        int rc = ws_feed(&w, data + off, n);

        while (ws_output(&w, out, sizeof(out)) > 0)
            ;
        if (rc < 0)
            break;
    }
    FZ_CHECK(bytes <= size);
    ws_fini(&w);
    return 0;
}
