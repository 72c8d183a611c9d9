/*
 * mdfeed-top's non-interactive outputs and the value formatting the screen shares with them.
 *
 * Plain text (-b) prints every section as a table with a header line; counters are printed
 * exactly (never abbreviated) and every cell is one whitespace-free token except the last
 * column of a table (free text), so scripts can split lines on blanks. JSON (--json) builds
 * the whole snapshot with jansson and prints it as one object on one line: counters and times as
 * integers (ns), names of enums as strings, decimals as exact strings, a rate the tool could not
 * measure yet (the first snapshot) as null.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "top.h"

/* ---- formatting ---------------------------------------------------------------------------- */

const char *top_fmt_dur(char *buf, size_t cap, int64_t ns)
{
    int64_t s = ns / 1000000000;

    if (ns < 0)
        snprintf(buf, cap, "-");
    else if (ns < 1000)
        snprintf(buf, cap, "%" PRId64 "ns", ns);
    else if (ns < 1000000)
        snprintf(buf, cap, "%.1fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, cap, "%.1fms", (double)ns / 1e6);
    else if (s < 60)
        snprintf(buf, cap, "%.1fs", (double)ns / 1e9);
    else if (s < 3600)
        snprintf(buf, cap, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
    else
        snprintf(buf, cap, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
    return buf;
}

const char *top_fmt_rate(char *buf, size_t cap, double r)
{
    if (r < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f", r);
    return buf;
}

const char *top_fmt_count(char *buf, size_t cap, uint64_t v, int width)
{
    static const char suffix[] = "kMGTPE";
    double d = (double)v;
    int i = -1;

    snprintf(buf, cap, "%" PRIu64, v);
    if (width <= 0 || (int)strlen(buf) <= width)
        return buf;
    while (d >= 1000 && i < 5) {
        d /= 1000;
        i++;
    }
    snprintf(buf, cap, d < 10 ? "%.1f%c" : "%.0f%c", d, suffix[i]);
    return buf;
}

const char *top_fmt_time(char *buf, size_t cap, int64_t real_ns, bool with_date)
{
    time_t secs = (time_t)(real_ns / 1000000000);
    struct tm tm;
    char t[32];

    if (real_ns <= 0 || !localtime_r(&secs, &tm)) {
        snprintf(buf, cap, "-");
        return buf;
    }
    strftime(t, sizeof(t), with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03d", t, (int)(real_ns / 1000000 % 1000));
    return buf;
}

const char *top_daemon_line(char *buf, size_t cap, const struct top_snap *s)
{
    const struct mdf_health_daemon *d = &s->d;
    char up[32];
    size_t i;

    if (!s->alive) {
        /* "dead: no heartbeat ..." -> "DEAD: no heartbeat ...": the verdict stands out. */
        snprintf(buf, cap, "%s", s->why);
        for (i = 0; buf[i] && buf[i] != ':'; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] = (char)(buf[i] - 'a' + 'A');
        return buf;
    }
    snprintf(buf, cap, "%s pid %" PRId64 " up %s config %" PRIu64 " version %s",
             mdf_daemon_state_name((int)d->state), d->pid,
             top_fmt_dur(up, sizeof(up), s->uptime_ns), d->config_generation,
             d->version[0] ? d->version : "?");
    return buf;
}

/* Writes "parse 3, timeout 2" (the nonzero error kinds) into buf; "" if none. */
static const char *error_kinds(char *buf, size_t cap, const struct mdf_health_daemon *d)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int k = 0; k < MDF_HERR_COUNT && n < cap; k++)
        if (d->errors[k])
            n += (size_t)snprintf(buf + n, cap - n, "%s%s %" PRIu64, n ? ", " : "",
                                  mdf_health_err_name(k), d->errors[k]);
    return buf;
}

/* Writes a stream's type ("book", "candle/1m") into buf. */
static const char *type_text(char *buf, size_t cap, const struct mdf_health_stream *h)
{
    if (h->type == MDF_STREAM_CANDLE && h->interval)
        snprintf(buf, cap, "%s/%s", mdf_stream_type_name(h->type),
                 mdf_interval_name((int)h->interval));
    else
        snprintf(buf, cap, "%s", mdf_stream_type_name(h->type));
    return buf;
}

/* True for the stream types that carry a book state. */
static bool is_book(const struct mdf_health_stream *h)
{
    return h->type == MDF_STREAM_BOOK || h->type == MDF_STREAM_DEPTH;
}

/* ---- plain text ---------------------------------------------------------------------------- */

/* Prints the daemon section. */
static void text_daemon(FILE *f, const struct top_snap *s)
{
    const struct mdf_health_daemon *d = &s->d;
    char line[512], r1[32], r2[32];

    fprintf(f, "DAEMON %s\n", top_daemon_line(line, sizeof(line), s));
    if (!s->found || !s->have_daemon)
        return;
    if (!s->alive)
        fprintf(f, "  last state %s pid %" PRId64 " config %" PRIu64 " version %s\n",
                mdf_daemon_state_name((int)d->state), d->pid, d->config_generation,
                d->version[0] ? d->version : "?");
    fprintf(f,
            "  messages %" PRIu64 " (%s/s) bytes %" PRIu64 " records %" PRIu64
            " (%s/s) dups %" PRIu64 " events %" PRIu64 "\n",
            d->msgs, top_fmt_rate(r1, sizeof(r1), s->msgs_rate), d->bytes, d->records,
            top_fmt_rate(r2, sizeof(r2), s->records_rate), d->dups, d->events);
    fprintf(f,
            "  venues %u connections %u (%u open) streams %u (%u live, %u bad) books %u (%u "
            "live)\n",
            d->n_venues, d->n_conns, d->n_conns_open, d->n_streams, d->n_streams_live,
            d->n_streams_bad, d->n_books, d->n_books_live);
    fprintf(f, "  errors %" PRIu64 "%s%s\n", s->errors_total, s->errors_total ? ": " : "",
            error_kinds(line, sizeof(line), d));
    fprintf(f, "  epoch %" PRIu64 " heartbeat %s ago (period %s)\n", s->st.epoch,
            top_fmt_dur(r1, sizeof(r1), s->st.heartbeat_age_ns),
            top_fmt_dur(r2, sizeof(r2), s->st.hb_interval_ns));
    if (d->status[0])
        fprintf(f, "  status: %s\n", d->status);
}

/* Prints the venue table. */
static void text_venues(FILE *f, const struct top_snap *s)
{
    char paused[40], weight[32], dns[32];

    fprintf(f, "\nVENUES\n%-16s %5s %7s %11s %6s %8s %9s %8s %6s %9s %s\n", "VENUE", "CONNS",
            "STREAMS", "WEIGHT", "QUEUED", "REQUESTS", "THROTTLED", "ATTEMPTS", "WAITS",
            "DNS-STUCK", "PAUSED");
    for (uint32_t i = 0; i < s->n_venues; i++) {
        const struct mdf_health_venue *v = &s->venues[i];

        if (!v->in_use)
            continue;
        snprintf(weight, sizeof(weight), "%u/%u", v->rest_weight_used, v->rest_weight_limit);
        if (v->rest_paused_until_ns > s->real_ns)
            top_fmt_dur(paused, sizeof(paused), v->rest_paused_until_ns - s->real_ns);
        else
            snprintf(paused, sizeof(paused), "-");
        snprintf(dns, sizeof(dns), "%u/%" PRIu64, v->dns_stuck, v->dns_stuck_total);
        fprintf(f,
                "%-16s %5u %7u %11s %6u %8" PRIu64 " %9" PRIu64 " %8" PRIu64 " %6" PRIu64
                " %9s %s\n",
                v->name[0] ? v->name : "?", v->n_conns, v->n_streams, weight, v->rest_queued,
                v->rest_requests, v->rest_throttled, v->conn_attempts, v->conn_admit_waits, dns,
                paused);
    }
}

/* Prints the connection table. */
static void text_conns(FILE *f, const struct top_snap *s)
{
    fprintf(f,
            "\nCONNECTIONS\n%-4s %-16s %-10s %-11s %8s %6s %10s %8s %12s %8s %-11s %8s %7s %s "
            "%s\n",
            "ID", "VENUE", "STATE", "ROLE", "UPTIME", "RECONN", "MSGS_IN", "MSGS/S", "BYTES_IN",
            "MSGS_OUT", "PINGS", "LAST_MSG", "STREAMS", "ENDPOINT", "LAST_ERROR");
    for (uint32_t i = 0; i < s->n_conns; i++) {
        const struct top_conn *c = &s->conns[i];
        char up[32], rate[32], age[32], pings[64], ago[32];

        if (!c->h.in_use)
            continue;
        snprintf(pings, sizeof(pings), "%" PRIu64 "/%" PRIu64 "/%" PRIu64, c->h.pings_in,
                 c->h.pings_out, c->h.pongs_in);
        fprintf(f,
                "%-4u %-16s %-10s %-11s %8s %6" PRIu64 " %10" PRIu64 " %8s %12" PRIu64 " %8" PRIu64
                " %-11s %8s %7u %s",
                c->h.id, c->venue, mdf_conn_state_name(c->h.state), top_role_name(c->h.role),
                top_fmt_dur(up, sizeof(up), c->uptime_ns), c->h.reconnects, c->h.msgs_in,
                top_fmt_rate(rate, sizeof(rate), c->msgs_rate), c->h.bytes_in, c->h.msgs_out, pings,
                top_fmt_dur(age, sizeof(age), c->age_ns), c->h.n_streams,
                c->h.endpoint[0] ? c->h.endpoint : "-");
        if (c->h.last_error || c->h.last_error_text[0])
            fprintf(f, " %s (%d, %s ago)\n",
                    c->h.last_error_text[0] ? c->h.last_error_text : "error", c->h.last_error,
                    c->h.last_error_ns > 0 && s->real_ns >= c->h.last_error_ns
                        ? top_fmt_dur(ago, sizeof(ago), s->real_ns - c->h.last_error_ns)
                        : "?");
        else
            fprintf(f, " -\n");
    }
}

/* Prints the stream table (filtered and sorted as the options say). */
static void text_streams(FILE *f, const struct top *t, const struct top_snap *s, uint32_t *idx)
{
    const struct top_opts *o = t->o;
    uint32_t n = top_streams_view(s, o->sort, o->reverse, o->filter, false, idx), total = 0;

    for (uint32_t i = 0; i < s->n_streams; i++)
        total += s->streams[i].h.in_use != 0;
    fprintf(f, "\nSTREAMS %u of %u, sort %s%s", n, total, top_sort_name(o->sort),
            o->reverse ? " reversed" : "");
    if (o->filter[0])
        fprintf(f, ", filter \"%s\"", o->filter);
    fprintf(f, "\n%-16s %-14s %-12s %-30s %-13s %10s %8s %8s %8s %9s %6s %7s %6s %-9s %5s %s\n",
            "VENUE", "SYMBOL", "TYPE", "NAME", "STATE", "MSGS", "MSGS/S", "LAST", "DELAY",
            "DELAY_MAX", "GAPS", "RESYNCS", "DUPS", "BOOK", "GEN", "CONN");
    for (uint32_t k = 0; k < n; k++) {
        const struct top_stream *x = &s->streams[idx[k]];
        char type[32], rate[32], age[32], dl[32], dm[32], gen[32];

        if (is_book(&x->h))
            snprintf(gen, sizeof(gen), "%" PRIu64, x->h.book_generation);
        else
            snprintf(gen, sizeof(gen), "-");
        fprintf(f,
                "%-16s %-14s %-12s %-30s %-13s %10" PRIu64 " %8s %8s %8s %9s %6" PRIu64 " %7" PRIu64
                " %6" PRIu64 " %-9s %5s %u\n",
                x->venue, x->symbol, type_text(type, sizeof(type), &x->h),
                x->h.name[0] ? x->h.name : "-", mdf_stream_state_name(x->h.state), x->h.msgs,
                top_fmt_rate(rate, sizeof(rate), x->rate), top_fmt_dur(age, sizeof(age), x->age_ns),
                top_fmt_dur(dl, sizeof(dl), x->h.delay_ewma_ns),
                top_fmt_dur(dm, sizeof(dm), x->h.delay_max_ns), x->h.gaps, x->h.resyncs, x->h.dups,
                is_book(&x->h) ? mdf_book_state_name(x->h.book_state) : "-", gen, x->h.connection);
    }
}

/* Writes decimal d into buf exactly ("?" if it cannot be written). */
static const char *dec_text(char *buf, size_t cap, struct mdf_dec d)
{
    if (mdf_dec_format(d, buf, cap) < 0)
        snprintf(buf, cap, "?");
    return buf;
}

/* Prints the book table (filtered and sorted as the streams). */
static void text_books(FILE *f, const struct top *t, const struct top_snap *s, uint32_t *idx)
{
    const struct top_opts *o = t->o;
    uint32_t n = top_streams_view(s, o->sort, o->reverse, o->filter, true, idx);

    fprintf(f, "\nBOOKS\n%-16s %-14s %-6s %-13s %-9s %5s %6s %14s %14s %14s %14s\n", "VENUE",
            "SYMBOL", "TYPE", "STREAM", "BOOK", "GEN", "LEVELS", "BID", "BID_QTY", "ASK",
            "ASK_QTY");
    for (uint32_t k = 0; k < n; k++) {
        const struct top_stream *x = &s->streams[idx[k]];
        char bp[MDF_DEC_STR_MAX] = "-", bq[MDF_DEC_STR_MAX] = "-";
        char ap[MDF_DEC_STR_MAX] = "-", aq[MDF_DEC_STR_MAX] = "-";

        if (x->has_top && x->n_bids) {
            dec_text(bp, sizeof(bp), x->bid.px);
            dec_text(bq, sizeof(bq), x->bid.qty);
        }
        if (x->has_top && x->n_asks) {
            dec_text(ap, sizeof(ap), x->ask.px);
            dec_text(aq, sizeof(aq), x->ask.qty);
        }
        fprintf(f, "%-16s %-14s %-6s %-13s %-9s %5" PRIu64 " %6u %14s %14s %14s %14s\n", x->venue,
                x->symbol, mdf_stream_type_name(x->h.type), mdf_stream_state_name(x->h.state),
                mdf_book_state_name(x->h.book_state), x->h.book_generation, top_book_levels(x), bp,
                bq, ap, aq);
    }
}

/* Prints the ring table. */
static void text_rings(FILE *f, const struct top_snap *s)
{
    fprintf(f, "\nRINGS\n%-8s %10s %12s %10s %5s %5s %10s\n", "RING", "CAPACITY", "HEAD", "FILL",
            "FILL%", "SLOT", "REC/S");
    for (uint32_t i = 0; i < s->n_rings; i++) {
        const struct top_ring *r = &s->rings[i];
        char rate[32];

        if (!r->h.in_use)
            continue;
        fprintf(f, "%-8s %10" PRIu64 " %12" PRIu64 " %10" PRIu64 " %4.0f%% %5u %10s\n",
                r->h.name[0] ? r->h.name : "?", r->h.capacity, r->h.head, r->fill,
                r->h.capacity ? 100.0 * (double)r->fill / (double)r->h.capacity : 0.0,
                r->h.slot_size,
                top_fmt_rate(rate, sizeof(rate), r->rate >= 0 ? r->rate : (double)r->h.rate));
    }
}

/* Prints the recent events. */
static void text_events(FILE *f, const struct top_snap *s)
{
    fprintf(f, "\nEVENTS last %u", s->n_events);
    if (s->events_lost)
        fprintf(f, ", %" PRIu64 " overwritten before read", s->events_lost);
    fprintf(f, "\n%-23s %-7s %-24s %4s %-28s %s\n", "TIME", "LEVEL", "CODE", "CONN", "WHERE",
            "TEXT");
    for (uint32_t i = 0; i < s->n_events; i++) {
        const struct top_event *e = &s->events[i];
        char tm[48], where[MDF_NAME_MAX + MDF_SYMBOL_MAX + 2];
        int64_t when = e->e.h.recv_time_ns ? e->e.h.recv_time_ns : e->e.h.exch_time_ns;

        if (e->symbol[0])
            snprintf(where, sizeof(where), "%s:%s", e->venue, e->symbol);
        else
            snprintf(where, sizeof(where), "-");
        fprintf(f, "%-23s %-7s %-24s %4u %-28s %s\n", top_fmt_time(tm, sizeof(tm), when, true),
                top_level_name(e->e.level), mdf_event_code_name(e->e.code), e->e.connection, where,
                e->e.text);
    }
}

int top_print_text(FILE *f, const struct top *t, const struct top_snap *s)
{
    uint32_t *idx = calloc(s->n_streams ? s->n_streams : 1, sizeof(*idx));
    char tm[48];

    if (!idx)
        return -ENOMEM;
    fprintf(f, PROG ": instance \"%s\" at %s\n", t->o->instance,
            top_fmt_time(tm, sizeof(tm), s->real_ns, true));
    text_daemon(f, s);
    if (s->found) {
        text_venues(f, s);
        text_conns(f, s);
        text_streams(f, t, s, idx);
        text_books(f, t, s, idx);
        text_rings(f, s);
        text_events(f, s);
    }
    free(idx);
    fputc('\n', f);
    return ferror(f) ? -EIO : 0;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* A JSON string (cleaned text is always valid UTF-8; null if jansson refuses it anyway). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);

    return j ? j : json_null();
}

/* A JSON integer from a counter. */
static json_t *jint(int64_t v)
{
    return json_integer((json_int_t)v);
}

/* A measured rate, or null if unknown. */
static json_t *jrate(double r)
{
    return r < 0 ? json_null() : json_real(r);
}

/* A duration in ns, or null if unknown (< 0). */
static json_t *jdur(int64_t ns)
{
    return ns < 0 ? json_null() : jint(ns);
}

/* An exact decimal as a string, or null. */
static json_t *jdec(struct mdf_dec d)
{
    char buf[MDF_DEC_STR_MAX];

    return mdf_dec_format(d, buf, sizeof(buf)) < 0 ? json_null() : json_string(buf);
}

/* Sets o[k] = v (v stolen). */
static void put(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v ? v : json_null());
}

/* The daemon object. */
static json_t *json_daemon(const struct top_snap *s)
{
    static const char *const liveness[] = {"alive", "dead", "retired"};
    const struct mdf_health_daemon *d = &s->d;
    json_t *o = json_object(), *errs;

    put(o, "alive", json_boolean(s->alive));
    put(o, "found", json_boolean(s->found));
    put(o, "reason", s->alive ? json_null() : jstr(s->why));
    if (!s->found)
        return o;
    put(o, "liveness",
        jstr(s->st.liveness >= 0 && s->st.liveness <= 2 ? liveness[s->st.liveness] : "?"));
    put(o, "pid", jint(s->have_daemon ? d->pid : s->st.pid));
    put(o, "epoch", jint((int64_t)s->st.epoch));
    put(o, "heartbeat_age_ns", jint(s->st.heartbeat_age_ns));
    put(o, "hb_interval_ns", jint(s->st.hb_interval_ns));
    if (!s->have_daemon)
        return o;
    put(o, "state", jstr(mdf_daemon_state_name((int)d->state)));
    put(o, "start_ns", jint(d->start_ns));
    put(o, "uptime_ns", jdur(s->uptime_ns));
    put(o, "config_generation", jint((int64_t)d->config_generation));
    put(o, "version", jstr(d->version));
    put(o, "status", jstr(d->status));
    put(o, "loop_beat_mono_ns", jint(d->loop_beat_mono_ns));
    put(o, "msgs", jint((int64_t)d->msgs));
    put(o, "bytes", jint((int64_t)d->bytes));
    put(o, "records", jint((int64_t)d->records));
    put(o, "dups", jint((int64_t)d->dups));
    put(o, "events", jint((int64_t)d->events));
    put(o, "msgs_per_s", jrate(s->msgs_rate));
    put(o, "records_per_s", jrate(s->records_rate));
    errs = json_object();
    for (int k = 0; k < MDF_HERR_COUNT; k++)
        if (strcmp(mdf_health_err_name(k), "?") != 0)
            put(errs, mdf_health_err_name(k), jint((int64_t)d->errors[k]));
    put(o, "errors", errs);
    put(o, "errors_total", jint((int64_t)s->errors_total));
    put(o, "n_venues", jint(d->n_venues));
    put(o, "n_conns", jint(d->n_conns));
    put(o, "n_conns_open", jint(d->n_conns_open));
    put(o, "n_streams", jint(d->n_streams));
    put(o, "n_streams_live", jint(d->n_streams_live));
    put(o, "n_streams_bad", jint(d->n_streams_bad));
    put(o, "n_streams_failed", jint(d->n_streams_failed));
    put(o, "n_streams_stale", jint(d->n_streams_stale));
    put(o, "n_streams_silent", jint(d->n_streams_silent));
    put(o, "n_books", jint(d->n_books));
    put(o, "n_books_live", jint(d->n_books_live));
    return o;
}

/* The venues array. */
static json_t *json_venues(const struct top_snap *s)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < s->n_venues; i++) {
        const struct mdf_health_venue *v = &s->venues[i];
        json_t *o;

        if (!v->in_use)
            continue;
        o = json_object();
        put(o, "id", jint(v->venue));
        put(o, "name", jstr(v->name));
        put(o, "conns", jint(v->n_conns));
        put(o, "streams", jint(v->n_streams));
        put(o, "rest_weight_used", jint(v->rest_weight_used));
        put(o, "rest_weight_limit", jint(v->rest_weight_limit));
        put(o, "rest_queued", jint(v->rest_queued));
        put(o, "rest_requests", jint((int64_t)v->rest_requests));
        put(o, "rest_throttled", jint((int64_t)v->rest_throttled));
        put(o, "rest_paused_until_ns", jint(v->rest_paused_until_ns));
        put(o, "conn_attempts", jint((int64_t)v->conn_attempts));
        put(o, "conn_admit_waits", jint((int64_t)v->conn_admit_waits));
        put(o, "dns_stuck", jint(v->dns_stuck));
        put(o, "dns_stuck_total", jint((int64_t)v->dns_stuck_total));
        json_array_append_new(a, o);
    }
    return a;
}

