/*
 * Doorbells: how a reader blocks until a ring has news without the writer paying a system call
 * per publish. Readers raise a per-ring `waiting` flag (in the small group-writable doorbell
 * segment, the only shared memory readers write) and sleep on a futex word; the writer, after
 * each publish, looks at the flag and only when it is raised clears it and wakes everyone.
 */
#ifndef MDF_SHM_DOORBELL_H
#define MDF_SHM_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#include <mdfeed/layout.h>

/* Bytes of a doorbell segment (header + one struct mdf_doorbell per ring). */
size_t doorbell_segment_size(void);

/* The doorbell of ring `ring` in the doorbell segment at base. */
struct mdf_doorbell *doorbell_at(void *base, int ring);

/* Writer side, after the tail was published with a seq_cst exchange: if a reader is waiting,
 * clears the flag, bumps the futex word and wakes all sleepers. Returns true if it made the
 * wake-up system call. */
bool doorbell_ring(struct mdf_doorbell *b);

/* Reader side: sleeps until the ring's tail passes `next`, timeout_ns passes (< 0: forever) or
 * a signal arrives. Returns 1 if the tail passed next, 0 otherwise (the caller re-checks). */
int doorbell_wait(struct mdf_doorbell *b, const void *ring_base, uint64_t next, int64_t timeout_ns);

#endif /* MDF_SHM_DOORBELL_H */
