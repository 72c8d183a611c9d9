/*
 * Differential fuzzing of the Binance decoder's two JSON back ends: jsmn and jansson must give
 * the same return code and, on success, the same message (kind, stream, ids, times, levels,
 * reply) and byte-identical records, as binance_backends_agree_on_tricky_messages_and_every_
 * recording checks on fixtures. The first byte picks the profile (bit 0) and the entry point
 * (bits 1-2: WebSocket message, REST snapshot or REST klines).
 *
 * The differences json.h documents are let through, and only them: jansson refuses a whole
 * message that holds raw control characters or invalid UTF-8 in a string, or a number beyond
 * int64 or a double, where jsmn refuses only the field that reads it; and a key repeated once
 * escaped is read by jansson from its last spelling.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "venue/venue.h"

#define MAX_LEVELS 1000
#define MAX_MSG (1u << 20)
#define MAX_CANDLES 64

/* Decoders made once: [futures][jansson]. */
static struct vdecoder *dec[2][2];

static void setup(void)
{
    for (int f = 0; f < 2; f++)
        for (int j = 0; j < 2; j++) {
            dec[f][j] = vdec_new(venue_profile_find(f ? "binance-futures" : "binance-spot"),
                                 j ? VDEC_JANSSON : VDEC_JSMN, MAX_LEVELS, MAX_MSG);
            FZ_CHECK(dec[f][j] != NULL);
        }
}

/* True if the text holds a byte jansson refuses in a string (control or non-ASCII: checked
 * anywhere, which is stricter than needed), a digit run past int64, or a 3-digit exponent. */
static bool jansson_may_refuse(const uint8_t *p, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] >= 0x80)
            return true;
        if (p[i] >= '0' && p[i] <= '9') {
            if (++run >= 19)
                return true;
            continue;
        }
        run = 0;
        if ((p[i] == 'e' || p[i] == 'E') && i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9') {
            size_t j = i + 1, d = 0;

            if (j < n && (p[j] == '+' || p[j] == '-'))
                j++;
            while (j < n && p[j] >= '0' && p[j] <= '9' && d < 3)
                j++, d++;
            if (d >= 3)
                return true;
        }
    }
    return false;
}

/* True if some object key is spelt with an escape (a string holding a backslash followed by a
 * colon), the case where jansson may read a repeated key's last spelling. */
static bool has_escaped_key(const uint8_t *p, size_t n)
{
    bool in_str = false, esc = false;

    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            if (p[i] == '"') {
                in_str = true;
                esc = false;
            }
            continue;
        }
        if (p[i] == '\\') {
            esc = true;
            i++;
        } else if (p[i] == '"') {
            size_t j = i + 1;

            in_str = false;
            while (j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r'))
                j++;
            if (esc && j < n && p[j] == ':')
                return true;
        }
    }
    return false;
}

/* Checks that both back ends decoded the same message. */
static void same_vmsg(const struct vmsg *a, const struct vmsg *b)
{
    FZ_CHECK(a->kind == b->kind);
    FZ_CHECK(a->stream_len == b->stream_len);
    FZ_CHECK((a->stream == NULL) == (b->stream == NULL));
    FZ_CHECK(!a->stream || memcmp(a->stream, b->stream, a->stream_len) == 0);
    FZ_CHECK(memcmp(&a->spec, &b->spec, sizeof(a->spec)) == 0);
    FZ_CHECK(a->rec.h.size == b->rec.h.size);
    if (a->kind == VM_RECORD) {
        FZ_CHECK(a->rec.h.size > sizeof(a->rec.h) && a->rec.h.size <= sizeof(a->rec));
        FZ_CHECK(memcmp(&a->rec, &b->rec, a->rec.h.size) == 0);
    }
    FZ_CHECK(a->first_id == b->first_id);
    FZ_CHECK(a->last_id == b->last_id);
    FZ_CHECK(a->prev_id == b->prev_id);
    FZ_CHECK(a->exch_time_ns == b->exch_time_ns);
    FZ_CHECK(a->tx_time_ns == b->tx_time_ns);
    FZ_CHECK(a->n_bids == b->n_bids);
    FZ_CHECK(a->n_asks == b->n_asks);
    FZ_CHECK(!a->n_bids || memcmp(a->bids, b->bids, a->n_bids * sizeof(*a->bids)) == 0);
    FZ_CHECK(!a->n_asks || memcmp(a->asks, b->asks, a->n_asks * sizeof(*a->asks)) == 0);
    FZ_CHECK(a->reply_id == b->reply_id);
    FZ_CHECK(a->reply_code == b->reply_code);
    FZ_CHECK(strcmp(a->text, b->text) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vmsg a, b;
    static struct mdf_candle ca[MAX_CANDLES], cb[MAX_CANDLES];
    size_t na = 0, nb = 0;
    int ra, rb, f, mode;

    if (!dec[0][0])
        setup();
    if (size < 1)
        return 0;
    f = data[0] & 1;
    mode = (data[0] >> 1) & 3;
    data++;
    size--;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    switch (mode) {
    case 1:
        ra = binance_decode_snapshot(dec[f][0], data, size, &a);
        rb = binance_decode_snapshot(dec[f][1], data, size, &b);
        break;
    case 2:
        memset(ca, 0, sizeof(ca));
        memset(cb, 0, sizeof(cb));
        ra = binance_decode_klines(dec[f][0], data, size, MDF_IV_1M, INT64_MAX, 42, ca, MAX_CANDLES,
                                   &na);
        rb = binance_decode_klines(dec[f][1], data, size, MDF_IV_1M, INT64_MAX, 42, cb, MAX_CANDLES,
                                   &nb);
        break;
    default:
        ra = binance_decode(dec[f][0], data, size, 5, &a);
        rb = binance_decode(dec[f][1], data, size, 5, &b);
        break;
    }
    if (ra != rb || (ra == 0 && has_escaped_key(data, size))) {
        /* A documented difference: jansson refused the whole message, or a key was escaped. */
        FZ_CHECK((rb < 0 && jansson_may_refuse(data, size)) || has_escaped_key(data, size));
        return 0;
    }
    if (ra != 0)
        return 0;
    if (mode == 2) {
        FZ_CHECK(na == nb);
        FZ_CHECK(memcmp(ca, cb, na * sizeof(ca[0])) == 0);
    } else {
        same_vmsg(&a, &b);
    }
    return 0;
}
