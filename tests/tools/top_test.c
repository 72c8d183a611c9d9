/*
 * Tests of the health reader API (src/reader/health.c) and of mdfeed-top.
 *
 * Most tests build an instance by hand: a health segment written with the daemon's own writer
 * (src/health/health.h) and a state segment with rings (src/shm/publisher.h) holding the symbol
 * table, a latest book and a few events. The built mdfeed-top then runs as a child, and every
 * value it prints is compared with what was written: text rows token by token, JSON (parsed
 * with jansson) entry by entry. The interactive screen is driven in a detached tmux session of
 * a fixed size: its pane is captured as text (and with escape sequences for the NO_COLOR test)
 * and keys are sent to it. The last test runs the real daemon against the fake venue.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "health/health.h"
#include "shm/publisher.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define MAX_ARGS 40
#define SEC INT64_C(1000000000)
#define MS INT64_C(1000000)
#define N_STREAMS 4

/* ---- the instance a test builds -------------------------------------------------------------- */

/* Everything written, kept to compare with what mdfeed-top prints. */
struct fx {
    struct health h;                          /* the health writer */
    struct publisher p;                       /* state segment and rings */
    struct mdf_health_daemon d;               /* daemon entry written */
    struct mdf_health_venue v[2];             /* venue entries (ids 0, 1) */
    struct mdf_health_conn c[2];              /* connection entries (slots 0, 1) */
    struct mdf_health_stream s[N_STREAMS];    /* stream entries (slots 0..3) */
    struct mdf_health_ring r[MDF_RING_COUNT]; /* ring entries */
    struct mdf_event ev[3];                   /* events published */
    int64_t sym[3];                           /* BTCUSDT, ETHUSDT (binance-spot), tBTCUSD */
};

static struct fx fx; /* large: static */

/* Fills a fixed-size text field. */
#define SETS(field, text) snprintf((field), sizeof(field), "%s", (text))

/* A decimal from text (the test's own values are always valid). */
static struct mdf_dec dec(const char *text)
{
    mdf_dec_t d;

    if (mdf_dec_parse(text, strlen(text), &d) != 0)
        test_fail(__FILE__, __LINE__, "bad decimal %s", text);
    return d;
}

/* Publishes the state side: venues, symbols, a latest book for BTCUSDT, three events. */
static void fx_state(struct fx *f, const char *instance)
{
    static const struct {
        int code, level;
        uint32_t conn;
        int sym; /* index in f->sym, -1 for none */
        const char *text;
    } evs[3] = {
        {MDF_EV_FEED_STARTED, 6, 0, -1, "feed started: 2 venues"},
        {MDF_EV_CONNECTION_ESTABLISHED, 5, 1, -1, "connected to ws://127.0.0.1:9443/stream"},
        {MDF_EV_BOOK_RESYNC, 4, 1, 0, "gap after update 1041: resync"},
    };
    struct pub_params prm;
    static union mdf_record rec;
    int64_t now = clock_real_ns();

    pub_default_params(&prm, instance);
    for (int r = 0; r < MDF_RING_COUNT; r++)
        prm.ring_capacity[r] = 1024;
    prm.state.max_symbols = 16;
    prm.state.max_series = 8;
    prm.state.book_depth = 20;
    prm.hb_interval_ns = 60 * SEC;
    if (pub_open(&f->p, &prm) < 0)
        test_fail(__FILE__, __LINE__, "pub_open: %s", mdf_errmsg());
    ASSERT_EQ(state_tx_venue(&f->p.st, "binance-spot"), 0);
    ASSERT_EQ(state_tx_venue(&f->p.st, "bitfinex"), 1);
    f->sym[0] = state_tx_symbol(&f->p.st, 0, "BTCUSDT", "BTC/USDT");
    f->sym[1] = state_tx_symbol(&f->p.st, 0, "ETHUSDT", "ETH/USDT");
    f->sym[2] = state_tx_symbol(&f->p.st, 1, "tBTCUSD", "BTC/USD");
    ASSERT(f->sym[0] >= 0 && f->sym[1] >= 0 && f->sym[2] >= 0);

    /* The local full book of BTCUSDT, 2 levels a side, and a depth5 stream of it that has
     * published nothing yet (its row shows no top of book). */
    ASSERT_EQ(state_tx_stream(&f->p.st, &(struct mdf_stream_entry){.symbol = (uint32_t)f->sym[0],
                                                                   .type = MDF_REC_BOOK,
                                                                   .book_kind = MDF_BOOK_KIND_FULL,
                                                                   .key = "btcusdt@depth@100ms"}),
              0);
    memset(&rec, 0, sizeof(rec));
    rec.book.h.type = MDF_REC_BOOK;
    rec.book.h.size = (uint16_t)MDF_BOOK_SIZE(20);
    rec.book.h.venue = 0;
    rec.book.h.symbol = (uint32_t)f->sym[0];
    rec.book.h.recv_time_ns = now;
    rec.book.state = MDF_BOOK_LIVE;
    rec.book.depth = 20;
    rec.book.n_bids = 2;
    rec.book.n_asks = 2;
    rec.book.generation = 3;
    rec.book.levels[0] = (struct mdf_level){.px = dec("67000.01"), .qty = dec("0.50000000")};
    rec.book.levels[1] = (struct mdf_level){.px = dec("66999.5"), .qty = dec("2")};
    rec.book.levels[20] = (struct mdf_level){.px = dec("67000.02"), .qty = dec("1.25")};
    rec.book.levels[21] = (struct mdf_level){.px = dec("67001"), .qty = dec("3")};
    ASSERT_EQ(state_tx_update(&f->p.st, &rec), 0);

    for (int i = 0; i < 3; i++) {
        struct mdf_event *e = &f->ev[i];

        memset(e, 0, sizeof(*e));
        e->h.type = MDF_REC_EVENT;
        e->h.size = sizeof(*e);
        e->h.venue = 0;
        e->h.symbol = evs[i].sym < 0 ? UINT32_MAX : (uint32_t)f->sym[evs[i].sym];
        e->h.recv_time_ns = now - (3 - i) * SEC;
        e->level = (uint16_t)evs[i].level;
        e->code = (uint16_t)evs[i].code;
        e->connection = evs[i].conn;
        SETS(e->text, evs[i].text);
        memcpy(&rec, e, sizeof(*e));
        ASSERT_EQ(pub_publish(&f->p, MDF_RING_EVENTS, &rec), (uint64_t)i);
    }
}

/* Fills the health entries (not yet written). */
static void fx_values(struct fx *f)
{
    int64_t mono = clock_mono_ns(), real = clock_real_ns();
    struct mdf_health_daemon *d = &f->d;
    struct mdf_health_stream *s;

    memset(d, 0, sizeof(*d));
    d->state = MDF_DAEMON_RUNNING;
    d->pid = getpid();
    d->start_ns = real - 3723 * SEC; /* up 1h02m */
    d->config_generation = 3;
    d->loop_beat_mono_ns = mono;
    d->msgs = 123456;
    d->bytes = 9876543;
    d->records = 120000;
    d->dups = 7;
    d->events = 3;
    d->errors[MDF_HERR_PARSE] = 2;
    d->errors[MDF_HERR_TIMEOUT] = 1;
    d->n_venues = 2;
    d->n_conns = 2;
    d->n_conns_open = 1;
    d->n_streams = 4;
    d->n_streams_live = 2;
    d->n_streams_bad = 2;
    d->n_streams_failed = 1;
    d->n_streams_stale = 1;
    d->n_books = 1;
    d->n_books_live = 1;
    SETS(d->version, "0.1.0");
    SETS(d->status, "running: 2 connections, 4 streams");

    memset(f->v, 0, sizeof(f->v));
    f->v[0] = (struct mdf_health_venue){.in_use = 1,
                                        .venue = 0,
                                        .n_conns = 1,
                                        .n_streams = 3,
                                        .rest_weight_used = 42,
                                        .rest_weight_limit = 1200,
                                        .rest_queued = 1,
                                        .rest_requests = 17,
                                        .rest_throttled = 2,
                                        .conn_attempts = 5,
                                        .conn_admit_waits = 1,
                                        .dns_stuck = 1,
                                        .dns_stuck_total = 3};
    SETS(f->v[0].name, "binance-spot");
    f->v[1] = (struct mdf_health_venue){.in_use = 1,
                                        .venue = 1,
                                        .n_conns = 1,
                                        .n_streams = 1,
                                        .rest_weight_used = 0,
                                        .rest_weight_limit = 90,
                                        .conn_attempts = 9};
    SETS(f->v[1].name, "bitfinex");

    memset(f->c, 0, sizeof(f->c));
    f->c[0] = (struct mdf_health_conn){.in_use = 1,
                                       .id = 1,
                                       .venue = 0,
                                       .state = MDF_CONN_OPEN,
                                       .role = MDF_ROLE_ACTIVE,
                                       .n_streams = 3,
                                       .connected_ns = real - 65 * SEC,
                                       .connected_mono_ns = mono - 65 * SEC,
                                       .last_msg_ns = real - 20 * MS,
                                       .last_msg_mono_ns = mono - 20 * MS,
                                       .reconnects = 2,
                                       .bytes_in = 5555555,
                                       .bytes_out = 777,
                                       .msgs_in = 44444,
                                       .msgs_out = 9,
                                       .pings_in = 3,
                                       .pings_out = 1,
                                       .pongs_in = 1,
                                       .last_error = -110,
                                       .last_error_ns = real - 70 * SEC};
    SETS(f->c[0].endpoint, "ws://127.0.0.1:9443/stream");
    SETS(f->c[0].last_error_text, "pong timeout");
    f->c[1] = (struct mdf_health_conn){.in_use = 1,
                                       .id = 2,
                                       .venue = 1,
                                       .state = MDF_CONN_BACKOFF,
                                       .role = MDF_ROLE_ACTIVE,
                                       .n_streams = 1,
                                       .reconnects = 4,
                                       .bytes_in = 1000,
                                       .msgs_in = 10};
    SETS(f->c[1].endpoint, "ws://127.0.0.1:9444/ws/2");

    memset(f->s, 0, sizeof(f->s));
    s = &f->s[0]; /* a local full book, resynced once */
    *s = (struct mdf_health_stream){.in_use = 1,
                                    .venue = 0,
                                    .type = MDF_STREAM_BOOK,
                                    .state = MDF_STREAM_LIVE,
                                    .symbol = (uint32_t)f->sym[0],
                                    .connection = 1,
                                    .levels = 20,
                                    .book_state = MDF_BOOK_LIVE,
                                    .msgs = 30000,
                                    .dups = 4,
                                    .gaps = 1,
                                    .resyncs = 1,
                                    .book_generation = 3,
                                    .last_exch_ns = real - 102 * MS,
                                    .last_recv_ns = real - 100 * MS,
                                    .last_mono_ns = mono - 100 * MS,
                                    .delay_ewma_ns = 2500000,
                                    .delay_max_ns = 40000000,
                                    .stale_after_ms = 5000,
                                    .cadence_ms = 100};
    SETS(s->name, "btcusdt@depth@100ms");
    s = &f->s[1]; /* trades */
    *s = (struct mdf_health_stream){.in_use = 1,
                                    .venue = 0,
                                    .type = MDF_STREAM_TRADE,
                                    .state = MDF_STREAM_LIVE,
                                    .symbol = (uint32_t)f->sym[0],
                                    .connection = 1,
                                    .msgs = 50000,
                                    .last_exch_ns = real - 1001 * MS,
                                    .last_recv_ns = real - 1000 * MS,
                                    .last_mono_ns = mono - 1000 * MS,
                                    .delay_ewma_ns = 1000000,
                                    .delay_max_ns = 9000000,
                                    .stale_after_ms = 10000};
    SETS(s->name, "btcusdt@trade");
    s = &f->s[2]; /* a stale best bid and offer, with gaps */
    *s = (struct mdf_health_stream){.in_use = 1,
                                    .venue = 0,
                                    .type = MDF_STREAM_BBO,
                                    .state = MDF_STREAM_STALE,
                                    .symbol = (uint32_t)f->sym[1],
                                    .connection = 1,
                                    .msgs = 100,
                                    .gaps = 5,
                                    .last_exch_ns = real - 30300 * MS,
                                    .last_recv_ns = real - 30 * SEC,
                                    .last_mono_ns = mono - 30 * SEC,
                                    .delay_ewma_ns = 300000000,
                                    .delay_max_ns = 900000000,
                                    .stale_after_ms = 3000};
    SETS(s->name, "ethusdt@bookTicker");
    s = &f->s[3]; /* subscribed on Bitfinex, never delivered */
    *s = (struct mdf_health_stream){.in_use = 1,
                                    .venue = 1,
                                    .type = MDF_STREAM_TRADE,
                                    .state = MDF_STREAM_SILENT,
                                    .symbol = (uint32_t)f->sym[2],
                                    .connection = 2,
                                    .stale_after_ms = 10000};
    SETS(s->name, "trades:tBTCUSD");

    for (int i = 0; i < MDF_RING_COUNT; i++) {
        static const uint64_t heads[MDF_RING_COUNT] = {5000, 10, 1024, 0, 3};

        memset(&f->r[i], 0, sizeof(f->r[i]));
        f->r[i].in_use = 1;
        f->r[i].ring_id = (uint32_t)i;
        SETS(f->r[i].name, mdf_ring_name(i));
        f->r[i].capacity = 1024;
        f->r[i].head = heads[i];
        f->r[i].slot_size = 256;
        f->r[i].rate = i == MDF_RING_TICKS ? 250 : 0;
    }
}

