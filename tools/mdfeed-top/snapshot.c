/*
 * mdfeed-top's snapshots: everything the daemon reports, read through the public API at one
 * moment, with names resolved and rates computed from the counters' change since the previous
 * snapshot (the daemon publishes cumulative counters; rates are the reader's business).
 *
 * Three things are opened and each may be missing or replaced at any time: the health segment
 * (the source of every table and of liveness), the state segment (symbol and venue names, the
 * latest books) and a subscription to the events ring (the recent events). A new daemon run
 * always replaces the health segment, so the old mapping reads as retired: then everything is
 * closed and opened again, the event history restarts from the new ring's oldest record and no
 * rate is computed across the two runs. A dead daemon's segment stays mapped so its last state
 * can still be shown. All strings read from shared memory are cleaned (NUL-terminated, control
 * characters and invalid UTF-8 replaced by '?') before anything prints them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "top.h"
#include "../common/utf8.h"

#define EVENTS_PER_REFRESH 100000 /* most events drained per refresh (the ring holds fewer) */

/* ---- clocks and strings ------------------------------------------------------------------ */

/* CLOCK_MONOTONIC or CLOCK_REALTIME in ns. */
static int64_t now_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Makes the text in s[0..size) safe to print: NUL-terminated within size, control characters
 * and bytes that are not valid UTF-8 replaced by '?'. */
static void clean(char *s, size_t size)
{
    unsigned char *p = (unsigned char *)s;
    size_t n;

    if (size == 0)
        return;
    s[size - 1] = '\0';
    n = strlen(s);
    while (n > 0) {
        size_t len = utf8_len(p, n);

        if (len == 0 || *p < 0x20 || *p == 0x7f) {
            *p = '?';
            len = 1;
        }
        p += len;
        n -= len;
    }
}

#define CLEAN(field) clean((field), sizeof(field))

/* ---- names -------------------------------------------------------------------------------- */

static const char *const sort_names[SORT_COUNT] = {
    [SORT_VENUE] = "venue", [SORT_RATE] = "rate", [SORT_AGE] = "age",
    [SORT_DELAY] = "delay", [SORT_GAPS] = "gaps",
};

const char *top_sort_name(int sort)
{
    return sort >= 0 && sort < SORT_COUNT ? sort_names[sort] : "?";
}

int top_sort_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SORT_COUNT; i++)
        if (strcasecmp(name, sort_names[i]) == 0)
            return i;
    if (strcasecmp(name, "stale") == 0 || strcasecmp(name, "staleness") == 0)
        return SORT_AGE;
    return -1;
}

const char *top_role_name(int role)
{
    switch (role) {
    case MDF_ROLE_ACTIVE:
        return "active";
    case MDF_ROLE_REPLACEMENT:
        return "replacement";
    case MDF_ROLE_RETIRING:
        return "retiring";
    default:
        return "?";
    }
}

const char *top_level_name(int level)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};

    return level >= 0 && level < 8 ? names[level] : "?";
}

/* The symbol-table entry of id, cached; NULL if the state segment is not open or has no such
 * symbol. */
static const struct mdf_symbol_entry *symbol(struct top *t, uint32_t id)
{
    struct mdf_symbol_entry e;

    if (!t->inst)
        return NULL;
    if (id < t->n_syms && t->syms[id].known)
        return &t->syms[id].e;
    if (mdf_symbol_info(t->inst, id, &e) < 0)
        return NULL;
    CLEAN(e.native);
    CLEAN(e.normalized);
    /* The id exists, so it is below the symbol table size: the cache stays bounded. */
    if (id >= t->n_syms) {
        size_t n = t->n_syms ? t->n_syms : 64;
        struct top_sym *p;

        while (n <= id)
            n *= 2;
        p = realloc(t->syms, n * sizeof(*p));
        if (!p)
            return NULL;
        memset(p + t->n_syms, 0, (n - t->n_syms) * sizeof(*p));
        t->syms = p;
        t->n_syms = n;
    }
    t->syms[id].e = e;
    t->syms[id].known = true;
    return &t->syms[id].e;
}

