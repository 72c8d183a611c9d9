/*
 * libmdfeed: the public reader API over the shm modules. Data segments are mapped PROT_READ;
 * the only shared memory a reader writes is the doorbell (to ask for a wake-up), and a reader
 * that may not write it falls back to polling. Errors set the thread's message (mdf_errmsg).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "core/err.h"
#include "shm/doorbell.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/state.h"

struct mdf_instance {
    char name[MDF_INSTANCE_MAX];       /* instance name */
    struct seg state;                  /* state segment, read-only */
    struct seg doorbell;               /* doorbell segment, read-write; base NULL if denied */
    _Atomic(uint64_t) epoch_seen;      /* epoch at open / the last mdf_status */
    _Atomic(uint64_t) seqlock_retries; /* latest-table retries, all threads */
    _Atomic(uint64_t) contended;       /* latest-table reads that gave up */
};

struct mdf_sub {
    mdf_instance_t *inst; /* borrowed: the instance it was made from */
    struct seg ring;      /* the ring segment, read-only */
    struct ring_rx rx;    /* this subscription's cursor */
    int ring_id;          /* enum mdf_ring_id */
    int64_t live_check;   /* CLOCK_MONOTONIC of mdf_wait's last full liveness check */
};

static const struct mdf_seg_header *hdr(const struct seg *s)
{
    return s->base;
}

MDF_API int mdf_open(mdf_instance_t **out, const char *name, int wait_ms)
{
    int64_t deadline = clock_mono_ns() + (int64_t)wait_ms * 1000000;
    mdf_instance_t *inst;
    int rc;

    err_clear();
    if (!out)
        return err_set(-EINVAL, "mdf_open: out is NULL");
    *out = NULL;
    if (!name || !name[0])
        name = "default";
    if ((rc = seg_check_instance(name)) < 0)
        return rc;
    inst = calloc(1, sizeof(*inst));
    if (!inst)
        return err_set(-ENOMEM, "mdf_open: out of memory");
    snprintf(inst->name, sizeof(inst->name), "%s", name);
    for (;;) {
        rc = seg_reader_open(&inst->state, name, "state", MDF_SEG_STATE, false);
        if (rc == 0 || (rc != -ENOENT && rc != MDF_ENOTREADY))
            break;
        if (wait_ms == 0 || (wait_ms > 0 && clock_mono_ns() >= deadline)) {
            if (wait_ms > 0)
                rc = err_set(-ETIMEDOUT, "instance \"%s\" did not appear within %d ms", name,
                             wait_ms);
            break;
        }
        clock_sleep_ns(10 * 1000 * 1000);
    }
    if (rc == 0 && ((rc = state_rx_check(inst->state.base, inst->state.size)) < 0 ||
                    (rc = state_rx_backed(&inst->state)) < 0))
        seg_reader_close(&inst->state);
    if (rc < 0) {
        free(inst);
        return rc;
    }
    /* Doorbell: optional; without it mdf_wait polls. */
    if (seg_reader_open(&inst->doorbell, name, "doorbell", MDF_SEG_DOORBELL, true) < 0)
        inst->doorbell.base = NULL;
    err_clear();
    /* Pairs with the release increment of epoch in seg_writer_ready. */
    store_relaxed(&inst->epoch_seen,
                  load_acquire(&((struct mdf_seg_header *)inst->state.base)->epoch));
    *out = inst;
    return 0;
}

MDF_API void mdf_close(mdf_instance_t *inst)
{
    if (!inst)
        return;
    seg_reader_close(&inst->state);
    if (inst->doorbell.base)
        seg_reader_close(&inst->doorbell);
    free(inst);
}

MDF_API int mdf_status(mdf_instance_t *inst, struct mdf_status *st)
{
    struct mdf_seg_header *h;
    uint64_t epoch, seen;

    if (!inst || !st)
        return err_set(-EINVAL, "mdf_status: NULL argument");
    h = inst->state.base;
    memset(st, 0, sizeof(*st));
    st->liveness = seg_liveness(h, clock_mono_ns());
    /* Pairs with the release increment of epoch in seg_writer_ready. */
    epoch = load_acquire(&h->epoch);
    st->epoch = epoch;
    st->pid = load_relaxed(&h->writer_pid);
    st->epoch_start_ns = load_relaxed(&h->epoch_start_ns);
    /* Relaxed: a time stamp compared with our clock only. */
    st->heartbeat_age_ns = clock_mono_ns() - load_relaxed(&h->heartbeat_ns);
    st->hb_interval_ns = (int64_t)h->hb_interval_ns;
    /* Relaxed: a per-handle memo, not a synchronisation point. */
    seen = atomic_exchange_explicit(&inst->epoch_seen, epoch, memory_order_relaxed);
    st->restarted = seen != epoch;
    return 0;
}

