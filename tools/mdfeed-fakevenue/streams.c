/*
 * Stream names: every name the venue has seen (from a recording or a subscription) is interned
 * once to a small integer id, with what the venue does with it (futures route, depth diff, trade)
 * worked out at that moment. Subscriptions and recorded messages then carry ids, so routing a
 * message to its subscribers is a bit test per connection instead of string compares.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"

/* FNV-1a over the name. */
static uint32_t hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

const char *fv_misroute;

/* The futures path that serves a stream (src/venue/README.md 2.1): book data on /public, the rest
 * on /market; --misroute moves matching streams to the other one. */
static uint8_t route_of(const char *name)
{
    uint8_t r = FV_ROUTE_MARKET;
    size_t n = strlen(name), k = fv_misroute ? strlen(fv_misroute) : 0;

    if (strstr(name, "@depth") || strstr(name, "@bookTicker") || strstr(name, "@rpiDepth") ||
        strcmp(name, "!bookTicker") == 0)
        r = FV_ROUTE_PUBLIC;
    if (k && n >= k && strcmp(name + n - k, fv_misroute) == 0)
        r = r == FV_ROUTE_PUBLIC ? FV_ROUTE_MARKET : FV_ROUTE_PUBLIC;
    return r;
}

/* Fills the derived fields of a new entry. */
static void describe(struct fv_stream *st)
{
    const char *at = strchr(st->name, '@');
    size_t n = at ? (size_t)(at - st->name) : 0;

    st->sym[0] = '\0';
    if (st->name[0] != '!' && n > 0 && n < sizeof(st->sym)) {
        for (size_t i = 0; i < n; i++)
            st->sym[i] = (char)toupper((unsigned char)st->name[i]);
        st->sym[n] = '\0';
    }
    st->route = route_of(st->name);
    /* "<s>@depth" or "<s>@depth@100ms": a diff; "<s>@depth5" is a partial book. */
    st->depth_diff = at && strncmp(at, "@depth", 6) == 0 && (at[6] == '\0' || at[6] == '@');
    st->trade = at && strcmp(at, "@trade") == 0;
}

/* Doubles the hash table and re-inserts every id. */
static void rehash(struct fv_streams *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 256;
    int32_t *slots = fv_xcalloc(nslots, sizeof(*slots));

    for (size_t id = 0; id < t->n; id++) {
        const char *name = t->v[id].name;
        size_t i = hash_name(name, strlen(name)) & (nslots - 1);

        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = (int32_t)id + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
}

/* Returns the id of name, or -1. */
int streams_find(const struct fv_streams *t, const char *name, size_t len)
{
    if (!t->nslots)
        return -1;
    for (size_t i = hash_name(name, len) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        int32_t id = t->slots[i] - 1;

        if (id < 0)
            return -1;
        if (strlen(t->v[id].name) == len && memcmp(t->v[id].name, name, len) == 0)
            return id;
    }
}

/* Returns the id of name, adding it if new. Never fails (aborts when memory runs out). */
int streams_intern(struct fv_streams *t, const char *name, size_t len)
{
    int id = streams_find(t, name, len);

    if (id >= 0)
        return id;
    if ((t->n + 1) * 2 > t->nslots)
        rehash(t);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = realloc(t->v, t->cap * sizeof(*t->v));
        if (!t->v)
            abort();
    }
    id = (int)t->n++;
    t->v[id].name = fv_xstrndup(name, len);
    describe(&t->v[id]);
    {
        size_t i = hash_name(name, len) & (t->nslots - 1);

        while (t->slots[i])
            i = (i + 1) & (t->nslots - 1);
        t->slots[i] = id + 1;
    }
    return id;
}

/* Frees every name and the table. */
void streams_fini(struct fv_streams *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* True when id is subscribed (any negative id is not). */
bool subs_has(const struct fv_subs *s, int id)
{
    size_t w = (size_t)id / 64;

    return id >= 0 && w < s->nwords && (s->bits[w] >> (id % 64) & 1);
}

/* Adds id at the end of the subscription order. Returns false if it was already there. */
bool subs_add(struct fv_subs *s, int id)
{
    size_t w = (size_t)id / 64;

    if (subs_has(s, id))
        return false;
    if (w >= s->nwords) {
        size_t nw = w + 16;

        s->bits = realloc(s->bits, nw * sizeof(*s->bits));
        if (!s->bits)
            abort();
        memset(s->bits + s->nwords, 0, (nw - s->nwords) * sizeof(*s->bits));
        s->nwords = nw;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->ids = realloc(s->ids, s->cap * sizeof(*s->ids));
        if (!s->ids)
            abort();
    }
    s->bits[w] |= (uint64_t)1 << (id % 64);
    s->ids[s->n++] = id;
    return true;
}

/* Removes id, keeping the order of the others. Returns false if it was absent. */
bool subs_remove(struct fv_subs *s, int id)
{
    if (!subs_has(s, id))
        return false;
    s->bits[id / 64] &= ~((uint64_t)1 << (id % 64));
    for (size_t i = 0; i < s->n; i++) {
        if (s->ids[i] == id) {
            memmove(s->ids + i, s->ids + i + 1, (s->n - i - 1) * sizeof(*s->ids));
            s->n--;
            break;
        }
    }
    return true;
}

/* Frees the set and leaves it empty and reusable. */
void subs_fini(struct fv_subs *s)
{
    free(s->ids);
    free(s->bits);
    memset(s, 0, sizeof(*s));
}