/* The connections array. */
static json_t *json_conns(const struct top_snap *s)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < s->n_conns; i++) {
        const struct top_conn *c = &s->conns[i];
        json_t *o;

        if (!c->h.in_use)
            continue;
        o = json_object();
        put(o, "slot", jint(i));
        put(o, "id", jint(c->h.id));
        put(o, "venue", jstr(c->venue));
        put(o, "venue_id", jint(c->h.venue));
        put(o, "endpoint", jstr(c->h.endpoint));
        put(o, "state", jstr(mdf_conn_state_name(c->h.state)));
        put(o, "role", jstr(top_role_name(c->h.role)));
        put(o, "streams", jint(c->h.n_streams));
        put(o, "connected_ns", jint(c->h.connected_ns));
        put(o, "uptime_ns", jdur(c->uptime_ns));
        put(o, "last_msg_ns", jint(c->h.last_msg_ns));
        put(o, "last_msg_age_ns", jdur(c->age_ns));
        put(o, "reconnects", jint((int64_t)c->h.reconnects));
        put(o, "msgs_in", jint((int64_t)c->h.msgs_in));
        put(o, "msgs_out", jint((int64_t)c->h.msgs_out));
        put(o, "bytes_in", jint((int64_t)c->h.bytes_in));
        put(o, "bytes_out", jint((int64_t)c->h.bytes_out));
        put(o, "pings_in", jint((int64_t)c->h.pings_in));
        put(o, "pings_out", jint((int64_t)c->h.pings_out));
        put(o, "pongs_in", jint((int64_t)c->h.pongs_in));
        put(o, "msgs_per_s", jrate(c->msgs_rate));
        put(o, "bytes_per_s", jrate(c->bytes_rate));
        put(o, "last_error", jint(c->h.last_error));
        put(o, "last_error_ns", jint(c->h.last_error_ns));
        put(o, "last_error_text", jstr(c->h.last_error_text));
        put(o, "watchdog_ms", jint(c->h.watchdog_ms));
        json_array_append_new(a, o);
    }
    return a;
}

