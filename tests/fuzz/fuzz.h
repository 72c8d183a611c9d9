/*
 * Helpers shared by the libFuzzer harnesses: a reader that turns the fuzz bytes into small
 * numbers (zero once the input runs out, so every input is a valid script), and the abort that
 * marks a broken property as a crash libFuzzer saves.
 */
#ifndef MDF_TESTS_FUZZ_FUZZ_H
#define MDF_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The fuzz input, consumed from the front. */
struct fz {
    const uint8_t *p; /* next unread byte (borrowed from libFuzzer) */
    size_t n;         /* bytes left */
};

/* The next byte, 0 past the end. */
static inline uint8_t fz_u8(struct fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

/* The next two bytes, little-endian, 0 past the end. */
static inline uint16_t fz_u16(struct fz *f)
{
    uint16_t lo = fz_u8(f);

    return (uint16_t)(lo | (uint16_t)fz_u8(f) << 8);
}

/* The next four bytes, little-endian, 0 past the end. */
static inline uint32_t fz_u32(struct fz *f)
{
    uint32_t lo = fz_u16(f);

    return lo | (uint32_t)fz_u16(f) << 16;
}

/* Reports a broken property and aborts, so libFuzzer saves the input as a crash. */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MDF_TESTS_FUZZ_FUZZ_H */
