/*
 * Health segment writer: geometry, formatting, slot management and seqlocked entry writes.
 */
#include "health/health.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomics.h"
#include "core/err.h"
#include "shm/seqlock.h"

/* Payload bytes of each table's entries. */
static const size_t payload_size[MDF_HT_COUNT] = {
    [MDF_HT_DAEMON] = sizeof(struct mdf_health_daemon),
    [MDF_HT_VENUE] = sizeof(struct mdf_health_venue),
    [MDF_HT_CONN] = sizeof(struct mdf_health_conn),
    [MDF_HT_STREAM] = sizeof(struct mdf_health_stream),
    [MDF_HT_RING] = sizeof(struct mdf_health_ring),
};

/* Entry stride: the count plus the payload, whole cache lines so that entries never share one. */
static uint32_t stride_of(int t)
{
    size_t n = sizeof(struct mdf_health_entry) + payload_size[t];

    return (uint32_t)((n + MDF_CACHELINE - 1) / MDF_CACHELINE * MDF_CACHELINE);
}

static void geometry(const struct health_params *p, uint32_t max[MDF_HT_COUNT],
                     uint64_t off[MDF_HT_COUNT], size_t *size)
{
    size_t at = sizeof(struct mdf_seg_header) + sizeof(struct mdf_health_desc);
    int t;

    max[MDF_HT_DAEMON] = 1;
    max[MDF_HT_VENUE] = p->max_venues;
    max[MDF_HT_CONN] = p->max_conns;
    max[MDF_HT_STREAM] = p->max_streams;
    max[MDF_HT_RING] = MDF_RING_COUNT;
    for (t = 0; t < MDF_HT_COUNT; t++) {
        off[t] = at;
        at += (size_t)max[t] * stride_of(t);
    }
    *size = at;
}

size_t health_segment_size(const struct health_params *p)
{
    uint32_t max[MDF_HT_COUNT];
    uint64_t off[MDF_HT_COUNT];
    size_t size;

    geometry(p, max, off, &size);
    return size;
}

int health_open(struct health *h, const struct health_params *p)
{
    uint64_t off[MDF_HT_COUNT];
    struct seg_params sp;
    size_t size;
    int rc, t;

    memset(h, 0, sizeof(*h));
    h->seg.fd = -1;
    if (!p->max_venues || !p->max_conns || !p->max_streams || p->max_streams > (1u << 24) ||
        p->max_conns > (1u << 20) || p->max_venues > 65536)
        return err_set(-EINVAL, "health tables: venues %u, connections %u, streams %u",
                       p->max_venues, p->max_conns, p->max_streams);
    geometry(p, h->max, off, &size);

    memset(&sp, 0, sizeof(sp));
    sp.instance = p->instance;
    sp.name = MDF_HEALTH_SEGMENT;
    sp.kind = MDF_SEG_HEALTH;
    sp.size = size;
    sp.reserve = size; /* its tables fill as venues, connections and streams come */
    sp.mode = p->mode;
    sp.gid = p->gid;
    sp.hb_interval_ns = p->hb_interval_ns;
    rc = seg_writer_open(&h->seg, &sp);
    /* Health describes one daemon's run: a dead daemon's counters are not carried over. */
    if (rc == SEG_ADOPTED)
        rc = seg_writer_recreate(&h->seg, &sp);
    if (rc < 0)
        return rc; /* the segment's message names the instance */

    h->desc = (struct mdf_health_desc *)((uint8_t *)h->seg.base + sizeof(struct mdf_seg_header));
    h->desc->max_venues = h->max[MDF_HT_VENUE];
    h->desc->max_conns = h->max[MDF_HT_CONN];
    h->desc->max_streams = h->max[MDF_HT_STREAM];
    h->desc->max_rings = h->max[MDF_HT_RING];
    h->desc->publish_ns = p->publish_ns;
    for (t = 0; t < MDF_HT_COUNT; t++) {
        h->stride[t] = stride_of(t);
        h->desc->entry_stride[t] = h->stride[t];
        h->desc->table_off[t] = off[t];
        h->table[t] = (uint8_t *)h->seg.base + off[t];
    }
    for (t = MDF_HT_CONN; t <= MDF_HT_STREAM; t++) {
        h->free[t] = calloc(h->max[t], sizeof(uint32_t));
        if (!h->free[t]) {
            health_close(h, true);
            return err_set(-ENOMEM, "health slot lists");
        }
    }
    seg_writer_ready(&h->seg);
    return 0;
}

