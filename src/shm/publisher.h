/*
 * The publisher: every segment of one instance opened for writing (rings, state, doorbell), as
 * the daemon and the test producer use them. Opening creates the segments, or adopts those of a
 * dead daemon (bumping their epoch), or refuses squatted names and a live owner. Single thread.
 */
#ifndef MDF_SHM_PUBLISHER_H
#define MDF_SHM_PUBLISHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mdfeed/layout.h>

#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/state.h"

struct pub_params {
    const char *instance;                   /* instance name */
    mode_t mode;                            /* data segments' mode (doorbell adds write bits) */
    gid_t gid;                              /* group, or (gid_t)-1 */
    uint64_t ring_capacity[MDF_RING_COUNT]; /* slots per ring, powers of two */
    struct state_params state;              /* state segment geometry */
    int64_t hb_interval_ns;                 /* heartbeat period */
};

/* Fills p with defaults for `instance`: mode 0640, own group, 64 Ki ticks, 16 Ki candles,
 * 16 Ki books, 16 Ki funding, 4 Ki events, 16 venues, 4096 symbols, depth 20, 500 candles,
 * 1024 series, 100 ms heartbeat. */
void pub_default_params(struct pub_params *p, const char *instance);

struct publisher {
    struct seg state;                  /* state segment */
    struct seg doorbell;               /* doorbell segment */
    struct seg rings[MDF_RING_COUNT];  /* ring segments */
    struct ring_tx tx[MDF_RING_COUNT]; /* ring writers */
    struct state_tx st;                /* state writer */
    bool adopted;                      /* the state segment was a dead daemon's */
    uint64_t epoch;                    /* the state segment's epoch after opening */
};

/* Bytes of /dev/shm that pub_open backs with memory at once (fallocate): every ring whole, the
 * doorbell, the state segment's fixed part. Symbols, streams and candle series add theirs as
 * they are registered. */
size_t pub_backed_size(const struct pub_params *prm);

/* Opens every segment of the instance, backing with memory what is always written (see
 * pub_backed_size). Returns 0, or MDF_ESQUAT, MDF_ELIVE, ERR_SHM_SPACE (/dev/shm has not the
 * space), -EINVAL or another negative errno with a message (mdf_errmsg); on error nothing is
 * left open. */
int pub_open(struct publisher *p, const struct pub_params *prm);

/* Closes every segment; with unlink_it, removes them (their readers see them retired). */
void pub_close(struct publisher *p, bool unlink_it);

/* Publishes rec (rec->h.size bytes) to ring `ring`; returns its sequence number, or UINT64_MAX
 * if it does not fit the ring's slots. */
static inline uint64_t pub_publish(struct publisher *p, int ring, const union mdf_record *rec)
{
    return ring_tx_publish(&p->tx[ring], rec, rec->h.size);
}

/* Stores the heartbeat in every segment. */
void pub_heartbeat(struct publisher *p, int64_t now_mono_ns);

/* Largest record ring `ring` carries for a book depth. */
uint32_t pub_ring_record_max(int ring, uint32_t book_depth);

#endif /* MDF_SHM_PUBLISHER_H */