MDF_API int mdf_stats(mdf_instance_t *inst, struct mdf_stats *st)
{
    if (!inst || !st)
        return err_set(-EINVAL, "mdf_stats: NULL argument");
    /* Relaxed: statistics only. */
    st->seqlock_retries = load_relaxed(&inst->seqlock_retries);
    st->contended = load_relaxed(&inst->contended);
    return 0;
}

MDF_API uint32_t mdf_venue_count(mdf_instance_t *inst)
{
    /* Pairs with the release store in state_tx_venue. */
    return inst ? load_acquire((atomic_uint *)&state_desc(inst->state.base)->n_venues) : 0;
}

MDF_API uint32_t mdf_symbol_count(mdf_instance_t *inst)
{
    /* Pairs with the release store in state_tx_symbol. */
    return inst ? load_acquire((atomic_uint *)&state_desc(inst->state.base)->n_symbols) : 0;
}

MDF_API const char *mdf_venue_name(mdf_instance_t *inst, uint32_t venue)
{
    return inst ? state_rx_venue_name(inst->state.base, venue) : NULL;
}

MDF_API int64_t mdf_symbol_lookup(mdf_instance_t *inst, const char *key)
{
    if (!inst || !key)
        return err_set(-EINVAL, "mdf_symbol_lookup: NULL argument");
    return state_rx_lookup(inst->state.base, key);
}

MDF_API int mdf_symbol_info(mdf_instance_t *inst, uint32_t id, struct mdf_symbol_entry *out)
{
    if (!inst || !out)
        return err_set(-EINVAL, "mdf_symbol_info: NULL argument");
    return state_rx_symbol(inst->state.base, id, out);
}

MDF_API uint32_t mdf_stream_count(mdf_instance_t *inst)
{
    /* Pairs with the release store in state_tx_stream. */
    return inst ? load_acquire((atomic_uint *)&state_desc(inst->state.base)->n_streams) : 0;
}

MDF_API int64_t mdf_stream_find(mdf_instance_t *inst, const char *symbol_key, const char *kind)
{
    if (!inst || !symbol_key || !kind)
        return err_set(-EINVAL, "mdf_stream_find: NULL argument");
    return state_rx_stream_find(inst->state.base, symbol_key, kind);
}

MDF_API int mdf_stream_info(mdf_instance_t *inst, uint32_t id, struct mdf_stream_entry *out)
{
    if (!inst || !out)
        return err_set(-EINVAL, "mdf_stream_info: NULL argument");
    return state_rx_stream(inst->state.base, id, out);
}

MDF_API int mdf_subscribe(mdf_instance_t *inst, int ring, int start, uint64_t seq, mdf_sub_t **out)
{
    mdf_sub_t *sub;
    int rc;

    if (!inst || !out || !mdf_ring_name(ring) || start < MDF_START_NOW || start > MDF_START_SEQ)
        return err_set(-EINVAL, "mdf_subscribe: bad argument");
    *out = NULL;
    sub = calloc(1, sizeof(*sub));
    if (!sub)
        return err_set(-ENOMEM, "mdf_subscribe: out of memory");
    rc = seg_reader_open(&sub->ring, inst->name, mdf_ring_name(ring), MDF_SEG_RING, false);
    if (rc == 0 && (rc = ring_rx_check(sub->ring.base, sub->ring.size, (uint32_t)ring)) < 0)
        seg_reader_close(&sub->ring);
    if (rc < 0) {
        free(sub);
        return rc;
    }
    sub->inst = inst;
    sub->ring_id = ring;
    ring_rx_init(&sub->rx, sub->ring.base, start, seq);
    *out = sub;
    return 0;
}

MDF_API void mdf_unsubscribe(mdf_sub_t *sub)
{
    if (!sub)
        return;
    seg_reader_close(&sub->ring);
    free(sub);
}

