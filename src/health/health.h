/*
 * The health segment's writer (layout in include/mdfeed/health.h): the daemon's loop thread keeps
 * its own copy of each entry and publishes it here with a seqlock write, on every state change
 * and on a periodic refresh. Slots of the connection and stream tables are reused after a free;
 * the venue and ring tables are indexed by venue id and ring id. Single writer thread.
 */
#ifndef MDF_HEALTH_HEALTH_H
#define MDF_HEALTH_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mdfeed/health.h>

#include "shm/segment.h"

struct health_params {
    const char *instance;   /* instance name */
    mode_t mode;            /* segment mode, e.g. 0640 */
    gid_t gid;              /* group, or (gid_t)-1 */
    uint32_t max_venues;    /* venue table slots */
    uint32_t max_conns;     /* connection table slots */
    uint32_t max_streams;   /* stream table slots */
    int64_t publish_ns;     /* longest time between refreshes (published in the descriptor) */
    int64_t hb_interval_ns; /* heartbeat period */
};

struct health {
    struct seg seg;                /* the segment */
    struct mdf_health_desc *desc;  /* its descriptor */
    uint8_t *table[MDF_HT_COUNT];  /* each table's first entry */
    uint32_t stride[MDF_HT_COUNT]; /* bytes per entry */
    uint32_t max[MDF_HT_COUNT];    /* slots per table */
    uint32_t used[MDF_HT_COUNT];   /* slots ever used (what n_* says) */
    uint32_t *free[MDF_HT_COUNT];  /* freed slots to reuse (connection and stream tables) */
    uint32_t n_free[MDF_HT_COUNT]; /* how many */
};

/* Size of a segment with these tables. */
size_t health_segment_size(const struct health_params *p);

/* Creates the instance's health segment (a dead daemon's is replaced: health starts from zero),
 * formats it and makes it visible. Returns 0, or MDF_ESQUAT, MDF_ELIVE, -EINVAL, -ENOMEM or
 * another negative errno with a message. */
int health_open(struct health *h, const struct health_params *p);

/* Unmaps the segment; with unlink_it, removes the name. */
void health_close(struct health *h, bool unlink_it);

/* Takes a free slot of table t (MDF_HT_CONN or MDF_HT_STREAM). Returns its index or -ENOSPC. */
int health_slot_alloc(struct health *h, int t);

/* Marks slot i of table t free (its payload zeroed, in_use 0) for later reuse. */
void health_slot_free(struct health *h, int t, uint32_t i);

/* Publishes payload (size bytes, a multiple of 8, at most the entry's room) as slot i of table t
 * with a seqlock write, and raises the table's slot count to cover i. Venue and ring slots are
 * their ids; the daemon entry is slot 0 of MDF_HT_DAEMON. */
void health_write(struct health *h, int t, uint32_t i, const void *payload, size_t size);

/* Stores the event loop's heartbeat (CLOCK_MONOTONIC ns) in the header. */
void health_beat(struct health *h, int64_t now_mono_ns);

/* The heartbeat last stored (for the watchdog thread). */
int64_t health_last_beat(const struct health *h);

/* Reads slot i of table t into out (size bytes) with the seqlock read protocol, for threads
 * other than the writer (the watchdog). Returns 0, -ENOENT or MDF_ECONTENDED. */
int health_read(const struct health *h, int t, uint32_t i, void *out, size_t size);

#endif /* MDF_HEALTH_HEALTH_H */
