/*
 * Tests of the Bitfinex profile, stream keys and control messages, the decoder
 * (src/venue/bitfinex.c) and the book with its checksum (src/book/bfx_book.c): the real
 * recording lines and documentation examples of src/venue/README.md §3 checked field by field
 * against decimals parsed independently from the message text, numbers against strings, the
 * checksum against a CRC-32 computed here over text built here, a random book stream against a
 * reference book, and hostile input (every truncation, random mutations).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "book/bfx_book.h"
#include "core/err.h"
#include "venue/bitfinex.h"

#include "test.h"

#define MAX_MSG (1u << 20) /* decoders in these tests take messages up to 1 MiB */

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

/* The Bitfinex profile (fails the test if missing). */
static const struct venue_profile *bfx(void)
{
    const struct venue_profile *p = venue_profile_find("bitfinex");

    ASSERT(p);
    return p;
}

/* A stream spec. */
static struct vstream spec(int type, const char *sym, int interval, int prec, int speed, int levels)
{
    struct vstream s;

    memset(&s, 0, sizeof(s));
    s.type = (uint8_t)type;
    s.interval = (uint8_t)interval;
    s.prec = (uint8_t)prec;
    s.speed_ms = (uint16_t)speed;
    s.levels = (uint8_t)levels;
    snprintf(s.symbol, sizeof(s.symbol), "%s", sym);
    return s;
}

/* A decoder for the tests (fails the test if it cannot be made). */
static struct bfx_decoder *decoder(void)
{
    struct bfx_decoder *d = bitfinex_decoder_new(VDEC_JSMN, 1000, MAX_MSG);

    ASSERT(d);
    return d;
}

/* Decodes a NUL-terminated message received at time 777. */
static int decode(struct bfx_decoder *d, const char *msg, uint32_t flags, struct bfx_msg *m)
{
    return bitfinex_decode(d, (const uint8_t *)msg, strlen(msg), 777, flags, m);
}

/* Decodes a channel message for stream s: both steps; fails the test if the first does not
 * stop at BFX_DATA. Returns the second step's result. */
static int decode_as(struct bfx_decoder *d, const char *msg, uint32_t flags,
                     const struct vstream *s, struct bfx_msg *m)
{
    int rc = decode(d, msg, flags, m);

    if (rc != 0 || m->kind != BFX_DATA)
        test_fail(__FILE__, __LINE__, "%s: rc %d kind %d (%s)", msg, rc, (int)m->kind,
                  mdf_errmsg());
    return bitfinex_decode_data(d, s, m);
}

/* Asserts that v is exactly the decimal written `text` (same mantissa and exponent as
 * mdf_dec_parse gives for that text). */
#define ASSERT_DEC(v, text)                                                                        \
    do {                                                                                           \
        struct mdf_dec want_;                                                                      \
        ASSERT_EQ(mdf_dec_parse((text), strlen(text), &want_), 0);                                 \
        ASSERT_EQ((v).m, want_.m);                                                                 \
        ASSERT_EQ((v).e, want_.e);                                                                 \
    } while (0)

/* Asserts two decimals are identical (mantissa and exponent). */
#define ASSERT_SAME_DEC(a, b)                                                                      \
    do {                                                                                           \
        ASSERT_EQ((a).m, (b).m);                                                                   \
        ASSERT_EQ((a).e, (b).e);                                                                   \
    } while (0)

/* CRC-32 (IEEE, reflected, poly 0xEDB88320) computed bit by bit: independent of zlib. */
static uint32_t crc32_bitwise(const char *s, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* zlib's CRC-32 of a string as the signed int Bitfinex sends. */
static int32_t zcrc(const char *s)
{
    return (int32_t)(uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)s, (uInt)strlen(s));
}

/* ------------------------------------------------------------------------------------------ */
/* Profile, checks, keys, control messages                                                    */

TEST(bitfinex_profile_and_stream_checks_match_the_venue)
{
    const struct venue_profile *p = bfx();
    struct vstream s, t;

    ASSERT_EQ(p->family, VF_BITFINEX);
    ASSERT_STR_EQ(p->ws_url, "wss://api-pub.bitfinex.com");
    ASSERT_STR_EQ(p->rest_url, "https://api-pub.bitfinex.com");
    ASSERT_EQ(p->streams_per_conn, 25);
    ASSERT_EQ(p->conn_attempts, 20);
    ASSERT_EQ(p->conn_window_s, 60);
    ASSERT_EQ(p->max_age_s, 0);
    ASSERT_EQ(p->ping_interval_s, 15);

    /* What it serves. */
    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), 0);
    s = spec(VS_DIFF, "tAVAX:USD", 0, 4, 2000, 250);
    ASSERT_EQ(bitfinex_stream_check(p, &s), 0);
    s = spec(VS_KLINE, "tBTCF0:USTF0", MDF_IV_14D, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), 0);
    s = spec(VS_TRADE, "tTESTBTC:TESTUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), 0);
    s = spec(VS_TICKER, "tETHUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), 0);

    /* What it does not, each with a reason naming the problem. */
    s = spec(VS_TRADE, "fUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "funding symbol fUSD is not supported");
    s = spec(VS_DIFF, "tBTCUSD", 0, BFX_PREC_R0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "raw books (R0)");
    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 1000, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "speed");
    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 50);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "length 50");
    s = spec(VS_KLINE, "tBTCUSD", MDF_IV_4H, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "4h candles");
    s = spec(VS_TICKER, "tBTCUSD", 0, 1, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    s = spec(VS_AGGTRADE, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "no agg_trade stream");
    s = spec(VS_TRADE, "BTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    s = spec(VS_TRADE, "tbtcusd", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    s = spec(VS_TRADE, "tA:B:C", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    s = spec(VS_TRADE, "tBTCUSD:", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(p, &s), -EINVAL);
    s = spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_check(venue_profile_find("binance-spot"), &s), -EINVAL);

    /* Equality: precision and length matter for books, the default length spelt either way. */
    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    t = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 25);
    ASSERT(vstream_equal(&s, &t));
    t.levels = 100;
    ASSERT(!vstream_equal(&s, &t));
    t = spec(VS_DIFF, "tBTCUSD", 0, 1, 0, 0);
    ASSERT(!vstream_equal(&s, &t));
    t = spec(VS_DIFF, "tBTCUSD", 0, 0, 2000, 0);
    ASSERT(!vstream_equal(&s, &t));

    /* Every Bitfinex channel is event-driven. */
    s = spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0);
    ASSERT_EQ(vstream_cadence_ms(p, &s), 0);
    s = spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(vstream_cadence_ms(p, &s), 0);
    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 2000, 0);
    ASSERT_EQ(vstream_cadence_ms(p, &s), 0);
    return 0;
}