MDF_API int mdf_next(mdf_sub_t *sub, mdf_record_t *rec, uint64_t *lost)
{
    if (!sub || !rec)
        return err_set(-EINVAL, "mdf_next: NULL argument");
    return ring_rx_next(&sub->rx, rec, sizeof(*rec), lost);
}

MDF_API int mdf_read(mdf_sub_t *sub, void *buf, size_t stride, size_t max, uint64_t *lost)
{
    uint8_t *out = buf;
    uint64_t total = 0;
    size_t n = 0;

    if (lost)
        *lost = 0;
    if (!sub || (!buf && max) || stride < sizeof(struct mdf_rec_hdr) || stride % 8)
        return err_set(-EINVAL, "mdf_read: bad argument (stride %zu)", stride);
    if (max > INT_MAX)
        max = INT_MAX;
    while (n < max) {
        uint64_t l = 0;
        int rc = ring_rx_next(&sub->rx, out + n * stride, stride, &l);

        if (rc < 0 && n == 0)
            return rc;
        if (rc <= 0)
            break; /* nothing more yet, or an error the next call reports */
        total += l;
        n++;
    }
    if (lost)
        *lost = total;
    return (int)n;
}

MDF_API size_t mdf_sub_record_max(mdf_sub_t *sub)
{
    return sub ? sub->rx.slot_size - sizeof(struct mdf_slot) : 0;
}

MDF_API int mdf_wait(mdf_sub_t *sub, int timeout_ms)
{
    int64_t now = clock_mono_ns();
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
    const struct mdf_seg_header *h;
    int64_t poll_ns = 2000;
    struct mdf_doorbell *bell;

    if (!sub)
        return err_set(-EINVAL, "mdf_wait: NULL argument");
    h = hdr(&sub->ring);
    bell = sub->inst->doorbell.base ? doorbell_at(sub->inst->doorbell.base, sub->ring_id) : NULL;
    for (int round = 0;; round++) {
        /* Slices no longer than a heartbeat period, so a dead daemon is noticed. */
        int64_t slice = (int64_t)h->hb_interval_ns;
        int live;

        if (ring_rx_ready(&sub->rx))
            return 1;
        now = clock_mono_ns();
        /* Full liveness costs a /proc read: only once a slice has passed with no news, and
         * at most once per heartbeat period across calls; the retired flag is a single load,
         * so it is checked at once. Both come before the deadline, so a caller that waits in
         * short calls (a binding's slices, mdfeed-cat's 5 ms) hears of a death too. */
        bool due = round && now - sub->live_check >= slice;

        if (due)
            sub->live_check = now;
        live = seg_retired(h) ? MDF_RETIRED : due ? seg_liveness(h, now) : MDF_ALIVE;
        if (live == MDF_RETIRED)
            return err_set(MDF_ERETIRED, "ring %s was replaced; reopen the instance",
                           mdf_ring_name(sub->ring_id));
        if (live == MDF_DEAD)
            return err_set(MDF_EDEAD, "the daemon of instance \"%s\" is dead", sub->inst->name);
        if (now >= deadline)
            return 0;
        if (slice <= 0 || slice > deadline - now)
            slice = deadline - now;
        if (bell) {
            if (doorbell_wait(bell, sub->ring.base, sub->rx.next, slice))
                return 1;
        } else {
            /* No doorbell access: poll with a growing sleep, capped at 1 ms. */
            clock_sleep_ns(poll_ns < slice ? poll_ns : slice);
            poll_ns = poll_ns < 1000000 ? poll_ns * 2 : 1000000;
        }
    }
}

MDF_API uint64_t mdf_sub_position(mdf_sub_t *sub)
{
    return sub ? sub->rx.next : 0;
}

MDF_API uint64_t mdf_sub_tail(mdf_sub_t *sub)
{
    return sub ? ring_tail(sub->ring.base) : 0;
}

MDF_API void mdf_sub_counts(mdf_sub_t *sub, uint64_t *delivered, uint64_t *lost)
{
    if (delivered)
        *delivered = sub ? sub->rx.delivered : 0;
    if (lost)
        *lost = sub ? sub->rx.lost : 0;
}

/* Reads a latest entry, of symbol id's default stream or (by_stream) of stream id, and
 * accounts for retries. */
