/*
 * End-to-end test helpers: reading a recording the way the venue sent it, draining a ring of
 * the daemon's instance, and an independent reference order book (plain sorted arrays, nothing
 * shared with src/book/) to check the daemon's books against.
 */
#ifndef MDF_TESTS_E2E_E2E_H
#define MDF_TESTS_E2E_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <mdfeed/mdfeed.h>

/* The data messages of a ws recording, in order (combined framing: {"stream","data"}). */
struct e2e_rec {
    json_t **msg; /* parsed lines (new references) */
    double *ts;   /* their recorded times */
    size_t n;     /* count */
};

/* Loads path. Returns 0 or negative. */
int e2e_rec_load(struct e2e_rec *r, const char *path);
void e2e_rec_free(struct e2e_rec *r);

/* The REST snapshot recorded for symbol in an http.rec, parsed (new reference), or NULL. */
json_t *e2e_rest_snapshot(const char *path, const char *symbol);

/* Reads every record of ring `ring` of instance from the oldest into a new array (*out, free
 * with free()); returns the count or negative. */
long e2e_drain(const char *instance, int ring, mdf_record_t **out);

/* Seconds of venue restart notices in the repeated-notice tests: MDFEED_TEST_NOTICE_SECONDS (a
 * test-only setting, 10 to 600; the sanitizer suite runs them shorter), else 150. */
int e2e_notice_seconds(void);

/* Parses decimal text or fails the test. */
mdf_dec_t e2e_dec(const char *text);

/* a == b as numbers (1.50 == 1.5). */
bool e2e_dec_eq(mdf_dec_t a, mdf_dec_t b);

/* -1, 0 or 1 as a < b, a == b, a > b, for prices (exponents within 18 of each other). */
int e2e_dec_cmp(mdf_dec_t a, mdf_dec_t b);

/* A decimal of a venue message: a string, or an integer; fails the test otherwise. */
mdf_dec_t e2e_jdec(json_t *v);

/* An integer of a venue message: a number or a string of digits; fails the test otherwise. */
int64_t e2e_jint(json_t *v);

/* Member k of object o of a recording: a string (fails the test if absent), an integer. */
const char *e2e_str(json_t *o, const char *k);
int64_t e2e_num(json_t *o, const char *k);

/* Fails the test unless decimal `got` is exactly the recording's text (mantissa and exponent). */
#define E2E_ASSERT_DEC(got, text)                                                                  \
    do {                                                                                           \
        mdf_dec_t want_ = e2e_dec(text);                                                           \
        char g_[64];                                                                               \
        mdf_dec_format((got), g_, sizeof(g_));                                                     \
        if ((got).m != want_.m || (got).e != want_.e)                                              \
            test_fail(__FILE__, __LINE__, "%s: %s, recording %s", #got, g_, text);                 \
    } while (0)

/* Fails the test unless record r is exactly aggTrade payload x (futures too: no "M" there),
 * or exactly bookTicker payload x (E and T checked when x has them). */
void e2e_check_aggtrade(const mdf_record_t *r, json_t *x);
void e2e_check_bookticker(const mdf_record_t *r, json_t *x);

/* Reference book. */
struct e2e_book {
    mdf_dec_t px[2][20000]; /* [0] bids, [1] asks */
    mdf_dec_t qty[2][20000];
    size_t n[2];
};

/* Sets the book to a snapshot's levels (json arrays of [p, q] strings). */
void e2e_book_set(struct e2e_book *b, json_t *bids, json_t *asks);

/* Applies a diff's levels (qty 0 removes). */
void e2e_book_apply(struct e2e_book *b, json_t *bids, json_t *asks);

/* True if rec's levels equal the reference top (depth levels per side); on a difference, a
 * description goes to why. */
bool e2e_book_equal(const struct e2e_book *b, const struct mdf_book *rec, char *why, size_t cap);

#endif /* MDF_TESTS_E2E_E2E_H */