/* Writes every health entry of f. */
static void fx_write(struct fx *f)
{
    health_write(&f->h, MDF_HT_DAEMON, 0, &f->d, sizeof(f->d));
    for (uint32_t i = 0; i < 2; i++)
        health_write(&f->h, MDF_HT_VENUE, i, &f->v[i], sizeof(f->v[i]));
    for (uint32_t i = 0; i < 2; i++)
        health_write(&f->h, MDF_HT_CONN, i, &f->c[i], sizeof(f->c[i]));
    for (uint32_t i = 0; i < N_STREAMS; i++)
        health_write(&f->h, MDF_HT_STREAM, i, &f->s[i], sizeof(f->s[i]));
    for (uint32_t i = 0; i < MDF_RING_COUNT; i++)
        health_write(&f->h, MDF_HT_RING, i, &f->r[i], sizeof(f->r[i]));
}

/* Builds the instance: state, then health with a heartbeat period of hb_ns. Stream slot 4 is
 * used once and freed (a stream a reload removed): it must never be shown. */
static void fx_build(struct fx *f, int64_t hb_ns)
{
    struct health_params hp = {.instance = test_instance(),
                               .mode = 0640,
                               .gid = (gid_t)-1,
                               .max_venues = 4,
                               .max_conns = 8,
                               .max_streams = 16,
                               .publish_ns = SEC,
                               .hb_interval_ns = hb_ns};
    struct mdf_health_stream gone;

    fx_state(f, test_instance());
    if (health_open(&f->h, &hp) < 0)
        test_fail(__FILE__, __LINE__, "health_open: %s", mdf_errmsg());
    fx_values(f);
    fx_write(f);
    ASSERT_EQ(health_slot_alloc(&f->h, MDF_HT_STREAM), N_STREAMS);
    gone = f->s[1];
    SETS(gone.name, "gone@trade");
    health_write(&f->h, MDF_HT_STREAM, N_STREAMS, &gone, sizeof(gone));
    health_slot_free(&f->h, MDF_HT_STREAM, N_STREAMS);
    health_beat(&f->h, clock_mono_ns());
}

/* Removes what fx_build made. */
static void fx_close(struct fx *f)
{
    health_close(&f->h, true);
    pub_close(&f->p, true);
}

/* Starts a child that keeps f's heartbeat fresh (every 10 ms) until beater_stop. */
static pid_t beater_start(struct fx *f)
{
    pid_t pid = fork();

    ASSERT(pid >= 0);
    if (pid == 0) {
        for (;;) {
            health_beat(&f->h, clock_mono_ns());
            usleep(10000);
        }
    }
    return pid;
}

/* Stops a beater_start child. */
static void beater_stop(pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* ---- running mdfeed-top ---------------------------------------------------------------------- */

/* Runs mdfeed-top -i <instance> with the NULL-terminated arguments; *out and *err are new.
 * Returns the exit status. */
static int run_top(const char *instance, char **out, char **err, ...)
{
    char *argv[MAX_ARGS];
    char bin[4096];
    int n = 0;
    va_list ap;

    snprintf(bin, sizeof(bin), "%s", test_bin("mdfeed-top"));
    argv[n++] = bin;
    argv[n++] = "-i";
    argv[n++] = (char *)instance;
    va_start(ap, err);
    while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    return test_run_capture(argv, out, err);
}

/* The lines of section `title` (the line starting with it, up to the next blank line) of the
 * text output: a new copy (free). The title line itself is included. */
static char *section(const char *out, const char *title)
{
    size_t tl = strlen(title);
    const char *p = out, *end;

    while (p && *p) {
        if (strncmp(p, title, tl) == 0 && (p[tl] == '\n' || p[tl] == ' '))
            break;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p || !*p)
        test_fail(__FILE__, __LINE__, "no section %s in:\n%s", title, out);
    end = strstr(p, "\n\n");
    return strndup(p, end ? (size_t)(end - p) + 1 : strlen(p));
}

#define MAX_TOKENS 40

/* Splits a copy of line into blank-separated tokens (tok[i] point into *keep, new). */
static int tokens(const char *line, size_t len, char **keep, char **tok)
{
    char *save, *t;
    int n = 0;

    *keep = strndup(line, len);
    for (t = strtok_r(*keep, " \n", &save); t && n < MAX_TOKENS; t = strtok_r(NULL, " \n", &save))
        tok[n++] = t;
    return n;
}

/* The data rows of a section (every line after the title and the column header), each split
 * into tokens. Returns the row count; rows[i][j] stay valid until rows_free. */
struct rows {
    int n;                     /* rows */
    int nt[64];                /* tokens per row */
    char *tok[64][MAX_TOKENS]; /* the tokens */
    char *keep[64];            /* their storage */
};

static void rows_get(struct rows *r, const char *out, const char *title)
{
    char *sec = section(out, title);
    const char *p = sec;
    int line = 0;

    memset(r, 0, sizeof(*r));
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (line >= 2 && len > 0 && r->n < 64) {
            r->nt[r->n] = tokens(p, len, &r->keep[r->n], r->tok[r->n]);
            r->n++;
        }
        line++;
        p += len + (nl ? 1 : 0);
    }
    free(sec);
}

static void rows_free(struct rows *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->keep[i]);
    memset(r, 0, sizeof(*r));
}

/* Asserts that row i of r starts with the given tokens (NULL-terminated; "*" matches any). */
static void check_row(int line, const struct rows *r, int i, ...)
{
    const char *want;
    va_list ap;
    int j = 0;

    if (i >= r->n)
        test_fail(__FILE__, line, "row %d missing (%d rows)", i, r->n);
    va_start(ap, i);
    while ((want = va_arg(ap, const char *))) {
        if (j >= r->nt[i])
            test_fail(__FILE__, line, "row %d has %d tokens, wanted \"%s\" at %d", i, r->nt[i],
                      want, j);
        if (strcmp(want, "*") != 0 && strcmp(want, r->tok[i][j]) != 0)
            test_fail(__FILE__, line, "row %d token %d: \"%s\", wanted \"%s\"", i, j, r->tok[i][j],
                      want);
        j++;
    }
    va_end(ap);
}

#define CHECK_ROW(r, i, ...) check_row(__LINE__, (r), (i), __VA_ARGS__, (const char *)NULL)

/* Index of the row whose token k is `key`, or -1. */
static int find_row(const struct rows *r, int k, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (k < r->nt[i] && strcmp(r->tok[i][k], key) == 0)
            return i;
    return -1;
}

/* ---- JSON helpers ---------------------------------------------------------------------------- */

/* Parses the JSON text (one object) or fails the test. New reference. */
static json_t *parse_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j || !json_is_object(j))
        test_fail(__FILE__, __LINE__, "not a JSON object (%s at %d): %s", e.text, e.position, text);
    return j;
}

/* Member k of object o: an integer, or the test fails. */
static int64_t jint_(int line, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v))
        test_fail(__FILE__, line, "\"%s\" is not an integer", k);
    return (int64_t)json_integer_value(v);
}

