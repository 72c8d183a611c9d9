/*
 * Fuzzes the REST client's HTTP response path (net/http.c) without sockets: http.c has no
 * parser entry point of its own, so this white-box harness includes it and drives its
 * libhttp-parser callbacks the way on_data and on_error do, with the request idle so that
 * check_parser's outcome does not touch a connection. The first byte gives the chunk size
 * (bits 0-6, 0 = all at once) and whether the stream ends in order after the bytes (bit 7).
 */
#include "net/http.c"

#include "fuzz.h"

#define MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_get g;
    static uint8_t body[MAX_BODY];
    size_t chunk;
    bool eof;

    if (size < 1)
        return 0;
    chunk = data[0] & 127;
    eof = data[0] >> 7;
    data++;
    size--;
    if (chunk == 0)
        chunk = size ? size : 1;
    memset(&g, 0, sizeof(g));
    g.body = body;
    g.body_cap = g.limit = MAX_BODY;
    g.state = HTTP_IDLE; /* finish() returns at once: there is no connection */
    http_parser_settings_init(&g.settings);
    g.settings.on_header_field = on_header_field;
    g.settings.on_header_value = on_header_value;
    g.settings.on_headers_complete = on_headers_complete;
    g.settings.on_body = on_body;
    g.settings.on_message_complete = on_message_complete;
    reset_response(&g);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;

        g.got_bytes = true;
        http_parser_execute(&g.parser, &g.settings, (const char *)data + off, n);
        check_parser(&g);
        if (g.complete || g.too_big || HTTP_PARSER_ERRNO(&g.parser) != HPE_OK)
            break;
    }
    if (eof && g.got_bytes && !g.complete && !g.too_big && HTTP_PARSER_ERRNO(&g.parser) == HPE_OK) {
        http_parser_execute(&g.parser, &g.settings, NULL, 0);
        check_parser(&g);
    }
    FZ_CHECK(g.resp.body_len <= MAX_BODY);
    FZ_CHECK(g.resp.nheaders >= 0 && g.resp.nheaders <= HTTP_MAX_HEADERS);
    for (int i = 0; i < g.resp.nheaders; i++)
        FZ_CHECK(strlen(g.resp.headers[i].value) < sizeof(g.resp.headers[i].value));
    if (g.complete)
        (void)http_response_header(&g.resp, "content-type");
    return 0;
}
