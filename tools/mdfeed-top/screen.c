/*
 * mdfeed-top's interactive view (ncurses). The screen is redrawn from the latest snapshot after
 * every refresh and every key; ncurses sends only what changed. Five panes share a title line,
 * the daemon line and a keys line: an overview (venues, connections, streams and the last few
 * events) and full-height, scrollable views of streams, books, rings with venues, and events.
 *
 * The refresh period is kept with getch() timeouts, so a key is handled at once and the loop
 * never spins. A daemon that stops or dies is shown with a banner and its last state; a new
 * daemon run is picked up by the snapshot engine, so the view survives restarts. With NO_COLOR
 * set (or a terminal without colours) no colour is used at all, only bold, underline and
 * reverse video.
 */
#include <inttypes.h>
#include <ncurses.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "top.h"

#define KEY_ESC 27
#define OVERVIEW_EVENTS 3 /* events at the bottom of the overview */

/* Colour pairs (used only when colours are on). */
enum { C_GOOD = 1, C_WARN = 2, C_BAD = 3, C_BANNER = 4, C_TITLE = 5 };

/* What the screen shows and how. */
struct ui {
    struct top *t;             /* borrowed: the snapshot engine */
    const struct top_snap *s;  /* borrowed: the newest snapshot */
    struct top_opts view;      /* sort, reverse and filter as changed by keys */
    int pane;                  /* enum top_pane */
    int scroll[PANE_COUNT];    /* first row shown of each pane's main table */
    int page;                  /* rows of the main table the last draw showed */
    bool color;                /* colours are on */
    bool editing;              /* the filter prompt is open */
    char edit[TOP_FILTER_MAX]; /* the filter being typed */
    uint32_t *idx;             /* stream order scratch (new) */
    uint32_t idx_cap;          /* entries allocated in idx */
};

/* Pane names for the title line. */
static const char *const pane_names[PANE_COUNT] = {
    [PANE_OVERVIEW] = "overview", [PANE_STREAMS] = "streams", [PANE_BOOKS] = "books",
    [PANE_RINGS] = "rings",       [PANE_EVENTS] = "events",
};

/* ---- attributes ---------------------------------------------------------------------------- */

/* Attribute for colour pair p, or fallback when colours are off. */
static attr_t color_attr(const struct ui *u, int p, attr_t fallback)
{
    return u->color ? COLOR_PAIR(p) : fallback;
}

/* Healthy (green), in progress (yellow), bad (red; bold without colours). */
static attr_t good(const struct ui *u)
{
    return color_attr(u, C_GOOD, A_NORMAL);
}

static attr_t warn(const struct ui *u)
{
    return color_attr(u, C_WARN, A_NORMAL);
}

static attr_t bad(const struct ui *u)
{
    return color_attr(u, C_BAD, A_BOLD);
}

/* Attribute of a stream state. */
static attr_t stream_attr(const struct ui *u, int st)
{
    switch (st) {
    case MDF_STREAM_LIVE:
        return good(u);
    case MDF_STREAM_SILENT:
    case MDF_STREAM_STALE:
    case MDF_STREAM_FAILED:
    case MDF_STREAM_BAD_DATA:
        return bad(u);
    default:
        return warn(u);
    }
}

/* Attribute of a connection state. */
static attr_t conn_attr(const struct ui *u, int st)
{
    switch (st) {
    case MDF_CONN_OPEN:
        return good(u);
    case MDF_CONN_BACKOFF:
    case MDF_CONN_FAILED:
        return bad(u);
    default:
        return warn(u);
    }
}

/* Attribute of a book state. */
static attr_t book_attr(const struct ui *u, int st)
{
    switch (st) {
    case MDF_BOOK_LIVE:
        return good(u);
    case MDF_BOOK_SYNCING:
    case MDF_BOOK_RESYNCING:
        return warn(u);
    default:
        return bad(u);
    }
}

/* Attribute of an event level (syslog priority). */
static attr_t level_attr(const struct ui *u, int level)
{
    return level <= 3 ? bad(u) : level == 4 ? warn(u) : A_NORMAL;
}

/* ---- drawing primitives -------------------------------------------------------------------- */