/* Member k of object o: a string, or the test fails. */
static const char *jstr_(int line, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_string(v))
        test_fail(__FILE__, line, "\"%s\" is not a string", k);
    return json_string_value(v);
}

#define JINT(o, k) jint_(__LINE__, (o), (k))
#define JSTR(o, k) jstr_(__LINE__, (o), (k))
#define JNULL(o, k) ASSERT(json_is_null(json_object_get((o), (k))))
/* A measured rate of 0: a one-shot takes two samples, and the fixture's counters stand still. */
#define JZERO(o, k)                                                                                \
    ASSERT(json_is_number(json_object_get((o), (k))) &&                                            \
           json_number_value(json_object_get((o), (k))) == 0.0)

/* Occurrences of needle in s. */
static int count_of(const char *s, const char *needle)
{
    int n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Array member k of o, or the test fails. */
static json_t *jarr(json_t *o, const char *k)
{
    json_t *a = json_object_get(o, k);

    if (!json_is_array(a))
        test_fail(__FILE__, __LINE__, "\"%s\" is not an array", k);
    return a;
}

/* The "symbol" of each stream of a JSON snapshot, joined with spaces, into buf. */
static const char *json_stream_order(json_t *root, char *buf, size_t cap)
{
    json_t *a = jarr(root, "streams"), *x;
    size_t i, n = 0;

    buf[0] = '\0';
    json_array_foreach(a, i, x)
    {
        n += (size_t)snprintf(buf + n, cap - n, "%s%s/%s", n ? " " : "", JSTR(x, "symbol"),
                              JSTR(x, "type"));
    }
    return buf;
}

/* The same order from the text output's STREAMS section (symbol/type per row). */
static const char *text_stream_order(const char *out, char *buf, size_t cap)
{
    struct rows r;
    size_t n = 0;

    rows_get(&r, out, "STREAMS");
    buf[0] = '\0';
    for (int i = 0; i < r.n; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s/%s", n ? " " : "", r.tok[i][1], r.tok[i][2]);
    rows_free(&r);
    return buf;
}

/* ---- tmux ------------------------------------------------------------------------------------ */

static char tmux_socket[64]; /* the test's own tmux server's socket (-S), "" if none */

/* Runs tmux -S <socket> -f /dev/null with the arguments; *out is new (may be NULL: dropped).
 * Returns the exit status. */
static int tmux(char **out, ...)
{
    char *argv[MAX_ARGS], *o = NULL, *e = NULL;
    int n = 0, rc;
    va_list ap;

    argv[n++] = "/usr/bin/env";
    argv[n++] = "-u";
    argv[n++] = "TMUX";
    argv[n++] = "tmux";
    argv[n++] = "-S";
    argv[n++] = tmux_socket;
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    va_start(ap, out);
    while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    rc = test_run_capture(argv, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    free(e);
    return rc;
}

/* Stops the test's tmux server (at exit too, so a failed test leaves none behind). */
static void tmux_kill(void)
{
    if (tmux_socket[0]) {
        tmux(NULL, "kill-server", NULL);
        unlink(tmux_socket);
    }
    tmux_socket[0] = '\0';
}

/* Starts a detached 160x50 session "top" running shell command cmd. */
static void tmux_start(const char *cmd)
{
    if (access("/usr/bin/tmux", X_OK) != 0)
        test_skip("tmux is not installed");
    if (!tmux_socket[0]) {
        snprintf(tmux_socket, sizeof(tmux_socket), "/tmp/mdfeed-top-test-%d.tmux", (int)getpid());
        atexit(tmux_kill);
    }
    if (tmux(NULL, "new-session", "-d", "-s", "top", "-x", "160", "-y", "50", cmd, NULL) != 0)
        test_fail(__FILE__, __LINE__, "tmux new-session failed");
}

/* The pane's text (with escape sequences if escapes). New. */
static char *tmux_capture(bool escapes)
{
    char *out = NULL;

    if (escapes)
        tmux(&out, "capture-pane", "-p", "-e", "-t", "top", NULL);
    else
        tmux(&out, "capture-pane", "-p", "-t", "top", NULL);
    return out;
}

/* Waits up to timeout_ms until the pane shows every NULL-terminated needle; returns the screen
 * (new) or fails the test showing the last screen. */
static char *tmux_wait_(int line, int timeout_ms, ...)
{
    int64_t until = test_now_ns() + (int64_t)timeout_ms * MS;
    char *screen = NULL;

    for (;;) {
        const char *n;
        bool all = true;
        va_list ap;

        free(screen);
        screen = tmux_capture(false);
        va_start(ap, timeout_ms);
        while ((n = va_arg(ap, const char *)))
            all = all && screen && strstr(screen, n);
        va_end(ap);
        if (all)
            return screen;
        if (test_now_ns() > until)
            test_fail(__FILE__, line, "the screen never showed what was expected:\n%s",
                      screen ? screen : "(none)");
        usleep(100000);
    }
}

#define TMUX_WAIT(ms, ...) tmux_wait_(__LINE__, (ms), __VA_ARGS__, (const char *)NULL)

/* Sends keys to the session (tmux key names: "q", "Tab", "Enter", ...). */
static void tmux_keys(const char *keys)
{
    ASSERT_EQ(tmux(NULL, "send-keys", "-t", "top", keys, NULL), 0);
}

/* Waits up to timeout_ms for the session to end (its command exited). */
static void tmux_wait_gone(int timeout_ms)
{
    int64_t until = test_now_ns() + (int64_t)timeout_ms * MS;

    while (tmux(NULL, "has-session", "-t", "top", NULL) == 0) {
        if (test_now_ns() > until)
            test_fail(__FILE__, __LINE__, "mdfeed-top did not exit");
        usleep(50000);
    }
}

/* Reads the exit status a pane command wrote to path; -1 if none. */
static int read_status(const char *path)
{
    FILE *f = fopen(path, "r");
    int st = -1;

    if (f) {
        if (fscanf(f, "%d", &st) != 1)
            st = -1;
        fclose(f);
    }
    return st;
}

/* The shell command that runs mdfeed-top interactively on the test instance with extra
 * arguments, under env (e.g. "NO_COLOR=1" or "-u NO_COLOR"), writing its exit status to
 * status_path. */
static void top_cmd(char *buf, size_t cap, const char *env, const char *args,
                    const char *status_path)
{
    snprintf(buf, cap, "env %s %s -i %s %s; echo $? > %s", env, test_bin("mdfeed-top"),
             test_instance(), args, status_path);
}

/* ---- the reader API -------------------------------------------------------------------------- */

TEST(health_reader_copies_entries_and_refuses_slots_past_count)
{
    mdf_health_t *h;
    struct mdf_health_desc desc;
    struct mdf_health_daemon d;
    struct mdf_health_conn c;
    struct mdf_health_stream s;
    struct mdf_health_venue v;
    struct mdf_health_ring r;
    struct mdf_status st;

    ASSERT_EQ(mdf_health_open(&h, test_instance()), -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), "health");
    ASSERT_EQ(mdf_health_open(&h, "bad/name"), -EINVAL);
    fx_build(&fx, 60 * SEC);
    ASSERT_EQ(mdf_health_open(&h, test_instance()), 0);
    ASSERT_EQ(mdf_health_status(h, &st), 0);
    ASSERT_EQ(st.liveness, MDF_ALIVE);
    ASSERT_EQ(st.pid, getpid());
    ASSERT_EQ(st.hb_interval_ns, 60 * SEC);
    ASSERT_EQ(mdf_health_desc(h, &desc), 0);
    ASSERT_EQ(desc.max_venues, 4);
    ASSERT_EQ(desc.max_conns, 8);
    ASSERT_EQ(desc.max_streams, 16);
    ASSERT_EQ(desc.max_rings, MDF_RING_COUNT);
    ASSERT_EQ(desc.publish_ns, SEC);
    ASSERT_EQ(mdf_health_count(h, MDF_HT_DAEMON), 1);
    ASSERT_EQ(mdf_health_count(h, MDF_HT_VENUE), 2);
    ASSERT_EQ(mdf_health_count(h, MDF_HT_CONN), 2);
    ASSERT_EQ(mdf_health_count(h, MDF_HT_STREAM), N_STREAMS + 1);
    ASSERT_EQ(mdf_health_count(h, MDF_HT_RING), MDF_RING_COUNT);
    ASSERT_EQ(mdf_health_count(h, 99), 0);

    ASSERT_EQ(mdf_health_daemon(h, &d), 0);
    ASSERT(memcmp(&d, &fx.d, sizeof(d)) == 0);
    for (uint32_t i = 0; i < 2; i++) {
        ASSERT_EQ(mdf_health_venue(h, i, &v), 0);
        ASSERT(memcmp(&v, &fx.v[i], sizeof(v)) == 0);
        ASSERT_EQ(mdf_health_conn(h, i, &c), 0);
        ASSERT(memcmp(&c, &fx.c[i], sizeof(c)) == 0);
    }
    for (uint32_t i = 0; i < N_STREAMS; i++) {
        ASSERT_EQ(mdf_health_stream(h, i, &s), 0);
        ASSERT(memcmp(&s, &fx.s[i], sizeof(s)) == 0);
    }
    /* The freed slot reads as free: zeroed, in_use 0. */
    ASSERT_EQ(mdf_health_stream(h, N_STREAMS, &s), 0);
    ASSERT_EQ(s.in_use, 0);
    ASSERT_EQ(s.name[0], '\0');
    for (uint32_t i = 0; i < MDF_RING_COUNT; i++) {
        ASSERT_EQ(mdf_health_ring(h, i, &r), 0);
        ASSERT(memcmp(&r, &fx.r[i], sizeof(r)) == 0);
    }
    /* Past the slots used: -ENOENT, even inside the table. */
    ASSERT_EQ(mdf_health_conn(h, 2, &c), -ENOENT);
    ASSERT_EQ(mdf_health_stream(h, N_STREAMS + 1, &s), -ENOENT);
    ASSERT_EQ(mdf_health_venue(h, 1000000, &v), -ENOENT);
    ASSERT_EQ(mdf_health_daemon(NULL, &d), -EINVAL);
    ASSERT_EQ(mdf_health_conn(h, 0, NULL), -EINVAL);
    /* A later write is seen by the open handle. */
    fx.c[1].state = MDF_CONN_OPEN;
    fx.c[1].msgs_in = 11;
    health_write(&fx.h, MDF_HT_CONN, 1, &fx.c[1], sizeof(fx.c[1]));
    ASSERT_EQ(mdf_health_conn(h, 1, &c), 0);
    ASSERT_EQ(c.state, MDF_CONN_OPEN);
    ASSERT_EQ(c.msgs_in, 11);

    /* Names. */
    ASSERT_STR_EQ(mdf_daemon_state_name(MDF_DAEMON_RUNNING), "RUNNING");
    ASSERT_STR_EQ(mdf_daemon_state_name(MDF_DAEMON_FAILED), "FAILED");
    ASSERT_STR_EQ(mdf_conn_state_name(MDF_CONN_BACKOFF), "BACKOFF");
    ASSERT_STR_EQ(mdf_stream_state_name(MDF_STREAM_SILENT), "SILENT");
    ASSERT_STR_EQ(mdf_stream_state_name(MDF_STREAM_UNSUBSCRIBING), "UNSUBSCRIBING");
    ASSERT_STR_EQ(mdf_stream_type_name(MDF_STREAM_BOOK), "book");
    ASSERT_STR_EQ(mdf_stream_type_name(MDF_STREAM_LIQUIDATION), "liquidation");
    ASSERT_STR_EQ(mdf_health_err_name(MDF_HERR_PARSE), "parse");
    ASSERT_STR_EQ(mdf_health_err_name(MDF_HERR_WATCHDOG), "watchdog");
    ASSERT_STR_EQ(mdf_health_err_name(MDF_HERR_SHM), "shm");
    ASSERT_STR_EQ(mdf_health_err_name(MDF_HERR_SHM + 1), "?");
    ASSERT_STR_EQ(mdf_daemon_state_name(-1), "?");
    ASSERT_STR_EQ(mdf_stream_type_name(200), "?");

    /* The daemon replaces the segment: the handle reads retired. */
    health_close(&fx.h, true);
    ASSERT_EQ(mdf_health_status(h, &st), 0);
    ASSERT_EQ(st.liveness, MDF_RETIRED);
    mdf_health_close(h);
    mdf_health_close(NULL);
    pub_close(&fx.p, true);
    return 0;
}

TEST(health_reader_refuses_a_descriptor_outside_the_segment)
{
    struct health_params hp = {.instance = test_instance(),
                               .mode = 0640,
                               .gid = (gid_t)-1,
                               .max_venues = 2,
                               .max_conns = 2,
                               .max_streams = 2,
                               .publish_ns = SEC,
                               .hb_interval_ns = 60 * SEC};
    struct health h;
    mdf_health_t *r;

    ASSERT_EQ(health_open(&h, &hp), 0);
    /* A damaged descriptor: the stream table claims more entries than the segment holds. */
    h.desc->max_streams = 1000000;
    ASSERT_EQ(mdf_health_open(&r, test_instance()), MDF_EBADSEG);
    ASSERT_CONTAINS(mdf_errmsg(), "stream table");
    h.desc->max_streams = 2;
    h.desc->table_off[MDF_HT_RING] = 3; /* misaligned */
    ASSERT_EQ(mdf_health_open(&r, test_instance()), MDF_EBADSEG);
    h.desc->table_off[MDF_HT_RING] = h.seg.size; /* past the end */
    ASSERT_EQ(mdf_health_open(&r, test_instance()), MDF_EBADSEG);
    health_close(&h, true);
    return 0;
}

/* ---- batch text ------------------------------------------------------------------------------ */

TEST(top_batch_prints_every_value_written)
{
    char *out, *err, *sec;
    struct rows r;
    int i, rc;

    fx_build(&fx, 60 * SEC);
    rc = run_top(test_instance(), &out, &err, "-b", "-n", "1", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    ASSERT(strchr(out, '\033') == NULL); /* plain text: no escape sequences */

    sec = section(out, "DAEMON");
    {
        char want[256];

        snprintf(want, sizeof(want), "DAEMON RUNNING pid %d up 1h02m config 3 version 0.1.0\n",
                 (int)getpid());
        ASSERT_CONTAINS(sec, want);
    }
    /* Rates from two samples half a second apart: the fixture's counters stand still. */
    ASSERT_CONTAINS(sec, "  messages 123456 (0.0/s) bytes 9876543 records 120000 (0.0/s) dups 7 "
                         "events 3\n");
    ASSERT_CONTAINS(sec, "  venues 2 connections 2 (1 open) streams 4 (2 live, 2 bad) books 1 "
                         "(1 live)\n");
    ASSERT_CONTAINS(sec, "  errors 3: parse 2, timeout 1\n");
    ASSERT_CONTAINS(sec, "  status: running: 2 connections, 4 streams\n");
    free(sec);

    rows_get(&r, out, "VENUES");
    ASSERT_EQ(r.n, 2);
    CHECK_ROW(&r, 0, "binance-spot", "1", "3", "42/1200", "1", "17", "2", "5", "1", "1/3", "-");
    CHECK_ROW(&r, 1, "bitfinex", "1", "1", "0/90", "0", "0", "0", "9", "0", "0/0", "-");
    rows_free(&r);

    rows_get(&r, out, "CONNECTIONS");
    ASSERT_EQ(r.n, 2);
    CHECK_ROW(&r, 0, "1", "binance-spot", "OPEN", "active", "*", "2", "44444", "0.0", "5555555",
              "9", "3/1/1", "*", "3", "ws://127.0.0.1:9443/stream", "pong", "timeout", "(-110,");
    ASSERT(strncmp(r.tok[0][4], "1m0", 3) == 0); /* up 65 s (a few more on a slow machine) */
    CHECK_ROW(&r, 1, "2", "bitfinex", "BACKOFF", "active", "-", "4", "10", "0.0", "1000", "0",
              "0/0/0", "-", "1", "ws://127.0.0.1:9444/ws/2", "-");
    rows_free(&r);

    rows_get(&r, out, "STREAMS");
    ASSERT_EQ(r.n, N_STREAMS); /* the freed slot is not shown */
    ASSERT(strstr(out, "gone@trade") == NULL);
    i = find_row(&r, 3, "btcusdt@depth@100ms");
    ASSERT(i >= 0);
    CHECK_ROW(&r, i, "binance-spot", "BTCUSDT", "book", "btcusdt@depth@100ms", "LIVE", "30000",
              "0.0", "*", "2.5ms", "40.0ms", "1", "1", "4", "LIVE", "3", "1");
    i = find_row(&r, 3, "ethusdt@bookTicker");
    ASSERT(i >= 0);
    CHECK_ROW(&r, i, "binance-spot", "ETHUSDT", "bbo", "ethusdt@bookTicker", "STALE", "100", "0.0",
              "*", "300.0ms", "900.0ms", "5", "0", "0", "-", "-", "1");
    ASSERT(strncmp(r.tok[i][7], "30.", 3) == 0); /* last message 30 s ago */
    i = find_row(&r, 3, "trades:tBTCUSD");
    ASSERT(i >= 0);
    CHECK_ROW(&r, i, "bitfinex", "tBTCUSD", "trade", "trades:tBTCUSD", "SILENT", "0", "0.0", "-",
              "0ns", "0ns", "0", "0", "0", "-", "-", "2");
    rows_free(&r);

    rows_get(&r, out, "BOOKS");
    ASSERT_EQ(r.n, 1);
    /* LEVELS: what the latest book holds (2 a side), not what the stream asked for (20). */
    CHECK_ROW(&r, 0, "binance-spot", "BTCUSDT", "book", "LIVE", "LIVE", "3", "2", "67000.01",
              "0.50000000", "67000.02", "1.25");
    rows_free(&r);

    rows_get(&r, out, "RINGS");
    ASSERT_EQ(r.n, MDF_RING_COUNT);
    CHECK_ROW(&r, 0, "ticks", "1024", "5000", "1024", "100%", "256", "0.0");
    CHECK_ROW(&r, 4, "events", "1024", "3", "3", "0%", "256", "0.0");
    rows_free(&r);

    rows_get(&r, out, "EVENTS");
    ASSERT_EQ(r.n, 3);
    CHECK_ROW(&r, 0, "*", "*", "info", "FEED_STARTED", "0", "-", "feed", "started:", "2", "venues");
    CHECK_ROW(&r, 1, "*", "*", "notice", "CONNECTION_ESTABLISHED", "1", "-", "connected", "to",
              "ws://127.0.0.1:9443/stream");
    CHECK_ROW(&r, 2, "*", "*", "warning", "BOOK_RESYNC", "1", "binance-spot:BTCUSDT", "gap",
              "after", "update", "1041:", "resync");
    rows_free(&r);

    free(out);
    free(err);
    fx_close(&fx);
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* Checks the JSON connection object o against entry c. */
static void check_json_conn(json_t *o, const struct mdf_health_conn *c, const char *venue)
{
    ASSERT_EQ(JINT(o, "id"), c->id);
    ASSERT_STR_EQ(JSTR(o, "venue"), venue);
    ASSERT_EQ(JINT(o, "venue_id"), c->venue);
    ASSERT_STR_EQ(JSTR(o, "endpoint"), c->endpoint);
    ASSERT_STR_EQ(JSTR(o, "state"), mdf_conn_state_name(c->state));
    ASSERT_STR_EQ(JSTR(o, "role"), "active");
    ASSERT_EQ(JINT(o, "streams"), c->n_streams);
    ASSERT_EQ(JINT(o, "connected_ns"), c->connected_ns);
    ASSERT_EQ(JINT(o, "last_msg_ns"), c->last_msg_ns);
    ASSERT_EQ(JINT(o, "reconnects"), c->reconnects);
    ASSERT_EQ(JINT(o, "msgs_in"), c->msgs_in);
    ASSERT_EQ(JINT(o, "msgs_out"), c->msgs_out);
    ASSERT_EQ(JINT(o, "bytes_in"), c->bytes_in);
    ASSERT_EQ(JINT(o, "bytes_out"), c->bytes_out);
    ASSERT_EQ(JINT(o, "pings_in"), c->pings_in);
    ASSERT_EQ(JINT(o, "pings_out"), c->pings_out);
    ASSERT_EQ(JINT(o, "pongs_in"), c->pongs_in);
    ASSERT_EQ(JINT(o, "last_error"), c->last_error);
    ASSERT_EQ(JINT(o, "last_error_ns"), c->last_error_ns);
    ASSERT_STR_EQ(JSTR(o, "last_error_text"), c->last_error_text);
    JZERO(o, "msgs_per_s");
    if (c->state == MDF_CONN_OPEN) {
        ASSERT_GE(JINT(o, "uptime_ns"), 65 * SEC);
        ASSERT_LT(JINT(o, "uptime_ns"), 95 * SEC);
    } else {
        JNULL(o, "uptime_ns");
    }
}

/* Checks the JSON stream object o against entry s. */
static void check_json_stream(json_t *o, const struct mdf_health_stream *s, const char *venue,
                              const char *symbol, const char *normalized)
{
    bool book = s->type == MDF_STREAM_BOOK;

    ASSERT_STR_EQ(JSTR(o, "venue"), venue);
    ASSERT_EQ(JINT(o, "venue_id"), s->venue);
    ASSERT_STR_EQ(JSTR(o, "symbol"), symbol);
    ASSERT_EQ(JINT(o, "symbol_id"), s->symbol);
    ASSERT_STR_EQ(JSTR(o, "normalized"), normalized);
    ASSERT_STR_EQ(JSTR(o, "type"), mdf_stream_type_name(s->type));
    ASSERT_STR_EQ(JSTR(o, "name"), s->name);
    ASSERT_STR_EQ(JSTR(o, "state"), mdf_stream_state_name(s->state));
    ASSERT_EQ(JINT(o, "connection"), s->connection);
    ASSERT_EQ(JINT(o, "levels"), s->levels);
    ASSERT_EQ(JINT(o, "msgs"), s->msgs);
    ASSERT_EQ(JINT(o, "dups"), s->dups);
    ASSERT_EQ(JINT(o, "gaps"), s->gaps);
    ASSERT_EQ(JINT(o, "resyncs"), s->resyncs);
    ASSERT_EQ(JINT(o, "last_exch_ns"), s->last_exch_ns);
    ASSERT_EQ(JINT(o, "last_recv_ns"), s->last_recv_ns);
    ASSERT_EQ(JINT(o, "delay_ewma_ns"), s->delay_ewma_ns);
    ASSERT_EQ(JINT(o, "delay_max_ns"), s->delay_max_ns);
    ASSERT_EQ(JINT(o, "stale_after_ms"), s->stale_after_ms);
    ASSERT_EQ(JINT(o, "cadence_ms"), s->cadence_ms);
    JZERO(o, "msgs_per_s");
    if (s->last_mono_ns) {
        int64_t age = JINT(o, "last_age_ns");

        ASSERT_GE(age, 100 * MS);
    } else {
        JNULL(o, "last_age_ns");
    }
    if (book) {
        json_t *top = json_object_get(o, "top");

        ASSERT_STR_EQ(JSTR(o, "book_state"), mdf_book_state_name(s->book_state));
        ASSERT_EQ(JINT(o, "book_generation"), s->book_generation);
        ASSERT(json_is_object(top));
        ASSERT_STR_EQ(JSTR(top, "bid_px"), "67000.01");
        ASSERT_STR_EQ(JSTR(top, "bid_qty"), "0.50000000");
        ASSERT_STR_EQ(JSTR(top, "ask_px"), "67000.02");
        ASSERT_STR_EQ(JSTR(top, "ask_qty"), "1.25");
    } else {
        JNULL(o, "book_state");
        JNULL(o, "book_generation");
        JNULL(o, "top");
    }
}

TEST(top_json_matches_health_segment_entry_by_entry)
{
    static const char *const syms[3] = {"BTCUSDT", "ETHUSDT", "tBTCUSD"};
    static const char *const norms[3] = {"BTC/USDT", "ETH/USDT", "BTC/USD"};
    static const char *const venues[2] = {"binance-spot", "bitfinex"};
    json_t *root, *d, *a, *x, *errs;
    char *out, *err;
    size_t i;
    int rc;

    fx_build(&fx, 60 * SEC);
    rc = run_top(test_instance(), &out, &err, "--json", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    ASSERT(strchr(out, '\n') == out + strlen(out) - 1); /* one line */
    root = parse_json(out);
    ASSERT_STR_EQ(JSTR(root, "instance"), test_instance());

    d = json_object_get(root, "daemon");
    ASSERT(json_is_true(json_object_get(d, "alive")));
    ASSERT(json_is_true(json_object_get(d, "found")));
    JNULL(d, "reason");
    ASSERT_STR_EQ(JSTR(d, "liveness"), "alive");
    ASSERT_STR_EQ(JSTR(d, "state"), "RUNNING");
    ASSERT_EQ(JINT(d, "pid"), getpid());
    ASSERT_EQ(JINT(d, "start_ns"), fx.d.start_ns);
    ASSERT_EQ(JINT(d, "config_generation"), 3);
    ASSERT_STR_EQ(JSTR(d, "version"), "0.1.0");
    ASSERT_STR_EQ(JSTR(d, "status"), fx.d.status);
    ASSERT_EQ(JINT(d, "hb_interval_ns"), 60 * SEC);
    ASSERT_EQ(JINT(d, "msgs"), fx.d.msgs);
    ASSERT_EQ(JINT(d, "bytes"), fx.d.bytes);
    ASSERT_EQ(JINT(d, "records"), fx.d.records);
    ASSERT_EQ(JINT(d, "dups"), fx.d.dups);
    ASSERT_EQ(JINT(d, "events"), fx.d.events);
    JZERO(d, "msgs_per_s");
    errs = json_object_get(d, "errors");
    ASSERT(json_is_object(errs));
    for (int k = 0; k <= MDF_HERR_WATCHDOG; k++)
        ASSERT_EQ(JINT(errs, mdf_health_err_name(k)), fx.d.errors[k]);
    ASSERT_EQ(JINT(d, "errors_total"), 3);
    ASSERT_EQ(JINT(d, "n_venues"), fx.d.n_venues);
    ASSERT_EQ(JINT(d, "n_conns"), fx.d.n_conns);
    ASSERT_EQ(JINT(d, "n_conns_open"), fx.d.n_conns_open);
    ASSERT_EQ(JINT(d, "n_streams"), fx.d.n_streams);
    ASSERT_EQ(JINT(d, "n_streams_live"), fx.d.n_streams_live);
    ASSERT_EQ(JINT(d, "n_streams_bad"), fx.d.n_streams_bad);
    ASSERT_EQ(JINT(d, "n_streams_failed"), 1);
    ASSERT_EQ(JINT(d, "n_streams_stale"), 1);
    ASSERT_EQ(JINT(d, "n_streams_silent"), 0);
    ASSERT_EQ(JINT(d, "n_books"), fx.d.n_books);
    ASSERT_EQ(JINT(d, "n_books_live"), fx.d.n_books_live);

    a = jarr(root, "venues");
    ASSERT_EQ(json_array_size(a), 2);
    json_array_foreach(a, i, x)
    {
        const struct mdf_health_venue *v = &fx.v[i];

        ASSERT_EQ(JINT(x, "id"), v->venue);
        ASSERT_STR_EQ(JSTR(x, "name"), v->name);
        ASSERT_EQ(JINT(x, "conns"), v->n_conns);
        ASSERT_EQ(JINT(x, "streams"), v->n_streams);
        ASSERT_EQ(JINT(x, "rest_weight_used"), v->rest_weight_used);
        ASSERT_EQ(JINT(x, "rest_weight_limit"), v->rest_weight_limit);
        ASSERT_EQ(JINT(x, "rest_queued"), v->rest_queued);
        ASSERT_EQ(JINT(x, "rest_requests"), v->rest_requests);
        ASSERT_EQ(JINT(x, "rest_throttled"), v->rest_throttled);
        ASSERT_EQ(JINT(x, "rest_paused_until_ns"), v->rest_paused_until_ns);
        ASSERT_EQ(JINT(x, "conn_attempts"), v->conn_attempts);
        ASSERT_EQ(JINT(x, "conn_admit_waits"), v->conn_admit_waits);
        ASSERT_EQ(JINT(x, "dns_stuck"), v->dns_stuck);
        ASSERT_EQ(JINT(x, "dns_stuck_total"), v->dns_stuck_total);
    }

    a = jarr(root, "connections");
    ASSERT_EQ(json_array_size(a), 2);
    json_array_foreach(a, i, x)
    {
        ASSERT_EQ(JINT(x, "slot"), (int64_t)i);
        check_json_conn(x, &fx.c[i], venues[fx.c[i].venue]);
    }

    a = jarr(root, "streams");
    ASSERT_EQ(json_array_size(a), N_STREAMS); /* not the freed slot */
    json_array_foreach(a, i, x)
    {
        int64_t slot = JINT(x, "slot");
        const struct mdf_health_stream *s;
        int si;

        ASSERT(slot >= 0 && slot < N_STREAMS);
        s = &fx.s[slot];
        si = s->symbol == (uint32_t)fx.sym[0] ? 0 : s->symbol == (uint32_t)fx.sym[1] ? 1 : 2;
        check_json_stream(x, s, venues[s->venue], syms[si], norms[si]);
    }

    a = jarr(root, "rings");
    ASSERT_EQ(json_array_size(a), MDF_RING_COUNT);
    json_array_foreach(a, i, x)
    {
        ASSERT_STR_EQ(JSTR(x, "name"), fx.r[i].name);
        ASSERT_EQ(JINT(x, "id"), fx.r[i].ring_id);
        ASSERT_EQ(JINT(x, "capacity"), fx.r[i].capacity);
        ASSERT_EQ(JINT(x, "head"), fx.r[i].head);
        ASSERT_EQ(JINT(x, "fill"), fx.r[i].head < 1024 ? fx.r[i].head : 1024);
        ASSERT_EQ(JINT(x, "slot_size"), fx.r[i].slot_size);
        ASSERT_EQ(JINT(x, "rate"), fx.r[i].rate);
        JZERO(x, "records_per_s");
    }

    a = jarr(root, "events");
    ASSERT_EQ(json_array_size(a), 3);
    json_array_foreach(a, i, x)
    {
        const struct mdf_event *e = &fx.ev[i];

        ASSERT_EQ(JINT(x, "seq"), (int64_t)i);
        ASSERT_EQ(JINT(x, "time_ns"), e->h.recv_time_ns);
        ASSERT_EQ(JINT(x, "level"), e->level);
        ASSERT_STR_EQ(JSTR(x, "code"), mdf_event_code_name(e->code));
        ASSERT_EQ(JINT(x, "connection"), e->connection);
        ASSERT_STR_EQ(JSTR(x, "text"), e->text);
        if (e->h.symbol == UINT32_MAX)
            JNULL(x, "symbol");
        else
            ASSERT_STR_EQ(JSTR(x, "symbol"), "BTCUSDT");
    }
    json_decref(root);
    free(out);
    free(err);
    fx_close(&fx);
    return 0;
}

/* ---- sorting, filtering, rates --------------------------------------------------------------- */

TEST(top_sorts_and_filters_streams_in_text_and_json)
{
    static const struct {
        const char *sort, *reverse, *filter, *want;
    } cases[] = {
        {"venue", NULL, NULL, "BTCUSDT/trade BTCUSDT/book ETHUSDT/bbo tBTCUSD/trade"},
        {"venue", "-r", NULL, "tBTCUSD/trade ETHUSDT/bbo BTCUSDT/book BTCUSDT/trade"},
        {"gaps", NULL, NULL, "ETHUSDT/bbo BTCUSDT/book BTCUSDT/trade tBTCUSD/trade"},
        {"delay", NULL, NULL, "ETHUSDT/bbo BTCUSDT/book BTCUSDT/trade tBTCUSD/trade"},
        {"age", NULL, NULL, "tBTCUSD/trade ETHUSDT/bbo BTCUSDT/trade BTCUSDT/book"},
        {"staleness", "-r", NULL, "BTCUSDT/book BTCUSDT/trade ETHUSDT/bbo tBTCUSD/trade"},
        /* No rate is measured in one snapshot: equal rates fall back to message counts. */
        {"rate", NULL, NULL, "BTCUSDT/trade BTCUSDT/book ETHUSDT/bbo tBTCUSD/trade"},
        {"venue", NULL, "eth", "ETHUSDT/bbo"},
        {"venue", NULL, "BITFINEX", "tBTCUSD/trade"},
        {"venue", NULL, "BTC/USD", "BTCUSDT/trade BTCUSDT/book tBTCUSD/trade"},
        {"gaps", NULL, "depth", "BTCUSDT/book"},
        {"venue", NULL, "nothing-like-this", ""},
    };
    char got[512], *out, *err;
    int rc;

    fx_build(&fx, 60 * SEC);
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const char *args[8];
        int n = 0;

        args[n++] = "-s";
        args[n++] = cases[k].sort;
        if (cases[k].reverse)
            args[n++] = cases[k].reverse;
        if (cases[k].filter) {
            args[n++] = "-f";
            args[n++] = cases[k].filter;
        }
        while (n < 8)
            args[n++] = NULL;
        for (int json = 0; json < 2; json++) {
            json_t *root = NULL;

            rc = run_top(test_instance(), &out, &err, json ? "--json" : "-b", "-n", "1", args[0],
                         args[1], args[2], args[3], args[4], args[5], NULL);
            if (rc != 0)
                test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
            if (json) {
                root = parse_json(out);
                json_stream_order(root, got, sizeof(got));
                json_decref(root);
            } else {
                text_stream_order(out, got, sizeof(got));
            }
            if (strcmp(got, cases[k].want) != 0)
                test_fail(__FILE__, __LINE__, "-s %s %s -f %s (%s): \"%s\", wanted \"%s\"",
                          cases[k].sort, cases[k].reverse ? "-r" : "",
                          cases[k].filter ? cases[k].filter : "-", json ? "json" : "text", got,
                          cases[k].want);
            free(out);
            free(err);
        }
    }
    /* Bad options are usage errors. */
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-s", "colour", NULL), 2);
    ASSERT_CONTAINS(err, "unknown sort key");
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-d", "0", NULL), 2);
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-n", "x", NULL), 2);
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "--json", NULL), 2);
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-i", "bad/name", NULL), 2);
    ASSERT_CONTAINS(err, "not an instance name");
    free(out);
    free(err);
    fx_close(&fx);
    return 0;
}

TEST(top_rates_come_from_counter_deltas_and_sort_by_rate)
{
    char *out, *err, *second, got[512];
    json_t *root, *a, *x;
    struct rows r;
    pid_t w;
    int rc, status;
    size_t i;

    fx_build(&fx, 60 * SEC);
    /* A writer that keeps the Bitfinex stream busiest, the BTCUSDT trades next, the rest
     * still. */
    w = fork();
    ASSERT(w >= 0);
    if (w == 0) {
        for (;;) {
            fx.s[3].msgs += 100;
            fx.s[3].state = MDF_STREAM_LIVE;
            fx.s[1].msgs += 10;
            fx.c[0].msgs_in += 10;
            fx.d.msgs += 110;
            health_write(&fx.h, MDF_HT_STREAM, 3, &fx.s[3], sizeof(fx.s[3]));
            health_write(&fx.h, MDF_HT_STREAM, 1, &fx.s[1], sizeof(fx.s[1]));
            health_write(&fx.h, MDF_HT_CONN, 0, &fx.c[0], sizeof(fx.c[0]));
            health_write(&fx.h, MDF_HT_DAEMON, 0, &fx.d, sizeof(fx.d));
            health_beat(&fx.h, clock_mono_ns());
            usleep(10000);
        }
    }
    rc = run_top(test_instance(), &out, &err, "-b", "-n", "2", "-d", "1", "-s", "rate", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    second = strstr(out + 1, "mdfeed-top: instance");
    ASSERT(second != NULL);
    ASSERT(strstr(second + 1, "mdfeed-top: instance") == NULL); /* two snapshots */
    ASSERT_STR_EQ(text_stream_order(second, got, sizeof(got)),
                  "tBTCUSD/trade BTCUSDT/trade BTCUSDT/book ETHUSDT/bbo");
    rows_get(&r, second, "STREAMS");
    ASSERT(atof(r.tok[0][6]) > atof(r.tok[1][6]));
    ASSERT(atof(r.tok[1][6]) > 0);
    ASSERT_STR_EQ(r.tok[2][6], "0.0");
    ASSERT_STR_EQ(r.tok[3][6], "0.0");
    rows_free(&r);
    rows_get(&r, second, "CONNECTIONS");
    ASSERT(atof(r.tok[0][7]) > 0);
    ASSERT_STR_EQ(r.tok[1][7], "0.0");
    rows_free(&r);
    ASSERT(strstr(second, "messages") && !strstr(strstr(second, "messages"), "(-/s) bytes"));
    free(out);
    free(err);

    /* JSON lines: the second snapshot measures rates. */
    rc = run_top(test_instance(), &out, &err, "--json", "-n", "2", "-d", "1", "-s", "rate", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    second = strchr(out, '\n');
    ASSERT(second && second[1]);
    root = parse_json(second + 1);
    a = jarr(root, "streams");
    ASSERT_STR_EQ(json_stream_order(root, got, sizeof(got)),
                  "tBTCUSD/trade BTCUSDT/trade BTCUSDT/book ETHUSDT/bbo");
    json_array_foreach(a, i, x)
    {
        double rate = json_real_value(json_object_get(x, "msgs_per_s"));

        ASSERT(json_is_real(json_object_get(x, "msgs_per_s")));
        ASSERT(i < 2 ? rate > 0 : rate == 0);
    }
    ASSERT(json_real_value(json_object_get(json_object_get(root, "daemon"), "msgs_per_s")) > 0);
    json_decref(root);
    free(out);
    free(err);

    kill(w, SIGKILL);
    waitpid(w, &status, 0);
    fx_close(&fx);
    return 0;
}

/* ---- daemon not running, dead ---------------------------------------------------------------- */

TEST(top_exits_1_with_a_plain_message_when_the_instance_does_not_exist)
{
    char *out, *err;
    json_t *root, *d;

    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-n", "1", NULL), 1);
    ASSERT_CONTAINS(out, "DAEMON NOT RUNNING: no health segment");
    /* Said once: the batch output says it, standard error does not repeat it. */
    ASSERT_EQ(count_of(out, "no health segment") + count_of(err, "no health segment"), 1);
    ASSERT(strstr(out, "CONNECTIONS") == NULL);
    free(out);
    free(err);
    /* -b without -n stops too: nothing to wait for in batch mode. */
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", NULL), 1);
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "--json", NULL), 1);
    ASSERT_EQ(count_of(err, "no health segment"), 1); /* JSON on stdout, the reason once here */
    root = parse_json(out);
    d = json_object_get(root, "daemon");
    ASSERT(json_is_false(json_object_get(d, "alive")));
    ASSERT(json_is_false(json_object_get(d, "found")));
    ASSERT_CONTAINS(JSTR(d, "reason"), "not running");
    ASSERT_EQ(json_array_size(jarr(root, "streams")), 0);
    json_decref(root);
    free(out);
    free(err);
    return 0;
}

TEST(top_exits_1_when_the_heartbeat_is_stale_and_shows_the_last_state)
{
    char *out, *err;
    int64_t stopped;
    int rc;
    json_t *root, *d;
    struct rows r;
    pid_t beater;

    fx_build(&fx, 100 * MS);
    beater = beater_start(&fx);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-n", "1", NULL), 0);
    ASSERT_CONTAINS(out, "DAEMON RUNNING");
    free(out);
    free(err);
    /* The writer stops beating (its pid lives on): dead once the beat is older than
     * MDF_DEAD_AFTER_NS (5 s for a 100 ms period), not before. */
    beater_stop(beater);
    stopped = clock_mono_ns();
    usleep(3000000);
    /* Still alive 3 s after the last beat; a loaded machine that took past 4.5 s to get here
     * cannot tell, so the check is made only when it means something. */
    rc = run_top(test_instance(), &out, &err, "-b", "-n", "1", NULL);
    if (clock_mono_ns() - stopped < 4500 * MS) {
        ASSERT_EQ(rc, 0);
        ASSERT_CONTAINS(out, "DAEMON RUNNING");
    }
    free(out);
    free(err);
    while (clock_mono_ns() - stopped < 5500 * MS)
        usleep(100000);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-n", "5", NULL), 1);
    ASSERT_CONTAINS(out, "DAEMON DEAD: no heartbeat for ");
    ASSERT_CONTAINS(out, "(period 100.0ms)");
    ASSERT_CONTAINS(out, "  last state RUNNING pid");
    ASSERT(strstr(err, "dead: no heartbeat") == NULL);       /* said once, on stdout */
    ASSERT(strstr(out + 1, "mdfeed-top: instance") == NULL); /* stopped at the first */
    rows_get(&r, out, "STREAMS");                            /* what it can: the last state */
    ASSERT_EQ(r.n, N_STREAMS);
    rows_free(&r);
    free(out);
    free(err);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "--json", NULL), 1);
    root = parse_json(out);
    d = json_object_get(root, "daemon");
    ASSERT(json_is_false(json_object_get(d, "alive")));
    ASSERT(json_is_true(json_object_get(d, "found")));
    ASSERT_CONTAINS(JSTR(d, "reason"), "dead: no heartbeat");
    ASSERT_STR_EQ(JSTR(d, "liveness"), "dead");
    ASSERT_STR_EQ(JSTR(d, "state"), "RUNNING");
    ASSERT_GT(JINT(d, "heartbeat_age_ns"), 5000 * MS);
    ASSERT_EQ(json_array_size(jarr(root, "streams")), N_STREAMS);
    json_decref(root);
    free(out);
    free(err);
    /* Beating again: alive again (once the forked beater has beaten, even on a busy machine). */
    beater = beater_start(&fx);
    usleep(300000);
    ASSERT_EQ(run_top(test_instance(), &out, &err, "-b", "-n", "1", NULL), 0);
    ASSERT_CONTAINS(out, "DAEMON RUNNING");
    free(out);
    free(err);
    beater_stop(beater);
    fx_close(&fx);
    return 0;
}