/* Writes the name of venue id into out[MDF_NAME_MAX]: the health venue table's, else the state
 * segment's, else "#id". */
static void venue_name(struct top *t, const struct top_snap *s, uint32_t id, char *out)
{
    const char *n = NULL;

    if (id < s->n_venues && s->venues[id].in_use && s->venues[id].name[0])
        n = s->venues[id].name;
    else if (t->inst)
        n = mdf_venue_name(t->inst, id);
    if (n) {
        snprintf(out, MDF_NAME_MAX, "%s", n);
        clean(out, MDF_NAME_MAX);
    } else {
        snprintf(out, MDF_NAME_MAX, "#%u", id);
    }
}

/* ---- opening and reopening ---------------------------------------------------------------- */

int top_init(struct top *t, const struct top_opts *o)
{
    memset(t, 0, sizeof(*t));
    t->o = o;
    t->book = calloc(1, sizeof(*t->book));
    return t->book ? 0 : -ENOMEM;
}

/* Frees the arrays of snapshot s. */
static void snap_free(struct top_snap *s)
{
    free(s->venues);
    free(s->conns);
    free(s->streams);
    s->venues = NULL;
    s->conns = NULL;
    s->streams = NULL;
    s->n_venues = s->n_conns = s->n_streams = 0;
}

/* Closes the state segment and the events subscription, and forgets what came from them. */
static void close_instance(struct top *t)
{
    mdf_unsubscribe(t->events);
    t->events = NULL;
    mdf_close(t->inst);
    t->inst = NULL;
    free(t->syms);
    t->syms = NULL;
    t->n_syms = 0;
    t->hist_n = 0;
    t->events_lost = 0;
}

/* Closes the health segment. */
static void close_health(struct top *t)
{
    mdf_health_close(t->health);
    t->health = NULL;
    t->have_prev = false;
}

void top_fini(struct top *t)
{
    close_instance(t);
    close_health(t);
    snap_free(&t->snap[0]);
    snap_free(&t->snap[1]);
    free(t->book);
    t->book = NULL;
}

/* Opens the state segment and the events subscription if they are not open, and reopens them
 * if the daemon replaced them. Failures only leave them closed until the next refresh. */
static void ensure_instance(struct top *t)
{
    struct mdf_status st;

    if (t->inst && mdf_status(t->inst, &st) == 0 && st.liveness == MDF_RETIRED)
        close_instance(t);
    if (!t->inst && mdf_open(&t->inst, t->o->instance, 0) < 0)
        t->inst = NULL;
    if (t->inst && !t->events &&
        mdf_subscribe(t->inst, MDF_RING_EVENTS, MDF_START_OLDEST, 0, &t->events) < 0)
        t->events = NULL;
}

/* Opens the health segment if it is not open, or reopens it if a new daemon run replaced it.
 * On failure, s->why says why. Returns true if it is open. */