/* Writes text in a cell of width w (w < 0: to the end of the line) at (y, *x), left or right
 * aligned, clipped at the screen edge, then moves *x past the cell and one blank. */
static void cell(int y, int *x, int w, bool right, attr_t a, const char *text)
{
    char buf[512];
    int room = COLS - *x, n;

    if (room <= 0 || y < 0 || y >= LINES)
        return;
    n = w < 0 || w > room ? room : w;
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    snprintf(buf, sizeof(buf), right ? "%*.*s" : "%-*.*s", n, n, text);
    attron(a);
    mvaddnstr(y, *x, buf, n);
    attroff(a);
    *x = w < 0 ? COLS : *x + w + 1;
}

/* Writes formatted text from (y, x) to the end of the line with attribute a. */
static void line(int y, int x, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(int y, int x, attr_t a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cell(y, &x, -1, false, a, buf);
}

/* A table's header row. */
struct col {
    const char *head; /* column title */
    int w;            /* width, -1 = the rest of the line */
    bool right;       /* right-aligned (numbers) */
};

/* Draws the header row of cols[0..n) at line y. */
static void header(int y, const struct col *cols, int n)
{
    int x = 0;

    for (int i = 0; i < n; i++)
        cell(y, &x, cols[i].w, cols[i].right, A_BOLD | A_UNDERLINE, cols[i].head);
}

/* Formats into the local array buf and yields it (for cell() arguments). */
#define FMT(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))

/* ---- sections ------------------------------------------------------------------------------ */

/* Line 0: program, instance, time, pane. */
static void draw_title(const struct ui *u)
{
    char tm[48], buf[256];
    int x = 0;

    snprintf(buf, sizeof(buf), " " PROG "  instance %s  %s  [%d/%d %s]", u->t->o->instance,
             top_fmt_time(tm, sizeof(tm), u->s->real_ns, false), u->pane + 1, PANE_COUNT,
             pane_names[u->pane]);
    cell(0, &x, -1, false, color_attr(u, C_TITLE, A_REVERSE) | A_BOLD, buf);
}

/* Lines 1-2: the daemon line (or the banner) and its totals. Returns the next free line. */
static int draw_daemon(const struct ui *u, int y)
{
    const struct top_snap *s = u->s;
    const struct mdf_health_daemon *d = &s->d;
    char buf[512], r1[32], r2[32], up[32];
    int x = 0;

    if (!s->alive) {
        top_daemon_line(buf, sizeof(buf), s);
        cell(y++, &x, -1, false, color_attr(u, C_BANNER, A_REVERSE) | A_BOLD, buf);
        if (!s->found || !s->have_daemon)
            return y;
        x = 0;
    } else {
        cell(y, &x, 7, false, A_BOLD, "daemon");
        cell(y, &x, (int)strlen(mdf_daemon_state_name((int)d->state)), false,
             d->state == MDF_DAEMON_RUNNING ? good(u) : warn(u) | A_BOLD,
             mdf_daemon_state_name((int)d->state));
        line(y++, x, A_NORMAL, "pid %lld  up %s  config gen %llu  version %s  epoch %llu",
             (long long)d->pid, top_fmt_dur(up, sizeof(up), s->uptime_ns),
             (unsigned long long)d->config_generation, d->version[0] ? d->version : "?",
             (unsigned long long)s->st.epoch);
    }
    line(y++, 0, A_NORMAL,
         "msgs %llu (%s/s)  records %llu (%s/s)  errors %llu  conns %u/%u open  streams %u/%u "
         "live, %u bad  books %u/%u live",
         (unsigned long long)d->msgs, top_fmt_rate(r1, sizeof(r1), s->msgs_rate),
         (unsigned long long)d->records, top_fmt_rate(r2, sizeof(r2), s->records_rate),
         (unsigned long long)s->errors_total, d->n_conns_open, d->n_conns, d->n_streams_live,
         d->n_streams, d->n_streams_bad, d->n_books_live, d->n_books);
    if (d->status[0])
        line(y++, 0, A_DIM, "status: %s", d->status);
    return y;
}

/* One line per venue with its REST budget. Returns the next free line. */
static int draw_venue_lines(const struct ui *u, int y, int max_y)
{
    const struct top_snap *s = u->s;

    for (uint32_t i = 0; i < s->n_venues && y < max_y; i++) {
        const struct mdf_health_venue *v = &s->venues[i];
        int x = 0;
        char buf[256];

        if (!v->in_use)
            continue;
        cell(y, &x, 16, false, A_BOLD, v->name);
        line(y++, x, v->rest_throttled || v->rest_paused_until_ns > s->real_ns ? warn(u) : A_NORMAL,
             "%s",
             FMT(buf, "conns %u  streams %u  REST weight %u/%u  queued %u  throttled %llu",
                 v->n_conns, v->n_streams, v->rest_weight_used, v->rest_weight_limit,
                 v->rest_queued, (unsigned long long)v->rest_throttled));
    }
    return y;
}

static const struct col conn_cols[] = {
    {"ID", 4, true},           {"VENUE", 14, false}, {"STATE", 10, false}, {"ROLE", 11, false},
    {"UPTIME", 7, true},       {"RECONN", 6, true},  {"MSGS_IN", 9, true}, {"MSG/S", 7, true},
    {"BYTES_IN", 9, true},     {"PINGS", 11, false}, {"LAST", 7, true},    {"ENDPOINT", 30, false},
    {"LAST ERROR", -1, false},
};

/* The connections table from line y, at most max_y - y lines. Returns the next free line. */
static int draw_conns(const struct ui *u, int y, int max_y)
{
    const struct top_snap *s = u->s;
    uint32_t total = 0, shown = 0;

    if (y >= max_y)
        return y;
    header(y++, conn_cols, sizeof(conn_cols) / sizeof(conn_cols[0]));
    for (uint32_t i = 0; i < s->n_conns; i++)
        total += s->conns[i].h.in_use != 0;
    for (uint32_t i = 0; i < s->n_conns && y < max_y; i++) {
        const struct top_conn *c = &s->conns[i];
        char b[64];
        int x = 0;

        if (!c->h.in_use)
            continue;
        if (y == max_y - 1 && shown + 1 < total) {
            line(y++, 0, A_DIM, "+%u more connections", total - shown);
            break;
        }
        shown++;
        cell(y, &x, 4, true, A_NORMAL, FMT(b, "%u", c->h.id));
        cell(y, &x, 14, false, A_NORMAL, c->venue);
        cell(y, &x, 10, false, conn_attr(u, c->h.state), mdf_conn_state_name(c->h.state));
        cell(y, &x, 11, false, A_NORMAL, top_role_name(c->h.role));
        cell(y, &x, 7, true, A_NORMAL, top_fmt_dur(b, sizeof(b), c->uptime_ns));
        cell(y, &x, 6, true, c->h.reconnects ? warn(u) : A_NORMAL,
             top_fmt_count(b, sizeof(b), c->h.reconnects, 6));
        cell(y, &x, 9, true, A_NORMAL, top_fmt_count(b, sizeof(b), c->h.msgs_in, 9));
        cell(y, &x, 7, true, A_NORMAL, top_fmt_rate(b, sizeof(b), c->msgs_rate));
        cell(y, &x, 9, true, A_NORMAL, top_fmt_count(b, sizeof(b), c->h.bytes_in, 9));
        cell(y, &x, 11, false, A_NORMAL,
             FMT(b, "%llu/%llu/%llu", (unsigned long long)c->h.pings_in,
                 (unsigned long long)c->h.pings_out, (unsigned long long)c->h.pongs_in));
        cell(y, &x, 7, true, A_NORMAL, top_fmt_dur(b, sizeof(b), c->age_ns));
        cell(y, &x, 30, false, A_NORMAL, c->h.endpoint);
        cell(y, &x, -1, false, bad(u), c->h.last_error_text);
        y++;
    }
    return y;
}

static const struct col stream_cols[] = {
    {"VENUE", 14, false}, {"SYMBOL", 12, false}, {"TYPE", 11, false}, {"STATE", 11, false},
    {"MSGS", 9, true},    {"MSG/S", 7, true},    {"LAST", 7, true},   {"DELAY", 7, true},
    {"DMAX", 7, true},    {"GAPS", 5, true},     {"RSYNC", 5, true},  {"BOOK", 9, false},
    {"GEN", 4, true},     {"NAME", -1, false},
};

/* Makes sure idx has room for the snapshot's streams. Returns false when out of memory. */
static bool idx_room(struct ui *u)
{
    uint32_t n = u->s->n_streams ? u->s->n_streams : 1;
    uint32_t *p;

    if (n <= u->idx_cap)
        return true;
    p = realloc(u->idx, n * sizeof(*p));
    if (!p)
        return false;
    u->idx = p;
    u->idx_cap = n;
    return true;
}

/* The streams table from line y to max_y, starting at row `first` of the ordered, filtered
 * streams. Returns the next free line. */
static int draw_streams(struct ui *u, int y, int max_y, int first, bool books_only)
{
    const struct top_snap *s = u->s;
    uint32_t n, more = 0;
    char b[64], t[32];

    if (y >= max_y || !idx_room(u))
        return y;
    n = top_streams_view(s, u->view.sort, u->view.reverse, u->view.filter, books_only, u->idx);
    header(y++, stream_cols, sizeof(stream_cols) / sizeof(stream_cols[0]));
    u->page = max_y - y;
    if (first < 0 || (uint32_t)first > n)
        first = 0;
    /* More rows than room: the last line says how many are not shown. */
    if (n - (uint32_t)first > (uint32_t)(max_y - y) && max_y - y > 1)
        more = n - (uint32_t)first - (uint32_t)(max_y - y - 1);
    for (uint32_t k = (uint32_t)first; k < n && y < max_y - (more ? 1 : 0); k++) {
        const struct top_stream *x = &s->streams[u->idx[k]];
        bool book = x->h.type == MDF_STREAM_BOOK || x->h.type == MDF_STREAM_DEPTH;
        int c = 0;

        cell(y, &c, 14, false, A_NORMAL, x->venue);
        cell(y, &c, 12, false, A_BOLD, x->symbol);
        if (x->h.type == MDF_STREAM_CANDLE && x->h.interval)
            FMT(t, "%s/%s", mdf_stream_type_name(x->h.type), mdf_interval_name(x->h.interval));
        else
            FMT(t, "%s", mdf_stream_type_name(x->h.type));
        cell(y, &c, 11, false, A_NORMAL, t);
        cell(y, &c, 11, false, stream_attr(u, x->h.state), mdf_stream_state_name(x->h.state));
        cell(y, &c, 9, true, A_NORMAL, top_fmt_count(b, sizeof(b), x->h.msgs, 9));
        cell(y, &c, 7, true, A_NORMAL, top_fmt_rate(b, sizeof(b), x->rate));
        cell(y, &c, 7, true, A_NORMAL, top_fmt_dur(b, sizeof(b), x->age_ns));
        cell(y, &c, 7, true, A_NORMAL, top_fmt_dur(b, sizeof(b), x->h.delay_ewma_ns));
        cell(y, &c, 7, true, A_NORMAL, top_fmt_dur(b, sizeof(b), x->h.delay_max_ns));
        cell(y, &c, 5, true, x->h.gaps ? warn(u) : A_NORMAL,
             top_fmt_count(b, sizeof(b), x->h.gaps, 5));
        cell(y, &c, 5, true, x->h.resyncs ? warn(u) : A_NORMAL,
             top_fmt_count(b, sizeof(b), x->h.resyncs, 5));
        cell(y, &c, 9, false, book ? book_attr(u, x->h.book_state) : A_NORMAL,
             book ? mdf_book_state_name(x->h.book_state) : "-");
        cell(y, &c, 4, true, A_NORMAL,
             book ? top_fmt_count(b, sizeof(b), x->h.book_generation, 4) : "-");
        cell(y, &c, -1, false, A_DIM, x->h.name);
        y++;
    }
    if (more)
        line(y++, 0, A_DIM, "+%u more (arrows, PgDn to scroll%s)", more,
             u->pane == PANE_OVERVIEW ? "; Tab for the streams pane" : "");
    if (n == 0 && y < max_y)
        line(y++, 0, A_DIM, "%s",
             u->view.filter[0] ? "(no stream matches the filter)" : "(no streams)");
    return y;
}

static const struct col book_cols[] = {
    {"VENUE", 14, false},  {"SYMBOL", 12, false}, {"TYPE", 6, false},    {"STREAM", 11, false},
    {"BOOK", 9, false},    {"GEN", 5, true},      {"LEVELS", 6, true},   {"BID", 16, true},
    {"BID QTY", 14, true}, {"ASK", 16, true},     {"ASK QTY", 14, true},
};

/* The books pane's table from line y to max_y. */
static void draw_books(struct ui *u, int y, int max_y)
{
    const struct top_snap *s = u->s;
    uint32_t n;
    char b[MDF_DEC_STR_MAX];

    if (y >= max_y || !idx_room(u))
        return;
    n = top_streams_view(s, u->view.sort, u->view.reverse, u->view.filter, true, u->idx);
    header(y++, book_cols, sizeof(book_cols) / sizeof(book_cols[0]));
    u->page = max_y - y;
    for (uint32_t k = (uint32_t)u->scroll[PANE_BOOKS]; k < n && y < max_y; k++) {
        const struct top_stream *x = &s->streams[u->idx[k]];
        int c = 0;

        cell(y, &c, 14, false, A_NORMAL, x->venue);
        cell(y, &c, 12, false, A_BOLD, x->symbol);
        cell(y, &c, 6, false, A_NORMAL, mdf_stream_type_name(x->h.type));
        cell(y, &c, 11, false, stream_attr(u, x->h.state), mdf_stream_state_name(x->h.state));
        cell(y, &c, 9, false, book_attr(u, x->h.book_state), mdf_book_state_name(x->h.book_state));
        cell(y, &c, 5, true, A_NORMAL, top_fmt_count(b, sizeof(b), x->h.book_generation, 5));
        cell(y, &c, 6, true, A_NORMAL, FMT(b, "%u", top_book_levels(x)));
        if (x->has_top && x->n_bids && mdf_dec_format(x->bid.px, b, sizeof(b)) >= 0)
            cell(y, &c, 16, true, good(u), b);
        else
            cell(y, &c, 16, true, A_DIM, "-");
        if (x->has_top && x->n_bids && mdf_dec_format(x->bid.qty, b, sizeof(b)) >= 0)
            cell(y, &c, 14, true, A_NORMAL, b);
        else
            cell(y, &c, 14, true, A_DIM, "-");
        if (x->has_top && x->n_asks && mdf_dec_format(x->ask.px, b, sizeof(b)) >= 0)
            cell(y, &c, 16, true, bad(u), b);
        else
            cell(y, &c, 16, true, A_DIM, "-");
        if (x->has_top && x->n_asks && mdf_dec_format(x->ask.qty, b, sizeof(b)) >= 0)
            cell(y, &c, 14, true, A_NORMAL, b);
        else
            cell(y, &c, 14, true, A_DIM, "-");
        y++;
    }
    if (n == 0 && y < max_y)
        line(y, 0, A_DIM, "(no book streams%s)", u->view.filter[0] ? " match the filter" : "");
}

static const struct col ring_cols[] = {
    {"RING", 8, false}, {"CAPACITY", 10, true}, {"HEAD", 12, true},  {"FILL", 10, true},
    {"FILL%", 5, true}, {"SLOT", 5, true},      {"REC/S", 10, true},
};

static const struct col venue_cols[] = {
    {"VENUE", 16, false}, {"CONNS", 5, true},     {"STREAMS", 7, true},   {"WEIGHT", 11, true},
    {"QUEUED", 6, true},  {"REQUESTS", 9, true},  {"THROTTLED", 9, true}, {"ATTEMPTS", 9, true},
    {"WAITS", 6, true},   {"DNS-STUCK", 9, true}, {"PAUSED", -1, false},
};

/* The rings pane: the rings, then the venues' REST budgets. */
static void draw_rings(struct ui *u, int y, int max_y)
{
    const struct top_snap *s = u->s;
    char b[64];

    u->page = 0;
    if (y >= max_y)
        return;
    header(y++, ring_cols, sizeof(ring_cols) / sizeof(ring_cols[0]));
    for (uint32_t i = 0; i < s->n_rings && y < max_y; i++) {
        const struct top_ring *r = &s->rings[i];
        int c = 0;

        if (!r->h.in_use)
            continue;
        cell(y, &c, 8, false, A_BOLD, r->h.name);
        cell(y, &c, 10, true, A_NORMAL, top_fmt_count(b, sizeof(b), r->h.capacity, 10));
        cell(y, &c, 12, true, A_NORMAL, top_fmt_count(b, sizeof(b), r->h.head, 12));
        cell(y, &c, 10, true, A_NORMAL, top_fmt_count(b, sizeof(b), r->fill, 10));
        cell(y, &c, 5, true, A_NORMAL,
             FMT(b, "%.0f%%",
                 r->h.capacity ? 100.0 * (double)r->fill / (double)r->h.capacity : 0.0));
        cell(y, &c, 5, true, A_NORMAL, FMT(b, "%u", r->h.slot_size));
        cell(y, &c, 10, true, A_NORMAL,
             top_fmt_rate(b, sizeof(b), r->rate >= 0 ? r->rate : (double)r->h.rate));
        y++;
    }
    y++;
    if (y >= max_y)
        return;
    header(y++, venue_cols, sizeof(venue_cols) / sizeof(venue_cols[0]));
    for (uint32_t i = 0; i < s->n_venues && y < max_y; i++) {
        const struct mdf_health_venue *v = &s->venues[i];
        int c = 0;

        if (!v->in_use)
            continue;
        cell(y, &c, 16, false, A_BOLD, v->name);
        cell(y, &c, 5, true, A_NORMAL, FMT(b, "%u", v->n_conns));
        cell(y, &c, 7, true, A_NORMAL, FMT(b, "%u", v->n_streams));
        cell(y, &c, 11, true, A_NORMAL, FMT(b, "%u/%u", v->rest_weight_used, v->rest_weight_limit));
        cell(y, &c, 6, true, A_NORMAL, FMT(b, "%u", v->rest_queued));
        cell(y, &c, 9, true, A_NORMAL, top_fmt_count(b, sizeof(b), v->rest_requests, 9));
        cell(y, &c, 9, true, v->rest_throttled ? warn(u) : A_NORMAL,
             top_fmt_count(b, sizeof(b), v->rest_throttled, 9));
        cell(y, &c, 9, true, A_NORMAL, top_fmt_count(b, sizeof(b), v->conn_attempts, 9));
        cell(y, &c, 6, true, A_NORMAL, top_fmt_count(b, sizeof(b), v->conn_admit_waits, 6));
        cell(y, &c, 9, true, v->dns_stuck ? bad(u) : A_NORMAL,
             FMT(b, "%u/%" PRIu64, v->dns_stuck, v->dns_stuck_total));
        if (v->rest_paused_until_ns > s->real_ns)
            cell(y, &c, -1, false, bad(u),
                 top_fmt_dur(b, sizeof(b), v->rest_paused_until_ns - s->real_ns));
        else
            cell(y, &c, -1, false, A_NORMAL, "-");
        y++;
    }
}

static const struct col event_cols[] = {
    {"TIME", 12, false},  {"LEVEL", 7, false}, {"CODE", 24, false},
    {"WHERE", 22, false}, {"TEXT", -1, false},
};

/* The events from line y to max_y: the newest `want` (all when want < 0), oldest first, from
 * row `first`. */
static void draw_events(struct ui *u, int y, int max_y, int want, int first)
{
    const struct top_snap *s = u->s;
    uint32_t from = 0;

    if (y >= max_y)
        return;
    header(y++, event_cols, sizeof(event_cols) / sizeof(event_cols[0]));
    if (want >= 0 && s->n_events > (uint32_t)want)
        from = s->n_events - (uint32_t)want;
    from += first > 0 ? (uint32_t)first : 0;
    for (uint32_t i = from; i < s->n_events && y < max_y; i++) {
        const struct top_event *e = &s->events[i];
        char tm[48], where[MDF_NAME_MAX + MDF_SYMBOL_MAX + 2];
        int c = 0;

        cell(y, &c, 12, false, A_NORMAL,
             top_fmt_time(tm, sizeof(tm),
                          e->e.h.recv_time_ns ? e->e.h.recv_time_ns : e->e.h.exch_time_ns, false));
        cell(y, &c, 7, false, level_attr(u, e->e.level), top_level_name(e->e.level));
        cell(y, &c, 24, false, A_NORMAL, mdf_event_code_name(e->e.code));
        if (e->symbol[0])
            snprintf(where, sizeof(where), "%s:%s", e->venue, e->symbol);
        else
            snprintf(where, sizeof(where), "-");
        cell(y, &c, 22, false, A_NORMAL, where);
        cell(y, &c, -1, false, A_NORMAL, e->e.text);
        y++;
    }
    if (s->n_events == 0 && y < max_y)
        line(y, 0, A_DIM, "(no events yet)");
}

/* The last line: the keys, or the filter prompt while typing one. */
static void draw_keys(const struct ui *u)
{
    char buf[256];
    int y = LINES - 1;

    if (u->editing) {
        line(y, 0, A_REVERSE, "filter (venue, symbol or stream; Enter applies, Esc cancels): %s_",
             u->edit);
        return;
    }
    snprintf(buf, sizeof(buf),
             "q quit  Tab/1-5 pane  s/S sort: %s%s  r reverse  / filter: %s  arrows/PgUp/PgDn "
             "scroll",
             top_sort_name(u->view.sort), u->view.reverse ? " (reversed)" : "",
             u->view.filter[0] ? u->view.filter : "(none)");
    line(y, 0, A_REVERSE, "%s", buf);
}

/* Redraws the whole screen from u->s. */
static void draw(struct ui *u)
{
    const struct top_snap *s = u->s;
    int y, bottom = LINES - 1, split;

    erase();
    draw_title(u);
    y = draw_daemon(u, 1);
    u->page = 0;
    if (s->found) {
        switch (u->pane) {
        case PANE_OVERVIEW:
            y = draw_venue_lines(u, y, bottom);
            y++;
            /* Connections get at most a third of what is left; streams the rest above the
             * last few events. */
            split = y + 1 + (bottom - y) / 3;
            y = draw_conns(u, y, split);
            y++;
            y = draw_streams(u, y, bottom - OVERVIEW_EVENTS - 2, u->scroll[PANE_OVERVIEW], false);
            draw_events(u, bottom - OVERVIEW_EVENTS - 1, bottom, OVERVIEW_EVENTS, 0);
            break;
        case PANE_STREAMS:
            draw_streams(u, y + 1, bottom, u->scroll[PANE_STREAMS], false);
            break;
        case PANE_BOOKS:
            draw_books(u, y + 1, bottom);
            break;
        case PANE_RINGS:
            draw_rings(u, y + 1, bottom);
            break;
        case PANE_EVENTS:
            draw_events(u, y + 1, bottom, -1, u->scroll[PANE_EVENTS]);
            u->page = bottom - y - 2;
            break;
        }
    } else {
        line(y + 1, 0, A_NORMAL, "waiting for the daemon of instance \"%s\" to start...",
             u->t->o->instance);
    }
    draw_keys(u);
    refresh();
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* Rows the current pane's main table has (for scrolling limits). */
static int rows_of(struct ui *u)
{
    switch (u->pane) {
    case PANE_OVERVIEW:
    case PANE_STREAMS:
    case PANE_BOOKS:
        if (!idx_room(u))
            return 0;
        return (int)top_streams_view(u->s, u->view.sort, u->view.reverse, u->view.filter,
                                     u->pane == PANE_BOOKS, u->idx);
    case PANE_EVENTS:
        return (int)u->s->n_events;
    default:
        return 0;
    }
}

/* Moves the current pane's first row by delta (INT_MIN/INT_MAX-like values go to the ends). */
static void scroll_by(struct ui *u, int delta)
{
    int *sc = &u->scroll[u->pane];
    int max = rows_of(u) - (u->page > 0 ? u->page : 1);

    if (max < 0)
        max = 0;
    if (delta < 0 && -delta > *sc)
        *sc = 0;
    else
        *sc += delta;
    if (*sc > max)
        *sc = max;
}

/* Handles a key while the filter prompt is open. */
static void edit_key(struct ui *u, int ch)
{
    size_t n = strlen(u->edit);

    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        snprintf(u->view.filter, sizeof(u->view.filter), "%s", u->edit);
        u->editing = false;
        memset(u->scroll, 0, sizeof(u->scroll));
    } else if (ch == KEY_ESC) {
        u->editing = false;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (n)
            u->edit[n - 1] = '\0';
    } else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(u->edit)) {
        u->edit[n] = (char)ch;
        u->edit[n + 1] = '\0';
    }
}

