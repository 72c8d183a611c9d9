/* Reconnect delays: doubling from base to the cap, jitter inside its band, the attempt limit,
 * and reset after success. */
#include "net/backoff.h"
#include "test.h"

TEST(backoff_doubles_to_cap_with_jitter_and_gives_up)
{
    struct backoff_params p = {.base_ms = 100, .max_ms = 5000, .jitter = 0.3, .max_attempts = 0};
    struct test_rng rng;
    struct backoff b;
    int64_t d;
    uint32_t n;
    int run;

    test_rng_init(&rng, test_seed());
    for (run = 0; run < 200; run++) {
        backoff_init(&b, &p, test_rng_next(&rng));
        for (n = 1; n <= 20; n++) {
            uint64_t want = 100ull << (n - 1 < 10 ? n - 1 : 10);

            if (want > 5000)
                want = 5000;
            d = backoff_next(&b);
            if (d < (int64_t)(want * 7 / 10) || d > (int64_t)want)
                test_fail(__FILE__, __LINE__, "attempt %u: delay %lld outside [%llu, %llu]", n,
                          (long long)d, (unsigned long long)(want * 7 / 10),
                          (unsigned long long)want);
        }
    }
    /* Jitter spreads clients that failed together. */
    {
        int64_t first[50];
        int distinct = 0, i, j;

        for (i = 0; i < 50; i++) {
            backoff_init(&b, &p, test_rng_next(&rng));
            backoff_next(&b);
            backoff_next(&b);
            first[i] = backoff_next(&b);
        }
        for (i = 0; i < 50; i++) {
            for (j = 0; j < i && first[j] != first[i]; j++)
                ;
            distinct += j == i;
        }
        ASSERT_GT(distinct, 20);
    }
    /* The attempt limit counts the first failure; reset starts again from base. */
    p.max_attempts = 3;
    p.jitter = 0;
    backoff_init(&b, &p, 1);
    ASSERT_EQ(backoff_next(&b), 100);
    ASSERT_EQ(backoff_next(&b), 200);
    ASSERT_EQ(backoff_next(&b), -1);
    backoff_reset(&b);
    ASSERT_EQ(backoff_next(&b), 100);
    p.max_attempts = 1;
    backoff_init(&b, &p, 1);
    ASSERT_EQ(backoff_next(&b), -1);
    return 0;
}
