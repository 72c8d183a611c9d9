/*
 * WebSocket client conformance: our wsconn client against every case of the fake venue's
 * Autobahn-style table (groups 1-7, 9 and 10; tools/mdfeed-fakevenue/cases.c). For each case
 * the client connects to /case/<id>, echoes every message it receives (wsconn answers pings and
 * closes by itself) and the venue prints its verdict when the connection ends. One line per
 * case, then a summary; any failing case fails the test.
 *
 * The harness is proved able to fail by the two other tests: a client that does not echo, and
 * one that echoes a changed byte, must both get FAIL from the venue.
 *
 * Binary messages cannot be echoed yet (wsconn only sends text), so the binary cases fail until
 * wsconn gains a binary send.
 */
#include <string.h>

#include <uv.h>

#include "core/err.h"
#include "net/wsconn.h"
#include "support/fakevenue.h"
#include "test.h"

#define CASE_TIMEOUT_MS 10000          /* one case, connect to close; the biggest moves 2 MiB */
#define BUDGET_NS (240ll * 1000000000) /* all cases; the rest are reported as not run */
#define VERDICT_TIMEOUT_MS 10000       /* from the client's end to the venue's verdict line */
#define MAX_CASES 512                  /* more than the table holds */

/* What the client does with a message. */
enum echo_mode {
    MODE_ECHO,     /* echo it as it came (text only: wsconn has no binary send) */
    MODE_NO_ECHO,  /* echo nothing: close 1000 at the first message */
    MODE_BAD_ECHO, /* echo it with its first byte changed */
};

/* One client connection for one case. */
struct client {
    struct wsconn w;     /* the client under test */
    uv_timer_t timer;    /* the case deadline, then the deferred stop */
    enum echo_mode mode; /* what to do with messages */
    bool ended;          /* the connection ended (or the client gave up on it) */
    bool timed_out;      /* the deadline came first */
    bool stopped;        /* wsconn's on_stopped ran */
    size_t messages;     /* messages received */
    size_t binary;       /* binary messages received (not echoed) */
    int send_err;        /* first wsconn_send_text() error, 0 if none */
};

/* Deadline or deferred stop: stops the client (a close 1000 if it is still connected). */
static void on_timer(uv_timer_t *t)
{
    struct client *c = t->data;

    if (!c->ended)
        c->timed_out = true;
    c->ended = true;
    wsconn_stop(&c->w, WS_CLOSE_NORMAL);
}