/* ---- interactive ----------------------------------------------------------------------------- */

TEST(top_interactive_in_tmux_shows_tables_keys_and_quits_on_q)
{
    char cmd[1024], status[128], *screen;

    fx_build(&fx, 60 * SEC);
    snprintf(status, sizeof(status), "/tmp/mdfeed-top-%d.status", (int)getpid());
    unlink(status);
    top_cmd(cmd, sizeof(cmd), "-u NO_COLOR", "-d 0.2", status);
    tmux_start(cmd);
    /* The overview: daemon line, connections and streams with the values written, events,
     * keys. */
    screen = TMUX_WAIT(10000, "RUNNING", "ID", "VENUE", "ENDPOINT", "SYMBOL", "q quit");
    ASSERT_CONTAINS(screen, "ws://127.0.0.1:9443/stream");
    ASSERT_CONTAINS(screen, "BACKOFF");
    ASSERT_CONTAINS(screen, "44444");
    ASSERT_CONTAINS(screen, "pong timeout");
    ASSERT_CONTAINS(screen, "btcusdt@depth@100ms");
    ASSERT_CONTAINS(screen, "30000");
    ASSERT_CONTAINS(screen, "STALE");
    ASSERT_CONTAINS(screen, "SILENT");
    ASSERT_CONTAINS(screen, "tBTCUSD");
    ASSERT_CONTAINS(screen, "BOOK_RESYNC");
    ASSERT_CONTAINS(screen, "REST weight 42/1200");
    ASSERT_CONTAINS(screen, "sort: venue");
    ASSERT(strstr(screen, "gone@trade") == NULL);
    free(screen);
    /* s: next sort key; the order follows. */
    tmux_keys("s");
    free(TMUX_WAIT(5000, "sort: rate"));
    tmux_keys("s");
    tmux_keys("s");
    screen = TMUX_WAIT(5000, "sort: delay");
    ASSERT(strstr(screen, "ETHUSDT") < strstr(screen, "tBTCUSD"));
    free(screen);
    tmux_keys("S");
    free(TMUX_WAIT(5000, "sort: age"));
    /* /: a filter typed in. */
    tmux_keys("/");
    tmux_keys("eth");
    free(TMUX_WAIT(5000, "filter (venue"));
    tmux_keys("Enter");
    screen = TMUX_WAIT(5000, "filter: eth");
    ASSERT_CONTAINS(screen, "ETHUSDT");
    ASSERT(strstr(screen, "tBTCUSD") == NULL);
    ASSERT(strstr(screen, "btcusdt@trade") == NULL);
    free(screen);
    tmux_keys("/");
    tmux_keys("BSpace");
    tmux_keys("BSpace");
    tmux_keys("BSpace");
    tmux_keys("Enter");
    free(TMUX_WAIT(5000, "filter: (none)", "tBTCUSD"));
    /* Tab: the panes. */
    tmux_keys("Tab");
    free(TMUX_WAIT(5000, "[2/5 streams]", "btcusdt@trade"));
    tmux_keys("Tab");
    screen = TMUX_WAIT(5000, "[3/5 books]", "67000.01");
    ASSERT_CONTAINS(screen, "67000.02");
    ASSERT_CONTAINS(screen, "0.50000000");
    free(screen);
    tmux_keys("Tab");
    free(TMUX_WAIT(5000, "[4/5 rings]", "ticks", "CAPACITY", "THROTTLED"));
    tmux_keys("5");
    free(TMUX_WAIT(5000, "[5/5 events]", "FEED_STARTED", "gap after update 1041: resync"));
    tmux_keys("1");
    free(TMUX_WAIT(5000, "[1/5 overview]"));
    /* q quits with status 0. */
    tmux_keys("q");
    tmux_wait_gone(5000);
    ASSERT_EQ(read_status(status), 0);
    unlink(status);
    tmux_kill();
    fx_close(&fx);
    return 0;
}