/* Handles a key. Returns false when it asks to quit. */
static bool key(struct ui *u, int ch)
{
    if (u->editing) {
        edit_key(u, ch);
        return true;
    }
    switch (ch) {
    case 'q':
    case 'Q':
        return false;
    case '\t':
        u->pane = (u->pane + 1) % PANE_COUNT;
        break;
    case KEY_BTAB:
        u->pane = (u->pane + PANE_COUNT - 1) % PANE_COUNT;
        break;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
        u->pane = ch - '1';
        break;
    case 's':
        u->view.sort = (u->view.sort + 1) % SORT_COUNT;
        break;
    case 'S':
        u->view.sort = (u->view.sort + SORT_COUNT - 1) % SORT_COUNT;
        break;
    case 'r':
        u->view.reverse = !u->view.reverse;
        break;
    case '/':
        u->editing = true;
        snprintf(u->edit, sizeof(u->edit), "%s", u->view.filter);
        break;
    case KEY_UP:
    case 'k':
        scroll_by(u, -1);
        break;
    case KEY_DOWN:
    case 'j':
        scroll_by(u, 1);
        break;
    case KEY_PPAGE:
        scroll_by(u, -(u->page > 1 ? u->page - 1 : 1));
        break;
    case KEY_NPAGE:
    case ' ':
        scroll_by(u, u->page > 1 ? u->page - 1 : 1);
        break;
    case KEY_HOME:
    case 'g':
        u->scroll[u->pane] = 0;
        break;
    case KEY_END:
    case 'G':
        scroll_by(u, 1 << 30);
        break;
    case 12: /* Ctrl-L */
        clearok(curscr, TRUE);
        break;
    default:
        break;
    }
    return true;
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* CLOCK_MONOTONIC in ns. */
static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Starts curses on the terminal. Returns the screen (new, delscreen), or NULL (message
 * printed) if there is no usable terminal. */
static SCREEN *start_screen(struct ui *u)
{
    SCREEN *scr;

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, PROG ": not a terminal; use -b for text or --json\n");
        return NULL;
    }
    scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, PROG ": cannot use terminal type \"%s\"; use -b or --json\n",
                getenv("TERM") ? getenv("TERM") : "(unset)");
        return NULL;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    u->color = !u->t->o->no_color && has_colors();
    if (u->color) {
        start_color();
        use_default_colors();
        init_pair(C_GOOD, COLOR_GREEN, -1);
        init_pair(C_WARN, COLOR_YELLOW, -1);
        init_pair(C_BAD, COLOR_RED, -1);
        init_pair(C_BANNER, COLOR_WHITE, COLOR_RED);
        init_pair(C_TITLE, COLOR_BLACK, COLOR_CYAN);
    }
    return scr;
}

int top_screen_run(struct top *t)
{
    const struct top_opts *o = t->o;
    struct ui u;
    uint64_t done = 0;
    int64_t next = 0;
    bool dirty = false;
    SCREEN *scr;

    memset(&u, 0, sizeof(u));
    u.t = t;
    u.view = *o;
    scr = start_screen(&u);
    if (!scr)
        return EXIT_DOWN;
    while (!top_stop_requested()) {
        int64_t now = mono_ns(), wait_ms;
        int ch;

        if (now >= next) {
            if (o->iterations && done >= o->iterations)
                break;
            u.s = top_refresh(t);
            done++;
            next = now + o->period_ns;
            dirty = true;
        }
        if (dirty) {
            draw(&u);
            dirty = false;
        }
        wait_ms = (next - mono_ns() + 999999) / 1000000;
        timeout(wait_ms < 1 ? 1 : wait_ms > 1000 ? 1000 : (int)wait_ms);
        ch = getch();
        if (ch == ERR)
            continue;
        if (!key(&u, ch))
            break;
        dirty = true;
    }
    endwin();
    delscreen(scr);
    free(u.idx);
    return EXIT_OK;
}
