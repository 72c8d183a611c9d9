/*
 * Futex doorbells for blocked readers. The lost-wake-up argument is Dekker's: the writer does
 * a seq_cst exchange of the tail then a seq_cst load of `waiting`; a reader does a seq_cst
 * store of `waiting` then a seq_cst load of the tail. In the single total order of those four
 * operations, either the writer sees the flag (and bumps `wake`, which a reader read before
 * raising the flag, so its futex wait returns at once or is woken) or the reader sees the new
 * tail and does not sleep. Shared (not private) futexes, since readers are other processes.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/atomics.h"
#include "shm/doorbell.h"
#include "shm/ring.h"

size_t doorbell_segment_size(void)
{
    return sizeof(struct mdf_seg_header) + MDF_RING_COUNT * sizeof(struct mdf_doorbell);
}

struct mdf_doorbell *doorbell_at(void *base, int ring)
{
    return (struct mdf_doorbell *)((uint8_t *)base + sizeof(struct mdf_seg_header)) + ring;
}

bool doorbell_ring(struct mdf_doorbell *b)
{
    /* seq_cst: pairs with the reader's seq_cst store of `waiting` (see the file comment). On
     * x86 this is a plain load; the common no-waiter path costs nothing more. */
    if (atomic_load_explicit(&b->waiting, memory_order_seq_cst) == 0)
        return false;
    /* Relaxed: whoever raises it again after this does so before re-checking the tail. */
    store_relaxed(&b->waiting, 0);
    /* Release: pairs with the acquire load of `wake` in doorbell_wait; the syscall below is
     * a full barrier too. */
    atomic_fetch_add_explicit(&b->wake, 1, memory_order_release);
    syscall(SYS_futex, &b->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return true;
}

int doorbell_wait(struct mdf_doorbell *b, const void *ring_base, uint64_t next, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    uint32_t v;

    /* Acquire: pairs with the release increment in doorbell_ring; read before raising the
     * flag, so any wake-up after the flag is seen changes it. */
    v = load_acquire(&b->wake);
    /* seq_cst: pairs with the writer's seq_cst tail exchange and `waiting` load. */
    atomic_store_explicit(&b->waiting, 1, memory_order_seq_cst);
    if (ring_tail_sc(ring_base) > next)
        return 1;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    syscall(SYS_futex, &b->wake, FUTEX_WAIT, v, tsp, NULL, 0);
    return ring_tail(ring_base) > next;
}