/* True if the captured text has an SGR sequence that sets a colour (30-38, 40-48, 90-107). */
static bool has_colour(const char *s)
{
    for (const char *p = strstr(s, "\033["); p; p = strstr(p + 1, "\033[")) {
        const char *q = p + 2;
        char *end;

        while (*q && *q != 'm' && ((*q >= '0' && *q <= '9') || *q == ';')) {
            long v = strtol(q, &end, 10);

            if (end == q)
                end = (char *)q + 1;
            if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 107))
                return true;
            if (v == 38 || v == 48)
                return true;
            q = *end == ';' ? end + 1 : end;
        }
    }
    return false;
}

TEST(top_honours_no_color)
{
    char cmd[1024], status[128], *screen;

    fx_build(&fx, 60 * SEC);
    snprintf(status, sizeof(status), "/tmp/mdfeed-top-%d.status", (int)getpid());
    /* Without NO_COLOR: states are coloured. */
    top_cmd(cmd, sizeof(cmd), "-u NO_COLOR", "-d 0.2", status);
    tmux_start(cmd);
    free(TMUX_WAIT(10000, "RUNNING", "q quit"));
    screen = tmux_capture(true);
    ASSERT(screen && has_colour(screen));
    free(screen);
    tmux_keys("q");
    tmux_wait_gone(5000);
    /* With NO_COLOR: no colour at all, but still bold and reverse video. */
    top_cmd(cmd, sizeof(cmd), "NO_COLOR=1", "-d 0.2", status);
    tmux_start(cmd);
    free(TMUX_WAIT(10000, "RUNNING", "q quit"));
    screen = tmux_capture(true);
    ASSERT(screen != NULL);
    if (has_colour(screen))
        test_fail(__FILE__, __LINE__, "colour with NO_COLOR set:\n%s", screen);
    ASSERT_CONTAINS(screen, "\033[");
    free(screen);
    tmux_keys("q");
    tmux_wait_gone(5000);
    ASSERT_EQ(read_status(status), 0);
    unlink(status);
    tmux_kill();
    fx_close(&fx);
    return 0;
}

