/*
 * libmdfeed: the health segment's reader (layout in include/mdfeed/health.h), for mdfeed-top,
 * scripts and anyone who wants to know what the daemon is doing.
 *
 * The segment is mapped PROT_READ and its descriptor is checked once at open: every table must
 * lie inside the mapping and have room for at least the seqlock count, so a damaged or hostile
 * segment can make a read fail but never make it touch memory outside the mapping. Entries are
 * copied with the seqlock read protocol (src/shm/seqlock.h). A writer of an older minor layout
 * may have smaller payloads: the reader copies what an entry holds and leaves the rest of the
 * caller's struct zeroed, so new fields read as "not reported".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "core/err.h"
#include "shm/segment.h"
#include "shm/seqlock.h"

struct mdf_health {
    char name[MDF_INSTANCE_MAX];        /* instance name */
    struct seg seg;                     /* the health segment, read-only */
    const struct mdf_health_desc *d;    /* its descriptor (inside seg) */
    const uint8_t *table[MDF_HT_COUNT]; /* each table's first entry (inside seg) */
    uint32_t stride[MDF_HT_COUNT];      /* bytes per entry */
    uint32_t max[MDF_HT_COUNT];         /* slots per table */
    size_t room[MDF_HT_COUNT];    /* payload bytes an entry holds (stride - count), 8-aligned */
    _Atomic(uint64_t) epoch_seen; /* epoch at open / the last mdf_health_status */
};

/* Payload bytes of each table's entries in this library's layout. */
static const size_t payload_size[MDF_HT_COUNT] = {
    [MDF_HT_DAEMON] = sizeof(struct mdf_health_daemon),
    [MDF_HT_VENUE] = sizeof(struct mdf_health_venue),
    [MDF_HT_CONN] = sizeof(struct mdf_health_conn),
    [MDF_HT_STREAM] = sizeof(struct mdf_health_stream),
    [MDF_HT_RING] = sizeof(struct mdf_health_ring),
};

/* Table names for error messages. */
static const char *const table_names[MDF_HT_COUNT] = {
    [MDF_HT_DAEMON] = "daemon", [MDF_HT_VENUE] = "venue", [MDF_HT_CONN] = "connection",
    [MDF_HT_STREAM] = "stream", [MDF_HT_RING] = "ring",
};

/* Checks the descriptor against the mapping and fills h's table geometry. Returns 0 or
 * MDF_EBADSEG with a message. */
static int check_geometry(struct mdf_health *h)
{
    const size_t size = h->seg.size;
    const size_t start = sizeof(struct mdf_seg_header) + sizeof(struct mdf_health_desc);
    const struct mdf_health_desc *d;

    if (size < start)
        return err_set(MDF_EBADSEG, "/dev/shm%s is too small for a health descriptor", h->seg.name);
    d = (const struct mdf_health_desc *)((const uint8_t *)h->seg.base +
                                         sizeof(struct mdf_seg_header));
    h->d = d;
    h->max[MDF_HT_DAEMON] = 1;
    h->max[MDF_HT_VENUE] = d->max_venues;
    h->max[MDF_HT_CONN] = d->max_conns;
    h->max[MDF_HT_STREAM] = d->max_streams;
    h->max[MDF_HT_RING] = d->max_rings;
    for (int t = 0; t < MDF_HT_COUNT; t++) {
        uint64_t off = d->table_off[t], stride = d->entry_stride[t];
        uint64_t bytes = stride * h->max[t]; /* both below 2^32: no overflow */

        if (stride < sizeof(struct mdf_health_entry) + 8 || stride % 8 || off % 8 || off < start ||
            off > size || bytes > size - off)
            return err_set(MDF_EBADSEG,
                           "/dev/shm%s: the %s table (offset %llu, %u entries of %llu bytes) "
                           "does not fit the segment (%zu bytes)",
                           h->seg.name, table_names[t], (unsigned long long)off, h->max[t],
                           (unsigned long long)stride, size);
        h->table[t] = (const uint8_t *)h->seg.base + off;
        h->stride[t] = (uint32_t)stride;
        h->room[t] = stride - sizeof(struct mdf_health_entry);
        if (h->room[t] > payload_size[t])
            h->room[t] = payload_size[t];
    }
    return 0;
}

