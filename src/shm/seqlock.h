/*
 * Seqlock primitives for shared-memory entries with one writer (ck_sequence's protocol): the
 * count is odd while the writer is inside; a reader copies the payload and keeps the copy only if
 * the count was the same even value before and after. Payload words are stored with release and
 * loaded with acquire instead of relying on fences: if a reader's load sees any word of a newer
 * write, that store's release orders the odd count before it, so the reader's re-read of the
 * count (after its acquire loads) cannot see the old even value. On x86 these are plain moves.
 */
#ifndef MDF_SHM_SEQLOCK_H
#define MDF_SHM_SEQLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/atomics.h"

#include <sched.h>

#include "core/clock.h"

#define SEQLOCK_SPINS 1000                  /* busy retries before yielding the CPU */
#define SEQLOCK_BUDGET_NS (100 * 1000000LL) /* then give up with MDF_ECONTENDED */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits before retry number `attempt` of a read. Spins first; then, since a writer preempted
 * inside its write keeps the count odd until it runs again, yields the CPU (which may be what
 * the writer needs) until a time budget runs out. *deadline starts at 0. Returns false when
 * the budget is spent. */
static inline bool seqlock_backoff(int attempt, int64_t *deadline)
{
    if (attempt < SEQLOCK_SPINS) {
        cpu_relax();
        return true;
    }
    if (*deadline == 0)
        *deadline = clock_mono_ns() + SEQLOCK_BUDGET_NS;
    else if (clock_mono_ns() > *deadline)
        return false;
    sched_yield();
    return true;
}

/* Enters the write side: the count becomes odd before any payload store is visible. */
static inline void seqlock_write_begin(atomic_word *seq)
{
    /* Only the writer changes the count, so a relaxed read of our own value suffices. */
    uint64_t s = load_relaxed(seq);

    /* Relaxed: the release stores of the payload words that follow order it before them. */
    store_relaxed(seq, s + 1);
}

/* Leaves the write side: the count becomes even after every payload store. */
static inline void seqlock_write_end(atomic_word *seq)
{
    uint64_t s = load_relaxed(seq);

    /* Pairs with the acquire load in seqlock_read_begin. */
    store_release(seq, s + 1);
}

/* Stores n words from src into shared dst. Release: each orders the writer's odd count (or
 * in-progress stamp) before itself; pairs with the acquire loads in words_load. */
static inline void words_store(atomic_word *dst, const void *src, size_t n)
{
    const uint64_t *s = src;

    for (size_t i = 0; i < n; i++)
        store_release(&dst[i], s[i]);
}

/* Loads n words from shared src into dst. Acquire: pairs with the release stores in
 * words_store, and keeps the validating re-read of the count after every payload load. */
static inline void words_load(void *dst, const atomic_word *src, size_t n)
{
    uint64_t *d = dst;

    for (size_t i = 0; i < n; i++)
        d[i] = load_acquire((atomic_word *)&src[i]);
}

/* Starts a read: returns the even count to validate against, or an odd value (writer inside). */
static inline uint64_t seqlock_read_begin(const atomic_word *seq)
{
    /* Pairs with the release store in seqlock_write_end. */
    return load_acquire((atomic_word *)seq);
}

/* Ends a read: true if nothing changed since seqlock_read_begin returned s. */
static inline int seqlock_read_validate(const atomic_word *seq, uint64_t s)
{
    /* Relaxed: the acquire payload loads before it keep it last (see the file comment). */
    return load_relaxed((atomic_word *)seq) == s;
}

#endif /* MDF_SHM_SEQLOCK_H */