TEST(top_interactive_survives_a_daemon_restart)
{
    char cmd[1024], status[128], *screen;

    fx_build(&fx, 60 * SEC);
    snprintf(status, sizeof(status), "/tmp/mdfeed-top-%d.status", (int)getpid());
    top_cmd(cmd, sizeof(cmd), "NO_COLOR=1", "-d 0.1", status);
    tmux_start(cmd);
    free(TMUX_WAIT(10000, "RUNNING", "btcusdt@depth@100ms"));
    /* The daemon goes away (its segments removed) ... */
    fx_close(&fx);
    screen = TMUX_WAIT(10000, "NOT RUNNING", "waiting for the daemon");
    ASSERT(strstr(screen, "btcusdt@depth@100ms") == NULL);
    free(screen);
    /* ... and a new run starts with other streams and a new configuration. */
    fx_state(&fx, test_instance());
    {
        struct health_params hp = {.instance = test_instance(),
                                   .mode = 0640,
                                   .gid = (gid_t)-1,
                                   .max_venues = 4,
                                   .max_conns = 8,
                                   .max_streams = 16,
                                   .publish_ns = SEC,
                                   .hb_interval_ns = 60 * SEC};

        ASSERT_EQ(health_open(&fx.h, &hp), 0);
    }
    fx_values(&fx);
    fx.d.config_generation = 9;
    SETS(fx.s[0].name, "btcusdt@depth@restarted");
    fx_write(&fx);
    health_beat(&fx.h, clock_mono_ns());
    screen = TMUX_WAIT(10000, "config gen 9", "btcusdt@depth@restarted");
    ASSERT(strstr(screen, "NOT RUNNING") == NULL);
    free(screen);
    tmux_keys("q");
    tmux_wait_gone(5000);
    ASSERT_EQ(read_status(status), 0);
    unlink(status);
    tmux_kill();
    fx_close(&fx);
    return 0;
}