MDF_API int mdf_health_open(mdf_health_t **out, const char *name)
{
    struct mdf_health *h;
    int rc;

    err_clear();
    if (!out)
        return err_set(-EINVAL, "mdf_health_open: out is NULL");
    *out = NULL;
    if (!name || !name[0])
        name = "default";
    if ((rc = seg_check_instance(name)) < 0)
        return rc;
    h = calloc(1, sizeof(*h));
    if (!h)
        return err_set(-ENOMEM, "mdf_health_open: out of memory");
    snprintf(h->name, sizeof(h->name), "%s", name);
    rc = seg_reader_open(&h->seg, name, MDF_HEALTH_SEGMENT, MDF_SEG_HEALTH, false);
    if (rc < 0)
        goto err_free;
    if ((rc = check_geometry(h)) < 0)
        goto err_unmap;
    /* Pairs with the release increment of epoch in seg_writer_ready. */
    store_relaxed(&h->epoch_seen, load_acquire(&((struct mdf_seg_header *)h->seg.base)->epoch));
    *out = h;
    return 0;

err_unmap:
    seg_reader_close(&h->seg);
err_free:
    free(h);
    return rc;
}

MDF_API void mdf_health_close(mdf_health_t *h)
{
    if (!h)
        return;
    seg_reader_close(&h->seg);
    free(h);
}

MDF_API int mdf_health_status(mdf_health_t *h, struct mdf_status *st)
{
    struct mdf_seg_header *hd;
    uint64_t epoch, seen;
    int64_t now;

    if (!h || !st)
        return err_set(-EINVAL, "mdf_health_status: NULL argument");
    hd = h->seg.base;
    now = clock_mono_ns();
    memset(st, 0, sizeof(*st));
    st->liveness = seg_liveness(hd, now);
    /* Pairs with the release increment of epoch in seg_writer_ready: pid and epoch start of
     * the current owner are read after its epoch. */
    epoch = load_acquire(&hd->epoch);
    st->epoch = epoch;
    st->pid = load_relaxed(&hd->writer_pid);
    st->epoch_start_ns = load_relaxed(&hd->epoch_start_ns);
    /* Relaxed: a time stamp compared with our clock only. */
    st->heartbeat_age_ns = now - load_relaxed(&hd->heartbeat_ns);
    st->hb_interval_ns = (int64_t)hd->hb_interval_ns;
    /* Relaxed: a per-handle memo, not a synchronisation point. */
    seen = atomic_exchange_explicit(&h->epoch_seen, epoch, memory_order_relaxed);
    st->restarted = seen != epoch;
    return 0;
}

MDF_API int mdf_health_desc(mdf_health_t *h, struct mdf_health_desc *out)
{
    if (!h || !out)
        return err_set(-EINVAL, "mdf_health_desc: NULL argument");
    memset(out, 0, sizeof(*out));
    /* The fixed part is written once before the version word and never changes. */
    out->max_venues = h->d->max_venues;
    out->max_conns = h->d->max_conns;
    out->max_streams = h->d->max_streams;
    out->max_rings = h->d->max_rings;
    for (int t = 0; t < MDF_HT_COUNT; t++) {
        out->entry_stride[t] = h->d->entry_stride[t];
        out->table_off[t] = h->d->table_off[t];
    }
    out->publish_ns = h->d->publish_ns;
    /* Relaxed: the caller's private copy. */
    store_relaxed(&out->n_venues, mdf_health_count(h, MDF_HT_VENUE));
    store_relaxed(&out->n_conns, mdf_health_count(h, MDF_HT_CONN));
    store_relaxed(&out->n_streams, mdf_health_count(h, MDF_HT_STREAM));
    store_relaxed(&out->n_rings, mdf_health_count(h, MDF_HT_RING));
    return 0;
}