static int latest(mdf_instance_t *inst, bool by_stream, uint32_t id, int type, void *out,
                  size_t len)
{
    uint64_t retries = 0;
    int rc;

    if (!inst || !out)
        return err_set(-EINVAL, "NULL argument");
    if (by_stream)
        rc = state_rx_latest_stream(inst->state.base, id, type, out, len, &retries);
    else
        rc = state_rx_latest(inst->state.base, id, type, out, len, &retries);
    /* Relaxed: statistics only. */
    if (retries)
        atomic_fetch_add_explicit(&inst->seqlock_retries, retries, memory_order_relaxed);
    if (rc == MDF_ECONTENDED)
        atomic_fetch_add_explicit(&inst->contended, 1, memory_order_relaxed);
    return rc;
}

MDF_API int mdf_latest_book(mdf_instance_t *inst, uint32_t sym, struct mdf_book *out, size_t len)
{
    return latest(inst, false, sym, MDF_REC_BOOK, out, len);
}

MDF_API int mdf_latest_bbo(mdf_instance_t *inst, uint32_t sym, struct mdf_bbo *out)
{
    return latest(inst, false, sym, MDF_REC_BBO, out, sizeof(*out));
}

MDF_API int mdf_latest_trade(mdf_instance_t *inst, uint32_t sym, struct mdf_trade *out)
{
    return latest(inst, false, sym, MDF_REC_TRADE, out, sizeof(*out));
}

MDF_API int mdf_latest_ticker(mdf_instance_t *inst, uint32_t sym, struct mdf_ticker *out)
{
    return latest(inst, false, sym, MDF_REC_TICKER, out, sizeof(*out));
}

MDF_API int mdf_latest_funding(mdf_instance_t *inst, uint32_t sym, struct mdf_funding *out)
{
    return latest(inst, false, sym, MDF_REC_FUNDING, out, sizeof(*out));
}

MDF_API int mdf_latest_book_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_book *out,
                                   size_t len)
{
    return latest(inst, true, stream, MDF_REC_BOOK, out, len);
}

MDF_API int mdf_latest_bbo_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_bbo *out)
{
    return latest(inst, true, stream, MDF_REC_BBO, out, sizeof(*out));
}

MDF_API int mdf_latest_trade_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_trade *out)
{
    return latest(inst, true, stream, MDF_REC_TRADE, out, sizeof(*out));
}

MDF_API int mdf_latest_ticker_stream(mdf_instance_t *inst, uint32_t stream, struct mdf_ticker *out)
{
    return latest(inst, true, stream, MDF_REC_TICKER, out, sizeof(*out));
}

MDF_API int mdf_latest_funding_stream(mdf_instance_t *inst, uint32_t stream,
                                      struct mdf_funding *out)
{
    return latest(inst, true, stream, MDF_REC_FUNDING, out, sizeof(*out));
}

MDF_API uint32_t mdf_book_depth(mdf_instance_t *inst)
{
    return inst ? state_desc(inst->state.base)->book_depth : 0;
}

MDF_API uint32_t mdf_candle_capacity(mdf_instance_t *inst)
{
    return inst ? state_desc(inst->state.base)->candle_k : 0;
}

/* Reads candles and accounts for retries. */
static int candles(mdf_instance_t *inst, uint32_t sym, int interval, bool last, size_t k,
                   int64_t from, int64_t to, struct mdf_candle *out)
{
    uint64_t retries = 0;
    int rc;

    if (!inst || (!out && k))
        return err_set(-EINVAL, "NULL argument");
    rc = state_rx_candles(inst->state.base, sym, interval, last, k, from, to, out, &retries);
    /* Relaxed: statistics only. */
    if (retries)
        atomic_fetch_add_explicit(&inst->seqlock_retries, retries, memory_order_relaxed);
    if (rc == MDF_ECONTENDED)
        atomic_fetch_add_explicit(&inst->contended, 1, memory_order_relaxed);
    return rc;
}

MDF_API int mdf_candles_last(mdf_instance_t *inst, uint32_t sym, int interval,
                             struct mdf_candle *out, size_t k)
{
    return candles(inst, sym, interval, true, k, 0, 0, out);
}

MDF_API int mdf_candles_range(mdf_instance_t *inst, uint32_t sym, int interval, int64_t from_ns,
                              int64_t to_ns, struct mdf_candle *out, size_t max)
{
    return candles(inst, sym, interval, false, max, from_ns, to_ns, out);
}