/* ---- against the real daemon ----------------------------------------------------------------- */

/* Needs mdfeedd to publish its health segment (issue 6, daemon side). */
TEST(top_live_daemon_shows_running_and_live_streams)
{
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};
    char cmd[1024], status[128], *out = NULL, *err = NULL, *screen;
    struct fv_proc fv;
    struct dmn d;
    json_t *root = NULL;
    int64_t until;
    struct rows r;
    int rc;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"trade\";\n"
                         "  kline = \"\"; book_ticker = true; order_book = \"none\"; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    /* Wait until the daemon reports RUNNING with every stream LIVE and delivering. */
    until = test_now_ns() + 30 * SEC;
    for (;;) {
        bool ok = false;

        free(out);
        free(err);
        json_decref(root);
        rc = run_top(d.instance, &out, &err, "--json", NULL);
        root = json_loads(out, 0, NULL);
        if (rc == 0 && root) {
            json_t *dm = json_object_get(root, "daemon"), *a = json_object_get(root, "streams");
            json_t *x;
            size_t i;

            ok = json_is_true(json_object_get(dm, "alive")) &&
                 strcmp(json_string_value(json_object_get(dm, "state")) ?: "", "RUNNING") == 0 &&
                 json_array_size(a) >= 4;
            json_array_foreach(a, i, x)
            {
                ok = ok &&
                     strcmp(json_string_value(json_object_get(x, "state")) ?: "", "LIVE") == 0 &&
                     json_integer_value(json_object_get(x, "msgs")) > 0;
            }
        }
        if (ok)
            break;
        if (test_now_ns() > until)
            test_fail(__FILE__, __LINE__,
                      "mdfeed-top never saw the daemon RUNNING with 4 LIVE streams (exit %d; "
                      "does mdfeedd publish its health segment yet?)\n%s%s",
                      rc, out, err);
        usleep(200000);
    }
    {
        json_t *a = jarr(root, "streams"), *x, *c;
        size_t i;
        int aaa = 0, bbb = 0;

        json_array_foreach(a, i, x)
        {
            aaa += strcmp(JSTR(x, "symbol"), "AAAUSDT") == 0;
            bbb += strcmp(JSTR(x, "symbol"), "BBBUSDT") == 0;
            ASSERT_STR_EQ(JSTR(x, "venue"), "binance-spot");
        }
        ASSERT_EQ(aaa, 2); /* trade + bbo */
        ASSERT_EQ(bbb, 2);
        c = jarr(root, "connections");
        ASSERT(json_array_size(c) >= 1);
        ASSERT_STR_EQ(JSTR(json_array_get(c, 0), "state"), "OPEN");
        ASSERT_GT(JINT(json_array_get(c, 0), "msgs_in"), 0);
        ASSERT_GT(JINT(json_object_get(root, "daemon"), "msgs"), 0);
    }
    json_decref(root);
    free(out);
    free(err);

    rc = run_top(d.instance, &out, &err, "-b", "-n", "1", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    ASSERT_CONTAINS(out, "DAEMON RUNNING");
    rows_get(&r, out, "STREAMS");
    ASSERT(r.n >= 4);
    for (int i = 0; i < r.n; i++) {
        ASSERT_STR_EQ(r.tok[i][0], "binance-spot");
        ASSERT_STR_EQ(r.tok[i][4], "LIVE");
        ASSERT_GT(atoll(r.tok[i][5]), 0);
    }
    rows_free(&r);
    rows_get(&r, out, "CONNECTIONS");
    ASSERT(r.n >= 1);
    CHECK_ROW(&r, 0, "*", "binance-spot", "OPEN");
    rows_free(&r);
    free(out);
    free(err);

    /* The screen, in tmux. */
    snprintf(status, sizeof(status), "/tmp/mdfeed-top-%d.status", (int)getpid());
    snprintf(cmd, sizeof(cmd), "env NO_COLOR=1 %s -i %s -d 0.2; echo $? > %s",
             test_bin("mdfeed-top"), d.instance, status);
    tmux_start(cmd);
    screen =
        TMUX_WAIT(10000, "RUNNING", "ENDPOINT", "OPEN", "AAAUSDT", "BBBUSDT", "LIVE", "q quit");
    free(screen);
    tmux_keys("q");
    tmux_wait_gone(5000);
    ASSERT_EQ(read_status(status), 0);
    unlink(status);
    tmux_kill();

    /* Once the daemon stops, batch mode says so and exits 1. */
    ASSERT_EQ(dmn_stop(&d), 0);
    ASSERT_EQ(run_top(d.instance, &out, &err, "-b", "-n", "1", NULL), 1);
    ASSERT(strstr(out, "DAEMON RUNNING") == NULL);
    free(out);
    free(err);
    fv_stop(&fv);
    return 0;
}