MDF_API uint32_t mdf_health_count(mdf_health_t *h, int table)
{
    _Atomic(uint32_t) *n;
    uint32_t v;

    if (!h)
        return 0;
    switch (table) {
    case MDF_HT_DAEMON:
        return 1;
    case MDF_HT_VENUE:
        n = (_Atomic(uint32_t) *)&h->d->n_venues;
        break;
    case MDF_HT_CONN:
        n = (_Atomic(uint32_t) *)&h->d->n_conns;
        break;
    case MDF_HT_STREAM:
        n = (_Atomic(uint32_t) *)&h->d->n_streams;
        break;
    case MDF_HT_RING:
        n = (_Atomic(uint32_t) *)&h->d->n_rings;
        break;
    default:
        return 0;
    }
    /* Pairs with the release store of n_* in health_write: the slots below the count were
     * written before it was raised. */
    v = load_acquire(n);
    /* Never trust the count beyond the table the descriptor declared. */
    return v < h->max[table] ? v : h->max[table];
}

/* Copies slot i of table t into out (the caller's struct of size bytes) with the seqlock read
 * protocol. Returns 0, -ENOENT (past the slots used), MDF_ECONTENDED or -EINVAL. */
static int read_entry(mdf_health_t *h, int t, uint32_t i, void *out, size_t size)
{
    const struct mdf_health_entry *e;
    int64_t deadline = 0;
    size_t n;

    if (!h || !out)
        return err_set(-EINVAL, "mdf_health_%s: NULL argument", table_names[t]);
    if (i >= mdf_health_count(h, t))
        return err_set(-ENOENT, "health %s slot %u is not in use (%u slots used)", table_names[t],
                       i, mdf_health_count(h, t));
    e = (const struct mdf_health_entry *)(h->table[t] + (size_t)i * h->stride[t]);
    n = h->room[t] / 8;
    memset(out, 0, size);
    for (int attempt = 0;; attempt++) {
        uint64_t s = seqlock_read_begin((const atomic_word *)&e->seq);

        if (!(s & 1)) {
            words_load(out, (const atomic_word *)e->data, n);
            if (seqlock_read_validate((const atomic_word *)&e->seq, s))
                return 0;
        }
        if (!seqlock_backoff(attempt, &deadline))
            return err_set(MDF_ECONTENDED, "health %s slot %u kept changing while read",
                           table_names[t], i);
    }
}

MDF_API int mdf_health_daemon(mdf_health_t *h, struct mdf_health_daemon *out)
{
    return read_entry(h, MDF_HT_DAEMON, 0, out, sizeof(*out));
}

MDF_API int mdf_health_venue(mdf_health_t *h, uint32_t i, struct mdf_health_venue *out)
{
    return read_entry(h, MDF_HT_VENUE, i, out, sizeof(*out));
}

MDF_API int mdf_health_conn(mdf_health_t *h, uint32_t i, struct mdf_health_conn *out)
{
    return read_entry(h, MDF_HT_CONN, i, out, sizeof(*out));
}

MDF_API int mdf_health_stream(mdf_health_t *h, uint32_t i, struct mdf_health_stream *out)
{
    return read_entry(h, MDF_HT_STREAM, i, out, sizeof(*out));
}

MDF_API int mdf_health_ring(mdf_health_t *h, uint32_t i, struct mdf_health_ring *out)
{
    return read_entry(h, MDF_HT_RING, i, out, sizeof(*out));
}

/* ---- names ----------------------------------------------------------------------------- */

