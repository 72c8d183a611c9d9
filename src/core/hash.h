/*
 * FNV-1a, 64-bit: a small, fast, stable hash for names (stream names, stream identities). Not
 * for untrusted keys where collisions could be forced; the callers compare the names as well.
 */
#ifndef MDF_CORE_HASH_H
#define MDF_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 14695981039346656037ull

/* Continues hash h over len bytes of p. */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t len)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

#endif