/* Stops the client from the timer, outside wsconn's own call stack. */
static void end_soon(struct client *c)
{
    if (c->ended)
        return;
    c->ended = true;
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* Ends the case once the connection leaves CONNECTED (or never reaches it). */
static void on_state(struct wsconn *w, enum wsconn_state from, enum wsconn_state to, int err)
{
    struct client *c = w->ud;

    if (to == WSC_DISCONNECTED)
        return;
    if (from == WSC_CONNECTED || to == WSC_FAILED || to == WSC_RECONNECTING)
        end_soon(c);
}

/* Answers a message as the mode says. */
static void on_message(struct wsconn *w, bool text, const uint8_t *data, size_t len,
                       int64_t recv_ns)
{
    struct client *c = w->ud;
    uint8_t changed[256];
    int rc = 0;

    c->messages++;
    switch (c->mode) {
    case MODE_ECHO:
        c->binary += !text;
        rc = text ? wsconn_send_text(w, data, len) : wsconn_send_binary(w, data, len);
        break;
    case MODE_NO_ECHO:
        end_soon(c);
        return;
    case MODE_BAD_ECHO:
        if (len == 0 || len > sizeof(changed))
            return;
        memcpy(changed, data, len);
        changed[0] = changed[0] == 'x' ? 'y' : 'x';
        rc = wsconn_send_text(w, changed, len);
        break;
    }
    if (rc < 0 && !c->send_err)
        c->send_err = rc;
}

static void on_timer_closed(uv_handle_t *h)
{
}

/* Every wsconn handle is closed: close the timer too, so uv_run() returns. */
static void on_stopped(struct wsconn *w)
{
    struct client *c = w->ud;

    c->stopped = true;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static const struct wsconn_callbacks client_cbs = {
    .on_state = on_state,
    .on_message = on_message,
    .on_stopped = on_stopped,
};

/* Runs one case from the client's side: connects to /case/<id>, answers as mode says, and runs
 * the loop until the connection is over and every handle is closed. */
static void run_client(uv_loop_t *loop, int port, const char *id, enum echo_mode mode,
                       struct client *c)
{
    struct wsconn_params p;
    char url[256];

    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/case/%s", port, id);
    wsconn_default_params(&p);
    p.url = url;
    p.ping_interval_ms = 0;     /* no pings of ours: a case counts every frame it gets */
    p.backoff.max_attempts = 1; /* one connection, no reconnect */
    p.backoff.base_ms = 60000;  /* and were it to retry, not before the case is over */
    p.backoff.max_ms = 60000;
    memset(c, 0, sizeof(*c));
    c->mode = mode;
    if (wsconn_init(&c->w, loop, &p, &client_cbs, c) < 0)
        test_fail(__FILE__, __LINE__, "wsconn_init %s: %s", url, mdf_errmsg());
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_timer, CASE_TIMEOUT_MS, 0);
    ASSERT_EQ(wsconn_start(&c->w), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    ASSERT(c->stopped);
    wsconn_fini(&c->w);
}

/* Waits for the venue's verdict on case id and copies the text after "case <id> " into out
 * ("PASS" or "FAIL reason"); "no verdict" if none came. */
static void venue_verdict(struct fv_proc *fv, const char *id, char *out, size_t cap)
{
    char needle[64], line[512];
    const char *v;

    snprintf(needle, sizeof(needle), "case %s ", id);
    if (fv_wait_line(fv, needle, VERDICT_TIMEOUT_MS, line, sizeof(line)) < 0) {
        snprintf(out, cap, "FAIL no verdict from the venue");
        return;
    }
    v = strstr(line, needle);
    v = v ? v + strlen(needle) : line;
    snprintf(out, cap, "%s", v);
    out[strcspn(out, "\r\n")] = '\0';
}

/* Fetches the case ids from `mdfeed-fakevenue --list-cases` ("<id>\t<outcome>\t<desc>" lines)
 * into ids (pointers into *text, new: the caller frees it). Returns the count. */
static size_t list_cases(char **text, const char **ids, size_t cap)
{
    char *argv[] = {(char *)test_bin("mdfeed-fakevenue"), "--list-cases", NULL};
    size_t n = 0;
    char *line, *save = NULL;

    ASSERT_EQ(test_run_capture(argv, text, NULL), 0);
    for (line = strtok_r(*text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');

        if (!tab)
            continue;
        *tab = '\0';
        ASSERT_LT(n, cap);
        ids[n++] = line;
    }
    return n;
}

/* Starts the fake venue on plain ws and returns its port. */
static int venue_start(struct fv_proc *fv)
{
    const char *args[] = {NULL};

    ASSERT_EQ(fv_start(fv, args), 0);
    ASSERT_GT(fv->port, 0);
    return fv->port;
}

TEST(conformance_autobahn_groups_1_to_7_9_10)
{
    static struct client c; /* wsconn is large; one at a time */
    static const char *ids[MAX_CASES];
    struct fv_proc fv;
    uv_loop_t loop;
    char *text = NULL, verdict[512];
    size_t n, passed = 0, failed = 0;
    int64_t start = test_now_ns();
    int port;

    n = list_cases(&text, ids, MAX_CASES);
    ASSERT_GE(n, 80);
    port = venue_start(&fv);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    for (size_t i = 0; i < n; i++) {
        bool ok;

        if (test_now_ns() - start > BUDGET_NS) {
            printf("conformance %s FAIL not run: the %lld s budget is spent\n", ids[i],
                   BUDGET_NS / 1000000000);
            failed++;
            continue;
        }
        run_client(&loop, port, ids[i], MODE_ECHO, &c);
        venue_verdict(&fv, ids[i], verdict, sizeof(verdict));
        ok = strcmp(verdict, "PASS") == 0 && !c.timed_out;
        printf("conformance %s %s", ids[i], ok ? "PASS" : "FAIL");
        if (!ok) {
            printf(" %s", strncmp(verdict, "FAIL ", 5) == 0 ? verdict + 5 : verdict);
            if (c.timed_out)
                printf(" (client: connection still open after %d ms)", CASE_TIMEOUT_MS);
            if (c.binary)
                printf(" (client: %zu binary message(s) not echoed: wsconn cannot send binary)",
                       c.binary);
            if (c.send_err)
                printf(" (client: wsconn_send_text: %s)", err_name(c.send_err));
        }
        printf("\n");
        if (ok)
            passed++;
        else
            failed++;
    }
    printf("conformance: %zu passed, %zu failed of %zu\n", passed, failed, n);
    fflush(stdout);
    fv_stop(&fv);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    free(text);
    ASSERT_EQ(failed, 0);
    return 0;
}

/* A client that never echoes gets FAIL from the case, and the same case passes with a real
 * echo: the verdicts of the test above are not PASS by default. */
TEST(conformance_case_reports_fail_when_client_does_not_echo)
{
    static struct client c;
    struct fv_proc fv;
    uv_loop_t loop;
    char verdict[512];
    int port;

    port = venue_start(&fv);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    run_client(&loop, port, "1.1.2", MODE_NO_ECHO, &c);
    ASSERT_EQ(c.messages, 1);
    venue_verdict(&fv, "1.1.2", verdict, sizeof(verdict));
    ASSERT_CONTAINS(verdict, "FAIL missing echo 1 of 1");

    run_client(&loop, port, "1.1.2", MODE_ECHO, &c);
    ASSERT_EQ(c.messages, 1);
    venue_verdict(&fv, "1.1.2", verdict, sizeof(verdict));
    ASSERT_STR_EQ(verdict, "PASS");
    fv_stop(&fv);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    return 0;
}

/* An echo with one byte changed gets FAIL: the case compares payloads, not just lengths. */
TEST(conformance_case_reports_fail_when_echo_differs)
{
    static struct client c;
    struct fv_proc fv;
    uv_loop_t loop;
    char verdict[512];
    int port;

    port = venue_start(&fv);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    run_client(&loop, port, "1.1.2", MODE_BAD_ECHO, &c);
    ASSERT_EQ(c.messages, 1);
    ASSERT_EQ(c.send_err, 0);
    venue_verdict(&fv, "1.1.2", verdict, sizeof(verdict));
    ASSERT_CONTAINS(verdict, "FAIL echo 1 payload differs");
    fv_stop(&fv);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    return 0;
}