/* The streams array, filtered and sorted as the options say. */
static json_t *json_streams(const struct top *t, const struct top_snap *s, uint32_t *idx)
{
    const struct top_opts *op = t->o;
    uint32_t n = top_streams_view(s, op->sort, op->reverse, op->filter, false, idx);
    json_t *a = json_array();

    for (uint32_t k = 0; k < n; k++) {
        const struct top_stream *x = &s->streams[idx[k]];
        json_t *o = json_object(), *top;

        put(o, "slot", jint(idx[k]));
        put(o, "venue", jstr(x->venue));
        put(o, "venue_id", jint(x->h.venue));
        put(o, "symbol", jstr(x->symbol));
        put(o, "symbol_id", jint(x->h.symbol));
        put(o, "normalized", x->normalized[0] ? jstr(x->normalized) : json_null());
        put(o, "type", jstr(mdf_stream_type_name(x->h.type)));
        put(o, "interval",
            x->h.type == MDF_STREAM_CANDLE && x->h.interval
                ? jstr(mdf_interval_name((int)x->h.interval))
                : json_null());
        put(o, "levels", jint(x->h.levels));
        put(o, "name", jstr(x->h.name));
        put(o, "state", jstr(mdf_stream_state_name(x->h.state)));
        put(o, "connection", jint(x->h.connection));
        put(o, "msgs", jint((int64_t)x->h.msgs));
        put(o, "msgs_per_s", jrate(x->rate));
        put(o, "dups", jint((int64_t)x->h.dups));
        put(o, "gaps", jint((int64_t)x->h.gaps));
        put(o, "resyncs", jint((int64_t)x->h.resyncs));
        put(o, "last_exch_ns", jint(x->h.last_exch_ns));
        put(o, "last_recv_ns", jint(x->h.last_recv_ns));
        put(o, "last_age_ns", jdur(x->age_ns));
        put(o, "delay_ewma_ns", jint(x->h.delay_ewma_ns));
        put(o, "delay_max_ns", jint(x->h.delay_max_ns));
        put(o, "stale_after_ms", jint(x->h.stale_after_ms));
        put(o, "cadence_ms", jint(x->h.cadence_ms));
        put(o, "book_state",
            is_book(&x->h) ? jstr(mdf_book_state_name(x->h.book_state)) : json_null());
        put(o, "book_generation",
            is_book(&x->h) ? jint((int64_t)x->h.book_generation) : json_null());
        if (x->has_top) {
            top = json_object();
            put(top, "bid_px", x->n_bids ? jdec(x->bid.px) : json_null());
            put(top, "bid_qty", x->n_bids ? jdec(x->bid.qty) : json_null());
            put(top, "ask_px", x->n_asks ? jdec(x->ask.px) : json_null());
            put(top, "ask_qty", x->n_asks ? jdec(x->ask.qty) : json_null());
            put(top, "n_bids", jint(x->n_bids));
            put(top, "n_asks", jint(x->n_asks));
            put(o, "top", top);
        } else {
            put(o, "top", json_null());
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* The rings array. */
static json_t *json_rings(const struct top_snap *s)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < s->n_rings; i++) {
        const struct top_ring *r = &s->rings[i];
        json_t *o;

        if (!r->h.in_use)
            continue;
        o = json_object();
        put(o, "name", jstr(r->h.name));
        put(o, "id", jint(r->h.ring_id));
        put(o, "capacity", jint((int64_t)r->h.capacity));
        put(o, "head", jint((int64_t)r->h.head));
        put(o, "fill", jint((int64_t)r->fill));
        put(o, "slot_size", jint(r->h.slot_size));
        put(o, "rate", jint((int64_t)r->h.rate));
        put(o, "records_per_s", jrate(r->rate));
        json_array_append_new(a, o);
    }
    return a;
}

/* The events array, oldest first. */
static json_t *json_events(const struct top_snap *s)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < s->n_events; i++) {
        const struct top_event *e = &s->events[i];
        json_t *o = json_object();

        put(o, "seq", jint((int64_t)e->e.h.seq));
        put(o, "time_ns", jint(e->e.h.recv_time_ns ? e->e.h.recv_time_ns : e->e.h.exch_time_ns));
        put(o, "level", jint(e->e.level));
        put(o, "level_name", jstr(top_level_name(e->e.level)));
        put(o, "code", jstr(mdf_event_code_name(e->e.code)));
        put(o, "connection", jint(e->e.connection));
        put(o, "venue", e->venue[0] ? jstr(e->venue) : json_null());
        put(o, "symbol", e->symbol[0] ? jstr(e->symbol) : json_null());
        put(o, "text", jstr(e->e.text));
        json_array_append_new(a, o);
    }
    return a;
}

int top_print_json(FILE *f, const struct top *t, const struct top_snap *s)
{
    uint32_t *idx = calloc(s->n_streams ? s->n_streams : 1, sizeof(*idx));
    json_t *root = json_object();
    int rc = 0;

    if (!idx || !root) {
        free(idx);
        json_decref(root);
        return -ENOMEM;
    }
    put(root, "instance", jstr(t->o->instance));
    put(root, "time_ns", jint(s->real_ns));
    put(root, "sort", jstr(top_sort_name(t->o->sort)));
    put(root, "reverse", json_boolean(t->o->reverse));
    put(root, "filter", jstr(t->o->filter));
    put(root, "daemon", json_daemon(s));
    put(root, "venues", json_venues(s));
    put(root, "connections", json_conns(s));
    put(root, "streams", json_streams(t, s, idx));
    put(root, "rings", json_rings(s));
    put(root, "events", json_events(s));
    put(root, "events_lost", jint((int64_t)s->events_lost));
    if (json_dumpf(root, f, JSON_COMPACT) < 0)
        rc = -EIO;
    fputc('\n', f);
    json_decref(root);
    free(idx);
    return rc < 0 || ferror(f) ? -EIO : 0;
}
