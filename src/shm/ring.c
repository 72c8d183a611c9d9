/*
 * Broadcast ring over caller-provided shared memory (Aeron's broadcast buffer and the seqlock,
 * adapted to fixed slots). The writer marks a slot in progress (stamp 2s+1), writes the record,
 * commits it (stamp 2s+2, release) and then advances the tail. A reader copies the slot and
 * accepts it only if the stamp read before (acquire) and after (behind an acquire fence) is the
 * committed stamp of the sequence it wants; a larger stamp means the writer lapped it, and the
 * tail tells exactly where the oldest surviving record is. Payloads move as 64-bit words with
 * release stores and acquire loads (shm/seqlock.h explains why that replaces fences).
 */
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/atomics.h"
#include "core/err.h"
#include "shm/doorbell.h"
#include "shm/ring.h"
#include "shm/seqlock.h"

#define SLOT_ALIGN 64u
#define HDR_BYTES (sizeof(struct mdf_seg_header) + sizeof(struct mdf_ring_desc))
#define SEQ_WORD (offsetof(struct mdf_rec_hdr, seq) / 8) /* word of h.seq in a record */

static inline uint64_t stamp_writing(uint64_t seq)
{
    return 2 * seq + 1;
}

static inline uint64_t stamp_committed(uint64_t seq)
{
    return 2 * seq + 2;
}

uint32_t ring_slot_size(uint32_t max_record)
{
    uint32_t n = (uint32_t)sizeof(struct mdf_slot) + ((max_record + 7u) & ~7u);

    return (n + SLOT_ALIGN - 1) & ~(SLOT_ALIGN - 1);
}

size_t ring_segment_size(uint64_t capacity, uint32_t slot_size)
{
    return HDR_BYTES + (size_t)capacity * slot_size;
}

static struct mdf_ring_desc *desc_of(const void *base)
{
    return (struct mdf_ring_desc *)((uint8_t *)base + sizeof(struct mdf_seg_header));
}

static inline struct mdf_slot *slot_at(uint8_t *slots, uint64_t mask, uint32_t size, uint64_t s)
{
    return (struct mdf_slot *)(slots + (s & mask) * size);
}

void ring_format(void *base, uint32_t ring_id, uint64_t capacity, uint32_t slot_size)
{
    struct mdf_ring_desc *d = desc_of(base);

    d->capacity = capacity;
    d->slot_size = slot_size;
    d->ring_id = ring_id;
    d->slots_offset = HDR_BYTES;
    /* The segment is not visible to readers until its version is stored (release). */
    store_relaxed(&d->tail, 0);
}

bool ring_same_geometry(const void *base, uint32_t ring_id, uint64_t capacity, uint32_t slot_size)
{
    const struct mdf_ring_desc *d = desc_of(base);

    return d->ring_id == ring_id && d->capacity == capacity && d->slot_size == slot_size &&
           d->slots_offset == HDR_BYTES;
}

int ring_rx_check(const void *base, size_t size, uint32_t ring_id)
{
    const struct mdf_ring_desc *d = desc_of(base);
    uint64_t c;

    if (size < HDR_BYTES)
        return err_set(MDF_EBADSEG, "ring segment of %zu bytes has no descriptor", size);
    c = d->capacity;
    if (d->ring_id != ring_id || c < 2 || c > (UINT64_C(1) << 30) || (c & (c - 1)) ||
        d->slot_size < ring_slot_size(sizeof(struct mdf_rec_hdr)) || d->slot_size % SLOT_ALIGN ||
        d->slots_offset != HDR_BYTES || ring_segment_size(c, d->slot_size) != size)
        return err_set(MDF_EBADSEG, "ring segment: its geometry does not fit its %zu bytes", size);
    return 0;
}

