/*
 * Opening an instance for writing. The state segment is opened first, because its flock decides
 * whether another live daemon owns the instance, and is made ready last, because readers open it
 * first: a reader that can open the state segment finds every ring ready too.
 */
#include <errno.h>
#include <string.h>

#include "core/atomics.h"
#include "core/err.h"
#include "shm/doorbell.h"
#include "shm/publisher.h"

void pub_default_params(struct pub_params *p, const char *instance)
{
    memset(p, 0, sizeof(*p));
    p->instance = instance;
    p->mode = 0640;
    p->gid = (gid_t)-1;
    p->ring_capacity[MDF_RING_TICKS] = 65536;
    p->ring_capacity[MDF_RING_CANDLES] = 16384;
    p->ring_capacity[MDF_RING_BOOKS] = 16384;
    p->ring_capacity[MDF_RING_FUNDING] = 16384;
    p->ring_capacity[MDF_RING_EVENTS] = 4096;
    p->state = (struct state_params){.max_venues = 16,
                                     .max_symbols = 4096,
                                     .book_depth = 20,
                                     .candle_k = 500,
                                     .max_series = 1024,
                                     .max_streams = 4096};
    p->hb_interval_ns = 100 * 1000 * 1000;
}

uint32_t pub_ring_record_max(int ring, uint32_t book_depth)
{
    size_t m = 0;

    for (int t = 1; t < MDF_REC_TYPE_COUNT; t++) {
        size_t n = mdf_rec_type_size(t, book_depth);

        if (mdf_rec_type_ring(t) == ring && n > m)
            m = n;
    }
    return (uint32_t)m;
}

size_t pub_backed_size(const struct pub_params *prm)
{
    size_t n = doorbell_segment_size() + state_fixed_size(&prm->state);

    for (int r = 0; r < MDF_RING_COUNT; r++)
        n += ring_segment_size(prm->ring_capacity[r],
                               ring_slot_size(pub_ring_record_max(r, prm->state.book_depth)));
    return n;
}

static int check_params(const struct pub_params *prm)
{
    int rc;

    if ((rc = seg_check_instance(prm->instance)) < 0)
        return rc;
    if (prm->mode & ~0666u)
        return err_set(-EINVAL, "segment mode %04o: only read/write bits are allowed",
                       (unsigned)prm->mode);
    if (!(prm->mode & 0400))
        return err_set(-EINVAL, "segment mode %04o must let the owner read", (unsigned)prm->mode);
    for (int r = 0; r < MDF_RING_COUNT; r++) {
        uint64_t c = prm->ring_capacity[r];

        if (c < 2 || c > (UINT64_C(1) << 30) || (c & (c - 1)))
            return err_set(-EINVAL, "ring %s capacity %llu: must be a power of two, 2..2^30",
                           mdf_ring_name(r), (unsigned long long)c);
    }
    if (prm->hb_interval_ns < 1000000)
        return err_set(-EINVAL, "heartbeat interval must be at least 1 ms");
    return state_check_params(&prm->state);
}

/* Opens one segment; on SEG_ADOPTED with the wrong geometry (checked by same()), replaces it. */
static int open_one(struct seg *s, const struct seg_params *sp,
                    bool (*same)(const void *base, const void *arg), const void *arg)
{
    int rc = seg_writer_open(s, sp);

    if (rc == SEG_ADOPTED && same && !same(s->base, arg))
        rc = seg_writer_recreate(s, sp);
    /* Every segment message names the segment (/mdfeed.<instance>.<name>) or the instance:
     * the caller adds what it was opening, not the instance again. */
    return rc;
}

struct ring_geom {
    uint32_t id;        /* ring id */
    uint64_t capacity;  /* slots */
    uint32_t slot_size; /* bytes per slot */
};

static bool same_ring(const void *base, const void *arg)
{
    const struct ring_geom *g = arg;

    return ring_same_geometry(base, g->id, g->capacity, g->slot_size);
}

static bool same_state(const void *base, const void *arg)
{
    return state_same_geometry(base, arg);
}