TEST(bitfinex_conf_missing_names_each_lost_flag_once_without_stray_separators)
{
    const uint32_t all = BFX_F_DEC_S | BFX_F_TIMESTAMP | BFX_F_SEQ_ALL | BFX_F_OB_CHECKSUM;
    char buf[256];

    ASSERT_EQ(bitfinex_conf_missing(all, all, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "");
    /* Only the checksum flag missing: its cost alone, no "; " after it. */
    ASSERT_GT(bitfinex_conf_missing(all, all & ~BFX_F_OB_CHECKSUM, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "books are not checksummed");
    ASSERT_GT(bitfinex_conf_missing(all, all & ~BFX_F_SEQ_ALL, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "missed messages cannot be detected");
    ASSERT_GT(bitfinex_conf_missing(all, BFX_F_DEC_S | BFX_F_TIMESTAMP, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "books are not checksummed; missed messages cannot be detected");
    /* Flags that are not about integrity are named too, rather than leaving the text empty. */
    ASSERT_GT(bitfinex_conf_missing(all, all & ~BFX_F_TIMESTAMP, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "records carry no venue time");
    ASSERT_GT(bitfinex_conf_missing(all, 0, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "books are not checksummed; missed messages cannot be detected; records "
                       "carry no venue time; decimals come as JSON numbers");
    /* Flags not asked for are not missing. */
    ASSERT_EQ(bitfinex_conf_missing(BFX_F_SEQ_ALL, BFX_F_SEQ_ALL, buf, sizeof(buf)), 0);
    ASSERT_EQ(bitfinex_conf_missing(all, 0, buf, 20), -ENOSPC);
    return 0;
}

TEST(bitfinex_keys_and_control_messages_are_exact)
{
    const struct venue_profile *p = bfx();
    char buf[256];
    struct vstream s;

    s = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 21);
    ASSERT_STR_EQ(buf, "book:tBTCUSD:P0:F0:25");
    ASSERT_GT(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"tBTCUSD\","
                       "\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\"}");
    s = spec(VS_DIFF, "tAVAX:USD", 0, 2, 2000, 100);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "book:tAVAX:USD:P2:F1:100");
    ASSERT_GT(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"tAVAX:USD\","
                       "\"prec\":\"P2\",\"freq\":\"F1\",\"len\":\"100\"}");
    s = spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "candles:trade:1m:tBTCUSD");
    ASSERT_GT(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf,
                  "{\"event\":\"subscribe\",\"channel\":\"candles\",\"key\":\"trade:1m:tBTCUSD\"}");
    s = spec(VS_KLINE, "tBTCUSD", MDF_IV_1W, 0, 0, 0);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "candles:trade:1W:tBTCUSD");
    s = spec(VS_KLINE, "tBTCUSD", MDF_IV_1MO, 0, 0, 0);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "candles:trade:1M:tBTCUSD");
    s = spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "trades:tBTCUSD");
    ASSERT_GT(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"subscribe\",\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"}");
    s = spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_GT(bitfinex_stream_key(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "ticker:tBTCUSD");
    ASSERT_GT(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"subscribe\",\"channel\":\"ticker\",\"symbol\":\"tBTCUSD\"}");
    /* A refused spec writes nothing; a short buffer is -ENOSPC. */
    s = spec(VS_TICKER, "fUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_subscribe_msg(p, &s, buf, sizeof(buf)), -EINVAL);
    ASSERT_STR_EQ(buf, "");
    s = spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0);
    ASSERT_EQ(bitfinex_subscribe_msg(p, &s, buf, 20), -ENOSPC);

    ASSERT_GT(bitfinex_unsubscribe_msg(232957, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"unsubscribe\",\"chanId\":232957}");
    ASSERT_EQ(bitfinex_unsubscribe_msg(-1, buf, sizeof(buf)), -EINVAL);
    ASSERT_GT(bitfinex_conf_msg(BFX_F_DEC_S | BFX_F_TIMESTAMP | BFX_F_SEQ_ALL | BFX_F_OB_CHECKSUM,
                                buf, sizeof(buf)),
              0);
    ASSERT_STR_EQ(buf, "{\"event\":\"conf\",\"flags\":229384}");
    ASSERT_EQ(bitfinex_conf_msg(BFX_F_TIME_S, buf, sizeof(buf)), -EINVAL);
    ASSERT_GT(bitfinex_ping_msg(1234, buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "{\"event\":\"ping\",\"cid\":1234}");

    /* Normalized names. */
    ASSERT_EQ(bitfinex_normalize_symbol("tBTCUSD", buf, sizeof(buf)), 7);
    ASSERT_STR_EQ(buf, "BTC/USD");
    ASSERT_GT(bitfinex_normalize_symbol("tAVAX:USD", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "AVAX/USD");
    ASSERT_GT(bitfinex_normalize_symbol("tTESTBTC:TESTUSD", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "TESTBTC/TESTUSD");
    ASSERT_GT(bitfinex_normalize_symbol("tBTCF0:USTF0", buf, sizeof(buf)), 0);
    ASSERT_STR_EQ(buf, "BTCF0/USTF0");
    ASSERT_EQ(bitfinex_normalize_symbol("tBTCUSDT", buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(bitfinex_normalize_symbol("fUSD", buf, sizeof(buf)), -EINVAL);
    ASSERT_EQ(bitfinex_normalize_symbol("tBTCUSD", buf, 7), -ENOSPC);

    /* Interval and precision spellings. */
    ASSERT_EQ(bitfinex_interval_from_name("7D", 2), MDF_IV_1W);
    ASSERT_EQ(bitfinex_interval_from_name("1W", 2), MDF_IV_1W);
    ASSERT_EQ(bitfinex_interval_from_name("1M", 2), MDF_IV_1MO);
    ASSERT_EQ(bitfinex_interval_from_name("1m", 2), MDF_IV_1M);
    ASSERT_EQ(bitfinex_interval_from_name("14D", 3), MDF_IV_14D);
    ASSERT_EQ(bitfinex_interval_from_name("1d", 2), 0);
    ASSERT_STR_EQ(bitfinex_interval_name(MDF_IV_12H), "12h");
    ASSERT(bitfinex_interval_name(MDF_IV_1S) == NULL);
    ASSERT_EQ(bitfinex_prec_from_name("P3", 2), 3);
    ASSERT_EQ(bitfinex_prec_from_name("R0", 2), BFX_PREC_R0);
    ASSERT_EQ(bitfinex_prec_from_name("P5", 2), -1);
    return 0;
}

TEST(bitfinex_subscribed_echo_gives_the_same_key_as_the_spec)
{
    const struct venue_profile *p = bfx();
    struct bfx_decoder *d = decoder();
    struct bfx_msg m;
    char key[BFX_KEY_MAX];
    struct {
        const char *echo;
        struct vstream s;
    } cases[] = {
        {"{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":10092,\"symbol\":\"tETHUSD\","
         "\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\",\"subId\":123,\"pair\":\"ETHUSD\"}",
         spec(VS_DIFF, "tETHUSD", 0, 0, 0, 0)},
        {"{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":7,\"symbol\":\"tAVAX:USD\","
         "\"prec\":\"P3\",\"freq\":\"F1\",\"len\":\"250\",\"pair\":\"AVAX:USD\"}",
         spec(VS_DIFF, "tAVAX:USD", 0, 3, 2000, 250)},
        {"{\"event\":\"subscribed\",\"channel\":\"candles\",\"chanId\":343351,\"key\":"
         "\"trade:1m:tBTCUSD\"}",
         spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0)},
        {"{\"event\":\"subscribed\",\"channel\":\"candles\",\"chanId\":8,\"key\":"
         "\"trade:7D:tBTCUSD\"}",
         spec(VS_KLINE, "tBTCUSD", MDF_IV_1W, 0, 0, 0)},
        {"{\"event\":\"subscribed\",\"channel\":\"trades\",\"chanId\":17470,\"symbol\":"
         "\"tBTCUSD\",\"pair\":\"BTCUSD\"}",
         spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0)},
        {"{\"event\":\"subscribed\",\"channel\":\"ticker\",\"chanId\":9,\"pair\":\"BTCUSD\"}",
         spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0)},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ASSERT_EQ(decode(d, cases[i].echo, 0, &m), 0);
        ASSERT_EQ(m.kind, BFX_SUBSCRIBED);
        ASSERT_GT(m.chan_id, 0);
        ASSERT_GT(bitfinex_stream_key(p, &cases[i].s, key, sizeof(key)), 0);
        ASSERT_STR_EQ(m.key, key);
        ASSERT(vstream_equal(&m.spec, &cases[i].s));
    }
    /* A channel mdfeed does not serve: no key, the echo summarized. */
    ASSERT_EQ(decode(d,
                     "{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":5,\"symbol\":"
                     "\"tBTCUSD\",\"prec\":\"R0\",\"freq\":\"F0\",\"len\":\"25\"}",
                     0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_SUBSCRIBED);
    ASSERT_EQ(m.chan_id, 5);
    ASSERT_STR_EQ(m.key, "");
    ASSERT_CONTAINS(m.text, "channel book symbol tBTCUSD");
    ASSERT_EQ(decode(d,
                     "{\"event\":\"subscribed\",\"channel\":\"candles\",\"chanId\":6,\"key\":"
                     "\"trade:1m:fUSD:a30:p2:p30\"}",
                     0, &m),
              0);
    ASSERT_STR_EQ(m.key, "");
    ASSERT_EQ(decode(d,
                     "{\"event\":\"subscribed\",\"channel\":\"status\",\"chanId\":6,\"key\":"
                     "\"liq:global\"}",
                     0, &m),
              0);
    ASSERT_STR_EQ(m.key, "");
    ASSERT_CONTAINS(m.text, "key liq:global");
    bitfinex_decoder_free(d);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

TEST(bitfinex_decodes_the_recorded_lines_exactly)
{
    struct bfx_decoder *d = decoder();
    struct vstream book = spec(VS_DIFF, "tTESTBTC:TESTUSD", 0, 0, 0, 100);
    struct vstream tick = spec(VS_TICKER, "tTESTBTC:TESTUSD", 0, 0, 0, 0);
    struct bfx_msg m;
    const uint32_t f = BFX_F_SEQ_ALL; /* the recording's flags */

    /* Our own conf request as the recording logs it, then the venue's reply. */
    ASSERT_EQ(decode(d, "{\"event\":\"conf\",\"flags\":65536}", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_IGNORED);
    ASSERT_EQ(decode(d, "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":65536}", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_CONF);
    ASSERT(m.ok);
    ASSERT_EQ(m.flags, BFX_F_SEQ_ALL);

    ASSERT_EQ(decode(d,
                     "{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":232957,"
                     "\"symbol\":\"tTESTBTC:TESTUSD\",\"prec\":\"P0\",\"freq\":\"F0\",\"len\":"
                     "\"100\",\"pair\":\"TESTBTC:TESTUSD\"}",
                     0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_SUBSCRIBED);
    ASSERT_EQ(m.chan_id, 232957);
    ASSERT_STR_EQ(m.key, "book:tTESTBTC:TESTUSD:P0:F0:100");

    /* The snapshot with sequence number 15 (the first three of its levels). */
    ASSERT_EQ(decode_as(d,
                        "[232957,[[60400,1,0.68826974],[60397,1,1.17989099],"
                        "[60391,1,1.76983648]],15]",
                        f, &book, &m),
              0);
    ASSERT_EQ(m.kind, BFX_BOOK_SNAPSHOT);
    ASSERT_EQ(m.chan_id, 232957);
    ASSERT_EQ(m.seq, 15);
    ASSERT_EQ(m.n_levels, 3);
    ASSERT_DEC(m.levels[0].px, "60400");
    ASSERT_EQ(m.levels[0].count, 1);
    ASSERT_DEC(m.levels[0].amount, "0.68826974");
    ASSERT(!m.levels[0].ask);
    ASSERT_DEC(m.levels[1].px, "60397");
    ASSERT_DEC(m.levels[1].amount, "1.17989099");
    ASSERT_DEC(m.levels[2].px, "60391");
    ASSERT_DEC(m.levels[2].amount, "1.76983648");

    /* Updates: a bid set, then an ask removed (count 0, amount -1). */
    ASSERT_EQ(decode_as(d, "[225206,[279380,1,0.0089],19]", f, &book, &m), 0);
    ASSERT_EQ(m.kind, BFX_BOOK_UPDATE);
    ASSERT_EQ(m.chan_id, 225206);
    ASSERT_EQ(m.seq, 19);
    ASSERT_EQ(m.n_levels, 1);
    ASSERT_DEC(m.levels[0].px, "279380");
    ASSERT_EQ(m.levels[0].count, 1);
    ASSERT_DEC(m.levels[0].amount, "0.0089");
    ASSERT(!m.levels[0].ask);
    ASSERT_EQ(decode_as(d, "[225206,[283460,0,-1],23]", f, &book, &m), 0);
    ASSERT_EQ(m.kind, BFX_BOOK_UPDATE);
    ASSERT_EQ(m.seq, 23);
    ASSERT_DEC(m.levels[0].px, "283460");
    ASSERT_EQ(m.levels[0].count, 0);
    ASSERT_DEC(m.levels[0].amount, "-1");
    ASSERT(m.levels[0].ask);

    /* The ticker, all numbers. */
    ASSERT_EQ(decode_as(d,
                        "[232949,[0.068965,60157.36709703,0.0774,48578.50804052,0.001969,"
                        "0.0262,0.076989,101459.39453471,0.0828,0.068961],1]",
                        f, &tick, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TICKER);
    ASSERT_EQ(m.seq, 1);
    ASSERT(m.ticker);
    ASSERT_EQ(m.ticker->h.type, MDF_REC_TICKER);
    ASSERT_EQ(m.ticker->h.size, sizeof(struct mdf_ticker));
    ASSERT_EQ(m.ticker->h.recv_time_ns, 777);
    ASSERT_EQ(m.ticker->h.venue_seq, 1);
    ASSERT_DEC(m.ticker->bid_px, "0.068965");
    ASSERT_DEC(m.ticker->bid_qty, "60157.36709703");
    ASSERT_DEC(m.ticker->ask_px, "0.0774");
    ASSERT_DEC(m.ticker->ask_qty, "48578.50804052");
    ASSERT_DEC(m.ticker->change, "0.001969");
    ASSERT_DEC(m.ticker->change_pct, "2.62"); /* relative 0.0262 as a percentage */
    ASSERT_DEC(m.ticker->last_px, "0.076989");
    ASSERT_DEC(m.ticker->volume, "101459.39453471");
    ASSERT_DEC(m.ticker->high_px, "0.0828");
    ASSERT_DEC(m.ticker->low_px, "0.068961");

    /* A heartbeat with its sequence number: liveness, nothing to decode. */
    ASSERT_EQ(decode(d, "[204928,\"hb\",127]", f, &m), 0);
    ASSERT_EQ(m.kind, BFX_HB);
    ASSERT_EQ(m.chan_id, 204928);
    ASSERT_EQ(m.seq, 127);
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_events_give_codes_status_and_echoes)
{
    struct bfx_decoder *d = decoder();
    struct bfx_msg m;

    ASSERT_EQ(decode(d,
                     "{\"event\":\"info\",\"version\":2,\"serverId\":\"a6c4d8e0-4b3c\","
                     "\"platform\":{\"status\":1}}",
                     0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_INFO);
    ASSERT_EQ(m.version, 2);
    ASSERT_EQ(m.platform_status, 1);
    ASSERT_EQ(m.code, 0);
    ASSERT_EQ(decode(d, "{\"event\":\"info\",\"version\":2,\"platform\":{\"status\":0}}", 0, &m),
              0);
    ASSERT_EQ(m.platform_status, 0);
    ASSERT_EQ(decode(d,
                     "{\"event\":\"info\",\"code\":20051,\"msg\":\"Stop/Restart Websocket "
                     "Server (please reconnect)\"}",
                     0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_INFO);
    ASSERT_EQ(m.code, BFX_INFO_RECONNECT);
    ASSERT_EQ(m.platform_status, -1);
    ASSERT_CONTAINS(m.text, "please reconnect");
    ASSERT_EQ(
        decode(d, "{\"event\":\"info\",\"code\":20060,\"msg\":\"Entering maintenance\"}", 0, &m),
        0);
    ASSERT_EQ(m.code, BFX_INFO_MAINT_START);
    ASSERT_EQ(decode(d, "{\"event\":\"info\",\"code\":20061,\"msg\":\"Maintenance ended\"}", 0, &m),
              0);
    ASSERT_EQ(m.code, BFX_INFO_MAINT_END);

    /* Errors, with the request's echo when there is one. */
    ASSERT_EQ(decode(d,
                     "{\"event\":\"error\",\"msg\":\"subscribe: dup\",\"code\":10301,\"channel\":"
                     "\"book\",\"symbol\":\"tBTCUSD\",\"prec\":\"P0\",\"freq\":\"F0\",\"len\":"
                     "\"25\",\"pair\":\"BTCUSD\"}",
                     0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_ERROR);
    ASSERT_EQ(m.code, BFX_ERR_ALREADY_SUBSCRIBED);
    ASSERT_STR_EQ(m.key, "book:tBTCUSD:P0:F0:25");
    ASSERT_STR_EQ(m.text, "subscribe: dup");
    ASSERT_EQ(decode(d, "{\"event\":\"error\",\"msg\":\"Unknown event\",\"code\":10000}", 0, &m),
              0);
    ASSERT_EQ(m.code, BFX_ERR_UNKNOWN_EVENT);
    ASSERT_STR_EQ(m.key, "");
    ASSERT_EQ(decode(d, "{\"event\":\"error\",\"msg\":\"no code\"}", 0, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "code");
    ASSERT_EQ(m.kind, BFX_NONE);

    ASSERT_EQ(decode(d, "{\"event\":\"unsubscribed\",\"status\":\"OK\",\"chanId\":232957}", 0, &m),
              0);
    ASSERT_EQ(m.kind, BFX_UNSUBSCRIBED);
    ASSERT_EQ(m.chan_id, 232957);
    ASSERT(m.ok);
    ASSERT_EQ(decode(d, "{\"event\":\"pong\",\"ts\":1511545528111,\"cid\":1234}", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_PONG);
    ASSERT_EQ(m.cid, 1234);
    ASSERT_EQ(m.ts_ns, INT64_C(1511545528111000000));
    ASSERT_EQ(decode(d, "{\"event\":\"conf\",\"status\":\"FAILED\",\"flags\":8}", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_CONF);
    ASSERT(!m.ok);
    ASSERT_EQ(decode(d, "{\"event\":\"auth\",\"status\":\"OK\"}", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_IGNORED);
    ASSERT_CONTAINS(m.text, "auth");
    ASSERT_EQ(decode(d, "{\"event\":\"subscribed\",\"channel\":\"book\"}", 0, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "chanId");
    ASSERT_EQ(decode(d, "{\"event\":5}", 0, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "event");
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_trades_decode_te_tu_and_snapshots_with_sides)
{
    struct bfx_decoder *d = decoder();
    struct vstream tr = spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0);
    struct bfx_msg m;

    /* The crypto-msg-parser "te" example, channel id put back. */
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[637771130,1615232733897,0.11546588,51350]]", 0, &tr, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TRADE);
    ASSERT_EQ(m.n_trades, 1);
    ASSERT_EQ(m.trades[0].h.type, MDF_REC_TRADE);
    ASSERT_EQ(m.trades[0].h.size, sizeof(struct mdf_trade));
    ASSERT_EQ(m.trades[0].trade_id, 637771130);
    ASSERT_EQ(m.trades[0].first_id, 637771130);
    ASSERT_EQ(m.trades[0].last_id, 637771130);
    ASSERT_EQ(m.trades[0].h.tx_time_ns, INT64_C(1615232733897000000));
    ASSERT_EQ(m.trades[0].h.exch_time_ns, 0);
    ASSERT_EQ(m.trades[0].h.recv_time_ns, 777);
    ASSERT_DEC(m.trades[0].qty, "0.11546588");
    ASSERT_DEC(m.trades[0].price, "51350");
    ASSERT_EQ(m.trades[0].side, MDF_SIDE_BUY);

    /* A sell: negative amount, positive quantity. The later "tu" of the same trade. */
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[401597395,1574694478808,-0.005,7245.3]]", 0, &tr, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TRADE);
    ASSERT_EQ(m.trades[0].side, MDF_SIDE_SELL);
    ASSERT_DEC(m.trades[0].qty, "0.005");
    ASSERT_EQ(decode_as(d, "[17470,\"tu\",[401597395,1574694478808,-0.005,7245.3]]", 0, &tr, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TRADE_UPDATE);
    ASSERT_EQ(m.trades[0].trade_id, 401597395);

    /* The snapshot comes newest first and is given oldest first. */
    ASSERT_EQ(decode_as(d,
                        "[17470,[[401597395,1574694478808,0.005,7245.3],[401597393,"
                        "1574694478807,-0.2,7245.2],[401597390,1574694475000,1.5,7245.1]]]",
                        0, &tr, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TRADES_SNAPSHOT);
    ASSERT_EQ(m.n_trades, 3);
    ASSERT_EQ(m.trades[0].trade_id, 401597390);
    ASSERT_EQ(m.trades[1].trade_id, 401597393);
    ASSERT_EQ(m.trades[2].trade_id, 401597395);
    ASSERT_EQ(m.trades[1].side, MDF_SIDE_SELL);
    ASSERT_DEC(m.trades[1].qty, "0.2");
    ASSERT_DEC(m.trades[0].price, "7245.1");
    ASSERT_EQ(decode_as(d, "[17470,[]]", 0, &tr, &m), 0);
    ASSERT_EQ(m.kind, BFX_TRADES_SNAPSHOT);
    ASSERT_EQ(m.n_trades, 0);

    /* Funding trades and bad trades are refused, naming the field. */
    ASSERT_EQ(decode_as(d, "[17470,\"fte\",[1,1574694478808,-0.005,0.0002,2]]", 0, &tr, &m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "funding");
    ASSERT_EQ(m.kind, BFX_NONE);
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[1,1574694478808,0,7245.3]]", 0, &tr, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "amount");
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[1,1574694478808,0.1,\"x\"]]", 0, &tr, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "price");
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[1,-5,0.1,2]]", 0, &tr, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "mts");
    ASSERT_EQ(decode_as(d, "[17470,\"te\",[1,2,0.1]]", 0, &tr, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "4 or more");
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_candles_snapshot_is_oldest_first_with_o_c_h_l_mapped)
{
    struct bfx_decoder *d = decoder();
    struct vstream k1 = spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0);
    struct vstream kmo = spec(VS_KLINE, "tBTCUSD", MDF_IV_1MO, 0, 0, 0);
    struct bfx_msg m;
    const int64_t ms = 1000000;

    /* [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME], newest first. */
    ASSERT_EQ(decode_as(d,
                        "[343351,[[1654075140000,31700,31650,31720,31600,1.5],"
                        "[1654075080000,31619,31701,31705,31610,0.00843875],"
                        "[1654075020000,31500,31620,31640,31490,2]]]",
                        0, &k1, &m),
              0);
    ASSERT_EQ(m.kind, BFX_CANDLES_SNAPSHOT);
    ASSERT_EQ(m.n_candles, 3);
    ASSERT_EQ(m.candles[0].open_time_ns, 1654075020000 * ms);
    ASSERT_EQ(m.candles[1].open_time_ns, 1654075080000 * ms);
    ASSERT_EQ(m.candles[2].open_time_ns, 1654075140000 * ms);
    ASSERT_EQ(m.candles[1].close_time_ns, (1654075080000 + 60000 - 1) * ms);
    ASSERT_DEC(m.candles[1].open, "31619");
    ASSERT_DEC(m.candles[1].close, "31701");
    ASSERT_DEC(m.candles[1].high, "31705");
    ASSERT_DEC(m.candles[1].low, "31610");
    ASSERT_DEC(m.candles[1].volume, "0.00843875");
    ASSERT_EQ(m.candles[1].interval, MDF_IV_1M);
    ASSERT_EQ(m.candles[1].h.type, MDF_REC_CANDLE);
    /* Every candle but the newest is closed: a newer interval has begun. */
    ASSERT_EQ(m.candles[0].h.flags, MDF_CANDLE_F_CLOSED);
    ASSERT_EQ(m.candles[1].h.flags, MDF_CANDLE_F_CLOSED);
    ASSERT_EQ(m.candles[2].h.flags, 0);

    /* The crypto-msg-parser candle update. */
    ASSERT_EQ(
        decode_as(d, "[343351,[1654075080000,31619,31619,31619,31619,0.00843875]]", 0, &k1, &m), 0);
    ASSERT_EQ(m.kind, BFX_CANDLE);
    ASSERT_EQ(m.n_candles, 1);
    ASSERT_EQ(m.candles[0].open_time_ns, 1654075080000 * ms);
    ASSERT_DEC(m.candles[0].close, "31619");
    ASSERT_EQ(m.candles[0].h.flags, 0);

    /* A month candle ends at the next calendar month: February 2024 has 29 days. */
    ASSERT_EQ(decode_as(d, "[9,[1706745600000,1,2,3,0.5,10]]", 0, &kmo, &m), 0);
    ASSERT_EQ(m.candles[0].close_time_ns, (1709251200000 - 1) * ms);
    ASSERT_EQ(decode_as(d, "[9,[1701388800000,1,2,3,0.5,10]]", 0, &kmo, &m), 0); /* Dec 2023 */
    ASSERT_EQ(m.candles[0].close_time_ns, (1704067200000 - 1) * ms);

    ASSERT_EQ(decode_as(d, "[343351,[[1654075140000,31700,31650,31720,31600]]]", 0, &k1, &m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "candle 0");
    ASSERT_EQ(decode_as(d, "[343351,\"tu\",[1654075140000,1,1,1,1,1]]", 0, &k1, &m), -EBADMSG);
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_candles_and_tickers_follow_the_shared_range_rules)
{
    struct bfx_decoder *d = decoder();
    struct vstream k1 = spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0);
    struct vstream tick = spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0);
    static const struct {
        const char *msg, *err;
    } bad[] = {
        {"[7,[1654075080000,31619,31701,31605,31610,1]]", "candle: high: 31605 is below low 31610"},
        {"[7,[1654075080000,31600,31701,31705,31610,1]]", "candle: open: 31600 is below low 31610"},
        {"[7,[1654075080000,31619,31706,31705,31610,1]]", "candle: close: 31706 is above high"},
        {"[7,[1654075080000,0,31701,31705,31610,1]]", "candle: open: 0 is not positive"},
        {"[7,[1654075080000,31619,31701,31705,-1,1]]", "candle: low: -1 is negative"},
        {"[7,[1654075080000,31619,31701,31705,31610,-0.5]]", "candle: volume: -0.5 is negative"},
        {"[7,[[1654075140000,31700,31650,31720,31600,1.5],[1654075080000,1,1,0.5,1,1]]]",
         "candle 1: high: 0.5 is below low 1"},
    };
    struct bfx_msg m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(decode_as(d, bad[i].msg, 0, &k1, &m), -ERANGE);
        ASSERT_CONTAINS(mdf_errmsg(), bad[i].err);
        ASSERT_EQ(m.kind, BFX_NONE);
    }
    /* Edges: one price for the whole candle, no volume. */
    ASSERT_EQ(decode_as(d, "[7,[1654075080000,31619,31619,31619,31619,0]]", 0, &k1, &m), 0);
    ASSERT_EQ(m.kind, BFX_CANDLE);

    /* The ticker's bid and ask: crossed or locked is flagged, not refused. */
    ASSERT_EQ(decode_as(d, "[9,[0.0775,1,0.0774,2,0.001,0.02,0.0770,10,0.08,0.06]]", 0, &tick, &m),
              0);
    ASSERT_EQ(m.kind, BFX_TICKER);
    ASSERT_EQ(m.ticker->h.flags, MDF_TICKER_F_CROSSED);
    ASSERT_EQ(decode_as(d, "[9,[0.0774,1,0.07740,2,0.001,0.02,0.0770,10,0.08,0.06]]", 0, &tick, &m),
              0);
    ASSERT_EQ(m.ticker->h.flags, MDF_TICKER_F_CROSSED);
    ASSERT_EQ(decode_as(d, "[9,[0.0773,1,0.0774,2,0.001,0.02,0.0770,10,0.08,0.06]]", 0, &tick, &m),
              0);
    ASSERT_EQ(m.ticker->h.flags, 0);
    /* A daily high below the daily low is refused. */
    ASSERT_EQ(decode_as(d, "[9,[0.0773,1,0.0774,2,0.001,0.02,0.0770,10,0.05,0.06]]", 0, &tick, &m),
              -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "high: 0.05 is below low 0.06");
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_numbers_and_strings_give_identical_exact_decimals)
{
    struct bfx_decoder *d = decoder();
    struct vstream book = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    struct vstream tr = spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0);
    struct vstream tick = spec(VS_TICKER, "tBTCUSD", 0, 0, 0, 0);
    struct vstream k1 = spec(VS_KLINE, "tBTCUSD", MDF_IV_1M, 0, 0, 0);
    struct bfx_msg m;
    struct bfx_level ln[4], ls[4];
    struct mdf_trade tn, ts;
    struct mdf_ticker kn, ks;
    struct mdf_candle cn, cs;

    /* Book levels: exponents, negatives, trailing zeros, integers. */
    ASSERT_EQ(decode_as(d, "[1,[[1.7e-7,3,1e-8],[0.0000082,1,-2.5E-7],[60400,2,-1.50],[5e2,1,7]]]",
                        0, &book, &m),
              0);
    ASSERT_EQ(m.n_levels, 4);
    memcpy(ln, m.levels, sizeof(ln));
    ASSERT_EQ(decode_as(d,
                        "[1,[[\"1.7e-7\",\"3\",\"1e-8\"],[\"0.0000082\",1,\"-2.5E-7\"],"
                        "[\"60400\",2,\"-1.50\"],[\"5e2\",\"1\",\"7\"]]]",
                        BFX_F_DEC_S, &book, &m),
              0);
    memcpy(ls, m.levels, sizeof(ls));
    for (int i = 0; i < 4; i++) {
        ASSERT_SAME_DEC(ln[i].px, ls[i].px);
        ASSERT_SAME_DEC(ln[i].amount, ls[i].amount);
        ASSERT_EQ(ln[i].count, ls[i].count);
        ASSERT_EQ(ln[i].ask, ls[i].ask);
    }
    ASSERT_DEC(ln[0].px, "0.00000017");
    ASSERT_DEC(ln[0].amount, "0.00000001");
    ASSERT_DEC(ln[1].amount, "-0.00000025");
    ASSERT(ln[1].ask && !ln[0].ask);
    ASSERT_DEC(ln[2].amount, "-1.50");
    ASSERT_DEC(ln[3].px, "5e2");
    ASSERT_EQ(mdf_dec_cmp(ln[3].px, (struct mdf_dec){500, 0, 0}), 0);

    /* A trade. */
    ASSERT_EQ(decode_as(d, "[2,\"te\",[5,1574694478808,-1e-8,7245.30]]", 0, &tr, &m), 0);
    tn = m.trades[0];
    ASSERT_EQ(decode_as(d, "[2,\"te\",[\"5\",\"1574694478808\",\"-1e-8\",\"7245.30\"]]",
                        BFX_F_DEC_S, &tr, &m),
              0);
    ts = m.trades[0];
    ASSERT_EQ(memcmp(&tn, &ts, sizeof(tn)), 0);
    ASSERT_DEC(tn.qty, "1e-8");
    ASSERT_EQ(tn.side, MDF_SIDE_SELL);

    /* A ticker, numbers against strings, negative change. */
    ASSERT_EQ(decode_as(d, "[3,[7254.7,3.1,7254.8,4.2,-12.5,-0.0017,7254.8,1e3,7300,7200.5]]", 0,
                        &tick, &m),
              0);
    kn = *m.ticker;
    ASSERT_EQ(decode_as(d,
                        "[3,[\"7254.7\",\"3.1\",\"7254.8\",\"4.2\",\"-12.5\",\"-0.0017\","
                        "\"7254.8\",\"1e3\",\"7300\",\"7200.5\"]]",
                        BFX_F_DEC_S, &tick, &m),
              0);
    ks = *m.ticker;
    ASSERT_EQ(memcmp(&kn, &ks, sizeof(kn)), 0);
    ASSERT_DEC(kn.change_pct, "-0.17");
    ASSERT_DEC(kn.change, "-12.5");

    /* A candle. */
    ASSERT_EQ(
        decode_as(d, "[4,[1654075080000,31619.5,3.1619e4,31620,31619,8.43875e-3]]", 0, &k1, &m), 0);
    cn = m.candles[0];
    ASSERT_EQ(decode_as(d,
                        "[4,[1654075080000,\"31619.5\",\"3.1619e4\",\"31620\",\"31619\","
                        "\"8.43875e-3\"]]",
                        BFX_F_DEC_S, &k1, &m),
              0);
    cs = m.candles[0];
    ASSERT_EQ(memcmp(&cn, &cs, sizeof(cn)), 0);
    ASSERT_DEC(cn.volume, "0.00843875");
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_trailing_fields_are_read_by_the_confirmed_flags)
{
    struct bfx_decoder *d = decoder();
    struct vstream book = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    struct vstream tr = spec(VS_TRADE, "tBTCUSD", 0, 0, 0, 0);
    const uint32_t both = BFX_F_SEQ_ALL | BFX_F_TIMESTAMP;
    struct bfx_msg m;

    /* TIMESTAMP alone: the medium-blog example [198,[10335,2,1.25],1581721279360]. */
    ASSERT_EQ(decode_as(d, "[198,[10335,2,1.25],1581721279360]", BFX_F_TIMESTAMP, &book, &m), 0);
    ASSERT_EQ(m.seq, -1);
    ASSERT_EQ(m.ts_ns, INT64_C(1581721279360000000));
    /* Without flags the same element is an extra field and ignored. */
    ASSERT_EQ(decode_as(d, "[198,[10335,2,1.25],1581721279360]", 0, &book, &m), 0);
    ASSERT_EQ(m.seq, -1);
    ASSERT_EQ(m.ts_ns, 0);
    /* Both: the sequence number, then the time; anything after them ignored. */
    ASSERT_EQ(decode_as(d, "[198,[10335,2,1.25],42,1581721279360,\"new\",[1]]", both, &book, &m),
              0);
    ASSERT_EQ(m.seq, 42);
    ASSERT_EQ(m.ts_ns, INT64_C(1581721279360000000));
    ASSERT_EQ(m.kind, BFX_BOOK_UPDATE);
    /* Records carry both. */
    ASSERT_EQ(
        decode_as(d, "[5,\"te\",[9,1581721279000,0.5,10335],43,1581721279361]", both, &tr, &m), 0);
    ASSERT_EQ(m.trades[0].h.venue_seq, 43);
    ASSERT_EQ(m.trades[0].h.exch_time_ns, INT64_C(1581721279361000000));
    ASSERT_EQ(m.trades[0].h.tx_time_ns, INT64_C(1581721279000000000));
    /* hb and cs. */
    ASSERT_EQ(decode(d, "[198,\"hb\",44,1581721279362]", both, &m), 0);
    ASSERT_EQ(m.kind, BFX_HB);
    ASSERT_EQ(m.seq, 44);
    ASSERT_EQ(m.ts_ns, INT64_C(1581721279362000000));
    ASSERT_EQ(decode(d, "[198,\"cs\",-1234567,45,1581721279363]", both, &m), 0);
    ASSERT_EQ(m.kind, BFX_CHECKSUM);
    ASSERT_EQ(m.checksum, -1234567);
    ASSERT_EQ(m.seq, 45);
    /* Both, in the other order (the time first, as Bitfinex's own clients read it): the time
     * is the one that is a plausible ms time, whatever its place. */
    ASSERT_EQ(decode_as(d, "[198,[10335,2,1.25],1581721279364,46]", both, &book, &m), 0);
    ASSERT_EQ(m.seq, 46);
    ASSERT_EQ(m.ts_ns, INT64_C(1581721279364000000));
    ASSERT_EQ(decode(d, "[198,\"cs\",-7,1581721279365,47]", both, &m), 0);
    ASSERT_EQ(m.seq, 47);
    ASSERT_EQ(m.ts_ns, INT64_C(1581721279365000000));
    /* Two times, or two small numbers: not the shape the flags promise. */
    ASSERT_EQ(decode(d, "[198,\"hb\",1581721279365,1581721279366]", both, &m), -EBADMSG);
    ASSERT_EQ(decode(d, "[198,\"hb\",48,49]", both, &m), -EBADMSG);
    /* Bitfinex's gist with SEQ_ALL + OB_CHECKSUM: [CHAN,"cs",CHECKSUM,SEQ]. */
    ASSERT_EQ(decode(d, "[198,\"cs\",2147483647,46]", BFX_F_SEQ_ALL | BFX_F_OB_CHECKSUM, &m), 0);
    ASSERT_EQ(m.checksum, INT32_MAX);
    ASSERT_EQ(m.seq, 46);
    /* Extra fields inside a level or trade are ignored too. */
    ASSERT_EQ(decode_as(d, "[198,[10335,2,1.25,\"x\",null],47]", BFX_F_SEQ_ALL, &book, &m), 0);
    ASSERT_DEC(m.levels[0].amount, "1.25");

    /* A flag the connection confirmed but the message lacks is an error naming it. */
    ASSERT_EQ(decode(d, "[198,[10335,2,1.25]]", BFX_F_SEQ_ALL, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "sequence number");
    ASSERT_EQ(decode(d, "[198,\"hb\",48]", both, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "timestamp");
    ASSERT_EQ(decode(d, "[198,\"hb\",-3]", BFX_F_SEQ_ALL, &m), -ERANGE);
    ASSERT_EQ(decode(d, "[198,\"cs\",2147483648,46]", BFX_F_SEQ_ALL, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "checksum");
    ASSERT_EQ(decode(d, "[198,\"hb\"]", BFX_F_TIME_S, &m), -EINVAL);
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_decoder_refuses_jansson_and_misuse)
{
    struct bfx_decoder *d;
    struct vstream book = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    struct vstream agg = spec(VS_AGGTRADE, "tBTCUSD", 0, 0, 0, 0);
    struct bfx_msg m;
    char big[600];

    ASSERT(bitfinex_decoder_new(VDEC_JANSSON, 100, 4096) == NULL);
    ASSERT_CONTAINS(mdf_errmsg(), "jsmn");
    ASSERT(bitfinex_decoder_new(VDEC_JSMN, 0, 4096) == NULL);
    d = bitfinex_decoder_new(VDEC_JSMN, 2, 512);
    ASSERT(d);

    /* decode_data needs a pending BFX_DATA message, once. */
    ASSERT_EQ(bitfinex_decode_data(d, &book, &m), -EINVAL);
    ASSERT_EQ(decode(d, "[1,\"hb\"]", 0, &m), 0);
    ASSERT_EQ(bitfinex_decode_data(d, &book, &m), -EINVAL);
    ASSERT_EQ(decode(d, "[1,[5,1,1]]", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_DATA);
    ASSERT_EQ(bitfinex_decode_data(d, &agg, &m), -EINVAL);
    ASSERT_EQ(bitfinex_decode_data(d, &book, &m), -EINVAL); /* used up */
    ASSERT_EQ(decode(d, "[1,[5,1,1]]", 0, &m), 0);
    ASSERT_EQ(bitfinex_decode_data(d, &book, &m), 0);
    ASSERT_EQ(m.kind, BFX_BOOK_UPDATE);

    /* Size limits: items and bytes. */
    ASSERT_EQ(decode_as(d, "[1,[[5,1,1],[6,1,1],[7,1,-1]]]", 0, &book, &m), -E2BIG);
    ASSERT_CONTAINS(mdf_errmsg(), "3 levels");
    memset(big, ' ', sizeof(big));
    memcpy(big, "[1,\"hb\"]", 8);
    ASSERT_EQ(bitfinex_decode(d, (const uint8_t *)big, sizeof(big), 1, 0, &m), -E2BIG);

    /* Channel 0 is the account channel: not market data. */
    ASSERT_EQ(decode(d, "[0,\"hb\"]", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_HB);
    ASSERT_EQ(decode(d, "[0,\"ws\",[]]", 0, &m), 0);
    ASSERT_EQ(m.kind, BFX_IGNORED);

    /* Shapes the venue never sends. */
    ASSERT_EQ(decode(d, "[1]", 0, &m), -EBADMSG);
    ASSERT_EQ(decode(d, "[-1,[5,1,1]]", 0, &m), -ERANGE);
    ASSERT_EQ(decode(d, "[\"a\",[5,1,1]]", 0, &m), -EBADMSG);
    ASSERT_EQ(decode(d, "[1,{}]", 0, &m), -EBADMSG);
    ASSERT_EQ(decode(d, "[1,\"te\"]", 0, &m), -EBADMSG);
    ASSERT_EQ(decode_as(d, "[1,[0,1,1]]", 0, &book, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "price: 0 is not positive");
    ASSERT_EQ(decode_as(d, "[1,[5,1,0]]", 0, &book, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "amount zero");
    ASSERT_EQ(decode_as(d, "[1,[5,-1,1]]", 0, &book, &m), -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "count");
    ASSERT_EQ(decode_as(d, "[1,[[5,1,1],7]]", 0, &book, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "level 1");
    ASSERT_EQ(decode_as(d, "[1,[[5,1,1],[6,1,\"x\"]]]", 0, &book, &m), -EBADMSG);
    ASSERT_STR_EQ(mdf_errmsg(), "bitfinex book: level 1: amount: not a decimal");
    ASSERT_EQ(decode_as(d, "[1,[5,1.5,1]]", 0, &book, &m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "count");
    ASSERT_EQ(decode_as(d, "[1,[5,1,1e999]]", 0, &book, &m), -ERANGE);
    bitfinex_decoder_free(d);
    return 0;
}

/* Valid messages for the hostile-input tests, each with the flags and stream it is decoded
 * with. */
static const struct {
    const char *msg; /* the message */
    uint32_t flags;  /* conf flags */
    int type;        /* stream type for decode_data (0: an event or control message) */
    int interval;    /* candle interval */
} corpus[] = {
    {"[232957,[[60400,1,0.68826974],[60397,1,1.17989099],[60391,1,-1.76983648]],15]", BFX_F_SEQ_ALL,
     VS_DIFF, 0},
    {"[225206,[283460,0,-1],23,1581721279360]", BFX_F_SEQ_ALL | BFX_F_TIMESTAMP, VS_DIFF, 0},
    {"[232949,[0.068965,60157.36709703,0.0774,48578.50804052,0.001969,0.0262,0.076989,"
     "101459.39453471,0.0828,0.068961],1]",
     BFX_F_SEQ_ALL, VS_TICKER, 0},
    {"[17470,\"te\",[637771130,1615232733897,-0.11546588,51350]]", 0, VS_TRADE, 0},
    {"[17470,[[401597395,1574694478808,\"0.005\",\"7245.3\"],[401597393,1574694478807,-0.2,"
     "7245.2]]]",
     BFX_F_DEC_S, VS_TRADE, 0},
    {"[343351,[[1654075140000,31700,31650,31720,31600,1.5],[1654075080000,31619,31701,31705,"
     "31610,0.00843875]]]",
     0, VS_KLINE, MDF_IV_1M},
    {"[343351,[1654075080000,31619,31619,31619,31619,0.00843875]]", 0, VS_KLINE, MDF_IV_1MO},
    {"[204928,\"hb\",127]", BFX_F_SEQ_ALL, 0, 0},
    {"[198,\"cs\",-1234567,45,1581721279363]", BFX_F_SEQ_ALL | BFX_F_TIMESTAMP, 0, 0},
    {"{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":232957,\"symbol\":"
     "\"tTESTBTC:TESTUSD\",\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"100\",\"pair\":"
     "\"TESTBTC:TESTUSD\"}",
     0, 0, 0},
    {"{\"event\":\"subscribed\",\"channel\":\"candles\",\"chanId\":343351,\"key\":"
     "\"trade:1m:tBTCUSD\"}",
     0, 0, 0},
    {"{\"event\":\"info\",\"version\":2,\"serverId\":\"x\",\"platform\":{\"status\":1}}", 0, 0, 0},
    {"{\"event\":\"info\",\"code\":20051,\"msg\":\"Stop/Restart Websocket Server\"}", 0, 0, 0},
    {"{\"event\":\"error\",\"msg\":\"subscribe: dup\",\"code\":10301,\"channel\":\"trades\","
     "\"symbol\":\"tBTCUSD\"}",
     0, 0, 0},
    {"{\"event\":\"conf\",\"status\":\"OK\",\"flags\":65536}", 0, 0, 0},
    {"{\"event\":\"pong\",\"ts\":1511545528111,\"cid\":1234}", 0, 0, 0},
};

#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* Decodes buf[0..len) as corpus entry i would be (both steps for data). Returns the result;
 * fails the test if an error left a result kind or an empty error message. */
static int decode_entry(struct bfx_decoder *d, size_t i, const char *buf, size_t len,
                        struct bfx_msg *m)
{
    struct vstream s =
        spec(corpus[i].type ? corpus[i].type : VS_TRADE, "tBTCUSD", corpus[i].interval, 0, 0, 0);
    int rc = bitfinex_decode(d, (const uint8_t *)buf, len, 1, corpus[i].flags, m);

    if (rc == 0 && m->kind == BFX_DATA)
        rc = bitfinex_decode_data(d, &s, m);
    if (rc < 0) {
        ASSERT_EQ(m->kind, BFX_NONE);
        ASSERT(mdf_errmsg()[0] != '\0');
        ASSERT(rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG || rc == -EINVAL);
    }
    return rc;
}

TEST(bitfinex_decoder_refuses_every_truncation_of_a_message)
{
    struct bfx_decoder *d = decoder();
    struct bfx_msg m;

    for (size_t i = 0; i < N_CORPUS; i++) {
        size_t len = strlen(corpus[i].msg);

        ASSERT_EQ(decode_entry(d, i, corpus[i].msg, len, &m), 0);
        for (size_t cut = 0; cut < len; cut++) {
            /* Each prefix in its own allocation, so ASan sees any read past its end. */
            char *p = malloc(cut ? cut : 1);
            int rc;

            ASSERT(p);
            memcpy(p, corpus[i].msg, cut);
            rc = decode_entry(d, i, p, cut, &m);
            if (rc != -EBADMSG)
                test_fail(__FILE__, __LINE__, "prefix %zu of message %zu: %d", cut, i, rc);
            free(p);
        }
    }
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bitfinex_decoder_survives_random_mutations)
{
    static const char alphabet[] = "[]{},:\"-+.eE0123456789 tfnulhbcs\\x";
    struct bfx_decoder *d = bitfinex_decoder_new(VDEC_JSMN, 8, 4096);
    struct test_rng rng;
    struct bfx_msg m;
    size_t ok = 0, refused = 0;

    ASSERT(d);
    test_rng_init(&rng, test_seed());
    for (int iter = 0; iter < 200000; iter++) {
        size_t i = (size_t)test_rng_below(&rng, N_CORPUS);
        size_t len = strlen(corpus[i].msg), n;
        char *p = malloc(len + 16);
        int edits = 1 + (int)test_rng_below(&rng, 4), rc;

        ASSERT(p);
        memcpy(p, corpus[i].msg, len);
        n = len;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)test_rng_below(&rng, n ? n : 1);
            switch (test_rng_below(&rng, 4)) {
            case 0: /* replace a byte with a JSON-ish one */
                if (n)
                    p[at] = alphabet[test_rng_below(&rng, sizeof(alphabet) - 1)];
                break;
            case 1: /* replace a byte with anything */
                if (n)
                    p[at] = (char)test_rng_next(&rng);
                break;
            case 2: /* delete a byte */
                if (n) {
                    memmove(p + at, p + at + 1, n - at - 1);
                    n--;
                }
                break;
            default: /* insert a byte */
                if (n < len + 15) {
                    memmove(p + at + 1, p + at, n - at);
                    p[at] = alphabet[test_rng_below(&rng, sizeof(alphabet) - 1)];
                    n++;
                }
                break;
            }
        }
        rc = decode_entry(d, i, p, n, &m);
        if (rc == 0)
            ok++;
        else
            refused++;
        free(p);
    }
    /* Both outcomes occur: mutations that keep a valid message decode. */
    ASSERT_GT(ok, 0);
    ASSERT_GT(refused, 0);
    bitfinex_decoder_free(d);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Number text and the book checksum                                                          */

TEST(bfx_js_format_matches_ecmascript_number_to_string)
{
    /* Input text -> what JavaScript's String(Number(text)) gives. */
    static const char *const cases[][2] = {
        {"60400", "60400"},
        {"0.68826974", "0.68826974"},
        {"-1", "-1"},
        {"1.50", "1.5"},
        {"100.000", "100"},
        {"1e-8", "1e-8"},
        {"0.00000001", "1e-8"},
        {"1.7e-7", "1.7e-7"},
        {"-0.00000025", "-2.5e-7"},
        {"0.000001", "0.000001"},
        {"0.0000082", "0.0000082"},
        {"5e-7", "5e-7"},
        {"0.0000012345", "0.0000012345"},
        {"123456789012345680000", "123456789012345680000"},
        {"1e21", "1e+21"},
        {"1.5e21", "1.5e+21"},
        {"-2.5E+22", "-2.5e+22"},
        {"0", "0"},
        {"-0.000", "0"},
        {"12345678.9", "12345678.9"},
        {"3.1619e4", "31619"},
    };
    char buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mdf_dec v;
        ASSERT_EQ(mdf_dec_parse(cases[i][0], strlen(cases[i][0]), &v), 0);
        ASSERT_EQ(bfx_fmt_js(v, buf, sizeof(buf)), (int64_t)strlen(cases[i][1]));
        ASSERT_STR_EQ(buf, cases[i][1]);
    }
    {
        struct mdf_dec v = {1234567, -2, 0};
        ASSERT_EQ(bfx_fmt_js(v, buf, 8), -ENOSPC);
        ASSERT_EQ(bfx_fmt_js(v, buf, 9), 8);
        ASSERT_STR_EQ(buf, "12345.67");
    }
    return 0;
}

/* Applies one JSON book message (decoded for a P0 book) to b and returns bfx_book_apply's
 * result. */
static int feed(struct bfx_decoder *d, struct bfx_book *b, const char *msg)
{
    struct vstream s = spec(VS_DIFF, "tBTCUSD", 0, 0, 0, 0);
    struct bfx_msg m;

    ASSERT_EQ(decode_as(d, msg, 0, &s, &m), 0);
    return bfx_book_apply(b, &m, 99);
}

TEST(bfx_book_checksum_matches_an_independent_crc)
{
    struct bfx_decoder *d = decoder();
    struct bfx_book b;
    char text[8192], want[8192];
    size_t n = 0;

    /* The CRC used here is the standard one: its check value over "123456789". */
    ASSERT_EQ_U(crc32_bitwise("123456789", 9), 0xCBF43926u);

    /* The book of Bitfinex's own checksum test (bfx-api-node-models order_book.js). */
    ASSERT_EQ(bfx_book_init(&b, 100), 0);
    ASSERT_EQ(feed(d, &b, "[1,[[6000,1,1],[5900,1,2],[6100,1,-3],[6200,1,-4]]]"), 1);
    ASSERT_GT(bfx_book_checksum_text(&b, text, sizeof(text)), 0);
    ASSERT_STR_EQ(text, "6000:1:6100:-3:5900:2:6200:-4");
    ASSERT_EQ(bfx_book_checksum(&b), zcrc("6000:1:6100:-3:5900:2:6200:-4"));
    ASSERT_EQ(bfx_book_checksum(&b), (int32_t)crc32_bitwise("6000:1:6100:-3:5900:2:6200:-4", 29));
    ASSERT_EQ(bfx_book_verify(&b, zcrc("6000:1:6100:-3:5900:2:6200:-4")), 0);

    /* Small prices and amounts in e-notation (as the live server prints them: see
     * bfx_book.h), DEC_S strings with trailing zeros printed as JavaScript would. */
    ASSERT_EQ(feed(d, &b,
                   "[1,[[\"0.00000056\",1,\"60712.42502310\"],[5.5e-7,8,1047414.30449527],"
                   "[6e-7,2,-0.00000005],[0.0000082,1,-300]]]"),
              1);
    ASSERT_GT(bfx_book_checksum_text(&b, text, sizeof(text)), 0);
    ASSERT_STR_EQ(text, "5.6e-7:60712.4250231:6e-7:-5e-8:5.5e-7:1047414.30449527:0.0000082:-300");
    ASSERT_EQ(bfx_book_checksum(&b), zcrc(text));

    /* Only the top 25 of each side count, interleaved, the shorter side skipped when it runs
     * out: 30 bids from 100 down, 3 asks from 101 up. */
    {
        char msg[4096];
        size_t ml = 0;
        ml += (size_t)snprintf(msg + ml, sizeof(msg) - ml, "[1,[");
        for (int i = 0; i < 30; i++)
            ml += (size_t)snprintf(msg + ml, sizeof(msg) - ml, "%s[%d,%d,%d.25]", i ? "," : "",
                                   100 - i, i + 1, i + 1);
        for (int i = 0; i < 3; i++)
            ml += (size_t)snprintf(msg + ml, sizeof(msg) - ml, ",[%d,1,-%d.5]", 101 + i, i + 1);
        snprintf(msg + ml, sizeof(msg) - ml, "]]");
        ASSERT_EQ(feed(d, &b, msg), 1);
    }
    for (int i = 0; i < 25; i++) {
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%d:%d.25", i ? ":" : "", 100 - i,
                              i + 1);
        if (i < 3)
            n += (size_t)snprintf(want + n, sizeof(want) - n, ":%d:-%d.5", 101 + i, i + 1);
    }
    ASSERT_GT(bfx_book_checksum_text(&b, text, sizeof(text)), 0);
    ASSERT_STR_EQ(text, want);
    ASSERT_EQ(bfx_book_checksum(&b), zcrc(want));
    ASSERT_EQ(bfx_book_checksum(&b), (int32_t)crc32_bitwise(want, strlen(want)));
    ASSERT_EQ(bfx_book_verify(&b, zcrc(want)), 0);
    ASSERT_EQ(bfx_book_checksum_text(&b, text, 10), -ENOSPC);

    /* An empty book checksums the empty string. */
    ASSERT_EQ(feed(d, &b, "[1,[]]"), 1);
    ASSERT_EQ(bfx_book_checksum(&b), 0);
    bfx_book_fini(&b);
    bitfinex_decoder_free(d);
    return 0;
}

TEST(bfx_book_applies_updates_and_resyncs_on_a_bad_checksum)
{
    struct bfx_decoder *d = decoder();
    struct bfx_book b;
    union mdf_record rec;
    struct mdf_book *r = &rec.book;

    ASSERT_EQ(bfx_book_init(&b, 10), 0);
    ASSERT_EQ(b.state, MDF_BOOK_EMPTY);
    /* Updates before a snapshot change nothing. */
    ASSERT_EQ(feed(d, &b, "[1,[100,1,1]]"), 0);
    ASSERT_EQ(feed(d, &b, "[1,[[100,2,1.5],[99,1,2],[101,3,-0.5],[102,1,-4]]]"), 1);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_EQ(b.generation, 0);
    /* Set, replace, remove (count 0, amount 1 for bids and -1 for asks). */
    ASSERT_EQ(feed(d, &b, "[1,[100.5,1,0.25]]"), 1);
    ASSERT_EQ(feed(d, &b, "[1,[101,4,-0.75]]"), 1);
    ASSERT_EQ(feed(d, &b, "[1,[99,0,1]]"), 1);
    ASSERT_EQ(feed(d, &b, "[1,[98,0,1]]"), 0); /* not held */
    ASSERT_EQ(feed(d, &b, "[1,[102,0,-1]]"), 1);
    ASSERT_EQ(bfx_book_verify(&b, zcrc("100.5:0.25:101:-0.75:100:1.5")), 0);

    bfx_book_record(&b, r, 5);
    ASSERT_EQ(r->h.type, MDF_REC_BOOK);
    ASSERT_EQ(r->h.size, MDF_BOOK_SIZE(5));
    ASSERT_EQ(r->state, MDF_BOOK_LIVE);
    ASSERT_EQ(r->n_bids, 2);
    ASSERT_EQ(r->n_asks, 1);
    ASSERT_DEC(r->levels[0].px, "100.5");
    ASSERT_DEC(r->levels[0].qty, "0.25");
    ASSERT_EQ(r->levels[0].orders, 1);
    ASSERT_DEC(r->levels[1].px, "100");
    ASSERT_EQ(r->levels[1].orders, 2);
    ASSERT_DEC(r->levels[5].px, "101");
    ASSERT_DEC(r->levels[5].qty, "0.75");
    ASSERT_EQ(r->levels[5].orders, 4);
    ASSERT_EQ(r->levels[6].px.m, 0);
    ASSERT_EQ(r->h.recv_time_ns, 99);

    /* A wrong checksum: discarded, RESYNCING, generation bumped, updates ignored until the
     * next snapshot. */
    ASSERT_EQ(bfx_book_verify(&b, 12345), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "12345");
    ASSERT_EQ(b.state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(b.generation, 1);
    ASSERT_EQ(b.stats.mismatches, 1);
    ASSERT_EQ(bfx_book_verify(&b, 12345), 1);
    ASSERT_EQ(feed(d, &b, "[1,[100,1,1]]"), 0);
    bfx_book_record(&b, r, 5);
    ASSERT_EQ(r->state, MDF_BOOK_RESYNCING);
    ASSERT_EQ(r->generation, 1);
    ASSERT_EQ(r->n_bids + r->n_asks, 0);
    ASSERT_EQ(feed(d, &b, "[1,[[100,1,1],[101,1,-1]]]"), 1);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_EQ(b.generation, 1);

    /* A gap the caller saw, then an interruption and a new snapshot: each a new generation. */
    bfx_book_resync(&b);
    bfx_book_resync(&b);
    ASSERT_EQ(b.generation, 2);
    ASSERT_EQ(feed(d, &b, "[1,[[100,1,1]]]"), 1);
    bfx_book_interrupt(&b);
    ASSERT_EQ(b.state, MDF_BOOK_STALE);
    ASSERT_EQ(b.n[0], 1);
    ASSERT_EQ(feed(d, &b, "[1,[[100,1,1]]]"), 1);
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_EQ(b.generation, 3);

    /* A full side keeps the best levels. */
    ASSERT_EQ(feed(d, &b, "[1,[]]"), 1);
    for (int i = 0; i < 12; i++) {
        char msg[64];
        snprintf(msg, sizeof(msg), "[1,[%d,1,1]]", 100 + (i % 2 ? i : -i));
        feed(d, &b, msg);
    }
    ASSERT_EQ(b.n[0], 10);
    ASSERT_EQ(b.stats.dropped, 2);
    bfx_book_top(&b, r, 10);
    ASSERT_DEC(r->levels[0].px, "111");
    ASSERT_DEC(r->levels[9].px, "94"); /* 90 never got in, 92 was pushed out by 111 */
    for (int i = 1; i < 10; i++)
        ASSERT_EQ(mdf_dec_cmp(r->levels[i - 1].px, r->levels[i].px), 1);
    bfx_book_fini(&b);
    bitfinex_decoder_free(d);
    return 0;
}

/* A reference book: count and amount (in 1e-3 units, signed) per price tick 0..N_TICKS. */
#define N_TICKS 200

struct ref_book {
    int count[N_TICKS];   /* orders at tick i; 0 = no level */
    long amount[N_TICKS]; /* signed amount in thousandths */
};

/* Writes the amount a/1000 as plain decimal text with trailing zeros cut (amounts here are
 * never below 1e-3, so JavaScript prints them without an exponent). */
static void ref_amount(char *buf, size_t cap, long a)
{
    long whole = labs(a) / 1000, frac = labs(a) % 1000;
    char f[8];
    int k;

    snprintf(f, sizeof(f), "%03ld", frac);
    for (k = 3; k > 0 && f[k - 1] == '0'; k--)
        ;
    f[k] = '\0';
    snprintf(buf, cap, "%s%ld%s%s", a < 0 ? "-" : "", whole, k ? "." : "", f);
}

/* Writes the price of tick t, (1000 + t) / 10, as plain decimal text without a trailing ".0". */
static void ref_price(char *buf, size_t cap, int t)
{
    if ((1000 + t) % 10)
        snprintf(buf, cap, "%d.%d", (1000 + t) / 10, (1000 + t) % 10);
    else
        snprintf(buf, cap, "%d", (1000 + t) / 10);
}

/* The reference checksum text: price of tick i is (1000 + i) / 10. */
static void ref_text(const struct ref_book *r, char *out, size_t cap)
{
    int bids[N_TICKS], asks[N_TICKS], nb = 0, na = 0;
    size_t n = 0;

    out[0] = '\0';
    for (int i = N_TICKS - 1; i >= 0; i--)
        if (r->count[i] && r->amount[i] > 0)
            bids[nb++] = i;
    for (int i = 0; i < N_TICKS; i++)
        if (r->count[i] && r->amount[i] < 0)
            asks[na++] = i;
    for (int i = 0; i < 25; i++) {
        const int *side[2] = {bids, asks};
        int cnt[2] = {nb, na};
        for (int s = 0; s < 2; s++) {
            char a[32], px[32];
            if (i >= cnt[s])
                continue;
            ref_price(px, sizeof(px), side[s][i]);
            ref_amount(a, sizeof(a), r->amount[side[s][i]]);
            n += (size_t)snprintf(out + n, cap - n, "%s%s:%s", n ? ":" : "", px, a);
        }
    }
}

TEST(bfx_book_random_stream_always_equals_a_reference)
{
    struct bfx_decoder *d = decoder();
    struct test_rng rng;
    struct ref_book ref;
    struct bfx_book b;
    char msg[256], want[8192], text[8192], a[32];
    int mid = N_TICKS / 2;

    test_rng_init(&rng, test_seed());
    memset(&ref, 0, sizeof(ref));
    ASSERT_EQ(bfx_book_init(&b, N_TICKS), 0);
    ASSERT_EQ(feed(d, &b, "[1,[]]"), 1);
    for (int step = 0; step < 20000; step++) {
        /* Bids below the mid, asks above it; the mid drifts. */
        int t = (int)test_rng_below(&rng, N_TICKS), ask;
        struct bfx_msg m;
        int32_t cs;

        if (test_rng_below(&rng, 100) < 3) {
            int nm = mid + (int)test_rng_below(&rng, 5) - 2;
            if (nm > 20 && nm < N_TICKS - 20) {
                /* Clear the levels that would cross, as the venue would. */
                for (int i = 0; i < N_TICKS; i++)
                    if (ref.count[i] &&
                        ((ref.amount[i] > 0 && i > nm) || (ref.amount[i] < 0 && i <= nm))) {
                        snprintf(msg, sizeof(msg), "[1,[%d.%d,0,%d]]", (1000 + i) / 10,
                                 (1000 + i) % 10, ref.amount[i] > 0 ? 1 : -1);
                        ASSERT_EQ(feed(d, &b, msg), 1);
                        ref.count[i] = 0;
                    }
                mid = nm;
            }
            continue;
        }
        ask = t > mid;
        if (ref.count[t] && test_rng_below(&rng, 3) == 0) {
            snprintf(msg, sizeof(msg), "[1,[%d.%d,0,%d]]", (1000 + t) / 10, (1000 + t) % 10,
                     ref.amount[t] > 0 ? 1 : -1);
            ref.count[t] = 0;
        } else {
            long amt = 1 + (long)test_rng_below(&rng, 50000);
            int cnt = 1 + (int)test_rng_below(&rng, 9);
            if (ref.count[t] && (ref.amount[t] < 0) != ask)
                continue; /* keep the sides apart */
            ref.count[t] = cnt;
            ref.amount[t] = ask ? -amt : amt;
            ref_amount(a, sizeof(a), ref.amount[t]);
            /* Half the time as DEC_S strings. */
            if (step % 2)
                snprintf(msg, sizeof(msg), "[1,[\"%d.%d\",%d,\"%s\"]]", (1000 + t) / 10,
                         (1000 + t) % 10, cnt, a);
            else
                snprintf(msg, sizeof(msg), "[1,[%d.%d,%d,%s]]", (1000 + t) / 10, (1000 + t) % 10,
                         cnt, a);
        }
        ASSERT_GE(feed(d, &b, msg), 0);
        ref_text(&ref, want, sizeof(want));
        ASSERT_GE(bfx_book_checksum_text(&b, text, sizeof(text)), 0);
        if (strcmp(text, want) != 0)
            test_fail(__FILE__, __LINE__, "step %d: book %s, reference %s", step, text, want);
        /* The venue's cs message, decoded and verified. */
        cs = zcrc(want);
        snprintf(msg, sizeof(msg), "[1,\"cs\",%d]", cs);
        ASSERT_EQ(decode(d, msg, 0, &m), 0);
        ASSERT_EQ(m.kind, BFX_CHECKSUM);
        ASSERT_EQ(bfx_book_verify(&b, m.checksum), 0);
    }
    ASSERT_EQ(b.state, MDF_BOOK_LIVE);
    ASSERT_EQ(b.stats.mismatches, 0);
    ASSERT_GT(b.stats.checksums, 10000);

    /* An update the book missed (the best bid changed) is caught by the next checksum. */
    for (int t = N_TICKS - 1; t >= 0; t--)
        if (ref.count[t] && ref.amount[t] > 0) {
            ref.amount[t] += 1;
            break;
        }
    ref_text(&ref, want, sizeof(want));
    ASSERT_EQ(bfx_book_verify(&b, zcrc(want)), -EBADMSG);
    ASSERT_EQ(b.state, MDF_BOOK_RESYNCING);
    bfx_book_fini(&b);
    bitfinex_decoder_free(d);
    return 0;
}