uint64_t ring_repair(void *base)
{
    struct mdf_ring_desc *d = desc_of(base);
    uint8_t *slots = (uint8_t *)base + d->slots_offset;
    uint64_t mask = d->capacity - 1;
    /* The dead writer is gone: nothing races with us but readers, who only read. */
    uint64_t t = load_acquire(&d->tail);

    for (uint64_t i = 0; i <= mask; i++) {
        struct mdf_slot *sl = slot_at(slots, mask, d->slot_size, t);

        if (load_acquire(&sl->stamp) != stamp_committed(t))
            break;
        t++;
    }
    /* Pairs with the acquire load of tail in ring_tail/ring_rx_init. */
    store_release(&d->tail, t);
    return t;
}

void ring_tx_init(struct ring_tx *tx, void *base, struct mdf_doorbell *bell)
{
    struct mdf_ring_desc *d = desc_of(base);

    tx->desc = d;
    tx->slots = (uint8_t *)base + d->slots_offset;
    tx->bell = bell;
    tx->mask = d->capacity - 1;
    tx->slot_size = d->slot_size;
    tx->max_record = d->slot_size - (uint32_t)sizeof(struct mdf_slot);
    /* Only this thread writes the tail; the load orders nothing. */
    tx->tail = load_relaxed(&d->tail);
    tx->wakes = 0;
}

uint64_t ring_tx_publish(struct ring_tx *tx, const void *rec, size_t len)
{
    uint64_t s = tx->tail;
    struct mdf_slot *sl = slot_at(tx->slots, tx->mask, tx->slot_size, s);
    atomic_word *dst = (atomic_word *)sl->data;
    const uint64_t *src = rec;
    size_t words = (len + 7) / 8;

    if (len > tx->max_record || len < sizeof(struct mdf_rec_hdr))
        return UINT64_MAX;
    /* Relaxed: each payload store below is a release, which orders this in-progress stamp
     * before it; a reader that sees any new payload word then re-reads a stamp that is no
     * longer the committed one it started with. */
    store_relaxed(&sl->stamp, stamp_writing(s));
    for (size_t i = 0; i < words; i++)
        store_release(&dst[i], src[i]);
    store_release(&dst[SEQ_WORD], s); /* the record's h.seq; still before the commit */
    /* Pairs with the acquire load of the stamp in ring_rx_next: a reader that sees the
     * committed stamp sees the whole payload. */
    store_release(&sl->stamp, stamp_committed(s));
    tx->tail = s + 1;
    /* Sequentially consistent exchange (a locked instruction, no fence instruction needed):
     * with the seq_cst load of `waiting` below and the reader's seq_cst store of `waiting`
     * before its seq_cst load of the tail (doorbell_wait), either we see the waiter or it
     * sees this tail; so no wake-up is ever lost. Also pairs (acquire) with ring_tail. */
    atomic_exchange_explicit(&tx->desc->tail, s + 1, memory_order_seq_cst);
    if (tx->bell && doorbell_ring(tx->bell))
        tx->wakes++;
    return s;
}

uint64_t ring_tail(const void *base)
{
    /* Pairs with the tail exchange in ring_tx_publish and the release in ring_repair. */
    return load_acquire(&desc_of(base)->tail);
}

uint64_t ring_tail_sc(const void *base)
{
    /* seq_cst: pairs with the seq_cst tail exchange in ring_tx_publish and orders this load
     * after the reader's seq_cst store of `waiting` (doorbell_wait). */
    return atomic_load_explicit(&desc_of(base)->tail, memory_order_seq_cst);
}

void ring_rx_init(struct ring_rx *rx, const void *base, int start, uint64_t seq)
{
    const struct mdf_ring_desc *d = desc_of(base);
    uint64_t tail = ring_tail(base);
    uint64_t oldest = tail > d->capacity ? tail - d->capacity : 0;

    memset(rx, 0, sizeof(*rx));
    rx->desc = d;
    rx->slots = (const uint8_t *)base + d->slots_offset;
    rx->mask = d->capacity - 1;
    rx->slot_size = d->slot_size;
    if (start == MDF_START_OLDEST)
        rx->next = oldest;
    else if (start == MDF_START_SEQ && seq <= tail)
        rx->next = seq; /* a lapped start is detected and counted by the first next() */
    else if (start == MDF_START_SEQ)
        /* Never published here: a cursor saved from a replaced instance (or a bad one). All
         * the ring holds is unseen by it; waiting for the number could take forever (and a
         * huge one overflows the stamps). */
        rx->next = oldest;
    else
        rx->next = tail;
}

