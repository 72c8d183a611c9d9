/*
 * Broadcast rings in shared memory: one writer (the daemon's loop thread), any number of
 * readers, each with its own cursor, none of whom the writer ever waits for. Slots are fixed
 * size and stamped seqlock-style with their sequence number; a reader that falls more than a
 * ring behind is told exactly how many records it lost. ring_tx_* run on the single writer
 * thread only; a struct ring_rx is used by one thread at a time.
 */
#ifndef MDF_SHM_RING_H
#define MDF_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/mdfeed.h>

/* Bytes of a slot that holds records of up to max_record bytes (a multiple of 64). */
uint32_t ring_slot_size(uint32_t max_record);

/* Bytes of a ring segment with `capacity` slots of `slot_size` bytes. */
size_t ring_segment_size(uint64_t capacity, uint32_t slot_size);

/* Formats a newly created (zero-filled) ring segment at base. capacity: a power of two. */
void ring_format(void *base, uint32_t ring_id, uint64_t capacity, uint32_t slot_size);

/* True if the ring at base has this id, capacity and slot size. */
bool ring_same_geometry(const void *base, uint32_t ring_id, uint64_t capacity, uint32_t slot_size);

/* Repairs an adopted ring whose writer died: advances the tail over records the dead writer
 * committed but did not count. A slot left half-written keeps its odd stamp, which no reader
 * accepts, until the next publish overwrites it. Returns the repaired tail. */
uint64_t ring_repair(void *base);

/* The writer's view of a ring. */
struct ring_tx {
    struct mdf_ring_desc *desc; /* descriptor in shm */
    uint8_t *slots;             /* slot 0 in shm */
    struct mdf_doorbell *bell;  /* doorbell for this ring, or NULL (never wake anyone) */
    uint64_t mask;              /* capacity - 1 */
    uint32_t slot_size;         /* bytes per slot */
    uint32_t max_record;        /* largest record a slot holds */
    uint64_t tail;              /* next sequence number (private copy of desc->tail) */
    uint64_t wakes;             /* futex wake-ups made (each a system call) */
};

/* Attaches a writer to the ring at base (after ring_format or ring_repair). */
void ring_tx_init(struct ring_tx *tx, void *base, struct mdf_doorbell *bell);

/* Publishes rec (len bytes, a whole record starting with struct mdf_rec_hdr, multiple of 8) and
 * returns its sequence number. The slot's copy gets h.seq set. Wakes blocked readers, which is
 * the only case where it makes a system call. len must be <= max_record (checked: a longer
 * record is refused with UINT64_MAX). Writer thread only. */
uint64_t ring_tx_publish(struct ring_tx *tx, const void *rec, size_t len);

/* A reader's cursor over a read-only ring. */
struct ring_rx {
    const struct mdf_ring_desc *desc; /* descriptor in shm */
    const uint8_t *slots;             /* slot 0 in shm */
    uint64_t mask;                    /* capacity - 1 */
    uint32_t slot_size;               /* bytes per slot */
    uint64_t next;                    /* sequence number to read next */
    uint64_t lost_pending;            /* lost before the next delivered record */
    uint64_t delivered;               /* records delivered */
    uint64_t lost;                    /* records lost to laps, in total */
};

/* Checks a mapped ring segment of `size` bytes before a reader trusts it: ring ring_id, capacity
 * a power of two, slots that hold a record header and fill the segment exactly. Returns 0 or
 * MDF_EBADSEG with err_set(). */
int ring_rx_check(const void *base, size_t size, uint32_t ring_id);

/* Attaches a reader to the ring at base, starting at `start` (enum mdf_start) / seq. */
void ring_rx_init(struct ring_rx *rx, const void *base, int start, uint64_t seq);

/* Copies the next committed record into out (room for out_len bytes; longer records are
 * truncated to out_len). Returns 1 with *lost = records skipped just before it, 0 if none is
 * committed yet, or MDF_EBADSEG with err_set() if the slots' stamps run ahead of the tail (a
 * corrupt segment). Never returns a torn record. */
int ring_rx_next(struct ring_rx *rx, void *out, size_t out_len, uint64_t *lost);

/* True if a record is committed at the reader's position or it was lapped (next would not
 * return 0). */
bool ring_rx_ready(const struct ring_rx *rx);

/* The ring's tail as last published (acquire). */
uint64_t ring_tail(const void *base);

/* The tail with a seq_cst load, for the doorbell's Dekker handshake (see doorbell.c). */
uint64_t ring_tail_sc(const void *base);

#endif /* MDF_SHM_RING_H */