void health_close(struct health *h, bool unlink_it)
{
    int t;

    for (t = 0; t < MDF_HT_COUNT; t++) {
        free(h->free[t]);
        h->free[t] = NULL;
    }
    if (h->seg.base)
        seg_writer_close(&h->seg, unlink_it);
    h->desc = NULL;
}

static _Atomic(uint32_t) *count_of(struct health *h, int t)
{
    switch (t) {
    case MDF_HT_VENUE:
        return (_Atomic(uint32_t) *)&h->desc->n_venues;
    case MDF_HT_CONN:
        return (_Atomic(uint32_t) *)&h->desc->n_conns;
    case MDF_HT_STREAM:
        return (_Atomic(uint32_t) *)&h->desc->n_streams;
    case MDF_HT_RING:
        return (_Atomic(uint32_t) *)&h->desc->n_rings;
    default:
        return NULL;
    }
}

int health_slot_alloc(struct health *h, int t)
{
    if (h->n_free[t])
        return (int)h->free[t][--h->n_free[t]];
    if (h->used[t] >= h->max[t])
        return -ENOSPC;
    return (int)h->used[t]; /* becomes used on its first write */
}

void health_slot_free(struct health *h, int t, uint32_t i)
{
    uint64_t zero[64] = {0};
    size_t n = payload_size[t];

    if (i >= h->used[t])
        return;
    /* The payloads are at most a few hundred bytes: one zero buffer covers them. */
    health_write(h, t, i, zero, n <= sizeof(zero) ? n : sizeof(zero));
    if (h->free[t])
        h->free[t][h->n_free[t]++] = i;
}

void health_write(struct health *h, int t, uint32_t i, const void *payload, size_t size)
{
    struct mdf_health_entry *e;
    _Atomic(uint32_t) *n;

    if (t < 0 || t >= MDF_HT_COUNT || i >= h->max[t] || size > payload_size[t] || size % 8)
        return;
    e = (struct mdf_health_entry *)(h->table[t] + (size_t)i * h->stride[t]);
    seqlock_write_begin((atomic_word *)&e->seq);
    words_store((atomic_word *)e->data, payload, size / 8);
    seqlock_write_end((atomic_word *)&e->seq);
    if (i >= h->used[t]) {
        h->used[t] = i + 1;
        n = count_of(h, t);
        /* Pairs with the acquire load of n_* in readers: the entry is written before the count
         * that makes it visible. */
        if (n)
            store_release(n, h->used[t]);
    }
}

void health_beat(struct health *h, int64_t now_mono_ns)
{
    seg_heartbeat(&h->seg, now_mono_ns);
}

int64_t health_last_beat(const struct health *h)
{
    const struct mdf_seg_header *hd = h->seg.base;

    /* Relaxed: a lone timestamp that orders nothing else (seg_heartbeat stores it relaxed). */
    return load_relaxed((_Atomic(int64_t) *)&hd->heartbeat_ns);
}

int health_read(const struct health *h, int t, uint32_t i, void *out, size_t size)
{
    const struct mdf_health_entry *e;
    int64_t deadline = 0;
    int attempt;

    if (t < 0 || t >= MDF_HT_COUNT || i >= h->max[t] || size > payload_size[t] || size % 8)
        return -ENOENT;
    e = (const struct mdf_health_entry *)(h->table[t] + (size_t)i * h->stride[t]);
    for (attempt = 0;; attempt++) {
        uint64_t s = seqlock_read_begin((const atomic_word *)&e->seq);

        if (!(s & 1)) {
            words_load(out, (const atomic_word *)e->data, size / 8);
            if (seqlock_read_validate((const atomic_word *)&e->seq, s))
                return 0;
        }
        if (!seqlock_backoff(attempt, &deadline))
            return MDF_ECONTENDED;
    }
}