/* Moves a lapped reader to the oldest record the ring still holds, counting what it skips.
 * The slot at rx->next is known to hold a newer record, so at least that one is lost. Returns
 * false if the tail does not show the lap yet (the writer commits a slot just before it
 * publishes the tail), in which case the reader moves on by one record only. */
static bool skip_lapped(struct ring_rx *rx)
{
    /* Pairs with the tail exchange in ring_tx_publish: records before the tail are
     * committed, and the ring holds the last `capacity` of them. */
    uint64_t tail = load_acquire(&rx->desc->tail);
    uint64_t cap = rx->mask + 1;
    uint64_t oldest = tail > cap ? tail - cap : 0;

    bool confirmed = oldest > rx->next;

    if (!confirmed)
        oldest = rx->next + 1;
    rx->lost_pending += oldest - rx->next;
    rx->lost += oldest - rx->next;
    rx->next = oldest;
    return confirmed;
}

/* A writer leaves at most one committed slot ahead of its published tail, so a reader that
 * keeps finding newer stamps the tail does not confirm, a whole ring of them, reads a corrupt
 * segment (found by the reader fuzz harness: it looped forever). */
static int check_unconfirmed(struct ring_rx *rx, bool confirmed, uint64_t *unconfirmed)
{
    if (confirmed || ++*unconfirmed <= rx->mask + 1)
        return 0;
    return err_set(MDF_EBADSEG,
                   "ring: slot stamps run ahead of the tail up to sequence %llu: the segment is "
                   "corrupt",
                   (unsigned long long)rx->next);
}

int ring_rx_next(struct ring_rx *rx, void *out, size_t out_len, uint64_t *lost)
{
    size_t max_words = (rx->slot_size - sizeof(struct mdf_slot)) / 8;
    uint64_t *dst = out, unconfirmed = 0;
    int rc;

    for (;;) {
        uint64_t s = rx->next;
        const struct mdf_slot *sl = slot_at((uint8_t *)rx->slots, rx->mask, rx->slot_size, s);
        const atomic_word *src = (const atomic_word *)sl->data;
        /* Pairs with the committing release store in ring_tx_publish. */
        uint64_t st1 = load_acquire((atomic_word *)&sl->stamp);
        size_t words, size;
        uint64_t w0;

        if (st1 < stamp_committed(s))
            return 0; /* not yet written (or being written) */
        if (st1 > stamp_committed(s)) {
            if ((rc = check_unconfirmed(rx, skip_lapped(rx), &unconfirmed)) < 0)
                return rc;
            continue;
        }
        /* Acquire, as every payload load: pairs with the writer's release payload stores. */
        w0 = load_acquire((atomic_word *)&src[0]);
        size = (size_t)((w0 >> 16) & 0xffff); /* struct mdf_rec_hdr.size */
        words = (size + 7) / 8;
        if (words > max_words)
            words = max_words;
        if (words * 8 > out_len)
            words = out_len / 8;
        dst[0] = w0;
        words_load(dst + 1, src + 1, words ? words - 1 : 0);
        /* Relaxed: the acquire payload loads above keep this re-check after them. */
        if (load_relaxed((atomic_word *)&sl->stamp) != st1) {
            /* Overwritten while we copied: discard the copy. */
            if ((rc = check_unconfirmed(rx, skip_lapped(rx), &unconfirmed)) < 0)
                return rc;
            continue;
        }
        rx->next = s + 1;
        rx->delivered++;
        if (lost)
            *lost = rx->lost_pending;
        rx->lost_pending = 0;
        return 1;
    }
}

bool ring_rx_ready(const struct ring_rx *rx)
{
    const struct mdf_slot *sl = slot_at((uint8_t *)rx->slots, rx->mask, rx->slot_size, rx->next);

    /* Pairs with the committing release store in ring_tx_publish. */
    return load_acquire((atomic_word *)&sl->stamp) >= stamp_committed(rx->next);
}
