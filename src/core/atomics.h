/*
 * Named memory orders (in the manner of Aeron's AERON_GET_ACQUIRE / AERON_SET_RELEASE), so the
 * intent can be read at each call site. Every use still carries a comment naming what it pairs
 * with. Works on the MDF_ATOMIC(T) fields of include/mdfeed/layout.h.
 */
#ifndef MDF_CORE_ATOMICS_H
#define MDF_CORE_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

#define load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)

/* Views plain 64-bit words in shared memory as atomics, for word-by-word copies of
 * seqlock-protected payloads: release stores and acquire loads (plain moves on x86), so the
 * race with an overwriting writer is defined behaviour and ThreadSanitizer, which does not model
 * stand-alone fences, checks the real protocol. */
typedef _Atomic(uint64_t) atomic_word;

#endif /* MDF_CORE_ATOMICS_H */