/* Closes a segment pub_open could not finish. One it created (never made ready: version 0, so
 * no reader uses it) is removed, giving back the memory it reserved; one it adopted stays for
 * its readers and the next daemon. */
static void abandon(struct seg *s)
{
    if (!s->base)
        return;
    /* Relaxed: only this thread stores the version of a segment it holds. */
    seg_writer_close(s, load_relaxed(&((struct mdf_seg_header *)s->base)->version) == 0);
}

int pub_open(struct publisher *p, const struct pub_params *prm)
{
    struct seg_params sp = {.instance = prm->instance,
                            .mode = prm->mode,
                            .gid = prm->gid,
                            .hb_interval_ns = prm->hb_interval_ns};
    int rc, r = 0;

    memset(p, 0, sizeof(*p));
    if ((rc = check_params(prm)) < 0)
        return rc;

    sp.name = "state";
    sp.kind = MDF_SEG_STATE;
    sp.size = state_segment_size(&prm->state);
    sp.reserve = 0; /* mostly sparse: state_reserve and state_tx_* back what is used */
    if ((rc = open_one(&p->state, &sp, same_state, &prm->state)) < 0)
        return rc;
    p->adopted = rc == SEG_ADOPTED;
    if ((rc = state_reserve(&p->state, &prm->state, p->adopted)) < 0)
        goto err_state;
    if (p->adopted)
        state_repair(p->state.base);
    else
        state_format(p->state.base, &prm->state);
    if ((rc = state_tx_init(&p->st, p->state.base, &p->state)) < 0)
        goto err_state;

    sp.name = "doorbell";
    sp.kind = MDF_SEG_DOORBELL;
    sp.size = doorbell_segment_size();
    sp.reserve = sp.size;
    /* Readers may write here (to ask for a wake-up), so it gets write wherever read is. */
    sp.mode = prm->mode | ((prm->mode & 0444) >> 1);
    if ((rc = open_one(&p->doorbell, &sp, NULL, NULL)) < 0)
        goto err_state_tx;
    sp.mode = prm->mode;

    for (r = 0; r < MDF_RING_COUNT; r++) {
        struct ring_geom g = {
            .id = (uint32_t)r,
            .capacity = prm->ring_capacity[r],
            .slot_size = ring_slot_size(pub_ring_record_max(r, prm->state.book_depth)),
        };

        sp.name = mdf_ring_name(r);
        sp.kind = MDF_SEG_RING;
        sp.size = ring_segment_size(g.capacity, g.slot_size);
        sp.reserve = sp.size; /* written round and round: all of it, now */
        if ((rc = open_one(&p->rings[r], &sp, same_ring, &g)) < 0)
            goto err_rings;
        if (rc == SEG_ADOPTED)
            ring_repair(p->rings[r].base);
        else
            ring_format(p->rings[r].base, g.id, g.capacity, g.slot_size);
        ring_tx_init(&p->tx[r], p->rings[r].base, doorbell_at(p->doorbell.base, r));
    }

    seg_writer_ready(&p->doorbell);
    for (r = 0; r < MDF_RING_COUNT; r++)
        seg_writer_ready(&p->rings[r]);
    seg_writer_ready(&p->state);
    p->epoch = ((struct mdf_seg_header *)p->state.base)->epoch;
    return 0;

err_rings:
    while (r-- > 0)
        abandon(&p->rings[r]);
    abandon(&p->doorbell);
err_state_tx:
    state_tx_fini(&p->st);
err_state:
    abandon(&p->state);
    return rc;
}

void pub_close(struct publisher *p, bool unlink_it)
{
    for (int r = 0; r < MDF_RING_COUNT; r++)
        seg_writer_close(&p->rings[r], unlink_it);
    seg_writer_close(&p->doorbell, unlink_it);
    state_tx_fini(&p->st);
    seg_writer_close(&p->state, unlink_it);
}

void pub_heartbeat(struct publisher *p, int64_t now_mono_ns)
{
    seg_heartbeat(&p->state, now_mono_ns);
    seg_heartbeat(&p->doorbell, now_mono_ns);
    for (int r = 0; r < MDF_RING_COUNT; r++)
        seg_heartbeat(&p->rings[r], now_mono_ns);
}