static bool ensure_health(struct top *t, struct top_snap *s)
{
    int rc;

    if (t->health && mdf_health_status(t->health, &s->st) == 0) {
        if (s->st.liveness == MDF_RETIRED) {
            close_health(t);
            close_instance(t);
        } else if (s->st.restarted) {
            /* Another daemon took the same segment over: a new run, as below. */
            close_instance(t);
            t->have_prev = false;
        }
    }
    if (t->health)
        return true;
    rc = mdf_health_open(&t->health, t->o->instance);
    if (rc < 0) {
        t->health = NULL;
        if (rc == -ENOENT)
            snprintf(s->why, sizeof(s->why),
                     "not running: no health segment /dev/shm/mdfeed.%s.health (is mdfeedd "
                     "running for this instance?)",
                     t->o->instance);
        else if (rc == MDF_ENOTREADY)
            snprintf(s->why, sizeof(s->why), "starting: the health segment is being built");
        else
            snprintf(s->why, sizeof(s->why), "cannot read health: %s", mdf_errmsg());
        return false;
    }
    /* A new run: its events, symbols and counters have nothing to do with the last one's. */
    close_instance(t);
    t->have_prev = false;
    return true;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Rate of a counter that went from a to b over dt seconds; -1 if unknown (no previous sample,
 * or the counter went backwards: another stream or connection took the slot). */
static double rate_of(uint64_t a, uint64_t b, double dt)
{
    return dt > 0 && b >= a ? (double)(b - a) / dt : -1.0;
}

/* Reads the daemon entry and liveness into s. */
static void read_daemon(struct top *t, struct top_snap *s)
{
    struct mdf_status *st = &s->st;
    struct mdf_health_daemon *d = &s->d;
    char a[32], b[32];

    mdf_health_status(t->health, st);
    s->have_daemon = mdf_health_daemon(t->health, d) == 0;
    if (s->have_daemon) {
        CLEAN(d->version);
        CLEAN(d->status);
        for (int k = 0; k < MDF_HERR_COUNT; k++)
            s->errors_total += d->errors[k];
        if (d->start_ns > 0)
            s->uptime_ns = s->real_ns > d->start_ns ? s->real_ns - d->start_ns : 0;
    }
    if (st->liveness == MDF_DEAD) {
        /* The library's rule (layout.h): a gone process at once, else a long silence. */
        if (st->hb_interval_ns > 0 && st->heartbeat_age_ns > MDF_DEAD_AFTER_NS(st->hb_interval_ns))
            snprintf(s->why, sizeof(s->why),
                     "dead: no heartbeat for %s (period %s) from pid %lld; showing its last "
                     "state",
                     top_fmt_dur(a, sizeof(a), st->heartbeat_age_ns),
                     top_fmt_dur(b, sizeof(b), st->hb_interval_ns), (long long)st->pid);
        else
            snprintf(s->why, sizeof(s->why), "dead: process %lld is gone; showing its last state",
                     (long long)st->pid);
    } else if (st->liveness == MDF_RETIRED) {
        snprintf(s->why, sizeof(s->why), "not running: the health segment was removed");
    } else if (!s->have_daemon) {
        snprintf(s->why, sizeof(s->why), "unknown: the daemon entry could not be read");
    } else if (d->pid == 0) {
        snprintf(s->why, sizeof(s->why), "starting: the daemon has not reported yet");
    } else if (d->state == MDF_DAEMON_STOPPED || d->state == MDF_DAEMON_FAILED) {
        snprintf(s->why, sizeof(s->why), "%s: %s",
                 d->state == MDF_DAEMON_STOPPED ? "stopped" : "failed",
                 d->status[0] ? d->status : "the daemon is not serving");
    } else {
        s->alive = true;
    }
}

/* Reads the venue table into s. */
static void read_venues(struct top *t, struct top_snap *s)
{
    uint32_t n = mdf_health_count(t->health, MDF_HT_VENUE);

    s->venues = n ? calloc(n, sizeof(*s->venues)) : NULL;
    if (!s->venues)
        return;
    s->n_venues = n;
    for (uint32_t i = 0; i < n; i++) {
        if (mdf_health_venue(t->health, i, &s->venues[i]) < 0)
            memset(&s->venues[i], 0, sizeof(s->venues[i]));
        CLEAN(s->venues[i].name);
    }
}

/* Reads the connection table into s, with rates against p (NULL: none). */
static void read_conns(struct top *t, struct top_snap *s, const struct top_snap *p, double dt)
{
    uint32_t n = mdf_health_count(t->health, MDF_HT_CONN);

    s->conns = n ? calloc(n, sizeof(*s->conns)) : NULL;
    if (!s->conns)
        return;
    s->n_conns = n;
    for (uint32_t i = 0; i < n; i++) {
        struct top_conn *c = &s->conns[i];
        const struct top_conn *pc = p && i < p->n_conns ? &p->conns[i] : NULL;

        if (mdf_health_conn(t->health, i, &c->h) < 0)
            memset(&c->h, 0, sizeof(c->h));
        CLEAN(c->h.endpoint);
        CLEAN(c->h.last_error_text);
        venue_name(t, s, c->h.venue, c->venue);
        c->uptime_ns = c->h.state == MDF_CONN_OPEN && c->h.connected_mono_ns > 0
                           ? s->mono_ns - c->h.connected_mono_ns
                           : -1;
        c->age_ns = c->h.last_msg_mono_ns > 0 ? s->mono_ns - c->h.last_msg_mono_ns : -1;
        if (c->uptime_ns < -1)
            c->uptime_ns = 0;
        if (c->age_ns < -1)
            c->age_ns = 0;
        c->msgs_rate = c->bytes_rate = -1.0;
        if (pc && pc->h.in_use && c->h.in_use && pc->h.id == c->h.id) {
            c->msgs_rate = rate_of(pc->h.msgs_in, c->h.msgs_in, dt);
            c->bytes_rate = rate_of(pc->h.bytes_in, c->h.bytes_in, dt);
        }
    }
}

/* Fills the top of book of book stream x from that stream's own latest book in the state
 * segment (found by venue, symbol and stream name), if it has one. */
static void read_top_of_book(struct top *t, struct top_stream *x)
{
    const struct mdf_book *b = &t->book->book;
    char key[MDF_NAME_MAX + MDF_SYMBOL_MAX + 1];
    int64_t id;

    if (!t->inst || (x->h.type != MDF_STREAM_BOOK && x->h.type != MDF_STREAM_DEPTH))
        return;
    snprintf(key, sizeof(key), "%s:%s", x->venue, x->symbol);
    id = mdf_stream_find(t->inst, key, x->h.name);
    if (id < 0 ||
        mdf_latest_book_stream(t->inst, (uint32_t)id, &t->book->book, sizeof(*t->book)) != 0)
        return;
    if (b->h.stream != (uint32_t)id || b->depth == 0 || b->depth > MDF_BOOK_DEPTH_MAX)
        return;
    x->has_top = true;
    x->n_bids = b->n_bids;
    x->n_asks = b->n_asks;
    if (b->n_bids)
        x->bid = b->levels[0];
    if (b->n_asks)
        x->ask = b->levels[b->depth];
}

/* See top.h. */
unsigned top_book_levels(const struct top_stream *x)
{
    if (!x->has_top)
        return x->h.levels;
    return x->n_bids > x->n_asks ? x->n_bids : x->n_asks;
}

/* Reads the stream table into s, with rates against p (NULL: none). */
static void read_streams(struct top *t, struct top_snap *s, const struct top_snap *p, double dt)
{
    uint32_t n = mdf_health_count(t->health, MDF_HT_STREAM);

    s->streams = n ? calloc(n, sizeof(*s->streams)) : NULL;
    if (!s->streams)
        return;
    s->n_streams = n;
    for (uint32_t i = 0; i < n; i++) {
        struct top_stream *x = &s->streams[i];
        const struct top_stream *px = p && i < p->n_streams ? &p->streams[i] : NULL;
        const struct mdf_symbol_entry *e;

        if (mdf_health_stream(t->health, i, &x->h) < 0)
            memset(&x->h, 0, sizeof(x->h));
        CLEAN(x->h.name);
        venue_name(t, s, x->h.venue, x->venue);
        e = symbol(t, x->h.symbol);
        if (e) {
            snprintf(x->symbol, sizeof(x->symbol), "%s", e->native);
            snprintf(x->normalized, sizeof(x->normalized), "%s", e->normalized);
        } else {
            snprintf(x->symbol, sizeof(x->symbol), "#%u", x->h.symbol);
        }
        x->age_ns = x->h.last_mono_ns > 0 ? s->mono_ns - x->h.last_mono_ns : -1;
        if (x->age_ns < -1)
            x->age_ns = 0;
        x->rate = -1.0;
        if (px && px->h.in_use && x->h.in_use && px->h.venue == x->h.venue &&
            px->h.symbol == x->h.symbol && px->h.type == x->h.type &&
            strcmp(px->h.name, x->h.name) == 0)
            x->rate = rate_of(px->h.msgs, x->h.msgs, dt);
        if (x->h.in_use)
            read_top_of_book(t, x);
    }
}

/* Reads the ring table into s, with rates against p (NULL: none). */
static void read_rings(struct top *t, struct top_snap *s, const struct top_snap *p, double dt)
{
    uint32_t n = mdf_health_count(t->health, MDF_HT_RING);

    if (n > MDF_RING_COUNT)
        n = MDF_RING_COUNT;
    s->n_rings = n;
    for (uint32_t i = 0; i < n; i++) {
        struct top_ring *r = &s->rings[i];
        const struct top_ring *pr = p && i < p->n_rings ? &p->rings[i] : NULL;

        if (mdf_health_ring(t->health, i, &r->h) < 0)
            memset(&r->h, 0, sizeof(r->h));
        CLEAN(r->h.name);
        r->fill = r->h.head < r->h.capacity ? r->h.head : r->h.capacity;
        r->rate = -1.0;
        if (pr && pr->h.in_use && r->h.in_use && pr->h.ring_id == r->h.ring_id)
            r->rate = rate_of(pr->h.head, r->h.head, dt);
    }
}

/* Reads the events published since the last refresh into the history, and copies the history
 * into s, oldest first. */
static void read_events(struct top *t, struct top_snap *s)
{
    uint32_t first;

    for (int k = 0; t->events && k < EVENTS_PER_REFRESH; k++) {
        struct top_event *ev;
        const struct mdf_symbol_entry *e;
        uint64_t lost = 0;

        if (mdf_next(t->events, t->book, &lost) != 1)
            break;
        t->events_lost += lost;
        if (t->book->h.type != MDF_REC_EVENT)
            continue;
        ev = &t->hist[t->hist_n % TOP_EVENTS];
        memset(ev, 0, sizeof(*ev));
        ev->e = t->book->event;
        CLEAN(ev->e.text);
        venue_name(t, s, ev->e.h.venue, ev->venue);
        if (ev->e.h.symbol != UINT32_MAX) {
            e = symbol(t, ev->e.h.symbol);
            if (e)
                snprintf(ev->symbol, sizeof(ev->symbol), "%s", e->native);
            else
                snprintf(ev->symbol, sizeof(ev->symbol), "#%u", ev->e.h.symbol);
        }
        t->hist_n++;
    }
    s->n_events = t->hist_n < TOP_EVENTS ? t->hist_n : TOP_EVENTS;
    first = t->hist_n - s->n_events;
    for (uint32_t i = 0; i < s->n_events; i++)
        s->events[i] = t->hist[(first + i) % TOP_EVENTS];
    s->events_lost = t->events_lost;
}

const struct top_snap *top_refresh(struct top *t)
{
    struct top_snap *s, *p;
    double dt = 0;

    t->cur ^= 1;
    s = &t->snap[t->cur];
    p = &t->snap[t->cur ^ 1];
    snap_free(s);
    memset(s, 0, sizeof(*s));
    s->mono_ns = now_ns(CLOCK_MONOTONIC);
    s->real_ns = now_ns(CLOCK_REALTIME);
    s->uptime_ns = -1;
    s->msgs_rate = s->records_rate = -1.0;
    if (!ensure_health(t, s)) {
        t->have_prev = false;
        return s;
    }
    s->found = true;
    ensure_instance(t);
    if (!t->have_prev || !p->found)
        p = NULL;
    else
        dt = (double)(s->mono_ns - p->mono_ns) / 1e9;
    read_daemon(t, s);
    if (p && p->have_daemon && s->have_daemon) {
        s->msgs_rate = rate_of(p->d.msgs, s->d.msgs, dt);
        s->records_rate = rate_of(p->d.records, s->d.records, dt);
    }
    read_venues(t, s);
    read_conns(t, s, p, dt);
    read_streams(t, s, p, dt);
    read_rings(t, s, p, dt);
    read_events(t, s);
    t->have_prev = true;
    return s;
}

/* ---- ordering and filtering --------------------------------------------------------------- */

/* What the stream comparator needs. */
struct order {
    const struct top_snap *s; /* the snapshot */
    int sort;                 /* enum top_sort */
};

/* Natural order: venue, symbol, type, name, slot. */
static int cmp_natural(const struct top_stream *a, const struct top_stream *b)
{
    int c = strcmp(a->venue, b->venue);

    if (!c)
        c = strcmp(a->symbol, b->symbol);
    if (!c)
        c = (int)a->h.type - (int)b->h.type;
    if (!c)
        c = strcmp(a->h.name, b->h.name);
    return c;
}

/* -1, 0 or 1 as x is larger, equal or smaller than y: descending order. */
#define DESC(x, y) ((x) > (y) ? -1 : (x) < (y) ? 1 : 0)

/* qsort_r comparator of stream slots. */
static int cmp_streams(const void *pa, const void *pb, void *arg)
{
    const struct order *o = arg;
    const struct top_stream *a = &o->s->streams[*(const uint32_t *)pa];
    const struct top_stream *b = &o->s->streams[*(const uint32_t *)pb];
    int64_t aa, ba;
    int c = 0;

    switch (o->sort) {
    case SORT_RATE:
        c = DESC(a->rate, b->rate);
        if (!c)
            c = DESC(a->h.msgs, b->h.msgs);
        break;
    case SORT_AGE:
        aa = a->age_ns < 0 ? INT64_MAX : a->age_ns;
        ba = b->age_ns < 0 ? INT64_MAX : b->age_ns;
        c = DESC(aa, ba);
        break;
    case SORT_DELAY:
        c = DESC(a->h.delay_ewma_ns, b->h.delay_ewma_ns);
        if (!c)
            c = DESC(a->h.delay_max_ns, b->h.delay_max_ns);
        break;
    case SORT_GAPS:
        c = DESC(a->h.gaps, b->h.gaps);
        if (!c)
            c = DESC(a->h.resyncs, b->h.resyncs);
        break;
    default:
        break;
    }
    if (!c)
        c = cmp_natural(a, b);
    if (!c)
        c = *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
    return c;
}

/* True if stream x matches filter f (see top_streams_view). */
static bool matches(const struct top_stream *x, const char *f)
{
    char key[MDF_NAME_MAX + MDF_SYMBOL_MAX + 2];

    if (!f || !f[0])
        return true;
    snprintf(key, sizeof(key), "%s:%s", x->venue, x->symbol);
    if (strcasestr(key, f) || strcasestr(x->h.name, f))
        return true;
    if (x->normalized[0]) {
        snprintf(key, sizeof(key), "%s:%s", x->venue, x->normalized);
        if (strcasestr(key, f))
            return true;
    }
    return false;
}

uint32_t top_streams_view(const struct top_snap *s, int sort, bool reverse, const char *filter,
                          bool books_only, uint32_t *idx)
{
    struct order o = {.s = s, .sort = sort};
    uint32_t n = 0;

    for (uint32_t i = 0; i < s->n_streams; i++) {
        const struct top_stream *x = &s->streams[i];

        if (!x->h.in_use || !matches(x, filter))
            continue;
        if (books_only && x->h.type != MDF_STREAM_BOOK && x->h.type != MDF_STREAM_DEPTH)
            continue;
        idx[n++] = i;
    }
    qsort_r(idx, n, sizeof(*idx), cmp_streams, &o);
    if (reverse)
        for (uint32_t i = 0; i < n / 2; i++) {
            uint32_t tmp = idx[i];

            idx[i] = idx[n - 1 - i];
            idx[n - 1 - i] = tmp;
        }
    return n;
}
