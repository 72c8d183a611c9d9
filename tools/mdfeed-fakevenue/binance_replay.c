/*
 * How a Binance recording line becomes a replay message (the Binance modules' replay hooks,
 * fv.h): a combined message ({"stream":..,"data":..}) is kept as recorded with the range of its
 * payload; a bare one gets its stream from the URL (/ws/<stream>, ?streams=<one>) or from its
 * event type and symbol, and is kept wrapped, so both framings go out byte-identical to the
 * recording. Client lines (SUBSCRIBE) are not needed: a Binance stream's first message is its
 * own subscription's answer.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

/* ---- a minimal JSON scanner, only to find byte ranges (the text was validated by jansson) ---- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

/* s[*i] is '"': moves past the closing quote. */
static bool skip_string(const char *s, size_t n, size_t *i)
{
    for (size_t j = *i + 1; j < n; j++) {
        if (s[j] == '\\')
            j++;
        else if (s[j] == '"') {
            *i = j + 1;
            return true;
        }
    }
    return false;
}

/* Moves past one JSON value starting at s[*i]. */
static bool skip_value(const char *s, size_t n, size_t *i)
{
    size_t j = *i;
    int depth = 0;

    if (j >= n)
        return false;
    if (s[j] == '"')
        return skip_string(s, n, i);
    if (s[j] != '{' && s[j] != '[') {
        size_t start = j;

        while (j < n && !strchr(",}] \t\r\n", s[j]))
            j++;
        *i = j;
        return j > start;
    }
    while (j < n) {
        char c = s[j];

        if (c == '"') {
            if (!skip_string(s, n, &j))
                return false;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        j++;
        if (depth == 0) {
            *i = j;
            return true;
        }
    }
    return false;
}

/* Finds the value ranges of top-level members "stream" and "data" of the object in s. */
static bool find_members(const char *s, size_t n, size_t *st_off, size_t *st_len, size_t *d_off,
                         size_t *d_len)
{
    size_t i = skip_ws(s, n, 0);
    bool got_s = false, got_d = false;

    if (i >= n || s[i] != '{')
        return false;
    i++;
    for (;;) {
        size_t k0, k1, v0;

        i = skip_ws(s, n, i);
        if (i < n && s[i] == '}')
            break;
        if (i >= n || s[i] != '"')
            return false;
        k0 = i + 1;
        if (!skip_string(s, n, &i))
            return false;
        k1 = i - 1;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return false;
        i = skip_ws(s, n, i + 1);
        v0 = i;
        if (!skip_value(s, n, &i))
            return false;
        if (k1 - k0 == 6 && memcmp(s + k0, "stream", 6) == 0 && s[v0] == '"') {
            *st_off = v0 + 1;
            *st_len = i - v0 - 2;
            got_s = true;
        } else if (k1 - k0 == 4 && memcmp(s + k0, "data", 4) == 0) {
            *d_off = v0;
            *d_len = i - v0;
            got_d = true;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}')
            break;
        return false;
    }
    return got_s && got_d;
}

/* Stream name for a raw (not combined) recording: the one stream of the URL, or one derived
 * from the event type and symbol. Returns the length written to name, 0 if unknown. */
static size_t raw_stream_name(const char *url, const char *msg, size_t mlen, char *name, size_t cap)
{
    const char *p = strstr(url, "/ws/");
    json_t *root, *e, *sy, *k;
    const char *ev, *suffix = NULL;
    char kl[48];
    size_t n = 0;

    if (p && !strpbrk(p + 4, "/?")) {
        snprintf(name, cap, "%s", p + 4);
        return strlen(name);
    }
    if ((p = strstr(url, "streams=")) && !strchr(p + 8, '/')) {
        snprintf(name, cap, "%.*s", (int)strcspn(p + 8, "&"), p + 8);
        return strlen(name);
    }
    root = json_loadb(msg, mlen, 0, NULL);
    e = json_object_get(root, "e");
    sy = json_object_get(root, "s");
    if (json_is_string(e) && json_is_string(sy)) {
        ev = json_string_value(e);
        if (!strcmp(ev, "trade"))
            suffix = "@trade";
        else if (!strcmp(ev, "aggTrade"))
            suffix = "@aggTrade";
        else if (!strcmp(ev, "depthUpdate"))
            suffix = "@depth";
        else if (!strcmp(ev, "24hrTicker"))
            suffix = "@ticker";
        else if (!strcmp(ev, "24hrMiniTicker"))
            suffix = "@miniTicker";
        else if (!strcmp(ev, "markPriceUpdate"))
            suffix = "@markPrice";
        else if (!strcmp(ev, "bookTicker"))
            suffix = "@bookTicker";
        else if (!strcmp(ev, "forceOrder"))
            suffix = "@forceOrder";
        else if (!strcmp(ev, "kline") &&
                 json_is_string(k = json_object_get(json_object_get(root, "k"), "i"))) {
            snprintf(kl, sizeof(kl), "@kline_%s", json_string_value(k));
            suffix = kl;
        }
        if (suffix) {
            snprintf(name, cap, "%s%s", json_string_value(sy), suffix);
            for (char *c = name; *c && *c != '@'; c++)
                *c = (char)tolower((unsigned char)*c);
            n = strlen(name);
        }
    }
    json_decref(root);
    return n;
}

/* See fv.h. */
void binance_replay_line(struct fv_server *s, struct fv_rline *l)
{
    struct fv_buf *arena = l->arena;
    size_t so = 0, sl = 0, d0 = 0, dl = 0, nl;

    (void)s;
    if (l->sent)
        return;
    l->off = (uint32_t)arena->len;
    if (find_members(l->json, l->len, &so, &sl, &d0, &dl)) {
        if (sl >= sizeof(l->key))
            return;
        memcpy(l->key, l->json + so, sl);
        l->key[sl] = '\0';
        fv_buf_append(arena, l->json, l->len);
        l->len_stored = (uint32_t)l->len;
        l->raw_off = (uint32_t)(l->off + d0);
        l->raw_len = (uint32_t)dl;
    } else {
        nl = raw_stream_name(l->url, l->json, l->len, l->key, sizeof(l->key));
        if (!nl)
            return;
        fv_buf_append(arena, "{\"stream\":\"", 11);
        fv_buf_append(arena, l->key, nl);
        fv_buf_append(arena, "\",\"data\":", 9);
        l->raw_off = (uint32_t)arena->len;
        l->raw_len = (uint32_t)l->len;
        fv_buf_append(arena, l->json, l->len);
        fv_buf_append(arena, "}", 1);
        l->len_stored = (uint32_t)(arena->len - l->off);
    }
    l->stored = true;
    l->kind = FV_RK_DATA;
}

/* See fv.h. */
bool binance_replay_wants(const struct fv_peer *p, const struct fv_rmsg *m)
{
    return binance_delivers(p, m->sid);
}

/* See fv.h. */
void binance_replay_send(struct fv_peer *p, const struct fv_rmsg *m, const char *c, size_t clen,
                         const char *raw, size_t rlen)
{
    binance_send(p, m->sid, c, clen, raw, rlen);
}
