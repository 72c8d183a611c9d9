/*
 * The stream-name map (see stream.h): FNV-1a hashes, linear probing at most half full.
 */
#include "daemon/stream.h"

#include <errno.h>
#include <stdlib.h>

uint64_t stream_hash(const char *name, size_t len)
{
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)name[i];
        h *= 1099511628211ull;
    }
    return h;
}

int stream_map_build(struct stream_map *m, struct dstream *const *streams, size_t n)
{
    size_t cap = 16;
    struct dstream **slot;

    while (cap < 2 * n)
        cap *= 2;
    slot = calloc(cap, sizeof(*slot));
    if (!slot)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++) {
        struct dstream *s = streams[k];
        size_t i;

        if (s->removed)
            continue;
        for (i = s->hash & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
            ;
        slot[i] = s;
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

void stream_map_free(struct stream_map *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = 0;
}