static const char *const daemon_state_names[] = {
    [MDF_DAEMON_STOPPED] = "STOPPED", [MDF_DAEMON_STARTING] = "STARTING",
    [MDF_DAEMON_RUNNING] = "RUNNING", [MDF_DAEMON_STOPPING] = "STOPPING",
    [MDF_DAEMON_FAILED] = "FAILED",   [MDF_DAEMON_DEGRADED] = "DEGRADED",
};

static const char *const conn_state_names[] = {
    [MDF_CONN_IDLE] = "IDLE",       [MDF_CONN_CONNECTING] = "CONNECTING",
    [MDF_CONN_OPEN] = "OPEN",       [MDF_CONN_BACKOFF] = "BACKOFF",
    [MDF_CONN_CLOSING] = "CLOSING", [MDF_CONN_CLOSED] = "CLOSED",
    [MDF_CONN_FAILED] = "FAILED",
};

static const char *const stream_state_names[] = {
    [MDF_STREAM_IDLE] = "IDLE",
    [MDF_STREAM_SUBSCRIBING] = "SUBSCRIBING",
    [MDF_STREAM_LIVE] = "LIVE",
    [MDF_STREAM_SILENT] = "SILENT",
    [MDF_STREAM_STALE] = "STALE",
    [MDF_STREAM_FAILED] = "FAILED",
    [MDF_STREAM_UNSUBSCRIBING] = "UNSUBSCRIBING",
    [MDF_STREAM_BAD_DATA] = "BAD_DATA",
};

static const char *const stream_type_names[] = {
    [MDF_STREAM_NONE] = "none",
    [MDF_STREAM_TRADE] = "trade",
    [MDF_STREAM_AGGTRADE] = "agg_trade",
    [MDF_STREAM_CANDLE] = "candle",
    [MDF_STREAM_DEPTH] = "depth",
    [MDF_STREAM_BOOK] = "book",
    [MDF_STREAM_BBO] = "bbo",
    [MDF_STREAM_TICKER] = "ticker",
    [MDF_STREAM_MINITICKER] = "mini_ticker",
    [MDF_STREAM_FUNDING] = "funding",
    [MDF_STREAM_LIQUIDATION] = "liquidation",
};

static const char *const err_kind_names[MDF_HERR_COUNT] = {
    [MDF_HERR_PARSE] = "parse",
    [MDF_HERR_RANGE] = "range",
    [MDF_HERR_CONNECT] = "connect",
    [MDF_HERR_TLS] = "tls",
    [MDF_HERR_WS] = "ws",
    [MDF_HERR_TIMEOUT] = "timeout",
    [MDF_HERR_REST] = "rest",
    [MDF_HERR_THROTTLED] = "throttled",
    [MDF_HERR_SUBSCRIBE] = "subscribe",
    [MDF_HERR_BOOK_GAP] = "book_gap",
    [MDF_HERR_CHECKSUM] = "checksum",
    [MDF_HERR_SEQ_GAP] = "seq_gap",
    [MDF_HERR_UNKNOWN] = "unknown",
    [MDF_HERR_WATCHDOG] = "watchdog",
    [MDF_HERR_SHM] = "shm",
};

/* names[v] if v is inside the table and named, else "?". */
static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n && names[v] ? names[v] : "?";
}

#define NAME_OF(table, v) name_of((table), sizeof(table) / sizeof((table)[0]), (v))

MDF_API const char *mdf_daemon_state_name(int state)
{
    return NAME_OF(daemon_state_names, state);
}

MDF_API const char *mdf_conn_state_name(int state)
{
    return NAME_OF(conn_state_names, state);
}

MDF_API const char *mdf_stream_state_name(int state)
{
    return NAME_OF(stream_state_names, state);
}

MDF_API const char *mdf_stream_type_name(int type)
{
    return NAME_OF(stream_type_names, type);
}

MDF_API const char *mdf_health_err_name(int kind)
{
    return NAME_OF(err_kind_names, kind);
}