/* A symbol with three books (the venue's top 5 and top 20, and the local diff book): each book
 * row shows its own stream's top of book, the same as that stream's latest book read through
 * libmdfeed, once the market has stopped. */
TEST(top_shows_each_book_stream_of_a_symbol_its_own_top)
{
    const char *fv_args[] = {"--market", "AAAUSDT", "--market-rate", "50", "--market-events",
                             "100",      NULL};
    static const char *const names[] = {"aaausdt@depth5@100ms", "aaausdt@depth20@100ms",
                                        "aaausdt@depth@100ms"};
    size_t len = MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX);
    struct mdf_book *b = malloc(len);
    char *out = NULL, *err = NULL, px[MDF_DEC_STR_MAX];
    mdf_instance_t *inst;
    struct fv_proc fv;
    struct dmn d;
    json_t *root = NULL;
    int64_t until;
    int matched = 0;

    ASSERT(b != NULL);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"AAAUSDT\"]; trades = \"none\"; kline = \"\";\n"
                         "  book_ticker = false; order_book = \"diff\"; book_speed = 100;\n"
                         "  streams = ({ symbol = \"AAAUSDT\"; type = \"depth\"; levels = 5;\n"
                         "               speed = 100; },\n"
                         "             { symbol = \"AAAUSDT\"; type = \"depth\"; levels = 20;\n"
                         "               speed = 100; }); });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "AAAUSDT book live", 20000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    usleep(3000000); /* the market stops after 100 events (2 s); the tops settle */
    until = test_now_ns() + 20 * SEC;
    while (matched < 3) {
        json_t *a, *x;
        size_t i;

        matched = 0;
        free(out);
        free(err);
        json_decref(root);
        ASSERT_EQ(run_top(d.instance, &out, &err, "--json", NULL), 0);
        root = json_loads(out, 0, NULL);
        ASSERT(root != NULL);
        a = jarr(root, "streams");
        json_array_foreach(a, i, x)
        {
            json_t *top = json_object_get(x, "top");
            int64_t id;

            for (int k = 0; k < 3; k++) {
                if (strcmp(JSTR(x, "name"), names[k]) != 0 || !json_is_object(top))
                    continue;
                id = mdf_stream_find(inst, "binance-spot:AAAUSDT", names[k]);
                ASSERT_GE(id, 0);
                ASSERT_EQ(mdf_latest_book_stream(inst, (uint32_t)id, b, len), 0);
                ASSERT_GT(b->n_bids, 0);
                mdf_dec_format(b->levels[0].px, px, sizeof(px));
                matched += strcmp(JSTR(top, "bid_px"), px) == 0;
            }
        }
        if (matched < 3 && test_now_ns() > until)
            test_fail(__FILE__, __LINE__, "%d of 3 book rows show their stream's top\n%s", matched,
                      out);
        usleep(200000);
    }
    json_decref(root);
    free(out);
    free(err);
    free(b);
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A one-shot (-b -n 1, --json) measures its rates over two samples, so they are real numbers,
 * not "-" / null; a local diff book's LEVELS is the count of levels it holds, not the 0 that
 * "whole book" subscriptions ask for. */
TEST(top_one_shot_shows_real_rates_and_diff_book_levels)
{
    const char *fv_args[] = {"--market", "AAAUSDT", "--market-rate", "50", NULL};
    char *out = NULL, *err = NULL;
    struct fv_proc fv;
    struct dmn d;
    json_t *root = NULL, *x, *book = NULL;
    int64_t until;
    struct rows r;
    size_t i;
    int rc, k;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"AAAUSDT\"]; trades = \"trade\"; kline = \"\";\n"
                         "  book_ticker = false; order_book = \"diff\"; book_speed = 100; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    /* Until the book is LIVE, then one --json shot: rates measured, the book's sides counted. */
    until = test_now_ns() + 30 * SEC;
    for (;;) {
        free(out);
        free(err);
        json_decref(root);
        book = NULL;
        rc = run_top(d.instance, &out, &err, "--json", NULL);
        root = json_loads(out, 0, NULL);
        json_array_foreach(json_object_get(root, "streams"), i, x)
        {
            if (strcmp(json_string_value(json_object_get(x, "name")) ?: "",
                       "aaausdt@depth@100ms") == 0 &&
                strcmp(json_string_value(json_object_get(x, "book_state")) ?: "", "LIVE") == 0 &&
                json_is_object(json_object_get(x, "top")))
                book = x;
        }
        if (rc == 0 && book)
            break;
        if (test_now_ns() > until)
            test_fail(__FILE__, __LINE__, "the book never went LIVE:\n%s%s", out, err);
        usleep(200000);
    }
    ASSERT_EQ(JINT(book, "levels"), 0); /* the subscription: the whole book */
    ASSERT_GT(JINT(json_object_get(book, "top"), "n_bids"), 0);
    json_array_foreach(json_object_get(root, "streams"), i, x)
    {
        ASSERT(json_is_number(json_object_get(x, "msgs_per_s")));
        ASSERT(json_number_value(json_object_get(x, "msgs_per_s")) > 0);
    }
    ASSERT(json_is_number(json_object_get(json_object_get(root, "daemon"), "msgs_per_s")));
    json_decref(root);
    free(out);
    free(err);

    rc = run_top(d.instance, &out, &err, "-b", "-n", "1", NULL);
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "exit %d\n%s%s", rc, out, err);
    rows_get(&r, out, "STREAMS");
    ASSERT(r.n >= 2);
    for (k = 0; k < r.n; k++) {
        ASSERT(strcmp(r.tok[k][6], "-") != 0);
        ASSERT(atof(r.tok[k][6]) > 0);
    }
    rows_free(&r);
    rows_get(&r, out, "BOOKS");
    ASSERT_EQ(r.n, 1);
    ASSERT_STR_EQ(r.tok[0][3], "LIVE");
    ASSERT_GT(atoi(r.tok[0][6]), 0); /* LEVELS: what the book holds */
    rows_free(&r);
    ASSERT_CONTAINS(out, "/s) bytes");
    ASSERT(strstr(out, "(-/s)") == NULL);
    free(out);
    free(err);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
