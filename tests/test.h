/*
 * Test helpers: typed assertions that print both values, the seed of randomized tests, scratch
 * shm instance names and paths to the built tools. Every test runs in a forked child of the
 * runner (tests/runner.c), so an assertion simply exits that child.
 */
#ifndef MDF_TESTS_TEST_H
#define MDF_TESTS_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST(name) int test_##name(void)

/* Fails the test: prints file:line and the message, then exits the test process with 1. */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);                          \
    } while (0)

#define ASSERT_CMP_(a, op, b, T, F)                                                                \
    do {                                                                                           \
        T a_ = (T)(a), b_ = (T)(b);                                                                \
        if (!(a_ op b_))                                                                           \
            test_fail(__FILE__, __LINE__, "%s %s %s: %" F " vs %" F, #a, #op, #b, a_, b_);         \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP_(a, ==, b, int64_t, PRId64)
#define ASSERT_NE(a, b) ASSERT_CMP_(a, !=, b, int64_t, PRId64)
#define ASSERT_LT(a, b) ASSERT_CMP_(a, <, b, int64_t, PRId64)
#define ASSERT_LE(a, b) ASSERT_CMP_(a, <=, b, int64_t, PRId64)
#define ASSERT_GT(a, b) ASSERT_CMP_(a, >, b, int64_t, PRId64)
#define ASSERT_GE(a, b) ASSERT_CMP_(a, >=, b, int64_t, PRId64)
#define ASSERT_EQ_U(a, b) ASSERT_CMP_(a, ==, b, uint64_t, PRIu64)

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (strcmp(sa_, sb_) != 0)                                                                 \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, sa_, sb_);         \
    } while (0)

/* Asserts that haystack contains needle. */
#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)",    \
                      n_);                                                                         \
    } while (0)

/* The seed for randomized tests: from `-s SEED`, else fresh; printed on first use so a failure
 * can be replayed with `tests/run NAME -s SEED`. */
uint64_t test_seed(void);

/* A small fast PRNG (xoshiro256**-style) seeded from test_seed(). */
struct test_rng {
    uint64_t s[4]; /* state */
};
void test_rng_init(struct test_rng *r, uint64_t seed);
uint64_t test_rng_next(struct test_rng *r);
uint64_t test_rng_below(struct test_rng *r, uint64_t n); /* uniform in [0, n) */

/* A shm instance name unique to this test process ("t<pid>"). The runner removes every
 * /dev/shm/mdfeed.<that>.* segment after the test ends. */
const char *test_instance(void);

/* Absolute path of a built program, e.g. test_bin("mdfeed-cat") -> <build>/bin/mdfeed-cat.
 * Returns a static buffer. */
const char *test_bin(const char *name);

/* path relative to root when it lies under it, else path: what `make -C root B=...` is given,
 * since an absolute B would write dependency files whose targets the relative build never
 * matches, and its objects would stop following their headers. */
static inline const char *test_under(const char *path, const char *root)
{
    size_t n = strlen(root);

    return strncmp(path, root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/* Absolute path of a file under tests/fixtures/ of the source tree the runner was built from,
 * e.g. test_fixture("binance-spot/ws.rec"). The two most recent results stay valid. */
const char *test_fixture(const char *name);

/* Monotonic nanoseconds. */
int64_t test_now_ns(void);

/* Runs argv (NULL-terminated) with stdout captured into a malloc'd NUL-terminated buffer
 * (*out, new) and stderr into *err (new, may be NULL to inherit). Returns the exit status (0-255),
 * or 128+signal. */
int test_run_capture(char *const argv[], char **out, char **err);

/* True when running as root (some tests need to switch users or chown). */
bool test_is_root(void);

/* Marks the test as skipped with a reason (exits the child with code 77). */
void test_skip(const char *why) __attribute__((noreturn));

#endif /* MDF_TESTS_TEST_H */
