/* URL parsing: the forms venue URLs and test URLs take, and the ones we refuse. */
#include <errno.h>

#include "net/url.h"
#include "test.h"

TEST(url_parses_schemes_hosts_ports_and_paths)
{
    static const struct {
        const char *text, *host, *path;
        unsigned port;
        bool tls, ws, defport;
        const char *hosthdr;
    } ok[] = {
        {"wss://stream.binance.com:9443/stream?streams=btcusdt@trade", "stream.binance.com",
         "/stream?streams=btcusdt@trade", 9443, true, true, false, "stream.binance.com:9443"},
        {"wss://fstream.binance.com", "fstream.binance.com", "/", 443, true, true, true,
         "fstream.binance.com"},
        {"ws://127.0.0.1:8080/ws", "127.0.0.1", "/ws", 8080, false, true, false, "127.0.0.1:8080"},
        {"ws://[::1]:9000/x", "::1", "/x", 9000, false, true, false, "[::1]:9000"},
        {"https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000", "api.binance.com",
         "/api/v3/depth?symbol=BTCUSDT&limit=1000", 443, true, false, true, "api.binance.com"},
        {"http://localhost?x=1", "localhost", "/?x=1", 80, false, false, true, "localhost"},
        {"WSS://HOST/", "HOST", "/", 443, true, true, true, "HOST"},
    };
    static const char *const bad[] = {
        "",
        "ftp://x/",
        "wss://",
        "wss://:443/",
        "ws://host:0/",
        "ws://h:65536",
        "ws://h:12x/",
        "ws://[::1/",
        "ws://a b/",
        "ws://u@h/",
        "ws://h/#frag",
        "ws://h/\x01",
        "host:443",
        "ws://h:/",
        "ws://h\xc3\xa9/",
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct url u;
        char hh[300];

        ASSERT_EQ(url_parse(&u, ok[i].text), 0);
        ASSERT_STR_EQ(u.host, ok[i].host);
        ASSERT_STR_EQ(u.path, ok[i].path);
        ASSERT_EQ(u.port, ok[i].port);
        ASSERT_EQ(u.tls, ok[i].tls);
        ASSERT_EQ(u.websocket, ok[i].ws);
        ASSERT_EQ(u.default_port, ok[i].defport);
        ASSERT_GT(url_host_header(&u, hh, sizeof(hh)), 0);
        ASSERT_STR_EQ(hh, ok[i].hosthdr);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct url u;

        if (url_parse(&u, bad[i]) != -EINVAL)
            test_fail(__FILE__, __LINE__, "accepted bad URL \"%s\"", bad[i]);
    }
    return 0;
}
